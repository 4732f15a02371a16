#!/usr/bin/python3
"""A Dual-Stack MIPv6 mobile node stand-in (RFC 5555) for testing a home
agent from an IPv4-only link, possibly behind a NAT.

Independent of v6edge: the Binding Update is laid out here octet by octet
(Scapy has no layers for the DSMIPv6 options 29-32), with the IPv4 Care-of
Address option (32), optionally an IPv4 Home Address Request (29, address
0.0.0.0: assign one), RFC 4285 replay protection and MN-HA authentication
(HMAC-SHA1 over the IPv4-mapped care-of address | home address | the
Mobility Header up to the SPI, checksum zero) and the Mobility Header
checksum over the home address and the home agent. It goes as an IPv6
packet in UDP to the home agent's port 4191 (RFC 5555 4.1, non-TLV); the
answer is decoded by Scapy (MIP6MH_BA), its options here.

Then, for --serve seconds, it answers echo requests that reach it in UDP:
ICMPv6 to the home address and ICMP to the IPv4 home address, the replies
built by Scapy and sent back in UDP. Prints one JSON object per line: the
registration, then the counts.

  dsmip-mn.py --ha-v4 A --ha H --hoa A6 --coa-v4 C --spi N --key-file K
      [--seq N] [--lifetime UNITS] [--ipv4-home] [--serve SECONDS]
"""

import argparse
import hashlib
import hmac
import ipaddress
import json
import socket
import struct
import sys
import time

from scapy.layers.inet import ICMP, IP
from scapy.layers.inet6 import ICMPv6EchoReply, ICMPv6EchoRequest, IPv6, MIP6MH_BA

NTP_UNIX_OFFSET = 2208988800
PORT = 4191
FLAG_A, FLAG_H, FLAG_F = 0x8000, 0x4000, 0x0100


def ntp():
    t = time.time() + NTP_UNIX_OFFSET
    return (int(t) << 32) | int((t % 1) * (1 << 32))


def read_key(path):
    digits = "".join(l.strip() for l in open(path) if not l.lstrip().startswith("#"))
    return bytes.fromhex(digits)


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def v6(a):
    return socket.inet_pton(socket.AF_INET6, a)


