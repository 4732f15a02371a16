//! The client against real servers' answers: Advertise and Reply messages
//! captured from Kea, ISC dhcpd and WIDE dhcp6s (crates/wire/tests/fixtures/
//! dhcp6, index.tsv names the capture), with the transaction id and Client
//! Identifier rewritten to the client under test. Everything else, option
//! order and server quirks included, stays as the server sent it.

mod captures;
mod common;

use common::*;
use std::collections::BTreeSet;
use v6edge_dhcp6::client::{ClientConfig, ClientStateKind, DropReason, IaNaConfig, IaPdConfig};
use v6edge_prefix::Prefix;
use v6edge_wire::dhcp6::{ClientMessage, DhcpOption, Message, MessageType};

fn fixture(name: &str) -> ClientMessage {
    match Message::parse(&captures::bytes(name)) {
        Ok(Message::Client(m)) => m,
        other => panic!("{name}: not a client/server message: {other:?}"),
    }
}

/// The fixture re-addressed to the exchange `to` of our client.
fn readdress(mut m: ClientMessage, to: &Sent) -> ClientMessage {
    m.xid = to.xid();
    for o in m.options.iter_mut() {
        if let DhcpOption::ClientId(d) = o {
            *d = client_duid();
        }
    }
    m
}

/// A config with the IAIDs the captured server answered for.
fn config_for(m: &ClientMessage, rapid: bool) -> ClientConfig {
    let mut c = pd_config();
    c.ia_pds = m
        .options
        .ia_pds()
        .map(|ia| IaPdConfig {
            iaid: ia.iaid,
            hint_len: None,
            hint_prefix: None,
        })
        .collect();
    c.ia_na = m
        .options
        .ia_nas()
        .next()
        .map(|ia| IaNaConfig { iaid: ia.iaid });
    c.rapid_commit = rapid;
    c
}

fn delegated(m: &ClientMessage) -> BTreeSet<Prefix> {
    m.options
        .ia_pds()
        .flat_map(|ia| ia.prefixes())
        .filter_map(|p| Prefix::new(p.prefix, p.prefix_len).ok())
        .collect()
}

#[test]
fn real_advertise_and_reply_bind() {
    for (adv, rep) in [
        (
            "kea-advertise-ia_na-ia_pd.bin",
            "kea-reply-request-ia_na-ia_pd.bin",
        ),
        (
            "isc-advertise-ia_na-ia_pd.bin",
            "isc-reply-request-ia_na-ia_pd.bin",
        ),
        (
            "wide-advertise-ia_na-ia_pd.bin",
            "wide-reply-request-ia_na-ia_pd.bin",
        ),
        // WIDE with delayed authentication (protocol 2): not ours to check,
        // the binding still works.
        (
            "wide-advertise-ia_pd-auth.bin",
            "wide-reply-request-ia_pd-auth.bin",
        ),
    ] {
        let adv_msg = fixture(adv);
        let rep_msg = fixture(rep);
        let mut h = Harness::new(config_for(&adv_msg, false), 40);
        let sol = h.start();
        h.deliver(readdress(adv_msg.clone(), &sol));
        h.advance(secs(2));
        let req = h
            .sent_of(MessageType::Request)
            .first()
            .copied()
            .cloned()
            .unwrap_or_else(|| panic!("{adv}: no Request"));
        assert_eq!(
            req.msg.options.server_id(),
            adv_msg.options.server_id(),
            "{adv}"
        );
        h.deliver(readdress(rep_msg.clone(), &req));
        assert_eq!(h.c.status(h.now).state, ClientStateKind::Bound, "{rep}");
        let l = h.leases().unwrap_or_else(|| panic!("{rep}: no Changed"));
        let got: BTreeSet<Prefix> = l.prefixes.iter().map(|p| p.prefix).collect();
        assert_eq!(got, delegated(&rep_msg), "{rep}");
        assert!(!got.is_empty(), "{rep}");
        let addrs = rep_msg
            .options
            .ia_nas()
            .flat_map(|ia| ia.addresses())
            .count();
        assert_eq!(l.addresses.len(), addrs, "{rep}");
        assert_eq!(l.server_duid.as_ref(), rep_msg.options.server_id(), "{rep}");
        assert_eq!(
            l.dns_servers,
            rep_msg.options.dns_servers().unwrap_or(&[]).to_vec(),
            "{rep}"
        );
        assert_eq!(h.c.counters().dropped_total(), 0, "{rep}");
    }
}

