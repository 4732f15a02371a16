#!/bin/bash
# relay.sh - the DHCPv6 relay-agent test bed (issue 5) shared by
# tests/scenarios/relay-*.sh and server-behind-relays.sh.  Source after
# netns.sh and peers.sh; it sources server.sh itself for the client helpers.
#
#   [wide] wan0 --.                                     (the clients' switch:
#   [isc]  wan0 --+-- [lsw] br0 --- lan0 [rly] wan0 ---- isp0 [srv]
#   [...]  wan0 --'   no IPv6       2001:db8:a1::1/64    2001:db8:0:1::1/64
#                                   (link-address)       server under test
#                                        2001:db8:0:1::2/64
#
# The relay (RELAY_IMPL) forwards the clients' messages from lan0 to the
# server on wan0 and routes what it relays: per the relay contract
# (/work/notes/relay-contract.md) it installs "<prefix> via <client
# link-local> dev lan0 proto 118" for every prefix it sees delegated, and
# removes it on Release, lifetime 0 or expiry.
#
#   RELAY_IMPL=v6edge  `v6edge run --config examples/relay.toml` (verbatim when
#                      it relays to ff05::1:3, else a copy with `servers`),
#                      state in NAME.state, control socket NAME.sock
#   RELAY_IMPL=wide    WIDE dhcp6relay (-r wan0 [-s server] lan0)
#   RELAY_IMPL=isc     ISC dhcrelay -6 (-l lan0 -u [server%]wan0)
#   wide and isc install no route at all: the route checks are expected
#   failures there (XF_RLY_ROUTE), and the scenarios add the route a ping
#   needs themselves (proto static, never proto 118).
#
#   SERVER=kea         kea-dhcp6, subnet 2001:db8:a1::/64 chosen by the relay's
#                      link-address; listens on unicast isp0/2001:db8:0:1::1
#                      (Kea 2.2 does not hear ff05::1:3: relays get its
#                      unicast address)
#   SERVER=isc         ISC dhcpd -6, same pools; hears ff05::1:3, so relays
#                      use their default (All_DHCP_Servers on wan0)
#   SERVER=v6edge      `v6edge run` with examples/isp-server.toml plus a
#                      `[[server.link]] relay-link = "2001:db8:a1::/64"` with
#                      the prefix pool below; it routes each relayed prefix
#                      via the relay itself (the others: the test adds it)
#
# Every server delegates /56s out of RLY_PD_POOL (2001:db8:200::/40) to the
# relayed link.  Clients are the server test bed's (server.sh): wide (WIDE
# dhcp6c, <prefix>::1/64 on its stub lan0), isc (dhclient -6 -P, the scenario
# numbers lan0), so cli_start, cli_wait_prefix, cli_prefix, cli_release,
# cli_lan_addr and cli_ll work here unchanged; rcli_add attaches them to the
# relay's switch instead of the server's, with a static default route via the
# relay (for the pings back).

# server.sh insists on its own SERVER_IMPL values; we only want its clients.
_rly_saved_server_impl=${SERVER_IMPL:-}
SERVER_IMPL=v6edge
. "$LAB_LIB_DIR/server.sh"
SERVER_IMPL=$_rly_saved_server_impl

RELAY_IMPL=${RELAY_IMPL:-v6edge}
SERVER=${SERVER:-kea}
case $RELAY_IMPL in v6edge|wide|isc) ;; *) lab_die "RELAY_IMPL must be v6edge, wide or isc (got $RELAY_IMPL)" ;; esac
case $SERVER in kea|isc|v6edge) ;; *) lab_die "SERVER must be kea, isc or v6edge (got $SERVER)" ;; esac

RLY_EXAMPLE=$REPO_DIR/examples/relay.toml
RLY_LINK=2001:db8:a1::/64          # the relayed (client) link
RLY_LINK_ADDR=2001:db8:a1::1       # the relay's lan0: its link-address
RLY_WAN_ADDR=2001:db8:0:1::2       # the relay's wan0, on the server's link
RLY_PD_POOL=2001:db8:200::/40
RLY_PD_LEN=56
RLY_NA_FIRST=2001:db8:a1::100
RLY_NA_LAST=2001:db8:a1::1ff
RLY_PROTO=119                      # the relay's routes: proto 119 (v6edge_core::Owner::Relay)
ALL_DHCP_SERVERS=ff05::1:3

# XF_RLY_ROUTE: wide and isc relays install no route (lab scenario g).
XF_RLY_ROUTE=''
# shellcheck disable=SC2034  # read by the scenarios
[ "$RELAY_IMPL" = v6edge ] || XF_RLY_ROUTE="$RELAY_IMPL relay installs no route for what it relays"

