//! The binding table: leases, the indices to find them, pools and
//! reservations, and the memory of each IA's last lease.
//!
//! Scale: every lookup, allocation and release is O(log n) or O(1)
//! amortised. Leases sit in a map ordered by prefix (the unique key;
//! ordered so that an overlap check is one range query); an IA's leases are
//! found through a 64-bit seeded hash of (DUID, IAID, kind), so that index
//! does not repeat the DUID; expiry is an ordered set of (valid-until,
//! prefix). Pools are interval-set allocators (`v6edge_prefix::pool`).
//! About 400 bytes per lease in all (measured with 2M leases).
//!
//! Invariant (checked by the uniqueness tests): no two leases overlap. It
//! holds because every lease inside a pool owns its pool index, reserved
//! indices are taken before any dynamic allocation, and a lease that fits
//! no pool (revoked by a configuration change) fences off the free pool
//! space it overlaps until it is gone.
//!
//! Panic contract: nothing here panics; indices into `pools` come from
//! `position` or from placements made against the current pool list, and
//! `rebuild` re-makes every placement when the list changes.

use super::lease::{Lease, LeaseKind, LinkId};
use super::{LinkConfig, Reservation, ServerConfigError, describe_prefix_pool, describe_range};
use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::hash::{BuildHasher, Hash, Hasher};
use std::net::Ipv6Addr;
use std::time::Duration;
use tracing::warn;
use v6edge_core::Instant;
use v6edge_prefix::Prefix;
use v6edge_prefix::pool::{AddressRange, PrefixPool as PrefixAllocator};
use v6edge_wire::dhcp6::Duid;

/// A hasher keyed by the machine's seed: hash values (and so iteration
/// order) are reproducible for a seed, and a peer cannot precompute DUIDs
/// that collide under a seed it does not know.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SeededState(u64);

impl BuildHasher for SeededState {
    type Hasher = DefaultHasher;
    fn build_hasher(&self) -> DefaultHasher {
        let mut h = DefaultHasher::new();
        h.write_u64(self.0);
        h
    }
}

/// The allocator of one pool.
#[derive(Debug, Clone)]
pub(crate) enum PoolAlloc {
    Address(AddressRange),
    Prefix(PrefixAllocator),
}

/// One configured pool with its allocation state.
#[derive(Debug, Clone)]
pub(crate) struct Pool {
    /// Index into the configuration's links.
    pub link: usize,
    pub alloc: PoolAlloc,
    pub preferred: Duration,
    pub valid: Duration,
    pub exclude_first: Option<u8>,
    pub ends: Option<super::LifetimeEnds>,
}

/// The address range a prefix covers, as integers.
fn span(p: &Prefix) -> (u128, u128) {
    let lo = u128::from(p.addr());
    let host = if p.len() == 0 {
        u128::MAX
    } else {
        (1u128 << (128 - u32::from(p.len()))).wrapping_sub(1)
    };
    (lo, lo | host)
}

impl Pool {
    pub fn kind(&self) -> LeaseKind {
        match self.alloc {
            PoolAlloc::Address(_) => LeaseKind::Address,
            PoolAlloc::Prefix(_) => LeaseKind::Prefix,
        }
    }

    pub fn name(&self) -> String {
        match &self.alloc {
            PoolAlloc::Address(r) => describe_range(r),
            PoolAlloc::Prefix(p) => describe_prefix_pool(p),
        }
    }

    /// The address space the pool covers, as integers.
    fn space(&self) -> (u128, u128) {
        match &self.alloc {
            PoolAlloc::Address(r) => (u128::from(r.start()), u128::from(r.end())),
            PoolAlloc::Prefix(p) => span(&p.base()),
        }
    }

    /// True when `p` is one of this pool's leases (an address as /128).
    pub fn contains(&self, p: &Prefix) -> bool {
        match &self.alloc {
            PoolAlloc::Address(r) => p.len() == 128 && r.contains(p.addr()),
            PoolAlloc::Prefix(pool) => pool.contains(p),
        }
    }

    pub fn is_free(&self, p: &Prefix) -> bool {
        match &self.alloc {
            PoolAlloc::Address(r) => p.len() == 128 && r.is_free(p.addr()),
            PoolAlloc::Prefix(pool) => pool.is_free(p),
        }
    }

    pub fn take(&mut self, p: &Prefix) -> bool {
        match &mut self.alloc {
            PoolAlloc::Address(r) => p.len() == 128 && r.take(p.addr()),
            PoolAlloc::Prefix(pool) => pool.take(p),
        }
    }

    pub fn release(&mut self, p: &Prefix) -> bool {
        match &mut self.alloc {
            PoolAlloc::Address(r) => p.len() == 128 && r.release(p.addr()),
            PoolAlloc::Prefix(pool) => pool.release(p),
        }
    }

