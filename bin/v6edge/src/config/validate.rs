//! Raw schema → validated [`Config`], with the line of every rejected value.
//!
//! Checks are done in file order, and the first error found is reported.

use std::collections::HashSet;
use std::net::Ipv6Addr;
use std::ops::{Range, RangeInclusive};
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;

use super::raw::{
    RawConfig, RawDaemon, RawIaPd, RawLan, RawPreference, RawRa, RawRequestOption, RawUplink,
};
use super::{
    Config, ConfigError, DEFAULT_CONTROL_SOCKET, DEFAULT_LOG_LEVEL, DEFAULT_STATE_DIR,
    DaemonConfig, IaPdRequest, InterfaceName, LanConfig, RaSettings, RequestOption,
    RouterPreference, StaticRaConfig, UplinkConfig,
};

/// RFC 4861 §6.2.1: MaxRtrAdvInterval default.
pub(super) const DEFAULT_MAX_INTERVAL: u64 = 600;
/// RFC 4861 §6.2.1: MaxRtrAdvInterval MUST be 4..=1800 s.
const MAX_INTERVAL_RANGE: RangeInclusive<i64> = 4..=1800;
/// RFC 4861 §6.2.1: MinRtrAdvInterval MUST be at least 3 s.
const MIN_INTERVAL_FLOOR: i64 = 3;
/// RFC 4861 §6.2.1: AdvDefaultLifetime default is 3 * MaxRtrAdvInterval; we
/// use the 1800 s that 3 * the 600 s default gives, and keep it fixed when the
/// interval changes so that shortening RAs does not shorten the lifetime.
pub(super) const DEFAULT_ROUTER_LIFETIME: u64 = 1800;
/// RFC 4861 §6.2.1: AdvDefaultLifetime is 0 or MaxRtrAdvInterval..=9000 s.
const ROUTER_LIFETIME_MAX: i64 = 9000;
/// RFC 9096 L-16.
pub(super) const ND_PREFERRED_LIMIT: u64 = 2700;
/// RFC 9096 L-16.
pub(super) const ND_VALID_LIMIT: u64 = 5400;
/// The hint of the example configuration: a /56 leaves 256 /64s.
const DEFAULT_PREFIX_HINT: i64 = 56;
/// RFC 7084 WPD-2 suggests asking for at least one /64 per LAN rounded up to
/// a nibble; we accept hints from /48 to /64.
const PREFIX_HINT_RANGE: RangeInclusive<i64> = 48..=64;
/// A 32-bit lifetime field; 0xffffffff would mean infinity, which these
/// settings never mean.
pub(super) const LIFETIME_MAX: i64 = 0xffff_fffe;
/// `sockaddr_un.sun_path` holds 108 bytes including the NUL.
const SOCKET_PATH_MAX: usize = 107;
/// The rtnetlink notification buffer: from what a quiet router needs to
/// 1 GiB (the kernel caps what it grants anyway).
const NETLINK_BUFFER_RANGE: RangeInclusive<i64> = 4096..=(1 << 30);
/// 4 MiB holds the burst of a link going down with thousands of routes.
pub const DEFAULT_NETLINK_RECEIVE_BUFFER: usize = 4 << 20;

/// The error of a file that configures no role.
const NOTHING_TO_RUN: &str = "nothing to run: configure [uplink] (requesting router), [server] (delegating server), [relay] (relay agent) or [[ra]] (Router Advertisements of configured prefixes)";

const DEFAULT_REQUEST_OPTIONS: [RequestOption; 4] = [
    RequestOption::Dns,
    RequestOption::Domains,
    RequestOption::SolMaxRt,
    RequestOption::InfoRefreshTime,
];

/// MinRtrAdvInterval when the file does not set it.
pub(super) fn default_min_interval(max: Duration) -> Duration {
    // RFC 4861 §6.2.1: 0.33 * MaxRtrAdvInterval when that is at least 9 s.
    // Deviation: below 9 s the RFC's default (= MaxRtrAdvInterval) breaks its
    // own 0.75 * MaxRtrAdvInterval bound, so we use the 3 s floor instead.
    if max >= Duration::from_secs(9) {
        max * 33 / 100
    } else {
        Duration::from_secs(MIN_INTERVAL_FLOOR as u64)
    }
}

