//! Mobility options (RFC 6275 §6.2 and the RFCs that add types), carried
//! after the fixed part of a Mobility Header message.
//!
//! ```text
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+- - - - - - - - -
//! |  Option Type  | Option Length |   Option Data...
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+- - - - - - - - -
//! ```
//! Option Length counts the data octets only; Pad1 (type 0) is the type
//! octet alone (§6.2.1).
//!
//! Every option is kept in wire order, padding included, with every octet
//! it had: the authenticators of RFC 6275 §5.2.6 and RFC 4285 §5 cover the
//! exact bytes, so a parsed message must re-emit to them. Options may sit at
//! any alignment on parse (§6.2: a receiver does not check it); a sender
//! lays them out with [`MhOptions::push_aligned`], which inserts the Pad1 or
//! PadN each option's xn+y rule needs.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::Reader;
use super::error::{MhError, MhErrorKind};
use super::message::FourSeconds;
use crate::codec::Writer;
use crate::codec::macros::enum_with_unknown;
use crate::codec::writer::align_padding;

enum_with_unknown! {
    /// MN Identifier subtype (RFC 4283 §3, IANA "Mobile Node Identifier
    /// Option Subtypes").
    pub enum MnIdSubtype(u8) {
        /// Network Access Identifier (RFC 4282).
        Nai = 1,
    }
}

enum_with_unknown! {
    /// Mobility Message Authentication subtype (RFC 4285 §5).
    pub enum AuthSubtype(u8) {
        /// Authenticated with the key shared with the home agent.
        MnHa = 1,
        /// Authenticated by the AAA server.
        MnAaa = 2,
    }
}

/// A Mobile Network Prefix option (RFC 3963 §6.2): one prefix a mobile
/// router serves, kept as received (host bits included).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MobileNetworkPrefix {
    /// Kept so re-emit is exact.
    pub reserved: u8,
    pub prefix_len: u8,
    pub prefix: Ipv6Addr,
}

impl MobileNetworkPrefix {
    pub fn new(prefix: Ipv6Addr, prefix_len: u8) -> Self {
        MobileNetworkPrefix {
            reserved: 0,
            prefix_len,
            prefix,
        }
    }
}

/// A Mobility Message Authentication option (RFC 4285 §5).
///
/// ```text
///                                 |  Option Type  | Option Length |
/// |    Subtype    |                 Mobility SPI ...
///     ... SPI     |         Authentication Data ...
/// ```
/// The authenticator covers the message up to and including the SPI (see
/// [`super::auth`]), so a sender emits the message with a placeholder
/// authenticator of the final length and fills it in afterwards.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MobilityAuth {
    pub subtype: AuthSubtype,
    /// Mobility SPI; 0-255 are reserved (RFC 4285 §5).
    pub spi: u32,
    /// Authentication Data: 96 bits for HMAC_SHA1 (RFC 4285 §5.1), kept
    /// as received whatever its length.
    pub authenticator: Vec<u8>,
}

/// IPv4 Home Address Request (RFC 5555 §3.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv4HomeAddressRequest {
    /// 6 bits.
    pub prefix_len: u8,
    /// The 10 reserved bits after the prefix length, kept as received.
    pub reserved: u16,
    /// 0.0.0.0 asks the home agent to assign one.
    pub address: Ipv4Addr,
}

/// IPv4 Address Acknowledgement (RFC 5555 §3.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv4AddressAck {
    pub status: u8,
    /// 6 bits.
    pub prefix_len: u8,
    /// The 2 reserved bits after the prefix length.
    pub reserved: u8,
    pub address: Ipv4Addr,
}

/// NAT Detection (RFC 5555 §3.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NatDetection {
    /// F: UDP encapsulation is required even without a NAT.
    pub force_udp: bool,
    /// The 15 reserved bits, kept as received.
    pub reserved: u16,
    /// Seconds between NAT keepalives.
    pub refresh_time: u32,
}

