#!/usr/bin/python3
"""dhcp6-probe.py - a scripted DHCPv6 client for lab tests.

v6edge's copy of ../shared/lab/tools/dhcp6-probe.py, extended with --bad KIND
(more kinds of malformed or forbidden Solicit) and the decoded options of an
answer to one.

Builds messages with scapy (Debian package python3-scapy, for the system
python3) and moves them over a plain UDP socket bound to the interface's
link-local address, so no raw sockets or packet capture are needed.

    dhcp6-probe.py IFACE [--pd LEN] [--na] [--request] [--timeout S]
                   [--duid HEX] [--bad-option | --bad KIND]

Sends a Solicit (IA_PD with a prefix-length hint LEN and/or IA_NA) to
ff02::1:2 on IFACE, prints the Advertise; with --request sends a Request for
what was advertised and prints the Reply.  --bad-option sends instead a
Solicit whose IA_PD option length overruns the message and reports whether
anything came back.  --bad KIND sends one of these instead (RFC 8415 §16
says a server discards each of them):

    ia-pd-overrun   the IA_PD option's length overruns the message (= --bad-option)
    short           3 bytes: a message type and half a transaction ID
    no-client-id    a Solicit without Client Identifier (§16.2)
    with-server-id  a Solicit carrying a Server Identifier (§16.2)

Output lines are "key value" so shell scripts can grep
them:

    advertise-from fe80::...
    server-duid 0001...
    ia-pd iaid 1cc93833 t1 1800 t2 2880
    ia-pd-prefix 2001:db8:8000::/56 pltime 3000 vltime 4000
    ia-na iaid ... / ia-na-addr 2001:db8:0:1::100 pltime 3000 vltime 4000
    status <code> <message>
    reply-from fe80::...
    timeout advertise
    no-answer-to-malformed | answer-to-malformed-from <addr> <summary>
      (followed by the answer's options, as for an Advertise)

Exit status: 0 when every expected answer arrived (or, with --bad-option, when
nothing came back), 1 otherwise.
"""
import argparse
import random
import socket
import struct
import sys

from scapy.layers.dhcp6 import (DHCP6_Advertise, DHCP6_Reply, DHCP6_Request,
                                DHCP6_Solicit, DHCP6OptClientId,
                                DHCP6OptElapsedTime, DHCP6OptIA_NA,
                                DHCP6OptIA_PD, DHCP6OptIAAddress,
                                DHCP6OptIAPrefix, DHCP6OptServerId,
                                DHCP6OptStatusCode, DUID_LL)
from scapy.layers.inet import UDP
from scapy.packet import NoPayload, Raw

ALL_DHCP = "ff02::1:2"


def link_local(iface):
    """First link-local address of iface, from /proc/net/if_inet6."""
    with open("/proc/net/if_inet6") as f:
        for line in f:
            hexaddr, _idx, _plen, scope, _flags, name = line.split()
            if name == iface and scope == "20":
                return socket.inet_ntop(socket.AF_INET6, bytes.fromhex(hexaddr))
    raise SystemExit("no link-local address on %s" % iface)


def parse(data):
    """Decode a DHCPv6 message the way scapy decodes it after UDP port 546."""
    return UDP(bytes(UDP(sport=547, dport=546) / Raw(data))).payload


def exchange(sock, ifindex, payload, want, timeout):
    """Send payload to ff02::1:2%iface, wait for a message of class want."""
    sock.sendto(payload, (ALL_DHCP, 547, 0, ifindex))
    sock.settimeout(timeout)
    trid = int.from_bytes(payload[1:4], "big")
    try:
        while True:
            data, peer = sock.recvfrom(4096)
            msg = parse(data)
            if isinstance(msg, want) and msg.trid == trid:
                return msg, peer[0]
    except socket.timeout:
        return None, None


def print_option(opt):
    if isinstance(opt, DHCP6OptIAPrefix):
        print("ia-pd-prefix %s/%d pltime %d vltime %d"
              % (opt.prefix, opt.plen, opt.preflft, opt.validlft))
    elif isinstance(opt, DHCP6OptIAAddress):
        print("ia-na-addr %s pltime %d vltime %d" % (opt.addr, opt.preflft, opt.validlft))
    elif isinstance(opt, DHCP6OptStatusCode):
        print("status %d %s" % (opt.statuscode, opt.statusmsg.decode(errors="replace")))


def report(msg):
    """Print the interesting options of an Advertise or Reply."""
    opt = msg.payload
    while not isinstance(opt, NoPayload):
        if isinstance(opt, DHCP6OptServerId):
            print("server-duid", bytes(opt.duid).hex())
        elif isinstance(opt, DHCP6OptIA_PD):
            print("ia-pd iaid %08x t1 %d t2 %d" % (opt.iaid, opt.T1, opt.T2))
            for sub in opt.iapdopt:
                print_option(sub)
        elif isinstance(opt, DHCP6OptIA_NA):
            print("ia-na iaid %08x t1 %d t2 %d" % (opt.iaid, opt.T1, opt.T2))
            for sub in opt.ianaopt:
                print_option(sub)
        else:
            print_option(opt)
        opt = opt.payload


