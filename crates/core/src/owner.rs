//! Who owns a kernel object, and how a restarted daemon tells its roles'
//! objects apart from each other's and from everybody else's.
//!
//! Every route, address, proxy neighbour entry and policy rule v6edge
//! installs is stamped with the route protocol number of the role that
//! asked for it (rtm_protocol, IFA_PROTO, NDA_PROTOCOL, FRA_PROTOCOL: the
//! kernel keeps one byte per object and never interprets values above
//! RTPROT_STATIC). At start each configured role removes the objects with
//! *its* number that its state no longer wants ([`Reconcile`]); objects
//! with another number, another role's or another program's, are never
//! touched. This is the model of BIRD and FRR, which each stamp their own
//! protocol (12, 186–198) and flush only that.
//!
//! # Protocol numbers
//!
//! v6edge uses the block 118–127, unused in iproute2's `rt_protos` (which
//! names 0–4, 8–18, 42, 99, 186–192) and by FRR (11, 186–198), BIRD (12),
//! Babel (42), keepalived (18):
//!
//! | number | `ip … proto` | owner | why this value |
//! |---|---|---|---|
//! | 118 | `118` | [`Owner::DelegatingServer`] | the number every v6edge route had until roles got their own: deployed servers' routes toward delegated prefixes keep being recognised as the server's |
//! | 119 | `119` | [`Owner::Relay`] | routes toward relayed delegations (RFC 8987 §4) |
//! | 120 | `120` | [`Owner::RequestingRouter`] | the unreachable route for the delegated aggregate (RFC 7084 WPD-5) and the LAN router addresses |
//! | 121 | `121` | [`Owner::HomeAgent`] | Mobile IPv6 home agent (RFC 6275): routes and proxy ND entries for home addresses |
//! | 122 | `122` | [`Owner::MobileNode`] | Mobile IPv6 mobile node (RFC 6275): policy routing for the home address |
//! | 123 | `123` | [`Owner::MobileRouter`] | NEMO mobile router (RFC 3963): the mobile network prefixes' routes |
//! | 124 | `124` | [`Owner::Ripng`] | routes learnt by RIPng (RFC 2080) |
//! | 125 | `125` | [`Owner::Static`] | configured static prefixes (a plain RA daemon's `[[ra]]`) |
//! | 126–127 | | | reserved for roles to come (MLD, …) |
//!
//! # Migration from the single number
//!
//! Until this split every v6edge route had protocol 118, the relay's and
//! the requesting router's included. 118 stays the server's. A legacy
//! route of that number is adopted by the role that installs its kind:
//!
//! - unreachable routes (the server never installs one) by the requesting
//!   router: kept at start when it wants them, then replaced by its own
//!   installation with 120 (the kernel replaces a route with the same
//!   destination and metric whatever its protocol); removed when it does
//!   not want them;
//! - unicast routes stay the server's; a relay's legacy route is kept
//!   when the relay wants it (and becomes 119 when the relay re-installs
//!   it) but a relay never removes a 118 route: it could be a server's.
//!   A legacy relay route nobody wants goes by its kernel expiry
//!   (RTA_EXPIRES, set on every relay route).
//!
//! Nothing ever removes a route of another role's number.

use crate::action::{RouteTable, RouteType};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::IpAddr;

/// The role a kernel object belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Owner {
    /// The delegating server's routes toward the prefixes it delegated
    /// (RFC 8415 §6.3, RFC 9818 LPD-5).
    DelegatingServer,
    /// The relay agent's routes toward relayed delegations (RFC 8987 §4).
    Relay,
    /// The requesting router: LAN router addresses and the unreachable
    /// aggregate route (RFC 7084 WPD-5).
    RequestingRouter,
    /// Mobile IPv6 home agent (RFC 6275 §10).
    HomeAgent,
    /// Mobile IPv6 mobile node (RFC 6275 §11).
    MobileNode,
    /// NEMO mobile router (RFC 3963).
    MobileRouter,
    /// RIPng router (RFC 2080).
    Ripng,
    /// Configured static prefixes and routes.
    Static,
}

/// The protocol number v6edge routes had before roles got their own, and
/// still the delegating server's (see the module documentation).
pub const LEGACY_PROTOCOL: u8 = 118;

