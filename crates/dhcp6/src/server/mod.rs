//! The DHCPv6 server of a delegating router: a sans-IO state machine that
//! hands out addresses (IA_NA) and delegated prefixes (IA_PD) from pools,
//! and asks the daemon to store every lease and route every prefix.
//!
//! Implements, from RFC 8415 (the text checked; RFC 9915 obsoletes it):
//! §16 (message validation), §18.3.1 (Solicit, Rapid Commit), §18.3.2
//! (Request), §18.3.3 (Confirm), §18.3.4 (Renew), §18.3.5 (Rebind),
//! §18.3.6 (Information-request), §18.3.7 (Release), §18.3.8 (Decline),
//! §18.4 (unicast: UseMulticast), §19.3 (Relay-reply construction),
//! §21.8 (Preference), §21.23–§21.25 (Information Refresh Time, SOL_MAX_RT,
//! INF_MAX_RT, only when the ORO asks: KAME X21). RFC 7550 §4.1: NoAddrsAvail
//! and NoPrefixAvail go inside the IA, never at top level. RFC 6603 §4.3
//! (prefix exclude, see [`PrefixPool::exclude_first`]). RFC 6939 (client
//! link-layer address, for reservations). RFC 9818 LPD-5 and RFC 8987: a
//! route to every delegated prefix via the requesting router, removed on
//! Release, Decline, expiry and revocation. §18.3.11, §20.4, §21.11,
//! §21.19, §21.20 (Reconfigure with the Reconfigure Key Authentication
//! Protocol, see below and `reconf.rs`).
//!
//! # Reconfigure
//! A client that sends Reconfigure Accept in a message answered with
//! leases (Solicit with Rapid Commit, Request, Renew, Rebind) gets a
//! reconfigure key, made once per client and kept with its leases
//! ([`Lease::reconfigure`]), in the Reply along with Reconfigure Accept.
//! When leases are revoked ([`Server::reconfigure`], or [`Server::restore`]
//! with leases that no longer fit), every client that has a newly revoked
//! lease and a key is sent a signed Reconfigure (Renew) at once, again after
//! 2, 4, 8, ... s (REC_TIMEOUT doubling, REC_MAX_RC transmissions in all),
//! until it sends a Renew, Rebind or Information-request or no longer has
//! revoked leases. New keys need [`ServerConfig::reconfigure`].
//!
//! Not implemented: authentication other than RKAP (ignored on receipt),
//! Reconfigure asking for Rebind or Information-request, the Server Unicast option (never sent; with [`ServerConfig::unicast`] the
//! server accepts unicast anyway), IA_TA (answered with NoAddrsAvail), the
//! Relay Source Port option (RFC 8357; replies always go to port 547).
//!
//! # Method grammar (quinn-proto's, style guide §3)
//! Getters take `&self` (`status`, `leases`, `poll_timeout`); `handle_packet`
//! and `handle_timeout` take input; `reconfigure` is the admin command;
//! `poll_output` drains output. Outputs come in the order of the contract:
//! for each input, its [`LeaseOp`]s, then its Transmit, then its
//! `KernelOp`s, then notices; the daemon makes the
//! LeaseOps durable before it sends or routes anything queued after them.
//!
//! # Link selection (pool choice)
//! A direct client is served by the [`LinkConfig`] whose selector is
//! [`LinkSelector::Interface`] of the ingress interface. A relayed client
//! (Relay-forward at any depth) by the relay closest to it: its
//! link-address inside a [`LinkSelector::RelayLinkAddress`] prefix; when
//! that link-address is `::` or link-local (RFC 8415 §19.1.1: the relay had
//! no usable address on the client's link), its Interface-ID equal to a
//! [`LinkSelector::RelayInterfaceId`]. No match: the message is dropped
//! ([`DropReason::UnknownLink`]), except Information-request, which needs
//! no link.
//!
//! # Panic contract
//! No input from the network, the clock or the admin API makes the machine
//! panic. Peer input that is malformed or breaks the protocol is counted
//! under a [`DropReason`], traced at debug level, and otherwise ignored.

mod alloc;
mod lease;
mod machine;
mod pipeline;
mod policy;
mod reconf;

pub use lease::{Lease, LeaseKind, LeaseOp, LinkId};
pub use machine::Server;
pub use reconf::{
    REC_MAX_RC, REC_TIMEOUT, ReconfigureAuth, ReconfigureContext, ReconfigurePath, RelayHop,
};

