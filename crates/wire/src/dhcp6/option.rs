//! DHCPv6 options (RFC 8415 §21 and the RFCs listed in the module doc of
//! [`dhcp6`](super)) and the ordered option list [`Options`].
//!
//! Every option is `option-code (2) | option-len (2) | option-data` (RFC
//! 8415 §21.1). An option whose length overruns its container is
//! `Truncated`; a length its format does not allow is `BadLength`. Options
//! this module has no type for are [`DhcpOption::Unknown`], kept byte-exact.
//! [`Options`] keeps the order received; duplicates are kept too (whether
//! one is allowed is a protocol question, RFC 8415 Appendix B/C).

use std::net::Ipv6Addr;

use crate::Lifetime;

use super::MAX_DEPTH;
use super::Reader;
use super::code::{MessageType, OptionCode};
use super::domain::{DomainName, parse_name, parse_name_list};
use super::duid::Duid;
use super::error::{DecodeError, DecodeErrorKind};
use super::ia::{IaAddr, IaNa, IaPd, IaPrefix, IaTa, PdExclude};
use super::message::Message;
use super::status::Status;
use crate::codec::Writer;

/// One DHCPv6 option.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DhcpOption {
    /// 1, RFC 8415 §21.2.
    ClientId(Duid),
    /// 2, §21.3.
    ServerId(Duid),
    /// 3, §21.4.
    IaNa(IaNa),
    /// 4, §21.5.
    IaTa(IaTa),
    /// 5, §21.6.
    IaAddr(IaAddr),
    /// 6, §21.7: Option Request Option.
    Oro(Vec<OptionCode>),
    /// 7, §21.8.
    Preference(u8),
    /// 8, §21.9: hundredths of a second since the client began the
    /// exchange, 0xffff meaning "longer".
    ElapsedTime(u16),
    /// 9, §21.10: the message a relay forwards or the server answers.
    RelayMessage(Box<Message>),
    /// 11, §21.11.
    Authentication(Authentication),
    /// 12, §21.12.
    ServerUnicast(Ipv6Addr),
    /// 13, §21.13.
    StatusCode(Status),
    /// 14, §21.14.
    RapidCommit,
    /// 18, §21.18: opaque to everyone but the relay that put it there.
    InterfaceId(Vec<u8>),
    /// 19, §21.19: the message type the client should send (Renew, Rebind
    /// or Information-request).
    ReconfigureMessage(MessageType),
    /// 20, §21.20.
    ReconfigureAccept,
    /// 23, RFC 3646 §3.
    DnsServers(Vec<Ipv6Addr>),
    /// 24, RFC 3646 §4.
    DomainList(Vec<DomainName>),
    /// 25, RFC 8415 §21.21.
    IaPd(IaPd),
    /// 26, §21.22.
    IaPrefix(IaPrefix),
    /// 32, §21.23.
    InformationRefreshTime(Lifetime),
    /// 37, RFC 4649 §3.
    RemoteId { enterprise: u32, remote_id: Vec<u8> },
    /// 38, RFC 4580 §2.
    SubscriberId(Vec<u8>),
    /// 56, RFC 5908 §4.
    NtpServer(Vec<NtpSuboption>),
    /// 67, RFC 6603 §4.2.
    PdExclude(PdExclude),
    /// 79, RFC 6939 §4.
    ClientLinkLayerAddress { hw_type: u16, address: Vec<u8> },
    /// 82, RFC 8415 §21.24: seconds.
    SolMaxRt(u32),
    /// 83, §21.25: seconds.
    InfMaxRt(u32),
    /// Any other code, its data as received.
    Unknown { code: u16, data: Vec<u8> },
}

/// Authentication option body (RFC 8415 §21.11).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authentication {
    /// 0 = configuration token (RFC 3315), 2 = delayed (RFC 3315 §21.4),
    /// 3 = Reconfigure Key (RFC 8415 §20.4).
    pub protocol: u8,
    pub algorithm: u8,
    /// Replay detection method; 0 = monotonically increasing counter.
    pub rdm: u8,
    pub replay_detection: u64,
    pub info: Vec<u8>,
}

