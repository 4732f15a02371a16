//! A test harness for the DHCPv6 client: a fake server built with the
//! codec, explicit time, and helpers to read what the client sent.
#![allow(dead_code)]

use std::net::Ipv6Addr;
use std::time::Duration;
use v6edge_core::{Instant, Received, Transmit, Transport};
use v6edge_dhcp6::client::{Client, ClientConfig, ClientEvent, IaNaConfig, IaPdConfig, Leases};
use v6edge_prefix::Prefix;
use v6edge_wire::Lifetime;
use v6edge_wire::dhcp6::{
    Authentication, ClientMessage, DhcpOption, DomainName, Duid, IaAddr, IaNa, IaPd, IaPrefix,
    Message, MessageType, OptionCode, Status, StatusCode, Xid,
};

pub const IFINDEX: u32 = 2;
pub const SERVER_LL: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);
pub const CLIENT_LL: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 2);
pub const ALL_SERVERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 1, 2);

pub fn client_duid() -> Duid {
    Duid::new_ll(1, &[0x02, 0, 0, 0, 0, 0x01])
}

pub fn server_duid(n: u8) -> Duid {
    Duid::new_ll(1, &[0x02, 0, 0, 0, 0xee, n])
}

pub fn pfx(s: &str) -> Prefix {
    s.parse().expect("test prefix")
}

pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

pub fn at(s: u64) -> Instant {
    Instant::from_secs(s)
}

pub fn pd_config() -> ClientConfig {
    ClientConfig::new(
        IFINDEX,
        client_duid(),
        vec![IaPdConfig {
            iaid: 1,
            hint_len: Some(56),
            hint_prefix: None,
        }],
    )
}

pub fn pd_na_config() -> ClientConfig {
    let mut c = pd_config();
    c.ia_na = Some(IaNaConfig { iaid: 7 });
    c
}

/// One sent datagram, decoded.
#[derive(Debug, Clone)]
pub struct Sent {
    pub at: Instant,
    pub msg: ClientMessage,
}

impl Sent {
    pub fn ty(&self) -> MessageType {
        self.msg.msg_type
    }
    pub fn xid(&self) -> Xid {
        self.msg.xid
    }
    pub fn ia_pd(&self, iaid: u32) -> Option<&IaPd> {
        self.msg.options.ia_pds().find(|ia| ia.iaid == iaid)
    }
    pub fn ia_na(&self, iaid: u32) -> Option<&IaNa> {
        self.msg.options.ia_nas().find(|ia| ia.iaid == iaid)
    }
    pub fn pd_prefixes(&self, iaid: u32) -> Vec<(Ipv6Addr, u8)> {
        self.ia_pd(iaid)
            .map(|ia| ia.prefixes().map(|p| (p.prefix, p.prefix_len)).collect())
            .unwrap_or_default()
    }
    pub fn elapsed(&self) -> Option<u16> {
        self.msg.options.elapsed_time()
    }
    /// Whether the Option Request option lists `code` (it must be there).
    pub fn asks_for(&self, code: OptionCode) -> bool {
        self.msg.options.oro().expect("ORO").contains(&code)
    }
}

pub struct Harness {
    pub c: Client,
    pub now: Instant,
    pub sent: Vec<Sent>,
    pub events: Vec<ClientEvent>,
}

impl Harness {
    pub fn new(config: ClientConfig, seed: u64) -> Harness {
        Harness::wrap(Client::new(config, seed, Instant::ZERO))
    }

    pub fn wrap(c: Client) -> Harness {
        let mut h = Harness {
            c,
            now: Instant::ZERO,
            sent: Vec::new(),
            events: Vec::new(),
        };
        h.drain();
        h
    }

    /// Collects transmits and events, checking every transmit's envelope.
    pub fn drain(&mut self) {
        while let Some(t) = self.c.poll_transmit() {
            check_envelope(&t);
            let Ok(Message::Client(msg)) = Message::parse(&t.payload) else {
                panic!("client sent an undecodable message")
            };
            self.sent.push(Sent { at: self.now, msg });
        }
        while let Some(e) = self.c.poll_event() {
            self.events.push(e);
        }
    }

    /// Runs timers up to and including `t`, in order, as a driver would.
    pub fn advance_to(&mut self, t: Instant) {
        let mut guard = 0;
        while let Some(next) = self.c.poll_timeout() {
            if next > t {
                break;
            }
            guard += 1;
            assert!(guard < 100_000, "timer loop does not progress at {next:?}");
            self.now = next.max(self.now);
            self.c.handle_timeout(self.now);
            self.drain();
        }
        self.now = t.max(self.now);
        self.c.handle_timeout(self.now);
        self.drain();
    }

