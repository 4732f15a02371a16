//! Urgent changes within MIN_DELAY_BETWEEN_RAS of a multicast RA reach the
//! hosts we know by unicast RA at once (RFC 9096 L-13, RFC 7084 G-5
//! "immediately"; RFC 4861 §6.2.6 limits only all-nodes RAs), while the
//! multicast RA keeps its rate limit; the known-host set stays bounded.

mod common;

use std::net::Ipv6Addr;
use std::time::Duration;

use common::*;
use v6edge_core::Instant;
use v6edge_ra::{
    AdvertContent, Advertiser, DeprecatedPrefix, KNOWN_HOST_TTL, MAX_KNOWN_HOSTS,
    URGENT_UNICAST_INTERVAL,
};
use v6edge_wire::Lifetime;
use v6edge_wire::nd::{PrefixInfo, RouterAdvert};

const OLD: &str = "2001:db8:1:1::/64";
const NEW: &str = "2001:db8:1:2::/64";
const HOST_LLA: [u8; 6] = [2, 0, 0, 0, 0, 0x10];

fn host() -> Ipv6Addr {
    addr("fe80::10")
}

fn after(t: Instant, ms: u64) -> Instant {
    t + Duration::from_millis(ms)
}

fn old_only() -> AdvertContent {
    AdvertContent {
        prefixes: vec![live(OLD)],
        default_router: true,
        ..Default::default()
    }
}

/// Renumbering (RFC 9096 L-13): OLD deprecated with 2 h left, NEW live.
fn renumbered(now: Instant) -> AdvertContent {
    AdvertContent {
        prefixes: vec![live(NEW)],
        deprecated: vec![DeprecatedPrefix {
            prefix: prefix(OLD),
            valid_until: now + Duration::from_secs(7200),
        }],
        default_router: true,
        ..Default::default()
    }
}

fn pio<'a>(ra: &'a RouterAdvert, p: &str) -> Option<&'a PrefixInfo> {
    let p = prefix(p);
    ra.options
        .prefixes()
        .find(|i| i.prefix == p.addr() && i.prefix_len == p.len())
}

/// Started at 10 s with OLD; the host solicits (with SLLA) during the
/// initial burst and gets its unicast answer; returns the advertiser and
/// the time of the next multicast RA, with nothing left queued.
fn with_known_host() -> (Advertiser, Instant) {
    let mut adv = started(old_only(), secs(10));
    assert_eq!(drain(&mut adv).len(), 1, "first RA at start");
    let rs = rs_bytes(Some(&HOST_LLA));
    adv.handle_packet(secs(11), &rx(host(), 255, &rs));
    let answer = run_until(&mut adv, ms(11_500));
    assert_eq!(answer.len(), 1);
    assert_eq!(answer[0].1.dst, host());
    let known: Vec<_> = adv.known_hosts().cloned().collect();
    assert_eq!(known.len(), 1);
    assert_eq!(known[0].addr, host());
    assert_eq!(known[0].link_layer_addr.as_deref(), Some(&HOST_LLA[..]));
    assert_eq!(known[0].last_heard, secs(11));
    let t1 = next_multicast_ra(&mut adv);
    assert!(t1 <= secs(26), "initial burst RA at {t1:?}");
    (adv, t1)
}

fn unicasts_to(
    sent: &[(Instant, v6edge_core::Transmit, RouterAdvert)],
    dst: Ipv6Addr,
) -> Vec<Instant> {
    sent.iter()
        .filter(|s| s.1.dst == dst)
        .map(|s| s.0)
        .collect()
}

