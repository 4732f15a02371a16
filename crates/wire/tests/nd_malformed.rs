//! Hostile and broken input: outer truncation of every fixture at every
//! length, every value of every option length octet, and targeted cases
//! for each rule the codec enforces (RFC 4861 §4.6, RFC 4191 §2.3,
//! RFC 8106 §5, RFC 8781 §4).

#[path = "fixtures/nd/load.rs"]
mod load;

use std::net::Ipv6Addr;

use v6edge_wire::Lifetime;
use v6edge_wire::nd::{
    Dnssl, NdErrorKind, NdMessage, NdOption, NdOptions, Rdnss, RouteInfo, RouterAdvert,
    RouterPreference,
};

/// Accepted bytes must re-emit identically (checksum octets are emitted 0).
fn assert_reemits(bytes: &[u8], msg: &NdMessage, what: &str) {
    let out = msg.to_bytes();
    assert_eq!(out.len(), bytes.len(), "{what}: length");
    assert_eq!(&out[..2], &bytes[..2], "{what}");
    assert_eq!(&out[4..], &bytes[4..], "{what}");
}

/// Option offsets of a well-formed fixture, walking the length octets.
fn option_offsets(bytes: &[u8]) -> Vec<usize> {
    let mut at = match bytes[0] {
        133 => 8,
        134 => 16,
        135 | 136 => 24,
        _ => 40,
    };
    let mut offsets = Vec::new();
    while at < bytes.len() {
        offsets.push(at);
        at += usize::from(bytes[at + 1]) * 8;
    }
    offsets
}

fn ra_with_options(options: &[u8]) -> Vec<u8> {
    let mut b = vec![134, 0, 0, 0, 64, 0, 0x07, 0x08, 0, 0, 0, 0, 0, 0, 0, 0];
    b.extend_from_slice(options);
    b
}

fn kind_of(bytes: &[u8]) -> NdErrorKind {
    NdMessage::parse(bytes).expect_err("must be rejected").kind
}

#[test]
fn truncating_every_fixture_at_every_length_never_panics() {
    let mut accepted_prefixes = 0;
    for f in load::all() {
        let offsets = option_offsets(&f.bytes);
        for len in 0..f.bytes.len() {
            let cut = &f.bytes[..len];
            match NdMessage::parse(cut) {
                Ok(msg) => {
                    // Only a cut at an option boundary leaves a whole message.
                    assert!(offsets.contains(&len), "{} cut at {len} accepted", f.name);
                    assert_eq!(
                        msg.options().len(),
                        offsets.iter().filter(|&&o| o < len).count()
                    );
                    assert_reemits(cut, &msg, &f.name);
                    accepted_prefixes += 1;
                }
                Err(e) => {
                    assert!(
                        matches!(e.kind, NdErrorKind::Truncated { .. }),
                        "{} cut at {len}: {e}",
                        f.name
                    );
                    assert!(
                        e.offset <= len,
                        "{}: error offset {} past cut {len}",
                        f.name,
                        e.offset
                    );
                }
            }
        }
    }
    // Each fixture with options has its fixed part as an accepted prefix.
    assert!(accepted_prefixes >= 15, "{accepted_prefixes}");
}

#[test]
fn every_option_length_value_never_panics_and_zero_is_rejected() {
    let mut accepted = 0usize;
    let mut rejected = 0usize;
    let mut options = 0usize;
    for f in load::all() {
        for at in option_offsets(&f.bytes) {
            options += 1;
            for units in 0..=255u8 {
                let mut b = f.bytes.clone();
                b[at + 1] = units;
                match NdMessage::parse(&b) {
                    Ok(msg) => {
                        assert_ne!(units, 0);
                        assert_reemits(&b, &msg, &f.name);
                        accepted += 1;
                    }
                    Err(e) => {
                        if units == 0 {
                            assert_eq!(e.kind, NdErrorKind::ZeroLength, "{} at {at}", f.name);
                            assert_eq!((e.offset, e.option), (at, Some(f.bytes[at])));
                        }
                        rejected += 1;
                    }
                }
            }
        }
    }
    // Both outcomes occur: at least each original length is accepted, and
    // most other values are not.
    assert!(
        accepted >= options && rejected > 10_000,
        "accepted {accepted}/{options}, rejected {rejected}"
    );
}

