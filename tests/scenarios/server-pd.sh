#!/bin/bash
# server-pd.sh - the delegating server hands /56s to three different
# requesting routers, routes each toward its holder, and takes it back on
# Release.
#
#   [srv] isp0 ---- switch ---- wan0 [wide] lan0   WIDE dhcp6c (ia-pd)
#   SERVER_IMPL=v6edge|kea |--- wan0 [isc]  lan0   ISC dhclient -6 -P
#                          '--- wan0 [cpe]  lan0   v6edge, examples/cpe.toml
#
# RFC 8415 §18.3 (server behaviour: Solicit/Request, Release), RFC 8415 §6.3
# and RFC 7084 WPD-5's other half: the delegating router needs a route toward
# every prefix it delegated (lab scenario e shows the loop without it).
# Checks (real outcomes only): each client holds a distinct /56 out of
# 2001:db8:100::/40; srv has "<prefix> via <client wan0 link-local> dev isp0
# proto 118" for each (Kea: expected failure, the test adds the route itself
# so the pings still run); srv pings <prefix>::1 on each client's lan0;
# `leases --json` lists the three prefixes with their next hops (Kea: no next
# hop, expected failure); v6edge's status counts them in its pool (JSON, under
# roles too, and the human "used 3 of" line).  Then each
# client releases (dhcp6c SIGTERM, dhclient -r, `v6edge release`): its lease
# leaves `leases` and its route leaves srv; the pool is empty again.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
LAB_TIMEOUT=${LAB_TIMEOUT:-120}    # watchdog (netns.sh)
. "$HERE/../lab/netns.sh"
. "$HERE/../lab/peers.sh"
. "$HERE/../lab/server.sh"

ROLES=(wide isc cpe)
lab_init "server-pd-$SERVER_IMPL"
server_require
echo "server-pd: SERVER_IMPL=$SERVER_IMPL"

server_topology
srv_start
cli_add "${ROLES[@]}"
for role in "${ROLES[@]}"; do cli_start "$role"; done

declare -A PD=() LL=() LAN=()
for role in "${ROLES[@]}"; do
    PD[$role]=$(cli_wait_prefix "$role" 30) || PD[$role]=
    LL[$role]=$(cli_ll "$role")
    LAN[$role]=$(cli_lan_addr "$role" "${PD[$role]:-::/128}")
    echo "$role: prefix ${PD[$role]:-none}, wan0 ${LL[$role]}, lan0 ${LAN[$role]:-none} ($(lab_elapsed)s)"
done
srv_show

lab_check "server ($SERVER_IMPL) is running" lab_alive "$(srv_name)"
for role in "${ROLES[@]}"; do
    lab_check "$role holds a /$SRV_PD_LEN inside $SRV_PD_POOL (${PD[$role]:-none})" \
        lab_within "${PD[$role]:-::/128}" "$SRV_PD_POOL" "$SRV_PD_LEN"
done
lab_check "the three prefixes are distinct" \
    test "$(printf '%s\n' "${PD[@]}" | grep -c .)" = 3 -a "$(printf '%s\n' "${PD[@]}" | sort -u | grep -c .)" = 3

# The route may follow the Reply by a moment: wait (once) for all three.
all_routes() { local r; for r in "${ROLES[@]}"; do srv_route "${PD[$r]:-none}" "${LL[$r]}" || return 1; done; }
[ "$SERVER_IMPL" = kea ] || lab_wait 5 all_routes
for role in "${ROLES[@]}"; do
    lab_xcheck "$XF_ROUTE" "srv: route ${PD[$role]:-none} via $role's ${LL[$role]} dev isp0 proto $SRV_PROTO" \
        srv_route "${PD[$role]:-none}" "${LL[$role]}"
    [ "$SERVER_IMPL" = kea ] && [ -n "${PD[$role]}" ] && srv_route_back "${PD[$role]}" "${LL[$role]}"
done
srv_routes | sed 's/^/  srv route: /'
for role in "${ROLES[@]}"; do
    lab_wait 5 lab_ping srv "${LAN[$role]:-::1}"
    lab_check "srv reaches ${LAN[$role]:-none} on $role's lan0" lab_ping srv "${LAN[$role]:-::1}"
done

srv_leases_to "$LAB_DIR/leases.json"
sed 's/^/  | /' "$LAB_DIR/leases.json"
for role in "${ROLES[@]}"; do
    lab_check "leases: ${PD[$role]:-none} ($role) is listed" \
        srv_has_lease "$LAB_DIR/leases.json" "${PD[$role]:-none}"
    lab_xcheck "$XF_NEXTHOP" "leases: ${PD[$role]:-none} has next_hop ${LL[$role]} on isp0" \
        srv_has_lease "$LAB_DIR/leases.json" "${PD[$role]:-none}" "${LL[$role]}"
done
lab_check "leases: exactly three prefix leases, no prefix twice" \
    json_true "len([l for l in d['leases'] if l['type'] == 'pd']) == 3 and len(set(l['prefix'] for l in d['leases'])) == len(d['leases'])" \
    "$LAB_DIR/leases.json"
