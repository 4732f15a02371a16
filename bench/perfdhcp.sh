#!/bin/bash
# perfdhcp.sh - DHCPv6 server throughput: v6edge (sqlite lease store, the
# default) against Kea (memfile, persist, no LFC), measured with Kea's
# perfdhcp in the same run.
#
#   [srv] isp0 ------------------------- eth0 [perf]
#         v6edge run (bench config)            perfdhcp -6 -l eth0 -e MODE -r RATE
#         or kea-dhcp6, one at a time          -p SECONDS -R 10000000 -g single all
#
# For every lease mode (address-only, prefix-only, address-and-prefix) and
# every target rate, each server gets a fresh start with an empty lease
# store, perfdhcp runs for PERF_SECONDS, the server's RSS is read, and the
# server is stopped.  The servers alternate (A B, then B A at the next rate)
# so that drifting machine load hits both alike.  A rate counts as
# sustained when at most PERF_MAX_DROP percent of the exchanges (Solicits
# sent without a Reply at the end) failed; after the first rate that is not
# sustained a server is not tried at higher rates of that mode.
# The table reports per mode and server the highest sustained rate with the
# exchanges/s perfdhcp achieved there (4-way exchanges: Solicit, Advertise,
# Request, Reply), the RSS at the end of that server's last run, and the
# ratio v6edge / Kea of the achieved rates.  It also reports the server's
# CPU time during that run (utime + stime of all its threads, from /proc)
# and the exchanges completed per server CPU-second, with their ratio: on
# two cores perfdhcp itself saturates one core near 30 000 exchanges/s, so
# above that the achieved rate measures the load generator, while the
# exchanges per CPU-second still compare the servers.  perfdhcp's own CPU
# time is printed per run ("gen cpu"): it polls, so it takes a whole core
# at any rate, and the server has the other one.  Each run also prints the
# UDP receive-buffer drops (Udp6RcvbufErrors) on each side: drops on the
# perfdhcp side mean the load generator could not read the replies it got,
# so the failed exchanges are its own limit, not the server's.
#
# The v6edge config is examples/isp-server.toml with larger pools (its IA_NA
# range and /40 hold 65 280 and 65 536 leases; 20 000 exchanges/s for 10 s
# need 200 000): IA_NA 2001:db8:0:1::1:0-2001:db8:0:1::ff:ffff, IA_PD
# 2001:db8:c000::/34 as /56s; Kea gets the same pools and lifetimes
# (tests/lab/server.sh srv_write_kea).  Logging: v6edge at "warn", Kea at WARN.
#
# Usage (root): bench/perfdhcp.sh
# Environment:
#   PERF_RATES     target rates (default "1000 3000 6000 10000 15000 20000")
#   PERF_SECONDS   seconds per measurement (default 10)
#   PERF_MODES     default "address-only prefix-only address-and-prefix"
#   PERF_MAX_DROP  percent of failed exchanges still counted as sustained (2.5)
#   BENCH_IMPLS    servers, in order (default "v6edge kea"); a name starting
#                  with "kea" runs Kea, with "v6edge" runs v6edge, so
#                  "kea kea2" validates the bench with Kea on both sides
#   V6EDGE_BIN     default target/debug/v6edge (build with --release for numbers)
#   BENCH_V6EDGE_LOG  RUST_LOG for the server (default warn)
# If v6edge cannot start (e.g. a build without the server) its measurements
# are reported as failed and the benchmark goes on with Kea.
# Numbers are only comparable on an otherwise idle machine; the load
# average is printed before and after.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
LAB=$HERE/../tests/lab
export PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin

read -r -a RATES <<<"${PERF_RATES:-1000 3000 6000 10000 15000 20000}"
read -r -a MODES <<<"${PERF_MODES:-address-only prefix-only address-and-prefix}"
read -r -a IMPLS <<<"${BENCH_IMPLS:-v6edge kea}"
SECS=${PERF_SECONDS:-10}
MAX_DROP=${PERF_MAX_DROP:-2.5}
for m in "${MODES[@]}"; do
    case $m in address-only|prefix-only|address-and-prefix) ;;
        *) echo "unknown mode $m" >&2; exit 2 ;; esac
done
for i in "${IMPLS[@]}"; do
    case $i in v6edge*|kea*) ;; *) echo "BENCH_IMPLS: $i is neither v6edge* nor kea*" >&2; exit 2 ;; esac
