//! Neighbor Discovery options (RFC 4861 §4.6 and the RFCs that add types).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Type      |    Length     |              ...              |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ~                              ...                              ~
//! ```
//! Length counts 8-octet units including Type and Length; 0 is invalid.
//!
//! Every option is kept, in order. Known types are decoded into fields plus
//! the raw reserved bits (so re-emit is byte-exact); any other type is kept
//! as [`NdOption::Unknown`]. Unlike hosts that skip a bad option, this codec
//! rejects the whole message when a known option is malformed, so nothing is
//! ever dropped silently: the caller decides what to count and log.

use std::net::Ipv6Addr;

use super::Reader;
use super::error::{NdError, NdErrorKind, bad_value};
use super::message::RouterPreference;
use crate::Lifetime;
use crate::codec::Writer;
use crate::codec::domain::{DomainName, NameFault, dotted_wire_len, put_dotted};
use crate::codec::flags::{pack_flags, unpack_flags};
use crate::codec::writer::round_up;

/// Offsets inside an option, counted from its Type octet.
mod field {
    use std::ops::Range;
    pub const TYPE: usize = 0;
    pub const LENGTH: usize = 1;
    /// Everything after Type and Length.
    pub const DATA: usize = 2;

    /// Prefix Information, RFC 4861 §4.6.2:
    /// ```text
    /// | Type  | Length | Prefix Length |L|A|R|P|Resvd1|
    /// |                  Valid Lifetime                |
    /// |                Preferred Lifetime              |
    /// |                    Reserved2                   |
    /// |                 Prefix (16 octets)             |
    /// ```
    pub mod pio {
        use std::ops::Range;
        pub const PREFIX_LEN: usize = 2;
        pub const FLAGS: usize = 3;
        pub const VALID: Range<usize> = 4..8;
        pub const PREFERRED: Range<usize> = 8..12;
        pub const RESERVED2: Range<usize> = 12..16;
        pub const PREFIX: Range<usize> = 16..32;
    }

    /// MTU (RFC 4861 §4.6.4), Advertisement Interval (RFC 6275 §7.3) and
    /// Home Agent Information (RFC 6275 §7.4) share one 8-octet shape:
    /// ```text
    /// | Type  | Length |           Reserved              |
    /// |        32-bit value (or two 16-bit values)       |
    /// ```
    pub const RESERVED16: Range<usize> = 2..4;
    pub const VALUE32: Range<usize> = 4..8;
    pub const HA_PREFERENCE: Range<usize> = 4..6;
    pub const HA_LIFETIME: Range<usize> = 6..8;

    /// Route Information, RFC 4191 §2.3:
    /// ```text
    /// | Type  | Length | Prefix Length |Resvd|Prf|Resvd|
    /// |                 Route Lifetime                 |
    /// |          Prefix (0, 8 or 16 octets)            |
    /// ```
    pub mod rio {
        use std::ops::Range;
        pub const PREFIX_LEN: usize = 2;
        pub const FLAGS: usize = 3;
        pub const LIFETIME: Range<usize> = 4..8;
        pub const PREFIX: usize = 8;
    }

    /// RDNSS and DNSSL, RFC 8106 §5.1, §5.2:
    /// ```text
    /// | Type  | Length |           Reserved              |
    /// |                    Lifetime                      |
    /// |   addresses (16 octets each) or domain names     |
    /// ```
    pub const DNS_LIFETIME: Range<usize> = 4..8;
    pub const DNS_DATA: usize = 8;

    /// PREF64, RFC 8781 §4:
    /// ```text
    /// | Type  | Length |  Scaled Lifetime (13) | PLC (3)|
    /// |        Highest 96 bits of the prefix             |
    /// ```
    pub const PREF64_LIFETIME_PLC: Range<usize> = 2..4;
    pub const PREF64_PREFIX: Range<usize> = 4..16;
}

/// RFC 4861 §4.6: lengths are in units of 8 octets.
const UNIT: usize = 8;

