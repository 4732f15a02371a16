//! RIPng (RFC 2080) as a sans-IO machine: the routing table, its timers,
//! regular and triggered updates, requests, and the kernel routes of what
//! it learns. The daemon feeds it interface events, received datagrams,
//! the routes to originate and the time; it carries out the
//! [`RipngOutput`]s.
//!
//! # Implemented (RFC 2080)
//! - §2.3: timers: regular updates every 30 s offset by up to ±15 s from a
//!   seeded RNG, route timeout 180 s, garbage collection 120 s, all in
//!   [`Timers`] and configurable.
//! - §2.4.1: requests: the whole-table request answered with the output
//!   process (split horizon included) to the requester's address and port;
//!   specific requests answered entry by entry with our metric or 16,
//!   without split horizon; a whole-table request multicast on every active
//!   interface when it comes up.
//! - §2.4.2: responses believed only from port 521, a link-local source,
//!   hop limit 255, an interface that is up, and not from ourselves. Each
//!   RTE is checked (metric 1–16; prefix length 0–128; no host bits set;
//!   the whole prefix outside multicast ff00::/8 and link-local fe80::/10),
//!   the interface cost added, and the table updated: a new route with
//!   metric below 16 is added; the same gateway refreshes the timeout and
//!   may change metric or tag; another gateway replaces the route only
//!   with a better metric (equal-cost ties keep the existing route);
//!   metric 16 from the gateway starts the deletion process.
//! - §2.1.1: next-hop RTEs: link-local next hops are used, `::` and
//!   non-link-local ones mean the sender. On output, with split horizon
//!   off, a route learned on the outgoing link is advertised behind a
//!   next-hop RTE naming its gateway, so listeners forward directly.
//! - §2.5: output: to ff02::9 port 521, hop limit 255, from the interface's
//!   link-local address; split horizon with poisoned reverse by default
//!   ([`SplitHorizon`]); routes in garbage collection advertised with 16;
//!   as many packets as needed, each sized for the interface MTU (1280 for
//!   a unicast reply to an off-link requester).
//! - §2.5.1: triggered updates carry only changed routes; the first goes
//!   out at the end of the input that caused it (one batch per input), the
//!   next ones wait a random 1–5 s hold-down and go as one; one due no
//!   sooner than the next regular update is folded into it.
//! - Interface cost (1–15) added to received metrics; passive interfaces
//!   listen and answer requests but send no updates.
//!
//! Learned routes go to the kernel with [`Owner::Ripng`]: installed when a
//! route becomes usable, replaced when its gateway changes, deleted when
//! it starts garbage collection (metric 16) or its interface goes down. A
//! prefix originated here is never learned, so the machine never asks for
//! a route over one of its own.
//!
//! Policy, route6d's options as configuration:
//! - per interface, an inbound filter ([`InterfaceConfig::accept`]: routes
//!   learned there are kept only inside one of these prefixes; route6d
//!   `-L`), an outbound one ([`InterfaceConfig::advertise`]; `-O`); in
//!   both, `::/0` stands for the default route alone, as in route6d; and
//!   default-only ([`InterfaceConfig::default_only`]: the interface hears
//!   only `::/0` from us, metric 1; `-T`);
//! - aggregates ([`RipngConfig::aggregates`], `-A`): while some route lies
//!   inside one, the aggregate is advertised instead of them (with the
//!   smallest metric among them) and an unreachable route for it goes to
//!   the kernel, so its unrouted parts are dropped here rather than looped;
//!   when the last one goes, the aggregate is advertised with metric 16
//!   and its route removed.
//!
//! Not here: redistribution itself (the daemon passes the routes in
//! [`Ripng::set_originated`]), the RFC 2453 §3.9.2 heuristic of switching
//! to an equal-cost route when the current one is half-way to timing out.
//!
//! # Method grammar (quinn-proto's, style guide §3)
//! Getters take `&self` (`status`, `counters`, `poll_timeout`); `handle_*`
//! and `set_originated` take input with the current time; `poll_output`
//! drains output, in the order the machine decided it.
//!
//! # Panic contract
//! No input from the network or the clock makes the machine panic.
//! Datagrams that are malformed or not to be believed are counted under a
//! [`DropReason`]; entries ignored inside an accepted Response under an
//! [`RteIgnored`] reason.

mod machine;
mod output;
pub mod redistribute;

pub use machine::Ripng;

use std::collections::BTreeMap;
use std::net::Ipv6Addr;
use std::time::Duration;

