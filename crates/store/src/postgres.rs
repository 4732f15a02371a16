//! The shared [`LeaseStore`]: one PostgreSQL database for several v6edge
//! servers serving the same network (cargo feature `postgres`).
//!
//! # The arbiter
//!
//! Each server allocates from its own in-memory pools, so two servers may
//! pick the same free prefix for two clients at the same moment. The
//! database decides: `lease6`'s primary key `(kind, address, prefix_len)`
//! admits one row per prefix, and an upsert only overwrites a row of the
//! SAME client (DUID and IAID), or a row whose lease is over:
//!
//! ```sql
//! INSERT ... ON CONFLICT (kind, address, prefix_len) DO UPDATE SET ...
//!   WHERE (lease6.duid = EXCLUDED.duid AND lease6.iaid = EXCLUDED.iaid)
//!      OR lease6.valid_until <= EXCLUDED.updated_at
//! ```
//!
//! `INSERT ... ON CONFLICT` is atomic in PostgreSQL under READ COMMITTED:
//! a second writer of the same key waits for the first one's transaction,
//! then sees its row. When the `WHERE` is false no row is affected, the op
//! is reported in [`Applied::rejected`] with the holder, and the rest of
//! the batch goes on (the batch is still one transaction). "Expired" is
//! judged by the writer's clock (`updated_at`, the wall-clock time the
//! writer stamps on the lease): servers sharing a database keep their
//! clocks synchronised (NTP), as Kea requires too.
//!
//! A [`StoreOp::Remove`] carries no client, so the handle remembers who it
//! last saw holding each key (its own writes, rows it read, holders of
//! rejections). A Remove deletes the row only while that client still holds
//! it with a `valid_until` no later than the one seen: a row the other
//! server took over after expiry, or extended for the client (a Rebind
//! there), is left alone and reported as rejected. A key the handle never
//! saw is deleted as asked (single-server behaviour).
//!
//! # Changes by others
//!
//! Every write stamps the row with `change = nextval('lease6_change')` and
//! the writing transaction's id (`txid = pg_current_xact_id()`); every
//! delete leaves a tombstone in `lease6_gone` with both. Sequence numbers
//! are handed out before commit, so a cursor on them alone would skip a
//! change that becomes visible after a higher one was read. The cursor is
//! therefore a transaction id: each scan first takes the oldest transaction
//! still running (`pg_snapshot_xmin(pg_current_snapshot())`), reads every
//! row and tombstone written by a transaction at or after the cursor, in
//! change order, and then moves the cursor to that oldest running
//! transaction. Everything written by an older transaction had committed
//! (or aborted) before the scan began, so it was seen; what a younger one
//! writes is read again by the next scan, and the handle drops what it has
//! already reported (change numbers of the current window) and what it
//! wrote itself (the holders it knows). Tombstones older than a day are
//! pruned by [`LeaseStore::remove_expired`].
//!
//! # Which server a lease belongs to
//!
//! Every row names the server that granted or last extended it
//! ([`StoredLease::server`], its DUID), so a server restarting on a shared
//! database routes only its own leases and knows the others' as taken.
//!
//! # Schema
//!
//! Same shape as SQLite's `lease6` (`bytea` for addresses, DUIDs and blobs,
//! `bigint` for times; IAID and ifindex are `bigint` because PostgreSQL has
//! no unsigned 32-bit type), versioned by `schema_version` exactly as
//! [`crate::sqlite`] does: [`MIGRATIONS`] run in one transaction under an
//! advisory lock (two servers starting together do not both migrate), a
//! newer schema is refused ([`StoreError::NewerSchema`]) and a schema with
//! tables but no `schema_version` is refused ([`StoreError::BadSchema`]).
//! Tables live in the connection's current schema, so `options='-c
//! search_path=NAME'` in the connection string selects another one.
//!
//! # Durability
//!
//! `apply` returns after `COMMIT`, which with PostgreSQL's default
//! `synchronous_commit = on` returns after the WAL is flushed on the
//! database server.
//!
//! # Threading
//!
//! The synchronous `postgres` client drives its connection with a private
//! tokio runtime, and a runtime cannot be entered from a thread that is
//! already running one (the daemon calls the store from its event loop).
//! So the connection lives on a thread of its own (`v6edge-postgres`);
//! every method sends it the work and blocks until the answer comes back,
//! which is the same blocking, synchronous path as SQLite's fsync, but
//! bounded: a call with no answer after [`OP_WAIT`] returns
//! [`StoreError::PostgresUnavailable`] and marks the database away. The
//! thread ends when the store is dropped.
//!
//! # Reconnecting
//!
//! A database restart, a failover or a network cut ends the connection.
//! The store then reports itself unavailable ([`LeaseStore::health`], read
//! without a round trip) and every call fails at once with
//! [`StoreError::PostgresUnavailable`], writing nothing, while the
//! connection thread reconnects on its own: first after 0.1 s, the wait
//! doubling up to 5 s, each attempt bounded by `connect_timeout` (2 s
//! unless the connection string says otherwise); a connection lost within
//! 10 s of being made keeps the wait growing (a flapping database). An idle connection is
//! checked every second, so a loss shows without traffic. A lost
//! connection is told from a refused statement by the error: closed, I/O,
//! SQLSTATE class 08 or an operator shutdown (57P01 to 57P05); a constraint
//! violation fails its batch and keeps the connection.
//!
//! What a lost connection means for the batch at hand:
//!
//! - lost before `COMMIT` was sent: the server rolls the transaction back;
//!   the batch did not happen ([`LeaseStore::apply`] returns `Err`).
//! - lost while committing: the outcome is unknown. `apply` still returns
//!   `Err`, so the daemon withholds the Replies and routes (a lease is
//!   never acknowledged without being known durable). The machine keeps
//!   the bindings in memory; if the batch did commit, the database and the
//!   machine agree, and if it did not, the client's retransmission (RFC
//!   8415 §15) makes the machine emit the same upsert again, which goes
//!   through for the same DUID and IAID. The handle reads those keys back
//!   after reconnecting, so who it believes holds them (what a Remove
//!   checks) is what the database says.
//!
//! A new connection first checks the schema version is still
//! [`SCHEMA_VERSION`], and that the oldest running transaction is not
//! below the change cursor (transaction ids survive restarts; lower means
//! another database, and the feed then rereads everything). A change scan
//! cut short starts over. Changes other servers made while the connection
//! was away were written by transactions at or after the cursor, so the
//! next [`LeaseStore::changes`] reports them.
//!
//! # TLS
//!
//! libpq's `sslmode` (`disable`, `allow`, `prefer`, the default,
//! `require`, `verify-ca`, `verify-full`), `sslrootcert`, `sslcert` and
//! `sslkey`, through OpenSSL; see [`tls`]. [`StoreHealth::tls`] says
//! whether the server reports the session encrypted (`pg_stat_ssl`).
//!
//! Panic contract: no method panics; rows that do not decode give
//! [`StoreError::CorruptRow`]; a connection thread that is gone gives
//! [`StoreError::PostgresWorker`].

