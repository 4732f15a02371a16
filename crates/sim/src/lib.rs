//! A deterministic network simulator (issue 8, item 6).
//!
//! It runs the unmodified sans-IO machines — one delegating server
//! ([`v6edge_dhcp6::server::Server`]), relay agents
//! ([`v6edge_dhcp6::relay::Relay`]) and requesting routers
//! ([`v6edge_node::Node`], each with a delegating server on its LAN when a
//! router below it asks for a prefix) — over simulated links:
//!
//! ```text
//!  server ──up{r}── relay r ──access{r}── CPE ──lan{n}── router ──lan{m}── ...  (depth D)
//! ```
//!
//! - Time is simulated: an event queue ordered by (instant, sequence
//!   number) holds deliveries and machine deadlines, and the clock jumps to
//!   the next one. Nothing sleeps and nothing reads a clock.
//! - Links lose and delay each delivery by a seeded random draw, so the same
//!   seed gives the same run.
//! - Every node has an emulated kernel: the [`KernelOp`]s its machines ask
//!   for are applied to its own routing table (routes with next hop,
//!   unreachable routes, expiry) and address list.
//! - Any link can be written to a pcap file (raw IPv6, readable by
//!   Wireshark and tshark).
//!
//! Invariants (see [`Violation`]) are checked incrementally after every
//! step (one event and everything the machine it reached did with it), on
//! the keys that step touched, so a step costs O(what it changed), not
//! O(network):
//! - no prefix held by two nodes, nor overlapping prefixes held by nodes
//!   that did not delegate one to the other (on every lease change);
//! - every route backed by a lease of the machine that installed it (on
//!   every route or lease change);
//! - every delegated prefix routed hop by hop from the server to its
//!   holder, walking the emulated tables: when a router obtains it, when a
//!   route covering it is withdrawn ([`REROUTE_GRACE`] later: the relay
//!   withdraws on the lifetime-0 Reply a moment before the client reads
//!   it), and for every holder by [`Sim::check_all`] at the end of a run.
//!   "Delegated" means along the whole chain of leases (see
//!   `Sim::delegated`): a client that missed the Reply ending its lease
//!   (loss) holds a prefix nobody delegates any more, and is owed no route;
//! - lifetimes never longer than the lifetime upstream (RFC 9096 L-17): a
//!   LAN server's lease never ends after the delegation it is carved from,
//!   and a LAN's advertised prefix never outlives its delegation.

mod pcap;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::net::Ipv6Addr;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Duration;

use v6edge_core::{
    DHCP6_SERVER_PORT, IfIndex, Instant, KernelOp, Received, Rng, RouteType, Transmit, Transport,
};
use v6edge_dhcp6::client::{ClientConfig, IaPdConfig};
use v6edge_dhcp6::relay::{Downstream, Relay, RelayConfig, RelayOutput, SnoopChange};
use v6edge_dhcp6::server::{
    LeaseKind, LeaseOp, LinkConfig, LinkSelector, PrefixPool, ReconfigureAuth, Server,
    ServerConfig, ServerOutput,
};
use v6edge_node::{Node, NodeLan, NodeOutput, PoolSetting, UplinkBlock, from_uplink_pools};
use v6edge_prefix::Prefix;
use v6edge_ra::AdvertiserConfig;
use v6edge_router::{LanSpec, Persisted};
use v6edge_wire::dhcp6::Duid;

pub use pcap::PcapWriter;

/// What to simulate.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub cpes: u32,
    pub relays: u32,
    /// Routers per chain: 1 = the CPEs alone.
    pub depth: u32,
    pub seed: u64,
    /// Probability that one delivery is lost, 0.0..1.0.
    pub loss: f64,
    pub renumber: bool,
    /// Links to capture: (link name, file).
    pub pcap: Vec<(String, PathBuf)>,
    /// Simulated time allowed for each phase (cold start, renumbering).
    pub phase_limit: Duration,
}

impl SimConfig {
    pub fn new(cpes: u32, relays: u32, depth: u32, seed: u64) -> SimConfig {
        SimConfig {
            cpes,
            relays,
            depth,
            seed,
            loss: 0.0,
            renumber: false,
            pcap: Vec::new(),
            phase_limit: Duration::from_secs(6 * 3600),
        }
    }
}

/// The outcome of a run (the JSON line, less what only the binary knows).
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub nodes: usize,
    /// Prefixes held by requesting routers at the end.
    pub delegations: usize,
    /// Simulated seconds until every router held its prefix and every route
    /// along every path was in place; `None`: not within the phase limit.
    pub converged_s: Option<f64>,
    /// Simulated seconds from the pool change until every router held a
    /// prefix from the new pool only, routed end to end.
    pub renumbered_s: Option<f64>,
    pub messages: u64,
    pub invariant_violations: u64,
}

/// A broken invariant, as counted.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Violation {
    /// Two nodes hold the same prefix, or overlapping prefixes without one
    /// having delegated to the other.
    SharedPrefix { prefix: Prefix, holders: (u32, u32) },
    /// A route no lease of its machine backs.
    UnbackedRoute { node: u32, prefix: Prefix },
    /// A held prefix the routing tables do not lead to from the server.
    Unrouted { node: u32, prefix: Prefix },
    /// A lifetime longer than the one upstream (RFC 9096 L-17).
    Lifetime { node: u32, prefix: Prefix },
}

/// The server's pool: /40 per relay, /56 per CPE.
const RELAY_BLOCK_LEN: u8 = 40;
const CPE_LEN: u8 = 56;
/// Each router further down delegates 2 bits less: /58, /60, /62, /64.
const LEN_STEP: u8 = 2;
pub const MAX_DEPTH: u32 = 5;
const POOL_PREFERRED: Duration = Duration::from_secs(1800);
const POOL_VALID: Duration = Duration::from_secs(3600);
/// Interface indices: a relay's and a router's uplink and downstream.
const UP_IF: IfIndex = 1;
const DOWN_IF: IfIndex = 2;
/// Delivery delay bounds, microseconds.
const DELAY_US: (u64, u64) = (200, 5_000);

