//! Several RIPng machines on simulated links (no delay; a message may be
//! lost on purpose): the RFC 2080 behaviour end to end: a route travels
//! with its metric, poisoned reverse shows on the wire, a withdrawal
//! reaches the far end as metric 16 within the triggered-update delays, a
//! silent router's routes time out, and a broken link in a triangle
//! converges to the other path; then the KAME book's route6d scenarios
//! (leaf network, simple loop, three-level aggregation, filtering, count
//! to infinity).

use std::collections::BTreeMap;
use std::net::Ipv6Addr;
use std::time::Duration;

use v6edge_core::{IfIndex, Instant, KernelOp, Received, RouteSpec, Transmit, Transport};
use v6edge_prefix::Prefix;
use v6edge_ripng::{
    InterfaceConfig, OriginatedRoute, Ripng, RipngConfig, RipngOutput, SplitHorizon,
};
use v6edge_wire::ripng::{Command, RipngBody, RipngMessage};

struct Node {
    machine: Ripng,
    /// ifindex -> link id.
    ports: BTreeMap<IfIndex, usize>,
    kernel: BTreeMap<Prefix, RouteSpec>,
    alive: bool,
}

struct Net {
    nodes: Vec<Node>,
    now: Instant,
    /// Links that carry nothing.
    cut: Vec<usize>,
    /// Every update seen: (node, ifindex, message).
    wire: Vec<(usize, IfIndex, RipngMessage)>,
    /// The next Response from (node, ifindex) that carries the prefix
    /// with this metric is lost on the link.
    lose: Option<(usize, IfIndex, Prefix, u8)>,
    /// Nodes whose next-hop RTEs never reach the others, as from a router
    /// that sends none (KAME's route6d).
    no_next_hops: Vec<usize>,
}

fn link_local(node: usize, ifindex: IfIndex) -> Ipv6Addr {
    Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, node as u16 + 1, ifindex as u16)
}

fn pfx(s: &str) -> Prefix {
    s.parse().unwrap()
}

impl Net {
    /// `links[i]` lists the (node, ifindex) ports of link i.
    fn new(nodes: usize, links: &[&[(usize, IfIndex)]]) -> Net {
        Net::with(nodes, links, |_, _| {})
    }

    /// [`Net::new`], each node's configuration changed by `configure`.
    fn with(
        nodes: usize,
        links: &[&[(usize, IfIndex)]],
        configure: impl Fn(usize, &mut RipngConfig),
    ) -> Net {
        let mut ports: Vec<BTreeMap<IfIndex, usize>> = vec![BTreeMap::new(); nodes];
        for (id, link) in links.iter().enumerate() {
            for &(n, i) in link.iter() {
                ports[n].insert(i, id);
            }
        }
        let now = Instant::from_secs(0);
        let mut net = Net {
            nodes: ports
                .into_iter()
                .enumerate()
                .map(|(n, ports)| {
                    let mut config = RipngConfig::new();
                    config.interfaces = ports.keys().map(|&i| InterfaceConfig::new(i)).collect();
                    configure(n, &mut config);
                    Node {
                        machine: Ripng::new(config, n as u64 + 1, now),
                        ports,
                        kernel: BTreeMap::new(),
                        alive: true,
                    }
                })
                .collect(),
            now,
            cut: Vec::new(),
            wire: Vec::new(),
            lose: None,
            no_next_hops: Vec::new(),
        };
        for n in 0..nodes {
            let ifs: Vec<IfIndex> = net.nodes[n].ports.keys().copied().collect();
            for i in ifs {
                net.nodes[n]
                    .machine
                    .handle_interface_up(now, i, link_local(n, i), 1500);
            }
        }
        net.settle();
        net
    }

    /// Delivers every queued output, recursively, at the current instant.
    fn settle(&mut self) {
        for _ in 0..10_000 {
            let mut sent: Vec<(usize, Transmit)> = Vec::new();
            for (n, node) in self.nodes.iter_mut().enumerate() {
                while let Some(o) = node.machine.poll_output() {
                    match o {
                        RipngOutput::Transmit(t) if node.alive => sent.push((n, t)),
                        RipngOutput::Transmit(_) => {}
                        RipngOutput::Kernel(KernelOp::SetRoute(s)) => {
                            node.kernel.insert(s.dst, s);
                        }
                        RipngOutput::Kernel(KernelOp::DelRoute(s)) => {
                            assert_eq!(node.kernel.remove(&s.dst), Some(s));
                        }
                        RipngOutput::Kernel(other) => panic!("{other:?}"),
                    }
                }
            }
            if sent.is_empty() {
                return;
            }
            for (n, t) in sent {
                self.deliver(n, t);
            }
        }
        panic!("no quiescence");
    }