use std::collections::HashMap;
use std::net::Ipv6Addr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

use postgres::config::Host;
use postgres::types::ToSql;
use postgres::{Client, Config, GenericClient, Row};
use postgres_openssl::MakeTlsConnector;

pub mod tls;

use crate::{
    Applied, Change, LeaseKey, LeaseKind, LeaseStore, Rejected, StoreError, StoreHealth, StoreOp,
    StoredLease, check_schema_version, validate_ops,
};

/// The schema version this code reads and writes.
pub const SCHEMA_VERSION: i64 = 4;

/// `MIGRATIONS[n - 1]` takes the schema from version `n - 1` to `n`. Append
/// only: a released migration never changes. Versions 1 and 2 are SQLite's
/// shape; 3 adds the change numbers of [`LeaseStore::changes`]; 4 the
/// granting server and the writing transaction (module docs).
pub const MIGRATIONS: &[&str] = &[
    // 0 -> 1: the initial schema.
    "CREATE TABLE schema_version (
         singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
         version   BIGINT  NOT NULL
     );
     INSERT INTO schema_version (singleton, version) VALUES (1, 0);
     CREATE TABLE lease6 (
         kind            SMALLINT NOT NULL CHECK (kind IN (0, 2)),
         address         BYTEA    NOT NULL CHECK (length(address) = 16),
         prefix_len      SMALLINT NOT NULL CHECK (prefix_len BETWEEN 0 AND 128),
         duid            BYTEA    NOT NULL,
         iaid            BIGINT   NOT NULL CHECK (iaid BETWEEN 0 AND 4294967295),
         preferred_until BIGINT   NOT NULL,
         valid_until     BIGINT   NOT NULL,
         link            TEXT     NOT NULL,
         next_hop        BYTEA    CHECK (next_hop IS NULL OR length(next_hop) = 16),
         ifindex         BIGINT   NOT NULL CHECK (ifindex BETWEEN 0 AND 4294967295),
         hw_addr         BYTEA,
         updated_at      BIGINT   NOT NULL,
         PRIMARY KEY (kind, address, prefix_len)
     );
     CREATE INDEX lease6_valid_until ON lease6 (valid_until);
     CREATE INDEX lease6_duid ON lease6 (duid, iaid);",
    // 1 -> 2: the client's Reconfigure context (RFC 8415 §18.3.11, §20.4).
    "ALTER TABLE lease6 ADD COLUMN reconfigure BYTEA;",
    // 2 -> 3: change numbers for servers sharing the database.
    "CREATE SEQUENCE lease6_change;
     ALTER TABLE lease6 ADD COLUMN change BIGINT NOT NULL DEFAULT nextval('lease6_change');
     CREATE INDEX lease6_change_idx ON lease6 (change);
     CREATE TABLE lease6_gone (
         change     BIGINT   PRIMARY KEY DEFAULT nextval('lease6_change'),
         kind       SMALLINT NOT NULL,
         address    BYTEA    NOT NULL,
         prefix_len SMALLINT NOT NULL,
         at         BIGINT   NOT NULL DEFAULT extract(epoch FROM now())::bigint
     );",
    // 3 -> 4: the granting server, and the writing transaction for the
    // change feed's cursor (PostgreSQL 13 or later: xid8).
    "ALTER TABLE lease6 ADD COLUMN server BYTEA;
     ALTER TABLE lease6 ADD COLUMN txid xid8 NOT NULL DEFAULT pg_current_xact_id();
     CREATE INDEX lease6_txid ON lease6 (txid);
     ALTER TABLE lease6_gone ADD COLUMN txid xid8 NOT NULL DEFAULT pg_current_xact_id();
     CREATE INDEX lease6_gone_txid ON lease6_gone (txid);",
];

/// Key of the advisory lock taken while migrating ("v6edge" in ASCII).
const MIGRATION_LOCK: i64 = 0x7636_6564_6765;

/// How long tombstones of deleted leases are kept for other servers' syncs.
const TOMBSTONE_SECS: i64 = 86_400;

const COLUMNS: &str = "kind, address, prefix_len, duid, iaid, preferred_until, valid_until, \
                       link, next_hop, ifindex, hw_addr, updated_at, reconfigure, server";

const UPSERT: &str = "INSERT INTO lease6 (kind, address, prefix_len, duid, iaid, \
     preferred_until, valid_until, link, next_hop, ifindex, hw_addr, updated_at, reconfigure, \
     server) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
     ON CONFLICT (kind, address, prefix_len) DO UPDATE SET \
     duid = EXCLUDED.duid, iaid = EXCLUDED.iaid, \
     preferred_until = EXCLUDED.preferred_until, valid_until = EXCLUDED.valid_until, \
     link = EXCLUDED.link, next_hop = EXCLUDED.next_hop, ifindex = EXCLUDED.ifindex, \
     hw_addr = EXCLUDED.hw_addr, updated_at = EXCLUDED.updated_at, \
     reconfigure = EXCLUDED.reconfigure, server = EXCLUDED.server, \
     change = nextval('lease6_change'), txid = pg_current_xact_id() \
     WHERE (lease6.duid = EXCLUDED.duid AND lease6.iaid = EXCLUDED.iaid) \
        OR lease6.valid_until <= EXCLUDED.updated_at";

/// Deletes a row the handle knows the holder of, leaving a tombstone.
const REMOVE_OWNED: &str = "WITH d AS (DELETE FROM lease6 \
     WHERE kind = $1 AND address = $2 AND prefix_len = $3 \
       AND duid = $4 AND iaid = $5 AND valid_until <= $6 \
     RETURNING kind, address, prefix_len) \
     INSERT INTO lease6_gone (kind, address, prefix_len) SELECT kind, address, prefix_len FROM d";

/// Deletes a row the handle never saw, leaving a tombstone.
const REMOVE_ANY: &str = "WITH d AS (DELETE FROM lease6 \
     WHERE kind = $1 AND address = $2 AND prefix_len = $3 \
     RETURNING kind, address, prefix_len) \
     INSERT INTO lease6_gone (kind, address, prefix_len) SELECT kind, address, prefix_len FROM d";