/// A suboption of the NTP server option (RFC 5908 §4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NtpSuboption {
    /// 1, §4.1.
    ServerAddress(Ipv6Addr),
    /// 2, §4.2.
    MulticastAddress(Ipv6Addr),
    /// 3, §4.3.
    Fqdn(DomainName),
    /// Any other suboption, as received.
    Unknown { code: u16, data: Vec<u8> },
}

/// Parsing context handed down into nested options.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ctx {
    /// Nesting level of the options being parsed (0 = outer message).
    pub(crate) depth: usize,
    /// Prefix length of the enclosing IAPREFIX, for PD Exclude (RFC 6603 §4.2).
    pub(crate) delegated_len: Option<u8>,
}

/// RFC 8415 §21.11: protocol, algorithm, RDM, 8-octet replay detection.
const AUTH_FIXED: usize = 11;

fn bad_length(len: usize, start: usize) -> DecodeError {
    DecodeError::new(DecodeErrorKind::BadLength { len }, start)
}

/// The body must be exactly `N` octets.
fn exact<const N: usize>(r: &mut Reader<'_>, start: usize) -> Result<[u8; N], DecodeError> {
    if r.remaining() != N {
        return Err(bad_length(r.remaining(), start));
    }
    r.array::<N>()
}

/// A body made of 16-octet addresses.
fn addresses(r: &mut Reader<'_>, start: usize) -> Result<Vec<Ipv6Addr>, DecodeError> {
    if !r.remaining().is_multiple_of(16) {
        return Err(bad_length(r.remaining(), start));
    }
    let mut out = Vec::with_capacity(r.remaining() / 16);
    while !r.is_empty() {
        out.push(r.ipv6()?);
    }
    Ok(out)
}

fn u16_at(b: [u8; 2]) -> u16 {
    u16::from_be_bytes(b)
}

fn u32_at(b: [u8; 4]) -> u32 {
    u32::from_be_bytes(b)
}

/// Writes `code`, lets `body` write the body, and fills in the length
/// field between them with what it wrote. One pass: asking every option
/// for its `body_len` first measured each nested one again per level of
/// nesting (a Relay-forward ten relays deep measured its innermost message
/// ten times). A `body_len` that disagrees with the body still fails:
/// the message's `buffer_len` is then wrong, which `Message::emit` checks
/// (a debug assertion) and the codec's property tests cover.
///
/// # Panics
/// If the body exceeds 65535 octets: only hand-built options can be that
/// large.
fn emit_tlv(w: &mut Writer<'_>, code: u16, body: impl FnOnce(&mut Writer<'_>)) {
    w.put_u16(code);
    let length_at = w.position();
    w.put_u16(0);
    body(w);
    let len = w.position() - length_at - 2;
    // A body longer than the 16-bit length field is a caller bug (see the
    // panic contract in Message::emit); the parser never produces one.
    w.set_u16(
        length_at,
        u16::try_from(len).expect("DHCPv6 option body longer than 65535 octets"),
    );
}

