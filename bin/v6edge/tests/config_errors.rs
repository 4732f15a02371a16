//! Every configuration error names FILE:LINE of the offending key or value.

use std::path::Path;

use v6edge::config::Config;

/// Parses `text` as `cpe.toml` and returns the error message.
fn error(text: &str) -> String {
    match Config::parse(text, Path::new("cpe.toml")) {
        Ok(c) => panic!("accepted: {c:?}"),
        Err(e) => e.to_string(),
    }
}

const UPLINK: &str = "[uplink]\ninterface = \"wan0\"\n";

#[test]
fn unknown_key_points_at_the_key() {
    assert_eq!(
        error("[uplink]\ninterface = \"wan0\"\nprefix-hnt = 56\n"),
        "cpe.toml:3: unknown field `prefix-hnt`, expected one of `interface`, `request-prefix`, `prefix-hint`, \
         `ia-pd`, `request-address`, `rapid-commit`, `reconfigure-accept`, `release-on-stop`, \
         `accept-ra-default-route`, `request-options`"
    );
    let e = error(&format!(
        "{UPLINK}[[lan]]\ninterface = \"lan0\"\n[lan.ra]\n\nmax-intreval = 100\n"
    ));
    assert!(
        e.starts_with("cpe.toml:7: unknown field `max-intreval`"),
        "{e}"
    );
    // Unknown top-level tables are rejected too.
    let e = error(&format!("{UPLINK}\n[relais]\n"));
    assert!(e.starts_with("cpe.toml:4: unknown field `relais`"), "{e}");
}

#[test]
fn missing_uplink_and_interface() {
    assert_eq!(
        error("[daemon]\n"),
        "cpe.toml:1: nothing to run: configure [uplink] (requesting router), [server] (delegating server), [relay] (relay agent) or [[ra]] (Router Advertisements of configured prefixes)"
    );
    // A LAN's /64 comes out of the uplink's delegation.
    assert_eq!(
        error("[daemon]\n\n[[lan]]\ninterface = \"lan0\"\n"),
        "cpe.toml:4: [[lan]] `lan0` needs an [uplink]: LAN prefixes come from the uplink's delegation"
    );
    // ... even when a [server] is configured.
    assert_eq!(
        error("[server]\n[[server.link]]\ninterface = \"isp0\"\n[[lan]]\ninterface = \"lan0\"\n"),
        "cpe.toml:5: [[lan]] `lan0` needs an [uplink]: LAN prefixes come from the uplink's delegation"
    );
    assert_eq!(
        error("\n[uplink]\nprefix-hint = 56\n"),
        "cpe.toml:2: missing field `interface`"
    );
    assert_eq!(
        error(&format!("{UPLINK}\n[[lan]]\nsubnet-id = 1\n")),
        "cpe.toml:4: missing field `interface`"
    );
}

#[test]
fn syntax_and_type_errors() {
    assert_eq!(
        error("[uplink\n"),
        "cpe.toml:1: unclosed table, expected `]`"
    );
    assert_eq!(
        error("[uplink]\ninterface = 3\n"),
        "cpe.toml:2: wrong kind of value: the number `3`, expected a string"
    );
    let e = error(&format!(
        "{UPLINK}[[lan]]\ninterface = \"lan0\"\nra.preference = \"huge\"\n"
    ));
    assert_eq!(
        e,
        "cpe.toml:5: unknown variant `huge`, expected one of `low`, `medium`, `high`"
    );
    let e = error(&format!(
        "{UPLINK}request-options = [\"dns\", \"telnet\"]\n"
    ));
    assert!(e.starts_with("cpe.toml:3: unknown variant `telnet`"), "{e}");
}

#[test]
fn prefix_hint_out_of_range() {
    assert_eq!(
        error("[uplink]\ninterface = \"wan0\"\n\nprefix-hint = 65\n"),
        "cpe.toml:4: prefix-hint = 65: must be between 48 and 64"
    );
    assert_eq!(
        error(&format!(
            "{UPLINK}[[uplink.ia-pd]]\nprefix-hint = 56\n[[uplink.ia-pd]]\nprefix-hint = 40\n"
        )),
        "cpe.toml:6: prefix-hint = 40: must be between 48 and 64"
    );
}

