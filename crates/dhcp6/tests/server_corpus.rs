//! The server against real clients' and relays' messages: Solicits,
//! Requests, Renews, Rebinds and Releases captured from ISC dhclient, WIDE
//! dhcp6c and Kea perfdhcp, and Relay-forwards from ISC dhcrelay and WIDE
//! dhcp6relay, one and two deep (crates/wire/tests/fixtures/dhcp6; index.tsv
//! names the capture, source and destination). Messages addressed to the
//! captured server get our Server Identifier; nothing else is changed.

mod captures;
#[path = "server_harness.rs"]
mod harness;

use captures::{RELAY_FORWARDS, fixture};
use harness::*;
use v6edge_dhcp6::server::{LinkSelector, ServerConfig};
use v6edge_wire::dhcp6::{ClientMessage, DhcpOption, Message, MessageType, StatusCode};

/// Puts our Server Identifier into the client message, at any depth.
fn readdress(m: &mut Message) {
    for o in m.options_mut().iter_mut() {
        match o {
            DhcpOption::ServerId(d) => *d = server_duid(),
            DhcpOption::RelayMessage(inner) => readdress(inner),
            _ => {}
        }
    }
}

/// Pools that hold what the captured clients ask for, so hints can be
/// honoured: ISC's 2001:db8:0:1::/64 addresses and 2001:db8:1ff::/56,
/// perfdhcp's 2001:db8:8000:200::/56, WIDE's 2001:db8:1200::/56, a /60 pool
/// for the hint60 captures; the relays' link 2001:db8:a1::/64 as in
/// [`config`], and no link by Interface-ID.
fn corpus_config() -> ServerConfig {
    let mut c = config();
    c.rapid_commit = true;
    c.options.dns_servers = vec![addr("2001:db8::53")];
    c.links.truncate(2);
    c.links[0] = link(
        LinkSelector::Interface(IF),
        &[("2001:db8:0:1::100", "2001:db8:0:1::1ff")],
        &[
            ("2001:db8:100::/40", 56),
            ("2001:db8:8000::/40", 56),
            ("2001:db8:1200::/40", 56),
            ("2001:db8:9000::/40", 60),
        ],
    );
    c
}

fn feed(h: &mut H, name: &str) -> (Message, Outs) {
    let (bytes, src) = fixture(name);
    let mut m = Message::parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    readdress(&mut m);
    let relayed = matches!(m, Message::Relay(_));
    let outs = if relayed {
        h.rx(RELAY_IF, src, SERVER_ADDR, &m.to_bytes())
    } else {
        h.rx(IF, src, ALL_SERVERS, &m.to_bytes())
    };
    (m, outs)
}

/// Every IA of `req` is answered in `ans` with the same IAID, holding a
/// live lease or a status.
fn every_ia_answered(name: &str, req: &ClientMessage, ans: &ClientMessage) {
    let got = &ans.options;
    // (kind, IAID, whether the answer holds a live lease or a status, it).
    let pds = req.options.ia_pds().map(|ia| {
        let a = got.ia_pds().find(|x| x.iaid == ia.iaid);
        let ok = a.map(|a| a.prefixes().any(|p| !p.valid.is_zero()) || a.status().is_some());
        ("IA_PD", ia.iaid, ok, format!("{a:?}"))
    });
    let nas = req.options.ia_nas().map(|ia| {
        let a = got.ia_nas().find(|x| x.iaid == ia.iaid);
        let ok = a.map(|a| a.addresses().any(|p| !p.valid.is_zero()) || a.status().is_some());
        ("IA_NA", ia.iaid, ok, format!("{a:?}"))
    });
    for (kind, iaid, ok, a) in pds.chain(nas) {
        let ok = ok.unwrap_or_else(|| panic!("{name}: {kind} {iaid} missing"));
        assert!(ok, "{name}: {a}");
    }
    assert_eq!(ans.xid, req.xid, "{name}");
    assert_eq!(got.client_id(), req.options.client_id(), "{name}");
    assert_eq!(got.server_id(), Some(&server_duid()), "{name}");
}

