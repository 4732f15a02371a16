//! Read and emit helpers shared by the ND messages and options.
//!
//! [`Fields`] reads named fields (the `Range` constants of each `mod field`)
//! out of untrusted input. Every read is checked: a field outside the bytes
//! is a `Truncated` error, never a panic, and every error names its offset
//! in the ICMPv6 message and the option it belongs to, so callers need no
//! offset bookkeeping of their own.
//!
//! [`Writer`] emits sequentially into a buffer whose length was checked
//! against `buffer_len()` beforehand (`NdMessage::emit` does that).
//!
//! Panic contract: `Fields` never panics, for any input. `Writer` panics
//! only when asked to write past its buffer, which the length check above
//! rules out.

use std::net::Ipv6Addr;
use std::ops::{BitAnd, BitOr, Range};

use super::error::{NdError, NdErrorKind};
use crate::Lifetime;

/// A checked view of one message part (a fixed header, one option, an
/// options area) at a known place in the ICMPv6 message.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields<'a> {
    bytes: &'a [u8],
    /// Offset of `bytes[0]` from the ICMPv6 type octet.
    base: usize,
    /// The option type, when `bytes` is one option.
    option: Option<u8>,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(bytes: &'a [u8], base: usize) -> Self {
        Fields {
            bytes,
            base,
            option: None,
        }
    }

    pub(crate) fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    pub(crate) fn len(&self) -> usize {
        self.bytes.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// An error at `at` octets into this part, naming its option if any.
    pub(crate) fn error(&self, kind: NdErrorKind, at: usize) -> NdError {
        let offset = self.base.saturating_add(at);
        match self.option {
            Some(option) => NdError::in_option(kind, offset, option),
            None => NdError::new(kind, offset),
        }
    }

    /// `Truncated`: `need` octets were wanted at `at`.
    pub(crate) fn truncated(&self, at: usize, need: usize) -> NdError {
        let have = self.bytes.len().saturating_sub(at);
        self.error(NdErrorKind::Truncated { need, have }, at)
    }

    /// `BadValue` for the field at `at`.
    pub(crate) fn bad_value(&self, field: &'static str, at: usize) -> NdError {
        self.error(NdErrorKind::BadValue { field }, at)
    }

    /// The same octets as option `kind`: errors now name it.
    pub(crate) fn in_option(self, kind: u8) -> Self {
        Fields {
            option: Some(kind),
            ..self
        }
    }

    /// The part from `at` on, still in the same option.
    pub(crate) fn sub(&self, at: usize) -> Fields<'a> {
        Fields {
            bytes: self.tail(at),
            base: self.base.saturating_add(at),
            ..*self
        }
    }

    /// Splits off the first `len` octets (a fixed part, one option); the
    /// rest belongs to no option. Fails with `Truncated` at the start of
    /// this part when fewer than `len` octets remain.
    pub(crate) fn split(&self, len: usize) -> Result<(Fields<'a>, Fields<'a>), NdError> {
        let Some((this, rest)) = self.bytes.split_at_checked(len) else {
            return Err(self.truncated(0, len));
        };
        Ok((
            Fields {
                bytes: this,
                ..*self
            },
            Fields::new(rest, self.base + len),
        ))
    }

    /// The `N` octets at `at`.
    pub(crate) fn array<const N: usize>(&self, at: usize) -> Result<[u8; N], NdError> {
        at.checked_add(N)
            .and_then(|end| self.bytes.get(at..end))
            .and_then(|s| <[u8; N]>::try_from(s).ok())
            .ok_or_else(|| self.truncated(at, N))
    }

    /// The `N` octets of field `r` (which spans exactly `N` octets).
    fn range<const N: usize>(&self, r: Range<usize>) -> Result<[u8; N], NdError> {
        debug_assert_eq!(r.len(), N, "field range and width disagree");
        self.array(r.start)
    }

    pub(crate) fn u8(&self, at: usize) -> Result<u8, NdError> {
        let [b] = self.array(at)?;
        Ok(b)
    }

    pub(crate) fn u16(&self, r: Range<usize>) -> Result<u16, NdError> {
        self.range(r).map(u16::from_be_bytes)
    }

    pub(crate) fn u32(&self, r: Range<usize>) -> Result<u32, NdError> {
        self.range(r).map(u32::from_be_bytes)
    }

    /// A 32-bit lifetime, 0xffffffff meaning infinity.
    pub(crate) fn lifetime(&self, r: Range<usize>) -> Result<Lifetime, NdError> {
        self.u32(r).map(Lifetime::from_wire)
    }

    pub(crate) fn addr(&self, r: Range<usize>) -> Result<Ipv6Addr, NdError> {
        self.range(r).map(Ipv6Addr::from)
    }

    /// The leading octets of an address carried in field `r` (at most 16,
    /// e.g. a RIO or PREF64 prefix), the rest of the address zero.
    pub(crate) fn addr_prefix(&self, r: Range<usize>) -> Result<Ipv6Addr, NdError> {
        let Some(carried) = self.bytes.get(r.clone()) else {
            return Err(self.truncated(r.start, r.len()));
        };
        let mut a = [0u8; 16];
        debug_assert!(carried.len() <= a.len(), "address field over 16 octets");
        for (to, from) in a.iter_mut().zip(carried) {
            *to = *from;
        }
        Ok(Ipv6Addr::from(a))
    }

    /// Everything from `at` on, empty when `at` is past the end.
    pub(crate) fn tail(&self, at: usize) -> &'a [u8] {
        self.bytes.get(at..).unwrap_or(&[])
    }
}

