//! What the stateful fuzz targets share: driving a machine's clock the way
//! the daemon does, building DHCPv6 messages from structured input (so the
//! fuzzer gets past validation and reaches the protocol logic), and byte
//! edits that break those messages again in small ways.
//!
//! Every structured input is decoded with the `arbitrary` crate: libFuzzer
//! mutates the bytes, `arbitrary` turns them into a sequence of events.

use arbitrary::Arbitrary;
use std::net::Ipv6Addr;
use std::time::Duration;
use v6edge_core::Instant;
use v6edge_wire::Lifetime;
use v6edge_wire::dhcp6::{
    ClientMessage, DhcpOption, Duid, IaAddr, IaNa, IaPd, IaPrefix, Message, MessageType,
    OptionCode, RelayMessage, Status, StatusCode, Xid,
};

/// True when FUZZ_TRACE is set: the targets then print the machine's
/// state after every step (replay a corpus with it to see how deep the
/// inputs reach: `FUZZ_TRACE=1 target/.../dhcp6_client fuzz/corpus/dhcp6_client/*`).
pub fn tracing() -> bool {
    static TRACE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *TRACE.get_or_init(|| std::env::var_os("FUZZ_TRACE").is_some())
}

/// How many events of an input the stateful targets decode and run (and
/// how many records the datagram targets feed); the bytes after them are
/// ignored. Every machine reaches its deepest states (bound, renewing,
/// rebinding, revoked, restarted) in a dozen exchanges, and libFuzzer
/// tries more sequences per second with short inputs than with long ones:
/// an event costs microseconds (messages built, handled, encoded, parsed
/// back and checked), so an input's cost grows with its length.
pub const MAX_EVENTS: usize = 64;

/// How many timer deadlines one time step may run through, one wake-up
/// each, before the harness jumps the rest (a long sleep of a machine
/// with short timers: a retransmission every second, say).
pub const MAX_TIMER_STEPS: usize = 64;

/// How many deadlines all the time steps of one input may run through one
/// by one. Once spent, each step still wakes the machine at its end: the
/// machine then meets every deadline it had on the way late, as after a
/// stalled event loop, which it must handle too. Without it, an input of
/// hour-long steps over short timers ran thousands of wake-ups (2 190 in
/// one 557-octet dhcp6_client input, 28 ms), each encoding, parsing and
/// checking a message.
pub const WAKEUP_BUDGET: usize = 256;

/// The events of an input: what `arbitrary`'s take-rest decoding of a
/// `Vec` gives (a continue flag before each event), but at most
/// [`MAX_EVENTS`] of them, so the ignored rest is not even decoded.
pub fn bounded_events<'a, T: Arbitrary<'a>>(
    u: &mut arbitrary::Unstructured<'a>,
) -> arbitrary::Result<Vec<T>> {
    let mut events = Vec::new();
    while events.len() < MAX_EVENTS && u.arbitrary::<bool>().unwrap_or(false) {
        events.push(T::arbitrary(u)?);
    }
    Ok(events)
}

/// One input in this many may build the huge messages (thousands of IAs
/// or prefixes in one message, answers over 64 KiB).
pub const BULK_ONE_IN: u64 = 64;

