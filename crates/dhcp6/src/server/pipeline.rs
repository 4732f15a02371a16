//! The ordered stages every received datagram goes through, as plain
//! functions over one typed value each (dora's pipeline without its type
//! map, style guide §1.5):
//!
//! 1. [`unwrap`]: decode, peel Relay-forward layers (any depth) down to
//!    the client message;
//! 2. [`validate`]: RFC 8415 §16 per message type;
//! 3. [`Unicast`]: §16 and §18.4 for messages sent straight to us;
//! 4. link selection and client identification (in the machine, which
//!    owns the configuration);
//! 5. the per-type decisions ([`super::policy`]);
//! 6. [`build_reply`] and [`wrap`]: the answer, then Relay-reply layers in
//!    reverse (§19.3).
//!
//! Panic contract: nothing here panics on any input.

use super::DropReason;
use super::policy::{IaOut, IaType, timers};
use v6edge_wire::Lifetime;
use v6edge_wire::dhcp6::{
    ClientMessage, DhcpOption, DomainName, Duid, IaAddr, IaNa, IaPd, IaPrefix, IaTa, Message,
    MessageType, NtpSuboption, OptionCode, PdExclude, RelayMessage, Status,
};

use super::StatelessOptions;
use tracing::warn;

/// A client message and the relays it came through.
#[derive(Debug)]
pub(crate) struct Inbound<'m> {
    pub msg: &'m ClientMessage,
    /// Relay-forward layers, outermost first (the last is closest to the
    /// client).
    pub relays: Vec<&'m RelayMessage>,
}

/// Stage 1: the client message inside any Relay-forward layers. The codec
/// bounds the nesting.
pub(crate) fn unwrap(msg: &Message) -> Result<Inbound<'_>, DropReason> {
    let mut relays = Vec::new();
    let mut at = msg;
    loop {
        match at {
            Message::Client(m) => return Ok(Inbound { msg: m, relays }),
            Message::Relay(r) if r.msg_type == MessageType::RelayForw => {
                relays.push(r);
                at = r.relay_message().ok_or(DropReason::RelayWithoutMessage)?;
            }
            Message::Relay(_) => return Err(DropReason::NotForServer),
        }
    }
}

/// Stage 2: RFC 8415 §16 checks on identifiers and options by type.
pub(crate) fn validate(m: &ClientMessage, ours: &Duid) -> Result<(), DropReason> {
    use MessageType as T;
    let o = &m.options;
    let server = o.server_id();
    match m.msg_type {
        // §16.2, §16.5, §16.8: Client Identifier required, Server
        // Identifier forbidden.
        T::Solicit | T::Confirm | T::Rebind => {
            o.client_id().ok_or(DropReason::NoClientId)?;
            if server.is_some() {
                return Err(DropReason::UnexpectedServerId);
            }
        }
        // §16.4, §16.6, §16.9, §16.10: both, and the server's must be ours.
        T::Request | T::Renew | T::Decline | T::Release => {
            o.client_id().ok_or(DropReason::NoClientId)?;
            match server {
                None => return Err(DropReason::MissingServerId),
                Some(s) if s != ours => return Err(DropReason::WrongServerId),
                Some(_) => {}
            }
        }
        // §16.12: Client Identifier optional; a Server Identifier must be
        // ours; no IA options.
        T::InformationRequest => {
            if server.is_some_and(|s| s != ours) {
                return Err(DropReason::WrongServerId);
            }
            let has_ia = o.iter().any(|x| {
                matches!(
                    x,
                    DhcpOption::IaNa(_) | DhcpOption::IaTa(_) | DhcpOption::IaPd(_)
                )
            });
            if has_ia {
                return Err(DropReason::IaInInformationRequest);
            }
        }
        T::Advertise | T::Reply | T::Reconfigure | T::RelayForw | T::RelayRepl => {
            return Err(DropReason::NotForServer);
        }
        T::Unknown(_) => return Err(DropReason::UnknownType),
    }
    Ok(())
}

