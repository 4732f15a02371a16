#!/bin/bash
# server-restart.sh - the server crashes (kill -9) under load and comes back
# with the same state: every lease it acknowledged is still there, routed,
# and never handed out twice.
#
#   [srv] isp0 ---- switch ---- wan0 [wide] lan0   WIDE dhcp6c
#   SERVER_IMPL=v6edge|kea |--- wan0 [isc]  lan0   ISC dhclient -6 -P
#   kill -9 while perfdhcp |--- wan0 [cpe]  lan0   v6edge, examples/cpe.toml
#   loads it, restart with |--- eth0 [perf]        perfdhcp -6 address-and-prefix,
#   the same state dir /   |                       its Replies captured (tcpdump)
#   lease file             '--- wan0 [isc2] lan0   a fresh client after the restart
#
# RFC 8415 §18.3.2 / §18.3.4: a Reply acknowledges a binding, so the server
# must have stored it before sending (a durable lease store); the server
# contract: routes toward delegated prefixes are restored at start.  The
# kernel keeps routes across a kill -9 (a reboot would not), so the scenario
# flushes srv's proto 118 routes while the server is down.
# Checks: perfdhcp got Replies before the kill and the kill hit it mid-run;
# after the restart every address and prefix perfdhcp received in a Reply
# (decoded from the capture) is in `leases`, and there are at least as many
# of perfdhcp's leases as Replies it counted; the three clients' prefixes are
# leased (with their next hops) and routed again, and every prefix lease has
# its route; no prefix or address is in two leases; a fresh client gets a
# prefix no lease holds.
#
# Knobs: RESTART_RATE (perfdhcp exchanges/s, default 1000), RESTART_LOAD
# (seconds of load before the kill, default 3).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
LAB_TIMEOUT=${LAB_TIMEOUT:-120}    # watchdog (netns.sh)
. "$HERE/../lab/netns.sh"
. "$HERE/../lab/peers.sh"
. "$HERE/../lab/server.sh"

RATE=${RESTART_RATE:-1000}
LOAD=${RESTART_LOAD:-3}
PERF_SECS=$(( LOAD + 3 ))     # perfdhcp's run outlasts the server
ROLES=(wide isc cpe)
lab_init "server-restart-$SERVER_IMPL"
server_require perfdhcp tcpdump
echo "server-restart: SERVER_IMPL=$SERVER_IMPL, perfdhcp $RATE/s, kill after ${LOAD}s of load"

server_topology
srv_start
cli_add "${ROLES[@]}"
for role in "${ROLES[@]}"; do cli_start "$role"; done
declare -A PD=() LL=()
for role in "${ROLES[@]}"; do
    PD[$role]=$(cli_wait_prefix "$role" 30) || PD[$role]=
    LL[$role]=$(cli_ll "$role")
    echo "$role: prefix ${PD[$role]:-none} via ${LL[$role]} ($(lab_elapsed)s)"
done
lab_check "the three clients hold distinct prefixes" \
    test "$(printf '%s\n' "${PD[@]}" | grep -c .)" = 3 -a "$(printf '%s\n' "${PD[@]}" | sort -u | grep -c .)" = 3

# Load: perfdhcp (IA_NA + IA_PD per exchange), every Reply captured.
srv_attach perf eth0
lab_daemon perf perf-cap tcpdump -i eth0 -n -U -s 0 -B 8192 -w "$LAB_DIR/perf-cap.pcap" udp dst port 546
lab_wait 5 grep -q 'listening on' "$LAB_DIR/perf-cap.log" || lab_die "tcpdump not listening"
# -R: distinct simulated clients (DUIDs); that many that two exchanges almost
# never share one, so each Reply is a lease of its own.
lab_daemon perf perfdhcp perfdhcp -6 -l eth0 -e address-and-prefix -r "$RATE" -p "$PERF_SECS" \
    -R 2000000000 -g single all
sleep "$LOAD"
PERF_RUNNING_AT_KILL=0
lab_alive perfdhcp && PERF_RUNNING_AT_KILL=1
srv_kill9 || lab_die "could not kill the server"
echo "server killed at $(lab_elapsed)s (perfdhcp running: $PERF_RUNNING_AT_KILL)"
lab_wait $(( PERF_SECS + 10 )) sh -c "! kill -0 $(cat "$LAB_DIR/perfdhcp.pid") 2>/dev/null" \
    || lab_log "perfdhcp still running"