/// One mobility option, in the order it appeared.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MhOption {
    /// Type 0 (RFC 6275 §6.2.2): one octet of padding.
    Pad1,
    /// Type 1 (§6.2.3): the data octets, zero when sent; a receiver
    /// ignores them, so whatever arrived is kept.
    PadN(Vec<u8>),
    /// Type 2 (§6.2.4), alignment 2n: when to refresh the binding.
    BindingRefreshAdvice(FourSeconds),
    /// Type 3 (§6.2.5), alignment 8n+6.
    AlternateCareOf(Ipv6Addr),
    /// Type 4 (§6.2.6), alignment 2n.
    NonceIndices { home: u16, care_of: u16 },
    /// Type 5 (§6.2.7), alignment 8n+2, must be last: the authenticator.
    BindingAuthorizationData(Vec<u8>),
    /// Type 6 (RFC 3963 §6.2), alignment 8n+4.
    MobileNetworkPrefix(MobileNetworkPrefix),
    /// Type 8 (RFC 4283 §3): subtype and identifier (an NAI for subtype 1).
    MnIdentifier { subtype: MnIdSubtype, id: Vec<u8> },
    /// Type 9 (RFC 4285 §5), alignment 4n+1, must be last.
    Authentication(MobilityAuth),
    /// Type 10 (RFC 4285 §6), alignment 8n+2: a 64-bit NTP-format
    /// timestamp, or a sequence number in the low 32 bits in that mode.
    ReplayProtection(u64),
    /// Type 29 (RFC 5555 §3.1.1), alignment 4n.
    Ipv4HomeAddressRequest(Ipv4HomeAddressRequest),
    /// Type 30 (RFC 5555 §3.2.1), alignment 4n.
    Ipv4AddressAck(Ipv4AddressAck),
    /// Type 31 (RFC 5555 §3.2.2), alignment 4n.
    NatDetection(NatDetection),
    /// Type 32 (RFC 5555 §3.1.2), alignment 4n: reserved(16), address.
    Ipv4CareOf { reserved: u16, address: Ipv4Addr },
    /// Any other type (e.g. 7, Link-Layer Address, RFC 5568): the data
    /// octets, byte-exact.
    Unknown { kind: u8, data: Vec<u8> },
}

impl MhOption {
    pub const PAD1: u8 = 0;
    pub const PADN: u8 = 1;
    pub const BINDING_REFRESH_ADVICE: u8 = 2;
    pub const ALTERNATE_CARE_OF: u8 = 3;
    pub const NONCE_INDICES: u8 = 4;
    pub const BINDING_AUTHORIZATION_DATA: u8 = 5;
    pub const MOBILE_NETWORK_PREFIX: u8 = 6;
    pub const MN_IDENTIFIER: u8 = 8;
    pub const AUTHENTICATION: u8 = 9;
    pub const REPLAY_PROTECTION: u8 = 10;
    pub const IPV4_HOME_ADDRESS_REQUEST: u8 = 29;
    pub const IPV4_ADDRESS_ACK: u8 = 30;
    pub const NAT_DETECTION: u8 = 31;
    pub const IPV4_CARE_OF: u8 = 32;

    /// A PadN option of `n` octets in all (at least 2, at most 257).
    fn pad_n(n: usize) -> MhOption {
        MhOption::PadN(vec![0; n.clamp(2, 257) - 2])
    }

    /// An RFC 4285 MN-HA authentication option with a zero authenticator
    /// of 96 bits, to be filled in with [`super::auth::AuthInput::fill`]
    /// once the message is emitted.
    pub fn mn_ha_placeholder(spi: u32) -> MhOption {
        MhOption::Authentication(MobilityAuth {
            subtype: AuthSubtype::MnHa,
            spi,
            authenticator: vec![0; super::auth::AUTHENTICATOR_LEN],
        })
    }

