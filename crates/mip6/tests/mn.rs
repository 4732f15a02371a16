//! The mobile node against mobility.md §1.7 (MN-1…MN-13) and §1.9
//! (AU-1…AU-3): link facts and real Mobility Header bytes in at explicit
//! instants; round trips against the real `HomeAgent` machine.

mod common;

use common::*;
use std::net::{IpAddr, Ipv6Addr};
use std::time::Duration;
use v6edge_core::{Instant, KernelOp, Owner, RouteTable};
use v6edge_mip6::auth::{MnHaKey, NtpTimestamp, ReplayMode};
use v6edge_mip6::dataplane::BindingOp;
use v6edge_mip6::ha::{HaConfig, HaOutput, HomeAgent, MhReceived};
use v6edge_mip6::mn::{
    BulState, DropReason, LinkEvent, Location, MnConfig, MnOutput, MnReceived, MnSecurity,
    MnTransmit, MnTunnel, MobileNode, Notice, TunnelOp,
};
use v6edge_wire::mh::{BaStatus, MhBody, MhOption, MobilityHeader, fill_checksum};
use v6edge_wire::nd::MobilityIcmp;

const WIFI: u32 = 3;
const LTE: u32 = 4;
const MN_TUN: u32 = 20;

fn router() -> Ipv6Addr {
    ip("fe80::1")
}
fn coa2() -> Ipv6Addr {
    ip("2001:db8:3::7")
}

fn mn_config(home_agent: Option<Ipv6Addr>) -> MnConfig {
    MnConfig::new(
        hoa(),
        "2001:db8:1::/64".parse().unwrap(),
        home_agent,
        vec![WIFI, LTE],
        MN_TUN,
        MnSecurity {
            spi: SPI,
            key: MnHaKey::new(KEY),
            replay: ReplayMode::default(),
        },
    )
}

fn node_with(config: MnConfig) -> MobileNode {
    let mut mn = MobileNode::new(config, 11, Instant::ZERO).expect("valid config");
    mn.set_wall_clock(Instant::ZERO, NtpTimestamp(T0_NTP));
    mn
}

fn node() -> MobileNode {
    node_with(mn_config(Some(ha_addr())))
}

fn mn_drain(mn: &mut MobileNode) -> Vec<MnOutput> {
    std::iter::from_fn(|| mn.poll_output()).collect()
}

fn address(ifindex: u32, addr: Ipv6Addr) -> LinkEvent {
    LinkEvent::Address {
        ifindex,
        addr,
        prefix_len: 64,
        tentative: false,
        temporary: false,
        deprecated: false,
        valid_lifetime: None,
    }
}

/// The node gets `care_of` and a default router on `ifindex`.
fn attach(mn: &mut MobileNode, now: Instant, ifindex: u32, care_of: Ipv6Addr) -> Vec<MnOutput> {
    mn.handle_link(now, address(ifindex, care_of));
    mn.handle_link(
        now,
        LinkEvent::DefaultRouter {
            ifindex,
            router: Some(router()),
        },
    );
    mn_drain(mn)
}

fn bus(out: &[MnOutput]) -> Vec<MnTransmit> {
    out.iter()
        .filter_map(|o| match o {
            MnOutput::Mh(t) => Some(t.clone()),
            _ => None,
        })
        .collect()
}

fn one_bu(out: &[MnOutput]) -> MnTransmit {
    let all = bus(out);
    assert_eq!(all.len(), 1, "one BU in {out:#?}");
    all.into_iter().next().unwrap()
}

fn parsed(t: &MnTransmit) -> (v6edge_wire::mh::BindingUpdate, MobilityHeader) {
    let m = MobilityHeader::parse(&t.payload).expect("our BU parses");
    let MhBody::BindingUpdate(bu) = m.body else {
        panic!("not a BU: {m:?}")
    };
    (bu, m)
}

fn touches_kernel(out: &[MnOutput]) -> bool {
    out.iter()
        .any(|o| matches!(o, MnOutput::Kernel(_) | MnOutput::DataPlane(_)))
}

fn notices(out: &[MnOutput]) -> Vec<Notice> {
    out.iter()
        .filter_map(|o| match o {
            MnOutput::Notice(n) => Some(n.clone()),
            _ => None,
        })
        .collect()
}

fn ha_config() -> HaConfig {
    HaConfig {
        dad_delay: None,
        ..config()
    }
}

/// The home agent's outputs for the MN's BU, its barriers acknowledged.
fn ha_outputs(ha: &mut HomeAgent, now: Instant, t: &MnTransmit) -> Vec<HaOutput> {
    ha.handle_mh(
        now,
        &MhReceived {
            ifindex: OUTSIDE_IF,
            src: t.src,
            dst: t.dst,
            hao: t.hao,
            rh2: None,
            bytes: &t.payload,
        },
    );
    let mut all = Vec::new();
    while let Some(o) = ha.poll_output() {
        if let HaOutput::Barrier(ticket) = o {
            ha.handle_applied(now, ticket, true);
        }
        all.push(o);
    }
    all
}

fn ha_mh(out: &[HaOutput]) -> Vec<v6edge_mip6::ha::MhTransmit> {
    out.iter()
        .filter_map(|o| match o {
            HaOutput::Mh(t) => Some(t.clone()),
            _ => None,
        })
        .collect()
}

/// Feeds the MN's BU to the home agent, carries out its kernel changes
/// (barrier acknowledged) and returns the home agent's MH outputs.
fn to_ha(ha: &mut HomeAgent, now: Instant, t: &MnTransmit) -> Vec<v6edge_mip6::ha::MhTransmit> {
    ha_mh(&ha_outputs(ha, now, t))
}

/// Feeds the home agent's answers to the MN.
fn to_mn(
    mn: &mut MobileNode,
    now: Instant,
    answers: &[v6edge_mip6::ha::MhTransmit],
) -> Vec<MnOutput> {
    for a in answers {
        mn.handle_mh(
            now,
            &MnReceived {
                src: a.src,
                dst: a.dst,
                hao: None,
                rh2: a.rh2,
                bytes: &a.payload,
            },
        );
    }
    mn_drain(mn)
}

/// One exchange: the MN's BU in `out` to the home agent and back.
fn exchange(
    mn: &mut MobileNode,
    ha: &mut HomeAgent,
    now: Instant,
    out: &[MnOutput],
) -> Vec<MnOutput> {
    let bu = one_bu(out);
    let answers = to_ha(ha, now, &bu);
    assert_eq!(answers.len(), 1, "one BA");
    to_mn(mn, now, &answers)
}

fn ha_binding(ha: &HomeAgent, now: Instant) -> Option<Ipv6Addr> {
    ha.status(now).bindings.first().map(|b| b.care_of)
}

// ------------------------------------------------------------ MN-1…3 --

#[test]
fn mn2_care_of_address_skips_unusable_and_takes_the_newest() {
    let mut mn = node();
    let out = attach(&mut mn, Instant::ZERO, WIFI, ip("fe80::5"));
    assert!(bus(&out).is_empty(), "link-local is no care-of address");
    for (addr, tentative, temporary, deprecated) in [
        ("2001:db8:2::9", true, false, false),
        ("2001:db8:2::a", false, true, false),
        ("2001:db8:2::b", false, false, true),
        ("2001:db8:2::", false, false, false), // subnet-router anycast
        ("2001:db8:2:0:fdff:ffff:ffff:fffe", false, false, false), // RFC 2526
    ] {
        mn.handle_link(
            Instant::ZERO,
            LinkEvent::Address {
                ifindex: WIFI,
                addr: ip(addr),
                prefix_len: 64,
                tentative,
                temporary,
                deprecated,
                valid_lifetime: None,
            },
        );
    }
    assert!(bus(&mn_drain(&mut mn)).is_empty());
    assert_eq!(mn.status(Instant::ZERO).location, Location::Detached);
    mn.handle_link(Instant::ZERO, address(WIFI, coa()));
    mn.handle_link(Instant::ZERO, address(WIFI, ip("2001:db8:2::6")));
    let s = mn.status(Instant::ZERO);
    assert_eq!(
        s.care_of,
        Some(coa()),
        "the current one is kept while usable"
    );
    // The tentative address becomes usable: still no change.
    mn.handle_link(Instant::ZERO, address(WIFI, ip("2001:db8:2::9")));
    assert_eq!(mn.status(Instant::ZERO).care_of, Some(coa()));
    mn.handle_link(
        Instant::ZERO,
        LinkEvent::AddressLost {
            ifindex: WIFI,
            addr: coa(),
        },
    );
    assert_eq!(
        mn.status(Instant::ZERO).care_of,
        Some(ip("2001:db8:2::6")),
        "the newest usable (by arrival)"
    );
}

#[test]
fn mn2_interface_order_decides_and_a_router_is_needed() {
    let mut mn = node();
    mn.handle_link(Instant::ZERO, address(LTE, coa2()));
    mn.handle_link(Instant::ZERO, address(WIFI, coa()));
    assert_eq!(
        mn.status(Instant::ZERO).location,
        Location::Detached,
        "no router"
    );
    mn.handle_link(
        Instant::ZERO,
        LinkEvent::DefaultRouter {
            ifindex: LTE,
            router: Some(router()),
        },
    );
    assert_eq!(mn.status(Instant::ZERO).care_of, Some(coa2()));
    mn.handle_link(
        Instant::ZERO,
        LinkEvent::DefaultRouter {
            ifindex: WIFI,
            router: Some(router()),
        },
    );
    assert_eq!(mn.status(Instant::ZERO).care_of, Some(coa()), "WIFI first");
    mn.handle_link(Instant::ZERO, LinkEvent::LinkDown { ifindex: WIFI });
    assert_eq!(mn.status(Instant::ZERO).care_of, Some(coa2()));
    assert_eq!(mn.counters().movements, 3);
}

#[test]
fn mn3_an_address_in_the_home_prefix_means_home() {
    let mut mn = node();
    let out = attach(&mut mn, Instant::ZERO, WIFI, ip("2001:db8:1::77"));
    assert_eq!(
        mn.status(Instant::ZERO).location,
        Location::Home { ifindex: WIFI }
    );
    assert!(bus(&out).is_empty(), "nothing to deregister");
    // MN-3: the home address on the home interface.
    assert!(out.iter().any(|o| matches!(o,
        MnOutput::Kernel(KernelOp::SetAddress(a))
            if a.addr == hoa() && a.ifindex == WIFI && a.owner == Owner::MobileNode)));
}

// ---------------------------------------------------------- MN-4, AU-1 --