    /// The next free lease by next fit, taken.
    pub fn allocate(&mut self) -> Option<Prefix> {
        match &mut self.alloc {
            PoolAlloc::Address(r) => r.allocate(None).and_then(|a| Prefix::new(a, 128).ok()),
            PoolAlloc::Prefix(pool) => pool.allocate(None),
        }
    }

    pub fn cursor(&self) -> u128 {
        match &self.alloc {
            PoolAlloc::Address(r) => r.allocator().cursor(),
            PoolAlloc::Prefix(p) => p.allocator().cursor(),
        }
    }

    pub fn set_cursor(&mut self, c: u128) {
        match &mut self.alloc {
            PoolAlloc::Address(r) => r.allocator_mut().set_cursor(c),
            PoolAlloc::Prefix(p) => p.allocator_mut().set_cursor(c),
        }
    }

    pub fn capacity(&self) -> u128 {
        let last = match &self.alloc {
            PoolAlloc::Address(r) => r.allocator().last(),
            PoolAlloc::Prefix(p) => p.allocator().last(),
        };
        last.saturating_add(1)
    }

    pub fn used(&self) -> u128 {
        match &self.alloc {
            PoolAlloc::Address(r) => r.allocator().used(),
            PoolAlloc::Prefix(p) => p.allocator().used(),
        }
    }

    /// The address space of the indices `lo..=hi`, as integers.
    fn index_span(&self, lo: u128, hi: u128) -> Option<(u128, u128)> {
        match &self.alloc {
            PoolAlloc::Address(r) => Some((u128::from(r.addr_at(lo)?), u128::from(r.addr_at(hi)?))),
            PoolAlloc::Prefix(p) => Some((span(&p.prefix_at(lo)?).0, span(&p.prefix_at(hi)?).1)),
        }
    }

    /// Takes the free indices `p` overlaps; returns them for `unfence`.
    fn fence(&mut self, p: &Prefix) -> Vec<(u128, u128)> {
        match &mut self.alloc {
            PoolAlloc::Address(r) => r.take_free_covered_by(p),
            PoolAlloc::Prefix(pool) => pool.take_free_covered_by(p),
        }
    }

    fn unfence(&mut self, lo: u128, hi: u128) {
        match &mut self.alloc {
            PoolAlloc::Address(r) => r.release_indices(lo, hi),
            PoolAlloc::Prefix(pool) => pool.release_indices(lo, hi),
        };
    }
}

/// Pools built from configuration, and what was wrong with the rest.
pub(crate) struct BuiltPools {
    pub pools: Vec<Pool>,
    pub errors: Vec<ServerConfigError>,
}

/// Builds the pools of every link, in configuration order. A pool with bad
/// parameters, or overlapping one accepted before it, is left out.
pub(crate) fn build_pools(links: &[LinkConfig]) -> BuiltPools {
    let mut pools: Vec<Pool> = Vec::new();
    let mut errors = Vec::new();
    for (li, link) in links.iter().enumerate() {
        let mut candidates: Vec<(String, Result<Pool, ServerConfigError>)> = Vec::new();
        for a in &link.address_pools {
            let name = format!("{}-{}", a.range_start, a.range_end);
            let built = AddressRange::new(a.range_start, a.range_end)
                .map_err(|source| ServerConfigError::Pool {
                    pool: name.clone(),
                    source,
                })
                .and_then(|r| lifetimes_ok(&name, a.preferred, a.valid).map(|()| r))
                .map(|r| Pool {
                    link: li,
                    alloc: PoolAlloc::Address(r),
                    preferred: a.preferred,
                    valid: a.valid,
                    exclude_first: None,
                    ends: None,
                });
            candidates.push((name, built));
        }
        for p in &link.prefix_pools {
            let name = format!("{} /{}", p.prefix, p.delegated_len);
            let built = PrefixAllocator::new(p.prefix, p.delegated_len)
                .map_err(|source| ServerConfigError::Pool {
                    pool: name.clone(),
                    source,
                })
                .and_then(|a| lifetimes_ok(&name, p.preferred, p.valid).map(|()| a))
                .and_then(|a| match p.exclude_first {
                    Some(len) if len <= p.delegated_len || len > 128 => {
                        Err(ServerConfigError::BadExclude {
                            pool: name.clone(),
                            len,
                        })
                    }
                    _ => Ok(a),
                })
                .map(|a| Pool {
                    link: li,
                    alloc: PoolAlloc::Prefix(a),
                    preferred: p.preferred,
                    valid: p.valid,
                    exclude_first: p.exclude_first,
                    ends: p.ends,
                });
            candidates.push((name, built));
        }
        for (name, built) in candidates {
            match built {
                Ok(pool) => {
                    let (lo, hi) = pool.space();
                    if let Some(other) = pools.iter().find(|o| {
                        let (olo, ohi) = o.space();
                        lo <= ohi && olo <= hi
                    }) {
                        errors.push(ServerConfigError::Overlap {
                            pool: name,
                            other: other.name(),
                        });
                    } else {
                        pools.push(pool);
                    }
                }
                Err(e) => errors.push(e),
            }
        }
    }
    BuiltPools { pools, errors }
}

