//! The simulator on small networks: convergence, determinism, invariants
//! that catch a broken node, and pcap output tshark reads.

use v6edge_sim::{Report, Sim, SimConfig, Violation, json_line, link_local};

fn run(config: SimConfig) -> (Sim, Report) {
    let mut sim = Sim::new(config).expect("valid configuration");
    let report = sim.run();
    (sim, report)
}

fn small(seed: u64) -> SimConfig {
    let mut c = SimConfig::new(24, 3, 2, seed);
    c.loss = 0.05;
    c.renumber = true;
    c
}

#[test]
fn cold_start_and_renumbering_converge_without_violations() {
    let (sim, r) = run(small(11));
    assert_eq!(r.nodes, 1 + 3 + 48);
    assert_eq!(r.delegations, 48, "every router holds one prefix");
    assert!(r.converged_s.is_some_and(|s| s > 0.0), "{r:?}");
    assert!(r.renumbered_s.is_some_and(|s| s > 0.0), "{r:?}");
    assert_eq!(r.invariant_violations, 0, "{:?}", sim.violations());
    // After renumbering every prefix is from the new pool (3fff:1::/32).
    let new_pool: v6edge_prefix::Prefix = "3fff:1::/32".parse().unwrap();
    for id in sim.first_router()..r.nodes as u32 {
        let held = sim.held(id);
        assert!(
            !held.is_empty() && held.iter().all(|p| new_pool.contains(p)),
            "{id}: {held:?}"
        );
    }
}

#[test]
fn depth_three_delegates_down_the_chain() {
    let (sim, r) = run(SimConfig::new(4, 2, 3, 5));
    assert_eq!(r.delegations, 12);
    assert_eq!(r.invariant_violations, 0, "{:?}", sim.violations());
    let top = sim.first_router();
    let (a, b, c) = (sim.held(top), sim.held(top + 1), sim.held(top + 2));
    assert_eq!(a[0].len(), 56);
    assert_eq!(b[0].len(), 58);
    assert_eq!(c[0].len(), 60);
    assert!(a[0].contains(&b[0]) && b[0].contains(&c[0]));
}

#[test]
fn same_seed_same_output() {
    let (_, a) = run(small(3));
    let (_, b) = run(small(3));
    assert_eq!(a, b);
    assert_eq!(json_line(&a, 0.0, 0.0), json_line(&b, 0.0, 0.0));
    // Another seed draws other losses and delays.
    let (_, c) = run(small(4));
    assert_ne!((a.messages, a.converged_s), (c.messages, c.converged_s));
}

#[test]
fn a_node_claiming_a_prefix_it_was_not_given_is_counted() {
    let (mut sim, r) = run(SimConfig::new(6, 2, 1, 1));
    assert_eq!(r.invariant_violations, 0);
    let (a, b) = (sim.first_router(), sim.first_router() + 1);
    let stolen = sim.held(b)[0];
    sim.inject_claim(a, stolen);
    let v = sim.violations();
    assert!(
        v.keys()
            .any(|k| matches!(k, Violation::SharedPrefix { prefix, .. } if *prefix == stolen)),
        "{v:?}"
    );
    assert!(
        v.keys()
            .any(|k| matches!(k, Violation::Unrouted { node, .. } if *node == a)),
        "{v:?}"
    );
    assert!(sim.report(None, None).invariant_violations >= 2);
}

#[test]
fn a_route_removed_behind_the_nodes_back_is_counted() {
    let (mut sim, r) = run(SimConfig::new(6, 2, 2, 1));
    assert_eq!(r.invariant_violations, 0);
    let cpe = sim.first_router();
    let p = sim.held(cpe)[0];
    // The relay (node 1 serves the even CPEs) forgets its route to the /56:
    // the CPE and the router below it become unreachable.
    assert!(sim.inject_route_removal(1, p));
    // Seen while the network runs on, once the grace period has passed...
    sim.advance(v6edge_sim::REROUTE_GRACE + std::time::Duration::from_secs(1));
    assert_eq!(
        sim.report(None, None).invariant_violations,
        2,
        "{:?}",
        sim.violations()
    );
    // ...and by the whole-network check, each counted once.
    assert_eq!(sim.check_all(), 2);
    assert_eq!(sim.report(None, None).invariant_violations, 2);
}

