//! One error shape for every codec: what went wrong (a kind from the
//! protocol's own vocabulary), the byte offset where it was found, and the
//! innermost option being parsed.
//!
//! Each protocol keeps its own kind enum, because what can be wrong differs
//! (a DHCPv6 option length counts octets, an ND option length 8-octet
//! units; only ND has "not an ND message"), and callers match on those
//! kinds. What every kind shares is the [`ErrorKind`] trait: a `Truncated`
//! constructor for [`Reader`](super::Reader) and the way the protocol names
//! an option in messages.

use std::fmt;

/// A protocol's vocabulary of decoding failures.
pub trait ErrorKind: fmt::Display + fmt::Debug + Clone + PartialEq + Eq {
    /// How the protocol identifies an option (a DHCPv6 option code, an ND
    /// option type octet).
    type Option: fmt::Debug + Copy + PartialEq + Eq;

    /// The name `Debug` prints for an [`Error`] of this protocol
    /// (`DecodeError`, `NdError`), so logs and test output say which codec
    /// rejected the input.
    const ERROR_NAME: &'static str;

    /// `need` octets were wanted where only `have` remain.
    fn truncated(need: usize, have: usize) -> Self;

    /// The text `Display` appends to name the option, e.g. " in option 3
    /// (IaNa)".
    fn fmt_option(option: &Self::Option, f: &mut fmt::Formatter<'_>) -> fmt::Result;
}

/// Why input was rejected, and where.
///
/// `offset` counts octets from the start of the outermost buffer handed to
/// `parse` (across nested options and relay layers). `option` names the
/// innermost option being parsed, `None` for a message header.
#[derive(Clone, PartialEq, Eq)]
pub struct Error<K: ErrorKind> {
    pub kind: K,
    pub offset: usize,
    pub option: Option<K::Option>,
}

impl<K: ErrorKind> Error<K> {
    pub(crate) fn new(kind: K, offset: usize) -> Self {
        Error {
            kind,
            offset,
            option: None,
        }
    }

    pub(crate) fn in_option(kind: K, offset: usize, option: K::Option) -> Self {
        Error {
            kind,
            offset,
            option: Some(option),
        }
    }

    /// Attributes the error to `option` unless a deeper option already
    /// claimed it (errors travel outwards through nested options).
    pub(crate) fn within(mut self, option: K::Option) -> Self {
        if self.option.is_none() {
            self.option = Some(option);
        }
        self
    }
}

impl<K: ErrorKind> fmt::Debug for Error<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(K::ERROR_NAME)
            .field("kind", &self.kind)
            .field("offset", &self.offset)
            .field("option", &self.option)
            .finish()
    }
}

impl<K: ErrorKind> fmt::Display for Error<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at offset {}", self.kind, self.offset)?;
        match &self.option {
            Some(option) => K::fmt_option(option, f),
            None => Ok(()),
        }
    }
}

impl<K: ErrorKind> std::error::Error for Error<K> {}

#[cfg(test)]
pub(crate) mod test_kind {
    //! A minimal kind for the toolkit's own tests.
    use std::fmt;

    #[derive(Debug, Clone, PartialEq, Eq)]
    pub(crate) enum TestKind {
        Truncated { need: usize, have: usize },
        Bad(&'static str),
    }

    impl fmt::Display for TestKind {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                TestKind::Truncated { need, have } => write!(f, "truncated: {need}/{have}"),
                TestKind::Bad(what) => write!(f, "bad {what}"),
            }
        }
    }

    impl super::ErrorKind for TestKind {
        type Option = u8;
        const ERROR_NAME: &'static str = "TestError";
        fn truncated(need: usize, have: usize) -> Self {
            TestKind::Truncated { need, have }
        }
        fn fmt_option(option: &u8, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, " in option {option}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_kind::TestKind;
    use super::*;

    #[test]
    fn debug_names_the_protocol_and_display_the_option() {
        let e = Error::new(TestKind::Bad("x"), 7).within(3).within(9);
        assert_eq!(e.option, Some(3), "the innermost option keeps the error");
        assert_eq!(
            format!("{e:?}"),
            "TestError { kind: Bad(\"x\"), offset: 7, option: Some(3) }"
        );
        assert_eq!(e.to_string(), "bad x at offset 7 in option 3");
        let e = Error::in_option(TestKind::truncated(4, 1), 2, 5);
        assert_eq!(e.to_string(), "truncated: 4/1 at offset 2 in option 5");
        assert_eq!(
            Error::new(TestKind::Bad("y"), 0).to_string(),
            "bad y at offset 0"
        );
    }
}
