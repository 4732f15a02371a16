//! What RAs say: RFC 9096 L-13/L-15/L-16 lifetimes, RFC 7084 G-4/L-4/ULA-5
//! router lifetime, RFC 4191 preference and RIO, RFC 8106 RDNSS/DNSSL, MTU
//! and SLLA options, and splitting into several RAs. Every RA is parsed back
//! with the ND codec (common::check_ra).

mod common;

use std::net::Ipv6Addr;
use std::time::Duration;

use common::*;
use v6edge_core::Instant;
use v6edge_ra::{
    AdvPrefix, AdvRoute, AdvertContent, Advertiser, AdvertiserConfig, DeprecatedPrefix,
    RouterPreference,
};
use v6edge_wire::Lifetime;
use v6edge_wire::nd::{NdOption, PrefixInfo, RouterAdvert};

/// Drives a started advertiser to `t`, then solicits an RA by unicast
/// (RFC 7772; a fresh source each time, so no rate limit applies) and
/// returns the RA(s) of the answer, which leaves within 0.5 s.
fn ras_at(adv: &mut Advertiser, t: Instant) -> Vec<RouterAdvert> {
    ras_with_time(adv, t).1
}

fn ras_with_time(adv: &mut Advertiser, t: Instant) -> (Instant, Vec<RouterAdvert>) {
    run_until(adv, t);
    let host = Ipv6Addr::from(u128::from(addr("fe80::")) | u128::from(t.as_micros()));
    let rs = rs_bytes(Some(&[2, 0, 0, 0, 0, 7]));
    adv.handle_packet(t, &rx(host, 255, &rs));
    let sent: Vec<_> = run_until(adv, t + Duration::from_millis(500))
        .into_iter()
        .filter(|s| s.1.dst == host || is_multicast(&s.1))
        .collect();
    assert!(!sent.is_empty(), "RS answered");
    (sent[0].0, sent.into_iter().map(|s| s.2).collect())
}

/// Whole seconds from `at` to `until`, as an RA carries them.
fn left(until: Instant, at: Instant) -> Lifetime {
    Lifetime::Finite((until - at).as_secs() as u32)
}

fn pios(ras: &[RouterAdvert]) -> Vec<PrefixInfo> {
    ras.iter()
        .flat_map(|r| r.options.prefixes().cloned())
        .collect()
}

fn content_with(prefixes: Vec<AdvPrefix>) -> AdvertContent {
    AdvertContent {
        prefixes,
        default_router: true,
        ..Default::default()
    }
}

#[test]
fn pio_lifetimes_capped_by_rfc_9096_limits() {
    // RFC 9096 L-16: infinite delegation → 2700 / 5400.
    let mut adv = started(content_with(vec![live("2001:db8:1:1::/64")]), secs(0));
    let p = pios(&ras_at(&mut adv, secs(100)));
    assert_eq!(p.len(), 1);
    assert_eq!(
        (p[0].preferred, p[0].valid),
        (Lifetime::Finite(2700), Lifetime::Finite(5400))
    );
    assert!(p[0].on_link && p[0].autonomous);
    assert_eq!(p[0].prefix, addr("2001:db8:1:1::"));
    assert_eq!(p[0].prefix_len, 64);
}

#[test]
fn pio_lifetimes_follow_the_remaining_delegation() {
    // RFC 9096 L-15: 600 s of validity left → 600, counting down in real time.
    let t0 = secs(1000);
    let (valid_until, preferred_until) =
        (t0 + Duration::from_secs(600), t0 + Duration::from_secs(300));
    let prefix = AdvPrefix {
        valid_until: Some(valid_until),
        preferred_until: Some(preferred_until),
        ..live("2001:db8:1:1::/64")
    };
    let mut adv = started(AdvertContent::default(), secs(0));
    run_until(&mut adv, t0);
    // The new prefix goes out at once (quiet link), built at exactly t0.
    adv.set_content(t0, content_with(vec![prefix]));
    let sent = run_until(&mut adv, t0);
    assert_eq!(sent.len(), 1);
    let p = pios(&[sent[0].2.clone()]);
    assert_eq!(
        (p[0].preferred, p[0].valid),
        (Lifetime::Finite(300), Lifetime::Finite(600))
    );
    // The fast RAs that follow carry what is left at their own send time.
    let fast = run_until(&mut adv, t0 + Duration::from_secs(40));
    assert_eq!(fast.len(), 2);
    for (at, _, ra) in &fast {
        let p = pios(std::slice::from_ref(ra));
        assert_eq!(
            (p[0].preferred, p[0].valid),
            (left(preferred_until, *at), left(valid_until, *at))
        );
        assert!(p[0].valid < Lifetime::Finite(600));
    }
    let (at, ras) = ras_with_time(&mut adv, t0 + Duration::from_secs(100));
    let p = pios(&ras);
    assert_eq!(
        (p[0].preferred, p[0].valid),
        (left(preferred_until, at), left(valid_until, at))
    );
    assert!(matches!(p[0].valid, Lifetime::Finite(499..=500)));
    // Preferred ran out: 0, still valid.
    let (at, ras) = ras_with_time(&mut adv, t0 + Duration::from_secs(400));
    let p = pios(&ras);
    assert_eq!(
        (p[0].preferred, p[0].valid),
        (Lifetime::ZERO, left(valid_until, at))
    );
    // Valid ran out: no longer advertised, and no default router (L-4).
    let ras = ras_at(&mut adv, t0 + Duration::from_secs(601));
    assert!(pios(&ras).is_empty());
    assert_eq!(ras[0].router_lifetime, 0);
}