/// Whether the input `bytes` may build huge messages: by a hash of all its
/// bytes, so one input in [`BULK_ONE_IN`], and whether a given input may
/// is fixed (it replays alike). Such a message takes milliseconds to
/// build, handle, encode, parse back and check, a hundred times an
/// ordinary event; and every input that sends one lights loop counters
/// (hundreds of iterations) no other input reaches, so libFuzzer keeps
/// many of them and mutates them as often as the rest: a quarter of
/// dhcp6_server_seq's corpus sent one, and it ran at 2 500/s. Gated by the hash,
/// a mutation of such an input keeps its huge message one time in
/// BULK_ONE_IN, and the fuzzer still reaches them (in any combination with
/// the other events) without spending most of its time there.
pub fn bulk_allowed(bytes: &[u8]) -> bool {
    // FNV-1a over 8-octet words: cheap under coverage instrumentation
    // (one loop comparison per word).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ bytes.len() as u64;
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        let mut b = [0; 8];
        b.copy_from_slice(w);
        h = (h ^ u64::from_le_bytes(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    for &b in words.remainder() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    // The high bits: the multiplication mixes upwards.
    (h >> 32).is_multiple_of(BULK_ONE_IN)
}

/// The two calls of every machine the clock helper needs.
pub trait Timed {
    fn next_deadline(&self) -> Option<Instant>;
    fn on_timeout(&mut self, now: Instant);
}

/// Advances the clock by `by` as the daemon's event loop would: it wakes
/// at every deadline the machine asks for on the way (at most
/// [`MAX_TIMER_STEPS`] of them, and at most `wakeups` left of the input's
/// [`WAKEUP_BUDGET`]), calls `on_timeout` there, then `check` (which
/// drains and checks the outputs); and at `now + by` in any case. A
/// machine that, once woken at its deadline, still asks to be woken at or
/// before that instant would make the daemon spin: that fails.
pub fn advance<M: Timed>(
    m: &mut M,
    now: &mut Instant,
    by: Duration,
    wakeups: &mut usize,
    mut check: impl FnMut(&mut M, Instant),
) {
    let target = *now + by;
    for _ in 0..MAX_TIMER_STEPS.min(*wakeups) {
        match m.next_deadline() {
            Some(t) if t <= target => {
                *wakeups -= 1;
                let at = t.max(*now);
                *now = at;
                m.on_timeout(at);
                check(m, at);
                assert_no_spin(m.next_deadline(), at);
            }
            _ => break,
        }
    }
    *now = target;
    m.on_timeout(target);
    check(m, target);
    assert_no_spin(m.next_deadline(), target);
}

/// After a machine has handled input at `now`, nothing may be due at or
/// before `now` any more: the daemon would call it again at once, forever.
pub fn assert_no_spin(deadline: Option<Instant>, now: Instant) {
    if let Some(t) = deadline {
        assert!(
            t > now,
            "poll_timeout {t:?} not after {now:?} once handled: the event loop would spin"
        );
    }
}

/// A time step: milliseconds, seconds, or hours, so that both
/// retransmission timers (about a second) and lease lifetimes (hours to
/// days) are reached in a few events.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Step {
    Millis(u16),
    Seconds(u16),
    Hours(u8),
}

impl Step {
    pub fn duration(self) -> Duration {
        match self {
            Step::Millis(ms) => Duration::from_millis(u64::from(ms)),
            Step::Seconds(s) => Duration::from_secs(u64::from(s)),
            Step::Hours(h) => Duration::from_secs(u64::from(h) * 3600),
        }
    }
}

/// One byte edit: XOR `xor` into the octet at `at` (modulo the length).
#[derive(Arbitrary, Debug, Clone, Copy)]
pub struct Edit {
    pub at: u16,
    pub xor: u8,
}

/// Small breakages applied to an encoded message: byte edits, then an
/// optional cut.
#[derive(Arbitrary, Debug, Clone, Default)]
pub struct Damage {
    pub edits: Vec<Edit>,
    pub cut: Option<u16>,
}

impl Damage {
    pub fn apply(&self, bytes: &mut Vec<u8>) {
        if bytes.is_empty() {
            return;
        }
        for e in &self.edits {
            let i = usize::from(e.at) % bytes.len();
            bytes[i] ^= e.xor;
        }
        if let Some(c) = self.cut {
            bytes.truncate(usize::from(c));
        }
    }
}

/// A Status Code option with an empty message.
pub fn status(code: u16) -> DhcpOption {
    DhcpOption::StatusCode(Status::new(StatusCode::from(code), ""))
}

/// A lifetime biased towards the interesting values: 0, short, long,
/// infinite, or any.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Life {
    Zero,
    Short(u8),
    Hours(u8),
    Infinite,
    Raw(u32),
}

impl Life {
    pub fn wire(self) -> u32 {
        match self {
            Life::Zero => 0,
            Life::Short(s) => u32::from(s),
            Life::Hours(h) => u32::from(h) * 3600,
            Life::Infinite => u32::MAX,
            Life::Raw(v) => v,
        }
    }

    pub fn lifetime(self) -> Lifetime {
        Lifetime::from_wire(self.wire())
    }
}

/// The i-th prefix of length `len` under 2001:db8::/32 (host bits clear
/// for any `len` >= 32), or a raw address when `len` < 32.
pub fn doc_prefix(index: u32, len: u8) -> Ipv6Addr {
    let len = len.min(128);
    let base = u128::from(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0));
    if len < 32 {
        return Ipv6Addr::from(base);
    }
    let shift = 128 - u32::from(len);
    let bits = u128::from(index) & ((1u128 << (u32::from(len) - 32).min(96)) - 1);
    let index_bits = if shift >= 128 { 0 } else { bits << shift };
    Ipv6Addr::from(base | index_bits)
}

