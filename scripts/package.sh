#!/bin/bash
# package.sh - builds the Debian package: target/debian/v6edge_<version>_<arch>.deb
# (the interface docs/install.md and issue 11 promise). Run as root on
# Debian 12 or later: what the build needs is installed first, only if
# missing (a C compiler and pkg-config/libssl-dev for the PostgreSQL
# store's TLS; cargo-deb by packaging/build-deb.sh). The work itself is
# packaging/build-deb.sh's.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
need=()
command -v cc >/dev/null || need+=(gcc)
dpkg -s pkg-config >/dev/null 2>&1 || need+=(pkg-config)
dpkg -s libssl-dev >/dev/null 2>&1 || need+=(libssl-dev)
if [ ${#need[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || { echo "package.sh: needs root to install: ${need[*]}" >&2; exit 2; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}"
fi
command -v cargo >/dev/null || { echo "package.sh: cargo (rustup) is needed" >&2; exit 2; }
exec "$ROOT/packaging/build-deb.sh"
