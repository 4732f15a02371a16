//! Server-initiated Reconfigure (RFC 8415 §18.3.11) with the Reconfigure
//! Key Authentication Protocol (§20.4): key hand-out, the Reconfigure sent
//! when leases are revoked, its path through relays, retransmission and its
//! end, and restart. The end-to-end cases drive the real client machine
//! against the real server machine at explicit instants.

#[path = "server_harness.rs"]
mod harness;

use harness::*;
use proptest::prelude::*;
use std::net::Ipv6Addr;
use std::sync::Arc;
use v6edge_core::{Instant, Received, RouteSpec, Transmit};
use v6edge_dhcp6::client::DropReason as ClientDrop;
use v6edge_dhcp6::client::{Client as Dhcp6Client, ClientConfig, ClientStateKind, IaPdConfig};
use v6edge_dhcp6::rkap;
use v6edge_dhcp6::server::{
    Lease, LeaseOp, PrefixPool, REC_MAX_RC, ReconfigureAuth, ReconfigureContext, ReconfigurePath,
    RelayHop, Server, ServerConfig, ServerOutput,
};
use v6edge_prefix::Prefix;
use v6edge_wire::dhcp6::{ClientMessage, DhcpOption, Duid, Message, MessageType, RelayMessage};

/// The client machine's interface.
const CIF: u32 = 2;
const SERVER_LL: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x5e);

fn auth(floor: u64) -> ReconfigureAuth {
    ReconfigureAuth {
        secret: [0x42; 32],
        replay_floor: floor,
    }
}

/// The harness configuration with reconfigure keys enabled.
fn rc_config() -> ServerConfig {
    let mut c = config();
    c.reconfigure = Some(auth(1_000));
    c
}

/// `c` with the pool of link `link` replaced by /56s from `base`.
fn renumbered(mut c: ServerConfig, link: usize, base: &str) -> ServerConfig {
    let pool = &mut c.links[link].prefix_pools[0];
    *pool = PrefixPool {
        prefix: pfx(base),
        ..pool.clone()
    };
    c
}

fn drain(s: &mut Server) -> Vec<ServerOutput> {
    std::iter::from_fn(|| s.poll_output()).collect()
}

fn transmits(outs: &[ServerOutput]) -> Vec<Transmit> {
    outs.iter()
        .filter_map(|o| match o {
            ServerOutput::Transmit(t) => Some(t.clone()),
            _ => None,
        })
        .collect()
}

/// The innermost client message of a datagram.
fn inner(bytes: &[u8]) -> ClientMessage {
    let m = Message::parse(bytes).expect("server output parses");
    m.innermost().expect("a client message").0.clone()
}

/// (key, replay detection) of the RKAP key option of a Reply.
fn key_of(m: &ClientMessage) -> Option<([u8; 16], u64)> {
    let a = m.options.authentication()?;
    assert_eq!((a.protocol, a.algorithm, a.rdm), (3, 1, 0));
    assert_eq!(a.info.len(), 17);
    assert_eq!(
        a.info[0],
        rkap::INFO_TYPE_KEY,
        "a Reply carries the key type"
    );
    Some((
        a.info[1..].try_into().expect("16 octets"),
        a.replay_detection,
    ))
}

fn accept() -> DhcpOption {
    DhcpOption::ReconfigureAccept
}

/// Solicit, Request (both with `opts` added): the Reply.
fn bind_with(h: &mut H, cl: &Client, opts: Vec<DhcpOption>) -> ClientMessage {
    let mut ias = vec![pd(1, &["::/56"])];
    ias.extend(opts.clone());
    let adv = h.solicit(cl, 1, ias).reply();
    assert_eq!(adv.msg_type, MessageType::Advertise);
    assert!(key_of(&adv).is_none(), "no key in an Advertise");
    let mut req: Vec<DhcpOption> = adv
        .options
        .iter()
        .filter(|o| matches!(o, DhcpOption::IaPd(_)))
        .cloned()
        .collect();
    req.extend(opts);
    h.request(cl, 2, req).reply()
}

