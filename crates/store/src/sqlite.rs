//! The production [`LeaseStore`]: one SQLite file, WAL journal,
//! `synchronous=FULL`, one transaction per [`LeaseStore::apply`].
//!
//! # Durability settings, and why
//!
//! - `journal_mode=WAL`: a commit appends to the `-wal` file and needs one
//!   `fsync` of it, instead of the rollback journal's several syncs of two
//!   files; readers (a `leases` CLI) do not block the writer.
//! - `synchronous=FULL`: in WAL mode SQLite then syncs the WAL at every
//!   commit. With `NORMAL` it syncs only at checkpoints, which survives a
//!   process crash (`kill -9`: the data is in the OS page cache) but may lose
//!   the last transactions on power loss or a kernel crash. Those are leases
//!   already acknowledged to clients, exactly what the ordering rule forbids,
//!   so NORMAL is not an option. Both settings are read back after being set.
//! - SQLite syncs the directory when it creates the `-wal` file; we also sync
//!   the database's directory once after opening, so a freshly created
//!   database file's directory entry is durable before the first lease is
//!   acknowledged.
//! - Group commit makes this affordable: the fsync is paid once per batch, not
//!   once per lease (see `examples/store_bench.rs`).
//!
//! # Schema
//!
//! `schema_version` holds one row with the version number; [`MIGRATIONS`]
//! lists, in order, the SQL that takes the schema from version `n - 1` to
//! `n`. Opening runs the missing migrations in one transaction and refuses a
//! database whose version is newer than [`SCHEMA_VERSION`] (written by a newer
//! v6edge: guessing at its meaning could lose leases).
//!
//! `lease6` is a `WITHOUT ROWID` table clustered on its primary key
//! `(kind, address, prefix_len)`, so a full scan returns leases in
//! [`LeaseKey`] order without sorting, and the row lives in the key's B-tree
//! (no separate rowid table to update). Addresses and next hops are 16-byte
//! BLOBs (exact, compact, and `memcmp` order is address order); DUIDs and
//! hardware addresses are BLOBs.
//! Secondary indexes: `valid_until` (expiry sweep) and `(duid, iaid)`.
//!
//! # Cost model
//!
//! A commit costs one WAL fsync plus one page write per page it dirtied.
//! New leases with neighbouring keys share pages; random renewals in a large
//! store dirty about two pages each (table leaf and the old `valid_until`
//! entry; the renewal statement leaves the `(duid, iaid)` index alone), so
//! at large batch sizes they are bound by WAL and checkpoint bandwidth, not
//! by fsyncs. SQLite's automatic checkpoint (every 1000 WAL pages) runs in
//! the committing call and is where the p99 latency comes from.
//!
//! Panic contract: no method panics; a row that does not decode gives
//! [`StoreError::CorruptRow`].

use std::fs::File;
use std::net::Ipv6Addr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, Row, TransactionBehavior, params};

use crate::{
    Applied, LeaseKey, LeaseKind, LeaseStore, StoreError, StoreOp, StoredLease,
    check_schema_version, validate_ops,
};

/// The schema version this code reads and writes.
pub const SCHEMA_VERSION: i64 = 3;

/// `MIGRATIONS[n - 1]` takes the schema from version `n - 1` to `n`. Append
/// only: a released migration never changes.
pub const MIGRATIONS: &[&str] = &[
    // 0 -> 1: the initial schema.
    "CREATE TABLE schema_version (
         singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
         version   INTEGER NOT NULL
     );
     INSERT INTO schema_version (singleton, version) VALUES (1, 0);
     CREATE TABLE lease6 (
         kind            INTEGER NOT NULL CHECK (kind IN (0, 2)),
         address         BLOB    NOT NULL CHECK (length(address) = 16),
         prefix_len      INTEGER NOT NULL CHECK (prefix_len BETWEEN 0 AND 128),
         duid            BLOB    NOT NULL,
         iaid            INTEGER NOT NULL,
         preferred_until INTEGER NOT NULL,
         valid_until     INTEGER NOT NULL,
         link            TEXT    NOT NULL,
         next_hop        BLOB    CHECK (next_hop IS NULL OR length(next_hop) = 16),
         ifindex         INTEGER NOT NULL,
         hw_addr         BLOB,
         updated_at      INTEGER NOT NULL,
         PRIMARY KEY (kind, address, prefix_len)
     ) WITHOUT ROWID;
     CREATE INDEX lease6_valid_until ON lease6 (valid_until);
     CREATE INDEX lease6_duid ON lease6 (duid, iaid);",
    // 1 -> 2: the client's Reconfigure context (RFC 8415 §18.3.11, §20.4).
    "ALTER TABLE lease6 ADD COLUMN reconfigure BLOB;",
    // 2 -> 3: the DUID of the server that granted the lease.
    "ALTER TABLE lease6 ADD COLUMN server BLOB;",
];