use std::collections::BTreeMap;
use std::net::Ipv6Addr;
use std::time::Duration;
use v6edge_core::{IfIndex, Instant, KernelOp, Transmit};
use v6edge_prefix::Prefix;
use v6edge_prefix::pool::{AddressRange, PoolError, PrefixPool as PrefixAllocator};
use v6edge_wire::dhcp6::{DomainName, Duid, MessageType};

/// How the server runs. Build with [`ServerConfig::new`] and check with
/// [`ServerConfig::validate`]; [`Server::new`] skips (and logs) the pools
/// and reservations that validation would reject.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    /// RFC 8415 §11: stable across restarts; the daemon stores it.
    pub duid: Duid,
    /// RFC 8415 §21.8: sent in Advertise when not 0.
    pub preference: u8,
    /// RFC 8415 §18.3.1: answer a Solicit carrying Rapid Commit with a
    /// committed Reply.
    pub rapid_commit: bool,
    pub links: Vec<LinkConfig>,
    pub reservations: Vec<Reservation>,
    pub options: StatelessOptions,
    /// T1 and T2 as fractions of the shortest preferred lifetime in an IA
    /// (RFC 8415 §21.4: 0.5 and 0.8 recommended).
    pub t1_ratio: f64,
    pub t2_ratio: f64,
    /// Accept Request, Renew, Release and Decline sent by unicast. When
    /// false they are answered with UseMulticast (RFC 8415 §18.4). The
    /// Server Unicast option is never sent. Solicit, Confirm, Rebind and
    /// Information-request by unicast are always discarded (§16).
    pub unicast: bool,
    /// How long a declined address stays out of the pool (RFC 8415 §18.3.8
    /// leaves it to local policy). Not persisted across restarts.
    pub decline_probation: Duration,
    /// How many "last lease of this IA" entries to remember, so a client
    /// whose lease ran out gets the same prefix back when nobody took it.
    pub last_lease_memory: usize,
    /// The secret new reconfigure keys are derived from, and the replay
    /// counter's floor (RFC 8415 §20.4). `None`: no new keys are handed
    /// out; clients that already hold one are still reconfigured.
    pub reconfigure: Option<ReconfigureAuth>,
    /// At most this many leases per client link (the interface of a
    /// directly attached link, or a relay's link); `None`: no cap. A new
    /// lease past it is refused with NoAddrsAvail / NoPrefixAvail; leases
    /// held are renewed as usual.
    pub max_leases_per_link: Option<usize>,
    /// At most this many leases per client link-layer address (RFC 6939
    /// from the relay, else from a DUID-LL/LLT): one device cannot take a
    /// pool by making up DUIDs. Clients whose link-layer address is unknown
    /// are not capped by it. `None`: no cap.
    pub max_leases_per_link_layer_address: Option<usize>,
}

impl ServerConfig {
    /// No links, no pools, preference 0, T1/T2 0.5/0.8, no unicast, a day
    /// of decline probation, 65536 remembered leases.
    pub fn new(duid: Duid) -> ServerConfig {
        ServerConfig {
            duid,
            preference: 0,
            rapid_commit: false,
            links: Vec::new(),
            reservations: Vec::new(),
            options: StatelessOptions::default(),
            t1_ratio: 0.5,
            t2_ratio: 0.8,
            unicast: false,
            decline_probation: Duration::from_secs(86_400),
            last_lease_memory: 65_536,
            reconfigure: None,
            max_leases_per_link: None,
            max_leases_per_link_layer_address: None,
        }
    }

    /// Every problem with this configuration; `Ok` when there is none.
    pub fn validate(&self) -> Result<(), Vec<ServerConfigError>> {
        let mut errors = Vec::new();
        if !(0.0..=1.0).contains(&self.t1_ratio)
            || !(0.0..=1.0).contains(&self.t2_ratio)
            || self.t1_ratio > self.t2_ratio
        {
            errors.push(ServerConfigError::BadRatios {
                t1: self.t1_ratio,
                t2: self.t2_ratio,
            });
        }
        for d in &self.options.domains {
            if DomainName::new(d).is_err() {
                errors.push(ServerConfigError::BadDomain(d.clone()));
            }
        }
        let built = alloc::build_pools(&self.links);
        errors.extend(built.errors);
        let reservations = alloc::Reservations::build(&self.reservations, &built.pools);
        errors.extend(reservations.errors);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// One link the server serves and its pools.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkConfig {
    pub id: LinkSelector,
    pub address_pools: Vec<AddressPool>,
    pub prefix_pools: Vec<PrefixPool>,
}

/// Which clients a [`LinkConfig`] serves; see the module docs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LinkSelector {
    /// Clients on this directly attached interface.
    Interface(IfIndex),
    /// Relayed clients whose closest relay's link-address is inside.
    RelayLinkAddress(Prefix),
    /// Relayed clients whose closest relay gave link-address `::` (or a
    /// link-local one) and this Interface-ID.
    RelayInterfaceId(Vec<u8>),
}

