//! Helpers shared by the netns scenario runners (cpe.rs, server.rs,
//! relay.rs, chain.rs): where the repository, the programs and the v6edge
//! binary are, and whether we run as root.

// Each runner is its own test binary and uses a subset of these helpers.
#![allow(dead_code)]

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

/// Appended to `PATH` for the scenarios and for the program checks: `cargo
/// test` may run with a user's `PATH` that lacks the sbin directories where
/// `ip`, the DHCPv6 servers and radvd live.
pub const SBIN_DIRS: [&str; 4] = ["/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin"];

pub fn repo_root() -> PathBuf {
    // tests/netns -> repository root.
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `PATH` with the sbin directories appended.
pub fn search_path() -> String {
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

/// `name` on the search path (or `name` itself when it is absolute).
pub fn find_program(name: &str) -> Option<PathBuf> {
    if name.starts_with('/') {
        return Some(PathBuf::from(name)).filter(|p| p.is_file());
    }
    search_path()
        .split(':')
        .filter(|dir| !dir.is_empty())
        .map(|dir| Path::new(dir).join(name))
        .find(|candidate| candidate.is_file())
}

/// The effective uid, from /proc (no libc dependency for one number).
pub fn effective_uid() -> Option<u32> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    // "Uid:\treal\teffective\tsaved\tfs"
    line.split_whitespace().nth(2)?.parse().ok()
}

/// The v6edge binary: `$V6EDGE_BIN`, else `<target>/<profile>/v6edge` where
/// this test executable lives in `<target>/<profile>/deps/`, else
/// `$CARGO_TARGET_DIR/debug/v6edge`, else `target/debug/v6edge`.
pub fn v6edge_bin() -> PathBuf {
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

/// Serializes the scenarios of one runner: they share the machine's two
/// cores and their timing checks should not compete with each other.
pub static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Outer bound on one scenario in seconds, on top of the scripts' own
/// watchdogs (`LAB_TIMEOUT`), in case a script's teardown hangs.
pub const SCENARIO_LIMIT_SECS: u32 = 240;

/// Why a scenario cannot run here, if it cannot: not root or no `ip netns`
/// (when `needs_root`), or one of `programs` missing.
pub fn skip_reason(needs_root: bool, programs: &[&str]) -> Option<String> {
    if needs_root {
        match effective_uid() {
            Some(0) => {}
            Some(uid) => return Some(format!("needs root for network namespaces (euid {uid})")),
            None => return Some("cannot read the effective uid".to_owned()),
        }
        let netns = std::process::Command::new("ip")
            .args(["netns", "list"])
            .env("PATH", search_path())
            .output();
        match netns {
            Ok(out) if out.status.success() => {}
            Ok(out) => {
                return Some(format!(
                    "`ip netns list` failed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
            Err(e) => return Some(format!("cannot run `ip netns list`: {e}")),
        }
    }
    let missing: Vec<&str> = programs
        .iter()
        .copied()
        .filter(|p| find_program(p).is_none())
        .collect();
    (!missing.is_empty()).then(|| {
        format!(
            "missing programs: {} (scripts/install-deps.sh installs them)",
            missing.join(" ")
        )
    })
}

/// Reports a skipped scenario straight to the stderr handle: libtest
/// captures `eprintln!`, and a skip must be visible without `--nocapture`.
pub fn report_skip(label: &str, reason: &str) {
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "SKIP {label}: {reason} (NOT a pass: nothing was tested)"
    );
}

/// Runs `tests/scenarios/<script>` under `timeout` with `PATH`, `V6EDGE_BIN`
/// and `env` set, and asserts it exited 0 with a final "N passed, 0 failed"
/// line (N > 0); on failure the whole output is in the panic message. The
/// output is printed for `cargo test -- --nocapture`; stderr (the lab's
/// notes) is returned.
pub fn run_scenario_script(label: &str, script: &str, env: &[(&str, String)]) -> String {
    let bin = v6edge_bin();
    assert!(
        bin.is_file(),
        "{label}: no v6edge binary at {} (run `cargo build -p v6edge` first, or set V6EDGE_BIN)",
        bin.display()
    );
    let path = repo_root().join("tests/scenarios").join(script);
    let output = std::process::Command::new("timeout")
        .args([
            "--signal=TERM",
            "--kill-after=15",
            &SCENARIO_LIMIT_SECS.to_string(),
        ])
        .arg("bash")
        .arg(&path)
        .env("PATH", search_path())
        .env("V6EDGE_BIN", &bin)
        .envs(env.iter().map(|(k, v)| (k, v)))
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
    println!("{label}:\n{stdout}");
    stderr.into_owned()
}
