#!/bin/bash
# ripng-peers.sh - v6edge's RIPng role (RFC 2080) in a line with BIRD 2 and
# FRR's ripngd, the routing daemons it must interoperate with.
#
#   [cpe] v6edge requesting router: eth0 ---- cust0 of r1, its LAN lan0
#   [r1] v6edge          eth0 ---- eth0 [r2] BIRD   eth1 ---- eth0 [r3] FRR ripngd
#   lan0 2001:db8:a::1/64 (a veth)                                       lan0 2001:db8:c::1/64
#   (connected, metric 1)                                       (connected)
#
# Timers shortened on every router (updates 5 s, timeout 30 s, garbage
# collection 20 s) so the RFC's 180 s + 120 s fit a test.
#
# Checks (issue 10 done-when, first part):
#  - r3 (FRR) learns 2001:db8:a::/64 through BIRD, metric 3 (v6edge's 1,
#    +1 at each hop), and installs it; r1 (v6edge) learns 2001:db8:c::/64
#    through BIRD with metric 3 and installs it as protocol 124 (ripng)
#    via BIRD's link-local address; BIRD has both;
#  - v6edge's status lists BIRD as a neighbour and both routes;
#  - r1 is also a delegating server ([server] on cust0): the /56 it
#    delegates to the requesting router reaches FRR two hops away through
#    RIPng ("delegated"), r3 pings the requesting router's LAN address, and
#    the Release withdraws the /56 at FRR;
#  - r3 pings r1's LAN address across the line (routes both ways);
#  - a packet from an off-link source, one with hop limit 64, one of
#    version 2 and one from port 520 are dropped and counted (RFC 2080
#    §2.4.2); route entries with host bits set, a multicast prefix or
#    length 129 are ignored and counted, and teach nothing;
#  - FRR stops: v6edge's route to 2001:db8:c::/64 goes to metric 16 and
#    leaves the kernel within the timers;
#  - v6edge stops cleanly: its learned routes leave the kernel.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
LAB_TIMEOUT=${LAB_TIMEOUT:-200}
. "$HERE/../lab/netns.sh"
. "$HERE/../lab/peers.sh"
. "$HERE/../lab/routing.sh"

lab_init ripng-peers
for ns in r1 r2 r3; do lab_ns_create $ns; lab_router $ns; done
lab_link r1 eth0 r2 eth0
lab_link r2 eth1 r3 eth0
lab_exec r1 ip link add lan0 type veth peer name lanpeer
lab_exec r1 ip link set lanpeer up
lab_exec r1 ip link set lan0 up
lab_exec r1 ip -6 addr add 2001:db8:a::1/64 dev lan0 nodad
# BIRD's own LAN, for its pings (originated by its direct protocol).
lab_exec r2 ip link add lan0 type veth peer name lanpeer
lab_exec r2 ip link set lanpeer up
lab_exec r2 ip link set lan0 up
lab_exec r2 ip -6 addr add 2001:db8:b::1/64 dev lan0 nodad
lab_exec r3 ip link add lan0 type veth peer name lanpeer
lab_exec r3 ip link set lanpeer up
lab_exec r3 ip link set lan0 up
lab_exec r3 ip -6 addr add 2001:db8:c::1/64 dev lan0 nodad
lab_wait_dad r1 eth0 || lab_die "no link-local on r1"
lab_wait_dad r2 eth0 eth1 || lab_die "no link-local on r2"
lab_wait_dad r3 eth0 || lab_die "no link-local on r3"
# The customer: a v6edge requesting router behind r1's cust0.
lab_ns_create cpe
lab_link r1 cust0 cpe eth0
lab_router cpe eth0
lab_exec cpe ip link add lan0 type veth peer name lanpeer
lab_exec cpe ip link set lanpeer up
lab_exec cpe ip link set lan0 up
lab_wait_dad cpe eth0 || lab_die "no link-local on cpe"

# r1: v6edge, RIPng on eth0 and lan0 (lan0 passive: nobody to talk to),
# and a delegating server on cust0 whose delegations it redistributes.
ripng_toml "$LAB_DIR/r1.toml" eth0 lan0
sed -i 's/^redistribute = .*/redistribute = ["connected", "delegated"]/' "$LAB_DIR/r1.toml"
cat >>"$LAB_DIR/r1.toml" <<TOML

