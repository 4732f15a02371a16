#!/bin/bash
# relay-pd.sh - requesting routers behind a DHCPv6 relay get their prefixes,
# and the relay routes each prefix toward the client that holds it.
#
#   [wide] wan0 --+-- lan0 [rly] wan0 ---- isp0 [srv]
#   [isc]  wan0 --'   RELAY_IMPL           SERVER=kea|isc|v6edge
#
# RFC 8415 §19 (relay agent behaviour), RFC 8987 §4 and RFC 9818 LPD-5: a
# relay on the path of a delegation installs a route for the delegated
# prefix toward the requesting router and withdraws it when the delegation
# ends.  Checks: WIDE dhcp6c and ISC dhclient -6 -P, behind the relay, each
# hold a /56 out of 2001:db8:200::/40 (the server chose the pool by the
# relay's link-address); the relay has "<prefix> via <client wan0
# link-local> dev lan0 proto 119" for each (wide/isc relays: expected
# failure, the test adds the route itself); a v6edge relay lists both in
# `v6edge leases --json` with their next hops, and in its status (JSON
# roles.relay bindings and the human list); a v6edge server routes each
# prefix via the relay (Kea/dhcpd: the test adds it); srv pings
# <prefix>::1 on each client's lan0 through the relay; each client releases
# (dhcp6c SIGTERM, dhclient -r) and the relay's route goes.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
LAB_TIMEOUT=${LAB_TIMEOUT:-120}    # watchdog (netns.sh)
. "$HERE/../lab/netns.sh"
. "$HERE/../lab/peers.sh"
. "$HERE/../lab/relay.sh"

ROLES=(wide isc)
RLY=rly-$RELAY_IMPL
lab_init "relay-pd-$RELAY_IMPL-$SERVER"
relay_require
echo "relay-pd: RELAY_IMPL=$RELAY_IMPL SERVER=$SERVER"

relay_topology
# v6edge: examples/relay.toml plus a [relay] hook that logs each event
# (issue 11: hooks for every role; docs/config.md "Hooks").
if [ "$RELAY_IMPL" = v6edge ]; then
    printf '#!/bin/sh\necho "$V6EDGE_ROLE $V6EDGE_EVENT $V6EDGE_PREFIX $V6EDGE_NEXT_HOP $V6EDGE_INTERFACE" >>"%s/hook.log"\n' "$LAB_DIR" >"$LAB_DIR/hook.sh"
    chmod 755 "$LAB_DIR/hook.sh"
    sed "s|^\[relay\]\$|[relay]\nhook = \"$LAB_DIR/hook.sh\"|" "$RLY_EXAMPLE" >"$LAB_DIR/relay-hook.toml"
    grep -q '^hook = ' "$LAB_DIR/relay-hook.toml" || lab_die "could not add the hook to $RLY_EXAMPLE"
    RLY_EXAMPLE=$LAB_DIR/relay-hook.toml
fi
rsrv_start
relay_start rly "$RLY" "$RELAY_IMPL" "$(rsrv_target)"
rcli_add rly "${ROLES[@]}"
for role in "${ROLES[@]}"; do cli_start "$role"; done

declare -A PD=() LL=() LAN=()
for role in "${ROLES[@]}"; do
    PD[$role]=$(cli_wait_prefix "$role" 30) || PD[$role]=
    LL[$role]=$(cli_ll "$role")
    LAN[$role]=$(cli_lan_addr "$role" "${PD[$role]:-::/128}")
    echo "$role: prefix ${PD[$role]:-none}, wan0 ${LL[$role]}, lan0 ${LAN[$role]:-none} ($(lab_elapsed)s)"
done

lab_check "relay ($RELAY_IMPL) is running" lab_alive "$RLY"
for role in "${ROLES[@]}"; do
    lab_check "$role (behind the relay) holds a /$RLY_PD_LEN inside $RLY_PD_POOL (${PD[$role]:-none})" \
        lab_within "${PD[$role]:-::/128}" "$RLY_PD_POOL" "$RLY_PD_LEN"
done
lab_check "the two prefixes are distinct" \
    test "$(printf '%s\n' "${PD[@]}" | sort -u | grep -c .)" = 2

# The relay's routes may follow the Reply by a moment: wait (once) for both.
all_rly_routes() { local r; for r in "${ROLES[@]}"; do rly_route rly "${PD[$r]:-none}" "${LL[$r]}" || return 1; done; }
[ -n "$XF_RLY_ROUTE" ] || lab_wait 5 all_rly_routes
rly_show rly
declare -A HAD_ROUTE=()
for role in "${ROLES[@]}"; do
    p=${PD[$role]:-none}
    if rly_route rly "$p" "${LL[$role]}"; then HAD_ROUTE[$role]=1; else HAD_ROUTE[$role]=0; fi
    lab_xcheck "$XF_RLY_ROUTE" "relay: route $p via $role's ${LL[$role]} dev lan0 proto $RLY_PROTO" \
        rly_route rly "$p" "${LL[$role]}"
    # The pings below need the route; add it where the relay does not.
    [ -n "$XF_RLY_ROUTE" ] && [ -n "${PD[$role]}" ] && rly_route_back rly "$p" "${LL[$role]}"
done
if [ -n "$XF_RLY_ROUTE" ]; then
    lab_xcheck "$XF_RLY_ROUTE" "relay: exactly one proto $RLY_PROTO route per relayed prefix" \
        test "$(rly_routes rly | grep -c .)" = 2
