//! Fuzz target for the requesting router's DHCPv6 client machine
//! (`v6edge_dhcp6::client::Client`), driven over time by a hostile server.
//!
//! The input decodes (`arbitrary`) into a client configuration and a
//! sequence of events: time steps (the harness wakes the machine at every
//! deadline on the way, as the daemon does), raw datagrams, well-formed
//! answers to what the client just sent (its xid, Client and Server
//! Identifiers and IAs echoed, so they pass validation and bind), server
//! messages built from their parts with that xid and Client Identifier
//! (any type, status, IAs, lifetimes, thousands of prefixes), both
//! optionally damaged, signed Reconfigures, link changes and the admin
//! commands.
//!
//! Checked after every step, beyond "no panic":
//! - the machine never asks to be woken at or before the instant it was
//!   just called at (the event loop would spin);
//! - every held lease has preferred <= valid and has not expired;
//! - the last `Changed` event has the prefixes and addresses the status
//!   shows (the daemon routes and configures from events only);
//! - every transmit is a well-formed client message from our DUID to
//!   All_DHCP_Relay_Agents_and_Servers, at most two per input;
//! - retransmissions of one exchange come at least 0.9 s apart (RFC 8415
//!   §15: RT >= IRT - 10 %), a Request is sent at most REQ_MAX_RC = 10
//!   times and a Release at most REL_MAX_RC = 4 times;
//! - no IA holds more than `MAX_LEASES_PER_IA` leases, no stateless list
//!   more than `MAX_INFO_ITEMS` entries, whatever the server sends.

#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use std::collections::HashMap;
use std::net::Ipv6Addr;
use std::time::Duration;
use v6edge_core::{Instant, Received};
use v6edge_dhcp6::client::{
    Client, ClientConfig, ClientEvent, ClientStateKind, IaNaConfig, IaPdConfig, Leases,
    MAX_INFO_ITEMS, MAX_LEASES_PER_IA,
};
use v6edge_dhcp6::rkap;
use v6edge_fuzz::{
    Damage, Life, Step, Timed, WAKEUP_BUDGET, advance, assert_no_spin, bounded_events,
    bulk_allowed, doc_prefix, status,
};
use v6edge_wire::dhcp6::{
    Authentication, ClientMessage, DhcpOption, DomainName, Duid, IaAddr, IaNa, IaPd, IaPrefix,
    Message, MessageType, PdExclude, Xid,
};

const UPLINK: u32 = 2;
const ALL_DHCP: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 1, 2);
const SERVER_ADDR: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x547);
const OUR_ADDR: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xff, 0, 0, 0, 0, 0x546);

fn our_duid() -> Duid {
    Duid::new_ll(1, &[2, 0, 0, 0, 0xc1, 1])
}

fn server_duid(n: u8) -> Duid {
    Duid::new_ll(1, &[2, 0, 0, 0, 0x5e, n % 3])
}

