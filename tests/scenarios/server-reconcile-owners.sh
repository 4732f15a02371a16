#!/bin/bash
# server-reconcile-owners.sh - a v6edge restart reconciles only the
# server's own routes (issue 8, item 3: per-owner reconciliation).
#
#   [srv] isp0 ---- switch ---- wan0 [wide] lan0   WIDE dhcp6c (ia-pd)
#   v6edge, examples/isp-server.toml '--- wan0 [cpe]  lan0   v6edge, examples/cpe.toml
#
# Every role stamps its routes with its own protocol number
# (v6edge_core::Owner: 118 the delegating server, 119 the relay, 120 the
# requesting router, 121 the home agent, ...), and at start each
# configured role removes only the routes of its number that it does not
# want.  Steps: the client gets a prefix, srv routes it (proto 118); by
# hand, srv gets a route with the home agent's number (121), one with the
# relay's (119, no relay configured here), a `proto static` one, a legacy
# proto 118 unreachable route (the requesting router's kind: no requesting
# router here to adopt it) and a stale proto 118 unicast route inside the
# pool that no lease backs.  v6edge is stopped with SIGTERM; the lease's
# route is then removed (as a reboot would), and v6edge started again.
# Checks: the lease's route is back (via the client's link-local), the
# stale proto 118 route is gone, the four others survive unchanged, srv's
# proto 118 unicast routes are exactly the lease's, and the log names the
# stale route it removed.
# Then the migration on the requesting router (cpe): its unreachable route
# for its delegation (RFC 7084 WPD-5) has its own number, 120.  v6edge is
# stopped (SIGTERM) and that route replaced by a legacy proto 118 one, as an
# older v6edge left it, plus a legacy proto 118 unreachable route it does
# not want and a route with the home agent's number; after the start: the
# delegation's unreachable route is there once, proto 120 (adopted), the
# unwanted legacy one is gone, the home agent's survives.  v6edge only.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
LAB_TIMEOUT=${LAB_TIMEOUT:-90}     # watchdog (netns.sh)
. "$HERE/../lab/netns.sh"
. "$HERE/../lab/peers.sh"
. "$HERE/../lab/server.sh"

if [ "$SERVER_IMPL" != v6edge ]; then
    echo "SKIP: server-reconcile-owners.sh is v6edge-only (SERVER_IMPL=$SERVER_IMPL)"
    exit 0
fi

HA_PROTO=121                       # Owner::HomeAgent
RELAY_PROTO=119                    # Owner::Relay
HA_ROUTE=2001:db8:ffaa::/48
RELAY_ROUTE=2001:db8:ffbb::/48
STATIC_ROUTE=2001:db8:ffcc::/48
LEGACY_UNREACH=2001:db8:ffdd::/48
STALE=2001:db8:1ff:ff00::/56       # inside the server's pool, no lease

lab_init server-reconcile-owners
server_require
server_topology
srv_start
cli_add wide cpe
cli_start wide
cli_start cpe
PD=$(cli_wait_prefix wide 30) || PD=
LL=$(cli_ll wide)
echo "wide: prefix ${PD:-none} via ${LL} ($(lab_elapsed)s)"
CPE_PD=$(cli_wait_prefix cpe 30) || CPE_PD=
echo "cpe: prefix ${CPE_PD:-none} ($(lab_elapsed)s)"
lab_check "wide holds a /$SRV_PD_LEN of $SRV_PD_POOL (${PD:-none})" \
    lab_within "${PD:-::/128}" "$SRV_PD_POOL" "$SRV_PD_LEN"
lab_check "srv: route ${PD:-none} via $LL dev isp0 proto $SRV_PROTO" \
    lab_wait 5 srv_route "${PD:-none}" "$LL"

SRV_NS=$(lab_ns srv)
lab_run ip -n "$SRV_NS" -6 route add "$HA_ROUTE" via fe80::a dev isp0 proto "$HA_PROTO"
lab_run ip -n "$SRV_NS" -6 route add "$RELAY_ROUTE" via fe80::b dev isp0 proto "$RELAY_PROTO"
lab_run ip -n "$SRV_NS" -6 route add "$STATIC_ROUTE" via fe80::c dev isp0 proto static
lab_run ip -n "$SRV_NS" -6 route add unreachable "$LEGACY_UNREACH" proto "$SRV_PROTO"
lab_run ip -n "$SRV_NS" -6 route add "$STALE" via fe80::d dev isp0 proto "$SRV_PROTO"

# route_line PREFIX: srv's route for exactly PREFIX (any protocol), one line.
route_line() { ip -n "$SRV_NS" -6 route show exact "$1" 2>/dev/null; }
echo "srv routes before the restart:"; ip -n "$SRV_NS" -6 route show | sed 's/^/  /'

srv_stop
lab_check "v6edge is stopped" lab_wait 3 sh -c "! kill -0 $(cat "$LAB_DIR/srv-v6edge.pid") 2>/dev/null"
lab_check "v6edge stopped on SIGTERM (a clean stop)" grep -q 'SIGTERM: stopping' "$LAB_DIR/srv-v6edge.log"
# A reboot loses the lease's route; the restart must put it back.
lab_run ip -n "$SRV_NS" -6 route del "${PD:-::/128}" proto "$SRV_PROTO"
lab_check "the lease's route is gone while v6edge is down" test -z "$(route_line "${PD:-::/128}")"
srv_start 20

