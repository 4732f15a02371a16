//! What the machines ask of the data plane (mobility.md §3.2-§3.3): a
//! binding to forward a home address to its care-of address (the tunnel
//! entry of RFC 6275 §10.4.1), or to stop. The daemon's `DataPlane` back
//! end (TUN, seg6, ...) carries them out.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4};
use v6edge_core::Instant;
use v6edge_prefix::Prefix;

use crate::mn::MnTunnel;

/// The IPv6 minimum link MTU (RFC 8200 §5).
pub const IPV6_MIN_MTU: u32 = 1280;

/// What IPv6-in-IPv6 adds to each packet: the outer header (RFC 2473 §3;
/// no Tunnel Encapsulation Limit option is sent).
pub const TUNNEL_OVERHEAD: u32 = 40;

/// The tunnel MTU over a path of `path_mtu` octets (RFC 2473 §6.7): what
/// fits once the outer header is added, but never below the IPv6 minimum.
/// Under it, RFC 2473 §7.1(a) has the entry point take inner packets up to
/// 1280 octets and fragment the outer packet instead; a Packet Too Big
/// below 1280 would be useless anyway (RFC 8200 §5; Linux TCP ignores it).
pub fn tunnel_mtu(path_mtu: u32) -> u32 {
    path_mtu.saturating_sub(TUNNEL_OVERHEAD).max(IPV6_MIN_MTU)
}

/// A change to the forwarding state of one binding.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BindingOp {
    /// Add or replace: tunnel packets for `hoa`, and for the mobile
    /// network `prefixes` of a mobile router (RFC 3963 §6.1), to `care_of`
    /// (IPv6 in IPv6, RFC 2473), inner packets up to `mtu` octets;
    /// reverse-tunnelled packets are accepted only from `care_of` with an
    /// inner source `hoa` or inside `prefixes` (HA-14, RFC 3963 §6.3).
    /// With `udp` (DSMIPv6, RFC 5555 §4.1) both directions travel in UDP
    /// to and from that address and port instead, and `care_of` is the
    /// IPv4-mapped form of the IPv4 care-of address; IPv4 packets for
    /// `ipv4_home` go the same way (DS-7).
    Upsert {
        hoa: Ipv6Addr,
        care_of: Ipv6Addr,
        mtu: u32,
        prefixes: Vec<Prefix>,
        udp: Option<SocketAddrV4>,
        ipv4_home: Option<Ipv4Addr>,
    },
    /// Stop forwarding for `hoa`.
    Remove { hoa: Ipv6Addr },
}

/// The home agent's tunnel table: which care-of address each home address
/// is bound to, and the per-packet decisions of the bidirectional tunnel
/// (RFC 6275 §10.4.1–§10.4.5) that a data-plane back end applies. Pure:
/// the back end does the reading and writing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tunnels {
    bindings: std::collections::BTreeMap<Ipv6Addr, Tunnel>,
    /// Mobile network prefixes and the home address of the mobile router
    /// they travel with (RFC 3963).
    prefixes: std::collections::BTreeMap<Prefix, Ipv6Addr>,
    /// IPv4 home addresses and the home address of their binding (DS-7).
    ipv4_homes: std::collections::BTreeMap<Ipv4Addr, Ipv6Addr>,
}

/// One binding's tunnel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tunnel {
    pub care_of: Ipv6Addr,
    /// The configured ceiling of the inner packet size.
    pub mtu: u32,
    /// The path MTU to `care_of`, once known (the kernel's route, or an
    /// outer Packet Too Big).
    pub path_mtu: Option<u32>,
    /// DSMIPv6: the UDP endpoint packets go to and must come from.
    pub udp: Option<SocketAddrV4>,
}

impl Tunnel {
    /// Largest inner packet sent without a Packet Too Big (RFC 2473 §7):
    /// the configured ceiling, lowered to the path's tunnel MTU.
    pub fn effective_mtu(&self) -> u32 {
        match self.path_mtu {
            Some(path) => self.mtu.min(tunnel_mtu(path)),
            None => self.mtu,
        }
    }
}

/// What to do with a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Encapsulate toward this care-of address.
    Encapsulate(Ipv6Addr),
    /// Send in UDP to this address and port (DSMIPv6, RFC 5555 §4.1).
    EncapsulateUdp(SocketAddrV4),
    /// An IPv4 packet: encapsulate in IPv6, next header 4, toward this
    /// care-of address (an IPv4 home address over an IPv6 care-of
    /// address, RFC 5555 §4.1, DS-8).
    EncapsulateIpv4(Ipv6Addr),
    /// Too big for the tunnel: dropped (counted as [`DropCause::TooBig`])
    /// and owed a Packet Too Big with this MTU ([`packet_too_big`],
    /// RFC 2473 §7.1(b)).
    TooBig {
        mtu: u32,
    },
    /// Hand the inner packet to the kernel (it forwards or delivers it).
    Deliver,
    Drop(DropCause),
}

/// Why the data plane dropped a packet (counted by the back end).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DropCause {
    /// Not an IPv6 packet, or shorter than its header.
    Malformed,
    /// No binding for the home address: the route outlived it, or the
    /// packet is for an address we do not serve.
    NoBinding,
    /// Larger than the tunnel's MTU (a Packet Too Big is owed, RFC 2473
    /// §7.1).
    TooBig,
    /// Reverse-tunnelled, but the inner source is not a home address bound
    /// to the outer source (HA-14, RFC 6275 §10.4.5): spoofed.
    Spoofed,
    /// Mobile node: tunnelled to the care-of address by someone other than
    /// the home agent, or not for the home address (MN-11).
    NotFromHomeAgent,
    /// Mobile node: read from the tunnel device with a source other than
    /// the home address (only the home address is reverse-tunnelled).
    NotFromHomeAddress,
    /// DS-6: a UDP payload in the TLV format (or neither IPv4 nor IPv6).
    TlvFormat,
}

