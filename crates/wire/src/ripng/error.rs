//! Errors of the RIPng codec: the toolkit's error shape over RIPng's kinds.

use std::fmt;

use thiserror::Error;

use crate::codec::{Error, ErrorKind};

/// Why a RIPng packet was rejected, and where. `offset` counts octets from
/// the command octet; `option` is the index of the route table entry being
/// read, `None` for the header.
pub type RipngError = Error<RipngErrorKind>;

/// The kinds of RIPng decoding failure. Only the framing can fail: every
/// value of every field is representable (RFC 2080 §2.4 leaves field
/// validity to the receiver).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RipngErrorKind {
    /// The header or the last route table entry ends early.
    #[error("truncated: need {need} octets, have {have}")]
    Truncated { need: usize, have: usize },
}

impl ErrorKind for RipngErrorKind {
    /// The index of the route table entry, from 0.
    type Option = usize;
    const ERROR_NAME: &'static str = "RipngError";

    fn truncated(need: usize, have: usize) -> Self {
        RipngErrorKind::Truncated { need, have }
    }

    fn fmt_option(option: &usize, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, " (route table entry {option})")
    }
}