pub(super) struct Ctx<'a> {
    text: &'a str,
    path: &'a Path,
}

impl Ctx<'_> {
    pub(super) fn line_of(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text.as_bytes()[..end]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1
    }

    pub(super) fn err(&self, span: Range<usize>, reason: impl Into<String>) -> ConfigError {
        ConfigError {
            path: self.path.to_owned(),
            line: Some(self.line_of(span.start)),
            reason: reason.into(),
        }
    }

    pub(super) fn int_in(
        &self,
        value: &Spanned<i64>,
        key: &str,
        range: RangeInclusive<i64>,
    ) -> Result<i64, ConfigError> {
        let v = *value.get_ref();
        if range.contains(&v) {
            Ok(v)
        } else {
            Err(self.err(
                value.span(),
                format!(
                    "{key} = {v}: must be between {} and {}",
                    range.start(),
                    range.end()
                ),
            ))
        }
    }

    pub(super) fn interface(
        &self,
        value: &Spanned<String>,
        key: &str,
    ) -> Result<InterfaceName, ConfigError> {
        InterfaceName::new(value.get_ref())
            .map_err(|reason| self.err(value.span(), format!("{key}: {reason}")))
    }

    /// A file named relative to the configuration file's directory (or
    /// absolute).
    pub(super) fn relative_path(
        &self,
        value: &Spanned<String>,
        key: &str,
    ) -> Result<PathBuf, ConfigError> {
        let s = value.get_ref();
        if s.is_empty() {
            return Err(self.err(value.span(), format!("{key} is empty")));
        }
        Ok(super::mobility::resolve(self.path, s))
    }

    pub(super) fn absolute_path(
        &self,
        value: &Spanned<String>,
        key: &str,
    ) -> Result<PathBuf, ConfigError> {
        let s = value.get_ref();
        if s.is_empty() {
            return Err(self.err(value.span(), format!("{key} is empty")));
        }
        let path = PathBuf::from(s);
        if !path.is_absolute() {
            return Err(self.err(
                value.span(),
                format!("{key} `{s}` must be an absolute path"),
            ));
        }
        Ok(path)
    }
}

/// The TOML reader's messages say what Rust type a key had
/// (`invalid type: integer `1` as i128, expected i64`); a network engineer
/// reads "a whole number". Only the vocabulary changes.
fn plain_words(message: &str) -> String {
    let mut m = message.to_owned();
    // Rust integer types, widest first so `i128` is not read as `i12`.
    for (rust, plain) in [
        (" as i128", ""),
        (" as u128", ""),
        ("expected i64", "expected a whole number"),
        ("expected i32", "expected a whole number"),
        ("expected u64", "expected a whole number (0 or more)"),
        ("expected u32", "expected a whole number (0 or more)"),
        ("expected u16", "expected a whole number (0 or more)"),
        ("expected u8", "expected a whole number (0 or more)"),
        ("expected f64", "expected a number"),
        ("expected a sequence", "expected a list [...]"),
        ("invalid type: sequence", "invalid type: a list"),
        ("invalid type: map", "invalid type: a table"),
        ("expected a map", "expected a table"),
        (
            "invalid type: floating point",
            "invalid type: a decimal number",
        ),
        ("invalid type: integer", "invalid type: the number"),
        ("invalid type: string", "invalid type: the text"),
        ("invalid type: boolean", "invalid type: the boolean"),
        ("invalid type:", "wrong kind of value:"),
    ] {
        m = m.replace(rust, plain);
    }
    // serde names the struct when a table was expected.
    if let Some(at) = m.find("expected struct ") {
        m.truncate(at);
        m.push_str("expected a table");
    }
    m
}

