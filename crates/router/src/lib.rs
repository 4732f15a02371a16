//! The requesting router's policy (RFC 7084 §4.3, RFC 9096, RFC 9818 LPD-3):
//! what a CPE does with the prefixes its DHCPv6 client obtained.
//!
//! [`Router`] is a sans-IO machine. The daemon tells it what the uplink holds
//! ([`Router::handle_uplink`], built from the DHCPv6 client's leases) and
//! whether the uplink has a default router; it answers with
//! [`RouterOutput`]s: kernel operations (a router address on each LAN /64,
//! an unreachable route for each delegated aggregate), the content each LAN's
//! Router Advertisement sender must advertise, and the state to persist.
//!
//! Renumbering (RFC 9096 §3.3, RFC 7084 L-13): when a LAN's /64 disappears or
//! changes, the old prefix stays advertised with preferred lifetime 0 and a
//! valid lifetime of min(remaining, 2 h) counting down, and the router's own
//! address on it is deprecated the same way. The prefixes advertised on each
//! LAN are persisted (RFC 9096 §3.5) so that stale ones are deprecated after
//! a crash too.
//!
//! A broken or hostile upstream (issue 14): delegations outside global
//! unicast and unique local space are ignored, at most [`MAX_DELEGATIONS`]
//! are acted on, a preferred lifetime beyond the valid one is cut to it,
//! and a delegation longer than /64 numbers no LAN (RFC 7084 WPD-3) without
//! hiding a usable one; each is logged once per change, not per renewal.
//!
//! Panic contract: no method panics on any input.

mod machine;

pub use machine::{
    AdvertisedRecord, Delegation, LanSpec, LanStatus, MAX_DELEGATIONS, Persisted, Router,
    RouterConfig, RouterOutput, UplinkAddress, UplinkView,
};
