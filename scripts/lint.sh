#!/bin/bash
# lint.sh - checks that keep the architecture honest (style.md §2):
#   1. clippy with warnings as errors; protocol crates carry a clippy.toml
#      that bans reading the clock (machines take `now` from the caller);
#   2. protocol crates depend on no I/O crate (tokio, netlink, sockets,
#      SQLite, PostgreSQL): checked on the resolved dependency tree;
#   3. the code is formatted as rustfmt formats it.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo fmt --all --check || { echo "lint: run 'cargo fmt --all'" >&2; exit 1; }
cargo clippy --workspace --all-targets -- -D warnings

status=0
for crate in v6edge-wire v6edge-prefix v6edge-core v6edge-dhcp6 v6edge-ra v6edge-router v6edge-node v6edge-mip6 v6edge-ripng; do
    bad=$(cargo tree -e normal -p "$crate" --prefix none 2>/dev/null \
        | awk '{print $1}' | grep -Ex 'tokio|rtnetlink|netlink-[a-z-]+|socket2|nix|rusqlite|tokio-postgres|libc' | sort -u || true)
    if [ -n "$bad" ]; then
        echo "lint: $crate depends on I/O crates: $(echo $bad)" >&2
        status=1
    fi
done
[ "$status" = 0 ] && echo "lint: protocol crates are free of I/O dependencies"
exit "$status"
