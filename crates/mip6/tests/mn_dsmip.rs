//! The mobile node's Dual-Stack Mobile IPv6 (RFC 5555, mobility.md §1.9
//! DS-1…DS-10, scenarios MT-18…MT-21): IPv4 link facts in, Binding Updates
//! in UDP out (decoded as real bytes), BAs built with the wire crate and
//! signed with the harness SA, and the kernel state the machine asks for
//! replayed into a model that must hold exactly what the location needs
//! after every move.

mod common;

use common::*;
use proptest::prelude::*;
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddrV4};
use std::time::Duration;
use v6edge_core::{
    Address4Spec, Instant, KernelOp, Owner, Prefix4, Route4Spec, RouteSpec, RouteTable, RouteType,
    RuleSpec,
};
use v6edge_mip6::auth::{self, MnHaKey, NtpTimestamp, ReplayMode};
use v6edge_mip6::dataplane::{DropCause, MnOutbound, MobileNodeTunnel, Verdict};
use v6edge_mip6::dsmip;
use v6edge_mip6::mn::{
    BulState, DropReason, LinkEvent, Location, MnConfig, MnDsmipConfig, MnOutput, MnReceived,
    MnSecurity, MnTunnel, MobileNode, Notice, TunnelOp, UdpTransmit, UdpTunnel,
};
use v6edge_prefix::Prefix;
use v6edge_wire::mh::{
    BaFlags, BaStatus, BindingAck, BindingUpdate, FourSeconds, Ipv4AddressAck, MhBody, MhOption,
    MobilityHeader, NatDetection, auth as mh_auth, fill_checksum, verify_checksum,
};

const WIFI: u32 = 3;
const LTE: u32 = 4;
const MN_TUN: u32 = 20;

fn v4(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}
fn ha_v4() -> Ipv4Addr {
    v4("169.254.255.1")
}
fn ha_endpoint() -> SocketAddrV4 {
    SocketAddrV4::new(ha_v4(), 4191)
}
fn coa4() -> Ipv4Addr {
    v4("169.254.2.5")
}
fn coa4b() -> Ipv4Addr {
    v4("169.254.2.6")
}
fn router4() -> Ipv4Addr {
    v4("169.254.2.1")
}
fn hoa4() -> Ipv4Addr {
    v4("169.254.1.50")
}
fn router6() -> Ipv6Addr {
    ip("fe80::1")
}
fn coa2() -> Ipv6Addr {
    ip("2001:db8:3::7")
}

fn dsmip_config(request_ipv4_home: bool) -> MnConfig {
    let mut config = MnConfig::new(
        hoa(),
        "2001:db8:1::/64".parse().unwrap(),
        Some(ha_addr()),
        vec![WIFI, LTE],
        MN_TUN,
        MnSecurity {
            spi: SPI,
            key: MnHaKey::new(KEY),
            replay: ReplayMode::default(),
        },
    );
    config.dsmip = Some(MnDsmipConfig {
        request_ipv4_home,
        ..MnDsmipConfig::new(ha_v4())
    });
    config
}

fn node_with(config: MnConfig) -> MobileNode {
    let mut mn = MobileNode::new(config, 11, Instant::ZERO).expect("valid config");
    mn.set_wall_clock(Instant::ZERO, NtpTimestamp(T0_NTP));
    mn
}

fn drain(mn: &mut MobileNode) -> Vec<MnOutput> {
    std::iter::from_fn(|| mn.poll_output()).collect()
}

fn attach6(mn: &mut MobileNode, now: Instant, ifindex: u32, care_of: Ipv6Addr) -> Vec<MnOutput> {
    mn.handle_link(
        now,
        LinkEvent::Address {
            ifindex,
            addr: care_of,
            prefix_len: 64,
            tentative: false,
            temporary: false,
            deprecated: false,
            valid_lifetime: None,
        },
    );
    mn.handle_link(
        now,
        LinkEvent::DefaultRouter {
            ifindex,
            router: Some(router6()),
        },
    );
    drain(mn)
}

fn attach4(mn: &mut MobileNode, now: Instant, ifindex: u32, care_of: Ipv4Addr) -> Vec<MnOutput> {
    mn.handle_link(
        now,
        LinkEvent::Address4 {
            ifindex,
            addr: care_of,
            prefix_len: 24,
        },
    );
    mn.handle_link(
        now,
        LinkEvent::DefaultRouter4 {
            ifindex,
            router: Some(router4()),
        },
    );
    drain(mn)
}

fn udp_bus(out: &[MnOutput]) -> Vec<UdpTransmit> {
    out.iter()
        .filter_map(|o| match o {
            MnOutput::Udp(t) => Some(t.clone()),
            _ => None,
        })
        .collect()
}

fn native_bus(out: &[MnOutput]) -> Vec<v6edge_mip6::mn::MnTransmit> {
    out.iter()
        .filter_map(|o| match o {
            MnOutput::Mh(t) => Some(t.clone()),
            _ => None,
        })
        .collect()
}

fn notices(out: &[MnOutput]) -> Vec<Notice> {
    out.iter()
        .filter_map(|o| match o {
            MnOutput::Notice(n) => Some(n.clone()),
            _ => None,
        })
        .collect()
}

/// A BU sent in UDP: the inner packet's addresses, the MH bytes, parsed.
struct Decoded {
    src: Ipv6Addr,
    dst: Ipv6Addr,
    mh: Vec<u8>,
    bu: BindingUpdate,
    message: MobilityHeader,
}

fn decode(t: &UdpTransmit) -> Decoded {
    let (src, dst, mh) = dsmip::signalling(&t.payload).expect("an IPv6 packet with an MH");
    let message = MobilityHeader::parse(mh).expect("our BU parses");
    let MhBody::BindingUpdate(bu) = message.body else {
        panic!("not a BU: {message:?}")
    };
    Decoded {
        src,
        dst,
        mh: mh.to_vec(),
        bu,
        message,
    }
}

fn decode_native(t: &v6edge_mip6::mn::MnTransmit) -> (BindingUpdate, MobilityHeader) {
    let message = MobilityHeader::parse(&t.payload).expect("our BU parses");
    let MhBody::BindingUpdate(bu) = message.body else {
        panic!("not a BU: {message:?}")
    };
    (bu, message)
}

/// The home agent's answer to a BU: status, lifetime (4 s units),
/// `extra` options before the replay and authentication options, signed
/// over `care_of`, checksum over (home agent, home address).
fn ba_bytes(
    bu: &BindingUpdate,
    bu_message: &MobilityHeader,
    status: BaStatus,
    lifetime: u16,
    extra: &[MhOption],
    care_of: Ipv6Addr,
) -> Vec<u8> {
    let mut m = MobilityHeader::new(BindingAck {
        status,
        flags: BaFlags::default(),
        sequence: bu.sequence,
        lifetime: FourSeconds(lifetime),
    });
    for o in extra {
        m.push_option(o.clone());
    }
    m.push_option(MhOption::ReplayProtection(
        bu_message
            .options
            .replay_protection()
            .expect("replay option"),
    ));
    m.push_option(MhOption::mn_ha_placeholder(SPI));
    let mut bytes = m.to_bytes();
    sign(&mut bytes, care_of, hoa(), &KEY);
    fill_checksum(ha_addr(), hoa(), &mut bytes);
    bytes
}

fn nat(refresh_time: u32) -> MhOption {
    MhOption::NatDetection(NatDetection {
        force_udp: false,
        reserved: 0,
        refresh_time,
    })
}

fn ack(status: u8, address: Ipv4Addr) -> MhOption {
    MhOption::Ipv4AddressAck(Ipv4AddressAck {
        status,
        prefix_len: 32,
        reserved: 0,
        address,
    })
}

