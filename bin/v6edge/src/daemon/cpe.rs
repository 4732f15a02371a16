//! [`Cpe`]: the requesting-router role (an `[uplink]` and its `[[lan]]`s).
//!
//! The decisions are the sans-IO [`Node`]'s (`v6edge-node`: DHCPv6 client →
//! prefix carving → RA per LAN → the space the LAN server may delegate);
//! this file is its wiring: configuration into the node's settings, kernel
//! facts and packets in at tokio instants, [`NodeOutput`]s out as
//! [`Effect`]s, persistence in the state directory, metrics and status.
//! It never touches a socket or netlink itself.
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
use v6edge_core::{DHCP6_SERVER_PORT, IfIndex, Instant, Received, Transmit, Transport};
use v6edge_dhcp6::client::{
    ClientConfig, ClientStateKind, IaNaConfig, IaPdConfig, Leases, StoredBinding,
};
use v6edge_mip6::pd::HomeLinkPath;
use v6edge_node::{LeasesChange, Node, NodeLan, NodeOutput, UplinkBlock};
use v6edge_ra::AdvertiserConfig;
use v6edge_router::{LanSpec, Persisted};
use v6edge_sys::LinkInfo;
use v6edge_wire::dhcp6::{Duid, MessageType, OptionCode};
use v6edge_wire::nd::RouterPreference as NdPreference;

use super::persist::{BINDING_DOC, BindingDoc, HINTS_DOC, HintsDoc, LANS_DOC, LansDoc, WallClock};
use super::role::{
    Effect, Facts, Interest, LinkFacts, Needs, OwnedRoutes, Port, Role, RoleMessage, message_name,
    random_seed,
};
use crate::config::{Config, LanConfig, RouterPreference, UplinkConfig};
use crate::control::Request;
use crate::metrics::Metrics;
use crate::state::StateDir;
use crate::status::{
    AddressStatus, DelegationStatus, DeprecatedPrefix, DnsStatus, LanStatus, RaCounters,
    RequestingRouterStatus, Status, UplinkState, UplinkStatus,
};

#[derive(Debug)]
struct Lan {
    config: LanConfig,
    link: LinkFacts,
}