pub(super) fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
    let ctx = Ctx { text, path };
    let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError {
        path: path.to_owned(),
        line: Some(e.span().map_or(1, |s| ctx.line_of(s.start))),
        reason: plain_words(e.message().trim_end()),
    })?;
    let daemon = daemon(&ctx, raw.daemon)?;
    let limits = super::limits::limits(&ctx, raw.limits)?;
    let uplink = match raw.uplink {
        Some(u) => Some(uplink(&ctx, u.into_inner())?),
        None => None,
    };
    // Both roles listen on UDP port 547 for the same clients' messages.
    if let (Some(s), Some(r)) = (&raw.server, &raw.relay) {
        let (later, earlier, earlier_name) = if r.span().start > s.span().start {
            (r.span(), s.span(), "[server]")
        } else {
            (s.span(), r.span(), "[relay]")
        };
        return Err(ctx.err(
            later,
            format!(
                "[relay] and [server] cannot be combined ({earlier_name} at line {}): a node is either the server or a relay for a link: both need UDP 547",
                ctx.line_of(earlier.start)
            ),
        ));
    }
    let server = match raw.server {
        Some(s) => Some(super::server::server(
            &ctx,
            s,
            uplink.as_ref().map(|u| &u.interface),
        )?),
        None => None,
    };
    let relay = match &raw.relay {
        Some(r) => Some(super::relay::relay(
            &ctx,
            r,
            uplink.as_ref().map(|u| &u.interface),
        )?),
        None => None,
    };
    let home_agent = match &raw.home_agent {
        Some(h) => Some(super::mobility::home_agent(
            &ctx,
            h,
            uplink.as_ref().map(|u| &u.interface),
        )?),
        None => None,
    };
    let mobile_node = match &raw.mobile_node {
        Some(m) => Some(super::mobility::mobile_node(
            &ctx,
            m,
            uplink.as_ref().map(|u| &u.interface),
        )?),
        None => None,
    };
    // RFC 6276: an [uplink] on a mobile node's interface asks the home
    // network for the mobile networks.
    let mut uplink = uplink;
    if let (Some(u), Some(m)) = (uplink.as_mut(), mobile_node.as_ref()) {
        u.via_home_agent = m.interfaces.contains(&u.interface);
    }
    let ripng = match &raw.ripng {
        Some(r) => Some(super::ripng::ripng(&ctx, r)?),
        None => None,
    };
    // Every role is optional, but a configuration must have one.
    if uplink.is_none()
        && ripng.is_none()
        && server.is_none()
        && relay.is_none()
        && raw.ra.is_empty()
        && home_agent.is_none()
        && mobile_node.is_none()
    {
        // A [[lan]] alone gets the more precise message below.
        if raw.lan.is_empty() {
            return Err(ConfigError {
                path: path.to_owned(),
                line: Some(1),
                reason: NOTHING_TO_RUN.to_owned(),
            });
        }
    }
    let mut lans: Vec<LanConfig> = Vec::with_capacity(raw.lan.len());
    let mut subnet_ids: HashSet<u32> = HashSet::new();
    // Each LAN's interface line, for the [[ra]] that names it too.
    let mut lan_lines: Vec<usize> = Vec::with_capacity(raw.lan.len());
    for raw_lan in raw.lan {
        let raw_lan = raw_lan.into_inner();
        let if_span = raw_lan.interface.span();
        lan_lines.push(ctx.line_of(if_span.start));
        let subnet_span = raw_lan.subnet_id.as_ref().map(|s| s.span());
        let lan = lan(&ctx, raw_lan)?;
        // A LAN's /64 is carved out of the uplink's delegation; a LAN that
        // is served by this router's own [server] still needs an uplink.
        let Some(uplink_cfg) = uplink.as_ref() else {
            return Err(ctx.err(
                if_span,
                format!(
                    "[[lan]] `{}` needs an [uplink]: LAN prefixes come from the uplink's delegation",
                    lan.interface
                ),
            ));
        };
        if lan.interface == uplink_cfg.interface {
            return Err(ctx.err(
                if_span,
                format!(
                    "LAN interface `{}` is also the uplink interface",
                    lan.interface
                ),
            ));
        }
        if lans.iter().any(|l| l.interface == lan.interface) {
            return Err(ctx.err(
                if_span,
                format!("LAN interface `{}` is configured twice", lan.interface),
            ));
        }
        if let (Some(id), Some(span)) = (lan.subnet_id, subnet_span)
            && !subnet_ids.insert(id)
        {
            return Err(ctx.err(span, format!("subnet-id {id} is used by two LANs")));
        }
        lans.push(lan);
    }
    let mut static_ras: Vec<StaticRaConfig> = Vec::with_capacity(raw.ra.len());
    let mut ra_lines: Vec<usize> = Vec::with_capacity(raw.ra.len());
    for raw_ra in raw.ra {
        let raw_ra = raw_ra.into_inner();
        let if_span = raw_ra.interface.span();
        let knob = super::ra::advertiser_knob(&raw_ra);
        let mut ra = super::ra::static_ra(&ctx, raw_ra)?;
        let name = &ra.interface;
        if uplink.as_ref().is_some_and(|u| u.interface == *name) {
            return Err(ctx.err(
                if_span,
                format!("[[ra]] interface `{name}` is the uplink interface: RAs go to hosts, not to the ISP"),
            ));
        }
        // On a LAN, the LAN's advertiser sends the [[ra]]'s prefixes and DNS
        // options with its own (one RA per link); how it advertises is the
        // LAN's [lan.ra].
        if let Some((lan, line)) = lans
            .iter()
            .zip(&lan_lines)
            .find(|(l, _)| l.interface == *name)
        {
            if let Some((key, span)) = knob {
                return Err(ctx.err(
                    span.unwrap_or(if_span),
                    format!(
                        "[[ra]] on `{name}` adds prefixes and DNS options to the RAs of the [[lan]] at line {line}; `{key}` is how that LAN advertises: set it in its [lan.ra]"
                    ),
                ));
            }
            if !lan.advertise {
                return Err(ctx.err(
                    if_span,
                    format!(
                        "[[ra]] on `{name}` adds to the RAs of the [[lan]] at line {line}, which does not advertise (advertise = false)"
                    ),
                ));
            }
            ra.on_lan = true;
        }
        if let Some((_, line)) = static_ras
            .iter()
            .zip(&ra_lines)
            .find(|(r, _)| r.interface == *name)
        {
            return Err(ctx.err(
                if_span,
                format!("[[ra]] interface `{name}` is configured twice (line {line})"),
            ));
        }
        ra_lines.push(ctx.line_of(if_span.start));
        static_ras.push(ra);
    }
    Ok(Config {
        path: path.to_owned(),
        daemon,
        uplink,
        lans,
        server,
        relay,
        static_ras,
        limits,
        home_agent,
        mobile_node,
        ripng,
    })
}

