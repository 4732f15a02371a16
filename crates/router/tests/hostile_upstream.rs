//! The requesting-router policy fed what a rogue or broken DHCPv6 server
//! can make the client report (issue 14, "hostile upstream"), at explicit
//! instants, with the RAs it leads to built by the real advertiser.
//!
//! What "sane" means here:
//! - A "delegation" outside global unicast (2000::/3) and unique local
//!   (fc00::/7) space (`::/0`, `0::/1`, `8000::/1`, link-local, multicast,
//!   loopback, IPv4-mapped) installs nothing: no LAN address (no `::1/64`
//!   on a LAN), no unreachable route (an `unreachable ::/0` would replace
//!   the default route), no PIO or RIO; it is logged once and listed by
//!   `Router::ignored`.
//! - A delegation longer than /64 numbers no LAN (RFC 7084 WPD-3: accepted,
//!   a management error logged once): no LAN address, no PIO, only the
//!   WPD-5 unreachable route for what was delegated; a usable delegation
//!   next to it is carved whatever the order.
//! - However many delegations arrive, at most `MAX_DELEGATIONS` routes and
//!   RIOs result; each RA still fits the minimum MTU.
//! - Infinite or absurdly long lifetimes reach the kernel as given (the
//!   router address lives as long as the delegation, RFC 9096 L-15) but
//!   every RA caps PIO lifetimes at 2700/5400 s (RFC 9096 L-16) and RIOs
//!   at the PIO valid cap; a preferred lifetime beyond the valid one is cut
//!   to it.

use std::net::Ipv6Addr;

use v6edge_core::{Instant, KernelOp, RouteType};
use v6edge_prefix::Prefix;
use v6edge_ra::{AdvertContent, Advertiser, AdvertiserConfig, MAX_RA_LEN};
use v6edge_router::{
    Delegation, LanSpec, MAX_DELEGATIONS, Persisted, Router, RouterConfig, RouterOutput, UplinkView,
};
use v6edge_wire::Lifetime;
use v6edge_wire::nd::{NdMessage, RouterAdvert};

const LAN: u32 = 3;

fn p(s: &str) -> Prefix {
    s.parse().expect("test prefix")
}

fn t(s: u64) -> Instant {
    Instant::from_secs(s)
}

fn router() -> Router {
    let lan = LanSpec {
        name: "lan0".into(),
        ifindex: Some(LAN),
        subnet_id: None,
        advertise: true,
        dns_servers: None,
        dns_domains: None,
    };
    let mut r = Router::new(
        RouterConfig {
            lans: vec![lan],
            route_info: true,
            host_id: 1,
        },
        Persisted::default(),
        t(0),
    );
    r.set_default_router(t(0), true);
    drain(&mut r);
    r
}

fn deleg(prefix: Prefix, preferred: Option<u64>, valid: Option<u64>) -> Delegation {
    Delegation {
        prefix,
        preferred_until: preferred.map(t),
        valid_until: valid.map(t),
        exclude: None,
    }
}

fn view(delegations: Vec<Delegation>) -> UplinkView {
    UplinkView {
        delegations,
        ..UplinkView::default()
    }
}

fn drain(r: &mut Router) -> Vec<RouterOutput> {
    std::iter::from_fn(|| r.poll_output()).collect()
}

fn kernel(out: &[RouterOutput]) -> Vec<KernelOp> {
    out.iter()
        .filter_map(|o| match o {
            RouterOutput::Kernel(k) => Some(k.clone()),
            _ => None,
        })
        .collect()
}

fn last_advert(out: &[RouterOutput]) -> Option<AdvertContent> {
    out.iter().rev().find_map(|o| match o {
        RouterOutput::Advert { content, .. } => Some(content.clone()),
        _ => None,
    })
}

/// The RAs a fresh advertiser sends first for `content` at `now`, parsed.
fn ras(content: AdvertContent, now: Instant) -> Vec<RouterAdvert> {
    let mut adv = Advertiser::new(AdvertiserConfig::new(LAN), 1, now);
    adv.set_content(now, content);
    adv.start(now);
    let mut out = Vec::new();
    while let Some(tx) = adv.poll_transmit() {
        assert!(tx.payload.len() <= MAX_RA_LEN);
        match NdMessage::parse(&tx.payload) {
            Ok(NdMessage::RouterAdvert(ra)) => out.push(ra),
            other => panic!("not an RA: {other:?}"),
        }
    }
    assert!(!out.is_empty(), "the advertiser sent nothing at start");
    out
}

#[test]
fn delegations_outside_unicast_space_install_nothing() {
    let bogus = [
        Prefix::DEFAULT,
        p("::/1"),
        p("8000::/1"),
        p("fe80::/64"),
        p("ff00::/8"),
        p("::1/128"),
        p("::ffff:0:0/96"),
        p("::/8"),
    ];
    for b in bogus {
        let mut r = router();
        r.handle_uplink(t(1), view(vec![deleg(b, Some(100), Some(200))]));
        let out = drain(&mut r);
        assert!(kernel(&out).is_empty(), "{b}: {:?}", kernel(&out));
        if let Some(c) = last_advert(&out) {
            assert!(c.prefixes.is_empty() && c.routes.is_empty(), "{b}");
        }
        assert_eq!(r.ignored(), &[b]);
        assert_eq!(r.status(t(1))[0].prefix, None);
        assert!(r.delegations().is_empty());
    }
}

