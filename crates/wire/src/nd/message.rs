//! The five Neighbor Discovery messages (RFC 4861 §4.1–§4.5), from the
//! ICMPv6 type octet on.

use std::net::Ipv6Addr;

use super::Reader;
use super::error::{NdError, NdErrorKind};
use super::icmpv6::{self, field as env};
use super::option::{NdOption, NdOptions};
use crate::codec::Writer;
use crate::codec::flags::{pack_flags, unpack_flags};

/// Offsets of the fixed parts, counted from the ICMPv6 type octet.
mod field {
    use std::ops::Range;

    /// RS, NS, NA and Redirect all start with 32 bits of flags/reserved.
    pub const WORD: Range<usize> = 4..8;
    /// NS, NA and Redirect: Target Address.
    pub const TARGET: Range<usize> = 8..24;

    /// Router Solicitation, RFC 4861 §4.1:
    /// ```text
    /// | Type=133 | Code | Checksum |
    /// |          Reserved          |
    /// | Options ...
    /// ```
    pub const RS_OPTIONS: usize = 8;

    /// Router Advertisement, RFC 4861 §4.2 (H: RFC 6275 §7.1, Prf: RFC 4191
    /// §2.2, P: RFC 4389 §4.1.3.3):
    /// ```text
    /// | Type=134 | Code | Checksum                         |
    /// | Cur Hop Limit |M|O|H|Prf|P|R|R| Router Lifetime     |
    /// |                  Reachable Time                     |
    /// |                   Retrans Timer                     |
    /// | Options ...
    /// ```
    pub const RA_HOP_LIMIT: usize = 4;
    pub const RA_FLAGS: usize = 5;
    pub const RA_LIFETIME: Range<usize> = 6..8;
    pub const RA_REACHABLE: Range<usize> = 8..12;
    pub const RA_RETRANS: Range<usize> = 12..16;
    pub const RA_OPTIONS: usize = 16;

    /// Neighbor Solicitation (§4.3) and Advertisement (§4.4):
    /// ```text
    /// | Type=135/136 | Code | Checksum      |
    /// |R|S|O|     Reserved (NS: all 32)     |
    /// |     Target Address (16 octets)      |
    /// | Options ...
    /// ```
    pub const NS_NA_OPTIONS: usize = 24;

    /// Redirect, §4.5:
    /// ```text
    /// | Type=137 | Code | Checksum           |
    /// |            Reserved                 |
    /// |     Target Address (16 octets)      |
    /// |  Destination Address (16 octets)    |
    /// | Options ...
    /// ```
    pub const REDIRECT_DESTINATION: Range<usize> = 24..40;
    pub const REDIRECT_OPTIONS: usize = 40;
}

/// Default Router Preference (RFC 4191 §2.1), also the Route Preference of
/// a Route Information option (§2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RouterPreference {
    /// 11
    Low,
    /// 00
    #[default]
    Medium,
    /// 01
    High,
    /// 10: must not be sent; RFC 4191 §2.2 has a receiver treat it as
    /// Medium in an RA header, §3.1 ignore a RIO carrying it. Kept as a
    /// value so the decision stays with the receiver.
    Reserved,
}

impl RouterPreference {
    /// From the 2-bit field (higher bits ignored).
    pub fn from_bits(bits: u8) -> Self {
        match bits & 0b11 {
            0b00 => RouterPreference::Medium,
            0b01 => RouterPreference::High,
            0b10 => RouterPreference::Reserved,
            _ => RouterPreference::Low,
        }
    }

    /// The 2-bit field value.
    pub fn to_bits(self) -> u8 {
        match self {
            RouterPreference::Medium => 0b00,
            RouterPreference::High => 0b01,
            RouterPreference::Reserved => 0b10,
            RouterPreference::Low => 0b11,
        }
    }
}

/// The RA flags octet: M and O (RFC 4861 §4.2), H (RFC 6275 §7.1), Prf
/// (RFC 4191 §2.2), P (RFC 4389 §4.1.3.3), and the two reserved low bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RaFlags {
    /// M: addresses are available via DHCPv6.
    pub managed: bool,
    /// O: other configuration is available via DHCPv6.
    pub other: bool,
    /// H: the router is a Mobile IPv6 home agent.
    pub home_agent: bool,
    pub preference: RouterPreference,
    /// P: the RA was proxied (ND Proxy, RFC 4389).
    pub proxy: bool,
    /// The two reserved bits (mask 0x03), kept so re-emit is exact.
    pub reserved: u8,
}

