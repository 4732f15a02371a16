//! Links: RTM_GETLINK by name or index.

use super::{Failure, Netlink};
use crate::SysError;
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use v6edge_core::IfIndex;

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
