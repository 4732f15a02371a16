//! The ICMPv6 envelope: type, code and the pseudo-header checksum
//! (RFC 4443 §2.1, §2.3; pseudo-header from RFC 8200 §8.1).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Type      |     Code      |          Checksum             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                         Message Body                          |
//! ```
//!
//! Panic contract: none of these functions panics, for any input.

use std::net::Ipv6Addr;

use crate::codec::checksum::{pseudo_header_checksum, pseudo_header_checksum_ok};
use crate::codec::constants::{self, IPPROTO_ICMPV6};

pub(crate) mod field {
    use std::ops::Range;
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: Range<usize> = 2..4;
    /// The first octet after type, code and checksum.
    pub const BODY: usize = 4;
}

pub(crate) const ROUTER_SOLICIT: u8 = constants::ICMPV6_ROUTER_SOLICIT;
pub(crate) const ROUTER_ADVERT: u8 = constants::ICMPV6_ROUTER_ADVERT;
pub(crate) const NEIGHBOR_SOLICIT: u8 = constants::ICMPV6_NEIGHBOR_SOLICIT;
pub(crate) const NEIGHBOR_ADVERT: u8 = constants::ICMPV6_NEIGHBOR_ADVERT;
pub(crate) const REDIRECT: u8 = constants::ICMPV6_REDIRECT;

/// The ICMPv6 checksum of `icmp_bytes` (starting at the type byte) sent
/// from `src` to `dst` (RFC 4443 §2.3). The checksum field itself (octets
/// 2..4) is treated as zero, so this works on a message whatever that field
/// holds. Buffers shorter than 4 octets are summed as they are.
pub fn checksum(src: Ipv6Addr, dst: Ipv6Addr, icmp_bytes: &[u8]) -> u16 {
    pseudo_header_checksum(src, dst, IPPROTO_ICMPV6, icmp_bytes, field::CHECKSUM)
}

/// True when the checksum field of `icmp_bytes` is correct for a message
/// from `src` to `dst`. The whole message, checksum included, must sum to
/// all ones (RFC 4443 §2.3), which also accepts 0x0000 and 0xffff as the
/// two one's-complement spellings of zero.
pub fn verify_checksum(src: Ipv6Addr, dst: Ipv6Addr, icmp_bytes: &[u8]) -> bool {
    if icmp_bytes.len() < field::BODY {
        return false;
    }
    pseudo_header_checksum_ok(src, dst, IPPROTO_ICMPV6, icmp_bytes)
}

/// Writes the checksum of an already emitted message into its checksum
/// field. Does nothing on a buffer too short to have one.
pub fn fill_checksum(src: Ipv6Addr, dst: Ipv6Addr, icmp_bytes: &mut [u8]) {
    let value = checksum(src, dst, icmp_bytes);
    if let Some(slot) = icmp_bytes.get_mut(field::CHECKSUM) {
        slot.copy_from_slice(&value.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Linux 6.18 router solicitation with SLLA (lab capture nd-slaac.pcap,
    // frame 3), checksum 0x9452 as sent.
    const RS: [u8; 16] = [
        0x85, 0x00, 0x94, 0x52, 0, 0, 0, 0, 0x01, 0x01, 0x4e, 0x15, 0xb2, 0xa4, 0xf4, 0xb3,
    ];

    fn addrs() -> (Ipv6Addr, Ipv6Addr) {
        (
            "fe80::4c15:b2ff:fea4:f4b3".parse().unwrap(),
            "ff02::2".parse().unwrap(),
        )
    }

    #[test]
    fn computes_the_captured_checksum() {
        let (src, dst) = addrs();
        assert_eq!(checksum(src, dst, &RS), 0x9452);
        assert!(verify_checksum(src, dst, &RS));
    }

    #[test]
    fn rejects_a_flipped_bit_and_other_addresses() {
        let (src, dst) = addrs();
        let mut bad = RS;
        bad[15] ^= 1;
        assert!(!verify_checksum(src, dst, &bad));
        assert!(!verify_checksum(src, "ff02::1".parse().unwrap(), &RS));
        assert!(!verify_checksum(src, dst, &RS[..3]));
    }

    #[test]
    fn fill_then_verify_odd_length() {
        let (src, dst) = addrs();
        let mut odd = [0x80u8, 0, 0xaa, 0xbb, 1, 2, 3];
        fill_checksum(src, dst, &mut odd);
        assert!(verify_checksum(src, dst, &odd));
        let mut tiny = [0u8; 3];
        fill_checksum(src, dst, &mut tiny);
        assert_eq!(tiny, [0; 3]);
    }
}
