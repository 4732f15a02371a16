//! DHCPv6 prefix delegation to a mobile router (RFC 6276).
//!
//! The mobile router is the requesting router and the home network
//! delegates (RFC 6276 §3). Its requesting router is also a DHCPv6 relay
//! agent co-located with it: each client message leaves in a Relay-forward
//! from the home address to the home agent (link-address and peer-address
//! the home address), and the answers come back in Relay-replies. The
//! kernel's routing does the rest: away from home the home address's
//! packets go through the tunnel, at home onto the home link.
//!
//! Relaying at home too is this project's choice, not the RFC's (which
//! lets the mobile router talk to the home link's server directly there):
//! the delegating server then sees one link, the home link, named by the
//! home address, and keeps the same lease whether the router is home or
//! away; a server that selects links by link-address (ours with
//! `link-address`, Kea's subnets) needs nothing else.
//!
//! Panic contract: nothing here panics, whatever the bytes.

use std::net::Ipv6Addr;

use v6edge_wire::dhcp6::{Message, MessageType, RelayMessage};

/// The way a mobile node's DHCPv6 messages reach the home network now
/// (RFC 6276 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HomeLinkPath {
    /// The source of the Relay-forwards, and the link-address that names
    /// the home link to the server.
    pub home_address: Ipv6Addr,
    /// Where they go.
    pub home_agent: Ipv6Addr,
    /// At home (straight onto the home link) or away (through the tunnel):
    /// a change is a move to another link for the requesting router, which
    /// then rebinds (RFC 8415 §18.2.12) so that the server routes the
    /// delegated prefixes the new way.
    pub at_home: bool,
}

/// Why a datagram on UDP 547 was not an answer for the requesting router.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RelayReplyDrop {
    Undecodable,
    /// Not a Relay-reply: another relay's or a client's message.
    NotRelayReply,
    /// A Relay-reply for another link or another relay (link-address not
    /// the home address, or a hop count this relay never sent).
    NotOurs,
    /// No Relay Message option, or a relay message inside it.
    NoClientMessage,
}

impl RelayReplyDrop {
    pub fn label(self) -> &'static str {
        match self {
            RelayReplyDrop::Undecodable => "undecodable",
            RelayReplyDrop::NotRelayReply => "not-relay-reply",
            RelayReplyDrop::NotOurs => "not-ours",
            RelayReplyDrop::NoClientMessage => "no-client-message",
        }
    }
}

/// The Relay-forward that carries `client_message` (a message of the
/// requesting router) to the home agent (RFC 8415 §19.1.1: hop count 0,
/// the relay being the first; RFC 6276 §3: link-address and
/// peer-address the home address). `None` only if `client_message` does
/// not decode, which the router's own messages always do.
pub fn relay_forward(client_message: &[u8], home_address: Ipv6Addr) -> Option<Vec<u8>> {
    let inner = match Message::parse(client_message).ok()? {
        m @ Message::Client(_) => m,
        Message::Relay(_) => return None,
    };
    let forward = RelayMessage::forward(inner, 0, home_address, home_address);
    Some(Message::Relay(forward).to_bytes())
}

