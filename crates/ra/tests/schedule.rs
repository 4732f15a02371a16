//! When RAs go out: RFC 4861 §6.2.4 (periodic, initial burst, fast RAs after
//! a change), §6.2.5 (final RA), §6.2.6 (solicited RAs, rate limit),
//! RFC 7772 (unicast replies), RFC 7084 G-5 and RFC 9096 L-13 (changes
//! reach hosts promptly).

mod common;

use std::time::Duration;

use common::*;
use proptest::prelude::*;
use v6edge_core::Instant;
use v6edge_ra::{
    AdvertContent, Advertiser, AdvertiserPhase, DropReason, MAX_INITIAL_RTR_ADVERT_INTERVAL,
};
use v6edge_wire::nd::NdOption;

fn one_prefix() -> AdvertContent {
    AdvertContent {
        prefixes: vec![live("2001:db8:1:1::/64")],
        default_router: true,
        ..Default::default()
    }
}

#[test]
fn silent_until_started() {
    let mut adv = Advertiser::new(config(), 1, secs(0));
    adv.set_content(secs(0), one_prefix());
    assert_eq!(adv.poll_timeout(), None);
    assert!(adv.poll_transmit().is_none());
    assert_eq!(adv.status().phase, AdvertiserPhase::Idle);
}

