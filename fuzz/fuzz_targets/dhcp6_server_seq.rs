//! Fuzz target for the delegating router's DHCPv6 server machine
//! (`v6edge_dhcp6::server::Server`) fed multi-message sequences over time.
//!
//! The input decodes (`arbitrary`) into a server setup and a sequence of
//! events: time steps (the harness wakes the machine at every deadline, as
//! the daemon does), client messages from 16 DUIDs built from their parts
//! (Solicit, Request, Confirm, Renew, Rebind, Release, Decline,
//! Information-request and any other type; hints naming leases held right
//! now by any client), sent directly (multicast or unicast) or through 1
//! to 10 relays, optionally damaged; raw datagrams; a configuration change
//! that shrinks the pools (revocations, Reconfigures); a restart from the
//! leases the store holds.
//!
//! Small pools (4 to 8 entries each) make clients compete. Checked after
//! every input, beyond "no panic":
//! - outputs in the contract's order (Lease, Transmit, Kernel, Notice) and
//!   every Transmit decodes;
//! - the lease store the daemon keeps by applying every `LeaseOp` equals
//!   the machine's leases; the kernel routes it keeps by applying every
//!   `KernelOp` are exactly one per delegated prefix, via its next hop
//!   (so expiry, Release and Decline remove them);
//! - no two leases overlap, every lease lies in a configured pool, no pool
//!   holds more than its capacity, none has outlived its valid lifetime and
//!   preferred <= valid;
//! - no Advertise or Reply offers a client (valid lifetime > 0) what is
//!   leased to another client, and every lease a Reply grants is in the
//!   store under that client;
//! - the machine never asks to be woken at or before the instant it was
//!   just called at.

#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;
use std::net::Ipv6Addr;
use std::time::Duration;
use v6edge_core::{Instant, KernelOp, Received};
use v6edge_dhcp6::server::{
    AddressPool, Lease, LeaseKind, LeaseOp, LinkConfig, LinkSelector, PrefixPool, ReconfigureAuth,
    Reservation, Server, ServerConfig, ServerOutput,
};
use v6edge_fuzz::{
    ClientMsg, Damage, Hop, Known, Step, Timed, WAKEUP_BUDGET, advance, assert_no_spin,
    bounded_events, bulk_allowed, client_duid, relay_forward,
};
use v6edge_prefix::Prefix;
use v6edge_wire::dhcp6::{DhcpOption, Duid, Message, MessageType};

const IF: u32 = 3;
const RELAY_IF: u32 = 4;
const CLIENTS: u8 = 16;
const ALL_SERVERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 1, 2);
const SERVER: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xa0, 0, 0, 0, 0, 1);
const RELAY: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xa0, 0, 0, 0, 0, 2);

fn server_duid() -> Duid {
    Duid::new_ll(1, &[2, 0, 0, 0, 0x5e, 1])
}

fn p(s: &str) -> Prefix {
    s.parse().expect("constant prefix")
}

#[derive(Arbitrary, Debug, Clone, Copy)]
struct Setup {
    seed: u64,
    rapid_commit: bool,
    unicast: bool,
    reconfigure: bool,
    /// Lifetimes of the pools, in seconds (0 -> 1).
    preferred: u16,
    valid: u16,
}

