//! The relay agent machine at explicit instants: relaying up (RFC 8415
//! §19.1), relaying down (§19.2), trust in the configured servers (RFC 8987
//! §6), and snooping delegated prefixes into routes (RFC 8987 §4, RFC 9818
//! LPD-5). Messages are built with the codec.

use std::net::Ipv6Addr;
use std::time::Duration;
use v6edge_core::{Instant, KernelOp, Received, RouteSpec, RouteType, Transmit, Transport};
use v6edge_dhcp6::relay::{
    ALL_DHCP_SERVERS, Downstream, DropReason, Relay, RelayConfig, RelayOutput, SnoopChange, Snooped,
};
use v6edge_prefix::Prefix;
use v6edge_wire::Lifetime;
use v6edge_wire::dhcp6::{
    ClientMessage, DhcpOption, Duid, IaPd, IaPrefix, Message, MessageType, RelayMessage, Status,
    StatusCode, Xid,
};

const WAN: u32 = 2;
const LAN: u32 = 3;
const LAN2: u32 = 5;
const ALL_AGENTS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 1, 2);
const SERVER: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 0, 0, 0, 1);
const SERVER2: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 0, 0, 0, 2);
const RELAY_WAN: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 0, 0, 0, 0xee);
const LAN_ADDR: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xa1, 0, 0, 0, 0, 1);

fn at(s: u64) -> Instant {
    Instant::from_secs(s)
}

fn pfx(s: &str) -> Prefix {
    s.parse().expect("test prefix")
}

fn ll(n: u16) -> Ipv6Addr {
    Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0xc1, n)
}

fn duid(n: u8) -> Duid {
    Duid::new_ll(1, &[2, 0, 0, 0xc1, 0, n])
}

fn server_duid() -> Duid {
    Duid::new_ll(1, &[2, 0, 0, 0, 0x5e, 1])
}

/// LAN has a global address (link-address, no Interface-ID unless asked);
/// LAN2 has none (`::` + Interface-ID "lan2"). Servers: SERVER, SERVER2.
fn config() -> RelayConfig {
    let mut c = RelayConfig::new(WAN);
    let mut lan = Downstream::new(LAN, b"lan0".to_vec());
    lan.link_address = Some(LAN_ADDR);
    c.downstream = vec![lan, Downstream::new(LAN2, b"lan2".to_vec())];
    c.servers = vec![SERVER, SERVER2];
    c
}

fn drain(r: &mut Relay) -> Vec<RelayOutput> {
    std::iter::from_fn(|| r.poll_output()).collect()
}

fn transmits(outs: &[RelayOutput]) -> Vec<&Transmit> {
    outs.iter()
        .filter_map(|o| match o {
            RelayOutput::Transmit(t) => Some(t),
            _ => None,
        })
        .collect()
}

fn kernel(outs: &[RelayOutput]) -> Vec<&KernelOp> {
    outs.iter()
        .filter_map(|o| match o {
            RelayOutput::Kernel(k) => Some(k),
            _ => None,
        })
        .collect()
}

fn snoops(outs: &[RelayOutput]) -> Vec<&SnoopChange> {
    outs.iter()
        .filter_map(|o| match o {
            RelayOutput::Snoop(s) => Some(s),
            _ => None,
        })
        .collect()
}

fn deliver(
    r: &mut Relay,
    now: Instant,
    ifindex: u32,
    src: Ipv6Addr,
    dst: Ipv6Addr,
    bytes: &[u8],
) -> Vec<RelayOutput> {
    r.handle_packet(
        now,
        &Received {
            ifindex,
            src,
            dst,
            hop_limit: 64,
            bytes,
        },
    );
    drain(r)
}

fn client_msg(t: MessageType, xid: u32, n: u8, opts: Vec<DhcpOption>) -> ClientMessage {
    let mut m = ClientMessage::new(t, Xid::new(xid)).with(DhcpOption::ClientId(duid(n)));
    for o in opts {
        m = m.with(o);
    }
    m
}