#[test]
fn first_ra_at_once_then_burst() {
    let mut adv = started(one_prefix(), secs(10));
    let first = drain(&mut adv);
    assert_eq!(first.len(), 1, "first RA sent at start");
    assert!(is_multicast(&first[0].0));
    let sent = run_until(&mut adv, secs(10 + 16 * 2));
    assert_eq!(sent.len(), 2, "two more initial RAs within 2 × 16 s");
    assert!(sent[0].0 <= secs(26) && sent[1].0 - sent[0].0 <= MAX_INITIAL_RTR_ADVERT_INTERVAL);
    assert_eq!(adv.status().initial_remaining, 0);
    // Then the regular 200..600 s interval.
    let next = adv.poll_timeout().expect("periodic timer armed");
    let gap = next - sent[1].0;
    assert!(
        gap >= Duration::from_secs(200) && gap <= Duration::from_secs(600),
        "gap {gap:?}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// RFC 4861 §6.2.4: three initial RAs at most 16 s apart, then
    /// intervals uniform in [MinRtrAdvInterval, MaxRtrAdvInterval].
    #[test]
    fn intervals_within_bounds(seed in any::<u64>(), min in 3u64..400, extra in 1u64..1400) {
        let max = (min + extra).clamp(4, 1800);
        let min = min.min(max * 3 / 4).max(3);
        let cfg = v6edge_ra::AdvertiserConfig {
            min_interval: Duration::from_secs(min),
            max_interval: Duration::from_secs(max),
            ..config()
        };
        prop_assert_eq!(cfg.validate(), Ok(()));
        let mut adv = Advertiser::new(cfg, seed, secs(0));
        adv.set_content(secs(0), one_prefix());
        adv.start(secs(0));
        let mut times = vec![secs(0)];
        prop_assert_eq!(drain(&mut adv).len(), 1);
        for (t, tx, ra) in run_until(&mut adv, secs(30 * 1800)) {
            prop_assert!(is_multicast(&tx));
            prop_assert_eq!(ra.router_lifetime, 1800);
            times.push(t);
        }
        prop_assert!(times.len() >= 20);
        for (i, w) in times.windows(2).enumerate() {
            let gap = w[1] - w[0];
            if i < 2 {
                prop_assert!(gap <= MAX_INITIAL_RTR_ADVERT_INTERVAL, "initial gap {:?}", gap);
                prop_assert!(gap >= Duration::from_secs(min.min(16)));
            } else {
                prop_assert!(gap >= Duration::from_secs(min) && gap <= Duration::from_secs(max), "gap {:?}", gap);
            }
        }
    }
}

#[test]
fn rs_answered_within_half_a_second() {
    let mut adv = started(one_prefix(), secs(0));
    let t = next_multicast_ra(&mut adv) + Duration::from_secs(5);
    let rs = rs_bytes(None);
    adv.handle_packet(t, &rx(addr("::"), 255, &rs));
    assert_eq!(adv.status().rs_received, 1);
    let due = adv.poll_timeout().expect("reply scheduled");
    assert!(
        due >= t && due <= t + Duration::from_millis(500),
        "due {due:?}"
    );
    let sent = run_until(&mut adv, t + Duration::from_millis(500));
    assert_eq!(sent.len(), 1);
    assert!(
        is_multicast(&sent[0].1),
        "unspecified source: multicast reply"
    );
    assert_eq!(adv.status().ra_sent_unicast, 0);
    // RFC 4861 §6.2.4: the solicited multicast RA resets the periodic timer.
    let next = adv.poll_timeout().expect("periodic timer");
    assert!(next - sent[0].0 >= Duration::from_secs(200));
}

#[test]
fn solicited_multicast_rate_limited_to_one_per_3s() {
    let mut adv = started(one_prefix(), secs(0));
    let last = next_multicast_ra(&mut adv);
    // RS one second after a multicast RA: RFC 4861 §6.2.6 answer at
    // last + MIN_DELAY_BETWEEN_RAS + random delay.
    let t = last + Duration::from_secs(1);
    let rs = rs_bytes(None);
    adv.handle_packet(t, &rx(addr("fe80::99"), 255, &rs));
    let sent = run_until(&mut adv, t + Duration::from_secs(10));
    assert_eq!(sent.len(), 1);
    let gap = sent[0].0 - last;
    assert!(
        gap >= Duration::from_secs(3) && gap <= Duration::from_millis(3500),
        "gap {gap:?}"
    );
    // A burst of RSs from :: yields one multicast RA per 3 s at most.
    let mut adv = started(one_prefix(), secs(0));
    run_until(&mut adv, secs(100));
    drain(&mut adv);
    let mut times = Vec::new();
    for i in 0..40u64 {
        let now = ms(100_000 + i * 250);
        adv.handle_timeout(now);
        adv.handle_packet(now, &rx(addr("::"), 255, &rs));
        adv.handle_timeout(now);
        if !drain(&mut adv).is_empty() {
            times.push(now);
        }
    }
    assert!(times.len() >= 2);
    for w in times.windows(2) {
        assert!(w[1] - w[0] >= Duration::from_secs(3), "{:?}", w);
    }
}

#[test]
fn rs_with_slla_answered_unicast_and_rate_limited_per_host() {
    let mut adv = started(one_prefix(), secs(0));
    run_until(&mut adv, secs(100));
    drain(&mut adv);
    let host = addr("fe80::1234");
    let rs = rs_bytes(Some(&[2, 0, 0, 0, 0, 9]));
    adv.handle_packet(secs(100), &rx(host, 255, &rs));
    let sent = run_until(&mut adv, ms(100_500));
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].1.dst, host,
        "RFC 7772: unicast to the soliciting host"
    );
    assert_eq!(sent[0].2.router_lifetime, 1800);
    assert_eq!(adv.status().ra_sent_unicast, 1);
    // Again one second later: rate limited, no reply; another host is not
    // held back by the first.
    adv.handle_packet(secs(101), &rx(host, 255, &rs));
    assert_eq!(adv.status().dropped.get(DropReason::RateLimited), 1);
    let other = addr("fe80::5678");
    adv.handle_packet(ms(101_100), &rx(other, 255, &rs));
    let sent = run_until(&mut adv, secs(102));
    let dsts: Vec<_> = sent.iter().map(|s| s.1.dst).collect();
    assert_eq!(dsts, vec![other]);
    // After MIN_DELAY_BETWEEN_RAS the host is answered again.
    adv.handle_packet(secs(104), &rx(host, 255, &rs));
    let sent = run_until(&mut adv, ms(104_500));
    let dsts: Vec<_> = sent.iter().map(|s| s.1.dst).collect();
    assert_eq!(dsts, vec![host]);
    assert_eq!(adv.status().ra_sent_unicast, 3);
}

