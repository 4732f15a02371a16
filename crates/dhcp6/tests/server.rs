//! The DHCPv6 server machine against fake clients and relays written here
//! with the codec: every scenario runs at explicit instants and checks the
//! answer, the lease operations, the routes and the counters.

#[path = "server_harness.rs"]
mod harness;

use harness::*;
use v6edge_core::{KernelOp, RouteType};
use v6edge_dhcp6::server::{
    DropReason, LeaseEvent, LeaseKind, LeaseOp, LifetimeEnds, LinkId, PrefixPool, Reservation,
    Server, ServerConfigError, ServerOutput,
};
use v6edge_prefix::Prefix;
use v6edge_wire::dhcp6::{
    DhcpOption, IaTa, Message, MessageType, OptionCode, RelayMessage, StatusCode,
};

/// A server with [`config`] that has delegated a /56 to client 1's IA_PD 1
/// (Solicit, Request).
fn bound_one() -> (H, Client, Prefix) {
    let mut h = H::new(config());
    let cl = Client::new(1);
    let p = the_prefix(&h.bind(&cl, vec![pd(1, &[])]), 1);
    (h, cl, p)
}

// ------------------------------------------------------------- exchanges --

#[test]
fn solicit_advertise_request_reply_delegates_and_routes() {
    let mut c = config();
    c.preference = 200;
    let mut h = H::new(c);
    let cl = Client::new(1);
    let outs = h.solicit(&cl, 0x10, vec![pd(1, &["::/56"])]);
    // KAME X15: an Advertise commits nothing.
    assert!(
        outs.leases().is_empty() && outs.kernel().is_empty(),
        "{outs:?}"
    );
    let t = outs.transmits()[0].clone();
    assert_eq!((t.ifindex, t.dst, t.src), (IF, cl.ll, None));
    assert!(udp_to(&t, 546));
    let adv = outs.reply();
    assert_eq!(adv.msg_type, MessageType::Advertise);
    assert_eq!(adv.xid.as_u32(), 0x10);
    assert_eq!(adv.options.server_id(), Some(&server_duid()));
    assert_eq!(adv.options.client_id(), Some(&cl.duid));
    assert_eq!(adv.options.preference(), Some(200));
    assert_eq!(
        prefixes(&adv, 1),
        vec![(pfx("2001:db8:100::/56"), 1800, 3600)]
    );
    assert_eq!(h.s.status().leases, 0);

    let outs = h.request(&cl, 0x11, vec![pd(1, &["2001:db8:100::/56"])]);
    let reply = outs.reply();
    assert_eq!(reply.msg_type, MessageType::Reply);
    assert_eq!(
        reply.options.preference(),
        None,
        "Preference only in Advertise"
    );
    assert_eq!(
        prefixes(&reply, 1),
        vec![(pfx("2001:db8:100::/56"), 1800, 3600)]
    );
    let ia = reply.options.ia_pds().next().unwrap();
    assert_eq!(
        (ia.t1, ia.t2),
        (900, 1440),
        "0.5 / 0.8 of the preferred lifetime"
    );
    // Contract: Upsert, then the Reply, then the route.
    match &outs.all[..] {
        [
            ServerOutput::Lease(LeaseOp::Upsert(l)),
            ServerOutput::Transmit(_),
            ServerOutput::Kernel(KernelOp::SetRoute(r)),
            ServerOutput::Notice(n),
        ] => {
            assert_eq!(
                (l.prefix, l.iaid, l.kind),
                (pfx("2001:db8:100::/56"), 1, LeaseKind::Prefix)
            );
            assert_eq!(l.duid, cl.duid);
            assert_eq!(l.valid_until, h.now + secs(3600));
            assert_eq!(l.preferred_until, h.now + secs(1800));
            assert_eq!(
                (l.link, l.next_hop, l.ifindex),
                (LinkId::Interface(IF), Some(cl.ll), IF)
            );
            assert_eq!(l.hw_addr, None, "direct client: its DUID-LL holds it");
            assert_eq!(r.dst, l.prefix);
            assert_eq!(
                (r.kind, r.gateway, r.ifindex, r.metric),
                (RouteType::Unicast, Some(cl.ll), Some(IF), 1024)
            );
            assert_eq!(r.expires, Some(secs(3600)));
            assert_eq!(n.event, LeaseEvent::Granted);
        }
        other => panic!("unexpected outputs {other:?}"),
    }
    let st = h.s.status();
    assert_eq!(st.leases, 1);
    assert_eq!(st.counters.leases_granted, 1);
    assert_eq!(st.counters.received(MessageType::Solicit), 1);
    assert_eq!(st.counters.sent(MessageType::Advertise), 1);
    assert_eq!(st.counters.sent(MessageType::Reply), 1);
    let pool = st
        .pools
        .iter()
        .find(|p| p.pool == "2001:db8:100::/48 /56")
        .unwrap();
    assert_eq!((pool.capacity, pool.used), (256, 1));
    assert_eq!(h.s.poll_timeout(), Some(h.now + secs(3600)));
}

#[test]
fn request_is_idempotent_and_solicit_offers_the_binding() {
    let mut h = H::new(config());
    let cl = Client::new(1);
    let r1 = h.bind(&cl, vec![pd(1, &[]), na(2, &[])]);
    let p = the_prefix(&r1, 1);
    let a = addresses(&r1, 2)[0].0;
    assert_eq!(a, addr("2001:db8:1::100"));
    // A retransmitted Request gets the same binding back, extended.
    let outs = h.request(&cl, 9, vec![pd(1, &[]), na(2, &[])]);
    let r2 = outs.reply();
    assert_eq!(the_prefix(&r2, 1), p);
    assert_eq!(addresses(&r2, 2)[0].0, a);
    assert_eq!(h.s.status().leases, 2);
    assert_eq!(h.s.status().counters.leases_renewed, 2);
    // A new Solicit is offered the same, without touching the binding.
    let outs = h.solicit(&cl, 10, vec![pd(1, &[])]);
    assert!(outs.leases().is_empty());
    assert_eq!(the_prefix(&outs.reply(), 1), p);
}

