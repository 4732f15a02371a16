#!/bin/bash
# server-restart.sh - v6edge as a delegating server restarting with many
# stored leases: time until it answers a Solicit again, time until every
# route toward a delegated prefix is back in the kernel (routes/s), its RSS,
# and, in the same run, the time the kernel alone needs to add the same
# routes (`ip -6 -batch`, with expiry): the physical limit.
#
#   [srv] isp0 ---- eth0 [cli]        (the leases' next hop fe80::2 is cli's)
#   [base] isp0                       (the kernel baseline's namespace)
#
# Measured without disturbing what is measured (issue 12): a full dump of a
# routing table that is changing is expensive in the kernel and slows the
# very inserts it would count, so progress is checked by route lookups of
# 300 leases sampled at random (`ip -batch` of `route get`, one process),
# and the routes are counted once, at the end.
#
# usage: sudo bench/server-restart.sh [LEASES]     (default 1000000)
# Uses the release build (cargo build --release -p v6edge --example fill_leases).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
N=${1:-1000000}
export PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin
[ "$(id -u)" = 0 ] || { echo "server-restart.sh: run as root" >&2; exit 2; }
(cd "$ROOT" && cargo build -q --release -p v6edge --example fill_leases) || exit 1
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}/release
V6EDGE_BIN=$TARGET/v6edge
LAB_TIMEOUT=${LAB_TIMEOUT:-900}
. "$ROOT/tests/lab/netns.sh"
. "$ROOT/tests/lab/peers.sh"
lab_init server-restart

# A pool large enough for N /56s: 2001:db8:c000::/34 holds 2^22.
cat >"$LAB_DIR/srv.toml" <<CONF
[server]
dns-servers = ["2001:db8:0:1::53"]
[[server.link]]
interface = "isp0"
  [[server.link.prefix-pool]]
  prefix = "2001:db8:c000::/34"
  delegated-length = 56
  preferred-lifetime = 3600
  valid-lifetime = 7200
CONF
lab_ns_create srv
lab_ns_create cli
lab_link srv isp0 cli eth0
lab_addr srv isp0 2001:db8:0:1::1/64
lab_run ip -n "$(lab_ns cli)" addr add fe80::2/64 dev eth0 nodad
mkdir -p "$LAB_DIR/srv.state"
t0=$(date +%s.%N)
"$TARGET/examples/fill_leases" "$LAB_DIR/srv.state/leases.db" "$N" 2001:db8:c000::/34 56 isp0 fe80::2 7200 || lab_die "fill failed"
echo "filled $N leases in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s ($(du -h "$LAB_DIR/srv.state/leases.db" | cut -f1))"

routes() { ip -n "$(lab_ns srv)" -6 route show proto 118 | wc -l; }
# The prefix of lease I (fill_leases: the pool's I-th /56).
python3 - "$N" >"$LAB_DIR/sample.batch" <<'EOP'
import ipaddress, random, sys
n = int(sys.argv[1])
base = int(ipaddress.IPv6Address("2001:db8:c000::"))
for i in random.Random(7).sample(range(n), min(300, n)):
    print(f"route get {ipaddress.IPv6Address(base + (i << 72))}")
EOP
SAMPLES=$(wc -l <"$LAB_DIR/sample.batch")
sampled_back() { [ "$(ip -n "$(lab_ns srv)" -force -batch "$LAB_DIR/sample.batch" 2>/dev/null | grep -c 'proto 118')" -ge "$SAMPLES" ]; }
serving() { lab_exec srv "$V6EDGE_BIN" status --control "$LAB_DIR/srv.sock" --json >/dev/null 2>&1; }

t_start=$(date +%s.%N)
lab_daemon srv srv "$V6EDGE_BIN" run --config "$LAB_DIR/srv.toml" --state-dir "$LAB_DIR/srv.state" --control "$LAB_DIR/srv.sock" --log-level warn
lab_wait 600 serving || lab_die "the server did not answer within 600 s"
t_serving=$(date +%s.%N)
lab_wait 900 sampled_back || echo "not every sampled route came back"
t_routes=$(date +%s.%N)
pid=$(awk '$3 == "srv" {print $1}' "$LAB_DIR/pids.list" | tail -1)
rss=$(ps -o rss= -p "${pid:-0}" 2>/dev/null | tr -d ' ')
leases=$(lab_exec srv "$V6EDGE_BIN" status --control "$LAB_DIR/srv.sock" --json | lab_json 'd["server"]["leases"].get("pd", 0)')
installed=$(routes)
lab_stop srv

# The kernel alone: the same N routes (with expiry) by ip -6 -batch.
lab_ns_create base
lab_run ip -n "$(lab_ns base)" link add isp0 type veth peer name isp1
lab_run ip -n "$(lab_ns base)" link set isp0 up
lab_run ip -n "$(lab_ns base)" link set isp1 up
python3 - "$N" >"$LAB_DIR/routes.batch" <<'EOP'
import ipaddress, sys
base = int(ipaddress.IPv6Address("2001:db8:c000::"))
for i in range(int(sys.argv[1])):
    print(f"route add {ipaddress.IPv6Address(base + (i << 72))}/56 via fe80::2 dev isp0 proto 118 expires 7200")
EOP
t_k=$(date +%s.%N)
ip -n "$(lab_ns base)" -batch "$LAB_DIR/routes.batch" || echo "ip -batch failed"
t_k_end=$(date +%s.%N)
kernel_routes=$(ip -n "$(lab_ns base)" -6 route show proto 118 | wc -l)

awk -v n="$N" -v s="$t_start" -v a="$t_serving" -v r="$t_routes" -v rss="${rss:-0}" -v l="$leases" -v k="$installed" \
    -v ks="$t_k" -v ke="$t_k_end" -v kn="$kernel_routes" 'BEGIN{
  printf "leases restored: %d of %d; routes in the kernel at the end: %d\n", l, n, k
  printf "start -> control socket answers:  %.2f s\n", a - s
  printf "start -> every route installed:    %.2f s (%.0f routes/s; 300 sampled lookups)\n", r - s, n / (r - s)
  printf "kernel alone (ip -6 -batch):       %.2f s for %d routes (%.0f routes/s)\n", ke - ks, kn, kn / (ke - ks)
  printf "ratio v6edge / kernel:             %.2f\n", (r - s) / (ke - ks)
  printf "RSS after restore: %.0f MiB\n", rss / 1024 }'
