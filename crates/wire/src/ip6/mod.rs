//! The IPv6 extension headers Mobile IPv6 adds (RFC 6275 §6.3-§6.4), as
//! small codecs a packet builder (the `IPPROTO_RAW` sender, the
//! `IPV6_DSTOPTS` ancillary data) and an interceptor can use:
//!
//! - [`DestinationOptions`]: a Destination Options header (RFC 8200 §4.6)
//!   with its options kept in order, the Home Address option (type 201,
//!   RFC 6275 §6.3, alignment 8n+6) decoded, padding and unknown options
//!   byte-exact; [`DestinationOptions::home_address`] builds the usual
//!   24-octet header.
//! - [`Type2RoutingHeader`]: the Type 2 Routing Header (RFC 6275 §6.4).
//! - [`Ipv6Header`]: the fixed header (RFC 8200 §3), and [`walk`]: the
//!   extension headers of a whole packet, with the HAO, the RH2, the
//!   upper layer's offset and its checksum pseudo-header addresses.
//!
//! Each `parse` reads one header from the start of its input and ignores
//! what follows (the next header); `buffer_len()` says how many octets it
//! took, and those re-emit byte-identical.
//!
//! # Panic contract
//! `parse` accepts any byte slice and never panics or reads past it;
//! `emit` writes exactly `buffer_len()` octets and panics only if the
//! buffer is shorter.

mod destination;
mod error;
mod header;
mod routing;
mod walk;

/// The toolkit's reader, reporting extension-header errors.
pub(crate) type Reader<'a> = crate::codec::Reader<'a, Ip6ErrorKind>;

pub use destination::{DestOption, DestinationOptions};
pub use error::{Ip6Error, Ip6ErrorKind};
pub use header::Ipv6Header;
pub use routing::Type2RoutingHeader;
pub use walk::{PacketHeaders, walk};

/// RFC 8200 §4.3-§4.6: Hdr Ext Len counts 8-octet units after the first.
const UNIT: usize = 8;
