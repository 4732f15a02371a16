//! [`RelayUnit`]: the relay-agent role (a `[relay]` table).
//!
//! It owns the sans-IO [`Relay`] machine behind the node's UDP 547 socket
//! and keeps what the relay snooped (RFC 8987 §4: the prefixes delegated
//! through it, with their next hops) in `relay-bindings.json`, so that after
//! a restart the routes come back and none stale (RFC 8987 service
//! continuity). Each snoop change is saved before the loop carries out the
//! effects queued after it.
//!
//! Panic contract: nothing here panics.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::Ipv6Addr;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use tokio::time::Instant as TokioInstant;
use v6edge_core::{IfIndex, Instant, KernelOp, Received, RouteSpec};
use v6edge_dhcp6::relay::{
    ALL_DHCP_SERVERS, Downstream, Relay, RelayConfig, RelayOutput, SnoopChange, Snooped,
};
use v6edge_prefix::Prefix;
use v6edge_wire::dhcp6::Duid;

use super::persist::WallClock;
use super::role::{Effect, Facts, Interest, Needs, OwnedRoutes, Port, Role, message_name};
use crate::config::{Config, RelaySettings};
use crate::metrics::Metrics;
use crate::state::StateDir;
use crate::status::{
    LeaseView, RelayBindingStatus, RelayCountersStatus, RelayLinkStatus, RelayStatus, Status,
};

const BINDINGS_DOC: &str = "relay-bindings";

/// What the loop read of one relay interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RelayLink {
    pub ifindex: Option<IfIndex>,
    /// A global address of the interface (the default link-address).
    pub global: Option<Ipv6Addr>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct BindingDoc {
    prefix: String,
    next_hop: Ipv6Addr,
    /// The downstream interface by name: indices change across reboots.
    interface: String,
    duid: String,
    iaid: u32,
    /// Unix seconds; null = infinite.
    valid_until: Option<u64>,
}

/// The relay agent; see the module documentation.
pub struct RelayUnit {
    settings: RelaySettings,
    state: StateDir,
    origin: TokioInstant,
    clock: WallClock,
    links: BTreeMap<String, RelayLink>,
    relay: Option<Relay>,
    snooped: BTreeMap<Prefix, Snooped>,
    effects: VecDeque<Effect>,
}

impl std::fmt::Debug for RelayUnit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayUnit")
            .field("links", &self.links)
            .field("snooped", &self.snooped.len())
            .finish_non_exhaustive()
    }
}

impl RelayUnit {
    /// The relay machine's drop counts by reason label, for the metrics.
    pub fn dropped_counts(&self) -> Vec<(String, u64)> {
        match &self.relay {
            Some(r) => r
                .counters()
                .dropped
                .iter()
                .map(|(reason, n)| (super::guard::reason_label(reason), *n))
                .collect(),
            None => Vec::new(),
        }
    }

    pub fn new(settings: &RelaySettings, state: StateDir, origin: TokioInstant) -> RelayUnit {
        let names = std::iter::once(settings.upstream.to_string())
            .chain(settings.downstream.iter().map(|d| d.interface.to_string()));
        RelayUnit {
            settings: settings.clone(),
            state,
            origin,
            clock: WallClock::new(Instant::ZERO, SystemTime::now()),
            links: names.map(|n| (n, RelayLink::default())).collect(),
            relay: None,
            snooped: BTreeMap::new(),
            effects: VecDeque::new(),
        }
    }

    fn now(&self) -> Instant {
        super::persist::machine_now(self.origin)
    }

    pub fn to_tokio(&self, t: Instant) -> TokioInstant {
        super::persist::tokio_instant(self.origin, t)
    }

    /// The interfaces the loop must read.
    pub fn interface_names(&self) -> impl Iterator<Item = &str> {
        self.links.keys().map(String::as_str)
    }

    /// Downstream interfaces that exist (the socket joins ff02::1:2 there).
    pub fn listen_ifindices(&self) -> BTreeSet<IfIndex> {
        self.settings
            .downstream
            .iter()
            .filter_map(|d| self.links.get(d.interface.as_str()).and_then(|l| l.ifindex))
            .collect()
    }

    fn ifname(&self, index: IfIndex) -> Option<&str> {
        self.links
            .iter()
            .find(|(_, l)| l.ifindex == Some(index))
            .map(|(n, _)| n.as_str())
    }

