//! Domain names as DHCPv6 carries them: RFC 8415 §10 (the RFC 1035 §3.1
//! encoding, uncompressed), used by the Domain Search List (RFC 3646 §4)
//! and the NTP server FQDN suboption (RFC 5908 §4.3). The name type and
//! its reader are the toolkit's ([`crate::codec::DomainName`]); this file
//! words their faults as DHCPv6 errors.

pub use crate::codec::{DomainName, DomainNameError};

use super::Reader;
use super::error::{DecodeError, DecodeErrorKind};
use crate::codec::domain::NameFault;

/// Reads one name from `r`, which must contain its terminating root label.
pub(crate) fn parse_name(r: &mut Reader<'_>) -> Result<DomainName, DecodeError> {
    DomainName::read(r).map_err(decode_error)
}

/// Reads names until `r` is exhausted (RFC 3646 §4 search list).
pub(crate) fn parse_name_list(r: &mut Reader<'_>) -> Result<Vec<DomainName>, DecodeError> {
    let mut names = Vec::new();
    while !r.is_empty() {
        names.push(parse_name(r)?);
    }
    Ok(names)
}

/// The error this codec reports for a bad name: a length octet above 63,
/// then a name over 255 octets, a label cut short, a label a dotted name
/// cannot carry, in that order, at the label's length octet (a cut-off
/// label at its first octet).
fn decode_error(fault: NameFault) -> DecodeError {
    let bad = |what, at| DecodeError::new(DecodeErrorKind::BadValue(what), at);
    match fault {
        NameFault::Unterminated { at, .. } => bad("domain name without its root label", at),
        // RFC 8415 §10: no compression; 0b11 (pointer) and 0b01/0b10
        // (RFC 6891 extended label types) prefixes are all lengths above 63.
        NameFault::LabelLength { at } => {
            bad("compression pointer or label longer than 63 octets", at)
        }
        NameFault::Label {
            too_long: true, at, ..
        } => bad("domain name longer than 255 octets", at),
        NameFault::Label {
            runs_past: Some(have),
            at,
            len,
            ..
        } => DecodeError::new(DecodeErrorKind::Truncated { need: len, have }, at + 1),
        NameFault::Label { at, .. } => bad("label with a dot or a non-printable octet", at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_names_where_they_go_wrong() {
        for (bad, kind, offset) in [
            (
                &b"\x03lab"[..],
                DecodeErrorKind::BadValue("domain name without its root label"),
                4,
            ),
            (
                b"\xc0\x0c",
                DecodeErrorKind::BadValue("compression pointer or label longer than 63 octets"),
                0,
            ),
            (
                b"\x03l.b\x00",
                DecodeErrorKind::BadValue("label with a dot or a non-printable octet"),
                0,
            ),
            (
                b"\x02a\x00\x00",
                DecodeErrorKind::BadValue("label with a dot or a non-printable octet"),
                0,
            ),
            (
                b"\x05ab",
                DecodeErrorKind::Truncated { need: 5, have: 2 },
                1,
            ),
        ] {
            let mut r = Reader::new(bad);
            let err = parse_name_list(&mut r).unwrap_err();
            assert_eq!((err.kind, err.offset), (kind, offset), "{bad:?}");
        }
    }

    #[test]
    fn a_list_of_names() {
        let wire = b"\x03lab\x07example\x00\x00";
        let names = parse_name_list(&mut Reader::new(wire)).unwrap();
        assert_eq!(
            names,
            [DomainName::new("lab.example").unwrap(), DomainName::root()]
        );
    }
}
