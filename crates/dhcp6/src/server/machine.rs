//! The server machine: inputs, the pipeline, outputs. See the module docs
//! of [`crate::server`] for the RFC sections, link selection and the method
//! grammar.
//!
//! Panic contract: no method panics on any input; indices into the
//! configuration come from `position`, instant arithmetic saturates, the
//! replay counter saturates.

use super::alloc::{self, Bindings, Freed, Reservations, Who};
use super::lease::{Lease, LeaseOp, LinkId};
use super::pipeline::{self, Answer, Encoded, Inbound, Unicast};
use super::policy::{Batch, Ctx, IaType, Policy, ias_of, route_of};
use super::reconf::{self, REC_MAX_RC, ReconfigureContext};
use super::{
    DropReason, LeaseEvent, LinkSelector, MAX_DATAGRAM, PoolUsage, ServerConfig, ServerCounters,
    ServerOutput, ServerStatus,
};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::Ipv6Addr;
use std::sync::Arc;
use tracing::{debug, info, warn};
use v6edge_core::{
    DHCP6_CLIENT_PORT, DHCP6_SERVER_PORT, Instant, KernelOp, Received, Transmit, Transport,
};
use v6edge_wire::dhcp6::{
    ClientMessage, Duid, Message, MessageType, OptionCode, Status, StatusCode,
};

mod shared;

/// The DHCPv6 server of a delegating router. A clone is an independent
/// machine in the same state (a test or fuzz harness builds a configured,
/// populated server once and clones it per case).
#[derive(Debug, Clone)]
pub struct Server {
    config: ServerConfig,
    stateless: Encoded,
    bindings: Bindings,
    out: VecDeque<ServerOutput>,
    counters: ServerCounters,
    rc: Reconf,
}

/// A reconfigure key and the replay detection value to send it with.
type ReplyKey = ([u8; 16], u64);

/// Reconfigure bookkeeping (RFC 8415 §18.3.11, §20.3).
#[derive(Debug, Clone, Default)]
struct Reconf {
    /// The next RDM 0 replay detection value: only ever grows, from
    /// `max(floor, last stored + 1)`.
    next_rd: u64,
    /// Keys derived so far, part of each derivation's input.
    keys_issued: u64,
    /// Clients being reconfigured: transmissions so far and the next
    /// deadline, mirrored in `schedule` for `poll_timeout`.
    pending: BTreeMap<Duid, (u8, Instant)>,
    schedule: BTreeSet<(Instant, Duid)>,
}

impl Reconf {
    fn raise_floor(&mut self, config: &ServerConfig) {
        if let Some(a) = &config.reconfigure {
            self.next_rd = self.next_rd.max(a.replay_floor);
        }
    }

    fn take_rd(&mut self) -> u64 {
        let v = self.next_rd;
        self.next_rd = self.next_rd.saturating_add(1);
        v
    }

    fn cancel(&mut self, duid: &Duid) -> bool {
        match self.pending.remove(duid) {
            Some((_, at)) => {
                self.schedule.remove(&(at, duid.clone()));
                true
            }
            None => false,
        }
    }

    fn set(&mut self, duid: &Duid, attempts: u8, at: Instant) {
        self.cancel(duid);
        self.pending.insert(duid.clone(), (attempts, at));
        self.schedule.insert((at, duid.clone()));
    }
}

fn build(config: &ServerConfig, seed: u64) -> (Bindings, Encoded) {
    let built = alloc::build_pools(&config.links);
    for e in &built.errors {
        warn!(error = %e, "dhcp6 server: pool skipped");
    }
    let reservations = Reservations::build(&config.reservations, &built.pools);
    for e in &reservations.errors {
        warn!(error = %e, "dhcp6 server: reservation entry skipped");
    }
    let bindings = Bindings::new(seed, built.pools, reservations, config.last_lease_memory);
    (bindings, Encoded::new(&config.options))
}

