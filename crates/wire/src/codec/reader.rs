//! [`Reader`]: a checked view of untrusted input.
//!
//! A reader is a slice of the input plus where that slice sits in the
//! outermost buffer (`base`) and, optionally, which option it belongs to.
//! It reads two ways, and every read returns `Result` and never panics:
//!
//! - as a cursor (`u8()`, `u16()`, `take(n)`, `sub(len)`, `records(size)`),
//!   for formats read front to back (DHCPv6 options, relay layers, RIPng
//!   route entries);
//! - by position within the view (`get_u16(field::X)`, `split(len)`,
//!   `view_from(at)`), for formats drawn as fixed boxes with named field
//!   ranges (ND messages and options, the Mobility Header). Positional
//!   reads count from the start of the view, not from the cursor.
//!
//! An octet the input does not have is a `Truncated` error of the
//! protocol's kind, at the absolute offset where it was wanted and naming
//! the option the view belongs to. Sub-views keep counting offsets from the
//! start of the outermost buffer, so callers do no offset bookkeeping.

use std::marker::PhantomData;
use std::net::Ipv6Addr;
use std::ops::Range;

use super::error::{Error, ErrorKind};
use crate::Lifetime;

pub(crate) struct Reader<'a, K: ErrorKind> {
    buf: &'a [u8],
    /// Cursor: the next unread octet of `buf`.
    pos: usize,
    /// Offset of `buf[0]` in the outermost buffer.
    base: usize,
    /// The option `buf` belongs to, named by every error from this view.
    option: Option<K::Option>,
    kind: PhantomData<fn() -> K>,
}

// By hand: a derive would ask K itself to be Copy.
impl<K: ErrorKind> Clone for Reader<'_, K> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<K: ErrorKind> Copy for Reader<'_, K> {}

impl<K: ErrorKind> std::fmt::Debug for Reader<'_, K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("len", &self.buf.len())
            .field("pos", &self.pos)
            .field("base", &self.base)
            .field("option", &self.option)
            .finish()
    }
}

