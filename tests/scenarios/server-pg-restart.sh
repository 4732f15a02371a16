#!/bin/bash
# server-pg-restart.sh - the PostgreSQL lease database of a v6edge server
# restarts under perfdhcp load: the server stops granting while it is away,
# says so, and serves again by itself once it is back (issue 14).
#
#   [srva] isp0 2001:db8:0:1::1 --- switch --- eth0 [perf]  perfdhcp -6, prefix-only
#     v6edge, examples/isp-server.toml   '---- wan0 [wide]  WIDE dhcp6c, started after
#     with lease-store = "postgres"                         the database is back
#   PostgreSQL: a private server this run makes (crates/store/tests/pg-cluster.sh)
#   on a Unix socket reachable from inside the namespaces; the shared test
#   server of scripts/postgres-test.sh is left alone.
#
# Timeline: load for PG_BEFORE s, the database stopped (fast shutdown, as a
# restart does) for PG_AWAY s, started again, load goes on until the end.
# Every Reply is captured on the client side (tcpdump in [perf]).
# Checks (RFC 8415 §18.3: a Reply acknowledges a binding; the server
# contract: a lease is acknowledged only once it is durable):
# - the same v6edge process serves throughout (never restarted);
# - while the database is away, `v6edge status` says the store is
#   unavailable with its error, and no Reply grants a lease;
# - after it is back, the status says available (one reconnection) and
#   perfdhcp gets leases again, and a fresh client (dhcp6c) gets a prefix;
# - no prefix is in Replies to two different clients, and every (prefix,
#   client) a Reply granted is the database's row for that prefix;
# - the loss and the recovery are logged once each (not once per packet;
#   a later flap on a loaded machine is one more of each),
#   and the metrics show the store available, the reconnection and the
#   packets dropped while it was away.
# Knobs: PG_RATE (perfdhcp exchanges per second, default 200), PG_BEFORE
# (default 5), PG_AWAY (default 4), PG_AFTER (default 8).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
LAB_TIMEOUT=${LAB_TIMEOUT:-90}     # watchdog (netns.sh)
V6EDGE_LOG=${V6EDGE_LOG:-info}     # thousands of exchanges: no debug log
. "$HERE/../lab/netns.sh"
. "$HERE/../lab/peers.sh"
. "$HERE/../lab/server.sh"

RATE=${PG_RATE:-200}
BEFORE=${PG_BEFORE:-5}
AWAY=${PG_AWAY:-4}
AFTER=${PG_AFTER:-8}
PG_CLUSTER=$HERE/../../crates/store/tests/pg-cluster.sh
lab_init "server-pg-restart"
[ "$SERVER_IMPL" = v6edge ] || lab_skip "a v6edge-only scenario (SERVER_IMPL=$SERVER_IMPL)"
if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
    [ -n "${CI:-}" ] && { echo "FAIL: CI is set but PostgreSQL's server binaries are missing"; echo "0 passed, 1 failed"; exit 1; }
    lab_skip "PostgreSQL's server binaries are missing (scripts/install-deps.sh)"
fi
server_require perfdhcp tcpdump psql dhcp6c
echo "server-pg-restart: perfdhcp at $RATE/s; the database away from ${BEFORE}s for ${AWAY}s"

