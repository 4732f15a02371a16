//! The home agent machine. See the module docs of [`crate::ha`] for the
//! method grammar, HA-20 and the decisions.

use std::collections::{BTreeMap, VecDeque};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4};
use std::time::Duration;

use tracing::{debug, info};
use v6edge_core::limit::TokenBucket;
use v6edge_core::{
    IfIndex, Instant, KernelOp, Owner, Prefix4, ProxyNeighbourSpec, Received, Rng, Route4Spec,
    RouteSpec, RouteTable, RouteType, Transmit, Transport,
};
use v6edge_prefix::Prefix;
use v6edge_wire::mh::{
    AuthSubtype, BaFlags, BaStatus, BeStatus, BindingAck, BindingError, BindingUpdate, FourSeconds,
    Ipv4AddressAck, Ipv4HomeAddressRequest, MhBody, MhErrorKind, MhOption, MnIdSubtype,
    MobilityHeader, NatDetection, auth as mh_auth, fill_checksum, verify_checksum,
};
use v6edge_wire::nd::{
    HaadReply, HaadRequest, MobilePrefixSolicit, MobilityIcmp, NdMessage, NdOption, NeighborAdvert,
    NeighborSolicit,
};

use super::cache::{BindingRecord, BindingState, BindingStatus, Entry, EntryState, Reply};
use super::dhaad::{self, Candidate};
use super::prefix_adv::{self, AdvertState, Outstanding};
use super::{
    AclAction, ApplyTicket, DropReason, HaConfig, HaConfigError, HaCounters, HaOutput, HaStatus,
    HomeLink, Icmp6ToHomeAddress, MAX_BINDING_LIFETIME, MhReceived, MhTransmit, ServedPrefix,
    UdpTransmit,
};
use crate::auth::{self, NtpTimestamp, Principal, ReplayVerdict, SecurityAssociation};
use crate::dataplane::BindingOp;
use crate::dsmip::{self, ack_status};
use crate::seq;

/// An SA and the last replay protection value accepted on it.
#[derive(Debug)]
struct SaState {
    sa: SecurityAssociation,
    last_replay: Option<u64>,
}

/// The metric of the routes to mobile networks (RFC 3963 §6.2), below the
/// 1024 that a delegating server gives its routes to delegated prefixes:
/// where the server on this node delegated a mobile router's prefix (RFC
/// 6276), its route via the home address and the binding's route coexist,
/// and the binding's wins, the tunnel while away, the home link at home.
const MOBILE_NETWORK_METRIC: u32 = 512;

/// Bounds on what home link RAs can make us remember.
const MAX_LEARNED_HOME_AGENTS: usize = 256;
const MAX_ADDRESSES_PER_HOME_AGENT: usize = 4;

/// A home agent learnt from the home link's RAs (HA-16).
#[derive(Debug, Clone)]
struct Learned {
    /// Its global addresses (R-flag PIOs).
    addresses: Vec<Ipv6Addr>,
    preference: i16,
    mobile_router: bool,
    expires_at: Instant,
}

/// How a BU was authenticated.
#[derive(Debug, Clone, Copy)]
struct Authenticated {
    /// Index into `sas`; `None` in lab mode without an option.
    sa: Option<usize>,
}

/// Why a BU gets no binding.
/// What an accepted BU grants: its lifetime, the SA it came under and a
/// mobile router's mobile networks.
struct Grant {
    lifetime: Duration,
    spi: Option<u32>,
    prefixes: Vec<Prefix>,
    /// DS-7: the IPv4 home address, if one was asked for and given.
    ipv4_home: Option<Ipv4Addr>,
}

enum Refusal {
    /// Silently, counted.
    Drop(DropReason),
    /// With a BA of this status; `authenticated` says whether the BA may
    /// carry the SA's options and skip the reply budget.
    Ba {
        status: BaStatus,
        reply: Reply,
        authenticated: bool,
        /// Status 135: the sequence number to send (the last accepted).
        sequence: Option<u16>,
    },
}

/// A Mobile IPv6 home agent.
#[derive(Debug)]
pub struct HomeAgent {
    config: HaConfig,
    sas: Vec<SaState>,
    cache: BTreeMap<Ipv6Addr, Entry>,
    /// Deregistration BAs waiting for their removal to be applied (HA-20).
    held: BTreeMap<ApplyTicket, Reply>,
    /// Mobile routers back home (RFC 3963 §5.7): their mobile networks
    /// routed on the home link via their home address until they register
    /// away again.
    at_home: BTreeMap<Ipv6Addr, (IfIndex, Vec<Prefix>)>,
    learned: BTreeMap<(IfIndex, Ipv6Addr), Learned>,
    /// HA-18: the Mobile Prefix Advertisement schedule of each bound home
    /// address (only with `mobile_prefix_advertisements`).
    adverts: BTreeMap<Ipv6Addr, AdvertState>,
    out: VecDeque<HaOutput>,
    counters: HaCounters,
    rng: Rng,
    replies: TokenBucket,
    /// (instant, NTP time at that instant), for RFC 4285 timestamps.
    wall: Option<(Instant, NtpTimestamp)>,
    next_ticket: u64,
}

impl HomeAgent {
    /// A home agent with an empty binding cache.
    pub fn new(config: HaConfig, seed: u64, now: Instant) -> Result<HomeAgent, HaConfigError> {
        auth::validate(&config.security_associations)?;
        let mut config = config;
        for (i, link) in config.home_links.iter().enumerate() {
            if config.home_links[..i]
                .iter()
                .any(|l| l.ifindex == link.ifindex)
            {
                return Err(HaConfigError::DuplicateLink {
                    ifindex: link.ifindex,
                });
            }
            if !link
                .prefixes
                .iter()
                .any(|p| p.prefix.contains_addr(link.address))
            {
                return Err(HaConfigError::AddressOutsidePrefixes {
                    ifindex: link.ifindex,
                    address: link.address,
                });
            }
        }
        for m in &config.mobile_routers {
            if let Some(p) = m
                .prefixes
                .iter()
                .find(|p| !is_mobile_network(p, &config.home_links))
            {
                return Err(HaConfigError::MobileNetworkPrefix {
                    home_address: m.home_address,
                    prefix: *p,
                });
            }
        }
        if config.tunnel_mtu < 1280 {
            return Err(HaConfigError::TunnelMtu {
                mtu: config.tunnel_mtu,
            });
        }
        // A lifetime under one 4-second unit would be sent as 0, which
        // means "deleted".
        config.max_binding_lifetime = config
            .max_binding_lifetime
            .clamp(Duration::from_secs(4), MAX_BINDING_LIFETIME);
        config.refresh_percent = config.refresh_percent.min(100);
        let sas = config
            .security_associations
            .iter()
            .cloned()
            .map(|sa| SaState {
                sa,
                last_replay: None,
            })
            .collect();
        debug!(links = config.home_links.len(), at = ?now, "home agent created");
        Ok(HomeAgent {
            replies: TokenBucket::new(config.reply_rate, now),
            config,
            sas,
            cache: BTreeMap::new(),
            held: BTreeMap::new(),
            at_home: BTreeMap::new(),
            learned: BTreeMap::new(),
            adverts: BTreeMap::new(),
            out: VecDeque::new(),
            counters: HaCounters::default(),
            rng: Rng::seed(seed),
            wall: None,
            next_ticket: 1,
        })
    }

    /// Tells the machine the time of day: `ntp` is the NTP time at `now`.
    /// Call at start and whenever the system clock is stepped; RFC 4285
    /// timestamp checks refuse every BU until it has been called.
    pub fn set_wall_clock(&mut self, now: Instant, ntp: NtpTimestamp) {
        self.wall = Some((now, ntp));
    }

