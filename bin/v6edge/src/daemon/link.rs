//! What the loop reads of one interface, shared by the roles that send on
//! it.

use std::net::{Ipv4Addr, Ipv6Addr};

use v6edge_sys::LinkInfo;

/// One interface as the kernel last described it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkFacts {
    /// `None` while the interface does not exist.
    pub info: Option<LinkInfo>,
    /// A usable (non-tentative) link-local address of the interface.
    pub link_local: Option<Ipv6Addr>,
    /// A usable global address, when a role asked for it
    /// (`Interest::global_address`).
    pub global: Option<Ipv6Addr>,
    /// The kernel's neighbour cache there, when a role asked for it
    /// (`Interest::neighbours`).
    pub neighbours: Vec<Ipv6Addr>,
    /// Every address with its flags, when a role asked for them
    /// (`Interest::addresses`).
    pub addresses: Vec<AddressFact>,
    /// The default router of the main table through this interface (not
    /// one of ours), when a role asked for addresses.
    pub default_router: Option<Ipv6Addr>,
    /// IPv4 addresses (address, prefix length), when a role asked for
    /// them (`Interest::ipv4`).
    pub addresses4: Vec<(Ipv4Addr, u8)>,
    /// The IPv4 default router of the main table through this interface
    /// (not one of ours), when a role asked for IPv4.
    pub default_router4: Option<Ipv4Addr>,
}

/// One address of an interface and its flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressFact {
    pub addr: Ipv6Addr,
    pub prefix_len: u8,
    /// DAD running or failed.
    pub tentative: bool,
    /// RFC 4941 temporary address.
    pub temporary: bool,
    pub deprecated: bool,
    /// Remaining valid lifetime; `None`: infinite.
    pub valid: Option<std::time::Duration>,
    /// Remaining preferred lifetime; `None`: infinite.
    pub preferred: Option<std::time::Duration>,
}

impl LinkFacts {
    /// The link is up and has a link-local address that has passed DAD.
    /// Router Advertisements must come from one (RFC 4861 §4.2) and so do
    /// DHCPv6 replies on the link (RFC 8415 §13.1): until then a send fails
    /// with EADDRNOTAVAIL and the RA meant for the link's return is lost.
    pub fn usable(&self) -> Option<(&LinkInfo, Ipv6Addr)> {
        let info = self.info.as_ref().filter(|i| i.up)?;
        Some((info, self.link_local?))
    }
}
