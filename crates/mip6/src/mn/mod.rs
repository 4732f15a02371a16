//! The mobile node (RFC 6275 §11, mobility.md §1.7 MN-1…MN-16): a sans-IO
//! machine for one home address registered with one home agent.
//!
//! # Method grammar (style.md §3)
//! - [`MobileNode::new`]`(config, seed, now)`,
//!   [`MobileNode::set_wall_clock`] (RFC 4285 timestamps need the time of
//!   day; the machine never reads a clock).
//! - Input: [`MobileNode::handle_link`] (addresses and default routers of
//!   the configured interfaces: movement detection and care-of address
//!   choice, MN-1…MN-3), [`MobileNode::handle_mh`] (Binding
//!   Acknowledgements and Binding Errors, MN-6, MN-13),
//!   [`MobileNode::handle_mh_udp`] (the same, carried in UDP/IPv4 from the
//!   home agent's IPv4 endpoint, RFC 5555 §4.2),
//!   [`MobileNode::handle_icmp6`] (DHAAD replies, MN-8; Parameter Problems
//!   quoting our Binding Update, MN-13), [`MobileNode::register`] and
//!   [`MobileNode::deregister`] (admin), [`MobileNode::handle_timeout`].
//! - Output: [`MobileNode::poll_output`] until `None`, in order;
//!   [`MobileNode::poll_timeout`].
//! - Getters: [`MobileNode::status`] (takes `now` for the remaining
//!   lifetime), [`MobileNode::counters`].
//!
//! # Decisions
//! - Nothing reaches the kernel or the data plane before the home agent
//!   answered an authenticated Binding Update with an authenticated BA
//!   of status 0 or 1: unauthenticated input creates no forwarding state.
//!   The one exception to "authenticated" is BA 146 (the home agent could
//!   not verify us, so it cannot sign): accepted only when its sequence
//!   number is that of the BU in flight, and it stops registration.
//! - Every Binding Update, retransmissions included, has a new sequence
//!   number and a new replay protection value: the home agent drops a
//!   replayed value (RFC 4285 §6) and answers an old sequence number with
//!   135 (RFC 6275 §9.5.1), so a retransmission of the same octets after a
//!   lost BA could never succeed. The retransmission schedule is that of
//!   RFC 6275 §11.8 (mobility.md §1.4): 1.5 s for the first home
//!   registration, 1 s otherwise, doubling up to 32 s; home registrations
//!   are retried for ever (MN-5).
//! - While away the home address is a /128 on the tunnel device (a TUN
//!   device: `IFF_NOARP`, so the kernel does no DAD on it, MN-3); a
//!   default route through the tunnel (preferred over the access
//!   router's default by its metric) makes new connections choose the home
//!   address as source (RFC 6724 rule 5, MN-16), a rule sends everything
//!   from the home address to a table whose default is the tunnel (reverse
//!   tunnelling, MN-7), and a rule sends everything from the care-of
//!   address (tunnel outer packets, Binding Updates) to a table whose
//!   default is the access router.
//! - At home the home address goes on the home interface and, if a binding
//!   exists, a deregistration BU leaves from it without a Home Address
//!   option (RFC 6275 §11.5.4); the tunnel state goes once the BA arrives
//!   (MN-10), or after [`DEREGISTRATION_ATTEMPTS`] unanswered BUs. Then an
//!   unsolicited Neighbor Advertisement (override) for the home address
//!   tells the home link's neighbours, whose caches still name the home
//!   agent's link-layer address, where it is now (MN-10, RFC 6275
//!   §11.5.4).
//! - MN-9: a Mobile Prefix Solicitation (with a Home Address option) goes
//!   to the home agent on BA status 1, when the home address's prefix
//!   leaves its preferred lifetime, and in acknowledgement of an
//!   unsolicited advertisement; advertisements are accepted only from the
//!   registered home agent, to the care-of address with a Type 2 Routing
//!   Header naming the home address. The prefixes are reported (status,
//!   notice); forming a new home address from them is not done here.
//! - Not here yet: route optimisation (MN-12, MN-14, MN-15), the NS from
//!   `::` to resolve the home agent (MN-10), NEMO (MR-x).
//! - MN-5's fail-over: after [`FAILOVER_AFTER`] unanswered registration
//!   BUs the next home agent of the DHAAD reply is tried (a configured
//!   home agent has no alternative). At most [`MAX_UPDATE_RATE`] BUs leave
//!   per second; a BU over the limit is deferred, not dropped.
//!
//! ## Dual-Stack Mobile IPv6 (RFC 5555, DS-1…DS-10; with [`MnConfig::dsmip`])
//! - IPv6 is preferred (DS-8): an IPv6 care-of address on any configured
//!   interface wins; only when none has one does an interface with an IPv4
//!   address and an IPv4 default router make the node
//!   [`Location::AwayV4`]. Home is still the IPv6 home link. IPv4
//!   addresses in 0.0.0.0/8, 127/8, multicast and broadcast are never
//!   care-of addresses; private ones and 169.254/16 are (behind a NAT
//!   any address may be, RFC 5555 §4.2; the lab uses 169.254/16).
//! - Away over IPv4 the Binding Update is an IPv6 packet (source the home
//!   address, destination the home agent, no Home Address option) in UDP
//!   from the IPv4 care-of address to the home agent's IPv4 address, port
//!   4191 ([`MnOutput::Udp`], RFC 5555 §4.2.1). Its flags are A, H (+R for a
//!   mobile router) and F when [`MnDsmipConfig::force_udp`] (RFC 5555
//!   §3.1.3: so the home agent encapsulates in UDP even without a NAT; we
//!   send only UDP, DS-10); its options the IPv4 Care-of Address (§3.1.2)
//!   instead of the Alternate Care-of Address, the IPv4 Home Address
//!   Request (§3.1.1, when configured), Mobile Network Prefixes, Replay
//!   Protection and the MN-HA authenticator last (AU-1), computed over the
//!   IPv4-mapped care-of address ([`crate::dsmip::mapped`], the documented
//!   interop decision of [`crate::dsmip`]).
//! - The IPv4 Home Address Request asks for 0.0.0.0/32 (one address,
//!   RFC 5555 §3.1.1: prefix length 32 for a single address) until the
//!   home agent assigned one, then names that address (so a refresh keeps
//!   it). It rides on IPv6 care-of Binding Updates too (DS-8: an IPv4 home
//!   address over an IPv6 care-of address). A refusal (IPv4 Address
//!   Acknowledgement status ≥ 128, §3.2.1) is reported, the IPv4 home
//!   address (if any) removed, and the node carries on with IPv6 only; it
//!   asks no more over that kind of path (UDP, or IPv6) until
//!   [`MobileNode::register`], but does over the other: a home agent may
//!   serve IPv4 home addresses over UDP only (ours, for now, answers 129
//!   over IPv6), and moving back to IPv4 must get the address back.
//! - The BA in UDP is accepted only from the home agent's IPv4 address and
//!   port 4191 and only for a BU sent in UDP (and a BU sent natively is
//!   answered only natively). A NAT Detection option (§3.2.2) means a NAT:
//!   the binding is refreshed at least every refresh time (DS-5; the
//!   re-registration BU is the keepalive; a refresh time of 0, which
//!   §3.2.2 says to ignore, means [`crate::dsmip::NAT_KEEPALIVE`]; all
//!   ones means no NAT was seen after all).
//! - Kernel state while away over IPv4: the home address, the home table,
//!   its rule and the main-table default through the tunnel as over IPv6,
//!   but no care-of rule or table (that rule is IPv6; the UDP outer packets
//!   are IPv4 and follow the main IPv4 table to the access router). An
//!   assigned IPv4 home address goes on the tunnel device as a /32, with
//!   an IPv4 rule `from <IPv4 home address>` to the home table and an IPv4
//!   default through the tunnel there: only traffic from the IPv4 home
//!   address enters the tunnel, so nothing can route the outer packets to
//!   the home agent's IPv4 address into the tunnel itself (no IPv4 default
//!   through the tunnel in the main table; applications use the IPv4 home
//!   address by binding to it).
//! - Every move removes what the previous location installed and nothing
//!   else (MT-21); deregistration and refusal remove the IPv4 home address
//!   with the rest.
//! - Over IPv4 there is no DHAAD (so DSMIPv6 needs a configured home
//!   agent, [`MnConfigError::DsmipWithoutHomeAgent`]) and no Mobile Prefix
//!   Solicitation (MN-9 works while away over IPv6 only). The node always
//!   sends data in UDP over IPv4; without F and without a NAT a home agent
//!   may answer in IP over IPv4, which the data plane accepts from the
//!   home agent's address only (DS-10).
//!
//! Panic contract: no input, instant or configuration makes the machine
//! panic; instant arithmetic saturates.

