//! What an advertiser reports: counters and schedule, as plain data for the
//! control socket and metrics.
//!
//! Panic contract: nothing here panics.

use std::net::Ipv6Addr;

use v6edge_core::Instant;

/// Where the advertiser is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AdvertiserPhase {
    /// Created, not started: silent.
    #[default]
    Idle,
    /// An advertising interface (RFC 4861 §6.2.2).
    Advertising,
    /// Stopped after the final RA (RFC 4861 §6.2.5): silent.
    Stopped,
}

/// Why a received packet was ignored. Syntax (`Malformed`), protocol
/// violations (`HopLimit`, `UnspecifiedSourceWithLla`,
/// `NotLinkLocalSource`), and local policy (the rest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DropReason {
    /// The codec rejected it (truncated, bad option, non-zero code).
    Malformed,
    /// RFC 4861 §6.1.1 / §6.1.2: hop limit other than 255.
    HopLimit,
    /// RFC 4861 §6.1.1: RS from :: carrying a Source Link-Layer Address.
    UnspecifiedSourceWithLla,
    /// RFC 4861 §6.1.2: RA whose source is not link-local.
    NotLinkLocalSource,
    /// An RS while not advertising.
    NotAdvertising,
    /// A second RS from the same host within MIN_DELAY_BETWEEN_RAS of its
    /// unicast answer (or while one is pending).
    RateLimited,
    /// Some other ICMPv6 or ND message (NS, NA, Redirect, Echo, ...).
    NotRouterDiscovery,
    /// Delivered with another interface's index.
    WrongInterface,
}

impl DropReason {
    pub const ALL: [DropReason; 8] = [
        DropReason::Malformed,
        DropReason::HopLimit,
        DropReason::UnspecifiedSourceWithLla,
        DropReason::NotLinkLocalSource,
        DropReason::NotAdvertising,
        DropReason::RateLimited,
        DropReason::NotRouterDiscovery,
        DropReason::WrongInterface,
    ];

    /// A metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::Malformed => "malformed",
            DropReason::HopLimit => "hop_limit",
            DropReason::UnspecifiedSourceWithLla => "unspecified_source_with_lla",
            DropReason::NotLinkLocalSource => "not_link_local_source",
            DropReason::NotAdvertising => "not_advertising",
            DropReason::RateLimited => "rate_limited",
            DropReason::NotRouterDiscovery => "not_router_discovery",
            DropReason::WrongInterface => "wrong_interface",
        }
    }

    fn index(self) -> usize {
        match self {
            DropReason::Malformed => 0,
            DropReason::HopLimit => 1,
            DropReason::UnspecifiedSourceWithLla => 2,
            DropReason::NotLinkLocalSource => 3,
            DropReason::NotAdvertising => 4,
            DropReason::RateLimited => 5,
            DropReason::NotRouterDiscovery => 6,
            DropReason::WrongInterface => 7,
        }
    }
}

/// Drop counters, one per [`DropReason`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DropCounts([u64; DropReason::ALL.len()]);

impl DropCounts {
    pub fn get(&self, reason: DropReason) -> u64 {
        self.0[reason.index()]
    }

    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// (reason, count) for every reason, zeros included.
    pub fn iter(&self) -> impl Iterator<Item = (DropReason, u64)> + '_ {
        DropReason::ALL.iter().map(|&r| (r, self.get(r)))
    }

    pub(crate) fn add(&mut self, reason: DropReason) {
        let slot = &mut self.0[reason.index()];
        *slot = slot.saturating_add(1);
    }
}

/// A snapshot of one advertiser.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AdvertiserStatus {
    pub phase: AdvertiserPhase,
    /// RA packets sent to ff02::1 (a split RA counts once per packet).
    pub ra_sent_multicast: u64,
    /// RA packets sent unicast (RFC 7772): to soliciting hosts, and on
    /// urgent changes (those also counted in `urgent_unicast`).
    pub ra_sent_unicast: u64,
    /// RA packets sent unicast to known hosts because an urgent change came
    /// while MIN_DELAY_BETWEEN_RAS held the multicast RA back.
    pub urgent_unicast: u64,
    /// Urgent changes seen (a prefix added, deprecated or removed, Router
    /// Lifetime becoming 0), whether or not unicast RAs were needed.
    pub urgent_changes: u64,
    /// Multicast RAs brought forward because a renewal lengthened
    /// advertised lifetimes that hosts would otherwise see run out first.
    pub lifetime_refreshes: u64,
    /// Hosts that would get a unicast RA on an urgent change.
    pub known_hosts: usize,
    /// Router Solicitations seen, including those then dropped.
    pub rs_received: u64,
    /// RAs from other routers seen, including those then dropped.
    pub ra_received: u64,
    /// Valid RAs from other routers that disagree with ours (RFC 4861 §6.2.7).
    pub ra_inconsistent: u64,
    pub last_inconsistent_router: Option<Ipv6Addr>,
    pub dropped: DropCounts,
    /// Content items from the policy that could not be advertised
    /// (duplicates, unencodable names, multicast DNS server addresses).
    pub content_items_dropped: u64,
    /// Router Lifetime of the last RA sent, seconds.
    pub last_router_lifetime: Option<u16>,
    pub last_sent_at: Option<Instant>,
    pub last_multicast_at: Option<Instant>,
    pub next_multicast_at: Option<Instant>,
    /// Fast RAs still to come (RFC 4861 §6.2.4).
    pub initial_remaining: u8,
    pub pending_unicast: usize,
}