/// A Prefix Information option (RFC 4861 §4.6.2, flags R from RFC 6275
/// §7.2 and P from RFC 9762). The prefix is kept as received, host bits
/// included; `v6edge-prefix` validates it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefixInfo {
    pub prefix_len: u8,
    /// L: the prefix is on-link.
    pub on_link: bool,
    /// A: usable for SLAAC (RFC 4862).
    pub autonomous: bool,
    /// R: `prefix` holds the router's full address (RFC 6275 §7.2).
    pub router_addr: bool,
    /// P: the network prefers DHCPv6 PD for this prefix (RFC 9762).
    pub pd_preferred: bool,
    /// The four low flag bits (Reserved1), kept so re-emit is exact.
    pub reserved1: u8,
    pub valid: Lifetime,
    pub preferred: Lifetime,
    /// Reserved2, kept so re-emit is exact.
    pub reserved2: u32,
    pub prefix: Ipv6Addr,
}

impl PrefixInfo {
    /// The masks of L, A, R and P, in that order.
    const FLAGS: [u8; 4] = [0x80, 0x40, 0x20, 0x10];
    const RESERVED1: u8 = 0x0f;

    /// An on-link, autonomous prefix with the other flags and reserved
    /// fields clear: the usual SLAAC prefix.
    pub fn new(prefix: Ipv6Addr, prefix_len: u8, valid: Lifetime, preferred: Lifetime) -> Self {
        PrefixInfo {
            prefix_len,
            on_link: true,
            autonomous: true,
            router_addr: false,
            pd_preferred: false,
            reserved1: 0,
            valid,
            preferred,
            reserved2: 0,
            prefix,
        }
    }

    fn flags(&self) -> u8 {
        let set = [
            self.on_link,
            self.autonomous,
            self.router_addr,
            self.pd_preferred,
        ];
        pack_flags(self.reserved1 & Self::RESERVED1, Self::FLAGS, set)
    }
}

/// A Route Information option (RFC 4191 §2.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteInfo {
    pub prefix_len: u8,
    pub preference: RouterPreference,
    /// 0xffffffff is infinity (RFC 4191 §2.3).
    pub lifetime: Lifetime,
    /// Only the first 0, 8 or 16 octets travel, per `length`; parse fills
    /// the rest with zeros.
    pub prefix: Ipv6Addr,
    /// The flag bits around Prf (mask 0xe7), kept so re-emit is exact.
    pub reserved: u8,
    /// The Length field (1, 2 or 3 units). Emit raises it to the minimum
    /// the prefix length needs and caps it at 3; [`RouteInfo::new`] picks
    /// the minimum.
    pub length: u8,
}

impl RouteInfo {
    const PRF_MASK: u8 = 0x18;
    const PRF_SHIFT: u32 = 3;

    pub fn new(
        prefix: Ipv6Addr,
        prefix_len: u8,
        preference: RouterPreference,
        lifetime: Lifetime,
    ) -> Self {
        RouteInfo {
            prefix_len,
            preference,
            lifetime,
            prefix,
            reserved: 0,
            length: Self::min_units(prefix_len),
        }
    }

    /// RFC 4191 §2.3: length 3 above /64, at least 2 above /0.
    fn min_units(prefix_len: u8) -> u8 {
        match prefix_len {
            0 => 1,
            1..=64 => 2,
            _ => 3,
        }
    }

    fn wire_units(&self) -> u8 {
        self.length.clamp(Self::min_units(self.prefix_len), 3)
    }

    fn prefix_octets(&self) -> usize {
        (usize::from(self.wire_units()) - 1) * UNIT
    }
}

/// A Recursive DNS Server option (RFC 8106 §5.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rdnss {
    pub lifetime: Lifetime,
    pub servers: Vec<Ipv6Addr>,
    /// Kept so re-emit is exact.
    pub reserved: u16,
}

impl Rdnss {
    pub fn new(lifetime: Lifetime, servers: Vec<Ipv6Addr>) -> Self {
        Rdnss {
            lifetime,
            servers,
            reserved: 0,
        }
    }
}

/// A DNS Search List option (RFC 8106 §5.2). Domains are dotted strings
/// without a trailing dot (`"lab.example"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dnssl {
    pub lifetime: Lifetime,
    pub domains: Vec<String>,
    /// Kept so re-emit is exact.
    pub reserved: u16,
    /// Zero octets after the last name. Emit rounds it up to reach an
    /// 8-octet boundary; [`Dnssl::new`] uses the minimum.
    pub padding: usize,
}

