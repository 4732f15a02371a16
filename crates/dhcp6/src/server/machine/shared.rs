//! Leases shared with other servers through a common lease store
//! (PostgreSQL): how the machine learns of leases it did not grant.
//!
//! Several servers serving one network each allocate from their own pools,
//! so two of them can grant the same free prefix to two clients at once.
//! The shared store is the arbiter: it refuses the second grant and names
//! the holder, and the daemon calls [`Server::foreign_lease`] with it. The
//! machine then drops its own binding (the Reply that would have announced
//! it is withheld by the daemon, so the client never learnt of it and
//! retransmits; RFC 8415 §15: a client retransmits until it gets a Reply)
//! and keeps the other server's lease as taken, so its pool skips it.
//! The daemon also reports leases the other server granted or ended, as it
//! sees them in the store ([`Server::foreign_lease`],
//! [`Server::foreign_lease_gone`]).
//!
//! A foreign lease is recorded as a lease with no route here: `next_hop`
//! `None` and `ifindex` 0 (no interface has index 0), and no Reconfigure
//! context (the key belongs to the server that granted it). That is how
//! [`Server::foreign_lease_gone`] tells it from one of ours. A client that
//! Rebinds to this server with it (RFC 8415 §18.3.5: no Server Identifier,
//! any server may answer) gets it extended like any binding; from then on
//! it has a route here and counts as ours. When a foreign lease's valid
//! lifetime ends the machine ends it as usual (a `LeaseOp::Remove`, which
//! the shared store carries out only if the other server did not extend the
//! lease meanwhile; no route to delete, and no lease event: the hook of the
//! server that granted it reports it).
//!
//! Panic contract: nothing here panics.

use super::Server;
use crate::server::alloc::Freed;
use crate::server::lease::{Lease, LeaseKind};
use crate::server::policy::{Batch, route_of};
use tracing::{debug, info, warn};
use v6edge_core::{Instant, KernelOp};
use v6edge_prefix::Prefix;

impl Server {
    /// Another server holds `lease` (the shared store said so: our grant of
    /// the same key lost the race, or the store reported a change).
    ///
    /// - Held by this machine for ANOTHER client: our binding lost. It is
    ///   dropped WITHOUT a `LeaseOp::Remove` (the store holds the winner,
    ///   which a Remove would delete) and its route is deleted
    ///   (`KernelOp::DelRoute`); the foreign lease is then kept as taken.
    /// - Held for the SAME client (it renewed or rebound through the other
    ///   server): ours is kept, with the later lifetimes, so our expiry
    ///   does not end it early (and its route gets the new expiry).
    /// - Not held: the foreign lease is kept as taken, so the pools skip it.
    ///
    /// A lease already over at `now`, or overlapping another binding of
    /// ours under a different key (servers with different pool layouts:
    /// not supported), is ignored. Returns true when a binding of ours was
    /// dropped (a lost race).
    pub fn foreign_lease(&mut self, now: Instant, lease: Lease) -> bool {
        if lease.valid_until <= now {
            debug!(prefix = %lease.prefix, "foreign lease already expired: ignored");
            return false;
        }
        let p = lease.prefix;
        let foreign = Lease {
            next_hop: None,
            ifindex: 0,
            reconfigure: None,
            ..lease
        };
        let mut batch = Batch::default();
        let mut lost = false;
        let current = self.bindings.get(&p).map(|e| e.lease.clone());
        match current {
            Some(mine)
                if mine.duid == foreign.duid
                    && mine.iaid == foreign.iaid
                    && mine.kind == foreign.kind =>
            {
                if foreign.valid_until > mine.valid_until {
                    let updated = self.bindings.update(&p, |l| {
                        l.valid_until = foreign.valid_until;
                        l.preferred_until = l.preferred_until.max(foreign.preferred_until);
                    });
                    if let Some(r) = updated.as_ref().and_then(|l| route_of(l, now)) {
                        batch.kernel.push(KernelOp::SetRoute(r));
                    }
                    debug!(prefix = %p, "lease extended by another server");
                }
                self.flush(batch);
                return false;
            }
            Some(mine) => {
                // Freed::Release: the pool index goes back and `adopt`
                // below takes it again for the holder.
                self.bindings.remove(&p, Freed::Release);
                if let Some(mut r) = route_of(&mine, mine.valid_until) {
                    r.expires = None;
                    batch.kernel.push(KernelOp::DelRoute(r));
                }
                lost = !mine.is_foreign();
                if lost {
                    info!(
                        prefix = %p, ours = %mine.duid, holder = %foreign.duid,
                        "another server granted this lease first: ours is withdrawn"
                    );
                }
            }
            None => {}
        }
        if !self.bindings.adopt(foreign) {
            warn!(prefix = %p, "foreign lease overlaps a binding of ours under another key: ignored");
        }
        self.flush(batch);
        lost
    }

    /// The other server no longer holds `prefix` (released, or expired and
    /// swept from the shared store). If this machine keeps it as a foreign
    /// lease, it becomes free. Bindings of our own are left alone. Returns
    /// true when a foreign lease was freed.
    pub fn foreign_lease_gone(&mut self, now: Instant, kind: LeaseKind, prefix: Prefix) -> bool {
        let foreign = self
            .bindings
            .get(&prefix)
            .is_some_and(|e| e.lease.kind == kind && e.lease.is_foreign());
        if !foreign {
            return false;
        }
        self.bindings.remove(&prefix, Freed::Release);
        debug!(%prefix, at = ?now, "foreign lease gone: free again");
        true
    }
}
