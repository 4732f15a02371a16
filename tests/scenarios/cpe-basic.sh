#!/bin/bash
# cpe-basic.sh - a CPE acquires a delegated prefix and serves its LAN.
#
#   [isp] eth0 ---- wan0 [cpe] lan0 ---- eth0 [host]
#   ISP_IMPL=kea|isc|wide       CPE_IMPL=v6edge|wide     SLAAC host
#
# RFC 7084 WPD-1..5 / L-1..L-4, RFC 9096 L-16, RFC 8106 (RDNSS, DNSSL).
# Checks (real outcomes only): the CPE holds a /56 out of the ISP's pool and
# numbers lan0 from it; the host autoconfigures an address in it and a
# default route via the CPE's link-local; the RA (rdisc6) has the PIO with
# lifetimes within RFC 9096's limits and the ISP's, the ISP's DNS server and
# search domain; the CPE has an unreachable route for the delegated prefix
# (WPD-5); the host reaches the ISP's address.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
LAB_TIMEOUT=${LAB_TIMEOUT:-90}     # watchdog (netns.sh)
. "$HERE/../lab/netns.sh"
. "$HERE/../lab/peers.sh"
. "$HERE/../lab/cpe.sh"

lab_init "cpe-basic-$ISP_IMPL-$CPE_IMPL"
cpe_require
echo "cpe-basic: ISP_IMPL=$ISP_IMPL CPE_IMPL=$CPE_IMPL"

cpe_topology
capture_start isp-cap
if [ "$ISP_IMPL" = wide ]; then
    # dhcp6s only delegates to DUIDs it knows: start the CPE first, read the
    # DUID it made up, then start the server (the CPE keeps soliciting).
    cpe_start
    isp_start
else
    isp_start
    cpe_start
fi

PD=$(cpe_wait_delegation 30) || PD=
echo "delegated prefix: ${PD:-none} ($(lab_elapsed)s)"
[ -n "$PD" ] && isp_route_back "$PD"
LAN=$(addr_in cpe lan0 "${PD:-::/128}" | awk '{print $1; exit}')
lab_wait 15 has_addr_in host eth0 "${PD:-::/128}"
CPE_LL=$(lab_ll cpe lan0)
lab_wait 5 sh -c "ip -n $(lab_ns host) -6 route show default | grep -q 'via $CPE_LL dev eth0'"
cpe_show

lab_check "ISP server ($ISP_IMPL) is running" lab_alive "$(isp_name)"
lab_check "CPE ($CPE_IMPL) is running" lab_alive "$(cpe_name)"
lab_check "CPE holds a delegated prefix inside $ISP_POOL (${PD:-none})" \
    lab_within "${PD:-::/128}" "$ISP_POOL"
lab_check "CPE holds exactly one delegation" \
    test "$(cpe_delegations | wc -l)" = 1
lab_check "cpe:lan0 has a global address inside it (${LAN:-none})" \
    has_addr_in cpe lan0 "${PD:-::/128}"
if [ "$CPE_IMPL" = v6edge ]; then
    STATUS=$(v6edge_status_json cpe-v6edge)
    echo "$STATUS" >"$LAB_DIR/status.json"
    lab_check "status: uplink state is bound" \
        test "$(lab_json 'd["uplink"]["state"]' <"$LAB_DIR/status.json")" = bound
    lab_check "status: lans[lan0].prefix is the /64 configured on cpe:lan0" \
        test "$(lab_json '[l["prefix"] for l in d["lans"] if l["interface"] == "lan0"]' \
                <"$LAB_DIR/status.json")" = "$(lab_network "${LAN:-::/128}")"
    lab_check "status: dns has the ISP's server $ISP_DNS and domain $ISP_DOMAIN" \
        json_true "'$ISP_DNS' in d['dns']['servers'] and '$ISP_DOMAIN' in [x.rstrip('.') for x in d['dns']['domains']]" \
        "$LAB_DIR/status.json"
