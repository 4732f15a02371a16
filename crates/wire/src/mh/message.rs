//! The Mobility Header envelope (RFC 6275 §6.1.1) and the message bodies
//! of §6.1.2-§6.1.9, with the NEMO flags of RFC 3963 §4.1-§4.2.
//!
//! ```text
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Payload Proto |  Header Len   |   MH Type     |   Reserved    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |           Checksum            |                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               |
//! .                       Message Data                            .
//! ```
//! Header Len counts 8-octet units after the first 8; the message is a
//! whole number of units, its options padded to the end.

use std::net::Ipv6Addr;
use std::time::Duration;

use super::Reader;
use super::error::{MhError, MhErrorKind};
use super::header;
use super::option::{MhOption, MhOptions};
use crate::codec::Writer;
use crate::codec::constants::IPPROTO_NONE;
use crate::codec::flags::{pack_flags, unpack_flags};
use crate::codec::macros::enum_with_unknown;
use crate::codec::writer::round_up;

/// Offsets counted from the Payload Proto octet.
pub(crate) mod field {
    use std::ops::Range;
    pub const PAYLOAD_PROTO: usize = 0;
    pub const HEADER_LEN: usize = 1;
    pub const MH_TYPE: usize = 2;
    pub const RESERVED: usize = 3;
    pub const CHECKSUM: Range<usize> = 4..6;
    /// The first octet of the message data.
    pub const DATA: usize = 6;

    /// BRR (§6.1.2): Reserved(16), options.
    pub const BRR_RESERVED: Range<usize> = 6..8;
    pub const BRR_OPTIONS: usize = 8;

    /// HoTI, CoTI (§6.1.3-§6.1.4): Reserved(16), Init Cookie(64), options.
    pub const TI_RESERVED: Range<usize> = 6..8;
    pub const TI_COOKIE: Range<usize> = 8..16;
    pub const TI_OPTIONS: usize = 16;

    /// HoT, CoT (§6.1.5-§6.1.6): Nonce Index(16), Init Cookie(64), Keygen
    /// Token(64), options.
    pub const T_NONCE_INDEX: Range<usize> = 6..8;
    pub const T_COOKIE: Range<usize> = 8..16;
    pub const T_TOKEN: Range<usize> = 16..24;
    pub const T_OPTIONS: usize = 24;

    /// BU (§6.1.7): Sequence(16), A|H|L|K|M|R|P|F + reserved(16),
    /// Lifetime(16), options.
    pub const BU_SEQUENCE: Range<usize> = 6..8;
    pub const BU_FLAGS: Range<usize> = 8..10;
    pub const BU_LIFETIME: Range<usize> = 10..12;
    pub const BU_OPTIONS: usize = 12;

    /// BA (§6.1.8): Status(8), K|R + reserved(8), Sequence(16),
    /// Lifetime(16), options.
    pub const BA_STATUS: usize = 6;
    pub const BA_FLAGS: usize = 7;
    pub const BA_SEQUENCE: Range<usize> = 8..10;
    pub const BA_LIFETIME: Range<usize> = 10..12;
    pub const BA_OPTIONS: usize = 12;

    /// BE (§6.1.9): Status(8), Reserved(8), Home Address(128), options.
    pub const BE_STATUS: usize = 6;
    pub const BE_RESERVED: usize = 7;
    pub const BE_HOME_ADDRESS: Range<usize> = 8..24;
    pub const BE_OPTIONS: usize = 24;
}

/// RFC 6275 §6.1.1: Header Len counts units of 8 octets.
const UNIT: usize = 8;

enum_with_unknown! {
    /// MH Type (RFC 6275 §6.1.2-§6.1.9; IANA "Mobility Header Types").
    /// Types 8 and above (FMIPv6, HA switch, revocation, ...) are
    /// `Unknown`, kept byte-exact; a home agent answers them with a
    /// Binding Error, status 2 (§9.2).
    pub enum MhType(u8) {
        BindingRefreshRequest = 0,
        HomeTestInit = 1,
        CareOfTestInit = 2,
        HomeTest = 3,
        CareOfTest = 4,
        BindingUpdate = 5,
        BindingAck = 6,
        BindingError = 7,
    }
}

