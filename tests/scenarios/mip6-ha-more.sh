#!/bin/bash
# mip6-ha-more.sh - the home agent scenarios of mobility.md §4 that
# mip6-ha.sh leaves out, against the same independent Python mobile node
# (tests/lab/tools/mip6-mn.py) and a second v6edge home agent.
#
#                 [cn] 2001:db8:1::99
#                   |
#   home link  ==== hl (bridge) ======== 2001:db8:1::/64
#                 |                  |
#   2001:db8:1::1 home0 [ha]      home0 [ha2] 2001:db8:1::2 (lab mode)
#   2001:db8:f::1 core0
#                 |
#                 eth0 [mn] 2001:db8:f::b (care-of); home address 2001:db8:1::200
#
#   ha:  examples/home-agent.toml with max-binding-lifetime = 40,
#        preference 5, an [[ra]] on home0 (H flag, HA Information option)
#   ha2: security = "none" (insecure-lab), preference 10, its own [[ra]]
#
# Checks (mobility.md IDs; real outcomes: the BA on the wire, the kernel's
# tables, the correspondent's neighbour cache, status and metrics):
#  - MT-12 / HA-16 / HA-17: a DHAAD Request (ICMPv6 144) from the care-of
#    address to 2001:db8:1::fdff:ffff:ffff:fffe is answered (145) from the
#    home agent's unicast address with both home agents, ha2 (preference
#    10, learnt from its RA) before ha (5); with the R flag nothing (no
#    mobile-router-capable home agent here); a 144 to a unicast address
#    nothing;
#  - MT-4 / HA-8: a BU asking 400 s gets 40 s (the configured maximum) and
#    a Binding Refresh Advice of 80 % (32 s); a BU for 8 s gets 8 s and at
#    expiry the proxy entry, the route and the data-plane entry are gone
#    (HA-15), status shows no binding and one expiry;
#  - MT-5 / HA-10 / §2.2: proxy_delay is 0 on the home link; the
#    correspondent's FAILED entry for the home address recovers at its next
#    resolution; its REACHABLE entry (the mobile node was at home) flips to
#    the home agent's MAC at registration (unsolicited NA, O=1); the
#    proxied NA delay is measured with proxy_delay 0 and 80; a clean stop
#    restores the previous proxy_delay;
#  - MT-7 / HA-6 / AU-2 / AU-3: a BU to the router's core address 131; an
#    off-link home address 132 (lab-mode ha2); an unknown SPI 146; the SA of
#    another home address 146;
#  - MT-23 / AU-2: no Replay Protection option 145; a clock 10 s ahead 144
#    with the home agent's timestamp, then success after resynchronising;
#    the same BU bytes twice: BA 0, then nothing (counted as replayed);
#  - MT-27 / HA-1: 20 000 malformed MH / HAO / RH2 packets: the home agent lives,
#    counts drops by reason, rate-limits its Binding Errors and Parameter
#    Problems (counted by tcpdump on the mobile node), and a valid BU right
#    after gets BA 0.
# About 30 s.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
LAB_TIMEOUT=${LAB_TIMEOUT:-120}    # watchdog (netns.sh)
. "$HERE/../lab/netns.sh"
. "$HERE/../lab/peers.sh"

HA=2001:db8:1::1
HA2=2001:db8:1::2
HA_CORE=2001:db8:f::1
HOA=2001:db8:1::200
CN=2001:db8:1::99
COA=2001:db8:f::b
ANYCAST=2001:db8:1::fdff:ffff:ffff:fffe
REPO_DIR=$(cd "$HERE/../.." && pwd)
KEY=$REPO_DIR/examples/mip6-demo.key
MN_TOOL=$HERE/../lab/tools/mip6-mn.py
FAKE_MN_MAC=02:00:00:00:02:00

