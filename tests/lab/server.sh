#!/bin/bash
# server.sh - the delegating-server (ISP side) test bed shared by
# tests/scenarios/server-*.sh and bench/perfdhcp.sh.  Source after netns.sh
# and peers.sh.
#
#                 [srv] isp0 2001:db8:0:1::1/64
#                       server under test ($SERVER_IMPL), radvd (M=1 O=1,
#                       router lifetime 1800 s: the clients' default route)
#                        |
#                 [sw]  br0 (a plain switch: no IPv6, no MLD snooping)
#            ____________|______________________________
#           |                  |                        |
#   wan0 [wide] lan0   wan0 [isc] lan0          wan0 [cpe] lan0
#   WIDE dhcp6c        ISC dhclient -6 -P       v6edge, examples/cpe.toml
#   ia-pd, lan0 gets   the hook records the     lan0 gets <prefix>::1/64
#   <prefix>::1/64     prefix; the scenario
#   (sla-id 0, ifid 1) numbers lan0 as the
#                      other two do
#
# Clients are added by role name with cli_add ROLE: the namespace is ROLE,
# the kind of client follows from the name (wide*, isc*, cpe*), so a scenario
# can add e.g. "isc2" as a fresh client.  Every lan0 is a stub (lab_dummy).
# Other namespaces (perfdhcp, the scripted probe) join the switch with
# srv_attach NS IF.
#
#   SERVER_IMPL=v6edge  `v6edge run --config examples/isp-server.toml` verbatim
#                       (a copy with other lifetimes when a scenario sets
#                       SRV_PREFERRED / SRV_VALID), state in srv-v6edge.state
#   SERVER_IMPL=kea     kea-dhcp6 with the same pools, lifetimes and options,
#                       memfile (persist, no LFC), lease_cmds hook and a
#                       control socket, so the checks read its leases and
#                       counters the way they read v6edge's; it installs no
#                       routes (lab scenario e), so the checks that need one
#                       are expected failures (XF_*) and the scenario adds
#                       the route itself (proto static, never proto 118)
#
# Observations work alike for both: srv_leases_json prints the contract's
# `leases --json` object (for Kea built from lease6-get-all: next_hop and
# interface null), srv_route / srv_routes read `ip -6 route show proto 118`
# in srv, srv_dropped_total sums the server's drop counters.

SERVER_IMPL=${SERVER_IMPL:-v6edge}
case $SERVER_IMPL in v6edge|kea) ;; *) lab_die "SERVER_IMPL must be v6edge or kea (got $SERVER_IMPL)" ;; esac

REPO_DIR=$(cd "$LAB_LIB_DIR/../.." && pwd)
SRV_EXAMPLE=$REPO_DIR/examples/isp-server.toml
CPE_CONFIG=${CPE_CONFIG:-$REPO_DIR/examples/cpe.toml}

# What examples/isp-server.toml configures (the Kea stand-in gets the same).
SRV_ADDR=2001:db8:0:1::1
SRV_DNS=2001:db8:0:1::53
SRV_DOMAIN=isp.example
SRV_PD_POOL=2001:db8:100::/40
SRV_PD_LEN=56
SRV_NA_FIRST=2001:db8:0:1::100
SRV_NA_LAST=2001:db8:0:1::ffff
# Pool lifetimes (seconds); a scenario may lower them before srv_start.
SRV_PREFERRED=${SRV_PREFERRED:-3600}
SRV_VALID=${SRV_VALID:-7200}
# The example's "renew (T1) after half of the preferred lifetime"; T2 at 0.8.
srv_t1() { echo $(( SRV_PREFERRED / 2 )); }
srv_t2() { echo $(( SRV_PREFERRED * 4 / 5 )); }

# The routing protocol number of the server's routes (contract: proto 118).
SRV_PROTO=118
WIDE_DUID_BASE=00:03:00:01:02:00:00:00:0b   # DUID-LL of made-up MACs, + 2 hex digits

