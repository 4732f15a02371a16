//! `[server]` errors: each names FILE:LINE of the offending value.

use std::path::Path;

use v6edge::config::Config;

/// Parses `text` as `isp.toml` and returns the error message.
fn error(text: &str) -> String {
    match Config::parse(text, Path::new("isp.toml")) {
        Ok(c) => panic!("accepted: {c:?}"),
        Err(e) => e.to_string(),
    }
}

fn accepted(text: &str) -> Config {
    match Config::parse(text, Path::new("isp.toml")) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    }
}

/// Lines 1-2: a [server] with one direct link on isp0.
const LINK: &str = "[server]\n[[server.link]]\ninterface = \"isp0\"\n";

/// A prefix pool table with the given prefix and delegated length.
fn pd(prefix: &str, len: i64) -> String {
    format!("[[server.link.prefix-pool]]\nprefix = \"{prefix}\"\ndelegated-length = {len}\n")
}

/// An address pool table with the given range.
fn na(range: &str) -> String {
    format!("[[server.link.address-pool]]\nrange = \"{range}\"\n")
}

#[test]
fn unknown_keys_are_rejected_everywhere() {
    let e = error("[server]\nrapid_commit = true\n");
    assert!(
        e.starts_with("isp.toml:2: unknown field `rapid_commit`, expected one of `interfaces`"),
        "{e}"
    );
    let e = error(&format!(
        "{LINK}[[server.link.prefix-pool]]\nprefix = \"2001:db8::/40\"\ndelegated-length = 56\nlength = 56\n"
    ));
    assert!(e.starts_with("isp.toml:7: unknown field `length`"), "{e}");
    let e = error(&format!(
        "{LINK}[[server.reservation]]\nmac = \"02:00:00:00:00:01\"\n"
    ));
    assert!(e.starts_with("isp.toml:5: unknown field `mac`"), "{e}");
    let e = error(&format!(
        "{LINK}[[server.link.prefix-pool]]\nprefix = \"2001:db8::/40\"\n"
    ));
    assert_eq!(
        e,
        "isp.toml:4: [[server.link.prefix-pool]] with `prefix` needs `delegated-length`"
    );
}

/// Lines 1-6: an uplink, a LAN, and a [server] link on that LAN.
const CPE_LINK: &str = "[uplink]\ninterface = \"wan0\"\n[[lan]]\ninterface = \"lan0\"\n[server]\n[[server.link]]\ninterface = \"lan0\"\n";

#[test]
fn from_uplink_pool_errors() {
    // Both sources: the later of the two keys is named.
    assert_eq!(
        error(&format!(
            "{CPE_LINK}[[server.link.prefix-pool]]\nfrom-uplink = true\nprefix = \"2001:db8:100::/40\"\ndelegated-length = 56\n"
        )),
        "isp.toml:10: [[server.link.prefix-pool]] has both `prefix` and `from-uplink = true`: give exactly one"
    );
    assert_eq!(
        error(&format!(
            "{CPE_LINK}[[server.link.prefix-pool]]\nprefix = \"2001:db8:100::/40\"\nfrom-uplink = true\n"
        )),
        "isp.toml:10: [[server.link.prefix-pool]] has both `prefix` and `from-uplink = true`: give exactly one"
    );
    // Neither (`from-uplink = false` counts as absent).
    assert_eq!(
        error(&format!(
            "{CPE_LINK}[[server.link.prefix-pool]]\ndelegated-length = 60\n"
        )),
        "isp.toml:8: [[server.link.prefix-pool]] needs `prefix` or `from-uplink = true`"
    );
    assert_eq!(
        error(&format!(
            "{CPE_LINK}[[server.link.prefix-pool]]\nfrom-uplink = false\n"
        )),
        "isp.toml:8: [[server.link.prefix-pool]] needs `prefix` or `from-uplink = true`"
    );
    // No [uplink] to take the prefix from.
    assert_eq!(
        error(&format!(
            "{LINK}[[server.link.prefix-pool]]\nfrom-uplink = true\n"
        )),
        "isp.toml:5: from-uplink needs an [uplink] to take the prefix from"
    );
    // delegated-length bounds for from-uplink: 48..=64, both ends legal.
    for len in [47, 65, 128] {
        assert_eq!(
            error(&format!(
                "{CPE_LINK}[[server.link.prefix-pool]]\nfrom-uplink = true\ndelegated-length = {len}\n"
            )),
            format!(
                "isp.toml:10: delegated-length = {len}: must be between 48 and 64 for a from-uplink pool"
            )
        );
    }
    let c = accepted(&format!(
        "{CPE_LINK}[[server.link.prefix-pool]]\nfrom-uplink = true\ndelegated-length = 48\n\
         [[server.link.prefix-pool]]\nfrom-uplink = true\ndelegated-length = 64\n"
    ));
    let pools = &c.server.unwrap().links[0].prefix_pools;
    assert_eq!((pools[0].delegated_len, pools[1].delegated_len), (48, 64));
}

