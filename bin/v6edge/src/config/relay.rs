//! `[relay]` (the DHCPv6 relay agent, RFC 8415 §19) → validated
//! [`RelaySettings`], with the line of every rejected value.
//!
//! RFC 8415 §7.6 (HOP_COUNT_LIMIT), §9 and §19.1.1 (link-address and
//! Interface-ID), §21.18 (Interface-Id option), RFC 4649 §3 (Remote-ID),
//! RFC 4580 §2 (Subscriber-ID), RFC 8987 §4 (routes toward delegated
//! prefixes).
//!
//! Values are checked one by one in file order; a duplicate names the later
//! value together with the line of the earlier one. Whether `[relay]` may
//! coexist with the other roles is decided by the caller (`validate.rs`).
//!
//! Panic contract: nothing here panics, whatever the input.

use std::net::Ipv6Addr;
use std::ops::{Range, RangeInclusive};

use toml::Spanned;

use super::raw::{RawRelay, RawRelayDownstream, RawRemoteId};
use super::server::hex_bytes;
use super::validate::Ctx;
use super::{ConfigError, InterfaceName, RelayDownstream, RelaySettings};

/// RFC 8415 §7.1: All_DHCP_Servers, site-scoped.
pub(super) const ALL_DHCP_SERVERS: Ipv6Addr = Ipv6Addr::new(0xff05, 0, 0, 0, 0, 0, 1, 3);
/// Accepted hop-count limits: RFC 8415 §7.6 sets HOP_COUNT_LIMIT to 8; more
/// than 32 nested relays would be a loop rather than a topology.
const HOP_COUNT_LIMIT_RANGE: RangeInclusive<i64> = 1..=32;
/// Length of the identifiers a relay adds (Interface-ID, Remote-ID,
/// Subscriber-ID). RFC 4580 §2 requires at least 1 octet; the 255-octet
/// bound is v6edge's, to keep every Relay-forward well inside the minimum
/// MTU of the upstream link however deeply it is nested.
const IDENTIFIER_LEN: RangeInclusive<usize> = 1..=255;
/// Prefix of an identifier written as hex octets rather than text.
const HEX_PREFIX: &str = "hex:";

/// Validates `[relay]`. `uplink` is the `[uplink]` interface: the relay may
/// send upstream through it, but never relays the clients heard on it.
pub(super) fn relay(
    ctx: &Ctx<'_>,
    raw: &Spanned<RawRelay>,
    uplink: Option<&InterfaceName>,
) -> Result<RelaySettings, ConfigError> {
    let relay_span = raw.span();
    let raw = raw.get_ref();

    let upstream = ctx.interface(&raw.upstream, "upstream")?;
    let servers = servers(ctx, raw.servers.as_deref().unwrap_or_default())?;
    let routes = raw.routes.as_ref().is_none_or(|v| *v.get_ref());
    let route_metric = match (&raw.route_metric, routes) {
        (Some(v), false) => {
            return Err(ctx.err(v.span(), "route-metric is given but routes = false"));
        }
        // The range check guarantees the value fits a u32.
        (Some(v), true) => ctx.int_in(v, "route-metric", 0..=i64::from(u32::MAX))? as u32,
        (None, _) => RelaySettings::DEFAULT_ROUTE_METRIC,
    };
    let hop_count_limit = match &raw.hop_count_limit {
        // The range check guarantees the value fits a u8.
        Some(v) => ctx.int_in(v, "hop-count-limit", HOP_COUNT_LIMIT_RANGE)? as u8,
        None => RelaySettings::DEFAULT_HOP_COUNT_LIMIT,
    };

    let mut downstream: Vec<RelayDownstream> = Vec::with_capacity(raw.downstream.len());
    for entry in &raw.downstream {
        let this = downstream_entry(ctx, entry.get_ref(), &upstream, uplink)?;
        // `downstream[i]` is the validated `raw.downstream[i]`, so zipping
        // them pairs each earlier entry with its spans.
        for (earlier, e_raw) in downstream.iter().zip(&raw.downstream) {
            duplicate(ctx, entry.get_ref(), &this, e_raw.get_ref(), earlier)?;
        }
        downstream.push(this);
    }
    if downstream.is_empty() {
        return Err(ctx.err(
            relay_span,
            "[relay] relays nothing: add a [[relay.downstream]] with the client-facing interface",
        ));
    }

    Ok(RelaySettings {
        upstream,
        servers,
        routes,
        route_metric,
        hop_count_limit,
        downstream,
        hook: match &raw.hook {
            Some(v) => Some(ctx.absolute_path(v, "hook")?),
            None => None,
        },
    })
}

