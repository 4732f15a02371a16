//! Per-interface advertising configuration and the protocol constants that
//! bound it (RFC 4861 §6.2.1, §10; RFC 9096 §4).
//!
//! Panic contract: nothing here panics. [`AdvertiserConfig::validate`]
//! reports values outside what the RFCs allow; the advertiser itself clamps
//! such values into range (with a warning) rather than refusing to run.

use std::time::Duration;

use v6edge_core::IfIndex;
use v6edge_wire::nd::RouterPreference;

/// RFC 4861 §10: the interval cap for the first advertisements after an
/// interface becomes advertising (or its content changes, §6.2.4).
pub const MAX_INITIAL_RTR_ADVERT_INTERVAL: Duration = Duration::from_secs(16);
/// RFC 4861 §10: how many advertisements use the capped interval.
pub const MAX_INITIAL_RTR_ADVERTISEMENTS: u8 = 3;
/// RFC 4861 §10: the upper bound on final advertisements (§6.2.5); we send one.
pub const MAX_FINAL_RTR_ADVERTISEMENTS: u8 = 3;
/// RFC 4861 §10: consecutive multicast RAs are at least this far apart (§6.2.6).
pub const MIN_DELAY_BETWEEN_RAS: Duration = Duration::from_secs(3);
/// RFC 4861 §10: solicited RAs are delayed by a random time up to this (§6.2.6).
pub const MAX_RA_DELAY_TIME: Duration = Duration::from_millis(500);
/// RFC 4861 §6.2.1: MaxRtrAdvInterval bounds.
pub const MAX_RTR_ADV_INTERVAL_MIN: Duration = Duration::from_secs(4);
pub const MAX_RTR_ADV_INTERVAL_MAX: Duration = Duration::from_secs(1800);
/// RFC 4861 §6.2.1: MinRtrAdvInterval is no less than 3 s.
pub const MIN_RTR_ADV_INTERVAL_MIN: Duration = Duration::from_secs(3);
/// RFC 4861 §6.2.1: AdvDefaultLifetime is 0 or at most 9000 s.
pub const MAX_ROUTER_LIFETIME: Duration = Duration::from_secs(9000);
/// RFC 4861 §6.2.1, §10: AdvReachableTime is at most MAX_REACHABLE_TIME (ms).
pub const MAX_REACHABLE_TIME_MS: u32 = 3_600_000;
/// RFC 8200 §5: the IPv6 minimum link MTU.
pub const IPV6_MIN_MTU: u32 = 1280;
/// RFC 9096 §4: ND_PREFERRED_LIMIT.
pub const ND_PREFERRED_LIMIT: Duration = Duration::from_secs(2700);
/// RFC 9096 §4: ND_VALID_LIMIT.
pub const ND_VALID_LIMIT: Duration = Duration::from_secs(5400);
/// Longest link-layer address we put in a Source Link-Layer Address option
/// (Ethernet is 6 octets, InfiniBand 20).
pub const MAX_LINK_LAYER_ADDR_LEN: usize = 30;

/// How one interface advertises (radvd's per-interface settings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdvertiserConfig {
    pub ifindex: IfIndex,
    /// Our link-layer address for the Source Link-Layer Address option
    /// (RFC 4861 §4.2: SHOULD be included); `None` to omit it.
    pub link_layer_addr: Option<Vec<u8>>,
    /// MinRtrAdvInterval (RFC 4861 §6.2.1): 3 s ..= 0.75 × max_interval.
    pub min_interval: Duration,
    /// MaxRtrAdvInterval (RFC 4861 §6.2.1): 4 s ..= 1800 s.
    pub max_interval: Duration,
    /// AdvDefaultLifetime, used when we are a default router: 0 or
    /// max_interval ..= 9000 s (RFC 4861 §6.2.1).
    pub router_lifetime: Duration,
    /// AdvReachableTime in milliseconds, 0 = unspecified.
    pub reachable_time: u32,
    /// AdvRetransTimer in milliseconds, 0 = unspecified.
    pub retrans_timer: u32,
    /// AdvCurHopLimit, 0 = unspecified.
    pub cur_hop_limit: u8,
    /// AdvLinkMTU; `None` omits the MTU option.
    pub mtu: Option<u32>,
    /// M flag.
    pub managed: bool,
    /// O flag.
    pub other_config: bool,
    /// Default Router Preference (RFC 4191 §2.2).
    pub preference: RouterPreference,
    /// Cap on PIO preferred lifetimes (RFC 9096 L-16, ND_PREFERRED_LIMIT).
    pub pio_preferred_limit: Duration,
    /// Cap on PIO valid lifetimes, and on RIO lifetimes (RFC 9096 L-16,
    /// ND_VALID_LIMIT).
    pub pio_valid_limit: Duration,
    /// RDNSS and DNSSL lifetime (RFC 8106 §5.1: SHOULD by default be at
    /// least 3 × MaxRtrAdvInterval).
    pub rdnss_lifetime: Duration,
    /// Whether to send Route Information options (RFC 4191, RFC 7084 L-3).
    pub route_info: bool,
}

