#!/bin/bash
# mip6-mn.sh - v6edge as a Mobile IPv6 mobile node (RFC 6275 §11) AND as its
# home agent, on kernels without MIP6: both ends of the bidirectional
# tunnel are v6edge's userspace data planes (TUN + IPv6-in-IPv6).
#
#   [cn] eth0 -- home0 (bridge) [ha] core0 ---- core0 [ar] br1 (2001:db8:a::/64, RAs)
#   2001:db8:1::99    2001:db8:1::1                    br2 (2001:db8:b::/64, RAs)
#                                                        | mnp (bridge port, moves)
#                                                      eth0 [mn]  home address 2001:db8:1::200
#   v6edge run --config examples/home-agent.toml (verbatim) in ha,
#   v6edge run --config examples/mobile-node.toml (verbatim, eth0) in mn,
#   v6edge [[ra]] on br1 and br2 in ar (the access router).
#
# Checks (real outcomes only):
#  - the mobile node takes a SLAAC care-of address in 2001:db8:a::/64 from
#    the access router's RAs and registers it: the home agent's status
#    shows the binding with that care-of address, the mobile node's status
#    says bound, away, with the same care-of address (MN-1, MN-6);
#  - the home address is on the mobile node's tunnel device (MN-3), and
#    the default through the tunnel has metric 512 (MN-16);
#  - the correspondent on the home link pings the home address: home
#    agent tunnel -> mobile node tunnel -> its kernel answers from the
#    home address, back through the reverse tunnel (MN-7, MN-11);
#  - from the mobile node, ping -I <home address> <cn> works (reverse
#    tunnelling);
#  - a correspondent's Parameter Problem about a Home Test Init (what a
#    peer without Mobile IPv6 answers) is ignored and counted, the binding
#    and the tunnel stay (MT-15, MN-13);
#  - movement: the mobile node's port moves to the second link (carrier
#    down, re-attached to br2, up): a new care-of address in
#    2001:db8:b::/64 is registered and the pings are answered again;
#  - kill -9 and a restart away: registered again over what the crash left
#    (one rule each, one default through the tunnel), pings answered
#    (MT-24);
#  - a clean stop (SIGTERM) deregisters: the home agent's binding is gone,
#    the tunnel device with it, and the node still reaches the network;
#  - restarted, it registers again; then its port moves to the home link
#    (radvd there): at home it deregisters from its home address without
#    the tunnel (RFC 6275 §11.5.4), the home address moves to eth0 and the
#    correspondent's neighbour entry for it names the mobile node's MAC at
#    once (its unsolicited NA, MN-10) and the correspondent reaches it
#    directly.
# About 10 s.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
LAB_TIMEOUT=${LAB_TIMEOUT:-120}    # watchdog (netns.sh)
. "$HERE/../lab/netns.sh"
. "$HERE/../lab/peers.sh"

HA=2001:db8:1::1
HOA=2001:db8:1::200
CN=2001:db8:1::99
REPO_DIR=$(cd "$HERE/../.." && pwd)
HA_CONFIG=$REPO_DIR/examples/home-agent.toml
MN_CONFIG=$REPO_DIR/examples/mobile-node.toml

