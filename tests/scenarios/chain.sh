#!/bin/bash
# chain.sh - prefix delegation at any depth (issue 4): a chain of three
# v6edge routers, each one requesting a prefix from the router above it and
# delegating part of it to the router below, with a plain SLAAC host at the end.
#
#   [isp] isp0 ---- wan0 [r1] lan0 ---- wan0 [r2] lan0 ---- wan0 [r3] lan0 ---- eth0 [host]
#   v6edge server        v6edge             v6edge             v6edge             SLAAC only
#   examples/isp-server.toml ($CHAIN_CPE_CONFIG on r1, r2, r3: examples/cpe.toml with a
#   + radvd (M=1 O=1,    [server] that delegates from the uplink's prefix on lan0,
#   router lifetime)     `from-uplink = true`, /60 by default)
#
# RFC 8415 §6.3 and §18.3 (a requesting router that is itself a delegating
# router for its LAN), RFC 7084 WPD-5 (unreachable route for the delegated
# aggregate), L-2/L-3 (a /64 of the delegation on the LAN, advertised),
# G-4 (router lifetime > 0 only with an upstream default route: each lower
# router gets its default route from the RAs of the router above).
#
# Checks (real outcomes only): r1 holds a /56 of 2001:db8:100::/40; r2 holds a
# prefix inside r1's /56 but outside r1's lan0 /64 (a /$CHAIN_EXPECT_LEN); r3
# holds a prefix (length <= 64) inside r2's, outside r2's lan0 /64 (a /64
# when r2 has a /60: nothing longer fits beside r2's own /64); the host has a
# SLAAC address in r3's lan0 /64; isp routes r1's /56 via r1's wan0
# link-local dev isp0 proto 118, r1 routes r2's prefix via r2's wan0
# link-local dev lan0, r2 routes r3's likewise; each node's proto 118 routes
# are exactly those its leases justify (the unicast route toward the one
# router below it, the unreachable route for its own delegation); `leases`
# lists what the routes say; ping isp -> host and host -> 2001:db8:0:1::1;
# `status --json` of each router: uplink bound, its delegation.
#
# Prints "chain cold start: S s": from starting the four daemons (isp server
# and the three routers at once, the topology and the ISP's RA already up) to
# the first successful end-to-end ping host -> 2001:db8:0:1::1
# (bench/chain.sh repeats the scenario and collects these).
#
# CHAIN_TOP=kea|isc puts Kea (pd-pool) or ISC dhcpd -6 (prefix6) at the top
# instead of the v6edge server, with the same /56s of 2001:db8:100::/40 (the
# writers of tests/lab/cpe.sh). Those servers install no route toward what
# they delegate, so the test adds the top-level route itself, and the ISP's
# checks become "no proto 118 route at the ISP".
#
# CHAIN_RENUMBER=1 (v6edge top only): after the checks, the ISP's pool moves
# to 2001:db8:200::/40 (its config rewritten, `v6edge reload`). Its
# Reconfigure makes r1 renew at once; r1's new prefix revokes what it
# delegated, its Reconfigure reaches r2, and so on down. Checks: within a
# few seconds the host has an address in r3's new lan0 /64 preferred and the
# old one deprecated, and no node keeps a proto 118 route inside the old
# prefixes. Prints "chain renumbering: S s" (reload -> host has the new
# prefix preferred and the old one deprecated).
#
# Environment: CHAIN_TOP (v6edge), CHAIN_RENUMBER (0), CHAIN_CPE_CONFIG (default: examples/cpe.toml when it has a
# [server] table, else $LAB_DIR/cpe-chain.toml = examples/cpe.toml plus a
# from-uplink /60 pool on lan0), CHAIN_EXPECT_LEN (the length r2 must get,
# default 60; empty = any length <= 64), CHAIN_LEVEL_WAIT (seconds each
# router may take to get its prefix, default 30), V6EDGE_BIN, V6EDGE_LOG,
# LAB_KEEP, LAB_TIMEOUT (see lab/netns.sh).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
LAB_TIMEOUT=${LAB_TIMEOUT:-180}    # watchdog (netns.sh)
. "$HERE/../lab/netns.sh"
. "$HERE/../lab/peers.sh"

