//! The codec toolkit every wire format in this crate is written with
//! (DHCPv6, Neighbor Discovery, and the Mobility Header, the Mobile IPv6
//! ICMPv6 messages 144-147 and RIPng to come), so they share one dialect:
//!
//! - `Reader`: a checked view of untrusted input, read as a cursor or by
//!   named field ranges; every read returns `Result`, none panics.
//! - `Writer`: sequential output into a buffer checked against
//!   `buffer_len()`, with Pad1/PadN padding and alignment arithmetic for
//!   the formats that align options (RFC 6275 §6.2, RFC 8200 §4.2).
//! - [`Error`]: one error shape (kind, byte offset, innermost option) over
//!   each protocol's own [`ErrorKind`] vocabulary.
//! - `enum_with_unknown!`: code points as enums whose unknown values
//!   survive parse and emit.
//! - flag tables: one-bit flags packed and unpacked by one mask table.
//! - [`DomainName`]: RFC 1035 uncompressed names for DHCPv6 and ND DNSSL.
//! - [`constants`]: protocol numbers, ports and multicast groups.
//! - the pseudo-header checksum of ICMPv6 and the Mobility Header.
//!
//! # Writing a codec with it
//! `parse(bytes)` builds a `Reader` over the input and returns an owned
//! value or an `Error` of the protocol's kind; `buffer_len()` counts the
//! octets `emit` writes; `emit(buf)` checks `buf` against `buffer_len()`
//! once, then writes through a `Writer`. Anything the value does not model
//! (reserved bits, unknown options, padding) is kept so an accepted input
//! re-emits byte-identical.

pub(crate) mod checksum;
pub mod constants;
pub(crate) mod domain;
mod error;
pub(crate) mod flags;
pub(crate) mod macros;
pub(crate) mod reader;
pub(crate) mod writer;

pub use domain::{DomainName, DomainNameError};
pub use error::{Error, ErrorKind};
pub(crate) use reader::Reader;
pub(crate) use writer::Writer;
