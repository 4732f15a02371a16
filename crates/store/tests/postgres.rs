//! `PostgresStore` against a real PostgreSQL server: the `LeaseStore`
//! contract the SQLite store passes, the shared-database conflict rules
//! with two handles on one database, change reports and migrations.
//!
//! The server comes from `V6EDGE_TEST_POSTGRES` (a connection string, e.g.
//! `host=/var/run/postgresql user=root dbname=v6edge_test`). Without it the
//! tests skip with a message, except under CI (`CI` set), where a missing
//! server fails them: CI must not pass by skipping. Each test works in a
//! schema of its own (created and dropped), so tests run in parallel.
#![cfg(feature = "postgres")]

mod common;

use std::io::{Read, Write};
use std::net::Ipv6Addr;
use std::net::Shutdown;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::pg::TestDb;
use common::{na_lease, pd_lease, remove_op, upserts};
use proptest::prelude::*;
use v6edge_store::postgres::{MIGRATIONS, SCHEMA_VERSION};
use v6edge_store::{
    Change, LeaseKind, LeaseStore, MemoryStore, PostgresStore, StoreError, StoreOp, StoredLease,
};

/// `let (db, s) = setup!("tag");` or return (skip).
macro_rules! setup {
    ($tag:expr) => {{
        let Some(db) = TestDb::new($tag) else { return };
        let s = db.open();
        (db, s)
    }};
}

// ------------------------------------------------ the LeaseStore contract --
// The contract every store passes is in behaviour.rs, run against this one
// too with the feature; what follows is PostgreSQL's own.

#[test]
fn same_client_renews_expired_is_taken_over_live_is_not() {
    let (_db, mut s) = setup!("upsert");
    let first = pd_lease(5);
    s.apply(&upserts([first.clone()])).expect("apply");
    let mut same_client = first.clone();
    same_client.valid_until += 60;
    same_client.preferred_until += 30;
    same_client.link = "if:4".into();
    same_client.next_hop = Some("fe80::99".parse().expect("literal"));
    same_client.ifindex = 4;
    same_client.hw_addr = Some(vec![1, 2, 3]);
    same_client.updated_at += 60;
    same_client.reconfigure = Some(vec![7; 40]);
    let a = s.apply(&upserts([same_client.clone()])).expect("renew");
    assert!(a.rejected.is_empty());
    assert_eq!(s.load_all().expect("load"), vec![same_client.clone()]);

    // Another client while the lease is live: refused, holder reported.
    let mut other = first.clone();
    other.duid = vec![9, 9];
    other.iaid ^= 1;
    let a = s.apply(&upserts([other.clone()])).expect("apply");
    assert_eq!(a.rejected.len(), 1);
    assert_eq!(a.rejected[0].index, 0);
    assert_eq!(a.rejected[0].holder, same_client);
    assert_eq!(s.load_all().expect("load"), vec![same_client.clone()]);

    // Same DUID, other IAID is another client too (RFC 8415 §12: the IA).
    let mut other_ia = same_client.clone();
    other_ia.iaid ^= 2;
    let a = s.apply(&upserts([other_ia])).expect("apply");
    assert_eq!(a.rejected.len(), 1);

    // Once the holder's lease is over (valid_until <= the writer's now),
    // another client takes it over.
    other.updated_at = same_client.valid_until;
    other.valid_until = other.updated_at + 3600;
    let a = s.apply(&upserts([other.clone()])).expect("apply");
    assert!(a.rejected.is_empty(), "{a:?}");
    assert_eq!(s.load_all().expect("load"), vec![other.clone()]);
    assert_eq!(s.find_by_duid(&first.duid).expect("by duid"), vec![]);
    assert_eq!(s.find_by_duid(&[9, 9]).expect("by duid"), vec![other]);
}

#[test]
fn last_op_in_a_batch_wins_and_a_rejection_does_not_stop_the_batch() {
    let (_db, mut s) = setup!("batch");
    let a = pd_lease(1);
    let mut a2 = a.clone();
    a2.valid_until += 100;
    let mut intruder = a.clone();
    intruder.duid = vec![1, 2, 3];
    let b = pd_lease(2);
    let c = pd_lease(3);
    let applied = s
        .apply(&[
            StoreOp::Upsert(a.clone()),
            StoreOp::Upsert(a2.clone()),
            StoreOp::Upsert(intruder),
            StoreOp::Upsert(b.clone()),
            remove_op(&b),
            StoreOp::Upsert(c.clone()),
        ])
        .expect("apply");
    assert_eq!(applied.rejected.len(), 1);
    assert_eq!(applied.rejected[0].index, 2);
    assert_eq!(applied.rejected[0].holder, a2);
    assert_eq!(s.load_all().expect("load"), vec![a2, c]);
}

