//! What arrives at a machine and what it asks the daemon to do.

use crate::IfIndex;
use std::net::Ipv6Addr;
use std::time::Duration;
use v6edge_prefix::Prefix;
use v6edge_wire::Lifetime;

/// A datagram as received, with the metadata the protocols need: the
/// destination tells multicast from unicast (RFC 8415 §16), the hop limit
/// guards ND (RFC 4861 §6.1).
#[derive(Debug, Clone, Copy)]
pub struct Received<'a> {
    pub ifindex: IfIndex,
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
    pub hop_limit: u8,
    pub bytes: &'a [u8],
}

/// How a datagram leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp {
        src_port: u16,
        dst_port: u16,
    },
    /// Raw ICMPv6; the kernel fills in the checksum.
    Icmpv6,
}

/// A datagram to send out of one interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    pub ifindex: IfIndex,
    /// Source address; `None` lets the kernel choose (link-local for
    /// link-scoped destinations).
    pub src: Option<Ipv6Addr>,
    pub dst: Ipv6Addr,
    pub transport: Transport,
    /// Hop limit; `None` for the socket default. ND sends 255.
    pub hop_limit: Option<u8>,
    pub payload: Vec<u8>,
}

/// An address to configure on an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressSpec {
    pub ifindex: IfIndex,
    pub addr: Ipv6Addr,
    pub prefix_len: u8,
    pub preferred: Lifetime,
    pub valid: Lifetime,
    /// IFA_F_NOPREFIXROUTE: we manage the prefix route ourselves.
    pub no_prefix_route: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouteType {
    Unicast,
    /// Packets matching get ICMPv6 unreachable (RFC 7084 WPD-5).
    Unreachable,
}

/// A route in the main table, always with [`crate::ROUTE_PROTOCOL`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RouteSpec {
    pub dst: Prefix,
    pub kind: RouteType,
    pub gateway: Option<Ipv6Addr>,
    pub ifindex: Option<IfIndex>,
    pub metric: u32,
    /// Kernel-side expiry (RTA_EXPIRES); a safety net, the machine still
    /// removes the route itself.
    pub expires: Option<Duration>,
}

/// A change to the kernel's tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KernelOp {
    /// Add or replace (lifetimes updated in place).
    SetAddress(AddressSpec),
    DelAddress {
        ifindex: IfIndex,
        addr: Ipv6Addr,
        prefix_len: u8,
    },
    /// Add or replace.
    SetRoute(RouteSpec),
    DelRoute(RouteSpec),
}
