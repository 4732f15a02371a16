#!/bin/bash
# netns.sh - small helpers for building throwaway IPv6 labs out of network
# namespaces and veth pairs.  v6edge's copy of the team's lab library
# (originally ../shared/lab/netns.sh), extended with expected-failure checks
# (lab_xcheck), a sweep of namespaces left over by killed runs, log rotation
# for restarted daemons and lab_kill9.  Source it from a scenario script:
#
#     HERE=$(cd "$(dirname "$0")" && pwd)
#     . "$HERE/../lab/netns.sh"
#     lab_init myscenario          # per-run prefix, work dir, cleanup trap
#     lab_ns_create srv
#     lab_ns_create cli
#     lab_link srv eth0 cli eth0    # veth pair srv:eth0 <-> cli:eth0
#     lab_daemon srv mydaemon some-daemon --foreground ...
#     lab_check "client got a lease" grep -q lease "$LAB_DIR/cli.leases"
#     lab_finish                    # prints "N passed, N failed", sets exit code
#
# Names: a scenario uses short names ("srv", "cli"); the real namespace is
# "$LAB_PREFIX-<short>", where LAB_PREFIX is unique per run (default
# "v6e<pid>"), so several runs can share one machine.  Interfaces are created
# directly inside their namespaces, so interface names never collide either.
#
# Cleanup: lab_teardown (run from the EXIT trap) stops only the processes this
# run started (checked to still live in one of this run's namespaces) and
# deletes only the namespaces this run created.  Both are recorded in files
# under $LAB_DIR, so helpers also work when called from a subshell.
#
# Environment knobs:
#   LAB_PREFIX   namespace name prefix (default v6e<pid>)
#   LAB_TIMEOUT  watchdog: the whole scenario is aborted after this many
#                seconds (default 90)
#   LAB_KEEP=1   keep $LAB_DIR (configs, logs, lease files) after the run;
#                it is always kept when a check failed
#   LAB_DAD=1    keep IPv6 duplicate address detection enabled in new
#                namespaces (default: disabled, so addresses are usable at once)
#   LAB_VERBOSE=1  print every helper command
#   LAB_SWEEP=0  do not delete leftover "v6e<pid>-*" namespaces of runs whose
#                process <pid> no longer exists (default: sweep them)

LAB_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_PREFIX=${LAB_PREFIX:-v6e$$}
# The system python (fast start; a pyenv shim costs ~0.2 s a call).
LAB_PY=${LAB_PY:-$(command -v /usr/bin/python3 || command -v python3)}
LAB_TIMEOUT=${LAB_TIMEOUT:-90}
LAB_PASS=0
LAB_FAIL=0
LAB_XFAIL=0
LAB_DIR=
LAB_WATCHDOG=

lab_log()  { echo "[lab] $*" >&2; }
lab_die()  { echo "[lab] FATAL: $*" >&2; exit 2; }
lab_run()  { [ "${LAB_VERBOSE:-0}" = 1 ] && echo "+ $*" >&2; "$@"; }

# lab_ns NAME: full namespace name for a short name.
lab_ns() { echo "$LAB_PREFIX-$1"; }

# lab_require CMD...: abort unless running as root and every CMD exists.
lab_require() {
    [ "$(id -u)" = 0 ] || lab_die "must run as root"
    local c
    for c in ip sysctl "$@"; do
        command -v "$c" >/dev/null 2>&1 || lab_die "missing command: $c"
    done
}

# lab_sweep_stale: delete namespaces named "v6e<pid>-*" (this library's
# default naming) whose run <pid> is gone, e.g. after a kill -9 of a scenario
# or a machine-level timeout.  Processes still inside them are killed first.
# Only names of exactly that shape are touched, and never one whose <pid>
# is alive, so parallel runs and other users' namespaces are left alone.
lab_sweep_stale() {
    [ "${LAB_SWEEP:-1}" = 1 ] || return 0
    local ns pid p
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
        [[ $ns =~ ^v6e([0-9]+)-[a-z0-9-]+$ ]] || continue
        pid=${BASH_REMATCH[1]}
        kill -0 "$pid" 2>/dev/null && continue
        lab_log "removing leftover namespace $ns (run $pid is gone)"
        for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
        ip netns del "$ns" 2>/dev/null
    done
    return 0
}

