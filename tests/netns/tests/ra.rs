//! v6edge as a plain Router Advertisement daemon (`[[ra]]`, issue 8 item 4)
//! in network namespaces, run as a cargo test.
//!
//! Runs `tests/scenarios/ra-static.sh`: v6edge with `examples/ra.toml`
//! verbatim on rtr:lan0, a SLAAC host on the other end of the veth. The
//! script checks the host's address in 2001:db8:77::/64 and its default
//! route via rtr's link-local, what rdisc6 decodes (the prefix on-link and
//! autonomous with 86400/14400 s, RDNSS 2001:db8::53, router lifetime
//! 1800 s, nothing else), the `ra` entry of `v6edge status`, and that the
//! host's default route goes at once on SIGTERM (the final RA, RFC 4861
//! §6.2.5). About 5 s.
//!
//! v6edge only (there is nothing to swap in). `V6EDGE_BIN` as in `server.rs`.
//! Skips (passes, with a message) when not root or when a program is
//! missing; holds the process-wide lock like the other files.

mod common;
use common::{SERIAL, report_skip, run_scenario_script, skip_reason};

#[test]
fn ra_static() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let label = "ra-static.sh";
    let programs = ["ip", "bash", "timeout", "python3", "rdisc6"];
    if let Some(reason) = skip_reason(true, &programs) {
        report_skip(label, &reason);
        return;
    }
    run_scenario_script(label, "ra-static.sh", &[]);
}

/// `tests/scenarios/cpe-ra-merge.sh`: an `[[ra]]` on a requesting router's
/// LAN joins the LAN's own RAs (issue 8 item 4: one advertiser per link).
/// Kea delegates; rdisc6 on the host sees one RA with the delegated /64,
/// the configured 2001:db8:77::/64 and RDNSS 2001:db8::53; the host
/// autoconfigures in both; a reload without the `[[ra]]` withdraws the
/// static prefix. About 8 s.
#[test]
fn cpe_ra_merge() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let label = "cpe-ra-merge.sh";
    let programs = [
        "ip",
        "bash",
        "timeout",
        "python3",
        "rdisc6",
        "kea-dhcp6",
        "radvd",
        "tcpdump",
        "ss",
        "ping",
    ];
    if let Some(reason) = skip_reason(true, &programs) {
        report_skip(label, &reason);
        return;
    }
    run_scenario_script(label, "cpe-ra-merge.sh", &[]);
}