fn lifetimes_ok(name: &str, preferred: Duration, valid: Duration) -> Result<(), ServerConfigError> {
    if preferred > valid || valid.is_zero() {
        return Err(ServerConfigError::Lifetimes {
            pool: name.to_string(),
        });
    }
    Ok(())
}

/// Reservations with their lookup indices.
#[derive(Debug, Clone, Default)]
pub(crate) struct Reservations {
    list: Vec<Reservation>,
    by_duid: HashMap<Duid, Vec<usize>>,
    by_hw: HashMap<Vec<u8>, Vec<usize>>,
    /// Reserved address (/128) or prefix → reservation.
    by_lease: HashMap<Prefix, usize>,
    pub errors: Vec<ServerConfigError>,
}

impl Reservations {
    /// Indexes `rs` against `pools`. An address or prefix outside the
    /// pools, or reserved twice, is dropped from its reservation (and
    /// reported); a reservation naming no owner is dropped whole.
    pub fn build(rs: &[Reservation], pools: &[Pool]) -> Reservations {
        let mut out = Reservations::default();
        for (index, r) in rs.iter().enumerate() {
            if r.duid.is_none() && r.hw_addr.is_none() {
                out.errors
                    .push(ServerConfigError::ReservationWithoutOwner { index });
                continue;
            }
            let mut kept = r.clone();
            let check = |p: Prefix, what: String, out: &mut Reservations| -> bool {
                if !pools.iter().any(|pool| pool.contains(&p)) {
                    out.errors
                        .push(ServerConfigError::ReservationOutsidePools { index, what });
                    return false;
                }
                if out.by_lease.contains_key(&p) {
                    out.errors
                        .push(ServerConfigError::ReservationDuplicate { index, what });
                    return false;
                }
                true
            };
            let pos = out.list.len();
            if let Some(a) = r.address {
                match Prefix::new(a, 128) {
                    Ok(p) if check(p, a.to_string(), &mut out) => {
                        out.by_lease.insert(p, pos);
                    }
                    _ => kept.address = None,
                }
            }
            if let Some(p) = r.prefix {
                if check(p, p.to_string(), &mut out) {
                    out.by_lease.insert(p, pos);
                } else {
                    kept.prefix = None;
                }
            }
            if let Some(d) = &r.duid {
                out.by_duid.entry(d.clone()).or_default().push(pos);
            }
            if let Some(h) = &r.hw_addr {
                out.by_hw.entry(h.clone()).or_default().push(pos);
            }
            out.list.push(kept);
        }
        out
    }

    pub fn get(&self, i: usize) -> Option<&Reservation> {
        self.list.get(i)
    }

    /// True when reservation `i` names this client: every identifier it
    /// gives matches.
    pub fn matches(&self, i: usize, duid: &Duid, hw: Option<&[u8]>) -> bool {
        self.list.get(i).is_some_and(|r| {
            r.duid.as_ref().is_none_or(|d| d == duid)
                && r.hw_addr.as_deref().is_none_or(|h| Some(h) == hw)
        })
    }

    /// The first reservation (in configuration order) for this client.
    pub fn find(&self, duid: &Duid, hw: Option<&[u8]>) -> Option<usize> {
        let a = self.by_duid.get(duid).into_iter().flatten();
        let b = hw.and_then(|h| self.by_hw.get(h)).into_iter().flatten();
        a.chain(b)
            .copied()
            .filter(|&i| self.matches(i, duid, hw))
            .min()
    }

    /// The reservation holding `p`, if any.
    pub fn owner_of(&self, p: &Prefix) -> Option<usize> {
        self.by_lease.get(p).copied()
    }

    pub fn reserved_leases(&self) -> impl Iterator<Item = &Prefix> {
        self.by_lease.keys()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

/// Where a lease's space is accounted for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Placement {
    /// Owns its index in `pools[i]`.
    Pool(u32),
    /// The client's reservation: the index belongs to the reservation.
    Reserved,
    /// Fits no pool (or is reserved for someone else) since a configuration
    /// change or restore: to be ended. Fences: (pool, lo, hi) index runs
    /// taken to keep the lease's space from being handed out meanwhile.
    Revoked(Box<[(u32, u128, u128)]>),
}

/// A lease and its placement.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub lease: Lease,
    pub place: Placement,
}

impl Entry {
    pub fn revoked(&self) -> bool {
        matches!(self.place, Placement::Revoked(_))
    }
}

