#!/bin/bash
# mip6-dsmip-nat.sh - Dual-Stack MIPv6 (RFC 5555) with v6edge at both ends,
# on an IPv4-only foreign link: first routed (no NAT, MT-18), then behind a
# masquerading router whose UDP mappings time out after 30 s and are
# flushed (MT-20: NAT keepalive and rebinding).
#
#   [cn] eth0 ---- cn0 [ha] home0 (bridge, radvd: 2001:db8:1::/64; 169.254.1.1/24)
#   2001:db8:c::99      |  core3 ---- core0 [ar3] br3 (IPv4 only: 169.254.2.0/24)
#   169.254.9.99        |  169.254.255.1     169.254.255.9
#   [mn] eth0 ---- mnp (moves between the bridges)
#   mobile node, home address 2001:db8:1::200, 169.254.2.2 on the IPv4 link
#
#   ha: examples/home-agent.toml with nat-refresh = 20 (MT-20's refresh);
#   mn: examples/mobile-node.toml plus home-agent-ipv4 = "169.254.255.1"
#   and request-ipv4-home-address = true. The test sets what a DHCPv4
#   client would (an address and a default route on eth0).
#
# Checks (real outcomes only):
#  - MT-18, routed: the node registers in UDP from its own address (the
#    home agent's binding is in UDP from 169.254.2.2, not behind a NAT);
#    the BA had no NAT Detection option (no refresh time at the node); the
#    home agent assigned an IPv4 home address; the correspondent and the
#    home address ping each other both ways, and the correspondent reaches
#    the IPv4 home address;
#  - MT-20, masqueraded (random ports), UDP conntrack timeouts 30 s: the
#    node registers again from the NAT's address, with NAT Detection
#    (refresh 20 s); after 45 s without data the mapping is the same (the
#    keepalives held it) and the correspondent reaches the node at once;
#    after the NAT's table is flushed, the next keepalive arrives from
#    another port, the home agent follows it, and the correspondent
#    reaches the node again within one refresh period;
#  - an IPv6 foreign link (MT-21's vertical handover): the IPv4 home
#    address stays, carried IPv4-in-IPv6; over a 1300-octet core an IPv4
#    packet with DF too large for the tunnel gets an ICMPv4 Fragmentation
#    Needed (next-hop MTU 1280) and the node's stack learns the path MTU;
#  - MT-21 with force-udp = false: IPv6 link -> routed IPv4 link -> IPv6
#    link -> IPv4 link, registered each time (UDP over IPv4, IPv4-in-IPv6
#    over IPv6, IPv6 preferred), both home addresses reached, and the
#    node's rules, routes and tunnel addresses the same at each return.
# About 110 s (the idle period is the point).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
LAB_TIMEOUT=${LAB_TIMEOUT:-200}
. "$HERE/../lab/netns.sh"
. "$HERE/../lab/peers.sh"
. "$HERE/../lab/mip6.sh"

MIP6_HOA=2001:db8:1::200
NAT4=169.254.255.9
MN4=169.254.2.2
REFRESH=20

lab_init mip6-dsmip-nat
lab_require conntrack
cp "$MIP6_REPO_DIR/examples/mip6-demo.key" "$LAB_DIR/"
cat >"$LAB_DIR/ha-hook.sh" <<EOH
#!/bin/sh
echo "\$V6EDGE_EVENT \$V6EDGE_UDP_ENDPOINT \$V6EDGE_NAT \$V6EDGE_IPV4_HOME_ADDRESS" >>"$LAB_DIR/ha-hook.log"
EOH
chmod 0755 "$LAB_DIR/ha-hook.sh"
sed -e "s|^# nat-refresh = 110 |nat-refresh = $REFRESH |" \
    -e "/^\[home-agent\]/a hook = \"$LAB_DIR/ha-hook.sh\"" \
    "$MIP6_REPO_DIR/examples/home-agent.toml" >"$LAB_DIR/ha.toml"
