//! DHCPv6 relay-agent scenarios (issue 5) in network namespaces, run as
//! cargo tests.
//!
//! Each test runs one bash scenario (`tests/scenarios/relay-*.sh`,
//! `server-behind-relays.sh`, built on `tests/lab/relay.sh`) and asserts that
//! it exits 0 with a final "N passed, 0 failed" line; on failure the whole
//! scenario output is in the panic message. The scenarios put WIDE dhcp6c and
//! ISC dhclient -6 -P behind a relay (client — relay — server, and two relays
//! in a row) and check the prefixes they get, the relay's routes toward them
//! (RFC 8987 §4, RFC 9818 LPD-5: `<prefix> via <client link-local> dev lan0
//! proto 118`), `v6edge leases` on the relay, pings through the relay,
//! Release, and a kill -9 / restart with the same state dir; RFC 8415 §19.
//!
//! Environment:
//! - `RELAY_IMPL=v6edge|wide|isc` (default `v6edge`): the relay under test,
//!   `v6edge run --config examples/relay.toml`, or WIDE dhcp6relay / ISC
//!   dhcrelay -6 standing in for it (they install no routes: expected
//!   failures, `XFAIL:` lines).
//! - `V6EDGE_BIN`: the daemon binary, found as in `cpe.rs`.
//!
//! Skips (pass, with a `SKIP` line on stderr): not root, no `ip netns`, a
//! peer program missing; with `RELAY_IMPL=v6edge` also while the binary has
//! no relay yet (examples/relay.toml missing, `v6edge check` rejecting it
//! with a message about the relay, or `v6edge run` with it, tried in an
//! empty network namespace with stub lan0/wan0, exiting with an error that
//! mentions the relay or "not part of this build yet"). A skipped test did
//! not test the relay; it is never a pass of the relay. `server_behind_relays`
//! uses the v6edge server with WIDE and ISC relays and does not depend on the
//! v6edge relay. The tests hold a process-wide lock and run one at a time.

use std::env;
use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::sync::{Mutex, OnceLock};

mod common;
use common::{effective_uid, find_program, repo_root, search_path, v6edge_bin};

/// Serializes the scenarios (see the module doc).
static SERIAL: Mutex<()> = Mutex::new(());

/// Outer bound on one scenario in seconds, on top of the scripts' own
/// watchdogs (`LAB_TIMEOUT`, at most 150 s here), in case a teardown hangs.
const SCENARIO_LIMIT_SECS: u32 = 240;

/// What `v6edge run` says when the binary was built without a role
/// (bin/v6edge/src/daemon/driver.rs).
const NOT_BUILT: &str = "not part of this build yet";

fn relay_impl() -> String {
    env::var("RELAY_IMPL").unwrap_or_else(|_| "v6edge".to_owned())
}

/// Some(reason) when `bin` is a build without the delegating server:
/// `v6edge check` accepts examples/isp-server.toml, and `v6edge run` with it
/// exits saying "not part of this build yet". The run happens in a fresh,
/// empty network namespace (`unshare --net`), so even a build that does
/// serve touches nothing; `timeout` ends it. Anything else (check fails, run
/// fails otherwise, or runs) is None: the scenario then runs and reports.
fn server_not_built(bin: &Path) -> Option<String> {
    let config = repo_root().join("examples/isp-server.toml");
    let check = Command::new(bin)
        .arg("check")
        .arg("--config")
        .arg(&config)
        .output()
        .ok()?;
    if !check.status.success() {
        return None;
    }
    let dir = env::temp_dir().join(format!("v6edge-server-probe.{}", std::process::id()));
    fs::create_dir_all(&dir).ok()?;
    let run = Command::new("unshare")
        .args(["--net", "--", "timeout", "5"])
        .arg(bin)
        .arg("run")
        .arg("--config")
        .arg(&config)
        .arg("--state-dir")
        .arg(&dir)
        .arg("--control")
        .arg(dir.join("sock"))
        .env("PATH", search_path())
        .output();
    let _ = fs::remove_dir_all(&dir);
    let run = run.ok()?;
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    (!run.status.success() && said.contains(NOT_BUILT)).then(|| {
        format!(
            "{} is a build without the delegating server (`v6edge check` accepts \
             examples/isp-server.toml, `v6edge run` says: {}); the relay \
             scenarios with SERVER=kea or isc do not need it",
            bin.display(),
            said.trim()
        )
    })
}

