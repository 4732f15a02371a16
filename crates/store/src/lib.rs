//! The v6edge lease store: where the DHCPv6 server's leases become durable.
//!
//! # Why it exists
//!
//! The delegating-server contract (issue 3, style guide §3 "Ordering rule")
//! says a Reply that grants or extends a lease leaves only after that lease is
//! on disk, so a lease acknowledged to a client survives `kill -9` and power
//! loss. RFC 8415 §18.3 leaves storage to the server, but a server that
//! forgets a binding it granted may hand the same address or prefix to a
//! second client while the first still uses it; for delegated prefixes that
//! also loses the route the requesting router depends on (RFC 8415 §6.3).
//!
//! To keep throughput, the daemon uses *group commit*: it collects the
//! [`StoreOp`]s of many handled packets and hands them to one
//! [`LeaseStore::apply`] call, which is one durable transaction. Only when it
//! returns `Ok` does the daemon release the Transmits and KernelOps queued
//! behind those ops. On `Err`, none of the batch may be treated as durable.
//!
//! # Backends
//!
//! - [`SqliteStore`]: the production store (SQLite, WAL journal,
//!   `synchronous=FULL`; see the [`sqlite`] module for why FULL).
//! - [`MemoryStore`]: for tests and for `--store memory` benchmarks. Nothing
//!   survives the process.
//! - [`PostgresStore`] (cargo feature `postgres`): one PostgreSQL database
//!   shared by several servers serving the same network (Kea's
//!   shared-database model). Each server allocates from its own in-memory
//!   pools, so two of them may pick the same free prefix at the same moment;
//!   the database's unique key is the arbiter, see below.
//!
//! # Several writers: rejected ops
//!
//! [`LeaseStore::apply`] returns an [`Applied`]: the ops of the batch the
//! store refused *without failing the batch*, each with the lease that
//! holds the key ([`Rejected`]). Only a store shared by several servers
//! rejects anything:
//!
//! - an [`StoreOp::Upsert`] of a key held by a DIFFERENT client (DUID and
//!   IAID) whose lease has not expired (`valid_until` later than the
//!   upsert's `updated_at`, the writer's clock) is not written: the other
//!   server's grant won the race. The caller must not acknowledge that lease
//!   (withhold the Reply and the route) and should tell its machine about
//!   the holder. The same client renewing, or anyone taking over an expired
//!   lease, goes through.
//! - a [`StoreOp::Remove`] of a key this store handle last saw held by one
//!   client is not carried out when the row now belongs to another client or
//!   was extended since (by the other server): the holder is reported so the
//!   caller can learn of it.
//!
//! [`SqliteStore`] and [`MemoryStore`] have one writer and never reject.
//! [`LeaseStore::changes`] lets a shared store report what other writers
//! changed since the last call (a single-writer store reports nothing).
//!
//! # Data model
//!
//! [`StoredLease`] holds wall-clock times (unix seconds): unlike the
//! machine's monotonic `Instant`, they keep their meaning across a reboot. The
//! daemon converts between the two in one place. The unique key is
//! [`LeaseKey`] (kind, address, prefix length): one lease per address or
//! prefix. Keys are canonical: no host bits beyond the prefix length, and
//! addresses are always /128 (checked by [`LeaseKey::validate`]), so the same
//! prefix can never be stored twice under two spellings.
//!
//! # Panic contract
//!
//! Nothing in this crate panics on any input: invalid ops are refused with
//! [`StoreError::InvalidOp`] before a transaction starts, and rows that fail
//! to decode (a damaged or foreign database) give [`StoreError::CorruptRow`].

use std::fmt;
use std::net::Ipv6Addr;
use std::path::PathBuf;

pub mod memory;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod sqlite;

pub use memory::MemoryStore;
#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// What a lease holds. The numbers are Kea's `lease_type` (0 address,
/// 2 prefix), kept as-is in the store so tools that know Kea read them right.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LeaseKind {
    /// An IA_NA address (RFC 8415 §21.4), stored as a /128.
    Address,
    /// An IA_PD delegated prefix (RFC 8415 §21.21).
    Prefix,
}

impl LeaseKind {
    /// Kea's `lease_type` number.
    pub fn as_u8(self) -> u8 {
        match self {
            LeaseKind::Address => 0,
            LeaseKind::Prefix => 2,
        }
    }

