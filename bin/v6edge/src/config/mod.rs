//! The daemon's configuration: a TOML file parsed by serde into the private
//! schema of `raw.rs`, then checked and converted by `validate.rs` into the
//! plain structs below, which carry `Duration`s and typed values and nothing
//! from serde. The daemon converts these into each machine's own config
//! struct (style guide §2, "Configuration is split in two").
//!
//! Every error is reported as `FILE:LINE: reason`, LINE being the 1-based line
//! of the offending key or value: serde errors through
//! `toml::de::Error::span()`, semantic errors through `toml::Spanned`.
//! Every key, its default and its meaning are documented in docs/config.md.
//!
//! Requirements reflected in defaults and bounds: RFC 4861 §6.2.1 (RA
//! intervals, router lifetime, MTU), RFC 4191 §2.2 (router preference),
//! RFC 8106 §5.1 (RDNSS/DNSSL lifetime), RFC 9096 L-16 (PIO lifetime limits),
//! RFC 7084 WPD-2/L-3, RFC 9096 WPD-9 and RFC 8415 §18.2.1 (requested options).
//! The `[server]` table (delegating server, issue 3): RFC 8415 §18.3 and §21
//! (Preference, Rapid Commit, lifetimes, SOL_MAX_RT/INF_MAX_RT,
//! Information Refresh Time), RFC 8415 §11.1 (DUID length), RFC 6939
//! (client link-layer address), RFC 4291 §2.6.1 (Subnet-Router anycast).
//! The `[relay]` table (relay agent, issue 5): RFC 8415 §7.6
//! (HOP_COUNT_LIMIT), §9 and §19.1.1 (link-address, Interface-ID), §21.18
//! (Interface-Id option), RFC 4649 §3 (Remote-ID), RFC 4580 §2
//! (Subscriber-ID), RFC 8987 §4 (routes toward delegated prefixes).
//! The `[[ra]]` tables (static Router Advertisements, issue 8): RFC 4861
//! §4.6.2 and §6.2.1 (prefix flags and lifetimes), RFC 4862 §5.5.3.
//!
//! Panic contract: parsing never panics, whatever the input.

mod limits;
mod mobility;
mod ra;
mod raw;
mod relay;
mod ripng;
mod server;
mod validate;

use std::fmt;
use std::net::Ipv6Addr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use v6edge_prefix::Prefix;

pub use limits::LimitsConfig;

/// Default state directory (contract: overridable by `[daemon] state-dir` and `--state-dir`).
pub const DEFAULT_STATE_DIR: &str = "/var/lib/v6edge";
/// Default control socket (contract: overridable by `[daemon] control-socket` and `--control`).
pub const DEFAULT_CONTROL_SOCKET: &str = "/run/v6edge.sock";
/// Default tracing filter when neither `--log-level`, `RUST_LOG` nor the config sets one.
pub const DEFAULT_LOG_LEVEL: &str = "info";

/// A configuration error: where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file as named by the user.
    pub path: PathBuf,
    /// 1-based line of the offending key or value; `None` when the file
    /// could not be read at all.
    pub line: Option<usize>,
    pub reason: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.path.display(), line, self.reason),
            None => write!(f, "{}: {}", self.path.display(), self.reason),
        }
    }
}

impl std::error::Error for ConfigError {}

/// The whole validated configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The file this was read from (for messages and SIGHUP reload).
    pub path: PathBuf,
    pub daemon: DaemonConfig,
    /// The requesting-router side; `None` on a router that only serves or
    /// relays (validation requires at least one role).
    pub uplink: Option<UplinkConfig>,
    /// The LAN interfaces, in file order; interface names are unique.
    /// Never non-empty without an uplink (LAN prefixes come from its delegation).
    pub lans: Vec<LanConfig>,
    /// The DHCPv6 delegating server; `None` when `[server]` is absent.
    pub server: Option<ServerSettings>,
    /// The DHCPv6 relay agent; `None` when `[relay]` is absent. Never set
    /// together with `server` (both need UDP port 547).
    pub relay: Option<RelaySettings>,
    /// `[[ra]]`: Router Advertisements of configured prefixes, in file
    /// order; interfaces are unique and never the uplink (on a LAN, see
    /// `StaticRaConfig::on_lan`).
    pub static_ras: Vec<StaticRaConfig>,
    /// `[limits]`: rate limits on unsolicited input (defaults when absent).
    pub limits: LimitsConfig,
    /// `[home-agent]`: Mobile IPv6 home agent.
    pub home_agent: Option<HomeAgentConfig>,
    /// `[mobile-node]`: Mobile IPv6 mobile node.
    pub mobile_node: Option<MobileNodeConfig>,
    /// `[ripng]`: RIPng (RFC 2080).
    pub ripng: Option<RipngSettings>,
}

