//! Mobile Prefix Advertisements (RFC 6275 §10.6, HA-18): what one says
//! and when an unsolicited one leaves.
//!
//! Per binding the home agent keeps one [`AdvertState`]: the next instant
//! something is due and, after an unsolicited advertisement, the
//! identifier it carried and how many retransmissions are left. The
//! mobile node's next Mobile Prefix Solicitation acknowledges it (mobility
//! §1.4: PREFIX_ADV_TIMEOUT, PREFIX_ADV_RETRIES); KAME never sent
//! unsolicited advertisements at all, so a renumbered home link went
//! unnoticed by its mobile nodes until their next home registration.

use std::net::Ipv6Addr;
use std::time::Duration;

use v6edge_core::{Instant, Rng};
use v6edge_wire::Lifetime;
use v6edge_wire::nd::{MobilePrefixAdvert, MobilityIcmp, PrefixInfo};

use super::ServedPrefix;

/// RFC 6275 §12: retransmission interval of an unsolicited advertisement.
pub(crate) const PREFIX_ADV_TIMEOUT: Duration = Duration::from_secs(3);
/// RFC 6275 §12: retransmissions of one unsolicited advertisement.
pub(crate) const PREFIX_ADV_RETRIES: u8 = 3;
/// RFC 6275 §13: bounds of the periodic schedule.
pub(crate) const MAX_MOB_PFX_ADV_INTERVAL: Duration = Duration::from_secs(86_400);
pub(crate) const MIN_MOB_PFX_ADV_INTERVAL: Duration = Duration::from_secs(600);
/// Kernel lifetimes count in whole seconds: a deadline recomputed from a
/// later reading may move by this much without anything having changed.
const LIFETIME_JITTER: Duration = Duration::from_secs(2);

/// An unsolicited advertisement waiting for its acknowledgement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Outstanding {
    pub identifier: u16,
    pub retransmissions_left: u8,
}

/// The advertisement schedule of one binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AdvertState {
    /// The next retransmission, or the next periodic advertisement.
    pub due: Instant,
    pub outstanding: Option<Outstanding>,
}

/// RFC 6275 §10.6.2: the next periodic advertisement,
/// MinMobPfxAdvInterval + RANDOM() % |MaxScheduleDelay −
/// MinMobPfxAdvInterval| from now, where MaxScheduleDelay is the shorter
/// of MaxMobPfxAdvInterval and the shortest remaining preferred lifetime.
pub(crate) fn next_periodic(prefixes: &[ServedPrefix], now: Instant, rng: &mut Rng) -> Instant {
    let shortest_preferred = prefixes
        .iter()
        .filter_map(|p| p.preferred_until)
        .map(|t| t.saturating_duration_since(now))
        .min()
        .unwrap_or(MAX_MOB_PFX_ADV_INTERVAL);
    let max_delay = shortest_preferred.min(MAX_MOB_PFX_ADV_INTERVAL);
    let spread = max_delay.abs_diff(MIN_MOB_PFX_ADV_INTERVAL).as_secs();
    let random = if spread == 0 {
        0
    } else {
        rng.range_u64(0, spread - 1)
    };
    now + MIN_MOB_PFX_ADV_INTERVAL + Duration::from_secs(random)
}

/// RFC 6275 §10.6.2: whether a home link's prefixes changed in a way the
/// mobile nodes must hear of: a prefix added or removed, or a lifetime
/// changed other than by time passing. A lifetime over in both is no
/// change (the kernel reports a deprecated address's as 0, read anew at
/// every sync).
pub(crate) fn changed(old: &[ServedPrefix], new: &[ServedPrefix], now: Instant) -> bool {
    let moved = |a: Option<Instant>, b: Option<Instant>| match (a, b) {
        (None, None) => false,
        (Some(a), Some(b)) if a <= now && b <= now => false,
        (Some(a), Some(b)) => {
            a.saturating_duration_since(b)
                .max(b.saturating_duration_since(a))
                > LIFETIME_JITTER
        }
        _ => true,
    };
    old.len() != new.len()
        || old.iter().any(|o| {
            new.iter().find(|n| n.prefix == o.prefix).is_none_or(|n| {
                moved(o.valid_until, n.valid_until) || moved(o.preferred_until, n.preferred_until)
            })
        })
}

/// A remaining lifetime as an RFC 4861 §4.6.2 field: infinite stays
/// infinite, the rest counts down to 0 (RFC 6275 §10.6.3: "decremented").
fn remaining(until: Option<Instant>, now: Instant) -> Lifetime {
    match until {
        None => Lifetime::Infinite,
        Some(t) => {
            let secs = t.saturating_duration_since(now).as_secs();
            // 0xffffffff would read as infinite.
            Lifetime::Finite(
                u32::try_from(secs)
                    .unwrap_or(u32::MAX - 1)
                    .min(u32::MAX - 1),
            )
        }
    }
}

