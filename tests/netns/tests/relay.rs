//! DHCPv6 relay-agent scenarios (issue 5) in network namespaces, run as
//! cargo tests.
//!
//! Each test runs one bash scenario (`tests/scenarios/relay-*.sh`,
//! `server-behind-relays.sh`, built on `tests/lab/relay.sh`) and asserts that
//! it exits 0 with a final "N passed, 0 failed" line; on failure the whole
//! scenario output is in the panic message. The scenarios put WIDE dhcp6c and
//! ISC dhclient -6 -P behind a relay (client — relay — server, and two relays
//! in a row) and check the prefixes they get, the relay's routes toward them
//! (RFC 8987 §4, RFC 9818 LPD-5: `<prefix> via <client link-local> dev lan0
//! proto 118`), `v6edge leases` on the relay, pings through the relay,
//! Release, and a kill -9 / restart with the same state dir; RFC 8415 §19.
//!
//! Environment:
//! - `RELAY_IMPL=v6edge|wide|isc` (default `v6edge`): the relay under test,
//!   `v6edge run --config examples/relay.toml`, or WIDE dhcp6relay / ISC
//!   dhcrelay -6 standing in for it (they install no routes: expected
//!   failures, `XFAIL:` lines).
//! - `V6EDGE_BIN`: the daemon binary, found as in `cpe.rs`.
//!
//! Skips (pass, with a `SKIP` line on stderr): not root, no `ip netns`, a
//! peer program missing. A skipped test did not test the relay; it is never
//! a pass of the relay. `server_behind_relays` uses the v6edge server with
//! WIDE and ISC relays. The tests hold a process-wide lock and run one at a
//! time.

use std::env;

mod common;
use common::{SERIAL, report_skip, run_scenario_script, skip_reason};

fn relay_impl() -> String {
    env::var("RELAY_IMPL").unwrap_or_else(|_| "v6edge".to_owned())
}

/// What one scenario run depends on.
struct Needs {
    /// Uses the relay selected by `RELAY_IMPL` (or, with `relay2`, a second one).
    relay: bool,
    relay2: Option<String>,
    programs: Vec<&'static str>,
}

/// Run `tests/scenarios/<script>` with `vars` and assert it passed.
fn run_scenario(script: &str, vars: &[(&str, &str)], needs: Needs) {
    // A scenario that failed earlier poisons the lock; the next one still runs.
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut label = script.to_owned();
    if needs.relay {
        label.push_str(&format!(" RELAY_IMPL={}", relay_impl()));
    }
    for (k, v) in vars {
        label.push_str(&format!(" {k}={v}"));
    }
    let mut impls: Vec<String> = Vec::new();
    if needs.relay {
        impls.push(relay_impl());
    }
    impls.extend(needs.relay2.iter().cloned());
    let mut programs = vec![
        "ip", "bash", "timeout", "python3", "ping", "ss", "dhcp6c", "dhclient",
    ];
    programs.extend_from_slice(&needs.programs);
    for i in &impls {
        match i.as_str() {
            "wide" => programs.push("dhcp6relay"),
            "isc" => programs.push("dhcrelay"),
            "v6edge" => {}
            other => panic!("{label}: RELAY_IMPL must be v6edge, wide or isc (got {other})"),
        }
    }
    if let Some(reason) = skip_reason(true, &programs) {
        report_skip(&label, &reason);
        return;
    }
    let mut env: Vec<(&str, String)> = vec![("RELAY_IMPL", relay_impl())];
    env.extend(vars.iter().map(|&(k, v)| (k, v.to_owned())));
    run_scenario_script(&label, script, &env);
}

fn relay(programs: &[&'static str]) -> Needs {
    Needs {
        relay: true,
        relay2: None,
        programs: programs.to_vec(),
    }
}

#[test]
fn relay_pd_kea() {
    run_scenario("relay-pd.sh", &[("SERVER", "kea")], relay(&["kea-dhcp6"]));
}

#[test]
fn relay_pd_isc() {
    // ISC dhcpd hears ff05::1:3: the v6edge relay runs examples/relay.toml verbatim.
    run_scenario("relay-pd.sh", &[("SERVER", "isc")], relay(&["dhcpd"]));
}

#[test]
fn relay_pd_v6edge_server() {
    run_scenario("relay-pd.sh", &[("SERVER", "v6edge")], relay(&[]));
}

#[test]
fn relay_nested() {
    let second = relay_impl();
    run_scenario(
        "relay-nested.sh",
        &[("SERVER", "kea"), ("RELAY2_IMPL", &second)],
        relay(&["kea-dhcp6", "tcpdump", "tshark"]),
    );
}

#[test]
fn relay_nested_mixed() {
    // The relay under test next to the clients, another implementation
    // next to the server.
    let second = if relay_impl() == "wide" {
        "isc"
    } else {
        "wide"
    };
    let mut needs = relay(&["kea-dhcp6", "tcpdump", "tshark"]);
    needs.relay2 = Some(second.to_owned());
    run_scenario(
        "relay-nested.sh",
        &[("SERVER", "kea"), ("RELAY2_IMPL", second)],
        needs,
    );
}

#[test]
fn relay_restart() {
    run_scenario(
        "relay-restart.sh",
        &[("SERVER", "kea")],
        relay(&["kea-dhcp6"]),
    );
}

#[test]
fn server_behind_relays() {
    // WIDE dhcp6relay and ISC dhcrelay -6 in front of the v6edge server; the
    // v6edge relay plays no part.
    run_scenario(
        "server-behind-relays.sh",
        &[("RELAYS", "wide isc")],
        Needs {
            relay: false,
            relay2: Some("wide".to_owned()),
            programs: vec!["dhcrelay"],
        },
    );
}
