//! Fuzz target for the DHCPv6 relay machine (`v6edge_dhcp6::relay::Relay`)
//! fed multi-message sequences over time, from both sides.
//!
//! The input decodes (`arbitrary`) into a sequence of events: time steps
//! (the harness wakes the machine at every deadline, as the daemon does);
//! client messages from 16 DUIDs built from their parts (any type,
//! Release and Decline included), on either downstream link or the wrong
//! interface, some already relayed by 1 to 10 relays below; server
//! Relay-replies built from their parts (from a configured server or
//! another host, naming a link by Interface-ID or link-address, nesting
//! further Relay-replies for relays below) around Replies that delegate,
//! renew, zero or give up prefixes, answer Releases by xid, or carry
//! failure statuses; raw datagrams on either side; all optionally damaged.
//!
//! Checked after every input, beyond "no panic":
//! - outputs in the contract's order (Transmit, Kernel, Snoop);
//! - every transmit decodes; upward ones are Relay-forwards to the
//!   configured servers on the upstream interface with a hop count within
//!   the limit; downward ones leave a downstream interface to the
//!   peer-address, port 546 for a client message and 547 for a
//!   Relay-reply;
//! - the routes the daemon keeps by applying every `KernelOp`, and the
//!   records it keeps by applying every `SnoopChange`, are exactly the
//!   snooped delegations (so expiry, lifetime 0, Release and Decline
//!   remove them); every snooped prefix is routable (RFC 8987 §6) and
//!   within its valid lifetime;
//! - the table of Releases awaiting their Reply stays bounded;
//! - the machine never asks to be woken at or before the instant it was
//!   just called at.

#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;
use std::net::Ipv6Addr;
use v6edge_core::{Instant, KernelOp, Received, Transport};
use v6edge_dhcp6::relay::{Downstream, Relay, RelayConfig, RelayOutput, SnoopChange};
use v6edge_fuzz::{
    ClientMsg, Damage, Hop, Known, Life, Step, Timed, WAKEUP_BUDGET, advance, assert_no_spin,
    bounded_events, bulk_allowed, client_duid, doc_prefix, relay_forward, status,
};
use v6edge_prefix::Prefix;
use v6edge_wire::dhcp6::{
    ClientMessage, DhcpOption, Duid, IaPd, IaPrefix, Message, MessageType, RelayMessage, Xid,
};

const WAN: u32 = 2;
const LAN: u32 = 3;
const LAN2: u32 = 5;
const CLIENTS: u8 = 16;
const SERVERS: [Ipv6Addr; 2] = [
    Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 0, 0, 0, 1),
    Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 0, 0, 0, 2),
];
const LAN_ADDR: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xa1, 0, 0, 0, 0, 1);
const RELAY_ADDR: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xa0, 0, 0, 0, 0, 1);
/// The relay's bound on Releases awaiting their Reply.
const PENDING_MAX: usize = 1024;

fn server_duid() -> Duid {
    Duid::new_ll(1, &[2, 0, 0, 0, 0x5e, 1])
}

fn config() -> RelayConfig {
    let mut c = RelayConfig::new(WAN);
    let mut lan = Downstream::new(LAN, b"lan0".to_vec());
    lan.link_address = Some(LAN_ADDR);
    let mut lan2 = Downstream::new(LAN2, b"lan1".to_vec());
    lan2.remote_id = Some((32473, b"cpe-7".to_vec()));
    lan2.subscriber_id = Some(b"sub-7".to_vec());
    c.downstream = vec![lan, lan2];
    c.servers = SERVERS.to_vec();
    c
}

fn peer(n: u8) -> Ipv6Addr {
    match n {
        250 => Ipv6Addr::UNSPECIFIED,
        251 => Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 1, 2),
        252 => Ipv6Addr::new(0x2001, 0xdb8, 0xc1, 0, 0, 0, 0, 1),
        _ => Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0x99, u16::from(n)),
    }
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum PrefixChoice {
    /// One the relay snooped (index into the current table).
    Snooped(u8),
    /// The n-th prefix of this length under 2001:db8::/32.
    Doc {
        index: u16,
        len: u8,
    },
    Raw([u8; 16], u8),
}

#[derive(Arbitrary, Debug, Clone)]
struct Delegation {
    prefix: PrefixChoice,
    preferred: Life,
    valid: Life,
    status: Option<u16>,
}

#[derive(Arbitrary, Debug, Clone)]
struct IaAnswer {
    iaid: u8,
    status: Option<u16>,
    prefixes: Vec<Delegation>,
}