impl DhcpOption {
    pub fn code(&self) -> OptionCode {
        match self {
            DhcpOption::ClientId(_) => OptionCode::ClientId,
            DhcpOption::ServerId(_) => OptionCode::ServerId,
            DhcpOption::IaNa(_) => OptionCode::IaNa,
            DhcpOption::IaTa(_) => OptionCode::IaTa,
            DhcpOption::IaAddr(_) => OptionCode::IaAddr,
            DhcpOption::Oro(_) => OptionCode::Oro,
            DhcpOption::Preference(_) => OptionCode::Preference,
            DhcpOption::ElapsedTime(_) => OptionCode::ElapsedTime,
            DhcpOption::RelayMessage(_) => OptionCode::RelayMessage,
            DhcpOption::Authentication(_) => OptionCode::Authentication,
            DhcpOption::ServerUnicast(_) => OptionCode::ServerUnicast,
            DhcpOption::StatusCode(_) => OptionCode::StatusCode,
            DhcpOption::RapidCommit => OptionCode::RapidCommit,
            DhcpOption::InterfaceId(_) => OptionCode::InterfaceId,
            DhcpOption::ReconfigureMessage(_) => OptionCode::ReconfigureMessage,
            DhcpOption::ReconfigureAccept => OptionCode::ReconfigureAccept,
            DhcpOption::DnsServers(_) => OptionCode::DnsServers,
            DhcpOption::DomainList(_) => OptionCode::DomainList,
            DhcpOption::IaPd(_) => OptionCode::IaPd,
            DhcpOption::IaPrefix(_) => OptionCode::IaPrefix,
            DhcpOption::InformationRefreshTime(_) => OptionCode::InformationRefreshTime,
            DhcpOption::RemoteId { .. } => OptionCode::RemoteId,
            DhcpOption::SubscriberId(_) => OptionCode::SubscriberId,
            DhcpOption::NtpServer(_) => OptionCode::NtpServer,
            DhcpOption::PdExclude(_) => OptionCode::PdExclude,
            DhcpOption::ClientLinkLayerAddress { .. } => OptionCode::ClientLinkLayerAddress,
            DhcpOption::SolMaxRt(_) => OptionCode::SolMaxRt,
            DhcpOption::InfMaxRt(_) => OptionCode::InfMaxRt,
            DhcpOption::Unknown { code, .. } => OptionCode::from(*code),
        }
    }

    /// Octets of the option data (without the 4-octet header).
    pub fn body_len(&self) -> usize {
        match self {
            DhcpOption::ClientId(d) | DhcpOption::ServerId(d) => d.len(),
            DhcpOption::IaNa(ia) => ia.body_len(),
            DhcpOption::IaTa(ia) => ia.body_len(),
            DhcpOption::IaAddr(a) => a.body_len(),
            DhcpOption::Oro(codes) => 2 * codes.len(),
            DhcpOption::Preference(_) => 1,
            DhcpOption::ElapsedTime(_) => 2,
            DhcpOption::RelayMessage(m) => m.buffer_len(),
            DhcpOption::Authentication(a) => AUTH_FIXED + a.info.len(),
            DhcpOption::ServerUnicast(_) => 16,
            DhcpOption::StatusCode(s) => s.body_len(),
            DhcpOption::RapidCommit | DhcpOption::ReconfigureAccept => 0,
            DhcpOption::InterfaceId(b) | DhcpOption::SubscriberId(b) => b.len(),
            DhcpOption::ReconfigureMessage(_) => 1,
            DhcpOption::DnsServers(a) => 16 * a.len(),
            DhcpOption::DomainList(names) => names.iter().map(DomainName::wire_len).sum(),
            DhcpOption::IaPd(ia) => ia.body_len(),
            DhcpOption::IaPrefix(p) => p.body_len(),
            DhcpOption::InformationRefreshTime(_)
            | DhcpOption::SolMaxRt(_)
            | DhcpOption::InfMaxRt(_) => 4,
            DhcpOption::RemoteId { remote_id, .. } => 4 + remote_id.len(),
            DhcpOption::NtpServer(subs) => subs.iter().map(NtpSuboption::buffer_len).sum(),
            DhcpOption::PdExclude(x) => x.body_len(),
            DhcpOption::ClientLinkLayerAddress { address, .. } => 2 + address.len(),
            DhcpOption::Unknown { data, .. } => data.len(),
        }
    }

    /// Octets of the whole option, header included.
    pub fn buffer_len(&self) -> usize {
        4 + self.body_len()
    }

    pub(crate) fn emit(&self, w: &mut Writer<'_>) {
        emit_tlv(w, self.code().into(), |w| self.emit_body(w));
    }