    fn deliver(&mut self, from: usize, mut t: Transmit) {
        let link = self.nodes[from].ports[&t.ifindex];
        if let Ok(mut m) = RipngMessage::parse(&t.payload) {
            if let Some((n, i, p, metric)) = self.lose
                && (n, i) == (from, t.ifindex)
                && m.entries()
                    .iter()
                    .any(|r| r.prefix == p.addr() && r.prefix_len == p.len() && r.metric == metric)
            {
                self.lose = None;
                self.wire.push((from, t.ifindex, m));
                return;
            }
            if self.no_next_hops.contains(&from)
                && let RipngBody::Entries(entries) = &mut m.body
            {
                entries.retain(|r| r.metric != 0xff);
                t.payload = m.to_bytes();
            }
            self.wire.push((from, t.ifindex, m));
        }
        if self.cut.contains(&link) {
            return;
        }
        let Transport::Udp { src_port, .. } = t.transport else {
            panic!("{t:?}");
        };
        let now = self.now;
        for (m, node) in self.nodes.iter_mut().enumerate() {
            if m == from || !node.alive {
                continue;
            }
            for (&ifindex, &l) in &node.ports {
                let addressed = t.dst.is_multicast() || t.dst == link_local(m, ifindex);
                if l == link && addressed {
                    let rx = Received {
                        ifindex,
                        src: t.src.unwrap(),
                        dst: t.dst,
                        hop_limit: t.hop_limit.unwrap_or(64),
                        bytes: &t.payload,
                    };
                    node.machine.handle_packet(now, &rx, src_port);
                }
            }
        }
    }

    /// Runs every node's timers up to `until`.
    fn run_until(&mut self, until: Instant) {
        for _ in 0..1_000_000 {
            let next = self
                .nodes
                .iter()
                .filter(|n| n.alive)
                .filter_map(|n| n.machine.poll_timeout())
                .min();
            match next {
                Some(at) if at <= until => {
                    self.now = self.now.max(at);
                    let now = self.now;
                    for node in self.nodes.iter_mut().filter(|n| n.alive) {
                        node.machine.handle_timeout(now);
                    }
                    self.settle();
                }
                _ => {
                    self.now = until;
                    return;
                }
            }
        }
        panic!("timers spin");
    }

    fn secs(&self, s: u64) -> Instant {
        self.now + Duration::from_secs(s)
    }

    fn originate(&mut self, node: usize, prefixes: &[&str]) {
        let routes: Vec<OriginatedRoute> = prefixes
            .iter()
            .map(|p| OriginatedRoute {
                prefix: pfx(p),
                tag: 0,
                metric: 1,
            })
            .collect();
        let now = self.now;
        self.nodes[node].machine.set_originated(now, &routes);
        self.settle();
    }

    fn metric(&self, node: usize, prefix: &str) -> Option<u8> {
        self.nodes[node]
            .machine
            .status(self.now)
            .routes
            .iter()
            .find(|r| r.prefix == pfx(prefix))
            .map(|r| r.metric)
    }

    fn gateway(&self, node: usize, prefix: &str) -> Option<Ipv6Addr> {
        self.nodes[node]
            .kernel
            .get(&pfx(prefix))
            .and_then(|s| s.gateway)
    }
}

const P: &str = "2001:db8:a::/48";

/// R0 -(link 0)- R1 -(link 1)- R2, each on ifindex 1 (left) and 2 (right).
fn line() -> Net {
    Net::new(3, &[&[(0, 2), (1, 1)], &[(1, 2), (2, 1)]])
}

