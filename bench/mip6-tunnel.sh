#!/bin/bash
# mip6-tunnel.sh - throughput of v6edge's Mobile IPv6 userspace tunnel (TUN +
# IPv6-in-IPv6 at both ends, issue 9) against plain forwarding over the same
# links: one TCP flow (iperf3), both directions.
#
# Test bed: tests/lab/mip6.sh (v6edge home agent and mobile node, examples
# verbatim; the correspondent beyond the home agent), the mobile node
# registered on foreign link 1. The same namespaces carry both paths:
#   tunnel   correspondent <-> home address: cn -> ha (v6edge encapsulates)
#            -> ar1 -> mn (v6edge decapsulates) and back through the
#            reverse tunnel;
#   direct   correspondent <-> care-of address: the same cn -> ha -> ar1 ->
#            mn hops, plainly forwarded by the kernels (veth offloads on,
#            as the lab leaves them).
# iperf3 -s runs in mn; each run is `iperf3 -c ... -t SECONDS -O 1` from the
# correspondent (-R for mobile node -> correspondent). Besides the rates it
# prints, per run, what tells the limit apart: the CPU time each v6edge
# used (utime + stime from /proc, % of one core: a daemon near 100 % is the
# limit), iperf3's own CPU figures (client/server), the machine's CPU busy
# outside nice (near 100 %: all cores are taken, by the daemons, the
# kernels' forwarding in every namespace and iperf3 together), and where
# packets were dropped: the TUN devices' TX queues toward the daemons
# (txqueuelen) and the IPv6-in-IPv6 raw sockets' receive buffers.
#
# With --dsmip the mobile node sits on the IPv4-only link behind a NAT
# (tests/lab/mip6.sh mip6_ipv4_link) and registers by DSMIPv6 (RFC 5555):
# the tunnel is UDP over IPv4 at both ends; the direct path is IPv4 between
# the mobile node's address and the correspondent's, through the same NAT
# (iperf3 -c from the mobile node, so the NAT lets it in).
#
# Usage (root): bench/mip6-tunnel.sh [SECONDS] [--dsmip]     (default 10)
# Environment:  V6EDGE_BIN (default target/debug/v6edge; measure a release
#               build: cargo build --release -p v6edge, then
#               V6EDGE_BIN=target/release/v6edge).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
LAB=$HERE/../tests/lab
SECONDS_PER_RUN=10
DSMIP=0
for arg in "$@"; do
    case $arg in
        --dsmip) DSMIP=1 ;;
        *) SECONDS_PER_RUN=$arg ;;
    esac