#[test]
fn mn4_au1_binding_update_layout() {
    let mut mn = node();
    let out = attach(&mut mn, Instant::ZERO, WIFI, coa());
    assert!(!touches_kernel(&out), "nothing installed before a BA");
    let t = one_bu(&out);
    assert_eq!(
        (t.src, t.dst, t.hao, t.ifindex),
        (coa(), ha_addr(), Some(hoa()), WIFI)
    );
    assert!(v6edge_wire::mh::verify_checksum(
        hoa(),
        ha_addr(),
        &t.payload
    ));
    let (bu, m) = parsed(&t);
    assert!(bu.flags.ack && bu.flags.home_registration);
    assert_eq!(bu.lifetime.as_duration(), Duration::from_secs(3600));
    let kinds: Vec<u8> = m.options.significant().map(|o| o.kind()).collect();
    assert_eq!(
        kinds,
        vec![3, 10, 9],
        "Alt-CoA, Replay Protection, MN-HA auth last"
    );
    assert_eq!(m.options.alternate_care_of(), Some(coa()));
    assert_eq!(m.options.replay_protection(), Some(T0_NTP));
    assert_eq!(m.options.authentication().unwrap().spi, SPI);
    // The independent harness signature over the same octets matches.
    let mut resigned = t.payload.clone();
    sign(&mut resigned, coa(), hoa(), &KEY);
    fill_checksum(hoa(), ha_addr(), &mut resigned);
    assert_eq!(resigned, t.payload);
    assert_eq!(mn.status(Instant::ZERO).sequence, bu.sequence);
}

// ---------------------------------------------------------------- MN-5 --

/// RFC 6275 §11.8: 1.5 s for the first registration, doubling to 32 s,
/// for ever; each retransmission a new sequence number and timestamp.
#[test]
fn mn5_first_registration_retransmission_schedule() {
    let mut mn = node();
    let first = parsed(&one_bu(&attach(&mut mn, Instant::ZERO, WIFI, coa()))).0;
    let expected = [1.5, 4.5, 10.5, 22.5, 46.5, 78.5, 110.5, 142.5];
    let mut last_seq = first.sequence;
    let mut last_replay = T0_NTP;
    for at in expected {
        let due = mn.poll_timeout().expect("a retransmission is scheduled");
        assert_eq!(due, secs(at));
        mn.handle_timeout(Instant::from_micros(due.as_micros() - 1));
        assert!(mn_drain(&mut mn).is_empty(), "nothing early");
        mn.handle_timeout(due);
        let t = one_bu(&mn_drain(&mut mn));
        let (bu, m) = parsed(&t);
        assert_eq!(bu.sequence, last_seq.wrapping_add(1));
        let replay = m.options.replay_protection().unwrap();
        assert!(replay > last_replay);
        last_seq = bu.sequence;
        last_replay = replay;
    }
    let s = mn.status(secs(142.5));
    assert_eq!(
        s.state,
        BulState::WaitAck {
            retransmit_at: secs(174.5),
            backoff: Duration::from_secs(32)
        }
    );
    assert_eq!(s.counters.bu_sent, 9);
    assert_eq!(s.counters.retransmissions, 8);
}

/// The first BA comes after the home agent's 1 s proxy DAD: inside the
/// first registration's 1.5 s.
#[test]
fn mn5_first_timeout_covers_the_home_agents_dad() {
    let mut ha = agent();
    let mut mn = node();
    let bu = one_bu(&attach(&mut mn, Instant::ZERO, WIFI, coa()));
    assert!(
        to_ha(&mut ha, Instant::ZERO, &bu).is_empty(),
        "BA held for DAD"
    );
    ha.handle_timeout(secs(1.0));
    let mut answers = Vec::new();
    while let Some(o) = ha.poll_output() {
        match o {
            HaOutput::Barrier(t) => ha.handle_applied(secs(1.0), t, true),
            HaOutput::Mh(t) => answers.push(t),
            _ => {}
        }
    }
    let out = to_mn(&mut mn, secs(1.0), &answers);
    assert!(
        notices(&out)
            .iter()
            .any(|n| matches!(n, Notice::Registered { .. }))
    );
    assert_eq!(mn.counters().retransmissions, 0);
}

// ------------------------------------------------- MN-6, MN-7, MN-10 --

#[test]
fn mn6_mn7_mn10_round_trip_register_refresh_move_and_return_home() {
    let mut ha = agent_with(ha_config());
    let mut mn = node();
    let t0 = Instant::ZERO;
    let out = attach(&mut mn, t0, WIFI, coa());
    let out = exchange(&mut mn, &mut ha, t0, &out);
    // MN-7: installed, in order, owned by the mobile node.
    let kernel: Vec<&KernelOp> = out
        .iter()
        .filter_map(|o| match o {
            MnOutput::Kernel(k) => Some(k),
            _ => None,
        })
        .collect();
    assert!(matches!(kernel[0], KernelOp::SetAddress(a)
        if a.addr == hoa() && a.prefix_len == 128 && a.ifindex == MN_TUN && a.owner == Owner::MobileNode));
    assert!(kernel.iter().any(|k| matches!(k, KernelOp::SetRule(r)
        if r.from == Some((IpAddr::V6(hoa()), 128)) && r.table == RouteTable(222))));
    assert!(kernel.iter().any(|k| matches!(k, KernelOp::SetRule(r)
        if r.from == Some((IpAddr::V6(coa()), 128)) && r.table == RouteTable(223))));
    assert!(kernel.iter().any(|k| matches!(k, KernelOp::SetRoute(r)
        if r.table == RouteTable(223) && r.gateway == Some(router()) && r.ifindex == Some(WIFI))));
    assert!(
        matches!(kernel.last().unwrap(), KernelOp::SetRoute(r)
        if r.table == RouteTable::MAIN && r.ifindex == Some(MN_TUN) && r.metric == 512),
        "the default through the tunnel comes last"
    );
    assert!(out.contains(&MnOutput::DataPlane(TunnelOp::Up {
        mobile_networks: Vec::new(),
        home_address: hoa(),
        care_of: coa(),
        home_agent: ha_addr(),
        mtu: 1460,
        udp: None,
        ipv4_home: None,
        home_agent_v4: None,
    })));
    assert!(notices(&out).contains(&Notice::Registered {
        care_of: coa(),
        lifetime: Duration::from_secs(3600)
    }));
    assert_eq!(ha_binding(&ha, t0), Some(coa()));
    // Refresh at the home agent's Binding Refresh Advice (80 %: 2880 s).
    let s = mn.status(t0);
    assert_eq!(
        s.state,
        BulState::Bound {
            refresh_at: secs(2880.0),
            expires_at: secs(3600.0)
        }
    );
    assert_eq!(s.remaining, Duration::from_secs(3600));
    let t1 = secs(2880.0);
    mn.handle_timeout(t1);
    let out = mn_drain(&mut mn);
    assert_eq!(
        mn.status(t1).state,
        BulState::WaitAck {
            retransmit_at: secs(2881.0),
            backoff: Duration::from_secs(1)
        },
        "a refresh retransmits after 1 s"
    );
    let out = exchange(&mut mn, &mut ha, t1, &out);
    assert!(!touches_kernel(&out), "a refresh changes nothing installed");
    assert_eq!(mn.status(t1).remaining, Duration::from_secs(3600));
    assert_eq!(
        ha.status(t1).bindings[0].remaining,
        Duration::from_secs(3600)
    );

    // Movement to LTE: the care-of path and the tunnel follow at once,
    // then the BU from the new care-of address.
    let t2 = secs(3000.0);
    mn.handle_link(t2, LinkEvent::LinkDown { ifindex: WIFI });
    let out = attach(&mut mn, t2, LTE, coa2());
    assert!(out.contains(&MnOutput::DataPlane(TunnelOp::Up {
        mobile_networks: Vec::new(),
        home_address: hoa(),
        care_of: coa2(),
        home_agent: ha_addr(),
        mtu: 1460,
        udp: None,
        ipv4_home: None,
        home_agent_v4: None,
    })));
    assert!(
        out.iter()
            .any(|o| matches!(o, MnOutput::Kernel(KernelOp::DelRule(r))
        if r.from == Some((IpAddr::V6(coa()), 128))))
    );
    let t = one_bu(&out);
    assert_eq!(t.src, coa2());
    let out = exchange(&mut mn, &mut ha, t2, &out);
    assert!(notices(&out).contains(&Notice::Registered {
        care_of: coa2(),
        lifetime: Duration::from_secs(3600)
    }));
    assert_eq!(ha_binding(&ha, t2), Some(coa2()));

    // MN-10: home again. The HoA on the home interface, a deregistration
    // from it without HAO, the tunnel state removed after the BA.
    let t3 = secs(3100.0);
    mn.handle_link(t3, LinkEvent::LinkDown { ifindex: LTE });
    mn.handle_link(
        t3,
        LinkEvent::LinkLayerAddress {
            ifindex: WIFI,
            address: vec![2, 0, 0, 0, 0x0a, 0x77],
        },
    );
    let out = attach(&mut mn, t3, WIFI, ip("2001:db8:1::77"));
    assert!(
        out.iter()
            .any(|o| matches!(o, MnOutput::Kernel(KernelOp::SetAddress(a))
        if a.addr == hoa() && a.ifindex == WIFI))
    );
    assert!(
        !out.iter()
            .any(|o| matches!(o, MnOutput::DataPlane(TunnelOp::Down { .. }))),
        "the tunnel stays until the BA"
    );
    // RFC 6275 §11.5.4: the rule sending the home address into the
    // tunnel goes before the deregistration BU, which leaves on the link.
    let lifted = out
        .iter()
        .position(|o| {
            matches!(o, MnOutput::Kernel(KernelOp::DelRule(r))
            if r.from == Some((IpAddr::V6(hoa()), 128)))
        })
        .expect("the from-HoA rule lifted");
    let bu_at = out
        .iter()
        .position(|o| matches!(o, MnOutput::Mh(_)))
        .expect("a BU");
    assert!(lifted < bu_at);
    let t = one_bu(&out);
    assert_eq!((t.src, t.dst, t.hao), (hoa(), ha_addr(), None));
    let (bu, m) = parsed(&t);
    assert_eq!(bu.lifetime.0, 0);
    assert_eq!(m.options.alternate_care_of(), Some(hoa()));
    assert!(matches!(
        mn.status(t3).state,
        BulState::Deregistering { .. }
    ));
    let out = exchange(&mut mn, &mut ha, t3, &out);
    assert!(ha.status(t3).bindings.is_empty(), "the home agent let go");
    assert!(out.contains(&MnOutput::DataPlane(TunnelOp::Down {
        home_address: hoa()
    })));
    assert!(out.iter().any(
        |o| matches!(o, MnOutput::Kernel(KernelOp::DelAddress { ifindex, addr, .. })
        if *ifindex == MN_TUN && *addr == hoa())
    ));
    assert!(
        out.iter()
            .any(|o| matches!(o, MnOutput::Kernel(KernelOp::DelRoute(r))
        if r.table == RouteTable::MAIN))
    );
    assert!(notices(&out).contains(&Notice::Deregistered { acknowledged: true }));
    assert!(
        !out.iter()
            .any(|o| matches!(o, MnOutput::Kernel(KernelOp::DelRule(r))
            if r.from == Some((IpAddr::V6(hoa()), 128)))),
        "lifted already, not removed twice"
    );
    // MN-10: then an unsolicited NA (override, our link-layer address) for
    // the home address, after the tunnel state is gone.
    let na_at = out
        .iter()
        .position(|o| matches!(o, MnOutput::Icmp6(t) if t.payload.first() == Some(&136)))
        .expect("an unsolicited NA");
    let MnOutput::Icmp6(na) = &out[na_at] else {
        unreachable!()
    };
    assert_eq!(
        (na.ifindex, na.src, na.dst, na.hop_limit),
        (WIFI, Some(hoa()), ip("ff02::1"), Some(255))
    );
    let Ok(v6edge_wire::nd::NdMessage::NeighborAdvert(na)) =
        v6edge_wire::nd::NdMessage::parse(&na.payload)
    else {
        panic!("not an NA")
    };
    assert_eq!(na.target, hoa());
    assert!(na.override_flag && !na.solicited && !na.router);
    assert!(na.options.iter().any(|o| matches!(o,
        v6edge_wire::nd::NdOption::TargetLla(l) if l == &[2, 0, 0, 0, 0x0a, 0x77])));
    assert!(
        out[..na_at]
            .iter()
            .any(|o| matches!(o, MnOutput::DataPlane(TunnelOp::Down { .. })))
    );
    let s = mn.status(t3);
    assert_eq!(s.state, BulState::Idle);
    assert!(!s.installed);
    assert_eq!(mn.poll_timeout(), None);
    assert_eq!(s.counters.ba_received.get(&0), Some(&4));
}