#[test]
fn renumbering_within_the_rate_limit_reaches_known_hosts_at_once() {
    let (mut adv, t1) = with_known_host();
    let before = adv.status();
    let t = after(t1, 500);
    adv.set_content(t, renumbered(t));
    // The unicast RA leaves during the call, not 2.5 s later.
    let now = drain(&mut adv);
    assert_eq!(now.len(), 1, "one unicast RA at once");
    let (tx, ra) = &now[0];
    assert_eq!(tx.dst, host());
    assert_eq!(adv.status().last_sent_at, Some(t));
    let old = pio(ra, OLD).expect("deprecated prefix advertised");
    assert_eq!(old.preferred, Lifetime::ZERO, "RFC 9096 L-13: preferred 0");
    assert_eq!(
        old.valid,
        Lifetime::Finite(5400),
        "valid counts down, capped (L-16)"
    );
    let new = pio(ra, NEW).expect("new prefix advertised");
    assert!(!new.preferred.is_zero() && new.autonomous);
    assert_eq!(ra.router_lifetime, 1800);
    let s = adv.status();
    assert_eq!(s.urgent_unicast, 1);
    assert_eq!(s.urgent_changes, 1);
    assert_eq!(s.ra_sent_unicast, before.ra_sent_unicast + 1);
    assert_eq!(s.ra_sent_multicast, before.ra_sent_multicast);
    // RFC 4861 §6.2.6: the multicast RA still waits for MIN_DELAY_BETWEEN_RAS.
    assert_eq!(adv.poll_timeout(), Some(t1 + Duration::from_secs(3)));
    let later = run_until(&mut adv, after(t1, 3500));
    assert_eq!(later.len(), 1);
    assert_eq!(later[0].0, t1 + Duration::from_secs(3));
    assert!(is_multicast(&later[0].1));
    let m = &later[0].2;
    assert_eq!(pio(m, OLD).map(|p| p.preferred), Some(Lifetime::ZERO));
    assert!(pio(m, NEW).is_some());
    assert_eq!(
        adv.status().urgent_unicast,
        1,
        "no more unicast after the multicast"
    );
}

#[test]
fn no_unicast_when_the_multicast_can_leave_at_once() {
    let (mut adv, t1) = with_known_host();
    let t = t1 + Duration::from_secs(5);
    adv.set_content(t, renumbered(t));
    let sent = drain(&mut adv);
    assert_eq!(sent.len(), 1);
    assert!(is_multicast(&sent[0].0), "the multicast RA alone");
    assert_eq!(
        pio(&sent[0].1, OLD).map(|p| p.preferred),
        Some(Lifetime::ZERO)
    );
    let s = adv.status();
    assert_eq!(s.urgent_changes, 1);
    assert_eq!(s.urgent_unicast, 0);
    // Fast RAs follow (RFC 4861 §6.2.4), none unicast.
    let more = run_until(&mut adv, t + Duration::from_secs(60));
    assert!(more.iter().all(|s| is_multicast(&s.1)));
}

#[test]
fn losing_the_default_route_within_the_rate_limit_is_unicast_at_once() {
    // RFC 7084 G-5: Router Lifetime 0 "immediately".
    let (mut adv, t1) = with_known_host();
    let t = after(t1, 1000);
    let mut content = old_only();
    content.default_router = false;
    adv.set_content(t, content);
    let sent = drain(&mut adv);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0.dst, host());
    assert_eq!(sent[0].1.router_lifetime, 0);
    assert!(pio(&sent[0].1, OLD).is_some(), "prefix still advertised");
    // The same through the configuration: Router Lifetime 0.
    let (mut adv, t1) = with_known_host();
    let cfg = v6edge_ra::AdvertiserConfig {
        router_lifetime: Duration::ZERO,
        ..config()
    };
    adv.set_config(after(t1, 200), cfg);
    let sent = drain(&mut adv);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0.dst, host());
    assert_eq!(sent[0].1.router_lifetime, 0);
    assert_eq!(adv.status().urgent_unicast, 1);
}

#[test]
fn new_prefix_within_the_rate_limit_is_unicast_at_once() {
    let (mut adv, t1) = with_known_host();
    let t = after(t1, 300);
    let mut content = old_only();
    content.prefixes.push(live(NEW));
    adv.set_content(t, content);
    let sent = drain(&mut adv);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0.dst, host());
    assert!(pio(&sent[0].1, NEW).is_some_and(|p| !p.preferred.is_zero()));
    assert!(pio(&sent[0].1, OLD).is_some_and(|p| !p.preferred.is_zero()));
}