const COLUMNS: &str = "kind, address, prefix_len, duid, iaid, preferred_until, valid_until, \
                       link, next_hop, ifindex, hw_addr, updated_at, reconfigure, server";

const UPSERT: &str = "INSERT INTO lease6 (kind, address, prefix_len, duid, iaid, \
     preferred_until, valid_until, link, next_hop, ifindex, hw_addr, updated_at, reconfigure, \
     server) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) \
     ON CONFLICT (kind, address, prefix_len) DO UPDATE SET \
     duid = excluded.duid, iaid = excluded.iaid, \
     preferred_until = excluded.preferred_until, valid_until = excluded.valid_until, \
     link = excluded.link, next_hop = excluded.next_hop, ifindex = excluded.ifindex, \
     hw_addr = excluded.hw_addr, updated_at = excluded.updated_at, \
     reconfigure = excluded.reconfigure, server = excluded.server";

/// The renewal path: same key, same client. Its SET list leaves out `duid`
/// and `iaid`, so SQLite does not touch the `(duid, iaid)` index at all: one
/// dirty page fewer per renewal, which is most of the write traffic of a big
/// server (random renewals are bound by pages written to the WAL, not by
/// fsyncs). When no row matches, `apply` falls back to [`UPSERT`].
const RENEW: &str = "UPDATE lease6 SET preferred_until = ?4, valid_until = ?5, link = ?6, \
     next_hop = ?7, ifindex = ?8, hw_addr = ?9, updated_at = ?10, reconfigure = ?13, server = ?14 \
     WHERE kind = ?1 AND address = ?2 AND prefix_len = ?3 AND duid = ?11 AND iaid = ?12";

const REMOVE: &str = "DELETE FROM lease6 WHERE kind = ?1 AND address = ?2 AND prefix_len = ?3";

/// How long a write waits for another connection's write lock (a second
/// process such as a CLI) before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// WAL size kept after a checkpoint, so one burst does not leave a huge file.
const JOURNAL_SIZE_LIMIT: i64 = 64 * 1024 * 1024;

/// The SQLite lease store. `Send` (not `Sync`): one store worker owns it.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
}

