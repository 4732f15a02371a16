//! Fuzz target for the Mobile IPv6 home agent machine
//! (`v6edge_mip6::ha::HomeAgent`), driven over time as the daemon drives
//! it: Binding Updates built from parts (valid ones, with the right or a
//! wrong key, skewed timestamps, any sequence and lifetime, a flipped
//! octet), arbitrary Mobility Header bytes with or without a Home Address
//! option or Type 2 Routing Header, arbitrary ICMPv6 on the home link,
//! Mobile Prefix Solicitations (built, or arbitrary captured ICMPv6),
//! home prefix changes (HA-18), time steps (the harness wakes the machine
//! at every deadline) and the driver's answers to barriers (applied or
//! failed). The home address is permitted as a mobile router (RFC 3963)
//! for 2001:db8:10::/48; BUs may set R and carry Mobile Network Prefix
//! options inside, outside or across it, with host bits or any length.
//! DSMIPv6 (RFC 5555) is on: Binding Updates in UDP from IPv4 care-of
//! addresses (through a "NAT" or not, any port, with or without an IPv4
//! home address request from a pool of five), and arbitrary UDP payloads.
//!
//! Checked after every step, beyond "no panic":
//! - only the one configured home address is ever bound, tunnelled or
//!   proxied (an unauthenticated input installs nothing: HA-2, AU-2);
//! - the binding cache never exceeds the configured maximum;
//! - every route and data-plane binding is for the home address or a
//!   mobile network inside the permit, and a BA sets R only when it
//!   accepts a mobile router's BU;
//! - a BA with status 0 for a new care-of address leaves only after the
//!   barrier before it was answered (HA-20);
//! - the machine never asks to be woken at or before the instant it was
//!   just called at;
//! - every Mobile Prefix Advertisement goes to the home address's bound
//!   care-of address, parses, and checksums over the home address;
//! - IPv4 routes, proxy ARP entries and data-plane IPv4 home addresses
//!   are single addresses of the pool, never its first, last or reserved
//!   one; a BA in UDP goes only to an endpoint a UDP input came from.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use std::collections::{BTreeSet, VecDeque};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4};
use std::time::Duration;
use v6edge_core::{Instant, KernelOp, Received};
use v6edge_mip6::auth::{self, MnHaKey, NtpTimestamp, Principal, ReplayMode, SecurityAssociation};
use v6edge_mip6::dataplane::BindingOp;
use v6edge_mip6::ha::{
    ApplyTicket, HaConfig, HaOutput, HomeAgent, HomeLink, MhReceived, Security, ServedPrefix,
};
use v6edge_wire::mh::{
    BindingUpdate, BuFlags, FourSeconds, MhOption, MobilityHeader, auth as mh_auth, fill_checksum,
};

const HOME_IF: u32 = 2;
const TUN_IF: u32 = 9;
const SPI: u32 = 1000;
const KEY: [u8; 16] = *b"fuzzing-key-0123";
const T0_NTP: u64 = 0xeb00_0000_0000_0000;
const MAX_BINDINGS: usize = 4;

fn ha_addr() -> Ipv6Addr {
    Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 1)
}
fn hoa() -> Ipv6Addr {
    Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0x200)
}
fn care_of(i: u8) -> Ipv6Addr {
    Ipv6Addr::new(0x2001, 0xdb8, 2, 0, 0, 0, 0, u16::from(i % 4) + 1)
}

#[derive(Debug, Arbitrary)]
enum Event {
    Bu {
        sequence: u16,
        lifetime: u16,
        care_of: u8,
        home_registration: bool,
        right_key: bool,
        /// Timestamp skew in tenths of a second.
        skew: i16,
        flip: Option<(u8, u8)>,
        with_hao: bool,
        mobile_router: bool,
        /// Mobile Network Prefix options: 2001:db8:<word>::/<length>.
        networks: Vec<(u16, u8)>,
    },
    Raw {
        bytes: Vec<u8>,
        hao: bool,
        rh2: bool,
        care_of: u8,
    },
    Icmp {
        bytes: Vec<u8>,
        from_unspecified: bool,
    },
    /// Time passes, in tenths of a second.
    Wait(u16),
    /// The driver answers the oldest open barrier.
    Applied(bool),
    /// A Mobile Prefix Solicitation from a care-of address.
    Solicit {
        identifier: u16,
        care_of: u8,
        with_hao: bool,
        flip: Option<(u8, u8)>,
    },
    /// Arbitrary ICMPv6 captured with a Home Address option.
    CapturedIcmp { bytes: Vec<u8>, care_of: u8 },
    /// A Binding Update in UDP from an IPv4 care-of address (DSMIPv6).
    UdpBu {
        sequence: u16,
        lifetime: u16,
        /// 169.254.2.<x % 4>: the IPv4 Care-of Address option (none: None).
        care_of: Option<u8>,
        /// The outer source: the care-of address itself, or a "NAT".
        behind_nat: bool,
        port: u16,
        right_key: bool,
        skew: i16,
        /// An IPv4 Home Address Request: 0.0.0.0 or 169.254.1.<x>.
        ipv4_home: Option<Option<u8>>,
        flip: Option<(u8, u8)>,
    },
    /// Arbitrary octets arriving in UDP.
    UdpRaw { bytes: Vec<u8>, port: u16 },
    /// The home prefix's lifetimes now (seconds; `None`: infinite), and
    /// maybe a second prefix.
    Prefixes {
        valid: Option<u16>,
        preferred: Option<u16>,
        second: bool,
    },
}