impl AdvertiserConfig {
    /// The RFC defaults for `ifindex`: MaxRtrAdvInterval 600 s,
    /// MinRtrAdvInterval 0.33 × max, router lifetime 3 × max (RFC 4861
    /// §6.2.1), RFC 9096 limits, RDNSS lifetime 3 × max (RFC 8106 §5.1),
    /// M=0, O=1 (RFC 7084 L-9), RIOs on (L-3).
    pub fn new(ifindex: IfIndex) -> AdvertiserConfig {
        let max = Duration::from_secs(600);
        AdvertiserConfig {
            ifindex,
            link_layer_addr: None,
            min_interval: Duration::from_secs(198),
            max_interval: max,
            router_lifetime: max * 3,
            reachable_time: 0,
            retrans_timer: 0,
            cur_hop_limit: 64,
            mtu: None,
            managed: false,
            other_config: true,
            preference: RouterPreference::Medium,
            pio_preferred_limit: ND_PREFERRED_LIMIT,
            pio_valid_limit: ND_VALID_LIMIT,
            rdnss_lifetime: max * 3,
            route_info: true,
        }
    }

    /// Checks the RFC 4861 §6.2.1 bounds. The advertiser accepts any config
    /// (it clamps), so this is for the daemon to report mistakes at load.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.max_interval < MAX_RTR_ADV_INTERVAL_MIN
            || self.max_interval > MAX_RTR_ADV_INTERVAL_MAX
        {
            return Err(ConfigError::MaxInterval(self.max_interval));
        }
        let min_cap = self.max_interval.mul_f64(0.75);
        if self.min_interval < MIN_RTR_ADV_INTERVAL_MIN || self.min_interval > min_cap {
            return Err(ConfigError::MinInterval {
                min: self.min_interval,
                max: self.max_interval,
            });
        }
        if !self.router_lifetime.is_zero()
            && (self.router_lifetime < self.max_interval
                || self.router_lifetime > MAX_ROUTER_LIFETIME)
        {
            return Err(ConfigError::RouterLifetime {
                lifetime: self.router_lifetime,
                max_interval: self.max_interval,
            });
        }
        if self.reachable_time > MAX_REACHABLE_TIME_MS {
            return Err(ConfigError::ReachableTime(self.reachable_time));
        }
        if let Some(mtu) = self.mtu
            && mtu < IPV6_MIN_MTU
        {
            return Err(ConfigError::Mtu(mtu));
        }
        if let Some(lla) = &self.link_layer_addr
            && (lla.is_empty() || lla.len() > MAX_LINK_LAYER_ADDR_LEN)
        {
            return Err(ConfigError::LinkLayerAddr(lla.len()));
        }
        Ok(())
    }

    /// The config with every value forced into its allowed range, so the
    /// machine never emits an RA that RFC 4861 §6.2.1 forbids.
    pub(crate) fn sanitized(mut self) -> AdvertiserConfig {
        if let Err(error) = self.validate() {
            tracing::warn!(ifindex = self.ifindex, %error, "RA config out of range, clamping");
        }
        self.max_interval = self
            .max_interval
            .clamp(MAX_RTR_ADV_INTERVAL_MIN, MAX_RTR_ADV_INTERVAL_MAX);
        let min_cap = self
            .max_interval
            .mul_f64(0.75)
            .max(MIN_RTR_ADV_INTERVAL_MIN);
        self.min_interval = self.min_interval.clamp(MIN_RTR_ADV_INTERVAL_MIN, min_cap);
        if !self.router_lifetime.is_zero() {
            // Whole seconds on the wire: round the lower bound up so the
            // advertised value never falls below MaxRtrAdvInterval.
            let floor = Duration::from_secs(ceil_secs(self.max_interval));
            self.router_lifetime = self.router_lifetime.clamp(floor, MAX_ROUTER_LIFETIME);
        }
        self.reachable_time = self.reachable_time.min(MAX_REACHABLE_TIME_MS);
        self.mtu = self.mtu.filter(|&m| m >= IPV6_MIN_MTU);
        self.link_layer_addr = self
            .link_layer_addr
            .filter(|l| !l.is_empty() && l.len() <= MAX_LINK_LAYER_ADDR_LEN);
        // RFC 4191 §2.2: the reserved value (10) MUST NOT be sent.
        if self.preference == RouterPreference::Reserved {
            self.preference = RouterPreference::Medium;
        }
        self
    }

    /// The Router Lifetime field for a default router, in seconds.
    pub(crate) fn router_lifetime_secs(&self) -> u16 {
        // sanitized() keeps it at most 9000 s, so the conversion holds;
        // saturate anyway rather than wrap.
        u16::try_from(self.router_lifetime.as_secs()).unwrap_or(u16::MAX)
    }
}

