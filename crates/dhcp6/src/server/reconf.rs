//! Server-initiated reconfiguration: what the server keeps per client to
//! reach it with a Reconfigure, how that survives a restart, and how a
//! Reconfigure is built and signed.
//!
//! Implements, from RFC 8415: §18.3.11 (Reconfigure: Server Identifier,
//! Client Identifier, Reconfigure Message, transaction-id 0, unicast to the
//! client or through its relays in Relay-reply layers per §19.3; REC_TIMEOUT
//! and REC_MAX_RC from §7.6), §20.4 (the Reconfigure Key Authentication
//! Protocol: a 128-bit key handed out once per client in a Reply, then an
//! HMAC-MD5 digest in every Reconfigure; the digest code is shared with the
//! client in [`crate::rkap`]), §20.3 (replay detection method 0: a counter
//! that only grows), §21.11 (Authentication), §21.19 (Reconfigure Message),
//! §21.20 (Reconfigure Accept).
//!
//! # Persistence
//! [`ReconfigureContext::encode`] gives the opaque blob the lease store keeps
//! with every lease of the client (`StoredLease.reconfigure`); the layout
//! starts with a version octet. [`ReconfigureContext::decode`] reads it back
//! and returns `None` for anything it does not recognise, whole and exact.
//! The replay counter survives a restart through the daemon's floor (wall
//! clock in microseconds at start, [`ReconfigureAuth::replay_floor`]) and the
//! last value stored in each context.
//!
//! Panic contract: nothing here panics on any input; decoding uses checked
//! slicing only.

use std::fmt;
use std::net::Ipv6Addr;
use std::sync::Arc;
use std::time::Duration;
use v6edge_core::{DHCP6_CLIENT_PORT, DHCP6_SERVER_PORT, IfIndex, Transmit, Transport};
use v6edge_wire::dhcp6::{
    Authentication, ClientMessage, DhcpOption, Duid, Message, MessageType, RelayMessage, Xid,
};

use crate::rkap;

/// RFC 8415 §7.6: REC_TIMEOUT, the wait before the first retransmission.
pub const REC_TIMEOUT: Duration = Duration::from_secs(2);
/// RFC 8415 §7.6: REC_MAX_RC, transmissions of one Reconfigure in all.
pub const REC_MAX_RC: u8 = 8;

/// The wait after transmission number `attempt` (1 for the first).
/// RFC 8415 §18.3.11: without a Renew, Rebind or Information-request from
/// the client within REC_TIMEOUT the server sends again, doubles
/// REC_TIMEOUT and waits again: 2, 4, 8, ... s.
pub(crate) fn wait_after(attempt: u8) -> Duration {
    REC_TIMEOUT.saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
}

/// What the daemon supplies so the server can hand out reconfigure keys.
/// Without it ([`super::ServerConfig::reconfigure`] `None`) the server gives
/// no new keys, so it never reconfigures a client it did not know before.
#[derive(Clone, PartialEq, Eq)]
pub struct ReconfigureAuth {
    /// 256 bits from the operating system's random source (the daemon
    /// reads `/dev/urandom`): every new key is derived from it
    /// ([`rkap::derive_key`]).
    pub secret: [u8; 32],
    /// A lower bound for the RDM 0 replay detection value (RFC 8415
    /// §20.3). The daemon passes the wall clock in microseconds since the
    /// Unix epoch, so values keep growing across restarts even where the
    /// last value sent was never stored.
    pub replay_floor: u64,
}

impl fmt::Debug for ReconfigureAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The secret never reaches a log.
        f.debug_struct("ReconfigureAuth")
            .field("secret", &"<redacted>")
            .field("replay_floor", &self.replay_floor)
            .finish()
    }
}

/// One Relay-forward layer as received, outermost first in
/// [`ReconfigurePath::Relayed`]: what its Relay-reply must echo (RFC 8415
/// §19.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayHop {
    pub hop_count: u8,
    pub link_address: Ipv6Addr,
    pub peer_address: Ipv6Addr,
    /// RFC 8415 §21.18: echoed in the Relay-reply when the relay sent one.
    pub interface_id: Option<Vec<u8>>,
}

