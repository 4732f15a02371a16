//! DHCPv6 UDP and ICMPv6 raw sockets on tokio.
//!
//! Both are nonblocking IPv6 sockets registered with tokio's reactor
//! through `AsyncFd`, with IPV6_RECVPKTINFO and IPV6_RECVHOPLIMIT on and
//! multicast loopback off (a daemon must not hear its own multicasts, e.g.
//! its RAs, as if a peer sent them). Each can be tied to one interface with
//! SO_BINDTODEVICE.

mod capture;
mod icmp6;
mod mh;
mod pktinfo;
mod tunnel;
mod udp6;

pub use capture::{Captured, MobilityCapture};
pub use icmp6::{Icmp6Filter, Icmp6Socket};
pub use mh::{MhSocket, RawIpv6Sender};
pub use pktinfo::RecvMeta;
pub use tunnel::{BatchSent, Outgoing, TunnelError, TunnelSocket, Tunnelled, path_mtu};
pub use udp6::Dhcp6Socket;

use crate::SysError;
use nix::sys::socket::{setsockopt, sockopt};
use socket2::{Domain, Protocol, Socket, Type};
use std::io;
use std::net::Ipv6Addr;
use tokio::io::unix::AsyncFd;

/// The multicast groups the sockets join and send to, defined once in
/// v6edge-wire: All_DHCP_Relay_Agents_and_Servers ff02::1:2 and
/// All_DHCP_Servers ff05::1:3 (RFC 8415 §7.1), all-nodes ff02::1 and
/// all-routers ff02::2 (RFC 4291 §2.7.1).
pub use v6edge_wire::constants::{
    ALL_DHCP_RELAY_AGENTS_AND_SERVERS, ALL_DHCP_SERVERS, ALL_NODES, ALL_ROUTERS,
};

/// Builds a nonblocking IPv6-only socket with the receive options every
/// v6edge socket uses, optionally bound to a device.
fn base_socket(
    ty: Type,
    proto: Protocol,
    device: Option<&str>,
    target: &str,
) -> Result<Socket, SysError> {
    let err = |op| sock_err(op, target);
    let sock = Socket::new(Domain::IPV6, ty, Some(proto)).map_err(err("socket"))?;
    sock.set_nonblocking(true).map_err(err("O_NONBLOCK"))?;
    setsockopt(&sock, sockopt::Ipv6RecvPacketInfo, &true)
        .map_err(|e| err("IPV6_RECVPKTINFO")(e.into()))?;
    setsockopt(&sock, sockopt::Ipv6RecvHopLimit, &true)
        .map_err(|e| err("IPV6_RECVHOPLIMIT")(e.into()))?;
    sock.set_multicast_loop_v6(false)
        .map_err(err("IPV6_MULTICAST_LOOP"))?;
    if let Some(dev) = device {
        sock.bind_device(Some(dev.as_bytes()))
            .map_err(err("SO_BINDTODEVICE"))?;
    }
    Ok(sock)
}

/// Attaches context to a failed socket call.
fn sock_err<'a>(op: &'static str, target: &'a str) -> impl FnOnce(io::Error) -> SysError + 'a {
    move |source| SysError::Socket {
        op,
        target: target.to_owned(),
        source,
    }
}

/// Hands a configured socket to tokio's reactor.
fn register(sock: Socket, target: &str) -> Result<AsyncFd<Socket>, SysError> {
    // SAFETY: `Socket` owns its file descriptor: it stays open, and
    // `as_raw_fd` keeps returning that same descriptor, until the `Socket`
    // is dropped, which only happens when the `AsyncFd` owning it is.
    unsafe { AsyncFd::register(sock) }.map_err(|e| SysError::Socket {
        op: "tokio registration",
        target: target.to_owned(),
        source: e.into_parts().1,
    })
}

fn join(fd: &AsyncFd<Socket>, group: Ipv6Addr, ifindex: u32, target: &str) -> Result<(), SysError> {
    match fd.get_ref().join_multicast_v6(&group, ifindex) {
        // Already a member: a membership outlives its link going down (the
        // kernel drops it only with the interface), so rejoining after a
        // flap finds it in place.
        Err(e) if e.raw_os_error() == Some(libc::EADDRINUSE) => Ok(()),
        r => r,
    }
    .map_err(|source| SysError::Socket {
        op: "IPV6_JOIN_GROUP",
        target: format!("{target} group {group} ifindex {ifindex}"),
        source,
    })
}

fn leave(
    fd: &AsyncFd<Socket>,
    group: Ipv6Addr,
    ifindex: u32,
    target: &str,
) -> Result<(), SysError> {
    fd.get_ref()
        .leave_multicast_v6(&group, ifindex)
        .map_err(|source| SysError::Socket {
            op: "IPV6_LEAVE_GROUP",
            target: format!("{target} group {group} ifindex {ifindex}"),
            source,
        })
}

/// The UDP socket of Dual-Stack Mobile IPv6 (RFC 5555 §4.1) at `addr` and
/// `port`, non-blocking, for tokio. `IP_FREEBIND` lets it bind before the
/// operator has put `addr` on an interface (the home agent starts first);
/// port 0 takes an ephemeral port (a mobile node's).
pub fn dsmip_udp_socket(addr: std::net::Ipv4Addr, port: u16) -> io::Result<tokio::net::UdpSocket> {
    let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    socket.set_freebind_v4(true)?;
    socket.set_nonblocking(true)?;
    // A tunnel's worth of data arrives here, not only signalling.
    tunnel::enlarge_receive_buffer(&socket);
    socket.bind(&std::net::SocketAddr::from((addr, port)).into())?;
    tokio::net::UdpSocket::from_std(socket.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multicast_groups_are_the_rfc_addresses() {
        // RFC 8415 §7.1; this was once ff05::1:0:3, a group no server joins.
        assert_eq!(ALL_DHCP_SERVERS, "ff05::1:3".parse::<Ipv6Addr>().unwrap());
        assert_eq!(
            ALL_DHCP_RELAY_AGENTS_AND_SERVERS,
            "ff02::1:2".parse::<Ipv6Addr>().unwrap()
        );
        assert_eq!(ALL_NODES, "ff02::1".parse::<Ipv6Addr>().unwrap());
        assert_eq!(ALL_ROUTERS, "ff02::2".parse::<Ipv6Addr>().unwrap());
    }
}