# Known gaps of the Kea stand-in (expected failures in kea mode).
XF_ROUTE='' XF_NEXTHOP='' XF_MALFORMED='' XF_DROPCOUNT=''
if [ "$SERVER_IMPL" = kea ]; then
    XF_ROUTE="Kea installs no route toward a delegated prefix"
    XF_NEXTHOP="Kea records no next hop for a lease"
    XF_MALFORMED="Kea 2.2 answers a Solicit whose last option is truncated (it ignores the option)"
    XF_DROPCOUNT="Kea answers the malformed Solicit, so it counts no drop"
fi

# server_require [CMD...]: the commands this SERVER_IMPL and the clients need.
server_require() {
    lab_require ping timeout ss radvd dhcp6c dhclient "$@"
    case $SERVER_IMPL in
        kea) lab_require kea-dhcp6
             [ -n "$(_kea_hook lease_cmds)" ] || lab_die "Kea's lease_cmds hook library is missing" ;;
        v6edge)
            [ -x "$V6EDGE_BIN" ] || lab_die "no v6edge binary at $V6EDGE_BIN (run: cargo build -p v6edge)"
            [ -f "$SRV_EXAMPLE" ] || lab_die "missing $SRV_EXAMPLE"
            ;;
    esac
}

_kea_hook() { ls /usr/lib/*/kea/hooks/libdhcp_"$1".so 2>/dev/null | head -n 1; }

# ------------------------------------------------------------------ topology

SRV_PORTS=0

# server_topology: srv (isp0 with the server's address, radvd) and the switch.
server_topology() {
    lab_ns_create srv
    lab_ns_create sw
    # The switch takes no part in IPv6 (no link-locals, no MLD of its own).
    lab_sysctl sw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    lab_run ip -n "$(lab_ns sw)" link add br0 type bridge mcast_snooping 0 || lab_die "bridge failed"
    lab_run ip -n "$(lab_ns sw)" link set br0 up
    lab_link srv isp0 sw p0
    lab_bridge sw br0 p0
    lab_addr srv isp0 "$SRV_ADDR/64"
    lab_wait_dad srv isp0 || lab_die "no link-local on srv:isp0"
    # The access router's RA (as a BNG sends it): M=1, O=1, default route.
    start_isp_ra srv srv-ra isp0
}

# srv_attach NS IF: namespace NS (created if new) with IF on the switch.
srv_attach() {
    local ns=$1 ifc=$2
    grep -qx "$(lab_ns "$ns")" "$LAB_DIR/netns.list" || lab_ns_create "$ns"
    SRV_PORTS=$(( SRV_PORTS + 1 ))
    lab_link sw "p$SRV_PORTS" "$ns" "$ifc"
    lab_bridge sw br0 "p$SRV_PORTS"
    lab_wait_dad "$ns" "$ifc" || lab_die "no link-local on $ns:$ifc"
}

# cli_kind ROLE: wide, isc or cpe.
cli_kind() {
    case $1 in
        wide*) echo wide ;; isc*) echo isc ;; cpe*) echo cpe ;;
        *) lab_die "client role $1: must start with wide, isc or cpe" ;;
    esac
}

# cli_add ROLE...: a client namespace per ROLE: wan0 on the switch, a stub
# lan0, and the default route from the RA (waited for, at most 15 s).
cli_add() {
    local role
    for role in "$@"; do
        srv_attach "$role" wan0
        lab_dummy "$role" lan0
        [ "$(cli_kind "$role")" = cpe ] && lab_router "$role" wan0
        lab_wait_dad "$role" lan0 || lab_die "no link-local on $role:lan0"
    done
    for role in "$@"; do
        lab_wait 15 sh -c "ip -n $(lab_ns "$role") -6 route show default | grep -q 'via .* dev wan0'" \
            || lab_die "$role got no default route from srv's RA"
    done
}

# ------------------------------------------------------------------- server

# srv_name: instance name of the server under test.
srv_name() { echo "srv-$SERVER_IMPL"; }

# srv_config: the v6edge config: $SRV_CONFIG if set, else the example
# verbatim, or a copy with the pool lifetimes set to SRV_PREFERRED / SRV_VALID.
srv_config() {
    # A caller's own config (bench/perfdhcp.sh) wins.
    if [ -n "${SRV_CONFIG:-}" ]; then
        echo "$SRV_CONFIG"
        return
    fi
    if [ "$SRV_PREFERRED" = 3600 ] && [ "$SRV_VALID" = 7200 ] && [ -z "${SRV_HOOK:-}" ]; then
        echo "$SRV_EXAMPLE"
        return
    fi
    local copy=$LAB_DIR/isp-server.toml
    # Both pools: "preferred-lifetime = 3600" (maybe with a comment) and
    # "valid-lifetime = 7200".
    sed -e "s/^preferred-lifetime = 3600\( \|\$\)/preferred-lifetime = $SRV_PREFERRED\1/" \
        -e "s/^valid-lifetime = 7200\( \|\$\)/valid-lifetime = $SRV_VALID\1/" "$SRV_EXAMPLE" >"$copy"
    [ "$(grep -c "^\(preferred-lifetime = $SRV_PREFERRED\|valid-lifetime = $SRV_VALID\)\( \|\$\)" "$copy")" = 4 ] \
        || { lab_log "could not set the lifetimes in a copy of $SRV_EXAMPLE"; return 1; }
    # SRV_HOOK: a lease hook program for the v6edge server.
    if [ -n "${SRV_HOOK:-}" ]; then
        sed -i "s|^\[server\]\$|[server]\nhook = \"$SRV_HOOK\"|" "$copy"
        grep -q "^hook = \"$SRV_HOOK\"" "$copy" || { lab_log "could not add the hook to $copy"; return 1; }
    fi
    echo "$copy"
}

# srv_write_kea: kea-dhcp6 config equivalent to examples/isp-server.toml.
srv_write_kea() {
    cat >"$LAB_DIR/srv-kea.conf" <<EOF
{
  "Dhcp6": {
    "interfaces-config": { "interfaces": [ "isp0" ] },
    "data-directory": "$LAB_DIR",
    "control-socket": { "socket-type": "unix", "socket-name": "$LAB_DIR/srv-kea.ctl" },
    "hooks-libraries": [ { "library": "$(_kea_hook lease_cmds)" } ],
    "lease-database": { "type": "memfile", "persist": true, "lfc-interval": 0,
                        "name": "$LAB_DIR/srv-kea.leases.csv" },
    "expired-leases-processing": { "reclaim-timer-wait-time": 1, "hold-reclaimed-time": 0,
                                   "flush-reclaimed-timer-wait-time": 0 },
    "renew-timer": $(srv_t1), "rebind-timer": $(srv_t2),
    "preferred-lifetime": $SRV_PREFERRED, "valid-lifetime": $SRV_VALID,
    "option-data": [
      { "name": "dns-servers", "data": "$SRV_DNS" },
      { "name": "domain-search", "data": "$SRV_DOMAIN" }
    ],
    "subnet6": [ {
      "id": 1, "subnet": "2001:db8:0:1::/64", "interface": "isp0",
      "pools": [ { "pool": "$SRV_NA_FIRST-$SRV_NA_LAST" } ],
      "pd-pools": [ { "prefix": "${SRV_PD_POOL%/*}", "prefix-len": ${SRV_PD_POOL#*/},
                      "delegated-len": $SRV_PD_LEN } ]
    } ],
    "loggers": [ { "name": "kea-dhcp6", "severity": "${SRV_KEA_SEVERITY:-INFO}",
                   "output_options": [ { "output": "stdout" } ] } ]
  }
}
EOF
}