fn reconfigures(outs: &[ServerOutput]) -> Vec<Transmit> {
    transmits(outs)
        .into_iter()
        .filter(|t| inner(&t.payload).msg_type == MessageType::Reconfigure)
        .collect()
}

// ------------------------------------------------------------ key hand-out --

#[test]
fn key_given_only_with_reconfigure_accept() {
    let mut h = H::new(rc_config());
    let yes = Client::new(1);
    let no = Client::new(2);
    let r = bind_with(&mut h, &yes, vec![accept()]);
    let (key, rd) = key_of(&r).expect("key in the Reply");
    assert!(r.options.has_reconfigure_accept(), "RFC 8415 §21.20");
    assert!(rd >= 1_000, "replay value above the floor: {rd}");
    assert_ne!(key, [0; 16]);
    let r = bind_with(&mut h, &no, vec![]);
    assert!(key_of(&r).is_none());
    assert!(!r.options.has_reconfigure_accept());
    for l in h.s.leases() {
        assert_eq!(l.reconfigure.is_some(), l.duid == yes.duid, "{l:?}");
    }
    let ctx = h.s.leases().find(|l| l.duid == yes.duid).unwrap();
    let ctx = ctx.reconfigure.as_ref().unwrap();
    assert_eq!(ctx.key, key);
    assert_eq!(
        ctx.path,
        ReconfigurePath::Direct {
            ifindex: IF,
            client: yes.ll
        }
    );
}

#[test]
fn no_new_key_without_a_secret() {
    let mut h = H::new(config());
    let cl = Client::new(1);
    let r = bind_with(&mut h, &cl, vec![accept()]);
    assert!(key_of(&r).is_none());
    assert!(h.s.leases().all(|l| l.reconfigure.is_none()));
}

#[test]
fn same_key_on_later_replies_with_growing_replay_values() {
    let mut h = H::new(rc_config());
    let cl = Client::new(1);
    let r = bind_with(&mut h, &cl, vec![accept()]);
    let (key, rd0) = key_of(&r).unwrap();
    let p = the_prefix(&r, 1);
    let held = holding(1, p);
    h.now += secs(100);
    let r = h.renew(&cl, 3, vec![held.clone(), accept()]).reply();
    let (k1, rd1) = key_of(&r).expect("Renew Reply carries the key (deviation)");
    h.now += secs(100);
    let r = h.rebind(&cl, 4, vec![held.clone(), accept()]).reply();
    let (k2, rd2) = key_of(&r).expect("Rebind Reply carries the key");
    assert_eq!((k1, k2), (key, key), "one key per client");
    assert!(rd0 < rd1 && rd1 < rd2, "{rd0} {rd1} {rd2}");
    // Rapid Commit: a second client gets a different key.
    let mut c = rc_config();
    c.rapid_commit = true;
    h.s.reconfigure(h.now, c);
    drain(&mut h.s);
    let other = Client::new(2);
    let r = h
        .solicit(
            &other,
            5,
            vec![pd(1, &["::/56"]), DhcpOption::RapidCommit, accept()],
        )
        .reply();
    assert_eq!(r.msg_type, MessageType::Reply);
    let (k3, _) = key_of(&r).expect("key with Rapid Commit");
    assert_ne!(k3, key);
}

#[test]
fn withdrawing_reconfigure_accept_forgets_the_context() {
    let mut h = H::new(rc_config());
    let cl = Client::new(1);
    let r = bind_with(&mut h, &cl, vec![accept()]);
    let p = the_prefix(&r, 1);
    h.now += secs(60);
    let outs = h.renew(&cl, 3, vec![holding(1, p)]);
    assert!(key_of(&outs.reply()).is_none());
    assert!(h.s.leases().all(|l| l.reconfigure.is_none()));
    // The store learns it too.
    assert!(outs.leases().iter().any(|op| matches!(op,
        LeaseOp::Upsert(l) if l.prefix == p && l.reconfigure.is_none())));
    h.s.reconfigure(h.now, renumbered(rc_config(), 0, "2001:db8:200::/48"));
    assert!(reconfigures(&drain(&mut h.s)).is_empty());
}