/// The Mobile Prefix Advertisement for a home link's `prefixes` (RFC 6275
/// §10.6.3), checksum filled in for `src` → `home_address`.
pub(crate) fn advertisement(
    identifier: u16,
    prefixes: &[ServedPrefix],
    now: Instant,
    src: Ipv6Addr,
    home_address: Ipv6Addr,
) -> Vec<u8> {
    let options = prefixes.iter().map(|p| PrefixInfo {
        prefix_len: p.prefix.len(),
        on_link: true,
        autonomous: true,
        router_addr: false,
        pd_preferred: false,
        reserved1: 0,
        valid: remaining(p.valid_until, now),
        preferred: remaining(p.preferred_until.or(p.valid_until), now),
        reserved2: 0,
        prefix: p.prefix.addr(),
    });
    MobilityIcmp::MobilePrefixAdvert(MobilePrefixAdvert::new(identifier, options))
        .to_bytes_with_checksum(src, home_address)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefix(s: &str, valid: Option<u64>, preferred: Option<u64>) -> ServedPrefix {
        let at = |s| Instant::ZERO + Duration::from_secs(s);
        ServedPrefix {
            prefix: s.parse().unwrap(),
            valid_until: valid.map(at),
            preferred_until: preferred.map(at),
        }
    }

    #[test]
    fn periodic_schedule_follows_rfc_6275_10_6_2() {
        let mut rng = Rng::seed(3);
        let infinite = [prefix("2001:db8:1::/64", None, None)];
        for _ in 0..100 {
            let at = next_periodic(&infinite, Instant::ZERO, &mut rng);
            let d = at.saturating_duration_since(Instant::ZERO);
            assert!(d >= MIN_MOB_PFX_ADV_INTERVAL && d < MAX_MOB_PFX_ADV_INTERVAL);
        }
        // MaxScheduleDelay = 900 s of preferred lifetime: 600..900 s.
        let short = [prefix("2001:db8:1::/64", Some(1800), Some(900))];
        for _ in 0..100 {
            let d = next_periodic(&short, Instant::ZERO, &mut rng)
                .saturating_duration_since(Instant::ZERO);
            assert!(d >= MIN_MOB_PFX_ADV_INTERVAL && d < Duration::from_secs(900));
        }
        // MaxScheduleDelay equal to the minimum: exactly the minimum.
        let equal = [prefix("2001:db8:1::/64", Some(1800), Some(600))];
        assert_eq!(
            next_periodic(&equal, Instant::ZERO, &mut rng),
            Instant::ZERO + MIN_MOB_PFX_ADV_INTERVAL
        );
    }

    #[test]
    fn only_real_changes_count() {
        let a = [prefix("2001:db8:1::/64", Some(1800), Some(900))];
        // The same deadlines read a second later from the kernel.
        let jitter = [prefix("2001:db8:1::/64", Some(1801), Some(899))];
        let now = Instant::ZERO + Duration::from_secs(10);
        assert!(!changed(&a, &jitter, now));
        let shortened = [prefix("2001:db8:1::/64", Some(1800), Some(0))];
        assert!(changed(&a, &shortened, now));
        // Deprecated, read again later (preferred 0 from the new now).
        let still = [prefix("2001:db8:1::/64", Some(1800), Some(10))];
        assert!(!changed(&shortened, &still, now));
        let added = [a[0].clone(), prefix("2001:db8:2::/64", None, None)];
        assert!(changed(&a, &added, now));
        assert!(changed(&added, &a, now));
        let infinite = [prefix("2001:db8:1::/64", None, Some(900))];
        assert!(changed(&a, &infinite, now));
    }

    #[test]
    fn advertisement_decrements_lifetimes_and_checksums_over_the_home_address() {
        let now = Instant::ZERO + Duration::from_secs(100);
        let prefixes = [
            prefix("2001:db8:1::/64", Some(1800), Some(900)),
            prefix("2001:db8:2::/64", None, None),
            prefix("2001:db8:3::/64", Some(50), Some(50)),
        ];
        let (src, hoa): (Ipv6Addr, Ipv6Addr) = (
            "2001:db8:1::1".parse().unwrap(),
            "2001:db8:1::200".parse().unwrap(),
        );
        let bytes = advertisement(0x1234, &prefixes, now, src, hoa);
        assert!(v6edge_wire::nd::verify_checksum(src, hoa, &bytes));
        let Ok(MobilityIcmp::MobilePrefixAdvert(mpa)) = MobilityIcmp::parse(&bytes) else {
            panic!("not an MPA");
        };
        assert_eq!(mpa.identifier, 0x1234);
        let got: Vec<_> = mpa
            .prefixes()
            .map(|p| (p.prefix, p.prefix_len, p.valid, p.preferred, p.autonomous))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "2001:db8:1::".parse().unwrap(),
                    64,
                    Lifetime::Finite(1700),
                    Lifetime::Finite(800),
                    true
                ),
                (
                    "2001:db8:2::".parse().unwrap(),
                    64,
                    Lifetime::Infinite,
                    Lifetime::Infinite,
                    true
                ),
                // Expired: lifetime 0 tells the mobile node it is gone.
                (
                    "2001:db8:3::".parse().unwrap(),
                    64,
                    Lifetime::Finite(0),
                    Lifetime::Finite(0),
                    true
                ),
            ]
        );
    }
}
