//! The home agent against mobility.md §1.6 (HA-1 … HA-20): real Binding
//! Update bytes in at explicit instants, the exact outputs checked, and
//! nothing installed on every refusal.

mod common;

use common::*;
use std::net::{IpAddr, Ipv6Addr};
use std::time::Duration;
use v6edge_core::{Instant, KernelOp, Owner};
use v6edge_mip6::dataplane::BindingOp;
use v6edge_mip6::ha::{
    AclAction, AclRule, BindingState, DropReason, HaOutput, PeerHomeAgent, Security, ServedPrefix,
};
use v6edge_wire::Lifetime;
use v6edge_wire::mh::{BeStatus, MhBody, MhOption, MobilityHeader, fill_checksum};
use v6edge_wire::nd::{
    HaadRequest, HomeAgentInfo, MobilityIcmp, NdMessage, NdOption, NeighborAdvert, NeighborSolicit,
    PrefixInfo, RouterAdvert,
};

fn dropped(ha: &v6edge_mip6::ha::HomeAgent, reason: DropReason) -> u64 {
    ha.counters().dropped.get(&reason).copied().unwrap_or(0)
}

/// A refusal: one BA with `status`, nothing installed, no binding.
fn assert_refused(ha: &v6edge_mip6::ha::HomeAgent, out: &[HaOutput], status: u8) -> SeenBa {
    assert!(!installs(out), "nothing installed on refusal: {out:#?}");
    assert!(
        out.iter().all(|o| matches!(o, HaOutput::Mh(_))),
        "only the BA: {out:#?}"
    );
    let seen = ba(out);
    assert_eq!(seen.status(), status);
    assert_eq!(seen.ba.lifetime.0, 0);
    assert!(ha.status(Instant::ZERO).bindings.is_empty());
    seen
}

// ---------------------------------------------------------------- HA-1 --

#[test]
fn ha1_bad_checksum_is_dropped_and_counted() {
    let mut ha = agent();
    let bu = Bu::new(1, 150, Instant::ZERO);
    let mut bytes = bu.bytes();
    bytes[4] ^= 0xff;
    assert!(feed_bytes(&mut ha, Instant::ZERO, &bu, &bytes).is_empty());
    assert_eq!(dropped(&ha, DropReason::BadChecksum), 1);
    // Summed over the care-of address (what the kernel would do): wrong.
    let mut bytes = bu.bytes();
    fill_checksum(coa(), ha_addr(), &mut bytes);
    assert!(feed_bytes(&mut ha, Instant::ZERO, &bu, &bytes).is_empty());
    assert_eq!(dropped(&ha, DropReason::BadChecksum), 2);
    assert_eq!(ha.counters().received.get(&5), Some(&2));
    assert!(ha.status(Instant::ZERO).bindings.is_empty());
}

#[test]
fn ha1_bad_payload_proto_and_header_len_are_dropped() {
    let mut ha = agent();
    let bu = Bu::new(1, 150, Instant::ZERO);
    let mut bytes = bu.bytes();
    bytes[0] = 6;
    fill_checksum(hoa(), ha_addr(), &mut bytes);
    assert!(feed_bytes(&mut ha, Instant::ZERO, &bu, &bytes).is_empty());
    assert_eq!(dropped(&ha, DropReason::PayloadProto), 1);
    // A BU needs Header Len 1: an 8-octet BU with Header Len 0.
    let mut short = bu.bytes()[..8].to_vec();
    short[1] = 0;
    fill_checksum(hoa(), ha_addr(), &mut short);
    assert!(feed_bytes(&mut ha, Instant::ZERO, &bu, &short).is_empty());
    assert_eq!(dropped(&ha, DropReason::HeaderLength), 1);
}

fn unknown_type_bytes(src: Ipv6Addr, dst: Ipv6Addr) -> Vec<u8> {
    let mut bytes = vec![59, 0, 42, 0, 0, 0, 0, 0];
    fill_checksum(src, dst, &mut bytes);
    bytes
}

#[test]
fn ha1_unknown_mh_type_gets_binding_error_2() {
    let mut ha = agent();
    let mut bu = Bu::new(1, 150, Instant::ZERO);
    bu.hao = None;
    let bytes = unknown_type_bytes(coa(), ha_addr());
    let out = feed_bytes(&mut ha, Instant::ZERO, &bu, &bytes);
    assert_eq!(out.len(), 1);
    let HaOutput::Mh(t) = &out[0] else {
        panic!("{out:?}")
    };
    assert_eq!((t.src, t.dst, t.rh2), (ha_addr(), coa(), None));
    assert!(v6edge_wire::mh::verify_checksum(t.src, t.dst, &t.payload));
    let MhBody::BindingError(be) = MobilityHeader::parse(&t.payload).unwrap().body else {
        panic!()
    };
    assert_eq!(be.status, BeStatus::UnrecognizedMhType);
    assert_eq!(be.home_address, Ipv6Addr::UNSPECIFIED);
    assert_eq!(ha.counters().be_sent.get(&2), Some(&1));
}

#[test]
fn ha1_binding_errors_are_rate_limited() {
    let mut ha = agent();
    let mut bu = Bu::new(1, 150, Instant::ZERO);
    bu.hao = None;
    let bytes = unknown_type_bytes(coa(), ha_addr());
    let mut sent = 0;
    for _ in 0..100 {
        sent += feed_bytes(&mut ha, Instant::ZERO, &bu, &bytes).len();
    }
    // The default budget: a burst of 20, then 10 per second.
    assert_eq!(sent, 20);
    assert_eq!(dropped(&ha, DropReason::RateLimited), 80);
    let later = feed_bytes(&mut ha, secs(1.0), &bu, &bytes);
    assert_eq!(later.len(), 1, "the bucket refills");
}

// ---------------------------------------------------------------- HA-2 --

#[test]
fn ha2_unauthenticated_bu_is_refused_146() {
    let mut ha = agent();
    let mut bu = Bu::new(1, 150, Instant::ZERO);
    bu.spi = None;
    bu.replay = None;
    let out = bu.feed(&mut ha, Instant::ZERO);
    let seen = assert_refused(&ha, &out, 146);
    assert!(
        seen.options.authentication().is_none(),
        "no SA to sign with"
    );
    assert_eq!(ha.counters().auth_failures, 1);
    ha.handle_timeout(secs(10.0));
    assert!(drain(&mut ha).is_empty());
}