fn ia_pd(iaid: u32, prefixes: &[(&str, u32)]) -> DhcpOption {
    let mut ia = IaPd::new(iaid, 900, 1440);
    for (p, valid) in prefixes {
        let p = pfx(p);
        ia.options.push(DhcpOption::IaPrefix(IaPrefix::new(
            p.addr(),
            p.len(),
            Lifetime::Finite(valid / 2),
            Lifetime::Finite(*valid),
        )));
    }
    DhcpOption::IaPd(ia)
}

/// What a server sends back: Relay-reply for `peer` on the link named by
/// `link` and `iface`, around `inner`.
fn relay_reply(link: Ipv6Addr, peer: Ipv6Addr, iface: Option<&[u8]>, inner: Message) -> Vec<u8> {
    let mut r = RelayMessage::new(MessageType::RelayRepl, 0, link, peer);
    if let Some(id) = iface {
        r = r.with(DhcpOption::InterfaceId(id.to_vec()));
    }
    Message::Relay(r.with(DhcpOption::RelayMessage(Box::new(inner)))).to_bytes()
}

/// A server's Reply to client `n` on LAN (found by link-address).
fn reply_on_lan(
    r: &mut Relay,
    now: Instant,
    n: u8,
    xid: u32,
    opts: Vec<DhcpOption>,
) -> Vec<RelayOutput> {
    let mut opts = opts;
    opts.insert(0, DhcpOption::ServerId(server_duid()));
    let inner = Message::Client(client_msg(MessageType::Reply, xid, n, opts));
    let bytes = relay_reply(LAN_ADDR, ll(u16::from(n)), None, inner);
    deliver(r, now, WAN, SERVER, RELAY_WAN, &bytes)
}

fn route(p: &str, via: Ipv6Addr, dev: u32, expires: Option<u64>) -> RouteSpec {
    RouteSpec {
        dst: pfx(p),
        kind: RouteType::Unicast,
        gateway: Some(via),
        ifindex: Some(dev),
        metric: 1024,
        expires: expires.map(Duration::from_secs),
    }
}

fn relayed(t: &Transmit) -> RelayMessage {
    match Message::parse(&t.payload).expect("relay sent undecodable bytes") {
        Message::Relay(r) => r,
        Message::Client(c) => panic!("expected a relay message, got {c:?}"),
    }
}

// ---------------------------------------------------------- relaying up --

#[test]
fn client_solicit_is_relayed_to_each_server_with_hop_0_link_and_peer() {
    let mut r = Relay::new(config(), at(0));
    let solicit = Message::Client(client_msg(MessageType::Solicit, 1, 1, vec![ia_pd(1, &[])]));
    let bytes = solicit.to_bytes();
    let outs = deliver(&mut r, at(1), LAN, ll(1), ALL_AGENTS, &bytes);
    let tx = transmits(&outs);
    assert_eq!(tx.len(), 2);
    assert_eq!(tx[0].dst, SERVER);
    assert_eq!(tx[1].dst, SERVER2);
    for t in &tx {
        assert_eq!(t.ifindex, WAN);
        assert_eq!(
            t.transport,
            Transport::Udp {
                src_port: 547,
                dst_port: 547
            }
        );
        let f = relayed(t);
        assert_eq!(f.msg_type, MessageType::RelayForw);
        assert_eq!(f.hop_count, 0);
        assert_eq!(f.link_address, LAN_ADDR);
        assert_eq!(f.peer_address, ll(1));
        // A link-address identifies the link: no Interface-ID unasked.
        assert_eq!(f.options.interface_id(), None);
        assert_eq!(
            f.relay_message().map(Message::to_bytes),
            Some(bytes.clone())
        );
    }
    assert_eq!(r.counters().forwarded_up, 1);
}