    /// The kind for a Kea `lease_type` number; `None` for any other number
    /// (1, temporary addresses, is not something v6edge hands out).
    pub fn from_u8(v: u8) -> Option<LeaseKind> {
        match v {
            0 => Some(LeaseKind::Address),
            2 => Some(LeaseKind::Prefix),
            _ => None,
        }
    }
}

/// The unique key of a lease. Ordered as the store returns leases: by kind
/// (address before prefix), then address octets, then prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LeaseKey {
    pub kind: LeaseKind,
    pub addr: Ipv6Addr,
    pub prefix_len: u8,
}

impl LeaseKey {
    /// Checks the key is canonical: a prefix length of at most 128, no bits
    /// set past it, and /128 for an address.
    pub fn validate(&self) -> Result<(), InvalidReason> {
        if self.prefix_len > 128 {
            return Err(InvalidReason::PrefixLenTooLong(self.prefix_len));
        }
        if self.kind == LeaseKind::Address && self.prefix_len != 128 {
            return Err(InvalidReason::AddressNotHost(self.prefix_len));
        }
        let bits = u128::from(self.addr);
        let host_mask = u128::MAX
            .checked_shr(u32::from(self.prefix_len))
            .unwrap_or(0);
        if bits & host_mask != 0 {
            return Err(InvalidReason::HostBitsSet);
        }
        Ok(())
    }
}

impl fmt::Display for LeaseKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            LeaseKind::Address => "address",
            LeaseKind::Prefix => "prefix",
        };
        write!(f, "{kind} {}/{}", self.addr, self.prefix_len)
    }
}

/// A lease as the store keeps it. Times are unix seconds (wall clock).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLease {
    /// The client's DUID, as received (RFC 8415 §11).
    pub duid: Vec<u8>,
    pub iaid: u32,
    pub kind: LeaseKind,
    /// The delegated prefix, or the address itself.
    pub addr: Ipv6Addr,
    /// The prefix length; always 128 for an address.
    pub prefix_len: u8,
    /// Unix seconds at which the preferred lifetime ends.
    pub preferred_until: u64,
    /// Unix seconds at which the lease expires ([`LeaseStore::remove_expired`]
    /// removes it once `now >= valid_until`).
    pub valid_until: u64,
    /// The pool-selection key: `"if:<ifindex>"` for a direct client,
    /// `"relay:<link-address>"` for a relayed one. Opaque to the store.
    pub link: String,
    /// Where the route to a delegated prefix points; `None` for addresses.
    pub next_hop: Option<Ipv6Addr>,
    /// The interface the route goes out of.
    pub ifindex: u32,
    /// The client's link-layer address (RFC 6939), if known.
    pub hw_addr: Option<Vec<u8>>,
    /// Unix seconds of the last write of this lease.
    pub updated_at: u64,
    /// The client's Reconfigure context (RFC 8415 §18.3.11, §20.4: its
    /// reconfigure key and the path a Reconfigure takes to it), encoded by
    /// the server machine; `None` when the client did not accept
    /// Reconfigure. Opaque to the store.
    pub reconfigure: Option<Vec<u8>>,
    /// The DUID of the server that granted or last extended the lease. In a
    /// store shared by several servers it tells a restarting server which
    /// leases are its own to route; `None` in leases written before the
    /// store kept it. Opaque to the store.
    pub server: Option<Vec<u8>>,
}

impl StoredLease {
    /// The lease's unique key.
    pub fn key(&self) -> LeaseKey {
        LeaseKey {
            kind: self.kind,
            addr: self.addr,
            prefix_len: self.prefix_len,
        }
    }

    /// Checks what the store needs to keep the lease faithfully: a canonical
    /// key, and times that fit SQLite's signed 64-bit integers.
    pub fn validate(&self) -> Result<(), InvalidReason> {
        self.key().validate()?;
        for (field, value) in [
            ("preferred_until", self.preferred_until),
            ("valid_until", self.valid_until),
            ("updated_at", self.updated_at),
        ] {
            if i64::try_from(value).is_err() {
                return Err(InvalidReason::TimeOutOfRange { field, value });
            }
        }
        Ok(())
    }
}