fn feed_udp(mn: &mut MobileNode, now: Instant, from: SocketAddrV4, bytes: &[u8]) -> Vec<MnOutput> {
    mn.handle_mh_udp(
        now,
        from,
        &MnReceived {
            src: ha_addr(),
            dst: hoa(),
            hao: None,
            rh2: None,
            bytes,
        },
    );
    drain(mn)
}

/// Answers the single UDP BU of `out` with status 0 and `extra`.
fn answer_udp(
    mn: &mut MobileNode,
    now: Instant,
    out: &[MnOutput],
    extra: &[MhOption],
) -> Vec<MnOutput> {
    let bus = udp_bus(out);
    assert_eq!(bus.len(), 1, "one UDP BU in {out:#?}");
    let d = decode(&bus[0]);
    let care_of = dsmip::mapped(bus[0].src);
    let ba = ba_bytes(&d.bu, &d.message, BaStatus::Accepted, 900, extra, care_of);
    feed_udp(mn, now, ha_endpoint(), &ba)
}

/// Answers the single native BU of `out` with status 0 and `extra`: to
/// the care-of address with RH2, or to the home address from home.
fn answer_native(
    mn: &mut MobileNode,
    now: Instant,
    out: &[MnOutput],
    extra: &[MhOption],
) -> Vec<MnOutput> {
    let bus = native_bus(out);
    assert_eq!(bus.len(), 1, "one native BU in {out:#?}");
    let (bu, message) = decode_native(&bus[0]);
    let (care_of, dst, rh2) = match bus[0].hao {
        Some(_) => (bus[0].src, bus[0].src, Some(hoa())),
        None => (hoa(), hoa(), None),
    };
    let lifetime = if bu.lifetime.0 == 0 { 0 } else { 900 };
    let ba = ba_bytes(&bu, &message, BaStatus::Accepted, lifetime, extra, care_of);
    mn.handle_mh(
        now,
        &MnReceived {
            src: ha_addr(),
            dst,
            hao: None,
            rh2,
            bytes: &ba,
        },
    );
    drain(mn)
}

// ------------------------------------------------------- kernel model --

/// The kernel objects and the data-plane tunnel the machine asked for so
/// far. A delete of something absent is a defect of the machine.
#[derive(Debug, Default)]
struct Model {
    objects: BTreeSet<String>,
    tunnel: Option<MnTunnel>,
}

fn key_address6(ifindex: u32, addr: Ipv6Addr, len: u8) -> String {
    format!("addr6 {ifindex} {addr}/{len}")
}

impl Model {
    fn apply(&mut self, out: &[MnOutput]) {
        for o in out {
            match o {
                MnOutput::Kernel(op) => self.kernel(op),
                MnOutput::DataPlane(op) => self.tunnel = MnTunnel::from_op(op),
                _ => {}
            }
        }
    }

    fn kernel(&mut self, op: &KernelOp) {
        let (key, add) = match op {
            KernelOp::SetAddress(a) => (key_address6(a.ifindex, a.addr, a.prefix_len), true),
            KernelOp::DelAddress {
                ifindex,
                addr,
                prefix_len,
            } => (key_address6(*ifindex, *addr, *prefix_len), false),
            KernelOp::SetRoute(r) => (format!("{r:?}"), true),
            KernelOp::DelRoute(r) => (format!("{r:?}"), false),
            KernelOp::SetAddress4(a) => (format!("{a:?}"), true),
            KernelOp::DelAddress4(a) => (format!("{a:?}"), false),
            KernelOp::SetRoute4(r) => (format!("{r:?}"), true),
            KernelOp::DelRoute4(r) => (format!("{r:?}"), false),
            KernelOp::SetRule(r) => (format!("{r:?}"), true),
            KernelOp::DelRule(r) => (format!("{r:?}"), false),
            other => panic!("unexpected kernel op {other:?}"),
        };
        if add {
            self.objects.insert(key);
        } else {
            assert!(self.objects.remove(&key), "delete of an absent {key}");
        }
    }
}

fn route6(table: RouteTable, metric: u32, gateway: Option<Ipv6Addr>, ifindex: u32) -> String {
    format!(
        "{:?}",
        RouteSpec {
            owner: Owner::MobileNode,
            table,
            dst: Prefix::DEFAULT,
            kind: RouteType::Unicast,
            gateway,
            ifindex: Some(ifindex),
            metric,
            expires: None,
        }
    )
}

fn rule(from: IpAddr, len: u8, table: RouteTable) -> String {
    format!(
        "{:?}",
        RuleSpec {
            owner: Owner::MobileNode,
            family_v6: from.is_ipv6(),
            from: Some((from, len)),
            to: None,
            table,
            priority: 1000,
        }
    )
}

const HOME_TABLE: RouteTable = RouteTable(222);
const CARE_OF_TABLE: RouteTable = RouteTable(223);

/// Away: the home address on the tunnel, its table, rule and the main
/// default through the tunnel; over IPv6 the care-of rule and table too;
/// with an IPv4 home address its /32, IPv4 default and rule.
fn expected_away(
    care_of: Option<(Ipv6Addr, u32)>,
    ipv4_home: Option<Ipv4Addr>,
) -> BTreeSet<String> {
    let mut s = BTreeSet::new();
    s.insert(key_address6(MN_TUN, hoa(), 128));
    s.insert(route6(HOME_TABLE, 1024, None, MN_TUN));
    s.insert(rule(IpAddr::V6(hoa()), 128, HOME_TABLE));
    s.insert(route6(RouteTable::MAIN, 512, None, MN_TUN));
    if let Some((coa, ifindex)) = care_of {
        s.insert(rule(IpAddr::V6(coa), 128, CARE_OF_TABLE));
        s.insert(route6(CARE_OF_TABLE, 1024, Some(router6()), ifindex));
    }
    if let Some(a) = ipv4_home {
        s.insert(format!(
            "{:?}",
            Address4Spec {
                owner: Owner::MobileNode,
                ifindex: MN_TUN,
                addr: a,
                prefix_len: 32,
            }
        ));
        s.insert(format!(
            "{:?}",
            Route4Spec {
                owner: Owner::MobileNode,
                table: HOME_TABLE,
                dst: Prefix4::new(Ipv4Addr::UNSPECIFIED, 0).unwrap(),
                kind: RouteType::Unicast,
                gateway: None,
                ifindex: Some(MN_TUN),
                metric: 0,
            }
        ));
        s.insert(rule(IpAddr::V4(a), 32, HOME_TABLE));
    }
    s
}

fn expected_home(ifindex: u32) -> BTreeSet<String> {
    BTreeSet::from([key_address6(ifindex, hoa(), 64)])
}

fn go_home(mn: &mut MobileNode, now: Instant, ifindex: u32) -> Vec<MnOutput> {
    attach6(mn, now, ifindex, ip("2001:db8:1::99"))
}

// ------------------------------------------------------------- tests --

