//! The built binary: `check` exit codes and messages, and a `run` that
//! answers `status` over its control socket and stops cleanly on SIGTERM.
//! Interfaces are absent on purpose (`v6e-missing0`): no root, no netns needed.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

const BIN: &str = env!("CARGO_BIN_EXE_v6edge");

/// A scratch directory removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let path = std::env::temp_dir().join(format!("v6edge-bin-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Scratch(path)
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Kills the daemon if a test fails before stopping it.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn v6edge(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("run v6edge")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn check_bad_config_exits_1_with_file_line() {
    let dir = Scratch::new("bad");
    let path = dir.file(
        "bad.toml",
        "[uplink]\ninterface = \"wan0\"\n\n[[lan]]\ninterface = \"wan0\"\n",
    );
    let out = v6edge(&["check", "--config", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        format!(
            "{}:5: LAN interface `wan0` is also the uplink interface\n",
            path.display()
        )
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn check_good_config_and_usage_errors() {
    let example = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/cpe.toml");
    let out = v6edge(&["check", "--config", example.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), format!("{}: ok\n", example.display()));
    // Usage errors exit 2.
    assert_eq!(v6edge(&["check"]).status.code(), Some(2));
    assert_eq!(v6edge(&["frobnicate"]).status.code(), Some(2));
    // A run with a broken config fails before creating anything.
    let dir = Scratch::new("runbad");
    let cfg = dir.file(
        "c.toml",
        "[uplink]\ninterface = \"wan0\"\nprefix-hint = 99\n",
    );
    let state = dir.0.join("state");
    let out = v6edge(&[
        "run",
        "--config",
        cfg.to_str().unwrap(),
        "--state-dir",
        state.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        format!(
            "{}:3: prefix-hint = 99: must be between 48 and 64\n",
            cfg.display()
        )
    );
    assert!(!state.exists(), "state dir created despite a config error");
}

#[test]
fn status_without_daemon_explains() {
    let out = v6edge(&["status", "--control", "/nonexistent/v6edge.sock"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("cannot connect to /nonexistent/v6edge.sock (is the daemon running?): "),
        "{err}"
    );
    // The operating system's reason, once (issue 11: it was doubled).
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
}

/// Issue 11: `check` warns (and still succeeds) about interfaces this
/// machine does not have, once each.
#[test]
fn check_warns_about_missing_interfaces() {
    let dir = Scratch::new("missing");
    let path = dir.file(
        "c.toml",
        "[uplink]\ninterface = \"v6e-no-such0\"\n\n[[lan]]\ninterface = \"v6e-no-such1\"\n\n[[ra]]\ninterface = \"v6e-no-such1\"\nprefixes = [\"2001:db8:5::/64\"]\n",
    );
    let out = v6edge(&["check", "--config", path.to_str().unwrap()]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains(
            "warning: [uplink] interface v6e-no-such0 does not exist on this machine (yet)"
        ),
        "{err}"
    );
    assert_eq!(
        err.matches("v6e-no-such1 does not exist").count(),
        1,
        "{err}"
    );
}

fn wait_for_socket(socket: &Path, daemon: &mut Daemon) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(status) = daemon.0.try_wait().unwrap() {
            panic!("daemon exited early: {status}");
        }
        let probe = v6edge::control::client::request(
            socket,
            v6edge::control::Request::Status,
            Duration::from_secs(1),
        );
        if probe.is_ok() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "control socket never answered: {probe:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

const RUN_CONFIG: &str = "\
[uplink]
interface = \"v6e-missing0\"

[[lan]]
interface = \"v6e-missing1\"
subnet-id = 2
";

#[test]
fn run_status_reload_and_sigterm() {
    let dir = Scratch::new("run");
    let cfg = dir.file("v6edge.toml", RUN_CONFIG);
    let state = dir.0.join("state");
    let socket = dir.0.join("ctl.sock");
    let child = Command::new(BIN)
        .args(["run", "--config", cfg.to_str().unwrap()])
        .args([
            "--state-dir",
            state.to_str().unwrap(),
            "--control",
            socket.to_str().unwrap(),
        ])
        .args(["--log-level", "debug"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn v6edge run");
    let mut daemon = Daemon(child);
    wait_for_socket(&socket, &mut daemon);
    let sock = socket.to_str().unwrap();

    // State directory created 0700; IAIDs stored.
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(
        std::fs::metadata(&state).unwrap().permissions().mode() & 0o777,
        0o700
    );
    assert!(state.join("iaids.json").exists());
    assert_eq!(
        std::fs::metadata(&socket).unwrap().permissions().mode() & 0o777,
        0o600
    );

    let out = v6edge(&["status", "--json", "--control", sock]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let status: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("status --json is JSON");
    assert_eq!(status["uplink"]["state"], "waiting-link");
    assert_eq!(status["uplink"]["interface"], "v6e-missing0");
    assert!(status["uplink"]["ifindex"].is_null());
    assert_eq!(status["lans"][0]["interface"], "v6e-missing1");
    assert_eq!(status["lans"][0]["subnet_id"], 2);
    assert_eq!(status["delegations"], serde_json::json!([]));
    assert_eq!(status["version"], env!("CARGO_PKG_VERSION"));

    let out = v6edge(&["status", "--control", sock]);
    assert!(
        text(&out.stdout).contains("uplink v6e-missing0 (absent, link down): waiting-link"),
        "{}",
        text(&out.stdout)
    );

    // Without an uplink there is no DHCPv6 client to release or renew.
    for cmd in ["release", "renew"] {
        let out = v6edge(&[cmd, "--control", sock]);
        assert_eq!(out.status.code(), Some(1), "{cmd}");
        assert!(
            text(&out.stderr).contains("not ready"),
            "{cmd}: {}",
            text(&out.stderr)
        );
    }

    let out = v6edge(&["metrics", "--control", sock]);
    assert!(
        text(&out.stdout).contains("v6edge_interface_present{interface=\"v6e-missing0\"} 0"),
        "{}",
        text(&out.stdout)
    );

    // A broken config on reload is refused with FILE:LINE, the daemon keeps going.
    std::fs::write(&cfg, format!("{RUN_CONFIG}bogus = 1\n")).unwrap();
    let out = v6edge(&["reload", "--control", sock]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains(&format!("{}:7: unknown field `bogus`", cfg.display())),
        "{}",
        text(&out.stderr)
    );
    kill(Pid::from_raw(daemon.0.id() as i32), Signal::SIGHUP).unwrap();
    // A good config applies: the LAN list changes.
    std::fs::write(&cfg, RUN_CONFIG.replace("v6e-missing1", "v6e-missing2")).unwrap();
    let out = v6edge(&["reload", "--control", sock]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = v6edge(&["status", "--json", "--control", sock]);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["lans"][0]["interface"], "v6e-missing2");

    // SIGTERM: exit 0 within 5 s, socket removed.
    kill(Pid::from_raw(daemon.0.id() as i32), Signal::SIGTERM).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let code = loop {
        if let Some(status) = daemon.0.try_wait().unwrap() {
            break status.code();
        }
        assert!(
            Instant::now() < deadline,
            "daemon did not stop within 5 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    if let Some(mut e) = daemon.0.stderr.take() {
        use std::io::Read as _;
        let _ = e.read_to_string(&mut stderr);
    }
    assert_eq!(code, Some(0), "stderr:\n{stderr}");
    assert!(!socket.exists(), "control socket left behind");
    assert!(
        stderr.contains("reload failed, keeping the running configuration"),
        "{stderr}"
    );
    assert!(stderr.contains("SIGTERM: stopping"), "{stderr}");
}

/// A network namespace with a veth pair `wan0`/`wan0peer` (both up, so
/// wan0 has carrier), deleted on drop.
struct Netns(String);

impl Netns {
    fn create() -> Option<Netns> {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("skipping: creating a network namespace needs root");
            return None;
        }
        let name = format!("v6ebin{}", std::process::id());
        if Path::new("/run/netns").join(&name).exists() {
            let _ = Command::new("ip").args(["netns", "del", &name]).status();
        }
        let ok = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "ip netns add {name} failed");
        let ns = Netns(name);
        for args in [
            &[
                "link",
                "add",
                "wan0",
                "address",
                "02:00:5e:00:53:01",
                "type",
                "veth",
                "peer",
                "name",
                "wan0peer",
            ][..],
            &["link", "set", "wan0peer", "up"][..],
            &["link", "set", "wan0", "up"][..],
        ] {
            let ok = Command::new("ip")
                .args(["-n", &ns.0])
                .args(args)
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "ip {args:?} failed");
        }
        Some(ns)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// With the uplink present: its ifindex and link state are reported, and
/// the DUID is a DUID-LLT from its MAC, kept across a restart (W-6).
#[test]
fn w6_present_uplink_gets_duid_llt_from_its_mac() {
    let Some(ns) = Netns::create() else { return };
    let dir = Scratch::new("netns");
    let cfg = dir.file(
        "v6edge.toml",
        "[uplink]\ninterface = \"wan0\"\n[[lan]]\ninterface = \"lan0\"\n",
    );
    let state = dir.0.join("state");
    let socket = dir.0.join("ctl.sock");
    let start = || {
        let child = Command::new("ip")
            .args([
                "netns",
                "exec",
                &ns.0,
                BIN,
                "run",
                "--config",
                cfg.to_str().unwrap(),
            ])
            .args([
                "--state-dir",
                state.to_str().unwrap(),
                "--control",
                socket.to_str().unwrap(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn v6edge run in netns");
        Daemon(child)
    };
    let stop = |mut daemon: Daemon| {
        // `ip netns exec` execs the daemon, so the pid is the daemon's.
        kill(Pid::from_raw(daemon.0.id() as i32), Signal::SIGTERM).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(status) = daemon.0.try_wait().unwrap() {
                assert_eq!(status.code(), Some(0));
                break;
            }
            assert!(Instant::now() < deadline, "no exit within 5 s of SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    };

    let mut daemon = start();
    wait_for_socket(&socket, &mut daemon);
    // Present and up: once the link-local address is usable the DHCPv6
    // client solicits (no server answers on this veth).
    let deadline = Instant::now() + Duration::from_secs(5);
    let status = loop {
        let out = v6edge(&["status", "--json", "--control", socket.to_str().unwrap()]);
        let status: serde_json::Value = serde_json::from_slice(&out.stdout).expect("status JSON");
        if status["uplink"]["state"] == "soliciting" || Instant::now() > deadline {
            break status;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status["uplink"]["ifindex"].as_u64().is_some(), "{status}");
    assert_eq!(status["uplink"]["link_up"], true);
    assert_eq!(status["uplink"]["state"], "soliciting", "{status}");
    assert!(status["lans"][0]["ifindex"].is_null());
    let duid = std::fs::read_to_string(state.join("duid")).unwrap();
    // DUID-LLT, hardware type 1, 4 bytes of time, then the MAC.
    assert!(duid.starts_with("00010001"), "{duid}");
    assert!(duid.trim_end().ends_with("02005e005301"), "{duid}");
    stop(daemon);

    let mut daemon = start();
    wait_for_socket(&socket, &mut daemon);
    assert_eq!(std::fs::read_to_string(state.join("duid")).unwrap(), duid);
    stop(daemon);
}
