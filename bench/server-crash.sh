#!/bin/bash
# server-crash.sh - crash endurance of v6edge as a delegating server: kill -9
# under perfdhcp load, again and again, and check after every restart,
# against the Replies captured on the client side, that nothing the server
# acknowledged was lost.
#
#   [srv] isp0 2001:db8:0:1::1/64 ---------------- eth0 [cli]
#         v6edge run (examples/isp-server.toml       perfdhcp -6 (Solicit/Advertise/
#         with larger pools), SQLite lease store      Request/Reply, Renews, Releases)
#         in srv-v6edge.state, routes proto 118       tcpdump -w (the reference)
#
# Each round: tcpdump starts capturing on cli:eth0, perfdhcp runs a random
# 0.5-3 s of load, the server gets SIGKILL, perfdhcp and tcpdump stop, the
# capture is added to what the client side saw acknowledged
# (bench/lib/check-acked.py ingest), and the server is started again on the
# same state directory.  Then:
#   restart-to-answer  from starting the process to the first Advertise to a
#                      probe Solicit (bench/lib/dhcp6-probe.py; Solicits
#                      commit nothing), bounded by CRASH_ANSWER_WAIT
#   routes ready       until the proto 118 routes in srv match the server's
#                      delegated prefixes (bounded by CRASH_ROUTE_WAIT; the
#                      time when their number first matched, polled every
#                      0.1 s, if the full comparison then agrees)
#   checks             (bench/lib/check-acked.py verify):
#     (a) every lease acknowledged in a captured Reply (valid lifetime > 0,
#         not since released, declined, revoked, superseded by a fresh
#         Request's other lease, or run out) is in `v6edge leases --json` of
#         the restarted server and in its database, for the same client,
#         expiring no earlier than acknowledged (minus CRASH_SLACK seconds);
#     (b) no prefix or address is held by two clients: no overlapping leases
#         in the server's list, no two clients' acknowledgements overlapping
#         in time;
#     (c) the proto 118 routes are exactly the delegated prefixes in the
#         server's list, each via the lease's next hop and interface.
# One line per kill, a summary at the end; exit 1 on any violation.
#
# perfdhcp derives its clients' DUIDs from one base DUID (-b duid=; fixed in
# odd rounds, so the same DUIDs come back and find the bindings the restarted
# server restored; its own, time-based, in even rounds, so there are new
# clients too): "two clients" means two DUIDs, and a client that Requests
# again and gets another lease in the same IA has the old one superseded
# (RFC 8415 §18.3.2 says the server returns the existing binding; the count
# is in the summary).  perfdhcp does not retransmit; a Reply sent again
# would only acknowledge the same lease to the same client again.  Its
# Releases (-F) end a claim as soon as they are sent: after a crash the
# server may have missed one, and then still holding the lease is no error.
# The capture must be complete (tcpdump's own count of packets the filter
# took equals the packets written), or the run fails: a missed Release would
# be reported as a lost lease.
#
# --self-test: KILLS defaults to 3 and every round has new clients; after
# the 2nd kill, while the server is down, its database is damaged behind its
# back (the ten lowest acknowledged prefixes deleted, one given to another
# DUID, one shortened by 600 s), and after the restart one of its routes is
# deleted.  The run passes only if kill 1 is clean, the checks after kill 2
# report each damage (missing, wrong client, early expiry, in the daemon's
# list and in the database, and the route), and by the last kill a deleted
# prefix was acknowledged to a second client (the restarted allocator fills
# the pool from its start).  Nothing like this runs without the flag.
#
# usage: sudo bench/server-crash.sh [--self-test] [KILLS]       (default 100)
# Environment:
#   CRASH_RATE     perfdhcp exchanges/s (default 500); Renews at 1/10 of it,
#                  Releases at 1/20
#   CRASH_MODE     perfdhcp -e (default address-and-prefix)
#   CRASH_CLIENTS  perfdhcp -R (default 10000000)
#   CRASH_DUID_BASE  "mixed" (default: odd rounds the fixed base
#                  000100015f5e1000000c01020304, even rounds perfdhcp's own),
#                  "fresh" (perfdhcp's own, new DUIDs every round) or a hex
#                  DUID for perfdhcp -b duid= in every round
#   CRASH_SEED     seed of the load durations (default: the time)
#   CRASH_SLACK    seconds of clock slack in the expiry check (default 1.5)
#   CRASH_ANSWER_WAIT, CRASH_ROUTE_WAIT   bounds in seconds (60, 60)
#   V6EDGE_BIN     default: the release build (built here with cargo)
#   BENCH_V6EDGE_LOG  RUST_LOG for the server (default warn)
#   CRASH_KEEP_DB=1  copy the database as each kill left it to db-KILL/
#   LAB_KEEP=1     keep the work dir (captures, logs, database)
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LIB=$ROOT/bench/lib
export PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin

