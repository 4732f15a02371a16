//! The client machine: inputs, transitions, outputs. See the module docs of
//! [`crate::client`] for the RFC sections and the method grammar.
//!
//! Panic contract: no method panics on any input; indexing is by positions
//! just found, arithmetic on instants saturates.

use super::codec::{self, Incoming, Outgoing, TopStatus};
use super::ia::{IaBinding, IaKind, IaOffer, IaStatus, Leased, remaining};
use super::retrans::{
    IRT_MINIMUM, MAX_RT_OPTION_MAX, MAX_RT_OPTION_MIN, RetransParams, RetransStep, Retransmission,
    SOL_MAX_DELAY,
};
use super::state::{
    Bound, Candidate, Exchange, IaRequest, InformationRequesting, Rebinding, Releasing, Renewing,
    Requesting, Soliciting, State,
};
use super::{
    ClientConfig, ClientCounters, ClientEvent, ClientStateKind, ClientStatus, DelegatedPrefix,
    DropReason, IaTimers, LeasedAddress, Leases, StoredAddress, StoredBinding, StoredPrefix,
};
use crate::rkap;
use std::collections::{BTreeMap, VecDeque};
use std::net::Ipv6Addr;
use std::time::Duration;
use tracing::{debug, info, warn};
use v6edge_core::{
    DHCP6_CLIENT_PORT, DHCP6_SERVER_PORT, Instant, Received, Rng, Transmit, Transport,
};
use v6edge_prefix::Prefix;
use v6edge_wire::dhcp6::{Duid, MessageType, OptionCode};

/// RFC 8415 §7.1: All_DHCP_Relay_Agents_and_Servers.
pub const ALL_DHCP_RELAY_AGENTS_AND_SERVERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 1, 2);

/// Bound on transitions made in one call, so a bug cannot spin forever.
const MAX_STEPS: usize = 16;

/// Stateless configuration from the last Reply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Info {
    dns_servers: Vec<Ipv6Addr>,
    domains: Vec<String>,
    ntp_servers: Vec<Ipv6Addr>,
    information_refresh: Option<Duration>,
}

/// The reconfigure key from a Reply (RFC 8415 §20.4.1) and the last replay
/// detection value seen with it (RDM 0: must increase).
#[derive(Debug, Clone)]
struct ReconfigureKey {
    key: [u8; 16],
    last_rd: u64,
}

/// The DHCPv6 client of a requesting router.
#[derive(Debug)]
pub struct Client {
    config: ClientConfig,
    rng: Rng,
    state: State,
    link_up: bool,
    /// One entry per configured IA (IA_PDs in config order, then the IA_NA).
    ias: Vec<IaBinding>,
    /// The last prefix held per IA_PD, hinted in later Solicits.
    last_prefix: BTreeMap<u32, Prefix>,
    server: Option<Duid>,
    info: Info,
    sol_max_rt: Option<Duration>,
    inf_max_rt: Option<Duration>,
    reconfigure_key: Option<ReconfigureKey>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<ClientEvent>,
    last_reported: Leases,
    counters: ClientCounters,
    /// The reason the packet being handled was dropped, if it was.
    last_drop: Option<DropReason>,
    /// Solicit → Request cycles in a row that ended with nothing bound: each
    /// doubles the wait before the next Solicit.
    failed_cycles: u32,
}

fn ias_for(config: &ClientConfig) -> Vec<IaBinding> {
    let mut v: Vec<IaBinding> = config
        .ia_pds
        .iter()
        .map(|p| IaBinding::new(IaKind::Pd, p.iaid))
        .collect();
    if let Some(na) = &config.ia_na {
        v.push(IaBinding::new(IaKind::Na, na.iaid));
    }
    v
}

impl Client {
    /// A client that waits for [`Client::handle_link`] to report the uplink
    /// up, then solicits.
    pub fn new(config: ClientConfig, seed: u64, now: Instant) -> Client {
        debug!(ifindex = config.ifindex, at = ?now, "dhcp6 client created");
        let ias = ias_for(&config);
        let last_prefix = config
            .ia_pds
            .iter()
            .filter_map(|p| Some((p.iaid, p.hint_prefix?)))
            .collect();
        Client {
            config,
            rng: Rng::seed(seed),
            state: State::WaitingLink,
            link_up: false,
            ias,
            last_prefix,
            server: None,
            info: Info::default(),
            sol_max_rt: None,
            inf_max_rt: None,
            reconfigure_key: None,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            last_reported: Leases::default(),
            counters: ClientCounters::default(),
            last_drop: None,
            failed_cycles: 0,
        }
    }

    /// A client that held `stored` before a restart. It reports those
    /// leases at once (so the daemon can reconcile), and when the link is
    /// reported up it Rebinds for them rather than soliciting (RFC 8415
    /// §18.2.5; style guide §3 "Restart is explicit"). Leases with no time
    /// left are dropped and their prefixes become Solicit hints.
    pub fn restore(config: ClientConfig, stored: StoredBinding, seed: u64, now: Instant) -> Client {
        let mut c = Client::new(config, seed, now);
        c.server = stored.server_duid;
        for p in &stored.prefixes {
            c.last_prefix.entry(p.iaid).or_insert(p.prefix);
            if p.valid.is_zero() || p.preferred > p.valid {
                continue;
            }
            if let Some(ia) = c
                .ias
                .iter_mut()
                .find(|ia| ia.kind == IaKind::Pd && ia.iaid == p.iaid)
            {
                ia.leases.push(super::ia::Lease {
                    what: Leased::Prefix {
                        prefix: p.prefix,
                        exclude: p.exclude,
                    },
                    preferred_until: super::ia::until(now, p.preferred),
                    valid_until: super::ia::until(now, p.valid),
                });
            }
        }
        for a in &stored.addresses {
            if a.valid.is_zero() || a.preferred > a.valid {
                continue;
            }
            if let Some(ia) = c
                .ias
                .iter_mut()
                .find(|ia| ia.kind == IaKind::Na && ia.iaid == a.iaid)
            {
                ia.leases.push(super::ia::Lease {
                    what: Leased::Address(a.addr),
                    preferred_until: super::ia::until(now, a.preferred),
                    valid_until: super::ia::until(now, a.valid),
                });
            }
        }
        if !c.any_bound() {
            c.server = None;
        }
        info!(
            prefixes = stored.prefixes.len(),
            bound = c.any_bound(),
            "dhcp6 client restored"
        );
        c.report();
        c
    }

