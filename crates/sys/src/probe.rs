//! Run-time probes of the kernel facilities Mobile IPv6 can use
//! (`../shared/reference/mobility.md` §2.2, last column): whether each is
//! there, and why not when it is not.
//!
//! Everything runs in a scratch network namespace, on a thread of its own
//! that unshares one (CAP_SYS_ADMIN): the devices, addresses, routes,
//! rules and nftables objects a probe creates die with it, whatever
//! happens, and the caller's namespace is never touched. Each probe does
//! what the data plane would do and reports the kernel's answer.
//!
//! Panic contract: nothing here panics.

use std::io;
use std::net::Ipv6Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use futures::TryStreamExt as _;
use netlink_packet_route::route::{
    RouteSeg6IpTunnel, RouteSeg6LocalTunnel, Seg6Header, Seg6LocalAction, Seg6Mode,
};
use socket2::{Domain, Protocol, Socket, Type};

/// One facility and the kernel's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facility {
    /// Stable lowercase name (`tun`, `raw-ipv6-in-ipv6`, ...).
    pub name: &'static str,
    /// What v6edge uses it for (mobility.md §2.2 "Need").
    pub used_for: &'static str,
    pub present: bool,
    /// How it was found present, or the error that says it is absent.
    pub detail: String,
}

/// The names of [`probe_mobility`]'s facilities, in its order.
pub const FACILITIES: [&str; 11] = [
    "tun",
    "raw-ipv6-in-ipv6",
    "af-packet",
    "ipv6-join-anycast",
    "nft-queue",
    "xt-nfqueue",
    "seg6-encap-red",
    "seg6local-end-dt6",
    "ip6tnl",
    "policy-rules",
    "kernel-mip6",
];

/// Scratch objects' addresses (documentation prefix; the namespace is
/// private, so they can clash with nothing).
const SCRATCH_PREFIX: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xfe, 0, 0, 0, 0, 1);
const SCRATCH_PEER: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xfe, 0, 0, 0, 0, 2);
const SCRATCH_TABLE: u32 = 4242;

/// Runs every probe in a scratch network namespace and reports each
/// facility of [`FACILITIES`]. Fails only when the scratch namespace
/// cannot be had (not root: CAP_SYS_ADMIN is needed for unshare).
pub fn probe_mobility() -> io::Result<Vec<Facility>> {
    std::thread::Builder::new()
        .name("v6edge-probe".into())
        .spawn(|| {
            // SAFETY: unshare(2) takes flags only; it moves this thread
            // (and nothing else) into a new network namespace.
            if unsafe { libc::unshare(libc::CLONE_NEWNET) } < 0 {
                return Err(io::Error::last_os_error());
            }
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            Ok(rt.block_on(probe_all()))
        })?
        .join()
        .map_err(|_| io::Error::other("the probe thread panicked"))?
}

fn facility(name: &'static str, used_for: &'static str, r: io::Result<String>) -> Facility {
    match r {
        Ok(detail) => Facility {
            name,
            used_for,
            present: true,
            detail,
        },
        Err(e) => Facility {
            name,
            used_for,
            present: false,
            detail: e.to_string(),
        },
    }
}

fn nl_err(e: rtnetlink::Error) -> io::Error {
    match e {
        rtnetlink::Error::NetlinkError(m) => match m.code {
            Some(code) => io::Error::from_raw_os_error(-code.get()),
            None => io::Error::other("netlink error without a code"),
        },
        other => io::Error::other(other.to_string()),
    }
}

