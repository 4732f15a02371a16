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
    assert!(
        c.uplink
            .as_ref()
            .expect("[uplink] is configured")
            .ia_pds
            .is_empty()
    );
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

const SERVER_LINK: &str = "[server]\n[[server.link]]\ninterface = \"isp0\"\n";

#[test]
fn server_defaults() {
    let c = parse(SERVER_LINK);
    assert!(c.uplink.is_none() && c.lans.is_empty());
    let s = c.server.expect("[server] is configured");
    assert_eq!(s.interfaces, vec![InterfaceName::new("isp0").unwrap()]);
    assert_eq!(s.preference, 0);
    assert!(s.rapid_commit);
    assert!(s.dns_servers.is_empty() && s.domains.is_empty() && s.ntp_servers.is_empty());
    // RFC 8415 §7.6 IRT_DEFAULT.
    assert_eq!(s.information_refresh_time, Duration::from_secs(86_400));
    assert_eq!((s.sol_max_rt, s.inf_max_rt), (None, None));
    assert_eq!(s.lease_store, LeaseStoreKind::Sqlite { path: None });
    assert_eq!(s.hook, None);
    assert!(s.routes);
    assert_eq!(s.route_metric, 1024);
    assert_eq!(s.links.len(), 1);
    assert_eq!(
        s.links[0].selector,
        LinkSelector::Interface(InterfaceName::new("isp0").unwrap())
    );
    assert!(s.links[0].address_pools.is_empty() && s.links[0].prefix_pools.is_empty());
    assert!(s.reservations.is_empty());
}

#[test]
fn pool_lifetime_defaults() {
    let c = parse(&format!(
        "{SERVER_LINK}[[server.link.prefix-pool]]\nprefix = \"2001:db8:100::/40\"\ndelegated-length = 56\n\
         [[server.link.prefix-pool]]\nprefix = \"2001:db8:200::/40\"\ndelegated-length = 56\nvalid-lifetime = 1800\n"
    ));
    let pools = &c.server.unwrap().links[0].prefix_pools;
    assert_eq!(pools[0].preferred, Duration::from_secs(3600));
    assert_eq!(pools[0].valid, Duration::from_secs(7200));
    // The default preferred lifetime follows a shorter valid one.
    assert_eq!(pools[1].preferred, Duration::from_secs(1800));
    assert_eq!(pools[1].valid, Duration::from_secs(1800));
}

#[test]
fn from_uplink_pools() {
    // Issue 4 / RFC 9818 LPD-4: a CPE delegates what its LANs leave over.
    let c = parse(
        r#"
[uplink]
interface = "wan0"
[[lan]]
interface = "lan0"
[server]
[[server.link]]
interface = "lan0"
  [[server.link.prefix-pool]]
  from-uplink = true
  [[server.link.prefix-pool]]
  from-uplink = true
  delegated-length = 64
  valid-lifetime = 600
  [[server.link.prefix-pool]]
  from-uplink = false
  prefix = "2001:db8:100::/40"
  delegated-length = 56
"#,
    );
    let pools = &c.server.unwrap().links[0].prefix_pools;
    assert_eq!(
        pools[0],
        PrefixPoolConfig {
            source: PoolSource::FromUplink,
            delegated_len: 60,
            preferred: Duration::from_secs(3600),
            valid: Duration::from_secs(7200),
        }
    );
    assert_eq!(pools[1].source, PoolSource::FromUplink);
    assert_eq!(pools[1].delegated_len, 64);
    assert_eq!(
        (pools[1].preferred, pools[1].valid),
        (Duration::from_secs(600), Duration::from_secs(600))
    );
    // `from-uplink = false` is a fixed pool like any other.
    assert_eq!(
        pools[2].source,
        PoolSource::Fixed("2001:db8:100::/40".parse().unwrap())
    );
    assert_eq!(pools[2].delegated_len, 56);
}