#[test]
fn a_route_travels_the_line_with_its_metric_and_poisoned_reverse() {
    let mut net = line();
    net.originate(0, &[P]);
    let t = net.secs(10);
    net.run_until(t);
    assert_eq!(net.metric(1, P), Some(2));
    assert_eq!(net.metric(2, P), Some(3));
    assert_eq!(net.gateway(2, P), Some(link_local(1, 2)));
    assert_eq!(net.gateway(1, P), Some(link_local(0, 2)));
    // R1 tells R0 the route is unreachable through it (poisoned reverse).
    let back: Vec<u8> = net
        .wire
        .iter()
        .filter(|(n, i, _)| (*n, *i) == (1, 1))
        .flat_map(|(_, _, m)| m.entries().to_vec())
        .filter(|r| r.prefix_len == 48)
        .map(|r| r.metric)
        .collect();
    assert!(
        !back.is_empty() && back.iter().all(|&m| m == 16),
        "{back:?}"
    );
}

#[test]
fn a_withdrawal_reaches_the_far_end_as_16_without_counting_up() {
    let mut net = line();
    net.originate(0, &[P]);
    let t = net.secs(100);
    net.run_until(t);
    net.wire.clear();
    let withdrawn_at = net.now;
    net.originate(0, &[]);
    // Two triggered hops, each at most one 5 s hold-down late.
    let t = net.secs(10);
    net.run_until(t);
    assert_eq!(net.metric(2, P), Some(16));
    assert!(net.nodes[2].kernel.is_empty() && net.nodes[1].kernel.is_empty());
    // No router ever advertised P with a metric between 4 and 15.
    for (_, _, m) in &net.wire {
        for r in m.entries().iter().filter(|r| r.prefix_len == 48) {
            assert!(r.metric == 16 || r.metric <= 3, "{r:?}");
        }
    }
    // Garbage collection: gone everywhere 120 s later (+ hold-downs).
    let t = withdrawn_at + Duration::from_secs(131);
    net.run_until(t);
    assert_eq!((net.metric(1, P), net.metric(2, P)), (None, None));
}

#[test]
fn a_silent_router_times_out_after_180_s() {
    let mut net = line();
    net.originate(0, &[P]);
    let t = net.secs(60);
    net.run_until(t);
    let stopped = net.now;
    net.nodes[0].alive = false;
    net.run_until(stopped + Duration::from_secs(150));
    assert_eq!(
        net.metric(2, P),
        Some(3),
        "still believed: R1's last refresh is recent"
    );
    // R1 heard R0 last at most one update interval (45 s) before the stop.
    net.run_until(stopped + Duration::from_secs(186));
    assert_eq!(net.metric(1, P), Some(16));
    assert_eq!(net.metric(2, P), Some(16));
    assert!(net.nodes[2].kernel.is_empty());
}

#[test]
fn a_broken_link_in_a_triangle_converges_to_the_other_path() {
    // R0-R1 link 0, R1-R2 link 1, R0-R2 link 2; P at R0.
    let mut net = Net::new(
        3,
        &[&[(0, 1), (1, 1)], &[(1, 2), (2, 2)], &[(0, 3), (2, 3)]],
    );
    net.originate(0, &[P]);
    let t = net.secs(60);
    net.run_until(t);
    assert_eq!(net.metric(2, P), Some(2));
    assert_eq!(net.gateway(2, P), Some(link_local(0, 3)));
    // The direct link dies; each side sees its interface go down.
    net.cut.push(2);
    let now = net.now;
    net.nodes[0].machine.handle_interface_down(now, 3);
    net.nodes[2].machine.handle_interface_down(now, 3);
    net.settle();
    // R2 takes the path through R1 once R1 next advertises (at most one
    // regular update, 45 s).
    let t = net.secs(50);
    net.run_until(t);
    assert_eq!(net.metric(2, P), Some(3));
    assert_eq!(net.gateway(2, P), Some(link_local(1, 2)));
    assert_eq!(net.metric(1, P), Some(2));
}

fn iface(config: &mut RipngConfig, ifindex: IfIndex) -> &mut InterfaceConfig {
    config
        .interfaces
        .iter_mut()
        .find(|i| i.ifindex == ifindex)
        .expect("interface")
}

