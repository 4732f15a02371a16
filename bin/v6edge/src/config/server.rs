//! `[server]` (the DHCPv6 delegating server, RFC 8415 §18.3) → validated
//! [`ServerSettings`], with the line of every rejected value.
//!
//! Values are checked one by one in file order; the checks that relate
//! several values (overlapping pools, duplicate selectors and reservations)
//! come after, and name the later of the two values in the file together
//! with the line of the earlier one. A `from-uplink` prefix pool (RFC 9818
//! LPD-4: the uplink's delegation minus this router's LAN /64s) has no space
//! until run time, so only its keys are checked here.
//!
//! Panic contract: nothing here panics, whatever the input.

use std::net::Ipv6Addr;
use std::ops::{Range, RangeInclusive};

use toml::Spanned;
use v6edge_prefix::Prefix;

use super::raw::{RawAddressPool, RawPrefixPool, RawReservation, RawServer, RawServerLink};
use super::validate::{Ctx, LIFETIME_MAX, domain_name, secs, server_address};
use super::{
    AddressPoolConfig, ConfigError, InterfaceName, LeaseStoreKind, LinkSelector, PoolSource,
    PrefixPoolConfig, ReservationConfig, ServerLink, ServerSettings,
};

/// RFC 8415 §21.8: the Preference option is one octet.
const PREFERENCE_MAX: i64 = 255;
/// RFC 8415 §7.6: IRT_DEFAULT.
const DEFAULT_INFORMATION_REFRESH_TIME: i64 = 86_400;
/// RFC 8415 §7.6 / §21.23: IRT_MINIMUM.
const INFORMATION_REFRESH_TIME_MIN: i64 = 600;
/// RFC 8415 §21.24 / §21.25: SOL_MAX_RT and INF_MAX_RT values outside
/// 60..=86400 are ignored by clients, so sending one is a mistake.
const MAX_RT_MIN: i64 = 60;
const MAX_RT_MAX: i64 = 86_400;
/// Default preferred lifetime of pools (capped at the valid lifetime).
const DEFAULT_PREFERRED_LIFETIME: i64 = 3600;
/// Default valid lifetime of pools.
const DEFAULT_VALID_LIFETIME: i64 = 7200;
/// Default delegated length of a from-uplink pool: a /60 holds 16 /64s for
/// the requesting router's LANs, and 16 /60s fit in the /56 a CPE usually
/// gets.
const DEFAULT_FROM_UPLINK_DELEGATED_LENGTH: i64 = 60;
/// A from-uplink pool delegates blocks of 48..=64 bits: shorter than the
/// /48 an uplink gets at most in practice would never fit, and longer than
/// /64 leaves the requesting router no LAN to number (RFC 7421: /64 subnets).
const FROM_UPLINK_DELEGATED_LENGTH: RangeInclusive<i64> = 48..=64;
/// The metric of kernel routes toward delegated prefixes (server contract).
const DEFAULT_ROUTE_METRIC: u32 = 1024;
/// RFC 8415 §11.1: a 2-octet type code and at most 128 octets of identifier.
const DUID_LEN: Range<usize> = 2..131;
/// Linux MAX_ADDR_LEN: the longest link-layer address an interface can have.
const HW_ADDRESS_LEN: Range<usize> = 1..33;

