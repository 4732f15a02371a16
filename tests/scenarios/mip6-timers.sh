#!/bin/bash
# mip6-timers.sh - the mobile node's Binding Update timers while its home
# agent is not up yet (reference scenario MT-2; RFC 6275 §11.8, §12; MN-5):
# the mobile node starts on a foreign link, the home agent ~10 s later.
# Test bed: tests/lab/mip6.sh (both ends v6edge, examples verbatim).
#
# The Binding Updates are captured with tcpdump on the mobile node's eth0
# (IPv6 from the care-of address to the home agent, a Destination Options
# header then a Mobility Header of type 5). Checks:
#  - the first retransmission follows after InitialBindackTimeoutFirstReg
#    (1.5 s), and each later interval doubles the one before (±20 %);
#  - never more than MAX_UPDATE_RATE (3) Binding Updates in any second;
#  - once the home agent is up, the registration completes (both statuses
#    agree on the care-of address) and the correspondent's pings to the
#    home address are answered;
#  - the mobile node's counters agree with the capture;
#  - a move while the home agent's daemon is down (kill -9): registered
#    once the daemon is back.
#
# "Not up yet" is the home agent's host still booting: its address
# 2001:db8:1::1 is not configured before the daemon starts, so the Binding
# Updates meet a router without a route there. (A host that is up without
# the daemon answers every Binding Update with the kernel's Parameter
# Problem for the Home Address option: part 3, an expected failure.)
# About 35 s.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
LAB_TIMEOUT=${LAB_TIMEOUT:-120}    # watchdog (netns.sh)
. "$HERE/../lab/netns.sh"
. "$HERE/../lab/peers.sh"
. "$HERE/../lab/mip6.sh"

# 8 s: the mobile node's Binding Updates leave at 0, 1.5, 4.5 and 10.5 s,
# so the one at 10.5 s meets a running home agent with a margin (one that
# arrived between the address and the daemon would be answered by the
# kernel's Parameter Problem, see part 2).
HA_LATE=${MIP6_HA_LATE:-8}

lab_init mip6-timers
lab_require tcpdump
mip6_topology
# The home agent's host is booting: no home agent address yet.
lab_exec ha ip -6 addr del "$MIP6_HA/64" dev home0
mip6_move ar1 br1
lab_wait 15 coa_in 2001:db8:a: || lab_die "no SLAAC care-of address on link 1"
COA=$(lab_global mn eth0)

# Binding Updates: from the care-of address to the home agent, Next Header
# 60 (Destination Options, carrying the Home Address option) whose own Next
# Header (the first octet after the fixed header) is 135, Mobility Header.
lab_daemon mn tcpdump-bu tcpdump -i eth0 -n -U -w "$LAB_DIR/bu.pcap" \
    "ip6 and src $COA and dst $MIP6_HA and ip6[6] == 60 and ip6[40] == 135"
lab_wait 5 grep -q "listening on" "$LAB_DIR/tcpdump-bu.log" || lab_die "tcpdump did not start"
sleep 0.5
mip6_start_mn
T_MN=$(date +%s.%N)
sleep "$HA_LATE"
lab_exec ha ip -6 addr add "$MIP6_HA/64" dev home0 nodad
mip6_start_ha
T_HA=$(date +%s.%N)
echo "mobile node started, home agent $(awk -v a="$T_MN" -v b="$T_HA" 'BEGIN{printf "%.1f", b-a}') s later"
lab_check "once the home agent is up, the registration of $COA completes (both statuses)" \
    lab_wait 40 bound_at "$COA"
lab_check "the correspondent's pings to the home address are answered" \
    lab_exec cn ping -6 -n -c 3 -i 0.3 -W 2 "$MIP6_HOA"
sleep 0.5
lab_stop tcpdump-bu
tcpdump -r "$LAB_DIR/bu.pcap" -n -tt 2>/dev/null | awk '{print $1}' >"$LAB_DIR/bu.times"
echo "Binding Updates captured (seconds after the mobile node started):"
awk -v t0="$T_MN" '{printf "  | %.3f\n", $1 - t0}' "$LAB_DIR/bu.times"

