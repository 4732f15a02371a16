//! A requesting router facing a hostile upstream (issue 14), in network
//! namespaces, run as a cargo test.
//!
//! Runs `tests/scenarios/cpe-hostile-upstream.sh` and asserts that it exits
//! 0 with a final "N passed, 0 failed" line; on failure the whole scenario
//! output is in the panic message. A rogue DHCPv6 server written with scapy
//! (`tests/lab/tools/rogue-dhcp6-server.py`) sends v6edge, running
//! `examples/cpe.toml`, unusable and absurd offers, a flood of Advertises,
//! an infinite grant with bogus prefixes beside it, stray Replies and forged
//! Reconfigures; then Kea takes over. The script checks the daemon keeps
//! running and answering status, counts every drop in its metrics, puts no
//! address or route in the kernel from an absurd prefix, caps the RA
//! lifetimes the LAN host sees (RFC 9096 L-16), renews only for a correctly
//! signed Reconfigure (RFC 8415 §18.2.11, §20.4) and gets a proper prefix
//! from Kea afterwards, which the host autoconfigures. About 15 s.
//!
//! Environment: `V6EDGE_BIN` as in `cpe.rs`. With `CPE_IMPL` other than
//! `v6edge` the test skips: the scenario checks v6edge's own counters.
//!
//! The test skips (passes, with a message on stderr) when not run as root,
//! when `ip netns` does not work, when a program is missing or when the
//! system python cannot import scapy (python3-scapy).

use std::env;
use std::process::Command;

mod common;
use common::{SERIAL, report_skip, run_scenario_script, skip_reason};

#[test]
fn cpe_hostile_upstream() {
    // A scenario that failed earlier poisons the lock; the next one still runs.
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let label = "cpe-hostile-upstream.sh";
    let cpe_impl = env::var("CPE_IMPL").unwrap_or_else(|_| "v6edge".to_owned());
    if cpe_impl != "v6edge" {
        report_skip(
            label,
            &format!("checks v6edge itself (CPE_IMPL={cpe_impl})"),
        );
        return;
    }
    let programs = [
        "ip",
        "bash",
        "timeout",
        "python3",
        "radvd",
        "rdisc6",
        "ping",
        "tcpdump",
        "ss",
        "kea-dhcp6",
    ];
    let scapy_ok = || {
        Command::new("/usr/bin/python3")
            .args(["-c", "import scapy"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let reason = skip_reason(true, &programs).or_else(|| {
        (!scapy_ok()).then(|| {
            "/usr/bin/python3 cannot import scapy (python3-scapy; scripts/install-deps.sh)"
                .to_owned()
        })
    });
    if let Some(reason) = reason {
        report_skip(label, &reason);
        return;
    }
    run_scenario_script(label, "cpe-hostile-upstream.sh", &[]);
}
