//! The mobile node machine. See the module docs of [`crate::mn`] for the
//! method grammar and the decisions.

use std::collections::{BTreeMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddrV4};
use std::time::Duration;

use tracing::{debug, info};
use v6edge_core::limit::TokenBucket;
use v6edge_core::{
    Address4Spec, AddressSpec, IfIndex, Instant, KernelOp, Owner, Prefix4, Received, Rng,
    Route4Spec, RouteSpec, RouteTable, RouteType, RuleSpec, Transmit, Transport,
};
use v6edge_prefix::Prefix;
use v6edge_wire::Lifetime;
use v6edge_wire::mh::{
    AuthSubtype, BaStatus, BeStatus, BindingAck, BindingUpdate, BuFlags, FourSeconds,
    Ipv4HomeAddressRequest, MhBody, MhOption, MobileNetworkPrefix, MobilityHeader, auth as mh_auth,
    fill_checksum, verify_checksum,
};
use v6edge_wire::nd::{
    HaadRequest, MobilePrefixSolicit, MobilityIcmp, NdMessage, NdOption, NeighborAdvert,
};

use super::{
    BulState, DEREGISTRATION_ATTEMPTS, DHAAD_RETRIES, DropReason, FAILOVER_AFTER, HomePrefixStatus,
    INITIAL_BINDACK_TIMEOUT, INITIAL_DHAAD_TIMEOUT, INITIAL_SOLICIT_TIMER, LinkEvent, Location,
    MAX_BINDACK_TIMEOUT, MAX_HOME_AGENT_CANDIDATES, MAX_HOME_PREFIXES, MAX_UPDATE_RATE, MnConfig,
    MnConfigError, MnCounters, MnOutput, MnReceived, MnStatus, MnTransmit, Notice,
    PARAMETER_PROBLEM_GRACE, PREFIX_ACK_RATE, PREFIX_SOLICIT_ATTEMPTS, REFRESH_PERCENT, TunnelOp,
    UdpTransmit, UdpTunnel, home_agents_anycast,
};
use crate::auth::{self, MIN_SPI, NtpTimestamp, ReplayMode};
use crate::dsmip;
use crate::pd::HomeLinkPath;

/// One address of an interface.
#[derive(Debug, Clone, Copy)]
struct Address {
    addr: Ipv6Addr,
    prefix_len: u8,
    tentative: bool,
    temporary: bool,
    deprecated: bool,
    /// End of the valid lifetime; `None`: infinite.
    valid_until: Option<Instant>,
    /// Arrival order: the newest usable address is preferred (MN-2).
    order: u64,
}

/// One IPv4 address of an interface (RFC 5555: a possible care-of
/// address).
#[derive(Debug, Clone, Copy)]
struct Address4 {
    addr: Ipv4Addr,
    /// Arrival order, as for IPv6 (MN-2).
    order: u64,
}

#[derive(Debug, Clone, Default)]
struct Interface {
    addresses: Vec<Address>,
    router: Option<Ipv6Addr>,
    link_layer: Option<Vec<u8>>,
    addresses4: Vec<Address4>,
    router4: Option<Ipv4Addr>,
}

/// The care-of address a Binding Update names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CareOf {
    V6(Ipv6Addr),
    /// RFC 5555: the BU travels in UDP from it.
    V4(Ipv4Addr),
}

impl CareOf {
    /// The IPv6 form: the authenticator's and the binding's care-of
    /// address (an IPv4 one mapped, see [`crate::dsmip`]).
    fn as_v6(self) -> Ipv6Addr {
        match self {
            CareOf::V6(a) => a,
            CareOf::V4(a) => dsmip::mapped(a),
        }
    }
}

/// Bounds on what link events can make us remember.
const MAX_ADDRESSES_PER_INTERFACE: usize = 64;

/// The BU in flight: what its answer must match.
#[derive(Debug, Clone, Copy)]
struct Sent {
    sequence: u16,
    replay: u64,
    /// The care-of address the authenticator covered (the home address
    /// for a deregistration from home).
    care_of: Ipv6Addr,
    deregistration: bool,
    /// Sent in UDP over IPv4: the answer must come the same way.
    udp: bool,
    /// It carried an IPv4 Home Address Request.
    ipv4_requested: bool,
}

/// What is installed in the kernel and the data plane while away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Installed {
    ifindex: IfIndex,
    /// The IPv4-mapped address away over IPv4.
    care_of: Ipv6Addr,
    /// The access router of the care-of table (IPv6 care-of only).
    router: Option<Ipv6Addr>,
    /// Away over IPv4: the UDP path.
    udp: Option<UdpTunnel>,
    home_agent: Ipv6Addr,
}

#[derive(Debug, Clone, Copy)]
struct Dhaad {
    identifier: u16,
    retransmit_at: Instant,
    backoff: Duration,
    sent: u32,
}

/// A Mobile Prefix Solicitation awaiting its advertisement (MN-9).
#[derive(Debug, Clone, Copy)]
struct Solicit {
    identifier: u16,
    retransmit_at: Instant,
    backoff: Duration,
    sent: u32,
}

/// A home link prefix from a Mobile Prefix Advertisement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct HomePrefix {
    prefix: Prefix,
    valid_until: Option<Instant>,
    preferred_until: Option<Instant>,
}

/// A Mobile IPv6 mobile node (one home address, one home agent).
#[derive(Debug)]
pub struct MobileNode {
    config: MnConfig,
    interfaces: BTreeMap<IfIndex, Interface>,
    next_order: u64,
    location: Location,
    home_agent: Option<Ipv6Addr>,
    /// The DHAAD reply's home agents, by preference (MN-5 fail-over).
    candidates: Vec<Ipv6Addr>,
    /// Registration BUs sent to the current home agent since it last
    /// answered (authenticated).
    unanswered: u32,
    dhaad: Option<Dhaad>,
    /// MN-9: the Mobile Prefix Solicitation in flight.
    solicit: Option<Solicit>,
    /// Acknowledgements of unsolicited Mobile Prefix Advertisements: a
    /// flood of forged ones must not make us a reflector.
    prefix_acks: TokenBucket,
    /// MN-13: a Parameter Problem about our Binding Update, counted at
    /// this instant unless an acknowledgement came (the number of BAs
    /// accepted when it arrived) ([`PARAMETER_PROBLEM_GRACE`]).
    suspect: Option<(Instant, u64)>,
    /// RFC 6276: mobile network prefixes delegated by DHCPv6, besides the
    /// configured ones (sorted, none of them configured).
    delegated: Vec<Prefix>,
    /// The rule sending the home address into the tunnel is lifted while
    /// the deregistration from home is in flight (RFC 6275 §11.5.4: that
    /// BU leaves directly on the home link).
    home_rule_lifted: bool,
    /// MN-9: the home link's prefixes from the last advertisements.
    home_prefixes: Vec<HomePrefix>,
    /// MN-9: when the home address's prefix leaves its preferred
    /// lifetime (a solicitation is due then).
    prefix_deprecates_at: Option<Instant>,
    state: BulState,
    /// Admin: register when away (true at start).
    enabled: bool,
    /// A refusal or a home agent without MIP6 stopped registration.
    stopped: Option<u8>,
    sequence: u16,
    sent: Option<Sent>,
    /// No BA 0/1 yet since start (the first registration's timeout).
    first_registration: bool,
    lifetime: Duration,
    /// The current binding's expiry, kept through refresh attempts.
    binding_expires_at: Option<Instant>,
    installed: Option<Installed>,
    /// RFC 5555 §3.2.2: the refresh time of the last BA's NAT Detection
    /// option (a NAT is between us and the home agent).
    nat_refresh: Option<Duration>,
    /// RFC 5555 §3.2.1: the IPv4 home address (and prefix length) the
    /// home agent assigned.
    ipv4_home: Option<(Ipv4Addr, u8)>,
    /// The status of the last IPv4 Address Acknowledgement.
    ipv4_home_status: Option<u8>,
    /// A refusal (≥ 128) came for a request in UDP / over IPv6: no more
    /// requests that way until `register` (a home agent may serve IPv4
    /// home addresses over one only).
    ipv4_refused_udp: bool,
    ipv4_refused_v6: bool,
    /// The IPv4 home address on the tunnel device, with its rule and
    /// route.
    ipv4_installed: Option<Ipv4Addr>,
    /// The home address is on the home interface (at home).
    home_address_on: Option<IfIndex>,
    deregistration_attempts: u32,
    /// When the last BUs left, newest last (MAX_UPDATE_RATE).
    recent_sends: VecDeque<Instant>,
    /// The BU due at the state's `retransmit_at` was held back by the
    /// rate limit: send it then without doubling the backoff.
    deferred: bool,
    /// (instant, NTP time at that instant), for RFC 4285 timestamps.
    wall: Option<(Instant, NtpTimestamp)>,
    /// Added to our NTP time after a BA 144 (RFC 4285 §6).
    clock_skew: u64,
    last_replay: Option<u64>,
    rng: Rng,
    out: VecDeque<MnOutput>,
    counters: MnCounters,
}

