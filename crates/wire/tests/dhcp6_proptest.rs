//! Property tests: any message built from typed values emits and parses
//! back equal; any byte string parses without panicking, and whatever is
//! accepted re-emits byte-identical (also for captures with random octets
//! overwritten).

#[path = "fixtures/dhcp6/load.rs"]
mod load;

use std::net::Ipv6Addr;

use proptest::collection::vec;
use proptest::prelude::*;
use v6edge_wire::Lifetime;
use v6edge_wire::dhcp6::*;

/// Codes that parse into a typed variant; `Unknown` must avoid them.
const TYPED: &[u16] = &[
    1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 18, 19, 20, 23, 24, 25, 26, 32, 37, 38, 56, 67, 79,
    82, 83,
];

fn addr() -> impl Strategy<Value = Ipv6Addr> {
    any::<u128>().prop_map(Ipv6Addr::from)
}

fn lifetime() -> impl Strategy<Value = Lifetime> {
    prop_oneof![
        Just(Lifetime::Infinite),
        Just(Lifetime::ZERO),
        any::<u32>().prop_map(Lifetime::from_wire)
    ]
}

fn duid() -> impl Strategy<Value = Duid> {
    prop_oneof![
        (any::<u16>(), vec(any::<u8>(), 6)).prop_map(|(hw, mac)| Duid::new_ll(hw, &mac)),
        (any::<u16>(), any::<u32>(), vec(any::<u8>(), 0..20))
            .prop_map(|(hw, t, mac)| Duid::new_llt(hw, t, &mac)),
        (any::<u32>(), vec(any::<u8>(), 0..20)).prop_map(|(en, id)| Duid::new_en(en, &id)),
        any::<[u8; 16]>().prop_map(Duid::new_uuid),
        vec(any::<u8>(), 2..=130).prop_map(|b| Duid::from_bytes(&b).unwrap()),
    ]
}

fn domain() -> impl Strategy<Value = DomainName> {
    prop_oneof![
        1 => Just(DomainName::root()),
        8 => vec("[a-zA-Z0-9_-]{1,20}", 1..5).prop_map(|labels| DomainName::new(&labels.join(".")).unwrap()),
    ]
}

fn status() -> impl Strategy<Value = Status> {
    (any::<u16>(), ".{0,16}").prop_map(|(c, m)| Status::new(StatusCode::from(c), m))
}

fn unknown() -> impl Strategy<Value = DhcpOption> {
    (
        any::<u16>().prop_filter("typed code", |c| !TYPED.contains(c)),
        vec(any::<u8>(), 0..24),
    )
        .prop_map(|(code, data)| DhcpOption::Unknown { code, data })
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..max)
}