/// The server's pool before (epoch 0) and after (epoch 1) renumbering:
/// 3fff:0::/32 and 3fff:1::/32 (RFC 9637 documentation space).
fn pool_base(epoch: u32) -> Prefix {
    let a = (0x3fff_u128 << 112) | (u128::from(epoch) << 96);
    Prefix::new(Ipv6Addr::from(a), 32).unwrap_or_else(|_| unreachable!("aligned"))
}

fn relay_block(epoch: u32, relay: u32) -> Prefix {
    let base = u128::from(pool_base(epoch).addr());
    let a = base | (u128::from(relay) << (128 - u32::from(RELAY_BLOCK_LEN)));
    Prefix::new(Ipv6Addr::from(a), RELAY_BLOCK_LEN).unwrap_or_else(|_| unreachable!("aligned"))
}

/// The relay's downstream link prefix (its link-address selects the
/// server's link): fd00:0:0:r::/64.
fn access_prefix(relay: u32) -> Prefix {
    let a = (0xfd00_u128 << 112) | (u128::from(relay) << 64);
    Prefix::new(Ipv6Addr::from(a), 64).unwrap_or_else(|_| unreachable!("aligned"))
}

/// The link-local address of `node` on `ifindex`; the simulator reads the
/// node back from it.
pub fn link_local(node: u32, ifindex: IfIndex) -> Ipv6Addr {
    Ipv6Addr::new(
        0xfe80,
        0,
        0,
        0,
        0x5e,
        (node >> 16) as u16,
        node as u16,
        ifindex as u16,
    )
}

fn node_of(addr: Ipv6Addr) -> Option<(u32, IfIndex)> {
    let s = addr.segments();
    (s[0] == 0xfe80 && s[4] == 0x5e).then(|| {
        (
            (u32::from(s[5]) << 16) | u32::from(s[6]),
            IfIndex::from(s[7]),
        )
    })
}

fn delegated_len(depth_index: u32) -> u8 {
    CPE_LEN + LEN_STEP * depth_index as u8
}

fn duid(kind: u8, id: u32) -> Duid {
    let b = id.to_be_bytes();
    Duid::new_ll(1, &[0x02, kind, b[0], b[1], b[2], b[3]])
}

fn reconfigure_auth(seed: u64, id: u32) -> ReconfigureAuth {
    let mut rng = Rng::seed(seed ^ (u64::from(id) << 32) ^ 0x5eed);
    let mut secret = [0u8; 32];
    for chunk in secret.chunks_mut(8) {
        chunk.copy_from_slice(&rng.next_u64().to_be_bytes());
    }
    ReconfigureAuth {
        secret,
        replay_floor: 0,
    }
}

/// One route in an emulated kernel table.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Route {
    kind: RouteType,
    gateway: Option<Ipv6Addr>,
    ifindex: Option<IfIndex>,
    expires_at: Option<Instant>,
}

/// A node's emulated kernel: routes keyed by destination, addresses.
#[derive(Debug, Default)]
struct Kernel {
    routes: BTreeMap<Prefix, Route>,
    /// Prefix lengths present in `routes`, for longest-prefix match.
    lens: BTreeMap<u8, usize>,
    addresses: BTreeSet<(IfIndex, Ipv6Addr)>,
}

impl Kernel {
    fn set_route(&mut self, dst: Prefix, r: Route) {
        if self.routes.insert(dst, r).is_none() {
            *self.lens.entry(dst.len()).or_insert(0) += 1;
        }
    }

    fn del_route(&mut self, dst: Prefix) {
        if self.routes.remove(&dst).is_some()
            && let Some(n) = self.lens.get_mut(&dst.len())
        {
            *n -= 1;
            if *n == 0 {
                self.lens.remove(&dst.len());
            }
        }
    }

    fn live(&self, dst: &Prefix, now: Instant) -> Option<&Route> {
        self.routes
            .get(dst)
            .filter(|r| r.expires_at.is_none_or(|t| t > now))
    }

    /// Longest live route containing `addr`.
    fn lookup(&self, addr: Ipv6Addr, now: Instant) -> Option<&Route> {
        self.lens.keys().rev().find_map(|&len| {
            let p = Prefix::truncating(addr, len).ok()?;
            self.live(&p, now)
        })
    }
}

/// A requesting router and the delegating server on its LAN.
#[derive(Debug)]
struct RouterNode {
    node: Node,
    /// Chain number and position (0 = the CPE on the relay's link).
    chain: u32,
    depth_index: u32,
    has_child: bool,
    lan_server: Option<Server>,
    space: Vec<UplinkBlock>,
    /// Prefixes its client holds, as last seen.
    held: BTreeSet<Prefix>,
    /// Prefixes its LAN server leases (the routes it installs).
    lan_leases: BTreeSet<Prefix>,
    settled: bool,
}

#[derive(Debug)]
enum Machine {
    Server {
        server: Box<Server>,
        leases: BTreeSet<Prefix>,
    },
    Relay {
        relay: Box<Relay>,
        snooped: BTreeSet<Prefix>,
        /// The snooped table changed since the deadline was last read.
        /// `Relay::poll_timeout` scans the whole table (O(bindings)); its
        /// answer depends only on the table, so it is read again only when
        /// the table changed or the timer ran.
        table_changed: bool,
    },
    Router(Box<RouterNode>),
}

#[derive(Debug)]
struct Link {
    name: String,
    /// Attachments that listen on UDP 547 (servers and relays): multicast
    /// DHCPv6 reaches these only, so a link with thousands of clients
    /// costs nothing per client message.
    agents: Vec<(u32, IfIndex)>,
    pcap: Option<PcapWriter>,
}

