#!/bin/bash
# mip6-handover.sh - Mobile IPv6 handover latency of v6edge's mobile node and
# home agent (issue 9; reference scenario MT-10): from the link change to the
# first echo reply through the new care-of address, over MOVES moves between
# two foreign links, each with its own router and radvd.
#
# Test bed: tests/lab/mip6.sh (v6edge home agent and mobile node, examples
# verbatim, both on their userspace tunnels; a correspondent beyond the home
# agent). The mobile node first registers on foreign link 1; then the
# correspondent runs `ping -D -i 0.01` to the home address (a 10 ms
# resolution) and the mobile node moves link 1 -> link 2 -> link 1 ...:
#
#   link change = carrier down on the mobile node's eth0, its port moved to
#     the other link's bridge, carrier up (mip6_move); the clock starts when
#     `ip link set eth0 up` has returned, i.e. the node is attached to the
#     new link (the down..up step itself, ~50-100 ms of ip(8) calls, is
#     reported apart as "switch");
#   handover latency = the ping -D timestamp of the first echo reply
#     received after that instant, minus that instant. The old care-of
#     address is gone with the carrier (an admin-down flushes it), so that
#     reply came through the new one.
#   outage = the same reply minus the last reply before the carrier went
#     down (what a user sees).
# After each move the bench waits for that reply (at most 30 s), then dwells
# DWELL seconds (default 1) before the next move.
#
# Modes (one fresh test bed each):
#   default  radvd's default intervals (MaxRtrAdvInterval 600 s, Min 198 s,
#            MinDelayBetweenRAs 3 s): the node learns the new link from the
#            answer to the Router Solicitation its kernel sends on link-up,
#            which radvd (2.14 and later: AdvRASolicitedUnicast on) sends
#            unicast at once, outside the 3 s limit; a solicitation lost
#            (e.g. sent before the bridge port forwards) costs the kernel's
#            rtr_solicit_interval, 4 s, so a rare worst case of ~4 s;
#   fast     MinRtrAdvInterval 0.03 s, MaxRtrAdvInterval 0.07 s,
#            MinDelayBetweenRAs 0.03 s, Advertisement Interval option on: the
#            lowest RFC 6275 §7.5 allows.
#   dsmip    vertical handovers (RFC 5555, issue 13): the mobile node
#            (examples/mobile-node.toml with home-agent-ipv4) moves between
#            foreign link 1 (IPv6, fast RAs) and the IPv4-only link behind
#            a NAT (tests/lab/mip6.sh mip6_ipv4_link), where the bench gives
#            eth0 its IPv4 address and default route right after link-up
#            as a DHCPv4 client would (its own delay not counted); there the
#            tunnel is UDP over IPv4. Not in the default BENCH_MODES.
# DAD is off in the test bed's namespaces (the lab's default): with it, the
# new care-of address would wait ~1 s of DAD unless optimistic DAD is on.
#
# Usage (root): bench/mip6-handover.sh [MOVES]     (default 20)
# Environment:  V6EDGE_BIN (default target/debug/v6edge), BENCH_MODES
#               ("default fast"), DWELL (1).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
LAB=$HERE/../tests/lab

