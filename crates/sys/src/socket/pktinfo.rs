//! recvmsg/sendmsg with the RFC 3542 ancillary data both protocols need.
//!
//! Receiving: IPV6_PKTINFO gives the destination address (multicast or
//! unicast decides how a DHCPv6 server answers, RFC 8415 §16, and ND checks
//! it, RFC 4861 §6.1) and the arrival interface; IPV6_HOPLIMIT gives the hop
//! limit (ND messages with anything but 255 are dropped, RFC 4861 §6.1.1).
//! Sending: IPV6_PKTINFO pins the outgoing interface (and optionally the
//! source address), IPV6_HOPLIMIT sets a per-datagram hop limit.

use nix::sys::socket::{
    ControlMessage, ControlMessageOwned, MsgFlags, SockaddrIn6, recvmsg, sendmsg,
};
use std::io::{self, IoSlice, IoSliceMut};
use std::net::{Ipv6Addr, SocketAddrV6};
use std::os::fd::RawFd;
use v6edge_core::{IfIndex, Received, Transmit};

/// Where and how a datagram arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecvMeta {
    /// Bytes written to the buffer (the whole datagram: truncated ones are
    /// reported as errors).
    pub len: usize,
    /// Source address and port; link-local sources carry the arrival
    /// interface as scope id, ready to answer to.
    pub src: SocketAddrV6,
    /// Destination address of the datagram (IPV6_PKTINFO).
    pub dst: Ipv6Addr,
    /// Arrival interface (IPV6_PKTINFO).
    pub ifindex: IfIndex,
    /// Hop limit of the IPv6 header (IPV6_HOPLIMIT).
    pub hop_limit: u8,
}

impl RecvMeta {
    /// The machine input for this datagram; `buf` is the buffer given to
    /// `recv`.
    pub fn received<'a>(&self, buf: &'a [u8]) -> Received<'a> {
        Received {
            ifindex: self.ifindex,
            src: *self.src.ip(),
            dst: self.dst,
            hop_limit: self.hop_limit,
            bytes: buf.get(..self.len).unwrap_or(buf),
        }
    }
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_owned())
}

/// One nonblocking recvmsg. A datagram larger than `buf`, or one whose
/// ancillary data is missing or cut, is consumed and reported as an
/// `InvalidData` error: the caller logs it and reads on.
pub(crate) fn recv(fd: RawFd, buf: &mut [u8]) -> io::Result<RecvMeta> {
    let mut cmsg = nix::cmsg_space!(libc::in6_pktinfo, libc::c_int);
    let mut iov = [IoSliceMut::new(buf)];
    let msg = recvmsg::<SockaddrIn6>(fd, &mut iov, Some(&mut cmsg), MsgFlags::MSG_DONTWAIT)?;
    if msg.flags.contains(MsgFlags::MSG_TRUNC) {
        return Err(invalid("datagram larger than the receive buffer"));
    }
    let src = SocketAddrV6::from(msg.address.ok_or_else(|| invalid("no source address"))?);
    let mut pktinfo = None;
    let mut hop_limit = None;
    for c in msg
        .cmsgs()
        .map_err(|_| invalid("ancillary data truncated"))?
    {
        match c {
            ControlMessageOwned::Ipv6PacketInfo(pi) => {
                pktinfo = Some((Ipv6Addr::from(pi.ipi6_addr.s6_addr), pi.ipi6_ifindex))
            }
            ControlMessageOwned::Ipv6HopLimit(h) => hop_limit = u8::try_from(h).ok(),
            _ => {}
        }
    }
    let (dst, ifindex) = pktinfo.ok_or_else(|| invalid("no IPV6_PKTINFO"))?;
    let hop_limit = hop_limit.ok_or_else(|| invalid("no IPV6_HOPLIMIT"))?;
    Ok(RecvMeta {
        len: msg.bytes,
        src,
        dst,
        ifindex,
        hop_limit,
    })
}

/// Link-local unicast and multicast destinations are ambiguous without an
/// interface (RFC 4007 §6); the kernel wants it as the scope id too.
fn scope_for(dst: Ipv6Addr, ifindex: IfIndex) -> u32 {
    if dst.is_unicast_link_local() || dst.is_multicast() {
        ifindex
    } else {
        0
    }
}

/// One nonblocking sendmsg of `t` to `port` (0 for raw sockets), leaving by
/// `t.ifindex` from `t.src` (or a source the kernel picks).
pub(crate) fn send(fd: RawFd, t: &Transmit, port: u16) -> io::Result<()> {
    let dst = SockaddrIn6::from(SocketAddrV6::new(
        t.dst,
        port,
        0,
        scope_for(t.dst, t.ifindex),
    ));
    let pktinfo = libc::in6_pktinfo {
        ipi6_addr: libc::in6_addr {
            s6_addr: t.src.unwrap_or(Ipv6Addr::UNSPECIFIED).octets(),
        },
        ipi6_ifindex: t.ifindex,
    };
    let hop_limit: libc::c_int = t.hop_limit.map_or(-1, libc::c_int::from);
    let mut cmsgs = vec![ControlMessage::Ipv6PacketInfo(&pktinfo)];
    if t.hop_limit.is_some() {
        cmsgs.push(ControlMessage::Ipv6HopLimit(&hop_limit));
    }
    let iov = [IoSlice::new(&t.payload)];
    let sent = sendmsg(fd, &iov, &cmsgs, MsgFlags::MSG_DONTWAIT, Some(&dst))?;
    if sent != t.payload.len() {
        // Datagram sockets send all or nothing; this would be a kernel bug.
        return Err(io::Error::other(format!(
            "short datagram send: {sent} of {}",
            t.payload.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_only_where_needed() {
        let ll: Ipv6Addr = "fe80::1".parse().expect("valid literal");
        let mc: Ipv6Addr = "ff02::1:2".parse().expect("valid literal");
        let global: Ipv6Addr = "2001:db8::1".parse().expect("valid literal");
        assert_eq!(scope_for(ll, 4), 4);
        assert_eq!(scope_for(mc, 4), 4);
        assert_eq!(scope_for(global, 4), 0);
    }

    #[test]
    fn received_view_is_cut_to_len() {
        let meta = RecvMeta {
            len: 3,
            src: SocketAddrV6::new("fe80::1".parse().expect("valid literal"), 546, 0, 2),
            dst: "ff02::1:2".parse().expect("valid literal"),
            ifindex: 2,
            hop_limit: 1,
        };
        let buf = [1u8, 2, 3, 4, 5];
        let r = meta.received(&buf);
        assert_eq!(r.bytes, &[1, 2, 3]);
        assert_eq!(r.ifindex, 2);
        assert_eq!(r.hop_limit, 1);
        assert_eq!(r.src, "fe80::1".parse::<Ipv6Addr>().expect("valid literal"));
    }
}