#[test]
fn mn6_admin_deregistration_while_away() {
    let mut ha = agent_with(ha_config());
    let mut mn = node();
    let out = attach(&mut mn, Instant::ZERO, WIFI, coa());
    exchange(&mut mn, &mut ha, Instant::ZERO, &out);
    mn.deregister(secs(5.0));
    let out = mn_drain(&mut mn);
    let t = one_bu(&out);
    assert_eq!((t.src, t.hao), (coa(), Some(hoa())));
    let out = exchange(&mut mn, &mut ha, secs(5.0), &out);
    assert!(notices(&out).contains(&Notice::Deregistered { acknowledged: true }));
    assert!(ha.status(secs(5.0)).bindings.is_empty());
    assert!(!mn.status(secs(5.0)).installed);
    // Stays unregistered through movement until told otherwise.
    let out = attach(&mut mn, secs(6.0), LTE, coa2());
    assert!(bus(&out).is_empty());
    mn.register(secs(7.0));
    assert_eq!(
        one_bu(&mn_drain(&mut mn)).src,
        coa(),
        "WIFI still preferred"
    );
}

/// MN-6, MT-3: 135 → the home agent's sequence number + 1, then accepted.
#[test]
fn mn6_status_135_resynchronises_the_sequence_number() {
    let mut ha = agent_with(ha_config());
    let mut mn = node();
    let out = attach(&mut mn, Instant::ZERO, WIFI, coa());
    let mine = parsed(&one_bu(&out)).0.sequence;
    // Another registration of this home address got far ahead.
    let ahead = mine.wrapping_add(1000);
    let mut other = Bu::new(ahead, 150, Instant::ZERO);
    other.replay = Some(T0_NTP - (1 << 32));
    let answers = to_ha(
        &mut ha,
        Instant::ZERO,
        &MnTransmit {
            ifindex: WIFI,
            src: other.src,
            dst: other.dst,
            hao: other.hao,
            payload: other.bytes(),
        },
    );
    assert_eq!(answers.len(), 1);
    let out = exchange(&mut mn, &mut ha, Instant::ZERO, &out);
    assert!(notices(&out).contains(&Notice::SequenceResynchronised {
        sequence: ahead.wrapping_add(1)
    }));
    assert!(!touches_kernel(&out));
    let t = one_bu(&out);
    assert_eq!(parsed(&t).0.sequence, ahead.wrapping_add(1));
    let out = exchange(&mut mn, &mut ha, Instant::ZERO, &out);
    assert!(
        notices(&out)
            .iter()
            .any(|n| matches!(n, Notice::Registered { .. }))
    );
    assert_eq!(mn.counters().ba_received.get(&135), Some(&1));
}

/// MN-6: a BA for another sequence number, or unsolicited, is dropped.
#[test]
fn mn6_unmatched_and_forged_bas_are_dropped() {
    let mut ha = agent_with(ha_config());
    let mut mn = node();
    let out = attach(&mut mn, Instant::ZERO, WIFI, coa());
    let bu = one_bu(&out);
    let answers = to_ha(&mut ha, Instant::ZERO, &bu);
    // A flipped authenticator octet, checksum fixed: not ours.
    let mut forged = answers[0].clone();
    let at = v6edge_wire::mh::auth::mobility_message_auth_input(coa(), hoa(), &forged.payload)
        .unwrap()
        .unwrap()
        .authenticator
        .end
        - 1;
    forged.payload[at] ^= 1;
    fill_checksum(ha_addr(), hoa(), &mut forged.payload);
    let out = to_mn(&mut mn, Instant::ZERO, &[forged]);
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(mn.counters().dropped.get(&DropReason::AuthFailed), Some(&1));
    // From elsewhere.
    let mut elsewhere = answers[0].clone();
    elsewhere.src = ip("2001:db8:1::99");
    fill_checksum(elsewhere.src, hoa(), &mut elsewhere.payload);
    assert!(to_mn(&mut mn, Instant::ZERO, &[elsewhere]).is_empty());
    assert_eq!(
        mn.counters().dropped.get(&DropReason::NotFromHomeAgent),
        Some(&1)
    );
    // The genuine one, twice: the second is not awaited any more.
    assert!(touches_kernel(&to_mn(&mut mn, Instant::ZERO, &answers)));
    assert!(to_mn(&mut mn, Instant::ZERO, &answers).is_empty());
    assert_eq!(mn.counters().dropped.get(&DropReason::NotAwaited), Some(&1));
}

// ---------------------------------------------------------- AU-2, AU-3 --

/// AU-2: a home agent with another key answers 146 (unsigned): the node
/// stops, reports, installs nothing and sends no more.
#[test]
fn au2_wrong_key_146_stops_with_a_notice() {
    let mut cfg = ha_config();
    cfg.security_associations = vec![sa(SPI, *b"another key 16 o", hoa())];
    let mut ha = agent_with(cfg);
    let mut mn = node();
    let out = attach(&mut mn, Instant::ZERO, WIFI, coa());
    let out = exchange(&mut mn, &mut ha, Instant::ZERO, &out);
    assert!(!touches_kernel(&out));
    assert!(notices(&out).contains(&Notice::Refused { status: 146 }));
    let s = mn.status(Instant::ZERO);
    assert_eq!((s.state, s.stopped), (BulState::Idle, Some(146)));
    assert_eq!(mn.poll_timeout(), None);
    mn.handle_timeout(secs(100.0));
    assert!(mn_drain(&mut mn).is_empty());
    // Movement does not resume it; the admin does.
    assert!(bus(&attach(&mut mn, secs(101.0), LTE, coa2())).is_empty());
    mn.register(secs(102.0));
    assert_eq!(bus(&mn_drain(&mut mn)).len(), 1);
}

/// AU-2: a clock 60 s behind gets 144 with the home agent's time; the
/// node follows it and is accepted.
#[test]
fn au2_status_144_resynchronises_the_timestamp() {
    let mut ha = agent_with(ha_config());
    let mut mn = node();
    mn.set_wall_clock(Instant::ZERO, NtpTimestamp(T0_NTP - (60 << 32)));
    let out = attach(&mut mn, Instant::ZERO, WIFI, coa());
    let out = exchange(&mut mn, &mut ha, Instant::ZERO, &out);
    assert!(notices(&out).contains(&Notice::ClockResynchronised));
    let replay = parsed(&one_bu(&out)).1.options.replay_protection().unwrap();
    assert!(NtpTimestamp(replay).distance(NtpTimestamp(T0_NTP)) < Duration::from_secs(2));
    let out = exchange(&mut mn, &mut ha, Instant::ZERO, &out);
    assert!(
        notices(&out)
            .iter()
            .any(|n| matches!(n, Notice::Registered { .. }))
    );
    assert_eq!(mn.counters().ba_received.get(&144), Some(&1));
}

#[test]
fn au_no_wall_clock_no_binding_update() {
    let mut mn = MobileNode::new(mn_config(Some(ha_addr())), 1, Instant::ZERO).unwrap();
    let out = attach(&mut mn, Instant::ZERO, WIFI, coa());
    assert!(bus(&out).is_empty());
    assert!(notices(&out).contains(&Notice::NoWallClock));
}

#[test]
fn au3_reserved_spi_is_refused() {
    let mut cfg = mn_config(None);
    cfg.security.spi = 255;
    assert!(MobileNode::new(cfg, 1, Instant::ZERO).is_err());
}

// ---------------------------------------------------------------- MN-8 --

#[test]
fn mn8_dhaad_finds_the_home_agent_then_registers() {
    let mut ha = agent_with(ha_config());
    let mut mn = node_with(mn_config(None));
    let out = attach(&mut mn, Instant::ZERO, WIFI, coa());
    assert!(bus(&out).is_empty());
    let [MnOutput::Icmp6(req)] = &out[1..] else {
        panic!("{out:#?}")
    };
    assert_eq!(req.src, Some(coa()));
    assert_eq!(req.dst, ip("2001:db8:1:0:fdff:ffff:ffff:fffe"));
    ha.handle_icmp6(
        Instant::ZERO,
        &icmp6(HOME_IF, coa(), req.dst, 64, &req.payload),
    );
    let reply = drain(&mut ha)
        .into_iter()
        .find_map(|o| match o {
            HaOutput::Icmp6(t) => Some(t),
            _ => None,
        })
        .expect("a DHAAD reply");
    mn.handle_icmp6(
        Instant::ZERO,
        &icmp6(WIFI, ha_addr(), reply.dst, 64, &reply.payload),
    );
    let out = mn_drain(&mut mn);
    assert!(notices(&out).contains(&Notice::HomeAgentDiscovered(ha_addr())));
    let out = exchange(&mut mn, &mut ha, Instant::ZERO, &out);
    assert!(
        notices(&out)
            .iter()
            .any(|n| matches!(n, Notice::Registered { .. }))
    );
}

