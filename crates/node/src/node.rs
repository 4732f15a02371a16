//! [`Node`]: the requesting router's machines and the policy between them.

use std::collections::{BTreeSet, VecDeque};
use std::net::Ipv6Addr;
use std::time::Duration;

use v6edge_core::{IfIndex, Instant, KernelOp, Owner, Received, Transmit};
use v6edge_dhcp6::client::{Client, ClientConfig, ClientEvent, DropReason, Leases, StoredBinding};
use v6edge_prefix::Prefix;
use v6edge_ra::{AdvertContent, Advertiser, AdvertiserConfig, LinkContributions};
use v6edge_router::{
    Delegation, LanSpec, Persisted, Router, RouterConfig, RouterOutput, UplinkAddress, UplinkView,
};

use crate::space::{UplinkBlock, delegable_space};

/// How long a LAN waits for something to advertise before its advertiser
/// starts anyway. Starting at link-up with nothing to say would spend the
/// first RA on an empty advertisement and hold back the one with the prefix
/// for MIN_DELAY_BETWEEN_RAS (RFC 4861 §6.2.4); with a delegation at hand the
/// advertiser starts at once.
pub const ADVERTISE_GRACE: Duration = Duration::from_secs(5);

/// The router's own address on each LAN /64 is `prefix::1`.
const HOST_ID: u128 = 1;

/// One LAN as configured: the router's view of it and the template of its
/// advertiser (the node fills in the interface index and link-layer
/// address when the link appears).
#[derive(Debug, Clone)]
pub struct NodeLan {
    pub spec: LanSpec,
    pub advertiser: AdvertiserConfig,
}

/// What the caller must carry out, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeOutput {
    /// Send on the uplink's DHCPv6 client socket.
    Dhcp6(Transmit),
    /// Send on the ICMPv6 socket: a Router Advertisement of LAN `lan`
    /// (index in configuration order; `None` for the final RAs of a LAN
    /// that a reconfiguration removed).
    Icmp6 {
        lan: Option<usize>,
        transmit: Transmit,
    },
    Kernel(KernelOp),
    /// The LAN state to persist (RFC 9818 LPD-3, RFC 9096 §3.5).
    Persist(Persisted),
    /// The client's leases changed.
    Leases(Box<LeasesChange>),
}

/// The client's leases changed from `previous` to `current`; `binding` is
/// what to persist for a warm restart (RFC 8415 §18.2.12).
#[derive(Debug, Clone, PartialEq)]
pub struct LeasesChange {
    pub previous: Leases,
    pub current: Leases,
    pub binding: Option<StoredBinding>,
}

#[derive(Debug)]
struct Lan {
    spec: LanSpec,
    template: AdvertiserConfig,
    /// The usable link: index and link-layer address, while up.
    link: Option<(IfIndex, Option<[u8; 6]>)>,
    advertiser: Option<Advertiser>,
    /// While the advertiser waits for content: when it starts anyway.
    start_at: Option<Instant>,
    /// What is advertised here: the router's content
    /// ([`Owner::RequestingRouter`]) and what other roles add
    /// ([`Node::set_lan_contribution`]); the advertiser sends the merge.
    contributions: LinkContributions<Owner>,
}

impl Lan {
    fn new(l: NodeLan) -> Lan {
        Lan {
            spec: l.spec,
            template: l.advertiser,
            link: None,
            advertiser: None,
            start_at: None,
            contributions: LinkContributions::new(),
        }
    }

    /// Hands the merged content to the advertiser; one waiting for
    /// something worth saying starts at once.
    fn refresh_advertiser(&mut self, now: Instant) {
        let content = self.contributions.merged();
        let worth_it = !content.prefixes.is_empty() || !content.deprecated.is_empty();
        if let Some(a) = &mut self.advertiser {
            a.set_content(now, content);
            if worth_it && self.start_at.take().is_some() {
                a.start(now);
            }
        }
    }

    fn ifindex(&self) -> Option<IfIndex> {
        self.link.map(|(i, _)| i)
    }

