//! The role contract: what every role (requesting router, delegating
//! server, relay, RA daemon, and the ones to come) gives the daemon, and
//! the vocabulary they share.
//!
//! The model is BIRD's protocol hooks: the daemon loop owns the sockets,
//! netlink and timers and knows no role by name; each role is a [`Role`]
//! that says what it needs ([`Needs`]: interfaces to watch, sockets and
//! multicast groups), takes the kernel's facts ([`Facts`]), datagrams by
//! [`Port`], neighbour sightings, timeouts and messages from other roles
//! ([`RoleMessage`]), and queues [`Effect`]s (datagrams, kernel changes,
//! hooks) that the loop carries out in order. The kernel objects a role
//! owns carry its [`Owner`]; [`Role::owned_routes`] is what it wants kept
//! when the daemon reconciles at start.
//!
//! Roles never call into each other: a flow between two roles (the
//! requesting router telling the LAN's delegating server what it may
//! delegate) is a typed [`RoleMessage`] that the driver hands from one
//! to the others.
//!
//! Panic contract: nothing here panics.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv6Addr;
use std::time::SystemTime;

use tokio::time::Instant as TokioInstant;
use v6edge_core::{IfIndex, KernelOp, Owner, Received, RouteType, Transmit};
use v6edge_mip6::dataplane::BindingOp;
use v6edge_node::UplinkBlock;
use v6edge_prefix::Prefix;
use v6edge_ra::AdvertContent;
use v6edge_wire::dhcp6::MessageType;

pub use super::link::LinkFacts;
use crate::config::Config;
use crate::control::Request;
use crate::metrics::Metrics;
use crate::state::StateDir;
use crate::status::{LeaseView, Status};

/// What the daemon loop must carry out, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Send on the DHCPv6 client socket ([`Port::Dhcp6Client`]).
    Dhcp6(Transmit),
    /// Send on the DHCPv6 server socket, UDP 547 ([`Port::Dhcp6Server`]).
    Dhcp6Server(Transmit),
    /// Run a lease hook program with these environment variables; the loop
    /// never waits for it.
    Hook {
        program: std::path::PathBuf,
        env: Vec<(String, String)>,
    },
    /// Send on the ICMPv6 socket ([`Port::Icmp6`]: Router Advertisements).
    Icmp6(Transmit),
    /// Send on UDP 521 ([`Needs::port_521`]: RIPng).
    Ripng(Transmit),
    Kernel(KernelOp),
    /// Send on the raw Mobility Header socket ([`Port::Mobility`]).
    Mh(Transmit),
    /// Send a whole IPv6 packet built by the role (a Type 2 Routing Header
    /// or an unspecified source the socket API cannot produce);
    /// link-scoped destinations leave by `ifindex`.
    RawIpv6 {
        packet: Vec<u8>,
        ifindex: IfIndex,
    },
    /// A change to the Mobile IPv6 tunnel table ([`Needs::data_plane`]).
    DataPlane(BindingOp),
    /// The mobile node's side of its tunnel
    /// ([`Needs::mobile_node_data_plane`]).
    MnDataPlane(v6edge_mip6::mn::TunnelOp),
    /// DSMIPv6 signalling (RFC 5555): a whole IPv6 packet to send in UDP
    /// from the data plane's port 4191 ([`DataPlaneNeed::udp`]).
    DataPlaneUdp {
        dst: std::net::SocketAddrV4,
        packet: Vec<u8>,
    },
    /// The same from the mobile node's data plane
    /// ([`MnDataPlaneNeed::udp`]): the kernel picks the source, the IPv4
    /// care-of address of the moment.
    MnDataPlaneUdp {
        dst: std::net::SocketAddrV4,
        packet: Vec<u8>,
    },
    /// Once every effect before this one is carried out (kernel changes
    /// applied), tell `role` by [`Role::handle_applied`] with `ticket` and
    /// whether all of them succeeded.
    Barrier {
        role: &'static str,
        ticket: u64,
    },
}

