//! The hosts on the link that the advertiser can reach with a unicast RA.
//!
//! RFC 4861 §6.2.6 limits multicast RAs to one per MIN_DELAY_BETWEEN_RAS
//! (3 s) to the all-nodes address. When what hosts must know changes
//! urgently (RFC 9096 L-13, RFC 7084 G-5) within that window, the
//! advertiser tells the hosts it knows by unicast RA at once, and the
//! multicast RA follows when the limit allows. This table is the "hosts it knows": the
//! link-local sources of valid Router Solicitations, plus neighbours the
//! driver reports ([`crate::Advertiser::note_neighbor`]).
//!
//! The table is bounded ([`MAX_KNOWN_HOSTS`], the least recently heard is
//! evicted, unless it is inside its urgent-RA interval: then the newcomer
//! is not remembered, so eviction cannot reset a host's rate limit) and
//! forgets hosts not heard from for [`KNOWN_HOST_TTL`], so a
//! link full of hosts or a spoofing one cannot make it grow without bound,
//! and an urgent change costs at most [`MAX_KNOWN_HOSTS`] RAs. Each host
//! gets at most one urgent RA per [`URGENT_UNICAST_INTERVAL`], so a
//! flapping upstream cannot make us flood the link; an RA held back by that
//! limit leaves when the limit allows, unless a multicast RA gets there
//! first.
//!
//! Panic contract: nothing here panics.

use std::net::Ipv6Addr;
use std::time::Duration;

use v6edge_core::Instant;

use crate::config::MAX_LINK_LAYER_ADDR_LEN;

/// At most this many hosts are remembered; learning one more evicts the
/// least recently heard (unless that one is inside its urgent-RA interval).
pub const MAX_KNOWN_HOSTS: usize = 256;
/// A host not heard from for this long is forgotten.
pub const KNOWN_HOST_TTL: Duration = Duration::from_secs(3600);
/// At most one urgent unicast RA per host per this interval.
pub const URGENT_UNICAST_INTERVAL: Duration = Duration::from_secs(1);

/// A host the advertiser can tell about urgent changes by unicast RA.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KnownHost {
    /// Its link-local address.
    pub addr: Ipv6Addr,
    /// The Source Link-Layer Address option data of its last Router
    /// Solicitation (padding included), if it carried one of at most 30
    /// octets.
    pub link_layer_addr: Option<Vec<u8>>,
    /// When it last solicited or was reported by the driver.
    pub last_heard: Instant,
}

#[derive(Debug, Clone)]
struct Entry {
    host: KnownHost,
    /// When the last urgent unicast RA went to it.
    last_urgent: Option<Instant>,
    /// An urgent unicast RA is owed to it.
    urgent_pending: bool,
}

impl Entry {
    /// When its owed urgent RA may leave (per-host rate limit).
    fn urgent_due(&self) -> Instant {
        self.last_urgent
            .map_or(Instant::ZERO, |t| t + URGENT_UNICAST_INTERVAL)
    }
}

/// The bounded set of known hosts and their urgent-RA bookkeeping.
#[derive(Debug, Clone, Default)]
pub(crate) struct HostTable {
    entries: Vec<Entry>,
    /// No entry was last heard before this (a lower bound: refreshes only
    /// move entries later), so [`HostTable::expire`], called on every
    /// packet and wake-up, has nothing to scan for before it is
    /// [`KNOWN_HOST_TTL`] old.
    oldest_heard: Option<Instant>,
}

impl HostTable {
    /// Remembers (or refreshes) `addr`. Only link-local addresses are kept:
    /// a host accepts an RA only from a link-local source (RFC 4861
    /// §6.1.2), and the kernel picks a link-local source only for a
    /// link-local destination (RFC 6724 §5 rule 2, scope), so an RA sent to
    /// a global address without an explicit source would be discarded.
    /// Returns whether it was kept.
    pub fn learn(&mut self, now: Instant, addr: Ipv6Addr, lla: Option<&[u8]>) -> bool {
        if !is_link_local(addr) {
            return false;
        }
        self.insert(now, addr, lla)
    }

