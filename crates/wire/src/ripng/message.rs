//! The RIPng packet (RFC 2080 §2.1) and its route table entries.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  command (1)  |  version (1)  |       must be zero (2)        |
//! +---------------+---------------+-------------------------------+
//! |                Route Table Entry 1 (20)                       |
//! ~                              ...                              ~
//! |                Route Table Entry N (20)                       |
//! +---------------------------------------------------------------+
//!
//! Route table entry:
//! +---------------------------------------------------------------+
//! |                        IPv6 prefix (16)                       |
//! +-------------------------------+---------------+---------------+
//! |         route tag (2)         | prefix len (1)|  metric (1)   |
//! +-------------------------------+---------------+---------------+
//! ```

use std::net::Ipv6Addr;

use super::Reader;
use super::error::RipngError;
use crate::codec::Writer;
use crate::codec::macros::enum_with_unknown;

/// Command, version and must-be-zero.
pub const HEADER_LEN: usize = 4;
/// One route table entry (RFC 2080 §2.1).
pub const RTE_LEN: usize = 20;
/// The version RFC 2080 defines.
pub const VERSION: u8 = 1;
/// Unreachable (RFC 2080 §2.1, §2.4.2).
pub const METRIC_INFINITY: u8 = 16;
/// The metric that marks a next-hop RTE (RFC 2080 §2.1.1).
pub const NEXT_HOP_METRIC: u8 = 0xff;

/// IPv6 header (40) and UDP header (8) in front of a RIPng packet.
const IP_UDP_LEN: usize = 40 + 8;

enum_with_unknown! {
    /// The command field (RFC 2080 §2.1).
    pub enum Command(u8) {
        /// Ask for all or part of a routing table (§2.4.1).
        Request = 1,
        /// A routing table, in part or whole (§2.4.2).
        Response = 2,
    }
}

/// One route table entry as carried, every octet kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rte {
    pub prefix: Ipv6Addr,
    pub route_tag: u16,
    pub prefix_len: u8,
    pub metric: u8,
}

/// What a route table entry means (RFC 2080 §2.1, §2.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RteKind {
    /// A route: metric in 1–16 and prefix length in 0–128. Host bits may
    /// still be set; the receiver checks the whole prefix.
    Route,
    /// Metric 0xFF: the address is the next hop for the RTEs that follow
    /// (`::` meaning the sender itself). Route tag and prefix length must
    /// be zero and are ignored on receipt (§2.1.1).
    NextHop,
    /// A metric of 0 or 17–254, or a prefix length above 128: RFC 2080
    /// §2.4.2 ignores the entry.
    Invalid,
}

impl Rte {
    /// A route entry.
    pub fn route(prefix: Ipv6Addr, prefix_len: u8, route_tag: u16, metric: u8) -> Rte {
        Rte {
            prefix,
            route_tag,
            prefix_len,
            metric,
        }
    }

    /// A next-hop entry (RFC 2080 §2.1.1); `::` returns to "the sender".
    pub fn next_hop(addr: Ipv6Addr) -> Rte {
        Rte {
            prefix: addr,
            route_tag: 0,
            prefix_len: 0,
            metric: NEXT_HOP_METRIC,
        }
    }

    pub fn kind(&self) -> RteKind {
        match self.metric {
            NEXT_HOP_METRIC => RteKind::NextHop,
            1..=METRIC_INFINITY if self.prefix_len <= 128 => RteKind::Route,
            _ => RteKind::Invalid,
        }
    }

    fn parse(r: &mut Reader<'_>) -> Result<Rte, RipngError> {
        Ok(Rte {
            prefix: r.ipv6()?,
            route_tag: r.u16()?,
            prefix_len: r.u8()?,
            metric: r.u8()?,
        })
    }

    fn emit(&self, w: &mut Writer<'_>) {
        w.put_ipv6(self.prefix);
        w.put_u16(self.route_tag);
        w.put_u8(self.prefix_len);
        w.put_u8(self.metric);
    }
}

/// What follows the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RipngBody {
    /// Route table entries of a version 1 Request or Response, in order.
    Entries(Vec<Rte>),
    /// The body of any other command or version, as received.
    Opaque(Vec<u8>),
}