#[test]
fn every_server_key_is_read() {
    let c = parse(
        r#"
[uplink]
interface = "wan0"

[server]
interfaces = ["isp0", "isp1"]
preference = 255
rapid-commit = false
dns-servers = ["2001:db8:0:1::53"]
domains = ["isp.example."]
ntp-servers = ["2001:db8:0:1::123"]
information-refresh-time = 600
sol-max-rt = 60
inf-max-rt = 86400
lease-store = "sqlite"
lease-file = "/tmp/v6e/leases.db"
hook = "/usr/local/sbin/v6edge-hook"
routes = true
route-metric = 0

[[server.link]]
interface = "isp0"
  [[server.link.address-pool]]
  range = "2001:db8:0:1::100-2001:db8:0:1::1ff"
  preferred-lifetime = 100
  valid-lifetime = 200
  [[server.link.address-pool]]
  prefix = "2001:db8:0:2::/64"
  [[server.link.prefix-pool]]
  prefix = "2001:db8:100::/40"
  delegated-length = 56
  preferred-lifetime = 300
  valid-lifetime = 4294967294

[[server.link]]
relay-link = "2001:db8:a1::/64"

[[server.reservation]]
duid = "00:01:00:01:2c:2d:3e:4f:02:00:00:00:00:01"
hw-address = "02:00:00:00:00:01"
address = "2001:db8:0:1::105"
prefix = "2001:db8:1ff:ff00::/56"

[[server.reservation]]
hw-address = "020000000002"
prefix = "2001:db8:1ff:fe00::/56"
"#,
    );
    let s = c.server.expect("[server] is configured");
    let names: Vec<&str> = s.interfaces.iter().map(InterfaceName::as_str).collect();
    assert_eq!(names, ["isp0", "isp1"]);
    assert_eq!(s.preference, 255);
    assert!(!s.rapid_commit);
    assert_eq!(
        s.dns_servers,
        vec!["2001:db8:0:1::53".parse::<Ipv6Addr>().unwrap()]
    );
    assert_eq!(s.domains, vec!["isp.example".to_owned()]);
    assert_eq!(
        s.ntp_servers,
        vec!["2001:db8:0:1::123".parse::<Ipv6Addr>().unwrap()]
    );
    assert_eq!(s.information_refresh_time, Duration::from_secs(600));
    assert_eq!(s.sol_max_rt, Some(Duration::from_secs(60)));
    assert_eq!(s.inf_max_rt, Some(Duration::from_secs(86_400)));
    assert_eq!(
        s.lease_store,
        LeaseStoreKind::Sqlite {
            path: Some(PathBuf::from("/tmp/v6e/leases.db"))
        }
    );
    assert_eq!(s.hook, Some(PathBuf::from("/usr/local/sbin/v6edge-hook")));
    assert!(s.routes);
    assert_eq!(s.route_metric, 0);

    let link = &s.links[0];
    assert_eq!(link.address_pools.len(), 2);
    let na = &link.address_pools[0];
    assert_eq!(na.start, "2001:db8:0:1::100".parse::<Ipv6Addr>().unwrap());
    assert_eq!(na.end, "2001:db8:0:1::1ff".parse::<Ipv6Addr>().unwrap());
    assert_eq!(
        (na.preferred, na.valid),
        (Duration::from_secs(100), Duration::from_secs(200))
    );
    // RFC 4291 §2.6.1: the prefix form leaves out the Subnet-Router anycast ::0.
    let whole = &link.address_pools[1];
    assert_eq!(whole.start, "2001:db8:0:2::1".parse::<Ipv6Addr>().unwrap());
    assert_eq!(
        whole.end,
        "2001:db8:0:2:ffff:ffff:ffff:ffff"
            .parse::<Ipv6Addr>()
            .unwrap()
    );
    let pd = &link.prefix_pools[0];
    assert_eq!(
        pd.source,
        PoolSource::Fixed("2001:db8:100::/40".parse::<Prefix>().unwrap())
    );
    assert_eq!(pd.delegated_len, 56);
    assert_eq!(pd.preferred, Duration::from_secs(300));
    assert_eq!(pd.valid, Duration::from_secs(0xffff_fffe));
    assert_eq!(
        s.links[1].selector,
        LinkSelector::RelayLink("2001:db8:a1::/64".parse().unwrap())
    );
    assert!(s.links[1].address_pools.is_empty() && s.links[1].prefix_pools.is_empty());

    let r = &s.reservations[0];
    assert_eq!(
        r.duid.as_deref(),
        Some(&[0, 1, 0, 1, 0x2c, 0x2d, 0x3e, 0x4f, 2, 0, 0, 0, 0, 1][..])
    );
    assert_eq!(r.hw_address.as_deref(), Some(&[2, 0, 0, 0, 0, 1][..]));
    assert_eq!(r.address, Some("2001:db8:0:1::105".parse().unwrap()));
    assert_eq!(r.prefix, Some("2001:db8:1ff:ff00::/56".parse().unwrap()));
    let r = &s.reservations[1];
    assert_eq!(r.duid, None);
    assert_eq!(r.hw_address.as_deref(), Some(&[2, 0, 0, 0, 0, 2][..]));
    assert_eq!(r.address, None);
}

#[test]
fn memory_store_and_no_routes() {
    let c = parse(
        "[server]\nlease-store = \"memory\"\nroutes = false\n[[server.link]]\ninterface = \"isp0\"\n",
    );
    let s = c.server.unwrap();
    assert_eq!(s.lease_store, LeaseStoreKind::Memory);
    assert!(!s.routes);
    assert_eq!(
        s.lease_store.sqlite_path(Path::new("/var/lib/v6edge")),
        None
    );
}