# srv_ready: the server answers its control socket and has UDP 547 open.
srv_ready() {
    lab_alive "$(srv_name)" && [ -n "$(lab_exec srv ss -Hlun 'sport = :547' 2>/dev/null)" ] || return 1
    case $SERVER_IMPL in
        v6edge) v6edge_status_json srv-v6edge >/dev/null 2>&1 ;;
        kea) kea_cmd '{"command": "version-get"}' >/dev/null 2>&1 ;;
    esac
}

# srv_start [TIMEOUT]: start the server (a restart keeps its state dir or
# lease file) and wait until it serves (default 10 s).
srv_start() {
    case $SERVER_IMPL in
        v6edge)
            local config
            config=$(srv_config) || lab_die "no v6edge server config"
            start_v6edge_server srv srv-v6edge "$config" "${1:-10}" \
                || lab_die "v6edge (server) did not become ready"
            ;;
        kea)
            [ -f "$LAB_DIR/srv-kea.conf" ] || srv_write_kea
            kea6_check srv srv-kea >"$LAB_DIR/srv-kea.check" 2>&1 \
                || { cat "$LAB_DIR/srv-kea.check"; lab_die "kea config rejected"; }
            rm -f "$LAB_DIR/srv-kea.ctl"
            start_kea6 srv srv-kea
            lab_wait "${1:-10}" srv_ready || lab_die "kea-dhcp6 did not start"
            ;;
    esac
    lab_log "server $(srv_name) up ($(lab_elapsed)s)"
}

