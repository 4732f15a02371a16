//! Errors of the Mobility Header codec: the toolkit's error shape (a kind
//! plus where it was found) over the Mobility Header's own kinds.

use std::fmt;

use thiserror::Error;

use crate::codec::{Error, ErrorKind};

/// Why a Mobility Header message was rejected, and where.
///
/// `offset` counts octets from the Payload Proto octet, so for the two
/// envelope faults RFC 6275 §9.2 answers with an ICMPv6 Parameter Problem
/// (`PayloadProto`, `HeaderLength`) it is the pointer to send, relative to
/// the start of the Mobility Header. `option` names the mobility option
/// type whose parsing failed, `None` for the envelope or the fixed body.
pub type MhError = Error<MhErrorKind>;

/// The kinds of Mobility Header decoding failure. Syntax only: whether a
/// message may carry an option, or comes from the right address, is the
/// receiving machine's call.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum MhErrorKind {
    /// The message, an option header or an option body ends early.
    #[error("truncated: need {need} octets, have {have}")]
    Truncated { need: usize, have: usize },
    /// RFC 6275 §6.1.1: Payload Proto must be IPPROTO_NONE (59); §9.2
    /// answers with Parameter Problem code 0 pointing at it.
    #[error("Payload Proto {value} is not 59 (IPPROTO_NONE)")]
    PayloadProto { value: u8 },
    /// RFC 6275 §9.2: the Header Len is below what the MH Type needs;
    /// Parameter Problem code 0 pointing at the Header Len field.
    #[error("Header Len {units} below the minimum {min} of this MH Type")]
    HeaderLength { units: u8, min: u8 },
    /// The input continues past the length Header Len declares: the
    /// Mobility Header is the last header (RFC 6275 §6.1.1), so the
    /// octets would be lost on re-emit.
    #[error("{extra} octets after the message Header Len declares")]
    TrailingOctets { extra: usize },
    /// An option length its type does not allow.
    #[error("option length {len} not allowed for this option")]
    BadLength { len: u8 },
    /// A field holds a value the specification rules out.
    #[error("invalid {field}")]
    BadValue { field: &'static str },
    /// An option that must be the last one (Binding Authorization Data,
    /// RFC 6275 §6.2.7; Mobility Message Authentication, RFC 4285 §5) is
    /// followed by an option other than padding.
    #[error("option must be the last one")]
    NotLast,
    /// `MobilityHeader::validate`: the value cannot be emitted so that it
    /// parses back equal.
    #[error("value cannot be encoded faithfully: {what}")]
    Unrepresentable { what: &'static str },
}

impl ErrorKind for MhErrorKind {
    /// The mobility option Type octet.
    type Option = u8;
    const ERROR_NAME: &'static str = "MhError";

    fn truncated(need: usize, have: usize) -> Self {
        MhErrorKind::Truncated { need, have }
    }

    fn fmt_option(option: &u8, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, " (mobility option type {option})")
    }
}