#[test]
fn failed_transaction_writes_nothing() {
    let (mut db, mut s) = setup!("rollback");
    // A constraint the store's validation does not know of makes the
    // database refuse the third op: the first two must not be written.
    db.sql("ALTER TABLE lease6 ADD CONSTRAINT no_iaid_7 CHECK (iaid <> 7)");
    let mut bad = pd_lease(3);
    bad.iaid = 7;
    let err = s
        .apply(&upserts([pd_lease(1), pd_lease(2), bad]))
        .expect_err("constraint violated");
    assert!(
        matches!(err, StoreError::PostgresCommit { ops: 3, .. }),
        "{err:?}"
    );
    assert_eq!(s.count().expect("count"), 0);
    // The handle is usable afterwards.
    s.apply(&upserts([pd_lease(1)])).expect("apply");
    assert_eq!(s.count().expect("count"), 1);
}

#[test]
fn batch_of_10k_and_reopen_keeps_everything() {
    let Some(db) = TestDb::new("big") else { return };
    let mut leases: Vec<_> = (0..10_000).map(pd_lease).collect();
    leases.extend((0..300).map(na_lease));
    {
        let mut s = db.open();
        s.apply(&upserts(leases.clone())).expect("apply 10k");
        s.apply(&[remove_op(&leases[10])]).expect("remove");
    }
    leases.remove(10);
    leases.sort_by_key(|l| l.key());
    let mut s = db.open();
    assert_eq!(s.count().expect("count"), leases.len() as u64);
    assert_eq!(s.load_all().expect("load"), leases);
    s.flush().expect("flush");
    let mut visited = 0;
    s.visit(&mut |_| visited += 1).expect("visit");
    assert_eq!(visited, leases.len());
}

#[test]
fn store_is_object_safe_and_send() {
    let Some(db) = TestDb::new("dyn") else { return };
    let mut boxed: Box<dyn LeaseStore + Send> = Box::new(db.open());
    // Moved to another thread and used there, as the daemon's worker does.
    let handle = std::thread::spawn(move || {
        boxed.apply(&upserts([pd_lease(1)])).expect("apply");
        boxed.count().expect("count")
    });
    assert_eq!(handle.join().expect("thread"), 1);
}

#[test]
fn usable_from_inside_a_tokio_runtime() {
    // The daemon calls the store from its (current-thread) event loop; the
    // synchronous client must not try to start a runtime there.
    let Some(db) = TestDb::new("tokio") else {
        return;
    };
    let conninfo = db.conninfo();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let n = rt.block_on(async move {
        let mut s = PostgresStore::open(&conninfo).expect("open inside a runtime");
        s.apply(&upserts([pd_lease(1), pd_lease(2)]))
            .expect("apply");
        s.count().expect("count")
    });
    assert_eq!(n, 2);
}

// ------------------------------------------ two servers, one database --

#[test]
fn second_server_cannot_take_a_live_lease() {
    let Some(db) = TestDb::new("twohandles") else {
        return;
    };
    let mut a = db.open();
    let mut b = db.open();
    let mine = pd_lease(1);
    let mut theirs = pd_lease(1);
    theirs.duid = vec![0, 3, 0, 1, 2, 0, 0, 0, 0, 0x99];
    theirs.iaid = 77;
    assert!(
        a.apply(&upserts([mine.clone()]))
            .expect("a")
            .rejected
            .is_empty()
    );
    // B picked the same free prefix for its own client: refused.
    let r = b
        .apply(&upserts([pd_lease(5), theirs.clone(), pd_lease(6)]))
        .expect("b");
    assert_eq!(r.rejected.len(), 1);
    assert_eq!(r.rejected[0].index, 1);
    assert_eq!(r.rejected[0].holder, mine);
    assert_eq!(
        b.count().expect("count"),
        3,
        "the other ops of B's batch were written"
    );

    // The same client renewing through B (it rebinds there) goes through.
    let mut renewed = mine.clone();
    renewed.valid_until += 600;
    renewed.updated_at += 300;
    renewed.next_hop = Some("fe80::b".parse().expect("literal"));
    assert!(
        b.apply(&upserts([renewed.clone()]))
            .expect("b")
            .rejected
            .is_empty()
    );
    assert_eq!(
        a.get(mine.kind, mine.addr, mine.prefix_len).expect("get"),
        Some(renewed.clone())
    );

    // A's Remove of what it granted, now extended by B, is not carried out:
    // the client holds it through B until the new valid_until.
    let r = a.apply(&[remove_op(&mine)]).expect("a remove");
    assert_eq!(r.rejected.len(), 1);
    assert_eq!(r.rejected[0].holder, renewed);
    assert_eq!(b.count().expect("count"), 3);

    // After expiry B hands it to another client; A's late Remove (its own
    // expiry timer) must not delete that.
    theirs.updated_at = renewed.valid_until;
    theirs.valid_until = theirs.updated_at + 3600;
    assert!(
        b.apply(&upserts([theirs.clone()]))
            .expect("b")
            .rejected
            .is_empty()
    );
    let r = a.apply(&[remove_op(&mine)]).expect("a remove");
    assert_eq!(r.rejected.len(), 1);
    assert_eq!(r.rejected[0].holder, theirs);
    assert_eq!(
        b.get(theirs.kind, theirs.addr, theirs.prefix_len)
            .expect("get"),
        Some(theirs.clone())
    );
    // B releasing its own lease works.
    assert!(
        b.apply(&[remove_op(&theirs)])
            .expect("b remove")
            .rejected
            .is_empty()
    );
    assert_eq!(b.get(theirs.kind, theirs.addr, 56).expect("get"), None);
}

