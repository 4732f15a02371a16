//! RIPng codec properties (RFC 2080 §2.1): any input parses or fails
//! without panicking, accepted input re-emits byte-identical, built values
//! round-trip, and every cut of a valid packet is either a shorter valid
//! packet (on an entry boundary) or a truncation error.

use std::net::Ipv6Addr;

use proptest::prelude::*;
use v6edge_wire::ripng::{
    Command, HEADER_LEN, RTE_LEN, RipngBody, RipngErrorKind, RipngMessage, Rte,
};

fn rte() -> impl Strategy<Value = Rte> {
    (any::<u128>(), any::<u16>(), any::<u8>(), any::<u8>())
        .prop_map(|(p, tag, len, metric)| Rte::route(Ipv6Addr::from(p), len, tag, metric))
}

fn message() -> impl Strategy<Value = RipngMessage> {
    prop_oneof![
        (
            prop_oneof![Just(Command::Request), Just(Command::Response)],
            any::<u16>(),
            prop::collection::vec(rte(), 0..80)
        )
            .prop_map(|(command, mbz, entries)| {
                let mut m = RipngMessage::new(command, entries);
                m.must_be_zero = mbz;
                m
            }),
        (
            any::<u8>(),
            any::<u8>(),
            any::<u16>(),
            prop::collection::vec(any::<u8>(), 0..100)
        )
            .prop_filter("not a version 1 request or response", |(c, v, _, _)| {
                !matches!((c, v), (1 | 2, 1))
            })
            .prop_map(|(c, v, mbz, body)| RipngMessage {
                command: Command::from(c),
                version: v,
                must_be_zero: mbz,
                body: RipngBody::Opaque(body),
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_bytes_parse_or_fail_and_accepted_ones_re_emit(
        bytes in prop::collection::vec(any::<u8>(), 0..400),
    ) {
        if let Ok(m) = RipngMessage::parse(&bytes) {
            prop_assert_eq!(m.buffer_len(), bytes.len());
            prop_assert_eq!(m.to_bytes(), bytes);
        }
    }

    #[test]
    fn valid_headers_with_random_bodies(
        command in 1u8..=2,
        body in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let mut bytes = vec![command, 1, 0, 0];
        bytes.extend_from_slice(&body);
        match RipngMessage::parse(&bytes) {
            Ok(m) => {
                prop_assert_eq!(body.len() % RTE_LEN, 0);
                prop_assert_eq!(m.entries().len(), body.len() / RTE_LEN);
                prop_assert_eq!(m.to_bytes(), bytes);
            }
            Err(e) => {
                let have = body.len() % RTE_LEN;
                prop_assert_eq!(e.kind, RipngErrorKind::Truncated { need: RTE_LEN, have });
                prop_assert_eq!(e.offset, bytes.len() - have);
                prop_assert_eq!(e.option, Some(body.len() / RTE_LEN));
            }
        }
    }

    #[test]
    fn values_round_trip(m in message()) {
        let bytes = m.to_bytes();
        prop_assert_eq!(bytes.len(), m.buffer_len());
        prop_assert_eq!(RipngMessage::parse(&bytes).unwrap(), m);
    }

    #[test]
    fn every_cut_is_a_shorter_packet_or_truncated(m in message(), cut in any::<prop::sample::Index>()) {
        let bytes = m.to_bytes();
        let at = cut.index(bytes.len() + 1);
        match RipngMessage::parse(&bytes[..at]) {
            Ok(short) => {
                prop_assert!(at >= HEADER_LEN);
                prop_assert_eq!(short.to_bytes(), &bytes[..at]);
            }
            Err(e) => {
                let truncated = matches!(e.kind, RipngErrorKind::Truncated { .. });
                prop_assert!(truncated, "{:?}", e);
            }
        }
    }
}
