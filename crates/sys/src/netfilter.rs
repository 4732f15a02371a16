//! Keeping a kernel without MIP6 from answering the packets the mobility
//! capture reads (`../shared/reference/mobility.md` §2.2, option B): an
//! inbound packet with a Home Address option, or with a Type 2 Routing
//! Header, makes such a kernel send an ICMPv6 Parameter Problem (code 2,
//! or code 0 at the routing type) for every Binding Update, Mobile Prefix
//! Solicitation, Binding Acknowledgement and Mobile Prefix Advertisement.
//! The daemon has already taken the packet from its `AF_PACKET` capture,
//! which sees it before netfilter: an nf_tables rule at raw prerouting
//! priority drops the kernel's copy, and with it the Parameter Problem.
//!
//! One table of our own (`ip6 v6edge_mobility`), replaced whole by
//! [`install`] in one netlink batch (the kernel applies it atomically) and
//! deleted by [`remove`]; nothing else in the ruleset is touched.
//!
//! Why our own encoder: the nf_tables crates available are GPL-licensed
//! (rustables), bind the C libnftnl (nftnl), or are early drafts; what is
//! needed here is four fixed rule shapes, a few hundred octets of netlink
//! built below with the attribute numbers of `linux/netfilter/nf_tables.h`.
//!
//! The netlink socket is non-blocking: the kernel processes a batch while
//! `sendto` runs and has queued every acknowledgement when it returns.

use std::io;
use std::net::Ipv6Addr;
use std::os::fd::{AsRawFd, OwnedFd};

use nix::errno::Errno;
use nix::sys::socket::{
    AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol, SockType, bind, recv, sendto,
    socket,
};

use crate::SysError;

/// The table that holds our rules.
pub const TABLE: &str = "v6edge_mobility";
const CHAIN: &str = "prerouting";

/// What the kernel must not answer; the daemon reads these from its capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Silence {
    /// A Mobility Header or ICMPv6 message to this address behind a
    /// Destination Options header (a Home Address option: Binding Updates
    /// and Mobile Prefix Solicitations to a home agent).
    DestinationOptionsTo(Ipv6Addr),
    /// A Mobility Header or ICMPv6 message behind a Type 2 Routing Header
    /// (Binding Acknowledgements and Mobile Prefix Advertisements to a
    /// mobile node away).
    Type2RoutingHeader,
}

