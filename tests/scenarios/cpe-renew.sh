#!/bin/bash
# cpe-renew.sh - renewal keeps a short-lived delegation alive; losing the
# server ends in Rebind and, once the valid lifetime is over, in the prefix
# being withdrawn from the LAN.
#
#   [isp] eth0 ---- wan0 [cpe] lan0 ---- eth0 [host]
#   Kea: T1 10 s, T2 16 s, preferred 20 s, valid 30 s
#
# RFC 8415 §18.2.4 (Renew at T1), §18.2.5 (Rebind at T2), §18.2.10.1 / RFC 7084
# WPD-3 (a prefix whose valid lifetime ran out is no longer used), RFC 9096 (the
# LAN lifetimes follow the delegation).
# Phase 1: 40 s after binding (several T1 cycles) the CPE still holds the
# same prefix and the LAN lifetimes were refreshed (a 30 s lifetime would
# have run out without renewal).  Phase 2: Kea is stopped; the CPE sends
# Rebind, and when the valid lifetime runs out the prefix disappears from
# lan0, from the host (gone or deprecated) and from the CPE's status.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
LAB_TIMEOUT=${LAB_TIMEOUT:-130}     # watchdog (netns.sh)
. "$HERE/../lab/netns.sh"
. "$HERE/../lab/peers.sh"
ISP_IMPL=kea ISP_T1=10 ISP_T2=16 ISP_PREFERRED=20 ISP_VALID=30
. "$HERE/../lab/cpe.sh"

HOLD=${RENEW_HOLD:-40}          # seconds to stay bound before the server goes away
lab_init "cpe-renew-$CPE_IMPL"
cpe_require
echo "cpe-renew: ISP_IMPL=$ISP_IMPL CPE_IMPL=$CPE_IMPL (T1 $ISP_T1, T2 $ISP_T2, preferred $ISP_PREFERRED, valid $ISP_VALID)"

cpe_topology
capture_start isp-cap
isp_start
cpe_start
PD=$(cpe_wait_delegation 30) || lab_die "the CPE got no prefix"
T_BOUND=$(date +%s)
echo "delegated prefix: $PD ($(lab_elapsed)s)"
lab_wait 15 has_addr_in host eth0 "$PD" || lab_log "host has no address in $PD yet"
cpe_show

# ---------------------------------------------------------------- phase 1
sleep $(( T_BOUND + HOLD - $(date +%s) ))
cpe_show
read -r _ LAN_V LAN_P <<<"$(addr_in cpe lan0 "$PD" | head -n 1)"
read -r _ HOST_V HOST_P <<<"$(addr_in host eth0 "$PD" | head -n 1)"
RENEWS=$(capture_decode isp-cap | grep -c 'dhcp6 renew')
echo "after ${HOLD}s bound: lan0 valid ${LAN_V:-none} preferred ${LAN_P:-none}, host valid ${HOST_V:-none} preferred ${HOST_P:-none}, $RENEWS Renew(s) on the wire"

gt10() { [ "$1" = forever ] || { [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -gt 10 ]; }; }
lab_check "after ${HOLD}s the CPE still holds the same prefix $PD" \
    test "$(cpe_delegations | tr '\n' ' ')" = "$PD "
lab_check "the CPE renewed: Renew messages on the uplink ($RENEWS)" test "$RENEWS" -ge 1
lab_check "cpe:lan0 still has its address in $PD, valid_lft > 10 s (${LAN_V:-none})" gt10 "${LAN_V:-0}"
lab_xcheck "$XF_LANLFT" "cpe:lan0 address lifetime follows the delegation (valid_lft <= $ISP_VALID)" \
    lifetime_le "${LAN_V:-x}" "$ISP_VALID"
lab_check "host still has its address in $PD, valid_lft > 10 s (${HOST_V:-none})" gt10 "${HOST_V:-0}"
lab_xcheck "$XF_RAFRESH" "host address lifetime follows the delegation (valid_lft <= $ISP_VALID)" \
    lifetime_le "${HOST_V:-x}" "$ISP_VALID"

# ---------------------------------------------------------------- phase 2
isp_stop
T_STOP=$(date +%s)
echo "ISP server stopped at $(lab_elapsed)s"
saw_rebind() {
    capture_decode isp-cap | grep -q 'dhcp6 rebind' && return 0
    [ "$CPE_IMPL" = v6edge ] && [ "$(cpe_state)" = rebinding ] && { echo rebinding >"$LAB_DIR/state.rebinding"; return 0; }
    return 1
}
# Rebind is due at most T2 after the last Renew/Reply, i.e. within T2 of now.
lab_wait $(( ISP_VALID + 2 )) saw_rebind
echo "rebind seen at $(lab_elapsed)s"
withdrawn() {
    [ -z "$(cpe_delegations)" ] && ! has_addr_in cpe lan0 "$PD"
}
# The valid lifetime ends at most ISP_VALID after the last Reply (before the stop).
lab_wait $(( T_STOP + ISP_VALID + 5 - $(date +%s) )) withdrawn
echo "withdrawal done at $(lab_elapsed)s"
lab_wait 3 deprecated_or_gone host eth0 "$PD"
cpe_show
echo "DHCPv6 on the uplink (in order, repeats counted):"
capture_decode isp-cap | sed 's/^.*dhcp6 \([a-z-]*\).*/\1/' | uniq -c | awk '{printf "  %s x%s\n", $2, $1}'

lab_xcheck "$XF_REBIND" "the CPE rebinds after the server went away (Rebind on the wire$([ -e "$LAB_DIR/state.rebinding" ] && echo ' or status rebinding'))" saw_rebind
lab_check "the CPE dropped the delegation once its valid lifetime ran out ($([ "$CPE_IMPL" = v6edge ] && echo 'status --json' || echo 'dhcp6c log'))" \
    test -z "$(cpe_delegations)"
lab_check_not "cpe:lan0 lost its address in $PD" has_addr_in cpe lan0 "$PD"
lab_xcheck "$XF_DEPRECATE" "host: its address in $PD is gone or deprecated (preferred_lft 0)" \
    deprecated_or_gone host eth0 "$PD"
echo "total $(( $(date +%s) - T_BOUND ))s after binding"

lab_finish