async fn probe_all() -> Vec<Facility> {
    let handle = match rtnetlink::new_connection() {
        Ok((conn, handle, _)) => {
            tokio::spawn(conn);
            Some(handle)
        }
        Err(_) => None,
    };
    let setup = match &handle {
        Some(h) => scratch_setup(h).await,
        None => Err(io::Error::other("no rtnetlink connection")),
    };
    let needs_setup = |r: io::Result<String>| match &setup {
        Ok(()) => r,
        Err(e) => Err(io::Error::other(format!("scratch setup failed: {e}"))),
    };
    let mut out = vec![
        facility("tun", "tunnel data plane (default)", probe_tun()),
        facility(
            "raw-ipv6-in-ipv6",
            "tunnel data plane (default)",
            raw_socket(Domain::IPV6, 41).map(|_| "socket(AF_INET6, SOCK_RAW, 41)".into()),
        ),
        facility(
            "af-packet",
            "HAO/RH2 reception, option B",
            af_packet().map(|_| "socket(AF_PACKET, SOCK_RAW, ETH_P_IPV6)".into()),
        ),
        facility(
            "ipv6-join-anycast",
            "DHAAD on the home agents anycast address",
            needs_setup(join_anycast()),
        ),
        facility("nft-queue", "HAO/RH2 reception, option A", nft_queue()),
        facility(
            "xt-nfqueue",
            "HAO/RH2 reception, option A (nft_compat)",
            xt_nfqueue(),
        ),
    ];
    match &handle {
        Some(h) => {
            out.push(facility(
                "seg6-encap-red",
                "tunnel fast path (per binding)",
                needs_setup(seg6_encap_red(h).await),
            ));
            out.push(facility(
                "seg6local-end-dt6",
                "tunnel fast path (decapsulation)",
                needs_setup(seg6_end_dt6(h).await),
            ));
            out.push(facility(
                "ip6tnl",
                "classic tunnel devices",
                ip6tnl(h).await,
            ));
            out.push(facility(
                "policy-rules",
                "home address as source, outer traffic from the care-of address",
                policy_rule(h).await,
            ));
        }
        None => {
            for (name, used_for) in [
                ("seg6-encap-red", "tunnel fast path (per binding)"),
                ("seg6local-end-dt6", "tunnel fast path (decapsulation)"),
                ("ip6tnl", "classic tunnel devices"),
                ("policy-rules", "home address as source"),
            ] {
                out.push(facility(
                    name,
                    used_for,
                    Err(io::Error::other("no rtnetlink connection")),
                ));
            }
        }
    }
    out.push(facility(
        "kernel-mip6",
        "none: its presence means the kernel may claim HAO/RH2 itself",
        kernel_mip6(),
    ));
    out
}

/// lo up with a scratch /64 on it: routes and anycast need a live device
/// and an on-link prefix.
async fn scratch_setup(h: &rtnetlink::Handle) -> io::Result<()> {
    let lo = h
        .link()
        .get()
        .match_name("lo")
        .execute()
        .try_next()
        .await
        .map_err(nl_err)?
        .ok_or_else(|| io::Error::other("no lo in the scratch namespace"))?
        .header
        .index;
    h.link()
        .set(rtnetlink::LinkUnspec::new_with_index(lo).up().build())
        .execute()
        .await
        .map_err(nl_err)?;
    h.address()
        .add(lo, SCRATCH_PREFIX.into(), 64)
        .execute()
        .await
        .map_err(nl_err)?;
    Ok(())
}

fn probe_tun() -> io::Result<String> {
    // Not persistent: the device goes when the descriptor closes.
    crate::tun::Tun::create("v6e-probe0")
        .map(|_| "TUNSETIFF IFF_TUN|IFF_NO_PI".into())
        .map_err(|e| io::Error::other(e.to_string()))
}

fn raw_socket(domain: Domain, protocol: i32) -> io::Result<Socket> {
    Socket::new(domain, Type::RAW, Some(Protocol::from(protocol)))
}

