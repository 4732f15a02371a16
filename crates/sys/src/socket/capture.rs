//! Receiving Mobile IPv6's extension headers on a kernel without MIP6
//! (`../shared/reference/mobility.md` §2.1–§2.2, option B): the kernel
//! drops an inbound packet with a Home Address option or a Type 2 Routing
//! Header (Parameter Problem) before any socket sees it, so a Binding
//! Update from a mobile node away from home never reaches the raw MH
//! socket. An `AF_PACKET` socket sees the packet before extension-header
//! processing; a classic BPF filter in the kernel passes only packets whose
//! first extension header is Destination Options (next header 60) or a
//! Routing header of type 2, so the daemon wakes for nothing else. The
//! caller walks the packet (`v6edge_wire::ip6::walk`) and keeps what is
//! addressed to it.
//!
//! The kernel still answers these packets with Parameter Problem; an nft
//! drop at raw prerouting priority (the rest of option B) is what stops
//! that, and belongs with the daemon's firewall ownership, not here.

use std::io;
use std::mem::MaybeUninit;
use std::os::fd::AsRawFd;

use socket2::{Domain, Protocol, SockFilter, Socket, Type};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use v6edge_core::IfIndex;

use super::{register, sock_err};
use crate::SysError;

/// `linux/if_ether.h`: the IPv6 ethertype.
const ETH_P_IPV6: u16 = 0x86dd;
/// `linux/if_packet.h`: a packet this host sent, looped back to packet
/// sockets.
const PACKET_OUTGOING: u8 = 4;

/// RFC 8200 §4: next-header values of the headers of interest.
const NH_DESTINATION_OPTIONS: u32 = 60;
const NH_ROUTING: u32 = 43;
/// Offsets in the packet as a cooked (`SOCK_DGRAM`) packet socket delivers
/// it, from the IPv6 header on: Next Header, and the Routing Type of a
/// routing header right after the fixed header.
const OFFSET_NEXT_HEADER: u32 = 6;
const OFFSET_ROUTING_TYPE: u32 = 42;
/// RFC 6275 §6.4: routing type 2.
const ROUTING_TYPE_2: u32 = 2;

/// Classic BPF (`linux/filter.h` opcodes): accept what the module
/// documentation says, the whole packet; reject the rest.
fn mobility_filter() -> [SockFilter; 7] {
    const LD_B_ABS: u16 = 0x30; // BPF_LD | BPF_B | BPF_ABS
    const JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
    const RET_K: u16 = 0x06; // BPF_RET | BPF_K
    [
        SockFilter::new(LD_B_ABS, 0, 0, OFFSET_NEXT_HEADER),
        // 1: Destination Options → accept (5), else test for Routing.
        SockFilter::new(JEQ_K, 3, 0, NH_DESTINATION_OPTIONS),
        // 2: Routing → load its type, else reject (6).
        SockFilter::new(JEQ_K, 0, 3, NH_ROUTING),
        SockFilter::new(LD_B_ABS, 0, 0, OFFSET_ROUTING_TYPE),
        // 4: type 2 → accept, else reject.
        SockFilter::new(JEQ_K, 0, 1, ROUTING_TYPE_2),
        SockFilter::new(RET_K, 0, 0, 0x0004_0000),
        SockFilter::new(RET_K, 0, 0, 0),
    ]
}

/// One captured packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Captured {
    /// Octets written to the buffer.
    pub len: usize,
    /// The interface it arrived on.
    pub ifindex: IfIndex,
}

/// Packets with a Home Address option or a Type 2 Routing Header arriving
/// on one interface (or all: ifindex 0); see the module documentation.
#[derive(Debug)]
pub struct MobilityCapture {
    fd: AsyncFd<Socket>,
    ifindex: IfIndex,
}

