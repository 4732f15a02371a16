//! Mobile IPv6 additions to ND (RFC 6275 §7.1–§7.4: RA flag H, PIO flag R,
//! options 7 and 8) against a decoder nobody here wrote: each fixture was
//! built by Scapy 2.5.0 (Debian `python3-scapy`), the command beside it,
//! and is the ICMPv6 part (`raw(pkt)[40:]`, checksum included) of
//! `IPv6(src=SRC, dst="ff02::1", hlim=255)/...`. We parse them, check every
//! field against what Scapy was told, and re-emit them byte-identical.
//!
//! Interop: Scapy's `ICMPv6NDOptHAInfo.pref` is an unsigned `ShortField`,
//! so a negative preference (RFC 6275 §7.4: signed, two's complement) is
//! given to it as `0x10000 + pref`.

use std::net::Ipv6Addr;

use v6edge_wire::Lifetime;
use v6edge_wire::nd::{self, NdMessage, RouterAdvert, RouterPreference};

const SRC: &str = "fe80::200:5eff:fe00:5301";
const ALL_NODES: &str = "ff02::1";

fn ip(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Parses `bytes` as an RA sent from SRC to all-nodes, after checking the
/// Scapy-computed checksum, and checks the byte-identical re-emit.
fn ra(bytes: &[u8]) -> RouterAdvert {
    assert!(nd::verify_checksum(ip(SRC), ip(ALL_NODES), bytes));
    let msg = NdMessage::parse(bytes).unwrap();
    assert_eq!(msg.to_bytes_with_checksum(ip(SRC), ip(ALL_NODES)), bytes);
    assert_eq!(msg.validate(), Ok(()));
    match msg {
        NdMessage::RouterAdvert(ra) => ra,
        other => panic!("expected an RA, got {other:?}"),
    }
}

/// A home agent's RA as RFC 6275 §7 describes it:
/// ```text
/// ICMPv6ND_RA(chlim=64, H=1, prf=1, routerlifetime=1800)
///   /ICMPv6NDOptSrcLLAddr(lladdr="02:00:5e:00:53:01")
///   /ICMPv6NDOptAdvInterval(advint=70)
///   /ICMPv6NDOptHAInfo(pref=0xfffb, lifetime=3600)
///   /ICMPv6NDOptPrefixInfo(prefixlen=64, L=1, A=1, R=1, validlifetime=86400,
///                          preferredlifetime=14400, prefix="2001:db8:1::1")
/// ```
const HOME_AGENT_RA: &str = "8600b60e402807080000000000000000010102005e005301\
                             070100000000004608010000fffb0e10\
                             030440e000015180000038400000000020010db8000100000000000000000001";

/// Every flag and reserved bit set, extreme values:
/// ```text
/// ICMPv6ND_RA(chlim=0, M=1, O=1, H=1, prf=3, P=1, res=3, routerlifetime=0,
///             reachabletime=30000, retranstimer=1000)
///   /ICMPv6NDOptHAInfo(res=0xffff, pref=0x7fff, lifetime=65535)
///   /ICMPv6NDOptAdvInterval(res=0xffff, advint=0xffffffff)
///   /ICMPv6NDOptPrefixInfo(prefixlen=48, L=0, A=0, R=1, res1=0x1f,
///                          validlifetime=0xffffffff, preferredlifetime=0,
///                          res2=0xdeadbeef, prefix="2001:db8:2:3::4")
/// ```
/// (Scapy's 5-bit `res1` covers our P flag, RFC 9762, and the 4 reserved
/// bits.)
const RESERVED_BITS_RA: &str = "8600c24200ff000000007530000003e8\
                                0801ffff7fffffff0701ffffffffffff\
                                0304303fffffffff00000000deadbeef20010db8000200030000000000000004";

#[test]
fn scapy_home_agent_ra_decodes_field_by_field() {
    let ra = ra(&unhex(HOME_AGENT_RA));
    assert_eq!(ra.cur_hop_limit, 64);
    // RFC 6275 §7.1: H is 0x20 of the flags octet.
    assert!(ra.flags.home_agent);
    assert!(!ra.flags.managed && !ra.flags.other && !ra.flags.proxy);
    assert_eq!(ra.flags.preference, RouterPreference::High);
    assert_eq!(ra.flags.reserved, 0);
    assert_eq!(ra.router_lifetime, 1800);

    assert_eq!(
        ra.source_lla(),
        Some(&[0x02, 0x00, 0x5e, 0x00, 0x53, 0x01][..])
    );
    // RFC 6275 §7.3: milliseconds.
    assert_eq!(ra.options.adv_interval_ms(), Some(70));
    // RFC 6275 §7.4: the preference is signed.
    let hai = ra.options.home_agent_info().unwrap();
    assert_eq!((hai.preference, hai.lifetime), (-5, 3600));
    assert!(!hai.mobile_router());
    assert_eq!(hai.reserved, 0);

    // RFC 6275 §7.2: R set, the prefix field holds the router's address.
    let pio = ra.options.prefixes().next().unwrap();
    assert!(pio.on_link && pio.autonomous && pio.router_addr && !pio.pd_preferred);
    assert_eq!((pio.prefix, pio.prefix_len), (ip("2001:db8:1::1"), 64));
    assert_eq!(
        (pio.valid, pio.preferred),
        (Lifetime::Finite(86_400), Lifetime::Finite(14_400))
    );
}

#[test]
fn scapy_ra_with_every_reserved_bit_set_reemits_exactly() {
    let ra = ra(&unhex(RESERVED_BITS_RA));
    assert!(ra.flags.managed && ra.flags.other && ra.flags.home_agent && ra.flags.proxy);
    assert_eq!(ra.flags.preference, RouterPreference::Low);
    assert_eq!(ra.flags.reserved, 0b11);
    assert_eq!(ra.router_lifetime, 0);
    assert_eq!((ra.reachable_time, ra.retrans_timer), (30_000, 1_000));

    let hai = ra.options.home_agent_info().unwrap();
    assert_eq!((hai.preference, hai.lifetime), (i16::MAX, u16::MAX));
    // RFC 3963 §7.1: the top reserved bit is NEMO's R flag.
    assert_eq!(hai.reserved, 0xffff);
    assert!(hai.mobile_router());
    assert_eq!(ra.options.adv_interval_ms(), Some(u32::MAX));

    let pio = ra.options.prefixes().next().unwrap();
    assert!(!pio.on_link && !pio.autonomous && pio.router_addr && pio.pd_preferred);
    assert_eq!(pio.reserved1, 0x0f);
    assert_eq!(pio.reserved2, 0xdead_beef);
    assert_eq!((pio.prefix, pio.prefix_len), (ip("2001:db8:2:3::4"), 48));
    assert_eq!(
        (pio.valid, pio.preferred),
        (Lifetime::Infinite, Lifetime::ZERO)
    );
}

#[test]
fn scapy_fixtures_cut_short_are_errors_except_at_option_boundaries() {
    for (fixture, boundaries) in [
        (HOME_AGENT_RA, &[16, 24, 32, 40][..]),
        (RESERVED_BITS_RA, &[16, 24, 32][..]),
    ] {
        let bytes = unhex(fixture);
        for len in 0..bytes.len() {
            let cut = NdMessage::parse(&bytes[..len]);
            // A cut between options leaves a shorter, valid RA.
            assert_eq!(cut.is_ok(), boundaries.contains(&len), "{len}: {cut:?}");
        }
    }
}
