//! DSMIPv6 at the home agent (RFC 5555, mobility.md §1.9 DS-1…DS-7):
//! Binding Updates in UDP from IPv4 care-of addresses, with and without a
//! NAT between, IPv4 home addresses from a pool, NAT rebinding followed.
//! Every message is real bytes built with the wire crate.

mod common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddrV4};
use std::time::Duration;

use common::*;
use v6edge_core::{Instant, KernelOp, Prefix4};
use v6edge_mip6::dataplane::BindingOp;
use v6edge_mip6::dsmip;
use v6edge_mip6::ha::{
    DropReason, HaConfig, HaDsmip, HaOutput, HomeAgent, Ipv4HomePool, UdpTransmit,
};
use v6edge_wire::mh::{
    BuFlags, Ipv4AddressAck, Ipv4HomeAddressRequest, MhBody, MhOption, MobilityHeader,
    NatDetection, fill_checksum, verify_checksum,
};

const HOME_V4_IF: u32 = 2;
const HA_V4: Ipv4Addr = Ipv4Addr::new(169, 254, 255, 1);
/// The mobile node's IPv4 care-of address on its foreign link.
const COA_V4: Ipv4Addr = Ipv4Addr::new(169, 254, 2, 2);

fn nat_side() -> SocketAddrV4 {
    "169.254.255.9:40000".parse().unwrap()
}

fn dsmip_config() -> HaConfig {
    let mut cfg = config();
    cfg.dsmip = Some(HaDsmip {
        address: HA_V4,
        nat_refresh: Duration::from_secs(110),
        ipv4_home: Some(Ipv4HomePool {
            prefix: Prefix4::new(Ipv4Addr::new(169, 254, 1, 0), 24).unwrap(),
            ifindex: HOME_V4_IF,
            reserved: vec![Ipv4Addr::new(169, 254, 1, 1)],
        }),
    });
    cfg.security_associations
        .push(sa(SPI + 1, KEY, ip("2001:db8:1::201")));
    cfg
}

fn dsmip_agent() -> HomeAgent {
    agent_with(dsmip_config())
}

/// A Binding Update as a DSMIPv6 mobile node sends it from an IPv4
/// care-of address (RFC 5555 §4.2.1): no Home Address option, the IPv4
/// Care-of Address option, F set; authenticated over the IPv4-mapped
/// care-of address.
#[derive(Debug, Clone)]
struct UdpBu {
    hoa: Ipv6Addr,
    spi: u32,
    sequence: u16,
    lifetime: u16,
    care_of: Option<Ipv4Addr>,
    ipv4_home: Option<Ipv4Addr>,
    replay: u64,
    key: [u8; 16],
}

impl UdpBu {
    fn new(sequence: u16, now: Instant) -> UdpBu {
        UdpBu {
            hoa: hoa(),
            spi: SPI,
            sequence,
            lifetime: 100,
            care_of: Some(COA_V4),
            ipv4_home: None,
            replay: ntp_at(now),
            key: KEY,
        }
    }

    fn packet(&self) -> Vec<u8> {
        let mut m = MobilityHeader::new(v6edge_wire::mh::BindingUpdate {
            sequence: self.sequence,
            flags: BuFlags {
                force_udp: true,
                ..BuFlags::home_registration()
            },
            lifetime: v6edge_wire::mh::FourSeconds(self.lifetime),
        });
        if let Some(a) = self.care_of {
            m.push_option(MhOption::Ipv4CareOf {
                reserved: 0,
                address: a,
            });
        }
        if let Some(a) = self.ipv4_home {
            m.push_option(MhOption::Ipv4HomeAddressRequest(Ipv4HomeAddressRequest {
                prefix_len: 0,
                reserved: 0,
                address: a,
            }));
        }
        m.push_option(MhOption::ReplayProtection(self.replay));
        m.push_option(MhOption::mn_ha_placeholder(self.spi));
        let mut bytes = m.to_bytes();
        // Without the option there is no care-of address: the home agent
        // can only check the authenticator over the unspecified one.
        let care_of = self.care_of.map_or(Ipv6Addr::UNSPECIFIED, dsmip::mapped);
        sign(&mut bytes, care_of, self.hoa, &self.key);
        fill_checksum(self.hoa, ha_addr(), &mut bytes);
        dsmip::signalling_packet(self.hoa, ha_addr(), &bytes)
    }