impl Owner {
    /// Every owner, in protocol-number order.
    pub const ALL: [Owner; 8] = [
        Owner::DelegatingServer,
        Owner::Relay,
        Owner::RequestingRouter,
        Owner::HomeAgent,
        Owner::MobileNode,
        Owner::MobileRouter,
        Owner::Ripng,
        Owner::Static,
    ];

    /// The number stamped on this owner's kernel objects (the table in the
    /// module documentation gives the reasons).
    pub const fn protocol(self) -> u8 {
        match self {
            Owner::DelegatingServer => LEGACY_PROTOCOL,
            Owner::Relay => 119,
            Owner::RequestingRouter => 120,
            Owner::HomeAgent => 121,
            Owner::MobileNode => 122,
            Owner::MobileRouter => 123,
            Owner::Ripng => 124,
            Owner::Static => 125,
        }
    }

    /// The owner stamping `protocol`, `None` for anybody else's number.
    pub fn from_protocol(protocol: u8) -> Option<Owner> {
        Owner::ALL.into_iter().find(|o| o.protocol() == protocol)
    }

    /// A short name for logs and status.
    pub const fn name(self) -> &'static str {
        match self {
            Owner::DelegatingServer => "server",
            Owner::Relay => "relay",
            Owner::RequestingRouter => "requesting-router",
            Owner::HomeAgent => "home-agent",
            Owner::MobileNode => "mobile-node",
            Owner::MobileRouter => "mobile-router",
            Owner::Ripng => "ripng",
            Owner::Static => "static",
        }
    }

    /// Legacy (protocol 118) routes of `kind` that this owner removes
    /// when it does not want them.
    const fn removes_legacy(self, kind: RouteType) -> bool {
        matches!(
            (self, kind),
            (Owner::DelegatingServer, RouteType::Unicast)
                | (Owner::RequestingRouter, RouteType::Unreachable)
        )
    }

    /// Legacy routes of `kind` this owner keeps when it wants them (and
    /// takes over by installing them), without removing any.
    const fn keeps_legacy(self, kind: RouteType) -> bool {
        self.removes_legacy(kind) || matches!((self, kind), (Owner::Relay, RouteType::Unicast))
    }
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What identifies a route for reconciliation: table, destination (IPv6
/// or IPv4) and what it does. Gateway, interface, metric and lifetime are
/// refreshed by the owner's own installation, so they do not matter here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RouteKey {
    pub table: RouteTable,
    pub dst: IpAddr,
    pub dst_len: u8,
    pub kind: RouteType,
}

/// Per-owner reconciliation of the kernel's routes at start: the roles
/// that run say what they want, and [`Reconcile::is_stale`] tells, for
/// each route the kernel has, whether it must go.
///
/// A route is stale when its protocol is the number of a configured owner
/// that does not want it. For the legacy number 118: a unicast route is
/// the server's, an unreachable one the requesting router's, and either is
/// kept when any configured owner that adopts its kind (the relay too, for
/// unicast) wants it. Routes of owners that are not configured, and of
/// numbers that are not ours, are never stale.
#[derive(Debug, Clone, Default)]
pub struct Reconcile {
    wanted: BTreeMap<Owner, BTreeSet<RouteKey>>,
}

impl Reconcile {
    pub fn new() -> Reconcile {
        Reconcile::default()
    }

    /// `owner` runs and wants exactly `routes` (more calls add to it).
    pub fn role(&mut self, owner: Owner, routes: impl IntoIterator<Item = RouteKey>) -> &mut Self {
        self.wanted.entry(owner).or_default().extend(routes);
        self
    }