/// A change to make durable: the store-side form of the server's `LeaseOp`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreOp {
    /// Insert the lease, or replace the one with the same key.
    Upsert(StoredLease),
    /// Delete the lease with this key; deleting a missing lease is not an
    /// error (a Release may race an expiry).
    Remove {
        kind: LeaseKind,
        addr: Ipv6Addr,
        prefix_len: u8,
    },
}

impl StoreOp {
    /// The key this op touches.
    pub fn key(&self) -> LeaseKey {
        match self {
            StoreOp::Upsert(lease) => lease.key(),
            StoreOp::Remove {
                kind,
                addr,
                prefix_len,
            } => LeaseKey {
                kind: *kind,
                addr: *addr,
                prefix_len: *prefix_len,
            },
        }
    }

    fn validate(&self) -> Result<(), InvalidReason> {
        match self {
            StoreOp::Upsert(lease) => lease.validate(),
            StoreOp::Remove { .. } => self.key().validate(),
        }
    }
}

/// What [`LeaseStore::apply`] reports about a batch it committed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// Ops the store did not carry out because another client holds the key
    /// (see the module documentation), in batch order. Always empty for a
    /// single-writer store.
    pub rejected: Vec<Rejected>,
}

/// One op of a batch that was not carried out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// Index of the op in the batch given to [`LeaseStore::apply`].
    pub index: usize,
    /// The lease that holds the key in the store.
    pub holder: StoredLease,
}

/// A change made by another writer of a shared store
/// ([`LeaseStore::changes`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The lease was written (granted, renewed or taken over).
    Held(StoredLease),
    /// The lease with this key was deleted (released or expired).
    Gone(LeaseKey),
}

/// Checks every op of a batch before any of it is written, so a bad op
/// refuses the whole batch and leaves the store untouched.
pub(crate) fn validate_ops(ops: &[StoreOp]) -> Result<(), StoreError> {
    for (index, op) in ops.iter().enumerate() {
        op.validate().map_err(|reason| StoreError::InvalidOp {
            index,
            total: ops.len(),
            key: op.key(),
            reason,
        })?;
    }
    Ok(())
}

/// What both SQL stores check of the schema version a database holds
/// before migrating it: not newer than this code understands (a newer
/// v6edge wrote it; refusing loses nothing), not negative (damaged).
pub(crate) fn check_schema_version(
    path: &std::path::Path,
    found: i64,
    supported: i64,
) -> Result<(), StoreError> {
    if found > supported {
        return Err(StoreError::NewerSchema {
            path: path.to_path_buf(),
            found,
            supported,
        });
    }
    if found < 0 {
        return Err(StoreError::BadSchema {
            path: path.to_path_buf(),
            reason: format!("negative schema version {found}"),
        });
    }
    Ok(())
}

/// Why an op was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidReason {
    #[error("prefix length {0} is longer than 128")]
    PrefixLenTooLong(u8),
    #[error("an address lease must be /128, not /{0}")]
    AddressNotHost(u8),
    #[error("bits are set past the prefix length (key not canonical)")]
    HostBitsSet,
    #[error("{field} = {value} does not fit a signed 64-bit integer")]
    TimeOutOfRange { field: &'static str, value: u64 },
}

