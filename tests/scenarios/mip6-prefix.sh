#!/bin/bash
# mip6-prefix.sh - Mobile IPv6 prefix discovery (RFC 6275 §10.6, §11.4;
# mobility.md MT-13, HA-18, MN-9) with v6edge at both ends.
#
#   [ha] home0 (bridge) ---- core0 [ha] core0 ---- core0 [ar] br1 (2001:db8:a::/64, RAs)
#        2001:db8:1::1/64, valid 600 s, preferred 500 s   | mnp
#                                                        eth0 [mn]  home address 2001:db8:1::200
#   the home agent: examples/home-agent.toml plus mobile-prefix-advertisements = true;
#   the mobile node: examples/mobile-node.toml verbatim.
#
# Checks (real outcomes only):
#  - the home prefix's lifetimes are the home agent's own address's: the
#    mobile node asks 3600 s, the prefix has 600 s left, so the binding is
#    granted no more than that with BA status 1 (HA-8, RFC 6275 §10.3.1);
#  - BA 1 -> the mobile node's Mobile Prefix Solicitation (ICMPv6 146 with
#    a Home Address option, captured by the home agent past the kernel) ->
#    the home agent's Mobile Prefix Advertisement (147 with a Type 2
#    Routing Header, captured by the mobile node): the mobile node's status
#    shows the home prefix with lifetimes counting down from 600/500 s;
#  - renumbering: the home agent's address is deprecated (preferred 0,
#    valid 300 s) while the mobile node's daemon is stopped (SIGSTOP): the
#    home agent sends an unsolicited advertisement and retransmits it 3
#    times 3 s apart (4 in all), then stops waiting;
#  - with the mobile node running again, a second change (valid 200 s) is
#    acknowledged by a solicitation: the mobile node's status shows
#    preferred 0 and valid <= 200 s, and the home agent sends no
#    retransmission.
# About 25 s.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
LAB_TIMEOUT=${LAB_TIMEOUT:-120}    # watchdog (netns.sh)
. "$HERE/../lab/netns.sh"
. "$HERE/../lab/peers.sh"

HA=2001:db8:1::1
HOA=2001:db8:1::200
REPO_DIR=$(cd "$HERE/../.." && pwd)
MN_CONFIG=$REPO_DIR/examples/mobile-node.toml

lab_init mip6-prefix
lab_ns_create ha
lab_ns_create ar
lab_ns_create mn
# The home link: a bridge with one stand-in port, so it has carrier.
lab_exec ha ip link add homex type veth peer name homey
lab_exec ha ip link set homey up
lab_bridge ha home0 homex
lab_exec ha ip link set home0 address 02:00:00:00:01:01
lab_link ha core0 ar core0
lab_link ar mnp mn eth0
lab_router ha
lab_router ar
lab_bridge ar br1 mnp
lab_exec ar ip link set br1 address 02:00:00:00:0a:01
# The home prefix has finite lifetimes: those of the home agent's address.
lab_exec ha ip -6 addr add "$HA/64" dev home0 nodad valid_lft 600 preferred_lft 500
lab_exec ha ip -6 addr add 2001:db8:f::1/64 dev core0 nodad
lab_exec ha ip -6 route add 2001:db8:a::/64 via 2001:db8:f::2 dev core0
lab_exec ar ip -6 addr add 2001:db8:f::2/64 dev core0 nodad
lab_exec ar ip -6 addr add 2001:db8:a::1/64 dev br1 nodad
lab_exec ar ip -6 route add default via 2001:db8:f::1 dev core0
lab_sysctl mn net.ipv6.conf.eth0.accept_ra=1 net.ipv6.conf.eth0.autoconf=1
lab_wait_dad ha home0 || lab_die "no link-local on ha:home0"
lab_wait_dad ar br1 || lab_die "no link-local on ar:br1"

cat >"$LAB_DIR/ar.toml" <<EOF
[[ra]]
interface = "br1"
prefixes = ["2001:db8:a::/64"]
min-interval = 3
max-interval = 4
EOF
start_v6edge ar ar "$LAB_DIR/ar.toml"
v6edge_wait_ready ar 10 || lab_die "the access router's v6edge did not start (log: $LAB_DIR/ar.log)"

# The example, with prefix advertisements on (its key file beside it).
cp "$REPO_DIR/examples/mip6-demo.key" "$LAB_DIR/"
sed 's/^\[home-agent\]$/[home-agent]\nmobile-prefix-advertisements = true/' \
    "$REPO_DIR/examples/home-agent.toml" >"$LAB_DIR/ha.toml"