lab_init mip6-mn
lab_require ping
lab_require radvd
lab_ns_create cn
lab_ns_create ha
lab_ns_create ar
lab_ns_create mn
# The home link is a bridge, so the mobile node can come home to it.
lab_link cn eth0 ha cnp
lab_bridge ha home0 cnp
lab_exec ha ip link set home0 address 02:00:00:00:01:01
lab_link ha core0 ar core0
lab_link ar mnp mn eth0
lab_router ha
lab_router ar
lab_bridge ar br1 mnp
lab_bridge ar br2
# Fixed router MACs: a bridge otherwise takes its lowest port's MAC, and
# would change it when the mobile node's port moves, behind the neighbour
# caches' back.
lab_exec ar ip link set br1 address 02:00:00:00:0a:01
lab_exec ar ip link set br2 address 02:00:00:00:0b:01
lab_exec cn ip -6 addr add "$CN/64" dev eth0 nodad
lab_exec ha ip -6 addr add "$HA/64" dev home0 nodad
lab_exec ha ip -6 addr add 2001:db8:f::1/64 dev core0 nodad
lab_exec ha ip -6 route add 2001:db8:a::/64 via 2001:db8:f::2 dev core0
lab_exec ha ip -6 route add 2001:db8:b::/64 via 2001:db8:f::2 dev core0
lab_exec ar ip -6 addr add 2001:db8:f::2/64 dev core0 nodad
lab_exec ar ip -6 addr add 2001:db8:a::1/64 dev br1 nodad
lab_exec ar ip -6 addr add 2001:db8:b::1/64 dev br2 nodad
lab_exec ar ip -6 route add default via 2001:db8:f::1 dev core0
# br2 has no port yet, so no carrier and no link-local until the move; a
# stand-in port gives it both, so its RA sender is ready before the move.
lab_exec ar ip link add br2x type veth peer name br2y
lab_exec ar ip link set br2y up
lab_exec ar ip link set br2x up master br2
# The mobile node is a host: RAs accepted, SLAAC on (forwarding stays off).
lab_sysctl mn net.ipv6.conf.eth0.accept_ra=1 net.ipv6.conf.eth0.autoconf=1
lab_wait_dad ha home0 || lab_die "no link-local on ha:home0"
lab_wait_dad ar br1 br2 || lab_die "no link-local on the access router's links"

cat >"$LAB_DIR/ar.toml" <<EOF
[[ra]]
interface = "br1"
prefixes = ["2001:db8:a::/64"]
min-interval = 3
max-interval = 4

[[ra]]
interface = "br2"
prefixes = ["2001:db8:b::/64"]
min-interval = 3
max-interval = 4
EOF
start_v6edge ar ar "$LAB_DIR/ar.toml"
v6edge_wait_ready ar 10 || lab_die "the access router's v6edge did not start (log: $LAB_DIR/ar.log)"

start_v6edge ha ha "$HA_CONFIG"
v6edge_wait_ready ha 10 || lab_die "the home agent's v6edge did not start (log: $LAB_DIR/ha.log)"
ha_running() { [ "$(v6edge_status_json ha | lab_json 'd["roles"]["home-agent"]["running"]')" = True ]; }
lab_wait 10 ha_running || lab_die "the home agent did not start (log: $LAB_DIR/ha.log)"

coa_in() { lab_has_addr mn eth0 "^$1"; }
lab_wait 15 coa_in 2001:db8:a: || lab_die "no SLAAC care-of address on mn:eth0"
COA=$(lab_global mn eth0)
echo "care-of address on link 1: $COA"

start_v6edge mn mn "$MN_CONFIG"
v6edge_wait_ready mn 10 || lab_die "the mobile node's v6edge did not start (log: $LAB_DIR/mn.log)"

mn_field() { v6edge_status_json mn | lab_json "d['roles']['mobile-node']['$1']"; }
ha_care_of() { v6edge_status_json ha | lab_json '[b["care_of"] for b in d["roles"]["home-agent"]["bindings"] if b["home_address"] == "'"$HOA"'"]'; }
bound_at() { [ "$(mn_field state)" = bound ] && [ "$(mn_field care_of)" = "$1" ] && [ "$(ha_care_of)" = "$1" ]; }
pings() { lab_exec cn ping -6 -n -c 3 -i 0.3 -W 2 "$HOA"; }
reverse_pings() { lab_exec mn ping -6 -n -c 2 -i 0.3 -W 2 -I "$HOA" "$CN"; }

# 1. Registration from the first foreign link.
lab_check "the mobile node registers its care-of address $COA (both statuses agree)" lab_wait 15 bound_at "$COA"
v6edge_ctl mn status 2>&1 | sed 's/^/  | /'
lab_check "mobile node status: away, installed" \
    test "$(mn_field location)/$(mn_field installed)" = away/True
lab_check "the home address is on the mobile node's tunnel device v6e-mn0 (MN-3)" \
    lab_has_addr mn v6e-mn0 "^$HOA/128"