fn daemon(ctx: &Ctx<'_>, raw: Option<RawDaemon>) -> Result<DaemonConfig, ConfigError> {
    let raw = raw.unwrap_or(RawDaemon {
        state_dir: None,
        control_socket: None,
        log_level: None,
        netlink_receive_buffer: None,
        control_group: None,
        log_format: None,
        metrics_listen: None,
    });
    let state_dir = match &raw.state_dir {
        Some(v) => ctx.absolute_path(v, "state-dir")?,
        None => PathBuf::from(DEFAULT_STATE_DIR),
    };
    let control_socket = match &raw.control_socket {
        Some(v) => {
            let p = ctx.absolute_path(v, "control-socket")?;
            if v.get_ref().len() > SOCKET_PATH_MAX {
                return Err(ctx.err(
                    v.span(),
                    format!("control-socket path is longer than {SOCKET_PATH_MAX} bytes (sun_path limit)"),
                ));
            }
            p
        }
        None => PathBuf::from(DEFAULT_CONTROL_SOCKET),
    };
    let log_level = match &raw.log_level {
        Some(v) => {
            crate::logging::parse_filter(v.get_ref())
                .map_err(|e| ctx.err(v.span(), format!("log-level `{}`: {e}", v.get_ref())))?;
            v.get_ref().clone()
        }
        None => DEFAULT_LOG_LEVEL.to_owned(),
    };
    let netlink_receive_buffer = match &raw.netlink_receive_buffer {
        // The range keeps it inside usize on every platform we build for.
        Some(v) => ctx.int_in(v, "netlink-receive-buffer", NETLINK_BUFFER_RANGE)? as usize,
        None => DEFAULT_NETLINK_RECEIVE_BUFFER,
    };
    let control_group = match &raw.control_group {
        // POSIX portable user and group names (useradd's rule).
        Some(v) => {
            let name = v.get_ref();
            let valid = !name.is_empty()
                && name.len() <= 32
                && !name.starts_with('-')
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
            if !valid {
                return Err(ctx.err(
                    v.span(),
                    format!("control-group `{name}` is not a group name (letters, digits, _ - . and at most 32)"),
                ));
            }
            Some(name.clone())
        }
        None => None,
    };
    let metrics_listen = match &raw.metrics_listen {
        Some(v) => Some(v.get_ref().parse::<std::net::SocketAddr>().map_err(|_| {
            ctx.err(
                v.span(),
                format!(
                    "metrics-listen `{}` is not an address and port (e.g. \"[::1]:9187\" or \"127.0.0.1:9187\")",
                    v.get_ref()
                ),
            )
        })?),
        None => None,
    };
    let log_format = match &raw.log_format {
        Some(v) => {
            match v.get_ref().as_str() {
                "auto" => super::LogFormat::Auto,
                "text" => super::LogFormat::Text,
                "journal" => super::LogFormat::Journal,
                "json" => super::LogFormat::Json,
                other => {
                    return Err(ctx.err(
                    v.span(),
                    format!("log-format `{other}`: expected \"auto\", \"text\", \"journal\" or \"json\""),
                ));
                }
            }
        }
        None => super::LogFormat::Auto,
    };
    Ok(DaemonConfig {
        state_dir,
        control_socket,
        log_level,
        netlink_receive_buffer,
        log_format,
        control_group,
        metrics_listen,
    })
}