/// The configuration; `shrunk` drops the second address and prefix pools
/// and halves the relayed one (what an operator's edit might do).
fn config(s: &Setup, shrunk: bool) -> ServerConfig {
    let mut c = ServerConfig::new(server_duid());
    c.rapid_commit = s.rapid_commit;
    c.unicast = s.unicast;
    c.decline_probation = Duration::from_secs(600);
    c.last_lease_memory = 8;
    c.options.dns_servers = vec!["2001:db8::53".parse().expect("constant")];
    c.options.sol_max_rt = Some(Duration::from_secs(120));
    c.options.information_refresh = Some(Duration::from_secs(900));
    if s.reconfigure {
        c.reconfigure = Some(ReconfigureAuth {
            secret: [7; 32],
            replay_floor: 1,
        });
    }
    let valid = Duration::from_secs(u64::from(s.valid.max(1)));
    let preferred = Duration::from_secs(u64::from(s.preferred)).min(valid);
    let pool = |prefix: &str, len: u8, exclude: Option<u8>| PrefixPool {
        prefix: p(prefix),
        delegated_len: len,
        preferred,
        valid,
        exclude_first: exclude,
        ends: None,
    };
    let mut direct_prefixes = vec![pool("2001:db8:100::/54", 56, None)];
    let mut direct_addresses = vec![AddressPool {
        range_start: "2001:db8:1::100".parse().expect("constant"),
        range_end: "2001:db8:1::103".parse().expect("constant"),
        preferred,
        valid,
    }];
    if !shrunk {
        direct_prefixes.push(pool("2001:db8:200::/55", 56, None));
        direct_addresses.push(AddressPool {
            range_start: "2001:db8:1::200".parse().expect("constant"),
            range_end: "2001:db8:1::201".parse().expect("constant"),
            preferred,
            valid,
        });
    }
    c.links = vec![
        LinkConfig {
            id: LinkSelector::Interface(IF),
            address_pools: direct_addresses,
            prefix_pools: direct_prefixes,
        },
        LinkConfig {
            id: LinkSelector::RelayLinkAddress(p("2001:db8:a1::/64")),
            address_pools: vec![],
            prefix_pools: vec![pool(
                if shrunk {
                    "2001:db8:b000::/57"
                } else {
                    "2001:db8:b000::/56"
                },
                58,
                None,
            )],
        },
        LinkConfig {
            id: LinkSelector::RelayInterfaceId(b"port7".to_vec()),
            address_pools: vec![],
            prefix_pools: vec![pool("2001:db8:c000::/60", 62, Some(64))],
        },
    ];
    c.reservations = vec![Reservation {
        duid: Some(client_duid(5)),
        hw_addr: None,
        address: None,
        prefix: Some(p("2001:db8:100:300::/56")),
    }];
    c
}

#[derive(Arbitrary, Debug)]
enum Event {
    Wait(Step),
    Direct {
        msg: ClientMsg,
        unicast: bool,
        damage: Option<Damage>,
    },
    Relayed {
        msg: ClientMsg,
        hops: Vec<Hop>,
        damage: Option<Damage>,
    },
    Raw {
        relayed: bool,
        bytes: Vec<u8>,
    },
    /// Switch between the full and the shrunk configuration.
    Reconfigure,
    /// A new machine from the leases in the store.
    Restart,
}

#[derive(Debug)]
struct Input {
    /// Whether huge messages may be built ([`bulk_allowed`]): not decoded,
    /// a hash of the input's bytes.
    bulk: bool,
    setup: Setup,
    events: Vec<Event>,
}

