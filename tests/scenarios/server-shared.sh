#!/bin/bash
# server-shared.sh - two v6edge delegating servers on one client link share
# one PostgreSQL lease database (lease-store = "postgres"): under load, no
# prefix is ever granted to two clients.
#
#   [srva] isp0 2001:db8:0:1::1 ---.                    v6edge, the example's
#   [srvb] isp0 2001:db8:0:1::2 ---+-- switch --- eth0 [perf]  pools, both
#                                  |--- wan0 [wide]  WIDE dhcp6c  on the same
#                                  '--- wan0 [isc]   ISC dhclient database
#   PostgreSQL: the host's server, through its Unix socket (reachable from
#   inside the namespaces), a schema of this run's own.
#
# Both servers allocate from the same pools in their own memory, so both
# pick the same free prefixes; the database's unique key decides (Kea's
# shared-database model): the loser withholds its Reply and learns of the
# winner's lease. RFC 8415 §18.3.2 (a Reply acknowledges a binding) and the
# server contract: a prefix is delegated to one requesting router at a time.
# Checks: in every Reply either server sent (captured on both), no prefix
# appears with a non-zero valid lifetime for two different client DUIDs;
# every such (prefix, DUID) is the database's row for that prefix; both
# servers granted leases; perfdhcp completed exchanges; the real clients hold
# distinct prefixes; after a restart, server a routes exactly the leases it
# granted, none of b's.
#
# Needs V6EDGE_TEST_POSTGRES (a connection string; scripts/postgres-test.sh)
# and a v6edge built with --features postgres. Without the variable the
# scenario skips, except under CI (CI set), where it fails.
# Knobs: SHARED_EXCHANGES (perfdhcp exchanges, default 2000), SHARED_RATE
# (per second, default 400).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
LAB_TIMEOUT=${LAB_TIMEOUT:-100}    # watchdog (netns.sh)
V6EDGE_LOG=${V6EDGE_LOG:-info}     # thousands of exchanges: no debug log
. "$HERE/../lab/netns.sh"
. "$HERE/../lab/peers.sh"
. "$HERE/../lab/server.sh"

EXCHANGES=${SHARED_EXCHANGES:-2000}
RATE=${SHARED_RATE:-400}
ROLES=(wide isc)
lab_init "server-shared"
[ "$SERVER_IMPL" = v6edge ] || lab_skip "a v6edge-only scenario (SERVER_IMPL=$SERVER_IMPL)"
if [ -z "${V6EDGE_TEST_POSTGRES:-}" ]; then
    [ -n "${CI:-}" ] && { echo "FAIL: CI is set but V6EDGE_TEST_POSTGRES is not"; echo "0 passed, 1 failed"; exit 1; }
    lab_skip "V6EDGE_TEST_POSTGRES is not set (scripts/postgres-test.sh prints one)"
fi
server_require perfdhcp tcpdump psql
echo "server-shared: $EXCHANGES perfdhcp exchanges at $RATE/s against two servers"

# This run's schema; dropped at exit, whatever happens.
SCHEMA="shared_$$_$(date +%s)"
PG="$V6EDGE_TEST_POSTGRES"
pg() { psql "$PG" -v ON_ERROR_STOP=1 -qAt "$@"; }
pg -c "CREATE SCHEMA $SCHEMA" || lab_die "cannot create schema $SCHEMA with '$PG'"
trap 'pg -c "DROP SCHEMA IF EXISTS $SCHEMA CASCADE" >/dev/null 2>&1; lab_teardown' EXIT

# The example's server config, on the shared database.
CONFIG=$LAB_DIR/shared-server.toml
sed "s|^\[server\]\$|[server]\nlease-store = \"postgres\"\npostgres = \"$PG options='-c search_path=$SCHEMA'\"|" \
    "$SRV_EXAMPLE" >"$CONFIG"
grep -q '^lease-store = "postgres"' "$CONFIG" || lab_die "could not write $CONFIG"
if ! "$V6EDGE_BIN" check --config "$CONFIG" >"$LAB_DIR/check.log" 2>&1 || grep -q 'built without PostgreSQL' "$LAB_DIR/check.log"; then
    cat "$LAB_DIR/check.log"
    lab_die "$V6EDGE_BIN does not accept lease-store = \"postgres\" (build it with --features postgres)"
fi

# The switch, and both servers on it.
lab_ns_create sw
lab_sysctl sw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
lab_run ip -n "$(lab_ns sw)" link add br0 type bridge mcast_snooping 0 || lab_die "bridge failed"
lab_run ip -n "$(lab_ns sw)" link set br0 up
SRV_PORTS=0
srv_attach srva isp0
srv_attach srvb isp0
lab_addr srva isp0 2001:db8:0:1::1/64
lab_addr srvb isp0 2001:db8:0:1::2/64
# The access router's RA (M=1, O=1, default route) for the real clients.
start_isp_ra srva srv-ra isp0
# Every Reply each server sends, as it leaves.
for s in srva srvb; do
    lab_daemon "$s" "$s-cap" tcpdump -i isp0 -n --immediate-mode -U -s 0 -B 16384 \
        -w "$LAB_DIR/$s.pcap" udp src port 547
    lab_wait 5 grep -q 'listening on' "$LAB_DIR/$s-cap.log" || lab_die "tcpdump not listening in $s"