#[test]
fn preferred_never_exceeds_valid() {
    let t0 = secs(1000);
    let prefix = AdvPrefix {
        valid_until: Some(t0 + Duration::from_secs(100)),
        ..live("2001:db8:1:1::/64")
    };
    let mut adv = started(content_with(vec![prefix]), secs(0));
    let (at, ras) = ras_with_time(&mut adv, t0);
    let p = pios(&ras);
    assert_eq!(
        (p[0].preferred, p[0].valid),
        (
            left(t0 + Duration::from_secs(100), at),
            left(t0 + Duration::from_secs(100), at)
        )
    );
}

#[test]
fn flags_follow_the_content() {
    let prefix = AdvPrefix {
        on_link: false,
        autonomous: true,
        ..live("2001:db8:1:1::/64")
    };
    let prefix2 = AdvPrefix {
        on_link: true,
        autonomous: false,
        ..live("2001:db8:1:2::/64")
    };
    let mut adv = started(content_with(vec![prefix, prefix2]), secs(0));
    let p = pios(&ras_at(&mut adv, secs(100)));
    assert_eq!((p[0].on_link, p[0].autonomous), (false, true));
    assert_eq!((p[1].on_link, p[1].autonomous), (true, false));
}

#[test]
fn deprecated_prefix_counts_down_then_disappears() {
    // RFC 9096 L-13: old prefix with preferred 0 and valid decreasing.
    let t0 = secs(1000);
    let content = AdvertContent {
        prefixes: vec![live("2001:db8:2:1::/64")],
        deprecated: vec![DeprecatedPrefix {
            prefix: prefix("2001:db8:1:1::/64"),
            valid_until: t0 + Duration::from_secs(900),
        }],
        default_router: true,
        ..Default::default()
    };
    let mut adv = started(content, secs(0));
    let until = t0 + Duration::from_secs(900);
    let find = |ras: &[RouterAdvert]| {
        pios(ras)
            .into_iter()
            .find(|p| p.prefix == addr("2001:db8:1:1::"))
    };
    let (at, ras) = ras_with_time(&mut adv, t0);
    let old = find(&ras).expect("deprecated prefix advertised");
    assert_eq!(
        (old.preferred, old.valid),
        (Lifetime::ZERO, left(until, at))
    );
    assert!(matches!(old.valid, Lifetime::Finite(899..=900)));
    let (at, ras) = ras_with_time(&mut adv, t0 + Duration::from_secs(600));
    let old = find(&ras).expect("still advertised");
    assert_eq!(
        (old.preferred, old.valid),
        (Lifetime::ZERO, left(until, at))
    );
    assert!(matches!(old.valid, Lifetime::Finite(299..=300)));
    let ras = ras_at(&mut adv, t0 + Duration::from_secs(900));
    assert!(find(&ras).is_none(), "gone after valid_until");
    assert_eq!(pios(&ras).len(), 1, "the new prefix stays");
}

#[test]
fn deprecated_capped_by_nd_valid_limit() {
    let content = AdvertContent {
        deprecated: vec![DeprecatedPrefix {
            prefix: prefix("2001:db8:1:1::/64"),
            valid_until: secs(100_000),
        }],
        ..Default::default()
    };
    let mut adv = started(content, secs(0));
    let p = pios(&ras_at(&mut adv, secs(100)));
    assert_eq!(
        (p[0].preferred, p[0].valid),
        (Lifetime::ZERO, Lifetime::Finite(5400))
    );
}