    /// Warm start from a persisted binding cache (§3.2 last bullet: UMIP
    /// ignored its own): each record still alive at `now`, on a configured
    /// home link, in a served prefix, with its SA still configured (or lab
    /// mode), becomes a bound entry again and its proxy entries, route and
    /// data-plane entry are emitted again (no barrier: nothing waits on
    /// them). Records for a home address already in the cache, and the
    /// rest, are dropped; kernel leftovers of dropped records are the
    /// daemon's per-owner reconciliation's. Returns how many were adopted.
    pub fn restore(&mut self, records: Vec<BindingRecord>, now: Instant) -> usize {
        let mut adopted = 0;
        for r in records {
            if r.expires_at <= now
                || self.cache.contains_key(&r.home_address)
                || r.care_of == r.home_address
                || match r.udp {
                    None => !self.is_valid_care_of(r.care_of, r.home_address),
                    Some(_) => {
                        self.config.dsmip.is_none()
                            || !r.care_of.to_ipv4_mapped().is_some_and(is_usable_ipv4)
                    }
                }
            {
                continue;
            }
            let Some(link) = self
                .config
                .home_links
                .iter()
                .find(|l| l.ifindex == r.ifindex)
            else {
                continue;
            };
            if served_prefix(link, r.home_address, now).is_none() {
                continue;
            }
            // HA-7: a binding the (new) access rules refuse is not kept.
            if self.acl_action(r.home_address) == AclAction::Deny {
                continue;
            }
            // RFC 3963: a mobile router still permitted, for prefixes it
            // still may use.
            if r.mobile_router
                && self
                    .mobile_network_prefixes_allowed(r.home_address, &r.prefixes)
                    .is_err()
            {
                continue;
            }
            // The SA must still exist and, if it names a home address,
            // name this one.
            let sa_index = match r.spi {
                Some(spi) => match self.sas.iter().position(|s| {
                    s.sa.spi == spi
                        && match &s.sa.principal {
                            Principal::HomeAddress(a) => *a == r.home_address,
                            Principal::MnId(_) => true,
                        }
                }) {
                    Some(i) => Some(i),
                    None => continue,
                },
                None if self.config.security == super::Security::Rfc4285 => continue,
                None => None,
            };
            if let (Some(i), Some(v)) = (sa_index, r.last_replay) {
                let last = &mut self.sas[i].last_replay;
                *last = Some(last.map_or(v, |l| l.max(v)));
            }
            let entry = Entry {
                hoa: r.home_address,
                care_of: r.care_of,
                ifindex: r.ifindex,
                link_local: r
                    .link_local
                    .then(|| super::cache::link_local_of(r.home_address)),
                sequence: r.sequence,
                lifetime: r.lifetime,
                spi: r.spi,
                state: EntryState::Bound {
                    expires_at: r.expires_at,
                },
                pending: None,
                installed: true,
                prefixes: if r.mobile_router {
                    r.prefixes
                } else {
                    Vec::new()
                },
                mobile_router: r.mobile_router,
                udp: r.udp,
                nat: r.nat,
                ipv4_home: r.ipv4_home.filter(|a| self.ipv4_home_usable(*a)),
            };
            self.emit_install(&entry);
            self.schedule_periodic(now, entry.hoa, entry.ifindex);
            self.cache.insert(entry.hoa, entry);
            adopted += 1;
        }
        info!(adopted, "home agent binding cache restored");
        adopted
    }

    /// The daemon stops: every installed binding's proxy entries, route
    /// and data-plane entry are removed (nothing would serve them), while
    /// the cache stays as it is for [`HomeAgent::bindings`] to persist; a
    /// restarted home agent puts them back with [`HomeAgent::restore`].
    pub fn withdraw(&mut self) {
        let installed: Vec<Entry> = self
            .cache
            .values()
            .filter(|e| e.installed)
            .cloned()
            .collect();
        for entry in &installed {
            self.emit_uninstall(entry);
        }
        let at_home = std::mem::take(&mut self.at_home);
        for (hoa, (ifindex, prefixes)) in at_home {
            for r in self.home_route_specs(hoa, ifindex, &prefixes) {
                self.out.push_back(HaOutput::Kernel(KernelOp::DelRoute(r)));
            }
        }
    }

    // ----------------------------------------------------------- getters --

    /// The bound entries, for persistence.
    pub fn bindings(&self) -> Vec<BindingRecord> {
        self.cache
            .values()
            .filter_map(|e| {
                let EntryState::Bound { expires_at } = e.state else {
                    return None;
                };
                Some(BindingRecord {
                    home_address: e.hoa,
                    care_of: e.care_of,
                    ifindex: e.ifindex,
                    link_local: e.link_local.is_some(),
                    sequence: e.sequence,
                    lifetime: e.lifetime,
                    expires_at,
                    spi: e.spi,
                    last_replay: e.spi.and_then(|spi| {
                        self.sas
                            .iter()
                            .find(|s| s.sa.spi == spi)
                            .and_then(|s| s.last_replay)
                    }),
                    mobile_router: e.mobile_router,
                    prefixes: e.prefixes.clone(),
                    udp: e.udp,
                    nat: e.nat,
                    ipv4_home: e.ipv4_home,
                })
            })
            .collect()
    }

    /// The binding cache and counters; `now` gives the remaining lifetimes.
    pub fn status(&self, now: Instant) -> HaStatus {
        let bindings = self
            .cache
            .values()
            .map(|e| {
                let (state, remaining) = match e.state {
                    EntryState::Dad { ba_at } => (BindingState::Dad { ba_at }, e.lifetime),
                    EntryState::Installing { .. } => (BindingState::Installing, e.lifetime),
                    EntryState::Bound { expires_at } => (
                        BindingState::Bound,
                        expires_at.saturating_duration_since(now),
                    ),
                };
                BindingStatus {
                    home_address: e.hoa,
                    care_of: e.care_of,
                    ifindex: e.ifindex,
                    link_local: e.link_local.is_some(),
                    sequence: e.sequence,
                    lifetime: e.lifetime,
                    remaining,
                    spi: e.spi,
                    state,
                    mobile_router: e.mobile_router,
                    prefixes: e.prefixes.clone(),
                    udp: e.udp,
                    nat: e.nat,
                    ipv4_home: e.ipv4_home,
                }
            })
            .collect();
        HaStatus {
            bindings,
            counters: self.counters.clone(),
        }
    }

    pub fn counters(&self) -> &HaCounters {
        &self.counters
    }

    pub fn config(&self) -> &HaConfig {
        &self.config
    }

