//! The Mobile IPv6 mobile node (issue 9) in network namespaces, run as a
//! cargo test.
//!
//! `tests/scenarios/mip6-mn.sh`: v6edge as the home agent
//! (`examples/home-agent.toml` verbatim) and v6edge as the mobile node
//! (`examples/mobile-node.toml` verbatim) on kernels without MIP6, the
//! mobile node behind an access router whose RAs give it a SLAAC care-of
//! address. It checks the registration in both daemons' statuses, the home
//! address on the mobile node's tunnel device and its default route, pings
//! from a correspondent on the home link to the home address and from the
//! home address back (both userspace tunnels), a movement to a second
//! foreign link with re-registration and pings again, deregistration on a
//! clean stop (tunnel device removed), registration again after a restart,
//! and coming home: deregistration from the home link, the home address on
//! eth0, the correspondent reaching it directly. About 10 s.
//!
//! Skips (passes, with a message) when not root or when a program is
//! missing; holds the process-wide lock like the other files.

mod common;
use common::{SERIAL, report_skip, run_scenario_script, skip_reason};

#[test]
fn mip6_mobile_node() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let label = "mip6-mn.sh";
    let programs = ["ip", "bash", "timeout", "python3", "ping", "radvd"];
    if let Some(reason) = skip_reason(true, &programs) {
        report_skip(label, &reason);
        return;
    }
    run_scenario_script(label, "mip6-mn.sh", &[]);
}

/// `tests/scenarios/mip6-prefix.sh` (mobility.md MT-13, HA-18, MN-9):
/// prefix discovery between a v6edge home agent with
/// `mobile-prefix-advertisements = true` and a v6edge mobile node. A home
/// prefix with finite lifetimes (those of the home agent's address) gives
/// BA status 1, a Mobile Prefix Solicitation with a Home Address option
/// and an Advertisement with a Type 2 Routing Header, both past kernels
/// without MIP6; renumbering sends an unsolicited advertisement,
/// retransmitted 3 times 3 s apart while the mobile node is stopped and
/// acknowledged by a solicitation when it runs. About 30 s.
#[test]
fn mip6_prefix_discovery() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let label = "mip6-prefix.sh";
    let programs = ["ip", "bash", "timeout", "python3"];
    if let Some(reason) = skip_reason(true, &programs) {
        report_skip(label, &reason);
        return;
    }
    run_scenario_script(label, "mip6-prefix.sh", &[]);
}

/// NEMO Basic Support (RFC 3963, MT-17): examples/mobile-router.toml with
/// a host on its LAN, against examples/home-agent.toml.
#[test]
fn mip6_nemo_mobile_router() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let label = "mip6-nemo.sh";
    let programs = ["ip", "bash", "timeout", "python3", "ping", "radvd"];
    if let Some(reason) = skip_reason(true, &programs) {
        report_skip(label, &reason);
        return;
    }
    run_scenario_script(label, "mip6-nemo.sh", &[]);
}

/// Prefix delegation to a mobile router (RFC 6276): the alternatives
/// commented in examples/mobile-router.toml and examples/home-agent.toml;
/// the mobile network is delegated through the tunnel, a host on it
/// configures itself while the router is away, and the prefix survives a
/// move and the return home.
#[test]
fn mip6_prefix_delegation_to_a_mobile_router() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let label = "mip6-nemo-pd.sh";
    let programs = ["ip", "bash", "timeout", "python3", "ping", "radvd"];
    if let Some(reason) = skip_reason(true, &programs) {
        report_skip(label, &reason);
        return;
    }
    run_scenario_script(label, "mip6-nemo-pd.sh", &[]);
}

/// The same with the delegating server elsewhere: the home agent relays
/// (downstream its tunnel device and the home link); no Rebind on a move
/// between foreign links; renumbering crosses both relays.
#[test]
fn mip6_prefix_delegation_through_the_home_agents_relay() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let label = "mip6-nemo-pd.sh relay";
    let programs = ["ip", "bash", "timeout", "python3", "ping", "radvd"];
    if let Some(reason) = skip_reason(true, &programs) {
        report_skip(label, &reason);
        return;
    }
    run_scenario_script(label, "mip6-nemo-pd.sh", &[("PD_VIA", "relay".to_owned())]);
}

/// Dual-Stack MIPv6 (RFC 5555, MT-19, MT-21) with NEMO: the mobile router
/// of examples/mobile-router.toml moves IPv6 link -> IPv4-only link behind
/// a masquerading router -> home, against examples/home-agent.toml; its
/// LAN's host keeps a TCP stream with a correspondent intact across all
/// three, the correspondent reaches the IPv4 home address, and coming home
/// leaves no IPv4 state behind.
#[test]
fn mip6_dsmip_mobile_router_through_a_nat() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let label = "mip6-dsmip-mr.sh";
    let programs = ["ip", "bash", "timeout", "python3", "ping", "radvd", "nft"];
    if let Some(reason) = skip_reason(true, &programs) {
        report_skip(label, &reason);
        return;
    }
    run_scenario_script(label, "mip6-dsmip-mr.sh", &[]);
}