done
[ "$(id -u)" = 0 ] || { echo "must run as root (network namespaces)" >&2; exit 2; }

. "$LAB/netns.sh"
. "$LAB/peers.sh"
SERVER_IMPL=kea
. "$LAB/server.sh"
# Pools large enough for PERF_SECONDS at the highest rate.
SRV_NA_FIRST=2001:db8:0:1::1:0
SRV_NA_LAST=2001:db8:0:1::ff:ffff
SRV_PD_POOL=2001:db8:c000::/34
SRV_KEA_SEVERITY=WARN
V6EDGE_LOG=${BENCH_V6EDGE_LOG:-warn}

# Watchdog: every measurement (perfdhcp + start/stop) plus set-up.
LAB_TIMEOUT=$(( ${#MODES[@]} * ${#RATES[@]} * ${#IMPLS[@]} * (SECS + 25) + 60 ))
lab_init perfdhcp-bench
lab_require perfdhcp kea-dhcp6 ss timeout

lab_ns_create srv
lab_ns_create perf
lab_link srv isp0 perf eth0
lab_addr srv isp0 "$SRV_ADDR/64"
lab_wait_dad srv isp0 || lab_die "no link-local on srv"
lab_wait_dad perf eth0 || lab_die "no link-local on perf"

# The v6edge bench config: the example with the larger pools.
SRV_CONFIG=$LAB_DIR/isp-server-bench.toml
sed -e "s|^range = \"2001:db8:0:1::100-2001:db8:0:1::ffff\"|range = \"$SRV_NA_FIRST-$SRV_NA_LAST\"|" \
    -e "s|^prefix = \"2001:db8:100::/40\"|prefix = \"$SRV_PD_POOL\"|" "$SRV_EXAMPLE" >"$SRV_CONFIG"
# perfdhcp sends every client's messages from one address, far above what
# the default [limits] let one link send: the bench measures the server's
# capacity, so no limits (Kea has none either).
printf '\n[limits]\ndhcp6-per-source = 0\ndhcp6-per-link = 0\ndhcp6-per-link-confirmed = 0\n' >>"$SRV_CONFIG"
V6EDGE_OK=1
if ! grep -q "^range = \"$SRV_NA_FIRST-" "$SRV_CONFIG" || ! grep -q "^prefix = \"$SRV_PD_POOL\"" "$SRV_CONFIG"; then
    lab_log "could not enlarge the pools in a copy of $SRV_EXAMPLE"; V6EDGE_OK=0
elif [ ! -x "$V6EDGE_BIN" ]; then
    lab_log "no v6edge binary at $V6EDGE_BIN"; V6EDGE_OK=0
elif ! "$V6EDGE_BIN" check --config "$SRV_CONFIG" >"$LAB_DIR/check.out" 2>&1; then
    lab_log "v6edge check rejects the bench config: $(cat "$LAB_DIR/check.out")"; V6EDGE_OK=0
fi
srv_write_kea

# perf_stat FILE SECTION FIELD: a number from perfdhcp's report.
perf_stat() {
    awk -v sec="$2" -v key="$3" '
        /^\*\*\*Statistics for: / { in_sec = index($0, sec) > 0 }
        in_sec && index($0, key ":") == 1 { sub(".*: *", ""); sub(" .*", ""); print; exit }' "$1"
}

# measure IMPL MODE RATE: one measurement; prints
# "achieved drop% rss_kB" or "failed REASON".
measure() {
    local impl=$1 mode=$2 rate=$3 out rc pid rss alive achieved sent recv cpu0 cpu1 gen
    case $impl in v6edge*) SERVER_IMPL=v6edge ;; kea*) SERVER_IMPL=kea ;; esac
    # (measure runs in a command substitution: a flag file outlives it.)
    if [ "$SERVER_IMPL" = v6edge ] && { [ "$V6EDGE_OK" != 1 ] || [ -e "$LAB_DIR/v6edge.failed" ]; }; then
        echo "failed v6edge unavailable: $(cat "$LAB_DIR/v6edge.failed" 2>/dev/null)"; return
    fi
    # A fresh server with an empty lease store.
    rm -rf "$LAB_DIR/srv-v6edge.state" "$LAB_DIR"/srv-kea.leases.csv*
    # srv_start gives up with lab_die (exit): a subshell keeps us alive.
    if ! ( srv_start 15 ) >>"$LAB_DIR/bench-starts.log" 2>&1; then
        lab_stop "$(srv_name)"
        local why; why="start: $(tail -n 1 "$LAB_DIR/$(srv_name).log" 2>/dev/null | cut -c1-160)"
        [ "$SERVER_IMPL" = v6edge ] && echo "$why" >"$LAB_DIR/v6edge.failed"
        echo "failed $why"
        return
    fi
    out=$LAB_DIR/perf-$impl-$mode-$rate.txt
    pid=$(cat "$LAB_DIR/$(srv_name).pid")
    cpu0=$(proc_cpu_ticks "$pid")
    local srv_drop0 gen_drop0 srv_drop gen_drop
    srv_drop0=$(rcvbuf_errors srv) gen_drop0=$(rcvbuf_errors perf)
    # bash's `time`: user + system seconds of perfdhcp (the waited children).
    local TIMEFORMAT='%U %S'
    { time lab_exec perf timeout $(( SECS + 20 )) perfdhcp -6 -l eth0 -e "$mode" -r "$rate" -p "$SECS" \
        -R 10000000 -g single all >"$out" 2>&1; } 2>"$out.time"
    rc=$?
    cpu1=$(proc_cpu_ticks "$pid")
    srv_drop=$(( $(rcvbuf_errors srv) - srv_drop0 )) gen_drop=$(( $(rcvbuf_errors perf) - gen_drop0 ))
    gen=$(awk '{printf "%.2f", $1 + $2}' "$out.time" 2>/dev/null)
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null)
    alive=1; lab_alive "$(srv_name)" || alive=0
    lab_stop "$(srv_name)"
    achieved=$(sed -n 's/^Rate: \([0-9.]*\) .*/\1/p' "$out")
    sent=$(perf_stat "$out" SOLICIT-ADVERTISE "sent packets")
    recv=$(perf_stat "$out" REQUEST-REPLY "received packets")
    local cpu_s
    cpu_s=$(awk -v a="${cpu0:-0}" -v b="${cpu1:-0}" -v t="$CLK_TCK" 'BEGIN { printf "%.2f", (b - a) / t }')
    echo "perf,$impl,$mode,$rate,${achieved:-},${sent:-},${recv:-},${rss:-},$rc,$cpu_s,${gen:-},$srv_drop,$gen_drop" >>"$LAB_DIR/results.csv"
    # perfdhcp exits 3 when some exchanges failed (expected near saturation).
    if [ "$alive" != 1 ]; then echo "failed server-died"; return; fi
    if [ "$rc" != 0 ] && [ "$rc" != 3 ]; then echo "failed perfdhcp-exit-$rc"; return; fi
    [[ ${sent:-} =~ ^[0-9]+$ && ${sent:-0} -gt 0 && ${achieved:-} =~ ^[0-9.]+$ ]] \
        || { echo "failed no-report"; return; }
    awk -v a="$achieved" -v s="$sent" -v r="${recv:-0}" -v m="${rss:-0}" -v c="$cpu_s" -v g="${gen:-0}" \
        -v sd="$srv_drop" -v gd="$gen_drop" \
        'BEGIN { printf "%s %.2f %d %s %s %d %d %d\n", a, 100 * (s - r) / s, m, c, g, (c > 0) ? r / c : 0, sd, gd }'
}

