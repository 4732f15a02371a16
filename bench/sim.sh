#!/bin/bash
# sim.sh - the network simulator at scale (issue 8, item 6): cold start and
# renumbering of 1k, 10k and 100k CPEs behind 10 relays, each CPE delegating
# to one router below it (depth 2: 2k, 20k, 200k requesting routers), all
# running the unmodified machines over simulated links.
#
# Prints one table row per size: nodes (server + relays + routers), simulated
# seconds to converge (every router holds its prefix, routed hop by hop from
# the server) and to renumber (the server's pool moved; Reconfigure carries
# it down), messages sent, wall-clock seconds and peak RSS of the process,
# and the invariant violations counted (must be 0).
#
# Usage: bench/sim.sh [SIZES...]   (default: 1000 10000 100000)
# Environment: SEED (default 1), LOSS (default 0), DEPTH (default 2),
#              RELAYS (default 10).
# The bound the issue sets: 10,000 CPEs (20,000+ nodes) in under 60 s wall
# time on the 2-core build machine.
set -euo pipefail
cd "$(dirname "$0")/.."
SEED=${SEED:-1}
LOSS=${LOSS:-0}
DEPTH=${DEPTH:-2}
RELAYS=${RELAYS:-10}
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(1000 10000 100000)

cargo build --release -q -p v6edge-sim
BIN=${CARGO_TARGET_DIR:-target}/release/v6edge-sim

printf '%8s %8s %12s %13s %10s %8s %12s %11s\n' \
    cpes nodes converged_s renumbered_s messages wall_s peak_rss_mb violations
for n in "${SIZES[@]}"; do
    line=$("$BIN" --cpes "$n" --relays "$RELAYS" --depth "$DEPTH" --seed "$SEED" \
        --loss "$LOSS" --renumber)
    python3 - "$n" "$line" <<'PY'
import json, sys
n, r = sys.argv[1], json.loads(sys.argv[2])
f = lambda v: "-" if v is None else v
print(f"{n:>8} {r['nodes']:>8} {f(r['converged_s']):>12} {f(r['renumbered_s']):>13} "
      f"{r['messages']:>10} {r['wall_s']:>8} {r['peak_rss_mb']:>12} {r['invariant_violations']:>11}")
PY
done
