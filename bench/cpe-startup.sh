#!/bin/bash
# cpe-startup.sh - how long a CPE takes from being started until a LAN host
# has a global SLAAC address in the delegated prefix.
#
#   [isp] eth0 ---- wan0 [cpe] lan0 ---- eth0 [host]
#   Kea (fresh lease file each run)     v6edge, or WIDE dhcp6c + radvd
#
# Each run builds the topology from scratch (tests/lab/cpe.sh), starts Kea
# and waits until it serves, then starts the clock, starts the CPE (v6edge:
# `v6edge run` with examples/cpe.toml; wide: radvd and dhcp6c) and polls the
# host every 20 ms until it has a global address inside the ISP's pool.
# Runs alternate between the implementations (v6edge, wide, v6edge, ...) so
# that drifting machine load hits both alike.
#
# Usage (root): bench/cpe-startup.sh [RUNS]        (default 5 runs each)
# Environment:  V6EDGE_BIN (default target/debug/v6edge), BENCH_IMPLS
#               ("v6edge wide"), BENCH_RUN_TIMEOUT (seconds, default 30).
# If v6edge is missing or a v6edge run fails, that run is reported as failed
# and the benchmark goes on.  The median ratio v6edge / wide is printed last.
#
# Both sides include their own protocol delays: the random Solicit delay of
# up to 1 s (RFC 8415 §18.2.1) in both clients, and for radvd the wait for its
# next unsolicited RA (MinRtrAdvInterval 3 s .. MaxRtrAdvInterval 10 s here;
# the host's Router Solicitations were sent when its link came up).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
LAB=$HERE/../tests/lab

# ------------------------------------------------------------ one run (child)
if [ "${1:-}" = --one ]; then
    export CPE_IMPL=$2 ISP_IMPL=kea
    . "$LAB/netns.sh"
    . "$LAB/peers.sh"
    . "$LAB/cpe.sh"
    LAB_TIMEOUT=$(( ${BENCH_RUN_TIMEOUT:-30} + 30 ))
    lab_init "bench-$CPE_IMPL"
    cpe_require
    cpe_topology
    isp_start
    t0=$(date +%s.%N)
    cpe_start
    deadline=$(awk -v t="$t0" -v d="${BENCH_RUN_TIMEOUT:-30}" 'BEGIN{printf "%d", t + d}')
    host_ns=$(lab_ns host)
    while :; do
        if [ -n "$(ip -n "$host_ns" -6 -o addr show dev eth0 scope global to "$ISP_POOL" 2>/dev/null)" ]; then
            t1=$(date +%s.%N)
            echo "RESULT $CPE_IMPL $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}')"
            exit 0
        fi
        [ "$(date +%s)" -ge "$deadline" ] && { echo "RESULT $CPE_IMPL timeout"; exit 1; }
        sleep 0.02
    done
fi

# --------------------------------------------------------------- the driver
RUNS=${1:-5}
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [RUNS]" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "must run as root (network namespaces)" >&2; exit 2; }
read -r -a IMPLS <<<"${BENCH_IMPLS:-v6edge wide}"
export PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin

declare -A RESULTS=()
echo "cpe-startup: $RUNS run(s) each of ${IMPLS[*]}, ISP = Kea; load average $(cut -d' ' -f1-3 /proc/loadavg)"
for run in $(seq 1 "$RUNS"); do
    for impl in "${IMPLS[@]}"; do
        out=$(timeout --kill-after=10 $(( ${BENCH_RUN_TIMEOUT:-30} + 60 )) "$0" --one "$impl" 2>"/tmp/cpe-startup.$$.err")
        t=$(awk -v i="$impl" '$1 == "RESULT" && $2 == i {print $3}' <<<"$out")
        if [[ $t =~ ^[0-9.]+$ ]]; then
            echo "  run $run $impl: ${t}s"
        else
            echo "  run $run $impl: FAILED (${t:-no result}):"
            grep '^\[lab\]' "/tmp/cpe-startup.$$.err" | grep -v 'prefix v6e\|server isp-' | tail -n 4 | sed 's/^/      /'
            t=failed
        fi
        RESULTS[$impl]+="$t "
    done
done
rm -f "/tmp/cpe-startup.$$.err"

# stats "T T T ...": "n min median mean max" over the numeric values.
stats() {
    tr ' ' '\n' <<<"$1" | grep -E '^[0-9.]+$' | sort -g | awk '
        { v[NR] = $1; s += $1 }
        END {
            if (NR == 0) { print 0, "-", "-", "-", "-"; exit }
            med = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            printf "%d %.3f %.3f %.3f %.3f\n", NR, v[1], med, s / NR, v[NR]
        }'
}

echo
printf '%-8s %4s %8s %8s %8s %8s   %s\n' impl ok min median mean max "runs (s)"
declare -A MEDIAN=()
for impl in "${IMPLS[@]}"; do
    read -r n mn med mean mx <<<"$(stats "${RESULTS[$impl]}")"
    MEDIAN[$impl]=$med
    printf '%-8s %2d/%-2d %7s %8s %8s %8s   %s\n' "$impl" "$n" "$RUNS" "$mn" "$med" "$mean" "$mx" "${RESULTS[$impl]}"
done
if [ "${#IMPLS[@]}" -eq 2 ]; then
    a=${IMPLS[0]} b=${IMPLS[1]}
    if [[ ${MEDIAN[$a]} =~ ^[0-9.]+$ && ${MEDIAN[$b]} =~ ^[0-9.]+$ ]]; then
        awk -v x="${MEDIAN[$a]}" -v y="${MEDIAN[$b]}" -v a="$a" -v b="$b" \
            'BEGIN{ printf "ratio %s / %s (medians): %.2f\n", a, b, x / y }'
    else
        echo "ratio $a / $b: n/a (no successful runs of one side)"
    fi
fi
