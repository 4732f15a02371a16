//! `[home-agent]` and `[mobile-node]` (Mobile IPv6, RFC 6275) → validated
//! [`HomeAgentConfig`] and [`MobileNodeConfig`], with the line of every
//! rejected value.
//!
//! RFC 6275 §6.1.7 (binding lifetimes in 4-second units, so at most
//! 262 140 s), §7.4 (Home Agent Preference, a signed 16-bit value), §10.4.1
//! (a home agent serves home addresses on its home link's prefixes); RFC
//! 4285 §5–6 (MN-HA security associations: an SPI, 0–255 reserved, a
//! shared key; timestamp replay protection). The keys are read from their
//! files here, relative to the configuration file, and never printed.
//!
//! Unauthenticated operation (`security = "none"`) exists only for labs and
//! must be confirmed with `insecure-lab = true`: a home agent that accepts
//! any Binding Update lets anyone on the Internet take over a home
//! address's traffic.
//!
//! Panic contract: nothing here panics, whatever the input.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::ops::{Range, RangeInclusive};
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;

use v6edge_prefix::Prefix;

use super::raw::{RawHomeAgent, RawHomeAgentMobileNode, RawMobileNode, RawSecurity};
use super::validate::Ctx;
use super::{
    ConfigError, HomeAgentChoice, HomeAgentConfig, HomeAgentDsmip, InterfaceName, MobileNodeConfig,
    MobileNodeDsmip, MobilityKey, MobilitySa, MobilitySecurity,
};

/// RFC 6275 §6.1.7: 16 bits of 4-second units.
pub const MAX_BINDING_LIFETIME: Duration = Duration::from_secs(65535 * 4);
/// The home agent's default: the most the protocol can express.
pub const DEFAULT_HA_MAX_LIFETIME: Duration = MAX_BINDING_LIFETIME;
/// What a mobile node asks for by default: an hour, refreshed before it
/// runs out; shorter than the home agent's cap so a lost home agent is
/// noticed within the hour.
pub const DEFAULT_MN_LIFETIME: Duration = Duration::from_secs(3600);
/// RFC 4285 §6: timestamps may differ by this much before the home agent
/// answers 144 (MIPV6-ID-MISMATCH) with its own time; 7 s is the value the
/// RFC's example uses, leaving room for unsynchronised clocks.
pub const DEFAULT_REPLAY_WINDOW: Duration = Duration::from_secs(7);
/// RFC 4285 §5.1: SPIs 0–255 are reserved.
const SPI_RANGE: RangeInclusive<i64> = 256..=u32::MAX as i64;
/// RFC 4285 §5.1 with HMAC-SHA1: the key is 16 octets here (AU-3).
const KEY_LEN: usize = 16;