#[test]
fn mn8_dhaad_retries_3_6_12_24_then_gives_up() {
    let mut mn = node_with(mn_config(None));
    attach(&mut mn, Instant::ZERO, WIFI, coa());
    for at in [3.0, 9.0, 21.0] {
        assert_eq!(mn.poll_timeout(), Some(secs(at)));
        mn.handle_timeout(secs(at));
        let out = mn_drain(&mut mn);
        assert!(matches!(&out[..], [MnOutput::Icmp6(_)]), "{out:?}");
    }
    assert_eq!(mn.poll_timeout(), Some(secs(45.0)));
    mn.handle_timeout(secs(45.0));
    assert_eq!(
        mn_drain(&mut mn),
        vec![MnOutput::Notice(Notice::DiscoveryFailed)]
    );
    assert_eq!(mn.counters().dhaad_sent, 4);
    assert_eq!(mn.poll_timeout(), None);
    // A reply with another identifier after that is ignored.
    let reply = MobilityIcmp::HaadReply(v6edge_wire::nd::HaadReply {
        identifier: 1,
        mobile_router: false,
        reserved: 0,
        home_agents: vec![ha_addr()],
    })
    .to_bytes_with_checksum(ha_addr(), coa());
    mn.handle_icmp6(secs(46.0), &icmp6(WIFI, ha_addr(), coa(), 64, &reply));
    assert!(mn_drain(&mut mn).is_empty());
}

// --------------------------------------------------------------- MN-11 --

#[test]
fn mn11_tunnel_input_only_from_the_home_agent_to_the_care_of_address() {
    let op = TunnelOp::Up {
        mobile_networks: Vec::new(),
        home_address: hoa(),
        care_of: coa(),
        home_agent: ha_addr(),
        mtu: 1460,
        udp: None,
        ipv4_home: None,
        home_agent_v4: None,
    };
    let t = MnTunnel::from_op(&op).unwrap();
    let mut inner = vec![0u8; 60];
    inner[0] = 0x60;
    inner[8..24].copy_from_slice(&ip("2001:db8:c::1").octets());
    inner[24..40].copy_from_slice(&hoa().octets());
    assert!(t.inbound(ha_addr(), coa(), &inner));
    assert!(
        !t.inbound(ip("2001:db8:c::1"), coa(), &inner),
        "spoofed outer source"
    );
    assert!(!t.inbound(ha_addr(), coa2(), &inner), "old care-of address");
    let mut other = inner.clone();
    other[24..40].copy_from_slice(&ip("2001:db8:1::201").octets());
    assert!(
        !t.inbound(ha_addr(), coa(), &other),
        "not for our home address"
    );
    assert!(!t.inbound(ha_addr(), coa(), &inner[..39]));
    // Reverse tunnelling: only packets from the home address.
    let mut from_hoa = vec![0u8; 60];
    from_hoa[0] = 0x60;
    from_hoa[8..24].copy_from_slice(&hoa().octets());
    assert_eq!(t.outbound(&from_hoa), Some((coa(), ha_addr())));
    assert_eq!(t.outbound(&inner), None);
    assert!(
        MnTunnel::from_op(&TunnelOp::Down {
            home_address: hoa()
        })
        .is_none()
    );
    let _ = BindingOp::Remove { hoa: hoa() };
}

// --------------------------------------------------------------- MN-13 --

#[test]
fn mn13_parameter_problem_from_a_home_agent_without_mip6() {
    let mut mn = node();
    let out = attach(&mut mn, Instant::ZERO, WIFI, coa());
    let bu = one_bu(&out);
    // ICMPv6 Parameter Problem code 1 quoting our packet's IPv6 header.
    let mut icmp = vec![4u8, 1, 0, 0, 0, 0, 0, 40];
    let mut header = vec![0x60, 0, 0, 0, 0, 0, 60, 64];
    header.extend_from_slice(&bu.src.octets());
    header.extend_from_slice(&bu.dst.octets());
    icmp.extend_from_slice(&header);
    icmp.extend_from_slice(&bu.payload);
    // From someone else: ignored.
    mn.handle_icmp6(
        Instant::ZERO,
        &icmp6(WIFI, ip("2001:db8:9::1"), coa(), 64, &icmp),
    );
    assert!(mn_drain(&mut mn).is_empty());
    mn.handle_icmp6(Instant::ZERO, &icmp6(WIFI, ha_addr(), coa(), 64, &icmp));
    // Held for PARAMETER_PROBLEM_GRACE (the home agent's kernel may say
    // so while its daemon answers): the registration goes on meanwhile.
    assert!(mn_drain(&mut mn).is_empty());
    assert!(matches!(
        mn.status(secs(1.0)).state,
        BulState::WaitAck { .. }
    ));
    let mut out = Vec::new();
    while let Some(t) = mn.poll_timeout().filter(|t| *t <= secs(2.0)) {
        mn.handle_timeout(t);
        out.extend(mn_drain(&mut mn));
    }
    assert!(notices(&out).contains(&Notice::HomeAgentWithoutMip6 {
        home_agent: ha_addr()
    }));
    assert!(!touches_kernel(&out));
    // Reported, not final: the home agent's daemon may be starting; the
    // home registration goes on (MN-5).
    assert!(matches!(
        mn.status(secs(2.0)).state,
        BulState::WaitAck { .. }
    ));
    assert_eq!(mn.status(secs(2.0)).stopped, None);
    assert!(mn.poll_timeout().is_some());
}

/// MN-13: a Parameter Problem followed by an authenticated BA within the
/// grace is the home agent's kernel talking (a userspace home agent on a
/// stock kernel), not the home agent: the binding stands.
#[test]
fn mn13_parameter_problem_then_a_ba_is_ignored() {
    let mut ha = agent_with(ha_config());
    let mut mn = node();
    let out = attach(&mut mn, Instant::ZERO, WIFI, coa());
    let bu = one_bu(&out);
    let mut icmp = vec![4u8, 2, 0, 0, 0, 0, 0, 46];
    let mut header = vec![0x60, 0, 0, 0, 0, 0, 60, 64];
    header.extend_from_slice(&bu.src.octets());
    header.extend_from_slice(&bu.dst.octets());
    icmp.extend_from_slice(&header);
    mn.handle_icmp6(Instant::ZERO, &icmp6(WIFI, ha_addr(), coa(), 64, &icmp));
    let out = exchange(&mut mn, &mut ha, secs(0.5), &out);
    assert!(notices(&out).contains(&Notice::Registered {
        care_of: coa(),
        lifetime: Duration::from_secs(3600)
    }));
    mn.handle_timeout(secs(2.5));
    assert!(notices(&mn_drain(&mut mn)).is_empty());
    assert!(matches!(mn.status(secs(2.5)).state, BulState::Bound { .. }));
    assert_eq!(mn.status(secs(2.5)).stopped, None);
}

/// MT-15 (MN-13): a correspondent without Mobile IPv6 answers a Home Test
/// Init with a Parameter Problem code 1, which comes through the tunnel to
/// the home address. It is not about our Binding Update to the home
/// agent: counted and ignored, the binding and the tunnel stay, past the
/// grace too.
#[test]
fn mt15_parameter_problem_about_a_hoti_leaves_the_binding() {
    let mut ha = agent_with(ha_config());
    let mut mn = node();
    let out = attach(&mut mn, Instant::ZERO, WIFI, coa());
    exchange(&mut mn, &mut ha, secs(0.5), &out);
    assert!(matches!(mn.status(secs(0.5)).state, BulState::Bound { .. }));
    let cn = ip("2001:db8:c::1");
    // The quoted HoTI: from the home address to the correspondent.
    let hoti = [59u8, 1, 1, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8];
    let mut icmp = vec![4u8, 1, 0, 0, 0, 0, 0, 6];
    icmp.extend_from_slice(&[0x60, 0, 0, 0, 0, 16, 135, 64]);
    icmp.extend_from_slice(&hoa().octets());
    icmp.extend_from_slice(&cn.octets());
    icmp.extend_from_slice(&hoti);
    mn.handle_icmp6(secs(1.0), &icmp6(MN_TUN, cn, hoa(), 64, &icmp));
    assert!(mn_drain(&mut mn).is_empty(), "nothing sent, nothing undone");
    assert_eq!(
        mn.counters().dropped.get(&DropReason::Icmp6Ignored),
        Some(&1)
    );
    while let Some(t) = mn.poll_timeout().filter(|t| *t <= secs(10.0)) {
        mn.handle_timeout(t);
        assert!(!touches_kernel(&mn_drain(&mut mn)), "the tunnel stays");
    }
    let status = mn.status(secs(10.0));
    assert!(matches!(status.state, BulState::Bound { .. }));
    assert_eq!(status.stopped, None);
}

#[test]
fn mn13_binding_error_2_from_the_home_agent_stops() {
    let mut mn = node();
    attach(&mut mn, Instant::ZERO, WIFI, coa());
    let be = MobilityHeader::new(v6edge_wire::mh::BindingError {
        status: v6edge_wire::mh::BeStatus::UnrecognizedMhType,
        reserved: 0,
        home_address: hoa(),
    })
    .to_bytes_with_checksum(ha_addr(), coa());
    mn.handle_mh(
        Instant::ZERO,
        &MnReceived {
            src: ha_addr(),
            dst: coa(),
            hao: None,
            rh2: None,
            bytes: &be,
        },
    );
    let out = mn_drain(&mut mn);
    assert!(notices(&out).contains(&Notice::HomeAgentWithoutMip6 {
        home_agent: ha_addr()
    }));
    let _ = MhOption::Pad1;
    let _ = BaStatus::Accepted;
}