/// A RIPng packet: the UDP payload on port 521.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RipngMessage {
    pub command: Command,
    pub version: u8,
    /// Must be zero (RFC 2080 §2.1); kept as received.
    pub must_be_zero: u16,
    pub body: RipngBody,
}

impl RipngMessage {
    /// A version 1 message with these entries.
    pub fn new(command: Command, entries: Vec<Rte>) -> RipngMessage {
        RipngMessage {
            command,
            version: VERSION,
            must_be_zero: 0,
            body: RipngBody::Entries(entries),
        }
    }

    /// The request for a whole routing table (RFC 2080 §2.4.1): exactly
    /// one RTE, prefix `::`, prefix length 0, metric infinity.
    pub fn whole_table_request() -> RipngMessage {
        RipngMessage::new(
            Command::Request,
            vec![Rte::route(Ipv6Addr::UNSPECIFIED, 0, 0, METRIC_INFINITY)],
        )
    }

    /// Whether this is the request of [`RipngMessage::whole_table_request`]
    /// (route tag aside, which §2.4.1 does not constrain).
    pub fn is_whole_table_request(&self) -> bool {
        self.command == Command::Request
            && matches!(&self.body, RipngBody::Entries(e) if matches!(
                e.as_slice(),
                [only] if only.prefix.is_unspecified()
                    && only.prefix_len == 0
                    && only.metric == METRIC_INFINITY
            ))
    }

    /// The entries, empty for an opaque body.
    pub fn entries(&self) -> &[Rte] {
        match &self.body {
            RipngBody::Entries(e) => e,
            RipngBody::Opaque(_) => &[],
        }
    }

    pub fn parse(bytes: &[u8]) -> Result<RipngMessage, RipngError> {
        let mut r = Reader::new(bytes);
        let command = Command::from(r.u8()?);
        let version = r.u8()?;
        let must_be_zero = r.u16()?;
        let known = matches!(command, Command::Request | Command::Response);
        let body = if known && version == VERSION {
            let mut entries = Vec::with_capacity(r.remaining() / RTE_LEN);
            for (index, record) in r.records(RTE_LEN).enumerate() {
                let mut record = record.map_err(|e| e.within(index))?.in_option(index);
                entries.push(Rte::parse(&mut record)?);
            }
            RipngBody::Entries(entries)
        } else {
            RipngBody::Opaque(r.rest().to_vec())
        };
        Ok(RipngMessage {
            command,
            version,
            must_be_zero,
            body,
        })
    }

    pub fn buffer_len(&self) -> usize {
        HEADER_LEN
            + match &self.body {
                RipngBody::Entries(e) => e.len() * RTE_LEN,
                RipngBody::Opaque(b) => b.len(),
            }
    }