/// `[ripng]`: RIPng (RFC 2080) on some interfaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RipngSettings {
    pub interfaces: Vec<RipngInterface>,
    /// Advertise the prefixes of the RIPng interfaces' global addresses.
    pub redistribute_connected: bool,
    /// Advertise the main table's routes an administrator added (protocol
    /// `boot` or `static`), but the default route.
    pub redistribute_static: bool,
    /// Advertise the routes this daemon installs toward delegated
    /// prefixes (delegating server, relay, a requesting router's own
    /// delegations), as they come and go.
    pub redistribute_delegated: bool,
    /// Metric of the routes originated here (1-15).
    pub metric: u8,
    /// Route tag of the routes originated here.
    pub tag: u16,
    pub timers: v6edge_ripng::Timers,
    /// Advertised instead of the routes inside them, with an unreachable
    /// route (route6d `-A`).
    pub aggregates: Vec<Prefix>,
    /// `max-routes`: the most routes the table holds.
    pub max_routes: usize,
    /// `route-metric`: the kernel metric of learned routes.
    pub route_metric: u32,
}

/// One RIPng interface (`interfaces`, `[[ripng.interface]]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RipngInterface {
    pub name: InterfaceName,
    /// Added to the metric of routes learned here (1-15).
    pub cost: u8,
    /// Listen and answer requests, send no updates.
    pub passive: bool,
    pub split_horizon: v6edge_ripng::SplitHorizon,
    /// Inbound filter: only routes inside these (`::/0`: the default
    /// route) are learned here; empty: all.
    pub accept: Vec<Prefix>,
    /// Outbound filter, the same way.
    pub advertise: Vec<Prefix>,
    /// Advertise only a default route here.
    pub default_only: bool,
}

impl RipngInterface {
    /// Cost 1, active, split horizon with poisoned reverse.
    pub fn new(name: InterfaceName) -> RipngInterface {
        RipngInterface {
            name,
            cost: 1,
            passive: false,
            split_horizon: v6edge_ripng::SplitHorizon::PoisonedReverse,
            accept: Vec::new(),
            advertise: Vec::new(),
            default_only: false,
        }
    }
}

/// `[daemon] log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// `journal` when stderr is the systemd journal (`JOURNAL_STREAM`),
    /// `text` otherwise.
    #[default]
    Auto,
    /// One line per event: time, level, target, message, fields.
    Text,
    /// For journald: a `<N>` syslog priority per line (sd-daemon(3)), no
    /// time (the journal keeps its own), no level word.
    Journal,
    /// JSON lines: one object per event.
    Json,
}

/// `[daemon]`: where the daemon keeps its files and how it logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonConfig {
    pub state_dir: PathBuf,
    pub control_socket: PathBuf,
    /// A tracing-subscriber `EnvFilter` directive (e.g. `info` or
    /// `info,v6edge::control=debug`), already checked to parse.
    pub log_level: String,
    /// Receive buffer of the rtnetlink notification socket, bytes
    /// (`netlink-receive-buffer`; BIRD's `netlink rx buffer`). Notifications
    /// that do not fit are lost and the daemon re-reads the kernel's state.
    pub netlink_receive_buffer: usize,
    /// `log-format`: how log lines are written to stderr.
    pub log_format: LogFormat,
    /// `control-group`: members may use the read-only control commands
    /// (status, leases, tree, metrics); the socket becomes mode 0660.
    pub control_group: Option<String>,
    /// `metrics-listen`: where the Prometheus text exposition is served
    /// over HTTP (`GET /metrics`).
    pub metrics_listen: Option<std::net::SocketAddr>,
}

/// A network interface name, checked the way Linux checks it
/// (`dev_valid_name`): 1..=15 bytes, not `.` or `..`, no `/`, `:` or whitespace.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InterfaceName(String);

impl InterfaceName {
    /// IFNAMSIZ (16) including the terminating NUL.
    pub const MAX_LEN: usize = 15;