#[test]
fn from_uplink_pools_skip_overlap_and_reservation_checks() {
    // A from-uplink pool has no space at check time: it overlaps nothing,
    // and a fixed pool beside it is still checked on its own.
    let text = format!(
        "{CPE_LINK}[[server.link.prefix-pool]]\nfrom-uplink = true\n{}",
        pd("2001:db8:100::/40", 56)
    );
    accepted(&text);
    // A reservation cannot lie in a from-uplink pool (lines 8-9 the pool,
    // 10-12 the reservation).
    assert_eq!(
        error(&format!(
            "{CPE_LINK}[[server.link.prefix-pool]]\nfrom-uplink = true\n[[server.reservation]]\nduid = \"00:01\"\nprefix = \"2001:db8:1ff:ff00::/60\"\n"
        )),
        "isp.toml:12: prefix 2001:db8:1ff:ff00::/60 is in no prefix-pool: a reserved prefix must be one of a pool's delegated prefixes (its lifetimes and link come from it)"
    );
    // ... but still lies in a fixed pool beside one.
    accepted(&format!(
        "{text}[[server.reservation]]\nduid = \"00:01\"\nprefix = \"2001:db8:1ff:ff00::/56\"\n"
    ));
}

#[test]
fn server_alone_is_something_to_run_but_must_serve() {
    let c = accepted(LINK);
    assert!(c.uplink.is_none() && c.lans.is_empty());
    assert_eq!(
        error("[daemon]\n\n[server]\npreference = 1\n"),
        "isp.toml:3: [server] serves nothing: add a [[server.link]] (or list interfaces for information-only service)"
    );
    // Information-only service on an interface needs no link.
    let c = accepted("[server]\ninterfaces = [\"isp0\"]\n");
    assert_eq!(c.server.unwrap().interfaces[0].as_str(), "isp0");
}

#[test]
fn prefix_with_host_bits() {
    assert_eq!(
        error(&format!("{LINK}{}", pd("2001:db8:100::1/40", 56))),
        "isp.toml:5: prefix: 2001:db8:100::1/40 has host bits set (did you mean 2001:db8:100::/40?)"
    );
    assert_eq!(
        error("[server]\n[[server.link]]\nrelay-link = \"2001:db8:a1::1/64\"\n"),
        "isp.toml:3: relay-link: 2001:db8:a1::1/64 has host bits set (did you mean 2001:db8:a1::/64?)"
    );
    assert_eq!(
        error(&format!("{LINK}{}", pd("2001:db8:100::", 56))),
        "isp.toml:5: prefix: `2001:db8:100::` is not of the form ADDRESS/LENGTH"
    );
}

#[test]
fn delegated_length_bounds() {
    assert_eq!(
        error(&format!("{LINK}{}", pd("2001:db8:100::/40", 32))),
        "isp.toml:6: delegated-length = 32: must be between 40 (the length of 2001:db8:100::/40) and 128"
    );
    assert_eq!(
        error(&format!("{LINK}{}", pd("2001:db8:100::/40", 129))),
        "isp.toml:6: delegated-length = 129: must be between 40 (the length of 2001:db8:100::/40) and 128"
    );
    // The pool's own length and 128 are both legal.
    let c = accepted(&format!(
        "{LINK}{}{}",
        pd("2001:db8:100::/40", 40),
        pd("2001:db8:200::/64", 128)
    ));
    let pools = &c.server.unwrap().links[0].prefix_pools;
    assert_eq!((pools[0].delegated_len, pools[1].delegated_len), (40, 128));
}

