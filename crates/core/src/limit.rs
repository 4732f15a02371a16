//! Rate limits on the machines' clock: token buckets, a bounded table of
//! them keyed by source, the admission policy a link applies to unsolicited
//! input (DHCPv6 messages, Router Solicitations), and a throttle for
//! per-packet log lines.
//!
//! Everything here takes the time as an argument ([`Instant`]), so a flood
//! can be replayed in a test at any speed, and every table is bounded:
//! hostile input costs at most a fixed amount of memory however many
//! sources it fakes.
//!
//! Panic contract: nothing here panics.

use std::collections::BTreeMap;
use std::net::Ipv6Addr;
use std::time::Duration;

use crate::{IfIndex, Instant};

/// A sustained rate and the burst allowed above it: `per_second` tokens
/// come back every second, up to `burst`. A zero `per_second` with a zero
/// `burst` admits nothing; [`Rate::UNLIMITED`] admits everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub per_second: u32,
    pub burst: u32,
}

impl Rate {
    /// No limit at all (a bucket that is never consulted).
    pub const UNLIMITED: Rate = Rate {
        per_second: u32::MAX,
        burst: u32::MAX,
    };

    pub const fn new(per_second: u32, burst: u32) -> Rate {
        Rate { per_second, burst }
    }

    pub fn is_unlimited(self) -> bool {
        self == Rate::UNLIMITED
    }

    /// How long an untouched bucket takes to fill up again: after that it
    /// is indistinguishable from a new one and can be forgotten.
    fn refill_time(self) -> Duration {
        if self.per_second == 0 {
            return Duration::MAX;
        }
        Duration::from_micros(
            u64::from(self.burst).saturating_mul(1_000_000) / u64::from(self.per_second) + 1,
        )
    }
}

/// One token, in the bucket's fixed-point unit (a token-microsecond per
/// token per second of rate: refilling is then an integer multiply).
const TOKEN: u64 = 1_000_000;

/// A token bucket on the machines' clock.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: Rate,
    /// Tokens × [`TOKEN`].
    level: u64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(rate: Rate, now: Instant) -> TokenBucket {
        TokenBucket {
            rate,
            level: u64::from(rate.burst).saturating_mul(TOKEN),
            last: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last);
        let gained = u64::try_from(elapsed.as_micros())
            .unwrap_or(u64::MAX)
            .saturating_mul(u64::from(self.rate.per_second));
        let cap = u64::from(self.rate.burst).saturating_mul(TOKEN);
        self.level = self.level.saturating_add(gained).min(cap);
        // Time never runs backwards for a bucket: an earlier `now` (a
        // caller mixing clocks) gains nothing and moves nothing.
        self.last = self.last.max(now);
    }

    /// Takes one token if there is one.
    pub fn try_take(&mut self, now: Instant) -> bool {
        if self.rate.is_unlimited() {
            return true;
        }
        self.refill(now);
        if self.level >= TOKEN {
            self.level -= TOKEN;
            true
        } else {
            false
        }
    }

    /// Whether the bucket is full again at `now` (it would behave exactly
    /// like a new one).
    fn is_full_at(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.last) >= self.rate.refill_time()
            || self.level >= u64::from(self.rate.burst).saturating_mul(TOKEN)
    }

    pub fn rate(&self) -> Rate {
        self.rate
    }

    /// Changes the rate, keeping what is in the bucket (capped by the new
    /// burst).
    pub fn set_rate(&mut self, rate: Rate) {
        self.rate = rate;
        self.level = self.level.min(u64::from(rate.burst).saturating_mul(TOKEN));
    }
}

/// What a [`KeyedLimiter`] decided about one input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyedVerdict {
    /// The key's bucket had a token.
    Admitted,
    /// The key's bucket was empty.
    Limited,
    /// The table is full of keys that are still busy: this key was not
    /// tracked and is left to the limits above it.
    Untracked,
}

