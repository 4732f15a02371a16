//! Kernel change notifications: a dedicated rtnetlink socket subscribed to
//! RTNLGRP_LINK, RTNLGRP_IPV6_IFADDR, RTNLGRP_IPV6_ROUTE and RTNLGRP_NEIGH
//! (IPv6 entries only are reported: the hosts on a LAN, for the RA sender).
//!
//! The kernel does not wait for a slow reader: when the socket buffer is
//! full it drops notifications and the next read fails with ENOBUFS. That
//! surfaces as [`NetEvent::Overrun`]; the consumer must then re-dump links,
//! addresses and routes, since any change may have been missed.

use super::{AddressInfo, LinkInfo, Netlink, RouteInfo};
use crate::SysError;
use futures::Stream;
use futures::channel::mpsc::UnboundedReceiver;
use netlink_packet_core::{NetlinkMessage, NetlinkPayload};
use netlink_packet_route::neighbour::NeighbourState;
use netlink_packet_route::route::RouteHeader;
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use rtnetlink::MulticastGroup;
use rtnetlink::sys::{AsyncSocket, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::task::JoinHandle;
use v6edge_core::IfIndex;

/// Receive buffer asked for the notification socket. Bursts (a link going
/// down drops every address and route on it) are what overrun a small
/// buffer; the kernel caps this at net.core.rmem_max.
const MONITOR_RCVBUF: usize = 4 << 20;

/// A change in the kernel's link, IPv6 address or IPv6 main-table route
/// state.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NetEvent {
    /// A link appeared or changed (flags, name, MTU, address...).
    LinkChanged(LinkInfo),
    LinkRemoved(IfIndex),
    /// An address was added or changed (lifetimes refreshed, DAD finished:
    /// the tentative flag cleared, or DAD failed: dadfailed set).
    AddressAdded(AddressInfo),
    AddressRemoved(AddressInfo),
    /// A main-table route was added or replaced.
    RouteAdded(RouteInfo),
    RouteRemoved(RouteInfo),
    /// The kernel has (or refreshed) a live IPv6 neighbour entry: a host
    /// on the link, by the address it used (link-local or global).
    Neighbour {
        ifindex: IfIndex,
        addr: std::net::Ipv6Addr,
        /// The entry is REACHABLE: the host answered a Neighbor
        /// Solicitation (RFC 4861 §7.3.3), so it exists. An entry made
        /// from a Solicitation's or an RS's link-layer option alone (STALE)
        /// proves nothing: anyone can send those from a made-up address.
        confirmed: bool,
    },
    /// An IPv4 address changed, or an IPv4 default route of the main
    /// table (only with [`Netlink::monitor_ipv4`]): a DSMIPv6 mobile node's
    /// IPv4 care-of address may have come or gone.
    Ipv4Changed,
    /// Notifications were lost (ENOBUFS): re-dump everything. Keep reading
    /// the stream too: until its backlog is read, the kernel treats the
    /// socket as congested and drops further notifications (each drop
    /// reported by another `Overrun`).
    Overrun,
}

/// The stream of [`NetEvent`]s from [`Netlink::monitor`]. It ends only if
/// the socket fails with an error other than ENOBUFS. Dropping it closes the
/// socket.
#[derive(Debug)]
pub struct NetEvents {
    rx: UnboundedReceiver<(NetlinkMessage<RouteNetlinkMessage>, SocketAddr)>,
    task: JoinHandle<()>,
}

impl Drop for NetEvents {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Netlink {
    /// Subscribes to link, IPv6 address and IPv6 route changes in the
    /// calling thread's network namespace. Events start with the first
    /// change after this returns; dump first (or after), then apply events.
    pub fn monitor() -> Result<NetEvents, SysError> {
        Netlink::monitor_with_buffer(MONITOR_RCVBUF)
    }

    /// [`Netlink::monitor`] with an explicit socket receive buffer size
    /// (SO_RCVBUF, capped by the kernel at net.core.rmem_max).
    pub fn monitor_with_buffer(rcvbuf: usize) -> Result<NetEvents, SysError> {
        Netlink::monitor_groups(rcvbuf, false)
    }

    /// [`Netlink::monitor_with_buffer`], and with `ipv4` IPv4 address and
    /// default route changes too ([`NetEvent::Ipv4Changed`]).
    pub fn monitor_ipv4(rcvbuf: usize, ipv4: bool) -> Result<NetEvents, SysError> {
        Netlink::monitor_groups(rcvbuf, ipv4)
    }

