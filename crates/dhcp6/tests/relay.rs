//! The relay agent machine at explicit instants: relaying up (RFC 8415
//! §19.1), relaying down (§19.2), trust in the configured servers (RFC 8987
//! §6), and snooping delegated prefixes into routes (RFC 8987 §4, RFC 9818
//! LPD-5). Messages are built with the codec.

mod relay_harness;

use relay_harness::*;
use std::net::Ipv6Addr;
use std::time::Duration;
use v6edge_core::{Instant, KernelOp, Owner, RouteSpec, RouteTable, RouteType};
use v6edge_dhcp6::relay::{
    ALL_DHCP_SERVERS, Downstream, DropReason, Relay, RelayConfig, RelayOutput, SnoopChange, Snooped,
};
use v6edge_prefix::Prefix;
use v6edge_wire::Lifetime;
use v6edge_wire::dhcp6::{
    ClientMessage, DhcpOption, Duid, IaPd, IaPrefix, Message, MessageType, RelayMessage, Status,
    StatusCode, Xid,
};

const LAN2: u32 = 5;
const SERVER2: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 0, 0, 0, 2);
const RELAY_WAN: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 0, 0, 0, 0xee);
/// The prefix the snooping tests delegate.
const PREFIX: &str = "2001:db8:100::/56";

fn at(s: u64) -> Instant {
    Instant::from_secs(s)
}

fn pfx(s: &str) -> Prefix {
    s.parse().expect("test prefix")
}