#[derive(Debug, Arbitrary)]
struct Input {
    events: Vec<Event>,
}

fn config() -> HaConfig {
    HaConfig {
        home_links: vec![HomeLink {
            ifindex: HOME_IF,
            address: ha_addr(),
            link_layer_address: Some(vec![2, 0, 0, 0, 0, 1]),
            prefixes: vec![ServedPrefix::infinite(
                "2001:db8:1::/64".parse().expect("literal"),
            )],
            preference: 0,
            peers: Vec::new(),
        }],
        security: Security::Rfc4285,
        security_associations: vec![SecurityAssociation {
            spi: SPI,
            key: MnHaKey::new(KEY),
            principal: Principal::HomeAddress(hoa()),
            replay: ReplayMode::default(),
        }],
        max_bindings: MAX_BINDINGS,
        tunnel_ifindex: Some(TUN_IF),
        mobile_prefix_advertisements: true,
        mobile_routers: vec![v6edge_mip6::ha::MobileRouterPermit {
            home_address: hoa(),
            prefixes: vec![permit()],
        }],
        dsmip: Some(v6edge_mip6::ha::HaDsmip {
            address: Ipv4Addr::new(169, 254, 255, 1),
            nat_refresh: Duration::from_secs(110),
            ipv4_home: Some(v6edge_mip6::ha::Ipv4HomePool {
                prefix: pool(),
                ifindex: HOME_IF,
                reserved: vec![Ipv4Addr::new(169, 254, 1, 1)],
            }),
        }),
        ..HaConfig::default()
    }
}

/// 169.254.1.0/29: .2 to .6 may be handed out (.1 is reserved).
fn pool() -> v6edge_core::Prefix4 {
    v6edge_core::Prefix4::new(Ipv4Addr::new(169, 254, 1, 0), 29).expect("literal")
}

fn from_pool(a: Ipv4Addr) -> bool {
    (2..=6).contains(&a.octets()[3]) && a.octets()[..3] == [169, 254, 1]
}

/// A DSMIPv6 Binding Update (RFC 5555 §4.2.1): IPv4 Care-of Address
/// option, authenticated over its IPv4-mapped form, in an IPv6 packet.
#[allow(clippy::too_many_arguments)]
fn udp_bu_packet(
    sequence: u16,
    lifetime: u16,
    care_of: Option<Ipv4Addr>,
    key: &[u8; 16],
    replay: u64,
    ipv4_home: Option<Ipv4Addr>,
    flip: Option<(u8, u8)>,
) -> Vec<u8> {
    let mut m = MobilityHeader::new(BindingUpdate {
        sequence,
        flags: BuFlags {
            force_udp: true,
            ..BuFlags::home_registration()
        },
        lifetime: FourSeconds(lifetime),
    });
    if let Some(a) = care_of {
        m.push_option(MhOption::Ipv4CareOf {
            reserved: 0,
            address: a,
        });
    }
    if let Some(a) = ipv4_home {
        m.push_option(MhOption::Ipv4HomeAddressRequest(
            v6edge_wire::mh::Ipv4HomeAddressRequest {
                prefix_len: 0,
                reserved: 0,
                address: a,
            },
        ));
    }
    m.push_option(MhOption::ReplayProtection(replay));
    m.push_option(MhOption::mn_ha_placeholder(SPI));
    let mut bytes = m.to_bytes();
    let coa = care_of.map_or(Ipv6Addr::UNSPECIFIED, |a| a.to_ipv6_mapped());
    if let Ok(Some(input)) = mh_auth::mobility_message_auth_input(coa, hoa(), &bytes) {
        let mac = auth::authenticator(&MnHaKey::new(*key), &input.data);
        input.fill(&mut bytes, &mac);
    }
    fill_checksum(hoa(), ha_addr(), &mut bytes);
    if let Some((at, x)) = flip
        && !bytes.is_empty()
    {
        let i = usize::from(at) % bytes.len();
        bytes[i] ^= x | 1;
    }
    v6edge_mip6::dsmip::signalling_packet(hoa(), ha_addr(), &bytes)
}

