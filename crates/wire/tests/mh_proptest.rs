//! Property tests for the Mobility Header, extension-header and ICMPv6
//! 144-147 codecs: any value built the way a sender builds it emits and
//! parses back equal (checksum verifying); arbitrary bytes never panic;
//! accepted bytes re-emit identically (checksum octets aside, emitted 0).

use std::net::{Ipv4Addr, Ipv6Addr};

use proptest::collection::vec;
use proptest::prelude::*;
use v6edge_wire::Lifetime;
use v6edge_wire::ip6::{DestOption, DestinationOptions, Type2RoutingHeader};
use v6edge_wire::mh::{
    self, AuthSubtype, BaFlags, BaStatus, BeStatus, BindingAck, BindingError,
    BindingRefreshRequest, BindingUpdate, BuFlags, FourSeconds, Ipv4AddressAck,
    Ipv4HomeAddressRequest, MhBody, MhOption, MnIdSubtype, MobileNetworkPrefix, MobilityAuth,
    MobilityHeader, NatDetection, Test, TestInit,
};
use v6edge_wire::nd::{
    self, HaadReply, HaadRequest, MobilePrefixAdvert, MobilePrefixSolicit, MobilityIcmp, PrefixInfo,
};

const KNOWN: [u8; 14] = [0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 29, 30, 31, 32];

fn addr() -> impl Strategy<Value = Ipv6Addr> {
    any::<u128>().prop_map(Ipv6Addr::from)
}

fn addr4() -> impl Strategy<Value = Ipv4Addr> {
    any::<u32>().prop_map(Ipv4Addr::from)
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..max)
}

/// Options that may be followed by others.
fn option() -> impl Strategy<Value = MhOption> {
    prop_oneof![
        any::<u16>().prop_map(|i| MhOption::BindingRefreshAdvice(FourSeconds(i))),
        addr().prop_map(MhOption::AlternateCareOf),
        (any::<u16>(), any::<u16>())
            .prop_map(|(home, care_of)| MhOption::NonceIndices { home, care_of }),
        (any::<u8>(), 0u8..=128, addr()).prop_map(|(reserved, prefix_len, prefix)| {
            MhOption::MobileNetworkPrefix(MobileNetworkPrefix {
                reserved,
                prefix_len,
                prefix,
            })
        }),
        (any::<u8>(), bytes(40)).prop_map(|(subtype, id)| MhOption::MnIdentifier {
            subtype: MnIdSubtype::from(subtype),
            id
        }),
        any::<u64>().prop_map(MhOption::ReplayProtection),
        (0u8..64, 0u16..0x400, addr4()).prop_map(|(prefix_len, reserved, address)| {
            MhOption::Ipv4HomeAddressRequest(Ipv4HomeAddressRequest {
                prefix_len,
                reserved,
                address,
            })
        }),
        (any::<u8>(), 0u8..64, 0u8..4, addr4()).prop_map(
            |(status, prefix_len, reserved, address)| {
                MhOption::Ipv4AddressAck(Ipv4AddressAck {
                    status,
                    prefix_len,
                    reserved,
                    address,
                })
            }
        ),
        (any::<bool>(), 0u16..0x8000, any::<u32>()).prop_map(
            |(force_udp, reserved, refresh_time)| {
                MhOption::NatDetection(NatDetection {
                    force_udp,
                    reserved,
                    refresh_time,
                })
            }
        ),
        (any::<u16>(), addr4())
            .prop_map(|(reserved, address)| MhOption::Ipv4CareOf { reserved, address }),
        (
            any::<u8>().prop_filter("not a known type", |k| !KNOWN.contains(k)),
            bytes(40)
        )
            .prop_map(|(kind, data)| MhOption::Unknown { kind, data }),
    ]
}

/// Options that must be last.
fn last_option() -> impl Strategy<Value = MhOption> {
    prop_oneof![
        bytes(20).prop_map(MhOption::BindingAuthorizationData),
        (any::<u8>(), any::<u32>(), bytes(20)).prop_map(|(subtype, spi, authenticator)| {
            MhOption::Authentication(MobilityAuth {
                subtype: AuthSubtype::from(subtype),
                spi,
                authenticator,
            })
        }),
    ]
}