/// Validates `[home-agent]`. `uplink` is the `[uplink]` interface, which
/// cannot be a home link.
pub(super) fn home_agent(
    ctx: &Ctx<'_>,
    raw: &Spanned<RawHomeAgent>,
    uplink: Option<&InterfaceName>,
) -> Result<HomeAgentConfig, ConfigError> {
    let table = raw.span();
    let raw = raw.get_ref();
    let interface = ctx.interface(&raw.interface, "interface")?;
    if uplink == Some(&interface) {
        return Err(ctx.err(
            raw.interface.span(),
            format!("[home-agent] interface `{interface}` is the uplink: the home link is where the home addresses live"),
        ));
    }
    let mut prefixes: Vec<(Prefix, Range<usize>)> = Vec::new();
    for item in &raw.prefixes {
        let p = home_prefix(ctx, item, "prefixes")?;
        if let Some((earlier, span)) = prefixes.iter().find(|(q, _)| q.overlaps(&p)) {
            return Err(ctx.err(
                item.span(),
                format!(
                    "prefixes: {p} overlaps {earlier} (line {})",
                    ctx.line_of(span.start)
                ),
            ));
        }
        prefixes.push((p, item.span()));
    }
    if prefixes.is_empty() {
        return Err(ctx.err(
            table.clone(),
            "[home-agent] serves no home prefix: add prefixes = [\"<the home link's /64>\"]",
        ));
    }
    let address = unicast_address(ctx, &raw.address, "address")?;
    if !prefixes.iter().any(|(p, _)| p.contains_addr(address)) {
        return Err(ctx.err(
            raw.address.span(),
            format!("address {address} is not inside a served prefix: mobile nodes reach their home agent on the home link"),
        ));
    }
    let max_binding_lifetime = match &raw.max_binding_lifetime {
        Some(v) => lifetime(ctx, v, "max-binding-lifetime")?,
        None => DEFAULT_HA_MAX_LIFETIME,
    };
    let preference = match &raw.preference {
        Some(v) => ctx.int_in(v, "preference", i64::from(i16::MIN)..=i64::from(i16::MAX))? as i16,
        None => 0,
    };
    let security = security(ctx, raw.security.as_ref(), raw.insecure_lab)?;
    let mut mobile_nodes: Vec<(MobilitySa, &RawHomeAgentMobileNode)> = Vec::new();
    for entry in &raw.mobile_node {
        let e = entry.get_ref();
        let home_address = unicast_address(ctx, &e.home_address, "home-address")?;
        if !prefixes.iter().any(|(p, _)| p.contains_addr(home_address)) {
            return Err(ctx.err(
                e.home_address.span(),
                format!("home-address {home_address} is not inside a served prefix"),
            ));
        }
        if home_address == address {
            return Err(ctx.err(
                e.home_address.span(),
                format!("home-address {home_address} is the home agent's own address"),
            ));
        }
        let sa = sa(
            ctx,
            &e.spi,
            &e.key_file,
            e.replay_window.as_ref(),
            home_address,
        )?;
        for (earlier, raw_earlier) in &mobile_nodes {
            if earlier.home_address == home_address {
                return Err(ctx.err(
                    e.home_address.span(),
                    format!(
                        "home-address {home_address} has a security association already (line {}): one per home address (RFC 4285 §5)",
                        ctx.line_of(raw_earlier.home_address.span().start)
                    ),
                ));
            }
            if earlier.spi == sa.spi {
                return Err(ctx.err(
                    e.spi.span(),
                    format!(
                        "spi {} is used already (line {})",
                        sa.spi,
                        ctx.line_of(raw_earlier.spi.span().start)
                    ),
                ));
            }
        }
        mobile_nodes.push((sa, e));
    }
    let mut mobile_routers = Vec::new();
    for (sa, e) in &mobile_nodes {
        let nets = mobile_networks(ctx, &e.mobile_network_prefixes, &prefixes)?;
        if !nets.is_empty() {
            mobile_routers.push((sa.home_address, nets));
        }
    }
    // HA-7: true for allow.
    let action = |v: &Spanned<String>, key: &str| match v.get_ref().as_str() {
        "allow" => Ok(true),
        "deny" => Ok(false),
        other => Err(ctx.err(
            v.span(),
            format!("{key} `{other}`: expected \"allow\" or \"deny\""),
        )),
    };
    let default_allow = match &raw.default_action {
        Some(v) => action(v, "default-action")?,
        None => true,
    };
    let mut acl = Vec::new();
    for rule in &raw.acl {
        let r = rule.get_ref();
        let text = r.home_addresses.get_ref();
        let p: Prefix = text.parse().map_err(|e| {
            ctx.err(
                r.home_addresses.span(),
                format!("home-addresses: `{text}`: {e}"),
            )
        })?;
        if !prefixes.iter().any(|(q, _)| q.overlaps(&p)) {
            return Err(ctx.err(
                r.home_addresses.span(),
                format!(
                    "home-addresses {p} is outside every served prefix: the rule would never apply"
                ),
            ));
        }
        acl.push((p, action(&r.action, "action")?));
    }
    let dsmip = home_agent_dsmip(ctx, raw, &interface)?;
    if security == MobilitySecurity::Rfc4285 && mobile_nodes.is_empty() {
        return Err(ctx.err(
            table,
            "[home-agent] accepts no mobile node: add a [[home-agent.mobile-node]] with its home-address, spi and key-file",
        ));
    }
    Ok(HomeAgentConfig {
        interface,
        address,
        prefixes: prefixes.into_iter().map(|(p, _)| p).collect(),
        max_binding_lifetime,
        preference,
        security,
        persist_bindings: raw.persist_bindings.unwrap_or(true),
        mobile_prefix_advertisements: raw.mobile_prefix_advertisements.unwrap_or(false),
        acl,
        default_allow,
        hook: match &raw.hook {
            Some(v) => Some(ctx.absolute_path(v, "hook")?),
            None => None,
        },
        mobile_nodes: mobile_nodes.into_iter().map(|(sa, _)| sa).collect(),
        mobile_routers,
        dsmip,
    })
}