impl MobileNode {
    pub fn new(config: MnConfig, seed: u64, now: Instant) -> Result<MobileNode, MnConfigError> {
        if !config.home_prefix.contains_addr(config.home_address) {
            return Err(MnConfigError::HomeAddressOutsidePrefix(config.home_address));
        }
        if config.security.spi < MIN_SPI {
            return Err(MnConfigError::ReservedSpi(config.security.spi));
        }
        if config.interfaces.is_empty() {
            return Err(MnConfigError::NoInterfaces);
        }
        if config.tunnel_mtu < 1280 {
            return Err(MnConfigError::TunnelMtu(config.tunnel_mtu));
        }
        if config.max_lifetime < Duration::from_secs(4) {
            return Err(MnConfigError::Lifetime);
        }
        if let Some(d) = &config.dsmip {
            if config.home_agent.is_none() {
                return Err(MnConfigError::DsmipWithoutHomeAgent);
            }
            if !is_usable_v4(d.home_agent_v4) {
                return Err(MnConfigError::DsmipHomeAgentV4(d.home_agent_v4));
            }
        }
        let mut rng = Rng::seed(seed);
        // RFC 6275 §11.7.1 leaves the first value open; a random one
        // makes a restarted node unlikely to land in the old window.
        let sequence = rng.next_u32() as u16;
        debug!(hoa = %config.home_address, at = ?now, "mobile node created");
        Ok(MobileNode {
            home_agent: config.home_agent,
            candidates: Vec::new(),
            unanswered: 0,
            config,
            interfaces: BTreeMap::new(),
            next_order: 0,
            location: Location::Detached,
            dhaad: None,
            solicit: None,
            prefix_acks: TokenBucket::new(PREFIX_ACK_RATE, now),
            suspect: None,
            delegated: Vec::new(),
            home_rule_lifted: false,
            home_prefixes: Vec::new(),
            prefix_deprecates_at: None,
            state: BulState::Idle,
            enabled: true,
            stopped: None,
            sequence,
            sent: None,
            first_registration: true,
            lifetime: Duration::ZERO,
            binding_expires_at: None,
            installed: None,
            nat_refresh: None,
            ipv4_home: None,
            ipv4_home_status: None,
            ipv4_refused_udp: false,
            ipv4_refused_v6: false,
            ipv4_installed: None,
            home_address_on: None,
            deregistration_attempts: 0,
            recent_sends: VecDeque::new(),
            deferred: false,
            wall: None,
            clock_skew: 0,
            last_replay: None,
            rng,
            out: VecDeque::new(),
            counters: MnCounters::default(),
        })
    }

    /// Tells the machine the time of day: `ntp` is the NTP time at `now`.
    /// Call at start and whenever the system clock is stepped.
    pub fn set_wall_clock(&mut self, now: Instant, ntp: NtpTimestamp) {
        self.wall = Some((now, ntp));
    }

    // ----------------------------------------------------------- getters --

    pub fn status(&self, now: Instant) -> MnStatus {
        let next_retransmit = match self.state {
            BulState::WaitAck { retransmit_at, .. }
            | BulState::Deregistering { retransmit_at, .. } => Some(retransmit_at),
            _ => None,
        };
        MnStatus {
            state: self.state,
            location: self.location,
            home_address: self.config.home_address,
            care_of: self.care_of(),
            care_of_v4: match self.location {
                Location::AwayV4 { care_of, .. } => Some(care_of),
                _ => None,
            },
            home_agent: self.home_agent,
            nat_refresh: self.nat_refresh,
            ipv4_home: self.ipv4_home.map(|(a, _)| a),
            ipv4_home_status: self.ipv4_home_status,
            sequence: self.sequence,
            lifetime: self.lifetime,
            remaining: self
                .binding_expires_at
                .map_or(Duration::ZERO, |t| t.saturating_duration_since(now)),
            next_retransmit,
            installed: self.installed.is_some(),
            stopped: self.stopped,
            home_prefixes: self
                .home_prefixes
                .iter()
                .map(|p| HomePrefixStatus {
                    prefix: p.prefix,
                    valid: p.valid_until.map(|t| t.saturating_duration_since(now)),
                    preferred: p.preferred_until.map(|t| t.saturating_duration_since(now)),
                })
                .collect(),
            mobile_networks: self.mobile_networks(),
            counters: self.counters.clone(),
        }
    }

    pub fn counters(&self) -> &MnCounters {
        &self.counters
    }

    pub fn config(&self) -> &MnConfig {
        &self.config
    }

    pub fn poll_output(&mut self) -> Option<MnOutput> {
        self.out.pop_front()
    }