#[derive(Debug)]
struct Packet {
    src: Ipv6Addr,
    dst: Ipv6Addr,
    hop_limit: u8,
    dst_port: Option<u16>,
    payload: Vec<u8>,
}

#[derive(Debug)]
enum Event {
    Deliver {
        node: u32,
        ifindex: IfIndex,
        packet: Rc<Packet>,
    },
    Timer {
        node: u32,
    },
    Renumber,
}

struct Queued {
    at: Instant,
    seq: u64,
    event: Event,
}

impl PartialEq for Queued {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Queued {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(o.at, o.seq))
    }
}

/// The simulated network; see the crate documentation.
pub struct Sim {
    config: SimConfig,
    now: Instant,
    seq: u64,
    queue: BinaryHeap<Reverse<Queued>>,
    rng: Rng,
    machines: Vec<Machine>,
    kernels: Vec<Kernel>,
    /// Per node, the link of each interface (index = ifindex).
    ifaces: Vec<Vec<Option<u32>>>,
    /// The deadline each node's timer event is queued for.
    scheduled: Vec<Option<Instant>>,
    links: Vec<Link>,
    /// Every prefix a requesting router holds, and which.
    holders: BTreeMap<Prefix, u32>,
    first_router: u32,
    unsettled: usize,
    epoch: u32,
    messages: u64,
    violations: BTreeMap<Violation, u64>,
    violation_count: u64,
    /// The first violations, with the simulated instant they were seen.
    violation_log: Vec<(Instant, Violation)>,
    /// (node, prefix) whose route or backing lease the current step changed.
    dirty: Vec<(u32, Prefix)>,
    /// Routes deleted: (when to look, prefix). The prefixes held inside
    /// must still be routed by then (see [`REROUTE_GRACE`]).
    rechecks: std::collections::VecDeque<(Instant, Prefix)>,
    /// (holder, prefix) already counted as unrouted: counted once.
    unrouted: BTreeSet<(u32, Prefix)>,
}

/// A route withdrawn upstream and the holder learning that its prefix is
/// gone are different steps (the relay sees the lifetime-0 Reply before the
/// client does): a held prefix left unrouted for longer than this is a
/// violation. Far above the links' delay.
pub const REROUTE_GRACE: Duration = Duration::from_secs(2);

impl Sim {
    /// Builds the network; nothing runs yet.
    pub fn new(config: SimConfig) -> anyhow::Result<Sim> {
        anyhow::ensure!(
            (1..=256).contains(&config.relays),
            "--relays must be 1..=256"
        );
        anyhow::ensure!(
            (1..=MAX_DEPTH).contains(&config.depth),
            "--depth must be 1..={MAX_DEPTH}"
        );
        anyhow::ensure!(
            u64::from(config.cpes).div_ceil(u64::from(config.relays))
                <= 1 << (CPE_LEN - RELAY_BLOCK_LEN),
            "too many CPEs per relay for a /{RELAY_BLOCK_LEN}"
        );
        anyhow::ensure!((0.0..1.0).contains(&config.loss), "--loss must be 0..1");
        let routers = u64::from(config.cpes) * u64::from(config.depth);
        let total = 1 + u64::from(config.relays) + routers;
        anyhow::ensure!(total < 1 << 32, "too many nodes");
        let now = Instant::ZERO;
        let relays = config.relays;
        let first_router = 1 + relays;
        let mut sim = Sim {
            now,
            seq: 0,
            queue: BinaryHeap::new(),
            rng: Rng::seed(config.seed),
            machines: Vec::with_capacity(total as usize),
            kernels: Vec::new(),
            ifaces: Vec::with_capacity(total as usize),
            scheduled: vec![None; total as usize],
            links: Vec::new(),
            holders: BTreeMap::new(),
            first_router,
            unsettled: routers as usize,
            epoch: 0,
            messages: 0,
            violations: BTreeMap::new(),
            violation_count: 0,
            violation_log: Vec::new(),
            dirty: Vec::new(),
            rechecks: std::collections::VecDeque::new(),
            unrouted: BTreeSet::new(),
            config,
        };
        sim.kernels.resize_with(total as usize, Kernel::default);
        // The server: one interface per relay.
        sim.machines.push(Machine::Server {
            server: Box::new(Server::new(sim.server_config(), sim.config.seed, now)),
            leases: BTreeSet::new(),
        });
        sim.ifaces.push(vec![None; relays as usize + 1]);
        for r in 0..relays {
            let id = 1 + r;
            let up = sim.add_link(format!("up{r}"));
            sim.attach(0, r + 1, up, true);
            let mut rc = RelayConfig::new(UP_IF);
            let mut down = Downstream::new(DOWN_IF, b"access".to_vec());
            down.link_address = access_prefix(r).host(1);
            rc.downstream = vec![down];
            sim.machines.push(Machine::Relay {
                relay: Box::new(Relay::new(rc, now)),
                snooped: BTreeSet::new(),
                table_changed: true,
            });
            sim.ifaces.push(vec![None; 3]);
            sim.attach(id, UP_IF, up, true);
            let access = sim.add_link(format!("access{r}"));
            sim.attach(id, DOWN_IF, access, true);
        }
        let depth = sim.config.depth;
        for chain in 0..sim.config.cpes {
            for d in 0..depth {
                let id = first_router + chain * depth + d;
                let has_child = d + 1 < depth;
                let node = sim.new_router(id, d);
                sim.machines.push(Machine::Router(Box::new(RouterNode {
                    node,
                    chain,
                    depth_index: d,
                    has_child,
                    lan_server: None,
                    space: Vec::new(),
                    held: BTreeSet::new(),
                    lan_leases: BTreeSet::new(),
                    settled: false,
                })));
                sim.ifaces.push(vec![None; 3]);
                let uplink = if d == 0 {
                    // The relay's access link.
                    2 * (chain % relays) + 1
                } else {
                    sim.ifaces[(id - 1) as usize][DOWN_IF as usize]
                        .unwrap_or_else(|| unreachable!("parent attached first"))
                };
                sim.attach(id, UP_IF, uplink, false);
                let lan = sim.add_link(format!("lan{id}"));
                sim.attach(id, DOWN_IF, lan, has_child);
            }
        }
        let traced = std::mem::take(&mut sim.config.pcap);
        for (name, file) in &traced {
            let Some(link) = sim.links.iter_mut().find(|l| &l.name == name) else {
                anyhow::bail!("no link named {name} (links: up<r>, access<r>, lan<node>)");
            };
            link.pcap = Some(PcapWriter::create(file)?);
        }
        sim.config.pcap = traced;
        for id in first_router..(total as u32) {
            sim.start_router(id);
        }
        for id in 0..(total as u32) {
            sim.reschedule(id);
        }
        Ok(sim)
    }