lab_init mip6-ha-more
lab_require ping
lab_require ndisc6
lab_require tcpdump
lab_ns_create hl
lab_ns_create cn
lab_ns_create ha
lab_ns_create ha2
lab_ns_create mn
lab_link cn eth0 hl p-cn
lab_link ha home0 hl p-ha
lab_link ha2 home0 hl p-ha2
lab_bridge hl hl0 p-cn p-ha p-ha2
lab_link ha core0 mn eth0
lab_router ha
lab_router ha2
lab_exec cn ip -6 addr add "$CN/64" dev eth0 nodad
lab_exec ha ip -6 addr add "$HA/64" dev home0 nodad
lab_exec ha ip -6 addr add "$HA_CORE/64" dev core0 nodad
lab_exec ha2 ip -6 addr add "$HA2/64" dev home0 nodad
lab_exec ha2 ip -6 route add 2001:db8:f::/64 via "$HA" dev home0
lab_exec mn ip -6 addr add "$COA/64" dev eth0 nodad
lab_exec mn ip -6 route add 2001:db8:1::/64 via "$HA_CORE" dev eth0
lab_wait_dad ha home0 || lab_die "no link-local on ha:home0"
lab_wait_dad ha2 home0 || lab_die "no link-local on ha2:home0"
lab_wait_dad cn eth0 || lab_die "no link-local on cn:eth0"
lab_wait_dad mn eth0 || lab_die "no link-local on mn:eth0"

# MT-5 variant: nobody answers for the home address yet, so the
# correspondent's entry for it ends FAILED (3 unanswered NS, about 3 s,
# spent while the home agents start).
lab_exec cn ping -6 -n -c 1 -W 1 "$HOA" >/dev/null 2>&1 &

sed -e "s|^key-file = \"mip6-demo.key\"|key-file = \"$KEY\"|" \
    -e 's|^# max-binding-lifetime = 262140.*|max-binding-lifetime = 40|' \
    -e 's|^# preference = 0.*|preference = 5|' \
    "$REPO_DIR/examples/home-agent.toml" >"$LAB_DIR/ha.toml"
printf '\n[[ra]]\ninterface = "home0"\nprefixes = ["2001:db8:1::/64"]\nmax-interval = 4\n' >>"$LAB_DIR/ha.toml"
grep -q '^max-binding-lifetime = 40$' "$LAB_DIR/ha.toml" || lab_die "examples/home-agent.toml changed: no max-binding-lifetime line to set"
cat >"$LAB_DIR/ha2.toml" <<EOF
[home-agent]
interface = "home0"
address = "$HA2"
prefixes = ["2001:db8:1::/64"]
preference = 10
security = "none"
insecure-lab = true
persist-bindings = false

[[ra]]
interface = "home0"
prefixes = ["2001:db8:1::/64"]
max-interval = 4
EOF
start_v6edge ha ha "$LAB_DIR/ha.toml"
v6edge_wait_ready ha 10 || lab_die "v6edge did not answer status (log: $LAB_DIR/ha.log)"
running() { [ "$(v6edge_status_json "$1" | lab_json 'd["roles"]["home-agent"]["running"]')" = True ]; }
lab_wait 10 running ha || lab_die "the home agent did not start (log: $LAB_DIR/ha.log)"
# ha2 after ha, so its first RA (sent at start) reaches a listening ha.
start_v6edge ha2 ha2 "$LAB_DIR/ha2.toml"
v6edge_wait_ready ha2 10 || lab_die "v6edge ha2 did not answer status (log: $LAB_DIR/ha2.log)"
lab_wait 10 running ha2 || lab_die "the second home agent did not start (log: $LAB_DIR/ha2.log)"

# bu SEQ LIFETIME [EXTRA...]: one BU from the mobile node to ha; prints the answer.
bu() {
    local seq=$1 life=$2; shift 2
    lab_exec mn "$LAB_PY" "$MN_TOOL" bu --coa "$COA" --ha "$HA" --hoa "$HOA" \
        --spi 1000 --key-file "$KEY" --seq "$seq" --lifetime "$life" "$@"
}
field() { "$LAB_PY" -c 'import json,sys; d=json.loads(sys.stdin.read() or "{}"); print(d.get(sys.argv[1]))' "$1"; }
# jq-like: EXPR over the JSON on stdin as d.
jget() { "$LAB_PY" -c 'import json,sys; d=json.loads(sys.stdin.read() or "{}"); print(eval(sys.argv[1]))' "$1"; }
proxied() { ip -n "$(lab_ns ha)" -6 neigh show proxy dev home0 | grep -q "^$HOA "; }
routed() { ip -n "$(lab_ns ha)" -6 route show "$HOA" | grep -q "dev v6e-ha0 proto 121"; }
ha_doc() { v6edge_status_json ha | lab_json "$1"; }
bindings() { ha_doc '[b["home_address"] for b in d["roles"]["home-agent"]["bindings"]]'; }
metric() { v6edge_ctl ha metrics | awk -v k="$1" '$1 == k { print $2; found = 1 } END { if (!found) print 0 }'; }
cn_neigh() { ip -n "$(lab_ns cn)" -6 neigh show "$HOA" dev eth0; }
HA_MAC=$(ip -n "$(lab_ns ha)" -j link show home0 | lab_json 'd[0]["address"]')

