#!/usr/bin/python3
"""Binding Updates built with Scapy's Mobile IPv6 layers, for a home agent.

Independent of v6edge and of mip6-mn.py: the Binding Update, its Home
Address option, the Alternate Care-of Address, the RFC 4285 replay
protection and MN-HA authentication options and the Mobility Header
checksum (over the home address, RFC 6275 6.1.1) are Scapy's
(scapy.layers.inet6: MIP6MH_BU, HAO, MIP6OptAltCoA, MIP6OptReplayProtection,
MIP6OptMsgAuth, MIP6MH_Generic); this tool only computes the RFC 4285 5.1
authenticator (HMAC-SHA1 over care-of address | home address | the Mobility
Header up to the SPI, checksum zero) and writes it into Scapy's option.

The packet leaves on a raw IPPROTO_RAW socket; the answer (a Binding
Acknowledgement with a Type 2 Routing Header, which this kernel drops before
any socket, a Binding Error, or an ICMPv6 error) is read from an AF_PACKET
socket on --iface and decoded by Scapy. Prints one JSON object:
{"type": "ba"|"be"|"parameter-problem"|"none", "status": N, "seq": N}.

  mip6-scapy.py bu --iface eth0 --coa C --ha H --hoa A --spi 1000 --key-file K
      --seq N --lifetime UNITS [--alt-coa C2] [--wrong-key] [--age SECONDS]
      [--bad-checksum] [--mh-type T] [--times N] [--wait S]
"""

import argparse
import hashlib
import hmac
import json
import socket
import struct
import sys
import time

from scapy.layers.inet6 import (
    HAO,
    ICMPv6ParamProblem,
    IPv6,
    IPv6ExtHdrDestOpt,
    MIP6MH_BA,
    MIP6MH_BE,
    MIP6MH_BU,
    MIP6MH_Generic,
    MIP6OptAltCoA,
    MIP6OptMsgAuth,
    MIP6OptReplayProtection,
)

ETH_P_IPV6 = 0x86DD
NTP_UNIX_OFFSET = 2208988800
# RFC 6275 6.1.7: the fixed part of a Binding Update (MH header 6 octets,
# sequence, flags, lifetime); options follow.
BU_OPTIONS_AT = 12
MN_HA_AUTH = 9


def ntp(age):
    t = time.time() - age + NTP_UNIX_OFFSET
    return (int(t) << 32) | int((t % 1) * (1 << 32))


def read_key(path, wrong):
    digits = "".join(l.strip() for l in open(path) if not l.lstrip().startswith("#"))
    key = bytes.fromhex(digits)
    return bytes(b ^ 0xFF for b in key) if wrong else key


def auth_option_at(mh):
    """Offset of the MN-HA authentication option in Mobility Header bytes."""
    i = BU_OPTIONS_AT
    while i < len(mh):
        if mh[i] == 0:
            i += 1
            continue
        if mh[i] == MN_HA_AUTH:
            return i
        i += 2 + mh[i + 1]
    raise SystemExit("no authentication option in Scapy's bytes")