#[test]
fn advertises_commit_nothing_and_offer_what_request_gets() {
    let mut h = H::new(config());
    let (a, b) = (Client::new(1), Client::new(2));
    let adv_a = h.solicit(&a, 1, vec![pd(1, &[]), pd(2, &[])]).reply();
    // Two IA_PDs in one Solicit get two different offers.
    let (pa1, pa2) = (the_prefix(&adv_a, 1), the_prefix(&adv_a, 2));
    assert_ne!(pa1, pa2);
    let adv_b = h.solicit(&b, 1, vec![pd(1, &[])]).reply();
    assert_eq!(
        the_prefix(&adv_b, 1),
        pa1,
        "nothing was taken by the Advertise"
    );
    let st = h.s.status();
    assert_eq!(
        (st.leases, st.pools.iter().map(|p| p.used).sum::<u128>()),
        (0, 0)
    );
    // A Request without hints gets what the Advertise offered.
    let rep = h.request(&a, 2, vec![pd(1, &[]), pd(2, &[])]).reply();
    assert_eq!((the_prefix(&rep, 1), the_prefix(&rep, 2)), (pa1, pa2));
}

#[test]
fn rapid_commit_only_when_both_want_it() {
    let cl = Client::new(1);
    let sol = cl.msg(
        MessageType::Solicit,
        5,
        vec![DhcpOption::RapidCommit, pd(1, &[])],
    );
    let mut h = H::new(config());
    let outs = h.send(&cl, sol.clone());
    assert_eq!(
        outs.reply().msg_type,
        MessageType::Advertise,
        "server not configured"
    );
    assert!(outs.leases().is_empty());

    let mut c = config();
    c.rapid_commit = true;
    let mut h = H::new(c);
    let outs = h.send(&cl, sol);
    let r = outs.reply();
    assert_eq!(r.msg_type, MessageType::Reply);
    assert!(r.options.has_rapid_commit());
    assert_eq!(outs.upserts(), vec![the_prefix(&r, 1)]);
    assert_eq!(outs.set_routes().len(), 1);
    // Without the client's Rapid Commit: an Advertise.
    let c2 = Client::new(2);
    assert_eq!(
        h.solicit(&c2, 6, vec![pd(1, &[])]).reply().msg_type,
        MessageType::Advertise
    );
}

// ------------------------------------------------------------ validation --

#[test]
fn rfc8415_section16_validation_drops() {
    let mut h = H::new(config());
    let cl = Client::new(1);
    let cases: Vec<(Message, DropReason)> = vec![
        (
            v6edge_wire::dhcp6::ClientMessage::new(
                MessageType::Solicit,
                v6edge_wire::dhcp6::Xid::new(1),
            )
            .with(pd(1, &[]))
            .into(),
            DropReason::NoClientId,
        ),
        (
            cl.to_server(MessageType::Solicit, 1, vec![pd(1, &[])])
                .into(),
            DropReason::UnexpectedServerId,
        ),
        (
            cl.to_server(MessageType::Rebind, 1, vec![pd(1, &[])])
                .into(),
            DropReason::UnexpectedServerId,
        ),
        (
            cl.to_server(MessageType::Confirm, 1, vec![na(1, &["2001:db8:1::100"])])
                .into(),
            DropReason::UnexpectedServerId,
        ),
        (
            cl.msg(MessageType::Request, 1, vec![pd(1, &[])]).into(),
            DropReason::MissingServerId,
        ),
        (
            cl.msg(MessageType::Renew, 1, vec![pd(1, &[])]).into(),
            DropReason::MissingServerId,
        ),
        (
            cl.msg(
                MessageType::Release,
                1,
                vec![
                    DhcpOption::ServerId(v6edge_wire::dhcp6::Duid::new_ll(1, &[9; 6])),
                    pd(1, &[]),
                ],
            )
            .into(),
            DropReason::WrongServerId,
        ),
        (
            cl.msg(MessageType::InformationRequest, 1, vec![pd(1, &[])])
                .into(),
            DropReason::IaInInformationRequest,
        ),
        (
            cl.msg(MessageType::Advertise, 1, vec![]).into(),
            DropReason::NotForServer,
        ),
        (
            cl.msg(MessageType::Unknown(99), 1, vec![]).into(),
            DropReason::UnknownType,
        ),
        (
            RelayMessage::new(MessageType::RelayForw, 0, RELAY_LINK, cl.ll).into(),
            DropReason::RelayWithoutMessage,
        ),
    ];
    for (m, reason) in cases {
        let before = h.s.counters().dropped(reason);
        let outs = h.rx(IF, cl.ll, ALL_SERVERS, &m.to_bytes());
        assert!(outs.all.is_empty(), "{reason:?}: answered {outs:?}");
        assert_eq!(h.s.counters().dropped(reason), before + 1, "{reason:?}");
    }
    assert_eq!(h.s.status().leases, 0);
}

#[test]
fn truncated_messages_are_never_answered() {
    let mut h = H::new(config());
    let cl = Client::new(1);
    let bytes =
        Message::Client(cl.msg(MessageType::Solicit, 1, vec![pd(1, &["::/56"]), na(2, &[])]))
            .to_bytes();
    // Cuts at option boundaries are shorter valid messages; every other
    // cut must be dropped, unanswered.
    let mut cut = 0;
    for len in 0..bytes.len() {
        if Message::parse(&bytes[..len]).is_ok() {
            continue;
        }
        cut += 1;
        let outs = h.rx(IF, cl.ll, ALL_SERVERS, &bytes[..len]);
        assert!(outs.all.is_empty(), "answered a Solicit cut at {len}");
    }
    assert!(cut > bytes.len() / 2);
    // Inner truncation: the IA_PD's length claims less than it holds.
    let mut inner = bytes.clone();
    let at = inner.windows(2).position(|w| w == [0, 25]).unwrap();
    inner[at + 3] -= 1;
    assert!(h.rx(IF, cl.ll, ALL_SERVERS, &inner).all.is_empty());
    assert_eq!(h.s.counters().dropped(DropReason::Parse), cut as u64 + 1);
    assert!(
        !h.rx(IF, cl.ll, ALL_SERVERS, &bytes).all.is_empty(),
        "whole one answered"
    );
}

