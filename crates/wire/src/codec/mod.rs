//! The codec toolkit every wire format in this crate is written with
//! (DHCPv6, Neighbor Discovery, and the Mobility Header, the Mobile IPv6
//! ICMPv6 messages 144-147 and RIPng), so they share one dialect:
//!
//! - `Reader`: a checked view of untrusted input, read as a cursor or by
//!   named field ranges; every read returns `Result`, none panics.
//! - `Writer`: sequential output into a buffer checked against
//!   `buffer_len()`, with Pad1/PadN padding and alignment arithmetic for
//!   the formats that align options (RFC 6275 §6.2, RFC 8200 §4.2).
//! - [`Error`]: one error shape (kind, byte offset, innermost option) over
//!   each protocol's own [`ErrorKind`] vocabulary.
//! - `enum_with_unknown!`: code points as enums whose unknown values
//!   survive parse and emit.
//! - flag tables: one-bit flags packed and unpacked by one mask table.
//! - [`DomainName`]: RFC 1035 uncompressed names for DHCPv6 and ND DNSSL.
//! - [`constants`]: protocol numbers, ports and multicast groups.
//! - the pseudo-header checksum of ICMPv6 and the Mobility Header.
//!
//! # Writing a codec with it
//! `parse(bytes)` builds a `Reader` over the input and returns an owned
//! value or an `Error` of the protocol's kind; `buffer_len()` counts the
//! octets `emit` writes; `emit(buf)` checks `buf` against `buffer_len()`
//! once, then writes through a `Writer`. Anything the value does not model
//! (reserved bits, unknown options, padding) is kept so an accepted input
//! re-emits byte-identical.

pub(crate) mod checksum;
pub mod constants;
pub(crate) mod domain;
mod error;
pub(crate) mod flags;
pub(crate) mod macros;
pub(crate) mod reader;
pub(crate) mod writer;

pub use domain::{DomainName, DomainNameError};
pub use error::{Error, ErrorKind};
pub(crate) use reader::Reader;
pub(crate) use writer::Writer;

/// The toolkit put together the way the next codecs will use it: a
/// Binding Update with an aligned option (RFC 6275 §6.1.7, §6.2.5) and a
/// RIPng response (RFC 2080 §2.1), emitted and parsed back.
#[cfg(test)]
mod tests {
    use std::net::Ipv6Addr;

    use super::checksum::{pseudo_header_checksum, pseudo_header_checksum_ok};
    use super::constants::{IPPROTO_MOBILITY, IPPROTO_NONE};
    use super::error::test_kind::TestKind;
    use super::flags::{pack_flags, unpack_flags};
    use super::writer::{align_padding, round_up};
    use super::{Reader, Writer};

    type R<'a> = Reader<'a, TestKind>;

    /// RFC 6275 §6.2.5: the Alternate Care-of Address option, type 3,
    /// aligned 8n+6 so that its address starts on an 8-octet boundary.
    const ALT_COA: u8 = 3;

    #[test]
    fn binding_update_with_an_aligned_option() {
        let coa: Ipv6Addr = "2001:db8:c0a::1".parse().unwrap();
        // Header (6) + sequence, flags, lifetime (6) = 12; pad to 8n+6,
        // then the option (18); the whole header to a multiple of 8.
        let pad = align_padding(12, 8, 6);
        let len = round_up(12 + pad + 18, 8);
        assert_eq!((pad, len), (2, 32));
        let mut buf = vec![0xaa; len];
        let mut w = Writer::new(&mut buf);
        w.put_u8(IPPROTO_NONE);
        w.put_u8((len / 8 - 1) as u8);
        w.put_u8(5); // Binding Update
        w.put_u8(0);
        w.put_u16(0); // checksum, filled below
        w.put_u16(7);
        w.put_u16(pack_flags(0, [0x8000, 0x4000], [true, true])); // A, H
        w.put_u16(150);
        w.put_pad_options(pad);
        w.put_u8(ALT_COA);
        w.put_u8(16);
        w.put_ipv6(coa);
        let tail = len - w.position();
        w.put_pad_options(tail);
        assert_eq!(w.position(), len);
        let (src, dst) = (
            "2001:db8::5".parse().unwrap(),
            "2001:db8::1".parse().unwrap(),
        );
        let sum = pseudo_header_checksum(src, dst, IPPROTO_MOBILITY, &buf, 4..6);
        buf[4..6].copy_from_slice(&sum.to_be_bytes());
        assert!(pseudo_header_checksum_ok(src, dst, IPPROTO_MOBILITY, &buf));

        let whole = R::new(&buf);
        assert_eq!(usize::from(whole.get_u8(1).unwrap()) * 8 + 8, buf.len());
        assert_eq!(
            unpack_flags(whole.get_u16(8..10).unwrap(), [0x8000, 0x4000, 0x2000]),
            [true, true, false]
        );
        let mut options = whole.view_from(12);
        let mut seen = Vec::new();
        while !options.is_empty() {
            let (kind, mut data) = options.tlv8_option().unwrap();
            if kind == ALT_COA {
                assert_eq!(data.offset() % 8, 0, "the address is 8-aligned");
                assert_eq!(data.ipv6().unwrap(), coa);
            }
            seen.push(kind);
        }
        assert_eq!(seen, [1, ALT_COA], "PadN (type 1) then the option");
    }

    #[test]
    fn ripng_route_entries_as_records() {
        // RFC 2080 §2.1: command, version, 2 zero octets, then 20-octet
        // route table entries: prefix, route tag, prefix length, metric.
        let routes = [("2001:db8:1::", 48u8, 1u8), ("2001:db8:2::", 64, 16)];
        let mut buf = vec![0xaa; 4 + 20 * routes.len()];
        let mut w = Writer::new(&mut buf);
        w.put_u8(2); // Response
        w.put_u8(1);
        w.put_zeros(2);
        for (prefix, len, metric) in routes {
            w.put_ipv6(prefix.parse().unwrap());
            w.put_u16(0);
            w.put_u8(len);
            w.put_u8(metric);
        }
        let mut r = R::new(&buf);
        r.skip(4).unwrap();
        let parsed: Vec<(Ipv6Addr, u8, u8)> = r
            .records(20)
            .map(|rte| {
                let mut rte = rte.unwrap();
                let prefix = rte.ipv6().unwrap();
                rte.skip(2).unwrap();
                (prefix, rte.u8().unwrap(), rte.u8().unwrap())
            })
            .collect();
        assert_eq!(parsed[1], ("2001:db8:2::".parse().unwrap(), 64, 16));
        assert_eq!(parsed.len(), 2);
        // A datagram cut inside its second entry: one Truncated error.
        let mut short = R::new(&buf[..4 + 20 + 7]);
        short.skip(4).unwrap();
        let results: Vec<_> = short.records(20).collect();
        assert!(results[0].is_ok());
        let e = results[1].as_ref().unwrap_err();
        assert_eq!(
            (e.offset, &e.kind),
            (24, &TestKind::Truncated { need: 20, have: 7 })
        );
    }
}