mod machine;

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4};
use std::time::Duration;

use v6edge_core::{IfIndex, Instant, KernelOp, RouteTable, Transmit};
use v6edge_prefix::Prefix;

use crate::auth::{MnHaKey, ReplayMode};

pub use machine::MobileNode;

/// RFC 6275 §13 InitialBindackTimeoutFirstReg (mobility.md §1.4).
pub const INITIAL_BINDACK_TIMEOUT_FIRST_REG: Duration = Duration::from_millis(1500);
/// RFC 6275 §12 INITIAL_BINDACK_TIMEOUT.
pub const INITIAL_BINDACK_TIMEOUT: Duration = Duration::from_secs(1);
/// RFC 6275 §12 MAX_BINDACK_TIMEOUT.
pub const MAX_BINDACK_TIMEOUT: Duration = Duration::from_secs(32);
/// RFC 6275 §12 INITIAL_DHAAD_TIMEOUT.
pub const INITIAL_DHAAD_TIMEOUT: Duration = Duration::from_secs(3);
/// RFC 6275 §12 DHAAD_RETRIES.
pub const DHAAD_RETRIES: u32 = 4;
/// RFC 6275 §12 MAX_UPDATE_RATE: Binding Updates per second to one peer.
pub const MAX_UPDATE_RATE: usize = 3;
/// Unanswered registration BUs before the next home agent of the DHAAD
/// reply is tried (MN-5, KAME's policy).
pub const FAILOVER_AFTER: u32 = 7;
/// Home agents of a DHAAD reply kept for fail-over.
pub const MAX_HOME_AGENT_CANDIDATES: usize = 8;
/// Unanswered deregistration BUs before the tunnel state is removed anyway.
pub const DEREGISTRATION_ATTEMPTS: u32 = 7;
/// Refresh at this percentage of the granted lifetime when the BA has no
/// usable Binding Refresh Advice.
pub const REFRESH_PERCENT: u32 = 80;
/// MN-13: how long a Parameter Problem about our Binding Update waits
/// before it counts, and is forgotten if a Binding Acknowledgement came
/// meanwhile. A home agent in userspace on a stock kernel takes its
/// Binding Updates from a packet capture while its kernel, which does not
/// know the Home Address option, may answer each with a Parameter Problem
/// (code 2) at once: that answer says nothing about the home agent.
/// Longer than a home agent's proxy DAD (RFC 4862: 1 s) before its first
/// acknowledgement.
pub const PARAMETER_PROBLEM_GRACE: Duration = Duration::from_secs(2);
/// RFC 6275 §12 INITIAL_SOLICIT_TIMER: the first Mobile Prefix
/// Solicitation's retransmission timeout, doubled after each (MN-9).
pub const INITIAL_SOLICIT_TIMER: Duration = Duration::from_secs(3);
/// Mobile Prefix Solicitations sent for one trigger before giving up until
/// the next (RFC 6275 §11.4.2 names none; 3 + 6 + 12 s covers the home
/// agent's own retransmissions).
pub const PREFIX_SOLICIT_ATTEMPTS: u32 = 4;
/// Acknowledgements of unsolicited Mobile Prefix Advertisements: a home
/// agent retransmits one 3 s apart (RFC 6275 §10.6.2 and §11.4.3), so one
/// a second with a burst of 3 answers every genuine one, while forged
/// advertisements get at most that many solicitations from us.
pub const PREFIX_ACK_RATE: v6edge_core::limit::Rate = v6edge_core::limit::Rate::new(1, 3);
/// Home prefixes kept from Mobile Prefix Advertisements.
pub const MAX_HOME_PREFIXES: usize = 16;