/// How a Reconfigure reaches the client: the way its latest message came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReconfigurePath {
    /// Straight to the client's source address (usually link-local), UDP
    /// 546, out of the interface its message came in on.
    Direct { ifindex: IfIndex, client: Ipv6Addr },
    /// To the outermost relay's source address, UDP 547, wrapped in one
    /// Relay-reply per Relay-forward it came through.
    Relayed {
        ifindex: IfIndex,
        relay: Ipv6Addr,
        hops: Vec<RelayHop>,
    },
}

impl ReconfigurePath {
    pub fn ifindex(&self) -> IfIndex {
        match self {
            ReconfigurePath::Direct { ifindex, .. } | ReconfigurePath::Relayed { ifindex, .. } => {
                *ifindex
            }
        }
    }
}

/// What the server keeps per client that accepted Reconfigure (RFC 8415
/// §20.4.2): its key, the last replay detection value sent with it, and the
/// path to it. Carried by each of the client's leases ([`super::Lease`]).
#[derive(Clone, PartialEq, Eq)]
pub struct ReconfigureContext {
    pub key: [u8; 16],
    /// The replay detection value of the last Reply that carried the key;
    /// every later Reconfigure carries a larger one.
    pub last_rd: u64,
    pub path: ReconfigurePath,
}

impl fmt::Debug for ReconfigureContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Leases are logged with `?`; the key must not be.
        f.debug_struct("ReconfigureContext")
            .field("key", &"<redacted>")
            .field("last_rd", &self.last_rd)
            .field("path", &self.path)
            .finish()
    }
}

/// Version octet of the blob layout below.
const BLOB_V1: u8 = 1;
const TAG_DIRECT: u8 = 0;
const TAG_RELAYED: u8 = 1;
/// Relay chains deeper than this are not kept (RFC 8415 §7.6
/// HOP_COUNT_LIMIT is 8; the codec bounds nesting well below this).
const MAX_HOPS: usize = 32;

/// A cursor over a blob: every read is checked.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    fn addr(&mut self) -> Option<Ipv6Addr> {
        self.array::<16>().map(Ipv6Addr::from)
    }
}

impl ReconfigureContext {
    /// The blob for the lease store. Layout (v1, big-endian):
    /// `1, key[16], last_rd u64, tag` then for tag 0 `ifindex u32,
    /// client[16]`, for tag 1 `ifindex u32, relay[16], n u8` and `n` times
    /// `hop_count u8, link[16], peer[16], has_id u8 (0|1), [len u16,
    /// id[len]]`.
    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(64);
        v.push(BLOB_V1);
        v.extend_from_slice(&self.key);
        v.extend_from_slice(&self.last_rd.to_be_bytes());
        match &self.path {
            ReconfigurePath::Direct { ifindex, client } => {
                v.push(TAG_DIRECT);
                v.extend_from_slice(&ifindex.to_be_bytes());
                v.extend_from_slice(&client.octets());
            }
            ReconfigurePath::Relayed {
                ifindex,
                relay,
                hops,
            } => {
                v.push(TAG_RELAYED);
                v.extend_from_slice(&ifindex.to_be_bytes());
                v.extend_from_slice(&relay.octets());
                // Contexts are built from received chains, which the
                // machine caps at MAX_HOPS; `take` keeps the count honest
                // even so.
                let hops = &hops[..hops.len().min(MAX_HOPS)];
                v.push(hops.len() as u8);
                for h in hops {
                    v.push(h.hop_count);
                    v.extend_from_slice(&h.link_address.octets());
                    v.extend_from_slice(&h.peer_address.octets());
                    match &h.interface_id {
                        // An Interface-ID longer than an option can carry
                        // cannot have been received; store it cut rather
                        // than write a length that lies.
                        Some(id) => {
                            let id = &id[..id.len().min(usize::from(u16::MAX))];
                            v.push(1);
                            v.extend_from_slice(&(id.len() as u16).to_be_bytes());
                            v.extend_from_slice(id);
                        }
                        None => v.push(0),
                    }
                }
            }
        }
        v
    }

    /// Reads a blob written by [`ReconfigureContext::encode`]. `None` for
    /// an unknown version, a truncated or over-long blob, or a bad field;
    /// never panics.
    pub fn decode(blob: &[u8]) -> Option<ReconfigureContext> {
        let mut r = Reader(blob);
        if r.u8()? != BLOB_V1 {
            return None;
        }
        let key = r.array::<16>()?;
        let last_rd = u64::from_be_bytes(r.array::<8>()?);
        let tag = r.u8()?;
        let ifindex = u32::from_be_bytes(r.array::<4>()?);
        let path = match tag {
            TAG_DIRECT => ReconfigurePath::Direct {
                ifindex,
                client: r.addr()?,
            },
            TAG_RELAYED => {
                let relay = r.addr()?;
                let n = usize::from(r.u8()?);
                if n == 0 || n > MAX_HOPS {
                    return None;
                }
                let mut hops = Vec::with_capacity(n);
                for _ in 0..n {
                    let hop_count = r.u8()?;
                    let link_address = r.addr()?;
                    let peer_address = r.addr()?;
                    let interface_id = match r.u8()? {
                        0 => None,
                        1 => {
                            let len = u16::from_be_bytes(r.array::<2>()?);
                            Some(r.take(usize::from(len))?.to_vec())
                        }
                        _ => return None,
                    };
                    hops.push(RelayHop {
                        hop_count,
                        link_address,
                        peer_address,
                        interface_id,
                    });
                }
                ReconfigurePath::Relayed {
                    ifindex,
                    relay,
                    hops,
                }
            }
            _ => return None,
        };
        if !r.0.is_empty() {
            return None;
        }
        Some(ReconfigureContext { key, last_rd, path })
    }

    /// The same context sent out of `ifindex`: the daemon resolves
    /// interfaces by name on restore, since indices change across reboots.
    pub fn with_ifindex(mut self, ifindex: IfIndex) -> ReconfigureContext {
        match &mut self.path {
            ReconfigurePath::Direct { ifindex: i, .. }
            | ReconfigurePath::Relayed { ifindex: i, .. } => *i = ifindex,
        }
        self
    }

    /// Same key and path (the replay value aside): nothing new to store.
    pub(crate) fn same_as(&self, other: &ReconfigureContext) -> bool {
        self.key == other.key && self.path == other.path
    }
}

