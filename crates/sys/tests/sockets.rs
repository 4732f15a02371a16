//! DHCPv6 UDP and ICMPv6 raw sockets between two namespaces joined by a
//! veth pair.

mod common;

use common::{IF_A, IF_B, Pair, WAIT, can_run, join};
use std::io;
use std::net::Ipv6Addr;
use tokio::sync::oneshot;
use tokio::time::timeout;
use v6edge_core::{DHCP6_CLIENT_PORT, DHCP6_SERVER_PORT, Transmit, Transport};
use v6edge_sys::socket::{ALL_DHCP_RELAY_AGENTS_AND_SERVERS, ALL_NODES, ALL_ROUTERS};
use v6edge_sys::{Dhcp6Socket, Icmp6Socket, RecvMeta};

async fn recv_bounded<F>(what: &str, fut: F) -> RecvMeta
where
    F: Future<Output = io::Result<RecvMeta>>,
{
    match timeout(WAIT, fut).await {
        Ok(Ok(meta)) => meta,
        Ok(Err(e)) => panic!("{what}: {e}"),
        Err(_) => panic!("{what}: nothing within {WAIT:?}"),
    }
}

#[test]
fn dhcp6_multicast_request_and_unicast_reply() {
    if !can_run("dhcp6_multicast_request_and_unicast_reply") {
        return;
    }
    let p = Pair::new("udp");
    let (ready_tx, ready_rx) = oneshot::channel::<()>();
    let (if_a, if_b, ll_a, ll_b) = (p.if_a, p.if_b, p.ll_a, p.ll_b);

    // Server side (ns a): port 547, tied to its link, in ff02::1:2.
    let server = p.a.spawn(move || async move {
        let sock = Dhcp6Socket::bind(DHCP6_SERVER_PORT, Some(IF_A)).expect("bind 547");
        // As root SO_RCVBUFFORCE passes net.core.rmem_max (the kernel
        // reports double what was asked, its bookkeeping share included).
        let got = sock.set_recv_buffer(4 << 20).expect("receive buffer");
        assert!(got >= 4 << 20, "receive buffer {got}");
        sock.join_multicast(ALL_DHCP_RELAY_AGENTS_AND_SERVERS, if_a)
            .expect("join ff02::1:2");
        ready_tx.send(()).expect("client waiting");
        let mut buf = [0u8; 1500];
        let meta = recv_bounded("server recv", sock.recv(&mut buf)).await;
        assert_eq!(&buf[..meta.len], b"\x01solicit");
        assert_eq!(meta.dst, ALL_DHCP_RELAY_AGENTS_AND_SERVERS);
        assert_eq!(meta.ifindex, if_a);
        assert_eq!(*meta.src.ip(), ll_b);
        assert_eq!(meta.src.port(), DHCP6_CLIENT_PORT);
        assert_eq!(
            meta.src.scope_id(),
            if_a,
            "link-local source carries its scope"
        );
        // Linux's default multicast hop limit.
        assert_eq!(meta.hop_limit, 1);
        let rx = meta.received(&buf);
        assert_eq!(
            (rx.src, rx.dst, rx.bytes),
            (ll_b, ALL_DHCP_RELAY_AGENTS_AND_SERVERS, &b"\x01solicit"[..])
        );

        // Reply to the link-local source, client port, explicit hop limit.
        let reply = Transmit {
            ifindex: meta.ifindex,
            src: None,
            dst: *meta.src.ip(),
            transport: Transport::Udp {
                src_port: DHCP6_SERVER_PORT,
                dst_port: DHCP6_CLIENT_PORT,
            },
            hop_limit: Some(7),
            payload: b"\x02advertise".to_vec(),
        };
        sock.send(&reply).expect("send reply");
    });

    // Client side (ns b): port 546, not tied to a device.
    let client = p.b.spawn(move || async move {
        let sock = Dhcp6Socket::bind(DHCP6_CLIENT_PORT, None).expect("bind 546");
        timeout(WAIT, ready_rx)
            .await
            .expect("server ready in time")
            .expect("server alive");
        let solicit = Transmit {
            ifindex: if_b,
            src: None,
            dst: ALL_DHCP_RELAY_AGENTS_AND_SERVERS,
            transport: Transport::Udp {
                src_port: DHCP6_CLIENT_PORT,
                dst_port: DHCP6_SERVER_PORT,
            },
            hop_limit: None,
            payload: b"\x01solicit".to_vec(),
        };
        // A transmit meant for another socket is refused, not misrouted.
        let wrong = Transmit {
            transport: Transport::Udp {
                src_port: 547,
                dst_port: 547,
            },
            ..solicit.clone()
        };
        assert_eq!(
            sock.send(&wrong).map_err(|e| e.kind()),
            Err(io::ErrorKind::InvalidInput)
        );
        assert_eq!(
            sock.send(&Transmit {
                transport: Transport::Icmpv6,
                ..solicit.clone()
            })
            .map_err(|e| e.kind()),
            Err(io::ErrorKind::InvalidInput)
        );
        sock.send(&solicit).expect("send solicit");

        let mut buf = [0u8; 1500];
        let meta = recv_bounded("client recv", sock.recv(&mut buf)).await;
        assert_eq!(&buf[..meta.len], b"\x02advertise");
        assert_eq!(meta.dst, ll_b, "unicast to our link-local");
        assert_eq!(meta.ifindex, if_b);
        assert_eq!((*meta.src.ip(), meta.src.port()), (ll_a, DHCP6_SERVER_PORT));
        assert_eq!(meta.hop_limit, 7, "per-datagram IPV6_HOPLIMIT honoured");
    });
    join(server);
    join(client);
}

