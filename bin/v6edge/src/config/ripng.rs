//! `[ripng]`: the RIPng routing role (RFC 2080), validated with the line of
//! every error.

use std::ops::Range;
use std::time::Duration;

use toml::Spanned;
use v6edge_ripng::{SplitHorizon, Timers};

use super::raw::RawRipng;
use super::validate::Ctx;
use super::{ConfigError, InterfaceName, RipngInterface, RipngSettings};

/// Validates `[ripng]`.
pub(super) fn ripng(ctx: &Ctx<'_>, raw: &Spanned<RawRipng>) -> Result<RipngSettings, ConfigError> {
    let table = raw.span();
    let raw = raw.get_ref();
    let mut interfaces: Vec<(RipngInterface, Range<usize>)> = Vec::new();
    for item in &raw.interfaces {
        let name = ctx.interface(item, "interfaces")?;
        if let Some((_, span)) = interfaces.iter().find(|(i, _)| i.name == name) {
            return Err(ctx.err(
                item.span(),
                format!(
                    "interfaces lists `{name}` twice (line {})",
                    ctx.line_of(span.start)
                ),
            ));
        }
        interfaces.push((RipngInterface::new(name), item.span()));
    }
    if interfaces.is_empty() {
        return Err(ctx.err(
            table,
            "[ripng] runs on no interface: add interfaces = [\"eth0\", ...]",
        ));
    }
    // `[[ripng.interface]]`: settings of one of them.
    let mut set: Vec<InterfaceName> = Vec::new();
    for entry in &raw.interface {
        let e = entry.get_ref();
        let name = ctx.interface(&e.name, "name")?;
        let Some((iface, _)) = interfaces.iter_mut().find(|(i, _)| i.name == name) else {
            return Err(ctx.err(
                e.name.span(),
                format!("[[ripng.interface]] `{name}` is not in [ripng] interfaces"),
            ));
        };
        if set.contains(&name) {
            return Err(ctx.err(
                e.name.span(),
                format!("[[ripng.interface]] `{name}` is given twice"),
            ));
        }
        set.push(name);
        if let Some(v) = &e.cost {
            iface.cost = ctx.int_in(v, "cost", 1..=15)? as u8;
        }
        if let Some(v) = e.passive {
            iface.passive = v;
        }
        iface.accept = prefixes(ctx, &e.accept, "accept")?;
        iface.advertise = prefixes(ctx, &e.advertise, "advertise")?;
        if let Some(v) = e.default_only {
            iface.default_only = v;
        }
        if let Some(v) = &e.split_horizon {
            iface.split_horizon = match v.get_ref().as_str() {
                "poisoned-reverse" => SplitHorizon::PoisonedReverse,
                "simple" => SplitHorizon::Simple,
                "off" => SplitHorizon::Off,
                other => {
                    return Err(ctx.err(
                        v.span(),
                        format!("split-horizon `{other}`: expected \"poisoned-reverse\", \"simple\" or \"off\""),
                    ));
                }
            };
        }
    }
    let mut redistribute_connected = false;
    let mut redistribute_static = false;
    let mut redistribute_delegated = false;
    for item in &raw.redistribute {
        match item.get_ref().as_str() {
            "connected" => redistribute_connected = true,
            "static" => redistribute_static = true,
            "delegated" => redistribute_delegated = true,
            other => {
                return Err(ctx.err(
                    item.span(),
                    format!("redistribute `{other}`: expected \"connected\" (the prefixes of the RIPng interfaces' addresses), \"static\" (the routes an administrator added to the main table) or \"delegated\" (the routes this daemon installs toward delegated prefixes)"),
                ));
            }
        }
    }
    let secs = |v: &Option<Spanned<i64>>, key: &str, default: Duration, range| match v {
        Some(v) => ctx
            .int_in(v, key, range)
            .map(|s| Duration::from_secs(s as u64)),
        None => Ok(default),
    };
    let defaults = Timers::default();
    let update = secs(
        &raw.update_interval,
        "update-interval",
        defaults.update,
        1..=3600,
    )?;
    let timeout = secs(&raw.timeout, "timeout", defaults.timeout, 1..=21600)?;
    let garbage_collection = secs(
        &raw.garbage_collection,
        "garbage-collection",
        defaults.garbage_collection,
        1..=21600,
    )?;
    // RFC 2080 §2.3: a route must outlive several missed updates.
    if timeout <= update {
        let span = raw.timeout.as_ref().map_or(table.clone(), |v| v.span());
        return Err(ctx.err(
            span,
            format!(
                "timeout {} s is not longer than update-interval {} s: every route would time out between two updates (RFC 2080 §2.3 uses 180 and 30)",
                timeout.as_secs(),
                update.as_secs()
            ),
        ));
    }
    let timers = Timers {
        update,
        // ±half the interval, as the RFC's 30 ± 15 s.
        update_jitter: update / 2,
        timeout,
        garbage_collection,
        ..defaults
    };
    Ok(RipngSettings {
        interfaces: interfaces.into_iter().map(|(i, _)| i).collect(),
        redistribute_connected,
        redistribute_static,
        redistribute_delegated,
        metric: match &raw.metric {
            Some(v) => ctx.int_in(v, "metric", 1..=15)? as u8,
            None => 1,
        },
        tag: match &raw.tag {
            Some(v) => ctx.int_in(v, "tag", 0..=i64::from(u16::MAX))? as u16,
            None => 0,
        },
        timers,
        aggregates: prefixes(ctx, &raw.aggregates, "aggregates")?,
        route_metric: match &raw.route_metric {
            Some(v) => ctx.int_in(v, "route-metric", 0..=i64::from(u32::MAX))? as u32,
            None => v6edge_ripng::DEFAULT_KERNEL_METRIC,
        },
        max_routes: match &raw.max_routes {
            Some(v) => ctx.int_in(v, "max-routes", 1..=10_000_000)? as usize,
            None => v6edge_ripng::DEFAULT_MAX_ROUTES,
        },
    })
}

/// A list of IPv6 prefixes under `key`.
fn prefixes(
    ctx: &Ctx<'_>,
    items: &[Spanned<String>],
    key: &str,
) -> Result<Vec<v6edge_prefix::Prefix>, ConfigError> {
    items
        .iter()
        .map(|item| {
            let text = item.get_ref();
            text.parse()
                .map_err(|e| ctx.err(item.span(), format!("{key}: `{text}`: {e}")))
        })
        .collect()
}