/// Validates `[server]`. `uplink` is the `[uplink]` interface, on which the
/// router is the requesting side and so cannot also serve.
pub(super) fn server(
    ctx: &Ctx<'_>,
    raw: Spanned<RawServer>,
    uplink: Option<&InterfaceName>,
) -> Result<ServerSettings, ConfigError> {
    let server_span = raw.span();
    let raw = raw.into_inner();

    let explicit_interfaces = match &raw.interfaces {
        Some(list) => {
            let mut out: Vec<InterfaceName> = Vec::with_capacity(list.len());
            for item in list {
                let name = ctx.interface(item, "interfaces")?;
                not_the_uplink(ctx, &name, item.span(), uplink)?;
                if out.contains(&name) {
                    return Err(ctx.err(
                        item.span(),
                        format!("server.interfaces lists `{name}` twice"),
                    ));
                }
                out.push(name);
            }
            Some(out)
        }
        None => None,
    };
    let preference = match &raw.preference {
        // The range check guarantees the value fits a u8.
        Some(v) => ctx.int_in(v, "preference", 0..=PREFERENCE_MAX)? as u8,
        None => 0,
    };
    let dns_servers = address_list(ctx, raw.dns_servers.as_deref(), "dns-servers")?;
    let ntp_servers = address_list(ctx, raw.ntp_servers.as_deref(), "ntp-servers")?;
    let domains = raw
        .domains
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|item| {
            domain_name(item.get_ref()).map_err(|reason| {
                ctx.err(
                    item.span(),
                    format!("domains: `{}`: {reason}", item.get_ref()),
                )
            })
        })
        .collect::<Result<Vec<_>, ConfigError>>()?;
    let information_refresh_time = secs(match &raw.information_refresh_time {
        Some(v) => ctx.int_in(
            v,
            "information-refresh-time",
            INFORMATION_REFRESH_TIME_MIN..=LIFETIME_MAX,
        )?,
        None => DEFAULT_INFORMATION_REFRESH_TIME,
    });
    let sol_max_rt = match &raw.sol_max_rt {
        Some(v) => Some(secs(ctx.int_in(
            v,
            "sol-max-rt",
            MAX_RT_MIN..=MAX_RT_MAX,
        )?)),
        None => None,
    };
    let inf_max_rt = match &raw.inf_max_rt {
        Some(v) => Some(secs(ctx.int_in(
            v,
            "inf-max-rt",
            MAX_RT_MIN..=MAX_RT_MAX,
        )?)),
        None => None,
    };
    let lease_store = lease_store(ctx, &raw)?;
    let hook = match &raw.hook {
        Some(v) => Some(ctx.absolute_path(v, "hook")?),
        None => None,
    };
    let routes = raw.routes.as_ref().is_none_or(|v| *v.get_ref());
    let route_metric = match (&raw.route_metric, routes) {
        (Some(v), false) => {
            return Err(ctx.err(v.span(), "route-metric is given but routes = false"));
        }
        // The range check guarantees the value fits a u32.
        (Some(v), true) => ctx.int_in(v, "route-metric", 0..=i64::from(u32::MAX))? as u32,
        (None, _) => DEFAULT_ROUTE_METRIC,
    };

    let cap = |v: &Option<Spanned<i64>>, key: &str| -> Result<Option<usize>, ConfigError> {
        match v {
            // The range check keeps it inside usize.
            Some(v) => Ok(Some(ctx.int_in(v, key, 1..=i64::from(u32::MAX))? as usize)),
            None => Ok(None),
        }
    };
    let max_leases_per_link = cap(&raw.max_leases_per_link, "max-leases-per-link")?;
    let max_leases_per_hw_address =
        cap(&raw.max_leases_per_hw_address, "max-leases-per-hw-address")?;

    let mut pools = PoolSpans::default();
    let mut links: Vec<ServerLink> = Vec::with_capacity(raw.link.len());
    // Selector of each link with the span of its value, for duplicate checks.
    let mut selector_spans: Vec<Range<usize>> = Vec::with_capacity(raw.link.len());
    for raw_link in &raw.link {
        let (link, span) = link(
            ctx,
            raw_link,
            uplink,
            explicit_interfaces.as_deref(),
            &mut pools,
        )?;
        for (earlier, earlier_span) in links.iter().zip(&selector_spans) {
            selector_conflict(ctx, &link.selector, &span, &earlier.selector, earlier_span)?;
        }
        links.push(link);
        selector_spans.push(span);
    }
    pools.check_overlaps(ctx)?;

    let reservations = reservations(ctx, &raw.reservation, &links)?;

    let interfaces = match explicit_interfaces {
        Some(list) => list,
        None => links
            .iter()
            .filter_map(|l| match &l.selector {
                LinkSelector::Interface(name) => Some(name.clone()),
                LinkSelector::RelayLink(_) => None,
            })
            .collect(),
    };
    if links.is_empty() && interfaces.is_empty() {
        return Err(ctx.err(
            server_span,
            "[server] serves nothing: add a [[server.link]] (or list interfaces for information-only service)",
        ));
    }

    Ok(ServerSettings {
        interfaces,
        preference,
        // RFC 8415 §18.3.1: a server MAY be configured to use Rapid Commit;
        // v6edge is meant to be the only server of its links.
        rapid_commit: raw.rapid_commit.unwrap_or(true),
        dns_servers,
        domains,
        ntp_servers,
        information_refresh_time,
        sol_max_rt,
        inf_max_rt,
        lease_store,
        hook,
        routes,
        route_metric,
        links,
        reservations,
        max_leases_per_link,
        max_leases_per_hw_address,
    })
}