enum_with_unknown! {
    /// Binding Acknowledgement status (RFC 6275 §6.1.8; 140-143 RFC 3963
    /// §4.2; 144-146 RFC 4285 §8). Below 128: accepted.
    pub enum BaStatus(u8) {
        Accepted = 0,
        AcceptedPrefixDiscoveryNecessary = 1,
        ReasonUnspecified = 128,
        AdministrativelyProhibited = 129,
        InsufficientResources = 130,
        HomeRegistrationNotSupported = 131,
        NotHomeSubnet = 132,
        NotHomeAgentForThisMobileNode = 133,
        DuplicateAddressDetectionFailed = 134,
        SequenceNumberOutOfWindow = 135,
        ExpiredHomeNonceIndex = 136,
        ExpiredCareOfNonceIndex = 137,
        ExpiredNonces = 138,
        RegistrationTypeChangeDisallowed = 139,
        MobileRouterOperationNotPermitted = 140,
        InvalidPrefix = 141,
        NotAuthorizedForPrefix = 142,
        ForwardingSetupFailed = 143,
        IdMismatch = 144,
        MessageIdRequired = 145,
        AuthFailed = 146,
        InvalidCareOfAddress = 174,
    }
}

impl BaStatus {
    /// RFC 6275 §6.1.8: values below 128 mean the binding was accepted.
    pub fn is_accepted(self) -> bool {
        u8::from(self) < 128
    }
}

enum_with_unknown! {
    /// Binding Error status (RFC 6275 §6.1.9).
    pub enum BeStatus(u8) {
        /// A Home Address option without a binding.
        UnknownBindingForHomeAddress = 1,
        UnrecognizedMhType = 2,
    }
}

/// A time in units of 4 seconds: the BU and BA Lifetime (RFC 6275 §6.1.7,
/// §6.1.8) and the Binding Refresh Advice interval (§6.2.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct FourSeconds(pub u16);

impl FourSeconds {
    /// The longest: 65535 units, 262140 s.
    pub const MAX: FourSeconds = FourSeconds(u16::MAX);

    /// `secs` rounded down to whole units (a lifetime is never granted
    /// longer than asked), capped at 262140 s.
    pub fn from_secs(secs: u32) -> Self {
        FourSeconds((secs / 4).min(u32::from(u16::MAX)) as u16)
    }

    pub fn as_secs(self) -> u32 {
        u32::from(self.0) * 4
    }

    pub fn as_duration(self) -> Duration {
        Duration::from_secs(u64::from(self.as_secs()))
    }
}

/// Binding Refresh Request (RFC 6275 §6.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct BindingRefreshRequest {
    pub reserved: u16,
}

/// Home Test Init and Care-of Test Init (RFC 6275 §6.1.3-§6.1.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TestInit {
    pub reserved: u16,
    /// Home / Care-of Init Cookie: echoed in the HoT / CoT.
    pub init_cookie: [u8; 8],
}

/// Home Test and Care-of Test (RFC 6275 §6.1.5-§6.1.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Test {
    /// Home / Care-of Nonce Index.
    pub nonce_index: u16,
    pub init_cookie: [u8; 8],
    /// Home / Care-of Keygen Token.
    pub keygen_token: [u8; 8],
}

/// The Binding Update flags word (RFC 6275 §6.1.7; R: RFC 3963 §4.1; F:
/// RFC 5555 §3.1.3). Bits other than these (M, P, T and the reserved
/// ones) are kept in `other` as received.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct BuFlags {
    /// A: acknowledgement requested.
    pub ack: bool,
    /// H: home registration.
    pub home_registration: bool,
    /// L: the link-local address shares the home address's interface
    /// identifier; the home agent defends it too.
    pub link_local_compat: bool,
    /// K: the IPsec SA survives movement.
    pub key_management: bool,
    /// R: the sender is a mobile router.
    pub mobile_router: bool,
    /// F: force UDP encapsulation.
    pub force_udp: bool,
    /// The other bits of the word, as received.
    pub other: u16,
}

impl BuFlags {
    /// The masks of A, H, L, K, R and F, in that order.
    const FLAGS: [u16; 6] = [0x8000, 0x4000, 0x2000, 0x1000, 0x0400, 0x0100];
    const OTHER: u16 = !(0x8000 | 0x4000 | 0x2000 | 0x1000 | 0x0400 | 0x0100);

