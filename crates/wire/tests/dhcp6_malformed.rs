//! Hostile input, rustls style: truncate every capture at every length,
//! rewrite every inner length field to every smaller value, and check that
//! specific malformations give the error kind, offset and option expected.
//! Nothing may panic; whatever parses must re-emit byte-identical.

#[path = "fixtures/dhcp6/load.rs"]
mod load;

use v6edge_wire::dhcp6::*;

fn be16(b: &[u8], at: usize) -> usize {
    usize::from(u16::from_be_bytes([b[at], b[at + 1]]))
}

fn header_len(msg: &[u8]) -> usize {
    if matches!(msg[0], 12 | 13) { 34 } else { 4 }
}

/// Offsets (in the outer message) of every option length field, at every
/// nesting level, for a message already known to be well-formed.
fn length_fields(msg: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    walk_message(msg, 0, &mut out);
    out
}

fn walk_message(msg: &[u8], base: usize, out: &mut Vec<usize>) {
    let h = header_len(msg);
    walk_options(&msg[h..], base + h, out);
}

fn walk_options(b: &[u8], base: usize, out: &mut Vec<usize>) {
    let mut i = 0;
    while i < b.len() {
        let code = be16(b, i);
        let len = be16(b, i + 2);
        out.push(base + i + 2);
        let body = &b[i + 4..i + 4 + len];
        let body_at = base + i + 4;
        // RFC 8415 §21: the fixed parts before encapsulated options.
        let fixed = match code {
            3 | 25 => Some(12),
            4 => Some(4),
            5 => Some(24),
            26 => Some(25),
            _ => None,
        };
        if let Some(f) = fixed {
            walk_options(&body[f..], body_at + f, out);
        } else if code == 9 {
            walk_message(body, body_at, out);
        }
        i += 4 + len;
    }
}

/// Lengths at which the top-level option list of `msg` can end.
fn top_level_boundaries(msg: &[u8]) -> Vec<usize> {
    let mut i = header_len(msg);
    let mut out = vec![i];
    while i < msg.len() {
        i += 4 + be16(msg, i + 2);
        out.push(i);
    }
    out
}

#[test]
fn outer_truncation_of_every_fixture() {
    for f in load::all() {
        let boundaries = top_level_boundaries(&f.bytes);
        assert_eq!(boundaries.last(), Some(&f.bytes.len()), "{}", f.name);
        for len in 0..f.bytes.len() {
            let cut = &f.bytes[..len];
            match Message::parse(cut) {
                Ok(msg) => {
                    assert!(
                        boundaries.contains(&len),
                        "{} cut at {len} parsed: {msg:?}",
                        f.name
                    );
                    assert_eq!(msg.to_bytes(), cut, "{} cut at {len}", f.name);
                }
                Err(e) => {
                    // Cutting between top-level options leaves a valid message.
                    assert!(
                        !boundaries.contains(&len),
                        "{} cut at option boundary {len}: {e}",
                        f.name
                    );
                    assert!(
                        e.offset <= len,
                        "{} cut at {len}: offset {} past the end",
                        f.name,
                        e.offset
                    );
                    assert!(
                        matches!(e.kind, DecodeErrorKind::Truncated { .. }),
                        "{} cut at {len}: {e}",
                        f.name
                    );
                }
            }
        }
    }
}

#[test]
fn inner_truncation_of_every_length_field() {
    let (mut rejected, mut accepted) = (0usize, 0usize);
    for f in load::all() {
        let fields = length_fields(&f.bytes);
        assert!(!fields.is_empty(), "{}", f.name);
        for at in fields {
            let original = be16(&f.bytes, at);
            for shorter in 0..original {
                let mut b = f.bytes.clone();
                b[at..at + 2].copy_from_slice(&(shorter as u16).to_be_bytes());
                match Message::parse(&b) {
                    Ok(msg) => {
                        accepted += 1;
                        assert_eq!(
                            msg.to_bytes(),
                            b,
                            "{}: length at {at} set to {shorter}",
                            f.name
                        );
                    }
                    Err(e) => {
                        rejected += 1;
                        assert!(e.offset <= b.len(), "{}: {e}", f.name);
                    }
                }
            }
        }
    }
    // Most shortened lengths leave stray octets that cannot be options.
    assert!(
        rejected > accepted,
        "rejected {rejected}, accepted {accepted}"
    );
    assert!(
        accepted > 0,
        "shortening an empty-bodied option's parent can stay valid"
    );
}