fn prefix_hint(ctx: &Ctx<'_>, value: Option<&Spanned<i64>>) -> Result<u8, ConfigError> {
    match value {
        // The range check guarantees the value fits a u8.
        Some(v) => Ok(ctx.int_in(v, "prefix-hint", PREFIX_HINT_RANGE)? as u8),
        None => Ok(DEFAULT_PREFIX_HINT as u8),
    }
}

fn uplink(ctx: &Ctx<'_>, raw: RawUplink) -> Result<UplinkConfig, ConfigError> {
    let interface = ctx.interface(&raw.interface, "interface")?;
    let request_prefix = raw.request_prefix.as_ref().is_none_or(|v| *v.get_ref());
    let ia_pds = match (&raw.ia_pd, request_prefix) {
        (Some(list), false) => {
            return Err(ctx.err(
                list.span(),
                "[[uplink.ia-pd]] is given but request-prefix = false",
            ));
        }
        (Some(list), true) => {
            if let Some(hint) = &raw.prefix_hint {
                return Err(ctx.err(
                    hint.span(),
                    "uplink.prefix-hint cannot be combined with [[uplink.ia-pd]]: set prefix-hint in each ia-pd",
                ));
            }
            if list.get_ref().is_empty() {
                return Err(ctx.err(list.span(), "ia-pd is empty: list at least one IA_PD"));
            }
            list.get_ref()
                .iter()
                .map(|entry| {
                    let RawIaPd { prefix_hint: hint } = entry.get_ref();
                    Ok(IaPdRequest {
                        prefix_hint: prefix_hint(ctx, hint.as_ref())?,
                    })
                })
                .collect::<Result<Vec<_>, ConfigError>>()?
        }
        (None, true) => vec![IaPdRequest {
            prefix_hint: prefix_hint(ctx, raw.prefix_hint.as_ref())?,
        }],
        (None, false) => {
            if let Some(hint) = &raw.prefix_hint {
                return Err(ctx.err(
                    hint.span(),
                    "prefix-hint is given but request-prefix = false",
                ));
            }
            Vec::new()
        }
    };
    let request_options = match &raw.request_options {
        Some(list) => {
            let mut out: Vec<RequestOption> = Vec::with_capacity(list.len() + 1);
            for item in list {
                let option = request_option(*item.get_ref());
                if out.contains(&option) {
                    return Err(ctx.err(
                        item.span(),
                        format!("request-options lists `{}` twice", option.name()),
                    ));
                }
                out.push(option);
            }
            // RFC 8415 §18.2.1: a Solicit MUST request SOL_MAX_RT, so it is
            // requested whether listed or not.
            if !out.contains(&RequestOption::SolMaxRt) {
                out.push(RequestOption::SolMaxRt);
            }
            out
        }
        None => DEFAULT_REQUEST_OPTIONS.to_vec(),
    };
    Ok(UplinkConfig {
        interface,
        ia_pds,
        request_address: raw.request_address.unwrap_or(false),
        rapid_commit: raw.rapid_commit.unwrap_or(true),
        reconfigure_accept: raw.reconfigure_accept.unwrap_or(false),
        // RFC 9096 WPD-9: no automatic Release on restart by default.
        release_on_stop: raw.release_on_stop.unwrap_or(false),
        accept_ra_default_route: raw.accept_ra_default_route.unwrap_or(true),
        request_options,
        hook: match &raw.hook {
            Some(v) => Some(ctx.absolute_path(v, "hook")?),
            None => None,
        },
        via_home_agent: false,
    })
}