impl Default for AdvertiserConfig {
    fn default() -> Self {
        AdvertiserConfig::new(0)
    }
}

fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// A configuration value outside what RFC 4861 §6.2.1 allows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("max_interval {0:?} is outside 4 s ..= 1800 s (RFC 4861 §6.2.1)")]
    MaxInterval(Duration),
    #[error(
        "min_interval {min:?} is outside 3 s ..= 0.75 × max_interval ({max:?}) (RFC 4861 §6.2.1)"
    )]
    MinInterval { min: Duration, max: Duration },
    #[error(
        "router_lifetime {lifetime:?} must be 0 or between max_interval ({max_interval:?}) and 9000 s (RFC 4861 §6.2.1)"
    )]
    RouterLifetime {
        lifetime: Duration,
        max_interval: Duration,
    },
    #[error("reachable_time {0} ms exceeds 3600000 ms (RFC 4861 §6.2.1)")]
    ReachableTime(u32),
    #[error("mtu {0} is below the IPv6 minimum of 1280")]
    Mtu(u32),
    #[error("link-layer address of {0} octets (want 1..=30)")]
    LinkLayerAddr(usize),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert_eq!(AdvertiserConfig::new(3).validate(), Ok(()));
    }

    #[test]
    fn sanitize_clamps_into_rfc_4861_ranges() {
        let c = AdvertiserConfig {
            min_interval: Duration::from_secs(1),
            max_interval: Duration::from_secs(4000),
            router_lifetime: Duration::from_secs(60_000),
            reachable_time: u32::MAX,
            mtu: Some(1000),
            link_layer_addr: Some(vec![]),
            preference: RouterPreference::Reserved,
            ..AdvertiserConfig::new(1)
        };
        assert!(c.validate().is_err());
        let s = c.sanitized();
        assert_eq!(s.max_interval, Duration::from_secs(1800));
        assert_eq!(s.min_interval, Duration::from_secs(3));
        assert_eq!(s.router_lifetime, Duration::from_secs(9000));
        assert_eq!(s.reachable_time, MAX_REACHABLE_TIME_MS);
        assert_eq!(s.mtu, None);
        assert_eq!(s.link_layer_addr, None);
        assert_eq!(s.preference, RouterPreference::Medium);
        assert_eq!(s.validate(), Ok(()));
    }

    #[test]
    fn router_lifetime_raised_to_max_interval() {
        let c = AdvertiserConfig {
            min_interval: Duration::from_secs(3),
            max_interval: Duration::from_millis(4500),
            router_lifetime: Duration::from_secs(1),
            ..AdvertiserConfig::new(1)
        };
        assert_eq!(c.sanitized().router_lifetime_secs(), 5);
        let zero = AdvertiserConfig {
            router_lifetime: Duration::ZERO,
            ..AdvertiserConfig::new(1)
        };
        assert_eq!(zero.sanitized().router_lifetime_secs(), 0);
    }
}
