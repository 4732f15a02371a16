//! [`Driver`]: the one place where the daemon's protocol state lives.
//!
//! It holds one unit per configured role and routes inputs to them; the
//! daemon loop ([`super::Daemon::run`]) talks only to the driver:
//!
//! | role | unit | configured by |
//! |---|---|---|
//! | requesting router (DHCPv6 client, LAN /64s, Router Advertisements) | [`Cpe`] | `[uplink]`, `[[lan]]` |
//! | delegating server (DHCPv6 server, lease store, routes to delegations) | [`ServerUnit`] | `[server]` |
//! | relay agent (Relay-forward/-reply, routes to relayed delegations) | [`RelayUnit`] | `[relay]` |
//! | RA daemon (Router Advertisements of configured prefixes) | [`StaticRaUnit`] | `[[ra]]` |
//!
//! Every unit queues [`Effect`]s (datagrams to send, kernel changes); the
//! loop drains them with [`Driver::next_effect`] after each input.
//!
//! Panic contract: nothing here panics.

use std::collections::{BTreeMap, BTreeSet};

use tokio::time::Instant as TokioInstant;
use v6edge_core::{IfIndex, Received};

pub use super::cpe::{Cpe, Effect, Facts, ND_TYPES};
pub use super::guard::Guard;
pub use super::link::LinkFacts;
pub use super::relay::{RelayLink, RelayUnit};
pub use super::server::{LeaseView, ServerUnit};
pub use super::static_ra::StaticRaUnit;
use crate::config::Config;
use crate::control::Request;
use crate::metrics::Metrics;
use crate::state::StateDir;
use crate::status::{RequestingRouterStatus, Roles, Status};

#[derive(Debug)]
pub struct Driver {
    cpe: Option<Cpe>,
    server: Option<ServerUnit>,
    relay: Option<RelayUnit>,
    /// `None` when the file has no `[[ra]]`.
    static_ra: Option<StaticRaUnit>,
    /// Admission of unsolicited input and drop accounting (issue 14).
    guard: Guard,
    /// Machine time zero, for the guard's clock.
    origin: TokioInstant,
}

impl Driver {
    /// Builds the units `config` asks for. Fails only if the state
    /// directory cannot be read or written.
    pub fn new(
        config: &Config,
        state: StateDir,
        _metrics: &Metrics,
        origin: TokioInstant,
    ) -> anyhow::Result<Driver> {
        let server = match &config.server {
            Some(settings) => Some(ServerUnit::new(
                settings,
                &state,
                origin,
                super::cpe::random_seed(),
            )?),
            None => None,
        };
        let relay = config
            .relay
            .as_ref()
            .map(|r| RelayUnit::new(r, state.clone(), origin));
        let cpe = match &config.uplink {
            Some(uplink) => Some(Cpe::new(uplink, &config.lans, state, origin)?),
            None => None,
        };
        let static_ra =
            (!config.static_ras.is_empty()).then(|| StaticRaUnit::new(&config.static_ras, origin));
        Ok(Driver {
            cpe,
            server,
            relay,
            static_ra,
            guard: Guard::new(&config.limits),
            origin,
        })
    }

    /// The relay unit, if configured.
    pub fn relay(&self) -> Option<&RelayUnit> {
        self.relay.as_ref()
    }

    pub fn sync_relay(&mut self, links: &BTreeMap<String, RelayLink>, metrics: &Metrics) {
        if let Some(r) = &mut self.relay {
            r.sync(links, metrics);
        }
    }

    /// The `[[ra]]` unit, if configured.
    pub fn static_ra(&self) -> Option<&StaticRaUnit> {
        self.static_ra.as_ref()
    }

    pub fn sync_static_ra(&mut self, links: &BTreeMap<String, LinkFacts>, metrics: &Metrics) {
        if let Some(u) = &mut self.static_ra {
            u.sync(links, metrics);
        }
    }

    /// Whether UDP 547 is needed (server or relay).
    pub fn needs_port_547(&self) -> bool {
        self.server.is_some() || self.relay.is_some()
    }

    /// Interfaces where UDP 547 must hear ff02::1:2.
    pub fn port_547_ifindices(&self) -> BTreeSet<IfIndex> {
        let mut s = self
            .server
            .as_ref()
            .map(ServerUnit::ifindices)
            .unwrap_or_default();
        if let Some(r) = &self.relay {
            s.extend(r.listen_ifindices());
        }
        s
    }

