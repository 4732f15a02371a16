//! Dynamic Home Agent Address Discovery (RFC 6275 §10.5, HA-17): the
//! Mobile IPv6 Home-Agents anycast address of a prefix (RFC 2526) and the
//! ordering of a reply's list.

use std::net::Ipv6Addr;

use v6edge_core::Rng;
use v6edge_prefix::Prefix;

/// RFC 2526 §2-§3: the subnet-router anycast with anycast ID 126 (0x7e),
/// the Mobile IPv6 Home-Agents anycast. For a /64 (EUI-64 interface
/// identifiers) the identifier is `fdff:ffff:ffff:fffe` (the u/l bit
/// clear); for other lengths every host bit is 1 but the last, `...fffe`.
/// `None` for a prefix too long to hold a 7-bit anycast ID.
pub(crate) fn home_agents_anycast(prefix: &Prefix) -> Option<Ipv6Addr> {
    let base = u128::from(prefix.addr());
    if prefix.len() == 64 {
        return Some(Ipv6Addr::from(base | 0xfdff_ffff_ffff_fffe));
    }
    if prefix.len() > 121 {
        return None;
    }
    let host_mask = u128::MAX >> prefix.len();
    Some(Ipv6Addr::from(base | (host_mask & !1)))
}

/// One home agent in a reply: address, preference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Candidate {
    pub address: Ipv6Addr,
    pub preference: i16,
}

/// RFC 6275 §10.5.1: addresses by decreasing preference, home agents of
/// equal preference in random order (load sharing), at most `max`.
pub(crate) fn order(mut list: Vec<Candidate>, rng: &mut Rng, max: usize) -> Vec<Ipv6Addr> {
    // Fisher-Yates over the whole list, then a stable sort by preference:
    // ties keep the shuffled order.
    for i in (1..list.len()).rev() {
        let j = rng.range_u64(0, i as u64) as usize;
        list.swap(i, j.min(i));
    }
    list.sort_by_key(|c| std::cmp::Reverse(c.preference));
    list.into_iter().take(max).map(|c| c.address).collect()
}

/// RFC 6275 §10.5.1: the reply must fit the minimum IPv6 MTU: 1280 minus
/// the IPv6 header (40) and the ICMPv6 fixed part (8), 16 octets each.
pub(crate) const MAX_REPLY_ADDRESSES: usize = (1280 - 40 - 8) / 16;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_2526_anycast() {
        let p: Prefix = "2001:db8:1::/64".parse().unwrap();
        assert_eq!(
            home_agents_anycast(&p),
            Some("2001:db8:1:0:fdff:ffff:ffff:fffe".parse().unwrap())
        );
        let p: Prefix = "2001:db8:1::/120".parse().unwrap();
        assert_eq!(
            home_agents_anycast(&p),
            Some("2001:db8:1::fe".parse().unwrap())
        );
        let p: Prefix = "2001:db8:1::/124".parse().unwrap();
        assert_eq!(home_agents_anycast(&p), None);
    }

    #[test]
    fn ties_are_shuffled_preference_kept() {
        let c = |n: u16, preference| Candidate {
            address: Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, n),
            preference,
        };
        let list = vec![c(1, 0), c(2, 5), c(3, 5), c(4, 5), c(5, -1)];
        let mut seen_first = std::collections::BTreeSet::new();
        for seed in 0..64 {
            let out = order(list.clone(), &mut Rng::seed(seed), 10);
            assert_eq!(out.len(), 5);
            assert_eq!(out[3], c(1, 0).address);
            assert_eq!(out[4], c(5, 0).address);
            seen_first.insert(out[0]);
        }
        assert_eq!(seen_first.len(), 3, "each of the tied three comes first");
        assert_eq!(order(list, &mut Rng::seed(1), 2).len(), 2);
    }
}
