#!/bin/bash
# server-restart.sh - v6edge as a delegating server restarting with many
# stored leases: time until it serves again, time until every route toward a
# delegated prefix is back in the kernel (routes/s), and its RSS.
#
#   [srv] isp0 ---- eth0 [cli]        (the leases' next hop fe80::2 is cli's)
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
serving() { lab_exec srv "$V6EDGE_BIN" status --control "$LAB_DIR/srv.sock" --json >/dev/null 2>&1; }
t_start=$(date +%s.%N)
lab_daemon srv srv "$V6EDGE_BIN" run --config "$LAB_DIR/srv.toml" --state-dir "$LAB_DIR/srv.state" --control "$LAB_DIR/srv.sock" --log-level warn
lab_wait 600 serving || lab_die "the server did not answer within 600 s"
t_serving=$(date +%s.%N)
lab_wait 900 sh -c "[ \$(ip -n $(lab_ns srv) -6 route show proto 118 | wc -l) -ge $N ]" || echo "not every route came back ($(routes))"
t_routes=$(date +%s.%N)
pid=$(cat "$LAB_DIR/pids.list" | awk '$3 == "srv" {print $1}' | tail -1)
rss=$(ps -o rss= -p "${pid:-0}" 2>/dev/null | tr -d ' ')
leases=$(lab_exec srv "$V6EDGE_BIN" status --control "$LAB_DIR/srv.sock" --json | lab_json 'd["server"]["leases"].get("pd", 0)')
awk -v n="$N" -v s="$t_start" -v a="$t_serving" -v r="$t_routes" -v rss="${rss:-0}" -v l="$leases" -v k="$(routes)" 'BEGIN{
  printf "leases restored: %d of %d; routes in the kernel: %d\n", l, n, k
  printf "start -> control socket answers: %.2f s\n", a - s
  printf "start -> every route installed:  %.2f s (%.0f routes/s)\n", r - s, k / (r - s)
  printf "RSS after restore: %.0f MiB\n", rss / 1024 }'
