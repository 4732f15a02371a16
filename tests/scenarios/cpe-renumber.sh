#!/bin/bash
# cpe-renumber.sh - the ISP renumbers: the CPE's next Renew gets the old
# prefix A with lifetime 0 and a new prefix B.  The host must stop using A for
# new connections (deprecated, preferred_lft 0) and prefer an address in B
# within 2 s of the CPE learning B.
#
#   [isp] eth0 ---- wan0 [cpe] lan0 ---- eth0 [host]
#   Kea: pd-pool 2001:db8:100::/40, then restarted with 2001:db8:200::/40
#
# RFC 8415 §18.3.4 (a Renew for a prefix the server will not extend gets it
# back with lifetimes 0), RFC 7084 L-13 and RFC 9096 §3 (a CPE advertises a
# prefix it lost with preferred lifetime 0, and the new one at once).
# The Renew comes from a short T1 (10 s; WIDE dhcp6c raises it to 18 s), and
# for v6edge at once from `v6edge renew` on the control socket.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
LAB_TIMEOUT=${LAB_TIMEOUT:-90}     # watchdog (netns.sh)
. "$HERE/../lab/netns.sh"
. "$HERE/../lab/peers.sh"
ISP_IMPL=kea ISP_T1=10 ISP_T2=16 ISP_PREFERRED=300 ISP_VALID=600
. "$HERE/../lab/cpe.sh"

DEADLINE=${RENUMBER_DEADLINE:-2}    # seconds from "CPE has B" to "host uses B, A deprecated"
                                    # (later if the RA rate limit forbids sending; see below)
lab_init "cpe-renumber-$CPE_IMPL"
cpe_require
echo "cpe-renumber: ISP_IMPL=$ISP_IMPL CPE_IMPL=$CPE_IMPL"

cpe_topology
# v6edge: examples/cpe.toml plus an [uplink] hook that logs each event
# (issue 11: hooks for every role; docs/config.md "Hooks").
if [ "$CPE_IMPL" = v6edge ]; then
    printf '#!/bin/sh\necho "$V6EDGE_ROLE $V6EDGE_EVENT $V6EDGE_PREFIX $V6EDGE_INTERFACE valid=$V6EDGE_VALID_UNTIL lans=$V6EDGE_LAN_PREFIXES" >>"%s/hook.log"\n' "$LAB_DIR" >"$LAB_DIR/hook.sh"
    chmod 755 "$LAB_DIR/hook.sh"
    sed "s|^\[uplink\]\$|[uplink]\nhook = \"$LAB_DIR/hook.sh\"|" "$CPE_CONFIG" >"$LAB_DIR/cpe-hook.toml"
    grep -q '^hook = ' "$LAB_DIR/cpe-hook.toml" || lab_die "could not add the hook to $CPE_CONFIG"
    CPE_CONFIG=$LAB_DIR/cpe-hook.toml
fi
capture_start isp-cap
capture_ra_start host-ra
isp_write_kea 1 "$ISP_POOL"
isp_start
cpe_start
A=$(cpe_wait_delegation 30 "$ISP_POOL") || lab_die "the CPE got no prefix"
lab_wait 15 has_addr_in host eth0 "$A" || lab_die "the host got no address in $A"
echo "prefix A: $A ($(lab_elapsed)s)"
cpe_show

# Renumber: the same subnet now delegates from another pool.  The lease file
# keeps the binding for A; Kea answers its Renew with A at lifetime 0 plus a
# new prefix from the new pool.
isp_stop
isp_write_kea 1 "$ISP_POOL2"
isp_start
echo "ISP renumbered to $ISP_POOL2 at $(lab_elapsed)s"
[ "$CPE_IMPL" = v6edge ] && { v6edge_ctl cpe-v6edge renew || lab_log "v6edge renew failed"; }

# When does the CPE learn B?  (Its T1 is at most 18 s away.)
B=$(cpe_wait_delegation 25 "$ISP_POOL2") || B=
T_B=$(date +%s.%N)
echo "prefix B: ${B:-none} learnt at $(lab_elapsed)s"
[ -n "$B" ] && isp_route_back "$B"

