#!/bin/bash
# mip6-ha.sh - v6edge as a Mobile IPv6 home agent (RFC 6275) on a kernel
# without MIP6, against a scripted mobile node written independently of
# v6edge (tests/lab/tools/mip6-mn.py: Binding Updates built byte by byte,
# RFC 4285 HMAC-SHA1 authenticator, sent with a Home Address option).
#
#   [cn] eth0 ---- home0 [ha] core0 ---- eth0 [mn]
#   2001:db8:1::99      2001:db8:1::1 | 2001:db8:f::1    2001:db8:f::b (care-of)
#   home link 2001:db8:1::/64; the mobile node's home address 2001:db8:1::200
#   v6edge run --config examples/home-agent.toml (verbatim: SPI 1000, demo key)
#
# Checks (real outcomes only; mobility.md scenario and checklist IDs):
#  - a valid BU gets BA status 0 with a valid authenticator (HA-10, AU-1);
#    the kernel then has the proxy entry for the home address on home0 and
#    HoA/128 into the tunnel device with the home agent's protocol (121);
#  - the correspondent on the home link pings the home address: the home
#    agent answers ND for it and tunnels the echo to the care-of address,
#    the mobile node answers through the reverse tunnel (HA-13/HA-14);
#  - a wrong key gets 146, a timestamp a minute old 144, a stale sequence
#    135, an unknown MH type a Binding Error status 2, a bad Payload Proto
#    or Header Len an ICMPv6 Parameter Problem at the field, a bad checksum
#    nothing (counted): the binding stays as it was (HA-1, HA-5, AU-2);
#    the mobility metrics count it all;
#  - kill -9 and restart: the binding is back from the state directory and
#    the correspondent reaches the mobile node again with no new BU; a
#    stale proxy entry of ours (protocol 121) is removed at start;
#  - a clean stop removes the proxy entry, the route and the tunnel device;
#    the restart restores them from the state directory;
#  - deregistration (lifetime 0): BA 0, proxy entry and route gone (HA-12);
#  - the home address in use on the home link: proxy DAD gets 134 (HA-9);
#  - with an [[ra]] on home0, the home link's one RA carries the H flag
#    (RFC 6275 §7.1) from the home agent's contribution.
# About 15 s.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
LAB_TIMEOUT=${LAB_TIMEOUT:-90}     # watchdog (netns.sh)
. "$HERE/../lab/netns.sh"
. "$HERE/../lab/peers.sh"

HA=2001:db8:1::1
HOA=2001:db8:1::200
CN=2001:db8:1::99
COA=2001:db8:f::b
REPO_DIR=$(cd "$HERE/../.." && pwd)
CONFIG=$REPO_DIR/examples/home-agent.toml
KEY=$REPO_DIR/examples/mip6-demo.key
MN_TOOL=$HERE/../lab/tools/mip6-mn.py

lab_init mip6-ha
lab_require ping
lab_require rdisc6
lab_ns_create cn
lab_ns_create ha
lab_ns_create mn
lab_link cn eth0 ha home0
lab_link ha core0 mn eth0
lab_router ha
lab_exec cn ip -6 addr add "$CN/64" dev eth0 nodad
lab_exec ha ip -6 addr add "$HA/64" dev home0 nodad
lab_exec ha ip -6 addr add 2001:db8:f::1/64 dev core0 nodad
lab_exec mn ip -6 addr add "$COA/64" dev eth0 nodad
lab_exec mn ip -6 route add 2001:db8:1::/64 via 2001:db8:f::1 dev eth0
lab_wait_dad ha home0 || lab_die "no link-local on ha:home0"
lab_wait_dad mn eth0 || lab_die "no link-local on mn:eth0"

start_v6edge ha ha "$CONFIG"
v6edge_wait_ready ha 10 || lab_die "v6edge did not answer status (log: $LAB_DIR/ha.log)"
running() { [ "$(v6edge_status_json ha | lab_json 'd["roles"]["home-agent"]["running"]')" = True ]; }
lab_wait 10 running || lab_die "the home agent did not start (log: $LAB_DIR/ha.log)"

# bu SEQ LIFETIME [EXTRA...]: one BU from the mobile node; prints the answer.
bu() {
    local seq=$1 life=$2; shift 2
    lab_exec mn "$LAB_PY" "$MN_TOOL" bu --coa "$COA" --ha "$HA" --hoa "$HOA" \
        --spi 1000 --key-file "$KEY" --seq "$seq" --lifetime "$life" "$@"
}
field() { "$LAB_PY" -c 'import json,sys; d=json.loads(sys.stdin.read() or "{}"); print(d.get(sys.argv[1]))' "$1"; }
proxied() { ip -n "$(lab_ns ha)" -6 neigh show proxy dev home0 | grep -q "^$HOA "; }
routed() { ip -n "$(lab_ns ha)" -6 route show "$HOA" | grep -q "dev v6e-ha0 proto 121"; }
binding_seq() { v6edge_status_json ha | lab_json '[b["sequence"] for b in d["roles"]["home-agent"]["bindings"] if b["home_address"] == "'"$HOA"'"]'; }