    /// The next retransmission, refresh, expiry or DHAAD retry.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let bul = match self.state {
            BulState::Idle => None,
            BulState::WaitAck { retransmit_at, .. }
            | BulState::Deregistering { retransmit_at, .. } => Some(retransmit_at),
            BulState::Bound { refresh_at, .. } => Some(refresh_at),
        };
        [
            bul,
            self.binding_expires_at,
            self.dhaad.map(|d| d.retransmit_at),
            self.solicit.map(|s| s.retransmit_at),
            self.prefix_deprecates_at,
            self.suspect.map(|(at, _)| at),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    // ------------------------------------------------------------ inputs --

    /// Address and router facts of the configured interfaces (MN-1, MN-2):
    /// may move the node, which starts a registration, a deregistration
    /// or a DHAAD.
    pub fn handle_link(&mut self, now: Instant, event: LinkEvent) {
        match event {
            LinkEvent::Address {
                ifindex,
                addr,
                prefix_len,
                tentative,
                temporary,
                deprecated,
                valid_lifetime,
            } => {
                if !self.config.interfaces.contains(&ifindex) {
                    return;
                }
                let valid_until = valid_lifetime.map(|d| now + d);
                let order = self.next_order;
                let iface = self.interfaces.entry(ifindex).or_default();
                if let Some(a) = iface.addresses.iter_mut().find(|a| a.addr == addr) {
                    a.prefix_len = prefix_len;
                    a.tentative = tentative;
                    a.temporary = temporary;
                    a.deprecated = deprecated;
                    a.valid_until = valid_until;
                } else if iface.addresses.len() < MAX_ADDRESSES_PER_INTERFACE {
                    self.next_order += 1;
                    iface.addresses.push(Address {
                        addr,
                        prefix_len,
                        tentative,
                        temporary,
                        deprecated,
                        valid_until,
                        order,
                    });
                }
            }
            LinkEvent::AddressLost { ifindex, addr } => {
                if let Some(iface) = self.interfaces.get_mut(&ifindex) {
                    iface.addresses.retain(|a| a.addr != addr);
                }
            }
            LinkEvent::DefaultRouter { ifindex, router } => {
                if !self.config.interfaces.contains(&ifindex) {
                    return;
                }
                self.interfaces.entry(ifindex).or_default().router = router;
            }
            LinkEvent::LinkDown { ifindex } => {
                self.interfaces.remove(&ifindex);
            }
            LinkEvent::Address4 {
                ifindex,
                addr,
                prefix_len: _,
            } => {
                if !self.config.interfaces.contains(&ifindex) {
                    return;
                }
                let order = self.next_order;
                let iface = self.interfaces.entry(ifindex).or_default();
                if !iface.addresses4.iter().any(|a| a.addr == addr)
                    && iface.addresses4.len() < MAX_ADDRESSES_PER_INTERFACE
                {
                    self.next_order += 1;
                    iface.addresses4.push(Address4 { addr, order });
                }
            }
            LinkEvent::Address4Lost { ifindex, addr } => {
                if let Some(iface) = self.interfaces.get_mut(&ifindex) {
                    iface.addresses4.retain(|a| a.addr != addr);
                }
            }
            LinkEvent::DefaultRouter4 { ifindex, router } => {
                if !self.config.interfaces.contains(&ifindex) {
                    return;
                }
                self.interfaces.entry(ifindex).or_default().router4 = router;
            }
            LinkEvent::LinkLayerAddress { ifindex, address } => {
                if !self.config.interfaces.contains(&ifindex) {
                    return;
                }
                // An Ethernet, InfiniBand or similar address, not a blob.
                let address = (!address.is_empty() && address.len() <= 20).then_some(address);
                self.interfaces.entry(ifindex).or_default().link_layer = address;
                return;
            }
        }
        self.evaluate(now);
    }

    /// Admin: register while away (the default) and resume after a
    /// refusal stopped registration.
    pub fn register(&mut self, now: Instant) {
        self.enabled = true;
        self.stopped = None;
        self.ipv4_refused_udp = false;
        self.ipv4_refused_v6 = false;
        let location = self.location;
        self.act_on_location(now, location, true);
    }

    /// Admin: deregister (from wherever the node is) and stay
    /// unregistered until [`MobileNode::register`].
    pub fn deregister(&mut self, now: Instant) {
        self.enabled = false;
        self.dhaad = None;
        if self.binding_expires_at.is_some() || self.installed.is_some() {
            self.start_deregistration(now);
        } else {
            self.state = BulState::Idle;
            self.sent = None;
        }
    }

    /// RFC 6276: the prefixes DHCPv6 delegated to this mobile router now
    /// (the requesting router's leases). They are mobile networks like the
    /// configured ones: reverse tunnelled, accepted from the tunnel, named
    /// in explicit-mode Binding Updates. A change under a binding updates
    /// the rules and the data plane at once, and in explicit mode
    /// registers again at once, so that the home agent routes a new prefix
    /// without waiting for the refresh. Ignored by a mobile node that is
    /// not a mobile router.
    pub fn set_delegated_prefixes(&mut self, now: Instant, prefixes: &[Prefix]) {
        let Some(router) = &self.config.mobile_router else {
            return;
        };
        let mut delegated: Vec<Prefix> = prefixes
            .iter()
            .filter(|p| !router.prefixes.contains(p))
            .copied()
            .collect();
        delegated.sort();
        delegated.dedup();
        if delegated == self.delegated {
            return;
        }
        let explicit = router.explicit;
        debug!(old = ?self.delegated, new = ?delegated, "mobile router: delegated mobile networks");
        let rules_in_place = self.installed.is_some() && !self.home_rule_lifted;
        let before = if rules_in_place {
            self.home_rules()
        } else {
            Vec::new()
        };
        self.delegated = delegated;
        if rules_in_place {
            let after = self.home_rules();
            for rule in before.iter().filter(|r| !after.contains(r)) {
                self.kernel(KernelOp::DelRule(rule.clone()));
            }
            for rule in after.iter().filter(|r| !before.contains(r)) {
                self.kernel(KernelOp::SetRule(rule.clone()));
            }
        }
        if let Some(installed) = self.installed {
            self.tunnel_up(installed);
        }
        if explicit && self.enabled && matches!(self.state, BulState::Bound { .. }) {
            self.send_registration(now, INITIAL_BINDACK_TIMEOUT);
        }
    }

    /// RFC 6276 §3: how the requesting router's DHCPv6 messages reach the
    /// home network now, if they can: at home from the home address on
    /// the home link, away through the tunnel once it is in place (the
    /// home address is then on the tunnel device). `None` while detached,
    /// between links, unregistered or deregistering from home.
    pub fn home_link_path(&self) -> Option<HomeLinkPath> {
        let home_agent = self.home_agent?;
        let home_address = self.config.home_address;
        match self.location {
            Location::Home { .. } => (self.home_address_on.is_some()
                && !matches!(self.state, BulState::Deregistering { .. }))
            .then_some(HomeLinkPath {
                home_address,
                home_agent,
                at_home: true,
            }),
            Location::Away { .. } | Location::AwayV4 { .. } => {
                (self.installed.is_some() && !self.home_rule_lifted).then_some(HomeLinkPath {
                    home_address,
                    home_agent,
                    at_home: false,
                })
            }
            Location::Detached => None,
        }
    }

    /// A Mobility Header message (MN-6, MN-13).
    pub fn handle_mh(&mut self, now: Instant, m: &MnReceived<'_>) {
        // RFC 6275 §6.1.1: the pseudo-header's destination is the final
        // one, the home address when an RH2 brought the message.
        let pseudo_src = m.hao.unwrap_or(m.src);
        let pseudo_dst = m.rh2.unwrap_or(m.dst);
        if !verify_checksum(pseudo_src, pseudo_dst, m.bytes) {
            return self.drop(DropReason::BadChecksum);
        }
        let Ok(message) = MobilityHeader::parse(m.bytes) else {
            return self.drop(DropReason::Malformed);
        };
        if Some(m.src) != self.home_agent || m.hao.is_some() {
            return self.drop(DropReason::NotFromHomeAgent);
        }
        // RFC 6275 §11.7.3 / MN-14: a BA comes to our home address,
        // directly or by way of our care-of address and an RH2 naming the
        // home address; a Binding Error to the BU's source, without RH2.
        let hoa = self.config.home_address;
        let (to_us, is_ba) = match (&message.body, m.rh2) {
            (MhBody::BindingAck(_), Some(r)) => (r == hoa && Some(m.dst) == self.care_of(), true),
            (MhBody::BindingAck(_), None) => (m.dst == hoa, true),
            (_, None) => (m.dst == hoa || Some(m.dst) == self.care_of(), false),
            (_, Some(_)) => (false, false),
        };
        if !to_us {
            return self.drop(DropReason::NotFromHomeAgent);
        }
        match message.body {
            // RFC 5555 §4.2: a BU sent in UDP is answered in UDP.
            MhBody::BindingAck(_) if self.sent.is_some_and(|s| s.udp) => {
                self.drop(DropReason::NotAwaited)
            }
            MhBody::BindingAck(ba) if is_ba => self.handle_ba(now, m, &message, ba),
            MhBody::BindingError(be) => self.handle_be(now, be.status, be.home_address),
            _ => self.drop(DropReason::Unexpected),
        }
    }

    /// A Mobility Header message that came in UDP over IPv4 (RFC 5555
    /// §4.2): `m` is the inner IPv6 packet's source, destination and
    /// Mobility Header ([`crate::dsmip::signalling`]), `from` the UDP
    /// packet's source. Accepted only from the home agent's IPv4 address
    /// and port 4191, from the home agent's IPv6 address to the home
    /// address, without Home Address option or routing header; a BA only
    /// for a BU sent in UDP. Authenticated as over IPv6 (the care-of
    /// address of the authenticator is the mapped IPv4 care-of address).
    pub fn handle_mh_udp(&mut self, now: Instant, from: SocketAddrV4, m: &MnReceived<'_>) {
        let hoa = self.config.home_address;
        if self.config.dsmip.as_ref().map(|d| d.endpoint()) != Some(from) {
            return self.drop(DropReason::NotFromHomeAgent);
        }
        if !verify_checksum(m.src, m.dst, m.bytes) {
            return self.drop(DropReason::BadChecksum);
        }
        let Ok(message) = MobilityHeader::parse(m.bytes) else {
            return self.drop(DropReason::Malformed);
        };
        if Some(m.src) != self.home_agent || m.dst != hoa || m.hao.is_some() || m.rh2.is_some() {
            return self.drop(DropReason::NotFromHomeAgent);
        }
        match message.body {
            MhBody::BindingAck(ba) => {
                if !self.sent.is_some_and(|s| s.udp) {
                    return self.drop(DropReason::NotAwaited);
                }
                let before: u64 = self.counters.ba_received.values().sum();
                self.handle_ba(now, m, &message, ba);
                if self.counters.ba_received.values().sum::<u64>() > before {
                    self.counters.ba_received_udp += 1;
                }
            }
            MhBody::BindingError(be) => self.handle_be(now, be.status, be.home_address),
            _ => self.drop(DropReason::Unexpected),
        }
    }

    /// ICMPv6: DHAAD replies (MN-8) and Parameter Problems quoting our
    /// Binding Update (MN-13).
    pub fn handle_icmp6(&mut self, now: Instant, r: &Received<'_>) {
        match r.bytes.first() {
            Some(145) => self.handle_dhaad_reply(now, r),
            Some(4) => self.handle_parameter_problem(now, r),
            _ => self.drop(DropReason::Icmp6Ignored),
        }
    }

    /// Retransmissions, refreshes, expiry, DHAAD retries, Mobile Prefix
    /// Solicitations; early calls do nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some((at, acks_before)) = self.suspect
            && at <= now
        {
            self.suspect = None;
            let acks: u64 = self.counters.ba_received.values().sum();
            if acks == acks_before
                && matches!(self.state, BulState::WaitAck { .. })
                && let Some(home_agent) = self.home_agent
            {
                // Reported, not final: a home agent's host up before its
                // daemon (or a daemon restarting) answers exactly so, and
                // a home registration is retried for ever (MN-5; UMIP's
                // MnDiscardHaParamProb).
                info!(ha = %home_agent, "mobile node: the home agent's host rejects Mobile IPv6 (Parameter Problem); still trying");
                self.notice(Notice::HomeAgentWithoutMip6 { home_agent });
            } else {
                debug!(
                    "mobile node: a Parameter Problem followed by an acknowledgement: the home agent's kernel, ignored"
                );
            }
        }
        if let Some(s) = self.solicit
            && s.retransmit_at <= now
        {
            if s.sent >= PREFIX_SOLICIT_ATTEMPTS {
                info!("mobile node: no Mobile Prefix Advertisement");
                self.solicit = None;
            } else {
                self.send_solicit(now, s.identifier, s.backoff.saturating_mul(2), s.sent);
            }
        }
        if self.prefix_deprecates_at.is_some_and(|t| t <= now) {
            // MN-9: the home address's prefix is no longer preferred.
            self.prefix_deprecates_at = None;
            self.start_solicit(now);
        }
        if let Some(d) = self.dhaad
            && d.retransmit_at <= now
        {
            if d.sent >= DHAAD_RETRIES {
                info!("mobile node: no DHAAD reply");
                self.dhaad = None;
                self.notice(Notice::DiscoveryFailed);
            } else {
                self.send_dhaad(now, d.backoff.saturating_mul(2), d.sent);
            }
        }
        if let Some(expires_at) = self.binding_expires_at
            && expires_at <= now
        {
            // MN-5: a home registration is retried for ever; the data
            // plane stays so a late BA restores service at once.
            info!("mobile node: binding expired before it was refreshed");
            self.binding_expires_at = None;
            self.notice(Notice::BindingExpired);
        }
        match self.state {
            BulState::Idle => {}
            BulState::WaitAck {
                retransmit_at,
                backoff,
            } if retransmit_at <= now => {
                if std::mem::take(&mut self.deferred) {
                    return self.send_registration(now, backoff);
                }
                if self.unanswered >= FAILOVER_AFTER && self.fail_over() {
                    let backoff = self.config.initial_bindack_timeout_first_reg;
                    return self.send_registration(now, backoff);
                }
                self.counters.retransmissions += 1;
                let backoff = (backoff * 2).min(MAX_BINDACK_TIMEOUT);
                self.send_registration(now, backoff);
            }
            BulState::Deregistering {
                retransmit_at,
                backoff,
            } if retransmit_at <= now => {
                if std::mem::take(&mut self.deferred) {
                    return self.send_deregistration(now, backoff);
                }
                if self.deregistration_attempts >= DEREGISTRATION_ATTEMPTS {
                    info!("mobile node: deregistration unanswered, tearing down");
                    self.finish_deregistration(false);
                } else {
                    self.counters.retransmissions += 1;
                    let backoff = (backoff * 2).min(MAX_BINDACK_TIMEOUT);
                    self.send_deregistration(now, backoff);
                }
            }
            BulState::Bound { refresh_at, .. } if refresh_at <= now => {
                self.send_registration(now, INITIAL_BINDACK_TIMEOUT);
            }
            _ => {}
        }
    }

    // --------------------------------------------------------- movement --

    /// MN-1…MN-3: where the node is now, from the interface facts.
    fn locate(&self) -> Location {
        let hoa = self.config.home_address;
        for &ifindex in &self.config.interfaces {
            let Some(iface) = self.interfaces.get(&ifindex) else {
                continue;
            };
            let Some(router) = iface.router else {
                continue;
            };
            // MN-2: no home address, anycast, tentative, deprecated,
            // link-local or temporary address is a care-of address.
            let usable: Vec<&Address> = iface
                .addresses
                .iter()
                .filter(|a| {
                    a.addr != hoa
                        && !a.tentative
                        && !a.deprecated
                        && !a.temporary
                        && is_global_unicast(a.addr)
                        && !is_subnet_anycast(a.addr, a.prefix_len)
                })
                .collect();
            if usable.is_empty() {
                continue;
            }
            // MN-3: at home iff the link gives us an address in the home
            // prefix.
            if usable
                .iter()
                .any(|a| self.config.home_prefix.contains_addr(a.addr))
            {
                return Location::Home { ifindex };
            }
            // MN-2: keep the current care-of address while it is usable,
            // else the newest one.
            let current = self.care_of();
            let care_of = usable
                .iter()
                .find(|a| Some(a.addr) == current)
                .or_else(|| usable.iter().max_by_key(|a| a.order))
                .map(|a| a.addr);
            if let Some(care_of) = care_of {
                return Location::Away {
                    ifindex,
                    care_of,
                    router,
                };
            }
        }
        // DS-8: IPv4 only when no interface offers IPv6.
        if self.config.dsmip.is_some() {
            let current = match self.location {
                Location::AwayV4 { care_of, .. } => Some(care_of),
                _ => None,
            };
            for &ifindex in &self.config.interfaces {
                let Some(iface) = self.interfaces.get(&ifindex) else {
                    continue;
                };
                let Some(router) = iface.router4 else {
                    continue;
                };
                let usable = iface.addresses4.iter().filter(|a| is_usable_v4(a.addr));
                let care_of = usable
                    .clone()
                    .find(|a| Some(a.addr) == current)
                    .or_else(|| usable.max_by_key(|a| a.order))
                    .map(|a| a.addr);
                if let Some(care_of) = care_of {
                    return Location::AwayV4 {
                        ifindex,
                        care_of,
                        router,
                    };
                }
            }
        }
        Location::Detached
    }

    /// The care-of address of the current location (away only).
    fn current_care_of(&self) -> Option<(IfIndex, CareOf)> {
        match self.location {
            Location::Away {
                ifindex, care_of, ..
            } => Some((ifindex, CareOf::V6(care_of))),
            Location::AwayV4 {
                ifindex, care_of, ..
            } => Some((ifindex, CareOf::V4(care_of))),
            _ => None,
        }
    }

    /// What the current location needs installed with `home_agent`.
    fn wanted(&self, home_agent: Ipv6Addr) -> Option<Installed> {
        match self.location {
            Location::Away {
                ifindex,
                care_of,
                router,
            } => Some(Installed {
                ifindex,
                care_of,
                router: Some(router),
                udp: None,
                home_agent,
            }),
            Location::AwayV4 {
                ifindex, care_of, ..
            } => Some(Installed {
                ifindex,
                care_of: dsmip::mapped(care_of),
                router: None,
                udp: Some(UdpTunnel {
                    care_of,
                    home_agent: self.config.dsmip.as_ref()?.endpoint(),
                }),
                home_agent,
            }),
            _ => None,
        }
    }

    fn valid_until(&self, ifindex: IfIndex, addr: Ipv6Addr) -> Option<Instant> {
        self.interfaces
            .get(&ifindex)?
            .addresses
            .iter()
            .find(|a| a.addr == addr)?
            .valid_until
    }

    fn care_of(&self) -> Option<Ipv6Addr> {
        match self.location {
            Location::Away { care_of, .. } => Some(care_of),
            _ => None,
        }
    }

    fn evaluate(&mut self, now: Instant) {
        let location = self.locate();
        if location == self.location {
            return;
        }
        info!(?location, "mobile node: movement detected");
        // A move is an arrival: losing the link on the way (Detached) is
        // not a second one.
        if location != Location::Detached {
            self.counters.movements += 1;
        }
        self.location = location;
        self.notice(Notice::Moved(location));
        self.act_on_location(now, location, false);
    }

    fn act_on_location(&mut self, now: Instant, location: Location, admin: bool) {
        match location {
            Location::Detached => {
                // Nothing can be sent; the BUL keeps its state and the
                // timers run on (a send without a care-of address is
                // skipped) until an address comes back.
                self.dhaad = None;
            }
            Location::Home { ifindex } => {
                self.dhaad = None;
                // The deregistration BU leaves from the home address on
                // the home link (RFC 6275 §11.5.4): the rule sending the
                // home address's packets into the tunnel must go first.
                if self.installed.is_some() && !self.home_rule_lifted {
                    for rule in self.home_rules() {
                        self.kernel(KernelOp::DelRule(rule));
                    }
                    self.home_rule_lifted = true;
                }
                if self.enabled {
                    self.place_home_address(Some(ifindex));
                }
                if self.binding_expires_at.is_some() || self.installed.is_some() {
                    self.start_deregistration(now);
                } else {
                    self.state = BulState::Idle;
                    self.sent = None;
                }
            }
            Location::Away { .. } | Location::AwayV4 { .. } => {
                self.place_home_address(None);
                if !self.enabled || (self.stopped.is_some() && !admin) {
                    return;
                }
                // Away again before the deregistration from home was
                // acknowledged: the home address goes into the tunnel.
                if self.installed.is_some() && self.home_rule_lifted {
                    for rule in self.home_rules() {
                        self.kernel(KernelOp::SetRule(rule));
                    }
                    self.home_rule_lifted = false;
                }
                // The outer packets must leave from the new care-of
                // address at once: the old one is gone (MN-7).
                if let Some(installed) = self.installed
                    && let Some(new) = self.wanted(installed.home_agent)
                {
                    self.update_care_of(new);
                }
                if self.home_agent.is_none() {
                    if self.dhaad.is_none() {
                        self.send_dhaad(now, INITIAL_DHAAD_TIMEOUT, 0);
                    }
                    return;
                }
                let backoff = if self.first_registration {
                    self.config.initial_bindack_timeout_first_reg
                } else {
                    INITIAL_BINDACK_TIMEOUT
                };
                self.send_registration(now, backoff);
            }
        }
    }

    /// MN-3: the home address on the home interface (at home), or off it.
    fn place_home_address(&mut self, home_ifindex: Option<IfIndex>) {
        if self.home_address_on == home_ifindex {
            return;
        }
        if let Some(old) = self.home_address_on.take() {
            self.kernel(KernelOp::DelAddress {
                ifindex: old,
                addr: self.config.home_address,
                prefix_len: self.config.home_prefix.len(),
            });
        }
        if let Some(ifindex) = home_ifindex {
            self.kernel(KernelOp::SetAddress(AddressSpec {
                owner: Owner::MobileNode,
                ifindex,
                addr: self.config.home_address,
                prefix_len: self.config.home_prefix.len(),
                preferred: Lifetime::Infinite,
                valid: Lifetime::Infinite,
                // The RA's prefix route is the kernel's.
                no_prefix_route: true,
            }));
            self.home_address_on = Some(ifindex);
        }
    }

    // -------------------------------------------------- Binding Updates --

    fn next_replay(&mut self, now: Instant) -> Option<u64> {
        let value = match self.config.security.replay {
            ReplayMode::Timestamp { .. } => {
                let (at, ntp) = self.wall?;
                let ours = ntp
                    .after(now.saturating_duration_since(at))
                    .0
                    .wrapping_add(self.clock_skew);
                // Strictly newer than the last, even within one instant
                // (compared as a signed distance: NTP eras wrap).
                match self.last_replay {
                    Some(last) if (ours.wrapping_sub(last) as i64) <= 0 => last.wrapping_add(1),
                    _ => ours,
                }
            }
            ReplayMode::Sequence => {
                // Across restarts the wall clock keeps it growing.
                let floor = self.wall.map_or(0, |(at, ntp)| {
                    ntp.after(now.saturating_duration_since(at)).0
                });
                floor.max(self.last_replay.map_or(1, |l| l.wrapping_add(1)))
            }
        };
        self.last_replay = Some(value);
        Some(value)
    }

    /// MN-4: a home registration from the current care-of address, then
    /// WaitAck with `backoff` (RFC 6275 §11.8).
    fn send_registration(&mut self, now: Instant, backoff: Duration) {
        self.deferred = false;
        if let Some(at) = self.rate_limited(now) {
            self.state = BulState::WaitAck {
                retransmit_at: at,
                backoff,
            };
            return;
        }
        self.state = BulState::WaitAck {
            retransmit_at: now + backoff,
            backoff,
        };
        let (Some((ifindex, care_of)), Some(ha)) = (self.current_care_of(), self.home_agent) else {
            return;
        };
        // MN-4: no longer than the care-of address stays valid (and at
        // least one unit: 0 would deregister).
        let mut wanted = self.config.max_lifetime;
        if let CareOf::V6(addr) = care_of
            && let Some(until) = self.valid_until(ifindex, addr)
        {
            wanted = wanted.min(until.saturating_duration_since(now));
        }
        let units = FourSeconds::from_secs(u32::try_from(wanted.as_secs()).unwrap_or(u32::MAX));
        let lifetime = FourSeconds(units.0.max(1));
        self.send_bu(now, ifindex, care_of, ha, lifetime, true);
        self.unanswered = self.unanswered.saturating_add(1);
    }

    /// MN-5 (KAME's policy): the next home agent of the DHAAD reply, in
    /// a cycle; false when there is no other (an explicit home agent).
    fn fail_over(&mut self) -> bool {
        let Some(current) = self.home_agent else {
            return false;
        };
        if self.candidates.len() < 2 {
            return false;
        }
        let at = self.candidates.iter().position(|a| *a == current);
        let next = self.candidates[at.map_or(0, |i| (i + 1) % self.candidates.len())];
        info!(from = %current, to = %next, "mobile node: home agent silent, trying the next");
        self.home_agent = Some(next);
        self.unanswered = 0;
        self.notice(Notice::HomeAgentFailover {
            from: current,
            to: next,
        });
        true
    }

    fn start_deregistration(&mut self, now: Instant) {
        self.deregistration_attempts = 0;
        self.send_deregistration(now, INITIAL_BINDACK_TIMEOUT);
    }

    /// MN-10, RFC 6275 §11.5.4: lifetime 0; at home from the home address
    /// without a Home Address option, care-of address = home address.
    fn send_deregistration(&mut self, now: Instant, backoff: Duration) {
        self.deferred = false;
        if let Some(at) = self.rate_limited(now) {
            self.state = BulState::Deregistering {
                retransmit_at: at,
                backoff,
            };
            return;
        }
        self.state = BulState::Deregistering {
            retransmit_at: now + backoff,
            backoff,
        };
        self.deregistration_attempts += 1;
        let Some(ha) = self.home_agent else {
            return;
        };
        if let Location::Home { ifindex } = self.location {
            let hoa = self.config.home_address;
            self.send_bu(now, ifindex, CareOf::V6(hoa), ha, FourSeconds(0), false);
        } else if let Some((ifindex, care_of)) = self.current_care_of() {
            self.send_bu(now, ifindex, care_of, ha, FourSeconds(0), true);
        }
    }

    /// RFC 6275 §11.8 MAX_UPDATE_RATE: when a BU now would be the fourth
    /// within a second, the instant it may leave (and the caller's BU is
    /// deferred to it).
    fn rate_limited(&mut self, now: Instant) -> Option<Instant> {
        let window = Duration::from_secs(1);
        while self
            .recent_sends
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= window)
        {
            self.recent_sends.pop_front();
        }
        if self.recent_sends.len() < MAX_UPDATE_RATE {
            return None;
        }
        self.deferred = true;
        self.recent_sends.front().map(|t| *t + window)
    }

    /// Builds, authenticates and queues one BU (AU-1: Alternate Care-of
    /// Address, Replay Protection, MN-HA authentication last). With an
    /// IPv4 care-of address: in UDP, IPv4 Care-of Address option instead
    /// of the Alternate Care-of Address, F if configured (RFC 5555
    /// §4.2.1); `with_hao` is then moot.
    fn send_bu(
        &mut self,
        now: Instant,
        ifindex: IfIndex,
        care_of_addr: CareOf,
        ha: Ipv6Addr,
        lifetime: FourSeconds,
        with_hao: bool,
    ) {
        let care_of = care_of_addr.as_v6();
        let v4 = match care_of_addr {
            CareOf::V4(a) => Some(a),
            CareOf::V6(_) => None,
        };
        let dsmip = self.config.dsmip.clone();
        let Some(replay) = self.next_replay(now) else {
            self.notice(Notice::NoWallClock);
            return;
        };
        self.sequence = self.sequence.wrapping_add(1);
        let hoa = self.config.home_address;
        let router = self.config.mobile_router.as_ref();
        let mut message = MobilityHeader::new(BindingUpdate {
            sequence: self.sequence,
            flags: BuFlags {
                // RFC 3963 §5.1: R on every BU of a mobile router.
                mobile_router: router.is_some(),
                // RFC 5555 §3.1.3: UDP even without a NAT.
                force_udp: v4.is_some() && dsmip.as_ref().is_some_and(|d| d.force_udp),
                ..BuFlags::home_registration()
            },
            lifetime,
        });
        match v4 {
            // RFC 5555 §3.1.2, §4.2.1.
            Some(address) => message.push_option(MhOption::Ipv4CareOf {
                reserved: 0,
                address,
            }),
            None => message.push_option(MhOption::AlternateCareOf(care_of)),
        }
        // RFC 5555 §3.1.1: one address (prefix length 32), 0.0.0.0 until
        // one is assigned, then that one; not after a refusal on this
        // kind of path, not in a deregistration.
        let refused = match v4 {
            Some(_) => self.ipv4_refused_udp,
            None => self.ipv4_refused_v6,
        };
        let ipv4_requested =
            lifetime.0 > 0 && dsmip.as_ref().is_some_and(|d| d.request_ipv4_home) && !refused;
        if ipv4_requested {
            let (address, prefix_len) = self.ipv4_home.unwrap_or((Ipv4Addr::UNSPECIFIED, 32));
            message.push_option(MhOption::Ipv4HomeAddressRequest(Ipv4HomeAddressRequest {
                prefix_len,
                reserved: 0,
                address,
            }));
        }
        // RFC 3963 §6.1.1 explicit mode; the authentication option stays
        // last (RFC 4285 §5).
        if lifetime.0 > 0 && router.is_some_and(|r| r.explicit) {
            for p in &self.mobile_networks() {
                message.push_option(MhOption::MobileNetworkPrefix(MobileNetworkPrefix::new(
                    p.addr(),
                    p.len(),
                )));
            }
        }
        message.push_option(MhOption::ReplayProtection(replay));
        message.push_option(MhOption::mn_ha_placeholder(self.config.security.spi));
        let mut bytes = message.to_bytes();
        if let Ok(Some(input)) = mh_auth::mobility_message_auth_input(care_of, hoa, &bytes) {
            let mac = auth::authenticator(&self.config.security.key, &input.data);
            input.fill(&mut bytes, &mac);
        }
        // RFC 6275 §6.1.1: over the home address, which the HAO carries.
        fill_checksum(hoa, ha, &mut bytes);
        self.sent = Some(Sent {
            sequence: self.sequence,
            replay,
            care_of,
            deregistration: lifetime.0 == 0,
            udp: v4.is_some(),
            ipv4_requested,
        });
        self.counters.bu_sent += 1;
        self.recent_sends.push_back(now);
        self.deferred = false;
        debug!(seq = self.sequence, coa = %care_of, lifetime = lifetime.0, "mobile node: BU sent");
        if let (Some(src), Some(d)) = (v4, dsmip) {
            self.counters.bu_sent_udp += 1;
            self.out.push_back(MnOutput::Udp(UdpTransmit {
                ifindex,
                src,
                dst: d.endpoint(),
                payload: dsmip::signalling_packet(hoa, ha, &bytes),
            }));
            return;
        }
        let src = if with_hao { care_of } else { hoa };
        self.out.push_back(MnOutput::Mh(MnTransmit {
            ifindex,
            src,
            dst: ha,
            hao: with_hao.then_some(hoa),
            payload: bytes,
        }));
    }

    // ------------------------------------------------- Acknowledgements --

    fn handle_ba(
        &mut self,
        now: Instant,
        m: &MnReceived<'_>,
        message: &MobilityHeader,
        ba: BindingAck,
    ) {
        let Some(sent) = self.sent else {
            return self.drop(DropReason::NotAwaited);
        };
        if matches!(self.state, BulState::Idle | BulState::Bound { .. }) {
            return self.drop(DropReason::NotAwaited);
        }
        // 135 carries the home agent's last accepted sequence number; the
        // others ours (RFC 6275 §11.7.3).
        if ba.status != BaStatus::SequenceNumberOutOfWindow && ba.sequence != sent.sequence {
            return self.drop(DropReason::NotAwaited);
        }
        if !self.ba_authenticates(m, message, sent) {
            // A home agent that could not verify us cannot sign: 146 is
            // taken unsigned for the BU in flight (and only then).
            if ba.status == BaStatus::AuthFailed && ba.sequence == sent.sequence {
                self.count_ba(ba.status);
                return self.stop(BaStatus::AuthFailed);
            }
            return self.drop(DropReason::AuthFailed);
        }
        // The replay value must answer ours (144 keeps our low 32 bits).
        let replay = message.options.replay_protection();
        let matches_ours = match ba.status {
            BaStatus::IdMismatch => {
                replay.is_some_and(|v| v & 0xffff_ffff == sent.replay & 0xffff_ffff)
            }
            _ => replay == Some(sent.replay),
        };
        if !matches_ours {
            return self.drop(DropReason::AuthFailed);
        }
        self.count_ba(ba.status);
        self.unanswered = 0;
        match ba.status {
            s if s.is_accepted() => self.accepted(now, message, ba, sent),
            BaStatus::NotHomeAgentForThisMobileNode if sent.deregistration => {
                // MN-6: the binding was already gone (a lost BA).
                self.finish_deregistration(true);
            }
            BaStatus::SequenceNumberOutOfWindow => {
                // MN-6: resend with the home agent's value + 1.
                self.sequence = ba.sequence;
                self.notice(Notice::SequenceResynchronised {
                    sequence: ba.sequence.wrapping_add(1),
                });
                self.resend(now);
            }
            BaStatus::IdMismatch => {
                // RFC 4285 §6: follow the home agent's clock.
                if let (Some(v), Some((at, ntp))) = (replay, self.wall) {
                    let ours = ntp.after(now.saturating_duration_since(at)).0;
                    self.clock_skew = v.wrapping_sub(ours);
                    self.last_replay = Some(v);
                    self.notice(Notice::ClockResynchronised);
                    self.resend(now);
                }
            }
            s => self.stop(s),
        }
    }

    /// RFC 4285 §5: the BA's authenticator over the addresses of the BU
    /// it answers.
    fn ba_authenticates(&self, m: &MnReceived<'_>, message: &MobilityHeader, sent: Sent) -> bool {
        let Some(option) = message.options.authentication() else {
            return false;
        };
        if option.spi != self.config.security.spi || option.subtype != AuthSubtype::MnHa {
            return false;
        }
        match mh_auth::mobility_message_auth_input(sent.care_of, self.config.home_address, m.bytes)
        {
            Ok(Some(input)) => auth::verify(
                &self.config.security.key,
                &input.data,
                input.received(m.bytes),
            ),
            _ => false,
        }
    }

    /// A new BU at once after a resynchronisation, same backoff.
    fn resend(&mut self, now: Instant) {
        match self.state {
            BulState::Deregistering { backoff, .. } => self.send_deregistration(now, backoff),
            BulState::WaitAck { backoff, .. } => self.send_registration(now, backoff),
            _ => {}
        }
    }

    /// BA 0/1 (MN-6, MN-7).
    fn accepted(&mut self, now: Instant, message: &MobilityHeader, ba: BindingAck, sent: Sent) {
        self.sent = None;
        if sent.deregistration || ba.lifetime.0 == 0 {
            return self.finish_deregistration(true);
        }
        let Some(home_agent) = self.home_agent else {
            return;
        };
        let Some(wanted) = self.wanted(home_agent) else {
            return;
        };
        let care_of = wanted.care_of;
        if care_of != sent.care_of || wanted.udp.is_some() != sent.udp {
            // We moved since: the newer BU is what counts.
            return;
        }
        // RFC 3963 §5.3: a home agent that does not set R in its BA does
        // not serve mobile routers: nothing is installed.
        if self.config.mobile_router.is_some() && !ba.flags.mobile_router {
            return self.stop(BaStatus::MobileRouterOperationNotPermitted);
        }
        let lifetime = ba.lifetime.as_duration();
        // MN-6: refresh at the Binding Refresh Advice unless it is 0 or
        // longer than the lifetime, else at a fixed fraction.
        let refresh = message
            .options
            .binding_refresh_advice()
            .map(|r| r.as_duration())
            .filter(|r| !r.is_zero() && *r <= lifetime)
            .unwrap_or(lifetime * REFRESH_PERCENT / 100);
        // DS-5, RFC 5555 §3.2.2: behind a NAT the re-registration is the
        // keepalive, at least every refresh time.
        // RFC 5555 §3.2.2: a refresh time of 0 is to be ignored (we take
        // NATKATIMEOUT); all ones says no NAT was seen (the option then
        // only carries F).
        let nat = if sent.udp {
            dsmip::nat_detection(&message.options).and_then(|n| match n.refresh_time {
                0 => Some(dsmip::NAT_KEEPALIVE),
                u32::MAX => None,
                s => Some(Duration::from_secs(u64::from(s))),
            })
        } else {
            None
        };
        if nat.is_some() && nat != self.nat_refresh {
            let refresh = nat.unwrap_or_default();
            info!(?refresh, "mobile node: NAT detected by the home agent");
            self.notice(Notice::NatDetected { refresh });
        }
        self.nat_refresh = nat;
        let refresh = nat.map_or(refresh, |n| refresh.min(n));
        if sent.ipv4_requested {
            self.ipv4_acknowledged(&message.options, sent.udp);
        }
        self.first_registration = false;
        self.lifetime = lifetime;
        self.binding_expires_at = Some(now + lifetime);
        self.state = BulState::Bound {
            refresh_at: now + refresh,
            expires_at: now + lifetime,
        };
        match self.installed {
            None => self.install(wanted),
            Some(old) if old != wanted => self.update_care_of(wanted),
            Some(_) => {}
        }
        if self.sync_ipv4_home()
            && let Some(i) = self.installed
        {
            self.tunnel_up(i);
        }
        info!(coa = %care_of, ?lifetime, "mobile node: registered");
        self.notice(Notice::Registered { care_of, lifetime });
        if ba.status == BaStatus::AcceptedPrefixDiscoveryNecessary {
            self.notice(Notice::PrefixDiscoveryNecessary);
            self.start_solicit(now);
        }
    }

    /// RFC 5555 §3.2.1: the IPv4 Address Acknowledgement answering our
    /// request sent in UDP (`udp`) or over IPv6 (none: the home agent
    /// ignored it, nothing changes).
    fn ipv4_acknowledged(&mut self, options: &v6edge_wire::mh::MhOptions, udp: bool) {
        let Some(ack) = dsmip::ipv4_address_ack(options) else {
            return;
        };
        self.ipv4_home_status = Some(ack.status);
        if ack.status < 128 && is_usable_v4(ack.address) && (1..=32).contains(&ack.prefix_len) {
            let assigned = (ack.address, ack.prefix_len);
            if self.ipv4_home != Some(assigned) {
                info!(address = %ack.address, "mobile node: IPv4 home address assigned");
                self.notice(Notice::Ipv4HomeAddress {
                    address: ack.address,
                    prefix_len: ack.prefix_len,
                });
            }
            self.ipv4_home = Some(assigned);
        } else {
            let status = if ack.status < 128 {
                // "Success" with no usable address: as good as a refusal.
                dsmip::ack_status::INVALID_IPV4_ADDRESS
            } else {
                ack.status
            };
            self.ipv4_home_status = Some(status);
            if udp {
                self.ipv4_refused_udp = true;
            } else {
                self.ipv4_refused_v6 = true;
            }
            info!(status, udp, "mobile node: no IPv4 home address; IPv6 only");
            self.ipv4_home = None;
            self.notice(Notice::Ipv4HomeRefused { status });
        }
    }

    /// The binding is gone: so are its NAT state and IPv4 home address
    /// (refusals of the IPv4 home address are remembered).
    fn forget_binding_extras(&mut self) {
        self.nat_refresh = None;
        self.ipv4_home = None;
        if self.ipv4_home_status.is_some_and(|s| s < 128) {
            self.ipv4_home_status = None;
        }
    }

    fn finish_deregistration(&mut self, acknowledged: bool) {
        self.sent = None;
        self.state = BulState::Idle;
        self.binding_expires_at = None;
        self.lifetime = Duration::ZERO;
        self.uninstall();
        self.forget_binding_extras();
        info!(acknowledged, "mobile node: deregistered");
        self.notice(Notice::Deregistered { acknowledged });
        if let Location::Home { ifindex } = self.location {
            self.announce_home(ifindex);
        }
    }

    /// MN-10, RFC 6275 §11.5.4: an unsolicited Neighbor Advertisement with
    /// the Override flag for the home address to all nodes, so the home
    /// link's neighbours stop sending to the home agent's link-layer
    /// address (which the home agent no longer answers for).
    fn announce_home(&mut self, ifindex: IfIndex) {
        let hoa = self.config.home_address;
        let mut na = NeighborAdvert::new(hoa, false, false, true);
        if let Some(lla) = self
            .interfaces
            .get(&ifindex)
            .and_then(|i| i.link_layer.clone())
        {
            na.options.push(NdOption::TargetLla(lla));
        }
        self.out.push_back(MnOutput::Icmp6(Transmit {
            ifindex,
            src: Some(hoa),
            dst: Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1),
            transport: Transport::Icmpv6,
            hop_limit: Some(255),
            payload: NdMessage::NeighborAdvert(na).to_bytes(),
        }));
    }

    /// A refusal (or a home agent without MIP6): no more BUs until
    /// [`MobileNode::register`]; a binding we had is gone at the home
    /// agent, so is its state here.
    fn stop(&mut self, status: BaStatus) {
        info!(
            status = u8::from(status),
            "mobile node: registration refused"
        );
        self.stopped = Some(u8::from(status));
        self.sent = None;
        self.state = BulState::Idle;
        self.binding_expires_at = None;
        self.uninstall();
        self.forget_binding_extras();
        self.notice(Notice::Refused {
            status: u8::from(status),
        });
    }

    /// MN-13: BE 1 → register again; BE 2 → the home agent lacks MIP6.
    fn handle_be(&mut self, now: Instant, status: BeStatus, home_address: Ipv6Addr) {
        if home_address != self.config.home_address && !home_address.is_unspecified() {
            return self.drop(DropReason::NotFromHomeAgent);
        }
        match status {
            BeStatus::UnknownBindingForHomeAddress if self.installed.is_some() => {
                self.send_registration(now, INITIAL_BINDACK_TIMEOUT);
            }
            BeStatus::UnrecognizedMhType if self.sent.is_some() => {
                self.without_mip6();
            }
            _ => self.drop(DropReason::Unexpected),
        }
    }

    fn without_mip6(&mut self) {
        let Some(home_agent) = self.home_agent else {
            return;
        };
        self.stop(BaStatus::HomeRegistrationNotSupported);
        self.notice(Notice::HomeAgentWithoutMip6 { home_agent });
    }

    // ------------------------------------------------------------ ICMPv6 --

    /// MN-13: a Parameter Problem code 1 (unrecognised Next Header: no MH)
    /// or 2 (unrecognised option: no HAO) about our BU to the home agent.
    fn handle_parameter_problem(&mut self, now: Instant, r: &Received<'_>) {
        let (Some(ha), Some(sent)) = (self.home_agent, self.sent) else {
            return self.drop(DropReason::Icmp6Ignored);
        };
        let code = r.bytes.get(1).copied();
        // The invoking packet starts after the 8-octet ICMPv6 header.
        let invoking = r.bytes.get(8..).unwrap_or(&[]);
        let addr = |range: std::ops::Range<usize>| {
            invoking
                .get(range)
                .and_then(|b| <[u8; 16]>::try_from(b).ok())
                .map(Ipv6Addr::from)
        };
        let ours = matches!(code, Some(1 | 2))
            && r.src == ha
            && invoking.first().is_some_and(|v| v >> 4 == 6)
            && addr(24..40) == Some(ha)
            && addr(8..24).is_some_and(|s| s == sent.care_of || s == self.config.home_address);
        if !ours {
            return self.drop(DropReason::Icmp6Ignored);
        }
        if self.suspect.is_none() {
            let acks = self.counters.ba_received.values().sum();
            self.suspect = Some((now + PARAMETER_PROBLEM_GRACE, acks));
        }
    }

    // ------------------------------------------------ prefix discovery --

    /// ICMPv6 captured with its routing header (the kernel drops packets
    /// with a Type 2 Routing Header): Mobile Prefix Advertisements (MN-9,
    /// RFC 6275 §11.4.3), accepted only while registered away, from the
    /// home agent, to the care-of address with the home address in the
    /// routing header. An unsolicited one (another identifier than the
    /// solicitation's, or none in flight) is acknowledged with a
    /// solicitation, which stops the home agent's retransmissions.
    pub fn handle_captured_icmp6(&mut self, now: Instant, m: &MnReceived<'_>) {
        let hoa = self.config.home_address;
        if m.rh2 != Some(hoa) || m.hao.is_some() {
            return self.drop(DropReason::NotFromHomeAgent);
        }
        // RFC 8200 §8.1: the checksum covers the final destination.
        if !v6edge_wire::nd::verify_checksum(m.src, hoa, m.bytes) {
            return self.drop(DropReason::BadChecksum);
        }
        let advert = match MobilityIcmp::parse(m.bytes) {
            Ok(MobilityIcmp::MobilePrefixAdvert(a)) => a,
            Ok(_) => return self.drop(DropReason::Icmp6Ignored),
            Err(_) => return self.drop(DropReason::Malformed),
        };
        let Some(installed) = self.installed else {
            return self.drop(DropReason::NotAway);
        };
        if m.src != installed.home_agent || m.dst != installed.care_of {
            return self.drop(DropReason::NotFromHomeAgent);
        }
        self.counters.prefix_advertisements += 1;
        let solicited = self
            .solicit
            .is_some_and(|s| s.identifier == advert.identifier);
        let mut learned: Vec<HomePrefix> = Vec::new();
        let mut gone: Vec<Prefix> = Vec::new();
        for p in advert.prefixes() {
            let Ok(prefix) = Prefix::new(p.prefix, p.prefix_len) else {
                continue;
            };
            let until = |l: Lifetime| match l {
                Lifetime::Infinite => None,
                Lifetime::Finite(s) => Some(now + Duration::from_secs(u64::from(s))),
            };
            if p.valid == Lifetime::Finite(0) {
                gone.push(prefix);
                continue;
            }
            learned.push(HomePrefix {
                prefix,
                valid_until: until(p.valid),
                preferred_until: until(p.preferred),
            });
        }
        self.home_prefixes
            .retain(|h| !gone.contains(&h.prefix) && !learned.iter().any(|l| l.prefix == h.prefix));
        self.home_prefixes.extend(learned);
        self.home_prefixes.truncate(MAX_HOME_PREFIXES);
        // The next trigger: the home address's prefix leaving its
        // preferred lifetime (already past: nothing to wait for).
        self.prefix_deprecates_at = self
            .home_prefixes
            .iter()
            .find(|h| h.prefix.contains_addr(hoa))
            .and_then(|h| h.preferred_until)
            .filter(|t| *t > now);
        info!(
            solicited,
            prefixes = self.home_prefixes.len(),
            "mobile node: Mobile Prefix Advertisement"
        );
        self.notice(Notice::HomePrefixes(
            self.home_prefixes.iter().map(|h| h.prefix).collect(),
        ));
        self.solicit = None;
        if !solicited && !self.prefix_acks.try_take(now) {
            self.counters.prefix_acks_suppressed += 1;
            debug!("mobile node: unsolicited Mobile Prefix Advertisement not acknowledged (rate)");
        } else if !solicited {
            // The acknowledgement carries the advertisement's identifier,
            // so the home agent's answer (and any retransmission of the
            // advertisement) matches it and is not acknowledged again; it
            // is sent once (the home agent retransmits, not us).
            self.send_solicit(
                now,
                advert.identifier,
                INITIAL_SOLICIT_TIMER,
                PREFIX_SOLICIT_ATTEMPTS - 1,
            );
        }
    }

    /// MN-9: a new solicitation, unless one is in flight.
    fn start_solicit(&mut self, now: Instant) {
        if self.solicit.is_some() {
            return;
        }
        let identifier = self.rng.next_u32() as u16;
        self.send_solicit(now, identifier, INITIAL_SOLICIT_TIMER, 0);
    }

    /// RFC 6275 §11.4.2: from the care-of address to the home agent, with
    /// a Home Address option; only while registered away.
    fn send_solicit(&mut self, now: Instant, identifier: u16, backoff: Duration, sent_before: u32) {
        let (
            Some(installed),
            Location::Away {
                ifindex, care_of, ..
            },
        ) = (self.installed, self.location)
        else {
            self.solicit = None;
            return;
        };
        let hoa = self.config.home_address;
        let home_agent = installed.home_agent;
        let payload = MobilityIcmp::MobilePrefixSolicit(MobilePrefixSolicit {
            identifier,
            reserved: 0,
        })
        .to_bytes_with_checksum(hoa, home_agent);
        self.solicit = Some(Solicit {
            identifier,
            retransmit_at: now + backoff,
            backoff,
            sent: sent_before + 1,
        });
        self.counters.prefix_solicitations += 1;
        debug!(identifier, "mobile node: Mobile Prefix Solicitation");
        self.out
            .push_back(MnOutput::Icmp6WithHomeAddress(MnTransmit {
                ifindex,
                src: care_of,
                dst: home_agent,
                hao: Some(hoa),
                payload,
            }));
    }

    /// MN-8, RFC 6275 §11.4.1: to the Home-Agents anycast address of the
    /// home prefix, from the care-of address.
    fn send_dhaad(&mut self, now: Instant, backoff: Duration, sent_before: u32) {
        let Location::Away {
            ifindex, care_of, ..
        } = self.location
        else {
            self.dhaad = None;
            return;
        };
        let Some(anycast) = home_agents_anycast(&self.config.home_prefix) else {
            self.dhaad = None;
            return;
        };
        let identifier = self.rng.next_u32() as u16;
        let request = MobilityIcmp::HaadRequest(HaadRequest {
            identifier,
            mobile_router: false,
            reserved: 0,
        });
        self.dhaad = Some(Dhaad {
            identifier,
            retransmit_at: now + backoff,
            backoff,
            sent: sent_before + 1,
        });
        self.counters.dhaad_sent += 1;
        self.out.push_back(MnOutput::Icmp6(Transmit {
            ifindex,
            src: Some(care_of),
            dst: anycast,
            transport: Transport::Icmpv6,
            hop_limit: None,
            payload: request.to_bytes_with_checksum(care_of, anycast),
        }));
    }

    fn handle_dhaad_reply(&mut self, now: Instant, r: &Received<'_>) {
        let Some(d) = self.dhaad else {
            return self.drop(DropReason::Icmp6Ignored);
        };
        let Ok(MobilityIcmp::HaadReply(reply)) = MobilityIcmp::parse(r.bytes) else {
            return self.drop(DropReason::Malformed);
        };
        if reply.identifier != d.identifier || Some(r.dst) != self.care_of() {
            return self.drop(DropReason::Icmp6Ignored);
        }
        // MN-8: the first (most preferred) usable home agent; the others
        // in order for MN-5's fail-over.
        let candidates: Vec<Ipv6Addr> = reply
            .home_agents
            .iter()
            .copied()
            .filter(|a| is_global_unicast(*a))
            .take(MAX_HOME_AGENT_CANDIDATES)
            .collect();
        let Some(&ha) = candidates.first() else {
            return self.drop(DropReason::Malformed);
        };
        self.dhaad = None;
        self.candidates = candidates;
        self.unanswered = 0;
        self.home_agent = Some(ha);
        info!(ha = %ha, "mobile node: home agent discovered");
        self.notice(Notice::HomeAgentDiscovered(ha));
        let location = self.location;
        self.act_on_location(now, location, false);
    }

    // ----------------------------------------------- kernel, data plane --

    fn route(
        &self,
        table: RouteTable,
        metric: u32,
        gateway: Option<Ipv6Addr>,
        ifindex: IfIndex,
    ) -> RouteSpec {
        RouteSpec {
            owner: Owner::MobileNode,
            table,
            dst: Prefix::DEFAULT,
            kind: RouteType::Unicast,
            gateway,
            ifindex: Some(ifindex),
            metric,
            expires: None,
        }
    }

    fn rule(&self, from: Ipv6Addr, table: RouteTable) -> RuleSpec {
        RuleSpec {
            owner: Owner::MobileNode,
            family_v6: true,
            from: Some((IpAddr::V6(from), 128)),
            to: None,
            table,
            priority: self.config.rule_priority,
        }
    }

    /// The rules that send packets into the tunnel (MN-7): from the home
    /// address and, for a mobile router, from each mobile network (RFC
    /// 3963 §5.5: everything from the mobile networks is reverse
    /// tunnelled), except what goes to a mobile network (one LAN of the
    /// mobile router to another), looked up in the main table first.
    fn home_rules(&self) -> Vec<RuleSpec> {
        let home = self.rule(self.config.home_address, self.config.home_table);
        let mut rules = vec![home.clone()];
        for p in self.mobile_networks() {
            let net = Some((IpAddr::V6(p.addr()), p.len()));
            rules.push(RuleSpec {
                from: None,
                to: net,
                table: RouteTable::MAIN,
                priority: self.config.rule_priority.saturating_sub(1),
                ..home.clone()
            });
            rules.push(RuleSpec {
                from: net,
                ..home.clone()
            });
        }
        rules
    }

    /// The configured mobile networks, then the delegated ones (RFC 6276).
    fn mobile_networks(&self) -> Vec<Prefix> {
        let Some(router) = &self.config.mobile_router else {
            return Vec::new();
        };
        let mut nets = router.prefixes.clone();
        nets.extend(self.delegated.iter().copied());
        nets
    }

    /// The care-of address's own path (MN-7): IPv6 only; the UDP outer
    /// packets of an IPv4 care-of address follow the main IPv4 table.
    fn care_of_ops(&self, i: Installed) -> Option<(RuleSpec, RouteSpec)> {
        let router = i.router?;
        Some((
            self.rule(i.care_of, self.config.care_of_table),
            self.route(self.config.care_of_table, 1024, Some(router), i.ifindex),
        ))
    }

    /// The IPv4 home address's objects: the /32 on the tunnel device, the
    /// home table's IPv4 default through the tunnel, and the rule sending
    /// packets from it there.
    fn ipv4_home_ops(&self, addr: Ipv4Addr) -> (Address4Spec, Route4Spec, RuleSpec) {
        let tun = self.config.tunnel_ifindex;
        (
            Address4Spec {
                owner: Owner::MobileNode,
                ifindex: tun,
                addr,
                prefix_len: 32,
            },
            Route4Spec {
                owner: Owner::MobileNode,
                table: self.config.home_table,
                dst: Prefix4::new(Ipv4Addr::UNSPECIFIED, 0).expect("the default prefix"),
                kind: RouteType::Unicast,
                gateway: None,
                ifindex: Some(tun),
                metric: 0,
            },
            RuleSpec {
                owner: Owner::MobileNode,
                family_v6: false,
                from: Some((IpAddr::V4(addr), 32)),
                to: None,
                table: self.config.home_table,
                priority: self.config.rule_priority,
            },
        )
    }

    /// Brings the kernel's IPv4 home address in line with the assignment
    /// (only while a binding is installed); true when it changed.
    fn sync_ipv4_home(&mut self) -> bool {
        let wanted = self.installed.and(self.ipv4_home).map(|(addr, _)| addr);
        if wanted == self.ipv4_installed {
            return false;
        }
        if let Some(old) = self.ipv4_installed.take() {
            let (address, route, rule) = self.ipv4_home_ops(old);
            self.kernel(KernelOp::DelRule(rule));
            self.kernel(KernelOp::DelRoute4(route));
            self.kernel(KernelOp::DelAddress4(address));
        }
        if let Some(new) = wanted {
            let (address, route, rule) = self.ipv4_home_ops(new);
            self.kernel(KernelOp::SetAddress4(address));
            self.kernel(KernelOp::SetRoute4(route));
            self.kernel(KernelOp::SetRule(rule));
            self.ipv4_installed = Some(new);
        }
        true
    }

    /// MN-7, in order: the home address on the tunnel, reverse tunnelling
    /// for it, the care-of address's own path, the data plane, and last
    /// the default route through the tunnel (from then on new connections
    /// take the home address).
    fn install(&mut self, i: Installed) {
        let hoa = self.config.home_address;
        let tun = self.config.tunnel_ifindex;
        self.kernel(KernelOp::SetAddress(AddressSpec {
            owner: Owner::MobileNode,
            ifindex: tun,
            addr: hoa,
            prefix_len: 128,
            preferred: Lifetime::Infinite,
            valid: Lifetime::Infinite,
            no_prefix_route: true,
        }));
        let home_route = self.route(self.config.home_table, 1024, None, tun);
        self.kernel(KernelOp::SetRoute(home_route));
        for rule in self.home_rules() {
            self.kernel(KernelOp::SetRule(rule));
        }
        if let Some((rule, route)) = self.care_of_ops(i) {
            self.kernel(KernelOp::SetRoute(route));
            self.kernel(KernelOp::SetRule(rule));
        }
        self.installed = Some(i);
        self.sync_ipv4_home();
        self.tunnel_up(i);
        let main = self.route(RouteTable::MAIN, self.config.tunnel_route_metric, None, tun);
        self.kernel(KernelOp::SetRoute(main));
        self.home_rule_lifted = false;
    }

    /// A new care-of address (or router) under an installed binding.
    fn update_care_of(&mut self, new: Installed) {
        let Some(old) = self.installed else {
            return;
        };
        if new == old {
            return;
        }
        let old_ops = self.care_of_ops(old);
        let new_ops = self.care_of_ops(new);
        if old_ops != new_ops {
            if let Some((rule, route)) = old_ops {
                self.kernel(KernelOp::DelRule(rule));
                self.kernel(KernelOp::DelRoute(route));
            }
            if let Some((rule, route)) = new_ops {
                self.kernel(KernelOp::SetRoute(route));
                self.kernel(KernelOp::SetRule(rule));
            }
        }
        self.tunnel_up(new);
        self.installed = Some(new);
    }

    fn tunnel_up(&mut self, i: Installed) {
        self.out.push_back(MnOutput::DataPlane(TunnelOp::Up {
            home_address: self.config.home_address,
            care_of: i.care_of,
            home_agent: i.home_agent,
            mtu: self.config.tunnel_mtu,
            mobile_networks: self.mobile_networks(),
            udp: i.udp,
            ipv4_home: self.ipv4_installed,
            home_agent_v4: self.config.dsmip.as_ref().map(|d| d.home_agent_v4),
        }));
    }

    /// MN-10: everything of [`Self::install`], in reverse order.
    fn uninstall(&mut self) {
        let Some(i) = self.installed.take() else {
            return;
        };
        let hoa = self.config.home_address;
        let tun = self.config.tunnel_ifindex;
        let main = self.route(RouteTable::MAIN, self.config.tunnel_route_metric, None, tun);
        self.kernel(KernelOp::DelRoute(main));
        self.out
            .push_back(MnOutput::DataPlane(TunnelOp::Down { home_address: hoa }));
        self.sync_ipv4_home();
        if let Some((rule, route)) = self.care_of_ops(i) {
            self.kernel(KernelOp::DelRule(rule));
            self.kernel(KernelOp::DelRoute(route));
        }
        if !std::mem::take(&mut self.home_rule_lifted) {
            for rule in self.home_rules() {
                self.kernel(KernelOp::DelRule(rule));
            }
        }
        let home_route = self.route(self.config.home_table, 1024, None, tun);
        self.kernel(KernelOp::DelRoute(home_route));
        self.kernel(KernelOp::DelAddress {
            ifindex: tun,
            addr: hoa,
            prefix_len: 128,
        });
    }

    // ----------------------------------------------------------- helpers --

    fn kernel(&mut self, op: KernelOp) {
        self.out.push_back(MnOutput::Kernel(op));
    }

    fn notice(&mut self, notice: Notice) {
        self.out.push_back(MnOutput::Notice(notice));
    }

    fn count_ba(&mut self, status: BaStatus) {
        *self
            .counters
            .ba_received
            .entry(u8::from(status))
            .or_default() += 1;
    }

    fn drop(&mut self, reason: DropReason) {
        debug!(reason = reason.label(), "mobile node: input dropped");
        *self.counters.dropped.entry(reason).or_default() += 1;
    }
}