#[test]
fn captured_solicits_are_advertised_every_ia() {
    for name in [
        "isc-solicit-ia_na-ia_pd.bin",
        "isc-solicit-ia_na.bin",
        "isc-solicit-ia_na-ia_pd-hint60.bin",
        "wide-solicit-ia_na-ia_pd.bin",
        "wide-solicit-ia_pd.bin",
        "wide-solicit-ia_pd-auth.bin",
        "perfdhcp-solicit-ia_na-ia_pd.bin",
        "wide-solicit-ia_na-ia_pd-hint60-rapid-commit.bin",
    ] {
        let mut h = H::new(corpus_config());
        let (m, outs) = feed(&mut h, name);
        let req = m.innermost().unwrap().0.clone();
        let ans = outs.reply();
        let rapid = req.options.has_rapid_commit();
        assert_eq!(
            ans.msg_type,
            if rapid {
                MessageType::Reply
            } else {
                MessageType::Advertise
            },
            "{name}"
        );
        assert_eq!(
            outs.leases().is_empty(),
            !rapid,
            "{name}: only Rapid Commit commits"
        );
        every_ia_answered(name, &req, &ans);
        for ia in ans.options.ia_pds() {
            let p = ia
                .prefixes()
                .next()
                .unwrap_or_else(|| panic!("{name}: no prefix offered"));
            let want = if name.contains("hint60") { 60 } else { 56 };
            assert_eq!(p.prefix_len, want, "{name}: length hint");
        }
        // X21: DNS only to those who asked.
        assert_eq!(
            ans.options.dns_servers().is_some(),
            req.options
                .requests(v6edge_wire::dhcp6::OptionCode::DnsServers),
            "{name}"
        );
    }
}

#[test]
fn captured_requests_honour_hints_or_say_not_on_link() {
    let cases: &[(&str, Option<&str>, Result<&str, StatusCode>)] = &[
        (
            "isc-request-ia_na-ia_pd.bin",
            Some("2001:db8:1ff::/56"),
            Ok("2001:db8:0:1::130"),
        ),
        ("isc-request-ia_na.bin", None, Err(StatusCode::NotOnLink)),
        (
            "wide-request-ia_na-ia_pd.bin",
            Some("2001:db8:1200::/56"),
            Err(StatusCode::NotOnLink),
        ),
        (
            "wide-request-ia_pd-auth.bin",
            None,
            Err(StatusCode::Success),
        ),
        (
            "perfdhcp-request-ia_na-ia_pd.bin",
            Some("2001:db8:8000:200::/56"),
            Ok("2001:db8:0:1::102"),
        ),
    ];
    for &(name, prefix, na) in cases {
        let mut h = H::new(corpus_config());
        let (m, outs) = feed(&mut h, name);
        let req = m.innermost().unwrap().0.clone();
        let ans = outs.reply();
        assert_eq!(ans.msg_type, MessageType::Reply, "{name}");
        every_ia_answered(name, &req, &ans);
        if let Some(ia) = req.options.ia_pds().next() {
            let got = the_prefix(&ans, ia.iaid);
            match prefix {
                Some(p) => assert_eq!(got, pfx(p), "{name}: free hint in our pool"),
                None => assert_eq!(got.len(), 56, "{name}: /48 hint not ours: a pool /56"),
            }
        }
        if let Some(ia) = req.options.ia_nas().next() {
            match na {
                Ok(a) => assert_eq!(addresses(&ans, ia.iaid)[0].0, addr(a), "{name}"),
                Err(code) => assert_eq!(na_status(&ans, ia.iaid), Some(code), "{name}"),
            }
        }
        assert_eq!(
            outs.set_routes().len(),
            req.options.ia_pds().count(),
            "{name}: one route per prefix"
        );
    }
}

