//! IPv6 routes: RTM_NEWROUTE / RTM_DELROUTE / RTM_GETROUTE.
//!
//! Every route v6edge installs carries its owner's protocol number
//! ([`Owner::protocol`]), so a restarted daemon finds each role's routes
//! with [`Netlink::routes_of`] and reconciles them per owner
//! ([`Netlink::reconcile_routes`]), never touching another's. Unreachable routes cover a delegated prefix that is not
//! assigned to a link (RFC 7084 WPD-5); unicast routes via the requesting
//! router's link-local address serve prefixes we delegated (RFC 8415 §6.3).

use super::{Netlink, is_missing};
use crate::SysError;
use netlink_packet_core::{NLM_F_CREATE, NLM_F_REPLACE};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteFlags, RouteHeader, RouteMessage, RouteProtocol, RouteScope,
    RouteType as NlRouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use std::net::Ipv6Addr;
use std::time::Duration;
use v6edge_core::{IfIndex, Owner, Reconcile, RouteKey, RouteSpec, RouteTable, RouteType};
use v6edge_prefix::Prefix;

/// The kernel's clock_t unit for RTA_CACHEINFO expiry (USER_HZ, fixed at
/// 100 in the Linux userspace ABI).
const USER_HZ: u64 = 100;

/// RT_TABLE_LOCAL: the kernel's own local and broadcast routes.
const RT_TABLE_LOCAL: u32 = 255;

/// What a route does with matching packets (rtm_type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RouteKind {
    Unicast,
    Unreachable,
    Blackhole,
    Prohibit,
    Local,
    Anycast,
    Multicast,
    Throw,
    Other(u8),
}

impl RouteKind {
    fn from_nl(t: NlRouteType) -> RouteKind {
        match t {
            NlRouteType::Unicast => RouteKind::Unicast,
            NlRouteType::Unreachable => RouteKind::Unreachable,
            NlRouteType::BlackHole => RouteKind::Blackhole,
            NlRouteType::Prohibit => RouteKind::Prohibit,
            NlRouteType::Local => RouteKind::Local,
            NlRouteType::Anycast => RouteKind::Anycast,
            NlRouteType::Multicast => RouteKind::Multicast,
            NlRouteType::Throw => RouteKind::Throw,
            other => RouteKind::Other(u8::from(other)),
        }
    }

    /// The machine-level kind, for the two kinds machines ask for.
    pub fn as_core(self) -> Option<RouteType> {
        match self {
            RouteKind::Unicast => Some(RouteType::Unicast),
            RouteKind::Unreachable => Some(RouteType::Unreachable),
            _ => None,
        }
    }
}

/// One IPv6 route as the kernel has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteInfo {
    pub dst: Prefix,
    pub kind: RouteKind,
    /// The first next hop's gateway (multipath routes report their first
    /// next hop here).
    pub gateway: Option<Ipv6Addr>,
    pub oif: Option<IfIndex>,
    /// rtm_protocol: [`Owner::protocol`] for ours, 9 (`ra`) for routes the
    /// kernel learnt from Router Advertisements, 2 (`kernel`) for connected
    /// prefixes.
    pub protocol: u8,
    /// RTA_PRIORITY (1024 when the route was added without one).
    pub metric: u32,
    pub table: u32,
    /// Time left before the kernel removes the route, if it expires.
    pub expires: Option<Duration>,
}

impl RouteInfo {
    /// The route as a machine would have asked for it; `None` for kinds
    /// machines never request and for protocols no [`Owner`] stamps.
    pub fn to_spec(&self) -> Option<RouteSpec> {
        let kind = self.kind.as_core()?;
        let owner = Owner::from_protocol(self.protocol)?;
        let unicast = kind == RouteType::Unicast;
        Some(RouteSpec {
            owner,
            table: RouteTable(self.table),
            dst: self.dst,
            kind,
            gateway: if unicast { self.gateway } else { None },
            ifindex: if unicast { self.oif } else { None },
            metric: self.metric,
            expires: self.expires,
        })
    }

    /// Reads an RTM_NEWROUTE/RTM_DELROUTE; `None` for non-IPv6 messages,
    /// cloned (cache) entries and destinations with host bits set.
    /// What identifies this route for [`Reconcile`]; `None` for kinds no
    /// owner installs.
    pub fn key(&self) -> Option<RouteKey> {
        Some(RouteKey {
            table: RouteTable(self.table),
            dst: self.dst.addr().into(),
            dst_len: self.dst.len(),
            kind: self.kind.as_core()?,
        })
    }

