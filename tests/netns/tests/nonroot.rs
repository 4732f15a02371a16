//! Every role's main scenario with the daemon as an unprivileged user
//! holding only CAP_NET_ADMIN, CAP_NET_RAW and CAP_NET_BIND_SERVICE, as the
//! packaged service runs it (issue 11; packaging/systemd/v6edge.service:
//! `User=v6edge`, `AmbientCapabilities=` those three).
//!
//! `V6EDGE_AS_USER=v6edge-test` makes `start_v6edge` (tests/lab/peers.sh)
//! start every v6edge instance through `setpriv` as that system user
//! (created if missing) with those capabilities inherited, ambient and
//! bounding, nothing else; `v6edge_wait_ready` then stops the scenario
//! unless /proc says uid and capabilities are exactly so. Each test asserts
//! the scenario passed and that at least one instance was checked.
//!
//! Skips (a `SKIP` line, never a pass): not root, no `ip netns`, a program
//! missing.

mod common;
use common::{SERIAL, report_skip, run_scenario_script, skip_reason};

const USER: &str = "v6edge-test";

fn as_user(script: &str, vars: &[(&str, &str)], programs: &[&str]) {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let label = format!("{script} {vars:?} as {USER}");
    let mut needs = vec![
        "ip", "bash", "timeout", "python3", "setpriv", "useradd", "mknod",
    ];
    needs.extend_from_slice(programs);
    if let Some(reason) = skip_reason(true, &needs) {
        report_skip(&label, &reason);
        return;
    }
    let mut env: Vec<(&str, String)> = vec![("V6EDGE_AS_USER", USER.to_owned())];
    env.extend(vars.iter().map(|&(k, v)| (k, v.to_owned())));
    let notes = run_scenario_script(&label, script, &env);
    let checked = format!("({USER}), CapEff 0000000000003400");
    assert!(
        notes.lines().any(|l| l.ends_with(&checked)),
        "{label}: no instance was checked to run as {USER} with the three capabilities:\n{notes}"
    );
}

/// The requesting router (examples/cpe.toml) behind Kea.
#[test]
fn requesting_router_as_user() {
    as_user(
        "cpe-basic.sh",
        &[("ISP_IMPL", "kea"), ("CPE_IMPL", "v6edge")],
        &["radvd", "rdisc6", "ping", "tcpdump", "ss", "kea-dhcp6"],
    );
}

/// The delegating server (examples/isp-server.toml) and a v6edge
/// requesting router.
#[test]
fn delegating_server_as_user() {
    as_user(
        "server-pd.sh",
        &[("SERVER_IMPL", "v6edge")],
        &[
            "radvd", "rdisc6", "ping", "tcpdump", "ss", "dhcp6c", "dhclient",
        ],
    );
}

/// The relay (examples/relay.toml) between clients and Kea.
#[test]
fn relay_as_user() {
    as_user(
        "relay-pd.sh",
        &[("SERVER", "kea"), ("RELAY_IMPL", "v6edge")],
        &["ping", "tcpdump", "ss", "dhcp6c", "dhclient", "kea-dhcp6"],
    );
}

/// Static Router Advertisements (`[[ra]]`).
#[test]
fn router_advertisements_as_user() {
    as_user("ra-static.sh", &[], &["rdisc6"]);
}

/// The Mobile IPv6 home agent (examples/home-agent.toml): TUN device,
/// capture, nftables, proxy ND.
#[test]
fn home_agent_as_user() {
    as_user("mip6-ha.sh", &[], &["ping"]);
}

/// The Mobile IPv6 mobile node (examples/mobile-node.toml) and home agent.
#[test]
fn mobile_node_as_user() {
    as_user("mip6-mn.sh", &[], &["radvd", "ping"]);
}

/// The packaged systemd units: `systemd-analyze verify`, then the service
/// started exactly as v6edge.service says (user, capabilities, directories,
/// Type=notify, ExecStartPre, ExecReload, stop) with examples/cpe.toml as
/// /etc/v6edge/v6edge.toml, where systemd itself cannot run.
#[test]
fn service_unit_as_systemd_would_run_it() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let label = "service-unit.sh";
    let programs = [
        "ip",
        "bash",
        "timeout",
        "python3",
        "setpriv",
        "useradd",
        "mknod",
        "systemd-analyze",
    ];
    if let Some(reason) = skip_reason(true, &programs) {
        report_skip(label, &reason);
        return;
    }
    run_scenario_script(label, "service-unit.sh", &[]);
}
