//! A router under test on two links, and helpers to feed and read it.
#![allow(dead_code, reason = "each test file uses a part")]

use std::net::Ipv6Addr;
use std::time::Duration;

use v6edge_core::{IfIndex, Instant, KernelOp, Received, RouteSpec, Transmit};
use v6edge_prefix::Prefix;
use v6edge_ripng::{InterfaceConfig, Ripng, RipngConfig, RipngOutput};
use v6edge_wire::ripng::{Command, RipngMessage, Rte};

pub const ETH0: IfIndex = 2;
pub const ETH1: IfIndex = 3;
/// Our link-local addresses on eth0 and eth1.
pub const OURS0: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0xa0);
pub const OURS1: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0xa1);
/// Neighbours.
pub const B: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0xb);
pub const C: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0xc);

pub fn secs(s: u64) -> Instant {
    Instant::from_secs(s)
}

pub fn ms(ms: u64) -> Instant {
    Instant::from_micros(ms * 1000)
}

pub fn pfx(s: &str) -> Prefix {
    s.parse().unwrap()
}

pub fn ip(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

pub fn config() -> RipngConfig {
    let mut c = RipngConfig::new();
    c.interfaces = vec![InterfaceConfig::new(ETH0), InterfaceConfig::new(ETH1)];
    c
}

/// A router with both links up at `now` (MTU 1500), its start-up
/// requests drained.
pub fn router_with(config: RipngConfig, now: Instant) -> Ripng {
    let mut r = Ripng::new(config, 7, now);
    r.handle_interface_up(now, ETH0, OURS0, 1500);
    r.handle_interface_up(now, ETH1, OURS1, 1500);
    drain(&mut r);
    r
}

pub fn router(now: Instant) -> Ripng {
    router_with(config(), now)
}

#[derive(Debug, Default)]
pub struct Out {
    pub transmits: Vec<Transmit>,
    pub kernel: Vec<KernelOp>,
}

impl Out {
    /// The RTEs multicast on `ifindex`, all packets together.
    pub fn sent_on(&self, ifindex: IfIndex) -> Vec<Rte> {
        self.transmits
            .iter()
            .filter(|t| t.ifindex == ifindex)
            .flat_map(|t| decode(t).entries().to_vec())
            .collect()
    }

    /// (prefix, metric) of the route RTEs sent on `ifindex`.
    pub fn routes_on(&self, ifindex: IfIndex) -> Vec<(Prefix, u8)> {
        self.sent_on(ifindex)
            .into_iter()
            .filter(|r| r.metric != 0xff)
            .map(|r| (Prefix::new(r.prefix, r.prefix_len).unwrap(), r.metric))
            .collect()
    }

    pub fn set_routes(&self) -> Vec<&RouteSpec> {
        self.kernel
            .iter()
            .filter_map(|op| match op {
                KernelOp::SetRoute(s) => Some(s),
                _ => None,
            })
            .collect()
    }

    pub fn del_routes(&self) -> Vec<&RouteSpec> {
        self.kernel
            .iter()
            .filter_map(|op| match op {
                KernelOp::DelRoute(s) => Some(s),
                _ => None,
            })
            .collect()
    }
}

pub fn drain(r: &mut Ripng) -> Out {
    let mut out = Out::default();
    while let Some(o) = r.poll_output() {
        match o {
            RipngOutput::Transmit(t) => out.transmits.push(t),
            RipngOutput::Kernel(k) => out.kernel.push(k),
        }
    }
    out
}

pub fn decode(t: &Transmit) -> RipngMessage {
    let m = RipngMessage::parse(&t.payload).unwrap();
    assert_eq!(m.command, Command::Response, "{t:?}");
    m
}

pub fn response(entries: Vec<Rte>) -> Vec<u8> {
    RipngMessage::new(Command::Response, entries).to_bytes()
}

pub fn route(prefix: &str, metric: u8) -> Rte {
    let p = pfx(prefix);
    Rte::route(p.addr(), p.len(), 0, metric)
}

/// A Response from `src` on `ifindex` as a neighbour sends it: port 521,
/// to ff02::9, hop limit 255.
pub fn hear(
    r: &mut Ripng,
    now: Instant,
    ifindex: IfIndex,
    src: Ipv6Addr,
    entries: Vec<Rte>,
) -> Out {
    let bytes = response(entries);
    r.handle_packet(
        now,
        &Received {
            ifindex,
            src,
            dst: v6edge_ripng::ALL_RIP_ROUTERS,
            hop_limit: 255,
            bytes: &bytes,
        },
        521,
    );
    drain(r)
}

/// Runs `handle_timeout` at every deadline up to and including `until`;
/// output already queued comes first.
pub fn run_until(r: &mut Ripng, until: Instant) -> Out {
    let mut out = drain(r);
    for _ in 0..100_000 {
        match r.poll_timeout() {
            Some(at) if at <= until => {
                r.handle_timeout(at);
                let o = drain(r);
                out.transmits.extend(o.transmits);
                out.kernel.extend(o.kernel);
            }
            _ => return out,
        }
    }
    panic!("no quiescence before {until:?}");
}

pub fn after(at: Instant, d: u64) -> Instant {
    at + Duration::from_secs(d)
}