impl DropCause {
    /// Metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            DropCause::Malformed => "malformed",
            DropCause::NoBinding => "no-binding",
            DropCause::TooBig => "too-big",
            DropCause::Spoofed => "spoofed",
            DropCause::NotFromHomeAgent => "not-from-home-agent",
            DropCause::NotFromHomeAddress => "not-from-home-address",
            DropCause::TlvFormat => "tlv-format",
        }
    }
}

/// Source and destination of an IPv6 packet, if it is one.
fn addresses(packet: &[u8]) -> Option<(Ipv6Addr, Ipv6Addr)> {
    if packet.len() < 40 || packet[0] >> 4 != 6 {
        return None;
    }
    let src: [u8; 16] = packet.get(8..24)?.try_into().ok()?;
    let dst: [u8; 16] = packet.get(24..40)?.try_into().ok()?;
    Some((Ipv6Addr::from(src), Ipv6Addr::from(dst)))
}

impl Tunnels {
    pub fn new() -> Tunnels {
        Tunnels::default()
    }

    /// Applies a machine's [`BindingOp`].
    pub fn apply(&mut self, op: &BindingOp) {
        match op {
            BindingOp::Upsert {
                hoa,
                care_of,
                mtu,
                prefixes,
                udp,
                ipv4_home,
            } => {
                let (hoa, care_of, mtu, udp) = (*hoa, *care_of, *mtu, *udp);
                // The path MTU belongs to the care-of address: kept while
                // the binding stays there.
                let path_mtu = self
                    .bindings
                    .values()
                    .find(|t| t.care_of == care_of)
                    .and_then(|t| t.path_mtu);
                self.bindings.insert(
                    hoa,
                    Tunnel {
                        care_of,
                        mtu,
                        path_mtu,
                        udp,
                    },
                );
                self.prefixes.retain(|_, owner| *owner != hoa);
                for p in prefixes {
                    self.prefixes.insert(*p, hoa);
                }
                self.ipv4_homes.retain(|_, owner| *owner != hoa);
                if let Some(a) = ipv4_home {
                    self.ipv4_homes.insert(*a, hoa);
                }
            }
            BindingOp::Remove { hoa } => {
                self.bindings.remove(hoa);
                self.prefixes.retain(|_, owner| owner != hoa);
                self.ipv4_homes.retain(|_, owner| owner != hoa);
            }
        }
    }

    pub fn get(&self, hoa: Ipv6Addr) -> Option<Tunnel> {
        self.bindings.get(&hoa).copied()
    }

    /// The home address whose binding carries packets for `addr`: its
    /// own, or that of the mobile router whose mobile network holds it
    /// (the longest prefix).
    fn owner_of(&self, addr: Ipv6Addr) -> Option<Ipv6Addr> {
        if self.bindings.contains_key(&addr) {
            return Some(addr);
        }
        self.prefixes
            .iter()
            .filter(|(p, _)| p.contains_addr(addr))
            .max_by_key(|(p, _)| p.len())
            .map(|(_, hoa)| *hoa)
    }

    pub fn len(&self) -> usize {
        self.bindings.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bindings.is_empty()
    }

    /// The path MTU to `care_of` is now `path_mtu` (asked of the kernel,
    /// or from an outer Packet Too Big, RFC 2473 §7.2): every binding
    /// there follows it.
    pub fn set_path_mtu(&mut self, care_of: Ipv6Addr, path_mtu: u32) {
        for t in self.bindings.values_mut().filter(|t| t.care_of == care_of) {
            t.path_mtu = Some(path_mtu);
        }
    }

    /// A packet the kernel routed to the tunnel device (toward a home
    /// address, RFC 6275 §10.4.1): where to encapsulate it.
    pub fn outbound(&self, packet: &[u8]) -> Verdict {
        // DS-7, DS-8: IPv4 for an IPv4 home address, in UDP over an IPv4
        // care-of address, in IPv6 (next header 4) over an IPv6 one. The
        // outer packet may be fragmented: no size check.
        if let Some((_, dst)) = crate::dsmip::ipv4_addresses(packet) {
            return match self.ipv4_homes.get(&dst).and_then(|h| self.bindings.get(h)) {
                Some(Tunnel { udp: Some(ep), .. }) => Verdict::EncapsulateUdp(*ep),
                Some(t) => Verdict::EncapsulateIpv4(t.care_of),
                None => Verdict::Drop(DropCause::NoBinding),
            };
        }
        let Some((_, dst)) = addresses(packet) else {
            return Verdict::Drop(DropCause::Malformed);
        };
        match self.owner_of(dst).and_then(|hoa| self.bindings.get(&hoa)) {
            None => Verdict::Drop(DropCause::NoBinding),
            Some(t) if packet.len() > t.effective_mtu() as usize => Verdict::TooBig {
                mtu: t.effective_mtu(),
            },
            Some(Tunnel { udp: Some(ep), .. }) => Verdict::EncapsulateUdp(*ep),
            Some(t) => Verdict::Encapsulate(t.care_of),
        }
    }

    /// A UDP payload that came to port 4191 from `from` and is not
    /// signalling (DSMIPv6 reverse tunnelling, RFC 5555 §4.1, HA-14): an
    /// IPv6 packet from a home address or mobile network, or an IPv4
    /// packet from an IPv4 home address, delivered only when that binding
    /// is registered from `from`.
    pub fn inbound_udp(&self, from: SocketAddrV4, payload: &[u8]) -> Verdict {
        let owner = match crate::dsmip::classify(payload) {
            crate::dsmip::UdpPayload::Ipv6(p) => {
                addresses(p).and_then(|(src, _)| self.owner_of(src))
            }
            crate::dsmip::UdpPayload::Ipv4(p) => crate::dsmip::ipv4_addresses(p)
                .and_then(|(src, _)| self.ipv4_homes.get(&src).copied()),
            crate::dsmip::UdpPayload::Tlv => return Verdict::Drop(DropCause::TlvFormat),
            crate::dsmip::UdpPayload::Malformed => return Verdict::Drop(DropCause::Malformed),
        };
        match owner.and_then(|hoa| self.bindings.get(&hoa)) {
            Some(t) if t.udp == Some(from) => Verdict::Deliver,
            _ => Verdict::Drop(DropCause::Spoofed),
        }
    }

