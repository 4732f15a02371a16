//! [`RipngRole`]: RIPng (RFC 2080) on the `[ripng]` interfaces.
//!
//! The decisions are the sans-IO [`Ripng`]'s (`v6edge-ripng`); this file
//! wires it: UDP 521 joined to ff02::9 on each interface ([`Port::Ripng`],
//! datagrams with their source port), the interfaces' link-local addresses
//! and MTUs from the loop's facts, and the routes it originates:
//!
//! - `connected`: the prefix of every global address on a RIPng interface;
//! - `static`: the main table's routes an administrator added (protocol
//!   `boot` or `static`), the default route excepted;
//! - `delegated`: the routes the other roles installed toward delegated
//!   prefixes (the delegating server's, the relay's, a requesting router's
//!   for its own sub-delegations), which the driver shares every second
//!   ([`RoleMessage::DelegatedRoutes`]): an ISP edge learns customer
//!   prefixes as they are delegated and forgets them on release or expiry
//!   (announced with metric 16 through garbage collection).
//!
//! Learned routes go to the kernel as [`Owner::Ripng`] (protocol 124); at
//! start the per-owner reconciliation removes what a previous run left,
//! and a clean stop removes what this run installed.
//!
//! The machine is built at the first sync that finds every interface; if
//! an interface comes back with another index (a veth recreated), the
//! machine is rebuilt and starts over.
//!
//! Panic contract: nothing here panics.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use tokio::time::Instant as TokioInstant;
use v6edge_core::{IfIndex, Instant, KernelOp, Owner, Received, RouteType};
use v6edge_prefix::Prefix;
use v6edge_ripng::{InterfaceConfig, OriginatedRoute, Ripng, RipngConfig, RipngOutput};

use super::role::{Effect, Facts, Interest, Needs, OwnedRoutes, Port, Role, RoleMessage};
use crate::config::{Config, RipngSettings};
use crate::metrics::Metrics;
use crate::status::{RipngNeighbourStatus, RipngRouteStatus, RipngStatusDoc, Status};

/// The MTU assumed while the kernel has not said (RFC 8200 §5 minimum).
const MIN_MTU: usize = 1280;

pub struct RipngRole {
    settings: RipngSettings,
    origin: TokioInstant,
    seed: u64,
    machine: Option<Ripng>,
    /// The indices the machine was built with, by interface name.
    built_for: BTreeMap<String, IfIndex>,
    /// Global prefixes of the RIPng interfaces (`connected`).
    connected: BTreeSet<Prefix>,
    /// The main table's routes an administrator added (`static`).
    static_routes: BTreeSet<Prefix>,
    /// The other roles' delegated routes (`delegated`).
    delegated: BTreeSet<Prefix>,
    effects: VecDeque<Effect>,
}

impl std::fmt::Debug for RipngRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RipngRole")
            .field("interfaces", &self.built_for)
            .field("running", &self.machine.is_some())
            .finish_non_exhaustive()
    }
}

impl RipngRole {
    pub fn new(settings: &RipngSettings, origin: TokioInstant, seed: u64) -> RipngRole {
        RipngRole {
            settings: settings.clone(),
            origin,
            seed,
            machine: None,
            built_for: BTreeMap::new(),
            connected: BTreeSet::new(),
            static_routes: BTreeSet::new(),
            delegated: BTreeSet::new(),
            effects: VecDeque::new(),
        }
    }

    fn now(&self) -> Instant {
        super::persist::machine_now(self.origin)
    }

    fn machine_config(&self, indices: &BTreeMap<String, IfIndex>) -> RipngConfig {
        let mut config = RipngConfig::new();
        config.timers = self.settings.timers;
        config.aggregates = self.settings.aggregates.clone();
        config.max_routes = self.settings.max_routes;
        config.kernel_metric = self.settings.route_metric;
        config.interfaces = self
            .settings
            .interfaces
            .iter()
            .filter_map(|i| {
                let ifindex = *indices.get(i.name.as_str())?;
                Some(InterfaceConfig {
                    ifindex,
                    cost: i.cost,
                    passive: i.passive,
                    split_horizon: i.split_horizon,
                    accept: i.accept.clone(),
                    advertise: i.advertise.clone(),
                    default_only: i.default_only,
                })
            })
            .collect();
        config
    }