    pub fn new(name: &str) -> Result<InterfaceName, String> {
        if name.is_empty() {
            return Err("interface name is empty".into());
        }
        if name.len() > Self::MAX_LEN {
            return Err(format!(
                "interface name `{name}` is longer than {} bytes",
                Self::MAX_LEN
            ));
        }
        if name == "." || name == ".." {
            return Err(format!("`{name}` is not a valid interface name"));
        }
        if let Some(c) = name
            .chars()
            .find(|c| *c == '/' || *c == ':' || c.is_whitespace() || c.is_control())
        {
            return Err(format!(
                "interface name `{}` contains {:?}",
                name.escape_debug(),
                c
            ));
        }
        Ok(InterfaceName(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for InterfaceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `[uplink]`: the requesting-router side (RFC 7084 §4.2, RFC 8415 client).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UplinkConfig {
    pub interface: InterfaceName,
    /// One entry per IA_PD to request; empty when `request-prefix = false`.
    pub ia_pds: Vec<IaPdRequest>,
    /// Request an IA_NA for the uplink's own address.
    pub request_address: bool,
    /// RFC 8415 §18.2.1: include Rapid Commit in Solicit.
    pub rapid_commit: bool,
    /// RFC 8415 §18.2.1: include Reconfigure Accept.
    pub reconfigure_accept: bool,
    /// Send Release on a clean stop (RFC 9096 WPD-9: not by default).
    pub release_on_stop: bool,
    /// Learn the default route from the ISP's RAs (the daemon sets accept_ra=2).
    pub accept_ra_default_route: bool,
    /// Options for the ORO, no duplicates, always containing
    /// [`RequestOption::SolMaxRt`] (RFC 8415 §18.2.1 requires it in Solicit).
    pub request_options: Vec<RequestOption>,
    /// `hook`: a program run on this role's events (docs/config.md
    /// "Hooks"), in order, one at a time.
    pub hook: Option<PathBuf>,
    /// The interface is one of the `[mobile-node]`'s: the router is a
    /// mobile router that obtains its mobile networks from the home
    /// network (RFC 6276), its DHCPv6 messages relayed to the home agent
    /// from the home address. Derived, not a key.
    pub via_home_agent: bool,
}

/// One IA_PD the client asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IaPdRequest {
    /// Prefix length sent as a hint in an IAPREFIX with an unspecified
    /// address. A hint only: RFC 7084 WPD-2/WPD-3, any delegated length is
    /// accepted.
    pub prefix_hint: u8,
}

/// An option the uplink client asks for in its Option Request option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestOption {
    /// OPTION_DNS_SERVERS (RFC 3646).
    Dns,
    /// OPTION_DOMAIN_LIST (RFC 3646).
    Domains,
    /// OPTION_NTP_SERVER (RFC 5908).
    Ntp,
    /// OPTION_SNTP_SERVERS (RFC 4075).
    Sntp,
    /// OPTION_SOL_MAX_RT (RFC 8415 §21.24).
    SolMaxRt,
    /// OPTION_INF_MAX_RT (RFC 8415 §21.25).
    InfMaxRt,
    /// OPTION_INFORMATION_REFRESH_TIME (RFC 8415 §21.23).
    InfoRefreshTime,
}

impl RequestOption {
    /// The DHCPv6 option code (IANA "DHCPv6 Option Codes").
    pub fn code(self) -> u16 {
        match self {
            RequestOption::Dns => 23,
            RequestOption::Domains => 24,
            RequestOption::Sntp => 31,
            RequestOption::InfoRefreshTime => 32,
            RequestOption::Ntp => 56,
            RequestOption::SolMaxRt => 82,
            RequestOption::InfMaxRt => 83,
        }
    }

    /// The spelling used in the config file.
    pub fn name(self) -> &'static str {
        match self {
            RequestOption::Dns => "dns",
            RequestOption::Domains => "domains",
            RequestOption::Ntp => "ntp",
            RequestOption::Sntp => "sntp",
            RequestOption::SolMaxRt => "sol-max-rt",
            RequestOption::InfMaxRt => "inf-max-rt",
            RequestOption::InfoRefreshTime => "info-refresh-time",
        }
    }
}

/// `[[lan]]`: one downstream link that gets a /64 from the delegation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LanConfig {
    pub interface: InterfaceName,
    /// Fixed subnet index inside the delegated prefix; `None` = chosen by
    /// the daemon (and remembered in the state directory). Whether it fits
    /// is known only once a prefix is delegated.
    pub subnet_id: Option<u32>,
    /// Send Router Advertisements on this link.
    pub advertise: bool,
    pub ra: RaSettings,
}