    /// The configured owners.
    pub fn owners(&self) -> impl Iterator<Item = Owner> + '_ {
        self.wanted.keys().copied()
    }

    /// The configured owners that remove a route with `protocol` and
    /// `kind` nobody wants: the owner of that number (for the legacy
    /// number, the owner that installs that kind).
    pub fn answerable(&self, protocol: u8, kind: RouteType) -> Vec<Owner> {
        self.owners()
            .filter(|o| {
                if protocol == LEGACY_PROTOCOL {
                    o.removes_legacy(kind)
                } else {
                    o.protocol() == protocol
                }
            })
            .collect()
    }

    /// Whether the kernel's route `key` with `protocol` must be removed.
    pub fn is_stale(&self, protocol: u8, key: &RouteKey) -> bool {
        let wants = |o: &Owner| self.wanted.get(o).is_some_and(|w| w.contains(key));
        let answerable = self.answerable(protocol, key.kind);
        let adopted = protocol == LEGACY_PROTOCOL
            && self.owners().any(|o| o.keeps_legacy(key.kind) && wants(&o));
        !answerable.is_empty() && !adopted && !answerable.iter().any(wants)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(dst: &str, len: u8, kind: RouteType) -> RouteKey {
        RouteKey {
            table: RouteTable::MAIN,
            dst: dst.parse().expect("literal"),
            dst_len: len,
            kind,
        }
    }

    #[test]
    fn numbers_are_distinct_in_our_block_and_round_trip() {
        let numbers: BTreeSet<u8> = Owner::ALL.iter().map(|o| o.protocol()).collect();
        assert_eq!(numbers.len(), Owner::ALL.len());
        assert!(numbers.iter().all(|n| (118..=127).contains(n)));
        for o in Owner::ALL {
            assert_eq!(Owner::from_protocol(o.protocol()), Some(o));
        }
        // iproute2's names: kernel, static, ra, bird, bgp.
        for foreign in [2, 4, 9, 12, 186] {
            assert_eq!(Owner::from_protocol(foreign), None);
        }
        assert_eq!(Owner::DelegatingServer.protocol(), LEGACY_PROTOCOL);
    }

    #[test]
    fn an_owner_removes_only_its_own_unwanted_routes() {
        let leased = key("2001:db8:100::", 56, RouteType::Unicast);
        let stale = key("2001:db8:200::", 56, RouteType::Unicast);
        let mut r = Reconcile::new();
        r.role(Owner::DelegatingServer, [leased]);
        let server = Owner::DelegatingServer.protocol();
        assert!(!r.is_stale(server, &leased));
        assert!(r.is_stale(server, &stale));
        // Another role's number, configured or not, and foreign numbers.
        assert!(!r.is_stale(Owner::HomeAgent.protocol(), &stale));
        assert!(!r.is_stale(Owner::Relay.protocol(), &stale));
        assert!(!r.is_stale(4, &stale));
        // Another table is another route.
        let other_table = RouteKey {
            table: RouteTable(100),
            ..leased
        };
        assert!(r.is_stale(server, &other_table));

        r.role(Owner::Ripng, []);
        assert!(r.is_stale(Owner::Ripng.protocol(), &stale));
        assert!(!r.is_stale(Owner::Relay.protocol(), &stale));
    }

    #[test]
    fn legacy_routes_are_adopted_by_kind() {
        let unreach = key("2001:db8:1200::", 56, RouteType::Unreachable);
        let unicast = key("2001:db8:1200:10::", 60, RouteType::Unicast);
        // A server alone never installs unreachable routes: a legacy one
        // is none of its business.
        let mut server_only = Reconcile::new();
        server_only.role(Owner::DelegatingServer, []);
        assert!(!server_only.is_stale(LEGACY_PROTOCOL, &unreach));
        assert!(server_only.is_stale(LEGACY_PROTOCOL, &unicast));

        // The requesting router adopts legacy unreachable routes.
        let mut cpe = Reconcile::new();
        cpe.role(Owner::RequestingRouter, [unreach]);
        assert!(!cpe.is_stale(LEGACY_PROTOCOL, &unreach));
        let other = key("2001:db8:1300::", 56, RouteType::Unreachable);
        assert!(cpe.is_stale(LEGACY_PROTOCOL, &other));
        assert!(!cpe.is_stale(LEGACY_PROTOCOL, &unicast));

        // A relay keeps the legacy unicast routes it wants but removes
        // none: a 118 route may be a server's.
        let mut relay = Reconcile::new();
        relay.role(Owner::Relay, [unicast]);
        assert!(!relay.is_stale(LEGACY_PROTOCOL, &unicast));
        assert!(!relay.is_stale(
            LEGACY_PROTOCOL,
            &key("2001:db8:1400::", 56, RouteType::Unicast)
        ));
        // With a server beside it, a route either wants is kept.
        let mut both = Reconcile::new();
        both.role(Owner::DelegatingServer, []);
        both.role(Owner::Relay, [unicast]);
        assert!(!both.is_stale(LEGACY_PROTOCOL, &unicast));
        assert!(both.is_stale(
            LEGACY_PROTOCOL,
            &key("2001:db8:1400::", 56, RouteType::Unicast)
        ));
        // The relay's own number is only the relay's.
        assert!(both.is_stale(
            Owner::Relay.protocol(),
            &key("2001:db8:1400::", 56, RouteType::Unicast)
        ));
    }
}