#[test]
fn unicast_discarded_or_told_to_multicast() {
    let mut h = H::new(config());
    let cl = Client::new(1);
    for t in [
        MessageType::Solicit,
        MessageType::Rebind,
        MessageType::Confirm,
        MessageType::InformationRequest,
    ] {
        let outs = h.send_unicast(&cl, cl.msg(t, 1, vec![]));
        assert!(outs.all.is_empty(), "{t:?} by unicast must be discarded");
    }
    assert_eq!(h.s.counters().dropped(DropReason::UnicastNotAllowed), 4);
    // RFC 8415 §18.4: Reply with UseMulticast, identifiers, nothing else.
    let outs = h.send_unicast(&cl, cl.to_server(MessageType::Request, 7, vec![pd(1, &[])]));
    let r = outs.reply();
    assert_eq!(r.msg_type, MessageType::Reply);
    assert_eq!(top_status(&r), Some(StatusCode::UseMulticast));
    assert_eq!(r.options.len(), 3, "{r:?}");
    assert!(outs.leases().is_empty());
    assert_eq!(h.s.counters().use_multicast, 1);
    // With unicast allowed the Request is served.
    let mut c = config();
    c.unicast = true;
    let mut h = H::new(c);
    let r = h
        .send_unicast(&cl, cl.to_server(MessageType::Request, 7, vec![pd(1, &[])]))
        .reply();
    assert_eq!(the_prefix(&r, 1), pfx("2001:db8:100::/56"));
}

// ------------------------------------------------------- renew, rebind --

#[test]
fn renew_extends_and_handles_unknown_and_foreign_leases() {
    let (mut h, cl, p) = bound_one();
    h.advance(secs(900));
    let held = p.to_string();
    let asked = [
        held.as_str(),
        "2001:db8:100:ff00::/56",
        "2001:db8:9999::/56",
    ];
    let outs = h.renew(&cl, 3, vec![pd(1, &asked)]);
    let r = outs.reply();
    let got = prefixes(&r, 1);
    // Ours extended; the other prefix in our pool (not this IA's) and the
    // one from nowhere: lifetimes 0 (§18.3.4).
    assert!(got.contains(&(p, 1800, 3600)), "{got:?}");
    assert!(got.contains(&(pfx("2001:db8:100:ff00::/56"), 0, 0)));
    assert!(got.contains(&(pfx("2001:db8:9999::/56"), 0, 0)));
    assert_eq!(outs.upserts(), vec![p]);
    match &outs.leases()[0] {
        LeaseOp::Upsert(l) => assert_eq!(l.valid_until, h.now + secs(3600)),
        other => panic!("{other:?}"),
    }
    assert_eq!(outs.set_routes()[0].expires, Some(secs(3600)));
    assert_eq!(h.s.status().counters.leases_renewed, 1);
    // An IA the server does not know: NoBinding (Renew creates nothing).
    let r = h
        .renew(&cl, 4, vec![pd(7, &["2001:db8:100:ff00::/56"])])
        .reply();
    assert_eq!(pd_status(&r, 7), Some(StatusCode::NoBinding));
    assert!(
        prefixes(&r, 7).is_empty(),
        "appropriate but unbound: not listed"
    );
    assert_eq!(h.s.status().leases, 1);
}

#[test]
fn rebind_extends_recreates_zeroes_or_stays_silent() {
    let (mut h, cl, p) = bound_one();
    let r = h.rebind(&cl, 3, vec![holding(1, p)]).reply();
    assert_eq!(prefixes(&r, 1), vec![(p, 1800, 3600)]);

    // A fresh server (state lost): a free prefix of this link is bound
    // again, one from elsewhere gets lifetimes 0.
    let mut h2 = H::new(config());
    let outs = h2.rebind(&cl, 4, vec![holding(1, p), pd(2, &["2001:db8:b000::/56"])]);
    let r = outs.reply();
    assert_eq!(prefixes(&r, 1), vec![(p, 1800, 3600)]);
    assert_eq!(
        prefixes(&r, 2),
        vec![(pfx("2001:db8:b000::/56"), 0, 0)],
        "relay link's prefix is not for this link"
    );
    assert_eq!(outs.upserts(), vec![p]);
    assert_eq!(outs.set_routes().len(), 1);
    // Held by someone else: lifetimes 0 for this client.
    let other = Client::new(2);
    let r = h2.rebind(&other, 5, vec![holding(1, p)]).reply();
    assert_eq!(prefixes(&r, 1), vec![(p, 0, 0)]);
    assert_eq!(
        h2.s.leases()
            .filter(|l| l.prefix == p)
            .map(|l| l.duid.clone())
            .collect::<Vec<_>>(),
        vec![cl.duid.clone()]
    );
    // Nothing to judge: no Reply at all.
    let outs = h2.rebind(&other, 6, vec![pd(3, &["::/56"])]);
    assert!(outs.all.is_empty());
    assert_eq!(h2.s.counters().dropped(DropReason::RebindUnknown), 1);
}

// -------------------------------------------------- release and decline --