#[test]
fn overlapping_prefix_pools_across_links() {
    let text = format!(
        "{LINK}{}[[server.link]]\nrelay-link = \"2001:db8:a1::/64\"\n{}",
        pd("2001:db8:100::/40", 56),
        pd("2001:db8:1ff::/48", 60)
    );
    assert_eq!(
        error(&text),
        "isp.toml:10: prefix-pool 2001:db8:1ff::/48 overlaps prefix-pool 2001:db8:100::/40 (line 5)"
    );
    // Identical pools on one link, too.
    let text = format!(
        "{LINK}{}{}",
        pd("2001:db8:100::/40", 56),
        pd("2001:db8:100::/40", 48)
    );
    assert_eq!(
        error(&text),
        "isp.toml:8: prefix-pool 2001:db8:100::/40 overlaps prefix-pool 2001:db8:100::/40 (line 5)"
    );
    // Neighbours do not overlap.
    accepted(&format!(
        "{LINK}{}{}",
        pd("2001:db8:100::/40", 56),
        pd("2001:db8:200::/40", 56)
    ));
}

#[test]
fn overlapping_address_ranges() {
    let text = format!(
        "{LINK}{}{}",
        na("2001:db8:0:1::100-2001:db8:0:1::1ff"),
        na("2001:db8:0:1::1ff-2001:db8:0:1::2ff")
    );
    assert_eq!(
        error(&text),
        "isp.toml:7: address-pool 2001:db8:0:1::1ff-2001:db8:0:1::2ff overlaps address-pool 2001:db8:0:1::100-2001:db8:0:1::1ff (line 5)"
    );
    // The prefix form overlaps a range inside it, on another link.
    let text = format!(
        "{}[[server.link]]\ninterface = \"isp1\"\n[[server.link.address-pool]]\nprefix = \"2001:db8:0:1::/64\"\n",
        format_args!("{LINK}{}", na("2001:db8:0:1::100-2001:db8:0:1::1ff"))
    );
    assert_eq!(
        error(&text),
        "isp.toml:9: address-pool 2001:db8:0:1::/64 overlaps address-pool 2001:db8:0:1::100-2001:db8:0:1::1ff (line 5)"
    );
    // Adjacent ranges are fine.
    accepted(&format!(
        "{LINK}{}{}",
        na("2001:db8:0:1::100-2001:db8:0:1::1ff"),
        na("2001:db8:0:1::200-2001:db8:0:1::2ff")
    ));
}

#[test]
fn address_range_inside_a_prefix_pool() {
    // Delegating a prefix routes it to one client: no one else may get an
    // address in it.
    let text = format!(
        "{LINK}{}{}",
        pd("2001:db8:100::/40", 56),
        na("2001:db8:100::1-2001:db8:100::ff")
    );
    assert_eq!(
        error(&text),
        "isp.toml:8: address-pool 2001:db8:100::1-2001:db8:100::ff overlaps prefix-pool 2001:db8:100::/40 (line 5)"
    );
}

#[test]
fn address_range_syntax() {
    assert_eq!(
        error(&format!(
            "{LINK}{}",
            na("2001:db8:0:1::2ff-2001:db8:0:1::100")
        )),
        "isp.toml:5: range `2001:db8:0:1::2ff-2001:db8:0:1::100`: start is after end"
    );
    assert_eq!(
        error(&format!("{LINK}{}", na("2001:db8:0:1::100"))),
        "isp.toml:5: range `2001:db8:0:1::100`: not of the form START-END"
    );
    assert_eq!(
        error(&format!("{LINK}{}", na("2001:db8:0:1::100-nope"))),
        "isp.toml:5: range `2001:db8:0:1::100-nope`: `nope` is not an IPv6 address"
    );
    assert_eq!(
        error(&format!("{LINK}{}", na("fe80::1-fe80::ff"))),
        "isp.toml:5: range `fe80::1-fe80::ff`: includes link-local addresses (fe80::/10)"
    );
    assert_eq!(
        error(&format!("{LINK}{}", pd("ff00::/8", 16))),
        "isp.toml:5: prefix: ff00::/8 includes multicast addresses (ff00::/8)"
    );
    // Any range is allowed, even across /64s; spaces around `-` are fine.
    let c = accepted(&format!(
        "{LINK}{}",
        na("2001:db8:0:1::5 - 2001:db8:0:2::5")
    ));
    let pool = &c.server.unwrap().links[0].address_pools[0];
    assert_eq!(
        pool.start,
        "2001:db8:0:1::5".parse::<std::net::Ipv6Addr>().unwrap()
    );
    assert_eq!(
        pool.end,
        "2001:db8:0:2::5".parse::<std::net::Ipv6Addr>().unwrap()
    );
}

