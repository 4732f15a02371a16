#!/bin/bash
# server-malformed.sh - the server drops messages it must discard, counts
# them, and keeps serving.
#
#   [srv] isp0 ---- switch ---- eth0 [cli]
#   SERVER_IMPL=v6edge|kea      tools/dhcp6-probe.py (scapy, system python3)
#
# RFC 8415 §16 (a server discards a message that fails validation), §16.2
# (a Solicit without Client Identifier, or with a Server Identifier), and
# the robustness rule for the truncated option (lab scenario h: Kea answers
# it, ISC dhcpd and WIDE dhcp6s drop it).  Per kind of bad Solicit: no answer
# at all (Kea: the truncated IA_PD is answered, an expected failure), and a
# normal Solicit right after it still gets a /56.  Overall: the server's drop
# counters (v6edge: status .server.counters.dropped; Kea: the
# pkt6-receive-drop statistic) grew by at least the
# number of messages it did not answer, and no lease came out of any of it.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
LAB_TIMEOUT=${LAB_TIMEOUT:-90}     # watchdog (netns.sh)
. "$HERE/../lab/netns.sh"
. "$HERE/../lab/peers.sh"
. "$HERE/../lab/server.sh"

lab_init "server-malformed-$SERVER_IMPL"
server_require /usr/bin/python3
/usr/bin/python3 -c 'import scapy' 2>/dev/null || lab_die "python3-scapy is not installed (scripts/install-deps.sh)"
PROBE=(/usr/bin/python3 "$HERE/../lab/tools/dhcp6-probe.py")
echo "server-malformed: SERVER_IMPL=$SERVER_IMPL"

server_topology
srv_start
srv_attach cli eth0

probe() { lab_exec cli timeout 20 "${PROBE[@]}" eth0 "$@"; }
# answered_with_pd FILE: the probe's output has a /56 from the pool.
answered_with_pd() {
    grep -Eq "^ia-pd-prefix [0-9a-f:]+/$SRV_PD_LEN " "$1" \
        && lab_within "$(awk '/^ia-pd-prefix / {print $2; exit}' "$1")" "$SRV_PD_POOL" "$SRV_PD_LEN"
}

probe --pd 56 >"$LAB_DIR/probe-first.out" 2>&1
sed 's/^/  first   | /' "$LAB_DIR/probe-first.out"
lab_check "a normal Solicit gets an Advertise with a /$SRV_PD_LEN from $SRV_PD_POOL" \
    answered_with_pd "$LAB_DIR/probe-first.out"
D0=$(srv_dropped_total 2>/dev/null)
echo "drop counter before: ${D0:-none}"
srv_counters_show 2>&1 | sed 's/^/  counters: /'

UNANSWERED=0
for kind in ia-pd-overrun short no-client-id with-server-id; do
    out=$LAB_DIR/probe-$kind.out
    probe --bad "$kind" --timeout 2 >"$out" 2>&1
    sed "s/^/  $kind | /" "$out"
    grep -q '^no-answer-to-malformed' "$out" && UNANSWERED=$((UNANSWERED + 1))
    xf=''
    [ "$kind" = ia-pd-overrun ] && xf=$XF_MALFORMED
    lab_xcheck "$xf" "bad Solicit ($kind): no answer" grep -q '^no-answer-to-malformed' "$out"
    lab_check "bad Solicit ($kind): no prefix offered for it" \
        sh -c "grep -Eq '^(no-answer-to-malformed|answer-to-malformed-from)' '$out' && ! grep -q '^ia-pd' '$out'"
    probe --pd 56 >"$out.after" 2>&1
    lab_check "after the bad Solicit ($kind) a normal Solicit still gets a /$SRV_PD_LEN" \
        answered_with_pd "$out.after"
done

D1=$(srv_dropped_total 2>/dev/null)
echo "drop counter after: ${D1:-none} (unanswered: $UNANSWERED)"
srv_counters_show 2>&1 | sed 's/^/  counters: /'
lab_check "the server's drop counter is readable" test -n "${D0:-}" -a -n "${D1:-}"
lab_check "the drop counter grew by at least the $UNANSWERED unanswered messages (${D0:-?} -> ${D1:-?})" \
    test "$(( ${D1:-0} - ${D0:-0} ))" -ge "$UNANSWERED" -a "$UNANSWERED" -gt 0
lab_xcheck "$XF_DROPCOUNT" "the drop counter grew by all 4 bad messages (${D0:-?} -> ${D1:-?})" \
    test "$(( ${D1:-0} - ${D0:-0} ))" -ge 4
srv_leases_to "$LAB_DIR/leases.json"
lab_check "no lease came out of Solicits (Advertise only)" json_true "d['leases'] == []" "$LAB_DIR/leases.json"
lab_check "server ($SERVER_IMPL) is still running" lab_alive "$(srv_name)"

lab_finish