/// The MN-HA security association (RFC 4285, AU-1, AU-3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MnSecurity {
    pub spi: u32,
    pub key: MnHaKey,
    pub replay: ReplayMode,
}

/// The mobile node's configuration (the daemon builds it from
/// `[mobility]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MnConfig {
    pub home_address: Ipv6Addr,
    /// The home link's prefix (at home iff a usable address is in it).
    pub home_prefix: Prefix,
    /// The home agent; `None`: found by DHAAD (MN-8).
    pub home_agent: Option<Ipv6Addr>,
    /// Interfaces that may carry a care-of address, most preferred first
    /// (MN-2).
    pub interfaces: Vec<IfIndex>,
    /// The TUN device of the data plane: holds the home address while away.
    pub tunnel_ifindex: IfIndex,
    pub security: MnSecurity,
    /// Longest lifetime asked for (`MnMaxHaBindingLife`, MN-4).
    pub max_lifetime: Duration,
    /// RFC 6275 §13 InitialBindackTimeoutFirstReg (more than the home
    /// agent's DAD time).
    pub initial_bindack_timeout_first_reg: Duration,
    /// The inner MTU of the tunnel to the home agent.
    pub tunnel_mtu: u32,
    /// Table of the default route through the tunnel used by packets from
    /// the home address (MN-7).
    pub home_table: RouteTable,
    /// Table of the default route through the access router used by
    /// packets from the care-of address (MN-7).
    pub care_of_table: RouteTable,
    /// Priority of the two rules (`from HoA`, `from CoA`).
    pub rule_priority: u32,
    /// Metric of the main-table default route through the tunnel; below
    /// the kernel's 1024 for RA routes so new connections use it (MN-16).
    pub tunnel_route_metric: u32,
    /// A mobile router (NEMO Basic Support, RFC 3963): its mobile networks
    /// travel through the tunnel with it.
    pub mobile_router: Option<MobileRouterConfig>,
    /// Dual-Stack Mobile IPv6 (RFC 5555): IPv4 care-of addresses and an
    /// IPv4 home address. `None`: IPv6 only.
    pub dsmip: Option<MnDsmipConfig>,
}

