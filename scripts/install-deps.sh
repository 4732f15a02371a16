#!/bin/bash
# install-deps.sh - install what the tests need on Debian 12, idempotently.
#
# 1. Debian packages: the peers of the netns scenarios (Kea, ISC DHCP, WIDE
#    DHCPv6, radvd; BIRD 2 and FRR's ripngd for tests/scenarios/ripng-peers.sh), the tools the checks use (ip, ping, rdisc6, tcpdump, nft from nftables to lose a packet on purpose in tests/scenarios/mip6-move.sh, systemd-analyze from systemd to verify the units in tests/scenarios/service-unit.sh (systemd is not started),
#    python3, python3-scapy for tests/lab/tools/dhcp6-probe.py, unshare from
#    util-linux), tshark (optional: crates/wire/tests/mh_interop.rs and crates/ra/tests/foreign_decoders.rs decode our packets with it and skip without it) and prometheus (optional: its promtool checks a live scrape of the metrics endpoint in bin/v6edge/tests/config_cli.rs, skipped without it).  Each
#    package is tested with `dpkg -s`; `apt-get update` and `apt-get install`
#    run only when something is missing, and are retried once.
#    Several of these packages start their daemon from the maintainer scripts
#    (wide-dhcpv6-client would run dhcp6c on eth0, radvd, kea-dhcp6-server,
#    isc-dhcp-server ...).  A temporary /usr/sbin/policy-rc.d that exits 101
#    forbids that during the install; an existing policy-rc.d is left alone.
#    postgresql (the shared lease store's tests, crates/store/tests/postgres.rs
#    and tests/scenarios/server-shared.sh) is one of them: its server is
#    started by scripts/postgres-test.sh, not by the package. libssl-dev and
#    pkg-config: the PostgreSQL store speaks TLS through OpenSSL (openssl-sys).
# 2. cargo-fuzz, unless `cargo fuzz` already works (`cargo install --locked`).
#
# Usage (as root): scripts/install-deps.sh [--no-fuzz]
# Exit status: 0 when every required command is there afterwards.
set -euo pipefail

REQUIRED=(
    iproute2 iputils-ping procps python3 python3-scapy util-linux
    kea-dhcp6-server kea-admin
    isc-dhcp-server isc-dhcp-client isc-dhcp-relay
    wide-dhcpv6-server wide-dhcpv6-client wide-dhcpv6-relay
    radvd ndisc6 tcpdump nftables conntrack systemd
    bird2 frr
    postgresql
    libssl-dev pkg-config
)
OPTIONAL=(tshark prometheus)

with_fuzz=1
[ "${1:-}" = --no-fuzz ] && with_fuzz=0

log() { echo "[install-deps] $*" >&2; }

installed() { dpkg -s "$1" 2>/dev/null | grep -q '^Status: install ok installed'; }

# retry CMD...: run CMD, and once more after 10 s if it failed.
retry() {
    "$@" && return 0
    log "failed, retrying in 10 s: $*"
    sleep 10
    "$@"
}

missing=()
for p in "${REQUIRED[@]}"; do installed "$p" || missing+=("$p"); done
missing_optional=()
for p in "${OPTIONAL[@]}"; do installed "$p" || missing_optional+=("$p"); done

if [ ${#missing[@]} -gt 0 ] || [ ${#missing_optional[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || { log "must run as root to install: ${missing[*]} ${missing_optional[*]}"; exit 2; }
    POLICY=/usr/sbin/policy-rc.d
    made_policy=0
    if [ ! -e "$POLICY" ]; then
        printf '#!/bin/sh\n# temporary, from v6edge scripts/install-deps.sh\nexit 101\n' >"$POLICY"
        chmod 755 "$POLICY"
        made_policy=1
    fi
    cleanup() { [ "$made_policy" = 1 ] && rm -f "$POLICY"; return 0; }
    trap cleanup EXIT
    export DEBIAN_FRONTEND=noninteractive
    retry apt-get update -q
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing: ${missing[*]}"
        retry apt-get install -y -q --no-install-recommends "${missing[@]}"
    fi
    if [ ${#missing_optional[@]} -gt 0 ]; then
        log "installing (optional): ${missing_optional[*]}"
        # tshark's debconf question (dumpcap for non-root users) keeps its default.
        retry apt-get install -y -q --no-install-recommends "${missing_optional[@]}" \
            || log "optional packages not installed: ${missing_optional[*]}"
    fi
    cleanup
    trap - EXIT
else
    log "all Debian packages present"
fi

# Commands the scenarios call.
bad=0
for c in ip ping sysctl ss timeout unshare python3 kea-dhcp6 perfdhcp dhcpd dhclient dhcrelay \
         dhcp6s dhcp6c dhcp6relay radvd rdisc6 tcpdump psql pg_ctlcluster; do
    PATH=$PATH:/usr/sbin:/sbin command -v "$c" >/dev/null 2>&1 || { log "missing after install: $c"; bad=1; }
done
# The packages must not have left a daemon running outside the tests'
# namespaces (policy-rc.d prevents it; report it if it happened anyway).
strays=$(ps -eo pid=,comm= | awk '$2 ~ /^(dhcp6c|dhcp6s|dhcp6relay|dhcpd|dhclient|dhcrelay|radvd|kea-dhcp6)$/' || true)
if [ -n "$strays" ]; then
    while read -r pid comm; do
        ns=$(ip netns identify "$pid" 2>/dev/null || true)
        [ -z "$ns" ] && log "warning: $comm (pid $pid) runs in the root namespace"
    done <<<"$strays"
fi

if [ "$with_fuzz" = 1 ]; then
    if cargo fuzz --version >/dev/null 2>&1; then
        log "cargo-fuzz present: $(cargo fuzz --version 2>/dev/null)"
    elif command -v cargo >/dev/null 2>&1; then
        log "installing cargo-fuzz"
        retry cargo install cargo-fuzz --locked
    else
        log "no cargo: cannot install cargo-fuzz"
        bad=1
    fi
fi
exit $bad
