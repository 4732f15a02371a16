//! The Mobile IPv6 tunnel data plane (issue 9) in network namespaces, run
//! as a cargo test.
//!
//! `tests/scenarios/mip6-dataplane.sh`: v6edge as the home agent
//! (`examples/home-agent.toml` verbatim) and as the mobile node
//! (`examples/mobile-node.toml` verbatim), both on the userspace data plane
//! (TUN + IPv6-in-IPv6), with a hostile host on the mobile node's foreign
//! link. MT-8 anti-spoofing: IPv6-in-IPv6 injected from the care-of address
//! with a foreign inner source (HA-14), from another host with the home
//! address as inner source (HA-14), and from a host other than the home
//! agent to the care-of address (MN-11) is never forwarded or delivered
//! (a UDP listener on the inner destination; a legitimate packet after
//! each spoofed one is the control) and is counted by reason. MT-22
//! (HA-13) with a 1300-octet core link: Packet Too Big generated at both
//! tunnel entries with the tunnel MTU from the path MTU, an outer Packet
//! Too Big relayed as the inner one (RFC 2473 §7), pings of the right size
//! and 2 MB TCP transfers both ways. MT-26: `v6edge mobility caps --json`
//! reports the 11 facilities and leaves the namespace it ran in as it was;
//! both statuses name the data plane in use. About 10 s.
//!
//! Skips (passes, with a message) when not root or when a program is
//! missing; holds the process-wide lock like the other files.

mod common;
use common::{SERIAL, report_skip, run_scenario_script, skip_reason};

#[test]
fn mip6_dataplane() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let label = "mip6-dataplane.sh";
    let programs = ["ip", "bash", "timeout", "python3", "ping", "ss", "nstat"];
    if let Some(reason) = skip_reason(true, &programs) {
        report_skip(label, &reason);
        return;
    }
    run_scenario_script(label, "mip6-dataplane.sh", &[]);
}