// Decoded by hand so that at most MAX_EVENTS events are: the same bytes
// as the derived take-rest decoding for those.
impl<'a> Arbitrary<'a> for Input {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(Input {
            bulk: false,
            setup: u.arbitrary()?,
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

struct Machine(Server);

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
    store: BTreeMap<Prefix, Lease>,
    routes: BTreeMap<Prefix, Option<Ipv6Addr>>,
}

fn rank(o: &ServerOutput) -> u8 {
    match o {
        ServerOutput::Lease(_) => 0,
        ServerOutput::Transmit(_) => 1,
        ServerOutput::Kernel(_) => 2,
        ServerOutput::Notice(_) => 3,
    }
}

/// The client message inside any number of Relay-replies.
fn innermost(m: &Message) -> Option<&v6edge_wire::dhcp6::ClientMessage> {
    m.innermost().map(|(c, _)| c)
}

/// Every (address or prefix) offered with a valid lifetime above 0.
fn offered(m: &v6edge_wire::dhcp6::ClientMessage) -> Vec<Prefix> {
    let mut v = Vec::new();
    for o in m.options.iter() {
        match o {
            DhcpOption::IaPd(pd) => {
                for x in pd.prefixes() {
                    if !x.valid.is_zero()
                        && let Ok(p) = Prefix::new(x.prefix, x.prefix_len)
                    {
                        v.push(p);
                    }
                }
            }
            DhcpOption::IaNa(na) => {
                for x in na.addresses() {
                    if !x.valid.is_zero()
                        && let Ok(p) = Prefix::new(x.addr, 128)
                    {
                        v.push(p);
                    }
                }
            }
            _ => {}
        }
    }
    v
}

fn check(m: &mut Machine, w: &mut World, cfg: &ServerConfig, now: Instant) {
    let s = &mut m.0;
    let mut last = 0;
    let mut answers = Vec::new();
    while let Some(o) = s.poll_output() {
        let r = rank(&o);
        assert!(r >= last, "outputs out of order");
        last = r;
        match o {
            ServerOutput::Lease(LeaseOp::Upsert(l)) => {
                w.store.insert(l.prefix, l);
            }
            ServerOutput::Lease(LeaseOp::Remove { prefix, .. }) => {
                w.store.remove(&prefix);
            }
            ServerOutput::Transmit(t) => {
                let msg = Message::parse(&t.payload).expect("server sent undecodable bytes");
                answers.push(msg);
            }
            ServerOutput::Kernel(KernelOp::SetRoute(r)) => {
                w.routes.insert(r.dst, r.gateway);
            }
            ServerOutput::Kernel(KernelOp::DelRoute(r)) => {
                w.routes.remove(&r.dst);
            }
            ServerOutput::Kernel(k) => panic!("server asked for {k:?}"),
            ServerOutput::Notice(_) => {}
        }
    }
    let leases: BTreeMap<Prefix, &Lease> = s.leases().map(|l| (l.prefix, l)).collect();
    assert_eq!(leases.len(), s.leases().count(), "two leases with one key");
    // The store the daemon keeps is the machine's lease set.
    assert_eq!(
        w.store.keys().collect::<Vec<_>>(),
        leases.keys().collect::<Vec<_>>(),
        "lease store and machine disagree"
    );
    for (k, l) in &leases {
        let stored = &w.store[k];
        assert_eq!(
            (&stored.duid, stored.iaid, stored.valid_until),
            (&l.duid, l.iaid, l.valid_until)
        );
    }
    // One route per delegated prefix, via its next hop; none else.
    let want: BTreeMap<Prefix, Option<Ipv6Addr>> = leases
        .values()
        .filter(|l| l.kind == LeaseKind::Prefix && l.next_hop.is_some())
        .map(|l| (l.prefix, l.next_hop))
        .collect();
    assert_eq!(
        w.routes, want,
        "kernel routes and delegated prefixes disagree"
    );
    let keys: Vec<&Prefix> = leases.keys().collect();
    for pair in keys.windows(2) {
        assert!(
            !pair[0].overlaps(pair[1]),
            "{} and {} both leased",
            pair[0],
            pair[1]
        );
    }
    let pools: Vec<(Prefix, u8)> = cfg
        .links
        .iter()
        .flat_map(|l| l.prefix_pools.iter().map(|p| (p.prefix, p.delegated_len)))
        .collect();
    let ranges: Vec<(Ipv6Addr, Ipv6Addr)> = cfg
        .links
        .iter()
        .flat_map(|l| l.address_pools.iter().map(|a| (a.range_start, a.range_end)))
        .collect();
    let status = s.status();
    if v6edge_fuzz::tracing() {
        eprintln!(
            "leases {} revoked {} declined {} routes {} answers {:?}",
            status.leases,
            status.revoked,
            status.declined,
            w.routes.len(),
            answers
                .iter()
                .filter_map(innermost)
                .map(|m| m.msg_type)
                .collect::<Vec<_>>()
        );
    }
    // Revoked leases (after a shrinking reconfiguration) stay until the
    // client is told; they lie outside the new pools.
    let revoked = status.revoked > 0;
    for l in leases.values() {
        assert!(l.valid_until > now, "expired lease {} kept", l.prefix);
        assert!(l.preferred_until <= l.valid_until, "preferred after valid");
        let in_pool = match l.kind {
            LeaseKind::Prefix => pools
                .iter()
                .any(|(base, len)| l.prefix.len() == *len && base.contains(&l.prefix)),
            LeaseKind::Address => {
                l.prefix.len() == 128
                    && ranges
                        .iter()
                        .any(|(a, b)| (*a..=*b).contains(&l.prefix.addr()))
            }
        };
        assert!(in_pool || revoked, "lease {} outside every pool", l.prefix);
    }
    for u in status.pools {
        assert!(u.used <= u.capacity, "pool {} over capacity", u.pool);
    }
    for a in &answers {
        let Some(inner) = innermost(a) else { continue };
        let Some(duid) = inner.options.client_id() else {
            continue;
        };
        for x in offered(inner) {
            for l in leases.values() {
                if l.prefix.overlaps(&x) {
                    assert_eq!(
                        &l.duid, duid,
                        "{x} offered to one client, leased to another"
                    );
                }
            }
            if inner.msg_type == MessageType::Reply {
                assert!(
                    leases.get(&x).is_some_and(|l| &l.duid == duid),
                    "{x} granted in a Reply but not leased"
                );
            }
        }
    }
    assert_no_spin(s.poll_timeout(), now);
}

fn relay_link(n: u8) -> Ipv6Addr {
    match n % 4 {
        0 => Ipv6Addr::new(0x2001, 0xdb8, 0xa1, 0, 0, 0, 0, 1),
        1 => Ipv6Addr::UNSPECIFIED,
        2 => Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1),
        _ => Ipv6Addr::new(0x2001, 0xdb8, 0xf, 0, 0, 0, 0, 1),
    }
}

fn deliver(s: &mut Server, now: Instant, relayed: bool, unicast: bool, bytes: &[u8]) {
    let client = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x99);
    let rx = if relayed {
        Received {
            ifindex: RELAY_IF,
            src: RELAY,
            dst: SERVER,
            hop_limit: 64,
            bytes,
        }
    } else {
        Received {
            ifindex: IF,
            src: client,
            dst: if unicast { SERVER } else { ALL_SERVERS },
            hop_limit: if unicast { 64 } else { 1 },
            bytes,
        }
    };
    s.handle_packet(now, &rx);
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
    let mut shrunk = false;
    let mut cfg = config(&input.setup, shrunk);
    let mut m = Machine(Server::new(cfg.clone(), input.setup.seed, now));
    let mut w = World::default();
    let sid = server_duid();
    let mut wakeups = WAKEUP_BUDGET;
    for ev in &input.events {
        match ev {
            Event::Wait(step) => {
                advance(&mut m, &mut now, step.duration(), &mut wakeups, |m, at| {
                    check(m, &mut w, &cfg, at)
                });
                continue;
            }
            Event::Direct {
                msg,
                unicast,
                damage,
            } => {
                let held: Vec<(Ipv6Addr, u8)> =
                    m.0.leases()
                        .map(|l| (l.prefix.addr(), l.prefix.len()))
                        .collect();
                let known = Known {
                    server_duid: &sid,
                    held: &held,
                    clients: CLIENTS,
                    bulk: input.bulk,
                };
                let bytes = encode(&msg.build(&known), damage);
                deliver(&mut m.0, now, false, *unicast, &bytes);
            }
            Event::Relayed { msg, hops, damage } => {
                let held: Vec<(Ipv6Addr, u8)> =
                    m.0.leases()
                        .map(|l| (l.prefix.addr(), l.prefix.len()))
                        .collect();
                let known = Known {
                    server_duid: &sid,
                    held: &held,
                    clients: CLIENTS,
                    bulk: input.bulk,
                };
                let hops: Vec<Hop> = hops.iter().take(10).cloned().collect();
                let wrapped = if hops.is_empty() {
                    relay_forward(
                        msg.build(&known),
                        &[Hop {
                            link: 0,
                            hop_count: None,
                            interface_id: None,
                            peer: 0,
                        }],
                        relay_link,
                    )
                } else {
                    relay_forward(msg.build(&known), &hops, relay_link)
                };
                let bytes = encode(&wrapped, damage);
                deliver(&mut m.0, now, true, true, &bytes);
            }
            Event::Raw { relayed, bytes } => deliver(&mut m.0, now, *relayed, false, bytes),
            Event::Reconfigure => {
                shrunk = !shrunk;
                cfg = config(&input.setup, shrunk);
                m.0.reconfigure(now, cfg.clone());
            }
            Event::Restart => {
                let leases: Vec<Lease> = w.store.values().cloned().collect();
                m = Machine(Server::restore(
                    cfg.clone(),
                    leases,
                    input.setup.seed ^ 1,
                    now,
                ));
                // The restarted daemon reconciles its own routes (proto
                // 118) with what the new machine asks for.
                w.routes.clear();
            }
        }
        check(&mut m, &mut w, &cfg, now);
    }
});
