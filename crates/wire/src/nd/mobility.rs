//! The Mobile IPv6 ICMPv6 messages (RFC 6275 §6.5-§6.8), from the ICMPv6
//! type octet on: Home Agent Address Discovery Request and Reply, Mobile
//! Prefix Solicitation and Advertisement. The R flag of the discovery
//! messages is NEMO's (RFC 3963 §7.2-§7.3).
//!
//! ```text
//! 144 / 146:  | Type | Code | Checksum |  | Identifier |R| Reserved |
//! 145:        | Type | Code | Checksum |  | Identifier |R| Reserved |
//!             | Home Agent Addresses (16 octets each) ...
//! 147:        | Type | Code | Checksum |  | Identifier |M|O| Reserved |
//!             | Options (Prefix Information, RFC 4861 §4.6.2) ...
//! ```
//! (Solicitation 146 has no R flag: its 16 bits after the Identifier are
//! all reserved.)
//!
//! Same conventions as the ND messages: the checksum is not part of the
//! value (`emit` writes 0, `emit_with_checksum` fills it in, `parse` does
//! not check it: use [`super::verify_checksum`]); a non-zero code is
//! [`NdErrorKind::BadCode`]; other ICMPv6 types are
//! [`NdErrorKind::NotNeighborDiscovery`] ("not one of ours"); reserved
//! bits are kept so accepted input re-emits byte-identical. The Mobile
//! Prefix Advertisement's options go through the ND option codec, so its
//! Prefix Information options are [`NdOption::PrefixInfo`] values and any
//! other option is kept.
//!
//! # Panic contract
//! [`MobilityIcmp::parse`] accepts any byte slice and never panics; `emit`
//! writes exactly `buffer_len()` octets and panics only if the buffer is
//! shorter.

use std::net::Ipv6Addr;

use super::Reader;
use super::error::{NdError, NdErrorKind, bad_value};
use super::icmpv6::{self, field as env};
use super::option::{NdOption, NdOptions, PrefixInfo};
use crate::codec::Writer;
use crate::codec::constants;
use crate::codec::flags::{pack_flags, unpack_flags};

/// Offsets counted from the ICMPv6 type octet.
mod field {
    use std::ops::Range;
    pub const IDENTIFIER: Range<usize> = 4..6;
    pub const FLAGS: Range<usize> = 6..8;
    /// Where the addresses (145) or options (147) start.
    pub const BODY: usize = 8;
}

/// Home Agent Address Discovery Request (RFC 6275 §6.5; R: RFC 3963 §7.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct HaadRequest {
    pub identifier: u16,
    /// R: the sender is a mobile router and wants home agents that
    /// support mobile routers.
    pub mobile_router: bool,
    /// The 15 bits after R, kept as received.
    pub reserved: u16,
}

/// Home Agent Address Discovery Reply (RFC 6275 §6.6; R: RFC 3963 §7.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct HaadReply {
    /// Copied from the request.
    pub identifier: u16,
    /// R: the listed home agents support mobile routers.
    pub mobile_router: bool,
    pub reserved: u16,
    /// Most preferred first (RFC 6275 §10.5.1).
    pub home_agents: Vec<Ipv6Addr>,
}

/// Mobile Prefix Solicitation (RFC 6275 §6.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct MobilePrefixSolicit {
    pub identifier: u16,
    pub reserved: u16,
}

/// Mobile Prefix Advertisement (RFC 6275 §6.8).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MobilePrefixAdvert {
    /// Copied from the solicitation, any value when unsolicited.
    pub identifier: u16,
    /// M: managed address configuration (as the home link's RA).
    pub managed: bool,
    /// O: other stateful configuration.
    pub other: bool,
    /// The 14 bits after M and O, kept as received.
    pub reserved: u16,
    /// Prefix Information options, plus any other ND option received.
    pub options: NdOptions,
}

impl MobilePrefixAdvert {
    const FLAGS: [u16; 2] = [0x8000, 0x4000];
    const RESERVED: u16 = 0x3fff;

    /// An advertisement of `prefixes`, M and O clear.
    pub fn new(identifier: u16, prefixes: impl IntoIterator<Item = PrefixInfo>) -> Self {
        MobilePrefixAdvert {
            identifier,
            options: prefixes.into_iter().map(NdOption::PrefixInfo).collect(),
            ..MobilePrefixAdvert::default()
        }
    }

    pub fn prefixes(&self) -> impl Iterator<Item = &PrefixInfo> {
        self.options.prefixes()
    }
}

/// The R flag of 144 and 145 (RFC 3963 §7.2-§7.3): the top bit after the
/// Identifier.
const R_FLAG: [u16; 1] = [0x8000];
const R_RESERVED: u16 = 0x7fff;

/// One of the four Mobile IPv6 ICMPv6 messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MobilityIcmp {
    HaadRequest(HaadRequest),
    HaadReply(HaadReply),
    MobilePrefixSolicit(MobilePrefixSolicit),
    MobilePrefixAdvert(MobilePrefixAdvert),
}

