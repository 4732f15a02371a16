#!/bin/bash
# fuzz.sh - fuzz every target in fuzz/fuzz_targets/: short runs for CI, long
# runs by time or by executions, with a per-target summary.
#
# Usage:
#   scripts/fuzz.sh                      CI: every target FUZZ_SECONDS (30) s
#   scripts/fuzz.sh --seconds N [T...]   long run: each target N seconds
#   scripts/fuzz.sh --runs N [T...]      long run: each target N executions
#   (both --runs and --seconds: each target stops at whichever comes first)
# Options (long runs):
#   --jobs J       J libFuzzer processes per target sharing one corpus, the
#                  runs split between them (executions are summed)
#   --parallel P   P targets at once (default 1)
#   --summary F    where the summary table goes (default
#                  ${CARGO_TARGET_DIR:-fuzz/target}/fuzz-summary.txt)
#
# Every target is built once with `cargo fuzz build -s none` and its binary
# run directly, so each process has its own log to read the figures from:
# libFuzzer's final stats (-print_final_stats=1: number_of_executed_units,
# average_exec_per_sec), or its "Done N runs in S second(s)" line. The
# summary table gives per target: executions, wall seconds, executions per
# second (executions / wall time; with --jobs, over all its processes),
# corpus size and crashes (processes that stopped on a failing input, not
# those stopped by SIGINT, which libFuzzer reports with exit 72 after its
# final stats: `pkill -INT -f fuzz/target/` ends a long run early and keeps
# its figures; the
# input is in fuzz/artifacts/TARGET/, replay it with
# `cargo fuzz run -s none TARGET fuzz/artifacts/TARGET/crash-...`).
#
# CI runs use a scratch corpus seeded from the packet fixtures of
# crates/wire (dhcp6* <- tests/fixtures/dhcp6, nd* <- tests/fixtures/nd;
# else the lab's capture corpus ../shared/lab/corpus/{dhcpv6,ndisc});
# long runs keep their corpus in fuzz/corpus/TARGET (git-ignored) so the
# next run starts where this one stopped.
#
# `-s none` (no sanitizer) builds on the stable toolchain: cargo-fuzz still
# instruments for coverage; only the sanitizers need nightly. Checked with
# cargo-fuzz 0.13.2 and rustc 1.95.
#
# Without cargo-fuzz (FUZZ_MODE=replay, or `cargo fuzz` missing) each target
# is built with plain `cargo build` and run once over the seeds: libFuzzer's
# main executes the files given on its command line.
#
# Environment: FUZZ_SECONDS (default 30), FUZZ_MODE=fuzz|replay,
# FUZZ_TARGETS="a b" (default: all), FUZZ_NICE (niceness of the fuzzing
# processes, default 0). A crash fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

FUZZ_SECONDS=${FUZZ_SECONDS:-30}
FUZZ_MODE=${FUZZ_MODE:-fuzz}
FUZZ_NICE=${FUZZ_NICE:-0}

seconds="" runs="" jobs=1 parallel=1 summary=""
targets=()
usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
    case $1 in
        --seconds) seconds=${2:?}; shift 2 ;;
        --runs) runs=${2:?}; shift 2 ;;
        --jobs) jobs=${2:?}; shift 2 ;;
        --parallel) parallel=${2:?}; shift 2 ;;
        --summary) summary=${2:?}; shift 2 ;;
        -h|--help) usage ;;
        -*) echo "fuzz: unknown option $1" >&2; usage ;;
        *) targets+=("$1"); shift ;;
    esac
done
for n in "$jobs" "$parallel" ${seconds:+"$seconds"} ${runs:+"$runs"}; do
    [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "fuzz: $n is not a positive number" >&2; exit 2; }
done
long=false
if [ -n "$seconds$runs" ]; then long=true; fi