impl Dnssl {
    pub fn new(lifetime: Lifetime, domains: Vec<String>) -> Self {
        let mut d = Dnssl {
            lifetime,
            domains,
            reserved: 0,
            padding: 0,
        };
        d.padding =
            pad_to_unit(field::DNS_DATA + d.names_len()) - (field::DNS_DATA + d.names_len());
        d
    }

    fn names_len(&self) -> usize {
        self.domains.iter().map(|d| dotted_wire_len(d)).sum()
    }
}

/// A PREF64 option (RFC 8781 §4): the NAT64 prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pref64 {
    /// Lifetime in units of 8 seconds, 13 bits (max 8191).
    pub scaled_lifetime: u16,
    /// Prefix Length Code, 3 bits; see [`Pref64::prefix_len`].
    pub plc: u8,
    /// The highest 96 bits travel; the last 4 octets are zero after parse
    /// and ignored by emit.
    pub prefix: Ipv6Addr,
}

impl Pref64 {
    const PLC_MASK: u16 = 0x0007;
    const MAX_SCALED: u16 = 0x1fff;

    /// `None` when `prefix_len` is not one RFC 8781 §4 can code
    /// (96, 64, 56, 48, 40, 32). The lifetime is rounded up to the next
    /// multiple of 8 s and capped at 65528 s.
    pub fn new(lifetime_secs: u32, prefix_len: u8, prefix: Ipv6Addr) -> Option<Self> {
        let plc = match prefix_len {
            96 => 0,
            64 => 1,
            56 => 2,
            48 => 3,
            40 => 4,
            32 => 5,
            _ => return None,
        };
        let scaled = lifetime_secs.div_ceil(8).min(u32::from(Self::MAX_SCALED));
        // Capped at 13 bits just above.
        Some(Pref64 {
            scaled_lifetime: scaled as u16,
            plc,
            prefix,
        })
    }

    pub fn lifetime_secs(&self) -> u32 {
        u32::from(self.scaled_lifetime) * 8
    }

    /// RFC 8781 §4: PLC 0..=5 code /96, /64, /56, /48, /40, /32; 6 and 7 are
    /// invalid and a host must ignore the option (the codec keeps it).
    pub fn prefix_len(&self) -> Option<u8> {
        match self.plc {
            0 => Some(96),
            1 => Some(64),
            2 => Some(56),
            3 => Some(48),
            4 => Some(40),
            5 => Some(32),
            _ => None,
        }
    }
}

/// A Home Agent Information option (RFC 6275 §7.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HomeAgentInfo {
    /// The 16 bits after Length. RFC 3963 §7.1 gives the top bit to the
    /// Mobile Router Support (R) flag; see [`HomeAgentInfo::mobile_router`].
    pub reserved: u16,
    /// RFC 6275 §7.4: a 16-bit signed two's complement integer, higher is
    /// more preferable.
    pub preference: i16,
    /// Seconds.
    pub lifetime: u16,
}

impl HomeAgentInfo {
    /// RFC 3963 §7.1: the home agent supports mobile routers (NEMO).
    pub fn mobile_router(&self) -> bool {
        self.reserved & 0x8000 != 0
    }
}

/// A Captive-Portal option (RFC 8910 §2.3). The URI is kept as octets;
/// trailing NULs are padding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptivePortal {
    pub uri: Vec<u8>,
    /// NUL octets after the URI; emit rounds it up to an 8-octet boundary.
    pub padding: usize,
}

impl CaptivePortal {
    pub fn new(uri: &str) -> Self {
        let uri = uri.as_bytes().to_vec();
        let padding = pad_to_unit(field::DATA + uri.len()) - (field::DATA + uri.len());
        CaptivePortal { uri, padding }
    }

    pub fn uri_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.uri).ok()
    }
}

