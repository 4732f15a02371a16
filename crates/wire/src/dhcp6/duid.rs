//! DHCP Unique Identifiers (RFC 8415 §11).
//!
//! RFC 8415 §11 makes DUIDs opaque: they are compared for equality only.
//! [`Duid`] therefore stores the octets as received and re-emits them
//! unchanged; [`Duid::kind`] is a read-only view that decodes the four
//! registered types (LLT, EN, LL, UUID) when they are well-formed and
//! reports anything else as [`DuidKind::Other`], never as an error. The
//! only checks are the size limits of §11.1.

use std::fmt;

use super::error::{DecodeError, DecodeErrorKind};

/// RFC 8415 §11.1: the 2-octet type code is mandatory...
const MIN_LEN: usize = 2;
/// ...and a DUID is at most 130 octets including it.
const MAX_LEN: usize = 130;

const TYPE_LLT: u16 = 1;
const TYPE_EN: u16 = 2;
const TYPE_LL: u16 = 3;
const TYPE_UUID: u16 = 4;

/// A DUID, kept as the octets on the wire.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Duid(Vec<u8>);

/// A decoded view of a [`Duid`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DuidKind<'a> {
    /// Type 1, RFC 8415 §11.2: hardware type, time (seconds since
    /// 2000-01-01 UTC, modulo 2^32), link-layer address.
    Llt {
        hw_type: u16,
        time: u32,
        link_layer: &'a [u8],
    },
    /// Type 2, §11.3: enterprise number and identifier.
    En {
        enterprise: u32,
        identifier: &'a [u8],
    },
    /// Type 3, §11.4: hardware type and link-layer address.
    Ll { hw_type: u16, link_layer: &'a [u8] },
    /// Type 4, RFC 6355: a UUID.
    Uuid([u8; 16]),
    /// Any other type, or one of the above too short for its fields.
    Other { duid_type: u16, data: &'a [u8] },
}

impl Duid {
    /// Checks the length limits of RFC 8415 §11.1 and keeps the octets.
    pub fn from_bytes(bytes: &[u8]) -> Result<Duid, DecodeError> {
        if !(MIN_LEN..=MAX_LEN).contains(&bytes.len()) {
            return Err(DecodeError::new(
                DecodeErrorKind::BadLength { len: bytes.len() },
                0,
            ));
        }
        Ok(Duid(bytes.to_vec()))
    }

    /// DUID-LL (RFC 8415 §11.4). `hw_type` is an IANA hardware type (1 for
    /// Ethernet). Link-layer addresses above 126 octets make a DUID longer
    /// than §11.1 allows, which peers (and [`Duid::from_bytes`]) reject.
    pub fn new_ll(hw_type: u16, link_layer: &[u8]) -> Duid {
        let mut v = Vec::with_capacity(4 + link_layer.len());
        v.extend_from_slice(&TYPE_LL.to_be_bytes());
        v.extend_from_slice(&hw_type.to_be_bytes());
        v.extend_from_slice(link_layer);
        Duid(v)
    }

    /// DUID-LLT (RFC 8415 §11.2); `time` counts seconds since
    /// 2000-01-01 00:00 UTC modulo 2^32.
    pub fn new_llt(hw_type: u16, time: u32, link_layer: &[u8]) -> Duid {
        let mut v = Vec::with_capacity(8 + link_layer.len());
        v.extend_from_slice(&TYPE_LLT.to_be_bytes());
        v.extend_from_slice(&hw_type.to_be_bytes());
        v.extend_from_slice(&time.to_be_bytes());
        v.extend_from_slice(link_layer);
        Duid(v)
    }

    /// DUID-EN (RFC 8415 §11.3).
    pub fn new_en(enterprise: u32, identifier: &[u8]) -> Duid {
        let mut v = Vec::with_capacity(6 + identifier.len());
        v.extend_from_slice(&TYPE_EN.to_be_bytes());
        v.extend_from_slice(&enterprise.to_be_bytes());
        v.extend_from_slice(identifier);
        Duid(v)
    }

    /// DUID-UUID (RFC 6355).
    pub fn new_uuid(uuid: [u8; 16]) -> Duid {
        let mut v = Vec::with_capacity(18);
        v.extend_from_slice(&TYPE_UUID.to_be_bytes());
        v.extend_from_slice(&uuid);
        Duid(v)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false for a DUID from the wire (at least 2 octets).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The type code, if the DUID is long enough to have one.
    pub fn duid_type(&self) -> Option<u16> {
        let b = self.0.get(..2)?;
        Some(u16::from_be_bytes([b[0], b[1]]))
    }

    /// Decodes the registered types; see [`DuidKind`].
    pub fn kind(&self) -> DuidKind<'_> {
        let (duid_type, data) = match self.0.split_at_checked(2) {
            Some((t, d)) => (u16::from_be_bytes([t[0], t[1]]), d),
            None => {
                return DuidKind::Other {
                    duid_type: 0,
                    data: &self.0,
                };
            }
        };
        let be16 = |b: &[u8]| u16::from_be_bytes([b[0], b[1]]);
        let be32 = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        match duid_type {
            TYPE_LLT if data.len() >= 6 => DuidKind::Llt {
                hw_type: be16(&data[..2]),
                time: be32(&data[2..6]),
                link_layer: &data[6..],
            },
            TYPE_EN if data.len() >= 4 => DuidKind::En {
                enterprise: be32(&data[..4]),
                identifier: &data[4..],
            },
            TYPE_LL if data.len() >= 2 => DuidKind::Ll {
                hw_type: be16(&data[..2]),
                link_layer: &data[2..],
            },
            TYPE_UUID => match <[u8; 16]>::try_from(data) {
                Ok(uuid) => DuidKind::Uuid(uuid),
                Err(_) => DuidKind::Other { duid_type, data },
            },
            _ => DuidKind::Other { duid_type, data },
        }
    }

    /// The link-layer address inside a DUID-LL or DUID-LLT.
    pub fn link_layer_address(&self) -> Option<&[u8]> {
        match self.kind() {
            DuidKind::Llt { link_layer, .. } | DuidKind::Ll { link_layer, .. } => Some(link_layer),
            _ => None,
        }
    }
}

impl AsRef<[u8]> for Duid {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// Colon-separated lower-case hex of every octet, e.g. `00:03:00:01:02:00:5e:10:00:01`.
impl fmt::Display for Duid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Duid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Duid({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: [u8; 6] = [0x02, 0x00, 0x5e, 0x10, 0x00, 0x01];

    #[test]
    fn constructors_and_views() {
        let ll = Duid::new_ll(1, &MAC);
        assert_eq!(ll.to_string(), "00:03:00:01:02:00:5e:10:00:01");
        assert_eq!(
            ll.kind(),
            DuidKind::Ll {
                hw_type: 1,
                link_layer: &MAC
            }
        );
        let llt = Duid::new_llt(1, 0x2a2b_2c2d, &MAC);
        assert_eq!(
            llt.kind(),
            DuidKind::Llt {
                hw_type: 1,
                time: 0x2a2b_2c2d,
                link_layer: &MAC
            }
        );
        assert_eq!(llt.link_layer_address(), Some(&MAC[..]));
        let en = Duid::new_en(9, b"abc");
        assert_eq!(
            en.kind(),
            DuidKind::En {
                enterprise: 9,
                identifier: b"abc"
            }
        );
        let uuid = Duid::new_uuid([7; 16]);
        assert_eq!(uuid.kind(), DuidKind::Uuid([7; 16]));
        assert_eq!(uuid.len(), 18);
        assert_eq!(Duid::from_bytes(ll.as_bytes()).unwrap(), ll);
    }

    #[test]
    fn malformed_registered_types_are_other_not_errors() {
        let short_llt = Duid::from_bytes(&[0, 1, 0, 1, 0]).unwrap();
        assert_eq!(
            short_llt.kind(),
            DuidKind::Other {
                duid_type: 1,
                data: &[0, 1, 0]
            }
        );
        let uuid_17 = Duid::from_bytes(&[0, 4, 1]).unwrap();
        assert!(matches!(
            uuid_17.kind(),
            DuidKind::Other { duid_type: 4, .. }
        ));
        assert!(Duid::from_bytes(&[0]).is_err());
        assert!(Duid::from_bytes(&[0; 131]).is_err());
        assert!(Duid::from_bytes(&[0; 130]).is_ok());
    }
}
