#!/bin/bash
# cpe-ra-merge.sh - one advertiser per link: an [[ra]] on a requesting
# router's LAN adds its prefix and DNS server to the LAN's own RAs (issue 8
# item 4, RA as a per-link service).
#
#   [isp] eth0 ---- wan0 [cpe] lan0 ---- eth0 [host]
#   Kea (pd-pool)        v6edge: examples/cpe.toml plus
#                        [[ra]] interface = "lan0", prefixes 2001:db8:77::/64,
#                        dns-servers 2001:db8::53
#
# Checks (real outcomes only): one RA, as rdisc6 on the host decodes it,
# carries both the delegated LAN /64 and 2001:db8:77::/64 and the RDNSS
# 2001:db8::53; the host autoconfigures an address in each; `v6edge
# status` shows the [[ra]] joined to the LAN; a reload that replaces the
# [[ra]]'s prefix withdraws the old one from the RA, adds the new one and
# keeps the delegated one. About 8 s.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
LAB_TIMEOUT=${LAB_TIMEOUT:-60}     # watchdog (netns.sh)
. "$HERE/../lab/netns.sh"
. "$HERE/../lab/peers.sh"
ISP_IMPL=kea
CPE_IMPL=v6edge
. "$HERE/../lab/cpe.sh"

STATIC=2001:db8:77::/64
DNS=2001:db8::53

lab_init "cpe-ra-merge"
cpe_require
lab_require rdisc6

cp "$REPO_DIR/examples/cpe.toml" "$LAB_DIR/cpe.toml"
cat >>"$LAB_DIR/cpe.toml" <<TOML

[[ra]]
interface = "lan0"
prefixes = ["$STATIC"]
dns-servers = ["$DNS"]
TOML
CPE_CONFIG=$LAB_DIR/cpe.toml
"$V6EDGE_BIN" check --config "$CPE_CONFIG" >/dev/null || lab_die "v6edge check rejects $CPE_CONFIG"

cpe_topology
isp_start
cpe_start
PD=$(cpe_wait_delegation 30) || lab_die "the CPE got no prefix"
isp_route_back "$PD"
lab_wait 15 has_addr_in host eth0 "$PD" || lab_die "the host got no address in $PD"
lab_wait 10 has_addr_in host eth0 "$STATIC" || true
cpe_show

lab_check "host autoconfigured an address in the delegated $PD" has_addr_in host eth0 "$PD"
lab_check "host autoconfigured an address in the [[ra]] prefix $STATIC" has_addr_in host eth0 "$STATIC"

# What the host hears in answer to one RS, every router that answers
# (rdisc6 -m waits for all responses; 4 s covers the 3 s an answer may
# wait after a multicast RA, RFC 4861 §6.2.6).
lab_exec host rdisc6 -m -r 1 -w 4000 eth0 >"$LAB_DIR/rdisc6.out" 2>&1
sed 's/^/  | /' "$LAB_DIR/rdisc6.out"
LAN64=$(awk '$1 == "Prefix" && $3 != "'"$STATIC"'" {print $3; exit}' "$LAB_DIR/rdisc6.out")
in_pd() { python3 -c 'import ipaddress,sys; sys.exit(not ipaddress.ip_network(sys.argv[1]).subnet_of(ipaddress.ip_network(sys.argv[2])))' "$1" "$2"; }
lab_check "rdisc6: the RA carries the LAN /64 from $PD ($LAN64)" in_pd "${LAN64:-::/0}" "$PD"
lab_check "rdisc6: the same RA carries $STATIC" grep -q "^ Prefix *: $STATIC\$" "$LAB_DIR/rdisc6.out"
lab_check "rdisc6: Recursive DNS server $DNS" grep -q "Recursive DNS server *: $DNS\$" "$LAB_DIR/rdisc6.out"
lab_check "rdisc6: one RA answers, carrying all of it ($(grep -c 'Router lifetime' "$LAB_DIR/rdisc6.out") seen)" \
    test "$(grep -c 'Router lifetime' "$LAB_DIR/rdisc6.out")" = 1

v6edge_status_json "$(cpe_name)" >"$LAB_DIR/status.json"
lab_check "status: the [[ra]] on lan0 joins the LAN's RAs" \
    test "$(lab_json '[r["interface"] for r in d["ra"] if r.get("joins_lan")]' <"$LAB_DIR/status.json")" = lan0

# Reload with another prefix in the [[ra]]: the old one leaves the RA at
# once (fast RAs, RFC 4861 §6.2.4), the new one joins; the delegated /64
# stays. (Removing the last [[ra]] would stop a role: that takes a restart.)
STATIC2=2001:db8:78::/64
sed -i "s|^prefixes = \\[\"$STATIC\"\\]|prefixes = [\"$STATIC2\"]|" "$LAB_DIR/cpe.toml"
grep -q "$STATIC2" "$LAB_DIR/cpe.toml" || lab_die "cannot edit $LAB_DIR/cpe.toml"
v6edge_ctl "$(cpe_name)" reload >/dev/null 2>&1 || lab_log "reload refused?"
static_advertised() {
    lab_exec host rdisc6 -1 -w 1000 eth0 2>/dev/null | grep -q "^ Prefix *: $STATIC\$"
}
static_gone() { ! static_advertised; }
lab_wait 8 static_gone || true
lab_exec host rdisc6 -1 -w 2000 eth0 >"$LAB_DIR/rdisc6-after.out" 2>&1
lab_check_not "after a reload that replaces it, $STATIC is no longer advertised" \
    grep -q "^ Prefix *: $STATIC\$" "$LAB_DIR/rdisc6-after.out"
lab_check "... $STATIC2 is" grep -q "^ Prefix *: $STATIC2\$" "$LAB_DIR/rdisc6-after.out"
lab_check "... and the LAN /64 still is" grep -q "^ Prefix *: $LAN64\$" "$LAB_DIR/rdisc6-after.out"

lab_finish
