//! IPv6 routes in the main table: RTM_NEWROUTE / RTM_DELROUTE / RTM_GETROUTE.
//!
//! Every route v6edge installs carries protocol
//! [`v6edge_core::ROUTE_PROTOCOL`], so a restarted daemon finds exactly its
//! own routes with [`Netlink::routes`]`(Some(ROUTE_PROTOCOL))` and
//! reconciles them. Unreachable routes cover a delegated prefix that is not
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
use v6edge_core::{IfIndex, ROUTE_PROTOCOL, RouteSpec, RouteType};
use v6edge_prefix::Prefix;

/// The kernel's clock_t unit for RTA_CACHEINFO expiry (USER_HZ, fixed at
/// 100 in the Linux userspace ABI).
const USER_HZ: u64 = 100;

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
    /// rtm_protocol: [`ROUTE_PROTOCOL`] for ours, 9 (`ra`) for routes the
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
    /// machines never request. Lets the daemon compare the kernel's routes
    /// with what the machines want at start.
    pub fn to_spec(&self) -> Option<RouteSpec> {
        let kind = self.kind.as_core()?;
        let unicast = kind == RouteType::Unicast;
        Some(RouteSpec {
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
    h.table = RouteHeader::RT_TABLE_MAIN;
    h.protocol = RouteProtocol::from(ROUTE_PROTOCOL);
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

fn target(spec: &RouteSpec) -> String {
    let mut s = format!("{:?} {}", spec.kind, spec.dst);
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

    /// Deletes one of our routes (protocol [`ROUTE_PROTOCOL`] only); a
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
            .filter(|r| r.table == u32::from(RouteHeader::RT_TABLE_MAIN))
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
        assert_eq!(u8::from(msg.header.protocol), ROUTE_PROTOCOL);
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