use v6edge_core::{IfIndex, Instant, KernelOp, RouteTable, Transmit};
use v6edge_prefix::Prefix;

pub use v6edge_core::Owner;
pub use v6edge_wire::constants::{ALL_RIP_ROUTERS, RIPNG_PORT};

/// The hop limit RIPng sends with and insists on in Responses (RFC 2080
/// §2.4.2, §2.5).
pub const RIPNG_HOP_LIMIT: u8 = 255;
/// The MTU a unicast reply to an off-link requester is sized for (IPv6's
/// minimum, RFC 8200 §5).
pub const MIN_MTU: usize = 1280;

/// The RFC 2080 §2.3 timers and the §2.5.1 triggered-update hold-down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timers {
    /// Regular updates (30 s).
    pub update: Duration,
    /// Each regular update is offset by a uniform amount in ±`jitter` (15 s).
    pub update_jitter: Duration,
    /// A route not refreshed for this long goes to metric 16 (180 s).
    pub timeout: Duration,
    /// And is removed this long after that (120 s).
    pub garbage_collection: Duration,
    /// After a triggered update, the next waits a uniform time in
    /// `[min, max]` (1–5 s).
    pub triggered_min: Duration,
    pub triggered_max: Duration,
}

impl Default for Timers {
    fn default() -> Timers {
        Timers {
            update: Duration::from_secs(30),
            update_jitter: Duration::from_secs(15),
            timeout: Duration::from_secs(180),
            garbage_collection: Duration::from_secs(120),
            triggered_min: Duration::from_secs(1),
            triggered_max: Duration::from_secs(5),
        }
    }
}

/// How routes learned on an interface are advertised back onto it
/// (RFC 2080 §2.5, RFC 1058 §2.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SplitHorizon {
    /// Advertised as usual; a next-hop RTE names the gateway.
    Off,
    /// Left out.
    Simple,
    /// Advertised with metric 16.
    #[default]
    PoisonedReverse,
}

/// One interface RIPng runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceConfig {
    pub ifindex: IfIndex,
    /// Added to the metric of every route learned here (1–15; 0 is taken
    /// as 1, above 15 as 15).
    pub cost: u8,
    /// Listen and answer requests, send no updates.
    pub passive: bool,
    pub split_horizon: SplitHorizon,
    /// Routes learned here are kept only inside one of these; empty: all.
    pub accept: Vec<Prefix>,
    /// Only routes inside one of these are advertised here; empty: all.
    pub advertise: Vec<Prefix>,
    /// Advertise nothing but a default route (`::/0`, metric 1) here.
    pub default_only: bool,
}

impl InterfaceConfig {
    /// Cost 1, active, poisoned reverse.
    pub fn new(ifindex: IfIndex) -> InterfaceConfig {
        InterfaceConfig {
            ifindex,
            cost: 1,
            passive: false,
            split_horizon: SplitHorizon::PoisonedReverse,
            accept: Vec::new(),
            advertise: Vec::new(),
            default_only: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RipngConfig {
    pub interfaces: Vec<InterfaceConfig>,
    pub timers: Timers,
    /// The kernel table learned routes go to.
    pub table: RouteTable,
    /// The kernel metric (priority) of learned routes.
    pub kernel_metric: u32,
    /// Aggregates (route6d `-A`): see the crate documentation.
    pub aggregates: Vec<Prefix>,
    /// At most this many routes in the table: a neighbour announcing more
    /// (a flood of made-up prefixes) costs bounded memory and kernel
    /// routes; the routes beyond are ignored and counted
    /// ([`RteIgnored::TableFull`]) until room is made.
    pub max_routes: usize,
}

impl RipngConfig {
    /// No interfaces, RFC timers, the main table, kernel metric
    /// [`DEFAULT_KERNEL_METRIC`].
    pub fn new() -> RipngConfig {
        RipngConfig {
            interfaces: Vec::new(),
            timers: Timers::default(),
            table: RouteTable::MAIN,
            kernel_metric: DEFAULT_KERNEL_METRIC,
            aggregates: Vec::new(),
            max_routes: DEFAULT_MAX_ROUTES,
        }
    }
}

/// The kernel metric of learned routes by default: above 1024, the metric
/// of routes added without one (an administrator's static routes, and
/// v6edge's own server, relay and requesting-router routes). The kernel
/// replaces a route of the same destination and metric whatever its
/// protocol, so at 1024 a learned route would overwrite those; above it,
/// both stay and the local one is used (as a static route beats RIP in
/// BIRD and FRR), RIPng's taking over if it goes.
pub const DEFAULT_KERNEL_METRIC: u32 = 1100;

/// [`RipngConfig::max_routes`] by default: far above what RIPng networks
/// carry (RFC 2080 §1.1: "intended ... for moderate-size networks"), far
/// below what exhausts a router.
pub const DEFAULT_MAX_ROUTES: usize = 100_000;

impl Default for RipngConfig {
    fn default() -> RipngConfig {
        RipngConfig::new()
    }
}

/// A route this router advertises as its own (connected, static, a
/// delegated prefix): the daemon's redistribution decides which.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OriginatedRoute {
    pub prefix: Prefix,
    pub tag: u16,
    /// 1–15; 0 is taken as 1; 16 or more withdraws the route.
    pub metric: u8,
}

/// What the machine asks the daemon to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RipngOutput {
    Transmit(Transmit),
    Kernel(KernelOp),
}

/// Why a received datagram was dropped whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DropReason {
    /// The codec rejected it (a partial RTE, a short header).
    Malformed,
    /// Version other than 1.
    BadVersion,
    /// Neither Request nor Response.
    UnknownCommand,
    /// On an interface RIPng does not run on or that is down.
    UnknownInterface,
    /// A Response from a port other than 521 (§2.4.2).
    ResponseNotFromRipngPort,
    /// A Response from a source that is not link-local (§2.4.2).
    ResponseNotLinkLocal,
    /// A Response with a hop limit below 255 (§2.4.2).
    ResponseHopLimit,
    /// Our own multicast, looped back.
    FromSelf,
}

