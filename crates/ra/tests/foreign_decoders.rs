//! Our home agent's RA (RFC 6275 §7.1–§7.4: H flag, Home Agent Information,
//! Advertisement Interval, R-flag PIO) through two decoders nobody here
//! wrote: Wireshark's dissector (`tshark -V` must show every field as we
//! meant it and mark nothing malformed) and Scapy's (every field, the
//! checksum, nothing left over). Each test skips with a message when its
//! tool is missing (Debian `tshark`, `python3-scapy`); no root needed.

mod common;

use std::net::Ipv6Addr;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::*;
use v6edge_ra::{AdvHomeAgent, AdvertContent, Advertiser};
use v6edge_wire::nd;

const SRC: &str = "fe80::5e:10ff:fe00:1";

/// A pcap file (LINKTYPE_RAW: each record an IPv6 packet) holding one
/// ICMPv6 message from `src` to `dst` with hop limit 255.
fn pcap(src: Ipv6Addr, dst: Ipv6Addr, icmp: &[u8]) -> Vec<u8> {
    let mut ip = vec![0x60, 0, 0, 0];
    ip.extend((icmp.len() as u16).to_be_bytes());
    ip.extend([58, 255]); // next header ICMPv6, hop limit
    ip.extend(src.octets());
    ip.extend(dst.octets());
    ip.extend(icmp);
    let mut f = Vec::new();
    f.extend(0xa1b2_c3d4u32.to_le_bytes()); // magic, microsecond stamps
    f.extend(2u16.to_le_bytes());
    f.extend(4u16.to_le_bytes());
    f.extend(0i32.to_le_bytes()); // GMT offset
    f.extend(0u32.to_le_bytes()); // accuracy
    f.extend(65_535u32.to_le_bytes()); // snap length
    f.extend(101u32.to_le_bytes()); // LINKTYPE_RAW
    f.extend(0u32.to_le_bytes()); // seconds
    f.extend(0u32.to_le_bytes()); // microseconds
    f.extend((ip.len() as u32).to_le_bytes());
    f.extend((ip.len() as u32).to_le_bytes());
    f.extend(ip);
    f
}

