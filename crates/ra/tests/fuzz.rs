//! Hostile and random input: arbitrary bytes never panic the advertiser,
//! and random sequences of commands, solicitations and time jumps keep the
//! protocol invariants (RFC 4861 §6.2.6 rate limit, RFC 9096 L-15/L-16
//! lifetimes, every RA parseable and within 1240 octets).

mod common;

use std::net::Ipv6Addr;
use std::time::Duration;

use common::*;
use proptest::prelude::*;
use v6edge_core::{Instant, Received};
use v6edge_ra::{AdvPrefix, AdvertContent, Advertiser, DeprecatedPrefix};
use v6edge_wire::Lifetime;
use v6edge_wire::nd::{NdMessage, RouterSolicit};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300),
                                   src in any::<u128>(), hop in any::<u8>(), started in any::<bool>()) {
        let mut adv = Advertiser::new(config(), 1, secs(0));
        if started {
            adv.set_content(secs(0), AdvertContent { prefixes: vec![live("2001:db8::/64")], default_router: true, ..Default::default() });
            adv.start(secs(0));
        }
        let rx = Received { ifindex: IFINDEX, src: Ipv6Addr::from(src), dst: addr("ff02::2"), hop_limit: hop, bytes: &bytes };
        adv.handle_packet(secs(1), &rx);
        adv.handle_timeout(secs(2));
        for (_tx, _ra) in drain(&mut adv) {}
        let s = adv.status();
        prop_assert!(s.dropped.total() + s.rs_received + s.ra_received >= 1);
    }

    #[test]
    fn mutated_rs_never_panics(flip in proptest::collection::vec((0usize..16, any::<u8>()), 1..6)) {
        let mut bytes = NdMessage::RouterSolicit(RouterSolicit::new(Some(&MAC))).to_bytes();
        for (i, b) in flip {
            if let Some(x) = bytes.get_mut(i) {
                *x = b;
            }
        }
        let mut adv = started(AdvertContent::default(), secs(0));
        adv.handle_packet(secs(1), &rx(addr("fe80::1"), 255, &bytes));
        run_until(&mut adv, secs(10));
    }
}

