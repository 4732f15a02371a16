//! `[limits]`: what unsolicited input may cost (issue 14). Every key is a
//! rate in messages per second with a burst of twice that; 0 turns the
//! limit off. The defaults hold a flood of made-up sources to a few
//! thousand messages a second per link, far above what real hosts send
//! (a DHCPv6 client sends a handful of messages per exchange, RFC 8415
//! §15; a host at most 3 Router Solicitations, RFC 4861 §6.3.7).

use toml::Spanned;
use v6edge_core::limit::{AdmissionLimits, Rate};

use super::ConfigError;
use super::raw::RawLimits;
use super::validate::Ctx;

/// Defaults, in messages per second.
pub const DEFAULT_DHCP6_PER_SOURCE: u32 = 10;
/// Used when `dhcp6-per-link` is not set and the kernel's neighbour table
/// size cannot be read (see [`LimitsConfig::resolve`]).
pub const DEFAULT_DHCP6_PER_LINK: u32 = 100;
pub const DEFAULT_DHCP6_PER_LINK_CONFIRMED: u32 = 20_000;
pub const DEFAULT_RS_PER_SOURCE: u32 = 1;
pub const DEFAULT_RS_PER_LINK: u32 = 100;
/// Above this a "limit" limits nothing a single link could carry.
const MAX_RATE: i64 = 10_000_000;

/// The validated `[limits]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitsConfig {
    /// DHCPv6 messages arriving on UDP 547 (server and relay).
    pub dhcp6: AdmissionLimits,
    /// Router Solicitations on the LANs.
    pub rs: AdmissionLimits,
    /// `dhcp6-per-link` was set; otherwise [`LimitsConfig::resolve`]
    /// derives it from the kernel's neighbour table.
    pub dhcp6_per_link_set: bool,
}

impl LimitsConfig {
    /// The limits in force on a kernel whose IPv6 neighbour table holds
    /// `neighbour_table` entries (`gc_thresh3`). Every answer to a host the
    /// kernel has not resolved yet takes a neighbour entry for the 3 s a
    /// resolution may last (RFC 4861 §7.3.3, MAX_MULTICAST_SOLICIT ×
    /// RETRANS_TIMER); a flood of made-up sources turns each admitted
    /// message into such an entry. Past the table's limit no datagram can
    /// leave toward a new host, nor most multicast: our RAs included. So,
    /// unless configured, unconfirmed sources get a tenth of the table per
    /// second: at most about a third of it is ever taken by them.
    pub fn resolve(&self, neighbour_table: Option<u32>) -> LimitsConfig {
        let mut out = *self;
        if !self.dhcp6_per_link_set {
            let per_second = neighbour_table.map_or(DEFAULT_DHCP6_PER_LINK, |n| (n / 10).max(10));
            out.dhcp6.per_link = rate(per_second);
        }
        out
    }
}

impl Default for LimitsConfig {
    fn default() -> LimitsConfig {
        LimitsConfig {
            dhcp6: AdmissionLimits {
                per_source: rate(DEFAULT_DHCP6_PER_SOURCE),
                per_link: rate(DEFAULT_DHCP6_PER_LINK),
                per_link_confirmed: rate(DEFAULT_DHCP6_PER_LINK_CONFIRMED),
            },
            rs: AdmissionLimits {
                per_source: rate(DEFAULT_RS_PER_SOURCE),
                per_link: rate(DEFAULT_RS_PER_LINK),
                // A host that answered our NS is not who floods RSs; its
                // solicitations share the link's budget at the same rate.
                per_link_confirmed: rate(DEFAULT_RS_PER_LINK),
            },
            dhcp6_per_link_set: false,
        }
    }
}

/// `n` per second with a burst of `2n`; 0 is no limit.
fn rate(n: u32) -> Rate {
    match n {
        0 => Rate::UNLIMITED,
        n => Rate::new(n, n.saturating_mul(2)),
    }
}

pub(super) fn limits(ctx: &Ctx<'_>, raw: Option<RawLimits>) -> Result<LimitsConfig, ConfigError> {
    let mut cfg = LimitsConfig::default();
    let Some(raw) = raw else { return Ok(cfg) };
    let get = |v: &Option<Spanned<i64>>, key: &str, slot: &mut Rate| -> Result<(), ConfigError> {
        if let Some(v) = v {
            // The range check keeps the value inside u32.
            *slot = rate(ctx.int_in(v, key, 0..=MAX_RATE)? as u32);
        }
        Ok(())
    };
    get(
        &raw.dhcp6_per_source,
        "dhcp6-per-source",
        &mut cfg.dhcp6.per_source,
    )?;
    get(
        &raw.dhcp6_per_link,
        "dhcp6-per-link",
        &mut cfg.dhcp6.per_link,
    )?;
    cfg.dhcp6_per_link_set = raw.dhcp6_per_link.is_some();
    get(
        &raw.dhcp6_per_link_confirmed,
        "dhcp6-per-link-confirmed",
        &mut cfg.dhcp6.per_link_confirmed,
    )?;
    get(&raw.rs_per_source, "rs-per-source", &mut cfg.rs.per_source)?;
    get(&raw.rs_per_link, "rs-per-link", &mut cfg.rs.per_link)?;
    cfg.rs.per_link_confirmed = cfg.rs.per_link;
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unconfirmed_link_budget_follows_the_neighbour_table_unless_set() {
        let default = LimitsConfig::default();
        assert_eq!(
            default.resolve(Some(1024)).dhcp6.per_link,
            Rate::new(102, 204)
        );
        assert_eq!(
            default.resolve(Some(65536)).dhcp6.per_link,
            Rate::new(6553, 13106)
        );
        assert_eq!(default.resolve(Some(16)).dhcp6.per_link, Rate::new(10, 20));
        assert_eq!(default.resolve(None).dhcp6.per_link, Rate::new(100, 200));
        let set = LimitsConfig {
            dhcp6_per_link_set: true,
            ..default
        };
        assert_eq!(
            set.resolve(Some(1024)).dhcp6.per_link,
            default.dhcp6.per_link
        );
    }
}