    /// Writes exactly `buffer_len()` octets at the start of `buf`.
    ///
    /// # Panics
    /// If `buf` is shorter than `buffer_len()`.
    pub fn emit(&self, buf: &mut [u8]) {
        let len = self.buffer_len();
        assert!(
            buf.len() >= len,
            "RIPng emit: buffer of {} octets, need {len}",
            buf.len()
        );
        let mut w = Writer::new(&mut buf[..len]);
        w.put_u8(self.command.into());
        w.put_u8(self.version);
        w.put_u16(self.must_be_zero);
        match &self.body {
            RipngBody::Entries(entries) => entries.iter().for_each(|rte| rte.emit(&mut w)),
            RipngBody::Opaque(bytes) => w.put_slice(bytes),
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![0; self.buffer_len()];
        self.emit(&mut out);
        out
    }
}

/// How many RTEs one packet may carry on a link of `mtu` octets without
/// fragmenting (RFC 2080 §2.1: (MTU - IPv6 header - UDP header - RIPng
/// header) / RTE size); 0 if the MTU cannot hold even the header.
pub fn max_entries(mtu: usize) -> usize {
    mtu.saturating_sub(IP_UDP_LEN + HEADER_LEN) / RTE_LEN
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ripng::RipngErrorKind;

    /// A Response with a next-hop RTE and two routes, the second tagged.
    const RESPONSE: [u8; 64] = [
        2, 1, 0, 0, // Response, version 1
        0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
        0xff, // next hop fe80::1
        0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 48,
        1, // 2001:db8:1::/48 m1
        0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34, 64,
        16, // 2001:db8:2::/64 tag 0x1234 m16
    ];

    fn ip(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    fn sample() -> RipngMessage {
        RipngMessage::new(
            Command::Response,
            vec![
                Rte::next_hop(ip("fe80::1")),
                Rte::route(ip("2001:db8:1::"), 48, 0, 1),
                Rte::route(ip("2001:db8:2::"), 64, 0x1234, 16),
            ],
        )
    }

    #[test]
    fn response_parses_field_by_field() {
        let m = RipngMessage::parse(&RESPONSE).unwrap();
        assert_eq!(m, sample());
        let kinds: Vec<_> = m.entries().iter().map(Rte::kind).collect();
        assert_eq!(kinds, [RteKind::NextHop, RteKind::Route, RteKind::Route]);
    }

    #[test]
    fn response_emits_every_octet() {
        let m = sample();
        assert_eq!(m.buffer_len(), RESPONSE.len());
        let mut buf = [0xaa; 70];
        m.emit(&mut buf);
        assert_eq!(buf[..64], RESPONSE);
        assert_eq!(buf[64..], [0xaa; 6], "nothing past buffer_len");
    }

    #[test]
    fn whole_table_request_is_recognised() {
        let m = RipngMessage::whole_table_request();
        assert_eq!(
            m.to_bytes(),
            [
                1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 16
            ]
        );
        assert!(m.is_whole_table_request());
        let mut two = m.clone();
        if let RipngBody::Entries(e) = &mut two.body {
            e.push(e[0]);
        }
        assert!(!two.is_whole_table_request());
    }

    #[test]
    fn a_partial_entry_is_truncated_and_named() {
        for cut in 1..RTE_LEN {
            let e = RipngMessage::parse(&RESPONSE[..4 + 20 + cut]).unwrap_err();
            assert_eq!(
                e.kind,
                RipngErrorKind::Truncated {
                    need: RTE_LEN,
                    have: cut
                }
            );
            assert_eq!((e.offset, e.option), (24, Some(1)));
        }
        for len in 0..HEADER_LEN {
            let e = RipngMessage::parse(&RESPONSE[..len]).unwrap_err();
            assert_eq!(e.option, None);
        }
        assert_eq!(
            RipngMessage::parse(&RESPONSE[..4]).unwrap().entries(),
            &[] as &[Rte]
        );
    }

    #[test]
    fn unknown_commands_and_versions_are_opaque_and_exact() {
        for (command, version) in [(3u8, 1u8), (2, 2), (1, 0), (0, 1)] {
            let mut bytes = RESPONSE[..30].to_vec();
            bytes[0] = command;
            bytes[1] = version;
            bytes[2] = 0x55;
            let m = RipngMessage::parse(&bytes).unwrap();
            assert_eq!(m.body, RipngBody::Opaque(bytes[4..].to_vec()));
            assert_eq!(m.must_be_zero, 0x5500);
            assert_eq!(m.to_bytes(), bytes);
        }
    }

    #[test]
    fn entry_kinds_follow_the_metric_and_length() {
        let p = ip("2001:db8::");
        assert_eq!(Rte::route(p, 129, 0, 1).kind(), RteKind::Invalid);
        assert_eq!(Rte::route(p, 64, 0, 0).kind(), RteKind::Invalid);
        assert_eq!(Rte::route(p, 64, 0, 17).kind(), RteKind::Invalid);
        assert_eq!(Rte::route(p, 64, 0, 254).kind(), RteKind::Invalid);
        assert_eq!(Rte::route(p, 128, 0, 16).kind(), RteKind::Route);
        assert_eq!(Rte::route(p, 200, 9, 0xff).kind(), RteKind::NextHop);
    }

    #[test]
    fn entries_per_mtu() {
        // RFC 2080 §2.1: (1500 - 40 - 8 - 4) / 20 = 72.
        assert_eq!(max_entries(1500), 72);
        assert_eq!(max_entries(1280), 61);
        assert_eq!(max_entries(20), 0);
    }
}