/// The mobile networks the home address may register (RFC 3963).
fn permit() -> v6edge_prefix::Prefix {
    "2001:db8:10::/48".parse().expect("literal")
}

fn ntp_at(at: Instant, skew_tenths: i16) -> u64 {
    let base = NtpTimestamp(T0_NTP).after(Duration::from_micros(at.as_micros()));
    let skew = NtpTimestamp(0)
        .after(Duration::from_millis(
            u64::from(skew_tenths.unsigned_abs()) * 100,
        ))
        .0;
    if skew_tenths < 0 {
        base.0.wrapping_sub(skew)
    } else {
        base.0.wrapping_add(skew)
    }
}

/// A Binding Update's bytes as a mobile node builds them (RFC 4285 §5.1
/// authenticator, then the RFC 6275 §6.1.1 checksum over the home address).
fn bu_bytes(
    sequence: u16,
    lifetime: u16,
    coa: Ipv6Addr,
    flags: BuFlags,
    key: &[u8; 16],
    replay: u64,
    networks: &[(u16, u8)],
) -> Vec<u8> {
    let mut m = MobilityHeader::new(BindingUpdate {
        sequence,
        flags,
        lifetime: FourSeconds(lifetime),
    });
    m.push_option(MhOption::AlternateCareOf(coa));
    for &(word, len) in networks.iter().take(4) {
        m.push_option(MhOption::MobileNetworkPrefix(
            v6edge_wire::mh::MobileNetworkPrefix::new(
                Ipv6Addr::new(0x2001, 0xdb8, word, 0, 0, 0, 0, 0),
                len,
            ),
        ));
    }
    m.push_option(MhOption::ReplayProtection(replay));
    m.push_option(MhOption::mn_ha_placeholder(SPI));
    let mut bytes = m.to_bytes();
    if let Ok(Some(input)) = mh_auth::mobility_message_auth_input(coa, hoa(), &bytes) {
        let mac = auth::authenticator(&MnHaKey::new(*key), &input.data);
        input.fill(&mut bytes, &mac);
    }
    fill_checksum(hoa(), ha_addr(), &mut bytes);
    bytes
}

struct Harness {
    ha: HomeAgent,
    now: Instant,
    open_barriers: VecDeque<ApplyTicket>,
    /// Every endpoint a UDP input came from.
    endpoints: BTreeSet<SocketAddrV4>,
}

