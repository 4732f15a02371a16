//! The RIPng machine rule by rule (RFC 2080), at explicit instants.

mod common;

use std::time::Duration;

use common::*;
use v6edge_core::{Instant, Owner, Received, RouteType, Transport};
use v6edge_ripng::{
    DropReason, InterfaceConfig, OriginatedRoute, RouteState, RteIgnored, SplitHorizon,
};
use v6edge_wire::ripng::{Command, RipngMessage, Rte};

#[test]
fn rfc2080_2_4_2_new_route_gets_the_cost_and_goes_to_the_kernel() {
    let t0 = secs(10);
    let mut r = router(t0);
    let out = hear(&mut r, t0, ETH0, B, vec![route("2001:db8:1::/48", 1)]);
    let set = out.set_routes();
    assert_eq!(set.len(), 1);
    assert_eq!(set[0].owner, Owner::Ripng);
    assert_eq!(set[0].dst, pfx("2001:db8:1::/48"));
    assert_eq!(set[0].gateway, Some(B));
    assert_eq!(set[0].ifindex, Some(ETH0));
    assert_eq!(set[0].kind, RouteType::Unicast);
    let st = r.status(t0);
    assert_eq!(st.routes.len(), 1);
    assert_eq!(st.routes[0].metric, 2, "metric 1 + cost 1");
    assert_eq!(st.routes[0].expires, Some(after(t0, 180)));
    // §2.5.1: the triggered update: metric 2 on eth1, poisoned on eth0.
    assert_eq!(out.routes_on(ETH1), [(pfx("2001:db8:1::/48"), 2)]);
    assert_eq!(out.routes_on(ETH0), [(pfx("2001:db8:1::/48"), 16)]);
}

#[test]
fn rfc2080_2_4_2_interface_cost_is_added_and_capped_at_16() {
    let t0 = secs(0);
    let mut c = config();
    c.interfaces[0].cost = 5;
    let mut r = router_with(c, t0);
    let out = hear(
        &mut r,
        t0,
        ETH0,
        B,
        vec![route("2001:db8:1::/48", 3), route("2001:db8:2::/48", 12)],
    );
    assert_eq!(out.set_routes().len(), 1, "12 + 5 is unreachable");
    let st = r.status(t0);
    assert_eq!(st.routes.len(), 1);
    assert_eq!(st.routes[0].metric, 8);
}

#[test]
fn rfc2080_2_3_timeout_then_garbage_collection() {
    let t0 = secs(0);
    let mut r = router(t0);
    hear(&mut r, t0, ETH0, B, vec![route("2001:db8:1::/48", 1)]);
    // A refresh at 100 s moves the timeout to 280 s.
    hear(
        &mut r,
        secs(100),
        ETH0,
        B,
        vec![route("2001:db8:1::/48", 1)],
    );
    let out = run_until(&mut r, secs(279));
    assert!(out.kernel.is_empty(), "{:?}", out.kernel);
    assert_eq!(r.status(secs(279)).routes[0].state, RouteState::Active);
    let out = run_until(&mut r, secs(280));
    assert_eq!(out.del_routes().len(), 1);
    assert_eq!(out.del_routes()[0].dst, pfx("2001:db8:1::/48"));
    let st = r.status(secs(280));
    assert_eq!(st.routes[0].metric, 16);
    assert_eq!(st.routes[0].state, RouteState::GarbageCollection);
    assert_eq!(st.routes[0].expires, Some(secs(400)));
    // Announced unreachable (triggered) on the other link.
    assert_eq!(out.routes_on(ETH1), [(pfx("2001:db8:1::/48"), 16)]);
    // Still advertised with 16 during collection, then gone.
    let out = run_until(&mut r, secs(399));
    assert!(out.routes_on(ETH1).iter().all(|&(_, m)| m == 16));
    assert_eq!(r.status(secs(399)).routes.len(), 1);
    run_until(&mut r, secs(400));
    assert!(r.status(secs(400)).routes.is_empty());
}

