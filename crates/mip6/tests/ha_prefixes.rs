//! HA-18 (RFC 6275 §10.6): Mobile Prefix Solicitations answered, unsolicited
//! Mobile Prefix Advertisements when the home link's prefixes change,
//! retransmitted until the mobile node solicits; off by default.

mod common;

use std::net::Ipv6Addr;
use std::time::Duration;

use common::*;
use v6edge_core::Instant;
use v6edge_mip6::ha::{DropReason, HaOutput, HomeAgent, MhReceived, ServedPrefix};
use v6edge_wire::Lifetime;
use v6edge_wire::nd::{MobilePrefixAdvert, MobilePrefixSolicit, MobilityIcmp};

fn mpa_config() -> v6edge_mip6::ha::HaConfig {
    let mut cfg = config();
    cfg.mobile_prefix_advertisements = true;
    cfg
}

/// A Mobile Prefix Solicitation as the mobile node sends it away from
/// home: from its care-of address with a Home Address option, checksum
/// over the home address (RFC 6275 §6.3).
fn solicit(ha: &mut HomeAgent, now: Instant, identifier: u16, src: Ipv6Addr) -> Vec<HaOutput> {
    let bytes = MobilityIcmp::MobilePrefixSolicit(MobilePrefixSolicit {
        identifier,
        reserved: 0,
    })
    .to_bytes_with_checksum(hoa(), ha_addr());
    ha.handle_captured_icmp6(
        now,
        &MhReceived {
            ifindex: OUTSIDE_IF,
            src,
            dst: ha_addr(),
            hao: Some(hoa()),
            rh2: None,
            bytes: &bytes,
        },
    );
    drain(ha)
}

/// The Mobile Prefix Advertisements among `out`, checked: to the care-of
/// address via the home address, checksum over the home address.
fn adverts(out: &[HaOutput]) -> Vec<MobilePrefixAdvert> {
    out.iter()
        .filter_map(|o| match o {
            HaOutput::Icmp6ToHomeAddress(t) => Some(t),
            _ => None,
        })
        .map(|t| {
            assert_eq!(
                (t.src, t.care_of, t.home_address),
                (ha_addr(), coa(), hoa())
            );
            assert!(v6edge_wire::nd::verify_checksum(
                t.src,
                t.home_address,
                &t.payload
            ));
            match MobilityIcmp::parse(&t.payload) {
                Ok(MobilityIcmp::MobilePrefixAdvert(a)) => a,
                other => panic!("not an MPA: {other:?}"),
            }
        })
        .collect()
}

fn prefixes(a: &MobilePrefixAdvert) -> Vec<(String, Lifetime, Lifetime)> {
    a.prefixes()
        .map(|p| {
            (
                format!("{}/{}", p.prefix, p.prefix_len),
                p.valid,
                p.preferred,
            )
        })
        .collect()
}

fn dropped(ha: &HomeAgent, reason: DropReason) -> u64 {
    ha.counters().dropped.get(&reason).copied().unwrap_or(0)
}

#[test]
fn ha18_solicitation_gets_the_home_prefixes_with_its_identifier() {
    let mut ha = agent_with(mpa_config());
    let (seen, at) = register(&mut ha, &Bu::new(1, 100, Instant::ZERO), Instant::ZERO);
    assert_eq!(seen.status(), 0);
    let out = solicit(&mut ha, at, 0xbeef, coa());
    let got = adverts(&out);
    assert_eq!(got.len(), 1, "{out:#?}");
    assert_eq!(got[0].identifier, 0xbeef);
    assert_eq!(
        prefixes(&got[0]),
        vec![(
            "2001:db8:1::/64".to_owned(),
            Lifetime::Infinite,
            Lifetime::Infinite
        )]
    );
    assert_eq!(ha.counters().prefix_solicitations, 1);
}

