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
}
