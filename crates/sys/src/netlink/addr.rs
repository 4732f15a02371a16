//! IPv6 addresses: RTM_NEWADDR / RTM_DELADDR / RTM_GETADDR.
//!
//! Lifetimes go in IFA_CACHEINFO as seconds, 0xffffffff meaning infinite
//! (the same encoding as DHCPv6 and ND, RFC 8415 §7.7). Flags go in the
//! 32-bit IFA_FLAGS attribute, because IFA_F_NOPREFIXROUTE (0x200) does not
//! fit in the 8-bit header field.

use super::{Netlink, is_missing};
use crate::SysError;
use netlink_packet_core::{NLM_F_CREATE, NLM_F_REPLACE};
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage, AddressProtocol,
    AddressScope, CacheInfo,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use v6edge_core::{AddressSpec, IfIndex};
use v6edge_wire::Lifetime;

/// Address flags as the kernel reports them (IFA_F_*).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AddrFlags(u32);

impl AddrFlags {
    pub const NODAD: u32 = 0x02;
    pub const OPTIMISTIC: u32 = 0x04;
    pub const DADFAILED: u32 = 0x08;
    pub const HOMEADDRESS: u32 = 0x10;
    pub const DEPRECATED: u32 = 0x20;
    pub const TENTATIVE: u32 = 0x40;
    pub const PERMANENT: u32 = 0x80;
    pub const MANAGETEMPADDR: u32 = 0x100;
    pub const NOPREFIXROUTE: u32 = 0x200;

    pub const fn from_bits(bits: u32) -> AddrFlags {
        AddrFlags(bits)
    }
    pub const fn bits(self) -> u32 {
        self.0
    }
    pub const fn contains(self, flag: u32) -> bool {
        self.0 & flag == flag
    }
    /// DAD still running (RFC 4862 §5.4): the address cannot be used yet.
    pub const fn tentative(self) -> bool {
        self.contains(Self::TENTATIVE)
    }
    /// DAD found a duplicate (RFC 4862 §5.4.5): the address is unusable.
    pub const fn dadfailed(self) -> bool {
        self.contains(Self::DADFAILED)
    }
    /// Preferred lifetime over (RFC 4862 §5.5.4).
    pub const fn deprecated(self) -> bool {
        self.contains(Self::DEPRECATED)
    }
    /// Configured with infinite valid lifetime (no expiry in the kernel).
    pub const fn permanent(self) -> bool {
        self.contains(Self::PERMANENT)
    }
    pub const fn no_prefix_route(self) -> bool {
        self.contains(Self::NOPREFIXROUTE)
    }
    pub const fn nodad(self) -> bool {
        self.contains(Self::NODAD)
    }
}

impl fmt::Debug for AddrFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NAMES: [(u32, &str); 9] = [
            (AddrFlags::NODAD, "nodad"),
            (AddrFlags::OPTIMISTIC, "optimistic"),
            (AddrFlags::DADFAILED, "dadfailed"),
            (AddrFlags::HOMEADDRESS, "home"),
            (AddrFlags::DEPRECATED, "deprecated"),
            (AddrFlags::TENTATIVE, "tentative"),
            (AddrFlags::PERMANENT, "permanent"),
            (AddrFlags::MANAGETEMPADDR, "mngtmpaddr"),
            (AddrFlags::NOPREFIXROUTE, "noprefixroute"),
        ];
        let mut list = f.debug_set();
        let mut rest = self.0;
        for (bit, name) in NAMES {
            if self.0 & bit != 0 {
                list.entry(&format_args!("{name}"));
                rest &= !bit;
            }
        }
        if rest != 0 {
            list.entry(&format_args!("{rest:#x}"));
        }
        list.finish()
    }
}

/// One IPv6 address as the kernel has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressInfo {
    pub ifindex: IfIndex,
    pub addr: Ipv6Addr,
    pub prefix_len: u8,
    pub flags: AddrFlags,
    /// Remaining preferred lifetime at the time of the dump or event.
    pub preferred: Lifetime,
    /// Remaining valid lifetime at the time of the dump or event.
    pub valid: Lifetime,
    /// IFA_PROTO: [`v6edge_core::Owner::protocol`] for ours, 0 when unset.
    pub protocol: u8,
}

impl AddressInfo {
    /// Usable as a source address: DAD passed (or was skipped).
    pub fn usable(&self) -> bool {
        !self.flags.tentative() && !self.flags.dadfailed()
    }

    /// fe80::/10 (RFC 4291 §2.5.6).
    pub fn is_link_local(&self) -> bool {
        self.addr.is_unicast_link_local()
    }

    /// Reads an RTM_NEWADDR/RTM_DELADDR; `None` for non-IPv6 messages or
    /// ones without an address.
    pub(crate) fn from_message(msg: &AddressMessage) -> Option<AddressInfo> {
        if msg.header.family != AddressFamily::Inet6 {
            return None;
        }
        let mut address = None;
        let mut local = None;
        let mut flags = None;
        let mut protocol = 0;
        let mut lifetimes = (Lifetime::Infinite, Lifetime::Infinite);
        for attr in &msg.attributes {
            match attr {
                AddressAttribute::Address(IpAddr::V6(a)) => address = Some(*a),
                AddressAttribute::Local(IpAddr::V6(a)) => local = Some(*a),
                AddressAttribute::Flags(f) => flags = Some(f.bits()),
                AddressAttribute::Protocol(p) => protocol = u8::from(*p),
                AddressAttribute::CacheInfo(ci) => {
                    lifetimes = (
                        Lifetime::from_wire(ci.ifa_preferred),
                        Lifetime::from_wire(ci.ifa_valid),
                    )
                }
                _ => {}
            }
        }
        // With a peer configured, IFA_LOCAL is ours and IFA_ADDRESS the
        // peer's; otherwise only IFA_ADDRESS is present.
        let addr = local.or(address)?;
        Some(AddressInfo {
            ifindex: msg.header.index,
            addr,
            prefix_len: msg.header.prefix_len,
            flags: AddrFlags(flags.unwrap_or(u32::from(msg.header.flags.bits()))),
            preferred: lifetimes.0,
            valid: lifetimes.1,
            protocol,
        })
    }
}