def binding_update(args, key):
    options = struct.pack("!BBH4s", 32, 6, 0, socket.inet_aton(args.coa_v4))
    if args.ipv4_home:
        options += struct.pack("!BBH4s", 29, 6, 0, b"\0\0\0\0")
    options += struct.pack("!BBQ", 10, 8, ntp())
    # The authentication option (type 9, length 17: subtype 1, SPI, 12
    # octets of authenticator) last; PadN before it makes the whole a
    # multiple of 8 octets (RFC 6275 6.1).
    fixed = 12
    pad = (-(fixed + len(options) + 19)) % 8
    if pad == 1:
        options += b"\0"
    elif pad:
        options += struct.pack("!BB", 1, pad - 2) + b"\0" * (pad - 2)
    auth_at = fixed + len(options)
    flags = FLAG_A | FLAG_H | FLAG_F
    length = fixed + len(options) + 19
    header = struct.pack("!BBBBH", 59, length // 8 - 1, 5, 0, 0)
    body = struct.pack("!HHH", args.seq, flags, args.lifetime)
    auth = struct.pack("!BBBI", 9, 17, 1, args.spi)
    mh = bytearray(header + body + options + auth + b"\0" * 12)
    mapped = v6("::ffff:" + args.coa_v4)
    mac = hmac.new(key, mapped + v6(args.hoa) + bytes(mh[: auth_at + 7]), hashlib.sha1).digest()[:12]
    mh[auth_at + 7 : auth_at + 19] = mac
    pseudo = v6(args.hoa) + v6(args.ha) + struct.pack("!IxxxB", len(mh), 135)
    mh[4:6] = struct.pack("!H", checksum(pseudo + bytes(mh)))
    ip6 = struct.pack("!IHBB", 0x60000000, len(mh), 135, 64) + v6(args.hoa) + v6(args.ha)
    return ip6 + bytes(mh)


def ba_options(mh):
    """The options of a BA's Mobility Header bytes (type -> data)."""
    found, i = {}, 12
    while i < len(mh):
        if mh[i] == 0:
            i += 1
            continue
        if i + 2 > len(mh):
            break
        kind, n = mh[i], mh[i + 1]
        found[kind] = mh[i + 2 : i + 2 + n]
        i += 2 + n
    return found


def register(sock, args, key):
    sock.sendto(binding_update(args, key), (args.ha_v4, PORT))
    deadline = time.time() + args.wait
    while time.time() < deadline:
        sock.settimeout(max(0.01, deadline - time.time()))
        try:
            data, src = sock.recvfrom(65535)
        except socket.timeout:
            break
        p = IPv6(data)
        if not p.haslayer(MIP6MH_BA):
            continue
        ba = p[MIP6MH_BA]
        mh = data[40:]
        opts = ba_options(mh)
        out = {"type": "ba", "status": ba.status, "seq": ba.seq, "from": "%s:%d" % src,
               "src": p.src, "dst": p.dst}
        if 31 in opts:
            flags, refresh = struct.unpack("!HI", opts[31][:6])
            out["nat_detection"] = {"force_udp": bool(flags & 0x8000), "refresh": refresh}
        if 30 in opts:
            status, plen = opts[30][0], opts[30][1] >> 2
            out["ipv4_ack"] = {"status": status, "prefix_len": plen,
                               "address": socket.inet_ntoa(opts[30][2:6])}
        return out
    return {"type": "none"}


def serve(sock, args, v4_home, seconds):
    counts = {"echo6": 0, "echo4": 0, "other": 0}
    deadline = time.time() + seconds
    while time.time() < deadline:
        sock.settimeout(max(0.01, deadline - time.time()))
        try:
            data, src = sock.recvfrom(65535)
        except socket.timeout:
            break
        reply = None
        if data and data[0] >> 4 == 6:
            p = IPv6(data)
            if p.dst == args.hoa and p.haslayer(ICMPv6EchoRequest):
                q = p[ICMPv6EchoRequest]
                reply = bytes(IPv6(src=args.hoa, dst=p.src) / ICMPv6EchoReply(id=q.id, seq=q.seq, data=q.data))
                counts["echo6"] += 1
        elif data and data[0] >> 4 == 4:
            p = IP(data)
            if v4_home and p.dst == v4_home and p.haslayer(ICMP) and p[ICMP].type == 8:
                q = p[ICMP]
                reply = bytes(IP(src=v4_home, dst=p.src) / ICMP(type=0, id=q.id, seq=q.seq) / bytes(q.payload))
                counts["echo4"] += 1
        if reply is None:
            counts["other"] += 1
            continue
        sock.sendto(reply, (args.ha_v4, PORT))
    return counts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ha-v4", required=True)
    ap.add_argument("--ha", required=True)
    ap.add_argument("--hoa", required=True)
    ap.add_argument("--coa-v4", required=True)
    ap.add_argument("--spi", type=int, required=True)
    ap.add_argument("--key-file", required=True)
    ap.add_argument("--seq", type=int, default=1)
    ap.add_argument("--lifetime", type=int, default=100, help="4-second units")
    ap.add_argument("--ipv4-home", action="store_true")
    ap.add_argument("--wait", type=float, default=4.0)
    ap.add_argument("--serve", type=float, default=0.0)
    args = ap.parse_args()
    key = read_key(args.key_file)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("0.0.0.0", 0))
    answer = register(sock, args, key)
    print(json.dumps(answer), flush=True)
    if args.serve > 0 and answer.get("type") == "ba" and answer.get("status") == 0:
        v4_home = answer.get("ipv4_ack", {}).get("address")
        print(json.dumps(serve(sock, args, v4_home, args.serve)), flush=True)


if __name__ == "__main__":
    sys.exit(main())
