#!/bin/bash
# ripng-kame.sh - the KAME book's route6d scenarios with v6edge between
# real peers (issue 10): BIRD 2 upstream, FRR's ripngd below.
#
#   [r2] BIRD eth0 ---- eth0 [r1] v6edge eth1 ---- eth0 [r3] FRR
#                                        eth2 ---- eth1 (a second link)
#   originates ::/0 (static),  lan0 2001:db8:0:a::1/64   lan0 2001:db8:0:c1::1/64
#   2001:db8:1::/64 (lan0),    lan1 2001:db8:99::1/64    lan1 2001:db8:0:c2::1/64
#   2001:db8:2::/64 (lan1)     (connected, tag 7)         (connected)
# Timers: updates 5 s, timeout 30 s, garbage collection 20 s everywhere.
#
# Checks (real outcomes only):
#  - leaf network: v6edge learns the default route and BIRD's two /64s
#    (metric 2, protocol 124 via BIRD) and advertises its LAN upstream with
#    metric 1 and its tag: BIRD holds it with metric 2 and tag 7;
#  - simple loop: v6edge and FRR share two links; the one in use breaks
#    and both converge to the other with the same metric (no counting);
#  - redistribute static: a route added with `ip route` reaches BIRD with
#    metric 2 and leaves it when deleted;
#  - filtering, after a reload (route6d -L, -O, -T): toward BIRD accept
#    only ::/0 and advertise only inside 2001:db8::/48; toward FRR only the
#    default (default-only): BIRD's /64s leave v6edge's kernel (counted as
#    filtered), the default stays; BIRD keeps v6edge's LAN and loses
#    2001:db8:99::/64; FRR has the default through v6edge and no LAN
#    prefix of v6edge's;
#  - hierarchical aggregation (route6d -A): FRR's two /64s go upstream as
#    2001:db8:0:c0::/60 only, with a discard (unreachable) route at v6edge;
#    a third /64 at FRR changes nothing BIRD holds;
#  - a specific request (RFC 2080 §2.4.1) from BIRD's link is answered
#    with v6edge's metric for a known prefix and 16 for an unknown one;
#  - a silent neighbour: FRR frozen, its routes go to metric 16 at v6edge
#    after the 30 s timeout (the aggregate withdrawn upstream within a
#    triggered update's 1-5 s), then deleted after garbage collection.
# About 110 s.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
LAB_TIMEOUT=${LAB_TIMEOUT:-300}
. "$HERE/../lab/netns.sh"
. "$HERE/../lab/peers.sh"
. "$HERE/../lab/routing.sh"

lab_init ripng-kame
for ns in r1 r2 r3; do lab_ns_create $ns; lab_router $ns; done
lab_link r2 eth0 r1 eth0
lab_link r1 eth1 r3 eth0
# A second link between v6edge and FRR: the simple loop.
lab_link r1 eth2 r3 eth1
lan() { # NS IF ADDRESS/LEN
    lab_exec "$1" ip link add "$2" type veth peer name "$2p"
    lab_exec "$1" ip link set "$2p" up
    lab_exec "$1" ip link set "$2" up
    lab_exec "$1" ip -6 addr add "$3" dev "$2" nodad
}
lan r2 lan0 2001:db8:1::1/64
lan r2 lan1 2001:db8:2::1/64
lan r1 lan0 2001:db8:0:a::1/64
lan r1 lan1 2001:db8:99::1/64
lan r3 lan0 2001:db8:0:c1::1/64
lan r3 lan1 2001:db8:0:c2::1/64
for ns in r1 r2 r3; do lab_wait_dad "$ns" eth0 || lab_die "no link-local on $ns"; done
lab_wait_dad r1 eth1 eth2 || lab_die "no link-local on r1 eth1/eth2"
lab_wait_dad r3 eth1 || lab_die "no link-local on r3 eth1"

ripng_toml "$LAB_DIR/r1.toml" eth0 eth1 eth2 lan0 lan1
sed -i 's/^redistribute = .*/redistribute = ["connected", "static"]\ntag = 7/' "$LAB_DIR/r1.toml"
cat >>"$LAB_DIR/r1.toml" <<'TOML'

