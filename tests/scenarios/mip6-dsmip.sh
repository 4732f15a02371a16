#!/bin/bash
# mip6-dsmip.sh - Dual-Stack MIPv6 (RFC 5555) at v6edge's home agent: a
# mobile node on an IPv4-only link behind a masquerading router registers
# in UDP and is reached at its home address and its IPv4 home address.
#
#   [hh] eth0 ---- home0 [ha] core0 ---- eth0 [ar1] eth1 ---- eth0 [mn]
#   2001:db8:1::50   2001:db8:1::1   169.254.255.1  169.254.255.9  169.254.2.1   169.254.2.2
#   169.254.1.50     169.254.1.1     (2001:db8:ff::1)  masquerades 169.254.2.0/24
#
# v6edge runs examples/home-agent.toml verbatim (ipv4-address 169.254.255.1,
# ipv4-home-pool 169.254.1.0/24 on home0). The mobile node is
# tests/lab/tools/dsmip-mn.py: Binding Updates laid out octet by octet with
# the IPv4 Care-of Address option and RFC 4285 authentication, the BA
# decoded by Scapy; it answers echo requests reaching it in UDP.
#
# Checks (issue 13 done-when, mobility.md MT-18..MT-20, DS-1..DS-7):
#  - MT-19: through the NAT the BA comes back in UDP to the NAT's address
#    and port, status 0, with NAT Detection (refresh 110 s) and an IPv4
#    Address Acknowledgement 0 for 169.254.1.2 (169.254.1.1 is the home
#    agent's own); status shows the binding in UDP behind a NAT;
#  - the /32 into the tunnel and the proxy ARP entry on home0 exist;
#  - a correspondent on the home link pings the home address (IPv6) and
#    the IPv4 home address (ARP answered by the home agent): both answered
#    by the mobile node through the NAT, in UDP, both ways;
#  - MT-20: a new socket (the NAT maps a new port) re-registers, the home
#    agent follows the new mapping, and pings get through again;
#  - DS-6: a TLV-format datagram is counted and dropped;
#  - a deregistration removes the route, the proxy entry and the binding.
# No IPv6 on the mobile node's link. About 25 s.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
LAB_TIMEOUT=${LAB_TIMEOUT:-150}    # watchdog (netns.sh)
. "$HERE/../lab/netns.sh"
. "$HERE/../lab/peers.sh"

HA=2001:db8:1::1
HOA=2001:db8:1::200
HA4=169.254.255.1
MN4=169.254.2.2
NAT4=169.254.255.9
REPO_DIR=$(cd "$HERE/../.." && pwd)
CONFIG=$REPO_DIR/examples/home-agent.toml
KEY=$REPO_DIR/examples/mip6-demo.key
TOOL=$HERE/../lab/tools/dsmip-mn.py

lab_init mip6-dsmip
"$LAB_PY" -c 'import scapy.layers.inet6' 2>/dev/null || lab_die "$LAB_PY cannot import scapy (python3-scapy)"
command -v nft >/dev/null || lab_die "nft missing (nftables)"
for ns in hh ha ar1 mn; do lab_ns_create $ns; done
lab_link hh eth0 ha home0
lab_link ha core0 ar1 eth0
lab_link ar1 eth1 mn eth0
lab_router ha
lab_router ar1
lab_exec ar1 sysctl -qw net.ipv4.ip_forward=1
lab_exec hh ip -6 addr add 2001:db8:1::50/64 dev eth0 nodad
lab_exec hh ip addr add 169.254.1.50/24 dev eth0
lab_exec ha ip -6 addr add "$HA/64" dev home0 nodad
lab_exec ha ip addr add 169.254.1.1/24 dev home0
lab_exec ha ip addr add "$HA4/24" dev core0
lab_exec ha ip -6 addr add 2001:db8:ff::1/64 dev core0 nodad
lab_exec ha ip route add 169.254.2.0/24 via "$NAT4"
lab_exec ar1 ip addr add "$NAT4/24" dev eth0
lab_exec ar1 ip addr add 169.254.2.1/24 dev eth1
lab_exec mn ip addr add "$MN4/24" dev eth0
lab_exec mn ip route add default via 169.254.2.1
# The mobile node's link is IPv4 only.
lab_exec mn sysctl -qw net.ipv6.conf.eth0.disable_ipv6=1
lab_exec ar1 nft -f - <<'NFT'
table ip nat {
    chain post {
        type nat hook postrouting priority 100;
        oifname "eth0" ip saddr 169.254.2.0/24 masquerade
    }
}
NFT
lab_wait_dad ha home0 || lab_die "no link-local on ha:home0"
lab_wait_dad hh eth0 || lab_die "no link-local on hh:eth0"

start_v6edge ha ha "$CONFIG"
v6edge_wait_ready ha 10 || lab_die "v6edge did not answer status (log: $LAB_DIR/ha.log)"
running() { [ "$(v6edge_status_json ha | lab_json 'd["roles"]["home-agent"]["running"]')" = True ]; }
lab_wait 10 running || lab_die "the home agent did not start (log: $LAB_DIR/ha.log)"

