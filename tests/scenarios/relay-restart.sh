#!/bin/bash
# relay-restart.sh - the relay crashes while its clients hold prefixes and
# comes back with its routes from the state directory, and only those.
#
#   [wide]  wan0 --+
#   [isc]   wan0 --+-- lan0 [rly] wan0 ---- isp0 [srv]
#   [wide2] wan0 --+   RELAY_IMPL           SERVER (default kea)
#   [isc2]  wan0 --'   (isc2 joins after the restart)
#
# RFC 8987 §4 / RFC 9818 LPD-5 (the relay's routes for what it relayed)
# across a crash; relay contract: Relay::restore re-emits the routes of the
# live snooped delegations from the state dir (relay-bindings.json) and
# drops the rest.  Steps: wide, isc and wide2 get prefixes through the
# relay; wide2 releases (its route goes); the relay is killed (-9) and its
# proto 119 routes are flushed (a reboot loses them, a kill does not);
# restarted with the same state dir: the routes of wide and isc are back
# with their next hops, and the relay holds no other proto 119 route
# (none for wide2's released prefix, none twice); `v6edge leases` lists
# exactly those two; a new client (isc2) gets a prefix and a route through
# the restarted relay, and srv still reaches wide's lan0.  wide/isc relays
# keep no state and install no route: those checks are expected failures.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
LAB_TIMEOUT=${LAB_TIMEOUT:-120}    # watchdog (netns.sh)
. "$HERE/../lab/netns.sh"
. "$HERE/../lab/peers.sh"
. "$HERE/../lab/relay.sh"

ROLES=(wide isc wide2)
RLY=rly-$RELAY_IMPL
lab_init "relay-restart-$RELAY_IMPL-$SERVER"
relay_require
echo "relay-restart: RELAY_IMPL=$RELAY_IMPL SERVER=$SERVER"

relay_topology
rsrv_start
relay_start rly "$RLY" "$RELAY_IMPL" "$(rsrv_target)"
rcli_add rly "${ROLES[@]}" isc2
for role in "${ROLES[@]}"; do cli_start "$role"; done

declare -A PD=() LL=()
for role in "${ROLES[@]}"; do
    PD[$role]=$(cli_wait_prefix "$role" 30) || PD[$role]=
    LL[$role]=$(cli_ll "$role")
    echo "$role: prefix ${PD[$role]:-none}, wan0 ${LL[$role]} ($(lab_elapsed)s)"
    lab_check "$role holds a /$RLY_PD_LEN inside $RLY_PD_POOL (${PD[$role]:-none})" \
        lab_within "${PD[$role]:-::/128}" "$RLY_PD_POOL" "$RLY_PD_LEN"
done
all_routes() { local r; for r in "${ROLES[@]}"; do rly_route rly "${PD[$r]:-none}" "${LL[$r]}" || return 1; done; }
[ -n "$XF_RLY_ROUTE" ] || lab_wait 5 all_routes
rly_show rly
lab_xcheck "$XF_RLY_ROUTE" "before the crash: the relay routes all three prefixes" all_routes

# wide2 gives its prefix back while the relay is up.
W2=${PD[wide2]:-none}
cli_release wide2
[ -n "$XF_RLY_ROUTE" ] || lab_wait 10 rly_lacks_route rly "$W2"
lab_check "wide2 no longer holds $W2" test -z "$(cli_prefix wide2)"
lab_xcheck "$XF_RLY_ROUTE" "after wide2's Release: routes for wide and isc, none for $W2" \
    sh -c "[ \"\$(ip -n $(lab_ns rly) -6 route show proto $RLY_PROTO | grep -c .)\" = 2 ] && ! ip -n $(lab_ns rly) -6 route show proto $RLY_PROTO | grep -q '^$W2 '"