/// Options without nested options.
fn leaf() -> BoxedStrategy<DhcpOption> {
    prop_oneof![
        duid().prop_map(DhcpOption::ClientId),
        duid().prop_map(DhcpOption::ServerId),
        vec(any::<u16>().prop_map(OptionCode::from), 0..6).prop_map(DhcpOption::Oro),
        any::<u8>().prop_map(DhcpOption::Preference),
        any::<u16>().prop_map(DhcpOption::ElapsedTime),
        (
            any::<u8>(),
            any::<u8>(),
            any::<u8>(),
            any::<u64>(),
            bytes(32)
        )
            .prop_map(|(protocol, algorithm, rdm, replay_detection, info)| {
                DhcpOption::Authentication(Authentication {
                    protocol,
                    algorithm,
                    rdm,
                    replay_detection,
                    info,
                })
            }),
        addr().prop_map(DhcpOption::ServerUnicast),
        status().prop_map(DhcpOption::StatusCode),
        Just(DhcpOption::RapidCommit),
        bytes(16).prop_map(DhcpOption::InterfaceId),
        any::<u8>().prop_map(|t| DhcpOption::ReconfigureMessage(MessageType::from(t))),
        Just(DhcpOption::ReconfigureAccept),
        vec(addr(), 0..4).prop_map(DhcpOption::DnsServers),
        vec(domain(), 0..4).prop_map(DhcpOption::DomainList),
        lifetime().prop_map(DhcpOption::InformationRefreshTime),
        (any::<u32>(), bytes(16)).prop_map(|(enterprise, remote_id)| DhcpOption::RemoteId {
            enterprise,
            remote_id
        }),
        bytes(16).prop_map(DhcpOption::SubscriberId),
        vec(
            prop_oneof![
                addr().prop_map(NtpSuboption::ServerAddress),
                addr().prop_map(NtpSuboption::MulticastAddress),
                domain().prop_map(NtpSuboption::Fqdn),
                (4u16.., bytes(8)).prop_map(|(code, data)| NtpSuboption::Unknown { code, data }),
            ],
            0..4
        )
        .prop_map(DhcpOption::NtpServer),
        // Outside an IAPREFIX only the basic RFC 6603 §4.2 shape is checked.
        (1u8..=128, vec(any::<u8>(), 1..=16)).prop_map(|(prefix_len, subnet_id)| {
            DhcpOption::PdExclude(PdExclude {
                prefix_len,
                subnet_id,
            })
        }),
        (any::<u16>(), bytes(20))
            .prop_map(|(hw_type, address)| DhcpOption::ClientLinkLayerAddress { hw_type, address }),
        any::<u32>().prop_map(DhcpOption::SolMaxRt),
        any::<u32>().prop_map(DhcpOption::InfMaxRt),
        unknown(),
    ]
    .boxed()
}

/// Status codes and unknown options, the usual contents of IA sub-options.
fn sub_leaf() -> BoxedStrategy<DhcpOption> {
    prop_oneof![status().prop_map(DhcpOption::StatusCode), unknown()].boxed()
}

fn iaprefix() -> impl Strategy<Value = IaPrefix> {
    (
        lifetime(),
        lifetime(),
        0u8..=128,
        addr(),
        vec(sub_leaf(), 0..2),
        any::<u128>(),
        any::<u8>(),
    )
        .prop_map(
            |(preferred, valid, prefix_len, prefix, subs, excl_bits, excl_len_seed)| {
                let mut p = IaPrefix::new(prefix, prefix_len, preferred, valid);
                p.options.extend(subs);
                // A PD exclude that fits this prefix (RFC 6603 §4.2).
                if prefix_len < 128 {
                    let excluded_len = prefix_len + 1 + excl_len_seed % (128 - prefix_len);
                    // The same address as delegated and excluded prefix: always inside.
                    let a = Ipv6Addr::from(excl_bits);
                    if let Some(x) = PdExclude::new(a, prefix_len, a, excluded_len) {
                        p.options.push(DhcpOption::PdExclude(x));
                    }
                }
                p
            },
        )
}

fn ia_option() -> BoxedStrategy<DhcpOption> {
    let iaaddr = (addr(), lifetime(), lifetime(), vec(sub_leaf(), 0..2))
        .prop_map(|(a, p, v, subs)| {
            let mut x = IaAddr::new(a, p, v);
            x.options.extend(subs);
            x
        })
        .boxed();
    prop_oneof![
        (
            any::<u32>(),
            any::<u32>(),
            any::<u32>(),
            vec(iaaddr.clone(), 0..3),
            vec(sub_leaf(), 0..2)
        )
            .prop_map(|(iaid, t1, t2, addrs, subs)| {
                let mut ia = IaNa::new(iaid, t1, t2);
                ia.options.extend(addrs.into_iter().map(DhcpOption::IaAddr));
                ia.options.extend(subs);
                DhcpOption::IaNa(ia)
            }),
        (any::<u32>(), vec(iaaddr.clone(), 0..3)).prop_map(|(iaid, addrs)| {
            let mut ia = IaTa::new(iaid);
            ia.options.extend(addrs.into_iter().map(DhcpOption::IaAddr));
            DhcpOption::IaTa(ia)
        }),
        (
            any::<u32>(),
            any::<u32>(),
            any::<u32>(),
            vec(iaprefix(), 0..3),
            vec(sub_leaf(), 0..2)
        )
            .prop_map(|(iaid, t1, t2, prefixes, subs)| {
                let mut ia = IaPd::new(iaid, t1, t2);
                ia.options.extend(subs);
                ia.options
                    .extend(prefixes.into_iter().map(DhcpOption::IaPrefix));
                DhcpOption::IaPd(ia)
            }),
        iaaddr.prop_map(DhcpOption::IaAddr),
        iaprefix().prop_map(DhcpOption::IaPrefix),
    ]
    .boxed()
}

