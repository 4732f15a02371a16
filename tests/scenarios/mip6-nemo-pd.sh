#!/bin/bash
# mip6-nemo-pd.sh [relay] (or PD_VIA=relay) - DHCPv6 prefix delegation to a mobile router
# (RFC 6276, issue 13): the mobile router obtains its mobile network from
# the home network, through the tunnel, with v6edge's own requesting router
# on it and v6edge's delegating server beside the home agent; with
# `relay`, the server is on the correspondent's host and the home agent
# relays ("v6edge's own client and server (or relay) on either side").
#
#   [cn] eth0 ---- cn0 [ha] home0 (bridge, radvd: 2001:db8:1::/64)
#   2001:db8:c::99      |  core1 ---- core0 [ar1] br1 (radvd: 2001:db8:a::/64)
#                       |  core2 ---- core0 [ar2] br2 (radvd: 2001:db8:b::/64)
#   [mn] eth0 ---- mnp (moves between the bridges)
#   mobile router, home address 2001:db8:1::300
#   lan0 ---- eth0 [lfn] a host on the mobile network (SLAAC only)
#
#   ha: examples/home-agent.toml with its commented [server] block
#   uncommented (relay-link 2001:db8:1::/64, /56s from 2001:db8:10::/48);
#   mn: examples/mobile-router.toml with its commented alternative taken
#   (no mobile-network-prefixes, no [[ra]]; [uplink] eth0, [[lan]] lan0).
#   Both blocks are taken out of the examples, so the examples are what
#   runs. With `relay`: the [server] block alone on cn, and ha adds a
#   [relay] toward it (upstream cn0, downstream v6e-ha0 and home0).
#
# Checks (real outcomes only):
#  - started away (foreign link 1, no lease yet), the mobile router
#    registers, then obtains a /56 inside 2001:db8:10::/48 through the
#    tunnel;
#  - the home agent's server holds the lease via the home address on the
#    tunnel device (with `relay`: cn's server, via the relay), the binding
#    names the prefix (explicit mode) and the home agent routes it into
#    the tunnel at metric 512, below the server's route (1024);
#  - the mobile router sends what comes from the prefix into the tunnel;
#  - the host on lan0 configures an address from the delegated prefix
#    while the router is away, and talks with the correspondent both ways;
#  - foreign link 2: registered again, the same prefix, the host's address
#    unchanged, no Rebind (a move between foreign links is none for the
#    requesting router), the correspondent still reaches it;
#  - renumbering (the server's pool moved, `reload`): its Reconfigure
#    reaches the router through the tunnel in a Relay-reply (with `relay`,
#    through both relays), the router
#    renews and holds a prefix in the new pool only, the binding names it,
#    the host configures an address in it and is reached there;
#  - home: the requesting router rebinds on the home link (with `relay`,
#    through the relay on home0) and is answered; the server's route
#    follows (via the home address on home0; with `relay`, still via the
#    relay), the prefix is the same, the correspondent reaches the host.
# About 25 s.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
LAB_TIMEOUT=${LAB_TIMEOUT:-150}
. "$HERE/../lab/netns.sh"
. "$HERE/../lab/peers.sh"
. "$HERE/../lab/mip6.sh"

MIP6_HOA=2001:db8:1::300
PERMIT=2001:db8:10::/48
VIA=${1:-${PD_VIA:-server}}
[ "$VIA" = server ] || [ "$VIA" = relay ] || { echo "usage: $0 [relay]" >&2; exit 2; }

lab_init "mip6-nemo-pd-$VIA"
cp "$MIP6_REPO_DIR/examples/mip6-demo.key" "$LAB_DIR/"
# The examples' commented blocks, uncommented: the server beside the home
# agent, or on cn behind the home agent's relay.
SERVER_BLOCK=$(sed -n '/^# \[server\]$/,$p' "$MIP6_REPO_DIR/examples/home-agent.toml" | sed 's/^# *//')
echo "$SERVER_BLOCK" | grep -q '^relay-link = "2001:db8:1::/64"' || lab_die "could not take the [server] block of examples/home-agent.toml"
if [ "$VIA" = server ]; then
    SERVER_NAME=ha SERVER_TOML=$LAB_DIR/ha.toml
    { cat "$MIP6_REPO_DIR/examples/home-agent.toml"; echo "$SERVER_BLOCK"; } >"$LAB_DIR/ha.toml"
else
    SERVER_NAME=dr SERVER_TOML=$LAB_DIR/dr.toml
    echo "$SERVER_BLOCK" >"$LAB_DIR/dr.toml"
    {
        cat "$MIP6_REPO_DIR/examples/home-agent.toml"
        cat <<'TOML'

[relay]
upstream = "cn0"
servers = ["2001:db8:c::99"]
[[relay.downstream]]
interface = "v6e-ha0"
[[relay.downstream]]
interface = "home0"
TOML
    } >"$LAB_DIR/ha.toml"