/// The message a server puts inside its Relay-reply.
#[derive(Arbitrary, Debug, Clone)]
enum Inner {
    Reply {
        client: u8,
        with_client_id: bool,
        xid: u16,
        status: Option<u16>,
        ias: Vec<IaAnswer>,
    },
    Advertise {
        client: u8,
        xid: u16,
        ias: Vec<IaAnswer>,
    },
    /// Any client message (a broken server).
    Client(ClientMsg),
    /// A Relay-forward where a Relay-reply belongs.
    Forward(ClientMsg),
}

/// One Relay-reply layer, outermost first.
#[derive(Arbitrary, Debug, Clone)]
struct Layer {
    /// 0: our LAN's link-address, 1: `::`, 2: another address.
    link: u8,
    /// 0: "lan0", 1: "lan1", 2: garbage; none when `None`.
    interface_id: Option<u8>,
    peer: u8,
    hop_count: u8,
}

#[derive(Arbitrary, Debug, Clone)]
struct FromServer {
    /// 0, 1: the configured servers; other: a foreign host.
    from: u8,
    /// Arrives on a downstream interface instead of the upstream one.
    wrong_side: bool,
    layers: Vec<Layer>,
    inner: Inner,
    damage: Option<Damage>,
}

#[derive(Arbitrary, Debug)]
enum Event {
    Wait(Step),
    FromClient {
        msg: ClientMsg,
        /// 0: LAN, 1: LAN2, 2: the upstream interface, other: unknown.
        ifindex: u8,
        src: u8,
        /// Relays below us (the message arrives as a Relay-forward).
        below: Vec<Hop>,
        damage: Option<Damage>,
    },
    FromServer(FromServer),
    Raw {
        upstream: bool,
        bytes: Vec<u8>,
    },
}

#[derive(Debug)]
struct Input {
    /// Whether huge messages may be built ([`bulk_allowed`]): not decoded,
    /// a hash of the input's bytes.
    bulk: bool,
    events: Vec<Event>,
}

// Decoded by hand so that at most MAX_EVENTS events are: the same bytes
// as the derived take-rest decoding for those.
impl<'a> Arbitrary<'a> for Input {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(Input {
            bulk: false,
            events: bounded_events(u)?,
        })
    }

    fn arbitrary_take_rest(mut u: Unstructured<'a>) -> arbitrary::Result<Self> {
        let bulk = bulk_allowed(u.peek_bytes(u.len()).unwrap_or_default());
        Ok(Input {
            bulk,
            ..Self::arbitrary(&mut u)?
        })
    }
}

struct Machine(Relay);

impl Timed for Machine {
    fn next_deadline(&self) -> Option<Instant> {
        self.0.poll_timeout()
    }
    fn on_timeout(&mut self, now: Instant) {
        self.0.handle_timeout(now);
    }
}

/// What the daemon would hold if it carried out every output.
#[derive(Default)]
struct World {
    routes: BTreeMap<Prefix, (Option<Ipv6Addr>, Option<u32>)>,
    records: BTreeMap<Prefix, (Ipv6Addr, u32)>,
}

fn rank(o: &RelayOutput) -> u8 {
    match o {
        RelayOutput::Transmit(_) => 0,
        RelayOutput::Kernel(_) => 1,
        RelayOutput::Snoop(_) => 2,
    }
}

