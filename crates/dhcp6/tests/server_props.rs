//! Property tests for the server: random sequences of Solicits, Requests,
//! Renews, Rebinds (direct and relayed), Releases, Declines, time jumps,
//! crash-and-restore from the stored leases and configuration changes,
//! from many clients against small pools. After every step:
//! - no two leases overlap (one prefix is never given to two clients);
//! - every live lease in a Reply is the server's lease for that client and
//!   IA, and nothing offered in an Advertise is held by someone else;
//! - the store (LeaseOps applied in order) equals the server's leases;
//! - the kernel table (Set/DelRoute applied) holds exactly one route per
//!   delegated prefix, via the right next hop.

#[path = "server_harness.rs"]
mod harness;

use harness::*;
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::net::Ipv6Addr;
use v6edge_core::KernelOp;
use v6edge_dhcp6::server::{Lease, LeaseOp, Server, ServerConfig, ServerOutput};
use v6edge_prefix::Prefix;
use v6edge_wire::dhcp6::{ClientMessage, DhcpOption, Duid, MessageType};

const CLIENTS: u16 = 6;

/// Small pools so that clients compete: 8 /56s and 6 addresses on the
/// direct link, 4 /58s on the relayed one.
fn small(variant: bool) -> ServerConfig {
    let mut c = config();
    c.links[0].prefix_pools[0].prefix = pfx("2001:db8:100::/53");
    c.links[0].address_pools[0].range_end = addr("2001:db8:1::105");
    c.links[1].prefix_pools[0].prefix = pfx("2001:db8:b000::/56");
    c.links[1].prefix_pools[0].delegated_len = 58;
    c.links.truncate(2);
    c.rapid_commit = true;
    if variant {
        // /57s over the same space: every /56 lease no longer fits.
        c.links[0].prefix_pools[0].delegated_len = 57;
        c.links[0].address_pools[0].range_end = addr("2001:db8:1::102");
    }
    c
}

#[derive(Debug, Clone)]
enum Op {
    Solicit {
        c: u16,
        rapid: bool,
        relayed: bool,
    },
    Request {
        c: u16,
        hint: Option<u8>,
        relayed: bool,
    },
    Renew {
        c: u16,
        relayed: bool,
    },
    Rebind {
        c: u16,
        relayed: bool,
        extra: Option<u8>,
    },
    Release {
        c: u16,
    },
    Decline {
        c: u16,
    },
    Advance(u16),
    Restore,
    Reconfigure,
}

fn op() -> impl Strategy<Value = Op> {
    let c = 0..CLIENTS;
    prop_oneof![
        3 => (c.clone(), any::<bool>(), any::<bool>()).prop_map(|(c, rapid, relayed)| Op::Solicit { c, rapid, relayed }),
        4 => (c.clone(), proptest::option::of(0u8..10), any::<bool>()).prop_map(|(c, hint, relayed)| Op::Request { c, hint, relayed }),
        3 => (c.clone(), any::<bool>()).prop_map(|(c, relayed)| Op::Renew { c, relayed }),
        2 => (c.clone(), any::<bool>(), proptest::option::of(0u8..10)).prop_map(|(c, relayed, extra)| Op::Rebind { c, relayed, extra }),
        1 => c.clone().prop_map(|c| Op::Release { c }),
        1 => c.prop_map(|c| Op::Decline { c }),
        2 => (0u16..5000).prop_map(Op::Advance),
        1 => Just(Op::Restore),
        1 => Just(Op::Reconfigure),
    ]
}

/// The world around the server: clients' beliefs, the store, the kernel.
struct World {
    h: H,
    variant: bool,
    clients: Vec<Client>,
    /// What each client holds per its last Reply: (iaid, is_pd) → leases.
    held: BTreeMap<(u16, u32, bool), Vec<(Ipv6Addr, u8)>>,
    store: BTreeMap<Prefix, Lease>,
    routes: BTreeMap<Prefix, Option<Ipv6Addr>>,
    /// Lease events over the whole run (server counters restart with it).
    events: BTreeMap<String, u64>,
    xid: u32,
}

fn hint_prefix(i: u8) -> String {
    // Some inside the direct pool, some in the relayed one, some nowhere.
    match i % 3 {
        0 => format!("2001:db8:100:{:x}00::/56", i),
        1 => format!("2001:db8:b000:{:x}0::/58", i % 4 * 4),
        _ => format!("2001:db8:dead:{:x}00::/56", i),
    }
}

