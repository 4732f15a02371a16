//! IPv6 prefix arithmetic for v6edge.
//!
//! [`Prefix`] is an IPv6 prefix whose host bits are zero: construction rejects
//! anything else, so every `Prefix` in the program names exactly one block of
//! address space. Carving a delegated prefix into per-link /64s and the
//! remainder lives in [`carve`].
//!
//! Panic contract: no function here panics on any input; out-of-range
//! requests return `None` or an error.

pub mod carve;
pub mod pool;

use std::fmt;
use std::net::Ipv6Addr;
use std::str::FromStr;

/// Why a prefix could not be built or parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PrefixError {
    #[error("prefix length {0} is greater than 128")]
    LengthTooLong(u8),
    #[error("{addr}/{len} has host bits set (did you mean {truncated}/{len}?)")]
    HostBitsSet {
        addr: Ipv6Addr,
        len: u8,
        truncated: Ipv6Addr,
    },
    #[error("`{0}` is not of the form ADDRESS/LENGTH")]
    Syntax(String),
}

/// An IPv6 prefix with no host bits set.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Prefix {
    addr: Ipv6Addr,
    len: u8,
}

/// The mask with the top `len` bits set (`len` ≤ 128).
const fn mask(len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        u128::MAX << (128 - len as u32)
    }
}

impl Prefix {
    /// `::/0`.
    pub const DEFAULT: Prefix = Prefix {
        addr: Ipv6Addr::UNSPECIFIED,
        len: 0,
    };

    /// A prefix from an address and length; fails if any host bit is set.
    pub fn new(addr: Ipv6Addr, len: u8) -> Result<Prefix, PrefixError> {
        if len > 128 {
            return Err(PrefixError::LengthTooLong(len));
        }
        let bits = u128::from(addr);
        let truncated = bits & mask(len);
        if truncated != bits {
            return Err(PrefixError::HostBitsSet {
                addr,
                len,
                truncated: Ipv6Addr::from(truncated),
            });
        }
        Ok(Prefix { addr, len })
    }

    /// The prefix of length `len` containing `addr` (host bits cleared).
    pub fn truncating(addr: Ipv6Addr, len: u8) -> Result<Prefix, PrefixError> {
        if len > 128 {
            return Err(PrefixError::LengthTooLong(len));
        }
        Ok(Prefix {
            addr: Ipv6Addr::from(u128::from(addr) & mask(len)),
            len,
        })
    }

    pub fn addr(&self) -> Ipv6Addr {
        self.addr
    }