    /// A home registration asking for an acknowledgement (RFC 6275
    /// §11.7.1: A and H).
    pub fn home_registration() -> Self {
        BuFlags {
            ack: true,
            home_registration: true,
            ..BuFlags::default()
        }
    }

    pub fn from_bits(bits: u16) -> Self {
        let [
            ack,
            home_registration,
            link_local_compat,
            key_management,
            mobile_router,
            force_udp,
        ] = unpack_flags(bits, Self::FLAGS);
        BuFlags {
            ack,
            home_registration,
            link_local_compat,
            key_management,
            mobile_router,
            force_udp,
            other: bits & Self::OTHER,
        }
    }

    pub fn to_bits(self) -> u16 {
        let set = [
            self.ack,
            self.home_registration,
            self.link_local_compat,
            self.key_management,
            self.mobile_router,
            self.force_udp,
        ];
        pack_flags(self.other & Self::OTHER, Self::FLAGS, set)
    }
}

/// The Binding Acknowledgement flags octet (RFC 6275 §6.1.8; R: RFC 3963
/// §4.2). Other bits (P and later) kept in `other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct BaFlags {
    /// K: key management mobility capability.
    pub key_management: bool,
    /// R: the home agent supports mobile routers.
    pub mobile_router: bool,
    pub other: u8,
}

impl BaFlags {
    const FLAGS: [u8; 2] = [0x80, 0x40];
    const OTHER: u8 = 0x3f;

    pub fn from_bits(bits: u8) -> Self {
        let [key_management, mobile_router] = unpack_flags(bits, Self::FLAGS);
        BaFlags {
            key_management,
            mobile_router,
            other: bits & Self::OTHER,
        }
    }

    pub fn to_bits(self) -> u8 {
        let set = [self.key_management, self.mobile_router];
        pack_flags(self.other & Self::OTHER, Self::FLAGS, set)
    }
}

/// Binding Update (RFC 6275 §6.1.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct BindingUpdate {
    pub sequence: u16,
    pub flags: BuFlags,
    /// 0 asks for the binding to be deleted.
    pub lifetime: FourSeconds,
}

/// Binding Acknowledgement (RFC 6275 §6.1.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BindingAck {
    pub status: BaStatus,
    pub flags: BaFlags,
    pub sequence: u16,
    pub lifetime: FourSeconds,
}

/// Binding Error (RFC 6275 §6.1.9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BindingError {
    pub status: BeStatus,
    pub reserved: u8,
    /// The home address of the Home Address option that caused it, or
    /// the unspecified address.
    pub home_address: Ipv6Addr,
}

/// The message data after the checksum, by MH Type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MhBody {
    BindingRefreshRequest(BindingRefreshRequest),
    HomeTestInit(TestInit),
    CareOfTestInit(TestInit),
    HomeTest(Test),
    CareOfTest(Test),
    BindingUpdate(BindingUpdate),
    BindingAck(BindingAck),
    BindingError(BindingError),
    /// Any other MH Type: every octet after the checksum, options
    /// included, as received.
    Unknown {
        mh_type: u8,
        data: Vec<u8>,
    },
}

impl MhBody {
    pub fn mh_type(&self) -> MhType {
        match self {
            MhBody::BindingRefreshRequest(_) => MhType::BindingRefreshRequest,
            MhBody::HomeTestInit(_) => MhType::HomeTestInit,
            MhBody::CareOfTestInit(_) => MhType::CareOfTestInit,
            MhBody::HomeTest(_) => MhType::HomeTest,
            MhBody::CareOfTest(_) => MhType::CareOfTest,
            MhBody::BindingUpdate(_) => MhType::BindingUpdate,
            MhBody::BindingAck(_) => MhType::BindingAck,
            MhBody::BindingError(_) => MhType::BindingError,
            MhBody::Unknown { mh_type, .. } => MhType::from(*mh_type),
        }
    }

