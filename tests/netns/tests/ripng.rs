//! RIPng (RFC 2080, issue 10) against the routing daemons people run:
//! `tests/scenarios/ripng-peers.sh` (a line), `ripng-triangle.sh` and
//! `ripng-kame.sh` (route6d's scenarios).

mod common;

use common::{SERIAL, report_skip, run_scenario_script, skip_reason};

/// `tests/scenarios/ripng-peers.sh`: v6edge ⇄ BIRD 2 ⇄ FRR ripngd in a
/// line: each end's LAN prefix reaches the other's kernel with metric 3,
/// the LANs ping each other, the /56 v6edge's server delegates to a
/// requesting router reaches FRR and is withdrawn on Release, off-link and
/// hop-limit-64 Responses are dropped and counted, FRR's routes leave v6edge's kernel when it stops,
/// and a clean stop removes v6edge's learned routes. About 45 s.
#[test]
fn ripng_with_bird_and_frr() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let label = "ripng-peers.sh";
    let programs = ["ip", "bash", "timeout", "python3", "bird", "ping"];
    if let Some(reason) = skip_reason(true, &programs) {
        report_skip(label, &reason);
        return;
    }
    if !std::path::Path::new("/usr/lib/frr/ripngd").exists() {
        report_skip(label, "/usr/lib/frr/ripngd missing (frr)");
        return;
    }
    run_scenario_script(label, "ripng-peers.sh", &[]);
}

/// `tests/scenarios/ripng-triangle.sh`: v6edge, BIRD 2 and FRR ripngd in
/// a triangle: every LAN routed over the direct link (metric 2 at
/// v6edge); v6edge's Responses captured and decoded by Scapy show split
/// horizon with poisoned reverse (the neighbour's LAN with metric 16) and
/// hop limit 255; each of v6edge's two links fails and the triangle
/// converges through the third router, then back; BIRD stops and its LAN
/// leaves the others' tables within the timers. About 70 s.
#[test]
fn ripng_triangle_with_bird_and_frr() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let label = "ripng-triangle.sh";
    let programs = [
        "ip", "bash", "timeout", "python3", "bird", "ping", "tcpdump",
    ];
    if let Some(reason) = skip_reason(true, &programs) {
        report_skip(label, &reason);
        return;
    }
    if !std::path::Path::new("/usr/lib/frr/ripngd").exists() {
        report_skip(label, "/usr/lib/frr/ripngd missing (frr)");
        return;
    }
    run_scenario_script(label, "ripng-triangle.sh", &[]);
}

/// `tests/scenarios/ripng-kame.sh`: the KAME book's route6d scenarios
/// with v6edge between BIRD (upstream) and FRR (below): leaf network (the
/// default route and two /64s learnt, the LAN advertised with metric 1 and
/// its tag), a simple loop (two links to FRR, the one in use breaks),
/// a static route redistributed, filtering after a reload (accept only ::/0, advertise only
/// inside 2001:db8::/48, a default-only interface), hierarchical
/// aggregation (FRR's /64s upstream as one /60 with a discard route; a new
/// /64 changes nothing at BIRD), a specific request answered, and a
/// frozen neighbour's routes to 16 after the timeout and gone after
/// garbage collection. About 105 s.
#[test]
fn ripng_kame_scenarios_with_bird_and_frr() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let label = "ripng-kame.sh";
    let programs = ["ip", "bash", "timeout", "python3", "bird", "birdc"];
    if let Some(reason) = skip_reason(true, &programs) {
        report_skip(label, &reason);
        return;
    }
    if !std::path::Path::new("/usr/lib/frr/ripngd").exists() {
        report_skip(label, "/usr/lib/frr/ripngd missing (frr)");
        return;
    }
    run_scenario_script(label, "ripng-kame.sh", &[]);
}
