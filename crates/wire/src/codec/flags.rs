//! One-bit flags packed in a flags octet or word, driven by one table of
//! masks per field so parse and emit cannot disagree on a bit (the RA and
//! NA flags of RFC 4861, the Prefix Information flags; the Binding Update
//! and Acknowledgement flags of RFC 6275 §6.1.7-§6.1.8 next).

use std::ops::{BitAnd, BitOr};

/// Which of the one-bit flags in `bits` (a flags octet or word; `flags[i]`
/// the mask of flag `i`) are set. [`pack_flags`] with the same table is the
/// inverse.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_and_unpack_are_inverse() {
        assert_eq!(pack_flags(0x03u8, [0x80, 0x40], [true, false]), 0x83);
        assert_eq!(
            unpack_flags(0x83u8, [0x80, 0x40, 0x01]),
            [true, false, true]
        );
        let table = [0x8000u16, 0x4000, 0x0001];
        for bits in [0u16, 0xffff, 0x8001, 0x4000] {
            let set = unpack_flags(bits, table);
            assert_eq!(pack_flags(bits & 0x3ffe, table, set), bits);
        }
    }
}