impl Server {
    /// A server with no leases.
    pub fn new(config: ServerConfig, seed: u64, now: Instant) -> Server {
        let (bindings, stateless) = build(&config, seed);
        debug!(links = config.links.len(), pools = bindings.pools.len(), at = ?now, "dhcp6 server created");
        let mut rc = Reconf::default();
        rc.raise_floor(&config);
        Server {
            config,
            stateless,
            bindings,
            out: VecDeque::new(),
            counters: ServerCounters::default(),
            rc,
        }
    }

    /// Warm start from the store (style guide §3 "Restart is explicit"):
    /// expired leases are removed (`LeaseOp::Remove`), live ones adopted and
    /// their routes set again (`KernelOp::SetRoute`). A lease overlapping
    /// one adopted before it is removed too, so nothing is held twice.
    /// Leases that no longer fit the configuration are kept as revoked:
    /// lifetimes 0 at the client's next Renew or Rebind, and a Reconfigure
    /// to each of their clients that holds a reconfigure key. The replay
    /// counter continues above every value stored with the leases.
    pub fn restore(config: ServerConfig, leases: Vec<Lease>, seed: u64, now: Instant) -> Server {
        let mut s = Server::new(config, seed, now);
        let mut batch = Batch::default();
        let (mut adopted, mut dropped) = (0usize, 0usize);
        let mut revoked_clients = BTreeSet::new();
        for lease in leases {
            if let Some(c) = &lease.reconfigure {
                s.rc.next_rd = s.rc.next_rd.max(c.last_rd.saturating_add(1));
            }
            if lease.valid_until <= now || !s.bindings.adopt(lease.clone()) {
                // Removing an overlapping lease with the same key would
                // remove the adopted one: that key is already correct.
                if s.bindings.get(&lease.prefix).is_none() {
                    batch.leases.push(LeaseOp::Remove {
                        kind: lease.kind,
                        prefix: lease.prefix,
                    });
                }
                dropped += 1;
                continue;
            }
            adopted += 1;
            if lease.reconfigure.is_some()
                && s.bindings.get(&lease.prefix).is_some_and(|e| e.revoked())
            {
                revoked_clients.insert(lease.duid.clone());
            }
            if let Some(r) = route_of(&lease, now) {
                batch.kernel.push(KernelOp::SetRoute(r));
            }
        }
        info!(
            adopted,
            dropped,
            revoked = s.bindings.revoked_count(),
            "dhcp6 server restored"
        );
        s.start_reconfigures(now, &revoked_clients);
        s.flush(batch);
        s
    }

    // ----------------------------------------------------------- getters --

    /// The earliest lease expiry, end of a decline probation or
    /// Reconfigure retransmission.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let a = self.bindings.next_deadline();
        let b = self.rc.schedule.first().map(|(t, _)| *t);
        match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Clients with a Reconfigure in flight (sent, not yet answered).
    pub fn reconfigures_pending(&self) -> usize {
        self.rc.pending.len()
    }

    pub fn leases(&self) -> impl Iterator<Item = &Lease> {
        self.bindings.leases()
    }

    pub fn counters(&self) -> &ServerCounters {
        &self.counters
    }

    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    pub fn status(&self) -> ServerStatus {
        let pools = self
            .bindings
            .pools
            .iter()
            .map(|p| PoolUsage {
                link: self
                    .config
                    .links
                    .get(p.link)
                    .map_or(LinkSelector::Interface(0), |l| l.id.clone()),
                kind: p.kind(),
                pool: p.name(),
                capacity: p.capacity(),
                used: p.used(),
            })
            .collect();
        ServerStatus {
            leases: self.bindings.len(),
            revoked: self.bindings.revoked_count(),
            declined: self.bindings.declined_count(),
            pools,
            counters: self.counters.clone(),
        }
    }

    // ------------------------------------------------------------ output --

