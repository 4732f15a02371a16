#!/bin/bash
# pg-cluster.sh - a private, throw-away PostgreSQL server for the tests that
# must stop, restart or reconfigure their database: the TLS test of
# crates/store/tests/postgres.rs and tests/scenarios/server-pg-restart.sh.
# The shared server of scripts/postgres-test.sh is never touched (other tests
# use it at the same time).
#
#   pg-cluster.sh start DIR PORT   create the cluster in DIR (once) and start it
#   pg-cluster.sh stop DIR         stop it (fast shutdown), keeping its data
#   pg-cluster.sh destroy DIR      stop it and remove DIR
#
# The server listens on the Unix socket DIR/.s.PGSQL.PORT (works from inside
# network namespaces) and on localhost:PORT (127.0.0.1 and ::1) for TLS only:
# pg_hba.conf rejects TCP connections in the clear, so a session that works
# over TCP is encrypted. Authentication is `trust` for the role `postgres`.
# Its certificates are made here: DIR/ca.crt (the CA), a server certificate
# for "localhost" signed by it, and DIR/other-ca.crt, a CA that signed
# nothing (to check verification refuses it). Run as root (initdb and the
# server run as the user postgres). Exit status 0 when done.
set -euo pipefail
export PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin
log() { echo "[pg-cluster] $*" >&2; }

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { log "usage: $0 start DIR PORT | stop DIR | destroy DIR"; exit 2; }
[ "$(id -u)" = 0 ] || { log "must run as root"; exit 2; }
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$bin/initdb" ] || { log "no PostgreSQL server binaries (scripts/install-deps.sh)"; exit 2; }
as_pg() { runuser -u postgres -- "$@"; }

stop() {
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 || true
    fi
}

case "$cmd" in
start)
    port=${3:?PORT}
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        mkdir -p "$dir"
        chown postgres: "$dir"
        chmod 755 "$dir"
        as_pg "$bin/initdb" -D "$dir/data" -A trust -U postgres --no-sync >"$dir/initdb.log" 2>&1 \
            || { cat "$dir/initdb.log" >&2; exit 1; }
        (
            cd "$dir"
            openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=v6edge test CA" \
                -keyout ca.key -out ca.crt 2>/dev/null
            openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=v6edge other CA" \
                -keyout other-ca.key -out other-ca.crt 2>/dev/null
            openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
                -keyout server.key -out server.csr 2>/dev/null
            printf 'subjectAltName=DNS:localhost\n' >server.ext
            openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
                -days 2 -extfile server.ext -out server.crt 2>/dev/null
            chown postgres: server.key server.crt
            chmod 600 server.key
        )
        cat >>"$dir/data/postgresql.conf" <<EOF
# pg-cluster.sh
listen_addresses = 'localhost'
port = $port
unix_socket_directories = '$dir'
ssl = on
ssl_cert_file = '$dir/server.crt'
ssl_key_file = '$dir/server.key'
max_connections = 50
EOF
        cat >"$dir/data/pg_hba.conf" <<EOF
# pg-cluster.sh: TCP only with TLS
local     all all              trust
hostssl   all all 127.0.0.1/32 trust
hostssl   all all ::1/128      trust
hostnossl all all 127.0.0.1/32 reject
hostnossl all all ::1/128      reject
EOF
    fi
    as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 start >/dev/null \
        || { tail -n 20 "$dir/server.log" >&2; exit 1; }
    ;;
stop) stop ;;
destroy)
    stop
    rm -rf "$dir"
    ;;
*) log "unknown command $cmd"; exit 2 ;;
esac
