//! Dual-Stack Mobile IPv6 (RFC 5555, mobility.md §1.9 DS-1…DS-10): what
//! the home agent and the mobile node share about IPv4 care-of addresses
//! and UDP encapsulation.
//!
//! # Decisions
//! - UDP encapsulation is the non-TLV format of RFC 5555 §4.1 only: the
//!   UDP payload is a whole IPv6 or IPv4 packet, told apart by its version
//!   nibble (DS-6). The TLV format (a TLV header before the packet) was
//!   never finished by the implementation this descends from; such
//!   payloads are counted and dropped ([`UdpPayload::Tlv`]).
//! - Signalling over IPv4 is an IPv6 packet in UDP: source the home
//!   address, destination the home agent's IPv6 address, no Home Address
//!   option, the Mobility Header directly after the IPv6 header (RFC 5555
//!   §4.2.1: the BU is "sent over IPv4" inside UDP). Data uses the same
//!   encapsulation (our mobile node sets F, so UDP even without a NAT;
//!   DS-10).
//! - The care-of address of an IPv4 binding, wherever an IPv6 address is
//!   needed (the binding cache key of the care-of, and the Mobility Data
//!   of the RFC 4285 authenticator), is the IPv4-mapped IPv6 address of
//!   the IPv4 Care-of Address option (RFC 4291 §2.5.5.2).
//!   // Interop: RFC 5555 does not say what RFC 4285 §5.1's care-of
//!   // address is for an IPv4 care-of address; no peer to test against
//!   // exists, so this choice is ours and documented here.
//! - NAT detection (DS-3, RFC 5555 §4.2.2): the IPv4 Care-of Address option
//!   differs from the outer source address the home agent observed.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4};
use std::time::Duration;

use v6edge_wire::mh::{
    Ipv4AddressAck, Ipv4HomeAddressRequest, MhOption, MhOptions as Options, NatDetection,
};

/// The UDP port of DSMIPv6 signalling and data at the home agent (RFC 5555
/// §4.1, IANA).
pub const DSMIP_PORT: u16 = 4191;

/// RFC 5555 §4.2.2, NATKATIMEOUT: the default refresh time the home agent
/// gives in its NAT Detection option, and the longest a mobile node behind
/// a NAT stays silent.
pub const NAT_KEEPALIVE: Duration = Duration::from_secs(110);

/// What IPv4 + UDP add to an encapsulated packet (20 + 8 octets).
pub const UDP4_OVERHEAD: u32 = 28;

/// IPv4 Address Acknowledgement statuses (RFC 5555 §3.2.1).
pub mod ack_status {
    pub const SUCCESS: u8 = 0;
    pub const FAILURE_UNSPECIFIED: u8 = 128;
    pub const ADMINISTRATIVELY_PROHIBITED: u8 = 129;
    pub const INCORRECT_IPV4_HOME_ADDRESS: u8 = 130;
    pub const INVALID_IPV4_ADDRESS: u8 = 131;
    pub const DYNAMIC_IPV4_HOME_ADDRESS_NOT_AVAILABLE: u8 = 132;
}

/// A UDP payload on port 4191, classified (DS-6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UdpPayload<'a> {
    /// An IPv6 packet (signalling or data).
    Ipv6(&'a [u8]),
    /// An IPv4 packet (data to or from an IPv4 home address).
    Ipv4(&'a [u8]),
    /// Neither version nibble: the TLV format or garbage. Counted and
    /// dropped.
    Tlv,
    /// Empty, or shorter than the header its version nibble names.
    Malformed,
}

/// Classifies a UDP payload by its first nibble (RFC 5555 §4.1 non-TLV).
pub fn classify(payload: &[u8]) -> UdpPayload<'_> {
    match payload.first().map(|b| b >> 4) {
        None => UdpPayload::Malformed,
        Some(6) if payload.len() >= 40 => UdpPayload::Ipv6(payload),
        Some(4) if payload.len() >= 20 => UdpPayload::Ipv4(payload),
        Some(4 | 6) => UdpPayload::Malformed,
        Some(_) => UdpPayload::Tlv,
    }
}