#[test]
fn release_removes_lease_and_route() {
    let (mut h, cl, p) = bound_one();
    let outs = h.release(&cl, 5, vec![holding(1, p), pd(9, &[])]);
    let r = outs.reply();
    assert_eq!(top_status(&r), Some(StatusCode::Success));
    assert_eq!(pd_status(&r, 9), Some(StatusCode::NoBinding));
    assert!(
        r.options.ia_pds().all(|ia| ia.iaid == 9),
        "released IAs are not echoed"
    );
    assert_eq!(outs.removes(), vec![p]);
    let del = outs.del_routes();
    assert_eq!((del.len(), del[0].dst, del[0].gateway), (1, p, Some(cl.ll)));
    assert_eq!(outs.notices()[0].event, LeaseEvent::Released);
    let st = h.s.status();
    assert_eq!((st.leases, st.counters.leases_released), (0, 1));
    assert_eq!(st.pools.iter().map(|p| p.used).sum::<u128>(), 0);
    assert_eq!(h.s.poll_timeout(), None);
}

#[test]
fn a_clone_is_an_independent_server_in_the_same_state() {
    let (mut h, cl, p) = bound_one();
    let mut copy = H {
        s: h.s.clone(),
        now: h.now,
    };
    // The copy releases; the original keeps the lease and its route.
    assert_eq!(copy.release(&cl, 5, vec![holding(1, p)]).removes(), vec![p]);
    assert_eq!(copy.s.leases().count(), 0);
    assert_eq!(h.s.leases().map(|l| l.prefix).collect::<Vec<_>>(), vec![p]);
    // The original still renews it, and the copy gives the same prefix to
    // the same client again (same seeded allocator state).
    let r = h.renew(&cl, 6, vec![holding(1, p)]).reply();
    assert_eq!(the_lease(&r, 1).0, p);
    assert_eq!(the_prefix(&copy.bind(&cl, vec![pd(1, &[])]), 1), p);
}

#[test]
fn decline_quarantines_the_address() {
    let mut h = H::new(config());
    let cl = Client::new(1);
    let a = addresses(&h.bind(&cl, vec![na(1, &[])]), 1)[0].0;
    let outs = h.decline(&cl, 5, vec![na(1, &[&a.to_string()])]);
    assert_eq!(top_status(&outs.reply()), Some(StatusCode::Success));
    assert_eq!(outs.removes(), vec![pfx(&format!("{a}/128"))]);
    assert!(outs.del_routes().is_empty(), "addresses have no route");
    let st = h.s.status();
    assert_eq!(
        (st.leases, st.declined, st.counters.leases_declined),
        (0, 1, 1)
    );
    let used = |h: &H| {
        h.s.status()
            .pools
            .iter()
            .find(|p| {
                p.kind == LeaseKind::Address
                    && p.link == v6edge_dhcp6::server::LinkSelector::Interface(IF)
            })
            .unwrap()
            .used
    };
    assert_eq!(used(&h), 1, "still out of the pool");
    // Others do not get it while in probation.
    let other = Client::new(2);
    let got = addresses(&h.bind(&other, vec![na(1, &[&a.to_string()])]), 1)[0].0;
    assert_ne!(got, a);
    assert_eq!(h.s.poll_timeout(), Some(h.now + secs(7200)));
    h.advance(secs(86_400));
    assert_eq!(h.s.status().declined, 0);
    assert_eq!(used(&h), 0, "probation over, and the other lease expired");
}

// ---------------------------------------------------- confirm, info-req --

#[test]
fn confirm_success_not_on_link_or_silence() {
    let mut h = H::new(config());
    let cl = Client::new(1);
    let r = h.confirm(&cl, 1, vec![na(1, &["2001:db8:1::150"])]).reply();
    assert_eq!(top_status(&r), Some(StatusCode::Success));
    let r = h
        .confirm(
            &cl,
            2,
            vec![na(1, &["2001:db8:1::150", "2001:db8:a1::150"])],
        )
        .reply();
    assert_eq!(top_status(&r), Some(StatusCode::NotOnLink));
    assert!(h.confirm(&cl, 3, vec![na(1, &[])]).all.is_empty());
    assert_eq!(h.s.counters().dropped(DropReason::ConfirmUndecidable), 1);
}

#[test]
fn information_request_only_what_the_oro_asks() {
    let mut c = config();
    c.options.dns_servers = vec![addr("2001:db8::53")];
    c.options.domains = vec!["example.net".into()];
    c.options.information_refresh = Some(secs(7200));
    c.options.sol_max_rt = Some(secs(7200));
    c.options.inf_max_rt = Some(secs(3600));
    let mut h = H::new(c);
    let mut cl = Client::new(1);
    // KAME X21: no ORO, no options.
    let r = h.information_request(&cl, 1, vec![]).reply();
    assert_eq!(r.options.len(), 2, "{r:?}");
    cl.oro = vec![
        OptionCode::DnsServers,
        OptionCode::InformationRefreshTime,
        OptionCode::InfMaxRt,
    ];
    let r = h.information_request(&cl, 2, vec![]).reply();
    assert_eq!(r.options.dns_servers(), Some(&[addr("2001:db8::53")][..]));
    assert!(r.options.domain_list().is_none());
    assert_eq!(
        r.options.information_refresh_time().map(|l| l.to_wire()),
        Some(7200)
    );
    assert_eq!(r.options.inf_max_rt(), Some(3600));
    // Client Identifier is optional in Information-request.
    let anon = v6edge_wire::dhcp6::ClientMessage::new(
        MessageType::InformationRequest,
        v6edge_wire::dhcp6::Xid::new(3),
    )
    .with(DhcpOption::Oro(vec![OptionCode::DomainList]));
    let r = h.send(&cl, anon).reply();
    assert_eq!(r.options.client_id(), None);
    assert_eq!(r.options.domain_list().map(|d| d.len()), Some(1));
    // In an Advertise: SOL_MAX_RT when asked, never IRT or INF_MAX_RT.
    cl.oro = vec![
        OptionCode::SolMaxRt,
        OptionCode::InformationRefreshTime,
        OptionCode::DomainList,
    ];
    let r = h.solicit(&cl, 4, vec![pd(1, &[])]).reply();
    assert_eq!(r.options.sol_max_rt(), Some(7200));
    assert!(r.options.information_refresh_time().is_none());
    assert!(r.options.dns_servers().is_none());
    assert_eq!(
        r.options.domain_list().map(|d| d[0].as_str().to_string()),
        Some("example.net".into())
    );
}