else
    lab_check "dhcp6c learnt the ISP's DNS server $ISP_DNS and domain $ISP_DOMAIN" \
        sh -c "grep -q '^new_domain_name_servers=$ISP_DNS' '$LAB_DIR/cpe-dhcp6c.hook' &&
               grep -q '^new_domain_name=$ISP_DOMAIN' '$LAB_DIR/cpe-dhcp6c.hook'"
fi

lab_check "host: SLAAC address inside the delegated prefix" \
    has_addr_in host eth0 "${PD:-::/128}"
lab_check "host: default route via the CPE's lan0 link-local ($CPE_LL)" \
    sh -c "ip -n $(lab_ns host) -6 route show default | grep -q 'via $CPE_LL dev eth0 proto ra'"

# What the CPE advertises, as the host sees it (rdisc6 sends an RS).
rdisc6_run "$LAB_DIR/rdisc6.out"
sed 's/^/  | /' "$LAB_DIR/rdisc6.out"
LAN64=$(lab_network "${LAN:-::/128}")
read -r PIO_V PIO_P <<<"$(rdisc6_pio "$LAB_DIR/rdisc6.out" "$LAN64")"
echo "PIO $LAN64: valid ${PIO_V:-none} preferred ${PIO_P:-none}; ISP gave valid $ISP_VALID preferred $ISP_PREFERRED"
lab_check "RA: PIO for $LAN64, on-link and autonomous" \
    sh -c "[ -n '${PIO_V:-}' ] && grep -q 'On-link *: *Yes' '$LAB_DIR/rdisc6.out' &&
           grep -q 'Autonomous address conf.: *Yes' '$LAB_DIR/rdisc6.out'"
lab_xcheck "$XF_CLAMP" \
    "RA: PIO valid <= $ND_VALID_LIMIT and preferred <= $ND_PREFERRED_LIMIT (RFC 9096 L-16; got ${PIO_V:-none}/${PIO_P:-none})" \
    lifetimes_within "${PIO_V:-x}" "${PIO_P:-x}" "$ND_VALID_LIMIT" "$ND_PREFERRED_LIMIT"
lab_xcheck "$XF_CLAMP" \
    "RA: PIO lifetimes <= the ISP's (valid $ISP_VALID, preferred $ISP_PREFERRED)" \
    lifetimes_within "${PIO_V:-x}" "${PIO_P:-x}" "$ISP_VALID" "$ISP_PREFERRED"
lab_check "RA: RDNSS $ISP_DNS" grep -q "Recursive DNS server *: $ISP_DNS\$" "$LAB_DIR/rdisc6.out"
lab_check "RA: DNSSL $ISP_DOMAIN" grep -q "DNS search list *: $ISP_DOMAIN" "$LAB_DIR/rdisc6.out"
lab_check "RA: router lifetime > 0 (upstream default route, RFC 7084 G-4)" \
    test "$(rdisc6_router_lifetime "$LAB_DIR/rdisc6.out")" -gt 0

echo "cpe routes:"; ip -n "$(lab_ns cpe)" -6 route show table all type unreachable | sed 's/^/  /'
lab_xcheck "$XF_UNREACH" "CPE: unreachable route for the delegated prefix (RFC 7084 WPD-5)" \
    sh -c "ip -n $(lab_ns cpe) -6 route show table all type unreachable | grep -q '^unreachable ${PD:-none} '"

lab_wait 5 lab_ping host "$ISP_ADDR"
lab_check "host reaches the ISP's $ISP_ADDR through the CPE" lab_ping host "$ISP_ADDR"

lab_stop isp-cap
capture_decode isp-cap >"$LAB_DIR/isp-cap.txt"
echo "DHCPv6 on the uplink:"; sed 's/^.*dhcp6 /  dhcp6 /' "$LAB_DIR/isp-cap.txt" | cut -c1-200

lab_finish
