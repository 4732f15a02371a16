//! etherparse as an independent oracle: on every fixture (and on messages we
//! build), the fields etherparse decodes must match ours: type, code,
//! checksum validity, RA header fields, NS/NA/Redirect addresses and NA
//! flags, and option by option the type, raw octets, and the PIO, MTU and
//! link-layer address contents.

#[path = "fixtures/nd/load.rs"]
mod load;

use etherparse::icmpv6::{Icmpv6PayloadSlice, NdpOptionSlice};
use etherparse::{Icmpv6Slice, Icmpv6Type};
use v6edge_wire::nd::{NdMessage, NdOption};

/// Compares etherparse's view of `bytes` with ours; returns how many
/// options were checked.
fn cross_check(
    name: &str,
    bytes: &[u8],
    src: std::net::Ipv6Addr,
    dst: std::net::Ipv6Addr,
) -> usize {
    let ours = NdMessage::parse(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    let theirs =
        Icmpv6Slice::from_slice(bytes).unwrap_or_else(|e| panic!("{name}: etherparse: {e:?}"));
    assert_eq!(theirs.type_u8(), ours.icmp_type(), "{name}");
    assert_eq!(theirs.code_u8(), 0, "{name}");
    assert!(
        theirs.is_checksum_valid(src.octets(), dst.octets()),
        "{name}: etherparse checksum"
    );

    match (&ours, theirs.icmp_type()) {
        (NdMessage::RouterSolicit(_), Icmpv6Type::RouterSolicitation) => {}
        (NdMessage::RouterAdvert(ra), Icmpv6Type::RouterAdvertisement(h)) => {
            assert_eq!(h.cur_hop_limit, ra.cur_hop_limit, "{name}");
            assert_eq!(h.managed_address_config, ra.flags.managed, "{name}");
            assert_eq!(h.other_config, ra.flags.other, "{name}");
            assert_eq!(h.router_lifetime, ra.router_lifetime, "{name}");
        }
        (NdMessage::NeighborSolicit(_), Icmpv6Type::NeighborSolicitation) => {}
        (NdMessage::NeighborAdvert(na), Icmpv6Type::NeighborAdvertisement(h)) => {
            assert_eq!(
                (h.router, h.solicited, h.r#override),
                (na.router, na.solicited, na.override_flag),
                "{name}"
            );
        }
        (NdMessage::Redirect(_), Icmpv6Type::Redirect) => {}
        (o, t) => panic!("{name}: we say {o:?}, etherparse says {t:?}"),
    }

    let payload = theirs
        .payload_slice()
        .unwrap_or_else(|e| panic!("{name}: {e:?}"));
    let options_iter = match (&ours, &payload) {
        (NdMessage::RouterSolicit(_), Icmpv6PayloadSlice::RouterSolicitation(p)) => {
            p.options_iterator()
        }
        (NdMessage::RouterAdvert(ra), Icmpv6PayloadSlice::RouterAdvertisement(p)) => {
            assert_eq!(p.reachable_time(), ra.reachable_time, "{name}");
            assert_eq!(p.retrans_timer(), ra.retrans_timer, "{name}");
            p.options_iterator()
        }
        (NdMessage::NeighborSolicit(ns), Icmpv6PayloadSlice::NeighborSolicitation(p)) => {
            assert_eq!(p.target_address(), ns.target, "{name}");
            p.options_iterator()
        }
        (NdMessage::NeighborAdvert(na), Icmpv6PayloadSlice::NeighborAdvertisement(p)) => {
            assert_eq!(p.target_address(), na.target, "{name}");
            p.options_iterator()
        }
        (NdMessage::Redirect(r), Icmpv6PayloadSlice::Redirect(p)) => {
            assert_eq!(p.target_address(), r.target, "{name}");
            assert_eq!(p.destination_address(), r.destination, "{name}");
            p.options_iterator()
        }
        (o, p) => panic!("{name}: payload mismatch {o:?} / {p:?}"),
    };

    let theirs: Vec<NdpOptionSlice<'_>> = options_iter
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{name}: etherparse options: {e:?}"));
    let mine = ours.options();
    assert_eq!(theirs.len(), mine.len(), "{name}: option count");
    for (t, m) in theirs.iter().zip(mine.iter()) {
        assert_eq!(t.option_type().0, m.kind(), "{name}");
        // Our option re-emitted alone must equal etherparse's raw octets.
        assert_eq!(
            t.as_bytes().len(),
            m.buffer_len(),
            "{name}: option {} length",
            m.kind()
        );
        match (t, m) {
            (NdpOptionSlice::SourceLinkLayerAddress(s), NdOption::SourceLla(d)) => {
                assert_eq!(s.link_layer_address(), d.as_slice(), "{name}");
            }
            (NdpOptionSlice::TargetLinkLayerAddress(s), NdOption::TargetLla(d)) => {
                assert_eq!(s.link_layer_address(), d.as_slice(), "{name}");
            }
            (NdpOptionSlice::PrefixInformation(s), NdOption::PrefixInfo(p)) => {
                assert_eq!(s.prefix_length(), p.prefix_len, "{name}");
                assert_eq!(s.on_link(), p.on_link, "{name}");
                assert_eq!(s.autonomous_address_configuration(), p.autonomous, "{name}");
                assert_eq!(s.valid_lifetime(), p.valid.to_wire(), "{name}");
                assert_eq!(s.preferred_lifetime(), p.preferred.to_wire(), "{name}");
                assert_eq!(s.prefix(), p.prefix.octets(), "{name}");
            }
            (NdpOptionSlice::Mtu(s), NdOption::Mtu { mtu, .. }) => {
                assert_eq!(s.mtu(), *mtu, "{name}")
            }
            (NdpOptionSlice::RedirectedHeader(s), NdOption::RedirectedHeader(d)) => {
                assert_eq!(&s.as_bytes()[2..], d.as_slice(), "{name}");
            }
            // Types etherparse does not decode (RIO, RDNSS, DNSSL, ...).
            (NdpOptionSlice::Unknown(s), m) => {
                assert!(![1, 2, 3, 4, 5].contains(&m.kind()), "{name}");
                assert_eq!(s.option_type().0, m.kind());
            }
            (t, m) => panic!("{name}: etherparse {t:?} vs ours {m:?}"),
        }
    }
    mine.len()
}

#[test]
fn etherparse_agrees_on_every_fixture() {
    let mut checked = 0;
    for f in load::all() {
        checked += cross_check(&f.name, &f.bytes, f.src, f.dst);
    }
    // 18 fixtures carry 42 options between them (counted by hand from the hex).
    assert_eq!(checked, 42);
}

#[test]
fn etherparse_agrees_on_what_we_build() {
    use std::net::Ipv6Addr;
    use v6edge_wire::Lifetime;
    use v6edge_wire::nd::{NdOptions, PrefixInfo, RouterAdvert, RouterPreference};

    let src: Ipv6Addr = "fe80::1".parse().unwrap();
    let dst: Ipv6Addr = "ff02::1".parse().unwrap();
    let mut ra = RouterAdvert::new(64, 1800);
    ra.flags.managed = true;
    ra.flags.preference = RouterPreference::Low;
    ra.reachable_time = 12_345;
    ra.options = NdOptions::new()
        .with(NdOption::SourceLla(vec![2, 0, 0x5e, 0, 0x53, 1]))
        .with(NdOption::mtu(1492))
        .with(NdOption::PrefixInfo(PrefixInfo::new(
            "2001:db8:1::".parse().unwrap(),
            64,
            Lifetime::Infinite,
            Lifetime::Finite(14_400),
        )));
    let bytes = NdMessage::from(ra).to_bytes_with_checksum(src, dst);
    assert_eq!(cross_check("built RA", &bytes, src, dst), 3);
}