#[test]
fn rfc2080_2_3_timers_are_configurable() {
    let mut c = config();
    c.timers.timeout = Duration::from_secs(6);
    c.timers.garbage_collection = Duration::from_secs(4);
    let mut r = router_with(c, secs(0));
    hear(&mut r, secs(0), ETH0, B, vec![route("2001:db8:1::/48", 1)]);
    assert_eq!(run_until(&mut r, secs(6)).del_routes().len(), 1);
    run_until(&mut r, secs(10));
    assert!(r.status(secs(10)).routes.is_empty());
}

#[test]
fn rfc2080_2_4_2_equal_cost_keeps_the_existing_route_better_replaces() {
    let t0 = secs(0);
    let mut r = router(t0);
    hear(&mut r, t0, ETH0, B, vec![route("2001:db8:1::/48", 3)]);
    let out = hear(&mut r, secs(1), ETH1, C, vec![route("2001:db8:1::/48", 3)]);
    assert!(out.kernel.is_empty());
    assert_eq!(r.status(secs(1)).routes[0].next_hop, Some(B));
    let out = hear(&mut r, secs(2), ETH1, C, vec![route("2001:db8:1::/48", 2)]);
    let set = out.set_routes();
    assert_eq!(set.len(), 1);
    assert_eq!((set[0].gateway, set[0].ifindex), (Some(C), Some(ETH1)));
    let st = r.status(secs(2));
    assert_eq!(st.routes[0].metric, 3);
    assert_eq!(st.routes[0].expires, Some(after(secs(2), 180)));
    // The old gateway's news no longer matter unless better.
    let out = hear(&mut r, secs(3), ETH0, B, vec![route("2001:db8:1::/48", 16)]);
    assert!(out.kernel.is_empty());
    assert_eq!(r.status(secs(3)).routes[0].next_hop, Some(C));
}

#[test]
fn rfc2080_2_4_2_the_current_gateway_is_always_believed() {
    let t0 = secs(0);
    let mut r = router(t0);
    hear(&mut r, t0, ETH0, B, vec![route("2001:db8:1::/48", 1)]);
    // Worse metric from the same gateway: taken, no kernel change.
    let out = hear(&mut r, secs(5), ETH0, B, vec![route("2001:db8:1::/48", 4)]);
    assert!(out.kernel.is_empty());
    assert_eq!(r.status(secs(5)).routes[0].metric, 5);
    // Metric 16 from it: deletion starts at once.
    let out = hear(&mut r, secs(9), ETH0, B, vec![route("2001:db8:1::/48", 16)]);
    assert_eq!(out.del_routes().len(), 1);
    let st = r.status(secs(9));
    assert_eq!(st.routes[0].state, RouteState::GarbageCollection);
    assert_eq!(st.routes[0].expires, Some(after(secs(9), 120)));
    // Any usable route during collection brings it back.
    let out = hear(&mut r, secs(20), ETH1, C, vec![route("2001:db8:1::/48", 7)]);
    assert_eq!(out.set_routes()[0].gateway, Some(C));
    assert_eq!(r.status(secs(20)).routes[0].state, RouteState::Active);
}

fn send(
    r: &mut v6edge_ripng::Ripng,
    src: std::net::Ipv6Addr,
    hop_limit: u8,
    port: u16,
    ifindex: u32,
    bytes: &[u8],
) -> Out {
    r.handle_packet(
        secs(1),
        &Received {
            ifindex,
            src,
            dst: ip("ff02::9"),
            hop_limit,
            bytes,
        },
        port,
    );
    drain(r)
}