#[test]
fn racing_servers_grant_each_prefix_once() {
    let Some(db) = TestDb::new("race") else {
        return;
    };
    const N: u32 = 300;
    // Both servers grant the same prefixes 0..N, each to its own clients,
    // in batches of 10, at the same time.
    let conninfo = db.conninfo();
    let run = |server: u8| {
        let mut s = PostgresStore::open(&conninfo).expect("open");
        let mut won = Vec::new();
        let mut lost = 0usize;
        for chunk in (0..N).collect::<Vec<_>>().chunks(10) {
            let leases: Vec<StoredLease> = chunk
                .iter()
                .map(|&n| {
                    let mut l = pd_lease(n);
                    l.duid = vec![0, 4, server, (n >> 8) as u8, n as u8];
                    l
                })
                .collect();
            let r = s.apply(&upserts(leases.clone())).expect("apply");
            lost += r.rejected.len();
            for (i, l) in leases.into_iter().enumerate() {
                if !r.rejected.iter().any(|x| x.index == i) {
                    won.push(l);
                } else {
                    let holder = &r
                        .rejected
                        .iter()
                        .find(|x| x.index == i)
                        .expect("listed")
                        .holder;
                    assert_ne!(holder.duid, l.duid, "rejected in favour of itself");
                }
            }
        }
        (won, lost)
    };
    let (a, b) = std::thread::scope(|sc| {
        let ta = sc.spawn(|| run(1));
        let tb = sc.spawn(|| run(2));
        (ta.join().expect("a"), tb.join().expect("b"))
    });
    assert_eq!(
        a.0.len() + b.0.len(),
        N as usize,
        "every prefix granted exactly once"
    );
    assert_eq!(a.1 + b.1, N as usize);
    let mut winners: Vec<StoredLease> = a.0.into_iter().chain(b.0).collect();
    winners.sort_by_key(|l| l.key());
    assert_eq!(db.open().load_all().expect("load"), winners);
}

#[test]
fn changes_report_what_the_other_server_did() {
    let Some(db) = TestDb::new("changes") else {
        return;
    };
    let mut a = db.open();
    let mut b = db.open();
    a.apply(&upserts([pd_lease(1), pd_lease(2)])).expect("a");
    // A does not hear of its own writes.
    assert_eq!(a.changes().expect("a changes"), vec![]);
    let got = b.changes().expect("b changes");
    assert_eq!(
        got,
        vec![Change::Held(pd_lease(1)), Change::Held(pd_lease(2))]
    );
    assert_eq!(b.changes().expect("again"), vec![], "reported once");
    // A renews one and releases the other.
    let mut renewed = pd_lease(1);
    renewed.valid_until += 100;
    a.apply(&[StoreOp::Upsert(renewed.clone()), remove_op(&pd_lease(2))])
        .expect("a");
    let got = b.changes().expect("b changes");
    assert_eq!(
        got,
        vec![Change::Held(renewed), Change::Gone(pd_lease(2).key())]
    );
    // Expiry sweeps are reported as Gone too.
    a.remove_expired(i64::MAX as u64).expect("sweep");
    assert_eq!(
        b.changes().expect("b"),
        vec![Change::Gone(pd_lease(1).key())]
    );
    // A fresh handle starts after what already happened.
    let mut c = db.open();
    assert_eq!(c.changes().expect("c"), vec![]);
}

/// A change numbered before one already read, committed after that read
/// (sequence numbers are taken before commit), is still reported: the
/// feed's cursor is the oldest running transaction, not the highest number.
#[test]
fn changes_report_a_late_commit_with_a_lower_number() {
    let Some(db) = TestDb::new("late") else {
        return;
    };
    let mut a = db.open();
    let mut b = db.open();
    let mut slow = postgres::Client::connect(&db.conninfo(), postgres::NoTls).expect("connect");
    let mut tx = slow.transaction().expect("begin");
    // Takes its change number now, commits later (an upsert row as
    // another server would write it, by hand).
    tx.batch_execute(
        "INSERT INTO lease6 (kind, address, prefix_len, duid, iaid, preferred_until, \
         valid_until, link, next_hop, ifindex, hw_addr, updated_at, reconfigure, server) \
         VALUES (2, '\\x20010db8000900000000000000000000', 56, '\\x00030001aa', 9, \
                 1700000000, 1700000100, 'if:2', NULL, 2, NULL, 1699999000, NULL, '\\x0053')",
    )
    .expect("slow insert");
    a.apply(&upserts([pd_lease(1)])).expect("a");
    assert_eq!(b.changes().expect("b"), vec![Change::Held(pd_lease(1))]);
    tx.commit().expect("commit");
    let got = b.changes().expect("b again");
    assert_eq!(got.len(), 1, "{got:?}");
    match &got[0] {
        Change::Held(l) => {
            assert_eq!(l.iaid, 9);
            assert_eq!(l.server.as_deref(), Some(&[0, 0x53][..]));
        }
        other => panic!("expected the late row, got {other:?}"),
    }
    assert_eq!(b.changes().expect("b once more"), vec![], "reported once");
    assert_eq!(a.changes().expect("a").len(), 1, "a hears of it too, once");
    assert_eq!(a.changes().expect("a again"), vec![]);
}