/// RFC 4443 §2.3 checksum over the RFC 8200 §8.1 pseudo-header; 0 when the
/// message (with its checksum field) is intact.
fn icmpv6_checksum_residue(src: Ipv6Addr, dst: Ipv6Addr, msg: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut add = |bytes: &[u8]| {
        for pair in bytes.chunks(2) {
            let hi = u32::from(pair[0]) << 8;
            let lo = pair.get(1).map_or(0, |b| u32::from(*b));
            sum += hi | lo;
        }
    };
    add(&src.octets());
    add(&dst.octets());
    add(&(msg.len() as u32).to_be_bytes());
    add(&[0, 0, 0, 58]);
    add(msg);
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// RS with a Source Link-Layer Address option (RFC 4861 §4.1) whose
/// documentation MAC marks it as ours.
const RS: [u8; 16] = [
    133, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0x02, 0x00, 0x5e, 0x00, 0x53, 0x01,
];
/// RA (RFC 4861 §4.2), hop limit 64, router lifetime 0 (so the peer's
/// kernel installs no default route), reachable time 0x12345678 as a marker;
/// checksum left zero for the kernel.
const RA: [u8; 16] = [
    134, 0, 0, 0, 64, 0, 0, 0, 0x12, 0x34, 0x56, 0x78, 0, 0, 0, 0,
];
/// Echo Request (RFC 4443 §4.1): must not get through an RS/RA filter.
const ECHO: [u8; 8] = [128, 0, 0, 0, 0x12, 0x34, 0, 1];

#[test]
fn icmpv6_rs_and_ra_with_hop_limit_255() {
    if !can_run("icmpv6_rs_and_ra_with_hop_limit_255") {
        return;
    }
    let p = Pair::new("icmp");
    let (ready_tx, ready_rx) = oneshot::channel::<()>();
    let (if_a, if_b, ll_a, ll_b) = (p.if_a, p.if_b, p.ll_a, p.ll_b);

    // Router side (ns a): RS/RA only, in all-routers.
    let router = p.a.spawn(move || async move {
        let sock = Icmp6Socket::new(&[133, 134], Some(IF_A)).expect("raw icmpv6");
        sock.join_multicast(ALL_ROUTERS, if_a)
            .expect("join ff02::2");
        ready_tx.send(()).expect("host waiting");
        let mut buf = [0u8; 1500];
        // The echo request sent first is filtered out, so the first message
        // to arrive is the RS.
        let meta = recv_bounded("router recv", sock.recv(&mut buf)).await;
        let msg = &buf[..meta.len];
        // Payload starts at the ICMPv6 type; the echo was filtered out.
        assert_eq!((msg[0], &msg[4..]), (RS[0], &RS[4..]), "our RS first");
        assert_eq!(
            icmpv6_checksum_residue(ll_b, ALL_ROUTERS, msg),
            0,
            "kernel-filled checksum"
        );
        assert_eq!(meta.hop_limit, 255);
        assert_eq!(meta.dst, ALL_ROUTERS);
        assert_eq!(meta.ifindex, if_a);
        assert_eq!(*meta.src.ip(), ll_b);

        let ra = Transmit {
            ifindex: if_a,
            src: None,
            dst: ALL_NODES,
            transport: Transport::Icmpv6,
            hop_limit: None,
            payload: RA.to_vec(),
        };
        let udp = Transmit {
            transport: Transport::Udp {
                src_port: 547,
                dst_port: 546,
            },
            ..ra.clone()
        };
        assert_eq!(
            sock.send(&udp).map_err(|e| e.kind()),
            Err(io::ErrorKind::InvalidInput)
        );
        sock.send(&ra).expect("send RA");
    });

    // Host side (ns b): RA only.
    let host = p.b.spawn(move || async move {
        let sock = Icmp6Socket::new(&[134], Some(IF_B)).expect("raw icmpv6");
        timeout(WAIT, ready_rx)
            .await
            .expect("router ready in time")
            .expect("router alive");
        let to_routers = |payload: &[u8]| Transmit {
            ifindex: if_b,
            src: None,
            dst: ALL_ROUTERS,
            transport: Transport::Icmpv6,
            hop_limit: None,
            payload: payload.to_vec(),
        };
        sock.send(&to_routers(&ECHO)).expect("send echo");
        sock.send(&to_routers(&RS)).expect("send RS");

        let mut buf = [0u8; 1500];
        // Only RAs pass this filter: the router's kernel answers the echo and
        // resolves our address (NS/NA), none of which may show up here.
        let meta = recv_bounded("host recv", sock.recv(&mut buf)).await;
        let msg = &buf[..meta.len];
        assert_eq!(msg.len(), RA.len());
        assert_eq!(msg[0], 134);
        assert_eq!(&msg[4..], &RA[4..], "our RA body");
        assert_eq!(meta.hop_limit, 255);
        assert_eq!(meta.dst, ALL_NODES);
        assert_eq!(meta.ifindex, if_b);
        assert_eq!(*meta.src.ip(), ll_a, "kernel chose the link-local source");
        assert_ne!(&msg[2..4], &[0, 0], "kernel filled the checksum");
        assert_eq!(
            icmpv6_checksum_residue(ll_a, ALL_NODES, msg),
            0,
            "valid checksum"
        );
    });
    join(router);
    join(host);
}

/// Issue 14's stall, at the socket: answers to hosts that never resolve
/// (made-up link-local sources) wait in the kernel for neighbour
/// resolution, charged to the socket's send buffer. Once that is full a
/// send must fail at once (`WouldBlock`, or the kernel's error for a full
/// neighbour table), never wait: the daemon's one loop would stop for as
/// long as the kernel keeps failing resolutions.
#[test]
fn send_to_unresolvable_neighbours_never_waits() {
    if !can_run("send_to_unresolvable_neighbours_never_waits") {
        return;
    }
    let p = Pair::new("nowait");
    let if_a = p.if_a;
    p.a.run(move || async move {
        let sock = Dhcp6Socket::bind(DHCP6_SERVER_PORT, Some(IF_A)).expect("bind 547");
        // A small buffer (the kernel's minimum is a few kB) fills after a
        // handful of held datagrams.
        sock.set_send_buffer(4096).expect("send buffer");
        let started = std::time::Instant::now();
        let (mut sent, mut refused) = (0u32, 0u32);
        for n in 0..2000u32 {
            // Nobody on the other end has these addresses: every datagram
            // waits for a resolution that fails after 3 s.
            let dst = Ipv6Addr::new(0xfe80, 0, 0, 0, 0x0200, 0x5eff, 0xfe00, n as u16 + 1);
            let t = Transmit {
                ifindex: if_a,
                src: None,
                dst,
                transport: Transport::Udp {
                    src_port: DHCP6_SERVER_PORT,
                    dst_port: DHCP6_CLIENT_PORT,
                },
                hop_limit: None,
                payload: vec![2u8; 200],
            };
            match sock.send(&t) {
                Ok(()) => sent += 1,
                Err(e) => {
                    let full = e.kind() == io::ErrorKind::WouldBlock
                        || e.raw_os_error() == Some(22) // neighbour table full
                        || e.raw_os_error() == Some(105); // ENOBUFS
                    assert!(full, "unexpected send error: {e}");
                    refused += 1;
                }
            }
        }
        let took = started.elapsed();
        assert!(sent > 0, "nothing was sent at all");
        assert!(
            refused > 0,
            "the send buffer never filled ({sent} sent): the test proves nothing"
        );
        assert!(
            took < std::time::Duration::from_secs(1),
            "2000 sends took {took:?}: a send waited"
        );
    });
}
