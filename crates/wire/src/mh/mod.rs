//! Mobility Header codec (Mobile IPv6, NEMO, RFC 4285 authentication).
//!
//! # Implemented
//! - RFC 6275 §6.1.1: the envelope (Payload Proto, Header Len, MH Type,
//!   checksum over the pseudo-header with explicit addresses:
//!   [`checksum`], [`verify_checksum`], [`fill_checksum`]).
//! - RFC 6275 §6.1.2-§6.1.9: Binding Refresh Request, Home/Care-of Test
//!   Init, Home/Care-of Test, Binding Update, Binding Acknowledgement,
//!   Binding Error ([`MhBody`]); any other MH Type is [`MhBody::Unknown`],
//!   byte-exact. NEMO's R flags (RFC 3963 §4.1-§4.2) and DSMIPv6's F flag
//!   (RFC 5555 §3.1.3) in [`BuFlags`] / [`BaFlags`].
//! - Mobility options ([`MhOption`]): Pad1, PadN, Binding Refresh Advice,
//!   Alternate Care-of Address, Nonce Indices, Binding Authorization Data
//!   (RFC 6275 §6.2); Mobile Network Prefix (RFC 3963 §6.2); MN Identifier
//!   (RFC 4283 §3); Mobility Message Authentication and Replay Protection
//!   (RFC 4285 §5-§6); the DSMIPv6 options 29-32 (RFC 5555 §3); any other
//!   type [`MhOption::Unknown`], byte-exact.
//! - The octets each authenticator covers ([`auth`]).
//!
//! # Decisions
//! - Payload Proto other than 59 and a Header Len below the type's minimum
//!   are errors whose offset is the Parameter Problem pointer RFC 6275
//!   §9.2 asks for (0 and 1). An unknown MH Type is a value: the machine
//!   answers with a Binding Error, status 2.
//! - Options keep their order and padding exactly; parse accepts any
//!   alignment, emit writes what the value holds, and
//!   [`MobilityHeader::push_option`] lays out the xn+y alignment of §6.2
//!   and the padding to the 8-octet boundary. An option after Binding
//!   Authorization Data or Mobility Message Authentication (both "must be
//!   last") other than padding fails the message ([`MhErrorKind::NotLast`]).
//! - A malformed known option (wrong length, prefix length above 128)
//!   fails the whole message; whether an option is allowed in a given
//!   message (e.g. no Binding Authorization Data in a home registration)
//!   is the machine's call.
//! - The checksum is not part of the value (as in [`crate::nd`]).
//!
//! # Panic contract
//! [`MobilityHeader::parse`] accepts any byte slice and never panics or
//! reads past it. `emit` writes exactly `buffer_len()` octets and panics
//! only if the buffer is shorter. Values `emit` cannot encode faithfully
//! ([`MobilityHeader::validate`]) produce well-formed but different bytes,
//! never a panic.

pub mod auth;
mod error;
mod header;
mod message;
mod option;

/// The toolkit's reader, reporting Mobility Header errors.
pub(crate) type Reader<'a> = crate::codec::Reader<'a, MhErrorKind>;

pub use error::{MhError, MhErrorKind};
pub use header::{checksum, fill_checksum, verify_checksum};
pub use message::{
    BaFlags, BaStatus, BeStatus, BindingAck, BindingError, BindingRefreshRequest, BindingUpdate,
    BuFlags, FourSeconds, MhBody, MhType, MobilityHeader, Test, TestInit,
};
pub use option::{
    AuthSubtype, Ipv4AddressAck, Ipv4HomeAddressRequest, MhOption, MhOptions, MnIdSubtype,
    MobileNetworkPrefix, MobilityAuth, NatDetection,
};