/// What makes the mobile node dual-stack (RFC 5555, mobility.md §3.5
/// `mn.dsmip6`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MnDsmipConfig {
    /// The home agent's IPv4 address (`HomeAgentV4Address`): Binding
    /// Updates from an IPv4 care-of address go to it, UDP port 4191.
    pub home_agent_v4: Ipv4Addr,
    /// Ask for an IPv4 home address (RFC 5555 §3.1.1, 0.0.0.0: the home
    /// agent assigns one).
    pub request_ipv4_home: bool,
    /// Set F in Binding Updates sent over IPv4 (RFC 5555 §3.1.3): UDP
    /// encapsulation even without a NAT.
    pub force_udp: bool,
}

impl MnDsmipConfig {
    /// No IPv4 home address requested, F set (mobility.md §3.5 default).
    pub fn new(home_agent_v4: Ipv4Addr) -> MnDsmipConfig {
        MnDsmipConfig {
            home_agent_v4,
            request_ipv4_home: false,
            force_udp: true,
        }
    }

    /// Where Binding Updates and data go over IPv4.
    pub fn endpoint(&self) -> SocketAddrV4 {
        SocketAddrV4::new(self.home_agent_v4, crate::dsmip::DSMIP_PORT)
    }
}

/// What makes a mobile node a mobile router (RFC 3963 §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MobileRouterConfig {
    /// The mobile network prefixes: packets from them are reverse
    /// tunnelled, packets to them accepted from the tunnel.
    pub prefixes: Vec<Prefix>,
    /// Explicit mode (RFC 3963 §6.1.1): the BU names the prefixes in
    /// Mobile Network Prefix options; implicit mode leaves them to the
    /// home agent's configuration.
    pub explicit: bool,
}

impl MnConfig {
    /// A configuration with the defaults of mobility.md §1.4 and §3.5.
    pub fn new(
        home_address: Ipv6Addr,
        home_prefix: Prefix,
        home_agent: Option<Ipv6Addr>,
        interfaces: Vec<IfIndex>,
        tunnel_ifindex: IfIndex,
        security: MnSecurity,
    ) -> MnConfig {
        MnConfig {
            home_address,
            home_prefix,
            home_agent,
            interfaces,
            tunnel_ifindex,
            security,
            max_lifetime: Duration::from_secs(3600),
            initial_bindack_timeout_first_reg: INITIAL_BINDACK_TIMEOUT_FIRST_REG,
            tunnel_mtu: 1460,
            home_table: RouteTable(222),
            care_of_table: RouteTable(223),
            rule_priority: 1000,
            tunnel_route_metric: 512,
            mobile_router: None,
            dsmip: None,
        }
    }
}

/// Why a configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MnConfigError {
    #[error("home address {0} is not in the home prefix")]
    HomeAddressOutsidePrefix(Ipv6Addr),
    #[error("SPI {0} is reserved (RFC 4285 §5: use 256 or more)")]
    ReservedSpi(u32),
    #[error("no interface may carry a care-of address")]
    NoInterfaces,
    #[error("tunnel MTU {0} below the IPv6 minimum of 1280")]
    TunnelMtu(u32),
    #[error("maximum lifetime below 4 s (one unit of the Binding Update)")]
    Lifetime,
    /// DHAAD needs an IPv6 care-of address; over IPv4 the home agent must
    /// be known.
    #[error("Dual-Stack Mobile IPv6 needs a configured home agent (no DHAAD over IPv4)")]
    DsmipWithoutHomeAgent,
    #[error("home agent IPv4 address {0} is not a unicast address")]
    DsmipHomeAgentV4(Ipv4Addr),
}

