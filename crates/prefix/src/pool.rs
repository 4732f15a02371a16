//! Address and prefix pools for a delegating server: allocators over `u128`
//! indices that never materialise the space they cover.
//!
//! [`IndexAllocator`] keeps the *taken* indices as an ordered set of maximal
//! runs (`start → end`, inclusive, never touching), plus a next-fit cursor.
//! Every operation is O(log r) in the number of runs r, which is at most the
//! number of taken indices and, for pools filled front to back, close to 1.
//! The first free index at or after a position is the end of the run that
//! covers it plus one, because runs are maximal; so allocation never scans.
//!
//! [`AddressRange`] maps an inclusive address range (`start..=end`) onto
//! indices, [`PrefixPool`] the subnets of one length inside a base prefix
//! (`2001:db8::/40` delegating /56s: 65536 indices). Pools of up to 2^128
//! indices work: the last index is stored, never the count.
//!
//! Panic contract: nothing here panics on any input. Out-of-range indices,
//! addresses or prefixes are reported as `false`/`None`.

use crate::Prefix;
use std::collections::BTreeMap;
use std::net::Ipv6Addr;

/// Why a pool could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PoolError {
    #[error("address range {start} - {end} is empty (start above end)")]
    EmptyRange { start: Ipv6Addr, end: Ipv6Addr },
    #[error("delegated length {delegated_len} is not within {base}'s length and 128")]
    BadDelegatedLength { base: Prefix, delegated_len: u8 },
}

/// Which indices of `0..=last` are taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexAllocator {
    last: u128,
    /// Maximal runs of taken indices: start → end (inclusive). Two runs never
    /// overlap and never touch (`end + 1 < next start`).
    runs: BTreeMap<u128, u128>,
    /// Taken indices; saturates at `u128::MAX` for a full 2^128 pool.
    used: u128,
    /// Next-fit: allocation searches from here, so released indices are not
    /// handed out again at once (a client coming back finds its old one).
    cursor: u128,
}

impl IndexAllocator {
    /// An empty allocator over `0..=last`.
    pub fn new(last: u128) -> IndexAllocator {
        IndexAllocator {
            last,
            runs: BTreeMap::new(),
            used: 0,
            cursor: 0,
        }
    }

    /// The highest index.
    pub fn last(&self) -> u128 {
        self.last
    }

    /// How many indices are taken (saturating at `u128::MAX`).
    pub fn used(&self) -> u128 {
        self.used
    }

    /// Number of taken runs (a measure of fragmentation and memory).
    pub fn runs(&self) -> usize {
        self.runs.len()
    }

    /// The run covering `i`, if `i` is taken.
    fn run_containing(&self, i: u128) -> Option<(u128, u128)> {
        let (&s, &e) = self.runs.range(..=i).next_back()?;
        (e >= i).then_some((s, e))
    }

    pub fn contains(&self, i: u128) -> bool {
        i <= self.last
    }

    /// True when `i` is in range and not taken.
    pub fn is_free(&self, i: u128) -> bool {
        i <= self.last && self.run_containing(i).is_none()
    }

    pub fn is_full(&self) -> bool {
        self.first_free_from(0).is_none()
    }

    /// Where the next-fit search starts.
    pub fn cursor(&self) -> u128 {
        self.cursor
    }

    /// Moves the next-fit cursor (clamped to the pool), e.g. to undo a
    /// tentative allocation exactly.
    pub fn set_cursor(&mut self, cursor: u128) {
        self.cursor = if cursor > self.last { 0 } else { cursor };
    }

    /// The lowest free index at or after `from`.
    pub fn first_free_from(&self, from: u128) -> Option<u128> {
        if from > self.last {
            return None;
        }
        match self.run_containing(from) {
            None => Some(from),
            // Runs are maximal: the index after one is free (or past the end).
            Some((_, e)) if e < self.last => Some(e + 1),
            Some(_) => None,
        }
    }

    /// What [`allocate`](Self::allocate) would return, without taking it.
    pub fn peek(&self, hint: Option<u128>) -> Option<u128> {
        if let Some(h) = hint.filter(|&h| self.is_free(h)) {
            return Some(h);
        }
        self.first_free_from(self.cursor)
            .or_else(|| self.first_free_from(0))
    }

