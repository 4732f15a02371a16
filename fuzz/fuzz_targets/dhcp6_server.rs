//! Fuzz target for the DHCPv6 server machine, `Server::handle_packet`.
//!
//! A server with small pools (4 /56s and 4 addresses on the direct link, 4
//! /58s on a relayed one) first binds three clients, so Renew, Rebind,
//! Release and Decline inputs meet real bindings. Then the input is fed:
//! 1. whole, as one datagram: multicast on the link, unicast to the
//!    server, and wrapped in a Relay-forward (seed with the captures:
//!    `cargo fuzz run dhcp6_server <copy of crates/wire/tests/fixtures/dhcp6>`);
//! 2. as records `[mode][len][bytes; len]`, where mode picks the path (bits
//!    0-1) and a time jump before it (bits 2-7, in 100 s steps); at most
//!    `MAX_EVENTS` records.
//!
//! After every datagram: no panic, outputs in the contract's order (Lease,
//! Transmit, Kernel, Notice), every Transmit decodes, no two leases overlap
//! and none has outlived its valid lifetime.

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::net::Ipv6Addr;
use std::sync::LazyLock;
use std::time::Duration;
use v6edge_core::{Instant, Received};
use v6edge_dhcp6::server::{
    AddressPool, LinkConfig, LinkSelector, PrefixPool, Server, ServerConfig, ServerOutput,
};
use v6edge_fuzz::MAX_EVENTS;
use v6edge_prefix::Prefix;
use v6edge_wire::Lifetime;
use v6edge_wire::dhcp6::{
    ClientMessage, DhcpOption, Duid, IaNa, IaPd, IaPrefix, Message, MessageType, Xid,
};

const IF: u32 = 3;
const RELAY_IF: u32 = 4;
const ALL_SERVERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 1, 2);
const SERVER: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xa0, 0, 0, 0, 0, 1);
const RELAY: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xa0, 0, 0, 0, 0, 2);
const RELAY_LINK: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xa1, 0, 0, 0, 0, 1);

fn server_duid() -> Duid {
    Duid::new_ll(1, &[2, 0, 0, 0, 0x5e, 1])
}

fn p(s: &str) -> Prefix {
    s.parse().expect("constant prefix")
}

fn config() -> ServerConfig {
    let mut c = ServerConfig::new(server_duid());
    c.rapid_commit = true;
    let pool = |prefix: &str, len: u8| PrefixPool {
        prefix: p(prefix),
        delegated_len: len,
        preferred: Duration::from_secs(1800),
        valid: Duration::from_secs(3600),
        exclude_first: None,
        ends: None,
    };
    c.links = vec![
        LinkConfig {
            id: LinkSelector::Interface(IF),
            address_pools: vec![AddressPool {
                range_start: "2001:db8:1::100".parse().expect("constant"),
                range_end: "2001:db8:1::103".parse().expect("constant"),
                preferred: Duration::from_secs(3600),
                valid: Duration::from_secs(7200),
            }],
            prefix_pools: vec![pool("2001:db8:100::/54", 56)],
        },
        LinkConfig {
            id: LinkSelector::RelayLinkAddress(p("2001:db8:a1::/64")),
            address_pools: vec![],
            prefix_pools: vec![pool("2001:db8:b000::/56", 58)],
        },
    ];
    c
}

fn rank(o: &ServerOutput) -> u8 {
    match o {
        ServerOutput::Lease(_) => 0,
        ServerOutput::Transmit(_) => 1,
        ServerOutput::Kernel(_) => 2,
        ServerOutput::Notice(_) => 3,
    }
}

fn drain_and_check(s: &mut Server, now: Instant) {
    let mut last = 0;
    while let Some(o) = s.poll_output() {
        let r = rank(&o);
        assert!(r >= last, "outputs out of order");
        last = r;
        if let ServerOutput::Transmit(t) = &o {
            assert!(
                Message::parse(&t.payload).is_ok(),
                "server sent undecodable bytes"
            );
        }
    }
    // Sorted, two leases overlap only if two neighbours do. The machine
    // lists its leases in prefix order, so one pass checks them; in any
    // other order they are sorted first.
    let mut previous: Option<Prefix> = None;
    let mut in_order = true;
    for l in s.leases() {
        assert!(l.valid_until > now, "expired lease kept");
        match previous {
            Some(p) if p <= l.prefix => {
                assert!(!p.overlaps(&l.prefix), "{p} and {} both leased", l.prefix);
            }
            Some(_) => in_order = false,
            None => {}
        }
        previous = Some(l.prefix);
    }
    if !in_order {
        let mut leases: Vec<Prefix> = s.leases().map(|l| l.prefix).collect();
        leases.sort();
        for w in leases.windows(2) {
            assert!(!w[0].overlaps(&w[1]), "{} and {} both leased", w[0], w[1]);
        }
    }
}