/// The sockets the loop owns and shares among the roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Port {
    /// UDP 546 bound to one interface ([`Needs::dhcp6_client`]).
    Dhcp6Client,
    /// UDP 547 on every interface ([`Needs::port_547`]).
    Dhcp6Server,
    /// ICMPv6 of the types in [`Needs::icmp6_types`] (with [`ND_TYPES`]).
    Icmp6,
    /// The raw Mobility Header socket: MH without extension headers.
    Mobility,
    /// UDP 521, RIPng (RFC 2080): [`Role::handle_ripng`] gets it with its
    /// source port.
    Ripng,
    /// Whole IPv6 packets with a Home Address option or a Type 2 Routing
    /// Header, captured before the kernel drops them; `Received::bytes`
    /// starts at the IPv6 header.
    MobilityCapture,
}

impl Port {
    /// The protocol label of the port's drop counters and metrics.
    pub fn protocol(self) -> &'static str {
        match self {
            Port::Dhcp6Client => "dhcp6",
            Port::Dhcp6Server => "dhcp6-server",
            Port::Icmp6 => "nd",
            Port::Mobility | Port::MobilityCapture => "mobility",
            Port::Ripng => "ripng",
        }
    }
}

/// ICMPv6 types the ICMPv6 socket listens to: Router Solicitation, and
/// Router Advertisements of other routers (RFC 4861 §6.2.7 consistency
/// checks).
pub const ND_TYPES: [u8; 2] = [133, 134];

/// What the loop reads about one interface for a role, beyond its link
/// and link-local address.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Interest {
    /// A global address of the interface (a relay's link-address).
    pub global_address: bool,
    /// The hosts in the kernel's neighbour cache there (told of urgent RA
    /// changes by unicast).
    pub neighbours: bool,
    /// Every address with its flags, and the default router from the
    /// main table (a mobile node's movement detection, RFC 6275 §11.5.1);
    /// address events then resynchronise.
    pub addresses: bool,
    /// With `addresses`: the IPv4 addresses and the IPv4 default router
    /// too (a DSMIPv6 mobile node's IPv4 care-of address, RFC 5555).
    pub ipv4: bool,
}

impl Interest {
    fn merge(&mut self, other: Interest) {
        self.global_address |= other.global_address;
        self.neighbours |= other.neighbours;
        self.addresses |= other.addresses;
        self.ipv4 |= other.ipv4;
    }
}

/// What a role needs from the loop; asked again after every change of
/// facts, so it may follow the links.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    /// Interfaces to read into [`Facts::links`], by name.
    pub interfaces: BTreeMap<String, Interest>,
    /// Read which interfaces have a default route ([`Facts::default_routes`]).
    pub default_routes: bool,
    /// Read the main table's static routes ([`Facts::static_routes`]);
    /// they are dumped at every resynchronisation, and their changes
    /// trigger one.
    pub static_routes: bool,
    /// The DHCPv6 client socket, bound to this interface.
    pub dhcp6_client: Option<(IfIndex, String)>,
    /// UDP 547 (server, relay); opened at start only.
    pub port_547: bool,
    /// Interfaces where UDP 547 joins All_DHCP_Relay_Agents_and_Servers.
    pub port_547_groups: BTreeSet<IfIndex>,
    /// Hop limit of multicast sent on UDP 547 (a relay reaching ff05::1:3
    /// beyond the first router).
    pub port_547_multicast_hops: Option<u32>,
    /// Interfaces where the ICMPv6 socket joins All-Routers (ff02::2) to
    /// hear Router Solicitations (RFC 4861 §6.2.6).
    pub all_routers: BTreeSet<IfIndex>,
    /// Interfaces that must accept RAs while forwarding (accept_ra = 2,
    /// RFC 7084 W-3), set once at start.
    pub accept_ra: BTreeSet<String>,
    /// The role forwards between interfaces (the loop warns when IPv6
    /// forwarding is off).
    pub forwarding: bool,
    /// ICMPv6 types the ICMPv6 socket must pass besides [`ND_TYPES`];
    /// read at start.
    pub icmp6_types: BTreeSet<u8>,
    /// Interfaces that answer Neighbor Solicitations for proxy entries
    /// (proxy_ndp = 1, RFC 6275 §10.4.1), set once at start.
    pub proxy_ndp: BTreeSet<String>,
    /// Anycast addresses the ICMPv6 socket joins (RFC 2526 home-agents
    /// anycast, for DHAAD).
    pub anycast: BTreeSet<(IfIndex, std::net::Ipv6Addr)>,
    /// The raw Mobility Header socket and the capture of packets with a
    /// Home Address option or Type 2 Routing Header; opened at start.
    pub mobility: bool,
    /// Captured packets the kernel must not answer with a Parameter
    /// Problem (an nftables table of ours, removed at exit).
    pub kernel_silences: BTreeSet<v6edge_sys::netfilter::Silence>,
    /// The Mobile IPv6 tunnel data plane: a TUN device of this name, and
    /// IPv6-in-IPv6 from the address given (opened when it exists).
    pub data_plane: Option<DataPlaneNeed>,
    /// The mobile node's tunnel: a TUN device and IPv6-in-IPv6 from
    /// whatever its care-of address is.
    pub mobile_node_data_plane: Option<MnDataPlaneNeed>,
    /// UDP 521 (RIPng); opened at start only.
    pub port_521: bool,
    /// Interfaces where UDP 521 joins All RIP Routers (ff02::9).
    pub port_521_groups: BTreeSet<IfIndex>,
}