SELF_TEST=0
KILLS=
for a in "$@"; do
    case $a in
        --self-test) SELF_TEST=1 ;;
        ''|*[!0-9]*) echo "usage: $0 [--self-test] [KILLS]" >&2; exit 2 ;;
        *) KILLS=$a ;;
    esac
done
if [ -z "$KILLS" ]; then
    if [ "$SELF_TEST" = 1 ]; then KILLS=3; else KILLS=100; fi
fi
[ "$KILLS" -ge 1 ] || { echo "KILLS must be at least 1" >&2; exit 2; }
[ "$SELF_TEST" = 1 ] && [ "$KILLS" -lt 2 ] && { echo "--self-test needs at least 2 kills" >&2; exit 2; }
RATE=${CRASH_RATE:-500}
MODE=${CRASH_MODE:-address-and-prefix}
CLIENTS=${CRASH_CLIENTS:-10000000}
SEED=${CRASH_SEED:-$(date +%s)}
SLACK=${CRASH_SLACK:-1.5}
# Odd rounds: a fixed DUID-LLT base, so perfdhcp numbers its clients from
# the same DUIDs every time and they come back after each restart to Request
# again for bindings the restarted server restored.  Even rounds: perfdhcp's
# own base (its start time is in the DUID), new clients and new grants.
DUID_BASE=${CRASH_DUID_BASE:-mixed}
# The self-test's damaged leases must belong to clients that never return.
[ "$SELF_TEST" = 1 ] && DUID_BASE=${CRASH_DUID_BASE:-fresh}
# duid_args ROUND: perfdhcp's -b option for that round (none: fresh DUIDs).
duid_args() {
    case $DUID_BASE in
        fresh) ;;
        mixed) [ $(( $1 % 2 )) = 1 ] && echo "-b duid=000100015f5e1000000c01020304" ;;
        *) echo "-b duid=$DUID_BASE" ;;
    esac
}
ANSWER_WAIT=${CRASH_ANSWER_WAIT:-60}
ROUTE_WAIT=${CRASH_ROUTE_WAIT:-60}
[ "$(id -u)" = 0 ] || { echo "server-crash.sh: run as root" >&2; exit 2; }

if [ -z "${V6EDGE_BIN:-}" ]; then
    (cd "$ROOT" && cargo build -q --release -p v6edge) || exit 1
    V6EDGE_BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/v6edge
fi
V6EDGE_LOG=${BENCH_V6EDGE_LOG:-warn}
# Watchdog: a round is a few seconds; a restart with many leases takes more.
LAB_TIMEOUT=${LAB_TIMEOUT:-$(( KILLS * (ANSWER_WAIT + ROUTE_WAIT + 30) + 120 ))}
. "$ROOT/tests/lab/netns.sh"
. "$ROOT/tests/lab/peers.sh"
lab_init server-crash
lab_require perfdhcp tcpdump ss timeout
PY=$LAB_PY
CHECK=$LIB/check-acked.py
"$PY" "$CHECK" unit >/dev/null || lab_die "check-acked.py fails its own unit checks"

# examples/isp-server.toml with pools large enough for the whole run (as
# bench/perfdhcp.sh): IA_NA ::1:0-::ff:ffff, IA_PD 2001:db8:c000::/34 as /56s.
CONF=$LAB_DIR/isp-server-crash.toml
sed -e 's|^range = "2001:db8:0:1::100-2001:db8:0:1::ffff"|range = "2001:db8:0:1::1:0-2001:db8:0:1::ff:ffff"|' \
    -e 's|^prefix = "2001:db8:100::/40"|prefix = "2001:db8:c000::/34"|' "$ROOT/examples/isp-server.toml" >"$CONF"
grep -q '^prefix = "2001:db8:c000::/34"' "$CONF" && grep -q '^range = "2001:db8:0:1::1:0-' "$CONF" \
    || lab_die "could not enlarge the pools in a copy of examples/isp-server.toml"
"$V6EDGE_BIN" check --config "$CONF" >/dev/null || lab_die "v6edge check rejects $CONF"

lab_ns_create srv
lab_ns_create cli
lab_link srv isp0 cli eth0
lab_addr srv isp0 2001:db8:0:1::1/64
lab_wait_dad srv isp0 || lab_die "no link-local on srv:isp0"
lab_wait_dad cli eth0 || lab_die "no link-local on cli:eth0"

