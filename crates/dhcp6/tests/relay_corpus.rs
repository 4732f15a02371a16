//! The relay against real relays' and servers' messages (captures in
//! crates/wire/tests/fixtures/dhcp6, named in index.tsv): Relay-forwards
//! from ISC dhcrelay and WIDE dhcp6relay arriving from a further relay,
//! and Kea's Relay-replies, one and two layers deep.

use std::net::Ipv6Addr;
use std::path::PathBuf;
use v6edge_core::{Instant, KernelOp, Received, Transport};
use v6edge_dhcp6::relay::{Downstream, Relay, RelayConfig, RelayOutput};
use v6edge_wire::dhcp6::Message;

const WAN: u32 = 2;
const LAN: u32 = 3;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../wire/tests/fixtures/dhcp6")
}

/// The bytes and the captured source address of a fixture.
fn fixture(name: &str) -> (Vec<u8>, Ipv6Addr) {
    let index = std::fs::read_to_string(dir().join("index.tsv")).expect("index.tsv");
    let src = index
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f.first() == Some(&name)).then(|| f[4].parse().expect("src column"))
        })
        .unwrap_or_else(|| panic!("{name} not in index.tsv"));
    let bytes = std::fs::read(dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    (bytes, src)
}

fn drain(r: &mut Relay) -> Vec<RelayOutput> {
    std::iter::from_fn(|| r.poll_output()).collect()
}

#[test]
fn captured_relay_forwards_are_relayed_again_byte_exact_with_hop_plus_one() {
    for name in [
        "isc-relay-forw-solicit-ia_na-ia_pd.bin",
        "wide-relay-forw-solicit-ia_na-ia_pd.bin",
        "isc-relay-forw-x2-solicit-ia_na-ia_pd.bin",
        "wide-relay-forw-x2-solicit-ia_na-ia_pd.bin",
        "isc-relay-forw-request-ia_na-ia_pd.bin",
        "wide-relay-forw-request-ia_na-ia_pd.bin",
        "isc-relay-forw-x2-request-ia_na-ia_pd.bin",
        "wide-relay-forw-x2-request-ia_na-ia_pd.bin",
    ] {
        let (bytes, src) = fixture(name);
        let Ok(Message::Relay(captured)) = Message::parse(&bytes) else {
            panic!("{name}: not a relay message");
        };
        let mut c = RelayConfig::new(WAN);
        c.downstream = vec![Downstream::new(LAN, b"lan0".to_vec())];
        c.servers = vec!["2001:db8:0:1::1".parse().unwrap()];
        let mut r = Relay::new(c, Instant::from_secs(1));
        r.handle_packet(
            Instant::from_secs(1),
            &Received {
                ifindex: LAN,
                src,
                dst: "ff02::1:2".parse().unwrap(),
                hop_limit: 64,
                bytes: &bytes,
            },
        );
        let outs = drain(&mut r);
        let [RelayOutput::Transmit(t)] = outs.as_slice() else {
            panic!("{name}: expected one transmit, got {outs:?}");
        };
        assert_eq!(t.ifindex, WAN, "{name}");
        let Ok(Message::Relay(f)) = Message::parse(&t.payload) else {
            panic!("{name}: undecodable relay-forward");
        };
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
        let mut c = RelayConfig::new(WAN);
        c.downstream = vec![ds];
        c.servers = vec![src];
        let now = Instant::from_secs(10);
        let mut r = Relay::new(c, now);
        r.handle_packet(
            now,
            &Received {
                ifindex: WAN,
                src,
                dst: "2001:db8::2".parse().unwrap(),
                hop_limit: 64,
                bytes: &bytes,
            },
        );
        let outs = drain(&mut r);
        let RelayOutput::Transmit(t) = &outs[0] else {
            panic!("{name}: expected a transmit first, got {outs:?}");
        };
        let inner = captured.relay_message().expect("captured relay message");
        assert_eq!(t.ifindex, LAN, "{name}");
        assert_eq!(t.dst, captured.peer_address, "{name}");
        assert_eq!(t.payload, inner.to_bytes(), "{name}");
        let port = if nested { 547 } else { 546 };
        assert_eq!(
            t.transport,
            Transport::Udp {
                src_port: 547,
                dst_port: port
            },
            "{name}"
        );
        let routes: Vec<_> = outs
            .iter()
            .filter_map(|o| match o {
                RelayOutput::Kernel(KernelOp::SetRoute(s)) => Some(s),
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