srv_stop() { lab_stop "$(srv_name)"; }
srv_kill9() { lab_kill9 "$(srv_name)"; }

# kea_cmd JSON: one command over Kea's control socket; prints the answer.
kea_cmd() {
    timeout 10 "$LAB_PY" - "$LAB_DIR/srv-kea.ctl" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(8)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode())
buf = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    buf += chunk
sys.stdout.write(buf.decode())
PY
}

# srv_leases_json: the server's leases as the contract's `leases --json`
# object.  Kea: lease6-get-all, keeping leases in the default state whose
# valid lifetime has not run out (what a server may still hand to nobody
# else), lifetimes as remaining seconds.
srv_leases_json() {
    case $SERVER_IMPL in
        v6edge) v6edge_leases_json srv-v6edge ;;
        kea)
            kea_cmd '{"command": "lease6-get-all"}' | "$LAB_PY" -c '
import json, sys, time
a = json.load(sys.stdin)
if a.get("result") not in (0, 3):            # 3: no leases
    sys.exit("lease6-get-all: %s" % a.get("text"))
now, out = int(time.time()), []
for l in (a.get("arguments") or {}).get("leases", []):
    valid = l["cltt"] + l["valid-lft"] - now
    if l.get("state", 0) != 0 or valid <= 0:
        continue
    pd = l["type"] == "IA_PD"
    out.append({"duid": l["duid"], "iaid": l["iaid"], "type": "pd" if pd else "na",
                "prefix": "%s/%d" % (l["ip-address"], l["prefix-len"] if pd else 128),
                "preferred": max(0, l["cltt"] + l["preferred-lft"] - now), "valid": valid,
                "next_hop": None, "interface": None})
print(json.dumps({"leases": out}))'
            ;;
    esac
}

# srv_leases_to FILE: save srv_leases_json to FILE; fails if the server does
# not answer with a lease list.
srv_leases_to() {
    srv_leases_json >"$1" 2>"$1.err" && json_true 'isinstance(d.get("leases"), list)' "$1"
}

# srv_lease_prefixes FILE [TYPE]: the "prefix" of every lease in a saved
# leases object (of TYPE pd or na if given), one a line.
srv_lease_prefixes() {
    lab_json "[l['prefix'] for l in d['leases'] if '${2:-}' in ('', l['type'])]" <"$1"
}

# srv_has_lease FILE PREFIX [NEXT_HOP]: a lease for PREFIX (with that
# next_hop on isp0 if given) is in a saved leases object.
srv_has_lease() {
    if [ -n "${3:-}" ]; then
        json_true "[l for l in d['leases'] if l['prefix'] == '$2' and l['next_hop'] == '$3' and l['interface'] == 'isp0']" "$1"
    else
        json_true "[l for l in d['leases'] if l['prefix'] == '$2']" "$1"
    fi
}

# srv_lacks_lease PREFIX: the server answers with its leases and PREFIX is
# not among them (a server that does not answer lacks nothing).
srv_lacks_lease() {
    local f=$LAB_DIR/leases.now.json
    srv_leases_to "$f" && ! srv_has_lease "$f" "$1"
}

# srv_routes: the server's routes toward delegated prefixes, "PREFIX via LL dev IF ...".
srv_routes() { ip -n "$(lab_ns srv)" -6 route show proto "$SRV_PROTO" 2>/dev/null; }

# srv_route PREFIX [LL]: true when srv has "PREFIX via LL dev isp0" (proto 118).
srv_route() {
    srv_routes | grep -q "^$1 via ${2:-[0-9a-f:]*} dev isp0 "
}