#[test]
fn router_lifetime_rules() {
    let cases: Vec<(&str, AdvertContent, u16)> = vec![
        (
            "default router with a prefix",
            content_with(vec![live("2001:db8:1:1::/64")]),
            1800,
        ),
        (
            "G-4: no upstream default route",
            AdvertContent {
                default_router: false,
                ..content_with(vec![live("2001:db8:1:1::/64")])
            },
            0,
        ),
        ("L-4: no prefix", content_with(vec![]), 0),
        (
            "ULA-5: only ULA prefixes",
            content_with(vec![live("fd00:1:2:3::/64")]),
            0,
        ),
        (
            "ULA plus global",
            content_with(vec![live("fd00:1:2:3::/64"), live("2001:db8:1:1::/64")]),
            1800,
        ),
        (
            "L-4: deprecated prefixes do not count",
            AdvertContent {
                deprecated: vec![DeprecatedPrefix {
                    prefix: prefix("2001:db8:1:1::/64"),
                    valid_until: secs(5000),
                }],
                default_router: true,
                ..Default::default()
            },
            0,
        ),
    ];
    for (name, content, want) in cases {
        let mut adv = started(content, secs(0));
        let ras = ras_at(&mut adv, secs(100));
        assert!(ras.iter().all(|r| r.router_lifetime == want), "{name}");
    }
}

#[test]
fn preference_only_with_nonzero_lifetime() {
    // RFC 4191 §2.2: with Router Lifetime 0 the preference MUST be 00.
    let cfg = AdvertiserConfig {
        preference: RouterPreference::High,
        ..config()
    };
    for (default_router, want) in [
        (true, RouterPreference::High),
        (false, RouterPreference::Medium),
    ] {
        let mut adv = Advertiser::new(cfg.clone(), 3, secs(0));
        adv.set_content(
            secs(0),
            AdvertContent {
                default_router,
                ..content_with(vec![live("2001:db8:1:1::/64")])
            },
        );
        adv.start(secs(0));
        let ras = ras_at(&mut adv, secs(100));
        assert_eq!(ras[0].flags.preference, want);
    }
}

#[test]
fn header_fields_and_options_as_configured() {
    let cfg = AdvertiserConfig {
        managed: true,
        other_config: false,
        cur_hop_limit: 42,
        reachable_time: 30_000,
        retrans_timer: 1_000,
        mtu: Some(1492),
        rdnss_lifetime: Duration::from_secs(1800),
        ..config()
    };
    let content = AdvertContent {
        prefixes: vec![live("2001:db8:1:1::/64")],
        routes: vec![AdvRoute {
            prefix: prefix("2001:db8:1::/48"),
            valid_until: Some(secs(1100)),
            preference: RouterPreference::High,
        }],
        dns_servers: vec![addr("2001:db8:1:1::1"), addr("2001:db8::53")],
        dns_domains: vec!["lab.example".into(), "example.org.".into()],
        default_router: true,
        ..Default::default()
    };
    let mut adv = Advertiser::new(cfg, 9, secs(0));
    adv.set_content(secs(0), content);
    adv.start(secs(0));
    let ras = ras_at(&mut adv, secs(100));
    assert_eq!(ras.len(), 1);
    let ra = &ras[0];
    assert_eq!(
        (ra.cur_hop_limit, ra.reachable_time, ra.retrans_timer),
        (42, 30_000, 1_000)
    );
    assert!(ra.flags.managed && !ra.flags.other);
    assert_eq!(ra.source_lla(), Some(&MAC[..]));
    assert_eq!(ra.options.mtu(), Some(1492));
    let rios: Vec<_> = ra.options.route_infos().collect();
    assert_eq!(rios.len(), 1);
    assert_eq!(
        (rios[0].prefix, rios[0].prefix_len),
        (addr("2001:db8:1::"), 48)
    );
    assert_eq!(rios[0].preference, RouterPreference::High);
    // Remaining lifetime of the route (1100 − ~100 s), under ND_VALID_LIMIT.
    let Lifetime::Finite(l) = rios[0].lifetime else {
        panic!("finite RIO lifetime")
    };
    assert!((999..=1000).contains(&l), "RIO lifetime {l}");
    let rdnss: Vec<_> = ra.options.rdnss().collect();
    assert_eq!(rdnss.len(), 1);
    assert_eq!(
        rdnss[0].servers,
        vec![addr("2001:db8:1:1::1"), addr("2001:db8::53")]
    );
    assert_eq!(rdnss[0].lifetime, Lifetime::Finite(1800));
    let dnssl: Vec<_> = ra.options.dnssl().collect();
    assert_eq!(dnssl.len(), 1);
    assert_eq!(
        dnssl[0].domains,
        vec!["lab.example".to_owned(), "example.org".to_owned()]
    );
    assert_eq!(dnssl[0].lifetime, Lifetime::Finite(1800));
}