/// One ND option, in the order it appeared.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NdOption {
    /// Type 1 (RFC 4861 §4.6.1): the link-layer address, with any padding,
    /// as the octets after Length (6 for Ethernet).
    SourceLla(Vec<u8>),
    /// Type 2 (RFC 4861 §4.6.1), same shape.
    TargetLla(Vec<u8>),
    /// Type 3 (RFC 4861 §4.6.2).
    PrefixInfo(PrefixInfo),
    /// Type 4 (RFC 4861 §4.6.3): the octets after Length, i.e. the 6
    /// reserved octets then the redirected packet.
    RedirectedHeader(Vec<u8>),
    /// Type 5 (RFC 4861 §4.6.4).
    Mtu { mtu: u32, reserved: u16 },
    /// Type 7 (RFC 6275 §7.3): milliseconds between unsolicited RAs.
    AdvInterval { interval_ms: u32, reserved: u16 },
    /// Type 8 (RFC 6275 §7.4).
    HomeAgentInfo(HomeAgentInfo),
    /// Type 24 (RFC 4191 §2.3).
    RouteInfo(RouteInfo),
    /// Type 25 (RFC 8106 §5.1).
    Rdnss(Rdnss),
    /// Type 31 (RFC 8106 §5.2).
    Dnssl(Dnssl),
    /// Type 37 (RFC 8910 §2.3).
    CaptivePortal(CaptivePortal),
    /// Type 38 (RFC 8781 §4).
    Pref64(Pref64),
    /// Any other type, e.g. Nonce (14) or ABRO (35): the octets after
    /// Length, byte-exact.
    Unknown { kind: u8, data: Vec<u8> },
}

impl NdOption {
    pub const SOURCE_LLA: u8 = 1;
    pub const TARGET_LLA: u8 = 2;
    pub const PREFIX_INFO: u8 = 3;
    pub const REDIRECTED_HEADER: u8 = 4;
    pub const MTU: u8 = 5;
    pub const ADV_INTERVAL: u8 = 7;
    pub const HOME_AGENT_INFO: u8 = 8;
    pub const ROUTE_INFO: u8 = 24;
    pub const RDNSS: u8 = 25;
    pub const DNSSL: u8 = 31;
    pub const CAPTIVE_PORTAL: u8 = 37;
    pub const PREF64: u8 = 38;

    /// An MTU option with the reserved field clear.
    pub fn mtu(mtu: u32) -> Self {
        NdOption::Mtu { mtu, reserved: 0 }
    }

    /// The option Type octet.
    pub fn kind(&self) -> u8 {
        match self {
            NdOption::SourceLla(_) => Self::SOURCE_LLA,
            NdOption::TargetLla(_) => Self::TARGET_LLA,
            NdOption::PrefixInfo(_) => Self::PREFIX_INFO,
            NdOption::RedirectedHeader(_) => Self::REDIRECTED_HEADER,
            NdOption::Mtu { .. } => Self::MTU,
            NdOption::AdvInterval { .. } => Self::ADV_INTERVAL,
            NdOption::HomeAgentInfo(_) => Self::HOME_AGENT_INFO,
            NdOption::RouteInfo(_) => Self::ROUTE_INFO,
            NdOption::Rdnss(_) => Self::RDNSS,
            NdOption::Dnssl(_) => Self::DNSSL,
            NdOption::CaptivePortal(_) => Self::CAPTIVE_PORTAL,
            NdOption::Pref64(_) => Self::PREF64,
            NdOption::Unknown { kind, .. } => *kind,
        }
    }

    /// Octets after Type and Length before padding.
    fn data_len(&self) -> usize {
        match self {
            NdOption::SourceLla(d) | NdOption::TargetLla(d) | NdOption::RedirectedHeader(d) => {
                d.len()
            }
            NdOption::Unknown { data, .. } => data.len(),
            NdOption::PrefixInfo(_) => 30,
            NdOption::Mtu { .. } | NdOption::AdvInterval { .. } | NdOption::HomeAgentInfo(_) => 6,
            NdOption::RouteInfo(r) => 6 + r.prefix_octets(),
            NdOption::Rdnss(r) => 6 + 16 * r.servers.len(),
            NdOption::Dnssl(d) => 6 + d.names_len() + d.padding,
            NdOption::CaptivePortal(c) => c.uri.len() + c.padding,
            NdOption::Pref64(_) => 14,
        }
    }

    /// Octets this option occupies on the wire: a multiple of 8, at least 8.
    pub fn buffer_len(&self) -> usize {
        pad_to_unit(field::DATA + self.data_len())
    }