    /// Interfaces as the loop read them. The machine starts once the upstream
    /// and a downstream exist (restoring what was snooped before), and is
    /// rebuilt with its snooped state when an interface changes.
    pub fn sync(&mut self, links: &BTreeMap<String, RelayLink>, metrics: &Metrics) {
        let mut changed = false;
        for (name, link) in links {
            if let Some(slot) = self.links.get_mut(name)
                && slot != link
            {
                *slot = *link;
                changed = true;
            }
        }
        if self.relay.is_some() && !changed {
            return;
        }
        let Some(config) = self.machine_config() else {
            if self.relay.take().is_some() {
                tracing::warn!("relay interfaces missing: relaying paused");
            }
            return;
        };
        let now = self.now();
        let snooped = if self.relay.is_some() {
            self.snooped.values().cloned().collect()
        } else {
            self.load()
        };
        tracing::info!(
            bindings = snooped.len(),
            "relay agent (re)starting; snooped routes restored"
        );
        self.relay = Some(Relay::restore(config, snooped, now));
        self.pump(metrics);
    }

    fn machine_config(&self) -> Option<RelayConfig> {
        let s = &self.settings;
        let upstream = self.links.get(s.upstream.as_str())?.ifindex?;
        let mut c = RelayConfig::new(upstream);
        c.servers = s.servers.clone();
        c.hop_count_limit = s.hop_count_limit;
        c.routes = s.routes;
        c.downstream = s
            .downstream
            .iter()
            .filter_map(|d| {
                let link = self.links.get(d.interface.as_str())?;
                let mut down = Downstream::new(link.ifindex?, d.effective_interface_id().to_vec());
                // RFC 8415 §19.1.1: a global address of the client's link,
                // else :: with the Interface-ID.
                down.link_address = d.link_address.or(link.global);
                down.always_interface_id = d.always_interface_id;
                down.remote_id = d.remote_id.clone();
                down.subscriber_id = d.subscriber_id.clone();
                Some(down)
            })
            .collect();
        (!c.downstream.is_empty()).then_some(c)
    }

