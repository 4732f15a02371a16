//! [`Cpe`]: the requesting-router role (an `[uplink]` and its `[[lan]]`s).
//!
//! It owns the sans-IO machines of a requesting router and wires them
//! together; it never touches a socket or netlink itself:
//!
//! ```text
//!  UDP 546 ──► dhcp6::Client ──Changed(leases)──► router::Router ──Advert──► ra::Advertiser (per LAN) ──► ICMPv6
//!                 │                                   │ KernelOp (LAN addresses, unreachable route)
//!                 └──► Transmit (Solicit, ...)        └──► Persist (subnet ids, advertised prefixes)
//! ```
//!
//! The daemon loop ([`super::Daemon::run`]), through [`super::Driver`],
//! feeds it what the kernel and the network say ([`Cpe::sync`] with
//! [`Facts`], [`Cpe::handle_dhcp6`], [`Cpe::handle_icmp6`],
//! [`Cpe::handle_timeout`], control commands) and then carries out the
//! [`Effect`]s it queued, in order.
//!
//! Everything that must survive a restart goes to the state directory here
//! (see [`super::persist`]): the DUID (RFC 7084 W-6), IAIDs (RFC 9096
//! WPD-10), the DHCPv6 binding (restart → Rebind), the last prefix per IA_PD
//! (restart → hint), the LAN subnet ids (RFC 9818 LPD-3) and the prefixes
//! advertised on each LAN (RFC 9096 §3.5).
//!
//! Panic contract: nothing here panics.

use std::collections::{BTreeSet, VecDeque};
use std::time::SystemTime;

use serde_json::json;
use tokio::time::Instant as TokioInstant;
use v6edge_core::{IfIndex, Instant, KernelOp, Received, Transmit};
use v6edge_dhcp6::client::{
    Client, ClientConfig, ClientEvent, ClientStateKind, IaNaConfig, IaPdConfig, Leases,
    StoredBinding,
};
use v6edge_ra::{AdvertContent, Advertiser, AdvertiserConfig};
use v6edge_router::{
    Delegation, LanSpec, Persisted, Router, RouterConfig, RouterOutput, UplinkAddress, UplinkView,
};
use v6edge_sys::LinkInfo;
use v6edge_wire::dhcp6::{Duid, OptionCode};
use v6edge_wire::nd::RouterPreference as NdPreference;

use super::persist::{BINDING_DOC, BindingDoc, HINTS_DOC, HintsDoc, LANS_DOC, LansDoc, WallClock};
use super::server::message_name;
use crate::config::{LanConfig, RouterPreference, UplinkConfig};
use crate::control::Request;
use crate::metrics::Metrics;
use crate::state::StateDir;
use crate::status::{
    AddressStatus, DelegationStatus, DeprecatedPrefix, DnsStatus, LanStatus, RaCounters, Status,
    UplinkState, UplinkStatus,
};

/// ICMPv6 types the LAN side listens to: Router Solicitation, and Router
/// Advertisements of other routers (RFC 4861 §6.2.7 consistency checks).
pub const ND_TYPES: [u8; 2] = [133, 134];

/// How long a LAN waits for something to advertise before its advertiser
/// starts anyway. Starting at link-up with nothing to say would spend the
/// first RA on an empty advertisement and hold back the one with the prefix
/// for MIN_DELAY_BETWEEN_RAS (RFC 4861 §6.2.4); with a delegation at hand the
/// advertiser starts at once.
const ADVERTISE_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// What the daemon loop read from the kernel.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub uplink: Option<LinkInfo>,
    /// The uplink has a usable (non-tentative) link-local address, which
    /// DHCPv6 messages are sent from (RFC 8415 §13.1).
    pub uplink_link_local: bool,
    /// One entry per configured LAN, in configuration order.
    pub lans: Vec<Option<LinkInfo>>,
    /// The uplink has a default route (from the ISP's RAs), RFC 7084 G-4.
    pub default_router: bool,
}

/// What the daemon loop must carry out, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Send on the uplink's DHCPv6 client socket.
    Dhcp6(Transmit),
    /// Send on the DHCPv6 server socket (UDP 547).
    Dhcp6Server(Transmit),
    /// Run a lease hook program with these environment variables; the loop
    /// never waits for it.
    Hook {
        program: std::path::PathBuf,
        env: Vec<(String, String)>,
    },
    /// Send on the ICMPv6 socket (Router Advertisements).
    Icmp6(Transmit),
    Kernel(KernelOp),
}

