#!/usr/bin/python3
"""dhcp6-probe.py IFACE TIMEOUT - wait until a DHCPv6 server on IFACE's link
answers: a Solicit for a prefix (RFC 8415 §18.2.1; no Rapid Commit, so the
server commits nothing) to All_DHCP_Relay_Agents_and_Servers every 0.1 s
until an Advertise for our transaction comes back.  Prints the unix time of
the answer and exits 0; exits 1 after TIMEOUT seconds without one.
Run it inside the client's namespace, with nothing else bound to UDP 546."""

import os
import select
import socket
import struct
import sys
import time


def main():
    iface, timeout = sys.argv[1], float(sys.argv[2])
    ifindex = socket.if_nametoindex(iface)
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, ifindex)
    s.bind(("::", 546, 0, ifindex))
    # DUID-LL of a made-up, locally administered MAC, distinct from perfdhcp's.
    duid = bytes.fromhex("00030001") + b"\x02\xcc" + os.urandom(4)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        xid = os.urandom(3)
        ia_pd = struct.pack("!III", 0xC0FFEE, 0, 0)
        msg = (b"\x01" + xid + struct.pack("!HH", 1, len(duid)) + duid
               + struct.pack("!HH", 8, 2) + b"\0\0"                  # elapsed time
               + struct.pack("!HH", 25, len(ia_pd)) + ia_pd)
        try:
            s.sendto(msg, ("ff02::1:2", 547, 0, ifindex))
        except OSError:
            pass                                                    # link not ready yet
        wait_until = min(deadline, time.monotonic() + 0.1)
        while True:
            left = wait_until - time.monotonic()
            if left <= 0:
                break
            r, _, _ = select.select([s], [], [], left)
            if not r:
                break
            data = s.recv(65536)
            if len(data) >= 4 and data[0] == 2 and data[1:4] == xid:
                print("%.6f" % time.time())
                return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