    /// The Option Type octet.
    pub fn kind(&self) -> u8 {
        match self {
            MhOption::Pad1 => Self::PAD1,
            MhOption::PadN(_) => Self::PADN,
            MhOption::BindingRefreshAdvice(_) => Self::BINDING_REFRESH_ADVICE,
            MhOption::AlternateCareOf(_) => Self::ALTERNATE_CARE_OF,
            MhOption::NonceIndices { .. } => Self::NONCE_INDICES,
            MhOption::BindingAuthorizationData(_) => Self::BINDING_AUTHORIZATION_DATA,
            MhOption::MobileNetworkPrefix(_) => Self::MOBILE_NETWORK_PREFIX,
            MhOption::MnIdentifier { .. } => Self::MN_IDENTIFIER,
            MhOption::Authentication(_) => Self::AUTHENTICATION,
            MhOption::ReplayProtection(_) => Self::REPLAY_PROTECTION,
            MhOption::Ipv4HomeAddressRequest(_) => Self::IPV4_HOME_ADDRESS_REQUEST,
            MhOption::Ipv4AddressAck(_) => Self::IPV4_ADDRESS_ACK,
            MhOption::NatDetection(_) => Self::NAT_DETECTION,
            MhOption::Ipv4CareOf { .. } => Self::IPV4_CARE_OF,
            MhOption::Unknown { kind, .. } => *kind,
        }
    }

    /// Pad1 or PadN.
    pub fn is_padding(&self) -> bool {
        matches!(self, MhOption::Pad1 | MhOption::PadN(_))
    }

    /// RFC 6275 §6.2.7 and RFC 4285 §5: nothing but padding may follow.
    pub fn must_be_last(&self) -> bool {
        matches!(
            self,
            MhOption::BindingAuthorizationData(_) | MhOption::Authentication(_)
        )
    }

    /// The alignment rule `(x, y)`, "xn+y", counted from the start of the
    /// Mobility Header: RFC 6275 §6.2.4-§6.2.7, RFC 3963 §6.2, RFC 4285
    /// §5-§6, RFC 5555 §3. `(0, 0)`: none.
    pub fn alignment(&self) -> (usize, usize) {
        match self {
            MhOption::BindingRefreshAdvice(_) | MhOption::NonceIndices { .. } => (2, 0),
            MhOption::AlternateCareOf(_) => (8, 6),
            MhOption::BindingAuthorizationData(_) | MhOption::ReplayProtection(_) => (8, 2),
            MhOption::MobileNetworkPrefix(_) => (8, 4),
            MhOption::Authentication(_) => (4, 1),
            MhOption::Ipv4HomeAddressRequest(_)
            | MhOption::Ipv4AddressAck(_)
            | MhOption::NatDetection(_)
            | MhOption::Ipv4CareOf { .. } => (4, 0),
            MhOption::Pad1
            | MhOption::PadN(_)
            | MhOption::MnIdentifier { .. }
            | MhOption::Unknown { .. } => (0, 0),
        }
    }

    /// Octets after Type and Length (what Option Length counts).
    fn data_len(&self) -> usize {
        match self {
            MhOption::Pad1 => 0,
            MhOption::PadN(d) | MhOption::BindingAuthorizationData(d) => d.len(),
            MhOption::Unknown { data, .. } => data.len(),
            MhOption::BindingRefreshAdvice(_) => 2,
            MhOption::AlternateCareOf(_) => 16,
            MhOption::NonceIndices { .. } => 4,
            MhOption::MobileNetworkPrefix(_) => 18,
            MhOption::MnIdentifier { id, .. } => 1 + id.len(),
            MhOption::Authentication(a) => 5 + a.authenticator.len(),
            MhOption::ReplayProtection(_) => 8,
            MhOption::Ipv4HomeAddressRequest(_)
            | MhOption::Ipv4AddressAck(_)
            | MhOption::NatDetection(_)
            | MhOption::Ipv4CareOf { .. } => 6,
        }
    }

    /// Octets this option occupies: 1 for Pad1, else 2 + data.
    pub fn buffer_len(&self) -> usize {
        match self {
            MhOption::Pad1 => 1,
            other => 2 + other.data_len(),
        }
    }