    fn monitor_groups(rcvbuf: usize, ipv4: bool) -> Result<NetEvents, SysError> {
        let mut groups = vec![
            MulticastGroup::Link,
            MulticastGroup::Ipv6Ifaddr,
            MulticastGroup::Ipv6Route,
            MulticastGroup::Neigh,
        ];
        if ipv4 {
            groups.extend([MulticastGroup::Ipv4Ifaddr, MulticastGroup::Ipv4Route]);
        }
        let (mut conn, _handle, rx) =
            rtnetlink::new_multicast_connection(&groups).map_err(|source| SysError::Connect {
                what: "monitor socket",
                source,
            })?;
        // SO_RCVBUFFORCE (CAP_NET_ADMIN) passes net.core.rmem_max, which
        // would otherwise cap the buffer at ~200 KiB; without the
        // capability SO_RCVBUF gets what the cap allows.
        let sock = conn.socket_mut().socket_mut();
        let forced = {
            use nix::sys::socket::{setsockopt, sockopt};
            use std::os::fd::{AsRawFd, BorrowedFd};
            // SAFETY: the fd belongs to `sock`, which outlives this borrow.
            let fd = unsafe { BorrowedFd::borrow_raw(sock.as_raw_fd()) };
            setsockopt(&fd, sockopt::RcvBufForce, &rcvbuf).is_ok()
        };
        if !forced && let Err(e) = sock.set_rx_buf_sz(rcvbuf) {
            // Not fatal: a smaller buffer only makes overruns likelier.
            tracing::warn!(error = %e, "could not set the netlink monitor buffer size");
        }
        let task = tokio::spawn(conn);
        Ok(NetEvents { rx, task })
    }
}

impl NetEvents {
    /// The next event; `None` when the socket has failed for good.
    pub async fn next(&mut self) -> Option<NetEvent> {
        futures::StreamExt::next(self).await
    }
}

impl Stream for NetEvents {
    type Item = NetEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<NetEvent>> {
        loop {
            match Pin::new(&mut self.rx).poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Ready(Some((msg, _))) => {
                    if let Some(ev) = translate(msg) {
                        return Poll::Ready(Some(ev));
                    }
                }
            }
        }
    }
}

/// One notification to an event; `None` for what we do not watch (other
/// families, other tables, cloned routes).
fn translate(msg: NetlinkMessage<RouteNetlinkMessage>) -> Option<NetEvent> {
    let inner = match msg.payload {
        NetlinkPayload::InnerMessage(inner) => inner,
        NetlinkPayload::Overrun(_) => return Some(NetEvent::Overrun),
        _ => return None,
    };
    let main = u32::from(RouteHeader::RT_TABLE_MAIN);
    match inner {
        // AF_BRIDGE port notifications share RTNLGRP_LINK; only the generic
        // (AF_UNSPEC) ones describe the link itself.
        RouteNetlinkMessage::NewLink(l) if l.header.interface_family == AddressFamily::Unspec => {
            LinkInfo::from_message(&l).map(NetEvent::LinkChanged)
        }
        RouteNetlinkMessage::DelLink(l) if l.header.interface_family == AddressFamily::Unspec => {
            Some(NetEvent::LinkRemoved(l.header.index))
        }
        RouteNetlinkMessage::NewAddress(a) | RouteNetlinkMessage::DelAddress(a)
            if a.header.family == AddressFamily::Inet =>
        {
            Some(NetEvent::Ipv4Changed)
        }
        RouteNetlinkMessage::NewRoute(r) | RouteNetlinkMessage::DelRoute(r)
            if r.header.address_family == AddressFamily::Inet =>
        {
            (r.header.destination_prefix_length == 0
                && r.header.table == RouteHeader::RT_TABLE_MAIN)
                .then_some(NetEvent::Ipv4Changed)
        }
        RouteNetlinkMessage::NewAddress(a) => {
            AddressInfo::from_message(&a).map(NetEvent::AddressAdded)
        }
        RouteNetlinkMessage::DelAddress(a) => {
            AddressInfo::from_message(&a).map(NetEvent::AddressRemoved)
        }
        RouteNetlinkMessage::NewRoute(r) => RouteInfo::from_message(&r)
            .filter(|r| r.table == main)
            .map(NetEvent::RouteAdded),
        RouteNetlinkMessage::DelRoute(r) => RouteInfo::from_message(&r)
            .filter(|r| r.table == main)
            .map(NetEvent::RouteRemoved),
        RouteNetlinkMessage::NewNeighbour(n) => super::neigh::live_neighbour(&n, n.header.ifindex)
            .map(|addr| NetEvent::Neighbour {
                ifindex: n.header.ifindex,
                addr,
                confirmed: n.header.state == NeighbourState::Reachable,
            }),
        _ => None,
    }
}
