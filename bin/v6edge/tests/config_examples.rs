//! Every `*.toml` directly in examples/ is a v6edge configuration that
//! passes `v6edge check`.

use std::net::Ipv6Addr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use v6edge::config::{Config, LeaseStoreKind, LinkSelector, PoolSource, RelaySettings};

fn examples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

#[test]
fn every_example_validates() {
    let mut checked = Vec::new();
    for entry in std::fs::read_dir(examples_dir()).expect("examples/ exists") {
        let path = entry.expect("readable directory entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            if let Err(e) = Config::load(&path) {
                panic!("{e}");
            }
            checked.push(path);
        }
    }
    for name in ["cpe.toml", "isp-server.toml", "relay.toml"] {
        assert!(
            checked.iter().any(|p| p.ends_with(name)),
            "{name} not found: {checked:?}"
        );
    }
}

/// The contract: cpe.toml uses wan0 and lan0, hints /56, advertises on lan0.
#[test]
fn cpe_example_matches_contract() {
    let c = Config::load(&examples_dir().join("cpe.toml")).unwrap();
    let uplink = c.uplink.as_ref().expect("cpe.toml has an [uplink]");
    assert_eq!(uplink.interface.as_str(), "wan0");
    assert_eq!(uplink.ia_pds.len(), 1);
    assert_eq!(uplink.ia_pds[0].prefix_hint, 56);
    assert_eq!(c.lans.len(), 1);
    assert_eq!(c.lans[0].interface.as_str(), "lan0");
    assert!(c.lans[0].advertise);
    // RFC 9096 WPD-9: no Release on a clean stop.
    assert!(!uplink.release_on_stop);
}

fn addr(s: &str) -> Ipv6Addr {
    s.parse().expect("test address")
}

/// isp-server.toml works on a server whose client side is isp0: /56s out of
/// 2001:db8:100::/40, addresses ::100-::ffff of 2001:db8:0:1::/64 (the
/// server's own ::1 outside), DNS and domain for the customers.
#[test]
fn isp_server_example_matches_its_comments() {
    let c = Config::load(&examples_dir().join("isp-server.toml")).unwrap();
    assert!(c.uplink.is_none() && c.lans.is_empty());
    let s = c.server.as_ref().expect("isp-server.toml has a [server]");
    let names: Vec<&str> = s.interfaces.iter().map(|i| i.as_str()).collect();
    assert_eq!(names, ["isp0"]);
    assert_eq!(s.dns_servers, vec![addr("2001:db8:0:1::53")]);
    assert_eq!(s.domains, vec!["isp.example".to_owned()]);
    assert_eq!(s.lease_store, LeaseStoreKind::Sqlite { path: None });
    assert_eq!(
        s.lease_store.sqlite_path(&c.daemon.state_dir),
        Some(PathBuf::from("/var/lib/v6edge/leases.db"))
    );
    assert!(s.routes && s.rapid_commit);
    assert_eq!(s.route_metric, 1024);
    assert!(s.reservations.is_empty());

    assert_eq!(s.links.len(), 1);
    let link = &s.links[0];
    match &link.selector {
        LinkSelector::Interface(name) => assert_eq!(name.as_str(), "isp0"),
        other => panic!("expected the isp0 link, got {other:?}"),
    }
    assert_eq!(link.address_pools.len(), 1);
    let na = &link.address_pools[0];
    assert_eq!(
        (na.start, na.end),
        (addr("2001:db8:0:1::100"), addr("2001:db8:0:1::ffff"))
    );
    // The server's own address and the DNS server are not handed out.
    for own in ["2001:db8:0:1::1", "2001:db8:0:1::53"] {
        assert!(
            !(na.start..=na.end).contains(&addr(own)),
            "{own} is in the pool"
        );
    }
    assert_eq!(
        (na.preferred, na.valid),
        (Duration::from_secs(3600), Duration::from_secs(7200))
    );
    assert_eq!(link.prefix_pools.len(), 1);
    let pd = &link.prefix_pools[0];
    assert_eq!(
        pd.source,
        PoolSource::Fixed("2001:db8:100::/40".parse().unwrap())
    );
    assert_eq!(pd.delegated_len, 56);
    assert_eq!(
        (pd.preferred, pd.valid),
        (Duration::from_secs(3600), Duration::from_secs(7200))
    );
}

