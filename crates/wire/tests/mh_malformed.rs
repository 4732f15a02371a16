//! Hostile and broken input for the Mobility Header, extension-header and
//! ICMPv6 144-147 codecs: every prefix of every vector, every value of
//! every length octet, and one case per rule the codecs enforce (RFC 6275
//! §6.1-§6.2, §9.2; RFC 3963 §6.2; RFC 4285 §5-§6). Whatever is accepted
//! must re-emit to the same octets.

#[path = "mh_vectors/mod.rs"]
mod vectors;

use std::net::Ipv6Addr;

use v6edge_wire::ip6::{DestinationOptions, Ip6ErrorKind, Type2RoutingHeader};
use v6edge_wire::mh::{BindingUpdate, MhBody, MhErrorKind, MhOption, MhType, MobilityHeader};
use v6edge_wire::nd::{MobilityIcmp, NdErrorKind};

/// Accepted MH bytes re-emit identically (checksum octets are emitted 0).
fn assert_mh_reemits(bytes: &[u8], m: &MobilityHeader, what: &str) {
    let out = m.to_bytes();
    assert_eq!(out.len(), bytes.len(), "{what}: length");
    assert_eq!(out[..4], bytes[..4], "{what}");
    assert_eq!(out[6..], bytes[6..], "{what}");
}

fn assert_icmp_reemits(bytes: &[u8], m: &MobilityIcmp, what: &str) {
    let out = m.to_bytes();
    assert_eq!(out.len(), bytes.len(), "{what}: length");
    assert_eq!(out[..2], bytes[..2], "{what}");
    assert_eq!(out[4..], bytes[4..], "{what}");
}

/// Offsets of the non-Pad1 options of a well-formed MH, walking the
/// length octets from the end of the fixed part.
fn option_offsets(bytes: &[u8]) -> Vec<usize> {
    let mut at = match bytes[2] {
        0 => 8,
        1 | 2 => 16,
        5 | 6 => 12,
        _ => 24,
    };
    let mut offsets = Vec::new();
    while at < bytes.len() {
        if bytes[at] == 0 {
            at += 1;
            continue;
        }
        offsets.push(at);
        at += 2 + usize::from(bytes[at + 1]);
    }
    offsets
}

fn mh_kind(bytes: &[u8]) -> MhErrorKind {
    MobilityHeader::parse(bytes)
        .expect_err("must be rejected")
        .kind
}

/// A BU (12 octets of fixed part) followed by `options`, padded with zero
/// octets (Pad1) to a whole number of units.
fn bu_with(options: &[u8]) -> Vec<u8> {
    let mut b = vec![59, 0, 5, 0, 0, 0, 0, 1, 0x80, 0, 0, 10];
    b.extend_from_slice(options);
    while b.len() % 8 != 0 {
        b.push(0);
    }
    b[1] = (b.len() / 8 - 1) as u8;
    b
}

#[test]
fn every_prefix_of_every_vector_is_rejected_or_reemits() {
    for v in vectors::VECTORS {
        let bytes = v.bytes();
        for len in 0..bytes.len() {
            let cut = &bytes[..len];
            if v.is_mh() {
                // Header Len promises the whole message: every strict
                // prefix is short.
                let e = MobilityHeader::parse(cut).expect_err(v.name);
                assert!(
                    matches!(e.kind, MhErrorKind::Truncated { .. }),
                    "{} cut at {len}: {e}",
                    v.name
                );
                assert!(
                    e.offset <= len,
                    "{}: offset {} past {len}",
                    v.name,
                    e.offset
                );
            } else {
                match MobilityIcmp::parse(cut) {
                    // A reply cut between addresses, an advertisement
                    // between options: shorter, still whole.
                    Ok(m) => {
                        assert!(len >= 8, "{} cut at {len} accepted", v.name);
                        assert_icmp_reemits(cut, &m, v.name);
                    }
                    Err(e) => {
                        assert!(
                            matches!(
                                e.kind,
                                NdErrorKind::Truncated { .. } | NdErrorKind::BadValue { .. }
                            ),
                            "{} cut at {len}: {e}",
                            v.name
                        );
                        assert!(e.offset <= len);
                    }
                }
            }
        }
    }
}