/// DS-1, DS-2, AU-1: away over IPv4 the BU is an IPv6 packet in UDP to
/// the home agent's port 4191, with F, the IPv4 Care-of Address and IPv4
/// Home Address Request options, the authenticator over the mapped
/// care-of address, the checksum over (home address, home agent).
#[test]
fn ds2_bu_over_udp_carries_what_rfc5555_asks() {
    let mut mn = node_with(dsmip_config(true));
    let out = attach4(&mut mn, secs(1.0), LTE, coa4());
    assert!(notices(&out).contains(&Notice::Moved(Location::AwayV4 {
        ifindex: LTE,
        care_of: coa4(),
        router: router4(),
    })));
    assert!(native_bus(&out).is_empty(), "nothing native over IPv4");
    let bus = udp_bus(&out);
    assert_eq!(bus.len(), 1);
    let t = &bus[0];
    assert_eq!((t.ifindex, t.src, t.dst), (LTE, coa4(), ha_endpoint()));
    let d = decode(t);
    assert_eq!(
        (d.src, d.dst),
        (hoa(), ha_addr()),
        "inner: home address → home agent"
    );
    assert!(
        verify_checksum(hoa(), ha_addr(), &d.mh),
        "checksum over HoA, HA"
    );
    let f = d.bu.flags;
    assert!(f.ack && f.home_registration && f.force_udp && !f.mobile_router);
    assert!(d.bu.lifetime.0 > 0);
    let options: Vec<&MhOption> = d
        .message
        .options
        .iter()
        .filter(|o| !o.is_padding())
        .collect();
    assert!(
        !options
            .iter()
            .any(|o| matches!(o, MhOption::AlternateCareOf(_))),
        "no Alternate Care-of Address over IPv4"
    );
    assert_eq!(dsmip::ipv4_care_of(&d.message.options), Some(coa4()));
    let request = dsmip::ipv4_home_request(&d.message.options).expect("option 29");
    assert_eq!(
        (request.prefix_len, request.address),
        (32, Ipv4Addr::UNSPECIFIED)
    );
    assert!(d.message.options.replay_protection().is_some());
    assert!(
        matches!(options.last(), Some(MhOption::Authentication(_))),
        "the authenticator last: {options:?}"
    );
    let input = mh_auth::mobility_message_auth_input(dsmip::mapped(coa4()), hoa(), &d.mh)
        .unwrap()
        .unwrap();
    assert!(auth::verify(
        &MnHaKey::new(KEY),
        &input.data,
        input.received(&d.mh)
    ));
    let plain = mh_auth::mobility_message_auth_input(ip("::"), hoa(), &d.mh)
        .unwrap()
        .unwrap();
    assert!(!auth::verify(
        &MnHaKey::new(KEY),
        &plain.data,
        plain.received(&d.mh)
    ));
    assert_eq!(mn.counters().bu_sent_udp, 1);
    let status = mn.status(secs(1.0));
    assert_eq!((status.care_of, status.care_of_v4), (None, Some(coa4())));
    // Without force_udp the F flag stays clear.
    let mut config = dsmip_config(false);
    config.dsmip.as_mut().unwrap().force_udp = false;
    let mut mn = node_with(config);
    let out = attach4(&mut mn, secs(1.0), LTE, coa4());
    let d = decode(&udp_bus(&out)[0]);
    assert!(!d.bu.flags.force_udp);
    assert_eq!(dsmip::ipv4_home_request(&d.message.options), None);
}

/// Retransmission over UDP follows RFC 6275 §11.8 like the native BU:
/// first registration 1.5 s, doubling, a new sequence number each time.
#[test]
fn udp_bu_is_retransmitted_with_backoff() {
    let mut mn = node_with(dsmip_config(false));
    let out = attach4(&mut mn, secs(0.0), LTE, coa4());
    let first = decode(&udp_bus(&out)[0]).bu.sequence;
    assert_eq!(mn.poll_timeout(), Some(secs(1.5)));
    mn.handle_timeout(secs(1.5));
    let out = drain(&mut mn);
    let second = decode(&udp_bus(&out)[0]).bu.sequence;
    assert_eq!(second, first.wrapping_add(1));
    assert_eq!(mn.poll_timeout(), Some(secs(4.5)));
}

/// MT-18, DS-5: the BA in UDP installs the binding; with a NAT Detection
/// option the refresh comes at the latest after the refresh time.
#[test]
fn ds5_nat_detection_schedules_the_refresh_within_the_refresh_time() {
    let mut mn = node_with(dsmip_config(false));
    let now = secs(1.0);
    let out = attach4(&mut mn, now, LTE, coa4());
    let out = answer_udp(&mut mn, now, &out, &[nat(20)]);
    assert!(notices(&out).contains(&Notice::NatDetected {
        refresh: Duration::from_secs(20)
    }));
    let status = mn.status(now);
    assert!(status.installed);
    assert_eq!(status.nat_refresh, Some(Duration::from_secs(20)));
    assert_eq!(status.counters.ba_received_udp, 1);
    let BulState::Bound { refresh_at, .. } = status.state else {
        panic!("not bound: {:?}", status.state)
    };
    assert!(
        refresh_at <= now + Duration::from_secs(20),
        "{refresh_at:?}"
    );
    // The refresh is a new BU in UDP (the keepalive), and its BA keeps
    // the schedule.
    mn.handle_timeout(refresh_at);
    let out = drain(&mut mn);
    assert_eq!(udp_bus(&out).len(), 1);
    let at = refresh_at;
    let out = answer_udp(&mut mn, at, &out, &[nat(20)]);
    assert!(
        !notices(&out)
            .iter()
            .any(|n| matches!(n, Notice::NatDetected { .. })),
        "reported once"
    );
    let BulState::Bound {
        refresh_at: next, ..
    } = mn.status(at).state
    else {
        panic!()
    };
    assert!(next <= at + Duration::from_secs(20));
    // Without NAT: 80 % of the 3600 s lifetime, no NAT reported.
    let mut mn = node_with(dsmip_config(false));
    let out = attach4(&mut mn, now, LTE, coa4());
    answer_udp(&mut mn, now, &out, &[]);
    let status = mn.status(now);
    assert_eq!(status.nat_refresh, None);
    let BulState::Bound { refresh_at, .. } = status.state else {
        panic!()
    };
    assert_eq!(refresh_at, now + Duration::from_secs(3600) * 80 / 100);
    // A refresh time of 0: the RFC's NATKATIMEOUT.
    let mut mn = node_with(dsmip_config(false));
    let out = attach4(&mut mn, now, LTE, coa4());
    answer_udp(&mut mn, now, &out, &[nat(0)]);
    assert_eq!(mn.status(now).nat_refresh, Some(dsmip::NAT_KEEPALIVE));
    // All ones: no NAT after all (the option only carried F).
    let mut mn = node_with(dsmip_config(false));
    let out = attach4(&mut mn, now, LTE, coa4());
    let out = answer_udp(&mut mn, now, &out, &[nat(u32::MAX)]);
    assert!(
        !notices(&out)
            .iter()
            .any(|n| matches!(n, Notice::NatDetected { .. }))
    );
    assert_eq!(mn.status(now).nat_refresh, None);
    assert!(mn.status(now).installed);
}

