#!/bin/bash
# mip6.sh - a Mobile IPv6 test bed with a home link and two foreign links,
# each with its own router, for the moving mobile node of
# tests/scenarios/mip6-move.sh and bench/mip6-handover.sh, bench/mip6-tunnel.sh.
# Source after netns.sh and peers.sh.
#
#   [cn] eth0 ---- cn0 [ha] home0 (bridge, radvd: 2001:db8:1::/64)
#   2001:db8:c::99      |  core1 ---- core0 [ar1] br1 (radvd: 2001:db8:a::/64)
#                       |  core2 ---- core0 [ar2] br2 (radvd: 2001:db8:b::/64)
#                       |
#   [mn] eth0 ---- mnp: the mobile node's veth peer; mip6_move takes it from
#   home address         bridge to bridge (carrier down, moved, carrier up)
#   2001:db8:1::200
#
# The correspondent (cn) is a host beyond the home agent, as a server on the
# Internet would be: whatever it sends to the home address crosses the home
# agent, at home as well as away. ha runs v6edge with
# examples/home-agent.toml verbatim, mn v6edge with examples/mobile-node.toml
# verbatim (eth0). Every link has a radvd (RFC 6275 §11.5.1: the mobile node
# detects movement from the new router's RAs), with the intervals of
# MIP6_RA_MIN / MIP6_RA_MAX (seconds; default 3 / 4; RFC 6275 §7.5 allows
# down to 0.03 / 0.07, with the Advertisement Interval option).
#
# Functions: mip6_topology, mip6_start_ha, mip6_start_mn, mip6_move NS BRIDGE,
# and the status probes mn_field, ha_care_of, bound_at, at_home.

MIP6_HA=2001:db8:1::1
MIP6_HOA=2001:db8:1::200
MIP6_CN=2001:db8:c::99
MIP6_REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
MIP6_HA_CONFIG=$MIP6_REPO_DIR/examples/home-agent.toml
MIP6_MN_CONFIG=$MIP6_REPO_DIR/examples/mobile-node.toml