#[test]
fn every_header_len_value_but_the_right_one_is_rejected() {
    for v in vectors::VECTORS.iter().filter(|v| v.is_mh()) {
        let bytes = v.bytes();
        for units in 0..=u8::MAX {
            let mut b = bytes.clone();
            b[1] = units;
            match MobilityHeader::parse(&b) {
                Ok(m) => {
                    assert_eq!(units, bytes[1], "{}: Header Len {units} accepted", v.name);
                    assert_mh_reemits(&b, &m, v.name);
                }
                Err(e) => assert!(
                    matches!(
                        e.kind,
                        MhErrorKind::Truncated { .. }
                            | MhErrorKind::TrailingOctets { .. }
                            | MhErrorKind::HeaderLength { .. }
                    ),
                    "{} Header Len {units}: {e}",
                    v.name
                ),
            }
        }
    }
}

#[test]
fn every_option_length_value_never_panics_and_accepted_reemits() {
    let mut accepted = 0;
    for v in vectors::VECTORS.iter().filter(|v| v.is_mh()) {
        let bytes = v.bytes();
        for at in option_offsets(&bytes) {
            for len in 0..=u8::MAX {
                let mut b = bytes.clone();
                b[at + 1] = len;
                if let Ok(m) = MobilityHeader::parse(&b) {
                    assert_mh_reemits(&b, &m, v.name);
                    accepted += 1;
                }
            }
        }
    }
    // The original lengths at least.
    assert!(accepted >= 8, "{accepted}");
}

#[test]
fn every_payload_proto_but_59_is_a_parameter_problem_at_0() {
    let bytes = vectors::get("bu").bytes();
    for value in (0..=u8::MAX).filter(|&v| v != 59) {
        let mut b = bytes.clone();
        b[0] = value;
        let e = MobilityHeader::parse(&b).unwrap_err();
        assert_eq!((e.kind, e.offset), (MhErrorKind::PayloadProto { value }, 0));
    }
}

#[test]
fn header_len_below_each_types_minimum() {
    // RFC 6275 §9.2 minimums: BRR 0, HoTI/CoTI/BU/BA 1, HoT/CoT/BE 2.
    for (mh_type, min) in [
        (0u8, 0u8),
        (1, 1),
        (2, 1),
        (3, 2),
        (4, 2),
        (5, 1),
        (6, 1),
        (7, 2),
    ] {
        assert_eq!(
            MobilityHeader::min_header_len(MhType::from(mh_type)),
            Some(min)
        );
        for units in 0..min {
            let mut b = vec![0u8; (usize::from(units) + 1) * 8];
            b[0] = 59;
            b[1] = units;
            b[2] = mh_type;
            let e = MobilityHeader::parse(&b).unwrap_err();
            assert_eq!(
                e.kind,
                MhErrorKind::HeaderLength { units, min },
                "type {mh_type}"
            );
            assert_eq!(e.offset, 1);
        }
    }
}

#[test]
fn unknown_mh_types_are_values_kept_byte_exact() {
    for mh_type in 8..=u8::MAX {
        let b: Vec<u8> = [59, 1, mh_type, 0x5a, 0xab, 0xcd]
            .into_iter()
            .chain(0..10)
            .collect();
        let m = MobilityHeader::parse(&b).unwrap();
        assert_eq!(m.mh_type(), MhType::Unknown(mh_type));
        assert_eq!(m.reserved, 0x5a);
        let MhBody::Unknown { data, .. } = &m.body else {
            panic!("unknown body");
        };
        assert_eq!(data.as_slice(), &b[6..]);
        assert_mh_reemits(&b, &m, "unknown");
        assert_eq!(m.validate(), Ok(()));
    }
    // Even Header Len 0 (8 octets) for an unknown type.
    let m = MobilityHeader::parse(&[59, 0, 200, 0, 0, 0, 1, 2]).unwrap();
    assert_eq!(m.to_bytes(), [59, 0, 200, 0, 0, 0, 1, 2]);
}