#[test]
fn ha2_insecure_lab_mode_accepts_unauthenticated() {
    let mut cfg = config();
    cfg.security = Security::InsecureLabMode;
    let mut ha = agent_with(cfg);
    let mut bu = Bu::new(1, 150, Instant::ZERO);
    bu.spi = None;
    bu.replay = None;
    let (seen, _) = register(&mut ha, &bu, Instant::ZERO);
    assert_eq!(seen.status(), 0);
    assert!(seen.options.authentication().is_none());
    // An authentication option that is present is still checked.
    let mut forged = Bu::new(2, 150, secs(2.0));
    forged.corrupt_authenticator = true;
    let out = forged.feed(&mut ha, secs(2.0));
    assert_eq!(ba(&out).status(), 146);
    assert!(!installs(&out));
}

// ---------------------------------------------------------------- HA-3 --

#[test]
fn ha3_alternate_care_of_address_wins_over_the_source() {
    let mut ha = agent();
    let mut bu = Bu::new(1, 150, Instant::ZERO);
    bu.src = ip("2001:db8:7::7");
    let out = bu.feed(&mut ha, Instant::ZERO);
    assert!(bas(&out).is_empty());
    ha.handle_timeout(secs(1.0));
    let out = drain(&mut ha);
    assert!(out.contains(&HaOutput::DataPlane(BindingOp::Upsert {
        prefixes: Vec::new(),
        hoa: hoa(),
        care_of: coa(),
        mtu: 1460,
        udp: None,
        ipv4_home: None,
    })));
    ha.handle_applied(secs(1.0), barrier(&out), true);
    let seen = ba(&drain(&mut ha));
    assert_eq!(seen.dst, ip("2001:db8:7::7"), "BA to the BU's source");
    assert_eq!(seen.rh2, Some(hoa()));
}

#[test]
fn ha3_invalid_care_of_address_174() {
    for bad in [
        "fe80::5",
        "ff1e::5",
        "::1",
        "::",
        "2001:db8:1::1", // our own address
    ] {
        let mut ha = agent();
        let mut bu = Bu::new(1, 150, Instant::ZERO);
        bu.alt_coa = Some(ip(bad));
        let out = bu.feed(&mut ha, Instant::ZERO);
        let seen = assert_refused(&ha, &out, 174);
        assert!(seen.authenticates(ip(bad), hoa(), &KEY), "{bad}");
    }
    // The home address of another binding.
    let other = ip("2001:db8:1::300");
    let mut cfg = config();
    cfg.security_associations.push(sa(2000, [9; 16], other));
    let mut ha = agent_with(cfg);
    let mut first = Bu::new(1, 150, Instant::ZERO);
    first.hao = Some(other);
    first.spi = Some(2000);
    first.key = [9; 16];
    assert_eq!(register(&mut ha, &first, Instant::ZERO).0.status(), 0);
    let mut bu = Bu::new(1, 150, secs(2.0));
    bu.alt_coa = Some(other);
    let out = bu.feed(&mut ha, secs(2.0));
    assert!(!installs(&out));
    assert_eq!(ba(&out).status(), 174);
    assert_eq!(ha.status(secs(2.0)).bindings.len(), 1);
}

// ---------------------------------------------------------------- HA-4 --

#[test]
fn ha4_binding_authorization_data_in_a_home_registration_is_dropped() {
    let mut cfg = config();
    cfg.security = Security::InsecureLabMode;
    let mut ha = agent_with(cfg);
    let mut bu = Bu::new(1, 150, Instant::ZERO);
    bu.spi = None;
    bu.replay = None;
    bu.alt_coa = None;
    bu.extra = vec![MhOption::BindingAuthorizationData(vec![0; 12])];
    assert!(bu.feed(&mut ha, Instant::ZERO).is_empty());
    assert_eq!(dropped(&ha, DropReason::AuthorizationData), 1);
}

#[test]
fn ha4_an_option_after_one_that_must_be_last_is_dropped() {
    let mut ha = agent();
    let bu = Bu::new(1, 150, Instant::ZERO);
    // The authentication option, then an Alternate Care-of Address.
    let mut m = bu.message();
    let mut options = m.options.clone().into_vec();
    while options.last().is_some_and(MhOption::is_padding) {
        options.pop();
    }
    options.push(MhOption::AlternateCareOf(coa()));
    m.options = options.into();
    let mut bytes = m.to_bytes();
    fill_checksum(hoa(), ha_addr(), &mut bytes);
    assert!(feed_bytes(&mut ha, Instant::ZERO, &bu, &bytes).is_empty());
    assert_eq!(dropped(&ha, DropReason::Malformed), 1);
}

// ---------------------------------------------------------------- HA-5 --

/// MT-3: a replayed (old) BU gets 135 with the last accepted number.
#[test]
fn ha5_stale_sequence_gets_135_with_the_last_accepted() {
    let mut ha = agent();
    let (_, at) = register(&mut ha, &Bu::new(100, 150, Instant::ZERO), Instant::ZERO);
    for (i, stale) in [100u16, 99, 100u16.wrapping_sub(32767)]
        .into_iter()
        .enumerate()
    {
        // Each BU with a fresh timestamp: not a replay, only stale.
        let now = at + Duration::from_secs(1 + i as u64);
        let out = Bu::new(stale, 150, now).feed(&mut ha, now);
        assert!(out.iter().all(|o| matches!(o, HaOutput::Mh(_))), "{out:?}");
        let seen = ba(&out);
        assert_eq!(seen.status(), 135, "seq {stale}");
        assert_eq!(seen.ba.sequence, 100, "the last accepted");
        assert!(seen.authenticates(coa(), hoa(), &KEY));
    }
    assert_eq!(ha.status(at).bindings[0].sequence, 100);
}

/// MT-3: a mobile node near 65535 wraps, and the wrap is accepted.
#[test]
fn ha5_sequence_numbers_wrap_modulo_2_16() {
    let mut ha = agent();
    let (_, at) = register(&mut ha, &Bu::new(65535, 150, Instant::ZERO), Instant::ZERO);
    let now = at + Duration::from_secs(1);
    let seen = ba(&Bu::new(0, 150, now).feed(&mut ha, now));
    assert_eq!((seen.status(), seen.ba.sequence), (0, 0), "0 follows 65535");
    let now = now + Duration::from_secs(1);
    let seen = ba(&Bu::new(65000, 150, now).feed(&mut ha, now));
    assert_eq!((seen.status(), seen.ba.sequence), (135, 0));
}

// ---------------------------------------------------------------- HA-6 --

