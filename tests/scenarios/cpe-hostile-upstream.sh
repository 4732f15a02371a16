#!/bin/bash
# cpe-hostile-upstream.sh - a CPE facing a rogue DHCPv6 server stays sane,
# then gets a proper prefix from Kea (issue 14, "hostile upstream").
#
#   [isp] eth0 ---- wan0 [cpe] lan0 ---- eth0 [host]
#   rogue server, then Kea      v6edge (examples/cpe.toml)     SLAAC host
#
# The rogue is tests/lab/tools/rogue-dhcp6-server.py (scapy), in the ISP's
# namespace.  Three phases, each bounded:
#  1. garbage: every Advertise offers nothing usable (::/0, ::/1, 8000::/1,
#     link-local, multicast, loopback, IPv4-mapped, host bits, T1 > T2,
#     preferred > valid, lifetimes 0) or is not for us (another xid, another
#     client id, no server id), plus stray Replies.  The CPE keeps
#     soliciting, holds nothing, installs no address or route, keeps its
#     default route, and its drop metrics (v6edge_packets_dropped_total,
#     protocol dhcp6) count each reason.
#  2. flood: 1500 Advertises from as many server DUIDs answer one Solicit;
#     the Request goes to the one with the highest preference (RFC 8415
#     §18.2.9).  Its Reply grants, with infinite lifetimes and T1/T2 0,
#     2001:db8:ee00::/80 and 2001:db8:ff00::/56, next to ::/0 and fe80::/64
#     in the same IA_PD.  The CPE holds the /80 and the /56 only, numbers
#     lan0 from the /56 (no /64 fits in the /80: RFC 7084 WPD-3), routes
#     both unreachable (WPD-5) and nothing else, and the host hears PIO
#     lifetimes within RFC 9096 L-16 (2700/5400 s) and autoconfigures with
#     them.  Then a stray Reply and forged
#     Reconfigures (no Authentication option, wrong HMAC, replayed counters,
#     key type instead of HMAC, asking for a Solicit): no Renew, counted as
#     bad-auth / reconfigure-invalid / wrong-xid; a correctly signed one
#     makes the CPE renew at once (RFC 8415 §18.2.11), and the Reply
#     withdraws the prefix: the CPE holds nothing and deprecates it on the
#     LAN.
#  3. Kea replaces the rogue: the CPE gets a /56 from the ISP's pool and the
#     host autoconfigures in it.
# Throughout, the daemon runs and answers `v6edge status`.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
LAB_TIMEOUT=${LAB_TIMEOUT:-90}     # watchdog (netns.sh)
. "$HERE/../lab/netns.sh"
. "$HERE/../lab/peers.sh"
. "$HERE/../lab/cpe.sh"

lab_init "cpe-hostile-upstream"
[ "$CPE_IMPL" = v6edge ] || lab_skip "the rogue server checks v6edge's own counters (CPE_IMPL=$CPE_IMPL)"
ISP_IMPL=kea
cpe_require
"$LAB_PY" -c 'import scapy' 2>/dev/null || lab_die "$LAB_PY cannot import scapy (python3-scapy)"
ROGUE=("$LAB_PY" "$HERE/../lab/tools/rogue-dhcp6-server.py" eth0)
TRIGGER=$LAB_DIR/rogue-reconfigure.go
GOOD=2001:db8:ff00::/56
TOO_LONG=2001:db8:ee00::/80

# drops REASON: the CPE's count of DHCPv6 datagrams dropped for REASON.
drops() {
    v6edge_ctl cpe-v6edge metrics 2>/dev/null | awk -v want="reason=\"$1\"" '
        index($0, "v6edge_packets_dropped_total{") == 1 && index($0, "protocol=\"dhcp6\"") &&
            index($0, want) { n = $NF }
        END { print n + 0 }'
}
# drops_at_least REASON N
drops_at_least() { [ "$(drops "$1")" -ge "$2" ]; }
# status_answers: the daemon runs and answers `v6edge status`.
status_answers() { lab_alive cpe-v6edge && v6edge_status_json cpe-v6edge >/dev/null; }
# unreachable_routes: the CPE's unreachable routes, destination only.
unreachable_routes() {
    ip -n "$(lab_ns cpe)" -6 route show table all type unreachable | awk '{print $2}' | sort
}
upstream_default() { ip -n "$(lab_ns cpe)" -6 route show default | grep -q 'via .* dev wan0'; }
lan_globals() { ip -n "$(lab_ns cpe)" -6 -o addr show dev lan0 scope global | awk '{print $4}'; }
# no_route_for PREFIX...: no route in any table has one of these destinations.
no_route_for() {
    local routes p
    routes=$(ip -n "$(lab_ns cpe)" -6 route show table all | awk '{print ($1 == "unreachable" ? $2 : $1)}')
    for p in "$@"; do grep -qxF "$p" <<<"$routes" && return 1; done
    return 0
}
rogue_said() { grep -q "$2" "$LAB_DIR/$1.log"; }
uplink_state() { v6edge_status_json cpe-v6edge | lab_json 'd["uplink"]["state"]'; }
holds_nothing() { [ -z "$(cpe_delegations)" ]; }
soliciting_holding_nothing() { [ "$(uplink_state)" = soliciting ] && holds_nothing; }
# no_unreachable_default: no `unreachable default` (::/0) route anywhere.
no_unreachable_default() { ! unreachable_routes | grep -qx default; }
# lan0_only_good: lan0's only global address is the router address in the
# granted prefix, with the infinite lifetime of the grant.
lan0_only_good() {
    [ "$(lan_globals)" = 2001:db8:ff00::1/64 ] &&
        [ "$(addr_in cpe lan0 2001:db8:ff00::/64 | awk '{print $2}')" = forever ]
}
withdrawn_cleanly() { status_answers && holds_nothing && [ -z "$(unreachable_routes)" ]; }
stray_not_taken() { no_route_for 2001:db8:aa06::/56 && ! has_addr_in cpe lan0 2001:db8:aa06::/56; }

