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
