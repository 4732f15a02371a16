#!/bin/bash
# routing.sh - the routing daemons RIPng interoperates with, started in a
# namespace: BIRD 2 and FRR's zebra + ripngd (tests/scenarios/ripng-peers.sh,
# bench/ripng.sh). Source after netns.sh and peers.sh.
#
# Timers: RIPNG_UPDATE / RIPNG_TIMEOUT / RIPNG_GC seconds (default 5, 30,
# 20: the RFC's 30/180/120 shortened for tests), the same on every router.

RIPNG_UPDATE=${RIPNG_UPDATE:-5}
RIPNG_TIMEOUT=${RIPNG_TIMEOUT:-30}
RIPNG_GC=${RIPNG_GC:-20}

# start_bird_ripng NS NAME: BIRD with RIPng on every eth* interface, the
# prefixes of its lan* interfaces originated, learned routes exported to
# the kernel (protocol bird); control socket $LAB_DIR/NAME.ctl. BIRD_EXTRA
# is appended to its configuration (a static protocol, say).
start_bird_ripng() {
    local ns=$1 name=$2
    command -v bird >/dev/null || lab_die "bird missing (bird2)"
    cat >"$LAB_DIR/$name.conf" <<BIRD
router id 10.0.0.$((RANDOM % 250 + 2));
protocol device { scan time 2; }
protocol kernel { ipv6 { import none; export all; }; }
# Its LANs' prefixes into RIPng, as the others' "connected".
protocol direct { ipv6; interface "lan*"; }
protocol rip ng ripng {
    ipv6 { import all; export all; };
    interface "eth*" { update time $RIPNG_UPDATE; timeout time $RIPNG_TIMEOUT; garbage time $RIPNG_GC; };
}
${BIRD_EXTRA:-}
BIRD
    lab_daemon "$ns" "$name" bird -f -c "$LAB_DIR/$name.conf" -s "$LAB_DIR/$name.ctl" -P "$LAB_DIR/$name.pidfile"
}

# start_frr_ripng NS NAME IFACE...: FRR zebra + ripngd as the frr user (its
# vty group is frrvty), RIPng on the interfaces given, connected routes
# redistributed; files in a directory of its own under /tmp ($LAB_DIR is
# root's only), its path in FRR_DIR_<NAME>, removed at teardown
# (scratch.list) however the run ends. Daemons: NAME-zebra, NAME-ripngd.
start_frr_ripng() {
    local ns=$1 name=$2 dir i; shift 2
    [ -x /usr/lib/frr/ripngd ] || lab_die "/usr/lib/frr/ripngd missing (frr)"
    dir=$(mktemp -d /tmp/v6e-frr.XXXXXX)
    echo "$dir" >>"$LAB_DIR/scratch.list"
    chmod 755 "$dir"
    printf -v "FRR_DIR_${name//-/_}" '%s' "$dir"
    {
        echo "hostname $name"
        echo "router ripng"
        for i in "$@"; do echo " network $i"; done
        echo " redistribute connected"
        echo " timers basic $RIPNG_UPDATE $RIPNG_TIMEOUT $RIPNG_GC"
    } >"$dir/ripngd.conf"
    echo "hostname $name" >"$dir/zebra.conf"
    chown -R frr:frr "$dir"
    local opts=(-u frr -g frr --vty_socket "$dir")
    lab_daemon "$ns" "$name-zebra" /usr/lib/frr/zebra "${opts[@]}" -i "$dir/zebra.pid" \
        -z "$dir/zserv.api" -f "$dir/zebra.conf"
    lab_wait 5 test -S "$dir/zserv.api" || lab_log "zebra's zserv.api did not appear"
    lab_daemon "$ns" "$name-ripngd" /usr/lib/frr/ripngd "${opts[@]}" -i "$dir/ripngd.pid" \
        -z "$dir/zserv.api" -f "$dir/ripngd.conf"
}

# frr_vtysh NAME COMMAND: a vtysh command against NAME's daemons.
frr_vtysh() {
    local var="FRR_DIR_${1//-/_}"
    lab_exec "${FRR_NS:-r3}" vtysh --vty_socket "${!var}" -c "$2"
}

# stop_frr_ripng NAME: stops both daemons (their directory goes at
# teardown).
stop_frr_ripng() {
    lab_stop "$1-ripngd"
    lab_stop "$1-zebra"
}

# ripng_toml FILE IFACE...: a v6edge configuration with [ripng] on the
# interfaces given (connected redistributed, the timers above); more keys
# and sections may be appended (start_v6edge gives the state directory and
# control socket).
ripng_toml() {
    local file=$1 list; shift
    list=$(printf '"%s", ' "$@"); list=${list%, }
    cat >"$file" <<TOML
[ripng]
interfaces = [$list]
redistribute = ["connected"]
update-interval = $RIPNG_UPDATE
timeout = $RIPNG_TIMEOUT
garbage-collection = $RIPNG_GC
TOML
}
