//! Domain names as DHCPv6 carries them: RFC 8415 §10 (the RFC 1035 §3.1
//! encoding, uncompressed), used by the Domain Search List (RFC 3646 §4)
//! and the NTP server FQDN suboption (RFC 5908 §4.3).
//!
//! A name is kept as its dotted form without the trailing dot. Only names
//! that map one-to-one onto the wire form are accepted, so a parsed name
//! re-emits to the same octets: every label is 1..=63 octets of printable
//! ASCII other than '.', the encoded name is at most 255 octets (RFC 1035
//! §2.3.4), and it ends with the root label. Compression pointers and
//! partial (unterminated) names are errors.

use std::fmt;
use std::ops::Deref;
use std::str::FromStr;

use thiserror::Error;

use super::DecodeError;
use super::error::DecodeErrorKind;
use super::reader::{Reader, Writer};

/// RFC 1035 §2.3.4: labels of 63 octets or less.
const MAX_LABEL: usize = 63;
/// RFC 1035 §2.3.4: names of 255 octets or less, length octets included.
const MAX_NAME: usize = 255;

/// A fully qualified domain name in dotted form, without the trailing dot
/// (the root name is the empty string).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DomainName(String);

/// Why a string is not a [`DomainName`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("invalid domain name: {0}")]
pub struct DomainNameError(&'static str);

fn check_label(label: &[u8]) -> Result<(), &'static str> {
    if label.is_empty() {
        return Err("empty label");
    }
    if label.len() > MAX_LABEL {
        return Err("label longer than 63 octets");
    }
    // A '.' inside a label, or a non-printable octet, has no unambiguous
    // dotted form; such names are rejected rather than altered.
    if !label.iter().all(|&b| b.is_ascii_graphic() && b != b'.') {
        return Err("label with a dot or a non-printable octet");
    }
    Ok(())
}

impl DomainName {
    /// The root name (one zero octet on the wire).
    pub fn root() -> DomainName {
        DomainName(String::new())
    }

    /// Checks `name` ("lab.example" or "lab.example."). "." and "" are the
    /// root.
    pub fn new(name: &str) -> Result<DomainName, DomainNameError> {
        let trimmed = name.strip_suffix('.').unwrap_or(name);
        if trimmed.is_empty() {
            return Ok(DomainName::root());
        }
        let mut wire_len = 1;
        for label in trimmed.split('.') {
            check_label(label.as_bytes()).map_err(DomainNameError)?;
            wire_len += 1 + label.len();
        }
        if wire_len > MAX_NAME {
            return Err(DomainNameError("name longer than 255 octets"));
        }
        Ok(DomainName(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// Octets of the wire form: one length octet per label, the label, and
    /// the terminating root label.
    pub fn wire_len(&self) -> usize {
        if self.0.is_empty() {
            1
        } else {
            self.0.len() + 2
        }
    }

    pub(crate) fn emit(&self, w: &mut Writer<'_>) {
        if !self.0.is_empty() {
            for label in self.0.split('.') {
                // Fits: labels were checked to be 1..=63 octets.
                w.put_u8(label.len() as u8);
                w.put_slice(label.as_bytes());
            }
        }
        w.put_u8(0);
    }

    /// Reads one name from `r`, which must contain its terminating root label.
    pub(crate) fn parse(r: &mut Reader<'_>) -> Result<DomainName, DecodeError> {
        let mut name = String::new();
        let mut wire_len = 0usize;
        loop {
            if r.is_empty() {
                return Err(r.error(DecodeErrorKind::BadValue(
                    "domain name without its root label",
                )));
            }
            let at = r.offset();
            let len = usize::from(r.u8()?);
            wire_len += 1 + len;
            if len == 0 {
                break;
            }
            // RFC 8415 §10: no compression; 0b11 (pointer) and 0b01/0b10
            // (RFC 6891 extended label types) prefixes are all lengths above 63.
            if len > MAX_LABEL {
                return Err(DecodeError::new(
                    DecodeErrorKind::BadValue("compression pointer or label longer than 63 octets"),
                    at,
                ));
            }
            // The root label still has to follow: one more octet.
            if wire_len + 1 > MAX_NAME {
                return Err(DecodeError::new(
                    DecodeErrorKind::BadValue("domain name longer than 255 octets"),
                    at,
                ));
            }
            let label = r.take(len)?;
            check_label(label)
                .map_err(|why| DecodeError::new(DecodeErrorKind::BadValue(why), at))?;
            if !name.is_empty() {
                name.push('.');
            }
            // check_label accepted only ASCII, which is valid UTF-8.
            name.extend(label.iter().map(|&b| char::from(b)));
        }
        Ok(DomainName(name))
    }

    /// Reads names until `r` is exhausted (RFC 3646 §4 search list).
    pub(crate) fn parse_list(r: &mut Reader<'_>) -> Result<Vec<DomainName>, DecodeError> {
        let mut names = Vec::new();
        while !r.is_empty() {
            names.push(DomainName::parse(r)?);
        }
        Ok(names)
    }
}

impl Deref for DomainName {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for DomainName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for DomainName {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for DomainName {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl FromStr for DomainName {
    type Err = DomainNameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DomainName::new(s)
    }
}

impl fmt::Display for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str(".")
        } else {
            f.write_str(&self.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(name: &DomainName) -> Vec<u8> {
        let mut buf = vec![0xAA; name.wire_len()];
        let mut w = Writer::new(&mut buf);
        name.emit(&mut w);
        assert_eq!(w.position(), buf.len());
        buf
    }

    #[test]
    fn round_trip_and_canonical_form() {
        let n = DomainName::new("corp.lab.example.").unwrap();
        assert_eq!(n, "corp.lab.example");
        let wire = encode(&n);
        assert_eq!(wire, b"\x04corp\x03lab\x07example\x00");
        let parsed = DomainName::parse(&mut Reader::new(&wire)).unwrap();
        assert_eq!(parsed, n);
        assert_eq!(encode(&DomainName::root()), [0]);
        assert_eq!(DomainName::new(".").unwrap(), DomainName::root());
    }

    #[test]
    fn rejects_bad_names() {
        assert!(DomainName::new("a..b").is_err());
        assert!(DomainName::new("a b").is_err());
        assert!(DomainName::new(&"x".repeat(64)).is_err());
        let long = vec!["abcdefghi"; 30].join(".");
        assert!(DomainName::new(&long).is_err());
        for bad in [
            &b"\x03lab"[..],
            b"\xc0\x0c",
            b"\x03l.b\x00",
            b"\x02a\x00\x00",
            b"\x05ab",
        ] {
            let mut r = Reader::new(bad);
            let res = DomainName::parse_list(&mut r);
            assert!(res.is_err(), "{bad:?} accepted: {res:?}");
        }
    }
}