// linux/netlink.h, linux/netfilter/nfnetlink.h, nf_tables.h.
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_CREATE: u16 = 0x400;
const NLM_F_APPEND: u16 = 0x800;
const NLMSG_ERROR: u16 = 2;
const NLA_F_NESTED: u16 = 0x8000;
const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFNL_MSG_BATCH_BEGIN: u16 = 16;
const NFNL_MSG_BATCH_END: u16 = 17;
const NFT_MSG_NEWTABLE: u16 = 0;
const NFT_MSG_DELTABLE: u16 = 2;
const NFT_MSG_NEWCHAIN: u16 = 3;
const NFT_MSG_NEWRULE: u16 = 6;
const NFPROTO_IPV6: u8 = 10;
const NFTA_TABLE_NAME: u16 = 1;
const NFTA_CHAIN_TABLE: u16 = 1;
const NFTA_CHAIN_NAME: u16 = 3;
const NFTA_CHAIN_HOOK: u16 = 4;
const NFTA_CHAIN_POLICY: u16 = 5;
const NFTA_CHAIN_TYPE: u16 = 7;
const NFTA_HOOK_HOOKNUM: u16 = 1;
const NFTA_HOOK_PRIORITY: u16 = 2;
const NFTA_RULE_TABLE: u16 = 1;
const NFTA_RULE_CHAIN: u16 = 2;
const NFTA_RULE_EXPRESSIONS: u16 = 4;
const NFTA_LIST_ELEM: u16 = 1;
const NFTA_EXPR_NAME: u16 = 1;
const NFTA_EXPR_DATA: u16 = 2;
const NFTA_PAYLOAD_DREG: u16 = 1;
const NFTA_PAYLOAD_BASE: u16 = 2;
const NFTA_PAYLOAD_OFFSET: u16 = 3;
const NFTA_PAYLOAD_LEN: u16 = 4;
const NFT_PAYLOAD_NETWORK_HEADER: u32 = 1;
const NFTA_EXTHDR_DREG: u16 = 1;
const NFTA_EXTHDR_TYPE: u16 = 2;
const NFTA_EXTHDR_OFFSET: u16 = 3;
const NFTA_EXTHDR_LEN: u16 = 4;
const NFTA_EXTHDR_FLAGS: u16 = 5;
const NFT_EXTHDR_F_PRESENT: u32 = 1;
const NFTA_META_DREG: u16 = 1;
const NFTA_META_KEY: u16 = 2;
const NFT_META_L4PROTO: u32 = 16;
const NFTA_CMP_SREG: u16 = 1;
const NFTA_CMP_OP: u16 = 2;
const NFTA_CMP_DATA: u16 = 3;
const NFT_CMP_EQ: u32 = 0;
const NFTA_DATA_VALUE: u16 = 1;
const NFTA_DATA_VERDICT: u16 = 2;
const NFTA_VERDICT_CODE: u16 = 1;
const NFTA_IMMEDIATE_DREG: u16 = 1;
const NFTA_IMMEDIATE_DATA: u16 = 2;
const NFT_REG_VERDICT: u32 = 0;
const NFT_REG_1: u32 = 1;
const NF_DROP: u32 = 0;
const NF_ACCEPT: u32 = 1;
const NF_INET_PRE_ROUTING: u32 = 0;
/// `NF_IP6_PRI_RAW`: before connection tracking, like `nft ... priority raw`.
const PRIORITY_RAW: i32 = -300;
/// RFC 8200 §4: Destination Options and Routing headers; the upper layers.
const NH_DESTINATION_OPTIONS: u8 = 60;
const NH_ROUTING: u8 = 43;
const NH_MOBILITY: u8 = 135;
const NH_ICMPV6: u8 = 58;

/// Replaces our table with one dropping, at raw prerouting, the kernel's
/// copy of every packet `silences` names. An empty list removes it.
pub fn install(silences: &[Silence]) -> Result<(), SysError> {
    if silences.is_empty() {
        return remove();
    }
    exchange("install", &install_batch(silences))
}

/// Deletes our table, if there is one.
pub fn remove() -> Result<(), SysError> {
    match exchange("remove", &remove_batch()) {
        Err(e) if e.errno() == Some(libc::ENOENT) => Ok(()),
        other => other,
    }
}

/// The messages of [`install`]: create-then-delete makes the replacement
/// work whether or not the table exists (the idiom `nft` uses), all in one
/// batch.
fn install_batch(silences: &[Silence]) -> Vec<u8> {
    let mut b = Batch::default();
    b.begin();
    b.message(NFT_MSG_NEWTABLE, NLM_F_CREATE, &table_attrs());
    b.message(NFT_MSG_DELTABLE, 0, &table_attrs());
    b.message(NFT_MSG_NEWTABLE, NLM_F_CREATE, &table_attrs());
    let mut chain = Vec::new();
    attr_str(&mut chain, NFTA_CHAIN_TABLE, TABLE);
    attr_str(&mut chain, NFTA_CHAIN_NAME, CHAIN);
    let mut hook = Vec::new();
    attr_be32(&mut hook, NFTA_HOOK_HOOKNUM, NF_INET_PRE_ROUTING);
    attr_be32(&mut hook, NFTA_HOOK_PRIORITY, PRIORITY_RAW as u32);
    nested(&mut chain, NFTA_CHAIN_HOOK, &hook);
    attr_be32(&mut chain, NFTA_CHAIN_POLICY, NF_ACCEPT);
    attr_str(&mut chain, NFTA_CHAIN_TYPE, "filter");
    b.message(NFT_MSG_NEWCHAIN, NLM_F_CREATE, &chain);
    for s in silences {
        for upper in [NH_MOBILITY, NH_ICMPV6] {
            b.message(
                NFT_MSG_NEWRULE,
                NLM_F_CREATE | NLM_F_APPEND,
                &rule_attrs(*s, upper),
            );
        }
    }
    b.end();
    b.buf
}