# srv_lacks_route PREFIX: srv has no proto 118 route for PREFIX.
srv_lacks_route() { ! srv_routes | grep -q "^$1 "; }

# srv_route_back PREFIX LL: the route Kea never adds, added by the test
# (proto static, so it never counts as the server's).
srv_route_back() {
    lab_run ip -n "$(lab_ns srv)" -6 route replace "$1" via "$2" dev isp0 proto static
}

# srv_status_json: v6edge's status object (v6edge only).
srv_status_json() { v6edge_status_json srv-v6edge; }

# srv_dropped_total: the number of messages the server dropped (v6edge:
# status .server.counters.dropped, its "total" if it has one, else the sum
# of its per-reason counts; Kea: the
# pkt6-receive-drop statistic, which counts every dropped packet once;
# pkt6-parse-failed counts a subset of the same packets again).
srv_dropped_total() {
    case $SERVER_IMPL in
        v6edge)
            srv_status_json | "$LAB_PY" -c '
import json, sys
def total(x):
    if isinstance(x, bool): return 0
    if isinstance(x, int): return x
    if isinstance(x, dict) and isinstance(x.get("total"), int): return x["total"]
    if isinstance(x, dict): return sum(total(v) for v in x.values())
    if isinstance(x, list): return sum(total(v) for v in x)
    return 0
print(total(json.load(sys.stdin)["server"]["counters"]["dropped"]))'
            ;;
        kea)
            kea_cmd '{"command": "statistic-get-all"}' | "$LAB_PY" -c '
import json, sys
a = json.load(sys.stdin)["arguments"]
print(a["pkt6-receive-drop"][0][0] if "pkt6-receive-drop" in a else 0)'
            ;;
    esac
}

# srv_counters_show: the server's message counters, for the log (v6edge:
# status .server.counters; Kea: its non-zero pkt6-* statistics).
srv_counters_show() {
    case $SERVER_IMPL in
        v6edge) srv_status_json | lab_json 'd["server"]["counters"]' ;;
        kea)
            kea_cmd '{"command": "statistic-get-all"}' | "$LAB_PY" -c '
import json, sys
a = json.load(sys.stdin)["arguments"]
print(" ".join("%s=%s" % (k, v[0][0]) for k, v in sorted(a.items()) if k.startswith("pkt6-") and v[0][0]))'
            ;;
    esac
}

# ------------------------------------------------------------------ clients

# cli_ll ROLE: the client's wan0 link-local (the next hop of its prefix).
cli_ll() { lab_ll "$1" wan0; }

_cli_wide_configs() {
    local role=$1
    # sla-len 8: the server delegates /56s; sla-id 0 and ifid 1 put
    # <prefix>::1/64 on lan0.
    cat >"$LAB_DIR/$role.conf" <<EOF
interface wan0 {
	send ia-pd 0;
	request domain-name-servers;
	request domain-name;
};
id-assoc pd 0 {
	prefix-interface lan0 {
		sla-id 0;
		sla-len 8;
		ifid 1;
	};
};
EOF
}

# cli_start ROLE [ARGS...]: start the client (dhcp6c, dhclient -6 with ARGS
# (default -P), or v6edge with examples/cpe.toml).
cli_start() {
    local role=$1; shift
    case $(cli_kind "$role") in
        wide)
            _cli_wide_configs "$role"
            # A DUID of its own per instance, stable across restarts.
            local n; n=$(printf '%02x' "$(( $(grep -n "^$(lab_ns "$role")\$" "$LAB_DIR/netns.list" | cut -d: -f1) % 256 ))")
            if [ -e "$LAB_DIR/$role.state/dhcp6c_duid" ]; then
                start_wide_dhcp6c "$role" "$role" "" wan0
            else
                start_wide_dhcp6c "$role" "$role" "$WIDE_DUID_BASE:$n" wan0
            fi
            ;;
        isc)
            [ $# -gt 0 ] || set -- -P
            start_isc_dhclient6 "$role" "$role" wan0 "$@"
            echo "$*" >"$LAB_DIR/$role.args"
            ;;
        cpe)
            start_v6edge "$role" "$role" "$CPE_CONFIG"
            v6edge_wait_ready "$role" 10 || lab_die "v6edge ($role) did not become ready"
            ;;
    esac
}

