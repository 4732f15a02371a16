//! Lifetimes as DHCPv6 and ND carry them: 32-bit seconds where all ones
//! means infinity (RFC 8415 §7.7, RFC 4861 §4.6.2).

use std::fmt;
use std::time::Duration;

/// A valid or preferred lifetime.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Lifetime {
    /// A finite number of seconds (0 included: "stop using now").
    Finite(u32),
    /// 0xffffffff on the wire.
    Infinite,
}

impl Lifetime {
    pub const ZERO: Lifetime = Lifetime::Finite(0);

    pub const fn from_wire(v: u32) -> Lifetime {
        if v == u32::MAX {
            Lifetime::Infinite
        } else {
            Lifetime::Finite(v)
        }
    }

    pub const fn to_wire(self) -> u32 {
        match self {
            Lifetime::Finite(v) => v,
            Lifetime::Infinite => u32::MAX,
        }
    }

    pub fn from_secs(secs: u64) -> Lifetime {
        // u32::MAX itself means infinite, so finite values stop one short.
        Lifetime::Finite(secs.min(u64::from(u32::MAX - 1)) as u32)
    }

    pub fn is_zero(self) -> bool {
        self == Lifetime::ZERO
    }

    /// `None` for infinite.
    pub fn as_duration(self) -> Option<Duration> {
        match self {
            Lifetime::Finite(v) => Some(Duration::from_secs(u64::from(v))),
            Lifetime::Infinite => None,
        }
    }

    /// The lifetime left after `elapsed` has passed (infinite stays infinite).
    pub fn saturating_sub(self, elapsed: Duration) -> Lifetime {
        match self {
            Lifetime::Finite(v) => Lifetime::Finite(
                v.saturating_sub(elapsed.as_secs().min(u64::from(u32::MAX)) as u32),
            ),
            Lifetime::Infinite => Lifetime::Infinite,
        }
    }
}

impl fmt::Debug for Lifetime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Lifetime::Finite(v) => write!(f, "{v}s"),
            Lifetime::Infinite => f.write_str("infinite"),
        }
    }
}

impl fmt::Display for Lifetime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn infinity_and_order() {
        assert_eq!(Lifetime::from_wire(u32::MAX), Lifetime::Infinite);
        assert_eq!(Lifetime::Infinite.to_wire(), u32::MAX);
        assert!(Lifetime::Finite(5) < Lifetime::Infinite);
        assert_eq!(
            Lifetime::Finite(10).min(Lifetime::Infinite),
            Lifetime::Finite(10)
        );
        assert_eq!(
            Lifetime::from_secs(u64::MAX),
            Lifetime::Finite(u32::MAX - 1)
        );
        assert_eq!(
            Lifetime::Finite(3).saturating_sub(Duration::from_secs(5)),
            Lifetime::ZERO
        );
    }
}
