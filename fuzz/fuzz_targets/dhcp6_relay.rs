//! Fuzz target for the DHCPv6 relay machine, `Relay::handle_packet`.
//!
//! The input is fed whole from the client side and from the server side
//! (seed with the captures: `cargo fuzz run dhcp6_relay <copy of
//! crates/wire/tests/fixtures/dhcp6>`), then as records
//! `[mode][len][bytes; len]`: mode bit 0 picks the side, bit 1 wraps the
//! bytes in a Relay-reply header for the downstream link, bits 2-7 jump
//! time (100 s steps) before it; at most `MAX_EVENTS` records.
//!
//! After every datagram: no panic, outputs in the contract's order
//! (Transmit, Kernel, Snoop), every Transmit decodes, no snooped
//! delegation has outlived its valid lifetime.

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::net::Ipv6Addr;
use std::time::Duration;
use v6edge_core::{Instant, Received};
use v6edge_dhcp6::relay::{Downstream, Relay, RelayConfig, RelayOutput};
use v6edge_fuzz::MAX_EVENTS;
use v6edge_wire::dhcp6::Message;

const WAN: u32 = 2;
const LAN: u32 = 3;
const SERVER: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 0, 0, 0, 1);
const LAN_ADDR: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xa1, 0, 0, 0, 0, 1);
const CLIENT: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 9);

fn rank(o: &RelayOutput) -> u8 {
    match o {
        RelayOutput::Transmit(_) => 0,
        RelayOutput::Kernel(_) => 1,
        RelayOutput::Snoop(_) => 2,
    }
}

fn relay_reply_around(inner: &[u8]) -> Option<Vec<u8>> {
    let len = u16::try_from(inner.len()).ok()?;
    let mut out = vec![13, 0];
    out.extend_from_slice(&LAN_ADDR.octets());
    out.extend_from_slice(&CLIENT.octets());
    out.extend_from_slice(&[0, 9]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(inner);
    Some(out)
}

fn deliver(r: &mut Relay, now: Instant, mode: u8, bytes: &[u8]) {
    let wrapped;
    let bytes = if mode & 2 != 0 {
        match relay_reply_around(bytes) {
            Some(w) => {
                wrapped = w;
                &wrapped[..]
            }
            None => return,
        }
    } else {
        bytes
    };
    let (ifindex, src) = if mode & 1 == 0 && mode & 2 == 0 {
        (LAN, CLIENT)
    } else {
        (WAN, SERVER)
    };
    r.handle_packet(
        now,
        &Received {
            ifindex,
            src,
            dst: LAN_ADDR,
            hop_limit: 64,
            bytes,
        },
    );
    let mut last = 0;
    while let Some(o) = r.poll_output() {
        assert!(rank(&o) >= last, "outputs out of order");
        last = rank(&o);
        if let RelayOutput::Transmit(t) = &o {
            assert!(
                Message::parse(&t.payload).is_ok(),
                "relay sent undecodable bytes"
            );
        }
    }
    assert!(
        r.snooped().all(|s| s.valid_until > now),
        "expired delegation kept"
    );
}

fuzz_target!(|data: &[u8]| {
    let mut c = RelayConfig::new(WAN);
    let mut ds = Downstream::new(LAN, b"lan0".to_vec());
    ds.link_address = Some(LAN_ADDR);
    c.downstream = vec![ds];
    c.servers = vec![SERVER];
    let mut now = Instant::from_secs(1000);
    let mut r = Relay::new(c, now);
    for mode in 0..3 {
        deliver(&mut r, now, mode, data);
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
        r.handle_timeout(now);
        while r.poll_output().is_some() {}
        deliver(&mut r, now, *mode, bytes);
        rest = after;
    }
});