    /// Remembers any unicast `addr`, global ones included: for a sender
    /// that names its link-local source explicitly, so the RA is valid
    /// whatever the destination (RFC 4861 §6.1.2 checks only the source).
    pub fn learn_unicast(&mut self, now: Instant, addr: Ipv6Addr) -> bool {
        if addr.is_multicast() || addr.is_unspecified() || addr.is_loopback() {
            return false;
        }
        self.insert(now, addr, None)
    }

    fn insert(&mut self, now: Instant, addr: Ipv6Addr, lla: Option<&[u8]>) -> bool {
        let lla = lla
            .filter(|l| !l.is_empty() && l.len() <= MAX_LINK_LAYER_ADDR_LEN)
            .map(<[u8]>::to_vec);
        if let Some(e) = self.entries.iter_mut().find(|e| e.host.addr == addr) {
            e.host.last_heard = e.host.last_heard.max(now);
            if lla.is_some() {
                e.host.link_layer_addr = lla;
            }
            return true;
        }
        self.expire(now);
        if self.entries.len() >= MAX_KNOWN_HOSTS
            && let Some(oldest) = self
                .entries
                .iter()
                .enumerate()
                .min_by_key(|(_, e)| e.host.last_heard)
                .map(|(i, _)| i)
        {
            // Evicted and learnt again, a host would come back without its
            // rate limit and could get a second urgent RA within
            // URGENT_UNICAST_INTERVAL: while the one to evict is inside its
            // interval, the newcomer is not kept (it still gets its
            // solicited answer).
            if self.entries[oldest].urgent_due() > now {
                return false;
            }
            let gone = self.entries.swap_remove(oldest);
            tracing::debug!(host = %gone.host.addr, "known-host table full, least recently heard forgotten");
        }
        self.oldest_heard = Some(self.oldest_heard.map_or(now, |t| t.min(now)));
        self.entries.push(Entry {
            host: KnownHost {
                addr,
                link_layer_addr: lla,
                last_heard: now,
            },
            last_urgent: None,
            urgent_pending: false,
        });
        true
    }

    /// Forgets hosts not heard from for [`KNOWN_HOST_TTL`].
    pub fn expire(&mut self, now: Instant) {
        if self
            .oldest_heard
            .is_none_or(|t| now.saturating_duration_since(t) < KNOWN_HOST_TTL)
        {
            return;
        }
        self.entries
            .retain(|e| now.saturating_duration_since(e.host.last_heard) < KNOWN_HOST_TTL);
        self.oldest_heard = self.entries.iter().map(|e| e.host.last_heard).min();
    }

    /// Every known host is owed an urgent RA.
    pub fn mark_all_pending(&mut self) {
        for e in &mut self.entries {
            e.urgent_pending = true;
        }
    }

    /// A multicast RA told everyone: nothing is owed any more.
    pub fn clear_pending(&mut self) {
        for e in &mut self.entries {
            e.urgent_pending = false;
        }
    }

    /// The hosts whose owed urgent RA may leave at `now`, marked as sent.
    pub fn take_due(&mut self, now: Instant) -> Vec<Ipv6Addr> {
        let mut due = Vec::new();
        for e in &mut self.entries {
            if e.urgent_pending && e.urgent_due() <= now {
                e.urgent_pending = false;
                e.last_urgent = Some(now);
                due.push(e.host.addr);
            }
        }
        due
    }

    /// When the next owed urgent RA may leave.
    pub fn next_due(&self) -> Option<Instant> {
        self.entries
            .iter()
            .filter(|e| e.urgent_pending)
            .map(Entry::urgent_due)
            .min()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &KnownHost> {
        self.entries.iter().map(|e| &e.host)
    }
}

/// fe80::/10 (RFC 4291 §2.5.6).
pub(crate) fn is_link_local(a: Ipv6Addr) -> bool {
    a.segments()[0] & 0xffc0 == 0xfe80
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ll(n: u16) -> Ipv6Addr {
        Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, n)
    }

