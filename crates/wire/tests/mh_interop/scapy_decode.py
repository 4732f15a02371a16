"""Decodes each frame of a pcap of raw IPv6 packets with Scapy and prints one
line per frame: the layer class names from the Mobility Header or ICMPv6
message on, selected fields as name=value, and cksum=ok or cksum=BAD after
Scapy recomputes the upper-layer checksum itself (its in6_chksum applies the
RFC 6275 HAO / Type 2 Routing Header address rule). Run by
crates/wire/tests/mh_interop.rs."""

import sys

from scapy.all import rdpcap, raw
from scapy.layers.inet6 import HAO, IPv6, IPv6ExtHdrDestOpt, in6_chksum

FIELDS = {
    "MIP6MH_BU": ["seq", "mhtime", "flags"],
    "MIP6MH_BA": ["status", "seq", "mhtime", "flags"],
    "MIP6MH_BE": ["status", "ha"],
    "MIP6MH_HoTI": ["cookie"],
    "MIP6MH_CoTI": ["cookie"],
    "MIP6MH_HoT": ["index", "cookie", "token"],
    "MIP6MH_CoT": ["index", "cookie", "token"],
    "ICMPv6HAADRequest": ["id", "R"],
    "ICMPv6HAADReply": ["id", "R", "addresses"],
    "ICMPv6MPSol": ["id"],
    "ICMPv6MPAdv": ["id", "flags"],
    "ICMPv6NDOptPrefixInfo": ["prefixlen", "R", "validlifetime", "prefix"],
}


def show(value):
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


for frame in rdpcap(sys.argv[1]):
    packet = IPv6(raw(frame))
    words = []
    layer = packet.payload
    upper = None
    while layer and layer.__class__.__name__ != "NoPayload":
        name = layer.__class__.__name__
        if upper is None and (name.startswith("MIP6MH") or name.startswith("ICMPv6")):
            upper = layer
        if upper is not None:
            words.append(name)
            for field in FIELDS.get(name, []):
                words.append("%s=%s" % (field, show(layer.getfieldval(field))))
            for option in getattr(layer, "options", None) or []:
                if hasattr(option, "otype"):
                    words.append(option.__class__.__name__)
        layer = layer.payload
    if upper is None:
        print("no-mobility-layer", packet.summary())
        continue
    # Scapy's own checksum of the bytes as received: in6_chksum walks the
    # headers below for a Home Address option or a Type 2 Routing Header.
    data = bytearray(raw(upper))
    at = 4 if upper.__class__.__name__.startswith("MIP6MH") else 2
    received = int.from_bytes(data[at:at + 2], "big")
    data[at:at + 2] = b"\0\0"
    nh = 135 if at == 4 else 58
    # Interop: Scapy 2.5.0's in6_chksum applies the HAO rule only when the
    # Destination Options header holds the HAO alone, so a dissected header
    # (PadN for the 8n+6 alignment, then the HAO) gets a checksum over the
    # care-of address. Reported as cksum_as_dissected; the check itself
    # gives Scapy the header it builds (HAO alone, autopadded).
    as_dissected = in6_chksum(nh, upper.underlayer, bytes(data))
    below = upper.underlayer
    if IPv6ExtHdrDestOpt in packet and HAO in packet[IPv6ExtHdrDestOpt]:
        built = IPv6(src=packet.src, dst=packet.dst) / IPv6ExtHdrDestOpt(
            options=[HAO(hoa=packet[HAO].hoa)])
        below = built[IPv6ExtHdrDestOpt]
    recomputed = in6_chksum(nh, below, bytes(data))
    words.append("cksum_as_dissected=" + ("ok" if as_dissected == received else "BAD"))
    words.append("cksum=" + ("ok" if recomputed == received else "BAD(%#x!=%#x)" % (received, recomputed)))
    print(" ".join(words))
