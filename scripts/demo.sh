#!/bin/bash
# demo.sh - v6edge as a home router, end to end, in network namespaces.
#
#   [isp] eth0 -------------- wan0 [cpe] lan0 -------------- eth0 [host]
#   Kea DHCPv6 server              v6edge run                  SLAAC host
#   (pd-pool 2001:db8:100::/40     --config examples/cpe.toml
#    -> /56s) + radvd
#
# v6edge asks the ISP for a prefix (DHCPv6-PD), puts a /64 of it on lan0 and
# advertises it; the host configures an address by itself and pings the ISP.
# Prints v6edge's status, the host's address and the ping, then tears
# everything down (namespaces, daemons). Run as root:
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
LAB_TIMEOUT=${LAB_TIMEOUT:-60}
ISP_IMPL=kea
CPE_IMPL=v6edge
. "$ROOT/tests/lab/netns.sh"
. "$ROOT/tests/lab/peers.sh"
. "$ROOT/tests/lab/cpe.sh"

lab_init demo
cpe_require
echo "== building the topology: isp --- cpe --- host"
cpe_topology
isp_start
echo "== starting: v6edge run --config examples/cpe.toml"
cpe_start
PD=$(cpe_wait_delegation 30) || lab_die "the CPE got no prefix"
echo "   delegated prefix: $PD (after $(lab_elapsed)s)"
# Kea, like every packaged server, adds no route toward what it delegates.
isp_route_back "$PD"
LAN64=$(lab_subnet "$PD" 64 0)
lab_wait 15 has_addr_in host eth0 "$PD" || lab_die "the host did not autoconfigure"

echo
echo "== v6edge status"
lab_exec cpe "$V6EDGE_BIN" status --control "$LAB_DIR/cpe-v6edge.sock" | sed 's/^/   /'
echo
echo "== host (SLAAC from v6edge's Router Advertisements on $LAN64)"
lab_exec host ip -6 addr show dev eth0 scope global | sed 's/^/   /'
lab_exec host ip -6 route show default | sed 's/^/   /'
echo
echo "== ping from the host to the ISP ($ISP_ADDR)"
lab_exec host ping -c 3 -i 0.2 -W 1 "$ISP_ADDR" | sed 's/^/   /'
echo
echo "== tearing down"