// --------------------------------------------------------------- hints --

#[test]
fn hints_exact_then_length_then_pool_length() {
    let mut c = config();
    let sixties = prefix_pool("2001:db8:200::/48", 60);
    c.links[0].prefix_pools.push(sixties);
    let mut h = H::new(c);
    let (a, b) = (Client::new(1), Client::new(2));
    // The prefix client `c` is bound to after hinting `hint` in IA_PD `iaid`.
    let mut granted =
        |c: &Client, iaid: u32, hint: &str| the_prefix(&h.bind(c, vec![pd(iaid, &[hint])]), iaid);
    let hint = "2001:db8:100:4200::/56";
    let exact = pfx(hint);
    assert_eq!(granted(&a, 1, hint), exact, "free exact hint honoured");
    assert_ne!(granted(&b, 1, hint), exact, "taken: another one");
    let sixty = pfx("2001:db8:200::/60");
    assert_eq!(
        granted(&b, 2, "::/60"),
        sixty,
        "the pool of the hinted length"
    );
    let p3 = granted(&b, 3, "::/52");
    assert_eq!(p3.len(), 56, "no /52 pool: the first pool's length");
    // An exact hint outside the link's pools is only a hint.
    let p4 = granted(&b, 4, "2001:db8:b000::/56");
    assert_eq!(p4.len(), 56);
    assert!(pfx("2001:db8:100::/48").contains(&p4));
}

#[test]
fn ia_na_and_several_ia_pds_per_client() {
    let mut h = H::new(config());
    let cl = Client::new(1);
    let r = h.bind(&cl, vec![na(1, &[]), pd(2, &[]), pd(3, &[]), pd(4, &[])]);
    let ps = [the_prefix(&r, 2), the_prefix(&r, 3), the_prefix(&r, 4)];
    assert!(ps[0] != ps[1] && ps[1] != ps[2] && ps[0] != ps[2]);
    assert_eq!(addresses(&r, 1).len(), 1);
    assert_eq!(h.s.status().leases, 4);
    let kinds: Vec<LeaseKind> = h.s.leases().map(|l| l.kind).collect();
    assert_eq!(kinds.iter().filter(|k| **k == LeaseKind::Prefix).count(), 3);
}

#[test]
fn exhausted_pools_answer_inside_the_ia() {
    let mut c = config();
    c.links[0].prefix_pools[0].prefix = pfx("2001:db8:100::/55");
    c.links[0].address_pools[0].range_end = addr("2001:db8:1::100");
    let mut h = H::new(c);
    for n in 1..=2 {
        let cl = Client::new(n);
        h.bind(&cl, vec![pd(1, &[]), na(2, &[])]);
    }
    let cl = Client::new(3);
    let outs = h.solicit(&cl, 1, vec![pd(1, &[]), na(2, &[])]);
    let adv = outs.reply();
    // RFC 7550 §4.1: in the IA, not at top level (not KAME X16).
    assert_eq!(top_status(&adv), None);
    assert_eq!(pd_status(&adv, 1), Some(StatusCode::NoPrefixAvail));
    assert_eq!(na_status(&adv, 2), Some(StatusCode::NoAddrsAvail));
    let r = h.request(&cl, 2, vec![pd(1, &[])]).reply();
    assert_eq!(pd_status(&r, 1), Some(StatusCode::NoPrefixAvail));
    assert!(prefixes(&r, 1).is_empty());
    // IA_TA is not served.
    let r = h
        .solicit(&cl, 3, vec![DhcpOption::IaTa(IaTa::new(5))])
        .reply();
    let ta = r.options.ia_tas().next().expect("IA_TA answered");
    assert_eq!(ta.status().map(|s| s.code), Some(StatusCode::NoAddrsAvail));
}

#[test]
fn request_for_an_off_link_address_gets_not_on_link() {
    let mut h = H::new(config());
    let cl = Client::new(1);
    let r = h
        .request(&cl, 1, vec![na(1, &["2001:db8:a1::150"])])
        .reply();
    assert_eq!(na_status(&r, 1), Some(StatusCode::NotOnLink));
    assert!(addresses(&r, 1).is_empty());
    assert_eq!(h.s.status().leases, 0);
}

// ------------------------------------------------------- expiry, memory --

#[test]
fn expiry_removes_and_the_same_prefix_comes_back() {
    let (mut h, cl, p) = bound_one();
    assert!(
        h.advance(secs(3599)).all.is_empty(),
        "before the deadline nothing happens"
    );
    let outs = h.advance(secs(1));
    assert_eq!(outs.removes(), vec![p]);
    assert_eq!(outs.del_routes()[0].dst, p);
    assert_eq!(outs.notices()[0].event, LeaseEvent::Expired);
    assert!(
        h.advance(secs(0)).all.is_empty(),
        "spurious timeout is a no-op"
    );
    // Others are served meanwhile (the cursor moved past `p`) ...
    for n in 2..5 {
        let o = Client::new(n);
        assert_ne!(the_prefix(&h.bind(&o, vec![pd(1, &[])]), 1), p);
    }
    // ... and the client gets its old prefix back without a hint.
    let r = h.bind(&cl, vec![pd(1, &[])]);
    assert_eq!(the_prefix(&r, 1), p);
    assert_eq!(h.s.status().counters.leases_expired, 1);
}

// -------------------------------------------------------- reservations --