SRV=srv-v6edge
DB=$LAB_DIR/$SRV.state/leases.db
STATE=$LAB_DIR/acked.pickle
start_v6edge_server srv "$SRV" "$CONF" "$ANSWER_WAIT" || lab_die "v6edge did not start"

# now: unix time with fractions.
now() { date +%s.%N; }
# srv_leases FILE: the restarted server's leases (can be large: bounded 60 s).
srv_leases() { timeout 60 "$V6EDGE_BIN" leases --json --control "$LAB_DIR/$SRV.sock" >"$1" 2>"$1.err"; }
srv_routes() { ip -n "$(lab_ns srv)" -6 route show proto 118 >"$1"; }
route_count() { ip -n "$(lab_ns srv)" -6 route show proto 118 | wc -l; }
# pd_count: the server's delegated prefixes (status counts them).
pd_count() { v6edge_status_json "$SRV" 2>/dev/null | lab_json 'd["server"]["leases"]["pd"]' 2>/dev/null; }
# field JSON KEY: one value of a flat JSON object.
field() { "$PY" -c 'import json,sys; v=json.loads(sys.argv[1]).get(sys.argv[2]); print("-" if v is None else v)' "$1" "$2"; }

echo "server-crash: $KILLS kills, perfdhcp -e $MODE at ${RATE}/s (renew $((RATE / 10))/s, release $((RATE / 20))/s)," \
     "-R $CLIENTS, seed $SEED$([ "$SELF_TEST" = 1 ] && echo ', SELF-TEST'); cpus $(nproc), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "v6edge: $V6EDGE_BIN; work dir $LAB_DIR"
