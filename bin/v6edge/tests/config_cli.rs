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

    // Issue 11: status says plainly what is missing.
    let warnings = status["warnings"].to_string();
    assert!(
        warnings.contains("interface v6e-missing0 is configured but does not exist"),
        "{warnings}"
    );
    let out = v6edge(&["status", "--control", sock]);
    assert!(
        text(&out.stdout).contains("uplink v6e-missing0 (absent, link down): waiting-link"),
        "{}",
        text(&out.stdout)
    );
    assert!(
        text(&out.stdout)
            .contains("warning: interface v6e-missing1 is configured but does not exist"),
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

/// Issue 11: `control-group` opens the socket (0660, that group) to its
/// members for the read-only commands; everything else stays root's and
/// the daemon's user's. Needs root (to run the client as `nobody`).
#[test]
fn control_group_members_get_read_only_commands() {
    if !nix::unistd::geteuid().is_root()
        || nix::unistd::Group::from_name("nogroup")
            .ok()
            .flatten()
            .is_none()
        || Command::new("setpriv").arg("--help").output().is_err()
    {
        eprintln!(
            "SKIPPED control_group_members_get_read_only_commands: needs root, nogroup and setpriv"
        );
        return;
    }
    let dir = Scratch::new("group");
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&dir.0, std::fs::Permissions::from_mode(0o755)).unwrap();
    // The client runs as nobody: a copy of the binary it may execute.
    let bin = dir.0.join("v6edge");
    std::fs::copy(BIN, &bin).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let cfg = dir.file(
        "v6edge.toml",
        &format!("[daemon]\ncontrol-group = \"nogroup\"\n\n{RUN_CONFIG}"),
    );
    let socket = dir.0.join("ctl.sock");
    let child = Command::new(BIN)
        .args(["run", "--config", cfg.to_str().unwrap()])
        .args(["--state-dir", dir.0.join("state").to_str().unwrap()])
        .args(["--control", socket.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn v6edge run");
    let mut daemon = Daemon(child);
    wait_for_socket(&socket, &mut daemon);
    let meta = std::fs::metadata(&socket).unwrap();
    use std::os::unix::fs::MetadataExt as _;
    assert_eq!(meta.permissions().mode() & 0o777, 0o660);
    assert_eq!(meta.gid(), 65534);
    let as_user = |gid: &str, cmd: &str| {
        Command::new("setpriv")
            .args(["--reuid=65534", &format!("--regid={gid}"), "--clear-groups"])
            .arg(&bin)
            .args([cmd, "--control", socket.to_str().unwrap()])
            .output()
            .expect("setpriv")
    };
    let out = as_user("65534", "status");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("uplink v6e-missing0"));
    let out = as_user("65534", "metrics");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = as_user("65534", "reload");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("permission denied: `reload` is for root"),
        "{}",
        text(&out.stderr)
    );
    // Not in the group: the socket file itself refuses.
    let out = as_user("1", "status");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("permission denied"),
        "{}",
        text(&out.stderr)
    );
}

/// One HTTP/1.1 exchange with the metrics endpoint: (status code, body).
fn http(addr: std::net::SocketAddr, method: &str, path: &str) -> (u16, String) {
    http_with(addr, method, path, "")
}

fn http_with(addr: std::net::SocketAddr, method: &str, path: &str, headers: &str) -> (u16, String) {
    use std::io::{Read as _, Write as _};
    let mut s = std::net::TcpStream::connect(addr).expect("connect to metrics-listen");
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: v6edge\r\n{headers}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("read the response");
    let code = raw
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = raw.split_once("\r\n\r\n").map_or("", |(_, b)| b).to_owned();
    (code, body)
}