/// The mobile node's data plane (see [`Needs::mobile_node_data_plane`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MnDataPlaneNeed {
    pub owner: Owner,
    pub tun: String,
    /// DSMIPv6 (RFC 5555): a UDP socket (ephemeral port) for signalling
    /// and data from an IPv4 care-of address.
    pub udp: bool,
}

/// What the data plane is made of (see [`Needs::data_plane`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataPlaneNeed {
    /// The role that owns the TUN device (its alias in the kernel).
    pub owner: Owner,
    pub tun: String,
    pub local: std::net::Ipv6Addr,
    /// DSMIPv6 (RFC 5555): the IPv4 address whose UDP port 4191 carries
    /// signalling and data.
    pub udp: Option<std::net::Ipv4Addr>,
}

impl Needs {
    /// The union of two roles' needs.
    pub fn merge(&mut self, other: Needs) {
        for (name, interest) in other.interfaces {
            self.interfaces.entry(name).or_default().merge(interest);
        }
        self.default_routes |= other.default_routes;
        self.static_routes |= other.static_routes;
        // Validation allows one uplink per node: the first claim stands.
        if self.dhcp6_client.is_none() {
            self.dhcp6_client = other.dhcp6_client;
        }
        self.port_547 |= other.port_547;
        self.port_521 |= other.port_521;
        self.port_521_groups.extend(other.port_521_groups);
        self.port_547_groups.extend(other.port_547_groups);
        self.port_547_multicast_hops = self
            .port_547_multicast_hops
            .max(other.port_547_multicast_hops);
        self.all_routers.extend(other.all_routers);
        self.accept_ra.extend(other.accept_ra);
        self.forwarding |= other.forwarding;
        self.icmp6_types.extend(other.icmp6_types);
        self.proxy_ndp.extend(other.proxy_ndp);
        self.anycast.extend(other.anycast);
        self.mobility |= other.mobility;
        self.kernel_silences.extend(other.kernel_silences);
        // One data plane per daemon (one home agent role).
        if self.data_plane.is_none() {
            self.data_plane = other.data_plane;
        }
        if self.mobile_node_data_plane.is_none() {
            self.mobile_node_data_plane = other.mobile_node_data_plane;
        }
    }
}

/// What the loop read from the kernel for the roles' [`Needs`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// Every interface some role named, by name (absent interfaces have
    /// `info: None`).
    pub links: BTreeMap<String, LinkFacts>,
    /// Interfaces with a unicast default route (RFC 7084 G-4).
    pub default_routes: BTreeSet<IfIndex>,
    /// The destinations of the main table's routes an administrator added
    /// ([`ADMIN_ROUTE_PROTOCOLS`]), read when a role asks
    /// ([`Needs::static_routes`]).
    pub static_routes: BTreeSet<Prefix>,
}