#[test]
fn link_without_address_sends_unspecified_link_and_interface_id() {
    let mut c = config();
    c.downstream[1].remote_id = Some((32473, b"port7".to_vec()));
    c.downstream[1].subscriber_id = Some(b"sub-42".to_vec());
    let mut r = Relay::new(c, at(0));
    let bytes = Message::Client(client_msg(MessageType::Solicit, 2, 2, vec![])).to_bytes();
    let outs = deliver(&mut r, at(1), LAN2, ll(2), ALL_AGENTS, &bytes);
    let f = relayed(transmits(&outs)[0]);
    assert_eq!(f.link_address, Ipv6Addr::UNSPECIFIED);
    assert_eq!(f.options.interface_id(), Some(&b"lan2"[..]));
    assert_eq!(f.options.remote_id(), Some((32473, &b"port7"[..])));
    assert_eq!(f.options.subscriber_id(), Some(&b"sub-42"[..]));
}

#[test]
fn always_interface_id_adds_it_next_to_the_link_address() {
    let mut c = config();
    c.downstream[0].always_interface_id = true;
    let mut r = Relay::new(c, at(0));
    let bytes = Message::Client(client_msg(MessageType::Solicit, 2, 2, vec![])).to_bytes();
    let outs = deliver(&mut r, at(1), LAN, ll(2), ALL_AGENTS, &bytes);
    let f = relayed(transmits(&outs)[0]);
    assert_eq!(f.link_address, LAN_ADDR);
    assert_eq!(f.options.interface_id(), Some(&b"lan0"[..]));
}

#[test]
fn without_servers_relays_to_all_dhcp_servers_on_the_upstream() {
    let mut c = config();
    c.servers.clear();
    let mut r = Relay::new(c, at(0));
    let bytes = Message::Client(client_msg(MessageType::Solicit, 3, 1, vec![])).to_bytes();
    let outs = deliver(&mut r, at(1), LAN, ll(1), ALL_AGENTS, &bytes);
    let tx = transmits(&outs);
    assert_eq!(tx.len(), 1);
    assert_eq!(tx[0].dst, ALL_DHCP_SERVERS);
    assert_eq!(tx[0].dst, "ff05::1:3".parse::<Ipv6Addr>().unwrap());
    assert_eq!(tx[0].ifindex, WAN);
}

#[test]
fn relay_forward_from_a_further_relay_gets_hop_count_plus_one() {
    let mut r = Relay::new(config(), at(0));
    let inner = Message::Client(client_msg(MessageType::Solicit, 4, 1, vec![]));
    let further: Ipv6Addr = "2001:db8:a1::99".parse().unwrap();
    let fwd = Message::Relay(RelayMessage::forward(
        inner,
        3,
        "2001:db8:c::1".parse().unwrap(),
        ll(1),
    ))
    .to_bytes();
    let outs = deliver(&mut r, at(1), LAN, further, ALL_AGENTS, &fwd);
    let f = relayed(transmits(&outs)[0]);
    assert_eq!(f.hop_count, 4);
    assert_eq!(f.peer_address, further);
    assert_eq!(f.relay_message().map(Message::to_bytes), Some(fwd));
}

#[test]
fn relay_forward_at_the_hop_count_limit_is_dropped() {
    let mut r = Relay::new(config(), at(0));
    let inner = Message::Client(client_msg(MessageType::Solicit, 4, 1, vec![]));
    for (hop, forwarded) in [(7u8, true), (8, false), (255, false)] {
        let fwd =
            Message::Relay(RelayMessage::forward(inner.clone(), hop, LAN_ADDR, ll(1))).to_bytes();
        let outs = deliver(&mut r, at(1), LAN, ll(9), ALL_AGENTS, &fwd);
        assert_eq!(!transmits(&outs).is_empty(), forwarded, "hop {hop}");
        if forwarded {
            assert_eq!(relayed(transmits(&outs)[0]).hop_count, 8);
        }
    }
    assert_eq!(r.counters().dropped(DropReason::HopLimit), 2);
}