    fn add_link(&mut self, name: String) -> u32 {
        self.links.push(Link {
            name,
            agents: Vec::new(),
            pcap: None,
        });
        (self.links.len() - 1) as u32
    }

    fn attach(&mut self, node: u32, ifindex: IfIndex, link: u32, agent: bool) {
        self.ifaces[node as usize][ifindex as usize] = Some(link);
        if agent {
            self.links[link as usize].agents.push((node, ifindex));
        }
    }

    fn server_config(&self) -> ServerConfig {
        let mut c = ServerConfig::new(duid(0, 0));
        c.links = (0..self.config.relays)
            .map(|r| LinkConfig {
                id: LinkSelector::RelayLinkAddress(access_prefix(r)),
                address_pools: Vec::new(),
                prefix_pools: vec![PrefixPool {
                    prefix: relay_block(self.epoch, r),
                    delegated_len: CPE_LEN,
                    preferred: POOL_PREFERRED,
                    valid: POOL_VALID,
                    exclude_first: None,
                    ends: None,
                }],
            })
            .collect();
        c.reconfigure = Some(reconfigure_auth(self.config.seed, 0));
        c
    }

    fn lan_server_config(&self, id: u32, r: &RouterNode) -> ServerConfig {
        let mut c = ServerConfig::new(duid(2, id));
        let setting = PoolSetting {
            delegated_len: delegated_len(r.depth_index + 1),
            preferred: POOL_PREFERRED,
            valid: POOL_VALID,
        };
        c.links = vec![LinkConfig {
            id: LinkSelector::Interface(DOWN_IF),
            address_pools: Vec::new(),
            prefix_pools: from_uplink_pools(&r.space, setting, self.now),
        }];
        c.reconfigure = Some(reconfigure_auth(self.config.seed, id));
        c
    }

    fn new_router(&self, id: u32, depth_index: u32) -> Node {
        let lan = NodeLan {
            spec: LanSpec {
                name: "lan0".into(),
                ifindex: None,
                subnet_id: None,
                advertise: true,
                dns_servers: None,
                dns_domains: None,
            },
            advertiser: AdvertiserConfig::new(0),
        };
        let _ = depth_index;
        Node::new(
            vec![lan],
            Persisted::default(),
            None,
            self.config.seed ^ (u64::from(id) << 20),
            self.now,
        )
    }

    fn start_router(&mut self, id: u32) {
        let now = self.now;
        let Some(Machine::Router(r)) = self.machines.get_mut(id as usize) else {
            return;
        };
        let ia = IaPdConfig {
            iaid: 1,
            hint_len: Some(delegated_len(r.depth_index)),
            hint_prefix: None,
        };
        let mut c = ClientConfig::new(UP_IF, duid(1, id), vec![ia]);
        c.reconfigure_accept = true;
        r.node.set_uplink_ifindex(now, Some(UP_IF));
        r.node.attach_client(now, c);
        r.node.set_uplink_ready(now, true);
        r.node.set_default_router(now, true);
        let b = id.to_be_bytes();
        r.node.set_lan_link(
            now,
            0,
            Some((DOWN_IF, Some([2, 0xaa, b[0], b[1], b[2], b[3]]))),
        );
        self.drain_router(id);
    }

    fn push(&mut self, at: Instant, event: Event) {
        self.seq += 1;
        self.queue.push(Reverse(Queued {
            at,
            seq: self.seq,
            event,
        }));
    }

    fn deadline(&self, id: u32) -> Option<Instant> {
        match self.machines.get(id as usize)? {
            Machine::Server { server, .. } => server.poll_timeout(),
            Machine::Relay { relay, .. } => relay.poll_timeout(),
            Machine::Router(r) => {
                let lan = r.lan_server.as_ref().and_then(|s| s.poll_timeout());
                r.node.poll_timeout().into_iter().chain(lan).min()
            }
        }
    }

    /// Queues the node's timer when its deadline moved; stale queue entries
    /// are skipped when they come up.
    fn reschedule(&mut self, id: u32) {
        if let Some(Machine::Relay { table_changed, .. }) = self.machines.get_mut(id as usize) {
            if !*table_changed {
                return;
            }
            *table_changed = false;
        }
        let due = self.deadline(id).map(|t| t.max(self.now));
        if due != self.scheduled[id as usize] {
            self.scheduled[id as usize] = due;
            if let Some(t) = due {
                self.push(t, Event::Timer { node: id });
            }
        }
    }

