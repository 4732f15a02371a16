//! A walk over the extension headers of an IPv6 packet (RFC 8200 §4.1
//! order), collecting what Mobile IPv6 needs: the Home Address option
//! (RFC 6275 §6.3), the Type 2 Routing Header (§6.4) and where the upper
//! layer starts. For the interceptor that receives whole packets (NFQUEUE,
//! AF_PACKET), which the kernel hands over before its own extension-header
//! processing.
//!
//! Hop-by-Hop, Destination Options and Routing headers are walked; the
//! walk stops at a Fragment header (what follows may be in later
//! fragments), at AH and ESP (RFC 6275 leaves HAO/RH2 protected by them
//! to IPsec) and at anything else, which is the upper layer.
//!
//! Panic contract: [`walk`] accepts any byte slice and never panics; the
//! number of steps is bounded by the input length (every header is at
//! least 8 octets).

use std::net::Ipv6Addr;

use super::destination::{DestOption, DestinationOptions};
use super::error::{Ip6Error, Ip6ErrorKind};
use super::header::Ipv6Header;
use super::routing::Type2RoutingHeader;
use super::{Reader, UNIT};

/// RFC 8200 §4 and IANA protocol numbers of the headers walked over.
const HOP_BY_HOP: u8 = 0;
const ROUTING: u8 = 43;
const DESTINATION_OPTIONS: u8 = 60;

/// What [`walk`] found in one packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketHeaders {
    pub ipv6: Ipv6Header,
    /// The first Home Address option's address.
    pub home_address: Option<Ipv6Addr>,
    /// How many Home Address options the packet carries (RFC 6275 §6.3:
    /// at most one; the receiver decides what to do with more).
    pub home_address_options: usize,
    /// The first Type 2 Routing Header.
    pub type2: Option<Type2RoutingHeader>,
    /// The Next Header value where the walk stopped: the upper layer (135
    /// for the Mobility Header, 58 for ICMPv6, ...), or 44, 50, 51 for a
    /// Fragment, ESP or AH header it does not walk past.
    pub upper_protocol: u8,
    /// Offset of that header in the packet.
    pub upper_offset: usize,
}

impl PacketHeaders {
    /// RFC 6275 §6.1.1: the pseudo-header source of the upper layer, the
    /// home address when a Home Address option travels.
    pub fn pseudo_src(&self) -> Ipv6Addr {
        self.home_address.unwrap_or(self.ipv6.src)
    }

    /// RFC 6275 §6.1.1, RFC 8200 §8.1: the pseudo-header destination, the
    /// home address of a Type 2 Routing Header with segments left.
    pub fn pseudo_dst(&self) -> Ipv6Addr {
        match self.type2 {
            Some(rh) if rh.segments_left > 0 => rh.home_address,
            _ => self.ipv6.dst,
        }
    }
}