# lab_init TAG: create the per-run work dir, install the cleanup trap and the
# watchdog.  Call once, before anything else.
lab_init() {
    local tag=${1:-run}
    lab_require "$LAB_PY"
    lab_sweep_stale
    LAB_DIR=$(mktemp -d "${TMPDIR:-/tmp}/$LAB_PREFIX-$tag.XXXXXX") || lab_die "mktemp failed"
    : >"$LAB_DIR/netns.list"
    : >"$LAB_DIR/pids.list"
    trap lab_teardown EXIT
    trap 'lab_log "interrupted"; exit 130' INT
    trap 'lab_log "terminated by SIGTERM (the watchdog sends it after LAB_TIMEOUT=${LAB_TIMEOUT}s)"; exit 143' TERM
    # Watchdog: bounded wall-clock time for the whole scenario.
    local main=$$
    ( sleep "$LAB_TIMEOUT" & s=$!
      trap 'kill $s 2>/dev/null; exit 0' TERM
      wait $s && kill -TERM "$main" 2>/dev/null ) &
    LAB_WATCHDOG=$!
    LAB_T0=$(date +%s.%N)
    lab_log "prefix $LAB_PREFIX, work dir $LAB_DIR"
}

# lab_elapsed: seconds since lab_init, e.g. "3.41".
lab_elapsed() { awk -v a="$LAB_T0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.2f", b-a}'; }

# lab_ns_create NAME: new namespace with lo up.  IPv6 DAD is switched off for
# interfaces created later in it (unless LAB_DAD=1), forwarding stays off.
lab_ns_create() {
    [ -n "$LAB_DIR" ] || lab_die "call lab_init first"
    local ns; ns=$(lab_ns "$1")
    lab_run ip netns add "$ns" || lab_die "cannot create namespace $ns"
    echo "$ns" >>"$LAB_DIR/netns.list"
    lab_run ip -n "$ns" link set lo up
    if [ "${LAB_DAD:-0}" != 1 ]; then
        lab_sysctl "$1" net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
    fi
}

# lab_exec NAME CMD...: run CMD inside namespace NAME.
lab_exec() { local ns; ns=$(lab_ns "$1"); shift; ip netns exec "$ns" "$@"; }

# lab_sysctl NAME key=value...: set sysctls inside namespace NAME.
lab_sysctl() {
    local ns=$1 kv; shift
    for kv in "$@"; do
        lab_run lab_exec "$ns" sysctl -q -w "$kv" || lab_die "sysctl $kv failed in $ns"
    done
}

# lab_router NAME [UPLINK_IF]: make NAME an IPv6 router (forwarding on).  If
# UPLINK_IF is given it keeps accepting Router Advertisements (accept_ra=2),
# which Linux otherwise ignores once forwarding is on.
lab_router() {
    lab_sysctl "$1" net.ipv6.conf.all.forwarding=1 net.ipv6.conf.default.forwarding=1
    [ -n "${2:-}" ] && lab_sysctl "$1" "net.ipv6.conf.$2.accept_ra=2"
    return 0
}

# lab_link NS1 IF1 NS2 IF2: veth pair NS1:IF1 <-> NS2:IF2, both ends up.
lab_link() {
    lab_run ip link add "$2" netns "$(lab_ns "$1")" type veth \
        peer name "$4" netns "$(lab_ns "$3")" || lab_die "veth $1:$2 <-> $3:$4 failed"
    lab_run ip -n "$(lab_ns "$1")" link set "$2" up
    lab_run ip -n "$(lab_ns "$3")" link set "$4" up
}

# lab_bridge NS BR [IF...]: create bridge BR in NS (up) and enslave IFs.
lab_bridge() {
    local ns; ns=$(lab_ns "$1"); local br=$2; shift 2
    ip -n "$ns" link show "$br" >/dev/null 2>&1 || {
        lab_run ip -n "$ns" link add "$br" type bridge || lab_die "bridge $br failed"
        lab_run ip -n "$ns" link set "$br" up
    }
    local i
    for i in "$@"; do lab_run ip -n "$ns" link set "$i" master "$br"; done
}

# lab_addr NS IF ADDR/LEN: add a static IPv6 address (no DAD).
lab_addr() { lab_run ip -n "$(lab_ns "$1")" -6 addr add "$3" dev "$2" nodad; }

# lab_dummy NS IF: a stand-in LAN port with nothing behind it.  It is one end
# of a veth pair whose other end (IF-x) stays in the same namespace; both are
# up, so IF has carrier and a link-local address.  (No "dummy" kernel module
# needed.)
lab_dummy() {
    local ns; ns=$(lab_ns "$1")
    lab_run ip -n "$ns" link add "$2" type veth peer name "$2-x" || lab_die "stub $1:$2 failed"
    lab_run ip -n "$ns" link set "$2-x" up
    lab_run ip -n "$ns" link set "$2" up
}

