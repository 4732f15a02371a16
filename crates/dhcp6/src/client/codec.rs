//! The client's boundary with the wire codec: a received message becomes an
//! [`Incoming`] (only what the client acts on, protocol checks applied), an
//! [`Outgoing`] becomes bytes. The machine never touches codec types beyond
//! [`Duid`], [`MessageType`] and [`OptionCode`].
//!
//! Protocol checks made here (the codec checks syntax only):
//! RFC 8415 §21.4/§21.21 (an IA with T1 > T2, T2 ≠ 0, is ignored),
//! §21.6/§21.22 (a lease with preferred > valid is ignored), RFC 6603 §4.2
//! (an exclude that does not fit its prefix is dropped). Local policy
//! against broken or hostile servers: delegated prefixes and addresses
//! outside global unicast and unique local space are ignored, an IA keeps
//! at most [`MAX_LEASES_PER_IA`] leases and each stateless list at most
//! [`MAX_INFO_ITEMS`] entries, so one message costs bounded work
//! downstream. Everything left out is reported in [`Incoming::ignored`].
//!
//! Panic contract: nothing here panics on any input.

use super::ia::{IaKind, IaOffer, IaStatus, LeaseOffer, Leased};
use super::state::IaRequest;
use super::{DropReason, IgnoredReason, MAX_INFO_ITEMS, MAX_LEASES_PER_IA};
use crate::rkap::{self, RkapAuth};
use std::net::Ipv6Addr;
use tracing::debug;
use v6edge_prefix::Prefix;
use v6edge_wire::Lifetime;
use v6edge_wire::dhcp6::{
    ClientMessage, DhcpOption, Duid, IaAddr, IaNa, IaPd, IaPrefix, Message, MessageType,
    NtpSuboption, OptionCode, Options, Status, StatusCode, Xid,
};

/// The top-level Status Code of a message (absent = Success, RFC 8415 §21.13).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TopStatus {
    Success,
    NoAddrsAvail,
    /// KAME X16: NoPrefixAvail at top level rather than inside the IA_PD.
    NoPrefixAvail,
    NoBinding,
    /// UnspecFail, UseMulticast, NotOnLink or unknown: the message is not
    /// acted on.
    Other(u16),
}

/// What the client needs from a received client/server message.
#[derive(Debug, Clone)]
pub(crate) struct Incoming {
    pub msg_type: MessageType,
    pub xid: u32,
    pub client_id: Option<Duid>,
    pub server_id: Option<Duid>,
    /// RFC 8415 §21.8: absent = 0.
    pub preference: u8,
    pub status: TopStatus,
    pub rapid_commit: bool,
    /// The IA_PDs and IA_NAs that passed the checks, in message order.
    pub ias: Vec<IaOffer>,
    /// Any IA option at all (RFC 8415 §16.11: not allowed in a Reconfigure
    /// asking for Information-request).
    pub has_ia_options: bool,
    pub dns_servers: Vec<Ipv6Addr>,
    pub domains: Vec<String>,
    pub ntp_servers: Vec<Ipv6Addr>,
    /// Seconds; u32::MAX = infinite.
    pub information_refresh: Option<u32>,
    pub sol_max_rt: Option<u32>,
    pub inf_max_rt: Option<u32>,
    pub reconfigure_msg: Option<MessageType>,
    /// An RKAP Authentication option (RFC 8415 §20.4), if one is present.
    pub auth: Option<RkapAuth>,
    /// What the checks left out, one entry per IA, lease or list cut.
    pub ignored: Vec<IgnoredReason>,
}

fn top_status(s: Option<&Status>) -> TopStatus {
    match s.map(|s| s.code) {
        None | Some(StatusCode::Success) => TopStatus::Success,
        Some(StatusCode::NoAddrsAvail) => TopStatus::NoAddrsAvail,
        Some(StatusCode::NoPrefixAvail) => TopStatus::NoPrefixAvail,
        Some(StatusCode::NoBinding) => TopStatus::NoBinding,
        Some(other) => TopStatus::Other(u16::from(other)),
    }
}