#[test]
fn client_message_on_a_non_downstream_interface_is_dropped() {
    let mut r = Relay::new(config(), at(0));
    let bytes = Message::Client(client_msg(MessageType::Solicit, 5, 1, vec![])).to_bytes();
    let outs = deliver(&mut r, at(1), WAN, ll(1), ALL_AGENTS, &bytes);
    assert!(outs.is_empty());
    assert_eq!(r.counters().dropped(DropReason::NotDownstream), 1);
}

// -------------------------------------------------------- relaying down --

#[test]
fn relay_reply_goes_to_the_client_by_interface_id() {
    let mut r = Relay::new(config(), at(0));
    let adv = Message::Client(client_msg(
        MessageType::Advertise,
        6,
        2,
        vec![DhcpOption::ServerId(server_duid())],
    ));
    let bytes = relay_reply(Ipv6Addr::UNSPECIFIED, ll(2), Some(b"lan2"), adv.clone());
    let outs = deliver(&mut r, at(1), WAN, SERVER2, RELAY_WAN, &bytes);
    let tx = transmits(&outs);
    assert_eq!(tx.len(), 1);
    assert_eq!(tx[0].ifindex, LAN2);
    assert_eq!(tx[0].dst, ll(2));
    assert_eq!(
        tx[0].transport,
        Transport::Udp {
            src_port: 547,
            dst_port: 546
        }
    );
    assert_eq!(tx[0].payload, adv.to_bytes());
    assert_eq!(r.counters().forwarded_down, 1);
}

#[test]
fn relay_reply_without_interface_id_is_matched_by_link_address() {
    let mut r = Relay::new(config(), at(0));
    let adv = Message::Client(client_msg(MessageType::Advertise, 7, 1, vec![]));
    let outs = deliver(
        &mut r,
        at(1),
        WAN,
        SERVER,
        RELAY_WAN,
        &relay_reply(LAN_ADDR, ll(1), None, adv),
    );
    assert_eq!(transmits(&outs)[0].ifindex, LAN);
    // An Interface-ID we never sent falls back to the link-address too.
    let adv = Message::Client(client_msg(MessageType::Advertise, 8, 1, vec![]));
    let outs = deliver(
        &mut r,
        at(1),
        WAN,
        SERVER,
        RELAY_WAN,
        &relay_reply(LAN_ADDR, ll(1), Some(b"eth77"), adv),
    );
    assert_eq!(transmits(&outs)[0].ifindex, LAN);
}

#[test]
fn relay_reply_for_no_known_link_is_dropped() {
    let mut r = Relay::new(config(), at(0));
    let adv = Message::Client(client_msg(MessageType::Advertise, 7, 1, vec![]));
    let bytes = relay_reply(
        "2001:db8:ffff::1".parse().unwrap(),
        ll(1),
        Some(b"eth77"),
        adv,
    );
    assert!(deliver(&mut r, at(1), WAN, SERVER, RELAY_WAN, &bytes).is_empty());
    assert_eq!(r.counters().dropped(DropReason::UnknownInterface), 1);
}

#[test]
fn nested_relay_reply_goes_to_the_further_relay_on_port_547() {
    let mut r = Relay::new(config(), at(0));
    let further: Ipv6Addr = "2001:db8:a1::99".parse().unwrap();
    let adv = Message::Client(client_msg(
        MessageType::Reply,
        9,
        1,
        vec![ia_pd(1, &[("2001:db8:100::/56", 3600)])],
    ));
    let inner = RelayMessage::new(
        MessageType::RelayRepl,
        0,
        "2001:db8:c::1".parse().unwrap(),
        ll(1),
    )
    .with(DhcpOption::RelayMessage(Box::new(adv)));
    let inner = Message::Relay(inner);
    let bytes = relay_reply(LAN_ADDR, further, None, inner.clone());
    let outs = deliver(&mut r, at(1), WAN, SERVER, RELAY_WAN, &bytes);
    let tx = transmits(&outs);
    assert_eq!(tx.len(), 1);
    assert_eq!(tx[0].dst, further);
    assert_eq!(tx[0].ifindex, LAN);
    assert_eq!(
        tx[0].transport,
        Transport::Udp {
            src_port: 547,
            dst_port: 547
        }
    );
    assert_eq!(tx[0].payload, inner.to_bytes());
    // The further relay is the one next to the client: it routes, not us.
    assert!(kernel(&outs).is_empty());
}

