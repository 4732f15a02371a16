//! Delegating-server scenarios (issue 3) in network namespaces, run as cargo
//! tests.
//!
//! Each test runs one bash scenario `tests/scenarios/server-*.sh` (built on
//! `tests/lab/server.sh`) and asserts that it exits 0 with a final
//! "N passed, 0 failed" line; on failure the whole scenario output is in the
//! panic message. The scenarios put three real requesting routers (WIDE
//! dhcp6c, ISC dhclient, v6edge with examples/cpe.toml) behind the server
//! and check leases, routes, pings, Release, expiry, a crash under perfdhcp
//! load and malformed messages: RFC 8415 §16 and §18.3, and the server
//! contract (routes toward delegated prefixes, `v6edge leases --json`).
//!
//! Environment:
//! - `SERVER_IMPL=v6edge|kea` (default `v6edge`): the server under test;
//!   `kea` is kea-dhcp6 with the same pools, the reference that validates the
//!   harness (what Kea does not do, such as routes, is an expected failure).
//! - `V6EDGE_BIN`: the daemon binary (the server, and the v6edge CPE client in
//!   both modes). Default: `v6edge` next to this test's target directory, as
//!   in `cpe.rs`; `cargo build -p v6edge` must have produced it.
//!
//! The tests skip (pass, with a message on stderr) when not run as root,
//! when `ip netns` does not work, or when a peer program is missing. In
//! `v6edge` mode they also skip while the binary is a build without the
//! server, and only then: `v6edge check` accepts examples/isp-server.toml
//! but `v6edge run` refuses it with "not part of this build yet". They hold
//! a process-wide lock, so they run one at a time (the machine has 2 CPUs
//! and the restart scenario puts load on it).

use std::env;
use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::sync::{Mutex, OnceLock};

mod common;
use common::{effective_uid, find_program, repo_root, search_path, v6edge_bin};

/// Serializes the scenarios (see the module doc).
static SERIAL: Mutex<()> = Mutex::new(());

/// Outer bound on one scenario in seconds, on top of the scripts' own
/// watchdogs (`LAB_TIMEOUT`, at most 120 s here), in case a teardown hangs.
const SCENARIO_LIMIT_SECS: u32 = 240;

/// What `v6edge run` says when the binary was built without the server
/// (bin/v6edge/src/daemon/driver.rs).
const NOT_BUILT: &str = "not part of this build yet";

fn server_impl() -> String {
    env::var("SERVER_IMPL").unwrap_or_else(|_| "v6edge".to_owned())
}

/// Some(reason) when `bin` is a build without the delegating server:
/// `v6edge check` accepts examples/isp-server.toml, and `v6edge run` with it
/// exits saying "not part of this build yet". The run happens in a fresh,
/// empty network namespace (`unshare --net`), so even a build that does
/// serve touches nothing; `timeout` ends it. Anything else (check fails, run
/// fails otherwise, or runs) is None: the scenario then runs and reports.
fn server_not_built(bin: &Path) -> Option<String> {
    let config = repo_root().join("examples/isp-server.toml");
    let check = Command::new(bin)
        .arg("check")
        .arg("--config")
        .arg(&config)
        .output()
        .ok()?;
    if !check.status.success() {
        return None;
    }
    let dir = env::temp_dir().join(format!("v6edge-server-probe.{}", std::process::id()));
    fs::create_dir_all(&dir).ok()?;
    let run = Command::new("unshare")
        .args(["--net", "--", "timeout", "5"])
        .arg(bin)
        .arg("run")
        .arg("--config")
        .arg(&config)
        .arg("--state-dir")
        .arg(&dir)
        .arg("--control")
        .arg(dir.join("sock"))
        .env("PATH", search_path())
        .output();
    let _ = fs::remove_dir_all(&dir);
    let run = run.ok()?;
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    (!run.status.success() && said.contains(NOT_BUILT)).then(|| {
        format!(
            "{} is a build without the delegating server (`v6edge check` accepts \
             examples/isp-server.toml, `v6edge run` says: {}); SERVER_IMPL=kea runs \
             these scenarios against Kea",
            bin.display(),
            said.trim()
        )
    })
}