/// KAME's hierarchical aggregation (route6d -A): R1 aggregates R0's /64s
/// into a /48: R2 hears only the /48 (the /64s' best metric, +1), R1 puts
/// an unreachable route for it in the kernel; another /64 below changes
/// nothing upstream; when the last /64 goes, R2 hears 16 and R1's route
/// goes.
#[test]
fn aggregation_hides_the_more_specifics_and_discards_the_rest() {
    let mut net = Net::with(3, &[&[(0, 2), (1, 1)], &[(1, 2), (2, 1)]], |n, c| {
        if n == 1 {
            c.aggregates = vec![pfx(P)];
        }
    });
    net.originate(0, &["2001:db8:a:1::/64", "2001:db8:a:2::/64"]);
    let t = net.secs(10);
    net.run_until(t);
    assert_eq!(net.metric(1, "2001:db8:a:1::/64"), Some(2));
    assert_eq!(net.metric(2, P), Some(3));
    assert_eq!(
        net.metric(2, "2001:db8:a:1::/64"),
        None,
        "hidden by the aggregate"
    );
    let discard = &net.nodes[1].kernel[&pfx(P)];
    assert_eq!(discard.kind, v6edge_core::RouteType::Unreachable);
    // A new /64 below: nothing new upstream.
    let seen = net.wire.len();
    net.originate(
        0,
        &[
            "2001:db8:a:1::/64",
            "2001:db8:a:2::/64",
            "2001:db8:a:3::/64",
        ],
    );
    let t = net.secs(10);
    net.run_until(t);
    assert_eq!(net.metric(2, P), Some(3));
    assert!(
        net.wire[seen..]
            .iter()
            .filter(|(n, i, _)| (*n, *i) == (1, 2))
            .flat_map(|(_, _, m)| m.entries().to_vec())
            .all(|r| r.prefix_len != 64),
        "no /64 leaves R1 upstream"
    );
    // All gone: the aggregate is withdrawn, its discard route removed.
    net.originate(0, &[]);
    let t = net.secs(10);
    net.run_until(t);
    assert_eq!(net.metric(2, P), Some(16), "withdrawn with 16");
    assert!(!net.nodes[1].kernel.contains_key(&pfx(P)));
    let t = net.secs(300);
    net.run_until(t);
    assert_eq!(net.metric(2, P), None);
}

/// KAME's filtering (route6d -L, -O, -T): R1 advertises only 2001:db8::/48
/// toward R2; R2 accepts only the default route from R1... and R3 on a
/// default-only interface of R1 hears nothing but ::/0, metric 1.
#[test]
fn filters_and_default_only_interfaces() {
    // R0 -(0)- R1 -(1)- R2, and R1 -(2)- R3 on R1's ifindex 3.
    let links: &[&[(usize, IfIndex)]] = &[&[(0, 2), (1, 1)], &[(1, 2), (2, 1)], &[(1, 3), (3, 1)]];
    let mut net = Net::with(4, links, |n, c| match n {
        1 => {
            iface(c, 2).advertise = vec![pfx("2001:db8::/48"), pfx("::/0")];
            iface(c, 3).default_only = true;
        }
        2 => iface(c, 1).accept = vec![pfx("::/0")],
        _ => {}
    });
    net.originate(0, &["::/0", "2001:db8::/48", "2001:db8:b::/48"]);
    let t = net.secs(10);
    net.run_until(t);
    // R1 learns everything.
    assert_eq!(net.metric(1, "2001:db8:b::/48"), Some(2));
    // Towards R2 only 2001:db8::/48 and the default leave R1, and R2 keeps
    // only the default.
    let to_r2: Vec<u8> = net
        .wire
        .iter()
        .filter(|(n, i, _)| (*n, *i) == (1, 2))
        .flat_map(|(_, _, m)| m.entries().to_vec())
        .filter(|r| r.metric != 0xff)
        .map(|r| r.prefix_len)
        .collect();
    assert!(to_r2.iter().all(|l| *l == 48 || *l == 0), "{to_r2:?}");
    assert!(
        !net.wire
            .iter()
            .filter(|(n, i, _)| (*n, *i) == (1, 2))
            .flat_map(|(_, _, m)| m.entries().to_vec())
            .any(|r| r.prefix == "2001:db8:b::".parse::<Ipv6Addr>().unwrap())
    );
    assert_eq!(net.metric(2, "::/0"), Some(3));
    assert_eq!(
        net.metric(2, "2001:db8::/48"),
        None,
        "filtered on the way in"
    );
    assert!(
        net.nodes[2]
            .machine
            .counters()
            .rtes_ignored
            .values()
            .sum::<u64>()
            > 0
    );
    // R3 hears R1 as its default router only, metric 1 (+1 here).
    assert_eq!(net.metric(3, "::/0"), Some(2));
    assert_eq!(net.gateway(3, "::/0"), Some(link_local(1, 3)));
    assert_eq!(net.metric(3, "2001:db8::/48"), None);
}