fn option() -> BoxedStrategy<DhcpOption> {
    prop_oneof![3 => leaf(), 1 => ia_option()].boxed()
}

fn message() -> impl Strategy<Value = Message> {
    let client = (
        any::<u8>().prop_filter("relay type", |t| !matches!(t, 12 | 13)),
        any::<u32>(),
        vec(option(), 0..8),
    )
        .prop_map(|(t, xid, opts)| {
            Message::Client(ClientMessage {
                msg_type: MessageType::from(t),
                xid: Xid::new(xid),
                options: opts.into(),
            })
        });
    client.prop_recursive(4, 16, 2, |inner| {
        (
            prop_oneof![Just(MessageType::RelayForw), Just(MessageType::RelayRepl)],
            any::<u8>(),
            addr(),
            addr(),
            vec(leaf(), 0..3),
            inner,
            any::<prop::sample::Index>(),
        )
            .prop_map(|(t, hop, link, peer, mut opts, inner, at)| {
                let at = at.index(opts.len() + 1);
                opts.insert(at, DhcpOption::RelayMessage(Box::new(inner)));
                Message::Relay(RelayMessage {
                    msg_type: t,
                    hop_count: hop,
                    link_address: link,
                    peer_address: peer,
                    options: opts.into(),
                })
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn typed_message_round_trips(msg in message()) {
        let bytes = msg.to_bytes();
        prop_assert_eq!(bytes.len(), msg.buffer_len());
        let parsed = Message::parse(&bytes).map_err(|e| TestCaseError::fail(format!("{e}")))?;
        prop_assert_eq!(&parsed, &msg);
        prop_assert_eq!(parsed.to_bytes(), bytes);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..600)) {
        if let Ok(msg) = Message::parse(&bytes) {
            prop_assert_eq!(msg.to_bytes(), bytes);
        }
    }

    /// Mostly-valid input reaches deeper code than random bytes do.
    #[test]
    fn mutated_captures_reemit_identically(
        which in any::<prop::sample::Index>(),
        edits in vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        let fixtures = load::all();
        let fixture = &fixtures[which.index(fixtures.len())];
        let mut bytes = fixture.bytes.clone();
        for (at, v) in edits {
            let i = at.index(bytes.len());
            bytes[i] = v;
        }
        if let Ok(msg) = Message::parse(&bytes) {
            prop_assert_eq!(msg.to_bytes(), bytes, "mutated {}", fixture.name);
        }
    }

    /// Option bodies of typed codes filled with random octets.
    #[test]
    fn random_bodies_for_typed_codes(code in prop::sample::select(TYPED), body in vec(any::<u8>(), 0..64)) {
        let mut bytes = vec![7, 1, 2, 3];
        bytes.extend_from_slice(&code.to_be_bytes());
        bytes.extend_from_slice(&(body.len() as u16).to_be_bytes());
        bytes.extend_from_slice(&body);
        match Message::parse(&bytes) {
            Ok(msg) => prop_assert_eq!(msg.to_bytes(), bytes),
            Err(e) => {
                prop_assert!(e.offset <= bytes.len());
                prop_assert!(e.option.is_some(), "an option body error names its option: {}", e);
            }
        }
    }
}
