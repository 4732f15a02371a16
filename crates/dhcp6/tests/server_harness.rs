//! Test harness for the DHCPv6 server machine: fake clients and relays
//! built with the codec, explicit instants, and readers for what the server
//! answered. Included by the `server*` tests with `#[path]`; compiled alone
//! it holds no tests.
#![allow(dead_code)]

use std::net::Ipv6Addr;
use std::time::Duration;
use v6edge_core::{Instant, KernelOp, Received, RouteSpec, Transmit, Transport};
use v6edge_dhcp6::server::{
    AddressPool, LeaseOp, LinkConfig, LinkSelector, PrefixPool, Server, ServerConfig, ServerNotice,
    ServerOutput,
};
use v6edge_prefix::Prefix;
use v6edge_wire::Lifetime;
use v6edge_wire::dhcp6::{
    ClientMessage, DhcpOption, Duid, IaAddr, IaNa, IaPd, IaPrefix, Message, MessageType,
    OptionCode, RelayMessage, StatusCode, Xid,
};

/// The server's client-facing interface.
pub const IF: u32 = 3;
/// The interface relayed traffic arrives on.
pub const RELAY_IF: u32 = 4;
pub const ALL_SERVERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 1, 2);
pub const SERVER_ADDR: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xa0, 0, 0, 0, 0, 1);
pub const RELAY_ADDR: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xa0, 0, 0, 0, 0, 2);
/// The link-address relays put in their Relay-forwards: the relayed link
/// of [`config`].
pub const RELAY_LINK: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xa1, 0, 0, 0, 0, 1);

pub fn pfx(s: &str) -> Prefix {
    s.parse().expect("test prefix")
}

pub fn addr(s: &str) -> Ipv6Addr {
    s.parse().expect("test address")
}

pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

pub fn at(s: u64) -> Instant {
    Instant::from_secs(s)
}

pub fn server_duid() -> Duid {
    Duid::new_ll(1, &[0x02, 0, 0, 0, 0x5e, 0x01])
}

/// A prefix pool delegating /`len`s from `prefix`, preferred 30 min and
/// valid 1 h, no exclusion, no absolute end.
pub fn prefix_pool(prefix: &str, len: u8) -> PrefixPool {
    PrefixPool {
        prefix: pfx(prefix),
        delegated_len: len,
        preferred: secs(1800),
        valid: secs(3600),
        exclude_first: None,
        ends: None,
    }
}

/// A link chosen by `id` with address pools `start..=end` (preferred 1 h,
/// valid 2 h) and prefix pools (prefix, delegated length) as
/// [`prefix_pool`] builds them.
pub fn link(id: LinkSelector, addresses: &[(&str, &str)], prefixes: &[(&str, u8)]) -> LinkConfig {
    LinkConfig {
        id,
        address_pools: addresses
            .iter()
            .map(|&(start, end)| AddressPool {
                range_start: addr(start),
                range_end: addr(end),
                preferred: secs(3600),
                valid: secs(7200),
            })
            .collect(),
        prefix_pools: prefixes
            .iter()
            .map(|&(p, len)| prefix_pool(p, len))
            .collect(),
    }
}

/// The direct link: addresses 2001:db8:1::100-1ff (1 h / 2 h) and /56s
/// from 2001:db8:100::/48 (30 min / 1 h). The relayed link 2001:db8:a1::/64
/// (the link-address the captured relays use): addresses 2001:db8:a1::100-
/// 1ff and /56s from 2001:db8:b000::/40. Link-address `::` with
/// Interface-ID "eth9": /64s from 2001:db8:300::/56.
pub fn config() -> ServerConfig {
    let relayed = LinkSelector::RelayLinkAddress(pfx("2001:db8:a1::/64"));
    let by_interface_id = LinkSelector::RelayInterfaceId(b"eth9".to_vec());
    let mut c = ServerConfig::new(server_duid());
    c.links = vec![
        link(
            LinkSelector::Interface(IF),
            &[("2001:db8:1::100", "2001:db8:1::1ff")],
            &[("2001:db8:100::/48", 56)],
        ),
        link(
            relayed,
            &[("2001:db8:a1::100", "2001:db8:a1::1ff")],
            &[("2001:db8:b000::/40", 56)],
        ),
        link(by_interface_id, &[], &[("2001:db8:300::/56", 64)]),
    ];
    c
}

/// A fake client: its DUID and link-local address.
#[derive(Debug, Clone)]
pub struct Client {
    pub duid: Duid,
    pub ll: Ipv6Addr,
    pub oro: Vec<OptionCode>,
}