#[test]
fn ha6_h_flag_change_gets_139() {
    let mut ha = agent();
    let (_, at) = register(&mut ha, &Bu::new(1, 150, Instant::ZERO), Instant::ZERO);
    let mut bu = Bu::new(2, 150, at);
    bu.flags.home_registration = false;
    let out = bu.feed(&mut ha, at);
    assert!(!installs(&out));
    assert_eq!(ba(&out).status(), 139);
    // Without a binding, a non-home registration is not ours: dropped.
    let mut ha = agent();
    assert!(bu.feed(&mut ha, at).is_empty());
    assert_eq!(dropped(&ha, DropReason::NotHomeRegistration), 1);
}

#[test]
fn ha6_not_a_home_agent_address_gets_131() {
    let mut ha = agent();
    let mut bu = Bu::new(1, 150, Instant::ZERO);
    bu.dst = ip("2001:db8:1::2");
    let out = bu.feed(&mut ha, Instant::ZERO);
    let seen = assert_refused(&ha, &out, 131);
    assert_eq!(seen.src, ip("2001:db8:1::2"));
}

#[test]
fn ha6_home_address_off_the_home_link_gets_132() {
    let off = ip("2001:db8:99::200");
    let mut cfg = config();
    cfg.security_associations = vec![sa(SPI, KEY, off)];
    let mut ha = agent_with(cfg);
    let mut bu = Bu::new(1, 150, Instant::ZERO);
    bu.hao = Some(off);
    let out = bu.feed(&mut ha, Instant::ZERO);
    let seen = assert_refused(&ha, &out, 132);
    assert_eq!(seen.rh2, Some(off));
}

// ---------------------------------------------------------------- HA-7 --

#[test]
fn ha7_acl_deny_gets_129() {
    let mut cfg = config();
    cfg.acl = vec![AclRule {
        home_addresses: "2001:db8:1::200/128".parse().unwrap(),
        action: AclAction::Deny,
    }];
    let mut ha = agent_with(cfg.clone());
    let out = Bu::new(1, 150, Instant::ZERO).feed(&mut ha, Instant::ZERO);
    assert_refused(&ha, &out, 129);
    // Default deny, no rule matching.
    cfg.acl.clear();
    cfg.default_action = AclAction::Deny;
    let mut ha = agent_with(cfg);
    let out = Bu::new(1, 150, Instant::ZERO).feed(&mut ha, Instant::ZERO);
    assert_refused(&ha, &out, 129);
}

#[test]
fn ha7_resource_limit_gets_130() {
    let mut cfg = config();
    cfg.max_bindings = 1;
    let second = ip("2001:db8:1::300");
    cfg.security_associations.push(sa(2000, [9; 16], second));
    let mut ha = agent_with(cfg);
    register(&mut ha, &Bu::new(1, 150, Instant::ZERO), Instant::ZERO);
    let mut bu = Bu::new(1, 150, secs(2.0));
    bu.hao = Some(second);
    bu.spi = Some(2000);
    bu.key = [9; 16];
    let out = bu.feed(&mut ha, secs(2.0));
    assert!(!installs(&out));
    assert_eq!(ba(&out).status(), 130);
    assert_eq!(ha.status(secs(2.0)).bindings.len(), 1);
}

// ---------------------------------------------------------------- HA-8 --

#[test]
fn ha8_lifetime_is_capped_by_configuration() {
    let mut cfg = config();
    cfg.max_binding_lifetime = Duration::from_secs(600);
    let mut ha = agent_with(cfg);
    let (seen, _) = register(&mut ha, &Bu::new(1, 65535, Instant::ZERO), Instant::ZERO);
    assert_eq!((seen.status(), seen.ba.lifetime.0), (0, 150));
    // Never longer than asked.
    let mut ha = agent();
    let (seen, _) = register(&mut ha, &Bu::new(1, 10, Instant::ZERO), Instant::ZERO);
    assert_eq!(seen.ba.lifetime.0, 10);
}

#[test]
fn ha8_lifetime_cut_by_the_home_prefix_gets_status_1() {
    let mut cfg = config();
    cfg.home_links[0].prefixes = vec![ServedPrefix {
        prefix: "2001:db8:1::/64".parse().unwrap(),
        valid_until: Some(secs(400.0)),
        preferred_until: None,
    }];
    let mut ha = agent_with(cfg);
    let (seen, _) = register(&mut ha, &Bu::new(1, 150, Instant::ZERO), Instant::ZERO);
    assert_eq!(seen.status(), 1);
    assert_eq!(seen.ba.lifetime.0, 100, "400 s in 4 s units");
    assert!(seen.authenticates(coa(), hoa(), &KEY));
}

// ---------------------------------------------------------------- HA-9 --

fn solicited_node(a: Ipv6Addr) -> Ipv6Addr {
    let o = a.octets();
    Ipv6Addr::new(
        0xff02,
        0,
        0,
        0,
        0,
        1,
        0xff00 | u16::from(o[13]),
        u16::from_be_bytes([o[14], o[15]]),
    )
}

#[test]
fn ha9_proxy_dad_solicits_from_unspecified_and_holds_the_ba() {
    let mut ha = agent();
    let out = Bu::new(1, 150, Instant::ZERO).feed(&mut ha, Instant::ZERO);
    assert_eq!(out.len(), 1, "only the DAD probe: {out:#?}");
    let HaOutput::Icmp6(t) = &out[0] else {
        panic!("{out:?}")
    };
    assert_eq!(t.ifindex, HOME_IF);
    assert_eq!(t.src, Some(Ipv6Addr::UNSPECIFIED));
    assert_eq!(t.dst, solicited_node(hoa()));
    assert_eq!(t.hop_limit, Some(255));
    let NdMessage::NeighborSolicit(ns) = NdMessage::parse(&t.payload).unwrap() else {
        panic!()
    };
    assert_eq!(ns.target, hoa());
    assert!(ns.options.is_empty(), "no SLLA from ::");
    let st = ha.status(Instant::ZERO);
    assert_eq!(st.bindings[0].state, BindingState::Dad { ba_at: secs(1.0) });
    assert_eq!(ha.poll_timeout(), Some(secs(1.0)));
    ha.handle_timeout(secs(0.999));
    assert!(drain(&mut ha).is_empty(), "held ~1 s");
    ha.handle_timeout(secs(1.0));
    assert!(installs(&drain(&mut ha)));
}