/// Lease-store failures. Each carries what was being done and, where there is
/// one, the database path (for PostgreSQL, `path` holds a description of
/// the database: `postgres://USER@HOST/DBNAME`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("{}: cannot open the lease database", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("{}: cannot sync directory {}", path.display(), dir.display())]
    SyncDir {
        path: PathBuf,
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: journal mode is {got:?}; the store needs WAL (is the filesystem able to hold a -wal and -shm file?)", path.display())]
    NoWal { path: PathBuf, got: String },
    #[error(
        "{}: lease database schema version {found} is newer than this v6edge understands \
         (up to {supported}); refusing to open it. Run the v6edge that wrote it, or restore a backup",
        path.display()
    )]
    NewerSchema {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error("{}: lease database schema is damaged: {reason}", path.display())]
    BadSchema { path: PathBuf, reason: String },
    #[error("{}: schema migration {from} -> {to} failed", path.display())]
    Migration {
        path: PathBuf,
        from: i64,
        to: i64,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "op {index} of a batch of {total} ({key}) refused: {reason}; nothing of the batch was written"
    )]
    InvalidOp {
        index: usize,
        total: usize,
        key: LeaseKey,
        reason: InvalidReason,
    },
    #[error("transaction of {ops} ops failed; none of them may be treated as durable")]
    Commit {
        ops: usize,
        #[source]
        source: rusqlite::Error,
    },
    #[error("lease database {what} failed")]
    Query {
        what: &'static str,
        #[source]
        source: rusqlite::Error,
    },
    #[error("lease database row {row} is corrupt: {reason}")]
    CorruptRow { row: String, reason: String },
    /// A PostgreSQL operation failed. `target` names the database (host,
    /// database and user; never a password).
    #[cfg(feature = "postgres")]
    #[error("{target}: lease database {what} failed")]
    Postgres {
        target: String,
        what: &'static str,
        #[source]
        source: ::postgres::Error,
    },
    /// A PostgreSQL transaction failed: none of the batch may be treated as
    /// durable.
    #[cfg(feature = "postgres")]
    #[error("{target}: transaction of {ops} ops failed; none of them may be treated as durable")]
    PostgresCommit {
        target: String,
        ops: usize,
        #[source]
        source: ::postgres::Error,
    },
    /// The PostgreSQL store's connection thread is gone (it could not be
    /// started, or it ended); the store cannot be used any more.
    #[cfg(feature = "postgres")]
    #[error("{target}: the lease database connection thread is gone")]
    PostgresWorker { target: String },
    /// The connection to the PostgreSQL server is lost (or the server did
    /// not answer in time); the store reconnects by itself
    /// ([`LeaseStore::health`]). Nothing was written by this call.
    #[cfg(feature = "postgres")]
    #[error("{target}: lease database unavailable ({reason}); reconnecting")]
    PostgresUnavailable { target: String, reason: String },
    /// The TLS settings of the connection string cannot be used (a
    /// certificate file that is missing or unreadable, a bad `sslmode`).
    #[cfg(feature = "postgres")]
    #[error("{target}: TLS settings: {reason}")]
    PostgresTls { target: String, reason: String },
}

/// What a store knows of its database connection ([`LeaseStore::health`]).
/// A local store (SQLite, memory) is always available.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreHealth {
    /// Writes can be attempted now. While false every [`LeaseStore::apply`]
    /// fails at once (nothing is written) and the store tries to reconnect
    /// on its own.
    pub available: bool,
    /// Unix seconds at which `available` last changed (the open, for a
    /// store that never lost its database).
    pub since_unix: u64,
    /// Why the connection was last lost or a reconnection failed.
    pub last_error: Option<String>,
    /// Times the connection was lost.
    pub losses: u64,
    /// Times it was re-established.
    pub reconnects: u64,
    /// The connection is encrypted (TLS).
    pub tls: bool,
}

impl StoreHealth {
    /// A store with no connection to lose.
    pub fn local() -> StoreHealth {
        StoreHealth {
            available: true,
            since_unix: 0,
            last_error: None,
            losses: 0,
            reconnects: 0,
            tls: false,
        }
    }
}

/// A place leases become durable. Object safe: the daemon holds a
/// `Box<dyn LeaseStore + Send>` and runs it on its store worker.
pub trait LeaseStore {
    /// Applies the ops in order as ONE transaction, durable when this returns
    /// `Ok` (group commit). On `Err` the batch as a whole did not happen: the
    /// caller must not release replies waiting on it. A batch may name the
    /// same key several times; the last op wins. An empty batch is a no-op.
    ///
    /// In a store shared by several servers some ops may be refused without
    /// failing the batch; they are listed in [`Applied::rejected`] and
    /// nothing else of the batch is affected (module documentation).
    fn apply(&mut self, ops: &[StoreOp]) -> Result<Applied, StoreError>;

    /// Leases other writers of a shared store changed since the previous
    /// call (or since the store was opened), oldest first. A single-writer
    /// store has none. Best effort: a change can be reported late, never
    /// wrongly; correctness does not depend on it, since [`apply`] is the
    /// arbiter.
    ///
    /// [`apply`]: LeaseStore::apply
    fn changes(&mut self) -> Result<Vec<Change>, StoreError> {
        Ok(Vec::new())
    }

