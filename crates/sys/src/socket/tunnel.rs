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
use crate::batch::PacketBatch;
use crate::{RecvMeta, SysError};
use socket2::{Protocol, Socket, Type};
use std::io;
use std::net::{Ipv6Addr, SocketAddrV6};
use std::os::fd::AsRawFd;
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// IANA protocol number of IPv6 as a payload (RFC 2473 §3).
const IPPROTO_IPV6_IN_IPV6: i32 = 41;
/// IANA protocol number of IPv4 as a payload (RFC 2473 §3).
const IPPROTO_IPV4_IN_IPV6: i32 = 4;

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
        TunnelSocket::open(Some(local), IPPROTO_IPV6_IN_IPV6, "ipv6-in-ipv6")
    }

    /// Opens the socket bound to no address: it receives the inner packet
    /// of every IPv6-in-IPv6 packet to any address of this node, and each
    /// send names its outer source ([`TunnelSocket::send_from`]). A mobile
    /// node's care-of address changes with every movement; one socket
    /// then serves them all without a rebind (and without a window in
    /// which the new address's tunnel input finds no socket). Needs
    /// CAP_NET_RAW.
    pub fn unbound() -> Result<TunnelSocket, SysError> {
        TunnelSocket::open(None, IPPROTO_IPV6_IN_IPV6, "ipv6-in-ipv6")
    }

    /// [`TunnelSocket::bind`] for IPv4-in-IPv6 (next header 4, RFC 2473
    /// §3): Dual-Stack MIPv6's IPv4 home address over an IPv6 care-of
    /// address (RFC 5555 §4.1). Inner packets are IPv4.
    pub fn bind_ipv4_in_ipv6(local: Ipv6Addr) -> Result<TunnelSocket, SysError> {
        TunnelSocket::open(Some(local), IPPROTO_IPV4_IN_IPV6, "ipv4-in-ipv6")
    }

    /// [`TunnelSocket::unbound`] for IPv4-in-IPv6.
    pub fn unbound_ipv4_in_ipv6() -> Result<TunnelSocket, SysError> {
        TunnelSocket::open(None, IPPROTO_IPV4_IN_IPV6, "ipv4-in-ipv6")
    }

    fn open(local: Option<Ipv6Addr>, protocol: i32, what: &str) -> Result<TunnelSocket, SysError> {
        let target = match local {
            Some(a) => format!("{what} from {a}"),
            None => format!("{what} (any local address)"),
        };
        let sock = base_socket(Type::RAW, Protocol::from(protocol), None, &target)?;
        if let Some(a) = local {
            sock.bind(&SocketAddrV6::new(a, 0, 0, 0).into())
                .map_err(sock_err("bind", &target))?;
        }
        enable_recverr(&sock).map_err(sock_err("setsockopt(IPV6_RECVERR)", &target))?;
        enlarge_receive_buffer(&sock);
        let fd = register(sock, &target)?;
        Ok(TunnelSocket {
            fd,
            local: local.unwrap_or(Ipv6Addr::UNSPECIFIED),
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

    /// Waits for tunnelled packets, then receives as many as are queued,
    /// up to the batch's capacity, with one `recvmmsg`: each inner packet
    /// with its outer source and destination ([`Tunnelled`]). Returns how
    /// many. The errors are [`TunnelSocket::recv`]'s.
    pub async fn recv_batch(&self, batch: &mut PacketBatch<Tunnelled>) -> io::Result<usize> {
        batch.clear();
        loop {
            let mut guard = self.fd.readable().await?;
            match recv_many(guard.get_inner().as_raw_fd(), batch) {
                Ok(n) if n < batch.capacity() => {
                    // Drained (recvmmsg stops at an empty queue).
                    guard.clear_ready();
                    if n > 0 {
                        return Ok(n);
                    }
                }
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => guard.clear_ready(),
                Err(e) => return Err(e),
            }
        }
    }

    /// Sends every packet of `packets` with as few `sendmmsg` calls as the
    /// kernel allows, never waiting: what it cannot take now (a full send
    /// buffer) and what it refuses (no route, too big) is counted in
    /// [`BatchSent::failed`], not retried.
    pub fn send_batch(&self, packets: &[Outgoing<'_>]) -> BatchSent {
        let fd = self.fd.get_ref().as_raw_fd();
        let mut result = BatchSent::default();
        for chunk in packets.chunks(crate::batch::DEFAULT_BATCH) {
            let mut start = 0;
            while start < chunk.len() {
                match send_many(fd, &chunk[start..]) {
                    Ok(n) => {
                        start += n;
                        result.sent += n;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        result.failed += chunk.len() - start;
                        start = chunk.len();
                    }
                    // The first message was refused; the rest may go.
                    Err(_) => {
                        start += 1;
                        result.failed += 1;
                    }
                }
            }
        }
        result
    }

    /// Waits for the next ICMPv6 error about a tunnel packet this socket
    /// sent (IPV6_RECVERR, from the socket's error queue): `buf` receives
    /// the quoted inner packet. A Packet Too Big for the outer packet
    /// (RFC 2473 §7.2) has [`TunnelError::mtu`]; the kernel has then
    /// already lowered its path MTU toward [`TunnelError::outer_dst`], so
    /// later outer packets are fragmented to fit.
    pub async fn recv_error(&self, buf: &mut [u8]) -> io::Result<TunnelError> {
        self.fd
            .async_io(Interest::ERROR, |s| recv_errqueue(s.as_raw_fd(), buf))
            .await
    }

    /// Whether an error of [`TunnelSocket::recv`] only announces an
    /// error-queue message (the pending socket error IPV6_RECVERR sets for
    /// an ICMPv6 error): [`TunnelSocket::recv_error`] has it.
    pub fn announces_error(e: &io::Error) -> bool {
        matches!(
            e.raw_os_error(),
            Some(
                libc::EMSGSIZE
                    | libc::EHOSTUNREACH
                    | libc::ENETUNREACH
                    | libc::ECONNREFUSED
                    | libc::EPROTO
            )
        )
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

/// Where a tunnelled packet came from and was sent to (the outer header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tunnelled {
    pub outer_src: Ipv6Addr,
    /// `::` when the kernel gave no IPV6_PKTINFO (never expected).
    pub outer_dst: Ipv6Addr,
}

/// One packet for [`TunnelSocket::send_batch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outgoing<'a> {
    /// The whole inner IPv6 packet.
    pub inner: &'a [u8],
    /// The outer source; `None`: the bound address.
    pub outer_src: Option<Ipv6Addr>,
    pub outer_dst: Ipv6Addr,
}

/// What became of a [`TunnelSocket::send_batch`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchSent {
    pub sent: usize,
    pub failed: usize,
}

/// Control buffer per message: IPV6_PKTINFO (CMSG_SPACE 40) and
/// IPV6_HOPLIMIT (24), which every v6edge socket asks for, with room.
type Control = [u64; 16];

/// One nonblocking recvmmsg into the free slots of `batch`.
fn recv_many(fd: std::os::fd::RawFd, batch: &mut PacketBatch<Tunnelled>) -> io::Result<usize> {
    const N: usize = crate::batch::DEFAULT_BATCH;
    // SAFETY (all zeroed below): plain C structures, all-zero is valid.
    let mut names: [libc::sockaddr_in6; N] = unsafe { std::mem::zeroed() };
    let mut controls: [Control; N] = [[0; 16]; N];
    let mut iovs: [libc::iovec; N] = unsafe { std::mem::zeroed() };
    let mut hdrs: [libc::mmsghdr; N] = unsafe { std::mem::zeroed() };
    let mut count = 0;
    for (i, slot) in batch.free_slots().take(N).enumerate() {
        iovs[i] = libc::iovec {
            iov_base: slot.as_mut_ptr().cast(),
            iov_len: slot.len(),
        };
        count = i + 1;
    }
    for i in 0..count {
        let h = &mut hdrs[i].msg_hdr;
        h.msg_name = (&mut names[i] as *mut libc::sockaddr_in6).cast();
        h.msg_namelen = std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t;
        h.msg_iov = &mut iovs[i];
        h.msg_iovlen = 1;
        h.msg_control = controls[i].as_mut_ptr().cast();
        h.msg_controllen = std::mem::size_of::<Control>() as _;
    }
    if count == 0 {
        return Ok(0);
    }
    // SAFETY: `hdrs[..count]` point at live names, iovecs (into the
    // batch's slots) and control buffers of the sizes given, all of which
    // outlive the call; no timeout.
    let n = unsafe {
        libc::recvmmsg(
            fd,
            hdrs.as_mut_ptr(),
            count as libc::c_uint,
            libc::MSG_DONTWAIT,
            std::ptr::null_mut(),
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let n = n as usize;
    for (hdr, name) in hdrs.iter().zip(names.iter()).take(n) {
        let outer_dst = pktinfo_dst(&hdr.msg_hdr).unwrap_or(Ipv6Addr::UNSPECIFIED);
        let meta = Tunnelled {
            outer_src: Ipv6Addr::from(name.sin6_addr.s6_addr),
            outer_dst,
        };
        // A truncated packet cannot happen (slots hold the largest); if it
        // did, its length says more than the slot and `iter` cuts it.
        batch.push(hdr.msg_len as usize, meta);
    }
    Ok(n)
}

/// The destination address of a received message (IPV6_PKTINFO).
fn pktinfo_dst(msg: &libc::msghdr) -> Option<Ipv6Addr> {
    // SAFETY: CMSG_* walk the control buffer the kernel filled, bounded by
    // msg_controllen; the payload is read unaligned.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(msg);
        while !cmsg.is_null() {
            let c = &*cmsg;
            if c.cmsg_level == libc::IPPROTO_IPV6 && c.cmsg_type == libc::IPV6_PKTINFO {
                let info: libc::in6_pktinfo =
                    std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast());
                return Some(Ipv6Addr::from(info.ipi6_addr.s6_addr));
            }
            cmsg = libc::CMSG_NXTHDR(msg, cmsg);
        }
    }
    None
}

/// One nonblocking sendmmsg of (at most a batch of) `packets`: how many
/// the kernel took, or the error of the first.
fn send_many(fd: std::os::fd::RawFd, packets: &[Outgoing<'_>]) -> io::Result<usize> {
    const N: usize = crate::batch::DEFAULT_BATCH;
    let count = packets.len().min(N);
    // SAFETY (all zeroed below): plain C structures, all-zero is valid.
    let mut names: [libc::sockaddr_in6; N] = unsafe { std::mem::zeroed() };
    let mut controls: [Control; N] = [[0; 16]; N];
    let mut iovs: [libc::iovec; N] = unsafe { std::mem::zeroed() };
    let mut hdrs: [libc::mmsghdr; N] = unsafe { std::mem::zeroed() };
    for (i, p) in packets.iter().take(count).enumerate() {
        names[i].sin6_family = libc::AF_INET6 as libc::sa_family_t;
        names[i].sin6_addr.s6_addr = p.outer_dst.octets();
        iovs[i] = libc::iovec {
            iov_base: p.inner.as_ptr() as *mut libc::c_void,
            iov_len: p.inner.len(),
        };
        let h = &mut hdrs[i].msg_hdr;
        h.msg_name = (&mut names[i] as *mut libc::sockaddr_in6).cast();
        h.msg_namelen = std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t;
        h.msg_iov = &mut iovs[i];
        h.msg_iovlen = 1;
        if let Some(src) = p.outer_src {
            let info = libc::in6_pktinfo {
                ipi6_addr: libc::in6_addr {
                    s6_addr: src.octets(),
                },
                ipi6_ifindex: 0,
            };
            h.msg_control = controls[i].as_mut_ptr().cast();
            // SAFETY: CMSG_SPACE/CMSG_LEN are pure size computations.
            let space =
                unsafe { libc::CMSG_SPACE(std::mem::size_of::<libc::in6_pktinfo>() as u32) };
            h.msg_controllen = space as _;
            // SAFETY: the control buffer (128 octets) holds one
            // CMSG_SPACE(20) = 40-octet message; the header and payload
            // are written unaligned-safe through the CMSG macros.
            unsafe {
                let cmsg = libc::CMSG_FIRSTHDR(h);
                (*cmsg).cmsg_level = libc::IPPROTO_IPV6;
                (*cmsg).cmsg_type = libc::IPV6_PKTINFO;
                (*cmsg).cmsg_len =
                    libc::CMSG_LEN(std::mem::size_of::<libc::in6_pktinfo>() as u32) as _;
                std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast(), info);
            }
        }
    }
    // SAFETY: `hdrs[..count]` point at live names, iovecs (into the
    // callers' packets, only read) and control buffers, which outlive the
    // call.
    let n = unsafe {
        libc::sendmmsg(
            fd,
            hdrs.as_mut_ptr(),
            count as libc::c_uint,
            libc::MSG_DONTWAIT,
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}

/// An ICMPv6 error about a tunnel packet ([`TunnelSocket::recv_error`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TunnelError {
    /// Octets of the quoted inner packet written to the buffer.
    pub len: usize,
    /// The destination of the outer packet (care-of address, home agent).
    pub outer_dst: Ipv6Addr,
    /// ICMPv6 type and code.
    pub icmp_type: u8,
    pub icmp_code: u8,
    /// The MTU of a Packet Too Big.
    pub mtu: Option<u32>,
}

/// IANA: ICMPv6 Packet Too Big (RFC 4443 §3.2).
const ICMPV6_PACKET_TOO_BIG: u8 = 2;

/// Receive buffer of a tunnel socket: bursts of reassembled packets
/// (outer fragments, RFC 2473 §7.1(a)) are large in kernel memory, and
/// tunnelled TCP arrives in bursts (one TSO segment of the sender is some
/// 45 packets at once): the default (~200 KiB, ~90 packets) dropped ~15 %
/// of one flow's packets (bench/mip6-tunnel.sh, /proc/net/raw6 drops).
const TUNNEL_RECEIVE_BUFFER: usize = 4 << 20;

/// Raises the receive buffer above `net.core.rmem_max` (SO_RCVBUFFORCE,
/// CAP_NET_ADMIN), else as far as allowed. A raw socket whose buffer is
/// full does not count as a receiver: the kernel then answers the packet
/// with a Parameter Problem "unknown next header" besides dropping it.
pub(super) fn enlarge_receive_buffer(sock: &Socket) {
    if nix::sys::socket::setsockopt(
        sock,
        nix::sys::socket::sockopt::RcvBufForce,
        &TUNNEL_RECEIVE_BUFFER,
    )
    .is_err()
    {
        // Clamped to rmem_max by the kernel; better than the default.
        let _ = sock.set_recv_buffer_size(TUNNEL_RECEIVE_BUFFER);
    }
}

fn enable_recverr(sock: &Socket) -> io::Result<()> {
    let on: libc::c_int = 1;
    // SAFETY: a valid descriptor and a c_int option of the right size.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::IPPROTO_IPV6,
            libc::IPV6_RECVERR,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// One message of the error queue (`recvmsg(MSG_ERRQUEUE)`, never waits).
fn recv_errqueue(fd: std::os::fd::RawFd, buf: &mut [u8]) -> io::Result<TunnelError> {
    let mut name: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
    let mut control = [0u64; 64];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: msghdr is plain data; every pointer below outlives the call.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_name = (&mut name as *mut libc::sockaddr_in6).cast();
    msg.msg_namelen = std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control) as _;
    // SAFETY: fd is a socket, msg points at live buffers of the given sizes.
    let n = unsafe { libc::recvmsg(fd, &mut msg, libc::MSG_ERRQUEUE | libc::MSG_DONTWAIT) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut error = TunnelError {
        len: (n as usize).min(buf.len()),
        outer_dst: Ipv6Addr::from(name.sin6_addr.s6_addr),
        icmp_type: 0,
        icmp_code: 0,
        mtu: None,
    };
    // SAFETY: CMSG_* walk the control buffer the kernel filled, bounded by
    // msg_controllen; the extended error is read unaligned.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            let c = &*cmsg;
            if c.cmsg_level == libc::IPPROTO_IPV6 && c.cmsg_type == libc::IPV6_RECVERR {
                let ee: libc::sock_extended_err =
                    std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast());
                if ee.ee_origin == libc::SO_EE_ORIGIN_ICMP6 {
                    error.icmp_type = ee.ee_type;
                    error.icmp_code = ee.ee_code;
                    if ee.ee_type == ICMPV6_PACKET_TOO_BIG {
                        error.mtu = Some(ee.ee_info);
                    }
                }
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
    }
    Ok(error)
}

/// The kernel's path MTU toward `dst` (from `src` when given: policy
/// rules may choose the route by source): the route's MTU, lowered by any
/// Packet Too Big the kernel has learnt (IPV6_MTU on a connected UDP
/// socket; nothing is sent).
pub fn path_mtu(src: Option<Ipv6Addr>, dst: Ipv6Addr) -> io::Result<u32> {
    let sock = Socket::new(socket2::Domain::IPV6, Type::DGRAM, Some(Protocol::UDP))?;
    if let Some(src) = src {
        sock.bind(&SocketAddrV6::new(src, 0, 0, 0).into())?;
    }
    sock.connect(&SocketAddrV6::new(dst, 9, 0, 0).into())?;
    let mut mtu: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: a valid descriptor and a c_int-sized output.
    let rc = unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            libc::IPPROTO_IPV6,
            libc::IPV6_MTU,
            (&mut mtu as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    u32::try_from(mtu).map_err(|_| io::Error::other("negative path MTU"))
}