#[test]
fn ia_pd_conflicts() {
    assert_eq!(
        error("[uplink]\ninterface = \"wan0\"\nprefix-hint = 56\n[[uplink.ia-pd]]\n"),
        "cpe.toml:3: uplink.prefix-hint cannot be combined with [[uplink.ia-pd]]: set prefix-hint in each ia-pd"
    );
    assert_eq!(
        error("[uplink]\ninterface = \"wan0\"\nrequest-prefix = false\nprefix-hint = 60\n"),
        "cpe.toml:4: prefix-hint is given but request-prefix = false"
    );
    assert_eq!(
        error("[uplink]\ninterface = \"wan0\"\nrequest-options = [\"dns\", \"dns\"]\n"),
        "cpe.toml:3: request-options lists `dns` twice"
    );
}

#[test]
fn duplicate_lan_interface_points_at_the_second() {
    let text =
        format!("{UPLINK}\n[[lan]]\ninterface = \"lan0\"\n\n[[lan]]\ninterface = \"lan0\"\n");
    assert_eq!(
        error(&text),
        "cpe.toml:8: LAN interface `lan0` is configured twice"
    );
}

#[test]
fn lan_cannot_be_the_uplink() {
    let text = format!("{UPLINK}[[lan]]\ninterface = \"wan0\"\n");
    assert_eq!(
        error(&text),
        "cpe.toml:4: LAN interface `wan0` is also the uplink interface"
    );
}

#[test]
fn duplicate_subnet_id() {
    let text = format!(
        "{UPLINK}[[lan]]\ninterface = \"lan0\"\nsubnet-id = 1\n[[lan]]\ninterface = \"lan1\"\nsubnet-id = 1\n"
    );
    assert_eq!(error(&text), "cpe.toml:8: subnet-id 1 is used by two LANs");
    let text = format!("{UPLINK}[[lan]]\ninterface = \"lan0\"\nsubnet-id = -1\n");
    assert_eq!(
        error(&text),
        "cpe.toml:5: subnet-id = -1: must be between 0 and 4294967295"
    );
}

#[test]
fn bad_interface_names() {
    assert_eq!(
        error("[uplink]\ninterface = \"\"\n"),
        "cpe.toml:2: interface: interface name is empty"
    );
    assert_eq!(
        error("[uplink]\ninterface = \"averyveryverylong0\"\n"),
        "cpe.toml:2: interface: interface name `averyveryverylong0` is longer than 15 bytes"
    );
    assert_eq!(
        error(&format!("{UPLINK}[[lan]]\ninterface = \"lan/0\"\n")),
        "cpe.toml:4: interface: interface name `lan/0` contains '/'"
    );
    assert_eq!(
        error(&format!("{UPLINK}[[lan]]\ninterface = \"lan 0\"\n")),
        "cpe.toml:4: interface: interface name `lan 0` contains ' '"
    );
}

#[test]
fn ra_interval_bounds() {
    let lan = format!("{UPLINK}[[lan]]\ninterface = \"lan0\"\n[lan.ra]\n");
    // RFC 4861 §6.2.1: MinRtrAdvInterval ≤ 0.75 * MaxRtrAdvInterval.
    assert_eq!(
        error(&format!("{lan}max-interval = 100\nmin-interval = 76\n")),
        "cpe.toml:7: min-interval = 76: must be between 3 and 0.75 * max-interval (75) (RFC 4861 §6.2.1)"
    );
    assert_eq!(
        error(&format!("{lan}min-interval = 2\n")),
        "cpe.toml:6: min-interval = 2: must be between 3 and 0.75 * max-interval (450) (RFC 4861 §6.2.1)"
    );
    assert_eq!(
        error(&format!("{lan}max-interval = 1801\n")),
        "cpe.toml:6: max-interval = 1801: must be between 4 and 1800"
    );
    assert_eq!(
        error(&format!("{lan}max-interval = 3\n")),
        "cpe.toml:6: max-interval = 3: must be between 4 and 1800"
    );
}