#[test]
fn ha9_dad_conflict_gets_134_and_nothing_installed() {
    for conflict in ["na", "ns"] {
        let mut ha = agent();
        Bu::new(1, 150, Instant::ZERO).feed(&mut ha, Instant::ZERO);
        let owner = ip("fe80::99");
        let (src, bytes) = if conflict == "na" {
            let na = NeighborAdvert::new(hoa(), false, false, true);
            (owner, NdMessage::NeighborAdvert(na).to_bytes())
        } else {
            let ns = NeighborSolicit::new(hoa());
            (
                Ipv6Addr::UNSPECIFIED,
                NdMessage::NeighborSolicit(ns).to_bytes(),
            )
        };
        // Hop limit below 255: not from the link, ignored.
        ha.handle_icmp6(secs(0.5), &icmp6(HOME_IF, src, ip("ff02::1"), 64, &bytes));
        assert!(drain(&mut ha).is_empty());
        assert_eq!(ha.status(secs(0.5)).bindings.len(), 1);
        ha.handle_icmp6(secs(0.5), &icmp6(HOME_IF, src, ip("ff02::1"), 255, &bytes));
        let out = drain(&mut ha);
        let seen = assert_refused(&ha, &out, 134);
        assert!(seen.authenticates(coa(), hoa(), &KEY));
        assert_eq!(ha.counters().dad_conflicts, 1);
        ha.handle_timeout(secs(2.0));
        assert!(drain(&mut ha).is_empty(), "{conflict}: nothing after");
    }
}

#[test]
fn ha9_a_resolution_is_not_a_conflict() {
    let mut ha = agent();
    Bu::new(1, 150, Instant::ZERO).feed(&mut ha, Instant::ZERO);
    let ns = NdMessage::NeighborSolicit(NeighborSolicit::new(hoa())).to_bytes();
    ha.handle_icmp6(
        secs(0.5),
        &icmp6(HOME_IF, ip("fe80::99"), solicited_node(hoa()), 255, &ns),
    );
    assert!(drain(&mut ha).is_empty());
    assert_eq!(ha.status(secs(0.5)).bindings.len(), 1);
}

#[test]
fn ha9_l_flag_defends_the_link_local_address_too() {
    let mut ha = agent();
    let mut bu = Bu::new(1, 150, Instant::ZERO);
    bu.flags.link_local_compat = true;
    let out = bu.feed(&mut ha, Instant::ZERO);
    let targets: Vec<_> = out
        .iter()
        .map(|o| match o {
            HaOutput::Icmp6(t) => match NdMessage::parse(&t.payload).unwrap() {
                NdMessage::NeighborSolicit(ns) => ns.target,
                m => panic!("{m:?}"),
            },
            o => panic!("{o:?}"),
        })
        .collect();
    let ll = ip("fe80::200");
    assert_eq!(targets, vec![hoa(), ll]);
    // A conflict on the link-local address refuses the binding as well.
    let na = NdMessage::NeighborAdvert(NeighborAdvert::new(ll, false, false, true)).to_bytes();
    ha.handle_icmp6(secs(0.2), &icmp6(HOME_IF, ll, ip("ff02::1"), 255, &na));
    assert_eq!(ba(&drain(&mut ha)).status(), 134);
    // Without conflict both get a proxy entry.
    let mut ha = agent();
    bu.feed(&mut ha, Instant::ZERO);
    ha.handle_timeout(secs(1.0));
    let proxies: Vec<_> = drain(&mut ha)
        .into_iter()
        .filter_map(|o| match o {
            HaOutput::Kernel(KernelOp::SetProxyNeighbour(p)) => Some(p.addr),
            _ => None,
        })
        .collect();
    assert_eq!(proxies, vec![IpAddr::V6(hoa()), IpAddr::V6(ll)]);
}

#[test]
fn ha9_updates_during_dad_only_change_care_of_and_sequence() {
    let mut ha = agent();
    Bu::new(1, 150, Instant::ZERO).feed(&mut ha, Instant::ZERO);
    let moved = ip("2001:db8:3::9");
    let mut second = Bu::new(2, 150, secs(0.5));
    second.src = moved;
    second.alt_coa = Some(moved);
    let out = second.feed(&mut ha, secs(0.5));
    assert!(out.is_empty(), "no BA, no new probe: {out:#?}");
    ha.handle_timeout(secs(1.0));
    let out = drain(&mut ha);
    assert!(out.contains(&HaOutput::DataPlane(BindingOp::Upsert {
        prefixes: Vec::new(),
        hoa: hoa(),
        care_of: moved,
        mtu: 1460,
        udp: None,
        ipv4_home: None,
    })));
    ha.handle_applied(secs(1.0), barrier(&out), true);
    let seen = ba(&drain(&mut ha));
    assert_eq!((seen.status(), seen.ba.sequence, seen.dst), (0, 2, moved));
    assert!(seen.authenticates(moved, hoa(), &KEY));
}

// --------------------------------------------------------------- HA-10 --

#[test]
fn ha10_outputs_in_order_proxy_route_dataplane_na_ba() {
    let mut ha = agent();
    Bu::new(1, 150, Instant::ZERO).feed(&mut ha, Instant::ZERO);
    ha.handle_timeout(secs(1.0));
    let out = drain(&mut ha);
    assert_eq!(out.len(), 4, "{out:#?}");
    let HaOutput::Kernel(KernelOp::SetProxyNeighbour(p)) = &out[0] else {
        panic!("{out:?}")
    };
    assert_eq!(
        (p.owner, p.ifindex, p.addr),
        (Owner::HomeAgent, HOME_IF, IpAddr::V6(hoa()))
    );
    let HaOutput::Kernel(KernelOp::SetRoute(r)) = &out[1] else {
        panic!("{out:?}")
    };
    assert_eq!(r.owner, Owner::HomeAgent);
    assert_eq!(r.dst.to_string(), "2001:db8:1::200/128");
    assert_eq!(r.ifindex, Some(TUN_IF));
    assert_eq!(
        out[2],
        HaOutput::DataPlane(BindingOp::Upsert {
            prefixes: Vec::new(),
            hoa: hoa(),
            care_of: coa(),
            mtu: 1460,
            udp: None,
            ipv4_home: None,
        })
    );
    let HaOutput::Barrier(ticket) = out[3] else {
        panic!("{out:?}")
    };
    ha.handle_applied(secs(1.0), ticket, true);
    let out = drain(&mut ha);
    assert_eq!(out.len(), 2, "{out:#?}");
    let HaOutput::Icmp6(t) = &out[0] else {
        panic!("{out:?}")
    };
    assert_eq!(
        (t.ifindex, t.dst, t.hop_limit),
        (HOME_IF, ip("ff02::1"), Some(255))
    );
    let NdMessage::NeighborAdvert(na) = NdMessage::parse(&t.payload).unwrap() else {
        panic!()
    };
    assert_eq!(na.target, hoa());
    assert!(na.override_flag && !na.solicited && !na.router);
    assert_eq!(
        na.options.as_slice(),
        [NdOption::TargetLla(HA_LLA.to_vec())]
    );
    let seen = ba(&out[1..]);
    assert_eq!(seen.status(), 0);
    assert_eq!(
        (seen.src, seen.dst, seen.rh2),
        (ha_addr(), coa(), Some(hoa()))
    );
    assert_eq!(seen.ba.lifetime.0, 150);
    assert_eq!(seen.ba.sequence, 1);
    let advice = seen.options.binding_refresh_advice().expect("BRA");
    assert_eq!(advice.0, 120, "80 % of the lifetime");
    assert!(seen.authenticates(coa(), hoa(), &KEY));
    let st = ha.status(secs(1.0));
    assert_eq!(st.bindings[0].state, BindingState::Bound);
    assert_eq!(st.bindings[0].remaining, Duration::from_secs(600));
    assert_eq!(ha.poll_timeout(), Some(secs(601.0)));
}