#[test]
fn relay_reply_from_an_unconfigured_server_is_dropped_and_counted() {
    let mut r = Relay::new(config(), at(0));
    let rogue: Ipv6Addr = "2001:db8:0:1::66".parse().unwrap();
    let reply = Message::Client(client_msg(
        MessageType::Reply,
        10,
        1,
        vec![ia_pd(1, &[("2001:db8:100::/56", 3600)])],
    ));
    let outs = deliver(
        &mut r,
        at(1),
        WAN,
        rogue,
        RELAY_WAN,
        &relay_reply(LAN_ADDR, ll(1), None, reply),
    );
    assert!(outs.is_empty(), "nothing relayed, nothing routed: {outs:?}");
    assert_eq!(r.counters().dropped(DropReason::ForeignServer), 1);
    assert_eq!(r.snooped().count(), 0);
}

#[test]
fn relay_reply_from_anyone_upstream_is_accepted_without_servers() {
    let mut c = config();
    c.servers.clear();
    let mut r = Relay::new(c, at(0));
    let adv = Message::Client(client_msg(MessageType::Advertise, 7, 1, vec![]));
    let outs = deliver(
        &mut r,
        at(1),
        WAN,
        "2001:db8:0:1::77".parse().unwrap(),
        RELAY_WAN,
        &relay_reply(LAN_ADDR, ll(1), None, adv),
    );
    assert_eq!(transmits(&outs).len(), 1);
    // But never from the client side.
    let adv = Message::Client(client_msg(MessageType::Advertise, 8, 1, vec![]));
    let outs = deliver(
        &mut r,
        at(1),
        LAN,
        ll(5),
        LAN_ADDR,
        &relay_reply(LAN_ADDR, ll(1), None, adv),
    );
    assert!(outs.is_empty());
    assert_eq!(r.counters().dropped(DropReason::NotUpstream), 1);
}

// ------------------------------------------------------------- snooping --

#[test]
fn reply_with_ia_pd_routes_the_prefix_via_the_client_link_local() {
    let mut r = Relay::new(config(), at(0));
    let outs = reply_on_lan(
        &mut r,
        at(100),
        1,
        11,
        vec![ia_pd(7, &[("2001:db8:100::/56", 3600)])],
    );
    // Order: the Reply, then the route, then the record.
    assert!(matches!(outs[0], RelayOutput::Transmit(_)));
    assert_eq!(
        kernel(&outs),
        vec![&KernelOp::SetRoute(route(
            "2001:db8:100::/56",
            ll(1),
            LAN,
            Some(3600)
        ))]
    );
    let expected = Snooped {
        prefix: pfx("2001:db8:100::/56"),
        next_hop: ll(1),
        ifindex: LAN,
        client_duid: duid(1),
        iaid: 7,
        valid_until: at(3700),
    };
    assert_eq!(snoops(&outs), vec![&SnoopChange::Upsert(expected.clone())]);
    assert!(matches!(outs[2], RelayOutput::Snoop(_)));
    assert_eq!(r.snooped().cloned().collect::<Vec<_>>(), vec![expected]);
    assert_eq!(r.poll_timeout(), Some(at(3700)));
    assert_eq!(r.counters().routes_added, 1);
}