/// MN-5: an unanswered refresh retries 1, 2, 4 … s; the binding expiring
/// meanwhile is reported, and retrying goes on (home registrations never
/// expire from the list).
#[test]
fn mn5_unanswered_refresh_reports_expiry_and_keeps_trying() {
    let mut ha = agent_with(HaConfig {
        max_binding_lifetime: Duration::from_secs(40),
        ..ha_config()
    });
    let mut mn = node();
    let out = attach(&mut mn, Instant::ZERO, WIFI, coa());
    exchange(&mut mn, &mut ha, Instant::ZERO, &out);
    assert_eq!(
        mn.status(Instant::ZERO).state,
        BulState::Bound {
            refresh_at: secs(32.0),
            expires_at: secs(40.0)
        },
        "the home agent's 80 % advice"
    );
    let mut sent_at = Vec::new();
    let mut expired_at = None;
    while let Some(due) = mn.poll_timeout() {
        if due > secs(100.0) {
            break;
        }
        mn.handle_timeout(due);
        let out = mn_drain(&mut mn);
        if !bus(&out).is_empty() {
            sent_at.push(due);
        }
        if notices(&out).contains(&Notice::BindingExpired) {
            expired_at = Some(due);
        }
        assert!(!touches_kernel(&out), "state kept for a late BA");
    }
    assert_eq!(
        sent_at,
        [32.0, 33.0, 35.0, 39.0, 47.0, 63.0, 95.0]
            .map(secs)
            .to_vec()
    );
    assert_eq!(expired_at, Some(secs(40.0)));
    assert!(mn.status(secs(100.0)).installed);
}

/// MN-6: a refusal other than 135/144 stops registration with a notice.
#[test]
fn mn6_refusal_129_stops() {
    let mut ha = agent_with(HaConfig {
        default_action: v6edge_mip6::ha::AclAction::Deny,
        ..ha_config()
    });
    let mut mn = node();
    let out = attach(&mut mn, Instant::ZERO, WIFI, coa());
    let out = exchange(&mut mn, &mut ha, Instant::ZERO, &out);
    assert!(notices(&out).contains(&Notice::Refused { status: 129 }));
    assert!(!touches_kernel(&out));
    assert_eq!(mn.poll_timeout(), None);
    assert_eq!(mn.counters().ba_received.get(&129), Some(&1));
}

/// MN-6: 133 to a deregistration means the binding was already gone (the
/// home agent restarted, or our BA was lost): done.
#[test]
fn mn6_status_133_while_deregistering_is_done() {
    let mut ha = agent_with(ha_config());
    let mut mn = node();
    let out = attach(&mut mn, Instant::ZERO, WIFI, coa());
    exchange(&mut mn, &mut ha, Instant::ZERO, &out);
    let mut restarted = agent_with(ha_config());
    mn.handle_link(secs(10.0), LinkEvent::LinkDown { ifindex: WIFI });
    let out = attach(&mut mn, secs(10.0), WIFI, ip("2001:db8:1::77"));
    let out = exchange(&mut mn, &mut restarted, secs(10.0), &out);
    assert_eq!(mn.counters().ba_received.get(&133), Some(&1));
    assert!(notices(&out).contains(&Notice::Deregistered { acknowledged: true }));
    assert!(!mn.status(secs(10.0)).installed);
}

/// MN-10: a deregistration nobody answers ends after 7 BUs; the tunnel
/// state goes anyway.
#[test]
fn mn10_unanswered_deregistration_gives_up_after_7() {
    let mut ha = agent_with(ha_config());
    let mut mn = node();
    let out = attach(&mut mn, Instant::ZERO, WIFI, coa());
    exchange(&mut mn, &mut ha, Instant::ZERO, &out);
    mn.handle_link(secs(10.0), LinkEvent::LinkDown { ifindex: WIFI });
    let out = attach(&mut mn, secs(10.0), WIFI, ip("2001:db8:1::77"));
    let mut sent = bus(&out).len();
    let mut last = Vec::new();
    while let Some(due) = mn.poll_timeout() {
        mn.handle_timeout(due);
        last = mn_drain(&mut mn);
        sent += bus(&last).len();
    }
    assert_eq!(sent, 7);
    assert!(notices(&last).contains(&Notice::Deregistered {
        acknowledged: false
    }));
    assert!(last.contains(&MnOutput::DataPlane(TunnelOp::Down {
        home_address: hoa()
    })));
}

/// RFC 6275 §11.8 MAX_UPDATE_RATE: a flapping link sends at most three
/// BUs a second; the held-back one leaves when the second is over.
#[test]
fn mn5_at_most_three_binding_updates_a_second() {
    let mut mn = node();
    let mut sent = bus(&attach(&mut mn, Instant::ZERO, WIFI, coa())).len();
    for i in 1..=5u64 {
        let at = Instant::from_micros(i * 100_000);
        let addr = if i % 2 == 1 { coa2() } else { coa() };
        mn.handle_link(at, LinkEvent::LinkDown { ifindex: WIFI });
        sent += bus(&attach(&mut mn, at, WIFI, addr)).len();
    }
    assert_eq!(sent, 3, "the fourth to sixth are held back");
    assert_eq!(mn.poll_timeout(), Some(secs(1.0)));
    mn.handle_timeout(secs(1.0));
    let t = one_bu(&mn_drain(&mut mn));
    assert_eq!(t.src, coa2(), "the latest care-of address");
    assert_eq!(mn.counters().retransmissions, 0, "not a retransmission");
    assert_eq!(
        mn.status(secs(1.0)).state,
        BulState::WaitAck {
            retransmit_at: secs(2.5),
            backoff: Duration::from_millis(1500)
        }
    );
}

/// MN-4: no longer than the care-of address stays valid.
#[test]
fn mn4_lifetime_bounded_by_the_care_of_address() {
    let mut mn = node();
    mn.handle_link(
        Instant::ZERO,
        LinkEvent::Address {
            ifindex: WIFI,
            addr: coa(),
            prefix_len: 64,
            tentative: false,
            temporary: false,
            deprecated: false,
            valid_lifetime: Some(Duration::from_secs(600)),
        },
    );
    mn.handle_link(
        secs(100.0),
        LinkEvent::DefaultRouter {
            ifindex: WIFI,
            router: Some(router()),
        },
    );
    let (bu, _) = parsed(&one_bu(&mn_drain(&mut mn)));
    assert_eq!(bu.lifetime.as_duration(), Duration::from_secs(500));
}

/// MN-13: Binding Error 1 from the home agent → register again at once.
#[test]
fn mn13_binding_error_1_re_registers() {
    let mut ha = agent_with(ha_config());
    let mut mn = node();
    let out = attach(&mut mn, Instant::ZERO, WIFI, coa());
    exchange(&mut mn, &mut ha, Instant::ZERO, &out);
    let be = MobilityHeader::new(v6edge_wire::mh::BindingError {
        status: v6edge_wire::mh::BeStatus::UnknownBindingForHomeAddress,
        reserved: 0,
        home_address: hoa(),
    })
    .to_bytes_with_checksum(ha_addr(), coa());
    mn.handle_mh(
        secs(10.0),
        &MnReceived {
            src: ha_addr(),
            dst: coa(),
            hao: None,
            rh2: None,
            bytes: &be,
        },
    );
    let out = mn_drain(&mut mn);
    let out = exchange(&mut mn, &mut ha, secs(10.0), &out);
    assert!(
        notices(&out)
            .iter()
            .any(|n| matches!(n, Notice::Registered { .. }))
    );
}

/// MN-1: detached (no usable address) nothing is sent; back on the same
/// care-of address, a BU at once.
#[test]
fn mn1_detach_and_reattach() {
    let mut ha = agent_with(ha_config());
    let mut mn = node();
    let out = attach(&mut mn, Instant::ZERO, WIFI, coa());
    exchange(&mut mn, &mut ha, Instant::ZERO, &out);
    mn.handle_link(
        secs(10.0),
        LinkEvent::DefaultRouter {
            ifindex: WIFI,
            router: None,
        },
    );
    let out = mn_drain(&mut mn);
    assert_eq!(
        notices(&out),
        vec![Notice::Moved(Location::Detached)],
        "the binding and tunnel stay"
    );
    let out = attach(&mut mn, secs(20.0), WIFI, coa());
    assert!(
        !touches_kernel(&out),
        "same care-of address: nothing to change"
    );
    let out = exchange(&mut mn, &mut ha, secs(20.0), &out);
    assert!(
        notices(&out)
            .iter()
            .any(|n| matches!(n, Notice::Registered { .. }))
    );
}

/// AU-2 sequence mode: values only grow; the home agent accepts them.
#[test]
fn au2_sequence_replay_mode_round_trip() {
    let mut ha_cfg = ha_config();
    ha_cfg.security_associations[0].replay = ReplayMode::Sequence;
    let mut ha = agent_with(ha_cfg);
    let mut cfg = mn_config(Some(ha_addr()));
    cfg.security.replay = ReplayMode::Sequence;
    let mut mn = MobileNode::new(cfg, 3, Instant::ZERO).unwrap();
    let out = attach(&mut mn, Instant::ZERO, WIFI, coa());
    let first = parsed(&one_bu(&out)).1.options.replay_protection().unwrap();
    let out = exchange(&mut mn, &mut ha, Instant::ZERO, &out);
    assert!(
        notices(&out)
            .iter()
            .any(|n| matches!(n, Notice::Registered { .. }))
    );
    mn.handle_timeout(secs(2880.0));
    let out = mn_drain(&mut mn);
    let second = parsed(&one_bu(&out)).1.options.replay_protection().unwrap();
    assert!(second > first);
    let out = exchange(&mut mn, &mut ha, secs(2880.0), &out);
    assert!(
        notices(&out)
            .iter()
            .any(|n| matches!(n, Notice::Registered { .. }))
    );
}

/// MN-5: seven unanswered BUs to the discovered home agent, then the next
/// one of the DHAAD reply, with the first registration's timeout.
#[test]
fn mn5_fail_over_to_the_next_home_agent_after_7() {
    let peer = ip("2001:db8:1::2");
    let mut cfg = ha_config();
    cfg.home_links[0]
        .peers
        .push(v6edge_mip6::ha::PeerHomeAgent {
            address: peer,
            preference: 5,
            mobile_router: false,
        });
    let mut ha = agent_with(cfg);
    let mut mn = node_with(mn_config(None));
    let out = attach(&mut mn, Instant::ZERO, WIFI, coa());
    let MnOutput::Icmp6(req) = &out[1] else {
        panic!("{out:#?}")
    };
    ha.handle_icmp6(
        Instant::ZERO,
        &icmp6(HOME_IF, coa(), req.dst, 64, &req.payload),
    );
    let reply = drain(&mut ha)
        .into_iter()
        .find_map(|o| match o {
            HaOutput::Icmp6(t) => Some(t),
            _ => None,
        })
        .unwrap();
    mn.handle_icmp6(
        Instant::ZERO,
        &icmp6(WIFI, ha_addr(), coa(), 64, &reply.payload),
    );
    let mut to = vec![one_bu(&mn_drain(&mut mn)).dst];
    while to.len() < 8 {
        let due = mn.poll_timeout().unwrap();
        mn.handle_timeout(due);
        let out = mn_drain(&mut mn);
        to.push(one_bu(&out).dst);
        if to.len() == 8 {
            assert!(notices(&out).contains(&Notice::HomeAgentFailover {
                from: ha_addr(),
                to: peer
            }));
            assert_eq!(due, secs(110.5));
        }
    }
    assert_eq!(to[..7], [ha_addr(); 7]);
    assert_eq!(to[7], peer);
    let s = mn.status(secs(110.5));
    assert_eq!(s.home_agent, Some(peer));
    assert_eq!(
        s.state,
        BulState::WaitAck {
            retransmit_at: secs(112.0),
            backoff: Duration::from_millis(1500)
        }
    );
}