/// The prefixes of one IA (usually one, so no heap).
#[derive(Debug, Clone)]
enum Slots {
    One(Prefix),
    Many(Vec<Prefix>),
}

impl Slots {
    fn push(&mut self, p: Prefix) {
        match self {
            Slots::One(q) => *self = Slots::Many(vec![*q, p]),
            Slots::Many(v) => v.push(p),
        }
    }

    /// Removes `p`; true when nothing is left.
    fn remove(&mut self, p: &Prefix) -> bool {
        match self {
            Slots::One(q) => q == p,
            Slots::Many(v) => {
                v.retain(|q| q != p);
                let left = v.len();
                if left == 1 {
                    let only = v[0];
                    *self = Slots::One(only);
                }
                left == 0
            }
        }
    }

    fn as_slice(&self) -> &[Prefix] {
        match self {
            Slots::One(p) => std::slice::from_ref(p),
            Slots::Many(v) => v,
        }
    }
}

/// A bounded memory of the last lease each IA held (approximately least
/// recently used: re-remembering moves an entry to the back).
#[derive(Debug, Clone)]
struct LastLeases {
    cap: usize,
    map: HashMap<u64, (Prefix, u64), SeededState>,
    order: VecDeque<(u64, u64)>,
    stamp: u64,
}

impl LastLeases {
    fn new(cap: usize, state: SeededState) -> LastLeases {
        LastLeases {
            cap,
            map: HashMap::with_hasher(state),
            order: VecDeque::new(),
            stamp: 0,
        }
    }

    fn remember(&mut self, key: u64, p: Prefix) {
        if self.cap == 0 {
            return;
        }
        self.stamp += 1;
        self.map.insert(key, (p, self.stamp));
        self.order.push_back((key, self.stamp));
        while self.map.len() > self.cap {
            let Some((k, s)) = self.order.pop_front() else {
                break;
            };
            if self.map.get(&k).is_some_and(|&(_, cur)| cur == s) {
                self.map.remove(&k);
            }
        }
        // Stale queue entries (keys re-remembered later) are dropped now and
        // then, so the queue stays within a small multiple of the map.
        if self.order.len() > 2 * self.cap + 64 {
            let map = &self.map;
            self.order
                .retain(|(k, s)| map.get(k).is_some_and(|&(_, cur)| cur == *s));
        }
    }

    fn get(&self, key: u64) -> Option<Prefix> {
        self.map.get(&key).map(|&(p, _)| p)
    }

    fn set_cap(&mut self, cap: usize) {
        self.cap = cap;
        while self.map.len() > self.cap {
            let Some((k, s)) = self.order.pop_front() else {
                break;
            };
            if self.map.get(&k).is_some_and(|&(_, cur)| cur == s) {
                self.map.remove(&k);
            }
        }
    }
}

/// The client as allocation sees it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Who<'a> {
    pub duid: &'a Duid,
    /// The link-layer address reservations are matched against: RFC 6939
    /// from the relay, else from a DUID-LL/LLT.
    pub hw: Option<&'a [u8]>,
    /// The RFC 6939 address alone, as recorded in leases.
    pub relay_hw: Option<&'a [u8]>,
    pub reservation: Option<usize>,
    /// The ORO lists OPTION_PD_EXCLUDE (RFC 6603).
    pub wants_exclude: bool,
}

/// What the client asked for in one IA.
#[derive(Debug, Clone, Default)]
pub(crate) struct Hints {
    /// Specific addresses (as /128) or prefixes.
    pub exact: Vec<Prefix>,
    /// A prefix length (`::/len`).
    pub len: Option<u8>,
}

/// A lease taken by [`Bindings::take_new`]: the prefix, its placement,
/// and the pool and cursor to restore if it is given back unused.
pub(crate) type Taken = (Prefix, Placement, Option<(usize, u128)>);

/// How a lease was freed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Freed {
    /// Back to the pool.
    Release,
    /// Declined: the index stays taken until the instant given.
    Quarantine(Instant),
}

/// The binding table.
#[derive(Debug, Clone)]
pub(crate) struct Bindings {
    state: SeededState,
    pub pools: Vec<Pool>,
    pub reservations: Reservations,
    leases: BTreeMap<Prefix, Entry>,
    by_ia: HashMap<u64, Slots, SeededState>,
    /// A client's leases, by a seeded hash of its DUID (Reconfigure works
    /// per client, RFC 8415 §18.3.11).
    by_client: HashMap<u64, Slots, SeededState>,
    expiry: BTreeSet<(Instant, Prefix)>,
    declined: BTreeSet<(Instant, Prefix)>,
    last: LastLeases,
    revoked: usize,
    /// Leases per client link and per client link-layer address, for the
    /// caps of [`crate::server::ServerConfig`].
    per_link: HashMap<LinkId, usize, SeededState>,
    per_hw: HashMap<u64, usize, SeededState>,
}