/// DSMIPv6 (RFC 5555) keys of `[home-agent]`: on with `ipv4-address`.
fn home_agent_dsmip(
    ctx: &Ctx<'_>,
    raw: &RawHomeAgent,
    home: &InterfaceName,
) -> Result<Option<HomeAgentDsmip>, ConfigError> {
    let Some(v) = &raw.ipv4_address else {
        for (key, span) in [
            ("nat-refresh", raw.nat_refresh.as_ref().map(|v| v.span())),
            (
                "ipv4-home-pool",
                raw.ipv4_home_pool.as_ref().map(|v| v.span()),
            ),
            (
                "ipv4-home-interface",
                raw.ipv4_home_interface.as_ref().map(|v| v.span()),
            ),
        ] {
            if let Some(span) = span {
                return Err(ctx.err(
                    span,
                    format!("{key} needs ipv4-address: DSMIPv6 listens on UDP port 4191 of the home agent's IPv4 address"),
                ));
            }
        }
        return Ok(None);
    };
    let text = v.get_ref();
    let address: Ipv4Addr = text.parse().map_err(|_| {
        ctx.err(
            v.span(),
            format!("ipv4-address: `{text}` is not an IPv4 address"),
        )
    })?;
    if address.is_unspecified()
        || address.is_multicast()
        || address.is_broadcast()
        || address.is_loopback()
    {
        return Err(ctx.err(
            v.span(),
            format!("ipv4-address {address} is not a unicast address mobile nodes can send to"),
        ));
    }
    let nat_refresh = match &raw.nat_refresh {
        Some(v) => Duration::from_secs(ctx.int_in(v, "nat-refresh", 1..=3600)? as u64),
        None => v6edge_mip6::dsmip::NAT_KEEPALIVE,
    };
    let pool = match &raw.ipv4_home_pool {
        None => {
            if let Some(v) = &raw.ipv4_home_interface {
                return Err(ctx.err(v.span(), "ipv4-home-interface needs ipv4-home-pool"));
            }
            None
        }
        Some(v) => {
            let text = v.get_ref();
            let prefix = text
                .split_once('/')
                .and_then(|(a, l)| {
                    v6edge_core::Prefix4::new(a.parse().ok()?, l.parse().ok()?)
                })
                .ok_or_else(|| {
                    ctx.err(
                        v.span(),
                        format!("ipv4-home-pool: `{text}` is not an IPv4 prefix with no host bits set (like \"169.254.1.0/24\")"),
                    )
                })?;
            if prefix.len() > 30 {
                return Err(ctx.err(
                    v.span(),
                    format!("ipv4-home-pool {text}: a /{} holds no address to give after its first and last", prefix.len()),
                ));
            }
            let interface = match &raw.ipv4_home_interface {
                Some(i) => ctx.interface(i, "ipv4-home-interface")?,
                None => home.clone(),
            };
            Some((prefix, interface))
        }
    };
    Ok(Some(HomeAgentDsmip {
        address,
        nat_refresh,
        pool,
    }))
}

/// `mobile-network-prefixes` (NEMO, RFC 3963): routable prefixes, none
/// overlapping another or a home link prefix (`home`): a mobile network is
/// its own link, behind the mobile router.
fn mobile_networks(
    ctx: &Ctx<'_>,
    items: &[Spanned<String>],
    home: &[(Prefix, Range<usize>)],
) -> Result<Vec<Prefix>, ConfigError> {
    let key = "mobile-network-prefixes";
    let mut nets: Vec<(Prefix, Range<usize>)> = Vec::new();
    for item in items {
        let text = item.get_ref();
        let p: Prefix = text
            .parse()
            .map_err(|e| ctx.err(item.span(), format!("{key}: `{text}`: {e}")))?;
        let first = p.addr();
        if p.len() == 0
            || first.is_multicast()
            || first.is_unicast_link_local()
            || first.is_loopback()
        {
            return Err(ctx.err(
                item.span(),
                format!("{key}: `{text}` is not a routable unicast prefix"),
            ));
        }
        if let Some((h, _)) = home.iter().find(|(h, _)| h.overlaps(&p)) {
            return Err(ctx.err(
                item.span(),
                format!("{key}: {p} overlaps the home prefix {h}: a mobile network is a link of its own, behind the mobile router"),
            ));
        }
        if let Some((earlier, span)) = nets.iter().find(|(q, _)| q.overlaps(&p)) {
            return Err(ctx.err(
                item.span(),
                format!(
                    "{key}: {p} overlaps {earlier} (line {})",
                    ctx.line_of(span.start)
                ),
            ));
        }
        nets.push((p, item.span()));
    }
    Ok(nets.into_iter().map(|(p, _)| p).collect())
}

