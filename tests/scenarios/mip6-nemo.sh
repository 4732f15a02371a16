#!/bin/bash
# mip6-nemo.sh - NEMO Basic Support (RFC 3963, issue 13, scenario MT-17, MR-1…MR-4):
# v6edge as a mobile router whose LAN travels with it, and as its home
# agent, on kernels without MIP6. Both ends are v6edge's userspace data
# planes (TUN + IPv6-in-IPv6).
#
#   [cn] eth0 ---- cn0 [ha] home0 (bridge, radvd: 2001:db8:1::/64)
#   2001:db8:c::99      |  core1 ---- core0 [ar1] br1 (radvd: 2001:db8:a::/64)
#                       |  core2 ---- core0 [ar2] br2 (radvd: 2001:db8:b::/64)
#   [mn] eth0 ---- mnp (moves between the bridges)
#   mobile router, home address 2001:db8:1::300
#   lan0 2001:db8:10::1/64 ---- eth0 [lfn] a host on the mobile network
#
#   v6edge run --config examples/home-agent.toml (verbatim) in ha,
#   v6edge run --config examples/mobile-router.toml (verbatim) in mn
#   (forwarding on, accept_ra=2 on eth0, as the example says).
#
# Checks (real outcomes only):
#  - the host on lan0 configures an address in 2001:db8:10::/64 from the
#    mobile router's RAs ([[ra]]: the mobile network is an ordinary v6edge
#    LAN);
#  - on foreign link 1 the mobile router registers (both statuses agree);
#    the home agent's binding is a mobile router's for 2001:db8:10::/64
#    (explicit mode: the BU's Mobile Network Prefix option), it routes
#    2001:db8:10::/64 into its tunnel device (proto 121), and the mobile
#    router sends everything from 2001:db8:10::/64 into its tunnel (rule to
#    table 222);
#  - the correspondent and the host on the mobile network ping each other
#    both ways through the tunnel, and a TCP transfer crosses it both ways;
#  - the router moves to foreign link 2: registered again, the mobile
#    network still reachable from the correspondent;
#  - refusals (MT-17): the same router asking for 2001:db8:20::/64, outside
#    what the home agent permits, gets 142 and stops; the mobile node of
#    examples/mobile-node.toml posing as a mobile router gets 140; nothing
#    is bound for either; implicit mode (no option): the home agent's
#    permit 2001:db8:10::/48 becomes the mobile network, routed into the
#    tunnel, the host reached;
#  - the moving LAN delegates: with a /56 mobile network and a DHCPv6
#    server on lan0, a v6edge requesting router on the LAN gets a /64, the
#    mobile router routes it, and the correspondent reaches that router's
#    own LAN through the tunnel.
# About 35 s.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
LAB_TIMEOUT=${LAB_TIMEOUT:-150}
. "$HERE/../lab/netns.sh"
. "$HERE/../lab/peers.sh"
. "$HERE/../lab/mip6.sh"

MIP6_HOA=2001:db8:1::300
MIP6_MN_CONFIG=$MIP6_REPO_DIR/examples/mobile-router.toml
MNP=2001:db8:10::/64

lab_init mip6-nemo
mip6_topology
lab_ns_create lfn
lab_link mn lan0 lfn eth0
lab_exec mn ip -6 addr add 2001:db8:10::1/64 dev lan0 nodad
lab_sysctl lfn net.ipv6.conf.eth0.accept_ra=1 net.ipv6.conf.eth0.autoconf=1
mip6_start_ha
lab_wait 15 coa_in 2001:db8:1: || lab_die "no SLAAC address in the home prefix on mn:eth0"
mip6_start_mn
# A router forwards (the operator's choice; v6edge warns while it is off);
# v6edge has set accept_ra=2 on eth0, so RAs still count there.
lab_check "the mobile router set accept_ra=2 on its uplink" \
    test "$(lab_exec mn sysctl -n net.ipv6.conf.eth0.accept_ra)" = 2
lab_sysctl mn net.ipv6.conf.all.forwarding=1

lab_check "the host on lan0 configures an address in $MNP from the mobile router's RAs" \
    lab_wait 15 lab_has_addr lfn eth0 "^2001:db8:10:"
LFN=$(lab_global lfn eth0)
echo "  host on the mobile network: $LFN"

# 1. Foreign link 1.
mip6_move ar1 br1
lab_wait 15 coa_in 2001:db8:a: || lab_die "no SLAAC care-of address on link 1"
COA1=$(lab_global mn eth0)
lab_check "link 1: the mobile router registers $COA1 (both statuses agree)" lab_wait 15 bound_at "$COA1"
v6edge_ctl ha status 2>&1 | sed 's/^/  | /'
ha_binding() { v6edge_status_json ha | lab_json "' '.join(str(b['mobile_router']) + ' ' + ','.join(b['mobile_networks']) for b in d['roles']['home-agent']['bindings'] if b['home_address'] == '$MIP6_HOA')"; }
lab_check "the home agent's binding is a mobile router's, for $MNP" \
    test "$(ha_binding)" = "True $MNP"