impl SqliteStore {
    /// Opens (creating if needed) the lease database at `path`, sets the
    /// durable journal settings, and brings the schema to [`SCHEMA_VERSION`].
    /// Refuses a database from a newer v6edge ([`StoreError::NewerSchema`])
    /// and a file that is not a v6edge lease database
    /// ([`StoreError::BadSchema`]). `:memory:` is refused too (no WAL).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        let open_err = |source| StoreError::Open {
            path: path.clone(),
            source,
        };
        let conn = Connection::open(&path).map_err(open_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;

        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(open_err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::NoWal { path, got: mode });
        }
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(open_err)?;
        let sync: i64 = conn
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .map_err(open_err)?;
        // 2 = FULL (https://sqlite.org/pragma.html#pragma_synchronous).
        if sync != 2 {
            return Err(StoreError::BadSchema {
                path,
                reason: format!("PRAGMA synchronous reads back {sync}, expected 2 (FULL)"),
            });
        }
        conn.pragma_update(None, "journal_size_limit", JOURNAL_SIZE_LIMIT)
            .map_err(open_err)?;
        conn.set_prepared_statement_cache_capacity(16);

        let mut store = SqliteStore { conn, path };
        store.migrate()?;
        store.sync_dir()?;
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version stored in the database.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.conn
            .query_row(
                "SELECT version FROM schema_version WHERE singleton = 1",
                [],
                |r| r.get(0),
            )
            .map_err(|source| StoreError::Query {
                what: "schema version read",
                source,
            })
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let path = self.path.clone();
        let open_err = |source| StoreError::Open {
            path: path.clone(),
            source,
        };
        // IMMEDIATE: take the write lock before reading the version, so two
        // processes opening a new file cannot both run migration 1.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(open_err)?;
        let has_version_table: bool = tx
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master \
                 WHERE type = 'table' AND name = 'schema_version')",
                [],
                |r| r.get(0),
            )
            .map_err(open_err)?;
        let found: i64 = if has_version_table {
            let mut stmt = tx
                .prepare("SELECT version FROM schema_version")
                .map_err(open_err)?;
            let versions: Vec<i64> = stmt
                .query_map([], |r| r.get(0))
                .and_then(|rows| rows.collect())
                .map_err(open_err)?;
            match versions.as_slice() {
                [v] => *v,
                other => {
                    return Err(StoreError::BadSchema {
                        path,
                        reason: format!("schema_version has {} rows, expected 1", other.len()),
                    });
                }
            }
        } else {
            let tables: i64 = tx
                .query_row(
                    "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'",
                    [],
                    |r| r.get(0),
                )
                .map_err(open_err)?;
            if tables != 0 {
                return Err(StoreError::BadSchema {
                    path,
                    reason: format!(
                        "{tables} tables or indexes but no schema_version table: \
                         not a v6edge lease database"
                    ),
                });
            }
            0
        };
        check_schema_version(&path, found, SCHEMA_VERSION)?;
        for to in (found + 1)..=SCHEMA_VERSION {
            let migration_err = |source| StoreError::Migration {
                path: path.clone(),
                from: to - 1,
                to,
                source,
            };
            // `to` is in 1..=SCHEMA_VERSION = 1..=MIGRATIONS.len() (checked by
            // a test), so the index exists; `get` keeps it panic-free anyway.
            let sql = usize::try_from(to - 1)
                .ok()
                .and_then(|i| MIGRATIONS.get(i))
                .ok_or_else(|| StoreError::BadSchema {
                    path: path.clone(),
                    reason: format!("no migration to version {to}"),
                })?;
            tx.execute_batch(sql).map_err(migration_err)?;
            tx.execute(
                "UPDATE schema_version SET version = ?1 WHERE singleton = 1",
                [to],
            )
            .map_err(migration_err)?;
            tracing::info!(path = %path.display(), from = to - 1, to, "lease database migrated");
        }
        tx.commit().map_err(open_err)
    }

    /// Makes the database file's directory entry durable.
    fn sync_dir(&self) -> Result<(), StoreError> {
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(|source| StoreError::SyncDir {
                path: self.path.clone(),
                dir,
                source,
            })
    }

    fn query_leases(
        &self,
        what: &'static str,
        sql: &str,
        params: impl rusqlite::Params,
        f: &mut dyn FnMut(StoredLease),
    ) -> Result<(), StoreError> {
        let query_err = |source| StoreError::Query { what, source };
        let mut stmt = self.conn.prepare_cached(sql).map_err(query_err)?;
        let mut rows = stmt.query(params).map_err(query_err)?;
        while let Some(row) = rows.next().map_err(query_err)? {
            f(decode_row(row)?);
        }
        Ok(())
    }
}

/// Unix seconds as SQLite's signed integer. Values were checked by
/// `validate_ops`; saturating keeps this total anyway.
fn sql_time(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// The three prepared statements `apply` uses.
struct Statements<'c> {
    renew: rusqlite::CachedStatement<'c>,
    upsert: rusqlite::CachedStatement<'c>,
    remove: rusqlite::CachedStatement<'c>,
}

fn write_op(st: &mut Statements<'_>, op: &StoreOp) -> rusqlite::Result<()> {
    match op {
        StoreOp::Upsert(l) => {
            let renewed = st.renew.execute(params![
                l.kind.as_u8(),
                l.addr.octets(),
                l.prefix_len,
                sql_time(l.preferred_until),
                sql_time(l.valid_until),
                l.link,
                l.next_hop.map(|a| a.octets()),
                l.ifindex,
                l.hw_addr,
                sql_time(l.updated_at),
                l.duid,
                l.iaid,
                l.reconfigure,
                l.server,
            ])?;
            if renewed == 0 {
                write_upsert(&mut st.upsert, l)?;
            }
            Ok(())
        }
        StoreOp::Remove {
            kind,
            addr,
            prefix_len,
        } => st
            .remove
            .execute(params![kind.as_u8(), addr.octets(), prefix_len])
            .map(|_| ()),
    }
}

fn write_upsert(
    upsert: &mut rusqlite::CachedStatement<'_>,
    l: &StoredLease,
) -> rusqlite::Result<usize> {
    upsert.execute(params![
        l.kind.as_u8(),
        l.addr.octets(),
        l.prefix_len,
        l.duid,
        l.iaid,
        sql_time(l.preferred_until),
        sql_time(l.valid_until),
        l.link,
        l.next_hop.map(|a| a.octets()),
        l.ifindex,
        l.hw_addr,
        sql_time(l.updated_at),
        l.reconfigure,
        l.server,
    ])
}

