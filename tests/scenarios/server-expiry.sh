#!/bin/bash
# server-expiry.sh - short lifetimes: leases live as long as their clients
# renew them, and end (lease and route) when a client vanishes without a
# Release.
#
#   [srv] isp0 ---- switch ---- wan0 [wide] lan0   WIDE dhcp6c (ia-pd)
#   SERVER_IMPL=v6edge|kea |--- wan0 [isc]  lan0   ISC dhclient -6 -P
#   pools: preferred 10 s, '--- wan0 [cpe]  lan0   v6edge, examples/cpe.toml
#   valid 20 s (v6edge: a copy of examples/isp-server.toml with these values)
#
# RFC 8415 §18.3.4 (Renew extends the binding), §18.3.9 / §21.22 (a lease
# ends when its valid lifetime runs out; the server may then reuse it), and
# the server contract: the route toward a delegated prefix goes with it.
# Checks: each client gets a prefix (and srv a route toward it); a full
# valid lifetime later every client still holds the same prefix and the
# server still lists it (Renews worked); each client is killed with SIGKILL
# (no Release): the lease is still listed right after, and within the valid
# lifetime (+ 8 s) the lease is gone from `leases` and the route from srv.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
LAB_TIMEOUT=${LAB_TIMEOUT:-120}    # watchdog (netns.sh)
. "$HERE/../lab/netns.sh"
. "$HERE/../lab/peers.sh"
SRV_PREFERRED=10
SRV_VALID=20
. "$HERE/../lab/server.sh"

ROLES=(wide isc cpe)
lab_init "server-expiry-$SERVER_IMPL"
server_require
# v6edge: a lease hook that records every event (issue 3: hooks for
# firewalls and accounting, run after the lease change is durable).
if [ "$SERVER_IMPL" = v6edge ]; then
    SRV_HOOK=$LAB_DIR/hook.sh
    printf '#!/bin/sh\necho "$V6EDGE_EVENT $V6EDGE_TYPE $V6EDGE_PREFIX ${V6EDGE_NEXT_HOP:--} ${V6EDGE_INTERFACE:--}" >>%s\n' \
        "$LAB_DIR/hook.log" >"$SRV_HOOK"
    chmod 755 "$SRV_HOOK"
fi
hook_saw() { grep -q "^$1 pd $2 " "$LAB_DIR/hook.log" 2>/dev/null; }
echo "server-expiry: SERVER_IMPL=$SERVER_IMPL, preferred $SRV_PREFERRED s, valid $SRV_VALID s"

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
T_BOUND=$(date +%s)
all_routes() { local r; for r in "${ROLES[@]}"; do srv_route "${PD[$r]:-none}" "${LL[$r]}" || return 1; done; }
[ "$SERVER_IMPL" = kea ] || lab_wait 5 all_routes
srv_show
for role in "${ROLES[@]}"; do
    lab_check "$role holds a /$SRV_PD_LEN inside $SRV_PD_POOL (${PD[$role]:-none})" \
        lab_within "${PD[$role]:-::/128}" "$SRV_PD_POOL" "$SRV_PD_LEN"
    lab_xcheck "$XF_ROUTE" "srv: route ${PD[$role]:-none} via ${LL[$role]} dev isp0" \
        srv_route "${PD[$role]:-none}" "${LL[$role]}"
done
srv_leases_to "$LAB_DIR/leases-bound.json"
lab_check "leases: valid lifetimes are at most $SRV_VALID s" \
    json_true "d['leases'] and all(0 < l['valid'] <= $SRV_VALID for l in d['leases'])" "$LAB_DIR/leases-bound.json"

# One valid lifetime and a bit: only Renews keep the bindings alive.
sleep $(( T_BOUND + SRV_VALID + 5 - $(date +%s) ))
echo "--- $((SRV_VALID + 5)) s later ($(lab_elapsed)s)"
srv_show
srv_leases_to "$LAB_DIR/leases-renewed.json"
for role in "${ROLES[@]}"; do
    lab_check "after $((SRV_VALID + 5)) s $role still holds ${PD[$role]:-none}" \
        test "$(cli_prefix "$role")" = "${PD[$role]:-none}"
    lab_check "after $((SRV_VALID + 5)) s the server still lists ${PD[$role]:-none} (renewed)" \
        srv_has_lease "$LAB_DIR/leases-renewed.json" "${PD[$role]:-none}"
    lab_xcheck "$XF_ROUTE" "after $((SRV_VALID + 5)) s srv still routes ${PD[$role]:-none}" \
        srv_route "${PD[$role]:-none}" "${LL[$role]}"
done

# The clients die without a Release.
for role in "${ROLES[@]}"; do cli_kill9 "$role" || lab_log "could not kill $role"; done
echo "clients killed at $(lab_elapsed)s"
srv_leases_to "$LAB_DIR/leases-killed.json"
for role in "${ROLES[@]}"; do
    lab_check "right after $role died, ${PD[$role]:-none} is still leased (valid lifetime left)" \
        srv_has_lease "$LAB_DIR/leases-killed.json" "${PD[$role]:-none}"
done
all_gone() {
    local r
    for r in "${ROLES[@]}"; do
        srv_lacks_lease "${PD[$r]:-none}" || return 1
        [ "$SERVER_IMPL" = kea ] || srv_lacks_route "${PD[$r]:-none}" || return 1
    done
}
lab_wait $(( SRV_VALID + 8 )) all_gone
echo "--- after expiry ($(lab_elapsed)s)"
srv_show
for role in "${ROLES[@]}"; do
    lab_check "within $((SRV_VALID + 8)) s of the kill ${PD[$role]:-none} ($role) left leases" \
        srv_lacks_lease "${PD[$role]:-none}"
    if [ "$SERVER_IMPL" = v6edge ]; then
        lab_check "within $((SRV_VALID + 8)) s of the kill srv has no route for ${PD[$role]:-none}" \
            srv_lacks_route "${PD[$role]:-none}"
    fi
done
if [ "$SERVER_IMPL" = v6edge ]; then
    srv_status_json >"$LAB_DIR/status.json"
    lab_check "status: the pool is empty again (server.leases.pd 0, used 0)" \
        json_true "d['server']['leases']['pd'] == 0 and all(p['used'] == 0 for p in d['server']['pools'])" \
        "$LAB_DIR/status.json"
fi

if [ "$SERVER_IMPL" = v6edge ]; then
    for role in "${ROLES[@]}"; do
        lab_check "hook: granted ${PD[$role]:-none} ($role)" hook_saw granted "${PD[$role]:-none}"
        lab_check "hook: renewed ${PD[$role]:-none} ($role)" hook_saw renewed "${PD[$role]:-none}"
        lab_check "hook: expired ${PD[$role]:-none} ($role)" hook_saw expired "${PD[$role]:-none}"
    done
    lab_check "hook: the next hop and interface are passed" grep -q '^granted pd .* fe80::[0-9a-f:]* isp0$' "$LAB_DIR/hook.log"
    sed 's/^/  hook: /' "$LAB_DIR/hook.log" | head -12
fi
lab_finish