/// Validates `[mobile-node]`.
pub(super) fn mobile_node(
    ctx: &Ctx<'_>,
    raw: &Spanned<RawMobileNode>,
    uplink: Option<&InterfaceName>,
) -> Result<MobileNodeConfig, ConfigError> {
    let table = raw.span();
    let raw = raw.get_ref();
    let mut interfaces: Vec<(InterfaceName, Range<usize>)> = Vec::new();
    let mut delegated = false;
    for item in &raw.interfaces {
        let name = ctx.interface(item, "interfaces")?;
        if let Some((_, span)) = interfaces.iter().find(|(n, _)| *n == name) {
            return Err(ctx.err(
                item.span(),
                format!(
                    "interfaces lists `{name}` twice (line {})",
                    ctx.line_of(span.start)
                ),
            ));
        }
        // RFC 6276: the [uplink] on a mobile node's interface obtains the
        // mobile networks by prefix delegation from the home network.
        delegated |= uplink == Some(&name);
        interfaces.push((name, item.span()));
    }
    if interfaces.is_empty() {
        return Err(ctx.err(
            table.clone(),
            "[mobile-node] has no interface to attach through: add interfaces = [\"eth0\"]",
        ));
    }
    let home_address = unicast_address(ctx, &raw.home_address, "home-address")?;
    let prefix_len = match &raw.home_prefix_length {
        Some(v) => ctx.int_in(v, "home-prefix-length", 16..=128)? as u8,
        None => 64,
    };
    let home_prefix = Prefix::truncating(home_address, prefix_len)
        .map_err(|e| ctx.err(raw.home_address.span(), format!("home-address: {e}")))?;
    let home_agent = match &raw.home_agent {
        None => HomeAgentChoice::Dhaad,
        Some(v) if v.get_ref() == "dhaad" => HomeAgentChoice::Dhaad,
        Some(v) => {
            let addr = unicast_address(ctx, v, "home-agent")?;
            if !home_prefix.contains_addr(addr) {
                return Err(ctx.err(
                    v.span(),
                    format!("home-agent {addr} is not on the home link {home_prefix} (or write \"dhaad\" to find it by Dynamic Home Agent Address Discovery)"),
                ));
            }
            if addr == home_address {
                return Err(ctx.err(v.span(), "home-agent is the home address itself"));
            }
            HomeAgentChoice::Address(addr)
        }
    };
    let binding_lifetime = match &raw.binding_lifetime {
        Some(v) => lifetime(ctx, v, "binding-lifetime")?,
        None => DEFAULT_MN_LIFETIME,
    };
    let security = security(ctx, raw.security.as_ref(), raw.insecure_lab)?;
    let sa = match (&raw.spi, &raw.key_file, security) {
        (Some(spi), Some(key_file), _) => Some(sa(
            ctx,
            spi,
            key_file,
            raw.replay_window.as_ref(),
            home_address,
        )?),
        (None, None, MobilitySecurity::None) => None,
        (Some(spi), None, _) => {
            return Err(ctx.err(spi.span(), "spi is given without key-file"));
        }
        (None, Some(key_file), _) => {
            return Err(ctx.err(key_file.span(), "key-file is given without spi"));
        }
        (None, None, MobilitySecurity::Rfc4285) => {
            return Err(ctx.err(
                table,
                "[mobile-node] needs spi and key-file: the home agent accepts only authenticated Binding Updates (RFC 4285)",
            ));
        }
    };
    let home_span = [(home_prefix, raw.home_address.span())];
    let nets = mobile_networks(ctx, &raw.mobile_network_prefixes, &home_span)?;
    let explicit = match &raw.mobile_network_mode {
        None => true,
        Some(v) if v.get_ref() == "explicit" => true,
        Some(v) if v.get_ref() == "implicit" => false,
        Some(v) => {
            return Err(ctx.err(
                v.span(),
                format!(
                    "mobile-network-mode `{}`: expected \"explicit\" (the prefixes travel in the Binding Update) or \"implicit\" (the home agent knows them)",
                    v.get_ref()
                ),
            ));
        }
    };
    if nets.is_empty()
        && !delegated
        && let Some(v) = &raw.mobile_network_mode
    {
        return Err(ctx.err(
            v.span(),
            "mobile-network-mode without mobile-network-prefixes or an [uplink] on one of the interfaces: a mobile router needs its mobile networks",
        ));
    }
    let home_agent_is_dhaad = home_agent == HomeAgentChoice::Dhaad;
    let dsmip = match &raw.home_agent_ipv4 {
        Some(v) => {
            let text = v.get_ref();
            let home_agent: Ipv4Addr = text.parse().map_err(|_| {
                ctx.err(
                    v.span(),
                    format!("home-agent-ipv4: `{text}` is not an IPv4 address"),
                )
            })?;
            if home_agent.is_unspecified()
                || home_agent.is_multicast()
                || home_agent.is_broadcast()
                || home_agent.is_loopback()
            {
                return Err(ctx.err(
                    v.span(),
                    format!("home-agent-ipv4 {home_agent} is not a unicast address"),
                ));
            }
            // The inner packets of DSMIPv6 go to the home agent's IPv6
            // address, which DHAAD cannot find from an IPv4-only link.
            if home_agent_is_dhaad {
                return Err(ctx.err(
                    v.span(),
                    "home-agent-ipv4 needs home-agent = \"<its IPv6 address>\": Dynamic Home Agent Address Discovery cannot run from an IPv4-only link",
                ));
            }
            Some(MobileNodeDsmip {
                home_agent,
                request_ipv4_home_address: raw
                    .request_ipv4_home_address
                    .as_ref()
                    .is_some_and(|v| *v.get_ref()),
                force_udp: raw.force_udp.as_ref().is_none_or(|v| *v.get_ref()),
            })
        }
        None => {
            let stray = [
                (
                    "request-ipv4-home-address",
                    raw.request_ipv4_home_address.as_ref().map(|v| v.span()),
                ),
                ("force-udp", raw.force_udp.as_ref().map(|v| v.span())),
            ];
            if let Some((key, Some(span))) = stray.into_iter().find(|(_, s)| s.is_some()) {
                return Err(ctx.err(
                    span,
                    format!("{key} needs home-agent-ipv4: Dual-Stack MIPv6 registers in UDP with the home agent's IPv4 address"),
                ));
            }
            None
        }
    };
    Ok(MobileNodeConfig {
        dsmip,
        mobile_router: (!nets.is_empty() || delegated).then_some((nets, explicit)),
        interfaces: interfaces.into_iter().map(|(n, _)| n).collect(),
        home_address,
        home_prefix,
        home_agent,
        binding_lifetime,
        security,
        sa,
        hook: match &raw.hook {
            Some(v) => Some(ctx.absolute_path(v, "hook")?),
            None => None,
        },
    })
}