impl RaFlags {
    /// The masks of M, O, H and P, in that order.
    const FLAGS: [u8; 4] = [0x80, 0x40, 0x20, 0x04];
    const PRF_SHIFT: u32 = 3;
    const RESERVED: u8 = 0x03;

    pub fn from_bits(bits: u8) -> Self {
        let [managed, other, home_agent, proxy] = unpack_flags(bits, Self::FLAGS);
        RaFlags {
            managed,
            other,
            home_agent,
            preference: RouterPreference::from_bits(bits >> Self::PRF_SHIFT),
            proxy,
            reserved: bits & Self::RESERVED,
        }
    }

    pub fn to_bits(self) -> u8 {
        let rest =
            (self.reserved & Self::RESERVED) | (self.preference.to_bits() << Self::PRF_SHIFT);
        let set = [self.managed, self.other, self.home_agent, self.proxy];
        pack_flags(rest, Self::FLAGS, set)
    }
}

/// Router Solicitation (RFC 4861 §4.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RouterSolicit {
    /// Kept so re-emit is exact.
    pub reserved: u32,
    pub options: NdOptions,
}

impl RouterSolicit {
    /// An RS carrying `lla` as Source Link-Layer Address, or none when the
    /// source will be the unspecified address (RFC 4861 §4.1 forbids it then).
    pub fn new(lla: Option<&[u8]>) -> Self {
        let mut options = NdOptions::new();
        if let Some(lla) = lla {
            options.push(super::NdOption::SourceLla(lla.to_vec()));
        }
        RouterSolicit {
            reserved: 0,
            options,
        }
    }

    pub fn source_lla(&self) -> Option<&[u8]> {
        self.options.source_lla()
    }
}

/// Router Advertisement (RFC 4861 §4.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RouterAdvert {
    /// 0 means unspecified.
    pub cur_hop_limit: u8,
    pub flags: RaFlags,
    /// Seconds; 0 means "not a default router" (RFC 4861 §4.2).
    pub router_lifetime: u16,
    /// Milliseconds; 0 means unspecified.
    pub reachable_time: u32,
    /// Milliseconds; 0 means unspecified.
    pub retrans_timer: u32,
    pub options: NdOptions,
}

impl RouterAdvert {
    /// An RA with Medium preference, no flags, unspecified reachable and
    /// retransmission timers and no options; add them with `options.push`.
    pub fn new(cur_hop_limit: u8, router_lifetime: u16) -> Self {
        RouterAdvert {
            cur_hop_limit,
            router_lifetime,
            ..RouterAdvert::default()
        }
    }

    pub fn source_lla(&self) -> Option<&[u8]> {
        self.options.source_lla()
    }
}

/// Neighbor Solicitation (RFC 4861 §4.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeighborSolicit {
    pub reserved: u32,
    pub target: Ipv6Addr,
    pub options: NdOptions,
}

impl NeighborSolicit {
    pub fn new(target: Ipv6Addr) -> Self {
        NeighborSolicit {
            reserved: 0,
            target,
            options: NdOptions::new(),
        }
    }

    pub fn source_lla(&self) -> Option<&[u8]> {
        self.options.source_lla()
    }
}

/// Neighbor Advertisement (RFC 4861 §4.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeighborAdvert {
    /// R: the sender is a router.
    pub router: bool,
    /// S: sent in response to a solicitation.
    pub solicited: bool,
    /// O: override an existing cache entry.
    pub override_flag: bool,
    /// The 29 reserved bits (mask 0x1fff_ffff), kept so re-emit is exact.
    pub reserved: u32,
    pub target: Ipv6Addr,
    pub options: NdOptions,
}

impl NeighborAdvert {
    /// The masks of R, S and O, in that order.
    const FLAGS: [u32; 3] = [0x8000_0000, 0x4000_0000, 0x2000_0000];
    const RESERVED: u32 = 0x1fff_ffff;

    pub fn new(target: Ipv6Addr, router: bool, solicited: bool, override_flag: bool) -> Self {
        NeighborAdvert {
            router,
            solicited,
            override_flag,
            reserved: 0,
            target,
            options: NdOptions::new(),
        }
    }

    pub fn target_lla(&self) -> Option<&[u8]> {
        self.options.target_lla()
    }

    fn word(&self) -> u32 {
        let set = [self.router, self.solicited, self.override_flag];
        pack_flags(self.reserved & Self::RESERVED, Self::FLAGS, set)
    }
}

/// Redirect (RFC 4861 §4.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    pub reserved: u32,
    /// The better first hop.
    pub target: Ipv6Addr,
    /// The destination being redirected.
    pub destination: Ipv6Addr,
    pub options: NdOptions,
}