    /// An inner packet that arrived in IPv6-in-IPv6 from `outer_src`
    /// (reverse tunnelling, RFC 6275 §10.4.5): delivered only when its
    /// source is a home address bound to `outer_src` (HA-14), or inside a
    /// mobile network prefix of that binding (RFC 3963 §6.3).
    /// An IPv4 inner packet (IPv4-in-IPv6, DS-8) is delivered only when
    /// its source is the IPv4 home address of the binding at `outer_src`.
    pub fn inbound(&self, outer_src: Ipv6Addr, inner: &[u8]) -> Verdict {
        if let Some((src, _)) = crate::dsmip::ipv4_addresses(inner) {
            return match self.ipv4_homes.get(&src).and_then(|h| self.bindings.get(h)) {
                Some(t) if t.care_of == outer_src && t.udp.is_none() => Verdict::Deliver,
                _ => Verdict::Drop(DropCause::Spoofed),
            };
        }
        let Some((src, _)) = addresses(inner) else {
            return Verdict::Drop(DropCause::Malformed);
        };
        // A binding in UDP takes nothing from IPv6-in-IPv6, even from its
        // care-of address's IPv4-mapped form.
        match self.owner_of(src).and_then(|hoa| self.bindings.get(&hoa)) {
            Some(t) if t.care_of == outer_src && t.udp.is_none() => Verdict::Deliver,
            _ => Verdict::Drop(DropCause::Spoofed),
        }
    }
}

/// The mobile node's end of the tunnel (RFC 6275 §11.3.1): the machine's
/// [`MnTunnel`] and what the data plane learnt of the path to the home
/// agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MobileNodeTunnel {
    pub tunnel: MnTunnel,
    /// The path MTU from the care-of address to the home agent, once known.
    pub path_mtu: Option<u32>,
}

/// Where the mobile node's data plane sends a packet from its tunnel
/// device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MnOutbound {
    /// Encapsulate the IPv6 packet in IPv6 (next header 41) from the
    /// care-of address to the home agent.
    Encapsulate {
        care_of: Ipv6Addr,
        home_agent: Ipv6Addr,
    },
    /// Encapsulate the IPv4 packet (from the IPv4 home address) in IPv6,
    /// next header 4, from the care-of address to the home agent (RFC 5555
    /// §4.1, DS-8: an IPv4 home address over an IPv6 care-of address).
    EncapsulateIpv4 {
        care_of: Ipv6Addr,
        home_agent: Ipv6Addr,
    },
    /// Away over IPv4 (RFC 5555 §4.1, non-TLV): the packet, IPv6 or IPv4
    /// as it is, is the payload of a UDP datagram from `src` to `dst` (the
    /// home agent's port 4191), sent from the socket the Binding Updates
    /// use.
    EncapsulateUdp {
        src: std::net::Ipv4Addr,
        dst: std::net::SocketAddrV4,
    },
    /// Dropped, owed a Packet Too Big with this MTU (RFC 2473 §7.1(b)).
    TooBig {
        mtu: u32,
    },
    /// An IPv4 packet with DF set larger than the tunnel MTU: dropped,
    /// owed an ICMPv4 Destination Unreachable, Fragmentation Needed, with
    /// this next-hop MTU (RFC 1191 §4). IPv4 packets without DF are
    /// encapsulated whatever their size (the outer packet is fragmented).
    FragmentationNeeded {
        mtu: u32,
    },
    Drop(DropCause),
}

impl MobileNodeTunnel {
    pub fn new(tunnel: MnTunnel) -> MobileNodeTunnel {
        MobileNodeTunnel {
            tunnel,
            path_mtu: None,
        }
    }

    /// Largest inner packet sent without a Packet Too Big: the configured
    /// ceiling, lowered to what the path to the home agent carries once
    /// the outer headers are added (IPv6: [`tunnel_mtu`]; UDP over IPv4:
    /// [`crate::dsmip::UDP4_OVERHEAD`]), never below the IPv6 minimum (RFC
    /// 2473 §7.1(a): the outer packet is fragmented instead, as IPv4
    /// allows too).
    pub fn effective_mtu(&self) -> u32 {
        let fits = |path: u32| match self.tunnel.udp {
            Some(_) => path
                .saturating_sub(crate::dsmip::UDP4_OVERHEAD)
                .max(IPV6_MIN_MTU),
            None => tunnel_mtu(path),
        };
        match self.path_mtu {
            Some(path) => self.tunnel.mtu.min(fits(path)),
            None => self.tunnel.mtu,
        }
    }

