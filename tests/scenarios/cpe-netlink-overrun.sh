#!/bin/bash
# cpe-netlink-overrun.sh - lost rtnetlink notifications are survivable: the
# daemon notices, re-reads the kernel's state, and its view is right.
#
#   [isp] eth0 ---- wan0 [cpe] lan0 ---- eth0 [host]
#   Kea                examples/cpe.toml with a tiny     SLAAC host
#                      notification buffer
#
# The CPE runs with `[daemon] netlink-receive-buffer = 4096`, so a burst of
# kernel changes overruns its notification socket on purpose (ENOBUFS, the
# kernel drops what does not fit). The burst: 10 000 routes added through
# a stub interface, the uplink's default route removed in the middle of
# them, 10 000 more (routes, not addresses: the kernel adds addresses to
# one interface in quadratic time, 8000 take a minute). Checks:
#   - the daemon counted the overrun and resynchronised from dumps
#     (status io.netlink_overruns, io.netlink_resyncs);
#   - its view is right afterwards: status says the uplink has no default
#     route, and the LAN host hears router lifetime 0 (RFC 7084 G-4);
#   - when the default route comes back, so does everything;
#   - one throttled log line for all the overruns, not one per loss.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
LAB_TIMEOUT=${LAB_TIMEOUT:-120}
: "${V6EDGE_LOG:=info}"
. "$HERE/../lab/netns.sh"
. "$HERE/../lab/peers.sh"
. "$HERE/../lab/cpe.sh"

[ "$CPE_IMPL" = v6edge ] || { echo "cpe-netlink-overrun: v6edge only (CPE_IMPL=$CPE_IMPL)"; echo "0 passed, 0 failed"; exit 0; }
lab_init "cpe-netlink-overrun"
cpe_require
lab_require rdisc6

CPE_CONFIG=$LAB_DIR/cpe-small-netlink.toml
sed 's/^\[daemon\]$/[daemon]\nnetlink-receive-buffer = 4096/' "$REPO_DIR/examples/cpe.toml" >"$CPE_CONFIG"
grep -q '^netlink-receive-buffer = 4096$' "$CPE_CONFIG" || lab_die "could not set the buffer in a copy of examples/cpe.toml"

cpe_topology
isp_start
cpe_start
PD=$(cpe_wait_delegation 30) || PD=
[ -n "$PD" ] || lab_die "the CPE got no delegation"
lab_wait 15 has_addr_in host eth0 "$PD" || lab_die "the host did not autoconfigure"
status() { v6edge_status_json cpe-v6edge; }
status >"$LAB_DIR/status-0.json"
lab_check "before: the uplink has a default route (status)" json_true 'd["uplink"]["default_router"]' "$LAB_DIR/status-0.json"
O0=$(lab_json 'd["io"]["netlink_overruns"]' <"$LAB_DIR/status-0.json")

# The burst. The ISP's RAs would put the default route back at once:
# the uplink stops accepting them first (that change is itself an event).
lab_dummy cpe churn0
{
    for i in $(seq 1 10000); do printf 'route add 2001:db8:ff:%x::/64 dev churn0\n' "$i"; done
    echo "route del ::/0 dev wan0"
    for i in $(seq 10001 20000); do printf 'route add 2001:db8:ff:%x::/64 dev churn0\n' "$i"; done
} >"$LAB_DIR/burst.batch"
lab_sysctl cpe net.ipv6.conf.wan0.accept_ra=0
T0=$(date +%s.%N)
lab_run ip -n "$(lab_ns cpe)" -batch "$LAB_DIR/burst.batch" || lab_die "the burst failed"
echo "burst applied in $(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.2f", b-a}') s"
lab_check "the default route is really gone" \
    sh -c "! ip -n $(lab_ns cpe) -6 route show default | grep -q ."

no_default_in_status() { status | lab_json 'd["uplink"]["default_router"]' | grep -qx False; }
lab_check "after: status says the uplink has no default route" lab_wait 10 no_default_in_status
status >"$LAB_DIR/status-1.json"
lab_json 'd["io"]' <"$LAB_DIR/status-1.json" | sed 's/^/  io: /'
lab_check "the overrun was noticed (io.netlink_overruns grew)" \
    json_true "d['io']['netlink_overruns'] > ${O0:-0}" "$LAB_DIR/status-1.json"
lab_check "and the daemon resynchronised from dumps (io.netlink_resyncs > 0)" \
    json_true "d['io']['netlink_resyncs'] > 0" "$LAB_DIR/status-1.json"
lifetime_zero() {
    lab_exec host timeout 10 rdisc6 -r 3 -w 1000 eth0 2>/dev/null | grep -Eq 'Router lifetime *: *0 '
}
lab_check "the LAN host hears router lifetime 0 (RFC 7084 G-4)" lab_wait 15 lifetime_zero

# Recovery: RAs accepted again, the default route returns.
lab_sysctl cpe net.ipv6.conf.wan0.accept_ra=2
has_default_in_status() { status | lab_json 'd["uplink"]["default_router"]' | grep -qx True; }
lab_check "after the route returns, status says so again" lab_wait 40 has_default_in_status
lifetime_back() {
    lab_exec host timeout 10 rdisc6 -r 3 -w 1000 eth0 2>/dev/null | grep -Eq 'Router lifetime *: *[1-9]'
}
lab_check "and the host hears a non-zero router lifetime again" lab_wait 15 lifetime_back
OVERRUN_LINES=$(grep -c 'rtnetlink notifications lost' "$LAB_DIR/cpe-v6edge.log" 2>/dev/null)
echo "overrun log lines: ${OVERRUN_LINES:-0}"
lab_check "the overruns were logged in a few throttled lines (${OVERRUN_LINES:-0})" \
    test "${OVERRUN_LINES:-0}" -ge 1 -a "${OVERRUN_LINES:-0}" -le 5
lab_check "netlink-proto's per-loss warning is not in the log" \
    sh -c "! grep -q 'netlink socket buffer full' '$LAB_DIR/cpe-v6edge.log'"
lab_finish
