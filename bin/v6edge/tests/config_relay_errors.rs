//! `[relay]` errors: each names FILE:LINE of the offending value.

use std::net::Ipv6Addr;
use std::path::Path;

use v6edge::config::{Config, RelaySettings};

/// Parses `text` as `relay.toml` and returns the error message.
fn error(text: &str) -> String {
    match Config::parse(text, Path::new("relay.toml")) {
        Ok(c) => panic!("accepted: {c:?}"),
        Err(e) => e.to_string(),
    }
}

fn accepted(text: &str) -> Config {
    match Config::parse(text, Path::new("relay.toml")) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    }
}

fn relay(text: &str) -> RelaySettings {
    accepted(text).relay.expect("a [relay]")
}

fn addr(s: &str) -> Ipv6Addr {
    s.parse().expect("test address")
}

/// Lines 1-2: `[relay]` on wan0 with `extra` on line 3 onwards, then one
/// downstream on lan0 whose `interface` line comes right after its header.
fn with(extra: &str) -> String {
    format!("[relay]\nupstream = \"wan0\"\n{extra}\n[[relay.downstream]]\ninterface = \"lan0\"\n")
}

/// Lines 1-4: `[relay]` on wan0 with one downstream on lan0; further keys of
/// that downstream go on line 5 onwards.
const RELAY: &str = "[relay]\nupstream = \"wan0\"\n[[relay.downstream]]\ninterface = \"lan0\"\n";

#[test]
fn defaults() {
    let r = relay(RELAY);
    assert_eq!(r.upstream.as_str(), "wan0");
    assert!(r.servers.is_empty());
    assert!(r.routes);
    assert_eq!((r.route_metric, r.hop_count_limit), (1024, 8));
    assert_eq!(r.downstream.len(), 1);
    let d = &r.downstream[0];
    assert_eq!(d.interface.as_str(), "lan0");
    assert_eq!((d.link_address, d.interface_id.as_ref()), (None, None));
    assert!(d.always_interface_id);
    assert_eq!(
        (d.remote_id.as_ref(), d.subscriber_id.as_ref()),
        (None, None)
    );
    assert_eq!(d.effective_interface_id(), b"lan0");
}

#[test]
fn unknown_and_missing_keys() {
    let e = error(&with("server = [\"2001:db8::1\"]"));
    assert!(
        e.starts_with(
            "relay.toml:3: unknown field `server`, expected one of `upstream`, `servers`"
        ),
        "{e}"
    );
    let e = error(&format!("{RELAY}interface_id = \"x\"\n"));
    assert!(
        e.starts_with("relay.toml:5: unknown field `interface_id`"),
        "{e}"
    );
    let e = error(&format!(
        "{RELAY}remote-id = {{ enterprise = 1, value = \"x\" }}\n"
    ));
    assert!(e.starts_with("relay.toml:5: unknown field `value`"), "{e}");
    let e = error("[relay]\n[[relay.downstream]]\ninterface = \"lan0\"\n");
    assert!(
        e.starts_with("relay.toml:1: missing field `upstream`"),
        "{e}"
    );
    let e = error(
        "[relay]\nupstream = \"wan0\"\n[[relay.downstream]]\nlink-address = \"2001:db8::1\"\n",
    );
    assert!(
        e.starts_with("relay.toml:3: missing field `interface`"),
        "{e}"
    );
}

#[test]
fn relay_alone_is_something_to_run_but_needs_a_downstream() {
    let c = accepted(RELAY);
    assert!(c.uplink.is_none() && c.server.is_none() && c.lans.is_empty());
    assert_eq!(
        error("[daemon]\n\n[relay]\nupstream = \"wan0\"\n"),
        "relay.toml:3: [relay] relays nothing: add a [[relay.downstream]] with the client-facing interface"
    );
    assert_eq!(
        error("[daemon]\n"),
        "relay.toml:1: nothing to run: configure [uplink] (requesting router), [server] (delegating server), [relay] (relay agent) or [[ra]] (Router Advertisements of configured prefixes)"
    );
}