    /// Reverse tunnelling (MN-7): a packet the kernel routed into the
    /// tunnel device. IPv6 from the home address or a mobile network (RFC
    /// 3963 §5.5); IPv4 from the IPv4 home address (RFC 5555 §4.1). Away
    /// over IPv4 both go in UDP, else in IPv6.
    pub fn outbound(&self, packet: &[u8]) -> MnOutbound {
        let mtu = self.effective_mtu();
        match crate::dsmip::classify(packet) {
            crate::dsmip::UdpPayload::Ipv6(p) => {
                let Some((src, _)) = addresses(p) else {
                    return MnOutbound::Drop(DropCause::Malformed);
                };
                if !self.tunnel.is_ours(src) {
                    return MnOutbound::Drop(DropCause::NotFromHomeAddress);
                }
                if p.len() > mtu as usize {
                    return MnOutbound::TooBig { mtu };
                }
                match self.tunnel.udp {
                    Some(u) => MnOutbound::EncapsulateUdp {
                        src: u.care_of,
                        dst: u.home_agent,
                    },
                    None => MnOutbound::Encapsulate {
                        care_of: self.tunnel.care_of,
                        home_agent: self.tunnel.home_agent,
                    },
                }
            }
            crate::dsmip::UdpPayload::Ipv4(p) => {
                let Some((src, _)) = crate::dsmip::ipv4_addresses(p) else {
                    return MnOutbound::Drop(DropCause::Malformed);
                };
                if Some(src) != self.tunnel.ipv4_home {
                    return MnOutbound::Drop(DropCause::NotFromHomeAddress);
                }
                // RFC 791: DF is bit 1 of the flags (octet 6, 0x40).
                let dont_fragment = p[6] & 0x40 != 0;
                if dont_fragment && p.len() > mtu as usize {
                    return MnOutbound::FragmentationNeeded { mtu };
                }
                match self.tunnel.udp {
                    Some(u) => MnOutbound::EncapsulateUdp {
                        src: u.care_of,
                        dst: u.home_agent,
                    },
                    None => MnOutbound::EncapsulateIpv4 {
                        care_of: self.tunnel.care_of,
                        home_agent: self.tunnel.home_agent,
                    },
                }
            }
            _ => MnOutbound::Drop(DropCause::Malformed),
        }
    }

    /// MN-11: an inner packet that arrived encapsulated in IPv6 from
    /// `outer_src` to `outer_dst` is delivered only from the home agent to
    /// the care-of address, for the home address (or a mobile network, or
    /// the IPv4 home address: IPv4-in-IPv6, DS-8). Never while the tunnel
    /// runs over UDP.
    pub fn inbound(&self, outer_src: Ipv6Addr, outer_dst: Ipv6Addr, inner: &[u8]) -> Verdict {
        if matches!(
            crate::dsmip::classify(inner),
            crate::dsmip::UdpPayload::Tlv | crate::dsmip::UdpPayload::Malformed
        ) {
            return Verdict::Drop(DropCause::Malformed);
        }
        if self.tunnel.inbound(outer_src, outer_dst, inner) {
            Verdict::Deliver
        } else {
            Verdict::Drop(DropCause::NotFromHomeAgent)
        }
    }

    /// MN-11 over UDP (RFC 5555 §4.1, DS-6): the payload of a UDP datagram
    /// from `from` is delivered (written to the tunnel device as it is)
    /// only when it came from the home agent's IPv4 address and port 4191
    /// and is an IPv6 packet for the home address or a mobile network, or
    /// an IPv4 packet for the IPv4 home address. The TLV format and short
    /// payloads are [`DropCause::Malformed`]. Signalling (a Mobility Header
    /// from the home agent, [`crate::dsmip::signalling`]) is the driver's
    /// to take out first, for [`crate::mn::MobileNode::handle_mh_udp`].
    pub fn inbound_udp(&self, from: std::net::SocketAddrV4, payload: &[u8]) -> Verdict {
        if matches!(
            crate::dsmip::classify(payload),
            crate::dsmip::UdpPayload::Tlv | crate::dsmip::UdpPayload::Malformed
        ) {
            return Verdict::Drop(DropCause::Malformed);
        }
        if self.tunnel.inbound_udp(from, payload) {
            Verdict::Deliver
        } else {
            Verdict::Drop(DropCause::NotFromHomeAgent)
        }
    }

    /// MN-11 for IP in IPv4 (protocol 41 or 4), which a home agent may use
    /// without F and without a NAT (RFC 5555 §4.1, DS-10): only from the
    /// home agent's IPv4 address to the IPv4 care-of address.
    pub fn inbound_ipv4(
        &self,
        outer_src: std::net::Ipv4Addr,
        outer_dst: std::net::Ipv4Addr,
        inner: &[u8],
    ) -> Verdict {
        if matches!(
            crate::dsmip::classify(inner),
            crate::dsmip::UdpPayload::Tlv | crate::dsmip::UdpPayload::Malformed
        ) {
            return Verdict::Drop(DropCause::Malformed);
        }
        if self.tunnel.inbound_ipv4(outer_src, outer_dst, inner) {
            Verdict::Deliver
        } else {
            Verdict::Drop(DropCause::NotFromHomeAgent)
        }
    }
}

/// ICMPv6 Packet Too Big (RFC 4443 §3.2) from `src`, the tunnel entry
/// point (RFC 2473 §7.1(b)), to the source of `invoking`, as a whole IPv6
/// packet for the tunnel device (the kernel forwards it, or delivers it to
/// its own stack). `None` when no error may be sent (RFC 4443 §2.4(e):
/// about an ICMPv6 error, or to an unspecified, multicast or loopback
/// source) or `invoking` is not IPv6.
pub fn packet_too_big(invoking: &[u8], mtu: u32, src: Ipv6Addr) -> Option<Vec<u8>> {
    let (to, _) = addresses(invoking)?;
    if to.is_unspecified() || to.is_multicast() || to.is_loopback() {
        return None;
    }
    // An ICMPv6 error directly after the header (type < 128, RFC 4443
    // §2.1); errors behind extension headers are rare enough to answer.
    if invoking[6] == 58 && invoking.get(40).is_some_and(|&t| t < 128) {
        return None;
    }
    // As much of the invoking packet as fits the minimum MTU (§2.4(c)).
    let quoted = invoking.len().min((IPV6_MIN_MTU - 48) as usize);
    let icmp_len = 8 + quoted;
    let mut p = Vec::with_capacity(40 + icmp_len);
    p.extend_from_slice(&[0x60, 0, 0, 0]);
    p.extend_from_slice(&(icmp_len as u16).to_be_bytes());
    p.push(58); // ICMPv6
    p.push(64);
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&to.octets());
    p.extend_from_slice(&[2, 0, 0, 0]); // Packet Too Big, code 0
    p.extend_from_slice(&mtu.to_be_bytes());
    p.extend_from_slice(&invoking[..quoted]);
    v6edge_wire::nd::fill_checksum(src, to, &mut p[40..]);
    Some(p)
}

