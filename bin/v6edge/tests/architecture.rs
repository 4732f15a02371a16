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

/// Every `.rs` file of the workspace's crates and binaries, with its text.
fn sources() -> Vec<(String, String)> {
    fn walk(dir: &Path, out: &mut Vec<(String, String)>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                if p.file_name().is_some_and(|n| n != "target") {
                    walk(&p, out);
                }
            } else if p.extension().is_some_and(|x| x == "rs")
                && let Ok(text) = std::fs::read_to_string(&p)
            {
                out.push((p.display().to_string(), text));
            }
        }
    }
    let mut out = Vec::new();
    for top in ["crates", "bin"] {
        walk(&repo().join(top), &mut out);
    }
    out
}

/// `needle` occurs in `text` as a whole word (nothing that could continue
/// an identifier on either side).
fn has_word(text: &str, needle: &str) -> bool {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(needle).any(|(i, _)| {
        !text[..i].chars().next_back().is_some_and(ident)
            && !text[i + needle.len()..].chars().next().is_some_and(ident)
    })
}

/// `Type::member` citations in backticks in ARCHITECTURE.md.
fn cited_members() -> Vec<(String, String)> {
    let text =
        std::fs::read_to_string(repo().join("docs/ARCHITECTURE.md")).expect("read ARCHITECTURE.md");
    let ident = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_');
    let mut out = Vec::new();
    for chunk in text.split('`').skip(1).step_by(2) {
        let Some((ty, member)) = chunk.split_once("::") else {
            continue;
        };
        // Type::member only: a module path (v6edge_node::...) is no type.
        if ty.starts_with(|c: char| c.is_ascii_uppercase()) && ident(ty) && ident(member) {
            out.push((ty.to_owned(), member.to_owned()));
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Issue 8 item 7: every `Type::method` (or field, or enum variant) that
/// ARCHITECTURE.md cites exists: a file that defines or implements `Type`
/// has `fn method`, a field `method:` or a variant `Method`.
#[test]
fn every_cited_type_member_exists() {
    // std items the document names (the clock calls the lint bans).
    let std_items = [("Instant", "now"), ("SystemTime", "now")];
    let sources = sources();
    let cited = cited_members();
    assert!(
        cited.len() > 10,
        "found only {cited:?}: the parser is broken"
    );
    let mut missing = Vec::new();
    for (ty, member) in &cited {
        if std_items.contains(&(ty.as_str(), member.as_str())) {
            continue;
        }
        let about_ty = sources.iter().filter(|(_, text)| {
            ["struct ", "enum ", "trait ", "type ", "impl ", "for "]
                .iter()
                .any(|kw| has_word(text, &format!("{kw}{ty}")))
        });
        let found = about_ty.clone().any(|(_, text)| {
            has_word(text, &format!("fn {member}"))
                || has_word(text, &format!("{member}:"))
                || (member.starts_with(|c: char| c.is_ascii_uppercase()) && has_word(text, member))
        });
        if !found {
            missing.push(format!("{ty}::{member}"));
        }
    }
    assert!(
        missing.is_empty(),
        "docs/ARCHITECTURE.md cites members that do not exist: {missing:?}"
    );
}