[[ripng.interface]]
name = "lan0"
passive = true

[server]
[[server.link]]
interface = "cust0"
[[server.link.prefix-pool]]
prefix = "2001:db8:100::/48"
delegated-length = 56
preferred-lifetime = 1800
valid-lifetime = 3600
TOML

# An administrator's static route to BIRD's LAN, there before RIPng
# learns the same prefix: it must stay as it is.
R2_LL=$(ip -n "$(lab_ns r2)" -6 addr show dev eth0 scope link | awk '/inet6/ { sub("/.*", "", $2); print $2; exit }')
lab_exec r1 ip -6 route add 2001:db8:b::/64 via "$R2_LL" dev eth0
start_v6edge r1 r1 "$LAB_DIR/r1.toml"
v6edge_wait_ready r1 10 || lab_die "v6edge did not answer (log: $LAB_DIR/r1.log)"
start_bird_ripng r2 bird
FRR_NS=r3
start_frr_ripng r3 frr eth0 lan0

route_of() { ip -n "$(lab_ns "$1")" -6 route show "$2"; }
r1_has_c() { route_of r1 2001:db8:c::/64 | grep -q "proto 124"; }
r3_has_a() { route_of r3 2001:db8:a::/64 | grep -q "proto ripng"; }
lab_wait 40 r1_has_c || lab_log "r1 never learnt 2001:db8:c::/64"
lab_wait 40 r3_has_a || lab_log "r3 never learnt 2001:db8:a::/64"
echo "  r1: $(route_of r1 2001:db8:c::/64)"
echo "  r2: $(route_of r2 2001:db8:a::/64) | $(route_of r2 2001:db8:c::/64)"
echo "  r3: $(route_of r3 2001:db8:a::/64)"
lab_check "v6edge installs 2001:db8:c::/64 (from FRR, through BIRD) as protocol 124 via BIRD's $R2_LL" \
    eval 'route_of r1 2001:db8:c::/64 | grep -q "via $R2_LL dev eth0 proto 124"'
lab_check "FRR learns v6edge's 2001:db8:a::/64 through BIRD" r3_has_a
# (ip prints no protocol for boot, the default of ip route add.)
both_b() { route_of r1 2001:db8:b::/64 | grep -v proto | grep -q "dev eth0 metric 1024" && route_of r1 2001:db8:b::/64 | grep -q "proto 124 metric 1100"; }
lab_check "the static route to BIRD's LAN stays beside the learned one (metric 1100): RIPng overwrites no one's route" lab_wait 15 both_b
route_of r1 2001:db8:b::/64 | sed 's/^/  | /'
lab_check "BIRD has both" eval 'route_of r2 2001:db8:a::/64 | grep -q "proto bird" && route_of r2 2001:db8:c::/64 | grep -q "proto bird"'
metric_at_r1() { v6edge_status_json r1 | lab_json '[r["metric"] for r in d["roles"]["ripng"]["routes"] if r["prefix"] == "2001:db8:c::/64"]'; }
echo "  v6edge's metric for 2001:db8:c::/64: $(metric_at_r1)"
lab_check "v6edge's table: 2001:db8:c::/64 with metric 3 (FRR 1, +1 at BIRD, +1 here)" test "$(metric_at_r1)" = 3
frr_vtysh frr "show ipv6 ripng" >"$LAB_DIR/frr-table.txt" 2>&1
# FRR prints the next hop, interface and metric on the line after the prefix.
METRIC3=$(awk '/2001:db8:a::\/64/ { getline; print $3; exit }' "$LAB_DIR/frr-table.txt")
echo "  FRR's metric for 2001:db8:a::/64: ${METRIC3:-?}"
lab_check "FRR's table: 2001:db8:a::/64 with metric 3" test "${METRIC3:-}" = 3
neighbour() { v6edge_status_json r1 | lab_json '[n["address"] for n in d["roles"]["ripng"]["neighbours"]]'; }
lab_check "v6edge's status lists BIRD as its neighbour" eval '[[ "$(neighbour)" == *"$R2_LL"* ]]'
v6edge_ctl r1 metrics >"$LAB_DIR/r1-metrics.txt" 2>&1
metric_value() { awk -v m="$1" '$1 == m { print $2 }' "$LAB_DIR/r1-metrics.txt"; }
lab_check "metrics: one neighbour, routes reachable, updates in and out" \
    eval '[ "$(metric_value v6edge_ripng_neighbours)" = 1 ] && [ "$(metric_value v6edge_ripng_routes)" -ge 3 ] && [ "$(metric_value v6edge_ripng_responses_received_total)" -ge 1 ] && [ "$(metric_value v6edge_ripng_responses_sent_total)" -ge 1 ]'