// ---------------------------------------------------- end to end with Client --

/// The real client and the real server on one link, delivering each
/// other's datagrams at once.
struct Net {
    s: Server,
    c: Dhcp6Client,
    now: Instant,
    /// Server → client traffic passes through this (None = lost).
    filter: fn(&Transmit) -> Option<Vec<u8>>,
    server_out: Vec<ServerOutput>,
    to_client: Vec<(Instant, MessageType)>,
}

fn pass(t: &Transmit) -> Option<Vec<u8>> {
    Some(t.payload.clone())
}

fn client_config() -> ClientConfig {
    let mut c = ClientConfig::new(
        CIF,
        Duid::new_ll(1, &[0x02, 0, 0, 0xc1, 0, 1]),
        vec![IaPdConfig {
            iaid: 1,
            hint_len: Some(56),
            hint_prefix: None,
        }],
    );
    c.reconfigure_accept = true;
    c
}

fn client_ll() -> Ipv6Addr {
    Client::new(1).ll
}

impl Net {
    fn new(s: Server) -> Net {
        let now = at(1000);
        let mut n = Net {
            s,
            c: Dhcp6Client::new(client_config(), 11, now),
            now,
            filter: pass,
            server_out: Vec::new(),
            to_client: Vec::new(),
        };
        n.c.handle_link(now, true);
        n.pump();
        n
    }

    fn pump(&mut self) {
        for _ in 0..1000 {
            let mut progress = false;
            while let Some(t) = self.c.poll_transmit() {
                progress = true;
                self.s.handle_packet(
                    self.now,
                    &Received {
                        ifindex: IF,
                        src: client_ll(),
                        dst: t.dst,
                        hop_limit: 1,
                        bytes: &t.payload,
                    },
                );
            }
            while let Some(o) = self.s.poll_output() {
                progress = true;
                self.server_out.push(o.clone());
                let ServerOutput::Transmit(t) = o else {
                    continue;
                };
                assert_eq!((t.ifindex, t.dst), (IF, client_ll()));
                assert_eq!(t.transport, udp(547, 546));
                self.to_client.push((self.now, inner(&t.payload).msg_type));
                if let Some(bytes) = (self.filter)(&t) {
                    self.c.handle_packet(
                        self.now,
                        &Received {
                            ifindex: CIF,
                            src: SERVER_LL,
                            dst: t.dst,
                            hop_limit: 64,
                            bytes: &bytes,
                        },
                    );
                }
            }
            if !progress {
                return;
            }
        }
        panic!("the two machines never go quiet");
    }