/// DS-7 at the mobile node: an IPv4 Address Acknowledgement 0 puts the
/// IPv4 home address on the tunnel with an IPv4 default in the home table
/// and a `from` rule; the tunnel carries it; refreshes name it.
#[test]
fn ds7_ipv4_address_ack_installs_the_ipv4_home_address() {
    let mut mn = node_with(dsmip_config(true));
    let now = secs(1.0);
    let mut model = Model::default();
    let out = attach4(&mut mn, now, LTE, coa4());
    model.apply(&out);
    let out = answer_udp(&mut mn, now, &out, &[ack(0, hoa4())]);
    model.apply(&out);
    assert!(notices(&out).contains(&Notice::Ipv4HomeAddress {
        address: hoa4(),
        prefix_len: 32
    }));
    assert_eq!(model.objects, expected_away(None, Some(hoa4())));
    // No IPv4 default through the tunnel in the main table: the outer
    // packets to the home agent's IPv4 address must not enter it.
    assert!(!out.iter().any(|o| matches!(o,
        MnOutput::Kernel(KernelOp::SetRoute4(r)) if r.table == RouteTable::MAIN)));
    let tunnel = model.tunnel.clone().expect("tunnel up");
    assert_eq!(tunnel.ipv4_home, Some(hoa4()));
    assert_eq!(
        tunnel.udp,
        Some(UdpTunnel {
            care_of: coa4(),
            home_agent: ha_endpoint()
        })
    );
    assert_eq!(tunnel.care_of, dsmip::mapped(coa4()));
    let status = mn.status(now);
    assert_eq!(
        (status.ipv4_home, status.ipv4_home_status),
        (Some(hoa4()), Some(0))
    );
    // The refresh asks for the assigned address.
    let BulState::Bound { refresh_at, .. } = status.state else {
        panic!()
    };
    mn.handle_timeout(refresh_at);
    let out = drain(&mut mn);
    let d = decode(&udp_bus(&out)[0]);
    let request = dsmip::ipv4_home_request(&d.message.options).unwrap();
    assert_eq!((request.prefix_len, request.address), (32, hoa4()));
    // Deregistration removes everything, the IPv4 home address included.
    mn.deregister(refresh_at);
    let out = drain(&mut mn);
    model.apply(&out);
    let d = decode(&udp_bus(&out)[0]);
    assert_eq!(d.bu.lifetime.0, 0);
    assert_eq!(dsmip::ipv4_home_request(&d.message.options), None);
    let care_of = dsmip::mapped(coa4());
    let ba = ba_bytes(&d.bu, &d.message, BaStatus::Accepted, 0, &[], care_of);
    let out = feed_udp(&mut mn, refresh_at, ha_endpoint(), &ba);
    model.apply(&out);
    assert!(model.objects.is_empty(), "left: {:?}", model.objects);
    assert_eq!(model.tunnel, None);
    assert_eq!(mn.status(refresh_at).ipv4_home, None);
}

/// RFC 5555 §3.2.1: a refused IPv4 home address is reported; the node
/// carries on with IPv6 only and asks no more until `register`.
#[test]
fn refused_ipv4_home_address_leaves_ipv6_working() {
    let mut mn = node_with(dsmip_config(true));
    let now = secs(1.0);
    let mut model = Model::default();
    let out = attach4(&mut mn, now, LTE, coa4());
    model.apply(&out);
    let out = answer_udp(
        &mut mn,
        now,
        &out,
        &[ack(
            dsmip::ack_status::DYNAMIC_IPV4_HOME_ADDRESS_NOT_AVAILABLE,
            Ipv4Addr::UNSPECIFIED,
        )],
    );
    model.apply(&out);
    assert!(notices(&out).contains(&Notice::Ipv4HomeRefused { status: 132 }));
    assert_eq!(model.objects, expected_away(None, None));
    let status = mn.status(now);
    assert!(status.installed);
    assert_eq!(
        (status.ipv4_home, status.ipv4_home_status),
        (None, Some(132))
    );
    let BulState::Bound { refresh_at, .. } = status.state else {
        panic!()
    };
    mn.handle_timeout(refresh_at);
    let d = decode(&udp_bus(&drain(&mut mn))[0]);
    assert_eq!(
        dsmip::ipv4_home_request(&d.message.options),
        None,
        "no more requests"
    );
    mn.register(refresh_at + Duration::from_secs(2));
    let d = decode(&udp_bus(&drain(&mut mn))[0]);
    assert!(
        dsmip::ipv4_home_request(&d.message.options).is_some(),
        "asked again"
    );
}

/// MN-11 for UDP: a BA from another endpoint (address or port), or sent
/// natively for a BU that went in UDP, changes nothing.
#[test]
fn ba_from_the_wrong_endpoint_is_dropped() {
    let mut mn = node_with(dsmip_config(false));
    let now = secs(1.0);
    let out = attach4(&mut mn, now, LTE, coa4());
    let bus = udp_bus(&out);
    let d = decode(&bus[0]);
    let ba = ba_bytes(
        &d.bu,
        &d.message,
        BaStatus::Accepted,
        900,
        &[],
        dsmip::mapped(coa4()),
    );
    for from in [
        SocketAddrV4::new(ha_v4(), 4192),
        SocketAddrV4::new(v4("169.254.255.9"), 4191),
        SocketAddrV4::new(coa4(), 4191),
    ] {
        let out = feed_udp(&mut mn, now, from, &ba);
        assert!(out.is_empty(), "{out:?}");
    }
    assert_eq!(
        mn.counters().dropped.get(&DropReason::NotFromHomeAgent),
        Some(&3)
    );
    // The same BA as native input: the BU went in UDP.
    mn.handle_mh(
        now,
        &MnReceived {
            src: ha_addr(),
            dst: hoa(),
            hao: None,
            rh2: None,
            bytes: &ba,
        },
    );
    assert!(drain(&mut mn).is_empty());
    assert_eq!(mn.counters().dropped.get(&DropReason::NotAwaited), Some(&1));
    // Signed over the plain IPv4-mapped care-of of another address: fails.
    let forged = ba_bytes(
        &d.bu,
        &d.message,
        BaStatus::Accepted,
        900,
        &[],
        dsmip::mapped(coa4b()),
    );
    assert!(feed_udp(&mut mn, now, ha_endpoint(), &forged).is_empty());
    assert_eq!(mn.counters().dropped.get(&DropReason::AuthFailed), Some(&1));
    assert!(!mn.status(now).installed);
    // The genuine one from the right endpoint works.
    let out = feed_udp(&mut mn, now, ha_endpoint(), &ba);
    assert!(
        out.iter()
            .any(|o| matches!(o, MnOutput::DataPlane(TunnelOp::Up { .. })))
    );
}

/// DS-8: IPv6 is preferred. With IPv4 and IPv6 both present the node is
/// away over IPv6, whichever interface is preferred and whatever came
/// first; losing IPv6 falls back to IPv4.
#[test]
fn ds8_ipv6_care_of_preferred_over_ipv4() {
    let mut mn = node_with(dsmip_config(false));
    let now = secs(1.0);
    // IPv4 on the preferred interface, IPv6 on the other.
    attach4(&mut mn, now, WIFI, coa4());
    assert!(matches!(mn.status(now).location, Location::AwayV4 { .. }));
    let out = attach6(&mut mn, now, LTE, coa());
    assert_eq!(
        mn.status(now).location,
        Location::Away {
            ifindex: LTE,
            care_of: coa(),
            router: router6()
        }
    );
    let bus = native_bus(&out);
    assert_eq!(bus.len(), 1);
    assert!(udp_bus(&out).is_empty());
    let (bu, message) = decode_native(&bus[0]);
    assert!(!bu.flags.force_udp, "F only over IPv4");
    assert_eq!(dsmip::ipv4_care_of(&message.options), None);
    // Losing IPv6: back to IPv4.
    mn.handle_link(
        now,
        LinkEvent::DefaultRouter {
            ifindex: LTE,
            router: None,
        },
    );
    assert!(matches!(
        mn.status(now).location,
        Location::AwayV4 { ifindex: WIFI, .. }
    ));
    // Without DSMIPv6 configured, IPv4 is no location at all.
    let mut plain = node_with(MnConfig {
        dsmip: None,
        ..dsmip_config(false)
    });
    attach4(&mut plain, now, WIFI, coa4());
    assert_eq!(plain.status(now).location, Location::Detached);
    // Unusable IPv4 addresses are no care-of address.
    let mut mn = node_with(dsmip_config(false));
    attach4(&mut mn, now, WIFI, v4("0.1.2.3"));
    attach4(&mut mn, now, WIFI, v4("224.0.0.5"));
    assert_eq!(mn.status(now).location, Location::Detached);
}