/// Router Advertisement settings of one LAN (RFC 4861 §6.2.1 names in comments).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaSettings {
    /// MinRtrAdvInterval.
    pub min_interval: Duration,
    /// MaxRtrAdvInterval.
    pub max_interval: Duration,
    /// AdvLinkMTU; `None` = no MTU option.
    pub mtu: Option<u32>,
    /// AdvManagedFlag (M).
    pub managed: bool,
    /// AdvOtherConfigFlag (O).
    pub other_config: bool,
    /// AdvDefaultLifetime while the router has a default route upstream
    /// (RFC 7084 G-4: 0 is sent otherwise, whatever this says).
    pub router_lifetime: Duration,
    /// RDNSS override; `None` = pass on what the uplink's DHCPv6 gave.
    pub dns_servers: Option<Vec<Ipv6Addr>>,
    /// DNSSL override; `None` = pass on what the uplink's DHCPv6 gave.
    /// Stored without a trailing dot.
    pub dns_domains: Option<Vec<String>>,
    /// Lifetime of the RDNSS and DNSSL options (RFC 8106 §5.1).
    pub rdnss_lifetime: Duration,
    /// Default Router Preference (RFC 4191 §2.2).
    pub preference: RouterPreference,
    /// Advertise the delegated aggregate as a Route Information Option
    /// (RFC 4191 §2.3, RFC 7084 L-3).
    pub route_info: bool,
    /// Upper bound of the PIO preferred lifetime (RFC 9096 ND_PREFERRED_LIMIT).
    pub pio_preferred_limit: Duration,
    /// Upper bound of the PIO valid lifetime (RFC 9096 ND_VALID_LIMIT).
    pub pio_valid_limit: Duration,
}

impl RaSettings {
    /// The settings used when a `[[lan]]` has no `ra` table: RFC 4861
    /// §6.2.1 defaults, RFC 9096 limits.
    pub fn defaults() -> RaSettings {
        let max_interval = Duration::from_secs(validate::DEFAULT_MAX_INTERVAL);
        RaSettings {
            min_interval: validate::default_min_interval(max_interval),
            max_interval,
            mtu: None,
            managed: false,
            other_config: false,
            router_lifetime: Duration::from_secs(validate::DEFAULT_ROUTER_LIFETIME),
            dns_servers: None,
            dns_domains: None,
            rdnss_lifetime: max_interval * 3,
            preference: RouterPreference::Medium,
            route_info: true,
            pio_preferred_limit: Duration::from_secs(validate::ND_PREFERRED_LIMIT),
            pio_valid_limit: Duration::from_secs(validate::ND_VALID_LIMIT),
        }
    }
}

/// `[[ra]]`: one interface advertising configured prefixes (a plain RA
/// daemon, like radvd), independent of any delegation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticRaConfig {
    pub interface: InterfaceName,
    /// In file order, no duplicates.
    pub prefixes: Vec<StaticPrefix>,
    /// The RA knobs; `dns_servers`/`dns_domains` `None` = no RDNSS/DNSSL
    /// (there is no uplink to take them from). `route_info` is off and the
    /// PIO limits are unused: each prefix has its own lifetimes.
    pub ra: RaSettings,
    /// The interface is a `[[lan]]`: the prefixes and DNS options join
    /// that LAN's RAs (its `[lan.ra]` says how it advertises).
    pub on_lan: bool,
}

/// `[home-agent]`: a Mobile IPv6 home agent (RFC 6275 §10) on one home
/// link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HomeAgentConfig {
    /// The home link.
    pub interface: InterfaceName,
    /// This home agent's address on the home link, inside `prefixes`.
    pub address: Ipv6Addr,
    /// The home prefixes served (HaServedPrefix), none overlapping.
    pub prefixes: Vec<Prefix>,
    /// Lifetimes granted are capped here (RFC 6275 §10.3.1), ≤ 262 140 s.
    pub max_binding_lifetime: Duration,
    /// Home Agent Information option preference (RFC 6275 §7.4).
    pub preference: i16,
    pub security: MobilitySecurity,
    /// Keep the binding cache in the state directory, so a restart
    /// restores routes, proxies and tunnels before the next refresh.
    pub persist_bindings: bool,
    /// Answer Mobile Prefix Solicitations and tell registered mobile nodes
    /// when the home prefixes change (RFC 6275 §10.6; unauthenticated, so
    /// off unless asked for).
    pub mobile_prefix_advertisements: bool,
    /// One security association per home address (RFC 4285 §5).
    pub mobile_nodes: Vec<MobilitySa>,
    /// `[[home-agent.acl]]` in file order, the first whose prefix holds
    /// the home address decides; `default-action` for the rest (HA-7).
    pub acl: Vec<(Prefix, bool)>,
    /// `default-action = "allow"` (true, the default) or `"deny"`.
    pub default_allow: bool,
    /// `hook`: a program run on this role's events (docs/config.md
    /// "Hooks"), in order, one at a time.
    pub hook: Option<PathBuf>,
    /// NEMO (RFC 3963): the home addresses that may register as mobile
    /// routers, each with the prefixes its mobile networks must be in
    /// (`mobile-network-prefixes` of its `[[home-agent.mobile-node]]`).
    pub mobile_routers: Vec<(Ipv6Addr, Vec<Prefix>)>,
    /// Dual-Stack MIPv6 (RFC 5555): `ipv4-address` and what goes with it.
    pub dsmip: Option<HomeAgentDsmip>,
}