    /// Takes `hint` if it is free, otherwise the next free index from the
    /// cursor (wrapping around once). `None` when the pool is full.
    pub fn allocate(&mut self, hint: Option<u128>) -> Option<u128> {
        let i = self.peek(hint)?;
        self.take(i);
        Some(i)
    }

    /// Takes the specific index `i`; false if it is out of range or taken.
    pub fn take(&mut self, i: u128) -> bool {
        self.take_range(i, i)
    }

    /// Takes every index of `lo..=hi`; false (and nothing taken) unless all
    /// of them are in range and free.
    pub fn take_range(&mut self, lo: u128, hi: u128) -> bool {
        if lo > hi || hi > self.last || self.run_containing(lo).is_some() {
            return false;
        }
        // Nothing may start inside (lo, hi].
        if self.runs.range(lo..=hi).next().is_some() {
            return false;
        }
        let mut start = lo;
        let mut end = hi;
        // Merge with a run ending right before `lo`.
        if let Some(prev) = lo.checked_sub(1)
            && let Some((s, _)) = self.run_containing(prev)
        {
            self.runs.remove(&s);
            start = s;
        }
        // Merge with a run starting right after `hi`.
        if let Some(next) = hi.checked_add(1)
            && let Some(e) = self.runs.remove(&next)
        {
            end = e;
        }
        self.runs.insert(start, end);
        self.used = self.used.saturating_add((hi - lo).saturating_add(1));
        // Next fit: the cursor stays after the latest allocation, so an
        // index taken at the cursor and later released is not handed out
        // again at once.
        if (lo..=hi).contains(&self.cursor) {
            self.cursor = if hi == self.last { 0 } else { hi + 1 };
        }
        true
    }

    /// Takes whatever is free in `lo..=hi` (clamped to the pool) and returns
    /// the runs it took, so they can be given back with
    /// [`release_range`](Self::release_range). Used to fence off space held
    /// by something that is not an index of this pool (a lease of another
    /// length that overlaps it).
    pub fn take_free_in(&mut self, lo: u128, hi: u128) -> Vec<(u128, u128)> {
        let mut took = Vec::new();
        if lo > self.last || lo > hi {
            return took;
        }
        let hi = hi.min(self.last);
        let mut at = lo;
        while let Some(free) = self.first_free_from(at) {
            if free > hi {
                break;
            }
            // The free gap runs up to the next run's start (or the end).
            let gap_end = match self.runs.range(free..).next() {
                Some((&s, _)) => s - 1,
                None => self.last,
            };
            let end = gap_end.min(hi);
            self.take_range(free, end);
            took.push((free, end));
            match end.checked_add(1) {
                Some(n) if n <= hi => at = n,
                _ => break,
            }
        }
        took
    }

    /// Gives back `i`; false if it was not taken.
    pub fn release(&mut self, i: u128) -> bool {
        self.release_range(i, i)
    }

    /// Gives back all of `lo..=hi`; false (and nothing released) unless all
    /// of it was taken.
    pub fn release_range(&mut self, lo: u128, hi: u128) -> bool {
        if lo > hi {
            return false;
        }
        let Some((s, e)) = self.run_containing(lo) else {
            return false;
        };
        if e < hi {
            return false;
        }
        self.runs.remove(&s);
        if s < lo {
            self.runs.insert(s, lo - 1);
        }
        if hi < e {
            self.runs.insert(hi + 1, e);
        }
        self.used = self.used.saturating_sub((hi - lo).saturating_add(1));
        true
    }

    /// The taken runs, lowest first.
    pub fn taken_runs(&self) -> impl Iterator<Item = (u128, u128)> + '_ {
        self.runs.iter().map(|(&s, &e)| (s, e))
    }
}

/// An inclusive range of addresses handed out one by one (IA_NA).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressRange {
    start: Ipv6Addr,
    end: Ipv6Addr,
    alloc: IndexAllocator,
}

