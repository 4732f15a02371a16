//! The Internet checksum over an IPv6 pseudo-header (RFC 8200 §8.1), as
//! ICMPv6 (RFC 4443 §2.3) and the Mobility Header (RFC 6275 §6.1.1) use it.
//!
//! Panic contract: none of these functions panics, for any input.

use std::net::Ipv6Addr;
use std::ops::Range;

/// One's-complement sum of `bytes` as big-endian 16-bit words, skipping
/// the octets in `skip` (treated as zero). An odd trailing octet is padded
/// with zero on the right (RFC 1071 §4.1).
fn sum_words(bytes: &[u8], skip: Range<usize>) -> u64 {
    let mut sum = 0u64;
    let mut chunks = bytes.chunks_exact(2);
    let mut at = 0usize;
    for pair in &mut chunks {
        if !(skip.contains(&at) || skip.contains(&(at + 1))) {
            sum += u64::from(u16::from_be_bytes([pair[0], pair[1]]));
        }
        at += 2;
    }
    if let [last] = chunks.remainder()
        && !skip.contains(&at)
    {
        sum += u64::from(u16::from_be_bytes([*last, 0]));
    }
    sum
}

fn fold(mut sum: u64) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    // The loop leaves at most 16 bits.
    sum as u16
}

fn pseudo_header_sum(src: Ipv6Addr, dst: Ipv6Addr, next_header: u8, len: usize) -> u64 {
    let mut sum = sum_words(&src.octets(), 0..0) + sum_words(&dst.octets(), 0..0);
    // RFC 8200 §8.1: 32-bit upper-layer packet length. Nothing we send is
    // anywhere near 4 GiB; saturate rather than wrap if it were.
    let len = u32::try_from(len).unwrap_or(u32::MAX);
    sum += u64::from(len >> 16) + u64::from(len & 0xffff);
    sum += u64::from(next_header);
    sum
}

/// The checksum of upper-layer `bytes` with Next Header `next_header` from
/// `src` to `dst`, the checksum field (`field`, within `bytes`) counted as
/// zero whatever it holds.
pub(crate) fn pseudo_header_checksum(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    next_header: u8,
    bytes: &[u8],
    field: Range<usize>,
) -> u16 {
    let sum = pseudo_header_sum(src, dst, next_header, bytes.len()) + sum_words(bytes, field);
    !fold(sum)
}

/// True when `bytes`, checksum field included, sum to all ones with the
/// pseudo-header (which accepts both one's-complement spellings of zero).
pub(crate) fn pseudo_header_checksum_ok(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    next_header: u8,
    bytes: &[u8],
) -> bool {
    let sum = pseudo_header_sum(src, dst, next_header, bytes.len()) + sum_words(bytes, 0..0);
    fold(sum) == 0xffff
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skipped_field_and_odd_lengths() {
        let (src, dst) = ("fe80::1".parse().unwrap(), "ff02::2".parse().unwrap());
        let mut odd = [0x80u8, 0, 0xaa, 0xbb, 1, 2, 3];
        let c = pseudo_header_checksum(src, dst, 58, &odd, 2..4);
        odd[2..4].copy_from_slice(&c.to_be_bytes());
        assert!(pseudo_header_checksum_ok(src, dst, 58, &odd));
        // Another Next Header (the Mobility Header's 135) sums differently.
        assert!(!pseudo_header_checksum_ok(src, dst, 135, &odd));
        assert_eq!(sum_words(&[1, 2, 3], 0..0), 0x0102 + 0x0300);
        assert_eq!(sum_words(&[1, 2, 3], 2..3), 0x0102);
        assert_eq!(fold(0x1_fffe), 0xffff);
    }
}