    /// Octets from the Payload Proto octet to the first option: the
    /// minimum length of the message (RFC 6275 §9.2).
    pub(crate) fn fixed_len(&self) -> usize {
        match self {
            MhBody::BindingRefreshRequest(_) => field::BRR_OPTIONS,
            MhBody::HomeTestInit(_) | MhBody::CareOfTestInit(_) => field::TI_OPTIONS,
            MhBody::HomeTest(_) | MhBody::CareOfTest(_) => field::T_OPTIONS,
            MhBody::BindingUpdate(_) => field::BU_OPTIONS,
            MhBody::BindingAck(_) => field::BA_OPTIONS,
            MhBody::BindingError(_) => field::BE_OPTIONS,
            MhBody::Unknown { data, .. } => field::DATA + data.len(),
        }
    }

    fn emit(&self, w: &mut Writer<'_>) {
        match self {
            MhBody::BindingRefreshRequest(m) => w.put_u16(m.reserved),
            MhBody::HomeTestInit(m) | MhBody::CareOfTestInit(m) => {
                w.put_u16(m.reserved);
                w.put_slice(&m.init_cookie);
            }
            MhBody::HomeTest(m) | MhBody::CareOfTest(m) => {
                w.put_u16(m.nonce_index);
                w.put_slice(&m.init_cookie);
                w.put_slice(&m.keygen_token);
            }
            MhBody::BindingUpdate(m) => {
                w.put_u16(m.sequence);
                w.put_u16(m.flags.to_bits());
                w.put_u16(m.lifetime.0);
            }
            MhBody::BindingAck(m) => {
                w.put_u8(m.status.into());
                w.put_u8(m.flags.to_bits());
                w.put_u16(m.sequence);
                w.put_u16(m.lifetime.0);
            }
            MhBody::BindingError(m) => {
                w.put_u8(m.status.into());
                w.put_u8(m.reserved);
                w.put_ipv6(m.home_address);
            }
            MhBody::Unknown { data, .. } => w.put_slice(data),
        }
    }
}

/// A Mobility Header message.
///
/// The checksum is not part of the value, as for ND: [`parse`] does not
/// check it (use [`super::verify_checksum`] with the addresses of RFC 6275
/// §6.1.1), [`emit`] writes 0 and [`emit_with_checksum`] computes it. So
/// accepted bytes re-emit identical but for octets 4-5, and those too with
/// `emit_with_checksum` when the received checksum was valid.
///
/// [`parse`]: MobilityHeader::parse
/// [`emit`]: MobilityHeader::emit
/// [`emit_with_checksum`]: MobilityHeader::emit_with_checksum
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MobilityHeader {
    /// The Reserved octet after MH Type, kept so re-emit is exact.
    pub reserved: u8,
    pub body: MhBody,
    /// Empty for an `Unknown` body, whose options stay in its data.
    pub options: MhOptions,
}

impl MobilityHeader {
    /// A message with no options but the padding to the 8-octet boundary
    /// (a BU or BA: 4 octets of PadN), so the value is what it emits.
    pub fn new(body: impl Into<MhBody>) -> Self {
        let body = body.into();
        let mut options = MhOptions::new();
        if !matches!(body, MhBody::Unknown { .. }) {
            let fixed = body.fixed_len();
            options.push_padding(round_up(fixed, UNIT) - fixed);
        }
        MobilityHeader {
            reserved: 0,
            body,
            options,
        }
    }

    /// Appends `option` where the RFCs want it: after any padding its
    /// alignment needs (§6.2), with padding to the next 8-octet boundary
    /// after it, so the value stays exactly what it emits.
    pub fn push_option(&mut self, option: MhOption) {
        self.options.trim_trailing_padding();
        let start = self.body.fixed_len();
        self.options.push_aligned(start, option);
        let end = start + self.options.buffer_len();
        self.options.push_padding(round_up(end, UNIT) - end);
    }

    /// Builder form of [`MobilityHeader::push_option`].
    pub fn with_option(mut self, option: MhOption) -> Self {
        self.push_option(option);
        self
    }

    pub fn mh_type(&self) -> MhType {
        self.body.mh_type()
    }