/// The Mobility Header of an IPv6 packet carried in UDP, when the packet
/// is signalling: next header 135 directly after the fixed header (RFC
/// 5555 §4.2.1 puts no extension header there), with its source and
/// destination. Anything else (data, or a Mobility Header behind an
/// extension header) is `None`.
pub fn signalling(packet: &[u8]) -> Option<(Ipv6Addr, Ipv6Addr, &[u8])> {
    if packet.len() < 40 || packet[0] >> 4 != 6 || packet[6] != 135 {
        return None;
    }
    let src: [u8; 16] = packet[8..24].try_into().ok()?;
    let dst: [u8; 16] = packet[24..40].try_into().ok()?;
    let payload_len = usize::from(u16::from_be_bytes([packet[4], packet[5]]));
    let mh = packet.get(40..40 + payload_len)?;
    Some((Ipv6Addr::from(src), Ipv6Addr::from(dst), mh))
}

/// An IPv6 packet of signalling to send in UDP: the fixed header (hop
/// limit 64, next header 135) and `mh`, its checksum already filled in
/// over `src` and `dst`.
pub fn signalling_packet(src: Ipv6Addr, dst: Ipv6Addr, mh: &[u8]) -> Vec<u8> {
    let mut packet = Vec::with_capacity(40 + mh.len());
    packet.extend_from_slice(&[0x60, 0, 0, 0]);
    let len = u16::try_from(mh.len()).unwrap_or(u16::MAX);
    packet.extend_from_slice(&len.to_be_bytes());
    packet.push(135);
    packet.push(64);
    packet.extend_from_slice(&src.octets());
    packet.extend_from_slice(&dst.octets());
    packet.extend_from_slice(mh);
    packet
}

/// The IPv4 source and destination of an IPv4 packet.
pub fn ipv4_addresses(packet: &[u8]) -> Option<(Ipv4Addr, Ipv4Addr)> {
    if packet.len() < 20 || packet[0] >> 4 != 4 {
        return None;
    }
    let src: [u8; 4] = packet[12..16].try_into().ok()?;
    let dst: [u8; 4] = packet[16..20].try_into().ok()?;
    Some((Ipv4Addr::from(src), Ipv4Addr::from(dst)))
}

/// The IPv4-mapped form of an IPv4 care-of address (see the module
/// decisions).
pub fn mapped(addr: Ipv4Addr) -> Ipv6Addr {
    addr.to_ipv6_mapped()
}

/// The IPv4 Care-of Address option (type 32), if present.
pub fn ipv4_care_of(options: &Options) -> Option<Ipv4Addr> {
    options.iter().find_map(|o| match o {
        MhOption::Ipv4CareOf { address, .. } => Some(*address),
        _ => None,
    })
}

/// The IPv4 Home Address Request option (type 29), if present.
pub fn ipv4_home_request(options: &Options) -> Option<Ipv4HomeAddressRequest> {
    options.iter().find_map(|o| match o {
        MhOption::Ipv4HomeAddressRequest(r) => Some(*r),
        _ => None,
    })
}

/// The IPv4 Address Acknowledgement option (type 30), if present.
pub fn ipv4_address_ack(options: &Options) -> Option<Ipv4AddressAck> {
    options.iter().find_map(|o| match o {
        MhOption::Ipv4AddressAck(a) => Some(*a),
        _ => None,
    })
}

/// The NAT Detection option (type 31), if present.
pub fn nat_detection(options: &Options) -> Option<NatDetection> {
    options.iter().find_map(|o| match o {
        MhOption::NatDetection(n) => Some(*n),
        _ => None,
    })
}