fn request_option(raw: RawRequestOption) -> RequestOption {
    match raw {
        RawRequestOption::Dns => RequestOption::Dns,
        RawRequestOption::Domains => RequestOption::Domains,
        RawRequestOption::Ntp => RequestOption::Ntp,
        RawRequestOption::Sntp => RequestOption::Sntp,
        RawRequestOption::SolMaxRt => RequestOption::SolMaxRt,
        RawRequestOption::InfMaxRt => RequestOption::InfMaxRt,
        RawRequestOption::InfoRefreshTime => RequestOption::InfoRefreshTime,
    }
}

fn lan(ctx: &Ctx<'_>, raw: RawLan) -> Result<LanConfig, ConfigError> {
    let interface = ctx.interface(&raw.interface, "interface")?;
    let subnet_id = match &raw.subnet_id {
        // The range check guarantees the value fits a u32.
        Some(v) => Some(ctx.int_in(v, "subnet-id", 0..=i64::from(u32::MAX))? as u32),
        None => None,
    };
    let ra = match raw.ra {
        Some(ra) => ra_settings(ctx, ra.into_inner())?,
        None => RaSettings::defaults(),
    };
    Ok(LanConfig {
        interface,
        subnet_id,
        advertise: raw.advertise.unwrap_or(true),
        ra,
    })
}

pub(super) fn secs(v: i64) -> Duration {
    // Callers pass values already range-checked to be non-negative.
    Duration::from_secs(v.unsigned_abs())
}