    /// The prefix length; a prefix is never "empty", so there is no
    /// `is_empty` to go with it.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> u8 {
        self.len
    }

    /// Number of addresses as log2 (128 − length).
    pub fn host_bits(&self) -> u8 {
        128 - self.len
    }

    pub fn contains_addr(&self, addr: Ipv6Addr) -> bool {
        u128::from(addr) & mask(self.len) == u128::from(self.addr)
    }

    /// True when `other` lies wholly inside `self` (a prefix contains itself).
    pub fn contains(&self, other: &Prefix) -> bool {
        other.len >= self.len && self.contains_addr(other.addr)
    }

    pub fn overlaps(&self, other: &Prefix) -> bool {
        self.contains(other) || other.contains(self)
    }

    /// The number of subnets of length `new_len` in this prefix, as a power of
    /// two exponent; `None` if `new_len` is shorter than this prefix.
    pub fn subnet_bits(&self, new_len: u8) -> Option<u8> {
        (new_len >= self.len && new_len <= 128).then(|| new_len - self.len)
    }

    /// The `index`-th subnet of length `new_len` (index 0 is the lowest).
    /// `None` if `new_len` is out of range or `index` does not fit.
    pub fn subnet(&self, new_len: u8, index: u128) -> Option<Prefix> {
        let bits = self.subnet_bits(new_len)?;
        if bits < 128 && index >> bits != 0 {
            return None;
        }
        let shift = 128 - u32::from(new_len);
        let offset = if shift >= 128 {
            0
        } else {
            index.checked_shl(shift)?
        };
        Some(Prefix {
            addr: Ipv6Addr::from(u128::from(self.addr) | offset),
            len: new_len,
        })
    }

    /// Index of `sub` among the subnets of its length inside `self`.
    pub fn subnet_index(&self, sub: &Prefix) -> Option<u128> {
        if !self.contains(sub) {
            return None;
        }
        let shift = 128 - u32::from(sub.len);
        let rel = (u128::from(sub.addr) & !mask(self.len))
            .checked_shr(shift)
            .unwrap_or(0);
        Some(rel)
    }

    /// The address at `host` inside this prefix (e.g. `::1` on a /64).
    /// `None` if `host` has bits outside the host part.
    pub fn host(&self, host: u128) -> Option<Ipv6Addr> {
        if host & mask(self.len) != 0 {
            return None;
        }
        Some(Ipv6Addr::from(u128::from(self.addr) | host))
    }

    /// The two halves of this prefix, or `None` for a /128.
    pub fn halves(&self) -> Option<(Prefix, Prefix)> {
        Some((
            self.subnet(self.len.checked_add(1)?, 0)?,
            self.subnet(self.len + 1, 1)?,
        ))
    }

    /// The prefix one bit shorter that contains this one.
    pub fn parent(&self) -> Option<Prefix> {
        let len = self.len.checked_sub(1)?;
        Prefix::truncating(self.addr, len).ok()
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl fmt::Debug for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for Prefix {
    type Err = PrefixError;
    fn from_str(s: &str) -> Result<Prefix, PrefixError> {
        let (a, l) = s
            .split_once('/')
            .ok_or_else(|| PrefixError::Syntax(s.to_string()))?;
        let addr: Ipv6Addr = a.parse().map_err(|_| PrefixError::Syntax(s.to_string()))?;
        let len: u8 = l.parse().map_err(|_| PrefixError::Syntax(s.to_string()))?;
        Prefix::new(addr, len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(s: &str) -> Prefix {
        s.parse().unwrap()
    }

    #[test]
    fn host_bits_rejected() {
        let e = "2001:db8::1/64".parse::<Prefix>().unwrap_err();
        assert!(matches!(e, PrefixError::HostBitsSet { len: 64, .. }));
        assert!("2001:db8::/129".parse::<Prefix>().is_err());
        assert!("2001:db8::".parse::<Prefix>().is_err());
    }

    #[test]
    fn subnets_of_a_56() {
        let d = p("2001:db8:1200::/56");
        assert_eq!(d.subnet(64, 0), Some(p("2001:db8:1200::/64")));
        assert_eq!(d.subnet(64, 1), Some(p("2001:db8:1200:1::/64")));
        assert_eq!(d.subnet(64, 255), Some(p("2001:db8:1200:ff::/64")));
        assert_eq!(d.subnet(64, 256), None);
        assert_eq!(d.subnet(60, 15), Some(p("2001:db8:1200:f0::/60")));
        assert_eq!(d.subnet(48, 0), None);
        assert_eq!(d.subnet_index(&p("2001:db8:1200:ff::/64")), Some(255));
        assert_eq!(d.host(1u128 << 72), None);
        assert_eq!(
            p("2001:db8:1200:1::/64").host(1),
            Some("2001:db8:1200:1::1".parse().unwrap())
        );
    }

    #[test]
    fn edge_lengths() {
        assert_eq!(Prefix::DEFAULT.subnet(1, 1), Some(p("8000::/1")));
        assert_eq!(
            Prefix::DEFAULT.subnet(128, u128::MAX).map(|x| x.len()),
            Some(128)
        );
        assert_eq!(p("::1/128").halves(), None);
        assert_eq!(p("2001:db8::/32").parent(), Some(p("2001:db8::/31")));
    }

    proptest! {
        #[test]
        fn subnet_roundtrip(bits in any::<u128>(), len in 0u8..=128, extra in 0u8..=16, idx in any::<u128>()) {
            let parent = Prefix::truncating(Ipv6Addr::from(bits), len).unwrap();
            let new_len = len.saturating_add(extra).min(128);
            let sb = parent.subnet_bits(new_len).unwrap();
            let idx = if sb >= 128 { idx } else { idx & ((1u128 << sb) - 1) };
            let sub = parent.subnet(new_len, idx).unwrap();
            prop_assert!(parent.contains(&sub));
            prop_assert_eq!(parent.subnet_index(&sub), Some(idx));
            prop_assert_eq!(sub.to_string().parse::<Prefix>().unwrap(), sub);
        }
    }
}
