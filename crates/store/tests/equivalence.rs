//! Property: any sequence of batches, expiry sweeps and (for SQLite) reopens
//! leaves `MemoryStore` and `SqliteStore` with the same leases, and both
//! accept or refuse the same batches. Keys come from a small space so upserts
//! collide and removes hit.

mod common;

use std::net::Ipv6Addr;

use common::TempDir;
use proptest::prelude::*;
use v6edge_store::{LeaseKind, LeaseStore, MemoryStore, SqliteStore, StoreOp, StoredLease};

#[derive(Debug, Clone)]
enum Step {
    Batch(Vec<StoreOp>),
    Expire(u64),
    Reopen,
}

/// (kind, addr, prefix_len); `broken` sets a host bit to make it invalid.
fn key() -> impl Strategy<Value = (LeaseKind, Ipv6Addr, u8)> {
    (
        any::<bool>(),
        0u128..6,
        prop::sample::select(vec![48u8, 56, 64]),
        prop::bool::weighted(0.03),
    )
        .prop_map(|(is_prefix, k, len, broken)| {
            let base = u128::from(Ipv6Addr::new(0x2001, 0x0db8, 0, 0, 0, 0, 0, 0));
            if is_prefix {
                let addr = base | (k << (128 - u32::from(len))) | u128::from(broken);
                (LeaseKind::Prefix, Ipv6Addr::from(addr), len)
            } else {
                let len = if broken { 64 } else { 128 };
                (
                    LeaseKind::Address,
                    Ipv6Addr::from(base | (0xa << 80) | k),
                    len,
                )
            }
        })
}

fn lease() -> impl Strategy<Value = StoredLease> {
    (
        key(),
        (
            prop::collection::vec(0u8..4, 0..6),
            any::<u32>(),
            0u64..40,
            0u64..40,
        ),
        (
            "[a-z0-9:.]{0,12}",
            prop::option::of(any::<u128>()),
            any::<u32>(),
        ),
        (
            prop::option::of(prop::collection::vec(any::<u8>(), 0..8)),
            0u64..=i64::MAX as u64,
            prop::option::of(prop::collection::vec(any::<u8>(), 0..24)),
            prop::option::of(prop::collection::vec(any::<u8>(), 0..20)),
        ),
    )
        .prop_map(
            |(
                (kind, addr, prefix_len),
                (duid, iaid, preferred_until, valid_until),
                (link, nh, ifindex),
                (hw_addr, updated_at, reconfigure, server),
            )| {
                StoredLease {
                    duid,
                    iaid,
                    kind,
                    addr,
                    prefix_len,
                    preferred_until,
                    valid_until,
                    link,
                    next_hop: nh.map(Ipv6Addr::from),
                    ifindex,
                    hw_addr,
                    updated_at,
                    reconfigure,
                    server,
                }
            },
        )
}

fn op() -> impl Strategy<Value = StoreOp> {
    prop_oneof![
        3 => lease().prop_map(StoreOp::Upsert),
        1 => key().prop_map(|(kind, addr, prefix_len)| StoreOp::Remove { kind, addr, prefix_len }),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        8 => prop::collection::vec(op(), 0..8).prop_map(Step::Batch),
        2 => (0u64..45).prop_map(Step::Expire),
        1 => Just(Step::Reopen),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn memory_and_sqlite_agree(steps in prop::collection::vec(step(), 1..16)) {
        let dir = TempDir::new("equiv");
        let mut mem = MemoryStore::new();
        let mut sql = SqliteStore::open(dir.db()).expect("open");
        for (i, step) in steps.iter().enumerate() {
            match step {
                Step::Batch(ops) => {
                    let a = mem.apply(ops);
                    let b = sql.apply(ops);
                    prop_assert_eq!(a.is_ok(), b.is_ok(), "step {}: {:?} vs {:?}", i, a, b);
                }
                Step::Expire(now) => {
                    prop_assert_eq!(
                        mem.remove_expired(*now).expect("memory sweep"),
                        sql.remove_expired(*now).expect("sqlite sweep"),
                        "step {}", i
                    );
                }
                Step::Reopen => {
                    drop(sql);
                    sql = SqliteStore::open(dir.db()).expect("reopen");
                }
            }
            let all = mem.load_all().expect("memory load");
            prop_assert_eq!(&all, &sql.load_all().expect("sqlite load"), "after step {}", i);
            prop_assert_eq!(mem.count().expect("count"), sql.count().expect("count"));
            for l in &all {
                prop_assert_eq!(
                    mem.find_by_duid(&l.duid).expect("by duid"),
                    sql.find_by_duid(&l.duid).expect("by duid")
                );
            }
        }
    }
}