#[test]
fn rfc2080_2_4_2_responses_believed_only_from_link_local_port_521_hop_limit_255() {
    let mut r = router(secs(0));
    let good = response(vec![route("2001:db8:1::/48", 1)]);
    let mut v2 = good.clone();
    v2[1] = 2;
    let mut cmd = good.clone();
    cmd[0] = 9;
    // (source, hop limit, source port, interface, bytes, reason)
    type Case<'a> = (std::net::Ipv6Addr, u8, u16, u32, &'a [u8], DropReason);
    let cases: [Case<'_>; 8] = [
        (
            ip("2001:db8::b"),
            255,
            521,
            ETH0,
            &good,
            DropReason::ResponseNotLinkLocal,
        ),
        (B, 254, 521, ETH0, &good, DropReason::ResponseHopLimit),
        (
            B,
            255,
            5000,
            ETH0,
            &good,
            DropReason::ResponseNotFromRipngPort,
        ),
        (B, 255, 521, 99, &good, DropReason::UnknownInterface),
        (OURS1, 255, 521, ETH0, &good, DropReason::FromSelf),
        (B, 255, 521, ETH0, &good[..10], DropReason::Malformed),
        (B, 255, 521, ETH0, &v2, DropReason::BadVersion),
        (B, 255, 521, ETH0, &cmd, DropReason::UnknownCommand),
    ];
    for (src, hop, port, ifindex, bytes, reason) in cases {
        let out = send(&mut r, src, hop, port, ifindex, bytes);
        assert!(
            out.kernel.is_empty() && out.transmits.is_empty(),
            "{reason:?}"
        );
        assert_eq!(r.counters().dropped.get(&reason), Some(&1), "{reason:?}");
    }
    assert!(r.status(secs(1)).routes.is_empty());
    assert_eq!(r.counters().responses_in, 0);
    let out = send(&mut r, B, 255, 521, ETH0, &good);
    assert_eq!(out.set_routes().len(), 1);
}

#[test]
fn rfc2080_2_4_2_invalid_rtes_are_ignored_one_by_one() {
    let mut r = router(secs(0));
    let p = ip("2001:db8:5::");
    let out = hear(
        &mut r,
        secs(0),
        ETH0,
        B,
        vec![
            Rte::route(ip("2001:db8:1::1"), 48, 0, 1), // host bits
            route("ff05::/16", 1),
            route("fe80::/64", 1),
            Rte::route(ip("::1"), 128, 0, 1),
            Rte::route(p, 64, 0, 0),
            Rte::route(p, 64, 0, 17),
            Rte::route(p, 129, 0, 1),
            route("::/0", 1), // the default route is fine
            route("2001:db8:9::/48", 2),
        ],
    );
    let ignored = &r.counters().rtes_ignored;
    assert_eq!(ignored.get(&RteIgnored::HostBitsSet), Some(&1));
    assert_eq!(ignored.get(&RteIgnored::NotUnicastPrefix), Some(&3));
    assert_eq!(ignored.get(&RteIgnored::BadMetric), Some(&2));
    assert_eq!(ignored.get(&RteIgnored::BadPrefixLength), Some(&1));
    let dsts: Vec<_> = out.set_routes().iter().map(|s| s.dst).collect();
    assert_eq!(dsts, [pfx("::/0"), pfx("2001:db8:9::/48")]);
    assert_eq!(r.status(secs(0)).neighbours[0].bad_rtes, 7);
}

#[test]
fn rfc2080_2_1_1_next_hop_rtes_choose_the_gateway() {
    let mut r = router(secs(0));
    let out = hear(
        &mut r,
        secs(0),
        ETH0,
        B,
        vec![
            route("2001:db8:1::/48", 1),
            Rte::next_hop(C),
            route("2001:db8:2::/48", 1),
            Rte::next_hop(ip("::")),
            route("2001:db8:3::/48", 1),
            Rte::next_hop(ip("2001:db8::c")),
            route("2001:db8:4::/48", 1),
        ],
    );
    let gws: Vec<_> = out
        .set_routes()
        .iter()
        .map(|s| (s.dst, s.gateway))
        .collect();
    assert_eq!(
        gws,
        [
            (pfx("2001:db8:1::/48"), Some(B)),
            (pfx("2001:db8:2::/48"), Some(C)),
            (pfx("2001:db8:3::/48"), Some(B)),
            (pfx("2001:db8:4::/48"), Some(B)),
        ]
    );
    assert_eq!(
        r.counters()
            .rtes_ignored
            .get(&RteIgnored::NextHopNotLinkLocal),
        Some(&1)
    );
}

fn request(
    r: &mut v6edge_ripng::Ripng,
    src: std::net::Ipv6Addr,
    port: u16,
    m: RipngMessage,
) -> Out {
    let bytes = m.to_bytes();
    r.handle_packet(
        secs(2),
        &Received {
            ifindex: ETH0,
            src,
            dst: OURS0,
            hop_limit: 64,
            bytes: &bytes,
        },
        port,
    );
    drain(r)
}