/// An IPv4 address that may be a care-of or home address: not "this
/// network", loopback, multicast, broadcast or class E (RFC 1122
/// §3.2.1.3, RFC 1112 §4). 169.254/16 and private addresses are: behind a
/// NAT any address is (RFC 5555 §4.2), and the lab's links use it.
fn is_usable_v4(a: Ipv4Addr) -> bool {
    !(a.octets()[0] == 0
        || a.is_loopback()
        || a.is_multicast()
        || a.is_broadcast()
        || a.octets()[0] >= 240)
}

fn is_global_unicast(a: Ipv6Addr) -> bool {
    !(a.is_unspecified()
        || a.is_loopback()
        || a.is_multicast()
        || a.segments()[0] & 0xffc0 == 0xfe80
        || a.to_ipv4_mapped().is_some())
}

/// RFC 4291 §2.6.1 subnet-router anycast (all host bits zero) and the RFC
/// 2526 reserved anycast range (the top 128 of a /64's identifiers).
fn is_subnet_anycast(a: Ipv6Addr, prefix_len: u8) -> bool {
    if prefix_len == 0 || prefix_len >= 127 {
        return false;
    }
    let host = u128::from(a) & (u128::MAX >> prefix_len);
    if host == 0 {
        return true;
    }
    if prefix_len == 64 {
        return host | 0x7f == 0xfdff_ffff_ffff_ffff;
    }
    host | 0x7f == u128::MAX >> prefix_len
}
