//! The binding cache (RFC 6275 §9.1, §10.1): one entry per home address,
//! by construction (a map keyed by it), with the state of mobility.md §3.2.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4};
use std::time::Duration;

use v6edge_core::{IfIndex, Instant};
use v6edge_prefix::Prefix;
use v6edge_wire::mh::Ipv4AddressAck;

use super::ApplyTicket;

/// Where an entry is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntryState {
    /// HA-9: proxy DAD for the home address; the BA leaves at `ba_at`
    /// unless a conflict is reported first. Nothing is installed yet.
    Dad { ba_at: Instant },
    /// HA-20: kernel and data-plane changes emitted, awaiting the driver.
    Installing { ticket: ApplyTicket },
    /// Registered until `expires_at` (HA-15).
    Bound { expires_at: Instant },
}

/// Everything a Binding Acknowledgement needs: the BU it answers, and
/// the SA that authenticates it. An entry keeps the one it owes while DAD
/// runs or its kernel changes are awaited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reply {
    /// Our address the BU was sent to: the BA's source.
    pub ha_address: Ipv6Addr,
    /// The BU's IPv6 source: the BA's destination.
    pub reply_to: Ipv6Addr,
    pub hoa: Ipv6Addr,
    /// The care-of address of the BU (RFC 4285 §5.1 Mobility Data).
    pub care_of: Ipv6Addr,
    pub sequence: u16,
    /// The SA the BU authenticated with: the BA carries the same pair of
    /// options (AU-1).
    pub spi: Option<u32>,
    /// RFC 4285 §6: the replay protection value to send back.
    pub replay: Option<u64>,
    /// Whether the lifetime was cut by the home prefix (status 1, HA-8).
    pub prefix_limited: bool,
    /// A mobile router's registration: the BA says so with the R flag
    /// (RFC 3963 §6.2).
    pub mobile_router: bool,
    /// DSMIPv6: the BU came in UDP from this address and port; the BA
    /// goes back there (DS-2).
    pub udp: Option<SocketAddrV4>,
    /// DS-3: the IPv4 Care-of Address option differed from the outer
    /// source: the BA carries NAT Detection.
    pub nat: bool,
    /// The BU's F flag (RFC 5555 §3.1.3), echoed in NAT Detection.
    pub force_udp: bool,
    /// DS-7: the IPv4 Address Acknowledgement owed to an IPv4 Home
    /// Address Request.
    pub ipv4_ack: Option<Ipv4AddressAck>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub hoa: Ipv6Addr,
    pub care_of: Ipv6Addr,
    /// The home link.
    pub ifindex: IfIndex,
    /// L flag: the link-local address sharing the home address's interface
    /// identifier, defended too.
    pub link_local: Option<Ipv6Addr>,
    pub sequence: u16,
    pub lifetime: Duration,
    /// The SA that authenticated it (`None` in lab mode).
    pub spi: Option<u32>,
    pub state: EntryState,
    /// Set while a BA is held (DAD, installing).
    pub pending: Option<Reply>,
    /// Whether the proxy, route and data-plane entry are (being) installed.
    pub installed: bool,
    /// A mobile router's mobile network prefixes (RFC 3963), routed into
    /// the tunnel with the home address; empty for a mobile node.
    pub prefixes: Vec<Prefix>,
    pub mobile_router: bool,
    /// DSMIPv6: where the binding's packets go in UDP (the BU's outer
    /// source, DS-4); `None`: IPv6-in-IPv6 to `care_of`.
    pub udp: Option<SocketAddrV4>,
    /// DS-3: a NAT lies between.
    pub nat: bool,
    /// DS-7: the IPv4 home address, routed into the tunnel and answered
    /// for by proxy ARP on the pool's link.
    pub ipv4_home: Option<Ipv4Addr>,
}

impl Entry {
    pub fn ticket(&self) -> Option<ApplyTicket> {
        match self.state {
            EntryState::Installing { ticket } => Some(ticket),
            _ => None,
        }
    }
}

/// What a binding is doing, for status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindingState {
    /// Proxy DAD running; the BA is held until `ba_at`.
    Dad {
        ba_at: Instant,
    },
    /// Kernel changes emitted, awaiting `handle_applied`.
    Installing,
    Bound,
}

impl BindingState {
    pub fn label(self) -> &'static str {
        match self {
            BindingState::Dad { .. } => "dad",
            BindingState::Installing => "installing",
            BindingState::Bound => "bound",
        }
    }
}

/// One binding cache entry, for the control socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindingStatus {
    pub home_address: Ipv6Addr,
    pub care_of: Ipv6Addr,
    pub ifindex: IfIndex,
    pub link_local: bool,
    pub sequence: u16,
    /// Granted lifetime.
    pub lifetime: Duration,
    /// Time left (the granted lifetime while not yet bound).
    pub remaining: Duration,
    pub spi: Option<u32>,
    pub state: BindingState,
    pub mobile_router: bool,
    /// Mobile network prefixes (RFC 3963).
    pub prefixes: Vec<Prefix>,
    /// DSMIPv6: the UDP endpoint the binding's packets go to.
    pub udp: Option<SocketAddrV4>,
    /// DSMIPv6: a NAT lies between (DS-3).
    pub nat: bool,
    /// DSMIPv6: the IPv4 home address (DS-7).
    pub ipv4_home: Option<Ipv4Addr>,
}

/// A bound binding as persisted (`ha.persist_bindings`): plain data, its
/// expiry in machine time, which the daemon turns into wall-clock time to
/// store and back into its new clock's instants to restore (as it does
/// for the DHCPv6 server's leases).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindingRecord {
    pub home_address: Ipv6Addr,
    pub care_of: Ipv6Addr,
    pub ifindex: IfIndex,
    pub link_local: bool,
    pub sequence: u16,
    pub lifetime: Duration,
    pub expires_at: Instant,
    pub spi: Option<u32>,
    /// The last RFC 4285 replay protection value accepted on `spi`, so a
    /// restart does not reopen the replay window.
    pub last_replay: Option<u64>,
    pub mobile_router: bool,
    /// Mobile network prefixes (RFC 3963).
    pub prefixes: Vec<Prefix>,
    /// DSMIPv6: the UDP endpoint the binding's packets go to.
    pub udp: Option<SocketAddrV4>,
    /// DSMIPv6: a NAT lies between (DS-3).
    pub nat: bool,
    /// DSMIPv6: the IPv4 home address (DS-7).
    pub ipv4_home: Option<Ipv4Addr>,
}

/// The link-local address with the interface identifier of `hoa` (L flag,
/// RFC 6275 §6.1.7).
pub(crate) fn link_local_of(hoa: Ipv6Addr) -> Ipv6Addr {
    let iid = u128::from(hoa) & u128::from(u64::MAX);
    Ipv6Addr::from((0xfe80u128 << 112) | iid)
}