/// The skeleton of an address message for `addr/prefix_len` on `ifindex`.
fn address_message(ifindex: IfIndex, addr: Ipv6Addr, prefix_len: u8) -> AddressMessage {
    let mut msg = AddressMessage::default();
    msg.header.family = AddressFamily::Inet6;
    msg.header.prefix_len = prefix_len;
    msg.header.index = ifindex;
    // The kernel derives an IPv6 address's scope from the address itself.
    msg.header.scope = if addr.is_unicast_link_local() {
        AddressScope::Link
    } else {
        AddressScope::Universe
    };
    msg.attributes
        .push(AddressAttribute::Local(IpAddr::V6(addr)));
    msg.attributes
        .push(AddressAttribute::Address(IpAddr::V6(addr)));
    msg
}

fn target(ifindex: IfIndex, addr: Ipv6Addr, prefix_len: u8) -> String {
    format!("{addr}/{prefix_len} dev #{ifindex}")
}

impl Netlink {
    /// Adds or replaces an address (see [`Netlink::apply`]).
    ///
    /// Flags: IFA_F_NODAD always. These are router addresses built from a
    /// prefix delegated to us or a /64 we advertise ourselves, so no other
    /// node may hold them; DAD (RFC 4862 §5.4) would only keep the address
    /// tentative, hence unusable, for a second or more after every change.
    /// IFA_F_NOPREFIXROUTE when `no_prefix_route` (we install the prefix
    /// route ourselves with our protocol number).
    pub(crate) async fn set_address(&self, spec: &AddressSpec) -> Result<(), SysError> {
        if spec.valid.is_zero() {
            return self
                .del_address(spec.ifindex, spec.addr, spec.prefix_len)
                .await;
        }
        let mut msg = address_message(spec.ifindex, spec.addr, spec.prefix_len);
        let mut flags = AddressFlags::Nodad;
        if spec.no_prefix_route {
            flags |= AddressFlags::Noprefixroute;
        }
        msg.header.flags = AddressHeaderFlags::Nodad;
        msg.attributes.push(AddressAttribute::Flags(flags));
        msg.attributes
            .push(AddressAttribute::Protocol(AddressProtocol::from(
                spec.owner.protocol(),
            )));
        // RFC 4862 §5.5.3 (e): preferred never exceeds valid; the kernel
        // rejects such a pair with EINVAL, so clamp a machine's slip.
        let valid = spec.valid.to_wire();
        let preferred = spec.preferred.to_wire().min(valid);
        let mut ci = CacheInfo::default();
        ci.ifa_preferred = preferred;
        ci.ifa_valid = valid;
        msg.attributes.push(AddressAttribute::CacheInfo(ci));
        self.ack_request(
            RouteNetlinkMessage::NewAddress(msg),
            NLM_F_CREATE | NLM_F_REPLACE,
        )
        .await
        .map_err(|f| {
            f.into_error(
                "set address",
                target(spec.ifindex, spec.addr, spec.prefix_len),
            )
        })
    }

    /// Deletes an address; an address (or interface) already gone is Ok.
    pub(crate) async fn del_address(
        &self,
        ifindex: IfIndex,
        addr: Ipv6Addr,
        prefix_len: u8,
    ) -> Result<(), SysError> {
        let msg = address_message(ifindex, addr, prefix_len);
        match self
            .ack_request(RouteNetlinkMessage::DelAddress(msg), 0)
            .await
        {
            Ok(()) => Ok(()),
            Err(f) if is_missing(f.errno()) => {
                tracing::debug!(%addr, prefix_len, ifindex, "address to delete was already gone");
                Ok(())
            }
            Err(f) => Err(f.into_error("delete address", target(ifindex, addr, prefix_len))),
        }
    }

    /// Every IPv6 address, or those of one interface.
    pub async fn addresses(&self, ifindex: Option<IfIndex>) -> Result<Vec<AddressInfo>, SysError> {
        let mut msg = AddressMessage::default();
        msg.header.family = AddressFamily::Inet6;
        // Without NETLINK_GET_STRICT_CHK the kernel ignores the index in a
        // dump request, so filter here as well.
        msg.header.index = ifindex.unwrap_or(0);
        let answers = self
            .dump(RouteNetlinkMessage::GetAddress(msg))
            .await
            .map_err(|f| {
                f.into_error(
                    "dump addresses",
                    ifindex.map_or("all".into(), |i| format!("dev #{i}")),
                )
            })?;
        Ok(answers
            .iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewAddress(a) => AddressInfo::from_message(a),
                _ => None,
            })
            .filter(|a| ifindex.is_none_or(|i| a.ifindex == i))
            .collect())
    }

    /// A usable (non-tentative, DAD not failed) link-local address of the
    /// interface: the source of RAs (RFC 4861 §4.2) and of DHCPv6 messages on
    /// the link (RFC 8415 §13.1).
    pub async fn link_local(&self, ifindex: IfIndex) -> Result<Option<Ipv6Addr>, SysError> {
        let addrs = self.addresses(Some(ifindex)).await?;
        Ok(addrs
            .iter()
            .find(|a| a.is_link_local() && a.usable())
            .map(|a| a.addr))
    }
}