lab_check "after the restart: route ${PD:-none} via $LL dev isp0 proto $SRV_PROTO is back" \
    lab_wait 10 srv_route "${PD:-none}" "$LL"
lab_check "after the restart: the stale proto $SRV_PROTO route $STALE is gone" \
    lab_wait 5 sh -c "[ -z \"\$(ip -n $SRV_NS -6 route show exact $STALE)\" ]"
lab_check "the home agent's route ($HA_ROUTE proto $HA_PROTO) survives" \
    sh -c "ip -n $SRV_NS -6 route show exact $HA_ROUTE | grep -q 'via fe80::a dev isp0 proto $HA_PROTO '"
lab_check "the relay-numbered route ($RELAY_ROUTE proto $RELAY_PROTO) survives" \
    sh -c "ip -n $SRV_NS -6 route show exact $RELAY_ROUTE | grep -q 'via fe80::b dev isp0 proto $RELAY_PROTO '"
lab_check "the static route ($STATIC_ROUTE proto static) survives" \
    sh -c "ip -n $SRV_NS -6 route show exact $STATIC_ROUTE | grep -q 'via fe80::c dev isp0 proto static '"
lab_check "the legacy unreachable route ($LEGACY_UNREACH proto $SRV_PROTO, no requesting router here) survives" \
    sh -c "ip -n $SRV_NS -6 route show exact $LEGACY_UNREACH | grep -q '^unreachable $LEGACY_UNREACH .*proto $SRV_PROTO '"
lab_check "srv's proto $SRV_PROTO unicast routes are exactly the leases' (wide's and cpe's)" \
    lab_wait 5 sh -c "[ \"\$(ip -n $SRV_NS -6 route show proto $SRV_PROTO | grep -v '^unreachable' | awk '{print \$1}' | sort)\" = \"$(printf '%s\n' "${PD:-none}" "${CPE_PD:-none}" | sort)\" ]"
lab_check "the log names the stale route removed" \
    grep -q "removed a stale route of ours.*$STALE" "$LAB_DIR/srv-v6edge.log"
echo "srv routes after the restart:"; ip -n "$SRV_NS" -6 route show | sed 's/^/  /'

# ----------------------------------------------- the requesting router (cpe)
CPE_NS=$(lab_ns cpe)
CPE_PROTO=120                      # Owner::RequestingRouter
CPE_STALE=2001:db8:ffee::/48
# cpe_unreach PREFIX: cpe's routes for exactly PREFIX.
cpe_routes_for() { ip -n "$CPE_NS" -6 route show exact "$1" 2>/dev/null; }
lab_check "cpe: unreachable ${CPE_PD:-none} proto $CPE_PROTO (WPD-5, the requesting router's number)" \
    lab_wait 5 sh -c "ip -n $CPE_NS -6 route show exact ${CPE_PD:-::/128} | grep -q '^unreachable .*proto $CPE_PROTO '"
lab_stop cpe
lab_check "cpe (v6edge) stopped on SIGTERM" grep -q 'SIGTERM: stopping' "$LAB_DIR/cpe.log"
# What an older v6edge left: the same route with the legacy number.
lab_run ip -n "$CPE_NS" -6 route del unreachable "${CPE_PD:-::/128}" proto "$CPE_PROTO"
lab_run ip -n "$CPE_NS" -6 route add unreachable "${CPE_PD:-::/128}" proto "$SRV_PROTO"
lab_run ip -n "$CPE_NS" -6 route add unreachable "$CPE_STALE" proto "$SRV_PROTO"
lab_run ip -n "$CPE_NS" -6 route add "$HA_ROUTE" via fe80::a dev wan0 proto "$HA_PROTO"
echo "cpe routes before its restart:"; ip -n "$CPE_NS" -6 route show | sed 's/^/  /'
cli_start cpe
CPE_PD2=$(cli_wait_prefix cpe 30) || CPE_PD2=
lab_check "cpe keeps its prefix across the restart (${CPE_PD2:-none})" test "${CPE_PD2:-x}" = "${CPE_PD:-y}"
lab_check "cpe: the legacy unreachable ${CPE_PD:-none} is adopted: one route, proto $CPE_PROTO" \
    lab_wait 10 sh -c "[ \"\$(ip -n $CPE_NS -6 route show exact ${CPE_PD:-::/128} | grep -c .)\" = 1 ] && ip -n $CPE_NS -6 route show exact ${CPE_PD:-::/128} | grep -q '^unreachable .*proto $CPE_PROTO '"
lab_check "cpe: the unwanted legacy unreachable $CPE_STALE is removed" \
    lab_wait 5 sh -c "[ -z \"\$(ip -n $CPE_NS -6 route show exact $CPE_STALE)\" ]"
lab_check "cpe's log: the legacy $CPE_STALE removed, the adopted ${CPE_PD:-none} not" \
    sh -c "grep -q 'removed a stale route of ours.*prefix=$CPE_STALE ' '$LAB_DIR/cpe.log' && ! grep -q 'removed a stale route of ours.*prefix=${CPE_PD:-none} ' '$LAB_DIR/cpe.log'"
lab_check "cpe: the home agent's route ($HA_ROUTE proto $HA_PROTO) survives" \
    sh -c "ip -n $CPE_NS -6 route show exact $HA_ROUTE | grep -q 'via fe80::a dev wan0 proto $HA_PROTO '"
echo "cpe routes after its restart:"; ip -n "$CPE_NS" -6 route show | sed 's/^/  /'

lab_finish