impl Redirect {
    pub fn new(target: Ipv6Addr, destination: Ipv6Addr) -> Self {
        Redirect {
            reserved: 0,
            target,
            destination,
            options: NdOptions::new(),
        }
    }
}

/// A Neighbor Discovery message.
///
/// The checksum is not part of the value: [`NdMessage::parse`] ignores it
/// (check it with [`super::verify_checksum`]), [`NdMessage::emit`] writes 0
/// there (the Linux raw ICMPv6 socket fills it in on send), and
/// [`NdMessage::emit_with_checksum`] computes it. Hence "accepted bytes
/// re-emit identically" holds for every octet but 2 and 3, and for those
/// too with `emit_with_checksum` when the received checksum was valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NdMessage {
    RouterSolicit(RouterSolicit),
    RouterAdvert(RouterAdvert),
    NeighborSolicit(NeighborSolicit),
    NeighborAdvert(NeighborAdvert),
    Redirect(Redirect),
}

/// `$body` on whichever message `$message` holds, bound to `$m`: for the
/// parts all five have in common.
macro_rules! each_message {
    ($message:expr, $m:ident => $body:expr) => {
        match $message {
            NdMessage::RouterSolicit($m) => $body,
            NdMessage::RouterAdvert($m) => $body,
            NdMessage::NeighborSolicit($m) => $body,
            NdMessage::NeighborAdvert($m) => $body,
            NdMessage::Redirect($m) => $body,
        }
    };
}

impl NdMessage {
    /// Decodes an ND message starting at the ICMPv6 type octet. Never
    /// panics. Errors: `NotNeighborDiscovery` for ICMPv6 types other than
    /// 133..=137, `BadCode` for a non-zero code, `Truncated` for a short
    /// fixed part or option, and the option errors of [`NdOptions`]. The
    /// checksum is not checked.
    pub fn parse(bytes: &[u8]) -> Result<NdMessage, NdError> {
        let message = Reader::new(bytes);
        let Some(&icmp_type) = bytes.first() else {
            return Err(message.truncated_at(0, env::BODY));
        };
        let fixed = match icmp_type {
            icmpv6::ROUTER_SOLICIT => field::RS_OPTIONS,
            icmpv6::ROUTER_ADVERT => field::RA_OPTIONS,
            icmpv6::NEIGHBOR_SOLICIT | icmpv6::NEIGHBOR_ADVERT => field::NS_NA_OPTIONS,
            icmpv6::REDIRECT => field::REDIRECT_OPTIONS,
            _ => {
                return Err(
                    message.error_at(NdErrorKind::NotNeighborDiscovery { icmp_type }, env::TYPE)
                );
            }
        };
        // RFC 4861 §6.1.1, §6.1.2, §7.1.1, §7.1.2, §8.1: a non-zero code
        // makes the message invalid. A missing code is caught just below.
        if let Ok(code) = message.get_u8(env::CODE)
            && code != 0
        {
            return Err(message.error_at(NdErrorKind::BadCode { code }, env::CODE));
        }
        // RFC 4861 §6.1 etc.: "ICMP length ... is N or more octets".
        let (head, opts) = message.split(fixed)?;
        let options = NdOptions::parse(opts)?;
        // The fixed-field reads below cannot fail: `head` is `fixed` octets.
        let word = head.get_u32(field::WORD)?;
        Ok(match icmp_type {
            icmpv6::ROUTER_SOLICIT => NdMessage::RouterSolicit(RouterSolicit {
                reserved: word,
                options,
            }),
            icmpv6::ROUTER_ADVERT => NdMessage::RouterAdvert(RouterAdvert {
                cur_hop_limit: head.get_u8(field::RA_HOP_LIMIT)?,
                flags: RaFlags::from_bits(head.get_u8(field::RA_FLAGS)?),
                router_lifetime: head.get_u16(field::RA_LIFETIME)?,
                reachable_time: head.get_u32(field::RA_REACHABLE)?,
                retrans_timer: head.get_u32(field::RA_RETRANS)?,
                options,
            }),
            icmpv6::NEIGHBOR_SOLICIT => NdMessage::NeighborSolicit(NeighborSolicit {
                reserved: word,
                target: head.get_ipv6(field::TARGET)?,
                options,
            }),
            icmpv6::NEIGHBOR_ADVERT => {
                let [router, solicited, override_flag] = unpack_flags(word, NeighborAdvert::FLAGS);
                NdMessage::NeighborAdvert(NeighborAdvert {
                    router,
                    solicited,
                    override_flag,
                    reserved: word & NeighborAdvert::RESERVED,
                    target: head.get_ipv6(field::TARGET)?,
                    options,
                })
            }
            _ => NdMessage::Redirect(Redirect {
                reserved: word,
                target: head.get_ipv6(field::TARGET)?,
                destination: head.get_ipv6(field::REDIRECT_DESTINATION)?,
                options,
            }),
        })
    }