/// DSMIPv6 at the home agent (`ipv4-address`, `nat-refresh`,
/// `ipv4-home-pool`, `ipv4-home-interface` in `[home-agent]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HomeAgentDsmip {
    /// Where UDP port 4191 listens (`HomeAgentV4Address`).
    pub address: std::net::Ipv4Addr,
    /// The NAT Detection option's refresh time.
    pub nat_refresh: Duration,
    /// IPv4 home addresses, answered for by proxy ARP on the interface.
    pub pool: Option<(v6edge_core::Prefix4, InterfaceName)>,
}

/// `[mobile-node]`: a Mobile IPv6 mobile node (RFC 6275 §11).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MobileNodeConfig {
    /// Interfaces it attaches through (care-of addresses come from them).
    pub interfaces: Vec<InterfaceName>,
    pub home_address: Ipv6Addr,
    /// The home link's prefix (the home address's /64 by default).
    pub home_prefix: Prefix,
    pub home_agent: HomeAgentChoice,
    /// Requested in Binding Updates (RFC 6275 §11.7.1).
    pub binding_lifetime: Duration,
    pub security: MobilitySecurity,
    /// `None` only with `security = "none"`.
    pub sa: Option<MobilitySa>,
    /// `hook`: a program run on this role's events (docs/config.md
    /// "Hooks"), in order, one at a time.
    pub hook: Option<PathBuf>,
    /// NEMO (RFC 3963): a mobile router for these mobile networks, named
    /// in its Binding Updates (explicit mode, `true`) or known to the home
    /// agent (implicit mode).
    pub mobile_router: Option<(Vec<Prefix>, bool)>,
    /// Dual-Stack MIPv6 (RFC 5555): `home-agent-ipv4` and what goes with
    /// it.
    pub dsmip: Option<MobileNodeDsmip>,
}

/// DSMIPv6 at the mobile node (`home-agent-ipv4`,
/// `request-ipv4-home-address`, `force-udp` in `[mobile-node]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MobileNodeDsmip {
    /// The home agent's IPv4 address (UDP port 4191 there).
    pub home_agent: std::net::Ipv4Addr,
    /// Ask for an IPv4 home address.
    pub request_ipv4_home_address: bool,
    /// The F flag: UDP even without a NAT (RFC 5555 §3.1.3).
    pub force_udp: bool,
}

/// How a mobile node knows its home agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HomeAgentChoice {
    Address(Ipv6Addr),
    /// Dynamic Home Agent Address Discovery (RFC 6275 §11.4.1).
    Dhaad,
}

/// How Binding Updates and Acknowledgements are protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MobilitySecurity {
    /// RFC 4285 MN-HA authentication option with timestamp replay
    /// protection: the default.
    Rfc4285,
    /// Nothing: only with `insecure-lab = true`.
    None,
}

/// An MN-HA security association (RFC 4285 §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MobilitySa {
    pub home_address: Ipv6Addr,
    /// ≥ 256 (0–255 are reserved).
    pub spi: u32,
    pub key: MobilityKey,
    /// Where the key came from, for messages (never the key itself).
    pub key_file: PathBuf,
    /// Timestamps further apart than this are replays (RFC 4285 §6).
    pub replay_window: Duration,
}

/// A 16-octet MN-HA key. Its `Debug` never shows it: configurations are
/// logged and printed.
#[derive(Clone, PartialEq, Eq)]
pub struct MobilityKey([u8; 16]);

impl MobilityKey {
    pub fn new(key: [u8; 16]) -> MobilityKey {
        MobilityKey(key)
    }

    pub fn bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl std::fmt::Debug for MobilityKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MobilityKey(<16 octets, not shown>)")
    }
}

/// A prefix of `[[ra]]`, advertised with fixed lifetimes (RFC 4861 §4.6.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticPrefix {
    /// Never link-local or multicast; a /64 when `autonomous`.
    pub prefix: Prefix,
    /// L flag.
    pub on_link: bool,
    /// A flag.
    pub autonomous: bool,
    /// 1 s ..= 0xfffffffe s.
    pub valid: Duration,
    /// ..= valid.
    pub preferred: Duration,
}