/// Issue 11: `metrics-listen` serves the exposition at `/metrics` over
/// HTTP, computed at scrape time by the loop; other paths get 404, other
/// methods 405; `promtool check metrics` (Debian `prometheus`, when
/// installed) finds no problem in a live scrape.
#[test]
fn metrics_over_http() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let dir = Scratch::new("http");
    let cfg = dir.file(
        "v6edge.toml",
        &format!("[daemon]\nmetrics-listen = \"{addr}\"\n\n{RUN_CONFIG}"),
    );
    let socket = dir.0.join("ctl.sock");
    let child = Command::new(BIN)
        .args(["run", "--config", cfg.to_str().unwrap()])
        .args(["--state-dir", dir.0.join("state").to_str().unwrap()])
        .args(["--control", socket.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn v6edge run");
    let mut daemon = Daemon(child);
    wait_for_socket(&socket, &mut daemon);
    let (code, body) = http(addr, "GET", "/metrics");
    assert_eq!(code, 200, "{body}");
    assert!(
        body.contains("v6edge_interface_present{interface=\"v6e-missing0\"} 0"),
        "{body}"
    );
    // Asked without an Accept header: the classic text format.
    assert!(!body.contains("# EOF"), "classic text: {body}");
    // Prometheus asks for OpenMetrics and gets it.
    let (code, om) = http_with(
        addr,
        "GET",
        "/metrics",
        "Accept: application/openmetrics-text;version=1.0.0,text/plain;q=0.5\r\n",
    );
    assert_eq!(code, 200);
    assert!(om.trim_end().ends_with("# EOF"), "{om}");
    assert_eq!(http(addr, "GET", "/").0, 404);
    assert_eq!(http(addr, "POST", "/metrics").0, 405);
    // The same exposition as the control socket's.
    let ctl = v6edge(&["metrics", "--control", socket.to_str().unwrap()]);
    assert!(text(&ctl.stdout).contains("v6edge_interface_present"));
    if let Ok(mut promtool) = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        use std::io::Write as _;
        promtool
            .stdin
            .take()
            .unwrap()
            .write_all(body.as_bytes())
            .unwrap();
        let out = promtool.wait_with_output().unwrap();
        assert!(
            out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
            "promtool check metrics: {}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
    } else {
        eprintln!("promtool not installed: the exposition was not linted");
    }
}

/// Runs the daemon with `[daemon]` lines `daemon`, stops it with SIGTERM
/// and returns its stderr.
fn run_and_stop(tag: &str, daemon_keys: &str, env: &[(&str, &str)]) -> String {
    let dir = Scratch::new(tag);
    let cfg = dir.file(
        "v6edge.toml",
        &format!("[daemon]\n{daemon_keys}\n\n{RUN_CONFIG}"),
    );
    let socket = dir.0.join("ctl.sock");
    let mut cmd = Command::new(BIN);
    cmd.args(["run", "--config", cfg.to_str().unwrap()])
        .args(["--state-dir", dir.0.join("state").to_str().unwrap()])
        .args(["--control", socket.to_str().unwrap()])
        .env_remove("RUST_LOG")
        .env_remove("JOURNAL_STREAM")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut daemon = Daemon(cmd.spawn().expect("spawn v6edge run"));
    wait_for_socket(&socket, &mut daemon);
    kill(Pid::from_raw(daemon.0.id() as i32), Signal::SIGTERM).unwrap();
    let out = daemon.0.stderr.take().map(|mut e| {
        use std::io::Read as _;
        let mut s = String::new();
        let _ = e.read_to_string(&mut s);
        s
    });
    let _ = daemon.0.wait();
    out.unwrap_or_default()
}

/// Issue 11: journald gets a priority per line and no duplicated time;
/// JSON lines on request; `auto` is plain text unless stderr is the
/// journal.
#[test]
fn log_formats() {
    let journal = run_and_stop("logj", "log-format = \"journal\"", &[]);
    let started = journal
        .lines()
        .find(|l| l.contains("v6edge started"))
        .unwrap_or_else(|| panic!("{journal}"));
    assert!(
        started.starts_with("<6>v6edge::daemon: v6edge started"),
        "{started}"
    );
    let warn = journal
        .lines()
        .find(|l| l.contains("does not exist (yet)"))
        .unwrap_or_else(|| panic!("{journal}"));
    assert!(warn.starts_with("<4>"), "{warn}");
    assert!(!journal.contains("INFO"), "no level word: {journal}");

    let json = run_and_stop("logjs", "log-format = \"json\"", &[]);
    for line in json.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(
            v["timestamp"].is_string() && v["level"].is_string(),
            "{line}"
        );
    }
    assert!(json.contains("\"message\":\"v6edge started\""), "{json}");

    // auto with a JOURNAL_STREAM that is not our stderr: text.
    let text_out = run_and_stop("loga", "", &[("JOURNAL_STREAM", "1:1")]);
    let started = text_out
        .lines()
        .find(|l| l.contains("v6edge started"))
        .unwrap_or_else(|| panic!("{text_out}"));
    assert!(started.contains(" INFO "), "{started}");
    assert!(!started.starts_with('<'), "{started}");
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