    pub(crate) fn from_message(msg: &RouteMessage) -> Option<RouteInfo> {
        let h = &msg.header;
        if h.address_family != AddressFamily::Inet6 || h.flags.contains(RouteFlags::Cloned) {
            return None;
        }
        let mut dst = Ipv6Addr::UNSPECIFIED;
        let mut gateway = None;
        let mut oif = None;
        let mut metric = 0;
        let mut table = u32::from(h.table);
        let mut expires = None;
        for attr in &msg.attributes {
            match attr {
                RouteAttribute::Destination(RouteAddress::Inet6(a)) => dst = *a,
                RouteAttribute::Gateway(RouteAddress::Inet6(a)) => gateway = Some(*a),
                RouteAttribute::Oif(i) => oif = Some(*i),
                RouteAttribute::Priority(p) => metric = *p,
                RouteAttribute::Table(t) => table = *t,
                RouteAttribute::CacheInfo(ci) if ci.expires != 0 => {
                    expires = Some(Duration::from_millis(
                        u64::from(ci.expires) * 1000 / USER_HZ,
                    ))
                }
                RouteAttribute::MultiPath(hops) => {
                    if let Some(first) = hops.first() {
                        oif = oif.or(Some(first.interface_index));
                        gateway = gateway.or_else(|| {
                            first.attributes.iter().find_map(|a| match a {
                                RouteAttribute::Gateway(RouteAddress::Inet6(g)) => Some(*g),
                                _ => None,
                            })
                        });
                    }
                }
                _ => {}
            }
        }
        let dst = match Prefix::new(dst, h.destination_prefix_length) {
            Ok(p) => p,
            Err(e) => {
                tracing::debug!(error = %e, "skipping kernel route with an invalid destination");
                return None;
            }
        };
        Some(RouteInfo {
            dst,
            kind: RouteKind::from_nl(h.kind),
            gateway,
            oif,
            protocol: u8::from(h.protocol),
            metric,
            table,
            expires,
        })
    }
}

/// The message identifying (and, for an add, describing) `spec`.
///
/// Unreachable routes carry neither gateway nor interface: the kernel
/// attaches IPv6 reject routes to the loopback device whatever oif says, and
/// a delete naming another oif would then match nothing.
fn route_message(spec: &RouteSpec) -> RouteMessage {
    let mut msg = RouteMessage::default();
    let h = &mut msg.header;
    h.address_family = AddressFamily::Inet6;
    h.destination_prefix_length = spec.dst.len();
    set_table(&mut msg, spec.table);
    let h = &mut msg.header;
    h.protocol = RouteProtocol::from(spec.owner.protocol());
    h.scope = RouteScope::Universe;
    h.kind = match spec.kind {
        RouteType::Unicast => NlRouteType::Unicast,
        RouteType::Unreachable => NlRouteType::Unreachable,
    };
    if spec.dst.len() > 0 {
        msg.attributes
            .push(RouteAttribute::Destination(RouteAddress::Inet6(
                spec.dst.addr(),
            )));
    }
    if spec.kind == RouteType::Unicast {
        if let Some(gw) = spec.gateway {
            msg.attributes
                .push(RouteAttribute::Gateway(RouteAddress::Inet6(gw)));
        }
        if let Some(oif) = spec.ifindex {
            msg.attributes.push(RouteAttribute::Oif(oif));
        }
    }
    // Zero means "kernel default" (1024) on add and "any metric" on delete.
    if spec.metric != 0 {
        msg.attributes.push(RouteAttribute::Priority(spec.metric));
    }
    msg
}

/// rtm_table holds 8 bits; tables above 255 go in RTA_TABLE (the kernel
/// reads the attribute when present).
pub(super) fn set_table(msg: &mut RouteMessage, table: RouteTable) {
    match u8::try_from(table.0) {
        Ok(t) => msg.header.table = t,
        Err(_) => {
            msg.header.table = 252; // RT_TABLE_COMPAT
            msg.attributes.push(RouteAttribute::Table(table.0));
        }
    }
}

fn target(spec: &RouteSpec) -> String {
    let mut s = format!("{:?} {}", spec.kind, spec.dst);
    if spec.table != RouteTable::MAIN {
        s.push_str(&format!(" table {}", spec.table.0));
    }
    s.push_str(&format!(" proto {}", spec.owner.protocol()));
    if let Some(gw) = spec.gateway {
        s.push_str(&format!(" via {gw}"));
    }
    if let Some(i) = spec.ifindex {
        s.push_str(&format!(" dev #{i}"));
    }
    s.push_str(&format!(" metric {}", spec.metric));
    s
}

