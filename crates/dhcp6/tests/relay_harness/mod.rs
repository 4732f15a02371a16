//! Shared pieces of the relay tests (`relay`, `relay_corpus`,
//! `relay_props`): the relay's interfaces and peers, feeding it one datagram
//! at an explicit instant, and reading back what it asked for, kind by kind.
#![allow(dead_code)]

use std::net::Ipv6Addr;
use v6edge_core::{Instant, KernelOp, Received, Transmit, Transport};
use v6edge_dhcp6::relay::{Relay, RelayOutput, SnoopChange};
use v6edge_wire::dhcp6::{Message, RelayMessage};

/// The upstream interface, towards the servers.
pub const WAN: u32 = 2;
/// The first downstream interface, towards the clients.
pub const LAN: u32 = 3;
/// All_DHCP_Relay_Agents_and_Servers (RFC 8415 §7.1).
pub const ALL_AGENTS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 1, 2);
/// The first configured server.
pub const SERVER: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 0, 0, 0, 1);
/// The global address of LAN, used as the link-address.
pub const LAN_ADDR: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xa1, 0, 0, 0, 0, 1);

/// Everything the relay has to say, in its order.
pub fn drain(r: &mut Relay) -> Vec<RelayOutput> {
    std::iter::from_fn(|| r.poll_output()).collect()
}

/// Feeds one datagram received on `ifindex` from `src` to `dst`, then
/// drains the relay.
pub fn deliver(
    r: &mut Relay,
    now: Instant,
    ifindex: u32,
    src: Ipv6Addr,
    dst: Ipv6Addr,
    bytes: &[u8],
) -> Vec<RelayOutput> {
    let rx = Received {
        ifindex,
        src,
        dst,
        hop_limit: 64,
        bytes,
    };
    r.handle_packet(now, &rx);
    drain(r)
}

/// The outputs split by kind, each kind in the order it came out.
#[derive(Debug, Default)]
pub struct Split<'a> {
    pub transmits: Vec<&'a Transmit>,
    pub kernel: Vec<&'a KernelOp>,
    pub snoops: Vec<&'a SnoopChange>,
}

pub fn split(outs: &[RelayOutput]) -> Split<'_> {
    let mut s = Split::default();
    for o in outs {
        match o {
            RelayOutput::Transmit(t) => s.transmits.push(t),
            RelayOutput::Kernel(k) => s.kernel.push(k),
            RelayOutput::Snoop(c) => s.snoops.push(c),
        }
    }
    s
}

pub fn transmits(outs: &[RelayOutput]) -> Vec<&Transmit> {
    split(outs).transmits
}

pub fn kernel(outs: &[RelayOutput]) -> Vec<&KernelOp> {
    split(outs).kernel
}

pub fn snoops(outs: &[RelayOutput]) -> Vec<&SnoopChange> {
    split(outs).snoops
}

/// The relay message a transmit carries; panics on anything else.
pub fn relayed(t: &Transmit) -> RelayMessage {
    match Message::parse(&t.payload).expect("relay sent undecodable bytes") {
        Message::Relay(r) => r,
        Message::Client(c) => panic!("expected a relay message, got {c:?}"),
    }
}

/// UDP from port `src_port` to `dst_port`.
pub fn udp(src_port: u16, dst_port: u16) -> Transport {
    Transport::Udp { src_port, dst_port }
}