grep '^v6edge_ripng' "$LAB_DIR/r1-metrics.txt" | sed 's/^/  | /'
lab_check "r3 pings r1's LAN address across the line" lab_exec r3 ping -6 -c 2 -i 0.3 -W 2 -I 2001:db8:c::1 2001:db8:a::1

# The requesting router gets a /56 from r1; RIPng carries it to FRR.
cat >"$LAB_DIR/cpe.toml" <<TOML
[daemon]
state-dir = "$LAB_DIR/cpe.state"
control-socket = "$LAB_DIR/cpe.sock"
[uplink]
interface = "eth0"
[[lan]]
interface = "lan0"
TOML
# Its way back: the ISP side sends no RAs on cust0 here.
R1_CUST=$(ip -n "$(lab_ns r1)" -6 addr show dev cust0 scope link | awk '/inet6/ { sub("/.*", "", $2); print $2; exit }')
lab_exec cpe ip -6 route add default via "$R1_CUST" dev eth0
start_v6edge cpe cpe "$LAB_DIR/cpe.toml"
v6edge_wait_ready cpe 10 || lab_die "the requesting router did not start (log: $LAB_DIR/cpe.log)"
delegated() { v6edge_status_json cpe | lab_json "[x['prefix'] for x in d['delegations']]" | grep -q '2001:db8:100:'; }
lab_wait 20 delegated || lab_log "no delegation at the requesting router"
PD=$(v6edge_status_json cpe | lab_json "d['delegations'][0]['prefix']")
echo "  delegated: $PD"
r3_has_pd() { route_of r3 "$PD" | grep -q "proto ripng"; }
lab_check "the delegated $PD reaches FRR two hops away through RIPng (redistribute delegated)" lab_wait 20 r3_has_pd
lab_check "... through BIRD, which has it too" eval 'route_of r2 "$PD" | grep -q "proto bird"'
CPE_LAN=$(lab_exec cpe ip -6 -o addr show dev lan0 scope global | awk '{ print $4 }' | cut -d/ -f1 | head -1)
echo "  requesting router's LAN address: ${CPE_LAN:-none}"
lab_check "r3 pings the requesting router's LAN address ${CPE_LAN:-?}" \
    lab_wait 10 lab_exec r3 ping -6 -c 2 -i 0.3 -W 1 -I 2001:db8:c::1 "${CPE_LAN:-::1}"
lab_check "so does BIRD's router, two hops from the requesting router" \
    lab_wait 10 lab_exec r2 ping -6 -c 2 -i 0.3 -W 1 -I 2001:db8:b::1 "${CPE_LAN:-::1}"
v6edge_ctl cpe release >/dev/null 2>&1
T0=$(date +%s)
lab_wait 30 eval '! r3_has_pd'
lab_check "the Release withdraws $PD at FRR too ($(( $(date +%s) - T0 )) s)" eval '! r3_has_pd'
lab_check "... and at BIRD" eval '! route_of r2 "$PD" | grep -q "proto bird"'
lab_stop cpe

