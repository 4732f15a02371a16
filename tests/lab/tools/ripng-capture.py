#!/usr/bin/env python3
"""ripng-capture.py PCAP [SRC]: the RIPng Responses of a capture, decoded by
Scapy (contrib ripng, an implementation independent of v6edge's), as one
JSON object per line: {"src": ..., "routes": {"prefix/len": metric, ...}}.
With SRC, only the Responses from that address. Next-hop RTEs (metric 255)
are left out. Used by tests/scenarios/ripng-triangle.sh to see split
horizon with poisoned reverse on the wire."""
import json
import sys

from scapy.all import IPv6, UDP, load_contrib, rdpcap

load_contrib("ripng")
from scapy.contrib.ripng import RIPng, RIPngEntry  # noqa: E402


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    only = sys.argv[2] if len(sys.argv) == 3 else None
    for pkt in rdpcap(sys.argv[1]):
        if IPv6 not in pkt or UDP not in pkt or pkt[UDP].dport != 521:
            continue
        if only and pkt[IPv6].src != only:
            continue
        rip = RIPng(bytes(pkt[UDP].payload))
        if rip.cmd != 2:
            continue
        routes = {}
        entry = rip.payload
        while isinstance(entry, RIPngEntry):
            if entry.metric != 255:
                routes[f"{entry.prefix_or_nh}/{entry.prefixlen}"] = entry.metric
            entry = entry.payload
        print(json.dumps({"src": pkt[IPv6].src, "hlim": pkt[IPv6].hlim, "routes": routes}))


if __name__ == "__main__":
    main()
