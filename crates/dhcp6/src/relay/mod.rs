//! The DHCPv6 relay agent: a sans-IO state machine that carries client
//! messages up to the servers in Relay-forward messages and unwraps the
//! servers' Relay-reply messages back down, and that snoops the prefixes
//! delegated through it so the delegated networks are routed.
//!
//! Implements, from RFC 8415 (the text checked; RFC 9915 obsoletes it):
//! §7.6 (HOP_COUNT_LIMIT), §19.1.1 (relaying a client message: hop-count
//! 0, link-address, peer-address, Interface-ID when the link-address
//! cannot identify the link), §19.1.2 (relaying a Relay-forward: hop-count
//! plus one, discarded at the limit), §19.2 (relaying a Relay-reply: the link
//! by Interface-ID, else by link-address; the inner message to the
//! peer-address, port 546 for a client and 547 for a further relay),
//! §21.18 (Interface-ID). RFC 4649 (Remote-ID) and RFC 4580
//! (Subscriber-ID) are added when configured.
//!
//! RFC 8987 §4 and RFC 9818 LPD-5: a relay between a delegating and a
//! requesting router installs a route to every prefix delegated through
//! it, via the requesting router's address on the downstream link, keeps
//! it for the valid lifetime, and removes it when the lease ends (lifetime
//! 0 in a Reply, a Reply to the client's Release or Decline, expiry). Only
//! Relay-replies from the configured servers are believed (RFC 8987 §6):
//! with no servers configured (ff05::1:3), any sender on the upstream side.
//!
//! Not implemented: the Relay Source Port option (RFC 8357), the Client
//! Link-Layer Address option (RFC 6939: the machine does not see link-layer
//! headers), snooping in a chain of relays (only the relay closest to the
//! client installs routes: its inner message is the client's Reply).
//!
//! # Method grammar (quinn-proto's, style guide §3)
//! Getters take `&self` (`status`, `snooped`, `counters`, `poll_timeout`);
//! `handle_packet` and `handle_timeout` take input; `poll_output` drains
//! output. For each input the outputs come as: its [`Transmit`]s, then its
//! [`KernelOp`]s, then its [`SnoopChange`]s ([`RelayOutput`]).
//!
//! # Panic contract
//! No input from the network or the clock makes the machine panic. Input
//! that is malformed or breaks the protocol is counted under a
//! [`DropReason`], traced at debug level, and otherwise ignored.

mod machine;
mod snoop;

pub use machine::Relay;

use std::collections::BTreeMap;
use std::net::Ipv6Addr;
use v6edge_core::{IfIndex, Instant, KernelOp, Transmit};
use v6edge_prefix::Prefix;
use v6edge_wire::dhcp6::Duid;

/// All_DHCP_Servers, ff05::1:3 (RFC 8415 §7.1): where the relay sends
/// when no server address is configured.
pub const ALL_DHCP_SERVERS: Ipv6Addr = Ipv6Addr::new(0xff05, 0, 0, 0, 0, 0, 1, 3);

/// RFC 8415 §7.6: HOP_COUNT_LIMIT.
pub const HOP_COUNT_LIMIT: u8 = 8;

/// How the relay runs (the relay contract, issue 5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayConfig {
    /// The client-facing interfaces.
    pub downstream: Vec<Downstream>,
    /// The server-facing interface.
    pub upstream_ifindex: IfIndex,
    /// Unicast server addresses; empty: [`ALL_DHCP_SERVERS`] on the
    /// upstream interface.
    pub servers: Vec<Ipv6Addr>,
    /// Relay-forwards arriving with this hop-count or more are discarded
    /// (RFC 8415 §19.1.2).
    pub hop_count_limit: u8,
    /// Install routes to snooped prefixes (the snooping itself always runs,
    /// so `v6edge leases` can show the delegations).
    pub routes: bool,
}

impl RelayConfig {
    /// No downstream interfaces, ff05::1:3, hop-count limit 8, routes on.
    pub fn new(upstream_ifindex: IfIndex) -> RelayConfig {
        RelayConfig {
            downstream: Vec::new(),
            upstream_ifindex,
            servers: Vec::new(),
            hop_count_limit: HOP_COUNT_LIMIT,
            routes: true,
        }
    }
}

