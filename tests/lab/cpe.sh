#!/bin/bash
# cpe.sh - the requesting-router (CPE) test bed shared by tests/scenarios/cpe-*.sh
# and bench/cpe-startup.sh.  Source after netns.sh and peers.sh.
#
#   [isp] eth0 ------------------- wan0 [cpe] lan0 ------------------- eth0 [host]
#   2001:db8:0:1::1/64                  forwarding=1                     SLAAC host
#   RA: M=1 O=1, router lifetime        accept_ra=2 on wan0              accept_ra=1
#   DHCPv6 server ($ISP_IMPL)           CPE under test ($CPE_IMPL)       autoconf=1
#   delegates /56s out of 2001:db8:100::/40, DNS 2001:db8:0:1::53, domain isp.example
#
# Two knobs pick the implementations (the scenario is written once, the peers
# change; see docs in tests/README.md):
#   ISP_IMPL=kea|isc|wide  Kea kea-dhcp6 (pd-pool), ISC dhcpd -6 (prefix6), WIDE
#                          dhcp6s (a host entry for the CPE's DUID, so it starts
#                          after the CPE has made up its DUID)
#   CPE_IMPL=v6edge|wide   v6edge with examples/cpe.toml verbatim, or WIDE dhcp6c
#                          (prefix-interface lan0, sla-id 0) + radvd ("prefix
#                          ::/64", RDNSS/DNSSL set statically to the ISP's values)
#
# The wide CPE is the reference that lets the harness be validated without
# v6edge; where dhcp6c + radvd are known to get a requirement wrong, the check
# is written with lab_xcheck and the reason in $XF_* (empty for v6edge, where
# the same check is a normal one).

CPE_IMPL=${CPE_IMPL:-v6edge}
ISP_IMPL=${ISP_IMPL:-kea}
case $CPE_IMPL in v6edge|wide) ;; *) lab_die "CPE_IMPL must be v6edge or wide (got $CPE_IMPL)" ;; esac
case $ISP_IMPL in kea|isc|wide) ;; *) lab_die "ISP_IMPL must be kea, isc or wide (got $ISP_IMPL)" ;; esac

REPO_DIR=$(cd "$LAB_LIB_DIR/../.." && pwd)
CPE_CONFIG=${CPE_CONFIG:-$REPO_DIR/examples/cpe.toml}

ISP_ADDR=2001:db8:0:1::1
ISP_DNS=2001:db8:0:1::53
ISP_DOMAIN=isp.example
ISP_POOL=2001:db8:100::/40          # every ISP server delegates /56s from here
ISP_POOL2=2001:db8:200::/40         # after renumbering (cpe-renumber.sh)
ISP_WIDE_PREFIX=2001:db8:100::/56   # dhcp6s has no pools: the one prefix it gives
# ISP_NA_POOL: an IA_NA address range for Kea (e.g. 2001:db8:0:1::100-2001:db8:0:1::1ff); unset = none
CPE_WIDE_DUID=00:03:00:01:02:00:00:00:0c:01   # DUID-LL, made-up MAC, for dhcp6c
ISP_IF=${ISP_IF:-eth0}              # the ISP server's interface (chain.sh: isp0)

# Lifetimes the ISP hands out (seconds); a scenario may change them before
# isp_start.  Defaults sit below RFC 9096's limits for valid but above them for
# preferred, so both bounds of check L-16 are exercised.
ISP_T1=${ISP_T1:-1000}
ISP_T2=${ISP_T2:-1600}
ISP_PREFERRED=${ISP_PREFERRED:-3000}
ISP_VALID=${ISP_VALID:-4000}

# RFC 9096 §3.5 (L-16): ND_PREFERRED_LIMIT and ND_VALID_LIMIT for the PIO
# lifetimes a CPE advertises.
ND_PREFERRED_LIMIT=2700
ND_VALID_LIMIT=5400

# Known gaps of the dhcp6c + radvd reference (XFAIL in wide mode).
XF_CLAMP='' XF_UNREACH='' XF_LANLFT='' XF_DEPRECATE='' XF_HINT='' XF_REBIND='' XF_RAFRESH=''
if [ "$CPE_IMPL" = wide ]; then
    XF_CLAMP="radvd advertises its static AdvValidLifetime/AdvPreferredLifetime, unrelated to the delegation"
    XF_UNREACH="dhcp6c installs no unreachable route for the delegated prefix"
    XF_LANLFT="dhcp6c adds the LAN address with an ioctl: infinite lifetimes, not the delegation's"
    XF_DEPRECATE="radvd just stops advertising a prefix that left lan0; it never sends it with preferred lifetime 0"
    XF_HINT="dhcp6c keeps no binding across a restart: its Solicit carries no IAPREFIX hint"
    XF_REBIND="dhcp6c raises T1/T2 below 30 s to 18/30 s, so a 30 s binding expires before its Rebind is due: it Renews, then Solicits"
    XF_RAFRESH="radvd's lifetimes are static: the host's address lifetime is radvd's, not the delegation's"
