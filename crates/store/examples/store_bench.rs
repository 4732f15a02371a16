//! Lease-store benchmark: durable commit rate per batch size (group commit),
//! then bulk insert, reopen, streaming scan, `load_all` and expiry sweep of a
//! large store, with RSS from /proc/self/status.
//!
//! ```text
//! cargo run --release -p v6edge-store --example store_bench -- \
//!     [--store sqlite|memory] [--dir DIR] [--leases 1000000] [--seconds 3]
//! ```
//!
//! `--dir` must be on the disk the daemon will use (the default is a fresh
//! directory under the system temp dir, removed at the end): the commit rate
//! is bound by that device's fsync latency.

use std::net::Ipv6Addr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use v6edge_store::{LeaseKind, LeaseStore, MemoryStore, SqliteStore, StoreOp, StoredLease};

struct Args {
    store: String,
    dir: Option<PathBuf>,
    leases: u32,
    seconds: f64,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        store: "sqlite".into(),
        dir: None,
        leases: 1_000_000,
        seconds: 3.0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--store" => args.store = value()?,
            "--dir" => args.dir = Some(PathBuf::from(value()?)),
            "--leases" => args.leases = value()?.parse().map_err(|e| format!("--leases: {e}"))?,
            "--seconds" => {
                args.seconds = value()?.parse().map_err(|e| format!("--seconds: {e}"))?
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if args.store != "sqlite" && args.store != "memory" {
        return Err(format!(
            "--store must be sqlite or memory, not {}",
            args.store
        ));
    }
    Ok(args)
}

/// A realistic delegated-prefix lease: /56 number `n` out of 2001:db8::/32,
/// a 14-byte DUID-LLT, a relay link, a link-local next hop, a MAC.
fn lease(n: u32, valid_until: u64) -> StoredLease {
    let base = u128::from(Ipv6Addr::new(0x2001, 0x0db8, 0, 0, 0, 0, 0, 0));
    let b = n.to_be_bytes();
    StoredLease {
        duid: vec![
            0, 1, 0, 1, 0x2e, 0x1f, 0x00, 0x10, 0x02, 0x00, b[0], b[1], b[2], b[3],
        ],
        iaid: n,
        kind: LeaseKind::Prefix,
        addr: Ipv6Addr::from(base | (u128::from(n) << 72)),
        prefix_len: 56,
        preferred_until: valid_until - 1800,
        valid_until,
        link: "relay:2001:db8:ffff::1".to_string(),
        next_hop: Some(Ipv6Addr::new(
            0xfe80,
            0,
            0,
            0,
            0x2ff,
            0xfe,
            b[2].into(),
            b[3].into(),
        )),
        ifindex: 3,
        hw_addr: Some(vec![0x02, 0x00, b[0], b[1], b[2], b[3]]),
        updated_at: valid_until - 3600,
        reconfigure: None,
        server: None,
    }
}

fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// (VmRSS, VmHWM) in MiB.
fn rss_mib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map(|kb| kb / 1024.0)
            .unwrap_or(f64::NAN)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn open(kind: &str, path: &Path) -> Result<Box<dyn LeaseStore>, String> {
    Ok(match kind {
        "memory" => Box::new(MemoryStore::new()),
        _ => Box::new(SqliteStore::open(path).map_err(|e| format!("{e}: {:?}", e))?),
    })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("store_bench: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(&args) {
        eprintln!("store_bench: {e}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> Result<(), String> {
    let (dir, remove_dir) = match &args.dir {
        Some(d) => (d.clone(), false),
        None => (
            std::env::temp_dir().join(format!("v6edge-store-bench-{}", std::process::id())),
            true,
        ),
    };
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let result = bench(args, &dir);
    if remove_dir {
        let _ = std::fs::remove_dir_all(&dir);
    }
    result
}

fn bench(args: &Args, dir: &Path) -> Result<(), String> {
    let now = now_unix();
    println!("store: {}  dir: {}", args.store, dir.display());
    if args.store == "sqlite" {
        println!("settings: journal_mode=WAL synchronous=FULL, one transaction per apply");
    }

    // 1. A large store: bulk insert, reopen, scan, load, renewals, sweep.
    //    First, so the RSS figures are not inflated by other phases.
    let n = args.leases;
    println!("\n== {n} leases ==");
    let path = dir.join("large.db");
    remove_db(&path);
    let mut store = open(&args.store, &path)?;
    let t = Instant::now();
    let chunk = 10_000u32;
    let mut i = 0;
    while i < n {
        let end = (i + chunk).min(n);
        // Half the leases are already expired, for the sweep below.
        let ops: Vec<StoreOp> = (i..end)
            .map(|k| StoreOp::Upsert(lease(k, if k % 2 == 0 { now - 10 } else { now + 7200 })))
            .collect();
        store.apply(&ops).map_err(|e| e.to_string())?;
        i = end;
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "insert ({chunk} per apply): {secs:.2} s, {:.0} leases/s",
        f64::from(n) / secs
    );
    if args.store == "sqlite" {
        drop(store);
        let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        let mut wal = path.clone().into_os_string();
        wal.push("-wal");
        println!(
            "file size after close: {:.1} MiB (wal {:.1} MiB)",
            size(&path) as f64 / 1048576.0,
            size(Path::new(&wal)) as f64 / 1048576.0
        );
        let (rss, _) = rss_mib();
        println!("RSS before reopen: {rss:.1} MiB");
        let t = Instant::now();
        store = open(&args.store, &path)?;
        println!("reopen: {:.3} s", t.elapsed().as_secs_f64());
    }
    let t = Instant::now();
    let count = store.count().map_err(|e| e.to_string())?;
    println!("count = {count}: {:.3} s", t.elapsed().as_secs_f64());

    let (rss0, _) = rss_mib();
    let t = Instant::now();
    let mut seen = 0u64;
    let mut checksum = 0u64;
    store
        .visit(&mut |l| {
            seen += 1;
            checksum = checksum.wrapping_add(l.valid_until);
        })
        .map_err(|e| e.to_string())?;
    let (rss1, hwm1) = rss_mib();
    println!(
        "visit (streaming): {seen} leases in {:.3} s; RSS {rss0:.1} -> {rss1:.1} MiB, peak {hwm1:.1} MiB (checksum {checksum})",
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    let all = store.load_all().map_err(|e| e.to_string())?;
    let secs = t.elapsed().as_secs_f64();
    let (rss2, hwm2) = rss_mib();
    println!(
        "load_all: {} leases in {secs:.3} s; RSS {rss1:.1} -> {rss2:.1} MiB (+{:.0} B/lease), peak {hwm2:.1} MiB",
        all.len(),
        (rss2 - rss1) * 1048576.0 / all.len().max(1) as f64
    );
    drop(all);

    println!(
        "renewals of random existing leases (durable, {:.1} s per batch size):",
        args.seconds
    );
    commit_rates(store.as_mut(), args.seconds, batch_sizes(), |rng| {
        let k = (xorshift(rng) % u64::from(n)) as u32;
        lease(k, now + 7200 + 3600)
    })?;

    let t = Instant::now();
    let removed = store.remove_expired(now).map_err(|e| e.to_string())?;
    println!(
        "remove_expired: {removed} removed in {:.3} s",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    store.flush().map_err(|e| e.to_string())?;
    println!("flush (checkpoint): {:.3} s", t.elapsed().as_secs_f64());
    drop(store);
    remove_db(&path);

    // 2. Durable commit rate by batch size, new leases into an empty store.
    println!(
        "\n== group commit: {:.1} s per batch size, new /56 leases ==",
        args.seconds
    );
    let path = dir.join("commit.db");
    remove_db(&path);
    let mut store = open(&args.store, &path)?;
    let mut next = 0u32;
    commit_rates(store.as_mut(), args.seconds, batch_sizes(), |_| {
        next += 1;
        lease(next, now + 7200)
    })?;
    drop(store);
    remove_db(&path);
    Ok(())
}

fn batch_sizes() -> [u32; 4] {
    [1, 10, 100, 1000]
}

/// xorshift64: a fixed-seed generator for picking leases to renew.
fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// For each batch size, applies batches of `make`'s leases for `seconds`
/// and prints commits/s, leases/s and apply latency.
fn commit_rates(
    store: &mut dyn LeaseStore,
    seconds: f64,
    sizes: [u32; 4],
    mut make: impl FnMut(&mut u64) -> StoredLease,
) -> Result<(), String> {
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    println!(
        "{:>6} {:>10} {:>12} {:>10} {:>10} {:>10}",
        "batch", "commits", "commits/s", "leases/s", "p50 ms", "p99 ms"
    );
    for batch in sizes {
        let budget = Duration::from_secs_f64(seconds);
        let mut lat = Vec::new();
        let start = Instant::now();
        while start.elapsed() < budget {
            let ops: Vec<StoreOp> = (0..batch)
                .map(|_| StoreOp::Upsert(make(&mut rng)))
                .collect();
            let t = Instant::now();
            store.apply(&ops).map_err(|e| e.to_string())?;
            lat.push(t.elapsed());
        }
        let secs = start.elapsed().as_secs_f64();
        lat.sort();
        let commits = lat.len() as f64;
        println!(
            "{batch:>6} {:>10} {:>12.0} {:>10.0} {:>10.3} {:>10.3}",
            lat.len(),
            commits / secs,
            commits * f64::from(batch) / secs,
            percentile(&lat, 0.5).as_secs_f64() * 1e3,
            percentile(&lat, 0.99).as_secs_f64() * 1e3,
        );
    }
    Ok(())
}

fn remove_db(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
}
