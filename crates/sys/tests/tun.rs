//! TUN devices against the real kernel, in a namespace: packets the kernel
//! routes to the device are read from the descriptor, packets written to
//! it are received by the kernel.

mod common;

use common::{Netns, WAIT, can_run};
use std::net::{Ipv6Addr, UdpSocket};
use v6edge_sys::tun::Tun;

#[test]
fn packets_through_a_tun_device() {
    if !can_run("packets_through_a_tun_device") {
        return;
    }
    let ns = Netns::new("tun");
    let h = ns.handle();
    ns.run(move || async move {
        assert!(Tun::create("").is_err());
        assert!(Tun::create("a-name-too-long-for-linux").is_err());

        let tun = Tun::create("v6tun0").expect("create tun");
        assert_eq!(tun.name(), "v6tun0");
        h.ip(&["link", "set", "v6tun0", "up"]);
        h.ip(&[
            "-6",
            "addr",
            "add",
            "2001:db8:44::1/64",
            "dev",
            "v6tun0",
            "nodad",
        ]);

        // A datagram to a peer beyond the device comes out of the fd.
        let sock = UdpSocket::bind("[2001:db8:44::1]:0").expect("bind");
        let dst: Ipv6Addr = "2001:db8:44::2".parse().expect("literal");
        sock.send_to(b"hello tun", (dst, 9999)).expect("send");
        let mut buf = [0u8; 2048];
        let packet = tokio::time::timeout(WAIT, async {
            loop {
                let n = tun.recv(&mut buf).await.expect("read tun");
                // Skip MLD and the like: wait for our UDP datagram.
                if n >= 48 && buf[0] >> 4 == 6 && buf[6] == 17 {
                    return buf[..n].to_vec();
                }
            }
        })
        .await
        .expect("the datagram within the bound");
        assert_eq!(&packet[24..40], &dst.octets());
        assert!(packet.ends_with(b"hello tun"));

        // A packet written to the fd is received by the kernel.
        let rx = |h: &common::NsHandle| -> u64 {
            let out = h.ip(&["-s", "-o", "link", "show", "v6tun0"]);
            // "RX: bytes packets ..." then the numbers: the second is packets.
            let after = out.split("RX:").nth(1).unwrap_or_default();
            let nums: Vec<u64> = after
                .split(|c: char| c == '\\' || c.is_whitespace())
                .filter_map(|w| w.parse().ok())
                .collect();
            nums.get(1).copied().unwrap_or(0)
        };
        let before = rx(&h);
        let mut reply = packet.clone();
        // Swap source and destination: from the peer to us.
        let (src, dst) = (packet[8..24].to_vec(), packet[24..40].to_vec());
        reply[8..24].copy_from_slice(&dst);
        reply[24..40].copy_from_slice(&src);
        let n = tun.send(&reply).await.expect("write tun");
        assert_eq!(n, reply.len());
        assert_eq!(rx(&h), before + 1);

        // Not persistent: the device goes with the descriptor.
        drop(tun);
        let gone = std::process::Command::new("ip")
            .args(["-n", &h.name, "link", "show", "v6tun0"])
            .output()
            .expect("ip");
        assert!(!gone.status.success());
    });
    drop(ns);
}
