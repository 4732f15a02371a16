//! ICMPv6 Neighbor Discovery codec.
//!
//! # Implemented
//! - RFC 4861 §4.1–§4.5: Router Solicitation, Router Advertisement, Neighbor
//!   Solicitation, Neighbor Advertisement, Redirect, from the ICMPv6 type
//!   octet on ([`NdMessage`]).
//! - RFC 4861 §4.6: options, all kept in wire order ([`NdOptions`]): Source
//!   and Target Link-Layer Address, Prefix Information (R flag RFC 6275
//!   §7.2, P flag RFC 9762), Redirected Header, MTU; Advertisement Interval
//!   and Home Agent Information (RFC 6275 §7.3, §7.4); Route Information
//!   (RFC 4191 §2.3); RDNSS and DNSSL (RFC 8106 §5); Captive Portal
//!   (RFC 8910 §2.3); PREF64 (RFC 8781 §4). Any other type is
//!   [`NdOption::Unknown`], byte-exact.
//! - RA flags H (RFC 6275 §7.1), Prf (RFC 4191 §2.2), P (RFC 4389).
//! - The ICMPv6 checksum over the IPv6 pseudo-header (RFC 4443 §2.3):
//!   [`checksum`], [`verify_checksum`].
//!
//! # Decisions
//! - ICMPv6 types other than 133..=137 are an error of kind
//!   [`NdErrorKind::NotNeighborDiscovery`], so a caller on a raw ICMPv6
//!   socket can tell "not ours" from "malformed".
//! - A malformed known option (zero length, length wrong for its type,
//!   prefix length above 128, even RDNSS length, RIO length too short for
//!   its prefix length, bad DNSSL name) fails the whole message: nothing is
//!   skipped silently. A non-zero ICMP code fails too (RFC 4861 §6.1).
//! - Checks that need the IPv6 header (hop limit 255, source address rules)
//!   or protocol state belong to the receiving machine.
//! - The checksum is not part of the value: `parse` does not verify it and
//!   `emit` writes 0, since the Linux raw ICMPv6 socket computes it on send
//!   and checks it on receive. `emit_with_checksum` fills it in.
//! - Reserved fields and bits are kept, so every accepted message re-emits
//!   byte-identical (checksum octets aside, see [`NdMessage`]).
//!
//! # Panic contract
//! `NdMessage::parse` accepts any byte slice and never panics, never reads
//! past it. `emit` writes exactly `buffer_len()` octets and panics only if
//! the buffer is shorter than that. Values that `emit` cannot encode
//! faithfully (see [`NdMessage::validate`]) produce well-formed but
//! different bytes, never a panic.

mod error;
mod icmpv6;
mod message;
pub mod mobility;
mod option;

pub use error::{NdError, NdErrorKind};

/// The toolkit's reader, reporting ND errors.
pub(crate) type Reader<'a> = crate::codec::Reader<'a, NdErrorKind>;
pub use icmpv6::{checksum, fill_checksum, verify_checksum};
pub use message::{
    NdMessage, NeighborAdvert, NeighborSolicit, RaFlags, Redirect, RouterAdvert, RouterPreference,
    RouterSolicit,
};
pub use mobility::{HaadReply, HaadRequest, MobilePrefixAdvert, MobilePrefixSolicit, MobilityIcmp};
pub use option::{
    CaptivePortal, Dnssl, HomeAgentInfo, NdOption, NdOptions, Pref64, PrefixInfo, Rdnss, RouteInfo,
};
