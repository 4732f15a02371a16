//! Mobile IPv6 sockets on this kernel (no MIP6): `MhSocket` and
//! `RawIpv6Sender` between two namespaces joined by a veth pair
//! (`../shared/reference/mobility.md` §2.1 has the behaviour relied on).
//!
//! The receiving kernel has no MIP6 either, so a Home Address option or a
//! Type 2 Routing Header in our packets makes it answer with ICMPv6
//! Parameter Problem pointing at the option or the routing type: proof that
//! the header left where RFC 6275 puts it, with our bytes.

mod common;

use common::{IF_A, IF_B, Pair, WAIT, can_run};
use std::net::Ipv6Addr;
use tokio::time::timeout;
use v6edge_core::{Transmit, Transport};
use v6edge_sys::{Icmp6Socket, MhSocket, RawIpv6Sender, RecvMeta};
use v6edge_wire::ip6::{Ipv6Header, Type2RoutingHeader};
use v6edge_wire::mh::{
    BaFlags, BaStatus, BindingAck, BindingUpdate, BuFlags, FourSeconds, MobilityHeader,
    verify_checksum,
};

const A_GLOBAL: &str = "2001:db8:f::a";
const B_GLOBAL: &str = "2001:db8:f::b";
const HOME_ADDRESS: &str = "2001:db8:1::200";
/// ICMPv6 Parameter Problem (RFC 4443 §3.4).
const PARAMETER_PROBLEM: u8 = 4;

fn addr(s: &str) -> Ipv6Addr {
    s.parse().expect("test address")
}

fn with_globals(tag: &str) -> Pair {
    let p = Pair::new(tag);
    p.a.ip(&[
        "-6",
        "addr",
        "add",
        &format!("{A_GLOBAL}/64"),
        "dev",
        IF_A,
        "nodad",
    ]);
    p.b.ip(&[
        "-6",
        "addr",
        "add",
        &format!("{B_GLOBAL}/64"),
        "dev",
        IF_B,
        "nodad",
    ]);
    p
}

async fn recv_within<F>(what: &str, fut: F) -> RecvMeta
where
    F: Future<Output = std::io::Result<RecvMeta>>,
{
    match timeout(WAIT, fut).await {
        Ok(Ok(meta)) => meta,
        Ok(Err(e)) => panic!("{what}: {e}"),
        Err(_) => panic!("{what}: nothing within {WAIT:?}"),
    }
}

fn binding_update(sequence: u16) -> MobilityHeader {
    MobilityHeader::new(BindingUpdate {
        sequence,
        flags: BuFlags::home_registration(),
        lifetime: FourSeconds::from_secs(400),
    })
}