/// MN-5: the home agent's BA is lost; the retransmission (new sequence
/// number, new timestamp) is accepted as a refresh, not refused as a
/// replay or with 135.
#[test]
fn mn5_retransmission_after_a_lost_ba_is_accepted() {
    let mut ha = agent_with(ha_config());
    let mut mn = node();
    let bu = one_bu(&attach(&mut mn, Instant::ZERO, WIFI, coa()));
    assert_eq!(to_ha(&mut ha, Instant::ZERO, &bu).len(), 1, "BA lost");
    assert_eq!(ha_binding(&ha, Instant::ZERO), Some(coa()));
    mn.handle_timeout(secs(1.5));
    let out = mn_drain(&mut mn);
    let out = exchange(&mut mn, &mut ha, secs(1.5), &out);
    assert!(notices(&out).contains(&Notice::Registered {
        care_of: coa(),
        lifetime: Duration::from_secs(3600)
    }));
    assert_eq!(ha.counters().auth_failures, 0);
    assert_eq!(mn.counters().ba_received.get(&0), Some(&1));
}

// ------------------------------------------------------------- MN-9 --

/// The MN's Mobile Prefix Solicitations in `out`.
fn solicitations(out: &[MnOutput]) -> Vec<MnTransmit> {
    out.iter()
        .filter_map(|o| match o {
            MnOutput::Icmp6WithHomeAddress(t) => Some(t.clone()),
            _ => None,
        })
        .collect()
}

/// Feeds solicitations to the home agent as its capture delivers them;
/// returns the Mobile Prefix Advertisements it sends.
fn solicit_ha(
    ha: &mut HomeAgent,
    now: Instant,
    sent: &[MnTransmit],
) -> Vec<v6edge_mip6::ha::Icmp6ToHomeAddress> {
    for t in sent {
        ha.handle_captured_icmp6(
            now,
            &MhReceived {
                ifindex: OUTSIDE_IF,
                src: t.src,
                dst: t.dst,
                hao: t.hao,
                rh2: None,
                bytes: &t.payload,
            },
        );
    }
    ha_adverts(ha)
}

fn ha_adverts(ha: &mut HomeAgent) -> Vec<v6edge_mip6::ha::Icmp6ToHomeAddress> {
    std::iter::from_fn(|| ha.poll_output())
        .filter_map(|o| match o {
            HaOutput::Icmp6ToHomeAddress(t) => Some(t),
            _ => None,
        })
        .collect()
}

/// Feeds advertisements to the MN as its capture delivers them.
fn advert_mn(
    mn: &mut MobileNode,
    now: Instant,
    adverts: &[v6edge_mip6::ha::Icmp6ToHomeAddress],
) -> Vec<MnOutput> {
    for a in adverts {
        mn.handle_captured_icmp6(
            now,
            &MnReceived {
                src: a.src,
                dst: a.care_of,
                hao: None,
                rh2: Some(a.home_address),
                bytes: &a.payload,
            },
        );
    }
    mn_drain(mn)
}

fn home_prefixes(mn: &MobileNode, now: Instant) -> Vec<(String, Option<u64>, Option<u64>)> {
    mn.status(now)
        .home_prefixes
        .iter()
        .map(|p| {
            (
                p.prefix.to_string(),
                p.valid.map(|d| d.as_secs()),
                p.preferred.map(|d| d.as_secs()),
            )
        })
        .collect()
}

#[test]
fn mn9_ba_1_leads_to_a_solicitation_and_the_home_prefixes() {
    let mut cfg = ha_config();
    cfg.mobile_prefix_advertisements = true;
    cfg.home_links[0].prefixes = vec![v6edge_mip6::ha::ServedPrefix {
        prefix: "2001:db8:1::/64".parse().unwrap(),
        valid_until: Some(secs(1000.0)),
        preferred_until: Some(secs(800.0)),
    }];
    let mut ha = agent_with(cfg);
    let mut mn = node();
    let t0 = Instant::ZERO;
    let out = attach(&mut mn, t0, WIFI, coa());
    // The MN asks 3600 s, the prefix has 1000 s: BA 1, then a
    // solicitation from the care-of address with the home address option.
    let out = exchange(&mut mn, &mut ha, t0, &out);
    assert!(notices(&out).contains(&Notice::PrefixDiscoveryNecessary));
    let mps = solicitations(&out);
    assert_eq!(mps.len(), 1, "{out:#?}");
    assert_eq!(
        (mps[0].src, mps[0].dst, mps[0].hao),
        (coa(), ha_addr(), Some(hoa()))
    );
    assert!(v6edge_wire::nd::verify_checksum(
        hoa(),
        ha_addr(),
        &mps[0].payload
    ));

    let t1 = secs(1.0);
    let adverts = solicit_ha(&mut ha, t1, &mps);
    assert_eq!(adverts.len(), 1);
    let out = advert_mn(&mut mn, t1, &adverts);
    assert!(
        solicitations(&out).is_empty(),
        "solicited: nothing more to send"
    );
    assert_eq!(
        home_prefixes(&mn, t1),
        vec![("2001:db8:1::/64".to_owned(), Some(999), Some(799))]
    );
    assert_eq!(mn.counters().prefix_advertisements, 1);
    // No retransmission of the answered solicitation; the next one is due
    // when the home address's prefix leaves its preferred lifetime.
    assert_eq!(
        mn.poll_timeout().map(|t| t.min(secs(800.0))),
        Some(secs(800.0))
    );
    mn.handle_timeout(secs(800.0));
    assert_eq!(
        solicitations(&mn_drain(&mut mn)).len(),
        1,
        "MN-9: prefix deprecated"
    );
}

#[test]
fn mn9_solicitation_is_retransmitted_3_6_12_then_given_up() {
    let mut cfg = ha_config();
    cfg.home_links[0].prefixes[0].valid_until = Some(secs(1000.0));
    let mut ha = agent_with(cfg);
    let mut mn = node();
    let out = attach(&mut mn, Instant::ZERO, WIFI, coa());
    let out = exchange(&mut mn, &mut ha, Instant::ZERO, &out);
    assert_eq!(solicitations(&out).len(), 1);
    let mut times = Vec::new();
    for _ in 0..10 {
        let Some(at) = mn.poll_timeout().filter(|t| *t < secs(100.0)) else {
            break;
        };
        mn.handle_timeout(at);
        if !solicitations(&mn_drain(&mut mn)).is_empty() {
            times.push(at.saturating_duration_since(Instant::ZERO).as_secs());
        }
    }
    assert_eq!(
        times,
        vec![3, 9, 21],
        "INITIAL_SOLICIT_TIMER doubling, 4 in all"
    );
}

#[test]
fn mn9_unsolicited_advert_is_acknowledged_once_and_stops_the_home_agent() {
    let mut cfg = ha_config();
    cfg.mobile_prefix_advertisements = true;
    let mut ha = agent_with(cfg);
    let mut mn = node();
    let t0 = Instant::ZERO;
    let out = attach(&mut mn, t0, WIFI, coa());
    exchange(&mut mn, &mut ha, t0, &out);
    ha_adverts(&mut ha);

    // The home link is renumbered.
    let t1 = secs(10.0);
    ha.set_home_prefixes(
        t1,
        HOME_IF,
        vec![
            v6edge_mip6::ha::ServedPrefix {
                prefix: "2001:db8:1::/64".parse().unwrap(),
                valid_until: Some(secs(610.0)),
                preferred_until: Some(t1),
            },
            v6edge_mip6::ha::ServedPrefix::infinite("2001:db8:7::/64".parse().unwrap()),
        ],
    );
    let unsolicited = ha_adverts(&mut ha);
    assert_eq!(unsolicited.len(), 1);
    let out = advert_mn(&mut mn, t1, &unsolicited);
    let acks = solicitations(&out);
    assert_eq!(acks.len(), 1, "acknowledged");
    assert!(notices(&out).contains(&Notice::HomePrefixes(vec![
        "2001:db8:1::/64".parse().unwrap(),
        "2001:db8:7::/64".parse().unwrap()
    ])));
    assert_eq!(
        home_prefixes(&mn, t1),
        vec![
            ("2001:db8:1::/64".to_owned(), Some(600), Some(0)),
            ("2001:db8:7::/64".to_owned(), None, None)
        ]
    );
    // The home agent answers the acknowledgement; the MN takes the answer
    // as solicited and says nothing more.
    let t2 = secs(10.5);
    let answer = solicit_ha(&mut ha, t2, &acks);
    assert_eq!(answer.len(), 1);
    let out = advert_mn(&mut mn, t2, &answer);
    assert!(solicitations(&out).is_empty());
    // The home agent retransmits nothing: acknowledged.
    ha.handle_timeout(secs(20.0));
    assert!(ha_adverts(&mut ha).is_empty());
}

/// A flood of unsolicited advertisements (each with another identifier,
/// as forged ones would have) is taken, but acknowledged only within
/// PREFIX_ACK_RATE: the mobile node is no reflector.
#[test]
fn mn9_unsolicited_adverts_are_acknowledged_within_a_rate() {
    let mut ha = agent_with(ha_config());
    let mut mn = node();
    let out = attach(&mut mn, Instant::ZERO, WIFI, coa());
    exchange(&mut mn, &mut ha, Instant::ZERO, &out);
    let advert = |id: u16| v6edge_mip6::ha::Icmp6ToHomeAddress {
        src: ha_addr(),
        care_of: coa(),
        home_address: hoa(),
        payload: MobilityIcmp::MobilePrefixAdvert(v6edge_wire::nd::MobilePrefixAdvert::new(
            id,
            std::iter::empty(),
        ))
        .to_bytes_with_checksum(ha_addr(), hoa()),
    };
    // 100 within one second: the burst (3) is acknowledged.
    let flood: Vec<_> = (1..=100).map(advert).collect();
    let out = advert_mn(&mut mn, secs(1.0), &flood);
    assert_eq!(solicitations(&out).len(), 3, "the burst, no more");
    assert_eq!(mn.counters().prefix_advertisements, 100);
    assert_eq!(mn.counters().prefix_acks_suppressed, 97);
    // A genuine retransmission 3 s later is acknowledged again.
    let out = advert_mn(&mut mn, secs(4.0), &[advert(200)]);
    assert_eq!(solicitations(&out).len(), 1);
}