#[test]
fn rs_with_bad_hop_limit_dropped_and_counted() {
    let mut adv = started(one_prefix(), secs(0));
    run_until(&mut adv, secs(100));
    drain(&mut adv);
    let before = adv.poll_timeout();
    let rs = rs_bytes(Some(&MAC));
    adv.handle_packet(secs(100), &rx(addr("fe80::1"), 254, &rs));
    assert_eq!(adv.status().dropped.get(DropReason::HopLimit), 1);
    assert_eq!(adv.status().rs_received, 1);
    assert_eq!(adv.poll_timeout(), before, "nothing scheduled");
    assert!(adv.poll_transmit().is_none());
}

#[test]
fn rs_from_unspecified_with_slla_dropped() {
    let mut adv = started(one_prefix(), secs(0));
    run_until(&mut adv, secs(100));
    let before = adv.poll_timeout();
    let rs = rs_bytes(Some(&MAC));
    adv.handle_packet(secs(100), &rx(addr("::"), 255, &rs));
    assert_eq!(
        adv.status()
            .dropped
            .get(DropReason::UnspecifiedSourceWithLla),
        1
    );
    assert_eq!(adv.poll_timeout(), before);
}

#[test]
fn rs_with_nonzero_code_or_bad_option_dropped() {
    let mut adv = started(one_prefix(), secs(0));
    run_until(&mut adv, secs(100));
    let before = adv.poll_timeout();
    let mut rs = rs_bytes(Some(&MAC));
    rs[1] = 1;
    adv.handle_packet(secs(100), &rx(addr("fe80::1"), 255, &rs));
    let mut rs = rs_bytes(Some(&MAC));
    rs[9] = 0; // option length 0
    adv.handle_packet(secs(100), &rx(addr("fe80::1"), 255, &rs));
    adv.handle_packet(
        secs(100),
        &rx(addr("fe80::1"), 255, &[0x80, 0, 0, 0, 1, 2, 3, 4]),
    );
    let s = adv.status();
    assert_eq!(s.dropped.get(DropReason::Malformed), 2);
    assert_eq!(s.dropped.get(DropReason::NotRouterDiscovery), 1);
    assert_eq!(adv.poll_timeout(), before);
}

#[test]
fn new_prefix_reaches_hosts_within_a_second() {
    let mut adv = started(one_prefix(), secs(0));
    run_until(&mut adv, secs(100));
    let t = next_multicast_ra(&mut adv) + Duration::from_secs(5);
    let mut content = one_prefix();
    content.prefixes.push(live("2001:db8:1:2::/64"));
    adv.set_content(t, content);
    let sent = run_until(&mut adv, t + Duration::from_secs(1));
    assert_eq!(sent.len(), 1, "RA within 1 s of the change");
    assert_eq!(sent[0].2.options.prefixes().count(), 2);
    // RFC 4861 §6.2.4: followed by fast RAs (≤ 16 s apart).
    let more = run_until(&mut adv, t + Duration::from_secs(40));
    assert_eq!(more.len(), 2);
    // A change of lifetimes only (a DHCPv6 renew) sends nothing extra.
    let before = adv.poll_timeout();
    let mut content = one_prefix();
    content.prefixes.push(live("2001:db8:1:2::/64"));
    content.prefixes[0].valid_until = Some(secs(90_000));
    adv.set_content(t + Duration::from_secs(41), content);
    assert_eq!(adv.poll_timeout(), before);
}

#[test]
fn change_soon_after_an_ra_waits_for_the_rate_limit() {
    let mut adv = started(one_prefix(), secs(0));
    run_until(&mut adv, secs(100));
    let last = next_multicast_ra(&mut adv);
    let t = last + Duration::from_secs(1);
    adv.set_content(t, AdvertContent::default());
    let sent = run_until(&mut adv, t + Duration::from_secs(5));
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, last + Duration::from_secs(3));
}

#[test]
fn losing_the_default_route_sends_lifetime_zero_promptly() {
    // RFC 7084 G-5.
    let mut adv = started(one_prefix(), secs(0));
    let t = next_multicast_ra(&mut adv) + Duration::from_secs(5);
    let mut content = one_prefix();
    content.default_router = false;
    adv.set_content(t, content);
    let sent = run_until(&mut adv, t + Duration::from_secs(1));
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].2.router_lifetime, 0);
    assert_eq!(
        sent[0].2.options.prefixes().count(),
        1,
        "prefix still on-link"
    );
    assert_eq!(adv.status().last_router_lifetime, Some(0));
}

