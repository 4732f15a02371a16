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

/// RFC 4443 §2.3 checksum of an ICMPv6 message (checksum field zero).
fn icmpv6_checksum(src: Ipv6Addr, dst: Ipv6Addr, msg: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut add = |b: &[u8]| {
        for c in b.chunks(2) {
            sum += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
        }
    };
    add(&src.octets());
    add(&dst.octets());
    add(&u32::try_from(msg.len()).expect("small").to_be_bytes());
    add(&[0, 0, 0, 58]);
    add(msg);
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An IPv6 packet carrying an ICMPv6 echo (request 128, reply 129).
fn echo(kind: u8, src: Ipv6Addr, dst: Ipv6Addr, id: u16, seq: u16) -> Vec<u8> {
    let mut msg = vec![kind, 0, 0, 0];
    msg.extend_from_slice(&id.to_be_bytes());
    msg.extend_from_slice(&seq.to_be_bytes());
    msg.extend_from_slice(b"through the tunnel");
    let sum = icmpv6_checksum(src, dst, &msg);
    msg[2..4].copy_from_slice(&sum.to_be_bytes());
    let len = u16::try_from(msg.len()).expect("small");
    let mut packet = Ipv6Header::new(src, dst, 58, 64, len).to_bytes();
    packet.extend_from_slice(&msg);
    packet
}

/// The default Mobile IPv6 data plane, both ends in userspace: a home
/// agent tunnels a correspondent's echo request for the home address to
/// the care-of address (TunnelSocket); the mobile node takes the inner
/// packet, checks the outer source is its home agent and writes it into
/// its TUN device, where the kernel answers from the home address; the
/// reply, routed into the TUN, goes back through the reverse tunnel and
/// reaches the home agent as sent by the home address.
#[test]
fn a_ping_through_the_userspace_tunnel_and_a_tun_device() {
    if !can_run("a_ping_through_the_userspace_tunnel_and_a_tun_device") {
        return;
    }
    let p = with_globals("tnl");
    let (ha, coa, hoa) = (addr(A_GLOBAL), addr(B_GLOBAL), addr(HOME_ADDRESS));
    let cn = addr("2001:db8:c::1");
    let mn = p.b.handle();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();

    let mobile = p.b.spawn(move || async move {
        let tun = v6edge_sys::tun::Tun::create("v6mip").expect("tun");
        mn.ip(&["link", "set", "v6mip", "up"]);
        mn.ip(&[
            "-6",
            "addr",
            "add",
            &format!("{HOME_ADDRESS}/128"),
            "dev",
            "v6mip",
            "nodad",
        ]);
        mn.ip(&["-6", "route", "add", "2001:db8:c::/64", "dev", "v6mip"]);
        let tunnel = v6edge_sys::TunnelSocket::bind(coa).expect("tunnel socket");
        assert_eq!(tunnel.local(), coa);
        ready_tx.send(()).expect("home agent waiting");
        let mut buf = [0u8; 2048];
        let meta = recv_within("tunnelled request", tunnel.recv(&mut buf)).await;
        assert_eq!(*meta.src.ip(), ha, "outer source: the home agent");
        assert_eq!(meta.dst, coa);
        let inner = buf[..meta.len].to_vec();
        assert_eq!(inner, echo(128, cn, hoa, 7, 1), "the inner packet intact");
        tun.send(&inner).await.expect("into the TUN");
        // What the kernel routes into the TUN: the reply (skip anything
        // else the new interface sends, e.g. MLD reports), bounded.
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let n = timeout(deadline - tokio::time::Instant::now(), tun.recv(&mut buf))
                .await
                .expect("a reply within the bound")
                .expect("tun read");
            let packet = buf[..n].to_vec();
            if packet.get(40) == Some(&129) {
                tunnel.send(&packet, ha).expect("reverse tunnel");
                return packet;
            }
        }
    });

    let home_agent = p.a.run(move || async move {
        let tunnel = v6edge_sys::TunnelSocket::bind(ha).expect("tunnel socket");
        ready_rx.recv_timeout(WAIT).expect("mobile node ready");
        tunnel
            .send(&echo(128, cn, hoa, 7, 1), coa)
            .expect("tunnel the request");
        let mut buf = [0u8; 2048];
        let meta = recv_within("tunnelled reply", tunnel.recv(&mut buf)).await;
        assert_eq!(*meta.src.ip(), coa, "outer source: the care-of address");
        buf[..meta.len].to_vec()
    });
    let sent_back = common::join(mobile);
    assert_eq!(
        home_agent, sent_back,
        "the home agent got what the mobile node sent"
    );
    let reply = Ipv6Header::parse(&home_agent).expect("an IPv6 packet");
    assert_eq!((reply.src, reply.dst, reply.next_header), (hoa, cn, 58));
    let msg = &home_agent[40..];
    assert_eq!(msg[0], 129, "an echo reply");
    assert_eq!(&msg[4..8], &[0, 7, 0, 1], "to our identifier and sequence");
    assert_eq!(icmpv6_checksum(hoa, cn, msg), 0, "checksum valid");
}

