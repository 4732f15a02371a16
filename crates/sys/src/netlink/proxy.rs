//! Proxy neighbour entries (`ip neigh add proxy ADDR dev IF`): the kernel
//! answers Neighbor Solicitations for an IPv6 address (RFC 4861 §7.2.8;
//! what a home agent does for its mobile nodes, RFC 6275 §10.4.1, with
//! `proxy_ndp` on) or ARP requests for an IPv4 address (proxy ARP) that is
//! not configured here. Entries carry the owner's protocol number in
//! NDA_PROTOCOL.

use super::{Netlink, is_missing};
use crate::SysError;
use netlink_packet_core::{NLM_F_CREATE, NLM_F_REPLACE};
use netlink_packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourFlags, NeighbourMessage, NeighbourState,
};
use netlink_packet_route::route::RouteProtocol;
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use std::net::IpAddr;
use v6edge_core::{IfIndex, Owner, ProxyNeighbourSpec};

/// One proxy entry as the kernel has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyNeighbourInfo {
    pub ifindex: IfIndex,
    pub addr: IpAddr,
    /// NDA_PROTOCOL, 0 when unset.
    pub protocol: u8,
}

fn family(addr: &IpAddr) -> AddressFamily {
    match addr {
        IpAddr::V6(_) => AddressFamily::Inet6,
        IpAddr::V4(_) => AddressFamily::Inet,
    }
}

fn proxy_message(ifindex: IfIndex, addr: IpAddr) -> NeighbourMessage {
    let mut msg = NeighbourMessage::default();
    msg.header.family = family(&addr);
    msg.header.ifindex = ifindex;
    msg.header.flags = NeighbourFlags::Proxy;
    msg.header.state = NeighbourState::Permanent;
    msg.attributes
        .push(NeighbourAttribute::Destination(match addr {
            IpAddr::V6(a) => NeighbourAddress::Inet6(a),
            IpAddr::V4(a) => NeighbourAddress::Inet(a),
        }));
    msg
}

impl Netlink {
    /// Adds a proxy entry, or restamps an existing one.
    pub(crate) async fn set_proxy_neighbour(
        &self,
        spec: &ProxyNeighbourSpec,
    ) -> Result<(), SysError> {
        let mut msg = proxy_message(spec.ifindex, spec.addr);
        msg.attributes
            .push(NeighbourAttribute::Protocol(RouteProtocol::from(
                spec.owner.protocol(),
            )));
        self.ack_request(
            RouteNetlinkMessage::NewNeighbour(msg),
            NLM_F_CREATE | NLM_F_REPLACE,
        )
        .await
        .map_err(|f| {
            f.into_error(
                "set proxy neighbour",
                format!("{} dev #{}", spec.addr, spec.ifindex),
            )
        })
    }

    /// Deletes a proxy entry; already gone is Ok.
    pub(crate) async fn del_proxy_neighbour(
        &self,
        spec: &ProxyNeighbourSpec,
    ) -> Result<(), SysError> {
        let msg = proxy_message(spec.ifindex, spec.addr);
        match self
            .ack_request(RouteNetlinkMessage::DelNeighbour(msg), 0)
            .await
        {
            Ok(()) => Ok(()),
            Err(f) if is_missing(f.errno()) => Ok(()),
            Err(f) => Err(f.into_error(
                "delete proxy neighbour",
                format!("{} dev #{}", spec.addr, spec.ifindex),
            )),
        }
    }

    /// Every proxy entry (IPv6 and IPv4), or those `owner` stamped.
    pub async fn proxy_neighbours(
        &self,
        owner: Option<Owner>,
    ) -> Result<Vec<ProxyNeighbourInfo>, SysError> {
        let mut out = Vec::new();
        for fam in [AddressFamily::Inet6, AddressFamily::Inet] {
            // ndm_flags == NTF_PROXY asks for the proxy table.
            let mut msg = NeighbourMessage::default();
            msg.header.family = fam;
            msg.header.flags = NeighbourFlags::Proxy;
            let answers = self
                .dump(RouteNetlinkMessage::GetNeighbour(msg))
                .await
                .map_err(|f| f.into_error("dump proxy neighbours", format!("{fam:?}")))?;
            out.extend(answers.iter().filter_map(|m| match m {
                RouteNetlinkMessage::NewNeighbour(n)
                    if n.header.flags.contains(NeighbourFlags::Proxy) =>
                {
                    let mut addr = None;
                    let mut protocol = 0;
                    for a in &n.attributes {
                        match a {
                            NeighbourAttribute::Destination(NeighbourAddress::Inet6(v)) => {
                                addr = Some(IpAddr::V6(*v))
                            }
                            NeighbourAttribute::Destination(NeighbourAddress::Inet(v)) => {
                                addr = Some(IpAddr::V4(*v))
                            }
                            NeighbourAttribute::Protocol(p) => protocol = u8::from(*p),
                            _ => {}
                        }
                    }
                    Some(ProxyNeighbourInfo {
                        ifindex: n.header.ifindex,
                        addr: addr?,
                        protocol,
                    })
                }
                _ => None,
            }));
        }
        Ok(out
            .into_iter()
            .filter(|p| owner.is_none_or(|o| p.protocol == o.protocol()))
            .collect())
    }
}