    fn advertiser_config(&self) -> Option<AdvertiserConfig> {
        let (index, mac) = self.link?;
        let mut c = self.template.clone();
        c.ifindex = index;
        c.link_layer_addr = mac.map(|m| m.to_vec());
        Some(c)
    }
}

/// The requesting router; see the crate documentation.
#[derive(Debug)]
pub struct Node {
    seed: u64,
    lans: Vec<Lan>,
    uplink_ifindex: Option<IfIndex>,
    uplink_ready: bool,
    client: Option<Client>,
    /// The binding to restore the next client from (read at start, or
    /// kept from a client whose uplink went away).
    restored: Option<StoredBinding>,
    router: Router,
    default_router: bool,
    leases: Leases,
    out: VecDeque<NodeOutput>,
}

fn router_config(lans: &[Lan]) -> RouterConfig {
    RouterConfig {
        lans: lans.iter().map(|l| l.spec.clone()).collect(),
        // Each advertiser decides from its own `route_info` setting.
        route_info: true,
        host_id: HOST_ID,
    }
}

/// What the router needs to know of the client's leases.
fn uplink_view(leases: &Leases) -> UplinkView {
    UplinkView {
        delegations: leases
            .prefixes
            .iter()
            .map(|p| Delegation {
                prefix: p.prefix,
                preferred_until: p.preferred_until,
                valid_until: p.valid_until,
                exclude: p.exclude,
            })
            .collect(),
        addresses: leases
            .addresses
            .iter()
            .map(|a| UplinkAddress {
                addr: a.addr,
                preferred_until: a.preferred_until,
                valid_until: a.valid_until,
            })
            .collect(),
        dns_servers: leases.dns_servers.clone(),
        dns_domains: leases.domains.clone(),
    }
}

impl Node {
    /// A node with its LANs, the LAN state and binding persisted by an
    /// earlier run, and a seed for jitter and transaction ids.
    pub fn new(
        lans: Vec<NodeLan>,
        persisted: Persisted,
        restored: Option<StoredBinding>,
        seed: u64,
        now: Instant,
    ) -> Node {
        let lans: Vec<Lan> = lans.into_iter().map(Lan::new).collect();
        let router = Router::new(router_config(&lans), persisted, now);
        Node {
            seed,
            lans,
            uplink_ifindex: None,
            uplink_ready: false,
            client: None,
            restored,
            router,
            default_router: false,
            leases: Leases::default(),
            out: VecDeque::new(),
        }
    }

    pub fn client(&self) -> Option<&Client> {
        self.client.as_ref()
    }

    pub fn router(&self) -> &Router {
        &self.router
    }

    pub fn leases(&self) -> &Leases {
        &self.leases
    }

    pub fn default_router(&self) -> bool {
        self.default_router
    }

    pub fn uplink_ifindex(&self) -> Option<IfIndex> {
        self.uplink_ifindex
    }

    /// The advertiser of LAN `lan` (configuration order), while it runs.
    pub fn advertiser(&self, lan: usize) -> Option<&Advertiser> {
        self.lans.get(lan).and_then(|l| l.advertiser.as_ref())
    }

    /// The LAN whose usable link has index `ifindex`.
    pub fn lan_on(&self, ifindex: IfIndex) -> Option<usize> {
        self.lans.iter().position(|l| l.ifindex() == Some(ifindex))
    }

    /// LAN interfaces that are up.
    pub fn lan_ifindices(&self) -> BTreeSet<IfIndex> {
        self.lans.iter().filter_map(Lan::ifindex).collect()
    }

    /// The space a delegating server on this router may hand out (RFC 9818
    /// LPD-4): see [`delegable_space`].
    pub fn delegable_space(&self, now: Instant) -> Vec<UplinkBlock> {
        delegable_space(self.router.delegations(), &self.router.status(now))
    }

    /// Prefixes of the unreachable routes the router wants.
    pub fn wanted_unreachable_routes(&self) -> BTreeSet<Prefix> {
        self.router.delegations().iter().map(|d| d.prefix).collect()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        let client = self.client.as_ref().and_then(|c| c.poll_timeout());
        let ras = self
            .lans
            .iter()
            .filter_map(|l| l.advertiser.as_ref().and_then(|a| a.poll_timeout()));
        let starts = self.lans.iter().filter_map(|l| l.start_at);
        client
            .into_iter()
            .chain(self.router.poll_timeout())
            .chain(ras)
            .chain(starts)
            .min()
    }

