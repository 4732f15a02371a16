//! Links: RTM_GETLINK by name or index.

use super::{Failure, Netlink, is_missing};
use crate::SysError;
use crate::tun::Tun;
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use v6edge_core::{IfIndex, Owner, TunSpec};

/// The alias (IFLA_IFALIAS) that marks a link as `owner`'s: links have no
/// protocol field, so ownership is written where `ip link` shows it.
pub fn owner_alias(owner: Owner) -> String {
    format!("v6edge {}", owner.name())
}

/// The owner an alias names, if it is one of ours.
fn alias_owner(alias: &str) -> Option<Owner> {
    let name = alias.strip_prefix("v6edge ")?;
    Owner::ALL.into_iter().find(|o| o.name() == name)
}

/// What the daemon needs to know about an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    pub index: IfIndex,
    pub name: String,
    /// IFF_UP: administratively up.
    pub up: bool,
    /// IFF_RUNNING as the kernel reports it: up and operationally up (or
    /// operstate unknown, e.g. devices that do not report carrier), i.e.
    /// packets can flow.
    pub running: bool,
    /// The hardware address when it is a 6-byte MAC (Ethernet, veth); used
    /// for the Source Link-Layer Address option (RFC 4861 §4.6.1) and
    /// DUID-LL/LLT (RFC 8415 §11).
    pub mac: Option<[u8; 6]>,
    pub mtu: u32,
}

impl LinkInfo {
    /// Reads an RTM_NEWLINK; `None` without a name (never seen in practice,
    /// but a link we cannot name is one we cannot configure).
    pub(crate) fn from_message(msg: &LinkMessage) -> Option<LinkInfo> {
        let mut name = None;
        let mut mac = None;
        let mut mtu = 0;
        for attr in &msg.attributes {
            match attr {
                LinkAttribute::IfName(n) => name = Some(n.clone()),
                LinkAttribute::Address(a) => mac = <[u8; 6]>::try_from(a.as_slice()).ok(),
                LinkAttribute::Mtu(m) => mtu = *m,
                _ => {}
            }
        }
        let flags = msg.header.flags;
        Some(LinkInfo {
            index: msg.header.index,
            name: name?,
            up: flags.contains(LinkFlags::Up),
            running: flags.contains(LinkFlags::Running),
            mac,
            mtu,
        })
    }
}