/// Who the handle last saw holding a key.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Owner {
    duid: Vec<u8>,
    iaid: u32,
    valid_until: u64,
}

impl Owner {
    fn of(l: &StoredLease) -> Owner {
        Owner {
            duid: l.duid.clone(),
            iaid: l.iaid,
            valid_until: l.valid_until,
        }
    }
}

/// What the connection thread keeps across connections.
#[derive(Default)]
struct State {
    /// Holders as last seen by this handle (module docs: Remove).
    known: HashMap<LeaseKey, Owner>,
    feed: Feed,
    /// Keys written by a batch whose COMMIT outcome is unknown (the
    /// connection was lost while committing): read back after reconnecting
    /// so `known` says who really holds them (module docs: Reconnecting).
    uncertain: Vec<LeaseKey>,
}

/// The connection thread's side (module docs: Threading, Reconnecting).
struct Inner {
    /// `None` while the database is away.
    conn: Option<Client>,
    state: State,
    connector: Connector,
    link: Arc<Link>,
    /// The wait before the next reconnection attempt (doubles up to
    /// [`BACKOFF_MAX`]).
    backoff: Duration,
    next_attempt: std::time::Instant,
    /// When the current (or last) connection was made.
    connected_at: std::time::Instant,
}

/// How to (re)connect: the client's configuration and the TLS connector.
struct Connector {
    config: Config,
    tls: MakeTlsConnector,
}

impl Connector {
    /// Connects, and asks the server whether the session is encrypted
    /// (`pg_stat_ssl`, so a status saying TLS is the server's word).
    fn connect(&self) -> Result<(Client, bool), postgres::Error> {
        let mut client = self.config.connect(self.tls.clone())?;
        let tls = client
            .query_one(
                "SELECT coalesce((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false)",
                &[],
            )
            .and_then(|r| r.try_get(0))?;
        Ok((client, tls))
    }
}

/// The connection's state as the handle and the thread share it: the
/// handle reads it before every call (no round trip) and marks the
/// database away when a call gets no answer in time; the thread marks
/// losses and reconnections.
struct Link {
    available: AtomicBool,
    health: Mutex<StoreHealth>,
}