#[test]
fn fixed_length_options_with_the_wrong_length() {
    // (type, right length): BRA 2, Alt-CoA 16, Nonce Indices 4, MNP 18,
    // Replay Protection 8, DSMIPv6 29-32: 6.
    for (kind, right) in [
        (2u8, 2u8),
        (3, 16),
        (4, 4),
        (6, 18),
        (10, 8),
        (29, 6),
        (30, 6),
        (31, 6),
        (32, 6),
    ] {
        for len in [0, right - 1, right + 1] {
            let mut opt = vec![kind, len];
            opt.resize(2 + usize::from(len), 0);
            let e = MobilityHeader::parse(&bu_with(&opt)).unwrap_err();
            assert_eq!(
                e.kind,
                MhErrorKind::BadLength { len },
                "type {kind} length {len}"
            );
            assert_eq!((e.offset, e.option), (13, Some(kind)));
        }
        let mut opt = vec![kind, right];
        opt.resize(2 + usize::from(right), 0);
        if kind == 6 {
            opt[3] = 64;
        }
        assert!(MobilityHeader::parse(&bu_with(&opt)).is_ok(), "type {kind}");
    }
    // Variable ones have a floor: MN-ID its subtype, auth subtype + SPI.
    assert_eq!(
        mh_kind(&bu_with(&[8, 0])),
        MhErrorKind::BadLength { len: 0 }
    );
    assert_eq!(
        mh_kind(&bu_with(&[9, 4, 1, 0, 0, 0])),
        MhErrorKind::BadLength { len: 4 }
    );
    assert!(MobilityHeader::parse(&bu_with(&[8, 1, 1])).is_ok());
    assert!(MobilityHeader::parse(&bu_with(&[9, 5, 1, 0, 0, 3, 0xe8])).is_ok());
}

#[test]
fn mobile_network_prefix_length_above_128() {
    let mut opt = vec![6, 18, 0, 129];
    opt.extend_from_slice(&[0; 16]);
    let e = MobilityHeader::parse(&bu_with(&opt)).unwrap_err();
    assert_eq!(
        e.kind,
        MhErrorKind::BadValue {
            field: "prefix length"
        }
    );
    assert_eq!((e.offset, e.option), (15, Some(6)));
}