fi

# cpe_require: the commands this CPE_IMPL / ISP_IMPL combination needs.
cpe_require() {
    lab_require rdisc6 ping tcpdump timeout
    case $ISP_IMPL in
        kea) lab_require kea-dhcp6 ss ;;
        isc) lab_require dhcpd ;;
        wide) lab_require dhcp6s ;;
    esac
    case $CPE_IMPL in
        wide) lab_require dhcp6c radvd ;;
        v6edge)
            [ -x "$V6EDGE_BIN" ] || lab_die "no v6edge binary at $V6EDGE_BIN (run: cargo build -p v6edge)"
            [ -f "$CPE_CONFIG" ] || lab_die "missing CPE config $CPE_CONFIG"
            ;;
    esac
}

# cpe_topology: the three namespaces, links, addresses, sysctls and the ISP's
# Router Advertisements (RFC 7084 G-4: without an upstream default route the
# CPE must advertise router lifetime 0).
cpe_topology() {
    lab_ns_create isp
    lab_ns_create cpe
    lab_ns_create host
    lab_link isp eth0 cpe wan0
    lab_link cpe lan0 host eth0
    lab_addr isp eth0 "$ISP_ADDR/64"
    lab_router cpe wan0
    lab_sysctl host net.ipv6.conf.all.forwarding=0 \
        net.ipv6.conf.eth0.accept_ra=1 net.ipv6.conf.eth0.autoconf=1
    lab_wait_dad isp eth0 || lab_die "no link-local on isp:eth0"
    lab_wait_dad cpe wan0 lan0 || lab_die "no link-local on cpe"
    lab_wait_dad host eth0 || lab_die "no link-local on host:eth0"
    start_isp_ra isp isp-ra eth0
    # The CPE's upstream default route comes from that RA.
    lab_wait 15 sh -c "ip -n $(lab_ns cpe) -6 route show default | grep -q 'via .* dev wan0'" \
        || lab_die "cpe got no default route from the ISP's RA"
}

# ------------------------------------------------------------------ ISP side

# isp_name: instance name of the ISP DHCPv6 server.
isp_name() { echo "isp-$ISP_IMPL"; }