impl Client {
    pub fn new(n: u16) -> Client {
        let [hi, lo] = n.to_be_bytes();
        Client {
            duid: Duid::new_ll(1, &[0x02, 0, 0, 0xc1, hi, lo]),
            ll: Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0xc1, n),
            oro: Vec::new(),
        }
    }

    /// A message of type `t` with Client Identifier, Elapsed Time, ORO (if
    /// any) and `opts`.
    pub fn msg(&self, t: MessageType, xid: u32, opts: Vec<DhcpOption>) -> ClientMessage {
        let mut m = ClientMessage::new(t, Xid::new(xid))
            .with(DhcpOption::ClientId(self.duid.clone()))
            .with(DhcpOption::ElapsedTime(0));
        if !self.oro.is_empty() {
            m = m.with(DhcpOption::Oro(self.oro.clone()));
        }
        for o in opts {
            m = m.with(o);
        }
        m
    }

    /// Request, Renew, Release, Decline carry the Server Identifier.
    pub fn to_server(&self, t: MessageType, xid: u32, mut opts: Vec<DhcpOption>) -> ClientMessage {
        opts.insert(0, DhcpOption::ServerId(server_duid()));
        self.msg(t, xid, opts)
    }

    /// A message of type `t` as RFC 8415 §16 has a client send it: with
    /// the Server Identifier in Request, Renew, Release and Decline only.
    pub fn message(&self, t: MessageType, xid: u32, opts: Vec<DhcpOption>) -> ClientMessage {
        match t {
            MessageType::Request
            | MessageType::Renew
            | MessageType::Release
            | MessageType::Decline => self.to_server(t, xid, opts),
            _ => self.msg(t, xid, opts),
        }
    }
}

/// Typed senders for a type with `fn send(&mut self, &Client,
/// ClientMessage) -> Outs`: `solicit(c, xid, opts)` and so on send client
/// `c`'s message of that type as [`Client::message`] builds it.
macro_rules! senders {
    ($($name:ident => $t:ident),* $(,)?) => {
        $(
            pub fn $name(&mut self, c: &Client, xid: u32, opts: Vec<DhcpOption>) -> Outs {
                self.send(c, c.message(MessageType::$t, xid, opts))
            }
        )*
    };
}

/// The client-to-server message types, each sent as [`Client::message`]
/// builds it.
macro_rules! all_senders {
    () => {
        senders! {
            solicit => Solicit,
            request => Request,
            renew => Renew,
            rebind => Rebind,
            release => Release,
            decline => Decline,
            confirm => Confirm,
            information_request => InformationRequest,
        }
    };
}

/// IA_PD with prefixes ("2001:db8::/56") or length hints ("::/60").
pub fn pd(iaid: u32, prefixes: &[&str]) -> DhcpOption {
    let mut ia = IaPd::new(iaid, 0, 0);
    for s in prefixes {
        let (a, l) = s.split_once('/').expect("addr/len");
        ia.options.push(DhcpOption::IaPrefix(IaPrefix::new(
            addr(a),
            l.parse().expect("len"),
            Lifetime::ZERO,
            Lifetime::ZERO,
        )));
    }
    DhcpOption::IaPd(ia)
}

/// IA_PD `iaid` holding `p` (lifetimes zero, as a client sends it).
pub fn holding(iaid: u32, p: Prefix) -> DhcpOption {
    pd(iaid, &[&p.to_string()])
}

pub fn na(iaid: u32, addrs: &[&str]) -> DhcpOption {
    let mut ia = IaNa::new(iaid, 0, 0);
    for s in addrs {
        ia.options.push(DhcpOption::IaAddr(IaAddr::new(
            addr(s),
            Lifetime::ZERO,
            Lifetime::ZERO,
        )));
    }
    DhcpOption::IaNa(ia)
}

/// Outputs of one input, split by kind (order checked on the way in).
#[derive(Debug, Default, Clone)]
pub struct Outs {
    pub all: Vec<ServerOutput>,
}

impl Outs {
    pub fn leases(&self) -> Vec<&LeaseOp> {
        self.all
            .iter()
            .filter_map(|o| match o {
                ServerOutput::Lease(l) => Some(l),
                _ => None,
            })
            .collect()
    }

    pub fn transmits(&self) -> Vec<&Transmit> {
        self.all
            .iter()
            .filter_map(|o| match o {
                ServerOutput::Transmit(t) => Some(t),
                _ => None,
            })
            .collect()
    }