else
    lab_check "relay: exactly one proto $RLY_PROTO route per relayed prefix" \
        test "$(rly_routes rly | grep -c .)" = 2
fi

if [ "$RELAY_IMPL" = v6edge ]; then
    v6edge_leases_json "$RLY" >"$LAB_DIR/rly-leases.json" 2>"$LAB_DIR/rly-leases.err"
    sed 's/^/  | /' "$LAB_DIR/rly-leases.json"
    for role in "${ROLES[@]}"; do
        lab_check "relay leases: ${PD[$role]:-none} ($role) with next_hop ${LL[$role]} on lan0" \
            rly_has_lease "$LAB_DIR/rly-leases.json" "${PD[$role]:-none}" "${LL[$role]}"
    done
    v6edge_status_json "$RLY" >"$LAB_DIR/rly-status.json"
    v6edge_ctl "$RLY" status >"$LAB_DIR/rly-status.txt"
    sed 's/^/  | /' "$LAB_DIR/rly-status.txt"
    for role in "${ROLES[@]}"; do
        lab_check "relay status: roles.relay binds ${PD[$role]:-none} via ${LL[$role]} on lan0" \
            json_true "[b for b in d['roles']['relay']['bindings'] if b['prefix'] == '${PD[$role]:-none}' and b['next_hop'] == '${LL[$role]}' and b['interface'] == 'lan0']" \
            "$LAB_DIR/rly-status.json"
        lab_check "relay human status: ${PD[$role]:-none} via ${LL[$role]} on lan0" \
            grep -qF "${PD[$role]:-none} via ${LL[$role]} on lan0" "$LAB_DIR/rly-status.txt"
    done
    lab_check "relay status: relaying, ${#ROLES[@]} snooped, forwarded both ways" \
        json_true "d['roles']['relay']['relaying'] and d['roles']['relay']['snooped'] == ${#ROLES[@]} and d['roles']['relay']['counters']['forwarded_up'] > 0 and d['roles']['relay']['counters']['forwarded_down'] > 0" \
        "$LAB_DIR/rly-status.json"
fi

# The server's side of the path: a v6edge server routes the relayed
# prefixes via the relay itself; Kea and dhcpd do not (the test adds it).
all_srv_routes() { local r; for r in "${ROLES[@]}"; do rsrv_route "${PD[$r]:-none}" rly || return 1; done; }
if [ "$SERVER" = v6edge ]; then
    lab_wait 5 all_srv_routes
    rsrv_routes | sed 's/^/  srv route: /'
    for role in "${ROLES[@]}"; do
        lab_check "srv (v6edge): route ${PD[$role]:-none} via the relay dev isp0 proto 118" \
            rsrv_route "${PD[$role]:-none}" rly
    done
else
    for role in "${ROLES[@]}"; do [ -n "${PD[$role]}" ] && rsrv_route_back "${PD[$role]}"; done
fi
for role in "${ROLES[@]}"; do
    lab_wait 5 lab_ping srv "${LAN[$role]:-::1}"
    lab_check "srv reaches ${LAN[$role]:-none} on $role's lan0 through the relay" \
        lab_ping srv "${LAN[$role]:-::1}"
done

# Release, one client at a time: the relay's route for that prefix goes.
# (A relay that never had the route cannot remove it: expected failure.)
for role in "${ROLES[@]}"; do
    p=${PD[$role]:-none}
    cli_release "$role"
    [ -n "$XF_RLY_ROUTE" ] || lab_wait 10 rly_lacks_route rly "$p"
    echo "$role released $p ($(lab_elapsed)s)"
    lab_check "$role no longer holds $p" test -z "$(cli_prefix "$role")"
    lab_xcheck "$XF_RLY_ROUTE" "after $role's Release: the relay's route for $p is gone" \
        sh -c "[ ${HAD_ROUTE[$role]} = 1 ] && ! ip -n $(lab_ns rly) -6 route show proto $RLY_PROTO | grep -q '^$p '"
    if [ "$SERVER" = v6edge ]; then
        lab_check "after $role's Release: srv (v6edge) has no route for $p" lab_wait 10 rsrv_lacks_route "$p"
    fi
done
rly_show rly
if [ "$RELAY_IMPL" = v6edge ]; then
    lab_check "relay: no proto $RLY_PROTO route left" test -z "$(rly_routes rly)"
    lab_check "relay leases: empty after both Releases" \
        sh -c "'$V6EDGE_BIN' leases --json --control '$LAB_DIR/$RLY.sock' | '$LAB_PY' -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)[\"leases\"] == [] else 1)'"
    sed 's/^/  hook: /' "$LAB_DIR/hook.log" 2>/dev/null
    for role in "${ROLES[@]}"; do
        lab_check "[relay] hook: binding-added then binding-removed for ${PD[$role]:-none} via ${LL[$role]} on lan0" \
            sh -c "grep -E ' ${PD[$role]:-none} ' '$LAB_DIR/hook.log' | grep -v binding-renewed | cut -d' ' -f2- | tr '\n' ' ' | grep -qx 'binding-added ${PD[$role]:-none} ${LL[$role]} lan0 binding-removed ${PD[$role]:-none} ${LL[$role]} lan0 '"
    done
fi

lab_finish