impl LeaseStore for SqliteStore {
    fn apply(&mut self, ops: &[StoreOp]) -> Result<Applied, StoreError> {
        if ops.is_empty() {
            return Ok(Applied::default());
        }
        validate_ops(ops)?;
        let commit_err = |source| StoreError::Commit {
            ops: ops.len(),
            source,
        };
        // Dropping `tx` on any error path rolls the whole batch back.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(commit_err)?;
        {
            let mut st = Statements {
                renew: tx.prepare_cached(RENEW).map_err(commit_err)?,
                upsert: tx.prepare_cached(UPSERT).map_err(commit_err)?,
                remove: tx.prepare_cached(REMOVE).map_err(commit_err)?,
            };
            for op in ops {
                write_op(&mut st, op).map_err(commit_err)?;
            }
        }
        // With synchronous=FULL, COMMIT returns after the WAL is fsynced.
        tx.commit().map_err(commit_err)?;
        // One writer (the file is this server's): nothing is ever rejected.
        Ok(Applied::default())
    }

    fn visit(&self, f: &mut dyn FnMut(StoredLease)) -> Result<(), StoreError> {
        // ORDER BY the primary key of a WITHOUT ROWID table: a plain scan of
        // the table's B-tree, no sort, rows streamed one at a time.
        let sql = format!("SELECT {COLUMNS} FROM lease6 ORDER BY kind, address, prefix_len");
        self.query_leases("lease scan", &sql, [], f)
    }

    fn get(
        &self,
        kind: LeaseKind,
        addr: Ipv6Addr,
        prefix_len: u8,
    ) -> Result<Option<StoredLease>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM lease6 WHERE kind = ?1 AND address = ?2 AND prefix_len = ?3"
        );
        let mut found = None;
        self.query_leases(
            "lease lookup",
            &sql,
            params![kind.as_u8(), addr.octets(), prefix_len],
            &mut |l| found = Some(l),
        )?;
        Ok(found)
    }

    fn find_by_duid(&self, duid: &[u8]) -> Result<Vec<StoredLease>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM lease6 WHERE duid = ?1 ORDER BY kind, address, prefix_len"
        );
        let mut out = Vec::new();
        self.query_leases("lease lookup by duid", &sql, [duid], &mut |l| out.push(l))?;
        Ok(out)
    }

    fn remove_expired(&mut self, now_unix: u64) -> Result<usize, StoreError> {
        let commit_err = |source| StoreError::Commit { ops: 1, source };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(commit_err)?;
        let removed = tx
            .execute(
                "DELETE FROM lease6 WHERE valid_until <= ?1",
                [sql_time(now_unix)],
            )
            .map_err(commit_err)?;
        tx.commit().map_err(commit_err)?;
        Ok(removed)
    }

    fn count(&self) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn
            .query_row("SELECT count(*) FROM lease6", [], |r| r.get(0))
            .map_err(|source| StoreError::Query {
                what: "lease count",
                source,
            })?;
        // count(*) is never negative.
        Ok(u64::try_from(n).unwrap_or(0))
    }

    fn flush(&mut self) -> Result<(), StoreError> {
        // TRUNCATE: copy the WAL into the main file, fsync it, and empty the
        // WAL. The result row is (busy, wal pages, checkpointed pages); busy
        // means a reader held it back, which only delays the next try.
        let busy: i64 = self
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))
            .map_err(|source| StoreError::Query {
                what: "WAL checkpoint",
                source,
            })?;
        if busy != 0 {
            tracing::debug!(path = %self.path.display(), "WAL checkpoint incomplete: readers active");
        }
        Ok(())
    }
}

/// Builds a lease from a row of [`COLUMNS`], reporting what is wrong with a
/// row that does not fit (a damaged file, or one edited by hand).
fn decode_row(row: &Row<'_>) -> Result<StoredLease, StoreError> {
    let mut key_text = String::from("(key unreadable)");
    decode_fields(row, &mut key_text).map_err(|reason| StoreError::CorruptRow {
        row: key_text,
        reason,
    })
}