CHAIN_TOP=${CHAIN_TOP:-v6edge}
case $CHAIN_TOP in
    v6edge) ISP_IMPL=kea ;;                 # cpe.sh's ISP is not started then
    kea|isc) ISP_IMPL=$CHAIN_TOP ;;
    *) echo "CHAIN_TOP must be v6edge, kea or isc (got $CHAIN_TOP)" >&2; exit 2 ;;
esac
# The CPE test bed's ISP writers and starters (on isp0) and address helpers.
ISP_IF=isp0
. "$HERE/../lab/cpe.sh"
TOP=isp-v6edge
[ "$CHAIN_TOP" = v6edge ] || TOP=$(isp_name)
REPO_DIR=$(cd "$HERE/../.." && pwd)
ISP_CONFIG=$REPO_DIR/examples/isp-server.toml
ISP_ADDR=2001:db8:0:1::1
ISP_POOL=2001:db8:100::/40
ISP_PD_LEN=56
PROTO=118          # the delegating server's routes (v6edge_core::Owner)
CPE_PROTO=120      # the requesting router's unreachable aggregate
CHAIN_EXPECT_LEN=${CHAIN_EXPECT_LEN-60}
CHAIN_LEVEL_WAIT=${CHAIN_LEVEL_WAIT:-30}
ROUTERS=(r1 r2 r3)

lab_init "chain-$CHAIN_TOP"
lab_require ping timeout ss radvd
case $CHAIN_TOP in
    kea) lab_require kea-dhcp6 ;;
    isc) lab_require dhcpd ;;
esac
[ -x "$V6EDGE_BIN" ] || lab_die "no v6edge binary at $V6EDGE_BIN (run: cargo build -p v6edge)"
[ -f "$ISP_CONFIG" ] || lab_die "missing $ISP_CONFIG"

# The routers' config: examples/cpe.toml once it delegates on lan0, until
# then that file plus a [server] delegating from the uplink's prefix.
if [ -z "${CHAIN_CPE_CONFIG:-}" ]; then
    if grep -q '^\[server\]' "$REPO_DIR/examples/cpe.toml"; then
        CHAIN_CPE_CONFIG=$REPO_DIR/examples/cpe.toml
    else
        CHAIN_CPE_CONFIG=$LAB_DIR/cpe-chain.toml
        cat "$REPO_DIR/examples/cpe.toml" - >"$CHAIN_CPE_CONFIG" <<'EOF'

[server]
[[server.link]]
interface = "lan0"
  [[server.link.prefix-pool]]
  from-uplink = true
  delegated-length = 60
EOF
    fi
fi
echo "chain: $CHAIN_TOP at the top, routers run $CHAIN_CPE_CONFIG, V6EDGE_BIN=$V6EDGE_BIN"
if ! timeout 10 "$V6EDGE_BIN" check --config "$CHAIN_CPE_CONFIG" >"$LAB_DIR/check.out" 2>&1; then
    sed 's/^/  | /' "$LAB_DIR/check.out"
    lab_check "v6edge check accepts the routers' config $CHAIN_CPE_CONFIG" false
    lab_finish
fi

# ------------------------------------------------------------------ helpers

# rtr_status_to NAME FILE: save NAME's status object; fails without an answer.
rtr_status_to() { v6edge_status_json "$1" >"$2" 2>/dev/null && json_true 'isinstance(d, dict)' "$2"; }

# rtr_delegation NAME: the first prefix NAME holds (valid > 0 or infinite).
rtr_delegation() {
    v6edge_status_json "$1" 2>/dev/null | lab_json \
        '[x["prefix"] for x in d.get("delegations") or [] if x.get("valid") is None or x.get("valid") > 0][:1]' 2>/dev/null
}

# rtr_lan NAME: the prefix NAME has put on lan0 (status "lans").
rtr_lan() {
    v6edge_status_json "$1" 2>/dev/null | lab_json \
        '[l["prefix"] for l in d.get("lans") or [] if l.get("interface") == "lan0" and l.get("prefix")][:1]' 2>/dev/null
}