#[test]
fn every_option_type_value_never_panics() {
    // Re-typing a known option as every other type exercises each decoder
    // on foreign bodies.
    for f in load::all() {
        for at in option_offsets(&f.bytes) {
            for kind in 0..=255u8 {
                let mut b = f.bytes.clone();
                b[at] = kind;
                if let Ok(msg) = NdMessage::parse(&b) {
                    assert_reemits(&b, &msg, &f.name);
                }
            }
        }
    }
}

#[test]
fn envelope_errors() {
    assert_eq!(kind_of(&[]), NdErrorKind::Truncated { need: 4, have: 0 });
    // Echo Request is ICMPv6 but not ND.
    assert_eq!(
        kind_of(&[128, 0, 0, 0, 0, 1, 0, 1]),
        NdErrorKind::NotNeighborDiscovery { icmp_type: 128 }
    );
    assert_eq!(
        kind_of(&[1]),
        NdErrorKind::NotNeighborDiscovery { icmp_type: 1 }
    );
    // RFC 4861 §6.1.2: code must be 0.
    let mut ra = ra_with_options(&[]);
    ra[1] = 1;
    assert_eq!(kind_of(&ra), NdErrorKind::BadCode { code: 1 });
    assert_eq!(
        kind_of(&ra_with_options(&[])[..15]),
        NdErrorKind::Truncated { need: 16, have: 15 }
    );
    assert_eq!(
        kind_of(&[133, 0, 0, 0, 0, 0, 0, 0, 1]),
        NdErrorKind::Truncated { need: 2, have: 1 }
    );
}

#[test]
fn option_running_past_the_message_is_truncated() {
    let e = NdMessage::parse(&ra_with_options(&[5, 2, 0, 0, 0, 0, 5, 0xdc])).unwrap_err();
    assert_eq!(e.kind, NdErrorKind::Truncated { need: 16, have: 8 });
    assert_eq!((e.offset, e.option), (16, Some(5)));
}

#[test]
fn rdnss_even_or_short_length_is_rejected() {
    let server = "2001:db8::53".parse::<Ipv6Addr>().unwrap().octets();
    let mut ok = vec![25, 3, 0, 0, 0, 0, 0x0e, 0x10];
    ok.extend_from_slice(&server);
    assert!(NdMessage::parse(&ra_with_options(&ok)).is_ok());

    // Length 4 (32 octets): one address and half of nothing.
    let mut even = vec![25, 4, 0, 0, 0, 0, 0x0e, 0x10];
    even.extend_from_slice(&server);
    even.extend_from_slice(&[0; 8]);
    let e = NdMessage::parse(&ra_with_options(&even)).unwrap_err();
    assert_eq!(e.kind, NdErrorKind::BadLength { units: 4 });
    assert_eq!((e.offset, e.option), (17, Some(25)));
    assert_eq!(
        kind_of(&ra_with_options(&[
            25, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
        ])),
        NdErrorKind::BadLength { units: 2 }
    );
    assert_eq!(
        kind_of(&ra_with_options(&[25, 1, 0, 0, 0, 0, 0, 0])),
        NdErrorKind::BadLength { units: 1 }
    );

    // The radvd fixture with its RDNSS (2 servers, length 5) relabelled 4.
    let f = load::get("radvd-ra-pio3-rio2-rdnss-dnssl-mtu-slla.bin");
    let at = option_offsets(&f.bytes)
        .into_iter()
        .find(|&o| f.bytes[o] == 25)
        .unwrap();
    let mut b = f.bytes.clone();
    b[at + 1] = 4;
    assert_eq!(kind_of(&b), NdErrorKind::BadLength { units: 4 });
}

fn rio(prefix_len: u8, units: u8) -> Vec<u8> {
    let mut o = vec![24, units, prefix_len, 0x08, 0, 0, 0x07, 0x08];
    o.resize(usize::from(units) * 8, 0);
    if units > 1 {
        o[8] = 0x20;
        o[9] = 0x01;
    }
    ra_with_options(&o)
}