#[derive(Arbitrary, Debug)]
struct Setup {
    seed: u64,
    two_pds: bool,
    ia_na: bool,
    rapid_commit: bool,
    reconfigure_accept: bool,
    release_on_stop: bool,
    hint_len: Option<u8>,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum AnswerType {
    Advertise,
    Reply,
    Other(u8),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum IaidChoice {
    /// The i-th IA the client asked for in its last message.
    Asked(u8),
    Any(u32),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum WhatChoice {
    /// The i-th prefix (or address) the client named in its last message.
    Asked(u8),
    /// The i-th prefix of this length under 2001:db8::/32.
    Doc {
        index: u16,
        len: u8,
    },
    Raw([u8; 16], u8),
}

#[derive(Arbitrary, Debug, Clone)]
struct ItemAnswer {
    what: WhatChoice,
    preferred: Life,
    valid: Life,
    status: Option<u16>,
    /// RFC 6603 prefix exclude: the length of the excluded prefix.
    exclude: Option<u8>,
    /// How many more consecutive prefixes (or addresses) follow this one:
    /// 0 to 3, or 2047 for 255 when the input may build huge messages
    /// ([`bulk_allowed`], otherwise 3), so a hostile server can hand out
    /// thousands in one Reply.
    more: u8,
}

#[derive(Arbitrary, Debug, Clone)]
struct IaAnswer {
    pd: bool,
    iaid: IaidChoice,
    t1: Life,
    t2: Life,
    status: Option<u16>,
    items: Vec<ItemAnswer>,
}

#[derive(Arbitrary, Debug, Clone)]
struct Answer {
    kind: AnswerType,
    /// Otherwise the xid of the client's last message.
    xid: Option<u32>,
    /// Otherwise our DUID.
    client_id: Option<Option<Vec<u8>>>,
    /// Server 0, 1 or 2; `None` leaves the Server Identifier out.
    server: Option<u8>,
    preference: Option<u8>,
    status: Option<u16>,
    rapid_commit: bool,
    reconfigure_accept: bool,
    /// A reconfigure key (RFC 8415 §20.4.1) for the client to keep.
    key: Option<[u8; 16]>,
    sol_max_rt: Option<u32>,
    inf_max_rt: Option<u32>,
    info_refresh: Option<u32>,
    dns: u8,
    domain: Option<u8>,
    ias: Vec<IaAnswer>,
    damage: Option<Damage>,
}

/// A well-formed answer to the client's last message: Advertise to a
/// Solicit (Reply with Rapid Commit if asked), Reply otherwise, echoing
/// its xid, Client Identifier and Server Identifier, and granting every
/// IA it named (hints kept, `::/len` filled in) with these lifetimes. The
/// fuzzer reaches the bound states in a few events, then mutates from there.
#[derive(Arbitrary, Debug, Clone)]
struct Serve {
    server: u8,
    preference: Option<u8>,
    rapid_commit: bool,
    preferred: Life,
    valid: Life,
    t1: Life,
    t2: Life,
    /// Fresh prefixes added to each IA_PD beyond what it named: 0 to 3.
    extra: u8,
    key: Option<[u8; 16]>,
    damage: Option<Damage>,
}

#[derive(Arbitrary, Debug, Clone)]
struct Reconfigure {
    server: u8,
    /// Renew (5), Rebind (6), Information-request (11) or anything.
    msg: u8,
    replay: u64,
    /// Sign with the last key handed out (otherwise a wrong digest).
    sign: bool,
    multicast: bool,
    damage: Option<Damage>,
}

#[derive(Arbitrary, Debug, Clone)]
enum ConfigChange {
    /// Another set of IA_PDs (IAIDs 1..=n).
    Pds(u8),
    ToggleNa,
    ToggleRapidCommit,
    NewDuid,
}

#[derive(Arbitrary, Debug)]
enum Event {
    Wait(Step),
    Serve(Serve),
    Answer(Answer),
    Raw(Vec<u8>),
    Reconfigure(Reconfigure),
    Link(bool),
    Renew,
    Release,
    Stop,
    Reconfig(ConfigChange),
    /// Restart: a new machine from `stored_binding`, as the daemon does.
    Restart,
}

#[derive(Debug)]
struct Input {
    /// Whether huge messages may be built ([`bulk_allowed`]): not decoded,
    /// a hash of the input's bytes.
    bulk: bool,
    setup: Setup,
    events: Vec<Event>,
}

// Decoded by hand so that at most MAX_EVENTS events are: the same bytes
// as the derived take-rest decoding for those.
impl<'a> Arbitrary<'a> for Input {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(Input {
            bulk: false,
            setup: u.arbitrary()?,
            events: bounded_events(u)?,
        })
    }

    fn arbitrary_take_rest(mut u: Unstructured<'a>) -> arbitrary::Result<Self> {
        let bulk = bulk_allowed(u.peek_bytes(u.len()).unwrap_or_default());
        Ok(Input {
            bulk,
            ..Self::arbitrary(&mut u)?
        })
    }
}

fn config(s: &Setup) -> ClientConfig {
    let mut pds = vec![IaPdConfig {
        iaid: 1,
        hint_len: s.hint_len,
        hint_prefix: None,
    }];
    if s.two_pds {
        pds.push(IaPdConfig {
            iaid: 2,
            hint_len: None,
            hint_prefix: None,
        });
    }
    let mut c = ClientConfig::new(UPLINK, our_duid(), pds);
    c.ia_na = s.ia_na.then_some(IaNaConfig { iaid: 9 });
    c.rapid_commit = s.rapid_commit;
    c.reconfigure_accept = s.reconfigure_accept;
    c.release_on_stop = s.release_on_stop;
    c
}

struct Machine(Client);

impl Timed for Machine {
    fn next_deadline(&self) -> Option<Instant> {
        self.0.poll_timeout()
    }
    fn on_timeout(&mut self, now: Instant) {
        self.0.handle_timeout(now);
    }
}

/// What the harness remembers between steps.
#[derive(Default)]
struct World {
    /// The client's last message, parsed.
    last_sent: Option<ClientMessage>,
    /// Per xid: how many times sent, when last, and the message type.
    sent: HashMap<u32, (u32, Instant, MessageType)>,
    /// The last reconfigure key handed out.
    key: Option<[u8; 16]>,
    /// The leases of the last `Changed` event.
    reported: Leases,
    /// Whether huge answers may be built ([`bulk_allowed`]).
    bulk: bool,
}

fn check(m: &mut Machine, w: &mut World, now: Instant) {
    let c = &mut m.0;
    let mut transmits = 0;
    while let Some(t) = c.poll_transmit() {
        transmits += 1;
        assert_eq!(t.ifindex, UPLINK);
        assert_eq!(t.dst, ALL_DHCP, "client sent elsewhere than ff02::1:2");
        let msg = match Message::parse(&t.payload) {
            Ok(Message::Client(cm)) => cm,
            other => panic!("client sent a malformed message: {other:?}"),
        };
        assert!(
            matches!(
                msg.msg_type,
                MessageType::Solicit
                    | MessageType::Request
                    | MessageType::Renew
                    | MessageType::Rebind
                    | MessageType::Release
                    | MessageType::InformationRequest
            ),
            "client sent a {:?}",
            msg.msg_type
        );
        assert_eq!(msg.options.client_id(), Some(&our_duid()));
        let xid = msg.xid.as_u32();
        let e = w.sent.entry(xid).or_insert((0, now, msg.msg_type));
        if e.0 > 0 && e.2 == msg.msg_type {
            let gap = now.saturating_duration_since(e.1);
            assert!(
                gap >= Duration::from_millis(900),
                "{:?} xid {xid:#x} retransmitted after {gap:?}",
                msg.msg_type
            );
        }
        if e.2 == msg.msg_type {
            e.0 += 1;
        } else {
            // A new exchange that happened to draw an old xid.
            *e = (1, now, msg.msg_type);
        }
        e.1 = now;
        match msg.msg_type {
            MessageType::Request => assert!(e.0 <= 10, "Request sent {} times", e.0),
            MessageType::Release => assert!(e.0 <= 4, "Release sent {} times", e.0),
            _ => {}
        }
        w.last_sent = Some(msg);
    }
    assert!(transmits <= 2, "{transmits} transmits for one input");
    while let Some(ev) = c.poll_event() {
        if let ClientEvent::Changed(l) = ev {
            w.reported = l;
        }
    }
    if w.sent.len() > 4096 {
        w.sent.clear();
    }
    let st = c.status(now);
    if v6edge_fuzz::tracing() {
        eprintln!(
            "state {} prefixes {} addresses {}",
            st.state.as_str(),
            st.leases.prefixes.len(),
            st.leases.addresses.len()
        );
    }
    let leases = &st.leases;
    let mut per_ia: HashMap<(bool, u32), usize> = HashMap::new();
    for p in &leases.prefixes {
        *per_ia.entry((true, p.iaid)).or_insert(0) += 1;
    }
    for a in &leases.addresses {
        *per_ia.entry((false, a.iaid)).or_insert(0) += 1;
    }
    // A hostile server can offer a fresh set in every Reply; Renew and
    // Rebind name every lease held (RFC 8415 §18.2.4), so the client's
    // bound also keeps every Renew encodable.
    for (ia, n) in per_ia {
        assert!(n <= MAX_LEASES_PER_IA, "IA {ia:?} holds {n} leases");
    }
    for (what, n) in [
        ("DNS servers", leases.dns_servers.len()),
        ("domains", leases.domains.len()),
        ("NTP servers", leases.ntp_servers.len()),
    ] {
        assert!(n <= MAX_INFO_ITEMS, "{n} {what} kept");
    }
    let lifetimes = leases
        .prefixes
        .iter()
        .map(|p| (p.preferred_until, p.valid_until))
        .chain(
            leases
                .addresses
                .iter()
                .map(|a| (a.preferred_until, a.valid_until)),
        );
    for (preferred, valid) in lifetimes {
        match (preferred, valid) {
            (Some(p), Some(v)) => assert!(p <= v, "preferred {p:?} after valid {v:?}"),
            (None, Some(v)) => panic!("infinite preferred, valid until {v:?}"),
            _ => {}
        }
        if st.state != ClientStateKind::Released {
            assert!(
                valid.is_none_or(|v| v > now),
                "expired lease kept at {now:?}"
            );
        }
    }
    if st.state != ClientStateKind::Released {
        // What the daemon routes and configures (SOL_MAX_RT, say, may
        // change without an event: it is only shown).
        assert_eq!(
            (&w.reported.prefixes, &w.reported.addresses),
            (&leases.prefixes, &leases.addresses),
            "last Changed event differs from the leases held"
        );
    }
}

/// An IA of the client's last message: IA_PD or not, IAID, and what it
/// named (address or prefix, length).
type AskedIa = (bool, u32, Vec<(Ipv6Addr, u8)>);

fn build_answer(a: &Answer, w: &World) -> Vec<u8> {
    let last = w.last_sent.as_ref();
    let msg_type = match a.kind {
        AnswerType::Advertise => MessageType::Advertise,
        AnswerType::Reply => MessageType::Reply,
        AnswerType::Other(v) if v == 12 || v == 13 => MessageType::Reply,
        AnswerType::Other(v) => MessageType::from(v),
    };
    let xid = a.xid.or_else(|| last.map(|m| m.xid.as_u32())).unwrap_or(0);
    let mut m = ClientMessage::new(msg_type, Xid::new(xid));
    match &a.client_id {
        None => m = m.with(DhcpOption::ClientId(our_duid())),
        Some(Some(bytes)) => {
            if let Ok(d) = Duid::from_bytes(bytes) {
                m = m.with(DhcpOption::ClientId(d));
            }
        }
        Some(None) => {}
    }
    if let Some(s) = a.server {
        m = m.with(DhcpOption::ServerId(server_duid(s)));
    }
    if let Some(p) = a.preference {
        m = m.with(DhcpOption::Preference(p));
    }
    if let Some(s) = a.status {
        m = m.with(status(s));
    }
    if a.rapid_commit {
        m = m.with(DhcpOption::RapidCommit);
    }
    if a.reconfigure_accept {
        m = m.with(DhcpOption::ReconfigureAccept);
    }
    if let Some(key) = a.key {
        let mut info = vec![rkap::INFO_TYPE_KEY];
        info.extend_from_slice(&key);
        m = m.with(DhcpOption::Authentication(Authentication {
            protocol: rkap::PROTOCOL_RKAP,
            algorithm: rkap::ALGORITHM_HMAC_MD5,
            rdm: rkap::RDM_MONOTONIC,
            replay_detection: 1,
            info,
        }));
    }
    if let Some(v) = a.sol_max_rt {
        m = m.with(DhcpOption::SolMaxRt(v));
    }
    if let Some(v) = a.inf_max_rt {
        m = m.with(DhcpOption::InfMaxRt(v));
    }
    if let Some(v) = a.info_refresh {
        m = m.with(DhcpOption::InformationRefreshTime(
            v6edge_wire::Lifetime::from_wire(v),
        ));
    }
    if a.dns > 0 {
        let servers = (0..a.dns % 32)
            .map(|i| Ipv6Addr::new(0x2001, 0xdb8, 0xd, 0, 0, 0, 0, u16::from(i)))
            .collect();
        m = m.with(DhcpOption::DnsServers(servers));
    }
    if let Some(d) = a.domain
        && let Ok(name) = DomainName::new(&format!("home{d}.example"))
    {
        m = m.with(DhcpOption::DomainList(vec![name]));
    }
    // What the client's last message asked for: IAs and their contents.
    let asked_ias: Vec<AskedIa> = last
        .map(|l| {
            l.options
                .iter()
                .filter_map(|o| match o {
                    DhcpOption::IaPd(pd) => Some((
                        true,
                        pd.iaid,
                        pd.prefixes().map(|p| (p.prefix, p.prefix_len)).collect(),
                    )),
                    DhcpOption::IaNa(na) => Some((
                        false,
                        na.iaid,
                        na.addresses().map(|x| (x.addr, 128)).collect(),
                    )),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let all_asked: Vec<(Ipv6Addr, u8)> = asked_ias.iter().flat_map(|x| x.2.clone()).collect();
    for ia in &a.ias {
        let iaid = match ia.iaid {
            IaidChoice::Asked(i) if !asked_ias.is_empty() => {
                asked_ias[usize::from(i) % asked_ias.len()].1
            }
            IaidChoice::Asked(i) => u32::from(i),
            IaidChoice::Any(v) => v,
        };
        let mut opts = Vec::new();
        if let Some(s) = ia.status {
            opts.push(status(s));
        }
        for item in &ia.items {
            let (base, len) = match item.what {
                WhatChoice::Asked(i) if !all_asked.is_empty() => {
                    let (a, l) = all_asked[usize::from(i) % all_asked.len()];
                    if a.is_unspecified() {
                        (doc_prefix(u32::from(i), l), l)
                    } else {
                        (a, l)
                    }
                }
                WhatChoice::Asked(i) => (doc_prefix(u32::from(i), 56), 56),
                WhatChoice::Doc { index, len } => (doc_prefix(u32::from(index), len), len),
                WhatChoice::Raw(a, l) => (Ipv6Addr::from(a), l),
            };
            let count = match item.more {
                255 if w.bulk => 2048,
                m => 1 + u32::from(m % 4),
            };
            for k in 0..count {
                let addr = if k == 0 || len < 32 {
                    base
                } else {
                    let step = if ia.pd && len <= 128 {
                        1u128.checked_shl(128 - u32::from(len)).unwrap_or(0)
                    } else {
                        1
                    };
                    Ipv6Addr::from(u128::from(base).wrapping_add(step.wrapping_mul(u128::from(k))))
                };
                let mut sub = Vec::new();
                if let Some(s) = item.status {
                    sub.push(status(s));
                }
                if ia.pd {
                    let mut p =
                        IaPrefix::new(addr, len, item.preferred.lifetime(), item.valid.lifetime());
                    p.options.extend(sub);
                    if let Some(xl) = item.exclude
                        && let Some(x) = PdExclude::new(addr, len, addr, xl)
                    {
                        p.options.push(DhcpOption::PdExclude(x));
                    }
                    opts.push(DhcpOption::IaPrefix(p));
                } else {
                    let mut x = IaAddr::new(addr, item.preferred.lifetime(), item.valid.lifetime());
                    x.options.extend(sub);
                    opts.push(DhcpOption::IaAddr(x));
                }
            }
        }
        if ia.pd {
            let mut pd = IaPd::new(iaid, ia.t1.wire(), ia.t2.wire());
            pd.options.extend(opts);
            m = m.with(DhcpOption::IaPd(pd));
        } else {
            let mut na = IaNa::new(iaid, ia.t1.wire(), ia.t2.wire());
            na.options.extend(opts);
            m = m.with(DhcpOption::IaNa(na));
        }
    }
    let mut bytes = encode(Message::Client(m));
    if let Some(d) = &a.damage {
        d.apply(&mut bytes);
    }
    bytes
}

/// The most a UDP datagram carries (65535 less the UDP header).
const MAX_DATAGRAM: usize = 65_527;

/// Encodes, or nothing when the message would not fit in a datagram (a
/// real server could not send it; and no option of a message that fits
/// can pass the codec's 65535-octet limit).
fn encode(m: Message) -> Vec<u8> {
    if m.buffer_len() > MAX_DATAGRAM {
        return Vec::new();
    }
    m.to_bytes()
}

fn serve(v: &Serve, w: &World) -> Vec<u8> {
    let Some(last) = w.last_sent.as_ref() else {
        return Vec::new();
    };
    let asked_rapid = last.options.has_rapid_commit();
    let msg_type = if last.msg_type == MessageType::Solicit && !(v.rapid_commit && asked_rapid) {
        MessageType::Advertise
    } else {
        MessageType::Reply
    };
    let server = last
        .options
        .server_id()
        .cloned()
        .unwrap_or_else(|| server_duid(v.server));
    let mut m = ClientMessage::new(msg_type, last.xid)
        .with(DhcpOption::ClientId(our_duid()))
        .with(DhcpOption::ServerId(server));
    if let Some(p) = v.preference {
        m = m.with(DhcpOption::Preference(p));
    }
    if msg_type == MessageType::Reply && last.msg_type == MessageType::Solicit {
        m = m.with(DhcpOption::RapidCommit);
    }
    if let Some(key) = v.key {
        let mut info = vec![rkap::INFO_TYPE_KEY];
        info.extend_from_slice(&key);
        m = m.with(DhcpOption::Authentication(Authentication {
            protocol: rkap::PROTOCOL_RKAP,
            algorithm: rkap::ALGORITHM_HMAC_MD5,
            rdm: rkap::RDM_MONOTONIC,
            replay_detection: 1,
            info,
        }));
    }
    if last.msg_type == MessageType::InformationRequest {
        m = m.with(DhcpOption::DnsServers(vec![Ipv6Addr::new(
            0x2001, 0xdb8, 0xd, 0, 0, 0, 0, 1,
        )]));
    }
    let (pl, vl) = (v.preferred.lifetime(), v.valid.lifetime());
    if last.msg_type != MessageType::Release {
        for (n, o) in last.options.iter().enumerate() {
            match o {
                DhcpOption::IaPd(asked) => {
                    let mut pd = IaPd::new(asked.iaid, v.t1.wire(), v.t2.wire());
                    let mut k = 0u32;
                    for h in asked.prefixes() {
                        let len = if h.prefix_len == 0 { 56 } else { h.prefix_len };
                        let addr = if h.prefix.is_unspecified() {
                            k += 1;
                            doc_prefix(n as u32 * 16 + k, len)
                        } else {
                            h.prefix
                        };
                        pd.options
                            .push(DhcpOption::IaPrefix(IaPrefix::new(addr, len, pl, vl)));
                    }
                    for e in 0..u32::from(v.extra % 4) {
                        let addr = doc_prefix(0x8000 + n as u32 * 16 + e, 60);
                        pd.options
                            .push(DhcpOption::IaPrefix(IaPrefix::new(addr, 60, pl, vl)));
                    }
                    m = m.with(DhcpOption::IaPd(pd));
                }
                DhcpOption::IaNa(asked) => {
                    let mut na = IaNa::new(asked.iaid, v.t1.wire(), v.t2.wire());
                    let mut any = false;
                    for a in asked.addresses() {
                        any = true;
                        na.options
                            .push(DhcpOption::IaAddr(IaAddr::new(a.addr, pl, vl)));
                    }
                    if !any {
                        let addr = Ipv6Addr::new(0x2001, 0xdb8, 0xff, 0, 0, 0, 0, n as u16 + 1);
                        na.options
                            .push(DhcpOption::IaAddr(IaAddr::new(addr, pl, vl)));
                    }
                    m = m.with(DhcpOption::IaNa(na));
                }
                _ => {}
            }
        }
    }
    let mut bytes = encode(Message::Client(m));
    if let Some(d) = &v.damage {
        d.apply(&mut bytes);
    }
    bytes
}

fn build_reconfigure(r: &Reconfigure, w: &World) -> Vec<u8> {
    let mut m = ClientMessage::new(MessageType::Reconfigure, Xid::new(0))
        .with(DhcpOption::ServerId(server_duid(r.server)))
        .with(DhcpOption::ClientId(our_duid()))
        .with(DhcpOption::ReconfigureMessage(MessageType::from(r.msg)));
    let mut info = vec![rkap::INFO_TYPE_HMAC];
    info.extend_from_slice(&[0; 16]);
    m = m.with(DhcpOption::Authentication(Authentication {
        protocol: rkap::PROTOCOL_RKAP,
        algorithm: rkap::ALGORITHM_HMAC_MD5,
        rdm: rkap::RDM_MONOTONIC,
        replay_detection: r.replay,
        info,
    }));
    let mut bytes = Message::Client(m).to_bytes();
    if r.sign
        && let Some(key) = &w.key
    {
        let _ = rkap::sign(&mut bytes, key);
    }
    if let Some(d) = &r.damage {
        d.apply(&mut bytes);
    }
    bytes
}

fn deliver(m: &mut Machine, w: &mut World, now: Instant, bytes: &[u8], multicast: bool) {
    // The drop reason it returns is for the daemon's counters.
    let _ = m.0.handle_packet(
        now,
        &Received {
            ifindex: UPLINK,
            src: SERVER_ADDR,
            dst: if multicast { ALL_DHCP } else { OUR_ADDR },
            hop_limit: 64,
            bytes,
        },
    );
    check(m, w, now);
    assert_no_spin(m.0.poll_timeout(), now);
}

fuzz_target!(|input: Input| {
    let mut now = Instant::from_secs(1_000);
    let mut cfg = config(&input.setup);
    let mut m = Machine(Client::new(cfg.clone(), input.setup.seed, now));
    let mut w = World {
        bulk: input.bulk,
        ..World::default()
    };
    m.0.handle_link(now, true);
    check(&mut m, &mut w, now);
    let mut wakeups = WAKEUP_BUDGET;
    for ev in &input.events {
        if v6edge_fuzz::tracing() {
            eprintln!("at {now:?}: {ev:?}");
        }
        match ev {
            Event::Wait(step) => {
                advance(&mut m, &mut now, step.duration(), &mut wakeups, |m, at| {
                    check(m, &mut w, at)
                });
                continue;
            }
            Event::Serve(v) => {
                if let Some(k) = v.key {
                    w.key = Some(k);
                }
                let bytes = serve(v, &w);
                deliver(&mut m, &mut w, now, &bytes, false);
                continue;
            }
            Event::Answer(a) => {
                if let Some(k) = a.key {
                    w.key = Some(k);
                }
                let bytes = build_answer(a, &w);
                deliver(&mut m, &mut w, now, &bytes, false);
                continue;
            }
            Event::Raw(bytes) => {
                deliver(&mut m, &mut w, now, bytes, false);
                continue;
            }
            Event::Reconfigure(r) => {
                let bytes = build_reconfigure(r, &w);
                deliver(&mut m, &mut w, now, &bytes, r.multicast);
                continue;
            }
            Event::Link(up) => m.0.handle_link(now, *up),
            Event::Renew => m.0.renew_now(now),
            Event::Release => m.0.release(now),
            Event::Stop => m.0.stop(now),
            Event::Reconfig(change) => {
                match change {
                    ConfigChange::Pds(n) => {
                        cfg.ia_pds = (1..=u32::from(n % 4))
                            .map(|iaid| IaPdConfig {
                                iaid,
                                hint_len: Some(60),
                                hint_prefix: None,
                            })
                            .collect();
                    }
                    ConfigChange::ToggleNa => {
                        cfg.ia_na = match cfg.ia_na {
                            Some(_) => None,
                            None => Some(IaNaConfig { iaid: 9 }),
                        }
                    }
                    ConfigChange::ToggleRapidCommit => cfg.rapid_commit = !cfg.rapid_commit,
                    ConfigChange::NewDuid => {
                        // Back and forth between two DUIDs would confuse the
                        // harness's identity checks: the change is one-way
                        // in its effect (everything dropped), so skip it.
                    }
                }
                m.0.reconfigure(now, cfg.clone());
            }
            Event::Restart => {
                let stored = m.0.stored_binding(now);
                let seed = input.setup.seed.wrapping_add(1);
                m = Machine(match stored {
                    Some(s) => Client::restore(cfg.clone(), s, seed, now),
                    None => Client::new(cfg.clone(), seed, now),
                });
                w.reported = Leases::default();
                w.last_sent = None;
                w.sent.clear();
                check(&mut m, &mut w, now);
                m.0.handle_link(now, true);
            }
        }
        check(&mut m, &mut w, now);
        assert_no_spin(m.0.poll_timeout(), now);
    }
});
