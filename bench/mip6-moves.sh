#!/bin/bash
# mip6-moves.sh - the UMIP leak, measured (issue 13): a v6edge mobile router
# (examples/mobile-router.toml verbatim) moves MOVES times between an IPv6
# foreign link and an IPv4-only link behind a NAT (DSMIPv6, RFC 5555),
# registering at each; after the first round trip and after the last, what
# it holds is counted: open files of the daemon, routes, policy rules,
# addresses and neighbour entries in its namespace (IPv6 and IPv4), and
# the home agent's routes and proxy entries. UMIP-DSMIP leaked file
# descriptors and left XFRM state behind after handovers; here every count
# after the last move must equal the one after the first (exit 1
# otherwise).
#
# Test bed: tests/lab/mip6.sh (mip6_topology + mip6_ipv4_link), home agent
# examples/home-agent.toml verbatim.
#
# Usage (root): bench/mip6-moves.sh [MOVES]     (default 100; even)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
LAB=$HERE/../tests/lab
MOVES=${1:-100}
[[ $MOVES =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [MOVES]" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "must run as root (network namespaces)" >&2; exit 2; }
export PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin
LAB_TIMEOUT=$(( MOVES * 20 + 120 ))
. "$LAB/netns.sh"
. "$LAB/peers.sh"
. "$LAB/mip6.sh"

MIP6_HOA=2001:db8:1::300
MIP6_MN_CONFIG=$MIP6_REPO_DIR/examples/mobile-router.toml

lab_init bench-mip6-moves
mip6_topology
mip6_ipv4_link
lab_exec mn ip link add lan0 type veth peer name lan0p
lab_exec mn ip link set lan0p up
lab_exec mn ip link set lan0 up
lab_exec mn ip -6 addr add 2001:db8:10::1/64 dev lan0 nodad
mip6_start_ha
lab_wait 15 coa_in 2001:db8:1: || lab_die "no home address prefix on mn:eth0"
mip6_start_mn
lab_sysctl mn net.ipv6.conf.all.forwarding=1

on_v6() { [ "$(mn_field location)/$(mn_field state)" = away/bound ] && [ -n "$(ha_care_of)" ]; }
on_v4() { [ "$(mn_field location)/$(mn_field state)" = away-v4/bound ] && [ -n "$(ha_care_of)" ]; }
# to_v6 / to_v4: one move, waited for until both daemons agree.
to_v6() {
    mip6_ipv4_detach 2>/dev/null
    mip6_move ar1 br1
    lab_wait 20 on_v6 || lab_die "no registration on the IPv6 link (log: $LAB_DIR/mn.log)"
}
to_v4() {
    mip6_move ar3 br3
    mip6_ipv4_attach
    lab_wait 20 on_v4 || lab_die "no registration on the IPv4 link (log: $LAB_DIR/mn.log)"
}
# counts: one line of what the mobile router and the home agent hold.
counts() {
    local pid mn ha
    pid=$(cat "$LAB_DIR/mn.pid")
    mn=$(lab_ns mn); ha=$(lab_ns ha)
    printf 'fds=%s routes6=%s routes4=%s rules6=%s rules4=%s addrs=%s neigh6=%s neigh4=%s ha_routes=%s ha_proxies=%s\n' \
        "$(ls "/proc/$pid/fd" | wc -l)" \
        "$(ip -n "$mn" -6 route show table all | grep -vc '^local\|^multicast\|^anycast')" \
        "$(ip -n "$mn" -4 route show table all | grep -vc '^local\|^broadcast')" \
        "$(ip -n "$mn" -6 rule show | wc -l)" \
        "$(ip -n "$mn" -4 rule show | wc -l)" \
        "$(ip -n "$mn" -o addr show | wc -l)" \
        "$(ip -n "$mn" -6 neigh show | grep -vc FAILED)" \
        "$(ip -n "$mn" -4 neigh show | grep -vc FAILED)" \
        "$(ip -n "$ha" -6 route show table all proto 121 | wc -l)+$(ip -n "$ha" -4 route show table all proto 121 | wc -l)" \
        "$(ip -n "$ha" neigh show proxy | wc -l)"
}

t0=$(date +%s.%N)
to_v6
to_v4
FIRST=$(counts)
echo "after the first round trip (IPv6 link, IPv4 NAT link): $FIRST"
rounds=$(( (MOVES - 2) / 2 ))
for _ in $(seq "$rounds"); do
    to_v6
    to_v4
done
# Let neighbour entries age like the first ones did.
LAST=$(counts)
t1=$(date +%s.%N)
moves=$(( 2 + rounds * 2 ))
echo "after move $moves:                                   $LAST"
awk -v a="$t0" -v b="$t1" -v n="$moves" 'BEGIN { printf "%d moves in %.0f s (%.2f s per move, registration included)\n", n, b - a, (b - a) / n }'
leaked=0
for kv in $LAST; do
    k=${kv%%=*}
    before=$(echo "$FIRST" | tr ' ' '\n' | sed -n "s/^$k=//p")
    after=${kv#*=}
    [ "$before" = "$after" ] && continue
    echo "differs: $k $before -> $after"
    case $k in
        # Neighbour entries age and come back with traffic: only more of
        # them is a leak.
        neigh6 | neigh4) [ "$after" -gt "$before" ] && leaked=1 ;;
        *) leaked=1 ;;
    esac
done
lab_check "after $moves moves the mobile router and the home agent hold what they held after the first two" test "$leaked" = 0
lab_finish
