#!/usr/bin/python3
"""check-acked.py - what a DHCPv6 server acknowledged, as seen by the client,
against what the server holds after a crash (bench/server-crash.sh).

The client side's capture is the reference: every lease a Reply granted or
extended (IAADDR / IAPREFIX with a non-zero valid lifetime, RFC 8415 §21.6,
§21.22) is a *claim* of that client until it ends in a way the client knows
of: its own Release or Decline (sent, whether or not the server got it:
after a crash the server may legitimately have missed it), a Reply giving it
valid lifetime 0, the end of its valid lifetime, or a Reply to a fresh
Request of the same client and IA that binds other leases instead
(counted as "superseded").  A claim must survive any crash of the server:

  (a) every claim is in the restarted server's lease list (and its
      database), for the same client, with an expiry no earlier than the one
      acknowledged (minus clock slack);
  (b) no lease is held by two clients: no two claims of different clients
      overlap in time for one prefix or address, and no two leases in the
      server's list overlap;
  (c) the server's routes (kernel, protocol 118) are exactly its delegated
      prefixes, each via the lease's next hop on the lease's interface.

Commands (stdlib only; the capture is a classic pcap of Ethernet frames, as
`tcpdump -w` writes it):

  ingest STATE PCAP                 add one capture's client messages and
                                    Replies to STATE (created if missing);
                                    prints the capture's figures as JSON
  verify STATE LEASES T0 T1 ROUTES [--db DB] [--slack S]
                                    LEASES: `v6edge leases --json`, fetched
                                    between unix times T0 and T1; ROUTES:
                                    `ip -6 route show proto 118`; DB: the
                                    lease database (read only).  Prints one
                                    JSON object of figures and violations;
                                    exit 1 on any violation
  routes LEASES ROUTES              exit 0 when the routes match the leases
  sabotage STATE DB                 self-test only: damage DB behind the
                                    stopped server's back (ten claims
                                    deleted, one given to another client, one
                                    shortened); prints what it did as JSON
  unit                              offline checks of the parser and of the
                                    claim logic with synthetic packets
"""

import ipaddress
import json
import os
import pickle
import sqlite3
import struct
import sys
import time

# RFC 8415 §7.3 message types and §21 option codes.
SOLICIT, ADVERTISE, REQUEST, CONFIRM, RENEW, REBIND, REPLY, RELEASE, DECLINE = range(1, 10)
OPT_CLIENTID, OPT_SERVERID, OPT_IA_NA, OPT_IAADDR = 1, 2, 3, 5
OPT_STATUS_CODE, OPT_RAPID_COMMIT, OPT_IA_PD, OPT_IAPREFIX = 13, 14, 25, 26
STATUS_NOBINDING = 3
NA, PD = "na", "pd"
CLIENT_TYPES = {SOLICIT, REQUEST, CONFIRM, RENEW, REBIND, RELEASE, DECLINE}


# ----------------------------------------------------------------- parsing

def options(buf):
    """(code, value) pairs of a DHCPv6 option area; stops at a truncated
    option (the capture's snap length, or a broken packet)."""
    i, n = 0, len(buf)
    while i + 4 <= n:
        code, length = struct.unpack_from("!HH", buf, i)
        if i + 4 + length > n:
            return
        yield code, buf[i + 4:i + 4 + length]
        i += 4 + length


def status_of(opts_buf):
    for code, val in options(opts_buf):
        if code == OPT_STATUS_CODE and len(val) >= 2:
            return struct.unpack_from("!H", val)[0]
    return 0


