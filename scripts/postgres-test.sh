#!/bin/bash
# postgres-test.sh - start the local PostgreSQL server and make the test role
# and database for the shared lease store's tests; prints the connection
# string to export as V6EDGE_TEST_POSTGRES.
#
#   export V6EDGE_TEST_POSTGRES=$(scripts/postgres-test.sh)
#
# Debian's postgresql package (scripts/install-deps.sh installs it) brings
# one cluster; its server listens on the Unix socket in /var/run/postgresql,
# which works from inside the tests' network namespaces. The role is `root`
# (the tests run as root and the socket uses peer authentication), not a
# superuser, owner of the database `v6edge_test`; each test makes and drops a
# schema of its own there. Idempotent. Run as root.
set -euo pipefail
export PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin
log() { echo "[postgres-test] $*" >&2; }
SOCKDIR=/var/run/postgresql
DB=v6edge_test

[ "$(id -u)" = 0 ] || { log "must run as root"; exit 2; }
command -v pg_lsclusters >/dev/null || { log "postgresql is not installed (scripts/install-deps.sh)"; exit 2; }

# The newest installed cluster (Debian 12: 15 main); create one if the
# package's was removed.
read -r ver cluster _ < <(pg_lsclusters --no-header | sort -V -r | head -n 1) || true
if [ -z "${ver:-}" ]; then
    ver=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
    cluster=main
    log "creating cluster $ver/$cluster"
    pg_createcluster "$ver" "$cluster" >&2
fi
if ! pg_lsclusters --no-header | awk -v v="$ver" -v c="$cluster" '$1 == v && $2 == c' | grep -q online; then
    log "starting cluster $ver/$cluster"
    # pg_ctlcluster works as root without systemd; `service` as a fallback.
    pg_ctlcluster "$ver" "$cluster" start >&2 || service postgresql start >&2
fi
for _ in $(seq 1 50); do
    runuser -u postgres -- psql -qAtc 'SELECT 1' >/dev/null 2>&1 && break
    sleep 0.2
done
psql_admin() { runuser -u postgres -- psql -v ON_ERROR_STOP=1 -qAt "$@"; }
psql_admin -c "SELECT 1" >/dev/null || { log "the server does not answer on $SOCKDIR"; exit 1; }
psql_admin -c "DO \$\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'root')
               THEN CREATE ROLE root LOGIN; END IF; END\$\$;"
if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$DB'")" != 1 ]; then
    runuser -u postgres -- createdb -O root "$DB"
fi
log "PostgreSQL $ver/$cluster ready: database $DB, role root, socket $SOCKDIR"
echo "host=$SOCKDIR user=root dbname=$DB"