/// The `servers` list: unicast addresses, or All_DHCP_Servers alone (which
/// is the same as no list).
fn servers(ctx: &Ctx<'_>, list: &[Spanned<String>]) -> Result<Vec<Ipv6Addr>, ConfigError> {
    let mut unicast: Vec<(Ipv6Addr, Range<usize>)> = Vec::with_capacity(list.len());
    let mut multicast: Option<Range<usize>> = None;
    for item in list {
        let text = item.get_ref().trim();
        let addr: Ipv6Addr = text.parse().map_err(|_| {
            ctx.err(
                item.span(),
                format!("servers: `{text}` is not an IPv6 address"),
            )
        })?;
        if addr == ALL_DHCP_SERVERS {
            if multicast.is_some() {
                return Err(ctx.err(item.span(), format!("servers lists `{addr}` twice")));
            }
            multicast = Some(item.span());
        } else if addr.is_multicast() {
            // RFC 8415 §19.1.1: a relay sends to the servers' unicast
            // addresses or to All_DHCP_Servers; any other group would reach
            // no server, or (ff02::1:2) relays and servers on the upstream
            // link alike.
            return Err(ctx.err(
                item.span(),
                format!(
                    "servers: `{addr}` is multicast: give unicast addresses, or {ALL_DHCP_SERVERS} (All_DHCP_Servers)"
                ),
            ));
        } else if addr.is_unspecified() || addr.is_loopback() {
            return Err(ctx.err(
                item.span(),
                format!("servers: `{addr}` is not a server address"),
            ));
        } else if let Some((_, earlier)) = unicast.iter().find(|(a, _)| *a == addr) {
            return Err(ctx.err(
                item.span(),
                format!(
                    "servers lists `{addr}` twice (line {})",
                    ctx.line_of(earlier.start)
                ),
            ));
        } else {
            unicast.push((addr, item.span()));
        }
    }
    // Replies are accepted from any source when relaying to the group but
    // only from the listed servers otherwise (RFC 8987 §4, security
    // requirements): both at once has no meaning.
    if let (Some(group), Some((_, first))) = (&multicast, unicast.first()) {
        let later = if group.start > first.start {
            group.clone()
        } else {
            first.clone()
        };
        return Err(ctx.err(
            later,
            format!(
                "servers: {ALL_DHCP_SERVERS} already reaches every server on the upstream link: list either it alone or unicast addresses"
            ),
        ));
    }
    Ok(unicast.into_iter().map(|(a, _)| a).collect())
}

fn downstream_entry(
    ctx: &Ctx<'_>,
    raw: &RawRelayDownstream,
    upstream: &InterfaceName,
    uplink: Option<&InterfaceName>,
) -> Result<RelayDownstream, ConfigError> {
    let interface = ctx.interface(&raw.interface, "interface")?;
    if &interface == upstream {
        return Err(ctx.err(
            raw.interface.span(),
            format!(
                "relay downstream `{interface}` is also the upstream interface: a relay forwards from one link to another"
            ),
        ));
    }
    if uplink == Some(&interface) {
        return Err(ctx.err(
            raw.interface.span(),
            format!(
                "relay downstream `{interface}` is the uplink interface: the router is a client there, not the relay of its clients"
            ),
        ));
    }
    let link_address = match &raw.link_address {
        Some(v) => Some(link_address(ctx, v)?),
        None => None,
    };
    let interface_id = match &raw.interface_id {
        Some(v) => Some(identifier(ctx, v, "interface-id")?),
        None => None,
    };
    let remote_id = match &raw.remote_id {
        Some(v) => {
            let RawRemoteId { enterprise, id } = v.get_ref();
            // RFC 4649 §3: a 32-bit IANA enterprise number; the range check
            // guarantees the value fits a u32.
            let number =
                ctx.int_in(enterprise, "remote-id enterprise", 0..=i64::from(u32::MAX))? as u32;
            Some((number, identifier(ctx, id, "remote-id id")?))
        }
        None => None,
    };
    let subscriber_id = match &raw.subscriber_id {
        Some(v) => Some(identifier(ctx, v, "subscriber-id")?),
        None => None,
    };
    Ok(RelayDownstream {
        interface,
        link_address,
        interface_id,
        // Matching replies by Interface-ID works whatever addresses the
        // interface gains or loses, so it is sent unless turned off.
        always_interface_id: raw.always_interface_id.unwrap_or(true),
        remote_id,
        subscriber_id,
    })
}