#[test]
fn rfc2080_2_4_1_whole_table_request_answered_with_split_horizon() {
    let mut r = router(secs(0));
    hear(&mut r, secs(0), ETH0, B, vec![route("2001:db8:1::/48", 1)]);
    hear(&mut r, secs(0), ETH1, C, vec![route("2001:db8:2::/48", 1)]);
    let mut out = request(&mut r, C, 521, RipngMessage::whole_table_request());
    // (A held triggered update may leave at the same time.)
    out.transmits.retain(|t| t.dst == C);
    assert_eq!(out.transmits.len(), 1);
    let t = &out.transmits[0];
    assert_eq!((t.ifindex, t.src), (ETH0, Some(OURS0)));
    assert_eq!(
        t.transport,
        Transport::Udp {
            src_port: 521,
            dst_port: 521
        }
    );
    assert_eq!(t.hop_limit, Some(255));
    assert_eq!(
        out.routes_on(ETH0),
        [(pfx("2001:db8:1::/48"), 16), (pfx("2001:db8:2::/48"), 2)]
    );
    assert_eq!(r.counters().requests_in, 1);
}

#[test]
fn rfc2080_2_4_1_specific_request_gets_metrics_or_16_without_split_horizon() {
    let mut r = router(secs(0));
    hear(
        &mut r,
        secs(0),
        ETH0,
        B,
        vec![Rte::route(ip("2001:db8:1::"), 48, 77, 1)],
    );
    let ask = RipngMessage::new(
        Command::Request,
        vec![route("2001:db8:1::/48", 0), route("2001:db8:7::/48", 0)],
    );
    let out = request(&mut r, ip("2001:db8:ffff::9"), 40000, ask);
    assert_eq!(out.transmits.len(), 1);
    let t = &out.transmits[0];
    // Off-link monitoring station, its own port; the kernel picks the
    // source and hop limit.
    assert_eq!(
        (t.dst, t.src, t.hop_limit),
        (ip("2001:db8:ffff::9"), None, None)
    );
    assert_eq!(
        t.transport,
        Transport::Udp {
            src_port: 521,
            dst_port: 40000
        }
    );
    assert_eq!(
        decode(t).entries(),
        [
            Rte::route(ip("2001:db8:1::"), 48, 77, 2),
            Rte::route(ip("2001:db8:7::"), 48, 0, 16)
        ]
    );
}

#[test]
fn rfc2080_2_1_unicast_replies_off_link_fit_1280() {
    let mut r = router(secs(0));
    let routes: Vec<OriginatedRoute> = (0..150u16)
        .map(|i| OriginatedRoute {
            prefix: pfx(&format!("2001:db8:{i:x}::/48")),
            tag: 0,
            metric: 1,
        })
        .collect();
    r.set_originated(secs(0), &routes);
    drain(&mut r);
    let out = request(
        &mut r,
        ip("2001:db8:ffff::9"),
        521,
        RipngMessage::whole_table_request(),
    );
    assert!(out.transmits.iter().all(|t| t.payload.len() + 48 <= 1280));
    assert_eq!(out.transmits.len(), 3, "61 + 61 + 28");
    // On the link, the interface MTU (1500: 72 per packet).
    let out = request(&mut r, C, 521, RipngMessage::whole_table_request());
    assert_eq!(out.transmits.len(), 3, "72 + 72 + 6");
    assert!(out.transmits.iter().any(|t| t.payload.len() + 48 > 1280));
    assert!(out.transmits.iter().all(|t| t.payload.len() + 48 <= 1500));
}

