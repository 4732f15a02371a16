//! docs/ARCHITECTURE.md must stay true (style.md §7): every workspace member
//! has a row in its crate table, and every crate the table names exists.

use std::path::Path;

fn repo() -> &'static Path {
    // bin/v6edge → the workspace root.
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn members() -> Vec<String> {
    let text = std::fs::read_to_string(repo().join("Cargo.toml")).expect("read Cargo.toml");
    let doc: toml::Table = toml::from_str(&text).expect("parse Cargo.toml");
    doc["workspace"]["members"]
        .as_array()
        .expect("workspace.members")
        .iter()
        .map(|m| m.as_str().expect("member path").to_owned())
        .collect()
}

/// Paths in backticks at the start of the crate table's rows: "| `crates/wire` ...".
fn documented() -> Vec<String> {
    let text =
        std::fs::read_to_string(repo().join("docs/ARCHITECTURE.md")).expect("read ARCHITECTURE.md");
    text.lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .filter(|p| p.starts_with("crates/") || p.starts_with("bin/") || p.starts_with("tests/"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_member_is_documented_and_every_documented_crate_exists() {
    let members = members();
    let documented = documented();
    for m in &members {
        assert!(
            documented.contains(m),
            "workspace member `{m}` has no row in docs/ARCHITECTURE.md"
        );
    }
    for d in &documented {
        assert!(
            members.contains(d),
            "docs/ARCHITECTURE.md lists `{d}`, which is not a workspace member"
        );
    }
}
