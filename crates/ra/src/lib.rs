//! Sans-IO Router Advertisement sender for one LAN interface.
//!
//! # Implemented
//! - RFC 4861 §6.2.1–§6.2.7: advertising-interface configuration bounds,
//!   RA content, unsolicited RAs at random intervals with fast initial ones,
//!   the final RA with Router Lifetime 0, answering Router Solicitations
//!   (random delay up to MAX_RA_DELAY_TIME, multicast rate limit
//!   MIN_DELAY_BETWEEN_RAS), consistency checks on other routers' RAs;
//!   §6.1.1–§6.1.2 validation of received RS/RA.
//! - RFC 4191 §2.2–§2.3: Default Router Preference, Route Information.
//! - RFC 8106 §5.1–§5.2: RDNSS and DNSSL.
//! - RFC 7772: unicast solicited RAs, rate-limited per host; unicast RAs
//!   to the hosts we know when an urgent change (a prefix added, deprecated
//!   or removed, Router Lifetime becoming 0) comes while MIN_DELAY_BETWEEN_RAS
//!   holds the multicast RA back, so hosts learn it at once (RFC 9096 L-13,
//!   RFC 7084 G-5 "immediately"); see [`Advertiser`]'s module docs.
//! - RFC 9096 §4: L-13 (deprecated prefixes with a real-time countdown),
//!   L-15/L-16 (PIO lifetimes ≤ remaining delegation and ≤ 2700/5400 s).
//! - RFC 7084: G-4, G-5, L-3, L-4, L-5, ULA-5 (Router Lifetime 0 rules).
//! - RFC 6275 §7.1–§7.4: H flag and Home Agent Information option,
//!   R-flag PIO with the router's address, Advertisement Interval option.
//! - RA as a per-link service: [`LinkContributions`] merges what several
//!   roles want advertised on one link into one [`AdvertContent`].
//!
//! Every RA fits in 1240 octets (1280-octet minimum MTU less the IPv6
//! header); content that does not fit is split over several complete RAs.
//!
//! # Use
//! [`Advertiser::new`], then [`Advertiser::set_content`] and
//! [`Advertiser::start`]; feed received ICMPv6 with
//! [`Advertiser::handle_packet`] and time with
//! [`Advertiser::handle_timeout`]; optionally report hosts seen elsewhere
//! with [`Advertiser::note_neighbor`]; after every call drain
//! [`Advertiser::poll_transmit`] and sleep until
//! [`Advertiser::poll_timeout`]. The driver's raw socket must not loop its
//! own multicast RAs back (IPV6_MULTICAST_LOOP off), or they are checked as
//! another router's.
//!
//! When several roles advertise on one link, keep one
//! [`LinkContributions`] beside the link's one advertiser:
//! [`LinkContributions::set`] each role's content as it changes (or
//! [`LinkContributions::remove`] it), and when `set` reports a change pass
//! [`LinkContributions::merged`] to [`Advertiser::set_content`].
//!
//! # Panic contract
//! No public function panics, for any bytes, content, config or instants.

mod advertiser;
mod config;
mod content;
mod hosts;
mod merge;
mod status;

pub use advertiser::{ALL_NODES, Advertiser};
pub use config::{
    AdvertiserConfig, ConfigError, IPV6_MIN_MTU, MAX_FINAL_RTR_ADVERTISEMENTS,
    MAX_INITIAL_RTR_ADVERT_INTERVAL, MAX_INITIAL_RTR_ADVERTISEMENTS, MAX_RA_DELAY_TIME,
    MAX_REACHABLE_TIME_MS, MAX_ROUTER_LIFETIME, MIN_DELAY_BETWEEN_RAS, ND_PREFERRED_LIMIT,
    ND_VALID_LIMIT,
};
pub use content::{AdvHomeAgent, AdvPrefix, AdvRoute, AdvertContent, DeprecatedPrefix, MAX_RA_LEN};
pub use hosts::{KNOWN_HOST_TTL, KnownHost, MAX_KNOWN_HOSTS, URGENT_UNICAST_INTERVAL};
pub use merge::LinkContributions;
pub use status::{AdvertiserPhase, AdvertiserStatus, DropCounts, DropReason};
pub use v6edge_wire::nd::RouterPreference;
