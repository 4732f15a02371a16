//! The Destination Options header (RFC 8200 §4.6) as Mobile IPv6 uses it:
//! to carry the Home Address option (RFC 6275 §6.3).
//!
//! ```text
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Next Header  |  Hdr Ext Len  |  Options ...
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!
//! Home Address option (alignment 8n+6):
//!                                 +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!                                 |  Option Type  | Option Length |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                       Home Address (16)                       |
//! ```

use std::net::Ipv6Addr;

use super::error::{Ip6Error, Ip6ErrorKind};
use super::{Reader, UNIT};
use crate::codec::Writer;
use crate::codec::writer::{align_padding, round_up};

/// One destination option, in wire order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DestOption {
    /// Type 0: one octet.
    Pad1,
    /// Type 1: the data octets (zero when sent), kept as received.
    PadN(Vec<u8>),
    /// Type 201 (RFC 6275 §6.3).
    HomeAddress(Ipv6Addr),
    /// Any other type: its data, byte-exact. The two high bits of `kind`
    /// say what a node that does not know it must do (RFC 8200 §4.2).
    Unknown { kind: u8, data: Vec<u8> },
}

impl DestOption {
    pub const PAD1: u8 = 0;
    pub const PADN: u8 = 1;
    /// RFC 6275 §6.3: 0xC9, "skip" bits 11 so that a node without Mobile
    /// IPv6 answers with a Parameter Problem.
    pub const HOME_ADDRESS: u8 = 201;

    pub fn kind(&self) -> u8 {
        match self {
            DestOption::Pad1 => Self::PAD1,
            DestOption::PadN(_) => Self::PADN,
            DestOption::HomeAddress(_) => Self::HOME_ADDRESS,
            DestOption::Unknown { kind, .. } => *kind,
        }
    }

    fn data_len(&self) -> usize {
        match self {
            DestOption::Pad1 => 0,
            DestOption::PadN(d) => d.len(),
            DestOption::HomeAddress(_) => 16,
            DestOption::Unknown { data, .. } => data.len(),
        }
    }

    pub fn buffer_len(&self) -> usize {
        match self {
            DestOption::Pad1 => 1,
            other => 2 + other.data_len(),
        }
    }

    fn emit(&self, w: &mut Writer<'_>) {
        w.put_u8(self.kind());
        if let DestOption::Pad1 = self {
            return;
        }
        w.put_u8(self.data_len().min(255) as u8);
        match self {
            DestOption::Pad1 => {}
            DestOption::PadN(d) => w.put_slice(d),
            DestOption::HomeAddress(a) => w.put_ipv6(*a),
            DestOption::Unknown { data, .. } => w.put_slice(data),
        }
    }
}

/// A Destination Options header.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DestinationOptions {
    pub next_header: u8,
    /// In wire order, padding included.
    pub options: Vec<DestOption>,
}

impl DestinationOptions {
    /// The header a mobile node sends with a Binding Update or a Mobile
    /// Prefix Solicitation: PadN (4 octets) so the option starts at 8n+6,
    /// then the Home Address option; 24 octets.
    pub fn home_address(next_header: u8, home_address: Ipv6Addr) -> Self {
        let pad = align_padding(2, UNIT, 6);
        DestinationOptions {
            next_header,
            options: vec![
                DestOption::PadN(vec![0; pad - 2]),
                DestOption::HomeAddress(home_address),
            ],
        }
    }

    /// The first Home Address option's address.
    pub fn home_address_option(&self) -> Option<Ipv6Addr> {
        self.options.iter().find_map(|o| match o {
            DestOption::HomeAddress(a) => Some(*a),
            _ => None,
        })
    }

    /// Reads the header at the start of `bytes`, ignoring what follows.
    /// Errors: `Truncated` (the header or an option runs past its end);
    /// `BadLength` for a Home Address option whose length is not 16.
    pub fn parse(bytes: &[u8]) -> Result<Self, Ip6Error> {
        let r = Reader::new(bytes);
        let [next_header, units] = r.get_array(0)?;
        let (whole, _) = r.split((usize::from(units) + 1) * UNIT)?;
        let mut rest = whole.view_from(2);
        let mut options = Vec::new();
        while !rest.is_empty() {
            let start = rest.offset();
            let (kind, mut data) = rest.tlv8_option()?;
            options.push(match kind {
                DestOption::PAD1 => DestOption::Pad1,
                DestOption::PADN => DestOption::PadN(data.rest().to_vec()),
                DestOption::HOME_ADDRESS => {
                    if data.len() != 16 {
                        // tlv8_option read it from one octet.
                        let len = data.len().min(255) as u8;
                        return Err(Ip6Error::in_option(
                            Ip6ErrorKind::BadLength { len },
                            start + 1,
                            kind,
                        ));
                    }
                    DestOption::HomeAddress(data.ipv6()?)
                }
                _ => DestOption::Unknown {
                    kind,
                    data: data.rest().to_vec(),
                },
            });
        }
        Ok(DestinationOptions {
            next_header,
            options,
        })
    }

    /// Octets emit writes: the options rounded up to whole 8-octet units
    /// (the missing padding written as Pad1/PadN).
    pub fn buffer_len(&self) -> usize {
        round_up(
            2 + self
                .options
                .iter()
                .map(DestOption::buffer_len)
                .sum::<usize>(),
            UNIT,
        )
    }

    /// Writes the header into the start of `buf`; returns `buffer_len()`.
    ///
    /// # Panics
    /// If `buf` is shorter than `buffer_len()`.
    pub fn emit(&self, buf: &mut [u8]) -> usize {
        let len = self.buffer_len();
        assert!(
            buf.len() >= len,
            "DestinationOptions::emit: buffer of {} octets, need {len}",
            buf.len()
        );
        let mut w = Writer::new(&mut buf[..len]);
        w.put_u8(self.next_header);
        w.put_u8((len / UNIT - 1).min(255) as u8);
        for o in &self.options {
            o.emit(&mut w);
        }
        let tail = len - w.position();
        w.put_pad_options(tail);
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
    fn home_address_header_is_aligned_and_round_trips() {
        let hoa: Ipv6Addr = "2001:db8:1::200".parse().unwrap();
        let h = DestinationOptions::home_address(135, hoa);
        let bytes = h.to_bytes();
        assert_eq!(bytes.len(), 24);
        assert_eq!(bytes[..8], [135, 2, 1, 2, 0, 0, 201, 16]);
        assert_eq!(&bytes[8..], &hoa.octets());
        assert_eq!(DestinationOptions::parse(&bytes), Ok(h.clone()));
        assert_eq!(h.home_address_option(), Some(hoa));
        for len in 0..24 {
            let e = DestinationOptions::parse(&bytes[..len]).unwrap_err();
            assert!(matches!(e.kind, Ip6ErrorKind::Truncated { .. }), "{len}");
        }
        let mut bad = bytes.clone();
        bad[7] = 8;
        bad[16] = 1;
        bad[17] = 6;
        let e = DestinationOptions::parse(&bad).unwrap_err();
        assert_eq!(
            (e.kind, e.offset, e.option),
            (Ip6ErrorKind::BadLength { len: 8 }, 7, Some(201))
        );
    }
}
