#!/usr/bin/env python3
"""mip6-mn.py - a scripted Mobile IPv6 mobile node for tests of v6edge's
home agent, written independently of v6edge's codecs (RFC 6275 §6.1,
§6.3, §9.5; RFC 4285 §5-§6): it builds Binding Updates byte by byte,
authenticates them with HMAC-SHA1 and sends them with a Home Address
option through a raw IPv6 socket; it reads the home agent's answers on a
packet socket (the kernel here has no MIP6 and would drop them).

  bu --coa A --ha H --hoa X --spi S --key-file F --seq N --lifetime SECS
     [--wrong-key] [--timestamp-offset SECS] [--bad-checksum]
     [--iface IF] [--timeout SECS]
      prints one JSON line: the answer ({"type": "ba", "status": ...,
      "sequence": ..., "lifetime": ..., "authenticated": true|false} or
      {"type": "be", "status": ...}); exit 1 when nothing came in time.
  mh --coa A --ha H --hoa X --type T [--payload-proto P] [--header-len L]
     [--expect-icmp] [--iface IF] [--timeout SECS]
      a Mobility Header of type T with a zero body of L units, same output,
      or {"type": "parameter-problem", "code": ..., "pointer": ...} when
      an ICMPv6 error is expected (a Payload Proto other than 59).
  tunnel-echo --coa A --hoa X --count N [--timeout SECS]
      answers ICMPv6 echo requests to X that arrive in IPv6-in-IPv6 at A,
      back through the reverse tunnel to the sender; prints how many.

Only ever talks to the addresses given, which the test's namespaces own.
"""
import argparse
import hashlib
import hmac
import ipaddress
import json
import select
import socket
import struct
import sys
import time

IPPROTO_MH = 135
NH_DSTOPTS = 60
NH_ROUTING = 43
NH_NONE = 59
ETH_P_IPV6 = 0x86DD
NTP_UNIX = 2208988800


def a(s):
    return ipaddress.IPv6Address(s).packed