#[test]
fn prefix_expiring_by_itself_triggers_an_ra() {
    let mut content = one_prefix();
    content.prefixes[0].valid_until = Some(secs(700));
    let mut adv = started(content, secs(0));
    run_until(&mut adv, secs(650));
    let sent = run_until(&mut adv, secs(703));
    let last = sent.last().expect("RA when the prefix ran out");
    assert!(last.0 <= secs(702), "at {:?}", last.0);
    assert_eq!(
        last.2.router_lifetime, 0,
        "RFC 7084 L-4: no prefix, no default router"
    );
    assert_eq!(last.2.options.prefixes().count(), 0);
}

#[test]
fn stop_sends_one_final_ra_then_silence() {
    let mut adv = started(one_prefix(), secs(0));
    run_until(&mut adv, secs(500));
    drain(&mut adv);
    adv.stop(secs(500));
    let fin = drain(&mut adv);
    assert_eq!(fin.len(), 1);
    assert!(is_multicast(&fin[0].0));
    assert_eq!(fin[0].1.router_lifetime, 0, "RFC 4861 §6.2.5");
    assert_eq!(fin[0].1.options.prefixes().count(), 1);
    assert_eq!(adv.poll_timeout(), None);
    let rs = rs_bytes(None);
    adv.handle_packet(secs(501), &rx(addr("::"), 255, &rs));
    adv.handle_timeout(secs(10_000));
    adv.set_content(secs(10_000), AdvertContent::default());
    assert!(adv.poll_transmit().is_none());
    assert_eq!(adv.status().dropped.get(DropReason::NotAdvertising), 1);
    assert_eq!(adv.status().phase, AdvertiserPhase::Stopped);
    // A second stop is a no-op; a new start advertises again.
    adv.stop(secs(10_001));
    assert!(adv.poll_transmit().is_none());
    adv.start(secs(10_002));
    let again = drain(&mut adv);
    assert_eq!(again.len(), 1);
}

#[test]
fn config_change_announced_with_fast_ras() {
    let mut adv = started(one_prefix(), secs(0));
    let t = next_multicast_ra(&mut adv) + Duration::from_secs(5);
    let cfg = v6edge_ra::AdvertiserConfig {
        managed: true,
        ..config()
    };
    adv.set_config(t, cfg.clone());
    let sent = run_until(&mut adv, t + Duration::from_secs(1));
    assert_eq!(sent.len(), 1);
    assert!(sent[0].2.flags.managed);
    // The same config again changes nothing.
    let before = adv.poll_timeout();
    adv.set_config(t + Duration::from_secs(2), cfg);
    assert_eq!(adv.poll_timeout(), before);
}

#[test]
fn spurious_timeouts_do_nothing() {
    let mut adv = started(one_prefix(), secs(0));
    drain(&mut adv);
    let next = adv.poll_timeout().expect("armed");
    for t in [secs(0), secs(1), Instant::from_micros(next.as_micros() - 1)] {
        adv.handle_timeout(t);
        assert!(adv.poll_transmit().is_none());
        assert_eq!(adv.poll_timeout(), Some(next));
    }
}