# elapsed_since T: seconds since epoch time T, e.g. "3.41".
elapsed_since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN{printf "%.2f", b-a}'; }

# wait_delegation NAME TIMEOUT: wait until NAME holds a prefix and has put a
# /64 of it on lan0; print the prefix.
wait_delegation() {
    local name=$1 n=$(( $2 * 5 )) p
    while [ "$n" -gt 0 ]; do
        p=$(rtr_delegation "$name")
        [ -n "$p" ] && [ -n "$(rtr_lan "$name")" ] && { echo "$p"; return 0; }
        lab_alive "$name" || return 1
        sleep 0.2
        n=$(( n - 1 ))
    done
    return 1
}

# disjoint A B: prefixes A and B do not overlap.
disjoint() {
    "$LAB_PY" -c 'import ipaddress as i,sys; a,b=(i.IPv6Network(x) for x in sys.argv[1:3]); sys.exit(a.overlaps(b))' "$1" "$2"
}

# plen PREFIX: its length.
plen() { echo "${1#*/}"; }

# routes118 NS: NS's routes with v6edge's protocol numbers (server and
# requesting router).
routes118() {
    ip -n "$(lab_ns "$1")" -6 route show proto "$PROTO" 2>/dev/null
    ip -n "$(lab_ns "$1")" -6 route show proto "$CPE_PROTO" 2>/dev/null
}

# has_route NS PREFIX VIA DEV: NS has "PREFIX via VIA dev DEV" proto 118.
has_route() { routes118 "$1" | grep -q "^$2 via $3 dev $4 "; }

# route_set NS: NS's proto 118 routes as "unicast PREFIX" / "unreachable
# PREFIX" (anything else verbatim as "other ..."), sorted.
route_set() {
    routes118 "$1" | "$LAB_PY" -c '
import ipaddress, sys
out = []
for line in sys.stdin:
    f = line.split()
    if not f:
        continue
    kind = "unicast"
    if f[0] in ("unreachable", "blackhole", "prohibit", "throw", "local", "anycast", "multicast"):
        kind = f.pop(0)
    try:
        out.append("%s %s" % (kind, ipaddress.IPv6Network(f[0])))
    except ValueError:
        out.append("other " + line.strip())
print("\n".join(sorted(out)))'
}