impl World {
    fn new() -> World {
        World {
            h: H::new(small(false)),
            variant: false,
            clients: (0..CLIENTS).map(|n| Client::new(n + 1)).collect(),
            held: BTreeMap::new(),
            store: BTreeMap::new(),
            routes: BTreeMap::new(),
            events: BTreeMap::new(),
            xid: 0,
        }
    }

    fn ias(&self, c: u16, with_held: bool, extra: Option<u8>) -> Vec<DhcpOption> {
        let mut out = Vec::new();
        for iaid in [1u32, 2] {
            let mut ps: Vec<String> = if with_held {
                self.held
                    .get(&(c, iaid, true))
                    .into_iter()
                    .flatten()
                    .map(|(a, l)| format!("{a}/{l}"))
                    .collect()
            } else {
                Vec::new()
            };
            if let Some(e) = extra {
                ps.push(hint_prefix(e.wrapping_add(iaid as u8)));
            }
            let refs: Vec<&str> = ps.iter().map(String::as_str).collect();
            out.push(pd(iaid, &refs));
        }
        let addrs: Vec<String> = if with_held {
            self.held
                .get(&(c, 3, false))
                .into_iter()
                .flatten()
                .map(|(a, _)| a.to_string())
                .collect()
        } else {
            Vec::new()
        };
        let refs: Vec<&str> = addrs.iter().map(String::as_str).collect();
        out.push(na(3, &refs));
        out
    }

    fn send(&mut self, c: u16, m: ClientMessage, relayed: bool) -> Outs {
        let cl = self.clients[c as usize].clone();
        let outs = if relayed {
            self.h.send_relayed(&cl, m, addr("2001:db8:a1::1"), vec![])
        } else {
            self.h.send(&cl, m)
        };
        self.apply(&outs);
        outs
    }

    /// Client `c` sends a `t` (as [`Client::message`] builds it, with the
    /// current xid) and checks the answer as it learns from it.
    fn exchange(&mut self, c: u16, t: MessageType, ias: Vec<DhcpOption>, relayed: bool) {
        let m = self.clients[c as usize].message(t, self.xid, ias);
        let outs = self.send(c, m, relayed);
        self.learn(c, &outs);
    }

    fn apply(&mut self, outs: &Outs) {
        for o in &outs.all {
            match o {
                ServerOutput::Lease(LeaseOp::Upsert(l)) => {
                    self.store.insert(l.prefix, l.clone());
                }
                ServerOutput::Lease(LeaseOp::Remove { prefix, .. }) => {
                    self.store.remove(prefix);
                }
                ServerOutput::Kernel(KernelOp::SetRoute(r)) => {
                    self.routes.insert(r.dst, r.gateway);
                }
                ServerOutput::Kernel(KernelOp::DelRoute(r)) => {
                    assert!(
                        self.routes.remove(&r.dst).is_some(),
                        "DelRoute of a route never set: {r:?}"
                    );
                }
                ServerOutput::Notice(n) => {
                    *self.events.entry(format!("{:?}", n.event)).or_insert(0) += 1;
                }
                _ => {}
            }
        }
    }

    fn step(&mut self, op: &Op) {
        self.xid += 1;
        let xid = self.xid;
        match *op {
            Op::Solicit { c, rapid, relayed } => {
                let mut ias = self.ias(c, false, None);
                if rapid {
                    ias.push(DhcpOption::RapidCommit);
                }
                self.exchange(c, MessageType::Solicit, ias, relayed);
            }
            Op::Request { c, hint, relayed } => {
                let ias = self.ias(c, true, hint);
                self.exchange(c, MessageType::Request, ias, relayed);
            }
            Op::Renew { c, relayed } => {
                let ias = self.ias(c, true, None);
                self.exchange(c, MessageType::Renew, ias, relayed);
            }
            Op::Rebind { c, relayed, extra } => {
                let ias = self.ias(c, true, extra);
                self.exchange(c, MessageType::Rebind, ias, relayed);
            }
            Op::Release { c } | Op::Decline { c } => {
                let t = if matches!(op, Op::Release { .. }) {
                    MessageType::Release
                } else {
                    MessageType::Decline
                };
                let m = self.clients[c as usize].message(t, xid, self.ias(c, true, None));
                self.send(c, m, false);
                self.held
                    .retain(|k, _| k.0 != c || (t == MessageType::Decline && k.2));
            }
            Op::Advance(s) => {
                let outs = self.h.advance(secs(u64::from(s)));
                self.apply(&outs);
            }
            Op::Restore => {
                // kill -9: only the store survives; the daemon reconciles
                // its routes from what restore emits.
                let leases: Vec<Lease> = self.store.values().cloned().collect();
                self.h.s = Server::restore(small(self.variant), leases, 11, self.h.now);
                self.routes.clear();
                let outs = self.h.drain();
                self.apply(&outs);
            }
            Op::Reconfigure => {
                self.variant = !self.variant;
                self.h.s.reconfigure(self.h.now, small(self.variant));
                let outs = self.h.drain();
                self.apply(&outs);
            }
        }
        self.check();
    }