/// Stage 3: what to do with a message sent straight to a unicast address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unicast {
    Accept,
    /// RFC 8415 §16: Solicit, Confirm, Rebind, Information-request.
    Discard,
    /// RFC 8415 §18.4: answer with UseMulticast.
    UseMulticast,
}

pub(crate) fn unicast(t: MessageType, allowed: bool) -> Unicast {
    match t {
        MessageType::Solicit
        | MessageType::Confirm
        | MessageType::Rebind
        | MessageType::InformationRequest => Unicast::Discard,
        _ if allowed => Unicast::Accept,
        _ => Unicast::UseMulticast,
    }
}

/// The stateless options, encoded once per configuration.
#[derive(Debug, Clone, Default)]
pub(crate) struct Encoded {
    dns: Option<DhcpOption>,
    domains: Option<DhcpOption>,
    ntp: Option<DhcpOption>,
    refresh: Option<DhcpOption>,
    sol_max_rt: Option<DhcpOption>,
    inf_max_rt: Option<DhcpOption>,
}

fn secs_u32(d: std::time::Duration) -> u32 {
    d.as_secs().min(u64::from(u32::MAX)) as u32
}

impl Encoded {
    pub fn new(o: &StatelessOptions) -> Encoded {
        let domains: Vec<DomainName> = o
            .domains
            .iter()
            .filter_map(|d| match DomainName::new(d) {
                Ok(n) => Some(n),
                Err(e) => {
                    warn!(domain = %d, error = %e, "domain name skipped");
                    None
                }
            })
            .collect();
        Encoded {
            dns: (!o.dns_servers.is_empty()).then(|| DhcpOption::DnsServers(o.dns_servers.clone())),
            domains: (!domains.is_empty()).then_some(DhcpOption::DomainList(domains)),
            ntp: (!o.ntp_servers.is_empty()).then(|| {
                DhcpOption::NtpServer(
                    o.ntp_servers
                        .iter()
                        .map(|a| NtpSuboption::ServerAddress(*a))
                        .collect(),
                )
            }),
            refresh: o
                .information_refresh
                .map(|d| DhcpOption::InformationRefreshTime(Lifetime::from_secs(d.as_secs()))),
            sol_max_rt: o.sol_max_rt.map(|d| DhcpOption::SolMaxRt(secs_u32(d))),
            inf_max_rt: o.inf_max_rt.map(|d| DhcpOption::InfMaxRt(secs_u32(d))),
        }
    }

    /// The options the client's ORO asks for (KAME X21: never unasked).
    /// The Information Refresh Time and INF_MAX_RT only answer an
    /// Information-request (RFC 8415 §21.23, §21.25).
    fn push_requested(&self, oro: &[OptionCode], info_request: bool, m: &mut ClientMessage) {
        let mut add = |code: OptionCode, opt: &Option<DhcpOption>| {
            if let Some(o) = opt
                && oro.contains(&code)
            {
                m.options.push(o.clone());
            }
        };
        add(OptionCode::DnsServers, &self.dns);
        add(OptionCode::DomainList, &self.domains);
        add(OptionCode::NtpServer, &self.ntp);
        add(OptionCode::SolMaxRt, &self.sol_max_rt);
        if info_request {
            add(OptionCode::InformationRefreshTime, &self.refresh);
            add(OptionCode::InfMaxRt, &self.inf_max_rt);
        }
    }
}

/// What goes into an answer besides the identifiers.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    pub msg_type: MessageType,
    pub ias: Vec<IaOut>,
    pub status: Option<Status>,
    pub rapid_commit: bool,
    /// RFC 8415 §21.8: Advertise only, when not 0.
    pub preference: u8,
    /// False for UseMulticast: "no other options" (§18.4).
    pub stateless: bool,
    /// RFC 8415 §20.4.2: the client's reconfigure key and the replay
    /// detection value to send it with (Reply only).
    pub reconfigure_key: Option<([u8; 16], u64)>,
}

impl Answer {
    pub fn new(msg_type: MessageType) -> Answer {
        Answer {
            msg_type,
            ias: Vec::new(),
            status: None,
            rapid_commit: false,
            preference: 0,
            stateless: true,
            reconfigure_key: None,
        }
    }
}