fn decode_fields(row: &Row<'_>, key_text: &mut String) -> Result<StoredLease, String> {
    let kind_num = int(row, 0, "kind")?;
    let kind = u8::try_from(kind_num)
        .ok()
        .and_then(LeaseKind::from_u8)
        .ok_or_else(|| format!("unknown kind {kind_num}"))?;
    let addr = addr16(row, 1, "address")?;
    let prefix_len = u8::try_from(int(row, 2, "prefix_len")?)
        .map_err(|_| "prefix_len out of range".to_string())?;
    let key = LeaseKey {
        kind,
        addr,
        prefix_len,
    };
    *key_text = key.to_string();
    key.validate().map_err(|e| e.to_string())?;
    let next_hop = match value(row, 8, "next_hop")? {
        ValueRef::Null => None,
        _ => Some(addr16(row, 8, "next_hop")?),
    };
    let hw_addr = match value(row, 10, "hw_addr")? {
        ValueRef::Null => None,
        v => Some(as_blob(v, "hw_addr")?.to_vec()),
    };
    let link = match value(row, 7, "link")? {
        ValueRef::Text(t) => {
            String::from_utf8(t.to_vec()).map_err(|_| "link is not UTF-8".to_string())?
        }
        _ => return Err("link is not text".to_string()),
    };
    Ok(StoredLease {
        duid: as_blob(value(row, 3, "duid")?, "duid")?.to_vec(),
        iaid: u32::try_from(int(row, 4, "iaid")?).map_err(|_| "iaid out of range".to_string())?,
        kind,
        addr,
        prefix_len,
        preferred_until: time(row, 5, "preferred_until")?,
        valid_until: time(row, 6, "valid_until")?,
        link,
        next_hop,
        ifindex: u32::try_from(int(row, 9, "ifindex")?)
            .map_err(|_| "ifindex out of range".to_string())?,
        hw_addr,
        updated_at: time(row, 11, "updated_at")?,
        reconfigure: match value(row, 12, "reconfigure")? {
            ValueRef::Null => None,
            v => Some(as_blob(v, "reconfigure")?.to_vec()),
        },
        server: match value(row, 13, "server")? {
            ValueRef::Null => None,
            v => Some(as_blob(v, "server")?.to_vec()),
        },
    })
}

fn value<'r>(row: &'r Row<'_>, idx: usize, name: &str) -> Result<ValueRef<'r>, String> {
    row.get_ref(idx).map_err(|e| format!("{name}: {e}"))
}

fn int(row: &Row<'_>, idx: usize, name: &str) -> Result<i64, String> {
    match value(row, idx, name)? {
        ValueRef::Integer(i) => Ok(i),
        other => Err(format!("{name} is {:?}, not an integer", other.data_type())),
    }
}

fn time(row: &Row<'_>, idx: usize, name: &str) -> Result<u64, String> {
    let v = int(row, idx, name)?;
    u64::try_from(v).map_err(|_| format!("{name} = {v} is negative"))
}

fn as_blob<'r>(v: ValueRef<'r>, name: &str) -> Result<&'r [u8], String> {
    match v {
        ValueRef::Blob(b) => Ok(b),
        other => Err(format!("{name} is {:?}, not a blob", other.data_type())),
    }
}