lab_check "leases: lifetimes within the pool's (valid <= $SRV_VALID, preferred <= valid)" \
    json_true "all(0 < l['valid'] <= $SRV_VALID and l['preferred'] <= l['valid'] for l in d['leases'])" \
    "$LAB_DIR/leases.json"
if [ "$SERVER_IMPL" = v6edge ]; then
    srv_status_json >"$LAB_DIR/status.json"
    lab_check "status: uplink is null (server-only node)" json_true "d['uplink'] is None" "$LAB_DIR/status.json"
    lab_check "status: server.leases.pd is 3" json_true "d['server']['leases']['pd'] == 3" "$LAB_DIR/status.json"
    lab_check "status: pool isp0 $SRV_PD_POOL /$SRV_PD_LEN has 3 used of 65536" \
        json_true "[p for p in d['server']['pools'] if p['link'] == 'isp0' and p['prefix'] == '$SRV_PD_POOL' and p['delegated_length'] == $SRV_PD_LEN and p['used'] == 3 and p['total'] == 65536]" \
        "$LAB_DIR/status.json"
    lab_check "status: roles has delegating-server alone, with the same pools (pd pool used 3)" \
        json_true "sorted(d['roles']) == ['delegating-server'] and d['roles']['delegating-server']['pools'] == d['server']['pools'] and [p for p in d['roles']['delegating-server']['pools'] if p['type'] == 'pd' and p['used'] == 3]" \
        "$LAB_DIR/status.json"
    v6edge_ctl srv-v6edge status >"$LAB_DIR/status.txt"
    sed 's/^/  | /' "$LAB_DIR/status.txt"
    lab_check "human status: pool isp0 pd $SRV_PD_POOL delegating /$SRV_PD_LEN: used 3 of 65536" \
        grep -qF "pool isp0 pd $SRV_PD_POOL delegating /$SRV_PD_LEN: used 3 of 65536" "$LAB_DIR/status.txt"
    lab_check "human status: no uplink lines (delegated prefixes, dns) on a server-only node" \
        sh -c '! grep -qE "^(delegated prefixes|dns )" "$1"' _ "$LAB_DIR/status.txt"
    # Paged and filtered (issue 11: usable with a million leases).
    v6edge_ctl srv-v6edge leases --limit 1 >"$LAB_DIR/leases-1.txt" 2>&1
    sed 's/^/  | /' "$LAB_DIR/leases-1.txt"
    lab_check "leases --limit 1: one lease and '1 of 3 leases shown'" \
        sh -c "[ \$(grep -c ' via ' '$LAB_DIR/leases-1.txt') = 1 ] && grep -q '^1 of 3 leases shown' '$LAB_DIR/leases-1.txt'"
    ONE=$(printf '%s\n' "${PD[@]}" | head -n 1)
    lab_check "leases --prefix $ONE --json: exactly that lease, total 1" \
        sh -c "timeout 5 '$V6EDGE_BIN' leases --json --prefix '$ONE' --control '$LAB_DIR/srv-v6edge.sock' | '$LAB_PY' -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if d[\"total\"] == 1 and [l[\"prefix\"] for l in d[\"leases\"]] == [\"$ONE\"] else 1)'"
    # RFC 8415 §11.2, docs/config.md: the server's own DUID is a DUID-LLT
    # (type 1, Ethernet) from its interface's MAC, as ISPs expect.
    SRV_MAC=$(ip -n "$(lab_ns srv)" link show isp0 | awk '/link\/ether/ { gsub(":", "", $2); print $2 }')
    lab_check "the server's DUID is a DUID-LLT from isp0's MAC ($SRV_MAC)" \
        sh -c 'd=$(tr -d ":\n" <"$1"); case "$d" in 00010001????????"$2") true ;; *) echo "duid $d" >&2; false ;; esac' \
        _ "$LAB_DIR/srv-v6edge.state/duid" "$SRV_MAC"
fi

# Release, one client at a time: dhcp6c on SIGTERM, dhclient -r, v6edge release.
for role in "${ROLES[@]}"; do
    p=${PD[$role]:-none}
    cli_release "$role"
    lab_wait 10 srv_lacks_lease "$p"
    echo "$role released $p ($(lab_elapsed)s)"
    lab_check "$role no longer holds $p" test -z "$(cli_prefix "$role")"
    lab_check "after $role's Release: $p is gone from leases" srv_lacks_lease "$p"
    if [ "$SERVER_IMPL" = v6edge ]; then
        lab_check "after $role's Release: srv has no route for $p" \
            lab_wait 5 srv_lacks_route "$p"
    fi
done
srv_show
if [ "$SERVER_IMPL" = v6edge ]; then
    srv_status_json >"$LAB_DIR/status-after.json"
    lab_check "status: the pool is empty again (used 0, server.leases.pd 0)" \
        json_true "d['server']['leases']['pd'] == 0 and all(p['used'] == 0 for p in d['server']['pools'])" \
        "$LAB_DIR/status-after.json"
    lab_check "srv has no proto $SRV_PROTO route left" test -z "$(srv_routes)"
fi

lab_finish