    pub fn kernel(&self) -> Vec<&KernelOp> {
        self.all
            .iter()
            .filter_map(|o| match o {
                ServerOutput::Kernel(k) => Some(k),
                _ => None,
            })
            .collect()
    }

    pub fn notices(&self) -> Vec<&ServerNotice> {
        self.all
            .iter()
            .filter_map(|o| match o {
                ServerOutput::Notice(n) => Some(n),
                _ => None,
            })
            .collect()
    }

    pub fn set_routes(&self) -> Vec<&RouteSpec> {
        self.kernel()
            .into_iter()
            .filter_map(|k| match k {
                KernelOp::SetRoute(r) => Some(r),
                _ => None,
            })
            .collect()
    }

    pub fn del_routes(&self) -> Vec<&RouteSpec> {
        self.kernel()
            .into_iter()
            .filter_map(|k| match k {
                KernelOp::DelRoute(r) => Some(r),
                _ => None,
            })
            .collect()
    }

    pub fn upserts(&self) -> Vec<Prefix> {
        self.leases()
            .into_iter()
            .filter_map(|l| match l {
                LeaseOp::Upsert(l) => Some(l.prefix),
                _ => None,
            })
            .collect()
    }

    pub fn removes(&self) -> Vec<Prefix> {
        self.leases()
            .into_iter()
            .filter_map(|l| match l {
                LeaseOp::Remove { prefix, .. } => Some(*prefix),
                _ => None,
            })
            .collect()
    }

    /// The single datagram sent, decoded.
    pub fn sent(&self) -> Option<Message> {
        let t = self.transmits();
        assert!(t.len() <= 1, "one answer per message: {t:?}");
        t.first()
            .map(|t| Message::parse(&t.payload).expect("server output parses"))
    }

    /// The client message sent (unwrapping Relay-reply layers).
    pub fn reply(&self) -> ClientMessage {
        let m = self.sent().expect("an answer");
        m.innermost().expect("a client message inside").0.clone()
    }
}

fn rank(o: &ServerOutput) -> u8 {
    match o {
        ServerOutput::Lease(_) => 0,
        ServerOutput::Transmit(_) => 1,
        ServerOutput::Kernel(_) => 2,
        ServerOutput::Notice(_) => 3,
    }
}

/// The server under test with a clock.
pub struct H {
    pub s: Server,
    pub now: Instant,
}

impl H {
    pub fn new(c: ServerConfig) -> H {
        H {
            s: Server::new(c, 7, at(1000)),
            now: at(1000),
        }
    }

    pub fn advance(&mut self, d: Duration) -> Outs {
        self.now += d;
        self.s.handle_timeout(self.now);
        self.drain()
    }

    pub fn drain(&mut self) -> Outs {
        let mut all = Vec::new();
        while let Some(o) = self.s.poll_output() {
            all.push(o);
        }
        // The contract: Lease, then Transmit, then Kernel, then notices.
        for w in all.windows(2) {
            assert!(rank(&w[0]) <= rank(&w[1]), "output order broken: {all:?}");
        }
        Outs { all }
    }

    pub fn rx(&mut self, ifindex: u32, src: Ipv6Addr, dst: Ipv6Addr, bytes: &[u8]) -> Outs {
        self.s.handle_packet(
            self.now,
            &Received {
                ifindex,
                src,
                dst,
                hop_limit: 1,
                bytes,
            },
        );
        self.drain()
    }

    /// A client message multicast on the direct link.
    pub fn send(&mut self, c: &Client, m: ClientMessage) -> Outs {
        let bytes = Message::Client(m).to_bytes();
        self.rx(IF, c.ll, ALL_SERVERS, &bytes)
    }

    /// A client message unicast to the server.
    pub fn send_unicast(&mut self, c: &Client, m: ClientMessage) -> Outs {
        let bytes = Message::Client(m).to_bytes();
        self.rx(IF, c.ll, SERVER_ADDR, &bytes)
    }

    /// Relayed once by a relay with this link-address (and options).
    pub fn send_relayed(
        &mut self,
        c: &Client,
        m: ClientMessage,
        link_address: Ipv6Addr,
        relay_opts: Vec<DhcpOption>,
    ) -> Outs {
        let mut r = RelayMessage::forward(Message::Client(m), 0, link_address, c.ll);
        for o in relay_opts {
            r = r.with(o);
        }
        let bytes = Message::Relay(r).to_bytes();
        self.rx(RELAY_IF, RELAY_ADDR, SERVER_ADDR, &bytes)
    }

    all_senders!();

