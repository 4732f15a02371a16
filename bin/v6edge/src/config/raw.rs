//! The TOML schema as serde sees it: every key optional where a default
//! exists, every value that a later semantic check may reject wrapped in
//! [`Spanned`] so the error can name its line.
//!
//! Integers are read as `i64` (TOML's integer type) and range-checked in
//! `validate.rs`, which gives "must be between 48 and 64" instead of serde's
//! "expected u8". Nothing here is used outside the config module: the rest of
//! the daemon sees only the validated types of `config/mod.rs`.
//!
//! New top-level tables are added to [`RawConfig`] as further optional
//! fields; `deny_unknown_fields` rejects them until then.

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawConfig {
    #[serde(default)]
    pub daemon: Option<RawDaemon>,
    #[serde(default)]
    pub uplink: Option<Spanned<RawUplink>>,
    #[serde(default)]
    pub lan: Vec<Spanned<RawLan>>,
    #[serde(default)]
    pub server: Option<Spanned<RawServer>>,
    #[serde(default)]
    pub relay: Option<Spanned<RawRelay>>,
    /// `[[ra]]`: static Router Advertisements (see `ra.rs`).
    #[serde(default)]
    pub ra: Vec<Spanned<RawStaticRa>>,
    #[serde(default)]
    pub limits: Option<RawLimits>,
    /// `[home-agent]`: Mobile IPv6 home agent (see `mobility.rs`).
    #[serde(default)]
    pub home_agent: Option<Spanned<RawHomeAgent>>,
    /// `[mobile-node]`: Mobile IPv6 mobile node (see `mobility.rs`).
    #[serde(default)]
    pub mobile_node: Option<Spanned<RawMobileNode>>,
    /// `[ripng]`: RIPng (see `ripng.rs`).
    #[serde(default)]
    pub ripng: Option<Spanned<RawRipng>>,
}

/// `[ripng]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawRipng {
    #[serde(default)]
    pub interfaces: Vec<Spanned<String>>,
    #[serde(default)]
    pub redistribute: Vec<Spanned<String>>,
    pub metric: Option<Spanned<i64>>,
    pub tag: Option<Spanned<i64>>,
    pub update_interval: Option<Spanned<i64>>,
    pub timeout: Option<Spanned<i64>>,
    pub garbage_collection: Option<Spanned<i64>>,
    pub max_routes: Option<Spanned<i64>>,
    pub route_metric: Option<Spanned<i64>>,
    #[serde(default)]
    pub aggregates: Vec<Spanned<String>>,
    #[serde(default)]
    pub interface: Vec<Spanned<RawRipngInterface>>,
}

/// `[[ripng.interface]]`: settings of one RIPng interface.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawRipngInterface {
    pub name: Spanned<String>,
    pub cost: Option<Spanned<i64>>,
    pub passive: Option<bool>,
    pub split_horizon: Option<Spanned<String>>,
    #[serde(default)]
    pub accept: Vec<Spanned<String>>,
    #[serde(default)]
    pub advertise: Vec<Spanned<String>>,
    pub default_only: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawHomeAgent {
    pub interface: Spanned<String>,
    pub address: Spanned<String>,
    #[serde(default)]
    pub prefixes: Vec<Spanned<String>>,
    pub max_binding_lifetime: Option<Spanned<i64>>,
    pub preference: Option<Spanned<i64>>,
    pub security: Option<Spanned<RawSecurity>>,
    pub insecure_lab: Option<bool>,
    pub persist_bindings: Option<bool>,
    pub mobile_prefix_advertisements: Option<bool>,
    pub hook: Option<Spanned<String>>,
    pub default_action: Option<Spanned<String>>,
    #[serde(default)]
    pub acl: Vec<Spanned<RawHomeAgentAcl>>,
    #[serde(default)]
    pub mobile_node: Vec<Spanned<RawHomeAgentMobileNode>>,
    /// DSMIPv6 (RFC 5555): the IPv4 address of UDP port 4191.
    pub ipv4_address: Option<Spanned<String>>,
    pub nat_refresh: Option<Spanned<i64>>,
    pub ipv4_home_pool: Option<Spanned<String>>,
    pub ipv4_home_interface: Option<Spanned<String>>,
}

/// `[[home-agent.acl]]`: who may register (UMIP's BindingAclPolicy).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawHomeAgentAcl {
    pub home_addresses: Spanned<String>,
    pub action: Spanned<String>,
}

