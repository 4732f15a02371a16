//! Requesting-router (CPE) scenarios in network namespaces, run as cargo tests.
//!
//! Each test runs one bash scenario from `tests/scenarios/` (built on the lab
//! library in `tests/lab/`) and asserts that it exits 0 with a final
//! "N passed, 0 failed" line; on failure the whole scenario output (PASS/FAIL
//! lines, daemon logs) is in the panic message. What the scenarios check is
//! described at the top of each script; the requirements they prove are
//! RFC 7084 (WPD-1..5, L-1..L-4, G-4), RFC 9096 (L-16, renumbering) and
//! RFC 8415 (Renew/Rebind, prefix hints).
//!
//! Environment:
//! - `CPE_IMPL=v6edge|wide` (default `v6edge`): the CPE under test; `wide` is
//!   WIDE dhcp6c + radvd, the reference used to validate the harness.
//! - `V6EDGE_BIN`: the daemon binary. Default: `v6edge` next to this test's
//!   target directory (`<target>/debug/v6edge`), which `cargo build -p
//!   v6edge` (or `cargo build --workspace`) must have produced first: a test
//!   crate cannot depend on another package's binary (`CARGO_BIN_EXE_*` only
//!   covers its own package).
//!
//! The tests skip (pass, with a message on stderr) when not run as root, when
//! `ip netns` does not work, or when a peer program is missing. They hold a
//! process-wide lock, so they run one at a time: the scenarios measure
//! timings (renumbering within 2 s) and the CI machine has 2 CPUs.

use std::env;
use std::io::Write;
use std::process::Command;
use std::sync::Mutex;

mod common;
use common::{effective_uid, find_program, repo_root, search_path, v6edge_bin};

/// Serializes the scenarios (see the module doc).
static SERIAL: Mutex<()> = Mutex::new(());

/// Outer bound on one scenario in seconds, on top of the scripts' own
/// watchdogs (`LAB_TIMEOUT`), in case a script's teardown hangs.
const SCENARIO_LIMIT_SECS: u32 = 240;

fn cpe_impl() -> String {
    env::var("CPE_IMPL").unwrap_or_else(|_| "v6edge".to_owned())
}

/// Why the scenario cannot run here, if it cannot.
fn skip_reason(needs_root: bool, programs: &[&str]) -> Option<String> {
    if needs_root {
        match effective_uid() {
            Some(0) => {}
            Some(uid) => return Some(format!("needs root for network namespaces (euid {uid})")),
            None => return Some("cannot read the effective uid".to_owned()),
        }
        let netns = Command::new("ip")
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
    if missing.is_empty() {
        None
    } else {
        Some(format!(
            "missing programs: {} (scripts/install-deps.sh installs them)",
            missing.join(" ")
        ))
    }
}

/// Programs a namespace scenario needs for this ISP and the selected CPE.
fn programs_for(isp: &str) -> Vec<&'static str> {
    let mut needs = vec![
        "ip", "bash", "timeout", "python3", "radvd", "rdisc6", "ping", "tcpdump", "ss",
    ];
    needs.push(match isp {
        "isc" => "dhcpd",
        "wide" => "dhcp6s",
        _ => "kea-dhcp6",
    });
    if cpe_impl() == "wide" {
        needs.push("dhcp6c");
    }
    needs
}

/// Run `tests/scenarios/<script>` with `vars` and assert it passed.
fn run_scenario(script: &str, vars: &[(&str, &str)], needs_root: bool, programs: &[&str]) {
    // A scenario that failed earlier poisons the lock; the next one still runs.
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let label = format!("{script} {vars:?} CPE_IMPL={}", cpe_impl());
    if let Some(reason) = skip_reason(needs_root, programs) {
        // Straight to the stderr handle: libtest captures `eprintln!`, and a
        // skip must be visible without `--nocapture`.
        let _ = writeln!(std::io::stderr(), "SKIP {label}: {reason}");
        return;
    }
    let bin = v6edge_bin();
    if cpe_impl() == "v6edge" {
        assert!(
            bin.is_file(),
            "{label}: no v6edge binary at {} (run `cargo build -p v6edge` first, or set V6EDGE_BIN)",
            bin.display()
        );
    }
    let path = repo_root().join("tests/scenarios").join(script);
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
        .env("CPE_IMPL", cpe_impl())
        .envs(vars.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("{label}: cannot start {}: {e}", path.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let summary_ok = stdout.lines().any(|l| {
        l.strip_suffix(" passed, 0 failed")
            .is_some_and(|n| n.parse::<u32>().is_ok())
    });
    assert!(
        output.status.success() && summary_ok,
        "{label} failed ({}):\n----- stdout -----\n{stdout}\n----- stderr -----\n{stderr}",
        output.status
    );
    // Visible with `cargo test -- --nocapture`: the PASS / XFAIL lines.
    println!("{label}:\n{stdout}");
}

fn namespace_scenario(script: &str, isp: &str) {
    run_scenario(script, &[("ISP_IMPL", isp)], true, &programs_for(isp));
}

#[test]
fn cpe_basic_kea() {
    namespace_scenario("cpe-basic.sh", "kea");
}

#[test]
fn cpe_basic_isc() {
    namespace_scenario("cpe-basic.sh", "isc");
}

#[test]
fn cpe_basic_wide() {
    namespace_scenario("cpe-basic.sh", "wide");
}

#[test]
fn cpe_renew() {
    namespace_scenario("cpe-renew.sh", "kea");
}

#[test]
fn cpe_renumber() {
    namespace_scenario("cpe-renumber.sh", "kea");
}

#[test]
fn cpe_link() {
    namespace_scenario("cpe-link.sh", "kea");
}

#[test]
fn cpe_restart() {
    namespace_scenario("cpe-restart.sh", "kea");
}

#[test]
fn cpe_check() {
    // `v6edge check` needs neither root nor namespaces.
    run_scenario("cpe-check.sh", &[], false, &["bash", "timeout"]);
}