#[test]
fn other_routers_ras_validated_and_checked() {
    let mut adv = started(one_prefix(), secs(0));
    run_until(&mut adv, secs(100));
    let mut ra = v6edge_wire::nd::RouterAdvert::new(64, 1800);
    ra.flags.other = true;
    ra.options
        .push(NdOption::PrefixInfo(v6edge_wire::nd::PrefixInfo::new(
            addr("2001:db8:1:1::"),
            64,
            v6edge_wire::Lifetime::Finite(5400),
            v6edge_wire::Lifetime::Finite(2700),
        )));
    let good = v6edge_wire::nd::NdMessage::RouterAdvert(ra.clone()).to_bytes();
    adv.handle_packet(secs(100), &rx(addr("fe80::2"), 255, &good));
    assert_eq!(adv.status().ra_inconsistent, 0, "same values: consistent");
    adv.handle_packet(secs(100), &rx(addr("fe80::2"), 254, &good));
    adv.handle_packet(secs(100), &rx(addr("2001:db8::2"), 255, &good));
    let mut bad = ra;
    bad.flags.managed = true;
    let bad = v6edge_wire::nd::NdMessage::RouterAdvert(bad).to_bytes();
    adv.handle_packet(secs(100), &rx(addr("fe80::3"), 255, &bad));
    let s = adv.status();
    assert_eq!(s.ra_received, 4);
    assert_eq!(s.dropped.get(DropReason::HopLimit), 1);
    assert_eq!(s.dropped.get(DropReason::NotLinkLocalSource), 1);
    assert_eq!(s.ra_inconsistent, 1);
    assert_eq!(s.last_inconsistent_router, Some(addr("fe80::3")));
    assert!(
        adv.poll_transmit().is_none(),
        "RAs from others trigger nothing"
    );
}

/// A delegation renewed every `t1` seconds with `preferred`/`valid`
/// seconds from each renewal (as a Kea lease of 20/30 s with T1 10 s);
/// returns, for each renewal instant, how long the hosts' copy from the
/// last RA (multicast) still had to run just before it, and the advertiser.
fn renewed_every(t1: u64, preferred: u64, valid: u64, until: u64) -> (Vec<(u64, i64)>, Advertiser) {
    let content_at = |t: Instant| AdvertContent {
        prefixes: vec![v6edge_ra::AdvPrefix {
            preferred_until: Some(t + Duration::from_secs(preferred)),
            valid_until: Some(t + Duration::from_secs(valid)),
            ..live("2001:db8:1:1::/64")
        }],
        default_router: true,
        ..Default::default()
    };
    let mut adv = started(content_at(secs(0)), secs(0));
    // (instant of the RA, preferred lifetime it carried)
    let mut heard: (Instant, u64) = (secs(0), 0);
    let mut margins = Vec::new();
    let mut note = |sent: Vec<(
        Instant,
        v6edge_core::Transmit,
        v6edge_wire::nd::RouterAdvert,
    )>| {
        for (t, _, ra) in sent {
            let pio = ra.options.prefixes().next().expect("PIO");
            let p = pio.preferred.as_duration().expect("finite").as_secs();
            heard = (t, p);
        }
        heard
    };
    note(run_until(&mut adv, secs(0)));
    for k in 1..=until / t1 {
        let t = secs(k * t1);
        let (at, p) = note(run_until(&mut adv, Instant::from_micros(t.as_micros() - 1)));
        let left = (at + Duration::from_secs(p)).as_micros() as i64 - t.as_micros() as i64;
        margins.push((k * t1, left / 1_000_000));
        adv.set_content(t, content_at(t));
    }
    (margins, adv)
}

/// RFC 9096 L-16 caps PIO lifetimes by what remains of the delegation: a
/// short-lived delegation, renewed at T1, must reach hosts before their
/// copy of the preferred lifetime runs out, although the regular interval
/// (200..600 s) is much longer than the lease.
#[test]
fn renewal_lengthening_short_lifetimes_reaches_hosts_in_time() {
    let (margins, adv) = renewed_every(10, 20, 30, 600);
    for (t, left) in &margins {
        assert!(
            *left >= 5,
            "at {t} s hosts had {left} s of preferred lifetime left"
        );
    }
    let refreshes = adv.status().lifetime_refreshes;
    assert!(
        refreshes >= 55,
        "one RA per renewal after the burst, got {refreshes}"
    );
}

/// Lifetimes capped by the limits (2700/5400 s) do not change on renewal,
/// so renewals add no RA beyond the regular ones.
#[test]
fn renewal_of_long_delegation_adds_no_ra() {
    let (margins, adv) = renewed_every(1800, 3600, 7200, 7200);
    assert!(margins.iter().all(|(_, left)| *left > 1000), "{margins:?}");
    assert_eq!(adv.status().lifetime_refreshes, 0);
}
