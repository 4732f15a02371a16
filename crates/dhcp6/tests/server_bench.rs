//! Throughput of the server machine alone: Solicit + Request exchanges,
//! each client asking for an address and a prefix (as perfdhcp -6 does),
//! messages encoded beforehand, only `handle_packet` and the draining of
//! outputs timed. Ignored by default; run in release:
//!
//! ```text
//! cargo test --release -p v6edge-dhcp6 --test server_bench -- --ignored --nocapture
//! V6EDGE_BENCH_EXCHANGES=1000000 cargo test --release ... (1M leases)
//! ```

#[path = "server_harness.rs"]
mod harness;

use harness::*;
use std::time::Instant as WallClock;
use v6edge_core::Received;
use v6edge_dhcp6::server::{LinkSelector, Server, ServerConfig};
use v6edge_wire::dhcp6::{Duid, Message, MessageType, OptionCode};

#[test]
#[ignore = "timing: run in release with --ignored --nocapture"]
fn solicit_request_exchanges_per_second() {
    let n: u32 = std::env::var("V6EDGE_BENCH_EXCHANGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let mut c = ServerConfig::new(server_duid());
    c.links = vec![link(
        LinkSelector::Interface(IF),
        &[("2001:db8:1::", "2001:db8:1::ffff:ffff")],
        &[("2001:db8:8000::/33", 56)],
    )];
    c.options.dns_servers = vec![addr("2001:db8::53")];
    let mut s = Server::new(c, 1, at(0));

    // Encoded beforehand: the client side is not what is measured.
    let msgs: Vec<(Vec<u8>, Vec<u8>, std::net::Ipv6Addr)> = (0..n)
        .map(|i| {
            let b = i.to_be_bytes();
            let mut cl = Client::new(0);
            cl.duid = Duid::new_ll(1, &[0x02, 0, b[0], b[1], b[2], b[3]]);
            cl.ll = std::net::Ipv6Addr::from(0xfe80_u128 << 112 | u128::from(i));
            cl.oro = vec![OptionCode::DnsServers];
            let ias = vec![na(1, &[]), pd(1, &["::/56"])];
            let sol = Message::Client(cl.msg(MessageType::Solicit, i, ias.clone())).to_bytes();
            let req = Message::Client(cl.to_server(MessageType::Request, i + 1, ias)).to_bytes();
            (sol, req, cl.ll)
        })
        .collect();

    let mut outputs = 0usize;
    // Wall time is what a benchmark measures; the machine never sees it.
    #[allow(clippy::disallowed_methods)]
    let start = WallClock::now();
    for (i, (sol, req, src)) in msgs.iter().enumerate() {
        let now = v6edge_core::Instant::from_micros(i as u64 * 10);
        for bytes in [sol, req] {
            s.handle_packet(
                now,
                &Received {
                    ifindex: IF,
                    src: *src,
                    dst: ALL_SERVERS,
                    hop_limit: 1,
                    bytes,
                },
            );
            while s.poll_output().is_some() {
                outputs += 1;
            }
        }
    }
    let took = start.elapsed();
    let rate = f64::from(n) / took.as_secs_f64();
    let st = s.status();
    println!(
        "{n} Solicit+Request exchanges in {:.3} s: {:.0} exchanges/s ({:.1} µs each), {} leases, {outputs} outputs",
        took.as_secs_f64(),
        rate,
        took.as_secs_f64() * 1e6 / f64::from(n),
        st.leases,
    );
    assert_eq!(
        st.leases,
        2 * n as usize,
        "an address and a prefix per client"
    );
    assert_eq!(st.counters.dropped_total(), 0);
    // Lease, Reply, route, notice for the prefix; Lease, notice for the
    // address; plus the Advertise.
    assert_eq!(outputs, 7 * n as usize);
}