/// MT-21: v6 → v4 → v6 → home; after each acknowledged move the kernel
/// holds exactly what the location needs (no stale route, rule or
/// address), and at home only the home address on the home interface.
#[test]
fn mt21_vertical_handovers_leave_no_stale_state() {
    let mut mn = node_with(dsmip_config(true));
    let mut model = Model::default();
    let mut now = secs(1.0);
    // IPv6 away, an IPv4 home address over it (DS-8).
    let out = attach6(&mut mn, now, WIFI, coa());
    model.apply(&out);
    let (_, message) = decode_native(&native_bus(&out)[0]);
    assert!(
        dsmip::ipv4_home_request(&message.options).is_some(),
        "option 29 over IPv6 too"
    );
    let out = answer_native(&mut mn, now, &out, &[ack(0, hoa4())]);
    model.apply(&out);
    assert_eq!(
        model.objects,
        expected_away(Some((coa(), WIFI)), Some(hoa4()))
    );
    assert_eq!(model.tunnel.as_ref().unwrap().udp, None);
    assert_eq!(model.tunnel.as_ref().unwrap().ipv4_home, Some(hoa4()));
    // To IPv4: the care-of rule and table go at once.
    now += Duration::from_secs(10);
    mn.handle_link(now, LinkEvent::LinkDown { ifindex: WIFI });
    let out = drain(&mut mn);
    model.apply(&out);
    let out2 = attach4(&mut mn, now, LTE, coa4());
    model.apply(&out2);
    assert_eq!(model.objects, expected_away(None, Some(hoa4())));
    let out = answer_udp(&mut mn, now, &out2, &[nat(30), ack(0, hoa4())]);
    model.apply(&out);
    assert_eq!(model.objects, expected_away(None, Some(hoa4())));
    let t = model.tunnel.clone().unwrap();
    assert_eq!(t.udp.map(|u| u.care_of), Some(coa4()));
    assert_eq!(mn.status(now).nat_refresh, Some(Duration::from_secs(30)));
    // Back to IPv6 (another address): NAT state gone once acknowledged.
    now += Duration::from_secs(10);
    mn.handle_link(now, LinkEvent::LinkDown { ifindex: LTE });
    model.apply(&drain(&mut mn));
    let out = attach6(&mut mn, now, WIFI, coa2());
    model.apply(&out);
    let out = answer_native(&mut mn, now, &out, &[ack(0, hoa4())]);
    model.apply(&out);
    assert_eq!(
        model.objects,
        expected_away(Some((coa2(), WIFI)), Some(hoa4()))
    );
    assert_eq!(model.tunnel.as_ref().unwrap().udp, None);
    assert_eq!(mn.status(now).nat_refresh, None);
    // Home: deregistration from the home address, then nothing but it.
    now += Duration::from_secs(10);
    mn.handle_link(now, LinkEvent::LinkDown { ifindex: WIFI });
    model.apply(&drain(&mut mn));
    let out = go_home(&mut mn, now, LTE);
    model.apply(&out);
    let out = answer_native(&mut mn, now, &out, &[]);
    model.apply(&out);
    assert_eq!(model.objects, expected_home(LTE));
    assert_eq!(model.tunnel, None);
    let status = mn.status(now);
    assert_eq!((status.ipv4_home, status.nat_refresh), (None, None));
}

/// A move between two IPv4 care-of addresses updates the UDP path only.
#[test]
fn ipv4_to_ipv4_move_updates_the_udp_path() {
    let mut mn = node_with(dsmip_config(false));
    let mut model = Model::default();
    let now = secs(1.0);
    let out = attach4(&mut mn, now, LTE, coa4());
    model.apply(&out);
    model.apply(&answer_udp(&mut mn, now, &out, &[]));
    mn.handle_link(
        now,
        LinkEvent::Address4Lost {
            ifindex: LTE,
            addr: coa4(),
        },
    );
    let out = attach4(&mut mn, now, LTE, coa4b());
    model.apply(&out);
    assert_eq!(udp_bus(&out)[0].src, coa4b());
    assert_eq!(model.tunnel.as_ref().unwrap().udp.unwrap().care_of, coa4b());
    model.apply(&answer_udp(&mut mn, now, &out, &[]));
    assert_eq!(model.objects, expected_away(None, None));
}

fn packet6(src: Ipv6Addr, dst: Ipv6Addr, len: usize) -> Vec<u8> {
    let mut p = vec![0u8; len.max(40)];
    p[0] = 0x60;
    let payload_len = (p.len() - 40) as u16;
    p[4..6].copy_from_slice(&payload_len.to_be_bytes());
    p[6] = 59;
    p[8..24].copy_from_slice(&src.octets());
    p[24..40].copy_from_slice(&dst.octets());
    p
}

fn packet4(src: Ipv4Addr, dst: Ipv4Addr, len: usize, dont_fragment: bool) -> Vec<u8> {
    let mut p = vec![0u8; len.max(20)];
    p[0] = 0x45;
    let total = p.len() as u16;
    p[2..4].copy_from_slice(&total.to_be_bytes());
    if dont_fragment {
        p[6] = 0x40;
    }
    p[8] = 64;
    p[9] = 17;
    p[12..16].copy_from_slice(&src.octets());
    p[16..20].copy_from_slice(&dst.octets());
    p
}

fn udp_tunnel(mobile_networks: Vec<Prefix>) -> MobileNodeTunnel {
    MobileNodeTunnel::new(MnTunnel {
        home_address: hoa(),
        care_of: dsmip::mapped(coa4()),
        home_agent: ha_addr(),
        mtu: 1460,
        mobile_networks,
        udp: Some(UdpTunnel {
            care_of: coa4(),
            home_agent: ha_endpoint(),
        }),
        ipv4_home: Some(hoa4()),
        home_agent_v4: None,
    })
}

/// MN-7 and MN-11 over UDP: outbound from the home address, a mobile
/// network or the IPv4 home address goes in UDP to the home agent;
/// inbound is delivered only from the home agent's endpoint and only for
/// our addresses.
#[test]
fn udp_data_plane_verdicts() {
    let mnp: Prefix = "2001:db8:10::/64".parse().unwrap();
    let mut t = udp_tunnel(vec![mnp]);
    let udp = MnOutbound::EncapsulateUdp {
        src: coa4(),
        dst: ha_endpoint(),
    };
    let cn6 = ip("2001:db8:c::1");
    let cn4 = v4("198.51.100.7");
    assert_eq!(t.outbound(&packet6(hoa(), cn6, 100)), udp);
    assert_eq!(t.outbound(&packet6(ip("2001:db8:10::5"), cn6, 100)), udp);
    assert_eq!(t.outbound(&packet4(hoa4(), cn4, 100, true)), udp);
    assert_eq!(
        t.outbound(&packet6(coa(), cn6, 100)),
        MnOutbound::Drop(DropCause::NotFromHomeAddress)
    );
    assert_eq!(
        t.outbound(&packet4(coa4(), cn4, 100, false)),
        MnOutbound::Drop(DropCause::NotFromHomeAddress)
    );
    assert_eq!(
        t.outbound(&[0x10, 1, 2]),
        MnOutbound::Drop(DropCause::Malformed)
    );
    // MTU over UDP/IPv4: path − 28, floored at 1280; IPv4 with DF over
    // it is owed Fragmentation Needed, without DF it goes.
    t.path_mtu = Some(1400);
    assert_eq!(t.effective_mtu(), 1372);
    assert_eq!(
        t.outbound(&packet6(hoa(), cn6, 1373)),
        MnOutbound::TooBig { mtu: 1372 }
    );
    assert_eq!(t.outbound(&packet6(hoa(), cn6, 1372)), udp);
    assert_eq!(
        t.outbound(&packet4(hoa4(), cn4, 1400, true)),
        MnOutbound::FragmentationNeeded { mtu: 1372 }
    );
    assert_eq!(t.outbound(&packet4(hoa4(), cn4, 1400, false)), udp);
    t.path_mtu = Some(1200);
    assert_eq!(t.effective_mtu(), 1280);
    // Inbound.
    let from_ha = ha_endpoint();
    assert_eq!(
        t.inbound_udp(from_ha, &packet6(cn6, hoa(), 100)),
        Verdict::Deliver
    );
    assert_eq!(
        t.inbound_udp(from_ha, &packet6(cn6, ip("2001:db8:10::5"), 100)),
        Verdict::Deliver
    );
    assert_eq!(
        t.inbound_udp(from_ha, &packet4(cn4, hoa4(), 100, false)),
        Verdict::Deliver
    );
    for from in [
        SocketAddrV4::new(ha_v4(), 5000),
        SocketAddrV4::new(v4("169.254.255.9"), 4191),
    ] {
        assert_eq!(
            t.inbound_udp(from, &packet6(cn6, hoa(), 100)),
            Verdict::Drop(DropCause::NotFromHomeAgent)
        );
    }
    assert_eq!(
        t.inbound_udp(from_ha, &packet6(cn6, ip("2001:db8:1::201"), 100)),
        Verdict::Drop(DropCause::NotFromHomeAgent)
    );
    assert_eq!(
        t.inbound_udp(from_ha, &packet4(cn4, coa4(), 100, false)),
        Verdict::Drop(DropCause::NotFromHomeAgent)
    );
    // TLV format (RFC 5555 §4.1) and short payloads.
    assert_eq!(
        t.inbound_udp(from_ha, &[1, 0, 20, 0, 0x45]),
        Verdict::Drop(DropCause::Malformed)
    );
    assert_eq!(
        t.inbound_udp(from_ha, &[0x60; 10]),
        Verdict::Drop(DropCause::Malformed)
    );
    // Nothing IPv6-encapsulated is taken while the tunnel is UDP.
    assert_eq!(
        t.inbound(ha_addr(), dsmip::mapped(coa4()), &packet6(cn6, hoa(), 100)),
        Verdict::Drop(DropCause::NotFromHomeAgent)
    );
    // IP in IPv4 from the home agent's address to the care-of address
    // (a home agent without F may use it, DS-10).
    assert_eq!(
        t.inbound_ipv4(ha_v4(), coa4(), &packet6(cn6, hoa(), 100)),
        Verdict::Deliver
    );
    assert_eq!(
        t.inbound_ipv4(v4("169.254.255.9"), coa4(), &packet6(cn6, hoa(), 100)),
        Verdict::Drop(DropCause::NotFromHomeAgent)
    );
}

