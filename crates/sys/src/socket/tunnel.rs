//! IPv6-in-IPv6 tunnelling (RFC 2473) in userspace, for Mobile IPv6's
//! bidirectional tunnel between home agent and mobile node (RFC 6275
//! §10.4.2, §11.3.1) on a kernel without ip6tnl
//! (`../shared/reference/mobility.md` §2.1–§2.2).
//!
//! A raw socket of protocol 41: with it open, the kernel hands it the inner
//! packet of every IPv6-in-IPv6 packet addressed to this node (the outer
//! header stripped, its source and destination in the [`RecvMeta`]) instead
//! of answering "protocol unreachable"; a send prepends an outer header of
//! next header 41 from the bound address. Together with a TUN device, into
//! which the routes toward home addresses point, this is the default data
//! plane: packets read from the TUN go out through [`TunnelSocket::send`],
//! decapsulated ones are written into the TUN for the kernel to forward or
//! deliver.

use super::{base_socket, pktinfo, register, sock_err};
use crate::{RecvMeta, SysError};
use socket2::{Protocol, Socket, Type};
use std::io;
use std::net::{Ipv6Addr, SocketAddrV6};
use std::os::fd::AsRawFd;
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// IANA protocol number of IPv6 as a payload (RFC 2473 §3).
const IPPROTO_IPV6_IN_IPV6: i32 = 41;

/// The receive buffer asked for. Tunnelled TCP arrives in bursts (one TSO
/// segment of the sender is some 45 packets at once); the default
/// (net.core.rmem_default, ~200 KiB of skb memory, ~90 packets) overflowed
/// whenever the worker lagged a moment: ~15 % of one flow's packets were
/// dropped there (bench/mip6-tunnel.sh, the "drops" of /proc/net/raw6).
const RECV_BUFFER: usize = 4 << 20;

/// Best effort: SO_RCVBUFFORCE passes net.core.rmem_max (needs
/// CAP_NET_ADMIN, which the roles have); SO_RCVBUF is capped there.
fn grow_recv_buffer(sock: &Socket) {
    use nix::sys::socket::{setsockopt, sockopt};
    if setsockopt(sock, sockopt::RcvBufForce, &RECV_BUFFER).is_err() {
        let _ = sock.set_recv_buffer_size(RECV_BUFFER);
    }
}

/// One end of IPv6-in-IPv6 tunnels; see the module documentation.
#[derive(Debug)]
pub struct TunnelSocket {
    fd: AsyncFd<Socket>,
    local: Ipv6Addr,
    target: String,
}

impl TunnelSocket {
    /// Opens the socket bound to `local`, the outer source of everything
    /// sent (a home agent's address, a mobile node's care-of address).
    /// Needs CAP_NET_RAW.
    pub fn bind(local: Ipv6Addr) -> Result<TunnelSocket, SysError> {
        let target = format!("ipv6-in-ipv6 from {local}");
        let sock = base_socket(
            Type::RAW,
            Protocol::from(IPPROTO_IPV6_IN_IPV6),
            None,
            &target,
        )?;
        grow_recv_buffer(&sock);
        sock.bind(&SocketAddrV6::new(local, 0, 0, 0).into())
            .map_err(sock_err("bind", &target))?;
        let fd = register(sock, &target)?;
        Ok(TunnelSocket { fd, local, target })
    }

    /// Opens the socket bound to no address: it receives the inner packet
    /// of every IPv6-in-IPv6 packet to any address of this node, and each
    /// send names its outer source ([`TunnelSocket::send_from`]). A mobile
    /// node's care-of address changes with every movement; one socket
    /// then serves them all without a rebind (and without a window in
    /// which the new address's tunnel input finds no socket). Needs
    /// CAP_NET_RAW.
    pub fn unbound() -> Result<TunnelSocket, SysError> {
        let target = "ipv6-in-ipv6 (any local address)".to_owned();
        let sock = base_socket(
            Type::RAW,
            Protocol::from(IPPROTO_IPV6_IN_IPV6),
            None,
            &target,
        )?;
        grow_recv_buffer(&sock);
        let fd = register(sock, &target)?;
        Ok(TunnelSocket {
            fd,
            local: Ipv6Addr::UNSPECIFIED,
            target,
        })
    }

    /// The outer source of what this socket sends (`::` when unbound).
    pub fn local(&self) -> Ipv6Addr {
        self.local
    }

    /// Waits for the next tunnelled packet; `buf` receives the inner
    /// packet, [`RecvMeta::src`] is the outer source (whom it came from:
    /// the anti-spoofing check of RFC 6275 §10.4.5 compares it with the
    /// registered care-of address).
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<RecvMeta> {
        self.fd
            .async_io(Interest::READABLE, |s| pktinfo::recv(s.as_raw_fd(), buf))
            .await
    }

    /// Sends `inner` (a whole IPv6 packet) to `outer_dst` inside an outer
    /// header from [`TunnelSocket::local`]. Never waits: `WouldBlock` when
    /// the kernel cannot take it now.
    pub fn send(&self, inner: &[u8], outer_dst: Ipv6Addr) -> io::Result<()> {
        let to = socket2::SockAddr::from(SocketAddrV6::new(outer_dst, 0, 0, 0));
        let sent = self.fd.get_ref().send_to(inner, &to)?;
        if sent != inner.len() {
            return Err(io::Error::other(format!(
                "short tunnel send by {}: {sent} of {}",
                self.target,
                inner.len()
            )));
        }
        Ok(())
    }

    /// Sends `inner` to `outer_dst` inside an outer header from
    /// `outer_src` (IPV6_PKTINFO: the source must be an address of this
    /// node; policy rules on it choose the route). Never waits.
    pub fn send_from(
        &self,
        inner: &[u8],
        outer_src: Ipv6Addr,
        outer_dst: Ipv6Addr,
    ) -> io::Result<()> {
        let t = v6edge_core::Transmit {
            ifindex: 0,
            src: Some(outer_src),
            dst: outer_dst,
            // pktinfo::send reads addresses, hop limit and payload only.
            transport: v6edge_core::Transport::Icmpv6,
            hop_limit: None,
            payload: inner.to_vec(),
        };
        pktinfo::send(self.fd.get_ref().as_raw_fd(), &t, 0)
    }
}