    /// The delegating-server unit, if configured.
    pub fn server(&self) -> Option<&ServerUnit> {
        self.server.as_ref()
    }

    /// Server interface indices as the loop read them.
    pub fn sync_server(&mut self, indices: &BTreeMap<String, Option<IfIndex>>, metrics: &Metrics) {
        if let Some(s) = &mut self.server {
            s.sync(indices, metrics);
        }
    }

    /// A datagram on UDP 547: for the server, or the relay (never both:
    /// validation refuses that).
    pub fn handle_dhcp6_server(&mut self, rx: &Received<'_>, metrics: &Metrics) {
        if !self.guard.admit_dhcp6(self.now(), rx, metrics) {
            return;
        }
        if let Some(s) = &mut self.server {
            s.handle_packet(rx, metrics);
        } else if let Some(r) = &mut self.relay {
            r.handle_packet(rx, metrics);
        }
    }

    /// Group commit: makes the lease changes of everything handled since the
    /// last call durable, releasing the replies and routes that wait on them.
    /// The loop calls it before carrying out effects.
    pub fn commit(&mut self, metrics: &Metrics) {
        if let Some(s) = &mut self.server {
            s.commit(metrics);
        }
    }

    pub fn leases(&self) -> Result<Vec<LeaseView>, String> {
        match (&self.server, &self.relay) {
            (Some(s), _) => Ok(s.leases()),
            (None, Some(r)) => Ok(r.leases()),
            (None, None) => {
                Err("`leases` needs a [server] or [relay] in the configuration".to_owned())
            }
        }
    }

    /// The requesting-router unit, if configured.
    pub fn cpe(&self) -> Option<&Cpe> {
        self.cpe.as_ref()
    }

    pub fn next_deadline(&self) -> Option<TokioInstant> {
        let cpe = self.cpe.as_ref().and_then(Cpe::next_deadline);
        let server = self
            .server
            .as_ref()
            .and_then(|s| s.next_deadline().map(|t| s.to_tokio(t)));
        let relay = self
            .relay
            .as_ref()
            .and_then(|r| r.next_deadline().map(|t| r.to_tokio(t)));
        let static_ra = self
            .static_ra
            .as_ref()
            .and_then(StaticRaUnit::next_deadline);
        cpe.into_iter()
            .chain(server)
            .chain(relay)
            .chain(static_ra)
            .min()
    }

    pub fn next_effect(&mut self) -> Option<Effect> {
        if let Some(e) = self.cpe.as_mut().and_then(Cpe::next_effect) {
            return Some(e);
        }
        if let Some(e) = self.server.as_mut().and_then(ServerUnit::next_effect) {
            return Some(e);
        }
        if let Some(e) = self.relay.as_mut().and_then(RelayUnit::next_effect) {
            return Some(e);
        }
        self.static_ra.as_mut().and_then(StaticRaUnit::next_effect)
    }

    /// LAN and `[[ra]]` interfaces that are up (the ICMPv6 socket joins
    /// All-Routers there).
    pub fn lan_ifindices(&self) -> BTreeSet<IfIndex> {
        let mut s = self
            .cpe
            .as_ref()
            .map(Cpe::lan_ifindices)
            .unwrap_or_default();
        if let Some(u) = &self.static_ra {
            s.extend(u.ifindices());
        }
        s
    }

    pub fn sync(&mut self, facts: Facts, metrics: &Metrics) {
        if let Some(cpe) = &mut self.cpe {
            cpe.sync(facts, metrics);
        }
        self.feed_server(metrics);
    }

    /// The requesting router's delegations feed the server's `from-uplink`
    /// pools (issue 4: delegation at any depth).
    fn feed_server(&mut self, metrics: &Metrics) {
        if let (Some(cpe), Some(server)) = (&self.cpe, &mut self.server) {
            server.set_uplink_space(cpe.delegable_space(), metrics);
        }
    }

    pub fn handle_dhcp6_client(&mut self, rx: &Received<'_>, metrics: &Metrics) {
        if let Some(cpe) = &mut self.cpe {
            cpe.handle_dhcp6(rx, metrics);
        }
        self.feed_server(metrics);
    }

