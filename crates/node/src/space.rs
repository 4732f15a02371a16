//! The space a requesting router may delegate further, and the pools a
//! delegating server builds over it.

use std::time::Duration;

use v6edge_core::Instant;
use v6edge_dhcp6::server::{LifetimeEnds, PrefixPool};
use v6edge_prefix::Prefix;
use v6edge_router::{Delegation, LanStatus};

/// Part of the uplink's delegation that this router may delegate further.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UplinkBlock {
    pub block: Prefix,
    /// `None` = infinite.
    pub preferred_until: Option<Instant>,
    pub valid_until: Option<Instant>,
}

/// What a delegating server may hand out (RFC 9818 LPD-4): each delegated
/// prefix minus the LAN /64s carved from it and minus a prefix excluded
/// upstream (RFC 6603), with the delegation's lifetimes.
pub fn delegable_space(delegations: &[Delegation], lans: &[LanStatus]) -> Vec<UplinkBlock> {
    let carved: Vec<Prefix> = lans.iter().filter_map(|l| l.prefix).collect();
    let mut out = Vec::new();
    for d in delegations {
        let mut used: Vec<Prefix> = carved
            .iter()
            .filter(|p| d.prefix.contains(p))
            .copied()
            .collect();
        used.extend(d.exclude.filter(|x| d.prefix.contains(x)));
        for block in v6edge_prefix::carve::remainder(d.prefix, &used) {
            out.push(UplinkBlock {
                block,
                preferred_until: d.preferred_until,
                valid_until: d.valid_until,
            });
        }
    }
    out
}

/// A `from-uplink` prefix pool as configured: the length it delegates and
/// the lifetimes it would give without an upstream bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSetting {
    pub delegated_len: u8,
    pub preferred: Duration,
    pub valid: Duration,
}

/// Pools over the uplink's space for one `from-uplink` pool setting:
/// blocks that hold a whole `delegated_len` prefix delegate that length,
/// smaller leftovers delegate /64s, longer blocks none; larger delegations
/// are offered first. Lifetimes are capped at what remains upstream as of
/// `now`, and each pool carries the absolute ends so that the server caps
/// again at every grant (RFC 9096 L-17): a lease never outlives the
/// delegation it was carved from. A block with less than a second left
/// yields no pool.
pub fn from_uplink_pools(space: &[UplinkBlock], p: PoolSetting, now: Instant) -> Vec<PrefixPool> {
    let cap = |until: Option<Instant>, configured: Duration| match until {
        None => configured,
        Some(t) => configured.min(t - now),
    };
    let mut pools: Vec<PrefixPool> = space
        .iter()
        .filter_map(|b| {
            let len = if b.block.len() <= p.delegated_len {
                p.delegated_len
            } else if b.block.len() <= 64 {
                64
            } else {
                return None;
            };
            let valid = cap(b.valid_until, p.valid);
            let ends = b.valid_until.map(|valid_until| LifetimeEnds {
                valid_until,
                preferred_until: b.preferred_until.unwrap_or(valid_until).min(valid_until),
            });
            (valid >= Duration::from_secs(1)).then(|| PrefixPool {
                prefix: b.block,
                delegated_len: len,
                preferred: cap(b.preferred_until, p.preferred).min(valid),
                valid,
                exclude_first: None,
                ends,
            })
        })
        .collect();
    pools.sort_by_key(|p| (p.delegated_len, p.prefix));
    pools
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Prefix {
        s.parse().unwrap()
    }

    fn lan(prefix: &str) -> LanStatus {
        LanStatus {
            name: "lan0".into(),
            ifindex: Some(2),
            prefix: Some(p(prefix)),
            address: None,
            subnet_id: Some(0),
            deprecated: vec![],
        }
    }

    #[test]
    fn space_is_the_delegation_minus_lans_and_exclude() {
        let d = Delegation {
            prefix: p("2001:db8:1::/56"),
            preferred_until: Some(Instant::from_secs(100)),
            valid_until: Some(Instant::from_secs(200)),
            exclude: Some(p("2001:db8:1:ff::/64")),
        };
        let space = delegable_space(
            std::slice::from_ref(&d),
            &[lan("2001:db8:1::/64"), lan("2001:db8:2::/64")],
        );
        let total: u128 = space.iter().map(|b| 1u128 << (64 - b.block.len())).sum();
        // A /56 is 256 /64s; one LAN and the excluded /64 are taken.
        assert_eq!(total, 254);
        assert!(space.iter().all(|b| d.prefix.contains(&b.block)));
        assert!(
            !space
                .iter()
                .any(|b| b.block.contains(&p("2001:db8:1::/64")))
        );
        assert!(
            !space
                .iter()
                .any(|b| b.block.contains(&p("2001:db8:1:ff::/64")))
        );
        assert!(
            space
                .iter()
                .all(|b| b.valid_until == d.valid_until && b.preferred_until == d.preferred_until)
        );
    }

    #[test]
    fn pool_lifetimes_are_capped_by_what_remains_upstream() {
        let space = [
            UplinkBlock {
                block: p("2001:db8:1:80::/57"),
                preferred_until: Some(Instant::from_secs(1_000)),
                valid_until: Some(Instant::from_secs(2_000)),
            },
            UplinkBlock {
                block: p("2001:db8:1:1::/64"),
                preferred_until: None,
                valid_until: None,
            },
            UplinkBlock {
                block: p("2001:db8:1:2::/80"),
                preferred_until: None,
                valid_until: None,
            },
        ];
        let setting = PoolSetting {
            delegated_len: 60,
            preferred: Duration::from_secs(3_600),
            valid: Duration::from_secs(7_200),
        };
        let pools = from_uplink_pools(&space, setting, Instant::from_secs(500));
        assert_eq!(pools.len(), 2, "a block longer than /64 delegates nothing");
        let big = &pools[0];
        assert_eq!(big.delegated_len, 60);
        assert_eq!(big.valid, Duration::from_secs(1_500));
        assert_eq!(big.preferred, Duration::from_secs(500));
        let ends = big.ends.unwrap();
        assert_eq!(ends.valid_until, Instant::from_secs(2_000));
        assert_eq!(ends.preferred_until, Instant::from_secs(1_000));
        let small = &pools[1];
        assert_eq!(small.delegated_len, 64);
        assert_eq!(small.valid, Duration::from_secs(7_200));
        assert_eq!(small.ends, None);
        // With under a second left upstream there is nothing to give.
        assert!(
            from_uplink_pools(&space[..1], setting, Instant::from_micros(1_999_500_000)).is_empty()
        );
    }
}
