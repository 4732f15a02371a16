//! The DHCPv6 client of a requesting router: a sans-IO state machine that
//! obtains delegated prefixes (IA_PD) and optionally an address (IA_NA) on
//! the uplink.
//!
//! Implements, from RFC 8415: §15 (retransmission), §16 (message
//! validation), §18.2.1 (Solicit), §18.2.2 (Request), §18.2.4 (Renew),
//! §18.2.5 (Rebind), §18.2.6 (Information-request after Reconfigure),
//! §18.2.7 (Release), §18.2.9 (Advertise selection), §18.2.10 (Reply),
//! §18.2.11 (Reconfigure), §18.2.12 (link change: Rebind), §20.4 (Reconfigure
//! Key Authentication), §21.24 (SOL_MAX_RT). From RFC 7084: W-5 (IA_NA and
//! IA_PD in one session), WPD-6 (IA_PD accepted without addresses). From
//! RFC 9096: WPD-9 (no Release on restart unless asked). RFC 6603 prefix
//! exclude is reported with each prefix.
//!
//! # Method grammar (quinn-proto's)
//! Getters take `&self` (`status`, `stored_binding`, `poll_timeout`);
//! `handle_*` feed input from the network, the link and the clock; `release`,
//! `renew_now`, `reconfigure`, `stop` are admin commands; `poll_transmit` and
//! `poll_event` drain output. After any input, drain `poll_transmit`, then
//! `poll_event`, then re-arm the timer from `poll_timeout`. Time is always
//! passed in and must not go backwards.
//!
//! Transmits always go to All_DHCP_Relay_Agents_and_Servers (ff02::1:2)
//! from port 546 to 547 on the uplink, source chosen by the kernel.
//! Deviation: Server Unicast (RFC 8415 §21.12) is ignored; RFC 9915 has
//! obsoleted it.
//!
//! # A broken or hostile server
//! Local policy, beyond RFC 8415's own checks (tests in
//! `tests/client_hostile.rs`): delegated prefixes and addresses outside
//! global unicast and unique local space are ignored; an IA holds at most
//! [`MAX_LEASES_PER_IA`] leases and each DNS/domain/NTP list
//! [`MAX_INFO_ITEMS`] entries; only the best Advertise is kept while
//! collecting; Solicit → Request cycles that bind nothing back off, IRT
//! doubling per cycle up to the Solicit's MRT; T1/T2 of 0 with every
//! lifetime infinite become 12 h / 19.2 h. Parts left out of accepted
//! messages are counted by [`IgnoredReason`].
//!
//! # Panic contract
//! No input from the network, the clock or the admin API makes the machine
//! panic. Peer input that is malformed or breaks the protocol is counted
//! under a [`DropReason`], traced at debug level, and otherwise ignored.

mod codec;
mod ia;
mod machine;
pub mod retrans;
mod state;

pub use machine::Client;

use std::collections::BTreeMap;
use std::net::Ipv6Addr;
use std::time::Duration;
use v6edge_core::{IfIndex, Instant};
use v6edge_prefix::Prefix;
use v6edge_wire::Lifetime;
use v6edge_wire::dhcp6::{Duid, MessageType, OptionCode};

/// How the client runs on one uplink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    pub ifindex: IfIndex,
    /// RFC 7084 W-6: persistent across restarts; the daemon stores it.
    pub duid: Duid,
    /// RFC 9096 WPD-10: IAIDs stable across restarts.
    pub ia_pds: Vec<IaPdConfig>,
    pub ia_na: Option<IaNaConfig>,
    /// RFC 8415 §18.2.1: send Rapid Commit in Solicit.
    pub rapid_commit: bool,
    /// RFC 8415 §18.2.11: send Reconfigure Accept and honour authenticated
    /// Reconfigure messages.
    pub reconfigure_accept: bool,
    /// Extra option codes for the ORO. SOL_MAX_RT is always requested in
    /// Solicit/Request/Renew/Rebind, INF_MAX_RT and the Information Refresh
    /// Time only in Information-request (RFC 8415 §21.23–§21.25), whatever
    /// this list says.
    pub requested_options: Vec<OptionCode>,
    /// Release on [`Client::stop`]. RFC 9096 WPD-9: off by default.
    pub release_on_stop: bool,
}

impl ClientConfig {
    /// A PD-only client requesting DNS servers, the domain list and prefix
    /// exclusion (RFC 7084 WAA-4, WPD-8).
    pub fn new(ifindex: IfIndex, duid: Duid, ia_pds: Vec<IaPdConfig>) -> ClientConfig {
        ClientConfig {
            ifindex,
            duid,
            ia_pds,
            ia_na: None,
            rapid_commit: false,
            reconfigure_accept: false,
            requested_options: vec![
                OptionCode::DnsServers,
                OptionCode::DomainList,
                OptionCode::PdExclude,
            ],
            release_on_stop: false,
        }
    }
}

