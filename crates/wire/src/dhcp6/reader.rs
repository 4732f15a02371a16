//! Cursor types: [`Reader`] over untrusted input and [`Writer`] into a
//! buffer already checked to be long enough.
//!
//! `Reader` never panics: every read checks the remaining length first and
//! reports a [`DecodeError`] with the absolute offset. `sub(len)` carves a
//! length-prefixed sub-reader (an option body, a nested message) that keeps
//! counting offsets from the start of the outer message.
//!
//! `Writer` indexes its buffer directly; callers check the buffer length
//! against `buffer_len()` before they create one (see `Message::emit`).

use std::net::Ipv6Addr;

use super::error::{DecodeError, DecodeErrorKind};

#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Offset of `buf[0]` in the outermost message, for error reports.
    base: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader {
            buf,
            pos: 0,
            base: 0,
        }
    }

    /// Absolute offset of the next unread octet.
    pub(crate) fn offset(&self) -> usize {
        self.base + self.pos
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    pub(crate) fn error(&self, kind: DecodeErrorKind) -> DecodeError {
        DecodeError::new(kind, self.offset())
    }

    /// Fails with `Truncated` unless `need` octets remain.
    pub(crate) fn require(&self, need: usize) -> Result<(), DecodeError> {
        let have = self.remaining();
        if have < need {
            return Err(self.error(DecodeErrorKind::Truncated { need, have }));
        }
        Ok(())
    }

    /// The next octet, without consuming it.
    pub(crate) fn peek_u8(&self) -> Result<u8, DecodeError> {
        self.require(1)?;
        self.buf
            .get(self.pos)
            .copied()
            .ok_or_else(|| self.error(DecodeErrorKind::Truncated { need: 1, have: 0 }))
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let out = self.buf.get(self.pos..).and_then(|rest| rest.get(..n));
        let out = out.ok_or_else(|| {
            self.error(DecodeErrorKind::Truncated {
                need: n,
                have: self.remaining(),
            })
        })?;
        self.pos += n;
        Ok(out)
    }

    /// Everything not read yet.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        let out = self.buf.get(self.pos..).unwrap_or(&[]);
        self.pos = self.buf.len();
        out
    }

    /// The next `len` octets as their own reader.
    pub(crate) fn sub(&mut self, len: usize) -> Result<Reader<'a>, DecodeError> {
        let base = self.offset();
        let buf = self.take(len)?;
        Ok(Reader { buf, pos: 0, base })
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    pub(crate) fn ipv6(&mut self) -> Result<Ipv6Addr, DecodeError> {
        Ok(Ipv6Addr::from(self.array::<16>()?))
    }
}

/// Sequential writer into a buffer whose length was checked beforehand.
pub(crate) struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> Writer<'a> {
    pub(crate) fn new(buf: &'a mut [u8]) -> Self {
        Writer { buf, pos: 0 }
    }

    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    pub(crate) fn put_slice(&mut self, bytes: &[u8]) {
        // In bounds: emit checked buf.len() >= buffer_len(), and buffer_len
        // counts exactly what the emit functions write.
        self.buf[self.pos..self.pos + bytes.len()].copy_from_slice(bytes);
        self.pos += bytes.len();
    }

    pub(crate) fn put_u8(&mut self, v: u8) {
        self.put_slice(&[v]);
    }

    pub(crate) fn put_u16(&mut self, v: u16) {
        self.put_slice(&v.to_be_bytes());
    }

    pub(crate) fn put_u32(&mut self, v: u32) {
        self.put_slice(&v.to_be_bytes());
    }

    pub(crate) fn put_u64(&mut self, v: u64) {
        self.put_slice(&v.to_be_bytes());
    }

    pub(crate) fn put_ipv6(&mut self, addr: Ipv6Addr) {
        self.put_slice(&addr.octets());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_reader_reports_absolute_offsets() {
        let bytes = [1u8, 2, 3, 4, 5, 6];
        let mut r = Reader::new(&bytes);
        assert_eq!(r.u16().unwrap(), 0x0102);
        let mut sub = r.sub(3).unwrap();
        assert_eq!(sub.offset(), 2);
        assert_eq!(sub.u8().unwrap(), 3);
        let err = sub.u32().unwrap_err();
        assert_eq!(err.offset, 3);
        assert_eq!(err.kind, DecodeErrorKind::Truncated { need: 4, have: 2 });
        assert_eq!(r.remaining(), 1);
        assert_eq!(r.rest(), &[6]);
        assert!(r.is_empty());
        assert!(r.take(1).is_err());
    }
}