impl AddressRange {
    pub fn new(start: Ipv6Addr, end: Ipv6Addr) -> Result<AddressRange, PoolError> {
        let (s, e) = (u128::from(start), u128::from(end));
        if s > e {
            return Err(PoolError::EmptyRange { start, end });
        }
        Ok(AddressRange {
            start,
            end,
            alloc: IndexAllocator::new(e - s),
        })
    }

    pub fn start(&self) -> Ipv6Addr {
        self.start
    }

    pub fn end(&self) -> Ipv6Addr {
        self.end
    }

    pub fn allocator(&self) -> &IndexAllocator {
        &self.alloc
    }

    /// The allocator itself, for index-level operations (cursor, runs).
    pub fn allocator_mut(&mut self) -> &mut IndexAllocator {
        &mut self.alloc
    }

    pub fn contains(&self, addr: Ipv6Addr) -> bool {
        self.index_of(addr).is_some()
    }

    /// The index of `addr`, if it is in the range.
    pub fn index_of(&self, addr: Ipv6Addr) -> Option<u128> {
        let a = u128::from(addr);
        (a >= u128::from(self.start) && a <= u128::from(self.end))
            .then(|| a - u128::from(self.start))
    }

    /// The address at `index`, if it is in the range.
    pub fn addr_at(&self, index: u128) -> Option<Ipv6Addr> {
        (index <= self.alloc.last()).then(|| Ipv6Addr::from(u128::from(self.start) + index))
    }

    pub fn is_free(&self, addr: Ipv6Addr) -> bool {
        self.index_of(addr).is_some_and(|i| self.alloc.is_free(i))
    }

    /// `hint` if it is in the range and free, else the next free address.
    pub fn allocate(&mut self, hint: Option<Ipv6Addr>) -> Option<Ipv6Addr> {
        let h = hint.and_then(|a| self.index_of(a));
        let i = self.alloc.allocate(h)?;
        self.addr_at(i)
    }

    /// What `allocate(hint)` would return, without taking it.
    pub fn peek(&self, hint: Option<Ipv6Addr>) -> Option<Ipv6Addr> {
        let h = hint.and_then(|a| self.index_of(a));
        self.alloc.peek(h).and_then(|i| self.addr_at(i))
    }

    /// Takes `addr`; false if it is outside the range or taken.
    pub fn take(&mut self, addr: Ipv6Addr) -> bool {
        self.index_of(addr).is_some_and(|i| self.alloc.take(i))
    }

    /// Gives `addr` back; false if it was not taken here.
    pub fn release(&mut self, addr: Ipv6Addr) -> bool {
        self.index_of(addr).is_some_and(|i| self.alloc.release(i))
    }

    /// The indices of this range that `p` covers, if any.
    pub fn covered_by(&self, p: &Prefix) -> Option<(u128, u128)> {
        let lo = u128::from(p.addr());
        let hi = lo | !mask(p.len());
        let (s, e) = (u128::from(self.start), u128::from(self.end));
        let (lo, hi) = (lo.max(s), hi.min(e));
        (lo <= hi).then(|| (lo - s, hi - s))
    }

    /// Fences off the free part of this range that `p` covers; see
    /// [`IndexAllocator::take_free_in`].
    pub fn take_free_covered_by(&mut self, p: &Prefix) -> Vec<(u128, u128)> {
        match self.covered_by(p) {
            Some((lo, hi)) => self.alloc.take_free_in(lo, hi),
            None => Vec::new(),
        }
    }

    pub fn release_indices(&mut self, lo: u128, hi: u128) -> bool {
        self.alloc.release_range(lo, hi)
    }
}

/// The mask with the top `len` bits set (`len` ≤ 128).
fn mask(len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(len.min(128)))
    }
}

/// The subnets of length `delegated_len` inside `base`, handed out one by
/// one (IA_PD).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefixPool {
    base: Prefix,
    delegated_len: u8,
    alloc: IndexAllocator,
}