/// Token buckets per key, at most `capacity` of them. A key whose bucket
/// has filled up again is forgotten when room is needed, so the table holds
/// only keys that sent recently; when every entry is busy, new keys are not
/// tracked ([`KeyedVerdict::Untracked`]) rather than evicting a busy one,
/// which would hand a fresh burst to whoever churns keys fastest.
#[derive(Debug, Clone)]
pub struct KeyedLimiter<K> {
    rate: Rate,
    capacity: usize,
    buckets: BTreeMap<K, TokenBucket>,
    /// No sweep before this: a sweep that found nothing to forget is not
    /// repeated for every new key of a flood.
    next_sweep: Instant,
}

impl<K: Ord + Clone> KeyedLimiter<K> {
    pub fn new(rate: Rate, capacity: usize) -> KeyedLimiter<K> {
        KeyedLimiter {
            rate,
            capacity,
            buckets: BTreeMap::new(),
            next_sweep: Instant::ZERO,
        }
    }

    pub fn check(&mut self, key: &K, now: Instant) -> KeyedVerdict {
        if self.rate.is_unlimited() {
            return KeyedVerdict::Admitted;
        }
        if let Some(bucket) = self.buckets.get_mut(key) {
            return match bucket.try_take(now) {
                true => KeyedVerdict::Admitted,
                false => KeyedVerdict::Limited,
            };
        }
        if self.buckets.len() >= self.capacity && now >= self.next_sweep {
            self.buckets.retain(|_, b| !b.is_full_at(now));
            // Whatever is left stays busy for at least a fraction of the
            // refill time; look again after that.
            let pause = self.rate.refill_time().min(Duration::from_secs(1)) / 4;
            self.next_sweep = now + pause;
        }
        if self.buckets.len() >= self.capacity {
            return KeyedVerdict::Untracked;
        }
        let mut bucket = TokenBucket::new(self.rate, now);
        let verdict = match bucket.try_take(now) {
            true => KeyedVerdict::Admitted,
            false => KeyedVerdict::Limited,
        };
        self.buckets.insert(key.clone(), bucket);
        verdict
    }

    /// Keys tracked now.
    pub fn len(&self) -> usize {
        self.buckets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    pub fn set_rate(&mut self, rate: Rate) {
        self.rate = rate;
        for b in self.buckets.values_mut() {
            b.set_rate(rate);
        }
    }
}

/// Limits for unsolicited input on a link (DHCPv6 client messages, Router
/// Solicitations). The link has two shared budgets: one for sources the
/// kernel has confirmed as neighbours (they answered a Neighbor
/// Solicitation, RFC 4861 §7.3.3 REACHABLE) and one for all others. Made-up
/// sources never answer, so a flood from them drains only the unconfirmed
/// budget, and a host that has once completed neighbour discovery with us
/// (every client that received an Advertise has) is still served during the
/// flood. Unconfirmed sources also have a bucket each, so one of them
/// cannot take the whole unconfirmed budget. Confirmed sources do not: a
/// confirmed host cannot hide behind made-up addresses, and relays and load
/// generators legitimately send many messages from one address; the
/// confirmed budget bounds them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdmissionLimits {
    /// Per unconfirmed source address on a link.
    pub per_source: Rate,
    /// Per link, for sources not confirmed as neighbours.
    pub per_link: Rate,
    /// Per link, for confirmed neighbours.
    pub per_link_confirmed: Rate,
}

/// Why an input was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The source sent more than its share.
    SourceRate,
    /// The link's shared budget is spent.
    LinkRate,
}

impl Refusal {
    /// Stable lowercase label for counters.
    pub fn label(self) -> &'static str {
        match self {
            Refusal::SourceRate => "rate-limited-source",
            Refusal::LinkRate => "rate-limited-link",
        }
    }
}

/// Sources tracked per admission table; a flood of made-up sources beyond
/// this is left to the per-link budgets.
pub const MAX_TRACKED_SOURCES: usize = 4096;
/// Links tracked per admission table.
const MAX_TRACKED_LINKS: usize = 1024;