    /// Runs both machines' timers up to `t`, in order.
    fn advance_to(&mut self, t: Instant) {
        for _ in 0..100_000 {
            let next = [self.c.poll_timeout(), self.s.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            match next {
                Some(n) if n <= t => {
                    self.now = n.max(self.now);
                    self.c.handle_timeout(self.now);
                    self.s.handle_timeout(self.now);
                    self.pump();
                }
                _ => {
                    self.now = t.max(self.now);
                    self.c.handle_timeout(self.now);
                    self.s.handle_timeout(self.now);
                    self.pump();
                    return;
                }
            }
        }
        panic!("timers do not progress");
    }

    fn bound_prefixes(&self) -> Vec<Prefix> {
        self.c
            .status(self.now)
            .leases
            .prefixes
            .iter()
            .filter(|p| p.valid_until.is_none_or(|v| v > self.now))
            .map(|p| p.prefix)
            .collect()
    }

    fn state(&self) -> ClientStateKind {
        self.c.status(self.now).state
    }

    /// Link up to bound.
    fn bind(&mut self) -> Prefix {
        let t = self.now + secs(30);
        self.advance_to(t);
        assert_eq!(self.state(), ClientStateKind::Bound);
        assert!(self.c.status(self.now).reconfigure_key_held);
        let p = self.bound_prefixes();
        assert_eq!(p.len(), 1, "{p:?}");
        p[0]
    }

    fn sent_reconfigures(&self) -> usize {
        self.to_client
            .iter()
            .filter(|(_, t)| *t == MessageType::Reconfigure)
            .count()
    }
}

#[test]
fn revocation_reconfigures_the_client_which_renews_onto_the_new_pool() {
    let mut n = Net::new(Server::new(rc_config(), 7, at(1000)));
    let old = n.bind();
    assert!(pfx("2001:db8:100::/48").contains(&old), "{old}");
    n.server_out.clear();
    let t0 = n.now + secs(60);
    n.advance_to(t0);
    // SIGHUP with a different pool: the lease is revoked and the client is
    // told at once, not at its T1 (900 s).
    n.s.reconfigure(n.now, renumbered(rc_config(), 0, "2001:db8:200::/48"));
    n.pump();
    assert_eq!(n.sent_reconfigures(), 1);
    let rc = n
        .server_out
        .iter()
        .find_map(|o| match o {
            ServerOutput::Transmit(t) if inner(&t.payload).msg_type == MessageType::Reconfigure => {
                Some(inner(&t.payload))
            }
            _ => None,
        })
        .unwrap();
    // RFC 8415 §18.3.11: xid 0, Server and Client Identifiers, Reconfigure
    // Message (Renew), RKAP digest; nothing else.
    assert_eq!(rc.xid.as_u32(), 0);
    assert_eq!(rc.options.server_id(), Some(&server_duid()));
    assert_eq!(rc.options.client_id(), Some(&client_config().duid));
    assert_eq!(rc.options.reconfigure_message(), Some(MessageType::Renew));
    assert_eq!(rc.options.iter().count(), 4);
    // The client renewed at once and the Reply swapped the prefix.
    let new = n.bound_prefixes();
    assert_eq!(new.len(), 1, "{new:?}");
    assert!(pfx("2001:db8:200::/48").contains(&new[0]), "{new:?}");
    assert_eq!(n.state(), ClientStateKind::Bound);
    assert_eq!(n.c.status(n.now).counters.sent(MessageType::Renew), 1);
    let replies: Vec<_> = n.to_client.iter().filter(|(t, _)| *t == n.now).collect();
    assert_eq!(
        replies.len(),
        2,
        "Reconfigure and Reply at the same instant"
    );
    // The server: old route gone, new route set, nothing pending.
    let out = Outs {
        all: n.server_out.clone(),
    };
    let dsts = |routes: Vec<&RouteSpec>| routes.iter().map(|r| r.dst).collect::<Vec<Prefix>>();
    let (del, set) = (dsts(out.del_routes()), dsts(out.set_routes()));
    assert_eq!((del, set), (vec![old], vec![new[0]]));
    assert_eq!(n.s.reconfigures_pending(), 0);
    assert_eq!(n.s.counters().sent(MessageType::Reconfigure), 1);
    let leases: Vec<Prefix> = n.s.leases().map(|l| l.prefix).collect();
    assert_eq!(leases, new);
    // No retransmission afterwards.
    let later = n.now + secs(600);
    n.advance_to(later);
    assert_eq!(n.sent_reconfigures(), 1);
}

#[test]
fn tampered_reconfigure_is_dropped_by_the_client() {
    let mut n = Net::new(Server::new(rc_config(), 7, at(1000)));
    let old = n.bind();
    // Flip one octet of every Reconfigure (the Reconfigure Message option's
    // value, Renew → Rebind, which the client would otherwise act on).
    n.filter = |t| {
        let mut b = t.payload.clone();
        if b.first() == Some(&10) {
            let at = b
                .windows(5)
                .position(|w| w == [0, 19, 0, 1, 5])
                .expect("Reconfigure Message option");
            b[at + 4] = 6;
        }
        Some(b)
    };
    n.s.reconfigure(n.now, renumbered(rc_config(), 0, "2001:db8:200::/48"));
    n.pump();
    assert_eq!(n.sent_reconfigures(), 1);
    let st = n.c.status(n.now);
    assert_eq!(st.counters.dropped(ClientDrop::BadAuth), 1);
    assert_eq!(st.state, ClientStateKind::Bound);
    assert_eq!(st.counters.sent(MessageType::Renew), 0);
    assert_eq!(n.bound_prefixes(), vec![old]);
    // The retransmission (new replay value, new digest) passes untouched.
    n.filter = pass;
    let t = n.now + secs(2);
    n.advance_to(t);
    assert_eq!(n.sent_reconfigures(), 2);
    assert!(pfx("2001:db8:200::/48").contains(&n.bound_prefixes()[0]));
}

#[test]
fn restore_keeps_the_context_and_the_replay_counter_grows() {
    let mut n = Net::new(Server::new(rc_config(), 7, at(1000)));
    let old = n.bind();
    let before: Vec<Lease> = n.s.leases().cloned().collect();
    let ctx = before[0].reconfigure.clone().expect("context kept");
    // Through the store's blob, as the daemon does.
    let stored: Vec<Lease> = before
        .iter()
        .map(|l| Lease {
            reconfigure: l
                .reconfigure
                .as_deref()
                .map(ReconfigureContext::encode)
                .and_then(|b| ReconfigureContext::decode(&b))
                .map(Arc::new),
            ..l.clone()
        })
        .collect();
    assert_eq!(stored, before);
    // Restart with a new pool and a later floor: the lease is revoked, the
    // client is reconfigured with its old key and a larger replay value.
    let mut c = renumbered(rc_config(), 0, "2001:db8:200::/48");
    c.reconfigure = Some(ReconfigureAuth {
        secret: [7; 32],
        replay_floor: 5_000_000,
    });
    let now = n.now + secs(10);
    let mut s = Server::restore(c, stored.clone(), 9, now);
    let outs = drain(&mut s);
    let rcs = reconfigures(&outs);
    assert_eq!(rcs.len(), 1);
    let rd = rkap::verify(&rcs[0].payload, &ctx.key).expect("signed with the kept key");
    assert!(rd >= 5_000_000 && rd > ctx.last_rd, "{rd}");
    assert_eq!(
        s.leases().next().unwrap().reconfigure.as_deref(),
        Some(&*ctx)
    );
    // A floor below the stored value (clock stepped back): still larger.
    let mut c = renumbered(rc_config(), 0, "2001:db8:200::/48");
    c.reconfigure = Some(auth(1));
    let mut s2 = Server::restore(c, stored, 9, now);
    let rcs = reconfigures(&drain(&mut s2));
    let rd2 = rkap::verify(&rcs[0].payload, &ctx.key).unwrap();
    assert!(rd2 > ctx.last_rd, "{rd2} vs {}", ctx.last_rd);
    // The real client accepts the restored server's Reconfigure and renews.
    n.s = s;
    n.now = now;
    for o in outs {
        if let ServerOutput::Transmit(t) = o {
            n.c.handle_packet(
                n.now,
                &Received {
                    ifindex: CIF,
                    src: SERVER_LL,
                    dst: t.dst,
                    hop_limit: 64,
                    bytes: &t.payload,
                },
            );
        }
    }
    n.pump();
    let p = n.bound_prefixes();
    assert_eq!(p.len(), 1);
    assert_ne!(p[0], old);
    assert!(pfx("2001:db8:200::/48").contains(&p[0]));
    assert_eq!(n.s.reconfigures_pending(), 0);
}

// --------------------------------------------------------------- the path --

#[test]
fn relayed_reconfigure_is_wrapped_for_each_relay() {
    let mut h = H::new(rc_config());
    let cl = Client::new(1);
    let inner_relay = RELAY_LINK;
    let outer_link = addr("2001:db8:a0::9");
    // Client → relay 1 (Interface-ID "eth1") → relay 2 ("up0") → server.
    let relay2 = |m: ClientMessage| {
        let r1 = RelayMessage::forward(Message::Client(m), 0, inner_relay, cl.ll)
            .with(DhcpOption::InterfaceId(b"eth1".to_vec()));
        let r2 = RelayMessage::forward(Message::Relay(r1), 1, outer_link, inner_relay)
            .with(DhcpOption::InterfaceId(b"up0".to_vec()));
        Message::Relay(r2).to_bytes()
    };
    let sol = relay2(cl.msg(MessageType::Solicit, 1, vec![pd(1, &["::/56"]), accept()]));
    let adv = inner(&h.rx(RELAY_IF, RELAY_ADDR, SERVER_ADDR, &sol).transmits()[0].payload);
    let ia: Vec<DhcpOption> = adv
        .options
        .iter()
        .filter(|o| matches!(o, DhcpOption::IaPd(_)))
        .cloned()
        .chain([accept()])
        .collect();
    let req = relay2(cl.to_server(MessageType::Request, 2, ia));
    let reply = inner(&h.rx(RELAY_IF, RELAY_ADDR, SERVER_ADDR, &req).transmits()[0].payload);
    let (key, key_rd) = key_of(&reply).expect("key");
    let old = the_prefix(&reply, 1);
    assert!(pfx("2001:db8:b000::/40").contains(&old));
    let lease = h.s.leases().next().unwrap().clone();
    assert_eq!(
        lease.reconfigure.as_ref().unwrap().path,
        ReconfigurePath::Relayed {
            ifindex: RELAY_IF,
            relay: RELAY_ADDR,
            hops: vec![
                RelayHop {
                    hop_count: 1,
                    link_address: outer_link,
                    peer_address: inner_relay,
                    interface_id: Some(b"up0".to_vec()),
                },
                RelayHop {
                    hop_count: 0,
                    link_address: inner_relay,
                    peer_address: cl.ll,
                    interface_id: Some(b"eth1".to_vec()),
                },
            ],
        }
    );

    h.s.reconfigure(h.now, renumbered(rc_config(), 1, "2001:db8:c000::/40"));
    let rcs = reconfigures(&drain(&mut h.s));
    assert_eq!(rcs.len(), 1);
    let t = &rcs[0];
    // RFC 8415 §18.3.11/§19.3: to the relay the messages came from, 547.
    assert_eq!((t.ifindex, t.dst), (RELAY_IF, RELAY_ADDR));
    assert_eq!(t.transport, udp(547, 547));
    let sent = Message::parse(&t.payload).unwrap();
    let outer = as_relay(&sent);
    let repl = MessageType::RelayRepl;
    assert_eq!(relay_header(outer), (repl, 1, outer_link, inner_relay));
    assert_eq!(outer.options.interface_id(), Some(&b"up0"[..]));
    let r1 = as_relay(outer.relay_message().expect("a second Relay-reply"));
    assert_eq!(relay_header(r1), (repl, 0, inner_relay, cl.ll));
    assert_eq!(r1.options.interface_id(), Some(&b"eth1"[..]));
    let Some(m @ Message::Client(rc)) = r1.relay_message() else {
        panic!("the Reconfigure")
    };
    assert_eq!(rc.msg_type, MessageType::Reconfigure);
    // What the client receives from the last relay verifies with its key.
    let rd = rkap::verify(&m.to_bytes(), &key).expect("digest verifies");
    assert!(rd > key_rd);

    // The client's Renew comes back through the relays: answered, stopped.
    let renew = relay2(cl.to_server(MessageType::Renew, 3, vec![holding(1, old), accept()]));
    let reply = inner(&h.rx(RELAY_IF, RELAY_ADDR, SERVER_ADDR, &renew).transmits()[0].payload);
    assert_eq!(
        prefixes(&reply, 1)
            .iter()
            .map(|p| (p.0, p.2 > 0))
            .filter(|p| p.0 == old)
            .collect::<Vec<_>>(),
        vec![(old, false)]
    );
    assert!(pfx("2001:db8:c000::/40").contains(&the_prefix(&reply, 1)));
    assert_eq!(h.s.reconfigures_pending(), 0);
}

// --------------------------------------------------- retransmission, stop --

/// Binds `n` clients with Reconfigure Accept and revokes them all.
fn revoked(n: u16) -> (H, Vec<Client>, Vec<Prefix>) {
    let mut h = H::new(rc_config());
    let mut cls = Vec::new();
    let mut ps = Vec::new();
    for i in 1..=n {
        let cl = Client::new(i);
        let r = bind_with(&mut h, &cl, vec![accept()]);
        ps.push(the_prefix(&r, 1));
        cls.push(cl);
    }
    (h, cls, ps)
}

#[test]
fn retransmits_with_doubling_waits_up_to_rec_max_rc() {
    let (mut h, cls, _) = revoked(1);
    let key =
        h.s.leases()
            .next()
            .unwrap()
            .reconfigure
            .as_ref()
            .unwrap()
            .key;
    let t0 = h.now;
    h.s.reconfigure(t0, renumbered(rc_config(), 0, "2001:db8:200::/48"));
    let mut sent = vec![(t0, reconfigures(&drain(&mut h.s)))];
    // RFC 8415 §18.3.11: REC_TIMEOUT 2 s, doubled after each attempt.
    let mut expect_at = t0;
    for k in 1..REC_MAX_RC {
        expect_at += secs(2u64 << (k - 1));
        assert_eq!(h.s.poll_timeout(), Some(expect_at), "attempt {}", k + 1);
        // A spurious early call does nothing.
        h.s.handle_timeout(Instant::from_micros(expect_at.as_micros() - 1_000_000));
        assert!(drain(&mut h.s).is_empty());
        h.now = expect_at;
        h.s.handle_timeout(h.now);
        sent.push((h.now, reconfigures(&drain(&mut h.s))));
    }
    let offsets: Vec<u64> = sent
        .iter()
        .map(|(t, v)| {
            assert_eq!(v.len(), 1);
            (*t - t0).as_secs()
        })
        .collect();
    assert_eq!(offsets, [0, 2, 6, 14, 30, 62, 126, 254]);
    // Every transmission has a fresh, larger replay value and verifies.
    let rds: Vec<u64> = sent
        .iter()
        .map(|(_, v)| rkap::verify(&v[0].payload, &key).unwrap())
        .collect();
    assert!(rds.windows(2).all(|w| w[0] < w[1]), "{rds:?}");
    assert_eq!(h.s.counters().sent(MessageType::Reconfigure), 8);
    // After the eighth, one last wait, then it gives up.
    assert_eq!(h.s.poll_timeout(), Some(t0 + secs(510)));
    h.now = t0 + secs(510);
    h.s.handle_timeout(h.now);
    assert!(reconfigures(&drain(&mut h.s)).is_empty());
    assert_eq!(h.s.reconfigures_pending(), 0);
    // Only lease expiry is left to wait for.
    assert!(h.s.poll_timeout().is_some_and(|t| t > h.now + secs(1000)));
    let _ = cls;
}

#[test]
fn renew_rebind_information_request_or_no_revoked_lease_stop_it() {
    let (mut h, cls, ps) = revoked(4);
    h.s.reconfigure(h.now, renumbered(rc_config(), 0, "2001:db8:200::/48"));
    assert_eq!(reconfigures(&drain(&mut h.s)).len(), 4);
    assert_eq!(h.s.reconfigures_pending(), 4);
    h.now += secs(1);
    // 1: Renew; 2: Rebind; 3: Information-request; 4: Release.
    h.renew(&cls[0], 10, vec![holding(1, ps[0]), accept()]);
    h.rebind(&cls[1], 11, vec![holding(1, ps[1]), accept()]);
    h.information_request(&cls[2], 12, vec![]);
    assert_eq!(h.s.reconfigures_pending(), 1);
    h.release(&cls[3], 13, vec![holding(1, ps[3])]);
    // Released: nothing revoked left for client 4; its deadline passes
    // without a transmission.
    h.now += secs(1);
    h.s.handle_timeout(h.now);
    assert!(reconfigures(&drain(&mut h.s)).is_empty());
    assert_eq!(h.s.reconfigures_pending(), 0);
    // Client 3 (Information-request) still holds its revoked lease: a later
    // revocation starts a new Reconfigure for it only.
    let later: Vec<Transmit> = {
        h.s.reconfigure(h.now, renumbered(rc_config(), 0, "2001:db8:300::/48"));
        reconfigures(&drain(&mut h.s))
    };
    // Newly revoked: the replacement leases of clients 1 and 2; client 3's
    // lease was revoked already.
    let to: Vec<Ipv6Addr> = later.iter().map(|t| t.dst).collect();
    assert_eq!(to, vec![cls[0].ll, cls[1].ll]);
}

#[test]
fn no_reconfigure_for_clients_that_did_not_accept() {
    let mut h = H::new(rc_config());
    let yes = Client::new(1);
    let no = Client::new(2);
    bind_with(&mut h, &yes, vec![accept()]);
    bind_with(&mut h, &no, vec![]);
    h.s.reconfigure(h.now, renumbered(rc_config(), 0, "2001:db8:200::/48"));
    let rcs = reconfigures(&drain(&mut h.s));
    assert_eq!(rcs.len(), 1);
    assert_eq!(rcs[0].dst, yes.ll);
    assert_eq!(inner(&rcs[0].payload).options.client_id(), Some(&yes.duid));
    assert_eq!(h.s.status().revoked, 2);
    // A configuration change that revokes nothing sends nothing.
    let (mut h, _, _) = revoked(1);
    h.s.reconfigure(h.now, rc_config());
    assert!(reconfigures(&drain(&mut h.s)).is_empty());
}

// ------------------------------------------------------------ the blob --

fn arb_addr() -> impl Strategy<Value = Ipv6Addr> {
    any::<u128>().prop_map(Ipv6Addr::from)
}

fn arb_context() -> impl Strategy<Value = ReconfigureContext> {
    let hop = (
        any::<u8>(),
        arb_addr(),
        arb_addr(),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40)),
    )
        .prop_map(
            |(hop_count, link_address, peer_address, interface_id)| RelayHop {
                hop_count,
                link_address,
                peer_address,
                interface_id,
            },
        );
    let path = prop_oneof![
        (any::<u32>(), arb_addr())
            .prop_map(|(ifindex, client)| ReconfigurePath::Direct { ifindex, client }),
        (
            any::<u32>(),
            arb_addr(),
            proptest::collection::vec(hop, 1..9)
        )
            .prop_map(|(ifindex, relay, hops)| ReconfigurePath::Relayed {
                ifindex,
                relay,
                hops
            }),
    ];
    (any::<[u8; 16]>(), any::<u64>(), path).prop_map(|(key, last_rd, path)| ReconfigureContext {
        key,
        last_rd,
        path,
    })
}

proptest! {
    #[test]
    fn context_blob_round_trips(c in arb_context()) {
        let blob = c.encode();
        prop_assert_eq!(blob[0], 1);
        prop_assert_eq!(ReconfigureContext::decode(&blob), Some(c));
    }

    #[test]
    fn garbage_blobs_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        // Accepted blobs are exact: they encode back to the same octets.
        if let Some(c) = ReconfigureContext::decode(&bytes) {
            prop_assert_eq!(c.encode(), bytes);
        }
    }

    #[test]
    fn mutated_blobs_never_panic(c in arb_context(), at in any::<usize>(), v in any::<u8>()) {
        let mut blob = c.encode();
        let i = at % blob.len();
        blob[i] = v;
        if let Some(d) = ReconfigureContext::decode(&blob) {
            prop_assert_eq!(d.encode(), blob);
        }
    }
}
