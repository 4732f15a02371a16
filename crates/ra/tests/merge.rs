//! RA as a per-link service (issue 8 item 4): `LinkContributions` merges
//! what several roles want advertised on one link. Each merge rule of the
//! module docs has a test here, then property tests over arbitrary
//! contributions: merging is idempotent and order-free, keeps every
//! prefix, and forgets exactly what a removed contributor alone gave.

mod common;

use std::net::Ipv6Addr;
use std::time::Duration;

use common::*;
use proptest::collection::vec;
use proptest::prelude::*;
use v6edge_core::{Instant, Owner};
use v6edge_prefix::Prefix;
use v6edge_ra::{
    AdvHomeAgent, AdvPrefix, AdvRoute, AdvertContent, DeprecatedPrefix, LinkContributions,
    RouterPreference,
};

const CPE: Owner = Owner::RequestingRouter;
const HA: Owner = Owner::HomeAgent;
const STATIC: Owner = Owner::Static;

fn at(s: u64) -> Option<Instant> {
    Some(secs(s))
}

fn prefix_until(p: &str, preferred: Option<Instant>, valid: Option<Instant>) -> AdvPrefix {
    AdvPrefix {
        preferred_until: preferred,
        valid_until: valid,
        ..live(p)
    }
}

fn deprecated(p: &str, valid_until: u64) -> DeprecatedPrefix {
    DeprecatedPrefix {
        prefix: prefix(p),
        valid_until: secs(valid_until),
    }
}

fn route(p: &str, valid: Option<Instant>, preference: RouterPreference) -> AdvRoute {
    AdvRoute {
        prefix: prefix(p),
        valid_until: valid,
        preference,
    }
}

fn home_agent(preference: i16) -> AdvHomeAgent {
    AdvHomeAgent {
        preference,
        lifetime: Duration::from_secs(1800),
        mobile_routers: false,
    }
}

fn merge(parts: &[(Owner, AdvertContent)]) -> AdvertContent {
    let mut link = LinkContributions::new();
    for (who, content) in parts {
        link.set(*who, content.clone());
    }
    link.merged()
}

#[test]
fn nobody_contributing_means_empty_content() {
    let link: LinkContributions = LinkContributions::new();
    assert!(link.is_empty());
    assert_eq!(link.merged(), AdvertContent::default());
}

#[test]
fn same_prefix_takes_the_latest_lifetimes_and_ored_flags() {
    let cpe = AdvertContent {
        prefixes: vec![AdvPrefix {
            on_link: true,
            autonomous: false,
            ..prefix_until("2001:db8:1::/64", at(100), at(500))
        }],
        ..Default::default()
    };
    let stat = AdvertContent {
        prefixes: vec![AdvPrefix {
            on_link: false,
            autonomous: true,
            ..prefix_until("2001:db8:1::/64", at(300), at(400))
        }],
        ..Default::default()
    };
    let m = merge(&[(CPE, cpe.clone()), (STATIC, stat)]);
    assert_eq!(
        m.prefixes,
        [AdvPrefix {
            on_link: true,
            autonomous: true,
            ..prefix_until("2001:db8:1::/64", at(300), at(500))
        }]
    );
    // None is infinite, so it wins.
    let forever = AdvertContent {
        prefixes: vec![live("2001:db8:1::/64")],
        ..Default::default()
    };
    let m = merge(&[(CPE, cpe), (STATIC, forever)]);
    assert_eq!(
        (m.prefixes[0].preferred_until, m.prefixes[0].valid_until),
        (None, None)
    );
}

#[test]
fn deprecated_prefix_kept_unless_someone_advertises_it_live() {
    let old = AdvertContent {
        deprecated: vec![
            deprecated("2001:db8:1::/64", 700),
            deprecated("2001:db8:9::/64", 300),
        ],
        ..Default::default()
    };
    let other_old = AdvertContent {
        deprecated: vec![deprecated("2001:db8:9::/64", 900)],
        ..Default::default()
    };
    let m = merge(&[(CPE, old.clone()), (Owner::Relay, other_old)]);
    assert!(m.prefixes.is_empty());
    assert_eq!(
        m.deprecated,
        [
            deprecated("2001:db8:1::/64", 700),
            deprecated("2001:db8:9::/64", 900)
        ],
        "the latest valid instant"
    );
    // Live elsewhere: live, and valid at least as long as hosts were told
    // by the deprecated entry.
    let fresh = AdvertContent {
        prefixes: vec![prefix_until("2001:db8:1::/64", at(200), at(400))],
        ..Default::default()
    };
    let m = merge(&[(CPE, old), (STATIC, fresh)]);
    assert_eq!(
        m.prefixes,
        [prefix_until("2001:db8:1::/64", at(200), at(700))]
    );
    assert_eq!(m.deprecated, [deprecated("2001:db8:9::/64", 300)]);
}