# mn SEQ [ARGS...]: the DSMIPv6 mobile node stand-in; prints its JSON lines.
mn() {
    local seq=$1; shift
    lab_exec mn "$LAB_PY" "$TOOL" --ha-v4 "$HA4" --ha "$HA" --hoa "$HOA" --coa-v4 "$MN4" \
        --spi 1000 --key-file "$KEY" --seq "$seq" "$@"
}
get() { "$LAB_PY" -c 'import json,sys
d=json.loads(sys.stdin.readline() or "{}")
for k in sys.argv[1].split("."):
    d = d.get(k) if isinstance(d, dict) else None
print(d)' "$1"; }
binding() { v6edge_status_json ha | lab_json '" ".join("%s %s %s" % (b.get("udp"), b.get("nat"), b.get("ipv4_home_address")) for b in d["roles"]["home-agent"]["bindings"] if b["home_address"] == "'"$HOA"'")'; }
routed4() { ip -n "$(lab_ns ha)" route show 169.254.1.2/32 | grep -q "dev v6e-ha0"; }
proxied4() { ip -n "$(lab_ns ha)" neigh show proxy dev home0 | grep -q "^169.254.1.2 "; }
# drops REASON: the home agent's tunnel drop counter of that reason.
drops() {
    v6edge_ctl ha metrics 2>/dev/null |
        awk -v r="reason=\"$1\"" '/^v6edge_packets_dropped_total\{/ && index($0, "protocol=\"tunnel\"") && index($0, r) { n = $2 } END { print n + 0 }'
}

# 1. Register through the NAT and serve for a while; ping meanwhile.
mn 1 --ipv4-home --serve 12 >"$LAB_DIR/mn1.out" 2>"$LAB_DIR/mn1.err" &
MN_PID=$!
lab_wait 8 eval '[ -s "$LAB_DIR/mn1.out" ]' || lab_die "no answer from the mobile node tool ($(cat "$LAB_DIR/mn1.err"))"
REG=$(head -1 "$LAB_DIR/mn1.out")
echo "  registration: $REG"
lab_check "MT-19: the BA comes back in UDP, status 0, from the home agent to the home address" \
    test "$(echo "$REG" | get type)/$(echo "$REG" | get status)/$(echo "$REG" | get from)/$(echo "$REG" | get src)/$(echo "$REG" | get dst)" = "ba/0/$HA4:4191/$HA/$HOA"
lab_check "DS-3: it carries NAT Detection, refresh 110 s, F echoed" \
    test "$(echo "$REG" | get nat_detection.refresh)/$(echo "$REG" | get nat_detection.force_udp)" = 110/True
lab_check "DS-7: IPv4 Address Acknowledgement 0 for 169.254.1.2/24 (169.254.1.1 is the home agent's)" \
    test "$(echo "$REG" | get ipv4_ack.status)/$(echo "$REG" | get ipv4_ack.address)/$(echo "$REG" | get ipv4_ack.prefix_len)" = 0/169.254.1.2/24
B=$(binding)
echo "  binding: $B"
lab_check "status: the binding is in UDP from the NAT ($NAT4), behind a NAT, IPv4 home address 169.254.1.2" \
    eval '[[ "$B" == "$NAT4:"*" True 169.254.1.2" ]]'
lab_check "DS-7: 169.254.1.2/32 is routed into the tunnel and proxied (ARP) on home0" eval 'routed4 && proxied4'
lab_check "CN -> home address (IPv6) through the NAT in UDP and back" \
    lab_exec hh ping -6 -c 3 -i 0.3 -W 2 "$HOA"
lab_check "CN -> IPv4 home address 169.254.1.2 (proxy ARP) through the NAT and back" \
    lab_exec hh ping -4 -c 3 -i 0.3 -W 2 169.254.1.2
wait "$MN_PID"
COUNTS=$(sed -n 2p "$LAB_DIR/mn1.out")
echo "  mobile node served: $COUNTS"
lab_check "... the mobile node answered both from inside UDP" \
    eval '[ "$(echo "$COUNTS" | get echo6)" -ge 3 ] && [ "$(echo "$COUNTS" | get echo4)" -ge 3 ]'

# 2. MT-20: a new socket, so a new NAT mapping; the home agent follows.
PORT1=$(echo "$B" | sed 's/^[^:]*:\([0-9]*\) .*/\1/')
mn 2 --ipv4-home --serve 8 >"$LAB_DIR/mn2.out" 2>"$LAB_DIR/mn2.err" &
MN_PID=$!
lab_wait 8 eval '[ -s "$LAB_DIR/mn2.out" ]' || lab_die "no second registration ($(cat "$LAB_DIR/mn2.err"))"
REG=$(head -1 "$LAB_DIR/mn2.out")
B=$(binding)
echo "  re-registration: $REG; binding: $B"
lab_check "MT-20: a rebinding NAT (new port) is followed: BA 0, the binding moved off port $PORT1, same IPv4 home address" \
    eval '[ "$(echo "$REG" | get status)" = 0 ] && [[ "$B" == "$NAT4:"*" True 169.254.1.2" ]] && [[ "$B" != "$NAT4:$PORT1 "* ]]'
lab_check "... and the home address is reached at the new mapping" \
    lab_exec hh ping -6 -c 2 -i 0.3 -W 2 "$HOA"
wait "$MN_PID"

# 3. DS-6: a TLV-format datagram (type 2, IPv6) is counted and dropped.
lab_exec mn "$LAB_PY" -c 'import socket,sys
s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(bytes([2,0,0,40])+bytes(40), (sys.argv[1], 4191))' "$HA4"
lab_wait 5 eval '[ "$(drops tlv-format)" -ge 1 ]'
lab_check "DS-6: a TLV-format datagram is dropped and counted (tlv-format)" test "$(drops tlv-format)" -ge 1

# 4. Deregistration in UDP: everything goes.
REG=$(mn 3 --lifetime 0 | head -1)
echo "  deregistration: $REG"
lab_check "a deregistration in UDP is acknowledged (0)" test "$(echo "$REG" | get status)" = 0
lab_wait 5 eval '! routed4 && ! proxied4 && [ -z "$(binding)" ]'
lab_check "... and the /32, the proxy ARP entry and the binding are gone" \
    eval '! routed4 && ! proxied4 && [ -z "$(binding)" ]'

lab_finish