#[test]
fn downstream_interfaces() {
    assert_eq!(
        error(&format!(
            "{RELAY}[[relay.downstream]]\ninterface = \"lan0\"\n"
        )),
        "relay.toml:6: [[relay.downstream]] interface `lan0` is already a downstream (line 4)"
    );
    assert_eq!(
        error("[relay]\nupstream = \"wan0\"\n[[relay.downstream]]\ninterface = \"wan0\"\n"),
        "relay.toml:4: relay downstream `wan0` is also the upstream interface: a relay forwards from one link to another"
    );
    assert_eq!(
        error("[relay]\nupstream = \"wan/0\"\n[[relay.downstream]]\ninterface = \"lan0\"\n"),
        "relay.toml:2: upstream: interface name `wan/0` contains '/'"
    );
    assert_eq!(
        error(&with("[[relay.downstream]]\ninterface = \"\"")),
        "relay.toml:4: interface: interface name is empty"
    );
    // Several downstreams, in file order.
    let r = relay(&format!(
        "{RELAY}[[relay.downstream]]\ninterface = \"lan1\"\n"
    ));
    let names: Vec<&str> = r.downstream.iter().map(|d| d.interface.as_str()).collect();
    assert_eq!(names, ["lan0", "lan1"]);
}

#[test]
fn relay_with_uplink_and_lan() {
    let uplink = "[uplink]\ninterface = \"wan0\"\n[[lan]]\ninterface = \"lan0\"\n";
    // A CPE relaying its LAN's requests up through its uplink: allowed, and
    // the downstream may be a [[lan]] interface.
    let c = accepted(&format!("{uplink}{RELAY}"));
    assert_eq!(c.lans[0].interface.as_str(), "lan0");
    let r = c.relay.unwrap();
    assert_eq!(r.upstream.as_str(), "wan0");
    assert_eq!(r.downstream[0].interface.as_str(), "lan0");
    // But the uplink's own link is not a downstream.
    assert_eq!(
        error(&format!(
            "{uplink}[relay]\nupstream = \"lan1\"\n[[relay.downstream]]\ninterface = \"wan0\"\n"
        )),
        "relay.toml:8: relay downstream `wan0` is the uplink interface: the router is a client there, not the relay of its clients"
    );
}

#[test]
fn relay_and_server_exclude_each_other() {
    let server = "[server]\n[[server.link]]\ninterface = \"isp0\"\n";
    assert_eq!(
        error(&format!("{server}{RELAY}")),
        "relay.toml:4: [relay] and [server] cannot be combined ([server] at line 1): a node is either the server or a relay for a link: both need UDP 547"
    );
    assert_eq!(
        error(&format!("{RELAY}{server}")),
        "relay.toml:5: [relay] and [server] cannot be combined ([relay] at line 1): a node is either the server or a relay for a link: both need UDP 547"
    );
}

#[test]
fn servers() {
    assert_eq!(
        error(&with("servers = [\"ff02::1:2\"]")),
        "relay.toml:3: servers: `ff02::1:2` is multicast: give unicast addresses, or ff05::1:3 (All_DHCP_Servers)"
    );
    assert_eq!(
        error(&with("servers = [\"::\"]")),
        "relay.toml:3: servers: `::` is not a server address"
    );
    assert_eq!(
        error(&with("servers = [\"::1\"]")),
        "relay.toml:3: servers: `::1` is not a server address"
    );
    assert_eq!(
        error(&with("servers = [\"dhcp.example\"]")),
        "relay.toml:3: servers: `dhcp.example` is not an IPv6 address"
    );
    assert_eq!(
        error(&with(
            "servers = [\"2001:db8:0:1::1\",\n  \"2001:db8:0:1::1\"]"
        )),
        "relay.toml:4: servers lists `2001:db8:0:1::1` twice (line 3)"
    );
    assert_eq!(
        error(&with("servers = [\"2001:db8:0:1::1\",\n  \"ff05::1:3\"]")),
        "relay.toml:4: servers: ff05::1:3 already reaches every server on the upstream link: list either it alone or unicast addresses"
    );
    // ff05::1:3 alone is the default; a link-local server is reached on the
    // upstream interface.
    assert!(relay(&with("servers = [\"ff05::1:3\"]")).servers.is_empty());
    assert!(relay(&with("servers = []")).servers.is_empty());
    assert_eq!(
        relay(&with("servers = [\"2001:db8:0:1::1\", \"fe80::1\"]")).servers,
        vec![addr("2001:db8:0:1::1"), addr("fe80::1")]
    );
}