/// Why the scenario cannot run here, if it cannot.
fn skip_reason(programs: &[&str], needs_scapy: bool) -> Option<String> {
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
    let missing: Vec<&str> = programs
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
    if needs_scapy {
        let scapy = Command::new("/usr/bin/python3")
            .args(["-c", "import scapy"])
            .output();
        if !scapy.is_ok_and(|o| o.status.success()) {
            return Some(
                "/usr/bin/python3 cannot import scapy (python3-scapy; scripts/install-deps.sh)"
                    .to_owned(),
            );
        }
    }
    None
}

/// Programs every server scenario needs, for the selected server.
fn programs(extra: &[&'static str]) -> Vec<&'static str> {
    let mut needs = vec![
        "ip", "bash", "timeout", "python3", "radvd", "ping", "ss", "dhcp6c", "dhclient",
    ];
    match server_impl().as_str() {
        "kea" => needs.push("kea-dhcp6"),
        _ => needs.push("unshare"),
    }
    needs.extend_from_slice(extra);
    needs
}

/// Run `tests/scenarios/<script>` and assert it passed.
fn run_scenario(script: &str, extra: &[&'static str], needs_scapy: bool) {
    // A scenario that failed earlier poisons the lock; the next one still runs.
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let label = format!("{script} SERVER_IMPL={}", server_impl());
    if let Some(reason) = skip_reason(&programs(extra), needs_scapy) {
        // Straight to the stderr handle: libtest captures `eprintln!`, and a
        // skip must be visible without `--nocapture`.
        let _ = writeln!(std::io::stderr(), "SKIP {label}: {reason}");
        return;
    }
    // The v6edge CPE is one of the clients in both modes.
    let bin = v6edge_bin();
    assert!(
        bin.is_file(),
        "{label}: no v6edge binary at {} (run `cargo build -p v6edge` first, or set V6EDGE_BIN)",
        bin.display()
    );
    if server_impl() == "v6edge" {
        // Probed once per test binary: the answer cannot change meanwhile.
        static NOT_BUILT_REASON: OnceLock<Option<String>> = OnceLock::new();
        if let Some(reason) = NOT_BUILT_REASON.get_or_init(|| server_not_built(&bin)) {
            let _ = writeln!(std::io::stderr(), "SKIP {label}: {reason}");
            return;
        }
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
        .env("SERVER_IMPL", server_impl())
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
    // Visible with `cargo test -- --nocapture`: the PASS / XFAIL lines.
    println!("{label}:\n{stdout}");
}

#[test]
fn server_pd() {
    run_scenario("server-pd.sh", &[], false);
}

#[test]
fn server_expiry() {
    run_scenario("server-expiry.sh", &[], false);
}

#[test]
fn server_ia_na() {
    run_scenario("server-ia-na.sh", &[], false);
}

#[test]
fn server_restart() {
    run_scenario("server-restart.sh", &["perfdhcp", "tcpdump"], false);
}

#[test]
fn server_malformed() {
    run_scenario("server-malformed.sh", &["/usr/bin/python3"], true);
}

/// RFC 8415 §18.3.11 / §20.4: a reloaded pool reaches the v6edge CPE within
/// seconds through an authenticated Reconfigure. v6edge only: Kea 2.2 sends
/// no Reconfigure, so there is no reference run to compare with.
#[test]
fn server_reconfigure() {
    if server_impl() != "v6edge" {
        let _ = writeln!(
            std::io::stderr(),
            "SKIP server-reconfigure.sh SERVER_IMPL={}: a v6edge-only scenario",
            server_impl()
        );
        return;
    }
    run_scenario("server-reconfigure.sh", &[], false);
}

/// Two v6edge servers on one client link share a PostgreSQL lease database
/// (`lease-store = "postgres"`): under perfdhcp load plus two real clients,
/// no prefix appears in Replies to two different clients, the database has
/// the row of every granted prefix, and both servers granted leases. Needs
/// `V6EDGE_TEST_POSTGRES` (scripts/postgres-test.sh) and a binary built with
/// `--features postgres`; skips without the variable, except under CI.
#[test]
fn server_shared() {
    if server_impl() != "v6edge" {
        let _ = writeln!(
            std::io::stderr(),
            "SKIP server-shared.sh SERVER_IMPL={}: a v6edge-only scenario",
            server_impl()
        );
        return;
    }
    run_scenario("server-shared.sh", &["perfdhcp", "tcpdump", "psql"], true);
}