impl Link {
    fn new(tls: bool) -> Link {
        Link {
            available: AtomicBool::new(true),
            health: Mutex::new(StoreHealth {
                since_unix: unix_now(),
                tls,
                ..StoreHealth::local()
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, StoreHealth> {
        // A poisoned lock still holds a usable value (no panic path).
        self.health.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn is_available(&self) -> bool {
        self.available.load(Ordering::Acquire)
    }

    fn health(&self) -> StoreHealth {
        self.lock().clone()
    }

    fn reason(&self) -> String {
        self.lock()
            .last_error
            .clone()
            .unwrap_or_else(|| "connection lost".to_owned())
    }

    /// Marks the database away (once per loss).
    fn down(&self, reason: String) {
        let mut h = self.lock();
        if h.available {
            h.available = false;
            h.since_unix = unix_now();
            h.losses += 1;
        }
        h.last_error = Some(reason);
        self.available.store(false, Ordering::Release);
    }

    /// Marks the database back; `reconnected`: on a new connection.
    fn up(&self, reconnected: bool, tls: bool) {
        let mut h = self.lock();
        if !h.available {
            h.available = true;
            h.since_unix = unix_now();
        }
        if reconnected {
            h.reconnects += 1;
            h.tls = tls;
        }
        self.available.store(true, Ordering::Release);
    }

    /// A reconnection attempt failed: the database stays away.
    fn still_down(&self, reason: String) {
        self.lock().last_error = Some(reason);
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The first wait before reconnecting, and the longest.
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// A connection that lasted this long was not a flap: the next loss
/// starts the backoff over.
const STABLE: Duration = Duration::from_secs(10);
/// An idle connection is checked this often, so a database that went away
/// shows in the status (and comes back) without traffic.
const KEEPALIVE: Duration = Duration::from_secs(1);
/// How long the keepalive query may take.
const KEEPALIVE_WAIT: Duration = Duration::from_secs(2);
/// Connection timeout when the connection string sets none: a reconnection
/// attempt never holds the thread long.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// TCP user timeout when the connection string sets none: data unacknowledged
/// this long ends the connection instead of hanging.
const TCP_USER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a call waits for the connection thread before it reports the
/// database unavailable (the daemon's event loop waits that long at most).
const OP_WAIT: Duration = Duration::from_secs(5);
/// What [`OP_WAIT`] grows by for each op of a batch.
const OP_WAIT_PER_OP: Duration = Duration::from_millis(2);
/// The same for the start-up work (migration, reading every lease).
const STARTUP_WAIT: Duration = Duration::from_secs(120);

impl Inner {
    /// The connection is gone: drop it and plan the first attempt.
    fn lost(&mut self, reason: String) {
        tracing::debug!(target_db = ?self.connector.config.get_dbname(), %reason, "lease database connection lost");
        self.conn = None;
        self.link.down(reason);
        let now = std::time::Instant::now();
        // A connection that lasted starts the backoff over; one lost soon
        // after it was made (a database that accepts, then fails) keeps
        // doubling it, so a flapping database costs a reconnection (and a
        // log line in the daemon) every few seconds at most.
        self.backoff = if now.saturating_duration_since(self.connected_at) >= STABLE {
            BACKOFF_MIN
        } else {
            (self.backoff * 2).min(BACKOFF_MAX)
        };
        self.next_attempt = now + self.backoff;
    }

    /// Checks an idle connection.
    fn keepalive(&mut self) {
        if let Some(c) = self.conn.as_mut()
            && let Err(e) = c.is_valid(KEEPALIVE_WAIT)
        {
            self.lost(full_error(&e));
        }
    }

    /// One reconnection attempt; on failure the next is planned with a
    /// doubled wait.
    fn reconnect(&mut self) {
        match self.connector.connect() {
            Ok((mut client, tls)) => match resume(&mut client, &mut self.state) {
                Ok(()) => {
                    self.conn = Some(client);
                    self.connected_at = std::time::Instant::now();
                    self.link.up(true, tls);
                    return;
                }
                Err(reason) => self.link.still_down(reason),
            },
            Err(e) => self.link.still_down(full_error(&e)),
        }
        tracing::debug!(reason = %self.link.reason(), retry_in = ?self.backoff, "lease database reconnection failed");
        self.next_attempt = std::time::Instant::now() + self.backoff;
        self.backoff = (self.backoff * 2).min(BACKOFF_MAX);
    }

    /// The thread's loop: jobs, keepalives and reconnection attempts.
    fn run(mut self, queue: mpsc::Receiver<Job>) {
        loop {
            let now = std::time::Instant::now();
            if self.conn.is_none() && now >= self.next_attempt {
                self.reconnect();
            }
            let wait = match self.conn {
                Some(_) => KEEPALIVE,
                None => self.next_attempt.saturating_duration_since(now),
            };
            match queue.recv_timeout(wait) {
                Ok(job) => job(&mut self),
                Err(mpsc::RecvTimeoutError::Timeout) => self.keepalive(),
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
    }
}

/// What a new connection does before it serves: the schema is still the
/// one this code writes (a database restored or replaced meanwhile is not
/// written blindly), the change cursor still makes sense, and the keys of
/// a batch whose COMMIT outcome is unknown are read back.
fn resume(client: &mut Client, st: &mut State) -> Result<(), String> {
    let version: i64 = client
        .query_one(
            "SELECT version FROM schema_version WHERE singleton = 1",
            &[],
        )
        .and_then(|r| r.try_get(0))
        .map_err(|e| format!("schema check after reconnecting: {}", full_error(&e)))?;
    if version != SCHEMA_VERSION {
        return Err(format!(
            "schema version is {version} after reconnecting, expected {SCHEMA_VERSION}:              restart v6edge to migrate"
        ));
    }
    let oldest = oldest_running(client).map_err(|e| full_error(&e))?;
    // Transaction ids only grow, restarts included. Lower than the cursor:
    // another database (a restored backup): read every change again; the
    // known holders keep reports to real news.
    if oldest < st.feed.cursor {
        tracing::warn!(
            cursor = st.feed.cursor,
            oldest,
            "lease database transaction ids went back (restored or replaced?): rereading every change"
        );
        st.feed.cursor = 0;
        st.feed.read.clear();
    }
    // A scan cut short starts over: it re-reads, never skips.
    st.feed.unfinished = None;
    for key in std::mem::take(&mut st.uncertain) {
        match select_one(client, &key) {
            Ok(Some(holder)) => {
                st.known.insert(key, Owner::of(&holder));
            }
            Ok(None) => {
                st.known.remove(&key);
            }
            Err(WriteError::Pg(e)) => return Err(full_error(&e)),
            // A row that does not decode: whoever holds it, not us as far
            // as a Remove should assume.
            Err(WriteError::Store(_)) => {
                st.known.remove(&key);
            }
        }
    }
    Ok(())
}

/// The error with its causes ("db error: FATAL: terminating connection due
/// to administrator command"), for status and logs.
fn full_error(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let c_text = c.to_string();
        if !s.contains(&c_text) {
            s.push_str(": ");
            s.push_str(&c_text);
        }
        cause = c.source();
    }
    s
}

/// Whether an error means the connection is gone (rather than the database
/// refusing a statement): closed, an I/O error, or an SQLSTATE of class 08
/// (connection exception) or an operator shutdown (57P01 admin shutdown,
/// 57P02 crash shutdown, 57P03 cannot connect now, 57P04/05).
fn connection_lost(e: &postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    if let Some(code) = e.code() {
        let c = code.code();
        return c.starts_with("08") || c.starts_with("57P");
    }
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        if c.is::<std::io::Error>() {
            return true;
        }
        cause = c.source();
    }
    false
}

/// The database error inside a store error, if any.
fn pg_source(e: &StoreError) -> Option<&postgres::Error> {
    match e {
        StoreError::Postgres { source, .. } | StoreError::PostgresCommit { source, .. } => {
            Some(source)
        }
        _ => None,
    }
}

/// Where [`LeaseStore::changes`] stands (module docs: Changes by others).
#[derive(Debug, Default)]
struct Feed {
    /// Every transaction older than this has been read.
    cursor: i64,
    /// Change numbers read since, with their transaction: read again by
    /// later scans, reported once.
    read: HashMap<i64, i64>,
    /// A scan that stopped at [`FEED_PAGE`] rows and goes on at the next call.
    unfinished: Option<Round>,
}

/// One scan of the window: the oldest running transaction when it began
/// (the next cursor), and the last change number it has read.
#[derive(Debug, Clone, Copy)]
struct Round {
    next_cursor: i64,
    after: i64,
}

/// Rows read from each table per call of [`LeaseStore::changes`].
const FEED_PAGE: i64 = 50_000;

/// The oldest transaction still running, as a number (`xid8` fits in
/// `bigint` for the life of any database).
fn oldest_running(client: &mut Client) -> Result<i64, postgres::Error> {
    client
        .query_one(
            "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint",
            &[],
        )
        .and_then(|r| r.try_get(0))
}

/// Work for the connection thread.
type Job = Box<dyn FnOnce(&mut Inner) + Send>;

/// The PostgreSQL lease store: a handle to its connection thread (module
/// docs). `Send`; one store worker owns it, like
/// [`SqliteStore`](crate::SqliteStore).
pub struct PostgresStore {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
    target: String,
    link: Arc<Link>,
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        // Closing the queue ends the thread's loop; it finishes the job at
        // hand (none: every call waits for its answer, or a bounded time)
        // and closes the connection.
        drop(self.jobs.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

/// `postgres://USER@HOST/DBNAME` for messages: never the password.
fn describe(config: &Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map(|h| match h {
            Host::Tcp(name) => name.clone(),
            Host::Unix(path) => path.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".to_owned());
    let user = config.get_user().unwrap_or("(default user)");
    let db = config.get_dbname().unwrap_or("(default database)");
    format!("postgres://{user}@{host}/{db}")
}

/// Integers of the SQL side. Values were checked by `validate_ops`
/// (times fit i64); saturating keeps this total anyway.
fn sql_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl PostgresStore {
    /// Connects with a libpq-style connection string or URL (e.g.
    /// `host=/var/run/postgresql dbname=v6edge user=v6edge`: a Unix-socket
    /// directory works from inside network namespaces) and brings the
    /// schema to [`SCHEMA_VERSION`]. Refuses a database from a newer v6edge
    /// and a schema that is not a v6edge lease database. TLS as libpq's
    /// `sslmode`, `sslrootcert`, `sslcert` and `sslkey` say ([`tls`]).
    ///
    /// The database must answer now (the leases to restore are there);
    /// once open, the store reconnects by itself whenever the connection
    /// is lost (module docs: Reconnecting).
    pub fn open(conninfo: &str) -> Result<Self, StoreError> {
        let parse_err = |source| StoreError::Postgres {
            target: "(connection string)".to_owned(),
            what: "connection string parse",
            source,
        };
        let (tls, rest) =
            tls::TlsSettings::split(conninfo).map_err(|reason| StoreError::PostgresTls {
                target: "(connection string)".to_owned(),
                reason,
            })?;
        let mut config: Config = rest.parse().map_err(parse_err)?;
        config.ssl_mode(tls.client_mode());
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_tcp_user_timeout().is_none() {
            config.tcp_user_timeout(TCP_USER_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("v6edge");
        }
        let target = describe(&config);
        let connector = Connector {
            tls: tls.connector().map_err(|reason| StoreError::PostgresTls {
                target: target.clone(),
                reason,
            })?,
            config,
        };
        // The client's runtime cannot start inside the caller's (the
        // daemon's): connect on the connection thread too.
        let (jobs, queue) = mpsc::channel::<Job>();
        let (ready_tx, ready) = mpsc::sync_channel::<Result<Arc<Link>, postgres::Error>>(1);
        let thread = std::thread::Builder::new()
            .name("v6edge-postgres".to_owned())
            .spawn(move || {
                let (client, tls_used) = match connector.connect() {
                    Ok(c) => c,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let link = Arc::new(Link::new(tls_used));
                let inner = Inner {
                    conn: Some(client),
                    state: State::default(),
                    connector,
                    link: link.clone(),
                    backoff: BACKOFF_MIN,
                    next_attempt: std::time::Instant::now(),
                    connected_at: std::time::Instant::now(),
                };
                let _ = ready_tx.send(Ok(link));
                inner.run(queue);
            })
            .map_err(|_| StoreError::PostgresWorker {
                target: target.clone(),
            })?;
        let link = match ready.recv() {
            Ok(Ok(link)) => link,
            Ok(Err(source)) => {
                let _ = thread.join();
                return Err(StoreError::Postgres {
                    target,
                    what: "connect",
                    source,
                });
            }
            Err(_) => return Err(StoreError::PostgresWorker { target }),
        };
        let store = PostgresStore {
            jobs: Some(jobs),
            thread: Some(thread),
            target,
            link,
        };
        store.migrate()?;
        // Changes by others are reported from now on: what is already
        // there, the daemon reads with `load_all` at start.
        // Rows committed by then but written by a transaction at or after
        // the cursor are read again by the first scan; `load_all` has made
        // their holders known, so they are not reported.
        store.with(OP_WAIT, |client, st, target| {
            st.feed.cursor = oldest_running(client)
                .map_err(|source| pg_err(target, "change cursor read", source))?;
            Ok(())
        })?;
        Ok(store)
    }

    /// The database, as `postgres://USER@HOST/DBNAME`.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The schema version stored in the database.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.with(OP_WAIT, |client, _st, target| {
            client
                .query_one(
                    "SELECT version FROM schema_version WHERE singleton = 1",
                    &[],
                )
                .and_then(|r| r.try_get::<_, i64>(0))
                .map_err(|source| pg_err(target, "schema version read", source))
        })
    }

    /// The server process of the store's current connection
    /// (`pg_backend_pid()`): what an operator (or a test) sees in
    /// `pg_stat_activity` and `pg_stat_ssl`.
    pub fn backend_pid(&self) -> Result<i32, StoreError> {
        self.with(OP_WAIT, |client, _st, target| {
            client
                .query_one("SELECT pg_backend_pid()", &[])
                .and_then(|r| r.try_get::<_, i32>(0))
                .map_err(|source| pg_err(target, "backend pid read", source))
        })
    }

    /// Runs `f` on the connection thread and waits up to `wait` for its
    /// answer. While the database is away, fails at once without sending
    /// anything. No answer in time marks it away: the caller (the daemon's
    /// event loop) is not held longer, and the thread marks it back once
    /// the late answer shows the connection is fine.
    fn with<T: Send + 'static>(
        &self,
        wait: Duration,
        f: impl FnOnce(&mut Client, &mut State, &str) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let gone = || StoreError::PostgresWorker {
            target: self.target.clone(),
        };
        let unavailable = |reason| StoreError::PostgresUnavailable {
            target: self.target.clone(),
            reason,
        };
        if !self.link.is_available() {
            return Err(unavailable(self.link.reason()));
        }
        let (tx, rx) = mpsc::sync_channel(1);
        let target = self.target.clone();
        let job: Job = Box::new(move |inner| {
            let result = match inner.conn.as_mut() {
                Some(client) => f(client, &mut inner.state, &target),
                None => Err(StoreError::PostgresUnavailable {
                    target: target.clone(),
                    reason: inner.link.reason(),
                }),
            };
            let lost = match &result {
                Err(e) => pg_source(e)
                    .filter(|e| connection_lost(e))
                    .map(|e| full_error(e)),
                Ok(_) => None,
            }
            .or_else(|| {
                inner
                    .conn
                    .as_ref()
                    .filter(|c| c.is_closed())
                    .map(|_| "connection closed".to_owned())
            });
            match lost {
                Some(reason) => inner.lost(reason),
                // A call the handle gave up on (no answer in time) ended
                // well after all: the connection is fine.
                None if inner.conn.is_some() && !inner.link.is_available() => {
                    inner.link.up(false, false)
                }
                None => {}
            }
            let _ = tx.send(result);
        });
        self.jobs
            .as_ref()
            .ok_or_else(gone)?
            .send(job)
            .map_err(|_| gone())?;
        match rx.recv_timeout(wait) {
            Ok(result) => result,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let reason = format!("no answer within {} s", wait.as_secs());
                self.link.down(reason.clone());
                Err(unavailable(reason))
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(gone()),
        }
    }

    fn migrate(&self) -> Result<(), StoreError> {
        let path = PathBuf::from(&self.target);
        self.with(STARTUP_WAIT, move |client, _st, target| {
            let err = |what| move |source| pg_err(target, what, source);
            let mut tx = client.transaction().map_err(err("migration begin"))?;
            // Like SQLite's IMMEDIATE: two servers opening a fresh database
            // at once must not both run migration 1.
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
                .map_err(err("migration lock"))?;
            let has_version_table: bool = tx
                .query_one(
                    "SELECT to_regclass('schema_version') IS NOT NULL \
                     AND EXISTS (SELECT 1 FROM pg_tables WHERE tablename = 'schema_version' \
                                 AND schemaname = current_schema())",
                    &[],
                )
                .and_then(|r| r.try_get(0))
                .map_err(err("schema inspection"))?;
            let found: i64 = if has_version_table {
                let rows = tx
                    .query("SELECT version FROM schema_version", &[])
                    .map_err(err("schema version read"))?;
                match rows.as_slice() {
                    [r] => r.try_get(0).map_err(err("schema version read"))?,
                    other => {
                        return Err(StoreError::BadSchema {
                            path,
                            reason: format!("schema_version has {} rows, expected 1", other.len()),
                        });
                    }
                }
            } else {
                let tables: i64 = tx
                    .query_one(
                        "SELECT count(*) FROM pg_class c JOIN pg_namespace n \
                         ON n.oid = c.relnamespace \
                         WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'S', 'v', 'm')",
                        &[],
                    )
                    .and_then(|r| r.try_get(0))
                    .map_err(err("schema inspection"))?;
                if tables != 0 {
                    return Err(StoreError::BadSchema {
                        path,
                        reason: format!(
                            "{tables} tables or sequences but no schema_version table: \
                             not a v6edge lease database"
                        ),
                    });
                }
                0
            };
            check_schema_version(&path, found, SCHEMA_VERSION)?;
            for to in (found + 1)..=SCHEMA_VERSION {
                // `to` is in 1..=SCHEMA_VERSION = 1..=MIGRATIONS.len()
                // (checked by a test); `get` keeps it panic-free anyway.
                let sql = usize::try_from(to - 1)
                    .ok()
                    .and_then(|i| MIGRATIONS.get(i))
                    .ok_or_else(|| StoreError::BadSchema {
                        path: path.clone(),
                        reason: format!("no migration to version {to}"),
                    })?;
                tx.batch_execute(sql).map_err(err("schema migration"))?;
                tx.execute(
                    "UPDATE schema_version SET version = $1 WHERE singleton = 1",
                    &[&to],
                )
                .map_err(err("schema migration"))?;
                tracing::info!(target_db = %target, from = to - 1, to, "lease database migrated");
            }
            tx.commit().map_err(err("migration commit"))
        })
    }

    /// Runs a lease query and decodes every row (collected first, so the
    /// connection is free again before any callback runs). `remember`: the
    /// rows become what the handle knows of their holders (a full scan is
    /// what the daemon's machine starts from; a lookup is not).
    fn query_leases(
        &self,
        what: &'static str,
        sql: String,
        params: Vec<Box<dyn ToSql + Sync + Send>>,
        remember: bool,
    ) -> Result<Vec<StoredLease>, StoreError> {
        let leases = self.with(
            if remember { STARTUP_WAIT } else { OP_WAIT },
            move |client, st, target| {
                let refs: Vec<&(dyn ToSql + Sync)> = params
                    .iter()
                    .map(|p| p.as_ref() as &(dyn ToSql + Sync))
                    .collect();
                let rows = client
                    .query(&sql, &refs)
                    .map_err(|source| pg_err(target, what, source))?;
                let leases = rows.iter().map(decode_row).collect::<Result<Vec<_>, _>>()?;
                if remember {
                    for l in &leases {
                        st.known.insert(l.key(), Owner::of(l));
                    }
                }
                Ok(leases)
            },
        )?;
        Ok(leases)
    }
}

fn pg_err(target: &str, what: &'static str, source: postgres::Error) -> StoreError {
    StoreError::Postgres {
        target: target.to_owned(),
        what,
        source,
    }
}

/// The key columns as SQL parameters.
fn key_params(key: &LeaseKey) -> (i16, [u8; 16], i16) {
    (
        i16::from(key.kind.as_u8()),
        key.addr.octets(),
        i16::from(key.prefix_len),
    )
}

/// Failures inside the batch transaction: the database's, or a row that
/// does not decode.
enum WriteError {
    Pg(postgres::Error),
    Store(StoreError),
}

impl From<postgres::Error> for WriteError {
    fn from(e: postgres::Error) -> Self {
        WriteError::Pg(e)
    }
}

fn select_one(
    tx: &mut impl GenericClient,
    key: &LeaseKey,
) -> Result<Option<StoredLease>, WriteError> {
    let (kind, addr, len) = key_params(key);
    let sql = format!(
        "SELECT {COLUMNS} FROM lease6 WHERE kind = $1 AND address = $2 AND prefix_len = $3"
    );
    let rows = tx.query(&sql, &[&kind, &addr.as_slice(), &len])?;
    rows.first()
        .map(decode_row)
        .transpose()
        .map_err(WriteError::Store)
}

/// What one op did inside the batch transaction.
enum Outcome {
    /// Written or deleted; the handle now knows this holder (None: gone).
    Done(Option<Owner>),
    /// Not carried out: another client holds the key.
    Rejected(StoredLease),
}

fn write_op(
    tx: &mut postgres::Transaction<'_>,
    op: &StoreOp,
    seen: Option<&Owner>,
) -> Result<Outcome, WriteError> {
    match op {
        StoreOp::Upsert(l) => {
            let (kind, addr, len) = key_params(&l.key());
            let next_hop = l.next_hop.map(|a| a.octets());
            let n = tx.execute(
                UPSERT,
                &[
                    &kind,
                    &addr.as_slice(),
                    &len,
                    &l.duid,
                    &i64::from(l.iaid),
                    &sql_i64(l.preferred_until),
                    &sql_i64(l.valid_until),
                    &l.link,
                    &next_hop.as_ref().map(|a| a.as_slice()),
                    &i64::from(l.ifindex),
                    &l.hw_addr,
                    &sql_i64(l.updated_at),
                    &l.reconfigure,
                    &l.server,
                ],
            )?;
            if n > 0 {
                return Ok(Outcome::Done(Some(Owner::of(l))));
            }
            // The row exists (the conflict) and is locked by the upsert
            // until this transaction ends, so it is still there.
            match select_one(tx, &l.key())? {
                Some(holder) => Ok(Outcome::Rejected(holder)),
                None => Ok(Outcome::Done(None)),
            }
        }
        StoreOp::Remove { .. } => {
            let key = op.key();
            let (kind, addr, len) = key_params(&key);
            let deleted = match seen {
                Some(o) => tx.execute(
                    REMOVE_OWNED,
                    &[
                        &kind,
                        &addr.as_slice(),
                        &len,
                        &o.duid,
                        &i64::from(o.iaid),
                        &sql_i64(o.valid_until),
                    ],
                )?,
                None => tx.execute(REMOVE_ANY, &[&kind, &addr.as_slice(), &len])?,
            };
            if deleted > 0 {
                return Ok(Outcome::Done(None));
            }
            match select_one(tx, &key)? {
                // Someone else's now (or extended elsewhere): left alone.
                Some(holder) => Ok(Outcome::Rejected(holder)),
                // Already gone (a Release racing an expiry): not an error.
                None => Ok(Outcome::Done(None)),
            }
        }
    }
}

impl LeaseStore for PostgresStore {
    fn apply(&mut self, ops: &[StoreOp]) -> Result<Applied, StoreError> {
        if ops.is_empty() {
            return Ok(Applied::default());
        }
        validate_ops(ops)?;
        // The connection thread needs the batch for as long as it works on
        // it; a copy is cheap next to the round trips.
        let ops = ops.to_vec();
        // Each op is a round trip: a big batch may take its time.
        let per_op = OP_WAIT_PER_OP.saturating_mul(u32::try_from(ops.len()).unwrap_or(u32::MAX));
        self.with(OP_WAIT.saturating_add(per_op), move |client, st, target| {
            let commit_err = |source| StoreError::PostgresCommit {
                target: target.to_owned(),
                ops: ops.len(),
                source,
            };
            // What this batch changes in `known`, merged only after COMMIT:
            // a rolled-back batch must not change what the handle believes.
            let mut staged: HashMap<LeaseKey, Option<Owner>> = HashMap::new();
            let mut applied = Applied::default();
            // Dropping `tx` on any error path rolls the whole batch back.
            let mut tx = client.transaction().map_err(commit_err)?;
            for (index, op) in ops.iter().enumerate() {
                let key = op.key();
                let seen = match staged.get(&key) {
                    Some(s) => s.as_ref(),
                    None => st.known.get(&key),
                };
                let outcome = write_op(&mut tx, op, seen).map_err(|e| match e {
                    WriteError::Pg(source) => commit_err(source),
                    WriteError::Store(e) => e,
                })?;
                match outcome {
                    Outcome::Done(owner) => {
                        staged.insert(key, owner);
                    }
                    Outcome::Rejected(holder) => {
                        staged.insert(key, Some(Owner::of(&holder)));
                        applied.rejected.push(Rejected { index, holder });
                    }
                }
            }
            // synchronous_commit = on (the default): COMMIT returns once the
            // WAL is flushed on the database server.
            if let Err(e) = tx.commit() {
                // Lost while committing: the batch may or may not be in
                // the database. The caller treats it as failed; the keys
                // are read back after reconnecting (module docs).
                if connection_lost(&e) {
                    st.uncertain.extend(staged.into_keys());
                }
                return Err(commit_err(e));
            }
            for (key, owner) in staged {
                match owner {
                    Some(o) => st.known.insert(key, o),
                    None => st.known.remove(&key),
                };
            }
            Ok(applied)
        })
    }

    fn changes(&mut self) -> Result<Vec<Change>, StoreError> {
        self.with(OP_WAIT, |client, st, target| {
            let err = |source| pg_err(target, "change scan", source);
            let round = match st.feed.unfinished.take() {
                Some(r) => r,
                None => Round {
                    next_cursor: oldest_running(client).map_err(err)?,
                    after: i64::MIN,
                },
            };
            let cursor = st.feed.cursor.to_string();
            let sql = format!(
                "SELECT {COLUMNS}, change, txid::text::bigint FROM lease6 \
                 WHERE txid >= $1::text::xid8 AND change > $2 ORDER BY change LIMIT $3"
            );
            let rows = client
                .query(&sql, &[&cursor, &round.after, &FEED_PAGE])
                .map_err(err)?;
            let gone = client
                .query(
                    "SELECT change, txid::text::bigint, kind, address, prefix_len FROM lease6_gone \
                     WHERE txid >= $1::text::xid8 AND change > $2 ORDER BY change LIMIT $3",
                    &[&cursor, &round.after, &FEED_PAGE],
                )
                .map_err(err)?;
            // A table that filled its page may have more: this call reports
            // up to the lower of the full pages' last change numbers.
            let full =
                |n: usize, last: Option<i64>| (n as i64 >= FEED_PAGE).then_some(last).flatten();
            let last_row = rows
                .last()
                .map(|r| r.try_get::<_, i64>(14))
                .transpose()
                .map_err(err)?;
            let last_gone = gone
                .last()
                .map(|r| r.try_get::<_, i64>(0))
                .transpose()
                .map_err(err)?;
            let bound = [full(rows.len(), last_row), full(gone.len(), last_gone)]
                .into_iter()
                .flatten()
                .min();
            let mut all: Vec<(i64, i64, Change)> = Vec::with_capacity(rows.len() + gone.len());
            for r in &rows {
                let change: i64 = r.try_get(14).map_err(err)?;
                let txid: i64 = r.try_get(15).map_err(err)?;
                all.push((change, txid, Change::Held(decode_row(r)?)));
            }
            for r in &gone {
                let change: i64 = r.try_get(0).map_err(err)?;
                let txid: i64 = r.try_get(1).map_err(err)?;
                all.push((change, txid, Change::Gone(decode_key(r, 2)?)));
            }
            all.retain(|(c, _, _)| bound.is_none_or(|b| *c <= b));
            all.sort_by_key(|(c, _, _)| *c);
            let mut out = Vec::new();
            for (change, txid, c) in all {
                if st.feed.read.insert(change, txid).is_some() {
                    continue;
                }
                match c {
                    Change::Held(l) => {
                        let owner = Owner::of(&l);
                        // Our own write, or one already seen: not news.
                        if st.known.get(&l.key()) == Some(&owner) {
                            continue;
                        }
                        st.known.insert(l.key(), owner);
                        out.push(Change::Held(l));
                    }
                    Change::Gone(key) => {
                        // A key we do not know of was ours and removed by
                        // us, or never relevant: not news.
                        if st.known.remove(&key).is_some() {
                            out.push(Change::Gone(key));
                        }
                    }
                }
            }
            match bound {
                Some(after) => st.feed.unfinished = Some(Round { after, ..round }),
                None => {
                    let feed = &mut st.feed;
                    feed.cursor = feed.cursor.max(round.next_cursor);
                    let cursor = feed.cursor;
                    feed.read.retain(|_, txid| *txid >= cursor);
                }
            }
            Ok(out)
        })
    }

    fn visit(&self, f: &mut dyn FnMut(StoredLease)) -> Result<(), StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM lease6 ORDER BY kind, address, prefix_len");
        for l in self.query_leases("lease scan", sql, Vec::new(), true)? {
            f(l);
        }
        Ok(())
    }

    fn get(
        &self,
        kind: LeaseKind,
        addr: Ipv6Addr,
        prefix_len: u8,
    ) -> Result<Option<StoredLease>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM lease6 WHERE kind = $1 AND address = $2 AND prefix_len = $3"
        );
        let (k, a, l) = key_params(&LeaseKey {
            kind,
            addr,
            prefix_len,
        });
        Ok(self
            .query_leases(
                "lease lookup",
                sql,
                vec![Box::new(k), Box::new(a.to_vec()), Box::new(l)],
                false,
            )?
            .into_iter()
            .next())
    }

    fn find_by_duid(&self, duid: &[u8]) -> Result<Vec<StoredLease>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM lease6 WHERE duid = $1 ORDER BY kind, address, prefix_len"
        );
        self.query_leases(
            "lease lookup by duid",
            sql,
            vec![Box::new(duid.to_vec())],
            false,
        )
    }

    fn remove_expired(&mut self, now_unix: u64) -> Result<usize, StoreError> {
        self.with(OP_WAIT, move |client, st, target| {
            let commit_err = |source| StoreError::PostgresCommit {
                target: target.to_owned(),
                ops: 1,
                source,
            };
            let mut tx = client.transaction().map_err(commit_err)?;
            let removed = tx
                .query(
                    "WITH d AS (DELETE FROM lease6 WHERE valid_until <= $1 \
                     RETURNING kind, address, prefix_len) \
                     INSERT INTO lease6_gone (kind, address, prefix_len) \
                     SELECT kind, address, prefix_len FROM d \
                     RETURNING kind, address, prefix_len",
                    &[&sql_i64(now_unix)],
                )
                .map_err(commit_err)?;
            tx.execute(
                "DELETE FROM lease6_gone WHERE at < extract(epoch FROM now())::bigint - $1",
                &[&TOMBSTONE_SECS],
            )
            .map_err(commit_err)?;
            tx.commit().map_err(commit_err)?;
            for r in &removed {
                st.known.remove(&decode_key(r, 0)?);
            }
            Ok(removed.len())
        })
    }

    fn count(&self) -> Result<u64, StoreError> {
        self.with(OP_WAIT, |client, _st, target| {
            let n: i64 = client
                .query_one("SELECT count(*) FROM lease6", &[])
                .and_then(|r| r.try_get(0))
                .map_err(|source| pg_err(target, "lease count", source))?;
            // count(*) is never negative.
            Ok(u64::try_from(n).unwrap_or(0))
        })
    }

    fn health(&self) -> StoreHealth {
        self.link.health()
    }

    fn is_available(&self) -> bool {
        self.link.is_available()
    }

    fn flush(&mut self) -> Result<(), StoreError> {
        // Nothing to do: every apply is already committed on the server, and
        // checkpoints are the database server's business.
        Ok(())
    }
}

/// Builds a lease from a row of [`COLUMNS`], reporting what is wrong with a
/// row that does not fit (a damaged database, or one edited by hand).
fn decode_row(row: &Row) -> Result<StoredLease, StoreError> {
    let mut key_text = String::from("(key unreadable)");
    decode_fields(row, &mut key_text).map_err(|reason| StoreError::CorruptRow {
        row: key_text,
        reason,
    })
}

/// The key columns starting at column `at`.
fn decode_key(row: &Row, at: usize) -> Result<LeaseKey, StoreError> {
    key_fields(row, at).map_err(|reason| StoreError::CorruptRow {
        row: "(tombstone)".to_owned(),
        reason,
    })
}

fn key_fields(row: &Row, at: usize) -> Result<LeaseKey, String> {
    let kind_num: i16 = get(row, at, "kind")?;
    let kind = u8::try_from(kind_num)
        .ok()
        .and_then(LeaseKind::from_u8)
        .ok_or_else(|| format!("unknown kind {kind_num}"))?;
    let addr = addr16(&get::<Vec<u8>>(row, at + 1, "address")?, "address")?;
    let len: i16 = get(row, at + 2, "prefix_len")?;
    let prefix_len = u8::try_from(len).map_err(|_| "prefix_len out of range".to_string())?;
    Ok(LeaseKey {
        kind,
        addr,
        prefix_len,
    })
}

fn decode_fields(row: &Row, key_text: &mut String) -> Result<StoredLease, String> {
    let key = key_fields(row, 0)?;
    *key_text = key.to_string();
    key.validate().map_err(|e| e.to_string())?;
    let next_hop = get::<Option<Vec<u8>>>(row, 8, "next_hop")?
        .map(|b| addr16(&b, "next_hop"))
        .transpose()?;
    Ok(StoredLease {
        duid: get(row, 3, "duid")?,
        iaid: u32::try_from(get::<i64>(row, 4, "iaid")?)
            .map_err(|_| "iaid out of range".to_string())?,
        kind: key.kind,
        addr: key.addr,
        prefix_len: key.prefix_len,
        preferred_until: time(row, 5, "preferred_until")?,
        valid_until: time(row, 6, "valid_until")?,
        link: get(row, 7, "link")?,
        next_hop,
        ifindex: u32::try_from(get::<i64>(row, 9, "ifindex")?)
            .map_err(|_| "ifindex out of range".to_string())?,
        hw_addr: get(row, 10, "hw_addr")?,
        updated_at: time(row, 11, "updated_at")?,
        reconfigure: get(row, 12, "reconfigure")?,
        server: get(row, 13, "server")?,
    })
}

fn get<'a, T: postgres::types::FromSql<'a>>(
    row: &'a Row,
    idx: usize,
    name: &str,
) -> Result<T, String> {
    row.try_get(idx).map_err(|e| format!("{name}: {e}"))
}

fn time(row: &Row, idx: usize, name: &str) -> Result<u64, String> {
    let v: i64 = get(row, idx, name)?;
    u64::try_from(v).map_err(|_| format!("{name} = {v} is negative"))
}

fn addr16(b: &[u8], name: &str) -> Result<Ipv6Addr, String> {
    let octets: [u8; 16] = b
        .try_into()
        .map_err(|_| format!("{name} is {} bytes, not 16", b.len()))?;
    Ok(Ipv6Addr::from(octets))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_cover_every_version() {
        assert_eq!(usize::try_from(SCHEMA_VERSION).ok(), Some(MIGRATIONS.len()));
    }

    #[test]
    fn description_never_shows_the_password() {
        let c: Config = "host=/var/run/postgresql user=v6 dbname=leases password=secret"
            .parse()
            .expect("valid conninfo");
        let d = describe(&c);
        assert_eq!(d, "postgres://v6@/var/run/postgresql/leases");
        assert!(!d.contains("secret"));
        let c: Config = "postgresql://u:pw@db.example/l".parse().expect("valid URL");
        assert_eq!(describe(&c), "postgres://u@db.example/l");
    }
}