impl MobilityIcmp {
    /// Decodes a message starting at the ICMPv6 type octet. Errors:
    /// `NotNeighborDiscovery` for types other than 144..=147, `BadCode`
    /// for a non-zero code, `Truncated` for a short fixed part, `BadValue`
    /// for a reply whose address list is not whole addresses, and the ND
    /// option errors for an advertisement's options.
    pub fn parse(bytes: &[u8]) -> Result<MobilityIcmp, NdError> {
        let message = Reader::new(bytes);
        let Some(&icmp_type) = bytes.first() else {
            return Err(message.truncated_at(0, field::BODY));
        };
        if !(constants::ICMPV6_HAAD_REQUEST..=constants::ICMPV6_MOBILE_PREFIX_ADVERT)
            .contains(&icmp_type)
        {
            return Err(
                message.error_at(NdErrorKind::NotNeighborDiscovery { icmp_type }, env::TYPE)
            );
        }
        // RFC 6275 §6.5-§6.8: Code 0.
        if let Ok(code) = message.get_u8(env::CODE)
            && code != 0
        {
            return Err(message.error_at(NdErrorKind::BadCode { code }, env::CODE));
        }
        let (head, body) = message.split(field::BODY)?;
        let identifier = head.get_u16(field::IDENTIFIER)?;
        let word = head.get_u16(field::FLAGS)?;
        let trailing = |what| {
            if body.is_empty() {
                Ok(())
            } else {
                Err(bad_value(&body, what, 0))
            }
        };
        Ok(match icmp_type {
            constants::ICMPV6_HAAD_REQUEST => {
                // RFC 6275 §6.5 defines nothing after the fixed part.
                trailing("octets after a Home Agent Address Discovery Request")?;
                let [mobile_router] = unpack_flags(word, R_FLAG);
                MobilityIcmp::HaadRequest(HaadRequest {
                    identifier,
                    mobile_router,
                    reserved: word & R_RESERVED,
                })
            }
            constants::ICMPV6_HAAD_REPLY => {
                let (addrs, partial) = body.bytes().as_chunks::<16>();
                if !partial.is_empty() {
                    return Err(bad_value(
                        &body,
                        "home agent address list length",
                        body.len() - partial.len(),
                    ));
                }
                let [mobile_router] = unpack_flags(word, R_FLAG);
                MobilityIcmp::HaadReply(HaadReply {
                    identifier,
                    mobile_router,
                    reserved: word & R_RESERVED,
                    home_agents: addrs.iter().map(|a| Ipv6Addr::from(*a)).collect(),
                })
            }
            constants::ICMPV6_MOBILE_PREFIX_SOLICIT => {
                // RFC 6275 §6.7 defines no options.
                trailing("octets after a Mobile Prefix Solicitation")?;
                MobilityIcmp::MobilePrefixSolicit(MobilePrefixSolicit {
                    identifier,
                    reserved: word,
                })
            }
            _ => {
                let [managed, other] = unpack_flags(word, MobilePrefixAdvert::FLAGS);
                MobilityIcmp::MobilePrefixAdvert(MobilePrefixAdvert {
                    identifier,
                    managed,
                    other,
                    reserved: word & MobilePrefixAdvert::RESERVED,
                    options: NdOptions::parse(body)?,
                })
            }
        })
    }

    /// The ICMPv6 type octet (144..=147).
    pub fn icmp_type(&self) -> u8 {
        match self {
            MobilityIcmp::HaadRequest(_) => constants::ICMPV6_HAAD_REQUEST,
            MobilityIcmp::HaadReply(_) => constants::ICMPV6_HAAD_REPLY,
            MobilityIcmp::MobilePrefixSolicit(_) => constants::ICMPV6_MOBILE_PREFIX_SOLICIT,
            MobilityIcmp::MobilePrefixAdvert(_) => constants::ICMPV6_MOBILE_PREFIX_ADVERT,
        }
    }

    /// The Identifier, which a reply copies from its request.
    pub fn identifier(&self) -> u16 {
        match self {
            MobilityIcmp::HaadRequest(m) => m.identifier,
            MobilityIcmp::HaadReply(m) => m.identifier,
            MobilityIcmp::MobilePrefixSolicit(m) => m.identifier,
            MobilityIcmp::MobilePrefixAdvert(m) => m.identifier,
        }
    }

