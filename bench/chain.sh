#!/bin/bash
# chain.sh - cold start of a delegation chain: how long from starting the
# daemons until a host three routers down reaches the ISP; and renumbering
# propagation: how long from the ISP moving its pool until that host has the
# new prefix preferred and the old one deprecated.
#
#   [isp] ---- [r1] ---- [r2] ---- [r3] ---- [host]
#   v6edge     v6edge routers, each delegating from its uplink's prefix
#   server
#
# Runs tests/scenarios/chain.sh RUNS times (each run builds the topology from
# scratch, fresh state directories, and checks every level), and collects
# its "chain cold start: S s" line: from starting the isp server and the three
# routers at once (topology and the ISP's RA already up) to the first
# successful ping host -> 2001:db8:0:1::1; and its "chain renumbering: S s"
# line (CHAIN_RENUMBER=1: the ISP's pool rewritten and reloaded, each level
# told by a Reconfigure from the level above).  A run whose checks failed is
# reported as failed, with its times if it had them, and not counted.
#
# Usage (root): bench/chain.sh [RUNS]        (default 5)
# Environment:  V6EDGE_BIN (default target/debug/v6edge), CHAIN_CPE_CONFIG
#               (see the scenario).
#
# The time includes the protocols' own delays at each level: the random
# Solicit delay of up to 1 s (RFC 8415 §18.2.1), and the wait until the
# router above has a prefix to delegate.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
SCENARIO=$HERE/../tests/scenarios/chain.sh
RUNS=${1:-5}
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [RUNS]" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "must run as root (network namespaces)" >&2; exit 2; }
export PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin

echo "chain cold start and renumbering, $RUNS runs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
cold=() renum=()
failed=0
for i in $(seq 1 "$RUNS"); do
    out=$(CHAIN_RENUMBER=1 CHAIN_RESTART=0 bash "$SCENARIO" 2>&1)
    rc=$?
    t=$(echo "$out" | sed -n 's/^chain cold start: \([0-9.]*\) s.*/\1/p' | head -n 1)
    r=$(echo "$out" | sed -n 's/^chain renumbering: \([0-9.]*\) s.*/\1/p' | head -n 1)
    if [ "$rc" -eq 0 ] && [ -n "$t" ] && [ -n "$r" ]; then
        cold+=("$t") renum+=("$r")
        echo "run $i: cold start $t s, renumbering $r s"
    else
        failed=$((failed + 1))
        echo "run $i: FAILED (exit $rc, cold start ${t:-none}, renumbering ${r:-none}): $(echo "$out" | grep -m 3 '^FAIL:' | tr '\n' ' ')"
    fi
done

# summary NAME TIMES...: min, median, mean, max.
summary() {
    local name=$1; shift
    printf '%s\n' "$@" | sort -n | awk -v name="$name" -v failed="$failed" '
        { t[NR] = $1; sum += $1 }
        END {
            med = (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
            printf "%s: runs %d (failed %d): min %.2f s, median %.2f s, mean %.2f s, max %.2f s\n",
                name, NR, failed, t[1], med, sum / NR, t[NR]
        }'
}
if [ "${#cold[@]}" -gt 0 ]; then
    summary "cold start" "${cold[@]}"
    summary "renumbering" "${renum[@]}"
else
    echo "runs 0 (failed $failed): no time measured"
fi
[ "$failed" -eq 0 ]
