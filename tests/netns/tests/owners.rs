//! Kernel objects per owner (issue 8, item 3) in network namespaces, run
//! as cargo tests: a v6edge restart reconciles only its own roles' routes.
//!
//! `server-reconcile-owners.sh` (built on `tests/lab/server.sh`): a v6edge
//! server with a lease and its route, routes added by hand with another
//! role's protocol number, a foreign protocol (`static`) and a stale one of
//! the server's own number; after SIGTERM and a new start the hand-made
//! ones survive, the lease's route is restored and the stale one is gone.
//! Then the migration on a v6edge requesting router (the `cpe` client): a
//! legacy proto-118 unreachable route for its delegation is adopted (one
//! route, proto 120, after its restart), an unwanted legacy one removed, a
//! home-agent-numbered one kept.
//!
//! v6edge only (`SERVER_IMPL` other than `v6edge` skips). `V6EDGE_BIN` as in
//! `server.rs`. Skips (passes, with a message) when not root or when a
//! program is missing; holds the process-wide lock like the other files.

mod common;
use common::{SERIAL, report_skip, run_scenario_script, skip_reason};

#[test]
fn server_reconcile_owners() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let label = "server-reconcile-owners.sh";
    let server = std::env::var("SERVER_IMPL").unwrap_or_else(|_| "v6edge".to_owned());
    if server != "v6edge" {
        report_skip(label, "a v6edge-only scenario");
        return;
    }
    let programs = ["ip", "bash", "timeout", "python3", "radvd", "ss", "dhcp6c"];
    if let Some(reason) = skip_reason(true, &programs) {
        report_skip(label, &reason);
        return;
    }
    run_scenario_script(
        label,
        "server-reconcile-owners.sh",
        &[("SERVER_IMPL", server)],
    );
}