fn ia_status(s: Option<&Status>) -> IaStatus {
    match s.map(|s| s.code) {
        None | Some(StatusCode::Success) => IaStatus::Success,
        Some(StatusCode::NoBinding) => IaStatus::NoBinding,
        Some(StatusCode::NoAddrsAvail | StatusCode::NoPrefixAvail) => IaStatus::NothingAvailable,
        Some(other) => IaStatus::Failure(u16::from(other)),
    }
}

/// RFC 8415 §21.4/§21.21: "If a client receives an IA with T1 greater than
/// T2 and both T1 and T2 are greater than 0, the client discards the IA
/// option" (KAME X5).
fn timers_ok(iaid: u32, t1: u32, t2: u32) -> Result<(), IgnoredReason> {
    if t2 != 0 && t1 > t2 {
        debug!(iaid, t1, t2, "IA ignored: T1 > T2");
        return Err(IgnoredReason::T1AboveT2);
    }
    Ok(())
}

/// RFC 8415 §21.6/§21.22: preferred above valid is discarded (KAME X6);
/// a lease with a failure status of its own is not granted.
fn lease_ok(preferred: Lifetime, valid: Lifetime, s: Option<&Status>) -> Result<(), IgnoredReason> {
    if preferred > valid {
        return Err(IgnoredReason::PreferredAboveValid);
    }
    if s.is_some_and(|s| s.code != StatusCode::Success) {
        return Err(IgnoredReason::LeaseStatus);
    }
    Ok(())
}

/// Whether a delegated prefix lies in space a requesting router can number
/// its links from: global unicast 2000::/3 (RFC 4291 §2.4, RFC 3587) or
/// unique local fc00::/7 (RFC 4193). Everything else (`::/0`, `::/1`,
/// loopback, link-local, multicast, IPv4-mapped, ...) would put nonsense
/// addresses on the LANs and routes over the default route.
fn delegable(p: &Prefix) -> bool {
    let top = p.addr().segments()[0];
    (p.len() >= 3 && top & 0xe000 == 0x2000) || (p.len() >= 7 && top & 0xfe00 == 0xfc00)
}

/// A lease with a valid lifetime of 0 is a withdrawal of something we may
/// hold (RFC 8415 §18.2.10.1): the space check does not apply to it.
fn prefix_offer(p: &IaPrefix) -> Result<LeaseOffer, IgnoredReason> {
    lease_ok(p.preferred, p.valid, p.status()).inspect_err(|_| {
        debug!(prefix = %p.prefix, len = p.prefix_len, "IA Prefix ignored: preferred > valid or failure status");
    })?;
    let Ok(prefix) = Prefix::new(p.prefix, p.prefix_len) else {
        debug!(prefix = %p.prefix, len = p.prefix_len, "IA Prefix ignored: host bits set");
        return Err(IgnoredReason::HostBits);
    };
    if !p.valid.is_zero() && !delegable(&prefix) {
        // Includes a `::/len` hint echoed back with lifetimes.
        debug!(%prefix, "IA Prefix ignored: not global unicast or unique local space");
        return Err(IgnoredReason::NotUnicast);
    }
    let exclude = p
        .excluded_prefix()
        .and_then(|(a, l)| Prefix::new(a, l).ok());
    Ok(LeaseOffer {
        what: Leased::Prefix { prefix, exclude },
        preferred: p.preferred,
        valid: p.valid,
    })
}

fn addr_offer(a: &IaAddr) -> Result<LeaseOffer, IgnoredReason> {
    lease_ok(a.preferred, a.valid, a.status()).inspect_err(|_| {
        debug!(addr = %a.addr, "IA Address ignored: preferred > valid or failure status");
    })?;
    let usable = Prefix::new(a.addr, 128).is_ok_and(|p| delegable(&p));
    if !a.valid.is_zero() && !usable {
        debug!(addr = %a.addr, "IA Address ignored: not a global or unique local address");
        return Err(IgnoredReason::NotUnicast);
    }
    Ok(LeaseOffer {
        what: Leased::Address(a.addr),
        preferred: a.preferred,
        valid: a.valid,
    })
}