#[test]
fn routes_take_the_highest_preference_and_latest_lifetime() {
    let a = AdvertContent {
        routes: vec![
            route("2001:db8:100::/48", at(600), RouterPreference::High),
            route("2001:db8:200::/48", None, RouterPreference::Low),
        ],
        ..Default::default()
    };
    let b = AdvertContent {
        routes: vec![
            route("2001:db8:100::/48", at(900), RouterPreference::Medium),
            route("2001:db8:200::/48", at(5), RouterPreference::Medium),
        ],
        ..Default::default()
    };
    let m = merge(&[(CPE, a), (Owner::Ripng, b)]);
    assert_eq!(
        m.routes,
        [
            route("2001:db8:100::/48", at(900), RouterPreference::High),
            route("2001:db8:200::/48", None, RouterPreference::Medium),
        ]
    );
}

#[test]
fn dns_lists_unioned_in_contributor_order_without_duplicates() {
    let cpe = AdvertContent {
        dns_servers: vec![addr("2001:db8::53"), addr("2001:db8::54")],
        dns_domains: vec!["isp.example".into(), "lab.example".into()],
        ..Default::default()
    };
    let stat = AdvertContent {
        dns_servers: vec![addr("2001:db8::99"), addr("2001:db8::53")],
        dns_domains: vec!["LAB.example.".into(), "home.example".into()],
        ..Default::default()
    };
    // Set in the other order: Owner order decides, not the call order.
    let m = merge(&[(STATIC, stat), (CPE, cpe)]);
    assert_eq!(
        m.dns_servers,
        [
            addr("2001:db8::53"),
            addr("2001:db8::54"),
            addr("2001:db8::99")
        ]
    );
    assert_eq!(
        m.dns_domains,
        ["isp.example", "lab.example", "home.example"]
    );
}

#[test]
fn flags_are_true_if_any_contributor_says_so() {
    let yes = AdvertContent {
        default_router: true,
        advertisement_interval: true,
        ..Default::default()
    };
    let m = merge(&[(CPE, AdvertContent::default()), (HA, yes)]);
    assert!(m.default_router && m.advertisement_interval);
    let m = merge(&[
        (CPE, AdvertContent::default()),
        (HA, AdvertContent::default()),
    ]);
    assert!(!m.default_router && !m.advertisement_interval);
}

#[test]
fn home_agent_of_highest_preference_with_its_router_address() {
    let ha = |preference, address: &str| AdvertContent {
        home_agent: Some(home_agent(preference)),
        router_address: Some(addr(address)),
        ..Default::default()
    };
    let m = merge(&[
        (HA, ha(5, "2001:db8:1::1")),
        (Owner::MobileRouter, ha(9, "2001:db8:1::2")),
        (STATIC, ha(-1, "2001:db8:1::3")),
    ]);
    assert_eq!(m.home_agent, Some(home_agent(9)));
    assert_eq!(m.router_address, Some(addr("2001:db8:1::2")));
    // A tie goes to the first in contributor order.
    let m = merge(&[
        (STATIC, ha(5, "2001:db8:1::3")),
        (HA, ha(5, "2001:db8:1::1")),
    ]);
    assert_eq!(m.router_address, Some(addr("2001:db8:1::1")));
    // The only home agent without an address: the first address given.
    let m = merge(&[
        (
            HA,
            AdvertContent {
                home_agent: Some(home_agent(0)),
                ..Default::default()
            },
        ),
        (STATIC, ha(0, "2001:db8:1::3")),
        (
            CPE,
            AdvertContent {
                router_address: Some(addr("2001:db8:1::9")),
                ..Default::default()
            },
        ),
    ]);
    assert_eq!(m.router_address, Some(addr("2001:db8:1::9")));
    assert_eq!(m.home_agent, Some(home_agent(0)));
}

#[test]
fn set_reports_changes_and_remove_withdraws() {
    let mut link = LinkContributions::new();
    let cpe = AdvertContent {
        prefixes: vec![live("2001:db8:1::/64")],
        ..Default::default()
    };
    assert!(link.set(CPE, cpe.clone()));
    assert!(!link.set(CPE, cpe.clone()), "same content: no change");
    assert!(link.set(HA, AdvertContent::default()));
    assert_eq!(link.contributors().collect::<Vec<_>>(), [CPE, HA]);
    assert_eq!(link.get(CPE), Some(&cpe));
    assert_eq!(link.remove(CPE), Some(cpe));
    assert_eq!(link.remove(CPE), None);
    assert_eq!(link.len(), 1);
    assert!(link.merged().prefixes.is_empty());
}

