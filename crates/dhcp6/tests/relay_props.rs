//! Hostile input at both sides of the relay: arbitrary bytes, and
//! arbitrary bytes inside well-formed relay layers, never panic; every
//! datagram is either relayed or counted as dropped; every transmit
//! decodes; outputs keep the contract's order.

mod relay_harness;

use proptest::prelude::*;
use relay_harness::*;
use std::net::Ipv6Addr;
use v6edge_core::Instant;
use v6edge_dhcp6::relay::{Downstream, Relay, RelayConfig, RelayOutput};
use v6edge_wire::dhcp6::Message;

fn relay() -> Relay {
    let mut c = RelayConfig::new(WAN);
    let mut ds = Downstream::new(LAN, b"lan0".to_vec());
    ds.link_address = Some(LAN_ADDR);
    c.downstream = vec![ds];
    c.servers = vec![SERVER];
    Relay::new(c, Instant::from_secs(1))
}

fn rank(o: &RelayOutput) -> u8 {
    match o {
        RelayOutput::Transmit(_) => 0,
        RelayOutput::Kernel(_) => 1,
        RelayOutput::Snoop(_) => 2,
    }
}

/// Feeds one datagram and checks the invariants.
fn feed(r: &mut Relay, ifindex: u32, src: Ipv6Addr, bytes: &[u8]) {
    let before = r.counters().clone();
    let outs = deliver(r, Instant::from_secs(2), ifindex, src, LAN_ADDR, bytes);
    let after = r.counters();
    let moved =
        after.forwarded_up + after.forwarded_down - before.forwarded_up - before.forwarded_down;
    let dropped = after.dropped_total() - before.dropped_total();
    assert_eq!(
        moved + dropped,
        1,
        "each datagram relayed or counted: {after:?}"
    );
    let mut last = 0;
    for o in &outs {
        assert!(rank(o) >= last, "outputs out of order");
        last = rank(o);
        if let RelayOutput::Transmit(t) = o {
            assert!(
                Message::parse(&t.payload).is_ok(),
                "relay sent undecodable bytes"
            );
        }
    }
}

/// A Relay-reply header for LAN around raw bytes as its Relay Message.
fn relay_reply_around(inner: &[u8]) -> Vec<u8> {
    let mut out = vec![13, 0];
    out.extend_from_slice(&LAN_ADDR.octets());
    out.extend_from_slice(&Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 9).octets());
    out.extend_from_slice(&[0, 9]);
    out.extend_from_slice(&(inner.len() as u16).to_be_bytes());
    out.extend_from_slice(inner);
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_from_the_client_side_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut r = relay();
        feed(&mut r, LAN, Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 9), &bytes);
    }

    #[test]
    fn arbitrary_bytes_from_the_server_side_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut r = relay();
        feed(&mut r, WAN, SERVER, &bytes);
    }

    #[test]
    fn arbitrary_inner_messages_in_a_relay_reply_never_panic(
        first in 0u8..16,
        bytes in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let mut r = relay();
        let mut inner = vec![first];
        inner.extend_from_slice(&bytes);
        feed(&mut r, WAN, SERVER, &relay_reply_around(&inner));
        // Whatever got snooped is routable and in the future.
        for s in r.snooped() {
            prop_assert!(s.prefix.len() > 0);
            prop_assert!(s.valid_until > Instant::from_secs(2));
        }
    }
}
