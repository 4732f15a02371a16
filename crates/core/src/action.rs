//! What arrives at a machine and what it asks the daemon to do.

use crate::IfIndex;
use crate::owner::Owner;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;
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
    /// A raw Mobility Header (RFC 6275 §6.1) whose payload carries its own
    /// checksum; with `home_address`, in a packet with a Home Address
    /// destination option (§6.3), the checksum then taken over it.
    MobilityHeader {
        home_address: Option<Ipv6Addr>,
    },
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
    /// Stamped as IFA_PROTO ([`Owner::protocol`]).
    pub owner: Owner,
    pub ifindex: IfIndex,
    pub addr: Ipv6Addr,
    pub prefix_len: u8,
    pub preferred: Lifetime,
    pub valid: Lifetime,
    /// IFA_F_NOPREFIXROUTE: we manage the prefix route ourselves.
    pub no_prefix_route: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RouteType {
    Unicast,
    /// Packets matching get ICMPv6 unreachable (RFC 7084 WPD-5).
    Unreachable,
}

/// A routing table (RT_TABLE_*; 1–252 are free for policy routing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RouteTable(pub u32);

impl RouteTable {
    /// RT_TABLE_MAIN: where every route goes unless a rule says otherwise.
    pub const MAIN: RouteTable = RouteTable(254);
}

impl Default for RouteTable {
    fn default() -> RouteTable {
        RouteTable::MAIN
    }
}

/// An IPv6 route, stamped with its owner's protocol number
/// ([`Owner::protocol`]) so a restart reconciles it per owner.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RouteSpec {
    pub owner: Owner,
    pub table: RouteTable,
    pub dst: Prefix,
    pub kind: RouteType,
    pub gateway: Option<Ipv6Addr>,
    pub ifindex: Option<IfIndex>,
    pub metric: u32,
    /// Kernel-side expiry (RTA_EXPIRES); a safety net, the machine still
    /// removes the route itself.
    pub expires: Option<Duration>,
}

/// An IPv4 prefix with no host bits set.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Prefix4 {
    addr: Ipv4Addr,
    len: u8,
}

impl Prefix4 {
    /// `addr/len`; `None` when `len` > 32 or a host bit is set.
    pub fn new(addr: Ipv4Addr, len: u8) -> Option<Prefix4> {
        if len > 32 {
            return None;
        }
        let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
        (u32::from(addr) & !mask == 0).then_some(Prefix4 { addr, len })
    }
    pub fn addr(&self) -> Ipv4Addr {
        self.addr
    }
    /// The prefix length (a length, not a size: no `is_empty`).
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> u8 {
        self.len
    }
}

impl fmt::Display for Prefix4 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl fmt::Debug for Prefix4 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for Prefix4 {
    type Err = String;
    fn from_str(s: &str) -> Result<Prefix4, String> {
        let (a, l) = s
            .split_once('/')
            .ok_or_else(|| format!("`{s}`: no /LENGTH"))?;
        let addr = a.parse().map_err(|e| format!("`{s}`: {e}"))?;
        let len = l.parse().map_err(|e| format!("`{s}`: {e}"))?;
        Prefix4::new(addr, len).ok_or_else(|| format!("`{s}`: length or host bits"))
    }
}

/// An IPv4 address to configure on an interface (no lifetimes: IPv4
/// addresses are permanent until removed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address4Spec {
    /// Stamped as IFA_PROTO.
    pub owner: Owner,
    pub ifindex: IfIndex,
    pub addr: Ipv4Addr,
    pub prefix_len: u8,
}

/// An IPv4 route, stamped like [`RouteSpec`]. IPv4 routes have no kernel
/// expiry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Route4Spec {
    pub owner: Owner,
    pub table: RouteTable,
    pub dst: Prefix4,
    pub kind: RouteType,
    pub gateway: Option<Ipv4Addr>,
    pub ifindex: Option<IfIndex>,
    /// 0: the kernel's default (0 for IPv4) on add, any metric on delete.
    pub metric: u32,
}