BAD_KINDS = ("ia-pd-overrun", "short", "no-client-id", "with-server-id")


def bad_message(kind, client_id, iaid):
    """The bytes of a Solicit a server must discard (RFC 8415 §16, §16.2)."""
    trid = random.randrange(2**24)
    hint = DHCP6OptIA_PD(iaid=iaid, iapdopt=[DHCP6OptIAPrefix(prefix="::", plen=56)])
    if kind == "ia-pd-overrun":
        # Solicit whose IA_PD option claims 200 bytes but carries 12.
        good = bytes(DHCP6_Solicit(trid=trid) / client_id / DHCP6OptElapsedTime())
        return good + struct.pack("!HH", 25, 200) + struct.pack("!III", iaid, 0, 0)
    if kind == "short":
        # Shorter than the 4-byte message header.
        return bytes([1, trid >> 16 & 0xff, trid >> 8 & 0xff])
    if kind == "no-client-id":
        return bytes(DHCP6_Solicit(trid=trid) / DHCP6OptElapsedTime() / hint)
    if kind == "with-server-id":
        server = DHCP6OptServerId(duid=DUID_LL(lladdr="02:00:00:00:5e:01"))
        return bytes(DHCP6_Solicit(trid=trid) / client_id / server / DHCP6OptElapsedTime() / hint)
    raise ValueError(kind)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("iface")
    ap.add_argument("--pd", type=int, metavar="LEN", help="ask for a prefix (length hint)")
    ap.add_argument("--na", action="store_true", help="ask for an address")
    ap.add_argument("--request", action="store_true", help="complete with Request/Reply")
    ap.add_argument("--timeout", type=float, default=3.0)
    ap.add_argument("--duid", help="client DUID as hex (default: DUID-LL, random MAC)")
    ap.add_argument("--bad-option", action="store_true",
                    help="send only a malformed Solicit and expect no answer")
    ap.add_argument("--bad", choices=BAD_KINDS,
                    help="send only this kind of malformed Solicit and expect no answer")
    args = ap.parse_args()
    if args.bad_option:
        args.bad = "ia-pd-overrun"
    if args.pd is None and not args.na:
        args.pd = 56

    ll = link_local(args.iface)
    ifindex = socket.if_nametoindex(args.iface)
    sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((ll, 546, 0, ifindex))

    if args.duid:
        client_id = DHCP6OptClientId(duid=bytes.fromhex(args.duid))
    else:
        mac = "02:%02x:%02x:%02x:%02x:%02x" % tuple(random.randrange(256) for _ in range(5))
        client_id = DHCP6OptClientId(duid=DUID_LL(lladdr=mac))
    iaid = random.randrange(1, 2**32)

    def ias(pd_opts=None, na_opts=None):
        out = []
        if args.na:
            out.append(DHCP6OptIA_NA(iaid=iaid, ianaopt=na_opts or []))
        if args.pd is not None:
            hint = [DHCP6OptIAPrefix(prefix="::", plen=args.pd, preflft=0, validlft=0)]
            out.append(DHCP6OptIA_PD(iaid=iaid, iapdopt=pd_opts or hint))
        return out

    if args.bad:
        bad = bad_message(args.bad, client_id, iaid)
        sock.sendto(bad, (ALL_DHCP, 547, 0, ifindex))
        sock.settimeout(args.timeout)
        try:
            data, peer = sock.recvfrom(4096)
            msg = parse(data)
            print("answer-to-malformed-from", peer[0], msg.summary())
            report(msg)
            return 1
        except socket.timeout:
            print("no-answer-to-malformed")
            return 0

    sol = DHCP6_Solicit(trid=random.randrange(2**24)) / client_id / DHCP6OptElapsedTime()
    for ia in ias():
        sol = sol / ia
    adv, peer = exchange(sock, ifindex, bytes(sol), DHCP6_Advertise, args.timeout)
    if adv is None:
        print("timeout advertise")
        return 1
    print("advertise-from", peer)
    report(adv)
    if not args.request:
        return 0

    pd_opts = list(adv[DHCP6OptIA_PD].iapdopt) if DHCP6OptIA_PD in adv else None
    na_opts = list(adv[DHCP6OptIA_NA].ianaopt) if DHCP6OptIA_NA in adv else None
    req = (DHCP6_Request(trid=random.randrange(2**24)) / client_id
           / DHCP6OptServerId(duid=adv[DHCP6OptServerId].duid) / DHCP6OptElapsedTime())
    for ia in ias(pd_opts, na_opts):
        req = req / ia
    rep, peer = exchange(sock, ifindex, bytes(req), DHCP6_Reply, args.timeout)
    if rep is None:
        print("timeout reply")
        return 1
    print("reply-from", peer)
    report(rep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