# relay_require [CMD...]: what the selected relay, server and clients need.
relay_require() {
    lab_require ping timeout ss dhcp6c dhclient "$@"
    _relay_require_impl "$RELAY_IMPL"
    case $SERVER in
        kea) lab_require kea-dhcp6 ;;
        isc) lab_require dhcpd ;;
        v6edge)
            [ -x "$V6EDGE_BIN" ] || lab_die "no v6edge binary at $V6EDGE_BIN (run: cargo build -p v6edge)"
            [ -f "$SRV_EXAMPLE" ] || lab_die "missing $SRV_EXAMPLE" ;;
    esac
}

_relay_require_impl() {
    case $1 in
        wide) lab_require dhcp6relay ;;
        isc) lab_require dhcrelay ;;
        v6edge)
            [ -x "$V6EDGE_BIN" ] || lab_die "no v6edge binary at $V6EDGE_BIN (run: cargo build -p v6edge)"
            [ -f "$RLY_EXAMPLE" ] || lab_die "missing $RLY_EXAMPLE (the v6edge relay's example)" ;;
    esac
}

# ------------------------------------------------------------------ topology

LSW_PORTS=0

# relay_node NS LAN_ADDR/LEN WAN_ADDR/LEN: a relay namespace NS with lan0 and
# wan0 (created by the links that follow), forwarding on.  Call after the
# veths exist.
relay_node() {
    local ns=$1
    lab_router "$ns"
    lab_addr "$ns" lan0 "$2"
    lab_addr "$ns" wan0 "$3"
    lab_wait_dad "$ns" lan0 wan0 || lab_die "no link-local on $ns"
}

# lsw_create NS: the clients' switch (bridge br0 in namespace lsw, no IPv6,
# MLD snooping off) with NS's lan0 on it.
lsw_create() {
    lab_ns_create lsw
    lab_sysctl lsw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    lab_run ip -n "$(lab_ns lsw)" link add br0 type bridge mcast_snooping 0 || lab_die "bridge failed"
    lab_run ip -n "$(lab_ns lsw)" link set br0 up
    lab_link lsw p0 "$1" lan0
    lab_bridge lsw br0 p0
}

# relay_topology: srv (isp0 2001:db8:0:1::1/64, a route to the relayed link
# via the relay), rly (wan0 2001:db8:0:1::2/64, lan0 2001:db8:a1::1/64) and
# the clients' switch.
relay_topology() {
    lab_ns_create srv
    lab_ns_create rly
    lsw_create rly
    lab_link rly wan0 srv isp0
    relay_node rly "$RLY_LINK_ADDR/64" "$RLY_WAN_ADDR/64"
    lab_addr srv isp0 "$SRV_ADDR/64"
    lab_wait_dad srv isp0 || lab_die "no link-local on srv:isp0"
    lab_route srv "$RLY_LINK" via "$RLY_WAN_ADDR" dev isp0
}

# rcli_add RELAY_NS ROLE...: a client namespace per ROLE (wan0 on the
# clients' switch, a stub lan0), default route via RELAY_NS's lan0.
rcli_add() {
    local rns=$1 role gw; shift
    gw=$(lab_ll "$rns" lan0)
    for role in "$@"; do
        lab_ns_create "$role"
        LSW_PORTS=$(( LSW_PORTS + 1 ))
        lab_link lsw "p$LSW_PORTS" "$role" wan0
        lab_bridge lsw br0 "p$LSW_PORTS"
        lab_dummy "$role" lan0
        lab_wait_dad "$role" wan0 lan0 || lab_die "no link-local on $role"
        lab_route "$role" default via "$gw" dev wan0
    done
}

# ------------------------------------------------------------------- server

# rsrv_name: the server's instance name.
rsrv_name() { echo "rsrv-$SERVER"; }

# rsrv_target: the address relays forward to: the server's unicast address,
# or empty for the relay's default (ff05::1:3 on wan0) with ISC dhcpd.
rsrv_target() {
    case $SERVER in
        isc) echo "" ;;
        *) echo "$SRV_ADDR" ;;
    esac
}

# rsrv_v6edge_config: examples/isp-server.toml plus the relayed link.
rsrv_v6edge_config() {
    local copy=$LAB_DIR/isp-server-relayed.toml
    cp "$SRV_EXAMPLE" "$copy"
    cat >>"$copy" <<EOF

# Added by tests/lab/relay.sh: clients behind the relay whose link-address
# is in $RLY_LINK.
[[server.link]]
relay-link = "$RLY_LINK"

[[server.link.prefix-pool]]
prefix = "$RLY_PD_POOL"
delegated-length = $RLY_PD_LEN
preferred-lifetime = 3600
valid-lifetime = 7200
EOF
    "$V6EDGE_BIN" check --config "$copy" >"$LAB_DIR/isp-server-relayed.check" 2>&1 \
        || { cat "$LAB_DIR/isp-server-relayed.check" >&2; return 1; }
    echo "$copy"
}