/// `[[home-agent.mobile-node]]`: one MN-HA security association.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawHomeAgentMobileNode {
    pub home_address: Spanned<String>,
    pub spi: Spanned<i64>,
    pub key_file: Spanned<String>,
    pub replay_window: Option<Spanned<i64>>,
    /// NEMO (RFC 3963): this home address may register as a mobile
    /// router for these prefixes (or inside them).
    #[serde(default)]
    pub mobile_network_prefixes: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawMobileNode {
    #[serde(default)]
    pub interfaces: Vec<Spanned<String>>,
    pub home_address: Spanned<String>,
    pub home_prefix_length: Option<Spanned<i64>>,
    pub home_agent: Option<Spanned<String>>,
    pub binding_lifetime: Option<Spanned<i64>>,
    pub security: Option<Spanned<RawSecurity>>,
    pub insecure_lab: Option<bool>,
    pub spi: Option<Spanned<i64>>,
    pub key_file: Option<Spanned<String>>,
    pub replay_window: Option<Spanned<i64>>,
    pub hook: Option<Spanned<String>>,
    /// NEMO (RFC 3963): a mobile router for these mobile networks.
    #[serde(default)]
    pub mobile_network_prefixes: Vec<Spanned<String>>,
    /// `explicit` (the default: the prefixes travel in the Binding
    /// Update) or `implicit` (the home agent knows them).
    pub mobile_network_mode: Option<Spanned<String>>,
    /// DSMIPv6 (RFC 5555): the home agent's IPv4 address.
    pub home_agent_ipv4: Option<Spanned<String>>,
    pub request_ipv4_home_address: Option<Spanned<bool>>,
    pub force_udp: Option<Spanned<bool>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(super) enum RawSecurity {
    /// RFC 4285 MN-HA authentication with timestamp replay protection.
    Rfc4285,
    None,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawLimits {
    pub dhcp6_per_source: Option<Spanned<i64>>,
    pub dhcp6_per_link: Option<Spanned<i64>>,
    pub dhcp6_per_link_confirmed: Option<Spanned<i64>>,
    pub rs_per_source: Option<Spanned<i64>>,
    pub rs_per_link: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawDaemon {
    pub state_dir: Option<Spanned<String>>,
    pub control_socket: Option<Spanned<String>>,
    pub log_level: Option<Spanned<String>>,
    pub netlink_receive_buffer: Option<Spanned<i64>>,
    pub control_group: Option<Spanned<String>>,
    pub log_format: Option<Spanned<String>>,
    pub metrics_listen: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawUplink {
    pub interface: Spanned<String>,
    pub request_prefix: Option<Spanned<bool>>,
    pub prefix_hint: Option<Spanned<i64>>,
    pub ia_pd: Option<Spanned<Vec<Spanned<RawIaPd>>>>,
    pub request_address: Option<bool>,
    pub rapid_commit: Option<bool>,
    pub reconfigure_accept: Option<bool>,
    pub release_on_stop: Option<bool>,
    pub accept_ra_default_route: Option<bool>,
    pub request_options: Option<Vec<Spanned<RawRequestOption>>>,
    pub hook: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawIaPd {
    pub prefix_hint: Option<Spanned<i64>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(super) enum RawRequestOption {
    Dns,
    Domains,
    Ntp,
    Sntp,
    SolMaxRt,
    InfMaxRt,
    InfoRefreshTime,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawLan {
    pub interface: Spanned<String>,
    pub subnet_id: Option<Spanned<i64>>,
    pub advertise: Option<bool>,
    #[serde(default)]
    pub ra: Option<Spanned<RawRa>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawRa {
    pub min_interval: Option<Spanned<i64>>,
    pub max_interval: Option<Spanned<i64>>,
    pub mtu: Option<Spanned<i64>>,
    pub managed: Option<bool>,
    pub other_config: Option<bool>,
    pub router_lifetime: Option<Spanned<i64>>,
    pub dns_servers: Option<Vec<Spanned<String>>>,
    pub dns_domains: Option<Vec<Spanned<String>>>,
    pub rdnss_lifetime: Option<Spanned<i64>>,
    pub preference: Option<RawPreference>,
    pub route_info: Option<bool>,
    pub pio_preferred_limit: Option<Spanned<i64>>,
    pub pio_valid_limit: Option<Spanned<i64>>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum RawPreference {
    Low,
    Medium,
    High,
}

/// `[server]`: the DHCPv6 delegating server (RFC 8415 §18.3).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawServer {
    pub interfaces: Option<Vec<Spanned<String>>>,
    pub preference: Option<Spanned<i64>>,
    pub rapid_commit: Option<bool>,
    pub dns_servers: Option<Vec<Spanned<String>>>,
    pub domains: Option<Vec<Spanned<String>>>,
    pub ntp_servers: Option<Vec<Spanned<String>>>,
    pub information_refresh_time: Option<Spanned<i64>>,
    pub sol_max_rt: Option<Spanned<i64>>,
    pub inf_max_rt: Option<Spanned<i64>>,
    /// A string rather than an enum so that `"postgres"` in a build
    /// without it, and misspellings, get messages of their own.
    pub lease_store: Option<Spanned<String>>,
    pub lease_file: Option<Spanned<String>>,
    /// PostgreSQL connection string (with `lease-store = "postgres"`).
    pub postgres: Option<Spanned<String>>,
    pub hook: Option<Spanned<String>>,
    pub routes: Option<Spanned<bool>>,
    pub route_metric: Option<Spanned<i64>>,
    pub max_leases_per_link: Option<Spanned<i64>>,
    pub max_leases_per_hw_address: Option<Spanned<i64>>,
    #[serde(default)]
    pub link: Vec<Spanned<RawServerLink>>,
    #[serde(default)]
    pub reservation: Vec<Spanned<RawReservation>>,
}

/// `[[server.link]]`: one client link and its pools.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawServerLink {
    pub interface: Option<Spanned<String>>,
    pub relay_link: Option<Spanned<String>>,
    #[serde(default)]
    pub address_pool: Vec<Spanned<RawAddressPool>>,
    #[serde(default)]
    pub prefix_pool: Vec<Spanned<RawPrefixPool>>,
}

/// `[[server.link.address-pool]]`: addresses for IA_NA.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawAddressPool {
    pub range: Option<Spanned<String>>,
    pub prefix: Option<Spanned<String>>,
    pub preferred_lifetime: Option<Spanned<i64>>,
    pub valid_lifetime: Option<Spanned<i64>>,
}

/// `[[server.link.prefix-pool]]`: prefixes for IA_PD. Exactly one of
/// `prefix` and `from-uplink = true` is checked in `server.rs`, where the
/// error can say which; `delegated-length` is required only with `prefix`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawPrefixPool {
    pub prefix: Option<Spanned<String>>,
    pub from_uplink: Option<Spanned<bool>>,
    pub delegated_length: Option<Spanned<i64>>,
    pub preferred_lifetime: Option<Spanned<i64>>,
    pub valid_lifetime: Option<Spanned<i64>>,
}

/// `[[server.reservation]]`: a fixed address and/or prefix for one client.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawReservation {
    pub duid: Option<Spanned<String>>,
    pub hw_address: Option<Spanned<String>>,
    pub address: Option<Spanned<String>>,
    pub prefix: Option<Spanned<String>>,
}

/// `[relay]`: the DHCPv6 relay agent (RFC 8415 §19).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawRelay {
    pub upstream: Spanned<String>,
    pub servers: Option<Vec<Spanned<String>>>,
    pub routes: Option<Spanned<bool>>,
    pub route_metric: Option<Spanned<i64>>,
    pub hop_count_limit: Option<Spanned<i64>>,
    pub hook: Option<Spanned<String>>,
    #[serde(default)]
    pub downstream: Vec<Spanned<RawRelayDownstream>>,
}

/// `[[relay.downstream]]`: one client-facing interface.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawRelayDownstream {
    pub interface: Spanned<String>,
    pub link_address: Option<Spanned<String>>,
    /// Text, or `hex:` followed by hex octets.
    pub interface_id: Option<Spanned<String>>,
    pub always_interface_id: Option<bool>,
    pub remote_id: Option<Spanned<RawRemoteId>>,
    /// Text, or `hex:` followed by hex octets.
    pub subscriber_id: Option<Spanned<String>>,
}

/// `remote-id = { enterprise = N, id = "..." }` (RFC 4649 §3).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawRemoteId {
    pub enterprise: Spanned<i64>,
    /// Text, or `hex:` followed by hex octets.
    pub id: Spanned<String>,
}

/// `[[ra]]`: Router Advertisements of configured prefixes on one interface
/// (what radvd does), with the knobs of `[lan.ra]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawStaticRa {
    pub interface: Spanned<String>,
    #[serde(default)]
    pub prefixes: Vec<Spanned<RawStaticPrefix>>,
    pub min_interval: Option<Spanned<i64>>,
    pub max_interval: Option<Spanned<i64>>,
    pub mtu: Option<Spanned<i64>>,
    pub managed: Option<bool>,
    pub other_config: Option<bool>,
    pub router_lifetime: Option<Spanned<i64>>,
    pub dns_servers: Option<Vec<Spanned<String>>>,
    pub dns_domains: Option<Vec<Spanned<String>>>,
    pub rdnss_lifetime: Option<Spanned<i64>>,
    pub preference: Option<RawPreference>,
}

/// One prefix of `[[ra]]`: `"2001:db8:77::/64"`, or a table with flags and
/// lifetimes.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum RawStaticPrefix {
    Text(String),
    Table(RawStaticPrefixTable),
}

/// No `Spanned` inside: an untagged enum buffers its input, which loses
/// spans; errors name the line of the whole item instead.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawStaticPrefixTable {
    pub prefix: String,
    pub on_link: Option<bool>,
    pub autonomous: Option<bool>,
    pub valid_lifetime: Option<i64>,
    pub preferred_lifetime: Option<i64>,
}
