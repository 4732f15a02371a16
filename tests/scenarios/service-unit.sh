#!/bin/bash
# service-unit.sh - the packaged systemd units, checked and exercised where
# systemd cannot run (issue 11's done-when item: "the unit is checked with
# systemd-analyze verify and the service is exercised by starting the binary
# exactly as the unit would (user, capabilities, directories)").
#
# 1. `systemd-analyze verify` of packaging/systemd/v6edge.service and
#    v6edge@.service in a scratch root holding the binary at /usr/bin/v6edge
#    and the system's targets: no error, no warning.
# 2. The service as systemd would run it, every setting read from
#    v6edge.service itself: ExecStartPre, then ExecStart, as User/Group
#    (the package's system user `v6edge`, created here if missing and
#    removed again), with exactly AmbientCapabilities/CapabilityBoundingSet,
#    NoNewPrivileges and UMask; StateDirectory (mode StateDirectoryMode),
#    RuntimeDirectory and ConfigurationDirectory prepared as systemd does,
#    seen by the daemon at their real paths (bind mounts inside its own
#    mount namespace; the host's paths are only created as empty mount
#    points if missing, and removed again); Type=notify through a
#    NOTIFY_SOCKET of our own. The configuration is examples/cpe.toml,
#    copied to /etc/v6edge/v6edge.toml as docs/install.md says, behind a
#    v6edge delegating server (examples/isp-server.toml):
#    - READY=1 arrives, the daemon runs as v6edge with CapEff = CapBnd = the
#      three capabilities, and gets its delegation (state in
#      /var/lib/v6edge, control socket /run/v6edge/v6edge.sock);
#    - ExecReload (`kill -HUP $MAINPID`): the reload is counted ok; with a
#      broken file, counted failed while the daemon keeps running;
#    - stop (SIGTERM, systemd's KillSignal): STOPPING=1, a clean exit
#      within 10 s, and the final RAs (router lifetime 0, RFC 7084) take the
#      LAN host's default route at once. (The delegation's routes and
#      addresses stay until their lifetimes end: a restart resumes them.)
# About 10 s.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
LAB_TIMEOUT=${LAB_TIMEOUT:-90}
. "$HERE/../lab/netns.sh"
. "$HERE/../lab/peers.sh"
REPO=$(cd "$HERE/../.." && pwd)
UNIT=$REPO/packaging/systemd/v6edge.service

lab_init service-unit
lab_require systemd-analyze setpriv useradd

