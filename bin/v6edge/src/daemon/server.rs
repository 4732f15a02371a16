//! [`ServerUnit`]: the delegating-server role (a `[server]` table).
//!
//! It owns the sans-IO [`Server`] machine and the lease store and enforces
//! the ordering rule of the server contract: every lease change the machine
//! emits is made durable (one store transaction for all the packets handled
//! since the last commit: group commit) before any Reply or route that came
//! after it leaves. So a lease acknowledged to a client survives `kill -9`
//! and power loss, and a route exists only for a lease on disk.
//!
//! ```text
//!  UDP 547 ──► Server::handle_packet ──► Lease(op) ──► pending ops ──commit──► LeaseStore::apply
//!                                   └──► Transmit / Kernel(route) ──► held ──after commit──► Effects
//!                                   └──► Notice ──► hook (async, never blocks)
//! ```
//!
//! Leases are stored with wall-clock times and interface names (not
//! indices), so they survive a reboot that renumbers interfaces.
//!
//! Panic contract: nothing here panics.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, SystemTime};

use tokio::time::Instant as TokioInstant;
use v6edge_core::{IfIndex, Instant, KernelOp, Received, RouteSpec};
use v6edge_dhcp6::server::{
    AddressPool, Lease, LeaseEvent, LeaseKind, LeaseOp, LinkConfig, LinkId,
    LinkSelector as MachineSelector, PrefixPool, ReconfigureAuth, ReconfigureContext, Reservation,
    Server, ServerConfig, ServerNotice, ServerOutput, StatelessOptions,
};
use v6edge_prefix::Prefix;
use v6edge_store::{LeaseStore, MemoryStore, SqliteStore, StoreOp, StoredLease};
use v6edge_wire::dhcp6::{Duid, MessageType};

use super::persist::WallClock;
use super::role::{Effect, Facts, Needs, OwnedRoutes, Port, Role, RoleMessage, message_name};
use crate::config::{Config, LeaseStoreKind, LinkSelector, PoolSource, ServerSettings};
use crate::metrics::Metrics;
use crate::state::StateDir;
use crate::status::{CountersDoc, LeaseView, PoolDoc, ServerStatusDoc, Status, StoreDoc};

use v6edge_node::UplinkBlock;

/// The delegating server; see the module documentation.
pub struct ServerUnit {
    settings: ServerSettings,
    origin: TokioInstant,
    clock: WallClock,
    seed: u64,
    duid: Duid,
    store: Box<dyn LeaseStore + Send>,
    /// `sqlite`, `postgres` or `memory` (status and metrics).
    store_kind: &'static str,
    /// What the store said last: availability, losses and reconnections,
    /// so each loss and recovery is logged and counted once.
    store_seen: StoreSeen,
    /// Interface name → current ifindex (None while absent).
    interfaces: BTreeMap<String, Option<IfIndex>>,
    /// Created at the first sync, once interface indices are known (and,
    /// with `from-uplink` pools, once the uplink's space is known).
    server: Option<Server>,
    /// The uplink's delegable space; `None` until the requesting router
    /// said what it holds.
    space: Option<Vec<UplinkBlock>>,
    /// Lease changes not yet durable.
    pending: Vec<StoreOp>,
    /// Outputs waiting for `pending` to be committed.
    held: Vec<Effect>,
    /// For each of `held`, how many ops were pending when it was held: the
    /// effects of one input share the number just past that input's ops
    /// (the machine emits an input's LeaseOps, then its Transmit, then its
    /// KernelOps), which is how a rejected op finds the Reply and route
    /// that announce it.
    held_after: Vec<usize>,
    /// When the leases other servers changed were last read from a shared
    /// store (`None`: never).
    last_shared_sync: Option<Instant>,
    /// Other servers write the store too (PostgreSQL): at start, only the
    /// leases this server granted are its own to route.
    shared_store: bool,
    effects: VecDeque<Effect>,
    commit_failures: u64,
}

impl std::fmt::Debug for ServerUnit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerUnit")
            .field("interfaces", &self.interfaces)
            .field("pending", &self.pending.len())
            .field("held", &self.held.len())
            .finish_non_exhaustive()
    }
}