#[test]
fn rfc2080_2_4_1_interfaces_ask_for_tables_when_they_come_up() {
    let mut c = config();
    c.interfaces[1].passive = true;
    let mut r = v6edge_ripng::Ripng::new(c, 1, secs(0));
    r.handle_interface_up(secs(0), ETH0, OURS0, 1500);
    r.handle_interface_up(secs(0), ETH1, OURS1, 1500);
    let out = drain(&mut r);
    assert_eq!(out.transmits.len(), 1, "the passive interface asks nothing");
    let t = &out.transmits[0];
    assert_eq!(
        (t.ifindex, t.dst, t.hop_limit),
        (ETH0, ip("ff02::9"), Some(255))
    );
    assert!(
        RipngMessage::parse(&t.payload)
            .unwrap()
            .is_whole_table_request()
    );
}

#[test]
fn rfc2080_2_3_regular_updates_every_30_s_jittered() {
    let mut r = router(secs(0));
    r.set_originated(
        secs(0),
        &[OriginatedRoute {
            prefix: pfx("2001:db8:a::/48"),
            tag: 0,
            metric: 1,
        }],
    );
    drain(&mut r);
    let mut last = secs(0);
    let mut gaps = Vec::new();
    for _ in 0..20 {
        let at = r.poll_timeout().unwrap();
        r.handle_timeout(at);
        let out = drain(&mut r);
        assert_eq!(out.transmits.len(), 2, "one per interface");
        for t in &out.transmits {
            assert_eq!((t.dst, t.hop_limit), (ip("ff02::9"), Some(255)));
            assert_eq!(t.src, Some(if t.ifindex == ETH0 { OURS0 } else { OURS1 }));
        }
        assert_eq!(out.routes_on(ETH0), [(pfx("2001:db8:a::/48"), 1)]);
        gaps.push(at.saturating_duration_since(last).as_secs_f64());
        last = at;
    }
    assert!(gaps.iter().all(|g| (15.0..=45.0).contains(g)), "{gaps:?}");
    let first = gaps[0];
    assert!(
        gaps.iter().any(|g| (g - first).abs() > 1.0),
        "jittered: {gaps:?}"
    );
    // Idempotent: a spurious timeout sends nothing.
    r.handle_timeout(last);
    assert!(drain(&mut r).transmits.is_empty());
}

#[test]
fn rfc2080_2_5_1_triggered_updates_are_rate_limited_and_batched() {
    let mut c = config();
    c.timers.update = Duration::from_secs(3600); // keep regular updates away
    c.timers.update_jitter = Duration::ZERO;
    let mut r = router_with(c, secs(0));
    let t = secs(100);
    let out = hear(&mut r, t, ETH0, B, vec![route("2001:db8:1::/48", 1)]);
    assert_eq!(
        out.routes_on(ETH1),
        [(pfx("2001:db8:1::/48"), 2)],
        "the first goes at once"
    );
    // Two more changes inside the hold-down: nothing yet.
    let out = hear(
        &mut r,
        ms(100_300),
        ETH0,
        B,
        vec![route("2001:db8:2::/48", 1)],
    );
    assert!(out.transmits.is_empty());
    let out = hear(
        &mut r,
        ms(100_600),
        ETH0,
        B,
        vec![route("2001:db8:3::/48", 1)],
    );
    assert!(out.transmits.is_empty());
    let hold = r.poll_timeout().unwrap();
    assert!(hold >= secs(101) && hold <= secs(105), "{hold:?}");
    let out = run_until(&mut r, hold);
    assert_eq!(
        out.transmits.iter().filter(|t| t.ifindex == ETH1).count(),
        1
    );
    assert_eq!(
        out.routes_on(ETH1),
        [(pfx("2001:db8:2::/48"), 2), (pfx("2001:db8:3::/48"), 2)],
        "only the changed routes, together"
    );
    assert_eq!(r.counters().triggered_updates, 2);
}

