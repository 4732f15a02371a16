//! Carving a delegated prefix: one /64 per downstream link, the rest kept.
//!
//! RFC 7084 L-2: each LAN interface gets its own /64 from the delegation.
//! RFC 9818 LPD-3: a link's /64 must not move without cause, so a link keeps
//! the subnet it had before (`sticky`) whenever it still fits; configured
//! subnet ids win over sticky ones; the rest take the lowest free index.

use crate::Prefix;

/// What one downstream link asks of the carving.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRequest {
    pub name: String,
    /// Subnet index fixed by configuration.
    pub subnet_id: Option<u128>,
    /// Subnet index this link had before (from the state directory).
    pub sticky: Option<u128>,
}

/// Why a link got no subnet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CarveShortfall {
    /// The configured subnet id does not fit into the delegated prefix.
    SubnetIdOutOfRange { name: String, subnet_id: u128 },
    /// Two links were configured with the same subnet id; the later lost.
    SubnetIdTaken { name: String, subnet_id: u128 },
    /// Every subnet of the delegation is in use.
    Exhausted { name: String },
}

/// The outcome: `(link name, subnet index, prefix)` for each served link.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Carving {
    pub assigned: Vec<(String, u128, Prefix)>,
    pub shortfalls: Vec<CarveShortfall>,
}

impl Carving {
    pub fn prefix_of(&self, name: &str) -> Option<Prefix> {
        self.assigned
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, _, p)| *p)
    }
}

/// Carve `delegated` into subnets of `link_len` for `links`, in order.
/// Subnet indices in `reserved` are never handed out (e.g. the prefix the
/// upstream excluded for its own link, RFC 6603 §4.2).
pub fn carve(delegated: Prefix, link_len: u8, links: &[LinkRequest], reserved: &[u128]) -> Carving {
    let mut out = Carving::default();
    let Some(bits) = delegated.subnet_bits(link_len) else {
        for l in links {
            out.shortfalls.push(CarveShortfall::Exhausted {
                name: l.name.clone(),
            });
        }
        return out;
    };
    // Beyond 2^32 subnets nobody configures links; cap the search space.
    let count: u128 = if bits >= 32 { 1 << 32 } else { 1u128 << bits };
    let mut taken: Vec<u128> = reserved.to_vec();
    let mut pending: Vec<&LinkRequest> = Vec::new();

    // Pass 1: configured ids.
    for l in links {
        match l.subnet_id {
            Some(id) if id >= count => out.shortfalls.push(CarveShortfall::SubnetIdOutOfRange {
                name: l.name.clone(),
                subnet_id: id,
            }),
            Some(id) if taken.contains(&id) => out.shortfalls.push(CarveShortfall::SubnetIdTaken {
                name: l.name.clone(),
                subnet_id: id,
            }),
            Some(id) => {
                taken.push(id);
                out.assigned
                    .push((l.name.clone(), id, subnet(delegated, link_len, id)));
            }
            None => pending.push(l),
        }
    }
    // Pass 2: sticky ids that still fit and are free.
    let mut rest = Vec::new();
    for l in pending {
        match l.sticky {
            Some(id) if id < count && !taken.contains(&id) => {
                taken.push(id);
                out.assigned
                    .push((l.name.clone(), id, subnet(delegated, link_len, id)));
            }
            _ => rest.push(l),
        }
    }
    // Pass 3: lowest free index.
    let mut next = 0u128;
    for l in rest {
        while next < count && taken.contains(&next) {
            next += 1;
        }
        if next >= count {
            out.shortfalls.push(CarveShortfall::Exhausted {
                name: l.name.clone(),
            });
            continue;
        }
        taken.push(next);
        out.assigned
            .push((l.name.clone(), next, subnet(delegated, link_len, next)));
    }
    // Keep the configured order of links in the result.
    out.assigned
        .sort_by_key(|(n, _, _)| links.iter().position(|l| &l.name == n));
    out
}