impl ServerUnit {
    /// Opens the lease store. The machine itself starts at the first
    /// [`ServerUnit::sync`], when interface indices are known.
    pub fn new(
        settings: &ServerSettings,
        state: &StateDir,
        origin: TokioInstant,
        seed: u64,
    ) -> anyhow::Result<ServerUnit> {
        let store: Box<dyn LeaseStore + Send> = match &settings.lease_store {
            LeaseStoreKind::Memory => {
                tracing::warn!(
                    "lease-store = \"memory\": leases are lost on restart (benchmarks only)"
                );
                Box::new(MemoryStore::new())
            }
            kind @ LeaseStoreKind::Sqlite { .. } => {
                let path = kind
                    .sqlite_path(state.path())
                    .unwrap_or_else(|| state.path().join("leases.db"));
                tracing::info!(path = %path.display(), "lease store");
                Box::new(SqliteStore::open(&path).map_err(|e| {
                    anyhow::anyhow!("cannot open the lease store {}: {e}", path.display())
                })?)
            }
            LeaseStoreKind::Postgres { conninfo } => open_postgres(conninfo)?,
        };
        let shared_store = matches!(settings.lease_store, LeaseStoreKind::Postgres { .. });
        let store_kind = match settings.lease_store {
            LeaseStoreKind::Memory => "memory",
            LeaseStoreKind::Sqlite { .. } => "sqlite",
            LeaseStoreKind::Postgres { .. } => "postgres",
        };
        // One DUID per device (RFC 8415 §11): shared with the client role.
        // Made the first time as DUID-LLT from the first served interface
        // with an Ethernet address (as docs/config.md says: ISPs match
        // servers by it), DUID-UUID only when none has one.
        let mac = settings
            .interfaces
            .iter()
            .find_map(|i| v6edge_sys::ethernet_address(i.as_str()));
        let duid = state.duid_or_create(mac, SystemTime::now())?;
        let duid = Duid::from_bytes(duid.as_bytes())
            .map_err(|e| anyhow::anyhow!("stored DUID is invalid: {e}"))?;
        let now = Instant::ZERO;
        Ok(ServerUnit {
            settings: settings.clone(),
            origin,
            clock: WallClock::new(now, SystemTime::now()),
            seed,
            duid,
            store,
            store_kind,
            store_seen: StoreSeen::default(),
            interfaces: settings
                .interfaces
                .iter()
                .map(|i| (i.to_string(), None))
                .collect(),
            server: None,
            space: None,
            pending: Vec::new(),
            held: Vec::new(),
            held_after: Vec::new(),
            last_shared_sync: None,
            shared_store,
            effects: VecDeque::new(),
            commit_failures: 0,
        })
    }

    pub fn to_tokio(&self, t: Instant) -> TokioInstant {
        super::persist::tokio_instant(self.origin, t)
    }

    fn now(&self) -> Instant {
        super::persist::machine_now(self.origin)
    }

    /// The interfaces the server listens on (the loop resolves them).
    pub fn interface_names(&self) -> impl Iterator<Item = &str> {
        self.interfaces.keys().map(String::as_str)
    }

    /// Indices of the server interfaces that exist (the socket joins
    /// ff02::1:2 there).
    pub fn ifindices(&self) -> BTreeSet<IfIndex> {
        self.interfaces.values().flatten().copied().collect()
    }

    /// Interface indices as the loop read them; starts the machine the first
    /// time (restoring the stored leases) and reconfigures it when an
    /// interface appears, disappears or is recreated.
    pub fn sync(&mut self, indices: &BTreeMap<String, Option<IfIndex>>, metrics: &Metrics) {
        let changed = indices
            .iter()
            .any(|(n, i)| self.interfaces.get(n).is_some_and(|old| old != i));
        for (name, index) in indices {
            if let Some(slot) = self.interfaces.get_mut(name) {
                *slot = *index;
            }
        }
        let now = self.now();
        if self.server.is_none() {
            self.start_if_ready();
        } else if changed {
            let config = self.machine_config();
            if let Some(s) = &mut self.server {
                s.reconfigure(now, config);
            }
        }
        self.pump(metrics);
    }

    fn uses_uplink_space(&self) -> bool {
        self.settings
            .links
            .iter()
            .flat_map(|l| &l.prefix_pools)
            .any(|p| matches!(p.source, PoolSource::FromUplink))
    }

    /// Starts the machine, restoring the stored leases, once what its pools
    /// depend on is known: stored leases outside every pool would be revoked.
    fn start_if_ready(&mut self) {
        if self.server.is_some() || (self.uses_uplink_space() && self.space.is_none()) {
            return;
        }
        let now = self.now();
        let config = self.machine_config();
        let (own, foreign) = self.load_leases();
        tracing::info!(
            leases = own.len(),
            other_servers = foreign.len(),
            "delegating server starting; routes for stored leases are restored"
        );
        let mut server = Server::restore(config, own, self.seed, now);
        for lease in foreign {
            server.foreign_lease(now, lease);
        }
        self.server = Some(server);
    }

    /// What the requesting router on this node may delegate further (RFC
    /// 9818 LPD-4). Pools follow it: a renumbered uplink revokes the leases
    /// from the old prefix (lifetimes 0 on their next Renew/Rebind), and
    /// lifetimes are capped at what remains upstream (RFC 9096 L-17).
    pub fn set_uplink_space(&mut self, space: Vec<UplinkBlock>, metrics: &Metrics) {
        if !self.uses_uplink_space() || self.space.as_ref() == Some(&space) {
            return;
        }
        tracing::info!(
            blocks = space.len(),
            "delegable space from the uplink changed"
        );
        self.space = Some(space);
        if self.server.is_none() {
            self.start_if_ready();
        } else {
            let now = self.now();
            let config = self.machine_config();
            if let Some(s) = &mut self.server {
                s.reconfigure(now, config);
            }
        }
        self.pump(metrics);
    }

    /// Pools over the uplink's space for one `from-uplink` pool setting,
    /// capped by what remains upstream (the node's policy, RFC 9096 L-17).
    fn uplink_pools(&self, p: &crate::config::PrefixPoolConfig) -> Vec<PrefixPool> {
        let setting = v6edge_node::PoolSetting {
            delegated_len: p.delegated_len,
            preferred: p.preferred,
            valid: p.valid,
        };
        let space = self.space.as_deref().unwrap_or_default();
        v6edge_node::from_uplink_pools(space, setting, self.now())
    }