    pub fn poll_output(&mut self) -> Option<NodeOutput> {
        self.out.pop_front()
    }

    /// The uplink interface appeared, went away or was recreated.
    pub fn set_uplink_ifindex(&mut self, now: Instant, ifindex: Option<IfIndex>) {
        if self.uplink_ifindex != ifindex {
            self.uplink_ifindex = ifindex;
            self.router.set_uplink_ifindex(now, ifindex);
            self.pump(now);
        }
    }

    /// The index the DHCPv6 client runs on, if there is one.
    pub fn client_ifindex(&self) -> Option<IfIndex> {
        self.client.as_ref().map(|c| c.config().ifindex)
    }

    /// (Re)creates the DHCPv6 client with `config` (a new or recreated
    /// uplink interface), keeping the binding: a client with a binding
    /// starts with Rebind (RFC 8415 §18.2.5).
    pub fn attach_client(&mut self, now: Instant, config: ClientConfig) {
        let stored = match self.client.take() {
            Some(old) => old.stored_binding(now),
            None => self.restored.take(),
        };
        self.client = Some(match stored {
            Some(stored) => {
                tracing::info!(
                    prefixes = stored.prefixes.len(),
                    "restoring the DHCPv6 binding: Rebind"
                );
                Client::restore(config, stored, self.seed, now)
            }
            None => Client::new(config, self.seed, now),
        });
        self.uplink_ready = false;
        self.pump(now);
    }

    /// The uplink moved to another interface: the client stops there, its
    /// binding is kept for the next [`Node::attach_client`].
    pub fn detach_uplink(&mut self, now: Instant) {
        if let Some(old) = self.client.take() {
            self.restored = old.stored_binding(now);
        }
        self.uplink_ifindex = None;
        self.uplink_ready = false;
    }

    /// New client settings on the same uplink.
    pub fn reconfigure_client(&mut self, now: Instant, config: ClientConfig) {
        if let Some(c) = &mut self.client {
            c.reconfigure(now, config);
        }
        self.pump(now);
    }

    /// The uplink can carry DHCPv6: up, running, with a usable link-local
    /// address (RFC 8415 §13.1).
    pub fn set_uplink_ready(&mut self, now: Instant, ready: bool) {
        if let Some(client) = &mut self.client
            && ready != self.uplink_ready
        {
            tracing::info!(ready, "uplink link state");
            client.handle_link(now, ready);
            self.uplink_ready = ready;
            self.pump(now);
        }
    }

    /// LAN `lan` is usable with this index and link-layer address, or not.
    pub fn set_lan_link(
        &mut self,
        now: Instant,
        lan: usize,
        link: Option<(IfIndex, Option<[u8; 6]>)>,
    ) {
        let seed = self.seed;
        let Some(l) = self.lans.get_mut(lan) else {
            return;
        };
        let old = l.ifindex();
        l.link = link;
        let new = l.ifindex();
        if old == new {
            return;
        }
        tracing::info!(lan = %l.spec.name, ifindex = ?new, "LAN link state");
        l.advertiser = match (new, l.spec.advertise, l.advertiser_config()) {
            (Some(index), true, Some(c)) => Some(Advertiser::new(c, seed ^ u64::from(index), now)),
            _ => None,
        };
        l.start_at = l.advertiser.as_ref().map(|_| now + ADVERTISE_GRACE);
        // The router re-emits the LAN address and the advert content.
        self.router.set_lan_ifindex(now, &l.spec.name, new);
        self.pump(now);
    }

    /// The uplink has (or lost) a default route, RFC 7084 G-4.
    pub fn set_default_router(&mut self, now: Instant, present: bool) {
        if present != self.default_router {
            self.default_router = present;
            self.router.set_default_router(now, present);
            self.pump(now);
        }
    }