impl Harness {
    fn drain(&mut self) {
        let mut barrier_open = false;
        while let Some(out) = self.ha.poll_output() {
            match out {
                HaOutput::DataPlane(BindingOp::Upsert {
                    hoa: h,
                    prefixes,
                    udp,
                    ipv4_home,
                    ..
                }) => {
                    assert!(ipv4_home.is_none_or(from_pool), "{ipv4_home:?}");
                    assert!(udp.is_none_or(|u| self.endpoints.contains(&u)));
                    assert!(
                        ipv4_home.is_none() || udp.is_some(),
                        "IPv4 home only in UDP"
                    );
                    assert_eq!(h, hoa(), "only the configured home address is tunnelled");
                    assert!(
                        prefixes.iter().all(|p| permit().contains(p)),
                        "a mobile network outside the permit: {prefixes:?}"
                    );
                }
                HaOutput::Kernel(KernelOp::SetRoute(r)) => {
                    assert!(
                        r.dst == v6edge_prefix::Prefix::new(hoa(), 128).expect("host route")
                            || permit().contains(&r.dst),
                        "a route for {}",
                        r.dst
                    );
                }
                HaOutput::Kernel(KernelOp::SetProxyNeighbour(p)) => {
                    let served = match p.addr {
                        std::net::IpAddr::V6(a) => a == hoa() || a.is_unicast_link_local(),
                        std::net::IpAddr::V4(a) => from_pool(a),
                    };
                    assert!(served, "proxy entry for {}", p.addr);
                }
                HaOutput::Kernel(KernelOp::SetRoute4(r)) => {
                    assert!(r.dst.len() == 32 && from_pool(r.dst.addr()), "{r:?}");
                }
                HaOutput::Udp(t) => {
                    assert!(self.endpoints.contains(&t.dst), "a BA to {}", t.dst);
                    let (src, dst, mh) =
                        v6edge_mip6::dsmip::signalling(&t.packet).expect("our own packet");
                    assert_eq!((src, dst), (ha_addr(), hoa()));
                    assert!(v6edge_wire::mh::verify_checksum(src, dst, mh));
                    if barrier_open
                        && let Ok(m) = MobilityHeader::parse(mh)
                        && let v6edge_wire::mh::MhBody::BindingAck(ba) = &m.body
                    {
                        assert!(
                            !ba.status.is_accepted() || ba.lifetime.0 == 0,
                            "a BA 0 left before its barrier was answered"
                        );
                    }
                }
                HaOutput::Barrier(t) => {
                    self.open_barriers.push_back(t);
                    barrier_open = true;
                }
                HaOutput::Mh(t) => {
                    // HA-20: nothing the barrier guards leaves in the same
                    // drain as the barrier itself.
                    if let Ok(m) = MobilityHeader::parse(&t.payload)
                        && let v6edge_wire::mh::MhBody::BindingAck(ba) = &m.body
                    {
                        // RFC 3963 §6.2: R only on acceptance.
                        assert!(!ba.flags.mobile_router || ba.status.is_accepted());
                    }
                    if barrier_open
                        && let Ok(m) = MobilityHeader::parse(&t.payload)
                        && let v6edge_wire::mh::MhBody::BindingAck(ba) = &m.body
                    {
                        assert!(
                            !ba.status.is_accepted() || ba.lifetime.0 == 0,
                            "a BA 0 left before its barrier was answered"
                        );
                    }
                }
                HaOutput::Icmp6ToHomeAddress(t) => {
                    let bound = self.ha.bindings();
                    assert!(
                        bound
                            .iter()
                            .any(|b| b.home_address == t.home_address && b.care_of == t.care_of),
                        "an advertisement for no binding: {t:?}"
                    );
                    assert_eq!(t.src, ha_addr());
                    assert!(v6edge_wire::nd::verify_checksum(
                        t.src,
                        t.home_address,
                        &t.payload
                    ));
                    assert!(matches!(
                        v6edge_wire::nd::MobilityIcmp::parse(&t.payload),
                        Ok(v6edge_wire::nd::MobilityIcmp::MobilePrefixAdvert(_))
                    ));
                }
                _ => {}
            }
        }
        assert!(self.ha.bindings().len() <= MAX_BINDINGS);
        assert!(self.ha.bindings().iter().all(|b| b.home_address == hoa()));
    }

    fn wait(&mut self, d: Duration) {
        let until = self.now + d;
        for _ in 0..256 {
            match self.ha.poll_timeout() {
                Some(t) if t <= until => {
                    let t = t.max(self.now);
                    self.now = t;
                    self.ha.handle_timeout(t);
                    self.drain();
                    if let Some(next) = self.ha.poll_timeout() {
                        assert!(next > t, "woken at {t:?}, asks again for {next:?}");
                    }
                }
                _ => break,
            }
        }
        self.now = until;
    }
}