/// An inclusive range of addresses for IA_NA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressPool {
    pub range_start: Ipv6Addr,
    pub range_end: Ipv6Addr,
    pub preferred: Duration,
    pub valid: Duration,
}

/// Delegated prefixes of one length cut from a base prefix, for IA_PD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefixPool {
    pub prefix: Prefix,
    pub delegated_len: u8,
    pub preferred: Duration,
    pub valid: Duration,
    /// RFC 6603: the first subnet of this length of every delegated prefix
    /// is in use on the link between server and client (a numbered
    /// point-to-point link, say) and is excluded from each delegation with
    /// OPTION_PD_EXCLUDE. Only clients that list OPTION_PD_EXCLUDE in their
    /// ORO are served from such a pool; RFC 6603 §4.3 forbids sending the
    /// option unasked, and delegating the link's own prefix without it
    /// would break the link.
    pub exclude_first: Option<u8>,
    /// Absolute ends no lifetime from this pool may pass: the pool's prefix
    /// is itself delegated to us, so what we hand out must end with it (RFC
    /// 9096 L-17, RFC 9818 LPD-4). Applied at the moment of each grant or
    /// extension, so a lease never outlives the upstream delegation however
    /// long after the pool was built it is given. `None`: no cap.
    pub ends: Option<LifetimeEnds>,
}

/// The absolute ends of a pool's lifetimes ([`PrefixPool::ends`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LifetimeEnds {
    pub preferred_until: Instant,
    pub valid_until: Instant,
}

/// A fixed lease for one client. A reservation matches a client when every
/// identifier it names matches (DUID, link-layer address from RFC 6939 or
/// from a DUID-LL/LLT). Its address and prefix must lie in a pool (their
/// lifetimes and link come from it) and are never given to anyone else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    pub duid: Option<Duid>,
    pub hw_addr: Option<Vec<u8>>,
    pub address: Option<Ipv6Addr>,
    pub prefix: Option<Prefix>,
}

/// Configuration given without a lease, each only to clients that list its
/// code in the ORO (KAME X21).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StatelessOptions {
    /// RFC 3646 §3.
    pub dns_servers: Vec<Ipv6Addr>,
    /// RFC 3646 §4. Names that are not valid domain names are skipped.
    pub domains: Vec<String>,
    /// RFC 5908 (server address suboptions).
    pub ntp_servers: Vec<Ipv6Addr>,
    /// RFC 8415 §21.23, in Reply to Information-request only.
    pub information_refresh: Option<Duration>,
    /// RFC 8415 §21.24.
    pub sol_max_rt: Option<Duration>,
    /// RFC 8415 §21.25, in Reply to Information-request only.
    pub inf_max_rt: Option<Duration>,
}

/// A configuration problem found by [`ServerConfig::validate`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ServerConfigError {
    #[error("pool {pool}: {source}")]
    Pool { pool: String, source: PoolError },
    #[error("pool {pool}: preferred lifetime above valid lifetime, or valid lifetime 0")]
    Lifetimes { pool: String },
    #[error(
        "pool {pool}: exclude_first /{len} must be longer than the delegated length and at most 128"
    )]
    BadExclude { pool: String, len: u8 },
    #[error("pool {pool} overlaps pool {other}")]
    Overlap { pool: String, other: String },
    #[error("reservation #{index}: names neither a DUID nor a link-layer address")]
    ReservationWithoutOwner { index: usize },
    #[error("reservation #{index}: {what} is not one of the pools' addresses or prefixes")]
    ReservationOutsidePools { index: usize, what: String },
    #[error("reservation #{index}: {what} is already reserved")]
    ReservationDuplicate { index: usize, what: String },
    #[error("T1/T2 ratios {t1}/{t2}: need 0 <= T1 <= T2 <= 1")]
    BadRatios { t1: f64, t2: f64 },
    #[error("`{0}` is not a valid domain name")]
    BadDomain(String),
}

/// What the server asks of the daemon, in order (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerOutput {
    Lease(LeaseOp),
    Transmit(Transmit),
    Kernel(KernelOp),
    Notice(ServerNotice),
}