#[test]
fn address_pool_needs_exactly_one_form() {
    assert_eq!(
        error(&format!(
            "{LINK}[[server.link.address-pool]]\nvalid-lifetime = 600\n"
        )),
        "isp.toml:4: [[server.link.address-pool]] needs `range` or `prefix`"
    );
    assert_eq!(
        error(&format!(
            "{LINK}[[server.link.address-pool]]\nrange = \"2001:db8::1-2001:db8::2\"\nprefix = \"2001:db8::/64\"\n"
        )),
        "isp.toml:6: [[server.link.address-pool]] has both `range` and `prefix`: give exactly one"
    );
    assert_eq!(
        error(&format!(
            "{LINK}[[server.link.address-pool]]\nprefix = \"2001:db8::5/128\"\n"
        )),
        "isp.toml:5: prefix: 2001:db8::5/128 holds only its Subnet-Router anycast address (RFC 4291 §2.6.1): use range"
    );
}

#[test]
fn lifetimes() {
    let pool = format!("{LINK}{}", pd("2001:db8:100::/40", 56));
    assert_eq!(
        error(&format!(
            "{pool}preferred-lifetime = 7201\nvalid-lifetime = 7200\n"
        )),
        "isp.toml:7: preferred-lifetime = 7201: must not exceed valid-lifetime (7200)"
    );
    assert_eq!(
        error(&format!("{pool}valid-lifetime = 0\n")),
        "isp.toml:7: valid-lifetime = 0: must be between 1 and 4294967294"
    );
    assert_eq!(
        error(&format!("{pool}preferred-lifetime = 0\n")),
        "isp.toml:7: preferred-lifetime = 0: must be between 1 and 4294967294"
    );
    // 0xffffffff would mean infinity (RFC 8415 §7.7).
    assert_eq!(
        error(&format!("{pool}valid-lifetime = 4294967295\n")),
        "isp.toml:7: valid-lifetime = 4294967295: must be between 1 and 4294967294"
    );
    let na_pool = format!("{LINK}{}", na("2001:db8:0:1::100-2001:db8:0:1::1ff"));
    assert_eq!(
        error(&format!(
            "{na_pool}preferred-lifetime = 3601\nvalid-lifetime = 3600\n"
        )),
        "isp.toml:6: preferred-lifetime = 3601: must not exceed valid-lifetime (3600)"
    );
}

#[test]
fn link_selector_errors() {
    assert_eq!(
        error(
            "[server]\n[[server.link]]\n[[server.link.address-pool]]\nrange = \"2001:db8::1-2001:db8::2\"\n"
        ),
        "isp.toml:2: [[server.link]] needs `interface` (direct clients) or `relay-link` (relayed clients)"
    );
    assert_eq!(
        error(&format!("{LINK}relay-link = \"2001:db8:a1::/64\"\n")),
        "isp.toml:4: [[server.link]] has both `interface` and `relay-link`: give exactly one"
    );
    assert_eq!(
        error(&format!("{LINK}\n[[server.link]]\ninterface = \"isp0\"\n")),
        "isp.toml:6: [[server.link]] interface `isp0` is already a link (line 3)"
    );
    let relay = "[server]\n[[server.link]]\nrelay-link = \"2001:db8:a1::/64\"\n";
    assert_eq!(
        error(&format!(
            "{relay}[[server.link]]\nrelay-link = \"2001:db8:a1::/64\"\n"
        )),
        "isp.toml:5: [[server.link]] relay-link 2001:db8:a1::/64 is already a link (line 3)"
    );
    assert_eq!(
        error(&format!(
            "{relay}[[server.link]]\nrelay-link = \"2001:db8:a0::/44\"\n"
        )),
        "isp.toml:5: [[server.link]] relay-link 2001:db8:a0::/44 overlaps relay-link 2001:db8:a1::/64 (line 3)"
    );
    assert_eq!(
        error("[server]\n[[server.link]]\ninterface = \"isp/0\"\n"),
        "isp.toml:3: interface: interface name `isp/0` contains '/'"
    );
}

