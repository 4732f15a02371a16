//! An in-memory [`LeaseStore`]: for tests, and for `--store memory` when a
//! benchmark wants to measure the server without the disk. Nothing survives
//! the process, so it must never back a production server.
//!
//! It follows the same rules as [`SqliteStore`](crate::SqliteStore) (batch
//! validated first, last op per key wins, [`LeaseKey`] order), which the
//! property test checks op for op.
//!
//! Panic contract: no method panics.

use std::collections::BTreeMap;
use std::net::Ipv6Addr;

use crate::{
    Applied, LeaseKey, LeaseKind, LeaseStore, StoreError, StoreOp, StoredLease, validate_ops,
};

/// Leases in a `BTreeMap`, so iteration is in [`LeaseKey`] order like SQLite's
/// primary-key scan.
#[derive(Debug, Default, Clone)]
pub struct MemoryStore {
    leases: BTreeMap<LeaseKey, StoredLease>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }
}

impl LeaseStore for MemoryStore {
    fn apply(&mut self, ops: &[StoreOp]) -> Result<Applied, StoreError> {
        // Validated up front so that, like a rolled-back transaction, a
        // refused batch leaves nothing behind.
        validate_ops(ops)?;
        for op in ops {
            match op {
                StoreOp::Upsert(lease) => {
                    self.leases.insert(lease.key(), lease.clone());
                }
                StoreOp::Remove { .. } => {
                    self.leases.remove(&op.key());
                }
            }
        }
        // One writer: nothing is ever rejected.
        Ok(Applied::default())
    }

    fn visit(&self, f: &mut dyn FnMut(StoredLease)) -> Result<(), StoreError> {
        self.leases.values().cloned().for_each(f);
        Ok(())
    }

    fn get(
        &self,
        kind: LeaseKind,
        addr: Ipv6Addr,
        prefix_len: u8,
    ) -> Result<Option<StoredLease>, StoreError> {
        Ok(self
            .leases
            .get(&LeaseKey {
                kind,
                addr,
                prefix_len,
            })
            .cloned())
    }

    fn find_by_duid(&self, duid: &[u8]) -> Result<Vec<StoredLease>, StoreError> {
        Ok(self
            .leases
            .values()
            .filter(|l| l.duid == duid)
            .cloned()
            .collect())
    }

    fn remove_expired(&mut self, now_unix: u64) -> Result<usize, StoreError> {
        let before = self.leases.len();
        self.leases.retain(|_, l| l.valid_until > now_unix);
        Ok(before - self.leases.len())
    }

    fn count(&self) -> Result<u64, StoreError> {
        Ok(self.leases.len() as u64)
    }

    fn flush(&mut self) -> Result<(), StoreError> {
        Ok(())
    }
}