fn check(m: &mut Machine, w: &mut World, now: Instant) {
    let r = &mut m.0;
    let mut last = 0;
    while let Some(o) = r.poll_output() {
        let k = rank(&o);
        assert!(k >= last, "outputs out of order");
        last = k;
        match o {
            RelayOutput::Transmit(t) => {
                let msg = Message::parse(&t.payload).expect("relay sent undecodable bytes");
                let Transport::Udp { dst_port, .. } = t.transport else {
                    panic!("relay sent ICMPv6");
                };
                if t.ifindex == WAN {
                    assert!(SERVERS.contains(&t.dst), "relayed up to {}", t.dst);
                    assert_eq!(dst_port, 547);
                    match &msg {
                        Message::Relay(f) => {
                            assert_eq!(f.msg_type, MessageType::RelayForw);
                            // RFC 8415 §19.1.2: a Relay-forward arriving with hop-count
                            // HOP_COUNT_LIMIT - 1 leaves with HOP_COUNT_LIMIT.
                            assert!(f.hop_count <= 8, "hop count {} passed on", f.hop_count);
                        }
                        Message::Client(_) => panic!("client message sent up unwrapped"),
                    }
                } else {
                    assert!(
                        t.ifindex == LAN || t.ifindex == LAN2,
                        "sent on {}",
                        t.ifindex
                    );
                    assert!(!t.dst.is_multicast() && !t.dst.is_unspecified());
                    let want = match &msg {
                        Message::Client(_) => 546,
                        Message::Relay(x) => {
                            assert_eq!(x.msg_type, MessageType::RelayRepl);
                            547
                        }
                    };
                    assert_eq!(dst_port, want);
                }
            }
            RelayOutput::Kernel(KernelOp::SetRoute(rt)) => {
                w.routes.insert(rt.dst, (rt.gateway, rt.ifindex));
            }
            RelayOutput::Kernel(KernelOp::DelRoute(rt)) => {
                assert!(
                    w.routes.remove(&rt.dst).is_some(),
                    "removed a route never set"
                );
            }
            RelayOutput::Kernel(k) => panic!("relay asked for {k:?}"),
            RelayOutput::Snoop(SnoopChange::Upsert(s)) => {
                w.records.insert(s.prefix, (s.next_hop, s.ifindex));
            }
            RelayOutput::Snoop(SnoopChange::Remove(p)) => {
                w.records.remove(&p);
            }
        }
    }
    let snooped: BTreeMap<Prefix, (Ipv6Addr, u32)> = r
        .snooped()
        .map(|s| (s.prefix, (s.next_hop, s.ifindex)))
        .collect();
    assert_eq!(
        w.records, snooped,
        "relay-bindings and snooped table disagree"
    );
    let routes: BTreeMap<Prefix, (Option<Ipv6Addr>, Option<u32>)> = snooped
        .iter()
        .map(|(p, (nh, i))| (*p, (Some(*nh), Some(*i))))
        .collect();
    assert_eq!(w.routes, routes, "kernel routes and snooped table disagree");
    for s in r.snooped() {
        assert!(s.valid_until > now, "expired delegation {} kept", s.prefix);
        let a = s.prefix.addr();
        assert!(
            s.prefix.len() > 0 && !a.is_multicast() && !a.is_unicast_link_local(),
            "unroutable {} snooped",
            s.prefix
        );
    }
    let st = r.status();
    if v6edge_fuzz::tracing() {
        eprintln!(
            "snooped {} pending {} up {} down {} routes +{} -{}",
            st.snooped,
            st.pending_releases,
            st.counters.forwarded_up,
            st.counters.forwarded_down,
            st.counters.routes_added,
            st.counters.routes_removed
        );
    }
    assert!(st.pending_releases <= PENDING_MAX);
    assert_no_spin(r.poll_timeout(), now);
}

fn build_ias(ias: &[IaAnswer], snooped: &[Prefix]) -> Vec<DhcpOption> {
    ias.iter()
        .map(|ia| {
            let mut pd = IaPd::new(u32::from(ia.iaid % 4), 0, 0);
            if let Some(s) = ia.status {
                pd.options.push(status(s));
            }
            for d in ia.prefixes.iter().take(64) {
                let (a, len) = match d.prefix {
                    PrefixChoice::Snooped(i) if !snooped.is_empty() => {
                        let p = snooped[usize::from(i) % snooped.len()];
                        (p.addr(), p.len())
                    }
                    PrefixChoice::Snooped(i) => (doc_prefix(u32::from(i), 56), 56),
                    PrefixChoice::Doc { index, len } => (doc_prefix(u32::from(index), len), len),
                    PrefixChoice::Raw(a, l) => (Ipv6Addr::from(a), l),
                };
                let mut p = IaPrefix::new(a, len, d.preferred.lifetime(), d.valid.lifetime());
                if let Some(s) = d.status {
                    p.options.push(status(s));
                }
                pd.options.push(DhcpOption::IaPrefix(p));
            }
            DhcpOption::IaPd(pd)
        })
        .collect()
}

fn inner_message(inner: &Inner, snooped: &[Prefix], known: &Known<'_>) -> Message {
    match inner {
        Inner::Reply {
            client,
            with_client_id,
            xid,
            status: st,
            ias,
        } => {
            let mut m = ClientMessage::new(MessageType::Reply, Xid::new(u32::from(*xid)))
                .with(DhcpOption::ServerId(server_duid()));
            if *with_client_id {
                m = m.with(DhcpOption::ClientId(client_duid(client % CLIENTS)));
            }
            if let Some(s) = st {
                m = m.with(status(*s));
            }
            for o in build_ias(ias, snooped) {
                m = m.with(o);
            }
            Message::Client(m)
        }
        Inner::Advertise { client, xid, ias } => {
            let mut m = ClientMessage::new(MessageType::Advertise, Xid::new(u32::from(*xid)))
                .with(DhcpOption::ServerId(server_duid()))
                .with(DhcpOption::ClientId(client_duid(client % CLIENTS)));
            for o in build_ias(ias, snooped) {
                m = m.with(o);
            }
            Message::Client(m)
        }
        Inner::Client(c) => c.build(known),
        Inner::Forward(c) => relay_forward(
            c.build(known),
            &[Hop {
                link: 0,
                hop_count: None,
                interface_id: None,
                peer: 1,
            }],
            |_| LAN_ADDR,
        ),
    }
}

