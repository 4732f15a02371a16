//! [`Writer`]: sequential output into a buffer already checked to be long
//! enough, and the padding every aligned format needs.
//!
//! Every codec's `emit` first checks the buffer against the value's
//! `buffer_len()` (and panics with a message naming both lengths if the
//! caller passed a short one); after that, each `put_*` stays in bounds
//! because `buffer_len()` counts exactly what the emit functions write
//! (proptested per codec). A writer therefore indexes directly.

use std::net::Ipv6Addr;

use crate::Lifetime;

/// Sequential writer into a buffer whose length was checked beforehand.
pub(crate) struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

/// Pad1 option type (RFC 6275 §6.2.2; the same layout as the IPv6
/// Hop-by-Hop and Destination options of RFC 8200 §4.2): one octet, no
/// length.
pub(crate) const PAD1: u8 = 0;
/// PadN option type (RFC 6275 §6.2.3): type, length, `length` zero octets.
pub(crate) const PADN: u8 = 1;

impl<'a> Writer<'a> {
    pub(crate) fn new(buf: &'a mut [u8]) -> Self {
        Writer { buf, pos: 0 }
    }

    /// Octets written so far.
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    pub(crate) fn put_slice(&mut self, bytes: &[u8]) {
        // In bounds: emit checked buf.len() >= buffer_len() (module doc).
        self.buf[self.pos..self.pos + bytes.len()].copy_from_slice(bytes);
        self.pos += bytes.len();
    }

    pub(crate) fn put_zeros(&mut self, n: usize) {
        self.buf[self.pos..self.pos + n].fill(0);
        self.pos += n;
    }

    pub(crate) fn put_u8(&mut self, v: u8) {
        self.put_slice(&[v]);
    }

    pub(crate) fn put_u16(&mut self, v: u16) {
        self.put_slice(&v.to_be_bytes());
    }

    /// Overwrites the two octets at `at`, already written (a length field
    /// filled in once what it counts is written).
    pub(crate) fn set_u16(&mut self, at: usize, v: u16) {
        self.buf[at..at + 2].copy_from_slice(&v.to_be_bytes());
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

    /// A 32-bit lifetime, infinity as 0xffffffff.
    pub(crate) fn put_lifetime(&mut self, v: Lifetime) {
        self.put_u32(v.to_wire());
    }

    /// The first `len` octets of `a` (a prefix carried short); `len` above
    /// 16 writes the whole address.
    pub(crate) fn put_addr_prefix(&mut self, a: Ipv6Addr, len: usize) {
        let octets = a.octets();
        self.put_slice(octets.get(..len).unwrap_or(&octets));
    }

    /// `n` octets of padding as options: nothing for 0, Pad1 for 1, one
    /// PadN otherwise (RFC 6275 §6.2.2-§6.2.3, RFC 8200 §4.2). `n` is at
    /// most 7 in practice (alignment to 8); a larger `n` is written as PadN
    /// options of at most 257 octets each.
    pub(crate) fn put_pad_options(&mut self, mut n: usize) {
        while n > 0 {
            if n == 1 {
                self.put_u8(PAD1);
                return;
            }
            // One PadN covers at most 2 + 255 octets.
            let this = n.min(2 + usize::from(u8::MAX));
            self.put_u8(PADN);
            // this - 2 <= 255 by the min above.
            self.put_u8((this - 2) as u8);
            self.put_zeros(this - 2);
            n -= this;
        }
    }
}

/// `len` rounded up to a multiple of `unit` (`unit` 0 leaves it as is).
pub(crate) fn round_up(len: usize, unit: usize) -> usize {
    if unit == 0 {
        len
    } else {
        len.div_ceil(unit) * unit
    }
}

/// Padding octets that bring `offset` to the next position of the form
/// `n * x + y` (the alignment requirements of RFC 6275 §6.2 and RFC 8200
/// §4.2, written "xn+y": e.g. 8n+6 for the Alternate Care-of Address
/// option). `x` 0 asks for no alignment.
pub(crate) fn align_padding(offset: usize, x: usize, y: usize) -> usize {
    if x == 0 {
        return 0;
    }
    let y = y % x;
    (y + x - offset % x) % x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_every_octet_in_order() {
        let mut buf = [0xffu8; 37];
        let mut w = Writer::new(&mut buf);
        w.put_lifetime(Lifetime::Infinite);
        w.put_addr_prefix("2001:db8::".parse().unwrap(), 4);
        w.put_zeros(2);
        w.put_u16(0x0a0b);
        w.put_u8(7);
        w.put_u64(0x0102_0304_0506_0708);
        w.put_addr_prefix("::1".parse().unwrap(), 99);
        assert_eq!(w.position(), 37);
        assert_eq!(
            buf[..21],
            [
                0xff, 0xff, 0xff, 0xff, 0x20, 1, 0x0d, 0xb8, 0, 0, 0x0a, 0x0b, 7, 1, 2, 3, 4, 5, 6,
                7, 8
            ]
        );
        assert_eq!(buf[21..36], [0; 15]);
        assert_eq!(buf[36], 1);
    }

    #[test]
    #[should_panic]
    fn writing_past_the_buffer_is_a_caller_bug() {
        let mut buf = [0u8; 3];
        Writer::new(&mut buf).put_u32(1);
    }

    #[test]
    fn pad_options_fill_exactly() {
        for n in 0..600 {
            let mut buf = vec![0xaa; n];
            let mut w = Writer::new(&mut buf);
            w.put_pad_options(n);
            assert_eq!(w.position(), n);
            // Walk the padding as a receiver would (RFC 6275 §6.2.1).
            let mut at = 0;
            while at < n {
                match buf[at] {
                    PAD1 => at += 1,
                    PADN => {
                        let len = usize::from(buf[at + 1]);
                        assert!(buf[at + 2..at + 2 + len].iter().all(|&b| b == 0));
                        at += 2 + len;
                    }
                    other => panic!("{n}: option type {other} at {at}"),
                }
            }
            assert_eq!(at, n);
        }
        let mut buf = [0xaa; 3];
        Writer::new(&mut buf).put_pad_options(3);
        assert_eq!(buf, [PADN, 1, 0]);
    }

    #[test]
    fn alignment_arithmetic() {
        assert_eq!(round_up(0, 8), 0);
        assert_eq!(round_up(9, 8), 16);
        assert_eq!(round_up(20, 20), 20);
        assert_eq!(round_up(5, 0), 5);
        // RFC 6275 §6.2.5: Alternate Care-of Address, 8n+6.
        assert_eq!(align_padding(4, 8, 6), 2);
        assert_eq!(align_padding(6, 8, 6), 0);
        assert_eq!(align_padding(7, 8, 6), 7);
        // 8n: to the next multiple of 8.
        assert_eq!(align_padding(13, 8, 0), 3);
        assert_eq!(align_padding(16, 8, 0), 0);
        assert_eq!(align_padding(3, 0, 5), 0);
        for offset in 0..64 {
            for y in 0..8 {
                let pad = align_padding(offset, 8, y);
                assert!(pad < 8);
                assert_eq!((offset + pad) % 8, y);
            }
        }
    }
}