fi
{
    awk '/^mobile-network-prefixes/ { next } /^\[\[ra\]\]$/ { skip = 3 } skip > 0 { skip--; next } { print }' \
        "$MIP6_REPO_DIR/examples/mobile-router.toml"
    sed -n '/^# \[uplink\]$/,$p' "$MIP6_REPO_DIR/examples/mobile-router.toml" | sed 's/^# *//'
} >"$LAB_DIR/mr.toml"
grep -q '^\[uplink\]' "$LAB_DIR/mr.toml" && ! grep -q '^mobile-network-prefixes\|^\[\[ra\]\]' "$LAB_DIR/mr.toml" ||
    lab_die "could not take the prefix delegation alternative of examples/mobile-router.toml"
MIP6_HA_CONFIG=$LAB_DIR/ha.toml
MIP6_MN_CONFIG=$LAB_DIR/mr.toml

mip6_topology
lab_ns_create lfn
lab_link mn lan0 lfn eth0
lab_sysctl lfn net.ipv6.conf.eth0.accept_ra=1 net.ipv6.conf.eth0.autoconf=1
mip6_start_ha
if [ "$VIA" = relay ]; then
    start_v6edge cn dr "$LAB_DIR/dr.toml"
    v6edge_wait_ready dr 10 || lab_die "the delegating server did not start (log: $LAB_DIR/dr.log)"
fi
# Where the server routes the prefix: via the home address on the tunnel
# device (beside the home agent), or via the relay (on cn).
server_routes() { # PREFIX DEV
    case $VIA in
        server) ip -n "$(lab_ns ha)" -6 route show "$1" | grep -q "via $MIP6_HOA dev $2 proto 118 metric 1024" ;;
        relay) ip -n "$(lab_ns cn)" -6 route show "$1" | grep -q 'via 2001:db8:c::1 dev eth0 proto 118' ;;
    esac
}

# 1. Away from the start, nothing delegated yet.
mip6_move ar1 br1
mip6_start_mn
# A router forwards; v6edge set accept_ra=2 on eth0, so RAs still count.
lab_sysctl mn net.ipv6.conf.all.forwarding=1
lab_wait 15 coa_in 2001:db8:a: || lab_die "no SLAAC care-of address on link 1"
COA1=$(lab_global mn eth0)
lab_check "link 1: the mobile router registers $COA1" lab_wait 15 bound_at "$COA1"
delegation() { v6edge_status_json mn | lab_json "' '.join(x['prefix'] for x in d['delegations'])"; }
in_permit() { case "$(delegation)" in 2001:db8:10:*/56) true ;; *) false ;; esac; }
lab_check "through the tunnel, the mobile router obtains a /56 inside $PERMIT" lab_wait 20 in_permit
P=$(delegation)
echo "  delegated: $P"
names_p() { [ "$(v6edge_status_json ha | lab_json "[' '.join(b['mobile_networks']) for b in d['roles']['home-agent']['bindings'] if b['home_address'] == '$MIP6_HOA']")" = "$P" ]; }
lab_check "the home agent's binding has $P as its mobile network" lab_wait 10 names_p
ha_routes() { ip -n "$(lab_ns ha)" -6 route show "$P"; }
ha_routes | sed 's/^/  | /'
lab_check "the server routes $P ($VIA: via the home address on the tunnel device, or via the relay; proto 118)" \
    server_routes "$P" v6e-ha0
lab_check "the home agent routes $P into the tunnel at metric 512 (proto 121)" \
    sh -c "ip -n '$(lab_ns ha)' -6 route show '$P' | grep -q 'dev v6e-ha0 proto 121 metric 512'"
lab_check "the mobile router sends what comes from $P into the tunnel (rule to table 222)" \
    sh -c "ip -n '$(lab_ns mn)' -6 rule show | grep -q 'from $P lookup 222'"
lab_check "mobile router status: mobile network $P" test "$(mn_field mobile_networks)" = "$P"
LAN_PREFIX=${P%%::/56}
lab_check "the host on lan0 configures an address in $P from the mobile router's RAs, away" \
    lab_wait 15 lab_has_addr lfn eth0 "^$LAN_PREFIX"
LFN=$(lab_exec lfn ip -6 -o addr show dev eth0 scope global | awk '{ print $4 }' | cut -d/ -f1 | grep "^$LAN_PREFIX" | head -1)
echo "  host on the mobile network: $LFN"
lab_check "the correspondent pings the host through the tunnel" \
    lab_wait 5 lab_exec cn ping -6 -n -c 3 -i 0.3 -W 2 "$LFN"
