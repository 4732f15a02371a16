#!/bin/bash
# mip6-dsmip-mr.sh - a v6edge mobile router that moves IPv6 foreign link ->
# IPv4-only link behind a masquerading router -> home, with v6edge's home
# agent: Dual-Stack MIPv6 (RFC 5555, issue 13, MT-19, MT-21), both ends
# v6edge's userspace data planes.
#
#   [cn] eth0 ---- cn0 [ha] home0 (bridge, radvd: 2001:db8:1::/64; 169.254.1.1/24)
#   2001:db8:c::99      |  core1 ---- core0 [ar1] br1 (radvd: 2001:db8:a::/64)
#   169.254.9.99        |  core3 ---- core0 [ar3] br3 (IPv4 only: 169.254.2.0/24,
#                       |  169.254.255.1     169.254.255.9  masqueraded onto core0)
#   [mn] eth0 ---- mnp (moves between the bridges)
#   mobile router, examples/mobile-router.toml verbatim
#   lan0 2001:db8:10::1/64 ---- eth0 [lfn] a host on the mobile network (IPv6 only)
#
# examples/home-agent.toml verbatim on ha. On the IPv4 link the test does
# what a DHCPv4 client would: 169.254.2.2/24 and a default route on eth0.
#
# Checks (real outcomes only):
#  - link 1 (IPv6): registered as usual, a TCP stream between the
#    correspondent and the host on the mobile network starts;
#  - the IPv4 link: no global IPv6 address on eth0; the mobile router
#    registers in UDP through the NAT: the home agent's binding is in UDP
#    from the NAT's address, behind a NAT, with an IPv4 home address; the
#    mobile router's status shows its IPv4 care-of address, the NAT refresh
#    time and the IPv4 home address, which is on its tunnel device;
#  - correspondent <-> host on the mobile network, both ways, through the
#    NAT in UDP; correspondent -> the IPv4 home address (proxy ARP at home,
#    the mobile router answers from the tunnel);
#  - home: deregistered in both daemons; the home agent routes the mobile
#    network via the router's home address on the home link (RFC 3963
#    §5.7) and the correspondent and the host reach each other; the IPv4
#    home address, its route and rule are gone from the mobile router; no
#    binding at the home agent;
#  - the TCP stream crossed IPv6 link -> IPv4 NATed link -> home intact both
#    ways (issue 13 done-when).
# About 45 s.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
LAB_TIMEOUT=${LAB_TIMEOUT:-180}
. "$HERE/../lab/netns.sh"
. "$HERE/../lab/peers.sh"
. "$HERE/../lab/mip6.sh"

MIP6_HOA=2001:db8:1::300
MIP6_MN_CONFIG=$MIP6_REPO_DIR/examples/mobile-router.toml
MNP=2001:db8:10::/64
NAT4=169.254.255.9
MR4=169.254.2.2
HOME4=169.254.1.2

lab_init mip6-dsmip-mr
mip6_topology
mip6_ipv4_link
# The mobile network.
lab_ns_create lfn
lab_link mn lan0 lfn eth0
lab_exec mn ip -6 addr add 2001:db8:10::1/64 dev lan0 nodad
lab_sysctl lfn net.ipv6.conf.eth0.accept_ra=1 net.ipv6.conf.eth0.autoconf=1

mip6_start_ha
lab_wait 15 coa_in 2001:db8:1: || lab_die "no SLAAC address in the home prefix on mn:eth0"
mip6_start_mn
lab_sysctl mn net.ipv6.conf.all.forwarding=1
lab_wait 15 lab_has_addr lfn eth0 "^2001:db8:10:" || lab_die "the host on lan0 got no address"
LFN=$(lab_global lfn eth0)
echo "  host on the mobile network: $LFN"

# 1. IPv6 foreign link; a TCP stream starts.
mip6_move ar1 br1
lab_wait 15 coa_in 2001:db8:a: || lab_die "no SLAAC care-of address on link 1"
COA1=$(lab_global mn eth0)
lab_check "link 1 (IPv6): the mobile router registers $COA1" lab_wait 15 bound_at "$COA1"
STOP=$LAB_DIR/stream.stop
lab_daemon lfn stream-lfn "$LAB_PY" "$HERE/../lab/tools/tcp-stream.py" serve --bind "$LFN" --port 5001 \
    --rate 1000000 --stop-file "$STOP" --ready-file "$LAB_DIR/stream.ready" --max-seconds 60
lab_wait 5 test -e "$LAB_DIR/stream.ready" || lab_die "tcp-stream.py did not listen"
lab_daemon cn stream-cn "$LAB_PY" "$HERE/../lab/tools/tcp-stream.py" connect --to "$LFN" --port 5001 \
    --rate 1000000 --stop-file "$STOP" --max-seconds 60
