//! Sans-IO Mobile IPv6 machines for v6edge (mobility.md §3.1-§3.2).
//!
//! - [`ha`]: the home agent (RFC 6275 §10): binding cache, proxy DAD,
//!   the kernel and data-plane changes of a registration, DHAAD replies.
//! - [`auth`]: RFC 4285 MN-HA authentication and replay protection.
//! - [`seq`]: Binding Update sequence numbers modulo 2^16.
//! - [`dataplane`]: what the machines ask of the tunnel back end.
//! - [`dsmip`]: Dual-Stack MIPv6 (RFC 5555): IPv4 care-of addresses and
//!   UDP encapsulation.
//! - [`pd`]: DHCPv6 prefix delegation to a mobile router (RFC 6276).
//!
//! Machines never read the clock, never touch a socket: the caller passes
//! time and packets in and carries out what they return (style.md §3).
//!
//! Panic contract: no input from the network, the clock or the admin API
//! makes a machine panic.

pub mod auth;
pub mod dataplane;
pub mod dsmip;
pub mod ha;
pub mod mn;
pub mod pd;
pub mod seq;