fn remove_batch() -> Vec<u8> {
    let mut b = Batch::default();
    b.begin();
    b.message(NFT_MSG_DELTABLE, 0, &table_attrs());
    b.end();
    b.buf
}

fn table_attrs() -> Vec<u8> {
    let mut a = Vec::new();
    attr_str(&mut a, NFTA_TABLE_NAME, TABLE);
    a
}

/// `[ip6 daddr A] exthdr ... ; meta l4proto UPPER ; drop`.
fn rule_attrs(silence: Silence, upper: u8) -> Vec<u8> {
    let mut exprs = Vec::new();
    match silence {
        Silence::DestinationOptionsTo(addr) => {
            // ip6 daddr == addr: 16 octets at offset 24 of the header.
            expression(&mut exprs, "payload", |d| {
                attr_be32(d, NFTA_PAYLOAD_DREG, NFT_REG_1);
                attr_be32(d, NFTA_PAYLOAD_BASE, NFT_PAYLOAD_NETWORK_HEADER);
                attr_be32(d, NFTA_PAYLOAD_OFFSET, 24);
                attr_be32(d, NFTA_PAYLOAD_LEN, 16);
            });
            compare(&mut exprs, &addr.octets());
            // exthdr dst exists.
            expression(&mut exprs, "exthdr", |d| {
                attr_be32(d, NFTA_EXTHDR_DREG, NFT_REG_1);
                attr(d, NFTA_EXTHDR_TYPE, &[NH_DESTINATION_OPTIONS]);
                attr_be32(d, NFTA_EXTHDR_OFFSET, 0);
                attr_be32(d, NFTA_EXTHDR_LEN, 1);
                attr_be32(d, NFTA_EXTHDR_FLAGS, NFT_EXTHDR_F_PRESENT);
            });
            compare(&mut exprs, &[1]);
        }
        Silence::Type2RoutingHeader => {
            // rt type 2: the Routing Type octet, offset 2 of the header.
            expression(&mut exprs, "exthdr", |d| {
                attr_be32(d, NFTA_EXTHDR_DREG, NFT_REG_1);
                attr(d, NFTA_EXTHDR_TYPE, &[NH_ROUTING]);
                attr_be32(d, NFTA_EXTHDR_OFFSET, 2);
                attr_be32(d, NFTA_EXTHDR_LEN, 1);
            });
            compare(&mut exprs, &[2]);
        }
    }
    expression(&mut exprs, "meta", |d| {
        attr_be32(d, NFTA_META_KEY, NFT_META_L4PROTO);
        attr_be32(d, NFTA_META_DREG, NFT_REG_1);
    });
    compare(&mut exprs, &[upper]);
    expression(&mut exprs, "immediate", |d| {
        attr_be32(d, NFTA_IMMEDIATE_DREG, NFT_REG_VERDICT);
        let mut code = Vec::new();
        attr_be32(&mut code, NFTA_VERDICT_CODE, NF_DROP);
        let mut verdict = Vec::new();
        nested(&mut verdict, NFTA_DATA_VERDICT, &code);
        nested(d, NFTA_IMMEDIATE_DATA, &verdict);
    });
    let mut a = Vec::new();
    attr_str(&mut a, NFTA_RULE_TABLE, TABLE);
    attr_str(&mut a, NFTA_RULE_CHAIN, CHAIN);
    nested(&mut a, NFTA_RULE_EXPRESSIONS, &exprs);
    a
}

/// `cmp eq reg1 value`.
fn compare(exprs: &mut Vec<u8>, value: &[u8]) {
    expression(exprs, "cmp", |d| {
        attr_be32(d, NFTA_CMP_SREG, NFT_REG_1);
        attr_be32(d, NFTA_CMP_OP, NFT_CMP_EQ);
        let mut data = Vec::new();
        attr(&mut data, NFTA_DATA_VALUE, value);
        nested(d, NFTA_CMP_DATA, &data);
    });
}

