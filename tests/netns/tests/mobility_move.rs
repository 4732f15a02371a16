//! A live TCP connection and a ping across a Mobile IPv6 mobile node's moves
//! (issue 9's done-when item), in network namespaces, run as a cargo test.
//!
//! `tests/scenarios/mip6-move.sh`: v6edge as the home agent
//! (`examples/home-agent.toml` verbatim) and v6edge as the mobile node
//! (`examples/mobile-node.toml` verbatim), both on their userspace tunnels.
//! The mobile node moves home -> foreign link 1 -> foreign link 2 -> home,
//! each link with its own router and radvd, while a correspondent beyond
//! the home agent keeps one TCP connection to the home address streaming
//! several MB each way (`tests/lab/tools/tcp-stream.py`) and pings it. It
//! checks the registration after each move in both daemons' statuses
//! (MT-1, MT-10), deregistration back home (MT-11), pings answered after
//! each move, and that the connection ends without a reset with every byte
//! intact in both directions. Losses during the handovers are reported.
//! About 25 s.
//!
//! Skips (passes, with a message) when not root or when a program is
//! missing; holds the process-wide lock like the other files.

mod common;
use common::{SERIAL, report_skip, run_scenario_script, skip_reason};

#[test]
fn mip6_tcp_survives_moves() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let label = "mip6-move.sh";
    let programs = ["ip", "bash", "timeout", "python3", "ping", "radvd"];
    if let Some(reason) = skip_reason(true, &programs) {
        report_skip(label, &reason);
        return;
    }
    run_scenario_script(label, "mip6-move.sh", &[]);
}
