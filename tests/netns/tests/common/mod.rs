//! Helpers shared by the netns scenario runners (cpe.rs, server.rs,
//! relay.rs, chain.rs): where the repository, the programs and the v6edge
//! binary are, and whether we run as root.

// Each runner is its own test binary and uses a subset of these helpers.
#![allow(dead_code)]

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

/// Appended to `PATH` for the scenarios and for the program checks: `cargo
/// test` may run with a user's `PATH` that lacks the sbin directories where
/// `ip`, the DHCPv6 servers and radvd live.
pub const SBIN_DIRS: [&str; 4] = ["/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin"];

pub fn repo_root() -> PathBuf {
    // tests/netns -> repository root.
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `PATH` with the sbin directories appended.
pub fn search_path() -> String {
    let mut path = env::var("PATH").unwrap_or_default();
    for dir in SBIN_DIRS {
        if !path.split(':').any(|p| p == dir) {
            if !path.is_empty() {
                path.push(':');
            }
            path.push_str(dir);
        }
    }
    path
}

/// `name` on the search path (or `name` itself when it is absolute).
pub fn find_program(name: &str) -> Option<PathBuf> {
    if name.starts_with('/') {
        return Some(PathBuf::from(name)).filter(|p| p.is_file());
    }
    search_path()
        .split(':')
        .filter(|dir| !dir.is_empty())
        .map(|dir| Path::new(dir).join(name))
        .find(|candidate| candidate.is_file())
}

/// The effective uid, from /proc (no libc dependency for one number).
pub fn effective_uid() -> Option<u32> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    // "Uid:\treal\teffective\tsaved\tfs"
    line.split_whitespace().nth(2)?.parse().ok()
}

/// The v6edge binary: `$V6EDGE_BIN`, else `<target>/<profile>/v6edge` where
/// this test executable lives in `<target>/<profile>/deps/`, else
/// `$CARGO_TARGET_DIR/debug/v6edge`, else `target/debug/v6edge`.
pub fn v6edge_bin() -> PathBuf {
    if let Some(bin) = env::var_os("V6EDGE_BIN") {
        return PathBuf::from(bin);
    }
    let beside_deps = env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.join("v6edge")));
    let candidates = [
        beside_deps,
        env::var_os("CARGO_TARGET_DIR").map(|d| PathBuf::from(d).join("debug/v6edge")),
        Some(repo_root().join("target/debug/v6edge")),
    ];
    candidates
        .iter()
        .flatten()
        .find(|p| p.is_file())
        .cloned()
        .unwrap_or_else(|| repo_root().join("target/debug/v6edge"))
}
