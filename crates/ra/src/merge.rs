//! RA as a per-link service: several roles contribute what they want
//! advertised on one link, and the link's one [`crate::Advertiser`] sends
//! the merge (issue 8 item 4). A requesting router contributes its LAN
//! prefixes and the ISP's DNS servers, a home agent its H flag and Home
//! Agent Information (RFC 6275 §7), a static `[[ra]]` section configured
//! prefixes, and the advertiser needs to know none of them.
//!
//! # Merge rules
//! One RA must say one thing per prefix: a host processes each PIO in turn
//! (RFC 4862 §5.5.3), so two PIOs for one prefix would have the later one
//! win by accident. The merge therefore combines, never repeats:
//!
//! - **Prefixes** are unioned by prefix. A prefix some contributor offers
//!   live is live. Its preferred and valid lifetimes run until the latest
//!   any contributor gives (a contributor's deprecated entry for it counts
//!   towards the valid lifetime: hosts hold it that long anyway): a prefix
//!   stays usable while any role still provides it, and a role that wants
//!   to end it early must be the only one offering it. L and A are ORed:
//!   L = 0 makes "no statement" about on-link (RFC 4861 §4.6.2) and A = 0
//!   only says this PIO is not for SLAAC (RFC 4862 §5.5.3 a/b), so a
//!   contributor that leaves a flag clear does not veto another's.
//! - **Deprecated prefixes** (RFC 9096 L-13) are kept, with the latest
//!   valid instant, unless some contributor advertises the prefix live.
//! - **Routes** (RFC 4191 §2.3) are unioned by prefix with the latest
//!   lifetime and the highest preference: we are as good a next hop as the
//!   best path any role offers, for as long as any role offers one.
//! - **RDNSS and DNSSL** servers and domains are unioned in contributor
//!   order, each contributor's own order kept, without duplicates (names
//!   compared without a trailing dot and ignoring ASCII case, RFC 4343).
//! - **default_router**, **advertisement_interval**: true if any
//!   contributor says so.
//! - **home_agent** comes from the contributor that sets it; of several, the
//!   highest preference (RFC 6275 §7.4: what mobile nodes would pick), the
//!   first in contributor order on a tie. **router_address** is that home
//!   agent contributor's when it gives one (§7.2 asks it of home agents),
//!   else the first contributor's that does.
//!
//! Output order is fixed, so that the same contributions always make the
//! same RA: prefixes, deprecated prefixes and routes sorted by prefix (so a
//! contributor coming or going never reorders what the others advertise),
//! DNS servers and domains in contributor order (hosts try servers in the
//! order given, RFC 8106 §5.3.1).
//!
//! # Contributor keys
//! Any small `Copy + Ord` key; the default is [`Owner`], the role tag
//! every kernel object of ours already carries: one contribution per role
//! per link, and its fixed order (protocol number) is the contributor order
//! above. A daemon that needs finer keys (two sections of one role on one
//! link) can use a tuple.
//!
//! # Panic contract
//! Nothing here panics. The merge is time-independent (lifetimes are
//! instants), so it is computed only when a contribution changes.

use std::collections::BTreeMap;

use v6edge_core::{Instant, Owner};
use v6edge_prefix::Prefix;
use v6edge_wire::nd::RouterPreference;

use crate::content::{AdvPrefix, AdvRoute, AdvertContent, DeprecatedPrefix};

/// What each contributor wants advertised on one link, and their merge.
/// See the module docs for the rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkContributions<K = Owner> {
    by_contributor: BTreeMap<K, AdvertContent>,
}

impl<K> Default for LinkContributions<K> {
    fn default() -> Self {
        LinkContributions {
            by_contributor: BTreeMap::new(),
        }
    }
}