#[test]
fn advertise_is_not_snooped() {
    let mut r = Relay::new(config(), at(0));
    let adv = Message::Client(client_msg(
        MessageType::Advertise,
        12,
        1,
        vec![ia_pd(1, &[("2001:db8:100::/56", 3600)])],
    ));
    let outs = deliver(
        &mut r,
        at(1),
        WAN,
        SERVER,
        RELAY_WAN,
        &relay_reply(LAN_ADDR, ll(1), None, adv),
    );
    assert!(kernel(&outs).is_empty() && snoops(&outs).is_empty());
}

#[test]
fn renew_reply_with_new_lifetimes_updates_the_route() {
    let mut r = Relay::new(config(), at(0));
    reply_on_lan(
        &mut r,
        at(100),
        1,
        11,
        vec![ia_pd(7, &[("2001:db8:100::/56", 3600)])],
    );
    let outs = reply_on_lan(
        &mut r,
        at(2000),
        1,
        12,
        vec![ia_pd(7, &[("2001:db8:100::/56", 7200)])],
    );
    assert_eq!(
        kernel(&outs),
        vec![&KernelOp::SetRoute(route(
            "2001:db8:100::/56",
            ll(1),
            LAN,
            Some(7200)
        ))]
    );
    match snoops(&outs).as_slice() {
        [SnoopChange::Upsert(s)] => assert_eq!(s.valid_until, at(9200)),
        other => panic!("expected one upsert, got {other:?}"),
    }
    assert_eq!(r.poll_timeout(), Some(at(9200)));
    assert_eq!(r.counters().routes_updated, 1);
}

#[test]
fn lifetime_zero_removes_the_route_and_the_record() {
    let mut r = Relay::new(config(), at(0));
    reply_on_lan(
        &mut r,
        at(100),
        1,
        11,
        vec![ia_pd(7, &[("2001:db8:100::/56", 3600)])],
    );
    let outs = reply_on_lan(
        &mut r,
        at(200),
        1,
        12,
        vec![ia_pd(7, &[("2001:db8:100::/56", 0)])],
    );
    assert_eq!(
        kernel(&outs),
        vec![&KernelOp::DelRoute(route(
            "2001:db8:100::/56",
            ll(1),
            LAN,
            Some(3500)
        ))]
    );
    assert_eq!(
        snoops(&outs),
        vec![&SnoopChange::Remove(pfx("2001:db8:100::/56"))]
    );
    assert_eq!(r.snooped().count(), 0);
    assert_eq!(r.poll_timeout(), None);
    assert_eq!(r.counters().routes_removed, 1);
}

#[test]
fn release_then_reply_removes_the_route() {
    let mut r = Relay::new(config(), at(0));
    reply_on_lan(
        &mut r,
        at(100),
        1,
        11,
        vec![ia_pd(7, &[("2001:db8:100::/56", 3600)])],
    );
    let release = client_msg(
        MessageType::Release,
        13,
        1,
        vec![
            DhcpOption::ServerId(server_duid()),
            ia_pd(7, &[("2001:db8:100::/56", 0)]),
        ],
    );
    let outs = deliver(
        &mut r,
        at(200),
        LAN,
        ll(1),
        ALL_AGENTS,
        &Message::Client(release).to_bytes(),
    );
    assert_eq!(transmits(&outs).len(), 2, "relayed to both servers");
    assert!(kernel(&outs).is_empty(), "nothing removed before the Reply");
    assert_eq!(r.status().pending_releases, 1);
    // The Reply to Release carries just a status (RFC 8415 §18.3.7).
    let outs = reply_on_lan(
        &mut r,
        at(201),
        1,
        13,
        vec![DhcpOption::StatusCode(Status::new(
            StatusCode::Success,
            "released",
        ))],
    );
    assert_eq!(transmits(&outs).len(), 1);
    assert_eq!(
        kernel(&outs),
        vec![&KernelOp::DelRoute(route(
            "2001:db8:100::/56",
            ll(1),
            LAN,
            Some(3499)
        ))]
    );
    assert_eq!(
        snoops(&outs),
        vec![&SnoopChange::Remove(pfx("2001:db8:100::/56"))]
    );
    assert_eq!(r.status().pending_releases, 0);
}

