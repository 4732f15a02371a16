#!/bin/bash
# server-ia-na.sh - addresses (IA_NA) and configuration: stateful and
# stateless clients of the delegating server.
#
#   [srv] isp0 ---- switch ---- wan0 [isc]  dhclient -6 -N      (address)
#   SERVER_IMPL=v6edge|kea |--- wan0 [isc2] dhclient -6 -S      (Information-request)
#                          '--- wan0 [isc3] dhclient -6 -N -P   (address + prefix)
#
# RFC 8415 §18.3 (IA_NA from the address pool), §18.3.6 / §18.2.6
# (Information-request: configuration only, no binding), RFC 3646 (DNS
# servers, domain list).  Checks, all from what the clients report (the
# dhclient hook records, changes nothing): the address lies in
# 2001:db8:0:1::100-::ffff; DNS 2001:db8:0:1::53 and domain isp.example
# arrive with the address and with the Information-request answer; the
# Information-request creates no lease; `leases --json` lists the address as
# an "na" lease (ADDR/128) and, for isc3, the address and a /56 prefix for
# the same client; after `dhclient -r` the address lease is gone.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
LAB_TIMEOUT=${LAB_TIMEOUT:-90}     # watchdog (netns.sh)
. "$HERE/../lab/netns.sh"
. "$HERE/../lab/peers.sh"
. "$HERE/../lab/server.sh"

lab_init "server-ia-na-$SERVER_IMPL"
server_require
echo "server-ia-na: SERVER_IMPL=$SERVER_IMPL"

server_topology
srv_start
cli_add isc isc2 isc3