[[ripng.interface]]
name = "lan0"
passive = true

[[ripng.interface]]
name = "lan1"
passive = true
TOML
cp "$LAB_DIR/r1.toml" "$LAB_DIR/r1-leaf.toml"
start_v6edge r1 r1 "$LAB_DIR/r1.toml"
v6edge_wait_ready r1 10 || lab_die "v6edge did not answer (log: $LAB_DIR/r1.log)"
BIRD_EXTRA='protocol static { ipv6; route ::/0 via "lan0"; }'
start_bird_ripng r2 bird
FRR_NS=r3
start_frr_ripng r3 frr eth0 eth1 lan0 lan1

route_of() { ip -n "$(lab_ns "$1")" -6 route show "$2"; }
R2_LL=$(ip -n "$(lab_ns r2)" -6 addr show dev eth0 scope link | awk '/inet6/ { sub("/.*", "", $2); print $2; exit }')
R1_LL0=$(ip -n "$(lab_ns r1)" -6 addr show dev eth0 scope link | awk '/inet6/ { sub("/.*", "", $2); print $2; exit }')
metric_at_r1() { v6edge_status_json r1 | lab_json "[r['metric'] for r in d['roles']['ripng']['routes'] if r['prefix'] == '$1']"; }
birdc_route() { lab_exec r2 birdc -s "$LAB_DIR/bird.ctl" show route "$1" all 2>/dev/null; }

# 1. Leaf network.
leaf_learnt() {
    for p in ::/0 2001:db8:1::/64 2001:db8:2::/64; do
        route_of r1 "$p" | grep -q "via $R2_LL dev eth0 proto 124" || return 1
    done
}
lab_check "leaf: v6edge learns the default route and BIRD's two /64s (protocol 124 via BIRD)" lab_wait 30 leaf_learnt
lab_check "leaf: ... each with metric 2" \
    eval '[ "$(metric_at_r1 ::/0)/$(metric_at_r1 2001:db8:1::/64)/$(metric_at_r1 2001:db8:2::/64)" = 2/2/2 ]'
bird_has() { birdc_route "$1" | grep -q "RIP.metric: $2"; }
lab_check "leaf: BIRD holds v6edge's LAN with metric 2 (advertised with 1)" lab_wait 15 bird_has 2001:db8:0:a::/64 2
birdc_route 2001:db8:0:a::/64 | sed 's/^/  bird | /' | head -8
lab_check "leaf: ... and its tag, 7" eval 'birdc_route 2001:db8:0:a::/64 | grep -Eq "RIP.tag: (0x)?0*7$"'
# redistribute static: a route the administrator adds is announced, and
# withdrawn when it goes.
R3_LL=$(ip -n "$(lab_ns r3)" -6 addr show dev eth0 scope link | awk '/inet6/ { sub("/.*", "", $2); print $2; exit }')
lab_exec r1 ip -6 route add 2001:db8:0:50::/64 via "$R3_LL" dev eth1
lab_check "static: a route added with ip route reaches BIRD with metric 2" lab_wait 15 bird_has 2001:db8:0:50::/64 2
lab_exec r1 ip -6 route del 2001:db8:0:50::/64
lab_check "static: ... and leaves it once deleted" lab_wait 15 eval '! birdc_route 2001:db8:0:50::/64 | grep -q "RIP.metric: [0-9]$"'