/// The granting server travels with the lease, and a takeover by another
/// server (after expiry) names the new one.
#[test]
fn rows_name_the_server_that_wrote_them() {
    let Some(db) = TestDb::new("server") else {
        return;
    };
    let mut a = db.open();
    let mut lease = pd_lease(2);
    lease.server = Some(b"A".to_vec());
    a.apply(&upserts([lease.clone()])).expect("a");
    let mut b = db.open();
    assert_eq!(b.load_all().expect("load"), vec![lease.clone()]);
    let mut taken = pd_lease(4);
    taken.addr = lease.addr;
    taken.server = Some(b"B".to_vec());
    taken.updated_at = lease.valid_until;
    assert!(
        b.apply(&upserts([taken.clone()]))
            .expect("b")
            .rejected
            .is_empty()
    );
    assert_eq!(a.changes().expect("a"), vec![Change::Held(taken.clone())]);
    assert_eq!(db.open().load_all().expect("load"), vec![taken]);
}

// ---------------------------------------------------------- migrations --

#[test]
fn fresh_database_is_current_and_reopen_migrates_nothing() {
    let Some(db) = TestDb::new("fresh") else {
        return;
    };
    assert_eq!(usize::try_from(SCHEMA_VERSION).ok(), Some(MIGRATIONS.len()));
    assert_eq!(db.open().schema_version().expect("version"), SCHEMA_VERSION);
    assert_eq!(db.open().schema_version().expect("version"), SCHEMA_VERSION);
}

#[test]
fn two_servers_opening_a_fresh_database_together() {
    let Some(db) = TestDb::new("openrace") else {
        return;
    };
    let conninfo = db.conninfo();
    let versions: Vec<i64> = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..4)
            .map(|_| {
                sc.spawn(|| {
                    PostgresStore::open(&conninfo)
                        .expect("open")
                        .schema_version()
                        .expect("version")
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().expect("thread")).collect()
    });
    assert_eq!(versions, vec![SCHEMA_VERSION; 4]);
}

#[test]
fn version_1_database_migrates_keeping_its_leases() {
    let Some(mut db) = TestDb::new("v1") else {
        return;
    };
    db.sql(MIGRATIONS[0]);
    db.sql(
        "UPDATE schema_version SET version = 1;
         INSERT INTO lease6 VALUES (2, '\\x20010db8010000000000000000000000', 56, '\\x0001', 7,
                                    100, 200, 'if:2', NULL, 2, NULL, 50);",
    );
    let mut s = db.open();
    assert_eq!(s.schema_version().expect("version"), SCHEMA_VERSION);
    let leases = s.load_all().expect("load");
    assert_eq!(leases.len(), 1);
    assert_eq!(leases[0].iaid, 7);
    assert_eq!(
        leases[0].addr,
        "2001:db8:100::".parse::<Ipv6Addr>().expect("literal")
    );
    assert_eq!(leases[0].reconfigure, None);
    // The migrated row takes part in change tracking like any other.
    let mut l = leases[0].clone();
    l.valid_until = 300;
    assert!(s.apply(&upserts([l])).expect("renew").rejected.is_empty());
}

#[test]
fn newer_schema_is_refused() {
    let Some(mut db) = TestDb::new("newer") else {
        return;
    };
    drop(db.open());
    db.sql(&format!(
        "UPDATE schema_version SET version = {}",
        SCHEMA_VERSION + 1
    ));
    match PostgresStore::open(&db.conninfo()) {
        Err(StoreError::NewerSchema {
            found, supported, ..
        }) => {
            assert_eq!(found, SCHEMA_VERSION + 1);
            assert_eq!(supported, SCHEMA_VERSION);
        }
        other => panic!("expected NewerSchema, got {other:?}"),
    }
    let msg = PostgresStore::open(&db.conninfo())
        .expect_err("still newer")
        .to_string();
    assert!(msg.contains("newer than this v6edge understands"), "{msg}");
    assert!(msg.contains("postgres://"), "{msg}");
}