/// DS-8: an IPv4 home address over an IPv6 care-of address travels as
/// IPv4-in-IPv6.
#[test]
fn ipv4_home_over_ipv6_care_of_is_ipv4_in_ipv6() {
    let t = MobileNodeTunnel::new(MnTunnel {
        home_address: hoa(),
        care_of: coa(),
        home_agent: ha_addr(),
        mtu: 1460,
        mobile_networks: Vec::new(),
        udp: None,
        ipv4_home: Some(hoa4()),
        home_agent_v4: None,
    });
    let cn4 = v4("198.51.100.7");
    assert_eq!(
        t.outbound(&packet4(hoa4(), cn4, 100, true)),
        MnOutbound::EncapsulateIpv4 {
            care_of: coa(),
            home_agent: ha_addr()
        }
    );
    assert_eq!(
        t.outbound(&packet6(hoa(), ip("2001:db8:c::1"), 100)),
        MnOutbound::Encapsulate {
            care_of: coa(),
            home_agent: ha_addr()
        }
    );
    assert_eq!(
        t.inbound(ha_addr(), coa(), &packet4(cn4, hoa4(), 60, false)),
        Verdict::Deliver
    );
    assert_eq!(
        t.inbound(
            ha_addr(),
            coa(),
            &packet4(cn4, v4("169.254.1.51"), 60, false)
        ),
        Verdict::Drop(DropCause::NotFromHomeAgent)
    );
    assert_eq!(
        t.inbound_udp(ha_endpoint(), &packet6(ip("2001:db8:c::1"), hoa(), 60)),
        Verdict::Drop(DropCause::NotFromHomeAgent),
        "no UDP path over an IPv6 care-of address"
    );
}

#[test]
fn dsmip_config_is_checked() {
    let mut config = dsmip_config(false);
    config.home_agent = None;
    assert_eq!(
        MobileNode::new(config, 1, Instant::ZERO).err(),
        Some(v6edge_mip6::mn::MnConfigError::DsmipWithoutHomeAgent)
    );
    let mut config = dsmip_config(false);
    config.dsmip.as_mut().unwrap().home_agent_v4 = Ipv4Addr::BROADCAST;
    assert!(matches!(
        MobileNode::new(config, 1, Instant::ZERO).err(),
        Some(v6edge_mip6::mn::MnConfigError::DsmipHomeAgentV4(_))
    ));
}

// ------------------------------------------------------------ property --

#[derive(Debug, Clone, Copy)]
enum Move {
    V6(u8),
    V4(u8),
    Home,
    Detach,
}

fn move_strategy() -> impl Strategy<Value = (Move, bool, bool)> {
    (
        prop_oneof![
            (0u8..2).prop_map(Move::V6),
            (0u8..2).prop_map(Move::V4),
            Just(Move::Home),
            Just(Move::Detach),
        ],
        any::<bool>(),
        any::<bool>(),
    )
}