#[test]
fn ha10_without_dad_or_tunnel_route() {
    let mut cfg = config();
    cfg.dad_delay = None;
    cfg.tunnel_ifindex = None;
    let mut ha = agent_with(cfg);
    let out = Bu::new(1, 150, Instant::ZERO).feed(&mut ha, Instant::ZERO);
    assert!(matches!(
        out.as_slice(),
        [
            HaOutput::Kernel(KernelOp::SetProxyNeighbour(_)),
            HaOutput::DataPlane(BindingOp::Upsert { .. }),
            HaOutput::Barrier(_)
        ]
    ));
}

// --------------------------------------------------------------- HA-11 --

#[test]
fn ha11_refresh_gets_a_ba_at_once() {
    let mut ha = agent();
    let (_, at) = register(&mut ha, &Bu::new(1, 150, Instant::ZERO), Instant::ZERO);
    let now = at + Duration::from_secs(300);
    let out = Bu::new(2, 150, now).feed(&mut ha, now);
    assert_eq!(out.len(), 1, "only the BA: {out:#?}");
    let seen = ba(&out);
    assert_eq!((seen.status(), seen.ba.sequence), (0, 2));
    assert_eq!(
        ha.status(now).bindings[0].remaining,
        Duration::from_secs(600)
    );
    // A new care-of address: the data plane follows before the BA.
    let now = now + Duration::from_secs(1);
    let moved = ip("2001:db8:3::9");
    let mut bu = Bu::new(3, 150, now);
    bu.src = moved;
    bu.alt_coa = Some(moved);
    let out = bu.feed(&mut ha, now);
    assert_eq!(out.len(), 2, "{out:#?}");
    assert_eq!(
        out[0],
        HaOutput::DataPlane(BindingOp::Upsert {
            prefixes: Vec::new(),
            hoa: hoa(),
            care_of: moved,
            mtu: 1460,
            udp: None,
            ipv4_home: None,
        })
    );
    let ticket = barrier(&out);
    // Until then, another BU for the address waits.
    let later = now + Duration::from_millis(100);
    assert!(Bu::new(4, 150, later).feed(&mut ha, later).is_empty());
    assert_eq!(dropped(&ha, DropReason::AwaitingKernel), 1);
    ha.handle_applied(now, ticket, true);
    let out = drain(&mut ha);
    assert_eq!(out.len(), 1, "no second NA: {out:#?}");
    assert_eq!(ba(&out).dst, moved);
}

// --------------------------------------------------------------- HA-12 --

#[test]
fn ha12_deregistration_removes_everything_before_the_ba() {
    let mut ha = agent();
    let (_, at) = register(&mut ha, &Bu::new(1, 150, Instant::ZERO), Instant::ZERO);
    let now = at + Duration::from_secs(10);
    let out = Bu::new(2, 0, now).feed(&mut ha, now);
    assert_eq!(out.len(), 4, "{out:#?}");
    assert!(
        matches!(&out[0], HaOutput::Kernel(KernelOp::DelProxyNeighbour(p)) if p.addr == IpAddr::V6(hoa()))
    );
    assert!(
        matches!(&out[1], HaOutput::Kernel(KernelOp::DelRoute(r)) if r.ifindex == Some(TUN_IF))
    );
    assert_eq!(
        out[2],
        HaOutput::DataPlane(BindingOp::Remove { hoa: hoa() })
    );
    assert!(bas(&out).is_empty(), "HA-20: BA only after removal");
    assert!(ha.status(now).bindings.is_empty());
    ha.handle_applied(now, barrier(&out), true);
    let seen = ba(&drain(&mut ha));
    assert_eq!(
        (seen.status(), seen.ba.lifetime.0, seen.ba.sequence),
        (0, 0, 2)
    );
    assert!(seen.options.binding_refresh_advice().is_none());
    assert!(seen.authenticates(coa(), hoa(), &KEY));
}

#[test]
fn ha12_deregistration_from_home_gets_a_ba_without_rh2() {
    let mut ha = agent();
    let (_, at) = register(&mut ha, &Bu::new(1, 150, Instant::ZERO), Instant::ZERO);
    // Back home: from the home address, care-of = home address.
    let mut bu = Bu::new(2, 150, at);
    bu.src = hoa();
    bu.hao = None;
    bu.alt_coa = Some(hoa());
    let out = bu.feed(&mut ha, at);
    ha.handle_applied(at, barrier(&out), true);
    let seen = ba(&drain(&mut ha));
    assert_eq!((seen.dst, seen.rh2), (hoa(), None));
    assert_eq!((seen.status(), seen.ba.lifetime.0), (0, 0));
}

#[test]
fn ha12_deregistration_without_a_binding_gets_133() {
    let mut ha = agent();
    let out = Bu::new(1, 0, Instant::ZERO).feed(&mut ha, Instant::ZERO);
    let seen = assert_refused(&ha, &out, 133);
    assert!(seen.authenticates(coa(), hoa(), &KEY));
    assert!(
        !out.iter()
            .any(|o| matches!(o, HaOutput::Kernel(_) | HaOutput::DataPlane(_)))
    );
}

#[test]
fn ha12_deregistration_during_dad_installs_and_removes_nothing() {
    let mut ha = agent();
    Bu::new(1, 150, Instant::ZERO).feed(&mut ha, Instant::ZERO);
    let out = Bu::new(2, 0, secs(0.5)).feed(&mut ha, secs(0.5));
    assert_eq!(out.len(), 1, "{out:#?}");
    assert_eq!(ba(&out).status(), 0);
    ha.handle_timeout(secs(1.0));
    assert!(drain(&mut ha).is_empty());
}