fn expression(exprs: &mut Vec<u8>, name: &str, data: impl FnOnce(&mut Vec<u8>)) {
    let mut body = Vec::new();
    data(&mut body);
    let mut elem = Vec::new();
    attr_str(&mut elem, NFTA_EXPR_NAME, name);
    nested(&mut elem, NFTA_EXPR_DATA, &body);
    nested(exprs, NFTA_LIST_ELEM, &elem);
}

/// A netlink attribute, padded to 4 octets (`NLA_ALIGN`).
fn attr(out: &mut Vec<u8>, kind: u16, payload: &[u8]) {
    let len = u16::try_from(4 + payload.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(payload);
    out.resize(out.len().next_multiple_of(4), 0);
}

fn nested(out: &mut Vec<u8>, kind: u16, children: &[u8]) {
    attr(out, kind | NLA_F_NESTED, children);
}

fn attr_str(out: &mut Vec<u8>, kind: u16, s: &str) {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    attr(out, kind, &v);
}

/// nf_tables integers travel in network order (`NLA_BE32`).
fn attr_be32(out: &mut Vec<u8>, kind: u16, v: u32) {
    attr(out, kind, &v.to_be_bytes());
}

/// One batch of netfilter messages (`NFNL_MSG_BATCH_BEGIN` … `END`).
#[derive(Default)]
struct Batch {
    buf: Vec<u8>,
    seq: u32,
    /// Sequence numbers that asked for an acknowledgement.
    acked: Vec<u32>,
}

impl Batch {
    fn header(&mut self, kind: u16, flags: u16, family: u8, res_id: u16, body: &[u8]) {
        self.seq += 1;
        let len = u32::try_from(16 + 4 + body.len()).unwrap_or(u32::MAX);
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(&flags.to_ne_bytes());
        self.buf.extend_from_slice(&self.seq.to_ne_bytes());
        self.buf.extend_from_slice(&0u32.to_ne_bytes());
        // struct nfgenmsg: family, version 0, res_id (network order).
        self.buf.push(family);
        self.buf.push(0);
        self.buf.extend_from_slice(&res_id.to_be_bytes());
        self.buf.extend_from_slice(body);
    }

    fn begin(&mut self) {
        self.header(
            NFNL_MSG_BATCH_BEGIN,
            NLM_F_REQUEST,
            0,
            NFNL_SUBSYS_NFTABLES,
            &[],
        );
    }

    fn end(&mut self) {
        self.header(
            NFNL_MSG_BATCH_END,
            NLM_F_REQUEST,
            0,
            NFNL_SUBSYS_NFTABLES,
            &[],
        );
    }

    fn message(&mut self, cmd: u16, flags: u16, attrs: &[u8]) {
        self.header(
            (NFNL_SUBSYS_NFTABLES << 8) | cmd,
            NLM_F_REQUEST | NLM_F_ACK | flags,
            NFPROTO_IPV6,
            0,
            attrs,
        );
        self.acked.push(self.seq);
    }
}

/// Sends one batch and reads the acknowledgements: the first error the
/// kernel reports is returned.
fn exchange(op: &'static str, batch: &[u8]) -> Result<(), SysError> {
    let io_err = |what: &'static str| {
        move |e: Errno| SysError::Socket {
            op: what,
            target: format!("nftables table {TABLE}"),
            source: io::Error::from(e),
        }
    };
    let fd: OwnedFd = socket(
        AddressFamily::Netlink,
        SockType::Raw,
        SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
        SockProtocol::NetlinkNetFilter,
    )
    .map_err(io_err("socket(NETLINK_NETFILTER)"))?;
    bind(fd.as_raw_fd(), &NetlinkAddr::new(0, 0)).map_err(io_err("bind"))?;
    sendto(
        fd.as_raw_fd(),
        batch,
        &NetlinkAddr::new(0, 0),
        MsgFlags::empty(),
    )
    .map_err(io_err("sendto"))?;
    let mut buf = vec![0u8; 8192];
    loop {
        let n = match recv(fd.as_raw_fd(), &mut buf, MsgFlags::MSG_DONTWAIT) {
            Ok(n) => n,
            // Every acknowledgement read.
            Err(Errno::EAGAIN) => return Ok(()),
            Err(e) => return Err(io_err("recv")(e)),
        };
        if let Some(errno) = first_error(buf.get(..n).unwrap_or_default()) {
            return Err(SysError::Netlink {
                op,
                target: format!("nftables table ip6 {TABLE}"),
                source: io::Error::from_raw_os_error(errno),
            });
        }
    }
}