#[test]
fn merged_content_drives_one_advertiser_for_every_role() {
    // The requesting router's LAN prefix and the home agent's H flag and
    // R-flag address, in one RA.
    let mut link = LinkContributions::new();
    link.set(
        CPE,
        AdvertContent {
            prefixes: vec![live("2001:db8:1::/64")],
            dns_servers: vec![addr("2001:db8::53")],
            default_router: true,
            ..Default::default()
        },
    );
    link.set(
        HA,
        AdvertContent {
            prefixes: vec![live("2001:db8:1::/64")],
            home_agent: Some(AdvHomeAgent {
                preference: 4,
                ..home_agent(0)
            }),
            router_address: Some(addr("2001:db8:1::1")),
            ..Default::default()
        },
    );
    let mut adv = started(link.merged(), secs(0));
    let ra = drain(&mut adv).remove(0).1;
    assert!(ra.flags.home_agent);
    assert_eq!(ra.router_lifetime, 1800);
    assert_eq!(ra.options.home_agent_info().unwrap().preference, 4);
    let pios: Vec<_> = ra.options.prefixes().collect();
    assert_eq!(pios.len(), 1, "one PIO for the shared prefix");
    assert!(pios[0].router_addr);
    assert_eq!(pios[0].prefix, addr("2001:db8:1::1"));
    assert_eq!(
        ra.options.rdnss().next().unwrap().servers,
        [addr("2001:db8::53")]
    );
}

// ---- properties ----

/// Small pools, so that contributions overlap often.
fn pool_prefix() -> impl Strategy<Value = Prefix> {
    (0u16..6).prop_map(|n| Prefix::new(Ipv6Addr::new(0x2001, 0xdb8, n, 0, 0, 0, 0, 0), 64).unwrap())
}

fn instant() -> impl Strategy<Value = Option<Instant>> {
    prop_oneof![Just(None), (0u64..5).prop_map(|s| Some(secs(s * 100)))]
}

fn preference() -> impl Strategy<Value = RouterPreference> {
    (0u8..4).prop_map(RouterPreference::from_bits)
}

fn content() -> impl Strategy<Value = AdvertContent> {
    let prefixes = vec(
        (pool_prefix(), instant(), instant(), any::<[bool; 2]>()).prop_map(
            |(prefix, preferred_until, valid_until, [on_link, autonomous])| AdvPrefix {
                prefix,
                preferred_until,
                valid_until,
                on_link,
                autonomous,
            },
        ),
        0..4,
    );
    let deprecated = vec(
        (pool_prefix(), 0u64..5).prop_map(|(prefix, s)| DeprecatedPrefix {
            prefix,
            valid_until: secs(s * 100),
        }),
        0..3,
    );
    let routes = vec(
        ((0u16..4), instant(), preference()).prop_map(|(n, valid_until, preference)| AdvRoute {
            prefix: Prefix::new(Ipv6Addr::new(0x2001, 0xdb8, 0x100 + n, 0, 0, 0, 0, 0), 48)
                .unwrap(),
            valid_until,
            preference,
        }),
        0..3,
    );
    let servers = vec(
        (0u16..5).prop_map(|n| Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x53 + n)),
        0..3,
    );
    let domains = vec(
        prop::sample::select(vec!["a.example", "A.example.", "b.example", "c.example"])
            .prop_map(String::from),
        0..3,
    );
    let home_agent = proptest::option::of((-2i16..3, any::<bool>()).prop_map(
        |(preference, mobile_routers)| AdvHomeAgent {
            preference,
            lifetime: Duration::from_secs(1800),
            mobile_routers,
        },
    ));
    let router_address = proptest::option::of(
        (0u16..4).prop_map(|n| Ipv6Addr::new(0x2001, 0xdb8, n, 0, 0, 0, 0, 1)),
    );
    (
        prefixes,
        deprecated,
        routes,
        servers,
        domains,
        any::<[bool; 2]>(),
        home_agent,
        router_address,
    )
        .prop_map(
            |(
                prefixes,
                deprecated,
                routes,
                dns_servers,
                dns_domains,
                [default_router, advertisement_interval],
                home_agent,
                router_address,
            )| AdvertContent {
                prefixes,
                deprecated,
                routes,
                dns_servers,
                dns_domains,
                default_router,
                home_agent,
                advertisement_interval,
                router_address,
            },
        )
}