grep -q "^nat-refresh = $REFRESH " "$LAB_DIR/ha.toml" || lab_die "could not set nat-refresh"
grep -q "^hook = " "$LAB_DIR/ha.toml" || lab_die "could not set the hook"
{
    cat "$MIP6_REPO_DIR/examples/mobile-node.toml"
    echo 'home-agent-ipv4 = "169.254.255.1"'
    echo 'request-ipv4-home-address = true'
} >"$LAB_DIR/mn.toml"
MIP6_HA_CONFIG=$LAB_DIR/ha.toml
MIP6_MN_CONFIG=$LAB_DIR/mn.toml

mip6_topology
mip6_ipv4_link
# MT-18: the IPv4 link routed, not masqueraded.
lab_exec ar3 nft flush table ip nat
lab_exec ha ip route add 169.254.2.0/24 via "$NAT4"
mip6_start_ha
lab_wait 15 coa_in 2001:db8:1: || lab_die "no SLAAC address in the home prefix on mn:eth0"
mip6_start_mn

ha_udp() { v6edge_status_json ha | lab_json "' '.join('%s %s %s' % (b.get('udp'), b['nat'], b.get('ipv4_home_address')) for b in d['roles']['home-agent']['bindings'] if b['home_address'] == '$MIP6_HOA' and b['state'] == 'bound')"; }
away_v4_from() { [ "$(mn_field location)/$(mn_field state)/$(mn_field care_of_v4)" = "away-v4/bound/$MN4" ] && [[ "$(ha_udp)" == "$1:"* ]]; }