fn from_server(f: &FromServer, snooped: &[Prefix], known: &Known<'_>) -> Vec<u8> {
    let mut m = inner_message(&f.inner, snooped, known);
    // Innermost layer first: the list is outermost first.
    let layers: Vec<&Layer> = f.layers.iter().take(10).collect();
    let outermost = Layer {
        link: 0,
        interface_id: None,
        peer: 1,
        hop_count: 0,
    };
    let layers = if layers.is_empty() {
        vec![&outermost]
    } else {
        layers
    };
    for l in layers.iter().rev() {
        let link = match l.link % 3 {
            0 => LAN_ADDR,
            1 => Ipv6Addr::UNSPECIFIED,
            _ => Ipv6Addr::new(0x2001, 0xdb8, 0xee, 0, 0, 0, 0, 1),
        };
        let mut r = RelayMessage::new(MessageType::RelayRepl, l.hop_count, link, peer(l.peer))
            .with(DhcpOption::RelayMessage(Box::new(m)));
        match l.interface_id {
            Some(0) => r = r.with(DhcpOption::InterfaceId(b"lan0".to_vec())),
            Some(1) => r = r.with(DhcpOption::InterfaceId(b"lan1".to_vec())),
            Some(x) => r = r.with(DhcpOption::InterfaceId(vec![x])),
            None => {}
        }
        m = Message::Relay(r);
    }
    encode(&m, &f.damage)
}

fn encode(m: &Message, damage: &Option<Damage>) -> Vec<u8> {
    // A datagram holds at most 65527 octets; no option of a message that
    // fits can pass the codec's 65535-octet limit.
    if m.buffer_len() > 65_527 {
        return Vec::new();
    }
    let mut bytes = m.to_bytes();
    if let Some(d) = damage {
        d.apply(&mut bytes);
    }
    bytes
}

fuzz_target!(|input: Input| {
    let mut now = Instant::from_secs(1_000);
    let mut m = Machine(Relay::new(config(), now));
    let mut w = World::default();
    let sid = server_duid();
    let mut wakeups = WAKEUP_BUDGET;
    for ev in &input.events {
        let snooped: Vec<Prefix> = m.0.snooped().map(|s| s.prefix).collect();
        let held: Vec<(Ipv6Addr, u8)> = snooped.iter().map(|p| (p.addr(), p.len())).collect();
        let known = Known {
            server_duid: &sid,
            held: &held,
            clients: CLIENTS,
            bulk: input.bulk,
        };
        match ev {
            Event::Wait(step) => {
                advance(&mut m, &mut now, step.duration(), &mut wakeups, |m, at| {
                    check(m, &mut w, at)
                });
                continue;
            }
            Event::FromClient {
                msg,
                ifindex,
                src,
                below,
                damage,
            } => {
                let inner = msg.build(&known);
                let below: Vec<Hop> = below.iter().take(10).cloned().collect();
                let built = if below.is_empty() {
                    inner
                } else {
                    relay_forward(inner, &below, |n| {
                        Ipv6Addr::new(0x2001, 0xdb8, 0xa2, 0, 0, 0, 0, u16::from(n))
                    })
                };
                let bytes = encode(&built, damage);
                let ifindex = match ifindex {
                    0 => LAN,
                    1 => LAN2,
                    2 => WAN,
                    x => u32::from(*x),
                };
                m.0.handle_packet(
                    now,
                    &Received {
                        ifindex,
                        src: peer(*src),
                        dst: Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 1, 2),
                        hop_limit: 1,
                        bytes: &bytes,
                    },
                );
            }
            Event::FromServer(f) => {
                let bytes = from_server(f, &snooped, &known);
                let src = match f.from {
                    0 => SERVERS[0],
                    1 => SERVERS[1],
                    _ => Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 0, 0, 0, 9),
                };
                m.0.handle_packet(
                    now,
                    &Received {
                        ifindex: if f.wrong_side { LAN } else { WAN },
                        src,
                        dst: RELAY_ADDR,
                        hop_limit: 64,
                        bytes: &bytes,
                    },
                );
            }
            Event::Raw { upstream, bytes } => {
                let (ifindex, src) = if *upstream {
                    (WAN, SERVERS[0])
                } else {
                    (LAN, peer(1))
                };
                m.0.handle_packet(
                    now,
                    &Received {
                        ifindex,
                        src,
                        dst: RELAY_ADDR,
                        hop_limit: 64,
                        bytes,
                    },
                );
            }
        }
        check(&mut m, &mut w, now);
    }
});