// --------------------------------------------------------------- HA-15 --

#[test]
fn ha15_expiry_removes_everything() {
    let mut ha = agent();
    let (_, at) = register(&mut ha, &Bu::new(1, 2, Instant::ZERO), Instant::ZERO);
    let expiry = at + Duration::from_secs(8);
    assert_eq!(ha.poll_timeout(), Some(expiry));
    ha.handle_timeout(Instant::from_micros(expiry.as_micros() - 1));
    assert!(drain(&mut ha).is_empty());
    ha.handle_timeout(expiry);
    let out = drain(&mut ha);
    assert!(
        matches!(
            out.as_slice(),
            [
                HaOutput::Kernel(KernelOp::DelProxyNeighbour(_)),
                HaOutput::Kernel(KernelOp::DelRoute(_)),
                HaOutput::DataPlane(BindingOp::Remove { .. })
            ]
        ),
        "{out:#?}"
    );
    assert!(ha.status(expiry).bindings.is_empty());
    assert_eq!(ha.counters().expired, 1);
    assert_eq!(ha.poll_timeout(), None);
}

#[test]
fn ha15_icmp_errors_never_remove_a_home_registration() {
    let mut ha = agent();
    let (_, at) = register(&mut ha, &Bu::new(1, 150, Instant::ZERO), Instant::ZERO);
    // Destination Unreachable and Parameter Problem quoting our BA.
    for icmp_type in [1u8, 4] {
        let mut bytes = vec![icmp_type, 0, 0, 0, 0, 0, 0, 0];
        bytes.extend_from_slice(&[0x60; 48]);
        ha.handle_icmp6(at, &icmp6(OUTSIDE_IF, coa(), ha_addr(), 64, &bytes));
    }
    assert!(drain(&mut ha).is_empty());
    assert_eq!(ha.status(at).bindings[0].state, BindingState::Bound);
}

// --------------------------------------------------------------- HA-17 --

fn anycast() -> Ipv6Addr {
    ip("2001:db8:1:0:fdff:ffff:ffff:fffe")
}

fn dhaad_request(mobile_router: bool) -> Vec<u8> {
    MobilityIcmp::HaadRequest(HaadRequest {
        identifier: 0x4242,
        mobile_router,
        reserved: 0,
    })
    .to_bytes()
}

fn dhaad_reply(
    ha: &mut v6edge_mip6::ha::HomeAgent,
    mobile_router: bool,
) -> Option<(Ipv6Addr, Vec<Ipv6Addr>)> {
    let req = dhaad_request(mobile_router);
    ha.handle_icmp6(Instant::ZERO, &icmp6(HOME_IF, coa(), anycast(), 64, &req));
    let out = drain(ha);
    let t = match out.as_slice() {
        [] => return None,
        [HaOutput::Icmp6(t)] => t,
        o => panic!("{o:?}"),
    };
    assert_eq!(t.dst, coa());
    let Ok(MobilityIcmp::HaadReply(r)) = MobilityIcmp::parse(&t.payload) else {
        panic!()
    };
    assert_eq!(r.identifier, 0x4242);
    assert_eq!(r.mobile_router, mobile_router);
    Some((t.src.unwrap(), r.home_agents))
}

#[test]
fn ha17_dhaad_reply_lists_home_agents_by_preference() {
    let peer = |n: &str, preference, mobile_router| PeerHomeAgent {
        address: ip(n),
        preference,
        mobile_router,
    };
    let mut cfg = config();
    cfg.home_links[0].peers = vec![
        peer("2001:db8:1::2", 20, false),
        peer("2001:db8:1::3", 10, true),
        peer("2001:db8:1::4", 10, false),
        peer("2001:db8:1::5", -5, true),
    ];
    let mut first_of_ties = std::collections::BTreeSet::new();
    for seed in 0..32 {
        let mut ha = v6edge_mip6::ha::HomeAgent::new(cfg.clone(), seed, Instant::ZERO).unwrap();
        let (src, list) = dhaad_reply(&mut ha, false).expect("a reply");
        assert_eq!(src, ha_addr(), "from the unicast address");
        assert_eq!(list.len(), 5);
        assert_eq!(list[0], ip("2001:db8:1::2"));
        assert_eq!(list[4], ip("2001:db8:1::5"));
        let mut ties = list[1..4].to_vec();
        first_of_ties.insert(ties[0]);
        ties.sort();
        assert_eq!(
            ties,
            vec![ha_addr(), ip("2001:db8:1::3"), ip("2001:db8:1::4")]
        );
        // A mobile router gets only home agents that serve mobile routers.
        let (_, list) = dhaad_reply(&mut ha, true).expect("a reply");
        assert_eq!(list, vec![ip("2001:db8:1::3"), ip("2001:db8:1::5")]);
    }
    assert_eq!(first_of_ties.len(), 3, "ties shuffled by the seeded RNG");
}

fn home_agent_ra(h_flag: bool, info: Option<(i16, u16)>, router_lifetime: u16) -> Vec<u8> {
    let mut ra = RouterAdvert::new(64, router_lifetime);
    ra.flags.home_agent = h_flag;
    let mut pio = PrefixInfo::new(
        ip("2001:db8:1::2"),
        64,
        Lifetime::Finite(86400),
        Lifetime::Finite(14400),
    );
    pio.router_addr = true;
    ra.options.push(NdOption::PrefixInfo(pio));
    if let Some((preference, lifetime)) = info {
        ra.options.push(NdOption::HomeAgentInfo(HomeAgentInfo {
            reserved: 0,
            preference,
            lifetime,
        }));
    }
    NdMessage::RouterAdvert(ra).to_bytes()
}