/// An outer Packet Too Big came back for a tunnel packet (RFC 2473 §7.2):
/// `quoted` is the inner packet as far as the ICMPv6 message quoted it,
/// `outer_mtu` the MTU it reported. Returns the new tunnel MTU and, when
/// the lost inner packet did not fit it, the inner Packet Too Big to send
/// from `src` to its source. An inner packet that fits (the new tunnel MTU
/// is the 1280 floor, RFC 2473 §7.1(a)) goes through fragmented next time:
/// nothing to tell its source.
pub fn relay_too_big(quoted: &[u8], outer_mtu: u32, src: Ipv6Addr) -> (u32, Option<Vec<u8>>) {
    let mtu = tunnel_mtu(outer_mtu);
    let original_len = match quoted.get(4..6) {
        Some(b) if addresses(quoted).is_some() => 40 + u32::from(u16::from_be_bytes([b[0], b[1]])),
        _ => return (mtu, None),
    };
    if original_len <= mtu {
        return (mtu, None);
    }
    (mtu, packet_too_big(quoted, mtu, src))
}

/// The ICMPv6 error rate limit of RFC 4443 §2.4(f): a token bucket on an
/// explicit clock.
#[derive(Debug, Clone)]
pub struct ErrorRateLimit {
    per_second: u32,
    burst: u32,
    tokens: u32,
    last: Option<Instant>,
}

impl ErrorRateLimit {
    pub fn new(per_second: u32, burst: u32) -> ErrorRateLimit {
        ErrorRateLimit {
            per_second,
            burst,
            tokens: burst,
            last: None,
        }
    }

    /// Whether one more error may be sent at `now` (and takes its token).
    pub fn allow(&mut self, now: Instant) -> bool {
        if let Some(last) = self.last {
            let elapsed = now.saturating_duration_since(last);
            let refill = (elapsed.as_secs_f64() * f64::from(self.per_second)) as u32;
            if refill > 0 {
                self.tokens = self.tokens.saturating_add(refill).min(self.burst);
                self.last = Some(now);
            }
        } else {
            self.last = Some(now);
        }
        if self.tokens == 0 {
            return false;
        }
        self.tokens -= 1;
        true
    }
}

impl Default for ErrorRateLimit {
    /// 100 a second, bursts of 10: enough for every sender of a busy link
    /// to learn the MTU, not a flood amplifier.
    fn default() -> ErrorRateLimit {
        ErrorRateLimit::new(100, 10)
    }
}

/// Which tunnel data plane carries a role's bindings (mobility.md §2.2),
/// as `status` and `mobility caps` name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataPlaneKind {
    /// TUN device plus raw IPv6-in-IPv6 socket, decisions in userspace
    /// ([`Tunnels`], [`MobileNodeTunnel`]): any kernel.
    Tun,
    /// seg6 `encap.red` routes per binding and `End.DT6` decapsulation:
    /// the kernel fast path.
    Seg6,
}

impl DataPlaneKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DataPlaneKind::Tun => "tun",
            DataPlaneKind::Seg6 => "seg6",
        }
    }
}

/// The kernel facilities of mobility.md §2.2 a probe found (the Linux
/// layer probes; this decides).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Capabilities {
    pub tun: bool,
    pub raw_ipv6_in_ipv6: bool,
    pub af_packet: bool,
    pub nft_queue: bool,
    pub xt_nfqueue: bool,
    pub seg6_encap_red: bool,
    pub seg6local_end_dt6: bool,
    pub policy_rules: bool,
}

/// How HAO and RH2 packets reach the daemon on a kernel without MIP6
/// (mobility.md §2.2 "Receive HAO/RH2").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignallingCapture {
    /// Option A: NFQUEUE (nft `queue`, or the xt target via nft_compat).
    NfQueue,
    /// Option B, the fallback: AF_PACKET with a cBPF filter.
    AfPacket,
}

impl SignallingCapture {
    pub fn as_str(self) -> &'static str {
        match self {
            SignallingCapture::NfQueue => "nfqueue",
            SignallingCapture::AfPacket => "af-packet",
        }
    }
}

impl Capabilities {
    /// The default data plane works (TUN and a raw proto-41 socket).
    pub fn tun_data_plane(&self) -> bool {
        self.tun && self.raw_ipv6_in_ipv6
    }

    /// The seg6 fast path is possible: per-binding `encap.red`, `End.DT6`
    /// and the policy rule steering proto 41 to its table.
    pub fn seg6_data_plane(&self) -> bool {
        self.seg6_encap_red && self.seg6local_end_dt6 && self.policy_rules
    }

    /// What `dataplane = "auto"` picks: the fast path when there is one.
    pub fn auto_data_plane(&self) -> Option<DataPlaneKind> {
        if self.seg6_data_plane() {
            Some(DataPlaneKind::Seg6)
        } else if self.tun_data_plane() {
            Some(DataPlaneKind::Tun)
        } else {
            None
        }
    }

