#!/bin/bash
# peers.sh - start real DHCPv6 / Router Advertisement implementations inside
# lab namespaces, with the workarounds each one needs, and the project's own
# daemon (start_v6edge and its control-socket helpers at the end).  Source
# after netns.sh.  v6edge's copy of ../shared/lab/peers.sh.
#
# Convention: every instance has a NAME.  The scenario writes its config to
# $LAB_DIR/NAME.conf; the daemon logs to $LAB_DIR/NAME.log; lease and state
# files are $LAB_DIR/NAME.* too.  Every daemon runs in the foreground under
# lab_daemon, so lab_teardown can stop it.  To swap in another implementation
# for a role, add a start_* function with the same shape.
#
# Implementations (Debian 12 packages):
#   wide-dhcpv6-{server,client,relay}  dhcp6s, dhcp6c, dhcp6relay
#   isc-dhcp-{server,client,relay}     dhcpd -6, dhclient -6, dhcrelay -6
#   kea-dhcp6-server                   kea-dhcp6
#   radvd                              radvd
#   v6edge (this repository)           $V6EDGE_BIN, see /work/notes/contract.md
#                                      (docs: README, "v6edge daemon contract")

LAB_HOOK=$LAB_LIB_DIR/hooks/dhclient-hook.sh

# ---------------------------------------------------------------- WIDE-DHCPv6
# dhcp6c/dhcp6s keep their DUID in a compiled-in file (/var/lib/dhcpv6/
# dhcp6c_duid, dhcp6s_duid); there is no option to move it.  Each instance gets
# its own directory, NAME.state, mounted over /var/lib/dhcpv6 for that process
# only.  The file format is a 2-byte length in host byte order (little endian
# here) followed by the raw DUID.