/// Facts about the configured interfaces, as netlink reports them (MN-1,
/// MN-2).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LinkEvent {
    /// An address appeared or changed (flags updated in place).
    Address {
        ifindex: IfIndex,
        addr: Ipv6Addr,
        prefix_len: u8,
        /// DAD not finished, or failed (never a care-of address).
        tentative: bool,
        /// RFC 4941 temporary address (never a care-of address).
        temporary: bool,
        /// Preferred lifetime over.
        deprecated: bool,
        /// Valid lifetime from now; `None`: infinite. Bounds the
        /// lifetime asked for (MN-4).
        valid_lifetime: Option<Duration>,
    },
    /// The address is gone.
    AddressLost { ifindex: IfIndex, addr: Ipv6Addr },
    /// The interface's default router (from RAs or the routing table);
    /// `None`: no default router any more, the link cannot carry a CoA.
    DefaultRouter {
        ifindex: IfIndex,
        router: Option<Ipv6Addr>,
    },
    /// Carrier lost: every address and the router of the interface go.
    LinkDown { ifindex: IfIndex },
    /// The interface's link-layer address: the Target Link-Layer Address
    /// of the unsolicited Neighbor Advertisement back home (MN-10).
    LinkLayerAddress { ifindex: IfIndex, address: Vec<u8> },
    /// An IPv4 address appeared (RFC 5555: a possible IPv4 care-of
    /// address; used only with [`MnConfig::dsmip`]).
    Address4 {
        ifindex: IfIndex,
        addr: Ipv4Addr,
        prefix_len: u8,
    },
    /// The IPv4 address is gone.
    Address4Lost { ifindex: IfIndex, addr: Ipv4Addr },
    /// The interface's IPv4 default router; `None`: no more (the link
    /// cannot carry an IPv4 care-of address).
    DefaultRouter4 {
        ifindex: IfIndex,
        router: Option<Ipv4Addr>,
    },
}

/// A Mobility Header message as the driver received it, from the Payload
/// Proto octet on (a BA to a node away comes with RH2 = its home address).
#[derive(Debug, Clone, Copy)]
pub struct MnReceived<'a> {
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
    pub hao: Option<Ipv6Addr>,
    pub rh2: Option<Ipv6Addr>,
    pub bytes: &'a [u8],
}

/// What the mobile node asks of the data plane (the MN side of the
/// bidirectional tunnel, RFC 6275 §11.3.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TunnelOp {
    /// Add or replace: packets read from the tunnel device with source
    /// `home_address` are encapsulated from `care_of` to `home_agent`
    /// (inner packets up to `mtu`); encapsulated input is accepted only
    /// from `home_agent` to `care_of` (MN-11, see [`MnTunnel::inbound`]).
    Up {
        home_address: Ipv6Addr,
        care_of: Ipv6Addr,
        home_agent: Ipv6Addr,
        mtu: u32,
        /// A mobile router's mobile networks (RFC 3963): their packets
        /// are tunnelled as the home address's are.
        mobile_networks: Vec<Prefix>,
        /// Away over IPv4 (RFC 5555 §4.1): packets travel in UDP from
        /// this endpoint pair instead, and `care_of` is the IPv4-mapped
        /// form of [`UdpTunnel::care_of`].
        udp: Option<UdpTunnel>,
        /// The IPv4 home address the home agent assigned (RFC 5555
        /// §3.2.1): IPv4 packets from it are tunnelled (in UDP over an
        /// IPv4 care-of address, IPv4-in-IPv6 over an IPv6 one, DS-8) and
        /// IPv4 packets to it accepted from the tunnel.
        ipv4_home: Option<Ipv4Addr>,
        /// The home agent's IPv4 address (RFC 5555), the source of the
        /// ICMPv4 errors the tunnel entry owes IPv4 senders.
        home_agent_v4: Option<Ipv4Addr>,
    },
    Down {
        home_address: Ipv6Addr,
    },
}

/// A Mobility Header message to send. When `hao` is set the packet carries
/// a Home Address destination option with it (the daemon's raw MH socket
/// with `IPV6_DSTOPTS`); the checksum is filled in over `hao` as source
/// (RFC 6275 §6.1.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MnTransmit {
    pub ifindex: IfIndex,
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
    pub hao: Option<Ipv6Addr>,
    pub payload: Vec<u8>,
}

/// The UDP path of a tunnel over an IPv4 care-of address (RFC 5555
/// §4.1): from `care_of` (any source port the driver's one socket has:
/// signalling and data must share it, so a NAT maps both alike) to the
/// home agent's IPv4 address and port 4191.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UdpTunnel {
    pub care_of: Ipv4Addr,
    pub home_agent: SocketAddrV4,
}

/// A Binding Update (or deregistration) to send in UDP over IPv4 (RFC 5555
/// §4.2.1): `payload` is a whole IPv6 packet (from the home address to the
/// home agent, Mobility Header checksum filled in), sent from `src` on
/// `ifindex` to `dst`, the home agent's port 4191, from the socket that
/// carries the data too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpTransmit {
    pub ifindex: IfIndex,
    pub src: Ipv4Addr,
    pub dst: SocketAddrV4,
    pub payload: Vec<u8>,
}

