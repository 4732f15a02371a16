//! Lease bookkeeping for the client's identity associations: what a server
//! offered (validated, codec-free), what we hold, and the T1/T2 derivation.
//!
//! RFC 8415 §18.2.10.1 (applying a Reply to IAs), §21.4/§21.21 (T1/T2),
//! §21.6/§21.22 (lifetimes). Times are absolute [`Instant`]s; `None` means
//! infinite.
//!
//! Panic contract: nothing here panics; arithmetic saturates.

use super::MAX_LEASES_PER_IA;
use std::net::Ipv6Addr;
use std::time::Duration;
use tracing::warn;
use v6edge_core::Instant;
use v6edge_prefix::Prefix;
use v6edge_wire::Lifetime;

/// What T1/T2 of 0 are derived from when every lease is infinite.
const UNBOUNDED_TIMER_BASE: Duration = super::retrans::IRT_DEFAULT;

/// Which kind of IA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum IaKind {
    Pd,
    Na,
}

/// One leased thing: a delegated prefix or an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Leased {
    Prefix {
        prefix: Prefix,
        exclude: Option<Prefix>,
    },
    Address(Ipv6Addr),
}

impl Leased {
    /// Same prefix or address (the exclude is an attribute, not identity).
    pub(crate) fn same(&self, other: &Leased) -> bool {
        match (self, other) {
            (Leased::Prefix { prefix: a, .. }, Leased::Prefix { prefix: b, .. }) => a == b,
            (Leased::Address(a), Leased::Address(b)) => a == b,
            _ => false,
        }
    }
}

/// A lease as a server offered it, already checked (RFC 8415 §21.22: a
/// preferred lifetime above the valid one has been discarded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LeaseOffer {
    pub what: Leased,
    pub preferred: Lifetime,
    pub valid: Lifetime,
}

/// The status a server gave an IA (inside it or, per KAME, at top level).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IaStatus {
    Success,
    /// RFC 8415 §18.2.10.1: the server has no binding; re-establish with Request.
    NoBinding,
    /// NoAddrsAvail (IA_NA) or NoPrefixAvail (IA_PD).
    NothingAvailable,
    /// Any other failure code, as its number.
    Failure(u16),
}

/// An IA as a server sent it, checked and converted away from the codec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IaOffer {
    pub kind: IaKind,
    pub iaid: u32,
    pub t1: u32,
    pub t2: u32,
    pub status: IaStatus,
    pub leases: Vec<LeaseOffer>,
}

impl IaOffer {
    /// RFC 8415 §18.2.9: an IA counts only if it carries at least one lease
    /// that is still valid, and no failure status.
    pub(crate) fn usable(&self) -> bool {
        self.status == IaStatus::Success && self.leases.iter().any(|l| !l.valid.is_zero())
    }
}

/// A lease we hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Lease {
    pub what: Leased,
    pub preferred_until: Option<Instant>,
    pub valid_until: Option<Instant>,
}

/// `now + lifetime`; `None` for infinite.
pub(crate) fn until(now: Instant, l: Lifetime) -> Option<Instant> {
    l.as_duration().map(|d| now + d)
}

/// The lifetime left at `now` of something ending at `at` (`None` = never).
pub(crate) fn remaining(now: Instant, at: Option<Instant>) -> Lifetime {
    match at {
        None => Lifetime::Infinite,
        Some(t) => Lifetime::from_secs((t - now).as_secs()),
    }
}

/// One configured IA and what we hold in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IaBinding {
    pub kind: IaKind,
    pub iaid: u32,
    /// When to Renew (T1), `None` = never.
    pub t1_at: Option<Instant>,
    /// When to Rebind (T2), `None` = never.
    pub t2_at: Option<Instant>,
    pub leases: Vec<Lease>,
}

impl IaBinding {
    pub(crate) fn new(kind: IaKind, iaid: u32) -> IaBinding {
        IaBinding {
            kind,
            iaid,
            t1_at: None,
            t2_at: None,
            leases: Vec::new(),
        }
    }

    pub(crate) fn is_bound(&self) -> bool {
        !self.leases.is_empty()
    }

    /// RFC 8415 §18.2.10.1: add new leases, refresh the lifetimes of those
    /// we hold, drop those with a valid lifetime of 0, and leave alone the
    /// ones the server did not mention. Then set T1/T2.
    pub(crate) fn apply(&mut self, offer: &IaOffer, now: Instant) {
        let mut refused = 0usize;
        for lo in &offer.leases {
            let pos = self.leases.iter().position(|l| l.what.same(&lo.what));
            if lo.valid.is_zero() {
                // RFC 8415 §18.2.10.1: valid lifetime 0 = stop using it now.
                if let Some(i) = pos {
                    self.leases.remove(i);
                }
                continue;
            }
            let lease = Lease {
                what: lo.what.clone(),
                preferred_until: until(now, lo.preferred),
                valid_until: until(now, lo.valid),
            };
            match pos {
                Some(i) => self.leases[i] = lease,
                // Bounded whatever a server sends over time (one message is
                // already cut to the same bound by the codec).
                None if self.leases.len() >= MAX_LEASES_PER_IA => refused += 1,
                None => self.leases.push(lease),
            }
        }
        if refused > 0 {
            warn!(iaid = self.iaid, refused, "IA full: new leases not taken");
        }
        self.set_timers(offer.t1, offer.t2, now);
    }

