//! The requesting router as one sans-IO node (issue 8, item 2).
//!
//! A CPE is a composition of machines: the DHCPv6 client obtains
//! delegations on the uplink, [`v6edge_router::Router`] carves them into
//! LAN /64s (addresses, unreachable route, RA content), one
//! [`v6edge_ra::Advertiser`] per LAN advertises them, and what is left of
//! each delegation is the space a delegating server on the LANs may hand
//! out further (RFC 9818 LPD-4). [`Node`] holds that composition and the
//! policy between the machines; the daemon and the simulator (`v6edge-sim`)
//! only feed it events at explicit instants and carry out its
//! [`NodeOutput`]s:
//!
//! ```text
//!  DHCPv6 ──► Client ──Changed(leases)──► Router ──Advert──► Advertiser (per LAN) ──► ICMPv6
//!               │                           │ KernelOp (LAN addresses, unreachable route)
//!               └──► Transmit               └──► Persist (subnet ids, advertised prefixes)
//!                                Node::delegable_space ──► from_uplink_pools (LAN server)
//! ```
//!
//! Policy decided here, not in the binary:
//! - the RA start grace ([`ADVERTISE_GRACE`]);
//! - the sub-delegation space ([`Node::delegable_space`], RFC 9818 LPD-4);
//! - lifetimes of `from-uplink` pools capped by what remains upstream
//!   ([`from_uplink_pools`], RFC 9096 L-17).
//!
//! No clock is read and no socket touched: every method takes `now`.
//! Panic contract: nothing here panics.

mod node;
mod space;

pub use node::{ADVERTISE_GRACE, LeasesChange, Node, NodeLan, NodeOutput};
pub use space::{PoolSetting, UplinkBlock, delegable_space, from_uplink_pools};
