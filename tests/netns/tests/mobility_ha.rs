//! Mobile IPv6 home agent scenarios of mobility.md §4 beyond
//! `mobility.rs`, run as cargo tests.
//!
//! `tests/scenarios/mip6-ha-more.sh`: v6edge as the home agent (a copy of
//! `examples/home-agent.toml` with `max-binding-lifetime = 40` and an
//! `[[ra]]` on the home link) and a second, lab-mode v6edge home agent on
//! the same home link, against the independent Python mobile node
//! (`tests/lab/tools/mip6-mn.py`). It checks MT-12 (DHAAD: the reply from
//! the unicast address lists both home agents by preference, the R flag
//! gets none, HA-16/HA-17), MT-4 (lifetime clamped to the maximum, Binding
//! Refresh Advice, expiry removing the proxy entry, the route and the
//! data-plane entry, HA-8/HA-15), MT-5 (proxy_delay 0, restored at a clean
//! stop, a FAILED entry recovering, a REACHABLE entry flipping to the home
//! agent's MAC at registration, HA-10), MT-7 (131, 132, 146 for an unknown
//! SPI and for another home address), MT-23 (145 without a replay option,
//! 144 for a 10 s skew then success after resynchronising, a replayed BU
//! dropped) and MT-27 (20 000 malformed MH / HAO / RH2 packets: no crash,
//! drops counted by reason, Binding Errors and Parameter Problems
//! rate-limited, BA 0 right after).
//! About 30 s.
//!
//! Skips (passes, with a message) when not root or when a program is
//! missing; holds the process-wide lock like the other files.

mod common;
use common::{SERIAL, report_skip, run_scenario_script, skip_reason};

#[test]
fn mip6_home_agent_more() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let label = "mip6-ha-more.sh";
    let programs = [
        "ip", "bash", "timeout", "python3", "ping", "ndisc6", "tcpdump",
    ];
    if let Some(reason) = skip_reason(true, &programs) {
        report_skip(label, &reason);
        return;
    }
    run_scenario_script(label, "mip6-ha-more.sh", &[]);
}