def parse_ia(code, val):
    """An IA_NA or IA_PD option: (kind, iaid, status, [(prefix, valid)])."""
    if len(val) < 12:
        return None
    iaid = struct.unpack_from("!I", val)[0]
    kind = NA if code == OPT_IA_NA else PD
    leases, status = [], 0
    for c, v in options(val[12:]):
        if c == OPT_STATUS_CODE and len(v) >= 2:
            status = struct.unpack_from("!H", v)[0]
        elif kind == NA and c == OPT_IAADDR and len(v) >= 24:
            addr = ipaddress.IPv6Address(v[:16])
            valid = struct.unpack_from("!I", v, 20)[0]
            leases.append(("%s/128" % addr, valid))
        elif kind == PD and c == OPT_IAPREFIX and len(v) >= 25:
            valid = struct.unpack_from("!I", v, 4)[0]
            plen = v[8]
            if plen > 128:
                continue
            try:
                net = ipaddress.IPv6Network((bytes(v[9:25]), plen))
            except ValueError:      # host bits set: a broken lease, not ours to judge here
                continue
            leases.append((str(net), valid))
    return kind, iaid, status, leases


def parse_dhcp6(payload):
    """A DHCPv6 message: dict with type, xid, duid (client), ias, rapid."""
    if len(payload) < 4:
        return None
    msg = {"type": payload[0], "xid": int.from_bytes(payload[1:4], "big"),
           "duid": None, "ias": [], "rapid": False}
    for code, val in options(payload[4:]):
        if code == OPT_CLIENTID:
            msg["duid"] = val.hex(":")
        elif code in (OPT_IA_NA, OPT_IA_PD):
            ia = parse_ia(code, val)
            if ia:
                msg["ias"].append(ia)
        elif code == OPT_RAPID_COMMIT:
            msg["rapid"] = True
    return msg