    fn feed(&self, ha: &mut HomeAgent, now: Instant, from: SocketAddrV4) -> Vec<HaOutput> {
        ha.handle_udp(now, from, &self.packet());
        drain(ha)
    }
}

/// A BA that left in UDP: where to, and its message, checksum checked.
struct UdpBa {
    to: SocketAddrV4,
    src: Ipv6Addr,
    dst: Ipv6Addr,
    message: MobilityHeader,
    bytes: Vec<u8>,
}

impl UdpBa {
    fn status(&self) -> u8 {
        match &self.message.body {
            MhBody::BindingAck(ba) => ba.status.into(),
            other => panic!("not a BA: {other:?}"),
        }
    }

    fn nat_detection(&self) -> Option<NatDetection> {
        dsmip::nat_detection(&self.message.options)
    }

    fn ipv4_ack(&self) -> Option<Ipv4AddressAck> {
        dsmip::ipv4_address_ack(&self.message.options)
    }

    fn authenticates(&self, care_of: Ipv4Addr) -> bool {
        SeenBa {
            ba: match &self.message.body {
                MhBody::BindingAck(ba) => *ba,
                _ => return false,
            },
            options: self.message.options.clone(),
            src: self.src,
            dst: self.dst,
            rh2: None,
            bytes: self.bytes.clone(),
        }
        .authenticates(dsmip::mapped(care_of), self.dst, &KEY)
    }
}

fn udp_bas(out: &[HaOutput]) -> Vec<UdpBa> {
    out.iter()
        .filter_map(|o| match o {
            HaOutput::Udp(UdpTransmit { dst, packet }) => {
                let (src, inner_dst, mh) = dsmip::signalling(packet).expect("an IPv6 MH packet");
                assert!(verify_checksum(src, inner_dst, mh), "BA checksum");
                Some(UdpBa {
                    to: *dst,
                    src,
                    dst: inner_dst,
                    message: MobilityHeader::parse(mh).expect("our BA parses"),
                    bytes: mh.to_vec(),
                })
            }
            _ => None,
        })
        .collect()
}

fn udp_ba(out: &[HaOutput]) -> UdpBa {
    let mut all = udp_bas(out);
    assert_eq!(all.len(), 1, "exactly one BA in UDP in {out:#?}");
    assert!(
        !out.iter().any(|o| matches!(o, HaOutput::Mh(_))),
        "no BA over IPv6 too"
    );
    all.remove(0)
}

/// Registers `bu` from `from` through proxy DAD and the kernel barrier;
/// returns everything emitted (kernel changes and the BA).
fn register_udp(ha: &mut HomeAgent, bu: &UdpBu, from: SocketAddrV4, now: Instant) -> Vec<HaOutput> {
    let mut all = bu.feed(ha, now, from);
    assert!(udp_bas(&all).is_empty(), "BA held during DAD: {all:#?}");
    let at = now + Duration::from_secs(1);
    ha.handle_timeout(at);
    let out = drain(ha);
    let ticket = barrier(&out);
    all.extend(out);
    ha.handle_applied(at, ticket, true);
    all.extend(drain(ha));
    all
}

fn upserts(out: &[HaOutput]) -> Vec<BindingOp> {
    out.iter()
        .filter_map(|o| match o {
            HaOutput::DataPlane(op @ BindingOp::Upsert { .. }) => Some(op.clone()),
            _ => None,
        })
        .collect()
}

fn upsert_udp(op: &BindingOp) -> (Option<SocketAddrV4>, Option<Ipv4Addr>) {
    match op {
        BindingOp::Upsert { udp, ipv4_home, .. } => (*udp, *ipv4_home),
        _ => (None, None),
    }
}

