//! DHCPv6 messages: the client/server format (RFC 8415 §8) and the relay
//! agent/server format (RFC 8415 §9).
//!
//! ```text
//! client/server (§8)                    relay (§9)
//!  0               1-3                   0          1          2-17          18-33
//! +--------+-----------------+          +--------+-----------+-------------+--------------+
//! |msg-type| transaction-id  |          |msg-type| hop-count | link-address| peer-address |
//! +--------+-----------------+          +--------+-----------+-------------+--------------+
//! | options ...              |          | options ... (Relay Message option holds a message)
//! ```
//!
//! The format follows the type: Relay-forw (12) and Relay-reply (13) use
//! §9, every other type, unknown ones included, §8. The Relay Message
//! option is parsed recursively, bounded by [`MAX_DEPTH`](super::MAX_DEPTH).

use std::fmt;
use std::net::Ipv6Addr;

use super::Reader;
use super::code::MessageType;
use super::error::DecodeError;
use super::option::{Ctx, DhcpOption, Options};
use crate::codec::Writer;

mod field {
    //! Header layouts, octet ranges from the start of the message.
    use std::ops::Range;

    /// §8: the 24-bit transaction ID.
    pub(super) const XID: Range<usize> = 1..4;
    pub(super) const CLIENT_HEADER: usize = XID.end;

    pub(super) const HOP_COUNT: usize = 1;
    pub(super) const LINK_ADDRESS: Range<usize> = 2..18;
    pub(super) const PEER_ADDRESS: Range<usize> = 18..34;
    pub(super) const RELAY_HEADER: usize = PEER_ADDRESS.end;
}

/// The address in a 16-octet header field (the ranges in `field` are).
fn address(octets: &[u8]) -> Ipv6Addr {
    let mut a = [0u8; 16];
    a.copy_from_slice(octets);
    Ipv6Addr::from(a)
}

/// A 24-bit transaction ID (RFC 8415 §8).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Xid(u32);

impl Xid {
    pub const MAX: u32 = 0x00ff_ffff;

    /// Keeps the low 24 bits of `v`, so a random u32 makes a random xid.
    pub const fn new(v: u32) -> Xid {
        Xid(v & Xid::MAX)
    }

    pub const fn from_bytes(b: [u8; 3]) -> Xid {
        Xid(u32::from_be_bytes([0, b[0], b[1], b[2]]))
    }

    pub const fn to_bytes(self) -> [u8; 3] {
        let b = self.0.to_be_bytes();
        [b[1], b[2], b[3]]
    }

    pub const fn as_u32(self) -> u32 {
        self.0
    }
}

/// `0x3a51f2`, six hex digits.
impl fmt::Display for Xid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#08x}", self.0)
    }
}

impl fmt::Debug for Xid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Xid({self})")
    }
}

/// A client/server message (RFC 8415 §8).
///
/// `msg_type` must not be Relay-forw or Relay-reply: such a value would be
/// emitted in this format and parse back as a relay message (or fail).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientMessage {
    pub msg_type: MessageType,
    pub xid: Xid,
    pub options: Options,
}

/// A relay agent/server message (RFC 8415 §9).
///
/// `msg_type` should be Relay-forw or Relay-reply: any other type would
/// parse back in the client/server format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelayMessage {
    pub msg_type: MessageType,
    pub hop_count: u8,
    pub link_address: Ipv6Addr,
    pub peer_address: Ipv6Addr,
    pub options: Options,
}

/// A DHCPv6 message in either format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    Client(ClientMessage),
    Relay(RelayMessage),
}

impl ClientMessage {
    pub fn new(msg_type: MessageType, xid: Xid) -> ClientMessage {
        ClientMessage {
            msg_type,
            xid,
            options: Options::new(),
        }
    }

    /// Builder form of `options.push`.
    #[must_use]
    pub fn with(mut self, opt: DhcpOption) -> ClientMessage {
        self.options.push(opt);
        self
    }
}

impl RelayMessage {
    pub fn new(
        msg_type: MessageType,
        hop_count: u8,
        link_address: Ipv6Addr,
        peer_address: Ipv6Addr,
    ) -> RelayMessage {
        RelayMessage {
            msg_type,
            hop_count,
            link_address,
            peer_address,
            options: Options::new(),
        }
    }