/// Batched tunnel I/O (mobility.md §2.2): a burst of 100 echo requests
/// leaves the home agent in one `send_batch`; the mobile node's
/// `recv_batch` takes them a batch (64) at a time, in order and intact,
/// with the outer addresses; written into the TUN device, the kernel's
/// 100 replies are read back a batch per wake-up (`Tun::recv_batch`) and
/// return through the reverse tunnel from the care-of address named per
/// packet.
#[test]
fn a_burst_through_the_batched_tunnel() {
    use v6edge_sys::batch::{DEFAULT_BATCH, PacketBatch};
    use v6edge_sys::socket::{Outgoing, Tunnelled};
    if !can_run("a_burst_through_the_batched_tunnel") {
        return;
    }
    const BURST: u16 = 100;
    let p = with_globals("tnb");
    let (ha, coa, hoa) = (addr(A_GLOBAL), addr(B_GLOBAL), addr(HOME_ADDRESS));
    let cn = addr("2001:db8:c::1");
    let mn = p.b.handle();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
    let (sent_tx, sent_rx) = std::sync::mpsc::channel::<()>();
    // Long enough for a burst on veth to be queued whole.
    let settle = std::time::Duration::from_millis(300);

    let mobile = p.b.spawn(move || async move {
        let tun = v6edge_sys::tun::Tun::create("v6mipb").expect("tun");
        mn.ip(&["link", "set", "v6mipb", "up"]);
        mn.ip(&[
            "-6",
            "addr",
            "add",
            &format!("{HOME_ADDRESS}/128"),
            "dev",
            "v6mipb",
            "nodad",
        ]);
        mn.ip(&["-6", "route", "add", "2001:db8:c::/64", "dev", "v6mipb"]);
        let tunnel = v6edge_sys::TunnelSocket::unbound().expect("tunnel socket");
        ready_tx.send(()).expect("home agent waiting");
        sent_rx.recv_timeout(WAIT).expect("burst sent");
        tokio::time::sleep(settle).await;
        let mut batch: PacketBatch<Tunnelled> = PacketBatch::new(DEFAULT_BATCH);
        let mut requests = Vec::new();
        let mut sizes = Vec::new();
        while requests.len() < usize::from(BURST) {
            let n = timeout(WAIT, tunnel.recv_batch(&mut batch))
                .await
                .expect("the burst within the bound")
                .expect("recvmmsg");
            sizes.push(n);
            for (from, inner) in batch.iter() {
                assert_eq!(
                    (from.outer_src, from.outer_dst),
                    (ha, coa),
                    "outer addresses"
                );
                requests.push(inner.to_vec());
            }
        }
        assert_eq!(
            sizes,
            vec![DEFAULT_BATCH, usize::from(BURST) - DEFAULT_BATCH],
            "a batch per call"
        );
        for (seq, inner) in (1..=BURST).zip(&requests) {
            assert_eq!(
                inner,
                &echo(128, cn, hoa, 9, seq),
                "request {seq} intact and in order"
            );
            tun.send(inner).await.expect("into the TUN");
        }
        tokio::time::sleep(settle).await;
        // The replies (and anything else the new device sends, such as MLD
        // reports), a batch per wake-up.
        let mut from_tun: PacketBatch<()> = PacketBatch::new(DEFAULT_BATCH);
        let mut replies = Vec::new();
        let mut first_batch = None;
        let deadline = tokio::time::Instant::now() + WAIT;
        while replies.len() < usize::from(BURST) {
            let n = timeout(
                deadline - tokio::time::Instant::now(),
                tun.recv_batch(&mut from_tun),
            )
            .await
            .expect("the replies within the bound")
            .expect("tun read");
            first_batch.get_or_insert(n);
            replies.extend(
                from_tun
                    .iter()
                    .filter(|((), p)| p.get(40) == Some(&129))
                    .map(|((), p)| p.to_vec()),
            );
        }
        assert_eq!(
            first_batch,
            Some(DEFAULT_BATCH),
            "one wake-up drains a full batch"
        );
        let out: Vec<Outgoing<'_>> = replies
            .iter()
            .map(|r| Outgoing {
                inner: r,
                outer_src: Some(coa),
                outer_dst: ha,
            })
            .collect();
        let sent = tunnel.send_batch(&out);
        assert_eq!((sent.sent, sent.failed), (usize::from(BURST), 0));
        replies
    });

    let home_agent = p.a.run(move || async move {
        let tunnel = v6edge_sys::TunnelSocket::bind(ha).expect("tunnel socket");
        ready_rx.recv_timeout(WAIT).expect("mobile node ready");
        let requests: Vec<Vec<u8>> = (1..=BURST).map(|seq| echo(128, cn, hoa, 9, seq)).collect();
        let out: Vec<Outgoing<'_>> = requests
            .iter()
            .map(|r| Outgoing {
                inner: r,
                outer_src: None,
                outer_dst: coa,
            })
            .collect();
        let sent = tunnel.send_batch(&out);
        assert_eq!((sent.sent, sent.failed), (usize::from(BURST), 0));
        sent_tx.send(()).expect("mobile node waiting");
        let mut batch: PacketBatch<Tunnelled> = PacketBatch::new(DEFAULT_BATCH);
        let mut got = Vec::new();
        while got.len() < usize::from(BURST) {
            timeout(WAIT, tunnel.recv_batch(&mut batch))
                .await
                .expect("the replies within the bound")
                .expect("recvmmsg");
            for (from, inner) in batch.iter() {
                assert_eq!(
                    (from.outer_src, from.outer_dst),
                    (coa, ha),
                    "outer addresses"
                );
                got.push(inner.to_vec());
            }
        }
        got
    });
    let sent_back = common::join(mobile);
    assert_eq!(
        home_agent, sent_back,
        "every reply came back intact, in order"
    );
    let mut seqs: Vec<u16> = home_agent
        .iter()
        .map(|r| {
            let h = Ipv6Header::parse(r).expect("an IPv6 packet");
            assert_eq!((h.src, h.dst), (hoa, cn));
            u16::from_be_bytes([r[46], r[47]])
        })
        .collect();
    seqs.sort_unstable();
    assert_eq!(
        seqs,
        (1..=BURST).collect::<Vec<_>>(),
        "a reply to every request"
    );
}