def read_pcap(path):
    """(timestamp, source port, DHCPv6 payload) of every UDP/IPv6 datagram
    to or from port 546/547 in a classic pcap of Ethernet frames.  A file
    cut short (the writer was killed) ends at its last whole record."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        raise SystemExit("%s: not a classic pcap file" % path)
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    linktype = struct.unpack_from(endian + "I", data, 20)[0]
    if linktype != 1:
        raise SystemExit("%s: link type %d, expected Ethernet (1)" % (path, linktype))
    rec = struct.Struct(endian + "IIII")
    i = 24
    while i + 16 <= len(data):
        sec, frac, caplen, _ = rec.unpack_from(data, i)
        i += 16
        frame = data[i:i + caplen]
        i += caplen
        if len(frame) < caplen:
            break
        ts = sec + frac / (1e9 if nano else 1e6)
        off, ethertype = 12, struct.unpack_from("!H", frame, 12)[0] if len(frame) >= 14 else 0
        if ethertype == 0x8100 and len(frame) >= 18:      # one VLAN tag
            off, ethertype = 16, struct.unpack_from("!H", frame, 16)[0]
        if ethertype != 0x86DD:
            continue
        ip = frame[off + 2:]
        if len(ip) < 48 or ip[6] != 17:                    # no extension headers from perfdhcp
            continue
        sport, dport, ulen = struct.unpack_from("!HHH", ip, 40)
        if not {sport, dport} & {546, 547}:
            continue
        yield ts, sport, ip[48:40 + ulen] if ulen >= 8 else b""


# ------------------------------------------------------------------- state

def new_state():
    return {
        "claims": {},          # (kind, prefix) -> [duid, iaid, expiry, t_ack]
        "by_client": {},       # (duid, iaid, kind) -> {prefix} of its claims
        "acked": 0,            # lease acknowledgements (valid > 0) seen
        "acked_leases": set(), # distinct (duid, kind, prefix) ever acknowledged
        "replies": 0,
        "released": 0,         # claims ended by the client's Release/Decline
        "revoked": 0,          # claims ended by a Reply with valid lifetime 0
        "superseded": 0,       # claims replaced by a fresh Request's other lease
        "expired": 0,
        "double": [],          # claims of two clients at once (violations)
        "nobinding": 0,        # NoBinding answers to an IA with a live claim
        "captures": 0,
    }


def load_state(path):
    if not os.path.exists(path):
        return new_state()
    with open(path, "rb") as f:
        return pickle.load(f)


def save_state(path, st):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        pickle.dump(st, f, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)


def set_claim(st, key, duid, iaid, expiry, t_ack):
    old = st["claims"].get(key)
    if old:
        st["by_client"].get((old[0], old[1], key[0]), set()).discard(key[1])
    st["claims"][key] = [duid, iaid, expiry, t_ack]
    st["by_client"].setdefault((duid, iaid, key[0]), set()).add(key[1])


def drop_claim(st, key):
    old = st["claims"].pop(key, None)
    if old:
        ids = (old[0], old[1], key[0])
        held = st["by_client"].get(ids)
        if held is not None:
            held.discard(key[1])
            if not held:
                del st["by_client"][ids]


def end_claims(st, duid, ias, counter):
    """The client ended the leases it lists (Release, Decline)."""
    for kind, _iaid, _status, leases in ias:
        for prefix, _valid in leases:
            c = st["claims"].get((kind, prefix))
            if c and c[0] == duid:
                drop_claim(st, (kind, prefix))
                st[counter] += 1


def take_reply(st, ts, msg, asked):
    """One Reply: new and extended claims, revocations, double grants."""
    duid = msg["duid"]
    if duid is None:
        return
    st["replies"] += 1
    fresh = asked == REQUEST or (asked == SOLICIT and msg["rapid"])
    for kind, iaid, status, leases in msg["ias"]:
        bound = set()
        if status == STATUS_NOBINDING:
            if any(st["claims"][(kind, p)][2] > ts for p in st["by_client"].get((duid, iaid, kind), ())):
                st["nobinding"] += 1
            continue
        for prefix, valid in leases:
            key = (kind, prefix)
            c = st["claims"].get(key)
            if valid == 0:
                if c and c[0] == duid:
                    drop_claim(st, key)
                    st["revoked"] += 1
                continue
            if c and c[0] != duid and c[2] > ts:
                st["double"].append({"lease": "%s %s" % key, "holder": c[0], "acked_at": c[3],
                                     "other": duid, "other_acked_at": ts})
            set_claim(st, key, duid, iaid, ts + valid, ts)
            st["acked"] += 1
            st["acked_leases"].add((duid, kind, prefix))
            bound.add(prefix)
        if fresh and bound:
            # RFC 8415 §18.3.2: a Request for an IA the server already binds
            # gets the existing leases back; if it gets others, the client
            # knows the old ones are gone (it asked for a new binding).
            old = st["by_client"].get((duid, iaid, kind), set()) - bound
            for p in old:
                drop_claim(st, (kind, p))
                st["superseded"] += 1


def ingest(st, pcap):
    asked = {}                  # xid -> type of the client message
    fig = {"packets": 0, "replies": 0, "acks": 0, "releases": 0}
    acked0 = st["acked"]
    last_ts = 0.0
    for ts, sport, payload in read_pcap(pcap):
        msg = parse_dhcp6(payload)
        if msg is None:
            continue
        fig["packets"] += 1
        last_ts = ts
        t = msg["type"]
        if sport == 546 or t in CLIENT_TYPES:
            asked[msg["xid"]] = t
            if t == RELEASE:
                fig["releases"] += 1
                end_claims(st, msg["duid"], msg["ias"], "released")
            elif t == DECLINE:
                end_claims(st, msg["duid"], msg["ias"], "released")
        elif t == REPLY:
            fig["replies"] += 1
            take_reply(st, ts, msg, asked.get(msg["xid"]))
    fig["acks"] = st["acked"] - acked0
    st["captures"] += 1
    st["last_ts"] = max(st.get("last_ts", 0.0), last_ts)
    return fig


# ----------------------------------------------------------------- checking

def net_range(prefix):
    n = ipaddress.IPv6Network(prefix)
    return int(n.network_address), int(n.broadcast_address)


def overlaps(leases):
    """Pairs of leases whose prefixes (or addresses) overlap, any kind."""
    spans = sorted((net_range(l["prefix"]) + (l,)) for l in leases)
    out, reach, holder = [], -1, None
    for lo, hi, l in spans:
        if lo <= reach:
            out.append((holder, l))
        if hi > reach:
            reach, holder = hi, l
    return out


def parse_routes(path):
    """dst -> (via, dev) of `ip -6 route show` lines."""
    out = {}
    with open(path) as f:
        for line in f:
            w = line.split()
            if not w:
                continue
            if w[0] in ("unreachable", "blackhole", "prohibit", "unicast"):
                kind, w = w[0], w[1:]
            else:
                kind = "unicast"
            dst = w[0] if "/" in w[0] else w[0] + "/128"
            via = w[w.index("via") + 1] if "via" in w else None
            dev = w[w.index("dev") + 1] if "dev" in w else None
            out[str(ipaddress.IPv6Network(dst))] = (via if kind == "unicast" else kind, dev)
    return out


def route_mismatches(leases, routes):
    want = {l["prefix"]: (l["next_hop"], l["interface"]) for l in leases
            if l["type"] == PD and l.get("next_hop")}
    missing = sorted(p for p in want if p not in routes)
    extra = sorted(p for p in routes if p not in want)
    wrong = sorted(p for p in want if p in routes and routes[p] != want[p])
    return missing, extra, wrong


def db_leases(path):
    """(kind, prefix) -> (duid, valid_until) from the lease database."""
    conn = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=10)
    try:
        out = {}
        for kind, addr, plen, duid, valid_until in conn.execute(
                "SELECT kind, address, prefix_len, duid, valid_until FROM lease6"):
            k = PD if kind == 2 else NA
            p = str(ipaddress.IPv6Network((bytes(addr), plen if k == PD else 128)))
            out[(k, p)] = (bytes(duid).hex(":"), valid_until)
        return out
    finally:
        conn.close()


def verify(st, leases_doc, t0, t1, routes, db=None, slack=1.5):
    leases = leases_doc["leases"]
    now = t0
    held = {}
    dup_entries = []
    for l in leases:
        key = (l["type"], l["prefix"])
        if key in held and held[key]["duid"] != l["duid"]:
            dup_entries.append("%s %s: %s and %s" % (key + (held[key]["duid"], l["duid"])))
        held[key] = l
    missing, wrong_client, early, db_missing, db_early = [], [], [], [], []
    live = 0
    for key, (duid, iaid, expiry, t_ack) in list(st["claims"].items()):
        if expiry <= now + slack:           # ran out (or about to): no longer owed
            drop_claim(st, key)
            st["expired"] += 1
            continue
        live += 1
        l = held.get(key)
        what = "%s %s (client %s, acked %.3f)" % (key + (duid, t_ack))
        if l is None:
            missing.append(what)
            continue
        if l["duid"] != duid:
            wrong_client.append("%s held by %s" % (what, l["duid"]))
            continue
        # "valid" is whole seconds remaining, read between t0 and t1.
        latest_expiry = t1 + (l["valid"] or 0) + 1
        if latest_expiry < expiry - slack:
            early.append("%s: expires %.1f s before the acknowledged %.1f"
                         % (what, expiry - latest_expiry, expiry))
    db_view = db_leases(db) if db else None
    if db_view is not None:
        for key, (duid, _iaid, expiry, _t) in st["claims"].items():
            row = db_view.get(key)
            if row is None or row[0] != duid:
                db_missing.append("%s %s" % key)
            elif row[1] < expiry - slack:   # valid_until: whole seconds, rounded down
                db_early.append("%s %s: %d < %.1f" % (key + (row[1], expiry)))
    daemon_vs_db = None
    if db_view is not None:
        daemon_keys = set(held)
        db_keys = set(db_view)
        daemon_vs_db = {"only_daemon": len(daemon_keys - db_keys), "only_db": len(db_keys - daemon_keys)}
    ov = overlaps(leases)
    r_missing, r_extra, r_wrong = route_mismatches(leases, routes)
    res = {
        "acked_total": len(st["acked_leases"]),
        "acks": st["acked"],
        "claims_live": live,
        "in_store": len(leases),
        "pd_in_store": sum(1 for l in leases if l["type"] == PD),
        "missing": len(missing),
        "wrong_client": len(wrong_client),
        "early_expiry": len(early),
        "db_missing": len(db_missing),
        "db_early": len(db_early),
        "duplicates": len(dup_entries) + len(ov),
        "double_acks": len(st["double"]),
        "routes": len(routes),
        "route_missing": len(r_missing),
        "route_extra": len(r_extra),
        "route_wrong": len(r_wrong),
        "released": st["released"], "revoked": st["revoked"],
        "superseded": st["superseded"], "expired": st["expired"],
        "nobinding": st["nobinding"],
        "daemon_vs_db": daemon_vs_db,
        "examples": {k: v[:5] for k, v in {
            "missing": missing, "wrong_client": wrong_client, "early_expiry": early,
            "db_missing": db_missing, "db_early": db_early,
            "duplicates": dup_entries + ["%s %s / %s %s" % (a["prefix"], a["duid"], b["prefix"], b["duid"])
                                         for a, b in ov],
            "double_acks": [json.dumps(d) for d in st["double"]],
            "route_missing": r_missing, "route_extra": r_extra, "route_wrong": r_wrong,
        }.items() if v},
    }
    res["violations"] = sum(res[k] for k in (
        "missing", "wrong_client", "early_expiry", "db_missing", "db_early", "duplicates",
        "double_acks", "route_missing", "route_extra", "route_wrong"))
    return res


# ---------------------------------------------------------------- self-test

def sabotage(st, db, victims=10):
    """Damage the (stopped) server's database where the checker must see it:
    the lowest VICTIMS acknowledged prefixes deleted (missing now; handed to
    other clients later, as the allocator fills the pool from its start
    after a restart), the median one given to another DUID, the highest one
    600 s shorter."""
    now = time.time()
    live = sorted(((int(ipaddress.IPv6Network(k[1]).network_address), k[1])
                   for k, c in st["claims"].items() if k[0] == PD and c[2] > now + 660))
    if len(live) < victims + 2:
        raise SystemExit("sabotage: fewer than %d live prefix claims to damage" % (victims + 2))
    deleted = [p for _, p in live[:victims]]
    stolen, shortened = live[(victims + len(live)) // 2][1], live[-1][1]

    def where(prefix):
        n = ipaddress.IPv6Network(prefix)
        return n.network_address.packed, n.prefixlen

    conn = sqlite3.connect(db, timeout=10)
    with conn:
        gone = sum(conn.execute("DELETE FROM lease6 WHERE kind = 2 AND address = ? AND prefix_len = ?",
                                where(p)).rowcount for p in deleted)
        taken = conn.execute("UPDATE lease6 SET duid = ? WHERE kind = 2 AND address = ? AND prefix_len = ?",
                             (bytes.fromhex("0003000102eeeeeeee01"),) + where(stolen)).rowcount
        cut = conn.execute("UPDATE lease6 SET valid_until = valid_until - 600, "
                           "preferred_until = preferred_until - 600 "
                           "WHERE kind = 2 AND address = ? AND prefix_len = ?", where(shortened)).rowcount
    conn.close()
    return {"deleted": [deleted[0], "...", deleted[-1], gone], "stolen": [stolen, taken],
            "shortened": [shortened, cut]}


def unit():
    """The parser and the claim rules on synthetic packets."""
    def opt(code, val):
        return struct.pack("!HH", code, len(val)) + val

    def ia_pd(iaid, *prefixes):
        body = struct.pack("!III", iaid, 100, 160)
        for p, valid in prefixes:
            n = ipaddress.IPv6Network(p)
            body += opt(OPT_IAPREFIX, struct.pack("!IIB", 200, valid, n.prefixlen) + n.network_address.packed)
        return opt(OPT_IA_PD, body)

    def ia_na(iaid, addr, valid):
        body = struct.pack("!III", iaid, 100, 160)
        body += opt(OPT_IAADDR, ipaddress.IPv6Address(addr).packed + struct.pack("!II", 200, valid))
        return opt(OPT_IA_NA, body)

    def msg(t, xid, duid, *opts):
        return bytes([t]) + xid.to_bytes(3, "big") + opt(OPT_CLIENTID, bytes.fromhex(duid)) + b"".join(opts)

    def frame(sport, payload):
        udp = struct.pack("!HHHH", sport, 1093 - sport, 8 + len(payload), 0) + payload
        ip6 = struct.pack("!IHBB", 0x60000000, len(udp), 17, 64) + b"\xfe\x80" + b"\0" * 14 + b"\xfe\x80" + b"\0" * 14
        return b"\x33\x33\0\0\0\x02" + b"\x02" * 6 + b"\x86\xdd" + ip6 + udp

    A, B = "000300010200000000aa", "000300010200000000bb"
    p1, p2 = "2001:db8:100::/56", "2001:db8:100:100::/56"
    pkts = [
        (1.0, 546, msg(REQUEST, 1, A, ia_pd(1, (p1, 0)), ia_na(1, "2001:db8::100", 0))),
        (1.1, 547, msg(REPLY, 1, A, ia_pd(1, (p1, 7200)), ia_na(1, "2001:db8::100", 7200))),
        (2.0, 546, msg(RELEASE, 2, A, ia_na(1, "2001:db8::100", 0))),
        (3.0, 546, msg(REQUEST, 3, B, ia_pd(1))),
        (3.1, 547, msg(REPLY, 3, B, ia_pd(1, (p1, 7200)))),       # p1 while A still holds it
        (4.0, 546, msg(RENEW, 4, A, ia_pd(1, (p2, 0)))),
        (4.1, 547, msg(REPLY, 4, A, ia_pd(1, (p2, 7200)))),
        (5.0, 546, msg(RENEW, 5, A, ia_pd(1, (p2, 0)))),
        (5.1, 547, msg(REPLY, 5, A, ia_pd(1, (p2, 0)))),          # revoked
    ]
    import tempfile
    with tempfile.NamedTemporaryFile(suffix=".pcap", delete=False) as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 512, 1))
        for ts, sport, payload in pkts:
            fr = frame(sport, payload)
            f.write(struct.pack("<IIII", int(ts), int(round((ts % 1) * 1e6)), len(fr), len(fr)) + fr)
        f.write(b"\x01\x02")                               # a torn last record
        name = f.name
    try:
        st = new_state()
        fig = ingest(st, name)
    finally:
        os.unlink(name)
    a_, b_ = ":".join(A[i:i + 2] for i in range(0, len(A), 2)), ":".join(B[i:i + 2] for i in range(0, len(B), 2))
    assert fig["packets"] == 9 and fig["releases"] == 1, fig
    assert st["released"] == 1 and st["revoked"] == 1, st
    assert len(st["double"]) == 1 and st["double"][0]["holder"] == a_, st["double"]
    assert st["claims"] == {(PD, p1): [b_, 1, 3.1 + 7200, 3.1]}, st["claims"]
    assert st["by_client"] == {(b_, 1, PD): {p1}}, st["by_client"]
    lease = {"duid": b_, "iaid": 1, "type": PD, "prefix": p1, "preferred": 100, "valid": 7199,
             "next_hop": "fe80::2", "interface": "isp0"}
    routes = {p1: ("fe80::2", "isp0")}
    r = verify(st, {"leases": [lease]}, 5.0, 5.0, routes)
    assert r["violations"] == 1 and r["double_acks"] == 1 and r["missing"] == 0, r
    st["double"] = []
    r = verify(st, {"leases": []}, 5.0, 5.0, {})
    assert r["missing"] == 1 and r["violations"] == 1, r
    r = verify(st, {"leases": [dict(lease, valid=7000)]}, 5.0, 5.0, routes)
    assert r["early_expiry"] == 1, r
    r = verify(st, {"leases": [dict(lease, duid=a_)]}, 5.0, 5.0, routes)
    assert r["wrong_client"] == 1, r
    other = dict(lease, duid=a_, prefix="2001:db8:100::/48", next_hop=None)
    r = verify(st, {"leases": [lease, other]}, 5.0, 5.0, routes)
    assert r["duplicates"] == 1 and r["violations"] == 1, r
    r = verify(st, {"leases": [lease]}, 5.0, 5.0, {p2: ("fe80::2", "isp0")})
    assert r["route_missing"] == 1 and r["route_extra"] == 1, r
    r = verify(st, {"leases": [lease]}, 5.0, 5.0, {p1: ("fe80::3", "isp0")})
    assert r["route_wrong"] == 1, r
    r = verify(st, {"leases": [lease]}, 7300.0, 7300.0, routes)
    assert r["claims_live"] == 0 and r["expired"] == 1 and r["violations"] == 0, r
    # A fresh Request of the same IA bound to another prefix supersedes the
    # old claim; a Renew's Reply listing another prefix does not.
    st = new_state()
    take_reply(st, 1.0, parse_dhcp6(msg(REPLY, 9, A, ia_pd(1, (p1, 7200)))), REQUEST)
    take_reply(st, 2.0, parse_dhcp6(msg(REPLY, 10, A, ia_pd(1, (p2, 7200)))), RENEW)
    assert set(st["claims"]) == {(PD, p1), (PD, p2)} and st["superseded"] == 0, st
    take_reply(st, 3.0, parse_dhcp6(msg(REPLY, 11, A, ia_pd(1, (p2, 7200)))), REQUEST)
    assert set(st["claims"]) == {(PD, p2)} and st["superseded"] == 1, st
    # NoBinding to an IA with a live claim is counted.
    nb = opt(OPT_IA_PD, struct.pack("!III", 1, 0, 0) + opt(OPT_STATUS_CODE, struct.pack("!H", STATUS_NOBINDING)))
    take_reply(st, 4.0, parse_dhcp6(msg(REPLY, 12, A, nb)), RENEW)
    assert st["nobinding"] == 1, st
    print("check-acked.py unit: all checks passed")


def main(argv):
    if len(argv) < 2:
        raise SystemExit(__doc__)
    cmd, args = argv[1], argv[2:]
    if cmd == "ingest" and len(args) == 2:
        st = load_state(args[0])
        fig = ingest(st, args[1])
        save_state(args[0], st)
        print(json.dumps(fig))
    elif cmd == "verify" and len(args) >= 5:
        state, leases, t0, t1, routes = args[:5]
        opts = dict(zip(args[5::2], args[6::2]))
        st = load_state(state)
        with open(leases) as f:
            doc = json.load(f)
        res = verify(st, doc, float(t0), float(t1), parse_routes(routes),
                     db=opts.get("--db"), slack=float(opts.get("--slack", 1.5)))
        save_state(state, st)
        print(json.dumps(res))
        return 1 if res["violations"] else 0
    elif cmd == "routes" and len(args) == 2:
        with open(args[0]) as f:
            doc = json.load(f)
        m, e, w = route_mismatches(doc["leases"], parse_routes(args[1]))
        return 1 if (m or e or w) else 0
    elif cmd == "sabotage" and len(args) == 2:
        print(json.dumps(sabotage(load_state(args[0]), args[1])))
    elif cmd == "unit":
        unit()
    else:
        raise SystemExit(__doc__)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
