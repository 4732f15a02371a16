//! DHCPv6 UDP and ICMPv6 raw sockets on tokio.
//!
//! Both are nonblocking IPv6 sockets registered with tokio's reactor
//! through `AsyncFd`, with IPV6_RECVPKTINFO and IPV6_RECVHOPLIMIT on and
//! multicast loopback off (a daemon must not hear its own multicasts, e.g.
//! its RAs, as if a peer sent them). Each can be tied to one interface with
//! SO_BINDTODEVICE.

mod icmp6;
mod pktinfo;
mod udp6;

pub use icmp6::{Icmp6Filter, Icmp6Socket};
pub use pktinfo::RecvMeta;
pub use udp6::Dhcp6Socket;

use crate::SysError;
use nix::sys::socket::{setsockopt, sockopt};
use socket2::{Domain, Protocol, Socket, Type};
use std::io;
use std::net::Ipv6Addr;
use tokio::io::unix::AsyncFd;

/// All_DHCP_Relay_Agents_and_Servers (RFC 8415 §7.1).
pub const ALL_DHCP_RELAY_AGENTS_AND_SERVERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 1, 2);
/// All_DHCP_Servers (RFC 8415 §7.1), site scope.
pub const ALL_DHCP_SERVERS: Ipv6Addr = Ipv6Addr::new(0xff05, 0, 0, 0, 0, 1, 0, 3);
/// All-nodes, link scope (RFC 4291 §2.7.1): unsolicited RAs go here.
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
/// All-routers, link scope (RFC 4291 §2.7.1): RSs go here.
pub const ALL_ROUTERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 2);

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
    fd.get_ref()
        .join_multicast_v6(&group, ifindex)
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
