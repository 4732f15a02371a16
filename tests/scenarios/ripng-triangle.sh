#!/bin/bash
# ripng-triangle.sh - v6edge's RIPng role (RFC 2080) in a triangle with
# BIRD 2 and FRR's ripngd (issue 10: the triangle, link failures, split
# horizon with poisoned reverse on the wire).
#
#   r1 v6edge --(eth0/eth0)-- r2 BIRD --(eth1/eth0)-- r3 FRR --(eth1/eth1)-- r1
#   each with lan0: 2001:db8:a::1/64 (r1), :b:: (r2), :c:: (r3), originated
#   (connected) with metric 1.
# Timers shortened on every router (updates 5 s, timeout 30 s, garbage
# collection 20 s; tests/lab/routing.sh).
#
# Checks (real outcomes only):
#  - every router routes the other two LANs directly over the link between
#    them (v6edge with metric 2 in its table, protocol 124 in the kernel);
#  - captured on r1's link to BIRD and decoded by Scapy: v6edge's Responses
#    carry its LAN with metric 1, FRR's LAN with metric 2 (learnt on the
#    other link), and BIRD's LAN with metric 16 (learnt on this link:
#    split horizon with poisoned reverse); every Response has hop limit
#    255 (RFC 2080 §2.4.2);
#  - the v6edge-FRR link fails: v6edge routes FRR's LAN through BIRD and
#    FRR routes v6edge's through BIRD, with metric 3 at v6edge; the link
#    comes back: direct again;
#  - the v6edge-BIRD link fails: the same through FRR; back: direct;
#  - BIRD stops: its LAN leaves v6edge's and FRR's kernel tables within
#    the timers, and v6edge's and FRR's LANs stay direct.
# About 90 s.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
LAB_TIMEOUT=${LAB_TIMEOUT:-240}
. "$HERE/../lab/netns.sh"
. "$HERE/../lab/peers.sh"
. "$HERE/../lab/routing.sh"