fn body() -> impl Strategy<Value = MhBody> {
    let test_init = (any::<u16>(), any::<[u8; 8]>()).prop_map(|(reserved, init_cookie)| TestInit {
        reserved,
        init_cookie,
    });
    let test = (any::<u16>(), any::<[u8; 8]>(), any::<[u8; 8]>()).prop_map(
        |(nonce_index, init_cookie, keygen_token)| Test {
            nonce_index,
            init_cookie,
            keygen_token,
        },
    );
    prop_oneof![
        any::<u16>().prop_map(|reserved| BindingRefreshRequest { reserved }.into()),
        test_init.clone().prop_map(MhBody::HomeTestInit),
        test_init.prop_map(MhBody::CareOfTestInit),
        test.clone().prop_map(MhBody::HomeTest),
        test.prop_map(MhBody::CareOfTest),
        (any::<u16>(), any::<u16>(), any::<u16>()).prop_map(|(sequence, flags, lifetime)| {
            BindingUpdate {
                sequence,
                flags: BuFlags::from_bits(flags),
                lifetime: FourSeconds(lifetime),
            }
            .into()
        }),
        (any::<u8>(), any::<u8>(), any::<u16>(), any::<u16>()).prop_map(
            |(status, flags, sequence, lifetime)| {
                BindingAck {
                    status: BaStatus::from(status),
                    flags: BaFlags::from_bits(flags),
                    sequence,
                    lifetime: FourSeconds(lifetime),
                }
                .into()
            }
        ),
        (any::<u8>(), any::<u8>(), addr()).prop_map(|(status, reserved, home_address)| {
            BindingError {
                status: BeStatus::from(status),
                reserved,
                home_address,
            }
            .into()
        }),
    ]
}

fn message() -> impl Strategy<Value = MobilityHeader> {
    (
        body(),
        any::<u8>(),
        vec(option(), 0..6),
        proptest::option::of(last_option()),
    )
        .prop_map(|(body, reserved, options, last)| {
            let mut m = MobilityHeader::new(body);
            m.reserved = reserved;
            for o in options.into_iter().chain(last) {
                m.push_option(o);
            }
            m
        })
}

fn unknown_message() -> impl Strategy<Value = MobilityHeader> {
    (8u8..=255, any::<u8>(), 0usize..6, bytes(48)).prop_map(|(mh_type, reserved, units, seed)| {
        let data: Vec<u8> = seed.into_iter().cycle().take(2 + 8 * units).collect();
        let mut m = MobilityHeader::new(MhBody::Unknown {
            mh_type,
            data: if data.is_empty() {
                vec![0; 2 + 8 * units]
            } else {
                data
            },
        });
        m.reserved = reserved;
        m
    })
}

/// Bytes that look like a Mobility Header (right Payload Proto, a Header
/// Len matching the length, a known type), so the option paths get
/// exercised, not just the envelope checks.
fn mh_like_bytes() -> impl Strategy<Value = Vec<u8>> {
    (0u8..10, 0usize..6, bytes(56), vec(0u8..12, 0..8)).prop_map(|(mh_type, units, fill, kinds)| {
        let len = 8 * (units + 1);
        let mut b: Vec<u8> = fill.into_iter().cycle().take(len).collect();
        b.resize(len, 0);
        b[0] = 59;
        b[1] = units as u8;
        b[2] = mh_type;
        // Sprinkle plausible option headers after the fixed part.
        let mut at = 12;
        for k in kinds {
            if at + 2 > len {
                break;
            }
            b[at] = k;
            let room = len - at - 2;
            b[at + 1] = (usize::from(b[at + 1]) % (room + 1)) as u8;
            at += 2 + usize::from(b[at + 1]);
        }
        b
    })
}

fn check_mh_accepted_reemits(bytes: &[u8]) -> Result<bool, TestCaseError> {
    let Ok(m) = MobilityHeader::parse(bytes) else {
        return Ok(false);
    };
    let out = m.to_bytes();
    prop_assert_eq!(out.len(), bytes.len());
    prop_assert_eq!(&out[..4], &bytes[..4]);
    prop_assert_eq!(&out[6..], &bytes[6..]);
    prop_assert_eq!(m.validate(), Ok(()));
    Ok(true)
}

fn pio() -> impl Strategy<Value = PrefixInfo> {
    (0u8..=128, any::<u32>(), any::<u32>(), addr(), any::<bool>()).prop_map(
        |(len, valid, preferred, prefix, r)| {
            let mut p = PrefixInfo::new(
                prefix,
                len,
                Lifetime::from_wire(valid),
                Lifetime::from_wire(preferred),
            );
            p.router_addr = r;
            p
        },
    )
}