    /// The same messages relayed once by a relay with link-address `link`
    /// adding `relay_opts` (see [`H::send_relayed`]).
    pub fn via(&mut self, link: Ipv6Addr, relay_opts: Vec<DhcpOption>) -> Via<'_> {
        Via {
            h: self,
            link,
            relay_opts,
        }
    }

    /// Solicit, Request: the prefixes and addresses granted.
    pub fn bind(&mut self, c: &Client, ias: Vec<DhcpOption>) -> ClientMessage {
        let adv = self.solicit(c, 1, ias.clone()).reply();
        assert_eq!(adv.msg_type, MessageType::Advertise);
        let offered: Vec<DhcpOption> = adv
            .options
            .iter()
            .filter(|o| matches!(o, DhcpOption::IaPd(_) | DhcpOption::IaNa(_)))
            .cloned()
            .collect();
        self.request(c, 2, offered).reply()
    }
}

/// Client messages through one relay (from [`H::via`]).
pub struct Via<'a> {
    h: &'a mut H,
    link: Ipv6Addr,
    relay_opts: Vec<DhcpOption>,
}

impl Via<'_> {
    pub fn send(&mut self, c: &Client, m: ClientMessage) -> Outs {
        let relay_opts = self.relay_opts.clone();
        self.h.send_relayed(c, m, self.link, relay_opts)
    }

    all_senders!();
}

/// (prefix, preferred, valid) of each IA Prefix in the IA_PD `iaid`.
pub fn prefixes(m: &ClientMessage, iaid: u32) -> Vec<(Prefix, u32, u32)> {
    m.options
        .ia_pds()
        .filter(|ia| ia.iaid == iaid)
        .flat_map(|ia| ia.prefixes())
        .map(|p| {
            (
                Prefix::new(p.prefix, p.prefix_len).expect("server prefixes have no host bits"),
                p.preferred.to_wire(),
                p.valid.to_wire(),
            )
        })
        .collect()
}

/// The one IA Prefix of IA_PD `iaid`: (prefix, preferred, valid).
pub fn the_lease(m: &ClientMessage, iaid: u32) -> (Prefix, u32, u32) {
    let all = prefixes(m, iaid);
    assert_eq!(all.len(), 1, "IA_PD {iaid}: {m:?}");
    all[0]
}

/// The single live prefix of IA_PD `iaid`.
pub fn the_prefix(m: &ClientMessage, iaid: u32) -> Prefix {
    let live: Vec<_> = prefixes(m, iaid).into_iter().filter(|p| p.2 > 0).collect();
    assert_eq!(live.len(), 1, "IA_PD {iaid}: {m:?}");
    live[0].0
}

pub fn addresses(m: &ClientMessage, iaid: u32) -> Vec<(Ipv6Addr, u32, u32)> {
    m.options
        .ia_nas()
        .filter(|ia| ia.iaid == iaid)
        .flat_map(|ia| ia.addresses())
        .map(|a| (a.addr, a.preferred.to_wire(), a.valid.to_wire()))
        .collect()
}

/// The status code in the first IA_PD `iaid`.
pub fn pd_status(m: &ClientMessage, iaid: u32) -> Option<StatusCode> {
    let ia = m.options.ia_pds().find(|ia| ia.iaid == iaid)?;
    ia.status().map(|s| s.code)
}

/// The status code in the first IA_NA `iaid`.
pub fn na_status(m: &ClientMessage, iaid: u32) -> Option<StatusCode> {
    let ia = m.options.ia_nas().find(|ia| ia.iaid == iaid)?;
    ia.status().map(|s| s.code)
}

pub fn top_status(m: &ClientMessage) -> Option<StatusCode> {
    m.options.status().map(|s| s.code)
}

/// The relay message `m` is; panics on a client message.
pub fn as_relay(m: &Message) -> &RelayMessage {
    match m {
        Message::Relay(r) => r,
        Message::Client(c) => panic!("expected a relay message, got {c:?}"),
    }
}

/// (type, hop count, link-address, peer-address) of a relay message.
pub fn relay_header(r: &RelayMessage) -> (MessageType, u8, Ipv6Addr, Ipv6Addr) {
    (r.msg_type, r.hop_count, r.link_address, r.peer_address)
}

/// UDP from port `src_port` to `dst_port`.
pub fn udp(src_port: u16, dst_port: u16) -> Transport {
    Transport::Udp { src_port, dst_port }
}

/// True when the message's transport is UDP 547 → `port`.
pub fn udp_to(t: &Transmit, port: u16) -> bool {
    t.transport == udp(547, port)
}
