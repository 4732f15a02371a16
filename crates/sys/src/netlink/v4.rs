//! IPv4 addresses and routes (RTM_*ADDR, RTM_*ROUTE with AF_INET), for
//! roles that carry IPv4 (a Mobile IPv6 node with an IPv4 care-of address,
//! RFC 5555; proxy ARP neighbours of a home agent). Stamped with the
//! owner's protocol number like the IPv6 ones.

use super::route::set_table;
use super::{Netlink, is_missing};
use crate::SysError;
use netlink_packet_core::{NLM_F_CREATE, NLM_F_REPLACE};
use netlink_packet_route::address::{
    AddressAttribute, AddressMessage, AddressProtocol, AddressScope,
};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteFlags, RouteMessage, RouteProtocol, RouteScope,
    RouteType as NlRouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use std::net::{IpAddr, Ipv4Addr};
use v6edge_core::{
    Address4Spec, IfIndex, Owner, Prefix4, Route4Spec, RouteKey, RouteTable, RouteType,
};

/// One IPv4 address as the kernel has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address4Info {
    pub ifindex: IfIndex,
    pub addr: Ipv4Addr,
    pub prefix_len: u8,
    /// IFA_PROTO, 0 when unset.
    pub protocol: u8,
}

/// One IPv4 route as the kernel has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route4Info {
    pub dst: Prefix4,
    /// `None` for kinds no owner installs (blackhole, local, ...).
    pub kind: Option<RouteType>,
    pub gateway: Option<Ipv4Addr>,
    pub oif: Option<IfIndex>,
    pub protocol: u8,
    pub metric: u32,
    pub table: u32,
}

impl Route4Info {
    /// What identifies this route for [`v6edge_core::Reconcile`].
    pub fn key(&self) -> Option<RouteKey> {
        Some(RouteKey {
            table: RouteTable(self.table),
            dst: IpAddr::V4(self.dst.addr()),
            dst_len: self.dst.len(),
            kind: self.kind?,
        })
    }

    fn from_message(msg: &RouteMessage) -> Option<Route4Info> {
        let h = &msg.header;
        if h.address_family != AddressFamily::Inet || h.flags.contains(RouteFlags::Cloned) {
            return None;
        }
        let mut dst = Ipv4Addr::UNSPECIFIED;
        let mut gateway = None;
        let mut oif = None;
        let mut metric = 0;
        let mut table = u32::from(h.table);
        for attr in &msg.attributes {
            match attr {
                RouteAttribute::Destination(RouteAddress::Inet(a)) => dst = *a,
                RouteAttribute::Gateway(RouteAddress::Inet(a)) => gateway = Some(*a),
                RouteAttribute::Oif(i) => oif = Some(*i),
                RouteAttribute::Priority(p) => metric = *p,
                RouteAttribute::Table(t) => table = *t,
                _ => {}
            }
        }
        Some(Route4Info {
            dst: Prefix4::new(dst, h.destination_prefix_length)?,
            kind: match h.kind {
                NlRouteType::Unicast => Some(RouteType::Unicast),
                NlRouteType::Unreachable => Some(RouteType::Unreachable),
                _ => None,
            },
            gateway,
            oif,
            protocol: u8::from(h.protocol),
            metric,
            table,
        })
    }
}

fn address4_message(ifindex: IfIndex, addr: Ipv4Addr, prefix_len: u8) -> AddressMessage {
    let mut msg = AddressMessage::default();
    msg.header.family = AddressFamily::Inet;
    msg.header.prefix_len = prefix_len;
    msg.header.index = ifindex;
    msg.header.scope = if addr.is_loopback() {
        AddressScope::Host
    } else {
        AddressScope::Universe
    };
    msg.attributes
        .push(AddressAttribute::Local(IpAddr::V4(addr)));
    msg.attributes
        .push(AddressAttribute::Address(IpAddr::V4(addr)));
    msg
}

fn route4_message(spec: &Route4Spec) -> RouteMessage {
    let mut msg = RouteMessage::default();
    msg.header.address_family = AddressFamily::Inet;
    msg.header.destination_prefix_length = spec.dst.len();
    set_table(&mut msg, spec.table);
    msg.header.protocol = RouteProtocol::from(spec.owner.protocol());
    // A unicast route without a gateway is on-link (`scope link`, as `ip`
    // makes it); everything else is universe.
    msg.header.scope = if spec.kind == RouteType::Unicast && spec.gateway.is_none() {
        RouteScope::Link
    } else {
        RouteScope::Universe
    };
    msg.header.kind = match spec.kind {
        RouteType::Unicast => NlRouteType::Unicast,
        RouteType::Unreachable => NlRouteType::Unreachable,
    };
    if spec.dst.len() > 0 {
        msg.attributes
            .push(RouteAttribute::Destination(RouteAddress::Inet(
                spec.dst.addr(),
            )));
    }
    if spec.kind == RouteType::Unicast {
        if let Some(gw) = spec.gateway {
            msg.attributes
                .push(RouteAttribute::Gateway(RouteAddress::Inet(gw)));
        }
        if let Some(oif) = spec.ifindex {
            msg.attributes.push(RouteAttribute::Oif(oif));
        }
    }
    if spec.metric != 0 {
        msg.attributes.push(RouteAttribute::Priority(spec.metric));
    }
    msg
}