# lab_route NS ROUTE...: add an IPv6 route, e.g. lab_route r1 default via fe80::1 dev wan0
lab_route() { local ns=$1; shift; lab_run ip -n "$(lab_ns "$ns")" -6 route add "$@"; }

# lab_has_addr NS IF REGEX: true when IF has a global IPv6 address matching REGEX
# (matched against "addr/len").
lab_has_addr() {
    ip -n "$(lab_ns "$1")" -6 -o addr show dev "$2" scope global 2>/dev/null \
        | awk '{print $4}' | grep -Eq "$3"
}

# lab_global NS IF: print the first global address of IF (without /len).
lab_global() {
    ip -n "$(lab_ns "$1")" -6 -o addr show dev "$2" scope global 2>/dev/null \
        | awk '{sub("/.*","",$4); print $4; exit}'
}

# lab_ping NS DEST [ARGS...]: one bounded ping (1 probe, 1 s), output to stdout.
lab_ping() { local ns=$1 dst=$2; shift 2; lab_exec "$ns" ping -6 -n -c 1 -W 1 "$@" "$dst"; }

# lab_subnet PREFIX LEN INDEX: the INDEX-th sub-prefix of length LEN inside
# PREFIX; a negative INDEX counts from the end.  lab_subnet 2001:db8::/56 60 -1
# prints 2001:db8:0:f0::/60.
lab_subnet() {
    "$LAB_PY" - "$@" <<'PY'
import ipaddress, sys
net = ipaddress.IPv6Network(sys.argv[1], strict=False)
new, idx = int(sys.argv[2]), int(sys.argv[3])
count = 1 << (new - net.prefixlen)
idx = idx + count if idx < 0 else idx
assert 0 <= idx < count, "index out of range"
base = int(net.network_address) + (idx << (128 - new))
print("%s/%d" % (ipaddress.IPv6Address(base), new))
PY
}

# lab_host PREFIX N: address number N inside PREFIX, e.g. lab_host 2001:db8::/64 1
# prints 2001:db8::1.
lab_host() {
    "$LAB_PY" -c 'import ipaddress,sys; n=ipaddress.IPv6Network(sys.argv[1],strict=False); print(n.network_address+int(sys.argv[2]))' "$1" "$2"
}

# lab_network ADDR/LEN: the prefix an interface address lies in, e.g.
# lab_network 2001:db8::1/64 prints 2001:db8::/64.
lab_network() {
    "$LAB_PY" -c 'import ipaddress,sys; print(ipaddress.IPv6Interface(sys.argv[1]).network)' "$1"
}

# lab_within ITEM PARENT [LEN]: true when address or prefix ITEM lies inside
# prefix PARENT (and, if LEN is given, ITEM is a prefix of exactly that length).
lab_within() {
    "$LAB_PY" - "$@" <<'PY'
import ipaddress, sys
item = ipaddress.IPv6Network(sys.argv[1], strict=True)
parent = ipaddress.IPv6Network(sys.argv[2])
ok = item.subnet_of(parent) and (len(sys.argv) < 4 or item.prefixlen == int(sys.argv[3]))
sys.exit(0 if ok else 1)
PY
}

# lab_ll NS IF: print the link-local address of IF (first one).
lab_ll() {
    ip -n "$(lab_ns "$1")" -6 -o addr show dev "$2" scope link \
        | awk '{sub("/.*","",$4); print $4; exit}'
}

# lab_wait TIMEOUT CMD...: poll CMD every 0.2 s until it succeeds; fail after
# TIMEOUT seconds.
lab_wait() {
    local t=$1; shift
    local n=$(( t * 5 ))
    while [ "$n" -gt 0 ]; do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.2
        n=$(( n - 1 ))
    done
    return 1
}

# lab_no_tentative NS: true when no IPv6 address in NS is still doing DAD.
lab_no_tentative() {
    [ -z "$(ip -n "$(lab_ns "$1")" -6 addr show tentative 2>/dev/null)" ]
}

# lab_has_ll NS IF: true when IF has a usable (non-tentative) link-local.
lab_has_ll() {
    ip -n "$(lab_ns "$1")" -6 addr show dev "$2" scope link -tentative 2>/dev/null | grep -q inet6
}