/// Inverse of inner truncation: growing a length field makes it overrun.
#[test]
fn grown_length_fields_overrun() {
    for f in load::all() {
        for at in length_fields(&f.bytes) {
            let mut b = f.bytes.clone();
            let grown = be16(&b, at) + 1;
            b[at..at + 2].copy_from_slice(&(grown as u16).to_be_bytes());
            let e = Message::parse(&b).expect_err(&f.name);
            assert!(
                matches!(
                    e.kind,
                    DecodeErrorKind::Truncated { .. }
                        | DecodeErrorKind::BadLength { .. }
                        | DecodeErrorKind::BadValue(_)
                ),
                "{}: {e}",
                f.name
            );
        }
    }
}

/// A Reply with the given options after a 4-octet header.
fn reply(options: &[u8]) -> Vec<u8> {
    let mut v = vec![7, 0x12, 0x34, 0x56];
    v.extend_from_slice(options);
    v
}

fn err(bytes: &[u8]) -> DecodeError {
    Message::parse(bytes).expect_err("malformed input must be rejected")
}

fn round_trip(bytes: &[u8]) -> Message {
    let msg = Message::parse(bytes).unwrap_or_else(|e| panic!("{bytes:02x?}: {e}"));
    assert_eq!(msg.to_bytes(), bytes);
    msg
}

#[test]
fn fixed_size_options_with_wrong_length() {
    // option code, a body one octet too long and one too short (if any).
    for (code, size) in [
        (7u16, 1usize),
        (8, 2),
        (12, 16),
        (14, 0),
        (19, 1),
        (20, 0),
        (32, 4),
        (82, 4),
        (83, 4),
    ] {
        for len in [size + 1, size.wrapping_sub(1)] {
            if len > size + 1 {
                continue;
            }
            let mut o = code.to_be_bytes().to_vec();
            o.extend_from_slice(&(len as u16).to_be_bytes());
            o.extend(std::iter::repeat_n(0u8, len));
            let e = err(&reply(&o));
            assert_eq!(
                e.kind,
                DecodeErrorKind::BadLength { len },
                "code {code} len {len}"
            );
            assert_eq!(e.offset, 4);
            assert_eq!(e.option, Some(OptionCode::from(code)));
        }
    }
    // Lists with a unit size.
    let e = err(&reply(&[0, 6, 0, 3, 0, 23, 0]));
    assert_eq!(
        (e.kind, e.option),
        (DecodeErrorKind::BadLength { len: 3 }, Some(OptionCode::Oro))
    );
    let mut dns = vec![0, 23, 0, 17];
    dns.extend([0; 17]);
    assert_eq!(
        err(&reply(&dns)).kind,
        DecodeErrorKind::BadLength { len: 17 }
    );
    // Authentication needs 11 octets before its information.
    let mut auth = vec![0, 11, 0, 10];
    auth.extend([0; 10]);
    assert_eq!(err(&reply(&auth)).option, Some(OptionCode::Authentication));
    // A DUID needs its type code, and is at most 130 octets.
    assert_eq!(
        err(&reply(&[0, 1, 0, 1, 0])).kind,
        DecodeErrorKind::BadLength { len: 1 }
    );
    let mut long = vec![0, 2, 0, 131];
    long.extend([0; 131]);
    assert_eq!(err(&reply(&long)).option, Some(OptionCode::ServerId));
    // Status code needs its code.
    assert_eq!(
        err(&reply(&[0, 13, 0, 1, 0])).kind,
        DecodeErrorKind::BadLength { len: 1 }
    );
}