/// Which of the one-bit flags in `bits` (a flags octet or word; `bits[i]`
/// the mask of flag `i`) are set. [`pack_flags`] with the same table is the
/// inverse, so parse and emit cannot disagree on a bit.
pub(crate) fn unpack_flags<T, const N: usize>(bits: T, flags: [T; N]) -> [bool; N]
where
    T: BitAnd<Output = T> + PartialEq + Default + Copy,
{
    flags.map(|bit| bits & bit != T::default())
}

/// `rest` (the reserved and multi-bit fields) with the bit of each set
/// flag ORed in; `flags` as for [`unpack_flags`].
pub(crate) fn pack_flags<T, const N: usize>(rest: T, flags: [T; N], set: [bool; N]) -> T
where
    T: BitOr<Output = T>,
{
    flags
        .into_iter()
        .zip(set)
        .filter(|(_, set)| *set)
        .fold(rest, |acc, (bit, _)| acc | bit)
}

/// Writes into a buffer at least as long as the value's `buffer_len()`;
/// `NdMessage::emit` checks that before creating one.
pub(crate) struct Writer<'a> {
    buf: &'a mut [u8],
    pub(crate) pos: usize,
}

impl<'a> Writer<'a> {
    pub(crate) fn new(buf: &'a mut [u8]) -> Self {
        Writer { buf, pos: 0 }
    }

    // Indexing cannot fail: emit asserted buf.len() >= buffer_len(), and
    // every emit writes exactly its buffer_len() (tested by proptest).
    pub(crate) fn put(&mut self, bytes: &[u8]) {
        self.buf[self.pos..self.pos + bytes.len()].copy_from_slice(bytes);
        self.pos += bytes.len();
    }

    pub(crate) fn zeros(&mut self, n: usize) {
        self.buf[self.pos..self.pos + n].fill(0);
        self.pos += n;
    }

    pub(crate) fn u8(&mut self, v: u8) {
        self.put(&[v]);
    }

    pub(crate) fn u16(&mut self, v: u16) {
        self.put(&v.to_be_bytes());
    }

    pub(crate) fn u32(&mut self, v: u32) {
        self.put(&v.to_be_bytes());
    }

    pub(crate) fn lifetime(&mut self, v: Lifetime) {
        self.u32(v.to_wire());
    }

    /// The first `len` octets of `a` (all 16 unless a prefix is cut short);
    /// `len` above 16 writes the whole address.
    pub(crate) fn addr_prefix(&mut self, a: Ipv6Addr, len: usize) {
        let octets = a.octets();
        self.put(octets.get(..len).unwrap_or(&octets));
    }

    pub(crate) fn addr(&mut self, a: Ipv6Addr) {
        self.put(&a.octets());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_checked_and_report_where() {
        let bytes = [1u8, 2, 3, 4, 5, 6];
        let f = Fields::new(&bytes, 10);
        assert_eq!(f.u16(0..2), Ok(0x0102));
        assert_eq!(f.u32(2..6), Ok(0x0304_0506));
        let e = f.u32(4..8).unwrap_err();
        assert_eq!(e.kind, NdErrorKind::Truncated { need: 4, have: 2 });
        assert_eq!((e.offset, e.option), (14, None));
        let e = f.u8(usize::MAX).unwrap_err();
        assert_eq!(e.kind, NdErrorKind::Truncated { need: 1, have: 0 });
        assert_eq!(f.tail(4), &[5, 6]);
        assert_eq!(f.tail(7), &[] as &[u8]);
        assert_eq!(
            f.addr_prefix(2..5),
            Ok(Ipv6Addr::from([
                3, 4, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
            ]))
        );
        assert!(f.addr_prefix(2..9).is_err());
    }

    #[test]
    fn split_names_the_option_on_both_outcomes() {
        let bytes = [5u8, 1, 0, 0, 0, 0, 0, 0, 9];
        let area = Fields::new(&bytes, 24);
        let (opt, rest) = area.in_option(5).split(8).unwrap();
        assert_eq!(opt.bad_value("x", 1).option, Some(5));
        assert_eq!(opt.bad_value("x", 1).offset, 25);
        assert_eq!(opt.sub(4).bad_value("x", 1).offset, 29);
        assert_eq!(opt.sub(4).bad_value("x", 1).option, Some(5));
        assert_eq!(rest.error(NdErrorKind::ZeroLength, 0).offset, 32);
        assert_eq!(rest.error(NdErrorKind::ZeroLength, 0).option, None);
        let e = rest.in_option(9).split(8).unwrap_err();
        assert_eq!(e.kind, NdErrorKind::Truncated { need: 8, have: 1 });
        assert_eq!((e.offset, e.option), (32, Some(9)));
    }

    #[test]
    fn flags_and_writer() {
        assert_eq!(pack_flags(0x03u8, [0x80, 0x40], [true, false]), 0x83);
        assert_eq!(
            unpack_flags(0x83u8, [0x80, 0x40, 0x01]),
            [true, false, true]
        );
        let mut buf = [0xffu8; 12];
        let mut w = Writer::new(&mut buf);
        w.lifetime(Lifetime::Infinite);
        w.addr_prefix("2001:db8::".parse().unwrap(), 4);
        w.zeros(2);
        w.u16(0x0a0b);
        assert_eq!(w.pos, 12);
        assert_eq!(
            buf,
            [
                0xff, 0xff, 0xff, 0xff, 0x20, 1, 0x0d, 0xb8, 0, 0, 0x0a, 0x0b
            ]
        );
    }
}
