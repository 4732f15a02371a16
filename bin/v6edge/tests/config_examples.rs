//! Every `*.toml` directly in examples/ is a v6edge configuration that
//! passes `v6edge check`.

use std::path::PathBuf;

use v6edge::config::Config;

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
    assert!(
        checked.iter().any(|p| p.ends_with("cpe.toml")),
        "cpe.toml not found: {checked:?}"
    );
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