#[test]
fn rfc2080_2_5_split_horizon_modes() {
    let learned = |mode: SplitHorizon| {
        let mut c = config();
        c.interfaces[0].split_horizon = mode;
        let mut r = router_with(c, secs(0));
        hear(&mut r, secs(0), ETH0, B, vec![route("2001:db8:1::/48", 1)])
    };
    let poisoned = learned(SplitHorizon::PoisonedReverse);
    assert_eq!(poisoned.routes_on(ETH0), [(pfx("2001:db8:1::/48"), 16)]);
    let simple = learned(SplitHorizon::Simple);
    assert!(simple.sent_on(ETH0).is_empty());
    assert_eq!(simple.routes_on(ETH1), [(pfx("2001:db8:1::/48"), 2)]);
    // Off: advertised, behind a next-hop RTE naming the gateway (§2.1.1).
    let off = learned(SplitHorizon::Off);
    assert_eq!(
        off.sent_on(ETH0),
        [Rte::next_hop(B), Rte::route(ip("2001:db8:1::"), 48, 0, 2)]
    );
    assert_eq!(
        off.sent_on(ETH1),
        [Rte::route(ip("2001:db8:1::"), 48, 0, 2)]
    );
}

#[test]
fn rfc2080_2_5_passive_interfaces_listen_and_answer_but_send_no_updates() {
    let mut c = config();
    c.interfaces[1] = InterfaceConfig {
        passive: true,
        ..InterfaceConfig::new(ETH1)
    };
    let mut r = router_with(c, secs(0));
    let out = hear(&mut r, secs(0), ETH1, C, vec![route("2001:db8:1::/48", 1)]);
    assert_eq!(out.set_routes().len(), 1, "it listens");
    assert!(out.sent_on(ETH1).is_empty());
    let out = run_until(&mut r, secs(100));
    assert!(out.transmits.iter().all(|t| t.ifindex == ETH0));
    assert!(!out.transmits.is_empty());
    let bytes = RipngMessage::whole_table_request().to_bytes();
    r.handle_packet(
        secs(100),
        &Received {
            ifindex: ETH1,
            src: C,
            dst: OURS1,
            hop_limit: 255,
            bytes: &bytes,
        },
        521,
    );
    let out = drain(&mut r);
    assert_eq!(out.transmits.len(), 1);
    assert_eq!(out.transmits[0].dst, C);
}

#[test]
fn rfc2080_2_1_route_tags_are_kept_and_re_advertised() {
    let mut r = router(secs(0));
    let out = hear(
        &mut r,
        secs(0),
        ETH0,
        B,
        vec![Rte::route(ip("2001:db8:1::"), 48, 0xbeef, 1)],
    );
    assert_eq!(
        out.sent_on(ETH1),
        [Rte::route(ip("2001:db8:1::"), 48, 0xbeef, 2)]
    );
    assert_eq!(r.status(secs(0)).routes[0].tag, 0xbeef);
    r.set_originated(
        secs(0),
        &[OriginatedRoute {
            prefix: pfx("2001:db8:a::/48"),
            tag: 42,
            metric: 1,
        }],
    );
    let out = run_until(&mut r, secs(60));
    assert!(
        out.sent_on(ETH1)
            .contains(&Rte::route(ip("2001:db8:a::"), 48, 42, 1))
    );
}

#[test]
fn originated_routes_are_advertised_withdrawn_with_16_and_never_learned() {
    let mut r = router(secs(0));
    let own = OriginatedRoute {
        prefix: pfx("2001:db8:a::/48"),
        tag: 0,
        metric: 1,
    };
    r.set_originated(secs(0), &[own]);
    let out = drain(&mut r);
    assert_eq!(out.routes_on(ETH0), [(own.prefix, 1)]);
    assert!(out.kernel.is_empty(), "the daemon already routes its own");
    // A neighbour's route to it is not believed.
    let out = hear(&mut r, secs(1), ETH0, B, vec![route("2001:db8:a::/48", 1)]);
    assert!(out.kernel.is_empty());
    assert_eq!(
        r.counters().rtes_ignored.get(&RteIgnored::OwnPrefix),
        Some(&1)
    );
    // Withdrawn: metric 16 for garbage collection, then gone.
    r.set_originated(secs(10), &[]);
    let out = run_until(&mut r, secs(15));
    assert_eq!(out.routes_on(ETH1), [(own.prefix, 16)]);
    run_until(&mut r, secs(130));
    assert!(r.status(secs(130)).routes.is_empty());
}