fn addr(s: &str) -> Ipv6Addr {
    s.parse().expect("test address")
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

/// The relay with `config()`, started at 0.
fn relay() -> Relay {
    Relay::new(config(), at(0))
}

/// From a client (or a further relay) `src` on `ifindex`, to
/// All_DHCP_Relay_Agents_and_Servers.
fn up(r: &mut Relay, now: Instant, ifindex: u32, src: Ipv6Addr, b: &[u8]) -> Vec<RelayOutput> {
    deliver(r, now, ifindex, src, ALL_AGENTS, b)
}

/// From server `src` on the upstream interface, to our address there.
fn down(r: &mut Relay, now: Instant, src: Ipv6Addr, bytes: &[u8]) -> Vec<RelayOutput> {
    deliver(r, now, WAN, src, RELAY_WAN, bytes)
}

/// A client/server message of client `n` (its Client Identifier first).
fn msg(t: MessageType, xid: u32, n: u8, opts: Vec<DhcpOption>) -> Message {
    let mut m = ClientMessage::new(t, Xid::new(xid)).with(DhcpOption::ClientId(duid(n)));
    for o in opts {
        m = m.with(o);
    }
    Message::Client(m)
}

/// A bare Solicit of client `n`, encoded.
fn solicit(xid: u32, n: u8) -> Vec<u8> {
    msg(MessageType::Solicit, xid, n, vec![]).to_bytes()
}

/// A bare Advertise for client `n`.
fn advertise(xid: u32, n: u8) -> Message {
    msg(MessageType::Advertise, xid, n, vec![])
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

/// A Relay-reply for client 1 on LAN, found by link-address alone.
fn lan_reply(inner: Message) -> Vec<u8> {
    relay_reply(LAN_ADDR, ll(1), None, inner)
}

/// A server's Reply to client `n` on LAN (found by link-address).
fn reply_on_lan(
    r: &mut Relay,
    now: Instant,
    n: u8,
    xid: u32,
    mut opts: Vec<DhcpOption>,
) -> Vec<RelayOutput> {
    opts.insert(0, DhcpOption::ServerId(server_duid()));
    let inner = msg(MessageType::Reply, xid, n, opts);
    let bytes = relay_reply(LAN_ADDR, ll(u16::from(n)), None, inner);
    down(r, now, SERVER, &bytes)
}

/// A client on LAN (`ll(n)`, `duid(n)`) and the IA_PD it holds PREFIX in.
#[derive(Clone, Copy)]
struct Holder {
    n: u8,
    iaid: u32,
}

const C1: Holder = Holder { n: 1, iaid: 7 };
const C2: Holder = Holder { n: 2, iaid: 8 };

impl Holder {
    /// The server's Reply `xid` giving this client PREFIX for `valid` s.
    fn granted(self, r: &mut Relay, now: Instant, xid: u32, valid: u32) -> Vec<RelayOutput> {
        reply_on_lan(
            r,
            now,
            self.n,
            xid,
            vec![ia_pd(self.iaid, &[(PREFIX, valid)])],
        )
    }

    /// The client's Release of PREFIX, after the options in `first`.
    fn release(self, xid: u32, mut first: Vec<DhcpOption>) -> Vec<u8> {
        first.push(ia_pd(self.iaid, &[(PREFIX, 0)]));
        msg(MessageType::Release, xid, self.n, first).to_bytes()
    }
}

/// The route to PREFIX via `via` on LAN, expiring in `secs`.
fn lan_route(via: Ipv6Addr, secs: u64) -> RouteSpec {
    RouteSpec {
        owner: Owner::Relay,
        table: RouteTable::MAIN,
        dst: pfx(PREFIX),
        kind: RouteType::Unicast,
        gateway: Some(via),
        ifindex: Some(LAN),
        metric: 1024,
        expires: Some(Duration::from_secs(secs)),
    }
}

/// Setting [`lan_route`].
fn set(via: Ipv6Addr, secs: u64) -> KernelOp {
    KernelOp::SetRoute(lan_route(via, secs))
}

/// Deleting [`lan_route`].
fn del(via: Ipv6Addr, secs: u64) -> KernelOp {
    KernelOp::DelRoute(lan_route(via, secs))
}

/// A relay that has routed PREFIX to C1: the Reply (xid 11) came at
/// 100 s with a valid lifetime of 3600 s.
fn routed_to_c1() -> Relay {
    let mut r = relay();
    C1.granted(&mut r, at(100), 11, 3600);
    r
}

/// The snoop change that forgets PREFIX.
fn forgotten() -> SnoopChange {
    SnoopChange::Remove(pfx(PREFIX))
}

// ---------------------------------------------------------- relaying up --

#[test]
fn client_solicit_is_relayed_to_each_server_with_hop_0_link_and_peer() {
    let mut r = relay();
    let solicit = msg(MessageType::Solicit, 1, 1, vec![ia_pd(1, &[])]);
    let bytes = solicit.to_bytes();
    let outs = up(&mut r, at(1), LAN, ll(1), &bytes);
    let tx = transmits(&outs);
    assert_eq!(tx.len(), 2);
    assert_eq!(tx[0].dst, SERVER);
    assert_eq!(tx[1].dst, SERVER2);
    for t in &tx {
        assert_eq!(t.ifindex, WAN);
        assert_eq!(t.transport, udp(547, 547));
        let f = relayed(t);
        assert_eq!(f.msg_type, MessageType::RelayForw);
        assert_eq!(f.hop_count, 0);
        assert_eq!(f.link_address, LAN_ADDR);
        assert_eq!(f.peer_address, ll(1));
        // A link-address identifies the link: no Interface-ID unasked.
        assert_eq!(f.options.interface_id(), None);
        let carried = f.relay_message().map(Message::to_bytes);
        assert_eq!(carried, Some(bytes.clone()));
    }
    assert_eq!(r.counters().forwarded_up, 1);
}

#[test]
fn link_without_address_sends_unspecified_link_and_interface_id() {
    let mut c = config();
    c.downstream[1].remote_id = Some((32473, b"port7".to_vec()));
    c.downstream[1].subscriber_id = Some(b"sub-42".to_vec());
    let mut r = Relay::new(c, at(0));
    let outs = up(&mut r, at(1), LAN2, ll(2), &solicit(2, 2));
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
    let outs = up(&mut r, at(1), LAN, ll(2), &solicit(2, 2));
    let f = relayed(transmits(&outs)[0]);
    assert_eq!(f.link_address, LAN_ADDR);
    assert_eq!(f.options.interface_id(), Some(&b"lan0"[..]));
}

#[test]
fn without_servers_relays_to_all_dhcp_servers_on_the_upstream() {
    let mut c = config();
    c.servers.clear();
    let mut r = Relay::new(c, at(0));
    let outs = up(&mut r, at(1), LAN, ll(1), &solicit(3, 1));
    let tx = transmits(&outs);
    assert_eq!(tx.len(), 1);
    assert_eq!(tx[0].dst, ALL_DHCP_SERVERS);
    assert_eq!(tx[0].dst, addr("ff05::1:3"));
    assert_eq!(tx[0].ifindex, WAN);
}

#[test]
fn relay_forward_from_a_further_relay_gets_hop_count_plus_one() {
    let mut r = relay();
    let inner = msg(MessageType::Solicit, 4, 1, vec![]);
    let further = addr("2001:db8:a1::99");
    let fwd = RelayMessage::forward(inner, 3, addr("2001:db8:c::1"), ll(1));
    let fwd = Message::Relay(fwd).to_bytes();
    let outs = up(&mut r, at(1), LAN, further, &fwd);
    let f = relayed(transmits(&outs)[0]);
    assert_eq!(f.hop_count, 4);
    assert_eq!(f.peer_address, further);
    assert_eq!(f.relay_message().map(Message::to_bytes), Some(fwd));
}

#[test]
fn relay_forward_at_the_hop_count_limit_is_dropped() {
    let mut r = relay();
    let inner = msg(MessageType::Solicit, 4, 1, vec![]);
    for (hop, forwarded) in [(7u8, true), (8, false), (255, false)] {
        let fwd = RelayMessage::forward(inner.clone(), hop, LAN_ADDR, ll(1));
        let outs = up(&mut r, at(1), LAN, ll(9), &Message::Relay(fwd).to_bytes());
        assert_eq!(!transmits(&outs).is_empty(), forwarded, "hop {hop}");
        if forwarded {
            assert_eq!(relayed(transmits(&outs)[0]).hop_count, 8);
        }
    }
    assert_eq!(r.counters().dropped(DropReason::HopLimit), 2);
}

#[test]
fn client_message_on_a_non_downstream_interface_is_dropped() {
    let mut r = relay();
    let outs = up(&mut r, at(1), WAN, ll(1), &solicit(5, 1));
    assert!(outs.is_empty());
    assert_eq!(r.counters().dropped(DropReason::NotDownstream), 1);
}

// -------------------------------------------------------- relaying down --

#[test]
fn relay_reply_goes_to_the_client_by_interface_id() {
    let mut r = relay();
    let server_id = DhcpOption::ServerId(server_duid());
    let adv = msg(MessageType::Advertise, 6, 2, vec![server_id]);
    let bytes = relay_reply(Ipv6Addr::UNSPECIFIED, ll(2), Some(b"lan2"), adv.clone());
    let outs = down(&mut r, at(1), SERVER2, &bytes);
    let tx = transmits(&outs);
    assert_eq!(tx.len(), 1);
    assert_eq!(tx[0].ifindex, LAN2);
    assert_eq!(tx[0].dst, ll(2));
    assert_eq!(tx[0].transport, udp(547, 546));
    assert_eq!(tx[0].payload, adv.to_bytes());
    assert_eq!(r.counters().forwarded_down, 1);
}

#[test]
fn relay_reply_without_interface_id_is_matched_by_link_address() {
    let mut r = relay();
    let outs = down(&mut r, at(1), SERVER, &lan_reply(advertise(7, 1)));
    assert_eq!(transmits(&outs)[0].ifindex, LAN);
    // An Interface-ID we never sent falls back to the link-address too.
    let bytes = relay_reply(LAN_ADDR, ll(1), Some(b"eth77"), advertise(8, 1));
    let outs = down(&mut r, at(1), SERVER, &bytes);
    assert_eq!(transmits(&outs)[0].ifindex, LAN);
}

#[test]
fn relay_reply_for_no_known_link_is_dropped() {
    let mut r = relay();
    let link = addr("2001:db8:ffff::1");
    let bytes = relay_reply(link, ll(1), Some(b"eth77"), advertise(7, 1));
    assert!(down(&mut r, at(1), SERVER, &bytes).is_empty());
    assert_eq!(r.counters().dropped(DropReason::UnknownInterface), 1);
}

#[test]
fn nested_relay_reply_goes_to_the_further_relay_on_port_547() {
    let mut r = relay();
    let further = addr("2001:db8:a1::99");
    let opts = vec![ia_pd(1, &[(PREFIX, 3600)])];
    let adv = msg(MessageType::Reply, 9, 1, opts);
    let inner = RelayMessage::new(MessageType::RelayRepl, 0, addr("2001:db8:c::1"), ll(1))
        .with(DhcpOption::RelayMessage(Box::new(adv)));
    let inner = Message::Relay(inner);
    let bytes = relay_reply(LAN_ADDR, further, None, inner.clone());
    let outs = down(&mut r, at(1), SERVER, &bytes);
    let tx = transmits(&outs);
    assert_eq!(tx.len(), 1);
    assert_eq!(tx[0].dst, further);
    assert_eq!(tx[0].ifindex, LAN);
    assert_eq!(tx[0].transport, udp(547, 547));
    assert_eq!(tx[0].payload, inner.to_bytes());
    // The further relay is the one next to the client: it routes, not us.
    assert!(kernel(&outs).is_empty());
}

#[test]
fn relay_reply_from_an_unconfigured_server_is_dropped_and_counted() {
    let mut r = relay();
    let rogue = addr("2001:db8:0:1::66");
    let reply = msg(MessageType::Reply, 10, 1, vec![ia_pd(1, &[(PREFIX, 3600)])]);
    let outs = down(&mut r, at(1), rogue, &lan_reply(reply));
    assert!(outs.is_empty(), "nothing relayed, nothing routed: {outs:?}");
    assert_eq!(r.counters().dropped(DropReason::ForeignServer), 1);
    assert_eq!(r.snooped().count(), 0);
}

#[test]
fn relay_reply_from_anyone_upstream_is_accepted_without_servers() {
    let mut c = config();
    c.servers.clear();
    let mut r = Relay::new(c, at(0));
    let anyone = addr("2001:db8:0:1::77");
    let outs = down(&mut r, at(1), anyone, &lan_reply(advertise(7, 1)));
    assert_eq!(transmits(&outs).len(), 1);
    // But never from the client side.
    let bytes = lan_reply(advertise(8, 1));
    let outs = deliver(&mut r, at(1), LAN, ll(5), LAN_ADDR, &bytes);
    assert!(outs.is_empty());
    assert_eq!(r.counters().dropped(DropReason::NotUpstream), 1);
}

// ------------------------------------------------------------- snooping --

#[test]
fn reply_with_ia_pd_routes_the_prefix_via_the_client_link_local() {
    let mut r = relay();
    let outs = C1.granted(&mut r, at(100), 11, 3600);
    // Order: the Reply, then the route, then the record.
    assert!(matches!(outs[0], RelayOutput::Transmit(_)));
    assert_eq!(kernel(&outs), [&set(ll(1), 3600)]);
    let expected = Snooped {
        prefix: pfx(PREFIX),
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
    let mut r = relay();
    let opts = vec![ia_pd(1, &[(PREFIX, 3600)])];
    let adv = msg(MessageType::Advertise, 12, 1, opts);
    let outs = down(&mut r, at(1), SERVER, &lan_reply(adv));
    assert!(kernel(&outs).is_empty() && snoops(&outs).is_empty());
}

#[test]
fn renew_reply_with_new_lifetimes_updates_the_route() {
    let mut r = routed_to_c1();
    let outs = C1.granted(&mut r, at(2000), 12, 7200);
    assert_eq!(kernel(&outs), [&set(ll(1), 7200)]);
    match snoops(&outs).as_slice() {
        [SnoopChange::Upsert(s)] => assert_eq!(s.valid_until, at(9200)),
        other => panic!("expected one upsert, got {other:?}"),
    }
    assert_eq!(r.poll_timeout(), Some(at(9200)));
    assert_eq!(r.counters().routes_updated, 1);
}

#[test]
fn lifetime_zero_removes_the_route_and_the_record() {
    let mut r = routed_to_c1();
    let outs = C1.granted(&mut r, at(200), 12, 0);
    assert_eq!(kernel(&outs), [&del(ll(1), 3500)]);
    assert_eq!(snoops(&outs), [&forgotten()]);
    assert_eq!(r.snooped().count(), 0);
    assert_eq!(r.poll_timeout(), None);
    assert_eq!(r.counters().routes_removed, 1);
}

#[test]
fn release_then_reply_removes_the_route() {
    let mut r = routed_to_c1();
    let release = C1.release(13, vec![DhcpOption::ServerId(server_duid())]);
    let outs = up(&mut r, at(200), LAN, ll(1), &release);
    assert_eq!(transmits(&outs).len(), 2, "relayed to both servers");
    assert!(kernel(&outs).is_empty(), "nothing removed before the Reply");
    assert_eq!(r.status().pending_releases, 1);
    // The Reply to Release carries just a status (RFC 8415 §18.3.7).
    let released = DhcpOption::StatusCode(Status::new(StatusCode::Success, "released"));
    let outs = reply_on_lan(&mut r, at(201), 1, 13, vec![released]);
    assert_eq!(transmits(&outs).len(), 1);
    assert_eq!(kernel(&outs), [&del(ll(1), 3499)]);
    assert_eq!(snoops(&outs), [&forgotten()]);
    assert_eq!(r.status().pending_releases, 0);
}

#[test]
fn release_by_a_former_holder_keeps_the_new_holders_route() {
    let mut r = routed_to_c1();
    C2.granted(&mut r, at(150), 21, 3600);
    up(&mut r, at(200), LAN, ll(1), &C1.release(14, vec![]));
    let outs = reply_on_lan(&mut r, at(201), 1, 14, vec![]);
    assert!(kernel(&outs).is_empty());
    assert_eq!(r.snooped().next().map(|s| s.next_hop), Some(ll(2)));
}

#[test]
fn expiry_via_handle_timeout_removes_the_route() {
    let mut r = relay();
    let two = [(PREFIX, 3600), ("2001:db8:200::/56", 7200)];
    reply_on_lan(&mut r, at(100), 1, 11, vec![ia_pd(7, &two)]);
    assert_eq!(r.poll_timeout(), Some(at(3700)));
    r.handle_timeout(at(3699));
    assert!(drain(&mut r).is_empty(), "spurious wake-up does nothing");
    r.handle_timeout(at(3700));
    let outs = drain(&mut r);
    assert_eq!(kernel(&outs), [&del(ll(1), 0)]);
    assert_eq!(snoops(&outs), [&forgotten()]);
    assert_eq!(r.poll_timeout(), Some(at(7300)));
}

#[test]
fn prefix_moving_to_another_client_replaces_the_route() {
    let mut r = routed_to_c1();
    let outs = C2.granted(&mut r, at(500), 21, 3600);
    assert_eq!(kernel(&outs), [&set(ll(2), 3600)]);
    let s: Vec<Snooped> = r.snooped().cloned().collect();
    assert_eq!(s.len(), 1);
    let holder = (s[0].next_hop, &s[0].client_duid, s[0].iaid);
    assert_eq!(holder, (ll(2), &duid(2), 8));
    // The former holder's late lifetime-0 Reply does not remove it.
    let outs = C1.granted(&mut r, at(501), 12, 0);
    assert!(kernel(&outs).is_empty());
    assert_eq!(r.snooped().count(), 1);
}

#[test]
fn routes_off_still_snoops_without_kernel_ops() {
    let mut c = config();
    c.routes = false;
    let mut r = Relay::new(c, at(0));
    let outs = C1.granted(&mut r, at(100), 11, 3600);
    assert!(kernel(&outs).is_empty());
    assert_eq!(snoops(&outs).len(), 1);
}

#[test]
fn unroutable_or_failed_prefixes_are_not_snooped() {
    let mut r = relay();
    let mut bad = IaPd::new(9, 0, 0);
    // Host bits set, a default route, link-local space.
    for (a, len) in [("2001:db8:100::1", 56u8), ("::", 0), ("fe80::", 64)] {
        let (pl, vl) = (Lifetime::Finite(10), Lifetime::Finite(20));
        let p = IaPrefix::new(addr(a), len, pl, vl);
        bad.options.push(DhcpOption::IaPrefix(p));
    }
    let mut failed = IaPd::new(10, 0, 0);
    let none = Status::new(StatusCode::NoPrefixAvail, "");
    failed.options.push(DhcpOption::StatusCode(none));
    let ias = vec![DhcpOption::IaPd(bad), DhcpOption::IaPd(failed)];
    let outs = reply_on_lan(&mut r, at(1), 1, 15, ias);
    assert_eq!(transmits(&outs).len(), 1, "still relayed");
    assert!(kernel(&outs).is_empty());
    assert_eq!(r.counters().snoop_rejected, 3);
}

#[test]
fn restore_re_emits_live_routes_and_drops_expired_ones() {
    let live = Snooped {
        prefix: pfx(PREFIX),
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
    assert_eq!(kernel(&outs), [&set(ll(1), 4000)]);
    let gone = pfx("2001:db8:200::/56");
    assert_eq!(snoops(&outs), [&SnoopChange::Remove(gone)]);
    assert_eq!(r.snooped().cloned().collect::<Vec<_>>(), vec![live]);
    assert_eq!(r.poll_timeout(), Some(at(5000)));
    r.handle_timeout(at(5000));
    assert_eq!(kernel(&drain(&mut r)).len(), 1);
}

// ------------------------------------------------------------ malformed --

#[test]
fn malformed_datagrams_are_counted_on_both_sides() {
    let mut r = relay();
    assert!(up(&mut r, at(1), LAN, ll(1), &[1, 2]).is_empty());
    assert!(down(&mut r, at(1), SERVER, &[13, 0, 1]).is_empty());
    assert_eq!(r.counters().dropped(DropReason::Malformed), 2);
    // A Relay-reply without a Relay Message option.
    let empty = RelayMessage::new(MessageType::RelayRepl, 0, LAN_ADDR, ll(1));
    let empty = Message::Relay(empty).to_bytes();
    assert!(down(&mut r, at(1), SERVER, &empty).is_empty());
    assert_eq!(r.counters().dropped(DropReason::BadRelayMessage), 1);
    // A multicast source cannot be answered.
    assert!(up(&mut r, at(1), LAN, ALL_AGENTS, &solicit(1, 1)).is_empty());
    assert_eq!(r.counters().dropped(DropReason::BadPeerAddress), 1);
    assert_eq!(r.counters().dropped_total(), 4);
}