#[test]
fn ha16_home_agents_learnt_from_ras_join_and_leave_the_dhaad_list() {
    let mut ha = agent();
    let peer_ll = ip("fe80::2");
    let ra = home_agent_ra(true, Some((50, 30)), 1800);
    // From off-link (hop limit) or a global source: ignored.
    ha.handle_icmp6(
        Instant::ZERO,
        &icmp6(HOME_IF, peer_ll, ip("ff02::1"), 64, &ra),
    );
    ha.handle_icmp6(
        Instant::ZERO,
        &icmp6(HOME_IF, ip("2001:db8:1::2"), ip("ff02::1"), 255, &ra),
    );
    assert_eq!(dhaad_reply(&mut ha, false).unwrap().1, vec![ha_addr()]);
    ha.handle_icmp6(
        Instant::ZERO,
        &icmp6(HOME_IF, peer_ll, ip("ff02::1"), 255, &ra),
    );
    assert_eq!(
        dhaad_reply(&mut ha, false).unwrap().1,
        vec![ip("2001:db8:1::2"), ha_addr()],
        "the R-flag PIO address, by preference"
    );
    // HA Information lifetime 0, or no H flag: gone.
    let gone = home_agent_ra(true, Some((50, 0)), 1800);
    ha.handle_icmp6(
        Instant::ZERO,
        &icmp6(HOME_IF, peer_ll, ip("ff02::1"), 255, &gone),
    );
    assert_eq!(dhaad_reply(&mut ha, false).unwrap().1, vec![ha_addr()]);
    ha.handle_icmp6(
        Instant::ZERO,
        &icmp6(HOME_IF, peer_ll, ip("ff02::1"), 255, &ra),
    );
    let plain = home_agent_ra(false, None, 1800);
    ha.handle_icmp6(
        Instant::ZERO,
        &icmp6(HOME_IF, peer_ll, ip("ff02::1"), 255, &plain),
    );
    assert_eq!(dhaad_reply(&mut ha, false).unwrap().1, vec![ha_addr()]);
    // Without the option: preference 0, the router lifetime; it expires.
    let bare = home_agent_ra(true, None, 20);
    ha.handle_icmp6(
        Instant::ZERO,
        &icmp6(HOME_IF, peer_ll, ip("ff02::1"), 255, &bare),
    );
    assert_eq!(
        dhaad_reply(&mut ha, false).unwrap().1,
        vec![ha_addr(), ip("2001:db8:1::2")]
    );
    ha.handle_timeout(secs(20.0));
    assert_eq!(dhaad_reply(&mut ha, false).unwrap().1, vec![ha_addr()]);
    // Only mobile-router home agents asked for, none known: no reply.
    assert_eq!(dhaad_reply(&mut ha, true), None);
}

#[test]
fn ha17_dhaad_only_on_the_anycast_address() {
    let mut ha = agent();
    let req = dhaad_request(false);
    ha.handle_icmp6(Instant::ZERO, &icmp6(HOME_IF, coa(), ha_addr(), 64, &req));
    ha.handle_icmp6(
        Instant::ZERO,
        &icmp6(
            OUTSIDE_IF,
            coa(),
            ip("2001:db8:7::fdff:ffff:ffff:fffe"),
            64,
            &req,
        ),
    );
    assert!(drain(&mut ha).is_empty());
    assert_eq!(dropped(&ha, DropReason::DhaadNotAnycast), 2);
    assert_eq!(ha.counters().dhaad_replies, 0);
    // From away, on the interface facing the mobile node: answered, by
    // the routing table (RFC 6275 §10.5.1).
    ha.handle_icmp6(
        Instant::ZERO,
        &icmp6(OUTSIDE_IF, coa(), anycast(), 64, &req),
    );
    let out = drain(&mut ha);
    assert!(
        matches!(out.as_slice(), [HaOutput::Icmp6(t)] if t.ifindex == 0 && t.dst == coa() && t.src == Some(ha_addr())),
        "{out:#?}"
    );
}

// --------------------------------------------------------------- HA-20 --

#[test]
fn ha20_ba_waits_for_the_driver_and_failure_gets_143() {
    let mut ha = agent();
    Bu::new(1, 150, Instant::ZERO).feed(&mut ha, Instant::ZERO);
    ha.handle_timeout(secs(1.0));
    let out = drain(&mut ha);
    let ticket = barrier(&out);
    assert!(bas(&out).is_empty());
    assert_eq!(
        ha.status(secs(1.0)).bindings[0].state,
        BindingState::Installing
    );
    // Timers do not release it, an unknown ticket neither.
    ha.handle_timeout(secs(30.0));
    ha.handle_applied(secs(30.0), v6edge_mip6::ha::ApplyTicket(9999), true);
    assert!(drain(&mut ha).is_empty());
    ha.handle_applied(secs(30.0), ticket, false);
    let out = drain(&mut ha);
    // Everything undone, then the BA.
    assert!(
        matches!(
            out.as_slice(),
            [
                HaOutput::Kernel(KernelOp::DelProxyNeighbour(_)),
                HaOutput::Kernel(KernelOp::DelRoute(_)),
                HaOutput::DataPlane(BindingOp::Remove { .. }),
                HaOutput::Mh(_)
            ]
        ),
        "{out:#?}"
    );
    assert_eq!(ba(&out).status(), 143);
    assert!(ha.status(secs(30.0)).bindings.is_empty());
    // Applying the same ticket twice does nothing.
    ha.handle_applied(secs(30.0), ticket, true);
    assert!(drain(&mut ha).is_empty());
}

// --------------------------------------------------------- persistence --

#[test]
fn restore_reemits_kernel_and_dataplane_state() {
    let mut ha = agent();
    let mut bu = Bu::new(1, 150, Instant::ZERO);
    bu.flags.link_local_compat = true;
    let (_, at) = register(&mut ha, &bu, Instant::ZERO);
    let records = ha.bindings();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].expires_at, at + Duration::from_secs(600));
    assert_eq!(records[0].last_replay, Some(ntp_at(Instant::ZERO)));

    let mut restarted = agent();
    // Within the 7 s window of the BU's timestamp.
    let now = at + Duration::from_secs(2);
    assert_eq!(restarted.restore(records.clone(), now), 1);
    let out = drain(&mut restarted);
    assert!(
        matches!(
            out.as_slice(),
            [
                HaOutput::Kernel(KernelOp::SetProxyNeighbour(_)),
                HaOutput::Kernel(KernelOp::SetProxyNeighbour(_)),
                HaOutput::Kernel(KernelOp::SetRoute(_)),
                HaOutput::DataPlane(BindingOp::Upsert { .. })
            ]
        ),
        "{out:#?}"
    );
    assert_eq!(restarted.bindings(), records);
    assert_eq!(
        restarted.poll_timeout(),
        Some(at + Duration::from_secs(600))
    );
    // The replay state came back: the BU already accepted is a replay.
    let out = bu.feed(&mut restarted, now);
    assert!(out.is_empty());
    assert_eq!(dropped(&restarted, DropReason::Replayed), 1);
    // Expired records, and records for unserved addresses, are not taken.
    let mut late = agent();
    assert_eq!(
        late.restore(records.clone(), at + Duration::from_secs(600)),
        0
    );
    let mut other = records[0].clone();
    other.home_address = ip("2001:db8:99::1");
    assert_eq!(late.restore(vec![other], now), 0);
    assert!(drain(&mut late).is_empty());
}

