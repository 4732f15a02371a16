//! The status document of the control socket's `status` command (the
//! contract's "Status JSON") and its human-readable rendering for
//! `v6edge status`.
//!
//! Lifetimes are remaining seconds, `None` (JSON `null`) meaning infinite.
//!
//! Panic contract: nothing here panics.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::Ipv6Addr;

use serde::{Deserialize, Serialize};

/// `data` of a `status` response.
///
/// `roles` holds one document per configured role. The top-level
/// `uplink`, `delegations`, `lans`, `dns`, `server` and `ra` fields came
/// before it and stay, with the same content, for the consumers that read
/// them (scripts, the lab scenarios): new readers should use `roles`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Status {
    pub version: String,
    /// One entry per configured role, by role name; roles that are not
    /// configured are absent (and the whole object when none reports,
    /// as from a daemon that predates it).
    #[serde(default, skip_serializing_if = "Roles::is_empty")]
    pub roles: Roles,
    /// `null` on a node with no `[uplink]` (a server or relay only).
    pub uplink: Option<UplinkStatus>,
    pub delegations: Vec<DelegationStatus>,
    pub lans: Vec<LanStatus>,
    pub dns: DnsStatus,
    /// The delegating server, when `[server]` is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<ServerStatusDoc>,
    /// Datagrams dropped outside the roles (rate limits, send and receive
    /// failures), and the state of the daemon's defences.
    #[serde(default)]
    pub io: crate::daemon::guard::IoStatus,
    /// The `[[ra]]` interfaces (static Router Advertisements), in file order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ra: Vec<StaticRaStatus>,
    /// What stops this router from doing its job, in plain words: IPv6
    /// forwarding off where a role forwards, configured interfaces missing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// One lease as `v6edge leases --json` shows it (contract.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct LeaseView {
    pub duid: String,
    pub iaid: u32,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub prefix: String,
    /// Remaining seconds; null where unknown (a relay's snooped bindings).
    pub preferred: Option<u32>,
    pub valid: Option<u32>,
    pub next_hop: Option<Ipv6Addr>,
    pub interface: Option<String>,
}

/// The leases that pass `filter`, the page it asks for, and how many
/// passed in all. An unreadable filter is an error the operator sees.
pub fn select_leases(
    leases: Vec<LeaseView>,
    filter: &crate::control::LeaseFilter,
) -> Result<(Vec<LeaseView>, usize), String> {
    let within = match &filter.within {
        Some(p) => Some(
            p.parse::<v6edge_prefix::Prefix>()
                .map_err(|e| format!("--prefix {p}: {e}"))?,
        ),
        None => None,
    };
    let duid = filter
        .duid
        .as_ref()
        .map(|d| d.replace(':', "").to_ascii_lowercase());
    if let Some(k) = &filter.kind
        && k != "pd"
        && k != "na"
    {
        return Err(format!("--type {k}: expected pd or na"));
    }
    let passes = |l: &LeaseView| {
        within.is_none_or(|w| {
            l.prefix
                .parse::<v6edge_prefix::Prefix>()
                .is_ok_and(|p| w.contains_addr(p.addr()) && p.len() >= w.len())
        }) && duid
            .as_ref()
            .is_none_or(|d| l.duid.replace(':', "").to_ascii_lowercase() == *d)
            && filter.kind.as_deref().is_none_or(|k| l.kind == k)
    };
    let mut total = 0;
    let mut page = Vec::new();
    for l in leases.into_iter().filter(|l| passes(l)) {
        if total >= filter.offset && filter.limit.is_none_or(|n| page.len() < n) {
            page.push(l);
        }
        total += 1;
    }
    Ok((page, total))
}

/// The server part of the status document.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, Default, schemars::JsonSchema,
)]
pub struct ServerStatusDoc {
    /// Leases by kind (`na`, `pd`), both always present.
    pub leases: BTreeMap<String, u64>,
    /// Of those, leases that no longer fit the configuration, kept until
    /// the client is told (lifetimes 0) or they expire.
    #[serde(default)]
    pub revoked: u64,
    /// Declined addresses still held back (RFC 8415 §18.3.8).
    #[serde(default)]
    pub declined: u64,
    pub pools: Vec<PoolDoc>,
    pub counters: CountersDoc,
    #[serde(default)]
    pub store: StoreDoc,
}

/// The lease store's state in the status document: while `available` is
/// false (a PostgreSQL store that lost its database) nothing is granted.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, Default, schemars::JsonSchema,
)]
pub struct StoreDoc {
    /// `sqlite`, `postgres` or `memory`.
    pub kind: String,
    pub available: bool,
    /// Unix seconds of the last change of `available` (0: never changed
    /// since the store was opened, for a local store).
    pub since: u64,
    pub last_error: Option<String>,
    pub losses: u64,
    pub reconnects: u64,
    /// The database connection is encrypted (PostgreSQL, `pg_stat_ssl`).
    pub tls: bool,
}

/// One pool's usage (contract.md): `prefix` is the pool prefix for a prefix
/// pool and the range `start-end` for an address pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct PoolDoc {
    pub link: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub prefix: String,
    pub delegated_length: Option<u8>,
    pub used: u64,
    pub total: u64,
}

#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, Default, schemars::JsonSchema,
)]
pub struct CountersDoc {
    pub received: BTreeMap<String, u64>,
    pub sent: BTreeMap<String, u64>,
    pub dropped: BTreeMap<String, u64>,
    pub granted: u64,
    pub renewed: u64,
    pub released: u64,
    pub expired: u64,
    /// New leases refused by `max-leases-per-link`.
    #[serde(default)]
    pub refused_link_cap: u64,
    /// New leases refused by `max-leases-per-hw-address`.
    #[serde(default)]
    pub refused_hw_address_cap: u64,
}

/// The status of each configured role, keyed by role name.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Roles {
    /// `[uplink]`: the DHCPv6 client, its delegations and the LANs.
    #[serde(
        rename = "requesting-router",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub requesting_router: Option<RequestingRouterStatus>,
    /// `[server]`.
    #[serde(
        rename = "delegating-server",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub delegating_server: Option<ServerStatusDoc>,
    /// `[relay]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay: Option<RelayStatus>,
    /// `[[ra]]`: the static advertisers, in file order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ra: Option<Vec<StaticRaStatus>>,
    /// `[home-agent]`: the binding cache and counters.
    #[serde(
        rename = "home-agent",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub home_agent: Option<HomeAgentStatus>,
    /// `[mobile-node]`: the Binding Update List entry.
    #[serde(
        rename = "mobile-node",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub mobile_node: Option<MobileNodeStatus>,
    /// `[ripng]`: neighbours and the routing table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ripng: Option<RipngStatusDoc>,
}

