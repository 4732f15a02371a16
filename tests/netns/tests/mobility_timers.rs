//! The Mobile IPv6 mobile node's Binding Update timers (reference scenario
//! MT-2) in network namespaces, run as a cargo test.
//!
//! `tests/scenarios/mip6-timers.sh`: the mobile node (v6edge,
//! `examples/mobile-node.toml` verbatim) starts on a foreign link 8 s
//! before its home agent (v6edge, `examples/home-agent.toml` verbatim);
//! tcpdump captures its Binding Updates. It checks the first retransmission
//! after 1.5 s, the doubling after it, at most 3 Binding Updates a second,
//! the registration once the home agent is up (both statuses, pings to the
//! home address) and the mobile node's counter against the capture; a move
//! while the home agent's daemon is down (kill -9), registered once it is
//! back. Then, as an expected failure, a home agent host that is up while
//! its daemon is stopped: the kernel's Parameter Problems make the mobile
//! node stop for good after its 2 s grace (MN-13). About 35 s.
//!
//! Skips (passes, with a message) when not root or when a program is
//! missing; holds the process-wide lock like the other files.

mod common;
use common::{SERIAL, report_skip, run_scenario_script, skip_reason};

#[test]
fn mip6_binding_update_timers() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let label = "mip6-timers.sh";
    let programs = [
        "ip", "bash", "timeout", "python3", "ping", "radvd", "tcpdump",
    ];
    if let Some(reason) = skip_reason(true, &programs) {
        report_skip(label, &reason);
        return;
    }
    run_scenario_script(label, "mip6-timers.sh", &[]);
}