# 1b. The simple loop: v6edge and FRR share two links. The link each uses
# to reach the other's LAN breaks: both take the other link, and no
# metric climbs (a loop would count up).
via_dev() { route_of "$1" "$2" | grep "proto $3" | grep -o "dev [a-z0-9]*" | head -1 | cut -d' ' -f2; }
both_links() { [ -n "$(via_dev r1 2001:db8:0:c1::/64 124)" ] && [ -n "$(via_dev r3 2001:db8:0:a::/64 ripng)" ]; }
lab_wait 30 both_links || lab_log "v6edge and FRR do not route each other's LANs yet"
R1_DEV=$(via_dev r1 2001:db8:0:c1::/64 124)
R3_DEV=$(via_dev r3 2001:db8:0:a::/64 ripng)
echo "  v6edge reaches FRR's LAN on $R1_DEV, FRR reaches v6edge's on $R3_DEV"
# Cut the link v6edge uses (both ends down).
if [ "$R1_DEV" = eth1 ]; then CUT=(r1 eth1 r3 eth0); OTHER_R1=eth2; OTHER_R3=eth1; else CUT=(r1 eth2 r3 eth1); OTHER_R1=eth1; OTHER_R3=eth0; fi
lab_exec "${CUT[0]}" ip link set "${CUT[1]}" down
lab_exec "${CUT[2]}" ip link set "${CUT[3]}" down
other_link() { [ "$(via_dev r1 2001:db8:0:c1::/64 124)" = "$OTHER_R1" ] && [ "$(via_dev r3 2001:db8:0:a::/64 ripng)" = "$OTHER_R3" ]; }
lab_check "simple loop: the link in use breaks; v6edge and FRR route each other's LANs over the other link" lab_wait 30 other_link
lab_check "... with the same metric as before (2 at v6edge): nothing counted up" test "$(metric_at_r1 2001:db8:0:c1::/64)" = 2
lab_exec "${CUT[0]}" ip link set "${CUT[1]}" up
lab_exec "${CUT[2]}" ip link set "${CUT[3]}" up
lab_wait_dad r1 "${CUT[1]}" || true

# 2. Filtering and aggregation, by reload.
cat >>"$LAB_DIR/r1.toml" <<'TOML'

[[ripng.interface]]
name = "eth0"
accept = ["::/0"]
advertise = ["2001:db8::/48"]

[[ripng.interface]]
name = "eth1"
default-only = true

[[ripng.interface]]
name = "eth2"
default-only = true
TOML
sed -i 's/^redistribute = .*/&\naggregates = ["2001:db8:0:c0::\/60"]/' "$LAB_DIR/r1.toml"
v6edge_ctl r1 reload >"$LAB_DIR/reload.log" 2>&1 || { cat "$LAB_DIR/reload.log"; lab_log "reload failed"; }
filtered_in() { ! route_of r1 2001:db8:1::/64 | grep -q . && ! route_of r1 2001:db8:2::/64 | grep -q . && route_of r1 ::/0 | grep -q "proto 124"; }
lab_check "filter in: only the default route is accepted from BIRD; its /64s leave v6edge's kernel" lab_wait 30 filtered_in
ignored() { v6edge_status_json r1 | lab_json "d['roles']['ripng']['rtes_ignored'].get('$1', 0)"; }
lab_check "... the others counted as filtered" test "$(ignored filtered)" -ge 2
bird_lacks() { ! birdc_route "$1" | grep -q "RIP.metric"; }
lab_check "filter out: BIRD keeps v6edge's LAN (inside 2001:db8::/48) and loses 2001:db8:99::/64" \
    lab_wait $((RIPNG_TIMEOUT + 15)) eval 'bird_has 2001:db8:0:a::/64 2 && bird_lacks 2001:db8:99::/64'
lab_check "aggregation: BIRD holds FRR's networks as 2001:db8:0:c0::/60 (metric 3) and none of the /64s" \
    lab_wait $((RIPNG_TIMEOUT + 15)) eval 'bird_has 2001:db8:0:c0::/60 3 && bird_lacks 2001:db8:0:c1::/64 && bird_lacks 2001:db8:0:c2::/64'
lab_check "... v6edge has a discard route for the aggregate" \
    eval 'route_of r1 2001:db8:0:c0::/60 | grep -q "^unreachable"'