#[test]
fn mn9_adverts_not_from_the_home_agent_or_not_via_the_home_address_are_dropped() {
    let mut cfg = ha_config();
    cfg.mobile_prefix_advertisements = true;
    let mut ha = agent_with(cfg);
    let mut mn = node();
    // At home or before registration: not taken.
    let advert = v6edge_mip6::ha::Icmp6ToHomeAddress {
        src: ha_addr(),
        care_of: coa(),
        home_address: hoa(),
        payload: MobilityIcmp::MobilePrefixAdvert(v6edge_wire::nd::MobilePrefixAdvert::new(
            1,
            std::iter::empty(),
        ))
        .to_bytes_with_checksum(ha_addr(), hoa()),
    };
    advert_mn(&mut mn, Instant::ZERO, std::slice::from_ref(&advert));
    assert_eq!(mn.counters().dropped.get(&DropReason::NotAway), Some(&1));
    let out = attach(&mut mn, Instant::ZERO, WIFI, coa());
    exchange(&mut mn, &mut ha, Instant::ZERO, &out);
    let forged = v6edge_mip6::ha::Icmp6ToHomeAddress {
        src: ip("2001:db8:1::66"),
        payload: MobilityIcmp::MobilePrefixAdvert(v6edge_wire::nd::MobilePrefixAdvert::new(
            1,
            std::iter::empty(),
        ))
        .to_bytes_with_checksum(ip("2001:db8:1::66"), hoa()),
        ..advert.clone()
    };
    let other_hoa = v6edge_mip6::ha::Icmp6ToHomeAddress {
        home_address: ip("2001:db8:1::201"),
        ..advert.clone()
    };
    let mut bad_sum = advert.clone();
    bad_sum.payload[3] ^= 1;
    let out = advert_mn(&mut mn, secs(1.0), &[forged, other_hoa, bad_sum]);
    assert!(solicitations(&out).is_empty());
    let d = &mn.counters().dropped;
    assert_eq!(d.get(&DropReason::NotFromHomeAgent), Some(&2));
    assert_eq!(d.get(&DropReason::BadChecksum), Some(&1));
    assert_eq!(mn.counters().prefix_advertisements, 0);
}

// ---------------------------------------------------- NEMO (RFC 3963) --

fn mobile_network() -> v6edge_prefix::Prefix {
    "2001:db8:10::/64".parse().unwrap()
}

/// A home agent serving the mobile router `hoa()` for 2001:db8:10::/48.
fn nemo_ha_config(permit: &[&str]) -> HaConfig {
    HaConfig {
        mobile_routers: vec![v6edge_mip6::ha::MobileRouterPermit {
            home_address: hoa(),
            prefixes: permit.iter().map(|p| p.parse().unwrap()).collect(),
        }],
        ..ha_config()
    }
}

fn mobile_router(explicit: bool, prefixes: &[&str]) -> MobileNode {
    let mut cfg = mn_config(Some(ha_addr()));
    cfg.mobile_router = Some(v6edge_mip6::mn::MobileRouterConfig {
        prefixes: prefixes.iter().map(|p| p.parse().unwrap()).collect(),
        explicit,
    });
    node_with(cfg)
}

fn ba_of(t: &v6edge_mip6::ha::MhTransmit) -> v6edge_wire::mh::BindingAck {
    match MobilityHeader::parse(&t.payload).expect("a BA").body {
        MhBody::BindingAck(ba) => ba,
        other => panic!("not a BA: {other:?}"),
    }
}

/// MT-17, MR-1, MR-3, explicit mode (RFC 3963 §6.1.1): the BU carries R and a Mobile
/// Network Prefix option; the home agent routes the prefix into the
/// tunnel, its data plane tunnels it, and answers with R; the mobile
/// router sends everything from the mobile network into the tunnel.
#[test]
fn mt17_explicit_mode_mobile_network_through_the_tunnel() {
    let mut ha = agent_with(nemo_ha_config(&["2001:db8:10::/48"]));
    let mut mr = mobile_router(true, &["2001:db8:10::/64"]);
    let out = attach(&mut mr, Instant::ZERO, WIFI, coa());
    let bu = one_bu(&out);
    let message = MobilityHeader::parse(&bu.payload).expect("a BU");
    let MhBody::BindingUpdate(b) = message.body else {
        panic!("not a BU")
    };
    assert!(b.flags.mobile_router, "R flag");
    let mnp: Vec<_> = message.options.mobile_network_prefixes().collect();
    assert_eq!(mnp.len(), 1);
    assert_eq!(
        (mnp[0].prefix, mnp[0].prefix_len),
        (ip("2001:db8:10::"), 64)
    );

    let ha_out = ha_outputs(&mut ha, Instant::ZERO, &bu);
    assert!(ha_out.iter().any(|o| matches!(o,
        HaOutput::Kernel(KernelOp::SetRoute(r)) if r.dst == mobile_network() && r.ifindex == Some(TUN_IF))));
    let upsert = ha_out
        .iter()
        .find_map(|o| match o {
            HaOutput::DataPlane(op @ BindingOp::Upsert { .. }) => Some(op.clone()),
            _ => None,
        })
        .expect("a data-plane binding");
    let answers = ha_mh(&ha_out);
    assert_eq!(answers.len(), 1);
    let ba = ba_of(&answers[0]);
    assert_eq!(ba.status, BaStatus::Accepted);
    assert!(ba.flags.mobile_router, "R flag in the BA");
    let binding = &ha.status(Instant::ZERO).bindings[0];
    assert!(binding.mobile_router);
    assert_eq!(binding.prefixes, vec![mobile_network()]);

    // The home agent's data plane: packets to the mobile network go to
    // the care-of address; reverse-tunnelled ones from it are accepted
    // only from that care-of address.
    let mut tunnels = v6edge_mip6::dataplane::Tunnels::new();
    tunnels.apply(&upsert);
    let to_lfn = packet_between(ip("2001:db8:c::1"), ip("2001:db8:10::5"));
    assert_eq!(
        tunnels.outbound(&to_lfn),
        v6edge_mip6::dataplane::Verdict::Encapsulate(coa())
    );
    let from_lfn = packet_between(ip("2001:db8:10::5"), ip("2001:db8:c::1"));
    assert_eq!(
        tunnels.inbound(coa(), &from_lfn),
        v6edge_mip6::dataplane::Verdict::Deliver
    );
    assert!(matches!(
        tunnels.inbound(ip("2001:db8:9::9"), &from_lfn),
        v6edge_mip6::dataplane::Verdict::Drop(_)
    ));
    let elsewhere = packet_between(ip("2001:db8:11::5"), ip("2001:db8:c::1"));
    assert!(matches!(
        tunnels.inbound(coa(), &elsewhere),
        v6edge_mip6::dataplane::Verdict::Drop(_)
    ));

    // The mobile router: bound, a rule from the mobile network into the
    // tunnel table, and a tunnel that carries the mobile network.
    let out = to_mn(&mut mr, Instant::ZERO, &answers);
    assert!(matches!(
        mr.status(Instant::ZERO).state,
        BulState::Bound { .. }
    ));
    assert!(out.iter().any(|o| matches!(o,
        MnOutput::Kernel(KernelOp::SetRule(r))
            if r.from == Some((IpAddr::V6(ip("2001:db8:10::")), 64)) && r.table == RouteTable(222))));
    let op = out
        .iter()
        .find_map(|o| match o {
            MnOutput::DataPlane(op @ TunnelOp::Up { .. }) => Some(op.clone()),
            _ => None,
        })
        .expect("tunnel up");
    let t = MnTunnel::from_op(&op).expect("up");
    assert_eq!(t.mobile_networks, vec![mobile_network()]);
    assert_eq!(t.outbound(&from_lfn), Some((coa(), ha_addr())));
    assert!(t.outbound(&elsewhere).is_none());
    assert!(t.inbound(ha_addr(), coa(), &to_lfn));
    // The data plane's view of the same tunnel.
    let plane = v6edge_mip6::dataplane::MobileNodeTunnel::new(t);
    assert_eq!(
        plane.outbound(&from_lfn),
        v6edge_mip6::dataplane::MnOutbound::Encapsulate {
            care_of: coa(),
            home_agent: ha_addr()
        }
    );
    assert!(matches!(
        plane.outbound(&elsewhere),
        v6edge_mip6::dataplane::MnOutbound::Drop(_)
    ));
    assert_eq!(
        plane.inbound(ha_addr(), coa(), &to_lfn),
        v6edge_mip6::dataplane::Verdict::Deliver
    );
}

/// MT-17, MR-1, implicit mode (RFC 3963 §6.1.2): no option; the home agent's
/// configured prefixes are the mobile networks.
#[test]
fn mt17_implicit_mode_takes_the_configured_prefixes() {
    let mut ha = agent_with(nemo_ha_config(&["2001:db8:10::/64"]));
    let mut mr = mobile_router(false, &["2001:db8:10::/64"]);
    let out = attach(&mut mr, Instant::ZERO, WIFI, coa());
    let bu = one_bu(&out);
    let message = MobilityHeader::parse(&bu.payload).expect("a BU");
    assert_eq!(message.options.mobile_network_prefixes().count(), 0);
    let answers = ha_mh(&ha_outputs(&mut ha, Instant::ZERO, &bu));
    assert_eq!(ba_of(&answers[0]).status, BaStatus::Accepted);
    assert_eq!(
        ha.status(Instant::ZERO).bindings[0].prefixes,
        vec![mobile_network()]
    );
}

/// MT-17, MR-2: 140 for a home address not configured as a mobile router, 141
/// for a prefix that cannot be a mobile network (the home link's), 142
/// for one outside the permit, 143 for implicit mode without configured
/// prefixes; the mobile router stops on each, nothing installed.
#[test]
fn mt17_refusals_140_to_143() {
    let cases: [(HaConfig, bool, &[&str], BaStatus); 4] = [
        (
            ha_config(),
            true,
            &["2001:db8:10::/64"],
            BaStatus::MobileRouterOperationNotPermitted,
        ),
        (
            nemo_ha_config(&["2001:db8:10::/48"]),
            true,
            &["2001:db8:1::/64"],
            BaStatus::InvalidPrefix,
        ),
        (
            nemo_ha_config(&["2001:db8:10::/48"]),
            true,
            &["2001:db8:20::/64"],
            BaStatus::NotAuthorizedForPrefix,
        ),
        (
            nemo_ha_config(&[]),
            false,
            &[],
            BaStatus::ForwardingSetupFailed,
        ),
    ];
    for (cfg, explicit, prefixes, expected) in cases {
        let mut ha = agent_with(cfg);
        let mut mr = mobile_router(explicit, prefixes);
        let out = attach(&mut mr, Instant::ZERO, WIFI, coa());
        let ha_out = ha_outputs(&mut ha, Instant::ZERO, &one_bu(&out));
        assert!(
            !ha_out
                .iter()
                .any(|o| matches!(o, HaOutput::Kernel(_) | HaOutput::DataPlane(_)))
        );
        let answers = ha_mh(&ha_out);
        let ba = ba_of(&answers[0]);
        assert_eq!(ba.status, expected);
        assert!(!ba.flags.mobile_router);
        let out = to_mn(&mut mr, Instant::ZERO, &answers);
        assert!(!touches_kernel(&out), "{expected:?}: nothing installed");
        assert_eq!(mr.status(Instant::ZERO).stopped, Some(u8::from(expected)));
    }
}