    pub(crate) fn emit(&self, w: &mut Writer<'_>) {
        w.put_u8(self.kind());
        if let MhOption::Pad1 = self {
            return;
        }
        // Lengths above 255 are caught by validate; emit stays in bounds
        // because buffer_len counts the data actually written.
        w.put_u8(self.data_len().min(255) as u8);
        match self {
            MhOption::Pad1 => {}
            MhOption::PadN(d) | MhOption::BindingAuthorizationData(d) => w.put_slice(d),
            MhOption::Unknown { data, .. } => w.put_slice(data),
            MhOption::BindingRefreshAdvice(interval) => w.put_u16(interval.0),
            MhOption::AlternateCareOf(a) => w.put_ipv6(*a),
            MhOption::NonceIndices { home, care_of } => {
                w.put_u16(*home);
                w.put_u16(*care_of);
            }
            MhOption::MobileNetworkPrefix(p) => {
                w.put_u8(p.reserved);
                w.put_u8(p.prefix_len);
                w.put_ipv6(p.prefix);
            }
            MhOption::MnIdentifier { subtype, id } => {
                w.put_u8((*subtype).into());
                w.put_slice(id);
            }
            MhOption::Authentication(a) => {
                w.put_u8(a.subtype.into());
                w.put_u32(a.spi);
                w.put_slice(&a.authenticator);
            }
            MhOption::ReplayProtection(t) => w.put_u64(*t),
            MhOption::Ipv4HomeAddressRequest(r) => {
                w.put_u16((u16::from(r.prefix_len & 0x3f) << 10) | (r.reserved & 0x03ff));
                w.put_slice(&r.address.octets());
            }
            MhOption::Ipv4AddressAck(a) => {
                w.put_u8(a.status);
                w.put_u8((a.prefix_len << 2) | (a.reserved & 0x03));
                w.put_slice(&a.address.octets());
            }
            MhOption::NatDetection(n) => {
                let flag = if n.force_udp { 0x8000 } else { 0 };
                w.put_u16(flag | (n.reserved & 0x7fff));
                w.put_u32(n.refresh_time);
            }
            MhOption::Ipv4CareOf { reserved, address } => {
                w.put_u16(*reserved);
                w.put_slice(&address.octets());
            }
        }
    }
}

/// The options of one message, in wire order, padding included.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct MhOptions(Vec<MhOption>);

/// A closure for `find_map`/`filter_map` over options.
macro_rules! pick {
    ($pattern:pat => $value:expr) => {
        |o| match o {
            $pattern => Some($value),
            _ => None,
        }
    };
}

impl MhOptions {
    pub fn new() -> Self {
        MhOptions(Vec::new())
    }

    /// Appends `option` as it is, with no padding (for a caller that lays
    /// out padding itself).
    pub fn push(&mut self, option: MhOption) {
        self.0.push(option);
    }

    /// Appends `option` preceded by the padding its alignment rule needs,
    /// the options area starting `start` octets into the Mobility Header.
    pub fn push_aligned(&mut self, start: usize, option: MhOption) {
        let (x, y) = option.alignment();
        let pad = align_padding(start + self.buffer_len(), x, y);
        self.push_padding(pad);
        self.0.push(option);
    }

    /// Appends `n` octets of padding: Pad1 for 1, PadN otherwise.
    pub fn push_padding(&mut self, mut n: usize) {
        while n > 0 {
            let option = if n == 1 {
                MhOption::Pad1
            } else {
                MhOption::pad_n(n)
            };
            n -= option.buffer_len();
            self.0.push(option);
        }
    }

    /// Drops the padding at the end (before appending more options).
    pub(crate) fn trim_trailing_padding(&mut self) {
        while self.0.last().is_some_and(MhOption::is_padding) {
            self.0.pop();
        }
    }