_rsrv_write_kea() {
    cat >"$LAB_DIR/rsrv-kea.conf" <<EOF
{
  "Dhcp6": {
    "interfaces-config": { "interfaces": [ "isp0/$SRV_ADDR" ] },
    "data-directory": "$LAB_DIR",
    "lease-database": { "type": "memfile", "persist": true, "lfc-interval": 0,
                        "name": "$LAB_DIR/rsrv-kea.leases.csv" },
    "renew-timer": 1800, "rebind-timer": 2880,
    "preferred-lifetime": 3600, "valid-lifetime": 7200,
    "option-data": [
      { "name": "dns-servers", "data": "$SRV_DNS" },
      { "name": "domain-search", "data": "$SRV_DOMAIN" }
    ],
    "subnet6": [ {
      "id": 1, "subnet": "$RLY_LINK",
      "pools": [ { "pool": "$RLY_NA_FIRST-$RLY_NA_LAST" } ],
      "pd-pools": [ { "prefix": "${RLY_PD_POOL%/*}", "prefix-len": ${RLY_PD_POOL#*/},
                      "delegated-len": $RLY_PD_LEN } ]
    } ],
    "loggers": [ { "name": "kea-dhcp6", "severity": "INFO",
                   "output_options": [ { "output": "stdout" } ] } ]
  }
}
EOF
}

_rsrv_write_isc() {
    # The empty subnet6 for isp0 is what dhcpd needs to serve that interface;
    # the relayed link's subnet6 is selected by the link-address.
    cat >"$LAB_DIR/rsrv-isc.conf" <<EOF
default-lease-time 7200;
preferred-lifetime 3600;
option dhcp6.name-servers $SRV_DNS;
option dhcp6.domain-search "$SRV_DOMAIN";
subnet6 2001:db8:0:1::/64 { }
subnet6 $RLY_LINK {
    range6 $RLY_NA_FIRST $RLY_NA_LAST;
    prefix6 2001:db8:200:: 2001:db8:2ff:ff00:: /$RLY_PD_LEN;
}
EOF
}

# rsrv_udp547: true once something in srv listens on UDP 547.
rsrv_udp547() { [ -n "$(lab_exec srv ss -Hlun 'sport = :547' 2>/dev/null)" ]; }

_rsrv_isc_ready() { lab_alive rsrv-isc && rsrv_udp547; }

# rsrv_start: start the server and wait until it serves (10 s).
rsrv_start() {
    case $SERVER in
        kea)
            _rsrv_write_kea
            kea6_check srv rsrv-kea >"$LAB_DIR/rsrv-kea.check" 2>&1 \
                || { cat "$LAB_DIR/rsrv-kea.check"; lab_die "kea config rejected"; }
            start_kea6 srv rsrv-kea
            lab_wait 10 kea6_ready srv rsrv-kea || lab_die "kea-dhcp6 did not start"
            ;;
        isc)
            _rsrv_write_isc
            start_isc_dhcpd6 srv rsrv-isc isp0
            lab_wait 10 _rsrv_isc_ready || lab_die "dhcpd -6 did not start"
            ;;
        v6edge)
            local config
            config=$(rsrv_v6edge_config) || lab_die "v6edge check rejects the relayed-link server config"
            start_v6edge_server srv rsrv-v6edge "$config" 10 || lab_die "v6edge (server) did not become ready"
            ;;
    esac
    lab_log "server $(rsrv_name) up ($(lab_elapsed)s)"
}

# rsrv_routes: the server's proto 118 routes (v6edge server only has any).
rsrv_routes() { ip -n "$(lab_ns srv)" -6 route show proto 118 2>/dev/null; }

# rsrv_route PREFIX RELAY_NS: srv has "PREFIX via <RELAY_NS's wan0 address,
# global or link-local> dev isp0 proto 118".
rsrv_route() {
    local g ll; g=$(lab_global "$2" wan0); ll=$(lab_ll "$2" wan0)
    rsrv_routes | grep -Eq "^$1 via ($g|$ll) dev isp0 "
}

rsrv_lacks_route() { ! rsrv_routes | grep -q "^$1 "; }

# rsrv_route_back PREFIX: the route toward a relayed prefix that Kea and
# dhcpd never add, added by the test (proto static).
rsrv_route_back() {
    lab_run ip -n "$(lab_ns srv)" -6 route replace "$1" via "$RLY_WAN_ADDR" dev isp0 proto static
}

# ------------------------------------------------------------------- relays

