#!/bin/bash
# mip6-scapy.sh - v6edge's home agent against Binding Updates built by
# Scapy's Mobile IPv6 layers (tests/lab/tools/mip6-scapy.py), a second
# encoder nobody here wrote (mip6-ha.sh uses our own byte-by-byte tool).
#
#   [ha] home0 (a veth with carrier) core0 ---- eth0 [mn]
#        2001:db8:1::1              2001:db8:f::1   2001:db8:f::b, ::c (care-of)
#   v6edge run --config examples/home-agent.toml (verbatim: SPI 1000, demo key)
#
# Checks (issue 9 done-when; mobility.md HA-1, HA-5, HA-10, AU-2; answers
# decoded by Scapy too):
#  - Scapy's valid BU gets BA 0 and the binding is installed (proxy entry,
#    route into the tunnel): the two encoders agree;
#  - with a binding in place, BUs for another care-of address with a wrong
#    key (146), a timestamp a minute old (144), a stale sequence number
#    (135), a bad checksum (no answer), an unknown MH type (Binding Error
#    status 2), and the same valid octets sent twice (the copy dropped as
#    a replay) leave the binding as it was: same care-of address, same
#    sequence number;
#  - without a binding, a wrong key gets 146 and nothing is installed;
#  - an [[home-agent.acl]] deny for the home address: 129 despite a valid
#    authenticator (HA-7).
# About 15 s.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
LAB_TIMEOUT=${LAB_TIMEOUT:-120}    # watchdog (netns.sh)
. "$HERE/../lab/netns.sh"
. "$HERE/../lab/peers.sh"

HA=2001:db8:1::1
HOA=2001:db8:1::200
COA=2001:db8:f::b
COA2=2001:db8:f::c
REPO_DIR=$(cd "$HERE/../.." && pwd)
CONFIG=$REPO_DIR/examples/home-agent.toml
KEY=$REPO_DIR/examples/mip6-demo.key
TOOL=$HERE/../lab/tools/mip6-scapy.py

lab_init mip6-scapy
"$LAB_PY" -c 'import scapy.layers.inet6' 2>/dev/null || lab_die "$LAB_PY cannot import scapy (python3-scapy)"
lab_ns_create ha
lab_ns_create mn
lab_exec ha ip link add home0 type veth peer name homepeer
lab_exec ha ip link set homepeer up
lab_exec ha ip link set home0 up
lab_link ha core0 mn eth0
lab_router ha
lab_exec ha ip -6 addr add "$HA/64" dev home0 nodad
lab_exec ha ip -6 addr add 2001:db8:f::1/64 dev core0 nodad
lab_exec mn ip -6 addr add "$COA/64" dev eth0 nodad
lab_exec mn ip -6 addr add "$COA2/64" dev eth0 nodad
lab_exec mn ip -6 route add 2001:db8:1::/64 via 2001:db8:f::1 dev eth0
lab_wait_dad ha home0 || lab_die "no link-local on ha:home0"
lab_wait_dad mn eth0 || lab_die "no link-local on mn:eth0"

start_v6edge ha ha "$CONFIG"
v6edge_wait_ready ha 10 || lab_die "v6edge did not answer status (log: $LAB_DIR/ha.log)"
running() { [ "$(v6edge_status_json ha | lab_json 'd["roles"]["home-agent"]["running"]')" = True ]; }
lab_wait 10 running || lab_die "the home agent did not start (log: $LAB_DIR/ha.log)"

# bu [ARGS...]: one Scapy-built BU from the mobile node; prints the answer.
bu() {
    lab_exec mn "$LAB_PY" "$TOOL" bu --iface eth0 --coa "$COA" --ha "$HA" --hoa "$HOA" \
        --spi 1000 --key-file "$KEY" "$@"
}
field() { "$LAB_PY" -c 'import json,sys; d=json.loads(sys.stdin.read() or "{}"); print(d.get(sys.argv[1]))' "$1"; }
proxied() { ip -n "$(lab_ns ha)" -6 neigh show proxy dev home0 | grep -q "^$HOA "; }
routed() { ip -n "$(lab_ns ha)" -6 route show "$HOA" | grep -q "dev v6e-ha0 proto 121"; }
binding() { v6edge_status_json ha | lab_json '" ".join(b["care_of"] + " " + str(b["sequence"]) for b in d["roles"]["home-agent"]["bindings"] if b["home_address"] == "'"$HOA"'")'; }

# 1. Without a binding: a wrong key.
ANSWER=$(bu --seq 1 --wrong-key)
echo "  wrong key, no binding: $ANSWER"
lab_check "no binding yet: Scapy's BU with a wrong key gets BA 146 (AU-2)" \
    test "$(echo "$ANSWER" | field type)/$(echo "$ANSWER" | field status)" = ba/146