    /// RFC 6275 §9.2: the smallest Header Len each known type allows.
    pub fn min_header_len(mh_type: MhType) -> Option<u8> {
        let fixed = match mh_type {
            MhType::BindingRefreshRequest => field::BRR_OPTIONS,
            MhType::HomeTestInit | MhType::CareOfTestInit => field::TI_OPTIONS,
            MhType::HomeTest | MhType::CareOfTest => field::T_OPTIONS,
            MhType::BindingUpdate => field::BU_OPTIONS,
            MhType::BindingAck => field::BA_OPTIONS,
            MhType::BindingError => field::BE_OPTIONS,
            MhType::Unknown(_) => return None,
        };
        // At most 24 octets: 2 units after the first.
        Some((fixed.div_ceil(UNIT) - 1) as u8)
    }

    /// Decodes a Mobility Header from its Payload Proto octet; `bytes`
    /// ends where the message does (the MH is the last header, RFC 6275
    /// §6.1.1). Never panics. The checksum is not checked.
    ///
    /// Errors, in this order: `Truncated` before the Header Len octet;
    /// `PayloadProto` when it is not 59; `Truncated` when the input is
    /// shorter than Header Len says; `TrailingOctets` when longer;
    /// `HeaderLength` below the type's minimum (both at the offsets RFC
    /// 6275 §9.2's Parameter Problem points at); then option errors.
    pub fn parse(bytes: &[u8]) -> Result<MobilityHeader, MhError> {
        let message = Reader::new(bytes);
        let [payload_proto, units] = message.get_array(field::PAYLOAD_PROTO)?;
        if payload_proto != IPPROTO_NONE {
            return Err(message.error_at(
                MhErrorKind::PayloadProto {
                    value: payload_proto,
                },
                field::PAYLOAD_PROTO,
            ));
        }
        let total = (usize::from(units) + 1) * UNIT;
        let (whole, extra) = message.split(total)?;
        if !extra.is_empty() {
            return Err(extra.error_at(MhErrorKind::TrailingOctets { extra: extra.len() }, 0));
        }
        // At least 8 octets from here on: every envelope field is there.
        let mh_type = MhType::from(whole.get_u8(field::MH_TYPE)?);
        let reserved = whole.get_u8(field::RESERVED)?;
        if let Some(min) = Self::min_header_len(mh_type)
            && units < min
        {
            return Err(whole.error_at(MhErrorKind::HeaderLength { units, min }, field::HEADER_LEN));
        }
        let body = match mh_type {
            MhType::BindingRefreshRequest => MhBody::BindingRefreshRequest(BindingRefreshRequest {
                reserved: whole.get_u16(field::BRR_RESERVED)?,
            }),
            MhType::HomeTestInit | MhType::CareOfTestInit => {
                let m = TestInit {
                    reserved: whole.get_u16(field::TI_RESERVED)?,
                    init_cookie: whole.get_array(field::TI_COOKIE.start)?,
                };
                if mh_type == MhType::HomeTestInit {
                    MhBody::HomeTestInit(m)
                } else {
                    MhBody::CareOfTestInit(m)
                }
            }
            MhType::HomeTest | MhType::CareOfTest => {
                let m = Test {
                    nonce_index: whole.get_u16(field::T_NONCE_INDEX)?,
                    init_cookie: whole.get_array(field::T_COOKIE.start)?,
                    keygen_token: whole.get_array(field::T_TOKEN.start)?,
                };
                if mh_type == MhType::HomeTest {
                    MhBody::HomeTest(m)
                } else {
                    MhBody::CareOfTest(m)
                }
            }
            MhType::BindingUpdate => MhBody::BindingUpdate(BindingUpdate {
                sequence: whole.get_u16(field::BU_SEQUENCE)?,
                flags: BuFlags::from_bits(whole.get_u16(field::BU_FLAGS)?),
                lifetime: FourSeconds(whole.get_u16(field::BU_LIFETIME)?),
            }),
            MhType::BindingAck => MhBody::BindingAck(BindingAck {
                status: BaStatus::from(whole.get_u8(field::BA_STATUS)?),
                flags: BaFlags::from_bits(whole.get_u8(field::BA_FLAGS)?),
                sequence: whole.get_u16(field::BA_SEQUENCE)?,
                lifetime: FourSeconds(whole.get_u16(field::BA_LIFETIME)?),
            }),
            MhType::BindingError => MhBody::BindingError(BindingError {
                status: BeStatus::from(whole.get_u8(field::BE_STATUS)?),
                reserved: whole.get_u8(field::BE_RESERVED)?,
                home_address: whole.get_ipv6(field::BE_HOME_ADDRESS)?,
            }),
            MhType::Unknown(mh_type) => {
                return Ok(MobilityHeader {
                    reserved,
                    body: MhBody::Unknown {
                        mh_type,
                        data: whole.tail(field::DATA).to_vec(),
                    },
                    options: MhOptions::new(),
                });
            }
        };
        let options = MhOptions::parse(whole.view_from(body.fixed_len()))?;
        Ok(MobilityHeader {
            reserved,
            body,
            options,
        })
    }