    fn emit_body(&self, w: &mut Writer<'_>) {
        match self {
            DhcpOption::ClientId(d) | DhcpOption::ServerId(d) => w.put_slice(d.as_bytes()),
            DhcpOption::IaNa(ia) => ia.emit_body(w),
            DhcpOption::IaTa(ia) => ia.emit_body(w),
            DhcpOption::IaAddr(a) => a.emit_body(w),
            DhcpOption::Oro(codes) => codes.iter().for_each(|&c| w.put_u16(c.into())),
            DhcpOption::Preference(p) => w.put_u8(*p),
            DhcpOption::ElapsedTime(t) => w.put_u16(*t),
            DhcpOption::RelayMessage(m) => m.emit_into(w),
            DhcpOption::Authentication(a) => {
                w.put_u8(a.protocol);
                w.put_u8(a.algorithm);
                w.put_u8(a.rdm);
                w.put_u64(a.replay_detection);
                w.put_slice(&a.info);
            }
            DhcpOption::ServerUnicast(a) => w.put_ipv6(*a),
            DhcpOption::StatusCode(s) => s.emit_body(w),
            DhcpOption::RapidCommit | DhcpOption::ReconfigureAccept => {}
            DhcpOption::InterfaceId(b) | DhcpOption::SubscriberId(b) => w.put_slice(b),
            DhcpOption::ReconfigureMessage(t) => w.put_u8((*t).into()),
            DhcpOption::DnsServers(addrs) => addrs.iter().for_each(|&a| w.put_ipv6(a)),
            DhcpOption::DomainList(names) => names.iter().for_each(|n| n.emit(w)),
            DhcpOption::IaPd(ia) => ia.emit_body(w),
            DhcpOption::IaPrefix(p) => p.emit_body(w),
            DhcpOption::InformationRefreshTime(t) => w.put_u32(t.to_wire()),
            DhcpOption::RemoteId {
                enterprise,
                remote_id,
            } => {
                w.put_u32(*enterprise);
                w.put_slice(remote_id);
            }
            DhcpOption::NtpServer(subs) => subs.iter().for_each(|s| s.emit(w)),
            DhcpOption::PdExclude(x) => x.emit_body(w),
            DhcpOption::ClientLinkLayerAddress { hw_type, address } => {
                w.put_u16(*hw_type);
                w.put_slice(address);
            }
            DhcpOption::SolMaxRt(v) | DhcpOption::InfMaxRt(v) => w.put_u32(*v),
            DhcpOption::Unknown { data, .. } => w.put_slice(data),
        }
    }