impl Netlink {
    /// The link called `name`, `None` if there is none.
    pub async fn link_by_name(&self, name: &str) -> Result<Option<LinkInfo>, SysError> {
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_owned()));
        self.get_link(msg, || format!("dev {name}")).await
    }

    /// The link with index `index`, `None` if there is none.
    pub async fn link_by_index(&self, index: IfIndex) -> Result<Option<LinkInfo>, SysError> {
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        self.get_link(msg, || format!("dev #{index}")).await
    }

    /// Creates the persistent TUN device `spec.name` unless it exists,
    /// marks it as `spec.owner`'s and sets it up if asked.
    pub(crate) async fn set_tun(&self, spec: &TunSpec) -> Result<(), SysError> {
        // Attaching to an existing persistent device is harmless; the
        // descriptor is closed at once, the device stays.
        let tun = Tun::create(&spec.name)?;
        tun.set_persist(true)?;
        drop(tun);
        let Some(link) = self.link_by_name(&spec.name).await? else {
            return Err(Failure::Protocol("the new TUN device is not there".into())
                .into_error("set tun", spec.name.clone()));
        };
        let mut msg = LinkMessage::default();
        msg.header.index = link.index;
        if spec.up {
            msg.header.flags = LinkFlags::Up;
            msg.header.change_mask = LinkFlags::Up;
        }
        msg.attributes
            .push(LinkAttribute::IfAlias(owner_alias(spec.owner)));
        if let Some(mtu) = spec.mtu {
            msg.attributes.push(LinkAttribute::Mtu(mtu));
        }
        if let Some(len) = spec.tx_queue_len {
            msg.attributes.push(LinkAttribute::TxQueueLen(len));
        }
        self.ack_request(RouteNetlinkMessage::SetLink(msg), 0)
            .await
            .map_err(|f| f.into_error("set tun", spec.name.clone()))
    }

    /// Deletes the TUN device `spec.name` if it is `spec.owner`'s (its
    /// alias says so); a device that is gone is Ok, one of anybody else is
    /// left alone with an error.
    pub(crate) async fn del_tun(&self, spec: &TunSpec) -> Result<(), SysError> {
        let Some((index, alias)) = self.link_alias(&spec.name).await? else {
            return Ok(());
        };
        if alias.as_deref().and_then(alias_owner) != Some(spec.owner) {
            return Err(Failure::Protocol(format!(
                "not {}'s (alias {alias:?}): left alone",
                spec.owner
            ))
            .into_error("delete tun", spec.name.clone()));
        }
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        match self.ack_request(RouteNetlinkMessage::DelLink(msg), 0).await {
            Ok(()) => Ok(()),
            Err(f) if is_missing(f.errno()) => Ok(()),
            Err(f) => Err(f.into_error("delete tun", spec.name.clone())),
        }
    }

    /// The names of the links `owner` marked (see [`owner_alias`]).
    pub async fn links_of(&self, owner: Owner) -> Result<Vec<String>, SysError> {
        let answers = self
            .dump(RouteNetlinkMessage::GetLink(LinkMessage::default()))
            .await
            .map_err(|f| f.into_error("dump links", "all".into()))?;
        Ok(answers
            .iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewLink(l) => {
                    let (name, alias) = name_and_alias(l);
                    (alias.as_deref().and_then(alias_owner) == Some(owner)).then_some(name?)
                }
                _ => None,
            })
            .collect())
    }

    /// Index and alias of the link called `name`, `None` if there is none.
    async fn link_alias(&self, name: &str) -> Result<Option<(IfIndex, Option<String>)>, SysError> {
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_owned()));
        match self.get_one(RouteNetlinkMessage::GetLink(msg)).await {
            Ok(RouteNetlinkMessage::NewLink(l)) => Ok(Some((l.header.index, name_and_alias(&l).1))),
            Ok(other) => Err(Failure::Protocol(format!("unexpected answer {other:?}"))
                .into_error("get link", name.to_owned())),
            Err(f) if f.errno() == Some(libc::ENODEV) => Ok(None),
            Err(f) => Err(f.into_error("get link", name.to_owned())),
        }
    }

    /// Every link.
    pub async fn links(&self) -> Result<Vec<LinkInfo>, SysError> {
        let answers = self
            .dump(RouteNetlinkMessage::GetLink(LinkMessage::default()))
            .await
            .map_err(|f| f.into_error("dump links", "all".into()))?;
        Ok(answers
            .iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewLink(l) => LinkInfo::from_message(l),
                _ => None,
            })
            .collect())
    }

    async fn get_link(
        &self,
        msg: LinkMessage,
        target: impl FnOnce() -> String,
    ) -> Result<Option<LinkInfo>, SysError> {
        match self.get_one(RouteNetlinkMessage::GetLink(msg)).await {
            Ok(RouteNetlinkMessage::NewLink(l)) => Ok(LinkInfo::from_message(&l)),
            Ok(other) => Err(Failure::Protocol(format!("unexpected answer {other:?}"))
                .into_error("get link", target())),
            // The kernel answers ENODEV for an unknown name or index.
            Err(f) if f.errno() == Some(libc::ENODEV) => Ok(None),
            Err(f) => Err(f.into_error("get link", target())),
        }
    }
}

fn name_and_alias(l: &LinkMessage) -> (Option<String>, Option<String>) {
    let mut name = None;
    let mut alias = None;
    for a in &l.attributes {
        match a {
            LinkAttribute::IfName(n) => name = Some(n.clone()),
            LinkAttribute::IfAlias(s) => alias = Some(s.clone()),
            _ => {}
        }
    }
    (name, alias)
}