# 1. MT-18: no NAT.
mip6_move ar3 br3
mip6_ipv4_attach
lab_check "MT-18: registered in UDP from $MN4 itself (both statuses agree)" lab_wait 20 away_v4_from "$MN4"
B=$(ha_udp)
echo "  home agent's binding: $B"
HOME4=${B##* }
lab_check "MT-18: the home agent sees no NAT and assigned an IPv4 home address ($HOME4)" \
    eval '[[ "$B" == "$MN4:"*" False 169.254.1."* ]]'
no_refresh() { [ "$(v6edge_status_json mn | lab_json "d['roles']['mobile-node'].get('care_of_v4') == '$MN4' and d['roles']['mobile-node'].get('nat_refresh') is None")" = True ]; }
lab_check "MT-18: the BA had no NAT Detection option (no refresh time at the node)" no_refresh
metric() { v6edge_ctl ha metrics 2>/dev/null | grep -q "^v6edge_mobility_$1\$"; }
lab_check "MT-18: metrics: one UDP binding of a mobile node, one IPv4 home address" \
    eval 'metric "bindings_by_kind{kind=\"mobile-node\",transport=\"udp\"} 1" && metric "bindings_by_kind{kind=\"mobile-node\",transport=\"ipv6\"} 0" && metric "ipv4_home_addresses 1"'
lab_check "MT-18: the home agent's hook is told: registered, the UDP endpoint, no NAT, the IPv4 home address" \
    lab_wait 5 grep -qx "registered $MN4:[0-9]* 0 $HOME4" "$LAB_DIR/ha-hook.log"
lab_check "MT-18: the correspondent pings the home address (IPv6 in UDP)" \
    lab_wait 10 lab_exec cn ping -6 -n -c 3 -i 0.3 -W 2 "$MIP6_HOA"
lab_check "MT-18: the node pings the correspondent from its home address" \
    lab_exec mn ping -6 -n -c 3 -i 0.3 -W 2 -I "$MIP6_HOA" "$MIP6_CN"
lab_check "MT-18: the correspondent reaches the IPv4 home address $HOME4" \
    lab_exec cn ping -4 -n -c 3 -i 0.3 -W 2 "$HOME4"

# 2. MT-20: the router masquerades with random ports, and forgets UDP
# mappings after 30 s. The DHCPv4 lease is renewed on the way (the node
# re-registers at once, through the NAT).
lab_exec ha ip route del 169.254.2.0/24 via "$NAT4"
lab_exec ar3 nft -f - <<'NFT'
table ip nat {
    chain post {
        type nat hook postrouting priority 100;
        oifname "core0" ip saddr 169.254.2.0/24 masquerade random
    }
}
NFT
lab_exec ar3 sysctl -qw net.netfilter.nf_conntrack_udp_timeout=30 net.netfilter.nf_conntrack_udp_timeout_stream=30
lab_exec ar3 conntrack -F >/dev/null 2>&1
mip6_ipv4_detach
mip6_ipv4_attach
lab_check "MT-20: registered again, in UDP from the NAT's address $NAT4" lab_wait 20 away_v4_from "$NAT4"
B1=$(ha_udp)
PORT1=$(echo "$B1" | cut -d' ' -f1)
echo "  home agent's binding: $B1"
lab_check "MT-20: behind a NAT, NAT Detection refresh $REFRESH s at the node" \
    eval '[[ "$B1" == *" True "* ]] && [ "$(mn_field nat_refresh)" = "$REFRESH" ]'
lab_check "MT-20: the correspondent reaches the node through the NAT" \
    lab_wait 10 lab_exec cn ping -6 -n -c 2 -i 0.3 -W 2 "$MIP6_HOA"
echo "  45 s without data (the NAT forgets idle mappings after 30 s)"
sleep 45
lab_check "MT-20: after 45 s idle the mapping is the same ($PORT1): the keepalives held it" \
    test "$(ha_udp | cut -d' ' -f1)" = "$PORT1"
lab_check "MT-20: ... and the correspondent reaches the node at once" \
    lab_exec cn ping -6 -n -c 2 -i 0.3 -W 2 "$MIP6_HOA"
lab_exec ar3 conntrack -F >/dev/null 2>&1
T_FLUSH=$(date +%s)
echo "  the NAT's table flushed"
moved() { B2=$(ha_udp); [ -n "$B2" ] && [ "$(echo "$B2" | cut -d' ' -f1)" != "$PORT1" ]; }
lab_check "MT-20: within one refresh period the home agent follows the node to a new mapping" \
    lab_wait $((REFRESH + 5)) moved
echo "  home agent's binding: $(ha_udp) ($(($(date +%s) - T_FLUSH)) s after the flush)"
reached() { lab_exec cn ping -6 -n -c 1 -W 1 "$MIP6_HOA" >/dev/null; }
lab_check "MT-20: the correspondent reaches the node again (within $REFRESH s of the flush)" \
    lab_wait 5 reached
lab_check "MT-20: ... and the IPv4 home address too" \
    lab_exec cn ping -4 -n -c 2 -i 0.3 -W 2 "$HOME4"
lab_check "MT-20: the hook is told of the new mapping: moved, the NAT's new port, NAT 1" \
    lab_wait 5 grep -qx "moved $(ha_udp | cut -d' ' -f1) 1 $HOME4" "$LAB_DIR/ha-hook.log"
lab_check "MT-20: metrics: the binding is behind a NAT now" \
    eval 'metric "bindings_by_kind{kind=\"mobile-node\",transport=\"udp-nat\"} 1" && metric "bindings_by_kind{kind=\"mobile-node\",transport=\"udp\"} 0"'
sed 's/^/  hook | /' "$LAB_DIR/ha-hook.log"

# 3. An IPv6 foreign link whose way to the home agent carries 1300 octets:
# the IPv4 home address stays (IPv4-in-IPv6, DS-8), and an IPv4 packet with
# DF too large for the tunnel gets an ICMPv4 Fragmentation Needed from the
# data plane (RFC 1191), which the node's stack takes as the path MTU.
mip6_ipv4_detach
lab_exec ha ip link set core1 mtu 1300
lab_exec ar1 ip link set core0 mtu 1300
mip6_move ar1 br1
lab_wait 15 coa_in 2001:db8:a: || lab_die "no SLAAC care-of address on the IPv6 link"
COA=$(lab_global mn eth0)
lab_check "IPv6 link: registered at $COA, the IPv4 home address $HOME4 kept (IPv4-in-IPv6)" \
    lab_wait 15 eval 'bound_at "$COA" && [ "$(mn_field ipv4_home_address)" = "$HOME4" ]'
lab_check "IPv6 link: the correspondent reaches the IPv4 home address" \
    lab_wait 5 lab_exec cn ping -4 -n -c 2 -i 0.3 -W 2 "$HOME4"
PING_BIG=$(lab_exec mn ping -4 -n -c 4 -i 0.3 -W 1 -M do -s 1380 -I "$HOME4" 169.254.9.99 2>&1)
echo "$PING_BIG" | sed 's/^/  | /' | head -6
lab_check "a 1408-octet IPv4 packet with DF, lost to the core's 1300 octets, gets Fragmentation Needed (next-hop MTU 1280), the path MTU is learnt" \
    eval 'echo "$PING_BIG" | grep -Eq "mtu ?= ?1280" && lab_exec mn ip -4 route get 169.254.9.99 from "$HOME4" | grep -q " mtu 1280"'
lab_check "... and a packet that fits goes through" \
    lab_exec mn ping -4 -n -c 2 -i 0.3 -W 2 -M do -s 1200 -I "$HOME4" 169.254.9.99
lab_stop mn

# 4. MT-21 with force-udp = false (F clear): vertical handovers IPv6 link
# -> routed IPv4 link -> IPv6 link -> IPv4 link, the mobile node's own
# rules and routes compared at each return (no stale state).
{ cat "$LAB_DIR/mn.toml"; echo 'force-udp = false'; } >"$LAB_DIR/mn-no-f.toml"
MIP6_MN_CONFIG=$LAB_DIR/mn-no-f.toml
lab_exec ar3 nft flush table ip nat
lab_exec ar3 conntrack -F >/dev/null 2>&1
lab_exec ha ip route add 169.254.2.0/24 via "$NAT4"
mn_state() {
    { lab_exec mn ip -6 rule show; lab_exec mn ip -4 rule show
      lab_exec mn ip -6 route show table all proto 122; lab_exec mn ip -4 route show table all proto 122
      lab_exec mn ip -4 addr show dev v6e-mn0; } 2>/dev/null | sed 's/ expires [0-9]*sec//'
}
mip6_start_mn
v6_bound() { bound_at "$COA" && [ "$(mn_field ipv4_home_address)" = "$HOME4" ]; }
lab_check "F clear, IPv6 link: registered, the IPv4 home address over IPv6" lab_wait 15 v6_bound
V6_STATE=$(mn_state)
lab_check "... its state holds the home address's rule and the IPv4 home address on the tunnel device" \
    eval 'grep -q "from $MIP6_HOA lookup" <<<"$V6_STATE" && grep -q "inet $HOME4/32" <<<"$V6_STATE"'
mip6_move ar3 br3
mip6_ipv4_attach
lab_check "F clear, routed IPv4 link: registered in UDP from $MN4, no NAT" \
    lab_wait 20 eval 'away_v4_from "$MN4" && [[ "$(ha_udp)" == "$MN4:"*" False $HOME4" ]]'
lab_check "F clear, IPv4 link: correspondent -> home address and -> IPv4 home address" \
    eval 'lab_wait 5 lab_exec cn ping -6 -n -c 2 -i 0.3 -W 2 "$MIP6_HOA" && lab_exec cn ping -4 -n -c 2 -i 0.3 -W 2 "$HOME4"'
V4_STATE=$(mn_state)
mip6_ipv4_detach
mip6_move ar1 br1
lab_check "F clear, back on the IPv6 link: registered, IPv6 preferred" lab_wait 15 v6_bound
lab_check "... the mobile node's rules, routes and tunnel addresses are as on the first visit" \
    eval '[ "$(mn_state)" = "$V6_STATE" ]'
lab_check "... the correspondent reaches both home addresses" \
    eval 'lab_wait 5 lab_exec cn ping -6 -n -c 2 -i 0.3 -W 2 "$MIP6_HOA" && lab_exec cn ping -4 -n -c 2 -i 0.3 -W 2 "$HOME4"'
mip6_move ar3 br3
mip6_ipv4_attach
lab_check "F clear, the IPv4 link again: registered in UDP" lab_wait 20 away_v4_from "$MN4"
lab_check "... the mobile node's rules, routes and tunnel addresses are as on the first visit" \
    eval '[ "$(mn_state)" = "$V4_STATE" ]'
lab_stop mn

lab_finish