    /// Octets [`MobilityIcmp::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        field::BODY
            + match self {
                MobilityIcmp::HaadReply(m) => 16 * m.home_agents.len(),
                MobilityIcmp::MobilePrefixAdvert(m) => m.options.buffer_len(),
                _ => 0,
            }
    }

    /// Writes the message, checksum 0, into the start of `buf`; returns
    /// `buffer_len()`.
    ///
    /// # Panics
    /// If `buf` is shorter than `buffer_len()`.
    pub fn emit(&self, buf: &mut [u8]) -> usize {
        let len = self.buffer_len();
        assert!(
            buf.len() >= len,
            "MobilityIcmp::emit: buffer of {} octets, need {len}",
            buf.len()
        );
        let mut w = Writer::new(&mut buf[..len]);
        w.put_u8(self.icmp_type());
        w.put_u8(0); // code
        w.put_u16(0); // checksum
        w.put_u16(self.identifier());
        match self {
            MobilityIcmp::HaadRequest(m) => {
                w.put_u16(pack_flags(
                    m.reserved & R_RESERVED,
                    R_FLAG,
                    [m.mobile_router],
                ));
            }
            MobilityIcmp::HaadReply(m) => {
                w.put_u16(pack_flags(
                    m.reserved & R_RESERVED,
                    R_FLAG,
                    [m.mobile_router],
                ));
                for a in &m.home_agents {
                    w.put_ipv6(*a);
                }
            }
            MobilityIcmp::MobilePrefixSolicit(m) => w.put_u16(m.reserved),
            MobilityIcmp::MobilePrefixAdvert(m) => {
                w.put_u16(pack_flags(
                    m.reserved & MobilePrefixAdvert::RESERVED,
                    MobilePrefixAdvert::FLAGS,
                    [m.managed, m.other],
                ));
                m.options.emit(&mut w);
            }
        }
        debug_assert_eq!(w.position(), len);
        len
    }

    /// [`MobilityIcmp::emit`], then the RFC 4443 §2.3 checksum for
    /// the pseudo-header addresses `src` → `dst`: for an MPS sent with a
    /// Home Address option the source is the home address (RFC 6275
    /// §6.3), for an MPA sent with a Type 2 Routing Header the
    /// destination is the home address (RFC 8200 §8.1: the final
    /// destination).
    ///
    /// # Panics
    /// If `buf` is shorter than `buffer_len()`.
    pub fn emit_with_checksum(&self, src: Ipv6Addr, dst: Ipv6Addr, buf: &mut [u8]) -> usize {
        let len = self.emit(buf);
        icmpv6::fill_checksum(src, dst, &mut buf[..len]);
        len
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = vec![0; self.buffer_len()];
        self.emit(&mut v);
        v
    }

    pub fn to_bytes_with_checksum(&self, src: Ipv6Addr, dst: Ipv6Addr) -> Vec<u8> {
        let mut v = vec![0; self.buffer_len()];
        self.emit_with_checksum(src, dst, &mut v);
        v
    }
}

/// `From<Message> for MobilityIcmp` for each message type.
macro_rules! from_message {
    ($($message:ident),*) => {$(
        impl From<$message> for MobilityIcmp {
            fn from(m: $message) -> Self {
                MobilityIcmp::$message(m)
            }
        }
    )*};
}

from_message!(
    HaadRequest,
    HaadReply,
    MobilePrefixSolicit,
    MobilePrefixAdvert
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Lifetime;

    #[test]
    fn each_message_round_trips_and_keeps_its_bits() {
        let pio = PrefixInfo::new(
            "2001:db8:1::".parse().unwrap(),
            64,
            Lifetime::Finite(86400),
            Lifetime::Finite(14400),
        );
        let messages: [MobilityIcmp; 4] = [
            HaadRequest {
                identifier: 0x1234,
                mobile_router: true,
                reserved: 5,
            }
            .into(),
            HaadReply {
                identifier: 0x1234,
                mobile_router: false,
                reserved: 0,
                home_agents: vec![
                    "2001:db8:1::1".parse().unwrap(),
                    "2001:db8:1::2".parse().unwrap(),
                ],
            }
            .into(),
            MobilePrefixSolicit {
                identifier: 7,
                reserved: 0xffff,
            }
            .into(),
            MobilePrefixAdvert {
                managed: true,
                ..MobilePrefixAdvert::new(7, [pio])
            }
            .into(),
        ];
        for m in messages {
            let mut buf = vec![0xaa; m.buffer_len() + 3];
            let len = m.emit(&mut buf);
            assert_eq!(buf[len..], [0xaa; 3]);
            assert_eq!(MobilityIcmp::parse(&buf[..len]), Ok(m.clone()));
            for cut in 0..field::BODY {
                let e = MobilityIcmp::parse(&buf[..cut]).unwrap_err();
                assert!(matches!(e.kind, NdErrorKind::Truncated { .. }), "{cut}");
            }
        }
    }

    #[test]
    fn rejects_what_is_not_ours_or_malformed() {
        let kind = |b: &[u8]| MobilityIcmp::parse(b).unwrap_err().kind;
        assert_eq!(
            kind(&[134, 0, 0, 0, 0, 0, 0, 0]),
            NdErrorKind::NotNeighborDiscovery { icmp_type: 134 }
        );
        assert_eq!(
            kind(&[144, 1, 0, 0, 0, 0, 0, 0]),
            NdErrorKind::BadCode { code: 1 }
        );
        let mut reply = vec![145, 0, 0, 0, 0, 1, 0, 0];
        reply.extend_from_slice(&[0x20; 17]);
        let e = MobilityIcmp::parse(&reply).unwrap_err();
        assert_eq!(e.offset, 24);
        assert!(matches!(e.kind, NdErrorKind::BadValue { .. }));
        assert!(matches!(
            kind(&[146, 0, 0, 0, 0, 1, 0, 0, 0]),
            NdErrorKind::BadValue { .. }
        ));
    }
}