fn icmp() -> impl Strategy<Value = MobilityIcmp> {
    prop_oneof![
        (any::<u16>(), any::<bool>(), 0u16..0x8000).prop_map(|(identifier, r, reserved)| {
            HaadRequest {
                identifier,
                mobile_router: r,
                reserved,
            }
            .into()
        }),
        (any::<u16>(), any::<bool>(), 0u16..0x8000, vec(addr(), 0..6)).prop_map(
            |(identifier, r, reserved, home_agents)| {
                HaadReply {
                    identifier,
                    mobile_router: r,
                    reserved,
                    home_agents,
                }
                .into()
            }
        ),
        (any::<u16>(), any::<u16>()).prop_map(|(identifier, reserved)| MobilePrefixSolicit {
            identifier,
            reserved
        }
        .into()),
        (
            any::<u16>(),
            any::<bool>(),
            any::<bool>(),
            0u16..0x4000,
            vec(pio(), 0..4)
        )
            .prop_map(|(identifier, managed, other, reserved, prefixes)| {
                MobilePrefixAdvert {
                    managed,
                    other,
                    reserved,
                    ..MobilePrefixAdvert::new(identifier, prefixes)
                }
                .into()
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn emit_then_parse_is_identity(m in message(), src in addr(), dst in addr()) {
        let bytes = m.to_bytes_with_checksum(src, dst);
        prop_assert_eq!(bytes.len(), m.buffer_len());
        prop_assert_eq!(bytes.len() % 8, 0);
        prop_assert!(mh::verify_checksum(src, dst, &bytes));
        prop_assert_eq!(MobilityHeader::parse(&bytes), Ok(m.clone()));
        prop_assert_eq!(m.validate(), Ok(()));
        // Every option sits where its xn+y rule wants it.
        let mut at = bytes.len() - m.options.buffer_len();
        for o in m.options.iter() {
            let (x, y) = o.alignment();
            if x != 0 {
                prop_assert_eq!(at % x, y, "{:?}", o);
            }
            at += o.buffer_len();
        }
    }

    #[test]
    fn unknown_types_round_trip(m in unknown_message()) {
        prop_assert_eq!(MobilityHeader::parse(&m.to_bytes()), Ok(m.clone()));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..300)) {
        check_mh_accepted_reemits(&bytes)?;
        let _ = MobilityIcmp::parse(&bytes);
        let _ = DestinationOptions::parse(&bytes);
        let _ = Type2RoutingHeader::parse(&bytes);
        let _ = v6edge_wire::ip6::walk(&bytes);
    }

    #[test]
    fn walking_ipv6_shaped_packets_never_panics(
        first in prop_oneof![Just(0u8), Just(43), Just(60), Just(44), Just(135)],
        chain in vec((prop_oneof![Just(0u8), Just(43), Just(60), Just(135)], 0u8..4, 0u8..4), 0..4),
        fill in bytes(24),
    ) {
        // A chain of extension headers with plausible next-header and
        // length octets, routing types 2 or others, filled with noise.
        let mut payload = Vec::new();
        for (next, units, routing_type) in chain {
            let start = payload.len();
            payload.resize(start + (usize::from(units) + 1) * 8, 0);
            for (i, b) in payload[start + 2..].iter_mut().enumerate() {
                *b = fill.get(i % fill.len().max(1)).copied().unwrap_or(0);
            }
            payload[start] = next;
            payload[start + 1] = units;
            payload[start + 2] = routing_type;
        }
        let mut p = v6edge_wire::ip6::Ipv6Header::new(
            Ipv6Addr::LOCALHOST, Ipv6Addr::LOCALHOST, first, 64, payload.len() as u16,
        ).to_bytes();
        p.extend_from_slice(&payload);
        if let Ok(found) = v6edge_wire::ip6::walk(&p) {
            prop_assert!(found.upper_offset <= p.len());
            prop_assert!(found.home_address_options <= payload.len() / 18);
        }
    }

    #[test]
    fn mh_like_bytes_reemit_identically(bytes in mh_like_bytes()) {
        check_mh_accepted_reemits(&bytes)?;
    }

    #[test]
    fn icmp_emit_then_parse_is_identity(m in icmp(), src in addr(), dst in addr()) {
        let bytes = m.to_bytes_with_checksum(src, dst);
        prop_assert!(nd::verify_checksum(src, dst, &bytes));
        prop_assert_eq!(MobilityIcmp::parse(&bytes), Ok(m));
    }

    #[test]
    fn extension_headers_round_trip(
        hoa in addr(),
        next_header in any::<u8>(),
        segments_left in any::<u8>(),
        reserved in any::<u32>(),
        unknown in proptest::option::of((2u8..=255, bytes(20))),
    ) {
        let rh = Type2RoutingHeader { next_header, segments_left, reserved, home_address: hoa };
        prop_assert_eq!(Type2RoutingHeader::parse(&rh.to_bytes()), Ok(rh));
        let mut d = DestinationOptions::home_address(next_header, hoa);
        if let Some((kind, data)) = unknown.filter(|(k, _)| *k != 201) {
            d.options.push(DestOption::Unknown { kind, data });
        }
        let bytes = d.to_bytes();
        let back = DestinationOptions::parse(&bytes).unwrap();
        prop_assert_eq!(back.home_address_option(), Some(hoa));
        prop_assert_eq!(back.to_bytes(), bytes);
    }
}

#[test]
fn mh_like_generator_reaches_the_accept_path() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = mh_like_bytes();
    let accepted = (0..2000)
        .filter(|_| {
            let bytes = strategy.new_tree(&mut runner).unwrap().current();
            check_mh_accepted_reemits(&bytes).unwrap()
        })
        .count();
    assert!(accepted > 100, "only {accepted} of 2000 accepted");
}