#[test]
fn release_by_a_former_holder_keeps_the_new_holders_route() {
    let mut r = Relay::new(config(), at(0));
    reply_on_lan(
        &mut r,
        at(100),
        1,
        11,
        vec![ia_pd(7, &[("2001:db8:100::/56", 3600)])],
    );
    reply_on_lan(
        &mut r,
        at(150),
        2,
        21,
        vec![ia_pd(8, &[("2001:db8:100::/56", 3600)])],
    );
    let release = client_msg(
        MessageType::Release,
        14,
        1,
        vec![ia_pd(7, &[("2001:db8:100::/56", 0)])],
    );
    deliver(
        &mut r,
        at(200),
        LAN,
        ll(1),
        ALL_AGENTS,
        &Message::Client(release).to_bytes(),
    );
    let outs = reply_on_lan(&mut r, at(201), 1, 14, vec![]);
    assert!(kernel(&outs).is_empty());
    assert_eq!(r.snooped().next().map(|s| s.next_hop), Some(ll(2)));
}

#[test]
fn expiry_via_handle_timeout_removes_the_route() {
    let mut r = Relay::new(config(), at(0));
    reply_on_lan(
        &mut r,
        at(100),
        1,
        11,
        vec![ia_pd(
            7,
            &[("2001:db8:100::/56", 3600), ("2001:db8:200::/56", 7200)],
        )],
    );
    assert_eq!(r.poll_timeout(), Some(at(3700)));
    r.handle_timeout(at(3699));
    assert!(drain(&mut r).is_empty(), "spurious wake-up does nothing");
    r.handle_timeout(at(3700));
    let outs = drain(&mut r);
    assert_eq!(
        kernel(&outs),
        vec![&KernelOp::DelRoute(route(
            "2001:db8:100::/56",
            ll(1),
            LAN,
            Some(0)
        ))]
    );
    assert_eq!(
        snoops(&outs),
        vec![&SnoopChange::Remove(pfx("2001:db8:100::/56"))]
    );
    assert_eq!(r.poll_timeout(), Some(at(7300)));
}

#[test]
fn prefix_moving_to_another_client_replaces_the_route() {
    let mut r = Relay::new(config(), at(0));
    reply_on_lan(
        &mut r,
        at(100),
        1,
        11,
        vec![ia_pd(7, &[("2001:db8:100::/56", 3600)])],
    );
    let outs = reply_on_lan(
        &mut r,
        at(500),
        2,
        21,
        vec![ia_pd(8, &[("2001:db8:100::/56", 3600)])],
    );
    assert_eq!(
        kernel(&outs),
        vec![&KernelOp::SetRoute(route(
            "2001:db8:100::/56",
            ll(2),
            LAN,
            Some(3600)
        ))]
    );
    let s: Vec<Snooped> = r.snooped().cloned().collect();
    assert_eq!(s.len(), 1);
    assert_eq!(
        (s[0].next_hop, &s[0].client_duid, s[0].iaid),
        (ll(2), &duid(2), 8)
    );
    // The former holder's late lifetime-0 Reply does not remove it.
    let outs = reply_on_lan(
        &mut r,
        at(501),
        1,
        12,
        vec![ia_pd(7, &[("2001:db8:100::/56", 0)])],
    );
    assert!(kernel(&outs).is_empty());
    assert_eq!(r.snooped().count(), 1);
}

#[test]
fn routes_off_still_snoops_without_kernel_ops() {
    let mut c = config();
    c.routes = false;
    let mut r = Relay::new(c, at(0));
    let outs = reply_on_lan(
        &mut r,
        at(100),
        1,
        11,
        vec![ia_pd(7, &[("2001:db8:100::/56", 3600)])],
    );
    assert!(kernel(&outs).is_empty());
    assert_eq!(snoops(&outs).len(), 1);
}