    pub fn iter(&self) -> std::slice::Iter<'_, MhOption> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn as_slice(&self) -> &[MhOption] {
        &self.0
    }

    pub fn into_vec(self) -> Vec<MhOption> {
        self.0
    }

    /// The options other than Pad1 and PadN.
    pub fn significant(&self) -> impl Iterator<Item = &MhOption> {
        self.iter().filter(|o| !o.is_padding())
    }

    pub fn alternate_care_of(&self) -> Option<Ipv6Addr> {
        self.iter()
            .find_map(pick!(MhOption::AlternateCareOf(a) => *a))
    }

    pub fn binding_refresh_advice(&self) -> Option<FourSeconds> {
        self.iter()
            .find_map(pick!(MhOption::BindingRefreshAdvice(i) => *i))
    }

    pub fn nonce_indices(&self) -> Option<(u16, u16)> {
        self.iter()
            .find_map(pick!(MhOption::NonceIndices { home, care_of } => (*home, *care_of)))
    }

    pub fn mobile_network_prefixes(&self) -> impl Iterator<Item = &MobileNetworkPrefix> {
        self.iter()
            .filter_map(pick!(MhOption::MobileNetworkPrefix(p) => p))
    }

    /// The first MN Identifier option: subtype and identifier.
    pub fn mn_identifier(&self) -> Option<(MnIdSubtype, &[u8])> {
        self.iter()
            .find_map(pick!(MhOption::MnIdentifier { subtype, id } => (*subtype, id.as_slice())))
    }

    pub fn authentication(&self) -> Option<&MobilityAuth> {
        self.iter()
            .find_map(pick!(MhOption::Authentication(a) => a))
    }

    pub fn replay_protection(&self) -> Option<u64> {
        self.iter()
            .find_map(pick!(MhOption::ReplayProtection(t) => *t))
    }

    pub fn binding_authorization_data(&self) -> Option<&[u8]> {
        self.iter()
            .find_map(pick!(MhOption::BindingAuthorizationData(d) => d.as_slice()))
    }

    pub fn buffer_len(&self) -> usize {
        self.iter().map(MhOption::buffer_len).sum()
    }

    pub(crate) fn emit(&self, w: &mut Writer<'_>) {
        for o in self.iter() {
            o.emit(w);
        }
    }

    /// Parses an options area (`area` knows its offset in the message).
    pub(crate) fn parse(area: Reader<'_>) -> Result<Self, MhError> {
        let mut options = Vec::new();
        let mut rest = area;
        // The offset and type of a must-be-last option already seen.
        let mut last_only: Option<(usize, u8)> = None;
        while !rest.is_empty() {
            let start = rest.offset();
            let (kind, data) = rest.tlv8_option()?;
            let option = parse_one(kind, data, start)?;
            if let Some((at, k)) = last_only
                && !option.is_padding()
            {
                return Err(MhError::in_option(MhErrorKind::NotLast, at, k));
            }
            if option.must_be_last() {
                last_only = Some((start, kind));
            }
            options.push(option);
        }
        Ok(MhOptions(options))
    }
}

impl From<Vec<MhOption>> for MhOptions {
    fn from(v: Vec<MhOption>) -> Self {
        MhOptions(v)
    }
}

impl FromIterator<MhOption> for MhOptions {
    fn from_iter<I: IntoIterator<Item = MhOption>>(iter: I) -> Self {
        MhOptions(iter.into_iter().collect())
    }
}

