#!/usr/bin/env python3
"""mip6-mn.py - a scripted Mobile IPv6 mobile node for tests of v6edge's
home agent, written independently of v6edge's codecs (RFC 6275 §6.1,
§6.3, §9.5; RFC 4285 §5-§6): it builds Binding Updates byte by byte,
authenticates them with HMAC-SHA1 and sends them with a Home Address
option through a raw IPv6 socket; it reads the home agent's answers on a
packet socket (the kernel here has no MIP6 and would drop them).

  bu --coa A --ha H --hoa X --spi S --key-file F --seq N --lifetime SECS
     [--wrong-key] [--timestamp-offset SECS] [--bad-checksum]
     [--no-replay] [--no-auth] [--repeat N] [--resync]
     [--iface IF] [--timeout SECS]
      prints one JSON line: the answer ({"type": "ba", "status": ...,
      "sequence": ..., "lifetime": ..., "authenticated": true|false,
      "refresh": Binding Refresh Advice in seconds or null, "replay": the
      BA's RFC 4285 timestamp or null} or {"type": "be", "status": ...});
      exit 1 when nothing came in time. --no-replay leaves the Replay
      Protection option out, --no-auth both RFC 4285 options (lab mode);
      --repeat sends the very same bytes N times and prints {"answers":
      [...]}, one answer (or {"type": "none"}) per copy; --resync answers a
      144 as a mobile node would (RFC 4285 §6): it takes the clock offset
      from the home agent's timestamp and sends once more with seq + 1,
      printing {"first": ..., "second": ...}.
  mh --coa A --ha H --hoa X --type T [--payload-proto P] [--header-len L]
     [--expect-icmp] [--iface IF] [--timeout SECS]
      a Mobility Header of type T with a zero body of L units, same output,
      or {"type": "parameter-problem", "code": ..., "pointer": ...} when
      an ICMPv6 error is expected (a Payload Proto other than 59).
  dhaad --coa A --anycast X --id N [--mobile-router] [--timeout SECS]
      a Home Agent Address Discovery Request (ICMPv6 144, RFC 6275 §6.5,
      R flag of RFC 3963 §4.2) from A to the home-agents anycast address
      X; prints {"type": "dhaad-reply", "src": ..., "id": ..., "r": ...,
      "home_agents": [...]} for the first 145 with that identifier, or
      {"type": "none"}.
  flood --coa A --ha H --hoa X --count N [--seed S]
      N malformed Mobility Header / Home Address option packets to H, a
      seeded mix (bad checksum, unknown MH type, Payload Proto 58, short
      Header Len, truncated or doubled HAO, BUs with garbage options or
      under a Type 2 Routing Header, MH without HAO); prints {"sent": N, "seconds": ...}.
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


def binding_update(args, key, timestamp_offset=None):
    """MH header + BU body + PadN + Replay Protection (8n+2) + Pad1 + MN-HA
    auth (4n+1): 48 octets, offsets worked out by hand from RFC 6275 §6.2
    and RFC 4285 §5. Without the replay option: Pad1 + auth, 32 octets;
    without either (lab mode): PadN to 16."""
    coa, hoa, ha = a(args.coa), a(args.hoa), a(args.ha)
    flags = 0x8000 | 0x4000  # A, H
    body = struct.pack("!HHH", args.seq, flags, args.lifetime // 4)
    offset = args.timestamp_offset if timestamp_offset is None else timestamp_offset
    auth_head = bytes([9, 17, 1]) + struct.pack("!I", args.spi)
    if getattr(args, "no_auth", False):
        options, header_len, want = bytes([1, 2, 0, 0]), 1, 16  # PadN to 16
    elif getattr(args, "no_replay", False):
        options, header_len, want = bytes([0]) + auth_head, 3, 20  # 12 -> 13 (4n+1)
    else:
        pad_n = bytes([1, 4, 0, 0, 0, 0])  # 12 -> 18
        replay = bytes([10, 8]) + struct.pack("!Q", ntp_now(offset))  # 18..28
        pad1 = bytes([0])  # 28 -> 29
        options, header_len, want = pad_n + replay + pad1 + auth_head, 5, 36
    mh = bytearray(bytes([NH_NONE, header_len, 5, 0, 0, 0]) + body + options)
    assert len(mh) == want
    if not getattr(args, "no_auth", False):
        mh += hmac.new(key, coa + hoa + bytes(mh), hashlib.sha1).digest()[:12]
    assert len(mh) == 8 * (header_len + 1)
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
            out["refresh"], out["replay"] = ba_options(mh)
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


def ba_options(mh):
    """The Binding Refresh Advice (RFC 6275 §6.2.4, seconds) and the Replay
    Protection timestamp (RFC 4285 §6) of a BA, None when absent."""
    refresh = replay = None
    i = 12
    while i < len(mh):
        t = mh[i]
        if t == 0:
            i += 1
            continue
        if i + 2 > len(mh) or i + 2 + mh[i + 1] > len(mh):
            break
        ln = mh[i + 1]
        if t == 2 and ln == 2:
            refresh = struct.unpack("!H", mh[i + 2 : i + 4])[0] * 4
        if t == 10 and ln == 8:
            replay = struct.unpack("!Q", mh[i + 2 : i + 10])[0]
        i += 2 + ln
    return refresh, replay


def read_key(path, wrong):
    digits = "".join(l.strip() for l in open(path) if not l.lstrip().startswith("#"))
    key = bytes.fromhex(digits)
    if wrong:
        key = bytes(b ^ 0xFF for b in key)
    return key


def send_bu(args, key, answer_key, packet):
    listener = wait_answer(args, key, args.seq)
    send_raw(packet, args.ha)
    return read_answer(listener, args, answer_key) or {"type": "none"}


def cmd_bu(args):
    key = read_key(args.key_file, args.wrong_key)
    good = read_key(args.key_file, False)
    if args.repeat > 1:
        # The very same bytes each time: a replay (RFC 4285 §6).
        packet = with_hao(args, binding_update(args, key))
        answers = [send_bu(args, key, good, packet) for _ in range(args.repeat)]
        print(json.dumps({"answers": answers}))
        return 0 if answers[0]["type"] != "none" else 1
    first = send_bu(args, key, good, with_hao(args, binding_update(args, key)))
    if not args.resync:
        print(json.dumps(first))
        return 0 if first["type"] != "none" else 1
    out = {"first": first, "second": None}
    if first.get("status") == 144 and first.get("replay") is not None:
        # RFC 4285 §6: the high 32 bits are the home agent's seconds; our
        # clock is off by their difference from what we sent.
        sent_secs = (ntp_now(args.timestamp_offset) >> 32) - NTP_UNIX
        skew = ((first["replay"] >> 32) - NTP_UNIX) - sent_secs
        args.seq += 1
        corrected = args.timestamp_offset + skew
        out["skew"] = skew
        out["second"] = send_bu(
            args, key, good, with_hao(args, binding_update(args, key, corrected))
        )
    print(json.dumps(out))
    return 0 if out["second"] else 1


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


def cmd_dhaad(args):
    """RFC 6275 §6.5: type 144, code 0, checksum, Identifier, then 16 bits
    whose top one is RFC 3963's R flag; the kernel fills the checksum of a
    raw ICMPv6 socket. The reply (145) repeats identifier and R flag and
    lists home agent addresses (§6.6)."""
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    s.bind((args.coa, 0))
    flags = 0x8000 if args.mobile_router else 0
    s.sendto(struct.pack("!BBHHH", 144, 0, 0, args.id, flags), (args.anycast, 0))
    deadline = time.time() + args.timeout
    while time.time() < deadline:
        r, _, _ = select.select([s], [], [], max(0.0, deadline - time.time()))
        if not r:
            break
        msg, sender = s.recvfrom(65535)
        if len(msg) < 8 or msg[0] != 145:
            continue
        ident, rflags = struct.unpack("!HH", msg[4:8])
        if ident != args.id:
            continue
        body = msg[8:]
        agents = [str(ipaddress.IPv6Address(body[i : i + 16])) for i in range(0, len(body) - 15, 16)]
        print(json.dumps({"type": "dhaad-reply", "src": sender[0].split("%")[0], "id": ident,
                          "r": bool(rflags & 0x8000), "home_agents": agents}))
        return 0
    print(json.dumps({"type": "none"}))
    return 1


def flood_packet(args, rnd):
    """One malformed packet of a seeded mix (MT-27); all to the home agent
    address from the care-of address."""
    coa, hoa, ha = a(args.coa), a(args.hoa), a(args.ha)
    kind = rnd.randrange(9)

    def mh_with(proto, hlen, mh_type, body, good_sum=True, pseudo=(hoa, ha)):
        mh = bytearray(bytes([proto, hlen, mh_type, 0, 0, 0]) + body)
        c = csum(pseudo[0], pseudo[1], IPPROTO_MH, bytes(mh))
        mh[4:6] = struct.pack("!H", c if good_sum else c ^ 0x1234)
        return bytes(mh)

    def packet(nh, payload):
        return struct.pack("!IHBB", 6 << 28, len(payload), nh, 64) + coa + ha + payload

    hao = bytes([IPPROTO_MH, 2, 1, 2, 0, 0, 201, 16]) + hoa
    if kind == 0:  # bad checksum
        return packet(NH_DSTOPTS, hao + mh_with(NH_NONE, 1, 5, bytes(10), good_sum=False))
    if kind == 1:  # unknown MH type: a Binding Error each (rate-limited)
        return packet(NH_DSTOPTS, hao + mh_with(NH_NONE, 0, 50 + rnd.randrange(150), bytes(2)))
    if kind == 2:  # Payload Proto 58: a Parameter Problem each (rate-limited)
        return packet(NH_DSTOPTS, hao + mh_with(58, 1, 5, bytes(10)))
    if kind == 3:  # Header Len below the BU's minimum
        return packet(NH_DSTOPTS, hao + mh_with(NH_NONE, 0, 5, bytes(2)))
    if kind == 4:  # truncated HAO: the option runs past the header
        return packet(NH_DSTOPTS, bytes([IPPROTO_MH, 1, 1, 2, 0, 0, 201, 16]) + hoa[:8])
    if kind == 5:  # two HAOs (RFC 6275 §6.3: at most one)
        two = bytes([IPPROTO_MH, 5, 1, 2, 0, 0, 201, 16]) + hoa + bytes([1, 4, 0, 0, 0, 0, 201, 16]) + hoa
        return packet(NH_DSTOPTS, two + mh_with(NH_NONE, 1, 5, bytes(10)))
    if kind == 6:  # a BU whose options are garbage (lengths past the end)
        body = struct.pack("!HHH", rnd.randrange(65536), 0xC000, 100) + bytes(
            rnd.randrange(256) for _ in range(10))
        return packet(NH_DSTOPTS, hao + mh_with(NH_NONE, 1, 5, body))
    if kind == 7:  # a BU under a Type 2 Routing Header (only a BA may have one)
        rh2 = bytes([IPPROTO_MH, 2, 2, 1, 0, 0, 0, 0]) + hoa
        # RFC 6275 §6.1.1: the checksum's destination is the RH2's address.
        return packet(NH_ROUTING, rh2 + mh_with(NH_NONE, 1, 5, bytes(10), pseudo=(coa, hoa)))
    # no HAO: straight to the raw MH socket, unknown type
    return packet(IPPROTO_MH, mh_with(NH_NONE, 0, 200 + rnd.randrange(50), bytes(2)))


def cmd_flood(args):
    import random

    rnd = random.Random(args.seed)
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)
    t0 = time.time()
    sent = 0
    for _ in range(args.count):
        try:
            s.sendto(flood_packet(args, rnd), (args.ha, 0))
            sent += 1
        except OSError:
            time.sleep(0.001)  # a full socket buffer: back off, keep count
    print(json.dumps({"sent": sent, "seconds": round(time.time() - t0, 3)}))
    return 0


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
            q.add_argument("--no-replay", action="store_true")
            q.add_argument("--no-auth", action="store_true")
            q.add_argument("--repeat", type=int, default=1)
            q.add_argument("--resync", action="store_true")
        else:
            q.add_argument("--type", type=int, required=True)
            q.add_argument("--payload-proto", type=int, default=NH_NONE)
            q.add_argument("--header-len", type=int, default=0)
            q.add_argument("--expect-icmp", action="store_true")
    d = sub.add_parser("dhaad")
    d.add_argument("--coa", required=True)
    d.add_argument("--anycast", required=True)
    d.add_argument("--id", type=int, default=4242)
    d.add_argument("--mobile-router", action="store_true")
    d.add_argument("--timeout", type=float, default=3.0)
    f = sub.add_parser("flood")
    f.add_argument("--coa", required=True)
    f.add_argument("--ha", required=True)
    f.add_argument("--hoa", required=True)
    f.add_argument("--count", type=int, default=20000)
    f.add_argument("--seed", type=int, default=27)
    t = sub.add_parser("tunnel-echo")
    t.add_argument("--coa", required=True)
    t.add_argument("--hoa", required=True)
    t.add_argument("--count", type=int, default=3)
    t.add_argument("--timeout", type=float, default=10.0)
    args = p.parse_args()
    commands = {"bu": cmd_bu, "mh": cmd_mh, "dhaad": cmd_dhaad, "flood": cmd_flood,
                "tunnel-echo": cmd_tunnel_echo}
    return commands[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
