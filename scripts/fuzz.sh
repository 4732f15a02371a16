#!/bin/bash
# fuzz.sh - short fuzz runs of every target in fuzz/fuzz_targets/.
#
# Each target runs `cargo fuzz run TARGET -s none -- -max_total_time=N` on a
# scratch corpus seeded from the packet fixtures of crates/wire:
#   dhcp6*  <- crates/wire/tests/fixtures/dhcp6
#   nd*     <- crates/wire/tests/fixtures/nd
# (or, when a fixture directory is missing, the lab's capture corpus at
# ../shared/lab/corpus/{dhcpv6,ndisc} if that exists; otherwise no seeds).
# `-s none` (no sanitizer) builds on the stable toolchain: cargo-fuzz still
# instruments for coverage (-Cpasses=sancov-module, stable codegen options);
# only the sanitizers need nightly.  Checked with cargo-fuzz 0.13.2 and
# rustc 1.95.
#
# Without cargo-fuzz (FUZZ_MODE=replay, or `cargo fuzz` missing) each target
# is built with plain `cargo build` and run once over the seeds: libFuzzer's
# main executes the files given on its command line, so every fixture is at
# least parsed without a crash.
#
# Environment: FUZZ_SECONDS (default 30), FUZZ_MODE=fuzz|replay,
# FUZZ_TARGETS="a b" (default: all).  A crash fails the script; libFuzzer
# writes the input to fuzz/artifacts/TARGET/.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

FUZZ_SECONDS=${FUZZ_SECONDS:-30}
FUZZ_MODE=${FUZZ_MODE:-fuzz}

shopt -s nullglob
targets=()
if [ -n "${FUZZ_TARGETS:-}" ]; then
    read -r -a targets <<<"$FUZZ_TARGETS"
else
    for f in fuzz/fuzz_targets/*.rs; do targets+=("$(basename "$f" .rs)"); done
fi
if [ ! -f fuzz/Cargo.toml ] || [ ${#targets[@]} -eq 0 ]; then
    echo "fuzz: no targets in fuzz/fuzz_targets, nothing to do"
    exit 0
fi

if [ "$FUZZ_MODE" = fuzz ] && ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: cargo-fuzz not installed (scripts/install-deps.sh installs it); replaying seeds only"
    FUZZ_MODE=replay
fi

# seeds_for TARGET: the seed directory for a target, or nothing.
seeds_for() {
    local fixture shared
    case $1 in
        dhcp6*) fixture=crates/wire/tests/fixtures/dhcp6; shared=../shared/lab/corpus/dhcpv6 ;;
        nd*)    fixture=crates/wire/tests/fixtures/nd;    shared=../shared/lab/corpus/ndisc ;;
        *)      return 0 ;;
    esac
    if [ -d "$fixture" ]; then echo "$ROOT/$fixture"
    elif [ -d "$shared" ]; then (cd "$shared" && pwd)
    fi
}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/v6edge-fuzz.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

failed=()
for t in "${targets[@]}"; do
    corpus=$WORK/$t
    mkdir -p "$corpus"
    seeds=$(seeds_for "$t")
    # Fixtures may sit in sub-directories and next to non-packet files
    # (README, .md): copy the packet files only.
    if [ -n "$seeds" ]; then
        find "$seeds" -type f \( -name '*.bin' -o -name '*.raw' -o ! -name '*.*' \) \
            -exec cp -t "$corpus" {} + 2>/dev/null || true
    fi
    n=$(find "$corpus" -type f | wc -l)
    echo "=== fuzz $t: mode $FUZZ_MODE, $n seed(s) from ${seeds:-nowhere}"
    if [ "$FUZZ_MODE" = fuzz ]; then
        if ! cargo fuzz run "$t" -s none "$corpus" -- -max_total_time="$FUZZ_SECONDS" -print_final_stats=1; then
            failed+=("$t")
        fi
    else
        if ! cargo build --manifest-path fuzz/Cargo.toml --bin "$t"; then
            failed+=("$t"); continue
        fi
        dir=${CARGO_TARGET_DIR:-fuzz/target}
        files=("$corpus"/*)
        if [ ${#files[@]} -eq 0 ]; then
            echo "fuzz $t: no seeds to replay (built only)"
        elif ! "$dir/debug/$t" "${files[@]}"; then
            failed+=("$t")
        fi
    fi
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: FAILED: ${failed[*]}"
    exit 1
fi
echo "fuzz: ${#targets[@]} target(s) ok: ${targets[*]}"