fn answer_any(mn: &mut MobileNode, now: Instant, out: &[MnOutput], ipv4: bool) -> Vec<MnOutput> {
    let extra: Vec<MhOption> = if ipv4 {
        vec![ack(0, hoa4())]
    } else {
        Vec::new()
    };
    if !udp_bus(out).is_empty() {
        let extra: Vec<MhOption> = extra.into_iter().chain([nat(25)]).collect();
        let t = &udp_bus(out)[0];
        let d = decode(t);
        let lifetime = if d.bu.lifetime.0 == 0 { 0 } else { 900 };
        let ba = ba_bytes(
            &d.bu,
            &d.message,
            BaStatus::Accepted,
            lifetime,
            &extra,
            dsmip::mapped(t.src),
        );
        feed_udp(mn, now, ha_endpoint(), &ba)
    } else if !native_bus(out).is_empty() {
        answer_native(mn, now, out, &extra)
    } else {
        Vec::new()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// "100 moves, nothing leaks": any sequence of moves between IPv6,
    /// IPv4, home and nowhere, each BA answered or lost, with or without
    /// an IPv4 home address; after every acknowledged registration the
    /// kernel holds exactly the location's objects, and back home with
    /// the deregistration acknowledged only the home address remains.
    #[test]
    fn moves_never_leak_kernel_state(moves in proptest::collection::vec(move_strategy(), 1..40)) {
        let mut mn = node_with(dsmip_config(true));
        let mut model = Model::default();
        let mut now = secs(1.0);
        let v6 = [coa(), coa2()];
        let v4s = [coa4(), coa4b()];
        for (m, answered, ipv4) in moves {
            now += Duration::from_secs(2);
            for ifindex in [WIFI, LTE] {
                mn.handle_link(now, LinkEvent::LinkDown { ifindex });
            }
            model.apply(&drain(&mut mn));
            let out = match m {
                Move::V6(i) => attach6(&mut mn, now, WIFI, v6[usize::from(i)]),
                Move::V4(i) => attach4(&mut mn, now, LTE, v4s[usize::from(i)]),
                Move::Home => go_home(&mut mn, now, WIFI),
                Move::Detach => Vec::new(),
            };
            model.apply(&out);
            if !answered {
                continue;
            }
            let out = answer_any(&mut mn, now, &out, ipv4);
            model.apply(&out);
            let status = mn.status(now);
            if !matches!(status.state, BulState::Bound { .. }) {
                continue;
            }
            let v4_home = status.ipv4_home;
            let expected = match status.location {
                Location::Away { care_of, ifindex, .. } => expected_away(Some((care_of, ifindex)), v4_home),
                Location::AwayV4 { .. } => expected_away(None, v4_home),
                // Detached keeps the last binding's state until a move.
                Location::Detached => continue,
                other => panic!("bound at {other:?}"),
            };
            prop_assert_eq!(&model.objects, &expected);
        }
        // Home, deregistration acknowledged (after any pending retransmission).
        now += Duration::from_secs(2);
        for ifindex in [WIFI, LTE] {
            mn.handle_link(now, LinkEvent::LinkDown { ifindex });
        }
        model.apply(&drain(&mut mn));
        let mut out = go_home(&mut mn, now, WIFI);
        model.apply(&out);
        for _ in 0..8 {
            if !matches!(mn.status(now).state, BulState::Deregistering { .. }) {
                break;
            }
            if native_bus(&out).is_empty() {
                now += Duration::from_secs(40);
                mn.handle_timeout(now);
                out = drain(&mut mn);
                model.apply(&out);
                continue;
            }
            let answer = answer_native(&mut mn, now, &out, &[]);
            model.apply(&answer);
            out = answer;
        }
        prop_assert_eq!(&model.objects, &expected_home(WIFI));
        prop_assert_eq!(&model.tunnel, &None);
    }
}

/// Binding Updates at an IPv6 care-of address keep the native format
/// when DSMIPv6 is configured but no IPv4 home address is asked for.
#[test]
fn ipv6_care_of_bu_unchanged_without_ipv4_home_request() {
    let mut mn = node_with(dsmip_config(false));
    let out = attach6(&mut mn, secs(1.0), WIFI, coa());
    let bus = native_bus(&out);
    assert_eq!(bus.len(), 1);
    assert_eq!(bus[0].hao, Some(hoa()));
    let (_, message) = decode_native(&bus[0]);
    assert!(
        message
            .options
            .iter()
            .any(|o| *o == MhOption::AlternateCareOf(coa()))
    );
    assert_eq!(dsmip::ipv4_home_request(&message.options), None);
}

/// MR-1 over IPv4: a mobile router's BU in UDP carries R and its Mobile
/// Network Prefixes, the authenticator still last.
#[test]
fn mobile_router_bu_over_udp_names_its_prefixes() {
    let mnp: Prefix = "2001:db8:10::/64".parse().unwrap();
    let mut config = dsmip_config(true);
    config.mobile_router = Some(v6edge_mip6::mn::MobileRouterConfig {
        prefixes: vec![mnp],
        explicit: true,
    });
    let mut mn = node_with(config);
    let out = attach4(&mut mn, secs(1.0), LTE, coa4());
    let d = decode(&udp_bus(&out)[0]);
    assert!(d.bu.flags.mobile_router && d.bu.flags.force_udp);
    let options: Vec<&MhOption> = d
        .message
        .options
        .iter()
        .filter(|o| !o.is_padding())
        .collect();
    assert!(options.iter().any(|o| matches!(o,
        MhOption::MobileNetworkPrefix(p) if p.prefix == mnp.addr() && p.prefix_len == 64)));
    assert!(matches!(options.last(), Some(MhOption::Authentication(_))));
    let input = mh_auth::mobility_message_auth_input(dsmip::mapped(coa4()), hoa(), &d.mh)
        .unwrap()
        .unwrap();
    assert!(auth::verify(
        &MnHaKey::new(KEY),
        &input.data,
        input.received(&d.mh)
    ));
}

fn endpoint_choice() -> impl Strategy<Value = SocketAddrV4> {
    prop_oneof![
        Just(ha_endpoint()),
        Just(SocketAddrV4::new(ha_v4(), 4192)),
        (any::<u32>(), any::<u16>()).prop_map(|(a, p)| SocketAddrV4::new(Ipv4Addr::from(a), p)),
    ]
}

fn udp_feed(
    mn: &mut MobileNode,
    from: SocketAddrV4,
    src: Ipv6Addr,
    dst: Ipv6Addr,
    bytes: &[u8],
) -> Vec<MnOutput> {
    mn.handle_mh_udp(
        secs(1.0),
        from,
        &MnReceived {
            src,
            dst,
            hao: None,
            rh2: None,
            bytes,
        },
    );
    drain(mn)
}

fn touches_kernel(out: &[MnOutput]) -> bool {
    out.iter()
        .any(|o| matches!(o, MnOutput::Kernel(_) | MnOutput::DataPlane(_)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Hostile UDP input: random bytes from any endpoint, or the genuine
    /// BA with one octet changed or from another endpoint, never panics
    /// and never installs anything; the genuine BA still works after.
    #[test]
    fn hostile_udp_input_never_installs(
        bytes in proptest::collection::vec(any::<u8>(), 0..120),
        from in endpoint_choice(),
        flip in any::<(usize, u8)>(),
    ) {
        let mut mn = node_with(dsmip_config(true));
        let out = attach4(&mut mn, secs(1.0), LTE, coa4());
        let t = udp_bus(&out)[0].clone();
        let d = decode(&t);
        let genuine = ba_bytes(
            &d.bu,
            &d.message,
            BaStatus::Accepted,
            900,
            &[nat(20), ack(0, hoa4())],
            dsmip::mapped(coa4()),
        );
        prop_assert!(!touches_kernel(&udp_feed(&mut mn, from, ha_addr(), hoa(), &bytes)));
        let mut mutated = genuine.clone();
        let at = flip.0 % mutated.len();
        mutated[at] ^= flip.1.max(1);
        prop_assert!(!touches_kernel(&udp_feed(&mut mn, ha_endpoint(), ha_addr(), hoa(), &mutated)));
        if from != ha_endpoint() {
            prop_assert!(!touches_kernel(&udp_feed(&mut mn, from, ha_addr(), hoa(), &genuine)));
        }
        prop_assert!(!touches_kernel(&udp_feed(&mut mn, ha_endpoint(), coa(), hoa(), &genuine)));
        let out = udp_feed(&mut mn, ha_endpoint(), ha_addr(), hoa(), &genuine);
        prop_assert!(touches_kernel(&out));
        prop_assert_eq!(mn.status(secs(1.0)).ipv4_home, Some(hoa4()));
    }
}

/// A refusal sticks to the kind of path it came over: a home agent that
/// serves IPv4 home addresses only over UDP answers 129 over IPv6; back
/// over IPv4 the node asks again and gets its address back.
#[test]
fn ipv4_home_refused_over_ipv6_is_asked_again_over_ipv4() {
    let mut mn = node_with(dsmip_config(true));
    let mut model = Model::default();
    let mut now = secs(1.0);
    let out = attach4(&mut mn, now, LTE, coa4());
    model.apply(&out);
    model.apply(&answer_udp(&mut mn, now, &out, &[ack(0, hoa4())]));
    assert_eq!(model.objects, expected_away(None, Some(hoa4())));
    // To IPv6: asked, refused (129), removed.
    now += Duration::from_secs(5);
    mn.handle_link(now, LinkEvent::LinkDown { ifindex: LTE });
    model.apply(&drain(&mut mn));
    let out = attach6(&mut mn, now, WIFI, coa());
    model.apply(&out);
    let (_, message) = decode_native(&native_bus(&out)[0]);
    assert!(dsmip::ipv4_home_request(&message.options).is_some());
    let out = answer_native(
        &mut mn,
        now,
        &out,
        &[ack(
            dsmip::ack_status::ADMINISTRATIVELY_PROHIBITED,
            Ipv4Addr::UNSPECIFIED,
        )],
    );
    model.apply(&out);
    assert!(notices(&out).contains(&Notice::Ipv4HomeRefused { status: 129 }));
    assert_eq!(model.objects, expected_away(Some((coa(), WIFI)), None));
    assert_eq!(model.tunnel.as_ref().unwrap().ipv4_home, None);
    // The refresh over IPv6 asks no more.
    let BulState::Bound { refresh_at, .. } = mn.status(now).state else {
        panic!()
    };
    mn.handle_timeout(refresh_at);
    let out = drain(&mut mn);
    let (_, message) = decode_native(&native_bus(&out)[0]);
    assert_eq!(dsmip::ipv4_home_request(&message.options), None);
    model.apply(&answer_native(&mut mn, refresh_at, &out, &[]));
    // Back to IPv4: asked for again (0.0.0.0), assigned, installed.
    now = refresh_at + Duration::from_secs(5);
    mn.handle_link(now, LinkEvent::LinkDown { ifindex: WIFI });
    model.apply(&drain(&mut mn));
    let out = attach4(&mut mn, now, LTE, coa4());
    model.apply(&out);
    let d = decode(&udp_bus(&out)[0]);
    let request = dsmip::ipv4_home_request(&d.message.options).expect("asked again");
    assert_eq!(request.address, Ipv4Addr::UNSPECIFIED);
    model.apply(&answer_udp(&mut mn, now, &out, &[ack(0, hoa4())]));
    assert_eq!(model.objects, expected_away(None, Some(hoa4())));
    assert_eq!(mn.status(now).ipv4_home, Some(hoa4()));
}

// ------------------------------------------ against the real home agent --

mod with_home_agent {
    use super::*;
    use v6edge_mip6::ha::{HaConfig, HaDsmip, HaOutput, HomeAgent, Ipv4HomePool, MhReceived};

    fn nat_outside(port: u16) -> SocketAddrV4 {
        SocketAddrV4::new(v4("169.254.255.9"), port)
    }

    fn home_agent() -> HomeAgent {
        let mut cfg = HaConfig {
            dad_delay: None,
            ..config()
        };
        cfg.dsmip = Some(HaDsmip {
            address: ha_v4(),
            nat_refresh: Duration::from_secs(110),
            ipv4_home: Some(Ipv4HomePool {
                prefix: Prefix4::new(v4("169.254.1.0"), 24).unwrap(),
                ifindex: 2,
                reserved: vec![v4("169.254.1.1")],
            }),
        });
        agent_with(cfg)
    }

    /// The node's BUs to the home agent (in UDP from `nat`, or from the
    /// care-of address's port 5555 without one; natively otherwise), the
    /// home agent's barriers acknowledged, its answers back to the node.
    fn exchange(
        mn: &mut MobileNode,
        ha: &mut HomeAgent,
        now: Instant,
        out: &[MnOutput],
        nat: Option<SocketAddrV4>,
    ) -> Vec<MnOutput> {
        for o in out {
            match o {
                MnOutput::Udp(t) => {
                    assert_eq!(t.dst, ha_endpoint());
                    let from = nat.unwrap_or(SocketAddrV4::new(t.src, 5555));
                    ha.handle_udp(now, from, &t.payload);
                }
                MnOutput::Mh(t) => ha.handle_mh(
                    now,
                    &MhReceived {
                        ifindex: OUTSIDE_IF,
                        src: t.src,
                        dst: t.dst,
                        hao: t.hao,
                        rh2: None,
                        bytes: &t.payload,
                    },
                ),
                _ => {}
            }
        }
        let mut answers = 0;
        while let Some(o) = ha.poll_output() {
            match o {
                HaOutput::Barrier(ticket) => ha.handle_applied(now, ticket, true),
                HaOutput::Udp(u) => {
                    answers += 1;
                    let (src, dst, mh) = dsmip::signalling(&u.packet).expect("signalling");
                    mn.handle_mh_udp(
                        now,
                        ha_endpoint(),
                        &MnReceived {
                            src,
                            dst,
                            hao: None,
                            rh2: None,
                            bytes: mh,
                        },
                    );
                }
                HaOutput::Mh(t) => {
                    answers += 1;
                    mn.handle_mh(
                        now,
                        &MnReceived {
                            src: t.src,
                            dst: t.dst,
                            hao: None,
                            rh2: t.rh2,
                            bytes: &t.payload,
                        },
                    );
                }
                _ => {}
            }
        }
        assert_eq!(answers, 1, "one BA");
        drain(mn)
    }

    fn bound(mn: &MobileNode, now: Instant) -> Instant {
        match mn.status(now).state {
            BulState::Bound { refresh_at, .. } => refresh_at,
            other => panic!("not bound: {other:?}"),
        }
    }

    /// MT-19/MT-21 in the machines: behind a NAT over IPv4 (NAT Detection,
    /// IPv4 home address, rebinding on refresh), then IPv6, IPv4 again and
    /// home; the node's kernel state matches its location after each BA.
    #[test]
    fn registers_moves_and_returns_with_the_real_home_agent() {
        let mut mn = node_with(dsmip_config(true));
        let mut ha = home_agent();
        let mut model = Model::default();
        let now = secs(1.0);
        let out = attach4(&mut mn, now, LTE, coa4());
        model.apply(&out);
        let out = exchange(&mut mn, &mut ha, now, &out, Some(nat_outside(40000)));
        model.apply(&out);
        let status = mn.status(now);
        assert_eq!(status.nat_refresh, Some(Duration::from_secs(110)));
        let assigned = status.ipv4_home.expect("an IPv4 home address");
        assert_eq!(status.ipv4_home_status, Some(0));
        assert_eq!(model.objects, expected_away(None, Some(assigned)));
        // The NAT rebinds; the refresh (the keepalive) goes on.
        let at = bound(&mn, now);
        assert!(at <= now + Duration::from_secs(110));
        mn.handle_timeout(at);
        let out = drain(&mut mn);
        model.apply(&out);
        model.apply(&exchange(
            &mut mn,
            &mut ha,
            at,
            &out,
            Some(nat_outside(40001)),
        ));
        let next = bound(&mn, at);
        assert_eq!(mn.status(at).ipv4_home, Some(assigned));
        assert_eq!(model.objects, expected_away(None, Some(assigned)));
        // To IPv6.
        let now = next;
        mn.handle_link(now, LinkEvent::LinkDown { ifindex: LTE });
        model.apply(&drain(&mut mn));
        let out = attach6(&mut mn, now, WIFI, coa());
        model.apply(&out);
        model.apply(&exchange(&mut mn, &mut ha, now, &out, None));
        bound(&mn, now);
        let v4_over_v6 = mn.status(now).ipv4_home;
        assert_eq!(
            model.objects,
            expected_away(Some((coa(), WIFI)), v4_over_v6)
        );
        assert_eq!(mn.status(now).nat_refresh, None);
        // Back to IPv4: the IPv4 home address again.
        let now = now + Duration::from_secs(5);
        mn.handle_link(now, LinkEvent::LinkDown { ifindex: WIFI });
        model.apply(&drain(&mut mn));
        let out = attach4(&mut mn, now, LTE, coa4b());
        model.apply(&out);
        model.apply(&exchange(&mut mn, &mut ha, now, &out, None));
        bound(&mn, now);
        let again = mn
            .status(now)
            .ipv4_home
            .expect("an IPv4 home address again");
        assert_eq!(model.objects, expected_away(None, Some(again)));
        // Home.
        let now = now + Duration::from_secs(5);
        mn.handle_link(now, LinkEvent::LinkDown { ifindex: LTE });
        model.apply(&drain(&mut mn));
        let out = go_home(&mut mn, now, WIFI);
        model.apply(&out);
        model.apply(&exchange(&mut mn, &mut ha, now, &out, None));
        assert_eq!(mn.status(now).state, BulState::Idle);
        assert_eq!(model.objects, expected_home(WIFI));
        assert_eq!(model.tunnel, None);
        assert_eq!(ha.status(now).bindings.len(), 0);
    }
}