    /// Machine configuration from ours, with interface names resolved.
    fn machine_config(&self) -> ServerConfig {
        let s = &self.settings;
        let mut c = ServerConfig::new(self.duid.clone());
        c.preference = s.preference;
        c.rapid_commit = s.rapid_commit;
        c.max_leases_per_link = s.max_leases_per_link;
        c.max_leases_per_link_layer_address = s.max_leases_per_hw_address;
        c.options = StatelessOptions {
            dns_servers: s.dns_servers.clone(),
            domains: s.domains.clone(),
            ntp_servers: s.ntp_servers.clone(),
            information_refresh: Some(s.information_refresh_time),
            sol_max_rt: s.sol_max_rt,
            inf_max_rt: s.inf_max_rt,
        };
        c.links = s
            .links
            .iter()
            .filter_map(|l| {
                let id = match &l.selector {
                    // An absent interface serves nobody until it appears.
                    LinkSelector::Interface(name) => {
                        MachineSelector::Interface((*self.interfaces.get(name.as_str())?)?)
                    }
                    LinkSelector::RelayLink(p) => MachineSelector::RelayLinkAddress(*p),
                };
                Some(LinkConfig {
                    id,
                    address_pools: l
                        .address_pools
                        .iter()
                        .map(|p| AddressPool {
                            range_start: p.start,
                            range_end: p.end,
                            preferred: p.preferred,
                            valid: p.valid,
                        })
                        .collect(),
                    prefix_pools: l
                        .prefix_pools
                        .iter()
                        .flat_map(|p| match p.source {
                            PoolSource::Fixed(prefix) => vec![PrefixPool {
                                prefix,
                                delegated_len: p.delegated_len,
                                preferred: p.preferred,
                                valid: p.valid,
                                exclude_first: None,
                                ends: None,
                            }],
                            PoolSource::FromUplink => self.uplink_pools(p),
                        })
                        .collect(),
                })
            })
            .collect();
        c.reservations = s
            .reservations
            .iter()
            .map(|r| Reservation {
                duid: r.duid.as_deref().and_then(|d| Duid::from_bytes(d).ok()),
                hw_addr: r.hw_address.clone(),
                address: r.address,
                prefix: r.prefix,
            })
            .collect();
        // RFC 8415 §20.4.2: reconfigure keys come from 256 fresh bits of the
        // kernel's random source; the replay counter's floor is the wall clock
        // in microseconds, so it keeps growing across restarts. Without
        // randomness the server hands out no keys.
        let mut secret = [0u8; 32];
        match std::fs::File::open("/dev/urandom")
            .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut secret))
        {
            Ok(()) => {
                let micros = SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_micros();
                c.reconfigure = Some(ReconfigureAuth {
                    secret,
                    replay_floor: u64::try_from(micros).unwrap_or(u64::MAX),
                });
            }
            Err(e) => {
                tracing::warn!(error = %e, "no randomness for reconfigure keys; Reconfigure is offered to no new client")
            }
        }
        c
    }

    fn ifname(&self, index: IfIndex) -> Option<&str> {
        self.interfaces
            .iter()
            .find(|(_, i)| **i == Some(index))
            .map(|(n, _)| n.as_str())
    }

    /// The stored leases: this server's own, and (in a shared store) those
    /// another server granted or last extended, which are only kept as
    /// taken. A lease that names no server predates the column and counts
    /// as ours, as before.
    fn load_leases(&self) -> (Vec<Lease>, Vec<Lease>) {
        let stored = match self.store.load_all() {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the lease store; starting with no leases");
                return (Vec::new(), Vec::new());
            }
        };
        let mut own = Vec::with_capacity(stored.len());
        let mut foreign = Vec::new();
        for s in stored {
            let other = self.shared_store
                && s.server
                    .as_deref()
                    .is_some_and(|id| id != self.duid.as_bytes());
            if other {
                foreign.extend(foreign_of(&self.clock, &s));
            } else {
                own.extend(self.lease_of(s));
            }
        }
        (own, foreign)
    }

    /// `link` is "if:<name>" for direct clients, "relay:<link-address>@<name>"
    /// for relayed ones: names, because indices change across reboots.
    fn to_stored(&self, l: &Lease) -> StoredLease {
        let ifname = self.ifname(l.ifindex).unwrap_or("");
        let link = match l.link {
            LinkId::Interface(i) => format!("if:{}", self.ifname(i).unwrap_or("")),
            LinkId::Relay { link_address } => format!("relay:{link_address}@{ifname}"),
        };
        StoredLease {
            duid: l.duid.as_bytes().to_vec(),
            iaid: l.iaid,
            kind: store_kind(l.kind),
            addr: l.prefix.addr(),
            prefix_len: l.prefix.len(),
            preferred_until: self.clock.to_unix(l.preferred_until),
            valid_until: self.clock.to_unix(l.valid_until),
            link,
            next_hop: l.next_hop,
            ifindex: l.ifindex,
            hw_addr: l.hw_addr.clone(),
            updated_at: self.clock.unix_now(self.now()),
            reconfigure: l.reconfigure.as_deref().map(ReconfigureContext::encode),
            server: Some(self.duid.as_bytes().to_vec()),
        }
    }

    fn lease_of(&self, s: StoredLease) -> Option<Lease> {
        let index_of = |name: &str| self.interfaces.get(name).copied().flatten();
        let (link, ifindex) = if let Some(name) = s.link.strip_prefix("if:") {
            let i = index_of(name)?;
            (LinkId::Interface(i), i)
        } else if let Some(rest) = s.link.strip_prefix("relay:") {
            let (addr, name) = rest.split_once('@')?;
            (
                LinkId::Relay {
                    link_address: addr.parse().ok()?,
                },
                index_of(name).unwrap_or(s.ifindex),
            )
        } else {
            tracing::warn!(link = %s.link, "stored lease with an unknown link; dropped");
            return None;
        };
        Some(Lease {
            duid: Duid::from_bytes(&s.duid).ok()?,
            iaid: s.iaid,
            kind: machine_kind(s.kind),
            prefix: Prefix::new(s.addr, s.prefix_len).ok()?,
            preferred_until: self.clock.from_unix(s.preferred_until),
            valid_until: self.clock.from_unix(s.valid_until),
            link,
            next_hop: s.next_hop,
            ifindex,
            hw_addr: s.hw_addr,
            // The context's interface is the lease's, resolved by name above:
            // indices do not survive a reboot. An unreadable blob only costs
            // the client its Reconfigure (it learns at its next Renew).
            reconfigure: s
                .reconfigure
                .as_deref()
                .and_then(ReconfigureContext::decode)
                .map(|c| std::sync::Arc::new(c.with_ifindex(ifindex))),
        })
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        let machine = self.server.as_ref().and_then(Server::poll_timeout);
        if self.store_seen.available || !self.store_seen.initialised {
            return machine;
        }
        // While the store is away, wake up every second to notice (and
        // log) its return even with no traffic; the machine ignores early
        // timeouts.
        let check = self.now() + STORE_CHECK_INTERVAL;
        Some(machine.map_or(check, |m| m.min(check)))
    }

    pub fn handle_packet(&mut self, rx: &Received<'_>, metrics: &Metrics) {
        let now = self.now();
        if let Some(t) = rx.bytes.first() {
            metrics.dhcp6_received(self.ifname(rx.ifindex).unwrap_or("?"), message_name(*t));
        }
        // No grant, renewal or release can be made durable while the store
        // is away: the machine does not see the packet (it would bind
        // leases it cannot store), the client retransmits (RFC 8415 §15).
        // Information-requests need no store.
        if rx.bytes.first().copied() != Some(u8::from(MessageType::InformationRequest))
            && !self.store.is_available()
        {
            self.note_store(metrics);
            metrics.dropped("dhcp6-server", "store-unavailable");
            return;
        }
        if let Some(s) = &mut self.server {
            s.handle_packet(now, rx);
        }
        self.pump(metrics);
    }

    pub fn handle_timeout(&mut self, metrics: &Metrics) {
        let now = self.now();
        if let Some(s) = &mut self.server {
            s.handle_timeout(now);
        }
        self.pump(metrics);
    }

    /// Sorts the machine's outputs: lease changes to the pending batch,
    /// everything after one held back until the batch is durable.
    fn pump(&mut self, metrics: &Metrics) {
        let Some(server) = &mut self.server else {
            return;
        };
        let mut outputs = Vec::new();
        while let Some(o) = server.poll_output() {
            outputs.push(o);
        }
        for o in outputs {
            match o {
                ServerOutput::Lease(op) => {
                    let op = match op {
                        LeaseOp::Upsert(l) => StoreOp::Upsert(self.to_stored(&l)),
                        LeaseOp::Remove { kind, prefix } => StoreOp::Remove {
                            kind: store_kind(kind),
                            addr: prefix.addr(),
                            prefix_len: prefix.len(),
                        },
                    };
                    self.pending.push(op);
                }
                ServerOutput::Transmit(t) => {
                    if let Some(b) = t.payload.first() {
                        metrics.dhcp6_sent(self.ifname(t.ifindex).unwrap_or("?"), message_name(*b));
                    }
                    self.release_or_hold(Effect::Dhcp6Server(t));
                }
                ServerOutput::Kernel(op) => {
                    if let Some(op) = self.route_op(op) {
                        self.release_or_hold(Effect::Kernel(op));
                    }
                }
                ServerOutput::Notice(n) => self.notice(n),
            }
        }
    }

    fn release_or_hold(&mut self, e: Effect) {
        if self.pending.is_empty() {
            self.effects.push_back(e);
        } else {
            self.held.push(e);
            self.held_after.push(self.pending.len());
        }
    }

    /// Routes as configured: off with `routes = false`, our metric.
    fn route_op(&self, op: KernelOp) -> Option<KernelOp> {
        if !self.settings.routes {
            return None;
        }
        let metric = self.settings.route_metric;
        let with_metric = |r: RouteSpec| RouteSpec { metric, ..r };
        Some(match op {
            KernelOp::SetRoute(r) => KernelOp::SetRoute(with_metric(r)),
            KernelOp::DelRoute(r) => KernelOp::DelRoute(with_metric(r)),
            other => other,
        })
    }

    fn notice(&mut self, n: ServerNotice) {
        let event = match n.event {
            LeaseEvent::Granted => "granted",
            LeaseEvent::Renewed => "renewed",
            LeaseEvent::Released => "released",
            LeaseEvent::Declined => "declined",
            LeaseEvent::Expired => "expired",
            LeaseEvent::Revoked => "revoked",
        };
        if n.event != LeaseEvent::Renewed {
            tracing::info!(event, duid = %n.duid, iaid = n.iaid, prefix = %n.prefix, "lease");
        }
        if let Some(program) = &self.settings.hook {
            let lease = self.server.as_ref().and_then(|s| {
                s.leases()
                    .find(|l| l.prefix == n.prefix && l.kind == n.kind)
                    .cloned()
            });
            let mut env = vec![
                ("V6EDGE_EVENT".to_owned(), event.to_owned()),
                ("V6EDGE_DUID".to_owned(), n.duid.to_string()),
                ("V6EDGE_IAID".to_owned(), n.iaid.to_string()),
                ("V6EDGE_TYPE".to_owned(), kind_name(n.kind).to_owned()),
                ("V6EDGE_PREFIX".to_owned(), n.prefix.to_string()),
            ];
            if let Some(l) = lease {
                if let Some(nh) = l.next_hop {
                    env.push(("V6EDGE_NEXT_HOP".to_owned(), nh.to_string()));
                }
                if let Some(name) = self.ifname(l.ifindex) {
                    env.push(("V6EDGE_INTERFACE".to_owned(), name.to_owned()));
                }
                env.push((
                    "V6EDGE_VALID_UNTIL".to_owned(),
                    self.clock.to_unix(l.valid_until).to_string(),
                ));
            }
            // Hooks run after the lease change is durable.
            self.release_or_hold(Effect::Hook {
                program: program.clone(),
                env,
            });
        }
    }

    /// Makes every pending lease change durable in one transaction, then
    /// releases what waited on it. On failure the held replies are dropped
    /// (clients retransmit) rather than acknowledging a lease not on disk.
    ///
    /// With a shared store (PostgreSQL) some ops may be rejected: another
    /// server's client holds the key. The Reply and route that announced a
    /// rejected grant are withheld (the client retransmits and gets another
    /// prefix) and the machine learns of the holder
    /// ([`Server::foreign_lease`]). Leases other servers changed are read
    /// here too, at most every [`SHARED_SYNC_INTERVAL`].
    pub fn commit(&mut self, metrics: &Metrics) {
        self.note_store(metrics);
        if !self.pending.is_empty() {
            match self.store.apply(&self.pending) {
                Ok(applied) => {
                    let mut withheld = vec![false; self.held.len()];
                    for r in &applied.rejected {
                        self.rejected_op(r, &mut withheld, metrics);
                    }
                    if !applied.rejected.is_empty() {
                        // Lost a race: the other server is granting from the
                        // same part of the pool right now. Learn everything
                        // it granted at once rather than losing the next
                        // races one by one.
                        self.last_shared_sync = None;
                    }
                    for (e, skip) in self.held.drain(..).zip(withheld) {
                        if !skip {
                            self.effects.push_back(e);
                        }
                    }
                }
                Err(e) => {
                    self.commit_failures += 1;
                    metrics.dropped("dhcp6-server", "store-commit-failed");
                    // A lost database is logged once by `note_store`.
                    if self.store.is_available() {
                        tracing::error!(error = %e, ops = self.pending.len(), dropped = self.held.len(), "lease store commit failed: replies withheld");
                    } else {
                        tracing::debug!(error = %e, ops = self.pending.len(), dropped = self.held.len(), "lease store commit failed: replies withheld");
                    }
                    self.held.retain(|e| !matches!(e, Effect::Dhcp6Server(_)));
                    self.effects.extend(self.held.drain(..));
                }
            }
            self.pending.clear();
            self.held_after.clear();
            self.note_store(metrics);
        }
        if self.store_seen.available {
            self.sync_shared(metrics);
        }
        // What `foreign_lease` queued (routes of lost grants to delete).
        self.pump(metrics);
    }

    /// Compares the store's state with what was seen last: logs a loss and
    /// a recovery once each, and keeps the metrics current.
    fn note_store(&mut self, metrics: &Metrics) {
        let available = self.store.is_available();
        let now = self.now();
        // The full state (a lock and a copy) when availability changed, and
        // once a second otherwise: a loss the store repaired between two
        // looks still counts.
        if self.store_seen.initialised
            && available == self.store_seen.available
            && now.saturating_duration_since(self.store_seen.checked_at) < STORE_CHECK_INTERVAL
        {
            return;
        }
        let h = self.store.health();
        let now_unix = self.clock.to_unix(now);
        let seen = &mut self.store_seen;
        if seen.initialised && h.available && seen.available && h.losses > seen.losses {
            tracing::warn!(
                store = self.store_kind,
                losses = h.losses - seen.losses,
                error = h.last_error.as_deref().unwrap_or("unknown"),
                "lease store connection lost and re-established"
            );
        }
        if seen.initialised && h.available != seen.available {
            let error = h.last_error.as_deref().unwrap_or("unknown");
            if h.available {
                let away = h.since_unix.saturating_sub(seen.since_unix);
                tracing::warn!(
                    store = self.store_kind,
                    away_secs = away,
                    reconnects = h.reconnects,
                    "lease store available again: serving"
                );
                // Leases other servers changed meanwhile: read them now.
                self.last_shared_sync = None;
                // Expiries the machine made while the store was away failed
                // with their batch: sweep what has expired since.
                match self.store.remove_expired(now_unix) {
                    Ok(0) => {}
                    Ok(n) => {
                        tracing::info!(removed = n, "expired leases swept from the lease store")
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot sweep expired leases"),
                }
            } else {
                tracing::error!(store = self.store_kind, %error, "lease store unavailable: not granting, renewing or releasing until it is back (reconnecting by itself)");
            }
        }
        metrics.store(
            self.store_kind,
            h.available,
            h.losses.saturating_sub(seen.losses),
            h.reconnects.saturating_sub(seen.reconnects),
        );
        *seen = StoreSeen {
            initialised: true,
            checked_at: now,
            available: h.available,
            since_unix: h.since_unix,
            losses: h.losses,
            reconnects: h.reconnects,
        };
    }

    /// One op the shared store did not carry out: withholds what announced
    /// it and tells the machine who holds the key.
    fn rejected_op(
        &mut self,
        r: &v6edge_store::Rejected,
        withheld: &mut [bool],
        metrics: &Metrics,
    ) {
        let Some(op) = self.pending.get(r.index) else {
            return;
        };
        let key = op.key();
        if let StoreOp::Upsert(_) = op {
            metrics.dropped("dhcp6-server", "store-conflict");
            tracing::info!(lease = %key, holder = ?r.holder.duid, "another server holds this lease: grant withdrawn, reply withheld");
            // The input that emitted op `index` held its effects with the
            // smallest count past it; its Transmit is the first of those.
            let group = self
                .held_after
                .iter()
                .copied()
                .filter(|&a| a > r.index)
                .min();
            let prefix = Prefix::new(key.addr, key.prefix_len).ok();
            let mut transmit_seen = false;
            for (j, e) in self.held.iter().enumerate() {
                if Some(self.held_after.get(j).copied().unwrap_or(0)) != group {
                    continue;
                }
                let skip = match e {
                    Effect::Dhcp6Server(_) if !transmit_seen => {
                        transmit_seen = true;
                        true
                    }
                    Effect::Kernel(KernelOp::SetRoute(rt)) => Some(rt.dst) == prefix,
                    Effect::Hook { env, .. } => prefix.is_some_and(|p| {
                        env.iter()
                            .any(|(k, v)| k == "V6EDGE_PREFIX" && *v == p.to_string())
                    }),
                    _ => false,
                };
                if skip && let Some(w) = withheld.get_mut(j) {
                    *w = true;
                }
            }
        } else {
            // A Remove left alone: the lease was taken over or extended by
            // another server; learn of it like any foreign lease.
            tracing::debug!(lease = %key, "lease removal skipped: held through another server");
        }
        let now = self.now();
        if let (Some(lease), Some(server)) =
            (foreign_of(&self.clock, &r.holder), self.server.as_mut())
        {
            server.foreign_lease(now, lease);
        }
    }

    /// Reads the leases other servers granted, renewed or ended since the
    /// last read, and tells the machine ([`Server::foreign_lease`],
    /// [`Server::foreign_lease_gone`]). A single-server store reports none.
    fn sync_shared(&mut self, metrics: &Metrics) {
        let now = self.now();
        if self
            .last_shared_sync
            .is_some_and(|t| now.saturating_duration_since(t) < SHARED_SYNC_INTERVAL)
        {
            return;
        }
        self.last_shared_sync = Some(now);
        let changes = match self.store.changes() {
            Ok(c) => c,
            Err(e) => {
                metrics.dropped("dhcp6-server", "store-sync-failed");
                tracing::warn!(error = %e, "cannot read lease changes of other servers");
                return;
            }
        };
        let Some(server) = self.server.as_mut() else {
            return;
        };
        for change in changes {
            match change {
                v6edge_store::Change::Held(l) => {
                    if let Some(lease) = foreign_of(&self.clock, &l) {
                        server.foreign_lease(now, lease);
                    }
                }
                v6edge_store::Change::Gone(key) => {
                    if let Ok(prefix) = Prefix::new(key.addr, key.prefix_len) {
                        let kind = machine_kind(key.kind);
                        server.foreign_lease_gone(now, kind, prefix);
                    }
                }
            }
        }
    }

    pub fn next_effect(&mut self) -> Option<Effect> {
        self.effects.pop_front()
    }

    /// Prefixes that should have a route: at start, other unicast routes
    /// with our protocol number are stale.
    pub fn wanted_routes(&self) -> BTreeSet<Prefix> {
        if !self.settings.routes {
            return BTreeSet::new();
        }
        self.server
            .iter()
            .flat_map(|s| s.leases())
            .filter(|l| l.kind == LeaseKind::Prefix && l.next_hop.is_some())
            .map(|l| l.prefix)
            .collect()
    }

    pub fn leases(&self) -> Vec<LeaseView> {
        let now = self.now();
        let mut out: Vec<LeaseView> = self
            .server
            .iter()
            .flat_map(|s| s.leases())
            .map(|l| LeaseView {
                duid: l.duid.to_string(),
                iaid: l.iaid,
                kind: kind_name(l.kind),
                prefix: l.prefix.to_string(),
                preferred: Some(secs(l.preferred_until - now)),
                valid: Some(secs(l.valid_until - now)),
                next_hop: l.next_hop,
                interface: self.ifname(l.ifindex).map(str::to_owned),
            })
            .collect();
        out.sort_by(|a, b| (a.kind, &a.prefix).cmp(&(b.kind, &b.prefix)));
        out
    }

    /// The lease store's part of the status.
    fn store_doc(&self) -> StoreDoc {
        let h = self.store.health();
        StoreDoc {
            kind: self.store_kind.to_owned(),
            available: h.available,
            since: h.since_unix,
            last_error: h.last_error,
            losses: h.losses,
            reconnects: h.reconnects,
            tls: h.tls,
        }
    }

    pub fn status(&self) -> ServerStatusDoc {
        let Some(server) = &self.server else {
            return ServerStatusDoc {
                store: self.store_doc(),
                ..ServerStatusDoc::default()
            };
        };
        let st = server.status();
        // Both kinds always present, 0 included.
        let mut leases: BTreeMap<String, u64> = [("na".to_owned(), 0), ("pd".to_owned(), 0)].into();
        for l in server.leases() {
            *leases.entry(kind_name(l.kind).to_owned()).or_insert(0) += 1;
        }
        let c = &st.counters;
        let by_type = |m: &BTreeMap<u8, u64>| {
            m.iter()
                .map(|(t, n)| (message_name(*t).to_owned(), *n))
                .collect()
        };
        ServerStatusDoc {
            leases,
            revoked: u64::try_from(st.revoked).unwrap_or(u64::MAX),
            declined: u64::try_from(st.declined).unwrap_or(u64::MAX),
            pools: st
                .pools
                .iter()
                .map(|p| {
                    // The machine names a prefix pool "BASE /LEN", an address pool "START-END".
                    let (prefix, delegated_length) = match p.pool.split_once(" /") {
                        Some((base, len)) => (base.to_owned(), len.parse().ok()),
                        None => (p.pool.clone(), None),
                    };
                    PoolDoc {
                        link: match &p.link {
                            MachineSelector::Interface(i) => {
                                self.ifname(*i).unwrap_or("?").to_owned()
                            }
                            MachineSelector::RelayLinkAddress(prefix) => format!("relay {prefix}"),
                            other => format!("{other:?}"),
                        },
                        kind: kind_name(p.kind).to_owned(),
                        prefix,
                        delegated_length,
                        used: u64::try_from(p.used).unwrap_or(u64::MAX),
                        total: u64::try_from(p.capacity).unwrap_or(u64::MAX),
                    }
                })
                .collect(),
            counters: CountersDoc {
                received: by_type(&c.received),
                sent: by_type(&c.sent),
                dropped: c
                    .dropped
                    .iter()
                    .map(|(r, n)| (super::guard::reason_label(r), *n))
                    .collect(),
                granted: c.leases_granted,
                renewed: c.leases_renewed,
                released: c.leases_released,
                expired: c.leases_expired,
                refused_link_cap: c.refused_link_cap,
                refused_hw_address_cap: c.refused_client_cap,
            },
            store: self.store_doc(),
        }
    }

    /// The machine's drop counts by reason label, for the metrics.
    pub fn dropped_counts(&self) -> Vec<(String, u64)> {
        match &self.server {
            Some(s) => s
                .status()
                .counters
                .dropped
                .iter()
                .map(|(r, n)| (super::guard::reason_label(r), *n))
                .collect(),
            None => Vec::new(),
        }
    }

    /// SIGHUP: new settings for the machine (leases that no longer fit are
    /// revoked by it). The lease store and DUID stay.
    pub fn reconfigure(&mut self, settings: &ServerSettings, metrics: &Metrics) {
        let names_changed = settings.interfaces != self.settings.interfaces;
        self.settings = settings.clone();
        if names_changed {
            let old = std::mem::take(&mut self.interfaces);
            self.interfaces = settings
                .interfaces
                .iter()
                .map(|i| (i.to_string(), old.get(i.as_str()).copied().flatten()))
                .collect();
        }
        let now = self.now();
        let config = self.machine_config();
        if let Some(s) = &mut self.server {
            s.reconfigure(now, config);
        }
        self.pump(metrics);
    }

    /// Shutdown: commit what is pending and checkpoint the store.
    pub fn shutdown(&mut self, metrics: &Metrics) {
        self.commit(metrics);
        if let Err(e) = self.store.flush() {
            tracing::warn!(error = %e, "lease store flush at shutdown failed");
        }
    }
}