fn route4_target(spec: &Route4Spec) -> String {
    let mut s = format!(
        "{:?} {} table {} proto {}",
        spec.kind,
        spec.dst,
        spec.table.0,
        spec.owner.protocol()
    );
    if let Some(gw) = spec.gateway {
        s.push_str(&format!(" via {gw}"));
    }
    if let Some(i) = spec.ifindex {
        s.push_str(&format!(" dev #{i}"));
    }
    s
}

impl Netlink {
    /// Adds or replaces an IPv4 address (NLM_F_CREATE | NLM_F_REPLACE).
    pub(crate) async fn set_address4(&self, spec: &Address4Spec) -> Result<(), SysError> {
        let mut msg = address4_message(spec.ifindex, spec.addr, spec.prefix_len);
        msg.attributes
            .push(AddressAttribute::Protocol(AddressProtocol::from(
                spec.owner.protocol(),
            )));
        self.ack_request(
            RouteNetlinkMessage::NewAddress(msg),
            NLM_F_CREATE | NLM_F_REPLACE,
        )
        .await
        .map_err(|f| {
            f.into_error(
                "set address",
                format!("{}/{} dev #{}", spec.addr, spec.prefix_len, spec.ifindex),
            )
        })
    }

    /// Deletes an IPv4 address; already gone is Ok.
    pub(crate) async fn del_address4(&self, spec: &Address4Spec) -> Result<(), SysError> {
        let msg = address4_message(spec.ifindex, spec.addr, spec.prefix_len);
        match self
            .ack_request(RouteNetlinkMessage::DelAddress(msg), 0)
            .await
        {
            Ok(()) => Ok(()),
            Err(f) if is_missing(f.errno()) => Ok(()),
            Err(f) => Err(f.into_error(
                "delete address",
                format!("{}/{} dev #{}", spec.addr, spec.prefix_len, spec.ifindex),
            )),
        }
    }

    /// Every IPv4 address, or those of one interface.
    pub async fn addresses4(
        &self,
        ifindex: Option<IfIndex>,
    ) -> Result<Vec<Address4Info>, SysError> {
        let mut msg = AddressMessage::default();
        msg.header.family = AddressFamily::Inet;
        let answers = self
            .dump(RouteNetlinkMessage::GetAddress(msg))
            .await
            .map_err(|f| f.into_error("dump addresses", "inet".into()))?;
        Ok(answers
            .iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewAddress(a) if a.header.family == AddressFamily::Inet => {
                    let mut addr = None;
                    let mut protocol = 0;
                    for attr in &a.attributes {
                        match attr {
                            AddressAttribute::Local(IpAddr::V4(v)) => addr = Some(*v),
                            AddressAttribute::Address(IpAddr::V4(v)) => addr = addr.or(Some(*v)),
                            AddressAttribute::Protocol(p) => protocol = u8::from(*p),
                            _ => {}
                        }
                    }
                    Some(Address4Info {
                        ifindex: a.header.index,
                        addr: addr?,
                        prefix_len: a.header.prefix_len,
                        protocol,
                    })
                }
                _ => None,
            })
            .filter(|a| ifindex.is_none_or(|i| a.ifindex == i))
            .collect())
    }

    /// Adds or replaces an IPv4 route.
    pub(crate) async fn set_route4(&self, spec: &Route4Spec) -> Result<(), SysError> {
        self.ack_request(
            RouteNetlinkMessage::NewRoute(route4_message(spec)),
            NLM_F_CREATE | NLM_F_REPLACE,
        )
        .await
        .map_err(|f| f.into_error("set route", route4_target(spec)))
    }

    /// Deletes one of `spec.owner`'s IPv4 routes; already gone is Ok.
    pub(crate) async fn del_route4(&self, spec: &Route4Spec) -> Result<(), SysError> {
        match self
            .ack_request(RouteNetlinkMessage::DelRoute(route4_message(spec)), 0)
            .await
        {
            Ok(()) => Ok(()),
            Err(f) if is_missing(f.errno()) => Ok(()),
            Err(f) => Err(f.into_error("delete route", route4_target(spec))),
        }
    }

    /// IPv4 routes of every table but `local`, all or one protocol's.
    pub async fn routes4(&self, protocol: Option<u8>) -> Result<Vec<Route4Info>, SysError> {
        let mut msg = RouteMessage::default();
        msg.header.address_family = AddressFamily::Inet;
        let answers = self
            .dump(RouteNetlinkMessage::GetRoute(msg))
            .await
            .map_err(|f| f.into_error("dump routes", "inet".into()))?;
        Ok(answers
            .iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewRoute(r) => Route4Info::from_message(r),
                _ => None,
            })
            .filter(|r| r.table != 255)
            .filter(|r| protocol.is_none_or(|p| r.protocol == p))
            .collect())
    }

    /// `owner`'s IPv4 routes in every table.
    pub async fn routes4_of(&self, owner: Owner) -> Result<Vec<Route4Info>, SysError> {
        self.routes4(Some(owner.protocol())).await
    }

    /// Deletes exactly the kernel IPv4 route `route` as dumped.
    pub async fn delete_route4(&self, route: &Route4Info) -> Result<(), SysError> {
        let Some(owner) = Owner::from_protocol(route.protocol) else {
            return Ok(());
        };
        let Some(kind) = route.kind else {
            return Ok(());
        };
        let spec = Route4Spec {
            owner,
            table: RouteTable(route.table),
            dst: route.dst,
            kind,
            gateway: route.gateway,
            ifindex: route.oif,
            metric: route.metric,
        };
        self.del_route4(&spec).await
    }
}