impl PrefixPool {
    pub fn new(base: Prefix, delegated_len: u8) -> Result<PrefixPool, PoolError> {
        let Some(bits) = base.subnet_bits(delegated_len) else {
            return Err(PoolError::BadDelegatedLength {
                base,
                delegated_len,
            });
        };
        let last = if bits >= 128 {
            u128::MAX
        } else {
            (1u128 << bits) - 1
        };
        Ok(PrefixPool {
            base,
            delegated_len,
            alloc: IndexAllocator::new(last),
        })
    }

    pub fn base(&self) -> Prefix {
        self.base
    }

    pub fn delegated_len(&self) -> u8 {
        self.delegated_len
    }

    pub fn allocator(&self) -> &IndexAllocator {
        &self.alloc
    }

    /// The allocator itself, for index-level operations (cursor, runs).
    pub fn allocator_mut(&mut self) -> &mut IndexAllocator {
        &mut self.alloc
    }

    /// True when `p` is one of this pool's subnets (right length, inside).
    pub fn contains(&self, p: &Prefix) -> bool {
        p.len() == self.delegated_len && self.base.contains(p)
    }

    pub fn index_of(&self, p: &Prefix) -> Option<u128> {
        if !self.contains(p) {
            return None;
        }
        self.base.subnet_index(p)
    }

    pub fn prefix_at(&self, index: u128) -> Option<Prefix> {
        self.base.subnet(self.delegated_len, index)
    }

    pub fn is_free(&self, p: &Prefix) -> bool {
        self.index_of(p).is_some_and(|i| self.alloc.is_free(i))
    }

    /// `hint` if it is one of this pool's subnets and free, else the next
    /// free subnet.
    pub fn allocate(&mut self, hint: Option<Prefix>) -> Option<Prefix> {
        let h = hint.and_then(|p| self.index_of(&p));
        let i = self.alloc.allocate(h)?;
        self.prefix_at(i)
    }

    /// What `allocate(hint)` would return, without taking it.
    pub fn peek(&self, hint: Option<Prefix>) -> Option<Prefix> {
        let h = hint.and_then(|p| self.index_of(&p));
        self.alloc.peek(h).and_then(|i| self.prefix_at(i))
    }

    pub fn take(&mut self, p: &Prefix) -> bool {
        self.index_of(p).is_some_and(|i| self.alloc.take(i))
    }

    pub fn release(&mut self, p: &Prefix) -> bool {
        self.index_of(p).is_some_and(|i| self.alloc.release(i))
    }

    /// The indices of this pool that `p` overlaps, if any: one index when
    /// `p` is as long as the delegations or longer, a run when shorter.
    pub fn covered_by(&self, p: &Prefix) -> Option<(u128, u128)> {
        if !self.base.overlaps(p) {
            return None;
        }
        if p.len() >= self.delegated_len {
            let sub = Prefix::truncating(p.addr(), self.delegated_len).ok()?;
            let i = self.base.subnet_index(&sub)?;
            return Some((i, i));
        }
        if p.contains(&self.base) {
            return Some((0, self.alloc.last()));
        }
        // `base` contains `p`, which is shorter than a delegation.
        let first = p.subnet(self.delegated_len, 0)?;
        let lo = self.base.subnet_index(&first)?;
        let bits = p.subnet_bits(self.delegated_len)?;
        let span = if bits >= 128 {
            u128::MAX
        } else {
            (1u128 << bits) - 1
        };
        Some((lo, lo.saturating_add(span)))
    }

    /// Fences off the free part of this pool that `p` overlaps; see
    /// [`IndexAllocator::take_free_in`].
    pub fn take_free_covered_by(&mut self, p: &Prefix) -> Vec<(u128, u128)> {
        match self.covered_by(p) {
            Some((lo, hi)) => self.alloc.take_free_in(lo, hi),
            None => Vec::new(),
        }
    }