    /// Writes exactly `buffer_len()` octets. Values longer than the Length
    /// octet can describe get a wrong Length (see `NdMessage::validate`).
    pub(crate) fn emit(&self, w: &mut Writer<'_>) {
        let total = self.buffer_len();
        let start = w.position();
        w.put_u8(self.kind());
        // Saturates only for options over 2040 octets, which validate rejects.
        w.put_u8(u8::try_from(total / UNIT).unwrap_or(u8::MAX));
        match self {
            NdOption::SourceLla(d) | NdOption::TargetLla(d) | NdOption::RedirectedHeader(d) => {
                w.put_slice(d)
            }
            NdOption::Unknown { data, .. } => w.put_slice(data),
            NdOption::PrefixInfo(p) => {
                w.put_u8(p.prefix_len);
                w.put_u8(p.flags());
                w.put_lifetime(p.valid);
                w.put_lifetime(p.preferred);
                w.put_u32(p.reserved2);
                w.put_ipv6(p.prefix);
            }
            NdOption::Mtu {
                mtu: value,
                reserved,
            }
            | NdOption::AdvInterval {
                interval_ms: value,
                reserved,
            } => {
                w.put_u16(*reserved);
                w.put_u32(*value);
            }
            NdOption::HomeAgentInfo(h) => {
                w.put_u16(h.reserved);
                // RFC 6275 §7.4: two's complement on the wire.
                w.put_u16(h.preference as u16);
                w.put_u16(h.lifetime);
            }
            NdOption::RouteInfo(r) => {
                w.put_u8(r.prefix_len);
                w.put_u8(
                    (r.reserved & !RouteInfo::PRF_MASK)
                        | (r.preference.to_bits() << RouteInfo::PRF_SHIFT),
                );
                w.put_lifetime(r.lifetime);
                w.put_addr_prefix(r.prefix, r.prefix_octets());
            }
            NdOption::Rdnss(r) => {
                w.put_u16(r.reserved);
                w.put_lifetime(r.lifetime);
                for s in &r.servers {
                    w.put_ipv6(*s);
                }
            }
            NdOption::Dnssl(d) => {
                w.put_u16(d.reserved);
                w.put_lifetime(d.lifetime);
                for domain in &d.domains {
                    // Empty labels dropped, long ones cut at 63 octets;
                    // validate reports a domain that changes.
                    put_dotted(w, domain);
                }
            }
            NdOption::CaptivePortal(c) => w.put_slice(&c.uri),
            NdOption::Pref64(p) => {
                w.put_u16(
                    (p.scaled_lifetime.min(Pref64::MAX_SCALED) << 3)
                        | (u16::from(p.plc) & Pref64::PLC_MASK),
                );
                // RFC 8781 §4: only the highest 96 bits travel.
                w.put_addr_prefix(p.prefix, field::PREF64_PREFIX.len());
            }
        }
        // Padding (RFC 4861 §4.6: to the 8-octet boundary) and the declared
        // padding of DNSSL / Captive Portal are zeros.
        w.put_zeros(start + total - w.position());
    }
}

/// Rounds up to a whole number of 8-octet units, at least one.
fn pad_to_unit(len: usize) -> usize {
    round_up(len.max(1), UNIT)
}

/// A closure for `filter_map`/`find_map` over options: `Some(value)` for
/// the options matching `pattern`, `None` for the others.
macro_rules! pick {
    ($pattern:pat => $value:expr) => {
        |o| match o {
            $pattern => Some($value),
            _ => None,
        }
    };
}

/// The options of one message, in wire order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NdOptions(Vec<NdOption>);

impl NdOptions {
    pub fn new() -> Self {
        NdOptions(Vec::new())
    }

    pub fn push(&mut self, option: NdOption) {
        self.0.push(option);
    }

    /// Builder form of [`NdOptions::push`].
    pub fn with(mut self, option: NdOption) -> Self {
        self.0.push(option);
        self
    }

