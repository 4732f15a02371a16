//! The snooped delegations (RFC 8987 §4, RFC 9818 LPD-5): one record per
//! delegated prefix, the route each one gets, and the Releases and
//! Declines waiting for their Reply.
//!
//! Panic contract: nothing here panics; instant arithmetic saturates and
//! the pending table is bounded.

use super::{RelayCounters, SnoopChange, Snooped};
use std::collections::BTreeMap;
use std::net::Ipv6Addr;
use std::time::Duration;
use tracing::info;
use v6edge_core::{IfIndex, Instant, KernelOp, Owner, RouteSpec, RouteTable, RouteType};
use v6edge_prefix::Prefix;
use v6edge_wire::Lifetime;
use v6edge_wire::dhcp6::{Duid, Xid};

/// The metric of every route v6edge installs to a delegated prefix (the
/// server uses the same, so the two never fight over a prefix).
const ROUTE_METRIC: u32 = 1024;

/// An infinite valid lifetime ends at the end of time.
pub(crate) const END_OF_TIME: Instant = Instant::from_micros(u64::MAX);

/// How long a Release or Decline waits for its Reply. RFC 8415 §18.2.7
/// retransmits a Release REL_MAX_RC = 4 times from REL_TIMEOUT = 1 s,
/// doubling: about 15 s; a slow server gets four times that.
const PENDING_HOLD: Duration = Duration::from_secs(60);

/// Bound on Releases and Declines waiting at once, so a flood of them
/// cannot grow the table without limit. The oldest deadline goes first.
const PENDING_MAX: usize = 1024;

/// Kernel and snoop changes queued by one input, in order.
#[derive(Debug, Default)]
pub(crate) struct Effects {
    pub kernel: Vec<KernelOp>,
    pub snoop: Vec<SnoopChange>,
}

#[derive(Debug)]
struct Pending {
    prefixes: Vec<Prefix>,
    until: Instant,
}

/// The valid lifetime as an instant from `now`.
pub(crate) fn valid_until(now: Instant, valid: Lifetime) -> Instant {
    match valid.as_duration() {
        Some(d) => now + d,
        None => END_OF_TIME,
    }
}

/// The route for a record: `prefix via next_hop dev ifindex proto 119`
/// ([`Owner::Relay`]).
pub(crate) fn route_of(s: &Snooped, now: Instant) -> RouteSpec {
    RouteSpec {
        owner: Owner::Relay,
        table: RouteTable::MAIN,
        dst: s.prefix,
        kind: RouteType::Unicast,
        gateway: Some(s.next_hop),
        ifindex: Some(s.ifindex),
        metric: ROUTE_METRIC,
        // The kernel's expiry is a safety net should the daemon die.
        expires: (s.valid_until != END_OF_TIME)
            .then(|| s.valid_until.saturating_duration_since(now)),
    }
}

/// RFC 8987 §6 asks the relay to be careful about the routes it lets a
/// server install: never a default route, nor link-local or multicast
/// space.
pub(crate) fn routable(p: &Prefix) -> bool {
    let a = p.addr();
    p.len() > 0 && !a.is_multicast() && !a.is_unicast_link_local() && !a.is_loopback()
}

#[derive(Debug, Default)]
pub(crate) struct SnoopTable {
    entries: BTreeMap<Prefix, Snooped>,
    pending: BTreeMap<(Duid, Xid), Pending>,
}

impl SnoopTable {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Snooped> {
        self.entries.values()
    }

    pub fn get(&self, p: &Prefix) -> Option<&Snooped> {
        self.entries.get(p)
    }