/// The path a message took to reach the server, from its relay layers
/// (outermost first) and where the datagram came from.
pub(crate) fn path_of(
    ifindex: IfIndex,
    src: Ipv6Addr,
    relays: &[&RelayMessage],
) -> ReconfigurePath {
    if relays.is_empty() {
        return ReconfigurePath::Direct {
            ifindex,
            client: src,
        };
    }
    ReconfigurePath::Relayed {
        ifindex,
        relay: src,
        hops: relays
            .iter()
            .take(MAX_HOPS)
            .map(|r| RelayHop {
                hop_count: r.hop_count,
                link_address: r.link_address,
                peer_address: r.peer_address,
                interface_id: r.options.interface_id().map(<[u8]>::to_vec),
            })
            .collect(),
    }
}

/// The Authentication option of a Reply that hands out `key` (RFC 8415
/// §20.4.2: RKAP, HMAC-MD5, RDM 0, type 1).
pub(crate) fn key_option(key: &[u8; 16], rd: u64) -> DhcpOption {
    let mut info = Vec::with_capacity(17);
    info.push(rkap::INFO_TYPE_KEY);
    info.extend_from_slice(key);
    DhcpOption::Authentication(Authentication {
        protocol: rkap::PROTOCOL_RKAP,
        algorithm: rkap::ALGORITHM_HMAC_MD5,
        rdm: rkap::RDM_MONOTONIC,
        replay_detection: rd,
        info,
    })
}