# cli_prefix ROLE: the prefix the client holds now (nothing when none).
#   wide: replayed from dhcp6c's log; isc: the hook log, cleared by a
#   RELEASE6 / EXPIRE6 / STOP6 call; cpe: status "delegations".
cli_prefix() {
    local role=$1
    case $(cli_kind "$role") in
        wide)
            awk '
                /update_prefix: create a prefix / { live[$(NF-2)] = 1 }
                /remove_siteprefix: remove a site prefix / { delete live[$NF] }
                END { for (p in live) print p }' "$LAB_DIR/$role.log" 2>/dev/null | head -n 1
            ;;
        isc)
            awk '
                /^--- / { if ($3 ~ /reason=(RELEASE6|EXPIRE6|STOP6)$/) p = "" }
                /^new_ip6_prefix=/ { p = substr($0, 16) }
                END { if (p != "") print p }' "$LAB_DIR/$role.hook" 2>/dev/null
            ;;
        cpe)
            v6edge_status_json "$role" 2>/dev/null | lab_json \
                '[x["prefix"] for x in d.get("delegations", []) if x.get("valid") is None or x.get("valid") > 0][:1]'
            ;;
    esac
}

# cli_wait_prefix ROLE [TIMEOUT]: wait (default 20 s) until the client holds
# a prefix and its lan0 has an address in it; print the prefix.  For
# dhclient, whose hook only records, this numbers lan0 as the other clients
# do (<prefix>::1/64).
cli_wait_prefix() {
    local role=$1 t=${2:-20} p
    local n=$(( t * 5 ))
    while [ "$n" -gt 0 ]; do
        p=$(cli_prefix "$role")
        [ -n "$p" ] && break
        sleep 0.2
        n=$(( n - 1 ))
    done
    [ -n "$p" ] || return 1
    if [ "$(cli_kind "$role")" = isc ]; then
        lab_addr "$role" lan0 "$(lab_host "$p" 1)/64" 2>/dev/null
    fi
    lab_wait 5 cli_lan_addr "$role" "$p" || return 1
    echo "$p"
}

# cli_lan_addr ROLE PREFIX: the first global address of ROLE's lan0 inside PREFIX.
cli_lan_addr() {
    ip -n "$(lab_ns "$1")" -6 -o addr show dev lan0 scope global to "$2" 2>/dev/null \
        | awk '{sub("/.*", "", $4); print $4; f = 1; exit} END {exit !f}'
}

# cli_release ROLE: the client gives its prefix back with a Release:
# dhcp6c on SIGTERM, `dhclient -r`, `v6edge release`.
cli_release() {
    local role=$1
    case $(cli_kind "$role") in
        wide) lab_stop "$role" ;;
        isc)
            # -r needs the running instance's arguments and interface; it
            # stops that instance (pid file), then sends the Release.
            # shellcheck disable=SC2046
            lab_exec "$role" timeout 15 dhclient -6 $(cat "$LAB_DIR/$role.args") -r -v \
                -lf "$LAB_DIR/$role.leases" -pf "$LAB_DIR/$role.pidfile" \
                -sf "$LAB_HOOK" -e "LAB_HOOK_OUT=$LAB_DIR/$role.hook" wan0 \
                >>"$LAB_DIR/$role.release.log" 2>&1
            ;;
        cpe) v6edge_ctl "$role" release >>"$LAB_DIR/$role.release.log" 2>&1 ;;
    esac
}

# cli_kill9 ROLE: the client dies without a Release.
cli_kill9() { lab_kill9 "$1"; }

# srv_show: the server's routes and leases (for the log).
srv_show() {
    echo "--- server at $(lab_elapsed)s"
    srv_routes | sed 's/^/  route: /'
    srv_leases_json 2>/dev/null | lab_json \
        '["%s %s valid %s next_hop %s" % (l["type"], l["prefix"], l["valid"], l["next_hop"]) for l in d["leases"]]' \
        2>/dev/null | head -n 20 | sed 's/^/  lease: /'
}