cpe_topology
capture_start isp-cap

# ------------------------------------------------------------ 1. garbage
lab_daemon isp rogue-garbage "${ROGUE[@]}" --mode garbage --answers 2 --max-seconds 20
lab_wait 5 rogue_said rogue-garbage '^listening' || lab_die "rogue server did not start"
cpe_start
lab_wait 15 sh -c "[ \$(grep -c '^tx reply stray' '$LAB_DIR/rogue-garbage.log') -ge 2 ]"
# The last burst has been read once its last reason is counted.
lab_wait 5 drops_at_least rapid-commit-unexpected 2
echo "--- after the garbage ($(lab_elapsed)s)"; sed 's/^/  rogue| /' "$LAB_DIR/rogue-garbage.log"
v6edge_ctl cpe-v6edge metrics | grep 'dropped_total{protocol="dhcp6"' | sed 's/^/  /'

lab_check "garbage: the rogue answered two Solicits" \
    test "$(grep -c '^tx advertise' "$LAB_DIR/rogue-garbage.log")" -ge 2
lab_check "garbage: v6edge runs and answers status" status_answers
lab_check "garbage: still soliciting, nothing held" soliciting_holding_nothing
lab_check "garbage: unusable offers counted (nothing-offered >= 22: 11 per Solicit)" \
    drops_at_least nothing-offered 22
lab_check "garbage: another xid and stray Replies counted (wrong-xid >= 4)" drops_at_least wrong-xid 4
lab_check "garbage: another client id counted (wrong-client-id >= 2)" drops_at_least wrong-client-id 2
lab_check "garbage: no server id counted (missing-server-id >= 2)" drops_at_least missing-server-id 2
lab_check "garbage: Reply to Solicit without Rapid Commit counted" \
    drops_at_least rapid-commit-unexpected 2
lab_check "garbage: no unreachable route at all" test -z "$(unreachable_routes)"
lab_check "garbage: no route for ::/0-like offers (::/1, 8000::/1, ff02::/16, ::ffff:0:0/96)" \
    no_route_for ::/1 8000::/1 ff02::/16 ::ffff:0:0/96 2001:db8:aa04::/56 2001:db8:aa05::/56
lab_check "garbage: the default route via wan0 is intact" upstream_default
lab_check "garbage: no global address on lan0" test -z "$(lan_globals)"
lab_stop rogue-garbage

# -------------------------------------------------------------- 2. flood
rm -f "$TRIGGER"
lab_daemon isp rogue-flood "${ROGUE[@]}" --mode flood --advertises 1500 \
    --trigger "$TRIGGER" --max-seconds 40
lab_wait 5 rogue_said rogue-flood '^listening' || lab_die "rogue server did not start"
# Solicit now rather than at the next backed-off retransmission.
v6edge_ctl cpe-v6edge renew >/dev/null
PD=$(cpe_wait_delegation 15) || PD=
echo "--- after the flood ($(lab_elapsed)s): delegated ${PD:-none}"
lab_wait 15 has_addr_in host eth0 "$GOOD"
sed 's/^/  rogue| /' "$LAB_DIR/rogue-flood.log"
cpe_show
BEST=$(awk '/^best-duid/ {print $2}' "$LAB_DIR/rogue-flood.log")
v6edge_status_json cpe-v6edge >"$LAB_DIR/status-flood.json"

lab_check "flood: v6edge runs and answers status" status_answers
lab_check "flood: the Request went to the best of 1501 Advertises (preference 250)" \
    rogue_said rogue-flood 'best yes'
lab_check "flood: bound to the best server ($BEST)" \
    test "$(lab_json 'd["uplink"]["server_duid"].replace(":", "")' <"$LAB_DIR/status-flood.json")" = "$BEST"
