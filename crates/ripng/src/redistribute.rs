//! What a RIPng router originates (route6d's `-l`/`-s`-style choices as
//! configuration): the prefixes of its interfaces' global addresses
//! (`connected`), the kernel's static routes (`static`), and the routes
//! the daemon's other roles install toward delegated prefixes
//! (`delegated`). Pure: the daemon hands in what the kernel and the roles
//! say, and gets the routes to give [`crate::Ripng::set_originated`].

use std::collections::BTreeSet;
use std::net::Ipv6Addr;

use v6edge_prefix::Prefix;

use crate::OriginatedRoute;

/// Which kinds of route are redistributed, and how they are announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Redistribution {
    pub connected: bool,
    pub static_routes: bool,
    pub delegated: bool,
    /// 1–15.
    pub metric: u8,
    pub tag: u16,
}

/// Neither unspecified, loopback, multicast nor link-local.
pub fn is_global(a: Ipv6Addr) -> bool {
    !(a.is_unspecified() || a.is_loopback() || a.is_multicast() || a.is_unicast_link_local())
}

/// The connected prefix of an interface address: its network, for a
/// global address that finished duplicate address detection.
pub fn connected_prefix(addr: Ipv6Addr, prefix_len: u8, tentative: bool) -> Option<Prefix> {
    if tentative || !is_global(addr) || prefix_len > 128 {
        return None;
    }
    let mask = match prefix_len {
        0 => 0,
        n => u128::MAX << (128 - u32::from(n)),
    };
    Prefix::new(Ipv6Addr::from(u128::from(addr) & mask), prefix_len).ok()
}

/// Whether a static route (one an administrator added) to `dst` is
/// redistributed: to a global prefix, and not the default route:
/// originating a default is a decision of its own (a router with a static
/// default would otherwise attract every neighbour's traffic), which
/// `[ripng]` leaves to the neighbours' RAs or their own configuration.
pub fn is_redistributable_static(dst: Prefix) -> bool {
    dst.len() > 0 && is_global(dst.addr())
}

impl Redistribution {
    /// The routes to originate now, each prefix once, in prefix order.
    pub fn originated(
        &self,
        connected: &BTreeSet<Prefix>,
        static_routes: &BTreeSet<Prefix>,
        delegated: &BTreeSet<Prefix>,
    ) -> Vec<OriginatedRoute> {
        let mut prefixes: BTreeSet<Prefix> = BTreeSet::new();
        if self.connected {
            prefixes.extend(connected);
        }
        if self.static_routes {
            prefixes.extend(
                static_routes
                    .iter()
                    .filter(|p| is_redistributable_static(**p)),
            );
        }
        if self.delegated {
            prefixes.extend(delegated);
        }
        prefixes
            .into_iter()
            .map(|prefix| OriginatedRoute {
                prefix,
                tag: self.tag,
                metric: self.metric,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Prefix {
        s.parse().unwrap()
    }

    #[test]
    fn connected_prefixes_are_the_networks_of_global_addresses() {
        let a: Ipv6Addr = "2001:db8:a::1".parse().unwrap();
        assert_eq!(connected_prefix(a, 64, false), Some(p("2001:db8:a::/64")));
        assert_eq!(connected_prefix(a, 48, false), Some(p("2001:db8:a::/48")));
        assert_eq!(connected_prefix(a, 64, true), None, "tentative");
        assert_eq!(
            connected_prefix("fe80::1".parse().unwrap(), 64, false),
            None
        );
        assert_eq!(connected_prefix(a, 129, false), None);
    }

    #[test]
    fn static_routes_to_global_prefixes_but_the_default() {
        assert!(is_redistributable_static(p("2001:db8:50::/48")));
        assert!(!is_redistributable_static(p("::/0")), "the default");
        assert!(!is_redistributable_static(p("fe80::/64")));
        assert!(!is_redistributable_static(p("ff05::/16")));
    }

    #[test]
    fn each_kind_is_originated_only_when_chosen() {
        let c: BTreeSet<Prefix> = [p("2001:db8:a::/64")].into();
        let s: BTreeSet<Prefix> = [p("2001:db8:50::/48"), p("::/0")].into();
        let d: BTreeSet<Prefix> = [p("2001:db8:100::/56"), p("2001:db8:a::/64")].into();
        let all = Redistribution {
            connected: true,
            static_routes: true,
            delegated: true,
            metric: 2,
            tag: 7,
        };
        let got: Vec<(Prefix, u8, u16)> = all
            .originated(&c, &s, &d)
            .into_iter()
            .map(|r| (r.prefix, r.metric, r.tag))
            .collect();
        assert_eq!(
            got,
            vec![
                (p("2001:db8:a::/64"), 2, 7),
                (p("2001:db8:50::/48"), 2, 7),
                (p("2001:db8:100::/56"), 2, 7),
            ]
        );
        let none = Redistribution {
            connected: false,
            static_routes: false,
            delegated: false,
            ..all
        };
        assert!(none.originated(&c, &s, &d).is_empty());
        let only_static = Redistribution {
            static_routes: true,
            ..none
        };
        assert_eq!(only_static.originated(&c, &s, &d).len(), 1);
    }
}