#[test]
fn rfc2080_2_4_2_a_link_going_down_withdraws_its_routes() {
    let mut r = router(secs(0));
    hear(&mut r, secs(0), ETH0, B, vec![route("2001:db8:1::/48", 1)]);
    hear(&mut r, secs(0), ETH1, C, vec![route("2001:db8:2::/48", 1)]);
    run_until(&mut r, secs(9));
    r.handle_interface_down(secs(10), ETH0);
    let out = drain(&mut r);
    let dels: Vec<_> = out.del_routes().iter().map(|s| s.dst).collect();
    assert_eq!(dels, [pfx("2001:db8:1::/48")]);
    assert_eq!(out.routes_on(ETH1), [(pfx("2001:db8:1::/48"), 16)]);
    assert!(
        out.sent_on(ETH0).is_empty(),
        "nothing leaves a link that is down"
    );
    let st = r.status(secs(10));
    assert_eq!(st.routes[1].state, RouteState::Active);
    // Packets on the down link are dropped.
    let out = hear(&mut r, secs(16), ETH0, B, vec![route("2001:db8:1::/48", 1)]);
    assert!(out.kernel.is_empty());
    assert_eq!(
        r.counters().dropped.get(&DropReason::UnknownInterface),
        Some(&1)
    );
}

#[test]
fn status_lists_neighbours_routes_and_the_next_update() {
    let mut r = router(secs(0));
    hear(&mut r, secs(3), ETH0, B, vec![route("2001:db8:1::/48", 1)]);
    let st = r.status(secs(4));
    assert_eq!(st.now, secs(4));
    assert_eq!(st.neighbours.len(), 1);
    assert_eq!((st.neighbours[0].addr, st.neighbours[0].ifindex), (B, ETH0));
    assert_eq!(st.neighbours[0].last_heard, secs(3));
    assert_eq!(st.routes[0].last_heard, secs(3));
    assert_eq!(st.counters.responses_in, 1);
    assert_eq!(st.neighbours[0].bad_packets, 0);
    let bytes = response(vec![route("2001:db8:1::/48", 1)]);
    let rx = Received {
        ifindex: ETH0,
        src: B,
        dst: ip("ff02::9"),
        hop_limit: 1,
        bytes: &bytes,
    };
    r.handle_packet(secs(4), &rx, 521);
    assert_eq!(r.status(secs(4)).neighbours[0].bad_packets, 1);
    let next = st.next_regular_update.unwrap();
    assert!(next >= secs(15) && next <= secs(45));
    let _: Instant = next;
}

/// Hostile input: a neighbour announcing more routes than `max_routes`
/// fills the table and the kernel no further; the rest is ignored and
/// counted, updates to known routes still count, and room made by a
/// withdrawal takes a new route again.
#[test]
fn the_table_is_bounded_and_a_flood_beyond_it_is_counted() {
    let t0 = secs(0);
    let mut c = config();
    c.max_routes = 3;
    let mut r = router_with(c, t0);
    let flood: Vec<Rte> = (1..=5)
        .map(|i| route(&format!("2001:db8:{i}::/48"), 1))
        .collect();
    let out = hear(&mut r, t0, ETH0, B, flood);
    assert_eq!(out.set_routes().len(), 3);
    assert_eq!(r.status(t0).routes.len(), 3);
    assert_eq!(
        r.counters().rtes_ignored.get(&RteIgnored::TableFull),
        Some(&2)
    );
    // A known route still changes.
    hear(&mut r, secs(1), ETH0, B, vec![route("2001:db8:1::/48", 4)]);
    let m = |r: &v6edge_ripng::Ripng, p: &str| {
        r.status(secs(1))
            .routes
            .iter()
            .find(|x| x.prefix == pfx(p))
            .map(|x| x.metric)
    };
    assert_eq!(m(&r, "2001:db8:1::/48"), Some(5));
    // Withdrawn and collected: room for another.
    hear(&mut r, secs(2), ETH0, B, vec![route("2001:db8:1::/48", 16)]);
    r.handle_timeout(secs(200));
    drain(&mut r);
    assert_eq!(r.status(secs(200)).routes.len(), 2);
    let out = hear(
        &mut r,
        secs(201),
        ETH0,
        B,
        vec![route("2001:db8:9::/48", 1)],
    );
    assert_eq!(out.set_routes().len(), 1);
}
