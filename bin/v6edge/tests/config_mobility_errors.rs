//! `[home-agent]` and `[mobile-node]` (Mobile IPv6, issue 9): the examples
//! validate, keys are read relative to the file and never shown, and each
//! error names FILE:LINE of the offending value.

use std::path::PathBuf;
use std::time::Duration;

use v6edge::config::{Config, HomeAgentChoice, MobilitySecurity};

const KEY_HEX: &str = "00112233445566778899aabbccddeeff";

/// A directory of its own per test, with `ha.key` in it, removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let dir = std::env::temp_dir().join(format!("v6edge-mip6-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        std::fs::write(dir.join("ha.key"), format!("# a test key\n{KEY_HEX}\n")).expect("key");
        Dir(dir)
    }

    /// Writes `text` as `mip6.toml` here and loads it.
    fn load(&self, text: &str) -> Result<Config, String> {
        let path = self.0.join("mip6.toml");
        std::fs::write(&path, text).expect("config");
        Config::load(&path).map_err(|e| {
            // Messages name the file by the path given; keep them short.
            e.to_string().replace(&format!("{}/", self.0.display()), "")
        })
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const HA: &str = "[home-agent]\ninterface = \"home0\"\naddress = \"2001:db8:1::1\"\nprefixes = [\"2001:db8:1::/64\"]\n";
const MN_ENTRY: &str = "[[home-agent.mobile-node]]\nhome-address = \"2001:db8:1::200\"\nspi = 1000\nkey-file = \"ha.key\"\n";

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

/// The contract of issue 9: home0, 2001:db8:1::/64, 2001:db8:1::1, one
/// mobile node 2001:db8:1::200 with SPI 1000 and the demo key; the mobile
/// node on eth0 with the same home address, home agent, SPI and key.
#[test]
fn the_examples_match_the_contract() {
    let ha = Config::load(&examples().join("home-agent.toml")).unwrap_or_else(|e| panic!("{e}"));
    let ha = ha.home_agent.expect("[home-agent]");
    assert_eq!(ha.interface.as_str(), "home0");
    assert_eq!(
        ha.address,
        "2001:db8:1::1".parse::<std::net::Ipv6Addr>().unwrap()
    );
    assert_eq!(ha.prefixes, vec!["2001:db8:1::/64".parse().unwrap()]);
    assert_eq!(ha.security, MobilitySecurity::Rfc4285);
    assert_eq!(ha.max_binding_lifetime, Duration::from_secs(262_140));
    let sa = &ha.mobile_nodes[0];
    assert_eq!(
        (sa.home_address.to_string().as_str(), sa.spi),
        ("2001:db8:1::200", 1000)
    );
    assert!(
        sa.key_file.ends_with("examples/mip6-demo.key"),
        "{:?}",
        sa.key_file
    );

    let mn = Config::load(&examples().join("mobile-node.toml")).unwrap_or_else(|e| panic!("{e}"));
    let mn = mn.mobile_node.expect("[mobile-node]");
    assert_eq!(
        mn.interfaces.iter().map(|i| i.as_str()).collect::<Vec<_>>(),
        vec!["eth0"]
    );
    assert_eq!(mn.home_address, sa.home_address);
    assert_eq!(mn.home_prefix, "2001:db8:1::/64".parse().unwrap());
    assert_eq!(mn.home_agent, HomeAgentChoice::Address(ha.address));
    let mn_sa = mn.sa.expect("a security association");
    assert_eq!(mn_sa.spi, 1000);
    assert_eq!(mn_sa.key, sa.key, "both sides read the same demo key");
}

#[test]
fn keys_are_read_relative_to_the_file_and_never_shown() {
    let dir = Dir::new("key");
    let c = dir
        .load(&format!("{HA}{MN_ENTRY}"))
        .unwrap_or_else(|e| panic!("{e}"));
    let sa = &c.home_agent.as_ref().expect("[home-agent]").mobile_nodes[0];
    assert_eq!(sa.key.bytes()[..4], [0x00, 0x11, 0x22, 0x33]);
    assert_eq!(sa.key_file, dir.0.join("ha.key"));
    let shown = format!("{c:?}");
    assert!(
        !shown.contains("0x11") && !shown.contains("17, 34"),
        "key in Debug: {shown}"
    );
    assert!(shown.contains("not shown"));
}

#[test]
fn home_agent_errors_name_the_line() {
    let dir = Dir::new("ha");
    let err = |text: &str| dir.load(text).expect_err("rejected");
    assert_eq!(
        err(&format!("{HA}security = \"none\"\n")),
        "mip6.toml:5: security = \"none\" accepts Binding Updates from anyone, who can then take over a home address's traffic: for a lab, confirm with insecure-lab = true"
    );
    let lab = dir
        .load(&format!("{HA}security = \"none\"\ninsecure-lab = true\n"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(lab.home_agent.unwrap().security, MobilitySecurity::None);
    assert_eq!(
        err(HA),
        "mip6.toml:1: [home-agent] accepts no mobile node: add a [[home-agent.mobile-node]] with its home-address, spi and key-file"
    );
    assert_eq!(
        err(&MN_ENTRY
            .replace("spi = 1000", "spi = 255")
            .replace("[[", &format!("{HA}[["))),
        "mip6.toml:7: spi = 255: must be between 256 and 4294967295"
    );
    assert_eq!(
        err(&format!(
            "{HA}{}",
            MN_ENTRY.replace("2001:db8:1::200", "2001:db8:2::200")
        )),
        "mip6.toml:6: home-address 2001:db8:2::200 is not inside a served prefix"
    );
    assert_eq!(
        err(&format!(
            "{HA}{MN_ENTRY}{}",
            MN_ENTRY.replace("::200", "::201")
        )),
        "mip6.toml:11: spi 1000 is used already (line 7)"
    );
    assert_eq!(
        err(&format!(
            "{HA}{MN_ENTRY}{}",
            MN_ENTRY.replace("1000", "1001")
        )),
        "mip6.toml:10: home-address 2001:db8:1::200 has a security association already (line 6): one per home address (RFC 4285 §5)"
    );
    assert_eq!(
        err(&format!("{HA}max-binding-lifetime = 1001\n{MN_ENTRY}")),
        "mip6.toml:5: max-binding-lifetime = 1001: Binding Updates carry lifetimes in units of 4 s (RFC 6275 §6.1.7): use 1000 or 1004"
    );
    assert_eq!(
        err(&format!(
            "{}{MN_ENTRY}",
            HA.replace("2001:db8:1::1\"", "2001:db8:9::1\"")
        )),
        "mip6.toml:3: address 2001:db8:9::1 is not inside a served prefix: mobile nodes reach their home agent on the home link"
    );
    assert_eq!(
        err(&format!("{}{MN_ENTRY}", HA.replace("/64", "/96"))),
        "mip6.toml:4: prefixes: `2001:db8:1::/96` is longer than /64: a home link numbers its hosts in a /64 at most"
    );
    let missing = err(&format!("{HA}{}", MN_ENTRY.replace("ha.key", "nope.key")));
    assert!(
        missing.starts_with("mip6.toml:8: key-file `nope.key`: cannot read:"),
        "{missing}"
    );
    std::fs::write(dir.0.join("short.key"), "0011\n").expect("key");
    assert_eq!(
        err(&format!("{HA}{}", MN_ENTRY.replace("ha.key", "short.key"))),
        "mip6.toml:8: key-file `short.key`: must hold a 16-octet key as 32 hex digits (comment lines start with #)"
    );
    assert_eq!(
        err(&format!("[uplink]\ninterface = \"home0\"\n{HA}{MN_ENTRY}")),
        "mip6.toml:4: [home-agent] interface `home0` is the uplink: the home link is where the home addresses live"
    );
}

#[test]
fn mobile_node_errors_name_the_line() {
    let dir = Dir::new("mn");
    let err = |text: &str| dir.load(text).expect_err("rejected");
    let mn = "[mobile-node]\ninterfaces = [\"eth0\"]\nhome-address = \"2001:db8:1::200\"\n";
    assert_eq!(
        err(mn),
        "mip6.toml:1: [mobile-node] needs spi and key-file: the home agent accepts only authenticated Binding Updates (RFC 4285)"
    );
    assert_eq!(
        err(&format!("{mn}spi = 1000\n")),
        "mip6.toml:4: spi is given without key-file"
    );
    assert_eq!(
        err(&format!(
            "{mn}home-agent = \"2001:db8:2::1\"\nspi = 1000\nkey-file = \"ha.key\"\n"
        )),
        "mip6.toml:4: home-agent 2001:db8:2::1 is not on the home link 2001:db8:1::/64 (or write \"dhaad\" to find it by Dynamic Home Agent Address Discovery)"
    );
    assert_eq!(
        err(
            "[mobile-node]\ninterfaces = [\"eth0\", \"eth0\"]\nhome-address = \"2001:db8:1::200\"\n"
        ),
        "mip6.toml:2: interfaces lists `eth0` twice (line 2)"
    );
    assert_eq!(
        err("[mobile-node]\ninterfaces = [\"eth0\"]\nhome-address = \"fe80::1\"\n"),
        "mip6.toml:3: home-address: `fe80::1` is not a global unicast address"
    );
    let c = dir
        .load(&format!("{mn}spi = 1000\nkey-file = \"ha.key\"\n"))
        .unwrap_or_else(|e| panic!("{e}"));
    let m = c.mobile_node.expect("[mobile-node]");
    assert_eq!(m.home_agent, HomeAgentChoice::Dhaad, "no home-agent: DHAAD");
    assert_eq!(m.binding_lifetime, Duration::from_secs(3600));
}

/// HA-7: `[[home-agent.acl]]` rules in file order and `default-action`;
/// errors name the line.
#[test]
fn acl_rules_and_their_errors() {
    let d = Dir::new("acl");
    let c = d
        .load(&format!(
            "{HA}default-action = \"deny\"\n{MN_ENTRY}\n[[home-agent.acl]]\nhome-addresses = \"2001:db8:1::200/128\"\naction = \"allow\"\n\n[[home-agent.acl]]\nhome-addresses = \"2001:db8:1::/120\"\naction = \"deny\"\n"
        ))
        .unwrap_or_else(|e| panic!("{e}"));
    let ha = c.home_agent.expect("[home-agent]");
    assert!(!ha.default_allow);
    assert_eq!(
        ha.acl,
        vec![
            ("2001:db8:1::200/128".parse().unwrap(), true),
            ("2001:db8:1::/120".parse().unwrap(), false)
        ]
    );
    let e = d
        .load(&format!(
            "{HA}{MN_ENTRY}\n[[home-agent.acl]]\nhome-addresses = \"2001:db8:9::/64\"\naction = \"deny\"\n"
        ))
        .unwrap_err();
    assert!(
        e.starts_with(
            "mip6.toml:11: home-addresses 2001:db8:9::/64 is outside every served prefix"
        ),
        "{e}"
    );
    let e = d
        .load(&format!(
            "{HA}{MN_ENTRY}\n[[home-agent.acl]]\nhome-addresses = \"2001:db8:1::/64\"\naction = \"reject\"\n"
        ))
        .unwrap_err();
    assert!(
        e.starts_with("mip6.toml:12: action `reject`: expected \"allow\" or \"deny\""),
        "{e}"
    );
}

/// NEMO (RFC 3963, issue 13): `mobile-network-prefixes` on a home agent's
/// mobile node entry permits it as a mobile router; on `[mobile-node]` it
/// makes the node one, explicit mode unless `mobile-network-mode` says
/// otherwise. Mobile networks must be routable, apart from the home prefix
/// and from one another.
#[test]
fn mobile_router_keys() {
    let dir = Dir::new("nemo");
    let ha = dir
        .load(&format!(
            "{HA}{MN_ENTRY}mobile-network-prefixes = [\"2001:db8:10::/48\"]\n"
        ))
        .unwrap_or_else(|e| panic!("{e}"));
    let ha = ha.home_agent.expect("[home-agent]");
    assert_eq!(
        ha.mobile_routers,
        vec![(
            "2001:db8:1::200".parse().unwrap(),
            vec!["2001:db8:10::/48".parse().unwrap()]
        )]
    );
    let err = dir
        .load(&format!(
            "{HA}{MN_ENTRY}mobile-network-prefixes = [\"2001:db8:1::/64\"]\n"
        ))
        .unwrap_err();
    assert!(
        err.starts_with("mip6.toml:9:") && err.contains("overlaps the home prefix 2001:db8:1::/64"),
        "{err}"
    );

    let mn = |extra: &str| {
        dir.load(&format!(
            "[mobile-node]\ninterfaces = [\"eth0\"]\nhome-address = \"2001:db8:1::200\"\nhome-agent = \"2001:db8:1::1\"\nspi = 1000\nkey-file = \"ha.key\"\n{extra}"
        ))
    };
    let c = mn("mobile-network-prefixes = [\"2001:db8:10::/64\", \"2001:db8:11::/64\"]\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let (nets, explicit) = c
        .mobile_node
        .expect("mn")
        .mobile_router
        .expect("a mobile router");
    assert_eq!(nets.len(), 2);
    assert!(explicit);
    let c = mn(
        "mobile-network-prefixes = [\"2001:db8:10::/64\"]\nmobile-network-mode = \"implicit\"\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(!c.mobile_node.expect("mn").mobile_router.expect("mr").1);
    assert_eq!(
        mn("")
            .unwrap_or_else(|e| panic!("{e}"))
            .mobile_node
            .expect("mn")
            .mobile_router,
        None
    );
    for (extra, line, says) in [
        (
            "mobile-network-prefixes = [\"2001:db8:10::/64\", \"2001:db8:10::/56\"]\n",
            7,
            "overlaps 2001:db8:10::/64",
        ),
        (
            "mobile-network-prefixes = [\"fe80::/64\"]\n",
            7,
            "not a routable unicast prefix",
        ),
        (
            "mobile-network-prefixes = [\"2001:db8:10::1/64\"]\n",
            7,
            "mobile-network-prefixes",
        ),
        (
            "mobile-network-prefixes = [\"2001:db8:10::/64\"]\nmobile-network-mode = \"both\"\n",
            8,
            "expected \"explicit\"",
        ),
        (
            "mobile-network-mode = \"implicit\"\n",
            7,
            "without mobile-network-prefixes",
        ),
    ] {
        let err = mn(extra).unwrap_err();
        assert!(
            err.starts_with(&format!("mip6.toml:{line}:")) && err.contains(says),
            "{extra}: {err}"
        );
    }
}

/// DSMIPv6 (RFC 5555, issue 13): `ipv4-address` turns it on, with the NAT
/// refresh time and an IPv4 home address pool; the example serves
/// 169.254.1.0/24 on home0 from 169.254.255.1; errors name the line.
#[test]
fn dsmip_keys_and_their_errors() {
    let ha = Config::load(&examples().join("home-agent.toml")).unwrap_or_else(|e| panic!("{e}"));
    let d = ha
        .home_agent
        .expect("[home-agent]")
        .dsmip
        .expect("DSMIPv6 on");
    assert_eq!(d.address, std::net::Ipv4Addr::new(169, 254, 255, 1));
    assert_eq!(d.nat_refresh, Duration::from_secs(110));
    let (pool, interface) = d.pool.expect("a pool");
    assert_eq!(
        (pool.addr(), pool.len(), interface.as_str()),
        (std::net::Ipv4Addr::new(169, 254, 1, 0), 24, "home0")
    );

    let dir = Dir::new("dsmip");
    let err = |text: &str| dir.load(text).expect_err("rejected");
    let c = dir
        .load(&format!(
            "{HA}ipv4-address = \"192.0.2.1\"\nnat-refresh = 30\nipv4-home-pool = \"10.1.0.0/16\"\nipv4-home-interface = \"v4home\"\n{MN_ENTRY}"
        ))
        .unwrap_or_else(|e| panic!("{e}"));
    let d = c.home_agent.expect("ha").dsmip.expect("dsmip");
    assert_eq!(d.nat_refresh, Duration::from_secs(30));
    assert_eq!(d.pool.expect("pool").1.as_str(), "v4home");
    assert_eq!(
        err(&format!("{HA}nat-refresh = 30\n{MN_ENTRY}")),
        "mip6.toml:5: nat-refresh needs ipv4-address: DSMIPv6 listens on UDP port 4191 of the home agent's IPv4 address"
    );
    assert_eq!(
        err(&format!("{HA}ipv4-address = \"2001:db8::1\"\n{MN_ENTRY}")),
        "mip6.toml:5: ipv4-address: `2001:db8::1` is not an IPv4 address"
    );
    assert_eq!(
        err(&format!("{HA}ipv4-address = \"224.0.0.1\"\n{MN_ENTRY}")),
        "mip6.toml:5: ipv4-address 224.0.0.1 is not a unicast address mobile nodes can send to"
    );
    assert_eq!(
        err(&format!(
            "{HA}ipv4-address = \"192.0.2.1\"\nipv4-home-pool = \"10.1.0.1/16\"\n{MN_ENTRY}"
        )),
        "mip6.toml:6: ipv4-home-pool: `10.1.0.1/16` is not an IPv4 prefix with no host bits set (like \"169.254.1.0/24\")"
    );
    assert_eq!(
        err(&format!(
            "{HA}ipv4-address = \"192.0.2.1\"\nipv4-home-pool = \"10.1.0.0/31\"\n{MN_ENTRY}"
        )),
        "mip6.toml:6: ipv4-home-pool 10.1.0.0/31: a /31 holds no address to give after its first and last"
    );
    assert_eq!(
        err(&format!(
            "{HA}ipv4-address = \"192.0.2.1\"\nipv4-home-interface = \"home0\"\n{MN_ENTRY}"
        )),
        "mip6.toml:6: ipv4-home-interface needs ipv4-home-pool"
    );
    assert_eq!(
        err(&format!(
            "{HA}ipv4-address = \"192.0.2.1\"\nnat-refresh = 0\n{MN_ENTRY}"
        )),
        "mip6.toml:6: nat-refresh = 0: must be between 1 and 3600"
    );
}

/// DSMIPv6 at the mobile node: `home-agent-ipv4` with a configured home
/// agent; the other keys need it; errors name the line.
#[test]
fn mobile_node_dsmip_keys_and_their_errors() {
    let dir = Dir::new("mn-dsmip");
    let err = |text: &str| dir.load(text).expect_err("rejected");
    let mn = "[mobile-node]\ninterfaces = [\"eth0\"]\nhome-address = \"2001:db8:1::200\"\nspi = 1000\nkey-file = \"ha.key\"\n";
    let c = dir
        .load(&format!(
            "{mn}home-agent = \"2001:db8:1::1\"\nhome-agent-ipv4 = \"169.254.255.1\"\nrequest-ipv4-home-address = true\n"
        ))
        .unwrap_or_else(|e| panic!("{e}"));
    let d = c.mobile_node.expect("mn").dsmip.expect("dsmip");
    assert_eq!(d.home_agent, std::net::Ipv4Addr::new(169, 254, 255, 1));
    assert!(d.request_ipv4_home_address);
    assert!(d.force_udp, "F by default (DS-10)");
    assert_eq!(
        err(&format!("{mn}home-agent-ipv4 = \"169.254.255.1\"\n")),
        "mip6.toml:6: home-agent-ipv4 needs home-agent = \"<its IPv6 address>\": Dynamic Home Agent Address Discovery cannot run from an IPv4-only link"
    );
    assert_eq!(
        err(&format!(
            "{mn}home-agent = \"2001:db8:1::1\"\nforce-udp = false\n"
        )),
        "mip6.toml:7: force-udp needs home-agent-ipv4: Dual-Stack MIPv6 registers in UDP with the home agent's IPv4 address"
    );
    assert_eq!(
        err(&format!(
            "{mn}home-agent = \"2001:db8:1::1\"\nhome-agent-ipv4 = \"169.254.255\"\n"
        )),
        "mip6.toml:7: home-agent-ipv4: `169.254.255` is not an IPv4 address"
    );
}