/// One IA_PD to request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IaPdConfig {
    pub iaid: u32,
    /// RFC 7084 WPD-2: the prefix length to hint (`::/len`).
    pub hint_len: Option<u8>,
    /// The prefix held before a restart, asked for again; wins over `hint_len`.
    pub hint_prefix: Option<Prefix>,
}

/// The IA_NA to request alongside the IA_PDs (RFC 7084 W-5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IaNaConfig {
    pub iaid: u32,
}

/// What the client reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientEvent {
    /// The full current set after any change: a lease gained, renewed,
    /// changed, removed or expired, or new stateless information.
    Changed(Leases),
    /// The client stopped (after [`Client::release`] or [`Client::stop`]);
    /// it sends nothing more until [`Client::renew_now`].
    Stopped,
}

/// Everything the client currently holds.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Leases {
    pub server_duid: Option<Duid>,
    pub prefixes: Vec<DelegatedPrefix>,
    pub addresses: Vec<LeasedAddress>,
    pub dns_servers: Vec<Ipv6Addr>,
    pub domains: Vec<String>,
    /// NTP server addresses (RFC 5908 suboptions 1 and 2).
    pub ntp_servers: Vec<Ipv6Addr>,
    /// The last valid SOL_MAX_RT a server sent (RFC 8415 §21.24).
    pub sol_max_rt: Option<Duration>,
    /// The last Information Refresh Time received (RFC 8415 §21.23),
    /// raised to IRT_MINIMUM.
    pub information_refresh: Option<Duration>,
}

/// A delegated prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DelegatedPrefix {
    pub iaid: u32,
    pub prefix: Prefix,
    /// `None` = infinite.
    pub preferred_until: Option<Instant>,
    /// `None` = infinite.
    pub valid_until: Option<Instant>,
    /// RFC 6603: not to be assigned to any downstream link.
    pub exclude: Option<Prefix>,
}

/// An address from the IA_NA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeasedAddress {
    pub iaid: u32,
    pub addr: Ipv6Addr,
    pub preferred_until: Option<Instant>,
    pub valid_until: Option<Instant>,
}

/// What the daemon persists so a restarted client can Rebind for what it
/// held (RFC 8415 §18.2.5). Lifetimes are what remained at the moment of
/// [`Client::stored_binding`]; turning them into wall-clock expiry is the
/// daemon's job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBinding {
    pub server_duid: Option<Duid>,
    pub prefixes: Vec<StoredPrefix>,
    pub addresses: Vec<StoredAddress>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPrefix {
    pub iaid: u32,
    pub prefix: Prefix,
    pub preferred: Lifetime,
    pub valid: Lifetime,
    pub exclude: Option<Prefix>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAddress {
    pub iaid: u32,
    pub addr: Ipv6Addr,
    pub preferred: Lifetime,
    pub valid: Lifetime,
}

/// Which state the client is in (names as the control socket shows them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientStateKind {
    /// Link down or not yet reported up; bindings kept.
    WaitingLink,
    Soliciting,
    Requesting,
    Bound,
    Renewing,
    Rebinding,
    /// Information-request in answer to a Reconfigure.
    InformationRequesting,
    Releasing,
    /// Stopped by `release` or `stop`.
    Released,
}

impl ClientStateKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ClientStateKind::WaitingLink => "waiting-link",
            ClientStateKind::Soliciting => "soliciting",
            ClientStateKind::Requesting => "requesting",
            ClientStateKind::Bound => "bound",
            ClientStateKind::Renewing => "renewing",
            ClientStateKind::Rebinding => "rebinding",
            ClientStateKind::InformationRequesting => "information-requesting",
            ClientStateKind::Releasing => "releasing",
            ClientStateKind::Released => "released",
        }
    }
}

/// Per-IA timers for status displays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IaTimers {
    pub iaid: u32,
    /// True for an IA_PD, false for the IA_NA.
    pub pd: bool,
    /// Time left until T1/T2 at the `now` given to `status`; `None` = never
    /// or not bound.
    pub t1: Option<Duration>,
    pub t2: Option<Duration>,
}

/// Plain data for the control socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientStatus {
    pub state: ClientStateKind,
    pub link_up: bool,
    pub leases: Leases,
    pub ia_timers: Vec<IaTimers>,
    /// The transaction in progress, if any.
    pub xid: Option<u32>,
    pub reconfigure_key_held: bool,
    pub counters: ClientCounters,
}