# 1. Registration.
ANSWER=$(bu 1 400)
echo "BU 1: $ANSWER"
lab_check "a valid BU gets BA status 0 (HA-10)" test "$(echo "$ANSWER" | field status)" = 0
lab_check "... for 400 s" test "$(echo "$ANSWER" | field lifetime)" = 400
lab_check "... authenticated with the mobile node's key (AU-1)" test "$(echo "$ANSWER" | field authenticated)" = True
lab_check "proxy ND entry for $HOA on home0" proxied
lab_check "$HOA/128 into the tunnel device, proto 121 (home agent)" routed
lab_check "status: one binding, sequence 1" test "$(binding_seq)" = 1

# 2. The data plane: a correspondent on the home link pings the home address.
lab_daemon mn mn-echo "$LAB_PY" "$MN_TOOL" tunnel-echo --coa "$COA" --hoa "$HOA" --count 3 --timeout 20
sleep 0.3
lab_check "the correspondent's 3 pings to $HOA are answered through the tunnel" \
    lab_exec cn ping -6 -n -c 3 -i 0.3 -W 2 "$HOA"

# 3. Refusals leave the binding alone.
ANSWER=$(bu 2 400 --wrong-key)
lab_check "a wrong key gets 146 (AU-2)" test "$(echo "$ANSWER" | field status)" = 146
ANSWER=$(bu 3 400 --timestamp-offset -60)
lab_check "a timestamp a minute old gets 144 (AU-2)" test "$(echo "$ANSWER" | field status)" = 144
ANSWER=$(bu 1 400)
lab_check "a stale sequence number gets 135 (HA-5)" test "$(echo "$ANSWER" | field status)" = 135
ANSWER=$(lab_exec mn "$LAB_PY" "$MN_TOOL" mh --coa "$COA" --ha "$HA" --hoa "$HOA" --type 99)
lab_check "an unknown MH type gets a Binding Error, status 2 (HA-1)" \
    test "$(echo "$ANSWER" | field type)/$(echo "$ANSWER" | field status)" = be/2
mh() { lab_exec mn "$LAB_PY" "$MN_TOOL" mh --coa "$COA" --ha "$HA" --hoa "$HOA" "$@"; }
# The MH starts at 64: 40 (IPv6) + 24 (the Home Address option's header).
ANSWER=$(mh --type 5 --payload-proto 58 --header-len 1)
lab_check "a Payload Proto other than 59 gets Parameter Problem code 0 at 64 (HA-1, RFC 6275 §9.2)" \
    test "$(echo "$ANSWER" | field type)/$(echo "$ANSWER" | field code)/$(echo "$ANSWER" | field pointer)" = parameter-problem/0/64
ANSWER=$(mh --type 5 --header-len 0 --expect-icmp)
lab_check "a Header Len below the BU's minimum gets Parameter Problem at 65 (HA-1)" \
    test "$(echo "$ANSWER" | field type)/$(echo "$ANSWER" | field pointer)" = parameter-problem/65
ANSWER=$(bu 4 400 --bad-checksum --timeout 1)
lab_check "a bad checksum gets no answer (HA-1)" test "$(echo "$ANSWER" | field type)" = none
v6edge_ctl ha metrics >"$LAB_DIR/metrics.txt" 2>&1
lab_check "... and is counted" grep -q 'v6edge_packets_dropped_total{protocol="mobility",reason="bad-checksum"} [1-9]' "$LAB_DIR/metrics.txt"
lab_check "metrics: BAs by status (146 once)" grep -q '^v6edge_mobility_binding_acks_sent_total{status="146"} 1$' "$LAB_DIR/metrics.txt"
lab_check "metrics: BUs received" grep -q '^v6edge_mobility_messages_received_total{message_type="binding-update"} [4-9]' "$LAB_DIR/metrics.txt"
lab_check "metrics: authentication failures" grep -q '^v6edge_mobility_authentication_failures_total [2-9]' "$LAB_DIR/metrics.txt"
lab_check "metrics: one binding" grep -q '^v6edge_mobility_bindings 1$' "$LAB_DIR/metrics.txt"
lab_check "the binding is still the one of sequence 1" test "$(binding_seq)" = 1