/// RTA_EXPIRES in whole seconds, rounded up so a short safety net never
/// becomes "expire now"; below 0xffffffff, which the kernel reads as
/// "never".
fn expires_secs(d: Duration) -> u32 {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    secs.clamp(1, u64::from(u32::MAX - 1)) as u32
}

impl Netlink {
    /// Adds or replaces a route (NLM_F_CREATE | NLM_F_REPLACE: the kernel
    /// replaces the route with the same destination and metric).
    pub(crate) async fn set_route(&self, spec: &RouteSpec) -> Result<(), SysError> {
        let mut msg = route_message(spec);
        if let Some(d) = spec.expires {
            msg.attributes
                .push(RouteAttribute::Expires(expires_secs(d)));
        }
        self.ack_request(
            RouteNetlinkMessage::NewRoute(msg),
            NLM_F_CREATE | NLM_F_REPLACE,
        )
        .await
        .map_err(|f| f.into_error("set route", target(spec)))
    }

    /// Deletes one of `spec.owner`'s routes (the kernel matches the
    /// protocol: another owner's route with the same destination stays); a
    /// route already gone is Ok.
    pub(crate) async fn del_route(&self, spec: &RouteSpec) -> Result<(), SysError> {
        let msg = route_message(spec);
        match self
            .ack_request(RouteNetlinkMessage::DelRoute(msg), 0)
            .await
        {
            Ok(()) => Ok(()),
            Err(f) if is_missing(f.errno()) => {
                tracing::debug!(route = %target(spec), "route to delete was already gone");
                Ok(())
            }
            Err(f) => Err(f.into_error("delete route", target(spec))),
        }
    }

    /// IPv6 routes of the main table, all or those of one protocol.
    pub async fn routes(&self, protocol: Option<u8>) -> Result<Vec<RouteInfo>, SysError> {
        Ok(self
            .all_routes(protocol)
            .await?
            .into_iter()
            .filter(|r| r.table == u32::from(RouteHeader::RT_TABLE_MAIN))
            .collect())
    }

    /// `owner`'s IPv6 routes in every table.
    pub async fn routes_of(&self, owner: Owner) -> Result<Vec<RouteInfo>, SysError> {
        self.all_routes(Some(owner.protocol())).await
    }

    /// Deletes exactly the kernel route `route` as dumped (its protocol,
    /// table, metric and next hop); already gone is Ok.
    pub async fn delete_route(&self, route: &RouteInfo) -> Result<(), SysError> {
        let mut msg = RouteMessage::default();
        msg.header.address_family = AddressFamily::Inet6;
        msg.header.destination_prefix_length = route.dst.len();
        set_table(&mut msg, RouteTable(route.table));
        msg.header.protocol = RouteProtocol::from(route.protocol);
        msg.header.scope = RouteScope::Universe;
        msg.header.kind = match route.kind {
            RouteKind::Unicast => NlRouteType::Unicast,
            RouteKind::Unreachable => NlRouteType::Unreachable,
            RouteKind::Blackhole => NlRouteType::BlackHole,
            RouteKind::Prohibit => NlRouteType::Prohibit,
            RouteKind::Throw => NlRouteType::Throw,
            RouteKind::Local => NlRouteType::Local,
            RouteKind::Anycast => NlRouteType::Anycast,
            RouteKind::Multicast => NlRouteType::Multicast,
            RouteKind::Other(t) => NlRouteType::from(t),
        };
        if route.dst.len() > 0 {
            msg.attributes
                .push(RouteAttribute::Destination(RouteAddress::Inet6(
                    route.dst.addr(),
                )));
        }
        if route.kind == RouteKind::Unicast {
            if let Some(gw) = route.gateway {
                msg.attributes
                    .push(RouteAttribute::Gateway(RouteAddress::Inet6(gw)));
            }
            if let Some(oif) = route.oif {
                msg.attributes.push(RouteAttribute::Oif(oif));
            }
        }
        msg.attributes.push(RouteAttribute::Priority(route.metric));
        let what = || format!("{:?} {} proto {}", route.kind, route.dst, route.protocol);
        match self
            .ack_request(RouteNetlinkMessage::DelRoute(msg), 0)
            .await
        {
            Ok(()) => Ok(()),
            Err(f) if is_missing(f.errno()) => Ok(()),
            Err(f) => Err(f.into_error("delete route", what())),
        }
    }