#[derive(Debug)]
struct Lan {
    config: LanConfig,
    info: Option<LinkInfo>,
    advertiser: Option<Advertiser>,
    /// The latest content from the router, kept for when the advertiser
    /// (re)starts.
    content: Option<AdvertContent>,
    /// While the advertiser waits for content: when it starts anyway.
    start_at: Option<Instant>,
}

impl Lan {
    fn usable(&self) -> Option<&LinkInfo> {
        self.info.as_ref().filter(|i| i.up)
    }
}

/// The requesting router; see the module documentation.
#[derive(Debug)]
pub struct Cpe {
    uplink_cfg: UplinkConfig,
    lan_cfgs: Vec<LanConfig>,
    state: StateDir,
    origin: TokioInstant,
    clock: WallClock,
    seed: u64,
    uplink: Option<LinkInfo>,
    uplink_ready: bool,
    lans: Vec<Lan>,
    duid: Option<Duid>,
    pd_iaids: Vec<u32>,
    na_iaid: Option<u32>,
    client: Option<Client>,
    /// The binding read at start, used once to restore the client.
    restored: Option<StoredBinding>,
    hints: HintsDoc,
    router: Router,
    default_router: bool,
    leases: Leases,
    effects: VecDeque<Effect>,
}

impl Cpe {
    /// The DHCPv6 client's configuration on uplink `ifindex`, from the
    /// uplink section, the stored IAIDs and the prefixes to hint.
    fn client_config(&self, ifindex: IfIndex, duid: Duid) -> ClientConfig {
        client_config(
            &self.uplink_cfg,
            &self.pd_iaids,
            self.na_iaid,
            &self.hints,
            ifindex,
            duid,
        )
    }