// ------------------------------- the KAME book's route6d scenarios --
//
// The scenarios the KAME project ran route6d through, on simulated links:
// leaf network, simple loop, hierarchical aggregation (three levels),
// filtering (with an ignored interface and a tag), count to infinity.
// The timers scenario is `a_silent_router_times_out_after_180_s` above
// and, in tests/rfc2080.rs, the triggered-update and request tests.

/// The metrics `node` advertised for `prefix` on `ifindex`, in order.
fn advertised(net: &Net, node: usize, ifindex: IfIndex, prefix: &str) -> Vec<u8> {
    let p = pfx(prefix);
    net.wire
        .iter()
        .filter(|(n, i, m)| (*n, *i) == (node, ifindex) && m.command == Command::Response)
        .flat_map(|(_, _, m)| m.entries().to_vec())
        .filter(|r| r.metric != 0xff && r.prefix == p.addr() && r.prefix_len == p.len())
        .map(|r| r.metric)
        .collect()
}

/// Leaf network: R1, with one LAN, learns the default route and two /64s
/// from its upstream neighbour R0 and advertises its LAN /64 upstream with
/// metric 1.
#[test]
fn kame_leaf_network() {
    // R0 -(link 0)- R1 (ifindex 1 upstream).
    let mut net = Net::new(2, &[&[(0, 1), (1, 1)]]);
    net.originate(0, &["::/0", "2001:db8:1::/64", "2001:db8:2::/64"]);
    net.originate(1, &["2001:db8:10::/64"]);
    let t = net.secs(10);
    net.run_until(t);
    for p in ["::/0", "2001:db8:1::/64", "2001:db8:2::/64"] {
        assert_eq!(net.metric(1, p), Some(2), "{p}");
        assert_eq!(net.gateway(1, p), Some(link_local(0, 1)), "{p}");
    }
    let up = advertised(&net, 1, 1, "2001:db8:10::/64");
    assert!(!up.is_empty() && up.iter().all(|&m| m == 1), "{up:?}");
    assert_eq!(net.metric(0, "2001:db8:10::/64"), Some(2));
    // Nothing R0 taught it goes back up but as unreachable.
    assert!(advertised(&net, 1, 1, "::/0").iter().all(|&m| m == 16));
}

/// Simple loop: R1 and R2 share two links and R1 has the upstream R0. The
/// link R2 uses breaks: R2 takes the other one, and no metric above the
/// real one is ever advertised (no loop).
#[test]
fn kame_simple_loop() {
    // R0 -(0)- R1; R1 -(1)- R2 on ifindex 2/1; R1 -(2)- R2 on ifindex 3/2.
    let mut net = Net::new(
        3,
        &[&[(0, 1), (1, 1)], &[(1, 2), (2, 1)], &[(1, 3), (2, 2)]],
    );
    net.originate(0, &[P]);
    let t = net.secs(60);
    net.run_until(t);
    assert_eq!(net.metric(2, P), Some(3));
    let gw = net.gateway(2, P).expect("a route");
    let (used_link, used_if, other_gw) = if gw == link_local(1, 2) {
        (1, 1, link_local(1, 3))
    } else {
        (2, 2, link_local(1, 2))
    };
    net.wire.clear();
    net.cut.push(used_link);
    let now = net.now;
    net.nodes[2].machine.handle_interface_down(now, used_if);
    net.nodes[1]
        .machine
        .handle_interface_down(now, if used_link == 1 { 2 } else { 3 });
    net.settle();
    let t = net.secs(60);
    net.run_until(t);
    assert_eq!(net.metric(2, P), Some(3));
    assert_eq!(net.gateway(2, P), Some(other_gw));
    for (_, _, m) in &net.wire {
        for r in m.entries().iter().filter(|r| r.prefix_len == 48) {
            assert!(r.metric <= 3 || r.metric == 16, "{r:?}");
        }
    }
}

