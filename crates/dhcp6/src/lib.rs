//! Sans-IO DHCPv6 state machines for v6edge.
//!
//! [`client`]: the requesting router's client (RFC 8415 §18.2, RFC 7084,
//! RFC 9096). [`rkap`]: the Reconfigure Key Authentication Protocol (RFC
//! 8415 §20.4), shared by client and server.
//!
//! Machines never read the clock, never touch a socket: the caller passes
//! time and datagrams in and carries out the transmits and events they
//! return (style guide §3).
//!
//! Panic contract: no input from the network, the clock or the admin API
//! makes a machine panic.

pub mod client;
pub mod relay;
pub mod rkap;
pub mod server;