/// Walks `packet` (from the IPv6 version octet). Errors: those of the
/// fixed header; `Truncated` when the payload length or an extension
/// header runs past the input; the errors of a malformed Home Address
/// option or Type 2 Routing Header. Octets past the payload length
/// (link-layer padding) are ignored; a routing header of another type is
/// stepped over.
pub fn walk(packet: &[u8]) -> Result<PacketHeaders, Ip6Error> {
    let ipv6 = Ipv6Header::parse(packet)?;
    let whole = Reader::new(packet);
    let (packet_view, _) = whole.split(Ipv6Header::LEN + usize::from(ipv6.payload_len))?;
    let mut found = PacketHeaders {
        ipv6,
        home_address: None,
        home_address_options: 0,
        type2: None,
        upper_protocol: ipv6.next_header,
        upper_offset: Ipv6Header::LEN,
    };
    let mut at = Ipv6Header::LEN;
    let mut next = ipv6.next_header;
    while matches!(next, HOP_BY_HOP | ROUTING | DESTINATION_OPTIONS) {
        let header = packet_view.view_from(at);
        let [following, units] = header.get_array(0)?;
        let len = (usize::from(units) + 1) * UNIT;
        let (this, _) = header.split(len)?;
        let bytes = this.bytes();
        let relocate = |e: Ip6Error| Ip6Error {
            offset: e.offset + at,
            ..e
        };
        match next {
            DESTINATION_OPTIONS => {
                let d = DestinationOptions::parse(bytes).map_err(relocate)?;
                for o in &d.options {
                    if let DestOption::HomeAddress(a) = o {
                        found.home_address_options += 1;
                        found.home_address.get_or_insert(*a);
                    }
                }
            }
            ROUTING => match Type2RoutingHeader::parse(bytes) {
                Ok(rh) => {
                    found.type2.get_or_insert(rh);
                }
                Err(e) if matches!(e.kind, Ip6ErrorKind::RoutingType { .. }) => {}
                Err(e) => return Err(relocate(e)),
            },
            _ => {}
        }
        at += len;
        next = following;
    }
    found.upper_protocol = next;
    found.upper_offset = at;
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    fn packet(next: u8, ext: &[Vec<u8>], upper: &[u8]) -> Vec<u8> {
        let len = ext.iter().map(Vec::len).sum::<usize>() + upper.len();
        let h = Ipv6Header::new(
            ip("2001:db8:2::5"),
            ip("2001:db8:1::1"),
            next,
            64,
            len as u16,
        );
        let mut p = h.to_bytes();
        for e in ext {
            p.extend_from_slice(e);
        }
        p.extend_from_slice(upper);
        p
    }

    #[test]
    fn finds_hao_rh2_and_the_upper_layer() {
        let hoa = ip("2001:db8:1::200");
        let upper = [59u8, 0, 0, 0, 0, 0, 0, 0];
        // Hop-by-Hop (PadN), RH2, DestOpt with HAO, then the MH.
        let hbh = vec![ROUTING, 0, 1, 4, 0, 0, 0, 0];
        let rh = Type2RoutingHeader::new(DESTINATION_OPTIONS, hoa).to_bytes();
        let dst = DestinationOptions::home_address(135, hoa).to_bytes();
        let p = packet(HOP_BY_HOP, &[hbh, rh, dst], &upper);
        let found = walk(&p).unwrap();
        assert_eq!(found.home_address, Some(hoa));
        assert_eq!(found.home_address_options, 1);
        assert_eq!(found.type2.map(|r| r.home_address), Some(hoa));
        assert_eq!(
            (found.upper_protocol, found.upper_offset),
            (135, 40 + 8 + 24 + 24)
        );
        assert_eq!((found.pseudo_src(), found.pseudo_dst()), (hoa, hoa));
        // Every strict prefix is short; link-layer padding is ignored.
        for len in 0..p.len() {
            assert!(walk(&p[..len]).is_err(), "{len}");
        }
        let mut padded = p.clone();
        padded.extend_from_slice(&[0; 6]);
        assert_eq!(walk(&padded), Ok(found));
    }

    #[test]
    fn stops_at_fragments_and_steps_over_other_routing_types() {
        let srh = vec![44, 0, 4, 0, 0, 0, 0, 0];
        let p = packet(ROUTING, &[srh, vec![58, 0, 0, 1, 0, 0, 0, 0]], &[]);
        let found = walk(&p).unwrap();
        assert_eq!((found.upper_protocol, found.upper_offset), (44, 48));
        assert_eq!(found.type2, None);
        let mut v4 = p.clone();
        v4[0] = 0x45;
        assert_eq!(
            walk(&v4).unwrap_err().kind,
            Ip6ErrorKind::Version { version: 4 }
        );
        // A bad HAO is reported where it is in the packet.
        let mut dst = DestinationOptions::home_address(59, ip("::1")).to_bytes();
        dst[7] = 8;
        let e = walk(&packet(DESTINATION_OPTIONS, &[dst], &[])).unwrap_err();
        assert_eq!((e.kind, e.offset), (Ip6ErrorKind::BadLength { len: 8 }, 47));
    }
}
