//! What the Mobile IPv6 roles (home agent, mobile node) share in the
//! daemon: the time of day their RFC 4285 timestamps need, and the Mobility
//! Header inside a captured packet.
//!
//! Panic contract: nothing here panics.

use std::net::Ipv6Addr;
use std::time::SystemTime;

use v6edge_mip6::auth::NtpTimestamp;

/// RFC 6275 §6.1: the Mobility Header's protocol number.
pub const NH_MOBILITY: u8 = 135;
/// RFC 8200 §4: ICMPv6.
pub const NH_ICMPV6: u8 = 58;
/// NTP counts from 1900, Unix from 1970 (RFC 5905 §6).
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;

/// The time of day in NTP format, from the system clock (RFC 4285 §6
/// timestamps).
pub fn ntp_now() -> NtpTimestamp {
    let since = SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = since.as_secs().saturating_add(NTP_UNIX_OFFSET);
    let frac = (u64::from(since.subsec_nanos()) << 32) / 1_000_000_000;
    NtpTimestamp((secs << 32) | frac)
}

/// A Mobility Header or ICMPv6 message found in a captured packet, with
/// what its IPv6 headers said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Captured<'a> {
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
    /// The Home Address destination option's address.
    pub hao: Option<Ipv6Addr>,
    /// The Type 2 Routing Header's address.
    pub rh2: Option<Ipv6Addr>,
    /// From the upper-layer header on (the MH's Payload Proto octet, the
    /// ICMPv6 type).
    pub bytes: &'a [u8],
}

/// Walks a captured packet to its Mobility Header; `None` for anything
/// else (forwarded traffic with options, other upper layers, a broken
/// packet).
pub fn captured_mh(packet: &[u8]) -> Option<Captured<'_>> {
    captured(packet, NH_MOBILITY)
}

/// Walks a captured packet to its ICMPv6 message (Mobile Prefix
/// Solicitations with a Home Address option, Advertisements with a Type 2
/// Routing Header, RFC 6275 §6.7-§6.8); `None` for anything else.
pub fn captured_icmp6(packet: &[u8]) -> Option<Captured<'_>> {
    captured(packet, NH_ICMPV6)
}

fn captured(packet: &[u8], upper: u8) -> Option<Captured<'_>> {
    let h = v6edge_wire::ip6::walk(packet).ok()?;
    if h.upper_protocol != upper {
        return None;
    }
    Some(Captured {
        src: h.ipv6.src,
        dst: h.ipv6.dst,
        hao: h.home_address,
        rh2: h.type2.map(|t| t.home_address),
        bytes: packet.get(h.upper_offset..)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 5905 §6: 2026-01-01T00:00:00Z is 3976214400 NTP seconds.
    #[test]
    fn ntp_seconds_follow_the_unix_clock() {
        let unix = SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let ntp = u64::from(ntp_now().seconds());
        assert!((ntp - NTP_UNIX_OFFSET).abs_diff(unix) <= 1);
        assert_eq!(1_767_225_600 + NTP_UNIX_OFFSET, 3_976_214_400);
    }

    #[test]
    fn only_mobility_headers_come_out_of_a_capture() {
        let hoa: Ipv6Addr = "2001:db8:1::200".parse().unwrap();
        let (src, dst): (Ipv6Addr, Ipv6Addr) = (
            "2001:db8:f::b".parse().unwrap(),
            "2001:db8:1::1".parse().unwrap(),
        );
        let dstopts =
            v6edge_wire::ip6::DestinationOptions::home_address(NH_MOBILITY, hoa).to_bytes();
        let mh = [59u8, 0, 99, 0, 0, 0, 0, 0];
        let len = u16::try_from(dstopts.len() + mh.len()).unwrap();
        let mut packet = v6edge_wire::ip6::Ipv6Header::new(src, dst, 60, 64, len).to_bytes();
        packet.extend_from_slice(&dstopts);
        packet.extend_from_slice(&mh);
        let got = captured_mh(&packet).expect("an MH");
        assert_eq!(
            (got.src, got.dst, got.hao, got.rh2),
            (src, dst, Some(hoa), None)
        );
        assert_eq!(got.bytes, &mh);
        // The same options in front of ICMPv6: not an MH, an ICMPv6.
        let mut icmp = packet.clone();
        icmp[40] = 58;
        assert_eq!(captured_mh(&icmp), None);
        assert_eq!(captured_icmp6(&icmp).map(|c| c.hao), Some(Some(hoa)));
        assert_eq!(captured_icmp6(&packet), None);
        assert_eq!(captured_mh(&packet[..30]), None);
    }
}