/// The errno of the first `NLMSG_ERROR` with a non-zero code in `msgs`.
fn first_error(mut msgs: &[u8]) -> Option<i32> {
    while msgs.len() >= 16 {
        let len = u32::from_ne_bytes(msgs[0..4].try_into().ok()?) as usize;
        let kind = u16::from_ne_bytes(msgs[4..6].try_into().ok()?);
        if len < 16 || len > msgs.len() {
            return None;
        }
        if kind == NLMSG_ERROR && len >= 20 {
            let code = i32::from_ne_bytes(msgs[16..20].try_into().ok()?);
            if code != 0 {
                return Some(-code);
            }
        }
        msgs = &msgs[len.next_multiple_of(4).min(msgs.len())..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Walks netlink messages: (type, flags, seq, body after nfgenmsg).
    fn messages(mut b: &[u8]) -> Vec<(u16, u16, u32, Vec<u8>)> {
        let mut out = Vec::new();
        while b.len() >= 20 {
            let len = u32::from_ne_bytes(b[0..4].try_into().unwrap()) as usize;
            out.push((
                u16::from_ne_bytes(b[4..6].try_into().unwrap()),
                u16::from_ne_bytes(b[6..8].try_into().unwrap()),
                u32::from_ne_bytes(b[8..12].try_into().unwrap()),
                b[20..len].to_vec(),
            ));
            b = &b[len..];
        }
        out
    }

    #[test]
    fn batch_replaces_the_table_atomically() {
        let hoa: Ipv6Addr = "2001:db8:1::1".parse().unwrap();
        let b = install_batch(&[
            Silence::DestinationOptionsTo(hoa),
            Silence::Type2RoutingHeader,
        ]);
        let m = messages(&b);
        let kinds: Vec<u16> = m.iter().map(|x| x.0).collect();
        let sub = |c| (NFNL_SUBSYS_NFTABLES << 8) | c;
        assert_eq!(
            kinds,
            vec![
                NFNL_MSG_BATCH_BEGIN,
                sub(NFT_MSG_NEWTABLE),
                sub(NFT_MSG_DELTABLE),
                sub(NFT_MSG_NEWTABLE),
                sub(NFT_MSG_NEWCHAIN),
                sub(NFT_MSG_NEWRULE),
                sub(NFT_MSG_NEWRULE),
                sub(NFT_MSG_NEWRULE),
                sub(NFT_MSG_NEWRULE),
                NFNL_MSG_BATCH_END,
            ]
        );
        // Sequence numbers 1.., every object message asks for an ack.
        assert!(m.iter().enumerate().all(|(i, x)| x.2 == i as u32 + 1));
        assert!(m[1..9].iter().all(|x| x.1 & NLM_F_ACK != 0));
        // Every message is whole 4-octet units; the address is in a rule.
        assert_eq!(b.len() % 4, 0);
        assert!(m[5].3.windows(16).any(|w| w == hoa.octets()));
        assert!(!m[7].3.windows(16).any(|w| w == hoa.octets()));
    }

    #[test]
    fn acknowledgement_errors_are_found() {
        let ack = |code: i32| {
            let mut m = Vec::new();
            m.extend_from_slice(&36u32.to_ne_bytes());
            m.extend_from_slice(&NLMSG_ERROR.to_ne_bytes());
            m.extend_from_slice(&0u16.to_ne_bytes());
            m.extend_from_slice(&[0; 8]);
            m.extend_from_slice(&code.to_ne_bytes());
            m.extend_from_slice(&[0; 16]);
            m
        };
        let mut two = ack(0);
        two.extend(ack(-libc::ENOENT));
        assert_eq!(first_error(&ack(0)), None);
        assert_eq!(first_error(&two), Some(libc::ENOENT));
        assert_eq!(first_error(&two[..10]), None);
    }
}
