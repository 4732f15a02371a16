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
# FUZZ_SECONDS, CARGO_TARGET_DIR (honoured by every step),
# V6EDGE_TEST_POSTGRES (connection string of a PostgreSQL server for the
# shared lease store's tests; scripts/postgres-test.sh makes one; without it
# those tests skip, except under CI where they fail).
# Builds and tests with the `postgres` feature of the store and the daemon.
set -euo pipefail
cd "$(dirname "$0")/.."

with_fuzz=1
[ "${1:-}" = --no-fuzz ] && with_fuzz=0
# The netns scenarios call ip, radvd, the DHCPv6 servers: all in sbin.
export PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin

step() { echo; echo "=== $* ($(date +%H:%M:%S))"; }

# As root (the netns scenarios need it): the Debian packages and cargo-fuzz,
# each only if missing, and a local PostgreSQL for the shared lease store's
# tests unless one is given (.ci/run gives one and stops it afterwards).
if [ "$(id -u)" = 0 ]; then
    step "dependencies (scripts/install-deps.sh: only what is missing)"
    if [ "$with_fuzz" = 1 ]; then scripts/install-deps.sh; else scripts/install-deps.sh --no-fuzz; fi
    if [ -z "${V6EDGE_TEST_POSTGRES:-}" ]; then
        step "PostgreSQL for the shared lease store (scripts/postgres-test.sh)"
        V6EDGE_TEST_POSTGRES=$(scripts/postgres-test.sh)
        export V6EDGE_TEST_POSTGRES
    fi
fi

FEATURES=(--features v6edge/postgres,v6edge-store/postgres)

step "cargo build --workspace --all-targets ${FEATURES[*]}"
cargo build --workspace --all-targets "${FEATURES[@]}"

step "cargo test --workspace ${FEATURES[*]}"
cargo test --workspace "${FEATURES[@]}"

step "lint (clippy -D warnings, protocol crates free of I/O)"
scripts/lint.sh

if [ "$with_fuzz" = 1 ]; then
    step "fuzz smoke runs"
    scripts/fuzz.sh
fi
step "all tests passed"
