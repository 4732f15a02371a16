//! RIPng (RFC 2080 §2.1) against decoders and encoders nobody here wrote.
//!
//! - Fixtures built by Scapy 2.5.0 (Debian `python3-scapy`,
//!   `scapy.contrib.ripng`), the expression beside each: we parse them,
//!   check every field against what Scapy was told, and re-emit them
//!   byte-identical.
//! - Our emitted bytes, decoded live by Scapy and by Wireshark's dissector
//!   (`tshark`, from a pcap we write with them on UDP 521). These tests
//!   print why and pass when the tool is missing, so a bare machine still
//!   runs the suite; the lab has both (scripts/install-deps.sh).

use std::net::Ipv6Addr;
use std::path::PathBuf;
use std::process::Command as Process;

use v6edge_wire::ripng::{Command, RipngBody, RipngMessage, Rte, RteKind};

fn ip(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn parse_exact(hex: &str) -> RipngMessage {
    let bytes = unhex(hex);
    let m = RipngMessage::parse(&bytes).unwrap();
    assert_eq!(m.to_bytes(), bytes, "re-emit differs");
    m
}

/// `RIPng(cmd=2)/RIPngEntry(prefix_or_nh='fe80::1', metric=255)
/// /RIPngEntry(prefix_or_nh='2001:db8:1::', prefixlen=48, metric=1)
/// /RIPngEntry(prefix_or_nh='2001:db8:2::', routetag=0x1234, prefixlen=64, metric=16)`
const RESPONSE_NH: &str = "02010000fe800000000000000000000000000001000000ff20010db80001000000000000000000000000300120010db800020000000000000000000012344010";
/// `RIPng(cmd=1)/RIPngEntry(metric=16)`
const WHOLE_TABLE: &str = "010100000000000000000000000000000000000000000010";
/// `RIPng(cmd=1)/RIPngEntry(prefix_or_nh='2001:db8:a::', prefixlen=64, metric=0)
/// /RIPngEntry(prefix_or_nh='::', prefixlen=0, metric=0)`
const SPECIFIC: &str =
    "0101000020010db8000a00000000000000000000000040000000000000000000000000000000000000000000";
/// `RIPng(cmd=2)/RIPngEntry(prefix_or_nh='::', prefixlen=0, routetag=7, metric=3)`
const DEFAULT: &str = "020100000000000000000000000000000000000000070003";
/// `RIPng(cmd=2, ver=2, null=0xbeef)/RIPngEntry(prefix_or_nh='2001:db8::', prefixlen=32, metric=1)`
const VERSION2: &str = "0202beef20010db800000000000000000000000000002001";

#[test]
fn scapy_response_with_next_hop_and_tag() {
    let m = parse_exact(RESPONSE_NH);
    assert_eq!(
        (m.command, m.version, m.must_be_zero),
        (Command::Response, 1, 0)
    );
    assert_eq!(
        m.entries(),
        [
            Rte::next_hop(ip("fe80::1")),
            Rte::route(ip("2001:db8:1::"), 48, 0, 1),
            Rte::route(ip("2001:db8:2::"), 64, 0x1234, 16),
        ]
    );
    assert_eq!(m.entries()[0].kind(), RteKind::NextHop);
}

#[test]
fn scapy_requests_whole_table_and_specific() {
    let whole = parse_exact(WHOLE_TABLE);
    assert!(whole.is_whole_table_request());
    assert_eq!(whole, RipngMessage::whole_table_request());
    let specific = parse_exact(SPECIFIC);
    assert!(!specific.is_whole_table_request());
    assert_eq!(specific.command, Command::Request);
    assert_eq!(
        specific.entries(),
        [
            Rte::route(ip("2001:db8:a::"), 64, 0, 0),
            Rte::route(ip("::"), 0, 0, 0)
        ]
    );
}

#[test]
fn scapy_default_route_with_tag() {
    let m = parse_exact(DEFAULT);
    assert_eq!(m.entries(), [Rte::route(ip("::"), 0, 7, 3)]);
}

#[test]
fn scapy_other_version_is_kept_opaque() {
    let m = parse_exact(VERSION2);
    assert_eq!((m.version, m.must_be_zero), (2, 0xbeef));
    assert_eq!(m.body, RipngBody::Opaque(unhex(VERSION2)[4..].to_vec()));
}

/// What our encoder writes for the live checks: a Response with a
/// next-hop RTE, a tagged route and an unreachable one.
fn ours() -> RipngMessage {
    RipngMessage::new(
        Command::Response,
        vec![
            Rte::next_hop(ip("fe80::2")),
            Rte::route(ip("2001:db8:100::"), 56, 0xabcd, 2),
            Rte::route(ip("::"), 0, 0, 16),
        ],
    )
}

fn tool_missing(program: &str, probe: &[&str]) -> bool {
    let ok = Process::new(program)
        .args(probe)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        eprintln!("SKIP: {program} {probe:?} did not run; install it to check RIPng interop");
    }
    !ok
}