    /// A neighbour event from the kernel: the RA sender learns the host,
    /// the guard learns whether it is confirmed.
    pub fn note_neighbour(&mut self, ifindex: IfIndex, addr: std::net::Ipv6Addr, confirmed: bool) {
        let now = self.now();
        self.guard.note_neighbour(now, ifindex, addr, confirmed);
        if let Some(u) = &mut self.static_ra {
            u.note_neighbour(ifindex, addr);
        }
        self.note_neighbours(ifindex, &[addr]);
    }

    /// The guard's clock (machine time since the daemon started).
    fn now(&self) -> v6edge_core::Instant {
        super::persist::machine_now(self.origin)
    }

    /// A datagram dropped by the loop (receive or send failure): counted,
    /// and logged at most once per interval per kind.
    pub fn dropped(
        &mut self,
        protocol: &'static str,
        reason: &'static str,
        metrics: &Metrics,
        detail: &dyn std::fmt::Display,
    ) {
        let now = self.now();
        self.guard.dropped(protocol, reason, now, metrics, detail);
    }

    /// rtnetlink notifications were lost; `Some(n)` when a log line is due
    /// (see [`Guard::netlink_overrun`]).
    pub fn netlink_overrun(&mut self, metrics: &Metrics) -> Option<u64> {
        let now = self.now();
        self.guard.netlink_overrun(now, metrics)
    }

    pub fn netlink_resynced(&mut self) {
        self.guard.netlink_resynced();
    }

    /// Hosts the kernel knows on a LAN (see `Cpe::note_neighbours`).
    pub fn note_neighbours(&mut self, ifindex: IfIndex, addrs: &[std::net::Ipv6Addr]) {
        if let Some(cpe) = &mut self.cpe {
            cpe.note_neighbours(ifindex, addrs);
        }
    }

    pub fn handle_icmp6(&mut self, rx: &Received<'_>, metrics: &Metrics) {
        if !self.guard.admit_icmp6(self.now(), rx, metrics) {
            return;
        }
        // Validation keeps [[ra]] interfaces apart from the LANs.
        if let Some(u) = &mut self.static_ra
            && u.serves(rx.ifindex)
        {
            u.handle_packet(rx, metrics);
        } else if let Some(cpe) = &mut self.cpe {
            cpe.handle_icmp6(rx, metrics);
        }
    }

    pub fn handle_timeout(&mut self, metrics: &Metrics) {
        if let Some(cpe) = &mut self.cpe {
            cpe.handle_timeout(metrics);
        }
        self.feed_server(metrics);
        if let Some(s) = &mut self.server {
            s.handle_timeout(metrics);
        }
        if let Some(r) = &mut self.relay {
            r.handle_timeout(metrics);
        }
        if let Some(u) = &mut self.static_ra {
            u.handle_timeout(metrics);
        }
    }

    /// `release` and `renew` act on the requesting router.
    pub fn handle_control(
        &mut self,
        request: Request,
        metrics: &Metrics,
    ) -> Result<serde_json::Value, String> {
        let result = match &mut self.cpe {
            Some(cpe) => cpe.handle_control(request, metrics),
            None => Err(format!(
                "`{}` needs an [uplink] in the configuration",
                request.name()
            )),
        };
        self.feed_server(metrics);
        result
    }

    pub fn shutdown(&mut self, metrics: &Metrics) {
        if let Some(cpe) = &mut self.cpe {
            cpe.shutdown(metrics);
        }
        if let Some(s) = &mut self.server {
            s.shutdown(metrics);
        }
        if let Some(u) = &mut self.static_ra {
            u.shutdown(metrics);
        }
    }

    /// SIGHUP. Adding or removing a role needs a restart; settings of a
    /// running role are applied in place.
    pub fn reconfigure(&mut self, config: &Config, metrics: &Metrics) -> anyhow::Result<()> {
        // Refuse role changes before applying anything.
        if self.cpe.is_some() != config.uplink.is_some() {
            anyhow::bail!("adding or removing [uplink] takes effect at the next restart");
        }
        if self.server.is_some() != config.server.is_some() {
            anyhow::bail!("adding or removing [server] takes effect at the next restart");
        }
        if self.relay.is_some() != config.relay.is_some() {
            anyhow::bail!("adding or removing [relay] takes effect at the next restart");
        }
        let has_static_ra = !config.static_ras.is_empty();
        if self.static_ra.is_some() != has_static_ra {
            anyhow::bail!(
                "adding the first or removing the last [[ra]] takes effect at the next restart"
            );
        }
        self.guard.reconfigure(&config.limits);
        if let Some(u) = &mut self.static_ra {
            u.reconfigure(&config.static_ras, metrics);
        }
        if let (Some(r), Some(settings)) = (&mut self.relay, &config.relay) {
            r.reconfigure(settings, metrics);
        }
        if let (Some(cpe), Some(uplink)) = (&mut self.cpe, &config.uplink) {
            cpe.reconfigure(uplink, &config.lans, metrics)?;
        }
        if let (Some(s), Some(settings)) = (&mut self.server, &config.server) {
            s.reconfigure(settings, metrics);
        }
        self.feed_server(metrics);
        Ok(())
    }

