//! Defaults and conversions of the validated config. Error messages with
//! their lines are tested in tests/config_errors.rs.

use super::*;

fn parse(text: &str) -> Config {
    match Config::parse(text, Path::new("t.toml")) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    }
}

fn parse_err(text: &str) -> String {
    Config::parse(text, Path::new("t.toml"))
        .unwrap_err()
        .to_string()
}

#[test]
fn minimal_config_gets_documented_defaults() {
    let c = parse("[uplink]\ninterface = \"wan0\"\n[[lan]]\ninterface = \"lan0\"\n");
    assert_eq!(c.daemon.state_dir, PathBuf::from("/var/lib/v6edge"));
    assert_eq!(c.daemon.control_socket, PathBuf::from("/run/v6edge.sock"));
    assert_eq!(c.daemon.log_level, "info");
    let up = c.uplink.as_ref().expect("[uplink] is configured");
    assert_eq!(up.interface.as_str(), "wan0");
    assert_eq!(up.ia_pds, vec![IaPdRequest { prefix_hint: 56 }]);
    assert!(!up.request_address && up.rapid_commit && !up.reconfigure_accept);
    // RFC 9096 WPD-9: no Release on stop by default.
    assert!(!up.release_on_stop);
    assert!(up.accept_ra_default_route);
    assert_eq!(
        up.request_options,
        vec![
            RequestOption::Dns,
            RequestOption::Domains,
            RequestOption::SolMaxRt,
            RequestOption::InfoRefreshTime
        ]
    );
    let lan = &c.lans[0];
    assert_eq!(lan.subnet_id, None);
    assert!(lan.advertise);
    assert_eq!(lan.ra, RaSettings::defaults());
    let ra = &lan.ra;
    assert_eq!(ra.max_interval, Duration::from_secs(600));
    assert_eq!(ra.min_interval, Duration::from_secs(198));
    assert_eq!(ra.router_lifetime, Duration::from_secs(1800));
    assert_eq!(ra.rdnss_lifetime, Duration::from_secs(1800));
    assert_eq!(ra.pio_preferred_limit, Duration::from_secs(2700));
    assert_eq!(ra.pio_valid_limit, Duration::from_secs(5400));
    assert_eq!(ra.preference, RouterPreference::Medium);
    assert!(ra.route_info && !ra.managed && !ra.other_config);
    assert_eq!(
        (ra.mtu, &ra.dns_servers, &ra.dns_domains),
        (None, &None, &None)
    );
}

#[test]
fn every_key_is_read() {
    let c = parse(
        r#"
[daemon]
state-dir = "/tmp/v6e-state"
control-socket = "/tmp/v6e.sock"
log-level = "debug,v6edge::control=trace"

[uplink]
interface = "wan0"
request-address = true
rapid-commit = false
reconfigure-accept = true
release-on-stop = true
accept-ra-default-route = false
request-options = ["dns", "ntp"]

[[uplink.ia-pd]]
prefix-hint = 60
[[uplink.ia-pd]]

[[lan]]
interface = "lan0"
subnet-id = 3
advertise = false
[lan.ra]
min-interval = 30
max-interval = 100
mtu = 1492
managed = true
other-config = true
router-lifetime = 0
dns-servers = ["2001:db8::53", "fe80::1"]
dns-domains = ["example.net.", "home.arpa"]
rdnss-lifetime = 300
preference = "high"
route-info = false
pio-preferred-limit = 600
pio-valid-limit = 1200
"#,
    );
    assert_eq!(c.daemon.state_dir, PathBuf::from("/tmp/v6e-state"));
    assert_eq!(c.daemon.log_level, "debug,v6edge::control=trace");
    let up = c.uplink.as_ref().expect("[uplink] is configured");
    assert_eq!(
        up.ia_pds,
        vec![
            IaPdRequest { prefix_hint: 60 },
            IaPdRequest { prefix_hint: 56 }
        ]
    );
    assert!(up.request_address && !up.rapid_commit && up.reconfigure_accept && up.release_on_stop);
    assert!(!up.accept_ra_default_route);
    // RFC 8415 §18.2.1: SOL_MAX_RT is always requested.
    assert_eq!(
        up.request_options,
        vec![
            RequestOption::Dns,
            RequestOption::Ntp,
            RequestOption::SolMaxRt
        ]
    );
    let lan = &c.lans[0];
    assert_eq!(lan.subnet_id, Some(3));
    assert!(!lan.advertise);
    let ra = &lan.ra;
    assert_eq!(ra.min_interval, Duration::from_secs(30));
    assert_eq!(ra.max_interval, Duration::from_secs(100));
    assert_eq!(ra.mtu, Some(1492));
    assert!(ra.managed && ra.other_config && !ra.route_info);
    assert_eq!(ra.router_lifetime, Duration::ZERO);
    assert_eq!(
        ra.dns_servers,
        Some(vec![
            "2001:db8::53".parse().unwrap(),
            "fe80::1".parse().unwrap()
        ])
    );
    assert_eq!(
        ra.dns_domains,
        Some(vec!["example.net".to_owned(), "home.arpa".to_owned()])
    );
    assert_eq!(ra.rdnss_lifetime, Duration::from_secs(300));
    assert_eq!(ra.preference, RouterPreference::High);
    assert_eq!(ra.pio_preferred_limit, Duration::from_secs(600));
    assert_eq!(ra.pio_valid_limit, Duration::from_secs(1200));
}