lab_init ripng-triangle
lab_require tcpdump
for ns in r1 r2 r3; do lab_ns_create $ns; lab_router $ns; done
lab_link r1 eth0 r2 eth0
lab_link r2 eth1 r3 eth0
lab_link r3 eth1 r1 eth1
for spec in r1:a r2:b r3:c; do
    ns=${spec%%:*}; net=${spec#*:}
    lab_exec "$ns" ip link add lan0 type veth peer name lanpeer
    lab_exec "$ns" ip link set lanpeer up
    lab_exec "$ns" ip link set lan0 up
    lab_exec "$ns" ip -6 addr add "2001:db8:$net::1/64" dev lan0 nodad
done
for ns in r1 r2 r3; do lab_wait_dad "$ns" eth0 eth1 || lab_die "no link-local on $ns"; done

ripng_toml "$LAB_DIR/r1.toml" eth0 eth1 lan0
cat >>"$LAB_DIR/r1.toml" <<TOML

[[ripng.interface]]
name = "lan0"
passive = true
TOML
start_v6edge r1 r1 "$LAB_DIR/r1.toml"
v6edge_wait_ready r1 10 || lab_die "v6edge did not answer (log: $LAB_DIR/r1.log)"
start_bird_ripng r2 bird
FRR_NS=r3
start_frr_ripng r3 frr eth0 eth1 lan0

A=2001:db8:a::/64
B=2001:db8:b::/64
C=2001:db8:c::/64
ll() { ip -n "$(lab_ns "$1")" -6 addr show dev "$2" scope link | awk '/inet6/ { sub("/.*", "", $2); print $2; exit }'; }
R1_LL0=$(ll r1 eth0)
routes_via() { ip -n "$(lab_ns "$1")" -6 route show "$2" | grep -q "dev $3 proto $4"; }
settled() {
    routes_via r1 "$B" eth0 124 && routes_via r1 "$C" eth1 124 &&
        routes_via r2 "$A" eth0 bird && routes_via r2 "$C" eth1 bird &&
        routes_via r3 "$A" eth1 ripng && routes_via r3 "$B" eth0 ripng
}
lab_check "the triangle settles: every router routes the other two LANs over the direct link" lab_wait 40 settled
for ns in r1 r2 r3; do echo "  $ns: $(ip -n "$(lab_ns $ns)" -6 route show | grep '^2001:db8:[abc]::/64' | tr '\n' ';')"; done
metric_at_r1() { v6edge_status_json r1 | lab_json "[r['metric'] for r in d['roles']['ripng']['routes'] if r['prefix'] == '$1']"; }
lab_check "v6edge's table: BIRD's and FRR's LANs with metric 2" \
    eval '[ "$(metric_at_r1 $B)" = 2 ] && [ "$(metric_at_r1 $C)" = 2 ]'

# What v6edge says to BIRD, on the wire (two or three regular updates).
lab_exec r1 timeout 14 tcpdump -ni eth0 -w "$LAB_DIR/r1-eth0.pcap" udp port 521 >/dev/null 2>&1 || true
"$LAB_PY" "$HERE/../lab/tools/ripng-capture.py" "$LAB_DIR/r1-eth0.pcap" "$R1_LL0" >"$LAB_DIR/r1-eth0.json"
echo "  v6edge's Responses on eth0: $(wc -l <"$LAB_DIR/r1-eth0.json"), the last: $(tail -1 "$LAB_DIR/r1-eth0.json")"
said() { "$LAB_PY" -c '
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
full = [l for l in lines if sys.argv[2] in l["routes"]]
print(all(l["hlim"] == 255 for l in lines) and len(full) >= 2 and all(l["routes"][sys.argv[2]] == int(sys.argv[3]) for l in full))
' "$LAB_DIR/r1-eth0.json" "$1" "$2"; }
lab_check "on the wire to BIRD, v6edge's own LAN with metric 1 (hop limit 255)" test "$(said $A 1)" = True
lab_check "... FRR's LAN, learnt on the other link, with metric 2" test "$(said $C 2)" = True
lab_check "... BIRD's LAN, learnt on this link, with metric 16: split horizon with poisoned reverse" test "$(said $B 16)" = True

# Link failures (both veth ends down, as a cable pulled), then back.
cut() { lab_exec "$1" ip link set "$2" down; lab_exec "$3" ip link set "$4" down; }
mend() { lab_exec "$1" ip link set "$2" up; lab_exec "$3" ip link set "$4" up; }
t_since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
T0=$(date +%s.%N)
cut r1 eth1 r3 eth1
around_r1_r3() { routes_via r1 "$C" eth0 124 && routes_via r3 "$A" eth0 ripng; }
lab_check "v6edge-FRR link down: both route the other's LAN through BIRD" lab_wait 40 around_r1_r3
echo "  converged in $(t_since "$T0") s"
lab_check "... v6edge's metric for FRR's LAN is 3" test "$(metric_at_r1 $C)" = 3
lab_check "... and v6edge's LAN answers from FRR's" lab_exec r3 ping -6 -n -c 2 -i 0.3 -W 2 -I 2001:db8:c::1 2001:db8:a::1
mend r1 eth1 r3 eth1
lab_check "the link is back: direct again" lab_wait 40 settled

T0=$(date +%s.%N)
cut r1 eth0 r2 eth0
around_r1_r2() { routes_via r1 "$B" eth1 124 && routes_via r2 "$A" eth1 bird; }
lab_check "v6edge-BIRD link down: both route the other's LAN through FRR" lab_wait 40 around_r1_r2
echo "  converged in $(t_since "$T0") s"
lab_check "... and v6edge's LAN answers from BIRD's" lab_exec r2 ping -6 -n -c 2 -i 0.3 -W 2 -I 2001:db8:b::1 2001:db8:a::1
mend r1 eth0 r2 eth0
lab_check "the link is back: direct again" lab_wait 40 settled

# BIRD stops: its LAN goes, within the timeout and garbage collection.
lab_stop bird
T0=$(date +%s.%N)
b_gone() { ! ip -n "$(lab_ns r1)" -6 route show "$B" | grep -q . && ! ip -n "$(lab_ns r3)" -6 route show "$B" | grep -q .; }
lab_check "BIRD stopped: its LAN leaves v6edge's and FRR's tables within the timers" lab_wait $((RIPNG_TIMEOUT + RIPNG_GC + 15)) b_gone
echo "  gone after $(t_since "$T0") s"
lab_check "... and v6edge's and FRR's LANs stay direct" eval 'routes_via r1 "$C" eth1 124 && routes_via r3 "$A" eth1 ripng'

stop_frr_ripng frr
lab_stop r1
lab_finish