#[test]
fn authentication_options_must_be_last_but_padding_may_follow() {
    let auth = [
        9u8, 17, 1, 0, 0, 3, 0xe8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
    ];
    let bad = [5u8, 12, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
    let alt_coa: Vec<u8> = [3u8, 16].into_iter().chain([0x20; 16]).collect();
    for last in [&auth[..], &bad[..]] {
        let mut then_option = last.to_vec();
        then_option.extend_from_slice(&alt_coa);
        let e = MobilityHeader::parse(&bu_with(&then_option)).unwrap_err();
        assert_eq!(
            (e.kind, e.offset, e.option),
            (MhErrorKind::NotLast, 12, Some(last[0]))
        );
        let mut then_padding = last.to_vec();
        then_padding.extend_from_slice(&[1, 1, 0, 0]);
        let b = bu_with(&then_padding);
        let m = MobilityHeader::parse(&b).unwrap();
        assert_mh_reemits(&b, &m, "padding after");
    }
}

#[test]
fn misaligned_options_and_odd_padding_are_accepted_and_kept() {
    // RFC 6275 §6.2: the Alternate Care-of Address wants 8n+6; here it
    // starts at 12 (8n+4), and a PadN with non-zero data (which a
    // receiver ignores) precedes the trailing Pad1s.
    let mut opt: Vec<u8> = [3u8, 16].into_iter().chain([0x20; 16]).collect();
    opt.extend_from_slice(&[1, 2, 0xde, 0xad]);
    let b = bu_with(&opt);
    let m = MobilityHeader::parse(&b).unwrap();
    assert_eq!(
        m.options.as_slice()[0],
        MhOption::AlternateCareOf(Ipv6Addr::from([0x20; 16]))
    );
    assert_eq!(m.options.as_slice()[1], MhOption::PadN(vec![0xde, 0xad]));
    assert_mh_reemits(&b, &m, "misaligned");
    // Unknown option types (7: Link-Layer Address, 200) are kept raw.
    let b = bu_with(&[7, 3, 1, 2, 3, 200, 0]);
    let m = MobilityHeader::parse(&b).unwrap();
    assert_eq!(
        m.options.as_slice()[..2],
        [
            MhOption::Unknown {
                kind: 7,
                data: vec![1, 2, 3]
            },
            MhOption::Unknown {
                kind: 200,
                data: vec![]
            }
        ]
    );
    assert_mh_reemits(&b, &m, "unknown options");
}

#[test]
fn options_running_past_the_message() {
    // PadN claiming more octets than remain.
    let e = MobilityHeader::parse(&bu_with(&[1, 9, 0, 0])).unwrap_err();
    assert!(matches!(e.kind, MhErrorKind::Truncated { .. }), "{e}");
    assert_eq!(e.option, Some(1));
    // An option type octet as the very last octet.
    let mut b = bu_with(&[]);
    b[15] = 3;
    let e = MobilityHeader::parse(&b).unwrap_err();
    assert!(matches!(e.kind, MhErrorKind::Truncated { .. }), "{e}");
    assert_eq!((e.offset, e.option), (16, Some(3)));
}

#[test]
fn hand_built_values_that_cannot_round_trip_are_reported() {
    let mut m = MobilityHeader::new(BindingUpdate::default());
    m.options.push(MhOption::PadN(vec![0; 300]));
    assert!(matches!(
        m.validate().unwrap_err().kind,
        MhErrorKind::Unrepresentable { .. }
    ));
    // Options not ending on the boundary: emit pads, the value does not.
    let mut m = MobilityHeader::new(BindingUpdate::default());
    m.options.push(MhOption::NonceIndices {
        home: 1,
        care_of: 2,
    });
    assert!(m.validate().is_err());
    let bytes = m.to_bytes();
    assert_eq!(bytes.len(), 24);
    assert!(MobilityHeader::parse(&bytes).is_ok(), "still well-formed");
    // push_option keeps the value and its bytes in step.
    let m = MobilityHeader::new(BindingUpdate::default()).with_option(MhOption::NonceIndices {
        home: 1,
        care_of: 2,
    });
    assert_eq!(m.validate(), Ok(()));
}

#[test]
fn extension_headers_every_prefix_and_length() {
    let hoa: Ipv6Addr = "2001:db8:1::200".parse().unwrap();
    let dst = DestinationOptions::home_address(135, hoa).to_bytes();
    let rh = Type2RoutingHeader::new(135, hoa).to_bytes();
    for bytes in [&dst, &rh] {
        for len in 0..bytes.len() {
            assert!(DestinationOptions::parse(&bytes[..len]).is_err());
            assert!(Type2RoutingHeader::parse(&bytes[..len]).is_err());
        }
    }
    for value in 0..=u8::MAX {
        for at in [1, 3, 7] {
            let mut b = dst.clone();
            b[at] = value;
            if let Ok(h) = DestinationOptions::parse(&b) {
                assert_eq!(h.to_bytes(), b[..h.buffer_len()], "octet {at} = {value}");
            }
        }
        let mut b = rh.clone();
        b[1] = value;
        match Type2RoutingHeader::parse(&b) {
            Ok(h) => assert_eq!((value, h.to_bytes()), (2, rh.clone())),
            Err(e) => assert_eq!(e.kind, Ip6ErrorKind::BadLength { len: value }),
        }
    }
}

#[test]
fn icmp_header_rules() {
    for t in 0..=u8::MAX {
        let b = [t, 0, 0, 0, 0, 1, 0, 0];
        match MobilityIcmp::parse(&b) {
            Ok(m) => assert!((144..=147).contains(&t) && m.icmp_type() == t),
            Err(e) => assert_eq!(e.kind, NdErrorKind::NotNeighborDiscovery { icmp_type: t }),
        }
    }
    // An MPA whose option has length 0 (RFC 4861 §4.6).
    let e = MobilityIcmp::parse(&[147, 0, 0, 0, 0, 1, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0]).unwrap_err();
    assert_eq!((e.kind, e.option), (NdErrorKind::ZeroLength, Some(3)));
}