    /// NFQUEUE when either form exists, else AF_PACKET (MT-26).
    pub fn signalling_capture(&self) -> Option<SignallingCapture> {
        if self.nft_queue || self.xt_nfqueue {
            Some(SignallingCapture::NfQueue)
        } else if self.af_packet {
            Some(SignallingCapture::AfPacket)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(src: &str, dst: &str, len: usize) -> Vec<u8> {
        let mut p = vec![0u8; len.max(40)];
        p[0] = 0x60;
        let payload_len = (p.len() - 40) as u16;
        p[4..6].copy_from_slice(&payload_len.to_be_bytes());
        p[8..24].copy_from_slice(&src.parse::<Ipv6Addr>().unwrap().octets());
        p[24..40].copy_from_slice(&dst.parse::<Ipv6Addr>().unwrap().octets());
        p
    }

    #[test]
    fn outbound_follows_the_binding_and_its_mtu() {
        let mut t = Tunnels::new();
        let hoa: Ipv6Addr = "2001:db8:1::200".parse().unwrap();
        let coa: Ipv6Addr = "2001:db8:f::b".parse().unwrap();
        let to_hoa = packet("2001:db8:c::1", "2001:db8:1::200", 100);
        assert_eq!(t.outbound(&to_hoa), Verdict::Drop(DropCause::NoBinding));
        t.apply(&BindingOp::Upsert {
            prefixes: Vec::new(),
            hoa,
            care_of: coa,
            mtu: 1400,
            udp: None,
            ipv4_home: None,
        });
        assert_eq!(t.outbound(&to_hoa), Verdict::Encapsulate(coa));
        let big = packet("2001:db8:c::1", "2001:db8:1::200", 1401);
        assert_eq!(t.outbound(&big), Verdict::TooBig { mtu: 1400 });
        assert_eq!(t.outbound(&[0x60; 39]), Verdict::Drop(DropCause::Malformed));
        assert_eq!(
            t.outbound(&packet("::1", "::2", 40)[..]),
            Verdict::Drop(DropCause::NoBinding)
        );
        t.apply(&BindingOp::Remove { hoa });
        assert_eq!(t.outbound(&to_hoa), Verdict::Drop(DropCause::NoBinding));
        assert!(t.is_empty());
    }

    /// HA-14: only the bound care-of address may send for its home address.
    #[test]
    fn ha14_inbound_accepts_only_the_bound_care_of_address() {
        let mut t = Tunnels::new();
        let hoa: Ipv6Addr = "2001:db8:1::200".parse().unwrap();
        let coa: Ipv6Addr = "2001:db8:f::b".parse().unwrap();
        t.apply(&BindingOp::Upsert {
            prefixes: Vec::new(),
            hoa,
            care_of: coa,
            mtu: 1400,
            udp: None,
            ipv4_home: None,
        });
        let from_hoa = packet("2001:db8:1::200", "2001:db8:c::1", 80);
        assert_eq!(t.inbound(coa, &from_hoa), Verdict::Deliver);
        let other: Ipv6Addr = "2001:db8:f::66".parse().unwrap();
        assert_eq!(
            t.inbound(other, &from_hoa),
            Verdict::Drop(DropCause::Spoofed)
        );
        let from_elsewhere = packet("2001:db8:1::201", "2001:db8:c::1", 80);
        assert_eq!(
            t.inbound(coa, &from_elsewhere),
            Verdict::Drop(DropCause::Spoofed)
        );
        assert_eq!(
            t.inbound(coa, b"\x45not ipv6"),
            Verdict::Drop(DropCause::Malformed)
        );
    }

    /// DSMIPv6 (RFC 5555 §4.1, HA-13, HA-14, DS-6, DS-7): a binding in UDP
    /// sends IPv6 and IPv4 packets to its endpoint, and takes them back
    /// only from that endpoint and from its own addresses.
    #[test]
    fn udp_bindings_carry_ipv6_and_ipv4_both_ways_from_their_endpoint_only() {
        let mut t = Tunnels::new();
        let hoa: Ipv6Addr = "2001:db8:1::300".parse().unwrap();
        let v4_home = Ipv4Addr::new(169, 254, 1, 2);
        let ep: SocketAddrV4 = "169.254.255.9:40123".parse().unwrap();
        t.apply(&BindingOp::Upsert {
            hoa,
            care_of: Ipv4Addr::new(169, 254, 2, 2).to_ipv6_mapped(),
            mtu: 1400,
            prefixes: vec!["2001:db8:10::/48".parse().unwrap()],
            udp: Some(ep),
            ipv4_home: Some(v4_home),
        });
        let v4 = |src: [u8; 4], dst: [u8; 4]| {
            let mut p = vec![0u8; 60];
            p[0] = 0x45;
            p[12..16].copy_from_slice(&src);
            p[16..20].copy_from_slice(&dst);
            p
        };
        let to_hoa = packet("2001:db8:c::1", "2001:db8:1::300", 100);
        let to_lan = packet("2001:db8:c::1", "2001:db8:10::5", 100);
        assert_eq!(t.outbound(&to_hoa), Verdict::EncapsulateUdp(ep));
        assert_eq!(t.outbound(&to_lan), Verdict::EncapsulateUdp(ep));
        assert_eq!(
            t.outbound(&packet("2001:db8:c::1", "2001:db8:1::300", 1401)),
            Verdict::TooBig { mtu: 1400 }
        );
        assert_eq!(
            t.outbound(&v4([169, 254, 9, 1], [169, 254, 1, 2])),
            Verdict::EncapsulateUdp(ep)
        );
        assert_eq!(
            t.outbound(&v4([169, 254, 9, 1], [169, 254, 1, 3])),
            Verdict::Drop(DropCause::NoBinding)
        );
        // Reverse: the endpoint, with a source of this binding.
        let from_lan = packet("2001:db8:10::5", "2001:db8:c::1", 80);
        assert_eq!(t.inbound_udp(ep, &from_lan), Verdict::Deliver);
        let from_v4_home = v4([169, 254, 1, 2], [169, 254, 9, 1]);
        assert_eq!(t.inbound_udp(ep, &from_v4_home), Verdict::Deliver);
        let elsewhere: SocketAddrV4 = "169.254.255.9:40124".parse().unwrap();
        assert_eq!(
            t.inbound_udp(elsewhere, &from_lan),
            Verdict::Drop(DropCause::Spoofed)
        );
        assert_eq!(
            t.inbound_udp(ep, &v4([169, 254, 1, 3], [169, 254, 9, 1])),
            Verdict::Drop(DropCause::Spoofed)
        );
        assert_eq!(
            t.inbound_udp(ep, &packet("2001:db8:1::301", "2001:db8:c::1", 80)),
            Verdict::Drop(DropCause::Spoofed)
        );
        // DS-6: the TLV format is counted and dropped.
        assert_eq!(
            t.inbound_udp(ep, &[1, 0, 0, 40, 0x60]),
            Verdict::Drop(DropCause::TlvFormat)
        );
        // IPv6-in-IPv6 from the IPv4-mapped care-of is nothing.
        assert_eq!(
            t.inbound(Ipv4Addr::new(169, 254, 2, 2).to_ipv6_mapped(), &from_lan),
            Verdict::Drop(DropCause::Spoofed)
        );
        // The binding moves to an IPv6 care-of address (DS-8): its IPv4
        // home address travels in IPv6 now, not in UDP any more.
        let coa: Ipv6Addr = "2001:db8:f::b".parse().unwrap();
        t.apply(&BindingOp::Upsert {
            hoa,
            care_of: coa,
            mtu: 1400,
            prefixes: Vec::new(),
            udp: None,
            ipv4_home: Some(v4_home),
        });
        assert_eq!(t.outbound(&to_hoa), Verdict::Encapsulate(coa));
        assert_eq!(
            t.outbound(&v4([169, 254, 9, 1], [169, 254, 1, 2])),
            Verdict::EncapsulateIpv4(coa)
        );
        assert_eq!(
            t.inbound_udp(ep, &from_v4_home),
            Verdict::Drop(DropCause::Spoofed)
        );
        assert_eq!(t.inbound(coa, &from_v4_home), Verdict::Deliver);
        assert_eq!(
            t.inbound("2001:db8:f::c".parse().unwrap(), &from_v4_home),
            Verdict::Drop(DropCause::Spoofed)
        );
        assert_eq!(
            t.inbound(coa, &v4([169, 254, 1, 3], [169, 254, 9, 1])),
            Verdict::Drop(DropCause::Spoofed)
        );
        t.apply(&BindingOp::Remove { hoa });
        assert!(t.is_empty());
    }

    fn addr(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    /// HA-13, RFC 2473 §6.7: the tunnel MTU follows the path MTU, floored
    /// at the IPv6 minimum, never a fixed 1280.
    #[test]
    fn ha13_tunnel_mtu_is_path_mtu_minus_the_outer_header() {
        assert_eq!(tunnel_mtu(1500), 1460);
        assert_eq!(tunnel_mtu(1400), 1360);
        assert_eq!(tunnel_mtu(9000), 8960);
        assert_eq!(tunnel_mtu(1300), 1280);
        assert_eq!(tunnel_mtu(0), 1280);
        let mut t = Tunnels::new();
        let coa = addr("2001:db8:f::b");
        t.apply(&BindingOp::Upsert {
            prefixes: Vec::new(),
            hoa: addr("2001:db8:1::200"),
            care_of: coa,
            mtu: 1460,
            udp: None,
            ipv4_home: None,
        });
        let p1400 = packet("2001:db8:c::1", "2001:db8:1::200", 1400);
        assert_eq!(t.outbound(&p1400), Verdict::Encapsulate(coa));
        t.set_path_mtu(coa, 1400);
        assert_eq!(t.outbound(&p1400), Verdict::TooBig { mtu: 1360 });
        let p1360 = packet("2001:db8:c::1", "2001:db8:1::200", 1360);
        assert_eq!(t.outbound(&p1360), Verdict::Encapsulate(coa));
        // A refresh at the same care-of address keeps what was learnt; a
        // move forgets it.
        t.apply(&BindingOp::Upsert {
            prefixes: Vec::new(),
            hoa: addr("2001:db8:1::200"),
            care_of: coa,
            mtu: 1460,
            udp: None,
            ipv4_home: None,
        });
        assert_eq!(t.outbound(&p1400), Verdict::TooBig { mtu: 1360 });
        t.apply(&BindingOp::Upsert {
            prefixes: Vec::new(),
            hoa: addr("2001:db8:1::200"),
            care_of: addr("2001:db8:e::b"),
            mtu: 1460,
            udp: None,
            ipv4_home: None,
        });
        assert_eq!(
            t.outbound(&p1400),
            Verdict::Encapsulate(addr("2001:db8:e::b"))
        );
    }

    /// RFC 4443 §3.2: the Packet Too Big goes to the invoking source, with
    /// the MTU, quoting at most what fits 1280 octets, checksum valid.
    #[test]
    fn packet_too_big_is_a_valid_icmpv6_error_to_the_source() {
        let entry = addr("2001:db8:1::1");
        let invoking = packet("2001:db8:c::1", "2001:db8:1::200", 1500);
        let ptb = packet_too_big(&invoking, 1360, entry).unwrap();
        assert_eq!(ptb.len(), 1280);
        assert_eq!(ptb[0] >> 4, 6);
        assert_eq!(usize::from(u16::from_be_bytes([ptb[4], ptb[5]])), 1240);
        assert_eq!(ptb[6], 58);
        assert_eq!(addresses(&ptb), Some((entry, addr("2001:db8:c::1"))));
        assert_eq!(&ptb[40..42], &[2, 0]);
        assert_eq!(u32::from_be_bytes(ptb[44..48].try_into().unwrap()), 1360);
        assert_eq!(&ptb[48..88], &invoking[..40]);
        assert!(v6edge_wire::nd::verify_checksum(
            entry,
            addr("2001:db8:c::1"),
            &ptb[40..]
        ));
        let small = packet("2001:db8:c::1", "2001:db8:1::200", 300);
        assert_eq!(packet_too_big(&small, 1280, entry).unwrap().len(), 48 + 300);
        // RFC 4443 §2.4(e): never about an error, never to ::.
        let mut error = packet("2001:db8:c::1", "2001:db8:1::200", 100);
        error[6] = 58;
        error[40] = 1;
        assert_eq!(packet_too_big(&error, 1280, entry), None);
        error[40] = 128;
        assert!(packet_too_big(&error, 1280, entry).is_some());
        let unspecified = packet("::", "2001:db8:1::200", 1500);
        assert_eq!(packet_too_big(&unspecified, 1280, entry), None);
        assert_eq!(packet_too_big(b"\x45short", 1280, entry), None);
    }

    /// RFC 2473 §7.2: an outer Packet Too Big becomes the inner one when
    /// the lost inner packet does not fit the new tunnel MTU.
    #[test]
    fn outer_packet_too_big_is_relayed_to_the_inner_source() {
        let entry = addr("2001:db8:a::b");
        let mut inner = packet("2001:db8:1::200", "2001:db8:c::1", 1460);
        let (mtu, ptb) = relay_too_big(&inner[..1000], 1400, entry);
        assert_eq!(mtu, 1360);
        let ptb = ptb.unwrap();
        assert_eq!(addresses(&ptb), Some((entry, addr("2001:db8:1::200"))));
        assert_eq!(u32::from_be_bytes(ptb[44..48].try_into().unwrap()), 1360);
        // 1320 octets fit a 1360 tunnel: nothing to relay.
        inner[4..6].copy_from_slice(&1280u16.to_be_bytes());
        assert_eq!(relay_too_big(&inner[..1000], 1400, entry), (1360, None));
        // A path of 1300: the floor; a 1460-octet packet learns 1280.
        inner[4..6].copy_from_slice(&1420u16.to_be_bytes());
        let (mtu, ptb) = relay_too_big(&inner[..200], 1300, entry);
        assert_eq!(mtu, 1280);
        assert_eq!(
            u32::from_be_bytes(ptb.unwrap()[44..48].try_into().unwrap()),
            1280
        );
        assert_eq!(relay_too_big(b"junk", 1300, entry), (1280, None));
    }

    /// MN-7, MN-11 and the mobile node's MTU.
    #[test]
    fn mobile_node_tunnel_decisions() {
        let hoa = addr("2001:db8:1::200");
        let coa = addr("2001:db8:a::b");
        let ha = addr("2001:db8:1::1");
        let mut t = MobileNodeTunnel::new(MnTunnel {
            home_address: hoa,
            care_of: coa,
            home_agent: ha,
            mtu: 1460,
            mobile_networks: Vec::new(),
            udp: None,
            ipv4_home: None,
            home_agent_v4: None,
        });
        let out = packet("2001:db8:1::200", "2001:db8:c::1", 1400);
        assert_eq!(
            t.outbound(&out),
            MnOutbound::Encapsulate {
                care_of: coa,
                home_agent: ha
            }
        );
        t.path_mtu = Some(1300);
        assert_eq!(t.outbound(&out), MnOutbound::TooBig { mtu: 1280 });
        let foreign = packet("2001:db8:a::b", "2001:db8:c::1", 100);
        assert_eq!(
            t.outbound(&foreign),
            MnOutbound::Drop(DropCause::NotFromHomeAddress)
        );
        assert_eq!(t.outbound(b"x"), MnOutbound::Drop(DropCause::Malformed));
        let to_hoa = packet("2001:db8:c::1", "2001:db8:1::200", 100);
        assert_eq!(t.inbound(ha, coa, &to_hoa), Verdict::Deliver);
        assert_eq!(
            t.inbound(addr("2001:db8:a::66"), coa, &to_hoa),
            Verdict::Drop(DropCause::NotFromHomeAgent)
        );
        assert_eq!(
            t.inbound(ha, coa, b"x"),
            Verdict::Drop(DropCause::Malformed)
        );
    }

    #[test]
    fn error_rate_limit_refills_with_time() {
        let t0 = Instant::from_micros(5_000_000);
        let mut limit = ErrorRateLimit::new(10, 2);
        assert!(limit.allow(t0));
        assert!(limit.allow(t0));
        assert!(!limit.allow(t0));
        assert!(!limit.allow(t0 + std::time::Duration::from_millis(50)));
        assert!(limit.allow(t0 + std::time::Duration::from_millis(110)));
        assert!(!limit.allow(t0 + std::time::Duration::from_millis(110)));
    }

    /// MT-26: the choices follow the probes; AF_PACKET when NFQUEUE is
    /// absent.
    #[test]
    fn mt26_choices_follow_the_capabilities() {
        let this_kernel = Capabilities {
            tun: true,
            raw_ipv6_in_ipv6: true,
            af_packet: true,
            xt_nfqueue: true,
            policy_rules: true,
            ..Capabilities::default()
        };
        assert_eq!(this_kernel.auto_data_plane(), Some(DataPlaneKind::Tun));
        assert_eq!(
            this_kernel.signalling_capture(),
            Some(SignallingCapture::NfQueue)
        );
        let no_nfqueue = Capabilities {
            xt_nfqueue: false,
            ..this_kernel
        };
        assert_eq!(
            no_nfqueue.signalling_capture(),
            Some(SignallingCapture::AfPacket)
        );
        let seg6 = Capabilities {
            seg6_encap_red: true,
            seg6local_end_dt6: true,
            ..this_kernel
        };
        assert_eq!(seg6.auto_data_plane(), Some(DataPlaneKind::Seg6));
        let seg6_without_rules = Capabilities {
            policy_rules: false,
            ..seg6
        };
        assert_eq!(
            seg6_without_rules.auto_data_plane(),
            Some(DataPlaneKind::Tun)
        );
        assert_eq!(Capabilities::default().auto_data_plane(), None);
        assert_eq!(Capabilities::default().signalling_capture(), None);
        assert_eq!(DataPlaneKind::Tun.as_str(), "tun");
    }
}