// ---------------------------------------------------------------------------
// Client messages (for the server and relay targets)

/// A client's message type.
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientKind {
    Solicit,
    Request,
    Confirm,
    Renew,
    Rebind,
    Release,
    Decline,
    InformationRequest,
    /// Any type, server-to-client and relay types included.
    Other(u8),
}

impl ClientKind {
    pub fn msg_type(self) -> MessageType {
        match self {
            ClientKind::Solicit => MessageType::Solicit,
            ClientKind::Request => MessageType::Request,
            ClientKind::Confirm => MessageType::Confirm,
            ClientKind::Renew => MessageType::Renew,
            ClientKind::Rebind => MessageType::Rebind,
            ClientKind::Release => MessageType::Release,
            ClientKind::Decline => MessageType::Decline,
            ClientKind::InformationRequest => MessageType::InformationRequest,
            // Keep relay types out: they would not re-parse as this format.
            ClientKind::Other(v) if v == 12 || v == 13 => MessageType::Unknown(v.wrapping_add(2)),
            ClientKind::Other(v) => MessageType::from(v),
        }
    }
}

/// Which Server Identifier a client message carries.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum ServerIdChoice {
    /// The right one for the message type: ours for Request, Renew,
    /// Release, Decline; none for the others.
    Proper,
    Ours,
    None,
    Foreign(u8),
}

/// An address or prefix a client asks about.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum HintChoice {
    /// One of the leases the machine holds right now (any client's):
    /// index into the list the harness passes in.
    Held(u8),
    /// `::/len`.
    Length(u8),
    /// The n-th prefix of this length under 2001:db8::/32.
    Doc { index: u16, len: u8 },
    /// Any address and length.
    Raw([u8; 16], u8),
}

#[derive(Arbitrary, Debug, Clone)]
pub struct Hint {
    pub choice: HintChoice,
    pub preferred: Life,
    pub valid: Life,
}

#[derive(Arbitrary, Debug, Clone)]
pub struct IaRequest {
    pub pd: bool,
    pub iaid: u8,
    pub t1: u32,
    pub t2: u32,
    pub hints: Vec<Hint>,
}

/// A client message described by its parts.
#[derive(Arbitrary, Debug, Clone)]
pub struct ClientMsg {
    pub kind: ClientKind,
    /// Which of the harness's clients (DUID) sends it.
    pub client: u8,
    pub with_client_id: bool,
    pub xid: u16,
    pub server_id: ServerIdChoice,
    pub rapid_commit: bool,
    pub reconfigure_accept: bool,
    /// ORO: PD exclude, DNS, SOL_MAX_RT, Information Refresh Time.
    pub oro: u8,
    pub ias: Vec<IaRequest>,
    /// Empty IA_NAs more (RFC 8415 sets no limit), to make big answers:
    /// none for most values, 1 to 4 for 251..=254, 3000 for 255 when
    /// [`Known::bulk`] allows (otherwise 4).
    pub bulk_ias: u8,
    /// RFC 6939 Client Link-Layer Address (a relay adds it).
    pub link_layer: Option<[u8; 6]>,
}

/// What a message builder needs to know about the world.
pub struct Known<'a> {
    pub server_duid: &'a Duid,
    /// Addresses and prefixes leased right now, as (address, length).
    pub held: &'a [(Ipv6Addr, u8)],
    /// How many distinct clients there are (DUIDs 0..count).
    pub clients: u8,
    /// Whether huge messages may be built ([`bulk_allowed`]).
    pub bulk: bool,
}

/// The DUID of client number `n` (a DUID-LL, hardware type 1).
pub fn client_duid(n: u8) -> Duid {
    Duid::new_ll(1, &[2, 0, 0, 0, 0x10, n])
}

fn hint_addr(c: HintChoice, known: &Known<'_>) -> (Ipv6Addr, u8) {
    match c {
        HintChoice::Held(i) => {
            if known.held.is_empty() {
                (Ipv6Addr::UNSPECIFIED, 56)
            } else {
                known.held[usize::from(i) % known.held.len()]
            }
        }
        HintChoice::Length(len) => (Ipv6Addr::UNSPECIFIED, len),
        HintChoice::Doc { index, len } => (doc_prefix(u32::from(index), len), len),
        HintChoice::Raw(a, len) => (Ipv6Addr::from(a), len),
    }
}