/// The RIPng role's document (RFC 2080).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RipngStatusDoc {
    /// False until every configured interface exists.
    pub running: bool,
    pub interfaces: Vec<String>,
    /// The routing table: learned and originated routes.
    pub routes: Vec<RipngRouteStatus>,
    /// Routers heard from.
    pub neighbours: Vec<RipngNeighbourStatus>,
    pub requests_in: u64,
    pub responses_in: u64,
    pub responses_out: u64,
    pub triggered_updates: u64,
    /// Route entries ignored inside accepted Responses, by reason.
    pub rtes_ignored: BTreeMap<String, u64>,
    /// Aggregates in use ("prefix metric N"): advertised instead of the
    /// routes inside, with an unreachable route in the kernel.
    #[serde(default)]
    pub aggregates: Vec<String>,
}

/// One RIPng route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RipngRouteStatus {
    pub prefix: String,
    /// 1-16 (16: unreachable, being withdrawn).
    pub metric: u8,
    /// The gateway (link-local); absent for a route originated here.
    pub next_hop: Option<Ipv6Addr>,
    /// Where it was learned; absent for a route originated here.
    pub interface: Option<String>,
    pub tag: u16,
    /// `active` or `garbage-collection`.
    pub state: String,
    /// Seconds since it was last heard (learned) or originated.
    pub age: u64,
    /// Seconds to the timeout (active) or the removal (garbage
    /// collection); absent for an active originated route.
    pub expires_in: Option<u64>,
}

/// One RIPng neighbour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RipngNeighbourStatus {
    pub address: Ipv6Addr,
    pub interface: String,
    /// Seconds since it was last heard.
    pub last_heard: u64,
    /// Its datagrams dropped.
    pub bad_packets: u64,
    /// Its route entries ignored.
    pub bad_routes: u64,
}

/// The Mobile IPv6 mobile node's document (its Binding Update List entry).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MobileNodeStatus {
    /// False until the configured interfaces and the tunnel device exist.
    pub running: bool,
    pub home_address: Option<Ipv6Addr>,
    /// `idle`, `wait-ack`, `bound` or `deregistering`.
    pub state: String,
    /// `detached`, `home` or `away`.
    pub location: String,
    pub care_of: Option<Ipv6Addr>,
    pub home_agent: Option<Ipv6Addr>,
    /// Sequence number of the last Binding Update sent.
    pub sequence: u16,
    /// Seconds granted by the last accepted Binding Acknowledgement.
    pub lifetime: u64,
    /// Seconds until the binding expires.
    pub remaining: u64,
    /// Tunnel, home address, routes and rules in place.
    pub installed: bool,
    /// The status code that stopped registration, if one did.
    pub stopped: Option<u8>,
    pub bu_sent: u64,
    pub retransmissions: u64,
    /// Accepted Binding Acknowledgements, by status code.
    pub ba_received: BTreeMap<String, u64>,
    pub movements: u64,
    /// The home link's prefixes from Mobile Prefix Advertisements (RFC
    /// 6275 §11.4.3).
    #[serde(default)]
    pub home_prefixes: Vec<HomePrefixDoc>,
    /// Mobile Prefix Solicitations sent.
    #[serde(default)]
    pub prefix_solicitations: u64,
    /// Mobile Prefix Advertisements accepted.
    #[serde(default)]
    pub prefix_advertisements: u64,
    /// Unsolicited ones taken but not acknowledged: over the rate.
    #[serde(default)]
    pub prefix_acks_suppressed: u64,
    /// A mobile router's mobile networks (NEMO, RFC 3963), and whether
    /// the Binding Updates name them (explicit mode).
    #[serde(default)]
    pub mobile_networks: Vec<String>,
    #[serde(default)]
    pub mobile_network_mode: Option<String>,
    /// The tunnel data plane in use (`tun`; mobility.md §2.2).
    #[serde(default)]
    pub data_plane: String,
    /// DSMIPv6 (RFC 5555): the IPv4 care-of address while away over IPv4
    /// (`care_of` is then absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub care_of_v4: Option<std::net::Ipv4Addr>,
    /// DSMIPv6: seconds between refreshes the home agent asked for, when
    /// it saw a NAT between.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nat_refresh: Option<u64>,
    /// DSMIPv6: the IPv4 home address the home agent assigned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv4_home_address: Option<std::net::Ipv4Addr>,
    /// DSMIPv6: Binding Updates sent in UDP over IPv4.
    #[serde(default)]
    pub bu_sent_udp: u64,
}

/// A home prefix a mobile node heard of, with its remaining lifetimes in
/// seconds (`None`: infinite).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HomePrefixDoc {
    pub prefix: String,
    pub valid: Option<u64>,
    pub preferred: Option<u64>,
}

impl Roles {
    pub fn is_empty(&self) -> bool {
        self.requesting_router.is_none()
            && self.delegating_server.is_none()
            && self.relay.is_none()
            && self.ra.is_none()
            && self.home_agent.is_none()
            && self.mobile_node.is_none()
            && self.ripng.is_none()
    }

    /// The roles a document without `roles` describes (a daemon that
    /// predates it): what its top-level fields show. It has no relay.
    fn from_top_level(status: &Status) -> Roles {
        let cpe =
            status.uplink.is_some() || !status.delegations.is_empty() || !status.lans.is_empty();
        Roles {
            requesting_router: cpe.then(|| RequestingRouterStatus::of(status)),
            delegating_server: status.server.clone(),
            relay: None,
            ra: (!status.ra.is_empty()).then(|| status.ra.clone()),
            home_agent: None,
            mobile_node: None,
            ripng: None,
        }
    }
}

/// The requesting router's document: the uplink's client, what it was
/// delegated, the LANs it numbers and the DNS it learnt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RequestingRouterStatus {
    pub uplink: Option<UplinkStatus>,
    pub delegations: Vec<DelegationStatus>,
    pub lans: Vec<LanStatus>,
    pub dns: DnsStatus,
}

impl RequestingRouterStatus {
    /// Its part of a document whose top-level fields it filled.
    pub fn of(status: &Status) -> RequestingRouterStatus {
        RequestingRouterStatus {
            uplink: status.uplink.clone(),
            delegations: status.delegations.clone(),
            lans: status.lans.clone(),
            dns: status.dns.clone(),
        }
    }
}