/// The admission policy of [`AdmissionLimits`], for every link of a role.
#[derive(Debug, Clone)]
pub struct Admission {
    per_source: KeyedLimiter<(IfIndex, Ipv6Addr)>,
    per_link: KeyedLimiter<IfIndex>,
    per_link_confirmed: KeyedLimiter<IfIndex>,
}

impl Admission {
    pub fn new(limits: AdmissionLimits) -> Admission {
        Admission {
            per_source: KeyedLimiter::new(limits.per_source, MAX_TRACKED_SOURCES),
            per_link: KeyedLimiter::new(limits.per_link, MAX_TRACKED_LINKS),
            per_link_confirmed: KeyedLimiter::new(limits.per_link_confirmed, MAX_TRACKED_LINKS),
        }
    }

    pub fn set_limits(&mut self, limits: AdmissionLimits) {
        self.per_source.set_rate(limits.per_source);
        self.per_link.set_rate(limits.per_link);
        self.per_link_confirmed.set_rate(limits.per_link_confirmed);
    }

    /// Whether an input from `src` on `ifindex` may be processed at `now`.
    /// `confirmed`: the kernel confirmed `src` as a neighbour; `aggregate`:
    /// the input speaks for many hosts (a DHCPv6 Relay-forward), so the
    /// per-source bucket does not apply.
    pub fn admit(
        &mut self,
        now: Instant,
        ifindex: IfIndex,
        src: Ipv6Addr,
        confirmed: bool,
        aggregate: bool,
    ) -> Result<(), Refusal> {
        if !confirmed
            && !aggregate
            && self.per_source.check(&(ifindex, src), now) == KeyedVerdict::Limited
        {
            return Err(Refusal::SourceRate);
        }
        let link = match confirmed {
            true => &mut self.per_link_confirmed,
            false => &mut self.per_link,
        };
        match link.check(&ifindex, now) {
            KeyedVerdict::Limited => Err(Refusal::LinkRate),
            KeyedVerdict::Admitted | KeyedVerdict::Untracked => Ok(()),
        }
    }

    /// Sources tracked now (bounded by [`MAX_TRACKED_SOURCES`]).
    pub fn tracked_sources(&self) -> usize {
        self.per_source.len()
    }
}

/// The neighbours the kernel has confirmed on each link (seen REACHABLE),
/// remembered for [`CONFIRMED_TTL`], at most [`MAX_CONFIRMED`] of them (the
/// oldest confirmation is forgotten first).
#[derive(Debug, Clone, Default)]
pub struct ConfirmedNeighbours {
    by_addr: BTreeMap<(IfIndex, Ipv6Addr), Instant>,
}

/// How long a confirmation counts.
pub const CONFIRMED_TTL: Duration = Duration::from_secs(600);
/// Confirmed neighbours remembered at most.
pub const MAX_CONFIRMED: usize = 8192;

impl ConfirmedNeighbours {
    pub fn confirm(&mut self, now: Instant, ifindex: IfIndex, addr: Ipv6Addr) {
        if self.by_addr.len() >= MAX_CONFIRMED && !self.by_addr.contains_key(&(ifindex, addr)) {
            self.by_addr.retain(|_, at| *at + CONFIRMED_TTL > now);
            if self.by_addr.len() >= MAX_CONFIRMED
                && let Some(oldest) = self
                    .by_addr
                    .iter()
                    .min_by_key(|(_, at)| **at)
                    .map(|(k, _)| *k)
            {
                self.by_addr.remove(&oldest);
            }
        }
        self.by_addr.insert((ifindex, addr), now);
    }

    pub fn is_confirmed(&self, now: Instant, ifindex: IfIndex, addr: Ipv6Addr) -> bool {
        self.by_addr
            .get(&(ifindex, addr))
            .is_some_and(|at| *at + CONFIRMED_TTL > now)
    }

    pub fn len(&self) -> usize {
        self.by_addr.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_addr.is_empty()
    }
}

/// A throttle for a log line that hostile input could repeat per packet:
/// the first occurrence is logged, then at most one line per `interval`,
/// which says how many occurrences it stands for.
#[derive(Debug, Clone)]
pub struct LogThrottle {
    interval: Duration,
    last: Option<Instant>,
    suppressed: u64,
}