    pub fn advance(&mut self, d: Duration) {
        let t = self.now + d;
        self.advance_to(t);
    }

    /// Runs a command of the client (release, stop, renew now,
    /// reconfigure) at the current instant and collects what it caused.
    pub fn command(&mut self, f: impl FnOnce(&mut Client, Instant)) {
        f(&mut self.c, self.now);
        self.drain();
    }

    pub fn link(&mut self, up: bool) {
        self.c.handle_link(self.now, up);
        self.drain();
    }

    pub fn deliver_bytes(&mut self, bytes: &[u8]) {
        self.deliver_bytes_to(bytes, CLIENT_LL);
    }

    pub fn deliver_bytes_to(&mut self, bytes: &[u8], dst: Ipv6Addr) {
        let rx = Received {
            ifindex: IFINDEX,
            src: SERVER_LL,
            dst,
            hop_limit: 64,
            bytes,
        };
        self.c.handle_packet(self.now, &rx);
        self.drain();
    }

    pub fn deliver(&mut self, msg: ClientMessage) {
        self.deliver_bytes(&Message::Client(msg).to_bytes());
    }

    pub fn last(&self) -> &Sent {
        self.sent.last().expect("something was sent")
    }

    pub fn sent_of(&self, ty: MessageType) -> Vec<&Sent> {
        self.sent.iter().filter(|s| s.ty() == ty).collect()
    }

    /// The last `Changed` event.
    pub fn leases(&self) -> Option<&Leases> {
        self.events.iter().rev().find_map(|e| match e {
            ClientEvent::Changed(l) => Some(l),
            _ => None,
        })
    }

    pub fn take_events(&mut self) -> Vec<ClientEvent> {
        std::mem::take(&mut self.events)
    }

    /// Link up, then run until the first Solicit is out.
    pub fn start(&mut self) -> Sent {
        self.link(true);
        let first = self.c.poll_timeout().expect("Solicit scheduled");
        self.advance_to(first);
        let s = self.last().clone();
        assert_eq!(s.ty(), MessageType::Solicit);
        s
    }

    /// Solicit → Advertise(pref 255) → Request → Reply, bound on IA_PD 1
    /// with `prefix`, T1/T2 and lifetimes as given.
    pub fn bind(&mut self, prefix: &str, t1: u32, t2: u32, pl: u32, vl: u32) {
        let sol = self.start();
        let req = self.take_offer(&sol, 1, pd1(prefix, t1, t2, pl, vl));
        assert_eq!(req.ty(), MessageType::Request);
        self.deliver_reply(&req, 1, pd1(prefix, t1, t2, pl, vl));
        assert_eq!(self.c.status(self.now).state.as_str(), "bound");
    }

    /// Delivers server `server`'s Advertise answering `to`.
    pub fn deliver_advertise(
        &mut self,
        to: &Sent,
        server: u8,
        preference: Option<u8>,
        opts: Vec<DhcpOption>,
    ) {
        self.deliver(advertise(to, server, preference, opts));
    }

    /// Delivers server `server`'s Reply answering `to`.
    pub fn deliver_reply(&mut self, to: &Sent, server: u8, opts: Vec<DhcpOption>) {
        self.deliver(reply(to, server, opts));
    }

    /// Delivers an Advertise with preference 255 (RFC 8415 §18.2.1: taken
    /// at once) and returns what the client sent last, the Request when
    /// the offer was usable.
    pub fn take_offer(&mut self, sol: &Sent, server: u8, opts: Vec<DhcpOption>) -> Sent {
        self.deliver_advertise(sol, server, Some(255), opts);
        self.last().clone()
    }

    /// Runs to `at` and returns what the client sent last.
    pub fn sent_by(&mut self, at: Instant) -> Sent {
        self.advance_to(at);
        self.last().clone()
    }
}

fn check_envelope(t: &Transmit) {
    assert_eq!(t.ifindex, IFINDEX);
    assert_eq!(t.dst, ALL_SERVERS);
    assert_eq!(t.src, None);
    assert_eq!(
        t.transport,
        Transport::Udp {
            src_port: 546,
            dst_port: 547
        }
    );
}

pub fn ia_pd(iaid: u32, t1: u32, t2: u32, prefixes: &[(&str, u32, u32)]) -> DhcpOption {
    let mut ia = IaPd::new(iaid, t1, t2);
    for &(p, pl, vl) in prefixes {
        let (p, pl, vl) = (pfx(p), Lifetime::from_wire(pl), Lifetime::from_wire(vl));
        let prefix = IaPrefix::new(p.addr(), p.len(), pl, vl);
        ia.options.push(DhcpOption::IaPrefix(prefix));
    }
    DhcpOption::IaPd(ia)
}

