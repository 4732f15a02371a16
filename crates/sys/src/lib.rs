//! Linux layer of v6edge: carries out what the pure state machines ask for
//! against the real kernel, and feeds them what the kernel sees.
//!
//! - [`netlink`]: rtnetlink. [`Netlink::apply`] executes a
//!   [`v6edge_core::KernelOp`] (addresses with lifetimes, IPv6 and IPv4
//!   routes stamped with their owner's protocol number, proxy neighbours,
//!   policy rules, TUN devices); dumps of each, by owner, and
//!   [`Netlink::reconcile_routes`] (per owner); [`Netlink::monitor`] turns RTNLGRP_LINK / RTNLGRP_IPV6_IFADDR /
//!   RTNLGRP_IPV6_ROUTE notifications into [`NetEvent`]s.
//! - [`socket`]: [`Dhcp6Socket`] (UDP 546/547, RFC 8415 §7) and
//!   [`Icmp6Socket`] (raw ICMPv6 for Neighbor Discovery, RFC 4861), both
//!   async on tokio, reporting the destination, interface and hop limit of
//!   every datagram (IPV6_PKTINFO / IPV6_HOPLIMIT, RFC 3542) and sending
//!   [`v6edge_core::Transmit`] values with an explicit outgoing interface.
//! - [`sysctl`]: plain writes under `/proc/sys/net/ipv6/conf/<if>/`.
//! - [`netfilter`]: one nf_tables table of our own that keeps the kernel
//!   from answering the Mobile IPv6 packets the daemon captures.
//!
//! - [`probe`]: the Mobile IPv6 capability probes (mobility.md §2.2), in a
//!   scratch network namespace.
//!
//! This is the only v6edge crate allowed `unsafe`: one `setsockopt` for
//! ICMP6_FILTER (libc has no wrapper), the two TUN ioctls ([`tun`]), the tokio `AsyncFd` registrations,
//! the tunnel socket's IPV6_RECVERR and error queue, and the probes'
//! raw syscalls (unshare, AF_PACKET and nfnetlink sockets, setsockopt).
//! Each block carries a SAFETY comment.
//!
//! Panic contract: nothing here panics on kernel or peer input; malformed
//! netlink messages are skipped (and traced), malformed datagram metadata is
//! reported as an `io::Error` for that datagram. [`Netlink::connect`] and the
//! socket constructors must be called within a tokio runtime with I/O
//! enabled (tokio panics otherwise).
//!
//! Namespaces: a netlink connection and every socket belong to the network
//! namespace of the thread that created them. Create them on a thread that
//! has already entered the namespace you mean (see the tests).

#![warn(unsafe_op_in_unsafe_fn)]

pub mod batch;
mod error;
pub mod netfilter;
pub mod netlink;
pub mod probe;
pub mod socket;
pub mod sysctl;
pub mod tun;

pub use error::SysError;
pub use netlink::{
    AddrFlags, Address4Info, AddressInfo, LinkInfo, NetEvent, NetEvents, Netlink,
    ProxyNeighbourInfo, Route4Info, RouteInfo, RouteKind, RuleInfo,
};
pub use socket::{
    Captured, Dhcp6Socket, Icmp6Socket, MhSocket, MobilityCapture, RawIpv6Sender, RecvMeta,
    TunnelSocket, dsmip_udp_socket,
};
pub use sysctl::{Ipv6Conf, ethernet_address, ipv6_conf_path, set_ipv6_conf, set_sysctl};
