#!/usr/bin/python3
"""rogue-dhcp6-server.py - a rogue or broken DHCPv6 server for lab tests.

Answers a requesting router's Solicit, Request and Renew on IFACE with
crafted messages, per mode, so a test can check that the router stays
sane (issue 14, "hostile upstream").  Messages are built and decoded with
scapy (Debian package python3-scapy, for the system python3); the RKAP
Authentication option and its HMAC-MD5 (RFC 8415 §20.4) are laid out by
hand.  It moves them over a plain UDP socket on port 547 joined to
ff02::1:2, so no raw sockets are needed.  Run it inside the ISP's
namespace, and only there.

    rogue-dhcp6-server.py IFACE --mode garbage [--answers N] [--max-seconds S]
    rogue-dhcp6-server.py IFACE --mode flood --trigger FILE [--advertises N]

Modes:

  garbage  every Solicit (up to --answers, default 2) gets Advertises, each
           with preference 255 and a server DUID of its own, that offer
           nothing a router can use: prefixes ::/0, ::/1, 8000::/1,
           fe80::/64, ff02::/16, ::1/128, ::ffff:0:0/96, one with host bits
           set, an IA_PD with T1 > T2, one with preferred > valid, one with
           lifetimes 0; and a usable offer three ways broken: another xid,
           another client id, no server id.  Then a Reply with the Solicit's
           xid and no Rapid Commit, and a Reply to an xid never sent.

  flood    the first Solicit gets --advertises (default 1500) Advertises
           from as many server DUIDs, preferences 0..249 and exactly one 250
           (the best, sent in the middle and again at the end).  A Request
           naming the best gets a Reply granting, with infinite lifetimes and
           T1/T2 0, 2001:db8:ee00::/80 first and 2001:db8:ff00::/56 next,
           beside ::/0 and fe80::/64 in the same IA_PD, with a reconfigure
           key (RKAP, replay counter 100).  Once FILE exists:
           a stray Reply to an xid never sent granting 2001:db8:aa06::/56,
           and forged Reconfigures (no Authentication option, a wrong HMAC
           with counter 10^9, a correct HMAC with the counter replayed (100
           and 50), a key-type Authentication option instead of an HMAC, a
           correctly signed one asking for a Solicit); it then waits 1 s,
           reports how many Renews it got, sends a correctly signed
           Reconfigure (Renew, counter 101) and answers the Renew by
           withdrawing both prefixes (lifetimes 0).  Then it exits.

Output, one "key value..." line per event (flushed), for scripts to grep:

    listening IFACE
    rx solicit|request|renew|rebind xid XXXXXX from ADDR
    tx advertise N | tx reply KIND | tx reconfigure KIND
    best-duid HEX
    request-server-duid HEX best yes|no
    renews-before-valid N
    withdrawn 2001:db8:ff00::/56
    done | timeout

Exit status 0 when the mode's script ran to its end, 1 on timeout.
Everything is bounded: at most --max-seconds (default 40) in all.
"""
import argparse
import hashlib
import hmac
import os
import random
import select
import socket
import struct
import sys
import time

from scapy.layers.dhcp6 import (DHCP6_Advertise, DHCP6_Rebind, DHCP6_Reconf,
                                DHCP6_Renew, DHCP6_Reply, DHCP6_Request, DHCP6_Solicit,
                                DHCP6OptClientId, DHCP6OptDNSServers,
                                DHCP6OptIA_PD, DHCP6OptIAPrefix, DHCP6OptPref,
                                DHCP6OptReconfMsg, DHCP6OptServerId, DUID_LL)
from scapy.layers.inet import UDP
from scapy.packet import Raw

ALL_DHCP = "ff02::1:2"
GOOD = "2001:db8:ff00::"
TOO_LONG = "2001:db8:ee00::"   # granted as a /80: no /64 fits in it
KEY = bytes(range(0x40, 0x50))
KEY_RD = 100
INFINITE = 0xFFFFFFFF
OPT_AUTH = 11