    /// Sets T1/T2 from the values a server sent (seconds from `now`).
    ///
    /// RFC 8415 §21.21: 0 leaves the choice to the client, which takes 0.5
    /// and 0.8 of the shortest preferred lifetime (the server-side
    /// recommendation of §21.4, applied by KAME too: X4), or of a day when
    /// every lifetime is infinite; 0xffffffff is infinity.
    pub(crate) fn set_timers(&mut self, t1: u32, t2: u32, now: Instant) {
        if !self.is_bound() {
            self.t1_at = None;
            self.t2_at = None;
            return;
        }
        let shortest_preferred = self
            .leases
            .iter()
            .filter_map(|l| l.preferred_until)
            .map(|t| t - now)
            .filter(|d| !d.is_zero())
            .min();
        let shortest_valid = self
            .leases
            .iter()
            .filter_map(|l| l.valid_until)
            .map(|t| t - now)
            .min();
        // A deprecated lease (preferred 0) gives no base: fall back to the
        // valid lifetime so a renewal still happens before it ends. With
        // every lifetime infinite, a day (IRT_DEFAULT, the refresh period
        // of RFC 8415 §21.23): a server that left the timers to us still
        // hears from us, and a renumbering still reaches us.
        let base = shortest_preferred
            .or(shortest_valid)
            .unwrap_or(UNBOUNDED_TIMER_BASE);
        let derive = |wire: u32, factor: f64| -> Option<Duration> {
            match wire {
                u32::MAX => None,
                0 => Some(base.mul_f64(factor)),
                s => Some(Duration::from_secs(u64::from(s))),
            }
        };
        let mut d1 = derive(t1, 0.5);
        let mut d2 = derive(t2, 0.8);
        // A derived T1 must not pass a given T2.
        if let (Some(a), Some(b)) = (d1, d2)
            && a > b
        {
            d1 = Some(b);
        }
        // Deviation: RFC 8415 leaves T1/T2 beyond the valid lifetime to the
        // server (KAME X9 lets the lease die before the first Renew). We pull
        // them in so renewal starts while the lease is still valid.
        if let Some(v) = shortest_valid {
            if d2.is_none_or(|d| d >= v) && !v.is_zero() {
                warn!(iaid = self.iaid, t2 = ?d2, valid = ?v, "T2 not before the shortest valid lifetime: using 0.8 of it");
                d2 = Some(v.mul_f64(0.8));
            }
            if d1.is_none_or(|d| d >= v) || d1 > d2 {
                d1 = d2.map(|d| d.mul_f64(0.625));
            }
        }
        self.t1_at = d1.map(|d| now + d);
        self.t2_at = d2.map(|d| now + d);
    }

    /// Drops leases whose valid lifetime has ended; true if any went.
    pub(crate) fn expire(&mut self, now: Instant) -> bool {
        let before = self.leases.len();
        self.leases
            .retain(|l| l.valid_until.is_none_or(|t| t > now));
        if self.leases.is_empty() {
            self.t1_at = None;
            self.t2_at = None;
        }
        self.leases.len() != before
    }

    /// The earliest valid-lifetime end among the leases.
    pub(crate) fn next_expiry(&self) -> Option<Instant> {
        self.leases.iter().filter_map(|l| l.valid_until).min()
    }

