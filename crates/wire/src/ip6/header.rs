//! The IPv6 fixed header (RFC 8200 §3), for the `IPPROTO_RAW` sender that
//! must write a Type 2 Routing Header itself (the kernel refuses it
//! through the socket API without MIP6) and for reading intercepted
//! packets.
//!
//! ```text
//! |Version| Traffic Class |           Flow Label                  |
//! |         Payload Length        |  Next Header  |   Hop Limit   |
//! |                     Source Address (16)                       |
//! |                  Destination Address (16)                     |
//! ```

use std::net::Ipv6Addr;

use super::Reader;
use super::error::{Ip6Error, Ip6ErrorKind};
use crate::codec::Writer;

mod field {
    use std::ops::Range;
    pub const VERSION_CLASS_FLOW: Range<usize> = 0..4;
    pub const PAYLOAD_LEN: Range<usize> = 4..6;
    pub const NEXT_HEADER: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SRC: Range<usize> = 8..24;
    pub const DST: Range<usize> = 24..40;
    pub const END: usize = 40;
}

/// An IPv6 fixed header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv6Header {
    pub traffic_class: u8,
    /// 20 bits.
    pub flow_label: u32,
    /// Octets after this header, extension headers included.
    pub payload_len: u16,
    pub next_header: u8,
    pub hop_limit: u8,
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
}

impl Ipv6Header {
    /// 40 octets.
    pub const LEN: usize = field::END;

    /// A header with traffic class and flow label 0.
    pub fn new(
        src: Ipv6Addr,
        dst: Ipv6Addr,
        next_header: u8,
        hop_limit: u8,
        payload_len: u16,
    ) -> Self {
        Ipv6Header {
            traffic_class: 0,
            flow_label: 0,
            payload_len,
            next_header,
            hop_limit,
            src,
            dst,
        }
    }

    /// Reads the fixed header at the start of `bytes`. Errors: `Truncated`,
    /// `Version` when the version nibble is not 6. The payload length is
    /// not checked against the input (see [`super::walk`]).
    pub fn parse(bytes: &[u8]) -> Result<Self, Ip6Error> {
        let r = Reader::new(bytes);
        let word = r.get_u32(field::VERSION_CLASS_FLOW)?;
        // The top 4 bits.
        let version = (word >> 28) as u8;
        if version != 6 {
            return Err(r.error_at(Ip6ErrorKind::Version { version }, 0));
        }
        Ok(Ipv6Header {
            // Bits 20..28.
            traffic_class: (word >> 20) as u8,
            flow_label: word & 0x000f_ffff,
            payload_len: r.get_u16(field::PAYLOAD_LEN)?,
            next_header: r.get_u8(field::NEXT_HEADER)?,
            hop_limit: r.get_u8(field::HOP_LIMIT)?,
            src: r.get_ipv6(field::SRC)?,
            dst: r.get_ipv6(field::DST)?,
        })
    }

    pub fn buffer_len(&self) -> usize {
        Self::LEN
    }

    /// Writes the header into the start of `buf`; returns 40.
    ///
    /// # Panics
    /// If `buf` is shorter than 40 octets.
    pub fn emit(&self, buf: &mut [u8]) -> usize {
        assert!(
            buf.len() >= Self::LEN,
            "Ipv6Header::emit: buffer of {} octets, need {}",
            buf.len(),
            Self::LEN
        );
        let mut w = Writer::new(&mut buf[..Self::LEN]);
        w.put_u32(
            (6 << 28) | (u32::from(self.traffic_class) << 20) | (self.flow_label & 0x000f_ffff),
        );
        w.put_u16(self.payload_len);
        w.put_u8(self.next_header);
        w.put_u8(self.hop_limit);
        w.put_ipv6(self.src);
        w.put_ipv6(self.dst);
        Self::LEN
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = vec![0; Self::LEN];
        self.emit(&mut v);
        v
    }
}