# isp_write_kea SUBNET_ID POOL: Kea config delegating /56s from POOL.
isp_write_kea() {
    local na_pools=""
    [ -n "${ISP_NA_POOL:-}" ] && na_pools="\"pools\": [ { \"pool\": \"$ISP_NA_POOL\" } ],"
    cat >"$LAB_DIR/isp-kea.conf" <<EOF
{
  "Dhcp6": {
    "interfaces-config": { "interfaces": [ "$ISP_IF" ] },
    "data-directory": "$LAB_DIR",
    "lease-database": { "type": "memfile", "persist": true, "lfc-interval": 0,
                        "name": "$LAB_DIR/isp-kea.leases.csv" },
    "renew-timer": $ISP_T1, "rebind-timer": $ISP_T2,
    "preferred-lifetime": $ISP_PREFERRED, "valid-lifetime": $ISP_VALID,
    "option-data": [
      { "name": "dns-servers", "data": "$ISP_DNS" },
      { "name": "domain-search", "data": "$ISP_DOMAIN" }
    ],
    "subnet6": [ {
      "id": $1, "subnet": "2001:db8:0:1::/64", "interface": "$ISP_IF",
      $na_pools
      "pd-pools": [ { "prefix": "${2%/*}", "prefix-len": ${2#*/}, "delegated-len": 56 } ]
    } ],
    "loggers": [ { "name": "kea-dhcp6", "severity": "INFO",
                   "output_options": [ { "output": "stdout" } ] } ]
  }
}
EOF
}

# isp_write_isc: dhcpd -6 config, prefix6 pool of /56s inside $ISP_POOL.
isp_write_isc() {
    cat >"$LAB_DIR/isp-isc.conf" <<EOF
default-lease-time $ISP_VALID;
max-lease-time $ISP_VALID;
preferred-lifetime $ISP_PREFERRED;
option dhcp-renewal-time $ISP_T1;
option dhcp-rebinding-time $ISP_T2;
option dhcp6.name-servers $ISP_DNS;
option dhcp6.domain-search "$ISP_DOMAIN";
subnet6 2001:db8:0:1::/64 {
	prefix6 2001:db8:100:: 2001:db8:1ff:: /56;
}
EOF
}

# isp_write_wide DUID: dhcp6s config with a host entry for the CPE's DUID.
isp_write_wide() {
    cat >"$LAB_DIR/isp-wide.conf" <<EOF
option domain-name-servers $ISP_DNS;
option domain-name "$ISP_DOMAIN";
host cpe {
	duid $1;
	prefix $ISP_WIDE_PREFIX $ISP_PREFERRED $ISP_VALID;
};
EOF
}

# isp_start: start the ISP's DHCPv6 server and wait until it serves.  For
# ISP_IMPL=wide the CPE must already run (dhcp6s needs its DUID).
isp_start() {
    local name; name=$(isp_name)
    case $ISP_IMPL in
        kea)
            [ -f "$LAB_DIR/isp-kea.conf" ] || isp_write_kea 1 "$ISP_POOL"
            kea6_check isp isp-kea >"$LAB_DIR/isp-kea.check" 2>&1 \
                || { cat "$LAB_DIR/isp-kea.check"; lab_die "kea config rejected"; }
            start_kea6 isp isp-kea
            lab_wait 10 kea6_ready isp isp-kea || lab_die "kea-dhcp6 did not start"
            ;;
        isc)
            isp_write_isc
            start_isc_dhcpd6 isp isp-isc "$ISP_IF"
            lab_wait 10 grep -q "Server starting service" "$LAB_DIR/isp-isc.log" \
                || lab_die "dhcpd did not start"
            ;;
        wide)
            local duid
            duid=$(cpe_duid) || lab_die "the CPE made up no DUID to give dhcp6s"
            isp_write_wide "$duid"
            start_wide_dhcp6s isp isp-wide "$ISP_IF"
            lab_wait 5 sh -c "[ -n \"\$(ip netns exec $(lab_ns isp) ss -Hlun 'sport = :547')\" ]" \
                || lab_die "dhcp6s did not start"
            ;;
    esac
    lab_log "ISP server $name up ($(lab_elapsed)s)"
}

# isp_stop: stop the ISP's DHCPv6 server (SIGTERM).
isp_stop() { lab_stop "$(isp_name)"; }

# isp_route_back PREFIX: the route the ISP's servers never add (lab scenario
# e): PREFIX via the CPE's wan0 link-local.
isp_route_back() {
    lab_run ip -n "$(lab_ns isp)" -6 route replace "$1" via "$(lab_ll cpe wan0)" dev eth0
}

