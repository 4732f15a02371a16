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

use std::net::Ipv6Addr;

use common::pg::TestDb;
use common::{na_lease, pd_lease, remove_op, upserts};
use proptest::prelude::*;
use v6edge_store::postgres::{MIGRATIONS, SCHEMA_VERSION};
use v6edge_store::{
    Change, LeaseStore, MemoryStore, PostgresStore, StoreError, StoreOp, StoredLease,
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