    /// Reads an answer as the client would, and checks it against the
    /// server's table.
    fn learn(&mut self, c: u16, outs: &Outs) {
        let Some(m) = outs.sent() else { return };
        let reply = m.innermost().expect("client message").0.clone();
        let duid: Duid = self.clients[c as usize].duid.clone();
        let committed = reply.msg_type == MessageType::Reply;
        let leases: BTreeMap<Prefix, Lease> =
            self.h.s.leases().map(|l| (l.prefix, l.clone())).collect();
        let mut seen = Vec::new();
        for ia in reply.options.ia_pds() {
            let live: Vec<(Ipv6Addr, u8)> = ia
                .prefixes()
                .filter(|p| !p.valid.is_zero())
                .map(|p| (p.prefix, p.prefix_len))
                .collect();
            for &(a, l) in &live {
                seen.push((Prefix::new(a, l).expect("no host bits"), ia.iaid));
            }
            if committed {
                self.held.insert((c, ia.iaid, true), live);
            }
        }
        for ia in reply.options.ia_nas() {
            let live: Vec<(Ipv6Addr, u8)> = ia
                .addresses()
                .filter(|a| !a.valid.is_zero())
                .map(|a| (a.addr, 128))
                .collect();
            for &(a, l) in &live {
                seen.push((Prefix::new(a, l).expect("an address"), ia.iaid));
            }
            if committed {
                self.held.insert((c, ia.iaid, false), live);
            }
        }
        for (p, iaid) in seen {
            match leases.get(&p) {
                Some(l) => assert!(
                    l.duid == duid && (!committed || l.iaid == iaid),
                    "{p} answered to client {c} IA {iaid} but held by {l:?}"
                ),
                None => assert!(!committed, "{p} given in a Reply without a lease"),
            }
            // Offered or given: overlaps nothing held by another client.
            for (q, l) in &leases {
                if l.duid != duid {
                    assert!(
                        !q.overlaps(&p),
                        "{p} to client {c} overlaps {q} of {:?}",
                        l.duid
                    );
                }
            }
        }
    }

    fn check(&self) {
        let leases: Vec<Lease> = self.h.s.leases().cloned().collect();
        let mut sorted: Vec<Prefix> = leases.iter().map(|l| l.prefix).collect();
        sorted.sort();
        for w in sorted.windows(2) {
            assert!(!w[0].overlaps(&w[1]), "leases overlap: {} {}", w[0], w[1]);
        }
        for l in &leases {
            assert!(l.valid_until > self.h.now, "expired lease kept: {l:?}");
        }
        let server: BTreeMap<Prefix, &Lease> = leases.iter().map(|l| (l.prefix, l)).collect();
        assert_eq!(server.len(), self.store.len(), "store and server disagree");
        for (p, l) in &self.store {
            assert_eq!(server.get(p).copied(), Some(l), "store differs at {p}");
        }
        let want: BTreeMap<Prefix, Option<Ipv6Addr>> = leases
            .iter()
            .filter(|l| l.next_hop.is_some() && l.prefix.len() < 128)
            .map(|l| (l.prefix, l.next_hop))
            .collect();
        assert_eq!(self.routes, want, "kernel routes differ from delegations");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn one_prefix_never_goes_to_two_clients(ops in proptest::collection::vec(op(), 1..80)) {
        let mut w = World::new();
        for o in &ops {
            w.step(o);
        }
    }
}

/// The same, long and deterministic, so a regression shows without
/// shrinking: 20k steps from a fixed seed.
#[test]
fn long_random_run_keeps_the_invariants() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]),
    );
    let strategy = proptest::collection::vec(op(), 20_000);
    let ops = strategy.new_tree(&mut runner).expect("strategy").current();
    let mut w = World::new();
    for o in &ops {
        w.step(o);
    }
    let n = |e: &str| w.events.get(e).copied().unwrap_or(0);
    assert!(n("Granted") > 1000 && n("Renewed") > 1000, "{:?}", w.events);
    for e in ["Expired", "Released", "Declined", "Revoked"] {
        assert!(n(e) > 20, "{e}: {:?}", w.events);
    }
}
