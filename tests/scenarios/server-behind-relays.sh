#!/bin/bash
# server-behind-relays.sh - the v6edge delegating server serves clients
# behind WIDE dhcp6relay and behind ISC dhcrelay -6, and routes each
# relayed prefix via the relay it came through.
#
#   [wideN] wan0 --+-- lan0 [rly] wan0 ---- isp0 [srv]
#   [iscN]  wan0 --'   dhcp6relay, then     v6edge, examples/isp-server.toml
#                      dhcrelay -6          + [[server.link]] relay-link
#                                           2001:db8:a1::/64
#
# The server half of RFC 8987 / RFC 9818 LPD-5 and the server contract: a
# relayed client's prefix is routed "via the relay's address" (the source of
# the Relay-forward), not via the client's link-local, which is not on the
# server's link.  Per relay (RELAYS, default "wide isc"; the relay runs in
# the same namespace, one after the other, each round with fresh clients
# wideN and iscN): both clients hold a /56 out of 2001:db8:200::/40 (the
# relay-link's pool, chosen by the link-address 2001:db8:a1::1); srv has
# "<prefix> via <relay wan0 address> dev isp0 proto 118"; `leases --json`
# lists the prefix with that next hop on isp0; srv pings <prefix>::1 on the
# client's lan0 (the relay's route toward the client is added by the test:
# these relays install none); each client releases, and its lease and the
# server's route go.  Runs in full today: it does not use the v6edge relay
# (RELAYS may name v6edge too once it exists).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
LAB_TIMEOUT=${LAB_TIMEOUT:-150}    # watchdog (netns.sh)
# shellcheck disable=SC2034  # SERVER and RELAY_IMPL are read by relay.sh
SERVER=v6edge
# RELAYS decides; relay.sh wants a valid RELAY_IMPL: the first of them.
RELAYS=${RELAYS:-wide isc}
# shellcheck disable=SC2034
RELAY_IMPL=${RELAYS%% *}
. "$HERE/../lab/netns.sh"
. "$HERE/../lab/peers.sh"
. "$HERE/../lab/relay.sh"

read -r -a KINDS <<<"$RELAYS"
lab_init server-behind-relays
relay_require
for kind in "${KINDS[@]}"; do _relay_require_impl "$kind"; done
echo "server-behind-relays: SERVER=v6edge, relays: ${KINDS[*]}"

relay_topology
rsrv_start

# srv_lease_via FILE PREFIX: a saved leases object lists PREFIX with the
# relay's wan0 address (global or link-local) as next hop on isp0.
srv_lease_via() {
    json_true "[l for l in d['leases'] if l['type'] == 'pd' and l['prefix'] == '$2' and l['next_hop'] in ('$(lab_global rly wan0)', '$(lab_ll rly wan0)') and l['interface'] == 'isp0']" "$1"
}
srv_lacks_prefix() {
    v6edge_leases_json rsrv-v6edge >"$LAB_DIR/leases.now.json" 2>/dev/null \
        && json_true "isinstance(d.get('leases'), list) and not [l for l in d['leases'] if l['prefix'] == '$1']" "$LAB_DIR/leases.now.json"
}

round=0
for kind in "${KINDS[@]}"; do
    round=$(( round + 1 ))
    roles=("wide$round" "isc$round")
    echo "=== round $round: relay $kind"
    if [ "$kind" = v6edge ]; then
        relay_start rly "rly-$kind" v6edge "$SRV_ADDR"
    else
        relay_start rly "rly-$kind" "$kind" "$SRV_ADDR"
    fi
    rcli_add rly "${roles[@]}"
    for role in "${roles[@]}"; do cli_start "$role"; done

    declare -A PD=() LL=() LAN=()
    for role in "${roles[@]}"; do
        PD[$role]=$(cli_wait_prefix "$role" 30) || PD[$role]=
        LL[$role]=$(cli_ll "$role")
        LAN[$role]=$(cli_lan_addr "$role" "${PD[$role]:-::/128}")
        echo "$role: prefix ${PD[$role]:-none}, lan0 ${LAN[$role]:-none} ($(lab_elapsed)s)"
        lab_check "[$kind] $role holds a /$RLY_PD_LEN inside $RLY_PD_POOL (${PD[$role]:-none})" \
            lab_within "${PD[$role]:-::/128}" "$RLY_PD_POOL" "$RLY_PD_LEN"
    done

    all_srv_routes() { local r; for r in "${roles[@]}"; do rsrv_route "${PD[$r]:-none}" rly || return 1; done; }
    lab_wait 5 all_srv_routes
    rsrv_routes | sed 's/^/  srv route: /'
    v6edge_leases_json rsrv-v6edge >"$LAB_DIR/leases-$kind.json" 2>"$LAB_DIR/leases-$kind.err"
    sed 's/^/  | /' "$LAB_DIR/leases-$kind.json"
    for role in "${roles[@]}"; do
        p=${PD[$role]:-none}
        lab_check "[$kind] srv: route $p via the relay ($(lab_global rly wan0) or its link-local) dev isp0 proto 118" \
            rsrv_route "$p" rly
        lab_check "[$kind] srv leases: $p with the relay as next_hop on isp0" \
            srv_lease_via "$LAB_DIR/leases-$kind.json" "$p"
        # The relay's half of the path (these relays install no route).
        [ "$kind" = v6edge ] || { [ -n "${PD[$role]}" ] && rly_route_back rly "$p" "${LL[$role]}"; }
        lab_wait 5 lab_ping srv "${LAN[$role]:-::1}"
        lab_check "[$kind] srv reaches ${LAN[$role]:-none} on $role's lan0" lab_ping srv "${LAN[$role]:-::1}"
    done

    for role in "${roles[@]}"; do
        p=${PD[$role]:-none}
        cli_release "$role"
        lab_wait 10 srv_lacks_prefix "$p"
        lab_check "[$kind] after $role's Release: $p is gone from srv's leases" srv_lacks_prefix "$p"
        lab_check "[$kind] after $role's Release: srv has no route for $p" lab_wait 5 rsrv_lacks_route "$p"
        # the test's own route on the relay
        ip -n "$(lab_ns rly)" -6 route del "$p" proto static 2>/dev/null
    done
    lab_stop "rly-$kind"
done
lab_check "srv has no proto 118 route left" test -z "$(rsrv_routes)"

lab_finish