# capture_start NAME [NS IF FILTER...]: capture (tcpdump, packet-buffered)
# into $LAB_DIR/NAME.pcap; default: DHCPv6 on isp:eth0.  Stop with lab_stop.
capture_start() {
    local name=$1 ns=${2:-isp} ifc=${3:-eth0}
    shift; [ $# -ge 2 ] && shift 2
    [ $# -gt 0 ] || set -- udp port 546 or udp port 547
    lab_daemon "$ns" "$name" tcpdump -i "$ifc" -n -U --immediate-mode -s 0 -w "$LAB_DIR/$name.pcap" "$@"
    lab_wait 5 grep -q 'listening on' "$LAB_DIR/$name.log" || lab_log "tcpdump $name not listening?"
}

# capture_ra_start NAME: capture the Router Advertisements the host receives.
capture_ra_start() { capture_start "$1" host eth0 icmp6 and 'ip6[40] == 134'; }

# ra_times NAME: the arrival times (epoch seconds) of the RAs in capture NAME.
ra_times() { tcpdump -tt -n -r "$LAB_DIR/$1.pcap" 2>/dev/null | awk '/router advertisement/ {print $1}'; }

# capture_decode NAME: the capture as text, one DHCPv6 message a line.
capture_decode() { tcpdump -r "$LAB_DIR/$1.pcap" -n -v 2>/dev/null | grep 'dhcp6 '; }

# ------------------------------------------------------------------ CPE side

# cpe_name: the instance whose crash / restart matters (the DHCPv6 client).
cpe_name() { [ "$CPE_IMPL" = v6edge ] && echo cpe-v6edge || echo cpe-dhcp6c; }

_wide_cpe_configs() {
    # dhcp6c runs its script with an empty environment: paths are baked in.
    # It records what the client learnt (DNS, domain) and makes radvd re-read
    # lan0's addresses after every Reply, as a hand-built CPE would.
    cat >"$LAB_DIR/cpe-dhcp6c.script" <<EOF
#!/bin/sh
{ echo "--- \$(date +%s.%N)"; env | grep -E '^(REASON|new_)' | sort; } >>"$LAB_DIR/cpe-dhcp6c.hook"
[ -s "$LAB_DIR/cpe-radvd.pidfile" ] && kill -HUP "\$(cat "$LAB_DIR/cpe-radvd.pidfile")" 2>/dev/null
exit 0
EOF
    chmod 755 "$LAB_DIR/cpe-dhcp6c.script"
    # sla-len 8: the ISPs delegate /56s (dhcp6c needs prefix + sla-len = 64).
    cat >"$LAB_DIR/cpe-dhcp6c.conf" <<EOF
interface wan0 {
	send ia-pd 0;
	request domain-name-servers;
	request domain-name;
	script "$LAB_DIR/cpe-dhcp6c.script";
};
id-assoc pd 0 {
	prefix-interface lan0 {
		sla-id 0;
		sla-len 8;
		ifid 1;
	};
};
EOF
    # radvd with its default lifetimes, as a hand-built CPE is usually set up;
    # "prefix ::/64" advertises whatever /64 dhcp6c put on lan0.
    cat >"$LAB_DIR/cpe-radvd.conf" <<EOF
interface lan0 {
	AdvSendAdvert on;
	MinRtrAdvInterval 3;
	MaxRtrAdvInterval 10;
	prefix ::/64 {
		AdvOnLink on;
		AdvAutonomous on;
	};
	RDNSS $ISP_DNS { };
	DNSSL $ISP_DOMAIN { };
};
EOF
}

# cpe_start: start the CPE and wait until it is ready (v6edge: the control
# socket answers; wide: dhcp6c and radvd run).  A second call after
# cpe_kill9 restarts the DHCPv6 client with the same state (warm start).
cpe_start() {
    case $CPE_IMPL in
        v6edge)
            start_v6edge cpe cpe-v6edge "$CPE_CONFIG"
            v6edge_wait_ready cpe-v6edge 10 || lab_die "v6edge did not become ready"
            ;;
        wide)
            [ -f "$LAB_DIR/cpe-dhcp6c.conf" ] || _wide_cpe_configs
            lab_alive cpe-radvd || start_radvd cpe cpe-radvd
            # An existing state dir keeps its DUID file: only write it once.
            if [ -e "$LAB_DIR/cpe-dhcp6c.state/dhcp6c_duid" ]; then
                start_wide_dhcp6c cpe cpe-dhcp6c "" wan0
            else
                start_wide_dhcp6c cpe cpe-dhcp6c "$CPE_WIDE_DUID" wan0
            fi
            lab_wait 5 lab_alive cpe-dhcp6c && lab_wait 5 lab_alive cpe-radvd \
                || lab_die "dhcp6c/radvd did not start"
            ;;
    esac
}

# cpe_kill9: crash the CPE's DHCPv6 client (v6edge as a whole; for wide only
# dhcp6c, radvd keeps running as it would on a real box).
cpe_kill9() { lab_kill9 "$(cpe_name)"; }

# cpe_duid: the CPE's client DUID, "00:01:...".  Waits up to 5 s for v6edge
# to write it to its state directory.
cpe_duid() {
    case $CPE_IMPL in
        wide) echo "$CPE_WIDE_DUID" ;;
        v6edge)
            lab_wait 5 v6edge_duid cpe-v6edge || return 1
            v6edge_duid cpe-v6edge
            ;;
    esac
}

# cpe_delegations: the prefixes the CPE currently holds, one a line.  v6edge:
# "delegations" of status --json (valid lifetime > 0 or infinite).  wide:
# replayed from dhcp6c's log ("create a prefix" / "remove a site prefix").
cpe_delegations() {
    case $CPE_IMPL in
        v6edge)
            v6edge_status_json cpe-v6edge 2>/dev/null | lab_json \
                '[x["prefix"] for x in d.get("delegations", []) if x.get("valid") is None or x.get("valid") > 0]'
            ;;
        wide)
            # Only the running dhcp6c's log: a restarted dhcp6c remembers nothing.
            awk '
                /update_prefix: create a prefix / { live[$(NF-2)] = 1 }
                /remove_siteprefix: remove a site prefix / { delete live[$NF] }
                END { for (p in live) print p }' "$LAB_DIR/cpe-dhcp6c.log" 2>/dev/null
            ;;
    esac
}