#[test]
fn interfaces_list() {
    assert_eq!(
        error("[server]\ninterfaces = [\"isp1\"]\n[[server.link]]\ninterface = \"isp0\"\n"),
        "isp.toml:4: server link interface `isp0` is not in server.interfaces: its clients would never be heard"
    );
    assert_eq!(
        error("[server]\ninterfaces = [\"isp0\", \"isp0\"]\n"),
        "isp.toml:2: server.interfaces lists `isp0` twice"
    );
    // Default: every direct link's interface, in file order; relay links add none.
    let c = accepted(
        "[server]\n[[server.link]]\ninterface = \"isp1\"\n[[server.link]]\nrelay-link = \"2001:db8:a1::/64\"\n[[server.link]]\ninterface = \"isp0\"\n",
    );
    let names: Vec<_> = c
        .server
        .unwrap()
        .interfaces
        .iter()
        .map(|i| i.to_string())
        .collect();
    assert_eq!(names, ["isp1", "isp0"]);
}

#[test]
fn server_on_the_uplink_is_rejected_on_a_lan_is_allowed() {
    let uplink = "[uplink]\ninterface = \"wan0\"\n";
    assert_eq!(
        error(&format!(
            "{uplink}[server]\n[[server.link]]\ninterface = \"wan0\"\n"
        )),
        "isp.toml:5: server interface `wan0` is the uplink interface: the router requests prefixes there and cannot also serve them"
    );
    assert_eq!(
        error(&format!(
            "{uplink}[server]\ninterfaces = [\"lan0\",\n  \"wan0\"]\n"
        )),
        "isp.toml:5: server interface `wan0` is the uplink interface: the router requests prefixes there and cannot also serve them"
    );
    // Issue 4: sub-delegation to routers behind a LAN of this CPE.
    let c = accepted(&format!(
        "{uplink}[[lan]]\ninterface = \"lan0\"\n[server]\n[[server.link]]\ninterface = \"lan0\"\n{}",
        pd("2001:db8:100::/40", 60)
    ));
    assert_eq!(c.lans[0].interface.as_str(), "lan0");
    assert!(c.uplink.is_some());
    assert_eq!(c.server.unwrap().interfaces[0].as_str(), "lan0");
}

#[test]
fn reservation_errors() {
    let r = format!("{LINK}[[server.reservation]]\n");
    assert_eq!(
        error(&format!("{r}address = \"2001:db8:0:1::5\"\n")),
        "isp.toml:4: [[server.reservation]] needs `duid` and/or `hw-address` to know its client"
    );
    assert_eq!(
        error(&format!("{r}duid = \"00:01\"\n")),
        "isp.toml:4: [[server.reservation]] needs `address` and/or `prefix` to reserve"
    );
    assert_eq!(
        error(&format!(
            "{r}duid = \"01\"\naddress = \"2001:db8:0:1::5\"\n"
        )),
        "isp.toml:5: duid `01`: 1 bytes: must be 2 to 130 bytes (RFC 8415 §11.1)"
    );
    let long = "ab".repeat(131);
    assert_eq!(
        error(&format!(
            "{r}duid = \"{long}\"\naddress = \"2001:db8:0:1::5\"\n"
        )),
        format!("isp.toml:5: duid `{long}`: 131 bytes: must be 2 to 130 bytes (RFC 8415 §11.1)")
    );
    assert_eq!(
        error(&format!(
            "{r}duid = \"00:1:02\"\naddress = \"2001:db8:0:1::5\"\n"
        )),
        "isp.toml:5: duid `00:1:02`: `1` is not two hex digits (write hex octets, e.g. 00:01:ab or 0001ab)"
    );
    assert_eq!(
        error(&format!(
            "{r}duid = \"0001x2\"\naddress = \"2001:db8:0:1::5\"\n"
        )),
        "isp.toml:5: duid `0001x2`: 'x' is not a hex digit (write hex octets, e.g. 00:01:ab or 0001ab)"
    );
    assert_eq!(
        error(&format!(
            "{r}duid = \"00010\"\naddress = \"2001:db8:0:1::5\"\n"
        )),
        "isp.toml:5: duid `00010`: odd number of hex digits (write hex octets, e.g. 00:01:ab or 0001ab)"
    );
    assert_eq!(
        error(&format!(
            "{r}hw-address = \"\"\naddress = \"2001:db8:0:1::5\"\n"
        )),
        "isp.toml:5: hw-address ``: empty (write hex octets, e.g. 00:01:ab or 0001ab)"
    );
    assert_eq!(
        error(&format!("{r}duid = \"0001\"\naddress = \"ff02::1:2\"\n")),
        "isp.toml:6: address: ff02::1:2 is one of multicast addresses (ff00::/8)"
    );
    assert_eq!(
        error(&format!(
            "{r}duid = \"0001\"\nprefix = \"2001:db8:1ff:ff00::1/56\"\n"
        )),
        "isp.toml:6: prefix: 2001:db8:1ff:ff00::1/56 has host bits set (did you mean 2001:db8:1ff:ff00::/56?)"
    );
}