/// Distinct contributors, each with a content.
fn contributions() -> impl Strategy<Value = Vec<(Owner, AdvertContent)>> {
    vec(content(), Owner::ALL.len())
        .prop_flat_map(|contents| {
            let all: Vec<(Owner, AdvertContent)> = Owner::ALL.into_iter().zip(contents).collect();
            proptest::sample::subsequence(all, 0..=Owner::ALL.len())
        })
        .prop_shuffle()
}

fn prefixes_of(c: &AdvertContent) -> Vec<Prefix> {
    let mut all: Vec<Prefix> = c
        .prefixes
        .iter()
        .map(|p| p.prefix)
        .chain(c.deprecated.iter().map(|d| d.prefix))
        .collect();
    all.sort();
    all.dedup();
    all
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn merging_the_same_contribution_twice_changes_nothing(c in content(), twice in prop::sample::select(&Owner::ALL[1..])) {
        let once = merge(&[(Owner::ALL[0], c.clone())]);
        prop_assert_eq!(&merge(&[(Owner::ALL[0], c.clone()), (twice, c.clone())]), &once);
        // And the merge is a fixed point: merging it again gives it back.
        prop_assert_eq!(&merge(&[(CPE, once.clone())]), &once);
        let mut link = LinkContributions::new();
        link.set(CPE, c.clone());
        prop_assert!(!link.set(CPE, c));
        prop_assert_eq!(link.merged(), merge(&[(CPE, once.clone())]));
    }

    #[test]
    fn order_of_set_calls_does_not_change_the_merge(parts in contributions()) {
        let forward = merge(&parts);
        let mut reversed = parts.clone();
        reversed.reverse();
        prop_assert_eq!(&merge(&reversed), &forward);
        // Output is sorted and one entry per prefix.
        let live: Vec<Prefix> = forward.prefixes.iter().map(|p| p.prefix).collect();
        let old: Vec<Prefix> = forward.deprecated.iter().map(|d| d.prefix).collect();
        let routes: Vec<Prefix> = forward.routes.iter().map(|r| r.prefix).collect();
        for list in [&live, &old, &routes] {
            prop_assert!(list.windows(2).all(|w| w[0] < w[1]), "{:?}", list);
        }
        prop_assert!(live.iter().all(|p| !old.contains(p)));
    }

    #[test]
    fn every_prefix_of_every_contribution_is_in_the_merge(parts in contributions()) {
        let m = merge(&parts);
        for (_, c) in &parts {
            for p in &c.prefixes {
                let merged = m.prefixes.iter().find(|q| q.prefix == p.prefix);
                prop_assert!(merged.is_some(), "live {:?} kept live", p.prefix);
                let merged = merged.unwrap();
                // Never shorter, flags never lost.
                prop_assert!(merged.valid_until.is_none() || merged.valid_until >= p.valid_until && p.valid_until.is_some());
                prop_assert!(merged.preferred_until.is_none() || merged.preferred_until >= p.preferred_until && p.preferred_until.is_some());
                prop_assert!(merged.on_link >= p.on_link && merged.autonomous >= p.autonomous);
            }
            for d in &c.deprecated {
                prop_assert!(prefixes_of(&m).contains(&d.prefix), "deprecated {:?} kept", d.prefix);
            }
            for r in &c.routes {
                prop_assert!(m.routes.iter().any(|q| q.prefix == r.prefix));
            }
            for s in &c.dns_servers {
                prop_assert!(m.dns_servers.contains(s));
            }
            prop_assert!(!c.default_router || m.default_router);
            prop_assert!(c.home_agent.is_none() || m.home_agent.is_some());
        }
    }

    #[test]
    fn removing_a_contributor_removes_what_only_it_contributed(parts in contributions(), pick in any::<prop::sample::Index>()) {
        prop_assume!(!parts.is_empty());
        let gone = pick.index(parts.len());
        let mut link = LinkContributions::new();
        for (who, c) in &parts {
            link.set(*who, c.clone());
        }
        let (who, removed) = &parts[gone];
        let taken = link.remove(*who);
        prop_assert_eq!(taken.as_ref(), Some(removed));
        let rest: Vec<(Owner, AdvertContent)> =
            parts.iter().filter(|(w, _)| w != who).cloned().collect();
        prop_assert_eq!(&link.merged(), &merge(&rest));
        // What only the removed one gave is gone.
        let others: Vec<Prefix> = rest.iter().flat_map(|(_, c)| prefixes_of(c)).collect();
        for p in prefixes_of(removed) {
            prop_assert_eq!(prefixes_of(&link.merged()).contains(&p), others.contains(&p));
        }
        if rest.iter().all(|(_, c)| c.home_agent.is_none()) {
            prop_assert_eq!(link.merged().home_agent, None);
        }
    }
}
