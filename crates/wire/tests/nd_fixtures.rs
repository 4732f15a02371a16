//! ND codec against real captures: every fixture parses and re-emits
//! byte-identical (checksum included, computed from the capture's IPv6
//! addresses), plus field-by-field assertions for a representative set.
//! Fixtures come from the lab corpus (tests/fixtures/nd/index.tsv names the
//! implementation, pcap and frame of each).

#[path = "fixtures/nd/load.rs"]
mod load;

use std::net::Ipv6Addr;

use v6edge_wire::Lifetime;
use v6edge_wire::nd::{
    self, NdMessage, NdOption, NeighborAdvert, RaFlags, RouteInfo, RouterAdvert, RouterPreference,
};

fn ip(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

fn parse(name: &str) -> NdMessage {
    let f = load::get(name);
    NdMessage::parse(&f.bytes).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn ra(name: &str) -> RouterAdvert {
    match parse(name) {
        NdMessage::RouterAdvert(ra) => ra,
        other => panic!("{name}: expected an RA, got {other:?}"),
    }
}

fn na(name: &str) -> NeighborAdvert {
    match parse(name) {
        NdMessage::NeighborAdvert(na) => na,
        other => panic!("{name}: expected an NA, got {other:?}"),
    }
}

#[test]
fn every_fixture_round_trips_byte_identical_with_valid_checksum() {
    for f in load::all() {
        assert!(
            nd::verify_checksum(f.src, f.dst, &f.bytes),
            "{}: checksum",
            f.name
        );
        let stored = u16::from_be_bytes([f.bytes[2], f.bytes[3]]);
        assert_eq!(nd::checksum(f.src, f.dst, &f.bytes), stored, "{}", f.name);

        let msg = NdMessage::parse(&f.bytes).unwrap_or_else(|e| panic!("{}: {e}", f.name));
        assert_eq!(msg.buffer_len(), f.bytes.len(), "{}", f.name);
        assert_eq!(
            msg.to_bytes_with_checksum(f.src, f.dst),
            f.bytes,
            "{}",
            f.name
        );

        // Plain emit: identical except the checksum, which is left 0 for the
        // kernel; the buffer is pre-filled with junk so an unwritten octet shows.
        let mut buf = vec![0xa5u8; f.bytes.len() + 3];
        assert_eq!(msg.emit(&mut buf), f.bytes.len());
        assert_eq!(&buf[..2], &f.bytes[..2]);
        assert_eq!(&buf[2..4], &[0, 0], "{}", f.name);
        assert_eq!(&buf[4..f.bytes.len()], &f.bytes[4..], "{}", f.name);
        assert_eq!(
            &buf[f.bytes.len()..],
            &[0xa5; 3],
            "{}: wrote past buffer_len",
            f.name
        );

        assert_eq!(msg.validate(), Ok(()), "{}", f.name);
        assert_eq!(msg.icmp_type(), f.bytes[0]);
    }
}

#[test]
fn radvd_ra_with_pio_rio_rdnss_dnssl_mtu() {
    let ra = ra("radvd-ra-pio3-rio2-rdnss-dnssl-mtu-slla.bin");
    assert_eq!(ra.cur_hop_limit, 64);
    assert_eq!(
        ra.flags,
        RaFlags {
            managed: false,
            other: true,
            home_agent: false,
            preference: RouterPreference::High,
            proxy: false,
            reserved: 0
        }
    );
    assert_eq!(ra.router_lifetime, 600);
    assert_eq!(ra.reachable_time, 30_000);
    assert_eq!(ra.retrans_timer, 1_000);

    let kinds: Vec<u8> = ra.options.iter().map(NdOption::kind).collect();
    assert_eq!(
        kinds,
        [3, 3, 3, 24, 24, 25, 31, 5, 1],
        "all options, in wire order"
    );

    let pios: Vec<_> = ra.options.prefixes().collect();
    assert_eq!(pios.len(), 3);
    assert_eq!(
        (pios[0].prefix, pios[0].prefix_len),
        (ip("2001:db8:d::"), 64)
    );
    assert!(pios[0].on_link && pios[0].autonomous && !pios[0].router_addr && !pios[0].pd_preferred);
    assert_eq!(
        (pios[0].valid, pios[0].preferred),
        (Lifetime::Finite(3600), Lifetime::Finite(1800))
    );
    assert_eq!(pios[1].prefix, ip("2001:db8:d1::"));
    assert!(!pios[1].on_link && pios[1].autonomous);
    assert_eq!(
        (pios[1].valid, pios[1].preferred),
        (Lifetime::Finite(7200), Lifetime::Finite(3600))
    );
    assert_eq!(pios[2].prefix, ip("2001:db8:d2::"));
    assert!(pios[2].on_link && !pios[2].autonomous);
    assert_eq!(
        (pios[2].valid, pios[2].preferred),
        (Lifetime::Infinite, Lifetime::Infinite)
    );

    // Interop: radvd sends every RIO with length 3, also for /48 and /56.
    let rios: Vec<&RouteInfo> = ra.options.route_infos().collect();
    assert_eq!(rios.len(), 2);
    assert_eq!(
        (rios[0].prefix, rios[0].prefix_len),
        (ip("2001:db8:f00::"), 48)
    );
    assert_eq!(rios[0].preference, RouterPreference::High);
    assert_eq!(rios[0].lifetime, Lifetime::Finite(1800));
    assert_eq!(rios[0].length, 3);
    assert_eq!(
        (rios[1].prefix, rios[1].prefix_len),
        (ip("2001:db8:f10::"), 56)
    );
    assert_eq!(rios[1].preference, RouterPreference::Low);
    assert_eq!(rios[1].lifetime, Lifetime::Infinite);

    let rdnss: Vec<_> = ra.options.rdnss().collect();
    assert_eq!(rdnss.len(), 1);
    assert_eq!(rdnss[0].lifetime, Lifetime::Finite(600));
    assert_eq!(
        rdnss[0].servers,
        [ip("2001:db8:d::53"), ip("2001:db8:d::54")]
    );

    let dnssl: Vec<_> = ra.options.dnssl().collect();
    assert_eq!(dnssl.len(), 1);
    assert_eq!(dnssl[0].lifetime, Lifetime::Finite(600));
    assert_eq!(dnssl[0].domains, ["lab.example", "corp.lab.example"]);
    assert_eq!(dnssl[0].padding, 1);

    assert_eq!(ra.options.mtu(), Some(1480));
    assert_eq!(
        ra.source_lla(),
        Some(&[0x62, 0x0e, 0x22, 0x3b, 0xcc, 0x03][..])
    );
}

#[test]
fn radvd_final_ra_has_router_lifetime_zero() {
    let last = ra("radvd-ra-lifetime0-pio3-rio2-rdnss-dnssl-mtu-slla.bin");
    let live = ra("radvd-ra-pio3-rio2-rdnss-dnssl-mtu-slla.bin");
    // RFC 4861 §6.2.5: the ceasing router advertises Router Lifetime 0;
    // radvd also zeroes the RIO, RDNSS and DNSSL lifetimes but keeps PIOs.
    assert_eq!(last.router_lifetime, 0);
    assert_eq!(last.flags, live.flags);
    assert!(last.options.route_infos().all(|r| r.lifetime.is_zero()));
    assert!(last.options.rdnss().all(|r| r.lifetime.is_zero()));
    assert!(last.options.dnssl().all(|d| d.lifetime.is_zero()));
    assert_eq!(
        last.options.prefixes().collect::<Vec<_>>(),
        live.options.prefixes().collect::<Vec<_>>()
    );
}

#[test]
fn radvd_mobile_ipv6_ra_with_home_agent_options() {
    let ra = ra("radvd-ra-pio-slla-advint-hainfo.bin");
    assert!(ra.flags.home_agent && !ra.flags.managed && !ra.flags.other);
    assert_eq!(ra.flags.preference, RouterPreference::Medium);
    assert_eq!(ra.router_lifetime, 1800);
    assert_eq!((ra.reachable_time, ra.retrans_timer), (0, 0));

    let pio = ra.options.prefixes().next().unwrap();
    // RFC 6275 §7.2: R set, the prefix field carries the router's address.
    assert!(pio.on_link && pio.autonomous && pio.router_addr);
    assert_eq!((pio.prefix, pio.prefix_len), (ip("2001:db8:4a::1"), 64));
    assert_eq!(
        (pio.valid, pio.preferred),
        (Lifetime::Finite(86_400), Lifetime::Finite(14_400))
    );

    assert_eq!(
        ra.source_lla(),
        Some(&[0x2e, 0xf2, 0x3d, 0x52, 0xfe, 0x6f][..])
    );
    assert_eq!(ra.options.adv_interval_ms(), Some(1500));
    let hai = ra.options.home_agent_info().unwrap();
    assert_eq!((hai.preference, hai.lifetime), (10, 1800));
    // Interop: radvd's AdvMobRtrSupportFlag sets the RFC 3963 R bit.
    assert!(hai.mobile_router());
}

#[test]
fn dnsmasq_ra() {
    let ra = ra("dnsmasq-ra-pio2-mtu-slla-dnssl-rdnss.bin");
    assert_eq!(ra.cur_hop_limit, 64);
    assert!(ra.flags.managed && ra.flags.other && !ra.flags.home_agent && !ra.flags.proxy);
    assert_eq!(ra.flags.preference, RouterPreference::High);
    assert_eq!(ra.router_lifetime, 900);
    let kinds: Vec<u8> = ra.options.iter().map(NdOption::kind).collect();
    assert_eq!(kinds, [3, 3, 5, 1, 31, 25]);
    let pios: Vec<_> = ra.options.prefixes().collect();
    assert_eq!(pios[0].prefix, ip("2001:db8:6::"));
    assert!(pios[0].on_link && pios[0].autonomous);
    assert_eq!(pios[1].prefix, ip("2001:db8:5::"));
    assert!(pios[1].on_link && !pios[1].autonomous);
    assert!(
        pios.iter()
            .all(|p| p.valid == Lifetime::Finite(600) && p.preferred == Lifetime::Finite(600))
    );
    assert_eq!(ra.options.mtu(), Some(1400));
    assert_eq!(
        ra.source_lla(),
        Some(&[0x62, 0x81, 0xeb, 0x01, 0xad, 0x26][..])
    );
    let dnssl = ra.options.dnssl().next().unwrap();
    assert_eq!(dnssl.domains, ["lab.example", "corp.lab.example"]);
    let rdnss = ra.options.rdnss().next().unwrap();
    assert_eq!(rdnss.servers, [ip("2001:db8::53")]);
    assert_eq!(rdnss.lifetime, Lifetime::Finite(600));
}

#[test]
fn radvd_ra_keeps_abro_as_unknown() {
    let ra = ra("radvd-ra-pio-slla-abro.bin");
    assert_eq!(ra.cur_hop_limit, 255);
    assert_eq!(ra.router_lifetime, 12);
    let abro = ra
        .options
        .iter()
        .find(|o| o.kind() == 35)
        .expect("ABRO kept");
    match abro {
        NdOption::Unknown { kind: 35, data } => {
            assert_eq!(data.len(), 22);
            // RFC 6775 §4.3: version, valid lifetime, then the border router.
            assert_eq!(&data[6..], &ip("fe80::402d:e3ff:fe55:70d").octets());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn kernel_and_rdisc6_router_solicitations() {
    match parse("kernel-rs-slla.bin") {
        NdMessage::RouterSolicit(rs) => {
            assert_eq!(rs.reserved, 0);
            assert_eq!(
                rs.source_lla(),
                Some(&[0x4e, 0x15, 0xb2, 0xa4, 0xf4, 0xb3][..])
            );
            assert_eq!(rs.options.len(), 1);
        }
        other => panic!("{other:?}"),
    }
    match parse("rdisc6-rs.bin") {
        NdMessage::RouterSolicit(rs) => assert!(rs.options.is_empty() && rs.source_lla().is_none()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn kernel_neighbor_solicitations() {
    // DAD probe from ::, RFC 7527 Nonce (type 14) kept as unknown.
    match parse("kernel-ns-dad-nonce.bin") {
        NdMessage::NeighborSolicit(ns) => {
            assert_eq!(ns.target, ip("fe80::4c15:b2ff:fea4:f4b3"));
            assert!(ns.source_lla().is_none());
            assert_eq!(
                ns.options.as_slice(),
                [NdOption::Unknown {
                    kind: 14,
                    data: vec![0xbd, 0x04, 0xd7, 0x75, 0x1c, 0xe6]
                }]
            );
        }
        other => panic!("{other:?}"),
    }
    match parse("kernel-ns-slla.bin") {
        NdMessage::NeighborSolicit(ns) => {
            assert_eq!(ns.target, ip("2001:db8:d::1"));
            assert_eq!(
                ns.source_lla(),
                Some(&[0x4e, 0x15, 0xb2, 0xa4, 0xf4, 0xb3][..])
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn kernel_neighbor_advertisements() {
    let unsolicited = na("kernel-na-unsolicited-tlla.bin");
    assert_eq!(
        (
            unsolicited.router,
            unsolicited.solicited,
            unsolicited.override_flag
        ),
        (false, false, true)
    );
    assert_eq!(
        unsolicited.target_lla(),
        Some(&[0x4e, 0x15, 0xb2, 0xa4, 0xf4, 0xb3][..])
    );

    // Interop: Linux answers a unicast NS without TLLA and without O.
    let no_override = na("kernel-na-no-override.bin");
    assert_eq!(
        (
            no_override.router,
            no_override.solicited,
            no_override.override_flag
        ),
        (false, true, false)
    );
    assert!(no_override.options.is_empty());
    assert_eq!(no_override.target, ip("fe80::4c15:b2ff:fea4:f4b3"));

    let router = na("kernel-na-router-tlla.bin");
    assert_eq!(
        (router.router, router.solicited, router.override_flag),
        (true, true, true)
    );
    assert_eq!(router.target, ip("2001:db8:d::1"));
    assert_eq!(
        router.target_lla(),
        Some(&[0x62, 0x0e, 0x22, 0x3b, 0xcc, 0x03][..])
    );
    assert_eq!(router.reserved, 0);
}

#[test]
fn kernel_redirects() {
    for (name, tlla) in [
        ("kernel-redirect-rh.bin", None),
        (
            "kernel-redirect-tlla-rh.bin",
            Some([0xda, 0x5e, 0x43, 0x59, 0x4a, 0x7f]),
        ),
    ] {
        match parse(name) {
            NdMessage::Redirect(r) => {
                assert_eq!(r.target, ip("2001:db8:d1:0:d85e:43ff:fe59:4a7f"), "{name}");
                // Target equals destination: the destination is on-link.
                assert_eq!(r.destination, r.target);
                assert_eq!(r.options.target_lla(), tlla.as_ref().map(|a| &a[..]));
                let packet = r.options.redirected_packet().expect("Redirected Header");
                assert_eq!(packet[0] >> 4, 6, "{name}: an IPv6 header follows");
                // Source of the redirected packet is the host itself.
                assert_eq!(
                    &packet[8..24],
                    &ip("2001:db8:d1:0:4c15:b2ff:fea4:f4b3").octets()
                );
            }
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn built_ra_matches_radvd_bytes() {
    // Building the radvd RA by hand with the constructors gives its exact
    // bytes: proves the builder API reaches every field a real RA uses.
    let f = load::get("radvd-ra-pio3-rio2-rdnss-dnssl-mtu-slla.bin");
    let mut ra = RouterAdvert::new(64, 600);
    ra.flags.other = true;
    ra.flags.preference = RouterPreference::High;
    ra.reachable_time = 30_000;
    ra.retrans_timer = 1_000;
    let mut off_link = nd::PrefixInfo::new(
        ip("2001:db8:d1::"),
        64,
        Lifetime::Finite(7200),
        Lifetime::Finite(3600),
    );
    off_link.on_link = false;
    let mut no_slaac = nd::PrefixInfo::new(
        ip("2001:db8:d2::"),
        64,
        Lifetime::Infinite,
        Lifetime::Infinite,
    );
    no_slaac.autonomous = false;
    let mut rio1 = RouteInfo::new(
        ip("2001:db8:f00::"),
        48,
        RouterPreference::High,
        Lifetime::Finite(1800),
    );
    let mut rio2 = RouteInfo::new(
        ip("2001:db8:f10::"),
        56,
        RouterPreference::Low,
        Lifetime::Infinite,
    );
    rio1.length = 3;
    rio2.length = 3;
    ra.options = nd::NdOptions::new()
        .with(NdOption::PrefixInfo(nd::PrefixInfo::new(
            ip("2001:db8:d::"),
            64,
            Lifetime::Finite(3600),
            Lifetime::Finite(1800),
        )))
        .with(NdOption::PrefixInfo(off_link))
        .with(NdOption::PrefixInfo(no_slaac))
        .with(NdOption::RouteInfo(rio1))
        .with(NdOption::RouteInfo(rio2))
        .with(NdOption::Rdnss(nd::Rdnss::new(
            Lifetime::Finite(600),
            vec![ip("2001:db8:d::53"), ip("2001:db8:d::54")],
        )))
        .with(NdOption::Dnssl(nd::Dnssl::new(
            Lifetime::Finite(600),
            vec!["lab.example".into(), "corp.lab.example".into()],
        )))
        .with(NdOption::mtu(1480))
        .with(NdOption::SourceLla(vec![
            0x62, 0x0e, 0x22, 0x3b, 0xcc, 0x03,
        ]));
    let msg = NdMessage::from(ra);
    assert_eq!(msg.validate(), Ok(()));
    assert_eq!(msg.to_bytes_with_checksum(f.src, f.dst), f.bytes);
}