#[test]
fn reservations_by_duid_and_by_link_layer_address() {
    let mut c = config();
    c.links[0].prefix_pools[0].prefix = pfx("2001:db8:100::/54");
    let owner = Client::new(1);
    let relayed_owner = Client::new(2);
    c.reservations = vec![
        Reservation {
            duid: Some(owner.duid.clone()),
            hw_addr: None,
            address: Some(addr("2001:db8:1::1ff")),
            prefix: Some(pfx("2001:db8:100:300::/56")),
        },
        Reservation {
            duid: None,
            hw_addr: Some(vec![0x0a, 0xbb, 0xcc, 0xdd, 0xee, 0xff]),
            address: None,
            prefix: Some(pfx("2001:db8:b000:4400::/56")),
        },
    ];
    let mut h = H::new(c);
    // Others exhaust the pool without ever getting the reserved /56.
    for n in 10..14 {
        let o = Client::new(n);
        let r = h.bind(&o, vec![pd(1, &["2001:db8:100:300::/56"])]);
        if n < 13 {
            assert_ne!(the_prefix(&r, 1), pfx("2001:db8:100:300::/56"));
        } else {
            assert_eq!(pd_status(&r, 1), Some(StatusCode::NoPrefixAvail));
        }
    }
    let r = h.bind(&owner, vec![pd(1, &[]), na(2, &[])]);
    assert_eq!(the_prefix(&r, 1), pfx("2001:db8:100:300::/56"));
    assert_eq!(addresses(&r, 2)[0].0, addr("2001:db8:1::1ff"));
    // By RFC 6939 link-layer address in the relay's options.
    let lla = DhcpOption::ClientLinkLayerAddress {
        hw_type: 1,
        address: vec![0x0a, 0xbb, 0xcc, 0xdd, 0xee, 0xff],
    };
    let adv = h
        .via(RELAY_LINK, vec![lla.clone()])
        .solicit(&relayed_owner, 1, vec![pd(1, &[])])
        .reply();
    assert_eq!(the_prefix(&adv, 1), pfx("2001:db8:b000:4400::/56"));
    let outs = h
        .via(RELAY_LINK, vec![lla])
        .request(&relayed_owner, 2, vec![pd(1, &[])]);
    match &outs.leases()[0] {
        LeaseOp::Upsert(l) => assert_eq!(
            l.hw_addr.as_deref(),
            Some(&[0x0a, 0xbb, 0xcc, 0xdd, 0xee, 0xff][..])
        ),
        other => panic!("{other:?}"),
    }
    // Someone else hinting the reserved prefix on that link does not get it.
    let other = Client::new(20);
    let r = h
        .via(RELAY_LINK, vec![])
        .solicit(&other, 3, vec![pd(1, &["2001:db8:b000:4400::/56"])])
        .reply();
    assert_ne!(the_prefix(&r, 1), pfx("2001:db8:b000:4400::/56"));
}

#[test]
fn config_validation_reports_problems() {
    let mut c = config();
    c.links[1].prefix_pools.push(PrefixPool {
        preferred: secs(10),
        valid: secs(5),
        exclude_first: Some(56),
        ..prefix_pool("2001:db8:b000:1000::/52", 60)
    });
    c.reservations.push(Reservation {
        duid: None,
        hw_addr: None,
        address: None,
        prefix: None,
    });
    c.reservations.push(Reservation {
        duid: Some(server_duid()),
        hw_addr: None,
        address: Some(addr("2001:db8:ffff::1")),
        prefix: None,
    });
    c.t1_ratio = 0.9;
    let errs = c.validate().unwrap_err();
    assert!(
        errs.iter()
            .any(|e| matches!(e, ServerConfigError::Lifetimes { .. })),
        "{errs:?}"
    );
    assert!(
        errs.iter()
            .any(|e| matches!(e, ServerConfigError::ReservationWithoutOwner { index: 0 }))
    );
    assert!(errs.iter().any(|e| matches!(
        e,
        ServerConfigError::ReservationOutsidePools { index: 1, .. }
    )));
    assert!(
        errs.iter()
            .any(|e| matches!(e, ServerConfigError::BadRatios { .. }))
    );
    let mut c = config();
    c.links[0].prefix_pools.push(PrefixPool {
        preferred: secs(1),
        valid: secs(2),
        ..prefix_pool("2001:db8:100:ff00::/56", 64)
    });
    assert!(matches!(
        &c.validate().unwrap_err()[..],
        [ServerConfigError::Overlap { .. }]
    ));
    assert_eq!(config().validate(), Ok(()));
    // The server still runs, without the overlapping pool.
    let s = Server::new(c, 1, at(0));
    assert_eq!(s.status().pools.len(), 5);
}

// ---------------------------------------------------------- pd exclude --

#[test]
fn prefix_exclude_only_for_clients_that_ask() {
    let mut c = config();
    c.links[0].prefix_pools[0].exclude_first = Some(64);
    let mut h = H::new(c);
    let mut cl = Client::new(1);
    let r = h.bind(&cl, vec![pd(1, &[])]);
    assert_eq!(
        pd_status(&r, 1),
        Some(StatusCode::NoPrefixAvail),
        "RFC 6603: the pool needs the exclude"
    );
    cl.oro = vec![OptionCode::PdExclude];
    let r = h.bind(&cl, vec![pd(1, &[])]);
    let ia = r.options.ia_pds().next().unwrap();
    let p = ia.prefixes().next().unwrap();
    assert_eq!(p.excluded_prefix(), Some((addr("2001:db8:100::"), 64)));
    // Renew carries it again (every message carrying the IAPREFIX).
    let r = h.renew(&cl, 9, vec![pd(1, &["2001:db8:100::/56"])]).reply();
    let p = r
        .options
        .ia_pds()
        .next()
        .unwrap()
        .prefixes()
        .next()
        .unwrap()
        .clone();
    assert_eq!(p.excluded_prefix(), Some((addr("2001:db8:100::"), 64)));
}

// --------------------------------------------------------------- relays --