#[test]
fn ia_shorter_than_fixed_part() {
    for (code, fixed) in [(3u16, 12usize), (4, 4), (25, 12)] {
        let mut o = code.to_be_bytes().to_vec();
        o.extend_from_slice(&((fixed - 1) as u16).to_be_bytes());
        o.extend(std::iter::repeat_n(0u8, fixed - 1));
        let e = err(&reply(&o));
        assert_eq!(e.kind, DecodeErrorKind::BadLength { len: fixed - 1 });
        assert_eq!((e.offset, e.option), (4, Some(OptionCode::from(code))));
    }
    // IAADDR (24) and IAPREFIX (25) inside their IAs.
    let mut o = vec![0, 25, 0, 12 + 4 + 24];
    o.extend([0; 12]);
    o.extend([0, 26, 0, 24]);
    o.extend([0; 24]);
    let e = err(&reply(&o));
    assert_eq!(e.kind, DecodeErrorKind::BadLength { len: 24 });
    assert_eq!((e.offset, e.option), (4 + 16, Some(OptionCode::IaPrefix)));
}

#[test]
fn nested_option_overruns_its_ia() {
    // IA_PD of 12 + 4 + 25 octets whose IAPREFIX claims 26.
    let mut o = vec![0, 25, 0, 41];
    o.extend([0; 12]);
    o.extend([0, 26, 0, 26]);
    o.extend([0; 25]);
    o.extend([0xff; 8]); // trailing octets of the outer message must not be borrowed
    let e = err(&reply(&o));
    assert_eq!(e.kind, DecodeErrorKind::Truncated { need: 26, have: 25 });
    assert_eq!((e.offset, e.option), (4 + 20, Some(OptionCode::IaPrefix)));
    // A dangling half option header.
    let e = err(&reply(&[0, 14, 0, 0, 0, 99]));
    assert_eq!(
        (e.kind, e.offset, e.option),
        (DecodeErrorKind::Truncated { need: 4, have: 2 }, 8, None)
    );
}