#[test]
fn route_information_length_must_fit_prefix_length() {
    // RFC 4191 §2.3: /0 may use 1..=3 units, /1..=/64 needs 2 or 3, longer needs 3.
    for (prefix_len, units, ok) in [
        (0, 1, true),
        (0, 2, true),
        (0, 3, true),
        (1, 1, false),
        (48, 1, false),
        (48, 2, true),
        (48, 3, true),
        (64, 2, true),
        (65, 2, false),
        (65, 3, true),
        (128, 3, true),
        (48, 4, false),
        (0, 4, false),
    ] {
        let r = NdMessage::parse(&rio(prefix_len, units));
        assert_eq!(r.is_ok(), ok, "/{prefix_len} in {units} units: {r:?}");
        if let Err(e) = r {
            assert_eq!(e.kind, NdErrorKind::BadLength { units });
            assert_eq!(e.option, Some(24));
        }
    }
    assert_eq!(
        kind_of(&rio(129, 3)),
        NdErrorKind::BadValue {
            field: "prefix length"
        }
    );
}

#[test]
fn route_information_short_form_parses_and_reemits() {
    let bytes = rio(48, 2);
    let msg = NdMessage::parse(&bytes).unwrap();
    let r = msg.options().route_infos().next().unwrap();
    assert_eq!(r.prefix, "2001::".parse::<Ipv6Addr>().unwrap());
    assert_eq!(
        (r.prefix_len, r.length, r.preference),
        (48, 2, RouterPreference::High)
    );
    assert_reemits(&bytes, &msg, "rio /48 length 2");
}

#[test]
fn fixed_length_options_reject_other_lengths() {
    // PIO is 4 units (RFC 4861 §4.6.2), MTU 1 (§4.6.4), PREF64 2 (RFC 8781 §4).
    let mut pio = vec![3, 3, 64, 0xc0];
    pio.resize(24, 0);
    assert_eq!(
        kind_of(&ra_with_options(&pio)),
        NdErrorKind::BadLength { units: 3 }
    );
    let mut pio5 = vec![3, 5, 64, 0xc0];
    pio5.resize(40, 0);
    assert_eq!(
        kind_of(&ra_with_options(&pio5)),
        NdErrorKind::BadLength { units: 5 }
    );
    let mut pio129 = vec![3, 4, 129, 0xc0];
    pio129.resize(32, 0);
    assert_eq!(
        kind_of(&ra_with_options(&pio129)),
        NdErrorKind::BadValue {
            field: "prefix length"
        }
    );
    let mut mtu2 = vec![5, 2];
    mtu2.resize(16, 0);
    assert_eq!(
        kind_of(&ra_with_options(&mtu2)),
        NdErrorKind::BadLength { units: 2 }
    );
    let mut pref64 = vec![38, 3];
    pref64.resize(24, 0);
    assert_eq!(
        kind_of(&ra_with_options(&pref64)),
        NdErrorKind::BadLength { units: 3 }
    );
    for kind in [7, 8] {
        let mut o = vec![kind, 2];
        o.resize(16, 0);
        assert_eq!(
            kind_of(&ra_with_options(&o)),
            NdErrorKind::BadLength { units: 2 }
        );
    }
}

fn dnssl(names: &[u8]) -> Vec<u8> {
    let mut o = vec![31, 0, 0, 0, 0, 0, 0x02, 0x58];
    o.extend_from_slice(names);
    o.resize(o.len().div_ceil(8) * 8, 0);
    o[1] = (o.len() / 8) as u8;
    ra_with_options(&o)
}