    pub fn release_indices(&mut self, lo: u128, hi: u128) -> bool {
        self.alloc.release_range(lo, hi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn p(s: &str) -> Prefix {
        s.parse().unwrap()
    }

    #[test]
    fn next_fit_and_hints() {
        let mut a = IndexAllocator::new(9);
        assert_eq!(a.allocate(None), Some(0));
        assert_eq!(a.allocate(None), Some(1));
        assert_eq!(a.allocate(Some(5)), Some(5), "free hint honoured");
        assert_eq!(a.allocate(Some(5)), Some(2), "taken hint: next fit");
        assert!(a.release(0));
        // The cursor moved on: 0 is not handed out again at once.
        assert_eq!(a.allocate(None), Some(3));
        assert_eq!(a.runs(), 2, "1..=3 and 5");
        for _ in 0..6 {
            a.allocate(None).unwrap();
        }
        assert!(a.is_full());
        assert_eq!(a.used(), 10);
        assert_eq!(a.allocate(None), None);
        assert!(!a.release(10), "out of range");
        assert!(a.release(7));
        assert!(!a.release(7), "released twice");
        assert_eq!(a.allocate(None), Some(7));
    }

    #[test]
    fn runs_merge_and_split() {
        let mut a = IndexAllocator::new(100);
        assert!(a.take(10) && a.take(12));
        assert_eq!(a.runs(), 2);
        assert!(a.take(11));
        assert_eq!(a.taken_runs().collect::<Vec<_>>(), vec![(10, 12)]);
        assert!(!a.take_range(12, 20), "12 is taken");
        assert!(a.take_range(13, 20));
        assert_eq!(a.taken_runs().collect::<Vec<_>>(), vec![(10, 20)]);
        assert!(a.release_range(14, 15));
        assert_eq!(a.taken_runs().collect::<Vec<_>>(), vec![(10, 13), (16, 20)]);
        assert!(!a.release_range(13, 16), "14 is free");
        assert_eq!(a.used(), 9);
        assert_eq!(a.first_free_from(10), Some(14));
        assert_eq!(a.take_free_in(0, 30), vec![(0, 9), (14, 15), (21, 30)]);
        assert_eq!(a.first_free_from(0), Some(31));
    }

    #[test]
    fn huge_pools_are_not_materialised() {
        let mut pool = PrefixPool::new(p("2001:db8::/32"), 96).unwrap();
        assert_eq!(pool.allocator().last(), u64::MAX as u128);
        assert_eq!(pool.allocate(None), Some(p("2001:db8::/96")));
        let last = p("2001:db8:ffff:ffff:ffff:ffff::/96");
        assert_eq!(pool.allocate(Some(last)), Some(last));
        let mut all = IndexAllocator::new(u128::MAX);
        assert_eq!(all.allocate(Some(u128::MAX)), Some(u128::MAX));
        assert_eq!(all.allocate(None), Some(0));
        assert!(all.take_range(1, u128::MAX - 1));
        assert!(all.is_full());
        assert_eq!(all.used(), u128::MAX, "saturates");
        assert!(all.release(u128::MAX - 7));
        assert_eq!(all.allocate(None), Some(u128::MAX - 7));
    }

    #[test]
    fn prefix_pool_mapping() {
        let mut pool = PrefixPool::new(p("2001:db8:100::/40"), 56).unwrap();
        assert_eq!(pool.allocator().last(), 65535);
        assert_eq!(pool.allocate(None), Some(p("2001:db8:100::/56")));
        let hint = p("2001:db8:100:ab00::/56");
        assert_eq!(pool.allocate(Some(hint)), Some(hint));
        assert!(!pool.is_free(&hint));
        assert!(!pool.contains(&p("2001:db8:100::/60")), "wrong length");
        assert!(!pool.contains(&p("2001:db8:200::/56")), "outside");
        assert_eq!(
            pool.allocate(Some(p("2001:db8:200::/56"))),
            Some(p("2001:db8:100:100::/56"))
        );
        assert!(pool.release(&hint));
        assert!(pool.is_free(&hint));
        assert_eq!(
            pool.covered_by(&p("2001:db8:100:ab12::/64")),
            Some((0xab, 0xab))
        );
        assert_eq!(
            pool.covered_by(&p("2001:db8:100:a000::/52")),
            Some((0xa0, 0xaf))
        );
        assert_eq!(pool.covered_by(&p("2001:db8::/32")), Some((0, 65535)));
        assert_eq!(pool.covered_by(&p("2001:db9::/32")), None);
        assert!(PrefixPool::new(p("2001:db8::/48"), 40).is_err());
        assert!(PrefixPool::new(p("2001:db8::/48"), 129).is_err());
    }

    #[test]
    fn address_range_mapping() {
        let start: Ipv6Addr = "2001:db8::100".parse().unwrap();
        let end: Ipv6Addr = "2001:db8::1ff".parse().unwrap();
        let mut r = AddressRange::new(start, end).unwrap();
        assert_eq!(r.allocate(None), Some(start));
        let h: Ipv6Addr = "2001:db8::1ff".parse().unwrap();
        assert_eq!(r.allocate(Some(h)), Some(h));
        assert!(!r.contains("2001:db8::200".parse().unwrap()));
        assert_eq!(r.covered_by(&p("2001:db8::180/121")), Some((0x80, 0xff)));
        assert_eq!(r.covered_by(&p("2001:db8::/64")), Some((0, 0xff)));
        assert!(AddressRange::new(end, start).is_err());
    }

    #[derive(Debug, Clone)]
    enum Op {
        Alloc(Option<u16>),
        Release(u16),
        Take(u16),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            proptest::option::of(0u16..80).prop_map(Op::Alloc),
            (0u16..80).prop_map(Op::Release),
            (0u16..80).prop_map(Op::Take),
        ]
    }

    proptest! {
        /// Against a plain set: never the same index twice, released ones
        /// come back, free hints are honoured, `used` and `is_free` agree.
        #[test]
        fn allocator_matches_model(last in 0u128..64, ops in proptest::collection::vec(op(), 0..300)) {
            let mut a = IndexAllocator::new(last);
            let mut model: BTreeSet<u128> = BTreeSet::new();
            for o in ops {
                match o {
                    Op::Alloc(hint) => {
                        let hint = hint.map(u128::from);
                        let hint_free = hint.is_some_and(|h| h <= last && !model.contains(&h));
                        let got = a.allocate(hint);
                        match got {
                            None => prop_assert_eq!(model.len() as u128, last + 1),
                            Some(i) => {
                                prop_assert!(i <= last);
                                if hint_free {
                                    prop_assert_eq!(Some(i), hint, "free hint not honoured");
                                }
                                prop_assert!(model.insert(i), "index {} handed out twice", i);
                            }
                        }
                    }
                    Op::Release(i) => {
                        let i = u128::from(i);
                        prop_assert_eq!(a.release(i), model.remove(&i));
                    }
                    Op::Take(i) => {
                        let i = u128::from(i);
                        let free = i <= last && !model.contains(&i);
                        prop_assert_eq!(a.take(i), free);
                        if free { model.insert(i); }
                    }
                }
                prop_assert_eq!(a.used(), model.len() as u128);
                for i in 0..=last + 1 {
                    prop_assert_eq!(a.is_free(i), i <= last && !model.contains(&i));
                }
                // Runs are maximal and ordered.
                let runs: Vec<_> = a.taken_runs().collect();
                for w in runs.windows(2) {
                    prop_assert!(w[0].1 + 1 < w[1].0);
                }
            }
        }

        /// Fencing takes exactly the free part and gives exactly it back.
        #[test]
        fn fence_roundtrip(taken in proptest::collection::btree_set(0u128..64, 0..40), lo in 0u128..64, len in 0u128..64) {
            let mut a = IndexAllocator::new(63);
            for &i in &taken { a.take(i); }
            let before = a.clone();
            let hi = (lo + len).min(63);
            let took = a.take_free_in(lo, hi);
            for i in lo..=hi { prop_assert!(!a.is_free(i)); }
            let n: u128 = took.iter().map(|(s, e)| e - s + 1).sum();
            prop_assert_eq!(n, (lo..=hi).filter(|i| !taken.contains(i)).count() as u128);
            for (s, e) in took { prop_assert!(a.release_range(s, e)); }
            prop_assert_eq!(a.taken_runs().collect::<Vec<_>>(), before.taken_runs().collect::<Vec<_>>());
            prop_assert_eq!(a.used(), before.used());
        }
    }
}
