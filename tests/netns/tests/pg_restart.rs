//! The PostgreSQL lease database restarts under load (issue 14), run as a
//! cargo test: `tests/scenarios/server-pg-restart.sh` puts a v6edge server
//! with `lease-store = "postgres"` (a private database server the scenario
//! makes, never the shared test server) under perfdhcp load, stops the
//! database for a few seconds and starts it again. The scenario checks,
//! against the Replies captured on the client side and the database
//! afterwards, that nothing was granted while the database was away, that
//! the same server process serves again by itself (perfdhcp and a fresh
//! dhcp6c get leases), that no prefix went to two clients and that every
//! acknowledged lease is in the database; and that status, logs and
//! metrics told of the outage.
//!
//! Needs a v6edge built with `--features postgres` (`V6EDGE_BIN`, default as
//! in `server.rs`) and PostgreSQL's server binaries. Skips (with a message)
//! without root, `ip netns` or a peer program; under CI the scenario fails
//! instead when PostgreSQL is missing. Takes about 45 s.

mod common;
use common::{SERIAL, report_skip, run_scenario_script, skip_reason};

#[test]
fn server_pg_restart() {
    // A scenario that failed earlier poisons the lock; the next one still runs.
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let label = "server-pg-restart.sh";
    let programs = [
        "ip", "bash", "timeout", "python3", "radvd", "ss", "dhcp6c", "perfdhcp", "tcpdump", "psql",
        "openssl", "runuser",
    ];
    if let Some(reason) = skip_reason(true, &programs) {
        report_skip(label, &reason);
        return;
    }
    // The Replies are decoded with scapy.
    let scapy = std::process::Command::new("/usr/bin/python3")
        .args(["-c", "import scapy"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !scapy {
        report_skip(
            label,
            "/usr/bin/python3 cannot import scapy (python3-scapy)",
        );
        return;
    }
    let server = std::env::var("SERVER_IMPL").unwrap_or_else(|_| "v6edge".to_owned());
    if server != "v6edge" {
        report_skip(label, "a v6edge-only scenario");
        return;
    }
    run_scenario_script(label, "server-pg-restart.sh", &[("SERVER_IMPL", server)]);
}