/// RFC 4191 §2.2 Default Router Preference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouterPreference {
    Low,
    Medium,
    High,
}

impl RouterPreference {
    /// The two-bit Prf field value (RFC 4191 §2.1: 01 high, 00 medium, 11 low).
    pub fn bits(self) -> u8 {
        match self {
            RouterPreference::High => 0b01,
            RouterPreference::Medium => 0b00,
            RouterPreference::Low => 0b11,
        }
    }
}

/// `[server]`: the DHCPv6 delegating server (RFC 8415 §18.3), handing out
/// addresses (IA_NA) and prefixes (IA_PD) and installing a route toward every
/// delegated prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSettings {
    /// Interfaces on which the server listens for direct clients (it joins
    /// All_DHCP_Relay_Agents_and_Servers there); no duplicates, never the
    /// uplink. Defaults to the interface of every
    /// [`LinkSelector::Interface`] link, in file order. Relayed messages
    /// arrive by unicast and do not depend on this list.
    pub interfaces: Vec<InterfaceName>,
    /// RFC 8415 §21.8 Preference option value; 255 makes clients take the
    /// first Advertise at once (§18.2.1). 0 is the same as not sending it.
    pub preference: u8,
    /// RFC 8415 §18.3.1: answer a Solicit carrying Rapid Commit with a Reply.
    pub rapid_commit: bool,
    /// OPTION_DNS_SERVERS content (RFC 3646 §3); unicast addresses.
    pub dns_servers: Vec<Ipv6Addr>,
    /// OPTION_DOMAIN_LIST content (RFC 3646 §4), without trailing dots.
    pub domains: Vec<String>,
    /// NTP server addresses (RFC 5908 NTP_SUBOPTION_SRV_ADDR); unicast.
    pub ntp_servers: Vec<Ipv6Addr>,
    /// RFC 8415 §21.23 Information Refresh Time, at least IRT_MINIMUM (600 s).
    pub information_refresh_time: Duration,
    /// RFC 8415 §21.24 SOL_MAX_RT to send; `None` = option not sent.
    pub sol_max_rt: Option<Duration>,
    /// RFC 8415 §21.25 INF_MAX_RT to send; `None` = option not sent.
    pub inf_max_rt: Option<Duration>,
    pub lease_store: LeaseStoreKind,
    /// Absolute path of a program run on lease events.
    pub hook: Option<PathBuf>,
    /// Install a route toward every delegated prefix via the requesting
    /// router (RFC 8415 §6.3 leaves routing to the operator; v6edge does it).
    pub routes: bool,
    /// Metric of those routes.
    pub route_metric: u32,
    /// Client links in file order: selectors are unique and relay-link
    /// prefixes do not overlap; no two pools anywhere overlap.
    pub links: Vec<ServerLink>,
    /// Fixed bindings; no two share an address or overlapping prefixes, nor
    /// the same client identification.
    pub reservations: Vec<ReservationConfig>,
    /// Caps on leases (issue 14): per client link, and per client
    /// link-layer address (RFC 6939 from the relay, else the DUID's).
    /// `None`: no cap.
    pub max_leases_per_link: Option<usize>,
    pub max_leases_per_hw_address: Option<usize>,
}

/// Where leases are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseStoreKind {
    /// SQLite database, crash-safe; `path: None` = `<state-dir>/leases.db`.
    Sqlite { path: Option<PathBuf> },
    /// In memory only: every lease is forgotten on restart or crash, so
    /// clients are handed different bindings afterwards. Benchmarks only.
    Memory,
    /// A PostgreSQL database shared with other v6edge servers of the same
    /// network (cargo feature `postgres`); `conninfo` is a libpq connection
    /// string or URL (`host=/var/run/postgresql dbname=v6edge user=v6edge`).
    Postgres { conninfo: String },
}

impl LeaseStoreKind {
    /// File name of the SQLite database inside the state directory.
    pub const DEFAULT_SQLITE_FILE: &'static str = "leases.db";

    /// The database file, resolving the default against `state_dir` (which
    /// `--state-dir` may override, so it is only known at run time);
    /// `None` for the memory and PostgreSQL stores.
    pub fn sqlite_path(&self, state_dir: &Path) -> Option<PathBuf> {
        match self {
            LeaseStoreKind::Sqlite { path: Some(p) } => Some(p.clone()),
            LeaseStoreKind::Sqlite { path: None } => {
                Some(state_dir.join(Self::DEFAULT_SQLITE_FILE))
            }
            LeaseStoreKind::Memory | LeaseStoreKind::Postgres { .. } => None,
        }
    }
}