#[test]
fn scapy_decodes_what_we_emit() {
    let python = "/usr/bin/python3";
    if tool_missing(python, &["-c", "import scapy.contrib.ripng"]) {
        return;
    }
    let hex: String = ours()
        .to_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let script = "import sys\n\
        from scapy.contrib.ripng import RIPng, RIPngEntry\n\
        p = RIPng(bytes.fromhex(sys.argv[1]))\n\
        print(p.cmd, p.ver, p.null)\n\
        e = p.payload\n\
        while isinstance(e, RIPngEntry):\n\
        \x20   print(e.prefix_or_nh, e.routetag, e.prefixlen, e.metric)\n\
        \x20   e = e.payload\n";
    let out = Process::new(python)
        .args(["-c", script, &hex])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "2 1 0\nfe80::2 0 0 255\n2001:db8:100:: 43981 56 2\n:: 0 0 16\n"
    );
}

/// A pcap (LINKTYPE_RAW: bare IPv6) holding `payload` in UDP 521 -> 521
/// from fe80::1 to ff02::9, hop limit 255, checksum filled in.
fn pcap(payload: &[u8]) -> Vec<u8> {
    let (src, dst) = (ip("fe80::1"), ip("ff02::9"));
    let udp_len = (8 + payload.len()) as u16;
    let mut udp = Vec::new();
    udp.extend_from_slice(&521u16.to_be_bytes());
    udp.extend_from_slice(&521u16.to_be_bytes());
    udp.extend_from_slice(&udp_len.to_be_bytes());
    udp.extend_from_slice(&[0, 0]);
    udp.extend_from_slice(payload);
    // RFC 8200 §8.1 pseudo-header checksum.
    let mut pseudo = Vec::new();
    pseudo.extend_from_slice(&src.octets());
    pseudo.extend_from_slice(&dst.octets());
    pseudo.extend_from_slice(&u32::from(udp_len).to_be_bytes());
    pseudo.extend_from_slice(&[0, 0, 0, 17]);
    pseudo.extend_from_slice(&udp);
    if pseudo.len() % 2 == 1 {
        pseudo.push(0);
    }
    let mut sum: u32 = pseudo
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    let sum = match !(sum as u16) {
        0 => 0xffff,
        s => s,
    };
    udp[6..8].copy_from_slice(&sum.to_be_bytes());
    let mut ip6 = vec![0x60, 0, 0, 0];
    ip6.extend_from_slice(&udp_len.to_be_bytes());
    ip6.extend_from_slice(&[17, 255]);
    ip6.extend_from_slice(&src.octets());
    ip6.extend_from_slice(&dst.octets());
    ip6.extend_from_slice(&udp);
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    for word in [0u32, 0, 65535, 101] {
        out.extend_from_slice(&word.to_le_bytes());
    }
    let len = ip6.len() as u32;
    for word in [1u32, 0, len, len] {
        out.extend_from_slice(&word.to_le_bytes());
    }
    out.extend_from_slice(&ip6);
    out
}

#[test]
fn wireshark_dissects_what_we_emit() {
    if tool_missing("tshark", &["--version"]) {
        return;
    }
    let path: PathBuf =
        std::env::temp_dir().join(format!("v6edge-ripng-{}.pcap", std::process::id()));
    std::fs::write(&path, pcap(&ours().to_bytes())).unwrap();
    let run = |args: &[&str]| {
        let out = Process::new("tshark")
            .arg("-r")
            .arg(&path)
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let fields = run(&[
        "-T",
        "fields",
        "-E",
        "aggregator=;",
        "-e",
        "ripng.cmd",
        "-e",
        "ripng.version",
        "-e",
        "ripng.rte.ipv6_prefix",
        "-e",
        "ripng.rte.route_tag",
        "-e",
        "ripng.rte.prefix_length",
        "-e",
        "ripng.rte.metric",
        "-e",
        "udp.checksum.status",
    ]);
    let verbose = run(&["-V", "-o", "udp.check_checksum:TRUE"]);
    std::fs::remove_file(&path).ok();
    assert!(verbose.contains("RIPng"), "{verbose}");
    assert!(!verbose.contains("Malformed"), "{verbose}");
    let cols: Vec<&str> = fields.trim_end().split('\t').collect();
    assert_eq!(
        cols[..6],
        [
            "2",
            "1",
            "fe80::2;2001:db8:100::;::",
            "0x0000;0xabcd;0x0000",
            "0;56;0",
            "255;2;16"
        ],
        "{fields}"
    );
}