impl MobilityCapture {
    /// Opens the capture on `ifindex`, 0 for every interface. Needs
    /// CAP_NET_RAW.
    pub fn open(ifindex: IfIndex) -> Result<MobilityCapture, SysError> {
        let target = format!("ipv6 extension-header capture ifindex {ifindex}");
        let err = |op| sock_err(op, &target);
        let protocol = i32::from(ETH_P_IPV6.to_be());
        let sock = Socket::new(Domain::PACKET, Type::DGRAM, Some(Protocol::from(protocol)))
            .map_err(err("socket(AF_PACKET)"))?;
        // The filter first, so that binding starts the flow already
        // filtered.
        sock.attach_filter(&mobility_filter())
            .map_err(err("SO_ATTACH_FILTER"))?;
        bind_packet(&sock, ifindex).map_err(err("bind"))?;
        sock.set_nonblocking(true).map_err(err("O_NONBLOCK"))?;
        let fd = register(sock, &target)?;
        Ok(MobilityCapture { fd, ifindex })
    }

    pub fn ifindex(&self) -> IfIndex {
        self.ifindex
    }

    /// Waits for the next captured packet arriving from a link (packets
    /// this host sent are skipped); `buf` receives it from the IPv6 header
    /// on. A packet longer than `buf` is cut.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<Captured> {
        loop {
            let (len, pkttype, ifindex) = self
                .fd
                .async_io(Interest::READABLE, |s| recv_from(s.as_raw_fd(), buf))
                .await?;
            if pkttype != PACKET_OUTGOING {
                return Ok(Captured {
                    len: len.min(buf.len()),
                    ifindex,
                });
            }
        }
    }
}

fn bind_packet(sock: &Socket, ifindex: IfIndex) -> io::Result<()> {
    let ifindex = libc::c_int::try_from(ifindex)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "ifindex out of range"))?;
    // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
    let mut addr: libc::sockaddr_ll = unsafe { MaybeUninit::zeroed().assume_init() };
    addr.sll_family = libc::AF_PACKET as libc::c_ushort;
    addr.sll_protocol = ETH_P_IPV6.to_be();
    addr.sll_ifindex = ifindex;
    let len = libc::socklen_t::try_from(std::mem::size_of::<libc::sockaddr_ll>())
        .map_err(|_| io::Error::other("sockaddr_ll size"))?;
    // SAFETY: the fd is a live socket owned by `sock`; the pointer and
    // length describe `addr`, a sockaddr_ll borrowed for the whole call.
    let rc = unsafe {
        libc::bind(
            sock.as_raw_fd(),
            (&addr as *const libc::sockaddr_ll).cast::<libc::sockaddr>(),
            len,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// One nonblocking recvfrom: the length of the packet (MSG_TRUNC: its full
/// length even when cut), its packet type and arrival interface.
fn recv_from(fd: std::os::fd::RawFd, buf: &mut [u8]) -> io::Result<(usize, u8, IfIndex)> {
    // SAFETY: as above, all-zero is a valid sockaddr_ll.
    let mut from: libc::sockaddr_ll = unsafe { MaybeUninit::zeroed().assume_init() };
    let mut from_len = libc::socklen_t::try_from(std::mem::size_of::<libc::sockaddr_ll>())
        .map_err(|_| io::Error::other("sockaddr_ll size"))?;
    // SAFETY: `buf` is writable for its length and `from`/`from_len`
    // describe a sockaddr_ll; all three outlive the call.
    let n = unsafe {
        libc::recvfrom(
            fd,
            buf.as_mut_ptr().cast::<libc::c_void>(),
            buf.len(),
            libc::MSG_DONTWAIT | libc::MSG_TRUNC,
            (&mut from as *mut libc::sockaddr_ll).cast::<libc::sockaddr>(),
            &mut from_len,
        )
    };
    let n = usize::try_from(n).map_err(|_| io::Error::last_os_error())?;
    let ifindex = IfIndex::try_from(from.sll_ifindex).unwrap_or(0);
    Ok((n, from.sll_pkttype, ifindex))
}
