//! The kernel's IPv6 neighbour cache, read for the Router Advertisement
//! sender: hosts the kernel knows on a LAN but that never sent us a Router
//! Solicitation (they configured before we started, or solicited another
//! router) are told about urgent changes, such as a deprecated prefix, by
//! unicast RA at once rather than at the next multicast RA, which RFC 4861
//! §6.2.6 lets leave only every MIN_DELAY_BETWEEN_RAS (3 s).

use super::Netlink;
use crate::SysError;
use netlink_packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourMessage, NeighbourState,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use std::net::Ipv6Addr;
use v6edge_core::IfIndex;

impl Netlink {
    /// The unicast IPv6 neighbours of `ifindex` that the kernel believes
    /// exist (every state but INCOMPLETE, FAILED and NOARP): link-local
    /// and global addresses alike (a host whose Neighbor Solicitation came
    /// from its global address is known only by that one).
    pub async fn neighbours(&self, ifindex: IfIndex) -> Result<Vec<Ipv6Addr>, SysError> {
        let mut msg = NeighbourMessage::default();
        msg.header.family = AddressFamily::Inet6;
        msg.header.ifindex = ifindex;
        let answers = self
            .dump(RouteNetlinkMessage::GetNeighbour(msg))
            .await
            .map_err(|f| f.into_error("dump neighbours", format!("dev #{ifindex}")))?;
        Ok(answers
            .iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewNeighbour(n) => live_neighbour(n, ifindex),
                _ => None,
            })
            .collect())
    }
}

/// The address of a live unicast neighbour entry of `ifindex`, if `n` is
/// one. The dump may hold other interfaces' entries (the kernel filters by
/// index only with strict checking), so the index is checked here.
pub(super) fn live_neighbour(n: &NeighbourMessage, ifindex: IfIndex) -> Option<Ipv6Addr> {
    if n.header.ifindex != ifindex || n.header.family != AddressFamily::Inet6 {
        return None;
    }
    if matches!(
        n.header.state,
        NeighbourState::Incomplete | NeighbourState::Failed | NeighbourState::Noarp
    ) {
        return None;
    }
    n.attributes.iter().find_map(|a| match a {
        NeighbourAttribute::Destination(NeighbourAddress::Inet6(addr))
            if !addr.is_multicast() && !addr.is_unspecified() && !addr.is_loopback() =>
        {
            Some(*addr)
        }
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(ifindex: u32, state: NeighbourState, addr: &str) -> NeighbourMessage {
        let mut n = NeighbourMessage::default();
        n.header.family = AddressFamily::Inet6;
        n.header.ifindex = ifindex;
        n.header.state = state;
        n.attributes
            .push(NeighbourAttribute::Destination(NeighbourAddress::Inet6(
                addr.parse().expect("test literal"),
            )));
        n
    }

    #[test]
    fn keeps_live_unicast_entries_of_the_interface() {
        let ll = "fe80::1".parse::<Ipv6Addr>().expect("literal");
        let global = "2001:db8::1".parse::<Ipv6Addr>().expect("literal");
        assert_eq!(
            live_neighbour(&entry(3, NeighbourState::Stale, "fe80::1"), 3),
            Some(ll)
        );
        assert_eq!(
            live_neighbour(&entry(3, NeighbourState::Reachable, "fe80::1"), 3),
            Some(ll)
        );
        assert_eq!(
            live_neighbour(&entry(3, NeighbourState::Stale, "2001:db8::1"), 3),
            Some(global)
        );
        assert_eq!(
            live_neighbour(&entry(4, NeighbourState::Stale, "fe80::1"), 3),
            None
        );
        assert_eq!(
            live_neighbour(&entry(3, NeighbourState::Failed, "fe80::1"), 3),
            None
        );
        assert_eq!(
            live_neighbour(&entry(3, NeighbourState::Incomplete, "fe80::1"), 3),
            None
        );
        assert_eq!(
            live_neighbour(&entry(3, NeighbourState::Stale, "ff02::1"), 3),
            None
        );
    }
}