lab_check "the home agent routes $MNP into its tunnel device (proto 121)" \
    sh -c "ip -n '$(lab_ns ha)' -6 route show '$MNP' | grep -q 'dev v6e-ha0 proto 121'"
lab_check "the mobile router sends what comes from $MNP into the tunnel (rule to table 222)" \
    sh -c "ip -n '$(lab_ns mn)' -6 rule show | grep -q 'from $MNP lookup 222'"
lab_check "mobile router status: mobile networks $MNP, explicit mode" \
    test "$(mn_field mobile_networks)/$(mn_field mobile_network_mode)" = "$MNP/explicit"
lab_check "the correspondent pings the host on the mobile network through the tunnel" \
    lab_exec cn ping -6 -n -c 3 -i 0.3 -W 2 "$LFN"
lab_check "the host on the mobile network pings the correspondent (reverse tunnel)" \
    lab_exec lfn ping -6 -n -c 3 -i 0.3 -W 2 "$MIP6_CN"

# A TCP transfer each way through the tunnel (tests/lab/tools/tcp-stream.py:
# every byte checked).
STOP=$LAB_DIR/stream.stop
lab_daemon lfn stream-lfn "$LAB_PY" "$HERE/../lab/tools/tcp-stream.py" serve --bind "$LFN" --port 5001 \
    --rate 2000000 --stop-file "$STOP" --ready-file "$LAB_DIR/stream.ready" --max-seconds 30
lab_wait 5 test -e "$LAB_DIR/stream.ready" || lab_die "tcp-stream.py did not listen"
lab_daemon cn stream-cn "$LAB_PY" "$HERE/../lab/tools/tcp-stream.py" connect --to "$LFN" --port 5001 \
    --rate 2000000 --stop-file "$STOP" --max-seconds 30
sleep 2

# 2. Foreign link 2, the stream running.
mip6_move ar2 br2
lab_wait 15 coa_in 2001:db8:b: || lab_die "no SLAAC care-of address on link 2"
COA2=$(lab_global mn eth0)
lab_check "link 2: the mobile router registers $COA2" lab_wait 15 bound_at "$COA2"
lab_check "link 2: the correspondent still reaches the host on the mobile network" \
    lab_exec cn ping -6 -n -c 3 -i 0.3 -W 2 "$LFN"
sleep 1
touch "$STOP"
streams_done() { ! lab_alive stream-cn && ! lab_alive stream-lfn; }
lab_wait 30 streams_done || lab_log "tcp-stream.py still running"
CN_RESULT=$(grep '^{' "$LAB_DIR/stream-cn.log" | tail -1)
LFN_RESULT=$(grep '^{' "$LAB_DIR/stream-lfn.log" | tail -1)
echo "  correspondent: $CN_RESULT"
echo "  host:          $LFN_RESULT"
clean() { [ "$(echo "$1" | lab_json "d['error'] is None and d['eof'] and d['intact'] and d['sent'] > 500000 and d['received'] > 500000")" = True ]; }
lab_check "TCP between the correspondent and the host crossed the move intact both ways" \
    eval 'clean "$CN_RESULT" && clean "$LFN_RESULT"'

# 3. Refusals (MT-17). The key file is relative to the config: copied along.
lab_stop mn
cp "$MIP6_REPO_DIR/examples/mip6-demo.key" "$LAB_DIR/"
sed 's|2001:db8:10::/64"\]  # makes|2001:db8:20::/64"]  # makes|' "$MIP6_MN_CONFIG" >"$LAB_DIR/mr-outside.toml"
grep -q '2001:db8:20::/64' "$LAB_DIR/mr-outside.toml" || lab_die "could not derive mr-outside.toml"
MIP6_MN_CONFIG=$LAB_DIR/mr-outside.toml
mip6_start_mn
stopped_with() { [ "$(mn_field stopped)" = "$1" ] && [ -z "$(ha_care_of)" ]; }
lab_check "a mobile network outside the home agent's permit gets 142; nothing bound" lab_wait 15 stopped_with 142
lab_stop mn
{ cat "$MIP6_REPO_DIR/examples/mobile-node.toml"; echo 'mobile-network-prefixes = ["2001:db8:10::/64"]'; } >"$LAB_DIR/mn-as-router.toml"
MIP6_MN_CONFIG=$LAB_DIR/mn-as-router.toml
MIP6_HOA=2001:db8:1::200
mip6_start_mn
lab_check "a home address not permitted as a mobile router gets 140; nothing bound" lab_wait 15 stopped_with 140
lab_stop mn