    /// Octets [`MobilityHeader::emit`] writes: the fixed part and options,
    /// rounded up to whole 8-octet units.
    pub fn buffer_len(&self) -> usize {
        round_up(self.body.fixed_len() + self.options.buffer_len(), UNIT).max(UNIT)
    }

    /// Writes the message, checksum 0, into the start of `buf` and
    /// returns `buffer_len()`. Padding to the 8-octet boundary that the
    /// options do not provide is written as Pad1/PadN (zeros for an
    /// `Unknown` body).
    ///
    /// # Panics
    /// If `buf` is shorter than `buffer_len()` (a caller bug, never input).
    pub fn emit(&self, buf: &mut [u8]) -> usize {
        let len = self.buffer_len();
        assert!(
            buf.len() >= len,
            "MobilityHeader::emit: buffer of {} octets, need {len}",
            buf.len()
        );
        let mut w = Writer::new(&mut buf[..len]);
        w.put_u8(IPPROTO_NONE);
        // validate reports a message over 2048 octets.
        w.put_u8((len / UNIT - 1).min(255) as u8);
        w.put_u8(self.mh_type().into());
        w.put_u8(self.reserved);
        w.put_u16(0); // checksum: emit_with_checksum fills it in
        self.body.emit(&mut w);
        self.options.emit(&mut w);
        let tail = len - w.position();
        match self.body {
            MhBody::Unknown { .. } => w.put_zeros(tail),
            _ => w.put_pad_options(tail),
        }
        debug_assert_eq!(w.position(), len);
        len
    }

    /// [`MobilityHeader::emit`], then the checksum for the pseudo-header
    /// addresses `src` and `dst` (RFC 6275 §6.1.1: the home address in
    /// place of the source when a Home Address option travels, the final
    /// destination when a Type 2 Routing Header does).
    ///
    /// # Panics
    /// If `buf` is shorter than `buffer_len()`.
    pub fn emit_with_checksum(&self, src: Ipv6Addr, dst: Ipv6Addr, buf: &mut [u8]) -> usize {
        let len = self.emit(buf);
        header::fill_checksum(src, dst, &mut buf[..len]);
        len
    }

    /// The emitted message, checksum 0.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = vec![0; self.buffer_len()];
        self.emit(&mut v);
        v
    }

    /// The emitted message with its checksum for `src` → `dst`.
    pub fn to_bytes_with_checksum(&self, src: Ipv6Addr, dst: Ipv6Addr) -> Vec<u8> {
        let mut v = vec![0; self.buffer_len()];
        self.emit_with_checksum(src, dst, &mut v);
        v
    }

    /// Whether `emit` encodes this value faithfully (its bytes parse back
    /// equal). Values from `parse` and from `new` + `push_option` pass; a
    /// hand-built one fails when, for example, an option is over 255 data
    /// octets, the message over 2048 octets, options follow an
    /// authentication option, or the options do not end on an 8-octet
    /// boundary (emit adds padding the value does not hold).
    pub fn validate(&self) -> Result<(), MhError> {
        let unrepresentable = |what, at| MhError::new(MhErrorKind::Unrepresentable { what }, at);
        if self.buffer_len() > 256 * UNIT {
            return Err(unrepresentable("message longer than 2048 octets", 0));
        }
        let mut at = self.body.fixed_len();
        for o in self.options.iter() {
            if o.buffer_len() > 2 + 255 {
                return Err(MhError::in_option(
                    MhErrorKind::Unrepresentable {
                        what: "option longer than 255 data octets",
                    },
                    at,
                    o.kind(),
                ));
            }
            at += o.buffer_len();
        }
        if matches!(self.body, MhBody::Unknown { .. }) && !self.options.is_empty() {
            return Err(unrepresentable(
                "options on an unknown MH Type belong in its data",
                self.body.fixed_len(),
            ));
        }
        let back = MobilityHeader::parse(&self.to_bytes())?;
        if back == *self {
            return Ok(());
        }
        let what = if back.body != self.body {
            "fixed field out of range"
        } else {
            "options do not end on an 8-octet boundary or do not round-trip"
        };
        Err(unrepresentable(what, self.body.fixed_len()))
    }
}