#[test]
fn unroutable_or_failed_prefixes_are_not_snooped() {
    let mut r = Relay::new(config(), at(0));
    let mut bad = IaPd::new(9, 0, 0);
    // Host bits set, a default route, link-local space.
    for (a, len) in [("2001:db8:100::1", 56u8), ("::", 0), ("fe80::", 64)] {
        bad.options.push(DhcpOption::IaPrefix(IaPrefix::new(
            a.parse().unwrap(),
            len,
            Lifetime::Finite(10),
            Lifetime::Finite(20),
        )));
    }
    let mut failed = IaPd::new(10, 0, 0);
    failed.options.push(DhcpOption::StatusCode(Status::new(
        StatusCode::NoPrefixAvail,
        "",
    )));
    let outs = reply_on_lan(
        &mut r,
        at(1),
        1,
        15,
        vec![DhcpOption::IaPd(bad), DhcpOption::IaPd(failed)],
    );
    assert_eq!(transmits(&outs).len(), 1, "still relayed");
    assert!(kernel(&outs).is_empty());
    assert_eq!(r.counters().snoop_rejected, 3);
}

#[test]
fn restore_re_emits_live_routes_and_drops_expired_ones() {
    let live = Snooped {
        prefix: pfx("2001:db8:100::/56"),
        next_hop: ll(1),
        ifindex: LAN,
        client_duid: duid(1),
        iaid: 7,
        valid_until: at(5000),
    };
    let expired = Snooped {
        prefix: pfx("2001:db8:200::/56"),
        valid_until: at(900),
        ..live.clone()
    };
    let mut r = Relay::restore(config(), vec![live.clone(), expired], at(1000));
    let outs = drain(&mut r);
    assert_eq!(
        kernel(&outs),
        vec![&KernelOp::SetRoute(route(
            "2001:db8:100::/56",
            ll(1),
            LAN,
            Some(4000)
        ))]
    );
    assert_eq!(
        snoops(&outs),
        vec![&SnoopChange::Remove(pfx("2001:db8:200::/56"))]
    );
    assert_eq!(r.snooped().cloned().collect::<Vec<_>>(), vec![live]);
    assert_eq!(r.poll_timeout(), Some(at(5000)));
    r.handle_timeout(at(5000));
    assert_eq!(kernel(&drain(&mut r)).len(), 1);
}

// ------------------------------------------------------------ malformed --

#[test]
fn malformed_datagrams_are_counted_on_both_sides() {
    let mut r = Relay::new(config(), at(0));
    assert!(deliver(&mut r, at(1), LAN, ll(1), ALL_AGENTS, &[1, 2]).is_empty());
    assert!(deliver(&mut r, at(1), WAN, SERVER, RELAY_WAN, &[13, 0, 1]).is_empty());
    assert_eq!(r.counters().dropped(DropReason::Malformed), 2);
    // A Relay-reply without a Relay Message option.
    let empty = Message::Relay(RelayMessage::new(
        MessageType::RelayRepl,
        0,
        LAN_ADDR,
        ll(1),
    ))
    .to_bytes();
    assert!(deliver(&mut r, at(1), WAN, SERVER, RELAY_WAN, &empty).is_empty());
    assert_eq!(r.counters().dropped(DropReason::BadRelayMessage), 1);
    // A multicast source cannot be answered.
    let sol = Message::Client(client_msg(MessageType::Solicit, 1, 1, vec![])).to_bytes();
    assert!(deliver(&mut r, at(1), LAN, ALL_AGENTS, ALL_AGENTS, &sol).is_empty());
    assert_eq!(r.counters().dropped(DropReason::BadPeerAddress), 1);
    assert_eq!(r.counters().dropped_total(), 4);
}