/// Uncomments every `# key = value` and `# [[table]]` line of `text`.
fn uncommented(text: &str) -> String {
    text.lines()
        .map(|line| {
            let Some(rest) = line.strip_prefix("# ") else {
                return line.to_owned();
            };
            let key = rest.split(" = ").next().unwrap_or("");
            let is_key = rest.contains(" = ")
                && !key.is_empty()
                && key
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'-' || b == b'.');
            if is_key || (rest.starts_with("[[") && rest.trim_end().ends_with("]]")) {
                rest.to_owned()
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The commented-out lines of the examples are valid too: a reader who
/// uncomments them gets a working file.
#[test]
fn commented_out_settings_are_valid() {
    let text = std::fs::read_to_string(examples_dir().join("isp-server.toml")).unwrap();
    let full = uncommented(&text);
    assert_ne!(full, text);
    let c = Config::parse(&full, Path::new("isp-server.toml")).unwrap_or_else(|e| panic!("{e}"));
    let s = c.server.unwrap();
    assert_eq!(s.sol_max_rt, Some(Duration::from_secs(3600)));
    assert_eq!(s.hook, Some(PathBuf::from("/usr/local/sbin/v6edge-hook")));
    assert_eq!(s.reservations.len(), 1);
    let r = &s.reservations[0];
    assert_eq!(r.duid.as_deref(), Some(&[0, 3, 0, 1, 2, 0, 0, 0, 0, 1][..]));
    assert_eq!(r.address, Some(addr("2001:db8:0:1::100")));
    assert_eq!(
        r.prefix.map(|p| p.to_string()).as_deref(),
        Some("2001:db8:1ff:ff00::/56")
    );

    let text = std::fs::read_to_string(examples_dir().join("cpe.toml")).unwrap();
    let full = uncommented(&text);
    assert_ne!(full, text);
    let c = Config::parse(&full, Path::new("cpe.toml")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.lans[0].subnet_id, Some(0));
    assert_eq!(c.lans[0].ra.mtu, Some(1492));
}

/// relay.toml works on a router whose clients are on lan0 and whose servers
/// are reached through wan0: all servers (ff05::1:3, i.e. no unicast list)
/// unless the commented `servers` line is taken.
#[test]
fn relay_example_matches_its_comments() {
    let path = examples_dir().join("relay.toml");
    let c = Config::load(&path).unwrap();
    assert!(c.uplink.is_none() && c.lans.is_empty() && c.server.is_none());
    let r = c.relay.as_ref().expect("relay.toml has a [relay]");
    assert_eq!(r.upstream.as_str(), "wan0");
    assert!(r.servers.is_empty(), "relays to ff05::1:3: {:?}", r.servers);
    assert!(r.routes);
    assert_eq!(r.route_metric, 1024);
    assert_eq!(r.hop_count_limit, 8);
    assert_eq!(r.downstream.len(), 1);
    let d = &r.downstream[0];
    assert_eq!(d.interface.as_str(), "lan0");
    assert_eq!(d.link_address, None);
    assert_eq!(d.interface_id, None);
    assert_eq!(d.effective_interface_id(), b"lan0");
    assert!(d.always_interface_id);
    assert_eq!((&d.remote_id, &d.subscriber_id), (&None, &None));

    // The comments promise the Kea caveat and the unicast alternative.
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains("Kea 2.2 does not listen on ff05::1:3"),
        "{text}"
    );
    assert!(text.contains("# servers = [\"2001:db8:0:1::1\"]"), "{text}");

    // Uncommented, every line is valid and the commented defaults are the
    // real defaults.
    let full = uncommented(&text);
    assert_ne!(full, text);
    let c = Config::parse(&full, Path::new("relay.toml")).unwrap_or_else(|e| panic!("{e}"));
    let full_relay: RelaySettings = c.relay.unwrap();
    assert_eq!(full_relay.servers, vec![addr("2001:db8:0:1::1")]);
    assert_eq!(
        (
            full_relay.routes,
            full_relay.route_metric,
            full_relay.hop_count_limit
        ),
        (r.routes, r.route_metric, r.hop_count_limit)
    );
    let d = &full_relay.downstream[0];
    assert_eq!(d.link_address, Some(addr("2001:db8:a1::1")));
    assert_eq!(d.interface_id.as_deref(), Some(&b"lan0"[..]));
    assert_eq!(d.remote_id, Some((32473, b"cpe-0001".to_vec())));
    assert_eq!(d.subscriber_id.as_deref(), Some(&b"customer-0001"[..]));
}