# 3b. Implicit mode (RFC 3963 §6.1.2, MT-17): no Mobile Network Prefix
# option; the home agent's permit (2001:db8:10::/48) is the mobile network.
sed 's|^# mobile-network-mode = "explicit" |mobile-network-mode = "implicit" |' "$MIP6_REPO_DIR/examples/mobile-router.toml" >"$LAB_DIR/mr-implicit.toml"
grep -q '^mobile-network-mode = "implicit"' "$LAB_DIR/mr-implicit.toml" || lab_die "could not derive mr-implicit.toml"
MIP6_MN_CONFIG=$LAB_DIR/mr-implicit.toml
MIP6_HOA=2001:db8:1::300
mip6_start_mn
lab_check "implicit mode: registered at $COA2" lab_wait 15 bound_at "$COA2"
lab_check "implicit mode: the binding's mobile network is the home agent's permit, 2001:db8:10::/48" \
    test "$(ha_binding)" = "True 2001:db8:10::/48"
lab_check "implicit mode: routed into the tunnel; the correspondent reaches the host on the mobile network" \
    eval "ip -n '$(lab_ns ha)' -6 route show 2001:db8:10::/48 | grep -q 'dev v6e-ha0 proto 121' && lab_exec cn ping -6 -n -c 3 -i 0.3 -W 2 '$LFN'"
lab_stop mn

# 4. The moving LAN delegates (issue 13: the mobile router's LANs are
# ordinary v6edge LANs). The mobile router registers 2001:db8:10::/56 and
# runs a DHCPv6 server on lan0 delegating /64s from 2001:db8:10:80::/57; the
# host on lan0 becomes a v6edge requesting router with a LAN of its own.
# The correspondent reaches that LAN through the home agent's tunnel and
# the mobile router's route toward the delegation.
cat >"$LAB_DIR/hook.sh" <<EOH
#!/bin/sh
echo "\$V6EDGE_EVENT \$V6EDGE_MOBILE_NETWORKS" >>"$LAB_DIR/hook.log"
EOH
chmod 0755 "$LAB_DIR/hook.sh"
sed -e 's|"2001:db8:10::/64"\]  # makes|"2001:db8:10::/56"]  # makes|' \
    -e "/^mobile-network-prefixes/a hook = \"$LAB_DIR/hook.sh\"" \
    "$MIP6_REPO_DIR/examples/mobile-router.toml" >"$LAB_DIR/mr-lan.toml"
cat >>"$LAB_DIR/mr-lan.toml" <<'EOC'

[server]
[[server.link]]
interface = "lan0"
[[server.link.prefix-pool]]
prefix = "2001:db8:10:80::/57"
delegated-length = 64
preferred-lifetime = 1800
valid-lifetime = 3600
EOC
grep -q '2001:db8:10::/56' "$LAB_DIR/mr-lan.toml" || lab_die "could not derive mr-lan.toml"
MIP6_MN_CONFIG=$LAB_DIR/mr-lan.toml
MIP6_HOA=2001:db8:1::300
mip6_start_mn
lab_check "the mobile router registers 2001:db8:10::/56 at $COA2" lab_wait 15 bound_at "$COA2"
lab_check "its hook is told: registered, with V6EDGE_MOBILE_NETWORKS=2001:db8:10::/56" \
    lab_wait 5 grep -qx 'registered 2001:db8:10::/56' "$LAB_DIR/hook.log"
lab_exec lfn ip link add lan1 type veth peer name lan1p
lab_exec lfn ip link set lan1p up
lab_exec lfn ip link set lan1 up
lab_sysctl lfn net.ipv6.conf.all.forwarding=1 net.ipv6.conf.eth0.accept_ra=2
cat >"$LAB_DIR/cpe.toml" <<'EOC'
[daemon]
[uplink]
interface = "eth0"
[[lan]]
interface = "lan1"
EOC
start_v6edge lfn cpe "$LAB_DIR/cpe.toml"
v6edge_wait_ready cpe 10 || lab_die "the downstream router's v6edge did not start (log: $LAB_DIR/cpe.log)"
delegated() { v6edge_status_json cpe | lab_json "[x['prefix'] for x in d['delegations']]" | grep -q '^2001:db8:10:8'; }
lab_check "the router on the moving LAN gets a /64 delegated by the mobile router" lab_wait 20 delegated
DELEGATED=$(v6edge_status_json cpe | lab_json "d['delegations'][0]['prefix']")
echo "  delegated: $DELEGATED"
lab_check "the mobile router routes $DELEGATED toward it (proto 118)" \
    sh -c "ip -n '$(lab_ns mn)' -6 route show '$DELEGATED' | grep -q 'via fe80:.* dev lan0 proto 118'"
LAN1=$(lab_exec lfn ip -6 -o addr show dev lan1 scope global | awk '{ print $4 }' | cut -d/ -f1 | head -1)
echo "  the downstream router's LAN address: ${LAN1:-none}"
# The address may still be tentative (DAD) for a moment.
lab_check "the correspondent reaches the downstream router's LAN address ${LAN1:-?} through the tunnel" \
    lab_wait 10 lab_exec cn ping -6 -n -c 2 -i 0.3 -W 1 "${LAN1:-::1}"
lab_stop cpe
lab_stop mn

lab_finish
