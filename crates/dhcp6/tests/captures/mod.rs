//! Captured DHCPv6 datagrams shared by the corpus tests (`corpus`,
//! `relay_corpus`, `server_corpus`): crates/wire/tests/fixtures/dhcp6, with
//! index.tsv naming each capture, its source and destination.
#![allow(dead_code)]

use std::net::Ipv6Addr;
use std::path::PathBuf;

/// The fixture directory of the wire crate.
pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../wire/tests/fixtures/dhcp6")
}

/// The bytes of a capture.
pub fn bytes(name: &str) -> Vec<u8> {
    std::fs::read(dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The bytes and the captured source address of a capture.
pub fn fixture(name: &str) -> (Vec<u8>, Ipv6Addr) {
    let index = std::fs::read_to_string(dir().join("index.tsv")).expect("index.tsv");
    let src = index
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f.first() == Some(&name)).then(|| f[4].parse().expect("src column"))
        })
        .unwrap_or_else(|| panic!("{name} not in index.tsv"));
    (bytes(name), src)
}

/// The captured Relay-forwards: ISC dhcrelay and WIDE dhcp6relay relaying
/// a Solicit and a Request, once and (x2) behind a further relay.
pub const RELAY_FORWARDS: [&str; 8] = [
    "isc-relay-forw-solicit-ia_na-ia_pd.bin",
    "wide-relay-forw-solicit-ia_na-ia_pd.bin",
    "isc-relay-forw-x2-solicit-ia_na-ia_pd.bin",
    "wide-relay-forw-x2-solicit-ia_na-ia_pd.bin",
    "isc-relay-forw-request-ia_na-ia_pd.bin",
    "wide-relay-forw-request-ia_na-ia_pd.bin",
    "isc-relay-forw-x2-request-ia_na-ia_pd.bin",
    "wide-relay-forw-x2-request-ia_na-ia_pd.bin",
];