#[test]
fn a_bogus_delegation_beside_a_good_one_leaves_the_good_one() {
    let mut r = router();
    r.handle_uplink(
        t(1),
        view(vec![
            deleg(Prefix::DEFAULT, None, None),
            deleg(p("2001:db8:1200::/56"), Some(100), Some(200)),
        ]),
    );
    let out = drain(&mut r);
    let k = kernel(&out);
    assert_eq!(r.status(t(1))[0].prefix, Some(p("2001:db8:1200::/64")));
    let routes: Vec<Prefix> = k
        .iter()
        .filter_map(|op| match op {
            KernelOp::SetRoute(rs) => Some(rs.dst),
            _ => None,
        })
        .collect();
    assert_eq!(routes, vec![p("2001:db8:1200::/56")]);
    assert_eq!(r.ignored(), &[Prefix::DEFAULT]);
}

#[test]
fn a_delegation_longer_than_64_numbers_no_lan() {
    for len in [65u8, 80, 127, 128] {
        let d = Prefix::new("2001:db8:1200::".parse().unwrap(), len).unwrap();
        let mut r = router();
        r.handle_uplink(t(1), view(vec![deleg(d, Some(100), Some(200))]));
        let out = drain(&mut r);
        let k = kernel(&out);
        // WPD-5 still covers what we were given; nothing else.
        assert_eq!(k.len(), 1, "/{len}: {k:?}");
        assert!(
            matches!(&k[0], KernelOp::SetRoute(rs) if rs.dst == d && rs.kind == RouteType::Unreachable)
        );
        let c = last_advert(&out).expect("advert content");
        assert!(c.prefixes.is_empty(), "/{len}: no PIO");
        assert_eq!(r.status(t(1))[0].prefix, None);
        assert_eq!(r.shortfalls().len(), 1, "logged as a shortfall");
        // A renewal of the same thing changes nothing and is not news.
        r.handle_uplink(t(50), view(vec![deleg(d, Some(150), Some(250))]));
        let again = drain(&mut r);
        assert!(
            kernel(&again)
                .iter()
                .all(|op| matches!(op, KernelOp::SetRoute(rs) if rs.dst == d))
        );
        assert_eq!(r.shortfalls().len(), 1);
    }

    // A usable delegation after it is carved all the same.
    let mut r = router();
    r.handle_uplink(
        t(1),
        view(vec![
            deleg(p("2001:db8:1200::/80"), Some(100), Some(200)),
            deleg(p("2001:db8:1300::/56"), Some(100), Some(200)),
        ]),
    );
    drain(&mut r);
    assert_eq!(r.status(t(1))[0].prefix, Some(p("2001:db8:1300::/64")));
    assert!(r.shortfalls().is_empty());
}

#[test]
fn a_thousand_delegations_give_bounded_routes_and_ras() {
    let many: Vec<Delegation> = (0..1000u16)
        .map(|i| {
            let a = Ipv6Addr::new(0x2001, 0xdb8, 0x4000 + i, 0, 0, 0, 0, 0);
            deleg(Prefix::new(a, 48).unwrap(), Some(100), Some(200))
        })
        .collect();
    let mut r = router();
    r.handle_uplink(t(1), view(many));
    let out = drain(&mut r);
    let routes = kernel(&out)
        .iter()
        .filter(|op| matches!(op, KernelOp::SetRoute(_)))
        .count();
    assert_eq!(routes, MAX_DELEGATIONS);
    assert_eq!(r.ignored().len(), 1000 - MAX_DELEGATIONS);
    let c = last_advert(&out).expect("advert");
    assert_eq!(c.routes.len(), MAX_DELEGATIONS);
    let sent = ras(c, t(1));
    let rios: usize = sent.iter().map(|ra| ra.options.route_infos().count()).sum();
    assert_eq!(rios, MAX_DELEGATIONS);
    assert!(sent.len() <= 2, "{} RAs for one change", sent.len());
}

#[test]
fn infinite_and_absurd_lifetimes_are_capped_in_every_ra() {
    let absurd = u64::from(u32::MAX - 1);
    for (pref, valid) in [(None, None), (Some(absurd), Some(absurd))] {
        let mut r = router();
        let d = p("2001:db8:1200::/56");
        r.handle_uplink(t(0), view(vec![deleg(d, pref, valid)]));
        let out = drain(&mut r);
        // The kernel gets the delegation's own lifetimes (RFC 9096 L-15).
        let want = valid.map_or(Lifetime::Infinite, Lifetime::from_secs);
        assert!(kernel(&out).iter().any(|op| matches!(op,
            KernelOp::SetAddress(a) if a.ifindex == LAN && a.valid == want)));
        // Hosts never hear more than 2700/5400 s (RFC 9096 L-16).
        let content = last_advert(&out).expect("advert");
        for ra in ras(content, t(0)) {
            for pio in ra.options.prefixes() {
                assert_eq!(pio.valid, Lifetime::Finite(5400));
                assert_eq!(pio.preferred, Lifetime::Finite(2700));
            }
            for rio in ra.options.route_infos() {
                assert_eq!(rio.lifetime, Lifetime::Finite(5400));
            }
        }
    }
}

#[test]
fn preferred_beyond_valid_is_cut_to_valid() {
    let mut r = router();
    r.handle_uplink(
        t(0),
        view(vec![deleg(
            p("2001:db8:1200::/56"),
            Some(90_000),
            Some(300),
        )]),
    );
    let out = drain(&mut r);
    assert!(kernel(&out).iter().any(|op| matches!(op,
        KernelOp::SetAddress(a) if a.ifindex == LAN
            && a.preferred == Lifetime::Finite(300) && a.valid == Lifetime::Finite(300))));
    let content = last_advert(&out).expect("advert");
    for ra in ras(content, t(0)) {
        for pio in ra.options.prefixes() {
            assert!(pio.preferred <= pio.valid);
        }
    }
}