/// The interception the HA needs on a MIP6-less kernel (mobility.md §2.2
/// option B): a Binding Update with a Home Address option, which the kernel
/// drops before any socket, is captured whole on the home agent's link; a
/// plain ping before it is not (the BPF filter passes only Destination
/// Options and type-2 Routing headers), and the captured packet walks to
/// the MH with the home address as checksum source (RFC 6275 §6.1.1).
#[test]
fn capture_sees_the_binding_update_the_kernel_drops() {
    if !can_run("capture_sees_the_binding_update_the_kernel_drops") {
        return;
    }
    let p = with_globals("cap");
    let (a_global, b_global, hoa) = (addr(A_GLOBAL), addr(B_GLOBAL), addr(HOME_ADDRESS));
    let (if_a, if_b) = (p.if_a, p.if_b);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();

    let home_agent = p.b.spawn(move || async move {
        let capture = v6edge_sys::MobilityCapture::open(if_b).expect("AF_PACKET capture");
        assert_eq!(capture.ifindex(), if_b);
        ready_tx.send(()).expect("sender waiting");
        let mut buf = [0u8; 2048];
        let got = timeout(WAIT, capture.recv(&mut buf))
            .await
            .expect("a packet within the bound")
            .expect("capture read");
        assert_eq!(got.ifindex, if_b, "the arrival interface");
        buf[..got.len].to_vec()
    });

    p.a.run(move || async move {
        let mh = MhSocket::new(Some(IF_A)).expect("raw MH socket");
        let icmp = Icmp6Socket::new(&[129], Some(IF_A)).expect("raw icmpv6");
        ready_rx.recv_timeout(WAIT).expect("capture ready");
        // A ping without extension headers first: filtered out.
        let ping = Transmit {
            ifindex: if_a,
            src: Some(a_global),
            dst: b_global,
            transport: Transport::Icmpv6,
            hop_limit: None,
            payload: echo(128, a_global, b_global, 9, 9)[40..].to_vec(),
        };
        icmp.send(&ping).expect("ping");
        let mut buf = [0u8; 256];
        recv_within("echo reply", icmp.recv(&mut buf)).await;
        let bu = binding_update(5).to_bytes_with_checksum(hoa, b_global);
        mh.send(&Transmit {
            ifindex: if_a,
            src: Some(a_global),
            dst: b_global,
            transport: Transport::MobilityHeader {
                home_address: Some(hoa),
            },
            hop_limit: None,
            payload: bu,
        })
        .expect("send BU with HAO");
    });
    let packet = common::join(home_agent);
    let headers = v6edge_wire::ip6::walk(&packet).expect("an IPv6 packet");
    assert_eq!((headers.ipv6.src, headers.ipv6.dst), (a_global, b_global));
    assert_eq!(headers.home_address, Some(hoa), "the Home Address option");
    assert_eq!(headers.upper_protocol, 135, "a Mobility Header after it");
    let mh_bytes = &packet[headers.upper_offset..];
    assert!(
        verify_checksum(headers.pseudo_src(), headers.pseudo_dst(), mh_bytes),
        "checksum over the home address"
    );
    match MobilityHeader::parse(mh_bytes)
        .expect("a Mobility Header")
        .body
    {
        v6edge_wire::mh::MhBody::BindingUpdate(bu) => assert_eq!(bu.sequence, 5),
        other => panic!("not a BU: {other:?}"),
    }
}

