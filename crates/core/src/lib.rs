//! The vocabulary every v6edge state machine shares: an explicit monotonic
//! clock ([`Instant`]), what arrives ([`Received`]) and what leaves
//! ([`Transmit`], [`KernelOp`]). Machines never read the clock, never touch
//! a socket or netlink: the daemon feeds them these values and carries out
//! what they return.

pub mod action;
pub mod limit;
pub mod rng;
pub mod time;

pub use action::{AddressSpec, KernelOp, Received, RouteSpec, RouteType, Transmit, Transport};
pub use rng::Rng;
pub use time::Instant;

/// A kernel interface index.
pub type IfIndex = u32;

/// The route protocol number v6edge stamps on every route it installs
/// (`ip -6 route show proto 118`), so a restarted daemon can find and
/// reconcile exactly its own routes. 118 is unused in iproute2's rt_protos.
pub const ROUTE_PROTOCOL: u8 = 118;

/// DHCPv6 UDP ports (RFC 8415 §7.2).
pub const DHCP6_CLIENT_PORT: u16 = 546;
pub const DHCP6_SERVER_PORT: u16 = 547;