impl Bindings {
    pub fn new(seed: u64, pools: Vec<Pool>, reservations: Reservations, memory: usize) -> Bindings {
        let state = SeededState(seed);
        let mut b = Bindings {
            state,
            pools,
            reservations,
            leases: BTreeMap::new(),
            by_ia: HashMap::with_hasher(state),
            by_client: HashMap::with_hasher(state),
            expiry: BTreeSet::new(),
            declined: BTreeSet::new(),
            last: LastLeases::new(memory, state),
            revoked: 0,
            per_link: HashMap::with_hasher(state),
            per_hw: HashMap::with_hasher(state),
        };
        b.take_reserved();
        b
    }

    /// Reserved indices are taken before anything else, so the dynamic
    /// allocator never hands them out.
    fn take_reserved(&mut self) {
        let reserved: Vec<Prefix> = self.reservations.reserved_leases().copied().collect();
        for p in reserved {
            if let Some(i) = self.pool_of(&p) {
                self.pools[i].take(&p);
            }
        }
    }

    /// The key leases are counted under for the link-layer address cap:
    /// the relay's RFC 6939 address, else the DUID's; `None` when neither
    /// names one.
    fn hw_key(&self, duid: &Duid, relay_hw: Option<&[u8]>) -> Option<u64> {
        let hw = relay_hw.or_else(|| duid.link_layer_address())?;
        Some(self.state.hash_one(hw))
    }

    fn count_lease(&mut self, lease: &Lease, delta: isize) {
        let step = |n: &mut usize| *n = n.saturating_add_signed(delta);
        step(self.per_link.entry(lease.link).or_insert(0));
        if self.per_link.get(&lease.link) == Some(&0) {
            self.per_link.remove(&lease.link);
        }
        if let Some(k) = self.hw_key(&lease.duid, lease.hw_addr.as_deref()) {
            step(self.per_hw.entry(k).or_insert(0));
            if self.per_hw.get(&k) == Some(&0) {
                self.per_hw.remove(&k);
            }
        }
    }

    /// Leases held on client link `link`.
    pub fn leases_on_link(&self, link: &LinkId) -> usize {
        self.per_link.get(link).copied().unwrap_or(0)
    }

    /// Leases held by the client link-layer address of `who`, if it has one.
    pub fn leases_of_hw(&self, who: &Who<'_>) -> Option<usize> {
        let k = self.hw_key(who.duid, who.relay_hw)?;
        Some(self.per_hw.get(&k).copied().unwrap_or(0))
    }

    pub fn ia_key(&self, duid: &Duid, iaid: u32, kind: LeaseKind) -> u64 {
        let mut h = self.state.build_hasher();
        duid.as_bytes().hash(&mut h);
        iaid.hash(&mut h);
        kind.hash(&mut h);
        h.finish()
    }

    fn client_key(&self, duid: &Duid) -> u64 {
        let mut h = self.state.build_hasher();
        // A different domain from `ia_key`'s input.
        h.write_u8(0xc1);
        duid.as_bytes().hash(&mut h);
        h.finish()
    }

    /// Every lease of this client, in the order they were bound.
    pub fn client_leases(&self, duid: &Duid) -> Vec<Prefix> {
        let Some(slots) = self.by_client.get(&self.client_key(duid)) else {
            return Vec::new();
        };
        let mut v: Vec<Prefix> = slots
            .as_slice()
            .iter()
            .filter(|p| self.leases.get(p).is_some_and(|e| &e.lease.duid == duid))
            .copied()
            .collect();
        // A lease replaced in place (see `insert`) is listed twice.
        v.sort_unstable();
        v.dedup();
        v
    }

    pub fn len(&self) -> usize {
        self.leases.len()
    }

    pub fn revoked_count(&self) -> usize {
        self.revoked
    }

    pub fn declined_count(&self) -> usize {
        self.declined.len()
    }

    pub fn leases(&self) -> impl Iterator<Item = &Lease> {
        self.leases.values().map(|e| &e.lease)
    }

    pub fn get(&self, p: &Prefix) -> Option<&Entry> {
        self.leases.get(p)
    }

    /// The prefixes bound to this IA, in the order they were bound.
    pub fn ia_leases(&self, duid: &Duid, iaid: u32, kind: LeaseKind) -> Vec<Prefix> {
        let key = self.ia_key(duid, iaid, kind);
        let Some(slots) = self.by_ia.get(&key) else {
            return Vec::new();
        };
        slots
            .as_slice()
            .iter()
            .filter(|p| {
                self.leases.get(p).is_some_and(|e| {
                    e.lease.iaid == iaid && e.lease.kind == kind && &e.lease.duid == duid
                })
            })
            .copied()
            .collect()
    }