# ---------------------------------------------------------------- MT-12
# DHAAD (RFC 6275 §10.5, HA-17). ha learns ha2 from its RA (HA-16): ask
# until the reply lists two home agents (RAs every 4 s at most).
dhaad() { lab_exec mn "$LAB_PY" "$MN_TOOL" dhaad --coa "$COA" --anycast "$ANYCAST" "$@"; }
two_listed() {
    ANSWER=$(dhaad --id 7 --timeout 1)
    [ "$(echo "$ANSWER" | jget 'len(d.get("home_agents", []))')" = 2 ]
}
lab_wait 12 two_listed
echo "DHAAD: $ANSWER"
lab_check "MT-12: a DHAAD Request to $ANYCAST gets a reply (145, HA-17)" \
    test "$(echo "$ANSWER" | field type)" = dhaad-reply
lab_check "... from the home agent's unicast address, not the anycast one" \
    test "$(echo "$ANSWER" | field src)" = "$HA"
lab_check "... with the request's identifier" test "$(echo "$ANSWER" | field id)" = 7
lab_check "... listing ha2 (preference 10, learnt from its RA) before ha (5)" \
    test "$(echo "$ANSWER" | jget '",".join(d["home_agents"])')" = "$HA2,$HA"
ANSWER=$(dhaad --id 8 --mobile-router --timeout 1.5)
lab_check "... with the R flag: no reply, no mobile-router-capable home agent here (HA-17, RFC 3963 §7.3)" \
    test "$(echo "$ANSWER" | field type)" = none
ANSWER=$(lab_exec mn "$LAB_PY" "$MN_TOOL" dhaad --coa "$COA" --anycast "$HA" --id 9 --timeout 1)
lab_check "... a Request to a unicast address gets none (HA-17)" test "$(echo "$ANSWER" | field type)" = none

# ----------------------------------------------------------- MT-4, MT-5
lab_check "MT-5: proxy_delay is 0 on the home link (§2.2 home-link presence)" \
    test "$(lab_exec ha cat /proc/sys/net/ipv6/neigh/home0/proxy_delay)" = 0
lab_wait 5 sh -c "ip -n '$(lab_ns cn)' -6 neigh show '$HOA' dev eth0 | grep -q FAILED"
lab_log "correspondent's entry before registration: $(cn_neigh)"
lab_check "MT-5 variant: the correspondent's entry for $HOA is FAILED before registration" \
    sh -c "ip -n '$(lab_ns cn)' -6 neigh show '$HOA' dev eth0 | grep -q FAILED"

ANSWER=$(bu 1 400)
echo "BU 1: $ANSWER"
lab_check "MT-4: a BU asking 400 s gets BA 0 (HA-10)" test "$(echo "$ANSWER" | field status)" = 0
lab_check "... for 40 s, the configured maximum (HA-8)" test "$(echo "$ANSWER" | field lifetime)" = 40
lab_check "... with Binding Refresh Advice 32 s (80 %, RFC 6275 §10.3.1)" test "$(echo "$ANSWER" | field refresh)" = 32
lab_check "... authenticated (AU-1)" test "$(echo "$ANSWER" | field authenticated)" = True
lab_check "status: lifetime 40" test "$(ha_doc '[b["lifetime"] for b in d["roles"]["home-agent"]["bindings"]]')" = 40
lab_log "correspondent's entry after registration: $(cn_neigh)"