impl<K: Copy + Ord> LinkContributions<K> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces `contributor`'s content. Returns whether it changed (an
    /// unchanged contribution leaves [`LinkContributions::merged`] as it
    /// was).
    pub fn set(&mut self, contributor: K, content: AdvertContent) -> bool {
        match self.by_contributor.insert(contributor, content) {
            Some(old) => self.by_contributor.get(&contributor) != Some(&old),
            None => true,
        }
    }

    /// Withdraws everything `contributor` asked for; returns it.
    pub fn remove(&mut self, contributor: K) -> Option<AdvertContent> {
        self.by_contributor.remove(&contributor)
    }

    pub fn get(&self, contributor: K) -> Option<&AdvertContent> {
        self.by_contributor.get(&contributor)
    }

    /// The contributors, in contributor order.
    pub fn contributors(&self) -> impl Iterator<Item = K> + '_ {
        self.by_contributor.keys().copied()
    }

    pub fn len(&self) -> usize {
        self.by_contributor.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_contributor.is_empty()
    }

    /// The content the link's advertiser should send: every contribution
    /// merged by the rules of the module docs. Empty content (no prefix,
    /// not a default router) when nobody contributes.
    pub fn merged(&self) -> AdvertContent {
        let contributions: Vec<&AdvertContent> = self.by_contributor.values().collect();
        let (prefixes, deprecated) = merge_prefixes(&contributions);
        let home_agent_from = contributions
            .iter()
            .filter_map(|c| c.home_agent.map(|ha| (ha, *c)))
            // max_by_key keeps the last of equals: reverse to keep the first.
            .rev()
            .max_by_key(|(ha, _)| ha.preference);
        let router_address = home_agent_from
            .and_then(|(_, c)| c.router_address)
            .or_else(|| contributions.iter().find_map(|c| c.router_address));
        AdvertContent {
            prefixes,
            deprecated,
            routes: merge_routes(&contributions),
            dns_servers: union(contributions.iter().flat_map(|c| &c.dns_servers), |a, b| {
                a == b
            }),
            dns_domains: union(contributions.iter().flat_map(|c| &c.dns_domains), |a, b| {
                same_domain(a, b)
            }),
            default_router: contributions.iter().any(|c| c.default_router),
            home_agent: home_agent_from.map(|(ha, _)| ha),
            advertisement_interval: contributions.iter().any(|c| c.advertisement_interval),
            router_address,
        }
    }
}

/// `None` is infinite, so it is the latest.
fn later(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    Some(a?.max(b?))
}

/// Live and deprecated prefixes, by the rules of the module docs.
fn merge_prefixes(contributions: &[&AdvertContent]) -> (Vec<AdvPrefix>, Vec<DeprecatedPrefix>) {
    /// What the contributions say about one prefix.
    #[derive(Default)]
    struct Merged {
        live: Option<AdvPrefix>,
        /// The latest valid instant of any deprecated entry.
        deprecated_until: Option<Instant>,
    }
    let mut merged: BTreeMap<Prefix, Merged> = BTreeMap::new();
    for c in contributions {
        for p in &c.prefixes {
            let entry = merged.entry(p.prefix).or_default();
            entry.live = Some(match entry.live.take() {
                None => p.clone(),
                Some(m) => AdvPrefix {
                    prefix: p.prefix,
                    preferred_until: later(m.preferred_until, p.preferred_until),
                    valid_until: later(m.valid_until, p.valid_until),
                    on_link: m.on_link || p.on_link,
                    autonomous: m.autonomous || p.autonomous,
                },
            });
        }
        for d in &c.deprecated {
            let entry = merged.entry(d.prefix).or_default();
            entry.deprecated_until = Some(
                entry
                    .deprecated_until
                    .map_or(d.valid_until, |t| t.max(d.valid_until)),
            );
        }
    }
    let mut live = Vec::new();
    let mut deprecated = Vec::new();
    // BTreeMap: sorted by prefix.
    for (prefix, m) in merged {
        match (m.live, m.deprecated_until) {
            (Some(mut p), deprecated_until) => {
                // Hosts hold a deprecated prefix until its valid instant:
                // the live PIO must not tell them less.
                if let Some(until) = deprecated_until {
                    p.valid_until = later(p.valid_until, Some(until));
                }
                live.push(p);
            }
            (None, Some(valid_until)) => deprecated.push(DeprecatedPrefix {
                prefix,
                valid_until,
            }),
            (None, None) => {}
        }
    }
    (live, deprecated)
}

/// RFC 4191 §2.2 order of preference; the reserved value counts as
/// medium, as a receiver of the RA header treats it.
fn rank(p: RouterPreference) -> u8 {
    match p {
        RouterPreference::Low => 0,
        RouterPreference::Medium | RouterPreference::Reserved => 1,
        RouterPreference::High => 2,
    }
}

fn merge_routes(contributions: &[&AdvertContent]) -> Vec<AdvRoute> {
    let mut merged: BTreeMap<Prefix, AdvRoute> = BTreeMap::new();
    for r in contributions.iter().flat_map(|c| &c.routes) {
        merged
            .entry(r.prefix)
            .and_modify(|m| {
                m.valid_until = later(m.valid_until, r.valid_until);
                if rank(r.preference) > rank(m.preference) {
                    m.preference = r.preference;
                }
            })
            .or_insert_with(|| r.clone());
    }
    merged.into_values().collect()
}

/// The items in order, each kept only if no earlier one is `same`.
fn union<'a, T: Clone + 'a>(
    items: impl Iterator<Item = &'a T>,
    same: impl Fn(&T, &T) -> bool,
) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for item in items {
        if !out.iter().any(|o| same(o, item)) {
            out.push(item.clone());
        }
    }
    out
}

/// RFC 4343: DNS names compare case-insensitively; a trailing dot only
/// marks the name absolute.
fn same_domain(a: &str, b: &str) -> bool {
    let a = a.strip_suffix('.').unwrap_or(a);
    let b = b.strip_suffix('.').unwrap_or(b);
    a.eq_ignore_ascii_case(b)
}