    fn load(&self) -> Vec<Snooped> {
        let docs: Vec<BindingDoc> = match self.state.load(BINDINGS_DOC) {
            Ok(d) => d.unwrap_or_default(),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the relay bindings; starting without");
                Vec::new()
            }
        };
        docs.into_iter()
            .filter_map(|d| {
                Some(Snooped {
                    prefix: d.prefix.parse().ok()?,
                    next_hop: d.next_hop,
                    ifindex: self.links.get(&d.interface)?.ifindex?,
                    client_duid: Duid::from_bytes(&unhex(&d.duid)?).ok()?,
                    iaid: d.iaid,
                    valid_until: d
                        .valid_until
                        .map_or(Instant::from_micros(u64::MAX), |u| self.clock.from_unix(u)),
                })
            })
            .collect()
    }

    fn save(&self) {
        let docs: Vec<BindingDoc> = self
            .snooped
            .values()
            .map(|s| BindingDoc {
                prefix: s.prefix.to_string(),
                next_hop: s.next_hop,
                interface: self.ifname(s.ifindex).unwrap_or("").to_owned(),
                duid: s.client_duid.to_string(),
                iaid: s.iaid,
                valid_until: (s.valid_until != Instant::from_micros(u64::MAX))
                    .then(|| self.clock.to_unix(s.valid_until)),
            })
            .collect();
        if let Err(e) = self.state.save(BINDINGS_DOC, &docs) {
            tracing::error!(error = %e, "cannot save the relay bindings");
        }
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        self.relay.as_ref().and_then(Relay::poll_timeout)
    }

    pub fn handle_packet(&mut self, rx: &Received<'_>, metrics: &Metrics) {
        let now = self.now();
        if let Some(r) = &mut self.relay {
            r.handle_packet(now, rx);
        }
        self.pump(metrics);
    }

    pub fn handle_timeout(&mut self, metrics: &Metrics) {
        let now = self.now();
        if let Some(r) = &mut self.relay {
            r.handle_timeout(now);
        }
        self.pump(metrics);
    }

    /// `[relay] hook`: a relayed delegation began, was renewed or ended
    /// (docs/config.md "Hooks").
    fn hook(&mut self, event: &str, s: &Snooped) {
        let Some(program) = self.settings.hook.clone() else {
            return;
        };
        let infinite = Instant::from_micros(u64::MAX);
        let env = vec![
            ("V6EDGE_ROLE".to_owned(), "relay".to_owned()),
            ("V6EDGE_EVENT".to_owned(), event.to_owned()),
            ("V6EDGE_PREFIX".to_owned(), s.prefix.to_string()),
            ("V6EDGE_NEXT_HOP".to_owned(), s.next_hop.to_string()),
            (
                "V6EDGE_INTERFACE".to_owned(),
                self.ifname(s.ifindex).unwrap_or_default().to_owned(),
            ),
            ("V6EDGE_DUID".to_owned(), s.client_duid.to_string()),
            ("V6EDGE_IAID".to_owned(), s.iaid.to_string()),
            (
                "V6EDGE_VALID_UNTIL".to_owned(),
                if s.valid_until == infinite {
                    "infinite".to_owned()
                } else {
                    self.clock.to_unix(s.valid_until).to_string()
                },
            ),
        ];
        self.effects.push_back(Effect::Hook { program, env });
    }

    fn pump(&mut self, metrics: &Metrics) {
        let Some(relay) = &mut self.relay else { return };
        let mut outputs = Vec::new();
        while let Some(o) = relay.poll_output() {
            outputs.push(o);
        }
        let mut dirty = false;
        for o in outputs {
            match o {
                RelayOutput::Transmit(t) => {
                    if let Some(b) = t.payload.first() {
                        metrics.dhcp6_sent(self.ifname(t.ifindex).unwrap_or("?"), message_name(*b));
                    }
                    self.effects.push_back(Effect::Dhcp6Server(t));
                }
                RelayOutput::Kernel(op) => {
                    let metric = self.settings.route_metric;
                    let with_metric = |r: RouteSpec| RouteSpec { metric, ..r };
                    let op = match op {
                        KernelOp::SetRoute(r) => KernelOp::SetRoute(with_metric(r)),
                        KernelOp::DelRoute(r) => KernelOp::DelRoute(with_metric(r)),
                        other => other,
                    };
                    self.effects.push_back(Effect::Kernel(op));
                }
                RelayOutput::Snoop(SnoopChange::Upsert(s)) => {
                    tracing::info!(prefix = %s.prefix, next_hop = %s.next_hop, "relayed delegation snooped");
                    let event = if self.snooped.contains_key(&s.prefix) {
                        "binding-renewed"
                    } else {
                        "binding-added"
                    };
                    self.hook(event, &s);
                    self.snooped.insert(s.prefix, s);
                    dirty = true;
                }
                RelayOutput::Snoop(SnoopChange::Remove(p)) => {
                    tracing::info!(prefix = %p, "relayed delegation ended");
                    if let Some(s) = self.snooped.remove(&p) {
                        self.hook("binding-removed", &s);
                    }
                    dirty = true;
                }
            }
        }
        // The machine is the truth (a restore re-emits routes, not snoop
        // changes): keep the copy used while it is paused in step.
        if let Some(relay) = &self.relay {
            self.snooped = relay.snooped().map(|s| (s.prefix, s.clone())).collect();
        }
        if dirty {
            self.save();
        }
    }

    pub fn next_effect(&mut self) -> Option<Effect> {
        self.effects.pop_front()
    }

    /// Prefixes that should have a route (reconciliation at start).
    pub fn wanted_routes(&self) -> BTreeSet<Prefix> {
        if !self.settings.routes {
            return BTreeSet::new();
        }
        self.snooped.keys().copied().collect()
    }

    /// The snooped delegations, in the shape of the server's leases.
    pub fn leases(&self) -> Vec<LeaseView> {
        let now = self.now();
        self.snooped
            .values()
            .map(|s| LeaseView {
                duid: s.client_duid.to_string(),
                iaid: s.iaid,
                kind: "pd",
                prefix: s.prefix.to_string(),
                // A relay sees the preferred lifetime only in passing.
                preferred: None,
                valid: Some((s.valid_until - now).as_secs().min(u64::from(u32::MAX - 1)) as u32),
                next_hop: Some(s.next_hop),
                interface: self.ifname(s.ifindex).map(str::to_owned),
            })
            .collect()
    }

    /// The relay's part of the status document: its links, where it
    /// relays to, its counters and every snooped binding.
    pub fn status(&self) -> RelayStatus {
        let now = self.now();
        let s = &self.settings;
        let link = |name: &str, role: &str, link_address: Option<Ipv6Addr>| {
            let l = self.links.get(name).copied().unwrap_or_default();
            RelayLinkStatus {
                interface: name.to_owned(),
                role: role.to_owned(),
                // The loop reads an index only for an interface that is up.
                up: l.ifindex.is_some(),
                ifindex: l.ifindex,
                link_address,
            }
        };
        let links = std::iter::once(link(s.upstream.as_str(), "upstream", None))
            .chain(s.downstream.iter().map(|d| {
                let global = self.links.get(d.interface.as_str()).and_then(|l| l.global);
                // As machine_config chooses it (RFC 8415 §19.1.1).
                link(
                    d.interface.as_str(),
                    "downstream",
                    d.link_address.or(global),
                )
            }))
            .collect();
        let counters = match &self.relay {
            Some(r) => {
                let c = r.counters();
                RelayCountersStatus {
                    forwarded_up: c.forwarded_up,
                    forwarded_down: c.forwarded_down,
                    dropped: c
                        .dropped
                        .iter()
                        .map(|(reason, n)| (super::guard::reason_label(reason), *n))
                        .collect(),
                    snoop_rejected: c.snoop_rejected,
                    routes_added: c.routes_added,
                    routes_updated: c.routes_updated,
                    routes_removed: c.routes_removed,
                }
            }
            None => RelayCountersStatus::default(),
        };
        let bindings = self
            .snooped
            .values()
            .map(|b| RelayBindingStatus {
                prefix: b.prefix.to_string(),
                next_hop: b.next_hop,
                interface: self.ifname(b.ifindex).map(str::to_owned),
                duid: b.client_duid.to_string(),
                iaid: b.iaid,
                valid: (b.valid_until != Instant::from_micros(u64::MAX))
                    .then(|| (b.valid_until - now).as_secs().min(u64::from(u32::MAX - 1)) as u32),
            })
            .collect();
        RelayStatus {
            links,
            servers: if s.servers.is_empty() {
                vec![ALL_DHCP_SERVERS]
            } else {
                s.servers.clone()
            },
            relaying: self.relay.is_some(),
            counters,
            snooped: self.snooped.len() as u64,
            bindings,
        }
    }

    /// SIGHUP: new settings; the machine is rebuilt with what it snooped.
    pub fn reconfigure(&mut self, settings: &RelaySettings, metrics: &Metrics) {
        self.settings = settings.clone();
        let names: BTreeSet<String> = std::iter::once(settings.upstream.to_string())
            .chain(settings.downstream.iter().map(|d| d.interface.to_string()))
            .collect();
        self.links.retain(|n, _| names.contains(n));
        for n in names {
            self.links.entry(n).or_default();
        }
        if let Some(config) = self.machine_config() {
            let now = self.now();
            self.relay = Some(Relay::restore(
                config,
                self.snooped.values().cloned().collect(),
                now,
            ));
        }
        self.pump(metrics);
    }
}