/// `From<Body> for MhBody` for the types with one variant each.
macro_rules! from_body {
    ($($body:ident),*) => {$(
        impl From<$body> for MhBody {
            fn from(m: $body) -> Self {
                MhBody::$body(m)
            }
        }
    )*};
}

from_body!(
    BindingRefreshRequest,
    BindingUpdate,
    BindingAck,
    BindingError
);

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    #[test]
    fn bu_with_alt_coa_lays_out_as_rfc_6275_wants() {
        let bu = BindingUpdate {
            sequence: 7,
            flags: BuFlags::home_registration(),
            lifetime: FourSeconds(150),
        };
        let m = MobilityHeader::new(bu).with_option(MhOption::AlternateCareOf(ip("2001:db8:2::5")));
        let mut buf = vec![0xaa; 40];
        let len = m.emit(&mut buf);
        assert_eq!(len, 32);
        assert_eq!(
            buf[..14],
            [59, 3, 5, 0, 0, 0, 0, 7, 0xc0, 0, 0, 150, 1, 0],
            "PadN of 2 octets puts the option at 8n+6"
        );
        assert_eq!(buf[14..16], [3, 16]);
        assert_eq!(MobilityHeader::parse(&buf[..len]), Ok(m.clone()));
        assert_eq!(m.validate(), Ok(()));
        assert_eq!(buf[32..], [0xaa; 8], "nothing written past buffer_len");
    }

    #[test]
    fn envelope_errors_point_where_parameter_problem_would() {
        let m = MobilityHeader::new(BindingUpdate::default()).to_bytes();
        let mut bad = m.clone();
        bad[0] = 6;
        let e = MobilityHeader::parse(&bad).unwrap_err();
        assert_eq!(
            (e.kind, e.offset),
            (MhErrorKind::PayloadProto { value: 6 }, 0)
        );
        // A BU needs Header Len 1; claim 0 and cut to 8 octets.
        let mut short = m[..8].to_vec();
        short[1] = 0;
        let e = MobilityHeader::parse(&short).unwrap_err();
        assert_eq!(
            (e.kind, e.offset),
            (MhErrorKind::HeaderLength { units: 0, min: 1 }, 1)
        );
        let mut long = m.clone();
        long.push(0);
        let e = MobilityHeader::parse(&long).unwrap_err();
        assert_eq!(
            (e.kind, e.offset),
            (MhErrorKind::TrailingOctets { extra: 1 }, 16)
        );
    }

    #[test]
    fn flags_round_trip_every_value() {
        for bits in 0..=u16::MAX {
            assert_eq!(BuFlags::from_bits(bits).to_bits(), bits);
        }
        for bits in 0..=u8::MAX {
            assert_eq!(BaFlags::from_bits(bits).to_bits(), bits);
        }
        let f = BuFlags::from_bits(0x8400);
        assert!(f.ack && f.mobile_router && !f.home_registration);
        assert!(BaFlags::from_bits(0x40).mobile_router);
    }

    #[test]
    fn lifetimes_in_four_second_units() {
        assert_eq!(FourSeconds::from_secs(600), FourSeconds(150));
        assert_eq!(FourSeconds::from_secs(7), FourSeconds(1));
        assert_eq!(FourSeconds::from_secs(u32::MAX), FourSeconds::MAX);
        assert_eq!(FourSeconds::MAX.as_secs(), 262_140);
        assert!(BaStatus::AcceptedPrefixDiscoveryNecessary.is_accepted());
        assert!(!BaStatus::Unknown(128).is_accepted());
    }

    #[test]
    #[should_panic(expected = "need 16")]
    fn emit_into_short_buffer_panics_with_a_message() {
        MobilityHeader::new(BindingUpdate::default()).emit(&mut [0u8; 15]);
    }
}
