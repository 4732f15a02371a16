//! What the server answers for each IA of each message type (RFC 8415
//! §18.3.1–§18.3.8), and the lease and route changes that go with it.
//!
//! Each function reads the IAs of one validated client message, changes
//! the binding table, queues the LeaseOps, KernelOps and notices in the
//! [`Batch`], and returns the IAs (and top-level status) of the answer.
//!
//! Panic contract: nothing here panics; lifetimes are capped below
//! infinity and instant arithmetic saturates.

use super::alloc::{Bindings, Freed, Hints, Placement, Who};
use super::lease::{Lease, LeaseKind, LeaseOp, LinkId};
use super::reconf::ReconfigureContext;
use super::{LeaseEvent, ServerConfig, ServerCounters, ServerNotice};
use std::net::Ipv6Addr;
use std::sync::Arc;
use std::time::Duration;
use tracing::{debug, info};
use v6edge_core::{IfIndex, Instant, KernelOp, Owner, RouteSpec, RouteTable, RouteType, Transmit};
use v6edge_prefix::Prefix;
use v6edge_wire::Lifetime;
use v6edge_wire::dhcp6::{ClientMessage, DhcpOption, Status, StatusCode};

/// Route metric for delegated prefixes (the kernel's default for IPv6).
pub(crate) const ROUTE_METRIC: u32 = 1024;

/// The longest lifetime handed out: one below "infinite" (contract).
const MAX_LIFETIME_SECS: u64 = (u32::MAX - 1) as u64;

/// Outputs of one input, released in contract order.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    pub leases: Vec<LeaseOp>,
    pub transmit: Option<Transmit>,
    pub kernel: Vec<KernelOp>,
    pub notices: Vec<ServerNotice>,
}

/// Where and for whom a message is being answered.
#[derive(Debug, Clone)]
pub(crate) struct Ctx<'a> {
    pub now: Instant,
    /// Index of the serving link in the configuration.
    pub link: usize,
    pub link_id: LinkId,
    /// The client's source address, or the relay's for relayed clients:
    /// the gateway of routes to delegated prefixes.
    pub next_hop: Ipv6Addr,
    pub ifindex: IfIndex,
    pub who: Who<'a>,
    /// The client's Reconfigure context as of this message, written into
    /// every lease granted or extended (RFC 8415 §20.4.2).
    pub reconfigure: Option<Arc<ReconfigureContext>>,
}

/// Which IA option an answer IA is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IaType {
    Na,
    Ta,
    Pd,
}

impl IaType {
    fn kind(self) -> LeaseKind {
        match self {
            IaType::Pd => LeaseKind::Prefix,
            IaType::Na | IaType::Ta => LeaseKind::Address,
        }
    }

    fn none_available(self) -> Status {
        match self {
            IaType::Pd => Status::new(StatusCode::NoPrefixAvail, "no prefixes available"),
            IaType::Na | IaType::Ta => {
                Status::new(StatusCode::NoAddrsAvail, "no addresses available")
            }
        }
    }
}

/// One address or prefix in an answer IA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LeaseOut {
    pub addr: Ipv6Addr,
    pub len: u8,
    pub preferred: Lifetime,
    pub valid: Lifetime,
    /// RFC 6603 excluded prefix.
    pub exclude: Option<Prefix>,
}

/// One IA of an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IaOut {
    pub ty: IaType,
    pub iaid: u32,
    pub leases: Vec<LeaseOut>,
    pub status: Option<Status>,
}

impl IaOut {
    fn new(ty: IaType, iaid: u32) -> IaOut {
        IaOut {
            ty,
            iaid,
            leases: Vec::new(),
            status: None,
        }
    }

    fn with_status(ty: IaType, iaid: u32, status: Status) -> IaOut {
        IaOut {
            ty,
            iaid,
            leases: Vec::new(),
            status: Some(status),
        }
    }