/// LINK with an address pool (lines 4-5) and a prefix pool (lines 6-8).
fn pools() -> String {
    format!(
        "{LINK}{}{}",
        na("2001:db8:0:1::100-2001:db8:0:1::1ff"),
        pd("2001:db8:100::/40", 56)
    )
}

#[test]
fn reservations_lie_in_pools() {
    let r = format!("{}[[server.reservation]]\nduid = \"00:01\"\n", pools());
    assert_eq!(
        error(&format!("{r}address = \"2001:db8:0:1::5\"\n")),
        "isp.toml:11: address 2001:db8:0:1::5 is in no address-pool: a reserved address must lie in a pool (its lifetimes and link come from it)"
    );
    assert_eq!(
        error(&format!("{r}prefix = \"2001:db8:200::/56\"\n")),
        "isp.toml:11: prefix 2001:db8:200::/56 is in no prefix-pool: a reserved prefix must be one of a pool's delegated prefixes (its lifetimes and link come from it)"
    );
    assert_eq!(
        error(&format!("{r}prefix = \"2001:db8:1ff:ff40::/60\"\n")),
        "isp.toml:11: prefix 2001:db8:1ff:ff40::/60 is a /60 but prefix-pool 2001:db8:100::/40 delegates /56s"
    );
    let c = accepted(&format!(
        "{r}address = \"2001:db8:0:1::1ff\"\nprefix = \"2001:db8:1ff:ff00::/56\"\n"
    ));
    let res = &c.server.unwrap().reservations[0];
    assert_eq!(res.duid.as_deref(), Some(&[0, 1][..]));
    assert_eq!(res.address, Some("2001:db8:0:1::1ff".parse().unwrap()));
}

#[test]
fn duplicate_reservations() {
    let first = format!(
        "{}[[server.reservation]]\nduid = \"00:01\"\naddress = \"2001:db8:0:1::105\"\nprefix = \"2001:db8:1ff:ff00::/56\"\n",
        pools()
    );
    // Lines 9-12 are the first reservation; the second starts at line 13.
    assert_eq!(
        error(&format!(
            "{first}[[server.reservation]]\nduid = \"00:02\"\naddress = \"2001:db8:0:1::105\"\n"
        )),
        "isp.toml:15: address 2001:db8:0:1::105 is already reserved (line 11)"
    );
    assert_eq!(
        error(&format!(
            "{first}[[server.reservation]]\nduid = \"00:02\"\nprefix = \"2001:db8:1ff:ff00::/56\"\n"
        )),
        "isp.toml:15: prefix 2001:db8:1ff:ff00::/56 is already reserved (line 12)"
    );
    // The same client twice (colon-hex and plain hex are the same DUID).
    assert_eq!(
        error(&format!(
            "{first}[[server.reservation]]\nduid = \"0001\"\naddress = \"2001:db8:0:1::106\"\n"
        )),
        "isp.toml:13: [[server.reservation]] for the same client as the one at line 9"
    );
    // Same DUID with a different link-layer address is another client.
    accepted(&format!(
        "{first}[[server.reservation]]\nduid = \"0001\"\nhw-address = \"02:00:00:00:00:01\"\naddress = \"2001:db8:0:1::106\"\n"
    ));
}

