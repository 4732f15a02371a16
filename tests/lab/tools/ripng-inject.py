#!/usr/bin/python3
"""A RIPng (RFC 2080) route source for benchmarks: every INTERVAL seconds,
Responses carrying COUNT /64 routes (2001:db8:<base>:<i>::/64, metric 1)
multicast to ff02::9 port 521 from port 521, hop limit 255, on IFACE, laid
out octet by octet (RFC 2080 2.1: 4-octet header, 20-octet RTEs, at most
as many per datagram as a 1500-octet link carries). Runs SECONDS, then
prints how many datagrams it sent.

  ripng-inject.py IFACE COUNT [--interval 5] [--seconds 60] [--base 0x200]
"""

import argparse
import json
import socket
import struct
import time

RTE_LEN = 20
PER_PACKET = (1500 - 40 - 8 - 4) // RTE_LEN


def packets(count, base):
    rtes = []
    for i in range(count):
        prefix = struct.pack("!HHHH", 0x2001, 0xDB8, base + i // 65536, i % 65536) + bytes(8)
        rtes.append(prefix + struct.pack("!HBB", 0, 64, 1))
    for at in range(0, len(rtes), PER_PACKET):
        yield bytes([2, 1, 0, 0]) + b"".join(rtes[at : at + PER_PACKET])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("iface")
    ap.add_argument("count", type=int)
    ap.add_argument("--interval", type=float, default=5.0)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--base", type=lambda v: int(v, 0), default=0x200)
    a = ap.parse_args()
    index = socket.if_nametoindex(a.iface)
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind(("::", 521, 0, 0))
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, index)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, 0)
    payloads = list(packets(a.count, a.base))
    sent = 0
    end = time.time() + a.seconds
    while time.time() < end:
        for p in payloads:
            s.sendto(p, ("ff02::9", 521, 0, index))
            sent += 1
        time.sleep(a.interval)
    print(json.dumps({"datagrams": sent, "routes": a.count}))


if __name__ == "__main__":
    main()