    /// Sends a datagram from `node`: on its link, to the addressed
    /// attachment or (multicast DHCPv6) to the link's agents.
    fn send(&mut self, node: u32, t: Transmit) {
        self.messages += 1;
        let Some(link) = self
            .ifaces
            .get(node as usize)
            .and_then(|i| i.get(t.ifindex as usize).copied().flatten())
        else {
            return;
        };
        let (dst_port, src_port) = match t.transport {
            Transport::Udp { src_port, dst_port } => (Some(dst_port), Some(src_port)),
            Transport::Icmpv6 | Transport::MobilityHeader { .. } => (None, None),
        };
        let packet = Rc::new(Packet {
            src: t.src.unwrap_or_else(|| link_local(node, t.ifindex)),
            dst: t.dst,
            hop_limit: t.hop_limit.unwrap_or(64),
            dst_port,
            payload: t.payload,
        });
        let now = self.now;
        if let Some(w) = &mut self.links[link as usize].pcap {
            w.write(
                now,
                packet.src,
                packet.dst,
                packet.hop_limit,
                src_port.zip(dst_port),
                &packet.payload,
            );
        }
        let receivers: Vec<(u32, IfIndex)> = if packet.dst.is_multicast() {
            if dst_port == Some(DHCP6_SERVER_PORT) {
                self.links[link as usize]
                    .agents
                    .iter()
                    .copied()
                    .filter(|&(n, _)| n != node)
                    .collect()
            } else {
                // Router Advertisements: no hosts are simulated.
                Vec::new()
            }
        } else {
            node_of(packet.dst)
                .filter(|&(n, i)| {
                    n != node
                        && self
                            .ifaces
                            .get(n as usize)
                            .and_then(|v| v.get(i as usize).copied().flatten())
                            == Some(link)
                })
                .into_iter()
                .collect()
        };
        for (to, ifindex) in receivers {
            let lost = self.config.loss > 0.0 && self.rng.rand_factor_unit() < self.config.loss;
            let delay = self.rng.range_u64(DELAY_US.0, DELAY_US.1);
            if !lost {
                self.push(
                    now + Duration::from_micros(delay),
                    Event::Deliver {
                        node: to,
                        ifindex,
                        packet: packet.clone(),
                    },
                );
            }
        }
    }

    fn apply(&mut self, node: u32, op: KernelOp) {
        let now = self.now;
        let k = &mut self.kernels[node as usize];
        match op {
            KernelOp::SetAddress(a) => {
                k.addresses.insert((a.ifindex, a.addr));
            }
            KernelOp::DelAddress { ifindex, addr, .. } => {
                k.addresses.remove(&(ifindex, addr));
            }
            KernelOp::SetRoute(r) => {
                k.set_route(
                    r.dst,
                    Route {
                        kind: r.kind,
                        gateway: r.gateway,
                        ifindex: r.ifindex,
                        expires_at: r.expires.map(|d| now + d),
                    },
                );
                self.dirty.push((node, r.dst));
            }
            KernelOp::DelRoute(r) => {
                k.del_route(r.dst);
                self.dirty.push((node, r.dst));
                self.rechecks.push_back((now + REROUTE_GRACE, r.dst));
            }
            // The simulated roles ask for IPv6 addresses and routes only;
            // IPv4, proxy neighbours, rules and TUN devices are not emulated.
            _ => {}
        }
    }

    fn violation(&mut self, v: Violation) {
        self.violation_count += 1;
        if self.violation_log.len() < 1000 {
            self.violation_log.push((self.now, v.clone()));
        }
        *self.violations.entry(v).or_insert(0) += 1;
    }

    fn drain_server(&mut self, id: u32) {
        loop {
            let out = match &mut self.machines[id as usize] {
                Machine::Server { server, .. } => server.poll_output(),
                _ => None,
            };
            let Some(out) = out else { break };
            match out {
                ServerOutput::Transmit(t) => self.send(id, t),
                ServerOutput::Kernel(op) => self.apply(id, op),
                ServerOutput::Lease(op) => {
                    if let Machine::Server { leases, .. } = &mut self.machines[id as usize] {
                        let p = match op {
                            LeaseOp::Upsert(l) if l.kind == LeaseKind::Prefix => {
                                leases.insert(l.prefix);
                                l.prefix
                            }
                            LeaseOp::Remove {
                                kind: LeaseKind::Prefix,
                                prefix,
                            } => {
                                leases.remove(&prefix);
                                prefix
                            }
                            _ => continue,
                        };
                        self.dirty.push((id, p));
                    }
                }
                ServerOutput::Notice(_) => {}
            }
        }
    }

    fn drain_relay(&mut self, id: u32) {
        loop {
            let out = match &mut self.machines[id as usize] {
                Machine::Relay { relay, .. } => relay.poll_output(),
                _ => None,
            };
            let Some(out) = out else { break };
            match out {
                RelayOutput::Transmit(t) => self.send(id, t),
                RelayOutput::Kernel(op) => self.apply(id, op),
                RelayOutput::Snoop(change) => {
                    if let Machine::Relay {
                        snooped,
                        table_changed,
                        ..
                    } = &mut self.machines[id as usize]
                    {
                        *table_changed = true;
                        let p = match change {
                            SnoopChange::Upsert(s) => {
                                snooped.insert(s.prefix);
                                s.prefix
                            }
                            SnoopChange::Remove(p) => {
                                snooped.remove(&p);
                                p
                            }
                        };
                        self.dirty.push((id, p));
                    }
                }
            }
        }
    }