    /// The delegation hierarchy this router knows (issue 4): what it holds
    /// upstream, its own LAN /64s, and what it delegated (or relayed) below.
    pub fn tree(&self) -> serde_json::Value {
        let status = self.status();
        let below = self.leases().unwrap_or_default();
        let upstream: Vec<serde_json::Value> = status
            .delegations
            .iter()
            .map(|d| {
                let inside = |p: &str| {
                    let (Ok(outer), Ok(inner)) = (d.prefix.parse::<v6edge_prefix::Prefix>(), p.parse::<v6edge_prefix::Prefix>()) else {
                        return false;
                    };
                    outer.contains(&inner)
                };
                serde_json::json!({
                    "prefix": d.prefix,
                    "preferred": d.preferred,
                    "valid": d.valid,
                    "lans": status.lans.iter().filter(|l| l.prefix.as_deref().is_some_and(inside))
                        .map(|l| serde_json::json!({ "interface": l.interface, "prefix": l.prefix })).collect::<Vec<_>>(),
                    "delegated": below.iter().filter(|l| inside(&l.prefix)).collect::<Vec<_>>(),
                })
            })
            .collect();
        // Delegations from fixed pools (an ISP server) or relayed ones sit
        // under no upstream prefix.
        let held: Vec<v6edge_prefix::Prefix> = status
            .delegations
            .iter()
            .filter_map(|d| d.prefix.parse().ok())
            .collect();
        let other: Vec<&LeaseView> = below
            .iter()
            .filter(|l| {
                l.prefix
                    .parse::<v6edge_prefix::Prefix>()
                    .map_or(true, |p| !held.iter().any(|h| h.contains(&p)))
            })
            .collect();
        serde_json::json!({
            "uplink": status.uplink.as_ref().map(|u| u.interface.clone()),
            "upstream": upstream,
            "other": other,
        })
    }

    /// Brings the metrics' drop counters up to what the role machines
    /// counted themselves (called before the metrics are read).
    pub fn export_counters(&self, metrics: &Metrics) {
        // The LANs' and the [[ra]] interfaces' advertisers share "nd".
        let mut nd = self
            .static_ra
            .as_ref()
            .map(StaticRaUnit::dropped_counts)
            .unwrap_or_default();
        if let Some(cpe) = &self.cpe {
            for (protocol, reason, n) in cpe.dropped_counts() {
                if protocol == "nd" {
                    *nd.entry(reason).or_insert(0) += n;
                } else {
                    metrics.sync_dropped(protocol, &reason, n);
                }
            }
        }
        for (reason, n) in nd {
            metrics.sync_dropped("nd", &reason, n);
        }
        if let Some(s) = &self.server {
            for (reason, n) in s.dropped_counts() {
                metrics.sync_dropped("dhcp6-server", &reason, n);
            }
        }
        if let Some(r) = &self.relay {
            for (reason, n) in r.dropped_counts() {
                metrics.sync_dropped("dhcp6-relay", &reason, n);
            }
        }
    }

    pub fn status(&self) -> Status {
        let mut status = match &self.cpe {
            Some(cpe) => cpe.status(),
            None => Status::empty(),
        };
        status.server = self.server.as_ref().map(ServerUnit::status);
        status.io = self.guard.status();
        status.ra = self
            .static_ra
            .as_ref()
            .map(StaticRaUnit::status)
            .unwrap_or_default();
        // The same documents by role (the top-level fields stay for the
        // consumers that read them).
        status.roles = Roles {
            requesting_router: self
                .cpe
                .as_ref()
                .map(|_| RequestingRouterStatus::of(&status)),
            delegating_server: status.server.clone(),
            relay: self.relay.as_ref().map(RelayUnit::status),
            ra: self.static_ra.as_ref().map(|_| status.ra.clone()),
        };
        status
    }
}
