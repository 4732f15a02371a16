//! Shared test helpers: a self-removing temporary directory and lease makers
//! (documentation prefix 2001:db8::/32 only).

#![allow(dead_code)] // each test binary uses a different subset

#[cfg(feature = "postgres")]
pub mod pg;
use std::net::Ipv6Addr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use v6edge_store::{LeaseKind, StoreOp, StoredLease};

/// A fresh directory per test, removed on drop (also when the test fails).
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "v6edge-store-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("the temp dir is writable in tests");
        TempDir(p)
    }

    pub fn db(&self) -> PathBuf {
        self.0.join("leases.db")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Delegated prefix number `n`: 2001:db8:NNNN:NN00::/56.
pub fn pd_addr(n: u32) -> Ipv6Addr {
    let base = u128::from(Ipv6Addr::new(0x2001, 0x0db8, 0, 0, 0, 0, 0, 0));
    Ipv6Addr::from(base | (u128::from(n) << 72))
}

/// A delegated-prefix lease with every field set (none left at a default).
pub fn pd_lease(n: u32) -> StoredLease {
    StoredLease {
        duid: vec![
            0,
            1,
            0,
            1,
            (n >> 24) as u8,
            (n >> 16) as u8,
            (n >> 8) as u8,
            n as u8,
            0xaa,
            0xbb,
        ],
        iaid: 0x1000_0000 | n,
        kind: LeaseKind::Prefix,
        addr: pd_addr(n),
        prefix_len: 56,
        preferred_until: 1_800_000_000 + u64::from(n),
        valid_until: 1_800_003_600 + u64::from(n),
        link: format!("relay:2001:db8:ffff::{:x}", n % 7 + 1),
        next_hop: Some(Ipv6Addr::new(
            0xfe80,
            0,
            0,
            0,
            0,
            0,
            0,
            (n % 0xffff) as u16 + 1,
        )),
        ifindex: 3 + n % 5,
        hw_addr: Some(vec![
            0x02,
            0,
            0x5e,
            (n >> 16) as u8,
            (n >> 8) as u8,
            n as u8,
        ]),
        updated_at: 1_799_990_000 + u64::from(n),
        // Every third client accepted Reconfigure: an opaque context blob.
        reconfigure: n
            .is_multiple_of(3)
            .then(|| vec![1, (n >> 8) as u8, n as u8, 0xee]),
        // Every other lease names its granting server.
        server: n
            .is_multiple_of(2)
            .then(|| vec![0, 3, 0, 1, 0x02, 0, 0, 0, 0, 0x53]),
    }
}

/// An address lease (/128, no next hop, no hardware address).
pub fn na_lease(n: u32) -> StoredLease {
    StoredLease {
        duid: vec![0, 3, 0, 1, 0x02, 0, 0, 0, (n >> 8) as u8, n as u8],
        iaid: n,
        kind: LeaseKind::Address,
        addr: Ipv6Addr::new(0x2001, 0x0db8, 0xa, 0, 0, 0, (n >> 16) as u16, n as u16),
        prefix_len: 128,
        preferred_until: 1_700_000_000,
        valid_until: 1_700_000_100,
        link: "if:2".to_string(),
        next_hop: None,
        ifindex: 2,
        hw_addr: None,
        updated_at: 1_699_999_000,
        reconfigure: None,
        server: None,
    }
}

pub fn upserts(leases: impl IntoIterator<Item = StoredLease>) -> Vec<StoreOp> {
    leases.into_iter().map(StoreOp::Upsert).collect()
}

pub fn remove_op(l: &StoredLease) -> StoreOp {
    StoreOp::Remove {
        kind: l.kind,
        addr: l.addr,
        prefix_len: l.prefix_len,
    }
}