#[test]
fn isc_client_lifecycle_from_captures() {
    let mut h = H::new(corpus_config());
    let (_, outs) = feed(&mut h, "isc-solicit-ia_na-ia_pd.bin");
    assert_eq!(outs.reply().msg_type, MessageType::Advertise);
    let (_, outs) = feed(&mut h, "isc-request-ia_na-ia_pd.bin");
    assert_eq!(outs.upserts().len(), 2);
    h.advance(secs(900));
    let (m, outs) = feed(&mut h, "isc-renew-ia_na-ia_pd.bin");
    let iaid = m
        .innermost()
        .unwrap()
        .0
        .options
        .ia_pds()
        .next()
        .unwrap()
        .iaid;
    assert_eq!(
        prefixes(&outs.reply(), iaid),
        vec![(pfx("2001:db8:1ff::/56"), 1800, 3600)]
    );
    h.advance(secs(900));
    let (_, outs) = feed(&mut h, "isc-rebind-ia_na-ia_pd.bin");
    assert_eq!(
        addresses(&outs.reply(), iaid),
        vec![(addr("2001:db8:0:1::130"), 3600, 7200)]
    );
    let (_, outs) = feed(&mut h, "isc-release-ia_na-ia_pd.bin");
    assert_eq!(top_status(&outs.reply()), Some(StatusCode::Success));
    assert_eq!(outs.removes().len(), 2);
    assert_eq!(outs.del_routes().len(), 1);
    assert_eq!(h.s.status().leases, 0);
    // A Renew for what is gone: NoBinding.
    let (_, outs) = feed(&mut h, "wide-renew-ia_pd.bin");
    assert_eq!(pd_status(&outs.reply(), 0), Some(StatusCode::NoBinding));
}

#[test]
fn captured_relay_forwards_are_answered_layer_for_layer() {
    for name in RELAY_FORWARDS {
        let mut h = H::new(corpus_config());
        let (_, src) = fixture(name);
        let (m, outs) = feed(&mut h, name);
        let t = outs.transmits()[0].clone();
        assert_eq!(
            (t.dst, t.ifindex),
            (src, RELAY_IF),
            "{name}: back to the relay it came from"
        );
        assert!(udp_to(&t, 547), "{name}");
        // Walk both chains together: each Relay-reply mirrors its
        // Relay-forward (RFC 8415 §19.3).
        let sent = outs.sent().unwrap();
        let (mut fwd, mut rep) = (&m, &sent);
        let mut layers = 0;
        while let (Message::Relay(f), Message::Relay(r)) = (fwd, rep) {
            assert_eq!(r.msg_type, MessageType::RelayRepl, "{name}");
            assert_eq!(
                (r.hop_count, r.link_address, r.peer_address),
                (f.hop_count, f.link_address, f.peer_address),
                "{name}"
            );
            assert_eq!(r.options.interface_id(), f.options.interface_id(), "{name}");
            fwd = f.relay_message().unwrap();
            rep = r.relay_message().unwrap();
            layers += 1;
        }
        let want = if name.contains("x2") { 2 } else { 1 };
        assert_eq!(layers, want, "{name}");
        let (Message::Client(req), Message::Client(ans)) = (fwd, rep) else {
            panic!("{name}: depth differs")
        };
        every_ia_answered(name, req, ans);
        let ia = req.options.ia_pds().next().unwrap();
        let p = the_prefix(ans, ia.iaid);
        assert!(
            pfx("2001:db8:b000::/40").contains(&p),
            "{name}: the relayed link's pool, got {p}"
        );
        if req.msg_type == MessageType::Request {
            // The captured Requests ask for what Kea offered from the same
            // pools (2001:db8:b000::/56, 2001:db8:b000:100::/56): honoured.
            let asked = ia.prefixes().next().unwrap();
            assert_eq!(
                (p.addr(), p.len()),
                (asked.prefix, asked.prefix_len),
                "{name}"
            );
            let na = req.options.ia_nas().next().unwrap();
            let want = na.addresses().next().unwrap().addr;
            assert_eq!(addresses(ans, na.iaid)[0].0, want, "{name}");
            let r = outs.set_routes()[0].clone();
            assert_eq!(
                (r.gateway, r.ifindex),
                (Some(src), Some(RELAY_IF)),
                "{name}: route via the relay"
            );
        }
    }
}