/// A Binding Update reaches the peer's MhSocket byte for byte with the
/// checksum we computed (the kernel's own is off); one sent with a home
/// address carries the Home Address option just before the MH, which the
/// MIP6-less peer rejects with Parameter Problem code 2 pointing at the
/// option type (offset 46: 40 + 2 + a 4-octet PadN, §2.1); the option is
/// cleared after that send.
#[test]
fn mh_socket_sends_with_our_checksum_and_the_home_address_option() {
    if !can_run("mh_socket_sends_with_our_checksum_and_the_home_address_option") {
        return;
    }
    let p = with_globals("mh");
    let (a_global, b_global, hoa) = (addr(A_GLOBAL), addr(B_GLOBAL), addr(HOME_ADDRESS));
    let (if_a, if_b) = (p.if_a, p.if_b);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();

    let receiver = p.b.spawn(move || async move {
        let sock = MhSocket::new(Some(IF_B)).expect("raw MH socket");
        ready_tx.send(()).expect("sender waiting");
        let mut buf = [0u8; 1500];
        let mut got = Vec::new();
        for i in 0..2 {
            let meta = recv_within(&format!("MH {i}"), sock.recv(&mut buf)).await;
            assert_eq!(meta.ifindex, if_b);
            assert_eq!(meta.dst, b_global);
            let bytes = buf[..meta.len].to_vec();
            assert!(
                verify_checksum(*meta.src.ip(), meta.dst, &bytes),
                "our checksum, over the packet's addresses"
            );
            got.push(MobilityHeader::parse(&bytes).expect("a Mobility Header"));
        }
        got
    });

    let sender = p.a.spawn(move || async move {
        let sock = MhSocket::new(Some(IF_A)).expect("raw MH socket");
        let icmp = Icmp6Socket::new(&[PARAMETER_PROBLEM], Some(IF_A)).expect("raw icmpv6");
        ready_rx.recv_timeout(WAIT).expect("receiver ready");
        let transmit = |mh: &MobilityHeader, home_address: Option<Ipv6Addr>| Transmit {
            ifindex: if_a,
            src: Some(a_global),
            dst: b_global,
            transport: Transport::MobilityHeader { home_address },
            hop_limit: None,
            payload: mh.to_bytes_with_checksum(home_address.unwrap_or(a_global), b_global),
        };
        sock.send(&transmit(&binding_update(1), None))
            .expect("send BU 1");
        sock.send(&transmit(&binding_update(2), Some(hoa)))
            .expect("send BU 2 with HAO");
        let mut buf = [0u8; 1500];
        let meta = recv_within("Parameter Problem", icmp.recv(&mut buf)).await;
        let icmp_msg = buf[..meta.len].to_vec();
        // The option is gone again: this one arrives.
        sock.send(&transmit(&binding_update(3), None))
            .expect("send BU 3");
        icmp_msg
    });

    let problem = common::join(sender);
    let got = common::join(receiver);
    let sequences: Vec<u16> = got
        .iter()
        .map(|mh| match &mh.body {
            v6edge_wire::mh::MhBody::BindingUpdate(bu) => bu.sequence,
            other => panic!("not a BU: {other:?}"),
        })
        .collect();
    assert_eq!(
        sequences,
        vec![1, 3],
        "the BU with a HAO never reached the socket"
    );

    assert_eq!(problem[0], PARAMETER_PROBLEM);
    assert_eq!(problem[1], 2, "code 2: unrecognised IPv6 option");
    let pointer = u32::from_be_bytes(problem[4..8].try_into().expect("4 octets"));
    assert_eq!(pointer, 46, "points at the Home Address option type");
    let invoking = &problem[8..];
    assert_eq!(
        invoking[6], 60,
        "a Destination Options header follows the IPv6 header"
    );
    assert_eq!(invoking[40], 135, "... and announces the Mobility Header");
    assert_eq!(invoking[46], 201, "option type 201 (RFC 6275 §6.3)");
    assert_eq!(&invoking[48..64], &hoa.octets(), "the home address");
}

/// A whole packet from RawIpv6Sender: IPv6 header, Type 2 Routing Header,
/// Binding Acknowledgement. The MIP6-less peer answers Parameter Problem
/// code 0 pointing at the routing type (offset 42, §2.1).
#[test]
fn raw_sender_carries_a_type_2_routing_header() {
    if !can_run("raw_sender_carries_a_type_2_routing_header") {
        return;
    }
    let p = with_globals("rh2");
    let (a_global, b_global, hoa) = (addr(A_GLOBAL), addr(B_GLOBAL), addr(HOME_ADDRESS));
    let if_a = p.if_a;
    let problem = p.a.run(move || async move {
        let icmp = Icmp6Socket::new(&[PARAMETER_PROBLEM], Some(IF_A)).expect("raw icmpv6");
        let sender = RawIpv6Sender::new().expect("raw IPv6 sender");
        let ba = MobilityHeader::new(BindingAck {
            status: BaStatus::Accepted,
            flags: BaFlags::default(),
            sequence: 7,
            lifetime: FourSeconds::from_secs(400),
        });
        // RFC 6275 §6.1.1: the checksum's destination is the home address.
        let mh = ba.to_bytes_with_checksum(a_global, hoa);
        let rh2 = Type2RoutingHeader::new(135, hoa).to_bytes();
        let payload_len = u16::try_from(rh2.len() + mh.len()).expect("small");
        let mut packet = Ipv6Header::new(a_global, b_global, 43, 64, payload_len).to_bytes();
        packet.extend_from_slice(&rh2);
        packet.extend_from_slice(&mh);
        sender.send(&packet, if_a).expect("raw send");
        let mut buf = [0u8; 1500];
        let meta = recv_within("Parameter Problem", icmp.recv(&mut buf)).await;
        buf[..meta.len].to_vec()
    });
    assert_eq!(problem[0], PARAMETER_PROBLEM);
    assert_eq!(problem[1], 0, "code 0: erroneous header field");
    let pointer = u32::from_be_bytes(problem[4..8].try_into().expect("4 octets"));
    assert_eq!(pointer, 42, "points at the routing type");
    let invoking = &problem[8..];
    assert_eq!(invoking[6], 43, "a Routing header follows the IPv6 header");
    assert_eq!(
        (invoking[40], invoking[42], invoking[43]),
        (135, 2, 1),
        "type 2, one segment left"
    );
    assert_eq!(&invoking[48..64], &hoa.octets(), "the home address");
}