fn subnet(delegated: Prefix, len: u8, id: u128) -> Prefix {
    // `id < count` was checked by the caller, so the subnet exists.
    delegated.subnet(len, id).unwrap_or(delegated)
}

/// The smallest set of prefixes covering `whole` minus every prefix in `used`
/// (each `used` prefix inside `whole`), sorted by address. This is the space
/// left for further delegation (RFC 9818 LPD-4).
pub fn remainder(whole: Prefix, used: &[Prefix]) -> Vec<Prefix> {
    let mut out = Vec::new();
    split_out(whole, used, &mut out);
    out.sort();
    out
}

fn split_out(p: Prefix, used: &[Prefix], out: &mut Vec<Prefix>) {
    if used.iter().any(|u| u.contains(&p)) {
        return;
    }
    if !used.iter().any(|u| p.contains(u)) {
        out.push(p);
        return;
    }
    if let Some((a, b)) = p.halves() {
        split_out(a, used, out);
        split_out(b, used, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Prefix {
        s.parse().unwrap()
    }
    fn link(name: &str, id: Option<u128>, sticky: Option<u128>) -> LinkRequest {
        LinkRequest {
            name: name.into(),
            subnet_id: id,
            sticky,
        }
    }

    #[test]
    fn configured_then_sticky_then_lowest_free() {
        let c = carve(
            p("2001:db8:1200::/56"),
            64,
            &[
                link("lan0", None, None),
                link("lan1", Some(0), None),
                link("lan2", None, Some(7)),
            ],
            &[],
        );
        assert_eq!(c.prefix_of("lan1"), Some(p("2001:db8:1200::/64")));
        assert_eq!(c.prefix_of("lan2"), Some(p("2001:db8:1200:7::/64")));
        assert_eq!(c.prefix_of("lan0"), Some(p("2001:db8:1200:1::/64")));
        assert!(c.shortfalls.is_empty());
        assert_eq!(c.assigned[0].0, "lan0");
    }

    #[test]
    fn wpd3_too_small_serves_what_fits() {
        let c = carve(
            p("2001:db8:1200::/64"),
            64,
            &[link("a", None, None), link("b", None, None)],
            &[],
        );
        assert_eq!(c.prefix_of("a"), Some(p("2001:db8:1200::/64")));
        assert_eq!(
            c.shortfalls,
            vec![CarveShortfall::Exhausted { name: "b".into() }]
        );
        let c = carve(
            p("2001:db8:1200::/60"),
            64,
            &[link("a", Some(16), None)],
            &[],
        );
        assert!(matches!(
            c.shortfalls[0],
            CarveShortfall::SubnetIdOutOfRange { .. }
        ));
    }

    #[test]
    fn sticky_out_of_range_after_shrink_falls_back() {
        let c = carve(
            p("2001:db8:1200::/62"),
            64,
            &[link("a", None, Some(9))],
            &[],
        );
        assert_eq!(c.prefix_of("a"), Some(p("2001:db8:1200::/64")));
        // RFC 6603: the excluded subnet 0 is skipped.
        let c = carve(p("2001:db8:1200::/62"), 64, &[link("a", None, None)], &[0]);
        assert_eq!(c.prefix_of("a"), Some(p("2001:db8:1200:1::/64")));
    }

    #[test]
    fn remainder_covers_the_rest() {
        let r = remainder(p("2001:db8::/60"), &[p("2001:db8::/64")]);
        assert_eq!(
            r,
            vec![
                p("2001:db8:0:1::/64"),
                p("2001:db8:0:2::/63"),
                p("2001:db8:0:4::/62"),
                p("2001:db8:0:8::/61")
            ]
        );
        assert_eq!(remainder(p("2001:db8::/60"), &[]), vec![p("2001:db8::/60")]);
        assert!(remainder(p("2001:db8::/60"), &[p("2001:db8::/56")]).is_empty());
    }
}