# ------------------------------------------------ 1. systemd-analyze verify
ROOT=$LAB_DIR/root
mkdir -p "$ROOT/usr/bin" "$ROOT/bin" "$ROOT/etc/systemd/system" "$ROOT/usr/lib/systemd/system"
cp "$V6EDGE_BIN" "$ROOT/usr/bin/v6edge"
cp "$(type -P kill)" "$ROOT/bin/kill"
cp "$REPO"/packaging/systemd/v6edge.service "$REPO"/packaging/systemd/v6edge@.service "$ROOT/etc/systemd/system/"
cp -a /usr/lib/systemd/system/*.target /usr/lib/systemd/system/*.slice "$ROOT/usr/lib/systemd/system/" 2>/dev/null
verify() {
    local out
    out=$(systemd-analyze verify --man=no --root="$ROOT" "/etc/systemd/system/$1" 2>&1) || { echo "$out"; return 1; }
    [ -z "$out" ] || { echo "$out"; return 1; }
}
lab_check "systemd-analyze verify v6edge.service: no error, no warning" verify v6edge.service
lab_check "systemd-analyze verify v6edge@.service: no error, no warning" verify v6edge@.service

# ------------------------------------------------ 2. the unit's settings
# key VALUE of KEY= in the [Service] section (the last one wins).
key() { sed -n "/^\[Service\]/,/^\[/s/^$1=//p" "$UNIT" | tail -1; }
USER_=$(key User); GROUP_=$(key Group)
PRE=$(key ExecStartPre); START=$(key ExecStart); RELOAD=$(key ExecReload)
AMBIENT=$(key AmbientCapabilities); BOUNDING=$(key CapabilityBoundingSet)
UMASK=$(key UMask); STATE=$(key StateDirectory); STATE_MODE=$(key StateDirectoryMode)
RUNTIME=$(key RuntimeDirectory); CONFDIR=$(key ConfigurationDirectory)
[ "$(key Type)" = notify ] || lab_die "the unit is not Type=notify"
[ "$(key NoNewPrivileges)" = yes ] || lab_die "the unit lacks NoNewPrivileges=yes"
echo "  unit: User=$USER_ Group=$GROUP_ caps '$AMBIENT' / '$BOUNDING' UMask=$UMASK"
echo "        StateDirectory=$STATE ($STATE_MODE) RuntimeDirectory=$RUNTIME ConfigurationDirectory=$CONFDIR"
echo "        ExecStart=$START"
# setpriv's capability list: CAP_NET_ADMIN CAP_NET_RAW -> +net_admin,+net_raw
caps() { echo "$1" | tr ' ' '\n' | sed 's/^CAP_//' | tr 'A-Z' 'a-z' | sed 's/^/+/' | paste -sd, -; }

# The package's user (postinst: adduser --system --group v6edge).
if ! id -u "$USER_" >/dev/null 2>&1; then
    useradd --system --user-group --no-create-home --shell /usr/sbin/nologin "$USER_" \
        || lab_die "cannot create the user $USER_"
    echo "$USER_" >>"$LAB_DIR/users.list"
fi

# The directories, as systemd makes them, in the lab; the host's paths only
# as empty mount points.
for d in "/etc/$CONFDIR" "/var/lib/$STATE" "/run/$RUNTIME"; do
    if [ ! -e "$d" ]; then
        mkdir -p "$d" || lab_die "cannot create the mount point $d"
        echo "$d" >>"$LAB_DIR/dirs.list"
    fi
done
mkdir -p "$LAB_DIR/etc" "$LAB_DIR/state" "$LAB_DIR/runtime"
chmod 0755 "$LAB_DIR" "$LAB_DIR/etc"
cp "$REPO/examples/cpe.toml" "$LAB_DIR/etc/v6edge.toml"       # docs/install.md
chown "root:$GROUP_" "$LAB_DIR/etc/v6edge.toml"; chmod 0640 "$LAB_DIR/etc/v6edge.toml"
chown "$USER_:$GROUP_" "$LAB_DIR/state" "$LAB_DIR/runtime"
chmod "$STATE_MODE" "$LAB_DIR/state"; chmod 0755 "$LAB_DIR/runtime"
cp "$V6EDGE_BIN" "$LAB_DIR/v6edge"; chmod 0755 "$LAB_DIR/v6edge"
# /dev/net/tun as Debian's udev has it (0666), should a role need it.
mknod -m 0666 "$LAB_DIR/tun" c 10 200 2>/dev/null

# Type=notify: our NOTIFY_SOCKET, every message logged with its time.
NOTIFY=$LAB_DIR/notify.sock
"$LAB_PY" - "$NOTIFY" >"$LAB_DIR/notify.log" 2>&1 <<'EOP' &
import os, socket, sys, time
path = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o666)
deadline = time.time() + 80
while time.time() < deadline:
    s.settimeout(1)
    try:
        data = s.recv(4096)
    except socket.timeout:
        continue
    for line in data.decode(errors="replace").splitlines():
        print(line, flush=True)
EOP
NOTIFY_PID=$!
lab_wait 5 test -S "$NOTIFY" || lab_die "no notify socket"

# ------------------------------------------------ the network
lab_ns_create isp
lab_ns_create cpe
lab_ns_create host
lab_link isp isp0 cpe wan0
lab_link cpe lan0 host eth0
lab_sysctl host net.ipv6.conf.eth0.accept_ra=1 net.ipv6.conf.eth0.autoconf=1
lab_exec isp ip -6 addr add 2001:db8:0:1::1/64 dev isp0 nodad
lab_router cpe wan0
# The upstream default route an ISP's RAs would give (RFC 7084 G-4: only
# then does the CPE advertise itself as a default router).
lab_wait_dad isp isp0 || lab_die "no link-local on isp:isp0"
ISP_LL=$(lab_exec isp ip -6 -o addr show dev isp0 scope link | awk '{ print $4 }' | cut -d/ -f1)
lab_exec cpe ip -6 route add default via "$ISP_LL" dev wan0
start_v6edge isp isp "$REPO/examples/isp-server.toml"
v6edge_wait_ready isp 10 || lab_die "the delegating server did not start"

# The service's command lines with their paths as the unit has them; the
# binary is this build's.
unit_cmd() { echo "$1" | sed "s|/usr/bin/v6edge|$LAB_DIR/v6edge|"; }
# In a mount namespace of its own (ip netns exec's) the unit's paths show
# the lab's directories; `env` first, so sh sees them.
as_unit() {
    lab_daemon cpe "$1" env L="$LAB_DIR" C="$CONFDIR" S="$STATE" R="$RUNTIME" M="$UMASK" sh -c '
        set -e
        mount --bind "$L/etc" "/etc/$C"; mount --bind "$L/state" "/var/lib/$S"
        mount --bind "$L/runtime" "/run/$R"; mount --bind "$L/tun" /dev/net/tun 2>/dev/null || true
        umask "$M"
        exec "$@"' sh \
        setpriv --reuid="$USER_" --regid="$GROUP_" --init-groups --no-new-privs \
            --inh-caps="-all,$(caps "$AMBIENT")" --ambient-caps="-all,$(caps "$AMBIENT")" \
            --bounding-set="-all,$(caps "$BOUNDING")" \
        env NOTIFY_SOCKET="$NOTIFY" RUST_LOG="$V6EDGE_LOG" $(unit_cmd "$2")
}

# ExecStartPre, then ExecStart.
as_unit pre "$PRE"
lab_wait 10 eval '! lab_alive pre'
lab_check "ExecStartPre ($PRE) passes as $USER_" grep -q ': ok' "$LAB_DIR/pre.log"
as_unit service "$START"
SOCK=$LAB_DIR/runtime/v6edge.sock
ctl() { timeout 5 "$V6EDGE_BIN" "$1" --control "$SOCK" "${@:2}"; }
lab_check "Type=notify: READY=1 arrives" lab_wait 10 grep -q '^READY=1' "$LAB_DIR/notify.log"
PID=$(cat "$LAB_DIR/service.pid")
proc() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$PID/status"; }
lab_check "it runs as $USER_ with CapEff = CapBnd = 0x3400 (net_bind_service, net_admin, net_raw), NoNewPrivs" \
    eval '[ "$(proc Uid)" = "$(id -u "$USER_")" ] && [ "$(proc Gid)" = "$(id -g "$USER_")" ] && [ "$(proc CapEff)" = 0000000000003400 ] && [ "$(proc CapBnd)" = 0000000000003400 ] && [ "$(proc NoNewPrivs)" = 1 ]'
delegated() { ctl status --json | lab_json "[x['prefix'] for x in d['delegations']]" | grep -q '^2001:db8:1'; }
lab_check "the requesting router of examples/cpe.toml gets its delegation" lab_wait 20 delegated
lab_check "its state is in StateDirectory (the DUID in /var/lib/$STATE), owned by $USER_" \
    eval '[ -s "$LAB_DIR/state/duid" ] && [ "$(stat -c %U "$LAB_DIR/state/duid")" = "$USER_" ]'
lab_check "the control socket is /run/$RUNTIME/v6edge.sock, mode 0600, owned by $USER_" \
    eval '[ "$(stat -c %a:%U "$SOCK")" = "600:$USER_" ]'

# ExecReload.
reloads() { ctl metrics | sed -n "s/^v6edge_config_reloads_total{result=\"$1\"} //p"; }
[ "$RELOAD" = '/bin/kill -HUP $MAINPID' ] || lab_die "unexpected ExecReload: $RELOAD"
kill -HUP "$PID"
lab_check "ExecReload (SIGHUP): the reload is counted ok" lab_wait 5 eval '[ "$(reloads ok)" = 1 ]'
echo 'this is not toml' >>"$LAB_DIR/etc/v6edge.toml"
kill -HUP "$PID"
lab_check "a reload of a broken file is counted failed, the service keeps running" \
    lab_wait 5 eval '[ "$(reloads failed)" = 1 ] && lab_alive service'
cp "$REPO/examples/cpe.toml" "$LAB_DIR/etc/v6edge.toml"

# Stop.
host_default() { ip -n "$(lab_ns host)" -6 route show default | grep -q 'via fe80:'; }
lab_check "the host on lan0 has a default route through the CPE before the stop" lab_wait 10 host_default
kill -TERM "$PID"
lab_check "stop (SIGTERM): STOPPING=1 notified" lab_wait 10 grep -q '^STOPPING=1' "$LAB_DIR/notify.log"
lab_check "... and it exits within 10 s" lab_wait 10 eval '! kill -0 $PID 2>/dev/null'
lab_check "... cleanly (its last words: v6edge stopped)" grep -q 'v6edge stopped' "$LAB_DIR/service.log"
lab_check "... its final RAs (router lifetime 0) took the host's default route at once" \
    lab_wait 3 eval '! host_default'
kill "$NOTIFY_PID" 2>/dev/null

lab_finish