def csum(src, dst, nh, data):
    pseudo = src + dst + struct.pack("!I", len(data)) + b"\0\0\0" + bytes([nh])
    buf = pseudo + data
    if len(buf) % 2:
        buf += b"\0"
    s = sum(struct.unpack("!%dH" % (len(buf) // 2), buf))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ntp_now(offset):
    t = time.time() + offset
    secs = int(t) + NTP_UNIX
    frac = int((t - int(t)) * (1 << 32)) & 0xFFFFFFFF
    return (secs << 32) | frac


def binding_update(args, key):
    """MH header + BU body + PadN + Replay Protection (8n+2) + Pad1 + MN-HA
    auth (4n+1): 48 octets, offsets worked out by hand from RFC 6275 §6.2
    and RFC 4285 §5."""
    coa, hoa, ha = a(args.coa), a(args.hoa), a(args.ha)
    flags = 0x8000 | 0x4000  # A, H
    body = struct.pack("!HHH", args.seq, flags, args.lifetime // 4)
    pad_n = bytes([1, 4, 0, 0, 0, 0])  # 12 -> 18
    replay = bytes([10, 8]) + struct.pack("!Q", ntp_now(args.timestamp_offset))  # 18..28
    pad1 = bytes([0])  # 28 -> 29
    auth_head = bytes([9, 17, 1]) + struct.pack("!I", args.spi)  # 29..36
    mh = bytearray(bytes([NH_NONE, 5, 5, 0, 0, 0]) + body + pad_n + replay + pad1 + auth_head)
    assert len(mh) == 36
    mac = hmac.new(key, coa + hoa + bytes(mh), hashlib.sha1).digest()[:12]
    mh += mac
    assert len(mh) == 48
    c = csum(hoa, ha, IPPROTO_MH, bytes(mh))  # RFC 6275 §6.1.1: the HoA
    if args.bad_checksum:
        c ^= 0x5555
    mh[4:6] = struct.pack("!H", c)
    return bytes(mh)


def with_hao(args, mh):
    coa, hoa, ha = a(args.coa), a(args.hoa), a(args.ha)
    dstopts = bytes([IPPROTO_MH, 2, 1, 2, 0, 0, 201, 16]) + hoa  # PadN(4), HAO at 8n+6
    payload = dstopts + mh
    hdr = struct.pack("!IHBB", 6 << 28, len(payload), NH_DSTOPTS, 64) + coa + ha
    return hdr + payload


def send_raw(packet, dst):
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.sendto(packet, (dst, 0))
    s.close()


def wait_answer(args, key, seq):
    """Reads IPv6 packets on the interface until a BA or BE from the home
    agent arrives (RH2 to the HoA for a BA away from home)."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_IPV6))
    s.bind((args.iface, ETH_P_IPV6))
    return s


def read_answer(s, args, key):
    coa, hoa, ha = a(args.coa), a(args.hoa), a(args.ha)
    deadline = time.time() + args.timeout
    while time.time() < deadline:
        r, _, _ = select.select([s], [], [], max(0.0, deadline - time.time()))
        if not r:
            break
        pkt, addr = s.recvfrom(65535)
        if addr[2] == socket.PACKET_OUTGOING or len(pkt) < 40:
            continue
        nh, src, dst = pkt[6], pkt[8:24], pkt[24:40]
        if src != ha or dst != coa:
            continue
        off = 40
        if nh == NH_ROUTING and len(pkt) >= 64 and pkt[42] == 2:
            nh, off = pkt[40], 64
        if nh != IPPROTO_MH or len(pkt) < off + 6:
            continue
        mh = pkt[off:]
        mh_type = mh[2]
        if mh_type == 6 and len(mh) >= 12:
            status, _flags, seq, life = struct.unpack("!BBHH", mh[6:12])
            out = {"type": "ba", "status": status, "sequence": seq, "lifetime": life * 4}
            out["authenticated"] = ba_authenticated(mh, key, coa, hoa)
            return out
        if mh_type == 7 and len(mh) >= 8:
            return {"type": "be", "status": mh[6]}
    return None


def read_icmp_error(s, args):
    """Waits for an ICMPv6 Parameter Problem from the home agent."""
    coa, ha = a(args.coa), a(args.ha)
    deadline = time.time() + args.timeout
    while time.time() < deadline:
        r, _, _ = select.select([s], [], [], max(0.0, deadline - time.time()))
        if not r:
            break
        pkt, addr = s.recvfrom(65535)
        if addr[2] == socket.PACKET_OUTGOING or len(pkt) < 48:
            continue
        # Code 2 (unrecognised option) is the home agent's kernel: without
        # MIP6 it answers every Home Address option so (mobility.md §2.1)
        # while v6edge takes the packet from its capture; not v6edge's.
        if pkt[6] == 58 and pkt[8:24] == ha and pkt[24:40] == coa and pkt[40] == 4 and pkt[41] != 2:
            return {"type": "parameter-problem", "code": pkt[41],
                    "pointer": struct.unpack("!I", pkt[44:48])[0]}
    return None


def ba_authenticated(mh, key, coa, hoa):
    """Walks the BA's options for the MN-HA authentication option and checks
    its authenticator (RFC 4285 §5: CoA | HoA | MH up to the SPI)."""
    i = 12
    while i < len(mh):
        t = mh[i]
        if t == 0:
            i += 1
            continue
        if i + 2 > len(mh):
            return False
        ln = mh[i + 1]
        if t == 9 and ln >= 17 and mh[i + 2] == 1:
            covered = bytearray(mh[: i + 7])
            covered[4:6] = b"\0\0"
            want = hmac.new(key, coa + hoa + bytes(covered), hashlib.sha1).digest()[:12]
            return mh[i + 7 : i + 19] == want
        i += 2 + ln
    return False


def read_key(path, wrong):
    digits = "".join(l.strip() for l in open(path) if not l.lstrip().startswith("#"))
    key = bytes.fromhex(digits)
    if wrong:
        key = bytes(b ^ 0xFF for b in key)
    return key


def cmd_bu(args):
    key = read_key(args.key_file, args.wrong_key)
    listener = wait_answer(args, key, args.seq)
    send_raw(with_hao(args, binding_update(args, key)), args.ha)
    ans = read_answer(listener, args, read_key(args.key_file, False))
    if ans is None:
        print(json.dumps({"type": "none"}))
        return 1
    print(json.dumps(ans))
    return 0


def cmd_mh(args):
    key = b"\0" * 16
    mh = bytearray(bytes([args.payload_proto, args.header_len, args.type, 0, 0, 0, 0, 0]))
    mh += bytes(8 * args.header_len)
    c = csum(a(args.hoa), a(args.ha), IPPROTO_MH, bytes(mh))
    mh[4:6] = struct.pack("!H", c)
    listener = wait_answer(args, key, 0)
    send_raw(with_hao(args, bytes(mh)), args.ha)
    if args.payload_proto != NH_NONE or args.expect_icmp:
        ans = read_icmp_error(listener, args)
    else:
        ans = read_answer(listener, args, key)
    print(json.dumps(ans or {"type": "none"}))
    return 0 if ans else 1


def cmd_tunnel_echo(args):
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, 41)
    s.bind((args.coa, 0))
    hoa = a(args.hoa)
    answered = 0
    deadline = time.time() + args.timeout
    while answered < args.count and time.time() < deadline:
        r, _, _ = select.select([s], [], [], max(0.0, deadline - time.time()))
        if not r:
            break
        inner, sender = s.recvfrom(65535)
        if len(inner) < 48 or inner[6] != 58 or inner[24:40] != hoa or inner[40] != 128:
            continue
        src = inner[8:24]
        icmp = bytearray(inner[40:])
        icmp[0], icmp[2:4] = 129, b"\0\0"
        icmp[2:4] = struct.pack("!H", csum(hoa, src, 58, bytes(icmp)))
        reply = struct.pack("!IHBB", 6 << 28, len(icmp), 58, 64) + hoa + src + bytes(icmp)
        s.sendto(reply, (sender[0], 0))
        answered += 1
    print(answered)
    return 0 if answered == args.count else 1


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("bu", "mh"):
        q = sub.add_parser(name)
        q.add_argument("--coa", required=True)
        q.add_argument("--ha", required=True)
        q.add_argument("--hoa", required=True)
        q.add_argument("--iface", default="eth0")
        q.add_argument("--timeout", type=float, default=3.0)
        if name == "bu":
            q.add_argument("--spi", type=int, required=True)
            q.add_argument("--key-file", required=True)
            q.add_argument("--seq", type=int, required=True)
            q.add_argument("--lifetime", type=int, default=400)
            q.add_argument("--wrong-key", action="store_true")
            q.add_argument("--timestamp-offset", type=float, default=0.0)
            q.add_argument("--bad-checksum", action="store_true")
        else:
            q.add_argument("--type", type=int, required=True)
            q.add_argument("--payload-proto", type=int, default=NH_NONE)
            q.add_argument("--header-len", type=int, default=0)
            q.add_argument("--expect-icmp", action="store_true")
    t = sub.add_parser("tunnel-echo")
    t.add_argument("--coa", required=True)
    t.add_argument("--hoa", required=True)
    t.add_argument("--count", type=int, default=3)
    t.add_argument("--timeout", type=float, default=10.0)
    args = p.parse_args()
    return {"bu": cmd_bu, "mh": cmd_mh, "tunnel-echo": cmd_tunnel_echo}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