    /// A datagram from the uplink's DHCPv6 socket; a reason if dropped.
    pub fn handle_dhcp6(&mut self, now: Instant, rx: &Received<'_>) -> Option<DropReason> {
        let dropped = self.client.as_mut().and_then(|c| c.handle_packet(now, rx));
        self.pump(now);
        dropped
    }

    /// An ICMPv6 datagram on a LAN (RS, or another router's RA).
    pub fn handle_icmp6(&mut self, now: Instant, rx: &Received<'_>) {
        if let Some(lan) = self.lan_on(rx.ifindex)
            && let Some(adv) = self.lans.get_mut(lan).and_then(|l| l.advertiser.as_mut())
        {
            adv.handle_packet(now, rx);
        }
        self.pump(now);
    }

    /// Our link-local address on LAN `ifindex`: the source of unicast RAs.
    pub fn set_lan_source(&mut self, ifindex: IfIndex, source: Option<Ipv6Addr>) {
        if let Some(adv) = self.advertiser_on(ifindex) {
            adv.set_source(source);
        }
    }

    /// What another role advertises on the LAN named `lan` (`None`:
    /// nothing any more), merged with the router's own content (RFC 4861
    /// §6.2.3: one RA per link; see `v6edge_ra::LinkContributions` for the
    /// rules). Kept across link changes and reconfigurations of the LAN.
    /// The router's own key ([`Owner::RequestingRouter`]) is not taken.
    pub fn set_lan_contribution(
        &mut self,
        now: Instant,
        lan: &str,
        contributor: Owner,
        content: Option<AdvertContent>,
    ) {
        if contributor == Owner::RequestingRouter {
            return;
        }
        let Some(l) = self.lans.iter_mut().find(|l| l.spec.name == lan) else {
            return;
        };
        let changed = match content {
            Some(c) => l.contributions.set(contributor, c),
            None => l.contributions.remove(contributor).is_some(),
        };
        if changed {
            l.refresh_advertiser(now);
        }
        self.pump(now);
    }

    /// Hosts known on LAN `ifindex`: told about urgent changes by unicast RA.
    pub fn note_neighbours(&mut self, now: Instant, ifindex: IfIndex, addrs: &[Ipv6Addr]) {
        if let Some(adv) = self.advertiser_on(ifindex) {
            for &addr in addrs {
                adv.note_neighbor(now, addr);
            }
        }
        self.pump(now);
    }

    fn advertiser_on(&mut self, ifindex: IfIndex) -> Option<&mut Advertiser> {
        let lan = self.lan_on(ifindex)?;
        self.lans.get_mut(lan).and_then(|l| l.advertiser.as_mut())
    }