#[test]
fn damaged_or_foreign_schema_is_refused() {
    let Some(mut db) = TestDb::new("foreign") else {
        return;
    };
    db.sql("CREATE TABLE lease6 (x INTEGER)");
    assert!(matches!(
        PostgresStore::open(&db.conninfo()),
        Err(StoreError::BadSchema { .. })
    ));
    let Some(mut db) = TestDb::new("tworows") else {
        return;
    };
    drop(db.open());
    db.sql(
        "ALTER TABLE schema_version DROP CONSTRAINT schema_version_singleton_check;
            INSERT INTO schema_version VALUES (2, 1)",
    );
    match PostgresStore::open(&db.conninfo()) {
        Err(StoreError::BadSchema { reason, .. }) => assert!(reason.contains("2 rows"), "{reason}"),
        other => panic!("expected BadSchema, got {other:?}"),
    }
}

#[test]
fn corrupt_row_is_reported_not_panicked() {
    let (mut db, s) = setup!("corrupt");
    db.sql(
        "INSERT INTO lease6 (kind, address, prefix_len, duid, iaid, preferred_until, valid_until,
                             link, next_hop, ifindex, hw_addr, updated_at, reconfigure)
         VALUES (2, '\\x20010db8000000000000000000000001', 48, '\\x0001', 1, -5, 10, 'if:2',
                 NULL, 2, NULL, 0, NULL)",
    );
    match s.load_all() {
        Err(StoreError::CorruptRow { row, reason }) => {
            assert_eq!(row, "prefix 2001:db8::1/48");
            assert!(reason.contains("bits are set"), "{reason}");
        }
        other => panic!("expected CorruptRow, got {other:?}"),
    }
}

#[test]
fn unreachable_server_is_an_error_naming_the_database() {
    let err = PostgresStore::open("host=/nonexistent/v6edge-test user=nobody dbname=nothing")
        .expect_err("no server there");
    let msg = err.to_string();
    assert!(
        msg.contains("postgres://nobody@/nonexistent/v6edge-test/nothing"),
        "{msg}"
    );
    assert!(PostgresStore::open("host='unterminated").is_err());
}

// ------------------------------------------- a database that goes away --

/// Polls `cond` every 20 ms for up to `limit`; whether it came true.
fn eventually(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    cond()
}

/// A Unix-socket relay between the store and the test server, which the
/// test can cut (every connection ended, new ones refused) and restore: the
/// database going away and coming back, without touching the shared server.
struct Outage {
    dir: common::TempDir,
    port: u16,
    relay: Arc<Relay>,
}

/// The relay's state, shared with its threads.
#[derive(Default)]
struct Relay {
    down: AtomicBool,
    /// Cut everything right after forwarding the next COMMIT: the server
    /// commits, the client never hears (a connection lost while committing).
    cut_after_commit: AtomicBool,
    /// Set from the COMMIT until the cut: the server's answers are dropped.
    mute: AtomicBool,
    conns: Mutex<Vec<UnixStream>>,
}

impl Relay {
    fn cut(&self) {
        self.down.store(true, Ordering::SeqCst);
        for c in self.conns.lock().expect("relay list").drain(..) {
            let _ = c.shutdown(Shutdown::Both);
        }
    }

    /// Copies one direction; the client's direction watches for COMMIT.
    fn pipe(self: &Arc<Self>, mut from: UnixStream, mut to: UnixStream, from_client: bool) {
        let relay = self.clone();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 65536];
            loop {
                let n = match from.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                let chunk = &buf[..n];
                let commit = from_client
                    && chunk.windows(6).any(|w| w == b"COMMIT")
                    && relay.cut_after_commit.swap(false, Ordering::SeqCst);
                if commit {
                    // Nothing more reaches the client: not the answer.
                    relay.mute.store(true, Ordering::SeqCst);
                }
                if !from_client && relay.mute.load(Ordering::SeqCst) {
                    continue; // dropped; the cut ends the connection
                }
                if to.write_all(chunk).is_err() {
                    break;
                }
                if commit {
                    // Time for the server to commit before the cut.
                    std::thread::sleep(Duration::from_millis(300));
                    relay.cut();
                    relay.mute.store(false, Ordering::SeqCst);
                    break;
                }
            }
            let _ = to.shutdown(Shutdown::Both);
            let _ = from.shutdown(Shutdown::Both);
        });
    }
}

