//! Durability across a process crash: a child process commits batches and
//! prints "committed <n>" after each `apply` returns; the parent kills it with
//! SIGKILL the moment it reads a chosen line (so the kill usually lands while
//! the child is inside its next transaction), reopens the database, and checks
//! that every batch reported committed is there, whole, and that no batch is
//! there in part. Power loss cannot be simulated here; `synchronous=FULL`
//! (checked in the unit tests) is what covers it.
//!
//! The child is this test binary run again with `CHILD_DB_ENV` set, running
//! only `crash_child`.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{TempDir, pd_lease};
use v6edge_store::{LeaseStore, SqliteStore, StoreOp};

const CHILD_DB_ENV: &str = "V6EDGE_STORE_CRASH_CHILD_DB";
const CHILD_FIRST_BATCH_ENV: &str = "V6EDGE_STORE_CRASH_FIRST_BATCH";
const BATCH: u32 = 40;
/// The child stops on its own after this many batches, should the parent
/// fail to kill it.
const CHILD_MAX_BATCHES: u32 = 5_000;
/// Bound on every wait for the child.
const WAIT: Duration = Duration::from_secs(60);

/// The leases of batch `b`: `updated_at` carries the batch number so the
/// parent can group what it finds.
fn batch_ops(b: u32) -> Vec<StoreOp> {
    (0..BATCH)
        .map(|i| {
            let mut l = pd_lease(b * BATCH + i);
            l.updated_at = u64::from(b);
            StoreOp::Upsert(l)
        })
        .collect()
}

/// Child side; a no-op when run as an ordinary test.
#[test]
fn crash_child() {
    let Some(db) = std::env::var_os(CHILD_DB_ENV) else {
        return;
    };
    let first: u32 = std::env::var(CHILD_FIRST_BATCH_ENV)
        .ok()
        .and_then(|v| v.parse().ok())
        .expect("the parent always sets the first batch number");
    let mut store = SqliteStore::open(&db).expect("child open");
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for b in first..first + CHILD_MAX_BATCHES {
        store.apply(&batch_ops(b)).expect("child apply");
        // The parent gone (broken pipe) ends the child too.
        if writeln!(out, "committed {b}")
            .and_then(|()| out.flush())
            .is_err()
        {
            return;
        }
    }
}

/// Kills and reaps the child if the parent test fails half way.
struct ChildGuard(Child);
impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs a child from batch `first`, SIGKILLs it right after reading its
/// `kill_after`-th "committed" line, and returns the last batch it reported.
fn run_and_kill(db: &std::path::Path, first: u32, kill_after: u32) -> u32 {
    let exe = std::env::current_exe().expect("test binary path");
    let child = Command::new(exe)
        .args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_DB_ENV, db)
        .env(CHILD_FIRST_BATCH_ENV, first.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn child");
    let mut guard = ChildGuard(child);
    let stdout = guard.0.stdout.take().expect("stdout was piped");
    let (tx, rx) = mpsc::channel::<u32>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if let Some(n) = line.strip_prefix("committed ").and_then(|n| n.parse().ok())
                && tx.send(n).is_err()
            {
                return;
            }
        }
    });
    let mut last = None;
    for _ in 0..kill_after {
        match rx.recv_timeout(WAIT) {
            Ok(n) => last = Some(n),
            Err(e) => panic!("child stopped reporting commits after {last:?}: {e}"),
        }
    }
    // std's Child::kill sends SIGKILL on Unix: no destructor, no checkpoint,
    // no WAL cleanup in the child.
    guard.0.kill().expect("SIGKILL child");
    let status = guard.0.wait().expect("reap child");
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(libc::SIGKILL),
        "child must die by SIGKILL, not finish: {status:?}"
    );
    // Lines the child wrote before dying are reported commits too.
    let _ = reader.join();
    while let Ok(n) = rx.try_recv() {
        last = Some(n);
    }
    last.expect("kill_after >= 1")
}

#[test]
fn committed_batches_survive_sigkill() {
    if std::env::var_os(CHILD_DB_ENV).is_some() {
        return; // inside a child: only crash_child runs there anyway
    }
    let dir = TempDir::new("crash");
    let db = dir.db();
    let mut first = 0;
    // Several crashes on the same file: each restart recovers the WAL the
    // previous victim left behind, then keeps writing.
    for kill_after in [1, 7, 25, 60] {
        let last = run_and_kill(&db, first, kill_after);
        assert!(last >= first + kill_after - 1);

        let store = SqliteStore::open(&db).expect("reopen after SIGKILL");
        let mut per_batch: BTreeMap<u64, u32> = BTreeMap::new();
        store
            .visit(&mut |l| *per_batch.entry(l.updated_at).or_default() += 1)
            .expect("visit");
        for b in 0..=last {
            assert_eq!(
                per_batch.get(&u64::from(b)).copied(),
                Some(BATCH),
                "batch {b} was reported committed (last reported {last}) but is not all there"
            );
        }
        // Atomicity: a batch in flight at the kill is all there or absent.
        for (&b, &n) in &per_batch {
            assert_eq!(n, BATCH, "batch {b} is partly present ({n} of {BATCH})");
        }
        // Every lease of a committed batch decodes to exactly what was written.
        let StoreOp::Upsert(sample) = &batch_ops(last)[BATCH as usize - 1] else {
            unreachable!("batch_ops only makes upserts")
        };
        assert_eq!(
            store
                .get(sample.kind, sample.addr, sample.prefix_len)
                .expect("get"),
            Some(sample.clone())
        );
        let found_last = per_batch.keys().next_back().copied().unwrap_or(0);
        first = u32::try_from(found_last).expect("batch numbers are u32") + 1;
    }
}