done
start_v6edge_server srva srv-a "$CONFIG" 15 || lab_die "server a did not start"
start_v6edge_server srvb srv-b "$CONFIG" 15 || lab_die "server b did not start"
lab_log "both servers up ($(lab_elapsed)s)"

# Load: prefix-only exchanges of distinct clients; meanwhile two real clients.
srv_attach perf eth0
lab_daemon perf perfdhcp perfdhcp -6 -l eth0 -e prefix-only -r "$RATE" -n "$EXCHANGES" \
    -p $(( EXCHANGES / RATE + 15 )) -R 2000000000
cli_add "${ROLES[@]}"
for role in "${ROLES[@]}"; do cli_start "$role"; done
declare -A PD=()
for role in "${ROLES[@]}"; do
    PD[$role]=$(cli_wait_prefix "$role" 30) || PD[$role]=
    echo "$role: prefix ${PD[$role]:-none} ($(lab_elapsed)s)"
done
lab_wait $(( EXCHANGES / RATE + 20 )) sh -c "! kill -0 $(cat "$LAB_DIR/perfdhcp.pid") 2>/dev/null" \
    || lab_log "perfdhcp still running"
sleep 1    # the last Replies leave the servers
for s in srva srvb; do lab_stop "$s-cap"; done
sed -n '/Statistics for: REQUEST-REPLY/,/^$/p' "$LAB_DIR/perfdhcp.log" | sed 's/^/  | /'
RR_RECV=$(awk '/^\*\*\*Statistics for: / { s = index($0, "REQUEST-REPLY") > 0 }
               s && /^received packets:/ { print $3; exit }' "$LAB_DIR/perfdhcp.log")

# Replies: "server prefix duid valid" for every IA Prefix in them.
"$LAB_PY" - "$LAB_DIR" >"$LAB_DIR/replies.txt" 2>"$LAB_DIR/replies.err" <<'PY'
import sys
from scapy.all import rdpcap, DHCP6_Reply, DHCP6OptClientId, DHCP6OptIA_PD, DHCP6OptIAPrefix
from scapy.packet import NoPayload
d = sys.argv[1]
for s in ("srva", "srvb"):
    for pkt in rdpcap(f"{d}/{s}.pcap"):
        if DHCP6_Reply not in pkt or DHCP6OptClientId not in pkt:
            continue
        cid = pkt[DHCP6OptClientId]
        duid = bytes(cid)[4:4 + cid.optlen].hex()
        layer = pkt[DHCP6_Reply].payload
        while not isinstance(layer, NoPayload):
            if isinstance(layer, DHCP6OptIA_PD):
                for o in layer.iapdopt:
                    if isinstance(o, DHCP6OptIAPrefix):
                        print(s, f"{o.prefix}/{o.plen}", duid, o.validlft)
            layer = layer.payload
PY
[ -s "$LAB_DIR/replies.err" ] && sed 's/^/  replies.py: /' "$LAB_DIR/replies.err" | tail -n 5
# The database's prefix leases: "prefix duid".
pg -c "SELECT address, prefix_len, encode(duid, 'hex') FROM $SCHEMA.lease6 WHERE kind = 2" \
    -F ' ' >"$LAB_DIR/db.raw" || lab_log "cannot read the lease table"
"$LAB_PY" - "$LAB_DIR/db.raw" >"$LAB_DIR/db.txt" <<'PY'
import ipaddress, sys
for line in open(sys.argv[1]):
    addr, plen, duid = line.split()
    a = ipaddress.IPv6Address(bytes.fromhex(addr.removeprefix("\\x")))
    print(f"{a}/{plen}", duid)
PY

GRANTED=$(awk '$4 > 0' "$LAB_DIR/replies.txt")
count() { [ -z "$GRANTED" ] && { echo 0; return; }; printf '%s\n' "$GRANTED" | awk -v s="$1" 's == "" || $1 == s' | awk '{print $2, $3}' | sort -u | wc -l; }
A_GRANTS=$(count srva); B_GRANTS=$(count srvb); ALL=$(count "")
DOUBLE=$(printf '%s\n' "$GRANTED" | awk 'NF {print $2, $3}' | sort -u | awk '{print $1}' | uniq -d)
CONFLICTS_A=$(grep -c 'another server holds this lease' "$LAB_DIR/srv-a.log")
CONFLICTS_B=$(grep -c 'another server holds this lease' "$LAB_DIR/srv-b.log")
DB_ROWS=$(wc -l <"$LAB_DIR/db.txt")
echo "perfdhcp: ${RR_RECV:-?} Replies counted; granted (prefix, client) pairs in Replies: $ALL" \
    "(server a $A_GRANTS, server b $B_GRANTS); conflicts the database refused: a $CONFLICTS_A," \
    "b $CONFLICTS_B; prefix rows in the database: $DB_ROWS"
[ -n "$DOUBLE" ] && echo "$DOUBLE" | head -n 5 | sed 's/^/  granted to two clients: /'

lab_check "both servers are still running" sh -c "lab_alive() { kill -0 \$(cat $LAB_DIR/\$1.pid); }; lab_alive srv-a && lab_alive srv-b"
lab_check "perfdhcp completed exchanges (${RR_RECV:-0} Replies)" test "${RR_RECV:-0}" -gt $(( EXCHANGES / 4 ))
lab_check "Replies with leases were captured ($ALL)" test "$ALL" -gt $(( EXCHANGES / 4 ))
lab_check "no prefix was granted to two different clients" test -z "$DOUBLE"
lab_check "server a granted leases ($A_GRANTS)" test "$A_GRANTS" -gt 0
lab_check "server b granted leases ($B_GRANTS)" test "$B_GRANTS" -gt 0
missing=$(printf '%s\n' "$GRANTED" | awk 'NF {print $2, $3}' | sort -u | comm -23 - <(sort -u "$LAB_DIR/db.txt"))
[ -n "$missing" ] && echo "$missing" | head -n 5 | sed 's/^/  not in the database: /'
lab_check "every granted (prefix, client) is the database's row for that prefix" test -z "$missing"
lab_check "the database holds at least one row per granted prefix ($DB_ROWS >= $ALL)" test "$DB_ROWS" -ge "$ALL"
for role in "${ROLES[@]}"; do
    lab_check "$role holds a /$SRV_PD_LEN inside $SRV_PD_POOL (${PD[$role]:-none})" \
        lab_within "${PD[$role]:-::/128}" "$SRV_PD_POOL" "$SRV_PD_LEN"
done
lab_check "the real clients' prefixes are distinct" \
    test "$(printf '%s\n' "${PD[@]}" | grep -c .)" = 2 -a "$(printf '%s\n' "${PD[@]}" | sort -u | grep -c .)" = 2

# Warm start on the shared database: server a restarts and routes its own
# leases again, and none of the leases server b granted (each row names
# the server that granted it; b's are only kept as taken).
A_DUID=$(tr -cd '0-9a-fA-F' <"$LAB_DIR/srv-a.state/duid" | tr 'A-F' 'a-f')
lab_stop srv-a
start_v6edge_server srva srv-a "$CONFIG" 15 || lab_die "server a did not restart"
pg -c "SELECT address, prefix_len, encode(server, 'hex') FROM $SCHEMA.lease6
       WHERE kind = 2 AND valid_until > extract(epoch FROM now())::bigint" \
    -F ' ' >"$LAB_DIR/db-server.raw" || lab_log "cannot read the lease table"
"$LAB_PY" - "$LAB_DIR/db-server.raw" "$A_DUID" "$LAB_DIR" <<'PY'
import ipaddress, sys
raw, mine, d = sys.argv[1:4]
with open(f"{d}/rows-a.txt", "w") as a, open(f"{d}/rows-b.txt", "w") as b:
    for line in open(raw):
        addr, plen, server = (line.split() + [""])[:3]
        p = f"{ipaddress.IPv6Address(bytes.fromhex(addr.removeprefix(chr(92) + 'x')))}/{plen}"
        print(p, file=a if server == mine else b)
PY
routes_a() { ip -n "$(lab_ns srva)" -6 route show proto "$SRV_PROTO" | awk '{print $1}' | sort -u; }
ROWS_A=$(sort -u "$LAB_DIR/rows-a.txt"); ROWS_B=$(sort -u "$LAB_DIR/rows-b.txt")
own_routes_back() { [ "$(routes_a)" = "$ROWS_A" ]; }
lab_wait 10 own_routes_back
ROUTED_B=$(comm -12 <(routes_a) <(printf '%s\n' "$ROWS_B" | grep .))
echo "after server a's restart: $(routes_a | grep -c .) routes on a; rows a granted $(printf '%s\n' "$ROWS_A" | grep -c .), b granted $(printf '%s\n' "$ROWS_B" | grep -c .)"
lab_check "server a's own leases are in the database ($(printf '%s\n' "$ROWS_A" | grep -c .))" test -n "$ROWS_A"
lab_check "after a restart server a routes exactly the leases it granted" own_routes_back
lab_check "after a restart server a routes none of server b's leases" test -z "$ROUTED_B"
lab_finish