/// State changes, for logs, metrics and hooks.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Notice {
    /// Movement detected (MN-1): the new care-of address, or at home, or
    /// no usable address.
    Moved(Location),
    HomeAgentDiscovered(Ipv6Addr),
    /// [`FAILOVER_AFTER`] BUs unanswered: the next home agent of the DHAAD
    /// reply is tried (MN-5).
    HomeAgentFailover {
        from: Ipv6Addr,
        to: Ipv6Addr,
    },
    /// DHAAD_RETRIES requests unanswered (MN-8).
    DiscoveryFailed,
    /// A BA 0/1 accepted our binding (an IPv4 care-of address appears in
    /// its IPv4-mapped form).
    Registered {
        care_of: Ipv6Addr,
        lifetime: Duration,
    },
    /// BA 1: the home prefix is about to change; a Mobile Prefix
    /// Solicitation follows (MN-9).
    PrefixDiscoveryNecessary,
    /// A Mobile Prefix Advertisement from the home agent: the home link's
    /// prefixes now (MN-9).
    HomePrefixes(Vec<Prefix>),
    /// The binding is gone (deregistration acknowledged, or given up).
    Deregistered {
        acknowledged: bool,
    },
    /// The home agent refused with this status: registration stopped.
    Refused {
        status: u8,
    },
    /// BA 135: sequence number resynchronised to this value.
    SequenceResynchronised {
        sequence: u16,
    },
    /// BA 144: the replay timestamp now follows the home agent's clock.
    ClockResynchronised,
    /// The home agent does not speak Mobile IPv6 (MN-13): after a
    /// Binding Error 2 registration stopped; after Parameter Problems
    /// with no acknowledgement in [`PARAMETER_PROBLEM_GRACE`] (a home
    /// agent's host whose daemon is not running answers so) it goes on.
    HomeAgentWithoutMip6 {
        home_agent: Ipv6Addr,
    },
    /// The granted lifetime ran out before a refresh was acknowledged.
    BindingExpired,
    /// RFC 4285 timestamps without `set_wall_clock`: no BU can be sent.
    NoWallClock,
    /// RFC 5555 §3.2.2: the home agent saw a NAT between us; the binding
    /// is refreshed at least this often (DS-5).
    NatDetected {
        refresh: Duration,
    },
    /// RFC 5555 §3.2.1: the home agent assigned (or confirmed) this IPv4
    /// home address.
    Ipv4HomeAddress {
        address: Ipv4Addr,
        prefix_len: u8,
    },
    /// RFC 5555 §3.2.1: no IPv4 home address (status ≥ 128); no more
    /// requests over this kind of path (UDP or IPv6) until
    /// [`MobileNode::register`].
    Ipv4HomeRefused {
        status: u8,
    },
}

/// What the mobile node asks of its driver, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MnOutput {
    Mh(MnTransmit),
    /// A Binding Update in UDP over IPv4 (RFC 5555 §4.2.1).
    Udp(UdpTransmit),
    /// ICMPv6: DHAAD requests.
    Icmp6(Transmit),
    /// ICMPv6 with a Home Address option (`hao` always set): Mobile Prefix
    /// Solicitations (MN-9, RFC 6275 §11.4.2), checksum filled in over the
    /// home address (RFC 6275 §6.3). Linux without MIP6 takes the option
    /// through `IPV6_DSTOPTS` but computes an ICMPv6 checksum over the
    /// care-of address, so the driver builds the whole packet.
    Icmp6WithHomeAddress(MnTransmit),
    /// Addresses, routes and rules owned by `Owner::MobileNode`.
    Kernel(KernelOp),
    DataPlane(TunnelOp),
    Notice(Notice),
}

/// Where the mobile node is (MN-1…MN-3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// No interface has a usable address and a default router.
    Detached,
    /// An interface holds an address in the home prefix.
    Home { ifindex: IfIndex },
    Away {
        ifindex: IfIndex,
        care_of: Ipv6Addr,
        router: Ipv6Addr,
    },
    /// No IPv6 care-of address anywhere, but an IPv4 address and an IPv4
    /// default router on this interface (RFC 5555, only with
    /// [`MnConfig::dsmip`]).
    AwayV4 {
        ifindex: IfIndex,
        care_of: Ipv4Addr,
        router: Ipv4Addr,
    },
}

/// The Binding Update List entry's state (mobility.md §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulState {
    /// Nothing in flight: at home without binding, detached, no home agent
    /// yet, stopped by a refusal, or not asked to register.
    Idle,
    WaitAck {
        retransmit_at: Instant,
        backoff: Duration,
    },
    Bound {
        refresh_at: Instant,
        expires_at: Instant,
    },
    Deregistering {
        retransmit_at: Instant,
        backoff: Duration,
    },
}

/// Why an input was dropped, for counters and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum DropReason {
    BadChecksum,
    Malformed,
    /// Not from our home agent, or not to our care-of / home address.
    NotFromHomeAgent,
    /// A message type the mobile node does not take.
    Unexpected,
    /// No BU in flight, or the BA's sequence number is not the last sent.
    NotAwaited,
    /// Missing or wrong MN-HA authenticator, or replay value not ours.
    AuthFailed,
    /// An ICMPv6 message that is none of ours.
    Icmp6Ignored,
    /// A Mobile Prefix Advertisement while no binding is in place.
    NotAway,
}

