#!/bin/bash
# ra-static.sh - v6edge as a plain Router Advertisement daemon ([[ra]]).
#
#   [rtr] lan0 ---- eth0 [host]
#   v6edge run --config examples/ra.toml (verbatim)      SLAAC host
#
# RFC 4861 §6.2 (RAs, final RA with Router Lifetime 0 on stop, §6.2.5),
# RFC 4862 (SLAAC), RFC 8106 (RDNSS). Nothing but the [[ra]] table is
# configured: no uplink, no delegation, no server.
# Checks (real outcomes only): the host autoconfigures an address in
# 2001:db8:77::/64 and a default route via rtr's lan0 link-local; rdisc6
# on the host shows the prefix on-link and autonomous with the configured
# lifetimes (86400/14400 s), RDNSS 2001:db8::53 and a router lifetime;
# `v6edge status` lists the interface with RAs sent and the solicitation
# seen; a reload that adds a prefix reaches the host within seconds (fast
# RAs, RFC 4861 §6.2.4); after SIGTERM the host's default route is gone at once (the final
# RA), not after the router lifetime. About 5 s.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
LAB_TIMEOUT=${LAB_TIMEOUT:-30}     # watchdog (netns.sh)
. "$HERE/../lab/netns.sh"
. "$HERE/../lab/peers.sh"

PREFIX=2001:db8:77::/64
DNS=2001:db8::53

lab_init ra-static
# A copy, so that the reload check can change it; it starts out verbatim.
CONFIG=$LAB_DIR/ra.toml
cp "$HERE/../../examples/ra.toml" "$CONFIG"
lab_require rdisc6

lab_ns_create rtr
lab_ns_create host
lab_link rtr lan0 host eth0
lab_sysctl host net.ipv6.conf.all.forwarding=0 \
    net.ipv6.conf.eth0.accept_ra=1 net.ipv6.conf.eth0.autoconf=1
lab_wait_dad rtr lan0 || lab_die "no link-local on rtr:lan0"
lab_wait_dad host eth0 || lab_die "no link-local on host:eth0"
RTR_LL=$(lab_ll rtr lan0)

# host_addr: the host's global address in $PREFIX, if any.
host_addr() {
    ip -n "$(lab_ns host)" -6 -o addr show dev eth0 scope global to "$PREFIX" \
        | awk '{sub("/.*", "", $4); print $4; exit}'
}
has_host_addr() { [ -n "$(host_addr)" ]; }
default_via_rtr() {
    ip -n "$(lab_ns host)" -6 route show default | grep -q "via $RTR_LL dev eth0"
}
no_default_route() { [ -z "$(ip -n "$(lab_ns host)" -6 route show default)" ]; }

start_v6edge rtr ra "$CONFIG"
v6edge_wait_ready ra 10 || lab_die "v6edge did not answer status (log: $LAB_DIR/ra.log)"
lab_wait 10 has_host_addr
lab_wait 5 default_via_rtr
echo "host address: $(host_addr) ($(lab_elapsed)s)"

lab_check "v6edge is running with [[ra]] alone" lab_alive ra
lab_check "host autoconfigured an address in $PREFIX ($(host_addr))" has_host_addr
lab_check "host has a default route via rtr's lan0 link-local ($RTR_LL)" default_via_rtr

# What v6edge advertises, as the host sees it (rdisc6 sends an RS).
lab_exec host rdisc6 -1 -w 2000 eth0 >"$LAB_DIR/rdisc6.out" 2>&1
sed 's/^/  | /' "$LAB_DIR/rdisc6.out"
# pio_field NAME: the value of field NAME in the PIO of $PREFIX.
pio_field() {
    awk -v want="$PREFIX" -v field="$1" '
        $1 == "Prefix" { cur = $3 }
        cur == want && index($0, field) == 1 { sub(/^[^:]*: */, ""); print $1; exit }' \
        "$LAB_DIR/rdisc6.out"
}
lab_check "rdisc6: Prefix $PREFIX" grep -q "^ Prefix *: $PREFIX\$" "$LAB_DIR/rdisc6.out"
lab_check "rdisc6: $PREFIX on-link" test "$(pio_field '  On-link')" = Yes
lab_check "rdisc6: $PREFIX autonomous" test "$(pio_field '  Autonomous address conf.')" = Yes
lab_check "rdisc6: $PREFIX valid 86400 s, preferred 14400 s (got $(pio_field '  Valid time')/$(pio_field '  Pref. time'))" \
    test "$(pio_field '  Valid time')/$(pio_field '  Pref. time')" = 86400/14400
lab_check "rdisc6: Recursive DNS server $DNS" \
    grep -q "Recursive DNS server *: $DNS\$" "$LAB_DIR/rdisc6.out"
lab_check "rdisc6: router lifetime 1800 s" \
    grep -q "Router lifetime *: *1800 " "$LAB_DIR/rdisc6.out"
lab_check "rdisc6: nothing else advertised (one prefix, no route, no DNSSL)" \
    sh -c "[ \$(grep -c '^ Prefix' '$LAB_DIR/rdisc6.out') = 1 ] &&
           ! grep -q '^ Route\|DNS search list' '$LAB_DIR/rdisc6.out'"

v6edge_status_json ra >"$LAB_DIR/status.json"
lab_check "status: ra[lan0] advertises $PREFIX" \
    test "$(lab_json '[r["prefixes"] for r in d["ra"] if r["interface"] == "lan0" and r["advertising"]]' \
        <"$LAB_DIR/status.json")" = "['$PREFIX']"
lab_check "status: RAs sent and the solicitation seen" \
    test "$(lab_json 'd["ra"][0]["sent"] > 0 and d["ra"][0]["rs_received"] > 0' <"$LAB_DIR/status.json")" = True
v6edge_ctl ra status >"$LAB_DIR/status.txt" 2>&1
lab_check "human status: an ra line for lan0" grep -q "^ra lan0: advertising, prefixes $PREFIX" "$LAB_DIR/status.txt"

# Reload with a second prefix: announced at once, the host numbers itself.
PREFIX2=2001:db8:78::/64
sed -i "s|^prefixes = \[\"$PREFIX\"\]|prefixes = [\"$PREFIX\", \"$PREFIX2\"]|" "$CONFIG"
grep -q "$PREFIX2" "$CONFIG" || lab_die "cannot edit $CONFIG"
v6edge_ctl ra reload >/dev/null 2>&1
has_addr2() { ip -n "$(lab_ns host)" -6 -o addr show dev eth0 scope global to "$PREFIX2" | grep -q .; }
lab_wait 8 has_addr2
lab_check "after a reload adding $PREFIX2 the host has an address in it ($(lab_elapsed)s)" has_addr2

# RFC 4861 §6.2.5: on stop, a final RA with Router Lifetime 0; the host
# drops its default route at once (it would keep it 1800 s otherwise).
lab_stop ra
lab_wait 3 no_default_route
lab_check "after SIGTERM the host's default route is gone (final RA)" no_default_route
lab_check "v6edge logged the final RA" grep -q "RA advertising stopped" "$LAB_DIR/ra.log"

lab_finish