    /// What this router originates now (the choice is
    /// [`v6edge_ripng::redistribute`]'s).
    fn originated(&self) -> Vec<OriginatedRoute> {
        let choice = v6edge_ripng::redistribute::Redistribution {
            connected: self.settings.redistribute_connected,
            static_routes: self.settings.redistribute_static,
            delegated: self.settings.redistribute_delegated,
            metric: self.settings.metric,
            tag: self.settings.tag,
        };
        choice.originated(&self.connected, &self.static_routes, &self.delegated)
    }

    fn reoriginate(&mut self) {
        let now = self.now();
        let routes = self.originated();
        if let Some(m) = &mut self.machine {
            m.set_originated(now, &routes);
        }
        self.pump();
    }

    /// Turns the machine's outputs into effects.
    fn pump(&mut self) {
        let Some(m) = &mut self.machine else { return };
        while let Some(out) = m.poll_output() {
            self.effects.push_back(match out {
                RipngOutput::Transmit(t) => Effect::Ripng(t),
                RipngOutput::Kernel(op) => Effect::Kernel(op),
            });
        }
    }

    /// Removes what the machine installed (a rebuild or a stop).
    fn withdraw_routes(&mut self) {
        let Some(m) = &self.machine else { return };
        let table = m.config().table;
        let metric = m.config().kernel_metric;
        let status = m.status(self.now());
        // The aggregates' unreachable routes.
        for (prefix, _) in &status.aggregates {
            self.effects
                .push_back(Effect::Kernel(KernelOp::DelRoute(v6edge_core::RouteSpec {
                    owner: Owner::Ripng,
                    table,
                    dst: *prefix,
                    kind: RouteType::Unreachable,
                    gateway: None,
                    ifindex: None,
                    metric,
                    expires: None,
                })));
        }
        for r in status.routes {
            let (Some(gateway), Some(ifindex)) = (r.next_hop, r.ifindex) else {
                continue;
            };
            if r.state != v6edge_ripng::RouteState::Active {
                continue;
            }
            self.effects
                .push_back(Effect::Kernel(KernelOp::DelRoute(v6edge_core::RouteSpec {
                    owner: Owner::Ripng,
                    table,
                    dst: r.prefix,
                    kind: RouteType::Unicast,
                    gateway: Some(gateway),
                    ifindex: Some(ifindex),
                    metric,
                    expires: None,
                })));
        }
    }
}