impl DropReason {
    /// A stable kebab-case label for metrics.
    pub fn label(self) -> &'static str {
        match self {
            DropReason::BadChecksum => "bad-checksum",
            DropReason::Malformed => "malformed",
            DropReason::NotFromHomeAgent => "not-from-home-agent",
            DropReason::Unexpected => "unexpected",
            DropReason::NotAwaited => "not-awaited",
            DropReason::AuthFailed => "auth-failed",
            DropReason::Icmp6Ignored => "icmp6-ignored",
            DropReason::NotAway => "not-away",
        }
    }
}

/// Counters for metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MnCounters {
    /// Binding Updates sent, retransmissions included.
    pub bu_sent: u64,
    /// Of those, retransmissions after a timeout.
    pub retransmissions: u64,
    /// Authenticated (or awaited 146) BAs, by status.
    pub ba_received: BTreeMap<u8, u64>,
    pub dropped: BTreeMap<DropReason, u64>,
    pub dhaad_sent: u64,
    /// Arrivals at a new location (home, or away at a new care-of
    /// address); losing the link on the way does not count.
    pub movements: u64,
    /// MN-9: Mobile Prefix Solicitations sent, retransmissions included.
    pub prefix_solicitations: u64,
    /// MN-9: Mobile Prefix Advertisements accepted.
    pub prefix_advertisements: u64,
    /// Unsolicited advertisements accepted but not acknowledged: over
    /// [`PREFIX_ACK_RATE`].
    pub prefix_acks_suppressed: u64,
    /// Of `bu_sent`, those sent in UDP over IPv4 (RFC 5555).
    pub bu_sent_udp: u64,
    /// Authenticated BAs that came in UDP over IPv4.
    pub ba_received_udp: u64,
}

/// A home link prefix as the last Mobile Prefix Advertisement told it
/// (MN-9), with its remaining lifetimes (`None`: infinite).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HomePrefixStatus {
    pub prefix: Prefix,
    pub valid: Option<Duration>,
    pub preferred: Option<Duration>,
}

/// Plain data for the control socket (`mobility bul`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MnStatus {
    pub state: BulState,
    pub location: Location,
    pub home_address: Ipv6Addr,
    /// The IPv6 care-of address (`None` away over IPv4).
    pub care_of: Option<Ipv6Addr>,
    /// The IPv4 care-of address while [`Location::AwayV4`].
    pub care_of_v4: Option<Ipv4Addr>,
    pub home_agent: Option<Ipv6Addr>,
    /// Whether the last BA in UDP had a NAT Detection option, and the
    /// refresh time it gave (RFC 5555 §3.2.2).
    pub nat_refresh: Option<Duration>,
    /// The IPv4 home address assigned by the home agent.
    pub ipv4_home: Option<Ipv4Addr>,
    /// The status of the last IPv4 Address Acknowledgement (0: assigned).
    pub ipv4_home_status: Option<u8>,
    /// The sequence number of the last BU sent.
    pub sequence: u16,
    /// The lifetime granted by the last BA 0/1.
    pub lifetime: Duration,
    /// Until the binding expires (zero without one).
    pub remaining: Duration,
    pub next_retransmit: Option<Instant>,
    /// Whether the tunnel, address, routes and rules are in place.
    pub installed: bool,
    /// The status that stopped registration, if one did.
    pub stopped: Option<u8>,
    /// The home link's prefixes from Mobile Prefix Advertisements.
    pub home_prefixes: Vec<HomePrefixStatus>,
    /// A mobile router's mobile networks: the configured ones, then those
    /// delegated by DHCPv6 (RFC 6276).
    pub mobile_networks: Vec<Prefix>,
    pub counters: MnCounters,
}

/// The MN's tunnel check (MN-11, RFC 6275 §11.3.1 and §10.4.5's mirror):
/// decapsulated input is accepted only when it came from the home agent
/// to the current care-of address and is for the home address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MnTunnel {
    pub home_address: Ipv6Addr,
    pub care_of: Ipv6Addr,
    pub home_agent: Ipv6Addr,
    pub mtu: u32,
    /// A mobile router's mobile networks (RFC 3963 §5.5, §6.3).
    pub mobile_networks: Vec<Prefix>,
    /// Away over IPv4: the UDP path (RFC 5555 §4.1); `care_of` is then its
    /// IPv4-mapped form and no IPv6-encapsulated input is accepted.
    pub udp: Option<UdpTunnel>,
    /// The assigned IPv4 home address (RFC 5555 §3.2.1).
    pub ipv4_home: Option<Ipv4Addr>,
    /// The home agent's IPv4 address, whence an ICMPv4 Fragmentation
    /// Needed comes (the stack drops IPv4 from its own addresses).
    pub home_agent_v4: Option<Ipv4Addr>,
}