/// RFC 8415 §9: the link-address is a globally scoped unicast address (GUA
/// or ULA) the server can identify the client's link by.
fn link_address(ctx: &Ctx<'_>, value: &Spanned<String>) -> Result<Ipv6Addr, ConfigError> {
    let text = value.get_ref().trim();
    let addr: Ipv6Addr = text.parse().map_err(|_| {
        ctx.err(
            value.span(),
            format!("link-address: `{text}` is not an IPv6 address"),
        )
    })?;
    let what = if addr.is_unicast_link_local() {
        "link-local: the server cannot tell links apart by it"
    } else if addr.is_multicast() {
        "multicast"
    } else if addr.is_unspecified() {
        "unspecified: leave link-address out to send :: with an Interface-ID"
    } else if addr.is_loopback() {
        "the loopback address"
    } else {
        return Ok(addr);
    };
    Err(ctx.err(
        value.span(),
        format!("link-address: {addr} is {what} (give a global address of the downstream link)"),
    ))
}

/// An identifier the relay adds: text (its UTF-8 bytes), or `hex:` and hex
/// octets (`hex:00:01:ab` or `hex:0001ab`); 1..=255 bytes.
fn identifier(ctx: &Ctx<'_>, value: &Spanned<String>, key: &str) -> Result<Vec<u8>, ConfigError> {
    let text = value.get_ref();
    let bytes = match text.strip_prefix(HEX_PREFIX) {
        Some(hex) => hex_bytes(hex).map_err(|reason| {
            ctx.err(
                value.span(),
                format!(
                    "{key} `{}`: {reason} (after `hex:` write hex octets, e.g. hex:00:01:ab or hex:0001ab)",
                    text.escape_debug()
                ),
            )
        })?,
        None => text.as_bytes().to_vec(),
    };
    if bytes.is_empty() {
        return Err(ctx.err(value.span(), format!("{key} is empty")));
    }
    if !IDENTIFIER_LEN.contains(&bytes.len()) {
        return Err(ctx.err(
            value.span(),
            format!(
                "{key}: {} bytes: must be {} to {} bytes",
                bytes.len(),
                IDENTIFIER_LEN.start(),
                IDENTIFIER_LEN.end()
            ),
        ));
    }
    Ok(bytes)
}

/// Two downstreams must differ in interface, link-address and Interface-ID:
/// Relay-replies are matched back to their downstream by the Interface-ID,
/// else by the link-address (RFC 8415 §19.2).
fn duplicate(
    ctx: &Ctx<'_>,
    raw: &RawRelayDownstream,
    this: &RelayDownstream,
    e_raw: &RawRelayDownstream,
    earlier: &RelayDownstream,
) -> Result<(), ConfigError> {
    if this.interface == earlier.interface {
        return Err(ctx.err(
            raw.interface.span(),
            format!(
                "[[relay.downstream]] interface `{}` is already a downstream (line {})",
                this.interface,
                ctx.line_of(e_raw.interface.span().start)
            ),
        ));
    }
    if let (Some(a), Some(b), Some(v), Some(e)) = (
        this.link_address,
        earlier.link_address,
        &raw.link_address,
        &e_raw.link_address,
    ) && a == b
    {
        return Err(ctx.err(
            v.span(),
            format!(
                "link-address {a} is already the link-address of `{}` (line {})",
                earlier.interface,
                ctx.line_of(e.span().start)
            ),
        ));
    }
    if this.effective_interface_id() == earlier.effective_interface_id() {
        // The clash involves at least one explicit interface-id, since
        // interface names differ; point at this entry's if it has one.
        let span = raw
            .interface_id
            .as_ref()
            .map_or(raw.interface.span(), Spanned::span);
        let e_line = ctx.line_of(
            e_raw
                .interface_id
                .as_ref()
                .map_or(e_raw.interface.span(), Spanned::span)
                .start,
        );
        return Err(ctx.err(
            span,
            format!(
                "interface-id of `{}` is the same as that of `{}` (line {e_line}): replies could not be told apart",
                this.interface, earlier.interface
            ),
        ));
    }
    Ok(())
}