lab_daemon mn mn-echo "$LAB_PY" "$MN_TOOL" tunnel-echo --coa "$COA" --hoa "$HOA" --count 7 --timeout 20
sleep 0.3
lab_exec cn ping -6 -n -c 1 -W 2 "$HOA" >"$LAB_DIR/ping-failed.out" 2>&1
RTT=$(sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' "$LAB_DIR/ping-failed.out")
lab_log "MT-5: first ping after a FAILED entry: ${RTT:-none} ms (resolution included)"
lab_check "MT-5 variant: the FAILED entry recovers at the next resolution: the first ping is answered" \
    test -n "$RTT"
lab_check "... and now points at the home agent ($HA_MAC)" sh -c "ip -n '$(lab_ns cn)' -6 neigh show '$HOA' dev eth0 | grep -q 'lladdr $HA_MAC'"

# Proxied NA delay as the correspondent sees it: a fresh resolution
# (multicast NS, the case proxy_delay delays) before one echo through the
# tunnel; ping's time includes it.
resolve_ms() {
    local out
    ip -n "$(lab_ns cn)" -6 neigh del "$HOA" dev eth0 2>/dev/null
    out=$(lab_exec cn ping -6 -n -c 1 -W 2 "$HOA" 2>&1 | sed -n 's/.*time=\([0-9]*\).*/\1/p')
    echo "${out:-9999}"
}
worst_of_3() { local w=0 i m; for i in 1 2 3; do m=$(resolve_ms); [ "$m" -gt "$w" ] && w=$m; done; echo "$w"; }
DELAY0=$(worst_of_3)
lab_exec ha sh -c 'echo 80 >/proc/sys/net/ipv6/neigh/home0/proxy_delay'
DELAY80=$(worst_of_3)
lab_exec ha sh -c 'echo 0 >/proc/sys/net/ipv6/neigh/home0/proxy_delay'
lab_log "MT-5: proxied NA, worst of 3 resolutions: ${DELAY0} ms with proxy_delay 0, ${DELAY80} ms with the default 80"
lab_check "MT-5: with proxy_delay 0 the proxied NA comes at once (< 200 ms)" test "$DELAY0" -lt 200

# REACHABLE variant: the mobile node was at home (its MAC, REACHABLE), then
# registers: the unsolicited NA (O=1) moves the entry to the home agent.
ANSWER=$(bu 2 0)
lab_check "deregistration gets BA 0 (HA-12)" test "$(echo "$ANSWER" | field status)" = 0
lab_exec cn ip -6 neigh replace "$HOA" lladdr "$FAKE_MN_MAC" dev eth0 nud reachable
lab_check "MT-5: the correspondent's entry is REACHABLE at the mobile node's MAC" \
    sh -c "ip -n '$(lab_ns cn)' -6 neigh show '$HOA' dev eth0 | grep -q '$FAKE_MN_MAC REACHABLE'"
ANSWER=$(bu 3 400)
lab_check "registration again: BA 0" test "$(echo "$ANSWER" | field status)" = 0
lab_log "correspondent's entry right after the BA: $(cn_neigh)"
lab_check "MT-5: at registration the entry flips to the home agent's MAC at once (unsolicited NA, O=1, HA-10)" \
    sh -c "ip -n '$(lab_ns cn)' -6 neigh show '$HOA' dev eth0 | grep -q 'lladdr $HA_MAC'"

# Short lifetime, then expiry (HA-15). While it runs down, the refusals
# that leave the binding alone (MT-7, MT-23's 145).
ANSWER=$(bu 4 8)
T_BOUND=$(date +%s.%N)
lab_check "MT-4: a BU for 8 s gets BA 0 for 8 s" \
    test "$(echo "$ANSWER" | field status)/$(echo "$ANSWER" | field lifetime)" = 0/8
lab_check "... with Binding Refresh Advice 4 s" test "$(echo "$ANSWER" | field refresh)" = 4

# ---------------------------------------------------------------- MT-7
ANSWER=$(lab_exec mn "$LAB_PY" "$MN_TOOL" bu --coa "$COA" --ha "$HA_CORE" --hoa "$HOA" \
    --spi 1000 --key-file "$KEY" --seq 5 --lifetime 400)
lab_check "MT-7: a home registration to the router's core address gets 131 (HA-6)" \
    test "$(echo "$ANSWER" | field status)" = 131
ANSWER=$(lab_exec mn "$LAB_PY" "$MN_TOOL" bu --coa "$COA" --ha "$HA2" --hoa 2001:db8:9::200 \
    --spi 1000 --key-file "$KEY" --seq 1 --lifetime 400 --no-auth)
lab_check "MT-7: a home address off the home link gets 132 (HA-6; lab-mode ha2)" \
    test "$(echo "$ANSWER" | field status)" = 132
ANSWER=$(lab_exec mn "$LAB_PY" "$MN_TOOL" bu --coa "$COA" --ha "$HA" --hoa "$HOA" \
    --spi 4242 --key-file "$KEY" --seq 6 --lifetime 400)
lab_check "MT-7: a mobile node without a security association (unknown SPI) gets 146 (HA-2, AU-2)" \
    test "$(echo "$ANSWER" | field status)" = 146
ANSWER=$(lab_exec mn "$LAB_PY" "$MN_TOOL" bu --coa "$COA" --ha "$HA" --hoa 2001:db8:1::201 \
    --spi 1000 --key-file "$KEY" --seq 6 --lifetime 400)
lab_check "MT-7: another home address under this SA gets 146 (AU-3)" \
    test "$(echo "$ANSWER" | field status)" = 146
lab_check "... nothing installed for it" sh -c "! ip -n '$(lab_ns ha)' -6 neigh show proxy dev home0 | grep -q '^2001:db8:1::201 '"

# ---------------------------------------------------------------- MT-23
ANSWER=$(bu 6 400 --no-replay)
lab_check "MT-23: no Replay Protection option gets 145 (AU-2)" test "$(echo "$ANSWER" | field status)" = 145

# --------------------------------------------------------- MT-4 expiry
NB_BEFORE=$(metric 'v6edge_packets_dropped_total{protocol="tunnel",reason="no-binding"}')
gone() { ! proxied && ! routed; }
lab_check "MT-4: the binding expires: proxy entry and route removed (HA-15)" lab_wait 12 gone
T_GONE=$(date +%s.%N)
lab_log "MT-4: removed $(awk -v a="$T_BOUND" -v b="$T_GONE" 'BEGIN{printf "%.1f", b-a}') s after the 8 s BA"
lab_check "... not before its 8 s" awk -v a="$T_BOUND" -v b="$T_GONE" 'BEGIN{exit !(b - a >= 7.5)}'
lab_check "status: no binding" test -z "$(bindings)"
lab_check "status: one expiry" test "$(ha_doc 'd["roles"]["home-agent"]["expired"]')" = 1
# The data-plane entry: a route into the TUN device that outlived the
# binding finds no binding there (counted, nothing tunnelled).
lab_exec ha ip -6 route add "$HOA/128" dev v6e-ha0
lab_exec cn ping -6 -n -c 1 -W 1 "$HOA" >/dev/null 2>&1
lab_exec ha ip -6 route del "$HOA/128" dev v6e-ha0
NB_AFTER=$(metric 'v6edge_packets_dropped_total{protocol="tunnel",reason="no-binding"}')
lab_check "... and the data-plane entry: a packet for $HOA into the tunnel device is dropped, no binding ($NB_BEFORE -> $NB_AFTER)" \
    test "$NB_AFTER" -gt "$NB_BEFORE"

# ---------------------------------------------------------------- MT-23
ANSWER=$(bu 7 400 --timestamp-offset 10 --resync)
echo "BU 7 (+10 s): $ANSWER"
lab_check "MT-23: a clock 10 s ahead gets 144 (AU-2)" \
    test "$(echo "$ANSWER" | jget 'd["first"]["status"]')" = 144
lab_check "... with the home agent's timestamp (the mobile node is 10 s off it)" \
    test "$(echo "$ANSWER" | jget 'd.get("skew") in (-11, -10, -9)')" = True
lab_check "... resynchronised, the next BU gets BA 0" \
    test "$(echo "$ANSWER" | jget '(d["second"] or {}).get("status")')" = 0
REPLAYED_BEFORE=$(metric 'v6edge_packets_dropped_total{protocol="mobility",reason="replayed"}')
ANSWER=$(bu 9 400 --repeat 2 --timeout 1.5)
echo "BU 9 twice: $ANSWER"
lab_check "MT-23: a BU gets BA 0 ..." test "$(echo "$ANSWER" | jget 'd["answers"][0].get("status")')" = 0
lab_check "... and the same bytes again get nothing (replay)" \
    test "$(echo "$ANSWER" | jget 'd["answers"][1]["type"]')" = none
lab_check "... counted as replayed" \
    test "$(metric 'v6edge_packets_dropped_total{protocol="mobility",reason="replayed"}')" -gt "$REPLAYED_BEFORE"
lab_check "status: the binding is the one of sequence 9" \
    test "$(ha_doc '[b["sequence"] for b in d["roles"]["home-agent"]["bindings"]]')" = 9

# ---------------------------------------------------------------- MT-27
lab_daemon mn tcpdump tcpdump -i eth0 -n -U -w "$LAB_DIR/flood.pcap" "ip6 and src $HA"
lab_wait 5 grep -q "listening on" "$LAB_DIR/tcpdump.log" || lab_die "tcpdump did not start"
FLOOD=$(lab_exec mn "$LAB_PY" "$MN_TOOL" flood --coa "$COA" --ha "$HA" --hoa "$HOA" --count 20000)
sleep 1
lab_stop tcpdump
echo "flood: $FLOOD"
SECS=$(echo "$FLOOD" | field seconds)
lab_check "MT-27: 20000 malformed packets sent" test "$(echo "$FLOOD" | field sent)" = 20000
lab_check "... the home agent is alive and answers status" v6edge_wait_ready ha 3
count() { tcpdump -n -r "$LAB_DIR/flood.pcap" "$1" 2>/dev/null | wc -l; }
BE=$(count 'ip6[6] == 135 and ip6[42] == 7')
# v6edge's point at the MH (64, 65); the kernel's own for the RH2 at 42.
PP=$(count 'icmp6 and ip6[40] == 4 and ip6[41] == 0 and ip6[44:4] != 42')
PP_RH2=$(count 'icmp6 and ip6[40] == 4 and ip6[41] == 0 and ip6[44:4] == 42')
PP_KERNEL=$(count 'icmp6 and ip6[40] == 4 and ip6[41] == 2')
BA=$(count 'ip6[6] == 43')
# 10 per second, bursts of 20 (each budget), over the flood plus the second after.
BOUND=$(awk -v s="$SECS" 'BEGIN{printf "%d", 20 + 10 * (s + 2)}')
lab_log "MT-27: ${SECS} s; answers seen: $BE Binding Errors, $BA BAs, $PP Parameter Problems (v6edge, code 0), $PP_KERNEL + $PP_RH2 (kernel, HAO code 2 and RH2 code 0); bound $BOUND per budget"
lab_check "... Binding Errors sent, and rate-limited (HA-1: $BE + $BA BAs <= $BOUND)" \
    test "$BE" -ge 1 -a $((BE + BA)) -le "$BOUND"
lab_check "... Parameter Problems sent, and rate-limited ($PP <= $BOUND)" test "$PP" -ge 1 -a "$PP" -le "$BOUND"
v6edge_ctl ha metrics >"$LAB_DIR/metrics.txt" 2>&1
grep '^v6edge_packets_dropped_total{protocol="mobility"' "$LAB_DIR/metrics.txt" | sed 's/^/  | /'
for reason in bad-checksum payload-proto header-length malformed routing-header capture-malformed home-address-option-repeated rate-limited; do
    lab_check "... drops counted by reason: $reason" \
        grep -q "^v6edge_packets_dropped_total{protocol=\"mobility\",reason=\"$reason\"} [1-9]" "$LAB_DIR/metrics.txt"
done
ANSWER=$(bu 10 400)
lab_check "MT-27: a valid BU right after the flood gets BA 0" test "$(echo "$ANSWER" | field status)" = 0
lab_check "... the home agent still runs" lab_alive ha

# proxy_delay goes back to what it was when a home agent stops cleanly.
lab_check "ha2 runs with proxy_delay 0 on its home link" \
    test "$(lab_exec ha2 cat /proc/sys/net/ipv6/neigh/home0/proxy_delay)" = 0
lab_stop ha2
lab_check "... and restores the kernel's default (80) at SIGTERM" \
    test "$(lab_exec ha2 cat /proc/sys/net/ipv6/neigh/home0/proxy_delay)" = 80

lab_finish
