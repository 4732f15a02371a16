//! Domain names in the RFC 1035 §3.1 wire form, uncompressed: what DHCPv6
//! carries (RFC 8415 §10: Domain Search List, RFC 3646 §4; NTP server FQDN,
//! RFC 5908 §4.3) and what the ND DNS Search List option carries (RFC 8106
//! §5.2). One reader and one writer serve both.
//!
//! A name is kept as its dotted form without the trailing dot. Only names
//! that map one-to-one onto the wire form are accepted, so a parsed name
//! re-emits to the same octets: every label is 1..=63 octets of printable
//! ASCII other than '.', the encoded name is at most 255 octets (RFC 1035
//! §2.3.4), and it ends with the root label. Compression pointers (RFC 8415
//! §10 and RFC 8106 §5.2 both forbid them) and unterminated names are
//! errors.
//!
//! What is wrong with a name on the wire is a [`NameFault`] with absolute
//! offsets; each protocol turns it into an error of its own kind, with the
//! wording and precedence its codec has always reported.

use std::fmt;
use std::ops::Deref;
use std::str::FromStr;

use thiserror::Error;

use super::error::ErrorKind;
use super::reader::Reader;
use super::writer::Writer;

/// RFC 1035 §2.3.4: labels of 63 octets or less.
pub(crate) const MAX_LABEL: usize = 63;
/// RFC 1035 §2.3.4: names of 255 octets or less, length octets included.
pub(crate) const MAX_NAME: usize = 255;

/// A fully qualified domain name in dotted form, without the trailing dot
/// (the root name is the empty string).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DomainName(String);

/// Why a string is not a [`DomainName`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("invalid domain name: {0}")]
pub struct DomainNameError(&'static str);

/// Whether `label` has an unambiguous dotted form: 1..=63 printable ASCII
/// octets, none of them '.'.
fn check_label(label: &[u8]) -> Result<(), &'static str> {
    if label.is_empty() {
        return Err("empty label");
    }
    if label.len() > MAX_LABEL {
        return Err("label longer than 63 octets");
    }
    if first_bad_octet(label).is_some() {
        return Err("label with a dot or a non-printable octet");
    }
    Ok(())
}

/// The index of the first octet that a dotted name cannot carry inside a
/// label: a '.' or anything but printable ASCII.
fn first_bad_octet(label: &[u8]) -> Option<usize> {
    label
        .iter()
        .position(|&b| !b.is_ascii_graphic() || b == b'.')
}

/// What is wrong with a name on the wire. Offsets are absolute (from the
/// start of the outermost buffer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NameFault {
    /// The input ends where a length octet was expected (no root label):
    /// the name began at `name_start`, the octet was wanted at `at`.
    Unterminated { name_start: usize, at: usize },
    /// The length octet at `at` is above 63: a compression pointer (0b11)
    /// or an extended label type (0b01, 0b10; RFC 6891 §5).
    LabelLength { at: usize },
    /// The label whose length octet is at `at` breaks one or more rules;
    /// all that hold are reported, so each protocol can keep its own
    /// precedence.
    Label {
        name_start: usize,
        at: usize,
        /// The label's length octet.
        len: usize,
        /// With this label the name (plus its root label) exceeds 255 octets.
        too_long: bool,
        /// The label runs past the input, which has `have` octets after
        /// its length octet.
        runs_past: Option<usize>,
        /// Absolute offset of the first octet that a dotted name cannot
        /// carry (a '.' or non-printable), in a label that is all there.
        bad_octet: Option<usize>,
    },
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

    /// The dotted form, without the trailing dot.
    pub fn into_string(self) -> String {
        self.0
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// Octets of the wire form: one length octet per label, the label, and
    /// the terminating root label.
    pub fn wire_len(&self) -> usize {
        dotted_wire_len(&self.0)
    }

    pub(crate) fn emit(&self, w: &mut Writer<'_>) {
        put_dotted(w, &self.0);
    }

    /// Reads one name, root label included, from the cursor of `r`.
    pub(crate) fn read<K: ErrorKind>(r: &mut Reader<'_, K>) -> Result<DomainName, NameFault> {
        let name_start = r.offset();
        let mut name = String::new();
        loop {
            let at = r.offset();
            let Ok(len) = r.u8() else {
                return Err(NameFault::Unterminated { name_start, at });
            };
            let len = usize::from(len);
            if len == 0 {
                return Ok(DomainName(name));
            }
            if len > MAX_LABEL {
                return Err(NameFault::LabelLength { at });
            }
            // The octets up to and including this label, then one more for
            // the root label that still has to follow.
            let too_long = (at - name_start) + 1 + len + 1 > MAX_NAME;
            let (runs_past, bad_octet, label) = match r.take(len) {
                Err(_) => (Some(r.remaining()), None, None),
                Ok(label) => {
                    let bad = first_bad_octet(label).map(|i| at + 1 + i);
                    (None, bad, Some(label))
                }
            };
            let Some(label) = label.filter(|_| !too_long && bad_octet.is_none()) else {
                return Err(NameFault::Label {
                    name_start,
                    at,
                    len,
                    too_long,
                    runs_past,
                    bad_octet,
                });
            };
            if !name.is_empty() {
                name.push('.');
            }
            // first_bad_octet found none: printable ASCII, valid UTF-8.
            name.extend(label.iter().map(|&b| char::from(b)));
        }
    }
}