impl<'a, K: ErrorKind> Reader<'a, K> {
    /// A view of the whole outermost buffer.
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self::at_offset(buf, 0)
    }

    /// A view of `buf`, which starts `base` octets into the outermost buffer.
    pub(crate) fn at_offset(buf: &'a [u8], base: usize) -> Self {
        Reader {
            buf,
            pos: 0,
            base,
            option: None,
            kind: PhantomData,
        }
    }

    /// The same view, its errors naming `option`.
    pub(crate) fn in_option(self, option: K::Option) -> Self {
        Reader {
            option: Some(option),
            ..self
        }
    }

    // ----- the view -----

    /// Every octet of the view, read or not.
    pub(crate) fn bytes(&self) -> &'a [u8] {
        self.buf
    }

    /// Octets in the view, read or not.
    pub(crate) fn len(&self) -> usize {
        self.buf.len()
    }

    /// Absolute offset of the next unread octet.
    pub(crate) fn offset(&self) -> usize {
        self.base.saturating_add(self.pos)
    }

    /// Octets after the cursor.
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// Nothing left after the cursor.
    pub(crate) fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    // ----- errors -----

    /// `kind` at the cursor.
    pub(crate) fn error(&self, kind: K) -> Error<K> {
        self.error_at_offset(kind, self.offset())
    }

    /// `kind` at `at` octets into the view.
    pub(crate) fn error_at(&self, kind: K, at: usize) -> Error<K> {
        self.error_at_offset(kind, self.base.saturating_add(at))
    }

    /// `kind` at absolute `offset`, naming this view's option.
    pub(crate) fn error_at_offset(&self, kind: K, offset: usize) -> Error<K> {
        Error {
            kind,
            offset,
            option: self.option,
        }
    }

    /// `Truncated`: `need` octets were wanted `at` octets into the view.
    pub(crate) fn truncated_at(&self, at: usize, need: usize) -> Error<K> {
        let have = self.buf.len().saturating_sub(at);
        self.error_at(K::truncated(need, have), at)
    }

    /// Fails with `Truncated` at the cursor unless `need` octets remain.
    pub(crate) fn require(&self, need: usize) -> Result<(), Error<K>> {
        let have = self.remaining();
        if have < need {
            return Err(self.error(K::truncated(need, have)));
        }
        Ok(())
    }

    // ----- cursor reads -----

    /// The next octet, without consuming it.
    pub(crate) fn peek_u8(&self) -> Result<u8, Error<K>> {
        self.require(1)?;
        self.buf
            .get(self.pos)
            .copied()
            .ok_or_else(|| self.error(K::truncated(1, 0)))
    }

    /// The next `n` octets.
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], Error<K>> {
        let out = self.buf.get(self.pos..).and_then(|rest| rest.get(..n));
        let out = out.ok_or_else(|| self.error(K::truncated(n, self.remaining())))?;
        self.pos += n;
        Ok(out)
    }

    /// Skips `n` octets (reserved fields, padding).
    #[allow(dead_code, reason = "used by the toolkit tests; no codec skips yet")]
    pub(crate) fn skip(&mut self, n: usize) -> Result<(), Error<K>> {
        self.take(n).map(|_| ())
    }

    /// Everything not read yet.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        let out = self.buf.get(self.pos..).unwrap_or(&[]);
        self.pos = self.buf.len();
        out
    }

    /// The next `len` octets as their own view (an option body, a nested
    /// message), in the same option.
    pub(crate) fn sub(&mut self, len: usize) -> Result<Reader<'a, K>, Error<K>> {
        let base = self.offset();
        let buf = self.take(len)?;
        Ok(Reader {
            buf,
            pos: 0,
            base,
            option: self.option,
            kind: PhantomData,
        })
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], Error<K>> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, Error<K>> {
        let [b] = self.array()?;
        Ok(b)
    }

    pub(crate) fn u16(&mut self) -> Result<u16, Error<K>> {
        self.array().map(u16::from_be_bytes)
    }

    pub(crate) fn u32(&mut self) -> Result<u32, Error<K>> {
        self.array().map(u32::from_be_bytes)
    }

    pub(crate) fn u64(&mut self) -> Result<u64, Error<K>> {
        self.array().map(u64::from_be_bytes)
    }

    pub(crate) fn ipv6(&mut self) -> Result<Ipv6Addr, Error<K>> {
        self.array::<16>().map(Ipv6Addr::from)
    }

    /// A 32-bit lifetime, 0xffffffff meaning infinity.
    #[allow(dead_code, reason = "no codec reads a bare 32-bit lifetime yet")]
    pub(crate) fn lifetime(&mut self) -> Result<Lifetime, Error<K>> {
        self.u32().map(Lifetime::from_wire)
    }

    /// The rest of the view as consecutive records of `size` octets (RIPng
    /// route table entries, RFC 2080 §2.4; lists of addresses). Each item
    /// is a view of one record; an incomplete last record is one
    /// `Truncated` error, after which the iteration ends. `size` 0 yields
    /// nothing.
    pub(crate) fn records(&mut self, size: usize) -> Records<'_, 'a, K> {
        Records { reader: self, size }
    }

    /// One option in the layout of the Mobility Header (RFC 6275 §6.2.1)
    /// and of IPv6 Hop-by-Hop and Destination options (RFC 8200 §4.2): a
    /// type octet, then, except for Pad1 (type 0, that octet alone), a
    /// length octet counting the data octets that follow. Returns the type
    /// and a view of the data (empty for Pad1) whose errors name the
    /// option.
    pub(crate) fn tlv8_option(&mut self) -> Result<(u8, Reader<'a, K>), Error<K>>
    where
        K::Option: From<u8>,
    {
        let kind = self.u8()?;
        let mut this = self.in_option(K::Option::from(kind));
        if kind == super::writer::PAD1 {
            let empty = this.sub(0)?;
            return Ok((kind, empty));
        }
        let len = usize::from(this.u8()?);
        let data = this.sub(len)?;
        self.pos = this.pos;
        Ok((kind, data))
    }

    // ----- positional reads, counted from the start of the view -----

    /// The `N` octets at `at`.
    pub(crate) fn get_array<const N: usize>(&self, at: usize) -> Result<[u8; N], Error<K>> {
        at.checked_add(N)
            .and_then(|end| self.buf.get(at..end))
            .and_then(|s| <[u8; N]>::try_from(s).ok())
            .ok_or_else(|| self.truncated_at(at, N))
    }

    /// The `N` octets of field `r`, which spans exactly `N` octets.
    fn get_field<const N: usize>(&self, r: Range<usize>) -> Result<[u8; N], Error<K>> {
        debug_assert_eq!(r.len(), N, "field range and width disagree");
        self.get_array(r.start)
    }

    pub(crate) fn get_u8(&self, at: usize) -> Result<u8, Error<K>> {
        let [b] = self.get_array(at)?;
        Ok(b)
    }

    pub(crate) fn get_u16(&self, r: Range<usize>) -> Result<u16, Error<K>> {
        self.get_field(r).map(u16::from_be_bytes)
    }

    pub(crate) fn get_u32(&self, r: Range<usize>) -> Result<u32, Error<K>> {
        self.get_field(r).map(u32::from_be_bytes)
    }

    /// A 32-bit lifetime, 0xffffffff meaning infinity.
    pub(crate) fn get_lifetime(&self, r: Range<usize>) -> Result<Lifetime, Error<K>> {
        self.get_u32(r).map(Lifetime::from_wire)
    }

    pub(crate) fn get_ipv6(&self, r: Range<usize>) -> Result<Ipv6Addr, Error<K>> {
        self.get_field(r).map(Ipv6Addr::from)
    }

    /// The leading octets of an address carried in field `r` (at most 16,
    /// e.g. a Route Information or PREF64 prefix), the rest zero.
    pub(crate) fn get_addr_prefix(&self, r: Range<usize>) -> Result<Ipv6Addr, Error<K>> {
        let Some(carried) = self.buf.get(r.clone()) else {
            return Err(self.truncated_at(r.start, r.len()));
        };
        let mut a = [0u8; 16];
        debug_assert!(carried.len() <= a.len(), "address field over 16 octets");
        for (to, from) in a.iter_mut().zip(carried) {
            *to = *from;
        }
        Ok(Ipv6Addr::from(a))
    }

    /// The octets from `at` on, empty when `at` is past the end.
    pub(crate) fn tail(&self, at: usize) -> &'a [u8] {
        self.buf.get(at..).unwrap_or(&[])
    }

    /// The view from `at` on, in the same option (empty past the end).
    pub(crate) fn view_from(&self, at: usize) -> Reader<'a, K> {
        Reader {
            buf: self.tail(at),
            pos: 0,
            base: self.base.saturating_add(at),
            option: self.option,
            kind: PhantomData,
        }
    }

    /// Splits the view after `len` octets: a fixed part or one option
    /// (still in this view's option) and the rest (in no option). Fails
    /// with `Truncated` at the start of the view when it is shorter.
    pub(crate) fn split(&self, len: usize) -> Result<(Reader<'a, K>, Reader<'a, K>), Error<K>> {
        let Some((this, rest)) = self.buf.split_at_checked(len) else {
            return Err(self.truncated_at(0, len));
        };
        Ok((
            Reader {
                buf: this,
                pos: 0,
                ..*self
            },
            Reader::at_offset(rest, self.base.saturating_add(len)),
        ))
    }
}

