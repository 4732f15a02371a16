//! The client's states, each a struct owning exactly the data valid in it
//! (rustls's `ExpectX`, smoltcp's DHCP client). Bindings live beside the
//! state in the machine: they survive link flaps and exchanges.
//!
//! Panic contract: plain data, nothing here panics.

use super::ClientStateKind;
use super::ia::{IaKind, IaOffer, Leased};
use super::retrans::Retransmission;
use v6edge_core::Instant;
use v6edge_wire::dhcp6::Duid;

/// One client-initiated exchange: its transaction id and retransmissions.
/// RFC 8415 §16.1: a fresh xid per exchange, kept across retransmissions.
#[derive(Debug, Clone)]
pub(crate) struct Exchange {
    pub xid: u32,
    pub retrans: Retransmission,
}

/// An Advertise worth keeping while collecting (RFC 8415 §18.2.9). Only
/// the best so far is kept, so a flood of Advertises costs no memory.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    pub server: Duid,
    pub preference: u8,
    pub offers: Vec<IaOffer>,
    /// How many of our IAs it offers something for (a tie-breaker: KAME X29
    /// looks only at preference).
    pub usable: usize,
    /// Arrival order: the last tie-breaker, first received wins.
    pub order: u32,
}

impl Candidate {
    /// RFC 8415 §18.2.9: the higher preference wins, then the Advertise
    /// serving more of our IAs (KAME X29 looks only at preference), then
    /// the first received: a later Advertise replaces the kept one only if
    /// strictly better.
    pub(crate) fn better_than(&self, other: &Candidate) -> bool {
        (self.preference, self.usable) > (other.preference, other.usable)
            || ((self.preference, self.usable) == (other.preference, other.usable)
                && self.order < other.order)
    }
}

/// What to put in one IA of an outgoing Request.
#[derive(Debug, Clone)]
pub(crate) struct IaRequest {
    pub kind: IaKind,
    pub iaid: u32,
    /// Hints, sent with lifetimes 0 (RFC 8415 §21.22).
    pub hints: Vec<Leased>,
}

#[derive(Debug, Clone)]
pub(crate) struct Soliciting {
    pub ex: Exchange,
    /// The best Advertise received so far.
    pub best: Option<Candidate>,
    pub next_order: u32,
}

#[derive(Debug, Clone)]
pub(crate) struct Requesting {
    pub ex: Exchange,
    pub server: Duid,
    pub ias: Vec<IaRequest>,
    /// RFC 8415 §18.2.10.1: re-establishing IAs a Renew/Rebind found
    /// without binding; other IAs stay bound, so failure returns to Bound.
    pub reestablish: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Renewing {
    pub ex: Exchange,
    pub server: Duid,
}

#[derive(Debug, Clone)]
pub(crate) struct Rebinding {
    pub ex: Exchange,
}

#[derive(Debug, Clone)]
pub(crate) struct InformationRequesting {
    pub ex: Exchange,
    pub server: Duid,
}

#[derive(Debug, Clone)]
pub(crate) struct Releasing {
    pub ex: Exchange,
    pub server: Option<Duid>,
    /// What is being released (no longer used: RFC 8415 §18.2.7).
    pub ias: Vec<IaRequest>,
}

/// The bound state: the deadlines come from the IAs' T1/T2.
#[derive(Debug, Clone)]
pub(crate) struct Bound {
    pub renew_at: Option<Instant>,
    pub rebind_at: Option<Instant>,
}

#[derive(Debug, Clone)]
pub(crate) enum State {
    WaitingLink,
    Soliciting(Soliciting),
    Requesting(Requesting),
    Bound(Bound),
    Renewing(Renewing),
    Rebinding(Rebinding),
    InformationRequesting(InformationRequesting),
    Releasing(Releasing),
    Released,
}

impl State {
    pub(crate) fn kind(&self) -> ClientStateKind {
        match self {
            State::WaitingLink => ClientStateKind::WaitingLink,
            State::Soliciting(_) => ClientStateKind::Soliciting,
            State::Requesting(_) => ClientStateKind::Requesting,
            State::Bound(_) => ClientStateKind::Bound,
            State::Renewing(_) => ClientStateKind::Renewing,
            State::Rebinding(_) => ClientStateKind::Rebinding,
            State::InformationRequesting(_) => ClientStateKind::InformationRequesting,
            State::Releasing(_) => ClientStateKind::Releasing,
            State::Released => ClientStateKind::Released,
        }
    }

    pub(crate) fn exchange(&self) -> Option<&Exchange> {
        match self {
            State::Soliciting(s) => Some(&s.ex),
            State::Requesting(s) => Some(&s.ex),
            State::Renewing(s) => Some(&s.ex),
            State::Rebinding(s) => Some(&s.ex),
            State::InformationRequesting(s) => Some(&s.ex),
            State::Releasing(s) => Some(&s.ex),
            State::WaitingLink | State::Bound(_) | State::Released => None,
        }
    }

    /// The state's own deadline (binding expiry is separate).
    pub(crate) fn deadline(&self) -> Option<Instant> {
        match self {
            State::Bound(b) => match (b.renew_at, b.rebind_at) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
            other => other.exchange().map(|e| e.retrans.next_at()),
        }
    }
}