#[test]
fn server_value_checks() {
    let s = |line: &str| format!("[server]\n{line}\n[[server.link]]\ninterface = \"isp0\"\n");
    assert_eq!(
        error(&s("preference = 256")),
        "isp.toml:2: preference = 256: must be between 0 and 255"
    );
    assert_eq!(
        error(&s("information-refresh-time = 599")),
        "isp.toml:2: information-refresh-time = 599: must be between 600 and 4294967294"
    );
    assert_eq!(
        error(&s("sol-max-rt = 59")),
        "isp.toml:2: sol-max-rt = 59: must be between 60 and 86400"
    );
    assert_eq!(
        error(&s("inf-max-rt = 86401")),
        "isp.toml:2: inf-max-rt = 86401: must be between 60 and 86400"
    );
    assert_eq!(
        error(&s("dns-servers = [\"2001:db8::53\", \"::1\"]")),
        "isp.toml:2: dns-servers: `::1` is not a unicast address"
    );
    assert_eq!(
        error(&s("ntp-servers = [\"ntp.example\"]")),
        "isp.toml:2: ntp-servers: `ntp.example` is not an IPv6 address"
    );
    assert_eq!(
        error(&s("domains = [\"isp..example\"]")),
        "isp.toml:2: domains: `isp..example`: empty label"
    );
    assert_eq!(
        error(&s("hook = \"v6edge-hook\"")),
        "isp.toml:2: hook `v6edge-hook` must be an absolute path"
    );
    assert_eq!(
        error(&s("route-metric = -1")),
        "isp.toml:2: route-metric = -1: must be between 0 and 4294967295"
    );
    assert_eq!(
        error(
            "[server]\nroutes = false\nroute-metric = 10\n[[server.link]]\ninterface = \"isp0\"\n"
        ),
        "isp.toml:3: route-metric is given but routes = false"
    );
}

#[test]
fn lease_store_choices() {
    let s = |lines: &str| format!("[server]\n{lines}\n[[server.link]]\ninterface = \"isp0\"\n");
    if cfg!(feature = "postgres") {
        assert_eq!(
            error(&s("lease-store = \"postgres\"")),
            "isp.toml:2: lease-store = \"postgres\" needs postgres = \"CONNECTION\" \
             (e.g. \"host=/var/run/postgresql dbname=v6edge user=v6edge\")"
        );
        assert_eq!(
            error(&s("lease-store = \"postgres\"\npostgres = \" \"")),
            "isp.toml:3: postgres = \"\": the connection string is empty"
        );
        assert_eq!(
            error(&s(
                "lease-store = \"postgres\"\npostgres = \"dbname=x\"\nlease-file = \"/l.db\""
            )),
            "isp.toml:4: lease-file is given but lease-store = \"postgres\" keeps no file \
             (the database is named by postgres = \"...\")"
        );
    } else {
        // A build without the feature refuses the file at start.
        assert_eq!(
            error(&s("lease-store = \"postgres\"\npostgres = \"dbname=x\"")),
            "isp.toml:2: lease-store = \"postgres\": this v6edge was built without PostgreSQL \
             support (cargo feature \"postgres\"); use \"sqlite\" or rebuild with \
             --features postgres"
        );
    }
    assert_eq!(
        error(&s("postgres = \"dbname=x\"")),
        "isp.toml:2: postgres is given but lease-store = \"sqlite\" does not use it"
    );
    assert_eq!(
        error(&s("lease-store = \"sqlit\"")),
        "isp.toml:2: lease-store = \"sqlit\": must be \"sqlite\", \"memory\" or \"postgres\""
    );
    assert_eq!(
        error(&s("lease-store = \"memory\"\nlease-file = \"/tmp/l.db\"")),
        "isp.toml:3: lease-file is given but lease-store = \"memory\" keeps no file"
    );
    assert_eq!(
        error(&s("lease-file = \"leases.db\"")),
        "isp.toml:2: lease-file `leases.db` must be an absolute path"
    );
    assert_eq!(
        error(&s("lease-store = 1")),
        "isp.toml:2: wrong kind of value: the number `1`, expected a string"
    );
}