shopt -s nullglob
if [ ${#targets[@]} -eq 0 ]; then
    if [ -n "${FUZZ_TARGETS:-}" ]; then
        read -r -a targets <<<"$FUZZ_TARGETS"
    else
        for f in fuzz/fuzz_targets/*.rs; do targets+=("$(basename "$f" .rs)"); done
    fi
fi
if [ ! -f fuzz/Cargo.toml ] || [ ${#targets[@]} -eq 0 ]; then
    echo "fuzz: no targets in fuzz/fuzz_targets, nothing to do"
    exit 0
fi

if [ "$FUZZ_MODE" = fuzz ] && ! cargo fuzz --version >/dev/null 2>&1; then
    if $long; then
        echo "fuzz: long runs need cargo-fuzz (cargo install --locked cargo-fuzz)" >&2
        exit 1
    fi
    echo "fuzz: cargo-fuzz not installed (scripts/install-deps.sh installs it); replaying seeds only"
    FUZZ_MODE=replay
fi

# seeds_for TARGET: the seed directory for a target, or nothing.
seeds_for() {
    local fixture shared
    case $1 in
        dhcp6*) fixture=crates/wire/tests/fixtures/dhcp6; shared=../shared/lab/corpus/dhcpv6 ;;
        nd*)    fixture=crates/wire/tests/fixtures/nd;    shared=../shared/lab/corpus/ndisc ;;
        mh*)    fixture=crates/wire/tests/mh_vectors;     shared= ;;
        *)      return 0 ;;
    esac
    if [ -d "$fixture" ]; then echo "$ROOT/$fixture"
    elif [ -d "$shared" ]; then (cd "$shared" && pwd)
    fi
}

# seed TARGET DIR: copies the packet files of the target's seeds into DIR.
# Fixtures may sit in sub-directories next to non-packet files (README.md).
seed() {
    local seeds
    seeds=$(seeds_for "$1")
    if [ -n "$seeds" ]; then
        find "$seeds" -type f \( -name '*.bin' -o -name '*.raw' -o ! -name '*.*' \) \
            -exec cp -n -t "$2" {} + 2>/dev/null || true
    fi
    echo "${seeds:-nowhere}"
}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/v6edge-fuzz.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# ------------------------------------------------------------------ replay --
if [ "$FUZZ_MODE" != fuzz ]; then
    failed=()
    for t in "${targets[@]}"; do
        corpus=$WORK/$t
        mkdir -p "$corpus"
        from=$(seed "$t" "$corpus")
        echo "=== fuzz $t: replay, $(find "$corpus" -type f | wc -l) seed(s) from $from"
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
    done
    if [ ${#failed[@]} -gt 0 ]; then
        echo "fuzz: FAILED: ${failed[*]}"
        exit 1
    fi
    echo "fuzz: ${#targets[@]} target(s) replayed: ${targets[*]}"
    exit 0
fi

# -------------------------------------------------------------------- fuzz --
echo "=== fuzz: building ${#targets[@]} target(s)"
if [ ${#targets[@]} -eq "$(ls fuzz/fuzz_targets/*.rs | wc -l)" ]; then
    cargo fuzz build -s none
else
    for t in "${targets[@]}"; do cargo fuzz build -s none "$t"; done
fi
triple=$(rustc -vV | sed -n 's/^host: //p')
bindir=${CARGO_TARGET_DIR:-$ROOT/fuzz/target}/$triple/release
case $bindir in /*) ;; *) bindir=$ROOT/$bindir ;; esac
summary=${summary:-${CARGO_TARGET_DIR:-$ROOT/fuzz/target}/fuzz-summary.txt}

# launch TARGET JOB CORPUS SEEDDIR: one libFuzzer process in the background,
# its output in $WORK/TARGET.JOB.log, its wall time in ...time.
launch() {
    local t=$1 j=$2 corpus=$3 seeddir=$4 limit
    if [ -n "$runs$seconds" ]; then
        limit=()
        [ -z "$runs" ] || limit+=(-runs=$(( (runs + jobs - 1) / jobs )))
        [ -z "$seconds" ] || limit+=(-max_total_time="$seconds")
    else
        limit=(-max_total_time="$FUZZ_SECONDS")
    fi
    mkdir -p "fuzz/artifacts/$t"
    (
        start=$(date +%s.%N)
        rc=0
        nice -n "$FUZZ_NICE" "$bindir/$t" "${limit[@]}" -print_final_stats=1 -timeout=60 \
            -artifact_prefix="$ROOT/fuzz/artifacts/$t/" "$corpus" "$seeddir" \
            >"$WORK/$t.$j.log" 2>&1 || rc=$?
        end=$(date +%s.%N)
        echo "$start $end $rc" >"$WORK/$t.$j.time"
    ) &
}

# Queue every (target, job); keep at most parallel*jobs processes running.
what="${runs:+$runs runs}${runs:+${seconds:+ or }}${seconds:+$seconds s}"
what=${what:-$FUZZ_SECONDS s}
running=0
max=$(( parallel * jobs ))
for t in "${targets[@]}"; do
    if $long; then corpus=$ROOT/fuzz/corpus/$t; else corpus=$WORK/$t; fi
    seeddir=$WORK/$t.seeds
    mkdir -p "$corpus" "$seeddir"
    from=$(seed "$t" "$seeddir")
    echo "=== fuzz $t: $what x $jobs job(s), corpus of $(find "$corpus" -type f | wc -l), seeds from $from"
    for j in $(seq 1 "$jobs"); do
        while [ "$running" -ge "$max" ]; do wait -n || true; running=$((running - 1)); done
        launch "$t" "$j" "$corpus" "$seeddir"
        running=$((running + 1))
    done
done
wait || true

# ----------------------------------------------------------------- summary --
{
    printf '%-18s %14s %10s %10s %8s %8s\n' target executions seconds exec/s corpus crashes
    for t in "${targets[@]}"; do
        execs=0 wall=0 crashes=0
        for j in $(seq 1 "$jobs"); do
            log=$WORK/$t.$j.log
            # A process killed before it could note its time counts as failed.
            [ -f "$WORK/$t.$j.time" ] || echo "0 0 1" >"$WORK/$t.$j.time"
            read -r start end rc <"$WORK/$t.$j.time"
            n=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
            [ -n "$n" ] || n=$(sed -n 's/^Done \([0-9]*\) runs in.*/\1/p' "$log" | tail -n 1)
            execs=$((execs + ${n:-0}))
            wall=$(awk -v a="$start" -v b="$end" -v w="$wall" 'BEGIN { d = b - a; print (d > w) ? d : w }')
            # 72: libFuzzer's exit on SIGINT (interrupted_exit_code), after
            # printing its executions: stopped, not crashed.
            if [ "$rc" -ne 0 ] && [ "$rc" -ne 72 ]; then
                crashes=$((crashes + 1))
                echo "--- $t job $j exited $rc; its log ends:" >&2
                tail -n 40 "$log" >&2
            fi
        done
        if $long; then corpus=$ROOT/fuzz/corpus/$t; else corpus=$WORK/$t; fi
        size=$(find "$corpus" -type f | wc -l)
        rate=$(awk -v n="$execs" -v w="$wall" 'BEGIN { printf "%.0f", (w > 0) ? n / w : 0 }')
        printf '%-18s %14d %10.0f %10s %8d %8d\n' "$t" "$execs" "$wall" "$rate" "$size" "$crashes"
    done
} | tee "$WORK/summary"
cp "$WORK/summary" "$summary" 2>/dev/null && echo "fuzz: summary in $summary"

# The table's crash column decides; recompute it outside the pipeline.
failed=$(awk 'NR > 1 && $6 > 0 { print $1 }' "$WORK/summary" | tr '\n' ' ')
if [ -n "$failed" ]; then
    echo "fuzz: FAILED: $failed(inputs in fuzz/artifacts/)"
    exit 1
fi
echo "fuzz: ${#targets[@]} target(s) ok: ${targets[*]}"
