//! `[[ra]]` (static Router Advertisements): what is accepted, and errors
//! that each name FILE:LINE of the offending value.

use std::net::Ipv6Addr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use v6edge::config::{Config, StaticRaConfig};

/// Parses `text` as `ra.toml` and returns the error message.
fn error(text: &str) -> String {
    match Config::parse(text, Path::new("ra.toml")) {
        Ok(c) => panic!("accepted: {c:?}"),
        Err(e) => e.to_string(),
    }
}

fn static_ras(text: &str) -> Vec<StaticRaConfig> {
    match Config::parse(text, Path::new("ra.toml")) {
        Ok(c) => c.static_ras,
        Err(e) => panic!("{e}"),
    }
}

/// Lines 1-2: `[[ra]]` on lan0; `extra` from line 3.
fn with(extra: &str) -> String {
    format!("[[ra]]\ninterface = \"lan0\"\n{extra}\n")
}

fn addr(s: &str) -> Ipv6Addr {
    s.parse().expect("test address")
}

#[test]
fn ra_alone_is_something_to_run_with_radvd_defaults() {
    let ras = static_ras(&with("prefixes = [\"2001:db8:77::/64\"]"));
    assert_eq!(ras.len(), 1);
    let ra = &ras[0];
    assert_eq!(ra.interface.as_str(), "lan0");
    assert_eq!(ra.prefixes.len(), 1);
    let p = &ra.prefixes[0];
    assert_eq!(p.prefix.to_string(), "2001:db8:77::/64");
    assert!(p.on_link && p.autonomous);
    // RFC 4861 §6.2.1 AdvValidLifetime / AdvPreferredLifetime defaults.
    assert_eq!(
        (p.valid, p.preferred),
        (Duration::from_secs(86400), Duration::from_secs(14400))
    );
    // [lan.ra] defaults, and no RDNSS/DNSSL unless configured.
    assert_eq!(ra.ra.max_interval, Duration::from_secs(600));
    assert_eq!(ra.ra.router_lifetime, Duration::from_secs(1800));
    assert_eq!(
        (ra.ra.dns_servers.as_ref(), ra.ra.dns_domains.as_ref()),
        (None, None)
    );
}

#[test]
fn inline_tables_and_knobs() {
    let ras = static_ras(&with(
        "prefixes = [\"2001:db8:1::/64\", { prefix = \"2001:db8:2::/48\", autonomous = false, valid-lifetime = 600, preferred-lifetime = 300 }]\n\
         dns-servers = [\"2001:db8::53\"]\ndns-domains = [\"example.com.\"]\n\
         max-interval = 30\nmin-interval = 10\nrouter-lifetime = 0\nmtu = 1400\nmanaged = true\nother-config = true\npreference = \"high\"",
    ));
    let ra = &ras[0];
    let p = &ra.prefixes[1];
    assert_eq!(p.prefix.to_string(), "2001:db8:2::/48");
    assert!(p.on_link && !p.autonomous);
    assert_eq!(
        (p.valid, p.preferred),
        (Duration::from_secs(600), Duration::from_secs(300))
    );
    assert_eq!(ra.ra.dns_servers, Some(vec![addr("2001:db8::53")]));
    assert_eq!(ra.ra.dns_domains, Some(vec!["example.com".to_owned()]));
    assert_eq!(ra.ra.min_interval, Duration::from_secs(10));
    assert_eq!(ra.ra.router_lifetime, Duration::ZERO);
    assert_eq!(ra.ra.mtu, Some(1400));
    assert!(ra.ra.managed && ra.ra.other_config);
    // A short valid lifetime brings the default preferred one down with it.
    let ras = static_ras(&with(
        "prefixes = [{ prefix = \"2001:db8:1::/64\", valid-lifetime = 600 }]",
    ));
    assert_eq!(ras[0].prefixes[0].preferred, Duration::from_secs(600));
}

#[test]
fn prefix_errors_name_their_line() {
    assert_eq!(
        error(&with("\nprefixes = [\"2001:db8:77::/56\"]")),
        "ra.toml:4: prefixes: 2001:db8:77::/56 is not a /64, which autonomous address configuration needs (RFC 4862 §5.5.3): use a /64 or set autonomous = false"
    );
    let e = error(&with("prefixes = [\"2001:db8:77::1/64\"]"));
    assert!(
        e.starts_with("ra.toml:3: prefixes: `2001:db8:77::1/64`: ") && e.contains("host bits"),
        "{e}"
    );
    let e = error(&with("prefixes = [\"2001:db8:77::\"]"));
    assert!(e.starts_with("ra.toml:3: prefixes: `2001:db8:77::`"), "{e}");
    assert_eq!(
        error(&with("prefixes = [\"fe80::/64\"]")),
        "ra.toml:3: prefixes: fe80::/64 cannot be advertised: give a global or ULA prefix"
    );
    assert_eq!(
        error(&with(
            "prefixes = [\n  \"2001:db8:1::/64\",\n  { prefix = \"2001:db8:2::/64\", valid-lifetime = 600, preferred-lifetime = 900 },\n]"
        )),
        "ra.toml:5: preferred-lifetime = 900 exceeds valid-lifetime = 600 (RFC 4861 §4.6.2)"
    );
    assert_eq!(
        error(&with(
            "prefixes = [{ prefix = \"2001:db8:2::/64\", valid-lifetime = 0 }]"
        )),
        "ra.toml:3: valid-lifetime = 0: must be between 1 and 4294967294"
    );
    assert_eq!(
        error(&with(
            "prefixes = [\"2001:db8:1::/64\",\n \"2001:db8:1::/64\"]"
        )),
        "ra.toml:4: prefixes lists 2001:db8:1::/64 twice (line 3)"
    );
    let e = error(&with(
        "prefixes = [{ prefix = \"2001:db8:1::/64\", onlink = true }]",
    ));
    assert!(e.starts_with("ra.toml:3: "), "{e}");
}

