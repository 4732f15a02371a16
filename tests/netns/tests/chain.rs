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
//! Three tests: the v6edge server at the top (with the kill -9 of the middle
//! router and the renumbering of the ISP's pool), Kea at the top, ISC dhcpd
//! at the top (the test adds the top-level route those servers never add).
//!
//! Environment: `V6EDGE_BIN` (default: `v6edge` next to this test's target
//! directory, as in `cpe.rs`; `cargo build -p v6edge` must have produced
//! it), `CHAIN_CPE_CONFIG` (the routers' config; default in the script).
//!
//! The test skips (passes, with a message on stderr) when not run as root,
//! when `ip netns` does not work, or when a program the scenario needs is
//! missing. It never skips because the daemon lacks a feature: a router
//! that gets no prefix fails the scenario.

mod common;
use common::{SERIAL, report_skip, run_scenario_script, skip_reason};

/// Runs tests/scenarios/chain.sh with `env` and asserts it passed.
fn run_chain(label: &str, top_program: &str, env: &[(&str, &str)]) {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let programs = [
        "ip",
        "bash",
        "timeout",
        "python3",
        "ping",
        "ss",
        "radvd",
        top_program,
    ];
    if let Some(reason) = skip_reason(true, &programs) {
        report_skip(label, &reason);
        return;
    }
    let env: Vec<(&str, String)> = env.iter().map(|&(k, v)| (k, v.to_owned())).collect();
    run_scenario_script(label, "chain.sh", &env);
}

#[test]
fn chain_three_levels() {
    // The kill -9 of r2, then the renumbering of the ISP's pool.
    run_chain(
        "chain.sh CHAIN_RENUMBER=1",
        "bash",
        &[("CHAIN_RENUMBER", "1")],
    );
}

/// The same chain with Kea at the top (issue 4: "with Kea or ISC dhcpd at
/// the top instead of v6edge"); r2's restart is covered by the v6edge run.
#[test]
fn chain_kea_top() {
    run_chain(
        "chain.sh CHAIN_TOP=kea",
        "kea-dhcp6",
        &[("CHAIN_TOP", "kea"), ("CHAIN_RESTART", "0")],
    );
}

/// The same chain with ISC dhcpd -6 at the top.
#[test]
fn chain_isc_top() {
    run_chain(
        "chain.sh CHAIN_TOP=isc",
        "dhcpd",
        &[("CHAIN_TOP", "isc"), ("CHAIN_RESTART", "0")],
    );
}