impl MnTunnel {
    /// The tunnel of a [`TunnelOp::Up`].
    pub fn from_op(op: &TunnelOp) -> Option<MnTunnel> {
        match op {
            TunnelOp::Up {
                home_address,
                care_of,
                home_agent,
                mtu,
                mobile_networks,
                udp,
                ipv4_home,
                home_agent_v4,
            } => Some(MnTunnel {
                home_address: *home_address,
                care_of: *care_of,
                home_agent: *home_agent,
                mtu: *mtu,
                mobile_networks: mobile_networks.clone(),
                udp: *udp,
                ipv4_home: *ipv4_home,
                home_agent_v4: *home_agent_v4,
            }),
            TunnelOp::Down { .. } => None,
        }
    }

    /// MN-11: whether an inner packet that arrived encapsulated in IPv6
    /// from `outer_src` to `outer_dst` may be delivered: an IPv6 packet for
    /// the home address (or a mobile network), or an IPv4 packet for the
    /// IPv4 home address (IPv4-in-IPv6, DS-8). Never while away over IPv4
    /// (the tunnel is UDP then, [`MnTunnel::inbound_udp`]).
    pub fn inbound(&self, outer_src: Ipv6Addr, outer_dst: Ipv6Addr, inner: &[u8]) -> bool {
        if self.udp.is_some() || outer_src != self.home_agent || outer_dst != self.care_of {
            return false;
        }
        self.inner_is_ours(inner)
    }

    /// MN-11 for the UDP tunnel (RFC 5555 §4.1): whether a UDP payload
    /// from `from` holds a packet to deliver. Only from the home agent's
    /// endpoint; an IPv6 packet for the home address or a mobile network,
    /// or an IPv4 packet for the IPv4 home address (non-TLV format, DS-6).
    pub fn inbound_udp(&self, from: SocketAddrV4, payload: &[u8]) -> bool {
        self.udp.is_some_and(|u| u.home_agent == from) && self.inner_is_ours(payload)
    }

    /// Without F and without a NAT the home agent may tunnel in IP over
    /// IPv4 (protocol 41 or 4, RFC 5555 §4.1, DS-10): accepted from the
    /// home agent's IPv4 address to the IPv4 care-of address only.
    pub fn inbound_ipv4(&self, outer_src: Ipv4Addr, outer_dst: Ipv4Addr, inner: &[u8]) -> bool {
        self.udp
            .is_some_and(|u| *u.home_agent.ip() == outer_src && u.care_of == outer_dst)
            && self.inner_is_ours(inner)
    }

    fn inner_is_ours(&self, inner: &[u8]) -> bool {
        match crate::dsmip::classify(inner) {
            crate::dsmip::UdpPayload::Ipv6(p) => {
                let dst: Option<[u8; 16]> = p.get(24..40).and_then(|b| b.try_into().ok());
                dst.map(Ipv6Addr::from).is_some_and(|d| self.is_ours(d))
            }
            crate::dsmip::UdpPayload::Ipv4(p) => {
                crate::dsmip::ipv4_addresses(p).is_some_and(|(_, dst)| Some(dst) == self.ipv4_home)
            }
            _ => false,
        }
    }

    /// The home address, or an address of a mobile network.
    pub fn is_ours(&self, addr: Ipv6Addr) -> bool {
        addr == self.home_address || self.mobile_networks.iter().any(|p| p.contains_addr(addr))
    }

    /// Reverse tunnelling over IPv6: where an IPv6 packet read from the
    /// tunnel device is encapsulated to (outer source, outer destination),
    /// if its source is the home address and it fits the MTU. `None` away
    /// over IPv4 (see [`crate::dataplane::MobileNodeTunnel::outbound`]).
    pub fn outbound(&self, packet: &[u8]) -> Option<(Ipv6Addr, Ipv6Addr)> {
        if self.udp.is_some()
            || packet.len() < 40
            || packet[0] >> 4 != 6
            || packet.len() > self.mtu as usize
        {
            return None;
        }
        let src: [u8; 16] = packet.get(8..24)?.try_into().ok()?;
        self.is_ours(Ipv6Addr::from(src))
            .then_some((self.care_of, self.home_agent))
    }
}

/// RFC 2526 §2-§3: the Mobile IPv6 Home-Agents anycast address (ID 126)
/// of a prefix; `None` for a prefix too long to hold it.
pub fn home_agents_anycast(prefix: &Prefix) -> Option<Ipv6Addr> {
    let base = u128::from(prefix.addr());
    if prefix.len() == 64 {
        return Some(Ipv6Addr::from(base | 0xfdff_ffff_ffff_fffe));
    }
    if prefix.len() > 121 {
        return None;
    }
    let host_mask = u128::MAX >> prefix.len();
    Some(Ipv6Addr::from(base | (host_mask & !1)))
}