grep -q '^mobile-prefix-advertisements = true' "$LAB_DIR/ha.toml" || lab_die "could not edit the example"
start_v6edge ha ha "$LAB_DIR/ha.toml"
v6edge_wait_ready ha 10 || lab_die "the home agent's v6edge did not start (log: $LAB_DIR/ha.log)"
ha_field() { v6edge_status_json ha | lab_json "d['roles']['home-agent']['$1']"; }
lab_wait 10 eval '[ "$(ha_field running)" = True ]' || lab_die "the home agent did not start"

coa_in() { lab_has_addr mn eth0 "^$1"; }
lab_wait 15 coa_in 2001:db8:a: || lab_die "no SLAAC care-of address on mn:eth0"
start_v6edge mn mn "$MN_CONFIG"
v6edge_wait_ready mn 10 || lab_die "the mobile node's v6edge did not start (log: $LAB_DIR/mn.log)"
mn_field() { v6edge_status_json mn | lab_json "d['roles']['mobile-node']['$1']"; }
# "valid preferred" of the home prefix in the mobile node's status.
home_prefix() {
    v6edge_status_json mn | lab_json "' '.join(str(p['valid']) + ' ' + str(p['preferred']) for p in d['roles']['mobile-node']['home_prefixes'] if p['prefix'] == '2001:db8:1::/64')"
}
ba_1() { v6edge_status_json mn | lab_json "d['roles']['mobile-node']['ba_received'].get('1', 0)"; }

# 1. BA 1, solicitation, advertisement.
lab_check "the mobile node registers (status bound)" lab_wait 15 eval '[ "$(mn_field state)" = bound ]'
lab_check "the home agent grants at most the prefix's 600 s, with BA status 1 (HA-8)" \
    sh -c "[ $(mn_field lifetime) -le 600 ] && [ $(mn_field lifetime) -gt 500 ] && [ $(ba_1) -ge 1 ]"
learned() { read -r valid preferred <<<"$(home_prefix)"; [ -n "${valid:-}" ] && [ "$valid" -le 600 ] && [ "$valid" -gt 500 ] && [ "$preferred" -le 500 ] && [ "$preferred" -gt 400 ]; }
lab_check "BA 1 -> Mobile Prefix Solicitation -> Advertisement: the mobile node knows the home prefix, lifetimes counting down from 600/500 s (MN-9, HA-18)" \
    lab_wait 10 learned
echo "  mobile node's home prefix (valid preferred): $(home_prefix)"
lab_check "... the home agent answered a solicitation" test "$(ha_field prefix_solicitations)" -ge 1
v6edge_ctl mn status 2>&1 | sed 's/^/  | /'

# 2. Renumbering while the mobile node cannot answer: 1 + 3 retransmissions.
before=$(ha_field prefix_advertisements)
kill -STOP "$(cat "$LAB_DIR/mn.pid")"
lab_exec ha ip -6 addr change "$HA/64" dev home0 valid_lft 300 preferred_lft 0
sent_since() { echo $(( $(ha_field prefix_advertisements) - before )); }
sleep 11
lab_check "an unsolicited advertisement, retransmitted 3 times 3 s apart until acknowledged (4 in 11 s)" \
    test "$(sent_since)" -eq 4
sleep 3
lab_check "... and no more after that" test "$(sent_since)" -eq 4
kill -CONT "$(cat "$LAB_DIR/mn.pid")"

# 3. Acknowledged: no retransmission.
lab_wait 5 eval '[ "$(mn_field prefix_advertisements)" -ge 2 ]'
sleep 1
before=$(ha_field prefix_advertisements)
solicits_before=$(ha_field prefix_solicitations)
lab_exec ha ip -6 addr change "$HA/64" dev home0 valid_lft 200 preferred_lft 0
renumbered() { read -r valid preferred <<<"$(home_prefix)"; [ -n "${valid:-}" ] && [ "$valid" -le 200 ] && [ "$preferred" = 0 ]; }
lab_check "a change the mobile node hears: its status shows valid <= 200 s, preferred 0" lab_wait 5 renumbered
lab_check "... it acknowledged with a solicitation" \
    lab_wait 3 eval '[ "$(ha_field prefix_solicitations)" -gt "$solicits_before" ]'
sleep 4
lab_check "... and the home agent retransmitted nothing (one advertisement and one answer)" \
    test "$(sent_since)" -eq 2
v6edge_ctl mn status 2>&1 | sed 's/^/  | /'
lab_stop mn

lab_finish
