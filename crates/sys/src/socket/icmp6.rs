//! The raw ICMPv6 socket for Neighbor Discovery (RFC 4861).
//!
//! The kernel strips the IPv6 header on receive (the payload starts at the
//! ICMPv6 type byte) and always computes the ICMPv6 checksum on send
//! (RFC 3542 §3.1), so machines hand over messages with a zero checksum.
//! Unicast and multicast hop limits default to 255: ND receivers drop
//! anything else, proof the message did not cross a router (RFC 4861 §6.1).

use super::{base_socket, join, leave, pktinfo, register, sock_err};
use crate::{RecvMeta, SysError};
use socket2::{Protocol, Socket, Type};
use std::io;
use std::net::Ipv6Addr;
use std::os::fd::AsRawFd;
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use v6edge_core::{IfIndex, Transmit, Transport};

/// The socket option, at level IPPROTO_ICMPV6, that installs an
/// [`Icmp6Filter`] (Linux `<linux/icmpv6.h>`; libc does not define it).
const ICMP6_FILTER: libc::c_int = 1;

/// Hop limit of every ND message (RFC 4861 §6.1.1, §6.1.2, §7.1).
const ND_HOP_LIMIT: u32 = 255;

/// Which ICMPv6 types reach the socket (RFC 3542 §3.2, `struct
/// icmp6_filter`): 256 bits, one per type. On Linux a set bit BLOCKS the
/// type (the opposite of the BSDs, but the macros hide it there).
#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Icmp6Filter {
    data: [u32; 8],
}

impl Icmp6Filter {
    /// Blocks every type.
    pub const fn block_all() -> Icmp6Filter {
        Icmp6Filter {
            data: [u32::MAX; 8],
        }
    }

    /// Passes exactly `types`.
    pub fn pass_only(types: &[u8]) -> Icmp6Filter {
        let mut f = Icmp6Filter::block_all();
        for &t in types {
            f.pass(t);
        }
        f
    }

    pub fn pass(&mut self, ty: u8) {
        self.data[usize::from(ty >> 5)] &= !(1u32 << (ty & 31));
    }

    pub fn block(&mut self, ty: u8) {
        self.data[usize::from(ty >> 5)] |= 1u32 << (ty & 31);
    }

    pub fn passes(&self, ty: u8) -> bool {
        self.data[usize::from(ty >> 5)] & (1u32 << (ty & 31)) == 0
    }
}

impl std::fmt::Debug for Icmp6Filter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set()
            .entries((0..=255u8).filter(|t| self.passes(*t)))
            .finish()
    }
}