impl<'a> IntoIterator for &'a MhOptions {
    type Item = &'a MhOption;
    type IntoIter = std::slice::Iter<'a, MhOption>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// Decodes one option from its data (`data`, in the option's view; empty
/// for Pad1). `start` is the absolute offset of its Type octet.
fn parse_one(kind: u8, mut data: Reader<'_>, start: usize) -> Result<MhOption, MhError> {
    let len = data.len();
    // Checked by tlv8_option: the length octet held it.
    let len_octet = len.min(255) as u8;
    let bad_len = || MhError::in_option(MhErrorKind::BadLength { len: len_octet }, start + 1, kind);
    let exactly = |want: usize| if len == want { Ok(()) } else { Err(bad_len()) };
    let option = match kind {
        MhOption::PAD1 => MhOption::Pad1,
        MhOption::PADN => MhOption::PadN(data.rest().to_vec()),
        MhOption::BINDING_REFRESH_ADVICE => {
            // RFC 6275 §6.2.4: Option Length 2.
            exactly(2)?;
            MhOption::BindingRefreshAdvice(FourSeconds(data.u16()?))
        }
        MhOption::ALTERNATE_CARE_OF => {
            // §6.2.5: Option Length 16.
            exactly(16)?;
            MhOption::AlternateCareOf(data.ipv6()?)
        }
        MhOption::NONCE_INDICES => {
            // §6.2.6: Option Length 4.
            exactly(4)?;
            MhOption::NonceIndices {
                home: data.u16()?,
                care_of: data.u16()?,
            }
        }
        MhOption::BINDING_AUTHORIZATION_DATA => {
            // §6.2.7: the authenticator, whatever its length; the
            // correspondent node checks it.
            MhOption::BindingAuthorizationData(data.rest().to_vec())
        }
        MhOption::MOBILE_NETWORK_PREFIX => {
            // RFC 3963 §6.2: Option Length 18.
            exactly(18)?;
            let reserved = data.u8()?;
            let at = data.offset();
            let prefix_len = data.u8()?;
            if prefix_len > 128 {
                return Err(data.error_at_offset(
                    MhErrorKind::BadValue {
                        field: "prefix length",
                    },
                    at,
                ));
            }
            MhOption::MobileNetworkPrefix(MobileNetworkPrefix {
                reserved,
                prefix_len,
                prefix: data.ipv6()?,
            })
        }
        MhOption::MN_IDENTIFIER => {
            // RFC 4283 §3: a subtype octet, then the identifier.
            if len < 1 {
                return Err(bad_len());
            }
            MhOption::MnIdentifier {
                subtype: MnIdSubtype::from(data.u8()?),
                id: data.rest().to_vec(),
            }
        }
        MhOption::AUTHENTICATION => {
            // RFC 4285 §5: subtype, SPI, then the authentication data.
            if len < 5 {
                return Err(bad_len());
            }
            MhOption::Authentication(MobilityAuth {
                subtype: AuthSubtype::from(data.u8()?),
                spi: data.u32()?,
                authenticator: data.rest().to_vec(),
            })
        }
        MhOption::REPLAY_PROTECTION => {
            // RFC 4285 §6: Option Length 8.
            exactly(8)?;
            MhOption::ReplayProtection(data.u64()?)
        }
        MhOption::IPV4_HOME_ADDRESS_REQUEST => {
            // RFC 5555 §3.1.1: Option Length 6.
            exactly(6)?;
            let word = data.u16()?;
            MhOption::Ipv4HomeAddressRequest(Ipv4HomeAddressRequest {
                // The top 6 bits.
                prefix_len: (word >> 10) as u8,
                reserved: word & 0x03ff,
                address: Ipv4Addr::from(data.array::<4>()?),
            })
        }
        MhOption::IPV4_ADDRESS_ACK => {
            exactly(6)?;
            let status = data.u8()?;
            let octet = data.u8()?;
            MhOption::Ipv4AddressAck(Ipv4AddressAck {
                status,
                prefix_len: octet >> 2,
                reserved: octet & 0x03,
                address: Ipv4Addr::from(data.array::<4>()?),
            })
        }
        MhOption::NAT_DETECTION => {
            exactly(6)?;
            let word = data.u16()?;
            MhOption::NatDetection(NatDetection {
                force_udp: word & 0x8000 != 0,
                reserved: word & 0x7fff,
                refresh_time: data.u32()?,
            })
        }
        MhOption::IPV4_CARE_OF => {
            exactly(6)?;
            MhOption::Ipv4CareOf {
                reserved: data.u16()?,
                address: Ipv4Addr::from(data.array::<4>()?),
            }
        }
        _ => MhOption::Unknown {
            kind,
            data: data.rest().to_vec(),
        },
    };
    Ok(option)
}