lab_check "flood: holds exactly $TOO_LONG and $GOOD (::/0 and fe80::/64 beside them ignored)" \
    test "$(cpe_delegations | sort | tr '\n' ' ')" = "$TOO_LONG $GOOD "
lab_check "flood: the only unreachable routes are $TOO_LONG and $GOOD (WPD-5)" \
    test "$(unreachable_routes | tr '\n' ' ')" = "$TOO_LONG $GOOD "
lab_check "flood: no unreachable ::/0 from the grant" no_unreachable_default
lab_check "flood: the default route via wan0 is intact" upstream_default
lab_check "flood: lan0's only global address is 2001:db8:ff00::1/64, infinite like the grant (none from the /80)" \
    lan0_only_good
read -r H_ADDR H_V H_P <<<"$(addr_in host eth0 "$GOOD" | head -1)"
lab_check "flood: host autoconfigured ${H_ADDR:-nothing} with lifetimes within 5400/2700 (got ${H_V:-none}/${H_P:-none})" \
    lifetimes_within "${H_V:-x}" "${H_P:-x}" "$ND_VALID_LIMIT" "$ND_PREFERRED_LIMIT"
rdisc6_run "$LAB_DIR/rdisc6-flood.out"
read -r PIO_V PIO_P <<<"$(rdisc6_pio "$LAB_DIR/rdisc6-flood.out" 2001:db8:ff00::/64)"
lab_check "flood: RA PIO lifetimes capped at 5400/2700 for an infinite grant (got ${PIO_V:-none}/${PIO_P:-none})" \
    lifetimes_within "${PIO_V:-x}" "${PIO_P:-x}" "$ND_VALID_LIMIT" "$ND_PREFERRED_LIMIT"

BAD_AUTH0=$(drops bad-auth) INVALID0=$(drops reconfigure-invalid) XID0=$(drops wrong-xid)
touch "$TRIGGER"
lab_wait 10 rogue_said rogue-flood '^withdrawn'
lab_wait 5 holds_nothing
echo "--- after the Reconfigures ($(lab_elapsed)s)"
sed -n '/tx reply stray/,$p' "$LAB_DIR/rogue-flood.log" | sed 's/^/  rogue| /'
v6edge_ctl cpe-v6edge metrics | grep 'dropped_total{protocol="dhcp6"' | sed 's/^/  /'
lab_check "reconfigure: no Renew for any forged Reconfigure" \
    rogue_said rogue-flood '^renews-before-valid 0$'
lab_check "reconfigure: no auth, wrong HMAC, replayed counters, key type counted (bad-auth +5)" \
    drops_at_least bad-auth $((BAD_AUTH0 + 5))
lab_check "reconfigure: asking for a Solicit counted (reconfigure-invalid +1)" \
    drops_at_least reconfigure-invalid $((INVALID0 + 1))
lab_check "reconfigure: the stray Reply counted (wrong-xid +1)" drops_at_least wrong-xid $((XID0 + 1))
lab_check "reconfigure: the signed one was renewed at once and the withdrawal taken" \
    rogue_said rogue-flood '^withdrawn'
lab_check "withdrawn: v6edge runs, holds nothing, no unreachable route left" withdrawn_cleanly
lab_wait 5 deprecated_or_gone host eth0 "$GOOD"
lab_check "withdrawn: the host's address in $GOOD is deprecated or gone" \
    deprecated_or_gone host eth0 "$GOOD"
lab_check "stray grant 2001:db8:aa06::/56 was never taken" stray_not_taken
lab_stop rogue-flood

# ---------------------------------------------------------------- 3. Kea
isp_start
v6edge_ctl cpe-v6edge renew >/dev/null
PD=$(cpe_wait_delegation 20 "$ISP_POOL") || PD=
echo "--- with Kea ($(lab_elapsed)s): delegated ${PD:-none}"
[ -n "$PD" ] && isp_route_back "$PD"
lab_wait 15 has_addr_in host eth0 "${PD:-::/128}"
cpe_show
lab_check "kea: v6edge runs and answers status" status_answers
lab_check "kea: the CPE holds a prefix from $ISP_POOL (${PD:-none})" lab_within "${PD:-::/128}" "$ISP_POOL"
lab_check "kea: lan0 numbered from it" has_addr_in cpe lan0 "${PD:-::/128}"
lab_check "kea: the host autoconfigured an address in it" has_addr_in host eth0 "${PD:-::/128}"
lab_check "kea: the only unreachable route is ${PD:-none}" \
    test "$(unreachable_routes | tr '\n' ' ')" = "${PD:-none} "
lab_wait 5 lab_ping host "$ISP_ADDR"
lab_check "kea: the host reaches the ISP through the CPE" lab_ping host "$ISP_ADDR"

lab_stop isp-cap
lab_finish
