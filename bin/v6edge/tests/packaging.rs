//! What the Debian package ships besides the binary (issue 11): manual
//! pages and shell completions generated from the command-line definition,
//! the inert default configuration, and the systemd units.

use std::path::PathBuf;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_v6edge");

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn scratch(tag: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("v6edge-pkg-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&p);
    p
}

/// `v6edge generate man` writes v6edge(1) and a page per command, each
/// command named in the main page; completions name the commands too.
#[test]
fn manual_pages_and_completions_come_from_the_cli() {
    let out = scratch("gen");
    let run = |args: &[&str]| {
        let o = Command::new(BIN)
            .arg("generate")
            .arg("--out")
            .arg(&out)
            .args(args)
            .output()
            .expect("run v6edge generate");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    run(&["man"]);
    run(&["completions", "bash"]);
    run(&["completions", "zsh"]);
    let main = std::fs::read_to_string(out.join("v6edge.1")).expect("v6edge.1");
    for command in [
        "run", "check", "status", "release", "renew", "reload", "metrics", "leases", "tree",
    ] {
        assert!(main.contains(command), "v6edge.1 names {command}");
        assert!(
            out.join(format!("v6edge-{command}.1")).exists(),
            "v6edge-{command}.1"
        );
    }
    assert!(
        !main.contains("generate"),
        "the packaging command stays hidden"
    );
    let bash = std::fs::read_to_string(out.join("v6edge.bash")).expect("bash completion");
    assert!(bash.contains("check") && bash.contains("--config"));
    assert!(out.join("_v6edge").exists(), "zsh completion");
    let _ = std::fs::remove_dir_all(out);
}

/// The packaged configuration is inert: `check` refuses it (nothing to
/// run), so the service's ExecStartPre stops a start before it is edited.
#[test]
fn the_default_configuration_is_inert() {
    let o = Command::new(BIN)
        .args(["check", "--config"])
        .arg(repo().join("packaging/v6edge.toml"))
        .output()
        .expect("run v6edge check");
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("nothing to run"), "{err}");
}

/// The units grant exactly the three capabilities the daemon needs, start
/// it as its own user, check the configuration first and are hardened as
/// docs promise.
#[test]
fn the_service_units_hold_three_capabilities_and_the_hardening() {
    for unit in ["v6edge.service", "v6edge@.service"] {
        let text =
            std::fs::read_to_string(repo().join("packaging/systemd").join(unit)).expect(unit);
        let caps = "CAP_NET_ADMIN CAP_NET_RAW CAP_NET_BIND_SERVICE";
        for line in [
            "Type=notify".to_owned(),
            "User=v6edge".to_owned(),
            format!("AmbientCapabilities={caps}"),
            format!("CapabilityBoundingSet={caps}"),
            "NoNewPrivileges=yes".to_owned(),
            "ProtectSystem=strict".to_owned(),
            "ProtectHome=yes".to_owned(),
            "PrivateTmp=yes".to_owned(),
            "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK AF_PACKET".to_owned(),
            "SystemCallFilter=@system-service".to_owned(),
            "ExecReload=/bin/kill -HUP $MAINPID".to_owned(),
        ] {
            assert!(text.lines().any(|l| l == line), "{unit}: {line}");
        }
        assert!(
            text.contains("ExecStartPre=/usr/bin/v6edge check"),
            "{unit}"
        );
    }
}