fn set_filter(sock: &Socket, filter: &Icmp6Filter) -> io::Result<()> {
    let len = libc::socklen_t::try_from(std::mem::size_of::<Icmp6Filter>())
        .map_err(|_| io::Error::other("filter size overflows socklen_t"))?;
    // SAFETY: the fd is a live socket owned by `sock`; the pointer and length
    // describe `filter`, a #[repr(C)] struct of eight u32 laid out exactly as
    // the kernel's `struct icmp6_filter`, borrowed for the whole call; the
    // kernel only reads `len` bytes from it.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::IPPROTO_ICMPV6,
            ICMP6_FILTER,
            (filter as *const Icmp6Filter).cast::<libc::c_void>(),
            len,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// A raw ICMPv6 socket for ND.
#[derive(Debug)]
pub struct Icmp6Socket {
    fd: AsyncFd<Socket>,
    target: String,
}

impl Icmp6Socket {
    /// Opens a raw ICMPv6 socket that receives only the ICMPv6 `types`
    /// listed (e.g. 133 RS and 134 RA), tied to `device` if given. Needs
    /// CAP_NET_RAW.
    pub fn new(types: &[u8], device: Option<&str>) -> Result<Icmp6Socket, SysError> {
        let target = match device {
            Some(d) => format!("icmpv6 {types:?} dev {d}"),
            None => format!("icmpv6 {types:?}"),
        };
        let sock = base_socket(Type::RAW, Protocol::ICMPV6, device, &target)?;
        let err = |op| sock_err(op, &target);
        set_filter(&sock, &Icmp6Filter::pass_only(types)).map_err(err("ICMP6_FILTER"))?;
        sock.set_multicast_hops_v6(ND_HOP_LIMIT)
            .map_err(err("IPV6_MULTICAST_HOPS"))?;
        sock.set_unicast_hops_v6(ND_HOP_LIMIT)
            .map_err(err("IPV6_UNICAST_HOPS"))?;
        let fd = register(sock, &target)?;
        Ok(Icmp6Socket { fd, target })
    }

    /// Replaces the type filter.
    pub fn set_filter(&self, filter: &Icmp6Filter) -> Result<(), SysError> {
        set_filter(self.fd.get_ref(), filter).map_err(|source| SysError::Socket {
            op: "ICMP6_FILTER",
            target: self.target.clone(),
            source,
        })
    }

    /// Joins `group` on `ifindex`: all-routers (ff02::2) on every
    /// interface we advertise on, to hear RSs (RFC 4861 §6.2.6).
    pub fn join_multicast(&self, group: Ipv6Addr, ifindex: IfIndex) -> Result<(), SysError> {
        join(&self.fd, group, ifindex, &self.target)
    }

    pub fn leave_multicast(&self, group: Ipv6Addr, ifindex: IfIndex) -> Result<(), SysError> {
        leave(&self.fd, group, ifindex, &self.target)
    }

    /// Makes `addr` an anycast address of this node on `ifindex`
    /// (IPV6_JOIN_ANYCAST): a home agent hears Dynamic Home Agent Address
    /// Discovery Requests sent to the home-agents anycast address (RFC 6275
    /// §10.5, RFC 2526). Needs CAP_NET_ADMIN. Joining twice is not an
    /// error.
    pub fn join_anycast(&self, addr: Ipv6Addr, ifindex: IfIndex) -> Result<(), SysError> {
        /// `linux/in6.h`.
        const IPV6_JOIN_ANYCAST: libc::c_int = 27;
        let mreq = libc::ipv6_mreq {
            ipv6mr_multiaddr: libc::in6_addr {
                s6_addr: addr.octets(),
            },
            ipv6mr_interface: ifindex,
        };
        let len = libc::socklen_t::try_from(std::mem::size_of::<libc::ipv6_mreq>())
            .map_err(|_| io::Error::other("ipv6_mreq size"))
            .map_err(|source| SysError::Socket {
                op: "IPV6_JOIN_ANYCAST",
                target: self.target.clone(),
                source,
            })?;
        // SAFETY: the fd is a live socket owned by `self.fd`; the pointer
        // and length describe `mreq`, a plain ipv6_mreq borrowed for the
        // whole call; the kernel only reads it.
        let rc = unsafe {
            libc::setsockopt(
                self.fd.get_ref().as_raw_fd(),
                libc::IPPROTO_IPV6,
                IPV6_JOIN_ANYCAST,
                (&mreq as *const libc::ipv6_mreq).cast::<libc::c_void>(),
                len,
            )
        };
        match rc {
            0 => Ok(()),
            _ => match io::Error::last_os_error() {
                e if e.raw_os_error() == Some(libc::EADDRINUSE) => Ok(()),
                source => Err(SysError::Socket {
                    op: "IPV6_JOIN_ANYCAST",
                    target: format!("{} anycast {addr} ifindex {ifindex}", self.target),
                    source,
                }),
            },
        }
    }

    /// Waits for the next ICMPv6 message; `buf` receives it from the type
    /// byte on.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<RecvMeta> {
        self.fd
            .async_io(Interest::READABLE, |s| pktinfo::recv(s.as_raw_fd(), buf))
            .await
    }

    /// Sends `t` (transport must be `Icmpv6`) out of `t.ifindex`; the kernel
    /// fills in the checksum.
    /// Never waits (see [`crate::Dhcp6Socket::send`]): `WouldBlock` when
    /// the kernel cannot take the datagram now.
    pub fn send(&self, t: &Transmit) -> io::Result<()> {
        if t.transport != Transport::Icmpv6 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{:?} cannot leave by {}", t.transport, self.target),
            ));
        }
        pktinfo::send(self.fd.get_ref().as_raw_fd(), t, 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_bits_follow_linux_block_semantics() {
        let f = Icmp6Filter::pass_only(&[133, 134]);
        assert!(f.passes(133) && f.passes(134));
        assert!(!f.passes(135) && !f.passes(128) && !f.passes(0) && !f.passes(255));
        // Type 133 = word 4, bit 5; 134 = word 4, bit 6: both cleared.
        assert_eq!(f.data[4], !((1 << 5) | (1 << 6)));
        assert!(
            f.data
                .iter()
                .enumerate()
                .all(|(i, w)| i == 4 || *w == u32::MAX)
        );
        let mut g = f;
        g.block(133);
        assert!(!g.passes(133) && g.passes(134));
        assert_eq!(std::mem::size_of::<Icmp6Filter>(), 32);
    }
}