    /// The pool that has `p` as one of its leases.
    pub fn pool_of(&self, p: &Prefix) -> Option<usize> {
        self.pools.iter().position(|pool| pool.contains(p))
    }

    /// True when `p` may be used by this client on link `link`: one of the
    /// link's pools has it, and it is not reserved for someone else.
    pub fn appropriate(&self, p: &Prefix, kind: LeaseKind, link: usize, who: &Who<'_>) -> bool {
        let Some(i) = self.pool_of(p) else {
            return false;
        };
        let pool = &self.pools[i];
        pool.link == link
            && pool.kind() == kind
            && self
                .reservations
                .owner_of(p)
                .is_none_or(|r| self.reservations.matches(r, who.duid, who.hw))
    }

    fn eligible(pool: &Pool, who: &Who<'_>) -> bool {
        pool.exclude_first.is_none() || who.wants_exclude
    }

    /// Can `p` be granted to this client now (nobody holds it)?
    fn available(
        &self,
        p: &Prefix,
        kind: LeaseKind,
        link: usize,
        who: &Who<'_>,
    ) -> Option<(usize, Placement)> {
        let i = self.pool_of(p)?;
        let pool = &self.pools[i];
        if pool.link != link
            || pool.kind() != kind
            || !Self::eligible(pool, who)
            || self.leases.contains_key(p)
        {
            return None;
        }
        match self.reservations.owner_of(p) {
            Some(r) if self.reservations.matches(r, who.duid, who.hw) => {
                Some((i, Placement::Reserved))
            }
            Some(_) => None,
            None => pool.is_free(p).then_some((i, Placement::Pool(i as u32))),
        }
    }

    /// Picks and takes a lease for an IA: the client's reservation, then an
    /// exact hint, then the IA's last lease, then the next free one of a
    /// pool of the hinted length, then of any pool of the link. The caller
    /// inserts it (or gives it back with [`Bindings::untake`]).
    pub fn take_new(
        &mut self,
        kind: LeaseKind,
        link: usize,
        who: &Who<'_>,
        iaid: u32,
        hints: &Hints,
    ) -> Option<Taken> {
        let reserved = who
            .reservation
            .and_then(|r| self.reservations.get(r))
            .and_then(|r| match kind {
                LeaseKind::Address => r.address.and_then(|a| Prefix::new(a, 128).ok()),
                LeaseKind::Prefix => r.prefix,
            });
        let last = self.last.get(self.ia_key(who.duid, iaid, kind));
        let specific = reserved
            .into_iter()
            .chain(hints.exact.iter().copied())
            .chain(last.filter(|p| hints.len.is_none_or(|l| l == p.len())));
        for p in specific {
            let Some(i) = self.pool_of(&p) else { continue };
            let cursor = self.pools[i].cursor();
            if let Some(place) = self.take_exact(&p, kind, link, who) {
                return Some((p, place, Some((i, cursor))));
            }
        }
        let len_matches = |pool: &Pool| match (&pool.alloc, hints.len) {
            (PoolAlloc::Prefix(a), Some(l)) => a.delegated_len() == l,
            _ => false,
        };
        let order: Vec<usize> = (0..self.pools.len())
            .filter(|&i| {
                let pool = &self.pools[i];
                pool.link == link && pool.kind() == kind && Self::eligible(pool, who)
            })
            .collect();
        let (mut first, rest): (Vec<usize>, Vec<usize>) = order
            .into_iter()
            .partition(|&i| len_matches(&self.pools[i]));
        first.extend(rest);
        for i in first {
            let cursor = self.pools[i].cursor();
            if let Some(p) = self.pools[i].allocate() {
                return Some((p, Placement::Pool(i as u32), Some((i, cursor))));
            }
        }
        None
    }

    /// Takes exactly `p` for this client if nobody holds it.
    pub fn take_exact(
        &mut self,
        p: &Prefix,
        kind: LeaseKind,
        link: usize,
        who: &Who<'_>,
    ) -> Option<Placement> {
        let (i, place) = self.available(p, kind, link, who)?;
        (place == Placement::Reserved || self.pools[i].take(p)).then_some(place)
    }

    /// Undoes a [`Bindings::take_new`] that was never inserted (an offer in
    /// an Advertise), cursor included, so the Request gets the same.
    pub fn untake(&mut self, p: &Prefix, place: &Placement, undo: Option<(usize, u128)>) {
        if let (Placement::Pool(_), Some((i, cursor))) = (place, undo)
            && let Some(pool) = self.pools.get_mut(i)
        {
            pool.release(p);
            pool.set_cursor(cursor);
        }
    }