#[test]
fn relayed_once_answer_is_wrapped_and_routed_via_the_relay() {
    let mut h = H::new(config());
    let cl = Client::new(1);
    let iface = DhcpOption::InterfaceId(b"port-7".to_vec());
    let outs = h
        .via(RELAY_LINK, vec![iface.clone()])
        .solicit(&cl, 1, vec![pd(1, &[])]);
    let t = outs.transmits()[0].clone();
    assert_eq!((t.ifindex, t.dst), (RELAY_IF, RELAY_ADDR));
    assert!(udp_to(&t, 547));
    let sent = outs.sent().unwrap();
    let rr = as_relay(&sent);
    let header = (MessageType::RelayRepl, 0, RELAY_LINK, cl.ll);
    assert_eq!(relay_header(rr), header);
    assert_eq!(rr.options.interface_id(), Some(&b"port-7"[..]));
    let adv = outs.reply();
    assert_eq!(
        the_prefix(&adv, 1),
        pfx("2001:db8:b000::/56"),
        "the relayed link's pool"
    );
    let outs = h
        .via(RELAY_LINK, vec![iface])
        .request(&cl, 2, vec![pd(1, &[])]);
    let r = outs.set_routes()[0].clone();
    assert_eq!(
        (r.dst, r.gateway, r.ifindex),
        (pfx("2001:db8:b000::/56"), Some(RELAY_ADDR), Some(RELAY_IF))
    );
    match &outs.leases()[0] {
        LeaseOp::Upsert(l) => assert_eq!(
            l.link,
            LinkId::Relay {
                link_address: RELAY_LINK
            }
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(h.s.counters().relayed, 2);
}

/// Found by fuzz/fuzz_targets/dhcp6_server_seq.rs: a relayed Solicit
/// with 3000 IA_NAs (48 kB) drew an Advertise of about 100 kB, and wrapping
/// it in a Relay-reply panicked in the codec (Relay Message option body over
/// 65535 octets). Such an answer is now counted and not sent.
#[test]
fn answer_too_large_for_a_datagram_is_dropped_not_a_panic() {
    let mut h = H::new(config());
    let cl = Client::new(1);
    let ias: Vec<DhcpOption> = (0..3000u32)
        .map(|iaid| DhcpOption::IaNa(v6edge_wire::dhcp6::IaNa::new(iaid, 0, 0)))
        .collect();
    let outs = h.via(RELAY_LINK, vec![]).solicit(&cl, 1, ias.clone());
    assert!(outs.transmits().is_empty(), "{:?}", outs.transmits().len());
    assert_eq!(h.s.counters().dropped(DropReason::AnswerTooLarge), 1);
    // Directly, too: the datagram could not be sent.
    let outs = h.solicit(&cl, 2, ias);
    assert!(outs.transmits().is_empty());
    assert_eq!(h.s.counters().dropped(DropReason::AnswerTooLarge), 2);
    // The server still answers a sensible Solicit.
    let outs = h.via(RELAY_LINK, vec![]).solicit(&cl, 3, vec![pd(1, &[])]);
    assert_eq!(outs.reply().msg_type, MessageType::Advertise);
}

#[test]
fn nested_relays_and_interface_id_link_selection() {
    let mut h = H::new(config());
    let cl = Client::new(1);
    // Inner relay without a usable link-address: chosen by Interface-ID.
    let inner = RelayMessage::forward(
        Message::Client(cl.msg(MessageType::Solicit, 1, vec![pd(1, &[])])),
        0,
        addr("::"),
        cl.ll,
    )
    .with(DhcpOption::InterfaceId(b"eth9".to_vec()));
    let outer = RelayMessage::forward(
        Message::Relay(inner),
        1,
        addr("2001:db8:a0::2"),
        addr("2001:db8:a9::1"),
    )
    .with(DhcpOption::InterfaceId(vec![0, 0, 0, 2]));
    let outs = h.rx(
        RELAY_IF,
        RELAY_ADDR,
        SERVER_ADDR,
        &Message::Relay(outer).to_bytes(),
    );
    let sent = outs.sent().unwrap();
    let o = as_relay(&sent);
    assert_eq!(
        (o.hop_count, o.link_address, o.peer_address),
        (1, addr("2001:db8:a0::2"), addr("2001:db8:a9::1"))
    );
    assert_eq!(o.options.interface_id(), Some(&[0, 0, 0, 2][..]));
    let i = as_relay(o.relay_message().unwrap());
    let header = (MessageType::RelayRepl, 0, addr("::"), cl.ll);
    assert_eq!(relay_header(i), header);
    assert_eq!(i.options.interface_id(), Some(&b"eth9"[..]));
    assert_eq!(the_prefix(&outs.reply(), 1), pfx("2001:db8:300::/64"));
    // A link nobody configured: dropped.
    let outs = h
        .via(addr("2001:db8:77::1"), vec![])
        .solicit(&cl, 2, vec![pd(1, &[])]);
    assert!(outs.all.is_empty());
    assert_eq!(h.s.counters().dropped(DropReason::UnknownLink), 1);
}

#[test]
fn client_moving_to_another_link_gets_lifetimes_zero_and_a_new_prefix() {
    let (mut h, cl, p) = bound_one();
    let outs = h
        .via(RELAY_LINK, vec![])
        .rebind(&cl, 3, vec![holding(1, p)]);
    let r = outs.reply();
    let got = prefixes(&r, 1);
    assert!(got.contains(&(p, 0, 0)), "{got:?}");
    let new = the_prefix(&r, 1);
    assert!(pfx("2001:db8:b000::/40").contains(&new));
    assert_eq!(outs.removes(), vec![p]);
    assert_eq!(outs.upserts(), vec![new]);
}

// ------------------------------------------------- restore, reconfigure --

#[test]
fn restore_re_emits_routes_and_never_double_allocates() {
    let mut h = H::new(config());
    let (a, b) = (Client::new(1), Client::new(2));
    let pa = the_prefix(&h.bind(&a, vec![pd(1, &[])]), 1);
    h.advance(secs(1000));
    let rb = h.bind(&b, vec![pd(1, &[]), na(2, &[])]);
    let (pb, ab) = (the_prefix(&rb, 1), addresses(&rb, 2)[0].0);
    let mut stored: Vec<_> = h.s.leases().cloned().collect();
    // An overlapping record (a corrupt store) is dropped, not adopted.
    let mut bogus = stored.iter().find(|l| l.prefix == pb).unwrap().clone();
    bogus.prefix = pb.subnet(60, 0).unwrap();
    stored.push(bogus);
    let now = h.now + secs(3000); // pa expired (at +3600 from 1000)
    let mut s = Server::restore(config(), stored, 9, now);
    let outs = Outs {
        all: std::iter::from_fn(|| s.poll_output()).collect(),
    };
    let routes = outs.set_routes();
    assert_eq!(outs.removes(), vec![pa, pb.subnet(60, 0).unwrap()]);
    assert_eq!(routes.len(), 1);
    assert_eq!(
        (routes[0].dst, routes[0].gateway, routes[0].expires),
        (pb, Some(b.ll), Some(secs(600)))
    );
    assert_eq!(s.status().leases, 2);
    // New clients never get the restored prefix or address.
    let mut h2 = H { s, now };
    for n in 3..40 {
        let c = Client::new(n);
        let r = h2.bind(&c, vec![holding(1, pb), na(2, &[&ab.to_string()])]);
        assert_ne!(the_prefix(&r, 1), pb);
        assert_ne!(addresses(&r, 2)[0].0, ab);
    }
    // The restored client renews normally.
    let r = h2.renew(&b, 5, vec![holding(1, pb)]).reply();
    assert_eq!(prefixes(&r, 1), vec![(pb, 1800, 3600)]);
}

#[test]
fn reconfigure_keeps_fitting_leases_and_revokes_the_rest() {
    let mut h = H::new(config());
    let (a, b) = (Client::new(1), Client::new(2));
    let pa = the_prefix(&h.bind(&a, vec![pd(1, &[])]), 1);
    let pb = the_prefix(&h.bind(&b, vec![pd(1, &[])]), 1);
    assert_eq!(
        (pa, pb),
        (pfx("2001:db8:100::/56"), pfx("2001:db8:100:100::/56"))
    );
    // New config: the pool now delegates /60s from 2001:db8:100::/52; the
    // /56s no longer fit.
    let mut c = config();
    c.links[0].prefix_pools[0] = prefix_pool("2001:db8:100::/52", 60);
    h.s.reconfigure(h.now, c);
    let st = h.s.status();
    assert_eq!((st.leases, st.revoked), (2, 2));
    // The revoked /56s are fenced: new /60s come from elsewhere.
    let n = Client::new(3);
    let pn = the_prefix(&h.bind(&n, vec![pd(1, &[])]), 1);
    assert!(
        !pa.contains(&pn) && !pb.contains(&pn),
        "{pn} inside a revoked lease"
    );
    // a renews: lifetimes 0 for the old, a new /60 in the same Reply.
    let outs = h.renew(&a, 7, vec![holding(1, pa)]);
    let r = outs.reply();
    assert!(prefixes(&r, 1).contains(&(pa, 0, 0)));
    assert_eq!(the_prefix(&r, 1).len(), 60);
    assert_eq!(outs.removes(), vec![pa]);
    assert_eq!(outs.del_routes()[0].dst, pa);
    assert_eq!(h.s.status().revoked, 1);
    assert_eq!(h.s.status().counters.leases_revoked, 1);
}

#[test]
fn proto_counters_by_type() {
    let mut h = H::new(config());
    let cl = Client::new(1);
    h.bind(&cl, vec![pd(1, &[])]);
    let outs = h.solicit(&cl, 1, vec![pd(1, &[])]);
    assert_eq!(outs.transmits().len(), 1);
    let c = h.s.counters();
    assert_eq!(
        (
            c.received(MessageType::Solicit),
            c.received(MessageType::Request)
        ),
        (2, 1)
    );
    assert_eq!(
        (c.sent(MessageType::Advertise), c.sent(MessageType::Reply)),
        (2, 1)
    );
    assert_eq!(c.dropped_total(), 0);
    assert_eq!(
        LeaseKind::from_u8(LeaseKind::Prefix.as_u8()),
        Some(LeaseKind::Prefix)
    );
    assert_eq!(LeaseKind::Address.as_u8(), 0, "Kea's lease_type");
}

// ------------------------------------------------------ absolute ends --

/// RFC 9096 L-17 / RFC 9818 LPD-4: a pool over a delegated prefix never
/// hands out lifetimes past the upstream delegation's end, however long
/// after the pool was built it grants or extends, and T1/T2 follow.
#[test]
fn pool_ends_cap_lifetimes_at_each_grant_and_renewal() {
    let mut c = config();
    c.links[0].prefix_pools[0].ends = Some(LifetimeEnds {
        preferred_until: at(1000) + secs(300),
        valid_until: at(1000) + secs(600),
    });
    let mut h = H::new(c);
    let a = Client::new(1);
    h.advance(secs(100));
    let (p, pl, vl) = the_lease(&h.bind(&a, vec![pd(1, &[])]), 1);
    let why = "ends 300/600 s after t=1000, granted at 1100";
    assert_eq!((pl, vl), (200, 500), "{why}");
    // Later the cap is closer: a Renew gets what remains then, not what the
    // pool's configured lifetimes say.
    h.advance(secs(250));
    let (_, pl, vl) = the_lease(&h.renew(&a, 9, vec![holding(1, p)]).reply(), 1);
    assert_eq!((pl, vl), (0, 250), "preferred ended, 250 s of valid left");
    // The lease the machine keeps ends with the upstream delegation too.
    let lease = h.s.leases().next().expect("the lease");
    assert_eq!(lease.valid_until, at(1000) + secs(600));
}