    /// Carries out what a router's node and LAN server asked for, keeps
    /// the LAN server's pools on the node's delegable space, and checks
    /// what changed.
    fn drain_router(&mut self, id: u32) {
        let now = self.now;
        let mut leases_changed = false;
        let mut router_changed = false;
        loop {
            let Machine::Router(r) = &mut self.machines[id as usize] else {
                return;
            };
            let Some(out) = r.node.poll_output() else {
                break;
            };
            match out {
                NodeOutput::Dhcp6(t) | NodeOutput::Icmp6 { transmit: t, .. } => self.send(id, t),
                NodeOutput::Kernel(op) => {
                    router_changed = true;
                    self.apply(id, op);
                }
                NodeOutput::Persist(_) => router_changed = true,
                NodeOutput::Leases(_) => {
                    leases_changed = true;
                    router_changed = true;
                }
            }
        }
        if leases_changed {
            self.on_held_change(id);
        }
        // The LAN server follows the delegable space (RFC 9818 LPD-4).
        let mut reconfigured = None;
        if router_changed && let Machine::Router(r) = &mut self.machines[id as usize] {
            let space = if r.has_child {
                r.node.delegable_space(now)
            } else {
                Vec::new()
            };
            if space != r.space {
                r.space = space;
                reconfigured = Some(());
            }
        }
        if reconfigured.is_some()
            && let Machine::Router(r) = &self.machines[id as usize]
        {
            let config = self.lan_server_config(id, r);
            let seed = self.config.seed ^ u64::from(id);
            if let Machine::Router(r) = &mut self.machines[id as usize] {
                match &mut r.lan_server {
                    Some(s) => s.reconfigure(now, config),
                    None if !r.space.is_empty() => {
                        r.lan_server = Some(Server::new(config, seed, now));
                    }
                    None => {}
                }
            }
        }
        loop {
            let Machine::Router(r) = &mut self.machines[id as usize] else {
                return;
            };
            let Some(out) = r.lan_server.as_mut().and_then(|s| s.poll_output()) else {
                break;
            };
            match out {
                ServerOutput::Transmit(t) => self.send(id, t),
                ServerOutput::Kernel(op) => self.apply(id, op),
                ServerOutput::Lease(op) => {
                    let p = match op {
                        LeaseOp::Upsert(l) if l.kind == LeaseKind::Prefix => {
                            r.lan_leases.insert(l.prefix);
                            // L-17: never beyond the delegation it is carved from.
                            let beyond = r.node.leases().prefixes.iter().any(|d| {
                                d.prefix.contains(&l.prefix)
                                    && d.valid_until.is_some_and(|v| l.valid_until > v)
                            });
                            if beyond {
                                self.violation(Violation::Lifetime {
                                    node: id,
                                    prefix: l.prefix,
                                });
                            }
                            l.prefix
                        }
                        LeaseOp::Remove {
                            kind: LeaseKind::Prefix,
                            prefix,
                        } => {
                            r.lan_leases.remove(&prefix);
                            prefix
                        }
                        _ => continue,
                    };
                    self.dirty.push((id, p));
                }
                ServerOutput::Notice(_) => {}
            }
        }
    }

    /// A router's client leases changed: the holder index, the L-17 check
    /// of its advertisements, routing to what it obtained, and whether it
    /// is settled.
    fn on_held_change(&mut self, id: u32) {
        let Machine::Router(r) = &self.machines[id as usize] else {
            return;
        };
        let now_held: BTreeSet<Prefix> =
            r.node.leases().prefixes.iter().map(|p| p.prefix).collect();
        let gone: Vec<Prefix> = r.held.difference(&now_held).copied().collect();
        let new: Vec<Prefix> = now_held.difference(&r.held).copied().collect();
        let (chain, depth_index) = (r.chain, r.depth_index);
        let mut lifetime_breaks = Vec::new();
        if let Some(adv) = r.node.advertiser(0) {
            for a in &adv.content().prefixes {
                let ok = r.node.leases().prefixes.iter().any(|d| {
                    d.prefix.contains(&a.prefix)
                        && match (d.valid_until, a.valid_until) {
                            (None, _) => true,
                            (Some(_), None) => false,
                            (Some(up), Some(v)) => v <= up,
                        }
                });
                if !ok {
                    lifetime_breaks.push(a.prefix);
                }
            }
        }
        for prefix in lifetime_breaks {
            self.violation(Violation::Lifetime { node: id, prefix });
        }
        for p in &gone {
            if self.holders.get(p) == Some(&id) {
                self.holders.remove(p);
            }
        }
        for &p in &new {
            self.claim(id, chain, depth_index, p);
        }
        if let Machine::Router(r) = &mut self.machines[id as usize] {
            r.held = now_held;
        }
        for &p in &new {
            if !self.routed(id, p) {
                self.unrouted_violation(id, p);
            }
        }
        self.update_settled(id);
    }

    /// Records that router `id` holds `p`, counting a clash with any other
    /// holder that is not its delegator (containing) or delegate (inside).
    fn claim(&mut self, id: u32, chain: u32, depth_index: u32, p: Prefix) {
        let mut clashes = Vec::new();
        if let Some(&other) = self.holders.get(&p)
            && other != id
        {
            clashes.push(other);
        }
        for len in 0..p.len() {
            if let Ok(up) = Prefix::truncating(p.addr(), len)
                && let Some(&other) = self.holders.get(&up)
                && !self.is_ancestor(other, chain, depth_index)
            {
                clashes.push(other);
            }
        }
        for (&q, &other) in self.holders.range(p..) {
            if !p.contains(&q) {
                break;
            }
            if q != p && other != id && !self.is_descendant(other, chain, depth_index) {
                clashes.push(other);
            }
        }
        for other in clashes {
            self.violation(Violation::SharedPrefix {
                prefix: p,
                holders: (other, id),
            });
        }
        self.holders.insert(p, id);
    }

    fn position(&self, id: u32) -> Option<(u32, u32)> {
        match self.machines.get(id as usize)? {
            Machine::Router(r) => Some((r.chain, r.depth_index)),
            _ => None,
        }
    }

    fn is_ancestor(&self, other: u32, chain: u32, depth_index: u32) -> bool {
        self.position(other)
            .is_some_and(|(c, d)| c == chain && d < depth_index)
    }

    fn is_descendant(&self, other: u32, chain: u32, depth_index: u32) -> bool {
        self.position(other)
            .is_some_and(|(c, d)| c == chain && d > depth_index)
    }