#[test]
fn a_route_without_a_lease_is_counted() {
    let (mut sim, _) = run(SimConfig::new(2, 1, 1, 1));
    let bogus: v6edge_prefix::Prefix = "2001:db8:dead::/48".parse().unwrap();
    sim.inject_route(0, bogus, link_local(1, 1), 1);
    assert!(
        sim.violations()
            .keys()
            .any(|k| matches!(k, Violation::UnbackedRoute { node: 0, prefix } if *prefix == bogus))
    );
}

#[test]
fn json_line_has_exactly_the_issue_keys() {
    let (_, r) = run(SimConfig::new(2, 1, 1, 1));
    let line = json_line(&r, 0.5, 12.0);
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    let mut want = vec![
        "nodes",
        "delegations",
        "converged_s",
        "renumbered_s",
        "messages",
        "wall_s",
        "peak_rss_mb",
        "invariant_violations",
    ];
    let mut got = keys.clone();
    got.sort_unstable();
    want.sort_unstable();
    assert_eq!(got, want);
    assert!(v["renumbered_s"].is_null());
    assert_eq!(v["nodes"], 4);
}

#[test]
fn pcap_of_a_link_is_readable_by_tshark() {
    let dir = std::env::temp_dir().join(format!("v6edge-sim-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("access0.pcap");
    let mut c = SimConfig::new(3, 1, 1, 9);
    c.pcap = vec![("access0".into(), file.clone())];
    let (mut sim, r) = run(c);
    sim.finish().unwrap();
    assert_eq!(r.invariant_violations, 0);
    let bytes = std::fs::read(&file).unwrap();
    assert_eq!(&bytes[..4], &0xa1b2_c3d4_u32.to_le_bytes());
    assert!(bytes.len() > 24 + 6 * 40, "a capture with packets");
    let tshark = std::process::Command::new("tshark")
        .arg("-r")
        .arg(&file)
        .args(["-Y", "dhcpv6", "-T", "fields", "-e", "dhcpv6.msgtype"])
        .output();
    match tshark {
        Ok(out) if out.status.success() => {
            let types = String::from_utf8_lossy(&out.stdout);
            // Solicit 1, Advertise 2, Request 3, Reply 7, for 3 CPEs.
            for t in ["1", "2", "3", "7"] {
                assert!(
                    types.lines().filter(|l| l.trim() == t).count() >= 3,
                    "{t}: {types}"
                );
            }
        }
        _ => eprintln!("tshark not available: checked the pcap header only"),
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_arguments_are_refused() {
    assert!(Sim::new(SimConfig::new(1, 0, 1, 1)).is_err());
    assert!(Sim::new(SimConfig::new(1, 1, 9, 1)).is_err());
    let mut c = SimConfig::new(1, 1, 1, 1);
    c.pcap = vec![("nosuchlink".into(), "/dev/null".into())];
    assert!(Sim::new(c).is_err());
}

#[test]
fn the_command_prints_the_same_line_for_the_same_seed() {
    let run = || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_v6edge-sim"))
            .args([
                "--cpes", "20", "--relays", "2", "--depth", "2", "--seed", "5",
            ])
            .args(["--loss", "0.1", "--renumber"])
            .output()
            .expect("run v6edge-sim");
        assert!(out.status.success());
        let mut v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON line");
        let map = v.as_object_mut().unwrap();
        assert!(map.remove("wall_s").is_some() && map.remove("peak_rss_mb").is_some());
        v
    };
    let a = run();
    assert_eq!(a, run());
    assert_eq!(a["nodes"], 43);
    assert_eq!(a["invariant_violations"], 0);
    assert!(a["renumbered_s"].is_number());
}