/// Hierarchical aggregation, three levels: the leaves' /64s become /56s at
/// the middle routers and one /52 at the top; the upstream hears only the
/// /52, and a new /64 below changes nothing upstream.
#[test]
fn kame_hierarchical_aggregation() {
    // L1 (0) -(0)- M1 (1) -(1)- T (2) -(4)- U (5)
    // L2 (3) -(2)- M2 (4) -(3)- T
    let links: &[&[(usize, IfIndex)]] = &[
        &[(0, 1), (1, 1)],
        &[(1, 2), (2, 1)],
        &[(3, 1), (4, 1)],
        &[(4, 2), (2, 2)],
        &[(2, 3), (5, 1)],
    ];
    let mut net = Net::with(6, links, |n, c| match n {
        1 => c.aggregates = vec![pfx("2001:db8:a:100::/56")],
        4 => c.aggregates = vec![pfx("2001:db8:a:200::/56")],
        2 => c.aggregates = vec![pfx("2001:db8:a::/52")],
        _ => {}
    });
    net.originate(0, &["2001:db8:a:100::/64", "2001:db8:a:101::/64"]);
    net.originate(3, &["2001:db8:a:200::/64"]);
    let t = net.secs(30);
    net.run_until(t);
    // The middle: /56s; the top: both /56s, sending the /52 up.
    assert_eq!(net.metric(2, "2001:db8:a:100::/56"), Some(3));
    assert_eq!(net.metric(2, "2001:db8:a:200::/56"), Some(3));
    assert_eq!(net.metric(2, "2001:db8:a:100::/64"), None);
    assert_eq!(net.metric(5, "2001:db8:a::/52"), Some(4));
    let upstream: Vec<u8> = net
        .wire
        .iter()
        .filter(|(n, i, m)| (*n, *i) == (2, 3) && m.command == Command::Response)
        .flat_map(|(_, _, m)| m.entries().to_vec())
        .filter(|r| r.metric != 0xff)
        .map(|r| r.prefix_len)
        .collect();
    assert!(
        !upstream.is_empty() && upstream.iter().all(|&l| l == 52),
        "{upstream:?}"
    );
    // A new /64 below: the upstream's view and what goes up are unchanged.
    let seen = net.wire.len();
    net.originate(
        0,
        &[
            "2001:db8:a:100::/64",
            "2001:db8:a:101::/64",
            "2001:db8:a:102::/64",
        ],
    );
    let t = net.secs(30);
    net.run_until(t);
    assert_eq!(net.metric(5, "2001:db8:a::/52"), Some(4));
    assert!(
        net.wire[seen..]
            .iter()
            .filter(|(n, i, m)| (*n, *i) == (2, 3) && m.command == Command::Response)
            .flat_map(|(_, _, m)| m.entries().to_vec())
            .filter(|r| r.metric != 0xff)
            .all(|r| r.prefix_len == 52 && r.metric == 3),
        "only the /52, as before"
    );
    assert_eq!(net.nodes[5].kernel.len(), 1);
}

/// Filtering, the rest of it: an interface left out of the configuration
/// (route6d -N) neither hears nor speaks, and a route's tag travels with
/// it (route6d -t).
#[test]
fn kame_ignored_interface_and_tag() {
    // R0 -(0)- R1 -(1)- R2; R1 -(2)- R3 on R1's ifindex 3, left out.
    let links: &[&[(usize, IfIndex)]] = &[&[(0, 2), (1, 1)], &[(1, 2), (2, 1)], &[(1, 3), (3, 1)]];
    let mut net = Net::with(4, links, |n, c| {
        if n == 1 {
            c.interfaces.retain(|i| i.ifindex != 3);
        }
    });
    let routes = [OriginatedRoute {
        prefix: pfx(P),
        tag: 0x1234,
        metric: 1,
    }];
    let now = net.now;
    net.nodes[0].machine.set_originated(now, &routes);
    net.originate(3, &["2001:db8:3::/64"]);
    let t = net.secs(60);
    net.run_until(t);
    let at_r2 = net.nodes[2].machine.status(net.now);
    let r = at_r2
        .routes
        .iter()
        .find(|r| r.prefix == pfx(P))
        .expect("learnt");
    assert_eq!((r.metric, r.tag), (3, 0x1234), "the tag travels");
    assert!(
        net.wire.iter().all(|(n, i, _)| (*n, *i) != (1, 3)),
        "R1 says nothing on it"
    );
    assert_eq!(
        net.metric(1, "2001:db8:3::/64"),
        None,
        "nor believes what it hears"
    );
    assert_eq!(net.metric(3, P), None);
}