/// Why one RTE of an accepted Response was ignored (§2.4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RteIgnored {
    /// Metric 0 or 17–254.
    BadMetric,
    /// Prefix length above 128.
    BadPrefixLength,
    /// Bits set past the prefix length.
    HostBitsSet,
    /// The prefix lies in multicast or link-local space.
    NotUnicastPrefix,
    /// We originate this prefix ourselves.
    OwnPrefix,
    /// A next-hop RTE whose address is neither `::` nor link-local,
    /// taken as the sender (§2.1.1).
    NextHopNotLinkLocal,
    /// A next-hop RTE named our own address on the link: the sender's
    /// route goes through us (a neighbour without split horizon, §2.1.1
    /// naming its gateway), and believing it would route to ourselves.
    ThroughUs,
    /// A new route while the table holds [`RipngConfig::max_routes`].
    TableFull,
    /// Outside the interface's inbound filter.
    Filtered,
}

/// What the machine counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    pub requests_in: u64,
    pub responses_in: u64,
    /// Response datagrams sent (regular, triggered, replies).
    pub responses_out: u64,
    pub requests_out: u64,
    pub triggered_updates: u64,
    pub dropped: BTreeMap<DropReason, u64>,
    pub rtes_ignored: BTreeMap<RteIgnored, u64>,
}

/// Where a route's life is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteState {
    /// Usable, in the kernel, timing out at `expires`.
    Active,
    /// Metric 16, advertised as unreachable until `expires`, then removed.
    GarbageCollection,
}

/// One table entry, for `status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteStatus {
    pub prefix: Prefix,
    pub metric: u8,
    /// The gateway; `None` for a route originated here.
    pub next_hop: Option<Ipv6Addr>,
    /// Where it was learned; `None` for a route originated here.
    pub ifindex: Option<IfIndex>,
    pub tag: u16,
    pub state: RouteState,
    /// When the timeout (Active) or garbage collection ends; `None` for an
    /// active originated route.
    pub expires: Option<Instant>,
    /// Last refreshed (learned) or originated.
    pub last_heard: Instant,
}

/// A neighbour heard from, for `status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeighbourStatus {
    pub addr: Ipv6Addr,
    pub ifindex: IfIndex,
    pub last_heard: Instant,
    /// Its datagrams we dropped (after we first heard from it).
    pub bad_packets: u64,
    /// Its RTEs we ignored.
    pub bad_rtes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RipngStatus {
    pub now: Instant,
    pub routes: Vec<RouteStatus>,
    pub neighbours: Vec<NeighbourStatus>,
    pub counters: Counters,
    pub next_regular_update: Option<Instant>,
    /// Aggregates in use (a route inside): advertised with this metric,
    /// an unreachable route in the kernel.
    pub aggregates: Vec<(Prefix, u8)>,
}