#[test]
fn hop_count_limit_and_routes() {
    assert_eq!(
        error(&with("hop-count-limit = 0")),
        "relay.toml:3: hop-count-limit = 0: must be between 1 and 32"
    );
    assert_eq!(
        error(&with("hop-count-limit = 33")),
        "relay.toml:3: hop-count-limit = 33: must be between 1 and 32"
    );
    assert_eq!(relay(&with("hop-count-limit = 1")).hop_count_limit, 1);
    assert_eq!(relay(&with("hop-count-limit = 32")).hop_count_limit, 32);
    assert_eq!(
        error(&with("routes = false\nroute-metric = 10")),
        "relay.toml:4: route-metric is given but routes = false"
    );
    assert_eq!(
        error(&with("route-metric = 4294967296")),
        "relay.toml:3: route-metric = 4294967296: must be between 0 and 4294967295"
    );
    let r = relay(&with("routes = false"));
    assert!(!r.routes);
    assert_eq!(relay(&with("route-metric = 0")).route_metric, 0);
}

#[test]
fn link_address() {
    let la = |a: &str| format!("{RELAY}link-address = \"{a}\"\n");
    assert_eq!(
        error(&la("fe80::1")),
        "relay.toml:5: link-address: fe80::1 is link-local: the server cannot tell links apart by it (give a global address of the downstream link)"
    );
    assert_eq!(
        error(&la("ff02::1")),
        "relay.toml:5: link-address: ff02::1 is multicast (give a global address of the downstream link)"
    );
    assert_eq!(
        error(&la("::")),
        "relay.toml:5: link-address: :: is unspecified: leave link-address out to send :: with an Interface-ID (give a global address of the downstream link)"
    );
    assert_eq!(
        error(&la("2001:db8:a1::/64")),
        "relay.toml:5: link-address: `2001:db8:a1::/64` is not an IPv6 address"
    );
    assert_eq!(
        relay(&la("2001:db8:a1::1")).downstream[0].link_address,
        Some(addr("2001:db8:a1::1"))
    );
    // A ULA is globally scoped too (RFC 8415 §9).
    assert_eq!(
        relay(&la("fd00:a1::1")).downstream[0].link_address,
        Some(addr("fd00:a1::1"))
    );
    // Two downstreams cannot share one: replies are matched by it.
    assert_eq!(
        error(&format!(
            "{}[[relay.downstream]]\ninterface = \"lan1\"\nlink-address = \"2001:db8:a1::1\"\n",
            la("2001:db8:a1::1")
        )),
        "relay.toml:8: link-address 2001:db8:a1::1 is already the link-address of `lan0` (line 5)"
    );
}