/// IA_PD 1 with T1/T2 `t1`/`t2` holding `prefix` for `pl`/`vl` seconds:
/// the usual single-prefix offer.
pub fn pd1(prefix: &str, t1: u32, t2: u32, pl: u32, vl: u32) -> Vec<DhcpOption> {
    vec![ia_pd(1, t1, t2, &[(prefix, pl, vl)])]
}

pub fn ia_pd_status(iaid: u32, code: StatusCode) -> DhcpOption {
    let mut ia = IaPd::new(iaid, 0, 0);
    ia.options.push(status(code));
    DhcpOption::IaPd(ia)
}

pub fn ia_na(iaid: u32, t1: u32, t2: u32, addrs: &[(Ipv6Addr, u32, u32)]) -> DhcpOption {
    let mut ia = IaNa::new(iaid, t1, t2);
    let lease = |&(a, pl, vl): &(Ipv6Addr, u32, u32)| {
        IaAddr::new(a, Lifetime::from_wire(pl), Lifetime::from_wire(vl))
    };
    ia.options
        .extend(addrs.iter().map(lease).map(DhcpOption::IaAddr));
    DhcpOption::IaNa(ia)
}

pub fn ia_na_status(iaid: u32, code: StatusCode) -> DhcpOption {
    let mut ia = IaNa::new(iaid, 0, 0);
    ia.options.push(status(code));
    DhcpOption::IaNa(ia)
}

/// A server message answering `to`: same xid, our client id echoed.
pub fn answer(ty: MessageType, to: &Sent, server: u8, opts: Vec<DhcpOption>) -> ClientMessage {
    let mut m = ClientMessage::new(ty, to.xid())
        .with(DhcpOption::ServerId(server_duid(server)))
        .with(DhcpOption::ClientId(
            to.msg
                .options
                .client_id()
                .expect("client sent its id")
                .clone(),
        ));
    for o in opts {
        m = m.with(o);
    }
    m
}

pub fn advertise(
    to: &Sent,
    server: u8,
    preference: Option<u8>,
    mut opts: Vec<DhcpOption>,
) -> ClientMessage {
    if let Some(p) = preference {
        opts.push(DhcpOption::Preference(p));
    }
    answer(MessageType::Advertise, to, server, opts)
}

pub fn reply(to: &Sent, server: u8, mut opts: Vec<DhcpOption>) -> ClientMessage {
    opts.push(DhcpOption::DnsServers(vec![
        "2001:db8::53".parse().unwrap(),
    ]));
    opts.push(DhcpOption::DomainList(vec![
        DomainName::new("example.net").unwrap(),
    ]));
    answer(MessageType::Reply, to, server, opts)
}

pub fn status(code: StatusCode) -> DhcpOption {
    DhcpOption::StatusCode(Status::new(code, "test"))
}

/// An RKAP Authentication option (RFC 8415 §20.4): protocol 3, algorithm
/// 1 (HMAC-MD5), RDM 0, `info` as given.
fn rkap_option(rd: u64, info: Vec<u8>) -> DhcpOption {
    DhcpOption::Authentication(Authentication {
        protocol: 3,
        algorithm: 1,
        rdm: 0,
        replay_detection: rd,
        info,
    })
}

/// The Reconfigure Key a server hands out in a Reply (type 1, the key).
pub fn rkap_key_option(key: [u8; 16], rd: u64) -> DhcpOption {
    let mut info = vec![1u8];
    info.extend_from_slice(&key);
    rkap_option(rd, info)
}

/// A Reconfigure asking for `what`, signed with `key` (None = unsigned:
/// the digest is left zero).
pub fn reconfigure(server: u8, what: MessageType, key: Option<[u8; 16]>, rd: u64) -> Vec<u8> {
    let mut info = vec![2u8];
    info.extend_from_slice(&[0; 16]);
    let m = ClientMessage::new(MessageType::Reconfigure, Xid::new(0))
        .with(DhcpOption::ServerId(server_duid(server)))
        .with(DhcpOption::ClientId(client_duid()))
        .with(DhcpOption::ReconfigureMessage(what))
        .with(rkap_option(rd, info));
    let mut bytes = Message::Client(m).to_bytes();
    if let Some(k) = key {
        v6edge_dhcp6::rkap::sign(&mut bytes, &k).expect("RKAP option present");
    }
    bytes
}