/// The labels of a dotted name as they are written: empty labels dropped,
/// each cut at 63 octets. For a [`DomainName`] that changes nothing; for
/// a hand-built string (an ND DNSSL domain) the codec's `validate` reports
/// the difference, and emit stays well-formed.
pub(crate) fn dotted_labels(name: &str) -> impl Iterator<Item = &[u8]> {
    name.split('.')
        .filter(|l| !l.is_empty())
        .map(|l| &l.as_bytes()[..l.len().min(MAX_LABEL)])
}

/// Octets [`put_dotted`] writes for `name`.
pub(crate) fn dotted_wire_len(name: &str) -> usize {
    dotted_labels(name).map(|l| 1 + l.len()).sum::<usize>() + 1
}

/// Writes `name` in wire form: each label after its length octet, then
/// the root label.
pub(crate) fn put_dotted(w: &mut Writer<'_>, name: &str) {
    for label in dotted_labels(name) {
        // dotted_labels caps a label at 63 octets.
        w.put_u8(label.len() as u8);
        w.put_slice(label);
    }
    w.put_u8(0);
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

impl From<DomainName> for String {
    fn from(name: DomainName) -> String {
        name.0
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
    use super::super::error::test_kind::TestKind;
    use super::*;

    type R<'a> = Reader<'a, TestKind>;

    fn encode(name: &DomainName) -> Vec<u8> {
        let mut buf = vec![0xAA; name.wire_len()];
        let mut w = Writer::new(&mut buf);
        name.emit(&mut w);
        assert_eq!(w.position(), buf.len());
        buf
    }

    fn read(bytes: &[u8], base: usize) -> Result<DomainName, NameFault> {
        DomainName::read(&mut R::at_offset(bytes, base))
    }

    #[test]
    fn round_trip_and_canonical_form() {
        let n = DomainName::new("corp.lab.example.").unwrap();
        assert_eq!(n, "corp.lab.example");
        let wire = encode(&n);
        assert_eq!(wire, b"\x04corp\x03lab\x07example\x00");
        assert_eq!(read(&wire, 0), Ok(n.clone()));
        assert_eq!(encode(&DomainName::root()), [0]);
        assert_eq!(DomainName::new(".").unwrap(), DomainName::root());
        assert_eq!(DomainName::root().to_string(), ".");
        assert_eq!(String::from(n), "corp.lab.example");
    }

    #[test]
    fn rejects_bad_strings() {
        assert!(DomainName::new("a..b").is_err());
        assert!(DomainName::new("a b").is_err());
        assert!(DomainName::new(&"x".repeat(64)).is_err());
        let long = vec!["abcdefghi"; 30].join(".");
        assert!(DomainName::new(&long).is_err());
        assert!(DomainName::new(&vec!["abcdefghi"; 25].join(".")).is_ok());
    }

    #[test]
    fn faults_carry_absolute_offsets() {
        assert_eq!(
            read(b"\x03lab", 10),
            Err(NameFault::Unterminated {
                name_start: 10,
                at: 14
            })
        );
        assert_eq!(
            read(b"\x01a\xc0\x0c", 0),
            Err(NameFault::LabelLength { at: 2 })
        );
        let Err(NameFault::Label {
            at,
            len,
            runs_past,
            too_long,
            ..
        }) = read(b"\x01a\x05ab", 4)
        else {
            panic!("a short label is a label fault")
        };
        assert_eq!((at, len, runs_past, too_long), (6, 5, Some(2), false));
        let Err(NameFault::Label { bad_octet, .. }) = read(b"\x03l.b\x00", 20) else {
            panic!("a dot inside a label is a label fault")
        };
        assert_eq!(bad_octet, Some(22));
    }

    #[test]
    fn the_255_octet_limit_counts_the_root_label() {
        // 4 labels of 63 (256 octets with their length octets) is too long,
        // 3 of 63 and one of 61 (254, then the root label: 255) is not.
        let label = |n| [&[n as u8][..], &vec![b'x'; n]].concat();
        let mut ok = [label(63), label(63), label(63), label(61)].concat();
        ok.push(0);
        assert_eq!(read(&ok, 0).unwrap().wire_len(), 255);
        let mut long = [label(63), label(63), label(63), label(62)].concat();
        long.push(0);
        let Err(NameFault::Label { too_long, at, .. }) = read(&long, 0) else {
            panic!("a 256-octet name is a label fault")
        };
        assert!(too_long);
        assert_eq!(at, 192);
    }

    #[test]
    fn lenient_writer_for_hand_built_strings() {
        assert_eq!(dotted_wire_len(""), 1);
        assert_eq!(dotted_wire_len("a..b."), 5);
        let mut buf = [0xaau8; 5];
        put_dotted(&mut Writer::new(&mut buf), "a..b.");
        assert_eq!(buf, *b"\x01a\x01b\x00");
        assert_eq!(dotted_wire_len(&"y".repeat(70)), 65);
    }
}