# routes_exactly NS [KIND PREFIX]...: NS's proto 118 routes are exactly these.
routes_exactly() {
    local ns=$1 want=(); shift
    while [ $# -ge 2 ]; do want+=("$1 $2"); shift 2; done
    [ "$(route_set "$ns")" = "$(printf '%s\n' "${want[@]}" | sed '/^$/d' | sort)" ]
}

# leases_to NAME FILE: save NAME's leases object.
leases_to() {
    v6edge_leases_json "$1" >"$2" 2>"$2.err" && json_true 'isinstance(d.get("leases"), list)' "$2"
}

# lease_is FILE PREFIX NEXT_HOP IF: the saved leases are exactly one prefix
# lease, PREFIX, next hop NEXT_HOP on IF.
lease_is() {
    json_true "[l for l in d['leases'] if l['type'] == 'pd'] == [l for l in d['leases'] if l['prefix'] == '$2' and l['next_hop'] == '$3' and l['interface'] == '$4'] and len(d['leases']) == 1" "$1"
}

# why_no_prefix UPPER: what the router above says when the one below got nothing.
why_no_prefix() {
    echo "  $1 leases: $(v6edge_leases_json "$1" 2>&1 | tr -d '\n' | head -c 400)"
    echo "  $1 status.server: $(v6edge_status_json "$1" 2>/dev/null | lab_json 'd.get("server")' 2>&1 | head -c 600)"
    grep -iE 'pool|no ?prefix|NoPrefixAvail|from.uplink' "$LAB_DIR/$1.log" 2>/dev/null | tail -n 5 | sed "s/^/  $1 log: /"
}

# ------------------------------------------------------------------ topology
lab_ns_create isp
for r in "${ROUTERS[@]}"; do lab_ns_create "$r"; done
lab_ns_create host
lab_link isp isp0 r1 wan0
lab_link r1 lan0 r2 wan0
lab_link r2 lan0 r3 wan0
lab_link r3 lan0 host eth0
lab_addr isp isp0 "$ISP_ADDR/64"
for r in "${ROUTERS[@]}"; do lab_router "$r" wan0; done
lab_sysctl host net.ipv6.conf.all.forwarding=0 \
    net.ipv6.conf.eth0.accept_ra=1 net.ipv6.conf.eth0.autoconf=1
lab_wait_dad isp isp0 || lab_die "no link-local on isp:isp0"
for r in "${ROUTERS[@]}"; do lab_wait_dad "$r" wan0 lan0 || lab_die "no link-local on $r"; done
lab_wait_dad host eth0 || lab_die "no link-local on host:eth0"
declare -A LL=()
for r in "${ROUTERS[@]}"; do LL[$r]=$(lab_ll "$r" wan0); done
# The access router's RA (M=1, O=1, router lifetime 1800 s): r1's default route.
start_isp_ra isp isp-ra isp0
lab_wait 15 sh -c "ip -n $(lab_ns r1) -6 route show default | grep -q 'via .* dev wan0'" \
    || lab_die "r1 got no default route from the ISP's RA"

# ------------------------------------------------------------ cold start
# The v6edge ISP runs a copy of examples/isp-server.toml, identical at the
# start, so that the renumbering step can rewrite its pool.
ISP_RUN_CONFIG=$LAB_DIR/isp-server.toml
cp "$ISP_CONFIG" "$ISP_RUN_CONFIG"
T0=$(date +%s.%N)
if [ "$CHAIN_TOP" = v6edge ]; then
    start_v6edge_server isp isp-v6edge "$ISP_RUN_CONFIG" 10 \
        || lab_die "the v6edge server did not start (log: $(tail -n 2 "$LAB_DIR/isp-v6edge.log"))"
else
    isp_start
fi
for r in "${ROUTERS[@]}"; do start_v6edge "$r" "$r" "$CHAIN_CPE_CONFIG"; done
for r in "${ROUTERS[@]}"; do
    v6edge_wait_ready "$r" 10 || lab_die "v6edge $r did not become ready (log: $(tail -n 2 "$LAB_DIR/$r.log"))"
done
echo "daemons ready at +$(elapsed_since "$T0")s"

declare -A PD=() LAN=()
upper=$TOP
for r in "${ROUTERS[@]}"; do
    PD[$r]=$(wait_delegation "$r" "$CHAIN_LEVEL_WAIT") || PD[$r]=
    LAN[$r]=$(rtr_lan "$r")
    echo "$r: prefix ${PD[$r]:-none}, lan0 ${LAN[$r]:-none}, wan0 ${LL[$r]} (+$(elapsed_since "$T0")s)"
    if [ -z "${PD[$r]}" ]; then
        if [ "$upper" = "$TOP" ] && [ "$CHAIN_TOP" != v6edge ]; then
            tail -n 5 "$LAB_DIR/$TOP.log" | sed "s/^/  $TOP log: /"
        else
            why_no_prefix "$upper"
        fi
    fi
    if [ "$r" = r1 ] && [ "$CHAIN_TOP" != v6edge ] && [ -n "${PD[r1]}" ]; then
        # Kea and dhcpd route nothing: the top-level route is the test's.
        lab_run ip -n "$(lab_ns isp)" -6 route replace "${PD[r1]}" via "${LL[r1]}" dev isp0
    fi
    upper=$r
done

host_addr() {
    ip -n "$(lab_ns host)" -6 -o addr show dev eth0 scope global to "${LAN[r3]:-::/128}" 2>/dev/null \
        | awk '{sub("/.*", "", $4); print $4; f = 1; exit} END {exit !f}'
}
[ -n "${LAN[r3]}" ] && lab_wait 20 host_addr
HOST_ADDR=$(host_addr) || HOST_ADDR=
echo "host: ${HOST_ADDR:-none} in r3 lan0 ${LAN[r3]:-none} (+$(elapsed_since "$T0")s)"

# The end-to-end ping, polled (each probe waits at most 1 s), bounded at 20 s.
COLD=
if [ -n "$HOST_ADDR" ]; then
    deadline=$(( $(date +%s) + 20 ))
    while [ "$(date +%s)" -lt "$deadline" ]; do
        if lab_ping host "$ISP_ADDR" >/dev/null 2>&1; then COLD=$(elapsed_since "$T0"); break; fi
        sleep 0.2
    done
fi
if [ -n "$COLD" ]; then
    echo "chain cold start: $COLD s (daemons started -> first ping host -> $ISP_ADDR)"
else
    echo "chain cold start: none (no end-to-end ping within the bounds)"
fi

# -------------------------------------------------------------- the checks
lab_check "isp server ($CHAIN_TOP) is running" lab_alive "$TOP"
for r in "${ROUTERS[@]}"; do lab_check "$r is running" lab_alive "$r"; done

lab_check "r1 holds a /$ISP_PD_LEN inside $ISP_POOL (${PD[r1]:-none})" \
    lab_within "${PD[r1]:-::/128}" "$ISP_POOL" "$ISP_PD_LEN"
lab_check "r2 holds a prefix inside r1's ${PD[r1]:-none} (${PD[r2]:-none})" \
    lab_within "${PD[r2]:-::/128}" "${PD[r1]:-::/128}"
lab_check "r2's prefix is outside r1's lan0 ${LAN[r1]:-none}" \
    disjoint "${PD[r2]:-::/128}" "${LAN[r1]:-::/128}"
if [ -n "$CHAIN_EXPECT_LEN" ]; then
    lab_check "r2's prefix is a /$CHAIN_EXPECT_LEN" test "$(plen "${PD[r2]:-::/128}")" = "$CHAIN_EXPECT_LEN"
fi
lab_check "r3 holds a prefix inside r2's ${PD[r2]:-none} (${PD[r3]:-none})" \
    lab_within "${PD[r3]:-::/128}" "${PD[r2]:-::/128}"
lab_check "r3's prefix is no longer than /64" test "$(plen "${PD[r3]:-::/128}")" -le 64
lab_check "r3's prefix is outside r2's lan0 ${LAN[r2]:-none}" \
    disjoint "${PD[r3]:-::/128}" "${LAN[r2]:-::/128}"
for r in "${ROUTERS[@]}"; do
    lab_check "$r's lan0 ${LAN[$r]:-none} is a /64 of its ${PD[$r]:-none}" \
        lab_within "${LAN[$r]:-::/128}" "${PD[$r]:-::/128}" 64
done
lab_check "host has a SLAAC address in r3's lan0 ${LAN[r3]:-none} (${HOST_ADDR:-none})" test -n "$HOST_ADDR"

# Routes toward each delegation, and nothing else with proto 118.
if [ "$CHAIN_TOP" = v6edge ]; then
    lab_check "isp: ${PD[r1]:-none} via r1's ${LL[r1]} dev isp0 proto $PROTO" \
        has_route isp "${PD[r1]:-none}" "${LL[r1]}" isp0
fi
lab_check "r1: ${PD[r2]:-none} via r2's ${LL[r2]} dev lan0 proto $PROTO" \
    has_route r1 "${PD[r2]:-none}" "${LL[r2]}" lan0
lab_check "r2: ${PD[r3]:-none} via r3's ${LL[r3]} dev lan0 proto $PROTO" \
    has_route r2 "${PD[r3]:-none}" "${LL[r3]}" lan0
for n in isp "${ROUTERS[@]}"; do
    echo "--- ip -6 route show proto $PROTO in $n"
    routes118 "$n" | sed 's/^/  /'
done
if [ "$CHAIN_TOP" = v6edge ]; then
    lab_check "isp: proto $PROTO routes are exactly 1 unicast (r1's)" \
        routes_exactly isp unicast "${PD[r1]:-none}"
else
    lab_check "isp: no proto $PROTO route ($CHAIN_TOP routes nothing; the test added r1's)" \
        routes_exactly isp
fi
lab_check "r1: proto $PROTO routes are exactly 1 unicast (r2's) + 1 unreachable (its own)" \
    routes_exactly r1 unicast "${PD[r2]:-none}" unreachable "${PD[r1]:-none}"
lab_check "r2: proto $PROTO routes are exactly 1 unicast (r3's) + 1 unreachable (its own)" \
    routes_exactly r2 unicast "${PD[r3]:-none}" unreachable "${PD[r2]:-none}"
lab_check "r3: proto $PROTO routes are exactly 1 unreachable (its own), no unicast" \
    routes_exactly r3 unreachable "${PD[r3]:-none}"

# The leases behind those routes.
if [ "$CHAIN_TOP" = v6edge ]; then
    leases_to isp-v6edge "$LAB_DIR/isp.leases.json"
    lab_check "isp leases: exactly r1's ${PD[r1]:-none}, next hop ${LL[r1]} on isp0" \
        lease_is "$LAB_DIR/isp.leases.json" "${PD[r1]:-none}" "${LL[r1]}" isp0
fi
leases_to r1 "$LAB_DIR/r1.leases.json"
lab_check "r1 leases: exactly r2's ${PD[r2]:-none}, next hop ${LL[r2]} on lan0" \
    lease_is "$LAB_DIR/r1.leases.json" "${PD[r2]:-none}" "${LL[r2]}" lan0
leases_to r2 "$LAB_DIR/r2.leases.json"
lab_check "r2 leases: exactly r3's ${PD[r3]:-none}, next hop ${LL[r3]} on lan0" \
    lease_is "$LAB_DIR/r2.leases.json" "${PD[r3]:-none}" "${LL[r3]}" lan0
leases_to r3 "$LAB_DIR/r3.leases.json"
lab_check "r3 leases: none (the host only uses SLAAC)" json_true "d['leases'] == []" "$LAB_DIR/r3.leases.json"

# RFC 9096 L-17: what a router delegates never outlives what it holds. The
# statuses show whole seconds and are read one after the other: 1 s of
# slack (the exact bound is a machine test, pool_ends_cap_lifetimes_...).
# rtr_valid NAME: the seconds of valid lifetime left on NAME's delegation.
rtr_valid() {
    v6edge_status_json "$1" 2>/dev/null | lab_json \
        '[x["valid"] for x in d.get("delegations") or [] if x["prefix"] == "'"${PD[$1]:-none}"'"][0]' 2>/dev/null
}
VALID_R1=$(rtr_valid r1) VALID_R2=$(rtr_valid r2) VALID_R3=$(rtr_valid r3)
echo "valid lifetimes left: r1 ${VALID_R1:-?} s, r2 ${VALID_R2:-?} s, r3 ${VALID_R3:-?} s"
lab_check "r2's valid lifetime (${VALID_R2:-?} s) does not outlast r1's (${VALID_R1:-?} s)" \
    awk -v a="${VALID_R2:-x}" -v b="${VALID_R1:-x}" 'BEGIN { exit !(a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && a <= b + 1) }'
lab_check "r3's valid lifetime (${VALID_R3:-?} s) does not outlast r2's (${VALID_R2:-?} s)" \
    awk -v a="${VALID_R3:-x}" -v b="${VALID_R2:-x}" 'BEGIN { exit !(a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && a <= b + 1) }'

# Status of each router.
for r in "${ROUTERS[@]}"; do
    rtr_status_to "$r" "$LAB_DIR/$r.status.json"
    lab_check "$r status: uplink wan0 bound, default router" \
        json_true "d['uplink'] and d['uplink']['interface'] == 'wan0' and d['uplink']['state'] == 'bound' and d['uplink']['default_router']" \
        "$LAB_DIR/$r.status.json"
    lab_check "$r status: delegation ${PD[$r]:-none}" \
        json_true "[x for x in d['delegations'] if x['prefix'] == '${PD[$r]:-none}']" "$LAB_DIR/$r.status.json"
    lab_check "$r status: lan0 advertises with router lifetime > 0" \
        json_true "[l for l in d['lans'] if l['interface'] == 'lan0' and l['ra']['router_lifetime'] > 0]" \
        "$LAB_DIR/$r.status.json"
done

# End to end, both ways.
lab_check "host -> $ISP_ADDR (ping)" test -n "$COLD"
lab_wait 5 lab_ping isp "${HOST_ADDR:-::1}"
lab_check "isp -> host ${HOST_ADDR:-none} (ping)" lab_ping isp "${HOST_ADDR:-::1}"

# ------------------------------------------------------- kill -9 of r2
# Issue 4: a middle router crashes and restarts with the same state
# directory. It keeps its prefix (Rebind for the stored binding), the router
# below keeps its own, the routes toward what r2 delegated come back from its
# lease store (flushed here, as after a reboot), and the end-to-end ping
# resumes without any manual step.
if [ "${CHAIN_RESTART:-1}" = 1 ] && [ -n "$COLD" ] && [ -n "${PD[r2]:-}" ] && [ -n "${PD[r3]:-}" ]; then
    lab_kill9 r2 || lab_log "could not kill r2"
    ip -n "$(lab_ns r2)" -6 route flush proto "$PROTO" 2>/dev/null
    ip -n "$(lab_ns r2)" -6 route flush proto "$CPE_PROTO" 2>/dev/null
    T_K=$(date +%s.%N)
    start_v6edge r2 r2 "$CHAIN_CPE_CONFIG"
    v6edge_wait_ready r2 10 || lab_die "r2 did not come back (log: $(tail -n 2 "$LAB_DIR/r2.log"))"
    lab_check "after kill -9 and restart, r2 holds ${PD[r2]} again" \
        lab_wait 20 sh -c "[ \"\$1\" = \"\$(\"\$2\" status --json --control \"\$3\" 2>/dev/null | $LAB_PY -c 'import json,sys; d=json.load(sys.stdin); print(([x[\"prefix\"] for x in d[\"delegations\"]] or [\"\"])[0])')\" ]" _ "${PD[r2]}" "$V6EDGE_BIN" "$LAB_DIR/r2.sock"
    lab_check "r2 routes ${PD[r3]} via r3's ${LL[r3]} again (restored from its lease store)" \
        lab_wait 20 has_route r2 "${PD[r3]}" "${LL[r3]}" lan0
    lab_check "r3 still holds ${PD[r3]}" test "$(rtr_delegation r3)" = "${PD[r3]}"
    lab_check "isp -> host ${HOST_ADDR:-none} resumes after r2's restart" lab_wait 20 lab_ping isp "${HOST_ADDR:-::1}"
    echo "r2 restart: ping resumed $(elapsed_since "$T_K") s after the restart"
    lab_check "r2: exactly the routes its leases justify after the restart" \
        test "$(routes118 r2 | grep -c ' via ')" = 1
fi

# ------------------------------------------------------- renumbering
# Issue 4, RFC 9096 and RFC 8415 §18.3.11: the ISP's pool moves; each level
# learns at once through a Reconfigure from the level above, and the host
# ends with the new prefix preferred and the old one deprecated.
ISP_POOL_NEW=2001:db8:200::/40
# old_routes NS: NS's proto 118 routes inside the old top-level delegation.
old_routes() {
    local p
    route_set "$1" | awk '{print $2}' | while read -r p; do
        lab_within "$p" "$OLD_PD_R1" 2>/dev/null && echo "$p"
    done
}
no_old_routes() { [ -z "$(old_routes "$1")" ]; }
# renumbered: the host has a preferred address in the new pool and none
# preferred in r3's old lan0 /64.
renumbered() {
    preferred_addr_in host eth0 "$ISP_POOL_NEW" && deprecated_or_gone host eth0 "$OLD_LAN_R3"
}
if [ "${CHAIN_RENUMBER:-0}" = 1 ] && [ "$CHAIN_TOP" = v6edge ] && [ -n "$COLD" ]; then
    OLD_PD_R1=${PD[r1]} OLD_LAN_R3=${LAN[r3]}
    echo "r3's neighbours on lan0 before renumbering (unicast RA targets):"
    ip -n "$(lab_ns r3)" -6 neigh show dev lan0 | sed 's/^/  /'
    sed -i "s|^prefix = \"${ISP_POOL}\"|prefix = \"${ISP_POOL_NEW}\"|" "$ISP_RUN_CONFIG"
    grep -q "^prefix = \"$ISP_POOL_NEW\"" "$ISP_RUN_CONFIG" || lab_die "could not move the ISP's pool"
    T_R=$(date +%s.%N)
    v6edge_ctl isp-v6edge reload >"$LAB_DIR/reload.out" 2>&1 || lab_log "reload: $(cat "$LAB_DIR/reload.out")"
    RENUM=
    deadline=$(( $(date +%s) + 30 ))
    while [ "$(date +%s)" -lt "$deadline" ]; do
        if renumbered; then RENUM=$(elapsed_since "$T_R"); break; fi
        sleep 0.1
    done
    echo "chain renumbering: ${RENUM:-none} s (ISP reload -> host has the new prefix preferred, the old deprecated)"
    declare -A NPD=() NLAN=()
    for r in "${ROUTERS[@]}"; do NPD[$r]=$(rtr_delegation "$r"); NLAN[$r]=$(rtr_lan "$r"); done
    echo "after renumbering: r1 ${NPD[r1]:-none}, r2 ${NPD[r2]:-none}, r3 ${NPD[r3]:-none}, r3 lan0 ${NLAN[r3]:-none}"
    addr_in host eth0 ::/0 | sed 's/^/  host eth0: /'
    lab_check "renumbering reached the host within 10 s (${RENUM:-never})" \
        awk -v t="${RENUM:-999}" 'BEGIN { exit !(t < 10) }'
    lab_check "r1 holds a /$ISP_PD_LEN of the new pool $ISP_POOL_NEW (${NPD[r1]:-none})" \
        lab_within "${NPD[r1]:-::/128}" "$ISP_POOL_NEW" "$ISP_PD_LEN"
    lab_check "r2 holds a prefix inside r1's new ${NPD[r1]:-none} (${NPD[r2]:-none})" \
        lab_within "${NPD[r2]:-::/128}" "${NPD[r1]:-::/128}"
    lab_check "r3 holds a prefix inside r2's new ${NPD[r2]:-none} (${NPD[r3]:-none})" \
        lab_within "${NPD[r3]:-::/128}" "${NPD[r2]:-::/128}"
    lab_check "host: an address in r3's new lan0 ${NLAN[r3]:-none} is preferred" \
        preferred_addr_in host eth0 "${NLAN[r3]:-::/128}"
    lab_check "host: no address in the old ${OLD_LAN_R3} is preferred any more" \
        deprecated_or_gone host eth0 "$OLD_LAN_R3"
    for n in isp "${ROUTERS[@]}"; do
        lab_check "$n: no proto $PROTO route inside the old $OLD_PD_R1 ($(old_routes "$n" | tr '\n' ' '))" \
            lab_wait 5 no_old_routes "$n"
    done
    lab_check "isp: ${NPD[r1]:-none} via r1's ${LL[r1]} dev isp0 proto $PROTO" \
        has_route isp "${NPD[r1]:-none}" "${LL[r1]}" isp0
    lab_check "r1: ${NPD[r2]:-none} via r2's ${LL[r2]} dev lan0 proto $PROTO" \
        has_route r1 "${NPD[r2]:-none}" "${LL[r2]}" lan0
    lab_check "r2: ${NPD[r3]:-none} via r3's ${LL[r3]} dev lan0 proto $PROTO" \
        has_route r2 "${NPD[r3]:-none}" "${LL[r3]}" lan0
    NEW_HOST=$(addr_in host eth0 "${NLAN[r3]:-::/128}" | awk '{sub("/.*", "", $1); print $1; exit}')
    lab_check "isp -> host's new ${NEW_HOST:-none} (ping)" lab_wait 10 lab_ping isp "${NEW_HOST:-::1}"
    for n in isp "${ROUTERS[@]}"; do
        echo "--- ip -6 route show proto $PROTO in $n (after renumbering)"
        routes118 "$n" | sed 's/^/  /'
    done
fi

lab_finish