# rcvbuf_errors NS: UDP/IPv6 datagrams NS dropped for a full receive buffer.
rcvbuf_errors() {
    ip netns exec "$(lab_ns "$1")" cat /proc/net/snmp6 2>/dev/null | awk '$1 == "Udp6RcvbufErrors" {print $2; f = 1} END {if (!f) print 0}'
}

# proc_cpu_ticks PID: utime + stime of the process (all threads), in ticks.
proc_cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
CLK_TCK=$(getconf CLK_TCK)

echo "perfdhcp bench: servers ${IMPLS[*]}, modes ${MODES[*]}, rates ${RATES[*]}, ${SECS}s each;" \
     "drops <= ${MAX_DROP}%; cpus $(nproc), load average $(cut -d' ' -f1-3 /proc/loadavg)"
[[ " ${IMPLS[*]}" == *" v6edge"* ]] &&
    echo "v6edge: $V6EDGE_BIN ($([ "$V6EDGE_OK" = 1 ] && echo "bench config accepted by v6edge check" || echo unavailable))"
declare -A BEST=() BEST_RATE=() RSS=() STOPPED=() CPU=() EFF=()
flip=0
for mode in "${MODES[@]}"; do
    for rate in "${RATES[@]}"; do
        order=("${IMPLS[@]}")
        if [ "$flip" = 1 ] && [ "${#IMPLS[@]}" = 2 ]; then order=("${IMPLS[1]}" "${IMPLS[0]}"); fi
        flip=$(( 1 - flip ))
        for impl in "${order[@]}"; do
            key="$mode/$impl"
            [ -n "${STOPPED[$key]:-}" ] && continue
            r=$(measure "$impl" "$mode" "$rate")
            read -r a b c cpu gen eff sdrop gdrop <<<"$r"
            if [ "$a" = failed ]; then
                printf '  %-18s %-7s %6s/s  FAILED (%s)\n' "$mode" "$impl" "$rate" "${r#failed }"
                STOPPED[$key]=1
                continue
            fi
            RSS[$key]=$c
            ok=$(awk -v d="$b" -v m="$MAX_DROP" 'BEGIN { print (d <= m) ? 1 : 0 }')
            printf '  %-18s %-7s %6s/s  achieved %9s/s  drops %6s%%  rss %7s kB  srv cpu %6s s  gen cpu %6s s  %7s exch/cpu-s  rcvbuf drops srv %s gen %s%s\n' \
                "$mode" "$impl" "$rate" "$a" "$b" "$c" "$cpu" "$gen" "$eff" "$sdrop" "$gdrop" "$([ "$ok" = 1 ] || echo '  (not sustained)')"
            if [ "$ok" = 1 ]; then
                BEST[$key]=$a; BEST_RATE[$key]=$rate; CPU[$key]=$cpu; EFF[$key]=$eff
            else
                STOPPED[$key]=1
            fi
        done
    done