done
[[ $SECONDS_PER_RUN =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [SECONDS] [--dsmip]" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "must run as root (network namespaces)" >&2; exit 2; }
command -v iperf3 >/dev/null || { echo "iperf3 missing (apt-get install -y iperf3)" >&2; exit 2; }
export PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin
export V6EDGE_LOG=${V6EDGE_LOG:-info}
LAB_TIMEOUT=$(( SECONDS_PER_RUN * 8 + 120 ))
. "$LAB/netns.sh"
. "$LAB/peers.sh"
. "$LAB/mip6.sh"

lab_init bench-mip6-tunnel
mip6_topology
if [ "$DSMIP" = 1 ]; then
    mip6_ipv4_link
    # examples/mobile-node.toml with DSMIPv6 (the key file beside it).
    cp "$MIP6_REPO_DIR/examples/mip6-demo.key" "$LAB_DIR/"
    { cat "$MIP6_MN_CONFIG"; echo 'home-agent-ipv4 = "169.254.255.1"'; } >"$LAB_DIR/mn-dsmip.toml"
    MIP6_MN_CONFIG=$LAB_DIR/mn-dsmip.toml
fi
mip6_start_ha
lab_wait 15 coa_in 2001:db8:1: || lab_die "no home address prefix on mn:eth0"
mip6_start_mn
if [ "$DSMIP" = 1 ]; then
    mip6_move ar3 br3
    mip6_ipv4_attach
    COA=169.254.2.2
    away_v4() { [ "$(mn_field location)/$(mn_field state)" = away-v4/bound ]; }
    lab_wait 30 away_v4 || lab_die "no DSMIPv6 registration on the IPv4 link"
    lab_daemon cn iperf3-server-cn iperf3 -s -p 5201
else
    mip6_move ar1 br1
    lab_wait 30 coa_in 2001:db8:a: || lab_die "no care-of address on link 1"
    COA=$(lab_global mn eth0)
    lab_wait 30 bound_at "$COA" || lab_die "no registration on link 1"
fi
lab_daemon mn iperf3-server iperf3 -s -p 5201
lab_wait 5 lab_exec mn sh -c "ss -ltn | grep -q ':5201 '" || lab_die "iperf3 -s did not start"

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$(cat "$LAB_DIR/$1.pid")/stat"; }
hz=$(getconf CLK_TCK)
# Where packets are lost: the TUN devices' TX drops (the kernel's queue
# toward the daemon, txqueuelen) and the IPv6-in-IPv6 raw sockets' drops
# (their receive buffer), summed over ha and mn.
tun_drops() {
    local n sum=0 d
    for n in ha mn; do
        d=$(ip -n "$(lab_ns "$n")" -s link show "v6e-${n}0" | awk '/TX:/ { getline; print $4 }')
        sum=$((sum + ${d:-0}))
    done
    echo "$sum"
}
raw_drops() {
    local n sum=0 d
    for n in ha mn; do
        # Protocol 41 raw sockets; with --dsmip the UDP socket on 4191 (or
        # the mobile node's ephemeral one) drops in /proc/net/udp.
        d=$(lab_exec "$n" awk '$2 ~ /:0029$/ { s += $NF } END { print s + 0 }' /proc/net/raw6)
        [ "$DSMIP" = 1 ] && d=$((d + $(lab_exec "$n" awk 'NR > 1 { s += $NF } END { print s + 0 }' /proc/net/udp)))
        sum=$((sum + d))
    done
    echo "$sum"
}
# busy: the machine's CPU time outside idle and nice (a background job at
# nice 19 only takes what is left), as "busy total" ticks.
busy() { awk '/^cpu / { print $2 + $4 + $6 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 }' /proc/stat; }
# run LABEL DEST [-R]: one iperf3 run from the correspondent, one line of
# results. CLIENT=mn runs it from the mobile node instead (IPv4 through the
# NAT), FAMILY=-4 in IPv4.
run() {
    local label=$1 dest=$2; shift 2
    local client=${CLIENT:-cn} family=${FAMILY:--6}
    local ha0 mn0 ha1 mn1 t0 t1 json td0 td1 rd0 rd1 b0 b1
    ha0=$(cpu_ticks ha); mn0=$(cpu_ticks mn); t0=$(date +%s.%N)
    td0=$(tun_drops); rd0=$(raw_drops); b0=$(busy)
    json=$(lab_exec "$client" iperf3 "$family" -c "$dest" -p 5201 -t "$SECONDS_PER_RUN" -O 1 -J "$@" 2>&1)
    t1=$(date +%s.%N); ha1=$(cpu_ticks ha); mn1=$(cpu_ticks mn)
    td1=$(tun_drops); rd1=$(raw_drops); b1=$(busy)
    echo "$json" >"$LAB_DIR/iperf-${label// /_}.json"
    echo "$json" | "$LAB_PY" -c '
import json, sys
label, t0, t1, hz, ha, mn, tund, rawd, b0, b1 = sys.argv[1:11]
t0, t1, hz, ha, mn = float(t0), float(t1), int(hz), int(ha), int(mn)
busy0, total0 = map(int, b0.split()); busy1, total1 = map(int, b1.split())
try:
    d = json.load(sys.stdin)
    e = d["end"]
    bps = e["sum_received"]["bits_per_second"]
    retr = e.get("sum_sent", {}).get("retransmits", "?")
    cpu = e.get("cpu_utilization_percent", {})
    wall = t1 - t0
    print("%-26s %8.1f Mbit/s  retransmits %-6s drops: tun %-6s raw %-6s  cpu: v6edge ha %3.0f%% mn %3.0f%%, iperf3 %2.0f%%/%2.0f%%, machine busy %3.0f%%" % (
        label, bps / 1e6, retr, tund, rawd, 100.0 * ha / hz / wall, 100.0 * mn / hz / wall,
        cpu.get("host_total", 0), cpu.get("remote_total", 0),
        100.0 * (busy1 - busy0) / max(1, total1 - total0)))
    print("RATE %s %.1f" % (label, bps / 1e6))
except Exception as exc:
    print("%-26s failed: %s" % (label, exc))
' "$label" "$t0" "$t1" "$hz" "$((ha1 - ha0))" "$((mn1 - mn0))" "$((td1 - td0))" "$((rd1 - rd0))" "$b0" "$b1"
}

echo "Mobile IPv6 tunnel throughput, one TCP flow, ${SECONDS_PER_RUN} s per run (iperf3 3, first second omitted)"
echo "v6edge: $V6EDGE_BIN; care-of address $COA$([ "$DSMIP" = 1 ] && echo " (DSMIPv6: UDP over IPv4 through a NAT)"); tunnel MTU $(ip -n "$(lab_ns ha)" link show v6e-ha0 | sed -n 's/.* mtu \([0-9]*\).*/\1/p')"
if [ "$DSMIP" = 1 ]; then
    out=$(
        run "tunnel cn->mn (home addr)" "$MIP6_HOA"
        run "tunnel mn->cn (home addr)" "$MIP6_HOA" -R
        # From the mobile node through the NAT: -R is cn -> mn.
        CLIENT=mn FAMILY=-4 run "direct cn->mn (IPv4, NAT)" 169.254.9.99 -R
        CLIENT=mn FAMILY=-4 run "direct mn->cn (IPv4, NAT)" 169.254.9.99
    )
else
    out=$(
        run "tunnel cn->mn (home addr)" "$MIP6_HOA"
        run "tunnel mn->cn (home addr)" "$MIP6_HOA" -R
        run "direct cn->mn (care-of)" "$COA"
        run "direct mn->cn (care-of)" "$COA" -R
    )
fi
echo "$out" | grep -v '^RATE'
echo "$out" | awk '$1 == "RATE" { r[$2 " " $3] = $NF }
    END {
        if (r["tunnel cn->mn"] && r["direct cn->mn"]) printf "ratio tunnel/direct cn->mn: %.3f\n", r["tunnel cn->mn"] / r["direct cn->mn"]
        if (r["tunnel mn->cn"] && r["direct mn->cn"]) printf "ratio tunnel/direct mn->cn: %.3f\n", r["tunnel mn->cn"] / r["direct mn->cn"]
    }'
exit 0
