//! The RIPng machine: input processing (RFC 2080 §2.4), the timers
//! (§2.3), output processing and triggered updates (§2.5).

use std::collections::{BTreeMap, VecDeque};
use std::net::Ipv6Addr;

use tracing::debug;
use v6edge_core::{
    IfIndex, Instant, KernelOp, Owner, Received, Rng, RouteSpec, RouteType, Transmit, Transport,
};
use v6edge_prefix::Prefix;
use v6edge_wire::ripng::{Command, METRIC_INFINITY, RipngMessage, Rte, RteKind, VERSION};

use crate::output::{Advert, pack};
use crate::{
    ALL_RIP_ROUTERS, Counters, DropReason, InterfaceConfig, MIN_MTU, NeighbourStatus,
    OriginatedRoute, RIPNG_HOP_LIMIT, RIPNG_PORT, RipngConfig, RipngOutput, RipngStatus,
    RouteState, RouteStatus, RteIgnored, SplitHorizon,
};

/// Neighbours remembered for `status`; more are not tracked (their
/// routes still are).
const MAX_NEIGHBOURS: usize = 1024;

/// An interface RIPng runs on, and its link when up.
#[derive(Debug, Clone)]
struct Interface {
    config: InterfaceConfig,
    link: Option<Link>,
}

#[derive(Debug, Clone, Copy)]
struct Link {
    link_local: Ipv6Addr,
    mtu: usize,
}

/// Where a table entry came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// Originated here ([`Ripng::set_originated`]).
    Local,
    /// Learned from `gateway` on `ifindex`.
    Learned { gateway: Ipv6Addr, ifindex: IfIndex },
}

#[derive(Debug, Clone)]
struct Entry {
    metric: u8,
    tag: u16,
    origin: Origin,
    state: RouteState,
    /// Active learned: the timeout; garbage collection: the removal;
    /// active local: none.
    expires: Option<Instant>,
    /// The route change flag of §2.5.1: goes out in the next triggered
    /// update.
    changed: bool,
    /// What the kernel holds for this entry.
    installed: Option<RouteSpec>,
    last_heard: Instant,
}

#[derive(Debug, Clone, Default)]
struct Neighbour {
    last_heard: Instant,
    bad_packets: u64,
    bad_rtes: u64,
}

/// The RIPng router (see the crate documentation).
#[derive(Debug)]
pub struct Ripng {
    config: RipngConfig,
    rng: Rng,
    interfaces: BTreeMap<IfIndex, Interface>,
    table: BTreeMap<Prefix, Entry>,
    neighbours: BTreeMap<(IfIndex, Ipv6Addr), Neighbour>,
    next_update: Instant,
    /// No triggered update leaves before this (§2.5.1 hold-down).
    trigger_hold: Option<Instant>,
    counters: Counters,
    output: VecDeque<RipngOutput>,
    /// The aggregates with a route inside (their metric), and those that
    /// just lost their last one (`None`, advertised once with 16).
    aggregates: BTreeMap<Prefix, Aggregate>,
}

/// An aggregate's advertisement state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Aggregate {
    /// The smallest metric inside; `None`: withdrawn (metric 16).
    metric: Option<u8>,
    /// To go out in the next triggered update.
    changed: bool,
}

impl Ripng {
    /// A router with an empty table; the first regular update is one
    /// jittered interval away.
    pub fn new(config: RipngConfig, seed: u64, now: Instant) -> Ripng {
        let interfaces = config
            .interfaces
            .iter()
            .map(|c| {
                (
                    c.ifindex,
                    Interface {
                        config: c.clone(),
                        link: None,
                    },
                )
            })
            .collect();
        let mut ripng = Ripng {
            config,
            rng: Rng::seed(seed),
            interfaces,
            table: BTreeMap::new(),
            neighbours: BTreeMap::new(),
            next_update: now,
            trigger_hold: None,
            counters: Counters::default(),
            output: VecDeque::new(),
            aggregates: BTreeMap::new(),
        };
        ripng.next_update = ripng.jittered_update(now);
        ripng
    }