lab_check "a default route through v6e-mn0 with metric 512, protocol 122 (MN-16)" \
    sh -c "ip -n '$(lab_ns mn)' -6 route show default | grep -q 'dev v6e-mn0 proto 122 metric 512'"
lab_check "the correspondent's pings to $HOA are answered through both tunnels" pings
lab_check "from the mobile node, ping -I $HOA $CN works (reverse tunnel, MN-7)" reverse_pings
v6edge_ctl mn metrics >"$LAB_DIR/mn-metrics.txt" 2>&1
lab_check "mobile node metrics: bound, one BA 0" sh -c \
    "grep -q '^v6edge_mobile_node_bound 1\$' '$LAB_DIR/mn-metrics.txt' && grep -q '^v6edge_mobile_node_binding_acks_received_total{status=\"0\"} 1\$' '$LAB_DIR/mn-metrics.txt'"

# MT-15 (MN-13): a correspondent without Mobile IPv6 answers a Home Test
# Init with a Parameter Problem code 1 (unrecognised Next Header). v6edge
# sends no HoTI yet (no route optimisation), so the error is unsolicited:
# the correspondent sends it to the home address, quoting a HoTI from the
# home address, as a MIP6-less peer would; it crosses both tunnels. The
# mobile node ignores it (counted), and the tunnel keeps working.
ignored() { v6edge_ctl mn metrics 2>/dev/null | sed -n 's/^v6edge_packets_dropped_total{protocol="mobility",reason="icmp6-ignored"} //p' | head -1; }
IGNORED_BEFORE=$(ignored); IGNORED_BEFORE=${IGNORED_BEFORE:-0}
lab_exec cn "$LAB_PY" - "$HOA" "$CN" <<'EOP'
import socket, struct, sys
hoa, cn = sys.argv[1], sys.argv[2]
# The quoted HoTI (RFC 6275 §6.1.3): Payload Proto 59, length 1 (16
# octets), MH type 1, checksum left 0, 8-octet cookie.
hoti = bytes([59, 1, 1, 0, 0, 0, 0, 0]) + bytes(range(8))
quoted = struct.pack("!IHBB", 6 << 28, len(hoti), 135, 64) \
    + socket.inet_pton(socket.AF_INET6, hoa) + socket.inet_pton(socket.AF_INET6, cn) + hoti
# Parameter Problem, code 1, pointer 6: the Next Header field (RFC 4443 §3.4);
# the kernel fills in the checksum of an ICMPv6 raw socket.
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
s.sendto(struct.pack("!BBHI", 4, 1, 0, 6) + quoted, (hoa, 0))
EOP
counted_ignored() { [ "$(ignored)" -gt "$IGNORED_BEFORE" ] 2>/dev/null; }
lab_check "a correspondent's Parameter Problem about a HoTI is ignored and counted (MT-15)" lab_wait 5 counted_ignored
lab_check "... the mobile node stays registered at $COA" bound_at "$COA"
lab_check "... and the tunnel keeps working: the correspondent's pings are answered (MT-15)" pings

# 2. Movement: carrier down, the port moves to the second link, carrier up.
lab_exec mn ip link set eth0 down
ip -n "$(lab_ns ar)" link set mnp nomaster
ip -n "$(lab_ns ar)" link set mnp master br2
lab_exec mn ip link set eth0 up
lab_wait 15 coa_in 2001:db8:b: || lab_die "no SLAAC care-of address on link 2"
COA2=$(lab_global mn eth0)
echo "care-of address on link 2: $COA2"
lab_check "after the move the new care-of address $COA2 is registered" lab_wait 15 bound_at "$COA2"
moved_twice() { [ "$(mn_field movements)" -ge 2 ]; }
lab_check "... with a movement counted" moved_twice
lab_check "the correspondent's pings are answered at the new care-of address" pings
lab_check "... and the reverse tunnel works from there" reverse_pings

echo "Binding Updates sent: $(mn_field bu_sent), of which retransmissions: $(mn_field retransmissions)"