impl Role for RelayUnit {
    fn name(&self) -> &'static str {
        "relay"
    }

    fn needs(&self) -> Needs {
        let interest = Interest {
            global_address: true,
            ..Interest::default()
        };
        Needs {
            interfaces: self
                .interface_names()
                .map(|n| (n.to_owned(), interest))
                .collect(),
            port_547: true,
            port_547_groups: self.listen_ifindices(),
            // Relay-forwards to ff05::1:3 must reach servers beyond the
            // first router (site scope); 32 is the relay hop-count bound of
            // old (RFC 3315 HOP_COUNT_LIMIT) and plenty for a site.
            port_547_multicast_hops: Some(32),
            forwarding: true,
            ..Needs::default()
        }
    }

    fn sync(&mut self, facts: &Facts, metrics: &Metrics) {
        let links: BTreeMap<String, RelayLink> = self
            .interface_names()
            .map(|n| {
                let ifindex = facts.up_index(n);
                // RFC 8415 §19.1.1: a global address of the link as
                // link-address.
                let global = ifindex.and_then(|_| facts.links.get(n)?.global);
                (n.to_owned(), RelayLink { ifindex, global })
            })
            .collect();
        RelayUnit::sync(self, &links, metrics);
    }

    /// Everything on UDP 547: Relay-replies come from the servers, whatever
    /// the interface, and the machine judges the rest.
    fn accepts(&self, port: Port, _rx: &Received<'_>) -> bool {
        port == Port::Dhcp6Server
    }

    fn handle_datagram(&mut self, _port: Port, rx: &Received<'_>, metrics: &Metrics) {
        self.handle_packet(rx, metrics);
    }

    fn handle_timeout(&mut self, metrics: &Metrics) {
        RelayUnit::handle_timeout(self, metrics);
    }

    fn next_deadline(&self) -> Option<TokioInstant> {
        RelayUnit::next_deadline(self).map(|t| self.to_tokio(t))
    }

    fn next_effect(&mut self) -> Option<Effect> {
        RelayUnit::next_effect(self)
    }

    /// Routes toward the delegations it relayed (RFC 8987 §4).
    fn owned_routes(&self) -> Option<OwnedRoutes> {
        Some(OwnedRoutes {
            owner: v6edge_core::Owner::Relay,
            kind: v6edge_core::RouteType::Unicast,
            prefixes: self.wanted_routes(),
        })
    }

    fn status(&self, status: &mut Status) {
        status.roles.relay = Some(RelayUnit::status(self));
    }

    fn leases(&self) -> Option<Vec<LeaseView>> {
        Some(RelayUnit::leases(self))
    }

    fn dropped_counts(&self) -> Vec<(&'static str, String, u64)> {
        RelayUnit::dropped_counts(self)
            .into_iter()
            .map(|(reason, n)| ("dhcp6-relay", reason, n))
            .collect()
    }

    fn reconfigure(&mut self, config: &Config, metrics: &Metrics) -> anyhow::Result<()> {
        if let Some(settings) = &config.relay {
            RelayUnit::reconfigure(self, settings, metrics);
        }
        Ok(())
    }
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    text.split(':')
        .map(|h| u8::from_str_radix(h, 16).ok())
        .collect()
}