# relay_v6edge_config NAME [SERVER_ADDR...]: the v6edge relay's config:
# examples/relay.toml verbatim without servers (ff05::1:3), else a copy with
# `servers = [...]` in [relay] (any `servers =` line of the example is
# replaced).  The copy must pass `v6edge check`.
relay_v6edge_config() {
    local name=$1; shift
    if [ $# -eq 0 ]; then echo "$RLY_EXAMPLE"; return; fi
    local copy=$LAB_DIR/$name.toml list
    list=$(printf '"%s", ' "$@"); list="[${list%, }]"
    "$LAB_PY" - "$RLY_EXAMPLE" "$copy" "$list" <<'PY' || return 1
import re, sys
src, dst, servers = sys.argv[1:4]
out, in_relay, done = [], False, False
for line in open(src):
    s = line.strip()
    if s.startswith("["):
        in_relay = s == "[relay]"
        out.append(line)
        if in_relay and not done:
            out.append("servers = %s   # added by tests/lab/relay.sh\n" % servers)
            done = True
        continue
    if in_relay and re.match(r"servers\s*=", s):
        continue
    out.append(line)
if not done:
    sys.exit("no [relay] table in " + src)
open(dst, "w").writelines(out)
PY
    "$V6EDGE_BIN" check --config "$copy" >"$LAB_DIR/$name.check" 2>&1 \
        || { cat "$LAB_DIR/$name.check" >&2; return 1; }
    echo "$copy"
}

# relay_ready NS NAME IMPL: the relay runs and listens on UDP 547 (v6edge:
# and answers status).
relay_ready() {
    lab_alive "$2" && [ -n "$(lab_exec "$1" ss -Hlun 'sport = :547' 2>/dev/null)" ] || return 1
    [ "$3" != v6edge ] || v6edge_status_json "$2" >/dev/null 2>&1
}

# relay_start NS NAME IMPL [TARGET]: start relay IMPL in NS (lan0 -> wan0),
# forwarding to TARGET (a unicast address), or to ff05::1:3 on wan0 when
# TARGET is empty or missing; wait (10 s) until it is ready.  Restarting with
# the same NAME keeps a v6edge relay's state directory.
relay_start() {
    local ns=$1 name=$2 impl=$3 target=${4:-} config
    case $impl in
        wide)
            # Without -s dhcp6relay forwards to ff05::1:3.
            lab_daemon "$ns" "$name" dhcp6relay -f -D -r wan0 ${target:+-s "$target"} \
                -p "$LAB_DIR/$name.pidfile" lan0
            ;;
        isc)
            lab_daemon "$ns" "$name" dhcrelay -6 -d -pf "$LAB_DIR/$name.pidfile" \
                -l lan0 -u "${target:+$target%}wan0"
            ;;
        v6edge)
            if [ -n "$target" ]; then
                config=$(relay_v6edge_config "$name" "$target") || lab_die "no v6edge relay config"
            else
                config=$(relay_v6edge_config "$name") || lab_die "no v6edge relay config"
            fi
            start_v6edge "$ns" "$name" "$config"
            ;;
    esac
    lab_wait 10 relay_ready "$ns" "$name" "$impl" \
        || lab_die "relay $name ($impl) did not become ready: $(tail -n 3 "$LAB_DIR/$name.log" 2>/dev/null)"
    lab_log "relay $name ($impl) up in $ns, to ${target:-$ALL_DHCP_SERVERS} ($(lab_elapsed)s)"
}

# rly_routes NS: the relay's proto 118 routes.
rly_routes() { ip -n "$(lab_ns "$1")" -6 route show proto "$RLY_PROTO" 2>/dev/null; }

# rly_route NS PREFIX NEXT_HOP: NS has "PREFIX via NEXT_HOP dev lan0 proto 118".
rly_route() { rly_routes "$1" | grep -q "^$2 via $3 dev lan0 "; }

# rly_lacks_route NS PREFIX: NS has no proto $RLY_PROTO route for PREFIX.
rly_lacks_route() { ! rly_routes "$1" | grep -q "^$2 "; }

# rly_route_back NS PREFIX NEXT_HOP: the route wide/isc relays never add,
# added by the test (proto static) so pings can run.
rly_route_back() {
    lab_run ip -n "$(lab_ns "$1")" -6 route replace "$2" via "$3" dev lan0 proto static
}

# rly_has_lease FILE PREFIX NEXT_HOP: a saved `v6edge leases --json` of a
# relay lists PREFIX (type pd) with that next hop on lan0.
rly_has_lease() {
    json_true "[l for l in d['leases'] if l['type'] == 'pd' and l['prefix'] == '$2' and l['next_hop'] == '$3' and l['interface'] == 'lan0']" "$1"
}

# rly_show NS: the relay's routes (for the log).
rly_show() {
    echo "--- relay $1 at $(lab_elapsed)s"
    rly_routes "$1" | sed 's/^/  route: /'
}