frr_table() { frr_vtysh frr "show ipv6 ripng" 2>/dev/null; }
frr_default_only() {
    local t; t=$(frr_table)
    echo "$t" | grep -q "^R(n) *::/0" && ! echo "$t" | grep -q "2001:db8:0:a::/64" && ! echo "$t" | grep -q "2001:db8:99::/64"
}
lab_check "default-only: FRR hears only the default route from v6edge" lab_wait $((RIPNG_TIMEOUT + 15)) frr_default_only
frr_table | sed 's/^/  frr | /' | grep -E "::/0|2001" | head -8
lan r3 lan2 2001:db8:0:c3::1/64
BEFORE=$(lab_exec r2 birdc -s "$LAB_DIR/bird.ctl" show route 2>/dev/null | grep -c "2001:db8:0:c")
sleep $((RIPNG_UPDATE * 3))
lab_check "aggregation: a third /64 below reaches v6edge, and changes nothing BIRD holds" \
    eval '[ "$(metric_at_r1 2001:db8:0:c3::/64)" = 2 ] && [ "$(lab_exec r2 birdc -s "$LAB_DIR/bird.ctl" show route 2>/dev/null | grep -c "2001:db8:0:c")" = "$BEFORE" ] && bird_lacks 2001:db8:0:c3::/64'

# 3. A specific request from BIRD's link (any port but 521): the reply
# comes to that port with v6edge's metric for a known route and 16 for an
# unknown one (RFC 2080 §2.4.1).
ask='import socket,struct,sys
s=socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
idx=socket.if_nametoindex("eth0")
s.bind((sys.argv[1], 5210, 0, idx))
s.settimeout(3)
rtes=b"".join(socket.inet_pton(socket.AF_INET6, p.split("/")[0]) + struct.pack("!HBB", 0, int(p.split("/")[1]), 0) for p in sys.argv[3:])
s.sendto(bytes([1, 1, 0, 0]) + rtes, (sys.argv[2], 521, 0, idx))
data, _ = s.recvfrom(2048)
out=[]
for i in range(4, len(data), 20):
    out.append("%s/%d=%d" % (socket.inet_ntop(socket.AF_INET6, data[i:i+16]), data[i+18], data[i+19]))
print(data[0], " ".join(out))'
ANSWER=$(lab_exec r2 "$LAB_PY" -c "$ask" "$R2_LL" "$R1_LL0" 2001:db8:0:a::/64 2001:db8:77::/64 2>&1)
echo "  answer: $ANSWER"
lab_check "a specific request is answered: the LAN with metric 1, an unknown prefix with 16" \
    test "$ANSWER" = "2 2001:db8:0:a::/64=1 2001:db8:77::/64=16"

# 4. A silent neighbour: FRR frozen.
kill -STOP "$(cat "$LAB_DIR/frr-ripngd.pid")"
T0=$(date +%s)
state_at_r1() { v6edge_status_json r1 | lab_json "[r['metric'] for r in d['roles']['ripng']['routes'] if r['prefix'] == '$1']"; }
lab_check "silent neighbour: FRR's routes go to metric 16 at v6edge within the timeout" \
    lab_wait $((RIPNG_TIMEOUT + RIPNG_UPDATE + 5)) eval '[ "$(state_at_r1 2001:db8:0:c1::/64)" = 16 ]'
T1=$(date +%s)
echo "  metric 16 after $((T1 - T0)) s (timeout $RIPNG_TIMEOUT s after the last update heard)"
lab_check "... the aggregate is withdrawn upstream within a triggered update's 1-5 s (BIRD loses it)" \
    lab_wait 7 bird_lacks 2001:db8:0:c0::/60
lab_check "... and FRR's routes are deleted after garbage collection" \
    lab_wait $((RIPNG_GC + 10)) eval '[ -z "$(state_at_r1 2001:db8:0:c1::/64)" ] && ! route_of r1 2001:db8:0:c1::/64 | grep -q .'
echo "  deleted after $(( $(date +%s) - T1 )) s more (garbage collection $RIPNG_GC s)"
kill -CONT "$(cat "$LAB_DIR/frr-ripngd.pid")"

stop_frr_ripng frr
lab_stop r1
lab_finish