#[derive(Debug, Clone)]
enum Op {
    Wait(u32),
    Rs {
        host: u8,
        slla: bool,
        hop: u8,
    },
    Content {
        n_live: u8,
        valid_secs: Option<u16>,
        dep_secs: Option<u16>,
        default_router: bool,
    },
    Stop,
    Start,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u32..400_000_000).prop_map(Op::Wait),
        4 => (any::<u8>(), any::<bool>(), prop_oneof![9 => Just(255u8), 1 => any::<u8>()])
            .prop_map(|(host, slla, hop)| Op::Rs { host, slla, hop }),
        2 => (0u8..4, proptest::option::of(any::<u16>()), proptest::option::of(any::<u16>()), any::<bool>())
            .prop_map(|(n_live, valid_secs, dep_secs, default_router)| Op::Content { n_live, valid_secs, dep_secs, default_router }),
        1 => Just(Op::Stop),
        1 => Just(Op::Start),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn invariants_hold_under_random_operation(seed in any::<u64>(), ops in proptest::collection::vec(op(), 1..60)) {
        let mut adv = Advertiser::new(config(), seed, secs(0));
        let mut now = secs(0);
        // valid_until per advertised prefix, to check L-15.
        let mut limits: Vec<(Ipv6Addr, Option<Instant>)> = Vec::new();
        let mut last_multicast: Option<Instant> = None;
        let mut stopped = true;
        for op in ops {
            let mut sent = Vec::new();
            match op {
                Op::Wait(us) => {
                    let until = now + Duration::from_micros(u64::from(us));
                    for (t, tx, ra) in run_until(&mut adv, until) {
                        sent.push((t, tx, ra));
                    }
                    now = until;
                    adv.handle_timeout(now);
                }
                Op::Rs { host, slla, hop } => {
                    let src = if host == 0 { Ipv6Addr::UNSPECIFIED } else { Ipv6Addr::from(0xfe80u128 << 112 | u128::from(host)) };
                    let lla = [2, 0, 0, 0, 0, host];
                    let bytes = NdMessage::RouterSolicit(RouterSolicit::new(slla.then_some(&lla[..]))).to_bytes();
                    adv.handle_packet(now, &rx(src, hop, &bytes));
                }
                Op::Content { n_live, valid_secs, dep_secs, default_router } => {
                    let valid_until = valid_secs.map(|s| now + Duration::from_secs(u64::from(s)));
                    let prefixes: Vec<AdvPrefix> = (0..n_live)
                        .map(|i| AdvPrefix { valid_until, preferred_until: valid_until, ..live(&format!("2001:db8:0:{i}::/64")) })
                        .collect();
                    let deprecated: Vec<DeprecatedPrefix> = dep_secs
                        .map(|s| DeprecatedPrefix { prefix: prefix("2001:db8:ff::/64"), valid_until: now + Duration::from_secs(u64::from(s)) })
                        .into_iter()
                        .collect();
                    limits = prefixes.iter().map(|p| (p.prefix.addr(), p.valid_until))
                        .chain(deprecated.iter().map(|d| (d.prefix.addr(), Some(d.valid_until))))
                        .collect();
                    adv.set_content(now, AdvertContent { prefixes, deprecated, default_router, ..Default::default() });
                }
                Op::Stop => { adv.stop(now); }
                Op::Start => { adv.start(now); stopped = false; }
            }
            if matches!(op, Op::Stop) {
                let fin = drain(&mut adv);
                prop_assert_eq!(fin.len(), usize::from(!stopped), "one final RA (RFC 4861 §6.2.5)");
                for (_, ra) in &fin {
                    prop_assert_eq!(ra.router_lifetime, 0);
                }
                if !fin.is_empty() {
                    last_multicast = Some(now);
                }
                stopped = true;
                prop_assert_eq!(adv.poll_timeout(), None);
                continue;
            }
            let queued_at = adv.status().last_sent_at.unwrap_or(now);
            for (tx, ra) in drain(&mut adv) {
                sent.push((queued_at, tx, ra));
            }
            let mut groups: Vec<Instant> = Vec::new();
            for (t, tx, ra) in &sent {
                prop_assert!(!stopped, "silent when not advertising");
                if is_multicast(tx) && groups.last() != Some(t) {
                    if let Some(last) = last_multicast {
                        // RFC 4861 §6.2.6: at least MIN_DELAY_BETWEEN_RAS apart
                        // (the first after a restart may follow the final RA).
                        prop_assert!(*t - last >= Duration::from_secs(3), "multicast {:?} after {:?}", t, last);
                    }
                    last_multicast = Some(*t);
                    groups.push(*t);
                }
                // Unicast RAs only to link-local addresses: hosts discard an
                // RA from a non-link-local source (RFC 4861 §6.1.2).
                prop_assert!(is_multicast(tx) || tx.dst.segments()[0] & 0xffc0 == 0xfe80, "unicast to {}", tx.dst);
                for pio in ra.options.prefixes() {
                    let until = limits.iter().find(|l| l.0 == pio.prefix).map(|l| l.1);
                    prop_assert!(until.is_some(), "unknown prefix advertised");
                    prop_assert!(pio.valid <= Lifetime::Finite(5400) && pio.preferred <= pio.valid);
                    prop_assert!(!pio.valid.is_zero());
                    if let Some(Some(until)) = until {
                        prop_assert!(u64::from(pio.valid.to_wire()) <= (until - *t).as_secs(), "L-15");
                    }
                }
                if ra.router_lifetime != 0 {
                    prop_assert!(ra.options.prefixes().any(|p| !p.preferred.is_zero() || !p.valid.is_zero()));
                }
            }
        }
    }
}
