//! Errors of the Neighbor Discovery codec: the toolkit's error shape (a
//! kind plus where it was found) over ND's own kinds.

use std::fmt;

use thiserror::Error;

use super::Reader;
use crate::codec::{Error, ErrorKind};

/// Why an ICMPv6 Neighbor Discovery message was rejected, and where.
///
/// `offset` counts octets from the ICMPv6 type byte. `option` names the
/// option type whose parsing failed, `None` when the fixed message part
/// (or the envelope) was at fault.
pub type NdError = Error<NdErrorKind>;

/// The kinds of ND decoding failure. Syntax only: protocol checks that need
/// the IPv6 header (hop limit 255, source address rules; RFC 4861 §6.1) are
/// the receiving machine's job.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum NdErrorKind {
    /// The message or an option ends before a field it must contain.
    #[error("truncated: need {need} octets, have {have}")]
    Truncated { need: usize, have: usize },
    /// A valid ICMPv6 message that is not one of the five ND messages
    /// (133..=137), e.g. an Echo Request. Not malformed, just not ours.
    #[error("ICMPv6 type {icmp_type} is not a Neighbor Discovery message")]
    NotNeighborDiscovery { icmp_type: u8 },
    /// RFC 4861 §6.1.1, §6.1.2, §7.1.1, §7.1.2, §8.1: ICMP Code must be 0.
    #[error("ICMP code {code} is not 0")]
    BadCode { code: u8 },
    /// RFC 4861 §4.6: an option length of 0 is invalid (and would loop).
    #[error("option length 0")]
    ZeroLength,
    /// The option's length (in 8-octet units) is not one its type allows.
    #[error("option length {units} (x8 octets) invalid for this option")]
    BadLength { units: u8 },
    /// A field holds a value the specification rules out.
    #[error("invalid {field}")]
    BadValue { field: &'static str },
    /// `NdMessage::validate`: the value cannot be emitted so that it parses
    /// back equal (e.g. an over-long label, a server list that overflows the
    /// 255-unit option length, an empty RDNSS).
    #[error("value cannot be encoded faithfully: {what}")]
    Unrepresentable { what: &'static str },
}

impl ErrorKind for NdErrorKind {
    /// The option Type octet.
    type Option = u8;
    const ERROR_NAME: &'static str = "NdError";

    fn truncated(need: usize, have: usize) -> Self {
        NdErrorKind::Truncated { need, have }
    }

    fn fmt_option(option: &u8, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, " (option type {option})")
    }
}

/// `BadValue` for the field `at` octets into `part`.
pub(crate) fn bad_value(part: &Reader<'_>, field: &'static str, at: usize) -> NdError {
    part.error_at(NdErrorKind::BadValue { field }, at)
}
