#!/bin/bash
# cpe-restart.sh - the CPE crashes (kill -9) and is restarted with the same
# state directory: it asks for the prefix it had (IAPREFIX hint), keeps it,
# and the LAN does not notice (same /64 on lan0, the host keeps its address).
#
#   [isp] eth0 ---- wan0 [cpe] lan0 ---- eth0 [host]
#   Kea (pd-pool)       v6edge: kill -9, restart with the same --state-dir
#                       wide: kill -9 dhcp6c (radvd keeps running), restart it
#
# RFC 8415 §18.2.1 (a client may put the prefix it wants in IA_PD as a hint),
# RFC 9096 §3 (a CPE should keep its delegated prefix across restarts, so
# hosts are not renumbered), RFC 7084 WPD-4.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
LAB_TIMEOUT=${LAB_TIMEOUT:-90}     # watchdog (netns.sh)
. "$HERE/../lab/netns.sh"
. "$HERE/../lab/peers.sh"
ISP_IMPL=kea
. "$HERE/../lab/cpe.sh"

lab_init "cpe-restart-$CPE_IMPL"
cpe_require
echo "cpe-restart: ISP_IMPL=$ISP_IMPL CPE_IMPL=$CPE_IMPL"

cpe_topology
isp_start
cpe_start
PD=$(cpe_wait_delegation 30) || lab_die "the CPE got no prefix"
lab_wait 15 has_addr_in host eth0 "$PD" || lab_die "the host got no address in $PD"
LAN_BEFORE=$(addr_in cpe lan0 "$PD" | awk '{print $1}')
HOST_BEFORE=$(addr_in host eth0 "$PD" | awk '{print $1}')
echo "before the crash: prefix $PD, lan0 $LAN_BEFORE, host $HOST_BEFORE ($(lab_elapsed)s)"
cpe_show

# Crash, then capture what the restarted client sends.
cpe_kill9 || lab_die "could not kill the CPE"
echo "CPE killed at $(lab_elapsed)s"
capture_start isp-cap
cpe_start
PD2=$(cpe_wait_delegation 30) || PD2=
echo "after the restart: prefix ${PD2:-none} ($(lab_elapsed)s)"
lab_wait 5 has_addr_in cpe lan0 "${PD2:-::/128}"
sleep 1    # let a possible renumbering reach the host before looking
cpe_show
lab_stop isp-cap
capture_decode isp-cap >"$LAB_DIR/isp-cap.txt"
echo "DHCPv6 after the restart:"; sed 's/^.*dhcp6 /  dhcp6 /' "$LAB_DIR/isp-cap.txt" | cut -c1-240
# The client's first message after the restart (Solicit, Request, Rebind or Confirm).
FIRST=$(grep -E 'dhcp6 (solicit|request|rebind|renew|confirm)' "$LAB_DIR/isp-cap.txt" | head -n 1)

lab_check "the restarted CPE is running" lab_alive "$(cpe_name)"
lab_check "the restarted CPE holds the same prefix ($PD -> ${PD2:-none})" test "${PD2:-none}" = "$PD"
lab_xcheck "$XF_HINT" "its first message after the restart asks for $PD (IAPREFIX hint)" \
    grep -q "IA_PD-prefix $PD " <<<"$FIRST"
lab_check "cpe:lan0 keeps the same /64 address ($LAN_BEFORE)" \
    test "$(addr_in cpe lan0 "$PD" | awk '{print $1}')" = "$LAN_BEFORE"
lab_check "cpe:lan0 has no address outside $PD" \
    test "$(ip -n "$(lab_ns cpe)" -6 -o addr show dev lan0 scope global | wc -l)" = 1
lab_check "host keeps its address $HOST_BEFORE, still preferred" \
    sh -c "[ -n '$HOST_BEFORE' ] && ip -n $(lab_ns host) -6 -o addr show dev eth0 | grep -q ' ${HOST_BEFORE%/*}/' &&
           ! ip -n $(lab_ns host) -6 -o addr show dev eth0 | grep ' ${HOST_BEFORE%/*}/' | grep -q deprecated"
if [ "$CPE_IMPL" = v6edge ]; then
    lab_check "status: uplink bound again" test "$(cpe_state)" = bound
fi
isp_route_back "$PD"
lab_wait 5 lab_ping host "$ISP_ADDR"
lab_check "host reaches the ISP's $ISP_ADDR after the restart" lab_ping host "$ISP_ADDR"

lab_finish