# intervals: the gaps between consecutive BUs sent before the home agent
# came up (the one it answered is the last of them).
intervals() { awk -v th="$T_HA" 'NR > 1 && p < th { printf "%.3f\n", $1 - p } { p = $1 }' "$LAB_DIR/bu.times"; }
echo "intervals: $(intervals | tr '\n' ' ')"
first_is_initial() {   # 1.5 s, InitialBindackTimeoutFirstReg
    intervals | head -1 | awk '{ exit !($1 >= 1.2 && $1 <= 1.8) }'
}
doubling() {           # each interval twice the one before, up to 32 s
    [ "$(intervals | wc -l)" -ge 3 ] && intervals | awk 'NR > 1 { want = 2 * p; if (want > 32) want = 32; if ($1 < want * 0.8 || $1 > want * 1.2) bad = 1 } { p = $1 } END { exit bad }'
}
rate_limited() {       # MAX_UPDATE_RATE: at most 3 in any 1 s window
    awk '{ t[NR] = $1 } END { for (i = 1; i <= NR; i++) { n = 0; for (j = i; j <= NR && t[j] < t[i] + 1; j++) n++; if (n > 3) exit 1 } }' "$LAB_DIR/bu.times"
}
lab_check "the first retransmission comes after InitialBindackTimeoutFirstReg, 1.5 s (RFC 6275 §11.8)" first_is_initial
lab_check "then the interval doubles each time (RFC 6275 §11.8; at least 3 intervals seen)" doubling
lab_check "never more than 3 Binding Updates in any second (MAX_UPDATE_RATE, RFC 6275 §12)" rate_limited
bu_sent=$(mn_field bu_sent)
captured=$(wc -l <"$LAB_DIR/bu.times")
echo "mobile node counters: bu_sent $bu_sent, retransmissions $(mn_field retransmissions); captured $captured"
lab_check "the mobile node's bu_sent counter agrees with the capture" test "$bu_sent" = "$captured"

# 2. The home agent's daemon crashes (kill -9) and the mobile node moves
#    meanwhile; the daemon is back 2 s later: the Binding Updates of the
#    move go on (MN-5) until it answers, and the new care-of address is
#    registered.
lab_kill9 ha
mip6_move ar2 br2
lab_wait 15 coa_in 2001:db8:b: || lab_die "no SLAAC care-of address on link 2"
COA2=$(lab_global mn eth0)
sleep 2
start_v6edge ha ha "$MIP6_HA_CONFIG"
v6edge_wait_ready ha 10 || lab_die "the home agent's v6edge did not restart (log: $LAB_DIR/ha.log)"
lab_check "a move while the home agent's daemon is down: registered at $COA2 once it is back" \
    lab_wait 10 bound_at "$COA2"

# 3. MT-2 on a home agent host that is up while its daemon is not (stopped
#    cleanly here, so none of its capture rules are left): the kernel there
#    answers each Binding Update with a Parameter Problem (code 2, the Home
#    Address option; mobility.md §2.1). After PARAMETER_PROBLEM_GRACE (2 s)
#    without an acknowledgement the mobile node reports a home agent
#    without Mobile IPv6 (MN-13) but goes on registering (MN-5): once the
#    daemon is up, the binding is made.
lab_stop ha
mip6_move ar1 br1
lab_wait 15 coa_in 2001:db8:a: || lab_die "no SLAAC care-of address on link 1"
COA3=$(lab_global mn eth0)
sleep 3
start_v6edge ha ha "$MIP6_HA_CONFIG"
v6edge_wait_ready ha 10 || lab_die "the home agent's v6edge did not restart (log: $LAB_DIR/ha.log)"
lab_check "the home agent's daemon started 3 s after the move, its kernel's Parameter Problems meanwhile: registered at $COA3 (MN-5, MN-13)" \
    lab_wait 15 bound_at "$COA3"
echo "mobile node at the end: state $(mn_field state), bu_sent $(mn_field bu_sent)"

lab_finish