fn af_packet() -> io::Result<OwnedFd> {
    let proto = i32::from((libc::ETH_P_IPV6 as u16).to_be());
    // SAFETY: socket(2) with constant arguments; the result is checked.
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, proto) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is a fresh descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn setsockopt_bytes(fd: &impl AsRawFd, level: i32, name: i32, value: &[u8]) -> io::Result<()> {
    // SAFETY: value points at value.len() readable bytes for the call.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            value.as_ptr().cast(),
            value.len() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn join_anycast() -> io::Result<String> {
    let sock = Socket::new(Domain::IPV6, Type::DGRAM, Some(Protocol::UDP))?;
    // The Mobile IPv6 Home-Agents anycast address of the scratch /64
    // (RFC 2526), on lo (ifindex 1).
    let anycast = Ipv6Addr::new(0x2001, 0xdb8, 0xfe, 0, 0xfdff, 0xffff, 0xffff, 0xfffe);
    let mut mreq = anycast.octets().to_vec();
    mreq.extend_from_slice(&1i32.to_ne_bytes());
    setsockopt_bytes(&sock, libc::IPPROTO_IPV6, libc::IPV6_JOIN_ANYCAST, &mreq)?;
    Ok(format!("IPV6_JOIN_ANYCAST {anycast}"))
}

/// RFC 6275 §6.4: a Type 2 Routing Header. Without CONFIG_IPV6_MIP6 the
/// socket API accepts no routing-header type (mobility.md §2.1).
fn kernel_mip6() -> io::Result<String> {
    let sock = raw_socket(Domain::IPV6, 58)?;
    let mut rh2 = vec![0u8, 2, 2, 1, 0, 0, 0, 0];
    rh2.extend_from_slice(&SCRATCH_PEER.octets());
    match setsockopt_bytes(&sock, libc::IPPROTO_IPV6, libc::IPV6_RTHDR, &rh2) {
        Ok(()) => Ok("IPV6_RTHDR with a type 2 header accepted: CONFIG_IPV6_MIP6".into()),
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => Err(io::Error::other(
            "IPV6_RTHDR type 2: EINVAL (no CONFIG_IPV6_MIP6; v6edge does its job)",
        )),
        Err(e) => Err(e),
    }
}

async fn seg6_encap_red(h: &rtnetlink::Handle) -> io::Result<String> {
    // SEG6_IPTUN_MODE_ENCAP_RED (Linux >= 6.0): one segment, no SRH:
    // plain RFC 2473 IPv6-in-IPv6.
    const ENCAP_RED: u32 = 3;
    let mut header = Seg6Header::default();
    header.mode = Seg6Mode::Other(ENCAP_RED);
    header.segments = vec![SCRATCH_PEER];
    let route = rtnetlink::RouteMessageBuilder::<Ipv6Addr>::new()
        .destination_prefix(Ipv6Addr::new(0x2001, 0xdb8, 0xfe, 1, 0, 0, 0, 0x200), 128)
        .table_id(SCRATCH_TABLE)
        .output_interface(1)
        .encap_seg6(vec![RouteSeg6IpTunnel::Seg6(header)])
        .build();
    h.route().add(route).execute().await.map_err(nl_err)?;
    Ok(format!(
        "encap seg6 mode encap.red route in table {SCRATCH_TABLE}"
    ))
}

async fn seg6_end_dt6(h: &rtnetlink::Handle) -> io::Result<String> {
    let route = rtnetlink::RouteMessageBuilder::<Ipv6Addr>::new()
        .destination_prefix(SCRATCH_PREFIX, 128)
        .table_id(SCRATCH_TABLE + 1)
        .output_interface(1)
        .encap_seg6local(vec![
            RouteSeg6LocalTunnel::Action(Seg6LocalAction::EndDt6),
            RouteSeg6LocalTunnel::Table(SCRATCH_TABLE),
        ])
        .build();
    h.route().add(route).execute().await.map_err(nl_err)?;
    Ok(format!(
        "seg6local End.DT6 route in table {} decapsulating into {SCRATCH_TABLE}",
        SCRATCH_TABLE + 1
    ))
}

async fn ip6tnl(h: &rtnetlink::Handle) -> io::Result<String> {
    h.link()
        .add(rtnetlink::LinkIp6Tnl::new("v6e-probe1").build())
        .execute()
        .await
        .map_err(nl_err)?;
    // The namespace takes it away anyway; deleting says the kernel lets go.
    let index = h
        .link()
        .get()
        .match_name("v6e-probe1")
        .execute()
        .try_next()
        .await
        .map_err(nl_err)?
        .map(|l| l.header.index);
    if let Some(index) = index {
        h.link().del(index).execute().await.map_err(nl_err)?;
    }
    Ok("RTM_NEWLINK kind ip6tnl, then deleted".into())
}

async fn policy_rule(h: &rtnetlink::Handle) -> io::Result<String> {
    h.rule()
        .add()
        .v6()
        .source_prefix(SCRATCH_PREFIX, 128)
        .table_id(SCRATCH_TABLE)
        .priority(1000)
        .execute()
        .await
        .map_err(nl_err)?;
    Ok(format!(
        "ip -6 rule from {SCRATCH_PREFIX} lookup {SCRATCH_TABLE}"
    ))
}

// nfnetlink (linux/netfilter/nfnetlink.h, nf_tables.h, nft_compat.h).
const NETLINK_NETFILTER: i32 = 12;
const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFNL_SUBSYS_NFT_COMPAT: u16 = 11;
const NFNL_MSG_BATCH_BEGIN: u16 = 0x10;
const NFNL_MSG_BATCH_END: u16 = 0x11;
const NFT_MSG_NEWTABLE: u16 = 0;
const NFT_MSG_NEWCHAIN: u16 = 3;
const NFT_MSG_NEWRULE: u16 = 6;
const NFPROTO_IPV6: u8 = 10;
const NLA_F_NESTED: u16 = 0x8000;

/// A netlink attribute (type, payload), padded to 4.
fn nla(kind: u16, payload: &[u8]) -> Vec<u8> {
    let len = 4 + payload.len();
    let mut a = Vec::with_capacity(len + 3);
    a.extend_from_slice(&(len as u16).to_ne_bytes());
    a.extend_from_slice(&kind.to_ne_bytes());
    a.extend_from_slice(payload);
    a.resize(len.next_multiple_of(4), 0);
    a
}

fn nla_str(kind: u16, s: &str) -> Vec<u8> {
    let mut b = s.as_bytes().to_vec();
    b.push(0);
    nla(kind, &b)
}

fn nla_nested(kind: u16, parts: &[Vec<u8>]) -> Vec<u8> {
    nla(kind | NLA_F_NESTED, &parts.concat())
}

/// One nfnetlink message: netlink header, nfgenmsg, attributes.
fn nfnl_msg(kind: u16, flags: u16, seq: u32, family: u8, res_id: u16, attrs: &[u8]) -> Vec<u8> {
    let len = 16 + 4 + attrs.len();
    let mut m = Vec::with_capacity(len);
    m.extend_from_slice(&(len as u32).to_ne_bytes());
    m.extend_from_slice(&kind.to_ne_bytes());
    m.extend_from_slice(&flags.to_ne_bytes());
    m.extend_from_slice(&seq.to_ne_bytes());
    m.extend_from_slice(&0u32.to_ne_bytes());
    m.push(family);
    m.push(0); // NFNETLINK_V0
    m.extend_from_slice(&res_id.to_be_bytes());
    m.extend_from_slice(attrs);
    m
}

fn netfilter_socket() -> io::Result<OwnedFd> {
    // SAFETY: socket(2) with constant arguments; the result is checked.
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            NETLINK_NETFILTER,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is a fresh descriptor nobody else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // Answers come at once; a second is plenty and bounds the wait.
    let timeout = libc::timeval {
        tv_sec: 1,
        tv_usec: 0,
    };
    // SAFETY: a timeval of the right size for SO_RCVTIMEO.
    let bytes = unsafe {
        std::slice::from_raw_parts(
            (&timeout as *const libc::timeval).cast::<u8>(),
            std::mem::size_of::<libc::timeval>(),
        )
    };
    setsockopt_bytes(&fd, libc::SOL_SOCKET, libc::SO_RCVTIMEO, bytes)?;
    Ok(fd)
}

/// Sends `request` and reads answers until every sequence number in
/// `acks` is acknowledged (Ok) or one is refused (its errno); a reply
/// message that is not an error counts as the acknowledgement of its
/// sequence number.
fn nfnl_transact(request: &[u8], acks: &[u32]) -> io::Result<()> {
    let fd = netfilter_socket()?;
    // SAFETY: sockaddr_nl is plain data; zero is "the kernel".
    let mut kernel: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    kernel.nl_family = libc::AF_NETLINK as u16;
    // SAFETY: request and kernel outlive the call, lengths are theirs.
    let sent = unsafe {
        libc::sendto(
            fd.as_raw_fd(),
            request.as_ptr().cast(),
            request.len(),
            0,
            (&kernel as *const libc::sockaddr_nl).cast(),
            std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
        )
    };
    if sent < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut pending: Vec<u32> = acks.to_vec();
    let mut buf = vec![0u8; 16384];
    while !pending.is_empty() {
        // SAFETY: buf is writable for its length.
        let n = unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut rest = &buf[..n as usize];
        while rest.len() >= 16 {
            let len = u32::from_ne_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
            let kind = u16::from_ne_bytes([rest[4], rest[5]]);
            let seq = u32::from_ne_bytes([rest[8], rest[9], rest[10], rest[11]]);
            if len < 16 || len > rest.len() {
                break;
            }
            if kind == libc::NLMSG_ERROR as u16 && len >= 20 {
                let code = i32::from_ne_bytes([rest[16], rest[17], rest[18], rest[19]]);
                if code < 0 {
                    return Err(io::Error::from_raw_os_error(-code));
                }
            }
            pending.retain(|&s| s != seq);
            rest = &rest[len.next_multiple_of(4).min(rest.len())..];
        }
    }
    Ok(())
}

/// nftables' `queue` statement: a table, a base chain and a rule with the
/// queue expression in one batch (ENOENT without NFT_QUEUE).
fn nft_queue() -> io::Result<String> {
    let req = (libc::NLM_F_REQUEST | libc::NLM_F_ACK) as u16;
    let create = req | (libc::NLM_F_CREATE | libc::NLM_F_EXCL) as u16;
    let t = |m: u16| (NFNL_SUBSYS_NFTABLES << 8) | m;
    let table = nla_str(1, "v6edge_probe"); // NFTA_TABLE_NAME
    let chain_attrs = [
        nla_str(1, "v6edge_probe"), // NFTA_CHAIN_TABLE
        nla_str(3, "probe"),        // NFTA_CHAIN_NAME
        nla_nested(
            4, // NFTA_CHAIN_HOOK
            &[
                nla(1, &0u32.to_be_bytes()), // NFTA_HOOK_HOOKNUM: prerouting
                nla(2, &0u32.to_be_bytes()), // NFTA_HOOK_PRIORITY
            ],
        ),
        nla_str(7, "filter"), // NFTA_CHAIN_TYPE
    ]
    .concat();
    let queue_expr = nla_nested(
        1, // NFTA_LIST_ELEM
        &[
            nla_str(1, "queue"), // NFTA_EXPR_NAME
            nla_nested(
                2, // NFTA_EXPR_DATA
                &[
                    nla(1, &0u16.to_be_bytes()), // NFTA_QUEUE_NUM
                    nla(2, &1u16.to_be_bytes()), // NFTA_QUEUE_TOTAL
                ],
            ),
        ],
    );
    let rule_attrs = [
        nla_str(1, "v6edge_probe"),   // NFTA_RULE_TABLE
        nla_str(2, "probe"),          // NFTA_RULE_CHAIN
        nla_nested(4, &[queue_expr]), // NFTA_RULE_EXPRESSIONS
    ]
    .concat();
    let batch = [
        nfnl_msg(
            NFNL_MSG_BATCH_BEGIN,
            libc::NLM_F_REQUEST as u16,
            1,
            0,
            NFNL_SUBSYS_NFTABLES,
            &[],
        ),
        nfnl_msg(t(NFT_MSG_NEWTABLE), create, 2, NFPROTO_IPV6, 0, &table),
        nfnl_msg(
            t(NFT_MSG_NEWCHAIN),
            create,
            3,
            NFPROTO_IPV6,
            0,
            &chain_attrs,
        ),
        nfnl_msg(t(NFT_MSG_NEWRULE), create, 4, NFPROTO_IPV6, 0, &rule_attrs),
        nfnl_msg(
            NFNL_MSG_BATCH_END,
            libc::NLM_F_REQUEST as u16,
            5,
            0,
            NFNL_SUBSYS_NFTABLES,
            &[],
        ),
    ]
    .concat();
    nfnl_transact(&batch, &[2, 3, 4])?;
    Ok("nft rule with a queue statement in a scratch table".into())
}

/// The xt `NFQUEUE` target (revision 3) through nft_compat: what
/// `ip6tables-nft -j NFQUEUE` uses when NFT_QUEUE is absent.
fn xt_nfqueue() -> io::Result<String> {
    let attrs = [
        nla_str(1, "NFQUEUE"),       // NFTA_COMPAT_NAME
        nla(2, &3u32.to_be_bytes()), // NFTA_COMPAT_REV
        nla(3, &1u32.to_be_bytes()), // NFTA_COMPAT_TYPE: target
    ]
    .concat();
    let msg = nfnl_msg(
        NFNL_SUBSYS_NFT_COMPAT << 8, // NFNL_MSG_COMPAT_GET
        (libc::NLM_F_REQUEST | libc::NLM_F_ACK) as u16,
        1,
        NFPROTO_IPV6,
        0,
        &attrs,
    );
    nfnl_transact(&msg, &[1])?;
    Ok("NFNL_MSG_COMPAT_GET target NFQUEUE revision 3".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netlink_attributes_are_padded_and_nested() {
        assert_eq!(nla(1, &[7]), vec![5, 0, 1, 0, 7, 0, 0, 0]);
        assert_eq!(nla_str(3, "ab"), vec![7, 0, 3, 0, b'a', b'b', 0, 0]);
        let n = nla_nested(4, &[nla(1, &[1, 2, 3, 4])]);
        assert_eq!(u16::from_ne_bytes([n[2], n[3]]), 4 | NLA_F_NESTED);
        assert_eq!(u16::from_ne_bytes([n[0], n[1]]) as usize, n.len());
        let m = nfnl_msg(0x0a00, 5, 9, NFPROTO_IPV6, 10, &nla(1, &[]));
        assert_eq!(
            u32::from_ne_bytes(m[0..4].try_into().unwrap()) as usize,
            m.len()
        );
        assert_eq!(&m[16..20], &[NFPROTO_IPV6, 0, 0, 10]);
    }
}