pub(super) fn ra_settings(ctx: &Ctx<'_>, raw: RawRa) -> Result<RaSettings, ConfigError> {
    let max_interval = match &raw.max_interval {
        Some(v) => secs(ctx.int_in(v, "max-interval", MAX_INTERVAL_RANGE)?),
        None => Duration::from_secs(DEFAULT_MAX_INTERVAL),
    };
    let max_s = max_interval.as_secs() as i64;
    let min_interval = match &raw.min_interval {
        Some(v) => {
            // RFC 4861 §6.2.1: 3 s ≤ MinRtrAdvInterval ≤ 0.75 * MaxRtrAdvInterval.
            let min = *v.get_ref();
            if min < MIN_INTERVAL_FLOOR || min * 4 > max_s * 3 {
                return Err(ctx.err(
                    v.span(),
                    format!(
                        "min-interval = {min}: must be between {MIN_INTERVAL_FLOOR} and 0.75 * max-interval ({}) (RFC 4861 §6.2.1)",
                        max_s * 3 / 4
                    ),
                ));
            }
            secs(min)
        }
        None => default_min_interval(max_interval),
    };
    let mtu = match &raw.mtu {
        // RFC 8200 §5: 1280 is the IPv6 minimum link MTU.
        Some(v) => Some(ctx.int_in(v, "mtu", 1280..=65535)? as u32),
        None => None,
    };
    let router_lifetime = match &raw.router_lifetime {
        Some(v) => {
            let lt = ctx.int_in(v, "router-lifetime", 0..=ROUTER_LIFETIME_MAX)?;
            // RFC 4861 §6.2.1: zero, or between MaxRtrAdvInterval and 9000 s.
            if lt != 0 && lt < max_s {
                return Err(ctx.err(
                    v.span(),
                    format!(
                        "router-lifetime = {lt}: must be 0 or at least max-interval ({max_s}) (RFC 4861 §6.2.1)"
                    ),
                ));
            }
            secs(lt)
        }
        None => Duration::from_secs(DEFAULT_ROUTER_LIFETIME),
    };
    let dns_servers = match &raw.dns_servers {
        Some(list) => Some(
            list.iter()
                .map(|item| server_address(ctx, item, "dns-servers"))
                .collect::<Result<Vec<_>, ConfigError>>()?,
        ),
        None => None,
    };
    let dns_domains = match &raw.dns_domains {
        Some(list) => Some(
            list.iter()
                .map(|item| {
                    domain_name(item.get_ref()).map_err(|reason| {
                        ctx.err(
                            item.span(),
                            format!("dns-domains: `{}`: {reason}", item.get_ref()),
                        )
                    })
                })
                .collect::<Result<Vec<_>, ConfigError>>()?,
        ),
        None => None,
    };
    let rdnss_lifetime = match &raw.rdnss_lifetime {
        // RFC 8106 §5.1: a lifetime shorter than the RA interval would let
        // the servers expire between two RAs.
        Some(v) => secs(ctx.int_in(v, "rdnss-lifetime", max_s..=LIFETIME_MAX)?),
        // RFC 8106 §5.1: SHOULD default to at least 3 * MaxRtrAdvInterval.
        None => max_interval * 3,
    };
    let pio_preferred = match &raw.pio_preferred_limit {
        Some(v) => Some((
            ctx.int_in(v, "pio-preferred-limit", 0..=LIFETIME_MAX)?,
            v.span(),
        )),
        None => None,
    };
    let pio_valid_limit = match &raw.pio_valid_limit {
        Some(v) => secs(ctx.int_in(v, "pio-valid-limit", 1..=LIFETIME_MAX)?),
        None => Duration::from_secs(ND_VALID_LIMIT),
    };
    let pio_preferred_limit = match pio_preferred {
        Some((p, span)) => {
            // RFC 4861 §4.6.2: the preferred lifetime never exceeds the valid one.
            if secs(p) > pio_valid_limit {
                return Err(ctx.err(
                    span,
                    format!(
                        "pio-preferred-limit = {p}: must not exceed pio-valid-limit ({})",
                        pio_valid_limit.as_secs()
                    ),
                ));
            }
            secs(p)
        }
        None => Duration::from_secs(ND_PREFERRED_LIMIT).min(pio_valid_limit),
    };
    let preference = match raw.preference {
        Some(RawPreference::Low) => RouterPreference::Low,
        Some(RawPreference::High) => RouterPreference::High,
        Some(RawPreference::Medium) | None => RouterPreference::Medium,
    };
    Ok(RaSettings {
        min_interval,
        max_interval,
        mtu,
        managed: raw.managed.unwrap_or(false),
        other_config: raw.other_config.unwrap_or(false),
        router_lifetime,
        dns_servers,
        dns_domains,
        rdnss_lifetime,
        preference,
        route_info: raw.route_info.unwrap_or(true),
        pio_preferred_limit,
        pio_valid_limit,
    })
}

/// A server address in a list under `key` (`dns-servers`, `ntp-servers`).
pub(super) fn server_address(
    ctx: &Ctx<'_>,
    item: &Spanned<String>,
    key: &str,
) -> Result<Ipv6Addr, ConfigError> {
    let text = item.get_ref();
    let addr: Ipv6Addr = text.parse().map_err(|_| {
        ctx.err(
            item.span(),
            format!("{key}: `{text}` is not an IPv6 address"),
        )
    })?;
    // RFC 8106 §5.1 (RDNSS), RFC 3646 §3 and RFC 5908 §4.1: these options
    // carry unicast addresses of servers.
    if addr.is_unspecified() || addr.is_multicast() || addr.is_loopback() {
        return Err(ctx.err(
            item.span(),
            format!("{key}: `{text}` is not a unicast address"),
        ));
    }
    Ok(addr)
}

/// Checks a DNS search domain (RFC 1035 §2.3.4 lengths; letters, digits,
/// `-` and `_` in labels), returning it without a trailing dot.
pub(super) fn domain_name(name: &str) -> Result<String, String> {
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    if trimmed.is_empty() {
        return Err("empty domain name".into());
    }
    // RFC 1035 §2.3.4: 255 octets on the wire = 253 characters in text form.
    if trimmed.len() > 253 {
        return Err("longer than 253 characters".into());
    }
    for label in trimmed.split('.') {
        if label.is_empty() {
            return Err("empty label".into());
        }
        if label.len() > 63 {
            return Err(format!("label `{label}` is longer than 63 characters"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!("label `{label}` starts or ends with `-`"));
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Err(format!("label `{label}` contains {c:?}"));
        }
    }
    Ok(trimmed.to_owned())
}