printf '%4s %5s %8s %8s %8s %7s %7s %5s %5s %6s %7s %7s  %s\n' kill "load" replies acked live store missing dup routes route! answer routes "other"
T_BEGIN=$(now)
RANDOM=$SEED
RESULTS=$LAB_DIR/results.jsonl
: >"$RESULTS"
BAD_KILLS=0
CAPTURE_BAD=0
SELFTEST_OK=1
for i in $(seq 1 "$KILLS"); do
    load=$(awk -v r="$RANDOM" 'BEGIN { printf "%.2f", 0.5 + 2.5 * r / 32767 }')
    cap=$LAB_DIR/cap-$i.pcap
    # The client side's view: every DHCPv6 message on cli:eth0.
    # --immediate-mode: without it libpcap hands packets over a ring-buffer
    # block at a time, and the block still filling when tcpdump stops (up to
    # a second of traffic) never reaches the file: the Releases sent just
    # before the kill would be missing and their leases reported lost.
    lab_daemon cli "tcpdump-$i" tcpdump -i eth0 -n --immediate-mode -U -B 32768 -s 1500 -w "$cap" \
        'udp and (port 546 or port 547)'
    lab_wait 10 grep -q "listening on" "$LAB_DIR/tcpdump-$i.log" || lab_die "tcpdump did not start"
    lab_daemon cli "perf-$i" perfdhcp -6 -l eth0 -e "$MODE" -r "$RATE" -f $((RATE / 10)) -F $((RATE / 20)) \
        -R "$CLIENTS" $(duid_args "$i") -p 600 -g single all
    sleep "$load"
    lab_kill9 "$SRV" || lab_die "kill -9 of the server failed (was it still running?)"
    # Replies already on the wire reach the capture; then the client stops.
    sleep 0.2
    lab_stop "perf-$i"
    # The link is quiet now; let tcpdump write what it has read, then stop it.
    sleep 0.3
    lab_stop "tcpdump-$i"
    lab_wait 5 sh -c "! kill -0 $(cat "$LAB_DIR/tcpdump-$i.pid") 2>/dev/null"
    # Every packet the filter took must be in the file: a capture with gaps
    # would make the checks report Releases it missed as lost leases.
    lost=$(awk '/packets captured/ {c = $1} /packets received by filter/ {r = $1}
                /packets dropped by kernel/ {d = $1} END {print (r == "" || c == "") ? -1 : r - c + d}' \
        "$LAB_DIR/tcpdump-$i.log")
    fig=$("$PY" "$CHECK" ingest "$STATE" "$cap") || lab_die "cannot read capture $cap"
    replies=$(field "$fig" replies)
    # A round without Replies checks nothing: perfdhcp or the capture broke.
    [ "$replies" -gt 0 ] 2>/dev/null || lab_die "kill $i: no Replies captured (see $LAB_DIR/perf-$i.log, tcpdump-$i.log)"
    [ "${LAB_KEEP:-0}" = 1 ] || rm -f "$cap" "$LAB_DIR/tcpdump-$i.log" "$LAB_DIR/perf-$i.log"

    # For diagnosis: the database as the killed server left it.
    if [ "${CRASH_KEEP_DB:-0}" = 1 ]; then
        mkdir -p "$LAB_DIR/db-$i" && cp "$DB"* "$LAB_DIR/db-$i/"
    fi
    if [ "$SELF_TEST" = 1 ] && [ "$i" = 2 ]; then
        echo "  self-test: damaging the database: $("$PY" "$CHECK" sabotage "$STATE" "$DB")"
    fi

    t_start=$(now)
    start_v6edge srv "$SRV" "$CONF"
    t_answer=$(lab_exec cli "$PY" "$LIB/dhcp6-probe.py" eth0 "$ANSWER_WAIT") \
        || lab_die "kill $i: the restarted server did not answer a Solicit within ${ANSWER_WAIT}s"
    v6edge_wait_ready "$SRV" 10 || lab_die "kill $i: the restarted server's control socket does not answer"
    # Bounded wait for the route restore: as many routes as delegated
    # prefixes (cheap to poll), then the same prefixes (the full lists).
    t_routes=
    n=$(( ROUTE_WAIT * 10 ))
    while [ "$n" -gt 0 ]; do
        if [ "$(route_count)" = "$(pd_count)" ]; then
            t_match=$(now)
            if srv_leases "$LAB_DIR/leases.json" && srv_routes "$LAB_DIR/routes.txt" \
                && "$PY" "$CHECK" routes "$LAB_DIR/leases.json" "$LAB_DIR/routes.txt"; then
                t_routes=$t_match; break
            fi
        fi
        sleep 0.1
        n=$(( n - 1 ))
    done
    if [ "$SELF_TEST" = 1 ] && [ "$i" = 2 ]; then
        victim=$(ip -n "$(lab_ns srv)" -6 route show proto 118 | head -n 1 | cut -d' ' -f1)
        echo "  self-test: deleting the route toward $victim behind the server's back"
        ip -n "$(lab_ns srv)" -6 route del "$victim" proto 118
    fi
    t0=$(now)
    srv_leases "$LAB_DIR/leases.json" || lab_die "kill $i: leases --json failed: $(cat "$LAB_DIR/leases.json.err")"
    t1=$(now)
    srv_routes "$LAB_DIR/routes.txt"
    res=$("$PY" "$CHECK" verify "$STATE" "$LAB_DIR/leases.json" "$t0" "$t1" "$LAB_DIR/routes.txt" \
        --db "$DB" --slack "$SLACK")
    rc=$?
    [ -n "$res" ] || lab_die "kill $i: the checker failed"
    answer=$(awk -v a="$t_start" -v b="$t_answer" 'BEGIN { printf "%.3f", b - a }')
    routes_s=$( [ -n "$t_routes" ] && awk -v a="$t_start" -v b="$t_routes" 'BEGIN { printf "%.3f", b - a }' || echo never)
    echo "$res" | "$PY" -c '
import json, sys
r = json.load(sys.stdin)
r.update(kill=int(sys.argv[1]), load=float(sys.argv[2]), replies=int(sys.argv[3]), answer=float(sys.argv[4]),
         routes_ready=None if sys.argv[5] == "never" else float(sys.argv[5]),
         capture_lost=int(sys.argv[6]))
print(json.dumps(r))' "$i" "$load" "$replies" "$answer" "$routes_s" "$lost" >>"$RESULTS"
    other=$(echo "$res" | "$PY" -c '
import json, sys
r = json.load(sys.stdin)
keys = ("wrong_client", "early_expiry", "db_missing", "db_early", "double_acks")
bits = ["%s %d" % (k, r[k]) for k in keys if r[k]]
if r.get("daemon_vs_db") and any(r["daemon_vs_db"].values()):
    bits.append("daemon/db differ %s" % r["daemon_vs_db"])
print(", ".join(bits) or "-")')
    if [ "$lost" != 0 ]; then
        other="$other; CAPTURE INCOMPLETE ($lost packets not written, -1: no tcpdump statistics)"
        CAPTURE_BAD=$(( CAPTURE_BAD + 1 ))
    fi
    printf '%4d %5s %8s %8s %8s %7s %7s %5s %5s %6s %7s %7s  %s\n' "$i" "$load" "$replies" \
        "$(field "$res" acked_total)" "$(field "$res" claims_live)" "$(field "$res" in_store)" \
        "$(field "$res" missing)" "$(field "$res" duplicates)" "$(field "$res" routes)" \
        "$(( $(field "$res" route_missing) + $(field "$res" route_extra) + $(field "$res" route_wrong) ))" \
        "$answer" "$routes_s" "$other"
    if [ "$rc" != 0 ]; then
        BAD_KILLS=$(( BAD_KILLS + 1 ))
        echo "$res" | "$PY" -c '
import json, sys
for k, v in json.load(sys.stdin)["examples"].items():
    for x in v:
        print("    %s: %s" % (k, x))'
    fi
    if [ "$SELF_TEST" = 1 ]; then
        case $i in
            1) [ "$rc" = 0 ] || { echo "  self-test: kill 1 should have been clean"; SELFTEST_OK=0; } ;;
            2) for k in missing wrong_client early_expiry db_missing db_early route_missing; do
                   if [ "$(field "$res" "$k")" -ge 1 ] 2>/dev/null; then
                       echo "  self-test: damage seen as $k"
                   else
                       echo "  self-test: damage NOT seen as $k"; SELFTEST_OK=0
                   fi
               done ;;
        esac
    fi
