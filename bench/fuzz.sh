#!/bin/bash
# fuzz.sh - the fuzzing benchmark: every fuzz target run to RUNS executions
# (default 10^8, libFuzzer's -runs) without a crash.
#
# Runs scripts/fuzz.sh --runs RUNS with FUZZ_PARALLEL targets at once
# (default 2: one per core of the lab machine) and FUZZ_JOBS libFuzzer
# processes per target (default 1), niced by FUZZ_NICE (default 10) so the
# machine stays usable. Each target keeps its corpus in fuzz/corpus/TARGET,
# so a later run starts from the coverage an earlier one reached.
#
# Prints per target: executions reached, wall time, executions per second,
# corpus size, crashes (must be 0; the failing input is in
# fuzz/artifacts/TARGET/), and whether RUNS was reached. With
# FUZZ_MAX_SECONDS set, each target also stops after that many seconds (a
# target too slow for RUNS in the time available reports what it reached).
#
# Usage: bench/fuzz.sh [RUNS] [TARGET...]    (needs cargo-fuzz)
# Exit status: 0 when every target reached RUNS without a crash; 1 on a
# crash; 3 when no target crashed but some stopped short of RUNS.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
RUNS=${1:-100000000}
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [RUNS] [TARGET...]" >&2; exit 2; }
[ $# -gt 0 ] && shift
export FUZZ_NICE=${FUZZ_NICE:-10}
PARALLEL=${FUZZ_PARALLEL:-2}
JOBS=${FUZZ_JOBS:-1}
SUMMARY=${FUZZ_SUMMARY:-${CARGO_TARGET_DIR:-$HERE/../fuzz/target}/fuzz-bench-summary.txt}

echo "fuzz benchmark: $RUNS executions per target${FUZZ_MAX_SECONDS:+ (at most $FUZZ_MAX_SECONDS s each)}, $PARALLEL target(s) at once, $JOBS job(s) each, nice $FUZZ_NICE"
echo "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(rustc --version), $(cargo fuzz --version 2>/dev/null)"
started=$(date -u +%FT%TZ)
"$HERE/../scripts/fuzz.sh" --runs "$RUNS" ${FUZZ_MAX_SECONDS:+--seconds "$FUZZ_MAX_SECONDS"} \
    --parallel "$PARALLEL" --jobs "$JOBS" --summary "$SUMMARY" "$@"
rc=$?
echo "started $started, finished $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"
[ -f "$SUMMARY" ] || exit 1
echo
awk -v want="$RUNS" '
    NR == 1 { printf "%-18s %14s %10s %10s %8s %8s  %s\n", $1, $2, "wall s", $4, $5, $6, "reached"; next }
    {
        reached = ($2 >= want) ? "yes" : sprintf("no (%.1f%%)", 100 * $2 / want)
        printf "%-18s %14d %10d %10d %8d %8d  %s\n", $1, $2, $3, $4, $5, $6, reached
        if ($2 < want) short++
        if ($6 > 0) crashed++
    }
    END { exit crashed ? 1 : (short ? 3 : 0) }' "$SUMMARY"
verdict=$?
[ "$rc" -ne 0 ] && [ "$verdict" -eq 0 ] && verdict=1
exit "$verdict"
