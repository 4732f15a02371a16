#!/bin/bash
# server-flood.sh - a DHCPv6 flood on the customer link does not stop the
# delegating server.
#
#   [srv] isp0 ---- switch ---- eth0 [flood]   tools/flood.py dhcp6
#                        \----- wan0 [wide]     WIDE dhcp6c, started after
#
# Ten seconds (FLOOD_SECONDS) of Solicits and Requests (IA_NA + IA_PD) from
# 20 000 made-up hosts, each with its own random MAC and link-local address,
# to ff02::1:2 on the customer link of examples/isp-server.toml. Every
# answer goes to a neighbour that never resolves, which is what once stalled
# the server: its sends waited for socket buffer space held by packets
# queued for those neighbours, and it read nothing more for as long as the
# kernel kept failing resolutions (issue 14). Checks:
#   - right after the flood a fresh WIDE dhcp6c gets its /56 (and the route
#     toward it) within 20 s;
#   - the server's receive queue on UDP 547 has drained (it is reading);
#   - the flood was limited and counted: status shows rate-limited drops
#     with the reason "rate-limited", and the server holds far fewer leases
#     than the flood's fake hosts (bounded state);
#   - the daemon logged no more than a few lines per second of the flood.
#   SERVER_IMPL=v6edge|kea (Kea: the comparison; the v6edge-only checks skip)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
LAB_TIMEOUT=${LAB_TIMEOUT:-120}
# Info, not the lab's debug: the check counts what an operator's log gets.
: "${V6EDGE_LOG:=info}"
. "$HERE/../lab/netns.sh"
. "$HERE/../lab/peers.sh"
. "$HERE/../lab/server.sh"

FLOOD_SECONDS=${FLOOD_SECONDS:-10}
lab_init "server-flood-$SERVER_IMPL"
server_require /usr/bin/python3
echo "server-flood: SERVER_IMPL=$SERVER_IMPL, $FLOOD_SECONDS s of Solicits/Requests"

server_topology
srv_start
srv_attach flood eth0
cli_add wide

log_lines() { wc -l <"$LAB_DIR/$(srv_name).log" 2>/dev/null || echo 0; }
L0=$(log_lines)
lab_exec flood timeout $((FLOOD_SECONDS + 20)) /usr/bin/python3 "$HERE/../lab/tools/flood.py" \
    eth0 dhcp6 --seconds "$FLOOD_SECONDS" --sources 20000 >"$LAB_DIR/flood.out" 2>&1
cat "$LAB_DIR/flood.out"
SENT=$(awk '/^sent / {print $2}' "$LAB_DIR/flood.out")
lab_check "the flood ran (more than 10 000 packets sent)" test "${SENT:-0}" -gt 10000
T_END=$(date +%s.%N)

cli_start wide
P=$(cli_wait_prefix wide 20)
T_GOT=$(date +%s.%N)
lab_check "a fresh WIDE dhcp6c gets a /$SRV_PD_LEN right after the flood" test -n "$P"
[ -n "$P" ] && echo "fresh client served $(awk -v a="$T_END" -v b="$T_GOT" 'BEGIN{printf "%.1f", b-a}') s after the flood"
if [ -n "$P" ]; then
    lab_xcheck "$XF_ROUTE" "the server routes $P via the fresh client" lab_wait 5 srv_route "$P" "$(cli_ll wide)"
fi
recvq() { lab_exec srv ss -Hun 'sport = :547' | awk '{s += $2} END {print s + 0}'; }
lab_check "the server has read its UDP 547 queue (under 100 kB left)" \
    lab_wait 10 sh -c "[ \$(ip netns exec $(lab_ns srv) ss -Hun 'sport = :547' | awk '{s += \$2} END {print s + 0}') -lt 100000 ]"
echo "UDP 547 receive queue now: $(recvq) bytes"

if [ "$SERVER_IMPL" = v6edge ]; then
    srv_status_json >"$LAB_DIR/status.json"
    lab_json 'd["server"]["counters"]' <"$LAB_DIR/status.json" | sed 's/^/  server counters: /'
    lab_json 'd["io"]' <"$LAB_DIR/status.json" | sed 's/^/  io: /'
    lab_check "flood messages were dropped by the rate limits and counted (status io.dropped)" \
        json_true 'sum(n for r, n in d["io"]["dropped"].get("dhcp6-server", {}).items() if r.startswith("rate-limited")) > 1000' "$LAB_DIR/status.json"
    lab_check "the same drops are in the metrics, reason labels lowercase" \
        sh -c "'$V6EDGE_BIN' metrics --control '$LAB_DIR/srv-v6edge.sock' | grep -Eq 'dropped_total\{protocol=\"dhcp6-server\",reason=\"rate-limited-(link|source)\"\} [0-9]{4,}'"
    srv_leases_to "$LAB_DIR/leases.json"
    N=$(lab_json 'len(d["leases"])' <"$LAB_DIR/leases.json")
    echo "leases held after the flood: $N"
    lab_check "bounded state: fewer leases than a tenth of the fake hosts" test "${N:-99999}" -lt 2000
    L1=$(log_lines)
    echo "daemon log lines during the flood and after: $((L1 - L0))"
    lab_check "the log is not flooded (under 200 lines)" test $((L1 - L0)) -lt 200
fi
lab_finish