    /// A Relay-forw around `inner` (RFC 8415 §19.1.1, §19.1.2); add an
    /// Interface-ID or other relay options with `with`.
    pub fn forward(
        inner: Message,
        hop_count: u8,
        link_address: Ipv6Addr,
        peer_address: Ipv6Addr,
    ) -> RelayMessage {
        RelayMessage::new(
            MessageType::RelayForw,
            hop_count,
            link_address,
            peer_address,
        )
        .with(DhcpOption::RelayMessage(Box::new(inner)))
    }

    /// Builder form of `options.push`.
    #[must_use]
    pub fn with(mut self, opt: DhcpOption) -> RelayMessage {
        self.options.push(opt);
        self
    }

    /// The message in the Relay Message option.
    pub fn relay_message(&self) -> Option<&Message> {
        self.options.relay_message()
    }
}

impl From<ClientMessage> for Message {
    fn from(m: ClientMessage) -> Message {
        Message::Client(m)
    }
}

impl From<RelayMessage> for Message {
    fn from(m: RelayMessage) -> Message {
        Message::Relay(m)
    }
}

impl Message {
    /// Parses one whole message; see the [module](super) panic contract.
    pub fn parse(bytes: &[u8]) -> Result<Message, DecodeError> {
        Message::parse_at(&mut Reader::new(bytes), 0)
    }

    /// Parses a message filling all of `r` at nesting `depth`.
    pub(crate) fn parse_at(r: &mut Reader<'_>, depth: usize) -> Result<Message, DecodeError> {
        let msg_type = MessageType::from(r.peek_u8()?);
        let ctx = Ctx {
            depth,
            delegated_len: None,
        };
        if msg_type.is_relay() {
            let h = r.take(field::RELAY_HEADER)?;
            Ok(Message::Relay(RelayMessage {
                msg_type,
                hop_count: h[field::HOP_COUNT],
                link_address: address(&h[field::LINK_ADDRESS]),
                peer_address: address(&h[field::PEER_ADDRESS]),
                options: Options::parse(r, ctx)?,
            }))
        } else {
            let h = r.take(field::CLIENT_HEADER)?;
            Ok(Message::Client(ClientMessage {
                msg_type,
                xid: Xid::from_bytes([
                    h[field::XID.start],
                    h[field::XID.start + 1],
                    h[field::XID.start + 2],
                ]),
                options: Options::parse(r, ctx)?,
            }))
        }
    }

    pub fn msg_type(&self) -> MessageType {
        match self {
            Message::Client(m) => m.msg_type,
            Message::Relay(m) => m.msg_type,
        }
    }

    pub fn options(&self) -> &Options {
        match self {
            Message::Client(m) => &m.options,
            Message::Relay(m) => &m.options,
        }
    }

    pub fn options_mut(&mut self) -> &mut Options {
        match self {
            Message::Client(m) => &mut m.options,
            Message::Relay(m) => &mut m.options,
        }
    }

    /// The transaction ID of a client/server message.
    pub fn xid(&self) -> Option<Xid> {
        match self {
            Message::Client(m) => Some(m.xid),
            Message::Relay(_) => None,
        }
    }

    pub fn as_client(&self) -> Option<&ClientMessage> {
        match self {
            Message::Client(m) => Some(m),
            Message::Relay(_) => None,
        }
    }

    pub fn as_relay(&self) -> Option<&RelayMessage> {
        match self {
            Message::Relay(m) => Some(m),
            Message::Client(_) => None,
        }
    }

    /// Follows Relay Message options down to the client/server message,
    /// returning it and the number of relay layers around it. `None` if a
    /// relay layer has no Relay Message option.
    pub fn innermost(&self) -> Option<(&ClientMessage, usize)> {
        let mut msg = self;
        let mut layers = 0;
        loop {
            match msg {
                Message::Client(m) => return Some((m, layers)),
                Message::Relay(r) => {
                    msg = r.relay_message()?;
                    layers += 1;
                }
            }
        }
    }

    /// Octets [`emit`](Message::emit) writes.
    pub fn buffer_len(&self) -> usize {
        match self {
            Message::Client(m) => field::CLIENT_HEADER + m.options.buffer_len(),
            Message::Relay(m) => field::RELAY_HEADER + m.options.buffer_len(),
        }
    }

