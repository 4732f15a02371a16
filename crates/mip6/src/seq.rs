//! Binding Update sequence numbers (RFC 6275 §9.5.1, HA-5): compared
//! modulo 2^16, a value is "less than or equal to" the last accepted one
//! when it is one of the 32768 values ending at it.
//!
//! Panic contract: nothing here panics.

/// Whether `seq` may follow `last`: it is not among the 32768 values
/// ending at `last` (so `last + 1` up to `last + 32768`, wrapping).
pub fn is_newer(seq: u16, last: u16) -> bool {
    let ahead = seq.wrapping_sub(last);
    ahead != 0 && ahead <= 0x8000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_modulo_2_16() {
        assert!(is_newer(1, 0));
        assert!(!is_newer(0, 0));
        assert!(is_newer(0, 65535), "the wrap is newer");
        assert!(is_newer(5, 65530));
        assert!(!is_newer(65530, 5), "32768 values before 5 include 65530");
        assert!(is_newer(32768, 0));
        assert!(!is_newer(32769, 0));
        // Exactly one of (a newer than b, b newer than a) unless equal or
        // half a circle apart.
        for (a, b) in [(10u16, 20u16), (65000, 100), (7, 32000)] {
            assert_ne!(is_newer(a, b), is_newer(b, a));
        }
    }
}
