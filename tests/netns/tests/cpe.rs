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

mod common;
use common::{SERIAL, report_skip, run_scenario_script, skip_reason};

fn cpe_impl() -> String {
    env::var("CPE_IMPL").unwrap_or_else(|_| "v6edge".to_owned())
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
        report_skip(&label, &reason);
        return;
    }
    let mut env: Vec<(&str, String)> = vec![("CPE_IMPL", cpe_impl())];
    env.extend(vars.iter().map(|&(k, v)| (k, v.to_owned())));
    run_scenario_script(&label, script, &env);
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

/// Issue 14: a DHCPv6 flood from 20 000 made-up hosts on the LAN; the real
/// host's Router Solicitations are answered (3 of 3 rdisc6 runs) and its
/// DHCPv6 exchange completes during the flood; then RAs from made-up routers
/// (a few log lines, not thousands) and neighbour churn.
#[test]
fn cpe_flood() {
    let mut programs = programs_for("kea");
    programs.extend(["dhcp6c", "/usr/bin/python3"]);
    run_scenario("cpe-flood.sh", &[("ISP_IMPL", "kea")], true, &programs);
}

/// Issue 14: the CPE's rtnetlink notification socket is made tiny and a
/// burst of 20 000 route changes overruns it, with the uplink's default
/// route removed in the middle; the daemon counts the loss, resynchronises
/// from dumps, and its view (status, the RAs' router lifetime) is right.
#[test]
fn cpe_netlink_overrun() {
    run_scenario(
        "cpe-netlink-overrun.sh",
        &[("ISP_IMPL", "kea")],
        true,
        &programs_for("kea"),
    );
}