    fn zero(&mut self, addr: Ipv6Addr, len: u8) {
        self.leases.push(LeaseOut {
            addr,
            len,
            preferred: Lifetime::ZERO,
            valid: Lifetime::ZERO,
            exclude: None,
        });
    }

    pub(crate) fn has_valid(&self) -> bool {
        self.leases.iter().any(|l| !l.valid.is_zero())
    }
}

/// An IA as the client sent it: its leases as (address, length) pairs.
#[derive(Debug, Clone)]
pub(crate) struct IaIn {
    pub ty: IaType,
    pub iaid: u32,
    /// Addresses as /128; prefixes as sent (host bits possibly set), `::`
    /// entries left out.
    pub listed: Vec<(Ipv6Addr, u8)>,
    /// A `::/len` length hint.
    pub len_hint: Option<u8>,
}

impl IaIn {
    fn hints(&self) -> Hints {
        Hints {
            exact: self
                .listed
                .iter()
                .filter_map(|&(a, l)| Prefix::new(a, l).ok())
                .collect(),
            len: self.len_hint,
        }
    }
}

/// The IAs of a client message, in order.
pub(crate) fn ias_of(m: &ClientMessage) -> Vec<IaIn> {
    let mut out = Vec::new();
    for o in m.options.iter() {
        match o {
            DhcpOption::IaNa(ia) => out.push(IaIn {
                ty: IaType::Na,
                iaid: ia.iaid,
                listed: ia
                    .addresses()
                    .filter(|a| !a.addr.is_unspecified())
                    .map(|a| (a.addr, 128))
                    .collect(),
                len_hint: None,
            }),
            DhcpOption::IaTa(ia) => out.push(IaIn {
                ty: IaType::Ta,
                iaid: ia.iaid,
                listed: ia
                    .addresses()
                    .filter(|a| !a.addr.is_unspecified())
                    .map(|a| (a.addr, 128))
                    .collect(),
                len_hint: None,
            }),
            DhcpOption::IaPd(ia) => {
                let mut listed = Vec::new();
                let mut len_hint = None;
                for p in ia.prefixes() {
                    if p.prefix.is_unspecified() {
                        if p.prefix_len != 0 {
                            len_hint = len_hint.or(Some(p.prefix_len));
                        }
                    } else {
                        listed.push((p.prefix, p.prefix_len));
                    }
                }
                out.push(IaIn {
                    ty: IaType::Pd,
                    iaid: ia.iaid,
                    listed,
                    len_hint,
                });
            }
            _ => {}
        }
    }
    out
}

fn capped(d: Duration) -> Duration {
    Duration::from_secs(d.as_secs().min(MAX_LIFETIME_SECS))
}

fn lifetime(d: Duration) -> Lifetime {
    Lifetime::from_secs(d.as_secs())
}

/// RFC 8415 §21.4/§21.21: T1 and T2 as fractions of the shortest preferred
/// lifetime among the IA's live leases; 0/0 (client's choice) when none.
pub(crate) fn timers(ia: &IaOut, t1_ratio: f64, t2_ratio: f64) -> (u32, u32) {
    let shortest = ia
        .leases
        .iter()
        .filter(|l| !l.valid.is_zero())
        .map(|l| l.preferred.to_wire())
        .min();
    match shortest {
        None => (0, 0),
        Some(p) => {
            let t1 = (f64::from(p) * t1_ratio) as u32;
            let t2 = ((f64::from(p) * t2_ratio) as u32).max(t1);
            (t1, t2)
        }
    }
}

/// The route to a delegated prefix.
pub(crate) fn route_of(lease: &Lease, now: Instant) -> Option<RouteSpec> {
    if lease.kind != LeaseKind::Prefix {
        return None;
    }
    Some(RouteSpec {
        owner: Owner::DelegatingServer,
        table: RouteTable::MAIN,
        dst: lease.prefix,
        kind: RouteType::Unicast,
        gateway: Some(lease.next_hop?),
        ifindex: Some(lease.ifindex),
        metric: ROUTE_METRIC,
        expires: Some(lease.valid_until.saturating_duration_since(now)),
    })
}