#[test]
fn ra_value_bounds() {
    let lan = format!("{UPLINK}[[lan]]\ninterface = \"lan0\"\n[lan.ra]\n");
    assert_eq!(
        error(&format!("{lan}mtu = 1000\n")),
        "cpe.toml:6: mtu = 1000: must be between 1280 and 65535"
    );
    assert_eq!(
        error(&format!("{lan}router-lifetime = 9001\n")),
        "cpe.toml:6: router-lifetime = 9001: must be between 0 and 9000"
    );
    assert_eq!(
        error(&format!("{lan}max-interval = 600\nrouter-lifetime = 300\n")),
        "cpe.toml:7: router-lifetime = 300: must be 0 or at least max-interval (600) (RFC 4861 §6.2.1)"
    );
    assert_eq!(
        error(&format!("{lan}rdnss-lifetime = 10\n")),
        "cpe.toml:6: rdnss-lifetime = 10: must be between 600 and 4294967294"
    );
    assert_eq!(
        error(&format!("{lan}pio-preferred-limit = 6000\n")),
        "cpe.toml:6: pio-preferred-limit = 6000: must not exceed pio-valid-limit (5400)"
    );
    assert_eq!(
        error(&format!(
            "{lan}dns-servers = [\"2001:db8::53\",\n  \"not-an-address\"]\n"
        )),
        "cpe.toml:7: dns-servers: `not-an-address` is not an IPv6 address"
    );
}

#[test]
fn daemon_table_checks() {
    assert_eq!(
        error(&format!("[daemon]\nstate-dir = \"var/lib\"\n{UPLINK}")),
        "cpe.toml:2: state-dir `var/lib` must be an absolute path"
    );
    let long = format!("/{}", "s".repeat(120));
    assert_eq!(
        error(&format!("[daemon]\ncontrol-socket = \"{long}\"\n{UPLINK}")),
        "cpe.toml:2: control-socket path is longer than 107 bytes (sun_path limit)"
    );
    let e = error(&format!("[daemon]\nlog-level = \"verbose\"\n{UPLINK}"));
    assert!(
        e.starts_with("cpe.toml:2: log-level `verbose`: `verbose` is not a level"),
        "{e}"
    );
}

#[test]
fn unreadable_file_has_no_line() {
    let e = Config::load(Path::new("/nonexistent/v6edge.toml")).unwrap_err();
    assert_eq!(e.line, None);
    assert!(
        e.to_string()
            .starts_with("/nonexistent/v6edge.toml: cannot read: "),
        "{e}"
    );
}

/// Issue 14: `[limits]`, `[daemon] netlink-receive-buffer` and the server's
/// lease caps are range-checked with FILE:LINE, and parse to what the
/// daemon uses.
#[test]
fn limits_and_caps_are_checked_where_they_are_written() {
    let e = error(&format!("{UPLINK}\n[limits]\ndhcp6-per-source = -1\n"));
    assert!(
        e.starts_with("cpe.toml:5: dhcp6-per-source = -1: must be between 0 and"),
        "{e}"
    );
    let e = error(&format!("{UPLINK}\n[limits]\nrs-per-link = 99999999999\n"));
    assert!(e.starts_with("cpe.toml:5: rs-per-link"), "{e}");
    let e = error(&format!("{UPLINK}\n[limits]\nrs-per-lnk = 5\n"));
    assert!(
        e.starts_with("cpe.toml:5: unknown field `rs-per-lnk`"),
        "{e}"
    );
    let e = error(&format!("[daemon]\nnetlink-receive-buffer = 100\n{UPLINK}"));
    assert!(e.starts_with("cpe.toml:2: netlink-receive-buffer"), "{e}");
    let server = "[server]\nmax-leases-per-link = 0\n[[server.link]]\ninterface = \"isp0\"\n";
    let e = error(server);
    assert!(e.starts_with("cpe.toml:2: max-leases-per-link"), "{e}");

    let ok = Config::parse(
        &format!(
            "[daemon]\nnetlink-receive-buffer = 65536\n{UPLINK}\n[limits]\ndhcp6-per-source = 0\ndhcp6-per-link = 500\nrs-per-link = 7\n"
        ),
        Path::new("cpe.toml"),
    )
    .expect("valid");
    assert_eq!(ok.daemon.netlink_receive_buffer, 65536);
    assert!(ok.limits.dhcp6.per_source.is_unlimited());
    assert_eq!(ok.limits.dhcp6.per_link.per_second, 500);
    assert!(ok.limits.dhcp6_per_link_set);
    assert_eq!(ok.limits.rs.per_link.per_second, 7);
    let caps = Config::parse(
        "[server]\nmax-leases-per-link = 5000\nmax-leases-per-hw-address = 4\n[[server.link]]\ninterface = \"isp0\"\n",
        Path::new("cpe.toml"),
    )
    .expect("valid");
    let s = caps.server.expect("server");
    assert_eq!(
        (s.max_leases_per_link, s.max_leases_per_hw_address),
        (Some(5000), Some(4))
    );
}
