//! Shared helpers for the advertiser tests: a config, content builders, a
//! bounded driver that jumps virtual time to each deadline, and parsing of
//! every emitted RA with the ND codec.
#![allow(dead_code)]

use std::net::Ipv6Addr;
use std::time::Duration;

use v6edge_core::{Instant, Received, Transmit, Transport};
use v6edge_prefix::Prefix;
use v6edge_ra::{ALL_NODES, AdvPrefix, Advertiser, AdvertiserConfig, MAX_RA_LEN};
use v6edge_wire::nd::{NdMessage, RouterAdvert, RouterSolicit};

pub const IFINDEX: u32 = 7;
pub const MAC: [u8; 6] = [0x02, 0x00, 0x5e, 0x10, 0x00, 0x01];

pub fn secs(s: u64) -> Instant {
    Instant::from_secs(s)
}

pub fn ms(m: u64) -> Instant {
    Instant::from_micros(m * 1000)
}

pub fn config() -> AdvertiserConfig {
    AdvertiserConfig {
        link_layer_addr: Some(MAC.to_vec()),
        min_interval: Duration::from_secs(200),
        max_interval: Duration::from_secs(600),
        router_lifetime: Duration::from_secs(1800),
        ..AdvertiserConfig::new(IFINDEX)
    }
}

pub fn prefix(s: &str) -> Prefix {
    s.parse().expect("test prefix literal")
}

pub fn addr(s: &str) -> Ipv6Addr {
    s.parse().expect("test address literal")
}

/// A live /64 with infinite lifetimes and L=A=1.
pub fn live(p: &str) -> AdvPrefix {
    AdvPrefix {
        prefix: prefix(p),
        preferred_until: None,
        valid_until: None,
        on_link: true,
        autonomous: true,
    }
}

/// Every queued transmit, each checked for the RA envelope rules and parsed.
pub fn drain(adv: &mut Advertiser) -> Vec<(Transmit, RouterAdvert)> {
    let mut v = Vec::new();
    while let Some(t) = adv.poll_transmit() {
        let ra = check_ra(&t);
        v.push((t, ra));
    }
    v
}

/// The rules every transmit obeys, and the RA it carries.
pub fn check_ra(t: &Transmit) -> RouterAdvert {
    assert_eq!(t.ifindex, IFINDEX);
    assert_eq!(t.transport, Transport::Icmpv6);
    assert_eq!(t.hop_limit, Some(255));
    // The kernel picks the (link-local) source, except toward a global
    // destination, where only a link-local source makes the RA valid.
    match t.src {
        None => assert!(
            t.dst.is_multicast() || t.dst.is_unicast_link_local(),
            "{t:?}"
        ),
        Some(src) => assert!(
            src.is_unicast_link_local() && !t.dst.is_unicast_link_local(),
            "{t:?}"
        ),
    }
    assert!(
        t.payload.len() <= MAX_RA_LEN,
        "RA of {} octets",
        t.payload.len()
    );
    assert_eq!(&t.payload[2..4], &[0, 0], "checksum left to the kernel");
    match NdMessage::parse(&t.payload) {
        Ok(NdMessage::RouterAdvert(ra)) => {
            // Hand-built values must survive the codec unchanged.
            assert_eq!(NdMessage::RouterAdvert(ra.clone()).validate(), Ok(()));
            ra
        }
        other => panic!("transmit is not an RA: {other:?}"),
    }
}

/// Returns what is already queued, then drives the advertiser up to `until`
/// (inclusive), jumping to each deadline; returns (time, transmit, RA).
/// Bounded to 10 000 steps.
pub fn run_until(adv: &mut Advertiser, until: Instant) -> Vec<(Instant, Transmit, RouterAdvert)> {
    let mut out = Vec::new();
    // Transmits queued by a command (set_content, handle_packet) left when
    // the status says the last RA was sent.
    let queued_at = adv.status().last_sent_at.unwrap_or(Instant::ZERO);
    for (tx, ra) in drain(adv) {
        out.push((queued_at, tx, ra));
    }
    for _ in 0..10_000 {
        let Some(t) = adv.poll_timeout() else { break };
        if t > until {
            break;
        }
        adv.handle_timeout(t);
        for (tx, ra) in drain(adv) {
            out.push((t, tx, ra));
        }
    }
    out
}

/// Started at `t0` with `content`, the initial burst drained.
pub fn started(content: v6edge_ra::AdvertContent, t0: Instant) -> Advertiser {
    let mut adv = Advertiser::new(config(), 1, t0);
    adv.set_content(t0, content);
    adv.start(t0);
    adv
}

pub fn rs_bytes(lla: Option<&[u8]>) -> Vec<u8> {
    NdMessage::RouterSolicit(RouterSolicit::new(lla)).to_bytes()
}

pub fn rx<'a>(src: Ipv6Addr, hop_limit: u8, bytes: &'a [u8]) -> Received<'a> {
    Received {
        ifindex: IFINDEX,
        src,
        dst: addr("ff02::2"),
        hop_limit,
        bytes,
    }
}

pub fn is_multicast(t: &Transmit) -> bool {
    t.dst == ALL_NODES
}

/// Drives to the next multicast RA and returns when it went out: a known
/// quiet period follows it (the next periodic RA is ≥ min_interval away).
pub fn next_multicast_ra(adv: &mut Advertiser) -> Instant {
    for _ in 0..100 {
        let t = adv.poll_timeout().expect("advertising");
        adv.handle_timeout(t);
        if drain(adv).iter().any(|(tx, _)| is_multicast(tx)) {
            return t;
        }
    }
    panic!("no multicast RA in 100 deadlines");
}