    // ----- getters -----

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    pub fn config(&self) -> &RipngConfig {
        &self.config
    }

    /// The earliest instant `handle_timeout` has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut at = self.next_update;
        if let Some(hold) = self.trigger_hold
            && self.table.values().any(|e| e.changed)
        {
            at = at.min(hold);
        }
        let earliest_route = self.table.values().filter_map(|e| e.expires).min();
        Some(earliest_route.map_or(at, |r| r.min(at)))
    }

    pub fn status(&self, now: Instant) -> RipngStatus {
        let routes = self
            .table
            .iter()
            .map(|(prefix, e)| {
                let (next_hop, ifindex) = match e.origin {
                    Origin::Local => (None, None),
                    Origin::Learned { gateway, ifindex } => (Some(gateway), Some(ifindex)),
                };
                RouteStatus {
                    prefix: *prefix,
                    metric: e.metric,
                    next_hop,
                    ifindex,
                    tag: e.tag,
                    state: e.state,
                    expires: e.expires,
                    last_heard: e.last_heard,
                }
            })
            .collect();
        let neighbours = self
            .neighbours
            .iter()
            .map(|((ifindex, addr), n)| NeighbourStatus {
                addr: *addr,
                ifindex: *ifindex,
                last_heard: n.last_heard,
                bad_packets: n.bad_packets,
                bad_rtes: n.bad_rtes,
            })
            .collect();
        RipngStatus {
            now,
            routes,
            neighbours,
            counters: self.counters.clone(),
            next_regular_update: Some(self.next_update),
            aggregates: self
                .aggregates
                .iter()
                .filter_map(|(p, a)| Some((*p, a.metric?)))
                .collect(),
        }
    }

    // ----- output -----

    pub fn poll_output(&mut self) -> Option<RipngOutput> {
        self.output.pop_front()
    }

    // ----- input -----

    /// The interface is up with this link-local address and MTU (again:
    /// an address or MTU change). Asks the neighbours for their tables
    /// (§2.4.1) unless passive. Interfaces not configured are ignored.
    pub fn handle_interface_up(
        &mut self,
        now: Instant,
        ifindex: IfIndex,
        link_local: Ipv6Addr,
        mtu: usize,
    ) {
        let Some(iface) = self.interfaces.get_mut(&ifindex) else {
            return;
        };
        let was_up = iface.link.is_some();
        iface.link = Some(Link { link_local, mtu });
        if !was_up && !iface.config.passive {
            let payload = RipngMessage::whole_table_request().to_bytes();
            self.counters.requests_out += 1;
            self.output.push_back(RipngOutput::Transmit(multicast(
                ifindex, link_local, payload,
            )));
        }
        self.flush_triggered(now);
    }

    /// The interface went down: routes learned over it start the deletion
    /// process (and are announced unreachable on the others).
    pub fn handle_interface_down(&mut self, now: Instant, ifindex: IfIndex) {
        let Some(iface) = self.interfaces.get_mut(&ifindex) else {
            return;
        };
        iface.link = None;
        let gc = self.config.timers.garbage_collection;
        for entry in self.table.values_mut() {
            if matches!(entry.origin, Origin::Learned { ifindex: i, .. } if i == ifindex)
                && entry.state == RouteState::Active
            {
                start_deletion(entry, now, gc, &mut self.output);
            }
        }
        self.flush_triggered(now);
    }

    /// The routes this router originates, replacing the previous set.
    /// Removed ones are announced unreachable through garbage collection;
    /// a learned route for an originated prefix gives way.
    pub fn set_originated(&mut self, now: Instant, routes: &[OriginatedRoute]) {
        let wanted: BTreeMap<Prefix, OriginatedRoute> = routes
            .iter()
            .filter(|r| r.metric < METRIC_INFINITY)
            .map(|r| (r.prefix, *r))
            .collect();
        let gc = self.config.timers.garbage_collection;
        for (prefix, entry) in self.table.iter_mut() {
            if entry.origin == Origin::Local
                && entry.state == RouteState::Active
                && !wanted.contains_key(prefix)
            {
                start_deletion(entry, now, gc, &mut self.output);
            }
        }
        for (prefix, route) in wanted {
            let metric = route.metric.max(1);
            if let Some(e) = self.table.get(&prefix)
                && e.origin == Origin::Local
                && e.state == RouteState::Active
                && (e.metric, e.tag) == (metric, route.tag)
            {
                continue;
            }
            if let Some(old) = self.table.get_mut(&prefix).and_then(|e| e.installed.take()) {
                self.output
                    .push_back(RipngOutput::Kernel(KernelOp::DelRoute(old)));
            }
            self.table.insert(
                prefix,
                Entry {
                    metric,
                    tag: route.tag,
                    origin: Origin::Local,
                    state: RouteState::Active,
                    expires: None,
                    changed: true,
                    installed: None,
                    last_heard: now,
                },
            );
        }
        self.flush_triggered(now);
    }

    /// A datagram received on UDP port 521 from `src_port`.
    pub fn handle_packet(&mut self, now: Instant, rx: &Received<'_>, src_port: u16) {
        if let Err(reason) = self.receive(now, rx, src_port) {
            debug!(src = %rx.src, ifindex = rx.ifindex, ?reason, "RIPng datagram dropped");
            *self.counters.dropped.entry(reason).or_default() += 1;
            if let Some(n) = self.neighbours.get_mut(&(rx.ifindex, rx.src)) {
                n.bad_packets += 1;
            }
        }
        self.flush_triggered(now);
    }

    /// Route timeouts, garbage collection, the regular update and a held
    /// triggered update, whichever are due. Idempotent.
    pub fn handle_timeout(&mut self, now: Instant) {
        let gc = self.config.timers.garbage_collection;
        let mut collected = Vec::new();
        for (prefix, entry) in self.table.iter_mut() {
            let due = entry.expires.is_some_and(|at| at <= now);
            match entry.state {
                RouteState::Active if due => start_deletion(entry, now, gc, &mut self.output),
                RouteState::GarbageCollection if due => collected.push(*prefix),
                _ => {}
            }
        }
        for prefix in collected {
            self.table.remove(&prefix);
        }
        if self.next_update <= now {
            self.regular_update();
            self.next_update = self.jittered_update(now);
        }
        self.flush_triggered(now);
    }

    // ----- input processing (§2.4) -----

    fn receive(
        &mut self,
        now: Instant,
        rx: &Received<'_>,
        src_port: u16,
    ) -> Result<(), DropReason> {
        let link = self
            .interfaces
            .get(&rx.ifindex)
            .and_then(|i| i.link)
            .ok_or(DropReason::UnknownInterface)?;
        if self
            .interfaces
            .values()
            .any(|i| i.link.is_some_and(|l| l.link_local == rx.src))
        {
            return Err(DropReason::FromSelf);
        }
        let message = RipngMessage::parse(rx.bytes).map_err(|_| DropReason::Malformed)?;
        if message.version != VERSION {
            return Err(DropReason::BadVersion);
        }
        match message.command {
            Command::Request => {
                self.counters.requests_in += 1;
                self.answer_request(rx, src_port, link, &message);
                Ok(())
            }
            Command::Response => {
                if src_port != RIPNG_PORT {
                    return Err(DropReason::ResponseNotFromRipngPort);
                }
                if !rx.src.is_unicast_link_local() {
                    return Err(DropReason::ResponseNotLinkLocal);
                }
                if rx.hop_limit != RIPNG_HOP_LIMIT {
                    return Err(DropReason::ResponseHopLimit);
                }
                self.counters.responses_in += 1;
                self.learn(now, rx.ifindex, rx.src, message.entries());
                Ok(())
            }
            Command::Unknown(_) => Err(DropReason::UnknownCommand),
        }
    }

    /// §2.4.1: the whole table through the output process, or each asked
    /// entry with our metric (16 if we have none), to the asker.
    fn answer_request(&mut self, rx: &Received<'_>, port: u16, link: Link, request: &RipngMessage) {
        let adverts = if request.is_whole_table_request() {
            self.adverts(rx.ifindex, false)
        } else {
            request
                .entries()
                .iter()
                .filter(|rte| rte.kind() != RteKind::NextHop)
                .map(|rte| {
                    let found = Prefix::new(rte.prefix, rte.prefix_len)
                        .ok()
                        .and_then(|p| self.table.get(&p));
                    let (tag, metric) =
                        found.map_or((rte.route_tag, METRIC_INFINITY), |e| (e.tag, e.metric));
                    Advert {
                        next_hop: None,
                        rte: Rte::route(rte.prefix, rte.prefix_len, tag, metric),
                    }
                })
                .collect()
        };
        let on_link = rx.src.is_unicast_link_local();
        let mtu = if on_link { link.mtu } else { MIN_MTU };
        for payload in pack(adverts, mtu) {
            self.counters.responses_out += 1;
            self.output.push_back(RipngOutput::Transmit(Transmit {
                ifindex: rx.ifindex,
                src: on_link.then_some(link.link_local),
                dst: rx.src,
                transport: Transport::Udp {
                    src_port: RIPNG_PORT,
                    dst_port: port,
                },
                hop_limit: on_link.then_some(RIPNG_HOP_LIMIT),
                payload,
            }));
        }
    }

    /// §2.4.2: each RTE of a Response believed from `sender` on `ifindex`.
    fn learn(&mut self, now: Instant, ifindex: IfIndex, sender: Ipv6Addr, rtes: &[Rte]) {
        let cost = self
            .interfaces
            .get(&ifindex)
            .map_or(1, |i| i.config.cost.clamp(1, 15));
        let accept = self
            .interfaces
            .get(&ifindex)
            .map(|i| i.config.accept.clone())
            .unwrap_or_default();
        if self.neighbours.len() < MAX_NEIGHBOURS
            || self.neighbours.contains_key(&(ifindex, sender))
        {
            self.neighbours
                .entry((ifindex, sender))
                .or_default()
                .last_heard = now;
        }
        let mut gateway = sender;
        let ours = self
            .interfaces
            .get(&ifindex)
            .and_then(|i| i.link)
            .map(|l| l.link_local);
        for rte in rtes {
            let verdict = match rte.kind() {
                RteKind::NextHop => {
                    if rte.prefix.is_unicast_link_local() {
                        gateway = rte.prefix;
                        Ok(())
                    } else {
                        gateway = sender;
                        if rte.prefix.is_unspecified() {
                            Ok(())
                        } else {
                            Err(RteIgnored::NextHopNotLinkLocal)
                        }
                    }
                }
                RteKind::Invalid if rte.prefix_len > 128 => Err(RteIgnored::BadPrefixLength),
                RteKind::Invalid => Err(RteIgnored::BadMetric),
                RteKind::Route => valid_prefix(rte).and_then(|prefix| {
                    if Some(gateway) == ours {
                        return Err(RteIgnored::ThroughUs);
                    }
                    if !accepted(&accept, &prefix) {
                        return Err(RteIgnored::Filtered);
                    }
                    // An aggregate of ours in use is our own prefix.
                    if self
                        .aggregates
                        .get(&prefix)
                        .is_some_and(|a| a.metric.is_some())
                    {
                        return Err(RteIgnored::OwnPrefix);
                    }
                    let metric = rte.metric.saturating_add(cost).min(METRIC_INFINITY);
                    self.update(now, prefix, metric, rte.route_tag, gateway, ifindex)
                }),
            };
            if let Err(reason) = verdict {
                *self.counters.rtes_ignored.entry(reason).or_default() += 1;
                if let Some(n) = self.neighbours.get_mut(&(ifindex, sender)) {
                    n.bad_rtes += 1;
                }
            }
        }
    }

    /// §2.4.2, the table update for one valid RTE (cost added).
    fn update(
        &mut self,
        now: Instant,
        prefix: Prefix,
        metric: u8,
        tag: u16,
        gateway: Ipv6Addr,
        ifindex: IfIndex,
    ) -> Result<(), RteIgnored> {
        let timers = self.config.timers;
        let origin = Origin::Learned { gateway, ifindex };
        let fresh = |metric| Entry {
            metric,
            tag,
            origin,
            state: RouteState::Active,
            expires: Some(now + timers.timeout),
            changed: true,
            installed: None,
            last_heard: now,
        };
        let full = self.table.len() >= self.config.max_routes;
        let Some(entry) = self.table.get_mut(&prefix) else {
            if metric < METRIC_INFINITY && full {
                return Err(RteIgnored::TableFull);
            }
            if metric < METRIC_INFINITY {
                let mut entry = fresh(metric);
                self.install(prefix, &mut entry);
                self.table.insert(prefix, entry);
            }
            return Ok(());
        };
        if entry.origin == Origin::Local && entry.state == RouteState::Active {
            return Err(RteIgnored::OwnPrefix);
        }
        if entry.origin == origin {
            // From the current gateway: refresh, and follow its changes.
            entry.last_heard = now;
            if metric >= METRIC_INFINITY {
                if entry.state == RouteState::Active {
                    start_deletion(entry, now, timers.garbage_collection, &mut self.output);
                }
                return Ok(());
            }
            let revived = entry.state == RouteState::GarbageCollection;
            if revived || (entry.metric, entry.tag) != (metric, tag) {
                entry.changed = true;
            }
            entry.metric = metric;
            entry.tag = tag;
            entry.state = RouteState::Active;
            entry.expires = Some(now + timers.timeout);
            if revived {
                let mut entry = entry.clone();
                self.install(prefix, &mut entry);
                self.table.insert(prefix, entry);
            }
            return Ok(());
        }
        // Another gateway: only a strictly better metric replaces the
        // route (equal cost keeps the existing one, §2.4.2).
        if metric < entry.metric {
            let old = entry.installed.take();
            let mut entry = fresh(metric);
            entry.installed = old;
            self.install(prefix, &mut entry);
            self.table.insert(prefix, entry);
        }
        Ok(())
    }

    /// Puts (or moves) the entry's route into the kernel.
    fn install(&mut self, prefix: Prefix, entry: &mut Entry) {
        let Origin::Learned { gateway, ifindex } = entry.origin else {
            return;
        };
        let spec = RouteSpec {
            owner: Owner::Ripng,
            table: self.config.table,
            dst: prefix,
            kind: RouteType::Unicast,
            gateway: Some(gateway),
            ifindex: Some(ifindex),
            metric: self.config.kernel_metric,
            expires: None,
        };
        if entry.installed.as_ref() != Some(&spec) {
            entry.installed = Some(spec.clone());
            self.output
                .push_back(RipngOutput::Kernel(KernelOp::SetRoute(spec)));
        }
    }

    // ----- output processing (§2.5) -----

    /// What goes out of `out_ifindex`: every entry, or only the changed
    /// ones, split horizon applied.
    fn adverts(&self, out_ifindex: IfIndex, changed_only: bool) -> Vec<Advert> {
        let Some(iface) = self.interfaces.get(&out_ifindex) else {
            return Vec::new();
        };
        // route6d -T: the interface hears of us as its default router only.
        if iface.config.default_only {
            if changed_only {
                return Vec::new();
            }
            return vec![Advert {
                next_hop: None,
                rte: Rte::route(Ipv6Addr::UNSPECIFIED, 0, 0, 1),
            }];
        }
        let horizon = iface.config.split_horizon;
        let advertise = &iface.config.advertise;
        let in_use = |p: &Prefix| {
            self.aggregates
                .iter()
                .any(|(a, s)| s.metric.is_some() && a != p && a.contains(p))
        };
        let aggregates = self
            .aggregates
            .iter()
            .filter(|(_, s)| s.changed || !changed_only)
            .filter(|(_, s)| s.metric.is_some() || s.changed)
            .filter(|(a, _)| accepted(advertise, a))
            .map(|(a, s)| Advert {
                next_hop: None,
                rte: Rte::route(a.addr(), a.len(), 0, s.metric.unwrap_or(METRIC_INFINITY)),
            });
        let routes = self
            .table
            .iter()
            .filter(|(p, _)| !in_use(p) && accepted(advertise, p))
            .filter(|(_, e)| e.changed || !changed_only)
            .filter_map(|(prefix, e)| {
                let route = |metric| Rte::route(prefix.addr(), prefix.len(), e.tag, metric);
                let mut advert = Advert {
                    next_hop: None,
                    rte: route(e.metric),
                };
                if let Origin::Learned { gateway, ifindex } = e.origin
                    && ifindex == out_ifindex
                {
                    match horizon {
                        SplitHorizon::Simple => return None,
                        SplitHorizon::PoisonedReverse => advert.rte = route(METRIC_INFINITY),
                        // The gateway is on this link: listeners go to it
                        // directly (§2.1.1).
                        SplitHorizon::Off if e.state == RouteState::Active => {
                            advert.next_hop = Some(gateway)
                        }
                        SplitHorizon::Off => {}
                    }
                }
                Some(advert)
            });
        aggregates.chain(routes).collect()
    }

    /// Follows the table into the aggregates' state: an aggregate with a
    /// route inside is advertised (its smallest metric) and has an
    /// unreachable route in the kernel; one that lost its last route is
    /// announced once with 16 and its route removed.
    fn refresh_aggregates(&mut self) {
        for aggregate in self.config.aggregates.clone() {
            let metric = self
                .table
                .iter()
                .filter(|(p, e)| {
                    **p != aggregate && aggregate.contains(p) && e.state == RouteState::Active
                })
                .map(|(_, e)| e.metric)
                .min();
            let before = self.aggregates.get(&aggregate).and_then(|a| a.metric);
            if metric == before {
                continue;
            }
            let route = RouteSpec {
                owner: Owner::Ripng,
                table: self.config.table,
                dst: aggregate,
                kind: RouteType::Unreachable,
                gateway: None,
                ifindex: None,
                metric: self.config.kernel_metric,
                expires: None,
            };
            match (before, metric) {
                (None, Some(_)) => self
                    .output
                    .push_back(RipngOutput::Kernel(KernelOp::SetRoute(route))),
                (Some(_), None) => self
                    .output
                    .push_back(RipngOutput::Kernel(KernelOp::DelRoute(route))),
                _ => {}
            }
            self.aggregates.insert(
                aggregate,
                Aggregate {
                    metric,
                    changed: true,
                },
            );
        }
    }

    /// Multicasts `adverts(.., changed_only)` on every active interface
    /// that is up.
    fn send_updates(&mut self, changed_only: bool) {
        let targets: Vec<(IfIndex, Link)> = self
            .interfaces
            .values()
            .filter(|i| !i.config.passive)
            .filter_map(|i| i.link.map(|l| (i.config.ifindex, l)))
            .collect();
        for (ifindex, link) in targets {
            for payload in pack(self.adverts(ifindex, changed_only), link.mtu) {
                self.counters.responses_out += 1;
                self.output.push_back(RipngOutput::Transmit(multicast(
                    ifindex,
                    link.link_local,
                    payload,
                )));
            }
        }
        for entry in self.table.values_mut() {
            entry.changed = false;
        }
        // Withdrawn aggregates were announced (or had no one to hear).
        self.aggregates.retain(|_, a| a.metric.is_some());
        for a in self.aggregates.values_mut() {
            a.changed = false;
        }
    }

    fn regular_update(&mut self) {
        self.send_updates(false);
    }

    /// §2.5.1: changed entries go out now unless a hold-down runs, in
    /// which case `handle_timeout` sends them when it ends; a regular
    /// update due by then carries them instead.
    fn flush_triggered(&mut self, now: Instant) {
        self.refresh_aggregates();
        if !self.table.values().any(|e| e.changed) && !self.aggregates.values().any(|a| a.changed) {
            return;
        }
        if self.trigger_hold.is_some_and(|hold| now < hold) {
            return;
        }
        if self.next_update <= now {
            return; // handle_timeout's regular update is about to carry them
        }
        self.counters.triggered_updates += 1;
        self.send_updates(true);
        let t = self.config.timers;
        let hold = self.rng.duration_between(t.triggered_min, t.triggered_max);
        self.trigger_hold = Some(now + hold);
    }

    /// §2.3: the update interval offset by a uniform ±jitter.
    fn jittered_update(&mut self, now: Instant) -> Instant {
        let t = self.config.timers;
        let lo = t.update.saturating_sub(t.update_jitter);
        let hi = t.update + t.update_jitter;
        now + self
            .rng
            .duration_between(lo, hi)
            .max(std::time::Duration::from_millis(1))
    }
}