/// A signed Reconfigure (msg-type Renew) for `client`, addressed along the
/// context's path. `None` only if signing found no RKAP option, which the
/// message built here always has.
pub(crate) fn transmit(
    server: &Duid,
    client: &Duid,
    ctx: &ReconfigureContext,
    rd: u64,
) -> Option<Transmit> {
    // RFC 8415 §18.3.11: Server Identifier, Client Identifier, Reconfigure
    // Message, the Authentication option, nothing else; transaction-id 0.
    let mut info = Vec::with_capacity(17);
    info.push(rkap::INFO_TYPE_HMAC);
    info.extend_from_slice(&[0; 16]);
    let m = ClientMessage::new(MessageType::Reconfigure, Xid::new(0))
        .with(DhcpOption::ServerId(server.clone()))
        .with(DhcpOption::ClientId(client.clone()))
        .with(DhcpOption::ReconfigureMessage(MessageType::Renew))
        .with(DhcpOption::Authentication(Authentication {
            protocol: rkap::PROTOCOL_RKAP,
            algorithm: rkap::ALGORITHM_HMAC_MD5,
            rdm: rkap::RDM_MONOTONIC,
            replay_detection: rd,
            info,
        }));
    let mut bytes = Message::Client(m).to_bytes();
    // RFC 8415 §20.4.2: the digest over the whole message as sent, with the
    // same code the client verifies with.
    rkap::sign(&mut bytes, &ctx.key).ok()?;
    let (ifindex, dst, dst_port, payload) = match &ctx.path {
        ReconfigurePath::Direct { ifindex, client } => {
            (*ifindex, *client, DHCP6_CLIENT_PORT, bytes)
        }
        ReconfigurePath::Relayed {
            ifindex,
            relay,
            hops,
        } => {
            // The signed octets travel inside the Relay Message options;
            // our own message re-emits byte for byte after parsing.
            let inner = Message::parse(&bytes).ok()?;
            (
                *ifindex,
                *relay,
                DHCP6_SERVER_PORT,
                wrap(inner, hops).to_bytes(),
            )
        }
    };
    Some(Transmit {
        ifindex,
        src: None,
        dst,
        transport: Transport::Udp {
            src_port: DHCP6_SERVER_PORT,
            dst_port,
        },
        hop_limit: None,
        payload,
    })
}

/// RFC 8415 §19.3: one Relay-reply per recorded Relay-forward, innermost
/// first, echoing hop-count, link-address, peer-address and Interface-ID.
fn wrap(inner: Message, hops: &[RelayHop]) -> Message {
    let mut msg = inner;
    for h in hops.iter().rev() {
        let mut rr = RelayMessage::new(
            MessageType::RelayRepl,
            h.hop_count,
            h.link_address,
            h.peer_address,
        );
        if let Some(id) = &h.interface_id {
            rr.options.push(DhcpOption::InterfaceId(id.clone()));
        }
        rr.options.push(DhcpOption::RelayMessage(Box::new(msg)));
        msg = Message::Relay(rr);
    }
    msg
}

/// The freshest of several contexts (the one sent with the latest key
/// Reply).
pub(crate) fn freshest<'a>(
    it: impl Iterator<Item = &'a Arc<ReconfigureContext>>,
) -> Option<&'a Arc<ReconfigureContext>> {
    it.max_by_key(|c| c.last_rd)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relayed() -> ReconfigureContext {
        ReconfigureContext {
            key: [9; 16],
            last_rd: 77,
            path: ReconfigurePath::Relayed {
                ifindex: 4,
                relay: "2001:db8::2".parse().unwrap(),
                hops: vec![
                    RelayHop {
                        hop_count: 1,
                        link_address: "::".parse().unwrap(),
                        peer_address: "fe80::1".parse().unwrap(),
                        interface_id: Some(b"eth1".to_vec()),
                    },
                    RelayHop {
                        hop_count: 0,
                        link_address: "2001:db8:1::1".parse().unwrap(),
                        peer_address: "fe80::2".parse().unwrap(),
                        interface_id: None,
                    },
                ],
            },
        }
    }

    #[test]
    fn blob_round_trip_and_strictness() {
        let c = relayed();
        let blob = c.encode();
        assert_eq!(blob[0], BLOB_V1);
        assert_eq!(ReconfigureContext::decode(&blob), Some(c));
        // Every truncation and any trailing octet are refused.
        for n in 0..blob.len() {
            assert_eq!(ReconfigureContext::decode(&blob[..n]), None, "cut at {n}");
        }
        let mut long = blob.clone();
        long.push(0);
        assert_eq!(ReconfigureContext::decode(&long), None);
        let mut v2 = blob;
        v2[0] = 2;
        assert_eq!(ReconfigureContext::decode(&v2), None);
    }

    #[test]
    fn retransmission_waits_double() {
        let waits: Vec<u64> = (1..=REC_MAX_RC).map(|a| wait_after(a).as_secs()).collect();
        assert_eq!(waits, [2, 4, 8, 16, 32, 64, 128, 256]);
    }

    #[test]
    fn debug_hides_key_and_secret() {
        let c = relayed();
        assert!(!format!("{c:?}").contains("9, 9"));
        let a = ReconfigureAuth {
            secret: [0x5a; 32],
            replay_floor: 1,
        };
        assert!(!format!("{a:?}").contains("90"));
    }
}
