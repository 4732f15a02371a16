//! The vocabulary every v6edge state machine shares: an explicit monotonic
//! clock ([`Instant`]), what arrives ([`Received`]) and what leaves
//! ([`Transmit`], [`KernelOp`]). Machines never read the clock, never touch
//! a socket or netlink: the daemon feeds them these values and carries out
//! what they return.

pub mod action;
pub mod limit;
pub mod owner;
pub mod rng;
pub mod time;

pub use action::{
    Address4Spec, AddressSpec, KernelOp, Prefix4, ProxyNeighbourSpec, Received, Route4Spec,
    RouteSpec, RouteTable, RouteType, RuleSpec, Transmit, Transport, TunSpec,
};
pub use owner::{LEGACY_PROTOCOL, Owner, Reconcile, RouteKey};
pub use rng::Rng;
pub use time::Instant;

/// A kernel interface index.
pub type IfIndex = u32;

/// DHCPv6 UDP ports (RFC 8415 §7.2).
pub const DHCP6_CLIENT_PORT: u16 = 546;
pub const DHCP6_SERVER_PORT: u16 = 547;