#[test]
fn ha18_lifetimes_are_decremented_and_a_short_prefix_gets_status_1() {
    let mut cfg = mpa_config();
    cfg.home_links[0].prefixes = vec![ServedPrefix {
        prefix: "2001:db8:1::/64".parse().unwrap(),
        valid_until: Some(secs(1000.0)),
        preferred_until: Some(secs(500.0)),
    }];
    let mut ha = agent_with(cfg);
    // 400 units = 1600 s asked; the prefix has 1000 s: status 1 (RFC 6275
    // §10.3.1), and the mobile node will solicit.
    let (seen, _) = register(&mut ha, &Bu::new(1, 400, Instant::ZERO), Instant::ZERO);
    assert_eq!(seen.status(), 1);
    let out = solicit(&mut ha, secs(100.0), 7, coa());
    assert_eq!(
        prefixes(&adverts(&out)[0]),
        vec![(
            "2001:db8:1::/64".to_owned(),
            Lifetime::Finite(900),
            Lifetime::Finite(400)
        )]
    );
}

#[test]
fn ha18_off_by_default_and_only_for_a_binding_at_its_care_of_address() {
    let mut ha = agent();
    let (_, at) = register(&mut ha, &Bu::new(1, 100, Instant::ZERO), Instant::ZERO);
    assert!(adverts(&solicit(&mut ha, at, 1, coa())).is_empty());
    assert_eq!(dropped(&ha, DropReason::PrefixAdvertisementsOff), 1);

    let mut ha = agent_with(mpa_config());
    // No binding yet.
    assert!(adverts(&solicit(&mut ha, Instant::ZERO, 1, coa())).is_empty());
    let (_, at) = register(&mut ha, &Bu::new(1, 100, Instant::ZERO), Instant::ZERO);
    // Another care-of address than the registered one.
    assert!(adverts(&solicit(&mut ha, at, 1, ip("2001:db8:2::99"))).is_empty());
    assert_eq!(dropped(&ha, DropReason::NoBinding), 2);
}

#[test]
fn ha18_bad_checksum_and_missing_home_address_option_are_dropped() {
    let mut ha = agent_with(mpa_config());
    let (_, at) = register(&mut ha, &Bu::new(1, 100, Instant::ZERO), Instant::ZERO);
    // Checksummed over the care-of address instead of the home address.
    let bytes = MobilityIcmp::MobilePrefixSolicit(MobilePrefixSolicit::default())
        .to_bytes_with_checksum(coa(), ha_addr());
    let m = MhReceived {
        ifindex: OUTSIDE_IF,
        src: coa(),
        dst: ha_addr(),
        hao: Some(hoa()),
        rh2: None,
        bytes: &bytes,
    };
    ha.handle_captured_icmp6(at, &m);
    ha.handle_captured_icmp6(at, &MhReceived { hao: None, ..m });
    assert!(adverts(&drain(&mut ha)).is_empty());
    assert_eq!(dropped(&ha, DropReason::BadChecksum), 1);
    assert_eq!(dropped(&ha, DropReason::NoBinding), 1);
}