    /// Calls `f` for every lease, in [`LeaseKey`] order, without holding all
    /// of them in memory: the daemon's warm start (`Server::restore`) can
    /// convert leases one at a time.
    fn visit(&self, f: &mut dyn FnMut(StoredLease)) -> Result<(), StoreError>;

    /// Every lease, in [`LeaseKey`] order.
    fn load_all(&self) -> Result<Vec<StoredLease>, StoreError> {
        let hint = usize::try_from(self.count()?).unwrap_or(0);
        let mut out = Vec::with_capacity(hint);
        self.visit(&mut |lease| out.push(lease))?;
        Ok(out)
    }

    /// The lease with this key, if any.
    fn get(
        &self,
        kind: LeaseKind,
        addr: Ipv6Addr,
        prefix_len: u8,
    ) -> Result<Option<StoredLease>, StoreError>;

    /// Every lease of a client, in [`LeaseKey`] order.
    fn find_by_duid(&self, duid: &[u8]) -> Result<Vec<StoredLease>, StoreError>;

    /// Deletes every lease with `valid_until <= now_unix` (RFC 8415 §6.3: an
    /// expired binding is no longer the client's) in one transaction and
    /// returns how many went.
    fn remove_expired(&mut self, now_unix: u64) -> Result<usize, StoreError>;

    /// How many leases the store holds.
    fn count(&self) -> Result<u64, StoreError>;

    /// Whether the store can take writes now, and its connection's history.
    /// Cheap (no round trip).
    fn health(&self) -> StoreHealth {
        StoreHealth::local()
    }

    /// `health().available`, without copying the rest: an atomic load.
    fn is_available(&self) -> bool {
        true
    }

    /// Housekeeping at a quiet moment or at shutdown (SQLite: checkpoints the
    /// WAL into the main file). Durability never depends on it: `apply`
    /// already made its batch durable.
    fn flush(&mut self) -> Result<(), StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(kind: LeaseKind, addr: &str, prefix_len: u8) -> LeaseKey {
        LeaseKey {
            kind,
            addr: addr.parse().expect("test literal"),
            prefix_len,
        }
    }

    #[test]
    fn kind_numbers_are_keas() {
        assert_eq!(LeaseKind::Address.as_u8(), 0);
        assert_eq!(LeaseKind::Prefix.as_u8(), 2);
        assert_eq!(LeaseKind::from_u8(0), Some(LeaseKind::Address));
        assert_eq!(LeaseKind::from_u8(2), Some(LeaseKind::Prefix));
        assert_eq!(LeaseKind::from_u8(1), None);
        assert_eq!(LeaseKind::from_u8(255), None);
    }

    #[test]
    fn canonical_keys_pass() {
        assert_eq!(
            key(LeaseKind::Prefix, "2001:db8:100::", 56).validate(),
            Ok(())
        );
        assert_eq!(key(LeaseKind::Prefix, "::", 0).validate(), Ok(()));
        assert_eq!(
            key(LeaseKind::Address, "2001:db8::1", 128).validate(),
            Ok(())
        );
    }

    #[test]
    fn non_canonical_keys_fail() {
        assert_eq!(
            key(LeaseKind::Prefix, "2001:db8:100::1", 56).validate(),
            Err(InvalidReason::HostBitsSet)
        );
        assert_eq!(
            key(LeaseKind::Prefix, "2001:db8::", 129).validate(),
            Err(InvalidReason::PrefixLenTooLong(129))
        );
        assert_eq!(
            key(LeaseKind::Address, "2001:db8::", 64).validate(),
            Err(InvalidReason::AddressNotHost(64))
        );
    }

    #[test]
    fn key_order_is_kind_then_octets_then_length() {
        let mut keys = [
            key(LeaseKind::Prefix, "2001:db8::", 48),
            key(LeaseKind::Address, "2001:db8::2", 128),
            key(LeaseKind::Prefix, "2001:db8::", 32),
            key(LeaseKind::Address, "2001:db8::1", 128),
            key(LeaseKind::Prefix, "2001:db7::", 48),
        ];
        keys.sort();
        let shown: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        assert_eq!(
            shown,
            [
                "address 2001:db8::1/128",
                "address 2001:db8::2/128",
                "prefix 2001:db7::/48",
                "prefix 2001:db8::/32",
                "prefix 2001:db8::/48",
            ]
        );
    }
}