    /// The next DAD end, binding expiry or Mobile Prefix Advertisement.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let bindings = self.cache.values().filter_map(|e| match e.state {
            EntryState::Dad { ba_at } => Some(ba_at),
            EntryState::Bound { expires_at } => Some(expires_at),
            EntryState::Installing { .. } => None,
        });
        let adverts = self
            .adverts
            .iter()
            .filter(|(hoa, _)| self.is_bound(**hoa))
            .map(|(_, a)| a.due);
        bindings.chain(adverts).min()
    }

    pub fn poll_output(&mut self) -> Option<HaOutput> {
        self.out.pop_front()
    }

    // ------------------------------------------------------------ inputs --

    /// A Mobility Header message (HA-1 … HA-12).
    pub fn handle_mh(&mut self, now: Instant, m: &MhReceived<'_>) {
        self.handle_mh_from(now, m, None);
    }

    /// DSMIPv6 signalling (DS-1, DS-2): `packet` came in UDP to our port
    /// 4191 from `from`: an IPv6 header (source the home address,
    /// destination our home agent address) and the Mobility Header right
    /// after it. The answer goes back to `from` in UDP
    /// ([`HaOutput::Udp`]).
    pub fn handle_udp(&mut self, now: Instant, from: SocketAddrV4, packet: &[u8]) {
        if self.config.dsmip.is_none() {
            return self.drop(DropReason::DsmipOff);
        }
        let Some((src, dst, bytes)) = dsmip::signalling(packet) else {
            return self.drop(DropReason::DsmipMalformed);
        };
        let Some(ifindex) = self
            .config
            .home_links
            .iter()
            .find(|l| l.address == dst)
            .map(|l| l.ifindex)
        else {
            return self.drop(DropReason::NotOurAddress);
        };
        let m = MhReceived {
            ifindex,
            src,
            dst,
            hao: None,
            rh2: None,
            bytes,
        };
        self.handle_mh_from(now, &m, Some(from));
    }

    fn handle_mh_from(&mut self, now: Instant, m: &MhReceived<'_>, udp: Option<SocketAddrV4>) {
        if let Some(&t) = m.bytes.get(2) {
            *self.counters.received.entry(t).or_default() += 1;
        }
        // HA-1, RFC 6275 §6.1.1: the pseudo-header holds the home address
        // when a HAO travels, the final destination when an RH2 does.
        let pseudo_src = m.hao.unwrap_or(m.src);
        let pseudo_dst = m.rh2.unwrap_or(m.dst);
        if !verify_checksum(pseudo_src, pseudo_dst, m.bytes) {
            return self.drop(DropReason::BadChecksum);
        }
        let message = match MobilityHeader::parse(m.bytes) {
            Ok(message) => message,
            Err(e) => {
                return self.drop(match e.kind {
                    MhErrorKind::PayloadProto { .. } => DropReason::PayloadProto,
                    MhErrorKind::HeaderLength { .. } => DropReason::HeaderLength,
                    _ => DropReason::Malformed,
                });
            }
        };
        match message.body {
            MhBody::BindingUpdate(bu) => self.handle_bu(now, m, &message, bu, udp),
            // Binding Errors go back over IPv6 only: a sender in UDP is
            // not worth a reply before it authenticated.
            MhBody::Unknown { .. } if udp.is_some() => self.drop(DropReason::NotForHomeAgent),
            // RFC 6275 §9.2: an unrecognised MH Type → Binding Error 2.
            MhBody::Unknown { .. } => {
                self.binding_error(now, m, BeStatus::UnrecognizedMhType);
            }
            _ => self.drop(DropReason::NotForHomeAgent),
        }
    }

    /// ICMPv6 from a home link or the outside: DHAAD Requests (HA-17), and
    /// Neighbor Solicitations / Advertisements, which during proxy DAD
    /// reveal that another node holds the home address (HA-9).
    pub fn handle_icmp6(&mut self, now: Instant, r: &Received<'_>) {
        match r.bytes.first() {
            Some(134) => self.handle_ra(now, r),
            Some(135 | 136) => self.handle_nd(now, r),
            Some(144) => match MobilityIcmp::parse(r.bytes) {
                Ok(MobilityIcmp::HaadRequest(req)) => self.handle_dhaad(now, r, req),
                _ => self.drop(DropReason::Malformed),
            },
            _ => self.drop(DropReason::Icmp6Ignored),
        }
    }

    /// The driver carried out every output before `Barrier(ticket)`;
    /// `ok` is false when any of them failed (HA-20).
    pub fn handle_applied(&mut self, now: Instant, ticket: ApplyTicket, ok: bool) {
        if let Some(reply) = self.held.remove(&ticket) {
            // A deregistration: its BA leaves once the entries are gone
            // (whatever the outcome: the binding is gone from the cache).
            self.send_ba(now, &reply, BaStatus::Accepted, Duration::ZERO, None);
            return;
        }
        let Some(hoa) = self
            .cache
            .values()
            .find(|e| e.ticket() == Some(ticket))
            .map(|e| e.hoa)
        else {
            return;
        };
        let Some(mut entry) = self.cache.remove(&hoa) else {
            return;
        };
        let reply = entry.pending.take();
        if !ok {
            // Undo whatever part did get applied; status 143.
            info!(hoa = %hoa, "home agent: forwarding setup failed, binding removed");
            self.emit_uninstall(&entry);
            if let Some(reply) = reply {
                self.send_ba(
                    now,
                    &reply,
                    BaStatus::ForwardingSetupFailed,
                    Duration::ZERO,
                    None,
                );
            }
            return;
        }
        let first = !entry.installed;
        entry.installed = true;
        entry.state = EntryState::Bound {
            expires_at: now + entry.lifetime,
        };
        if first {
            self.announce(&entry);
            self.schedule_periodic(now, entry.hoa, entry.ifindex);
        }
        info!(hoa = %hoa, coa = %entry.care_of, lifetime = ?entry.lifetime, "home agent: binding registered");
        let lifetime = entry.lifetime;
        self.cache.insert(hoa, entry);
        if let Some(reply) = reply {
            let status = if reply.prefix_limited {
                BaStatus::AcceptedPrefixDiscoveryNecessary
            } else {
                BaStatus::Accepted
            };
            self.send_ba(now, &reply, status, lifetime, None);
        }
    }

    /// Another home agent on a home link (HA-16, RFC 6275 §10.5.1): the
    /// router's link-local address keys it, `addresses` are its global
    /// addresses (from R-flag PIOs), listed in DHAAD replies until
    /// `lifetime` runs out; lifetime 0 or no global address forgets it.
    /// [`HomeAgent::handle_icmp6`] calls this for every RA with the H flag
    /// on a home link; a driver with its own RA listener may call it.
    #[allow(clippy::too_many_arguments)]
    pub fn learn_home_agent(
        &mut self,
        now: Instant,
        ifindex: IfIndex,
        router: Ipv6Addr,
        addresses: Vec<Ipv6Addr>,
        preference: i16,
        lifetime: Duration,
        mobile_router: bool,
    ) {
        let ours = |a: &Ipv6Addr| self.config.home_links.iter().any(|l| l.address == *a);
        let addresses: Vec<_> = addresses
            .into_iter()
            .filter(|a| is_unicast(*a) && !is_link_local(*a) && !ours(a))
            .take(MAX_ADDRESSES_PER_HOME_AGENT)
            .collect();
        let key = (ifindex, router);
        if addresses.is_empty() || lifetime.is_zero() {
            self.learned.remove(&key);
            return;
        }
        // Bounded whatever a link's RAs claim.
        if self.learned.len() >= MAX_LEARNED_HOME_AGENTS && !self.learned.contains_key(&key) {
            return;
        }
        self.learned.insert(
            key,
            Learned {
                addresses,
                preference,
                mobile_router,
                expires_at: now + lifetime,
            },
        );
    }

    /// DAD ends (HA-9) and expiries (HA-15); early calls do nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        let due: Vec<Ipv6Addr> = self
            .cache
            .values()
            .filter(|e| match e.state {
                EntryState::Dad { ba_at } => ba_at <= now,
                EntryState::Bound { expires_at } => expires_at <= now,
                EntryState::Installing { .. } => false,
            })
            .map(|e| e.hoa)
            .collect();
        for hoa in due {
            let Some(mut entry) = self.cache.remove(&hoa) else {
                continue;
            };
            match entry.state {
                EntryState::Dad { .. } => {
                    // No conflict reported: install, the BA follows the
                    // driver's confirmation.
                    let ticket = self.install_with_barrier(&entry);
                    entry.state = EntryState::Installing { ticket };
                    self.cache.insert(hoa, entry);
                }
                EntryState::Bound { .. } => {
                    info!(hoa = %hoa, "home agent: binding expired");
                    self.counters.expired += 1;
                    self.emit_uninstall(&entry);
                }
                EntryState::Installing { .. } => {
                    self.cache.insert(hoa, entry);
                }
            }
        }
        self.learned.retain(|_, l| l.expires_at > now);
        self.advertise_due(now);
    }

    // ------------------------------------------------------ Binding Update --

    fn handle_bu(
        &mut self,
        now: Instant,
        m: &MhReceived<'_>,
        message: &MobilityHeader,
        bu: BindingUpdate,
        udp: Option<SocketAddrV4>,
    ) {
        match self.process_bu(now, m, message, bu, udp) {
            Ok(()) => {}
            Err(Refusal::Drop(reason)) => self.drop(reason),
            Err(Refusal::Ba {
                status,
                reply,
                authenticated,
                sequence,
            }) => {
                if !authenticated && !self.replies.try_take(now) {
                    return self.drop(DropReason::RateLimited);
                }
                debug!(hoa = %reply.hoa, status = u8::from(status), "home agent: BU refused");
                self.send_ba(now, &reply, status, Duration::ZERO, sequence);
            }
        }
    }

    fn process_bu(
        &mut self,
        now: Instant,
        m: &MhReceived<'_>,
        message: &MobilityHeader,
        bu: BindingUpdate,
        udp: Option<SocketAddrV4>,
    ) -> Result<(), Refusal> {
        // RFC 6275 §6.1: only a BA may come with a Type 2 Routing Header.
        if m.rh2.is_some() {
            return Err(Refusal::Drop(DropReason::RoutingHeader));
        }
        // RFC 5555 §4.2.1: in UDP the inner source is the home address
        // itself; a Home Address option has no place there.
        if udp.is_some() && m.hao.is_some() {
            return Err(Refusal::Drop(DropReason::DsmipMalformed));
        }
        let hoa = m.hao.unwrap_or(m.src);
        if !is_unicast(hoa) || !is_unicast(m.src) {
            return Err(Refusal::Drop(DropReason::BadHomeAddress));
        }
        // HA-4: no Binding Authorization Data in a home registration.
        if bu.flags.home_registration && message.options.binding_authorization_data().is_some() {
            return Err(Refusal::Drop(DropReason::AuthorizationData));
        }
        // HA-3: the Alternate Care-of Address option wins over the source.
        // DS-2: in UDP, the IPv4 Care-of Address option names it (its
        // IPv4-mapped form stands for it as an IPv6 address); DS-3: a NAT
        // lies between when it is not the source we saw.
        let ipv4_care_of = udp.and_then(|_| dsmip::ipv4_care_of(&message.options));
        let care_of = match (udp, ipv4_care_of) {
            (None, _) => message.options.alternate_care_of().unwrap_or(m.src),
            (Some(_), Some(v4)) => dsmip::mapped(v4),
            (Some(_), None) => Ipv6Addr::UNSPECIFIED,
        };
        let mut reply = Reply {
            ha_address: m.dst,
            reply_to: m.src,
            hoa,
            care_of,
            sequence: bu.sequence,
            spi: None,
            replay: None,
            prefix_limited: false,
            mobile_router: bu.flags.mobile_router,
            udp,
            nat: matches!((udp, ipv4_care_of), (Some(from), Some(v4)) if *from.ip() != v4),
            force_udp: bu.flags.force_udp,
            ipv4_ack: None,
        };

        // HA-2, AU-1, AU-2: before anything that looks at state.
        let authn = self.authenticate(now, m, message, &mut reply)?;

        let refuse = |status, reply: &Reply| {
            Err(Refusal::Ba {
                status,
                reply: reply.clone(),
                authenticated: true,
                sequence: None,
            })
        };
        let existing = self.cache.get(&hoa).cloned();
        // HA-6: not a home agent for this address.
        let Some(link) = self
            .config
            .home_links
            .iter()
            .find(|l| l.address == m.dst)
            .cloned()
        else {
            return refuse(BaStatus::HomeRegistrationNotSupported, &reply);
        };
        if !bu.flags.home_registration {
            return match existing {
                Some(_) => refuse(BaStatus::RegistrationTypeChangeDisallowed, &reply),
                None => Err(Refusal::Drop(DropReason::NotHomeRegistration)),
            };
        }
        if existing.as_ref().is_some_and(|e| e.ticket().is_some()) {
            return Err(Refusal::Drop(DropReason::AwaitingKernel));
        }
        // A binding changes only under the SA that made it: an MN-ID SA
        // may name any home address, and lab mode any at all, but neither
        // may take over another node's binding.
        let spi = authn.sa.map(|i| self.sas[i].sa.spi);
        if existing.as_ref().is_some_and(|e| e.spi != spi) {
            return refuse(BaStatus::AdministrativelyProhibited, &reply);
        }
        // HA-6: the home address must be on the home link's prefixes (and
        // not one of our own addresses).
        let Some(prefix_valid_until) = served_prefix(&link, hoa, now) else {
            return refuse(BaStatus::NotHomeSubnet, &reply);
        };
        if self.config.home_links.iter().any(|l| l.address == hoa) {
            return refuse(BaStatus::NotHomeSubnet, &reply);
        }
        // HA-5: the sequence number, modulo 2^16.
        if let Some(e) = &existing
            && !seq::is_newer(bu.sequence, e.sequence)
        {
            return Err(Refusal::Ba {
                status: BaStatus::SequenceNumberOutOfWindow,
                reply,
                authenticated: true,
                sequence: Some(e.sequence),
            });
        }
        // DS-2: a BU in UDP without an IPv4 care-of address, or with one
        // no packet can be sent to.
        if udp.is_some() && !ipv4_care_of.is_some_and(is_usable_ipv4) {
            return refuse(BaStatus::InvalidCareOfAddress, &reply);
        }
        // HA-12: deregistration.
        if bu.lifetime.0 == 0 || care_of == hoa {
            return self.deregister(now, existing, reply);
        }
        // RFC 3963 §6.1: a mobile router, for its mobile networks.
        let prefixes = if bu.flags.mobile_router {
            match self.mobile_networks(hoa, message) {
                Ok(p) => p,
                Err(status) => return refuse(status, &reply),
            }
        } else {
            Vec::new()
        };
        // HA-3: a usable care-of address.
        if udp.is_none() && !self.is_valid_care_of(care_of, hoa) {
            return refuse(BaStatus::InvalidCareOfAddress, &reply);
        }
        // HA-7: policy, then resources.
        if self.acl_action(hoa) == AclAction::Deny {
            return refuse(BaStatus::AdministrativelyProhibited, &reply);
        }
        if existing.is_none() && self.cache.len() >= self.config.max_bindings {
            return refuse(BaStatus::InsufficientResources, &reply);
        }
        // HA-8: no longer than asked, than configured, than the prefix.
        let mut lifetime = bu
            .lifetime
            .as_duration()
            .min(self.config.max_binding_lifetime);
        if let Some(until) = prefix_valid_until {
            let left = until.saturating_duration_since(now);
            if left < lifetime {
                lifetime = left;
                reply.prefix_limited = true;
            }
        }
        // Whole 4-second units: what the BA can say.
        let units = FourSeconds::from_secs(u32::try_from(lifetime.as_secs()).unwrap_or(u32::MAX));
        if units.0 == 0 {
            return refuse(BaStatus::NotHomeSubnet, &reply);
        }
        let lifetime = units.as_duration();
        // DS-7: an IPv4 home address, if asked for; its refusal is the
        // acknowledgement's status, not the binding's.
        let ipv4_home = match dsmip::ipv4_home_request(&message.options) {
            Some(request) => {
                let (granted, ack) = self.assign_ipv4_home(hoa, request, existing.as_ref());
                reply.ipv4_ack = Some(ack);
                granted
            }
            None => None,
        };
        let grant = Grant {
            lifetime,
            spi,
            prefixes,
            ipv4_home,
        };
        match existing {
            None => self.register(now, &link, bu, reply, grant),
            Some(entry) => self.refresh(now, entry, reply, grant),
        }
        Ok(())
    }

    /// HA-2, AU-1, AU-2 (RFC 4285 §5-§6). Fills the reply's SA and replay
    /// value once the authenticator checks out, so refusals after that are
    /// authenticated too.
    fn authenticate(
        &mut self,
        now: Instant,
        m: &MhReceived<'_>,
        message: &MobilityHeader,
        reply: &mut Reply,
    ) -> Result<Authenticated, Refusal> {
        let unauthenticated = |reply: &Reply| Refusal::Ba {
            status: BaStatus::AuthFailed,
            reply: reply.clone(),
            authenticated: false,
            sequence: None,
        };
        let Some(option) = message.options.authentication() else {
            if self.config.security == super::Security::InsecureLabMode {
                return Ok(Authenticated { sa: None });
            }
            self.counters.auth_failures += 1;
            return Err(unauthenticated(reply));
        };
        let index = self
            .sas
            .iter()
            .position(|s| s.sa.spi == option.spi)
            .filter(|_| option.subtype == AuthSubtype::MnHa);
        let Some(index) = index else {
            self.counters.auth_failures += 1;
            return Err(unauthenticated(reply));
        };
        let sa = &self.sas[index].sa;
        let input = mh_auth::mobility_message_auth_input(reply.care_of, reply.hoa, m.bytes);
        let verified = match input {
            Ok(Some(input)) => auth::verify(&sa.key, &input.data, input.received(m.bytes)),
            _ => false,
        };
        // AU-3: the SA must speak for this home address or MN-ID.
        let authorised = match &sa.principal {
            Principal::HomeAddress(a) => *a == reply.hoa,
            Principal::MnId(id) => {
                message.options.mn_identifier() == Some((MnIdSubtype::Nai, id.as_slice()))
            }
        };
        if !verified || !authorised {
            self.counters.auth_failures += 1;
            return Err(unauthenticated(reply));
        }
        // From here the BU is the SA holder's: refusals carry the SA.
        reply.spi = Some(sa.spi);
        let mode = sa.replay;
        let Some(value) = message.options.replay_protection() else {
            self.counters.auth_failures += 1;
            return Err(Refusal::Ba {
                status: BaStatus::MessageIdRequired,
                reply: reply.clone(),
                authenticated: true,
                sequence: None,
            });
        };
        reply.replay = Some(value);
        let clock = self.ntp_now(now);
        match auth::check_replay(mode, value, self.sas[index].last_replay, clock) {
            ReplayVerdict::Fresh => {
                self.sas[index].last_replay = Some(value);
                Ok(Authenticated { sa: Some(index) })
            }
            ReplayVerdict::OutOfWindow { ha_timestamp } => {
                self.counters.auth_failures += 1;
                reply.replay = Some(ha_timestamp.0);
                Err(Refusal::Ba {
                    status: BaStatus::IdMismatch,
                    reply: reply.clone(),
                    authenticated: true,
                    sequence: None,
                })
            }
            ReplayVerdict::Replayed => {
                self.counters.auth_failures += 1;
                Err(Refusal::Drop(DropReason::Replayed))
            }
            ReplayVerdict::NoClock => Err(Refusal::Drop(DropReason::NoWallClock)),
        }
    }

    /// A new binding: proxy DAD first (HA-9), or straight to installing.
    fn register(
        &mut self,
        now: Instant,
        link: &HomeLink,
        bu: BindingUpdate,
        reply: Reply,
        grant: Grant,
    ) {
        let Grant {
            lifetime,
            spi,
            prefixes,
            ipv4_home,
        } = grant;
        let hoa = reply.hoa;
        let mut entry = Entry {
            hoa,
            care_of: reply.care_of,
            ifindex: link.ifindex,
            link_local: bu
                .flags
                .link_local_compat
                .then(|| super::cache::link_local_of(hoa)),
            sequence: reply.sequence,
            lifetime,
            spi,
            state: EntryState::Dad { ba_at: now },
            mobile_router: reply.mobile_router,
            udp: reply.udp,
            nat: reply.nat,
            ipv4_home,
            pending: Some(reply),
            installed: false,
            prefixes,
        };
        match self.config.dad_delay {
            Some(delay) => {
                entry.state = EntryState::Dad { ba_at: now + delay };
                for target in std::iter::once(hoa).chain(entry.link_local) {
                    self.solicit_for_dad(link.ifindex, target);
                }
                debug!(hoa = %hoa, "home agent: proxy DAD started");
            }
            None => {
                let ticket = self.install_with_barrier(&entry);
                entry.state = EntryState::Installing { ticket };
            }
        }
        self.cache.insert(hoa, entry);
    }

    /// HA-11 (and HA-9's "updates during DAD only change the care-of
    /// address and the sequence number").
    fn refresh(&mut self, now: Instant, mut entry: Entry, reply: Reply, grant: Grant) {
        let Grant {
            lifetime,
            spi,
            prefixes,
            ipv4_home,
        } = grant;
        // DS-4: a NAT's new mapping is a move too.
        let moved = entry.care_of != reply.care_of || entry.udp != reply.udp;
        let renumbered = entry.prefixes != prefixes
            || entry.mobile_router != reply.mobile_router
            || entry.ipv4_home != ipv4_home;
        if renumbered && entry.installed {
            // The old mobile networks' routes (and IPv4 home address) go;
            // emit_install below (or after DAD) puts the new ones.
            for r in self.prefix_route_specs(&entry) {
                self.out.push_back(HaOutput::Kernel(KernelOp::DelRoute(r)));
            }
            self.emit_ipv4_home(&entry, false);
        }
        entry.udp = reply.udp;
        entry.nat = reply.nat;
        entry.ipv4_home = ipv4_home;
        entry.prefixes = prefixes;
        entry.mobile_router = reply.mobile_router;
        entry.care_of = reply.care_of;
        entry.sequence = reply.sequence;
        entry.lifetime = lifetime;
        entry.spi = spi;
        match entry.state {
            EntryState::Dad { .. } => {
                entry.pending = Some(reply);
                self.cache.insert(entry.hoa, entry);
            }
            EntryState::Bound { .. } | EntryState::Installing { .. } if moved || renumbered => {
                // The data plane (and the mobile networks' routes) must
                // follow before the BA says so.
                for r in self.prefix_route_specs(&entry) {
                    self.out.push_back(HaOutput::Kernel(KernelOp::SetRoute(r)));
                }
                self.emit_ipv4_home(&entry, true);
                self.out
                    .push_back(HaOutput::DataPlane(self.binding_op(&entry)));
                let ticket = self.barrier();
                entry.state = EntryState::Installing { ticket };
                entry.pending = Some(reply);
                self.cache.insert(entry.hoa, entry);
            }
            EntryState::Bound { .. } | EntryState::Installing { .. } => {
                entry.state = EntryState::Bound {
                    expires_at: now + lifetime,
                };
                let status = if reply.prefix_limited {
                    BaStatus::AcceptedPrefixDiscoveryNecessary
                } else {
                    BaStatus::Accepted
                };
                self.cache.insert(entry.hoa, entry);
                self.send_ba(now, &reply, status, lifetime, None);
            }
        }
    }

    /// HA-12: lifetime 0 or care-of = home address.
    fn deregister(
        &mut self,
        now: Instant,
        existing: Option<Entry>,
        reply: Reply,
    ) -> Result<(), Refusal> {
        let Some(entry) = existing else {
            return Err(Refusal::Ba {
                status: BaStatus::NotHomeAgentForThisMobileNode,
                reply,
                authenticated: true,
                sequence: None,
            });
        };
        self.cache.remove(&entry.hoa);
        info!(hoa = %entry.hoa, "home agent: binding deregistered");
        if entry.installed {
            self.emit_uninstall(&entry);
            // RFC 3963 §5.7: a mobile router back on its home link still
            // has its mobile networks behind it.
            if entry.mobile_router && reply.care_of == reply.hoa && !entry.prefixes.is_empty() {
                for r in self.home_route_specs(entry.hoa, entry.ifindex, &entry.prefixes) {
                    self.out.push_back(HaOutput::Kernel(KernelOp::SetRoute(r)));
                }
                self.at_home
                    .insert(entry.hoa, (entry.ifindex, entry.prefixes.clone()));
            }
            let ticket = self.barrier();
            self.held.insert(ticket, reply);
        } else {
            // Still in DAD: nothing was installed.
            self.send_ba(now, &reply, BaStatus::Accepted, Duration::ZERO, None);
        }
        Ok(())
    }

    // ------------------------------------------------ home agents list --

    /// HA-16, RFC 6275 §10.5.1: an RA with the H flag on a home link names
    /// a home agent (preference and lifetime from its Home Agent
    /// Information option, else 0 and the router lifetime); without the H
    /// flag its sender is no home agent (any more).
    fn handle_ra(&mut self, now: Instant, r: &Received<'_>) {
        if !self
            .config
            .home_links
            .iter()
            .any(|l| l.ifindex == r.ifindex)
        {
            return self.drop(DropReason::Icmp6Ignored);
        }
        // RFC 4861 §6.1.2: hop limit 255, link-local source.
        if r.hop_limit != 255 {
            return self.drop(DropReason::HopLimit);
        }
        if !is_link_local(r.src) {
            return self.drop(DropReason::Malformed);
        }
        let ra = match NdMessage::parse(r.bytes) {
            Ok(NdMessage::RouterAdvert(ra)) => ra,
            _ => return self.drop(DropReason::Malformed),
        };
        if !ra.flags.home_agent {
            self.learned.remove(&(r.ifindex, r.src));
            return;
        }
        let info = ra.options.iter().find_map(|o| match o {
            NdOption::HomeAgentInfo(h) => Some(h.clone()),
            _ => None,
        });
        let (preference, lifetime, mobile_router) = match &info {
            Some(h) => (h.preference, h.lifetime, h.mobile_router()),
            None => (0, ra.router_lifetime, false),
        };
        let addresses = ra
            .options
            .prefixes()
            .filter(|p| p.router_addr)
            .map(|p| p.prefix)
            .collect();
        self.learn_home_agent(
            now,
            r.ifindex,
            r.src,
            addresses,
            preference,
            Duration::from_secs(u64::from(lifetime)),
            mobile_router,
        );
    }

    // ------------------------------------------------------- proxy DAD --

    fn handle_nd(&mut self, now: Instant, r: &Received<'_>) {
        // RFC 4861 §7.1.1-§7.1.2: ND from off-link is forged.
        if r.hop_limit != 255 {
            return self.drop(DropReason::HopLimit);
        }
        let target = match NdMessage::parse(r.bytes) {
            Ok(NdMessage::NeighborAdvert(na)) => na.target,
            // Another node's DAD probe for the address (source ::), or any
            // solicitation from an address it holds, is a conflict only in
            // the DAD case: a resolution (unicast source) is not.
            Ok(NdMessage::NeighborSolicit(ns)) if r.src.is_unspecified() => ns.target,
            Ok(_) => return,
            Err(_) => return self.drop(DropReason::Malformed),
        };
        let conflict = self
            .cache
            .values()
            .find(|e| {
                matches!(e.state, EntryState::Dad { .. })
                    && e.ifindex == r.ifindex
                    && (e.hoa == target || e.link_local == Some(target))
            })
            .map(|e| e.hoa);
        let Some(hoa) = conflict else {
            return;
        };
        if let Some(entry) = self.cache.remove(&hoa) {
            info!(hoa = %hoa, "home agent: proxy DAD conflict, binding refused");
            self.counters.dad_conflicts += 1;
            if let Some(reply) = entry.pending {
                self.send_ba(
                    now,
                    &reply,
                    BaStatus::DuplicateAddressDetectionFailed,
                    Duration::ZERO,
                    None,
                );
            }
        }
    }

    fn solicit_for_dad(&mut self, ifindex: IfIndex, target: Ipv6Addr) {
        // RFC 4862 §5.4.2: from ::, to the solicited-node multicast group.
        let group = solicited_node(target);
        let ns = NdMessage::NeighborSolicit(NeighborSolicit::new(target));
        self.out.push_back(HaOutput::Icmp6(Transmit {
            ifindex,
            src: Some(Ipv6Addr::UNSPECIFIED),
            dst: group,
            transport: Transport::Icmpv6,
            hop_limit: Some(255),
            payload: ns.to_bytes_with_checksum(Ipv6Addr::UNSPECIFIED, group),
        }));
    }

    /// HA-10: unsolicited NA (override) for the home address (and the
    /// link-local one under L) to all nodes, so neighbours' caches point
    /// at us at once (RFC 6275 §10.4.1).
    fn announce(&mut self, entry: &Entry) {
        let Some(link) = self
            .config
            .home_links
            .iter()
            .find(|l| l.ifindex == entry.ifindex)
        else {
            return;
        };
        let all_nodes = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
        let lla = link.link_layer_address.clone();
        for target in std::iter::once(entry.hoa).chain(entry.link_local) {
            let mut na = NeighborAdvert::new(target, false, false, true);
            if let Some(lla) = &lla {
                na.options.push(NdOption::TargetLla(lla.clone()));
            }
            self.out.push_back(HaOutput::Icmp6(Transmit {
                ifindex: entry.ifindex,
                src: None,
                dst: all_nodes,
                transport: Transport::Icmpv6,
                hop_limit: Some(255),
                payload: NdMessage::NeighborAdvert(na).to_bytes(),
            }));
        }
    }

    // ----------------------------------- Mobile Prefix Advertisements --

    /// A home link's prefixes and their lifetimes now (the daemon reads
    /// them from the home agent's own addresses on the link). A change
    /// other than time passing (RFC 6275 §10.6.2: a prefix added or
    /// removed, a lifetime changed) sends every mobile node registered on
    /// the link an unsolicited Mobile Prefix Advertisement, retransmitted
    /// until it solicits (HA-18). Binding lifetimes follow the new valid
    /// lifetimes from the next registration on (HA-8).
    pub fn set_home_prefixes(
        &mut self,
        now: Instant,
        ifindex: IfIndex,
        prefixes: Vec<ServedPrefix>,
    ) {
        let Some(link) = self
            .config
            .home_links
            .iter_mut()
            .find(|l| l.ifindex == ifindex)
        else {
            return;
        };
        // A home agent whose own address left every served prefix would
        // serve nothing (HomeAgent::new refuses that configuration).
        if !prefixes
            .iter()
            .any(|p| p.prefix.contains_addr(link.address))
        {
            return;
        }
        let changed = prefix_adv::changed(&link.prefixes, &prefixes, now);
        if changed {
            debug!(old = ?link.prefixes, new = ?prefixes, at = ?now, "home agent: home prefixes");
        }
        link.prefixes = prefixes;
        if !changed || !self.config.mobile_prefix_advertisements {
            return;
        }
        info!(
            ifindex,
            "home agent: home prefixes changed, telling the mobile nodes"
        );
        let bound: Vec<Ipv6Addr> = self
            .cache
            .values()
            .filter(|e| e.ifindex == ifindex && matches!(e.state, EntryState::Bound { .. }))
            .map(|e| e.hoa)
            .collect();
        for hoa in bound {
            let identifier = self.rng.range_u64(0, u64::from(u16::MAX)) as u16;
            self.adverts.insert(
                hoa,
                AdvertState {
                    due: now,
                    outstanding: Some(Outstanding {
                        identifier,
                        retransmissions_left: prefix_adv::PREFIX_ADV_RETRIES + 1,
                    }),
                },
            );
        }
        self.advertise_due(now);
    }

    /// ICMPv6 from a mobile node away from home, captured with its Home
    /// Address option (the kernel drops such packets): Mobile Prefix
    /// Solicitations (HA-18, RFC 6275 §10.6.2). Anything else is dropped.
    pub fn handle_captured_icmp6(&mut self, now: Instant, m: &MhReceived<'_>) {
        let Some(hoa) = m.hao else {
            return self.drop(DropReason::NoBinding);
        };
        // The checksum covers the home address (RFC 6275 §6.3).
        if !v6edge_wire::nd::verify_checksum(hoa, m.dst, m.bytes) {
            return self.drop(DropReason::BadChecksum);
        }
        let solicit = match MobilityIcmp::parse(m.bytes) {
            Ok(MobilityIcmp::MobilePrefixSolicit(s)) => s,
            Ok(_) => return self.drop(DropReason::Icmp6Ignored),
            Err(_) => return self.drop(DropReason::Malformed),
        };
        if !self.config.mobile_prefix_advertisements {
            return self.drop(DropReason::PrefixAdvertisementsOff);
        }
        // RFC 6275 §10.6.2: from a mobile node with a binding here, at its
        // registered care-of address, to the address it registered with.
        let Some(entry) = self
            .cache
            .get(&hoa)
            .filter(|e| matches!(e.state, EntryState::Bound { .. }) && e.care_of == m.src)
        else {
            return self.drop(DropReason::NoBinding);
        };
        let ifindex = entry.ifindex;
        let Some(link) = self
            .config
            .home_links
            .iter()
            .find(|l| l.ifindex == ifindex && l.address == m.dst)
        else {
            return self.drop(DropReason::NoBinding);
        };
        let src = link.address;
        // Unauthenticated input (the SA protects Binding Updates only):
        // answered within the shared reply budget.
        if !self.replies.try_take(now) {
            return self.drop(DropReason::RateLimited);
        }
        self.counters.prefix_solicitations += 1;
        let MobilePrefixSolicit { identifier, .. } = solicit;
        debug!(hoa = %hoa, identifier, "home agent: Mobile Prefix Solicitation answered");
        self.send_prefix_advert(now, hoa, identifier, src, ifindex);
        self.counters.prefix_advertisements_solicited += 1;
        // It also acknowledges any unsolicited advertisement in flight.
        self.schedule_periodic(now, hoa, ifindex);
    }

    fn is_bound(&self, hoa: Ipv6Addr) -> bool {
        self.cache
            .get(&hoa)
            .is_some_and(|e| matches!(e.state, EntryState::Bound { .. }))
    }

    /// RFC 6275 §10.6.2's periodic schedule for one binding.
    fn schedule_periodic(&mut self, now: Instant, hoa: Ipv6Addr, ifindex: IfIndex) {
        if !self.config.mobile_prefix_advertisements {
            return;
        }
        let Some(link) = self.config.home_links.iter().find(|l| l.ifindex == ifindex) else {
            return;
        };
        let due = prefix_adv::next_periodic(&link.prefixes, now, &mut self.rng);
        self.adverts.insert(
            hoa,
            AdvertState {
                due,
                outstanding: None,
            },
        );
    }

    /// Sends what is due: a first unsolicited advertisement, its
    /// retransmissions every PREFIX_ADV_TIMEOUT until the mobile node
    /// solicits (at most PREFIX_ADV_RETRIES), the periodic ones.
    fn advertise_due(&mut self, now: Instant) {
        self.adverts.retain(|hoa, _| {
            self.cache
                .get(hoa)
                .is_some_and(|e| matches!(e.state, EntryState::Bound { .. }))
        });
        let due: Vec<(Ipv6Addr, AdvertState)> = self
            .adverts
            .iter()
            .filter(|(_, a)| a.due <= now)
            .map(|(h, a)| (*h, *a))
            .collect();
        for (hoa, state) in due {
            let Some(ifindex) = self.cache.get(&hoa).map(|e| e.ifindex) else {
                continue;
            };
            let Some(src) = self
                .config
                .home_links
                .iter()
                .find(|l| l.ifindex == ifindex)
                .map(|l| l.address)
            else {
                continue;
            };
            let outstanding = match state.outstanding {
                // Unacknowledged after its retransmissions: back to the
                // periodic schedule.
                Some(o) if o.retransmissions_left == 0 => {
                    self.schedule_periodic(now, hoa, ifindex);
                    continue;
                }
                Some(o) => o,
                None => Outstanding {
                    identifier: self.rng.range_u64(0, u64::from(u16::MAX)) as u16,
                    retransmissions_left: prefix_adv::PREFIX_ADV_RETRIES + 1,
                },
            };
            self.send_prefix_advert(now, hoa, outstanding.identifier, src, ifindex);
            self.counters.prefix_advertisements_unsolicited += 1;
            self.adverts.insert(
                hoa,
                AdvertState {
                    due: now + prefix_adv::PREFIX_ADV_TIMEOUT,
                    outstanding: Some(Outstanding {
                        retransmissions_left: outstanding.retransmissions_left - 1,
                        ..outstanding
                    }),
                },
            );
        }
    }

    fn send_prefix_advert(
        &mut self,
        now: Instant,
        hoa: Ipv6Addr,
        identifier: u16,
        src: Ipv6Addr,
        ifindex: IfIndex,
    ) {
        // Not to an IPv4 care-of address: an ICMPv6 message in UDP is no
        // Mobility Header, and RFC 5555 carries none.
        let Some(care_of) = self
            .cache
            .get(&hoa)
            .filter(|e| e.udp.is_none())
            .map(|e| e.care_of)
        else {
            return;
        };
        let Some(link) = self.config.home_links.iter().find(|l| l.ifindex == ifindex) else {
            return;
        };
        let payload = prefix_adv::advertisement(identifier, &link.prefixes, now, src, hoa);
        self.out
            .push_back(HaOutput::Icmp6ToHomeAddress(Icmp6ToHomeAddress {
                src,
                care_of,
                home_address: hoa,
                payload,
            }));
    }

    // ------------------------------------------------------------ DHAAD --

    /// RFC 6275 §10.5.1: the request comes from a mobile node away, so on
    /// whatever interface faces it; the home link is the one whose
    /// home-agents anycast address it was sent to, and the reply goes by
    /// the routing table (no interface named).
    fn handle_dhaad(&mut self, now: Instant, r: &Received<'_>, req: HaadRequest) {
        let link = self
            .config
            .home_links
            .iter()
            .find(|l| {
                l.prefixes.iter().any(|p| {
                    p.valid_until.is_none_or(|t| t > now)
                        && dhaad::home_agents_anycast(&p.prefix) == Some(r.dst)
                })
            })
            .cloned();
        let Some(link) = link.filter(|_| is_unicast(r.src)) else {
            return self.drop(DropReason::DhaadNotAnycast);
        };
        // RFC 3963 §7.3: a mobile router wants home agents that serve
        // mobile routers; this one does not (yet).
        let mut candidates = Vec::new();
        if !req.mobile_router {
            candidates.push(Candidate {
                address: link.address,
                preference: link.preference,
            });
        }
        let peers = link
            .peers
            .iter()
            .map(|p| (p.address, p.preference, p.mobile_router));
        let learned = self
            .learned
            .range((link.ifindex, Ipv6Addr::UNSPECIFIED)..)
            .take_while(|((i, _), _)| *i == link.ifindex)
            .filter(|(_, l)| l.expires_at > now)
            .flat_map(|(_, l)| {
                l.addresses
                    .iter()
                    .map(|a| (*a, l.preference, l.mobile_router))
            })
            .collect::<Vec<_>>();
        let mut seen = vec![link.address];
        for (address, preference, mobile_router) in peers.chain(learned) {
            if seen.contains(&address) || (req.mobile_router && !mobile_router) {
                continue;
            }
            seen.push(address);
            candidates.push(Candidate {
                address,
                preference,
            });
        }
        if candidates.is_empty() {
            return;
        }
        if !self.replies.try_take(now) {
            return self.drop(DropReason::RateLimited);
        }
        let home_agents = dhaad::order(candidates, &mut self.rng, dhaad::MAX_REPLY_ADDRESSES);
        let reply = MobilityIcmp::HaadReply(HaadReply {
            identifier: req.identifier,
            mobile_router: req.mobile_router,
            reserved: 0,
            home_agents,
        });
        self.counters.dhaad_replies += 1;
        self.out.push_back(HaOutput::Icmp6(Transmit {
            // By the routing table: the mobile node is away.
            ifindex: 0,
            src: Some(link.address),
            dst: r.src,
            transport: Transport::Icmpv6,
            hop_limit: None,
            payload: reply.to_bytes_with_checksum(link.address, r.src),
        }));
    }

    // ------------------------------------------------------------ output --

    fn drop(&mut self, reason: DropReason) {
        debug!(reason = reason.label(), "home agent: input dropped");
        *self.counters.dropped.entry(reason).or_default() += 1;
    }

    fn barrier(&mut self) -> ApplyTicket {
        let ticket = ApplyTicket(self.next_ticket);
        self.next_ticket = self.next_ticket.wrapping_add(1);
        self.out.push_back(HaOutput::Barrier(ticket));
        ticket
    }

    fn proxy_specs(&self, entry: &Entry) -> Vec<ProxyNeighbourSpec> {
        std::iter::once(entry.hoa)
            .chain(entry.link_local)
            .map(|a| ProxyNeighbourSpec {
                owner: Owner::HomeAgent,
                ifindex: entry.ifindex,
                addr: a.into(),
            })
            .collect()
    }

    fn route_spec(&self, entry: &Entry) -> Option<RouteSpec> {
        let ifindex = self.config.tunnel_ifindex?;
        Some(RouteSpec {
            owner: Owner::HomeAgent,
            table: RouteTable::MAIN,
            dst: Prefix::new(entry.hoa, 128).ok()?,
            kind: RouteType::Unicast,
            gateway: None,
            ifindex: Some(ifindex),
            metric: 1024,
            expires: None,
        })
    }

    /// RFC 3963 §6.1: a mobile router's mobile networks, routed into the
    /// tunnel device like its home address.
    fn prefix_route_specs(&self, entry: &Entry) -> Vec<RouteSpec> {
        let Some(ifindex) = self.config.tunnel_ifindex else {
            return Vec::new();
        };
        entry
            .prefixes
            .iter()
            .map(|p| RouteSpec {
                owner: Owner::HomeAgent,
                table: RouteTable::MAIN,
                dst: *p,
                kind: RouteType::Unicast,
                gateway: None,
                ifindex: Some(ifindex),
                metric: MOBILE_NETWORK_METRIC,
                expires: None,
            })
            .collect()
    }

    /// RFC 3963 §5.7: a mobile router at home: its mobile networks via
    /// its home address on the home link.
    fn home_route_specs(
        &self,
        hoa: Ipv6Addr,
        ifindex: IfIndex,
        prefixes: &[Prefix],
    ) -> Vec<RouteSpec> {
        prefixes
            .iter()
            .map(|p| RouteSpec {
                owner: Owner::HomeAgent,
                table: RouteTable::MAIN,
                dst: *p,
                kind: RouteType::Unicast,
                gateway: Some(hoa),
                ifindex: Some(ifindex),
                metric: MOBILE_NETWORK_METRIC,
                expires: None,
            })
            .collect()
    }

    /// The routes of a mobile router that was at home and registers away
    /// again: those its new registration does not replace go.
    fn leave_home(&mut self, entry: &Entry) {
        let Some((ifindex, prefixes)) = self.at_home.remove(&entry.hoa) else {
            return;
        };
        let stale: Vec<Prefix> = prefixes
            .into_iter()
            .filter(|p| self.config.tunnel_ifindex.is_none() || !entry.prefixes.contains(p))
            .collect();
        for r in self.home_route_specs(entry.hoa, ifindex, &stale) {
            self.out.push_back(HaOutput::Kernel(KernelOp::DelRoute(r)));
        }
    }

    /// HA-10's kernel and data-plane part, in order: proxy entries, the
    /// routes to the tunnel (home address, mobile networks), the
    /// data-plane binding.
    fn emit_install(&mut self, entry: &Entry) {
        self.leave_home(entry);
        for p in self.proxy_specs(entry) {
            self.out
                .push_back(HaOutput::Kernel(KernelOp::SetProxyNeighbour(p)));
        }
        let routes = self
            .route_spec(entry)
            .into_iter()
            .chain(self.prefix_route_specs(entry));
        for r in routes.collect::<Vec<_>>() {
            self.out.push_back(HaOutput::Kernel(KernelOp::SetRoute(r)));
        }
        self.emit_ipv4_home(entry, true);
        self.out
            .push_back(HaOutput::DataPlane(self.binding_op(entry)));
    }

    /// The data-plane entry of a binding.
    fn binding_op(&self, entry: &Entry) -> BindingOp {
        BindingOp::Upsert {
            hoa: entry.hoa,
            care_of: entry.care_of,
            mtu: self.config.tunnel_mtu,
            prefixes: entry.prefixes.clone(),
            udp: entry.udp,
            ipv4_home: entry.ipv4_home,
        }
    }

    /// DS-7: the IPv4 home address's `/32` into the tunnel device and the
    /// proxy ARP entry on its link (`install`), or their removal.
    fn emit_ipv4_home(&mut self, entry: &Entry, install: bool) {
        let Some(addr) = entry.ipv4_home else { return };
        let Some(pool) = self.ipv4_pool() else { return };
        let proxy = ProxyNeighbourSpec {
            owner: Owner::HomeAgent,
            ifindex: pool.ifindex,
            addr: addr.into(),
        };
        let route = self.config.tunnel_ifindex.and_then(|tun| {
            Some(Route4Spec {
                owner: Owner::HomeAgent,
                table: RouteTable::MAIN,
                dst: Prefix4::new(addr, 32)?,
                kind: RouteType::Unicast,
                gateway: None,
                ifindex: Some(tun),
                metric: 0,
            })
        });
        if install {
            self.out
                .push_back(HaOutput::Kernel(KernelOp::SetProxyNeighbour(proxy)));
            if let Some(r) = route {
                self.out.push_back(HaOutput::Kernel(KernelOp::SetRoute4(r)));
            }
        } else {
            if let Some(r) = route {
                self.out.push_back(HaOutput::Kernel(KernelOp::DelRoute4(r)));
            }
            self.out
                .push_back(HaOutput::Kernel(KernelOp::DelProxyNeighbour(proxy)));
        }
    }

    fn install_with_barrier(&mut self, entry: &Entry) -> ApplyTicket {
        self.emit_install(entry);
        self.barrier()
    }

    /// HA-12, HA-15: everything of HA-10 removed, proxy entries first so
    /// a BA to a mobile node back home is not answered by our own proxy.
    fn emit_uninstall(&mut self, entry: &Entry) {
        for p in self.proxy_specs(entry) {
            self.out
                .push_back(HaOutput::Kernel(KernelOp::DelProxyNeighbour(p)));
        }
        let routes = self
            .route_spec(entry)
            .into_iter()
            .chain(self.prefix_route_specs(entry));
        for r in routes.collect::<Vec<_>>() {
            self.out.push_back(HaOutput::Kernel(KernelOp::DelRoute(r)));
        }
        self.emit_ipv4_home(entry, false);
        self.out
            .push_back(HaOutput::DataPlane(BindingOp::Remove { hoa: entry.hoa }));
    }

    /// Builds and queues a BA (RFC 6275 §6.1.8, §9.5.4): to the BU's
    /// source, with an RH2 for the home address unless that source is the
    /// home address itself; Binding Refresh Advice on acceptance; the SA's
    /// replay protection and authentication options (AU-1).
    fn send_ba(
        &mut self,
        _now: Instant,
        reply: &Reply,
        status: BaStatus,
        lifetime: Duration,
        sequence: Option<u16>,
    ) {
        let units = FourSeconds::from_secs(u32::try_from(lifetime.as_secs()).unwrap_or(u32::MAX));
        let mut message = MobilityHeader::new(BindingAck {
            status,
            // RFC 3963 §6.2: the R flag answers a mobile router's BU
            // that we accept as one.
            flags: BaFlags {
                mobile_router: reply.mobile_router && status.is_accepted(),
                ..BaFlags::default()
            },
            sequence: sequence.unwrap_or(reply.sequence),
            lifetime: units,
        });
        if status.is_accepted() && units.0 > 0 && self.config.refresh_percent > 0 {
            let advice = (u32::from(units.0) * u32::from(self.config.refresh_percent) / 100).max(1);
            message.push_option(MhOption::BindingRefreshAdvice(FourSeconds(
                u16::try_from(advice).unwrap_or(u16::MAX),
            )));
        }
        // DS-3 (RFC 5555 §4.2.2): NAT Detection when a NAT lies between,
        // with the refresh time the mobile node's keepalives must keep.
        if reply.nat
            && status.is_accepted()
            && units.0 > 0
            && let Some(d) = &self.config.dsmip
        {
            message.push_option(MhOption::NatDetection(NatDetection {
                force_udp: reply.force_udp,
                reserved: 0,
                refresh_time: u32::try_from(d.nat_refresh.as_secs()).unwrap_or(u32::MAX),
            }));
        }
        // DS-7: the answer to an IPv4 Home Address Request.
        if let Some(ack) = reply.ipv4_ack.filter(|_| status.is_accepted()) {
            message.push_option(MhOption::Ipv4AddressAck(ack));
        }
        let sa = reply
            .spi
            .and_then(|spi| self.sas.iter().find(|s| s.sa.spi == spi))
            .map(|s| s.sa.clone());
        if let Some(sa) = &sa {
            if let Some(v) = reply.replay {
                message.push_option(MhOption::ReplayProtection(v));
            }
            message.push_option(MhOption::mn_ha_placeholder(sa.spi));
        }
        let mut bytes = message.to_bytes();
        if let Some(sa) = &sa
            && let Ok(Some(input)) =
                mh_auth::mobility_message_auth_input(reply.care_of, reply.hoa, &bytes)
        {
            let mac = auth::authenticator(&sa.key, &input.data);
            input.fill(&mut bytes, &mac);
        }
        // RFC 6275 §6.1.1: the destination in the pseudo-header is the
        // final one: the home address, through the RH2 or directly.
        fill_checksum(reply.ha_address, reply.hoa, &mut bytes);
        *self.counters.ba_sent.entry(u8::from(status)).or_default() += 1;
        // DS-2: back in UDP to where the BU came from, the IPv6 packet
        // addressed to the home address itself (no Routing Header).
        if let Some(dst) = reply.udp {
            self.out.push_back(HaOutput::Udp(UdpTransmit {
                dst,
                packet: dsmip::signalling_packet(reply.ha_address, reply.hoa, &bytes),
            }));
            return;
        }
        let rh2 = (reply.reply_to != reply.hoa).then_some(reply.hoa);
        self.out.push_back(HaOutput::Mh(MhTransmit {
            src: reply.ha_address,
            dst: reply.reply_to,
            rh2,
            payload: bytes,
        }));
    }

    /// RFC 6275 §9.3.3: a Binding Error to the packet's source,
    /// rate-limited, never to a multicast address.
    fn binding_error(&mut self, now: Instant, m: &MhReceived<'_>, status: BeStatus) {
        if !is_unicast(m.src) || m.dst.is_multicast() {
            return self.drop(DropReason::NotOurAddress);
        }
        if !self.replies.try_take(now) {
            return self.drop(DropReason::RateLimited);
        }
        let message = MobilityHeader::new(BindingError {
            status,
            reserved: 0,
            home_address: m.hao.unwrap_or(Ipv6Addr::UNSPECIFIED),
        });
        *self.counters.be_sent.entry(u8::from(status)).or_default() += 1;
        self.out.push_back(HaOutput::Mh(MhTransmit {
            src: m.dst,
            dst: m.src,
            rh2: None,
            payload: message.to_bytes_with_checksum(m.dst, m.src),
        }));
    }

    // ----------------------------------------------------------- helpers --

    fn ntp_now(&self, now: Instant) -> Option<NtpTimestamp> {
        let (at, ntp) = self.wall?;
        Some(ntp.after(now.saturating_duration_since(at)))
    }

    /// RFC 3963 §6.1: the mobile networks of a mobile router's BU: its
    /// Mobile Network Prefix options (explicit mode), or the configured
    /// ones (implicit mode); else the status that refuses it.
    fn mobile_networks(
        &self,
        hoa: Ipv6Addr,
        message: &MobilityHeader,
    ) -> Result<Vec<Prefix>, BaStatus> {
        let mut asked = Vec::new();
        for p in message.options.mobile_network_prefixes() {
            let prefix =
                Prefix::new(p.prefix, p.prefix_len).map_err(|_| BaStatus::InvalidPrefix)?;
            if !asked.contains(&prefix) {
                asked.push(prefix);
            }
        }
        self.mobile_network_prefixes_allowed(hoa, &asked)
    }

    /// Whether `hoa` may register as a mobile router with `asked` (empty:
    /// implicit mode); the prefixes granted, or the refusal (140-143).
    fn mobile_network_prefixes_allowed(
        &self,
        hoa: Ipv6Addr,
        asked: &[Prefix],
    ) -> Result<Vec<Prefix>, BaStatus> {
        let Some(permit) = self
            .config
            .mobile_routers
            .iter()
            .find(|m| m.home_address == hoa)
        else {
            return Err(BaStatus::MobileRouterOperationNotPermitted);
        };
        if asked.is_empty() {
            return if permit.prefixes.is_empty() {
                Err(BaStatus::ForwardingSetupFailed)
            } else {
                Ok(permit.prefixes.clone())
            };
        }
        for p in asked {
            if !is_mobile_network(p, &self.config.home_links) {
                return Err(BaStatus::InvalidPrefix);
            }
            if !permit.prefixes.iter().any(|q| q.contains(p)) {
                return Err(BaStatus::NotAuthorizedForPrefix);
            }
        }
        Ok(asked.to_vec())
    }

    fn acl_action(&self, hoa: Ipv6Addr) -> AclAction {
        self.config
            .acl
            .iter()
            .find(|r| r.home_addresses.contains_addr(hoa))
            .map_or(self.config.default_action, |r| r.action)
    }

    /// HA-3: global unicast, not ours, not another binding's home address.
    fn ipv4_pool(&self) -> Option<&super::Ipv4HomePool> {
        self.config.dsmip.as_ref()?.ipv4_home.as_ref()
    }

    /// Whether the pool may hand out `addr`: inside it, neither its first
    /// nor its last address (network and broadcast of the home link),
    /// not reserved.
    fn ipv4_home_usable(&self, addr: Ipv4Addr) -> bool {
        let Some(pool) = self.ipv4_pool() else {
            return false;
        };
        let (first, last) = ipv4_range(pool.prefix);
        let a = u32::from(addr);
        a > first && a < last && !pool.reserved.contains(&addr)
    }

    /// DS-7 (RFC 5555 §4.3.2): the IPv4 home address for `hoa`'s request,
    /// and the acknowledgement to send. 0.0.0.0 asks for one: the one the
    /// binding holds, else the lowest free; a specific address is given if
    /// the pool may and nobody else holds it.
    fn assign_ipv4_home(
        &self,
        hoa: Ipv6Addr,
        request: Ipv4HomeAddressRequest,
        existing: Option<&Entry>,
    ) -> (Option<Ipv4Addr>, Ipv4AddressAck) {
        let prefix_len = self.ipv4_pool().map_or(32, |p| p.prefix.len());
        let ack = |status: u8, address: Ipv4Addr| Ipv4AddressAck {
            status,
            prefix_len,
            reserved: 0,
            address,
        };
        let Some(pool) = self.ipv4_pool() else {
            return (
                None,
                ack(ack_status::ADMINISTRATIVELY_PROHIBITED, request.address),
            );
        };
        let taken: std::collections::BTreeSet<Ipv4Addr> = self
            .cache
            .values()
            .filter(|e| e.hoa != hoa)
            .filter_map(|e| e.ipv4_home)
            .collect();
        if request.address.is_unspecified() {
            if let Some(held) = existing.and_then(|e| e.ipv4_home) {
                return (Some(held), ack(ack_status::SUCCESS, held));
            }
            let (first, last) = ipv4_range(pool.prefix);
            // At most |taken| + |reserved| candidates are passed over.
            let free = (first.saturating_add(1)..last)
                .map(Ipv4Addr::from)
                .find(|a| !taken.contains(a) && !pool.reserved.contains(a));
            return match free {
                Some(a) => (Some(a), ack(ack_status::SUCCESS, a)),
                None => (
                    None,
                    ack(
                        ack_status::DYNAMIC_IPV4_HOME_ADDRESS_NOT_AVAILABLE,
                        Ipv4Addr::UNSPECIFIED,
                    ),
                ),
            };
        }
        if !self.ipv4_home_usable(request.address) {
            return (None, ack(ack_status::INVALID_IPV4_ADDRESS, request.address));
        }
        if taken.contains(&request.address) {
            return (
                None,
                ack(ack_status::INCORRECT_IPV4_HOME_ADDRESS, request.address),
            );
        }
        (
            Some(request.address),
            ack(ack_status::SUCCESS, request.address),
        )
    }

    fn is_valid_care_of(&self, care_of: Ipv6Addr, hoa: Ipv6Addr) -> bool {
        is_unicast(care_of)
            && !is_link_local(care_of)
            && !self.config.home_links.iter().any(|l| l.address == care_of)
            && (care_of == hoa || !self.cache.contains_key(&care_of))
    }
}