#[test]
fn non_urgent_changes_send_no_unicast() {
    let (mut adv, t1) = with_known_host();
    // Lifetimes only (a DHCPv6 renew): nothing at all.
    let before = adv.poll_timeout();
    let mut content = old_only();
    content.prefixes[0].valid_until = Some(secs(90_000));
    content.prefixes[0].preferred_until = Some(secs(80_000));
    adv.set_content(after(t1, 200), content.clone());
    assert!(adv.poll_transmit().is_none());
    assert_eq!(adv.poll_timeout(), before);
    // DNS, routes, flags: fast multicast RAs (RFC 4861 §6.2.4), no unicast.
    content.dns_servers = vec![addr("2001:db8::53")];
    adv.set_content(after(t1, 400), content.clone());
    content.routes = vec![v6edge_ra::AdvRoute {
        prefix: prefix("2001:db8:1::/48"),
        valid_until: None,
        preference: v6edge_ra::RouterPreference::Medium,
    }];
    adv.set_content(after(t1, 600), content.clone());
    content.prefixes[0].on_link = false;
    adv.set_content(after(t1, 800), content);
    assert!(adv.poll_transmit().is_none());
    let sent = run_until(&mut adv, after(t1, 3500));
    assert_eq!(sent.len(), 1);
    assert!(is_multicast(&sent[0].1));
    assert_eq!(sent[0].0, t1 + Duration::from_secs(3));
    let s = adv.status();
    assert_eq!((s.urgent_changes, s.urgent_unicast), (0, 0));
}

#[test]
fn lifetimes_running_out_on_schedule_are_not_urgent() {
    // The hosts were told "preferred 2 s" at 0 and deprecate the prefix by
    // themselves; our own view flips within the 3 s window.
    let mut content = old_only();
    content.prefixes[0].preferred_until = Some(secs(2));
    let mut adv = Advertiser::new(config(), 1, secs(0));
    adv.note_neighbor(secs(0), host());
    adv.set_content(secs(0), content);
    adv.start(secs(0));
    let first = drain(&mut adv);
    assert_eq!(first.len(), 1);
    assert_eq!(
        pio(&first[0].1, OLD).map(|p| p.preferred),
        Some(Lifetime::Finite(2))
    );
    let sent = run_until(&mut adv, secs(4));
    assert!(unicasts_to(&sent, host()).is_empty(), "{sent:?}");
    // The change still triggers the fast multicast RA at the rate limit.
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, secs(3));
    assert_eq!(
        pio(&sent[0].2, OLD).map(|p| p.preferred),
        Some(Lifetime::ZERO)
    );
    assert_eq!(adv.status().urgent_changes, 0);
}

#[test]
fn one_urgent_unicast_per_host_per_second() {
    let (mut adv, t1) = with_known_host();
    let t = after(t1, 200);
    adv.set_content(t, renumbered(t));
    assert_eq!(drain(&mut adv).len(), 1);
    // A second urgent change 0.3 s later: held back until 1 s after the
    // first, then sent with the content of that moment.
    let mut content = renumbered(t);
    content.prefixes.push(live("2001:db8:1:3::/64"));
    adv.set_content(after(t1, 500), content);
    assert!(adv.poll_transmit().is_none(), "per-host limit");
    assert_eq!(adv.poll_timeout(), Some(t + URGENT_UNICAST_INTERVAL));
    let sent = run_until(&mut adv, after(t1, 2900));
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, t + URGENT_UNICAST_INTERVAL);
    assert_eq!(sent[0].1.dst, host());
    assert!(pio(&sent[0].2, "2001:db8:1:3::/64").is_some());
    assert_eq!(adv.status().urgent_unicast, 2);
    // More than a second later: at once again.
    adv.set_content(after(t1, 2500), old_only());
    let sent = drain(&mut adv);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0.dst, host());
    // Held back past the multicast RA, which tells everyone: never sent.
    adv.set_content(after(t1, 2800), renumbered(t));
    assert!(adv.poll_transmit().is_none());
    let sent = run_until(&mut adv, after(t1, 4000));
    assert_eq!(sent.len(), 1);
    assert!(is_multicast(&sent[0].1));
    assert_eq!(sent[0].0, t1 + Duration::from_secs(3));
    assert_eq!(adv.status().urgent_unicast, 3);
    assert_eq!(adv.status().urgent_changes, 4);
}