    /// Runs what is due; early or spurious calls do nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(c) = &mut self.client {
            c.handle_timeout(now);
        }
        self.router.handle_timeout(now);
        for lan in &mut self.lans {
            if let Some(a) = &mut lan.advertiser {
                if lan.start_at.is_some_and(|t| t <= now) {
                    lan.start_at = None;
                    a.start(now);
                }
                a.handle_timeout(now);
            }
        }
        self.pump(now);
    }

    /// Operator `release` (RFC 8415 §18.2.7); false without a client.
    pub fn release(&mut self, now: Instant) -> bool {
        let Some(c) = &mut self.client else {
            return false;
        };
        c.release(now);
        self.pump(now);
        true
    }

    /// Operator `renew`; false without a client.
    pub fn renew_now(&mut self, now: Instant) -> bool {
        let Some(c) = &mut self.client else {
            return false;
        };
        c.renew_now(now);
        self.pump(now);
        true
    }

    /// Stop: final RAs with router lifetime 0 (RFC 4861 §6.2.5, RFC 7084
    /// G-5), and a Release if the client is configured so (RFC 9096 WPD-9).
    pub fn stop(&mut self, now: Instant) {
        for lan in &mut self.lans {
            if let Some(a) = &mut lan.advertiser {
                a.stop(now);
            }
        }
        if let Some(c) = &mut self.client {
            c.stop(now);
        }
        self.pump(now);
    }

    /// New LAN configuration: advertisers of LANs that stay keep running
    /// with new settings, removed LANs send their final RAs, and the router
    /// is rebuilt over `persisted` and told what is known of the links and
    /// the uplink.
    pub fn reconfigure_lans(&mut self, now: Instant, lans: Vec<NodeLan>, persisted: Persisted) {
        let mut old = std::mem::take(&mut self.lans);
        for gone in old
            .iter_mut()
            .filter(|l| !lans.iter().any(|n| n.spec.name == l.spec.name))
        {
            if let Some(a) = &mut gone.advertiser {
                a.stop(now);
                while let Some(transmit) = a.poll_transmit() {
                    self.out.push_back(NodeOutput::Icmp6 {
                        lan: None,
                        transmit,
                    });
                }
            }
        }
        self.lans = lans
            .into_iter()
            .map(
                |l| match old.iter().position(|o| o.spec.name == l.spec.name) {
                    Some(i) => {
                        let mut kept = old.swap_remove(i);
                        kept.spec = l.spec;
                        kept.template = l.advertiser;
                        if let Some(c) = kept.advertiser_config()
                            && let Some(a) = &mut kept.advertiser
                        {
                            a.set_config(now, c);
                        }
                        kept
                    }
                    None => Lan::new(l),
                },
            )
            .collect();
        self.router = Router::new(router_config(&self.lans), persisted, now);
        for lan in &self.lans {
            self.router
                .set_lan_ifindex(now, &lan.spec.name, lan.ifindex());
        }
        self.router.set_default_router(now, self.default_router);
        self.router.set_uplink_ifindex(now, self.uplink_ifindex);
        self.router.handle_uplink(now, uplink_view(&self.leases));
        self.pump(now);
    }

    /// Drains every machine until none has anything more to say. Outputs of
    /// one machine are inputs of the next, so this loops to a fixed point.
    fn pump(&mut self, now: Instant) {
        // Bounded: each round moves finite queues; a machine that kept
        // producing forever would be a bug, not a reason to hang.
        for _ in 0..64 {
            let mut progress = false;
            if let Some(client) = &mut self.client {
                while let Some(t) = client.poll_transmit() {
                    progress = true;
                    self.out.push_back(NodeOutput::Dhcp6(t));
                }
                let mut changed = Vec::new();
                while let Some(ev) = client.poll_event() {
                    progress = true;
                    if let ClientEvent::Changed(leases) = ev {
                        changed.push((leases, client.stored_binding(now)));
                    }
                }
                for (leases, binding) in changed {
                    self.router.handle_uplink(now, uplink_view(&leases));
                    let previous = std::mem::replace(&mut self.leases, leases);
                    self.out
                        .push_back(NodeOutput::Leases(Box::new(LeasesChange {
                            previous,
                            current: self.leases.clone(),
                            binding,
                        })));
                }
            }
            while let Some(out) = self.router.poll_output() {
                progress = true;
                match out {
                    RouterOutput::Kernel(op) => self.out.push_back(NodeOutput::Kernel(op)),
                    RouterOutput::Advert { ifindex, content } => {
                        self.advertise(now, ifindex, content)
                    }
                    RouterOutput::Persist(p) => self.out.push_back(NodeOutput::Persist(p)),
                }
            }
            for (i, lan) in self.lans.iter_mut().enumerate() {
                if let Some(a) = &mut lan.advertiser {
                    while let Some(transmit) = a.poll_transmit() {
                        progress = true;
                        self.out.push_back(NodeOutput::Icmp6 {
                            lan: Some(i),
                            transmit,
                        });
                    }
                }
            }
            if !progress {
                return;
            }
        }
        tracing::error!("machines did not settle after 64 rounds");
    }

    /// New router content for the LAN on `ifindex`.
    fn advertise(&mut self, now: Instant, ifindex: IfIndex, content: AdvertContent) {
        let Some(lan) = self.lans.iter_mut().find(|l| l.ifindex() == Some(ifindex)) else {
            return;
        };
        lan.contributions.set(Owner::RequestingRouter, content);
        lan.refresh_advertiser(now);
    }
}
