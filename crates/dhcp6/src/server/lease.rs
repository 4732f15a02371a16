//! The lease record as the server machine sees it, and the changes it asks
//! the lease store to make durable (the delegating-server contract, issue 3).
//!
//! One lease per address or prefix: the [`Prefix`] is the unique key
//! (addresses are /128). Times are machine time ([`Instant`]); the daemon
//! turns them into wall-clock seconds for the store.

use super::reconf::ReconfigureContext;
use std::net::Ipv6Addr;
use std::sync::Arc;
use v6edge_core::{IfIndex, Instant};
use v6edge_prefix::Prefix;
use v6edge_wire::dhcp6::Duid;

/// What a lease holds. The numbers are Kea's `lease_type` (0 address,
/// 2 prefix), which the store keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LeaseKind {
    /// An IA_NA address (RFC 8415 §21.4), kept as a /128.
    Address,
    /// An IA_PD delegated prefix (RFC 8415 §21.21).
    Prefix,
}

impl LeaseKind {
    /// Kea's `lease_type` number.
    pub fn as_u8(self) -> u8 {
        match self {
            LeaseKind::Address => 0,
            LeaseKind::Prefix => 2,
        }
    }

    pub fn from_u8(v: u8) -> Option<LeaseKind> {
        match v {
            0 => Some(LeaseKind::Address),
            2 => Some(LeaseKind::Prefix),
            _ => None,
        }
    }
}

/// The link a client was served on: the pool-selection key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LinkId {
    /// A client on a directly attached link, by ingress interface.
    Interface(IfIndex),
    /// A relayed client, by the link-address of the relay closest to it
    /// (RFC 8415 §19.1.1); `::` when that relay gave none and the link was
    /// chosen by its Interface-ID.
    Relay { link_address: Ipv6Addr },
}

/// One address or delegated prefix bound to a client's IA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub duid: Duid,
    pub iaid: u32,
    pub kind: LeaseKind,
    /// The delegated prefix, or the address as a /128.
    pub prefix: Prefix,
    pub preferred_until: Instant,
    /// The server never hands out infinite lifetimes (capped at
    /// `u32::MAX - 1` seconds), so this is always a real instant.
    pub valid_until: Instant,
    pub link: LinkId,
    /// Where the route to a delegated prefix points: the client's
    /// link-local address, or the relay the request came from. `None` for
    /// addresses (they are on-link, no route).
    pub next_hop: Option<Ipv6Addr>,
    /// Interface the route goes out of (the ingress of the request).
    pub ifindex: IfIndex,
    /// The client's link-layer address as its relay reported it (RFC
    /// 6939). `None` for direct clients: a DUID-LL/LLT already holds theirs.
    pub hw_addr: Option<Vec<u8>>,
    /// How to reach the client with an authenticated Reconfigure (RFC 8415
    /// §18.3.11, §20.4): set on every lease of a client that sent
    /// Reconfigure Accept and was given a key, shared between them. The
    /// store keeps it as [`ReconfigureContext::encode`]'s blob.
    pub reconfigure: Option<Arc<ReconfigureContext>>,
}

impl Lease {
    /// Granted by another server sharing our lease store, recorded so the
    /// pools skip it (`Server::foreign_lease`): no route here (`next_hop`
    /// `None`) and no interface (index 0 names none).
    pub(crate) fn is_foreign(&self) -> bool {
        self.ifindex == 0 && self.next_hop.is_none()
    }
}

/// A change the store must make durable before any Transmit or KernelOp
/// queued after it is carried out (style guide §3, ordering rule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseOp {
    /// Insert or replace the lease keyed by its prefix.
    Upsert(Lease),
    /// Delete the lease with this key.
    Remove { kind: LeaseKind, prefix: Prefix },
}