/// The per-message decisions, over the binding table.
pub(crate) struct Policy<'s> {
    pub b: &'s mut Bindings,
    pub cfg: &'s ServerConfig,
    pub out: &'s mut Batch,
    pub counters: &'s mut ServerCounters,
}

/// A tentative allocation in an Advertise, undone after answering.
type Tentative = super::alloc::Taken;

impl Policy<'_> {
    fn notice(&mut self, event: LeaseEvent, lease: &Lease) {
        match event {
            LeaseEvent::Granted => self.counters.leases_granted += 1,
            LeaseEvent::Renewed => self.counters.leases_renewed += 1,
            LeaseEvent::Released => self.counters.leases_released += 1,
            LeaseEvent::Declined => self.counters.leases_declined += 1,
            LeaseEvent::Expired => self.counters.leases_expired += 1,
            LeaseEvent::Revoked => self.counters.leases_revoked += 1,
        }
        self.out.notices.push(ServerNotice {
            event,
            duid: lease.duid.clone(),
            iaid: lease.iaid,
            kind: lease.kind,
            prefix: lease.prefix,
        });
    }

    /// Lifetimes and exclude of `p` as given out from its pool at `now` (a
    /// lease fits a pool unless revoked, and revoked ones are never
    /// extended). A pool with absolute ends never gives past them.
    fn terms(
        &self,
        p: &Prefix,
        who: &Who<'_>,
        now: Instant,
    ) -> (Duration, Duration, Option<Prefix>) {
        match self.b.pool_of(p).and_then(|i| self.b.pools.get(i)) {
            Some(pool) => {
                let exclude = pool
                    .exclude_first
                    .filter(|_| who.wants_exclude)
                    .and_then(|n| p.subnet(n, 0));
                let (mut preferred, mut valid) = (capped(pool.preferred), capped(pool.valid));
                if let Some(ends) = pool.ends {
                    valid = valid.min(ends.valid_until.saturating_duration_since(now));
                    preferred = preferred.min(ends.preferred_until.saturating_duration_since(now));
                }
                (preferred.min(valid), valid, exclude)
            }
            None => (Duration::ZERO, Duration::ZERO, None),
        }
    }

    fn lease_out(&self, p: &Prefix, who: &Who<'_>, now: Instant) -> LeaseOut {
        let (preferred, valid, exclude) = self.terms(p, who, now);
        LeaseOut {
            addr: p.addr(),
            len: p.len(),
            preferred: lifetime(preferred),
            valid: lifetime(valid),
            exclude,
        }
    }

    /// Commits a new lease on `p` (space already taken as `place`).
    fn grant(
        &mut self,
        ctx: &Ctx<'_>,
        iaid: u32,
        kind: LeaseKind,
        p: Prefix,
        place: Placement,
    ) -> LeaseOut {
        let (preferred, valid, _) = self.terms(&p, &ctx.who, ctx.now);
        let lease = Lease {
            duid: ctx.who.duid.clone(),
            iaid,
            kind,
            prefix: p,
            preferred_until: ctx.now + preferred,
            valid_until: ctx.now + valid,
            link: ctx.link_id,
            next_hop: (kind == LeaseKind::Prefix).then_some(ctx.next_hop),
            ifindex: ctx.ifindex,
            hw_addr: ctx.who.relay_hw.map(<[u8]>::to_vec),
            reconfigure: ctx.reconfigure.clone(),
        };
        info!(duid = %lease.duid, iaid, prefix = %p, "lease granted");
        self.commit(&lease, ctx.now);
        self.notice(LeaseEvent::Granted, &lease);
        self.b.insert(lease, place);
        self.lease_out(&p, &ctx.who, ctx.now)
    }

    /// Upsert then route: the contract's order within one input.
    fn commit(&mut self, lease: &Lease, now: Instant) {
        self.out.leases.push(LeaseOp::Upsert(lease.clone()));
        if let Some(r) = route_of(lease, now) {
            self.out.kernel.push(KernelOp::SetRoute(r));
        }
    }

    /// The counter of the cap a new lease for this client would break
    /// (`max_leases_per_link`, `max_leases_per_link_layer_address`), if any.
    fn over_cap(&mut self, ctx: &Ctx<'_>) -> Option<&mut u64> {
        if let Some(cap) = self.cfg.max_leases_per_link
            && self.b.leases_on_link(&ctx.link_id) >= cap
        {
            return Some(&mut self.counters.refused_link_cap);
        }
        if let Some(cap) = self.cfg.max_leases_per_link_layer_address
            && self.b.leases_of_hw(&ctx.who).is_some_and(|n| n >= cap)
        {
            return Some(&mut self.counters.refused_client_cap);
        }
        None
    }

    /// New lifetimes for a live lease of this client.
    fn extend(&mut self, ctx: &Ctx<'_>, p: &Prefix) -> LeaseOut {
        let (preferred, valid, _) = self.terms(p, &ctx.who, ctx.now);
        let hw = ctx.who.relay_hw;
        let updated = self.b.update(p, |l| {
            l.preferred_until = ctx.now + preferred;
            l.valid_until = ctx.now + valid;
            l.link = ctx.link_id;
            if l.kind == LeaseKind::Prefix {
                l.next_hop = Some(ctx.next_hop);
            }
            l.ifindex = ctx.ifindex;
            if let Some(h) = hw {
                l.hw_addr = Some(h.to_vec());
            }
            l.reconfigure = ctx.reconfigure.clone();
        });
        if let Some(lease) = updated {
            debug!(duid = %lease.duid, prefix = %p, "lease extended");
            self.commit(&lease, ctx.now);
            self.notice(LeaseEvent::Renewed, &lease);
        }
        self.lease_out(p, &ctx.who, ctx.now)
    }

    /// Brings the Reconfigure context of every lease of the client up to
    /// date when its key, path or presence changed (the replay value alone
    /// is not worth a store write), so all of them agree after a restart.
    pub fn sync_context(&mut self, ctx: &Ctx<'_>) {
        for p in self.b.client_leases(ctx.who.duid) {
            let stale = match (
                self.b.get(&p).map(|e| &e.lease.reconfigure),
                &ctx.reconfigure,
            ) {
                (None, _) => continue,
                (Some(None), None) => false,
                (Some(Some(old)), Some(new)) => !old.same_as(new),
                (Some(_), _) => true,
            };
            if !stale {
                continue;
            }
            if let Some(lease) = self
                .b
                .update(&p, |l| l.reconfigure = ctx.reconfigure.clone())
            {
                self.out.leases.push(LeaseOp::Upsert(lease));
            }
        }
    }

    /// Ends a lease: Remove then DelRoute.
    pub fn end(&mut self, p: &Prefix, how: Freed, event: LeaseEvent) -> Option<Lease> {
        let lease = self.b.remove(p, how)?;
        info!(duid = %lease.duid, iaid = lease.iaid, prefix = %p, ?event, "lease ended");
        self.out.leases.push(LeaseOp::Remove {
            kind: lease.kind,
            prefix: lease.prefix,
        });
        if let Some(mut r) = route_of(&lease, lease.valid_until) {
            r.expires = None;
            self.out.kernel.push(KernelOp::DelRoute(r));
        }
        // Another server's lease (shared store) is that server's to report:
        // no lease event, so no hook, for one this server never granted.
        if !lease.is_foreign() {
            self.notice(event, &lease);
        }
        Some(lease)
    }

    /// The IA's current leases: extended when still fit for this link,
    /// ended (lifetimes 0) otherwise. In an Advertise (`commit` false)
    /// nothing changes and unfit ones are left out.
    fn refresh_existing(
        &mut self,
        ctx: &Ctx<'_>,
        ia: &IaIn,
        existing: &[Prefix],
        commit: bool,
        out: &mut IaOut,
    ) {
        let kind = ia.ty.kind();
        for p in existing {
            let fit = !self.b.get(p).is_some_and(|e| e.revoked())
                && self.b.appropriate(p, kind, ctx.link, &ctx.who);
            if fit {
                let l = if commit {
                    self.extend(ctx, p)
                } else {
                    self.lease_out(p, &ctx.who, ctx.now)
                };
                out.leases.push(l);
            } else if commit {
                self.end(p, Freed::Release, LeaseEvent::Revoked);
                out.zero(p.addr(), p.len());
            }
        }
    }

    /// A new lease for the IA (offered or committed), or the IA's
    /// "nothing available" status (RFC 8415 §18.3.1/§18.3.2; RFC 7550 §4.1:
    /// inside the IA).
    fn allocate(
        &mut self,
        ctx: &Ctx<'_>,
        ia: &IaIn,
        commit: bool,
        tentative: &mut Vec<Tentative>,
        out: &mut IaOut,
    ) {
        let kind = ia.ty.kind();
        if let Some(cap) = self.over_cap(ctx) {
            *cap += 1;
            if !out.has_valid() && out.leases.is_empty() {
                out.status = Some(ia.ty.none_available());
            }
            return;
        }
        match self
            .b
            .take_new(kind, ctx.link, &ctx.who, ia.iaid, &ia.hints())
        {
            Some((p, place, undo)) => {
                if commit {
                    let l = self.grant(ctx, ia.iaid, kind, p, place);
                    out.leases.push(l);
                } else {
                    out.leases.push(self.lease_out(&p, &ctx.who, ctx.now));
                    tentative.push((p, place, undo));
                }
            }
            None if !out.has_valid() && out.leases.is_empty() => {
                out.status = Some(ia.ty.none_available())
            }
            None => {}
        }
    }

    /// Solicit (advertise: `commit` false; Rapid Commit: true) and Request
    /// (RFC 8415 §18.3.1, §18.3.2).
    pub fn assign(
        &mut self,
        ctx: &Ctx<'_>,
        ias: &[IaIn],
        commit: bool,
        request: bool,
    ) -> Vec<IaOut> {
        let mut answers = Vec::with_capacity(ias.len());
        let mut tentative = Vec::new();
        for ia in ias {
            if ia.ty == IaType::Ta {
                // Temporary addresses are not offered.
                answers.push(IaOut::with_status(
                    IaType::Ta,
                    ia.iaid,
                    ia.ty.none_available(),
                ));
                continue;
            }
            let kind = ia.ty.kind();
            let mut out = IaOut::new(ia.ty, ia.iaid);
            let existing = self.b.ia_leases(ctx.who.duid, ia.iaid, kind);
            self.refresh_existing(ctx, ia, &existing, commit, &mut out);
            if !out.has_valid() {
                // RFC 8415 §18.3.2: an address the client asks for that does
                // not belong on its link gets the IA back with NotOnLink.
                let off_link = request
                    && ia.ty == IaType::Na
                    && ia.listed.iter().any(|&(a, l)| {
                        Prefix::new(a, l)
                            .map_or(true, |p| !self.b.appropriate(&p, kind, ctx.link, &ctx.who))
                    });
                if off_link {
                    out.leases.clear();
                    out.status = Some(Status::new(
                        StatusCode::NotOnLink,
                        "address not on this link",
                    ));
                } else {
                    self.allocate(ctx, ia, commit, &mut tentative, &mut out);
                }
            }
            answers.push(out);
        }
        // An Advertise commits nothing (KAME X15): give the offers back, in
        // reverse so each pool's cursor ends where it started.
        for (p, place, undo) in tentative.iter().rev() {
            self.b.untake(p, place, *undo);
        }
        answers
    }

    /// Renew and Rebind (RFC 8415 §18.3.4, §18.3.5). `None` for a Rebind IA
    /// the server knows nothing about and cannot judge.
    pub fn refresh(&mut self, ctx: &Ctx<'_>, ia: &IaIn, rebind: bool) -> Option<IaOut> {
        if ia.ty == IaType::Ta {
            return None;
        }
        let kind = ia.ty.kind();
        let mut out = IaOut::new(ia.ty, ia.iaid);
        let existing = self.b.ia_leases(ctx.who.duid, ia.iaid, kind);
        if existing.is_empty() {
            for &(a, l) in &ia.listed {
                let p = Prefix::new(a, l)
                    .ok()
                    .filter(|p| self.b.appropriate(p, kind, ctx.link, &ctx.who));
                match p {
                    // Not for this link (or this client): lifetimes 0.
                    None => out.zero(a, l),
                    Some(p) if rebind => {
                        // §18.3.5: a binding the server lost (restart
                        // without a store, another server's pool) is
                        // re-created when the lease is free.
                        if let Some(cap) = self.over_cap(ctx) {
                            *cap += 1;
                            out.zero(a, l);
                            continue;
                        }
                        match self.b.take_exact(&p, kind, ctx.link, &ctx.who) {
                            Some(place) => {
                                let l = self.grant(ctx, ia.iaid, kind, p, place);
                                out.leases.push(l);
                            }
                            None => out.zero(a, l),
                        }
                    }
                    Some(_) => {}
                }
            }
            if !rebind {
                // §18.3.4: no binding, and Renew does not create one.
                out.status = Some(Status::new(StatusCode::NoBinding, "no binding for this IA"));
                return Some(out);
            }
            return (!out.leases.is_empty()).then_some(out);
        }
        self.refresh_existing(ctx, ia, &existing, true, &mut out);
        // Leases the client lists that are not in this IA's binding.
        for &(a, l) in &ia.listed {
            let bound = Prefix::new(a, l).is_ok_and(|p| existing.contains(&p));
            if !bound {
                out.zero(a, l);
            }
        }
        if !out.has_valid() {
            // Everything ended: offer a replacement in the same Reply.
            let mut none = Vec::new();
            let fresh = IaIn {
                listed: Vec::new(),
                ..ia.clone()
            };
            self.allocate(ctx, &fresh, true, &mut none, &mut out);
        }
        Some(out)
    }

    /// Release (RFC 8415 §18.3.7) and Decline (§18.3.8): the IAs without a
    /// binding, answered NoBinding.
    pub fn give_back(&mut self, ctx: &Ctx<'_>, ias: &[IaIn], decline: bool) -> Vec<IaOut> {
        let mut answers = Vec::new();
        for ia in ias {
            // Decline is for addresses; IA_TA is never bound here.
            if ia.ty == IaType::Ta || (decline && ia.ty == IaType::Pd) {
                continue;
            }
            let kind = ia.ty.kind();
            let existing = self.b.ia_leases(ctx.who.duid, ia.iaid, kind);
            if existing.is_empty() {
                answers.push(IaOut::with_status(
                    ia.ty,
                    ia.iaid,
                    Status::new(StatusCode::NoBinding, "no binding for this IA"),
                ));
                continue;
            }
            for &(a, l) in &ia.listed {
                let Ok(p) = Prefix::new(a, l) else { continue };
                // Leases not assigned to this IA are ignored.
                if !existing.contains(&p) {
                    continue;
                }
                if decline {
                    let until = ctx.now + self.cfg.decline_probation;
                    // A reserved address stays with its reservation.
                    let how =
                        if matches!(self.b.get(&p).map(|e| &e.place), Some(Placement::Pool(_))) {
                            Freed::Quarantine(until)
                        } else {
                            Freed::Release
                        };
                    self.end(&p, how, LeaseEvent::Declined);
                } else {
                    self.end(&p, Freed::Release, LeaseEvent::Released);
                }
            }
        }
        answers
    }
}