    /// The earliest finite valid lifetime end.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.entries
            .values()
            .map(|s| s.valid_until)
            .filter(|&t| t != END_OF_TIME)
            .min()
    }

    /// Adopts a stored record at restart; `false` (and nothing kept) if it
    /// has expired or is not a routable prefix.
    pub fn adopt(&mut self, s: Snooped, now: Instant) -> bool {
        if s.valid_until <= now || !routable(&s.prefix) {
            return false;
        }
        self.entries.insert(s.prefix, s);
        true
    }

    /// Records a delegation seen in a Reply: a new route, or the route
    /// updated (new lifetime, or the prefix moved to another client: the
    /// kernel's replace semantics swap the gateway in one step).
    pub fn upsert(
        &mut self,
        s: Snooped,
        now: Instant,
        routes: bool,
        counters: &mut RelayCounters,
        fx: &mut Effects,
    ) {
        let old = self.entries.get(&s.prefix);
        if old == Some(&s) {
            return;
        }
        match old {
            None => {
                counters.routes_added += 1;
                info!(prefix = %s.prefix, next_hop = %s.next_hop, ifindex = s.ifindex, iaid = s.iaid, "relay: delegation snooped");
            }
            Some(o) => {
                counters.routes_updated += 1;
                if o.client_duid != s.client_duid || o.next_hop != s.next_hop {
                    info!(prefix = %s.prefix, from = %o.next_hop, to = %s.next_hop, "relay: delegated prefix moved to another client");
                }
            }
        }
        if routes {
            fx.kernel.push(KernelOp::SetRoute(route_of(&s, now)));
        }
        fx.snoop.push(SnoopChange::Upsert(s.clone()));
        self.entries.insert(s.prefix, s);
    }

    /// Forgets `p` and removes its route; when `owner` is given, only if
    /// that client holds it (a late Release from a former holder must not
    /// cut the new holder off).
    pub fn remove(
        &mut self,
        p: &Prefix,
        owner: Option<&Duid>,
        now: Instant,
        routes: bool,
        counters: &mut RelayCounters,
        fx: &mut Effects,
    ) {
        let Some(s) = self.entries.get(p) else {
            return;
        };
        if owner.is_some_and(|d| *d != s.client_duid) {
            return;
        }
        let Some(s) = self.entries.remove(p) else {
            return;
        };
        counters.routes_removed += 1;
        info!(prefix = %s.prefix, next_hop = %s.next_hop, "relay: delegation ended");
        if routes {
            fx.kernel.push(KernelOp::DelRoute(route_of(&s, now)));
        }
        fx.snoop.push(SnoopChange::Remove(s.prefix));
    }

    /// Ends every delegation whose valid lifetime is over, and forgets
    /// Releases whose Reply never came.
    pub fn expire(
        &mut self,
        now: Instant,
        routes: bool,
        counters: &mut RelayCounters,
        fx: &mut Effects,
    ) {
        let due: Vec<Prefix> = self
            .entries
            .values()
            .filter(|s| s.valid_until <= now)
            .map(|s| s.prefix)
            .collect();
        for p in due {
            self.remove(&p, None, now, routes, counters, fx);
        }
        self.pending.retain(|_, p| p.until > now);
    }

    /// A client's Release or Decline on its way up: its prefixes end when
    /// the matching Reply comes back.
    pub fn note_release(&mut self, duid: Duid, xid: Xid, prefixes: Vec<Prefix>, now: Instant) {
        if prefixes.is_empty() {
            return;
        }
        self.pending.retain(|_, p| p.until > now);
        if self.pending.len() >= PENDING_MAX {
            let oldest = self
                .pending
                .iter()
                .min_by_key(|(_, p)| p.until)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                self.pending.remove(&k);
            }
        }
        self.pending.insert(
            (duid, xid),
            Pending {
                prefixes,
                until: now + PENDING_HOLD,
            },
        );
    }

    /// The prefixes of the Release or Decline this Reply answers.
    pub fn take_release(&mut self, duid: &Duid, xid: Xid) -> Option<Vec<Prefix>> {
        self.pending
            .remove(&(duid.clone(), xid))
            .map(|p| p.prefixes)
    }
}

/// A record from a Reply's IAPREFIX.
pub(crate) fn record(
    prefix: Prefix,
    next_hop: Ipv6Addr,
    ifindex: IfIndex,
    client_duid: &Duid,
    iaid: u32,
    valid_until: Instant,
) -> Snooped {
    Snooped {
        prefix,
        next_hop,
        ifindex,
        client_duid: client_duid.clone(),
        iaid,
        valid_until,
    }
}