/// A global unicast address under `key`.
fn unicast_address(
    ctx: &Ctx<'_>,
    value: &Spanned<String>,
    key: &str,
) -> Result<Ipv6Addr, ConfigError> {
    let text = value.get_ref();
    let addr: Ipv6Addr = text.parse().map_err(|_| {
        ctx.err(
            value.span(),
            format!("{key}: `{text}` is not an IPv6 address"),
        )
    })?;
    // RFC 6275 §9.5.1: home and care-of addresses are routable unicast.
    if addr.is_unspecified()
        || addr.is_loopback()
        || addr.is_multicast()
        || addr.is_unicast_link_local()
    {
        return Err(ctx.err(
            value.span(),
            format!("{key}: `{text}` is not a global unicast address"),
        ));
    }
    Ok(addr)
}

/// A home prefix (the parser refuses host bits): routable, at most /64 long so that the
/// home link can number hosts (RFC 4291 §2.5.1).
fn home_prefix(ctx: &Ctx<'_>, value: &Spanned<String>, key: &str) -> Result<Prefix, ConfigError> {
    let text = value.get_ref();
    let p: Prefix = text
        .parse()
        .map_err(|e| ctx.err(value.span(), format!("{key}: `{text}`: {e}")))?;
    let first = p.addr();
    if first.is_multicast() || first.is_unicast_link_local() || first.is_loopback() {
        return Err(ctx.err(
            value.span(),
            format!("{key}: `{text}` is not a routable unicast prefix"),
        ));
    }
    if p.len() > 64 {
        return Err(ctx.err(
            value.span(),
            format!(
                "{key}: `{text}` is longer than /64: a home link numbers its hosts in a /64 at most"
            ),
        ));
    }
    Ok(p)
}

