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
//! when `ip netns` does not work, or when a peer program is missing. They
//! hold a process-wide lock, so they run one at a time (the machine has 2
//! CPUs and the restart scenario puts load on it).

use std::env;
use std::process::Command;

mod common;
use common::{SERIAL, report_skip, run_scenario_script, skip_reason};

fn server_impl() -> String {
    env::var("SERVER_IMPL").unwrap_or_else(|_| "v6edge".to_owned())
}

/// Why the scenario cannot run here: the common reasons, or (for the
/// malformed-message scenario) no scapy for /usr/bin/python3.
fn scenario_skip_reason(programs: &[&str], needs_scapy: bool) -> Option<String> {
    if let Some(reason) = skip_reason(true, programs) {
        return Some(reason);
    }
    let scapy_ok = || {
        Command::new("/usr/bin/python3")
            .args(["-c", "import scapy"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    (needs_scapy && !scapy_ok()).then(|| {
        "/usr/bin/python3 cannot import scapy (python3-scapy; scripts/install-deps.sh)".to_owned()
    })
}

/// Programs every server scenario needs, for the selected server.
fn programs(extra: &[&'static str]) -> Vec<&'static str> {
    let mut needs = vec![
        "ip", "bash", "timeout", "python3", "radvd", "ping", "ss", "dhcp6c", "dhclient",
    ];
    if server_impl() == "kea" {
        needs.push("kea-dhcp6");
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
    if let Some(reason) = scenario_skip_reason(&programs(extra), needs_scapy) {
        report_skip(&label, &reason);
        return;
    }
    // The v6edge CPE is one of the clients in both modes.
    run_scenario_script(&label, script, &[("SERVER_IMPL", server_impl())]);
}

/// Skips a v6edge-only scenario when another server is under test.
fn v6edge_only(script: &str) -> bool {
    if server_impl() == "v6edge" {
        return true;
    }
    report_skip(
        &format!("{script} SERVER_IMPL={}", server_impl()),
        "a v6edge-only scenario",
    );
    false
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
    if v6edge_only("server-reconfigure.sh") {
        run_scenario("server-reconfigure.sh", &[], false);
    }
}

/// Two v6edge servers on one client link share a PostgreSQL lease database
/// (`lease-store = "postgres"`): under perfdhcp load plus two real clients,
/// no prefix appears in Replies to two different clients, the database has
/// the row of every granted prefix, and both servers granted leases. Needs
/// `V6EDGE_TEST_POSTGRES` (scripts/postgres-test.sh) and a binary built with
/// `--features postgres`; skips without the variable, except under CI.
#[test]
fn server_shared() {
    if v6edge_only("server-shared.sh") {
        run_scenario("server-shared.sh", &["perfdhcp", "tcpdump", "psql"], true);
    }
}

/// Issue 14: ten seconds of Solicits and Requests from 20 000 made-up hosts
/// on the customer link; a fresh WIDE dhcp6c gets its prefix right after,
/// the flood is rate-limited and counted, the log is not flooded. (With
/// SERVER_IMPL=kea the v6edge-only checks are skipped: Kea is the
/// reference that serves the fresh client too.)
#[test]
fn server_flood() {
    run_scenario("server-flood.sh", &["/usr/bin/python3"], false);
}
