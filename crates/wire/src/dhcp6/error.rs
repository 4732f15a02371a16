//! Decoding errors: the toolkit's error shape (a kind, where it was found,
//! and in which option) over DHCPv6's own kinds.

use std::fmt;

use thiserror::Error;

use super::OptionCode;
use crate::codec::{Error, ErrorKind};

/// Why a DHCPv6 message was rejected, and where.
///
/// `offset` counts octets from the start of the buffer given to
/// [`Message::parse`](super::Message::parse), across relay layers. `option`
/// names the innermost option being parsed (`None` for the message header).
pub type DecodeError = Error<DecodeErrorKind>;

/// The kinds of DHCPv6 decoding failure. Syntax only: misplaced or
/// duplicate options are protocol questions left to the state machines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The message header, an option header, or an option body reaching
    /// past the end of its container.
    #[error("truncated: need {need} octets, have {have}")]
    Truncated { need: usize, have: usize },
    /// An option length that its format does not allow: a fixed-size
    /// option of the wrong size, an IA shorter than its fixed part, a list
    /// of 16-octet addresses whose length is not a multiple of 16.
    #[error("option length {len} not allowed")]
    BadLength { len: usize },
    /// A field with a value its format forbids (a prefix length above 128,
    /// a bad domain name label, a PD-exclude that does not fit its prefix).
    #[error("bad value: {0}")]
    BadValue(&'static str),
    /// Nesting deeper than [`MAX_DEPTH`](super::MAX_DEPTH).
    #[error("nested deeper than {limit} levels")]
    TooDeep { limit: usize },
}

impl ErrorKind for DecodeErrorKind {
    type Option = OptionCode;
    const ERROR_NAME: &'static str = "DecodeError";

    fn truncated(need: usize, have: usize) -> Self {
        DecodeErrorKind::Truncated { need, have }
    }

    fn fmt_option(code: &OptionCode, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, " in option {} ({code:?})", u16::from(*code))
    }
}