#[test]
fn status_counts_messages_and_statuses() {
    let mut ha = agent();
    register(&mut ha, &Bu::new(1, 150, Instant::ZERO), Instant::ZERO);
    let mut bad = Bu::new(2, 150, secs(2.0));
    bad.corrupt_authenticator = true;
    bad.feed(&mut ha, secs(2.0));
    let st = ha.status(secs(2.0));
    assert_eq!(st.counters.received.get(&5), Some(&2));
    assert_eq!(st.counters.ba_sent.get(&0), Some(&1));
    assert_eq!(st.counters.ba_sent.get(&146), Some(&1));
    assert_eq!(st.counters.auth_failures, 1);
    assert_eq!(st.bindings[0].spi, Some(SPI));
    assert_eq!(st.bindings[0].care_of, coa());
}

// ------------------------------------------------------------ stopping --

/// A clean stop removes what the kernel and the data plane hold for each
/// binding, and keeps the binding for persistence (restored at start).
#[test]
fn withdraw_removes_kernel_state_and_keeps_the_binding() {
    let mut ha = agent();
    let (seen, at) = register(&mut ha, &Bu::new(1, 100, Instant::ZERO), Instant::ZERO);
    assert_eq!(seen.status(), 0);
    ha.withdraw();
    let out = drain(&mut ha);
    assert!(
        out.iter().any(|o| matches!(o,
        HaOutput::Kernel(KernelOp::DelProxyNeighbour(p)) if p.addr == std::net::IpAddr::V6(hoa())))
    );
    assert!(out.iter().any(|o| matches!(o,
        HaOutput::Kernel(KernelOp::DelRoute(r)) if r.dst == v6edge_prefix::Prefix::new(hoa(), 128).unwrap())));
    assert!(out.contains(&HaOutput::DataPlane(BindingOp::Remove { hoa: hoa() })));
    let kept = ha.bindings();
    assert_eq!(kept.len(), 1);
    let mut restarted = agent();
    assert_eq!(restarted.restore(kept, at), 1);
    assert!(installs(&drain(&mut restarted)));
}

/// HA-7: a persisted binding the access rules now refuse is not restored.
#[test]
fn ha7_restore_skips_bindings_the_acl_refuses() {
    let mut ha = agent();
    let (_, at) = register(&mut ha, &Bu::new(1, 100, Instant::ZERO), Instant::ZERO);
    let kept = ha.bindings();
    let mut cfg = config();
    cfg.acl = vec![v6edge_mip6::ha::AclRule {
        home_addresses: v6edge_prefix::Prefix::new(hoa(), 128).unwrap(),
        action: v6edge_mip6::ha::AclAction::Deny,
    }];
    let mut restarted = agent_with(cfg);
    assert_eq!(restarted.restore(kept, at), 0);
    assert!(drain(&mut restarted).is_empty());
}

/// RFC 3963 §5.7: a mobile router that deregisters from its home link
/// keeps its mobile networks reachable there: routed via its home address
/// on the home link instead of into the tunnel, until it registers away
/// again (the tunnel route replaces it) or the home agent stops.
#[test]
fn a_mobile_router_back_home_is_routed_on_the_home_link() {
    let mut cfg = config();
    cfg.mobile_routers = vec![v6edge_mip6::ha::MobileRouterPermit {
        home_address: hoa(),
        prefixes: vec!["2001:db8:10::/48".parse().unwrap()],
    }];
    let mut ha = agent_with(cfg);
    let mnp: v6edge_prefix::Prefix = "2001:db8:10::/64".parse().unwrap();
    let mr_bu = |sequence: u16, at: Instant| {
        let mut bu = Bu::new(sequence, 150, at);
        bu.flags.mobile_router = true;
        bu.extra.push(MhOption::MobileNetworkPrefix(
            v6edge_wire::mh::MobileNetworkPrefix::new(ip("2001:db8:10::"), 64),
        ));
        bu
    };
    let routes = |out: &[HaOutput], set: bool| -> Vec<(Option<Ipv6Addr>, Option<u32>)> {
        out.iter()
            .filter_map(|o| match o {
                HaOutput::Kernel(KernelOp::SetRoute(r)) if set && r.dst == mnp => {
                    Some((r.gateway, r.ifindex))
                }
                HaOutput::Kernel(KernelOp::DelRoute(r)) if !set && r.dst == mnp => {
                    Some((r.gateway, r.ifindex))
                }
                _ => None,
            })
            .collect()
    };
    let (_, at) = register(&mut ha, &mr_bu(1, Instant::ZERO), Instant::ZERO);
    // Back home: from the home address, care-of = home address.
    let mut home = mr_bu(2, at);
    home.src = hoa();
    home.hao = None;
    home.alt_coa = Some(hoa());
    let out = home.feed(&mut ha, at);
    assert_eq!(routes(&out, false), vec![(None, Some(TUN_IF))], "{out:#?}");
    assert_eq!(routes(&out, true), vec![(Some(hoa()), Some(HOME_IF))]);
    ha.handle_applied(at, barrier(&out), true);
    assert_eq!(ba(&drain(&mut ha)).status(), 0);
    // Away again: the tunnel route replaces it; nothing deletes it.
    let at = at + Duration::from_secs(10);
    let (_, at) = {
        let bu = mr_bu(3, at);
        let out = bu.feed(&mut ha, at);
        assert!(routes(&out, true).is_empty(), "nothing before DAD ends");
        let at = at + Duration::from_secs(1);
        ha.handle_timeout(at);
        let out = drain(&mut ha);
        assert_eq!(routes(&out, true), vec![(None, Some(TUN_IF))]);
        assert!(routes(&out, false).is_empty(), "{out:#?}");
        ha.handle_applied(at, barrier(&out), true);
        (ba(&drain(&mut ha)), at)
    };
    // Home again, then the home agent stops: the home-link route goes.
    let mut home = mr_bu(4, at);
    home.src = hoa();
    home.hao = None;
    home.alt_coa = Some(hoa());
    let out = home.feed(&mut ha, at);
    ha.handle_applied(at, barrier(&out), true);
    drain(&mut ha);
    ha.withdraw();
    let out = drain(&mut ha);
    assert_eq!(routes(&out, false), vec![(Some(hoa()), Some(HOME_IF))]);
}