    /// The ICMPv6 type octet (133..=137).
    pub fn icmp_type(&self) -> u8 {
        match self {
            NdMessage::RouterSolicit(_) => icmpv6::ROUTER_SOLICIT,
            NdMessage::RouterAdvert(_) => icmpv6::ROUTER_ADVERT,
            NdMessage::NeighborSolicit(_) => icmpv6::NEIGHBOR_SOLICIT,
            NdMessage::NeighborAdvert(_) => icmpv6::NEIGHBOR_ADVERT,
            NdMessage::Redirect(_) => icmpv6::REDIRECT,
        }
    }

    pub fn options(&self) -> &NdOptions {
        each_message!(self, m => &m.options)
    }

    pub fn options_mut(&mut self) -> &mut NdOptions {
        each_message!(self, m => &mut m.options)
    }

    fn fixed_len(&self) -> usize {
        match self {
            NdMessage::RouterSolicit(_) => field::RS_OPTIONS,
            NdMessage::RouterAdvert(_) => field::RA_OPTIONS,
            NdMessage::NeighborSolicit(_) | NdMessage::NeighborAdvert(_) => field::NS_NA_OPTIONS,
            NdMessage::Redirect(_) => field::REDIRECT_OPTIONS,
        }
    }

    /// Octets [`NdMessage::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        self.fixed_len() + self.options().buffer_len()
    }

    /// Writes the message with a zero checksum into the start of `buf` and
    /// returns `buffer_len()`. Every octet is written, reserved ones
    /// included.
    ///
    /// # Panics
    /// If `buf` is shorter than `buffer_len()` (a caller bug, never input).
    pub fn emit(&self, buf: &mut [u8]) -> usize {
        let len = self.buffer_len();
        assert!(
            buf.len() >= len,
            "NdMessage::emit: buffer of {} octets, need {len}",
            buf.len()
        );
        let mut w = Writer::new(&mut buf[..len]);
        w.put_u8(self.icmp_type());
        w.put_u8(0); // code
        w.put_u16(0); // checksum: filled by the kernel or emit_with_checksum
        match self {
            NdMessage::RouterSolicit(m) => w.put_u32(m.reserved),
            NdMessage::RouterAdvert(m) => {
                w.put_u8(m.cur_hop_limit);
                w.put_u8(m.flags.to_bits());
                w.put_u16(m.router_lifetime);
                w.put_u32(m.reachable_time);
                w.put_u32(m.retrans_timer);
            }
            NdMessage::NeighborSolicit(m) => {
                w.put_u32(m.reserved);
                w.put_ipv6(m.target);
            }
            NdMessage::NeighborAdvert(m) => {
                w.put_u32(m.word());
                w.put_ipv6(m.target);
            }
            NdMessage::Redirect(m) => {
                w.put_u32(m.reserved);
                w.put_ipv6(m.target);
                w.put_ipv6(m.destination);
            }
        }
        self.options().emit(&mut w);
        debug_assert_eq!(w.position(), len);
        len
    }

    /// [`NdMessage::emit`], then the RFC 4443 §2.3 checksum for a packet
    /// from `src` to `dst`.
    ///
    /// # Panics
    /// If `buf` is shorter than `buffer_len()`.
    pub fn emit_with_checksum(&self, src: Ipv6Addr, dst: Ipv6Addr, buf: &mut [u8]) -> usize {
        let len = self.emit(buf);
        icmpv6::fill_checksum(src, dst, &mut buf[..len]);
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

    /// Whether `emit` encodes this value faithfully, i.e. its bytes parse
    /// back to an equal value. Values built from `parse` always pass; a
    /// hand-built one fails when, for example, an RDNSS has no server, a
    /// link-layer address does not fill whole 8-octet units, a domain has an
    /// empty or over-long label, or an option exceeds 2040 octets. `emit`
    /// never panics on such values but writes bytes that mean something
    /// else, so builders should call this in tests or before sending.
    pub fn validate(&self) -> Result<(), NdError> {
        let unrepresentable = |what, (offset, o): (usize, &NdOption)| {
            NdError::in_option(NdErrorKind::Unrepresentable { what }, offset, o.kind())
        };
        // RFC 4861 §4.6: the Length octet counts at most 255 units.
        if let Some(long) = self
            .placed_options()
            .find(|(_, o)| o.buffer_len() > 255 * 8)
        {
            return Err(unrepresentable("option longer than 2040 octets", long));
        }
        let back = NdMessage::parse(&self.to_bytes())?;
        if back == *self {
            return Ok(());
        }
        let mut pairs = self.placed_options().zip(back.options());
        if let Some((mine, _)) = pairs.find(|((_, mine), theirs)| mine != theirs) {
            return Err(unrepresentable("option does not round-trip", mine));
        }
        // Past the options both have in common.
        let offset = self.fixed_len()
            + self
                .options()
                .iter()
                .take(back.options().len())
                .map(NdOption::buffer_len)
                .sum::<usize>();
        let what = if self.options().len() == back.options().len() {
            "fixed field out of range"
        } else {
            "options do not round-trip"
        };
        Err(NdError::new(NdErrorKind::Unrepresentable { what }, offset))
    }

    /// The options, each with its offset in the emitted message.
    fn placed_options(&self) -> impl Iterator<Item = (usize, &NdOption)> {
        self.options().iter().scan(self.fixed_len(), |at, o| {
            let here = *at;
            *at += o.buffer_len();
            Some((here, o))
        })
    }
}

