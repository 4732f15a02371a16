//! The Mobility Header checksum (RFC 6275 §6.1.1): the Internet checksum
//! over the IPv6 pseudo-header of RFC 8200 §8.1 with Next Header 135 and
//! the whole Mobility Header.
//!
//! The pseudo-header addresses are arguments, never taken from a socket:
//! RFC 6275 §6.1.1 makes the source the home address when a Home Address
//! option travels (a BU sent from the care-of address) and the destination
//! the final one when a Type 2 Routing Header does (a BA to the care-of
//! address for the home address). The Linux raw MH socket would sum over
//! the care-of address instead, which is why the daemon turns its
//! checksumming off and uses these.
//!
//! Panic contract: none of these functions panics, for any input.

use std::net::Ipv6Addr;

use super::message::field;
use crate::codec::checksum::{pseudo_header_checksum, pseudo_header_checksum_ok};
use crate::codec::constants::IPPROTO_MOBILITY;

/// The checksum of `mh_bytes` (from Payload Proto to the end) for the
/// pseudo-header addresses `src` and `dst`, its checksum field counted as
/// zero whatever it holds.
pub fn checksum(src: Ipv6Addr, dst: Ipv6Addr, mh_bytes: &[u8]) -> u16 {
    pseudo_header_checksum(src, dst, IPPROTO_MOBILITY, mh_bytes, field::CHECKSUM)
}

/// True when the checksum field of `mh_bytes` is right for `src` → `dst`
/// (both one's-complement spellings of zero accepted). False for input
/// too short to have the field.
pub fn verify_checksum(src: Ipv6Addr, dst: Ipv6Addr, mh_bytes: &[u8]) -> bool {
    if mh_bytes.len() < field::DATA {
        return false;
    }
    pseudo_header_checksum_ok(src, dst, IPPROTO_MOBILITY, mh_bytes)
}

/// Writes the checksum of an emitted message into its checksum field;
/// does nothing on a buffer too short to have one.
pub fn fill_checksum(src: Ipv6Addr, dst: Ipv6Addr, mh_bytes: &mut [u8]) {
    let value = checksum(src, dst, mh_bytes);
    if let Some(slot) = mh_bytes.get_mut(field::CHECKSUM) {
        slot.copy_from_slice(&value.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_verify_and_reject() {
        let hoa: Ipv6Addr = "2001:db8:1::200".parse().unwrap();
        let ha: Ipv6Addr = "2001:db8:1::1".parse().unwrap();
        let mut bu = [59u8, 1, 5, 0, 0, 0, 0, 1, 0xc0, 0, 0, 150, 1, 2, 0, 0];
        fill_checksum(hoa, ha, &mut bu);
        assert!(verify_checksum(hoa, ha, &bu));
        // Summed over the care-of address instead of the home address:
        // what the kernel would do, and wrong.
        assert!(!verify_checksum("2001:db8:2::5".parse().unwrap(), ha, &bu));
        bu[11] ^= 1;
        assert!(!verify_checksum(hoa, ha, &bu));
        assert!(!verify_checksum(hoa, ha, &bu[..5]));
        let mut tiny = [0u8; 5];
        fill_checksum(hoa, ha, &mut tiny);
        assert_eq!(tiny, [0; 5]);
    }
}