sleep 2

# 2. The IPv4-only link behind the NAT: what a DHCPv4 client would set.
mip6_move ar3 br3
mip6_ipv4_attach
ha_udp() { v6edge_status_json ha | lab_json "' '.join('%s %s %s' % (b.get('udp'), b['nat'], b.get('ipv4_home_address')) for b in d['roles']['home-agent']['bindings'] if b['home_address'] == '$MIP6_HOA' and b['state'] == 'bound')"; }
away_v4() { [ "$(mn_field location)/$(mn_field state)/$(mn_field care_of_v4)" = "away-v4/bound/$MR4" ] && [[ "$(ha_udp)" == "$NAT4:"* ]]; }
lab_check "the IPv4 link: registered in UDP through the NAT (both statuses agree)" lab_wait 20 away_v4
B=$(ha_udp)
echo "  home agent's binding: $B"
v6edge_ctl mn status 2>&1 | sed 's/^/  | /'
lab_check "no global IPv6 address on the IPv4-only link" eval '[ -z "$(lab_exec mn ip -6 -o addr show dev eth0 scope global)" ]'
lab_check "the home agent: in UDP from the NAT ($NAT4), behind a NAT, IPv4 home address $HOME4" \
    eval '[[ "$B" == "$NAT4:"*" True $HOME4" ]]'
lab_check "the mobile router: NAT refresh 110 s, IPv4 home address $HOME4 on its tunnel device" \
    eval '[ "$(mn_field nat_refresh)/$(mn_field ipv4_home_address)" = "110/$HOME4" ] && lab_exec mn ip -4 addr show dev v6e-mn0 | grep -q "$HOME4"'
lab_check "correspondent -> host on the mobile network through the NAT (UDP)" \
    lab_wait 10 lab_exec cn ping -6 -n -c 2 -i 0.3 -W 2 "$LFN"
lab_check "host on the mobile network -> correspondent (reverse, UDP)" \
    lab_exec lfn ping -6 -n -c 3 -i 0.3 -W 2 "$MIP6_CN"
lab_check "correspondent -> the IPv4 home address $HOME4 (proxy ARP at home, UDP to the router)" \
    lab_exec cn ping -4 -n -c 3 -i 0.3 -W 2 "$HOME4"
sleep 2

# 3. Home. The DHCPv4 lease goes with the link.
mip6_ipv4_detach
mip6_move ha home0
lab_check "home: deregistered in both daemons" lab_wait 20 at_home
lab_check "... the IPv4 home address is off the tunnel device, its rule gone" \
    eval '! lab_exec mn ip -4 addr show 2>/dev/null | grep -q "$HOME4" && ! lab_exec mn ip -4 rule show | grep -q "$HOME4"'
lab_check "home: the home agent routes $MNP via the router's home address on home0 (RFC 3963 §5.7)" \
    sh -c "ip -n '$(lab_ns ha)' -6 route show '$MNP' | grep -q 'via $MIP6_HOA dev home0 proto 121'"
lab_check "home: correspondent <-> host on the mobile network, both ways" \
    eval 'lab_exec cn ping -6 -n -c 2 -i 0.3 -W 2 "$LFN" && lab_exec lfn ping -6 -n -c 2 -i 0.3 -W 2 "$MIP6_CN"'
lab_check "... and the home agent holds no IPv4 route or proxy for it" \
    eval '[ -z "$(ip -n "$(lab_ns ha)" route show "$HOME4/32")" ] && ! ip -n "$(lab_ns ha)" neigh show proxy | grep -q "^$HOME4 "'
sleep 1
touch "$STOP"
streams_done() { ! lab_alive stream-cn && ! lab_alive stream-lfn; }
lab_wait 30 streams_done || lab_log "tcp-stream.py still running"
CN_RESULT=$(grep '^{' "$LAB_DIR/stream-cn.log" | tail -1)
LFN_RESULT=$(grep '^{' "$LAB_DIR/stream-lfn.log" | tail -1)
echo "  correspondent: $CN_RESULT"
echo "  host:          $LFN_RESULT"
clean() { [ "$(echo "$1" | lab_json "d['error'] is None and d['eof'] and d['intact'] and d['sent'] > 500000 and d['received'] > 500000")" = True ]; }
lab_check "TCP between the correspondent and the host crossed IPv6 link -> IPv4 NAT -> home intact both ways" \
    eval 'clean "$CN_RESULT" && clean "$LFN_RESULT"'
lab_stop mn

lab_finish
