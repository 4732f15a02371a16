//! `v6edge_sys::netfilter` on this kernel: with our table in place the
//! receiving kernel (no MIP6) no longer answers a Binding Update carrying a
//! Home Address option, or a packet with a Type 2 Routing Header, with a
//! Parameter Problem, while the mobility capture still sees the packet;
//! without the table it answers again. Two namespaces joined by a veth.

mod common;

use common::{IF_A, IF_B, Pair, can_run};
use std::net::Ipv6Addr;
use std::time::Duration;
use tokio::time::timeout;
use v6edge_core::{Transmit, Transport};
use v6edge_sys::netfilter::{self, Silence};
use v6edge_sys::{Icmp6Socket, MhSocket, MobilityCapture, RawIpv6Sender};
use v6edge_wire::ip6::{Ipv6Header, Type2RoutingHeader};
use v6edge_wire::mh::{BindingUpdate, BuFlags, FourSeconds, MobilityHeader};

const A_GLOBAL: &str = "2001:db8:f::a";
const B_GLOBAL: &str = "2001:db8:f::b";
const HOME_ADDRESS: &str = "2001:db8:1::200";
const PARAMETER_PROBLEM: u8 = 4;
/// Long enough for a Parameter Problem on a veth to come back.
const QUIET: Duration = Duration::from_millis(700);

fn addr(s: &str) -> Ipv6Addr {
    s.parse().expect("test address")
}

fn pair(tag: &str) -> Pair {
    let p = Pair::new(tag);
    for (ns, a, i) in [(&p.a, A_GLOBAL, IF_A), (&p.b, B_GLOBAL, IF_B)] {
        ns.ip(&["-6", "addr", "add", &format!("{a}/64"), "dev", i, "nodad"]);
    }
    p
}

/// In the receiver namespace: installs `silence` (or nothing), then counts
/// the captured packets while the sender sends. Returns how many the
/// capture saw.
fn receiver(p: &Pair, silence: Option<Silence>, expect: usize) -> std::thread::JoinHandle<usize> {
    let if_b = p.if_b;
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
    let h = p.b.spawn(move || async move {
        match silence {
            Some(s) => netfilter::install(&[s]).expect("install our table"),
            None => netfilter::remove().expect("remove our table"),
        }
        let capture = MobilityCapture::open(if_b).expect("capture");
        ready_tx.send(()).expect("sender waiting");
        let mut buf = [0u8; 2048];
        let mut seen = 0;
        while seen < expect {
            match timeout(Duration::from_secs(3), capture.recv(&mut buf)).await {
                Ok(Ok(_)) => seen += 1,
                _ => break,
            }
        }
        seen
    });
    ready_rx
        .recv_timeout(Duration::from_secs(5))
        .expect("receiver ready");
    h
}

/// Whether a Parameter Problem comes back to the sender within [`QUIET`].
async fn parameter_problem(icmp: &Icmp6Socket) -> bool {
    let mut buf = [0u8; 1500];
    matches!(timeout(QUIET, icmp.recv(&mut buf)).await, Ok(Ok(_)))
}

fn bu_with_hao(if_a: u32) -> Transmit {
    let (a, b, hoa) = (addr(A_GLOBAL), addr(B_GLOBAL), addr(HOME_ADDRESS));
    let mh = MobilityHeader::new(BindingUpdate {
        sequence: 1,
        flags: BuFlags::home_registration(),
        lifetime: FourSeconds::from_secs(400),
    });
    Transmit {
        ifindex: if_a,
        src: Some(a),
        dst: b,
        transport: Transport::MobilityHeader {
            home_address: Some(hoa),
        },
        hop_limit: None,
        payload: mh.to_bytes_with_checksum(hoa, b),
    }
}

#[test]
fn destination_options_to_our_address_get_no_parameter_problem() {
    if !can_run("destination_options_to_our_address_get_no_parameter_problem") {
        return;
    }
    let p = pair("nfhao");
    let if_a = p.if_a;
    for (silence, want_problem) in [
        (Some(Silence::DestinationOptionsTo(addr(B_GLOBAL))), false),
        // Another address: the rule does not apply.
        (
            Some(Silence::DestinationOptionsTo(addr("2001:db8:f::99"))),
            true,
        ),
        (None, true),
    ] {
        let rx = receiver(&p, silence, 1);
        let problem = p.a.run(move || async move {
            let sock = MhSocket::new(Some(IF_A)).expect("raw MH socket");
            let icmp = Icmp6Socket::new(&[PARAMETER_PROBLEM], Some(IF_A)).expect("raw icmpv6");
            sock.send(&bu_with_hao(if_a)).expect("send BU with HAO");
            parameter_problem(&icmp).await
        });
        assert_eq!(
            problem, want_problem,
            "{silence:?}: Parameter Problem {problem}"
        );
        assert_eq!(
            common::join(rx),
            1,
            "{silence:?}: the capture saw the BU either way"
        );
    }
}

#[test]
fn type_2_routing_headers_get_no_parameter_problem() {
    if !can_run("type_2_routing_headers_get_no_parameter_problem") {
        return;
    }
    let p = pair("nfrh2");
    for (silence, want_problem) in [(Some(Silence::Type2RoutingHeader), false), (None, true)] {
        let rx = receiver(&p, silence, 1);
        let problem = p.a.run(move || async move {
            let raw = RawIpv6Sender::new().expect("raw sender");
            let icmp = Icmp6Socket::new(&[PARAMETER_PROBLEM], Some(IF_A)).expect("raw icmpv6");
            // IPv6 | RH2(home address) | an MH with nothing after it.
            let mh = [59u8, 0, 6, 0, 0, 0, 0, 0];
            let rh2 = Type2RoutingHeader::new(135, addr(HOME_ADDRESS)).to_bytes();
            let len = u16::try_from(rh2.len() + mh.len()).expect("small");
            let mut packet =
                Ipv6Header::new(addr(A_GLOBAL), addr(B_GLOBAL), 43, 64, len).to_bytes();
            packet.extend_from_slice(&rh2);
            packet.extend_from_slice(&mh);
            raw.send(&packet, 0).expect("send RH2 packet");
            parameter_problem(&icmp).await
        });
        assert_eq!(problem, want_problem, "{silence:?}");
        assert_eq!(common::join(rx), 1, "{silence:?}: captured either way");
    }
}