    /// Records a lease whose space `place` already accounts for.
    pub fn insert(&mut self, lease: Lease, place: Placement) {
        let key = self.ia_key(&lease.duid, lease.iaid, lease.kind);
        let ckey = self.client_key(&lease.duid);
        let p = lease.prefix;
        self.expiry.insert((lease.valid_until, p));
        for (index, k) in [(&mut self.by_ia, key), (&mut self.by_client, ckey)] {
            match index.get_mut(&k) {
                Some(slots) => slots.push(p),
                None => {
                    index.insert(k, Slots::One(p));
                }
            }
        }
        if matches!(place, Placement::Revoked(_)) {
            self.revoked += 1;
        }
        self.count_lease(&lease, 1);
        if let Some(old) = self.leases.insert(p, Entry { lease, place }) {
            // Callers never insert over a live lease; keep the indices
            // consistent even so.
            warn!(prefix = %p, "lease replaced in place");
            self.expiry.remove(&(old.lease.valid_until, p));
            self.count_lease(&old.lease, -1);
            if old.revoked() {
                self.revoked -= 1;
            }
        }
    }

    /// New lifetimes and route for a lease; returns the updated lease.
    pub fn update(&mut self, p: &Prefix, f: impl FnOnce(&mut Lease)) -> Option<Lease> {
        let old = self.leases.get(p)?.lease.clone();
        let e = self.leases.get_mut(p)?;
        let before = e.lease.valid_until;
        f(&mut e.lease);
        let after = e.lease.valid_until;
        let lease = e.lease.clone();
        // The client may have moved link or relay (counted where it is now).
        if old.link != lease.link || old.hw_addr != lease.hw_addr {
            self.count_lease(&old, -1);
            self.count_lease(&lease, 1);
        }
        if before != after {
            self.expiry.remove(&(before, *p));
            self.expiry.insert((after, *p));
        }
        Some(lease)
    }

    /// Ends a lease, gives its space back (or quarantines it), and
    /// remembers it as its IA's last lease.
    pub fn remove(&mut self, p: &Prefix, how: Freed) -> Option<Lease> {
        let e = self.leases.remove(p)?;
        self.expiry.remove(&(e.lease.valid_until, *p));
        self.count_lease(&e.lease, -1);
        let key = self.ia_key(&e.lease.duid, e.lease.iaid, e.lease.kind);
        if let Some(slots) = self.by_ia.get_mut(&key)
            && slots.remove(p)
        {
            self.by_ia.remove(&key);
        }
        let ckey = self.client_key(&e.lease.duid);
        if let Some(slots) = self.by_client.get_mut(&ckey)
            && slots.remove(p)
        {
            self.by_client.remove(&ckey);
        }
        match (&e.place, how) {
            (Placement::Pool(i), Freed::Release) => {
                if let Some(pool) = self.pools.get_mut(*i as usize) {
                    pool.release(p);
                }
            }
            (Placement::Pool(_), Freed::Quarantine(until)) => {
                self.declined.insert((until, *p));
            }
            (Placement::Reserved, _) => {}
            (Placement::Revoked(fences), _) => {
                self.revoked -= 1;
                for &(i, lo, hi) in fences.iter() {
                    if let Some(pool) = self.pools.get_mut(i as usize) {
                        pool.unfence(lo, hi);
                    }
                    self.refence(i as usize, lo, hi);
                }
            }
        }
        self.last.remember(key, *p);
        Some(e.lease)
    }

    /// Indices `lo..=hi` of pool `i` were just freed: revoked leases that
    /// also cover them (their own fences could not take what another fence
    /// or a quarantine held) fence them now, so the space stays out of use
    /// for as long as any lease covers it.
    fn refence(&mut self, i: usize, lo: u128, hi: u128) {
        let Some((alo, ahi)) = self.pools.get(i).and_then(|p| p.index_span(lo, hi)) else {
            return;
        };
        let Ok(to) = Prefix::new(Ipv6Addr::from(ahi), 128) else {
            return;
        };
        // Leases never overlap each other: walking down from the end of the
        // span, every lease starting inside it overlaps, and of those
        // starting before it only the first one met can.
        let mut keys: Vec<Prefix> = Vec::new();
        for (q, e) in self.leases.range(..=to).rev() {
            let (qlo, qhi) = span(q);
            if qlo < alo && qhi < alo {
                break;
            }
            if e.revoked() {
                keys.push(*q);
            }
            if qlo < alo {
                break;
            }
        }
        let Bindings { leases, pools, .. } = self;
        for q in keys {
            let Some(e) = leases.get_mut(&q) else {
                continue;
            };
            let Placement::Revoked(fences) = &mut e.place else {
                continue;
            };
            let Some(pool) = pools.get_mut(i) else { return };
            let more = pool.fence(&q);
            if !more.is_empty() {
                let mut v = fences.to_vec();
                v.extend(more.into_iter().map(|(l, h)| (i as u32, l, h)));
                *fences = v.into_boxed_slice();
            }
        }
    }