#[cfg(feature = "postgres")]
#[test]
fn postgres_store_keeps_the_connection_string() {
    let c = parse(
        "[server]\nlease-store = \"postgres\"\npostgres = \"host=/var/run/postgresql dbname=v6edge\"\n[[server.link]]\ninterface = \"isp0\"\n",
    );
    let s = c.server.unwrap();
    assert_eq!(
        s.lease_store,
        LeaseStoreKind::Postgres {
            conninfo: "host=/var/run/postgresql dbname=v6edge".to_owned()
        }
    );
    assert_eq!(
        s.lease_store.sqlite_path(Path::new("/var/lib/v6edge")),
        None
    );
}

#[test]
fn sqlite_path_resolves_against_the_state_dir() {
    let state = Path::new("/srv/state");
    assert_eq!(
        LeaseStoreKind::Sqlite { path: None }.sqlite_path(state),
        Some(PathBuf::from("/srv/state/leases.db"))
    );
    assert_eq!(
        LeaseStoreKind::Sqlite {
            path: Some(PathBuf::from("/data/l.db"))
        }
        .sqlite_path(state),
        Some(PathBuf::from("/data/l.db"))
    );
}

#[test]
fn hex_forms() {
    assert_eq!(server::hex_bytes("00:01:Ab"), Ok(vec![0, 1, 0xab]));
    assert_eq!(server::hex_bytes("0001aB"), Ok(vec![0, 1, 0xab]));
    assert_eq!(server::hex_bytes(" 0001 "), Ok(vec![0, 1]));
    assert!(server::hex_bytes("00:01:").is_err());
    assert!(server::hex_bytes(":").is_err());
    assert!(server::hex_bytes("0g").is_err());
    assert_eq!(
        server::hex_bytes("0é"),
        Err("'é' is not a hex digit".to_owned())
    );
    assert!(server::hex_bytes("000").is_err());
    assert!(server::hex_bytes("").is_err());
}

#[test]
fn prefix_bounds() {
    let b = |s: &str| server::bounds(&s.parse::<Prefix>().unwrap());
    assert_eq!(b("::/0"), (0, u128::MAX));
    assert_eq!(
        b("2001:db8::1/128"),
        (
            u128::from(Ipv6Addr::from([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1])),
            u128::from(Ipv6Addr::from([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]))
        )
    );
    let (first, last) = b("2001:db8:100::/40");
    assert_eq!(
        Ipv6Addr::from(first),
        "2001:db8:100::".parse::<Ipv6Addr>().unwrap()
    );
    assert_eq!(
        Ipv6Addr::from(last),
        "2001:db8:1ff:ffff:ffff:ffff:ffff:ffff"
            .parse::<Ipv6Addr>()
            .unwrap()
    );
}

#[test]
fn server_garbage_never_panics() {
    let text = include_str!("../../../../examples/isp-server.toml");
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

/// Issue 11: `check` speaks of whole numbers and lists, not Rust types.
#[test]
fn type_errors_are_in_plain_words() {
    let base = "[home-agent]\ninterface = \"home0\"\naddress = \"2001:db8:1::1\"\n";
    for (line, want) in [
        ("max-binding-lifetime = \"x\"", "expected a whole number"),
        (
            "max-binding-lifetime = 99999999999999999999",
            "expected a whole number",
        ),
        ("max-binding-lifetime = 1.5", "a decimal number"),
        ("prefixes = \"2001:db8:1::/64\"", "expected a list"),
    ] {
        let err = parse_err(&format!("{base}{line}\n"));
        assert!(err.contains(want), "{line}: {err}");
        for rust in ["i64", "i128", "u32", "sequence"] {
            assert!(!err.contains(rust), "{line}: {err}");
        }
        assert!(err.starts_with("t.toml:4: "), "{err}");
    }
    assert!(parse_err("uplink = 3\n").contains("expected a table"));
}

/// Issue 11: a file that is not UTF-8 gets the line and column of the
/// first bad byte.
#[test]
fn non_utf8_file_gets_a_line() {
    let dir = std::env::temp_dir().join(format!("v6edge-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("latin1.toml");
    std::fs::write(&path, b"[daemon]\n\n# caf\xe9\n").unwrap();
    let err = Config::load(&path).unwrap_err();
    assert_eq!(err.line, Some(3));
    assert!(err.reason.contains("not UTF-8"), "{}", err.reason);
    assert!(err.reason.contains("0xe9 at column 6"), "{}", err.reason);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn configured_interfaces_and_forwarding() {
    let c = parse("[uplink]\ninterface = \"wan0\"\n\n[[lan]]\ninterface = \"lan0\"\n");
    assert_eq!(
        c.interfaces(),
        vec![("[uplink]", "wan0"), ("[[lan]]", "lan0")]
    );
    assert!(c.forwards());
}