done

echo
echo "load average after the runs: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-20s %-8s %10s %12s %12s %10s %12s\n' mode server "best rate" "achieved/s" "rss-end kB" "srv cpu-s" "exch/cpu-s"
for mode in "${MODES[@]}"; do
    for impl in "${IMPLS[@]}"; do
        key="$mode/$impl"
        printf '%-20s %-8s %10s %12s %12s %10s %12s\n' "$mode" "$impl" "${BEST_RATE[$key]:--}" \
            "${BEST[$key]:-failed}" "${RSS[$key]:--}" "${CPU[$key]:--}" "${EFF[$key]:--}"
    done
    if [ "${#IMPLS[@]}" = 2 ]; then
        a=${BEST[$mode/${IMPLS[0]}]:-} b=${BEST[$mode/${IMPLS[1]}]:-}
        if [[ $a =~ ^[0-9.]+$ && $b =~ ^[0-9.]+$ ]] && awk -v b="$b" 'BEGIN { exit !(b > 0) }'; then
            awk -v a="$a" -v b="$b" -v m="$mode" -v x="${IMPLS[0]}" -v y="${IMPLS[1]}" \
                'BEGIN { printf "%-20s ratio %s / %s: %.2f\n", m, x, y, a / b }'
            e1=${EFF[$mode/${IMPLS[0]}]:-0} e2=${EFF[$mode/${IMPLS[1]}]:-0}
            awk -v a="$e1" -v b="$e2" -v m="$mode" -v x="${IMPLS[0]}" -v y="${IMPLS[1]}" \
                'BEGIN { if (b > 0) printf "%-20s ratio %s / %s per server CPU-second: %.2f\n", m, x, y, a / b }'
        else
            printf '%-20s ratio %s / %s: n/a (no sustained rate on one side)\n' "$mode" "${IMPLS[0]}" "${IMPLS[1]}"
        fi
    fi
done
echo "(achieved = 4-way exchanges/s at the highest target rate with <= ${MAX_DROP}% failed exchanges;"
echo " rss-end = the server's VmRSS at the end of its last run in that mode)"
echo "raw: perf,server,mode,rate,achieved,solicits_sent,replies_received,rss_kB,perfdhcp_exit,server_cpu_s,perfdhcp_cpu_s,server_rcvbuf_drops,perfdhcp_rcvbuf_drops"
cat "$LAB_DIR/results.csv" 2>/dev/null
# Exit 0 when at least one measurement produced a number (the teardown
# trap removes the work dir unless LAB_KEEP=1).
[ ${#BEST[@]} -gt 0 ]
exit $?