/// Iterator of [`Reader::records`].
pub(crate) struct Records<'r, 'a, K: ErrorKind> {
    reader: &'r mut Reader<'a, K>,
    size: usize,
}

impl<'a, K: ErrorKind> Iterator for Records<'_, 'a, K> {
    type Item = Result<Reader<'a, K>, Error<K>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.size == 0 || self.reader.is_empty() {
            return None;
        }
        let record = self.reader.sub(self.size);
        if record.is_err() {
            // Report the short record once, then stop.
            self.reader.rest();
        }
        Some(record)
    }
}

#[cfg(test)]
mod tests {
    use super::super::error::test_kind::TestKind;
    use super::*;

    type R<'a> = Reader<'a, TestKind>;

    #[test]
    fn cursor_reads_report_absolute_offsets() {
        let bytes = [1u8, 2, 3, 4, 5, 6];
        let mut r = R::new(&bytes);
        assert_eq!(r.u16().unwrap(), 0x0102);
        assert_eq!(r.peek_u8().unwrap(), 3);
        let mut sub = r.sub(3).unwrap();
        assert_eq!(sub.offset(), 2);
        assert_eq!(sub.u8().unwrap(), 3);
        let err = sub.u32().unwrap_err();
        assert_eq!(err.offset, 3);
        assert_eq!(err.kind, TestKind::Truncated { need: 4, have: 2 });
        assert_eq!(r.remaining(), 1);
        assert_eq!(r.rest(), &[6]);
        assert!(r.is_empty());
        assert!(r.take(1).is_err());
        assert!(r.peek_u8().is_err());
        assert!(r.skip(1).is_err());
        assert_eq!(r.rest(), &[] as &[u8]);
    }