def out(*words):
    print(*words, flush=True)


def duid(n):
    """A DUID-LL with a made-up MAC numbered n (0 .. 2^24)."""
    return DUID_LL(lladdr="02:5e:00:%02x:%02x:%02x" % (n >> 16 & 0xff, n >> 8 & 0xff, n & 0xff))


def parse_client(data):
    """Decode a client message the way scapy decodes it after UDP port 547."""
    return UDP(bytes(UDP(sport=546, dport=547) / Raw(data))).payload


def ia_pd(iaid, t1, t2, prefixes):
    """IA_PD with (address, length, preferred, valid) prefixes."""
    return DHCP6OptIA_PD(iaid=iaid, T1=t1, T2=t2, iapdopt=[
        DHCP6OptIAPrefix(prefix=a, plen=l, preflft=p, validlft=v) for a, l, p, v in prefixes])


def auth_option(rd, info_type, value):
    """RFC 8415 §21.11 / §20.4: RKAP, HMAC-MD5, RDM 0."""
    body = bytes([3, 1, 0]) + struct.pack("!Q", rd) + bytes([info_type]) + value
    return struct.pack("!HH", OPT_AUTH, len(body)) + body


def signed(message, key):
    """Fill the HMAC-MD5 digest of the (only) Authentication option."""
    at = 4
    while at + 4 <= len(message):
        code, length = struct.unpack("!HH", message[at:at + 4])
        if code == OPT_AUTH:
            digest_at = at + 4 + 12
            zeroed = message[:digest_at] + bytes(16) + message[digest_at + 16:]
            mac = hmac.new(key, zeroed, hashlib.md5).digest()
            return zeroed[:digest_at] + mac + zeroed[digest_at + 16:]
        at += 4 + length
    raise ValueError("no Authentication option")