def build(args, key):
    coa, alt = args.coa, args.alt_coa or args.coa
    options = [
        MIP6OptAltCoA(acoa=alt),
        MIP6OptReplayProtection(timestamp=ntp(args.age)),
        MIP6OptMsgAuth(mspi=args.spi, authdata=b"\0" * 12),
    ]
    if args.mh_type is not None:
        # An MH type no RFC defines, with Scapy's generic layer.
        # 16 octets: a Mobility Header is whole 8-octet units (RFC 6275 6.1).
        mh = MIP6MH_Generic(mhtype=args.mh_type, msg=b"\0" * 10)
        packet = IPv6(src=coa, dst=args.ha) / IPv6ExtHdrDestOpt(options=[HAO(hoa=args.hoa)]) / mh
        return bytes(packet)
    mh = MIP6MH_BU(seq=args.seq, flags="AH", mhtime=args.lifetime, options=options, cksum=0)
    covered = bytes(mh)
    at = auth_option_at(covered)
    # RFC 4285 5.1: up to and including the SPI (type, length, subtype,
    # 4-octet SPI), checksum zero; the care-of address is the one the BU
    # registers (the Alternate Care-of Address).
    mac = hmac.new(key, socket.inet_pton(socket.AF_INET6, alt)
                   + socket.inet_pton(socket.AF_INET6, args.hoa)
                   + covered[: at + 7], hashlib.sha1).digest()[:12]
    options[2] = MIP6OptMsgAuth(mspi=args.spi, authdata=mac)
    mh = MIP6MH_BU(seq=args.seq, flags="AH", mhtime=args.lifetime, options=options)
    packet = IPv6(src=coa, dst=args.ha) / IPv6ExtHdrDestOpt(options=[HAO(hoa=args.hoa)]) / mh
    wire = bytearray(bytes(packet))  # Scapy fills the checksum over the HoA
    if args.bad_checksum:
        mh_at = len(wire) - len(bytes(mh))
        wire[mh_at + 4] ^= 0x55
    return bytes(wire)


def answer(sock, args, deadline, kernel):
    """The home agent's answer to us, decoded by Scapy. Parameter Problems
    code 2 (its kernel about the Home Address option) are counted in
    kernel[0] and skipped."""
    while time.time() < deadline:
        sock.settimeout(max(0.01, deadline - time.time()))
        try:
            data = sock.recv(65535)
        except socket.timeout:
            break
        p = IPv6(data)
        if p.src != args.ha or p.dst not in (args.coa, args.hoa):
            continue
        if p.haslayer(MIP6MH_BA):
            ba = p[MIP6MH_BA]
            return {"type": "ba", "status": ba.status, "seq": ba.seq}
        if p.haslayer(MIP6MH_BE):
            return {"type": "be", "status": p[MIP6MH_BE].status}
        if p.haslayer(ICMPv6ParamProblem):
            pp = p[ICMPv6ParamProblem]
            if pp.code == 2:
                # A kernel without MIP6 answers a Home Address option so
                # (mobility.md 2.1) unless the home agent silenced it; the
                # daemon's answer follows.
                kernel[0] += 1
                continue
            return {"type": "parameter-problem", "code": pp.code, "pointer": pp.ptr}
    return {"type": "none"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("command", choices=["bu"])
    ap.add_argument("--iface", required=True)
    ap.add_argument("--coa", required=True)
    ap.add_argument("--alt-coa")
    ap.add_argument("--ha", required=True)
    ap.add_argument("--hoa", required=True)
    ap.add_argument("--spi", type=int, required=True)
    ap.add_argument("--key-file", required=True)
    ap.add_argument("--seq", type=int, default=1)
    ap.add_argument("--lifetime", type=int, default=100, help="4-second units")
    ap.add_argument("--wrong-key", action="store_true")
    ap.add_argument("--age", type=float, default=0.0, help="timestamp this many seconds old")
    ap.add_argument("--bad-checksum", action="store_true")
    ap.add_argument("--mh-type", type=int)
    ap.add_argument("--times", type=int, default=1, help="send the same octets N times")
    ap.add_argument("--wait", type=float, default=2.0)
    args = ap.parse_args()

    wire = build(args, read_key(args.key_file, args.wrong_key))
    rx = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_IPV6))
    rx.bind((args.iface, 0))
    tx = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)
    answers = []
    kernel = [0]
    for _ in range(args.times):
        tx.sendto(wire, (args.ha, 0))
        answers.append(answer(rx, args, time.time() + args.wait, kernel))
    out = dict(answers[0])
    out["answers"] = [a["type"] for a in answers]
    out["kernel_parameter_problems"] = kernel[0]
    print(json.dumps(out))


if __name__ == "__main__":
    sys.exit(main())