    #[test]
    fn wide_reads_and_lifetimes() {
        let bytes = [0xffu8, 0xff, 0xff, 0xff, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7];
        let mut r = R::new(&bytes);
        assert_eq!(r.lifetime().unwrap(), Lifetime::Infinite);
        assert_eq!(r.u32().unwrap(), 1);
        assert_eq!(r.u16().unwrap(), 0x0203);
        assert_eq!(r.remaining(), 4);
        let e = r.u64().unwrap_err();
        assert_eq!((e.kind, e.offset), (TestKind::truncated(8, 4), 10));
        assert!(r.ipv6().is_err());
        assert_eq!(r.u32().unwrap(), 0x0405_0607);
        let addr = [0x20u8, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        assert_eq!(
            R::new(&addr).ipv6().unwrap(),
            "2001:db8::1".parse::<Ipv6Addr>().unwrap()
        );
    }

    #[test]
    fn positional_reads_are_checked_and_report_where() {
        let bytes = [1u8, 2, 3, 4, 5, 6];
        let f = R::at_offset(&bytes, 10);
        assert_eq!(f.get_u16(0..2), Ok(0x0102));
        assert_eq!(f.get_u32(2..6), Ok(0x0304_0506));
        let e = f.get_u32(4..8).unwrap_err();
        assert_eq!(e.kind, TestKind::Truncated { need: 4, have: 2 });
        assert_eq!((e.offset, e.option), (14, None));
        let e = f.get_u8(usize::MAX).unwrap_err();
        assert_eq!(e.kind, TestKind::Truncated { need: 1, have: 0 });
        assert_eq!(f.tail(4), &[5, 6]);
        assert_eq!(f.tail(7), &[] as &[u8]);
        assert_eq!(
            f.get_addr_prefix(2..5),
            Ok(Ipv6Addr::from([
                3, 4, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
            ]))
        );
        assert!(f.get_addr_prefix(2..9).is_err());
        assert!(f.get_ipv6(0..16).is_err());
        assert_eq!(f.get_lifetime(0..4), Ok(Lifetime::Finite(0x0102_0304)));
    }

    #[test]
    fn split_and_views_name_their_option() {
        let bytes = [5u8, 1, 0, 0, 0, 0, 0, 0, 9];
        let area = R::at_offset(&bytes, 24);
        let (opt, rest) = area.in_option(5).split(8).unwrap();
        let bad = |r: &R<'_>, at| r.error_at(TestKind::Bad("x"), at);
        assert_eq!(bad(&opt, 1).option, Some(5));
        assert_eq!(bad(&opt, 1).offset, 25);
        assert_eq!(bad(&opt.view_from(4), 1).offset, 29);
        assert_eq!(bad(&opt.view_from(4), 1).option, Some(5));
        assert_eq!(opt.view_from(40).len(), 0);
        assert_eq!(bad(&rest, 0).offset, 32);
        assert_eq!(bad(&rest, 0).option, None);
        let e = rest.in_option(9).split(8).unwrap_err();
        assert_eq!(e.kind, TestKind::Truncated { need: 8, have: 1 });
        assert_eq!((e.offset, e.option), (32, Some(9)));
        // Cursor reads inside an option name it too.
        let mut body = opt;
        body.skip(8).unwrap();
        assert_eq!(body.u8().unwrap_err().option, Some(5));
    }

    #[test]
    fn records_split_fixed_size_entries_and_report_a_short_tail() {
        let bytes: Vec<u8> = (0..45).collect();
        let mut r = R::at_offset(&bytes, 4);
        let mut firsts = Vec::new();
        let mut errors = Vec::new();
        for rec in r.records(20) {
            match rec {
                Ok(mut rec) => {
                    assert_eq!(rec.len(), 20);
                    firsts.push((rec.offset(), rec.u8().unwrap()));
                }
                Err(e) => errors.push(e),
            }
        }
        assert_eq!(firsts, [(4, 0), (24, 20)]);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].kind, TestKind::Truncated { need: 20, have: 5 });
        assert_eq!(errors[0].offset, 44);
        assert!(r.is_empty());
        assert_eq!(R::new(&bytes).records(0).count(), 0);
        assert_eq!(
            R::new(&bytes[..40])
                .records(20)
                .filter(Result::is_ok)
                .count(),
            2
        );
    }

    #[test]
    fn tlv8_options_walk_pad1_padn_and_data() {
        // Pad1, PadN(1), option 3 with 2 octets, option 9 cut short.
        let bytes = [0u8, 1, 1, 0, 3, 2, 0xaa, 0xbb, 9, 4, 1];
        let mut r = R::at_offset(&bytes, 100);
        let (kind, data) = r.tlv8_option().unwrap();
        assert_eq!((kind, data.len(), data.offset()), (0, 0, 101));
        let (kind, data) = r.tlv8_option().unwrap();
        assert_eq!((kind, data.bytes()), (1, &[0u8][..]));
        let (kind, mut data) = r.tlv8_option().unwrap();
        assert_eq!((kind, data.offset()), (3, 106));
        assert_eq!(data.u16().unwrap(), 0xaabb);
        assert_eq!(data.u8().unwrap_err().option, Some(3));
        let e = r.tlv8_option().unwrap_err();
        assert_eq!(e.kind, TestKind::Truncated { need: 4, have: 1 });
        assert_eq!((e.offset, e.option), (110, Some(9)));
        let e = R::new(&[7]).tlv8_option().unwrap_err();
        assert_eq!((e.offset, e.option), (1, Some(7)));
    }

    #[test]
    fn no_read_panics_on_any_length() {
        let bytes = [0xa5u8; 40];
        for len in 0..=bytes.len() {
            let mut r = R::new(&bytes[..len]);
            let _ = (r.u8(), r.u16(), r.u32(), r.u64(), r.ipv6(), r.lifetime());
            let _ = (r.take(usize::MAX), r.sub(usize::MAX), r.peek_u8());
            let f = R::at_offset(&bytes[..len], usize::MAX);
            let _ = (f.get_u8(len), f.get_u32(usize::MAX - 4..usize::MAX));
            let _ = (
                f.get_ipv6(len..len + 16),
                f.split(usize::MAX),
                f.tail(usize::MAX),
            );
            let _ = f.error_at(TestKind::Bad("x"), usize::MAX);
            let _ = f.get_addr_prefix(3..usize::MAX);
            let mut t = R::new(&bytes[..len]);
            while t.tlv8_option().is_ok() {}
        }
    }
}