    pub fn iter(&self) -> std::slice::Iter<'_, NdOption> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn as_slice(&self) -> &[NdOption] {
        &self.0
    }

    pub fn into_vec(self) -> Vec<NdOption> {
        self.0
    }

    pub fn prefixes(&self) -> impl Iterator<Item = &PrefixInfo> {
        self.iter().filter_map(pick!(NdOption::PrefixInfo(p) => p))
    }

    pub fn route_infos(&self) -> impl Iterator<Item = &RouteInfo> {
        self.iter().filter_map(pick!(NdOption::RouteInfo(r) => r))
    }

    pub fn rdnss(&self) -> impl Iterator<Item = &Rdnss> {
        self.iter().filter_map(pick!(NdOption::Rdnss(r) => r))
    }

    pub fn dnssl(&self) -> impl Iterator<Item = &Dnssl> {
        self.iter().filter_map(pick!(NdOption::Dnssl(d) => d))
    }

    pub fn pref64(&self) -> impl Iterator<Item = &Pref64> {
        self.iter().filter_map(pick!(NdOption::Pref64(p) => p))
    }

    /// The first MTU option's value.
    pub fn mtu(&self) -> Option<u32> {
        self.iter()
            .find_map(pick!(NdOption::Mtu { mtu, .. } => *mtu))
    }

    /// The first Source Link-Layer Address option's octets.
    pub fn source_lla(&self) -> Option<&[u8]> {
        self.iter()
            .find_map(pick!(NdOption::SourceLla(d) => d.as_slice()))
    }

    /// The first Target Link-Layer Address option's octets.
    pub fn target_lla(&self) -> Option<&[u8]> {
        self.iter()
            .find_map(pick!(NdOption::TargetLla(d) => d.as_slice()))
    }

    /// The first Redirected Header option's octets after its 6 reserved
    /// octets: the start of the redirected packet (RFC 4861 §4.6.3).
    pub fn redirected_packet(&self) -> Option<&[u8]> {
        self.iter()
            .find_map(pick!(NdOption::RedirectedHeader(d) => d.get(6..).unwrap_or(&[])))
    }

    pub fn adv_interval_ms(&self) -> Option<u32> {
        self.iter()
            .find_map(pick!(NdOption::AdvInterval { interval_ms, .. } => *interval_ms))
    }

    pub fn home_agent_info(&self) -> Option<&HomeAgentInfo> {
        self.iter().find_map(pick!(NdOption::HomeAgentInfo(h) => h))
    }

    pub fn captive_portal(&self) -> Option<&CaptivePortal> {
        self.iter().find_map(pick!(NdOption::CaptivePortal(c) => c))
    }

    pub fn buffer_len(&self) -> usize {
        self.iter().map(NdOption::buffer_len).sum()
    }

    pub(crate) fn emit(&self, w: &mut Writer<'_>) {
        for o in self.iter() {
            o.emit(w);
        }
    }

    /// Parses the options area of a message (`area` knows its offset in
    /// the ICMPv6 message, for error reporting).
    pub(crate) fn parse(area: Reader<'_>) -> Result<Self, NdError> {
        let mut options = Vec::new();
        let mut rest = area;
        while !rest.is_empty() {
            let [kind, units] = rest.get_array(field::TYPE)?;
            let rest_as_option = rest.in_option(kind);
            // RFC 4861 §4.6: "Nodes MUST silently discard an ND packet that
            // contains an option with length zero."
            if units == 0 {
                return Err(rest_as_option.error_at(NdErrorKind::ZeroLength, field::TYPE));
            }
            let (this, tail) = rest_as_option.split(usize::from(units) * UNIT)?;
            options.push(parse_one(kind, units, this)?);
            rest = tail;
        }
        Ok(NdOptions(options))
    }
}

impl From<Vec<NdOption>> for NdOptions {
    fn from(v: Vec<NdOption>) -> Self {
        NdOptions(v)
    }
}

impl FromIterator<NdOption> for NdOptions {
    fn from_iter<I: IntoIterator<Item = NdOption>>(iter: I) -> Self {
        NdOptions(iter.into_iter().collect())
    }
}