/// Why a received datagram was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum DropReason {
    /// Syntax: the codec rejected it.
    Parse,
    /// Arrived on another interface than the uplink.
    WrongInterface,
    /// A message type a client never accepts (Solicit, Relay-forward, ...).
    UnexpectedType,
    /// A valid type, but not in this state (e.g. Advertise while bound).
    UnexpectedInState,
    /// Transaction id of no exchange in progress.
    WrongXid,
    /// Client Identifier missing or not ours (RFC 8415 §16.3, §16.10).
    WrongClientId,
    /// Server Identifier missing.
    MissingServerId,
    /// A top-level failure status (UnspecFail, UseMulticast, ...).
    StatusFailure,
    /// Advertise or Rapid-Commit Reply with nothing usable (RFC 8415 §18.2.9).
    NothingOffered,
    /// Reply to Solicit without Rapid Commit, or not asked for.
    RapidCommitUnexpected,
    /// Reconfigure sent to a multicast address (RFC 8415 §16.11).
    ReconfigureMulticast,
    /// Reconfigure without a usable Reconfigure Message option, or with IAs
    /// for Information-request (RFC 8415 §16.11).
    ReconfigureInvalid,
    /// Reconfigure without a key to check it against, or we did not offer
    /// Reconfigure Accept.
    Unauthenticated,
    /// Reconfigure whose HMAC-MD5 or replay counter does not verify.
    BadAuth,
    /// Reconfigure from a server we are not bound to.
    WrongServer,
}

impl DropReason {
    /// A stable lower-case name, the `reason` label of the daemon's drop
    /// metric. Names never change once released: dashboards key on them.
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::Parse => "parse",
            DropReason::WrongInterface => "wrong-interface",
            DropReason::UnexpectedType => "unexpected-type",
            DropReason::UnexpectedInState => "unexpected-in-state",
            DropReason::WrongXid => "wrong-xid",
            DropReason::WrongClientId => "wrong-client-id",
            DropReason::MissingServerId => "missing-server-id",
            DropReason::StatusFailure => "status-failure",
            DropReason::NothingOffered => "nothing-offered",
            DropReason::RapidCommitUnexpected => "rapid-commit-unexpected",
            DropReason::ReconfigureMulticast => "reconfigure-multicast",
            DropReason::ReconfigureInvalid => "reconfigure-invalid",
            DropReason::Unauthenticated => "unauthenticated",
            DropReason::BadAuth => "bad-auth",
            DropReason::WrongServer => "wrong-server",
        }
    }
}

/// Why a part of an accepted message (an IA, a lease, a stateless option
/// value) was left out. The rest of the message is still acted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum IgnoredReason {
    /// RFC 8415 §21.4/§21.21: an IA with T1 > T2 (T2 ≠ 0).
    T1AboveT2,
    /// RFC 8415 §21.6/§21.22: a lease with preferred > valid lifetime.
    PreferredAboveValid,
    /// A lease with a failure status of its own.
    LeaseStatus,
    /// An IA Prefix whose address has bits set beyond its length.
    HostBits,
    /// A delegated prefix outside global unicast and unique local space
    /// (`::/0`, link-local, multicast, ...), or an unusable address.
    NotUnicast,
    /// Leases of one IA beyond [`MAX_LEASES_PER_IA`].
    TooManyLeases,
    /// DNS servers, domains or NTP servers beyond [`MAX_INFO_ITEMS`].
    TooManyInfoItems,
}

impl IgnoredReason {
    /// A stable lower-case name, as [`DropReason::as_str`].
    pub fn as_str(self) -> &'static str {
        match self {
            IgnoredReason::T1AboveT2 => "t1-above-t2",
            IgnoredReason::PreferredAboveValid => "preferred-above-valid",
            IgnoredReason::LeaseStatus => "lease-status",
            IgnoredReason::HostBits => "host-bits",
            IgnoredReason::NotUnicast => "not-unicast",
            IgnoredReason::TooManyLeases => "too-many-leases",
            IgnoredReason::TooManyInfoItems => "too-many-info-items",
        }
    }
}

/// The most leases (prefixes or addresses) one IA holds or takes from one
/// message. Servers hand out one per IA, two while renumbering; anything
/// far beyond is a broken or hostile server, and each lease held costs
/// kernel routes and RA options downstream.
pub const MAX_LEASES_PER_IA: usize = 16;

/// The most DNS servers, search domains and NTP servers taken from one
/// message, each list on its own. They end up in every RA of every LAN.
pub const MAX_INFO_ITEMS: usize = 8;

/// Counters by message type (wire code) and drop reason.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClientCounters {
    pub received: BTreeMap<u8, u64>,
    pub sent: BTreeMap<u8, u64>,
    pub dropped: BTreeMap<DropReason, u64>,
    /// Parts of otherwise accepted messages left out, by reason.
    pub ignored: BTreeMap<IgnoredReason, u64>,
}

impl ClientCounters {
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

    pub fn ignored(&self, r: IgnoredReason) -> u64 {
        self.ignored.get(&r).copied().unwrap_or(0)
    }
}
