#!/bin/bash
# build-deb.sh - builds the Debian package of v6edge into target/debian/:
# the release binary, the manual pages and shell completions generated from
# the command-line definition (v6edge generate), the inert default
# configuration, the examples and the systemd units (packaging/systemd).
# Needs cargo-deb (installed with `cargo install cargo-deb` if missing).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
command -v cargo-deb >/dev/null || cargo install --locked cargo-deb
cargo build --release -p v6edge
GEN=target/generated
rm -rf "$GEN"
target/release/v6edge generate --out "$GEN/man" man
for shell in bash zsh fish; do
    target/release/v6edge generate --out "$GEN/completions" completions "$shell"
done
cargo deb -p v6edge --no-build
ls -l target/debian/*.deb