    // ----------------------------------------------------------- getters --

    /// When [`Client::handle_timeout`] should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if matches!(self.state, State::Released) {
            return None;
        }
        let expiry = self.ias.iter().filter_map(IaBinding::next_expiry).min();
        match (self.state.deadline(), expiry) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub fn status(&self, now: Instant) -> ClientStatus {
        let left = |t: Option<Instant>| t.map(|t| t - now);
        ClientStatus {
            state: self.state.kind(),
            link_up: self.link_up,
            leases: self.leases(),
            ia_timers: self
                .ias
                .iter()
                .map(|ia| IaTimers {
                    iaid: ia.iaid,
                    pd: ia.kind == IaKind::Pd,
                    t1: left(ia.t1_at),
                    t2: left(ia.t2_at),
                })
                .collect(),
            xid: self.state.exchange().map(|e| e.xid),
            reconfigure_key_held: self.reconfigure_key.is_some(),
            counters: self.counters.clone(),
        }
    }

    /// What to persist: the leases held, with the lifetimes left at `now`.
    /// `None` when nothing is held.
    pub fn stored_binding(&self, now: Instant) -> Option<StoredBinding> {
        let mut prefixes = Vec::new();
        let mut addresses = Vec::new();
        for ia in &self.ias {
            for l in &ia.leases {
                let valid = remaining(now, l.valid_until);
                if valid.is_zero() {
                    continue;
                }
                let preferred = remaining(now, l.preferred_until).min(valid);
                match &l.what {
                    Leased::Prefix { prefix, exclude } => prefixes.push(StoredPrefix {
                        iaid: ia.iaid,
                        prefix: *prefix,
                        preferred,
                        valid,
                        exclude: *exclude,
                    }),
                    Leased::Address(addr) => addresses.push(StoredAddress {
                        iaid: ia.iaid,
                        addr: *addr,
                        preferred,
                        valid,
                    }),
                }
            }
        }
        if prefixes.is_empty() && addresses.is_empty() {
            return None;
        }
        Some(StoredBinding {
            server_duid: self.server.clone(),
            prefixes,
            addresses,
        })
    }

    pub fn counters(&self) -> &ClientCounters {
        &self.counters
    }

    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    // ------------------------------------------------------------ output --

    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    // ------------------------------------------------------------- input --

    /// The uplink went up or down. First up: Solicit after a random delay
    /// of up to SOL_MAX_DELAY (RFC 8415 §18.2.1). Down: the exchange stops,
    /// leases keep running out. Up again while holding leases: Rebind (RFC
    /// 8415 §18.2.12; for delegated prefixes a link change is a Rebind, not
    /// a Confirm, KAME P6).
    pub fn handle_link(&mut self, now: Instant, up: bool) {
        if up == self.link_up {
            return;
        }
        self.link_up = up;
        if !up {
            match self.state {
                State::Released => {}
                State::Releasing(_) => {
                    info!("link down during Release: giving up");
                    self.enter_released();
                }
                _ => {
                    info!(
                        state = self.state.kind().as_str(),
                        "link down: waiting, leases kept"
                    );
                    self.state = State::WaitingLink;
                }
            }
            return;
        }
        self.expire(now);
        if matches!(self.state, State::WaitingLink) {
            self.start(now);
        }
        self.run(now);
    }

    /// A datagram from the uplink socket. Never fails: anything unusable is
    /// counted under a [`DropReason`] and ignored; that reason is returned
    /// so the daemon can count it too.
    pub fn handle_packet(&mut self, now: Instant, rx: &Received<'_>) -> Option<DropReason> {
        self.last_drop = None;
        self.handle_datagram(now, rx);
        self.last_drop.take()
    }

    fn handle_datagram(&mut self, now: Instant, rx: &Received<'_>) {
        if rx.ifindex != self.config.ifindex {
            self.drop(DropReason::WrongInterface, None, "not our uplink");
            return;
        }
        let mut msg = match codec::parse(rx.bytes) {
            Ok(m) => m,
            Err(reason) => {
                self.drop(reason, None, "undecodable");
                return;
            }
        };
        let ignored = std::mem::take(&mut msg.ignored);
        *self
            .counters
            .received
            .entry(u8::from(msg.msg_type))
            .or_insert(0) += 1;
        self.expire(now);
        match msg.msg_type {
            MessageType::Advertise => self.on_advertise(now, msg),
            MessageType::Reply => self.on_reply(now, msg),
            MessageType::Reconfigure => self.on_reconfigure(now, msg, rx),
            _ => self.drop(
                DropReason::UnexpectedType,
                Some(&msg),
                "not a server-to-client message",
            ),
        }
        // Parts left out count when the message was ours to read: acted on,
        // or dropped because nothing usable was left after them.
        if matches!(self.last_drop, None | Some(DropReason::NothingOffered)) {
            for r in ignored {
                *self.counters.ignored.entry(r).or_insert(0) += 1;
            }
        }
        self.run(now);
    }

    /// Timers: retransmissions, T1/T2, lease expiry. Calls before the
    /// deadline do nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        if matches!(self.state, State::Released) {
            return;
        }
        self.expire(now);
        self.run(now);
    }

    // ----------------------------------------------------- admin commands --

    /// Give everything back (RFC 8415 §18.2.7): stop using the leases now
    /// (a `Changed` with nothing), send Release, then stay stopped until
    /// [`Client::renew_now`]. RFC 9096 WPD-9: only on request.
    pub fn release(&mut self, now: Instant) {
        let ias: Vec<IaRequest> = self
            .ias
            .iter()
            .filter(|ia| ia.is_bound())
            .map(|ia| IaRequest {
                kind: ia.kind,
                iaid: ia.iaid,
                hints: ia.leases.iter().map(|l| l.what.clone()).collect(),
            })
            .collect();
        let server = self.server.clone();
        self.drop_binding();
        self.report();
        match server {
            Some(server) if !ias.is_empty() && self.link_up => {
                info!(server = %server, ias = ias.len(), "releasing");
                let ex = self.exchange(RetransParams::RELEASE, now);
                self.state = State::Releasing(Releasing {
                    ex,
                    server: Some(server),
                    ias,
                });
                self.run(now);
            }
            _ => self.enter_released(),
        }
    }

    /// The daemon is stopping: Release if `release_on_stop`, otherwise just
    /// stop sending and keep the binding for [`Client::stored_binding`].
    pub fn stop(&mut self, now: Instant) {
        if self.config.release_on_stop {
            self.release(now);
        } else {
            self.enter_released();
        }
    }

    /// Act now: Renew when bound, restart a Solicit without back-off when
    /// soliciting, start again after a Release.
    pub fn renew_now(&mut self, now: Instant) {
        self.expire(now);
        // Asked to act now: no hold-off from earlier failed cycles.
        self.failed_cycles = 0;
        match self.state {
            State::Bound(_) => self.begin_renew(now),
            State::Soliciting(_) => self.begin_solicit(now, false),
            State::Released => {
                if self.link_up {
                    self.start(now);
                } else {
                    self.state = State::WaitingLink;
                }
            }
            _ => {}
        }
        self.run(now);
    }

    /// A new configuration (SIGHUP). A changed DUID or interface starts from
    /// scratch; added IAs are asked for at once (in a Renew when bound, RFC
    /// 8415 §18.2.4); removed IAs are forgotten.
    pub fn reconfigure(&mut self, now: Instant, config: ClientConfig) {
        let old = std::mem::replace(&mut self.config, config);
        if old.duid != self.config.duid || old.ifindex != self.config.ifindex {
            info!("DUID or interface changed: starting over");
            self.ias = ias_for(&self.config);
            self.last_prefix = self
                .config
                .ia_pds
                .iter()
                .filter_map(|p| Some((p.iaid, p.hint_prefix?)))
                .collect();
            self.drop_binding();
            self.reconfigure_key = None;
            self.report();
            if old.ifindex != self.config.ifindex {
                // The new interface's state is unknown until reported.
                self.link_up = false;
            }
            if !matches!(self.state, State::Released) {
                self.state = State::WaitingLink;
                if self.link_up {
                    self.start(now);
                }
            }
            self.run(now);
            return;
        }
        let mut fresh = ias_for(&self.config);
        let mut added = false;
        for ia in &mut fresh {
            match self
                .ias
                .iter()
                .position(|o| o.kind == ia.kind && o.iaid == ia.iaid)
            {
                Some(i) => *ia = self.ias[i].clone(),
                None => added = true,
            }
        }
        for p in &self.config.ia_pds {
            if let Some(h) = p.hint_prefix {
                self.last_prefix.insert(p.iaid, h);
            }
        }
        self.ias = fresh;
        if !self.any_bound() {
            self.lost_everything(now);
        } else if added {
            match self.state {
                State::Bound(_) => self.begin_renew(now),
                State::Soliciting(_) => self.begin_solicit(now, false),
                _ => {}
            }
        }
        self.report();
        self.run(now);
    }

    // -------------------------------------------------------- transitions --

    fn any_bound(&self) -> bool {
        self.ias.iter().any(IaBinding::is_bound)
    }

    fn new_xid(&mut self) -> u32 {
        // RFC 8415 §8: a 24-bit transaction id, random per exchange.
        self.rng.next_u32() & 0x00ff_ffff
    }

    fn exchange(&mut self, params: RetransParams, first_at: Instant) -> Exchange {
        Exchange {
            xid: self.new_xid(),
            retrans: Retransmission::new(params, first_at),
        }
    }

    /// Link up with nothing in progress.
    fn start(&mut self, now: Instant) {
        if self.any_bound() {
            self.begin_rebind(now);
        } else {
            self.begin_solicit(now, true);
        }
    }

    fn begin_solicit(&mut self, now: Instant, delayed: bool) {
        if !self.link_up {
            self.state = State::WaitingLink;
            return;
        }
        let mut params = RetransParams::SOLICIT;
        if let Some(mrt) = self.sol_max_rt {
            // RFC 8415 §21.24: the server's SOL_MAX_RT replaces the default.
            params = params.with_mrt(mrt);
        }
        let mut delay = if delayed {
            self.rng.duration_between(Duration::ZERO, SOL_MAX_DELAY)
        } else {
            Duration::ZERO
        };
        if self.failed_cycles > 0 {
            // A server that advertises but then grants nothing (or never
            // answers the Request) must not hold us in a loop of fresh
            // Solicits: back off as RFC 8415 §15 does within one exchange,
            // IRT doubling per failed cycle, up to the Solicit's MRT.
            let doublings = (self.failed_cycles - 1).min(16);
            let holdoff = params.irt.saturating_mul(1 << doublings);
            delay += params.mrt.map_or(holdoff, |mrt| holdoff.min(mrt));
        }
        let ex = self.exchange(params, now + delay);
        info!(xid = ex.xid, delay = ?delay, "soliciting");
        self.state = State::Soliciting(Soliciting {
            ex,
            best: None,
            next_order: 0,
        });
    }

    fn begin_request(&mut self, now: Instant, server: Duid, offers: &[IaOffer]) {
        let ias = self
            .ias
            .iter()
            .map(|ia| {
                let offered = offers
                    .iter()
                    .find(|o| o.kind == ia.kind && o.iaid == ia.iaid && o.usable());
                let hints = match offered {
                    // RFC 8415 §18.2.2: ask for what was advertised.
                    Some(o) => o
                        .leases
                        .iter()
                        .filter(|l| !l.valid.is_zero())
                        .map(|l| l.what.clone())
                        .collect(),
                    // RFC 8415 §18.2.2 (RFC 7550 §4.1): keep asking for IAs the
                    // server did not offer.
                    None => self.solicit_hints(ia.kind, ia.iaid),
                };
                IaRequest {
                    kind: ia.kind,
                    iaid: ia.iaid,
                    hints,
                }
            })
            .collect();
        let ex = self.exchange(RetransParams::REQUEST, now);
        info!(xid = ex.xid, server = %server, "requesting");
        self.state = State::Requesting(Requesting {
            ex,
            server,
            ias,
            reestablish: false,
        });
    }

    fn enter_bound(&mut self) {
        let bound = self.ias.iter().filter(|ia| ia.is_bound());
        let renew_at = bound.clone().filter_map(|ia| ia.t1_at).min();
        let rebind_at = bound.filter_map(|ia| ia.t2_at).min();
        info!(renew_at = ?renew_at, rebind_at = ?rebind_at, "bound");
        self.state = State::Bound(Bound {
            renew_at,
            rebind_at,
        });
    }

    fn begin_renew(&mut self, now: Instant) {
        let Some(server) = self.server.clone() else {
            // Restored without a server identity: only Rebind can work.
            self.begin_rebind(now);
            return;
        };
        let rebind_at = self
            .ias
            .iter()
            .filter(|ia| ia.is_bound())
            .filter_map(|ia| ia.t2_at)
            .min();
        let mut params = RetransParams::RENEW;
        if let Some(t2) = rebind_at {
            // RFC 8415 §18.2.4: MRD = remaining time until T2.
            params = params.with_mrd(t2 - now);
        }
        let ex = self.exchange(params, now);
        info!(xid = ex.xid, server = %server, "renewing");
        self.state = State::Renewing(Renewing { ex, server });
    }

    fn begin_rebind(&mut self, now: Instant) {
        let mut params = RetransParams::REBIND;
        // RFC 8415 §18.2.5: MRD = until the valid lifetimes of all leases
        // have ended; none if any is infinite.
        let mut last = Some(now);
        for ia in self.ias.iter().filter(|ia| ia.is_bound()) {
            last = match (last, ia.last_expiry().flatten()) {
                (Some(a), Some(b)) => Some(a.max(b)),
                _ => None,
            };
        }
        if let Some(end) = last {
            params = params.with_mrd(end - now);
        }
        let ex = self.exchange(params, now);
        info!(xid = ex.xid, until = ?last, "rebinding");
        self.state = State::Rebinding(Rebinding { ex });
    }

    fn begin_information_request(&mut self, now: Instant, server: Duid) {
        let mut params = RetransParams::INFORMATION_REQUEST;
        if let Some(mrt) = self.inf_max_rt {
            params = params.with_mrt(mrt);
        }
        // Deviation: no INF_MAX_DELAY here; the exchange answers a Reconfigure
        // addressed to us alone, so there is no herd to spread out.
        let ex = self.exchange(params, now);
        info!(xid = ex.xid, "information-request after Reconfigure");
        self.state = State::InformationRequesting(InformationRequesting { ex, server });
    }

    fn enter_released(&mut self) {
        if matches!(self.state, State::Released) {
            return;
        }
        info!("stopped");
        self.state = State::Released;
        self.events.push_back(ClientEvent::Stopped);
    }

    /// Forget every lease and what came with them (not SOL_MAX_RT).
    fn drop_binding(&mut self) {
        for ia in &mut self.ias {
            ia.leases.clear();
            ia.t1_at = None;
            ia.t2_at = None;
        }
        self.server = None;
        self.info = Info::default();
    }

    /// Every lease is gone: report it and start over (RFC 8415 §18.2.10.1,
    /// KAME X7).
    fn lost_everything(&mut self, now: Instant) {
        match self.state {
            State::Bound(_)
            | State::Renewing(_)
            | State::Rebinding(_)
            | State::InformationRequesting(_)
            | State::Requesting(Requesting {
                reestablish: true, ..
            }) => {
                info!("no leases left: soliciting");
                self.drop_binding();
                self.report();
                self.begin_solicit(now, true);
            }
            // Stopped without Release (RFC 9096 WPD-9) the leases are kept
            // for the restart, but once they have run out (noticed when a
            // command or a datagram comes in) the daemon must hear of it.
            State::WaitingLink | State::Released => {
                self.drop_binding();
                self.report();
            }
            State::Soliciting(_) | State::Requesting(_) | State::Releasing(_) => {}
        }
    }

    /// Remove expired leases; start over if none is left.
    fn expire(&mut self, now: Instant) {
        let mut changed = false;
        for ia in &mut self.ias {
            if ia.expire(now) {
                info!(iaid = ia.iaid, "lease expired");
                changed = true;
            }
        }
        if changed {
            if self.any_bound() {
                self.report();
                if let State::Bound(_) = self.state {
                    self.enter_bound();
                }
            } else {
                self.lost_everything(now);
            }
        }
    }

    /// Act on every deadline that has passed.
    fn run(&mut self, now: Instant) {
        for _ in 0..MAX_STEPS {
            if !self.step(now) {
                return;
            }
        }
        warn!("dhcp6 client made {MAX_STEPS} transitions in one call");
    }

    /// One transition or transmission if due; false when there is nothing.
    fn step(&mut self, now: Instant) -> bool {
        if let State::Bound(b) = &self.state {
            if b.rebind_at.is_some_and(|t| t <= now) {
                self.begin_rebind(now);
                return true;
            }
            if b.renew_at.is_some_and(|t| t <= now) {
                self.begin_renew(now);
                return true;
            }
            return false;
        }
        // Advertise collection ends with the first RT (RFC 8415 §18.2.1).
        if let State::Soliciting(s) = &self.state
            && s.best.is_some()
            && s.ex.retrans.first_rt_end().is_some_and(|t| t <= now)
        {
            self.select_advertise(now);
            return true;
        }
        let rng = &mut self.rng;
        let step = match &mut self.state {
            State::Soliciting(s) => s.ex.retrans.step(now, rng),
            State::Requesting(s) => s.ex.retrans.step(now, rng),
            State::Renewing(s) => s.ex.retrans.step(now, rng),
            State::Rebinding(s) => s.ex.retrans.step(now, rng),
            State::InformationRequesting(s) => s.ex.retrans.step(now, rng),
            State::Releasing(s) => s.ex.retrans.step(now, rng),
            State::WaitingLink | State::Bound(_) | State::Released => return false,
        };
        match step {
            RetransStep::Wait(_) => false,
            RetransStep::Send => {
                self.send(now);
                false
            }
            RetransStep::Failed => {
                self.exchange_failed(now);
                true
            }
        }
    }

    fn exchange_failed(&mut self, now: Instant) {
        match &self.state {
            State::Requesting(r) => {
                if r.reestablish && self.any_bound() {
                    warn!("Request to re-establish failed: keeping the other IAs");
                    self.refresh_stale_timers(now);
                    self.enter_bound();
                } else {
                    // RFC 8415 §18.2.2: REQ_MAX_RC reached; local policy is to
                    // look for a server again.
                    self.failed_cycles = self.failed_cycles.saturating_add(1);
                    warn!(
                        failed_cycles = self.failed_cycles,
                        "Request unanswered: soliciting again"
                    );
                    self.begin_solicit(now, false);
                }
            }
            State::Renewing(_) => {
                // RFC 8415 §18.2.4: T2 reached without a Reply.
                warn!("Renew unanswered until T2: rebinding");
                self.begin_rebind(now);
            }
            State::Rebinding(_) => {
                // RFC 8415 §18.2.5: every valid lifetime has ended.
                warn!("Rebind unanswered until the leases ended");
                for ia in &mut self.ias {
                    ia.expire(now);
                }
                if self.any_bound() {
                    // Cannot happen with an MRD set to the last expiry, but
                    // then the leases are still good: keep rebinding.
                    self.begin_rebind(now);
                } else {
                    self.lost_everything(now);
                }
            }
            State::Releasing(_) => {
                // RFC 8415 §18.2.7: REL_MAX_RC reached; the leases are gone anyway.
                self.enter_released();
            }
            State::Soliciting(_) | State::InformationRequesting(_) => {
                // No MRC or MRD: these retransmit until answered. Start anew
                // rather than stall if that ever changes.
                self.begin_solicit(now, false);
            }
            State::WaitingLink | State::Bound(_) | State::Released => {}
        }
    }

    /// Requests from the best Advertise kept (see [`Candidate::better_than`]).
    fn select_advertise(&mut self, now: Instant) {
        let State::Soliciting(s) = &mut self.state else {
            return;
        };
        if let Some(c) = s.best.take() {
            debug!(server = %c.server, preference = c.preference, "Advertise selected");
            self.begin_request(now, c.server, &c.offers);
        }
    }

    // ------------------------------------------------------------- output --

    fn oro(&self, msg_type: MessageType) -> Vec<OptionCode> {
        let info = msg_type == MessageType::InformationRequest;
        let mut v: Vec<OptionCode> = Vec::new();
        for c in &self.config.requested_options {
            // RFC 8415 §21.23: the Information Refresh Time is requested only
            // in Information-request; INF_MAX_RT likewise (§21.25).
            let info_only = matches!(c, OptionCode::InformationRefreshTime | OptionCode::InfMaxRt);
            if (info_only && !info) || v.contains(c) {
                continue;
            }
            v.push(*c);
        }
        if info {
            for c in [OptionCode::InformationRefreshTime, OptionCode::InfMaxRt] {
                if !v.contains(&c) {
                    v.push(c);
                }
            }
        } else if !v.contains(&OptionCode::SolMaxRt) {
            // RFC 8415 §18.2.1, RFC 7084 WAA-8: always ask for SOL_MAX_RT.
            v.push(OptionCode::SolMaxRt);
        }
        v
    }

    /// What an IA asks for when nothing better is known: the configured
    /// prefix, else the last one held, else `::/len` (RFC 8415 §18.2.1,
    /// RFC 7084 WPD-2).
    fn solicit_hints(&self, kind: IaKind, iaid: u32) -> Vec<Leased> {
        if kind != IaKind::Pd {
            return Vec::new();
        }
        let cfg = self.config.ia_pds.iter().find(|p| p.iaid == iaid);
        let held = cfg
            .and_then(|c| c.hint_prefix)
            .or_else(|| self.last_prefix.get(&iaid).copied());
        let prefix = held.or_else(|| Prefix::new(Ipv6Addr::UNSPECIFIED, cfg?.hint_len?).ok());
        prefix
            .map(|prefix| Leased::Prefix {
                prefix,
                exclude: None,
            })
            .into_iter()
            .collect()
    }

    /// Every configured IA with what we hold in it (RFC 8415 §18.2.4: Renew
    /// and Rebind carry all IAs, and IAs not yet obtained may be added).
    fn current_ias(&self) -> Vec<IaRequest> {
        self.ias
            .iter()
            .map(|ia| {
                let hints = if ia.is_bound() {
                    ia.leases.iter().map(|l| l.what.clone()).collect()
                } else {
                    self.solicit_hints(ia.kind, ia.iaid)
                };
                IaRequest {
                    kind: ia.kind,
                    iaid: ia.iaid,
                    hints,
                }
            })
            .collect()
    }

    fn send(&mut self, now: Instant) {
        let (msg_type, ex, server, ias): (MessageType, &Exchange, Option<Duid>, Vec<IaRequest>) =
            match &self.state {
                State::Soliciting(s) => (
                    MessageType::Solicit,
                    &s.ex,
                    None,
                    self.ias
                        .iter()
                        .map(|ia| IaRequest {
                            kind: ia.kind,
                            iaid: ia.iaid,
                            hints: self.solicit_hints(ia.kind, ia.iaid),
                        })
                        .collect(),
                ),
                State::Requesting(s) => (
                    MessageType::Request,
                    &s.ex,
                    Some(s.server.clone()),
                    s.ias.clone(),
                ),
                State::Renewing(s) => (
                    MessageType::Renew,
                    &s.ex,
                    Some(s.server.clone()),
                    self.current_ias(),
                ),
                State::Rebinding(s) => (MessageType::Rebind, &s.ex, None, self.current_ias()),
                State::InformationRequesting(s) => (
                    MessageType::InformationRequest,
                    &s.ex,
                    Some(s.server.clone()),
                    Vec::new(),
                ),
                State::Releasing(s) => {
                    (MessageType::Release, &s.ex, s.server.clone(), s.ias.clone())
                }
                State::WaitingLink | State::Bound(_) | State::Released => return,
            };
        let stateful = !matches!(msg_type, MessageType::Release);
        let out = Outgoing {
            msg_type,
            xid: ex.xid,
            client_id: &self.config.duid,
            server_id: server.as_ref(),
            elapsed_centis: ex.retrans.elapsed_centis(now),
            // RFC 8415 Appendix B: no ORO or Reconfigure Accept in Release.
            oro: if stateful {
                self.oro(msg_type)
            } else {
                Vec::new()
            },
            ias: &ias,
            rapid_commit: msg_type == MessageType::Solicit && self.config.rapid_commit,
            reconfigure_accept: stateful && self.config.reconfigure_accept,
        };
        let xid = ex.xid;
        let payload = codec::build(&out);
        debug!(xid, msg = ?msg_type, len = payload.len(), "sending");
        *self.counters.sent.entry(u8::from(msg_type)).or_insert(0) += 1;
        self.transmits.push_back(Transmit {
            ifindex: self.config.ifindex,
            src: None,
            dst: ALL_DHCP_RELAY_AGENTS_AND_SERVERS,
            transport: Transport::Udp {
                src_port: DHCP6_CLIENT_PORT,
                dst_port: DHCP6_SERVER_PORT,
            },
            hop_limit: None,
            payload,
        });
    }

    fn leases(&self) -> Leases {
        let mut prefixes = Vec::new();
        let mut addresses = Vec::new();
        for ia in &self.ias {
            for l in &ia.leases {
                match &l.what {
                    Leased::Prefix { prefix, exclude } => prefixes.push(DelegatedPrefix {
                        iaid: ia.iaid,
                        prefix: *prefix,
                        preferred_until: l.preferred_until,
                        valid_until: l.valid_until,
                        exclude: *exclude,
                    }),
                    Leased::Address(addr) => addresses.push(LeasedAddress {
                        iaid: ia.iaid,
                        addr: *addr,
                        preferred_until: l.preferred_until,
                        valid_until: l.valid_until,
                    }),
                }
            }
        }
        Leases {
            server_duid: self.server.clone(),
            prefixes,
            addresses,
            dns_servers: self.info.dns_servers.clone(),
            domains: self.info.domains.clone(),
            ntp_servers: self.info.ntp_servers.clone(),
            sol_max_rt: self.sol_max_rt,
            information_refresh: self.info.information_refresh,
        }
    }

    /// Queue `Changed` if the lease set differs from the last one reported.
    fn report(&mut self) {
        let now = self.leases();
        if now != self.last_reported {
            self.last_reported = now.clone();
            self.events.push_back(ClientEvent::Changed(now));
        }
    }

    fn drop(&mut self, reason: DropReason, msg: Option<&Incoming>, why: &str) {
        *self.counters.dropped.entry(reason).or_insert(0) += 1;
        self.last_drop = Some(reason);
        match msg {
            Some(m) => {
                debug!(?reason, msg = ?m.msg_type, xid = m.xid, why, "dhcp6 client dropped a message")
            }
            None => debug!(?reason, why, "dhcp6 client dropped a datagram"),
        }
    }

    // ------------------------------------------------------------ receive --

    /// RFC 8415 §16.3/§16.10: the transaction id must be the exchange's, the
    /// Client Identifier ours, and a Server Identifier present.
    fn check_response(&mut self, msg: &Incoming) -> bool {
        if self.state.exchange().is_none_or(|e| e.xid != msg.xid) {
            self.drop(DropReason::WrongXid, Some(msg), "no exchange with this xid");
            return false;
        }
        if msg.client_id.as_ref() != Some(&self.config.duid) {
            self.drop(
                DropReason::WrongClientId,
                Some(msg),
                "client id missing or not ours",
            );
            return false;
        }
        if msg.server_id.is_none() {
            self.drop(DropReason::MissingServerId, Some(msg), "no server id");
            return false;
        }
        true
    }

    /// RFC 8415 §21.24/§21.25: SOL_MAX_RT and INF_MAX_RT from any valid
    /// Advertise or Reply, ignored outside 60..=86400.
    fn take_max_rt(&mut self, msg: &Incoming) {
        let valid = |v: u32| (MAX_RT_OPTION_MIN..=MAX_RT_OPTION_MAX).contains(&v);
        if let Some(v) = msg.sol_max_rt {
            if valid(v) {
                let d = Duration::from_secs(u64::from(v));
                self.sol_max_rt = Some(d);
                if let State::Soliciting(s) = &mut self.state {
                    s.ex.retrans.set_mrt(d);
                }
            } else {
                debug!(value = v, "SOL_MAX_RT out of range: ignored");
            }
        }
        if let Some(v) = msg.inf_max_rt {
            if valid(v) {
                let d = Duration::from_secs(u64::from(v));
                self.inf_max_rt = Some(d);
                if let State::InformationRequesting(s) = &mut self.state {
                    s.ex.retrans.set_mrt(d);
                }
            } else {
                debug!(value = v, "INF_MAX_RT out of range: ignored");
            }
        }
    }

    /// The IAs of `msg` that are ours, with a top-level NoAddrsAvail /
    /// NoPrefixAvail applied to the IAs of that kind (KAME X16 puts
    /// NoPrefixAvail at top level; RFC 8415 puts it inside the IA_PD).
    fn our_offers(&self, msg: &Incoming) -> Vec<IaOffer> {
        msg.ias
            .iter()
            .filter(|o| {
                self.ias
                    .iter()
                    .any(|ia| ia.kind == o.kind && ia.iaid == o.iaid)
            })
            .map(|o| {
                let mut o = o.clone();
                let top_none = match msg.status {
                    TopStatus::NoAddrsAvail => o.kind == IaKind::Na,
                    TopStatus::NoPrefixAvail => o.kind == IaKind::Pd,
                    _ => false,
                };
                if top_none && o.status == IaStatus::Success {
                    o.status = IaStatus::NothingAvailable;
                }
                o
            })
            .collect()
    }

    fn on_advertise(&mut self, now: Instant, msg: Incoming) {
        if !self.check_response(&msg) {
            return;
        }
        if !matches!(self.state, State::Soliciting(_)) {
            self.drop(
                DropReason::UnexpectedInState,
                Some(&msg),
                "Advertise outside Solicit",
            );
            return;
        }
        // RFC 8415 §18.2.9: SOL_MAX_RT counts even from an unusable Advertise.
        self.take_max_rt(&msg);
        if let TopStatus::Other(code) = msg.status {
            debug!(code, "Advertise with failure status");
            self.drop(
                DropReason::StatusFailure,
                Some(&msg),
                "top-level failure status",
            );
            return;
        }
        let offers = self.our_offers(&msg);
        let usable = offers.iter().filter(|o| o.usable()).count();
        if usable == 0 {
            // RFC 8415 §18.2.9: no addresses and no prefixes: ignore it and
            // keep soliciting. WPD-6: an IA_PD alone is enough.
            self.drop(
                DropReason::NothingOffered,
                Some(&msg),
                "Advertise offers nothing usable",
            );
            return;
        }
        let Some(server) = msg.server_id.clone() else {
            return;
        };
        let State::Soliciting(s) = &mut self.state else {
            return;
        };
        let order = s.next_order;
        s.next_order = s.next_order.saturating_add(1);
        let candidate = Candidate {
            server,
            preference: msg.preference,
            offers,
            usable,
            order,
        };
        if s.best.as_ref().is_none_or(|b| candidate.better_than(b)) {
            debug!(server = %candidate.server, preference = msg.preference, usable, "Advertise kept as the best so far");
            s.best = Some(candidate);
        } else {
            debug!(server = %candidate.server, preference = msg.preference, usable, "Advertise worse than one kept");
        }
        let collecting = s.ex.retrans.first_rt_end().is_none_or(|t| now < t);
        // RFC 8415 §18.2.9: preference 255 ends collection at once; after
        // the first RT the first usable Advertise is taken.
        if msg.preference == 255 || !collecting {
            self.select_advertise(now);
        }
    }

    fn on_reply(&mut self, now: Instant, msg: Incoming) {
        if !self.check_response(&msg) {
            return;
        }
        self.take_max_rt(&msg);
        match self.state.kind() {
            ClientStateKind::Soliciting => {
                // RFC 8415 §18.2.1: a Reply to Solicit only with Rapid Commit
                // on both sides.
                if !self.config.rapid_commit || !msg.rapid_commit {
                    self.drop(
                        DropReason::RapidCommitUnexpected,
                        Some(&msg),
                        "Reply to Solicit without Rapid Commit",
                    );
                    return;
                }
                self.on_binding_reply(now, msg, true);
            }
            ClientStateKind::Requesting => self.on_binding_reply(now, msg, false),
            ClientStateKind::Renewing | ClientStateKind::Rebinding => {
                self.on_renewal_reply(now, msg)
            }
            ClientStateKind::InformationRequesting => {
                if let TopStatus::Other(_) = msg.status {
                    self.drop(
                        DropReason::StatusFailure,
                        Some(&msg),
                        "top-level failure status",
                    );
                    return;
                }
                self.take_info(&msg);
                self.take_key(&msg);
                self.enter_bound();
                self.report();
            }
            ClientStateKind::Releasing => {
                // RFC 8415 §18.2.10.2: any Reply ends the Release, whatever its status.
                info!("Release acknowledged");
                self.enter_released();
            }
            ClientStateKind::WaitingLink | ClientStateKind::Bound | ClientStateKind::Released => {
                self.drop(
                    DropReason::UnexpectedInState,
                    Some(&msg),
                    "Reply with nothing in progress",
                );
            }
        }
    }

    fn take_info(&mut self, msg: &Incoming) {
        // The options of a Reply describe the whole configuration: an
        // option left out means the server no longer has it for us.
        self.info.dns_servers = msg.dns_servers.clone();
        self.info.domains = msg.domains.clone();
        self.info.ntp_servers = msg.ntp_servers.clone();
        self.info.information_refresh = msg.information_refresh.map(|s| {
            // RFC 8415 §21.23: values below IRT_MINIMUM are raised to it.
            Duration::from_secs(u64::from(s)).max(IRT_MINIMUM)
        });
        if let Some(s) = &msg.server_id {
            self.server = Some(s.clone());
        }
    }

    /// RFC 8415 §20.4.1: keep the reconfigure key a server hands us, when we
    /// offered Reconfigure Accept.
    fn take_key(&mut self, msg: &Incoming) {
        if !self.config.reconfigure_accept {
            return;
        }
        if let Some(auth) = msg.auth
            && auth.info_type == rkap::INFO_TYPE_KEY
        {
            debug!("reconfigure key received");
            self.reconfigure_key = Some(ReconfigureKey {
                key: auth.value,
                last_rd: auth.replay_detection,
            });
        }
    }

    /// IAs whose T1 has passed without news get timers derived from what
    /// remains, so an IA the Reply left out does not trigger an immediate
    /// Renew again.
    fn refresh_stale_timers(&mut self, now: Instant) {
        for ia in &mut self.ias {
            if ia.is_bound()
                && (ia.t1_at.is_some_and(|t| t <= now) || ia.t2_at.is_some_and(|t| t <= now))
            {
                ia.set_timers(0, 0, now);
            }
        }
    }

    /// Reply to Request, or to Solicit with Rapid Commit (RFC 8415 §18.2.10.1).
    fn on_binding_reply(&mut self, now: Instant, msg: Incoming, rapid: bool) {
        if let TopStatus::Other(code) = msg.status {
            // RFC 8415 §18.2.10: UnspecFail (and the obsolete UseMulticast:
            // we multicast anyway) — keep retransmitting within our limits.
            debug!(code, "Reply with failure status");
            self.drop(
                DropReason::StatusFailure,
                Some(&msg),
                "top-level failure status",
            );
            return;
        }
        let offers = self.our_offers(&msg);
        if rapid && !offers.iter().any(IaOffer::usable) {
            self.drop(
                DropReason::NothingOffered,
                Some(&msg),
                "Rapid Commit Reply offers nothing usable",
            );
            return;
        }
        let reestablish = matches!(
            self.state,
            State::Requesting(Requesting {
                reestablish: true,
                ..
            })
        );
        let mut applied = 0;
        for o in offers.iter().filter(|o| o.usable()) {
            if let Some(ia) = self
                .ias
                .iter_mut()
                .find(|ia| ia.kind == o.kind && ia.iaid == o.iaid)
            {
                ia.apply(o, now);
                applied += 1;
                self.note_delegation(o);
            }
        }
        for o in offers.iter().filter(|o| !o.usable()) {
            info!(iaid = o.iaid, kind = ?o.kind, status = ?o.status, "IA not granted");
        }
        if applied == 0 && !reestablish {
            // RFC 8415 §18.2.10.1: nothing granted; try the servers again.
            self.failed_cycles = self.failed_cycles.saturating_add(1);
            warn!(
                failed_cycles = self.failed_cycles,
                "Reply granted nothing: soliciting again"
            );
            self.begin_solicit(now, true);
            return;
        }
        self.failed_cycles = 0;
        self.take_info(&msg);
        self.take_key(&msg);
        if self.any_bound() {
            self.refresh_stale_timers(now);
            self.enter_bound();
        } else {
            self.lost_everything(now);
        }
        self.report();
    }

    /// RFC 7084 WPD-3: a delegation shorter than hinted is accepted, but a
    /// smaller one (longer prefix) is worth a log line.
    fn note_delegation(&mut self, offer: &IaOffer) {
        if offer.kind != IaKind::Pd {
            return;
        }
        let hint_len = self
            .config
            .ia_pds
            .iter()
            .find(|p| p.iaid == offer.iaid)
            .and_then(|p| p.hint_len);
        for l in &offer.leases {
            if let Leased::Prefix { prefix, .. } = &l.what {
                if l.valid.is_zero() {
                    continue;
                }
                self.last_prefix.insert(offer.iaid, *prefix);
                if let Some(h) = hint_len
                    && prefix.len() > h
                {
                    warn!(iaid = offer.iaid, %prefix, hint = h, "delegated prefix smaller than hinted (RFC 7084 WPD-3)");
                }
            }
        }
    }

    /// Reply to Renew or Rebind (RFC 8415 §18.2.10.1).
    fn on_renewal_reply(&mut self, now: Instant, msg: Incoming) {
        if let TopStatus::Other(code) = msg.status {
            debug!(code, "Reply with failure status");
            self.drop(
                DropReason::StatusFailure,
                Some(&msg),
                "top-level failure status",
            );
            return;
        }
        let offers = self.our_offers(&msg);
        let mut reestablish = Vec::new();
        for ia_index in 0..self.ias.len() {
            let (kind, iaid) = (self.ias[ia_index].kind, self.ias[ia_index].iaid);
            let Some(o) = offers.iter().find(|o| o.kind == kind && o.iaid == iaid) else {
                continue;
            };
            // KAME's top-level NoBinding is read as every IA's.
            let status = if msg.status == TopStatus::NoBinding {
                IaStatus::NoBinding
            } else {
                o.status
            };
            match status {
                IaStatus::Success => {
                    self.ias[ia_index].apply(o, now);
                    self.note_delegation(o);
                }
                IaStatus::NoBinding => {
                    // RFC 8415 §18.2.10.1: the server lost this IA; ask
                    // for it again with a Request.
                    let ia = &self.ias[ia_index];
                    let hints = if ia.is_bound() {
                        ia.leases.iter().map(|l| l.what.clone()).collect()
                    } else {
                        self.solicit_hints(kind, iaid)
                    };
                    info!(iaid, kind = ?kind, "NoBinding: re-establishing with Request");
                    reestablish.push(IaRequest { kind, iaid, hints });
                }
                IaStatus::NothingAvailable | IaStatus::Failure(_) => {
                    // RFC 8415 §18.2.10.1: keep what we have until it expires.
                    debug!(iaid, status = ?status, "IA not extended: keeping current leases");
                }
            }
        }
        self.take_info(&msg);
        self.take_key(&msg);
        if !self.any_bound() && reestablish.is_empty() {
            self.lost_everything(now);
            return;
        }
        self.refresh_stale_timers(now);
        if reestablish.is_empty() {
            self.enter_bound();
        } else if let Some(server) = msg.server_id.clone() {
            let ex = self.exchange(RetransParams::REQUEST, now);
            info!(xid = ex.xid, server = %server, "requesting to re-establish");
            self.state = State::Requesting(Requesting {
                ex,
                server,
                ias: reestablish,
                reestablish: true,
            });
        }
        self.report();
    }

    /// RFC 8415 §18.2.11 / §16.11 / §20.4: an authenticated Reconfigure
    /// from our server starts Renew, Rebind or Information-request now.
    fn on_reconfigure(&mut self, now: Instant, msg: Incoming, rx: &Received<'_>) {
        if !matches!(self.state, State::Bound(_)) {
            // RFC 8415 §18.2.11: ignored while another exchange is running.
            self.drop(
                DropReason::UnexpectedInState,
                Some(&msg),
                "Reconfigure while not bound",
            );
            return;
        }
        if rx.dst.is_multicast() {
            self.drop(
                DropReason::ReconfigureMulticast,
                Some(&msg),
                "Reconfigure to a multicast address",
            );
            return;
        }
        if msg.client_id.as_ref() != Some(&self.config.duid) {
            self.drop(
                DropReason::WrongClientId,
                Some(&msg),
                "client id missing or not ours",
            );
            return;
        }
        let Some(server) = msg.server_id.clone() else {
            self.drop(DropReason::MissingServerId, Some(&msg), "no server id");
            return;
        };
        if self.server.as_ref() != Some(&server) {
            self.drop(DropReason::WrongServer, Some(&msg), "not our server");
            return;
        }
        let Some(key) = self
            .reconfigure_key
            .as_ref()
            .filter(|_| self.config.reconfigure_accept)
        else {
            self.drop(
                DropReason::Unauthenticated,
                Some(&msg),
                "no reconfigure key",
            );
            return;
        };
        let kind = match msg.reconfigure_msg {
            Some(t @ (MessageType::Renew | MessageType::Rebind)) => t,
            Some(MessageType::InformationRequest) if !msg.has_ia_options => {
                MessageType::InformationRequest
            }
            _ => {
                self.drop(
                    DropReason::ReconfigureInvalid,
                    Some(&msg),
                    "bad or missing Reconfigure Message option",
                );
                return;
            }
        };
        match rkap::verify(rx.bytes, &key.key) {
            Ok(rd) if rd > key.last_rd => {
                if let Some(k) = self.reconfigure_key.as_mut() {
                    k.last_rd = rd;
                }
            }
            Ok(rd) => {
                // RFC 8415 §20.3: RDM 0 values must increase.
                debug!(rd, "Reconfigure replay counter did not increase");
                self.drop(DropReason::BadAuth, Some(&msg), "replayed");
                return;
            }
            Err(e) => {
                debug!(error = %e, "Reconfigure authentication failed");
                self.drop(DropReason::BadAuth, Some(&msg), "authentication failed");
                return;
            }
        }
        info!(reply_with = ?kind, "Reconfigure accepted");
        match kind {
            MessageType::Renew => self.begin_renew(now),
            MessageType::Rebind => self.begin_rebind(now),
            _ => self.begin_information_request(now, server),
        }
    }
}