lab_check "... and nothing is installed" eval '! proxied && ! routed'

# 2. Scapy's valid BU.
ANSWER=$(bu --seq 10 --lifetime 100)
echo "  valid: $ANSWER"
lab_check "Scapy's valid BU gets BA 0, sequence 10 (HA-10): both encoders agree" \
    test "$(echo "$ANSWER" | field type)/$(echo "$ANSWER" | field status)/$(echo "$ANSWER" | field seq)" = ba/0/10
lab_check "... the proxy entry and the route into the tunnel are installed" lab_wait 3 eval 'proxied && routed'
lab_check "... and the home agent's kernel sent no Parameter Problem about the Home Address option (our nftables drop)" \
    test "$(echo "$ANSWER" | field kernel_parameter_problems)" = 0
lab_check "... status: care-of $COA, sequence 10" test "$(binding)" = "$COA 10"

# 3. Refusals, each for a move to $COA2: the binding must not follow.
ANSWER=$(bu --seq 11 --alt-coa "$COA2" --wrong-key)
lab_check "a wrong key gets 146 (AU-2)" test "$(echo "$ANSWER" | field status)" = 146
ANSWER=$(bu --seq 12 --alt-coa "$COA2" --age 60)
lab_check "a timestamp a minute old gets 144 (AU-2, RFC 4285 §6)" test "$(echo "$ANSWER" | field status)" = 144
ANSWER=$(bu --seq 5 --alt-coa "$COA2")
lab_check "a stale sequence number gets 135 with the last accepted, 10 (HA-5)" \
    test "$(echo "$ANSWER" | field status)/$(echo "$ANSWER" | field seq)" = 135/10
ANSWER=$(bu --seq 13 --alt-coa "$COA2" --bad-checksum --wait 1)
lab_check "a bad checksum gets no answer (HA-1)" test "$(echo "$ANSWER" | field type)" = none
ANSWER=$(bu --mh-type 77 --alt-coa "$COA2")
lab_check "an unknown MH type gets a Binding Error, status 2 (HA-1, RFC 6275 §9.2)" \
    test "$(echo "$ANSWER" | field type)/$(echo "$ANSWER" | field status)" = be/2
lab_check "after the refusals the binding is as it was: care-of $COA, sequence 10" \
    test "$(binding)" = "$COA 10"

# 4. The same valid octets twice: the first refreshes, the copy is a replay.
ANSWER=$(bu --seq 14 --times 2 --wait 1.5)
echo "  sent twice: $ANSWER"
lab_check "the same BU sent twice: BA 0 to the first, nothing to the replayed copy (AU-2)" \
    test "$(echo "$ANSWER" | field answers)" = "['ba', 'none']"
lab_check "... the binding has sequence 14" test "$(binding)" = "$COA 14"
v6edge_ctl ha metrics >"$LAB_DIR/metrics.txt" 2>&1
lab_check "the replay and the bad checksum are counted as drops" sh -c \
    "grep -q 'reason=\"replayed\"} [1-9]' '$LAB_DIR/metrics.txt' && grep -q 'reason=\"bad-checksum\"} [1-9]' '$LAB_DIR/metrics.txt'"

# 5. HA-7 / MT-7: an ACL rule that denies the home address (its key still
#    valid) gets 129, administratively prohibited, and nothing installed.
lab_stop ha
cp "$KEY" "$LAB_DIR/"
{ cat "$CONFIG"; printf '\n[[home-agent.acl]]\nhome-addresses = "%s/128"\naction = "deny"\n' "$HOA"; } >"$LAB_DIR/ha-acl.toml"
sed -i "s|^key-file = .*|key-file = \"$(basename "$KEY")\"|" "$LAB_DIR/ha-acl.toml"
start_v6edge ha ha "$LAB_DIR/ha-acl.toml"
v6edge_wait_ready ha 10 || lab_die "v6edge did not restart with the ACL (log: $LAB_DIR/ha.log)"
lab_wait 10 running || lab_die "the home agent did not start"
# The binding persisted from before is restored; the ACL refuses its refresh.
ANSWER=$(bu --seq 20 --lifetime 100)
echo "  denied by the ACL: $ANSWER"
lab_check "an [[home-agent.acl]] deny for $HOA: a valid BU gets 129 (HA-7)" \
    test "$(echo "$ANSWER" | field type)/$(echo "$ANSWER" | field status)" = ba/129
lab_check "... and the binding saved before the rule was not restored: no proxy entry, no route" \
    eval '! proxied && ! routed && [ -z "$(binding)" ]'

lab_finish
