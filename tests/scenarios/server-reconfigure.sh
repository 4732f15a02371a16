#!/bin/bash
# server-reconfigure.sh - the server renumbers its PD pool: the v6edge CPE is
# told at once with a Reconfigure, not at its T1.
#
#   [srv] isp0 ---- switch ---- wan0 [cpe] lan0
#   v6edge server, a copy of        v6edge, examples/cpe.toml verbatim
#   examples/isp-server.toml        (it sets reconfigure-accept = true)
#   (T1 1800 s); pool 2001:db8:100::/40, then 2001:db8:200::/40 (reload)
#
# RFC 8415 §18.3.11 (the server sends a Reconfigure, msg-type Renew, to a
# client whose lease it revoked), §20.4 (the Reconfigure Key Authentication
# Protocol: the key comes with the Reply to the client's Request, the
# Reconfigure carries an HMAC-MD5 digest), §18.2.11 (the client renews at
# once), §18.3.4 (the Reply to that Renew returns the old prefix with
# lifetimes 0 and a new one), and the server contract (the route follows
# the lease).  Checks: the CPE gets a prefix from the first pool and a key;
# after `v6edge reload` with the new pool it holds a prefix from the new
# pool within 5 s (its T1 is 1800 s away: only a Reconfigure explains it),
# the server counted a Reconfigure and the CPE logged accepting one, and
# the server's route for the old prefix is gone, one for the new exists.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
LAB_TIMEOUT=${LAB_TIMEOUT:-90}     # watchdog (netns.sh)
. "$HERE/../lab/netns.sh"
. "$HERE/../lab/peers.sh"
. "$HERE/../lab/server.sh"

DEADLINE=${RECONFIGURE_DEADLINE:-5}   # seconds from reload to the new prefix
POOL2=2001:db8:200::/40

lab_init "server-reconfigure-$SERVER_IMPL"
[ "$SERVER_IMPL" = v6edge ] || lab_skip "Reconfigure is a v6edge server scenario (SERVER_IMPL=$SERVER_IMPL)"
server_require

# The server: the example, pool lifetimes as shipped (preferred 3600 s, so
# T1 = 1800 s), in a copy this scenario may rewrite.
SRV_CONFIG=$LAB_DIR/isp-server.toml
cp "$SRV_EXAMPLE" "$SRV_CONFIG"
grep -q "^prefix = \"$SRV_PD_POOL\"" "$SRV_CONFIG" || lab_die "no PD pool $SRV_PD_POOL in $SRV_EXAMPLE"
# The CPE: the example as it is; it sends Reconfigure Accept.
CPE_CONFIG=$REPO_DIR/examples/cpe.toml
grep -q '^reconfigure-accept = true' "$CPE_CONFIG" || lab_die "$CPE_CONFIG does not set reconfigure-accept = true"
"$V6EDGE_BIN" check --config "$CPE_CONFIG" >"$LAB_DIR/cpe-check.log" 2>&1 \
    || { cat "$LAB_DIR/cpe-check.log"; lab_die "the CPE config copy is rejected"; }

server_topology
srv_start
cli_add cpe
cli_start cpe

OLD=$(cli_wait_prefix cpe 30) || OLD=
LL=$(cli_ll cpe)
echo "cpe: prefix ${OLD:-none} via $LL ($(lab_elapsed)s)"
lab_wait 5 srv_route "${OLD:-none}" "$LL"
srv_show
lab_check "cpe holds a /$SRV_PD_LEN inside $SRV_PD_POOL (${OLD:-none})" \
    lab_within "${OLD:-::/128}" "$SRV_PD_POOL" "$SRV_PD_LEN"
lab_check "srv: route ${OLD:-none} via $LL dev isp0" srv_route "${OLD:-none}" "$LL"
v6edge_status_json cpe >"$LAB_DIR/cpe-bound.json" 2>/dev/null
cpe_log_has() { grep -q "$1" "$LAB_DIR/cpe.log"; }
lab_check "cpe: the Reply carried a reconfigure key" cpe_log_has "reconfigure key received"
lab_check "cpe: no Reconfigure seen before the reload" test "$(grep -c 'Reconfigure accepted' "$LAB_DIR/cpe.log")" = 0

# Renumber: another PD pool, reloaded through the control socket.
sed -i "s|^prefix = \"$SRV_PD_POOL\"|prefix = \"$POOL2\"|" "$SRV_CONFIG"
grep -q "^prefix = \"$POOL2\"" "$SRV_CONFIG" || lab_die "could not change the pool in $SRV_CONFIG"
T0=$(date +%s.%N)
v6edge_ctl "$(srv_name)" reload >"$LAB_DIR/reload.log" 2>&1 || { cat "$LAB_DIR/reload.log"; lab_log "reload failed"; }
echo "server reloaded with $POOL2 at $(lab_elapsed)s"

new_prefix() { local p; p=$(cli_prefix cpe) && [ -n "$p" ] && lab_within "$p" "$POOL2" && echo "$p"; }
lab_wait "$DEADLINE" new_prefix
NEW=$(new_prefix) || NEW=
T1=$(date +%s.%N)
TOOK=$("$LAB_PY" -c "import sys; print('%.2f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$T0" "$T1")
echo "cpe: prefix ${NEW:-none} ${TOOK}s after the reload"
lab_check "within ${DEADLINE} s of the reload the cpe holds a /$SRV_PD_LEN inside $POOL2 (${NEW:-none})" \
    lab_within "${NEW:-::/128}" "$POOL2" "$SRV_PD_LEN"
lab_check "cpe: the old prefix ${OLD:-none} is no longer held" test "$(cli_prefix cpe)" != "${OLD:-none}"

srv_status_json >"$LAB_DIR/status.json" 2>/dev/null
lab_json "d['server']['counters']['sent']" <"$LAB_DIR/status.json" 2>/dev/null | sed 's/^/  srv sent: /'
lab_check "srv: counted a Reconfigure sent" \
    json_true "d['server']['counters']['sent'].get('reconfigure', 0) >= 1" "$LAB_DIR/status.json"
lab_check "srv: counted the Renew that answered it" \
    json_true "d['server']['counters']['received'].get('renew', 0) >= 1" "$LAB_DIR/status.json"
lab_check "cpe: accepted an authenticated Reconfigure" cpe_log_has "Reconfigure accepted"
grep -h 'Reconfigure' "$LAB_DIR/cpe.log" "$LAB_DIR/$(srv_name).log" 2>/dev/null | tail -n 6 | sed 's/^/  log: /'

routes_swapped() { srv_lacks_route "${OLD:-none}" && srv_route "${NEW:-none}" "$LL"; }
lab_wait 5 routes_swapped
srv_show
lab_check "srv: no route for the old prefix ${OLD:-none}" srv_lacks_route "${OLD:-none}"
lab_check "srv: route ${NEW:-none} via $LL dev isp0" srv_route "${NEW:-none}" "$LL"
srv_leases_to "$LAB_DIR/leases.json"
lab_check "srv: the old prefix is no longer leased" srv_lacks_lease "${OLD:-none}"
lab_check "srv: the new prefix is leased to the cpe" srv_has_lease "$LAB_DIR/leases.json" "${NEW:-none}" "$LL"
lab_finish