impl ClientMsg {
    /// The client's index among `known.clients`.
    pub fn client_index(&self, known: &Known<'_>) -> u8 {
        self.client % known.clients.max(1)
    }

    pub fn build(&self, known: &Known<'_>) -> Message {
        let t = self.kind.msg_type();
        let mut m = ClientMessage::new(t, Xid::new(u32::from(self.xid)));
        if self.with_client_id {
            m = m.with(DhcpOption::ClientId(client_duid(self.client_index(known))));
        }
        let sid = match self.server_id {
            ServerIdChoice::Proper => matches!(
                t,
                MessageType::Request
                    | MessageType::Renew
                    | MessageType::Release
                    | MessageType::Decline
            )
            .then(|| known.server_duid.clone()),
            ServerIdChoice::Ours => Some(known.server_duid.clone()),
            ServerIdChoice::None => None,
            ServerIdChoice::Foreign(n) => Some(Duid::new_en(32473, &[n])),
        };
        if let Some(s) = sid {
            m = m.with(DhcpOption::ServerId(s));
        }
        m = m.with(DhcpOption::ElapsedTime(0));
        let mut oro = Vec::new();
        for (bit, code) in [
            (1, OptionCode::PdExclude),
            (2, OptionCode::DnsServers),
            (4, OptionCode::SolMaxRt),
            (8, OptionCode::InformationRefreshTime),
        ] {
            if self.oro & bit != 0 {
                oro.push(code);
            }
        }
        if !oro.is_empty() {
            m = m.with(DhcpOption::Oro(oro));
        }
        if self.rapid_commit {
            m = m.with(DhcpOption::RapidCommit);
        }
        if self.reconfigure_accept {
            m = m.with(DhcpOption::ReconfigureAccept);
        }
        if let Some(ll) = self.link_layer {
            m = m.with(DhcpOption::ClientLinkLayerAddress {
                hw_type: 1,
                address: ll.to_vec(),
            });
        }
        for ia in &self.ias {
            let iaid = u32::from(ia.iaid % 4);
            if ia.pd {
                let mut pd = IaPd::new(iaid, ia.t1, ia.t2);
                for h in &ia.hints {
                    let (a, len) = hint_addr(h.choice, known);
                    pd.options.push(DhcpOption::IaPrefix(IaPrefix::new(
                        a,
                        len,
                        h.preferred.lifetime(),
                        h.valid.lifetime(),
                    )));
                }
                m = m.with(DhcpOption::IaPd(pd));
            } else {
                let mut na = IaNa::new(iaid, ia.t1, ia.t2);
                for h in &ia.hints {
                    let (a, _) = hint_addr(h.choice, known);
                    na.options.push(DhcpOption::IaAddr(IaAddr::new(
                        a,
                        h.preferred.lifetime(),
                        h.valid.lifetime(),
                    )));
                }
                m = m.with(DhcpOption::IaNa(na));
            }
        }
        let bulk = match self.bulk_ias {
            255 if known.bulk => 3000,
            255 => 4,
            b @ 251..=254 => u32::from(b - 250),
            _ => 0,
        };
        for i in 0..bulk {
            m = m.with(DhcpOption::IaNa(IaNa::new(100 + i, 0, 0)));
        }
        Message::Client(m)
    }
}

/// One relay a message passed through on its way to the server.
#[derive(Arbitrary, Debug, Clone)]
pub struct Hop {
    /// Which link-address the relay gives (the harness maps it).
    pub link: u8,
    /// A hop count other than the position in the chain.
    pub hop_count: Option<u8>,
    pub interface_id: Option<Vec<u8>>,
    pub peer: u8,
}

/// Wraps `inner` in Relay-forward messages, innermost hop first.
/// `link_address` maps a hop's `link` choice to an address.
pub fn relay_forward(
    inner: Message,
    hops: &[Hop],
    link_address: impl Fn(u8) -> Ipv6Addr,
) -> Message {
    let mut m = inner;
    for (depth, h) in hops.iter().enumerate() {
        let hop_count = h.hop_count.unwrap_or(depth as u8);
        let peer = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0x99, u16::from(h.peer));
        let mut r = RelayMessage::forward(m, hop_count, link_address(h.link), peer);
        if let Some(id) = &h.interface_id {
            r = r.with(DhcpOption::InterfaceId(id.clone()));
        }
        m = Message::Relay(r);
    }
    m
}
