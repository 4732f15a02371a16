//! Prefix delegation at any depth (issue 4) in network namespaces, run as a
//! cargo test.
//!
//! The test runs the bash scenario `tests/scenarios/chain.sh`: a v6edge
//! delegating server (examples/isp-server.toml) above a chain of three
//! v6edge routers, each requesting a prefix on wan0 (RFC 8415 §18.2) and
//! delegating part of it on lan0 (RFC 8415 §18.3, `from-uplink` pool), with
//! a SLAAC host at the end. It asserts that the scenario exits 0 with a final
//! "N passed, 0 failed" line; on failure the whole scenario output (which
//! router got which prefix, every node's proto 118 routes, the upper
//! router's leases and pool log lines when a level got nothing) is in the
//! panic message. The scenario prints "chain cold start: S s", the time from
//! starting the daemons to the first end-to-end ping (visible with
//! `--nocapture`; bench/chain.sh repeats it).
//!
//! Environment: `V6EDGE_BIN` (default: `v6edge` next to this test's target
//! directory, as in `cpe.rs`; `cargo build -p v6edge` must have produced
//! it), `CHAIN_CPE_CONFIG` (the routers' config; default in the script).
//!
//! The test skips (passes, with a message on stderr) when not run as root,
//! when `ip netns` does not work, or when a program the scenario needs is
//! missing. It never skips because the daemon lacks a feature: a router
//! that gets no prefix fails the scenario.

use std::env;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Outer bound on the scenario in seconds, on top of the script's own
/// watchdog (`LAB_TIMEOUT`, 180 s by default), in case a teardown hangs.
const SCENARIO_LIMIT_SECS: u32 = 300;

/// Directories searched for programs besides `PATH` (see cpe.rs).
const SBIN_DIRS: [&str; 4] = ["/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin"];

/// What chain.sh runs: the lab basics, radvd for the ISP's RA, ss for the
/// server's readiness check.
const PROGRAMS: [&str; 7] = ["ip", "bash", "timeout", "python3", "radvd", "ping", "ss"];

fn repo_root() -> PathBuf {
    // tests/netns -> repository root.
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `PATH` with the sbin directories appended.
fn search_path() -> String {
    let mut path = env::var("PATH").unwrap_or_default();
    for dir in SBIN_DIRS {
        if !path.split(':').any(|p| p == dir) {
            if !path.is_empty() {
                path.push(':');
            }
            path.push_str(dir);
        }
    }
    path
}

fn find_program(name: &str) -> Option<PathBuf> {
    search_path()
        .split(':')
        .filter(|dir| !dir.is_empty())
        .map(|dir| Path::new(dir).join(name))
        .find(|candidate| candidate.is_file())
}

/// The effective uid, from /proc (no libc dependency for one number).
fn effective_uid() -> Option<u32> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    // "Uid:\treal\teffective\tsaved\tfs"
    line.split_whitespace().nth(2)?.parse().ok()
}

/// The v6edge binary, found as in cpe.rs: `$V6EDGE_BIN`, else beside this
/// test's target directory, else `$CARGO_TARGET_DIR/debug`, else `target/debug`.
fn v6edge_bin() -> PathBuf {
    if let Some(bin) = env::var_os("V6EDGE_BIN") {
        return PathBuf::from(bin);
    }
    let beside_deps = env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.join("v6edge")));
    let candidates = [
        beside_deps,
        env::var_os("CARGO_TARGET_DIR").map(|d| PathBuf::from(d).join("debug/v6edge")),
        Some(repo_root().join("target/debug/v6edge")),
    ];
    candidates
        .iter()
        .flatten()
        .find(|p| p.is_file())
        .cloned()
        .unwrap_or_else(|| repo_root().join("target/debug/v6edge"))
}

/// Why the scenario cannot run here, if it cannot.
fn skip_reason() -> Option<String> {
    match effective_uid() {
        Some(0) => {}
        Some(uid) => return Some(format!("needs root for network namespaces (euid {uid})")),
        None => return Some("cannot read the effective uid".to_owned()),
    }
    let missing: Vec<&str> = PROGRAMS
        .iter()
        .copied()
        .filter(|p| find_program(p).is_none())
        .collect();
    if !missing.is_empty() {
        return Some(format!(
            "missing programs: {} (scripts/install-deps.sh installs them)",
            missing.join(" ")
        ));
    }
    let netns = Command::new("ip")
        .args(["netns", "list"])
        .env("PATH", search_path())
        .output();
    match netns {
        Ok(out) if out.status.success() => None,
        Ok(out) => Some(format!(
            "`ip netns list` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(e) => Some(format!("cannot run `ip netns list`: {e}")),
    }
}

#[test]
fn chain_three_levels() {
    let label = "chain.sh";
    if let Some(reason) = skip_reason() {
        // Straight to the stderr handle: libtest captures `eprintln!`, and a
        // skip must be visible without `--nocapture`.
        let _ = writeln!(std::io::stderr(), "SKIP {label}: {reason}");
        return;
    }
    let bin = v6edge_bin();
    assert!(
        bin.is_file(),
        "{label}: no v6edge binary at {} (run `cargo build -p v6edge` first, or set V6EDGE_BIN)",
        bin.display()
    );
    let path = repo_root().join("tests/scenarios/chain.sh");
    let output = Command::new("timeout")
        .args([
            "--signal=TERM",
            "--kill-after=15",
            &SCENARIO_LIMIT_SECS.to_string(),
        ])
        .arg("bash")
        .arg(&path)
        .env("PATH", search_path())
        .env("V6EDGE_BIN", &bin)
        .output()
        .unwrap_or_else(|e| panic!("{label}: cannot start {}: {e}", path.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let summary_ok = stdout.lines().any(|l| {
        l.strip_suffix(" passed, 0 failed")
            .is_some_and(|n| n.parse::<u32>().is_ok_and(|n| n > 0))
    });
    assert!(
        output.status.success() && summary_ok,
        "{label} failed ({}):\n----- stdout -----\n{stdout}\n----- stderr -----\n{stderr}",
        output.status
    );
    // Visible with `cargo test -- --nocapture`: the PASS lines and the
    // "chain cold start" time.
    println!("{label}:\n{stdout}");
}