#[test]
fn interface_id() {
    let id = |v: &str| format!("{RELAY}interface-id = \"{v}\"\n");
    assert_eq!(error(&id("")), "relay.toml:5: interface-id is empty");
    assert_eq!(
        error(&id("hex:")),
        "relay.toml:5: interface-id `hex:`: empty (after `hex:` write hex octets, e.g. hex:00:01:ab or hex:0001ab)"
    );
    assert_eq!(
        error(&id("hex:0g")),
        "relay.toml:5: interface-id `hex:0g`: 'g' is not a hex digit (after `hex:` write hex octets, e.g. hex:00:01:ab or hex:0001ab)"
    );
    let long = "x".repeat(256);
    assert_eq!(
        error(&id(&long)),
        "relay.toml:5: interface-id: 256 bytes: must be 1 to 255 bytes"
    );
    let long_hex = format!("hex:{}", "ab".repeat(256));
    assert_eq!(
        error(&id(&long_hex)),
        "relay.toml:5: interface-id: 256 bytes: must be 1 to 255 bytes"
    );
    let max = "x".repeat(255);
    assert_eq!(
        relay(&id(&max)).downstream[0].interface_id.as_deref(),
        Some(max.as_bytes())
    );
    // Text is taken as its UTF-8 bytes, `hex:` as octets.
    let d = &relay(&id("port 1/0/3")).downstream[0];
    assert_eq!(d.effective_interface_id(), b"port 1/0/3");
    let d = &relay(&id("hex:00:01:ab")).downstream[0];
    assert_eq!(d.interface_id.as_deref(), Some(&[0, 1, 0xab][..]));
    let d = &relay(&id("hex:0001ab")).downstream[0];
    assert_eq!(d.interface_id.as_deref(), Some(&[0, 1, 0xab][..]));
    // No two downstreams may send the same Interface-ID, explicit or default.
    assert_eq!(
        error(&format!(
            "{RELAY}[[relay.downstream]]\ninterface = \"lan1\"\ninterface-id = \"lan0\"\n"
        )),
        "relay.toml:7: interface-id of `lan1` is the same as that of `lan0` (line 4): replies could not be told apart"
    );
    assert_eq!(
        error(&format!(
            "{}[[relay.downstream]]\ninterface = \"lan1\"\ninterface-id = \"hex:6c616e31\"\n",
            id("lan1")
        )),
        "relay.toml:8: interface-id of `lan1` is the same as that of `lan0` (line 5): replies could not be told apart"
    );
    let r = relay(&format!(
        "{RELAY}always-interface-id = false\n[[relay.downstream]]\ninterface = \"lan1\"\n"
    ));
    assert!(!r.downstream[0].always_interface_id);
    assert!(r.downstream[1].always_interface_id);
}

#[test]
fn remote_id_and_subscriber_id() {
    let rid =
        |e: &str, id: &str| format!("{RELAY}remote-id = {{ enterprise = {e}, id = \"{id}\" }}\n");
    assert_eq!(
        error(&rid("-1", "x")),
        "relay.toml:5: remote-id enterprise = -1: must be between 0 and 4294967295"
    );
    assert_eq!(
        error(&rid("4294967296", "x")),
        "relay.toml:5: remote-id enterprise = 4294967296: must be between 0 and 4294967295"
    );
    assert_eq!(
        error(&rid("32473", "")),
        "relay.toml:5: remote-id id is empty"
    );
    assert_eq!(
        relay(&rid("4294967295", "hex:02:00:00:00:00:01")).downstream[0].remote_id,
        Some((u32::MAX, vec![2, 0, 0, 0, 0, 1]))
    );
    assert_eq!(
        relay(&rid("32473", "cpe-1")).downstream[0].remote_id,
        Some((32473, b"cpe-1".to_vec()))
    );
    let e = error(&format!("{RELAY}remote-id = {{ id = \"x\" }}\n"));
    assert!(
        e.starts_with("relay.toml:5: missing field `enterprise`"),
        "{e}"
    );

    // RFC 4580 §2: at least one octet.
    assert_eq!(
        error(&format!("{RELAY}subscriber-id = \"\"\n")),
        "relay.toml:5: subscriber-id is empty"
    );
    assert_eq!(
        relay(&format!("{RELAY}subscriber-id = \"customer-1\"\n")).downstream[0].subscriber_id,
        Some(b"customer-1".to_vec())
    );
}