/// The client message inside a Relay-reply for the relay of
/// `home_address` (RFC 8415 §19.2: the relay takes the Relay Message
/// option and passes it on; the requesting router is right here).
pub fn relay_reply_message(
    packet: &[u8],
    home_address: Ipv6Addr,
) -> Result<Vec<u8>, RelayReplyDrop> {
    let message = Message::parse(packet).map_err(|_| RelayReplyDrop::Undecodable)?;
    let Message::Relay(relay) = message else {
        return Err(RelayReplyDrop::NotRelayReply);
    };
    if relay.msg_type != MessageType::RelayRepl {
        return Err(RelayReplyDrop::NotRelayReply);
    }
    if relay.hop_count != 0 || relay.link_address != home_address {
        return Err(RelayReplyDrop::NotOurs);
    }
    match relay.relay_message() {
        Some(inner @ Message::Client(_)) => Ok(inner.to_bytes()),
        _ => Err(RelayReplyDrop::NoClientMessage),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use v6edge_wire::dhcp6::{ClientMessage, DhcpOption, Xid};

    fn hoa() -> Ipv6Addr {
        "2001:db8:1::300".parse().unwrap()
    }

    /// A Solicit as a requesting router sends it: Client Identifier,
    /// Elapsed Time, IA_PD (bytes written out by hand from RFC 8415 §21).
    const SOLICIT: [u8; 40] = [
        1, 0x12, 0x34, 0x56, // Solicit, xid
        0, 1, 0, 10, 0, 3, 0, 1, 2, 0, 0, 0, 3, 0x01, // Client Identifier, DUID-LL
        0, 8, 0, 2, 0, 0, // Elapsed Time 0
        0, 25, 0, 12, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, // IA_PD IAID 1, T1 T2 0
    ];

    #[test]
    fn a_solicit_goes_in_a_relay_forward_named_by_the_home_address() {
        let bytes = relay_forward(&SOLICIT, hoa()).unwrap();
        // Header: Relay-forw, hop count 0, link-address, peer-address.
        assert_eq!(bytes[0], 12);
        assert_eq!(bytes[1], 0);
        assert_eq!(&bytes[2..18], &hoa().octets());
        assert_eq!(&bytes[18..34], &hoa().octets());
        // Then one option: Relay Message (9) holding the Solicit as is.
        assert_eq!(&bytes[34..36], &[0, 9]);
        assert_eq!(
            u16::from_be_bytes([bytes[36], bytes[37]]) as usize,
            SOLICIT.len()
        );
        assert_eq!(&bytes[38..], &SOLICIT);
    }

    #[test]
    fn a_relay_message_is_not_wrapped_again() {
        let relayed = relay_forward(&SOLICIT, hoa()).unwrap();
        assert_eq!(relay_forward(&relayed, hoa()), None);
        assert_eq!(relay_forward(&[1, 2], hoa()), None);
    }

    fn reply_in_relay_reply(hop_count: u8, link: Ipv6Addr) -> (Vec<u8>, Vec<u8>) {
        let reply = Message::Client(
            ClientMessage::new(MessageType::Reply, Xid::new(0x123456))
                .with(DhcpOption::ElapsedTime(0)),
        );
        let mut relay = RelayMessage::new(MessageType::RelayRepl, hop_count, link, hoa());
        relay = relay.with(DhcpOption::RelayMessage(Box::new(reply.clone())));
        (Message::Relay(relay).to_bytes(), reply.to_bytes())
    }

    #[test]
    fn the_client_message_of_our_relay_reply_is_passed_on() {
        let (packet, reply) = reply_in_relay_reply(0, hoa());
        assert_eq!(relay_reply_message(&packet, hoa()), Ok(reply));
    }

    #[test]
    fn relay_replies_for_others_and_other_messages_are_dropped() {
        let other: Ipv6Addr = "2001:db8:1::301".parse().unwrap();
        let (for_other, _) = reply_in_relay_reply(0, other);
        assert_eq!(
            relay_reply_message(&for_other, hoa()),
            Err(RelayReplyDrop::NotOurs)
        );
        let (deeper, _) = reply_in_relay_reply(1, hoa());
        assert_eq!(
            relay_reply_message(&deeper, hoa()),
            Err(RelayReplyDrop::NotOurs)
        );
        let forward = relay_forward(&SOLICIT, hoa()).unwrap();
        assert_eq!(
            relay_reply_message(&forward, hoa()),
            Err(RelayReplyDrop::NotRelayReply)
        );
        assert_eq!(
            relay_reply_message(&SOLICIT, hoa()),
            Err(RelayReplyDrop::NotRelayReply)
        );
        let empty = Message::Relay(RelayMessage::new(MessageType::RelayRepl, 0, hoa(), hoa()));
        assert_eq!(
            relay_reply_message(&empty.to_bytes(), hoa()),
            Err(RelayReplyDrop::NoClientMessage)
        );
        assert_eq!(
            relay_reply_message(&forward[..20], hoa()),
            Err(RelayReplyDrop::Undecodable)
        );
    }

    proptest::proptest! {
        /// Whatever arrives, unwrapping answers without panicking, and
        /// what it passes on is a client message.
        #[test]
        fn unwrapping_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            if let Ok(inner) = relay_reply_message(&bytes, hoa()) {
                proptest::prop_assert!(matches!(Message::parse(&inner), Ok(Message::Client(_))));
            }
        }

        /// Wrapping then answering in kind gives back the message.
        #[test]
        fn a_wrapped_message_comes_back_out(xid in 0u32..0x0100_0000, elapsed in proptest::prelude::any::<u16>()) {
            let m = Message::Client(ClientMessage::new(MessageType::Solicit, Xid::new(xid)).with(DhcpOption::ElapsedTime(elapsed)));
            let mut fwd = relay_forward(&m.to_bytes(), hoa()).unwrap();
            fwd[0] = 13; // the server's answer has the same shape
            proptest::prop_assert_eq!(relay_reply_message(&fwd, hoa()), Ok(m.to_bytes()));
        }
    }
}