/// MR-2, RFC 3963 §5.3: a BA without R (a home agent without NEMO) stops the
/// mobile router before anything is installed.
#[test]
fn mobile_router_stops_on_a_ba_without_r() {
    // A home agent that serves no mobile router.
    let mut ha = agent();
    let mut mr = mobile_router(true, &["2001:db8:10::/64"]);
    let out = attach(&mut mr, Instant::ZERO, WIFI, coa());
    let bu = one_bu(&out);
    // A plain registration answered as if R had been absent.
    let mut ba_only = ha_mh(&ha_outputs(&mut ha, Instant::ZERO, &bu));
    assert_eq!(
        ba_of(&ba_only[0]).status,
        BaStatus::MobileRouterOperationNotPermitted
    );
    // Forge an accepted BA without R from the same home agent, signed.
    let mut accepted = MobilityHeader::parse(&ba_only[0].payload).expect("BA");
    if let MhBody::BindingAck(ref mut b) = accepted.body {
        b.status = BaStatus::Accepted;
        b.lifetime = v6edge_wire::mh::FourSeconds(900);
    }
    let mut bytes = accepted.to_bytes();
    sign(&mut bytes, coa(), hoa(), &KEY);
    fill_checksum(ha_addr(), hoa(), &mut bytes);
    ba_only[0].payload = bytes;
    let out = to_mn(&mut mr, Instant::ZERO, &ba_only);
    assert!(!touches_kernel(&out));
    assert_eq!(
        mr.status(Instant::ZERO).stopped,
        Some(u8::from(BaStatus::MobileRouterOperationNotPermitted))
    );
}

fn packet_between(src: Ipv6Addr, dst: Ipv6Addr) -> Vec<u8> {
    let mut p = vec![0u8; 60];
    p[0] = 0x60;
    p[4..6].copy_from_slice(&20u16.to_be_bytes());
    p[6] = 59;
    p[7] = 64;
    p[8..24].copy_from_slice(&src.octets());
    p[24..40].copy_from_slice(&dst.octets());
    p
}

/// A restarted home agent puts a mobile router's binding back with its
/// mobile networks' routes, unless its permit no longer covers them; a
/// permit overlapping a home prefix is a configuration error.
#[test]
fn mobile_router_bindings_restore_within_their_permit() {
    let mut ha = agent_with(nemo_ha_config(&["2001:db8:10::/48"]));
    let mut mr = mobile_router(true, &["2001:db8:10::/64"]);
    let out = attach(&mut mr, Instant::ZERO, WIFI, coa());
    ha_outputs(&mut ha, Instant::ZERO, &one_bu(&out));
    let records = ha.bindings();
    assert_eq!(records.len(), 1);
    assert!(records[0].mobile_router);
    assert_eq!(records[0].prefixes, vec![mobile_network()]);

    let mut again = agent_with(nemo_ha_config(&["2001:db8:10::/48"]));
    assert_eq!(again.restore(records.clone(), secs(1.0)), 1);
    let out: Vec<HaOutput> = std::iter::from_fn(|| again.poll_output()).collect();
    assert!(out.iter().any(|o| matches!(o,
        HaOutput::Kernel(KernelOp::SetRoute(r)) if r.dst == mobile_network())));

    // The permit shrank to another prefix: not restored.
    let mut narrower = agent_with(nemo_ha_config(&["2001:db8:11::/48"]));
    assert_eq!(narrower.restore(records, secs(1.0)), 0);

    let bad =
        v6edge_mip6::ha::HomeAgent::new(nemo_ha_config(&["2001:db8:1::/64"]), 1, Instant::ZERO);
    assert!(matches!(
        bad,
        Err(v6edge_mip6::ha::HaConfigError::MobileNetworkPrefix { .. })
    ));
}

// ------------------------------------- prefix delegation (RFC 6276) --

/// RFC 6276: a mobile router whose mobile networks come from DHCPv6. It
/// registers with R before it has any; the path for its DHCPv6 messages
/// opens once the tunnel is in place; a delegated prefix joins the mobile
/// networks at once (rule, tunnel, an explicit-mode BU) and the home agent
/// routes it into the tunnel, at a metric below a delegating server's;
/// at home the path is the home link; a prefix that goes is withdrawn.
#[test]
fn rfc6276_delegated_prefixes_become_mobile_networks() {
    let delegated: v6edge_prefix::Prefix = "2001:db8:10:100::/56".parse().unwrap();
    let mut ha = agent_with(nemo_ha_config(&["2001:db8:10::/48"]));
    let mut mr = mobile_router(true, &[]);
    assert_eq!(mr.home_link_path(), None, "not attached");
    let t0 = Instant::ZERO;
    let out = attach(&mut mr, t0, WIFI, coa());
    assert_eq!(mr.home_link_path(), None, "not registered yet");
    let bu = one_bu(&out);
    let (b, m) = parsed(&bu);
    assert!(b.flags.mobile_router, "R before any prefix (MR-1)");
    assert_eq!(m.options.mobile_network_prefixes().count(), 0);
    let out = exchange(&mut mr, &mut ha, t0, &out);
    assert!(matches!(mr.status(t0).state, BulState::Bound { .. }));
    let path = mr.home_link_path().expect("the tunnel is the path");
    assert_eq!(
        (path.home_address, path.home_agent, path.at_home),
        (hoa(), ha_addr(), false)
    );
    assert!(
        !out.iter().any(|o| matches!(o, MnOutput::Kernel(KernelOp::SetRule(r))
            if r.from.is_some_and(|(a, _)| a != IpAddr::V6(hoa())) && r.from != Some((IpAddr::V6(coa()), 128)))),
        "no mobile network rule before a delegation"
    );

    // The delegation arrives (the requesting router's Reply).
    let t1 = secs(5.0);
    mr.set_delegated_prefixes(t1, &[delegated]);
    let out = mn_drain(&mut mr);
    assert!(
        out.iter()
            .any(|o| matches!(o, MnOutput::Kernel(KernelOp::SetRule(r))
        if r.from == Some((IpAddr::V6(ip("2001:db8:10:100::")), 56))))
    );
    let up = out
        .iter()
        .find_map(|o| match o {
            MnOutput::DataPlane(op @ TunnelOp::Up { .. }) => MnTunnel::from_op(op),
            _ => None,
        })
        .expect("the tunnel now carries the prefix");
    assert_eq!(up.mobile_networks, vec![delegated]);
    let bu = one_bu(&out);
    let (_, m) = parsed(&bu);
    let mnp: Vec<_> = m.options.mobile_network_prefixes().collect();
    assert_eq!(
        mnp.iter()
            .map(|p| (p.prefix, p.prefix_len))
            .collect::<Vec<_>>(),
        vec![(ip("2001:db8:10:100::"), 56)]
    );
    assert_eq!(mr.status(t1).mobile_networks, vec![delegated]);
    let ha_out = ha_outputs(&mut ha, t1, &bu);
    assert!(ha_out.iter().any(|o| matches!(o,
        HaOutput::Kernel(KernelOp::SetRoute(r))
            if r.dst == delegated && r.ifindex == Some(TUN_IF) && r.metric < 1024)));
    assert_eq!(ha.status(t1).bindings[0].prefixes, vec![delegated]);
    // The same prefixes again change nothing.
    let answers = ha_mh(&ha_out);
    to_mn(&mut mr, t1, &answers);
    mr.set_delegated_prefixes(t1, &[delegated, delegated]);
    assert!(mn_drain(&mut mr).is_empty());

    // Home: once the deregistration is acknowledged, the home link.
    let t2 = secs(60.0);
    mr.handle_link(
        t2,
        LinkEvent::LinkLayerAddress {
            ifindex: WIFI,
            address: vec![2, 0, 0, 0, 0x0a, 0x77],
        },
    );
    let out = attach(&mut mr, t2, WIFI, ip("2001:db8:1::77"));
    assert_eq!(mr.home_link_path(), None, "deregistering");
    exchange(&mut mr, &mut ha, t2, &out);
    let path = mr.home_link_path().expect("the home link");
    assert!(path.at_home);
    assert!(ha.status(t2).bindings.is_empty());

    // Away again, then the lease goes: the rule and the option go too.
    let t3 = secs(120.0);
    mr.handle_link(t3, LinkEvent::LinkDown { ifindex: WIFI });
    let out = attach(&mut mr, t3, LTE, coa2());
    let out = exchange(&mut mr, &mut ha, t3, &out);
    assert!(
        out.iter()
            .any(|o| matches!(o, MnOutput::Kernel(KernelOp::SetRule(r))
        if r.from == Some((IpAddr::V6(ip("2001:db8:10:100::")), 56))))
    );
    let t4 = secs(130.0);
    mr.set_delegated_prefixes(t4, &[]);
    let out = mn_drain(&mut mr);
    assert!(
        out.iter()
            .any(|o| matches!(o, MnOutput::Kernel(KernelOp::DelRule(r))
        if r.from == Some((IpAddr::V6(ip("2001:db8:10:100::")), 56))))
    );
    let (_, m) = parsed(&one_bu(&out));
    assert_eq!(m.options.mobile_network_prefixes().count(), 0);
}

/// RFC 6276 concerns mobile routers: a mobile node ignores delegations.
#[test]
fn rfc6276_a_mobile_node_ignores_delegated_prefixes() {
    let mut mn = node();
    let out = attach(&mut mn, Instant::ZERO, WIFI, coa());
    let mut ha = agent_with(ha_config());
    exchange(&mut mn, &mut ha, Instant::ZERO, &out);
    mn.set_delegated_prefixes(secs(1.0), &["2001:db8:10::/56".parse().unwrap()]);
    assert!(mn_drain(&mut mn).is_empty());
    assert!(mn.status(secs(1.0)).mobile_networks.is_empty());
}