/// A Relay-forward around raw bytes (the inner message may be garbage).
fn relay_forward(inner: &[u8]) -> Option<Vec<u8>> {
    let len = u16::try_from(inner.len()).ok()?;
    let mut out = vec![12, 0];
    out.extend_from_slice(&RELAY_LINK.octets());
    out.extend_from_slice(&Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x99).octets());
    out.extend_from_slice(&[0, 9]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(inner);
    Some(out)
}

fn deliver(s: &mut Server, now: Instant, mode: u8, bytes: &[u8]) {
    let client = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x99);
    match mode & 3 {
        0 => s.handle_packet(
            now,
            &Received {
                ifindex: IF,
                src: client,
                dst: ALL_SERVERS,
                hop_limit: 1,
                bytes,
            },
        ),
        1 => s.handle_packet(
            now,
            &Received {
                ifindex: IF,
                src: client,
                dst: SERVER,
                hop_limit: 64,
                bytes,
            },
        ),
        2 => {
            if let Some(f) = relay_forward(bytes) {
                s.handle_packet(
                    now,
                    &Received {
                        ifindex: RELAY_IF,
                        src: RELAY,
                        dst: SERVER,
                        hop_limit: 64,
                        bytes: &f,
                    },
                );
            }
        }
        _ => s.handle_packet(
            now,
            &Received {
                ifindex: RELAY_IF,
                src: RELAY,
                dst: SERVER,
                hop_limit: 64,
                bytes,
            },
        ),
    }
    drain_and_check(s, now);
}

/// Three clients (DUID-LL 02:00:00:00:00:0n, IAID 1) bound by Rapid Commit.
fn bind_some(s: &mut Server, now: Instant) {
    for n in 1..=3u8 {
        let mut ia = IaPd::new(1, 0, 0);
        ia.options.push(DhcpOption::IaPrefix(IaPrefix::new(
            Ipv6Addr::UNSPECIFIED,
            56,
            Lifetime::ZERO,
            Lifetime::ZERO,
        )));
        let m = ClientMessage::new(MessageType::Solicit, Xid::new(u32::from(n)))
            .with(DhcpOption::ClientId(Duid::new_ll(1, &[2, 0, 0, 0, 0, n])))
            .with(DhcpOption::RapidCommit)
            .with(DhcpOption::IaNa(IaNa::new(1, 0, 0)))
            .with(DhcpOption::IaPd(ia));
        deliver(s, now, 0, &Message::Client(m).to_bytes());
    }
}

/// When every input starts.
const START: Instant = Instant::from_secs(1000);

/// The server with its three clients bound, built (and checked) once: each
/// input starts from a clone, the same machine in the same state, without
/// paying for three Solicits every time.
static BOUND: LazyLock<Server> = LazyLock::new(|| {
    let mut s = Server::new(config(), 1, START);
    bind_some(&mut s, START);
    assert_eq!(
        s.leases().count(),
        6,
        "three clients bound, address and prefix"
    );
    s
});

fuzz_target!(|data: &[u8]| {
    let mut now = START;
    let mut s = BOUND.clone();
    for mode in 0..3 {
        deliver(&mut s, now, mode, data);
    }
    let mut rest = data;
    let mut records = 0;
    while let [mode, len, tail @ ..] = rest
        && records < MAX_EVENTS
    {
        records += 1;
        let n = usize::from(*len).min(tail.len());
        let (bytes, after) = tail.split_at(n);
        now += Duration::from_secs(u64::from(mode >> 2) * 100);
        s.handle_timeout(now);
        drain_and_check(&mut s, now);
        deliver(&mut s, now, *mode, bytes);
        rest = after;
    }
});