    /// The earliest lease expiry or end of a decline probation.
    pub fn next_deadline(&self) -> Option<Instant> {
        let a = self.expiry.first().map(|(t, _)| *t);
        let b = self.declined.first().map(|(t, _)| *t);
        match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The next lease whose valid lifetime is over at `now`.
    pub fn next_expired(&self, now: Instant) -> Option<Prefix> {
        self.expiry
            .first()
            .filter(|(t, _)| *t <= now)
            .map(|(_, p)| *p)
    }

    /// Ends decline probations that are over at `now`.
    pub fn end_probations(&mut self, now: Instant) {
        while let Some(&(t, p)) = self.declined.first() {
            if t > now {
                break;
            }
            self.declined.pop_first();
            if let Some(i) = self.pool_of(&p)
                && self.pools[i].release(&p)
                && let PoolAlloc::Address(r) = &self.pools[i].alloc
                && let Some(idx) = r.index_of(p.addr())
            {
                self.refence(i, idx, idx);
            }
        }
    }

    /// Where a lease that was not allocated here (restored, or kept over a
    /// configuration change) goes: its reservation, its pool index, or
    /// revoked with fences.
    fn place(&mut self, lease: &Lease) -> Placement {
        let p = lease.prefix;
        if let Some(r) = self.reservations.owner_of(&p) {
            let hw = lease
                .hw_addr
                .as_deref()
                .or_else(|| lease.duid.link_layer_address());
            if self.reservations.matches(r, &lease.duid, hw)
                && self
                    .pool_of(&p)
                    .is_some_and(|i| self.pools[i].kind() == lease.kind)
            {
                return Placement::Reserved;
            }
        } else if let Some(i) = self.pool_of(&p)
            && self.pools[i].kind() == lease.kind
            && self.pools[i].take(&p)
        {
            return Placement::Pool(i as u32);
        }
        let mut fences = Vec::new();
        for (i, pool) in self.pools.iter_mut().enumerate() {
            for (lo, hi) in pool.fence(&p) {
                fences.push((i as u32, lo, hi));
            }
        }
        Placement::Revoked(fences.into_boxed_slice())
    }

    /// True when `p` overlaps a lease already recorded. Leases never
    /// overlap, so ordered by start address only the last one starting at
    /// or before the end of `p` can reach into it.
    pub fn overlaps_lease(&self, p: &Prefix) -> bool {
        let (lo, hi) = span(p);
        let Ok(end) = Prefix::new(Ipv6Addr::from(hi), 128) else {
            return false;
        };
        self.leases
            .range(..=end)
            .next_back()
            .is_some_and(|(q, _)| span(q).1 >= lo)
    }

    /// Inserts a lease from outside (restore): placed, never overlapping.
    /// False when it overlaps a lease already there.
    pub fn adopt(&mut self, lease: Lease) -> bool {
        if self.leases.contains_key(&lease.prefix) || self.overlaps_lease(&lease.prefix) {
            return false;
        }
        let place = self.place(&lease);
        self.insert(lease, place);
        true
    }

    /// Swaps in new pools and reservations (a configuration change) and
    /// re-places every lease and declined address against them. Returns
    /// the leases revoked by this change that were not revoked before.
    pub fn rebuild(
        &mut self,
        pools: Vec<Pool>,
        reservations: Reservations,
        memory: usize,
    ) -> Vec<Prefix> {
        self.pools = pools;
        self.reservations = reservations;
        self.last.set_cap(memory);
        self.take_reserved();
        let declined: Vec<(Instant, Prefix)> =
            std::mem::take(&mut self.declined).into_iter().collect();
        for (t, p) in declined {
            if let Some(i) = self.pool_of(&p)
                && self.pools[i].take(&p)
            {
                self.declined.insert((t, p));
            }
        }
        let keys: Vec<Prefix> = self.leases.keys().copied().collect();
        self.revoked = 0;
        let mut newly = Vec::new();
        for p in keys {
            let Some((lease, was)) = self.leases.get(&p).map(|e| (e.lease.clone(), e.revoked()))
            else {
                continue;
            };
            let place = self.place(&lease);
            if matches!(place, Placement::Revoked(_)) {
                self.revoked += 1;
                if !was {
                    newly.push(p);
                }
            }
            if let Some(e) = self.leases.get_mut(&p) {
                e.place = place;
            }
        }
        newly
    }

    pub fn address_pool_on(&self, link: usize) -> bool {
        self.pools
            .iter()
            .any(|p| p.link == link && p.kind() == LeaseKind::Address)
    }

    /// True when `addr` lies in an address pool of `link` (RFC 8415 §18.3.3).
    pub fn address_on_link(&self, addr: Ipv6Addr, link: usize) -> bool {
        self.pools.iter().any(|p| {
            p.link == link && matches!(&p.alloc, PoolAlloc::Address(r) if r.contains(addr))
        })
    }
}