    pub fn poll_output(&mut self) -> Option<ServerOutput> {
        self.out.pop_front()
    }

    /// Queues one input's outputs in the contract's order.
    fn flush(&mut self, b: Batch) {
        self.out
            .extend(b.leases.into_iter().map(ServerOutput::Lease));
        self.out.extend(b.transmit.map(ServerOutput::Transmit));
        self.out
            .extend(b.kernel.into_iter().map(ServerOutput::Kernel));
        self.out
            .extend(b.notices.into_iter().map(ServerOutput::Notice));
    }

    // ------------------------------------------------------------- input --

    /// Lease expiry, the end of decline probations and Reconfigure
    /// retransmissions. Calls before the deadline do nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        let mut batch = Batch::default();
        self.expire(now, &mut batch);
        while let Some((at, duid)) = self.rc.schedule.first().cloned() {
            if at > now {
                break;
            }
            self.retransmit(now, &duid);
        }
        self.flush(batch);
    }

    // ------------------------------------------------------- reconfigure --

    /// The client's Reconfigure context: the one sent with its latest key
    /// Reply, among its leases.
    fn client_context(&self, duid: &Duid) -> Option<Arc<ReconfigureContext>> {
        let leases = self.bindings.client_leases(duid);
        let contexts = leases
            .iter()
            .filter_map(|p| self.bindings.get(p)?.lease.reconfigure.as_ref());
        reconf::freshest(contexts).cloned()
    }

    fn has_revoked(&self, duid: &Duid) -> bool {
        self.bindings
            .client_leases(duid)
            .iter()
            .any(|p| self.bindings.get(p).is_some_and(|e| e.revoked()))
    }

    /// The context a message answered with leases leaves behind: the kept
    /// (or a new) key and this message's path when it carries Reconfigure
    /// Accept, none otherwise (RFC 8415 §21.20: no option, no Reconfigure).
    /// Also the key and replay value for the Reply.
    fn context_for(
        &mut self,
        rx: &Received<'_>,
        inbound: &Inbound<'_>,
        duid: &Duid,
        existing: Option<&Arc<ReconfigureContext>>,
    ) -> (Option<Arc<ReconfigureContext>>, Option<ReplyKey>) {
        if !inbound.msg.options.has_reconfigure_accept() {
            return (None, None);
        }
        let key = match existing {
            Some(c) => c.key,
            None => {
                // RFC 8415 §20.4.2: one key per client, made when it is
                // first given, from the daemon's secret.
                let Some(auth) = &self.config.reconfigure else {
                    return (None, None);
                };
                let mut input = Vec::with_capacity(16 + duid.as_bytes().len());
                input.extend_from_slice(&self.rc.next_rd.to_be_bytes());
                input.extend_from_slice(&self.rc.keys_issued.to_be_bytes());
                input.extend_from_slice(duid.as_bytes());
                self.rc.keys_issued = self.rc.keys_issued.wrapping_add(1);
                info!(duid = %duid, "reconfigure key made for client");
                crate::rkap::derive_key(&auth.secret, &input)
            }
        };
        let rd = self.rc.take_rd();
        let ctx = ReconfigureContext {
            key,
            last_rd: rd,
            path: reconf::path_of(rx.ifindex, rx.src, &inbound.relays),
        };
        (Some(Arc::new(ctx)), Some((key, rd)))
    }

    /// One signed Reconfigure to `duid` along its context, counted.
    fn send_reconfigure(&mut self, duid: &Duid, ctx: &ReconfigureContext) -> Option<Transmit> {
        let rd = self.rc.take_rd();
        let t = reconf::transmit(&self.config.duid, duid, ctx, rd)?;
        *self
            .counters
            .sent
            .entry(u8::from(MessageType::Reconfigure))
            .or_insert(0) += 1;
        Some(t)
    }

    /// RFC 8415 §18.3.11: a Reconfigure now to each of these clients that
    /// has a context and a revoked lease, then retransmissions. Callers
    /// queue these ahead of their input's LeaseOps: a Reconfigure
    /// acknowledges no lease, so nothing must be durable before it leaves
    /// (the key went out with a committed lease).
    fn start_reconfigures(&mut self, now: Instant, clients: &BTreeSet<Duid>) {
        let mut sends = Vec::new();
        for duid in clients {
            let Some(ctx) = self.client_context(duid) else {
                continue;
            };
            if !self.has_revoked(duid) {
                continue;
            }
            if let Some(t) = self.send_reconfigure(duid, &ctx) {
                info!(duid = %duid, to = %t.dst, "Reconfigure (Renew) sent for revoked leases");
                sends.push(t);
                self.rc.set(duid, 1, now + reconf::wait_after(1));
            }
        }
        self.out
            .extend(sends.into_iter().map(ServerOutput::Transmit));
    }

    /// A retransmission deadline of `duid` has come: send again, or stop.
    fn retransmit(&mut self, now: Instant, duid: &Duid) {
        let Some(&(attempts, _)) = self.rc.pending.get(duid) else {
            // Only pending clients are scheduled; drop a stray entry.
            self.rc.schedule.retain(|(_, d)| d != duid);
            return;
        };
        self.rc.cancel(duid);
        let ctx = self.client_context(duid);
        let Some(ctx) = ctx.filter(|_| self.has_revoked(duid)) else {
            debug!(duid = %duid, "Reconfigure no longer needed: no revoked lease or no key");
            return;
        };
        if attempts >= REC_MAX_RC {
            // RFC 8415 §18.3.11: after REC_MAX_RC attempts, give up; the
            // client learns at its next Renew or Rebind.
            info!(duid = %duid, attempts, "Reconfigure unanswered; given up");
            return;
        }
        if let Some(t) = self.send_reconfigure(duid, &ctx) {
            debug!(duid = %duid, attempt = attempts + 1, "Reconfigure retransmitted");
            self.out.push_back(ServerOutput::Transmit(t));
            let attempts = attempts + 1;
            self.rc
                .set(duid, attempts, now + reconf::wait_after(attempts));
        }
    }

    fn expire(&mut self, now: Instant, batch: &mut Batch) {
        let mut policy = Policy {
            b: &mut self.bindings,
            cfg: &self.config,
            out: batch,
            counters: &mut self.counters,
        };
        while let Some(p) = policy.b.next_expired(now) {
            policy.end(&p, Freed::Release, LeaseEvent::Expired);
        }
        policy.b.end_probations(now);
    }

    /// SIGHUP: new pools, reservations and options. Leases that still fit
    /// a pool (or their owner's reservation) are kept; the others are
    /// revoked: kept, routed and fenced off until the client's next Renew
    /// or Rebind returns them with lifetimes 0, or they expire.
    pub fn reconfigure(&mut self, now: Instant, config: ServerConfig) {
        let mut batch = Batch::default();
        self.expire(now, &mut batch);
        let built = alloc::build_pools(&config.links);
        for e in &built.errors {
            warn!(error = %e, "dhcp6 server: pool skipped");
        }
        let reservations = Reservations::build(&config.reservations, &built.pools);
        for e in &reservations.errors {
            warn!(error = %e, "dhcp6 server: reservation entry skipped");
        }
        let newly = self
            .bindings
            .rebuild(built.pools, reservations, config.last_lease_memory);
        self.stateless = Encoded::new(&config.options);
        self.rc.raise_floor(&config);
        self.config = config;
        info!(
            leases = self.bindings.len(),
            revoked = self.bindings.revoked_count(),
            newly_revoked = newly.len(),
            "dhcp6 server reconfigured"
        );
        let clients: BTreeSet<Duid> = newly
            .iter()
            .filter_map(|p| self.bindings.get(p))
            .filter(|e| e.lease.reconfigure.is_some())
            .map(|e| e.lease.duid.clone())
            .collect();
        self.start_reconfigures(now, &clients);
        self.flush(batch);
    }

    fn drop_msg(&mut self, reason: DropReason, msg: Option<&ClientMessage>, why: &str) {
        *self.counters.dropped.entry(reason).or_insert(0) += 1;
        match msg {
            Some(m) => {
                debug!(?reason, msg = ?m.msg_type, xid = %m.xid, why, "dhcp6 server dropped a message")
            }
            None => debug!(?reason, why, "dhcp6 server dropped a datagram"),
        }
    }

    /// The configured link serving this message (module docs).
    fn select_link(&self, rx: &Received<'_>, inbound: &Inbound<'_>) -> Option<(usize, LinkId)> {
        let links = &self.config.links;
        let Some(closest) = inbound.relays.last() else {
            let i = links
                .iter()
                .position(|l| l.id == LinkSelector::Interface(rx.ifindex))?;
            return Some((i, LinkId::Interface(rx.ifindex)));
        };
        let la = closest.link_address;
        let id = LinkId::Relay { link_address: la };
        if !la.is_unspecified() && !la.is_unicast_link_local() {
            let i = links.iter().position(
                |l| matches!(&l.id, LinkSelector::RelayLinkAddress(p) if p.contains_addr(la)),
            )?;
            return Some((i, id));
        }
        let iface = closest.options.interface_id()?;
        let i = links.iter().position(
            |l| matches!(&l.id, LinkSelector::RelayInterfaceId(x) if x.as_slice() == iface),
        )?;
        Some((i, id))
    }

    /// A datagram for the server socket. Never fails: anything unusable is
    /// counted under a [`DropReason`] and ignored.
    pub fn handle_packet(&mut self, now: Instant, rx: &Received<'_>) {
        // Leases due by now are gone before anything is decided on them.
        let mut batch = Batch::default();
        self.expire(now, &mut batch);

        // Stage 1: decode and unwrap relays. A codec error is never
        // answered (Kea answers a Solicit with a truncated IA_PD).
        let msg = match Message::parse(rx.bytes) {
            Ok(m) => m,
            Err(e) => {
                debug!(error = %e, "DHCPv6 decode failed");
                self.drop_msg(DropReason::Parse, None, "undecodable");
                self.flush(batch);
                return;
            }
        };
        let inbound = match pipeline::unwrap(&msg) {
            Ok(i) => i,
            Err(reason) => {
                self.drop_msg(reason, None, "relay layer without a client message");
                self.flush(batch);
                return;
            }
        };
        let m = inbound.msg;
        *self
            .counters
            .received
            .entry(u8::from(m.msg_type))
            .or_insert(0) += 1;
        if !inbound.relays.is_empty() {
            self.counters.relayed += 1;
        }
        self.process(now, rx, &inbound, &mut batch);
        self.flush(batch);
    }

    fn process(
        &mut self,
        now: Instant,
        rx: &Received<'_>,
        inbound: &Inbound<'_>,
        batch: &mut Batch,
    ) {
        let m = inbound.msg;
        // Stage 2: RFC 8415 §16.
        if let Err(reason) = pipeline::validate(m, &self.config.duid) {
            self.drop_msg(reason, Some(m), "failed RFC 8415 §16 validation");
            return;
        }
        // RFC 8415 §18.3.11: a Renew, Rebind or Information-request from the
        // client satisfies the Reconfigure.
        if matches!(
            m.msg_type,
            MessageType::Renew | MessageType::Rebind | MessageType::InformationRequest
        ) && let Some(d) = m.options.client_id()
            && self.rc.cancel(d)
        {
            info!(duid = %d, msg = ?m.msg_type, "Reconfigure answered");
        }
        // Stage 3: unicast straight to us.
        if inbound.relays.is_empty() && !rx.dst.is_multicast() {
            match pipeline::unicast(m.msg_type, self.config.unicast) {
                Unicast::Accept => {}
                Unicast::Discard => {
                    self.drop_msg(DropReason::UnicastNotAllowed, Some(m), "must be multicast");
                    return;
                }
                Unicast::UseMulticast => {
                    self.counters.use_multicast += 1;
                    let mut a = Answer::new(MessageType::Reply);
                    a.status = Some(Status::new(StatusCode::UseMulticast, "send to ff02::1:2"));
                    a.stateless = false;
                    self.answer(rx, inbound, &a, batch);
                    return;
                }
            }
        }
        if m.msg_type == MessageType::InformationRequest {
            // §18.3.6: configuration only; no link needed.
            self.answer(rx, inbound, &Answer::new(MessageType::Reply), batch);
            return;
        }
        // Stage 4: link and client.
        let Some((link, link_id)) = self.select_link(rx, inbound) else {
            self.drop_msg(
                DropReason::UnknownLink,
                Some(m),
                "no configured link matches",
            );
            return;
        };
        let Some(duid) = m.options.client_id() else {
            // validate() checked it; kept total rather than unwrapped.
            self.drop_msg(DropReason::NoClientId, Some(m), "no client id");
            return;
        };
        // RFC 6939: the relay closest to the client adds its link-layer
        // address; for direct clients a DUID-LL/LLT carries one. Only the
        // relay's is recorded in the lease (the DUID is recorded anyway).
        let relay_hw = inbound
            .relays
            .last()
            .and_then(|r| r.options.client_link_layer_address().map(|(_, a)| a));
        let hw = relay_hw.or_else(|| duid.link_layer_address());
        let reservation = if self.bindings.reservations.is_empty() {
            None
        } else {
            self.bindings.reservations.find(duid, hw)
        };
        let who = Who {
            duid,
            hw,
            relay_hw,
            reservation,
            wants_exclude: m.options.requests(OptionCode::PdExclude),
        };
        // Messages answered with leases renew the Reconfigure context.
        let binding = match m.msg_type {
            MessageType::Solicit => self.config.rapid_commit && m.options.has_rapid_commit(),
            MessageType::Request | MessageType::Renew | MessageType::Rebind => true,
            _ => false,
        };
        let existing = self.client_context(duid);
        let (reconfigure, key_rd) = if binding {
            self.context_for(rx, inbound, duid, existing.as_ref())
        } else {
            (existing, None)
        };
        let ctx = Ctx {
            now,
            link,
            link_id,
            next_hop: rx.src,
            ifindex: rx.ifindex,
            who,
            reconfigure,
        };

        // Stage 5: the decisions.
        let ias = ias_of(m);
        let mut policy = Policy {
            b: &mut self.bindings,
            cfg: &self.config,
            out: batch,
            counters: &mut self.counters,
        };
        let mut answer = match m.msg_type {
            MessageType::Solicit => {
                // §18.3.1: Rapid Commit when both sides want it.
                let rapid = self.config.rapid_commit && m.options.has_rapid_commit();
                let mut a = Answer::new(if rapid {
                    MessageType::Reply
                } else {
                    MessageType::Advertise
                });
                a.rapid_commit = rapid;
                a.preference = self.config.preference;
                a.ias = policy.assign(&ctx, &ias, rapid, false);
                a
            }
            MessageType::Request => {
                let mut a = Answer::new(MessageType::Reply);
                a.ias = policy.assign(&ctx, &ias, true, true);
                a
            }
            MessageType::Renew | MessageType::Rebind => {
                let rebind = m.msg_type == MessageType::Rebind;
                let mut a = Answer::new(MessageType::Reply);
                a.ias = ias
                    .iter()
                    .filter_map(|ia| policy.refresh(&ctx, ia, rebind))
                    .collect();
                if rebind && a.ias.is_empty() {
                    // §18.3.5: nothing known, nothing to say: no Reply.
                    self.drop_msg(
                        DropReason::RebindUnknown,
                        Some(m),
                        "no binding and nothing to judge",
                    );
                    return;
                }
                a
            }
            MessageType::Release | MessageType::Decline => {
                let decline = m.msg_type == MessageType::Decline;
                let mut a = Answer::new(MessageType::Reply);
                a.ias = policy.give_back(&ctx, &ias, decline);
                // §18.3.7/§18.3.8: Success at top level, NoBinding per IA.
                a.status = Some(Status::new(StatusCode::Success, ""));
                a
            }
            MessageType::Confirm => {
                // §18.3.3: every address must be on the client's link; no
                // addresses, or no address pools to judge by: no Reply.
                let addrs: Vec<Ipv6Addr> = ias
                    .iter()
                    .filter(|ia| ia.ty != IaType::Pd)
                    .flat_map(|ia| ia.listed.iter().map(|&(a, _)| a))
                    .collect();
                if addrs.is_empty() || !policy.b.address_pool_on(link) {
                    self.drop_msg(
                        DropReason::ConfirmUndecidable,
                        Some(m),
                        "cannot judge the addresses",
                    );
                    return;
                }
                let on_link = addrs.iter().all(|&a| policy.b.address_on_link(a, link));
                let mut a = Answer::new(MessageType::Reply);
                a.status = Some(if on_link {
                    Status::new(StatusCode::Success, "")
                } else {
                    Status::new(StatusCode::NotOnLink, "not on this link")
                });
                a
            }
            _ => {
                // validate() admits no other type.
                self.drop_msg(DropReason::NotForServer, Some(m), "not a client message");
                return;
            }
        };
        if binding {
            policy.sync_context(&ctx);
            // RFC 8415 §20.4.2 names the Request, Solicit (Rapid Commit) and
            // Information-request exchanges for handing out the key.
            // Deviation: every Reply with leases to a client that sent
            // Reconfigure Accept carries it, Renew and Rebind included, so a
            // client that lost its key in a restart gets the same one back
            // without starting over.
            if answer.ias.iter().any(|ia| ia.has_valid()) {
                answer.reconfigure_key = key_rd;
            }
        }
        self.answer(rx, inbound, &answer, batch);
    }

    /// Stage 6: build, wrap and queue the answer.
    fn answer(&mut self, rx: &Received<'_>, inbound: &Inbound<'_>, a: &Answer, batch: &mut Batch) {
        let reply = pipeline::build_reply(
            inbound.msg,
            &self.config.duid,
            a,
            &self.stateless,
            self.config.t1_ratio,
            self.config.t2_ratio,
        );
        let (dst_port, message) = if inbound.relays.is_empty() {
            (DHCP6_CLIENT_PORT, Message::Client(reply))
        } else {
            (DHCP6_SERVER_PORT, pipeline::wrap(reply, &inbound.relays))
        };
        // An answer to thousands of IAs outgrows a datagram, and once
        // relayed the 16-bit length of the Relay Message option (RFC 8415
        // §21.10), which the codec refuses to emit: send nothing, as if
        // the answer were lost. What it committed stays committed; the
        // client's retransmission finds the same bindings.
        if message.buffer_len() > MAX_DATAGRAM {
            self.drop_msg(
                DropReason::AnswerTooLarge,
                Some(inbound.msg),
                "answer larger than a UDP datagram",
            );
            return;
        }
        *self.counters.sent.entry(u8::from(a.msg_type)).or_insert(0) += 1;
        let payload = message.to_bytes();
        batch.transmit = Some(Transmit {
            ifindex: rx.ifindex,
            src: None,
            dst: rx.src,
            transport: Transport::Udp {
                src_port: DHCP6_SERVER_PORT,
                dst_port,
            },
            hop_limit: None,
            payload,
        });
    }
}
