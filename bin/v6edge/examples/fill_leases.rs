//! Fills a v6edge SQLite lease store with N delegated-prefix leases, as the
//! daemon would have stored them, for restart benchmarks
//! (bench/server-restart.sh).
//!
//! usage: fill_leases DB COUNT POOL DELEGATED_LEN INTERFACE NEXT_HOP VALID_SECS
//! e.g.   fill_leases /tmp/s/leases.db 1000000 2001:db8:c000::/34 56 isp0 fe80::2 7200

use std::net::Ipv6Addr;
use std::time::{SystemTime, UNIX_EPOCH};

use v6edge_prefix::Prefix;
use v6edge_store::{LeaseKind, LeaseStore, SqliteStore, StoreOp, StoredLease};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [db, count, pool, len, ifname, next_hop, valid] = args.as_slice() else {
        return Err(
            "usage: fill_leases DB COUNT POOL DELEGATED_LEN INTERFACE NEXT_HOP VALID_SECS".into(),
        );
    };
    let count: u64 = count.parse()?;
    let pool: Prefix = pool.parse()?;
    let len: u8 = len.parse()?;
    let next_hop: Ipv6Addr = next_hop.parse()?;
    let valid: u64 = valid.parse()?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let mut store = SqliteStore::open(db)?;
    let mut batch = Vec::with_capacity(10_000);
    for i in 0..count {
        let prefix = pool
            .subnet(len, u128::from(i))
            .ok_or("pool too small for COUNT")?;
        // A DUID-LL per client: type 3, hardware type 1, 6 bytes from i.
        let mut duid = vec![0, 3, 0, 1, 2, 0];
        duid.extend_from_slice(&i.to_be_bytes()[4..]);
        batch.push(StoreOp::Upsert(StoredLease {
            duid,
            iaid: 1,
            kind: LeaseKind::Prefix,
            addr: prefix.addr(),
            prefix_len: len,
            preferred_until: now + valid / 2,
            valid_until: now + valid,
            link: format!("if:{ifname}"),
            next_hop: Some(next_hop),
            ifindex: 0,
            hw_addr: None,
            updated_at: now,
            reconfigure: None,
            server: None,
        }));
        if batch.len() == 10_000 {
            store.apply(&batch)?;
            batch.clear();
        }
    }
    store.apply(&batch)?;
    store.flush()?;
    println!("{} leases in {db}", store.count()?);
    Ok(())
}