/// Whether `prefix` passes a filter: inside one of `filter`'s prefixes,
/// or the filter is empty. `::/0` in a filter is the default route only,
/// not every route (as route6d's `-L` and `-O` take it: "accept only the
/// default route" must be sayable; an empty filter already takes all).
fn accepted(filter: &[Prefix], prefix: &Prefix) -> bool {
    filter.is_empty()
        || filter.iter().any(|f| {
            if f.len() == 0 {
                prefix.len() == 0
            } else {
                f.contains(prefix)
            }
        })
}

/// §2.4.2 deletion process: metric 16, out of the kernel, garbage
/// collection timer started, announced in the next triggered update.
fn start_deletion(
    entry: &mut Entry,
    now: Instant,
    gc: std::time::Duration,
    output: &mut VecDeque<RipngOutput>,
) {
    entry.metric = METRIC_INFINITY;
    entry.state = RouteState::GarbageCollection;
    entry.expires = Some(now + gc);
    entry.changed = true;
    if let Some(spec) = entry.installed.take() {
        output.push_back(RipngOutput::Kernel(KernelOp::DelRoute(spec)));
    }
}

/// §2.4.2 "the prefix is valid": no bits set past the length, and the
/// whole prefix neither multicast (ff00::/8) nor link-local (fe80::/10),
/// nor the loopback or unspecified address as a host route.
fn valid_prefix(rte: &Rte) -> Result<Prefix, RteIgnored> {
    let prefix = Prefix::new(rte.prefix, rte.prefix_len).map_err(|_| RteIgnored::HostBitsSet)?;
    let special: [(Ipv6Addr, u8); 4] = [
        (Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0), 8),
        (Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10),
        (Ipv6Addr::LOCALHOST, 128),
        (Ipv6Addr::UNSPECIFIED, 128),
    ];
    let inside = special
        .iter()
        .any(|&(addr, len)| Prefix::new(addr, len).is_ok_and(|block| block.contains(&prefix)));
    if inside {
        return Err(RteIgnored::NotUnicastPrefix);
    }
    Ok(prefix)
}

/// An update to all-rip-routers on `ifindex` (§2.5).
fn multicast(ifindex: IfIndex, link_local: Ipv6Addr, payload: Vec<u8>) -> Transmit {
    Transmit {
        ifindex,
        src: Some(link_local),
        dst: ALL_RIP_ROUTERS,
        transport: Transport::Udp {
            src_port: RIPNG_PORT,
            dst_port: RIPNG_PORT,
        },
        hop_limit: Some(RIPNG_HOP_LIMIT),
        payload,
    }
}
