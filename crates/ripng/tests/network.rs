//! Several RIPng machines on simulated links (no loss, no delay): the
//! RFC 2080 behaviour end to end: a route travels with its metric,
//! poisoned reverse shows on the wire, a withdrawal reaches the far end as
//! metric 16 within the triggered-update delays, a silent router's routes
//! time out, and a broken link in a triangle converges to the other path.

use std::collections::BTreeMap;
use std::net::Ipv6Addr;
use std::time::Duration;

use v6edge_core::{IfIndex, Instant, KernelOp, Received, RouteSpec, Transmit, Transport};
use v6edge_prefix::Prefix;
use v6edge_ripng::{InterfaceConfig, OriginatedRoute, Ripng, RipngConfig, RipngOutput};
use v6edge_wire::ripng::RipngMessage;

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

    fn deliver(&mut self, from: usize, t: Transmit) {
        let link = self.nodes[from].ports[&t.ifindex];
        if let Ok(m) = RipngMessage::parse(&t.payload) {
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
