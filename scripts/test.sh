#!/bin/bash
# test.sh - the project's test command (the one the README names).
#
#   1. cargo build --workspace --all-targets   (also builds target/debug/v6edge,
#                                               which tests/netns runs)
#   2. cargo test --workspace                  (unit, property and simulation
#                                               tests, and the netns scenarios of
#                                               tests/scenarios via tests/netns;
#                                               those skip unless run as root)
#   3. scripts/lint.sh                         (clippy -D warnings; protocol crates
#                                               free of I/O dependencies)
#   4. scripts/fuzz.sh                         (every fuzz target for
#                                               FUZZ_SECONDS, default 30)
#
# Usage: scripts/test.sh [--no-fuzz]
# Environment: CPE_IMPL=v6edge|wide (netns scenarios, default v6edge),
# FUZZ_SECONDS, CARGO_TARGET_DIR (honoured by every step).
set -euo pipefail
cd "$(dirname "$0")/.."

with_fuzz=1
[ "${1:-}" = --no-fuzz ] && with_fuzz=0
# The netns scenarios call ip, radvd, the DHCPv6 servers: all in sbin.
export PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin

step() { echo; echo "=== $* ($(date +%H:%M:%S))"; }

step "cargo build --workspace --all-targets"
cargo build --workspace --all-targets

step "cargo test --workspace"
cargo test --workspace

step "lint (clippy -D warnings, protocol crates free of I/O)"
scripts/lint.sh

if [ "$with_fuzz" = 1 ]; then
    step "fuzz smoke runs"
    scripts/fuzz.sh
fi
step "all tests passed"