    /// Writes the message into the first [`buffer_len`](Message::buffer_len)
    /// octets of `buf` and returns that length. Octets past it are left
    /// alone.
    ///
    /// # Panics
    /// If `buf` is shorter than `buffer_len()`, or if a hand-built option's
    /// data exceeds 65535 octets (its length field cannot say so). A parsed
    /// message never does the latter.
    pub fn emit(&self, buf: &mut [u8]) -> usize {
        let len = self.buffer_len();
        assert!(
            buf.len() >= len,
            "Message::emit: buffer of {} octets, need {len}",
            buf.len()
        );
        let mut w = Writer::new(&mut buf[..len]);
        self.emit_into(&mut w);
        debug_assert_eq!(w.position(), len, "buffer_len and emit disagree");
        len
    }

    /// The message as a new vector of `buffer_len()` octets; panics like
    /// [`emit`](Message::emit) on an over-long hand-built option.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut buf = vec![0; self.buffer_len()];
        self.emit(&mut buf);
        buf
    }

    pub(crate) fn emit_into(&self, w: &mut Writer<'_>) {
        match self {
            Message::Client(m) => {
                w.put_u8(m.msg_type.into());
                w.put_slice(&m.xid.to_bytes());
                m.options.emit(w);
            }
            Message::Relay(m) => {
                w.put_u8(m.msg_type.into());
                w.put_u8(m.hop_count);
                w.put_ipv6(m.link_address);
                w.put_ipv6(m.peer_address);
                m.options.emit(w);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dhcp6::{
        DecodeErrorKind, Duid, IaPd, IaPrefix, MAX_DEPTH, OptionCode, Status, StatusCode,
    };

    #[test]
    fn xid_keeps_24_bits() {
        let x = Xid::new(0xdead_beef);
        assert_eq!(x.as_u32(), 0x00ad_beef);
        assert_eq!(x.to_bytes(), [0xad, 0xbe, 0xef]);
        assert_eq!(Xid::from_bytes([0xad, 0xbe, 0xef]), x);
        assert_eq!(x.to_string(), "0xadbeef");
        assert_eq!(Xid::new(1).to_string(), "0x000001");
    }

    /// Built by hand from RFC 8415 §8 and §21.21/§21.22, emitted into a
    /// buffer pre-filled with junk so an unwritten octet would show.
    #[test]
    fn emit_writes_every_octet() {
        let mut pd = IaPd::new(7, 0, 0);
        pd.options.push(DhcpOption::IaPrefix(IaPrefix::hint(60)));
        let msg: Message = ClientMessage::new(MessageType::Solicit, Xid::new(0x0a0b0c))
            .with(DhcpOption::ClientId(Duid::new_ll(1, &[2, 0, 0, 0, 0, 1])))
            .with(DhcpOption::ElapsedTime(0))
            .with(DhcpOption::IaPd(pd))
            .into();
        let expected: &[u8] = &[
            1, 0x0a, 0x0b, 0x0c, // Solicit, xid
            0, 1, 0, 10, 0, 3, 0, 1, 2, 0, 0, 0, 0, 1, // CLIENTID DUID-LL
            0, 8, 0, 2, 0, 0, // ELAPSED_TIME 0
            0, 25, 0, 41, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0, // IA_PD iaid 7, T1 T2 0
            0, 26, 0, 25, 0, 0, 0, 0, 0, 0, 0, 0, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, // ::/60
        ];
        let mut buf = vec![0xa5; expected.len() + 3];
        assert_eq!(msg.emit(&mut buf), expected.len());
        assert_eq!(&buf[..expected.len()], expected);
        assert_eq!(&buf[expected.len()..], &[0xa5; 3]);
        assert_eq!(Message::parse(expected).unwrap(), msg);
    }

    /// Length fields are filled in after their body is written: every
    /// level of a nested Relay-forward must still count exactly its inner
    /// message.
    #[test]
    fn nested_relay_lengths_count_their_inner_message() {
        let mut pd = IaPd::new(7, 0, 0);
        pd.options.push(DhcpOption::IaPrefix(IaPrefix::hint(60)));
        let mut m: Message = ClientMessage::new(MessageType::Solicit, Xid::new(1))
            .with(DhcpOption::IaPd(pd))
            .into();
        // 16 relays: an IA adds levels too, within MAX_DEPTH.
        const RELAYS: usize = 16;
        for i in 0..RELAYS {
            m = RelayMessage::forward(m, i as u8, Ipv6Addr::UNSPECIFIED, Ipv6Addr::LOCALHOST)
                .with(DhcpOption::InterfaceId(vec![i as u8; i]))
                .into();
        }
        let bytes = m.to_bytes();
        assert_eq!(bytes.len(), m.buffer_len());
        // Walk down: at each level the Relay Message option (9) holds the
        // inner message, then comes that level's Interface-ID (18).
        let be16 = |i: usize| usize::from(u16::from_be_bytes([bytes[i], bytes[i + 1]]));
        let (mut at, mut level_len) = (0, bytes.len());
        for depth in (0..RELAYS).rev() {
            let o = at + 34;
            assert_eq!(be16(o), 9);
            let len = be16(o + 2);
            let id_at = o + 4 + len;
            assert_eq!((be16(id_at), be16(id_at + 2)), (18, depth), "level {depth}");
            assert_eq!(id_at + 4 + depth, at + level_len, "level {depth}");
            (at, level_len) = (o + 4, len);
        }
        assert_eq!(Message::parse(&bytes).unwrap(), m);
    }

    #[test]
    #[should_panic(expected = "DHCPv6 option body longer than 65535 octets")]
    fn an_option_body_over_65535_octets_panics() {
        let m: Message = ClientMessage::new(MessageType::Solicit, Xid::new(1))
            .with(DhcpOption::Unknown {
                code: 65000,
                data: vec![0; 65536],
            })
            .into();
        m.to_bytes();
    }

    #[test]
    fn relay_nesting_is_bounded() {
        let inner: Message = ClientMessage::new(MessageType::Solicit, Xid::new(1)).into();
        let wrap = |m: Message, layers: usize| {
            (0..layers).fold(m, |m, i| {
                RelayMessage::forward(m, i as u8, Ipv6Addr::UNSPECIFIED, Ipv6Addr::LOCALHOST).into()
            })
        };
        let ok = wrap(inner.clone(), MAX_DEPTH);
        let parsed = Message::parse(&ok.to_bytes()).unwrap();
        assert_eq!(parsed.innermost().map(|(_, n)| n), Some(MAX_DEPTH));
        let too_deep = wrap(inner, MAX_DEPTH + 1);
        let err = Message::parse(&too_deep.to_bytes()).unwrap_err();
        assert_eq!(err.kind, DecodeErrorKind::TooDeep { limit: MAX_DEPTH });
        assert_eq!(err.option, Some(OptionCode::RelayMessage));
    }

    #[test]
    fn ia_nesting_is_bounded() {
        // IA_PD inside IA_PD inside ...: syntactically allowed, but bounded.
        let nest = |levels: usize| {
            let mut pd = IaPd::new(0, 0, 0);
            pd.options
                .push(DhcpOption::StatusCode(Status::new(StatusCode::Success, "")));
            for _ in 1..levels {
                let mut outer = IaPd::new(0, 0, 0);
                outer.options.push(DhcpOption::IaPd(pd));
                pd = outer;
            }
            Message::from(
                ClientMessage::new(MessageType::Reply, Xid::new(2)).with(DhcpOption::IaPd(pd)),
            )
            .to_bytes()
        };
        assert!(Message::parse(&nest(MAX_DEPTH)).is_ok());
        let err = Message::parse(&nest(MAX_DEPTH + 1)).unwrap_err();
        assert_eq!(err.kind, DecodeErrorKind::TooDeep { limit: MAX_DEPTH });
        assert_eq!(err.option, Some(OptionCode::IaPd));
    }

    #[test]
    fn short_headers() {
        let err = Message::parse(&[]).unwrap_err();
        assert_eq!(err.kind, DecodeErrorKind::Truncated { need: 1, have: 0 });
        let err = Message::parse(&[1, 0, 0]).unwrap_err();
        assert_eq!(err.kind, DecodeErrorKind::Truncated { need: 4, have: 3 });
        assert_eq!(err.offset, 0);
        let err = Message::parse(&[12; 33]).unwrap_err();
        assert_eq!(err.kind, DecodeErrorKind::Truncated { need: 34, have: 33 });
        let ok = Message::parse(&[7, 1, 2, 3]).unwrap();
        assert_eq!(ok.xid(), Some(Xid::new(0x010203)));
        assert!(ok.options().is_empty());
    }
}
