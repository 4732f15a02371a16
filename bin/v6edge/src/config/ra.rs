//! `[[ra]]` (static Router Advertisements: configured prefixes on one
//! interface, what radvd does) → validated [`StaticRaConfig`], with the line
//! of every rejected value.
//!
//! RFC 4861 §4.6.2 (Prefix Information: flags, lifetimes, radvd-like
//! defaults of 86400 s valid / 14400 s preferred from §6.2.1
//! AdvValidLifetime / AdvPreferredLifetime), RFC 4862 §5.5.3 (a prefix
//! for SLAAC must leave a 64-bit interface identifier, RFC 4291 §2.5.1;
//! link-local prefixes are ignored by hosts), RFC 8106 (RDNSS/DNSSL).
//! The RA knobs are those of `[lan.ra]`, checked by the same code.
//!
//! Which interfaces may carry an `[[ra]]` (not the uplink, once each; on a
//! `[[lan]]` it only adds prefixes and DNS options to that LAN's RAs) is
//! decided by the caller (`validate.rs`), which knows them.
//!
//! Panic contract: nothing here panics, whatever the input.

use std::ops::Range;
use std::time::Duration;

use v6edge_prefix::Prefix;

use super::raw::{RawRa, RawStaticPrefix, RawStaticPrefixTable, RawStaticRa};
use super::validate::{Ctx, LIFETIME_MAX, ra_settings, secs};
use super::{ConfigError, StaticPrefix, StaticRaConfig};

/// RFC 4861 §6.2.1 AdvValidLifetime default (radvd's too).
pub const DEFAULT_VALID_LIFETIME: Duration = Duration::from_secs(86400);
/// RFC 4861 §6.2.1 AdvPreferredLifetime default (radvd's too).
pub const DEFAULT_PREFERRED_LIFETIME: Duration = Duration::from_secs(14400);
/// RFC 4291 §2.5.1: SLAAC interface identifiers are 64 bits, so an
/// autonomous prefix is a /64 (RFC 4862 §5.5.3(d) ignores any other length).
const SLAAC_PREFIX_LEN: u8 = 64;

/// Validates one `[[ra]]` table (not its interface's relation to the rest).
pub(super) fn static_ra(ctx: &Ctx<'_>, raw: RawStaticRa) -> Result<StaticRaConfig, ConfigError> {
    let interface = ctx.interface(&raw.interface, "interface")?;
    let mut prefixes: Vec<(StaticPrefix, Range<usize>)> = Vec::with_capacity(raw.prefixes.len());
    for item in &raw.prefixes {
        let this = prefix(ctx, item.get_ref(), item.span())?;
        if let Some((_, earlier)) = prefixes.iter().find(|(p, _)| p.prefix == this.prefix) {
            return Err(ctx.err(
                item.span(),
                format!(
                    "prefixes lists {} twice (line {})",
                    this.prefix,
                    ctx.line_of(earlier.start)
                ),
            ));
        }
        prefixes.push((this, item.span()));
    }
    let ra = ra_settings(
        ctx,
        RawRa {
            min_interval: raw.min_interval,
            max_interval: raw.max_interval,
            mtu: raw.mtu,
            managed: raw.managed,
            other_config: raw.other_config,
            router_lifetime: raw.router_lifetime,
            dns_servers: raw.dns_servers,
            dns_domains: raw.dns_domains,
            rdnss_lifetime: raw.rdnss_lifetime,
            preference: raw.preference,
            // No routes to advertise, and the prefixes' lifetimes are their own.
            route_info: Some(false),
            pio_preferred_limit: None,
            pio_valid_limit: None,
        },
    )?;
    Ok(StaticRaConfig {
        interface,
        prefixes: prefixes.into_iter().map(|(p, _)| p).collect(),
        ra,
        on_lan: false,
    })
}