#[test]
fn ha18_renumbering_sends_unsolicited_adverts_retransmitted_until_solicited() {
    let mut ha = agent_with(mpa_config());
    let (_, at) = register(&mut ha, &Bu::new(1, 1000, Instant::ZERO), Instant::ZERO);
    assert!(drain(&mut ha).is_empty());
    // The same prefixes again: nothing to say.
    ha.set_home_prefixes(
        at,
        HOME_IF,
        vec![ServedPrefix::infinite("2001:db8:1::/64".parse().unwrap())],
    );
    assert!(drain(&mut ha).is_empty());

    // A second prefix on the home link, the first one deprecated.
    let renumbered = vec![
        ServedPrefix {
            prefix: "2001:db8:1::/64".parse().unwrap(),
            valid_until: Some(at + Duration::from_secs(3600)),
            preferred_until: Some(at),
        },
        ServedPrefix::infinite("2001:db8:5::/64".parse().unwrap()),
    ];
    ha.set_home_prefixes(at, HOME_IF, renumbered.clone());
    let first = adverts(&drain(&mut ha));
    assert_eq!(first.len(), 1);
    assert_eq!(
        prefixes(&first[0]),
        vec![
            (
                "2001:db8:1::/64".to_owned(),
                Lifetime::Finite(3600),
                Lifetime::Finite(0)
            ),
            (
                "2001:db8:5::/64".to_owned(),
                Lifetime::Infinite,
                Lifetime::Infinite
            ),
        ]
    );
    // PREFIX_ADV_TIMEOUT 3 s, PREFIX_ADV_RETRIES 3: same identifier.
    let mut sent_at = vec![at];
    let mut now = at;
    for _ in 0..10 {
        let Some(next) = ha.poll_timeout() else { break };
        if next > at + Duration::from_secs(60) {
            break;
        }
        now = next;
        ha.handle_timeout(now);
        for a in adverts(&drain(&mut ha)) {
            assert_eq!(a.identifier, first[0].identifier);
            sent_at.push(now);
        }
    }
    let gaps: Vec<u64> = sent_at
        .windows(2)
        .map(|w| w[1].saturating_duration_since(w[0]).as_secs())
        .collect();
    assert_eq!(gaps, vec![3, 3, 3], "three retransmissions 3 s apart");
    assert_eq!(ha.counters().prefix_advertisements_unsolicited, 4);

    // Another change, acknowledged by a solicitation: no retransmission.
    ha.set_home_prefixes(
        now,
        HOME_IF,
        vec![
            ServedPrefix::infinite("2001:db8:5::/64".parse().unwrap()),
            renumbered[0].clone(),
        ],
    );
    assert!(
        adverts(&drain(&mut ha)).is_empty(),
        "an order change is no change"
    );
    let gone = vec![ServedPrefix::infinite("2001:db8:1::/64".parse().unwrap())];
    ha.set_home_prefixes(now, HOME_IF, gone);
    assert_eq!(adverts(&drain(&mut ha)).len(), 1);
    let answer = adverts(&solicit(&mut ha, now + Duration::from_secs(1), 42, coa()));
    assert_eq!(answer[0].identifier, 42);
    let later = now + Duration::from_secs(300);
    ha.handle_timeout(later);
    assert!(
        adverts(&drain(&mut ha)).is_empty(),
        "acknowledged: no retransmission"
    );
    // The periodic schedule: no earlier than MinMobPfxAdvInterval (600 s).
    let next = ha.poll_timeout().expect("binding expiry or advert");
    assert!(next >= now + Duration::from_secs(601));
}

#[test]
fn ha18_prefix_changes_never_drop_the_home_agents_own_prefix() {
    let mut ha = agent_with(mpa_config());
    register(&mut ha, &Bu::new(1, 100, Instant::ZERO), Instant::ZERO);
    ha.set_home_prefixes(
        secs(5.0),
        HOME_IF,
        vec![ServedPrefix::infinite("2001:db8:9::/64".parse().unwrap())],
    );
    assert!(drain(&mut ha).is_empty());
    assert_eq!(ha.config().home_links[0].prefixes.len(), 1);
    assert_eq!(
        ha.config().home_links[0].prefixes[0].prefix,
        "2001:db8:1::/64".parse().unwrap()
    );
}

/// HA-8/HA-18: a home prefix's lifetimes are those of the home agent's own
/// address in it: the longest of several, infinite wins, tentative
/// addresses do not count, and a prefix without one of ours is infinite.
#[test]
fn served_prefix_lifetimes_come_from_our_own_addresses() {
    use v6edge_mip6::ha::OwnAddress;
    let p1: v6edge_prefix::Prefix = "2001:db8:1::/64".parse().unwrap();
    let p2: v6edge_prefix::Prefix = "2001:db8:2::/64".parse().unwrap();
    let p3: v6edge_prefix::Prefix = "2001:db8:3::/64".parse().unwrap();
    let own = |a: &str, valid: Option<u64>, preferred: Option<u64>, tentative: bool| OwnAddress {
        addr: a.parse().unwrap(),
        valid: valid.map(Duration::from_secs),
        preferred: preferred.map(Duration::from_secs),
        tentative,
    };
    let now = Instant::ZERO + Duration::from_secs(100);
    let at = |s: u64| Some(now + Duration::from_secs(s));
    let served = ServedPrefix::from_own_addresses(
        &[p1, p2, p3],
        &[
            own("2001:db8:1::1", Some(600), Some(0), false),
            own("2001:db8:1::2", Some(900), Some(300), false),
            own("2001:db8:1::3", Some(5000), Some(5000), true),
            own("2001:db8:2::1", Some(600), Some(300), false),
            own("2001:db8:2::2", None, None, false),
        ],
        now,
    );
    assert_eq!(
        served,
        vec![
            ServedPrefix {
                prefix: p1,
                valid_until: at(900),
                preferred_until: at(300)
            },
            ServedPrefix::infinite(p2),
            ServedPrefix::infinite(p3),
        ]
    );
}