#[test]
fn real_rapid_commit_reply_binds() {
    let rep = fixture("kea-reply-solicit-ia_na-ia_pd-rapid-commit.bin");
    assert!(rep.options.has_rapid_commit());
    let mut h = Harness::new(config_for(&rep, true), 41);
    let sol = h.start();
    h.deliver(readdress(rep.clone(), &sol));
    assert_eq!(h.c.status(h.now).state, ClientStateKind::Bound);
    let got: BTreeSet<Prefix> = h
        .leases()
        .unwrap()
        .prefixes
        .iter()
        .map(|p| p.prefix)
        .collect();
    assert_eq!(got, delegated(&rep));
    assert!(h.sent_of(MessageType::Request).is_empty());
}

#[test]
fn real_renew_replies_extend() {
    for (adv, rep, renew_rep) in [
        (
            "isc-advertise-ia_na-ia_pd.bin",
            "isc-reply-request-ia_na-ia_pd.bin",
            "isc-reply-renew-ia_na-ia_pd.bin",
        ),
        (
            "wide-advertise-ia_na-ia_pd.bin",
            "wide-reply-request-ia_na-ia_pd.bin",
            "wide-reply-renew-ia_pd.bin",
        ),
    ] {
        let adv_msg = fixture(adv);
        let mut h = Harness::new(config_for(&adv_msg, false), 42);
        let sol = h.start();
        h.deliver(readdress(adv_msg, &sol));
        h.advance(secs(2));
        let req = h.sent_of(MessageType::Request)[0].clone();
        h.deliver(readdress(fixture(rep), &req));
        let before = h.leases().unwrap().prefixes.clone();
        let t1 = h.c.poll_timeout().expect("a renewal is scheduled");
        h.advance_to(t1);
        let renew = h.last().clone();
        assert_eq!(renew.ty(), MessageType::Renew, "{renew_rep}");
        h.advance(secs(1));
        h.deliver(readdress(fixture(renew_rep), &renew));
        assert_eq!(
            h.c.status(h.now).state,
            ClientStateKind::Bound,
            "{renew_rep}"
        );
        let after = &h.leases().unwrap().prefixes;
        assert_eq!(after.len(), before.len(), "{renew_rep}");
        for (a, b) in after.iter().zip(&before) {
            assert_eq!(a.prefix, b.prefix);
            assert!(
                a.valid_until >= b.valid_until,
                "{renew_rep}: lifetimes refreshed"
            );
        }
    }
}

#[test]
fn real_noprefixavail_advertise_is_ignored() {
    // KAME X16: WIDE's dhcp6s signals NoPrefixAvail at top level.
    let adv = fixture("wide-advertise-noprefixavail.bin");
    let mut cfg = pd_config();
    if let Some(ia) = adv.options.ia_pds().next() {
        cfg.ia_pds[0].iaid = ia.iaid;
    }
    let mut h = Harness::new(cfg, 43);
    let sol = h.start();
    h.deliver(readdress(adv, &sol));
    h.advance(secs(3));
    assert!(h.sent_of(MessageType::Request).is_empty());
    assert_eq!(
        h.c.counters().dropped(DropReason::NothingOffered)
            + h.c.counters().dropped(DropReason::StatusFailure),
        1
    );
    assert_eq!(h.c.status(h.now).state, ClientStateKind::Soliciting);
}