/// The first key of `raw` that sets how the interface advertises (rather
/// than what), with its span where the parser keeps one: on a `[[lan]]`
/// those belong to the LAN's `[lan.ra]`.
pub(super) fn advertiser_knob(raw: &RawStaticRa) -> Option<(&'static str, Option<Range<usize>>)> {
    let spanned = [
        ("min-interval", raw.min_interval.as_ref().map(|v| v.span())),
        ("max-interval", raw.max_interval.as_ref().map(|v| v.span())),
        ("mtu", raw.mtu.as_ref().map(|v| v.span())),
        (
            "router-lifetime",
            raw.router_lifetime.as_ref().map(|v| v.span()),
        ),
        (
            "rdnss-lifetime",
            raw.rdnss_lifetime.as_ref().map(|v| v.span()),
        ),
    ];
    if let Some((key, span)) = spanned.into_iter().find(|(_, s)| s.is_some()) {
        return Some((key, span));
    }
    [
        ("managed", raw.managed.is_some()),
        ("other-config", raw.other_config.is_some()),
        ("preference", raw.preference.is_some()),
    ]
    .into_iter()
    .find(|(_, set)| *set)
    .map(|(key, _)| (key, None))
}

fn prefix(
    ctx: &Ctx<'_>,
    raw: &RawStaticPrefix,
    span: Range<usize>,
) -> Result<StaticPrefix, ConfigError> {
    let table;
    let raw = match raw {
        RawStaticPrefix::Table(t) => t,
        RawStaticPrefix::Text(text) => {
            table = RawStaticPrefixTable {
                prefix: text.clone(),
                on_link: None,
                autonomous: None,
                valid_lifetime: None,
                preferred_lifetime: None,
            };
            &table
        }
    };
    let text = raw.prefix.trim();
    let prefix: Prefix = text
        .parse()
        .map_err(|e| ctx.err(span.clone(), format!("prefixes: `{text}`: {e}")))?;
    let first = prefix.addr().segments()[0];
    // RFC 4861 §6.3.4 / RFC 4862 §5.5.3(b): hosts ignore a link-local PIO;
    // a multicast one names no link.
    if first & 0xffc0 == 0xfe80 || first & 0xff00 == 0xff00 || prefix.len() == 0 {
        return Err(ctx.err(
            span,
            format!("prefixes: {prefix} cannot be advertised: give a global or ULA prefix"),
        ));
    }
    let on_link = raw.on_link.unwrap_or(true);
    let autonomous = raw.autonomous.unwrap_or(true);
    if autonomous && prefix.len() != SLAAC_PREFIX_LEN {
        return Err(ctx.err(
            span,
            format!(
                "prefixes: {prefix} is not a /64, which autonomous address configuration needs (RFC 4862 §5.5.3): use a /64 or set autonomous = false"
            ),
        ));
    }
    let lifetime = |value: Option<i64>, key: &str, min: i64, default: Duration| match value {
        Some(v) if (min..=LIFETIME_MAX).contains(&v) => Ok(secs(v)),
        Some(v) => Err(ctx.err(
            span.clone(),
            format!("{key} = {v}: must be between {min} and {LIFETIME_MAX}"),
        )),
        None => Ok(default),
    };
    let valid = lifetime(
        raw.valid_lifetime,
        "valid-lifetime",
        1,
        DEFAULT_VALID_LIFETIME,
    )?;
    // An explicit valid lifetime shorter than the default preferred one
    // brings the default down with it.
    let preferred = lifetime(
        raw.preferred_lifetime,
        "preferred-lifetime",
        0,
        DEFAULT_PREFERRED_LIFETIME.min(valid),
    )?;
    // RFC 4861 §4.6.2 / RFC 4862 §5.5.3(c): hosts ignore a PIO whose
    // preferred lifetime exceeds its valid lifetime.
    if preferred > valid {
        return Err(ctx.err(
            span,
            format!(
                "preferred-lifetime = {} exceeds valid-lifetime = {} (RFC 4861 §4.6.2)",
                preferred.as_secs(),
                valid.as_secs()
            ),
        ));
    }
    Ok(StaticPrefix {
        prefix,
        on_link,
        autonomous,
        valid,
        preferred,
    })
}