# lab_wait_dad NS [IF...] [-t TIMEOUT]: wait until every IF has a usable
# link-local and nothing in NS is tentative (DAD finished).  Default 5 s.
lab_wait_dad() {
    local ns=$1 t=5 i ifs=(); shift
    while [ $# -gt 0 ]; do
        if [ "$1" = -t ]; then t=$2; shift 2; else ifs+=("$1"); shift; fi
    done
    for i in "${ifs[@]}"; do
        lab_wait "$t" lab_has_ll "$ns" "$i" || { lab_log "no link-local on $ns:$i"; return 1; }
    done
    lab_wait "$t" lab_no_tentative "$ns" || { lab_log "DAD still running in $ns"; return 1; }
}

# lab_daemon NS NAME CMD...: start CMD in the background inside NS, stdout and
# stderr to $LAB_DIR/NAME.log.  CMD must stay in the foreground (no self
# daemonizing), so the recorded PID is the daemon itself.  Prints nothing;
# the PID is recorded for lab_teardown and stored in $LAB_DIR/NAME.pid.
lab_daemon() {
    local ns=$1 name=$2 n=1; shift 2
    [ "${LAB_VERBOSE:-0}" = 1 ] && echo "+ [$ns] $*" >&2
    # A restarted instance keeps the previous log as NAME.log.1, .2, ...
    if [ -e "$LAB_DIR/$name.log" ]; then
        while [ -e "$LAB_DIR/$name.log.$n" ]; do n=$((n + 1)); done
        mv "$LAB_DIR/$name.log" "$LAB_DIR/$name.log.$n"
    fi
    ip netns exec "$(lab_ns "$ns")" "$@" >"$LAB_DIR/$name.log" 2>&1 </dev/null &
    local pid=$!
    # Not a job of the shell any more: no "Killed" notices at teardown.
    disown "$pid" 2>/dev/null
    echo "$pid $(lab_ns "$ns") $name" >>"$LAB_DIR/pids.list"
    echo "$pid" >"$LAB_DIR/$name.pid"
}

# lab_daemon_bind NS NAME SRC DST CMD...: like lab_daemon, but CMD sees
# directory SRC mounted on DST.  The mount is private to that process (every
# "ip netns exec" gets its own mount namespace), which lets daemons with a
# compiled-in state directory keep per-instance state.
lab_daemon_bind() {
    local ns=$1 name=$2 src=$3 dst=$4; shift 4
    lab_daemon "$ns" "$name" sh -c 'mount --bind "$1" "$2" && shift 2 && exec "$@"' \
        sh "$src" "$dst" "$@"
}

# lab_alive NAME: true while the daemon started as NAME is running.
lab_alive() { kill -0 "$(cat "$LAB_DIR/$1.pid" 2>/dev/null)" 2>/dev/null; }

# lab_stop NAME: stop one daemon started by lab_daemon (TERM, then KILL).
lab_stop() {
    local pid; pid=$(cat "$LAB_DIR/$1.pid" 2>/dev/null) || return 0
    _lab_kill_pid "$pid"
}

# lab_kill9 NAME: SIGKILL one daemon started by lab_daemon (a crash: no
# clean-up code runs), and wait until it is gone (at most 3 s).
lab_kill9() {
    local pid ns; pid=$(cat "$LAB_DIR/$1.pid" 2>/dev/null) || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    ns=$(ip netns identify "$pid" 2>/dev/null)
    grep -qx "$ns" "$LAB_DIR/netns.list" 2>/dev/null || return 1
    kill -KILL "$pid"
    lab_wait 3 sh -c "! kill -0 $pid"
}

# _lab_kill_pid PID: TERM, wait up to 3 s, then KILL, but only if PID still
# lives in one of this run's namespaces (guards against PID reuse).
_lab_kill_pid() {
    local pid=$1 ns n
    kill -0 "$pid" 2>/dev/null || return 0
    ns=$(ip netns identify "$pid" 2>/dev/null)
    grep -qx "$ns" "$LAB_DIR/netns.list" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null
    for n in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.2
    done
    kill -KILL "$pid" 2>/dev/null
}

# lab_check DESCRIPTION CMD...: one pass/fail assertion.
lab_check() {
    local desc=$1; shift
    if "$@" >/dev/null 2>&1; then
        LAB_PASS=$((LAB_PASS + 1)); echo "PASS: $desc"
    else
        LAB_FAIL=$((LAB_FAIL + 1)); echo "FAIL: $desc"
    fi
}

# lab_check_not DESCRIPTION CMD...: assertion that CMD fails.
lab_check_not() {
    local desc=$1; shift
    if "$@" >/dev/null 2>&1; then
        LAB_FAIL=$((LAB_FAIL + 1)); echo "FAIL: $desc"
    else
        LAB_PASS=$((LAB_PASS + 1)); echo "PASS: $desc"
    fi
}

# lab_xcheck REASON DESCRIPTION CMD...: like lab_check, but when REASON is
# not empty the check is a known gap of the implementation under test (e.g.
# radvd does not clamp lifetimes): failing prints "XFAIL: DESCRIPTION
# (REASON)" and does not fail the scenario; passing prints "XPASS: ..." and
# counts as a pass (the expectation is stale, worth a look).  With an empty
# REASON it is exactly lab_check.
lab_xcheck() {
    local reason=$1; shift
    if [ -z "$reason" ]; then lab_check "$@"; return; fi
    local desc=$1; shift
    if "$@" >/dev/null 2>&1; then
        LAB_PASS=$((LAB_PASS + 1)); echo "XPASS: $desc (expected to fail: $reason)"
    else
        LAB_XFAIL=$((LAB_XFAIL + 1)); echo "XFAIL: $desc ($reason)"
    fi
}

# lab_skip REASON: print why the scenario does not apply, "0 passed, 0
# failed", and exit 0.  Teardown still runs.
lab_skip() {
    echo "SKIP: $*"
    echo "0 passed, 0 failed"
    exit 0
}

# lab_finish: print the summary line and exit 0 only if nothing failed.
lab_finish() {
    echo "elapsed: $(lab_elapsed)s"
    [ "$LAB_XFAIL" -gt 0 ] && echo "$LAB_XFAIL expected failures (XFAIL)"
    echo "$LAB_PASS passed, $LAB_FAIL failed"
    [ "$LAB_FAIL" -eq 0 ] && [ "$LAB_PASS" -gt 0 ]
    exit $?
}

# lab_teardown: stop this run's processes, delete this run's namespaces.
# Installed as the EXIT trap by lab_init; safe to call more than once.
lab_teardown() {
    local rc=$? pid ns rest
    trap - EXIT INT TERM
    [ -n "$LAB_DIR" ] && [ -d "$LAB_DIR" ] || return "$rc"
    # 1. daemons started through lab_daemon, newest first
    if [ -s "$LAB_DIR/pids.list" ]; then
        tac "$LAB_DIR/pids.list" | while read -r pid ns rest; do
            _lab_kill_pid "$pid"
        done
    fi
    # 2. anything else still inside our namespaces (e.g. hook scripts)
    while read -r ns; do
        [ -n "$ns" ] || continue
        for pid in $(ip netns pids "$ns" 2>/dev/null); do _lab_kill_pid "$pid"; done
    done <"$LAB_DIR/netns.list"
    # 3. the namespaces themselves (their veths and bridges go with them)
    while read -r ns; do
        [ -n "$ns" ] && ip netns del "$ns" 2>/dev/null
    done <"$LAB_DIR/netns.list"
    # 4. system users this run created (peers.sh: V6EDGE_AS_USER)
    if [ -s "$LAB_DIR/users.list" ]; then
        while read -r user; do userdel "$user" 2>/dev/null; done <"$LAB_DIR/users.list"
    fi
    # 5. directories this run created on the host as mount points
    #    (service-unit.sh), if still empty
    if [ -s "$LAB_DIR/dirs.list" ]; then
        tac "$LAB_DIR/dirs.list" | while read -r d; do rmdir "$d" 2>/dev/null; done
    fi
    # 5b. scratch directories this run created with mktemp under /tmp
    #    (tests/lab/routing.sh: FRR's files), with what is in them
    if [ -s "$LAB_DIR/scratch.list" ]; then
        while read -r d; do
            case $d in /tmp/v6e-*) rm -rf -- "$d" ;; esac
        done <"$LAB_DIR/scratch.list"
    fi
    # 6. the watchdog
    [ -n "$LAB_WATCHDOG" ] && kill "$LAB_WATCHDOG" 2>/dev/null
    if [ "$rc" -ne 0 ] || [ "$LAB_FAIL" -ne 0 ]; then
        local f
        for f in "$LAB_DIR"/*.log; do
            [ -s "$f" ] || continue
            echo "----- last lines of $(basename "$f") -----" >&2
            tail -n 15 "$f" >&2
        done
    fi
    if [ "$rc" -ne 0 ] || [ "$LAB_FAIL" -ne 0 ] || [ "${LAB_KEEP:-0}" = 1 ]; then
        lab_log "kept logs and configs in $LAB_DIR"
    else
        rm -rf "$LAB_DIR"
    fi
    return "$rc"
}