# cpe_wait_delegation [TIMEOUT] [PARENT]: wait (default 20 s) until the CPE
# holds a prefix (inside PARENT if given); print it.
cpe_wait_delegation() {
    local t=${1:-20} parent=${2:-} n p
    n=$(( t * 5 ))
    while [ "$n" -gt 0 ]; do
        for p in $(cpe_delegations); do
            if [ -z "$parent" ] || lab_within "$p" "$parent"; then echo "$p"; return 0; fi
        done
        sleep 0.2
        n=$(( n - 1 ))
    done
    return 1
}

# cpe_state: v6edge's uplink state (bound, renewing, rebinding, ...).
cpe_state() {
    v6edge_status_json cpe-v6edge 2>/dev/null | lab_json 'd["uplink"]["state"]'
}

# ---------------------------------------------------------- observations

# addr_in NS IF PREFIX: print the global addresses of IF inside PREFIX, with
# their lifetimes: "ADDR/LEN VALID PREFERRED" (seconds, or "forever").
# (ip's "to PREFIX" selects the addresses; no python: this runs in tight polls.)
addr_in() {
    ip -n "$(lab_ns "$1")" -6 -o addr show dev "$2" scope global to "$3" 2>/dev/null | awk '{
        v = p = ""
        for (i = 5; i < NF; i++) {
            if ($i == "valid_lft") v = $(i+1)
            if ($i == "preferred_lft") p = $(i+1)
        }
        sub(/sec$/, "", v); sub(/sec$/, "", p)
        print $4, v, p
    }'
}

# has_addr_in NS IF PREFIX: true when IF has a global address inside PREFIX.
has_addr_in() { [ -n "$(addr_in "$@")" ]; }

# preferred_addr_in NS IF PREFIX: true when IF has an address inside PREFIX
# that is still preferred (preferred_lft > 0).
preferred_addr_in() { addr_in "$@" | awk '$3 == "forever" || $3 + 0 > 0 {ok = 1} END {exit !ok}'; }

# deprecated_or_gone NS IF PREFIX: true when IF has no address inside PREFIX,
# or only deprecated ones (preferred_lft 0).
deprecated_or_gone() { ! preferred_addr_in "$@"; }

# rdisc6_run FILE: solicit an RA from the host side, decoded, into FILE.
rdisc6_run() { lab_exec host rdisc6 -1 -w 2000 eth0 >"$1" 2>&1; }

# rdisc6_pio FILE PREFIX: print "VALID PREFERRED" of the PIO for PREFIX in
# rdisc6's output FILE ("infinite" stays a word); fails if there is none.
rdisc6_pio() {
    awk -v want="$2" '
        $1 == "Prefix" { cur = $3 }
        cur == want && /Valid time/ { v = $4 }
        cur == want && /Pref. time/ { p = $4; found = 1 }
        END { if (!found) exit 1; print v, p }' "$1"
}

# rdisc6_router_lifetime FILE: the router lifetime in seconds.
rdisc6_router_lifetime() { awk '/Router lifetime/ {print $4; exit}' "$1"; }

# lifetime_le VALUE LIMIT: true when VALUE (seconds, "infinite"/"forever"
# means unbounded) is <= LIMIT.
lifetime_le() { [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -le "$2" ]; }

_CPE_SHOW_AWK='{ s = ""; for (i = 5; i < NF; i++) if ($i ~ /_lft$/) s = s " " $i " " $(i+1)
                 print "  " tag " " $4 s }'
# lifetimes_within VALID PREFERRED VALID_MAX PREFERRED_MAX: both finite and
# within their limits.
lifetimes_within() { lifetime_le "$1" "$3" && lifetime_le "$2" "$4"; }

# cpe_show: print what the CPE and the host look like (for the log).
cpe_show() {
    echo "--- state at $(lab_elapsed)s"
    echo "  delegations: $(cpe_delegations | tr '\n' ' ')"
    ip -n "$(lab_ns cpe)" -6 -o addr show dev lan0 scope global | awk "$_CPE_SHOW_AWK" tag="cpe lan0: "
    ip -n "$(lab_ns host)" -6 -o addr show dev eth0 scope global | awk "$_CPE_SHOW_AWK" tag="host eth0:"
}