/// One client-facing interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downstream {
    pub ifindex: IfIndex,
    /// A global address of the interface, sent as link-address. `None`:
    /// `::` and an Interface-ID (RFC 8415 §19.1.1).
    pub link_address: Option<Ipv6Addr>,
    /// The Interface-ID option's value (the daemon's default: the
    /// interface name).
    pub interface_id: Vec<u8>,
    /// Send the Interface-ID even when there is a link-address.
    pub always_interface_id: bool,
    /// RFC 4649 Remote-ID: enterprise number and identifier.
    pub remote_id: Option<(u32, Vec<u8>)>,
    /// RFC 4580 Subscriber-ID.
    pub subscriber_id: Option<Vec<u8>>,
}

impl Downstream {
    /// An interface without link-address (so with Interface-ID), Remote-ID
    /// or Subscriber-ID.
    pub fn new(ifindex: IfIndex, interface_id: impl Into<Vec<u8>>) -> Downstream {
        Downstream {
            ifindex,
            link_address: None,
            interface_id: interface_id.into(),
            always_interface_id: false,
            remote_id: None,
            subscriber_id: None,
        }
    }

    /// RFC 8415 §19.1.1: the Interface-ID goes in when the link-address
    /// cannot identify the link, or when configured to always.
    pub fn sends_interface_id(&self) -> bool {
        self.always_interface_id || self.link_address.is_none()
    }
}

/// A delegated prefix seen in a Reply on its way to the requesting router
/// (RFC 8987 §4), and the route it got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snooped {
    pub prefix: Prefix,
    /// The requesting router's address on the downstream link (the
    /// Relay-reply's peer-address, usually link-local).
    pub next_hop: Ipv6Addr,
    /// The downstream interface the route goes out of.
    pub ifindex: IfIndex,
    pub client_duid: Duid,
    pub iaid: u32,
    /// End of the valid lifetime; `Instant::from_micros(u64::MAX)` for an
    /// infinite one.
    pub valid_until: Instant,
}

/// A change to the snooped delegations for the daemon to persist
/// (relay-bindings.json) and hand back to [`Relay::restore`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnoopChange {
    /// Insert or replace the record keyed by its prefix.
    Upsert(Snooped),
    Remove(Prefix),
}

/// What the relay asks of the daemon, in order (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelayOutput {
    Transmit(Transmit),
    Kernel(KernelOp),
    Snoop(SnoopChange),
}

/// Why a received datagram was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum DropReason {
    /// Syntax: the codec rejected it.
    Malformed,
    /// A client message or Relay-forward not from a downstream interface.
    NotDownstream,
    /// A Relay-reply received on a downstream interface (servers sit on
    /// the upstream side).
    NotUpstream,
    /// RFC 8415 §19.1.2: hop-count at or above the limit.
    HopLimit,
    /// A Relay-reply from an address not among the configured servers
    /// (RFC 8987 §6).
    ForeignServer,
    /// A relay message without a Relay Message option, or a Relay-reply
    /// carrying a Relay-forward.
    BadRelayMessage,
    /// A Relay-reply whose Interface-ID and link-address name none of the
    /// downstream interfaces.
    UnknownInterface,
    /// A source or peer-address that cannot be answered (unspecified or
    /// multicast).
    BadPeerAddress,
}

/// Counters by direction, by drop reason, and by route change.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RelayCounters {
    /// Received messages relayed towards the servers (one per received
    /// message, however many servers it went to).
    pub forwarded_up: u64,
    /// Relay-replies unwrapped towards clients or further relays.
    pub forwarded_down: u64,
    pub dropped: BTreeMap<DropReason, u64>,
    /// Snooped prefixes skipped: not a valid prefix (host bits, length),
    /// a default, link-local or multicast prefix, or a Reply without a
    /// Client Identifier.
    pub snoop_rejected: u64,
    pub routes_added: u64,
    /// Lifetime changes and prefixes that moved to another client.
    pub routes_updated: u64,
    pub routes_removed: u64,
}

impl RelayCounters {
    pub fn dropped(&self, r: DropReason) -> u64 {
        self.dropped.get(&r).copied().unwrap_or(0)
    }

    pub fn dropped_total(&self) -> u64 {
        self.dropped.values().sum()
    }
}

/// Plain data for the control socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayStatus {
    /// Snooped delegations.
    pub snooped: usize,
    /// Releases and Declines seen on the way up, awaiting their Reply.
    pub pending_releases: usize,
    pub counters: RelayCounters,
}