impl Role for ServerUnit {
    fn name(&self) -> &'static str {
        "delegating-server"
    }

    fn needs(&self) -> Needs {
        Needs {
            interfaces: self
                .interface_names()
                .map(|n| (n.to_owned(), Default::default()))
                .collect(),
            port_547: true,
            port_547_groups: self.ifindices(),
            ..Needs::default()
        }
    }

    fn sync(&mut self, facts: &Facts, metrics: &Metrics) {
        let indices: BTreeMap<String, Option<IfIndex>> = self
            .interface_names()
            .map(|n| (n.to_owned(), facts.up_index(n)))
            .collect();
        ServerUnit::sync(self, &indices, metrics);
    }

    /// Everything on UDP 547 (validation refuses a relay beside a server)
    /// but Relay-replies, which a server never takes (RFC 8415 §16) and
    /// which come for a mobile router's requesting router (RFC 6276); the
    /// machine judges the interface.
    fn accepts(&self, port: Port, rx: &Received<'_>) -> bool {
        port == Port::Dhcp6Server && rx.bytes.first() != Some(&u8::from(MessageType::RelayRepl))
    }

    fn handle_datagram(&mut self, _port: Port, rx: &Received<'_>, metrics: &Metrics) {
        self.handle_packet(rx, metrics);
    }

    fn receive(&mut self, message: &RoleMessage, metrics: &Metrics) {
        match message {
            RoleMessage::DelegableSpace(space) => self.set_uplink_space(space.clone(), metrics),
            RoleMessage::RaContribution { .. }
            | RoleMessage::DelegatedRoutes(_)
            | RoleMessage::HomeLinkPath { .. }
            | RoleMessage::UplinkDelegations { .. } => {}
        }
    }

    fn handle_timeout(&mut self, metrics: &Metrics) {
        ServerUnit::handle_timeout(self, metrics);
    }

    fn next_deadline(&self) -> Option<TokioInstant> {
        ServerUnit::next_deadline(self).map(|t| self.to_tokio(t))
    }

    fn next_effect(&mut self) -> Option<Effect> {
        ServerUnit::next_effect(self)
    }

    fn commit(&mut self, metrics: &Metrics) {
        ServerUnit::commit(self, metrics);
    }

    /// A route toward every delegated prefix (RFC 9818 LPD-5).
    fn owned_routes(&self) -> Option<OwnedRoutes> {
        Some(OwnedRoutes {
            owner: v6edge_core::Owner::DelegatingServer,
            kind: v6edge_core::RouteType::Unicast,
            prefixes: self.wanted_routes(),
        })
    }

    /// `roles.delegating-server`, and the top-level `server` kept for the
    /// consumers that read it.
    fn status(&self, status: &mut Status) {
        let doc = ServerUnit::status(self);
        status.server = Some(doc.clone());
        status.roles.delegating_server = Some(doc);
    }

    fn leases(&self) -> Option<Vec<LeaseView>> {
        Some(ServerUnit::leases(self))
    }

    fn dropped_counts(&self) -> Vec<(&'static str, String, u64)> {
        ServerUnit::dropped_counts(self)
            .into_iter()
            .map(|(reason, n)| (Port::Dhcp6Server.protocol(), reason, n))
            .collect()
    }

    fn reconfigure(&mut self, config: &Config, metrics: &Metrics) -> anyhow::Result<()> {
        if let Some(settings) = &config.server {
            ServerUnit::reconfigure(self, settings, metrics);
        }
        Ok(())
    }

    fn shutdown(&mut self, metrics: &Metrics) {
        ServerUnit::shutdown(self, metrics);
    }
}

