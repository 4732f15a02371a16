//! `[ripng]` (issue 10): the example validates, settings land where they
//! belong, and each error names FILE:LINE with a reason.

use std::path::PathBuf;
use std::time::Duration;

use v6edge::config::Config;
use v6edge_ripng::SplitHorizon;

fn load(name: &str, text: &str) -> Result<Config, String> {
    let dir = std::env::temp_dir().join(format!("v6edge-ripng-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("ripng.toml");
    std::fs::write(&path, text).expect("config");
    let r =
        Config::load(&path).map_err(|e| e.to_string().replace(&format!("{}/", dir.display()), ""));
    let _ = std::fs::remove_dir_all(&dir);
    r
}

#[test]
fn the_example_runs_ripng_on_eth0_and_eth1() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/ripng.toml");
    let c = Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let r = c.ripng.expect("[ripng]");
    let names: Vec<&str> = r.interfaces.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, vec!["eth0", "eth1"]);
    assert!(r.redistribute_connected && r.redistribute_delegated);
    assert_eq!(r.timers.update, Duration::from_secs(30));
    assert_eq!(r.timers.timeout, Duration::from_secs(180));
    assert_eq!(r.timers.garbage_collection, Duration::from_secs(120));
    assert_eq!((r.metric, r.tag), (1, 0));
}

#[test]
fn interface_settings_and_timers() {
    let c = load(
        "ok",
        "[ripng]\ninterfaces = [\"eth0\", \"lan0\"]\nupdate-interval = 5\ntimeout = 30\ngarbage-collection = 20\ntag = 7\n\n[[ripng.interface]]\nname = \"lan0\"\ncost = 3\npassive = true\nsplit-horizon = \"simple\"\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let r = c.ripng.expect("[ripng]");
    assert_eq!(r.timers.update, Duration::from_secs(5));
    assert_eq!(r.timers.update_jitter, Duration::from_millis(2500));
    assert_eq!(r.tag, 7);
    let lan = &r.interfaces[1];
    assert_eq!(
        (lan.cost, lan.passive, lan.split_horizon),
        (3, true, SplitHorizon::Simple)
    );
    let eth = &r.interfaces[0];
    assert_eq!(
        (eth.cost, eth.passive, eth.split_horizon),
        (1, false, SplitHorizon::PoisonedReverse)
    );
}

#[test]
fn errors_name_the_line() {
    let err = |text: &str| load("err", text).expect_err("rejected");
    assert_eq!(
        err("[ripng]\nredistribute = [\"connected\"]\n"),
        "ripng.toml:1: [ripng] runs on no interface: add interfaces = [\"eth0\", ...]"
    );
    assert_eq!(
        err("[ripng]\ninterfaces = [\"eth0\", \"eth0\"]\n"),
        "ripng.toml:2: interfaces lists `eth0` twice (line 2)"
    );
    assert_eq!(
        err("[ripng]\ninterfaces = [\"eth0\"]\nredistribute = [\"bgp\"]\n"),
        "ripng.toml:3: redistribute `bgp`: expected \"connected\" (the prefixes of the RIPng interfaces' addresses), \"static\" (the routes an administrator added to the main table) or \"delegated\" (the routes this daemon installs toward delegated prefixes)"
    );
    assert_eq!(
        err("[ripng]\ninterfaces = [\"eth0\"]\nupdate-interval = 30\ntimeout = 30\n"),
        "ripng.toml:4: timeout 30 s is not longer than update-interval 30 s: every route would time out between two updates (RFC 2080 §2.3 uses 180 and 30)"
    );
    assert_eq!(
        err("[ripng]\ninterfaces = [\"eth0\"]\nmetric = 16\n"),
        "ripng.toml:3: metric = 16: must be between 1 and 15"
    );
    assert_eq!(
        err("[ripng]\ninterfaces = [\"eth0\"]\n\n[[ripng.interface]]\nname = \"eth1\"\n"),
        "ripng.toml:5: [[ripng.interface]] `eth1` is not in [ripng] interfaces"
    );
    assert_eq!(
        err(
            "[ripng]\ninterfaces = [\"eth0\"]\n\n[[ripng.interface]]\nname = \"eth0\"\nsplit-horizon = \"on\"\n"
        ),
        "ripng.toml:6: split-horizon `on`: expected \"poisoned-reverse\", \"simple\" or \"off\""
    );
    assert_eq!(
        err("[ripng]\ninterfaces = [\"eth0\"]\n\n[[ripng.interface]]\nname = \"eth0\"\ncost = 0\n"),
        "ripng.toml:6: cost = 0: must be between 1 and 15"
    );
    assert_eq!(
        err("[ripng]\ninterfaces = [\"eth0\"]\nmax-routes = 0\n"),
        "ripng.toml:3: max-routes = 0: must be between 1 and 10000000"
    );
    let ok = load("ok", "[ripng]\ninterfaces = [\"eth0\"]\nmax-routes = 500\n").expect("valid");
    let ok = ok.ripng.expect("ripng");
    assert_eq!((ok.max_routes, ok.route_metric), (500, 1100));
    let low = load(
        "low",
        "[ripng]\ninterfaces = [\"eth0\"]\nroute-metric = 20\n",
    )
    .expect("valid");
    assert_eq!(low.ripng.expect("ripng").route_metric, 20);
    assert_eq!(
        err("[ripng]\ninterfaces = [\"eth0\"]\nroute-metric = -1\n"),
        "ripng.toml:3: route-metric = -1: must be between 0 and 4294967295"
    );
}

/// route6d's options as keys: aggregates (-A), accept (-L), advertise
/// (-O), default-only (-T); a bad prefix is named with its line.
#[test]
fn policy_keys() {
    let c = load(
        "policy",
        "[ripng]\ninterfaces = [\"eth0\", \"eth1\"]\naggregates = [\"2001:db8:100::/40\"]\n\n[[ripng.interface]]\nname = \"eth0\"\naccept = [\"::/0\"]\nadvertise = [\"2001:db8::/32\"]\n\n[[ripng.interface]]\nname = \"eth1\"\ndefault-only = true\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let r = c.ripng.expect("[ripng]");
    assert_eq!(r.aggregates, vec!["2001:db8:100::/40".parse().unwrap()]);
    assert_eq!(r.interfaces[0].accept, vec!["::/0".parse().unwrap()]);
    assert_eq!(
        r.interfaces[0].advertise,
        vec!["2001:db8::/32".parse().unwrap()]
    );
    assert!(!r.interfaces[0].default_only && r.interfaces[1].default_only);
    let err = load(
        "policy-err",
        "[ripng]\ninterfaces = [\"eth0\"]\n\n[[ripng.interface]]\nname = \"eth0\"\naccept = [\"2001:db8::1/32\"]\n",
    )
    .expect_err("host bits");
    assert!(
        err.starts_with("ripng.toml:6: accept: `2001:db8::1/32`: "),
        "{err}"
    );
    let err = load(
        "agg-err",
        "[ripng]\ninterfaces = [\"eth0\"]\naggregates = [\"nope\"]\n",
    )
    .expect_err("not a prefix");
    assert!(
        err.starts_with("ripng.toml:3: aggregates: `nope`: "),
        "{err}"
    );
}