    /// The latest valid-lifetime end; `None` if any lease is infinite or
    /// there are no leases.
    pub(crate) fn last_expiry(&self) -> Option<Option<Instant>> {
        if self.leases.is_empty() {
            return None;
        }
        let mut last = Some(Instant::ZERO);
        for l in &self.leases {
            last = match (last, l.valid_until) {
                (Some(a), Some(b)) => Some(a.max(b)),
                _ => None,
            };
        }
        Some(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pfx(s: &str) -> Prefix {
        s.parse().unwrap()
    }

    fn offer(t1: u32, t2: u32, leases: &[(&str, u32, u32)]) -> IaOffer {
        IaOffer {
            kind: IaKind::Pd,
            iaid: 1,
            t1,
            t2,
            status: IaStatus::Success,
            leases: leases
                .iter()
                .map(|(p, pl, vl)| LeaseOffer {
                    what: Leased::Prefix {
                        prefix: pfx(p),
                        exclude: None,
                    },
                    preferred: Lifetime::from_wire(*pl),
                    valid: Lifetime::from_wire(*vl),
                })
                .collect(),
        }
    }

    const T0: Instant = Instant::from_secs(1000);

    #[test]
    fn t1_t2_zero_derived_from_shortest_preferred() {
        // KAME X4 / RFC 8415 §21.21: 0.5 and 0.8 of the shortest preferred.
        let mut ia = IaBinding::new(IaKind::Pd, 1);
        ia.apply(
            &offer(
                0,
                0,
                &[
                    ("2001:db8:1::/56", 3600, 7200),
                    ("2001:db8:2::/56", 1800, 7200),
                ],
            ),
            T0,
        );
        assert_eq!(ia.t1_at, Some(T0 + Duration::from_secs(900)));
        assert_eq!(ia.t2_at, Some(T0 + Duration::from_secs(1440)));
    }

    #[test]
    fn given_t1_t2_kept_and_infinite_is_never() {
        let mut ia = IaBinding::new(IaKind::Pd, 1);
        ia.apply(&offer(100, 200, &[("2001:db8:1::/56", 3600, 7200)]), T0);
        assert_eq!(
            (ia.t1_at, ia.t2_at),
            (
                Some(T0 + Duration::from_secs(100)),
                Some(T0 + Duration::from_secs(200))
            )
        );
        let mut inf = IaBinding::new(IaKind::Pd, 1);
        inf.apply(
            &offer(
                u32::MAX,
                u32::MAX,
                &[("2001:db8:1::/56", u32::MAX, u32::MAX)],
            ),
            T0,
        );
        assert_eq!((inf.t1_at, inf.t2_at), (None, None));
        assert_eq!(inf.last_expiry(), Some(None));
    }

    #[test]
    fn t2_beyond_valid_is_pulled_in() {
        let mut ia = IaBinding::new(IaKind::Pd, 1);
        ia.apply(&offer(5000, 8000, &[("2001:db8:1::/56", 600, 1000)]), T0);
        assert_eq!(ia.t2_at, Some(T0 + Duration::from_secs(800)));
        assert_eq!(ia.t1_at, Some(T0 + Duration::from_secs(500)));
    }

    #[test]
    fn zero_valid_removes_and_unmentioned_stay() {
        let mut ia = IaBinding::new(IaKind::Pd, 1);
        ia.apply(
            &offer(
                0,
                0,
                &[("2001:db8:1::/56", 100, 200), ("2001:db8:2::/56", 100, 200)],
            ),
            T0,
        );
        let later = T0 + Duration::from_secs(50);
        ia.apply(
            &offer(
                0,
                0,
                &[("2001:db8:1::/56", 0, 0), ("2001:db8:3::/56", 300, 400)],
            ),
            later,
        );
        let kept: Vec<_> = ia.leases.iter().map(|l| l.what.clone()).collect();
        assert_eq!(
            kept,
            vec![
                Leased::Prefix {
                    prefix: pfx("2001:db8:2::/56"),
                    exclude: None
                },
                Leased::Prefix {
                    prefix: pfx("2001:db8:3::/56"),
                    exclude: None
                }
            ]
        );
        // The unmentioned one keeps its old lifetime.
        assert_eq!(
            ia.leases[0].valid_until,
            Some(T0 + Duration::from_secs(200))
        );
        assert_eq!(ia.next_expiry(), Some(T0 + Duration::from_secs(200)));
        assert_eq!(
            ia.last_expiry(),
            Some(Some(later + Duration::from_secs(400)))
        );
        assert!(!ia.expire(T0 + Duration::from_secs(199)));
        assert!(ia.expire(T0 + Duration::from_secs(200)));
        assert_eq!(ia.leases.len(), 1);
    }

    proptest::proptest! {
        /// X4/X9: whatever the server sends, T1 <= T2, and both fall before
        /// the shortest finite valid lifetime ends.
        #[test]
        fn timers_ordered_and_before_expiry(t1 in proptest::prelude::any::<u32>(), t2 in proptest::prelude::any::<u32>(),
                                            pl in 0u32..100_000, extra in 1u32..100_000) {
            let vl = pl.saturating_add(extra);
            let mut ia = IaBinding::new(IaKind::Pd, 1);
            ia.apply(&offer(t1, t2, &[("2001:db8:1::/56", pl, vl)]), T0);
            let end = T0 + Duration::from_secs(u64::from(vl));
            let t2_at = ia.t2_at.expect("finite valid lifetime gives a T2");
            proptest::prop_assert!(t2_at < end);
            if let Some(t1_at) = ia.t1_at {
                proptest::prop_assert!(t1_at <= t2_at);
            }
        }
    }
}