# RFC 2080 §2.4.2: a Response from a global source, and one with hop
# limit 64, are dropped and counted.
R1_LL=$(ip -n "$(lab_ns r1)" -6 addr show dev eth0 scope link | awk '/inet6/ { sub("/.*", "", $2); print $2; exit }')
lab_exec r2 ip -6 addr add 2001:db8:12::2/64 dev eth0 nodad
lab_exec r1 ip -6 addr add 2001:db8:12::1/64 dev eth0 nodad
sleep 0.5
response='import socket,sys
s=socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, int(sys.argv[3]))
s.bind((sys.argv[1], 521, 0, socket.if_nametoindex("eth0") if sys.argv[1].startswith("fe80") else 0))
rte = bytes(16) + bytes([0, 0, 64, 1])
rte = socket.inet_pton(socket.AF_INET6, "2001:db8:66::") + bytes([0, 0, 64, 1])
s.sendto(bytes([2, 1, 0, 0]) + rte, (sys.argv[2], 521, 0, socket.if_nametoindex("eth0") if sys.argv[2].startswith("fe80") else 0))'
drops() { v6edge_ctl r1 metrics 2>/dev/null | awk -v r="reason=\"$1\"" '/^v6edge_packets_dropped_total\{/ && index($0, "protocol=\"ripng\"") && index($0, r) { n = $2 } END { print n + 0 }'; }
lab_exec r2 "$LAB_PY" -c "$response" 2001:db8:12::2 2001:db8:12::1 255 || true
lab_exec r2 "$LAB_PY" -c "$response" "$R2_LL" "$R1_LL" 64 || true
lab_wait 5 eval '[ "$(drops not-link-local)" -ge 1 ] && [ "$(drops hop-limit)" -ge 1 ]'
lab_check "RFC 2080 §2.4.2: a Response from a global source is dropped (not-link-local)" test "$(drops not-link-local)" -ge 1
lab_check "... and one with hop limit 64 (hop-limit)" test "$(drops hop-limit)" -ge 1
lab_check "... and neither taught v6edge 2001:db8:66::/64" eval '! route_of r1 2001:db8:66::/64 | grep -q .'
# The rest of RFC 2080 §2.4.2 and §2.1, from BIRD's link-local address:
# version 2, source port 520, and route entries with host bits set, a
# multicast prefix and a prefix length of 129.
crafted='import socket,struct,sys
src, dst, version, sport = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
s=socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 255)
idx = socket.if_nametoindex("eth0")
s.bind((src, sport, 0, idx))
rtes = b""
for p in sys.argv[5:]:
    a, l = p.split("/")
    rtes += socket.inet_pton(socket.AF_INET6, a) + struct.pack("!HBB", 0, int(l), 1)
s.sendto(bytes([2, version, 0, 0]) + rtes, (dst, 521, 0, idx))'
ignored() { v6edge_status_json r1 | lab_json "d['roles']['ripng']['rtes_ignored'].get('$1', 0)"; }
lab_exec r2 "$LAB_PY" -c "$crafted" "$R2_LL" "$R1_LL" 2 521 2001:db8:67::/64 || true
lab_exec r2 "$LAB_PY" -c "$crafted" "$R2_LL" "$R1_LL" 1 520 2001:db8:67::/64 || true
lab_exec r2 "$LAB_PY" -c "$crafted" "$R2_LL" "$R1_LL" 1 521 2001:db8:68::1/48 ff05::/16 2001:db8:69::/129 || true
lab_wait 5 eval '[ "$(drops bad-version)" -ge 1 ] && [ "$(drops not-from-port-521)" -ge 1 ] && [ "$(ignored bad-prefix-length)" -ge 1 ]'
lab_check "... a version 2 Response is dropped (bad-version)" test "$(drops bad-version)" -ge 1
lab_check "... a Response from port 520 is dropped (not-from-port-521)" test "$(drops not-from-port-521)" -ge 1
lab_check "... route entries with host bits set, a multicast prefix or length 129 are ignored and counted" \
    eval '[ "$(ignored host-bits-set)" -ge 1 ] && [ "$(ignored not-unicast-prefix)" -ge 1 ] && [ "$(ignored bad-prefix-length)" -ge 1 ]'
lab_check "... and none of them taught v6edge a route" \
    eval '! route_of r1 2001:db8:67::/64 | grep -q . && ! route_of r1 2001:db8:68::/48 | grep -q .'

# FRR stops: the route times out at v6edge (metric 16), then leaves.
lab_stop frr-ripngd
T0=$(date +%s)
lab_wait 70 eval '! r1_has_c'
T1=$(date +%s)
lab_check "FRR gone: v6edge's kernel route to 2001:db8:c::/64 is withdrawn ($((T1 - T0)) s; BIRD times out at 30 s, v6edge follows at once)" eval '! r1_has_c'

# A clean stop removes v6edge's learned routes (BIRD's still advertise).
lab_exec r3 ip -6 route flush proto ripng 2>/dev/null || true
lab_stop r1
lab_check "v6edge stopped: no protocol 124 route is left" eval '[ -z "$(ip -n "$(lab_ns r1)" -6 route show proto 124)" ]'

stop_frr_ripng frr
lab_finish