# RFC 4861 §6.2.6: multicast RAs at most one per MIN_DELAY_BETWEEN_RAS (3 s).
# If the CPE advertised shortly before it learnt B, it may not announce the
# change before that RA is 3 s old: the clock starts at the later of the two.
# (v6edge tells hosts that solicited at once by unicast RA, RFC 7772; this
# host solicited before v6edge started, so it is not among them.)
# within SECONDS LIMIT: true when SECONDS is set and <= LIMIT.
within() { [ -n "$1" ] && awk -v t="$1" -v d="$2" 'BEGIN{exit !(t <= d)}'; }
# since T: seconds from T to now.
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN{printf "%.2f", b-a}'; }
DT_A='' DT_B='' SEEN_A='' SEEN_B=''
if [ -n "$B" ]; then
    # Poll every 0.1 s, recording when the host changed (absolute times), for
    # up to DEADLINE + 6 s (rate limit included) so a late change is reported.
    while within "$(since "$T_B")" $(( DEADLINE + 6 )); do
        [ -z "$SEEN_B" ] && preferred_addr_in host eth0 "$B" && SEEN_B=$(date +%s.%N)
        [ -z "$SEEN_A" ] && deprecated_or_gone host eth0 "$A" && SEEN_A=$(date +%s.%N)
        [ -n "$SEEN_A" ] && [ -n "$SEEN_B" ] && break
        sleep 0.1
    done
    # Only now read the capture: tcpdump may write a line a moment late.
    LAST_RA=$(ra_times host-ra | awk -v t="$T_B" '$1 <= t {last = $1} END {print last}')
    T_START=$(awk -v b="$T_B" -v r="${LAST_RA:-0}" 'BEGIN{s = r + 3; printf "%.6f", (s > b ? s : b)}')
    echo "last RA before that: $(awk -v b="$T_B" -v r="${LAST_RA:-0}" 'BEGIN{ if (r > 0) printf "%.2fs earlier", b - r; else print "none"}'); deadline counted from $(awk -v b="$T_B" -v s="$T_START" 'BEGIN{printf "+%.2fs", s - b}')"
    [ -n "$SEEN_B" ] && DT_B=$(awk -v a="$T_START" -v b="$SEEN_B" 'BEGIN{printf "%.2f", b-a}')
    [ -n "$SEEN_A" ] && DT_A=$(awk -v a="$T_START" -v b="$SEEN_A" 'BEGIN{printf "%.2f", b-a}')
    echo "host prefers B after ${DT_B:-never}s, A deprecated after ${DT_A:-never}s"
    echo "RAs received by the host (seconds relative to the CPE learning B):"
    ra_times host-ra | awk -v b="$T_B" '{printf "  %+.2f\n", $1 - b}' | tail -n 8
fi
cpe_show
rdisc6_run "$LAB_DIR/rdisc6.out"
sed 's/^/  | /' "$LAB_DIR/rdisc6.out"
A64=$(lab_subnet "$A" 64 0)
a_pio_preferred() { rdisc6_pio "$LAB_DIR/rdisc6.out" "$A64" | awk '{print $2}'; }
cpe_holds() { cpe_delegations | grep -qx "$1"; }

lab_check "ISP (setup): a Reply carries A with lifetimes 0 next to B" \
    sh -c "tcpdump -r '$LAB_DIR/isp-cap.pcap' -n -v 2>/dev/null | grep 'dhcp6 reply' | grep -q 'IA_PD-prefix $A pltime:0 vltime:0'"
lab_check "the CPE learnt a new prefix B inside $ISP_POOL2 (${B:-none})" test -n "$B"
lab_check "the CPE no longer holds A ($A)" eval "! cpe_holds '$A'"
lab_check "cpe:lan0 has an address in B" has_addr_in cpe lan0 "${B:-::/128}"
lab_check "host: a preferred address in B within ${DEADLINE}s of the CPE learning B (+ RA rate limit) (${DT_B:-never})" \
    within "$DT_B" "$DEADLINE"
lab_xcheck "$XF_DEPRECATE" "host: its address in A deprecated or gone within ${DEADLINE}s (${DT_A:-never})" \
    within "$DT_A" "$DEADLINE"
lab_xcheck "$XF_DEPRECATE" "RA: the old $A64 still advertised, with preferred lifetime 0 (got '$(a_pio_preferred)')" \
    test "$(a_pio_preferred)" = 0

if [ "$CPE_IMPL" = v6edge ]; then
    sed 's/^/  hook: /' "$LAB_DIR/hook.log" 2>/dev/null
    lab_check "[uplink] hook: obtained A, then obtained B and lost A (in that order)" \
        sh -c "grep -n '' '$LAB_DIR/hook.log' | grep -E 'obtained $A |obtained ${B:-none} |lost $A ' | cut -d' ' -f2,3 | tr '\n' ' ' | grep -qx 'obtained $A obtained ${B:-none} lost $A '"
    lab_check "... with the LAN prefixes carved from B when B came" \
        sh -c "grep '^requesting-router obtained ${B:-none} ' '$LAB_DIR/hook.log' | grep -q 'lans=lan0='"
fi

echo "DHCPv6 on the uplink:"
capture_decode isp-cap | sed 's/^.*dhcp6 /  dhcp6 /' | cut -c1-240
lab_finish