/// The lease store as last seen by [`ServerUnit::note_store`].
#[derive(Debug, Default)]
struct StoreSeen {
    initialised: bool,
    checked_at: Instant,
    available: bool,
    since_unix: u64,
    losses: u64,
    reconnects: u64,
}

/// How often the daemon looks at a store that is away (the store itself
/// retries on its own schedule).
const STORE_CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// How often the leases other servers changed are read from a shared store.
const SHARED_SYNC_INTERVAL: Duration = Duration::from_secs(2);

/// The PostgreSQL store (cargo feature `postgres`).
#[cfg(feature = "postgres")]
fn open_postgres(conninfo: &str) -> anyhow::Result<Box<dyn LeaseStore + Send>> {
    let store = v6edge_store::PostgresStore::open(conninfo)
        .map_err(|e| anyhow::anyhow!("cannot open the lease store: {e}"))?;
    tracing::info!(database = %store.target(), "lease store (shared PostgreSQL)");
    Ok(Box::new(store))
}

/// Without the feature the configuration is refused when it is read; this
/// is never reached, and says so if it is.
#[cfg(not(feature = "postgres"))]
fn open_postgres(_conninfo: &str) -> anyhow::Result<Box<dyn LeaseStore + Send>> {
    anyhow::bail!(
        "lease-store = \"postgres\": this v6edge was built without the cargo feature \"postgres\""
    )
}