/// Why the scenario cannot run here, if it cannot.
fn skip_reason(programs: &[&str]) -> Option<String> {
    match effective_uid() {
        Some(0) => {}
        Some(uid) => return Some(format!("needs root for network namespaces (euid {uid})")),
        None => return Some("cannot read the effective uid".to_owned()),
    }
    let netns = Command::new("ip")
        .args(["netns", "list"])
        .env("PATH", search_path())
        .output();
    match netns {
        Ok(out) if out.status.success() => {}
        Ok(out) => {
            return Some(format!(
                "`ip netns list` failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Err(e) => return Some(format!("cannot run `ip netns list`: {e}")),
    }
    let missing: Vec<&str> = programs
        .iter()
        .copied()
        .filter(|p| find_program(p).is_none())
        .collect();
    if !missing.is_empty() {
        return Some(format!(
            "missing programs: {} (scripts/install-deps.sh installs them)",
            missing.join(" ")
        ));
    }
    None
}

/// Some(reason) when `bin` cannot run examples/relay.toml yet, because the
/// relay is not (fully) in the daemon: the example does not exist, `v6edge
/// check` rejects it saying something about the relay (an unknown `[relay]`
/// table, "nothing to run"), or `v6edge run` with it exits with an error
/// that mentions the relay or "not part of this build yet". The run happens
/// in a fresh network namespace (`unshare --net`) holding a veth pair named
/// lan0/wan0, so a working relay finds its interfaces and touches nothing
/// else; `timeout` ends it (exit 124: it ran). `Err` when `v6edge check`
/// fails for a reason that has nothing to do with a missing relay: the
/// example is broken, which is a failure, not a skip.
fn relay_not_built(bin: &Path) -> Result<Option<String>, String> {
    let config = repo_root().join("examples/relay.toml");
    if !config.is_file() {
        return Ok(Some(format!(
            "{} does not exist yet (the v6edge relay is not in this checkout)",
            config.display()
        )));
    }
    let check = Command::new(bin)
        .arg("check")
        .arg("--config")
        .arg(&config)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
    let check_said = String::from_utf8_lossy(&check.stderr).trim().to_owned();
    if !check.status.success() {
        let lower = check_said.to_lowercase();
        if lower.contains("relay") || lower.contains("nothing to run") {
            return Ok(Some(format!(
                "{} has no relay yet: `v6edge check --config examples/relay.toml` says: {check_said}",
                bin.display()
            )));
        }
        return Err(format!(
            "`v6edge check` rejects examples/relay.toml: {check_said}"
        ));
    }
    let dir = env::temp_dir().join(format!("v6edge-relay-probe.{}", std::process::id()));
    fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let script = "ip link add wan0 type veth peer name lan0 && ip link set lo up && \
                  ip link set wan0 up && ip link set lan0 up && exec timeout 4 \"$@\"";
    let run = Command::new("unshare")
        .args(["--net", "--", "sh", "-c", script, "sh"])
        .arg(bin)
        .arg("run")
        .arg("--config")
        .arg(&config)
        .arg("--state-dir")
        .arg(&dir)
        .arg("--control")
        .arg(dir.join("sock"))
        .env("PATH", search_path())
        .output();
    let _ = fs::remove_dir_all(&dir);
    let run = run.map_err(|e| format!("cannot run the relay probe: {e}"))?;
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    let ran = run.status.code() == Some(124);
    let lower = said.to_lowercase();
    Ok(
        (!ran && !run.status.success() && (lower.contains("relay") || said.contains(NOT_BUILT)))
            .then(|| {
                let last = said.trim().lines().last().unwrap_or("").to_owned();
                format!(
                    "{} cannot run examples/relay.toml yet (`v6edge run` exits: {last}); \
                 RELAY_IMPL=wide or isc validates these scenarios",
                    bin.display()
                )
            }),
    )
}

/// What one scenario run depends on.
struct Needs {
    /// Uses the relay selected by `RELAY_IMPL` (or, with `relay2`, a second one).
    relay: bool,
    relay2: Option<String>,
    /// Uses the v6edge delegating server.
    v6edge_server: bool,
    programs: Vec<&'static str>,
}

/// Run `tests/scenarios/<script>` with `vars` and assert it passed.
fn run_scenario(script: &str, vars: &[(&str, &str)], needs: Needs) {
    // A scenario that failed earlier poisons the lock; the next one still runs.
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut label = script.to_owned();
    if needs.relay {
        label.push_str(&format!(" RELAY_IMPL={}", relay_impl()));
    }
    for (k, v) in vars {
        label.push_str(&format!(" {k}={v}"));
    }
    let skip = |reason: &str| {
        // Straight to the stderr handle: libtest captures `eprintln!`, and a
        // skip must be visible without `--nocapture`.
        let _ = writeln!(
            std::io::stderr(),
            "SKIP {label}: {reason} (NOT a pass: nothing was tested)"
        );
    };
    let mut impls: Vec<String> = Vec::new();
    if needs.relay {
        impls.push(relay_impl());
    }
    impls.extend(needs.relay2.iter().cloned());
    let mut programs = vec![
        "ip", "bash", "timeout", "python3", "ping", "ss", "dhcp6c", "dhclient",
    ];
    programs.extend_from_slice(&needs.programs);
    for i in &impls {
        match i.as_str() {
            "wide" => programs.push("dhcp6relay"),
            "isc" => programs.push("dhcrelay"),
            "v6edge" => programs.push("unshare"),
            other => panic!("{label}: RELAY_IMPL must be v6edge, wide or isc (got {other})"),
        }
    }
    if let Some(reason) = skip_reason(&programs) {
        skip(&reason);
        return;
    }
    let bin = v6edge_bin();
    let needs_bin = needs.v6edge_server || impls.iter().any(|i| i == "v6edge");
    if needs_bin {
        assert!(
            bin.is_file(),
            "{label}: no v6edge binary at {} (run `cargo build -p v6edge` first, or set V6EDGE_BIN)",
            bin.display()
        );
    }
    if impls.iter().any(|i| i == "v6edge") {
        // Probed once per test binary: the answer cannot change meanwhile.
        static RELAY_REASON: OnceLock<Result<Option<String>, String>> = OnceLock::new();
        match RELAY_REASON.get_or_init(|| relay_not_built(&bin)) {
            Ok(None) => {}
            Ok(Some(reason)) => {
                skip(reason);
                return;
            }
            Err(e) => panic!("{label}: {e}"),
        }
    }
    if needs.v6edge_server {
        static SERVER_REASON: OnceLock<Option<String>> = OnceLock::new();
        if let Some(reason) = SERVER_REASON.get_or_init(|| server_not_built(&bin)) {
            skip(reason);
            return;
        }
    }
    let path = repo_root().join("tests/scenarios").join(script);
    let mut cmd = Command::new("timeout");
    cmd.args([
        "--signal=TERM",
        "--kill-after=15",
        &SCENARIO_LIMIT_SECS.to_string(),
    ])
    .arg("bash")
    .arg(&path)
    .env("PATH", search_path())
    .env("V6EDGE_BIN", &bin)
    .env("RELAY_IMPL", relay_impl());
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let output = cmd
        .output()
        .unwrap_or_else(|e| panic!("{label}: cannot start {}: {e}", path.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let summary_ok = stdout.lines().any(|l| {
        l.strip_suffix(" passed, 0 failed")
            .is_some_and(|n| n.parse::<u32>().is_ok_and(|n| n > 0))
    });
    assert!(
        output.status.success() && summary_ok,
        "{label} failed ({}):\n----- stdout -----\n{stdout}\n----- stderr -----\n{stderr}",
        output.status
    );
    // Visible with `cargo test -- --nocapture`: the PASS / XFAIL lines.
    println!("{label}:\n{stdout}");
}

fn relay(v6edge_server: bool, programs: &[&'static str]) -> Needs {
    Needs {
        relay: true,
        relay2: None,
        v6edge_server,
        programs: programs.to_vec(),
    }
}

#[test]
fn relay_pd_kea() {
    run_scenario(
        "relay-pd.sh",
        &[("SERVER", "kea")],
        relay(false, &["kea-dhcp6"]),
    );
}

#[test]
fn relay_pd_isc() {
    // ISC dhcpd hears ff05::1:3: the v6edge relay runs examples/relay.toml verbatim.
    run_scenario(
        "relay-pd.sh",
        &[("SERVER", "isc")],
        relay(false, &["dhcpd"]),
    );
}

#[test]
fn relay_pd_v6edge_server() {
    run_scenario("relay-pd.sh", &[("SERVER", "v6edge")], relay(true, &[]));
}

#[test]
fn relay_nested() {
    let second = relay_impl();
    run_scenario(
        "relay-nested.sh",
        &[("SERVER", "kea"), ("RELAY2_IMPL", &second)],
        relay(false, &["kea-dhcp6", "tcpdump", "tshark"]),
    );
}

#[test]
fn relay_nested_mixed() {
    // The relay under test next to the clients, another implementation
    // next to the server.
    let second = if relay_impl() == "wide" {
        "isc"
    } else {
        "wide"
    };
    let mut needs = relay(false, &["kea-dhcp6", "tcpdump", "tshark"]);
    needs.relay2 = Some(second.to_owned());
    run_scenario(
        "relay-nested.sh",
        &[("SERVER", "kea"), ("RELAY2_IMPL", second)],
        needs,
    );
}

#[test]
fn relay_restart() {
    run_scenario(
        "relay-restart.sh",
        &[("SERVER", "kea")],
        relay(false, &["kea-dhcp6"]),
    );
}

#[test]
fn server_behind_relays() {
    // WIDE dhcp6relay and ISC dhcrelay -6 in front of the v6edge server; the
    // v6edge relay plays no part.
    run_scenario(
        "server-behind-relays.sh",
        &[("RELAYS", "wide isc")],
        Needs {
            relay: false,
            relay2: Some("wide".to_owned()),
            v6edge_server: true,
            programs: vec!["dhcrelay"],
        },
    );
}
