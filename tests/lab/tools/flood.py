#!/usr/bin/python3
"""flood.py - a bounded packet flood from many made-up hosts on one link.

Usage: flood.py IFACE MODE [--seconds S] [--max-packets N] [--rate PPS]
                           [--sources K] [--seed X] [--target ADDR]

Runs inside a test namespace and writes Ethernet frames on IFACE (AF_PACKET),
each from a random locally administered MAC and the link-local address made
from it, like the hosts an attacker on a customer link can fake. MODE:

  dhcp6   Solicits and Requests (IA_NA + IA_PD, DUID-LL of the fake MAC) to
          ff02::1:2, UDP 546 -> 547 (RFC 8415 §7.1)
  rs      Router Solicitations to ff02::2, half with a Source Link-Layer
          Address option (RFC 4861 §4.1)
  ra      Router Advertisements to ff02::1 from fake routers, each with a
          different hop limit, flags and MTU, so every one is "inconsistent"
          with ours (RFC 4861 §6.2.7)
  ns      Neighbor Solicitations for --target (our router's address) with a
          Source Link-Layer Address option: every one makes the target's kernel
          create a neighbour entry, i.e. a netlink neighbour event

Bounded: stops after --seconds (default 10) or --max-packets (default
2,000,000), whichever comes first; --rate 0 (default) sends as fast as the
socket takes them. Prints one line: "sent N packets in S s (R/s)".

Only the link IFACE is written to; every destination is link-local multicast
or the --target on that link.
"""
import argparse
import os
import random
import socket
import struct
import sys
import time

ETH_P_IPV6 = 0x86DD


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return (~total) & 0xFFFF


def link_local(mac: bytes) -> bytes:
    eui = bytes([mac[0] ^ 0x02]) + mac[1:3] + b"\xff\xfe" + mac[3:6]
    return b"\xfe\x80" + b"\0" * 6 + eui


def multicast_mac(dst: bytes) -> bytes:
    return b"\x33\x33" + dst[12:16]


def ipv6_frame(src_mac, dst_mac, src, dst, next_header, payload, hop_limit):
    header = struct.pack("!IHBB", 6 << 28, len(payload), next_header, hop_limit) + src + dst
    return dst_mac + src_mac + struct.pack("!H", ETH_P_IPV6) + header + payload


def pseudo_header(src, dst, length, next_header):
    return src + dst + struct.pack("!I3xB", length, next_header)


def udp(src, dst, sport, dport, body):
    length = 8 + len(body)
    head = struct.pack("!HHHH", sport, dport, length, 0)
    csum = checksum(pseudo_header(src, dst, length, 17) + head + body) or 0xFFFF
    return struct.pack("!HHHH", sport, dport, length, csum) + body


def icmp6(src, dst, body):
    csum = checksum(pseudo_header(src, dst, len(body), 58) + body)
    return body[:2] + struct.pack("!H", csum) + body[4:]


def option(code, data):
    return struct.pack("!HH", code, len(data)) + data


def dhcp6_body(rng, mac, msg_type):
    xid = rng.getrandbits(24).to_bytes(3, "big")
    duid = struct.pack("!HH", 3, 1) + mac            # DUID-LL, Ethernet
    iaid = rng.getrandbits(32)
    ia_na = option(3, struct.pack("!III", iaid, 0, 0))
    ia_pd = option(25, struct.pack("!III", iaid, 0, 0) + option(26, struct.pack("!IIB", 0, 0, 56) + b"\0" * 16))
    opts = option(1, duid) + option(8, b"\0\0") + ia_na + ia_pd + option(6, struct.pack("!HH", 23, 24))
    if msg_type == 3:                                 # a Request names some server
        opts += option(2, struct.pack("!HH", 3, 1) + bytes(rng.getrandbits(8) for _ in range(6)))
    return bytes([msg_type]) + xid + opts


def build(mode, rng, target, router_mac):
    mac = bytes([(rng.getrandbits(8) & 0xFC) | 0x02]) + bytes(rng.getrandbits(8) for _ in range(5))
    src = link_local(mac)
    if mode == "dhcp6":
        dst = socket.inet_pton(socket.AF_INET6, "ff02::1:2")
        body = dhcp6_body(rng, mac, rng.choice((1, 3)))
        return ipv6_frame(mac, multicast_mac(dst), src, dst, 17, udp(src, dst, 546, 547, body), 1)
    if mode == "rs":
        dst = socket.inet_pton(socket.AF_INET6, "ff02::2")
        body = struct.pack("!BBHI", 133, 0, 0, 0)
        if rng.random() < 0.5:
            body += bytes([1, 1]) + mac
        return ipv6_frame(mac, multicast_mac(dst), src, dst, 58, icmp6(src, dst, body), 255)
    if mode == "ra":
        dst = socket.inet_pton(socket.AF_INET6, "ff02::1")
        hop = rng.randrange(1, 255)
        flags = rng.choice((0x80, 0x40, 0xC0, 0))
        body = struct.pack("!BBHBBHII", 134, 0, 0, hop, flags, 0, rng.randrange(1, 3600000), rng.randrange(1, 3600000))
        body += bytes([5, 1, 0, 0]) + struct.pack("!I", rng.randrange(1280, 9000))   # MTU
        body += bytes([1, 1]) + mac
        return ipv6_frame(mac, multicast_mac(dst), src, dst, 58, icmp6(src, dst, body), 255)
    if mode == "ns":
        # Solicited-node multicast of the target (RFC 4291 §2.7.1).
        dst = socket.inet_pton(socket.AF_INET6, "ff02::1:ff00:0")[:13] + target[13:]
        body = struct.pack("!BBHI", 135, 0, 0, 0) + target + bytes([1, 1]) + mac
        return ipv6_frame(mac, multicast_mac(dst), src, dst, 58, icmp6(src, dst, body), 255)
    raise ValueError(mode)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("iface")
    ap.add_argument("mode", choices=("dhcp6", "rs", "ra", "ns"))
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--max-packets", type=int, default=2_000_000)
    ap.add_argument("--rate", type=float, default=0.0)
    ap.add_argument("--sources", type=int, default=20000, help="distinct fake hosts (frames prebuilt)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--target", default="::")
    args = ap.parse_args()
    if args.seconds <= 0 or args.seconds > 600 or args.max_packets <= 0:
        sys.exit("flood.py: --seconds must be in (0, 600] and --max-packets positive")
    rng = random.Random(args.seed)
    target = socket.inet_pton(socket.AF_INET6, args.target)
    frames = [build(args.mode, rng, target, None) for _ in range(max(1, min(args.sources, 200000)))]
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IPV6))
    sock.bind((args.iface, ETH_P_IPV6))
    start = time.monotonic()
    deadline = start + args.seconds
    sent = 0
    gap = 1.0 / args.rate if args.rate > 0 else 0.0
    next_at = start
    n = len(frames)
    while sent < args.max_packets:
        if sent % 256 == 0:
            now = time.monotonic()
            if now >= deadline:
                break
        if gap:
            now = time.monotonic()
            if now < next_at:
                time.sleep(min(next_at - now, 0.01))
                continue
            next_at += gap
        try:
            sock.send(frames[sent % n])
        except OSError:
            # A full device queue (ENOBUFS): the flood is at its limit.
            time.sleep(0.0005)
            continue
        sent += 1
    elapsed = time.monotonic() - start
    print(f"sent {sent} packets in {elapsed:.1f} s ({sent / max(elapsed, 1e-9):.0f}/s)", flush=True)


if __name__ == "__main__":
    main()