fn encode_ia(ia: &IaOut, t1_ratio: f64, t2_ratio: f64) -> DhcpOption {
    let (t1, t2) = timers(ia, t1_ratio, t2_ratio);
    let mut opts = v6edge_wire::dhcp6::Options::new();
    for l in &ia.leases {
        match ia.ty {
            IaType::Pd => {
                let mut p = IaPrefix::new(l.addr, l.len, l.preferred, l.valid);
                if let Some(x) = l
                    .exclude
                    .and_then(|x| PdExclude::new(l.addr, l.len, x.addr(), x.len()))
                {
                    p.options.push(DhcpOption::PdExclude(x));
                }
                opts.push(DhcpOption::IaPrefix(p));
            }
            IaType::Na | IaType::Ta => opts.push(DhcpOption::IaAddr(IaAddr::new(
                l.addr,
                l.preferred,
                l.valid,
            ))),
        }
    }
    if let Some(s) = &ia.status {
        opts.push(DhcpOption::StatusCode(s.clone()));
    }
    match ia.ty {
        IaType::Na => DhcpOption::IaNa(IaNa {
            iaid: ia.iaid,
            t1,
            t2,
            options: opts,
        }),
        IaType::Pd => DhcpOption::IaPd(IaPd {
            iaid: ia.iaid,
            t1,
            t2,
            options: opts,
        }),
        IaType::Ta => DhcpOption::IaTa(IaTa {
            iaid: ia.iaid,
            options: opts,
        }),
    }
}

/// Stage 6a: the answer to `req` (RFC 8415 §18.3: Server Identifier, the
/// client's Client Identifier, then the rest).
pub(crate) fn build_reply(
    req: &ClientMessage,
    ours: &Duid,
    a: &Answer,
    stateless: &Encoded,
    t1_ratio: f64,
    t2_ratio: f64,
) -> ClientMessage {
    let mut m = ClientMessage::new(a.msg_type, req.xid).with(DhcpOption::ServerId(ours.clone()));
    if let Some(c) = req.options.client_id() {
        m.options.push(DhcpOption::ClientId(c.clone()));
    }
    if let Some(s) = &a.status {
        m.options.push(DhcpOption::StatusCode(s.clone()));
    }
    if !a.stateless {
        return m;
    }
    if a.rapid_commit {
        m.options.push(DhcpOption::RapidCommit);
    }
    if a.msg_type == MessageType::Advertise && a.preference != 0 {
        m.options.push(DhcpOption::Preference(a.preference));
    }
    for ia in &a.ias {
        m.options.push(encode_ia(ia, t1_ratio, t2_ratio));
    }
    let oro = req.options.oro().unwrap_or(&[]);
    stateless.push_requested(oro, req.msg_type == MessageType::InformationRequest, &mut m);
    if a.msg_type == MessageType::Reply
        && let Some((key, rd)) = &a.reconfigure_key
    {
        // RFC 8415 §21.20: the server's Reconfigure Accept tells the client
        // to accept Reconfigure messages; §20.4.2: the key goes in an
        // Authentication option of the Reply.
        m.options.push(DhcpOption::ReconfigureAccept);
        m.options.push(super::reconf::key_option(key, *rd));
    }
    m
}

/// Stage 6b: RFC 8415 §19.3: one Relay-reply per Relay-forward, innermost
/// first, each echoing hop-count, link-address, peer-address and the
/// Interface-ID of its Relay-forward.
pub(crate) fn wrap(reply: ClientMessage, relays: &[&RelayMessage]) -> Message {
    let mut msg = Message::Client(reply);
    for r in relays.iter().rev() {
        let mut rr = RelayMessage::new(
            MessageType::RelayRepl,
            r.hop_count,
            r.link_address,
            r.peer_address,
        );
        if let Some(id) = r.options.interface_id() {
            rr.options.push(DhcpOption::InterfaceId(id.to_vec()));
        }
        rr.options.push(DhcpOption::RelayMessage(Box::new(msg)));
        msg = Message::Relay(rr);
    }
    msg
}