/// The valid-until of the served prefix holding `hoa` on `link` (outer
/// `None`: none serves it now; inner `None`: infinite).
fn served_prefix(link: &HomeLink, hoa: Ipv6Addr, now: Instant) -> Option<Option<Instant>> {
    link.prefixes
        .iter()
        .find(|p| p.prefix.contains_addr(hoa) && p.valid_until.is_none_or(|t| t > now))
        .map(|p| p.valid_until)
}

/// A prefix that may be a mobile network (RFC 3963 §6.1.2 "invalid
/// prefix"): global unicast (not ::/0, multicast, link-local or loopback),
/// and not overlapping a home link's prefix.
pub(crate) fn is_mobile_network(p: &Prefix, home_links: &[HomeLink]) -> bool {
    let addr = p.addr();
    p.len() > 0
        && !addr.is_multicast()
        && !addr.is_loopback()
        && !is_link_local(addr)
        && !home_links
            .iter()
            .flat_map(|l| &l.prefixes)
            .any(|s| s.prefix.contains(p) || p.contains(&s.prefix))
}

/// The first and last address of an IPv4 prefix, as integers.
fn ipv4_range(prefix: Prefix4) -> (u32, u32) {
    let first = u32::from(prefix.addr());
    let host_bits = 32 - u32::from(prefix.len().min(32));
    let span = if host_bits == 32 {
        u32::MAX
    } else {
        (1u32 << host_bits) - 1
    };
    (first, first | span)
}

/// DS-2: an IPv4 care-of address packets can be sent to (169.254/16 is
/// allowed: links without DHCPv4 have nothing else).
fn is_usable_ipv4(a: Ipv4Addr) -> bool {
    !(a.is_unspecified() || a.is_broadcast() || a.is_multicast() || a.is_loopback())
        && a.octets()[0] != 0
}

fn is_unicast(a: Ipv6Addr) -> bool {
    !(a.is_unspecified() || a.is_loopback() || a.is_multicast() || a.to_ipv4_mapped().is_some())
}

fn is_link_local(a: Ipv6Addr) -> bool {
    a.segments()[0] & 0xffc0 == 0xfe80
}

/// RFC 4291 §2.7.1: ff02::1:ffXX:XXXX.
fn solicited_node(a: Ipv6Addr) -> Ipv6Addr {
    let low = u128::from(a) & 0x00ff_ffff;
    Ipv6Addr::from(0xff02_0000_0000_0000_0000_0001_ff00_0000u128 | low)
}