/// A binding lifetime in seconds: 4 s units on the wire, at most 262 140 s.
fn lifetime(ctx: &Ctx<'_>, value: &Spanned<i64>, key: &str) -> Result<Duration, ConfigError> {
    let max = MAX_BINDING_LIFETIME.as_secs() as i64;
    let v = ctx.int_in(value, key, 4..=max)?;
    if v % 4 != 0 {
        return Err(ctx.err(
            value.span(),
            format!("{key} = {v}: Binding Updates carry lifetimes in units of 4 s (RFC 6275 §6.1.7): use {} or {}", v - v % 4, v - v % 4 + 4),
        ));
    }
    Ok(Duration::from_secs(v as u64))
}

fn security(
    ctx: &Ctx<'_>,
    raw: Option<&Spanned<RawSecurity>>,
    insecure_lab: Option<bool>,
) -> Result<MobilitySecurity, ConfigError> {
    match (raw.map(|s| (*s.get_ref(), s.span())), insecure_lab) {
        (None | Some((RawSecurity::Rfc4285, _)), _) => Ok(MobilitySecurity::Rfc4285),
        (Some((RawSecurity::None, _)), Some(true)) => Ok(MobilitySecurity::None),
        (Some((RawSecurity::None, span)), _) => Err(ctx.err(
            span,
            "security = \"none\" accepts Binding Updates from anyone, who can then take over a home address's traffic: for a lab, confirm with insecure-lab = true",
        )),
    }
}

/// One MN-HA security association (RFC 4285 §5), its key read from
/// `key_file` (relative to the configuration file).
fn sa(
    ctx: &Ctx<'_>,
    spi: &Spanned<i64>,
    key_file: &Spanned<String>,
    replay_window: Option<&Spanned<i64>>,
    home_address: Ipv6Addr,
) -> Result<MobilitySa, ConfigError> {
    let spi_value = ctx.int_in(spi, "spi", SPI_RANGE)? as u32;
    let path = ctx.relative_path(key_file, "key-file")?;
    let key = read_key(&path).map_err(|reason| {
        ctx.err(
            key_file.span(),
            format!("key-file `{}`: {reason}", key_file.get_ref()),
        )
    })?;
    let replay_window = match replay_window {
        // RFC 4285 §6: more than 3 s, for clocks that are not in step.
        Some(v) => Duration::from_secs(ctx.int_in(v, "replay-window", 4..=3600)? as u64),
        None => DEFAULT_REPLAY_WINDOW,
    };
    Ok(MobilitySa {
        home_address,
        spi: spi_value,
        key,
        key_file: path,
        replay_window,
    })
}

/// A key file: 16 octets written as 32 hex digits, with `#` comment lines
/// and whitespace ignored (so a file can say what it is).
pub(super) fn read_key(path: &Path) -> Result<MobilityKey, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    let digits: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .flat_map(|l| l.chars().filter(|c| !c.is_whitespace()))
        .collect();
    if digits.len() != KEY_LEN * 2 || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(format!(
            "must hold a {KEY_LEN}-octet key as {} hex digits (comment lines start with #)",
            KEY_LEN * 2
        ));
    }
    let mut key = [0u8; KEY_LEN];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&digits[2 * i..2 * i + 2], 16)
            .map_err(|_| "not hex digits".to_owned())?;
    }
    Ok(MobilityKey::new(key))
}

/// Where `key_file` points: relative paths start at the configuration
/// file's directory.
pub(super) fn resolve(config: &Path, key_file: &str) -> PathBuf {
    let p = Path::new(key_file);
    if p.is_absolute() {
        return p.to_owned();
    }
    config
        .parent()
        .map_or_else(|| p.to_owned(), |dir| dir.join(p))
}
