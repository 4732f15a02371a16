#!/bin/bash
# demo.sh - delegation at any depth, in network namespaces.
#
#   [isp] isp0 ---- wan0 [r1] lan0 ---- wan0 [r2] lan0 ---- wan0 [r3] lan0 ---- eth0 [host]
#   v6edge server    v6edge             v6edge             v6edge             SLAAC host
#   isp-server.toml  cpe.toml           cpe.toml           cpe.toml
#
# An ISP delegates /56s; each router (the same examples/cpe.toml verbatim)
# keeps a /64 for its LAN and delegates from the rest to the router below,
# installing a route toward what it delegated. Prints each router's tree,
# pings from the ISP to the host and back; then the ISP renumbers (its pool
# moves, `v6edge reload`): Reconfigures carry the news down the chain, and
# the demo shows the host's new address and the pings again. Then it tears
# everything down. Run as root:
#
#   sudo scripts/demo.sh            # installs missing Debian packages, builds
#
# Everything stays inside the namespaces it creates, on documentation
# prefixes (2001:db8::/32) and link-local addresses.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin
[ "$(id -u)" = 0 ] || { echo "demo.sh: run as root (it creates network namespaces)" >&2; exit 2; }

"$ROOT/scripts/install-deps.sh" >/dev/null
(cd "$ROOT" && cargo build -q -p v6edge)
export V6EDGE_BIN=${CARGO_TARGET_DIR:-$ROOT/target}/debug/v6edge

set +eu
LAB_TIMEOUT=${LAB_TIMEOUT:-90}
. "$ROOT/tests/lab/netns.sh"
. "$ROOT/tests/lab/peers.sh"
ROUTERS=(r1 r2 r3)
ISP_ADDR=2001:db8:0:1::1

lab_init demo
echo "== building the chain: isp --- r1 --- r2 --- r3 --- host"
lab_ns_create isp
for r in "${ROUTERS[@]}"; do lab_ns_create "$r"; done
lab_ns_create host
lab_link isp isp0 r1 wan0
lab_link r1 lan0 r2 wan0
lab_link r2 lan0 r3 wan0
lab_link r3 lan0 host eth0
lab_addr isp isp0 "$ISP_ADDR/64"
for r in "${ROUTERS[@]}"; do lab_router "$r" wan0; done
lab_sysctl host net.ipv6.conf.all.forwarding=0 net.ipv6.conf.eth0.accept_ra=1 net.ipv6.conf.eth0.autoconf=1
lab_wait_dad isp isp0 || lab_die "no link-local on isp0"
for r in "${ROUTERS[@]}"; do lab_wait_dad "$r" wan0 lan0 || lab_die "no link-local on $r"; done
lab_wait_dad host eth0 || lab_die "no link-local on the host"
# The ISP's access router advertises a default route (RFC 7084 G-4).
start_isp_ra isp isp-ra isp0

T0=$(date +%s.%N)
echo "== starting v6edge: isp with examples/isp-server.toml, r1..r3 with examples/cpe.toml"
# The ISP runs a copy of examples/isp-server.toml so that its pool can move later.
cp "$ROOT/examples/isp-server.toml" "$LAB_DIR/isp-server.toml"
start_v6edge_server isp isp "$LAB_DIR/isp-server.toml" 10 || lab_die "the ISP server did not start"
for r in "${ROUTERS[@]}"; do start_v6edge "$r" "$r" "$ROOT/examples/cpe.toml"; done
host_addr() { ip -n "$(lab_ns host)" -6 -o addr show dev eth0 scope global | awk '{print $4}' | cut -d/ -f1 | head -1; }
lab_wait 60 sh -c "ip -n $(lab_ns host) -6 -o addr show dev eth0 scope global | grep -q 2001:db8" \
    || lab_die "the host got no address"
H=$(host_addr)
lab_wait 20 lab_ping host "$ISP_ADDR" || lab_die "the host cannot reach the ISP"
echo "   end-to-end in $(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s"

for n in isp "${ROUTERS[@]}"; do
    echo
    echo "== $n: v6edge tree"
    lab_exec "$n" "$V6EDGE_BIN" tree --control "$LAB_DIR/$n.sock" | sed 's/^/   /'
    echo "   routes: $(ip -n "$(lab_ns "$n")" -6 route show | grep -E "proto (118|119|120)" | sed 's/ metric.*//' | paste -sd';' | sed 's/;/; /g')"
done
echo
echo "== host: $H (SLAAC from r3's Router Advertisements)"
echo
echo "== ping from the ISP to the host"
lab_exec isp ping -c 2 -i 0.2 -W 1 "$H" | sed 's/^/   /' | tail -2
echo "== ping from the host to the ISP"
lab_exec host ping -c 2 -i 0.2 -W 1 "$ISP_ADDR" | sed 's/^/   /' | tail -2

echo
echo "== renumbering: the ISP's pool moves from 2001:db8:100::/40 to 2001:db8:200::/40"
sed -i 's|^prefix = "2001:db8:100::/40"|prefix = "2001:db8:200::/40"|' "$LAB_DIR/isp-server.toml"
T1=$(date +%s.%N)
lab_exec isp "$V6EDGE_BIN" reload --control "$LAB_DIR/isp.sock" >/dev/null
new_preferred() {
    ip -n "$(lab_ns host)" -6 -o addr show dev eth0 scope global to 2001:db8:200::/40 2>/dev/null \
        | grep -q 'preferred_lft [1-9]'
}
lab_wait 30 new_preferred || lab_die "the new prefix did not reach the host"
echo "   the host has the new prefix after $(awk -v a="$T1" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s"
ip -n "$(lab_ns host)" -6 -o addr show dev eth0 scope global \
    | awk '{for (i = 5; i < NF; i++) if ($i == "preferred_lft") p = $(i+1); print "   host:", $4, "preferred", p}'
lab_exec r3 "$V6EDGE_BIN" tree --control "$LAB_DIR/r3.sock" | sed 's/^/   r3: /'
H=$(ip -n "$(lab_ns host)" -6 -o addr show dev eth0 scope global to 2001:db8:200::/40 | awk '{print $4}' | cut -d/ -f1 | head -1)
lab_wait 10 lab_ping isp "$H" || lab_die "the ISP cannot reach the host's new address"
echo "== ping from the ISP to the host's new address $H"
lab_exec isp ping -c 2 -i 0.2 -W 1 "$H" | sed 's/^/   /' | tail -2
echo
echo "== tearing down"