#[test]
fn knob_errors_are_those_of_lan_ra() {
    assert_eq!(
        error(&with("max-interval = 2")),
        "ra.toml:3: max-interval = 2: must be between 4 and 1800"
    );
    assert_eq!(
        error(&with("max-interval = 100\nrouter-lifetime = 50")),
        "ra.toml:4: router-lifetime = 50: must be 0 or at least max-interval (100) (RFC 4861 §6.2.1)"
    );
    assert_eq!(
        error(&with("dns-servers = [\"ff02::1\"]")),
        "ra.toml:3: dns-servers: `ff02::1` is not a unicast address"
    );
    let e = error(&with("route-info = true"));
    assert!(
        e.starts_with("ra.toml:3: unknown field `route-info`"),
        "{e}"
    );
}

#[test]
fn interface_conflicts() {
    assert_eq!(
        error("[[ra]]\ninterface = \"lan0\"\n[[ra]]\ninterface = \"lan0\"\n"),
        "ra.toml:4: [[ra]] interface `lan0` is configured twice (line 2)"
    );
    assert_eq!(
        error("[uplink]\ninterface = \"wan0\"\n[[ra]]\ninterface = \"wan0\"\n"),
        "ra.toml:4: [[ra]] interface `wan0` is the uplink interface: RAs go to hosts, not to the ISP"
    );
    // On a [[lan]], an [[ra]] only adds prefixes and DNS options to the
    // LAN's RAs: how the link is advertised is the LAN's [lan.ra].
    let on_lan = "[uplink]\ninterface = \"wan0\"\n[[lan]]\ninterface = \"lan0\"\n[[ra]]\ninterface = \"lan0\"\n";
    assert_eq!(
        error(&format!("{on_lan}max-interval = 30\n")),
        "ra.toml:7: [[ra]] on `lan0` adds prefixes and DNS options to the RAs of the [[lan]] at line 4; `max-interval` is how that LAN advertises: set it in its [lan.ra]"
    );
    assert_eq!(
        error(&format!("{on_lan}managed = true\n")),
        "ra.toml:6: [[ra]] on `lan0` adds prefixes and DNS options to the RAs of the [[lan]] at line 4; `managed` is how that LAN advertises: set it in its [lan.ra]"
    );
    assert_eq!(
        error(
            "[uplink]\ninterface = \"wan0\"\n[[lan]]\ninterface = \"lan0\"\nadvertise = false\n[[ra]]\ninterface = \"lan0\"\n"
        ),
        "ra.toml:7: [[ra]] on `lan0` adds to the RAs of the [[lan]] at line 4, which does not advertise (advertise = false)"
    );
    let c = Config::parse(
        &format!("{on_lan}prefixes = [\"2001:db8:77::/64\"]\ndns-servers = [\"2001:db8::53\"]\n"),
        Path::new("ra.toml"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(c.static_ras[0].on_lan);
    let e = error("[[ra]]\nprefixes = []\n");
    assert!(e.contains("missing field `interface`"), "{e}");
    // Beside a LAN of the requesting router, on another interface: fine.
    let c = Config::parse(
        "[uplink]\ninterface = \"wan0\"\n[[lan]]\ninterface = \"lan0\"\n[[ra]]\ninterface = \"lan1\"\nprefixes = [\"fd00:1::/64\"]\n",
        Path::new("ra.toml"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((c.lans.len(), c.static_ras.len()), (1, 1));
    assert!(!c.static_ras[0].on_lan);
}

/// The contract: examples/ra.toml advertises 2001:db8:77::/64 (on-link,
/// autonomous) and RDNSS 2001:db8::53 on lan0, nothing else configured.
#[test]
fn ra_example_matches_contract() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/ra.toml");
    let c = Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert!(c.uplink.is_none() && c.lans.is_empty() && c.server.is_none() && c.relay.is_none());
    assert_eq!(c.static_ras.len(), 1);
    let ra = &c.static_ras[0];
    assert_eq!(ra.interface.as_str(), "lan0");
    assert_eq!(ra.prefixes.len(), 1);
    assert_eq!(ra.prefixes[0].prefix.to_string(), "2001:db8:77::/64");
    assert!(ra.prefixes[0].on_link && ra.prefixes[0].autonomous);
    assert_eq!(ra.ra.dns_servers, Some(vec![addr("2001:db8::53")]));
    assert_eq!(ra.ra.dns_domains, None);
}