fn not_the_uplink(
    ctx: &Ctx<'_>,
    name: &InterfaceName,
    span: Range<usize>,
    uplink: Option<&InterfaceName>,
) -> Result<(), ConfigError> {
    if uplink == Some(name) {
        return Err(ctx.err(
            span,
            format!(
                "server interface `{name}` is the uplink interface: the router requests prefixes there and cannot also serve them"
            ),
        ));
    }
    Ok(())
}

fn address_list(
    ctx: &Ctx<'_>,
    list: Option<&[Spanned<String>]>,
    key: &str,
) -> Result<Vec<Ipv6Addr>, ConfigError> {
    list.unwrap_or_default()
        .iter()
        .map(|item| server_address(ctx, item, key))
        .collect()
}

fn lease_store(ctx: &Ctx<'_>, raw: &RawServer) -> Result<LeaseStoreKind, ConfigError> {
    let kind = raw
        .lease_store
        .as_ref()
        .map_or("sqlite", |v| v.get_ref().as_str());
    let path = match &raw.lease_file {
        Some(v) => Some(ctx.absolute_path(v, "lease-file")?),
        None => None,
    };
    // `kind` is not "sqlite" only when `lease-store` is present; the
    // fallback span is never used.
    let kind_span = || raw.lease_store.as_ref().map_or(0..0, |v| v.span());
    if kind != "postgres"
        && let Some(v) = &raw.postgres
    {
        return Err(ctx.err(
            v.span(),
            format!(
                "postgres is given but lease-store = \"{}\" does not use it",
                kind.escape_debug()
            ),
        ));
    }
    match kind {
        "sqlite" => Ok(LeaseStoreKind::Sqlite { path }),
        "memory" => match &raw.lease_file {
            Some(v) => Err(ctx.err(
                v.span(),
                "lease-file is given but lease-store = \"memory\" keeps no file",
            )),
            None => Ok(LeaseStoreKind::Memory),
        },
        "postgres" => {
            if !cfg!(feature = "postgres") {
                return Err(ctx.err(
                    kind_span(),
                    "lease-store = \"postgres\": this v6edge was built without PostgreSQL \
                     support (cargo feature \"postgres\"); use \"sqlite\" or rebuild with \
                     --features postgres",
                ));
            }
            if let Some(v) = &raw.lease_file {
                return Err(ctx.err(
                    v.span(),
                    "lease-file is given but lease-store = \"postgres\" keeps no file \
                     (the database is named by postgres = \"...\")",
                ));
            }
            match &raw.postgres {
                Some(v) if !v.get_ref().trim().is_empty() => Ok(LeaseStoreKind::Postgres {
                    conninfo: v.get_ref().clone(),
                }),
                Some(v) => {
                    Err(ctx.err(v.span(), "postgres = \"\": the connection string is empty"))
                }
                None => Err(ctx.err(
                    kind_span(),
                    "lease-store = \"postgres\" needs postgres = \"CONNECTION\" (e.g. \
                     \"host=/var/run/postgresql dbname=v6edge user=v6edge\")",
                )),
            }
        }
        other => Err(ctx.err(
            kind_span(),
            format!(
                "lease-store = \"{}\": must be \"sqlite\", \"memory\" or \"postgres\"",
                other.escape_debug()
            ),
        )),
    }
}

/// Every pool of the file with a fixed space, as inclusive address
/// intervals, to find overlaps across links. From-uplink pools are left out:
/// their space is only known at run time, and the daemon carves it from the
/// uplink's delegation after the LANs' /64s (RFC 9818 LPD-4).
#[derive(Default)]
struct PoolSpans {
    /// (first, last, description, span of the value).
    address: Vec<(u128, u128, String, Range<usize>)>,
    prefix: Vec<(Prefix, Range<usize>)>,
}