# hook_last NAME VAR: the last value dhclient instance NAME's hook saw for VAR.
hook_last() { grep "^$2=" "$LAB_DIR/$1.hook" 2>/dev/null | tail -n 1 | cut -d= -f2-; }
# in_na_range ADDR: ADDR lies in the server's IA_NA range.
in_na_range() {
    "$LAB_PY" -c 'import ipaddress as i, sys; a = i.IPv6Address(sys.argv[1])
sys.exit(0 if i.IPv6Address(sys.argv[2]) <= a <= i.IPv6Address(sys.argv[3]) else 1)' \
        "$1" "$SRV_NA_FIRST" "$SRV_NA_LAST" 2>/dev/null
}
has_dns() { [[ " $(hook_last "$1" new_dhcp6_name_servers) " == *" $SRV_DNS "* ]]; }
has_domain() { [[ " $(hook_last "$1" new_dhcp6_domain_search) " =~ [\ \']$SRV_DOMAIN\.?[\ \'] ]]; }

# 1. Stateful address.
cli_start isc -N
lab_wait 20 grep -q '^new_ip6_address=' "$LAB_DIR/isc.hook"
ADDR=$(hook_last isc new_ip6_address)
echo "isc: address ${ADDR:-none}, dns '$(hook_last isc new_dhcp6_name_servers)', domains '$(hook_last isc new_dhcp6_domain_search)' ($(lab_elapsed)s)"
lab_check "isc (-N) got an address in $SRV_NA_FIRST-$SRV_NA_LAST (${ADDR:-none})" in_na_range "${ADDR:-::}"
lab_check "isc (-N) was bound (hook reason BOUND6)" grep -q 'reason=BOUND6' "$LAB_DIR/isc.hook"
lab_check "isc (-N) learnt DNS server $SRV_DNS" has_dns isc
lab_check "isc (-N) learnt domain $SRV_DOMAIN" has_domain isc
srv_leases_to "$LAB_DIR/leases-1.json"
sed 's/^/  | /' "$LAB_DIR/leases-1.json"
lab_check "leases: ${ADDR:-none}/128 is listed as an na lease" \
    json_true "[l for l in d['leases'] if l['type'] == 'na' and l['prefix'] == '${ADDR:-none}/128']" \
    "$LAB_DIR/leases-1.json"
lab_check "leases: no prefix for an address-only client" \
    json_true "not [l for l in d['leases'] if l['type'] == 'pd']" "$LAB_DIR/leases-1.json"

# 2. Information-request: configuration, no binding.
cli_start isc2 -S
lab_wait 15 grep -q '^new_dhcp6_name_servers=' "$LAB_DIR/isc2.hook"
echo "isc2: reason $(grep -o 'reason=[A-Z0-9]*' "$LAB_DIR/isc2.hook" | tail -n 1), dns '$(hook_last isc2 new_dhcp6_name_servers)', domains '$(hook_last isc2 new_dhcp6_domain_search)'"
# dhclient -S logs "XMT: Info-Request", then "RCV: Reply message" and runs
# its hook (reason RENEW6 in stateless mode) without any lease.
lab_check "isc2 (-S) sent an Information-request and got a Reply" \
    sh -c "grep -q '^XMT: Info-Request' '$LAB_DIR/isc2.log' && grep -q '^RCV: Reply message' '$LAB_DIR/isc2.log'"
lab_check "isc2 (-S) was given no address and no prefix" \
    sh -c "! grep -Eq '^new_ip6_(address|prefix)=' '$LAB_DIR/isc2.hook'"
lab_check "isc2 (-S) learnt DNS server $SRV_DNS" has_dns isc2
lab_check "isc2 (-S) learnt domain $SRV_DOMAIN" has_domain isc2
srv_leases_to "$LAB_DIR/leases-2.json"
lab_check "leases: the Information-request created no lease (still 1)" \
    json_true "len(d['leases']) == 1" "$LAB_DIR/leases-2.json"

# 3. Address and prefix in one session.
cli_start isc3 -N -P
lab_wait 20 sh -c "grep -q '^new_ip6_address=' '$LAB_DIR/isc3.hook' && grep -q '^new_ip6_prefix=' '$LAB_DIR/isc3.hook'"
ADDR3=$(hook_last isc3 new_ip6_address)
PD3=$(hook_last isc3 new_ip6_prefix)
echo "isc3: address ${ADDR3:-none}, prefix ${PD3:-none} ($(lab_elapsed)s)"
lab_check "isc3 (-N -P) got another address than isc (${ADDR3:-none})" \
    test "${ADDR3:-x}" != "${ADDR:-y}"
lab_check "isc3 (-N -P) address is in the range" in_na_range "${ADDR3:-::}"
lab_check "isc3 (-N -P) got a /$SRV_PD_LEN inside $SRV_PD_POOL (${PD3:-none})" \
    lab_within "${PD3:-::/128}" "$SRV_PD_POOL" "$SRV_PD_LEN"
srv_leases_to "$LAB_DIR/leases-3.json"
sed 's/^/  | /' "$LAB_DIR/leases-3.json"
lab_check "leases: isc3's address and prefix are listed under one DUID" \
    json_true "len(set(l['duid'] for l in d['leases'] if l['prefix'] in ('${ADDR3:-none}/128', '${PD3:-none}'))) == 1 and len([l for l in d['leases'] if l['prefix'] in ('${ADDR3:-none}/128', '${PD3:-none}')]) == 2" \
    "$LAB_DIR/leases-3.json"
if [ "$SERVER_IMPL" = v6edge ]; then
    srv_status_json >"$LAB_DIR/status.json"
    lab_check "status: server.leases is na 2, pd 1" \
        json_true "d['server']['leases'] == {'na': 2, 'pd': 1}" "$LAB_DIR/status.json"
fi

# 4. Release of the address.
cli_release isc
lab_wait 10 srv_lacks_lease "${ADDR:-none}/128"
lab_check "after isc's Release (dhclient -r) ${ADDR:-none} is gone from leases" \
    srv_lacks_lease "${ADDR:-none}/128"
srv_leases_to "$LAB_DIR/leases-4.json"
lab_check "isc3's address and prefix are untouched by isc's Release" \
    json_true "len([l for l in d['leases'] if l['prefix'] in ('${ADDR3:-none}/128', '${PD3:-none}')]) == 2" \
    "$LAB_DIR/leases-4.json"
lab_finish