    /// Per-owner reconciliation: removes every IPv6 and IPv4 route that `plan`
    /// says is stale (an owner in `plan` runs, the route has that owner's
    /// protocol, or the legacy one and a kind the owner adopts, and the
    /// owner does not want it). Routes of any other protocol are not even
    /// looked at. Returns the IPv6 routes removed; one that cannot be
    /// removed is logged and skipped.
    pub async fn reconcile_routes(&self, plan: &Reconcile) -> Result<Vec<RouteInfo>, SysError> {
        let mut protocols: Vec<u8> = plan.owners().map(Owner::protocol).collect();
        protocols.push(v6edge_core::LEGACY_PROTOCOL);
        protocols.sort_unstable();
        protocols.dedup();
        let mut removed = Vec::new();
        for protocol in protocols {
            for route in self.all_routes(Some(protocol)).await? {
                let Some(key) = route.key() else { continue };
                if !plan.is_stale(protocol, &key) {
                    continue;
                }
                match self.delete_route(&route).await {
                    Ok(()) => removed.push(route),
                    Err(e) => {
                        tracing::warn!(prefix = %route.dst, error = %e, "cannot remove a stale route")
                    }
                }
            }
            for route in self.routes4(Some(protocol)).await? {
                let Some(key) = route.key() else { continue };
                if plan.is_stale(protocol, &key)
                    && let Err(e) = self.delete_route4(&route).await
                {
                    tracing::warn!(prefix = %route.dst, error = %e, "cannot remove a stale route");
                }
            }
        }
        Ok(removed)
    }

    /// IPv6 routes of every table but `local`, all or those of one
    /// protocol.
    async fn all_routes(&self, protocol: Option<u8>) -> Result<Vec<RouteInfo>, SysError> {
        let mut msg = RouteMessage::default();
        msg.header.address_family = AddressFamily::Inet6;
        let answers = self
            .dump(RouteNetlinkMessage::GetRoute(msg))
            .await
            .map_err(|f| {
                f.into_error(
                    "dump routes",
                    protocol.map_or("all".into(), |p| format!("proto {p}")),
                )
            })?;
        Ok(answers
            .iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewRoute(r) => RouteInfo::from_message(r),
                _ => None,
            })
            .filter(|r| r.table != RT_TABLE_LOCAL)
            .filter(|r| protocol.is_none_or(|p| r.protocol == p))
            .collect())
    }

    /// Default routes (::/0) of the main table, whoever installed them
    /// (typically protocol `ra`, learnt by the kernel from an upstream
    /// router's RA, RFC 4861 §6.3.4): "do we have an upstream router".
    pub async fn default_routes(&self) -> Result<Vec<RouteInfo>, SysError> {
        let all = self.routes(None).await?;
        Ok(all
            .into_iter()
            .filter(|r| r.dst == Prefix::DEFAULT && r.kind == RouteKind::Unicast)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_rounds_up_and_stays_finite() {
        assert_eq!(expires_secs(Duration::ZERO), 1);
        assert_eq!(expires_secs(Duration::from_millis(1500)), 2);
        assert_eq!(expires_secs(Duration::from_secs(60)), 60);
        assert_eq!(expires_secs(Duration::from_secs(u64::MAX)), u32::MAX - 1);
    }

    fn spec(kind: RouteType) -> RouteSpec {
        RouteSpec {
            owner: Owner::RequestingRouter,
            table: RouteTable::MAIN,
            dst: "2001:db8:1200::/56".parse().expect("valid literal"),
            kind,
            gateway: Some("fe80::2".parse().expect("valid literal")),
            ifindex: Some(7),
            metric: 0,
            expires: None,
        }
    }

    #[test]
    fn unreachable_routes_name_no_next_hop() {
        let msg = route_message(&spec(RouteType::Unreachable));
        assert_eq!(msg.header.kind, NlRouteType::Unreachable);
        assert_eq!(u8::from(msg.header.protocol), 120);
        assert_eq!(msg.header.table, RouteHeader::RT_TABLE_MAIN);
        assert!(!msg.attributes.iter().any(|a| matches!(
            a,
            RouteAttribute::Gateway(_) | RouteAttribute::Oif(_) | RouteAttribute::Priority(_)
        )));
        let msg = route_message(&spec(RouteType::Unicast));
        assert!(msg.attributes.contains(&RouteAttribute::Oif(7)));
        assert!(
            msg.attributes
                .iter()
                .any(|a| matches!(a, RouteAttribute::Gateway(_)))
        );
    }
}
