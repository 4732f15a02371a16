#!/bin/bash
# relay-nested.sh - two relays in a row: the client's messages reach the
# server as a Relay-forward inside a Relay-forward, and the answer finds its
# way back through both.
#
#   [wide] wan0 --+-- lan0 [rly1] wan0 ---- lan0 [rly2] wan0 ---- isp0 [srv]
#   [isc]  wan0 --'  2001:db8:a1::1  a2::2   2001:db8:a2::1 0:1::2   0:1::1
#                    RELAY_IMPL               RELAY2_IMPL (default RELAY_IMPL)
#
# RFC 8415 §19.1.2 (a relay relays a Relay-forward from a further relay:
# hop-count + 1, link-address of its own link), §19.2 (Relay-reply
# unwrapped one level per relay, by Interface-ID or link-address) and §19.3
# (the server answers with nested Relay-replies).  rly1 forwards to rly2's
# lan0 address (unicast), rly2 to the server (SERVER, default kea: the
# innermost link-address, 2001:db8:a1::1, selects the pool).  Checks: both
# clients hold a /56 out of 2001:db8:200::/40; a capture on srv shows a
# Relay-forward nested in a Relay-forward and a nested Relay-reply; rly1
# (the relay next to the clients) routes each prefix via the client's
# link-local (wide/isc: expected failure).  RELAY2_IMPL=wide|isc|v6edge
# gives a mixed pair.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
LAB_TIMEOUT=${LAB_TIMEOUT:-120}    # watchdog (netns.sh)
. "$HERE/../lab/netns.sh"
. "$HERE/../lab/peers.sh"
. "$HERE/../lab/relay.sh"

RELAY2_IMPL=${RELAY2_IMPL:-$RELAY_IMPL}
case $RELAY2_IMPL in v6edge|wide|isc) ;; *) lab_die "RELAY2_IMPL must be v6edge, wide or isc" ;; esac
ROLES=(wide isc)
MID_LINK_RLY1=2001:db8:a2::2     # rly1's wan0
MID_LINK_RLY2=2001:db8:a2::1     # rly2's lan0 (its link-address)
lab_init "relay-nested-$RELAY_IMPL-$RELAY2_IMPL-$SERVER"
relay_require tcpdump tshark
_relay_require_impl "$RELAY2_IMPL"
echo "relay-nested: rly1 RELAY_IMPL=$RELAY_IMPL, rly2 RELAY2_IMPL=$RELAY2_IMPL, SERVER=$SERVER"

lab_ns_create srv
lab_ns_create rly1
lab_ns_create rly2
lsw_create rly1
lab_link rly1 wan0 rly2 lan0
lab_link rly2 wan0 srv isp0
relay_node rly1 "$RLY_LINK_ADDR/64" "$MID_LINK_RLY1/64"
relay_node rly2 "$MID_LINK_RLY2/64" "$RLY_WAN_ADDR/64"
lab_addr srv isp0 "$SRV_ADDR/64"
lab_wait_dad srv isp0 || lab_die "no link-local on srv:isp0"
lab_route srv "$RLY_LINK" via "$RLY_WAN_ADDR" dev isp0
lab_route srv 2001:db8:a2::/64 via "$RLY_WAN_ADDR" dev isp0
lab_route rly1 default via "$(lab_ll rly2 lan0)" dev wan0
lab_route rly2 "$RLY_LINK" via "$MID_LINK_RLY1" dev lan0

# Every DHCPv6 message on the server's link, decoded afterwards.
lab_daemon srv cap tcpdump -i isp0 -n -U --immediate-mode -w "$LAB_DIR/srv.pcap" udp port 547
lab_wait 5 test -s "$LAB_DIR/srv.pcap"

rsrv_start
# A v6edge server selects its relay link by the innermost link-address too;
# rly2's own (2001:db8:a2::1) is not in any of its links.
relay_start rly2 rly2 "$RELAY2_IMPL" "$(rsrv_target)"
relay_start rly1 rly1 "$RELAY_IMPL" "$MID_LINK_RLY2"
rcli_add rly1 "${ROLES[@]}"
for role in "${ROLES[@]}"; do cli_start "$role"; done

declare -A PD=() LL=()
for role in "${ROLES[@]}"; do
    PD[$role]=$(cli_wait_prefix "$role" 30) || PD[$role]=
    LL[$role]=$(cli_ll "$role")
    echo "$role: prefix ${PD[$role]:-none}, wan0 ${LL[$role]} ($(lab_elapsed)s)"
    lab_check "$role (behind two relays) holds a /$RLY_PD_LEN inside $RLY_PD_POOL (${PD[$role]:-none})" \
        lab_within "${PD[$role]:-::/128}" "$RLY_PD_POOL" "$RLY_PD_LEN"
done

sleep 0.5                                   # the capture's last packets (immediate mode: no ring-block delay)
lab_stop cap
# One line per packet: the message types from the outside in, e.g. "12,12,3".
tshark -r "$LAB_DIR/srv.pcap" -d udp.port==547,dhcpv6 -T fields -e dhcpv6.msgtype \
    >"$LAB_DIR/srv.types" 2>"$LAB_DIR/tshark.err"
sed 's/^/  msgtypes: /' "$LAB_DIR/srv.types" | sort | uniq -c
lab_check "srv saw a Request in a Relay-forward in a Relay-forward (12,12,3)" \
    grep -q '^12,12,3$' "$LAB_DIR/srv.types"
lab_check "srv answered with a Reply in a Relay-reply in a Relay-reply (13,13,7)" \
    grep -q '^13,13,7$' "$LAB_DIR/srv.types"
lab_check_not "srv saw no client message that was relayed only once" \
    grep -Eq '^12,(1|3|5|6|8|9|11)$' "$LAB_DIR/srv.types"

XF1=''
[ "$RELAY_IMPL" = v6edge ] || XF1="$RELAY_IMPL relay installs no route for what it relays"
all_routes() { local r; for r in "${ROLES[@]}"; do rly_route rly1 "${PD[$r]:-none}" "${LL[$r]}" || return 1; done; }
[ -n "$XF1" ] || lab_wait 5 all_routes
rly_show rly1
rly_show rly2
for role in "${ROLES[@]}"; do
    lab_xcheck "$XF1" "rly1: route ${PD[$role]:-none} via $role's ${LL[$role]} dev lan0 proto $RLY_PROTO" \
        rly_route rly1 "${PD[$role]:-none}" "${LL[$role]}"
done

lab_finish