#[test]
fn dnssl_rejects_what_a_dotted_name_cannot_carry() {
    let good = dnssl(b"\x07example\x03com\x00");
    let msg = NdMessage::parse(&good).unwrap();
    assert_eq!(
        msg.options().dnssl().next().unwrap().domains,
        ["example.com"]
    );

    let bad = |names: &[u8]| match kind_of(&dnssl(names)) {
        NdErrorKind::BadValue { field } => field,
        other => panic!("{other:?}"),
    };
    // RFC 8106 §5.2: no compression.
    assert_eq!(bad(b"\x07example\xc0\x0c"), "DNSSL label length");
    assert_eq!(bad(b"\x03a.b\x00"), "DNSSL label character");
    assert_eq!(bad(b"\x03a b\x00"), "DNSSL label character");
    // Name not terminated before the option ends (16 octets, no padding).
    assert_eq!(
        bad(b"\x05abcde\x05abcde\x03abc"),
        "DNSSL name runs past the option"
    );
    // A name ended by the first padding octet is fine, though.
    let msg = NdMessage::parse(&dnssl(b"\x05abcde\x05abcde")).unwrap();
    assert_eq!(
        msg.options().dnssl().next().unwrap().domains,
        ["abcde.abcde"]
    );
    assert_eq!(msg.options().dnssl().next().unwrap().padding, 3);
    assert_eq!(bad(b"\x00\x00\x00"), "DNSSL without a domain name");
    // A root name inside the list, then another name.
    assert_eq!(bad(b"\x01a\x00\x00\x01b\x00"), "DNSSL padding");
    // RFC 1035 §2.3.4: a name of more than 255 octets.
    let mut long = Vec::new();
    for _ in 0..5 {
        long.push(63);
        long.extend_from_slice(&[b'x'; 63]);
    }
    long.push(0);
    assert_eq!(bad(&long), "DNSSL name longer than 255 octets");
    // Length 1 leaves no room for a name (RFC 8106 §5.2: minimum 2).
    assert_eq!(
        kind_of(&ra_with_options(&[31, 1, 0, 0, 0, 0, 0, 0])),
        NdErrorKind::BadLength { units: 1 }
    );
}

#[test]
fn validate_flags_values_emit_cannot_carry() {
    let ra = |opt: NdOption| {
        NdMessage::from(RouterAdvert {
            options: NdOptions::new().with(opt),
            ..RouterAdvert::new(64, 1800)
        })
    };
    // RFC 8106 §5.1: at least one server.
    assert!(
        ra(NdOption::Rdnss(Rdnss::new(Lifetime::Infinite, vec![])))
            .validate()
            .is_err()
    );
    // A 5-octet LLA is padded to a 6-octet one on the wire.
    assert!(
        ra(NdOption::SourceLla(vec![1, 2, 3, 4, 5]))
            .validate()
            .is_err()
    );
    assert!(
        ra(NdOption::SourceLla(vec![1, 2, 3, 4, 5, 6]))
            .validate()
            .is_ok()
    );
    assert!(
        ra(NdOption::Dnssl(Dnssl::new(
            Lifetime::Infinite,
            vec!["a..b".into()]
        )))
        .validate()
        .is_err()
    );
    assert!(
        ra(NdOption::Dnssl(Dnssl::new(
            Lifetime::Infinite,
            vec!["x".repeat(64)]
        )))
        .validate()
        .is_err()
    );
    assert!(
        ra(NdOption::Dnssl(Dnssl::new(Lifetime::Infinite, vec![])))
            .validate()
            .is_err()
    );
    assert!(
        ra(NdOption::Dnssl(Dnssl::new(
            Lifetime::Infinite,
            vec!["home.arpa".into()]
        )))
        .validate()
        .is_ok()
    );
    // An option longer than 255 units.
    let many = (0..128).map(|i| Ipv6Addr::from(i as u128)).collect();
    let e = ra(NdOption::Rdnss(Rdnss::new(Lifetime::Infinite, many)))
        .validate()
        .unwrap_err();
    assert_eq!(
        e.kind,
        NdErrorKind::Unrepresentable {
            what: "option longer than 2040 octets"
        }
    );
    assert_eq!((e.offset, e.option), (16, Some(25)));
    let mut rio = RouteInfo::new(
        "2001:db8::".parse().unwrap(),
        48,
        RouterPreference::Low,
        Lifetime::ZERO,
    );
    assert!(ra(NdOption::RouteInfo(rio.clone())).validate().is_ok());
    rio.reserved = 0x18; // overlaps Prf
    assert!(ra(NdOption::RouteInfo(rio)).validate().is_err());
    let mut bad_flags = RouterAdvert::new(64, 0);
    bad_flags.flags.reserved = 0x04;
    assert!(NdMessage::from(bad_flags).validate().is_err());
}