    /// Walks the emulated routing tables from the server towards `p`: it
    /// must arrive at `holder`.
    fn routed(&self, holder: u32, p: Prefix) -> bool {
        let addr = p.addr();
        let mut at = 0u32;
        for _ in 0..=(MAX_DEPTH + 2) {
            if at == holder {
                return true;
            }
            let Some(route) = self.kernels[at as usize].lookup(addr, self.now) else {
                return false;
            };
            let (RouteType::Unicast, Some(gw), Some(ifindex)) =
                (route.kind, route.gateway, route.ifindex)
            else {
                return false;
            };
            let link = self.ifaces[at as usize]
                .get(ifindex as usize)
                .copied()
                .flatten();
            match node_of(gw) {
                Some((next, i))
                    if link.is_some()
                        && self
                            .ifaces
                            .get(next as usize)
                            .and_then(|v| v.get(i as usize).copied().flatten())
                            == link =>
                {
                    at = next
                }
                _ => return false,
            }
        }
        false
    }

    /// Whether `p` is delegated to router `holder` along the whole chain:
    /// its delegator (the server for a CPE, the router above otherwise)
    /// has a lease for it, and the delegator's own prefix holding it is
    /// delegated in turn. A client that has not yet heard that its lease
    /// ended (a lost Reply) still holds a prefix no one delegates: routing
    /// is owed to delegations, so that is no routing violation.
    fn delegated(&self, holder: u32, p: Prefix) -> bool {
        let Some((_, d)) = self.position(holder) else {
            return false;
        };
        if d == 0 {
            return matches!(&self.machines[0], Machine::Server { leases, .. } if leases.contains(&p));
        }
        let parent = holder - 1;
        let Some(Machine::Router(up)) = self.machines.get(parent as usize) else {
            return false;
        };
        up.lan_leases.contains(&p)
            && up
                .held
                .iter()
                .any(|&q| q.contains(&p) && self.delegated(parent, q))
    }

    /// Whether a route at `node` for `p` is backed by a lease there.
    fn backed(&self, node: u32, p: &Prefix) -> bool {
        match &self.machines[node as usize] {
            Machine::Server { leases, .. } => leases.contains(p),
            Machine::Relay { snooped, .. } => snooped.contains(p),
            Machine::Router(r) => r.held.contains(p) || r.lan_leases.contains(p),
        }
    }

    /// Counts a held prefix the tables do not lead to, once per holder and
    /// prefix.
    fn unrouted_violation(&mut self, node: u32, prefix: Prefix) {
        if self.delegated(node, prefix) && self.unrouted.insert((node, prefix)) {
            self.violation(Violation::Unrouted { node, prefix });
        }
    }

    /// Routes deleted a grace period ago: every prefix held inside must
    /// still be routed to its holder.
    fn check_withdrawn(&mut self) {
        while let Some(&(due, dst)) = self.rechecks.front() {
            if due > self.now {
                break;
            }
            self.rechecks.pop_front();
            let inside: Vec<(u32, Prefix)> = self
                .holders
                .range(dst..)
                .take_while(|(q, _)| dst.contains(q))
                .map(|(&q, &h)| (h, q))
                .collect();
            for (holder, prefix) in inside {
                if !self.routed(holder, prefix) {
                    self.unrouted_violation(holder, prefix);
                }
            }
        }
    }

    fn check_dirty(&mut self) {
        let dirty = std::mem::take(&mut self.dirty);
        for (node, p) in dirty {
            if self.kernels[node as usize].live(&p, self.now).is_some() && !self.backed(node, &p) {
                self.violation(Violation::UnbackedRoute { node, prefix: p });
            }
        }
    }

    fn update_settled(&mut self, id: u32) {
        let base = pool_base(self.epoch);
        let Machine::Router(r) = &self.machines[id as usize] else {
            return;
        };
        let ok = !r.held.is_empty()
            && r.held.iter().all(|p| base.contains(p))
            && r.held.iter().all(|&p| self.routed(id, p));
        let was = r.settled;
        if let Machine::Router(r) = &mut self.machines[id as usize] {
            r.settled = ok;
        }
        match (was, ok) {
            (false, true) => self.unsettled -= 1,
            (true, false) => self.unsettled += 1,
            _ => {}
        }
    }

    /// Processes the next event; false when none is left.
    fn step(&mut self) -> bool {
        let Some(Reverse(q)) = self.queue.pop() else {
            return false;
        };
        self.now = self.now.max(q.at);
        let now = self.now;
        let node = match q.event {
            Event::Timer { node } => {
                if self.scheduled[node as usize] != Some(q.at) {
                    return true;
                }
                self.scheduled[node as usize] = None;
                match &mut self.machines[node as usize] {
                    Machine::Server { server, .. } => server.handle_timeout(now),
                    Machine::Relay {
                        relay,
                        table_changed,
                        ..
                    } => {
                        relay.handle_timeout(now);
                        *table_changed = true;
                    }
                    Machine::Router(r) => {
                        r.node.handle_timeout(now);
                        if let Some(s) = &mut r.lan_server {
                            s.handle_timeout(now);
                        }
                    }
                }
                node
            }
            Event::Deliver {
                node,
                ifindex,
                packet,
            } => {
                let rx = Received {
                    ifindex,
                    src: packet.src,
                    dst: packet.dst,
                    hop_limit: packet.hop_limit,
                    bytes: &packet.payload,
                };
                match &mut self.machines[node as usize] {
                    Machine::Server { server, .. } => server.handle_packet(now, &rx),
                    Machine::Relay { relay, .. } => relay.handle_packet(now, &rx),
                    Machine::Router(r) => {
                        if ifindex == UP_IF && packet.dst_port == Some(546) {
                            r.node.handle_dhcp6(now, &rx);
                        } else if ifindex == DOWN_IF
                            && packet.dst_port == Some(DHCP6_SERVER_PORT)
                            && let Some(s) = &mut r.lan_server
                        {
                            s.handle_packet(now, &rx);
                        }
                    }
                }
                node
            }
            Event::Renumber => {
                self.epoch += 1;
                let config = self.server_config();
                if let Machine::Server { server, .. } = &mut self.machines[0] {
                    server.reconfigure(now, config);
                }
                for id in self.first_router..self.machines.len() as u32 {
                    self.update_settled(id);
                }
                0
            }
        };
        match self.machines[node as usize] {
            Machine::Server { .. } => self.drain_server(node),
            Machine::Relay { .. } => self.drain_relay(node),
            Machine::Router(_) => self.drain_router(node),
        }
        self.check_dirty();
        self.check_withdrawn();
        self.reschedule(node);
        true
    }