# 4. kill -9: the binding comes back from the state directory.
lab_kill9 ha
ip -n "$(lab_ns ha)" -6 route del "$HOA" 2>/dev/null || true
# A proxy entry of the home agent's (protocol 121) that no binding backs,
# as a crash between its removal and the save could leave.
STRAY=2001:db8:1::333
ip -n "$(lab_ns ha)" -6 neigh add proxy "$STRAY" dev home0 protocol 121 \
    || lab_die "cannot add a proxy entry with a protocol (iproute2 too old?)"
start_v6edge ha ha "$CONFIG"
v6edge_wait_ready ha 10 || lab_die "v6edge did not restart"
lab_wait 10 routed
lab_check "after kill -9 and a restart, the binding is restored (sequence 1)" test "$(binding_seq)" = 1
lab_check "... and its route is back" routed
lab_check "... and its proxy entry" proxied
lab_check "a stale proxy entry of the home agent's is removed at start" \
    sh -c "! ip -n '$(lab_ns ha)' -6 neigh show proxy dev home0 | grep -q '^$STRAY '"
lab_daemon mn mn-echo2 "$LAB_PY" "$MN_TOOL" tunnel-echo --coa "$COA" --hoa "$HOA" --count 2 --timeout 20
sleep 0.3
lab_check "the correspondent reaches the mobile node again, with no new BU" \
    lab_exec cn ping -6 -n -c 2 -i 0.3 -W 2 "$HOA"

# 4b. A clean stop takes the binding out of the kernel (nothing would
#     serve it) and keeps it on disk; the restart puts it back.
lab_stop ha
lab_check "SIGTERM: the proxy entry, the route and v6e-ha0 are removed" \
    sh -c "! ip -n '$(lab_ns ha)' -6 neigh show proxy dev home0 | grep -q '^$HOA ' && ! ip -n '$(lab_ns ha)' link show v6e-ha0 2>/dev/null"
start_v6edge ha ha "$CONFIG"
v6edge_wait_ready ha 10 || lab_die "v6edge did not restart"
lab_check "restarted, the binding is back with its route and proxy entry" \
    lab_wait 10 eval 'routed && proxied && [ "$(binding_seq)" = 1 ]'

# 5. Deregistration.
ANSWER=$(bu 5 0)
lab_check "deregistration (lifetime 0) gets BA 0 (HA-12)" test "$(echo "$ANSWER" | field status)" = 0
lab_check "... the proxy entry is gone" lab_wait 3 eval '! proxied'
lab_check "... and the route" lab_wait 3 eval '! routed'
lab_check "status: no binding" test -z "$(binding_seq)"

# 6. Proxy DAD (HA-9, MT-6): the home address in use on the home link gets 134
#    and nothing installed (the home agent's NS from :: must be well formed
#    for the correspondent's kernel to defend the address).
lab_exec cn ip -6 addr add "$HOA/64" dev eth0 nodad
ANSWER=$(bu 6 400 --timeout 4)
lab_check "a home address in use on the home link gets 134 (HA-9 proxy DAD, MT-6)" \
    test "$(echo "$ANSWER" | field status)" = 134
lab_check "... and nothing is installed" sh -c "! ip -n '$(lab_ns ha)' -6 neigh show proxy dev home0 | grep -q '^$HOA '"
lab_exec cn ip -6 addr del "$HOA/64" dev eth0

# 7. The home link's RAs say a home agent is here (RFC 6275 §7.1, HA-16):
#    an [[ra]] on home0 and the home agent's contribution, one advertiser.
lab_stop ha
sed "s|^key-file = \"mip6-demo.key\"|key-file = \"$KEY\"|" "$CONFIG" >"$LAB_DIR/ha-ra.toml"
printf '\n[[ra]]\ninterface = "home0"\nprefixes = ["2001:db8:1::/64"]\n' >>"$LAB_DIR/ha-ra.toml"
start_v6edge ha ha "$LAB_DIR/ha-ra.toml"
v6edge_wait_ready ha 10 || lab_die "v6edge with [[ra]] did not start (log: $LAB_DIR/ha.log)"
lab_wait 10 running || lab_die "the home agent did not start again"
lab_exec cn rdisc6 -m -r 1 -w 4000 eth0 >"$LAB_DIR/rdisc6.out" 2>&1
sed 's/^/  | /' "$LAB_DIR/rdisc6.out"
lab_check "rdisc6 on the home link: Mobile home agent: Yes (H flag)" \
    grep -q "Mobile home agent *: *Yes" "$LAB_DIR/rdisc6.out"
lab_check "... one RA" test "$(grep -c 'Router lifetime' "$LAB_DIR/rdisc6.out")" = 1
# RFC 6275 §7.2: with the R flag the PIO's prefix field is the home agent's
# whole address (receivers use the first prefix-length bits).
lab_check "... its home prefix PIO carries the home agent's address (R flag)" \
    grep -q "^ Prefix *: $HA/64\$" "$LAB_DIR/rdisc6.out"

lab_finish