impl LogThrottle {
    pub const fn new(interval: Duration) -> LogThrottle {
        LogThrottle {
            interval,
            last: None,
            suppressed: 0,
        }
    }

    /// Called for each occurrence: `Some(n)` when this one is to be logged,
    /// `n` being the occurrences since the last logged one that were not.
    pub fn allow(&mut self, now: Instant) -> Option<u64> {
        match self.last {
            Some(last) if now < last + self.interval => {
                self.suppressed = self.suppressed.saturating_add(1);
                None
            }
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.suppressed))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> Instant {
        Instant::from_micros(ms * 1000)
    }

    fn addr(n: u16) -> Ipv6Addr {
        Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, n)
    }

    #[test]
    fn bucket_allows_the_burst_then_the_rate() {
        let mut b = TokenBucket::new(Rate::new(10, 5), at(0));
        assert_eq!((0..8).filter(|_| b.try_take(at(0))).count(), 5);
        // 100 ms later one token is back, not two.
        assert!(b.try_take(at(100)));
        assert!(!b.try_take(at(100)));
        // Over 10 s at most rate × 10 s + burst are admitted.
        let admitted = (0..100_000u64)
            .filter(|i| b.try_take(at(100 + i / 10)))
            .count();
        assert!((99..=105).contains(&admitted), "admitted {admitted}");
    }

    #[test]
    fn bucket_ignores_time_running_backwards() {
        let mut b = TokenBucket::new(Rate::new(1, 1), at(5000));
        assert!(b.try_take(at(5000)));
        assert!(!b.try_take(at(0)));
        assert!(!b.try_take(at(5500)));
        assert!(b.try_take(at(6000)));
    }

    #[test]
    fn zero_rate_admits_nothing_and_unlimited_everything() {
        let mut none = TokenBucket::new(Rate::new(0, 0), at(0));
        assert!(!none.try_take(at(1_000_000)));
        let mut all = TokenBucket::new(Rate::UNLIMITED, at(0));
        assert!((0..10_000).all(|_| all.try_take(at(0))));
    }

    #[test]
    fn keyed_limiter_is_bounded_and_forgets_idle_keys() {
        let mut l = KeyedLimiter::new(Rate::new(1, 2), 100);
        for i in 0..100u16 {
            assert_eq!(l.check(&i, at(0)), KeyedVerdict::Admitted);
        }
        // Full of busy keys: a new one is left untracked, not evicting.
        assert_eq!(l.check(&1000, at(0)), KeyedVerdict::Untracked);
        assert_eq!(l.len(), 100);
        // After the refill time the old keys are as good as new: forgotten.
        assert_eq!(l.check(&1000, at(3000)), KeyedVerdict::Admitted);
        assert_eq!(l.len(), 1);
    }

    #[test]
    fn keyed_limiter_limits_each_key_on_its_own() {
        let mut l = KeyedLimiter::new(Rate::new(1, 2), 10);
        assert_eq!(l.check(&1, at(0)), KeyedVerdict::Admitted);
        assert_eq!(l.check(&1, at(0)), KeyedVerdict::Admitted);
        assert_eq!(l.check(&1, at(0)), KeyedVerdict::Limited);
        assert_eq!(l.check(&2, at(0)), KeyedVerdict::Admitted);
    }

    fn limits() -> AdmissionLimits {
        AdmissionLimits {
            per_source: Rate::new(5, 10),
            per_link: Rate::new(100, 200),
            per_link_confirmed: Rate::new(100, 200),
        }
    }

    /// The property the policy exists for: a flood from made-up sources at
    /// 50 000/s for 10 s gets at most the unconfirmed budget, memory stays
    /// bounded, and a confirmed host sending at a client's pace is never
    /// refused.
    #[test]
    fn flood_of_made_up_sources_leaves_confirmed_hosts_served() {
        let mut adm = Admission::new(limits());
        let host = Ipv6Addr::new(0xfe80, 0, 0, 0, 0x1, 0x2, 0x3, 0x4);
        let mut flood_admitted = 0u64;
        let mut host_refused = 0;
        for i in 0..500_000u64 {
            let now = Instant::from_micros(i * 20);
            let src = Ipv6Addr::from(
                (0xfe80u128 << 112) | u128::from(i.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
            );
            if adm.admit(now, 7, src, false, false).is_ok() {
                flood_admitted += 1;
            }
            // The host: one message every 500 ms (a client retransmitting).
            if i % 25_000 == 0 && adm.admit(now, 7, host, true, false).is_err() {
                host_refused += 1;
            }
            assert!(adm.tracked_sources() <= MAX_TRACKED_SOURCES);
        }
        assert_eq!(host_refused, 0);
        assert!(
            flood_admitted <= 100 * 10 + 200,
            "flood admitted {flood_admitted}"
        );
        assert!(
            flood_admitted >= 100 * 9,
            "the budget was not used: {flood_admitted}"
        );
    }

    #[test]
    fn one_noisy_unconfirmed_source_is_limited_alone() {
        let mut adm = Admission::new(limits());
        let noisy = addr(1);
        let refused = (0..100)
            .filter(|_| adm.admit(at(0), 1, noisy, false, false).is_err())
            .count();
        assert_eq!(refused, 90);
        assert_eq!(
            adm.admit(at(0), 1, noisy, false, false),
            Err(Refusal::SourceRate)
        );
        assert!(adm.admit(at(0), 1, addr(2), false, false).is_ok());
        // The same address on another link is another source.
        assert!(adm.admit(at(0), 2, noisy, false, false).is_ok());
    }

    #[test]
    fn confirmed_and_aggregate_sources_share_only_the_link_budget() {
        let mut adm = Admission::new(limits());
        // A relay, or a confirmed load generator: one address, the whole
        // budget of its class, and no more.
        let relay = (0..1000)
            .filter(|_| adm.admit(at(0), 1, addr(1), false, true).is_ok())
            .count();
        assert_eq!(relay, 200);
        assert_eq!(
            adm.admit(at(0), 1, addr(2), false, false),
            Err(Refusal::LinkRate)
        );
        let confirmed = (0..1000)
            .filter(|_| adm.admit(at(0), 1, addr(3), true, false).is_ok())
            .count();
        assert_eq!(confirmed, 200);
        assert_eq!(
            adm.admit(at(0), 1, addr(3), true, false),
            Err(Refusal::LinkRate)
        );
    }

    #[test]
    fn confirmations_expire_and_stay_bounded() {
        let mut c = ConfirmedNeighbours::default();
        c.confirm(at(0), 1, addr(1));
        assert!(c.is_confirmed(at(1000), 1, addr(1)));
        assert!(!c.is_confirmed(at(1000), 2, addr(1)));
        assert!(!c.is_confirmed(at(601_000), 1, addr(1)));
        for i in 0..(MAX_CONFIRMED as u64 + 100) {
            c.confirm(at(i), 1, Ipv6Addr::from(u128::from(i)));
        }
        assert_eq!(c.len(), MAX_CONFIRMED);
        // The newest stay, the oldest went.
        assert!(c.is_confirmed(
            at(MAX_CONFIRMED as u64 + 100),
            1,
            Ipv6Addr::from(u128::from(MAX_CONFIRMED as u64 + 99))
        ));
        assert!(!c.is_confirmed(at(MAX_CONFIRMED as u64 + 100), 1, Ipv6Addr::from(0u128)));
    }

    #[test]
    fn log_throttle_counts_what_it_held_back() {
        let mut t = LogThrottle::new(Duration::from_secs(10));
        assert_eq!(t.allow(at(0)), Some(0));
        for i in 1..=999 {
            assert_eq!(t.allow(at(i)), None);
        }
        assert_eq!(t.allow(at(10_000)), Some(999));
        assert_eq!(t.allow(at(10_001)), None);
    }
}