/// `ip -n <ns> args...` succeeded.
fn ip_ok(ns: &str, args: &[&str]) -> bool {
    std::process::Command::new("ip")
        .args(["-n", ns])
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// MT-26: the probes of mobility.md §2.2 report every facility, agree with
/// iproute2 doing the same in another namespace, and leave the caller's
/// namespace exactly as it was (they work in a scratch one).
#[test]
fn mt26_probes_agree_with_iproute2_and_leave_nothing_behind() {
    if !can_run("mt26_probes_agree_with_iproute2_and_leave_nothing_behind") {
        return;
    }
    let ns = common::Netns::new("caps");
    let snapshot = |ns: &common::Netns| {
        [
            ns.ip(&["-d", "link", "show"]),
            ns.ip(&["-6", "addr", "show"]),
            ns.ip(&["-6", "route", "show", "table", "all"]),
            ns.ip(&["-6", "rule", "show"]),
        ]
        .concat()
    };
    let before = snapshot(&ns);
    let facilities = ns
        .run(|| async { v6edge_sys::probe::probe_mobility() })
        .expect("probes run (root)");
    assert_eq!(
        snapshot(&ns),
        before,
        "the probes touched the caller's namespace"
    );
    let names: Vec<&str> = facilities.iter().map(|f| f.name).collect();
    assert_eq!(names, v6edge_sys::probe::FACILITIES);
    let present = |name: &str| {
        facilities
            .iter()
            .find(|f| f.name == name)
            .map(|f| {
                eprintln!(
                    "{:<20} {:<7} {}",
                    f.name,
                    if f.present { "present" } else { "absent" },
                    f.detail
                );
                f.present
            })
            .unwrap_or(false)
    };
    // What every kernel this project runs on has (the default data plane).
    assert!(present("raw-ipv6-in-ipv6"));
    assert!(present("af-packet"));
    assert!(present("ipv6-join-anycast"));
    // The rest: the same answer as iproute2 in a namespace of its own.
    let x = common::Netns::new("capsx");
    let n = x.name.as_str();
    x.ip(&["-6", "addr", "add", "2001:db8:fe::1/64", "dev", "lo"]);
    assert_eq!(
        present("tun"),
        ip_ok(n, &["tuntap", "add", "v6e-t", "mode", "tun"])
    );
    assert_eq!(
        present("seg6-encap-red"),
        ip_ok(
            n,
            &[
                "-6",
                "route",
                "add",
                "2001:db8:fe:1::200/128",
                "encap",
                "seg6",
                "mode",
                "encap.red",
                "segs",
                "2001:db8:fe::2",
                "dev",
                "lo",
                "table",
                "4242",
            ]
        )
    );
    assert_eq!(
        present("seg6local-end-dt6"),
        ip_ok(
            n,
            &[
                "-6",
                "route",
                "add",
                "2001:db8:fe::1/128",
                "encap",
                "seg6local",
                "action",
                "End.DT6",
                "table",
                "4242",
                "dev",
                "lo",
                "table",
                "4243",
            ]
        )
    );
    assert_eq!(
        present("ip6tnl"),
        ip_ok(n, &["link", "add", "v6e-x", "type", "ip6tnl"])
    );
    assert_eq!(
        present("policy-rules"),
        ip_ok(
            n,
            &[
                "-6",
                "rule",
                "add",
                "from",
                "2001:db8:fe::1",
                "lookup",
                "4242"
            ]
        )
    );
    let kallsyms = std::fs::read_to_string("/proc/kallsyms").unwrap_or_default();
    assert_eq!(
        present("kernel-mip6"),
        kallsyms
            .lines()
            .any(|l| l.ends_with(" mip6_mh_filter") || l.contains(" mip6_mh_filter\t")),
        "kernel-mip6 disagrees with /proc/kallsyms"
    );
    present("nft-queue");
    present("xt-nfqueue");
}

/// HA-13 (RFC 2473 §6.7, §7.2): the tunnel socket's path MTU is the
/// kernel's (route MTU here), and a Packet Too Big for an outer packet it
/// sent comes back through its error queue with the MTU, the outer
/// destination and the quoted inner packet; the kernel's path MTU follows.
#[test]
fn tunnel_socket_reports_the_path_mtu_and_outer_packet_too_big() {
    if !can_run("tunnel_socket_reports_the_path_mtu_and_outer_packet_too_big") {
        return;
    }
    let p = with_globals("pmtu");
    let (a, b) = (addr(A_GLOBAL), addr(B_GLOBAL));
    p.a.ip(&[
        "-6",
        "route",
        "add",
        &format!("{B_GLOBAL}/128"),
        "dev",
        IF_A,
        "mtu",
        "1400",
    ]);
    let inner = {
        let mut e = echo(128, addr(HOME_ADDRESS), addr("2001:db8:c::1"), 9, 1);
        // 1300 octets: bigger than the tunnel MTU the Packet Too Big gives.
        e.resize(1300, 0xa5);
        let payload = u16::try_from(e.len() - 40).expect("small");
        e[4..6].copy_from_slice(&payload.to_be_bytes());
        e
    };
    let quoted_outer = {
        let len = u16::try_from(inner.len()).expect("small");
        let mut o = Ipv6Header::new(a, b, 41, 64, len).to_bytes();
        o.extend_from_slice(&inner);
        o.truncate(1280 - 48);
        o
    };
    let (b_ready_tx, b_ready_rx) = std::sync::mpsc::channel::<()>();
    let (sent_tx, sent_rx) = std::sync::mpsc::channel::<()>();
    let expected = inner.clone();
    let far_end = p.b.spawn(move || async move {
        // The far end takes the tunnel packet (no "unknown next header").
        let tunnel = v6edge_sys::TunnelSocket::bind(b).expect("far tunnel socket");
        b_ready_tx.send(()).expect("near end waiting");
        sent_rx.recv_timeout(WAIT).expect("tunnel packet sent");
        let mut buf = [0u8; 2048];
        let meta = recv_within("tunnel packet", tunnel.recv(&mut buf)).await;
        assert_eq!(&buf[..meta.len], &expected[..], "the inner packet intact");
        // Then plays the router whose link is too small for it.
        let icmp = socket2::Socket::new(
            socket2::Domain::IPV6,
            socket2::Type::RAW,
            Some(socket2::Protocol::ICMPV6),
        )
        .expect("raw icmpv6");
        let mut msg = vec![2, 0, 0, 0];
        msg.extend_from_slice(&1280u32.to_be_bytes());
        msg.extend_from_slice(&quoted_outer);
        // The kernel fills the ICMPv6 checksum of raw ICMPv6 sockets.
        icmp.send_to(&msg, &std::net::SocketAddrV6::new(a, 0, 0, 0).into())
            .expect("Packet Too Big sent");
    });
    let sent = inner.clone();
    let (before, error, quoted, after) = p.a.run(move || async move {
        let before = v6edge_sys::socket::path_mtu(None, b).expect("path MTU");
        let tunnel = v6edge_sys::TunnelSocket::bind(a).expect("tunnel socket");
        b_ready_rx.recv_timeout(WAIT).expect("far end ready");
        tunnel.send(&sent, b).expect("tunnelled");
        sent_tx.send(()).expect("far end waiting");
        let mut buf = [0u8; 2048];
        let error = timeout(WAIT, tunnel.recv_error(&mut buf))
            .await
            .expect("an error within the bound")
            .expect("error queue read");
        let after = v6edge_sys::socket::path_mtu(Some(a), b).expect("path MTU");
        (before, error, buf[..error.len].to_vec(), after)
    });
    common::join(far_end);
    assert_eq!(before, 1400, "the route's MTU");
    assert_eq!((error.icmp_type, error.icmp_code), (2, 0), "{error:?}");
    assert_eq!(error.mtu, Some(1280));
    assert_eq!(error.outer_dst, b, "the outer packet's destination");
    assert!(
        quoted.len() >= 40,
        "the inner packet quoted: {}",
        quoted.len()
    );
    assert_eq!(&quoted[..40], &inner[..40], "the quoted inner header");
    assert_eq!(after, 1280, "the kernel lowered its path MTU");
}

/// A raw socket whose receive buffer is full does not count as a receiver:
/// the kernel then answers the packet with a Parameter Problem "unknown
/// next header". The tunnel socket's buffer takes a burst of reassembled
/// tunnel packets (outer fragments, RFC 2473 §7.1(a)) read late.
#[test]
fn tunnel_socket_takes_a_burst_of_fragmented_packets_without_parameter_problems() {
    if !can_run("tunnel_socket_takes_a_burst_of_fragmented_packets_without_parameter_problems") {
        return;
    }
    let p = with_globals("burst");
    p.a.ip(&["link", "set", IF_A, "mtu", "1300"]);
    p.b.ip(&["link", "set", IF_B, "mtu", "1300"]);
    let (a, b) = (addr(A_GLOBAL), addr(B_GLOBAL));
    const BURST: usize = 300;
    let (b_ready_tx, b_ready_rx) = std::sync::mpsc::channel::<()>();
    let (sent_tx, sent_rx) = std::sync::mpsc::channel::<()>();
    let far_end = p.b.spawn(move || async move {
        let tunnel = v6edge_sys::TunnelSocket::bind(b).expect("far tunnel socket");
        b_ready_tx.send(()).expect("near end waiting");
        // Read only once the whole burst is in.
        sent_rx.recv_timeout(WAIT).expect("burst sent");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let mut buf = [0u8; 2048];
        let mut got = 0;
        while let Ok(Ok(_)) =
            timeout(std::time::Duration::from_millis(300), tunnel.recv(&mut buf)).await
        {
            got += 1;
        }
        got
    });
    p.a.run(move || async move {
        let tunnel = v6edge_sys::TunnelSocket::bind(a).expect("tunnel socket");
        b_ready_rx.recv_timeout(WAIT).expect("far end ready");
        let mut inner = echo(128, addr(HOME_ADDRESS), addr("2001:db8:c::1"), 9, 1);
        inner.resize(1280, 0x5a);
        inner[4..6].copy_from_slice(&1240u16.to_be_bytes());
        for _ in 0..BURST {
            // 1320 octets outside: two fragments each on the 1300 link.
            while tunnel.send(&inner, b).is_err() {
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            }
        }
        sent_tx.send(()).expect("far end waiting");
    });
    let got = common::join(far_end);
    let counters =
        p.b.exec(&["nstat", "-az", "Icmp6OutParmProblems", "Ip6InUnknownProtos"]);
    eprintln!("received {got} of {BURST}\n{counters}");
    assert!(
        counters
            .lines()
            .filter(|l| l.starts_with("Icmp6OutParmProblems") || l.starts_with("Ip6InUnknownProtos"))
            .all(|l| l.split_whitespace().nth(1) == Some("0")),
        "the far end's kernel answered tunnel packets: {counters}"
    );
    assert_eq!(got, BURST, "every tunnel packet reached the socket");
}
