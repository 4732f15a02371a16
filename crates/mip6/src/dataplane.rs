//! What the machines ask of the data plane (mobility.md §3.2-§3.3): a
//! binding to forward a home address to its care-of address (the tunnel
//! entry of RFC 6275 §10.4.1), or to stop. The daemon's `DataPlane` back
//! end (TUN, seg6, ...) carries them out.

use std::net::Ipv6Addr;

/// A change to the forwarding state of one binding.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BindingOp {
    /// Add or replace: tunnel packets for `hoa` to `care_of` (IPv6 in
    /// IPv6, RFC 2473), inner packets up to `mtu` octets; reverse-tunnelled
    /// packets are accepted only from `care_of` with inner source `hoa`
    /// (HA-14).
    Upsert {
        hoa: Ipv6Addr,
        care_of: Ipv6Addr,
        mtu: u32,
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
}

/// One binding's tunnel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tunnel {
    pub care_of: Ipv6Addr,
    /// Largest inner packet sent without a Packet Too Big (RFC 2473 §7).
    pub mtu: u32,
}

/// What to do with a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Encapsulate toward this care-of address.
    Encapsulate(Ipv6Addr),
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
}

impl DropCause {
    /// Metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            DropCause::Malformed => "malformed",
            DropCause::NoBinding => "no-binding",
            DropCause::TooBig => "too-big",
            DropCause::Spoofed => "spoofed",
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
        match *op {
            BindingOp::Upsert { hoa, care_of, mtu } => {
                self.bindings.insert(hoa, Tunnel { care_of, mtu });
            }
            BindingOp::Remove { hoa } => {
                self.bindings.remove(&hoa);
            }
        }
    }

    pub fn get(&self, hoa: Ipv6Addr) -> Option<Tunnel> {
        self.bindings.get(&hoa).copied()
    }

    pub fn len(&self) -> usize {
        self.bindings.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bindings.is_empty()
    }

    /// A packet the kernel routed to the tunnel device (toward a home
    /// address, RFC 6275 §10.4.1): where to encapsulate it.
    pub fn outbound(&self, packet: &[u8]) -> Verdict {
        let Some((_, dst)) = addresses(packet) else {
            return Verdict::Drop(DropCause::Malformed);
        };
        match self.bindings.get(&dst) {
            None => Verdict::Drop(DropCause::NoBinding),
            Some(t) if packet.len() > t.mtu as usize => Verdict::Drop(DropCause::TooBig),
            Some(t) => Verdict::Encapsulate(t.care_of),
        }
    }

    /// An inner packet that arrived in IPv6-in-IPv6 from `outer_src`
    /// (reverse tunnelling, RFC 6275 §10.4.5): delivered only when its
    /// source is a home address bound to `outer_src` (HA-14).
    pub fn inbound(&self, outer_src: Ipv6Addr, inner: &[u8]) -> Verdict {
        let Some((src, _)) = addresses(inner) else {
            return Verdict::Drop(DropCause::Malformed);
        };
        match self.bindings.get(&src) {
            Some(t) if t.care_of == outer_src => Verdict::Deliver,
            _ => Verdict::Drop(DropCause::Spoofed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(src: &str, dst: &str, len: usize) -> Vec<u8> {
        let mut p = vec![0u8; len.max(40)];
        p[0] = 0x60;
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
            hoa,
            care_of: coa,
            mtu: 1400,
        });
        assert_eq!(t.outbound(&to_hoa), Verdict::Encapsulate(coa));
        let big = packet("2001:db8:c::1", "2001:db8:1::200", 1401);
        assert_eq!(t.outbound(&big), Verdict::Drop(DropCause::TooBig));
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
            hoa,
            care_of: coa,
            mtu: 1400,
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
}