/// A proxy neighbour entry (`ip neigh add proxy ADDR dev IF`): the kernel
/// answers Neighbor Solicitations (RFC 4861 §7.2.8, NTF_PROXY) or ARP
/// requests (proxy ARP) for `addr` on `ifindex` as if it were ours, as a
/// home agent does for its mobile nodes' home addresses (RFC 6275 §10.4.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProxyNeighbourSpec {
    /// Stamped as NDA_PROTOCOL.
    pub owner: Owner,
    pub ifindex: IfIndex,
    /// IPv6: proxy ND; IPv4: proxy ARP.
    pub addr: IpAddr,
}

/// A policy routing rule (`ip rule`): packets matching `from` / `to` are
/// looked up in `table`. Both prefixes, when given, are of the rule's
/// family; a rule with neither matches every packet of `family_v6`'s
/// family.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RuleSpec {
    /// Stamped as FRA_PROTOCOL.
    pub owner: Owner,
    /// IPv6 (true) or IPv4 rule.
    pub family_v6: bool,
    /// Source prefix (address, length).
    pub from: Option<(IpAddr, u8)>,
    /// Destination prefix (address, length).
    pub to: Option<(IpAddr, u8)>,
    pub table: RouteTable,
    /// Lower is consulted first; 0 is the local table's rule, 32766 main's.
    pub priority: u32,
}

/// A TUN device (layer 3, no packet information header), created
/// persistent so it outlives the process that made it; a role then
/// attaches to it with `v6edge_sys::tun::Tun::create` to read and write
/// packets.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TunSpec {
    /// Recorded as the link's alias (IFLA_IFALIAS `v6edge <owner>`):
    /// links have no protocol field.
    pub owner: Owner,
    /// At most 15 bytes (IFNAMSIZ - 1).
    pub name: String,
    /// Set the link up once created.
    pub up: bool,
    /// The link's MTU, set with it; `None` leaves the kernel's (1500).
    pub mtu: Option<u32>,
    /// The transmit queue length (packets the kernel queues toward the
    /// reader); `None` leaves the kernel's (500 for TUN devices).
    pub tx_queue_len: Option<u32>,
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
    /// Add or replace.
    SetAddress4(Address4Spec),
    DelAddress4(Address4Spec),
    /// Add or replace.
    SetRoute4(Route4Spec),
    DelRoute4(Route4Spec),
    /// Add or replace.
    SetProxyNeighbour(ProxyNeighbourSpec),
    DelProxyNeighbour(ProxyNeighbourSpec),
    /// Add unless an identical rule is there.
    SetRule(RuleSpec),
    DelRule(RuleSpec),
    /// Create unless it exists.
    SetTun(TunSpec),
    DelTun(TunSpec),
}

impl KernelOp {
    /// A stable name for metrics and logs.
    pub const fn name(&self) -> &'static str {
        match self {
            KernelOp::SetAddress(_) => "set-address",
            KernelOp::DelAddress { .. } => "del-address",
            KernelOp::SetRoute(_) => "set-route",
            KernelOp::DelRoute(_) => "del-route",
            KernelOp::SetAddress4(_) => "set-address4",
            KernelOp::DelAddress4(_) => "del-address4",
            KernelOp::SetRoute4(_) => "set-route4",
            KernelOp::DelRoute4(_) => "del-route4",
            KernelOp::SetProxyNeighbour(_) => "set-proxy-neighbour",
            KernelOp::DelProxyNeighbour(_) => "del-proxy-neighbour",
            KernelOp::SetRule(_) => "set-rule",
            KernelOp::DelRule(_) => "del-rule",
            KernelOp::SetTun(_) => "set-tun",
            KernelOp::DelTun(_) => "del-tun",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_prefixes_reject_host_bits() {
        let p: Prefix4 = "192.0.2.0/24".parse().expect("valid");
        assert_eq!((p.addr(), p.len()), (Ipv4Addr::new(192, 0, 2, 0), 24));
        assert_eq!(p.to_string(), "192.0.2.0/24");
        assert!("192.0.2.1/24".parse::<Prefix4>().is_err());
        assert!("192.0.2.0/33".parse::<Prefix4>().is_err());
        assert!("0.0.0.0/0".parse::<Prefix4>().is_ok());
        assert!("192.0.2.1/32".parse::<Prefix4>().is_ok());
    }
}