/// `[[server.link]]`: the clients of one link and the pools they draw from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerLink {
    pub selector: LinkSelector,
    /// IA_NA pools, in file order.
    pub address_pools: Vec<AddressPoolConfig>,
    /// IA_PD pools, in file order.
    pub prefix_pools: Vec<PrefixPoolConfig>,
}

/// Which clients a [`ServerLink`] serves (RFC 8415 §13.1: the server picks
/// the link from the receiving interface, or from a relay's link-address).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkSelector {
    /// Direct clients whose messages arrive on this interface.
    Interface(InterfaceName),
    /// Relayed clients whose innermost Relay-forward link-address lies in
    /// this prefix (RFC 8415 §9).
    RelayLink(Prefix),
}

/// `[[server.link.address-pool]]`: addresses `start..=end` for IA_NA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressPoolConfig {
    pub start: Ipv6Addr,
    /// `start <= end`; every address in between is unicast.
    pub end: Ipv6Addr,
    /// 1 s ..= valid.
    pub preferred: Duration,
    /// 1 s ..= 0xfffffffe s (never infinity).
    pub valid: Duration,
}

/// `[[server.link.prefix-pool]]`: the pool's space cut into `/delegated_len`
/// blocks for IA_PD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefixPoolConfig {
    pub source: PoolSource,
    /// [`PoolSource::Fixed`]: `prefix.len() ..= 128`.
    /// [`PoolSource::FromUplink`]: `48 ..= 64` (default 60); the daemon
    /// delegates /64s from a block of the uplink's prefix too small for it.
    pub delegated_len: u8,
    /// 1 s ..= valid. For [`PoolSource::FromUplink`], further capped at run
    /// time by what remains of the uplink's lease (RFC 9096 L-17).
    pub preferred: Duration,
    /// 1 s ..= 0xfffffffe s (never infinity). Capped like `preferred`.
    pub valid: Duration,
}

/// Where a [`PrefixPoolConfig`] takes its space from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolSource {
    /// `prefix = "..."`: a fixed prefix, no host bits, unicast space only;
    /// no two fixed pools of the file overlap.
    Fixed(Prefix),
    /// `from-uplink = true`: the prefixes delegated to the `[uplink]` minus
    /// the /64s assigned to this router's own LANs (RFC 9818 LPD-4). Known
    /// only at run time, so not checked for overlap and never reservable.
    FromUplink,
}

/// `[[server.reservation]]`: a fixed binding for one client. At least one of
/// `duid` and `hw_address`, and at least one of `address` and `prefix`, is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReservationConfig {
    /// The client's DUID (RFC 8415 §11), 2..=130 bytes including the type.
    pub duid: Option<Vec<u8>>,
    /// The client's link-layer address (RFC 6939 option, or the source of a
    /// direct client's packet), without the hardware type.
    pub hw_address: Option<Vec<u8>>,
    pub address: Option<Ipv6Addr>,
    pub prefix: Option<Prefix>,
}

/// `[relay]`: the DHCPv6 relay agent (RFC 8415 §19): client messages heard
/// on the downstream interfaces go up to the servers in Relay-forward, and
/// Relay-replies come back down; delegated prefixes seen in the replies get
/// a route (RFC 8987 §4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelaySettings {
    /// The server-facing interface. Never a downstream interface; may be the
    /// `[uplink]` interface (a CPE relaying its LAN's requests to the ISP).
    pub upstream: InterfaceName,
    /// Unicast addresses of the servers, no duplicates; a link-local one is
    /// reached on `upstream`. Empty = All_DHCP_Servers (ff05::1:3) on
    /// `upstream`, which is also what writing `servers = ["ff05::1:3"]` gives.
    pub servers: Vec<Ipv6Addr>,
    /// Install a route toward every prefix delegated through the relay, via
    /// the requesting router (RFC 8987 §4).
    pub routes: bool,
    /// Metric of those routes.
    pub route_metric: u32,
    /// RFC 8415 §7.6 HOP_COUNT_LIMIT: a Relay-forward arriving with this
    /// hop-count or more is dropped. 1..=32.
    pub hop_count_limit: u8,
    /// Client-facing interfaces in file order, at least one; interface names,
    /// link-addresses and Interface-IDs are unique among them.
    pub downstream: Vec<RelayDownstream>,
    /// `hook`: a program run on this role's events (docs/config.md
    /// "Hooks"), in order, one at a time.
    pub hook: Option<PathBuf>,
}