/// The leases of one IA that pass the checks, at most
/// [`MAX_LEASES_PER_IA`]; what was left out is added to `ignored`.
fn leases_of<'a, T: 'a>(
    items: impl Iterator<Item = &'a T>,
    check: fn(&T) -> Result<LeaseOffer, IgnoredReason>,
    ignored: &mut Vec<IgnoredReason>,
) -> Vec<LeaseOffer> {
    let mut out = Vec::new();
    for item in items {
        match check(item) {
            Ok(_) if out.len() >= MAX_LEASES_PER_IA => ignored.push(IgnoredReason::TooManyLeases),
            Ok(l) => out.push(l),
            Err(r) => ignored.push(r),
        }
    }
    out
}

fn pd_offer(ia: &IaPd, ignored: &mut Vec<IgnoredReason>) -> Option<IaOffer> {
    if let Err(r) = timers_ok(ia.iaid, ia.t1, ia.t2) {
        ignored.push(r);
        return None;
    }
    Some(IaOffer {
        kind: IaKind::Pd,
        iaid: ia.iaid,
        t1: ia.t1,
        t2: ia.t2,
        status: ia_status(ia.status()),
        leases: leases_of(ia.prefixes(), prefix_offer, ignored),
    })
}

fn na_offer(ia: &IaNa, ignored: &mut Vec<IgnoredReason>) -> Option<IaOffer> {
    if let Err(r) = timers_ok(ia.iaid, ia.t1, ia.t2) {
        ignored.push(r);
        return None;
    }
    Some(IaOffer {
        kind: IaKind::Na,
        iaid: ia.iaid,
        t1: ia.t1,
        t2: ia.t2,
        status: ia_status(ia.status()),
        leases: leases_of(ia.addresses(), addr_offer, ignored),
    })
}

/// The first [`MAX_INFO_ITEMS`] of a stateless option's list.
fn capped<T: Clone>(items: &[T], ignored: &mut Vec<IgnoredReason>) -> Vec<T> {
    if items.len() > MAX_INFO_ITEMS {
        debug!(
            count = items.len(),
            "stateless option list cut to {MAX_INFO_ITEMS}"
        );
        ignored.push(IgnoredReason::TooManyInfoItems);
    }
    items.iter().take(MAX_INFO_ITEMS).cloned().collect()
}

fn rkap_auth(o: &Options) -> Option<RkapAuth> {
    let a = o.authentication()?;
    if a.protocol != rkap::PROTOCOL_RKAP
        || a.algorithm != rkap::ALGORITHM_HMAC_MD5
        || a.rdm != rkap::RDM_MONOTONIC
    {
        return None;
    }
    let (&info_type, value) = a.info.split_first()?;
    Some(RkapAuth {
        replay_detection: a.replay_detection,
        info_type,
        value: value.try_into().ok()?,
    })
}