# The private database server; removed at exit, whatever happens.
PGDIR=$(mktemp -d /tmp/v6edge-pgrestart.XXXXXX) || lab_die "mktemp failed"
PGPORT=$("$LAB_PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
trap '"$PG_CLUSTER" destroy "$PGDIR" >/dev/null 2>&1; lab_teardown' EXIT
"$PG_CLUSTER" start "$PGDIR" "$PGPORT" || lab_die "cannot start a private PostgreSQL server"
PG="host=$PGDIR port=$PGPORT user=postgres dbname=postgres"
pg() { psql "$PG" -v ON_ERROR_STOP=1 -qAt "$@"; }

CONFIG=$LAB_DIR/pg-server.toml
sed "s|^\[server\]\$|[server]\nlease-store = \"postgres\"\npostgres = \"$PG\"|" "$SRV_EXAMPLE" >"$CONFIG"
grep -q '^lease-store = "postgres"' "$CONFIG" || lab_die "could not write $CONFIG"
if ! "$V6EDGE_BIN" check --config "$CONFIG" >"$LAB_DIR/check.log" 2>&1 || grep -q 'built without PostgreSQL' "$LAB_DIR/check.log"; then
    cat "$LAB_DIR/check.log"
    lab_die "$V6EDGE_BIN does not accept lease-store = \"postgres\" (build it with --features postgres)"
fi

lab_ns_create sw
lab_sysctl sw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
lab_run ip -n "$(lab_ns sw)" link add br0 type bridge mcast_snooping 0 || lab_die "bridge failed"
lab_run ip -n "$(lab_ns sw)" link set br0 up
SRV_PORTS=0
srv_attach srva isp0
lab_addr srva isp0 "$SRV_ADDR/64"
start_isp_ra srva srv-ra isp0
srv_attach perf eth0
cli_add wide
# Every Reply, as the clients receive it (client side).
lab_daemon perf perf-cap tcpdump -i eth0 -n --immediate-mode -U -s 0 -B 16384 \
    -w "$LAB_DIR/replies.pcap" udp src port 547
lab_wait 5 grep -q 'listening on' "$LAB_DIR/perf-cap.log" || lab_die "tcpdump not listening"
start_v6edge_server srva srv "$CONFIG" 15 || lab_die "the server did not start"
SRV_PID=$(cat "$LAB_DIR/srv.pid")
store() { v6edge_status_json srv 2>/dev/null | lab_json "d['server']['store']$1" 2>/dev/null; }
lab_log "server up ($(lab_elapsed)s)"

now() { date +%s.%N; }
DURATION=$(( BEFORE + AWAY + AFTER + 3 ))
lab_daemon perf perfdhcp perfdhcp -6 -l eth0 -e prefix-only -r "$RATE" -p "$DURATION" -R 2000000000
sleep "$BEFORE"

T_STOP=$(now)
"$PG_CLUSTER" stop "$PGDIR" || lab_die "cannot stop the database"
T_STOPPED=$(now)
lab_log "database stopped ($(lab_elapsed)s)"
AWAY_SEEN=
for _ in $(seq 1 25); do
    [ "$(store "['available']")" = False ] && { AWAY_SEEN=1; break; }
    sleep 0.2
done
v6edge_status_json srv >"$LAB_DIR/status-away.json" 2>/dev/null
ERROR_AWAY=$(store "['last_error']")
echo "status while away: available=$(store "['available']"), last_error: ${ERROR_AWAY:-none}"
sleep "$AWAY"

T_START=$(now)
"$PG_CLUSTER" start "$PGDIR" "$PGPORT" || lab_die "cannot start the database again"
lab_log "database started again ($(lab_elapsed)s)"
BACK=
for _ in $(seq 1 75); do
    [ "$(store "['available']")" = True ] && { BACK=1; break; }
    sleep 0.2
done
T_BACK=$(now)
echo "store available again: ${BACK:-no}, $(awk -v a="$T_START" -v b="$T_BACK" 'BEGIN{printf "%.2f", b-a}')s after the database started"

# A fresh client, after the outage.
cli_start wide
WIDE_PD=$(cli_wait_prefix wide 20) || WIDE_PD=
echo "wide: prefix ${WIDE_PD:-none} ($(lab_elapsed)s)"
lab_wait $(( DURATION + 10 )) sh -c "! kill -0 $(cat "$LAB_DIR/perfdhcp.pid") 2>/dev/null" \
    || lab_log "perfdhcp still running"
sleep 1    # the last Replies arrive
lab_stop perf-cap
v6edge_status_json srv >"$LAB_DIR/status-end.json" 2>/dev/null
v6edge_ctl srv metrics >"$LAB_DIR/metrics.txt" 2>/dev/null
sed -n '/Statistics for: REQUEST-REPLY/,/^$/p' "$LAB_DIR/perfdhcp.log" | sed 's/^/  | /'

# Replies: "time prefix duid valid" for every IA Prefix in them.
"$LAB_PY" - "$LAB_DIR/replies.pcap" >"$LAB_DIR/replies.txt" 2>"$LAB_DIR/replies.err" <<'PY'
import sys
from scapy.all import rdpcap, DHCP6_Reply, DHCP6OptClientId, DHCP6OptIA_PD, DHCP6OptIAPrefix
from scapy.packet import NoPayload
for pkt in rdpcap(sys.argv[1]):
    if DHCP6_Reply not in pkt or DHCP6OptClientId not in pkt:
        continue
    cid = pkt[DHCP6OptClientId]
    duid = bytes(cid)[4:4 + cid.optlen].hex()
    layer = pkt[DHCP6_Reply].payload
    while not isinstance(layer, NoPayload):
        if isinstance(layer, DHCP6OptIA_PD):
            for o in layer.iapdopt:
                if isinstance(o, DHCP6OptIAPrefix):
                    print(f"{float(pkt.time):.6f}", f"{o.prefix}/{o.plen}", duid, o.validlft)
        layer = layer.payload
PY
[ -s "$LAB_DIR/replies.err" ] && sed 's/^/  replies.py: /' "$LAB_DIR/replies.err" | tail -n 5
pg -c "SELECT address, prefix_len, encode(duid, 'hex') FROM lease6 WHERE kind = 2" -F ' ' \
    >"$LAB_DIR/db.raw" || lab_log "cannot read the lease table"
"$LAB_PY" - "$LAB_DIR/db.raw" >"$LAB_DIR/db.txt" <<'PY'
import ipaddress, sys
for line in open(sys.argv[1]):
    addr, plen, duid = line.split()
    print(f"{ipaddress.IPv6Address(bytes.fromhex(addr.removeprefix(chr(92) + 'x')))}/{plen}", duid)
PY

GRANTED=$(awk '$4 > 0' "$LAB_DIR/replies.txt")
in_window() { [ -z "$GRANTED" ] && { echo 0; return; }; printf '%s\n' "$GRANTED" | awk -v a="$1" -v b="$2" '$1 > a && $1 < b' | wc -l; }
# Half a second after the stop returned: Replies of batches committed just
# before it may still be on their way.
DURING=$(in_window "$(awk -v t="$T_STOPPED" 'BEGIN{printf "%.6f", t + 0.5}')" "$T_START")
BEFORE_N=$(in_window 0 "$T_STOP")
AFTER_N=$(in_window "$T_BACK" 9999999999)
PAIRS=$(printf '%s\n' "$GRANTED" | awk 'NF {print $2, $3}' | sort -u)
DOUBLE=$(printf '%s\n' "$PAIRS" | awk 'NF {print $1}' | uniq -d)
MISSING=$(printf '%s\n' "$PAIRS" | grep . | comm -23 - <(sort -u "$LAB_DIR/db.txt"))
LOSS_LINES=$(grep -c 'lease store unavailable' "$LAB_DIR/srv.log")
BACK_LINES=$(grep -c 'lease store available again' "$LAB_DIR/srv.log")
final() { lab_json "d['server']['store']$1" <"$LAB_DIR/status-end.json" 2>/dev/null; }
LOSSES=$(final "['losses']"); RECONNECTS=$(final "['reconnects']")
metric() { awk -v m="$1" '$1 == m { print $2 }' "$LAB_DIR/metrics.txt"; }
M_AVAILABLE=$(metric 'v6edge_store_available{kind="postgres"}')
M_RECONNECTS=$(metric 'v6edge_store_reconnects_total')
M_DROPPED=$(metric 'v6edge_packets_dropped_total{protocol="dhcp6-server",reason="store-unavailable"}')
echo "granted (prefix, client) pairs in Replies: $(printf '%s\n' "$PAIRS" | grep -c .);" \
    "Replies granting before the stop $BEFORE_N, while away $DURING, after the store was back $AFTER_N;" \
    "prefix rows in the database: $(grep -c . "$LAB_DIR/db.txt")"
echo "store: losses ${LOSSES:-?}, reconnects ${RECONNECTS:-?}; log lines: loss $LOSS_LINES, recovery $BACK_LINES;" \
    "metrics: available ${M_AVAILABLE:-?}, reconnects ${M_RECONNECTS:-?}, dropped while away ${M_DROPPED:-?}"
[ -n "$DOUBLE" ] && echo "$DOUBLE" | head -n 5 | sed 's/^/  granted to two clients: /'
[ -n "$MISSING" ] && echo "$MISSING" | head -n 5 | sed 's/^/  not in the database: /'

lab_check "the same server process ran throughout" sh -c "[ \"\$(cat $LAB_DIR/srv.pid)\" = $SRV_PID ] && kill -0 $SRV_PID"
lab_check "perfdhcp got leases before the outage ($BEFORE_N)" test "$BEFORE_N" -gt 0
lab_check "status said the store was unavailable while the database was away" test -n "$AWAY_SEEN"
lab_check "status gave the reason (${ERROR_AWAY:-none})" test -n "$ERROR_AWAY" -a "$ERROR_AWAY" != None
lab_check "no Reply granted a lease while the database was away ($DURING)" test "$DURING" = 0
lab_check "the store was available again within 15 s of the database's start" test -n "$BACK"
lab_check "perfdhcp got leases after the database was back ($AFTER_N)" test "$AFTER_N" -gt 0
lab_check "a fresh client got a prefix after the outage (${WIDE_PD:-none})" \
    lab_within "${WIDE_PD:-::/128}" "$SRV_PD_POOL" "$SRV_PD_LEN"
lab_check "no prefix was granted to two different clients" test -z "$DOUBLE"
lab_check "every granted (prefix, client) is the database's row for that prefix" test -z "$MISSING"
# The outage is one loss and one reconnection. A loaded machine may add a
# flap after it (an operation that got no answer within 5 s marks the
# database away until it answers again, on the same connection): counted
# and logged like any loss, once each.
[ "${LOSSES:-0}" -gt 1 ] && echo "  note: $((LOSSES - 1)) more loss(es) after the outage (an operation unanswered for 5 s)"
lab_check "at least one loss and exactly one reconnection (${LOSSES:-?}, ${RECONNECTS:-?})" test "${LOSSES:-0}" -ge 1 -a "${RECONNECTS:-0}" = 1
lab_check "each loss and each recovery logged once, not once per packet ($LOSS_LINES, $BACK_LINES for ${LOSSES:-?} losses)" \
    test "$LOSS_LINES" = "${LOSSES:-x}" -a "$BACK_LINES" = "${LOSSES:-x}"
lab_check "metrics: store available, one reconnection, packets dropped while away" \
    test "${M_AVAILABLE:-0}" = 1 -a "${M_RECONNECTS:-0}" = 1 -a "${M_DROPPED:-0}" -gt 0
lab_finish