# 2b. A crash (MT-24): kill -9 leaves the tunnel device, the home address,
#     the rules and routes behind; the restarted node takes them over and
#     registers again, with no duplicate left.
lab_kill9 mn || lab_die "cannot kill the mobile node"
start_v6edge mn mn "$MN_CONFIG"
v6edge_wait_ready mn 10 || lab_die "the mobile node's v6edge did not restart after kill -9"
lab_check "after kill -9 and a restart, the mobile node registers $COA2 again" lab_wait 15 bound_at "$COA2"
rules_from() { ip -n "$(lab_ns mn)" -6 rule show | grep -c "from $1 "; }
lab_check "... with one rule from the home address and one from the care-of address" \
    test "$(rules_from "$HOA")/$(rules_from "$COA2")" = 1/1
lab_check "... one default route through v6e-mn0" \
    test "$(ip -n "$(lab_ns mn)" -6 route show default | grep -c 'dev v6e-mn0')" = 1
lab_check "... and the correspondent's pings are answered" pings

# 3. A clean stop deregisters.
lab_stop mn
ha_no_binding() { [ -z "$(ha_care_of)" ]; }
lab_check "SIGTERM: the mobile node deregisters, the home agent has no binding" lab_wait 5 ha_no_binding
lab_check "... and its tunnel device is gone with the home address and the routes into it" \
    sh -c "! ip -n '$(lab_ns mn)' link show v6e-mn0 && ! ip -n '$(lab_ns mn)' -6 route show default | grep -q v6e-mn0"
lab_check "... so the node still reaches the network from its care-of address" \
    lab_exec mn ping -6 -n -c 1 -W 2 2001:db8:f::1

# 4. Restarted away, it registers again (over the rules and routes a
#    stop leaves); then it comes home: RAs for the home prefix there.
start_v6edge mn mn "$MN_CONFIG"
v6edge_wait_ready mn 10 || lab_die "the mobile node's v6edge did not restart"
lab_check "restarted, the mobile node registers $COA2 again" lab_wait 15 bound_at "$COA2"
cat >"$LAB_DIR/home-radvd.conf" <<EOR
interface home0 {
    AdvSendAdvert on;
    MinRtrAdvInterval 3;
    MaxRtrAdvInterval 4;
    prefix 2001:db8:1::/64 { AdvOnLink on; AdvAutonomous on; };
};
EOR
start_radvd ha home-radvd
lab_exec mn ip link set eth0 down
ip -n "$(lab_ns ar)" link set mnp netns "$(lab_ns ha)"
ip -n "$(lab_ns ha)" link set mnp master home0 up
lab_exec mn ip link set eth0 up
lab_wait 15 coa_in 2001:db8:1: || lab_die "no SLAAC address in the home prefix on mn:eth0"
at_home() { [ "$(mn_field location)/$(mn_field state)/$(mn_field installed)" = home/idle/False ] && [ -z "$(ha_care_of)" ]; }
lab_check "back home, the mobile node deregisters (status home, idle; no binding at the home agent)" lab_wait 15 at_home
lab_check "... the home address is on eth0, not on v6e-mn0, no default through v6e-mn0" \
    sh -c "ip -n '$(lab_ns mn)' -6 addr show dev eth0 | grep -q ' $HOA/' && ! ip -n '$(lab_ns mn)' -6 addr show dev v6e-mn0 | grep -q '$HOA' && ! ip -n '$(lab_ns mn)' -6 route show default | grep -q v6e-mn0"
# The correspondent's cache still names the home agent's MAC for the home
# address (from the pings through the tunnel): the mobile node's
# unsolicited NA replaces it at once (MN-10, RFC 6275 §11.5.4).
MN_MAC=$(ip -n "$(lab_ns mn)" link show eth0 | awk '/link\/ether/ { print $2 }')
cn_entry() { ip -n "$(lab_ns cn)" -6 neigh show "$HOA" | grep -q "lladdr $MN_MAC"; }
lab_check "the correspondent's neighbour entry for $HOA names the mobile node's MAC before any new traffic (MN-10 unsolicited NA)" \
    lab_wait 3 cn_entry
lab_check "the correspondent's pings reach the home address on the home link" pings
v6edge_ctl mn status 2>&1 | sed 's/^/  | /'
lab_stop mn

lab_finish
