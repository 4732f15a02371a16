#!/bin/bash
# cpe-check.sh - `v6edge check --config FILE` (contract: exit 0 and "FILE:
# ok", or exit 1 and "FILE:LINE: reason" on stderr, LINE 1-based).
#
# Checks: every examples/*.toml passes; three broken copies of
# examples/cpe.toml are rejected with exit status 1 and the right line: an
# unknown top-level key, a duplicated key, a TOML syntax error; a missing
# file is an error.  Needs no namespace and no root.  Only meaningful for
# CPE_IMPL=v6edge (with CPE_IMPL=wide it prints SKIP).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lab/netns.sh"
. "$HERE/../lab/peers.sh"
REPO_DIR=$(cd "$HERE/../.." && pwd)

# No lab_init: nothing here needs root or a namespace.  A private work dir.
LAB_DIR=$(mktemp -d "${TMPDIR:-/tmp}/v6e$$-cpe-check.XXXXXX") || exit 2
LAB_T0=$(date +%s.%N)
trap 'rm -rf "$LAB_DIR"' EXIT
[ "${CPE_IMPL:-v6edge}" = v6edge ] || lab_skip "cpe-check tests v6edge's config checker (CPE_IMPL=${CPE_IMPL})"
[ -x "$V6EDGE_BIN" ] || { echo "FAIL: no v6edge binary at $V6EDGE_BIN (run: cargo build -p v6edge)"; echo "0 passed, 1 failed"; exit 1; }

# check_ok FILE: exit 0 and "FILE: ok" on stdout.
check_ok() {
    local out
    out=$(timeout 10 "$V6EDGE_BIN" check --config "$1" 2>"$LAB_DIR/err") || return 1
    grep -qF "$1: ok" <<<"$out"
}

# check_rejects FILE LINE: exit status 1 and "FILE:LINE:" on stderr (FILE as
# given, or its base name).
check_rejects() {
    local rc=0 base
    timeout 10 "$V6EDGE_BIN" check --config "$1" >"$LAB_DIR/out" 2>"$LAB_DIR/err" || rc=$?
    echo "  v6edge check $(basename "$1") -> exit $rc: $(head -c 300 "$LAB_DIR/err" | tr '\n' ' ')" >>"$LAB_DIR/diag"
    base=$(basename "$1")
    [ "$rc" = 1 ] && grep -qE "(^|/)${base//./\\.}:$2:" "$LAB_DIR/err"
}

# reject_case DESCRIPTION FILE LINE: one check_rejects, with what v6edge said.
reject_case() {
    : >"$LAB_DIR/diag"
    lab_check "$1" check_rejects "$2" "$3"
    cat "$LAB_DIR/diag"
}

shopt -s nullglob
EXAMPLES=("$REPO_DIR"/examples/*.toml)
lab_check "examples/*.toml exist (${#EXAMPLES[@]} found)" test "${#EXAMPLES[@]}" -gt 0
for f in "${EXAMPLES[@]}"; do
    lab_check "v6edge check accepts examples/$(basename "$f")" check_ok "$f"
done

CPE=$REPO_DIR/examples/cpe.toml
if [ -f "$CPE" ]; then
    # 1. An unknown key at top level, inserted just before the first table
    #    header (so the expected line is not simply 1 or the last line).
    h=$(grep -n '^[[:space:]]*\[' "$CPE" | head -n 1 | cut -d: -f1)
    [ -n "$h" ] || h=$(( $(wc -l <"$CPE") + 1 ))
    { head -n $(( h - 1 )) "$CPE"; echo 'v6edge_harness_no_such_key = true'; tail -n +"$h" "$CPE"; } \
        >"$LAB_DIR/unknown-key.toml"
    reject_case "unknown key rejected as unknown-key.toml:$h" "$LAB_DIR/unknown-key.toml" "$h"

    # 2. The first simple "key = value" line, repeated on the next line.
    k=$(grep -nE '^[[:space:]]*[A-Za-z0-9_-]+[[:space:]]*=[[:space:]]*[^[{[:space:]]' "$CPE" | head -n 1 | cut -d: -f1)
    if [ -n "$k" ]; then
        { head -n "$k" "$CPE"; sed -n "${k}p" "$CPE"; tail -n +"$(( k + 1 ))" "$CPE"; } >"$LAB_DIR/duplicate-key.toml"
        reject_case "duplicated key rejected as duplicate-key.toml:$(( k + 1 ))" \
            "$LAB_DIR/duplicate-key.toml" "$(( k + 1 ))"
    fi

    # 3. A TOML syntax error on a line of its own at the end.
    sed -e '$a\' "$CPE" >"$LAB_DIR/syntax.toml"     # (ends with a newline)
    n=$(( $(wc -l <"$LAB_DIR/syntax.toml") + 1 ))
    echo '[unterminated' >>"$LAB_DIR/syntax.toml"
    reject_case "syntax error rejected as syntax.toml:$n" "$LAB_DIR/syntax.toml" "$n"
else
    lab_check "examples/cpe.toml exists" false
fi

lab_check_not "a missing config file is an error" \
    timeout 10 "$V6EDGE_BIN" check --config "$LAB_DIR/does-not-exist.toml"

lab_finish