/// `From<Message> for NdMessage` for each message type, which is also the
/// name of its variant.
macro_rules! from_message {
    ($($message:ident),*) => {$(
        impl From<$message> for NdMessage {
            fn from(m: $message) -> Self {
                NdMessage::$message(m)
            }
        }
    )*};
}

from_message!(
    RouterSolicit,
    RouterAdvert,
    NeighborSolicit,
    NeighborAdvert,
    Redirect
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nd::NdOption;

    // Linux 6.18 solicited router NA with TLLA (lab nd-slaac.pcap frame 12),
    // checksum octets zeroed as emit leaves them.
    const NA: [u8; 32] = [
        0x88, 0x00, 0x00, 0x00, 0xe0, 0x00, 0x00, 0x00, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x0d, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x01, 0x62, 0x0e, 0x22, 0x3b,
        0xcc, 0x03,
    ];

    fn na_repr() -> NdMessage {
        let mut na = NeighborAdvert::new("2001:db8:d::1".parse().unwrap(), true, true, true);
        na.options.push(NdOption::TargetLla(vec![
            0x62, 0x0e, 0x22, 0x3b, 0xcc, 0x03,
        ]));
        na.into()
    }

    #[test]
    fn na_parse() {
        assert_eq!(NdMessage::parse(&NA), Ok(na_repr()));
    }

    #[test]
    fn na_emit_writes_every_octet() {
        let mut buf = [0xffu8; 32];
        assert_eq!(na_repr().emit(&mut buf), 32);
        assert_eq!(buf, NA);
    }

    #[test]
    fn short_input_is_truncated_not_a_panic() {
        for len in 0..24 {
            let e = NdMessage::parse(&NA[..len]).unwrap_err();
            assert!(
                matches!(e.kind, NdErrorKind::Truncated { .. }),
                "{len}: {e}"
            );
        }
    }

    #[test]
    fn ra_flags_bits() {
        // RFC 4191 §2.2: Prf occupies bits 3-4 of the flags octet.
        let f = RaFlags::from_bits(0b1011_1111);
        assert!(f.managed && !f.other && f.home_agent && f.proxy);
        assert_eq!(f.preference, RouterPreference::Low);
        assert_eq!(f.reserved, 0b11);
        assert_eq!(f.to_bits(), 0b1011_1111);
        for b in 0..=255u8 {
            assert_eq!(RaFlags::from_bits(b).to_bits(), b);
        }
        assert_eq!(
            RouterPreference::from_bits(0b10),
            RouterPreference::Reserved
        );
        assert_eq!(RaFlags::default().to_bits(), 0);
    }

    #[test]
    fn redirect_round_trip_keeps_destination() {
        // Target and destination have the same type: a swap on emit would
        // still round-trip, so check their positions in the bytes too.
        let r = Redirect::new("fe80::1".parse().unwrap(), "2001:db8::9".parse().unwrap());
        let bytes = NdMessage::from(r.clone()).to_bytes();
        assert_eq!(&bytes[8..24], &r.target.octets());
        assert_eq!(&bytes[24..40], &r.destination.octets());
        assert_eq!(NdMessage::parse(&bytes), Ok(NdMessage::Redirect(r)));
    }

    #[test]
    #[should_panic(expected = "need 32")]
    fn emit_into_short_buffer_panics_with_a_message() {
        na_repr().emit(&mut [0u8; 31]);
    }
}
