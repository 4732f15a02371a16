//! RIPng codec (RFC 2080).
//!
//! # Implemented
//! - RFC 2080 §2.1: the packet header (command, version, must-be-zero) and
//!   the 20-octet route table entries ([`Rte`]: prefix, route tag, prefix
//!   length, metric), as many as the datagram holds.
//! - RFC 2080 §2.1.1: next-hop RTEs (metric 0xFF), [`RteKind::NextHop`].
//! - [`max_entries`]: how many RTEs fit a link's MTU (§2.1).
//!
//! # Decisions
//! - Parsing is syntax only. An RTE is any 20 octets: whether its metric
//!   lies in 1–16, its prefix length in 0–128, its host bits are clear or
//!   a next-hop address is link-local is the receiving machine's call
//!   (RFC 2080 §2.4.2 ignores such an entry, it does not drop the packet),
//!   so [`Rte::kind`] classifies and the octets stay as received.
//! - A Request or Response of version 1 carries entries; its length past
//!   the header must be a multiple of 20, else [`RipngErrorKind::Truncated`]
//!   names the partial entry. Any other command or version is
//!   [`RipngBody::Opaque`], byte-exact: a later version may lay its body
//!   out differently, and the machine counts and drops it.
//! - The must-be-zero field is kept as received, so re-emit is
//!   byte-identical; the machine decides whether to care.
//!
//! # Panic contract
//! [`RipngMessage::parse`] accepts any byte slice and never panics or reads
//! past it. `emit` writes exactly `buffer_len()` octets and panics only if
//! the buffer is shorter.

mod error;
mod message;

/// The toolkit's reader, reporting RIPng errors.
pub(crate) type Reader<'a> = crate::codec::Reader<'a, RipngErrorKind>;

pub use error::{RipngError, RipngErrorKind};
pub use message::{
    Command, HEADER_LEN, METRIC_INFINITY, NEXT_HOP_METRIC, RTE_LEN, RipngBody, RipngMessage, Rte,
    RteKind, VERSION, max_entries,
};