fuzz_target!(|input: Input| {
    let Ok(mut ha) = HomeAgent::new(config(), 7, Instant::ZERO) else {
        return;
    };
    ha.set_wall_clock(Instant::ZERO, NtpTimestamp(T0_NTP));
    let mut h = Harness {
        ha,
        now: Instant::ZERO,
        open_barriers: VecDeque::new(),
        endpoints: BTreeSet::new(),
    };
    for event in input.events.into_iter().take(64) {
        match event {
            Event::Bu {
                sequence,
                lifetime,
                care_of: c,
                home_registration,
                right_key,
                skew,
                flip,
                with_hao,
                mobile_router,
                networks,
            } => {
                let coa = care_of(c);
                let mut flags = BuFlags::home_registration();
                flags.home_registration = home_registration;
                flags.mobile_router = mobile_router;
                let key = if right_key { KEY } else { *b"not-the-key-0123" };
                let mut bytes = bu_bytes(
                    sequence,
                    lifetime,
                    coa,
                    flags,
                    &key,
                    ntp_at(h.now, skew),
                    &networks,
                );
                if let Some((at, x)) = flip
                    && !bytes.is_empty()
                {
                    let i = usize::from(at) % bytes.len();
                    bytes[i] ^= x | 1;
                }
                h.ha.handle_mh(
                    h.now,
                    &MhReceived {
                        ifindex: 3,
                        src: coa,
                        dst: ha_addr(),
                        hao: with_hao.then(hoa),
                        rh2: None,
                        bytes: &bytes,
                    },
                );
            }
            Event::Raw {
                bytes,
                hao,
                rh2,
                care_of: c,
            } => h.ha.handle_mh(
                h.now,
                &MhReceived {
                    ifindex: 3,
                    src: care_of(c),
                    dst: ha_addr(),
                    hao: hao.then(hoa),
                    rh2: rh2.then(hoa),
                    bytes: &bytes,
                },
            ),
            Event::Icmp {
                bytes,
                from_unspecified,
            } => h.ha.handle_icmp6(
                h.now,
                &Received {
                    ifindex: HOME_IF,
                    src: if from_unspecified {
                        Ipv6Addr::UNSPECIFIED
                    } else {
                        Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 9)
                    },
                    dst: Ipv6Addr::new(0xff02, 0, 0, 0, 0, 1, 0xff00, 0x200),
                    hop_limit: 255,
                    bytes: &bytes,
                },
            ),
            Event::Wait(tenths) => h.wait(Duration::from_millis(u64::from(tenths) * 100)),
            Event::Applied(ok) => {
                if let Some(t) = h.open_barriers.pop_front() {
                    h.ha.handle_applied(h.now, t, ok);
                }
            }
            Event::Solicit {
                identifier,
                care_of: c,
                with_hao,
                flip,
            } => {
                let mut bytes = v6edge_wire::nd::MobilityIcmp::MobilePrefixSolicit(
                    v6edge_wire::nd::MobilePrefixSolicit {
                        identifier,
                        reserved: 0,
                    },
                )
                .to_bytes_with_checksum(hoa(), ha_addr());
                if let Some((at, x)) = flip {
                    let i = usize::from(at) % bytes.len();
                    bytes[i] ^= x | 1;
                }
                h.ha.handle_captured_icmp6(
                    h.now,
                    &MhReceived {
                        ifindex: 3,
                        src: care_of(c),
                        dst: ha_addr(),
                        hao: with_hao.then(hoa),
                        rh2: None,
                        bytes: &bytes,
                    },
                );
            }
            Event::CapturedIcmp { bytes, care_of: c } => h.ha.handle_captured_icmp6(
                h.now,
                &MhReceived {
                    ifindex: 3,
                    src: care_of(c),
                    dst: ha_addr(),
                    hao: Some(hoa()),
                    rh2: None,
                    bytes: &bytes,
                },
            ),
            Event::UdpBu {
                sequence,
                lifetime,
                care_of: c,
                behind_nat,
                port,
                right_key,
                skew,
                ipv4_home,
                flip,
            } => {
                let coa = c.map(|x| Ipv4Addr::new(169, 254, 2, x % 4));
                let outer = if behind_nat {
                    Ipv4Addr::new(169, 254, 255, 9)
                } else {
                    coa.unwrap_or(Ipv4Addr::new(169, 254, 2, 0))
                };
                let from = SocketAddrV4::new(outer, port);
                h.endpoints.insert(from);
                let key = if right_key { KEY } else { *b"not-the-key-0123" };
                let request = ipv4_home
                    .map(|x| x.map_or(Ipv4Addr::UNSPECIFIED, |x| Ipv4Addr::new(169, 254, 1, x)));
                let packet = udp_bu_packet(
                    sequence,
                    lifetime,
                    coa,
                    &key,
                    ntp_at(h.now, skew),
                    request,
                    flip,
                );
                h.ha.handle_udp(h.now, from, &packet);
            }
            Event::UdpRaw { bytes, port } => {
                let from = SocketAddrV4::new(Ipv4Addr::new(169, 254, 255, 9), port);
                h.endpoints.insert(from);
                h.ha.handle_udp(h.now, from, &bytes);
            }
            Event::Prefixes {
                valid,
                preferred,
                second,
            } => {
                let at = |s: Option<u16>| s.map(|s| h.now + Duration::from_secs(u64::from(s)));
                let mut prefixes = vec![ServedPrefix {
                    prefix: "2001:db8:1::/64".parse().expect("literal"),
                    valid_until: at(valid),
                    preferred_until: at(preferred),
                }];
                if second {
                    prefixes.push(ServedPrefix::infinite(
                        "2001:db8:5::/64".parse().expect("literal"),
                    ));
                }
                h.ha.set_home_prefixes(h.now, HOME_IF, prefixes);
            }
        }
        h.drain();
    }
});