# wide_write_duid FILE DUID: write DUID ("00:03:00:01:02:00:00:00:00:01") to
# FILE in the format dhcp6c/dhcp6s read.
wide_write_duid() {
    local hex len bytes
    hex=$(echo "$2" | tr -d ':')
    len=$(( ${#hex} / 2 ))
    # 16-bit length, low byte first, then the DUID itself
    bytes=$(printf '%04x' "$len" | sed 's/\(..\)\(..\)/\2\1/')$hex
    printf '%b' "$(echo "$bytes" | sed 's/../\\x&/g')" >"$1"
}

# start_wide_dhcp6s NS NAME IF...: dhcp6s with $LAB_DIR/NAME.conf.
# dhcp6s 20080615 delegates prefixes only from "host" blocks keyed by the
# client DUID (no prefix pools), so the client DUID must be known up front.
start_wide_dhcp6s() {
    local ns=$1 name=$2; shift 2
    mkdir -p "$LAB_DIR/$name.state"
    lab_daemon_bind "$ns" "$name" "$LAB_DIR/$name.state" /var/lib/dhcpv6 \
        dhcp6s -f -D -c "$LAB_DIR/$name.conf" -p "$LAB_DIR/$name.pidfile" "$@"
}

# start_wide_dhcp6c NS NAME DUID IF...: dhcp6c with $LAB_DIR/NAME.conf and a
# fixed DUID (use "" to let dhcp6c make one up).  dhcp6c needs a usable
# link-local address on IF when it starts, and its prefix-interface must not
# be the interface the prefix was received on.
start_wide_dhcp6c() {
    local ns=$1 name=$2 duid=$3; shift 3
    mkdir -p "$LAB_DIR/$name.state"
    [ -n "$duid" ] && wide_write_duid "$LAB_DIR/$name.state/dhcp6c_duid" "$duid"
    lab_daemon_bind "$ns" "$name" "$LAB_DIR/$name.state" /var/lib/dhcpv6 \
        dhcp6c -f -D -c "$LAB_DIR/$name.conf" -p "$LAB_DIR/$name.pidfile" "$@"
}

# start_wide_relay NS NAME SERVER UPLINK_IF CLIENT_IF...: dhcp6relay that
# forwards to SERVER (unicast) out of UPLINK_IF.  The link-address it puts in
# Relay-Forw is a global address of the client-side interface, so give that
# interface one (servers select the subnet with it).
start_wide_relay() {
    local ns=$1 name=$2 server=$3 up=$4; shift 4
    lab_daemon "$ns" "$name" dhcp6relay -f -D -r "$up" -s "$server" \
        -p "$LAB_DIR/$name.pidfile" "$@"
}

# -------------------------------------------------------------- ISC DHCP 4.4
# start_isc_dhcpd6 NS NAME IF: dhcpd -6 with $LAB_DIR/NAME.conf and lease
# file NAME.leases.  dhcpd refuses to serve an interface unless one of its
# addresses falls in a subnet6 declaration, so give IF a global address.
start_isc_dhcpd6() {
    local ns=$1 name=$2 ifc=$3
    : >"$LAB_DIR/$name.leases"
    lab_daemon "$ns" "$name" dhcpd -6 -f -d -cf "$LAB_DIR/$name.conf" \
        -lf "$LAB_DIR/$name.leases" -pf "$LAB_DIR/$name.pidfile" "$ifc"
}

# start_isc_dhclient6 NS NAME IF [ARGS...]: dhclient -6 in the foreground,
# ARGS e.g. "-P" (prefix only) or "-N -P".  Leases go to NAME.leases.  The
# stock dhclient-script is replaced by hooks/dhclient-hook.sh, which only logs
# its environment to NAME.hook (the stock script would rewrite the machine's
# /etc/resolv.conf, which is shared by all namespaces).
start_isc_dhclient6() {
    local ns=$1 name=$2 ifc=$3; shift 3
    lab_daemon "$ns" "$name" dhclient -6 "$@" -d -v \
        -lf "$LAB_DIR/$name.leases" -pf "$LAB_DIR/$name.pidfile" \
        -sf "$LAB_HOOK" -e "LAB_HOOK_OUT=$LAB_DIR/$name.hook" "$ifc"
}

# dhclient_prefix NAME: the last prefix delegated to dhclient instance NAME
# (from its hook log), e.g. 2001:db8:e000::/56.
dhclient_prefix() {
    grep '^new_ip6_prefix=' "$LAB_DIR/$1.hook" 2>/dev/null | tail -n 1 | cut -d= -f2
}

# dhclient_wait_prefix NAME [TIMEOUT]: wait (default 15 s) until dhclient
# instance NAME has run its hook with a delegated prefix.  Wait on this, not
# on the lease file: dhclient writes the lease file before it runs the hook.
dhclient_wait_prefix() {
    lab_wait "${2:-15}" grep -q '^new_ip6_prefix=' "$LAB_DIR/$1.hook"
}

# start_isc_relay6 NS NAME SERVER UPLINK_IF CLIENT_IF: dhcrelay -6.
start_isc_relay6() {
    local ns=$1 name=$2 server=$3 up=$4 down=$5
    lab_daemon "$ns" "$name" dhcrelay -6 -d -pf "$LAB_DIR/$name.pidfile" \
        -l "$down" -u "$server%$up"
}

# ------------------------------------------------------------------- Kea 2.2
# Kea writes its pid file, lock file and server DUID under /run and
# /var/lib/kea by default.  KEA_PIDFILE_DIR / KEA_LOCKFILE_DIR move the first
# two; the config must set "data-directory": "$LAB_DIR" for the DUID file.
# Config checks (kea-dhcp6 -t) must run inside the namespace, because Kea
# verifies that the listed interfaces exist.

# kea6_check NS NAME: validate $LAB_DIR/NAME.conf.
kea6_check() {
    lab_exec "$1" env KEA_PIDFILE_DIR="$LAB_DIR" KEA_LOCKFILE_DIR="$LAB_DIR" \
        kea-dhcp6 -t "$LAB_DIR/$2.conf"
}

# start_kea6 NS NAME: kea-dhcp6 with $LAB_DIR/NAME.conf.
start_kea6() {
    local ns=$1 name=$2
    lab_daemon "$ns" "$name" env KEA_PIDFILE_DIR="$LAB_DIR" KEA_LOCKFILE_DIR="$LAB_DIR" \
        kea-dhcp6 -c "$LAB_DIR/$name.conf"
}

# kea6_ready NS NAME: true once kea-dhcp6 instance NAME runs and has its
# DHCPv6 server socket (UDP 547) open in NS.  (Works at any log severity.)
kea6_ready() {
    lab_alive "$2" && [ -n "$(lab_exec "$1" ss -Hlun 'sport = :547' 2>/dev/null)" ]
}

# -------------------------------------------------------------------- radvd
# start_radvd NS NAME: radvd with $LAB_DIR/NAME.conf.  radvd wants IPv6
# forwarding on in the namespace (see lab_router) and refuses config files
# that are writable by group or others.
start_radvd() {
    local ns=$1 name=$2
    chmod 644 "$LAB_DIR/$name.conf"
    lab_daemon "$ns" "$name" radvd -n -d 1 -m stderr -C "$LAB_DIR/$name.conf" \
        -p "$LAB_DIR/$name.pidfile"
}

# start_isp_ra NS NAME IF: radvd on the ISP side of a CPE uplink, as a BNG sends it:
# M=1 and O=1 (so the CPE starts DHCPv6 and PD, RFC 7084 WPD-4) and a default router
# lifetime, no prefix. A CPE needs this upstream default route: without it RFC 7084
# G-4/L-4 tell it to advertise router lifetime 0 on its LANs, and hosts get no default route.
start_isp_ra() {
    local ns=$1 name=$2 ifc=$3
    cat >"$LAB_DIR/$name.conf" <<EOR
interface $ifc {
    AdvSendAdvert on; MinRtrAdvInterval 3; MaxRtrAdvInterval 10;
    AdvManagedFlag on; AdvOtherConfigFlag on; AdvDefaultLifetime 1800;
};
EOR
    lab_sysctl "$ns" net.ipv6.conf.all.forwarding=1
    start_radvd "$ns" "$name"
}

# ------------------------------------------------------------------- v6edge
# The project's daemon, driven only through its documented interface:
#   v6edge run --config FILE --state-dir DIR --control SOCKET   (foreground)
#   v6edge status|release|renew --control SOCKET [--json]
# Instance NAME keeps its state in $LAB_DIR/NAME.state (DUID, leases) and its
# control socket at $LAB_DIR/NAME.sock.  Unix sockets are not tied to a
# network namespace, so the control commands run from the caller's namespace.
# Readiness is "the control socket answers status", never a fixed sleep.

# V6EDGE_BIN: path of the v6edge binary (tests/netns passes the one cargo
# built; default: target/debug/v6edge of this checkout).
: "${V6EDGE_BIN:=$(cd "$LAB_LIB_DIR/../.." && pwd)/target/debug/v6edge}"
# V6EDGE_LOG: RUST_LOG for the daemon under test.
: "${V6EDGE_LOG:=debug}"

# start_v6edge NS NAME CONFIG [ARGS...]: run the daemon in the foreground in
# NS.  Restarting with the same NAME reuses the state directory (warm start).
start_v6edge() {
    local ns=$1 name=$2 config=$3; shift 3
    [ -x "$V6EDGE_BIN" ] || lab_die "V6EDGE_BIN=$V6EDGE_BIN is not executable (run: cargo build -p v6edge)"
    mkdir -p "$LAB_DIR/$name.state"
    rm -f "$LAB_DIR/$name.sock"     # a stale socket after kill -9
    local as=() bin=$V6EDGE_BIN
    if [ -n "${V6EDGE_AS_USER:-}" ]; then
        _v6edge_user_prepare
        bin=$LAB_DIR/user-bin/v6edge
        # A config outside the lab directory (an example) is read from a
        # copy of its directory (key files are relative to it): the
        # checkout may be where the user cannot read.
        case $config in
            "$LAB_DIR"/*) ;;
            *) local copy=$LAB_DIR/user-conf.$name
               rm -rf "$copy"; mkdir -p "$copy"
               cp -r "$(dirname "$config")"/. "$copy"/
               config=$copy/$(basename "$config") ;;
        esac
        chown -R "$V6EDGE_AS_USER:" "$LAB_DIR/$name.state" "$LAB_DIR"/user-conf.* 2>/dev/null
        # Debian's udev makes /dev/net/tun 0666; where it is 0600 (some
        # containers) the daemon sees a 0666 node of the same device, bound
        # over it in its own mount namespace (ip netns exec gives each
        # process one), the host's node untouched.
        as=(sh -c 'mount --bind "$1" /dev/net/tun && shift && exec "$@"' sh "$LAB_DIR/user-bin/tun"
            setpriv --reuid="$V6EDGE_AS_USER" --regid="$V6EDGE_AS_USER" --clear-groups
            --inh-caps=-all,+net_admin,+net_raw,+net_bind_service
            --ambient-caps=-all,+net_admin,+net_raw,+net_bind_service
            --bounding-set=-all,+net_admin,+net_raw,+net_bind_service)
    fi
    lab_daemon "$ns" "$name" "${as[@]}" env RUST_LOG="$V6EDGE_LOG" "$bin" run \
        --config "$config" --state-dir "$LAB_DIR/$name.state" \
        --control "$LAB_DIR/$name.sock" "$@"
    if [ -n "${V6EDGE_AS_USER:-}" ]; then
        # The wrappers exec one another: the pid becomes v6edge's.
        _v6edge_exec_done() { [ "$(cat "/proc/$(cat "$LAB_DIR/$name.pid")/comm" 2>/dev/null)" = v6edge ]; }
        lab_wait 5 _v6edge_exec_done || lab_die "v6edge $name did not start as $V6EDGE_AS_USER (log: $LAB_DIR/$name.log)"
        _v6edge_user_check "$name"
    fi
}

# _v6edge_user_check NAME: instance NAME runs as $V6EDGE_AS_USER with
# exactly CAP_NET_BIND_SERVICE (10), CAP_NET_ADMIN (12) and CAP_NET_RAW (13)
# effective and bounding (0x3400), or the scenario stops.
_v6edge_user_check() {
    local pid uid eff bnd
    pid=$(cat "$LAB_DIR/$1.pid")
    uid=$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status")
    eff=$(awk '/^CapEff:/ { print $2 }' "/proc/$pid/status")
    bnd=$(awk '/^CapBnd:/ { print $2 }' "/proc/$pid/status")
    [ "$uid" = "$(id -u "$V6EDGE_AS_USER")" ] && [ "$eff" = 0000000000003400 ] && [ "$bnd" = 0000000000003400 ] \
        || lab_die "v6edge $1 is not unprivileged: uid $uid, CapEff $eff, CapBnd $bnd"
    echo "[lab] v6edge $1: uid $uid ($V6EDGE_AS_USER), CapEff $eff" >&2
}

# With V6EDGE_AS_USER=USER, start_v6edge runs the daemon as that
# unprivileged user holding only CAP_NET_ADMIN, CAP_NET_RAW and
# CAP_NET_BIND_SERVICE, as the packaged service does (issue 11): the user
# is created if missing (a system user without a home or shell, removed
# again at teardown), the lab
# directory becomes theirs (control socket, hook output), and the binary is
# copied where they can run it.
_v6edge_user_prepare() {
    [ -e "$LAB_DIR/user-bin/v6edge" ] && return 0
    if ! id -u "$V6EDGE_AS_USER" >/dev/null 2>&1; then
        useradd --system --no-create-home --shell /usr/sbin/nologin "$V6EDGE_AS_USER" \
            || lab_die "cannot create the user $V6EDGE_AS_USER"
        echo "$V6EDGE_AS_USER" >>"$LAB_DIR/users.list"    # removed at teardown
    fi
    command -v setpriv >/dev/null || lab_die "setpriv (util-linux) missing"
    mkdir -p "$LAB_DIR/user-bin"
    cp "$V6EDGE_BIN" "$LAB_DIR/user-bin/v6edge"
    mknod -m 0666 "$LAB_DIR/user-bin/tun" c 10 200 || lab_die "cannot make a TUN device node"
    chmod 0755 "$LAB_DIR/user-bin" "$LAB_DIR/user-bin/v6edge"
    chown "$V6EDGE_AS_USER:" "$LAB_DIR"
    chmod 0755 "$LAB_DIR"
    echo "[lab] v6edge runs as $V6EDGE_AS_USER with CAP_NET_ADMIN, CAP_NET_RAW, CAP_NET_BIND_SERVICE only" >&2
}

# v6edge_ctl NAME COMMAND [ARGS...]: one control command (status, renew,
# release, ...) against instance NAME, bounded to 5 s.
v6edge_ctl() {
    local name=$1 cmd=$2; shift 2
    timeout 5 "$V6EDGE_BIN" "$cmd" --control "$LAB_DIR/$name.sock" "$@"
}

# v6edge_status_json NAME: print the status object (the "data" of the
# control socket's status answer); fails if the daemon does not answer.
v6edge_status_json() { v6edge_ctl "$1" status --json; }

# v6edge_wait_ready NAME [TIMEOUT]: wait (default 10 s) until instance NAME
# answers status with a JSON object; give up early if the process died.
v6edge_wait_ready() {
    local name=$1 t=${2:-10} n
    n=$(( t * 5 ))
    while [ "$n" -gt 0 ]; do
        lab_alive "$name" || { lab_log "v6edge $name exited"; return 1; }
        if v6edge_status_json "$name" 2>/dev/null | lab_json 'isinstance(d, dict)' 2>/dev/null \
            | grep -qx True; then
            return 0
        fi
        sleep 0.2
        n=$(( n - 1 ))
    done
    lab_log "v6edge $name: no status answer within ${t}s"
    return 1
}

# v6edge_duid NAME: the client DUID instance NAME generated, from
# NAME.state/duid (hex text, with or without colons), printed as
# "00:01:00:01:...".  Fails while the file does not exist yet.
v6edge_duid() {
    local f=$LAB_DIR/$1.state/duid hex
    [ -s "$f" ] || return 1
    hex=$(tr -d ' \t\r\n:' <"$f" | tr 'A-F' 'a-f')
    [[ $hex =~ ^([0-9a-f]{2}){3,130}$ ]] || return 1
    echo "$hex" | sed 's/../&:/g; s/:$//'
}

# lab_json EXPR: evaluate a python expression over the JSON document on
# stdin (bound to "d") and print the result; lists print one item a line.
#   v6edge_status_json cpe | lab_json '[x["prefix"] for x in d["delegations"]]'
lab_json() {
    "$LAB_PY" -c '
import json, sys
d = json.load(sys.stdin)
r = eval(sys.argv[1], {"d": d})
if isinstance(r, (list, tuple)):
    for x in r: print(x)
elif r is not None:
    print(r)
' "$1"
}

# json_true EXPR FILE: true when the python expression EXPR over the JSON
# document in FILE (bound to "d") is truthy.
json_true() { [ "$(lab_json "bool($1)" <"$2" 2>/dev/null)" = True ]; }

# ------------------------------------------- v6edge as a delegating server
# (issue 3; used by tests/lab/server.sh.)  The same instance layout as
# start_v6edge: state (DUID, leases.db) in $LAB_DIR/NAME.state, control socket
# $LAB_DIR/NAME.sock.  The config (examples/isp-server.toml) names the
# served interface; nothing here changes it.

# v6edge_server_ready NS NAME: true once instance NAME answers status and has
# its DHCPv6 server socket (UDP 547) open in NS.
v6edge_server_ready() {
    lab_alive "$2" && [ -n "$(lab_exec "$1" ss -Hlun 'sport = :547' 2>/dev/null)" ] \
        && v6edge_status_json "$2" >/dev/null 2>&1
}

# start_v6edge_server NS NAME CONFIG [TIMEOUT]: `v6edge run` with a [server]
# config in NS; wait (default 10 s) until it serves.  Fails early if the
# process exits (e.g. a build without the server).  Restarting with the same
# NAME keeps the state directory, so the lease database survives.
start_v6edge_server() {
    local ns=$1 name=$2 config=$3 t=${4:-10} n
    start_v6edge "$ns" "$name" "$config"
    n=$(( t * 5 ))
    while [ "$n" -gt 0 ]; do
        lab_alive "$name" || { lab_log "v6edge server $name exited: $(tail -n 1 "$LAB_DIR/$name.log")"; return 1; }
        v6edge_server_ready "$ns" "$name" && return 0
        sleep 0.2
        n=$(( n - 1 ))
    done
    lab_log "v6edge server $name: not serving within ${t}s"
    return 1
}

# v6edge_leases_json NAME: print the leases object (the "data" of the control
# socket's leases answer); fails if the daemon does not answer.
v6edge_leases_json() { v6edge_ctl "$1" leases --json; }