/// A lease event for logs, metrics and hooks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerNotice {
    pub event: LeaseEvent,
    pub duid: Duid,
    pub iaid: u32,
    pub kind: LeaseKind,
    pub prefix: Prefix,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LeaseEvent {
    Granted,
    Renewed,
    Released,
    Declined,
    Expired,
    /// Ended by the server: no longer fits the configuration, reserved for
    /// another client, or the client moved to a link it does not fit.
    Revoked,
}

/// Why a received datagram was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum DropReason {
    /// Syntax: the codec rejected it (never answer a truncated message).
    Parse,
    /// A server-to-client or relay-reply message.
    NotForServer,
    /// A message type the server does not know (RFC 7283).
    UnknownType,
    /// A Relay-forward without a Relay Message option.
    RelayWithoutMessage,
    /// No Client Identifier (RFC 8415 §16).
    NoClientId,
    /// Request, Renew, Decline or Release without a Server Identifier.
    MissingServerId,
    /// A Server Identifier that is not ours.
    WrongServerId,
    /// Solicit, Confirm or Rebind carrying a Server Identifier.
    UnexpectedServerId,
    /// Information-request carrying IA options (RFC 8415 §16.12).
    IaInInformationRequest,
    /// Solicit, Confirm, Rebind or Information-request sent by unicast
    /// (RFC 8415 §16: discarded).
    UnicastNotAllowed,
    /// No configured link matches the ingress or the relay's link.
    UnknownLink,
    /// Confirm without addresses, or for a link without address pools:
    /// the server cannot tell (RFC 8415 §18.3.3).
    ConfirmUndecidable,
    /// Rebind for IAs the server knows nothing about and cannot judge
    /// (RFC 8415 §18.3.5).
    RebindUnknown,
    /// The answer would not fit in one UDP datagram ([`MAX_DATAGRAM`]
    /// octets), e.g. to a relayed message with thousands of IAs: not sent.
    AnswerTooLarge,
}

/// The most a UDP datagram over IPv6 carries without jumbograms: 65535
/// octets less the 8-octet UDP header (RFC 768, RFC 8200 §5).
pub const MAX_DATAGRAM: usize = 65_527;

/// Counters by message type (wire code of the client's message, for
/// relayed ones the innermost), by drop reason, and by lease event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServerCounters {
    pub received: BTreeMap<u8, u64>,
    /// By the type of the client-facing message (Advertise, Reply,
    /// Reconfigure: every transmission, retransmissions included).
    pub sent: BTreeMap<u8, u64>,
    pub dropped: BTreeMap<DropReason, u64>,
    /// Client messages that came through relays.
    pub relayed: u64,
    /// Unicast messages answered with UseMulticast.
    pub use_multicast: u64,
    pub leases_granted: u64,
    pub leases_renewed: u64,
    pub leases_released: u64,
    pub leases_declined: u64,
    pub leases_expired: u64,
    pub leases_revoked: u64,
    /// New leases refused by `max_leases_per_link`.
    pub refused_link_cap: u64,
    /// New leases refused by `max_leases_per_link_layer_address`.
    pub refused_client_cap: u64,
}

impl ServerCounters {
    pub fn received(&self, t: MessageType) -> u64 {
        self.received.get(&u8::from(t)).copied().unwrap_or(0)
    }

    pub fn sent(&self, t: MessageType) -> u64 {
        self.sent.get(&u8::from(t)).copied().unwrap_or(0)
    }

    pub fn dropped(&self, r: DropReason) -> u64 {
        self.dropped.get(&r).copied().unwrap_or(0)
    }

    pub fn dropped_total(&self) -> u64 {
        self.dropped.values().sum()
    }
}

/// How full one pool is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolUsage {
    pub link: LinkSelector,
    pub kind: LeaseKind,
    /// `2001:db8::100-2001:db8::1ff` or `2001:db8::/40 /56`.
    pub pool: String,
    /// Number of addresses or prefixes (saturating at `u128::MAX`).
    pub capacity: u128,
    /// Taken: leased, reserved, declined, or fenced off by a revoked lease.
    pub used: u128,
}

/// Plain data for the control socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerStatus {
    pub leases: usize,
    /// Leases that no longer fit the configuration, kept until the client
    /// is told (lifetimes 0) or they expire.
    pub revoked: usize,
    /// Declined addresses still in probation.
    pub declined: usize,
    pub pools: Vec<PoolUsage>,
    pub counters: ServerCounters,
}

fn describe_range(r: &AddressRange) -> String {
    format!("{}-{}", r.start(), r.end())
}

fn describe_prefix_pool(p: &PrefixAllocator) -> String {
    format!("{} /{}", p.base(), p.delegated_len())
}
