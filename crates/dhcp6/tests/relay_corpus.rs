//! The relay against real relays' and servers' messages (captures in
//! crates/wire/tests/fixtures/dhcp6, named in index.tsv): Relay-forwards
//! from ISC dhcrelay and WIDE dhcp6relay arriving from a further relay,
//! and Kea's Relay-replies, one and two layers deep.

mod captures;
mod relay_harness;

use captures::{RELAY_FORWARDS, fixture};
use relay_harness::*;
use v6edge_core::{Instant, KernelOp};
use v6edge_dhcp6::relay::{Downstream, Relay, RelayConfig, RelayOutput};
use v6edge_wire::dhcp6::Message;

/// A relay with the one downstream link `ds` and the one server `server`.
fn relay_for(ds: Downstream, server: std::net::Ipv6Addr, now: Instant) -> Relay {
    let mut c = RelayConfig::new(WAN);
    c.downstream = vec![ds];
    c.servers = vec![server];
    Relay::new(c, now)
}

#[test]
fn captured_relay_forwards_are_relayed_again_byte_exact_with_hop_plus_one() {
    for name in RELAY_FORWARDS {
        let (bytes, src) = fixture(name);
        let Ok(Message::Relay(captured)) = Message::parse(&bytes) else {
            panic!("{name}: not a relay message");
        };
        let now = Instant::from_secs(1);
        let mut r = relay_for(Downstream::new(LAN, b"lan0".to_vec()), SERVER, now);
        let outs = deliver(&mut r, now, LAN, src, ALL_AGENTS, &bytes);
        let [RelayOutput::Transmit(t)] = outs.as_slice() else {
            panic!("{name}: expected one transmit, got {outs:?}");
        };
        assert_eq!(t.ifindex, WAN, "{name}");
        let f = relayed(t);
        assert_eq!(f.hop_count, captured.hop_count + 1, "{name}");
        assert_eq!(f.peer_address, src, "{name}");
        assert_eq!(f.options.interface_id(), Some(&b"lan0"[..]), "{name}");
        assert_eq!(
            f.relay_message().map(Message::to_bytes),
            Some(bytes),
            "{name}: carried byte-exact"
        );
    }
}

#[test]
fn captured_kea_relay_replies_are_unwrapped_and_replies_snooped() {
    for (name, nested, is_reply) in [
        ("kea-relay-reply-advertise-ia_na-ia_pd.bin", false, false),
        ("kea-relay-reply-reply-request-ia_na-ia_pd.bin", false, true),
        ("kea-relay-reply-x2-advertise-ia_na-ia_pd.bin", true, false),
        (
            "kea-relay-reply-x2-reply-request-ia_na-ia_pd.bin",
            true,
            true,
        ),
    ] {
        let (bytes, src) = fixture(name);
        let Ok(Message::Relay(captured)) = Message::parse(&bytes) else {
            panic!("{name}: not a relay message");
        };
        // Our downstream is the link the capture names: by Interface-ID
        // when Kea echoed one, else by link-address.
        let mut ds = Downstream::new(LAN, b"lan0".to_vec());
        match captured.options.interface_id() {
            Some(id) => ds.interface_id = id.to_vec(),
            None => ds.link_address = Some(captured.link_address),
        }
        let now = Instant::from_secs(10);
        let mut r = relay_for(ds, src, now);
        let dst = "2001:db8::2".parse().expect("our upstream address");
        let outs = deliver(&mut r, now, WAN, src, dst, &bytes);
        let RelayOutput::Transmit(t) = &outs[0] else {
            panic!("{name}: expected a transmit first, got {outs:?}");
        };
        let inner = captured.relay_message().expect("captured relay message");
        assert_eq!(t.ifindex, LAN, "{name}");
        assert_eq!(t.dst, captured.peer_address, "{name}");
        assert_eq!(t.payload, inner.to_bytes(), "{name}");
        let port = if nested { 547 } else { 546 };
        assert_eq!(t.transport, udp(547, port), "{name}");
        let routes: Vec<_> = kernel(&outs)
            .into_iter()
            .filter_map(|k| match k {
                KernelOp::SetRoute(s) => Some(s),
                _ => None,
            })
            .collect();
        let delegated = inner
            .options()
            .ia_pds()
            .flat_map(|ia| ia.prefixes())
            .count();
        if is_reply && !nested {
            assert!(delegated > 0, "{name}: the capture delegates a prefix");
            assert_eq!(routes.len(), delegated, "{name}");
            assert!(
                routes
                    .iter()
                    .all(|s| s.gateway == Some(captured.peer_address) && s.ifindex == Some(LAN))
            );
            assert_eq!(r.snooped().count(), delegated, "{name}");
        } else {
            assert!(
                routes.is_empty(),
                "{name}: only the client's own Reply is snooped"
            );
        }
    }
}