/// Count to infinity on a line R0 - R1 - R2: R0 falls silent, and R1's
/// triggered withdrawal toward R2 is lost, so R2 still offers the dead
/// route back when R1 has timed it out. `route6d_peer`: R2 sends no
/// next-hop RTEs. Returns whether a metric between the real ones and 16
/// was ever advertised, and R1's count of routes ignored as through
/// itself. Whatever happens, the route ends at 16 and leaves the kernels.
fn count_to_infinity(mode: SplitHorizon, route6d_peer: bool) -> (bool, u64) {
    let mut net = Net::with(3, &[&[(0, 2), (1, 1)], &[(1, 2), (2, 1)]], |_, c| {
        for i in &mut c.interfaces {
            i.split_horizon = mode;
        }
    });
    if route6d_peer {
        net.no_next_hops.push(2);
    }
    net.originate(0, &[P]);
    let t = net.secs(60);
    net.run_until(t);
    assert_eq!(net.metric(2, P), Some(3));
    net.wire.clear();
    net.lose = Some((1, 2, pfx(P), 16));
    net.nodes[0].alive = false;
    let t = net.secs(600);
    net.run_until(t);
    let climbed = net
        .wire
        .iter()
        .flat_map(|(_, _, m)| m.entries().to_vec())
        .filter(|r| r.prefix_len == 48)
        .any(|r| (4..16).contains(&r.metric));
    assert!(net.lose.is_none(), "a withdrawal was lost");
    assert!(
        net.nodes[1].kernel.is_empty() && net.nodes[2].kernel.is_empty(),
        "{mode:?}: the dead route left the kernels"
    );
    assert_eq!(
        (net.metric(1, P), net.metric(2, P)),
        (None, None),
        "{mode:?}"
    );
    let through_us = net.nodes[1]
        .machine
        .counters()
        .rtes_ignored
        .get(&v6edge_ripng::RteIgnored::ThroughUs)
        .copied()
        .unwrap_or(0);
    (climbed, through_us)
}

/// Without split horizon, against a neighbour that names no next hop
/// (route6d), the metric climbs to 16 (RFC 2080 §2.6's count to
/// infinity); with poisoned reverse it never does.
#[test]
fn kame_count_to_infinity_on_a_line() {
    let (climbed, _) = count_to_infinity(SplitHorizon::Off, true);
    assert!(climbed, "counted up without split horizon");
    let (climbed, _) = count_to_infinity(SplitHorizon::PoisonedReverse, true);
    assert!(!climbed, "no counting with poisoned reverse");
}

/// Without split horizon between v6edge routers, the next-hop RTE names
/// the gateway (§2.1.1): R1 sees that R2's route goes through itself and
/// ignores it, so the loop never forms even when the withdrawal is lost.
#[test]
fn a_route_through_ourselves_is_never_believed() {
    let (climbed, through_us) = count_to_infinity(SplitHorizon::Off, false);
    assert!(!climbed, "no counting: the route through us is refused");
    assert!(through_us > 0, "counted as through-us");
}

/// The triangle, the known limit of split horizon (RFC 2080 §2.6): when
/// the origin dies, the two others can still teach each other the route
/// around the loop; it ends at 16 all the same, and leaves the kernels.
#[test]
fn kame_count_to_infinity_triangle_ends_at_16() {
    // R0 hangs off R1 (link 0); R1, R2, R3 in a triangle.
    let links: &[&[(usize, IfIndex)]] = &[
        &[(0, 1), (1, 1)],
        &[(1, 2), (2, 1)],
        &[(2, 2), (3, 1)],
        &[(3, 2), (1, 3)],
    ];
    let mut net = Net::new(4, links);
    net.originate(0, &[P]);
    let t = net.secs(60);
    net.run_until(t);
    assert_eq!((net.metric(2, P), net.metric(3, P)), (Some(3), Some(3)));
    net.nodes[0].alive = false;
    let t = net.secs(600);
    net.run_until(t);
    for n in 1..4 {
        assert!(net.nodes[n].kernel.is_empty(), "R{n} still routes it");
        assert_eq!(net.metric(n, P), None, "R{n}");
    }
}