    #[test]
    fn only_link_local_kept_and_lla_bounded() {
        let mut t = HostTable::default();
        let now = Instant::from_secs(1);
        assert!(!t.learn(now, "2001:db8::1".parse().unwrap(), None));
        assert!(!t.learn(now, Ipv6Addr::UNSPECIFIED, None));
        assert!(!t.learn(now, "ff02::1".parse().unwrap(), None));
        assert!(t.learn(now, ll(1), Some(&[0u8; 31])));
        assert_eq!(t.len(), 1);
        assert_eq!(t.iter().next().unwrap().link_layer_addr, None);
        // A later SLLA is kept; a later RS without one keeps it.
        t.learn(now, ll(1), Some(&[2, 0, 0, 0, 0, 1]));
        t.learn(now, ll(1), None);
        assert_eq!(
            t.iter().next().unwrap().link_layer_addr.as_deref(),
            Some(&[2u8, 0, 0, 0, 0, 1][..])
        );
    }

    /// Found by fuzz/fuzz_targets/nd_receive.rs: an RS flood evicted a
    /// host just told of an urgent change; learnt again as a new entry it
    /// got another urgent RA at the same instant.
    #[test]
    fn a_full_table_keeps_hosts_inside_their_urgent_interval() {
        let mut t = HostTable::default();
        let t0 = Instant::from_secs(10);
        for n in 0..MAX_KNOWN_HOSTS as u16 {
            assert!(t.learn(t0, ll(n), None));
        }
        t.mark_all_pending();
        assert_eq!(t.take_due(t0).len(), MAX_KNOWN_HOSTS);
        assert!(
            !t.learn(t0, ll(9999), None),
            "no eviction inside the interval"
        );
        assert_eq!(t.len(), MAX_KNOWN_HOSTS);
        t.mark_all_pending();
        assert!(
            t.take_due(t0).is_empty(),
            "nobody twice within the interval"
        );
        let later = t0 + URGENT_UNICAST_INTERVAL;
        assert!(
            t.learn(later, ll(9999), None),
            "evicts once the interval is over"
        );
        assert_eq!(t.len(), MAX_KNOWN_HOSTS);
    }

    #[test]
    fn hosts_expire_after_the_ttl_since_last_heard() {
        let mut t = HostTable::default();
        let t0 = Instant::from_secs(10);
        let half = KNOWN_HOST_TTL / 2;
        t.learn(t0, ll(1), None);
        t.learn(t0 + half, ll(2), None);
        t.expire(t0 + (KNOWN_HOST_TTL - Duration::from_millis(1)));
        assert_eq!(t.len(), 2);
        // Host 1 heard again just before its TTL: kept with host 2.
        t.learn(
            t0 + (KNOWN_HOST_TTL - Duration::from_millis(1)),
            ll(1),
            None,
        );
        t.expire(t0 + KNOWN_HOST_TTL);
        assert_eq!(t.len(), 2);
        // Host 2's TTL ends first now, then host 1's.
        t.expire(t0 + half + KNOWN_HOST_TTL);
        assert_eq!(t.iter().map(|h| h.addr).collect::<Vec<_>>(), vec![ll(1)]);
        t.expire(t0 + (2 * KNOWN_HOST_TTL - Duration::from_millis(1)));
        assert_eq!(t.len(), 0);
        // Empty, then a newcomer: expires on its own schedule.
        let t1 = t0 + 3 * KNOWN_HOST_TTL;
        t.learn(t1, ll(3), None);
        t.expire(t1 + half);
        assert_eq!(t.len(), 1);
        t.expire(t1 + KNOWN_HOST_TTL);
        assert_eq!(t.len(), 0);
    }

    #[test]
    fn pending_due_respects_the_per_host_interval() {
        let mut t = HostTable::default();
        t.learn(Instant::from_secs(0), ll(1), None);
        assert_eq!(t.next_due(), None);
        t.mark_all_pending();
        assert_eq!(t.take_due(Instant::from_secs(5)), vec![ll(1)]);
        t.mark_all_pending();
        assert_eq!(t.next_due(), Some(Instant::from_secs(6)));
        assert!(t.take_due(Instant::from_micros(5_999_999)).is_empty());
        t.clear_pending();
        assert_eq!(t.next_due(), None);
    }
}
