//! DHCPv6 codec.
//!
//! # Standards
//! - RFC 8415 §7.3 message types, §8 client/server message format, §9 relay
//!   agent/server message format, §10 domain name encoding, §11 DUIDs, §21
//!   options (1-9, 11-14, 18-20, 25, 26, 32, 82, 83).
//! - RFC 3646 §3-4 (DNS servers, domain search list), RFC 4649 (Remote-ID),
//!   RFC 4580 (Subscriber-ID), RFC 5908 (NTP server), RFC 6603 §4.2
//!   (Prefix Exclude), RFC 6939 (Client Link-Layer Address).
//!
//! Every other option is kept as [`DhcpOption::Unknown`], byte-exact, in
//! place: option order is never changed.
//!
//! # Shape
//! [`Message::parse`] checks the whole message (relay messages recursively)
//! and returns an owned value; [`Message::buffer_len`] and [`Message::emit`]
//! write it back. The parser accepts only encodings that emit writes back
//! unchanged, and keeps the bytes it cannot interpret canonically (DUIDs,
//! status messages that are not UTF-8, PD-exclude subnet IDs, unknown
//! options), so **an accepted input re-emits byte-identical**. Relay agents
//! and delayed authentication (RFC 8415 §20.4, the HMAC covers the message
//! as sent) rely on that.
//!
//! # Panic contract
//! `parse` functions accept any byte slice and never panic: every length
//! read from the wire is checked before use, and nesting (Relay Message
//! options, IA options and their sub-options) is bounded by [`MAX_DEPTH`],
//! so hostile input cannot exhaust the stack. Malformed input is an
//! [`DecodeError`] naming the kind, the offset from the start of the outer
//! message and the innermost option being parsed; nothing is silently
//! truncated or skipped.
//!
//! `emit` writes exactly `buffer_len()` octets and panics only on caller
//! bugs, documented on [`Message::emit`]: a buffer shorter than
//! `buffer_len()`, or a hand-built option whose body exceeds the 65535
//! octets its 16-bit length field can describe. Values returned by `parse`
//! never trigger either.
//!
//! Placement rules (which option may appear in which message, RFC 8415
//! Appendix B/C) and protocol checks (T1 <= T2, preferred <= valid) are the
//! state machines' business: this codec checks syntax only.

mod code;
mod domain;
mod duid;
mod error;
mod ia;
mod message;
mod option;
mod status;

use crate::codec::constants;

pub use code::{MessageType, OptionCode};
pub use domain::{DomainName, DomainNameError};
pub use duid::{Duid, DuidKind};
pub use error::{DecodeError, DecodeErrorKind};
pub use ia::{IaAddr, IaNa, IaPd, IaPrefix, IaTa, PdExclude};
pub use message::{ClientMessage, Message, RelayMessage, Xid};
pub use option::{Authentication, DhcpOption, NtpSuboption, Options};
pub use status::{Status, StatusCode};

/// The toolkit's reader, reporting DHCPv6 errors.
pub(crate) type Reader<'a> = crate::codec::Reader<'a, DecodeErrorKind>;

/// The deepest nesting [`Message::parse`] accepts. Each Relay Message
/// option and each option that carries options (IA_NA, IA_TA, IAADDR,
/// IA_PD, IAPREFIX) opens one level. RFC 8415 §7.6 limits relay chains to
/// HOP_COUNT_LIMIT = 8 relays, and an IA adds at most three levels, so real
/// traffic stays far below this.
pub const MAX_DEPTH: usize = 32;

/// UDP port servers and relay agents listen on (RFC 8415 §7.2).
pub const SERVER_PORT: u16 = constants::DHCP6_SERVER_PORT;
/// UDP port clients listen on (RFC 8415 §7.2).
pub const CLIENT_PORT: u16 = constants::DHCP6_CLIENT_PORT;
/// All_DHCP_Relay_Agents_and_Servers, ff02::1:2 (RFC 8415 §7.1).
pub const ALL_RELAY_AGENTS_AND_SERVERS: std::net::Ipv6Addr =
    constants::ALL_DHCP_RELAY_AGENTS_AND_SERVERS;
/// All_DHCP_Servers, ff05::1:3 (RFC 8415 §7.1).
pub const ALL_DHCP_SERVERS: std::net::Ipv6Addr = constants::ALL_DHCP_SERVERS;
