//! Wire formats for v6edge: DHCPv6 ([`dhcp6`]), ICMPv6 Neighbor Discovery
//! and the Mobile IPv6 ICMPv6 messages ([`nd`]), the Mobility Header
//! ([`mh`]), the Mobile IPv6 extension headers ([`ip6`]) and RIPng
//! ([`ripng`]), all written with one toolkit ([`codec`]: checked reader,
//! writer, error shape, code-point enums, domain names, [`constants`]).
//!
//! # Panic contract
//! Every `parse` function accepts any byte slice and returns `Ok` or `Err`;
//! none panics, none reads past the slice, none silently truncates. Every
//! `emit` writes exactly `buffer_len()` bytes. Lengths read from the wire go
//! through checked arithmetic. Unknown message types and option codes are
//! values (`Unknown(..)`), kept byte-exact and in order, never errors.
//!
//! This crate depends on no other v6edge crate: a prefix on the wire is an
//! address and a length as received; `v6edge-prefix` validates it.

pub mod codec;
pub mod dhcp6;
pub mod ip6;
mod lifetime;
pub mod mh;
pub mod nd;
pub mod ripng;

pub use codec::constants;
pub use lifetime::Lifetime;