/// A lease another server holds, as the machine takes it: no route here
/// (`Server::foreign_lease` clears next hop and interface anyway), and the
/// link only as far as the stored text tells it (interface names are the
/// other server's).
fn foreign_of(clock: &WallClock, s: &StoredLease) -> Option<Lease> {
    let link = s
        .link
        .strip_prefix("relay:")
        .and_then(|rest| rest.split('@').next())
        .and_then(|a| a.parse().ok())
        .map_or(LinkId::Interface(0), |link_address| LinkId::Relay {
            link_address,
        });
    Some(Lease {
        duid: Duid::from_bytes(&s.duid).ok()?,
        iaid: s.iaid,
        kind: machine_kind(s.kind),
        prefix: Prefix::new(s.addr, s.prefix_len).ok()?,
        preferred_until: clock.from_unix(s.preferred_until),
        valid_until: clock.from_unix(s.valid_until),
        link,
        next_hop: None,
        ifindex: 0,
        hw_addr: s.hw_addr.clone(),
        reconfigure: None,
    })
}

/// The store's lease kind as the machine's (the store keeps its own type:
/// it is independent of the machines).
fn machine_kind(k: v6edge_store::LeaseKind) -> LeaseKind {
    match k {
        v6edge_store::LeaseKind::Address => LeaseKind::Address,
        v6edge_store::LeaseKind::Prefix => LeaseKind::Prefix,
    }
}

fn store_kind(k: LeaseKind) -> v6edge_store::LeaseKind {
    match k {
        LeaseKind::Address => v6edge_store::LeaseKind::Address,
        LeaseKind::Prefix => v6edge_store::LeaseKind::Prefix,
    }
}

fn kind_name(k: LeaseKind) -> &'static str {
    match k {
        LeaseKind::Address => "na",
        LeaseKind::Prefix => "pd",
    }
}

fn secs(d: Duration) -> u32 {
    d.as_secs().min(u64::from(u32::MAX - 1)) as u32
}