done
T_END=$(now)

echo
"$PY" - "$RESULTS" "$T_BEGIN" "$T_END" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
wall = float(sys.argv[3]) - float(sys.argv[2])
last = rows[-1]
def med_max(key):
    v = [r[key] for r in rows if r.get(key) is not None]
    return ("%.3f s" % statistics.median(v), "%.3f s" % max(v)) if v else ("-", "-")
cats = ("missing", "wrong_client", "early_expiry", "db_missing", "db_early", "duplicates",
        "double_acks", "route_missing", "route_extra", "route_wrong")
print("summary")
print("  %-44s %s" % ("kills", len(rows)))
print("  %-44s %s" % ("Replies captured", sum(r["replies"] for r in rows)))
print("  %-44s %s" % ("lease acknowledgements (valid > 0)", last["acks"]))
print("  %-44s %s" % ("distinct acknowledged leases checked", last["acked_total"]))
print("  %-44s %s" % ("claims checked after the last kill", last["claims_live"]))
print("  %-44s %s" % ("leases in the store at the end", last["in_store"]))
print("  %-44s %s" % ("routes at the end", last["routes"]))
print("  %-44s released %s, revoked %s, superseded %s, expired %s"
      % ("claims ended", last["released"], last["revoked"], last["superseded"], last["expired"]))
print("  %-44s %s" % ("NoBinding answers to live claims", last["nobinding"]))
for c in cats:
    worst = max(r[c] for r in rows)
    print("  %-44s %s" % ("violations: " + c + " (max per kill, kills)",
                          "%d, %d" % (worst, sum(1 for r in rows if r[c]))))
print("  %-44s %s" % ("kills with any violation", sum(1 for r in rows if r["violations"])))
print("  %-44s median %s, max %s" % (("restart -> answers a Solicit",) + med_max("answer")))
print("  %-44s median %s, max %s" % (("restart -> routes match the leases",) + med_max("routes_ready")))
print("  %-44s %s" % ("routes never matched (kills)", sum(1 for r in rows if r["routes_ready"] is None)))
print("  %-44s %s" % ("capture packets lost (must be 0)", sum(abs(r["capture_lost"]) for r in rows)))
print("  %-44s %.0f s" % ("wall time", wall))
PY
if [ "$SELF_TEST" = 1 ]; then
    if [ "$(field "$res" double_acks)" -ge 1 ] 2>/dev/null; then
        echo "  self-test: a deleted prefix acknowledged to another client seen as double_acks"
    else
        echo "  self-test: no double acknowledgement seen by the last kill"; SELFTEST_OK=0
    fi
    if [ "$SELFTEST_OK" = 1 ]; then echo "self-test PASSED: the checks report the damage"; exit 0; fi
    echo "self-test FAILED: some damage went unnoticed"; LAB_KEEP=1; exit 1
fi
if [ "$CAPTURE_BAD" != 0 ]; then
    echo "FAIL: $CAPTURE_BAD captures incomplete: the checks cannot be trusted (work dir kept: $LAB_DIR)"; LAB_KEEP=1; exit 1
fi
if [ "$BAD_KILLS" != 0 ]; then
    echo "FAIL: violations after $BAD_KILLS of $KILLS kills (work dir kept: $LAB_DIR)"; LAB_KEEP=1; exit 1
fi
echo "PASS: every acknowledged lease survived $KILLS kills"
exit 0