/// rtm_protocol of the routes an administrator added: `boot` (`ip route
/// add` without a protocol, and most distributions' network configuration)
/// and `static` (`ip route add ... proto static`, systemd-networkd's
/// `[Route]` sections).
pub const ADMIN_ROUTE_PROTOCOLS: [u8; 2] = [3, 4];

impl Facts {
    /// The facts of `name` (all empty when it was not read).
    pub fn link(&self, name: &str) -> LinkFacts {
        self.links.get(name).cloned().unwrap_or_default()
    }

    /// The index of `name` while it exists and is up.
    pub fn up_index(&self, name: &str) -> Option<IfIndex> {
        self.links
            .get(name)
            .and_then(|l| l.info.as_ref())
            .filter(|i| i.up)
            .map(|i| i.index)
    }
}

/// A message from one role to the others (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleMessage {
    /// What the requesting router may delegate further (RFC 9818 LPD-4),
    /// with lifetimes capped upstream (RFC 9096 L-17): the `from-uplink`
    /// pools of a delegating server follow it. Sent whenever it changes,
    /// and once at start even when empty.
    DelegableSpace(Vec<UplinkBlock>),
    /// What `contributor` wants advertised on `interface` besides what the
    /// link's advertiser says itself (issue 8 item 4: one advertiser per
    /// link, `v6edge_ra::LinkContributions` merges); `None` withdraws it.
    /// The role that advertises on the interface takes it.
    RaContribution {
        interface: String,
        contributor: Owner,
        content: Option<AdvertContent>,
    },
    /// The routes the roles have installed toward delegated prefixes
    /// (delegating server, relay, requesting router), all of them: the
    /// driver sends it to roles that [`Role::wants_delegated_routes`]
    /// whenever it changes (checked every second).
    DelegatedRoutes(BTreeSet<Prefix>),
    /// RFC 6276: the way a mobile node's DHCPv6 messages reach its home
    /// network now (`None`: none until it attaches or registers), for the
    /// requesting router whose uplink is one of `interfaces`. Sent by the
    /// mobile node role whenever it changes.
    HomeLinkPath {
        interfaces: Vec<String>,
        path: Option<v6edge_mip6::pd::HomeLinkPath>,
    },
    /// RFC 6276: the prefixes delegated to the requesting router of
    /// `interface`, which a mobile router on that interface takes as its
    /// mobile networks. Sent whenever they change.
    UplinkDelegations {
        interface: String,
        prefixes: Vec<Prefix>,
    },
}

/// Routes a role owns, kept when the daemon reconciles the kernel's routes
/// with its state at start (`v6edge_core::Reconcile`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedRoutes {
    pub owner: Owner,
    pub kind: RouteType,
    pub prefixes: BTreeSet<Prefix>,
}

/// What a role needs when it is built.
#[derive(Debug, Clone)]
pub struct RoleContext {
    pub state: StateDir,
    /// Machine time zero: the roles' machines count from it.
    pub origin: TokioInstant,
}

/// One role of the daemon; see the module documentation. Every method but
/// the essential ones has a default that does nothing, so a role only
/// writes what it uses.
pub trait Role: std::fmt::Debug {
    /// The role's name: its key under `roles` in status, in logs.
    fn name(&self) -> &'static str;

    /// What the role needs from the loop now.
    fn needs(&self) -> Needs;

    /// The kernel's facts, read for every role's needs.
    fn sync(&mut self, facts: &Facts, metrics: &Metrics);