class Rogue:
    def __init__(self, iface, deadline):
        self.iface = iface
        self.ifindex = socket.if_nametoindex(iface)
        self.deadline = deadline
        self.sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
        self.sock.bind(("::", 547, 0, 0))
        mreq = socket.inet_pton(socket.AF_INET6, ALL_DHCP) + struct.pack("@I", self.ifindex)
        self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)
        self.client = None  # (address, client id option bytes, iaid)
        out("listening", iface)

    def send(self, payload):
        # A full send buffer only delays us: the socket blocks briefly.
        self.sock.sendto(bytes(payload), (self.client[0], 546, 0, self.ifindex))

    def receive(self, want, until=None):
        """The next client message of a class in want (or None at until)."""
        until = min(until or self.deadline, self.deadline)
        while True:
            left = until - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.sock], [], [], left)
            if not ready:
                continue
            data, peer = self.sock.recvfrom(65535)
            try:
                msg = parse_client(data)
            except Exception:  # anything undecodable is not for us
                continue
            name = {DHCP6_Solicit: "solicit", DHCP6_Request: "request",
                    DHCP6_Renew: "renew", DHCP6_Rebind: "rebind"}.get(type(msg))
            if name is None or DHCP6OptClientId not in msg:
                continue
            out("rx", name, "xid %06x" % msg.trid, "from", peer[0])
            iaid = msg[DHCP6OptIA_PD].iaid if DHCP6OptIA_PD in msg else 0
            self.client = (peer[0], DHCP6OptClientId(duid=msg[DHCP6OptClientId].duid), iaid)
            if isinstance(msg, want):
                return msg

    def answer(self, cls, trid, server, *opts):
        m = cls(trid=trid)
        if server is not None:
            m = m / DHCP6OptServerId(duid=server)
        m = m / self.client[1]
        for o in opts:
            m = m / o
        return m

    # ------------------------------------------------------------- garbage

    def garbage(self, answers):
        for _ in range(answers):
            sol = self.receive(DHCP6_Solicit)
            if sol is None:
                return False
            x, iaid = sol.trid, self.client[2]
            bogus = [("::", 0), ("::", 1), ("8000::", 1), ("fe80::", 64), ("ff02::", 16),
                     ("::1", 128), ("::ffff:0:0", 96), ("2001:db8:aa00::1", 56)]
            n = 0
            for i, (a, l) in enumerate(bogus):
                self.send(self.answer(DHCP6_Advertise, x, duid(i + 1), DHCP6OptPref(prefval=255),
                                      ia_pd(iaid, 0, 0, [(a, l, 3000, 4000)])))
                n += 1
            # RFC 8415 §21.21 T1 > T2; §21.22 preferred > valid; lifetimes 0.
            for i, (t1, t2, p, v) in enumerate([(900, 100, 3000, 4000), (0, 0, 5000, 100),
                                                (0, 0, 0, 0)]):
                prefix = "2001:db8:aa0%d::" % (i + 1)
                self.send(self.answer(DHCP6_Advertise, x, duid(20 + i), DHCP6OptPref(prefval=255),
                                      ia_pd(iaid, t1, t2, [(prefix, 56, p, v)])))
                n += 1
            good = ia_pd(iaid, 0, 0, [("2001:db8:aa04::", 56, 3000, 4000)])
            pref = DHCP6OptPref(prefval=255)
            self.send(self.answer(DHCP6_Advertise, x ^ 1, duid(30), pref, good))
            other = DHCP6OptClientId(duid=duid(0xbad))
            self.send(DHCP6_Advertise(trid=x) / DHCP6OptServerId(duid=duid(31)) / other / pref / good)
            self.send(self.answer(DHCP6_Advertise, x, None, pref, good))
            n += 3
            out("tx advertise", n)
            # A Reply to the Solicit without Rapid Commit, and one to an xid
            # never sent.
            grant = ia_pd(iaid, 0, 0, [("2001:db8:aa05::", 56, 3000, 4000)])
            self.send(self.answer(DHCP6_Reply, x, duid(32), grant))
            self.send(self.answer(DHCP6_Reply, (x + 0x1234) & 0xffffff, duid(33), grant))
            out("tx reply stray 2")
        return True

    # --------------------------------------------------------------- flood

    def advertise_burst(self, x, iaid, count, best):
        """count Advertises for xid x, server DUIDs numbered from 0x1000,
        preference 250 for number best, below 250 for every other.  Built
        once with scapy and patched per copy, so the burst fits in the
        client's first retransmission time (1 s)."""
        offer = ia_pd(iaid, 0, 0, [(GOOD, 56, 3000, 4000)])
        template = bytes(self.answer(DHCP6_Advertise, x, duid(0x1000),
                                     DHCP6OptPref(prefval=0), offer))
        mac_at = template.index(bytes(duid(0x1000))) + 4   # after type and hw type
        pref_at = template.index(bytes(DHCP6OptPref(prefval=0))) + 4
        copy = bytearray(template)
        for n, i in enumerate(list(range(count)) + [best]):
            number = 0x1000 + i
            copy[mac_at + 3:mac_at + 6] = bytes([number >> 16 & 0xff, number >> 8 & 0xff,
                                                 number & 0xff])
            copy[pref_at] = 250 if i == best else random.randrange(250)
            self.send(copy)
            if n % 100 == 99:
                # Paced a little, so the client's receive buffer keeps up.
                time.sleep(0.01)

    def flood(self, count, trigger):
        # The best Advertise goes out once in the middle and once more at
        # the end (a datagram can be lost); no other comes close.
        best = count // 2
        for _attempt in range(3):
            sol = self.receive(DHCP6_Solicit)
            if sol is None:
                return False
            x, iaid = sol.trid, self.client[2]
            self.advertise_burst(x, iaid, count, best)
            out("tx advertise", count + 1)
            req = self.receive(DHCP6_Request, until=time.monotonic() + 4)
            if req is not None:
                break
        else:
            return False
        best_duid = bytes(duid(0x1000 + best))
        out("best-duid", best_duid.hex())
        asked = bytes(req[DHCP6OptServerId].duid) if DHCP6OptServerId in req else b""
        out("request-server-duid", asked.hex(), "best", "yes" if asked == best_duid else "no")
        server = duid(0x1000 + best)
        grant = ia_pd(iaid, 0, 0, [(TOO_LONG, 80, INFINITE, INFINITE),
                                   (GOOD, 56, INFINITE, INFINITE), ("::", 0, INFINITE, INFINITE),
                                   ("fe80::", 64, INFINITE, INFINITE)])
        reply = bytes(self.answer(DHCP6_Reply, req.trid, server, grant,
                                  DHCP6OptDNSServers(dnsservers=["2001:db8:0:1::53"])))
        self.send(reply + auth_option(KEY_RD, 1, KEY))
        out("tx reply absurd-lifetimes")

        while not os.path.exists(trigger):
            if time.monotonic() > self.deadline:
                return False
            time.sleep(0.1)

        # A Reply to a transaction never sent, granting another prefix.
        stray = ia_pd(iaid, 0, 0, [("2001:db8:aa06::", 56, 3000, 4000)])
        self.send(self.answer(DHCP6_Reply, random.randrange(1 << 24), server, stray))
        out("tx reply stray 1")

        def reconfigure(kind, auth):
            """Reconfigure asking for message type kind (5 Renew, 1 Solicit)."""
            return bytes(DHCP6_Reconf(trid=0) / DHCP6OptServerId(duid=server) / self.client[1]
                         / DHCP6OptReconfMsg(msgtype=kind)) + auth

        def hmac_slot(rd):
            """An HMAC-type Authentication option with the digest still zero."""
            return auth_option(rd, 2, bytes(16))
        forged = [
            ("no-auth", reconfigure(5, b"")),
            ("wrong-hmac", signed(reconfigure(5, hmac_slot(10**9)), bytes(16))),
            ("replayed-equal", signed(reconfigure(5, hmac_slot(KEY_RD)), KEY)),
            ("replayed-older", signed(reconfigure(5, hmac_slot(50)), KEY)),
            ("key-type", reconfigure(5, auth_option(KEY_RD + 7, 1, KEY))),
            ("asks-solicit", signed(reconfigure(1, hmac_slot(KEY_RD + 1)), KEY)),
        ]
        for name, m in forged:
            self.send(m)
            out("tx reconfigure", name)
        renews = 0
        t = time.monotonic() + 1.0
        while self.receive(DHCP6_Renew, until=t) is not None:
            renews += 1
        out("renews-before-valid", renews)

        self.send(signed(reconfigure(5, hmac_slot(KEY_RD + 1)), KEY))
        out("tx reconfigure valid")
        renew = self.receive(DHCP6_Renew, until=time.monotonic() + 5)
        if renew is None:
            out("no-renew-after-valid")
            return False
        gone = ia_pd(iaid, 0, 0, [(TOO_LONG, 80, 0, 0), (GOOD, 56, 0, 0)])
        self.send(self.answer(DHCP6_Reply, renew.trid, server, gone))
        out("withdrawn", GOOD + "/56")
        return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("iface")
    ap.add_argument("--mode", choices=("garbage", "flood"), required=True)
    ap.add_argument("--answers", type=int, default=2, help="garbage: Solicits to answer")
    ap.add_argument("--advertises", type=int, default=1500, help="flood: Advertises to send")
    ap.add_argument("--trigger", help="flood: file whose existence starts the Reconfigures")
    ap.add_argument("--max-seconds", type=float, default=40.0)
    args = ap.parse_args()
    rogue = Rogue(args.iface, time.monotonic() + args.max_seconds)
    if args.mode == "garbage":
        ok = rogue.garbage(max(1, min(args.answers, 10)))
    else:
        if not args.trigger:
            ap.error("--mode flood needs --trigger FILE")
        ok = rogue.flood(max(1, min(args.advertises, 20000)), args.trigger)
    out("done" if ok else "timeout")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