# mip6_topology: namespaces, links, addresses, routes and the three radvds;
# the mobile node's port starts on the home link.
mip6_topology() {
    local spec ns rest br mac
    lab_require ping radvd
    lab_ns_create cn
    lab_ns_create ha
    lab_ns_create ar1
    lab_ns_create ar2
    lab_ns_create mn
    lab_link cn eth0 ha cn0
    lab_link ha core1 ar1 core0
    lab_link ha core2 ar2 core0
    lab_link ha mnp mn eth0
    lab_router ha
    lab_router ar1
    lab_router ar2
    lab_bridge ha home0 mnp
    lab_bridge ar1 br1
    lab_bridge ar2 br2
    echo ha >"$LAB_DIR/mnp.at"
    # Fixed bridge MACs: a bridge otherwise takes its lowest port's MAC and
    # changes it when the mobile node's port comes or goes, behind the
    # neighbour caches' back. Each bridge gets a stand-in port, so it has
    # carrier and its link-local (and its RA sender is ready) while the
    # mobile node is elsewhere.
    for spec in ha:home0:02:00:00:00:01:01 ar1:br1:02:00:00:00:0a:01 ar2:br2:02:00:00:00:0b:01; do
        ns=${spec%%:*}; rest=${spec#*:}; br=${rest%%:*}; mac=${rest#*:}
        lab_exec "$ns" ip link set "$br" address "$mac"
        lab_exec "$ns" ip link add "${br}x" type veth peer name "${br}y"
        lab_exec "$ns" ip link set "${br}y" up
        lab_exec "$ns" ip link set "${br}x" up master "$br"
    done
    lab_exec cn ip -6 addr add "$MIP6_CN/64" dev eth0 nodad
    lab_exec cn ip -6 route add default via 2001:db8:c::1 dev eth0
    lab_exec ha ip -6 addr add 2001:db8:c::1/64 dev cn0 nodad
    lab_exec ha ip -6 addr add "$MIP6_HA/64" dev home0 nodad
    lab_exec ha ip -6 addr add 2001:db8:f1::1/64 dev core1 nodad
    lab_exec ha ip -6 addr add 2001:db8:f2::1/64 dev core2 nodad
    lab_exec ha ip -6 route add 2001:db8:a::/64 via 2001:db8:f1::2 dev core1
    lab_exec ha ip -6 route add 2001:db8:b::/64 via 2001:db8:f2::2 dev core2
    lab_exec ar1 ip -6 addr add 2001:db8:f1::2/64 dev core0 nodad
    lab_exec ar1 ip -6 addr add 2001:db8:a::1/64 dev br1 nodad
    lab_exec ar1 ip -6 route add default via 2001:db8:f1::1 dev core0
    lab_exec ar2 ip -6 addr add 2001:db8:f2::2/64 dev core0 nodad
    lab_exec ar2 ip -6 addr add 2001:db8:b::1/64 dev br2 nodad
    lab_exec ar2 ip -6 route add default via 2001:db8:f2::1 dev core0
    # The mobile node is a host: RAs accepted, SLAAC on (forwarding off).
    lab_sysctl mn net.ipv6.conf.eth0.accept_ra=1 net.ipv6.conf.eth0.autoconf=1
    lab_wait_dad ha home0 || lab_die "no link-local on ha:home0"
    lab_wait_dad ar1 br1 || lab_die "no link-local on ar1:br1"
    lab_wait_dad ar2 br2 || lab_die "no link-local on ar2:br2"
    _mip6_radvd ha radvd-home home0 2001:db8:1::/64
    _mip6_radvd ar1 radvd-ar1 br1 2001:db8:a::/64
    _mip6_radvd ar2 radvd-ar2 br2 2001:db8:b::/64
}

# _mip6_radvd NS NAME IF PREFIX. MIP6_RA_MIN=default leaves radvd's own
# intervals (MaxRtrAdvInterval 600 s, Min 198 s); MIP6_RA_MIN_DELAY sets
# MinDelayBetweenRAs (default 3 s: the rate limit on answers to Router
# Solicitations; RFC 6275 §7.5 lets it go down to 0.03 s).
_mip6_radvd() {
    local intervals=
    if [ "${MIP6_RA_MIN:-3}" != default ]; then
        intervals="MinRtrAdvInterval ${MIP6_RA_MIN:-3}; MaxRtrAdvInterval ${MIP6_RA_MAX:-4};"
    fi
    [ -n "${MIP6_RA_MIN_DELAY:-}" ] && intervals="$intervals MinDelayBetweenRAs $MIP6_RA_MIN_DELAY;"
    cat >"$LAB_DIR/$2.conf" <<EOR
interface $3 {
    AdvSendAdvert on;
    $intervals
    AdvIntervalOpt ${MIP6_RA_INTERVAL_OPT:-off};
    prefix $4 { AdvOnLink on; AdvAutonomous on; };
};
EOR
    start_radvd "$1" "$2"
}

mip6_start_ha() {
    start_v6edge ha ha "$MIP6_HA_CONFIG"
    v6edge_wait_ready ha 10 || lab_die "the home agent's v6edge did not start (log: $LAB_DIR/ha.log)"
    _mip6_ha_running() { [ "$(v6edge_status_json ha | lab_json 'd["roles"]["home-agent"]["running"]')" = True ]; }
    lab_wait 10 _mip6_ha_running || lab_die "the home agent did not start (log: $LAB_DIR/ha.log)"
}

mip6_start_mn() {
    start_v6edge mn mn "$MIP6_MN_CONFIG"
    v6edge_wait_ready mn 10 || lab_die "the mobile node's v6edge did not start (log: $LAB_DIR/mn.log)"
}

# mip6_move NS BRIDGE: the link change. Carrier down on the mobile node, its
# port moves to BRIDGE in NS, carrier up. Appends "<down> <up> <NS>" to
# $LAB_DIR/moves.log: the times (epoch) just before eth0 went down and just
# after it came up again on the new link.
mip6_move() {
    local from t_down
    from=$(cat "$LAB_DIR/mnp.at")
    t_down=$(date +%s.%N)
    lab_exec mn ip link set eth0 down
    ip -n "$(lab_ns "$from")" link set mnp netns "$(lab_ns "$1")"
    ip -n "$(lab_ns "$1")" link set mnp master "$2" up
    lab_exec mn ip link set eth0 up
    echo "$t_down $(date +%s.%N) $1" >>"$LAB_DIR/moves.log"
    echo "$1" >"$LAB_DIR/mnp.at"
}

mn_field() { v6edge_status_json mn | lab_json "d['roles']['mobile-node']['$1']"; }
ha_care_of() { v6edge_status_json ha | lab_json '[b["care_of"] for b in d["roles"]["home-agent"]["bindings"] if b["home_address"] == "'"$MIP6_HOA"'"]'; }
# bound_at COA: both daemons agree the mobile node is registered at COA.
bound_at() { [ "$(mn_field state)" = bound ] && [ "$(mn_field care_of)" = "$1" ] && [ "$(ha_care_of)" = "$1" ]; }
# at_home: the mobile node is home and deregistered, in both daemons.
at_home() { [ "$(mn_field location)/$(mn_field state)/$(mn_field installed)" = home/idle/False ] && [ -z "$(ha_care_of)" ]; }
# coa_in PREFIX_START: mn:eth0 has a global address starting so.
coa_in() { lab_has_addr mn eth0 "^$1"; }

# mip6_ipv4_link: the IPv4-only foreign link of the DSMIPv6 scenarios
# (RFC 5555): ar3's bridge br3 carries 169.254.2.0/24, masqueraded onto
# ar3's core0 (169.254.255.9), which faces the home agent's core3
# (169.254.255.1, examples/home-agent.toml's ipv4-address). The home link
# gets 169.254.1.1/24 (the IPv4 home address pool's link) and the
# correspondent 169.254.9.99 via the home agent's cn0 (169.254.9.1).
# Needs nft (nftables).
mip6_ipv4_link() {
    lab_require nft
    lab_ns_create ar3
    lab_link ha core3 ar3 core0
    lab_bridge ar3 br3
    lab_exec ar3 ip link set br3 address 02:00:00:00:0c:01
    lab_exec ar3 ip link add br3x type veth peer name br3y
    lab_exec ar3 ip link set br3y up
    lab_exec ar3 ip link set br3x up master br3
    lab_exec ar3 sysctl -qw net.ipv4.ip_forward=1
    lab_exec ar3 ip addr add 169.254.255.9/24 dev core0
    lab_exec ar3 ip addr add 169.254.2.1/24 dev br3
    # Beyond the home agent (the correspondent's 169.254.9.0/24): the way
    # out of the NATed network is through it, as the Internet would be.
    lab_exec ar3 ip route add default via 169.254.255.1
    lab_exec ar3 nft -f - <<'NFT'
table ip nat {
    chain post {
        type nat hook postrouting priority 100;
        oifname "core0" ip saddr 169.254.2.0/24 masquerade
    }
}
NFT
    lab_exec ha ip addr add 169.254.255.1/24 dev core3
    lab_exec ha ip addr add 169.254.1.1/24 dev home0
    lab_exec ha ip addr add 169.254.9.1/24 dev cn0
    lab_exec cn ip addr add 169.254.9.99/24 dev eth0
    lab_exec cn ip route add default via 169.254.9.1
}

# mip6_ipv4_attach / mip6_ipv4_detach: what a DHCPv4 client does on the
# IPv4 link (an address and a default route on mn:eth0), and undoes.
mip6_ipv4_attach() {
    lab_exec mn ip addr add 169.254.2.2/24 dev eth0
    lab_exec mn ip route add default via 169.254.2.1 dev eth0
}
mip6_ipv4_detach() {
    lab_exec mn ip route del default via 169.254.2.1 dev eth0
    lab_exec mn ip addr del 169.254.2.2/24 dev eth0
}