    /// Whether a datagram on `port` is this role's. Every role that
    /// accepts it gets it (an RA on a home link is for the RA sender's
    /// consistency checks and for the home agent's list of home agents).
    fn accepts(&self, port: Port, rx: &Received<'_>) -> bool;

    /// A datagram this role accepted (after the guard admitted it).
    fn handle_datagram(&mut self, port: Port, rx: &Received<'_>, metrics: &Metrics);

    /// A datagram on UDP 521 ([`Port::Ripng`]), with its source port.
    fn handle_ripng(&mut self, _rx: &Received<'_>, _src_port: u16, _metrics: &Metrics) {}

    /// Whether this role takes [`RoleMessage::DelegatedRoutes`].
    fn wants_delegated_routes(&self) -> bool {
        false
    }

    /// DSMIPv6 signalling (RFC 5555) the data plane took from UDP port
    /// 4191: an IPv6 packet carrying a Mobility Header, from `from`.
    fn handle_udp_signalling(
        &mut self,
        _from: std::net::SocketAddrV4,
        _packet: &[u8],
        _metrics: &Metrics,
    ) {
    }

    /// Hosts the kernel knows on `ifindex`.
    fn note_neighbours(&mut self, _ifindex: IfIndex, _addrs: &[Ipv6Addr]) {}

    /// A message another role sent.
    fn receive(&mut self, _message: &RoleMessage, _metrics: &Metrics) {}

    /// The next message for the other roles.
    fn next_message(&mut self) -> Option<RoleMessage> {
        None
    }

    fn handle_timeout(&mut self, metrics: &Metrics);

    fn next_deadline(&self) -> Option<TokioInstant>;

    fn next_effect(&mut self) -> Option<Effect>;

    /// Makes state changes durable before the effects that depend on them
    /// leave (the server's group commit); called before effects are
    /// carried out.
    fn commit(&mut self, _metrics: &Metrics) {}

    /// The effects before this role's [`Effect::Barrier`] with `ticket`
    /// were carried out; `ok` is false when any of them failed.
    fn handle_applied(&mut self, _ticket: u64, _ok: bool, _metrics: &Metrics) {}

    /// The routes this role owns and wants kept.
    fn owned_routes(&self) -> Option<OwnedRoutes> {
        None
    }

    /// The proxy neighbour entries this role owns and wants kept when the
    /// daemon reconciles at start: (interface, address).
    fn owned_proxies(&self) -> Option<(Owner, Vec<(IfIndex, std::net::IpAddr)>)> {
        None
    }

    /// Fills in this role's part of the status document.
    fn status(&self, status: &mut Status);

    /// The leases this role holds or relayed, when it has any.
    fn leases(&self) -> Option<Vec<LeaseView>> {
        None
    }

    /// An operator command; `None` when the role does not handle it.
    fn handle_control(
        &mut self,
        _request: &Request,
        _metrics: &Metrics,
    ) -> Option<Result<serde_json::Value, String>> {
        None
    }

    /// Brings the role's own metric families up to date (called before
    /// the metrics are read).
    fn export_metrics(&self, _metrics: &Metrics) {}

    /// Drops the role's machines counted themselves: (protocol, reason,
    /// total).
    fn dropped_counts(&self) -> Vec<(&'static str, String, u64)> {
        Vec::new()
    }

    /// New settings (SIGHUP); the role takes its own sections of `config`.
    /// An error leaves the role as it was.
    fn reconfigure(&mut self, config: &Config, metrics: &Metrics) -> anyhow::Result<()>;

    fn shutdown(&mut self, _metrics: &Metrics) {}
}

/// A role the daemon can run: how a configuration turns it on and builds
/// it. The list is in `super::roles`.
pub struct Registration {
    /// [`Role::name`] of the role it builds.
    pub name: &'static str,
    /// The configuration section that turns it on, for messages.
    pub section: &'static str,
    pub configured: fn(&Config) -> bool,
    pub build: fn(&Config, &RoleContext) -> anyhow::Result<Box<dyn Role>>,
}

/// The metric label of a DHCPv6 message type (RFC 8415 §7.3 names).
pub fn message_name(t: u8) -> &'static str {
    match MessageType::from(t) {
        MessageType::Solicit => "solicit",
        MessageType::Advertise => "advertise",
        MessageType::Request => "request",
        MessageType::Confirm => "confirm",
        MessageType::Renew => "renew",
        MessageType::Rebind => "rebind",
        MessageType::Reply => "reply",
        MessageType::Release => "release",
        MessageType::Decline => "decline",
        MessageType::Reconfigure => "reconfigure",
        MessageType::InformationRequest => "information-request",
        MessageType::RelayForw => "relay-forward",
        MessageType::RelayRepl => "relay-reply",
        _ => "unknown",
    }
}

/// A seed for the machines' jitter and transaction ids: distinct per run so
/// two routers started together do not retransmit in lockstep.
pub fn random_seed() -> u64 {
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
