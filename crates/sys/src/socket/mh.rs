//! Mobile IPv6 sockets on a kernel without MIP6 support
//! (`../shared/reference/mobility.md` §2.2): a raw Mobility Header socket,
//! and a raw IPv6 sender for the packets the socket API cannot build.
//!
//! - [`MhSocket`]: `IPPROTO_MH` raw socket. With it open the kernel
//!   delivers Mobility Headers without extension headers to it (and does
//!   not answer them with Parameter Problem); it validates nothing, so the
//!   machines check Payload Proto, length and checksum. The kernel's own
//!   checksum (offset 4, over the packet's real source) is turned off with
//!   IPV6_CHECKSUM = -1: a Binding Update with a Home Address option is
//!   checksummed over the home address (RFC 6275 §6.1.1), which the
//!   machine computes. A Home Address option goes out as the sticky
//!   IPV6_DSTOPTS header (Linux places it just before the upper layer,
//!   RFC 6275 §6.3's position for an unfragmented packet), set for one
//!   send and cleared after it: the daemon's one loop owns the socket.
//! - [`RawIpv6Sender`]: `IPPROTO_RAW` (header included). A Type 2 Routing
//!   Header cannot be sent through the socket API without MIP6 (EINVAL),
//!   so a Binding Acknowledgement or Mobile Prefix Advertisement to a mobile
//!   node away from home is sent as a whole IPv6 packet built by the
//!   machine.

use super::{base_socket, pktinfo, register, sock_err};
use crate::{RecvMeta, SysError};
use socket2::{Domain, Protocol, Socket, Type};
use std::io;
use std::net::{Ipv6Addr, SocketAddrV6};
use std::os::fd::AsRawFd;
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use v6edge_core::{Transmit, Transport};
use v6edge_wire::ip6::DestinationOptions;

/// RFC 6275 §6.1: the Mobility Header's protocol number.
const IPPROTO_MH: i32 = 135;

fn setsockopt_raw(sock: &Socket, level: i32, name: i32, value: &[u8]) -> io::Result<()> {
    let len = libc::socklen_t::try_from(value.len())
        .map_err(|_| io::Error::other("option larger than socklen_t"))?;
    let ptr = if value.is_empty() {
        std::ptr::null()
    } else {
        value.as_ptr().cast::<libc::c_void>()
    };
    // SAFETY: the fd is a live socket owned by `sock`; `ptr`/`len` describe
    // `value`, borrowed for the whole call (or are null/0, which the kernel
    // reads as "clear the option"); the kernel only reads `len` bytes.
    let rc = unsafe { libc::setsockopt(sock.as_raw_fd(), level, name, ptr, len) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// A raw Mobility Header socket; see the module documentation.
#[derive(Debug)]
pub struct MhSocket {
    fd: AsyncFd<Socket>,
    target: String,
}

impl MhSocket {
    /// Opens the socket, tied to `device` if given. Needs CAP_NET_RAW.
    pub fn new(device: Option<&str>) -> Result<MhSocket, SysError> {
        let target = match device {
            Some(d) => format!("mobility header dev {d}"),
            None => "mobility header".to_owned(),
        };
        let sock = base_socket(Type::RAW, Protocol::from(IPPROTO_MH), device, &target)?;
        let off: libc::c_int = -1;
        setsockopt_raw(
            &sock,
            libc::IPPROTO_IPV6,
            libc::IPV6_CHECKSUM,
            &off.to_ne_bytes(),
        )
        .map_err(sock_err("IPV6_CHECKSUM", &target))?;
        let fd = register(sock, &target)?;
        Ok(MhSocket { fd, target })
    }

    /// Waits for the next Mobility Header; `buf` receives it from the
    /// Payload Proto byte on.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<RecvMeta> {
        self.fd
            .async_io(Interest::READABLE, |s| pktinfo::recv(s.as_raw_fd(), buf))
            .await
    }

    /// Sends `t` (transport `MobilityHeader`): the payload is the whole
    /// Mobility Header with its checksum already in place. With a home
    /// address the packet carries a Home Address destination option.
    /// Never waits: `WouldBlock` when the kernel cannot take it now.
    pub fn send(&self, t: &Transmit) -> io::Result<()> {
        let Transport::MobilityHeader { home_address } = t.transport else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{:?} cannot leave by {}", t.transport, self.target),
            ));
        };
        let sock = self.fd.get_ref();
        let Some(hoa) = home_address else {
            return pktinfo::send(sock.as_raw_fd(), t, 0);
        };
        let header = DestinationOptions::home_address(IPPROTO_MH as u8, hoa).to_bytes();
        setsockopt_raw(sock, libc::IPPROTO_IPV6, libc::IPV6_DSTOPTS, &header)?;
        let sent = pktinfo::send(sock.as_raw_fd(), t, 0);
        // Cleared whatever happened: the next message may be for a node at
        // home, without the option.
        let cleared = setsockopt_raw(sock, libc::IPPROTO_IPV6, libc::IPV6_DSTOPTS, &[]);
        sent.and(cleared)
    }
}

/// Sends whole IPv6 packets built by the caller (header included); see the
/// module documentation. Receives nothing.
#[derive(Debug)]
pub struct RawIpv6Sender {
    sock: Socket,
}

impl RawIpv6Sender {
    /// Needs CAP_NET_RAW.
    pub fn new() -> Result<RawIpv6Sender, SysError> {
        let target = "raw ipv6 (header included)";
        let sock = Socket::new(
            Domain::IPV6,
            Type::RAW,
            Some(Protocol::from(libc::IPPROTO_RAW)),
        )
        .map_err(sock_err("socket", target))?;
        sock.set_nonblocking(true)
            .map_err(sock_err("O_NONBLOCK", target))?;
        Ok(RawIpv6Sender { sock })
    }

    /// Sends `packet`, which starts with its own IPv6 header, toward its
    /// destination (link-local destinations leave by `ifindex`). Never
    /// waits.
    ///
    /// The kernel routes a header-included packet by the flow the socket
    /// API gives, not by the header: a source address in the header is
    /// passed as `IPV6_PKTINFO` too, so source-specific rules apply (a
    /// mobile node's packets from its care-of address must take the
    /// access router, not the default route into its tunnel).
    pub fn send(&self, packet: &[u8], ifindex: u32) -> io::Result<()> {
        let address_at = |at: usize| {
            packet
                .get(at..at + 16)
                .and_then(|b| <[u8; 16]>::try_from(b).ok())
                .map(Ipv6Addr::from)
        };
        let dst = address_at(24)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not an IPv6 packet"))?;
        if let Some(src) = address_at(8).filter(|s| !s.is_unspecified()) {
            let t = Transmit {
                ifindex,
                src: Some(src),
                dst,
                transport: Transport::Icmpv6,
                hop_limit: None,
                payload: packet.to_vec(),
            };
            return pktinfo::send(self.sock.as_raw_fd(), &t, 0);
        }
        let scope = if dst.is_unicast_link_local() || dst.is_multicast() {
            ifindex
        } else {
            0
        };
        let to = socket2::SockAddr::from(SocketAddrV6::new(dst, 0, 0, scope));
        let sent = self.sock.send_to(packet, &to)?;
        if sent != packet.len() {
            return Err(io::Error::other(format!(
                "short raw send: {sent} of {}",
                packet.len()
            )));
        }
        Ok(())
    }
}