fn v4_kernel(out: &[HaOutput]) -> Vec<String> {
    out.iter()
        .filter_map(|o| match o {
            HaOutput::Kernel(KernelOp::SetRoute4(r)) => Some(format!(
                "+route {}/{} dev {:?}",
                r.dst.addr(),
                r.dst.len(),
                r.ifindex
            )),
            HaOutput::Kernel(KernelOp::DelRoute4(r)) => {
                Some(format!("-route {}/{}", r.dst.addr(), r.dst.len()))
            }
            HaOutput::Kernel(KernelOp::SetProxyNeighbour(p)) if p.addr.is_ipv4() => {
                Some(format!("+proxy {} if {}", p.addr, p.ifindex))
            }
            HaOutput::Kernel(KernelOp::DelProxyNeighbour(p)) if p.addr.is_ipv4() => {
                Some(format!("-proxy {} if {}", p.addr, p.ifindex))
            }
            _ => None,
        })
        .collect()
}

/// DS-2, DS-3, MT-19: behind a NAT the IPv4 care-of address option is not
/// the source the home agent sees; the BA goes back in UDP to that source
/// with NAT Detection (refresh time, F echoed), and the binding's packets
/// go there in UDP.
#[test]
fn ds3_a_bu_through_a_nat_is_answered_in_udp_with_nat_detection() {
    let mut ha = dsmip_agent();
    let out = register_udp(&mut ha, &UdpBu::new(1, secs(0.0)), nat_side(), secs(0.0));
    let ba = udp_ba(&out);
    assert_eq!(ba.status(), 0);
    assert_eq!(ba.to, nat_side());
    assert_eq!((ba.src, ba.dst), (ha_addr(), hoa()));
    assert!(ba.authenticates(COA_V4), "AU-1 over the mapped care-of");
    assert_eq!(
        ba.nat_detection(),
        Some(NatDetection {
            force_udp: true,
            reserved: 0,
            refresh_time: 110
        })
    );
    assert_eq!(ba.ipv4_ack(), None, "nothing asked, nothing acknowledged");
    let ops = upserts(&out);
    assert_eq!(ops.len(), 1);
    assert_eq!(upsert_udp(&ops[0]), (Some(nat_side()), None));
    match &ops[0] {
        BindingOp::Upsert { care_of, .. } => assert_eq!(*care_of, dsmip::mapped(COA_V4)),
        _ => unreachable!(),
    }
    let status = ha.status(secs(2.0));
    assert_eq!(status.bindings.len(), 1);
    assert_eq!(status.bindings[0].udp, Some(nat_side()));
    assert!(status.bindings[0].nat);
}

/// MT-18: without a NAT (the option names the source), no NAT Detection
/// option; UDP all the same (the F flag, DS-10).
#[test]
fn ds3_without_a_nat_there_is_no_nat_detection() {
    let mut ha = dsmip_agent();
    let direct = SocketAddrV4::new(COA_V4, 50123);
    let out = register_udp(&mut ha, &UdpBu::new(1, secs(0.0)), direct, secs(0.0));
    let ba = udp_ba(&out);
    assert_eq!(ba.status(), 0);
    assert_eq!(ba.to, direct);
    assert_eq!(ba.nat_detection(), None);
    assert!(!ha.status(secs(2.0)).bindings[0].nat);
    assert_eq!(upsert_udp(&upserts(&out)[0]).0, Some(direct));
}