#[test]
fn iaprefix_and_pd_exclude_rules() {
    let iaprefix = |len: u8, sub: &[u8]| {
        let mut p = vec![0, 26, 0, (25 + sub.len()) as u8];
        p.extend([0, 0, 0, 100, 0, 0, 0, 200, len]);
        p.extend(std::net::Ipv6Addr::new(0x2001, 0xdb8, 0x1200, 0, 0, 0, 0, 0).octets());
        p.extend_from_slice(sub);
        let mut o = vec![0, 25, 0, (12 + p.len()) as u8];
        o.extend([0; 12]);
        o.extend(p);
        reply(&o)
    };
    // RFC 6603 §4.2 worked case: /56 delegated, /64 excluded, one octet.
    let ok = round_trip(&iaprefix(56, &[0, 67, 0, 2, 64, 0xff]));
    let p = ok
        .options()
        .ia_pds()
        .next()
        .unwrap()
        .prefixes()
        .next()
        .unwrap()
        .clone();
    assert_eq!(
        p.pd_exclude(),
        Some(&PdExclude {
            prefix_len: 64,
            subnet_id: vec![0xff]
        })
    );
    assert_eq!(
        p.excluded_prefix(),
        Some(("2001:db8:1200:ff::".parse().unwrap(), 64))
    );
    // Octet count must be ((64 - 56 - 1) / 8) + 1 = 1.
    let e = err(&iaprefix(56, &[0, 67, 0, 3, 64, 0xff, 0]));
    assert_eq!(
        (e.kind, e.option),
        (
            DecodeErrorKind::BadValue("PD exclude does not fit its IAPREFIX"),
            Some(OptionCode::PdExclude)
        )
    );
    // Excluded length must exceed the delegated one, and stay <= 128.
    assert!(Message::parse(&iaprefix(56, &[0, 67, 0, 2, 56, 0])).is_err());
    assert!(
        Message::parse(&iaprefix(
            56,
            &[0, 67, 0, 10, 129, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        ))
        .is_err()
    );
    assert!(Message::parse(&iaprefix(120, &[0, 67, 0, 2, 128, 0])).is_ok());
    // Prefix length above 128.
    let e = err(&iaprefix(129, &[]));
    assert_eq!(
        (e.kind, e.offset, e.option),
        (
            DecodeErrorKind::BadValue("prefix length above 128"),
            4 + 16 + 12,
            Some(OptionCode::IaPrefix)
        )
    );
    // PD exclude with no subnet ID at all.
    assert_eq!(
        err(&iaprefix(56, &[0, 67, 0, 1, 64])).kind,
        DecodeErrorKind::BadLength { len: 1 }
    );
}

#[test]
fn domain_names_with_bad_labels() {
    let list = |body: &[u8]| {
        let mut o = vec![0, 24, 0, body.len() as u8];
        o.extend_from_slice(body);
        reply(&o)
    };
    let msg = round_trip(&list(b"\x03lab\x07example\x00\x00"));
    let names: Vec<&str> = msg
        .options()
        .domain_list()
        .unwrap()
        .iter()
        .map(|n| n.as_str())
        .collect();
    assert_eq!(names, ["lab.example", ""]);
    for (bad, at) in [
        (&b"\x03lab\xc0\x0c"[..], 12), // compression pointer (RFC 8415 §10 forbids)
        (b"\x03lab\x07example", 4 + 4 + 12), // no root label
        (b"\x03l.b\x00", 8),           // dot inside a label
        (b"\x03l b\x00", 8),           // space
        (b"\x05lab\x00", 9),           // label overruns the option
        (b"\x40aaaa", 8),              // 64-octet label
    ] {
        let e = err(&list(bad));
        assert!(
            matches!(
                e.kind,
                DecodeErrorKind::BadValue(_) | DecodeErrorKind::Truncated { .. }
            ),
            "{bad:?}: {e}"
        );
        assert_eq!(e.option, Some(OptionCode::DomainList), "{bad:?}");
        assert_eq!(e.offset, at, "{bad:?}: {e}");
    }
    // 255 octets is the limit: 4 labels of 63 make 257.
    let mut long = Vec::new();
    for _ in 0..4 {
        long.push(63);
        long.extend([b'a'; 63]);
    }
    long.push(0);
    assert!(Message::parse(&list(&long)).is_err());
}

#[test]
fn status_with_invalid_utf8_is_kept() {
    let msg = round_trip(&reply(&[0, 13, 0, 5, 0, 2, b'n', 0xc3, b'o']));
    let s = msg.options().status().unwrap();
    assert_eq!(s.code, StatusCode::NoAddrsAvail);
    assert!(s.message_was_invalid_utf8());
    assert_eq!(s.message_bytes(), &[b'n', 0xc3, b'o']);
}

#[test]
fn unknown_options_and_duplicates_keep_order() {
    let bytes = reply(&[
        0xfe, 0xed, 0, 3, 1, 2, 3, // unknown code 65261
        0, 7, 0, 1, 9, // preference 9
        0, 10, 0, 0, // unassigned code 10, empty
        0, 7, 0, 1, 10, // duplicate preference
        0, 21, 0, 1, 0, // SIP domain list, not typed here: kept raw
    ]);
    let msg = round_trip(&bytes);
    let o = msg.options();
    assert_eq!(o.len(), 5);
    assert_eq!(
        o.as_slice()[0],
        DhcpOption::Unknown {
            code: 0xfeed,
            data: vec![1, 2, 3]
        }
    );
    assert_eq!(o.preference(), Some(9));
    assert_eq!(o.count(OptionCode::Preference), 2);
    assert_eq!(
        o.find(OptionCode::Unknown(10)),
        Some(&DhcpOption::Unknown {
            code: 10,
            data: vec![]
        })
    );
}

#[test]
fn relay_and_message_headers() {
    // Relay Message option with an empty or too short body.
    let mut relay = vec![12, 0];
    relay.extend([0; 32]);
    let mut empty = relay.clone();
    empty.extend([0, 9, 0, 0]);
    let e = err(&empty);
    assert_eq!(
        (e.kind, e.offset, e.option),
        (
            DecodeErrorKind::Truncated { need: 1, have: 0 },
            38,
            Some(OptionCode::RelayMessage)
        )
    );
    let mut short = relay.clone();
    short.extend([0, 9, 0, 3, 1, 0, 0]);
    assert_eq!(
        err(&short).kind,
        DecodeErrorKind::Truncated { need: 4, have: 3 }
    );
    // An inner relay header cut short.
    let mut inner = relay.clone();
    inner.extend([0, 9, 0, 10, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(
        err(&inner).kind,
        DecodeErrorKind::Truncated { need: 34, have: 10 }
    );
    // Unknown message types use the client/server format (RFC 8415 §8).
    let msg = round_trip(&[200, 1, 2, 3, 0, 14, 0, 0]);
    assert_eq!(msg.msg_type(), MessageType::Unknown(200));
    assert!(msg.options().has_rapid_commit());
    // Relay-reply with an inner Relay-reply and Reply, built and parsed.
    let reply_msg: Message = ClientMessage::new(MessageType::Reply, Xid::new(5)).into();
    let inner: Message = RelayMessage::new(
        MessageType::RelayRepl,
        0,
        "2001:db8:a1::1".parse().unwrap(),
        "fe80::1".parse().unwrap(),
    )
    .with(DhcpOption::InterfaceId(b"eth0".to_vec()))
    .with(DhcpOption::RelayMessage(Box::new(reply_msg)))
    .into();
    let outer: Message = RelayMessage::new(
        MessageType::RelayRepl,
        1,
        "::".parse().unwrap(),
        "2001:db8:a2::1".parse().unwrap(),
    )
    .with(DhcpOption::RelayMessage(Box::new(inner)))
    .into();
    let parsed = round_trip(&outer.to_bytes());
    assert_eq!(parsed, outer);
    assert_eq!(parsed.innermost().unwrap().0.xid, Xid::new(5));
}

#[test]
fn newer_options_round_trip() {
    let msg: Message = ClientMessage::new(MessageType::Reply, Xid::new(0xabcdef))
        .with(DhcpOption::NtpServer(vec![
            NtpSuboption::ServerAddress("2001:db8::123".parse().unwrap()),
            NtpSuboption::MulticastAddress("ff05::101".parse().unwrap()),
            NtpSuboption::Fqdn("ntp.lab.example".parse().unwrap()),
            NtpSuboption::Unknown {
                code: 9,
                data: vec![1],
            },
        ]))
        .with(DhcpOption::RemoteId {
            enterprise: 4491,
            remote_id: b"port-7".to_vec(),
        })
        .with(DhcpOption::ClientLinkLayerAddress {
            hw_type: 1,
            address: vec![2, 0, 0, 0, 0, 1],
        })
        .with(DhcpOption::SolMaxRt(3600))
        .with(DhcpOption::InfMaxRt(86400))
        .with(DhcpOption::InformationRefreshTime(
            v6edge_wire::Lifetime::Infinite,
        ))
        .with(DhcpOption::ServerUnicast("2001:db8::1".parse().unwrap()))
        .with(DhcpOption::ReconfigureMessage(MessageType::Renew))
        .with(DhcpOption::ReconfigureAccept)
        .into();
    let bytes = msg.to_bytes();
    assert_eq!(round_trip(&bytes), msg);
    let o = msg.options();
    assert_eq!(o.sol_max_rt(), Some(3600));
    assert_eq!(o.inf_max_rt(), Some(86400));
    assert_eq!(o.remote_id(), Some((4491, &b"port-7"[..])));
    assert_eq!(
        o.information_refresh_time(),
        Some(v6edge_wire::Lifetime::Infinite)
    );
    assert_eq!(o.reconfigure_message(), Some(MessageType::Renew));
    // Information refresh time infinity is all ones on the wire (RFC 8415 §21.23).
    assert!(
        bytes
            .windows(8)
            .any(|w| w == [0, 32, 0, 4, 0xff, 0xff, 0xff, 0xff])
    );
    // NTP FQDN suboption must hold exactly one name.
    let bad = reply(&[0, 56, 0, 10, 0, 3, 0, 6, 1, b'a', 0, 1, b'b', 0]);
    let e = err(&bad);
    assert_eq!(e.option, Some(OptionCode::NtpServer));
    // NTP address suboption of the wrong size.
    let bad = reply(&[0, 56, 0, 5, 0, 1, 0, 1, 0]);
    assert_eq!(err(&bad).kind, DecodeErrorKind::BadLength { len: 1 });
}

#[test]
fn errors_display_kind_offset_and_option() {
    let e = err(&reply(&[0, 7, 0, 2, 1, 2]));
    assert_eq!(
        e.to_string(),
        "option length 2 not allowed at offset 4 in option 7 (Preference)"
    );
}