fn tshark_available() -> bool {
    Command::new("tshark")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Our first RA on a link where we are a home agent with preference -5,
/// lifetime 3600 s and NEMO support, advertising two prefixes (the second
/// carrying our address), RDNSS and the Advertisement Interval; with its
/// source, destination and checksummed ICMPv6 bytes.
fn home_agent_ra() -> (Ipv6Addr, Ipv6Addr, Vec<u8>) {
    let content = AdvertContent {
        prefixes: vec![live("2001:db8:1::/64"), live("2001:db8:2::/64")],
        dns_servers: vec![addr("2001:db8::53")],
        default_router: true,
        home_agent: Some(AdvHomeAgent {
            preference: -5,
            lifetime: Duration::from_secs(3600),
            mobile_routers: true,
        }),
        advertisement_interval: true,
        router_address: Some(addr("2001:db8:2::1")),
        ..Default::default()
    };
    let mut adv = Advertiser::new(config(), 1, secs(0));
    adv.set_content(secs(0), content);
    adv.start(secs(0));
    let (tx, _) = drain(&mut adv).into_iter().next().expect("first RA");
    let (src, dst) = (addr(SRC), tx.dst);
    let mut icmp = tx.payload.clone();
    nd::fill_checksum(src, dst, &mut icmp);
    (src, dst, icmp)
}

#[test]
fn home_agent_ra_decodes_in_tshark_without_malformed_marks() {
    if !tshark_available() {
        eprintln!("SKIP: tshark not installed (apt-get install tshark)");
        return;
    }
    let (src, dst, icmp) = home_agent_ra();
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("home-agent-ra.pcap");
    std::fs::write(&path, pcap(src, dst, &icmp)).unwrap();
    let out = Command::new("tshark")
        .args(["-V", "-r"])
        .arg(&path)
        .output()
        .expect("tshark runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "tshark failed: {text}");
    for bad in [
        "Malformed",
        "Expert Info (Error",
        "Expert Info (Warning",
        "[Bad",
        "Incorrect",
    ] {
        assert!(!text.contains(bad), "tshark says {bad:?}:\n{text}");
    }
    // Interop: Wireshark 4.0 prints the preference unsigned (RFC 6275 §7.4
    // makes it signed: 65531 is our -5) and labels the lifetime "Home Agent
    // Preference" too; accept either spelling of both.
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    assert!(
        lines.contains(&"Home Agent Preference: -5")
            || lines.contains(&"Home Agent Preference: 65531"),
        "{text}"
    );
    assert!(
        lines.contains(&"Home Agent Lifetime: 3600")
            || lines.contains(&"Home Agent Preference: 3600"),
        "{text}"
    );
    for want in [
        "Home Agent: Set",
        "ICMPv6 Option (Home Agent Information)",
        "Advertisement Interval: 600000",
        "Router address flag(R): Set",
        "Prefix: 2001:db8:2::1",
        "Prefix: 2001:db8:1::",
        "[Checksum Status: Good]",
    ] {
        assert!(text.contains(want), "tshark output lacks {want:?}:\n{text}");
    }
}

/// Scapy's decoding of the same RA, checked in Python: every layer and
/// field, the checksum Scapy computes itself, and no bytes left over.
const SCAPY_CHECK: &str = r#"
import sys
from scapy.layers.inet6 import (IPv6, ICMPv6ND_RA, ICMPv6NDOptSrcLLAddr,
    ICMPv6NDOptHAInfo, ICMPv6NDOptAdvInterval, ICMPv6NDOptPrefixInfo,
    ICMPv6NDOptRDNSS)
from scapy.packet import Raw, Padding
pkt = IPv6(bytes.fromhex(sys.argv[1]))
ra = pkt[ICMPv6ND_RA]
assert (ra.H, ra.M, ra.O, ra.chlim, ra.routerlifetime) == (1, 0, 1, 64, 1800), ra.summary()
# Scapy's pref is unsigned: 65531 is -5 (RFC 6275 section 7.4).
hai = pkt[ICMPv6NDOptHAInfo]
assert (hai.len, hai.res, hai.pref, hai.lifetime) == (1, 0x8000, 65531, 3600), hai.show(dump=True)
adv = pkt[ICMPv6NDOptAdvInterval]
assert (adv.len, adv.advint) == (1, 600000), adv.show(dump=True)
pios = []
layer = pkt
while layer:
    if isinstance(layer, ICMPv6NDOptPrefixInfo):
        pios.append((layer.prefix, layer.prefixlen, layer.L, layer.A, layer.R))
    assert not isinstance(layer, (Raw, Padding)), "bytes Scapy did not decode"
    layer = layer.payload
assert pios == [("2001:db8:1::", 64, 1, 1, 0), ("2001:db8:2::1", 64, 1, 1, 1)], pios
assert pkt[ICMPv6NDOptRDNSS].dns == ["2001:db8::53"]
assert pkt[ICMPv6NDOptSrcLLAddr].lladdr == "02:00:5e:10:00:01"
sent = ra.cksum
del ra.cksum
assert IPv6(bytes(pkt))[ICMPv6ND_RA].cksum == sent, "checksum"
print("ok")
"#;

/// A Python 3 that has Scapy, if any.
fn python_with_scapy() -> Option<&'static str> {
    ["/usr/bin/python3", "python3"].into_iter().find(|python| {
        Command::new(python)
            .args(["-c", "import scapy.layers.inet6"])
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

#[test]
fn home_agent_ra_decodes_in_scapy_field_by_field() {
    let Some(python) = python_with_scapy() else {
        eprintln!("SKIP: no python3 with Scapy (apt-get install python3-scapy)");
        return;
    };
    let (src, dst, icmp) = home_agent_ra();
    let packet = pcap(src, dst, &icmp);
    // The IPv6 packet is the pcap's only record, after 24 + 16 octets.
    let hex: String = packet[40..].iter().map(|b| format!("{b:02x}")).collect();
    let out = Command::new(python)
        .args(["-c", SCAPY_CHECK, &hex])
        .output()
        .expect("python runs");
    assert!(
        out.status.success() && out.stdout.starts_with(b"ok"),
        "Scapy disagrees:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
