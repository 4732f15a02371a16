//! Errors of the extension-header codecs: the toolkit's error shape over
//! their own kinds.

use std::fmt;

use thiserror::Error;

use crate::codec::{Error, ErrorKind};

/// Why an extension header was rejected, and where. `offset` counts from
/// the header's Next Header octet; `option` names the destination option
/// type at fault, if any.
pub type Ip6Error = Error<Ip6ErrorKind>;

/// The kinds of extension-header decoding failure.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Ip6ErrorKind {
    /// The header or an option ends early.
    #[error("truncated: need {need} octets, have {have}")]
    Truncated { need: usize, have: usize },
    /// A length field its format does not allow (Hdr Ext Len of a Type 2
    /// Routing Header other than 2, a Home Address option length other
    /// than 16).
    #[error("length {len} not allowed")]
    BadLength { len: u8 },
    /// An IP version other than 6.
    #[error("IP version {version} is not 6")]
    Version { version: u8 },
    /// A routing header of another type: not malformed, just not Type 2.
    #[error("routing type {routing_type} is not 2")]
    RoutingType { routing_type: u8 },
}

impl ErrorKind for Ip6ErrorKind {
    /// The destination option Type octet.
    type Option = u8;
    const ERROR_NAME: &'static str = "Ip6Error";

    fn truncated(need: usize, have: usize) -> Self {
        Ip6ErrorKind::Truncated { need, have }
    }

    fn fmt_option(option: &u8, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, " (destination option type {option})")
    }
}