    /// Parses one option body. `r` is exactly the body; `start` is the
    /// offset of the option header, where length errors are reported.
    fn parse_body(
        code: u16,
        r: &mut Reader<'_>,
        start: usize,
        ctx: Ctx,
    ) -> Result<DhcpOption, DecodeError> {
        let len = r.remaining();
        let opt = match OptionCode::from(code) {
            OptionCode::ClientId | OptionCode::ServerId => {
                let duid = Duid::from_bytes(r.rest()).map_err(|_| bad_length(len, start))?;
                if code == u16::from(OptionCode::ClientId) {
                    DhcpOption::ClientId(duid)
                } else {
                    DhcpOption::ServerId(duid)
                }
            }
            OptionCode::IaNa => DhcpOption::IaNa(IaNa::parse_body(r, start, ctx)?),
            OptionCode::IaTa => DhcpOption::IaTa(IaTa::parse_body(r, start, ctx)?),
            OptionCode::IaAddr => DhcpOption::IaAddr(IaAddr::parse_body(r, start, ctx)?),
            OptionCode::Oro => {
                if !len.is_multiple_of(2) {
                    return Err(bad_length(len, start));
                }
                let mut codes = Vec::with_capacity(len / 2);
                while !r.is_empty() {
                    codes.push(OptionCode::from(r.u16()?));
                }
                DhcpOption::Oro(codes)
            }
            OptionCode::Preference => DhcpOption::Preference(exact::<1>(r, start)?[0]),
            OptionCode::ElapsedTime => DhcpOption::ElapsedTime(u16_at(exact(r, start)?)),
            OptionCode::RelayMessage => {
                let depth = ctx.depth + 1;
                if depth > MAX_DEPTH {
                    return Err(r.error(DecodeErrorKind::TooDeep { limit: MAX_DEPTH }));
                }
                DhcpOption::RelayMessage(Box::new(Message::parse_at(r, depth)?))
            }
            OptionCode::Authentication => {
                if len < AUTH_FIXED {
                    return Err(bad_length(len, start));
                }
                DhcpOption::Authentication(Authentication {
                    protocol: r.u8()?,
                    algorithm: r.u8()?,
                    rdm: r.u8()?,
                    replay_detection: r.u64()?,
                    info: r.rest().to_vec(),
                })
            }
            OptionCode::ServerUnicast => {
                DhcpOption::ServerUnicast(Ipv6Addr::from(exact::<16>(r, start)?))
            }
            OptionCode::StatusCode => {
                if len < 2 {
                    return Err(bad_length(len, start));
                }
                DhcpOption::StatusCode(Status::parse_body(r)?)
            }
            OptionCode::RapidCommit => {
                exact::<0>(r, start)?;
                DhcpOption::RapidCommit
            }
            OptionCode::InterfaceId => DhcpOption::InterfaceId(r.rest().to_vec()),
            OptionCode::ReconfigureMessage => {
                DhcpOption::ReconfigureMessage(MessageType::from(exact::<1>(r, start)?[0]))
            }
            OptionCode::ReconfigureAccept => {
                exact::<0>(r, start)?;
                DhcpOption::ReconfigureAccept
            }
            OptionCode::DnsServers => DhcpOption::DnsServers(addresses(r, start)?),
            OptionCode::DomainList => DhcpOption::DomainList(parse_name_list(r)?),
            OptionCode::IaPd => DhcpOption::IaPd(IaPd::parse_body(r, start, ctx)?),
            OptionCode::IaPrefix => DhcpOption::IaPrefix(IaPrefix::parse_body(r, start, ctx)?),
            OptionCode::InformationRefreshTime => {
                DhcpOption::InformationRefreshTime(Lifetime::from_wire(u32_at(exact(r, start)?)))
            }
            OptionCode::RemoteId => {
                if len < 4 {
                    return Err(bad_length(len, start));
                }
                DhcpOption::RemoteId {
                    enterprise: r.u32()?,
                    remote_id: r.rest().to_vec(),
                }
            }
            OptionCode::SubscriberId => DhcpOption::SubscriberId(r.rest().to_vec()),
            OptionCode::NtpServer => {
                let mut subs = Vec::new();
                while !r.is_empty() {
                    subs.push(NtpSuboption::parse(r)?);
                }
                DhcpOption::NtpServer(subs)
            }
            OptionCode::PdExclude => {
                DhcpOption::PdExclude(PdExclude::parse_body(r, start, ctx.delegated_len)?)
            }
            OptionCode::ClientLinkLayerAddress => {
                if len < 2 {
                    return Err(bad_length(len, start));
                }
                DhcpOption::ClientLinkLayerAddress {
                    hw_type: r.u16()?,
                    address: r.rest().to_vec(),
                }
            }
            OptionCode::SolMaxRt => DhcpOption::SolMaxRt(u32_at(exact(r, start)?)),
            OptionCode::InfMaxRt => DhcpOption::InfMaxRt(u32_at(exact(r, start)?)),
            _ => DhcpOption::Unknown {
                code,
                data: r.rest().to_vec(),
            },
        };
        if !r.is_empty() {
            // Every arm above consumes its whole body; this guards the
            // byte-identical re-emit promise against a future arm that does not.
            return Err(bad_length(len, start));
        }
        Ok(opt)
    }
}

impl NtpSuboption {
    pub fn code(&self) -> u16 {
        match self {
            NtpSuboption::ServerAddress(_) => 1,
            NtpSuboption::MulticastAddress(_) => 2,
            NtpSuboption::Fqdn(_) => 3,
            NtpSuboption::Unknown { code, .. } => *code,
        }
    }

    fn body_len(&self) -> usize {
        match self {
            NtpSuboption::ServerAddress(_) | NtpSuboption::MulticastAddress(_) => 16,
            NtpSuboption::Fqdn(name) => name.wire_len(),
            NtpSuboption::Unknown { data, .. } => data.len(),
        }
    }