impl RelaySettings {
    /// RFC 8415 §7.6: HOP_COUNT_LIMIT.
    pub const DEFAULT_HOP_COUNT_LIMIT: u8 = 8;
    /// Metric of snooped routes when `route-metric` is not set.
    pub const DEFAULT_ROUTE_METRIC: u32 = 1024;
}

/// `[[relay.downstream]]`: one client-facing interface of the relay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayDownstream {
    pub interface: InterfaceName,
    /// Link-address of the Relay-forward messages from this interface: a
    /// global (GUA or ULA) unicast address, never link-local or multicast.
    /// `None` = a global address of the interface at run time, else `::`
    /// with an Interface-ID (RFC 8415 §19.1.1).
    pub link_address: Option<Ipv6Addr>,
    /// Interface-ID option content (RFC 8415 §21.18), 1..=255 bytes;
    /// `None` = the interface name's bytes.
    pub interface_id: Option<Vec<u8>>,
    /// Send the Interface-ID even when the link-address identifies the
    /// interface (default `true`: replies are matched by it).
    pub always_interface_id: bool,
    /// Relay Agent Remote-ID option (RFC 4649): enterprise number and
    /// 1..=255 bytes of remote-id.
    pub remote_id: Option<(u32, Vec<u8>)>,
    /// Relay Agent Subscriber-ID option (RFC 4580), 1..=255 bytes.
    pub subscriber_id: Option<Vec<u8>>,
}

impl RelayDownstream {
    /// The Interface-ID this downstream sends and matches replies by.
    pub fn effective_interface_id(&self) -> &[u8] {
        self.interface_id
            .as_deref()
            .unwrap_or(self.interface.as_str().as_bytes())
    }
}

impl Config {
    /// Reads and validates `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let bytes = std::fs::read(path).map_err(|e| ConfigError {
            path: path.to_owned(),
            line: None,
            reason: format!("cannot read: {e}"),
        })?;
        let text = String::from_utf8(bytes).map_err(|e| {
            // TOML is UTF-8 (toml.io §Spec): say where it stops being so.
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
            let column =
                valid.len() - valid.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1) + 1;
            let byte = e.as_bytes().get(valid.len()).copied().unwrap_or(0);
            ConfigError {
                path: path.to_owned(),
                line: Some(line),
                reason: format!(
                    "not UTF-8 text: byte 0x{byte:02x} at column {column} (save the file as UTF-8)"
                ),
            }
        })?;
        Config::parse(&text, path)
    }

    /// Validates `text`; `path` is used only in errors and kept in [`Config::path`].
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        validate::parse(text, path)
    }

    /// Whether a configured role forwards hosts' packets (a requesting
    /// router for its LANs, a relay, a home agent): IPv6 forwarding must
    /// be on.
    pub fn forwards(&self) -> bool {
        self.uplink.is_some() || self.relay.is_some() || self.home_agent.is_some()
    }

    /// Every interface the configuration names, with the table naming it,
    /// in file order of the roles (an interface may appear more than once).
    pub fn interfaces(&self) -> Vec<(&'static str, &str)> {
        let mut out = Vec::new();
        if let Some(u) = &self.uplink {
            out.push(("[uplink]", u.interface.as_str()));
        }
        out.extend(self.lans.iter().map(|l| ("[[lan]]", l.interface.as_str())));
        if let Some(s) = &self.server {
            out.extend(s.interfaces.iter().map(|i| ("[server]", i.as_str())));
        }
        if let Some(r) = &self.relay {
            out.push(("[relay]", r.upstream.as_str()));
            out.extend(
                r.downstream
                    .iter()
                    .map(|d| ("[[relay.downstream]]", d.interface.as_str())),
            );
        }
        out.extend(
            self.static_ras
                .iter()
                .map(|r| ("[[ra]]", r.interface.as_str())),
        );
        if let Some(h) = &self.home_agent {
            out.push(("[home-agent]", h.interface.as_str()));
        }
        if let Some(m) = &self.mobile_node {
            out.extend(m.interfaces.iter().map(|i| ("[mobile-node]", i.as_str())));
        }
        if let Some(r) = &self.ripng {
            out.extend(r.interfaces.iter().map(|i| ("[ripng]", i.name.as_str())));
        }
        out
    }

    /// The LAN configured on `interface`, if any.
    pub fn lan(&self, interface: &str) -> Option<&LanConfig> {
        self.lans.iter().find(|l| l.interface.as_str() == interface)
    }
}

#[cfg(test)]
mod tests;