#[test]
fn a_flapping_upstream_cannot_flood_a_host() {
    let (mut adv, t1) = with_known_host();
    let mut unicast = Vec::new();
    let mut multicast = Vec::new();
    // Renumbered and back every 100 ms for 20 s.
    for i in 1..=200u64 {
        let now = after(t1, i * 100);
        let sent = run_until(&mut adv, now);
        let content = if i % 2 == 1 {
            renumbered(now)
        } else {
            old_only()
        };
        adv.set_content(now, content);
        for (t, tx, _) in sent.into_iter().chain(run_until(&mut adv, now)) {
            if is_multicast(&tx) {
                multicast.push(t);
            } else {
                assert_eq!(tx.dst, host());
                unicast.push(t);
            }
        }
    }
    assert!(unicast.len() >= 5, "{unicast:?}");
    for w in unicast.windows(2) {
        assert!(w[1] - w[0] >= URGENT_UNICAST_INTERVAL, "{w:?}");
    }
    for w in multicast.windows(2) {
        assert!(w[1] - w[0] >= Duration::from_secs(3), "{w:?}");
    }
    assert_eq!(adv.status().urgent_unicast, unicast.len() as u64);
}

#[test]
fn urgent_unicast_answers_a_pending_solicitation() {
    let (mut adv, t1) = with_known_host();
    let t = after(t1, 100);
    let other = addr("fe80::20");
    // RFC 4861 §6.2.6 delays the solicited answer by up to 0.5 s ...
    adv.handle_packet(t, &rx(other, 255, &rs_bytes(Some(&HOST_LLA))));
    assert_eq!(adv.status().pending_unicast, 1);
    assert_eq!(adv.status().known_hosts, 2);
    // ... but the urgent RA that leaves now answers it too.
    adv.set_content(t, renumbered(t));
    assert_eq!(adv.status().pending_unicast, 0);
    let sent = run_until(&mut adv, after(t1, 2900));
    assert_eq!(unicasts_to(&sent, other), vec![t]);
    assert_eq!(unicasts_to(&sent, host()), vec![t]);
}

#[test]
fn known_hosts_bounded_least_recently_heard_evicted() {
    let (mut adv, t1) = with_known_host();
    let t0 = after(t1, 10);
    let ll = |i: u64| Ipv6Addr::from((0xfe80u128 << 112) | u128::from(0x1000 + i));
    for i in 0..MAX_KNOWN_HOSTS as u64 {
        adv.note_neighbor(Instant::from_micros(t0.as_micros() + i), ll(i));
    }
    // The host that solicited is the least recently heard: the first to go.
    assert_eq!(adv.status().known_hosts, MAX_KNOWN_HOSTS);
    assert!(adv.known_hosts().all(|h| h.addr != host()));
    // Refreshing keeps a host; 44 more evict the 44 least recently heard.
    adv.note_neighbor(after(t0, 1), ll(0));
    for i in 0..44u64 {
        adv.note_neighbor(after(t0, 2), ll(1000 + i));
    }
    let known: Vec<Ipv6Addr> = adv.known_hosts().map(|h| h.addr).collect();
    assert_eq!(known.len(), MAX_KNOWN_HOSTS);
    assert!(known.contains(&ll(0)));
    for i in 1..=44u64 {
        assert!(!known.contains(&ll(i)), "host {i} should be evicted");
    }
    assert!(known.contains(&ll(45)) && known.contains(&ll(1043)));
    // Global addresses are not kept without our link-local source (an RA
    // to one would leave from a global source and be discarded, RFC 4861
    // §6.1.2).
    adv.note_neighbor(after(t0, 3), addr("2001:db8::5"));
    assert!(adv.known_hosts().all(|h| h.addr != addr("2001:db8::5")));
    // An urgent change reaches each known host once.
    let t = after(t1, 500);
    adv.set_content(t, renumbered(t));
    let sent = drain(&mut adv);
    let mut dsts: Vec<Ipv6Addr> = sent.iter().map(|s| s.0.dst).collect();
    dsts.sort();
    let mut want = known.clone();
    want.sort();
    assert_eq!(dsts, want);
    assert_eq!(adv.status().urgent_unicast, MAX_KNOWN_HOSTS as u64);
    // Hosts not heard from for KNOWN_HOST_TTL are forgotten.
    let late = after(t0, 3) + KNOWN_HOST_TTL;
    adv.handle_timeout(late);
    assert_eq!(adv.status().known_hosts, 0);
    let last = next_multicast_ra(&mut adv);
    let t = after(last, 500);
    adv.set_content(t, old_only());
    assert!(
        adv.poll_transmit().is_none(),
        "nobody left to tell by unicast"
    );
    assert_eq!(adv.status().urgent_changes, 2);
}

