//! The DHCPv6 UDP socket (RFC 8415 §7.2: clients listen on 546, servers and
//! relay agents on 547).

use super::{base_socket, join, leave, pktinfo, register, sock_err};
use crate::{RecvMeta, SysError};
use socket2::{Protocol, SockAddr, Socket, Type};
use std::io;
use std::net::{Ipv6Addr, SocketAddrV6};
use std::os::fd::AsRawFd;
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use v6edge_core::{IfIndex, Transmit, Transport};

/// A UDP/IPv6 socket bound to `[::]:port`.
///
/// SO_REUSEADDR is set so that one socket per interface (each with
/// SO_BINDTODEVICE) can share the port, and a client and a relay can coexist
/// on one host. SO_REUSEPORT is deliberately not set: it load-balances
/// unicast datagrams across the sockets sharing the port, which would hand a
/// reply to the wrong interface's machine.
#[derive(Debug)]
pub struct Dhcp6Socket {
    fd: AsyncFd<Socket>,
    port: u16,
    target: String,
}

impl Dhcp6Socket {
    /// Binds `[::]:port`, tied to `device` if given. Needs CAP_NET_BIND_SERVICE
    /// for 546/547 (and CAP_NET_RAW for SO_BINDTODEVICE on older kernels).
    pub fn bind(port: u16, device: Option<&str>) -> Result<Dhcp6Socket, SysError> {
        let target = match device {
            Some(d) => format!("udp [::]:{port} dev {d}"),
            None => format!("udp [::]:{port}"),
        };
        let sock = base_socket(Type::DGRAM, Protocol::UDP, device, &target)?;
        let err = |op| sock_err(op, &target);
        // No IPv4-mapped traffic: DHCPv6 is IPv6 only. (Raw ICMPv6 sockets
        // are IPv6 by nature and refuse this option.)
        sock.set_only_v6(true).map_err(err("IPV6_V6ONLY"))?;
        sock.set_reuse_address(true).map_err(err("SO_REUSEADDR"))?;
        let addr = SockAddr::from(SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, port, 0, 0));
        sock.bind(&addr).map_err(err("bind"))?;
        let fd = register(sock, &target)?;
        Ok(Dhcp6Socket { fd, port, target })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Hop limit of multicast datagrams sent. The default of 1 keeps
    /// ff05::1:3 (All_DHCP_Servers, site scope) on the first link; a relay
    /// forwarding to servers further away raises it.
    pub fn set_multicast_hops(&self, hops: u32) -> Result<(), SysError> {
        self.fd
            .get_ref()
            .set_multicast_hops_v6(hops)
            .map_err(sock_err("IPV6_MULTICAST_HOPS", &self.target))
    }

    /// Asks for a receive buffer of `bytes`, and returns what the kernel
    /// granted. A server that commits leases between reads (group commit,
    /// one fsync per batch) must hold what arrives meanwhile: at 30 000
    /// exchanges/s a few milliseconds of fsync are hundreds of datagrams,
    /// more than the default buffer (net.core.rmem_default, ~200 KiB of
    /// skb memory) holds. SO_RCVBUFFORCE (needs CAP_NET_ADMIN) passes
    /// net.core.rmem_max; without the capability SO_RCVBUF is capped there.
    pub fn set_recv_buffer(&self, bytes: usize) -> Result<usize, SysError> {
        use nix::sys::socket::{setsockopt, sockopt};
        let sock = self.fd.get_ref();
        if setsockopt(sock, sockopt::RcvBufForce, &bytes).is_err() {
            sock.set_recv_buffer_size(bytes)
                .map_err(sock_err("SO_RCVBUF", &self.target))?;
        }
        sock.recv_buffer_size()
            .map_err(sock_err("SO_RCVBUF", &self.target))
    }

    /// Joins `group` on `ifindex`, e.g. All_DHCP_Relay_Agents_and_Servers
    /// (servers and relays, RFC 8415 §7.1) or All_DHCP_Servers.
    pub fn join_multicast(&self, group: Ipv6Addr, ifindex: IfIndex) -> Result<(), SysError> {
        join(&self.fd, group, ifindex, &self.target)
    }

    pub fn leave_multicast(&self, group: Ipv6Addr, ifindex: IfIndex) -> Result<(), SysError> {
        leave(&self.fd, group, ifindex, &self.target)
    }

    /// Waits for the next datagram.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<RecvMeta> {
        self.fd
            .async_io(Interest::READABLE, |s| pktinfo::recv(s.as_raw_fd(), buf))
            .await
    }

    /// Sends `t` out of `t.ifindex` to `t.dst` on the destination port of
    /// its `Transport::Udp`. The source port is the bound port: a transmit
    /// naming another source port (or ICMPv6 transport) is refused with
    /// `InvalidInput`, since it was meant for another socket.
    ///
    /// Never waits: a datagram the kernel cannot take now (send buffer
    /// full, typically of datagrams held for unresolved neighbours) fails
    /// with `WouldBlock`, and the caller drops and counts it. Waiting for
    /// room would stop the daemon's one loop for as long as the kernel
    /// keeps failing resolutions, which a flood of made-up sources makes
    /// indefinitely long.
    pub fn send(&self, t: &Transmit) -> io::Result<()> {
        let dst_port = match t.transport {
            Transport::Udp { src_port, dst_port } if src_port == self.port => dst_port,
            other => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{other:?} cannot leave by {}", self.target),
                ));
            }
        };
        pktinfo::send(self.fd.get_ref().as_raw_fd(), t, dst_port)
    }

    /// Asks for a send buffer of `bytes` (SO_SNDBUFFORCE, else SO_SNDBUF
    /// capped at net.core.wmem_max) and returns what the kernel granted.
    /// Datagrams to a neighbour still being resolved wait in the kernel,
    /// charged to this buffer, for up to the resolution time (3 s, RFC 4861
    /// §7.3.3): a server answering many new clients at once needs room for
    /// them, or its answers to everyone else are refused meanwhile.
    pub fn set_send_buffer(&self, bytes: usize) -> Result<usize, SysError> {
        use nix::sys::socket::{setsockopt, sockopt};
        let sock = self.fd.get_ref();
        if setsockopt(sock, sockopt::SndBufForce, &bytes).is_err() {
            sock.set_send_buffer_size(bytes)
                .map_err(sock_err("SO_SNDBUF", &self.target))?;
        }
        sock.send_buffer_size()
            .map_err(sock_err("SO_SNDBUF", &self.target))
    }
}
