//! Mobile IPv6 (issue 9) in network namespaces, run as cargo tests.
//!
//! `tests/scenarios/mip6-ha.sh`: v6edge with `examples/home-agent.toml`
//! verbatim as the home agent on a kernel without MIP6, a correspondent on
//! the home link and a mobile node scripted independently of v6edge
//! (`tests/lab/tools/mip6-mn.py`: Binding Updates built byte by byte, RFC
//! 4285 HMAC-SHA1, a Home Address option). It checks BA 0 with a valid
//! authenticator, the proxy ND entry and the route into the tunnel device,
//! pings from the correspondent answered through the tunnel, BA 146 / 144 /
//! 135 and a Binding Error for a wrong key, an old timestamp, a stale
//! sequence and an unknown type with the binding unchanged, a bad checksum
//! counted, the binding back after kill -9, and deregistration. About 10 s.
//!
//! Skips (passes, with a message) when not root or when a program is
//! missing; holds the process-wide lock like the other files.

mod common;
use common::{SERIAL, report_skip, run_scenario_script, skip_reason};

#[test]
fn mip6_home_agent() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let label = "mip6-ha.sh";
    let programs = ["ip", "bash", "timeout", "python3", "ping"];
    if let Some(reason) = skip_reason(true, &programs) {
        report_skip(label, &reason);
        return;
    }
    run_scenario_script(label, "mip6-ha.sh", &[]);
}

/// `tests/scenarios/mip6-scapy.sh`: the home agent against Binding Updates
/// built by Scapy's Mobile IPv6 layers (`tests/lab/tools/mip6-scapy.py`),
/// answers decoded by Scapy: BA 0 for a valid one (the encoders agree),
/// 146 for a wrong key with and without a binding, 144 for an old
/// timestamp, 135 for a stale sequence number, no answer for a bad
/// checksum, Binding Error 2 for an unknown MH type, the replayed copy of a
/// valid BU dropped; the binding unchanged by every refusal and nothing
/// installed without one. About 15 s.
#[test]
fn mip6_home_agent_against_scapy() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let label = "mip6-scapy.sh";
    let programs = ["ip", "bash", "timeout", "python3"];
    if let Some(reason) = skip_reason(true, &programs) {
        report_skip(label, &reason);
        return;
    }
    run_scenario_script(label, "mip6-scapy.sh", &[]);
}

/// `tests/scenarios/mip6-dsmip.sh`: Dual-Stack MIPv6 (RFC 5555) at the
/// home agent, `examples/home-agent.toml` verbatim: a mobile node on an
/// IPv4-only link behind a masquerading router (`tests/lab/tools/
/// dsmip-mn.py`, BUs laid out octet by octet, BAs decoded by Scapy)
/// registers in UDP; the BA carries NAT Detection and an IPv4 home
/// address; a correspondent reaches the home address and the IPv4 home
/// address (proxy ARP) through the NAT both ways; a NAT rebinding is
/// followed; TLV-format datagrams are dropped and counted; a
/// deregistration removes everything (MT-18..MT-20). About 25 s.
#[test]
fn mip6_dsmip_through_a_nat() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let label = "mip6-dsmip.sh";
    let programs = ["ip", "bash", "timeout", "python3", "nft", "ping"];
    if let Some(reason) = skip_reason(true, &programs) {
        report_skip(label, &reason);
        return;
    }
    run_scenario_script(label, "mip6-dsmip.sh", &[]);
}

/// Dual-Stack MIPv6 with v6edge at both ends on an IPv4-only link: routed
/// (MT-18: UDP without NAT Detection, the correspondent and both home
/// addresses reach each other), then masqueraded with 30 s UDP mappings
/// (MT-20: the keepalives hold the mapping through 45 s without data;
/// after the NAT's table is flushed the home agent follows the next
/// keepalive's new port within one refresh period); an IPv6 link over a
/// 1300-octet core (ICMPv4 Fragmentation Needed relayed from an outer
/// Packet Too Big); MT-21 with F clear, no stale state at each return.
/// About 75 s.
#[test]
fn mip6_dsmip_nat_keepalive_and_rebinding() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let label = "mip6-dsmip-nat.sh";
    let programs = [
        "ip",
        "bash",
        "timeout",
        "python3",
        "nft",
        "ping",
        "radvd",
        "conntrack",
    ];
    if let Some(reason) = skip_reason(true, &programs) {
        report_skip(label, &reason);
        return;
    }
    run_scenario_script(label, "mip6-dsmip-nat.sh", &[]);
}
