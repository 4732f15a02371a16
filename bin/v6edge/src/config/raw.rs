//! The TOML schema as serde sees it: every key optional where a default
//! exists, every value that a later semantic check may reject wrapped in
//! [`Spanned`] so the error can name its line.
//!
//! Integers are read as `i64` (TOML's integer type) and range-checked in
//! `validate.rs`, which gives "must be between 48 and 64" instead of serde's
//! "expected u8". Nothing here is used outside the config module: the rest of
//! the daemon sees only the validated types of `config/mod.rs`.
//!
//! New top-level tables (`[server]`, `[relay]`) are added to [`RawConfig`] as
//! further optional fields; `deny_unknown_fields` rejects them until then.

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
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawDaemon {
    pub state_dir: Option<Spanned<String>>,
    pub control_socket: Option<Spanned<String>>,
    pub log_level: Option<Spanned<String>>,
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