impl Role for RipngRole {
    fn name(&self) -> &'static str {
        "ripng"
    }

    fn needs(&self) -> Needs {
        let mut needs = Needs {
            port_521: true,
            port_521_groups: self.built_for.values().copied().collect(),
            forwarding: true,
            static_routes: self.settings.redistribute_static,
            ..Needs::default()
        };
        for i in &self.settings.interfaces {
            needs.interfaces.insert(
                i.name.to_string(),
                Interest {
                    addresses: true,
                    ..Interest::default()
                },
            );
        }
        needs
    }

    fn sync(&mut self, facts: &Facts, _metrics: &Metrics) {
        let now = self.now();
        let indices: BTreeMap<String, IfIndex> = self
            .settings
            .interfaces
            .iter()
            .filter_map(|i| {
                let info = facts.link(i.name.as_str()).info?;
                Some((i.name.to_string(), info.index))
            })
            .collect();
        // Build once every interface exists; rebuild when one comes back
        // as another interface.
        let complete = indices.len() == self.settings.interfaces.len();
        let changed = self
            .built_for
            .iter()
            .any(|(name, idx)| indices.get(name).is_some_and(|i| i != idx));
        if complete && (self.machine.is_none() || changed) {
            self.withdraw_routes();
            let config = self.machine_config(&indices);
            self.machine = Some(Ripng::new(config, self.seed, now));
            self.built_for = indices.clone();
            tracing::info!(interfaces = ?self.built_for, "RIPng started");
        }
        let mut connected = BTreeSet::new();
        for i in &self.settings.interfaces {
            let link = facts.link(i.name.as_str());
            let Some(&ifindex) = self.built_for.get(i.name.as_str()) else {
                continue;
            };
            connected.extend(link.addresses.iter().filter_map(|a| {
                v6edge_ripng::redistribute::connected_prefix(a.addr, a.prefix_len, a.tentative)
            }));
            let Some(m) = &mut self.machine else { continue };
            match link.usable() {
                Some((info, link_local)) => {
                    let mtu = usize::try_from(info.mtu).unwrap_or(MIN_MTU).max(MIN_MTU);
                    m.handle_interface_up(now, ifindex, link_local, mtu);
                }
                None => m.handle_interface_down(now, ifindex),
            }
        }
        self.connected = connected;
        self.static_routes = facts.static_routes.clone();
        self.reoriginate();
    }

    fn accepts(&self, _port: Port, _rx: &Received<'_>) -> bool {
        false
    }

    fn handle_datagram(&mut self, _port: Port, _rx: &Received<'_>, _metrics: &Metrics) {}

    fn handle_ripng(&mut self, rx: &Received<'_>, src_port: u16, _metrics: &Metrics) {
        let now = self.now();
        if let Some(m) = &mut self.machine {
            m.handle_packet(now, rx, src_port);
        }
        self.pump();
    }

    fn wants_delegated_routes(&self) -> bool {
        self.settings.redistribute_delegated
    }

    fn receive(&mut self, message: &RoleMessage, _metrics: &Metrics) {
        if let RoleMessage::DelegatedRoutes(prefixes) = message
            && *prefixes != self.delegated
        {
            self.delegated = prefixes.clone();
            self.reoriginate();
        }
    }

    fn handle_timeout(&mut self, _metrics: &Metrics) {
        let now = self.now();
        if let Some(m) = &mut self.machine {
            m.handle_timeout(now);
        }
        self.pump();
    }

    fn next_deadline(&self) -> Option<TokioInstant> {
        let t = self.machine.as_ref()?.poll_timeout()?;
        Some(super::persist::tokio_instant(self.origin, t))
    }

    fn next_effect(&mut self) -> Option<Effect> {
        self.effects.pop_front()
    }

    /// The learned routes (the kernel's protocol 124 ones).
    fn owned_routes(&self) -> Option<OwnedRoutes> {
        let now = self.now();
        let prefixes = self
            .machine
            .as_ref()
            .map(|m| {
                m.status(now)
                    .routes
                    .into_iter()
                    .filter(|r| r.next_hop.is_some() && r.state == v6edge_ripng::RouteState::Active)
                    .map(|r| r.prefix)
                    .collect()
            })
            .unwrap_or_default();
        Some(OwnedRoutes {
            owner: Owner::Ripng,
            kind: RouteType::Unicast,
            prefixes,
        })
    }

    fn status(&self, status: &mut Status) {
        let now = self.now();
        let names: BTreeMap<IfIndex, String> = self
            .built_for
            .iter()
            .map(|(n, i)| (*i, n.clone()))
            .collect();
        let name = |i: IfIndex| names.get(&i).cloned().unwrap_or_else(|| i.to_string());
        let ago = |t: Instant| now.saturating_duration_since(t).as_secs();
        let doc = match &self.machine {
            None => RipngStatusDoc {
                running: false,
                interfaces: self
                    .settings
                    .interfaces
                    .iter()
                    .map(|i| i.name.to_string())
                    .collect(),
                ..RipngStatusDoc::default()
            },
            Some(m) => {
                let s = m.status(now);
                RipngStatusDoc {
                    running: true,
                    interfaces: self.built_for.keys().cloned().collect(),
                    routes: s
                        .routes
                        .iter()
                        .map(|r| RipngRouteStatus {
                            prefix: r.prefix.to_string(),
                            metric: r.metric,
                            next_hop: r.next_hop,
                            interface: r.ifindex.map(name),
                            tag: r.tag,
                            state: match r.state {
                                v6edge_ripng::RouteState::Active => "active",
                                v6edge_ripng::RouteState::GarbageCollection => "garbage-collection",
                            }
                            .to_owned(),
                            age: ago(r.last_heard),
                            expires_in: r
                                .expires
                                .map(|t| t.saturating_duration_since(now).as_secs()),
                        })
                        .collect(),
                    neighbours: s
                        .neighbours
                        .iter()
                        .map(|n| RipngNeighbourStatus {
                            address: n.addr,
                            interface: name(n.ifindex),
                            last_heard: ago(n.last_heard),
                            bad_packets: n.bad_packets,
                            bad_routes: n.bad_rtes,
                        })
                        .collect(),
                    requests_in: s.counters.requests_in,
                    responses_in: s.counters.responses_in,
                    responses_out: s.counters.responses_out,
                    triggered_updates: s.counters.triggered_updates,
                    rtes_ignored: s
                        .counters
                        .rtes_ignored
                        .iter()
                        .map(|(r, n)| (rte_label(*r).to_owned(), *n))
                        .collect(),
                    aggregates: s
                        .aggregates
                        .iter()
                        .map(|(p, m)| format!("{p} metric {m}"))
                        .collect(),
                }
            }
        };
        status.roles.ripng = Some(doc);
    }

    fn export_metrics(&self, metrics: &Metrics) {
        let Some(m) = &self.machine else { return };
        let s = m.status(self.now());
        let c = m.counters();
        let reachable = s.routes.iter().filter(|r| r.metric < 16).count();
        metrics.sync_ripng(
            c.requests_in,
            c.responses_in,
            c.responses_out,
            c.triggered_updates,
            reachable,
            s.neighbours.len(),
        );
    }

    fn dropped_counts(&self) -> Vec<(&'static str, String, u64)> {
        let Some(m) = &self.machine else {
            return Vec::new();
        };
        let c = m.counters();
        c.dropped
            .iter()
            .map(|(r, n)| (Port::Ripng.protocol(), drop_label(*r).to_owned(), *n))
            // Routes, not packets, but what an operator alerts on: a
            // neighbour flooding the table.
            .chain(
                c.rtes_ignored
                    .get(&v6edge_ripng::RteIgnored::TableFull)
                    .map(|n| (Port::Ripng.protocol(), "table-full".to_owned(), *n)),
            )
            .collect()
    }

    fn reconfigure(&mut self, config: &Config, _metrics: &Metrics) -> anyhow::Result<()> {
        let Some(settings) = &config.ripng else {
            anyhow::bail!("[ripng] removed: restart to stop RIPng");
        };
        if *settings != self.settings {
            // New interfaces or timers: start over with them at the next
            // sync; the old routes go.
            self.withdraw_routes();
            self.settings = settings.clone();
            self.machine = None;
            self.built_for.clear();
        }
        Ok(())
    }

    fn shutdown(&mut self, _metrics: &Metrics) {
        self.withdraw_routes();
    }
}

/// Stable metric labels of the machine's drop reasons.
fn drop_label(r: v6edge_ripng::DropReason) -> &'static str {
    use v6edge_ripng::DropReason as D;
    match r {
        D::Malformed => "malformed",
        D::BadVersion => "bad-version",
        D::UnknownCommand => "unknown-command",
        D::UnknownInterface => "unknown-interface",
        D::ResponseNotFromRipngPort => "not-from-port-521",
        D::ResponseNotLinkLocal => "not-link-local",
        D::ResponseHopLimit => "hop-limit",
        D::FromSelf => "from-self",
    }
}

fn rte_label(r: v6edge_ripng::RteIgnored) -> &'static str {
    use v6edge_ripng::RteIgnored as R;
    match r {
        R::BadMetric => "bad-metric",
        R::BadPrefixLength => "bad-prefix-length",
        R::HostBitsSet => "host-bits-set",
        R::NotUnicastPrefix => "not-unicast-prefix",
        R::OwnPrefix => "own-prefix",
        R::NextHopNotLinkLocal => "next-hop-not-link-local",
        R::ThroughUs => "through-us",
        R::TableFull => "table-full",
        R::Filtered => "filtered",
    }
}