/// Decodes a datagram for the client.
pub(crate) fn parse(bytes: &[u8]) -> Result<Incoming, DropReason> {
    let msg = Message::parse(bytes).map_err(|e| {
        debug!(error = %e, "DHCPv6 decode failed");
        DropReason::Parse
    })?;
    let Message::Client(m) = msg else {
        return Err(DropReason::UnexpectedType);
    };
    let o = &m.options;
    let mut ias = Vec::new();
    let mut ignored = Vec::new();
    for opt in o.iter() {
        match opt {
            DhcpOption::IaPd(ia) => ias.extend(pd_offer(ia, &mut ignored)),
            DhcpOption::IaNa(ia) => ias.extend(na_offer(ia, &mut ignored)),
            _ => {}
        }
    }
    let has_ia_options = o.iter().any(|x| {
        matches!(
            x,
            DhcpOption::IaPd(_) | DhcpOption::IaNa(_) | DhcpOption::IaTa(_)
        )
    });
    let ntp_servers: Vec<Ipv6Addr> = o
        .ntp_servers()
        .unwrap_or(&[])
        .iter()
        .filter_map(|s| match s {
            NtpSuboption::ServerAddress(a) | NtpSuboption::MulticastAddress(a) => Some(*a),
            _ => None,
        })
        .collect();
    let ntp_servers = capped(&ntp_servers, &mut ignored);
    let dns_servers = capped(o.dns_servers().unwrap_or(&[]), &mut ignored);
    let domains: Vec<String> = o
        .domain_list()
        .unwrap_or(&[])
        .iter()
        .map(|d| d.as_str().to_string())
        .collect();
    let domains = capped(&domains, &mut ignored);
    Ok(Incoming {
        msg_type: m.msg_type,
        xid: m.xid.as_u32(),
        client_id: o.client_id().cloned(),
        server_id: o.server_id().cloned(),
        preference: o.preference().unwrap_or(0),
        status: top_status(o.status()),
        rapid_commit: o.has_rapid_commit(),
        ias,
        has_ia_options,
        dns_servers,
        domains,
        ntp_servers,
        information_refresh: o.information_refresh_time().map(Lifetime::to_wire),
        sol_max_rt: o.sol_max_rt(),
        inf_max_rt: o.inf_max_rt(),
        reconfigure_msg: o.reconfigure_message(),
        auth: rkap_auth(o),
        ignored,
    })
}

/// A message the client sends.
#[derive(Debug)]
pub(crate) struct Outgoing<'a> {
    pub msg_type: MessageType,
    pub xid: u32,
    pub client_id: &'a Duid,
    pub server_id: Option<&'a Duid>,
    pub elapsed_centis: u16,
    pub oro: Vec<OptionCode>,
    pub ias: &'a [IaRequest],
    pub rapid_commit: bool,
    pub reconfigure_accept: bool,
}

/// Encodes `o`. IA contents go with T1/T2 and lifetimes 0: RFC 8415
/// §21.4/§21.21/§21.6/§21.22 say a client SHOULD send 0 and servers ignore
/// them.
pub(crate) fn build(o: &Outgoing<'_>) -> Vec<u8> {
    let mut m = ClientMessage::new(o.msg_type, Xid::new(o.xid))
        .with(DhcpOption::ClientId(o.client_id.clone()));
    if let Some(s) = o.server_id {
        m = m.with(DhcpOption::ServerId(s.clone()));
    }
    m = m.with(DhcpOption::ElapsedTime(o.elapsed_centis));
    if !o.oro.is_empty() {
        m = m.with(DhcpOption::Oro(o.oro.clone()));
    }
    if o.rapid_commit {
        m = m.with(DhcpOption::RapidCommit);
    }
    if o.reconfigure_accept {
        m = m.with(DhcpOption::ReconfigureAccept);
    }
    for ia in o.ias {
        match ia.kind {
            IaKind::Pd => {
                let mut pd = IaPd::new(ia.iaid, 0, 0);
                for h in &ia.hints {
                    if let Leased::Prefix { prefix, .. } = h {
                        pd.options.push(DhcpOption::IaPrefix(IaPrefix::new(
                            prefix.addr(),
                            prefix.len(),
                            Lifetime::ZERO,
                            Lifetime::ZERO,
                        )));
                    }
                }
                m = m.with(DhcpOption::IaPd(pd));
            }
            IaKind::Na => {
                let mut na = IaNa::new(ia.iaid, 0, 0);
                for h in &ia.hints {
                    if let Leased::Address(a) = h {
                        na.options.push(DhcpOption::IaAddr(IaAddr::new(
                            *a,
                            Lifetime::ZERO,
                            Lifetime::ZERO,
                        )));
                    }
                }
                m = m.with(DhcpOption::IaNa(na));
            }
        }
    }
    Message::Client(m).to_bytes()
}