/// DS-4, MT-20: a NAT that rebinds (new port) is followed on the next
/// authenticated BU: the data plane moves before the BA, which goes to the
/// new mapping.
#[test]
fn ds4_nat_rebinding_is_followed_on_every_authenticated_bu() {
    let mut ha = dsmip_agent();
    register_udp(&mut ha, &UdpBu::new(1, secs(0.0)), nat_side(), secs(0.0));
    let rebound: SocketAddrV4 = "169.254.255.9:40777".parse().unwrap();
    let at = secs(30.0);
    let out = UdpBu::new(2, at).feed(&mut ha, at, rebound);
    assert!(udp_bas(&out).is_empty(), "the BA waits for the data plane");
    assert_eq!(upsert_udp(&upserts(&out)[0]).0, Some(rebound));
    ha.handle_applied(at, barrier(&out), true);
    let ba = udp_ba(&drain(&mut ha));
    assert_eq!((ba.status(), ba.to), (0, rebound));
    // A refresh from the same mapping changes nothing in the data plane.
    let at = secs(60.0);
    let out = UdpBu::new(3, at).feed(&mut ha, at, rebound);
    assert!(upserts(&out).is_empty());
    assert_eq!(udp_ba(&out).status(), 0);
}

/// DS-7, MT-19: an IPv4 home address from the pool (first free, never the
/// reserved one), routed into the tunnel and answered for by proxy ARP;
/// kept on refresh; a second mobile node gets the next; a taken or
/// foreign address is refused in the acknowledgement only.
#[test]
fn ds7_ipv4_home_addresses_come_from_the_pool() {
    let mut ha = dsmip_agent();
    let mut bu = UdpBu::new(1, secs(0.0));
    bu.ipv4_home = Some(Ipv4Addr::UNSPECIFIED);
    let out = register_udp(&mut ha, &bu, nat_side(), secs(0.0));
    let first = Ipv4Addr::new(169, 254, 1, 2);
    let ba = udp_ba(&out);
    assert_eq!(ba.status(), 0);
    assert_eq!(
        ba.ipv4_ack(),
        Some(Ipv4AddressAck {
            status: 0,
            prefix_len: 24,
            reserved: 0,
            address: first
        })
    );
    assert_eq!(
        v4_kernel(&out),
        vec![
            format!("+proxy {first} if {HOME_V4_IF}"),
            format!("+route {first}/32 dev Some({TUN_IF})"),
        ]
    );
    assert_eq!(upsert_udp(&upserts(&out)[0]).1, Some(first));
    assert_eq!(ha.status(secs(2.0)).bindings[0].ipv4_home, Some(first));

    // A refresh asking again keeps it, with no kernel change.
    let at = secs(20.0);
    let mut again = UdpBu::new(2, at);
    again.ipv4_home = Some(Ipv4Addr::UNSPECIFIED);
    let out = again.feed(&mut ha, at, nat_side());
    assert!(v4_kernel(&out).is_empty());
    assert_eq!(udp_ba(&out).ipv4_ack().map(|a| a.address), Some(first));

    // Another mobile node: the next address; asking for the first one
    // explicitly is 130, outside the pool 131; its binding is accepted.
    let other = |seq: u16, at: Instant, want: Ipv4Addr| UdpBu {
        hoa: ip("2001:db8:1::201"),
        spi: SPI + 1,
        ipv4_home: Some(want),
        ..UdpBu::new(seq, at)
    };
    let elsewhere: SocketAddrV4 = "169.254.255.9:40001".parse().unwrap();
    let out = register_udp(&mut ha, &other(1, at, first), elsewhere, at);
    let ba = udp_ba(&out);
    assert_eq!(ba.status(), 0, "the IPv6 binding stands");
    assert_eq!(ba.ipv4_ack().map(|a| a.status), Some(130));
    assert!(v4_kernel(&out).is_empty());
    let at = secs(25.0);
    let out = other(2, at, Ipv4Addr::new(192, 0, 2, 7)).feed(&mut ha, at, elsewhere);
    assert_eq!(udp_ba(&out).ipv4_ack().map(|a| a.status), Some(131));
    let at = secs(26.0);
    let out = other(3, at, Ipv4Addr::UNSPECIFIED).feed(&mut ha, at, elsewhere);
    ha.handle_applied(at, barrier(&out), true);
    let ba = udp_ba(&drain(&mut ha));
    let second = Ipv4Addr::new(169, 254, 1, 3);
    assert_eq!(
        ba.ipv4_ack().map(|a| (a.status, a.address)),
        Some((0, second))
    );
    assert_eq!(
        v4_kernel(&out),
        vec![
            format!("+proxy {second} if {HOME_V4_IF}"),
            format!("+route {second}/32 dev Some({TUN_IF})"),
        ]
    );

    // The first mobile node stops asking: its address is released.
    let at = secs(40.0);
    let out = UdpBu::new(3, at).feed(&mut ha, at, nat_side());
    assert_eq!(
        v4_kernel(&out),
        vec![
            format!("-route {first}/32"),
            format!("-proxy {first} if {HOME_V4_IF}"),
        ]
    );
    assert_eq!(upsert_udp(&upserts(&out)[0]).1, None);
}