/// The relay agent's document.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RelayStatus {
    /// The upstream and downstream interfaces, in file order (upstream first).
    pub links: Vec<RelayLinkStatus>,
    /// Where Relay-forwards go: the configured unicast servers, or
    /// All_DHCP_Servers (ff05::1:3) when none is configured.
    pub servers: Vec<Ipv6Addr>,
    /// The upstream and at least one downstream exist, so it relays.
    pub relaying: bool,
    pub counters: RelayCountersStatus,
    /// How many delegations it snooped (RFC 8987 §4); `bindings` lists them all.
    pub snooped: u64,
    pub bindings: Vec<RelayBindingStatus>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RelayLinkStatus {
    pub interface: String,
    /// `upstream` or `downstream`.
    pub role: String,
    /// Exists and is up.
    pub up: bool,
    pub ifindex: Option<u32>,
    /// The link-address put in Relay-forwards from it (downstream only;
    /// `null`: `::` with an Interface-ID, RFC 8415 §19.1.1).
    pub link_address: Option<Ipv6Addr>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RelayCountersStatus {
    /// Client and relay messages relayed towards the servers.
    pub forwarded_up: u64,
    /// Relay-replies unwrapped towards clients or further relays.
    pub forwarded_down: u64,
    /// By lowercase reason label.
    pub dropped: std::collections::BTreeMap<String, u64>,
    /// Delegations in Replies not snooped (invalid, default, link-local or
    /// multicast prefix, no Client Identifier).
    pub snoop_rejected: u64,
    pub routes_added: u64,
    pub routes_updated: u64,
    pub routes_removed: u64,
}

/// One snooped delegation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RelayBindingStatus {
    pub prefix: String,
    /// The requesting router's address on the downstream link (usually
    /// link-local): the next hop of the route to `prefix`.
    pub next_hop: Ipv6Addr,
    pub interface: Option<String>,
    pub duid: String,
    pub iaid: u32,
    /// Remaining seconds, `null` = infinite.
    pub valid: Option<u32>,
}

/// One `[[ra]]` interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StaticRaStatus {
    pub interface: String,
    /// The configured prefixes, as advertised.
    pub prefixes: Vec<String>,
    /// Up with a link-local address, so advertising.
    pub advertising: bool,
    /// The interface is a `[[lan]]`: the prefixes and DNS options go out in
    /// that LAN's RAs (see `lans`), not from an advertiser of their own.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub joins_lan: bool,
    /// RA packets sent (multicast and unicast) since it started advertising.
    pub sent: u64,
    /// Router Solicitations seen there.
    pub rs_received: u64,
}

/// The Mobile IPv6 home agent's document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HomeAgentStatus {
    /// The home link.
    pub interface: String,
    pub address: Ipv6Addr,
    /// False until the home link and the tunnel device exist.
    pub running: bool,
    /// The binding cache, by home address.
    pub bindings: Vec<HomeAgentBindingStatus>,
    /// Mobility Header messages received, by MH Type number.
    pub received: BTreeMap<String, u64>,
    /// Binding Acknowledgements sent, by status code.
    pub ba_sent: BTreeMap<String, u64>,
    /// Binding Updates refused for authentication or replay (RFC 4285).
    pub auth_failures: u64,
    /// Bindings removed because their lifetime ran out.
    pub expired: u64,
    /// Mobile Prefix Solicitations answered (RFC 6275 §10.6).
    #[serde(default)]
    pub prefix_solicitations: u64,
    /// Mobile Prefix Advertisements sent, solicited or not.
    #[serde(default)]
    pub prefix_advertisements: u64,
    /// The tunnel data plane in use (`tun`; mobility.md §2.2).
    #[serde(default)]
    pub data_plane: String,
}

impl Default for HomeAgentStatus {
    fn default() -> HomeAgentStatus {
        HomeAgentStatus {
            interface: String::new(),
            address: Ipv6Addr::UNSPECIFIED,
            running: false,
            bindings: Vec::new(),
            received: BTreeMap::new(),
            ba_sent: BTreeMap::new(),
            auth_failures: 0,
            expired: 0,
            prefix_solicitations: 0,
            prefix_advertisements: 0,
            data_plane: String::new(),
        }
    }
}

/// One binding cache entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HomeAgentBindingStatus {
    pub home_address: Ipv6Addr,
    pub care_of: Ipv6Addr,
    /// `dad` (proxy DAD running), `installing` (kernel changes pending),
    /// `bound`.
    pub state: String,
    pub sequence: u16,
    /// Granted lifetime, seconds.
    pub lifetime: u64,
    /// Seconds left.
    pub remaining: u64,
    pub spi: Option<u32>,
    /// A mobile router's binding (NEMO, RFC 3963).
    #[serde(default)]
    pub mobile_router: bool,
    /// Its mobile network prefixes, routed into the tunnel.
    #[serde(default)]
    pub mobile_networks: Vec<String>,
    /// DSMIPv6 (RFC 5555): the IPv4 address and UDP port its packets go
    /// to (`care_of` is then the IPv4-mapped form of its IPv4 care-of
    /// address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub udp: Option<String>,
    /// DSMIPv6: a NAT lies between (the BA carried NAT Detection).
    #[serde(default)]
    pub nat: bool,
    /// DSMIPv6: its IPv4 home address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv4_home_address: Option<std::net::Ipv4Addr>,
}

/// What the uplink client is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum UplinkState {
    Bound,
    Soliciting,
    Requesting,
    Renewing,
    Rebinding,
    /// Released by `v6edge release`; idle until `v6edge renew`.
    Released,
    /// Link present but nothing being acquired.
    Idle,
    /// The interface does not exist yet.
    WaitingLink,
}