#[test]
fn interval_dependent_defaults() {
    // RFC 4861 §6.2.1: min = 0.33 * max; RFC 8106 §5.1: RDNSS 3 * max.
    let c = parse(
        "[uplink]\ninterface = \"wan0\"\n[[lan]]\ninterface = \"lan0\"\nra.max-interval = 30\n",
    );
    assert_eq!(c.lans[0].ra.min_interval, Duration::from_millis(9900));
    assert_eq!(c.lans[0].ra.rdnss_lifetime, Duration::from_secs(90));
    // Below 9 s the 3 s floor applies (see the Deviation note).
    let c = parse(
        "[uplink]\ninterface = \"wan0\"\n[[lan]]\ninterface = \"lan0\"\nra.max-interval = 4\n",
    );
    assert_eq!(c.lans[0].ra.min_interval, Duration::from_secs(3));
    // The preferred limit never exceeds a smaller valid limit.
    let c = parse(
        "[uplink]\ninterface = \"wan0\"\n[[lan]]\ninterface = \"lan0\"\nra.pio-valid-limit = 1000\n",
    );
    assert_eq!(c.lans[0].ra.pio_preferred_limit, Duration::from_secs(1000));
}

#[test]
fn request_prefix_false_requests_nothing() {
    let c =
        parse("[uplink]\ninterface = \"wan0\"\nrequest-prefix = false\nrequest-address = true\n");
    assert!(c.uplink.as_ref().expect("[uplink] is configured").ia_pds.is_empty());
    assert!(c.lans.is_empty());
}

#[test]
fn interface_names_follow_linux_rules() {
    for ok in ["eth0", "a", "wan0.100", "br-lan", "x23456789012345"] {
        assert!(InterfaceName::new(ok).is_ok(), "{ok}");
    }
    for bad in [
        "",
        ".",
        "..",
        "x234567890123456",
        "a/b",
        "a b",
        "eth0:1",
        "tab\t",
    ] {
        assert!(InterfaceName::new(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn domain_and_dns_checks() {
    let base = "[uplink]\ninterface = \"wan0\"\n[[lan]]\ninterface = \"lan0\"\n";
    assert_eq!(
        parse_err(&format!("{base}ra.dns-domains = [\"-bad.example\"]\n")),
        "t.toml:5: dns-domains: `-bad.example`: label `-bad` starts or ends with `-`"
    );
    assert_eq!(
        parse_err(&format!("{base}ra.dns-domains = [\"a..b\"]\n")),
        "t.toml:5: dns-domains: `a..b`: empty label"
    );
    assert_eq!(
        parse_err(&format!("{base}ra.dns-servers = [\"ff02::1\"]\n")),
        "t.toml:5: dns-servers: `ff02::1` is not a unicast address"
    );
    assert!(
        parse(&format!("{base}ra.dns-servers = []\n")).lans[0]
            .ra
            .dns_servers
            == Some(vec![])
    );
}

#[test]
fn request_option_codes() {
    // IANA DHCPv6 option codes.
    assert_eq!(RequestOption::Dns.code(), 23);
    assert_eq!(RequestOption::Domains.code(), 24);
    assert_eq!(RequestOption::SolMaxRt.code(), 82);
    assert_eq!(RequestOption::InfoRefreshTime.code(), 32);
    assert_eq!(RouterPreference::Low.bits(), 0b11);
}

#[test]
fn garbage_never_panics() {
    // A cheap sweep over truncations of a full file: every prefix either
    // parses or yields an error with a line inside the text.
    let text = include_str!("../../../../examples/cpe.toml");
    let lines = text.lines().count();
    for cut in 0..text.len() {
        if !text.is_char_boundary(cut) {
            continue;
        }
        if let Err(e) = Config::parse(&text[..cut], Path::new("t.toml")) {
            let line = e.line.expect("parse errors carry a line");
            assert!(line >= 1 && line <= lines + 1, "cut {cut}: {e}");
        }
    }
}