impl Outage {
    /// `None` (after saying why) when the test server is not on a Unix
    /// socket.
    fn start(db: &TestDb) -> Option<Outage> {
        let config: postgres::Config = db.conninfo().parse().expect("test conninfo");
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let upstream = match config.get_hosts().first() {
            Some(postgres::config::Host::Unix(dir)) => dir.join(format!(".s.PGSQL.{port}")),
            _ => {
                eprintln!("skipped: V6EDGE_TEST_POSTGRES does not name a Unix-socket directory");
                return None;
            }
        };
        let dir = common::TempDir::new("outage");
        let listener =
            UnixListener::bind(dir.0.join(format!(".s.PGSQL.{port}"))).expect("relay socket");
        let relay = Arc::new(Relay::default());
        let r = relay.clone();
        // Ends with the test process (blocked in accept); nothing to join.
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if r.down.load(Ordering::SeqCst) {
                    drop(client); // refused: the client reads EOF
                    continue;
                }
                let Ok(server) = UnixStream::connect(&upstream) else {
                    continue;
                };
                let (Ok(c2), Ok(s2), Ok(c3), Ok(s3)) = (
                    client.try_clone(),
                    server.try_clone(),
                    client.try_clone(),
                    server.try_clone(),
                ) else {
                    continue;
                };
                r.conns.lock().expect("relay list").extend([c3, s3]);
                r.pipe(client, s2, true);
                r.pipe(server, c2, false);
            }
        });
        Some(Outage { dir, port, relay })
    }

    /// The test database's connection string, through the relay.
    fn conninfo(&self, db: &TestDb) -> String {
        let config: postgres::Config = db.conninfo().parse().expect("test conninfo");
        format!(
            "host={} port={} user={} dbname={} options='-c search_path={}'",
            self.dir.0.display(),
            self.port,
            config.get_user().expect("test conninfo names a user"),
            config.get_dbname().expect("test conninfo names a database"),
            db.schema
        )
    }

    /// The database goes away: connections end, new ones are refused.
    fn cut(&self) {
        self.relay.cut();
    }

    /// The next COMMIT reaches the server, then the database goes away.
    fn cut_after_commit(&self) {
        self.relay.cut_after_commit.store(true, Ordering::SeqCst);
    }

    fn restore(&self) {
        self.relay.down.store(false, Ordering::SeqCst);
    }
}

#[test]
fn batch_lost_while_committing_fails_and_its_keys_are_read_back() {
    let Some(db) = TestDb::new("commit_lost") else {
        return;
    };
    let Some(outage) = Outage::start(&db) else {
        return;
    };
    let mut s = PostgresStore::open(&outage.conninfo(&db)).expect("open through the relay");
    let other = db.open();
    outage.cut_after_commit();
    // Committed on the server, but the answer never came: reported failed,
    // so the daemon withholds the Reply (never a lease acknowledged that
    // is not known durable).
    let err = s
        .apply(&upserts([pd_lease(1)]))
        .expect_err("no answer to COMMIT");
    assert!(matches!(err, StoreError::PostgresCommit { .. }), "{err:?}");
    assert_eq!(
        other
            .get(LeaseKind::Prefix, pd_lease(1).addr, 56)
            .expect("get"),
        Some(pd_lease(1)),
        "the server did commit"
    );
    outage.restore();
    assert!(
        eventually(Duration::from_secs(10), || s.is_available()),
        "reconnected: {:?}",
        s.health()
    );
    // Read back after reconnecting: the handle knows the row is its own
    // write, so it is no news from another server.
    let changes = s.changes().expect("changes");
    assert!(!changes.contains(&Change::Held(pd_lease(1))), "{changes:?}");
    // The client's retransmission: the same grant again goes through.
    let a = s.apply(&upserts([pd_lease(1)])).expect("same client again");
    assert!(a.rejected.is_empty());
}

#[test]
fn database_away_fails_every_write_then_the_store_reconnects_by_itself() {
    let Some(db) = TestDb::new("away") else {
        return;
    };
    let Some(outage) = Outage::start(&db) else {
        return;
    };
    let mut s = PostgresStore::open(&outage.conninfo(&db)).expect("open through the relay");
    let mut other = db.open(); // another server, on a connection that stays
    let h = s.health();
    assert!(h.available && h.losses == 0 && h.reconnects == 0, "{h:?}");
    s.apply(&upserts([pd_lease(1)])).expect("before the outage");

    outage.cut();
    // The batch at hand fails: it must not be reported durable.
    let err = s.apply(&upserts([pd_lease(2)])).expect_err("database away");
    assert!(
        matches!(
            err,
            StoreError::PostgresCommit { .. } | StoreError::PostgresUnavailable { .. }
        ),
        "{err:?}"
    );
    let h = s.health();
    assert!(!h.available, "{h:?}");
    assert_eq!(h.losses, 1);
    assert!(h.last_error.is_some());
    // While away, every call fails at once: the daemon's loop is not held.
    for n in 3..8 {
        let t = Instant::now();
        let err = s.apply(&upserts([pd_lease(n)])).expect_err("still away");
        assert!(
            matches!(err, StoreError::PostgresUnavailable { .. }),
            "{err:?}"
        );
        assert!(
            t.elapsed() < Duration::from_millis(200),
            "{:?}",
            t.elapsed()
        );
        assert!(s.changes().is_err());
    }
    // Attempts go on, refused, with backoff: still away after a second.
    std::thread::sleep(Duration::from_secs(1));
    assert!(!s.is_available());
    // The other server writes meanwhile.
    other.apply(&upserts([pd_lease(20)])).expect("other server");

    outage.restore();
    assert!(
        eventually(Duration::from_secs(10), || s.is_available()),
        "reconnected within 10 s: {:?}",
        s.health()
    );
    let h = s.health();
    assert_eq!((h.losses, h.reconnects), (1, 1), "{h:?}");
    s.apply(&upserts([pd_lease(9)])).expect("after the outage");
    // Nothing of the failed batches was written; everything acknowledged was.
    let mut keys: Vec<_> = other
        .load_all()
        .expect("load")
        .iter()
        .map(StoredLease::key)
        .collect();
    keys.sort();
    let mut expected: Vec<_> = [1, 9, 20].into_iter().map(|n| pd_lease(n).key()).collect();
    expected.sort();
    assert_eq!(keys, expected);
    // What the other server did during the outage is reported after it.
    let changes = s.changes().expect("changes");
    assert!(changes.contains(&Change::Held(pd_lease(20))), "{changes:?}");
}