impl UplinkState {
    pub fn as_str(self) -> &'static str {
        match self {
            UplinkState::Bound => "bound",
            UplinkState::Soliciting => "soliciting",
            UplinkState::Requesting => "requesting",
            UplinkState::Renewing => "renewing",
            UplinkState::Rebinding => "rebinding",
            UplinkState::Released => "released",
            UplinkState::Idle => "idle",
            UplinkState::WaitingLink => "waiting-link",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct UplinkStatus {
    pub interface: String,
    /// `None` while the interface does not exist.
    pub ifindex: Option<u32>,
    pub link_up: bool,
    pub state: UplinkState,
    /// The server we are bound to, colon-separated hex.
    pub server_duid: Option<String>,
    /// Whether the uplink has a default router (RFC 7084 G-4 decides the
    /// LAN router lifetime from this).
    pub default_router: bool,
    pub addresses: Vec<AddressStatus>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AddressStatus {
    pub address: Ipv6Addr,
    pub preferred: Option<u32>,
    pub valid: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DelegationStatus {
    pub iaid: u32,
    /// `ADDRESS/LENGTH`.
    pub prefix: String,
    pub preferred: Option<u32>,
    pub valid: Option<u32>,
    /// Remaining seconds until Renew / Rebind.
    pub t1: Option<u32>,
    pub t2: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LanStatus {
    pub interface: String,
    pub ifindex: Option<u32>,
    /// The /64 currently advertised, if any.
    pub prefix: Option<String>,
    /// The router's own address in it.
    pub address: Option<Ipv6Addr>,
    pub subnet_id: Option<u32>,
    /// Prefixes being advertised with lifetime 0 after a renumbering (RFC 9096 L-18).
    pub deprecated: Vec<DeprecatedPrefix>,
    pub ra: RaCounters,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DeprecatedPrefix {
    pub prefix: String,
    pub valid: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RaCounters {
    pub sent: u64,
    pub rs_received: u64,
    pub dropped: u64,
    /// The Router Lifetime in the RAs being sent now, seconds.
    pub router_lifetime: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DnsStatus {
    pub servers: Vec<Ipv6Addr>,
    pub domains: Vec<String>,
}

impl Status {
    /// The document of a node with no role that reports anything.
    pub fn empty() -> Status {
        Status {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            roles: Roles::default(),
            uplink: None,
            delegations: Vec::new(),
            lans: Vec::new(),
            dns: DnsStatus::default(),
            server: None,
            io: Default::default(),
            ra: Vec::new(),
            warnings: Vec::new(),
        }
    }
}

/// Remaining seconds as `1h02m03s`, `null` as `infinite`.
pub fn format_lifetime(secs: Option<u32>) -> String {
    let Some(s) = secs else {
        return "infinite".to_owned();
    };
    let (d, h, m, s) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m{s:02}s"),
        (0, _, _) => format!("{h}h{m:02}m{s:02}s"),
        _ => format!("{d}d{h:02}h{m:02}m{s:02}s"),
    }
}

fn ifindex(index: Option<u32>) -> String {
    match index {
        Some(i) => format!("ifindex {i}"),
        None => "absent".to_owned(),
    }
}

/// The readable summary printed by `v6edge status`: every configured role,
/// then the drops outside the roles.
pub fn format_human(status: &Status) -> String {
    let mut out = String::new();
    // Writing into a String cannot fail; the results are ignored for that reason.
    let _ = writeln!(out, "v6edge {}", status.version);
    for w in &status.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    let legacy;
    let roles = if status.roles.is_empty() {
        legacy = Roles::from_top_level(status);
        &legacy
    } else {
        &status.roles
    };
    if let Some(cpe) = &roles.requesting_router {
        format_requesting_router(&mut out, cpe);
    }
    if let Some(server) = &roles.delegating_server {
        format_server(&mut out, server);
    }
    if let Some(relay) = &roles.relay {
        format_relay(&mut out, relay);
    }
    for ra in roles.ra.iter().flatten() {
        if ra.joins_lan {
            let _ = writeln!(
                out,
                "ra {}: in the LAN's RAs, prefixes {}",
                ra.interface,
                list_or_none(ra.prefixes.clone())
            );
            continue;
        }
        let _ = writeln!(
            out,
            "ra {}: {}, prefixes {}, sent {}, rs received {}",
            ra.interface,
            if ra.advertising {
                "advertising"
            } else {
                "waiting for the link"
            },
            list_or_none(ra.prefixes.clone()),
            ra.sent,
            ra.rs_received
        );
    }
    if let Some(ha) = &roles.home_agent {
        let _ = writeln!(
            out,
            "home agent {} on {}: {}, {} binding(s), {} authentication failure(s)",
            ha.address,
            ha.interface,
            if ha.running {
                "running"
            } else {
                "waiting for the home link"
            },
            ha.bindings.len(),
            ha.auth_failures
        );
        if !ha.data_plane.is_empty() {
            let _ = writeln!(out, "  data plane: {}", ha.data_plane);
        }
        for b in &ha.bindings {
            // DSMIPv6: the UDP endpoint says more than the mapped address.
            let via = match &b.udp {
                Some(udp) => format!(
                    "udp {udp}{}{}",
                    if b.nat { " (NAT)" } else { "" },
                    b.ipv4_home_address
                        .map_or(String::new(), |a| format!(", IPv4 home address {a}"))
                ),
                None => b.care_of.to_string(),
            };
            let _ = writeln!(
                out,
                "  {} via {}: {}, sequence {}, {} s of {} s left{}",
                b.home_address,
                via,
                b.state,
                b.sequence,
                b.remaining,
                b.lifetime,
                if b.mobile_router {
                    format!(", mobile router for {}", b.mobile_networks.join(", "))
                } else {
                    String::new()
                }
            );
        }
    }
    if let Some(mn) = &roles.mobile_node {
        let _ = writeln!(
            out,
            "mobile node {}: {}, {}, care-of {}, home agent {}, sequence {}, {} s of {} s left",
            mn.home_address.map_or("-".to_owned(), |a| a.to_string()),
            if mn.running {
                mn.location.as_str()
            } else {
                "waiting for its interfaces"
            },
            mn.state,
            mn.care_of.map_or("none".to_owned(), |a| a.to_string()),
            mn.home_agent
                .map_or("unknown".to_owned(), |a| a.to_string()),
            mn.sequence,
            mn.remaining,
            mn.lifetime
        );
        if !mn.home_prefixes.is_empty() {
            let secs = |s: Option<u64>| s.map_or("infinite".to_owned(), |s| format!("{s} s"));
            let prefixes: Vec<String> = mn
                .home_prefixes
                .iter()
                .map(|p| {
                    format!(
                        "{} (valid {}, preferred {})",
                        p.prefix,
                        secs(p.valid),
                        secs(p.preferred)
                    )
                })
                .collect();
            let _ = writeln!(out, "  home prefixes: {}", prefixes.join(", "));
        }
        if !mn.data_plane.is_empty() {
            let _ = writeln!(out, "  data plane: {}", mn.data_plane);
        }
    }
    if let Some(r) = &roles.ripng {
        let _ = writeln!(
            out,
            "ripng on {}: {}, {} route(s), {} neighbour(s)",
            list_or_none(r.interfaces.clone()),
            if r.running {
                "running"
            } else {
                "waiting for its interfaces"
            },
            r.routes.len(),
            r.neighbours.len()
        );
        for n in &r.neighbours {
            let _ = writeln!(
                out,
                "  neighbour {} on {}: heard {} s ago, {} bad packet(s), {} bad route(s)",
                n.address, n.interface, n.last_heard, n.bad_packets, n.bad_routes
            );
        }
        for route in &r.routes {
            let via = match (&route.next_hop, &route.interface) {
                (Some(gw), Some(i)) => format!("via {gw} on {i}"),
                _ => "originated here".to_owned(),
            };
            let _ = writeln!(
                out,
                "  {} metric {} {}, tag {}, {}{}",
                route.prefix,
                route.metric,
                via,
                route.tag,
                route.state,
                route
                    .expires_in
                    .map_or(String::new(), |s| format!(", {s} s left"))
            );
        }
    }
    // Drops outside the roles: only when there are some, one line each.
    for (protocol, reasons) in &status.io.dropped {
        let _ = writeln!(out, "dropped ({protocol}): {}", counts(reasons));
    }
    if status.io.netlink_overruns > 0 {
        let _ = writeln!(
            out,
            "netlink: {} notification losses, {} resynchronisations",
            status.io.netlink_overruns, status.io.netlink_resyncs
        );
    }
    out
}

fn list_or_none(items: Vec<String>) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(" ")
    }
}

/// `name n, name n` in key order, `none` when empty.
fn counts(map: &std::collections::BTreeMap<String, u64>) -> String {
    if map.is_empty() {
        return "none".to_owned();
    }
    let parts: Vec<String> = map.iter().map(|(k, n)| format!("{k} {n}")).collect();
    parts.join(", ")
}

/// `used` of `total` as a percentage with one decimal, rounded down, so a
/// pool shows 100.0 % only when it is full.
fn percent(used: u64, total: u64) -> String {
    if total == 0 {
        return "-".to_owned();
    }
    let permille = u128::from(used) * 1000 / u128::from(total);
    format!("{}.{} %", permille / 10, permille % 10)
}

fn format_requesting_router(out: &mut String, cpe: &RequestingRouterStatus) {
    if let Some(up) = &cpe.uplink {
        let _ = writeln!(
            out,
            "uplink {} ({}, link {}): {}",
            up.interface,
            ifindex(up.ifindex),
            if up.link_up { "up" } else { "down" },
            up.state.as_str()
        );
        if let Some(duid) = &up.server_duid {
            let _ = writeln!(out, "  server {duid}");
        }
        let _ = writeln!(
            out,
            "  default router: {}",
            if up.default_router { "yes" } else { "no" }
        );
        for a in &up.addresses {
            let _ = writeln!(
                out,
                "  address {}  preferred {}  valid {}",
                a.address,
                format_lifetime(a.preferred),
                format_lifetime(a.valid)
            );
        }
    }
    if cpe.delegations.is_empty() {
        let _ = writeln!(out, "delegated prefixes: none");
    } else {
        let _ = writeln!(out, "delegated prefixes:");
        for d in &cpe.delegations {
            let _ = writeln!(
                out,
                "  {}  iaid {}  preferred {}  valid {}  renew in {}  rebind in {}",
                d.prefix,
                d.iaid,
                format_lifetime(d.preferred),
                format_lifetime(d.valid),
                format_lifetime(d.t1),
                format_lifetime(d.t2)
            );
        }
    }
    for lan in &cpe.lans {
        let _ = write!(out, "lan {} ({}): ", lan.interface, ifindex(lan.ifindex));
        match &lan.prefix {
            Some(p) => {
                let _ = write!(out, "{p}");
            }
            None => {
                let _ = write!(out, "no prefix");
            }
        }
        if let Some(id) = lan.subnet_id {
            let _ = write!(out, "  subnet-id {id}");
        }
        if let Some(a) = lan.address {
            let _ = write!(out, "  address {a}");
        }
        out.push('\n');
        for d in &lan.deprecated {
            let _ = writeln!(
                out,
                "  deprecated {}  valid {}",
                d.prefix,
                format_lifetime(d.valid)
            );
        }
        let _ = writeln!(
            out,
            "  ra: sent {}, rs received {}, dropped {}, router lifetime {}s",
            lan.ra.sent, lan.ra.rs_received, lan.ra.dropped, lan.ra.router_lifetime
        );
    }
    let _ = writeln!(
        out,
        "dns servers: {}",
        list_or_none(cpe.dns.servers.iter().map(|s| s.to_string()).collect())
    );
    let _ = writeln!(
        out,
        "dns domains: {}",
        list_or_none(cpe.dns.domains.clone())
    );
}

fn format_server(out: &mut String, server: &ServerStatusDoc) {
    let _ = writeln!(out, "delegating server:");
    // Delegations first: they are what this role is for.
    let mut leases: Vec<String> = ["pd", "na"]
        .iter()
        .map(|k| format!("{} {k}", server.leases.get(*k).copied().unwrap_or(0)))
        .collect();
    leases.extend(
        server
            .leases
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "pd" | "na"))
            .map(|(k, n)| format!("{n} {k}")),
    );
    if server.revoked > 0 {
        leases.push(format!("{} revoked", server.revoked));
    }
    if server.declined > 0 {
        leases.push(format!("{} declined", server.declined));
    }
    let _ = writeln!(out, "  leases: {}", leases.join(", "));
    if server.pools.is_empty() {
        let _ = writeln!(out, "  pools: none (waiting for interfaces or the uplink)");
    }
    for p in &server.pools {
        let size = p
            .delegated_length
            .map(|l| format!(" delegating /{l}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  pool {} {} {}{size}: used {} of {} ({})",
            p.link,
            p.kind,
            p.prefix,
            p.used,
            p.total,
            percent(p.used, p.total)
        );
    }
    let c = &server.counters;
    let _ = writeln!(out, "  received: {}", counts(&c.received));
    let _ = writeln!(out, "  sent: {}", counts(&c.sent));
    let _ = write!(
        out,
        "  granted {}, renewed {}, released {}, expired {}",
        c.granted, c.renewed, c.released, c.expired
    );
    if c.refused_link_cap > 0 || c.refused_hw_address_cap > 0 {
        let _ = write!(
            out,
            ", refused by max-leases-per-link {}, by max-leases-per-hw-address {}",
            c.refused_link_cap, c.refused_hw_address_cap
        );
    }
    out.push('\n');
    let _ = writeln!(out, "  dropped: {}", counts(&c.dropped));
    let store = &server.store;
    let tls = if store.tls { ", tls" } else { "" };
    if store.available {
        let _ = writeln!(out, "  lease store: {}, available{tls}", store.kind);
    } else {
        let _ = writeln!(
            out,
            "  lease store: {}, UNAVAILABLE since unix {}: {} (not granting; reconnecting)",
            store.kind,
            store.since,
            store.last_error.as_deref().unwrap_or("unknown error")
        );
    }
}

/// How many snooped bindings `v6edge status` lists; `--json` has them all.
const RELAY_BINDINGS_SHOWN: usize = 20;

fn format_relay(out: &mut String, relay: &RelayStatus) {
    let _ = writeln!(
        out,
        "relay: {}",
        if relay.relaying {
            "relaying"
        } else {
            "waiting for its interfaces"
        }
    );
    for l in &relay.links {
        // The daemon reads an index only for a link that is up.
        let state = match (l.up, l.ifindex) {
            (true, Some(i)) => format!("ifindex {i}, link up"),
            _ => "down or absent".to_owned(),
        };
        let _ = write!(out, "  {} {} ({state})", l.role, l.interface);
        if let Some(a) = l.link_address {
            let _ = write!(out, "  link-address {a}");
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "  servers: {}",
        list_or_none(relay.servers.iter().map(|s| s.to_string()).collect())
    );
    let c = &relay.counters;
    let _ = writeln!(
        out,
        "  forwarded: {} up, {} down; routes added {}, updated {}, removed {}; snoop rejected {}",
        c.forwarded_up,
        c.forwarded_down,
        c.routes_added,
        c.routes_updated,
        c.routes_removed,
        c.snoop_rejected
    );
    let _ = writeln!(out, "  dropped: {}", counts(&c.dropped));
    let _ = writeln!(out, "  snooped bindings: {}", relay.snooped);
    for b in relay.bindings.iter().take(RELAY_BINDINGS_SHOWN) {
        let _ = writeln!(
            out,
            "    {} via {} on {}  valid {}",
            b.prefix,
            b.next_hop,
            b.interface.as_deref().unwrap_or("?"),
            format_lifetime(b.valid)
        );
    }
    let listed = relay.bindings.len().min(RELAY_BINDINGS_SHOWN);
    let more = usize::try_from(relay.snooped)
        .unwrap_or(usize::MAX)
        .max(relay.bindings.len())
        - listed;
    if more > 0 {
        let _ = writeln!(out, "    ... and {more} more");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/status.schema.json is the JSON Schema of the status document
    /// (`v6edge status --json`, the control socket's `status`), generated
    /// from these types: it cannot drift. `V6EDGE_BLESS=1` rewrites it.
    #[test]
    fn the_status_schema_is_documented() {
        let schema = schemars::schema_for!(Status);
        let text = serde_json::to_string_pretty(&schema).expect("a schema serialises") + "\n";
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/status.schema.json");
        if std::env::var_os("V6EDGE_BLESS").is_some() {
            std::fs::write(&path, &text).expect("write the schema");
        }
        let documented = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            documented == text,
            "docs/status.schema.json is out of date: V6EDGE_BLESS=1 cargo test -p v6edge --lib the_status_schema_is_documented"
        );
    }

    /// The contract's example document, verbatim (minus the state alternatives).
    const CONTRACT_EXAMPLE: &str = r#"{
      "version": "0.1.0",
      "uplink": { "interface": "wan0", "ifindex": 2, "link_up": true, "state": "bound",
                  "server_duid": "00:01:00:01:aa:bb", "default_router": true,
                  "addresses": [ {"address": "2001:db8::5", "preferred": 1234, "valid": 2345} ] },
      "delegations": [ { "iaid": 1, "prefix": "2001:db8:1200::/56", "preferred": 3550, "valid": 7150, "t1": 1800, "t2": 2880 } ],
      "lans": [ { "interface": "lan0", "ifindex": 3, "prefix": "2001:db8:1200::/64", "address": "2001:db8:1200::1", "subnet_id": 0,
                  "deprecated": [ { "prefix": "2001:db8:1300::/64", "valid": 7000 } ],
                  "ra": { "sent": 5, "rs_received": 1, "dropped": 0, "router_lifetime": 1800 } } ],
      "dns": { "servers": ["2001:db8::53"], "domains": ["example.net"] },
      "io": { "dropped": { "dhcp6-server": { "rate-limited-link": 1200, "send-buffer-full": 3 } },
              "tracked_sources": 17, "confirmed_neighbours": 4, "netlink_overruns": 0, "netlink_resyncs": 0 }
    }"#;

    #[test]
    fn human_summary_shows_drops_and_netlink_losses() {
        let mut status: Status = serde_json::from_str(CONTRACT_EXAMPLE).unwrap();
        status.io.netlink_overruns = 7;
        status.io.netlink_resyncs = 2;
        let text = format_human(&status);
        assert!(
            text.contains("dropped (dhcp6-server): rate-limited-link 1200, send-buffer-full 3"),
            "{text}"
        );
        assert!(
            text.contains("netlink: 7 notification losses, 2 resynchronisations"),
            "{text}"
        );
    }

    #[test]
    fn contract_example_round_trips() {
        let status: Status = serde_json::from_str(CONTRACT_EXAMPLE).unwrap();
        assert_eq!(
            status.uplink.as_ref().map(|u| u.state),
            Some(UplinkState::Bound)
        );
        assert_eq!(status.lans[0].deprecated[0].valid, Some(7000));
        let back: serde_json::Value = serde_json::to_value(&status).unwrap();
        let original: serde_json::Value = serde_json::from_str(CONTRACT_EXAMPLE).unwrap();
        assert_eq!(back, original);
    }

    #[test]
    fn states_use_contract_spelling_and_null_is_infinite() {
        let json = serde_json::to_string(&UplinkState::WaitingLink).unwrap();
        assert_eq!(json, "\"waiting-link\"");
        let d = DelegationStatus {
            iaid: 7,
            prefix: "2001:db8::/48".into(),
            preferred: None,
            valid: None,
            t1: Some(0),
            t2: Some(0),
        };
        let v = serde_json::to_value(&d).unwrap();
        assert!(v["valid"].is_null());
        assert_eq!(format_lifetime(d.valid), "infinite");
    }

    #[test]
    fn lifetimes_format() {
        assert_eq!(format_lifetime(Some(0)), "0s");
        assert_eq!(format_lifetime(Some(59)), "59s");
        assert_eq!(format_lifetime(Some(61)), "1m01s");
        assert_eq!(format_lifetime(Some(7150)), "1h59m10s");
        assert_eq!(format_lifetime(Some(90_061)), "1d01h01m01s");
    }

    #[test]
    fn human_summary_of_contract_example() {
        let status: Status = serde_json::from_str(CONTRACT_EXAMPLE).unwrap();
        let text = format_human(&status);
        let expected = "\
v6edge 0.1.0
uplink wan0 (ifindex 2, link up): bound
  server 00:01:00:01:aa:bb
  default router: yes
  address 2001:db8::5  preferred 20m34s  valid 39m05s
delegated prefixes:
  2001:db8:1200::/56  iaid 1  preferred 59m10s  valid 1h59m10s  renew in 30m00s  rebind in 48m00s
lan lan0 (ifindex 3): 2001:db8:1200::/64  subnet-id 0  address 2001:db8:1200::1
  deprecated 2001:db8:1300::/64  valid 1h56m40s
  ra: sent 5, rs received 1, dropped 0, router lifetime 1800s
dns servers: 2001:db8::53
dns domains: example.net
dropped (dhcp6-server): rate-limited-link 1200, send-buffer-full 3
";
        assert_eq!(text, expected);
    }

    #[test]
    fn human_summary_while_waiting() {
        let status = Status {
            version: "0.1.0".into(),
            roles: Roles::default(),
            uplink: Some(UplinkStatus {
                interface: "wan0".into(),
                ifindex: None,
                link_up: false,
                state: UplinkState::WaitingLink,
                server_duid: None,
                default_router: false,
                addresses: vec![],
            }),
            delegations: vec![],
            lans: vec![LanStatus {
                interface: "lan0".into(),
                ifindex: None,
                prefix: None,
                address: None,
                subnet_id: None,
                deprecated: vec![],
                ra: RaCounters::default(),
            }],
            dns: DnsStatus::default(),
            server: None,
            io: Default::default(),
            ra: Vec::new(),
            warnings: Vec::new(),
        };
        let text = format_human(&status);
        assert!(
            text.contains("uplink wan0 (absent, link down): waiting-link\n"),
            "{text}"
        );
        assert!(text.contains("delegated prefixes: none\n"), "{text}");
        assert!(text.contains("lan lan0 (absent): no prefix\n"), "{text}");
        assert!(text.contains("dns servers: none\n"), "{text}");
    }

    #[test]
    fn human_summary_tells_a_store_that_is_away() {
        use super::{ServerStatusDoc, StoreDoc};
        let mut status = Status {
            server: Some(ServerStatusDoc {
                store: StoreDoc {
                    kind: "postgres".into(),
                    available: false,
                    since: 1_800_000_000,
                    last_error: Some("connection closed".into()),
                    losses: 1,
                    reconnects: 0,
                    tls: true,
                },
                ..ServerStatusDoc::default()
            }),
            ..Status::empty()
        };
        let text = format_human(&status);
        assert!(
            text.contains(
                "lease store: postgres, UNAVAILABLE since unix 1800000000: connection closed \
                 (not granting; reconnecting)\n"
            ),
            "{text}"
        );
        if let Some(s) = status.server.as_mut() {
            s.store.available = true;
        }
        assert!(
            format_human(&status).contains("lease store: postgres, available, tls\n"),
            "{text}"
        );
        // The JSON document carries the same, and reads back.
        let json = serde_json::to_value(&status).expect("serialises");
        assert_eq!(json["server"]["store"]["kind"], "postgres");
        assert_eq!(json["server"]["store"]["available"], true);
        let back: Status = serde_json::from_value(json).expect("reads back");
        assert_eq!(back, status);
    }

    fn pool(
        link: &str,
        kind: &str,
        prefix: &str,
        len: Option<u8>,
        used: u64,
        total: u64,
    ) -> PoolDoc {
        PoolDoc {
            link: link.into(),
            kind: kind.into(),
            prefix: prefix.into(),
            delegated_length: len,
            used,
            total,
        }
    }

    /// A node with `[server]` only, as the driver builds it.
    fn server_only() -> Status {
        use super::{CountersDoc, ServerStatusDoc, StoreDoc};
        let server = ServerStatusDoc {
            leases: [("na".to_owned(), 1), ("pd".to_owned(), 3)].into(),
            revoked: 1,
            declined: 0,
            pools: vec![
                pool("lan0", "pd", "2001:db8:100::/40", Some(56), 3, 65_536),
                pool(
                    "relay 2001:db8:5::/64",
                    "na",
                    "2001:db8:5::100-2001:db8:5::1ff",
                    None,
                    1,
                    256,
                ),
            ],
            counters: CountersDoc {
                received: [("solicit".to_owned(), 4), ("request".to_owned(), 4)].into(),
                sent: [("advertise".to_owned(), 4), ("reply".to_owned(), 4)].into(),
                dropped: [("malformed".to_owned(), 2)].into(),
                granted: 4,
                renewed: 7,
                ..CountersDoc::default()
            },
            store: StoreDoc {
                kind: "sqlite".into(),
                available: true,
                ..StoreDoc::default()
            },
        };
        Status {
            roles: Roles {
                delegating_server: Some(server.clone()),
                ..Roles::default()
            },
            server: Some(server),
            ..Status::empty()
        }
    }

    #[test]
    fn human_summary_of_a_server_shows_pools_and_leases_not_the_uplink() {
        let text = format_human(&server_only());
        let expected_lines = [
            "delegating server:\n",
            "  leases: 3 pd, 1 na, 1 revoked\n",
            "  pool lan0 pd 2001:db8:100::/40 delegating /56: used 3 of 65536 (0.0 %)\n",
            "  pool relay 2001:db8:5::/64 na 2001:db8:5::100-2001:db8:5::1ff: used 1 of 256 (0.3 %)\n",
            "  received: request 4, solicit 4\n",
            "  sent: advertise 4, reply 4\n",
            "  granted 4, renewed 7, released 0, expired 0\n",
            "  dropped: malformed 2\n",
            "  lease store: sqlite, available\n",
        ];
        for line in expected_lines {
            assert!(text.contains(line), "missing {line:?} in:\n{text}");
        }
        // Those describe an uplink, which this node does not have.
        assert!(!text.contains("delegated prefixes"), "{text}");
        assert!(!text.contains("dns "), "{text}");
        assert!(!text.contains("uplink"), "{text}");
    }

    #[test]
    fn pool_usage_rounds_down_and_survives_an_empty_pool() {
        assert_eq!(percent(0, 0), "-");
        assert_eq!(percent(3, 256), "1.1 %");
        assert_eq!(percent(255, 256), "99.6 %");
        assert_eq!(percent(256, 256), "100.0 %");
        assert_eq!(percent(u64::MAX, u64::MAX), "100.0 %");
    }

    fn relay_status(bindings: usize) -> RelayStatus {
        RelayStatus {
            links: vec![
                RelayLinkStatus {
                    interface: "up0".into(),
                    role: "upstream".into(),
                    up: true,
                    ifindex: Some(2),
                    link_address: None,
                },
                RelayLinkStatus {
                    interface: "lan0".into(),
                    role: "downstream".into(),
                    up: false,
                    ifindex: None,
                    link_address: Some("2001:db8:5::1".parse().unwrap()),
                },
            ],
            servers: vec!["2001:db8::547".parse().unwrap()],
            relaying: true,
            counters: RelayCountersStatus {
                forwarded_up: 10,
                forwarded_down: 9,
                dropped: [("hop-limit".to_owned(), 1)].into(),
                routes_added: bindings as u64,
                ..RelayCountersStatus::default()
            },
            snooped: bindings as u64,
            bindings: (0..bindings)
                .map(|i| RelayBindingStatus {
                    prefix: format!("2001:db8:{:x}00::/56", 0x10 + i),
                    next_hop: "fe80::2".parse().unwrap(),
                    interface: Some("lan0".into()),
                    duid: "00:03:00:01:02:00:00:00:00:01".into(),
                    iaid: 1,
                    valid: if i == 0 { None } else { Some(7200) },
                })
                .collect(),
        }
    }

    #[test]
    fn human_summary_of_a_relay_lists_links_counters_and_bindings() {
        let status = Status {
            roles: Roles {
                relay: Some(relay_status(2)),
                ..Roles::default()
            },
            ..Status::empty()
        };
        let text = format_human(&status);
        let expected = format!(
            "\
v6edge {}
relay: relaying
  upstream up0 (ifindex 2, link up)
  downstream lan0 (down or absent)  link-address 2001:db8:5::1
  servers: 2001:db8::547
  forwarded: 10 up, 9 down; routes added 2, updated 0, removed 0; snoop rejected 0
  dropped: hop-limit 1
  snooped bindings: 2
    2001:db8:1000::/56 via fe80::2 on lan0  valid infinite
    2001:db8:1100::/56 via fe80::2 on lan0  valid 2h00m00s
",
            env!("CARGO_PKG_VERSION")
        );
        assert_eq!(text, expected);
    }

    #[test]
    fn leases_are_filtered_then_paged() {
        let lease = |duid: &str, kind: &'static str, prefix: &str| LeaseView {
            duid: duid.to_owned(),
            iaid: 1,
            kind,
            prefix: prefix.to_owned(),
            preferred: Some(10),
            valid: Some(20),
            next_hop: None,
            interface: None,
        };
        let all = || {
            vec![
                lease("00:01:aa", "pd", "2001:db8:100::/56"),
                lease("00:01:bb", "pd", "2001:db8:100:100::/56"),
                lease("00:01:aa", "na", "2001:db8:1::5/128"),
                lease("00:01:cc", "pd", "2001:db8:200::/56"),
            ]
        };
        let f = |within: Option<&str>, duid: Option<&str>, kind: Option<&str>| {
            crate::control::LeaseFilter {
                within: within.map(str::to_owned),
                duid: duid.map(str::to_owned),
                kind: kind.map(str::to_owned),
                offset: 0,
                limit: None,
            }
        };
        let prefixes = |(v, n): (Vec<LeaseView>, usize)| {
            (v.into_iter().map(|l| l.prefix).collect::<Vec<_>>(), n)
        };
        let r = select_leases(all(), &f(Some("2001:db8:100::/40"), None, None)).unwrap();
        assert_eq!(
            prefixes(r),
            (
                vec!["2001:db8:100::/56".into(), "2001:db8:100:100::/56".into()],
                2
            )
        );
        // DUID without colons, any case; type.
        let r = select_leases(all(), &f(None, Some("0001AA"), Some("pd"))).unwrap();
        assert_eq!(prefixes(r), (vec!["2001:db8:100::/56".into()], 1));
        // A shorter lease than the filter prefix is not inside it.
        let r = select_leases(all(), &f(Some("2001:db8:100::/60"), None, None)).unwrap();
        assert_eq!(prefixes(r).1, 0);
        // Paging: total counts all that pass.
        let mut page = f(None, None, None);
        page.offset = 1;
        page.limit = Some(2);
        let r = select_leases(all(), &page).unwrap();
        assert_eq!(
            prefixes(r),
            (
                vec!["2001:db8:100:100::/56".into(), "2001:db8:1::5/128".into()],
                4
            )
        );
        assert!(select_leases(all(), &f(Some("nonsense"), None, None)).is_err());
        assert!(select_leases(all(), &f(None, None, Some("ta"))).is_err());
    }

    #[test]
    fn warnings_come_first_in_plain_words_and_round_trip() {
        let mut status = Status::empty();
        status.warnings = vec![crate::daemon::FORWARDING_OFF.to_owned()];
        let human = format_human(&status);
        let second = human.lines().nth(1).unwrap_or_default();
        assert!(
            second.starts_with("warning: IPv6 forwarding is off"),
            "{human}"
        );
        let json = serde_json::to_value(&status).unwrap();
        let back: Status = serde_json::from_value(json).unwrap();
        assert_eq!(back.warnings, status.warnings);
        // None: the key is left out (older readers see no change).
        let quiet = serde_json::to_value(Status::empty()).unwrap();
        assert!(quiet.get("warnings").is_none());
    }

    #[test]
    fn human_summary_of_a_relay_caps_the_bindings_listed() {
        let status = Status {
            roles: Roles {
                relay: Some(relay_status(25)),
                ..Roles::default()
            },
            ..Status::empty()
        };
        let text = format_human(&status);
        assert_eq!(text.matches(" via fe80::2 on lan0").count(), 20, "{text}");
        assert!(text.contains("  snooped bindings: 25\n"), "{text}");
        assert!(text.ends_with("    ... and 5 more\n"), "{text}");
        assert!(!text.contains("delegated prefixes"), "{text}");
    }

    #[test]
    fn roles_round_trip_and_absent_roles_stay_absent() {
        let mut status = server_only();
        status.roles.relay = Some(relay_status(1));
        status.ra = vec![StaticRaStatus {
            interface: "lan1".into(),
            prefixes: vec!["2001:db8:77::/64".into()],
            advertising: true,
            joins_lan: false,
            sent: 3,
            rs_received: 1,
        }];
        status.roles.ra = Some(status.ra.clone());
        let text = format_human(&status);
        assert!(
            text.contains(
                "ra lan1: advertising, prefixes 2001:db8:77::/64, sent 3, rs received 1\n"
            ),
            "{text}"
        );
        let json = serde_json::to_value(&status).expect("serialises");
        let roles = json["roles"].as_object().expect("roles is an object");
        let keys: Vec<&str> = roles.keys().map(String::as_str).collect();
        // (serde_json::Map sorts its keys.)
        assert_eq!(keys, ["delegating-server", "ra", "relay"]);
        assert_eq!(json["roles"]["ra"], json["ra"]);
        assert_eq!(json["roles"]["delegating-server"]["pools"][0]["used"], 3);
        assert_eq!(
            json["roles"]["delegating-server"]["pools"],
            json["server"]["pools"]
        );
        assert_eq!(json["roles"]["relay"]["counters"]["forwarded_up"], 10);
        assert_eq!(
            json["roles"]["relay"]["bindings"][0]["valid"],
            serde_json::Value::Null
        );
        // The old top-level fields are still there.
        assert!(json["uplink"].is_null());
        assert_eq!(json["server"]["counters"]["dropped"]["malformed"], 2);
        let back: Status = serde_json::from_value(json).expect("reads back");
        assert_eq!(back, status);
    }

    #[test]
    fn a_document_without_roles_prints_what_its_top_level_fields_say() {
        // A daemon that predates `roles`: the CPE and the server still print.
        let mut status: Status = serde_json::from_str(CONTRACT_EXAMPLE).unwrap();
        assert!(status.roles.is_empty());
        status.server = server_only().server;
        let text = format_human(&status);
        assert!(
            text.contains("uplink wan0 (ifindex 2, link up): bound\n"),
            "{text}"
        );
        assert!(
            text.contains("  pool lan0 pd 2001:db8:100::/40 delegating /56: used 3 of 65536"),
            "{text}"
        );
        // With `roles`, it is what is printed.
        status.roles.delegating_server = status.server.clone();
        let text = format_human(&status);
        assert!(!text.contains("uplink wan0"), "{text}");
        assert!(text.contains("used 3 of 65536"), "{text}");
    }

    /// The home agent's section: one line for the role, one per binding;
    /// the document round-trips under `roles.home-agent`.
    #[test]
    fn home_agent_bindings_are_listed() {
        let mut status = Status::empty();
        status.roles.home_agent = Some(HomeAgentStatus {
            interface: "home0".into(),
            address: "2001:db8:1::1".parse().unwrap(),
            running: true,
            bindings: vec![HomeAgentBindingStatus {
                home_address: "2001:db8:1::200".parse().unwrap(),
                care_of: "2001:db8:f::b".parse().unwrap(),
                state: "bound".into(),
                sequence: 7,
                lifetime: 400,
                remaining: 390,
                spi: Some(1000),
                mobile_router: false,
                mobile_networks: Vec::new(),
                udp: None,
                nat: false,
                ipv4_home_address: None,
            }],
            auth_failures: 2,
            ..HomeAgentStatus::default()
        });
        let text = format_human(&status);
        assert!(
            text.contains(
                "home agent 2001:db8:1::1 on home0: running, 1 binding(s), 2 authentication failure(s)\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "  2001:db8:1::200 via 2001:db8:f::b: bound, sequence 7, 390 s of 400 s left\n"
            ),
            "{text}"
        );
        let json = serde_json::to_value(&status).expect("encode");
        assert_eq!(
            json["roles"]["home-agent"]["bindings"][0]["care_of"],
            "2001:db8:f::b"
        );
        let back: Status = serde_json::from_value(json).expect("decode");
        assert_eq!(back.roles.home_agent, status.roles.home_agent);
    }
}