# ------------------------------------------------------------ one run (child)
if [ "${1:-}" = --one ]; then
    MODE=$2 MOVES=$3
    case $MODE in
        default) export MIP6_RA_MIN=default ;;
        fast | dsmip) export MIP6_RA_MIN=0.03 MIP6_RA_MAX=0.07 MIP6_RA_MIN_DELAY=0.03 MIP6_RA_INTERVAL_OPT=on ;;
        *) echo "unknown mode $MODE" >&2; exit 2 ;;
    esac
    export V6EDGE_LOG=${V6EDGE_LOG:-info}
    LAB_TIMEOUT=$(( MOVES * 40 + 120 ))
    . "$LAB/netns.sh"
    . "$LAB/peers.sh"
    . "$LAB/mip6.sh"
    lab_init "bench-handover-$MODE"
    mip6_topology
    if [ "$MODE" = dsmip ]; then
        mip6_ipv4_link
        cp "$MIP6_REPO_DIR/examples/mip6-demo.key" "$LAB_DIR/"
        { cat "$MIP6_MN_CONFIG"; echo 'home-agent-ipv4 = "169.254.255.1"'; } >"$LAB_DIR/mn-dsmip.toml"
        MIP6_MN_CONFIG=$LAB_DIR/mn-dsmip.toml
    fi
    mip6_start_ha
    lab_wait 15 coa_in 2001:db8:1: || lab_die "no home address prefix on mn:eth0"
    mip6_start_mn
    mip6_move ar1 br1
    lab_wait 30 coa_in 2001:db8:a: || lab_die "no care-of address on link 1"
    lab_wait 30 bound_at "$(lab_global mn eth0)" || lab_die "no registration on link 1"
    PING_LOG=$LAB_DIR/ping-cn.log
    lab_daemon cn ping-cn ping -6 -n -D -i 0.01 "$MIP6_HOA"
    sleep 1
    # first_reply_after T: the timestamp of the first echo reply after T.
    first_reply_after() {
        sed -n 's/^\[\([0-9.]*\)\] .* bytes from .*/\1/p' "$PING_LOG" | awk -v t="$1" '$1 > t { print; exit }'
    }
    last_reply_before() {
        sed -n 's/^\[\([0-9.]*\)\] .* bytes from .*/\1/p' "$PING_LOG" | awk -v t="$1" '$1 < t { r = $1 } END { print r }'
    }
    for i in $(seq 1 "$MOVES"); do
        if [ "$MODE" = dsmip ]; then
            if [ $((i % 2)) = 1 ]; then
                mip6_move ar3 br3
                mip6_ipv4_attach
            else
                mip6_ipv4_detach
                mip6_move ar1 br1
            fi
        elif [ $((i % 2)) = 1 ]; then mip6_move ar2 br2; else mip6_move ar1 br1; fi
        read -r t_down t_up _ < <(tail -1 "$LAB_DIR/moves.log")
        reply=
        for _ in $(seq 1 600); do
            reply=$(first_reply_after "$t_up")
            [ -n "$reply" ] && break
            sleep 0.05
        done
        if [ -z "$reply" ]; then
            echo "RESULT $MODE $i timeout"
            continue
        fi
        before=$(last_reply_before "$t_down")
        awk -v m="$MODE" -v i="$i" -v d="$t_down" -v u="$t_up" -v r="$reply" -v b="${before:-$t_down}" \
            'BEGIN { printf "RESULT %s %d latency %.3f outage %.3f switch %.3f\n", m, i, r - u, r - b, u - d }'
        sleep "${DWELL:-1}"
    done
    kill -INT "$(cat "$LAB_DIR/ping-cn.pid")" 2>/dev/null
    sleep 0.5
    grep -A1 'ping statistics' "$PING_LOG" | tail -1 | sed "s/^/PING $MODE /"
    echo "BU $MODE sent $(mn_field bu_sent) retransmissions $(mn_field retransmissions)"
    exit 0
fi

# --------------------------------------------------------------- the driver
MOVES=${1:-20}
[[ $MOVES =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [MOVES]" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "must run as root (network namespaces)" >&2; exit 2; }
read -r -a MODES <<<"${BENCH_MODES:-default fast}"
export PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin

echo "Mobile IPv6 handover latency, $MOVES moves between two foreign links per mode"
echo "(link change = the mobile node's eth0 up on the new link; latency = first echo"
echo " reply of ping -D -i 0.01 from the correspondent to the home address after it)"
for mode in "${MODES[@]}"; do
    out=$(bash "$0" --one "$mode" "$MOVES" 2>/dev/null)
    echo "$out" | grep '^RESULT' | sed 's/^/  /'
    echo "$out" | grep '^PING\|^BU' | sed 's/^/  /'
    echo "$out" | awk -v m="$mode" '
        $1 == "RESULT" && $4 == "latency" { n++; l[n] = $5; o[n] = $7; s[n] = $9 }
        $1 == "RESULT" && $4 == "timeout" { t++ }
        function median(a, k,   i, j, x) {
            for (i = 2; i <= k; i++) { x = a[i]; for (j = i - 1; j > 0 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
            return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
        }
        END {
            if (!n) { printf "%-8s no move completed\n", m; exit }
            for (i = 1; i <= n; i++) { if (l[i] > lw) lw = l[i]; if (o[i] > ow) ow = o[i]; if (s[i] > sw) sw = s[i] }
            lm = median(l, n); om = median(o, n); sm = median(s, n)
            printf "%-8s latency median %.0f ms, worst %.0f ms; outage median %.0f ms, worst %.0f ms; switch median %.0f ms (%d moves, %d timed out)\n", \
                m, lm * 1000, lw * 1000, om * 1000, ow * 1000, sm * 1000, n, t + 0
        }'
done