# The crash, then what a reboot would also lose.
lab_check "relay killed (-9)" lab_kill9 "$RLY"
lab_run ip -n "$(lab_ns rly)" -6 route flush proto "$RLY_PROTO"
lab_check "relay's proto $RLY_PROTO routes flushed" test -z "$(rly_routes rly)"

relay_start rly "$RLY" "$RELAY_IMPL" "$(rsrv_target)"
LIVE=(wide isc)
live_routes() { local r; for r in "${LIVE[@]}"; do rly_route rly "${PD[$r]:-none}" "${LL[$r]}" || return 1; done; }
[ -n "$XF_RLY_ROUTE" ] || lab_wait 10 live_routes
rly_show rly
for role in "${LIVE[@]}"; do
    lab_xcheck "$XF_RLY_ROUTE" "after the restart: route ${PD[$role]:-none} via $role's ${LL[$role]} dev lan0 is back" \
        rly_route rly "${PD[$role]:-none}" "${LL[$role]}"
done
# Exactly the live ones: wide2's released prefix stays gone, nothing twice.
exact_routes() {
    local want got
    want=$(printf '%s\n' "${PD[wide]:-x}" "${PD[isc]:-y}" | sort)
    got=$(rly_routes rly | awk '{print $1}' | sort)
    [ "$want" = "$got" ]
}
lab_xcheck "$XF_RLY_ROUTE" "after the restart: the relay's proto $RLY_PROTO routes are exactly wide's and isc's" exact_routes
lab_check "after the restart: no route for $W2 (released before the crash)" rly_lacks_route rly "$W2"
if [ "$RELAY_IMPL" = v6edge ]; then
    v6edge_leases_json "$RLY" >"$LAB_DIR/rly-leases.json" 2>"$LAB_DIR/rly-leases.err"
    sed 's/^/  | /' "$LAB_DIR/rly-leases.json"
    for role in "${LIVE[@]}"; do
        lab_check "after the restart: relay leases list ${PD[$role]:-none} via ${LL[$role]}" \
            rly_has_lease "$LAB_DIR/rly-leases.json" "${PD[$role]:-none}" "${LL[$role]}"
    done
    lab_check "after the restart: relay leases hold exactly two delegations" \
        json_true "len(d['leases']) == 2" "$LAB_DIR/rly-leases.json"
fi

# The restarted relay still relays (and routes) for a new client.
cli_start isc2
PD[isc2]=$(cli_wait_prefix isc2 30) || PD[isc2]=
LL[isc2]=$(cli_ll isc2)
echo "isc2: prefix ${PD[isc2]:-none} ($(lab_elapsed)s)"
lab_check "after the restart: a new client (isc2) gets a prefix inside $RLY_PD_POOL (${PD[isc2]:-none})" \
    lab_within "${PD[isc2]:-::/128}" "$RLY_PD_POOL" "$RLY_PD_LEN"
[ -n "$XF_RLY_ROUTE" ] || lab_wait 5 rly_route rly "${PD[isc2]:-none}" "${LL[isc2]}"
lab_xcheck "$XF_RLY_ROUTE" "after the restart: route ${PD[isc2]:-none} via isc2's ${LL[isc2]} dev lan0" \
    rly_route rly "${PD[isc2]:-none}" "${LL[isc2]}"

# The data path through the restarted relay (routes the relay lacks and the
# servers other than v6edge never add are added here, proto static).
[ -n "$XF_RLY_ROUTE" ] && [ -n "${PD[wide]}" ] && rly_route_back rly "${PD[wide]}" "${LL[wide]}"
[ "$SERVER" = v6edge ] || { [ -n "${PD[wide]}" ] && rsrv_route_back "${PD[wide]}"; }
WLAN=$(cli_lan_addr wide "${PD[wide]:-::/128}")
lab_wait 5 lab_ping srv "${WLAN:-::1}"
lab_check "after the restart: srv reaches ${WLAN:-none} on wide's lan0" lab_ping srv "${WLAN:-::1}"

lab_finish
