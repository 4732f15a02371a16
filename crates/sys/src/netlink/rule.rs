//! Policy routing rules (`ip rule`): RTM_NEWRULE / RTM_DELRULE /
//! RTM_GETRULE, stamped with the owner's protocol number (FRA_PROTOCOL).
//! A rule sends packets from or to a prefix to a table of their own, as a
//! mobile node routes its home address's traffic through the tunnel
//! (RFC 6275 §11.3.1) while everything else uses the main table.

use super::{Netlink, is_missing};
use crate::SysError;
use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::route::RouteProtocol;
use netlink_packet_route::rule::{RuleAction, RuleAttribute, RuleMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use std::net::IpAddr;
use v6edge_core::{Owner, RouteTable, RuleSpec};

/// One rule as the kernel has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleInfo {
    pub family_v6: bool,
    pub from: Option<(IpAddr, u8)>,
    pub to: Option<(IpAddr, u8)>,
    pub table: RouteTable,
    pub priority: u32,
    /// FRA_PROTOCOL (0 for rules added without one).
    pub protocol: u8,
}

impl RuleInfo {
    /// The rule as its owner asked for it; `None` for other protocols.
    pub fn to_spec(&self) -> Option<RuleSpec> {
        Some(RuleSpec {
            owner: Owner::from_protocol(self.protocol)?,
            family_v6: self.family_v6,
            from: self.from,
            to: self.to,
            table: self.table,
            priority: self.priority,
        })
    }
}

fn rule_message(spec: &RuleSpec) -> RuleMessage {
    let mut msg = RuleMessage::default();
    msg.header.family = if spec.family_v6 {
        AddressFamily::Inet6
    } else {
        AddressFamily::Inet
    };
    msg.header.action = RuleAction::ToTable;
    msg.header.table = u8::try_from(spec.table.0).unwrap_or(252);
    if let Some((addr, len)) = spec.from {
        msg.header.src_len = len;
        msg.attributes.push(RuleAttribute::Source(addr));
    }
    if let Some((addr, len)) = spec.to {
        msg.header.dst_len = len;
        msg.attributes.push(RuleAttribute::Destination(addr));
    }
    msg.attributes.push(RuleAttribute::Table(spec.table.0));
    msg.attributes.push(RuleAttribute::Priority(spec.priority));
    msg.attributes
        .push(RuleAttribute::Protocol(RouteProtocol::from(
            spec.owner.protocol(),
        )));
    msg
}

fn target(spec: &RuleSpec) -> String {
    let p = |x: Option<(IpAddr, u8)>| x.map_or("all".to_owned(), |(a, l)| format!("{a}/{l}"));
    format!(
        "pref {} from {} to {} lookup {} proto {}",
        spec.priority,
        p(spec.from),
        p(spec.to),
        spec.table.0,
        spec.owner.protocol()
    )
}

impl Netlink {
    /// Adds a rule unless an identical one is there (NLM_F_EXCL: the
    /// kernel would otherwise add a duplicate; EEXIST is success).
    pub(crate) async fn set_rule(&self, spec: &RuleSpec) -> Result<(), SysError> {
        match self
            .ack_request(
                RouteNetlinkMessage::NewRule(rule_message(spec)),
                NLM_F_CREATE | NLM_F_EXCL,
            )
            .await
        {
            Ok(()) => Ok(()),
            Err(f) if f.errno() == Some(libc::EEXIST) => Ok(()),
            Err(f) => Err(f.into_error("set rule", target(spec))),
        }
    }

    /// Deletes the rule (the kernel matches the protocol too); already
    /// gone is Ok.
    pub(crate) async fn del_rule(&self, spec: &RuleSpec) -> Result<(), SysError> {
        match self
            .ack_request(RouteNetlinkMessage::DelRule(rule_message(spec)), 0)
            .await
        {
            Ok(()) => Ok(()),
            Err(f) if is_missing(f.errno()) => Ok(()),
            Err(f) => Err(f.into_error("delete rule", target(spec))),
        }
    }

    /// The rules of both families, all or those `owner` stamped.
    pub async fn rules(&self, owner: Option<Owner>) -> Result<Vec<RuleInfo>, SysError> {
        let mut out = Vec::new();
        for fam in [AddressFamily::Inet6, AddressFamily::Inet] {
            let mut msg = RuleMessage::default();
            msg.header.family = fam;
            let answers = self
                .dump(RouteNetlinkMessage::GetRule(msg))
                .await
                .map_err(|f| f.into_error("dump rules", format!("{fam:?}")))?;
            for m in &answers {
                let RouteNetlinkMessage::NewRule(r) = m else {
                    continue;
                };
                let mut info = RuleInfo {
                    family_v6: r.header.family == AddressFamily::Inet6,
                    from: None,
                    to: None,
                    table: RouteTable(u32::from(r.header.table)),
                    priority: 0,
                    protocol: 0,
                };
                for a in &r.attributes {
                    match a {
                        RuleAttribute::Source(ip) => info.from = Some((*ip, r.header.src_len)),
                        RuleAttribute::Destination(ip) => info.to = Some((*ip, r.header.dst_len)),
                        RuleAttribute::Table(t) => info.table = RouteTable(*t),
                        RuleAttribute::Priority(p) => info.priority = *p,
                        RuleAttribute::Protocol(p) => info.protocol = u8::from(*p),
                        _ => {}
                    }
                }
                out.push(info);
            }
        }
        Ok(out
            .into_iter()
            .filter(|r| owner.is_none_or(|o| r.protocol == o.protocol()))
            .collect())
    }
}
