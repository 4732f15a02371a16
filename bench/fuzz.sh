#!/bin/bash
# fuzz.sh - the fuzzing benchmark: every fuzz target run to RUNS executions
# (default 10^8, libFuzzer's -runs) without a crash.
#
# Runs scripts/fuzz.sh --runs with FUZZ_PARALLEL targets at once (default 2:
# one per core of the lab machine) and FUZZ_JOBS libFuzzer processes per
# target (default 1), niced by FUZZ_NICE (default 10) so the machine stays
# usable. Each target keeps its corpus in fuzz/corpus/TARGET, so a later run
# starts from the coverage an earlier one reached.
#
# Campaigns: the slower targets need hours of a core for 10^8 executions,
# longer than one sitting. Every run's figures go to a ledger
# (FUZZ_LEDGER, default fuzz/corpus/LEDGER, beside the corpus it belongs
# to), keyed by campaign: the target against one version of the code it
# exercises (bench/lib/fuzz-campaign.py: a hash of the target, the harness
# and the sources of every workspace crate it uses). Executions of runs
# resumed from the same corpus add up within a campaign; changing that code
# starts a new one from zero; a crash fails it. A target whose campaign has
# reached RUNS without a crash is not run again; the others run for what
# is left. A run stopped early with SIGINT (`pkill -INT -f fuzz/target/`)
# still counts: libFuzzer prints its executions on the way out. Do not
# pause the fuzzers with SIGSTOP (to free the machine for a benchmark, say):
# libFuzzer's -timeout is wall-clock time, so the input that was running
# is reported as a timeout on SIGCONT (replay it to tell: a real one hangs
# again).
#
# Prints per target: executions of this run, wall time, executions per
# second, corpus size, crashes (the failing input is in
# fuzz/artifacts/TARGET/), then the campaign: executions over how many runs,
# crashes, and whether RUNS was reached. With FUZZ_MAX_SECONDS set, each
# target also stops after that many seconds.
#
# Usage: bench/fuzz.sh [RUNS] [TARGET...]    (needs cargo-fuzz; default: all)
# Exit status: 0 when every target's campaign reached RUNS without a crash;
# 1 on a crash; 3 when no target crashed but some stopped short of RUNS.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
RUNS=${1:-100000000}
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [RUNS] [TARGET...]" >&2; exit 2; }
[ $# -gt 0 ] && shift
export FUZZ_NICE=${FUZZ_NICE:-10}
PARALLEL=${FUZZ_PARALLEL:-2}
JOBS=${FUZZ_JOBS:-1}
SUMMARY=${FUZZ_SUMMARY:-${CARGO_TARGET_DIR:-$HERE/../fuzz/target}/fuzz-bench-summary.txt}

LEDGER=${FUZZ_LEDGER:-$HERE/../fuzz/corpus/LEDGER}
CAMPAIGN="python3 $HERE/lib/fuzz-campaign.py"
ROOT=$(cd "$HERE/.." && pwd)
mkdir -p "$(dirname "$LEDGER")"

if [ $# -gt 0 ]; then all=("$@"); else
    all=(); for f in "$ROOT"/fuzz/fuzz_targets/*.rs; do all+=("$(basename "$f" .rs)"); done
fi
# The targets still short of RUNS in their campaign, and the most any of
# them needs.
todo=() need=0
for t in "${all[@]}"; do
    read -r done_execs done_runs done_crashes < <($CAMPAIGN total "$LEDGER" "$ROOT" "$t")
    if [ "$done_execs" -ge "$RUNS" ] && [ "$done_crashes" -eq 0 ]; then
        echo "$t: campaign $($CAMPAIGN key "$ROOT" "$t" | cut -d' ' -f2) already at $done_execs executions over $done_runs run(s): not run"
        continue
    fi
    todo+=("$t")
    left=$(( RUNS - done_execs )); [ "$left" -gt 0 ] || left=$RUNS
    [ "$left" -gt "$need" ] && need=$left
done

echo "fuzz benchmark: $RUNS executions per target${FUZZ_MAX_SECONDS:+ (at most $FUZZ_MAX_SECONDS s each)}, $PARALLEL target(s) at once, $JOBS job(s) each, nice $FUZZ_NICE; ledger $LEDGER"
echo "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(rustc --version), $(cargo fuzz --version 2>/dev/null)"
started=$(date -u +%FT%TZ)
rc=0
if [ ${#todo[@]} -gt 0 ]; then
    rm -f "$SUMMARY"
    # The campaigns as the run starts: the code may change while it runs.
    KEYS=$(mktemp); trap 'rm -f "$KEYS"' EXIT
    $CAMPAIGN key "$ROOT" "${todo[@]}" >"$KEYS"
    "$HERE/../scripts/fuzz.sh" --runs "$need" ${FUZZ_MAX_SECONDS:+--seconds "$FUZZ_MAX_SECONDS"} \
        --parallel "$PARALLEL" --jobs "$JOBS" --summary "$SUMMARY" "${todo[@]}"
    rc=$?
    [ -f "$SUMMARY" ] || exit 1
    $CAMPAIGN add "$LEDGER" "$ROOT" "$SUMMARY" "$KEYS"
fi
echo "started $started, finished $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
printf '%-18s %14s %8s %8s %16s %5s %8s  %s\n' target "this run" "wall s" exec/s campaign runs crashes reached
verdict=0
for t in "${all[@]}"; do
    row=$(awk -v t="$t" 'NR > 1 && $1 == t' "$SUMMARY" 2>/dev/null)
    skipped=true; for x in "${todo[@]}"; do [ "$x" = "$t" ] && skipped=false; done
    if $skipped || [ -z "$row" ]; then run_execs=- wall=- rate=-; else
        read -r _ run_execs wall rate _ _ <<<"$row"
    fi
    read -r execs runs crashes < <($CAMPAIGN total "$LEDGER" "$ROOT" "$t")
    if [ "$crashes" -gt 0 ]; then reached="no (crashed)"; verdict=1
    elif [ "$execs" -ge "$RUNS" ]; then reached=yes
    else reached=$(awk -v n="$execs" -v w="$RUNS" 'BEGIN { printf "no (%.1f%%)", 100 * n / w }')
        [ "$verdict" -eq 0 ] && verdict=3
    fi
    printf '%-18s %14s %8s %8s %16s %5s %8s  %s\n' "$t" "$run_execs" "$wall" "$rate" "$execs" "$runs" "$crashes" "$reached"
done
[ "$rc" -ne 0 ] && [ "$verdict" -eq 0 ] && verdict=1
exit "$verdict"