#[test]
fn optional_options_omitted() {
    let cfg = AdvertiserConfig {
        link_layer_addr: None,
        mtu: None,
        route_info: false,
        ..config()
    };
    let content = AdvertContent {
        prefixes: vec![live("2001:db8:1:1::/64")],
        routes: vec![AdvRoute {
            prefix: prefix("2001:db8:1::/48"),
            valid_until: None,
            preference: RouterPreference::Medium,
        }],
        default_router: true,
        ..Default::default()
    };
    let mut adv = Advertiser::new(cfg, 9, secs(0));
    adv.set_content(secs(0), content);
    adv.start(secs(0));
    let ras = ras_at(&mut adv, secs(100));
    let kinds: Vec<u8> = ras[0].options.iter().map(NdOption::kind).collect();
    assert_eq!(kinds, vec![NdOption::PREFIX_INFO], "only the PIO");
}

#[test]
fn rio_lifetime_capped_and_expired_routes_dropped() {
    let content = AdvertContent {
        prefixes: vec![live("2001:db8:1:1::/64")],
        routes: vec![
            AdvRoute {
                prefix: prefix("2001:db8:1::/48"),
                valid_until: None,
                preference: RouterPreference::Medium,
            },
            AdvRoute {
                prefix: prefix("2001:db8:2::/48"),
                valid_until: Some(secs(50)),
                preference: RouterPreference::Low,
            },
            AdvRoute {
                prefix: prefix("::/0"),
                valid_until: None,
                preference: RouterPreference::Reserved,
            },
        ],
        default_router: true,
        ..Default::default()
    };
    let mut adv = started(content, secs(0));
    let ras = ras_at(&mut adv, secs(100));
    let rios: Vec<_> = ras[0].options.route_infos().cloned().collect();
    assert_eq!(rios.len(), 2);
    assert_eq!(rios[0].lifetime, Lifetime::Finite(5400));
    // RFC 4191 §2.3: never send the reserved preference.
    assert_eq!(
        (rios[1].prefix_len, rios[1].preference),
        (0, RouterPreference::Medium)
    );
}

#[test]
fn many_prefixes_split_into_complete_ras() {
    let prefixes: Vec<_> = (0..80u16)
        .map(|i| live(&format!("2001:db8:1:{i:x}::/64")))
        .collect();
    let servers: Vec<Ipv6Addr> = (1..=100u16)
        .map(|i| addr(&format!("2001:db8::{i:x}")))
        .collect();
    let domains: Vec<String> = (0..60)
        .map(|i| format!("host-group-{i}.department.lab.example"))
        .collect();
    let content = AdvertContent {
        prefixes,
        dns_servers: servers.clone(),
        dns_domains: domains.clone(),
        default_router: true,
        ..Default::default()
    };
    let cfg = AdvertiserConfig {
        mtu: Some(1500),
        ..config()
    };
    let mut adv = Advertiser::new(cfg, 5, secs(0));
    adv.set_content(secs(0), content);
    adv.start(secs(0));
    let first: Vec<_> = drain(&mut adv);
    assert!(first.len() >= 4, "{} RAs", first.len());
    for (tx, ra) in &first {
        assert!(tx.payload.len() <= 1240);
        assert_eq!(ra.router_lifetime, 1800, "each RA valid on its own");
        assert_eq!(ra.source_lla(), Some(&MAC[..]));
        assert_eq!(ra.options.mtu(), Some(1500));
    }
    let ras: Vec<_> = first.into_iter().map(|f| f.1).collect();
    assert_eq!(pios(&ras).len(), 80);
    let got_servers: Vec<_> = ras
        .iter()
        .flat_map(|r| r.options.rdnss().flat_map(|o| o.servers.clone()))
        .collect();
    assert_eq!(got_servers, servers);
    let got_domains: Vec<_> = ras
        .iter()
        .flat_map(|r| r.options.dnssl().flat_map(|o| o.domains.clone()))
        .collect();
    assert_eq!(got_domains, domains);
    assert_eq!(adv.status().ra_sent_multicast as usize, ras.len());
}

#[test]
fn bad_content_items_dropped_and_counted() {
    let content = AdvertContent {
        prefixes: vec![live("2001:db8:1:1::/64"), live("2001:db8:1:1::/64")],
        dns_servers: vec![addr("ff02::1"), addr("2001:db8::53")],
        dns_domains: vec!["ok.example".into(), format!("{}.example", "a".repeat(64))],
        default_router: true,
        ..Default::default()
    };
    let mut adv = started(content, secs(0));
    assert_eq!(adv.status().content_items_dropped, 3);
    let ras = ras_at(&mut adv, secs(100));
    assert_eq!(pios(&ras).len(), 1);
    assert_eq!(
        ras[0].options.rdnss().next().map(|r| r.servers.clone()),
        Some(vec![addr("2001:db8::53")])
    );
    assert_eq!(
        ras[0].options.dnssl().next().map(|d| d.domains.clone()),
        Some(vec!["ok.example".to_owned()])
    );
}