    /// Builds the requesting router, reading what the state directory
    /// holds. Fails only if the state directory cannot be read or written.
    pub fn new(
        uplink: &UplinkConfig,
        lans: &[LanConfig],
        state: StateDir,
        origin: TokioInstant,
    ) -> anyhow::Result<Cpe> {
        let now = Instant::ZERO;
        let clock = WallClock::new(now, SystemTime::now());
        let duid = state
            .load_duid()?
            .and_then(|d| Duid::from_bytes(d.as_bytes()).ok());
        let (pd_iaids, na_iaid) = assign_iaids(uplink, &state)?;
        let restored = match state.load::<BindingDoc>(BINDING_DOC) {
            Ok(doc) => doc.and_then(|d| d.to_binding(clock.unix_now(now))),
            Err(e) => {
                // A corrupt document costs us the warm start, not the service.
                tracing::warn!(error = %e, "cannot read the stored binding; starting afresh");
                None
            }
        };
        let hints = state.load::<HintsDoc>(HINTS_DOC).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot read the stored prefix hints");
            None
        });
        let persisted = match state.load::<LansDoc>(LANS_DOC) {
            Ok(doc) => doc.map(|d| d.to_persisted(&clock)).unwrap_or_default(),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the stored LAN state");
                Persisted::default()
            }
        };
        let router = Router::new(router_config(lans), persisted, now);
        let seed = random_seed();
        if let Some(d) = &duid {
            tracing::info!(duid = %d, "client DUID loaded");
        }
        Ok(Cpe {
            uplink_cfg: uplink.clone(),
            lan_cfgs: lans.to_vec(),
            state,
            origin,
            clock,
            seed,
            uplink: None,
            uplink_ready: false,
            lans: lans
                .iter()
                .map(|l| Lan {
                    config: l.clone(),
                    info: None,
                    advertiser: None,
                    content: None,
                    start_at: None,
                })
                .collect(),
            duid,
            pd_iaids,
            na_iaid,
            client: None,
            restored,
            hints: hints.unwrap_or_default(),
            router,
            default_router: false,
            leases: Leases::default(),
            effects: VecDeque::new(),
        })
    }

    /// Machine time now.
    pub fn now(&self) -> Instant {
        super::persist::machine_now(self.origin)
    }

    fn to_tokio(&self, t: Instant) -> TokioInstant {
        super::persist::tokio_instant(self.origin, t)
    }

    /// The IAIDs of the configured IA_PDs, in config order.
    pub fn pd_iaids(&self) -> &[u32] {
        &self.pd_iaids
    }

    /// The interface names the loop must read for [`Facts`].
    pub fn uplink_name(&self) -> &str {
        self.uplink_cfg.interface.as_str()
    }

    pub fn lan_names(&self) -> impl Iterator<Item = &str> {
        self.lans.iter().map(|l| l.config.interface.as_str())
    }

    /// LAN interfaces that are up: the ICMPv6 socket joins ff02::2 on them.
    pub fn lan_ifindices(&self) -> BTreeSet<IfIndex> {
        self.lans
            .iter()
            .filter_map(|l| l.usable().map(|i| i.index))
            .collect()
    }

    /// The uplink ifindex and name, if present (the DHCPv6 socket binds there).
    pub fn uplink_link(&self) -> Option<(IfIndex, &str)> {
        self.uplink.as_ref().map(|i| (i.index, i.name.as_str()))
    }

    /// The space a delegating server on this router may hand out (RFC 9818
    /// LPD-4): each delegated prefix minus the LAN /64s carved from it and
    /// minus a prefix excluded upstream, with the delegation's lifetimes.
    pub fn delegable_space(&self) -> Vec<super::server::UplinkBlock> {
        let now = self.now();
        let lans: Vec<v6edge_prefix::Prefix> = self
            .router
            .status(now)
            .iter()
            .filter_map(|l| l.prefix)
            .collect();
        let mut out = Vec::new();
        for d in self.router.delegations() {
            let mut used: Vec<v6edge_prefix::Prefix> = lans
                .iter()
                .filter(|p| d.prefix.contains(p))
                .copied()
                .collect();
            used.extend(d.exclude.filter(|x| d.prefix.contains(x)));
            for block in v6edge_prefix::carve::remainder(d.prefix, &used) {
                out.push(super::server::UplinkBlock {
                    block,
                    preferred_until: d.preferred_until,
                    valid_until: d.valid_until,
                });
            }
        }
        out
    }

    /// Whether the uplink should learn its default route from RAs.
    pub fn accept_ra_default_route(&self) -> bool {
        self.uplink_cfg.accept_ra_default_route
    }

    /// Prefixes of the unreachable routes the router wants; at start, other
    /// unreachable routes with our protocol number are stale.
    pub fn wanted_unreachable_routes(&self) -> BTreeSet<v6edge_prefix::Prefix> {
        self.router.delegations().iter().map(|d| d.prefix).collect()
    }

    /// When [`Driver::handle_timeout`] wants to be called next.
    pub fn next_deadline(&self) -> Option<TokioInstant> {
        let client = self.client.as_ref().and_then(|c| c.poll_timeout());
        let router = self.router.poll_timeout();
        let ras = self
            .lans
            .iter()
            .filter_map(|l| l.advertiser.as_ref().and_then(|a| a.poll_timeout()));
        let starts = self.lans.iter().filter_map(|l| l.start_at);
        client
            .into_iter()
            .chain(router)
            .chain(ras)
            .chain(starts)
            .min()
            .map(|t| self.to_tokio(t))
    }

    pub fn next_effect(&mut self) -> Option<Effect> {
        self.effects.pop_front()
    }

    /// Brings the machines in line with what the kernel says about links
    /// and routes.
    pub fn sync(&mut self, facts: Facts, metrics: &Metrics) {
        let now = self.now();
        metrics.set_interface_present(self.uplink_name(), facts.uplink.is_some());
        let uplink_changed =
            self.uplink.as_ref().map(|i| i.index) != facts.uplink.as_ref().map(|i| i.index);
        if uplink_changed {
            match &facts.uplink {
                Some(i) => tracing::info!(interface = %i.name, ifindex = i.index, "uplink present"),
                None => tracing::warn!(interface = %self.uplink_name(), "uplink interface absent"),
            }
        }
        self.uplink = facts.uplink.clone();
        if uplink_changed {
            self.router
                .set_uplink_ifindex(now, self.uplink.as_ref().map(|i| i.index));
        }
        if self.duid.is_none()
            && let Some(info) = &self.uplink
        {
            self.create_duid(info.mac);
        }
        // A new or recreated uplink interface: the client follows it, keeping
        // its binding (the ifindex is part of its configuration).
        if let (Some(info), Some(duid)) = (&self.uplink, &self.duid) {
            let rebuild = self
                .client
                .as_ref()
                .is_none_or(|c| c.config().ifindex != info.index);
            if rebuild {
                let config = self.client_config(info.index, duid.clone());
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
            }
        }
        let ready =
            facts.uplink.as_ref().is_some_and(|i| i.up && i.running) && facts.uplink_link_local;
        if let Some(client) = &mut self.client
            && ready != self.uplink_ready
        {
            tracing::info!(ready, "uplink link state");
            client.handle_link(now, ready);
            self.uplink_ready = ready;
        }

        for (i, info) in facts.lans.into_iter().enumerate() {
            let Some(lan) = self.lans.get_mut(i) else {
                break;
            };
            metrics.set_interface_present(lan.config.interface.as_str(), info.is_some());
            let old_index = lan.usable().map(|i| i.index);
            lan.info = info;
            let new_index = lan.usable().map(|i| i.index);
            if old_index != new_index {
                tracing::info!(lan = %lan.config.interface, ifindex = ?new_index, "LAN link state");
                lan.advertiser = new_index.filter(|_| lan.config.advertise).map(|index| {
                    let mac = lan.usable().and_then(|i| i.mac);
                    Advertiser::new(
                        advertiser_config(&lan.config, index, mac),
                        self.seed ^ u64::from(index),
                        now,
                    )
                });
                lan.start_at = lan.advertiser.as_ref().map(|_| now + ADVERTISE_GRACE);
                // The router re-emits the LAN address and the advert content.
                self.router
                    .set_lan_ifindex(now, lan.config.interface.as_str(), new_index);
            }
        }
        if facts.default_router != self.default_router {
            self.default_router = facts.default_router;
            self.router.set_default_router(now, facts.default_router);
        }
        self.pump(now, metrics);
    }

    fn create_duid(&mut self, mac: Option<[u8; 6]>) {
        match self.state.duid_or_create(mac, SystemTime::now()) {
            Ok(d) => match Duid::from_bytes(d.as_bytes()) {
                Ok(duid) => {
                    tracing::info!(%duid, "client DUID ready");
                    self.duid = Some(duid);
                }
                Err(e) => tracing::error!(error = %e, "stored DUID is not a valid DUID"),
            },
            // Retried at the next sync.
            Err(e) => tracing::error!(error = %e, "cannot create the client DUID"),
        }
    }

    /// A datagram from the uplink's DHCPv6 socket.
    pub fn handle_dhcp6(&mut self, rx: &Received<'_>, metrics: &Metrics) {
        let now = self.now();
        if let Some(t) = rx.bytes.first() {
            metrics.dhcp6_received(self.uplink_name(), message_name(*t));
        }
        if let Some(reason) = self.client.as_mut().and_then(|c| c.handle_packet(now, rx)) {
            metrics.dropped("dhcp6", reason.as_str());
        }
        self.pump(now, metrics);
    }

    /// Our link-local address on LAN `ifindex`: the source of unicast RAs
    /// to hosts known by a global address (`Advertiser::set_source`).
    pub fn set_lan_source(&mut self, ifindex: IfIndex, source: Option<std::net::Ipv6Addr>) {
        if let Some(adv) = self.advertiser_on(ifindex) {
            adv.set_source(source);
        }
    }

    fn advertiser_on(&mut self, ifindex: IfIndex) -> Option<&mut Advertiser> {
        self.lans
            .iter_mut()
            .find(|l| l.usable().is_some_and(|i| i.index == ifindex))
            .and_then(|l| l.advertiser.as_mut())
    }

    /// Hosts the kernel's neighbour cache knows on LAN `ifindex`: the
    /// advertiser tells them about urgent changes by unicast RA, as it does
    /// the hosts that solicited (`Advertiser::note_neighbor`).
    pub fn note_neighbours(&mut self, ifindex: IfIndex, addrs: &[std::net::Ipv6Addr]) {
        let now = self.now();
        if let Some(adv) = self.advertiser_on(ifindex) {
            for &addr in addrs {
                adv.note_neighbor(now, addr);
            }
        }
    }

    /// An ICMPv6 datagram (RS, or another router's RA).
    pub fn handle_icmp6(&mut self, rx: &Received<'_>, metrics: &Metrics) {
        let now = self.now();
        if let Some(lan) = self
            .lans
            .iter_mut()
            .find(|l| l.usable().is_some_and(|i| i.index == rx.ifindex))
            && let Some(adv) = &mut lan.advertiser
        {
            if rx.bytes.first() == Some(&133) {
                metrics.rs_received(lan.config.interface.as_str());
            }
            adv.handle_packet(now, rx);
        }
        self.pump(now, metrics);
    }

    /// Runs what is due; early or spurious calls do nothing.
    pub fn handle_timeout(&mut self, metrics: &Metrics) {
        let now = self.now();
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
        self.pump(now, metrics);
    }

    /// Drains every machine until none has anything more to say. Outputs of
    /// one machine are inputs of the next, so this loops to a fixed point.
    fn pump(&mut self, now: Instant, metrics: &Metrics) {
        // Bounded: each round moves finite queues; a machine that kept
        // producing forever would be a bug, not a reason to hang the daemon.
        for _ in 0..64 {
            let mut progress = false;
            if let Some(client) = &mut self.client {
                while let Some(t) = client.poll_transmit() {
                    progress = true;
                    if let Some(b) = t.payload.first() {
                        metrics.dhcp6_sent(self.uplink_cfg.interface.as_str(), message_name(*b));
                    }
                    self.effects.push_back(Effect::Dhcp6(t));
                }
                let mut changed = Vec::new();
                while let Some(ev) = client.poll_event() {
                    progress = true;
                    if let ClientEvent::Changed(leases) = ev {
                        changed.push((leases, client.stored_binding(now)));
                    }
                }
                for (leases, binding) in changed {
                    self.on_leases(now, leases, binding, metrics);
                }
            }
            while let Some(out) = self.router.poll_output() {
                progress = true;
                match out {
                    RouterOutput::Kernel(op) => self.effects.push_back(Effect::Kernel(op)),
                    RouterOutput::Advert { ifindex, content } => {
                        if let Some(lan) = self
                            .lans
                            .iter_mut()
                            .find(|l| l.usable().is_some_and(|i| i.index == ifindex))
                        {
                            let worth_it =
                                !content.prefixes.is_empty() || !content.deprecated.is_empty();
                            if let Some(a) = &mut lan.advertiser {
                                a.set_content(now, content.clone());
                                if worth_it && lan.start_at.take().is_some() {
                                    a.start(now);
                                }
                            }
                            lan.content = Some(content);
                        }
                    }
                    RouterOutput::Persist(p) => {
                        let doc = LansDoc::from_persisted(&p, &self.clock);
                        if let Err(e) = self.state.save(LANS_DOC, &doc) {
                            tracing::error!(error = %e, "cannot save the LAN state");
                        }
                    }
                }
            }
            for lan in &mut self.lans {
                if let Some(a) = &mut lan.advertiser {
                    while let Some(t) = a.poll_transmit() {
                        progress = true;
                        metrics.ra_sent(lan.config.interface.as_str());
                        self.effects.push_back(Effect::Icmp6(t));
                    }
                }
            }
            if !progress {
                return;
            }
        }
        tracing::error!("machines did not settle after 64 rounds");
    }

    fn on_leases(
        &mut self,
        now: Instant,
        leases: Leases,
        binding: Option<StoredBinding>,
        metrics: &Metrics,
    ) {
        for old in &self.leases.prefixes {
            if !leases.prefixes.iter().any(|p| p.prefix == old.prefix) {
                tracing::info!(prefix = %old.prefix, "delegated prefix gone");
                metrics.remove_delegation(old.iaid, &old.prefix.to_string());
            }
        }
        for p in &leases.prefixes {
            if !self.leases.prefixes.iter().any(|o| o.prefix == p.prefix) {
                tracing::info!(prefix = %p.prefix, iaid = p.iaid, "delegated prefix obtained");
            }
            metrics.set_delegated_valid(
                p.iaid,
                &p.prefix.to_string(),
                remaining_secs(p.valid_until, now),
            );
            self.hints.insert(p.iaid.to_string(), p.prefix.to_string());
        }
        let view = uplink_view(&leases);
        self.leases = leases;
        self.router.handle_uplink(now, view);
        let unix = self.clock.unix_now(now);
        let saved = match &binding {
            Some(b) => self
                .state
                .save(BINDING_DOC, &BindingDoc::from_binding(b, unix)),
            None => self.state.save(
                BINDING_DOC,
                &BindingDoc {
                    saved_at: unix,
                    server_duid: None,
                    prefixes: vec![],
                    addresses: vec![],
                },
            ),
        };
        if let Err(e) = saved.and_then(|()| self.state.save(HINTS_DOC, &self.hints)) {
            tracing::error!(error = %e, "cannot save the DHCPv6 binding");
        }
    }

    /// `release` and `renew` from the control socket.
    pub fn handle_control(
        &mut self,
        request: Request,
        metrics: &Metrics,
    ) -> Result<serde_json::Value, String> {
        let now = self.now();
        let Some(client) = &mut self.client else {
            return Err(format!(
                "the uplink {} is not ready (no interface or no DUID yet)",
                self.uplink_cfg.interface
            ));
        };
        match request {
            // RFC 8415 §18.2.7; the daemon stays up, idle, until `renew`.
            Request::Release => {
                tracing::info!("release requested by operator");
                client.release(now);
            }
            Request::Renew => {
                tracing::info!("renew requested by operator");
                client.renew_now(now);
            }
            Request::Status
            | Request::Reload
            | Request::Metrics
            | Request::Leases
            | Request::Tree => {
                return Err(format!("`{}` is not a driver command", request.name()));
            }
        }
        let state = client.status(now).state;
        self.pump(now, metrics);
        Ok(json!({ "state": uplink_state(state).as_str() }))
    }

    /// Stop: final RAs with router lifetime 0 (RFC 4861 §6.2.5, RFC 7084
    /// G-5), and a Release only if configured (RFC 9096 WPD-9).
    pub fn shutdown(&mut self, metrics: &Metrics) {
        let now = self.now();
        for lan in &mut self.lans {
            if let Some(a) = &mut lan.advertiser {
                a.stop(now);
            }
        }
        if let Some(c) = &mut self.client {
            c.stop(now);
        }
        self.pump(now, metrics);
    }

    /// Applies a reloaded configuration (SIGHUP). The binding, DUID and
    /// LAN prefixes stay; machines get their new settings.
    pub fn reconfigure(
        &mut self,
        uplink: &UplinkConfig,
        lans: &[LanConfig],
        metrics: &Metrics,
    ) -> anyhow::Result<()> {
        let now = self.now();
        // The only fallible step comes first, so a failure changes nothing.
        let (pd_iaids, na_iaid) = assign_iaids(uplink, &self.state)?;
        let uplink_changed = uplink.interface != self.uplink_cfg.interface;
        self.uplink_cfg = uplink.clone();
        self.lan_cfgs = lans.to_vec();
        self.pd_iaids = pd_iaids;
        self.na_iaid = na_iaid;
        if uplink_changed {
            // A different interface: start over there, with the binding.
            if let Some(old) = self.client.take() {
                self.restored = old.stored_binding(now);
            }
            self.uplink = None;
            self.uplink_ready = false;
        } else if let (true, Some(duid), Some(info)) =
            (self.client.is_some(), &self.duid, &self.uplink)
        {
            let config = self.client_config(info.index, duid.clone());
            if let Some(c) = &mut self.client {
                c.reconfigure(now, config);
            }
        }
        // LANs: keep advertisers of interfaces that stay (with new settings),
        // stop those removed, rebuild the router with its persisted state.
        let mut old = std::mem::take(&mut self.lans);
        for gone in old
            .iter_mut()
            .filter(|l| !lans.iter().any(|n| n.interface == l.config.interface))
        {
            if let Some(a) = &mut gone.advertiser {
                a.stop(now);
                while let Some(t) = a.poll_transmit() {
                    self.effects.push_back(Effect::Icmp6(t));
                }
            }
            metrics.remove_interface(gone.config.interface.as_str());
        }
        self.lans = lans
            .iter()
            .map(
                |l| match old.iter().position(|o| o.config.interface == l.interface) {
                    Some(i) => {
                        let mut kept = old.swap_remove(i);
                        kept.config = l.clone();
                        if let (Some(a), Some(info)) = (&mut kept.advertiser, &kept.info) {
                            a.set_config(now, advertiser_config(l, info.index, info.mac));
                        }
                        kept
                    }
                    None => Lan {
                        config: l.clone(),
                        info: None,
                        advertiser: None,
                        content: None,
                        start_at: None,
                    },
                },
            )
            .collect();
        let persisted = self
            .state
            .load::<LansDoc>(LANS_DOC)
            .ok()
            .flatten()
            .map(|d| d.to_persisted(&self.clock))
            .unwrap_or_default();
        self.router = Router::new(router_config(lans), persisted, now);
        for lan in &self.lans {
            self.router.set_lan_ifindex(
                now,
                lan.config.interface.as_str(),
                lan.usable().map(|i| i.index),
            );
        }
        self.router.set_default_router(now, self.default_router);
        self.router
            .set_uplink_ifindex(now, self.uplink.as_ref().map(|i| i.index));
        self.router.handle_uplink(now, uplink_view(&self.leases));
        self.pump(now, metrics);
        Ok(())
    }

    /// The status document.
    /// Drop counts of the LANs' RA senders together (`nd`), by reason
    /// label, for the metrics. (The DHCPv6 client's drops are counted as
    /// they happen, in `handle_dhcp6`.)
    pub fn dropped_counts(&self) -> Vec<(&'static str, String, u64)> {
        let mut out: Vec<(&'static str, String, u64)> = Vec::new();
        let mut nd: std::collections::BTreeMap<String, u64> = Default::default();
        for adv in self.lans.iter().filter_map(|l| l.advertiser.as_ref()) {
            for (reason, n) in adv.status().dropped.iter() {
                *nd.entry(super::guard::reason_label(&reason)).or_insert(0) += n;
            }
        }
        out.extend(nd.into_iter().map(|(r, n)| ("nd", r, n)));
        out
    }

    pub fn status(&self) -> Status {
        let now = self.now();
        let client = self.client.as_ref().map(|c| c.status(now));
        let state = match (&self.uplink, &client) {
            (None, _) | (_, None) => UplinkState::WaitingLink,
            (Some(_), Some(s)) => uplink_state(s.state),
        };
        let leases = client
            .as_ref()
            .map(|s| s.leases.clone())
            .unwrap_or_default();
        let delegations = leases
            .prefixes
            .iter()
            .map(|p| {
                let timers = client
                    .as_ref()
                    .and_then(|s| s.ia_timers.iter().find(|t| t.pd && t.iaid == p.iaid));
                DelegationStatus {
                    iaid: p.iaid,
                    prefix: p.prefix.to_string(),
                    preferred: remaining_secs(p.preferred_until, now),
                    valid: remaining_secs(p.valid_until, now),
                    t1: timers
                        .and_then(|t| t.t1)
                        .map(|d| d.as_secs().min(u64::from(u32::MAX)) as u32),
                    t2: timers
                        .and_then(|t| t.t2)
                        .map(|d| d.as_secs().min(u64::from(u32::MAX)) as u32),
                }
            })
            .collect();
        let routers = self.router.status(now);
        let lans = self
            .lans
            .iter()
            .map(|lan| {
                let r = routers
                    .iter()
                    .find(|r| r.name == lan.config.interface.as_str());
                let ra = lan
                    .advertiser
                    .as_ref()
                    .map(|a| a.status())
                    .unwrap_or_default();
                LanStatus {
                    interface: lan.config.interface.to_string(),
                    ifindex: lan.info.as_ref().map(|i| i.index),
                    prefix: r.and_then(|r| r.prefix).map(|p| p.to_string()),
                    address: r.and_then(|r| r.address),
                    subnet_id: r
                        .and_then(|r| r.subnet_id)
                        .map(|id| id.min(u128::from(u32::MAX)) as u32)
                        .or(lan.config.subnet_id),
                    deprecated: r
                        .map(|r| {
                            r.deprecated
                                .iter()
                                .map(|(p, left)| DeprecatedPrefix {
                                    prefix: p.to_string(),
                                    valid: Some(left.as_secs().min(u64::from(u32::MAX)) as u32),
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                    ra: RaCounters {
                        sent: ra.ra_sent_multicast + ra.ra_sent_unicast,
                        rs_received: ra.rs_received,
                        dropped: ra.dropped.total(),
                        router_lifetime: u32::from(ra.last_router_lifetime.unwrap_or(0)),
                    },
                }
            })
            .collect();
        Status {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            uplink: Some(UplinkStatus {
                interface: self.uplink_cfg.interface.to_string(),
                ifindex: self.uplink.as_ref().map(|i| i.index),
                link_up: self.uplink.as_ref().is_some_and(|i| i.up && i.running),
                state,
                server_duid: leases.server_duid.as_ref().map(|d| d.to_string()),
                default_router: self.default_router,
                addresses: leases
                    .addresses
                    .iter()
                    .map(|a| AddressStatus {
                        address: a.addr,
                        preferred: remaining_secs(a.preferred_until, now),
                        valid: remaining_secs(a.valid_until, now),
                    })
                    .collect(),
            }),
            delegations,
            lans,
            dns: DnsStatus {
                servers: leases.dns_servers.clone(),
                domains: leases.domains.clone(),
            },
            server: None,
            io: Default::default(),
        }
    }
}

/// The DHCPv6 client's configuration from ours (RFC 7084 WPD-2 hint, RFC
/// 9096 WPD-9/10).
fn client_config(
    up: &UplinkConfig,
    pd_iaids: &[u32],
    na_iaid: Option<u32>,
    hints: &HintsDoc,
    ifindex: IfIndex,
    duid: Duid,
) -> ClientConfig {
    let ia_pds = pd_iaids
        .iter()
        .zip(&up.ia_pds)
        .map(|(iaid, req)| IaPdConfig {
            iaid: *iaid,
            hint_len: Some(req.prefix_hint),
            // Ask for the prefix held before, even if it expired meanwhile.
            hint_prefix: hints.get(&iaid.to_string()).and_then(|p| p.parse().ok()),
        })
        .collect();
    let mut c = ClientConfig::new(ifindex, duid, ia_pds);
    c.ia_na = na_iaid.map(|iaid| IaNaConfig { iaid });
    c.rapid_commit = up.rapid_commit;
    c.reconfigure_accept = up.reconfigure_accept;
    c.release_on_stop = up.release_on_stop;
    let mut options: Vec<OptionCode> = up
        .request_options
        .iter()
        .map(|o| OptionCode::from(o.code()))
        .collect();
    // RFC 6603: signal support for Prefix Exclude.
    if !options.contains(&OptionCode::PdExclude) {
        options.push(OptionCode::PdExclude);
    }
    c.requested_options = options;
    c
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

fn assign_iaids(
    uplink: &UplinkConfig,
    state: &StateDir,
) -> anyhow::Result<(Vec<u32>, Option<u32>)> {
    let name = uplink.interface.as_str();
    let mut pd = Vec::with_capacity(uplink.ia_pds.len());
    for i in 0..uplink.ia_pds.len() {
        // RFC 9096 WPD-10: stable across restarts (stored on first use).
        let key = if i == 0 {
            name.to_owned()
        } else {
            format!("{name}#{i}")
        };
        pd.push(state.iaid(&key)?);
    }
    // IAIDs are per IA type (RFC 8415 §12): the IA_NA may share the key.
    let na = if uplink.request_address {
        Some(state.iaid(name)?)
    } else {
        None
    };
    Ok((pd, na))
}

fn router_config(lans: &[LanConfig]) -> RouterConfig {
    RouterConfig {
        lans: lans
            .iter()
            .map(|l| LanSpec {
                name: l.interface.to_string(),
                ifindex: None,
                subnet_id: l.subnet_id.map(u128::from),
                advertise: l.advertise,
                dns_servers: l.ra.dns_servers.clone(),
                dns_domains: l.ra.dns_domains.clone(),
            })
            .collect(),
        // Each advertiser decides from its own `route-info` setting.
        route_info: true,
        host_id: 1,
    }
}

fn advertiser_config(lan: &LanConfig, ifindex: IfIndex, mac: Option<[u8; 6]>) -> AdvertiserConfig {
    let ra = &lan.ra;
    let mut c = AdvertiserConfig::new(ifindex);
    c.link_layer_addr = mac.map(|m| m.to_vec());
    c.min_interval = ra.min_interval;
    c.max_interval = ra.max_interval;
    c.router_lifetime = ra.router_lifetime;
    c.mtu = ra.mtu;
    c.managed = ra.managed;
    c.other_config = ra.other_config;
    c.preference = match ra.preference {
        RouterPreference::Low => NdPreference::Low,
        RouterPreference::Medium => NdPreference::Medium,
        RouterPreference::High => NdPreference::High,
    };
    c.pio_preferred_limit = ra.pio_preferred_limit;
    c.pio_valid_limit = ra.pio_valid_limit;
    c.rdnss_lifetime = ra.rdnss_lifetime;
    c.route_info = ra.route_info;
    c
}

fn uplink_state(s: ClientStateKind) -> UplinkState {
    match s {
        ClientStateKind::WaitingLink => UplinkState::WaitingLink,
        ClientStateKind::Soliciting => UplinkState::Soliciting,
        ClientStateKind::Requesting => UplinkState::Requesting,
        ClientStateKind::Bound | ClientStateKind::InformationRequesting => UplinkState::Bound,
        ClientStateKind::Renewing => UplinkState::Renewing,
        ClientStateKind::Rebinding => UplinkState::Rebinding,
        ClientStateKind::Releasing | ClientStateKind::Released => UplinkState::Released,
    }
}

fn remaining_secs(until: Option<Instant>, now: Instant) -> Option<u32> {
    until.map(|t| (t - now).as_secs().min(u64::from(u32::MAX - 1)) as u32)
}

/// A seed for the machines' jitter and transaction ids: distinct per run so
/// two routers started together do not retransmit in lockstep.
pub(super) fn random_seed() -> u64 {
    let mut bytes = [0u8; 8];
    if std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes))
        .is_ok()
    {
        return u64::from_ne_bytes(bytes);
    }
    let t = SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    t.as_nanos() as u64 ^ u64::from(std::process::id())
}