lab_check "the host pings the correspondent (reverse tunnel)" \
    lab_exec lfn ping -6 -n -c 3 -i 0.3 -W 2 "$MIP6_CN"

# 2. Foreign link 2: the prefix travels.
rebinds() { v6edge_ctl mn metrics 2>/dev/null | awk '/^v6edge_dhcp6_messages_sent_total\{/ && /message_type="rebind"/ { n += $2 } END { print n + 0 }'; }
REBINDS=$(rebinds)
mip6_move ar2 br2
lab_wait 15 coa_in 2001:db8:b: || lab_die "no SLAAC care-of address on link 2"
COA2=$(lab_global mn eth0)
lab_check "link 2: the mobile router registers $COA2" lab_wait 15 bound_at "$COA2"
lab_check "link 2: the same delegated prefix $P" test "$(delegation)" = "$P"
lab_check "link 2: the host keeps $LFN" lab_has_addr lfn eth0 "^$LFN/"
lab_check "link 2: no Rebind: a move between foreign links is none for the requesting router" test "$(rebinds)" = "$REBINDS"
lab_check "link 2: the correspondent still reaches the host" \
    lab_wait 5 lab_exec cn ping -6 -n -c 3 -i 0.3 -W 2 "$LFN"

# 3. Renumbering through the tunnel: the home network's server moves its
# pool; its Reconfigure reaches the router in a Relay-reply, the router
# renews, and the new prefix becomes the mobile network.
POOL2=2001:db8:10:8000::/49
sed -i "s|^prefix = \"$PERMIT\"|prefix = \"$POOL2\"|" "$SERVER_TOML"
grep -q "^prefix = \"$POOL2\"" "$SERVER_TOML" || lab_die "could not change the pool"
v6edge_ctl "$SERVER_NAME" reload >"$LAB_DIR/reload.log" 2>&1 || { cat "$LAB_DIR/reload.log"; lab_log "reload failed"; }
renumbered() { case "$(delegation)" in 2001:db8:10:8*/56 | 2001:db8:10:9*/56 | 2001:db8:10:a*/56 | 2001:db8:10:b*/56 | 2001:db8:10:c*/56 | 2001:db8:10:d*/56 | 2001:db8:10:e*/56 | 2001:db8:10:f*/56) true ;; *) false ;; esac; }
lab_check "renumbered: within 10 s the router holds a /56 inside $POOL2 only" lab_wait 10 renumbered
OLD_P=$P
P=$(delegation)
echo "  delegated now: $P"
lab_check "renumbered: the binding names $P" lab_wait 10 names_p
lab_check "renumbered: the home agent routes $P into the tunnel" \
    sh -c "ip -n '$(lab_ns ha)' -6 route show '$P' | grep -q 'dev v6e-ha0 proto 121 metric 512'"
lab_check "renumbered: the home agent no longer routes $OLD_P to the binding, the mobile router no longer tunnels from it" \
    sh -c "! ip -n '$(lab_ns ha)' -6 route show '$OLD_P' | grep -q 'proto 121' && ! ip -n '$(lab_ns mn)' -6 rule show | grep -q 'from $OLD_P '"
LAN_PREFIX=${P%%::/56}
lab_check "renumbered: the host configures an address in $P" lab_wait 15 lab_has_addr lfn eth0 "^$LAN_PREFIX"
LFN=$(lab_exec lfn ip -6 -o addr show dev eth0 scope global | awk '{ print $4 }' | cut -d/ -f1 | grep "^$LAN_PREFIX" | head -1)
echo "  host: $LFN"
lab_check "renumbered: the correspondent reaches the host at $LFN" \
    lab_wait 10 lab_exec cn ping -6 -n -c 3 -i 0.3 -W 2 "$LFN"

# 4. Home: the requesting router rebinds on the home link.
REBINDS=$(rebinds)
mip6_move ha home0
lab_check "home: the mobile router deregisters" lab_wait 15 at_home
rebound() { [ "$(rebinds)" -gt "$REBINDS" ] && [ "$(v6edge_status_json mn | lab_json "d['uplink']['state']")" = bound ]; }
lab_check "home: the requesting router rebinds on the home link and is answered" lab_wait 15 rebound
lab_check "home: the server's route to $P follows ($VIA: via the home address on home0, or still via the relay)" \
    lab_wait 15 server_routes "$P" home0
ha_routes | sed 's/^/  | /'
lab_check "home: the same delegated prefix $P" test "$(delegation)" = "$P"
lab_check "home: the correspondent still reaches the host" \
    lab_wait 5 lab_exec cn ping -6 -n -c 3 -i 0.3 -W 2 "$LFN"
lab_stop mn

lab_finish
