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

use std::io::Write;
use std::process::Command;

mod common;
use common::{effective_uid, find_program, repo_root, search_path, v6edge_bin};

/// Outer bound on the scenario in seconds, on top of the script's own
/// watchdog (`LAB_TIMEOUT`, 180 s by default), in case a teardown hangs.
const SCENARIO_LIMIT_SECS: u32 = 300;

/// What chain.sh runs: the lab basics, radvd for the ISP's RA, ss for the
/// server's readiness check.
const PROGRAMS: [&str; 7] = ["ip", "bash", "timeout", "python3", "radvd", "ping", "ss"];

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
    run_chain("chain.sh", &[]);
}

/// The same chain with Kea at the top (issue 4: "with Kea or ISC dhcpd at
/// the top instead of v6edge"); r2's restart is covered by the v6edge run.
#[test]
fn chain_kea_top() {
    run_chain("chain.sh CHAIN_TOP=kea", &[("CHAIN_TOP", "kea"), ("CHAIN_RESTART", "0")]);
}

/// The same chain with ISC dhcpd -6 at the top.
#[test]
fn chain_isc_top() {
    run_chain("chain.sh CHAIN_TOP=isc", &[("CHAIN_TOP", "isc"), ("CHAIN_RESTART", "0")]);
}

/// Runs tests/scenarios/chain.sh with `env` and asserts it passed.
fn run_chain(label: &str, env: &[(&str, &str)]) {
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
        .envs(env.iter().copied())
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