impl<'a> IntoIterator for &'a NdOptions {
    type Item = &'a NdOption;
    type IntoIter = std::slice::Iter<'a, NdOption>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl IntoIterator for NdOptions {
    type Item = NdOption;
    type IntoIter = std::vec::IntoIter<NdOption>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// Decodes one option; `opt` is exactly `units * 8` octets (at least 8),
/// Type first, and reports errors against this option.
fn parse_one(kind: u8, units: u8, opt: Reader<'_>) -> Result<NdOption, NdError> {
    debug_assert_eq!(opt.get_u8(field::TYPE), Ok(kind));
    let data = opt.tail(field::DATA);
    let bad_len = || opt.error_at(NdErrorKind::BadLength { units }, field::LENGTH);
    match kind {
        NdOption::SOURCE_LLA => Ok(NdOption::SourceLla(data.to_vec())),
        NdOption::TARGET_LLA => Ok(NdOption::TargetLla(data.to_vec())),
        NdOption::REDIRECTED_HEADER => Ok(NdOption::RedirectedHeader(data.to_vec())),
        NdOption::PREFIX_INFO => {
            // RFC 4861 §4.6.2: Length is 4.
            if units != 4 {
                return Err(bad_len());
            }
            let prefix_len = opt.get_u8(field::pio::PREFIX_LEN)?;
            if prefix_len > 128 {
                return Err(bad_value(&opt, "prefix length", field::pio::PREFIX_LEN));
            }
            let flags = opt.get_u8(field::pio::FLAGS)?;
            let [on_link, autonomous, router_addr, pd_preferred] =
                unpack_flags(flags, PrefixInfo::FLAGS);
            Ok(NdOption::PrefixInfo(PrefixInfo {
                prefix_len,
                on_link,
                autonomous,
                router_addr,
                pd_preferred,
                reserved1: flags & PrefixInfo::RESERVED1,
                valid: opt.get_lifetime(field::pio::VALID)?,
                preferred: opt.get_lifetime(field::pio::PREFERRED)?,
                reserved2: opt.get_u32(field::pio::RESERVED2)?,
                prefix: opt.get_ipv6(field::pio::PREFIX)?,
            }))
        }
        NdOption::MTU | NdOption::ADV_INTERVAL | NdOption::HOME_AGENT_INFO => {
            // RFC 4861 §4.6.4, RFC 6275 §7.3 and §7.4: Length is 1.
            if units != 1 {
                return Err(bad_len());
            }
            let reserved = opt.get_u16(field::RESERVED16)?;
            Ok(match kind {
                NdOption::MTU => NdOption::Mtu {
                    mtu: opt.get_u32(field::VALUE32)?,
                    reserved,
                },
                NdOption::ADV_INTERVAL => NdOption::AdvInterval {
                    interval_ms: opt.get_u32(field::VALUE32)?,
                    reserved,
                },
                _ => NdOption::HomeAgentInfo(HomeAgentInfo {
                    reserved,
                    // RFC 6275 §7.4: signed, two's complement.
                    preference: opt.get_u16(field::HA_PREFERENCE)? as i16,
                    lifetime: opt.get_u16(field::HA_LIFETIME)?,
                }),
            })
        }
        NdOption::ROUTE_INFO => {
            let prefix_len = opt.get_u8(field::rio::PREFIX_LEN)?;
            // RFC 4191 §2.3: Length is 1, 2 or 3; above /0 at least 2, above
            // /64 exactly 3. §3.1 says a host ignores such an option; we
            // report it instead of dropping it unseen.
            if prefix_len > 128 {
                return Err(bad_value(&opt, "prefix length", field::rio::PREFIX_LEN));
            }
            if units > 3 || units < RouteInfo::min_units(prefix_len) {
                return Err(bad_len());
            }
            let flags = opt.get_u8(field::rio::FLAGS)?;
            Ok(NdOption::RouteInfo(RouteInfo {
                prefix_len,
                preference: RouterPreference::from_bits(
                    (flags & RouteInfo::PRF_MASK) >> RouteInfo::PRF_SHIFT,
                ),
                lifetime: opt.get_lifetime(field::rio::LIFETIME)?,
                // At most 16 octets: units <= 3 was checked above.
                prefix: opt.get_addr_prefix(field::rio::PREFIX..opt.len())?,
                reserved: flags & !RouteInfo::PRF_MASK,
                length: units,
            }))
        }
        NdOption::RDNSS => {
            // RFC 8106 §5.1: Length is 3 + 2 * (number of addresses), so odd
            // and at least 3.
            if units < 3 || units.is_multiple_of(2) {
                return Err(bad_len());
            }
            // The length check leaves no partial address.
            let (servers, _) = opt.tail(field::DNS_DATA).as_chunks::<16>();
            Ok(NdOption::Rdnss(Rdnss {
                lifetime: opt.get_lifetime(field::DNS_LIFETIME)?,
                servers: servers.iter().map(|&a| Ipv6Addr::from(a)).collect(),
                reserved: opt.get_u16(field::RESERVED16)?,
            }))
        }
        NdOption::DNSSL => {
            // RFC 8106 §5.2: the minimum Length is 2.
            if units < 2 {
                return Err(bad_len());
            }
            let (domains, padding) = parse_domains(opt.view_from(field::DNS_DATA))?;
            Ok(NdOption::Dnssl(Dnssl {
                lifetime: opt.get_lifetime(field::DNS_LIFETIME)?,
                domains,
                reserved: opt.get_u16(field::RESERVED16)?,
                padding,
            }))
        }
        NdOption::PREF64 => {
            // RFC 8781 §4: Length is 2.
            if units != 2 {
                return Err(bad_len());
            }
            let word = opt.get_u16(field::PREF64_LIFETIME_PLC)?;
            Ok(NdOption::Pref64(Pref64 {
                scaled_lifetime: word >> 3,
                // Masked to 3 bits.
                plc: (word & Pref64::PLC_MASK) as u8,
                prefix: opt.get_addr_prefix(field::PREF64_PREFIX)?,
            }))
        }
        NdOption::CAPTIVE_PORTAL => {
            // RFC 8910 §2.3: the URI, then NULs up to the 8-octet boundary.
            let padding = data.iter().rev().take_while(|&&b| b == 0).count();
            let uri = data.get(..data.len() - padding).unwrap_or_default();
            Ok(NdOption::CaptivePortal(CaptivePortal {
                uri: uri.to_vec(),
                padding,
            }))
        }
        _ => Ok(NdOption::Unknown {
            kind,
            data: data.to_vec(),
        }),
    }
}

/// RFC 8106 §5.2: uncompressed DNS names (RFC 1035 §3.1), then zero
/// padding, in `area` (the option from its names on). Returns the names as
/// dotted strings and the padding length.
fn parse_domains(area: Reader<'_>) -> Result<(Vec<String>, usize), NdError> {
    let mut names = area;
    let mut domains = Vec::new();
    while let Ok(first) = names.peek_u8() {
        if first == 0 {
            // Everything from here on must be padding. A non-zero octet after
            // a zero would be a root name inside the list, which no dotted
            // string can carry.
            let start = names.offset();
            let padding = names.rest();
            if let Some(bad) = padding.iter().position(|&b| b != 0) {
                let kind = NdErrorKind::BadValue {
                    field: "DNSSL padding",
                };
                return Err(area.error_at_offset(kind, start + bad));
            }
            return finish(area, domains, padding.len());
        }
        let name = DomainName::read(&mut names).map_err(|fault| name_error(&area, fault))?;
        domains.push(name.into_string());
    }
    finish(area, domains, 0)
}

/// The error this codec reports for a bad DNSSL name: the first of "runs
/// past the option", "label character", "longer than 255 octets" that
/// holds, at the octet it concerns.
fn name_error(area: &Reader<'_>, fault: NameFault) -> NdError {
    let (field, offset) = match fault {
        NameFault::Unterminated { name_start, .. } => {
            ("DNSSL name runs past the option", name_start)
        }
        // Lengths 64..=255 are compression pointers or reserved label
        // types (RFC 1035 §4.1.4); RFC 8106 §5.2 forbids compression.
        NameFault::LabelLength { at } => ("DNSSL label length", at),
        NameFault::Label {
            runs_past: Some(_),
            at,
            ..
        } => ("DNSSL name runs past the option", at),
        NameFault::Label {
            bad_octet: Some(octet),
            ..
        } => ("DNSSL label character", octet),
        // Neither of the above: the name is too long.
        NameFault::Label { name_start, .. } => ("DNSSL name longer than 255 octets", name_start),
    };
    area.error_at_offset(NdErrorKind::BadValue { field }, offset)
}

fn finish(
    area: Reader<'_>,
    domains: Vec<String>,
    padding: usize,
) -> Result<(Vec<String>, usize), NdError> {
    // RFC 8106 §5.2: "One or more domain names".
    if domains.is_empty() {
        return Err(bad_value(&area, "DNSSL without a domain name", 0));
    }
    Ok((domains, padding))
}
