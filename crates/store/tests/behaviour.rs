//! The `LeaseStore` contract, checked against both backends: every test body
//! runs once on `MemoryStore` and once on `SqliteStore` (a file on disk).

mod common;

use common::{TempDir, na_lease, pd_addr, pd_lease, remove_op, upserts};
use v6edge_store::{
    InvalidReason, LeaseKind, LeaseStore, MemoryStore, SqliteStore, StoreError, StoreOp,
};

/// Generates `<name>::memory` and `<name>::sqlite` from one body taking
/// `&mut dyn LeaseStore`.
macro_rules! both_stores {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[test]
            fn memory() {
                let mut s = MemoryStore::new();
                ($body)(&mut s as &mut dyn LeaseStore);
            }
            #[test]
            fn sqlite() {
                let dir = TempDir::new(stringify!($name));
                let mut s = SqliteStore::open(dir.db()).expect("open");
                ($body)(&mut s as &mut dyn LeaseStore);
            }
            /// The shared store passes the same contract (skips without a
            /// server outside CI, see `common::pg`).
            #[cfg(feature = "postgres")]
            #[test]
            fn postgres() {
                let Some(db) = common::pg::TestDb::new(stringify!($name)) else {
                    return;
                };
                let mut s = db.open();
                ($body)(&mut s as &mut dyn LeaseStore);
            }
        }
    };
}

/// Stores with one writer, where an upsert replaces whatever holds the key:
/// the shared PostgreSQL store refuses a live lease to another client
/// instead (its own rule, tested in postgres.rs).
macro_rules! single_writer_stores {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[test]
            fn memory() {
                let mut s = MemoryStore::new();
                ($body)(&mut s as &mut dyn LeaseStore);
            }
            #[test]
            fn sqlite() {
                let dir = TempDir::new(stringify!($name));
                let mut s = SqliteStore::open(dir.db()).expect("open");
                ($body)(&mut s as &mut dyn LeaseStore);
            }
        }
    };
}

both_stores!(round_trip_every_field, |s: &mut dyn LeaseStore| {
    let pd = pd_lease(0x01_02_03);
    let na = na_lease(7);
    // Edge values: empty DUID and link, zero times, maximum storable time.
    let mut edge = pd_lease(9);
    edge.duid = Vec::new();
    edge.link = String::new();
    edge.preferred_until = 0;
    edge.valid_until = i64::MAX as u64;
    edge.updated_at = 0;
    edge.iaid = u32::MAX;
    edge.ifindex = u32::MAX;
    edge.hw_addr = Some(Vec::new());
    s.apply(&upserts([pd.clone(), na.clone(), edge.clone()]))
        .expect("apply");
    assert_eq!(s.count().expect("count"), 3);
    // Key order: the address first, then prefixes by address
    // (2001:db8:0:900:: before 2001:db8:102:300::).
    assert_eq!(
        s.load_all().expect("load"),
        vec![na.clone(), edge.clone(), pd.clone()]
    );
    assert_eq!(
        s.get(pd.kind, pd.addr, pd.prefix_len).expect("get"),
        Some(pd.clone())
    );
    assert_eq!(s.get(na.kind, na.addr, 128).expect("get"), Some(na.clone()));
    // The same prefix under another kind or length is another key.
    assert_eq!(s.get(LeaseKind::Prefix, pd.addr, 48).expect("get"), None);
    assert_eq!(s.get(LeaseKind::Address, pd.addr, 56).expect("get"), None);
    assert_eq!(s.find_by_duid(&pd.duid).expect("by duid"), vec![pd]);
    assert_eq!(s.find_by_duid(&[]).expect("by duid"), vec![edge]);
});

single_writer_stores!(upsert_replaces, |s: &mut dyn LeaseStore| {
    let first = pd_lease(5);
    s.apply(&upserts([first.clone()])).expect("apply");
    // Same client renewing (the SQLite renewal path): every other field changes.
    let mut same_client = first.clone();
    same_client.valid_until += 60;
    same_client.preferred_until += 30;
    same_client.link = "if:4".into();
    same_client.next_hop = Some("fe80::99".parse().expect("literal"));
    same_client.ifindex = 4;
    same_client.hw_addr = Some(vec![1, 2, 3]);
    same_client.updated_at += 60;
    s.apply(&upserts([same_client.clone()])).expect("renew");
    assert_eq!(s.load_all().expect("load"), vec![same_client]);
    // Another client (new DUID and IAID) taking the prefix over.
    let mut renewed = first.clone();
    renewed.iaid ^= 1;
    renewed.valid_until += 7200;
    renewed.preferred_until += 3600;
    renewed.next_hop = None;
    renewed.hw_addr = None;
    renewed.link = "if:9".into();
    renewed.duid = vec![9, 9];
    s.apply(&upserts([renewed.clone()])).expect("apply");
    assert_eq!(s.count().expect("count"), 1);
    assert_eq!(s.load_all().expect("load"), vec![renewed.clone()]);
    assert_eq!(s.find_by_duid(&first.duid).expect("by duid"), vec![]);
    assert_eq!(s.find_by_duid(&[9, 9]).expect("by duid"), vec![renewed]);
});

single_writer_stores!(last_op_in_a_batch_wins, |s: &mut dyn LeaseStore| {
    let a = pd_lease(1);
    let mut a2 = a.clone();
    a2.iaid = 42;
    let b = pd_lease(2);
    s.apply(&[
        StoreOp::Upsert(a.clone()),
        StoreOp::Upsert(a2.clone()),
        StoreOp::Upsert(b.clone()),
        remove_op(&b),
    ])
    .expect("apply");
    assert_eq!(s.load_all().expect("load"), vec![a2]);
});