#[test]
fn terminated_backend_is_replaced_and_no_write_is_acknowledged_falsely() {
    let (mut db, mut s) = setup!("terminate");
    s.apply(&upserts([pd_lease(0)])).expect("first write");
    let first_pid = s.backend_pid().expect("pid");
    // What an operator or a server restart does to the session; waits (up
    // to 5 s) until the backend is gone.
    db.sql(&format!("SELECT pg_terminate_backend({first_pid}, 5000)"));
    let mut acknowledged = vec![0];
    let mut failed = 0;
    for n in 1..300 {
        match s.apply(&upserts([pd_lease(n)])) {
            Ok(a) => {
                assert!(a.rejected.is_empty());
                acknowledged.push(n);
            }
            Err(_) => failed += 1,
        }
        if acknowledged.len() >= 4 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(failed >= 1, "the write on the dead session failed");
    assert_eq!(acknowledged.len(), 4, "writes went through again");
    let h = s.health();
    assert!(h.available && h.losses == 1 && h.reconnects == 1, "{h:?}");
    assert_ne!(s.backend_pid().expect("pid"), first_pid);
    let stored: Vec<_> = db
        .open()
        .load_all()
        .expect("load")
        .iter()
        .map(StoredLease::key)
        .collect();
    for n in acknowledged {
        assert!(stored.contains(&pd_lease(n).key()), "lease {n} is durable");
    }
    assert_eq!(stored.len(), 4, "no failed write was stored");
}

#[test]
fn a_refused_statement_keeps_the_connection() {
    let (mut db, mut s) = setup!("keep");
    db.sql("ALTER TABLE lease6 ADD CONSTRAINT no_iaid_7 CHECK (iaid <> 7)");
    let pid = s.backend_pid().expect("pid");
    let mut bad = pd_lease(3);
    bad.iaid = 7;
    s.apply(&upserts([bad])).expect_err("constraint violated");
    let h = s.health();
    assert!(h.available && h.losses == 0, "{h:?}");
    assert_eq!(s.backend_pid().expect("pid"), pid, "same session");
}

// ------------------------------------------------------------------ TLS --

/// A private server of crates/store/tests/pg-cluster.sh (TLS on TCP, which
/// the shared test server may not offer), removed on drop.
struct PrivateCluster {
    dir: PathBuf,
    port: u16,
}

impl PrivateCluster {
    /// `None` (after saying why) without root or the server binaries,
    /// except under CI, where the TLS test must run.
    fn start(tag: &str) -> Option<PrivateCluster> {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pg-cluster.sh");
        // SAFETY: geteuid has no preconditions.
        let root = unsafe { libc::geteuid() } == 0;
        let binaries = std::fs::read_dir("/usr/lib/postgresql").is_ok();
        if !root || !binaries {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must run the TLS test (root and the postgresql package)"
            );
            eprintln!("skipped: needs root and PostgreSQL's server binaries");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let dir = std::env::temp_dir().join(format!("v6edge-pg-{tag}-{}", std::process::id()));
        let status = std::process::Command::new(&script)
            .arg("start")
            .arg(&dir)
            .arg(port.to_string())
            .status()
            .expect("run pg-cluster.sh");
        let cluster = PrivateCluster { dir, port };
        assert!(status.success(), "pg-cluster.sh start failed");
        Some(cluster)
    }

    fn tcp(&self, host: &str, tls: &str) -> String {
        format!(
            "host={host} port={} user=postgres dbname=postgres {tls}",
            self.port
        )
    }

    /// Whether the server sees the session of `pid` encrypted.
    fn ssl_of(&self, pid: i32) -> bool {
        let mut admin = postgres::Client::connect(
            &format!(
                "host={} port={} user=postgres dbname=postgres",
                self.dir.display(),
                self.port
            ),
            postgres::NoTls,
        )
        .expect("admin over the Unix socket");
        admin
            .query_one("SELECT ssl FROM pg_stat_ssl WHERE pid = $1", &[&pid])
            .and_then(|r| r.try_get(0))
            .expect("pg_stat_ssl row")
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pg-cluster.sh");
        let _ = std::process::Command::new(script)
            .arg("destroy")
            .arg(&self.dir)
            .status();
    }
}

#[test]
fn tls_as_sslmode_says() {
    let Some(c) = PrivateCluster::start("tls") else {
        return;
    };
    let ca = c.dir.join("ca.crt");
    let other_ca = c.dir.join("other-ca.crt");
    let opens = |conninfo: String| {
        let s = PostgresStore::open(&conninfo).unwrap_or_else(|e| panic!("{conninfo}: {e:?}"));
        let pid = s.backend_pid().expect("pid");
        assert!(s.health().tls, "{conninfo}: the store says TLS");
        assert!(c.ssl_of(pid), "{conninfo}: the server says TLS");
        s
    };
    // prefer (the default) and require: encrypted, certificate not checked.
    opens(c.tcp("127.0.0.1", ""));
    let mut s = opens(c.tcp("127.0.0.1", "sslmode=require"));
    s.apply(&upserts([pd_lease(1)])).expect("write over TLS");
    // verify-full: signed by the CA, and the name is the host's.
    opens(c.tcp(
        "localhost",
        &format!("sslmode=verify-full sslrootcert={}", ca.display()),
    ));
    // The URL form says the same.
    opens(format!(
        "postgresql://postgres@localhost:{}/postgres?sslmode=verify-full&sslrootcert={}",
        c.port,
        ca.display()
    ));
    // verify-ca checks the signature, not the name.
    opens(c.tcp(
        "127.0.0.1",
        &format!("sslmode=verify-ca sslrootcert={}", ca.display()),
    ));
    // Refused: a name the certificate does not carry, a CA that did not sign
    // it (also through require + sslrootcert, as libpq), and no TLS at all
    // (the server rejects TCP in the clear: what worked above was TLS).
    for refused in [
        c.tcp(
            "127.0.0.1",
            &format!("sslmode=verify-full sslrootcert={}", ca.display()),
        ),
        c.tcp(
            "localhost",
            &format!("sslmode=verify-ca sslrootcert={}", other_ca.display()),
        ),
        c.tcp(
            "localhost",
            &format!("sslmode=require sslrootcert={}", other_ca.display()),
        ),
        c.tcp("127.0.0.1", "sslmode=disable"),
    ] {
        let err = PostgresStore::open(&refused).expect_err(&refused);
        assert!(
            matches!(err, StoreError::Postgres { .. }),
            "{refused}: {err:?}"
        );
    }
    // A verifying mode with no CA named is a configuration error.
    let err = PostgresStore::open(&c.tcp("localhost", "sslmode=verify-full"))
        .expect_err("no sslrootcert");
    assert!(matches!(err, StoreError::PostgresTls { .. }), "{err:?}");
}

// ------------------------------------------------------------ property --

fn lease_strategy() -> impl Strategy<Value = StoredLease> {
    (
        0u32..6,
        prop::collection::vec(0u8..3, 1..3),
        0u32..2,
        0u64..40,
        0u64..40,
    )
        .prop_map(|(n, duid, iaid, valid, now)| {
            let mut l = pd_lease(n);
            l.duid = duid;
            l.iaid = iaid;
            l.valid_until = valid;
            l.preferred_until = valid / 2;
            l.updated_at = now;
            l
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// One server alone: PostgreSQL keeps what a single-writer store keeps,
    /// except that a live lease of another client is never overwritten, and
    /// every rejection names the real holder.
    #[test]
    fn single_server_matches_memory_model(
        batches in prop::collection::vec(prop::collection::vec(
            prop_oneof![
                3 => lease_strategy().prop_map(StoreOp::Upsert),
                1 => (0u32..6).prop_map(|n| remove_op(&pd_lease(n))),
            ], 0..6), 1..8)
    ) {
        let Some(db) = TestDb::new("prop") else { return Ok(()) };
        let mut pg = db.open();
        let mut model = MemoryStore::new();
        for ops in &batches {
            let applied = pg.apply(ops).expect("apply");
            // The model applies the ops the rule lets through.
            let mut rejected = applied.rejected.iter().map(|r| r.index).peekable();
            for (i, op) in ops.iter().enumerate() {
                let current = model.get(op.key().kind, op.key().addr, op.key().prefix_len).expect("get");
                let allowed = match op {
                    StoreOp::Upsert(l) => current.as_ref().is_none_or(|c| {
                        (c.duid == l.duid && c.iaid == l.iaid) || c.valid_until <= l.updated_at
                    }),
                    // A single handle knows every holder it wrote.
                    StoreOp::Remove { .. } => true,
                };
                if rejected.peek() == Some(&i) {
                    rejected.next();
                    prop_assert!(!allowed, "op {} rejected but allowed", i);
                    prop_assert_eq!(Some(&applied.rejected.iter().find(|r| r.index == i).expect("listed").holder), current.as_ref());
                } else {
                    prop_assert!(allowed, "op {} written but should be rejected", i);
                    model.apply(std::slice::from_ref(op)).expect("model");
                }
            }
            prop_assert_eq!(pg.load_all().expect("pg load"), model.load_all().expect("model load"));
        }
    }
}