    /// Runs until every router is settled or `limit` of simulated time has
    /// passed; the seconds it took from `since`, if it settled.
    fn run_until_settled(&mut self, since: Instant, limit: Duration) -> Option<f64> {
        let end = since + limit;
        while self.unsettled > 0 {
            match self.queue.peek() {
                Some(Reverse(q)) if q.at <= end => {}
                _ => return None,
            }
            self.step();
        }
        Some((self.now - since).as_secs_f64())
    }

    /// Cold start, then (if configured) renumbering; then the full check.
    pub fn run(&mut self) -> Report {
        let converged_s = self.run_until_settled(Instant::ZERO, self.config.phase_limit);
        let renumbered_s = if self.config.renumber {
            let at = self.now;
            self.push(at, Event::Renumber);
            self.step_until_renumber();
            self.run_until_settled(at, self.config.phase_limit)
        } else {
            None
        };
        self.check_all();
        self.report(converged_s, renumbered_s)
    }

    fn step_until_renumber(&mut self) {
        let epoch = self.epoch;
        while self.epoch == epoch && self.step() {}
    }

    /// Runs the simulation for `d` more simulated time.
    pub fn advance(&mut self, d: Duration) {
        let end = self.now + d;
        while self.queue.peek().is_some_and(|Reverse(q)| q.at <= end) {
            self.step();
        }
        self.now = self.now.max(end);
        self.check_withdrawn();
    }

    /// The whole-network check: every held prefix routed from the server to
    /// its holder. Counted as violations.
    pub fn check_all(&mut self) -> u64 {
        let bad: Vec<(u32, Prefix)> = self
            .holders
            .iter()
            .filter(|&(&p, &id)| !self.routed(id, p))
            .map(|(&p, &id)| (id, p))
            .collect();
        for &(node, prefix) in &bad {
            self.unrouted_violation(node, prefix);
        }
        bad.len() as u64
    }

    pub fn report(&self, converged_s: Option<f64>, renumbered_s: Option<f64>) -> Report {
        Report {
            nodes: self.machines.len(),
            delegations: self.holders.len(),
            converged_s,
            renumbered_s,
            messages: self.messages,
            invariant_violations: self.violation_count,
        }
    }

    pub fn violations(&self) -> &BTreeMap<Violation, u64> {
        &self.violations
    }

    /// The first (up to 1000) violations and when they were seen.
    pub fn violation_log(&self) -> &[(Instant, Violation)] {
        &self.violation_log
    }

    pub fn now(&self) -> Instant {
        self.now
    }

    /// The first requesting router (a CPE on relay 0's link).
    pub fn first_router(&self) -> u32 {
        self.first_router
    }

    /// The prefixes router `id`'s client holds.
    pub fn held(&self, id: u32) -> Vec<Prefix> {
        match self.machines.get(id as usize) {
            Some(Machine::Router(r)) => r.held.iter().copied().collect(),
            _ => Vec::new(),
        }
    }

    /// Fault injection for tests: router `id` claims `p` as if its client
    /// held it (a broken node).
    pub fn inject_claim(&mut self, id: u32, p: Prefix) {
        if let Some((chain, d)) = self.position(id) {
            self.claim(id, chain, d, p);
            if !self.routed(id, p) {
                self.unrouted_violation(id, p);
            }
        }
    }

    /// Fault injection for tests: removes the route for `p` from `node`'s
    /// emulated table behind its machines' back.
    pub fn inject_route_removal(&mut self, node: u32, p: Prefix) -> bool {
        let present = self.kernels[node as usize].routes.contains_key(&p);
        self.kernels[node as usize].del_route(p);
        self.rechecks.push_back((self.now + REROUTE_GRACE, p));
        present
    }

    /// Fault injection for tests: a route at `node` for `p` that no lease
    /// backs, checked like any step's change.
    pub fn inject_route(&mut self, node: u32, p: Prefix, gateway: Ipv6Addr, ifindex: IfIndex) {
        self.kernels[node as usize].set_route(
            p,
            Route {
                kind: RouteType::Unicast,
                gateway: Some(gateway),
                ifindex: Some(ifindex),
                expires_at: None,
            },
        );
        self.dirty.push((node, p));
        self.check_dirty();
    }

    /// Flushes pcap files.
    pub fn finish(&mut self) -> anyhow::Result<()> {
        for l in &mut self.links {
            if let Some(w) = &mut l.pcap {
                w.flush()?;
            }
        }
        Ok(())
    }
}

/// Uniform draws in 0..1 from the core RNG.
trait UnitDraw {
    fn rand_factor_unit(&mut self) -> f64;
}

impl UnitDraw for Rng {
    fn rand_factor_unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The JSON line (key order as the issue lists them).
pub fn json_line(r: &Report, wall_s: f64, peak_rss_mb: f64) -> String {
    let opt = |v: Option<f64>| v.map_or("null".to_owned(), |s| format!("{s:.3}"));
    format!(
        "{{\"nodes\":{},\"delegations\":{},\"converged_s\":{},\"renumbered_s\":{},\"messages\":{},\"wall_s\":{:.3},\"peak_rss_mb\":{:.1},\"invariant_violations\":{}}}",
        r.nodes,
        r.delegations,
        opt(r.converged_s),
        opt(r.renumbered_s),
        r.messages,
        wall_s,
        peak_rss_mb,
        r.invariant_violations
    )
}