/// DS-7: without a pool a request is 129 and the binding stands.
#[test]
fn ds7_without_a_pool_the_request_is_prohibited() {
    let mut cfg = dsmip_config();
    if let Some(d) = cfg.dsmip.as_mut() {
        d.ipv4_home = None;
    }
    let mut ha = agent_with(cfg);
    let mut bu = UdpBu::new(1, secs(0.0));
    bu.ipv4_home = Some(Ipv4Addr::UNSPECIFIED);
    let out = register_udp(&mut ha, &bu, nat_side(), secs(0.0));
    let ba = udp_ba(&out);
    assert_eq!(ba.status(), 0);
    assert_eq!(ba.ipv4_ack().map(|a| a.status), Some(129));
    assert!(v4_kernel(&out).is_empty());
}

/// DS-2: a BU in UDP without the IPv4 Care-of Address option is refused
/// (174) in UDP; nothing is installed.
#[test]
fn ds2_a_bu_in_udp_needs_the_ipv4_care_of_address_option() {
    let mut ha = dsmip_agent();
    let mut bu = UdpBu::new(1, secs(0.0));
    bu.care_of = None;
    let out = bu.feed(&mut ha, secs(0.0), nat_side());
    // Signed over the unspecified care-of address: authentic, refused.
    let ba = udp_ba(&out);
    assert_eq!(ba.status(), 174);
    assert!(!installs(&out));
    assert!(ha.status(secs(1.0)).bindings.is_empty());
}

/// AU-2 over UDP: a wrong key gets 146 back in UDP, nothing installed.
#[test]
fn au2_a_forged_bu_in_udp_gets_146_and_nothing() {
    let mut ha = dsmip_agent();
    let mut bu = UdpBu::new(1, secs(0.0));
    bu.key = *b"not-the-real-key";
    let out = bu.feed(&mut ha, secs(0.0), nat_side());
    assert_eq!(udp_ba(&out).status(), 146);
    assert!(!installs(&out));
}

/// DS-1: with DSMIPv6 off, signalling in UDP is dropped and counted; so is
/// a packet in UDP that is not a Mobility Header after an IPv6 header.
#[test]
fn ds1_udp_signalling_needs_dsmip_configured() {
    let mut ha = agent();
    let out = UdpBu::new(1, secs(0.0)).feed(&mut ha, secs(0.0), nat_side());
    assert!(out.is_empty());
    assert_eq!(ha.counters().dropped.get(&DropReason::DsmipOff), Some(&1));
    let mut ha = dsmip_agent();
    let mut not_mh = UdpBu::new(1, secs(0.0)).packet();
    not_mh[6] = 58;
    ha.handle_udp(secs(0.0), nat_side(), &not_mh);
    ha.handle_udp(secs(0.0), nat_side(), &[0x60, 0, 0]);
    assert!(drain(&mut ha).is_empty());
    assert_eq!(
        ha.counters().dropped.get(&DropReason::DsmipMalformed),
        Some(&2)
    );
}