fn addr16(row: &Row<'_>, idx: usize, name: &str) -> Result<Ipv6Addr, String> {
    let b = as_blob(value(row, idx, name)?, name)?;
    let octets: [u8; 16] = b
        .try_into()
        .map_err(|_| format!("{name} is {} bytes, not 16", b.len()))?;
    Ok(Ipv6Addr::from(octets))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A fresh directory per test, removed on drop.
    struct TempDir(PathBuf);
    impl TempDir {
        fn new(tag: &str) -> Self {
            static N: AtomicUsize = AtomicUsize::new(0);
            let p = std::env::temp_dir().join(format!(
                "v6edge-store-unit-{tag}-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&p).expect("temp dir is writable in tests");
            TempDir(p)
        }
        fn db(&self) -> PathBuf {
            self.0.join("leases.db")
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn migrations_cover_every_version() {
        assert_eq!(usize::try_from(SCHEMA_VERSION).ok(), Some(MIGRATIONS.len()));
    }

    #[test]
    fn new_database_is_wal_full_and_current() {
        let dir = TempDir::new("fresh");
        let store = SqliteStore::open(dir.db()).expect("open");
        assert_eq!(store.schema_version().expect("version"), SCHEMA_VERSION);
        let mode: String = store
            .conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .expect("pragma");
        assert_eq!(mode, "wal");
        let sync: i64 = store
            .conn
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .expect("pragma");
        assert_eq!(sync, 2);
        // The expiry sweep and the DUID lookup use their indexes.
        let plan = |sql: &str| -> String {
            let mut stmt = store
                .conn
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .expect("plan");
            let rows: Vec<String> = stmt
                .query_map([], |r| r.get::<_, String>(3))
                .expect("plan rows")
                .collect::<Result<_, _>>()
                .expect("plan rows");
            rows.join("; ")
        };
        assert!(
            plan("DELETE FROM lease6 WHERE valid_until <= 5").contains("lease6_valid_until"),
            "{}",
            plan("DELETE FROM lease6 WHERE valid_until <= 5")
        );
        assert!(plan("SELECT * FROM lease6 WHERE duid = x'00'").contains("lease6_duid"));
    }

    #[test]
    fn reopen_keeps_version_and_runs_no_migration() {
        let dir = TempDir::new("reopen");
        drop(SqliteStore::open(dir.db()).expect("first open"));
        let store = SqliteStore::open(dir.db()).expect("second open");
        assert_eq!(store.schema_version().expect("version"), SCHEMA_VERSION);
    }

    #[test]
    fn newer_schema_is_refused() {
        let dir = TempDir::new("newer");
        drop(SqliteStore::open(dir.db()).expect("open"));
        let conn = Connection::open(dir.db()).expect("raw open");
        conn.execute(
            "UPDATE schema_version SET version = ?1",
            [SCHEMA_VERSION + 1],
        )
        .expect("bump version");
        drop(conn);
        match SqliteStore::open(dir.db()) {
            Err(StoreError::NewerSchema {
                found,
                supported,
                ref path,
            }) => {
                assert_eq!(found, SCHEMA_VERSION + 1);
                assert_eq!(supported, SCHEMA_VERSION);
                assert_eq!(path, &dir.db());
            }
            other => panic!("expected NewerSchema, got {other:?}"),
        }
        // The message tells the operator what happened and what to do.
        let msg = SqliteStore::open(dir.db())
            .expect_err("still newer")
            .to_string();
        assert!(msg.contains("newer than this v6edge understands"), "{msg}");
    }

    #[test]
    fn version_1_database_migrates_keeping_its_leases() {
        let dir = TempDir::new("v1");
        let conn = Connection::open(dir.db()).expect("raw open");
        conn.execute_batch(MIGRATIONS[0]).expect("schema 1");
        conn.execute_batch(
            "UPDATE schema_version SET version = 1;
             INSERT INTO lease6 VALUES (2, x'20010db8010000000000000000000000', 56, x'0001', 7,
                                        100, 200, 'if:2', NULL, 2, NULL, 50);",
        )
        .expect("v1 row");
        drop(conn);
        let store = SqliteStore::open(dir.db()).expect("open migrates");
        assert_eq!(store.schema_version().expect("version"), SCHEMA_VERSION);
        let leases = store.load_all().expect("load");
        assert_eq!(leases.len(), 1);
        assert_eq!(leases[0].iaid, 7);
        assert_eq!(leases[0].reconfigure, None);
    }

    #[test]
    fn foreign_database_is_refused() {
        let dir = TempDir::new("foreign");
        let conn = Connection::open(dir.db()).expect("raw open");
        conn.execute_batch("CREATE TABLE lease6 (x INTEGER);")
            .expect("create");
        drop(conn);
        assert!(matches!(
            SqliteStore::open(dir.db()),
            Err(StoreError::BadSchema { .. })
        ));
    }

    #[test]
    fn corrupt_row_is_reported_not_panicked() {
        let dir = TempDir::new("corrupt");
        let store = SqliteStore::open(dir.db()).expect("open");
        // A row that passes the CHECK constraints but has host bits set and a
        // negative time: written behind the store's back.
        store
            .conn
            .execute(
                "INSERT INTO lease6 VALUES (2, ?1, 48, x'0001', 1, -5, 10, 'if:2', NULL, 2, NULL, 0, NULL, NULL)",
                [[0x20u8, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]],
            )
            .expect("raw insert");
        match store.load_all() {
            Err(StoreError::CorruptRow { row, reason }) => {
                assert_eq!(row, "prefix 2001:db8::1/48");
                assert!(reason.contains("bits are set"), "{reason}");
            }
            other => panic!("expected CorruptRow, got {other:?}"),
        }
    }

    #[test]
    fn in_memory_database_is_refused() {
        assert!(matches!(
            SqliteStore::open(":memory:"),
            Err(StoreError::NoWal { .. })
        ));
    }
}