impl PoolSpans {
    /// Reports the overlap whose later value comes first in the file.
    /// Quadratic, but bounded by the number of pools in one file.
    fn check_overlaps(&self, ctx: &Ctx<'_>) -> Result<(), ConfigError> {
        // (first, last, kind, description, span)
        let mut all: Vec<(u128, u128, &str, String, &Range<usize>)> = self
            .address
            .iter()
            .map(|(a, b, d, s)| (*a, *b, "address-pool", d.clone(), s))
            .chain(self.prefix.iter().map(|(p, s)| {
                let (a, b) = bounds(p);
                (a, b, "prefix-pool", p.to_string(), s)
            }))
            .collect();
        all.sort_by_key(|entry| entry.4.start);
        for (i, later) in all.iter().enumerate() {
            for earlier in &all[..i] {
                if later.0 <= earlier.1 && earlier.0 <= later.1 {
                    return Err(ctx.err(
                        later.4.clone(),
                        format!(
                            "{} {} overlaps {} {} (line {})",
                            later.2,
                            later.3,
                            earlier.2,
                            earlier.3,
                            ctx.line_of(earlier.4.start)
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// First and last address of `p`.
pub(super) fn bounds(p: &Prefix) -> (u128, u128) {
    let first = u128::from(p.addr());
    let host = u32::from(p.host_bits());
    // A /0 has 128 host bits: every bit of the last address is set.
    let span = if host >= 128 {
        u128::MAX
    } else {
        (1u128 << host) - 1
    };
    (first, first | span)
}

/// Blocks that no pool or reservation may touch: what is left is unicast
/// space a client can use off its link.
const FORBIDDEN: [(u128, u128, &str); 3] = [
    // RFC 4291 §2.5.2 / §2.5.3.
    (0, 1, "the unspecified or loopback address"),
    // RFC 4291 §2.5.6: fe80::/10.
    (
        0xfe80_u128 << 112,
        (0xfec0_u128 << 112) - 1,
        "link-local addresses (fe80::/10)",
    ),
    // RFC 4291 §2.7: ff00::/8.
    (
        0xff00_u128 << 112,
        u128::MAX,
        "multicast addresses (ff00::/8)",
    ),
];

/// What forbidden block `first..=last` touches, if any.
fn forbidden(first: u128, last: u128) -> Option<&'static str> {
    FORBIDDEN
        .iter()
        .find(|(a, b, _)| first <= *b && *a <= last)
        .map(|(_, _, what)| *what)
}

fn prefix(ctx: &Ctx<'_>, value: &Spanned<String>, key: &str) -> Result<Prefix, ConfigError> {
    value
        .get_ref()
        .trim()
        .parse::<Prefix>()
        .map_err(|e| ctx.err(value.span(), format!("{key}: {e}")))
}

/// A prefix handed to clients (pool or reservation): unicast space only.
fn client_prefix(ctx: &Ctx<'_>, value: &Spanned<String>, key: &str) -> Result<Prefix, ConfigError> {
    let p = prefix(ctx, value, key)?;
    let (first, last) = bounds(&p);
    if let Some(what) = forbidden(first, last) {
        return Err(ctx.err(value.span(), format!("{key}: {p} includes {what}")));
    }
    Ok(p)
}

fn address(ctx: &Ctx<'_>, value: &Spanned<String>, key: &str) -> Result<Ipv6Addr, ConfigError> {
    let text = value.get_ref().trim();
    let addr: Ipv6Addr = text.parse().map_err(|_| {
        ctx.err(
            value.span(),
            format!("{key}: `{text}` is not an IPv6 address"),
        )
    })?;
    if let Some(what) = forbidden(u128::from(addr), u128::from(addr)) {
        return Err(ctx.err(value.span(), format!("{key}: {addr} is one of {what}")));
    }
    Ok(addr)
}

/// Preferred and valid lifetimes of a pool: each 1..=0xfffffffe s (0 would
/// hand out dead leases, 0xffffffff means infinity, RFC 8415 §7.7), and
/// preferred ≤ valid (RFC 8415 §21.6, §21.22). An unset preferred lifetime
/// is the default capped at the valid one.
fn lifetimes(
    ctx: &Ctx<'_>,
    preferred: Option<&Spanned<i64>>,
    valid: Option<&Spanned<i64>>,
) -> Result<(std::time::Duration, std::time::Duration), ConfigError> {
    let valid = match valid {
        Some(v) => ctx.int_in(v, "valid-lifetime", 1..=LIFETIME_MAX)?,
        None => DEFAULT_VALID_LIFETIME,
    };
    let preferred = match preferred {
        Some(v) => {
            let p = ctx.int_in(v, "preferred-lifetime", 1..=LIFETIME_MAX)?;
            if p > valid {
                return Err(ctx.err(
                    v.span(),
                    format!("preferred-lifetime = {p}: must not exceed valid-lifetime ({valid})"),
                ));
            }
            p
        }
        None => DEFAULT_PREFERRED_LIFETIME.min(valid),
    };
    Ok((secs(preferred), secs(valid)))
}

/// One `[[server.link]]`; returns it with the span of its selector value.
fn link(
    ctx: &Ctx<'_>,
    raw: &Spanned<RawServerLink>,
    uplink: Option<&InterfaceName>,
    explicit_interfaces: Option<&[InterfaceName]>,
    pools: &mut PoolSpans,
) -> Result<(ServerLink, Range<usize>), ConfigError> {
    let link_span = raw.span();
    let raw = raw.get_ref();
    let (selector, span) = match (&raw.interface, &raw.relay_link) {
        (None, None) => {
            return Err(ctx.err(
                link_span,
                "[[server.link]] needs `interface` (direct clients) or `relay-link` (relayed clients)",
            ));
        }
        (Some(_), Some(relay)) => {
            return Err(ctx.err(
                relay.span(),
                "[[server.link]] has both `interface` and `relay-link`: give exactly one",
            ));
        }
        (Some(v), None) => {
            let name = ctx.interface(v, "interface")?;
            not_the_uplink(ctx, &name, v.span(), uplink)?;
            if let Some(list) = explicit_interfaces
                && !list.contains(&name)
            {
                return Err(ctx.err(
                    v.span(),
                    format!(
                        "server link interface `{name}` is not in server.interfaces: its clients would never be heard"
                    ),
                ));
            }
            (LinkSelector::Interface(name), v.span())
        }
        (None, Some(v)) => (
            LinkSelector::RelayLink(prefix(ctx, v, "relay-link")?),
            v.span(),
        ),
    };
    let address_pools = raw
        .address_pool
        .iter()
        .map(|p| address_pool(ctx, p, pools))
        .collect::<Result<Vec<_>, ConfigError>>()?;
    let prefix_pools = raw
        .prefix_pool
        .iter()
        .map(|p| prefix_pool(ctx, p, uplink.is_some(), pools))
        .collect::<Result<Vec<_>, ConfigError>>()?;
    Ok((
        ServerLink {
            selector,
            address_pools,
            prefix_pools,
        },
        span,
    ))
}

fn selector_conflict(
    ctx: &Ctx<'_>,
    later: &LinkSelector,
    later_span: &Range<usize>,
    earlier: &LinkSelector,
    earlier_span: &Range<usize>,
) -> Result<(), ConfigError> {
    let line = ctx.line_of(earlier_span.start);
    let reason = match (later, earlier) {
        (LinkSelector::Interface(a), LinkSelector::Interface(b)) if a == b => {
            format!("[[server.link]] interface `{a}` is already a link (line {line})")
        }
        (LinkSelector::RelayLink(a), LinkSelector::RelayLink(b)) if a == b => {
            format!("[[server.link]] relay-link {a} is already a link (line {line})")
        }
        // A relay link-address inside both would match two links.
        (LinkSelector::RelayLink(a), LinkSelector::RelayLink(b)) if a.overlaps(b) => {
            format!("[[server.link]] relay-link {a} overlaps relay-link {b} (line {line})")
        }
        _ => return Ok(()),
    };
    Err(ctx.err(later_span.clone(), reason))
}

fn address_pool(
    ctx: &Ctx<'_>,
    raw: &Spanned<RawAddressPool>,
    pools: &mut PoolSpans,
) -> Result<AddressPoolConfig, ConfigError> {
    let pool_span = raw.span();
    let raw = raw.get_ref();
    let (start, end, description, span) = match (&raw.range, &raw.prefix) {
        (None, None) => {
            return Err(ctx.err(
                pool_span,
                "[[server.link.address-pool]] needs `range` or `prefix`",
            ));
        }
        (Some(_), Some(p)) => {
            return Err(ctx.err(
                p.span(),
                "[[server.link.address-pool]] has both `range` and `prefix`: give exactly one",
            ));
        }
        (Some(r), None) => {
            let (start, end) = range(ctx, r)?;
            (
                start,
                end,
                format!("{}-{}", Ipv6Addr::from(start), Ipv6Addr::from(end)),
                r.span(),
            )
        }
        (None, Some(v)) => {
            let p = client_prefix(ctx, v, "prefix")?;
            let (first, last) = bounds(&p);
            // RFC 4291 §2.6.1: the all-zero address of a prefix is its
            // Subnet-Router anycast address, never a host's.
            if first == last {
                return Err(ctx.err(
                    v.span(),
                    format!(
                        "prefix: {p} holds only its Subnet-Router anycast address (RFC 4291 §2.6.1): use range"
                    ),
                ));
            }
            (first + 1, last, p.to_string(), v.span())
        }
    };
    let (preferred, valid) = lifetimes(
        ctx,
        raw.preferred_lifetime.as_ref(),
        raw.valid_lifetime.as_ref(),
    )?;
    pools.address.push((start, end, description, span));
    Ok(AddressPoolConfig {
        start: Ipv6Addr::from(start),
        end: Ipv6Addr::from(end),
        preferred,
        valid,
    })
}

/// `START-END`, both inclusive, every address in between usable.
fn range(ctx: &Ctx<'_>, value: &Spanned<String>) -> Result<(u128, u128), ConfigError> {
    let text = value.get_ref();
    let err = |reason: String| ctx.err(value.span(), format!("range `{text}`: {reason}"));
    // IPv6 addresses never contain `-`, so the first one splits the range.
    let (a, b) = text
        .split_once('-')
        .ok_or_else(|| err("not of the form START-END".to_owned()))?;
    let parse = |s: &str| {
        s.trim()
            .parse::<Ipv6Addr>()
            .map(u128::from)
            .map_err(|_| err(format!("`{}` is not an IPv6 address", s.trim())))
    };
    let (start, end) = (parse(a)?, parse(b)?);
    if start > end {
        return Err(err("start is after end".to_owned()));
    }
    if let Some(what) = forbidden(start, end) {
        return Err(err(format!("includes {what}")));
    }
    Ok((start, end))
}

/// One `[[server.link.prefix-pool]]`. `has_uplink`: the file has an
/// `[uplink]`, which a from-uplink pool takes its space from.
fn prefix_pool(
    ctx: &Ctx<'_>,
    raw: &Spanned<RawPrefixPool>,
    has_uplink: bool,
    pools: &mut PoolSpans,
) -> Result<PrefixPoolConfig, ConfigError> {
    let pool_span = raw.span();
    let raw = raw.get_ref();
    // `from-uplink = false` is the same as leaving it out.
    let from_uplink = raw.from_uplink.as_ref().filter(|v| *v.get_ref());
    let (source, delegated_len) = match (&raw.prefix, from_uplink) {
        (None, None) => {
            return Err(ctx.err(
                pool_span,
                "[[server.link.prefix-pool]] needs `prefix` or `from-uplink = true`",
            ));
        }
        (Some(p), Some(f)) => {
            // Name whichever of the two comes later in the file.
            let later = if p.span().start > f.span().start {
                p.span()
            } else {
                f.span()
            };
            return Err(ctx.err(
                later,
                "[[server.link.prefix-pool]] has both `prefix` and `from-uplink = true`: give exactly one",
            ));
        }
        (Some(v), None) => {
            let prefix = client_prefix(ctx, v, "prefix")?;
            let Some(dl) = &raw.delegated_length else {
                return Err(ctx.err(
                    pool_span,
                    "[[server.link.prefix-pool]] with `prefix` needs `delegated-length`",
                ));
            };
            let len = *dl.get_ref();
            // Any length from the pool's own (the whole pool to one client) to 128.
            if len < i64::from(prefix.len()) || len > 128 {
                return Err(ctx.err(
                    dl.span(),
                    format!(
                        "delegated-length = {len}: must be between {} (the length of {prefix}) and 128",
                        prefix.len()
                    ),
                ));
            }
            pools.prefix.push((prefix, v.span()));
            // Checked above to be at most 128.
            (PoolSource::Fixed(prefix), len as u8)
        }
        (None, Some(f)) => {
            // RFC 9818 LPD-4: the space is what remains of the uplink's
            // delegation after this router's own LANs, so without an uplink
            // there is nothing to delegate.
            if !has_uplink {
                return Err(ctx.err(
                    f.span(),
                    "from-uplink needs an [uplink] to take the prefix from",
                ));
            }
            let len = match &raw.delegated_length {
                Some(dl) => {
                    let len = *dl.get_ref();
                    if !FROM_UPLINK_DELEGATED_LENGTH.contains(&len) {
                        return Err(ctx.err(
                            dl.span(),
                            format!(
                                "delegated-length = {len}: must be between {} and {} for a from-uplink pool",
                                FROM_UPLINK_DELEGATED_LENGTH.start(),
                                FROM_UPLINK_DELEGATED_LENGTH.end()
                            ),
                        ));
                    }
                    len
                }
                None => DEFAULT_FROM_UPLINK_DELEGATED_LENGTH,
            };
            // Checked above (or the default) to be at most 64.
            (PoolSource::FromUplink, len as u8)
        }
    };
    let (preferred, valid) = lifetimes(
        ctx,
        raw.preferred_lifetime.as_ref(),
        raw.valid_lifetime.as_ref(),
    )?;
    Ok(PrefixPoolConfig {
        source,
        delegated_len,
        preferred,
        valid,
    })
}

/// Colon-separated hex octets (`00:01:ab`) or plain hex (`0001ab`).
pub(super) fn hex_bytes(text: &str) -> Result<Vec<u8>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty".into());
    }
    let digit = |c: u8| -> Result<u8, String> {
        (c as char)
            .to_digit(16)
            // A hex digit is below 16.
            .map(|d| d as u8)
            .ok_or_else(|| format!("{:?} is not a hex digit", c as char))
    };
    let pair = |s: &str| -> Result<u8, String> {
        match s.as_bytes() {
            [hi, lo] => Ok(digit(*hi)? << 4 | digit(*lo)?),
            _ => Err(format!("`{s}` is not two hex digits")),
        }
    };
    if text.contains(':') {
        text.split(':').map(pair).collect()
    } else {
        if let Some(c) = text.chars().find(|c| !c.is_ascii_hexdigit()) {
            return Err(format!("{c:?} is not a hex digit"));
        }
        // Only ASCII hex digits are left, so bytes are characters.
        if !text.len().is_multiple_of(2) {
            return Err("odd number of hex digits".into());
        }
        text.as_bytes()
            .chunks(2)
            .map(|c| match c {
                [hi, lo] => Ok(digit(*hi)? << 4 | digit(*lo)?),
                // Even length: every chunk has two bytes.
                _ => Err("odd number of hex digits".to_owned()),
            })
            .collect()
    }
}

fn bytes_in(
    ctx: &Ctx<'_>,
    value: &Spanned<String>,
    key: &str,
    len: Range<usize>,
    why: &str,
) -> Result<Vec<u8>, ConfigError> {
    let text = value.get_ref();
    let bytes = hex_bytes(text).map_err(|reason| {
        ctx.err(
            value.span(),
            format!(
                "{key} `{}`: {reason} (write hex octets, e.g. 00:01:ab or 0001ab)",
                text.escape_debug()
            ),
        )
    })?;
    if !len.contains(&bytes.len()) {
        return Err(ctx.err(
            value.span(),
            format!(
                "{key} `{text}`: {} bytes: must be {} to {} bytes ({why})",
                bytes.len(),
                len.start,
                len.end - 1
            ),
        ));
    }
    Ok(bytes)
}

/// A reserved address must lie in an address pool: its lifetimes and link
/// come from that pool, and the pool never hands it to anyone else.
fn reserved_address_in_pool(
    ctx: &Ctx<'_>,
    addr: Ipv6Addr,
    span: Range<usize>,
    links: &[ServerLink],
) -> Result<(), ConfigError> {
    let in_pool = links
        .iter()
        .flat_map(|l| &l.address_pools)
        .any(|p| (p.start..=p.end).contains(&addr));
    if in_pool {
        Ok(())
    } else {
        Err(ctx.err(
            span,
            format!("address {addr} is in no address-pool: a reserved address must lie in a pool (its lifetimes and link come from it)"),
        ))
    }
}

/// A reserved prefix must be one of a fixed prefix pool's delegated
/// prefixes: inside it and of its delegated-length. From-uplink pools take
/// no reservations: their space is not known until the uplink delegates it.
fn reserved_prefix_in_pool(
    ctx: &Ctx<'_>,
    prefix: Prefix,
    span: Range<usize>,
    links: &[ServerLink],
) -> Result<(), ConfigError> {
    let pool = links
        .iter()
        .flat_map(|l| &l.prefix_pools)
        .find_map(|p| match p.source {
            PoolSource::Fixed(pool) if pool.contains(&prefix) => Some((pool, p.delegated_len)),
            _ => None,
        });
    match pool {
        Some((_, len)) if len == prefix.len() => Ok(()),
        Some((pool, len)) => Err(ctx.err(
            span,
            format!(
                "prefix {prefix} is a /{} but prefix-pool {pool} delegates /{len}s",
                prefix.len(),
            ),
        )),
        None => Err(ctx.err(
            span,
            format!("prefix {prefix} is in no prefix-pool: a reserved prefix must be one of a pool's delegated prefixes (its lifetimes and link come from it)"),
        )),
    }
}

fn reservations(
    ctx: &Ctx<'_>,
    raw: &[Spanned<RawReservation>],
    links: &[ServerLink],
) -> Result<Vec<ReservationConfig>, ConfigError> {
    // `out[i]` is the validated `raw[i]`, so zipping them pairs each earlier
    // reservation with its spans.
    let mut out: Vec<ReservationConfig> = Vec::with_capacity(raw.len());
    for entry in raw {
        let span = entry.span();
        let r = entry.get_ref();
        let duid = match &r.duid {
            Some(v) => Some(bytes_in(ctx, v, "duid", DUID_LEN, "RFC 8415 §11.1")?),
            None => None,
        };
        let hw_address = match &r.hw_address {
            Some(v) => Some(bytes_in(
                ctx,
                v,
                "hw-address",
                HW_ADDRESS_LEN,
                "a link-layer address",
            )?),
            None => None,
        };
        if duid.is_none() && hw_address.is_none() {
            return Err(ctx.err(
                span,
                "[[server.reservation]] needs `duid` and/or `hw-address` to know its client",
            ));
        }
        let address = match &r.address {
            Some(v) => {
                let a = address(ctx, v, "address")?;
                reserved_address_in_pool(ctx, a, v.span(), links)?;
                Some(a)
            }
            None => None,
        };
        let prefix = match &r.prefix {
            Some(v) => {
                let p = client_prefix(ctx, v, "prefix")?;
                reserved_prefix_in_pool(ctx, p, v.span(), links)?;
                Some(p)
            }
            None => None,
        };
        if address.is_none() && prefix.is_none() {
            return Err(ctx.err(
                span,
                "[[server.reservation]] needs `address` and/or `prefix` to reserve",
            ));
        }
        let this = ReservationConfig {
            duid,
            hw_address,
            address,
            prefix,
        };
        for (earlier, e_raw) in out.iter().zip(raw) {
            let e_addr = e_raw.get_ref().address.as_ref().map(Spanned::span);
            let e_prefix = e_raw.get_ref().prefix.as_ref().map(Spanned::span);
            if let (Some(a), Some(b), Some(v), Some(e)) =
                (this.address, earlier.address, &r.address, e_addr)
                && a == b
            {
                return Err(ctx.err(
                    v.span(),
                    format!(
                        "address {a} is already reserved (line {})",
                        ctx.line_of(e.start)
                    ),
                ));
            }
            // Pools do not overlap and a reserved prefix is exactly one of
            // its pool's delegated prefixes, so overlapping means equal.
            if let (Some(a), Some(b), Some(v), Some(e)) =
                (this.prefix, earlier.prefix, &r.prefix, e_prefix)
                && a == b
            {
                return Err(ctx.err(
                    v.span(),
                    format!(
                        "prefix {a} is already reserved (line {})",
                        ctx.line_of(e.start)
                    ),
                ));
            }
            // The same identification twice: which binding would it get?
            if this.duid == earlier.duid && this.hw_address == earlier.hw_address {
                return Err(ctx.err(
                    span.clone(),
                    format!(
                        "[[server.reservation]] for the same client as the one at line {}",
                        ctx.line_of(e_raw.span().start)
                    ),
                ));
            }
        }
        out.push(this);
    }
    Ok(out)
}
