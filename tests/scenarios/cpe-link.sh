#!/bin/bash
# cpe-link.sh - link events and the uplink's own address (IA_NA).
#
#   [isp] eth0 ---- wan0 [cpe] lan0 ---- eth0 [host]
#   Kea: pd-pool + an IA_NA address pool; v6edge with examples/cpe.toml plus
#   request-address = true
#
# 1. IA_NA and IA_PD in one session (RFC 7084 W-5): the CPE puts its leased
#    address on wan0 (as a /128) next to the delegated prefix.
# 2. The uplink goes down and comes back: the CPE Rebinds (RFC 8415 §18.2.5:
#    the link may have changed; a new Solicit would be wrong) and keeps its
#    prefix.
# 3. A LAN goes down and comes back: the kernel flushed lan0's addresses; the
#    CPE puts its router address back and sends RAs at once, so the host sees
#    an unsolicited RA within 2 s.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
LAB_TIMEOUT=${LAB_TIMEOUT:-90}     # watchdog (netns.sh)
. "$HERE/../lab/netns.sh"
. "$HERE/../lab/peers.sh"
ISP_IMPL=kea
CPE_IMPL=v6edge
ISP_NA_POOL=2001:db8:0:1::100-2001:db8:0:1::1ff
. "$HERE/../lab/cpe.sh"

lab_init "cpe-link"
cpe_require
echo "cpe-link: ISP_IMPL=$ISP_IMPL CPE_IMPL=$CPE_IMPL"

# examples/cpe.toml, also asking for an address on the uplink.
sed 's/^# request-address = false.*/request-address = true/' "$REPO_DIR/examples/cpe.toml" >"$LAB_DIR/cpe.toml"
grep -q '^request-address = true' "$LAB_DIR/cpe.toml" || lab_die "could not enable request-address"
CPE_CONFIG=$LAB_DIR/cpe.toml

cpe_topology
isp_start
cpe_start
PD=$(cpe_wait_delegation 30) || lab_die "the CPE got no prefix"
isp_route_back "$PD"
lab_wait 15 has_addr_in host eth0 "$PD" || lab_die "the host got no address in $PD"
cpe_show

wan0_na() { ip -n "$(lab_ns cpe)" -6 -o addr show dev wan0 scope global | grep -Eq 'inet6 2001:db8:0:1::1[0-9a-f]{2}/128'; }
status_has_na() { v6edge_status_json cpe-v6edge | lab_json '[a["address"] for a in d["uplink"]["addresses"]]' | grep -q '^2001:db8:0:1::1'; }
captured() { capture_decode isp-cap | grep -q "dhcp6 $1"; }
bound() { [ "$(cpe_state)" = bound ]; }
ras_seen() { grep -c 'router advertisement' "$LAB_DIR/host-ra.log"; }
ra_after() { [ "$(ras_seen)" -gt "$1" ]; }

# 1. The IA_NA address on wan0.
lab_check "wan0 has an IA_NA address from Kea's pool as a /128 (W-5)" lab_wait 10 wan0_na
lab_check "status lists the uplink address" status_has_na

# 2. Uplink flap.
capture_start isp-cap
ip -n "$(lab_ns cpe)" link set wan0 down
sleep 1
ip -n "$(lab_ns cpe)" link set wan0 up
lab_wait_dad cpe wan0 || lab_die "no link-local on wan0 after the flap"
lab_wait 15 captured reply || true
lab_stop isp-cap
lab_check "after the uplink flap the CPE sends Rebind (RFC 8415 §18.2.5)" captured rebind
lab_check_not "... and no new Solicit" captured solicit
lab_check "status: bound again" lab_wait 10 bound
PD2=$(cpe_wait_delegation 10) || PD2=
lab_check "the CPE keeps $PD" test "$PD2" = "$PD"

# 3. LAN flap: an unsolicited RA within 2 s of the link coming back.
lab_daemon host host-ra tcpdump -i eth0 -n -U -l --immediate-mode 'icmp6 and ip6[40] == 134'
lab_wait 5 grep -q 'listening on' "$LAB_DIR/host-ra.log" || lab_log "tcpdump host-ra not listening?"
ip -n "$(lab_ns cpe)" link set lan0 down
sleep 1
before=$(ras_seen)
ip -n "$(lab_ns cpe)" link set lan0 up
T_UP=$(lab_elapsed)
lab_check "an RA reaches the host within 2 s of lan0 coming back" lab_wait 2 ra_after "$before"
echo "lan0 up at ${T_UP}s; RA seen by $(lab_elapsed)s"
lab_check "cpe:lan0 has its router address in $PD again" lab_wait 5 has_addr_in cpe lan0 "$PD"
lab_check "the host still reaches the ISP" lab_wait 10 lab_ping host "$ISP_ADDR"

lab_finish
