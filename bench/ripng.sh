#!/bin/bash
# ripng.sh - RIPng (RFC 2080) with v6edge, BIRD 2 and FRR in one run
# (issue 10): CPU per 1000 routes per update, and convergence after a link
# failure in a triangle.
#
#   r1 v6edge --(eth0/eth0)-- r2 BIRD --(eth1/eth0)-- r3 FRR --(eth1/eth1)-- r1
#   each with lan0 (2001:db8:a::/64, :b::, :c::) and eth2 to an injector
#   that multicasts ROUTES /64s every update interval
#   (tests/lab/tools/ripng-inject.py, the same routes on each link).
# Timers: update 5 s, timeout 30 s, garbage collection 20 s on all three
# (tests/lab/routing.sh).
#
# CPU: once every router holds the injected routes, each daemon's CPU time
# (utime + stime from /proc) over WINDOW seconds (default 60), per update
# interval and per 1000 routes; for FRR, ripngd and zebra (which installs
# the routes) apart. The kernel's own route work is in none of them.
# Convergence: each link of the triangle in turn is cut (both veth ends
# down); for the two routers on it, the time until the kernel routes the
# other's LAN through the third router (polled every 50 ms); the link is
# restored and the triangle settles before the next.
#
# Usage (root): bench/ripng.sh [ROUTES] [WINDOW]     (default 1000, 60)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
LAB=$HERE/../tests/lab
ROUTES=${1:-1000}
WINDOW=${2:-60}
[[ $ROUTES =~ ^[1-9][0-9]*$ && $WINDOW =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [ROUTES] [WINDOW]" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "must run as root (network namespaces)" >&2; exit 2; }
export PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin
LAB_TIMEOUT=$(( WINDOW + 900 ))
. "$LAB/netns.sh"
. "$LAB/peers.sh"
. "$LAB/routing.sh"

lab_init bench-ripng
for ns in r1 r2 r3 inj; do lab_ns_create $ns; done
for ns in r1 r2 r3; do lab_router $ns; done
lab_link r1 eth0 r2 eth0
lab_link r2 eth1 r3 eth0
lab_link r3 eth1 r1 eth1
lab_link inj i1 r1 eth2
lab_link inj i2 r2 eth2
lab_link inj i3 r3 eth2
for spec in r1:a r2:b r3:c; do
    ns=${spec%%:*}; net=${spec#*:}
    lab_exec "$ns" ip link add lan0 type veth peer name lanpeer
    lab_exec "$ns" ip link set lanpeer up
    lab_exec "$ns" ip link set lan0 up
    lab_exec "$ns" ip -6 addr add "2001:db8:$net::1/64" dev lan0 nodad
done
for ns in r1 r2 r3; do lab_wait_dad "$ns" eth0 eth1 eth2 || lab_die "no link-local on $ns"; done
lab_wait_dad inj i1 i2 i3 || lab_die "no link-local on inj"

ripng_toml "$LAB_DIR/r1.toml" eth0 eth1 eth2 lan0
start_v6edge r1 r1 "$LAB_DIR/r1.toml"
v6edge_wait_ready r1 10 || lab_die "v6edge did not start (log: $LAB_DIR/r1.log)"
start_bird_ripng r2 bird
FRR_NS=r3
start_frr_ripng r3 frr eth0 eth1 eth2 lan0

count() { ip -n "$(lab_ns "$1")" -6 route show | grep -c '^2001:db8:2'; }
for i in 1 2 3; do
    lab_daemon inj "inject$i" "$LAB_PY" "$LAB/tools/ripng-inject.py" "i$i" "$ROUTES" \
        --interval "$RIPNG_UPDATE" --seconds $(( WINDOW + 120 ))
done
all_learnt() { [ "$(count r1)" -ge "$ROUTES" ] && [ "$(count r2)" -ge "$ROUTES" ] && [ "$(count r3)" -ge "$ROUTES" ]; }
lab_wait 90 all_learnt || lab_die "not every router learnt the $ROUTES routes (r1 $(count r1), r2 $(count r2), r3 $(count r3))"
sleep "$RIPNG_UPDATE"

ticks() { awk '{ print $14 + $15 }' "/proc/$(cat "$LAB_DIR/$1.pid")/stat"; }
hz=$(getconf CLK_TCK)
names=(r1 bird frr-ripngd frr-zebra)
declare -A t0
for n in "${names[@]}"; do t0[$n]=$(ticks "$n"); done
sleep "$WINDOW"
echo "RIPng, $ROUTES routes injected on every router's third link, updates every $RIPNG_UPDATE s, $WINDOW s measured"
for n in "${names[@]}"; do
    t1=$(ticks "$n")
    awk -v n="$n" -v d=$(( t1 - ${t0[$n]} )) -v hz="$hz" -v w="$WINDOW" -v u="$RIPNG_UPDATE" -v r="$ROUTES" \
        'BEGIN { ms = 1000 * d / hz; printf "  %-11s CPU %6.0f ms  = %6.2f ms per update per 1000 routes (%4.1f %% of a core)\n", n, ms, ms / (w / u) / (r / 1000), 100 * ms / 1000 / w }'
done

# converge NS PREFIX DEV: seconds until NS routes PREFIX through DEV (at
# most CONVERGE_LIMIT, default 60: beyond, the route timeout of the timers
# above would have done it).
CONVERGE_LIMIT=${CONVERGE_LIMIT:-60}
converge() {
    local ns=$1 prefix=$2 dev=$3 t0 now
    t0=$(date +%s.%N)
    while :; do
        now=$(date +%s.%N)
        if ip -n "$(lab_ns "$ns")" -6 route show "$prefix" | grep -q "dev $dev "; then
            awk -v a="$t0" -v b="$now" 'BEGIN { printf "%.2f", b - a }'
            return
        fi
        if awk -v a="$t0" -v b="$now" -v l="$CONVERGE_LIMIT" 'BEGIN { exit !(b - a > l) }'; then
            echo ">$CONVERGE_LIMIT"
            return
        fi
        sleep 0.05
    done
}
# cut NS1 IF1 NS2 IF2, then for each end the third-router path.
link_failure() {
    local label=$1 ns1=$2 if1=$3 ns2=$4 if2=$5 p1=$6 via1=$7 p2=$8 via2=$9
    lab_exec "$ns1" ip link set "$if1" down
    lab_exec "$ns2" ip link set "$if2" down
    local a b
    # Both ends at once: one in the background, its answer in a file.
    converge "$ns1" "$p1" "$via1" >"$LAB_DIR/converge.a" &
    local pid=$!
    b=$(converge "$ns2" "$p2" "$via2")
    # That one only: a bare wait would wait for the lab's watchdog too.
    wait "$pid"
    a=$(cat "$LAB_DIR/converge.a")
    # Back up: how long until both ends route over the link again (the
    # shorter path), measured the same way; the next cut waits for it.
    lab_exec "$ns1" ip link set "$if1" up
    lab_exec "$ns2" ip link set "$if2" up
    converge "$ns1" "$p1" "$if1" >"$LAB_DIR/converge.a" &
    pid=$!
    local c d
    d=$(converge "$ns2" "$p2" "$if2")
    wait "$pid"
    c=$(cat "$LAB_DIR/converge.a")
    printf "  %-14s cut:      %-3s %6s s  %-3s %6s s;  restored: %-3s %6s s  %-3s %6s s\n" \
        "$label" "$ns1" "$a" "$ns2" "$b" "$ns1" "$c" "$ns2" "$d"
    sleep "$RIPNG_UPDATE"
}
echo "Convergence after a link failure (seconds to the route through the third router), and after"
echo "the link comes back (to the direct route again); r1 v6edge, r2 BIRD, r3 FRR:"
link_failure "r1-r3" r1 eth1 r3 eth1 2001:db8:c::/64 eth0 2001:db8:a::/64 eth0
link_failure "r1-r2" r1 eth0 r2 eth0 2001:db8:b::/64 eth1 2001:db8:a::/64 eth1
link_failure "r2-r3" r2 eth1 r3 eth0 2001:db8:c::/64 eth0 2001:db8:b::/64 eth1
stop_frr_ripng frr
exit 0
