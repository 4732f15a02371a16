//! The Type 2 Routing Header (RFC 6275 §6.4).
//!
//! ```text
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Next Header  | Hdr Ext Len=2 | Routing Type=2|Segments Left=1|
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                            Reserved                           |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                         Home Address (16)                     |
//! ```

use std::net::Ipv6Addr;

use super::Reader;
use super::error::{Ip6Error, Ip6ErrorKind};
use crate::codec::Writer;

mod field {
    use std::ops::Range;
    pub const NEXT_HEADER: usize = 0;
    pub const HDR_EXT_LEN: usize = 1;
    pub const ROUTING_TYPE: usize = 2;
    pub const SEGMENTS_LEFT: usize = 3;
    pub const RESERVED: Range<usize> = 4..8;
    pub const HOME_ADDRESS: Range<usize> = 8..24;
    pub const END: usize = 24;
}

/// A Type 2 Routing Header: carries the mobile node's home address to its
/// care-of address (a BA, an MPA, route-optimised data).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Type2RoutingHeader {
    pub next_header: u8,
    /// 1 as sent. Kept as received: RFC 6275 §6.4 leaves the checks on
    /// it (and on the address being the receiver's own home address) to
    /// the receiving node.
    pub segments_left: u8,
    pub reserved: u32,
    pub home_address: Ipv6Addr,
}

impl Type2RoutingHeader {
    /// RFC 6275 §6.4: routing type 2.
    pub const ROUTING_TYPE: u8 = 2;
    /// RFC 6275 §6.4: Hdr Ext Len 2 (24 octets).
    pub const HDR_EXT_LEN: u8 = 2;

    /// The header as sent: Segments Left 1, Reserved 0.
    pub fn new(next_header: u8, home_address: Ipv6Addr) -> Self {
        Type2RoutingHeader {
            next_header,
            segments_left: 1,
            reserved: 0,
            home_address,
        }
    }

    /// Reads the header at the start of `bytes`, ignoring what follows.
    /// Errors: `Truncated`; `RoutingType` for another routing header (a
    /// value, not damage); `BadLength` for a Hdr Ext Len other than 2.
    pub fn parse(bytes: &[u8]) -> Result<Self, Ip6Error> {
        let r = Reader::new(bytes);
        let [next_header, len, routing_type, segments_left] = r.get_array(field::NEXT_HEADER)?;
        if routing_type != Self::ROUTING_TYPE {
            return Err(r.error_at(
                Ip6ErrorKind::RoutingType { routing_type },
                field::ROUTING_TYPE,
            ));
        }
        if len != Self::HDR_EXT_LEN {
            return Err(r.error_at(Ip6ErrorKind::BadLength { len }, field::HDR_EXT_LEN));
        }
        debug_assert_eq!(field::SEGMENTS_LEFT, 3);
        Ok(Type2RoutingHeader {
            next_header,
            segments_left,
            reserved: r.get_u32(field::RESERVED)?,
            home_address: r.get_ipv6(field::HOME_ADDRESS)?,
        })
    }

    /// 24 octets.
    pub fn buffer_len(&self) -> usize {
        field::END
    }

    /// Writes the header into the start of `buf`; returns 24.
    ///
    /// # Panics
    /// If `buf` is shorter than 24 octets.
    pub fn emit(&self, buf: &mut [u8]) -> usize {
        let len = self.buffer_len();
        assert!(
            buf.len() >= len,
            "Type2RoutingHeader::emit: buffer of {} octets, need {len}",
            buf.len()
        );
        let mut w = Writer::new(&mut buf[..len]);
        w.put_u8(self.next_header);
        w.put_u8(Self::HDR_EXT_LEN);
        w.put_u8(Self::ROUTING_TYPE);
        w.put_u8(self.segments_left);
        w.put_u32(self.reserved);
        w.put_ipv6(self.home_address);
        len
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = vec![0; self.buffer_len()];
        self.emit(&mut v);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors() {
        let rh = Type2RoutingHeader::new(135, "2001:db8:1::200".parse().unwrap());
        let mut bytes = rh.to_bytes();
        assert_eq!(bytes[..8], [135, 2, 2, 1, 0, 0, 0, 0]);
        bytes.extend_from_slice(&[59, 0]);
        assert_eq!(Type2RoutingHeader::parse(&bytes), Ok(rh));
        for len in 0..24 {
            let e = Type2RoutingHeader::parse(&bytes[..len]).unwrap_err();
            assert!(matches!(e.kind, Ip6ErrorKind::Truncated { .. }), "{len}");
        }
        let mut other = bytes.clone();
        other[2] = 4; // a Segment Routing Header
        let e = Type2RoutingHeader::parse(&other).unwrap_err();
        assert_eq!(
            (e.kind, e.offset),
            (Ip6ErrorKind::RoutingType { routing_type: 4 }, 2)
        );
        let mut long = bytes.clone();
        long[1] = 4;
        let e = Type2RoutingHeader::parse(&long).unwrap_err();
        assert_eq!((e.kind, e.offset), (Ip6ErrorKind::BadLength { len: 4 }, 1));
    }
}