    fn buffer_len(&self) -> usize {
        4 + self.body_len()
    }

    fn emit(&self, w: &mut Writer<'_>) {
        emit_tlv(w, self.code(), |w| match self {
            NtpSuboption::ServerAddress(a) | NtpSuboption::MulticastAddress(a) => w.put_ipv6(*a),
            NtpSuboption::Fqdn(name) => name.emit(w),
            NtpSuboption::Unknown { data, .. } => w.put_slice(data),
        });
    }

    /// RFC 5908 §4: suboptions use the option TLV layout.
    fn parse(r: &mut Reader<'_>) -> Result<NtpSuboption, DecodeError> {
        let start = r.offset();
        r.require(4)?;
        let code = r.u16()?;
        let len = usize::from(r.u16()?);
        let mut body = r.sub(len)?;
        let sub = match code {
            1 => NtpSuboption::ServerAddress(Ipv6Addr::from(exact::<16>(&mut body, start)?)),
            2 => NtpSuboption::MulticastAddress(Ipv6Addr::from(exact::<16>(&mut body, start)?)),
            3 => {
                // RFC 5908 §4.3: exactly one FQDN fills the suboption.
                let name = parse_name(&mut body)?;
                if !body.is_empty() {
                    return Err(bad_length(len, start));
                }
                NtpSuboption::Fqdn(name)
            }
            _ => NtpSuboption::Unknown {
                code,
                data: body.rest().to_vec(),
            },
        };
        Ok(sub)
    }
}

/// The options of a message or of an encapsulating option, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Options(Vec<DhcpOption>);

impl Options {
    pub fn new() -> Options {
        Options(Vec::new())
    }

    /// Appends `opt`; emit writes options in push order.
    pub fn push(&mut self, opt: DhcpOption) {
        self.0.push(opt);
    }

    /// Builder form of [`push`](Options::push).
    #[must_use]
    pub fn with(mut self, opt: DhcpOption) -> Options {
        self.0.push(opt);
        self
    }