lab_stop perf-cap
sed -n '/Statistics for: REQUEST-REPLY/,/^$/p' "$LAB_DIR/perfdhcp.log" | sed 's/^/  | /'
RR_RECV=$(awk '/^\*\*\*Statistics for: / { s = index($0, "REQUEST-REPLY") > 0 }
               s && /^received packets:/ { print $3; exit }' "$LAB_DIR/perfdhcp.log")
# What the Replies carried: "na ADDR/128" and "pd PREFIX" lines.
tcpdump -r "$LAB_DIR/perf-cap.pcap" -n -v 2>/dev/null | grep 'dhcp6 reply' >"$LAB_DIR/replies.txt"
{
    grep -o 'IA_ADDR [0-9a-f:]*' "$LAB_DIR/replies.txt" | awk '{print "na", $2 "/128"}'
    grep -o 'IA_PD-prefix [0-9a-f:]*/[0-9]*' "$LAB_DIR/replies.txt" | awk '{print "pd", $2}'
} | sort -u >"$LAB_DIR/replied.txt"
echo "perfdhcp: ${RR_RECV:-?} Replies counted; captured $(wc -l <"$LAB_DIR/replies.txt") Replies," \
    "$(grep -c '^na' "$LAB_DIR/replied.txt") addresses, $(grep -c '^pd' "$LAB_DIR/replied.txt") prefixes"

# A reboot would lose the kernel's routes; the restarted server must restore them.
ip -n "$(lab_ns srv)" -6 route flush proto "$SRV_PROTO" 2>/dev/null
srv_start 20
srv_leases_to "$LAB_DIR/leases-after.json" || lab_log "no lease list after the restart"
N_PD=$(lab_json "len([l for l in d['leases'] if l['type'] == 'pd'])" <"$LAB_DIR/leases-after.json" 2>/dev/null)
N_NA=$(lab_json "len([l for l in d['leases'] if l['type'] == 'na'])" <"$LAB_DIR/leases-after.json" 2>/dev/null)
echo "after the restart ($(lab_elapsed)s): ${N_PD:-?} prefix leases, ${N_NA:-?} address leases"

lab_check "perfdhcp got Replies before the kill (${RR_RECV:-0})" test "${RR_RECV:-0}" -gt 0
lab_check "the kill came while perfdhcp was still loading the server" test "$PERF_RUNNING_AT_KILL" = 1
lab_check "the capture holds Replies with addresses and prefixes" \
    sh -c "grep -q '^na' '$LAB_DIR/replied.txt' && grep -q '^pd' '$LAB_DIR/replied.txt'"
MISSING=$("$LAB_PY" - "$LAB_DIR/replied.txt" "$LAB_DIR/leases-after.json" <<'PY' 2>&1
import json, sys
have = {(l["type"], l["prefix"]) for l in json.load(open(sys.argv[2]))["leases"]}
miss = [t + " " + p for t, p in (line.split() for line in open(sys.argv[1])) if (t, p) not in have]
print(len(miss), " ".join(miss[:5]))
PY
)
lab_check "every address and prefix perfdhcp got in a Reply is leased after the restart (missing: ${MISSING:-?})" \
    test "${MISSING%% *}" = 0
# perfdhcp's own count: each Reply was one new client, one address and one prefix.
lab_check "at least as many prefix leases (${N_PD:-0} - 3 clients) as Replies perfdhcp counted (${RR_RECV:-?})" \
    test "$(( ${N_PD:-0} - 3 ))" -ge "${RR_RECV:-1}"
lab_check "at least as many address leases (${N_NA:-0}) as Replies perfdhcp counted (${RR_RECV:-?})" \
    test "${N_NA:-0}" -ge "${RR_RECV:-1}"
for role in "${ROLES[@]}"; do
    lab_check "$role's ${PD[$role]:-none} is still leased" srv_has_lease "$LAB_DIR/leases-after.json" "${PD[$role]:-none}"
    lab_xcheck "$XF_NEXTHOP" "$role's ${PD[$role]:-none} still has next hop ${LL[$role]}" \
        srv_has_lease "$LAB_DIR/leases-after.json" "${PD[$role]:-none}" "${LL[$role]}"
done
lab_check "no prefix or address is in two leases" \
    json_true "d['leases'] and len(set(l['prefix'] for l in d['leases'])) == len(d['leases'])" "$LAB_DIR/leases-after.json"
lab_check "every prefix lease is a /$SRV_PD_LEN inside $SRV_PD_POOL (so, unique, none overlaps another)" \
    "$LAB_PY" -c 'import ipaddress as i, json, sys
pool = i.IPv6Network(sys.argv[2])
nets = [i.IPv6Network(l["prefix"]) for l in json.load(open(sys.argv[1]))["leases"] if l["type"] == "pd"]
sys.exit(0 if nets and all(n.prefixlen == int(sys.argv[3]) and n.subnet_of(pool) for n in nets) else 1)' \
    "$LAB_DIR/leases-after.json" "$SRV_PD_POOL" "$SRV_PD_LEN"

# Routes: restored at start (they were flushed above).
[ "$SERVER_IMPL" = kea ] || lab_wait 10 sh -c "[ \"\$(ip -n $(lab_ns srv) -6 route show proto $SRV_PROTO | wc -l)\" -ge '${N_PD:-1}' ]"
N_ROUTES=$(srv_routes | wc -l)
for role in "${ROLES[@]}"; do
    lab_xcheck "$XF_ROUTE" "route for $role's ${PD[$role]:-none} via ${LL[$role]} restored" \
        srv_route "${PD[$role]:-none}" "${LL[$role]}"
done
lab_xcheck "$XF_ROUTE" "every prefix lease has its route again ($N_ROUTES routes, ${N_PD:-?} prefix leases)" \
    test "$N_ROUTES" = "${N_PD:-x}"

# A client that arrives after the restart gets a prefix nobody holds.
cli_add isc2
cli_start isc2
NEW=$(cli_wait_prefix isc2 30) || NEW=
echo "isc2 (fresh): ${NEW:-none} ($(lab_elapsed)s)"
lab_check "a fresh client after the restart gets a /$SRV_PD_LEN inside $SRV_PD_POOL (${NEW:-none})" \
    lab_within "${NEW:-::/128}" "$SRV_PD_POOL" "$SRV_PD_LEN"
lab_check "... that no lease held before it (${NEW:-none})" \
    json_true "'${NEW:-none}' not in [l['prefix'] for l in d['leases']] and '$NEW' != ''" "$LAB_DIR/leases-after.json"
srv_leases_to "$LAB_DIR/leases-end.json"
lab_check "still no prefix or address in two leases" \
    json_true "d['leases'] and len(set(l['prefix'] for l in d['leases'])) == len(d['leases'])" "$LAB_DIR/leases-end.json"

lab_finish