#[test]
fn which_solicitations_make_a_host_known() {
    let mut adv = started(old_only(), secs(0));
    run_until(&mut adv, secs(100));
    drain(&mut adv);
    let slla = rs_bytes(Some(&HOST_LLA));
    let bare = rs_bytes(None);
    // From ::, with a bad hop limit, or from a global address: not kept.
    adv.handle_packet(secs(100), &rx(addr("::"), 255, &bare));
    adv.handle_packet(secs(100), &rx(addr("fe80::1"), 254, &slla));
    adv.handle_packet(secs(100), &rx(addr("2001:db8::7"), 255, &slla));
    assert_eq!(adv.status().known_hosts, 0);
    // The global source is answered by multicast: a unicast answer would
    // leave from a global source (RFC 6724) and be discarded (RFC 4861
    // §6.1.2).
    let sent = run_until(&mut adv, ms(103_500));
    assert_eq!(sent.len(), 1);
    assert!(is_multicast(&sent[0].1));
    // Link-local, with or without SLLA: kept.
    adv.handle_packet(secs(110), &rx(addr("fe80::2"), 255, &bare));
    adv.handle_packet(secs(110), &rx(addr("fe80::3"), 255, &slla));
    let mut known: Vec<_> = adv
        .known_hosts()
        .map(|h| (h.addr, h.link_layer_addr.clone()))
        .collect();
    known.sort();
    assert_eq!(
        known,
        vec![
            (addr("fe80::2"), None),
            (addr("fe80::3"), Some(HOST_LLA.to_vec()))
        ]
    );
}

/// A host the kernel knows only by its global address (its NS came from
/// it) is kept once our link-local source is known, and gets the urgent
/// RA from that source; without a source it is not kept (an RA from a
/// global source would be discarded, RFC 4861 §6.1.2).
#[test]
fn global_neighbours_get_urgent_ras_from_our_link_local() {
    let (mut adv, t1) = with_known_host();
    let global = addr("2001:db8:100:11::77");
    adv.note_neighbor(after(t1, 10), global);
    assert!(adv.known_hosts().all(|h| h.addr != global), "no source yet");
    let ours = addr("fe80::1");
    adv.set_source(Some(addr("2001:db8::1")));
    adv.note_neighbor(after(t1, 20), global);
    assert!(
        adv.known_hosts().all(|h| h.addr != global),
        "a global source is refused"
    );
    adv.set_source(Some(ours));
    adv.note_neighbor(after(t1, 30), global);
    assert!(adv.known_hosts().any(|h| h.addr == global));
    let t = after(t1, 200);
    adv.set_content(t, renumbered(t));
    let sent = drain(&mut adv);
    let to_global: Vec<_> = sent.iter().filter(|s| s.0.dst == global).collect();
    assert_eq!(to_global.len(), 1, "{sent:?}");
    assert_eq!(to_global[0].0.src, Some(ours));
    // The link-local host still gets its RA, with the kernel's source.
    let to_host: Vec<_> = sent.iter().filter(|s| s.0.dst == host()).collect();
    assert_eq!(to_host.len(), 1);
    assert_eq!(to_host[0].0.src, None);
}