    pub fn iter(&self) -> std::slice::Iter<'_, DhcpOption> {
        self.0.iter()
    }

    pub fn iter_mut(&mut self) -> std::slice::IterMut<'_, DhcpOption> {
        self.0.iter_mut()
    }

    pub fn as_slice(&self) -> &[DhcpOption] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The first option with `code`.
    pub fn find(&self, code: OptionCode) -> Option<&DhcpOption> {
        self.0.iter().find(|o| o.code() == code)
    }

    /// Every option with `code`, in order.
    pub fn find_all(&self, code: OptionCode) -> impl Iterator<Item = &DhcpOption> {
        self.0.iter().filter(move |o| o.code() == code)
    }

    /// How many options carry `code` (RFC 8415 Appendix B/C duplicate checks).
    pub fn count(&self, code: OptionCode) -> usize {
        self.find_all(code).count()
    }

    /// Removes every option with `code`; returns how many there were.
    pub fn remove(&mut self, code: OptionCode) -> usize {
        let before = self.0.len();
        self.0.retain(|o| o.code() != code);
        before - self.0.len()
    }

    pub fn retain(&mut self, f: impl FnMut(&DhcpOption) -> bool) {
        self.0.retain(f);
    }

    /// Octets of all options, headers included.
    pub fn buffer_len(&self) -> usize {
        self.0.iter().map(DhcpOption::buffer_len).sum()
    }

    pub fn client_id(&self) -> Option<&Duid> {
        self.iter().find_map(|o| match o {
            DhcpOption::ClientId(d) => Some(d),
            _ => None,
        })
    }

    pub fn server_id(&self) -> Option<&Duid> {
        self.iter().find_map(|o| match o {
            DhcpOption::ServerId(d) => Some(d),
            _ => None,
        })
    }

    pub fn ia_nas(&self) -> impl Iterator<Item = &IaNa> {
        self.iter().filter_map(|o| match o {
            DhcpOption::IaNa(ia) => Some(ia),
            _ => None,
        })
    }

    pub fn ia_tas(&self) -> impl Iterator<Item = &IaTa> {
        self.iter().filter_map(|o| match o {
            DhcpOption::IaTa(ia) => Some(ia),
            _ => None,
        })
    }

    pub fn ia_pds(&self) -> impl Iterator<Item = &IaPd> {
        self.iter().filter_map(|o| match o {
            DhcpOption::IaPd(ia) => Some(ia),
            _ => None,
        })
    }

    pub fn ia_addrs(&self) -> impl Iterator<Item = &IaAddr> {
        self.iter().filter_map(|o| match o {
            DhcpOption::IaAddr(a) => Some(a),
            _ => None,
        })
    }

    pub fn ia_prefixes(&self) -> impl Iterator<Item = &IaPrefix> {
        self.iter().filter_map(|o| match o {
            DhcpOption::IaPrefix(p) => Some(p),
            _ => None,
        })
    }

    /// The first Status Code option at this level.
    pub fn status(&self) -> Option<&Status> {
        self.iter().find_map(|o| match o {
            DhcpOption::StatusCode(s) => Some(s),
            _ => None,
        })
    }

    pub fn oro(&self) -> Option<&[OptionCode]> {
        self.iter().find_map(|o| match o {
            DhcpOption::Oro(codes) => Some(codes.as_slice()),
            _ => None,
        })
    }

    /// True if the ORO lists `code`.
    pub fn requests(&self, code: OptionCode) -> bool {
        self.oro().is_some_and(|codes| codes.contains(&code))
    }

    pub fn preference(&self) -> Option<u8> {
        self.iter().find_map(|o| match o {
            DhcpOption::Preference(p) => Some(*p),
            _ => None,
        })
    }

    pub fn elapsed_time(&self) -> Option<u16> {
        self.iter().find_map(|o| match o {
            DhcpOption::ElapsedTime(t) => Some(*t),
            _ => None,
        })
    }

    pub fn relay_message(&self) -> Option<&Message> {
        self.iter().find_map(|o| match o {
            DhcpOption::RelayMessage(m) => Some(&**m),
            _ => None,
        })
    }

    pub fn authentication(&self) -> Option<&Authentication> {
        self.iter().find_map(|o| match o {
            DhcpOption::Authentication(a) => Some(a),
            _ => None,
        })
    }

    pub fn server_unicast(&self) -> Option<Ipv6Addr> {
        self.iter().find_map(|o| match o {
            DhcpOption::ServerUnicast(a) => Some(*a),
            _ => None,
        })
    }

    pub fn has_rapid_commit(&self) -> bool {
        self.iter().any(|o| matches!(o, DhcpOption::RapidCommit))
    }

    pub fn has_reconfigure_accept(&self) -> bool {
        self.iter()
            .any(|o| matches!(o, DhcpOption::ReconfigureAccept))
    }

    pub fn reconfigure_message(&self) -> Option<MessageType> {
        self.iter().find_map(|o| match o {
            DhcpOption::ReconfigureMessage(t) => Some(*t),
            _ => None,
        })
    }

    pub fn interface_id(&self) -> Option<&[u8]> {
        self.iter().find_map(|o| match o {
            DhcpOption::InterfaceId(b) => Some(b.as_slice()),
            _ => None,
        })
    }

    pub fn dns_servers(&self) -> Option<&[Ipv6Addr]> {
        self.iter().find_map(|o| match o {
            DhcpOption::DnsServers(a) => Some(a.as_slice()),
            _ => None,
        })
    }

    pub fn domain_list(&self) -> Option<&[DomainName]> {
        self.iter().find_map(|o| match o {
            DhcpOption::DomainList(n) => Some(n.as_slice()),
            _ => None,
        })
    }

    pub fn information_refresh_time(&self) -> Option<Lifetime> {
        self.iter().find_map(|o| match o {
            DhcpOption::InformationRefreshTime(t) => Some(*t),
            _ => None,
        })
    }

    pub fn remote_id(&self) -> Option<(u32, &[u8])> {
        self.iter().find_map(|o| match o {
            DhcpOption::RemoteId {
                enterprise,
                remote_id,
            } => Some((*enterprise, remote_id.as_slice())),
            _ => None,
        })
    }

    pub fn subscriber_id(&self) -> Option<&[u8]> {
        self.iter().find_map(|o| match o {
            DhcpOption::SubscriberId(b) => Some(b.as_slice()),
            _ => None,
        })
    }

    pub fn ntp_servers(&self) -> Option<&[NtpSuboption]> {
        self.iter().find_map(|o| match o {
            DhcpOption::NtpServer(s) => Some(s.as_slice()),
            _ => None,
        })
    }

    pub fn pd_exclude(&self) -> Option<&PdExclude> {
        self.iter().find_map(|o| match o {
            DhcpOption::PdExclude(x) => Some(x),
            _ => None,
        })
    }

    pub fn client_link_layer_address(&self) -> Option<(u16, &[u8])> {
        self.iter().find_map(|o| match o {
            DhcpOption::ClientLinkLayerAddress { hw_type, address } => {
                Some((*hw_type, address.as_slice()))
            }
            _ => None,
        })
    }

    pub fn sol_max_rt(&self) -> Option<u32> {
        self.iter().find_map(|o| match o {
            DhcpOption::SolMaxRt(v) => Some(*v),
            _ => None,
        })
    }

    pub fn inf_max_rt(&self) -> Option<u32> {
        self.iter().find_map(|o| match o {
            DhcpOption::InfMaxRt(v) => Some(*v),
            _ => None,
        })
    }

    pub(crate) fn emit(&self, w: &mut Writer<'_>) {
        for opt in &self.0 {
            opt.emit(w);
        }
    }

    /// Parses options until `r` is exhausted, at `ctx.depth`.
    pub(crate) fn parse(r: &mut Reader<'_>, ctx: Ctx) -> Result<Options, DecodeError> {
        let mut out = Vec::new();
        while !r.is_empty() {
            let start = r.offset();
            r.require(4)?;
            let code = r.u16()?;
            let len = usize::from(r.u16()?);
            let option = OptionCode::from(code);
            let mut body = r.sub(len).map_err(|e| e.within(option))?;
            let opt = DhcpOption::parse_body(code, &mut body, start, ctx)
                .map_err(|e| e.within(option))?;
            out.push(opt);
        }
        Ok(Options(out))
    }

    /// Parses the options inside an encapsulating option, one level deeper.
    /// `delegated_len` is set inside an IAPREFIX.
    pub(crate) fn parse_nested(
        r: &mut Reader<'_>,
        ctx: Ctx,
        delegated_len: Option<u8>,
    ) -> Result<Options, DecodeError> {
        let depth = ctx.depth + 1;
        if depth > MAX_DEPTH {
            return Err(r.error(DecodeErrorKind::TooDeep { limit: MAX_DEPTH }));
        }
        Options::parse(
            r,
            Ctx {
                depth,
                delegated_len,
            },
        )
    }
}

impl From<Vec<DhcpOption>> for Options {
    fn from(v: Vec<DhcpOption>) -> Self {
        Options(v)
    }
}

impl From<Options> for Vec<DhcpOption> {
    fn from(o: Options) -> Self {
        o.0
    }
}

impl FromIterator<DhcpOption> for Options {
    fn from_iter<I: IntoIterator<Item = DhcpOption>>(iter: I) -> Self {
        Options(iter.into_iter().collect())
    }
}

impl Extend<DhcpOption> for Options {
    fn extend<I: IntoIterator<Item = DhcpOption>>(&mut self, iter: I) {
        self.0.extend(iter);
    }
}

impl IntoIterator for Options {
    type Item = DhcpOption;
    type IntoIter = std::vec::IntoIter<DhcpOption>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Options {
    type Item = &'a DhcpOption;
    type IntoIter = std::slice::Iter<'a, DhcpOption>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}