/// The ICMPv4 Destination Unreachable, Fragmentation Needed (type 3 code
/// 4, RFC 792, with the next-hop MTU of RFC 1191 §4) owed for `invoking`,
/// an IPv4 packet with DF set too large for the tunnel, sent from `src` to
/// its source. It quotes the invoking header and as much of the data as a
/// 576-octet datagram holds (RFC 1812 §4.3.2.3). `None` where no error may
/// be sent (RFC 1122 §3.2.2, RFC 1812 §4.3.2.7): the invoking packet is an
/// ICMP error, a later fragment, or from an address that is not one host's.
pub fn fragmentation_needed(invoking: &[u8], mtu: u32, src: Ipv4Addr) -> Option<Vec<u8>> {
    let (to, dst) = ipv4_addresses(invoking)?;
    let header_len = usize::from(invoking[0] & 0x0f) * 4;
    if header_len < 20 || invoking.len() < header_len {
        return None;
    }
    if to.is_unspecified()
        || to.is_broadcast()
        || to.is_multicast()
        || to.is_loopback()
        || dst.is_multicast()
        || dst.is_broadcast()
    {
        return None;
    }
    // Fragment offset (the low 13 bits of octets 6-7): only the first.
    if u16::from_be_bytes([invoking[6], invoking[7]]) & 0x1fff != 0 {
        return None;
    }
    // ICMP errors (3 unreachable, 4 source quench, 5 redirect, 11 time
    // exceeded, 12 parameter problem) never cause another.
    if invoking[9] == 1 && matches!(invoking.get(header_len), Some(3 | 4 | 5 | 11 | 12)) {
        return None;
    }
    const MAX_DATAGRAM: usize = 576;
    let quoted = invoking.len().min(MAX_DATAGRAM - 20 - 8);
    let total = 20 + 8 + quoted;
    let mut p = Vec::with_capacity(total);
    p.extend_from_slice(&[0x45, 0]);
    p.extend_from_slice(&(total as u16).to_be_bytes());
    p.extend_from_slice(&[0, 0, 0, 0, 64, 1, 0, 0]); // id, flags, TTL 64, ICMP
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&to.octets());
    let sum = internet_checksum(&p);
    p[10..12].copy_from_slice(&sum.to_be_bytes());
    let next_hop_mtu = u16::try_from(mtu).unwrap_or(u16::MAX);
    p.extend_from_slice(&[3, 4, 0, 0, 0, 0]);
    p.extend_from_slice(&next_hop_mtu.to_be_bytes());
    p.extend_from_slice(&invoking[..quoted]);
    let sum = internet_checksum(&p[20..]);
    p[22..24].copy_from_slice(&sum.to_be_bytes());
    Some(p)
}

/// An outer Packet Too Big came back for an IPv4-in-IPv6 packet (DS-8,
/// RFC 2473 §7.2 applied to an IPv4 inner packet): `quoted` is the inner
/// packet as far as the error quoted it, `outer_mtu` the MTU it reported.
/// Returns the new tunnel MTU and, when the lost inner packet had DF set
/// and does not fit it, the Fragmentation Needed to send from `src` to its
/// source; a packet without DF goes through next time in a fragmented
/// outer packet, so its source is told nothing.
pub fn relay_fragmentation_needed(
    quoted: &[u8],
    outer_mtu: u32,
    src: Ipv4Addr,
) -> (u32, Option<Vec<u8>>) {
    let mtu = crate::dataplane::tunnel_mtu(outer_mtu);
    if ipv4_addresses(quoted).is_none() {
        return (mtu, None);
    }
    let total_len = u32::from(u16::from_be_bytes([quoted[2], quoted[3]]));
    let dont_fragment = quoted[6] & 0x40 != 0;
    if !dont_fragment || total_len <= mtu {
        return (mtu, None);
    }
    (mtu, fragmentation_needed(quoted, mtu, src))
}