both_stores!(
    remove_deletes_and_tolerates_missing,
    |s: &mut dyn LeaseStore| {
        let leases: Vec<_> = (0..4).map(pd_lease).collect();
        s.apply(&upserts(leases.clone())).expect("apply");
        s.apply(&[remove_op(&leases[1]), remove_op(&leases[3])])
            .expect("remove");
        assert_eq!(
            s.load_all().expect("load"),
            vec![leases[0].clone(), leases[2].clone()]
        );
        // Removing what is not there (Release racing expiry) is fine.
        s.apply(&[remove_op(&leases[1])]).expect("remove missing");
        assert_eq!(s.count().expect("count"), 2);
        s.apply(&[]).expect("empty batch");
        assert_eq!(s.count().expect("count"), 2);
    }
);

both_stores!(remove_expired_uses_valid_until, |s: &mut dyn LeaseStore| {
    let mut leases: Vec<_> = (0..5).map(pd_lease).collect();
    for (i, l) in leases.iter_mut().enumerate() {
        l.valid_until = 1000 + i as u64 * 10; // 1000, 1010, ..., 1040
        l.preferred_until = 500;
    }
    s.apply(&upserts(leases.clone())).expect("apply");
    assert_eq!(s.remove_expired(999).expect("sweep"), 0);
    // valid_until == now is expired: the lifetime has run out.
    assert_eq!(s.remove_expired(1010).expect("sweep"), 2);
    assert_eq!(s.load_all().expect("load"), leases[2..].to_vec());
    assert_eq!(s.remove_expired(1010).expect("sweep"), 0);
    assert_eq!(s.remove_expired(u64::MAX).expect("sweep"), 3);
    assert_eq!(s.count().expect("count"), 0);
});

both_stores!(
    invalid_op_refuses_the_whole_batch,
    |s: &mut dyn LeaseStore| {
        let good = pd_lease(1);
        let mut host_bits = pd_lease(2);
        host_bits.addr = "2001:db8:0:201::1".parse().expect("literal");
        let err = s
            .apply(&[StoreOp::Upsert(good.clone()), StoreOp::Upsert(host_bits)])
            .expect_err("host bits");
        assert!(
            matches!(
                err,
                StoreError::InvalidOp {
                    index: 1,
                    total: 2,
                    reason: InvalidReason::HostBitsSet,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(
            err.to_string().contains("prefix 2001:db8:0:201::1/56"),
            "{err}"
        );
        let mut too_late = pd_lease(3);
        too_late.valid_until = u64::MAX;
        assert!(matches!(
            s.apply(&upserts([good.clone(), too_late])),
            Err(StoreError::InvalidOp {
                reason: InvalidReason::TimeOutOfRange {
                    field: "valid_until",
                    ..
                },
                ..
            })
        ));
        let mut wide_address = na_lease(1);
        wide_address.prefix_len = 64;
        wide_address.addr = "2001:db8:a::".parse().expect("literal");
        assert!(matches!(
            s.apply(&upserts([wide_address])),
            Err(StoreError::InvalidOp {
                reason: InvalidReason::AddressNotHost(64),
                ..
            })
        ));
        assert!(matches!(
            s.apply(&[StoreOp::Remove {
                kind: LeaseKind::Prefix,
                addr: pd_addr(1),
                prefix_len: 129
            }]),
            Err(StoreError::InvalidOp {
                reason: InvalidReason::PrefixLenTooLong(129),
                ..
            })
        ));
        assert_eq!(
            s.count().expect("count"),
            0,
            "nothing of a refused batch is written"
        );
    }
);

both_stores!(batch_of_10k_in_one_apply, |s: &mut dyn LeaseStore| {
    let leases: Vec<_> = (0..10_000).map(pd_lease).collect();
    s.apply(&upserts(leases.clone())).expect("apply 10k");
    assert_eq!(s.count().expect("count"), 10_000);
    let loaded = s.load_all().expect("load");
    let mut expected = leases;
    expected.sort_by_key(|l| l.key());
    assert_eq!(loaded, expected);
    let mut visited = 0;
    s.visit(&mut |_| visited += 1).expect("visit");
    assert_eq!(visited, 10_000);
});

#[test]
fn sqlite_reopen_after_drop_keeps_everything() {
    let dir = TempDir::new("reopen");
    let mut leases: Vec<_> = (0..300).map(pd_lease).collect();
    leases.extend((0..300).map(na_lease));
    {
        let mut s = SqliteStore::open(dir.db()).expect("open");
        s.apply(&upserts(leases.clone())).expect("apply");
        s.apply(&[remove_op(&leases[10])]).expect("remove");
    }
    leases.remove(10);
    leases.sort_by_key(|l| l.key());
    let mut s = SqliteStore::open(dir.db()).expect("reopen");
    assert_eq!(s.load_all().expect("load"), leases);
    // Checkpointing moves the WAL into the main file and changes nothing.
    s.flush().expect("flush");
    drop(s);
    let s = SqliteStore::open(dir.db()).expect("reopen after flush");
    assert_eq!(s.load_all().expect("load"), leases);
}

#[test]
fn store_is_object_safe_and_send() {
    fn takes(_: Box<dyn LeaseStore + Send>) {}
    let dir = TempDir::new("dyn");
    takes(Box::new(MemoryStore::new()));
    takes(Box::new(SqliteStore::open(dir.db()).expect("open")));
}