/// The requesting router; see the module documentation.
#[derive(Debug)]
pub struct Cpe {
    uplink_cfg: UplinkConfig,
    lan_cfgs: Vec<LanConfig>,
    state: StateDir,
    origin: TokioInstant,
    clock: WallClock,
    uplink: Option<LinkInfo>,
    lans: Vec<Lan>,
    duid: Option<Duid>,
    pd_iaids: Vec<u32>,
    na_iaid: Option<u32>,
    hints: HintsDoc,
    node: Node,
    effects: VecDeque<Effect>,
    /// The delegable space last told to the other roles
    /// ([`RoleMessage::DelegableSpace`]); `None` before the first time.
    space_told: Option<Vec<UplinkBlock>>,
    /// RFC 6276, `Some` when the uplink is a mobile node's interface: the
    /// way to the home network the mobile node last told
    /// ([`RoleMessage::HomeLinkPath`]); inside, `None` while there is none.
    home_link: Option<Option<HomeLinkPath>>,
    /// The last way there was: a detachment in between (a move between
    /// foreign links) is no move for the client; another way is.
    last_path: Option<HomeLinkPath>,
    /// The delegated prefixes last told to the other roles
    /// ([`RoleMessage::UplinkDelegations`]).
    delegations_told: Option<Vec<v6edge_prefix::Prefix>>,
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
        let node = Node::new(node_lans(lans), persisted, restored, random_seed(), now);
        if let Some(d) = &duid {
            tracing::info!(duid = %d, "client DUID loaded");
        }
        Ok(Cpe {
            uplink_cfg: uplink.clone(),
            lan_cfgs: lans.to_vec(),
            state,
            origin,
            clock,
            uplink: None,
            lans: lans
                .iter()
                .map(|l| Lan {
                    config: l.clone(),
                    link: LinkFacts::default(),
                })
                .collect(),
            duid,
            pd_iaids,
            na_iaid,
            hints: hints.unwrap_or_default(),
            node,
            effects: VecDeque::new(),
            space_told: None,
            home_link: uplink.via_home_agent.then_some(None),
            last_path: None,
            delegations_told: None,
        })
    }

    /// Machine time now.
    pub fn now(&self) -> Instant {
        super::persist::machine_now(self.origin)
    }

    fn to_tokio(&self, t: Instant) -> TokioInstant {
        super::persist::tokio_instant(self.origin, t)
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
            .filter_map(|l| l.link.usable().map(|(i, _)| i.index))
            .collect()
    }

    /// The uplink ifindex and name, if present (the DHCPv6 socket binds there).
    pub fn uplink_link(&self) -> Option<(IfIndex, &str)> {
        self.uplink.as_ref().map(|i| (i.index, i.name.as_str()))
    }

    /// The space a delegating server on this router may hand out (RFC 9818
    /// LPD-4), as the node decides it.
    pub fn delegable_space(&self) -> Vec<UplinkBlock> {
        self.node.delegable_space(self.now())
    }

    /// Whether the uplink should learn its default route from RAs.
    pub fn accept_ra_default_route(&self) -> bool {
        self.uplink_cfg.accept_ra_default_route
    }

    /// When [`Driver::handle_timeout`] wants to be called next.
    pub fn next_deadline(&self) -> Option<TokioInstant> {
        self.node.poll_timeout().map(|t| self.to_tokio(t))
    }

    /// Brings the machines in line with what the kernel says about links
    /// and routes.
    pub fn sync(&mut self, facts: &Facts, metrics: &Metrics) {
        let now = self.now();
        let uplink = facts.link(self.uplink_name());
        metrics.set_interface_present(self.uplink_name(), uplink.info.is_some());
        let uplink_changed =
            self.uplink.as_ref().map(|i| i.index) != uplink.info.as_ref().map(|i| i.index);
        if uplink_changed {
            match &uplink.info {
                Some(i) => tracing::info!(interface = %i.name, ifindex = i.index, "uplink present"),
                None => tracing::warn!(interface = %self.uplink_name(), "uplink interface absent"),
            }
        }
        self.uplink = uplink.info.clone();
        self.node
            .set_uplink_ifindex(now, self.uplink.as_ref().map(|i| i.index));
        if self.duid.is_none()
            && let Some(info) = &self.uplink
        {
            self.create_duid(info.mac);
        }
        // A new or recreated uplink interface: the client follows it, keeping
        // its binding (the ifindex is part of its configuration).
        if let (Some(info), Some(duid)) = (&self.uplink, &self.duid)
            && self.node.client_ifindex() != Some(info.index)
        {
            let config = self.client_config(info.index, duid.clone());
            self.node.attach_client(now, config);
        }
        // DHCPv6 messages are sent from a usable link-local address (RFC
        // 8415 §13.1); a mobile router's from its home address, once the
        // mobile node has a way to the home network (RFC 6276).
        let ready = match &self.home_link {
            Some(_) => uplink.info.is_some() && self.last_path.is_some(),
            None => {
                uplink.info.as_ref().is_some_and(|i| i.up && i.running)
                    && uplink.link_local.is_some()
            }
        };
        self.node.set_uplink_ready(now, ready);

        for i in 0..self.lans.len() {
            let name = self.lans[i].config.interface.as_str();
            let link = facts.link(name);
            metrics.set_interface_present(name, link.info.is_some());
            let lan = &mut self.lans[i];
            lan.link = link;
            let usable = lan.link.usable();
            self.node
                .set_lan_link(now, i, usable.map(|(info, _)| (info.index, info.mac)));
            if let Some((info, link_local)) = usable {
                self.node.set_lan_source(info.index, Some(link_local));
                // Hosts that never solicited us still hear urgent changes
                // at once.
                self.node
                    .note_neighbours(now, info.index, &self.lans[i].link.neighbours);
            }
        }
        let default_router = self
            .uplink
            .as_ref()
            .is_some_and(|i| facts.default_routes.contains(&i.index));
        self.node.set_default_router(now, default_router);
        self.drain(now, metrics);
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
        if let Some(reason) = self.node.handle_dhcp6(now, rx) {
            metrics.dropped("dhcp6", reason.as_str());
        }
        self.drain(now, metrics);
    }

    /// Hosts the kernel's neighbour cache knows on LAN `ifindex`: the
    /// advertiser tells them about urgent changes by unicast RA, as it does
    /// the hosts that solicited (`Advertiser::note_neighbor`).
    pub fn note_neighbours(&mut self, ifindex: IfIndex, addrs: &[std::net::Ipv6Addr]) {
        let now = self.now();
        // What the advertisers queue goes out with the next event's effects.
        self.node.note_neighbours(now, ifindex, addrs);
    }

    /// An ICMPv6 datagram (RS, or another router's RA).
    pub fn handle_icmp6(&mut self, rx: &Received<'_>, metrics: &Metrics) {
        let now = self.now();
        if let Some(lan) = self.node.lan_on(rx.ifindex)
            && self.node.advertiser(lan).is_some()
            && rx.bytes.first() == Some(&133)
            && let Some(l) = self.lans.get(lan)
        {
            metrics.rs_received(l.config.interface.as_str());
        }
        self.node.handle_icmp6(now, rx);
        self.drain(now, metrics);
    }

    /// Runs what is due; early or spurious calls do nothing.
    pub fn handle_timeout(&mut self, metrics: &Metrics) {
        let now = self.now();
        self.node.handle_timeout(now);
        self.drain(now, metrics);
    }

    /// RFC 6276: the mobile node's way to the home network changed.
    /// Before the first one the client waits. None for a while (between
    /// foreign links, re-registering): what the client sends is dropped
    /// and it retransmits; the same way back is no move. Another way (home
    /// ⇄ away): a move to another link for the client, which rebinds (RFC
    /// 8415 §18.2.12) so that the server routes the prefixes the new way.
    fn set_home_link(&mut self, path: Option<HomeLinkPath>, metrics: &Metrics) {
        let Some(current) = self.home_link else {
            return;
        };
        if current == path {
            return;
        }
        tracing::info!(
            ?path,
            "requesting router: the way to the home network (RFC 6276)"
        );
        self.home_link = Some(path);
        let Some(new) = path else {
            return;
        };
        let now = self.now();
        let present = self.uplink.is_some();
        if self.last_path.replace(new).is_some_and(|old| old != new) {
            self.node.set_uplink_ready(now, false);
        }
        self.node.set_uplink_ready(now, present);
        self.drain(now, metrics);
    }

    /// A DHCPv6 message of the client for the uplink, or for the home
    /// agent in a Relay-forward from the home address (RFC 6276), through
    /// the UDP 547 socket, which the kernel routes like any packet from
    /// the home address: into the tunnel while away.
    fn dhcp6_effect(&self, t: Transmit) -> Option<Effect> {
        let Some(home_link) = self.home_link else {
            return Some(Effect::Dhcp6(t));
        };
        let path = home_link?;
        let payload = v6edge_mip6::pd::relay_forward(&t.payload, path.home_address)?;
        Some(Effect::Dhcp6Server(Transmit {
            ifindex: 0,
            src: Some(path.home_address),
            dst: path.home_agent,
            transport: Transport::Udp {
                src_port: DHCP6_SERVER_PORT,
                dst_port: DHCP6_SERVER_PORT,
            },
            hop_limit: None,
            payload,
        }))
    }

    /// RFC 6276: a Relay-reply to the home address; its client message
    /// goes to the client as if heard on the uplink.
    fn handle_relay_reply(&mut self, rx: &Received<'_>, metrics: &Metrics) {
        let (Some(Some(path)), Some(uplink)) = (self.home_link, &self.uplink) else {
            return;
        };
        match v6edge_mip6::pd::relay_reply_message(rx.bytes, path.home_address) {
            Ok(inner) => {
                let ifindex = uplink.index;
                self.handle_dhcp6(
                    &Received {
                        ifindex,
                        src: rx.src,
                        dst: rx.dst,
                        hop_limit: rx.hop_limit,
                        bytes: &inner,
                    },
                    metrics,
                );
            }
            Err(reason) => metrics.dropped("dhcp6-relay-reply", reason.label()),
        }
    }

    /// Turns what the node asks for into effects, persisting and counting
    /// on the way.
    fn drain(&mut self, now: Instant, metrics: &Metrics) {
        while let Some(out) = self.node.poll_output() {
            match out {
                NodeOutput::Dhcp6(t) => {
                    if let Some(b) = t.payload.first() {
                        metrics.dhcp6_sent(self.uplink_cfg.interface.as_str(), message_name(*b));
                    }
                    match self.dhcp6_effect(t) {
                        Some(e) => self.effects.push_back(e),
                        None => metrics.dropped("dhcp6", "no-way-home"),
                    }
                }
                NodeOutput::Icmp6 { lan, transmit } => {
                    if let Some(l) = lan.and_then(|i| self.lans.get(i)) {
                        metrics.ra_sent(l.config.interface.as_str());
                    }
                    self.effects.push_back(Effect::Icmp6(transmit));
                }
                NodeOutput::Kernel(op) => self.effects.push_back(Effect::Kernel(op)),
                NodeOutput::Persist(p) => {
                    let doc = LansDoc::from_persisted(&p, &self.clock);
                    if let Err(e) = self.state.save(LANS_DOC, &doc) {
                        tracing::error!(error = %e, "cannot save the LAN state");
                    }
                }
                NodeOutput::Leases(change) => {
                    let LeasesChange {
                        previous,
                        current,
                        binding,
                    } = *change;
                    self.on_leases(now, &previous, &current, binding, metrics)
                }
            }
        }
    }

    fn on_leases(
        &mut self,
        now: Instant,
        previous: &Leases,
        leases: &Leases,
        binding: Option<StoredBinding>,
        metrics: &Metrics,
    ) {
        for old in &previous.prefixes {
            if !leases.prefixes.iter().any(|p| p.prefix == old.prefix) {
                tracing::info!(prefix = %old.prefix, "delegated prefix gone");
                metrics.remove_delegation(old.iaid, &old.prefix.to_string());
            }
        }
        for p in &leases.prefixes {
            if !previous.prefixes.iter().any(|o| o.prefix == p.prefix) {
                tracing::info!(prefix = %p.prefix, iaid = p.iaid, "delegated prefix obtained");
            }
            metrics.set_delegated_valid(
                p.iaid,
                &p.prefix.to_string(),
                remaining_secs(p.valid_until, now),
            );
            self.hints.insert(p.iaid.to_string(), p.prefix.to_string());
        }
        self.run_hooks(now, previous, leases);
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

    /// `[uplink] hook`: one run per delegated prefix obtained, renewed
    /// (its lifetimes changed) or lost, with what a firewall or dynamic
    /// DNS script needs (docs/config.md "Hooks").
    fn run_hooks(&mut self, now: Instant, previous: &Leases, leases: &Leases) {
        let Some(program) = self.uplink_cfg.hook.clone() else {
            return;
        };
        let lans: Vec<String> = self
            .node
            .router()
            .status(now)
            .iter()
            .filter_map(|r| Some(format!("{}={}", r.name, r.prefix?)))
            .collect();
        let unix = |t: Option<Instant>| {
            t.map_or("infinite".to_owned(), |t| self.clock.to_unix(t).to_string())
        };
        // New prefixes first: a firewall script that opens the new one
        // before closing the old never has neither.
        let mut runs = Vec::new();
        for p in &leases.prefixes {
            match previous.prefixes.iter().find(|o| o.prefix == p.prefix) {
                None => runs.push(("obtained", p)),
                Some(o)
                    if o.valid_until != p.valid_until || o.preferred_until != p.preferred_until =>
                {
                    runs.push(("renewed", p))
                }
                Some(_) => {}
            }
        }
        for old in &previous.prefixes {
            if !leases.prefixes.iter().any(|p| p.prefix == old.prefix) {
                runs.push(("lost", old));
            }
        }
        for (event, p) in runs {
            let env = vec![
                ("V6EDGE_ROLE".to_owned(), "requesting-router".to_owned()),
                ("V6EDGE_EVENT".to_owned(), event.to_owned()),
                ("V6EDGE_PREFIX".to_owned(), p.prefix.to_string()),
                ("V6EDGE_IAID".to_owned(), p.iaid.to_string()),
                (
                    "V6EDGE_INTERFACE".to_owned(),
                    self.uplink_cfg.interface.to_string(),
                ),
                ("V6EDGE_VALID_UNTIL".to_owned(), unix(p.valid_until)),
                ("V6EDGE_PREFERRED_UNTIL".to_owned(), unix(p.preferred_until)),
                ("V6EDGE_LAN_PREFIXES".to_owned(), lans.join(" ")),
            ];
            self.effects.push_back(Effect::Hook {
                program: program.clone(),
                env,
            });
        }
    }

    /// `release` and `renew` from the control socket.
    pub fn handle_control(
        &mut self,
        request: Request,
        metrics: &Metrics,
    ) -> Result<serde_json::Value, String> {
        let now = self.now();
        if self.node.client().is_none() {
            return Err(format!(
                "the uplink {} is not ready (no interface or no DUID yet)",
                self.uplink_cfg.interface
            ));
        };
        match request {
            // RFC 8415 §18.2.7; the daemon stays up, idle, until `renew`.
            Request::Release => {
                tracing::info!("release requested by operator");
                self.node.release(now);
            }
            Request::Renew => {
                tracing::info!("renew requested by operator");
                self.node.renew_now(now);
            }
            Request::Status
            | Request::Reload
            | Request::Metrics
            | Request::Leases { .. }
            | Request::Tree => {
                return Err(format!("`{}` is not a driver command", request.name()));
            }
        }
        let state = self.node.client().map(|c| c.status(now).state);
        self.drain(now, metrics);
        Ok(json!({ "state": state.map_or(UplinkState::WaitingLink, uplink_state).as_str() }))
    }

    /// Stop: final RAs with router lifetime 0 (RFC 4861 §6.2.5, RFC 7084
    /// G-5), and a Release only if configured (RFC 9096 WPD-9).
    pub fn shutdown(&mut self, metrics: &Metrics) {
        let now = self.now();
        self.node.stop(now);
        self.drain(now, metrics);
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
            self.node.detach_uplink(now);
            self.uplink = None;
        } else if let (Some(duid), Some(info)) = (&self.duid, &self.uplink) {
            let config = self.client_config(info.index, duid.clone());
            self.node.reconfigure_client(now, config);
        }
        // LANs: advertisers of interfaces that stay keep running with new
        // settings, those removed stop; the router is rebuilt over its
        // persisted state.
        for gone in self
            .lans
            .iter()
            .filter(|l| !lans.iter().any(|n| n.interface == l.config.interface))
        {
            metrics.remove_interface(gone.config.interface.as_str());
        }
        let mut old = std::mem::take(&mut self.lans);
        self.lans = lans
            .iter()
            .map(|l| Lan {
                config: l.clone(),
                link: old
                    .iter()
                    .position(|o| o.config.interface == l.interface)
                    .map(|i| old.swap_remove(i).link)
                    .unwrap_or_default(),
            })
            .collect();
        let persisted = self
            .state
            .load::<LansDoc>(LANS_DOC)
            .ok()
            .flatten()
            .map(|d| d.to_persisted(&self.clock))
            .unwrap_or_default();
        self.node.reconfigure_lans(now, node_lans(lans), persisted);
        self.drain(now, metrics);
        Ok(())
    }

    /// The status document.
    /// Drop counts of the LANs' RA senders together (`nd`), by reason
    /// label, for the metrics. (The DHCPv6 client's drops are counted as
    /// they happen, in `handle_dhcp6`.)
    pub fn dropped_counts(&self) -> Vec<(&'static str, String, u64)> {
        let mut out: Vec<(&'static str, String, u64)> = Vec::new();
        let mut nd: std::collections::BTreeMap<String, u64> = Default::default();
        for adv in (0..self.lans.len()).filter_map(|i| self.node.advertiser(i)) {
            for (reason, n) in adv.status().dropped.iter() {
                *nd.entry(super::guard::reason_label(&reason)).or_insert(0) += n;
            }
        }
        out.extend(nd.into_iter().map(|(r, n)| ("nd", r, n)));
        out
    }

    pub fn status(&self) -> Status {
        let now = self.now();
        let client = self.node.client().map(|c| c.status(now));
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
        let routers = self.node.router().status(now);
        let lans = self
            .lans
            .iter()
            .enumerate()
            .map(|(i, lan)| {
                let r = routers
                    .iter()
                    .find(|r| r.name == lan.config.interface.as_str());
                let ra = self
                    .node
                    .advertiser(i)
                    .map(|a| a.status())
                    .unwrap_or_default();
                LanStatus {
                    interface: lan.config.interface.to_string(),
                    ifindex: lan.link.info.as_ref().map(|i| i.index),
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
            // The driver files this document under `roles` too.
            roles: Default::default(),
            uplink: Some(UplinkStatus {
                interface: self.uplink_cfg.interface.to_string(),
                ifindex: self.uplink.as_ref().map(|i| i.index),
                link_up: self.uplink.as_ref().is_some_and(|i| i.up && i.running),
                state,
                server_duid: leases.server_duid.as_ref().map(|d| d.to_string()),
                default_router: self.node.default_router(),
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
            ra: Vec::new(),
            warnings: Vec::new(),
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

/// The node's LANs from ours: the router's view and the advertiser
/// template (the node fills in the link when it appears).
fn node_lans(lans: &[LanConfig]) -> Vec<NodeLan> {
    lans.iter()
        .map(|l| NodeLan {
            spec: LanSpec {
                name: l.interface.to_string(),
                ifindex: None,
                subnet_id: l.subnet_id.map(u128::from),
                advertise: l.advertise,
                dns_servers: l.ra.dns_servers.clone(),
                dns_domains: l.ra.dns_domains.clone(),
            },
            advertiser: advertiser_config(l, 0, None),
        })
        .collect()
}

fn advertiser_config(lan: &LanConfig, ifindex: IfIndex, mac: Option<[u8; 6]>) -> AdvertiserConfig {
    ra_advertiser_config(&lan.ra, ifindex, mac)
}

/// The advertiser settings of a `[lan.ra]` (or an `[[ra]]`, which has the
/// same keys) on `ifindex`.
pub(super) fn ra_advertiser_config(
    ra: &crate::config::RaSettings,
    ifindex: IfIndex,
    mac: Option<[u8; 6]>,
) -> AdvertiserConfig {
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

impl Role for Cpe {
    fn name(&self) -> &'static str {
        "requesting-router"
    }

    fn needs(&self) -> Needs {
        let mut needs = Needs {
            default_routes: true,
            dhcp6_client: self.uplink_link().map(|(i, n)| (i, n.to_owned())),
            all_routers: self.lan_ifindices(),
            forwarding: true,
            // RFC 6276: Relay-forwards to the home agent and its
            // Relay-replies.
            port_547: self.home_link.is_some(),
            ..Needs::default()
        };
        needs
            .interfaces
            .insert(self.uplink_name().to_owned(), Interest::default());
        for name in self.lan_names() {
            let interest = Interest {
                neighbours: true,
                ..Interest::default()
            };
            needs.interfaces.insert(name.to_owned(), interest);
        }
        if self.accept_ra_default_route() {
            needs.accept_ra.insert(self.uplink_name().to_owned());
        }
        needs
    }

    fn sync(&mut self, facts: &Facts, metrics: &Metrics) {
        Cpe::sync(self, facts, metrics);
    }

    /// Its DHCPv6 client socket; RS and RAs on its LANs.
    fn accepts(&self, port: Port, rx: &Received<'_>) -> bool {
        match port {
            Port::Dhcp6Client => true,
            // RFC 6276: Relay-replies to the home address.
            Port::Dhcp6Server => {
                matches!(self.home_link, Some(Some(p)) if p.home_address == rx.dst)
                    && rx.bytes.first() == Some(&u8::from(MessageType::RelayRepl))
            }
            Port::Icmp6 => {
                matches!(rx.bytes.first(), Some(133 | 134))
                    && self.node.lan_on(rx.ifindex).is_some()
            }
            _ => false,
        }
    }

    fn handle_datagram(&mut self, port: Port, rx: &Received<'_>, metrics: &Metrics) {
        match port {
            Port::Dhcp6Client => self.handle_dhcp6(rx, metrics),
            Port::Dhcp6Server => self.handle_relay_reply(rx, metrics),
            Port::Icmp6 => self.handle_icmp6(rx, metrics),
            _ => {}
        }
    }

    fn note_neighbours(&mut self, ifindex: IfIndex, addrs: &[std::net::Ipv6Addr]) {
        Cpe::note_neighbours(self, ifindex, addrs);
    }

    /// Another role's RA content for one of the LANs joins the LAN's RAs.
    /// Another role's RA content for one of the LANs joins the LAN's RAs;
    /// a mobile node's way home carries a mobile router's DHCPv6 (RFC
    /// 6276).
    fn receive(&mut self, message: &RoleMessage, metrics: &Metrics) {
        match message {
            RoleMessage::RaContribution {
                interface,
                contributor,
                content,
            } => {
                let now = self.now();
                self.node
                    .set_lan_contribution(now, interface, *contributor, content.clone());
                self.drain(now, metrics);
            }
            RoleMessage::HomeLinkPath { interfaces, path }
                if interfaces.iter().any(|n| n == self.uplink_name()) =>
            {
                self.set_home_link(*path, metrics);
            }
            _ => {}
        }
    }

    fn next_message(&mut self) -> Option<RoleMessage> {
        let delegated: Vec<v6edge_prefix::Prefix> =
            self.node.wanted_unreachable_routes().into_iter().collect();
        if self.delegations_told.as_ref() != Some(&delegated) {
            self.delegations_told = Some(delegated.clone());
            return Some(RoleMessage::UplinkDelegations {
                interface: self.uplink_name().to_owned(),
                prefixes: delegated,
            });
        }
        let space = self.delegable_space();
        if self.space_told.as_ref() == Some(&space) {
            return None;
        }
        self.space_told = Some(space.clone());
        Some(RoleMessage::DelegableSpace(space))
    }

    fn handle_timeout(&mut self, metrics: &Metrics) {
        Cpe::handle_timeout(self, metrics);
    }

    fn next_deadline(&self) -> Option<TokioInstant> {
        Cpe::next_deadline(self)
    }

    fn next_effect(&mut self) -> Option<Effect> {
        self.effects.pop_front()
    }

    /// The unreachable routes toward the delegations (RFC 7084 WPD-5); at
    /// start, other unreachable routes with our protocol number are stale.
    fn owned_routes(&self) -> Option<OwnedRoutes> {
        Some(OwnedRoutes {
            owner: v6edge_core::Owner::RequestingRouter,
            kind: v6edge_core::RouteType::Unreachable,
            prefixes: self.node.wanted_unreachable_routes(),
        })
    }

    /// The top-level fields (kept for the consumers that read them) and
    /// `roles.requesting-router`.
    fn status(&self, status: &mut Status) {
        let own = Cpe::status(self);
        status.uplink = own.uplink;
        status.delegations = own.delegations;
        status.lans = own.lans;
        status.dns = own.dns;
        status.roles.requesting_router = Some(RequestingRouterStatus::of(status));
    }

    /// `release` and `renew` act on the requesting router.
    fn handle_control(
        &mut self,
        request: &Request,
        metrics: &Metrics,
    ) -> Option<Result<serde_json::Value, String>> {
        matches!(request, Request::Release | Request::Renew)
            .then(|| Cpe::handle_control(self, request.clone(), metrics))
    }

    fn dropped_counts(&self) -> Vec<(&'static str, String, u64)> {
        Cpe::dropped_counts(self)
    }

    fn reconfigure(&mut self, config: &Config, metrics: &Metrics) -> anyhow::Result<()> {
        match &config.uplink {
            Some(uplink) => Cpe::reconfigure(self, uplink, &config.lans, metrics),
            None => Ok(()),
        }
    }

    fn shutdown(&mut self, metrics: &Metrics) {
        Cpe::shutdown(self, metrics);
    }
}