/// The RFC 1071 checksum of `bytes` (whose checksum field is zero). The
/// wire crate's is for IPv6 pseudo-headers and stays private to it; the
/// IPv4 header and ICMPv4 need this plain one only here.
fn internet_checksum(bytes: &[u8]) -> u16 {
    let mut sum: u32 = bytes
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c.get(1).copied().unwrap_or(0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Where an IPv4 binding's packets go: the address and port the home agent
/// observed as the BU's outer source (behind a NAT: the NAT's mapping,
/// DS-4).
pub type UdpEndpoint = SocketAddrV4;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_are_told_apart_by_their_version_nibble() {
        let mut v6 = vec![0u8; 40];
        v6[0] = 0x60;
        let mut v4 = vec![0u8; 20];
        v4[0] = 0x45;
        assert_eq!(classify(&v6), UdpPayload::Ipv6(&v6));
        assert_eq!(classify(&v4), UdpPayload::Ipv4(&v4));
        // A TLV header (RFC 5555 §4.1: type 1..3 in the first octet).
        assert_eq!(classify(&[1, 0, 20, 0, 0x45]), UdpPayload::Tlv);
        assert_eq!(classify(&[]), UdpPayload::Malformed);
        assert_eq!(classify(&v6[..39]), UdpPayload::Malformed);
        assert_eq!(classify(&v4[..19]), UdpPayload::Malformed);
    }

    #[test]
    fn signalling_round_trips_through_its_packet() {
        let src: Ipv6Addr = "2001:db8:1::300".parse().unwrap();
        let dst: Ipv6Addr = "2001:db8:1::1".parse().unwrap();
        let mh = [59u8, 0, 5, 0, 0, 0, 1, 2];
        let packet = signalling_packet(src, dst, &mh);
        assert_eq!(signalling(&packet), Some((src, dst, &mh[..])));
        // Data (next header 58) is not signalling, nor is a truncated one.
        let mut data = packet.clone();
        data[6] = 58;
        assert_eq!(signalling(&data), None);
        assert_eq!(signalling(&packet[..45]), None);
    }

    #[test]
    fn ipv4_addresses_are_read_from_the_header() {
        let mut v4 = vec![0u8; 20];
        v4[0] = 0x45;
        v4[12..16].copy_from_slice(&[169, 254, 1, 2]);
        v4[16..20].copy_from_slice(&[169, 254, 9, 9]);
        assert_eq!(
            ipv4_addresses(&v4),
            Some((Ipv4Addr::new(169, 254, 1, 2), Ipv4Addr::new(169, 254, 9, 9)))
        );
        assert_eq!(ipv4_addresses(&v4[..19]), None);
    }

    /// A UDP datagram with DF from `src` to `dst`, `len` octets in all.
    fn udp4(src: [u8; 4], dst: [u8; 4], len: usize) -> Vec<u8> {
        let mut p = vec![0u8; len];
        p[0] = 0x45;
        p[2..4].copy_from_slice(&(len as u16).to_be_bytes());
        p[6] = 0x40; // DF
        p[8] = 64;
        p[9] = 17;
        p[12..16].copy_from_slice(&src);
        p[16..20].copy_from_slice(&dst);
        p
    }

    #[test]
    fn fragmentation_needed_quotes_the_packet_with_the_mtu() {
        let invoking = udp4([169, 254, 1, 2], [169, 254, 9, 99], 1400);
        let src = Ipv4Addr::new(169, 254, 1, 2);
        let p = fragmentation_needed(&invoking, 1252, src).unwrap();
        assert_eq!(p.len(), 576);
        assert_eq!(u16::from_be_bytes([p[2], p[3]]), 576);
        assert_eq!((p[8], p[9]), (64, 1));
        assert_eq!(&p[12..16], &[169, 254, 1, 2]);
        assert_eq!(&p[16..20], &[169, 254, 1, 2], "to the invoking source");
        assert_eq!(internet_checksum(&p[..20]), 0, "header checksum");
        assert_eq!((p[20], p[21]), (3, 4));
        assert_eq!(u16::from_be_bytes([p[26], p[27]]), 1252);
        assert_eq!(&p[28..], &invoking[..548]);
        assert_eq!(internet_checksum(&p[20..]), 0, "ICMP checksum");
        // A small invoking packet is quoted whole.
        let small = udp4([169, 254, 1, 2], [169, 254, 9, 99], 60);
        let p = fragmentation_needed(&small, 1252, src).unwrap();
        assert_eq!(&p[28..], &small[..]);
        assert_eq!(internet_checksum(&p[20..]), 0);
    }

    #[test]
    fn no_fragmentation_needed_where_rfc_1122_forbids_an_error() {
        let src = Ipv4Addr::new(169, 254, 1, 2);
        let mut icmp_error = udp4([169, 254, 1, 2], [169, 254, 9, 99], 100);
        icmp_error[9] = 1;
        icmp_error[20] = 11; // time exceeded
        assert_eq!(fragmentation_needed(&icmp_error, 1252, src), None);
        let mut echo = icmp_error.clone();
        echo[20] = 8;
        assert!(fragmentation_needed(&echo, 1252, src).is_some());
        let mut later = udp4([169, 254, 1, 2], [169, 254, 9, 99], 100);
        later[7] = 0x10; // offset 16
        assert_eq!(fragmentation_needed(&later, 1252, src), None);
        let multicast = udp4([169, 254, 1, 2], [224, 0, 0, 1], 100);
        assert_eq!(fragmentation_needed(&multicast, 1252, src), None);
        let unspecified = udp4([0, 0, 0, 0], [169, 254, 9, 99], 100);
        assert_eq!(fragmentation_needed(&unspecified, 1252, src), None);
        assert_eq!(fragmentation_needed(&[0x45, 0, 0], 1252, src), None);
        let mut options = udp4([169, 254, 1, 2], [169, 254, 9, 99], 22);
        options[0] = 0x46; // a 24-octet header in 22 octets
        assert_eq!(fragmentation_needed(&options, 1252, src), None);
    }

    #[test]
    fn an_outer_packet_too_big_is_relayed_for_df_packets_that_no_longer_fit() {
        let ha = Ipv4Addr::new(169, 254, 255, 1);
        let big = udp4([169, 254, 1, 2], [169, 254, 9, 99], 1408);
        // Path 1300: tunnel MTU 1280 (RFC 2473 §7.1(a) floor).
        let (mtu, icmp) = relay_fragmentation_needed(&big[..200], 1300, ha);
        assert_eq!(mtu, 1280);
        let icmp = icmp.expect("owed");
        assert_eq!(&icmp[12..16], &[169, 254, 255, 1]);
        assert_eq!(&icmp[16..20], &[169, 254, 1, 2]);
        assert_eq!(u16::from_be_bytes([icmp[26], icmp[27]]), 1280);
        // One that fits, or without DF: nothing to tell.
        let (_, none) = relay_fragmentation_needed(&big[..200], 1500, ha);
        assert_eq!(none, None);
        let mut no_df = big.clone();
        no_df[6] = 0;
        assert_eq!(relay_fragmentation_needed(&no_df, 1300, ha), (1280, None));
        assert_eq!(
            relay_fragmentation_needed(&[0x60; 48], 1300, ha),
            (1280, None)
        );
    }

    proptest::proptest! {
        #[test]
        fn fragmentation_needed_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..700), mtu in proptest::prelude::any::<u32>()) {
            if let Some(p) = fragmentation_needed(&bytes, mtu, Ipv4Addr::new(10, 0, 0, 1)) {
                proptest::prop_assert!(p.len() <= 576);
                proptest::prop_assert_eq!(internet_checksum(&p[20..]), 0);
            }
        }
    }
}