/// HA-12 over UDP: a deregistration removes the binding, its IPv4 home
/// address included, and is acknowledged in UDP once that is done.
#[test]
fn ha12_deregistration_in_udp_removes_everything() {
    let mut ha = dsmip_agent();
    let mut bu = UdpBu::new(1, secs(0.0));
    bu.ipv4_home = Some(Ipv4Addr::UNSPECIFIED);
    register_udp(&mut ha, &bu, nat_side(), secs(0.0));
    let at = secs(10.0);
    let mut dereg = UdpBu::new(2, at);
    dereg.lifetime = 0;
    let out = dereg.feed(&mut ha, at, nat_side());
    assert!(udp_bas(&out).is_empty(), "the BA waits for the removal");
    let first = Ipv4Addr::new(169, 254, 1, 2);
    assert_eq!(
        v4_kernel(&out),
        vec![
            format!("-route {first}/32"),
            format!("-proxy {first} if {HOME_V4_IF}"),
        ]
    );
    assert!(out.contains(&HaOutput::DataPlane(BindingOp::Remove { hoa: hoa() })));
    ha.handle_applied(at, barrier(&out), true);
    let ba = udp_ba(&drain(&mut ha));
    assert_eq!((ba.status(), ba.to), (0, nat_side()));
    assert!(ha.status(at).bindings.is_empty());
}

/// DS-8 (vertical handover, MT-21): from an IPv4 care-of address to an
/// IPv6 one; the binding leaves UDP, and the IPv4 home address goes (it is
/// only served in UDP here).
#[test]
fn ds8_moving_to_an_ipv6_care_of_address_leaves_udp() {
    let mut ha = dsmip_agent();
    let mut bu = UdpBu::new(1, secs(0.0));
    bu.ipv4_home = Some(Ipv4Addr::UNSPECIFIED);
    register_udp(&mut ha, &bu, nat_side(), secs(0.0));
    let at = secs(10.0);
    let mut v6 = Bu::new(2, 100, at);
    v6.extra
        .push(MhOption::Ipv4HomeAddressRequest(Ipv4HomeAddressRequest {
            prefix_len: 0,
            reserved: 0,
            address: Ipv4Addr::UNSPECIFIED,
        }));
    let out = v6.feed(&mut ha, at);
    let ops = upserts(&out);
    assert_eq!(upsert_udp(&ops[0]), (None, None));
    match &ops[0] {
        BindingOp::Upsert { care_of, .. } => assert_eq!(*care_of, coa()),
        _ => unreachable!(),
    }
    assert_eq!(
        v4_kernel(&out).len(),
        2,
        "route and proxy removed: {out:#?}"
    );
    ha.handle_applied(at, barrier(&out), true);
    let out = drain(&mut ha);
    let ba = ba(&out);
    assert_eq!(ba.status(), 0);
    assert_eq!(
        dsmip::ipv4_address_ack(&ba.options).map(|a| a.status),
        Some(129)
    );
    assert!(udp_bas(&out).is_empty());
}

/// Persistence: a UDP binding with its IPv4 home address comes back after
/// a restart, its kernel state and data plane with it.
#[test]
fn a_udp_binding_is_restored_with_its_ipv4_home_address() {
    let mut ha = dsmip_agent();
    let mut bu = UdpBu::new(1, secs(0.0));
    bu.ipv4_home = Some(Ipv4Addr::UNSPECIFIED);
    register_udp(&mut ha, &bu, nat_side(), secs(0.0));
    let records = ha.bindings();
    assert_eq!(records[0].udp, Some(nat_side()));
    let mut fresh = dsmip_agent();
    assert_eq!(fresh.restore(records.clone(), secs(5.0)), 1);
    let out = drain(&mut fresh);
    assert_eq!(
        upsert_udp(&upserts(&out)[0]),
        (Some(nat_side()), Some(Ipv4Addr::new(169, 254, 1, 2)))
    );
    assert_eq!(v4_kernel(&out).len(), 2);
    // Without DSMIPv6 configured any more, it is not restored.
    let mut plain = agent();
    assert_eq!(plain.restore(records, secs(5.0)), 0);
    let _ = IpAddr::from(HA_V4);
}
