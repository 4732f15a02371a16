//! The home agent (RFC 6275 §10, mobility.md §1.6 HA-1…HA-20): a sans-IO
//! machine over the Mobility Header codec of `v6edge_wire::mh`.
//!
//! # Method grammar (style.md §3)
//! - [`HomeAgent::new`]`(config, seed, now)`, [`HomeAgent::restore`] for a
//!   persisted binding cache, [`HomeAgent::set_wall_clock`] (RFC 4285
//!   timestamps need the time of day; the machine never reads a clock).
//! - Input: [`HomeAgent::handle_mh`] (a Mobility Header message with its
//!   IPv6 metadata), [`HomeAgent::handle_icmp6`] (Home Agent Address
//!   Discovery Requests; the home link's Router Advertisements, which name
//!   the other home agents, HA-16; the Neighbor Solicitations and
//!   Advertisements that reveal a proxy DAD conflict),
//!   [`HomeAgent::learn_home_agent`], [`HomeAgent::handle_applied`] (the
//!   driver carried out the outputs before a [`HaOutput::Barrier`]),
//!   [`HomeAgent::handle_udp`] (DSMIPv6 signalling from UDP port 4191),
//!   [`HomeAgent::handle_captured_icmp6`] (Mobile Prefix Solicitations,
//!   HA-18), [`HomeAgent::set_home_prefixes`] (the home link's prefixes
//!   and lifetimes now), [`HomeAgent::handle_timeout`].
//! - Output: [`HomeAgent::poll_output`] until `None`, in order;
//!   [`HomeAgent::poll_timeout`].
//! - Getters: [`HomeAgent::status`] (takes `now` for the remaining
//!   lifetimes), [`HomeAgent::bindings`] (records to persist),
//!   [`HomeAgent::counters`].
//!
//! # HA-20: a Binding Acknowledgement waits for its kernel changes
//! Accepting a binding emits the kernel and data-plane changes, then a
//! [`HaOutput::Barrier`] with a ticket. The driver carries out everything
//! before the barrier in order and then calls
//! [`HomeAgent::handle_applied`]`(now, ticket, ok)`; only then does the
//! machine emit the unsolicited Neighbor Advertisement and the BA. So a BA
//! with status 0 never leaves before the proxy entry, the route and the
//! data-plane entry exist, a deregistration BA never leaves before they
//! are gone, and a failure the driver reports becomes BA status 143 with
//! everything undone instead of a BA that lies. (Emitting in order and
//! trusting the driver to hold the BA would let it send a BA 0 for a
//! binding whose tunnel could not be set up, and the machine would never
//! know.) A Binding Update for a home address whose changes are still
//! awaited is dropped (`AwaitingKernel`): the mobile node retransmits.
//!
//! # Decisions
//! - Only home registrations are served: a BU without the H flag and no
//!   binding is dropped (no correspondent node role here); with a binding,
//!   status 139 (HA-6).
//! - Unauthenticated input creates no state: SA lookup, authenticator and
//!   replay checks come before anything else, and a BU whose checks fail
//!   changes nothing. Replies to input that did not authenticate (BA 146,
//!   Binding Errors, DHAAD replies) share one token bucket.
//! - Mobile routers (R flag, RFC 3963) are served only for the home
//!   addresses and prefixes of [`HaConfig::mobile_routers`]; the others
//!   get 140-143 (RFC 3963 §6.6).
//! - DSMIPv6 (RFC 5555, [`HaConfig::dsmip`]): a Binding Update that came in
//!   UDP ([`HomeAgent::handle_udp`]) must carry an IPv4 Care-of Address
//!   option (else BA 174, Invalid Care-of Address); its care-of address is the
//!   IPv4-mapped form of that option ([`crate::dsmip`]), and its binding
//!   is keyed on the outer address and port the BU came from, followed on
//!   every authenticated BU (DS-4: a NAT may rebind). A NAT lies between
//!   when the option differs from the outer source; the BA then carries NAT
//!   Detection (DS-3). Data for such a binding travels in UDP too, both
//!   ways, whatever the F flag says (DS-10: our mobile node sets F anyway).
//! - IPv4 home addresses (DS-7) go with the binding wherever it is: in
//!   UDP over an IPv4 care-of address, IPv4-in-IPv6 (next header 4) over
//!   an IPv6 one (DS-8), so a vertical handover keeps the address. An
//!   address request never refuses the binding itself: its failure is the
//!   IPv4 Address Acknowledgement's status (RFC 5555 §4.3.2).
//! - Parameter Problem for a bad Payload Proto or Header Len (RFC 6275
//!   §9.2) needs the invoking packet's IPv6 header, which the driver has:
//!   the machine drops and counts those (`PayloadProto`, `HeaderLength`)
//!   and leaves the ICMPv6 error to the driver.
//!
//! Panic contract: no input, instant or configuration makes the machine
//! panic; instant arithmetic saturates.

mod cache;
mod dhaad;
mod machine;
mod prefix_adv;

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4};
use std::time::Duration;

use v6edge_core::limit::Rate;
use v6edge_core::{IfIndex, Instant, KernelOp, Transmit};
use v6edge_prefix::Prefix;

use crate::auth::SecurityAssociation;
use crate::dataplane::BindingOp;

pub use cache::{BindingRecord, BindingState, BindingStatus};
pub use machine::HomeAgent;

/// RFC 6275 §9.2 / HA-1 (the driver's part, since only it holds the
/// invoking packet): the pointer of the ICMPv6 Parameter Problem
/// (code 0) a malformed Mobility Header gets: at its Payload Proto when that
/// is not 59 (IPPROTO_NONE), at its Header Len when it is shorter than its
/// type's minimum. `mh_offset` is where the MH starts in the invoking
/// packet.
pub fn parameter_problem_pointer(mh: &[u8], mh_offset: usize) -> Option<u32> {
    let (&proto, &len, &ty) = (mh.first()?, mh.get(1)?, mh.get(2)?);
    if proto != 59 {
        return u32::try_from(mh_offset).ok();
    }
    let min = v6edge_wire::mh::MobilityHeader::min_header_len(v6edge_wire::mh::MhType::from(ty))?;
    (len < min)
        .then(|| u32::try_from(mh_offset + 1).ok())
        .flatten()
}

/// Maximum binding lifetime (mobility.md §1.4: 65535 × 4 s).
pub const MAX_BINDING_LIFETIME: Duration = Duration::from_secs(262_140);

/// How Binding Updates must be protected (mobility.md §3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Security {
    /// RFC 4285 MN-HA authentication with replay protection, required.
    #[default]
    Rfc4285,
    /// Unauthenticated Binding Updates accepted (an authentication option
    /// that is present is still checked). For labs only: anyone on the
    /// path can then steal any home address.
    InsecureLabMode,
}

/// A prefix of the home link the home agent serves (RFC 6275 §10.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedPrefix {
    pub prefix: Prefix,
    /// End of the prefix's valid lifetime on the home link; `None`:
    /// infinite. Bindings are granted no longer (HA-8).
    pub valid_until: Option<Instant>,
    /// End of its preferred lifetime; `None`: infinite. Mobile Prefix
    /// Advertisements carry both (HA-18).
    pub preferred_until: Option<Instant>,
}

impl ServedPrefix {
    /// A prefix with infinite lifetimes (a statically configured one).
    pub fn infinite(prefix: Prefix) -> ServedPrefix {
        ServedPrefix {
            prefix,
            valid_until: None,
            preferred_until: None,
        }
    }

    /// The configured prefixes with the lifetimes of the home agent's own
    /// addresses in them on the home link, as of `now` (HA-8, HA-18): a
    /// deprecated or expiring home prefix shows in its own address first.
    /// Of several addresses in one prefix the longest lifetime counts; a
    /// prefix without one of ours (configured only) is infinite.
    pub fn from_own_addresses(
        configured: &[Prefix],
        addresses: &[OwnAddress],
        now: Instant,
    ) -> Vec<ServedPrefix> {
        let until = |d: Option<Duration>| d.map(|d| now + d);
        configured
            .iter()
            .map(|p| {
                let ours = addresses
                    .iter()
                    .filter(|a| !a.tentative && p.contains_addr(a.addr));
                // `None` is infinite: it wins over any finite lifetime.
                let longest = |f: fn(&OwnAddress) -> Option<Duration>| {
                    ours.clone()
                        .map(f)
                        .reduce(|a, b| a.zip(b).map(|(a, b)| a.max(b)))
                        .flatten()
                };
                ServedPrefix {
                    prefix: *p,
                    valid_until: until(longest(|a| a.valid)),
                    preferred_until: until(longest(|a| a.preferred)),
                }
            })
            .collect()
    }
}

/// One of the home agent's addresses on the home link, as the kernel
/// reports it: remaining lifetimes (`None`: infinite), and whether DAD is
/// still running on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OwnAddress {
    pub addr: Ipv6Addr,
    pub valid: Option<Duration>,
    pub preferred: Option<Duration>,
    pub tentative: bool,
}

/// Another home agent on the home link, for DHAAD replies (HA-17).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerHomeAgent {
    pub address: Ipv6Addr,
    /// RFC 6275 §7.4 Home Agent Preference (higher first).
    pub preference: i16,
    /// Supports mobile routers (RFC 3963 §7.3).
    pub mobile_router: bool,
}

/// One home link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HomeLink {
    pub ifindex: IfIndex,
    /// The home agent's global address on the link: where Binding Updates
    /// go, and the source of DHAAD replies.
    pub address: Ipv6Addr,
    /// Our link-layer address: the Target Link-Layer Address of the
    /// unsolicited Neighbor Advertisements for home addresses (HA-10).
    pub link_layer_address: Option<Vec<u8>>,
    pub prefixes: Vec<ServedPrefix>,
    /// Our Home Agent Preference (RFC 6275 §7.4).
    pub preference: i16,
    /// Other home agents configured for this link (those learnt from RAs
    /// come through [`HomeAgent::learn_home_agent`]).
    pub peers: Vec<PeerHomeAgent>,
}

/// What an access-control rule does (HA-7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AclAction {
    #[default]
    Allow,
    Deny,
}

/// A binding ACL rule: the first whose prefix holds the home address
/// decides (UMIP `BindingAclPolicy`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclRule {
    pub home_addresses: Prefix,
    pub action: AclAction,
}

/// A mobile router this home agent serves (NEMO Basic Support, RFC 3963):
/// its home address, and the mobile network prefixes it may register. A
/// Binding Update with the R flag from any other home address gets 140; a
/// Mobile Network Prefix option outside `prefixes` gets 142; without
/// options (implicit mode, RFC 3963 §6.1.2) `prefixes` are the mobile
/// networks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MobileRouterPermit {
    pub home_address: Ipv6Addr,
    pub prefixes: Vec<Prefix>,
}

/// The home agent's configuration (the daemon builds it from `[mobility]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HaConfig {
    pub home_links: Vec<HomeLink>,
    pub security: Security,
    pub security_associations: Vec<SecurityAssociation>,
    /// Longest lifetime granted (HA-8); at most [`MAX_BINDING_LIFETIME`].
    pub max_binding_lifetime: Duration,
    /// More bindings than this: status 130 (HA-7).
    pub max_bindings: usize,
    /// How long the BA of a new binding is held for proxy DAD (HA-9);
    /// `None` skips DAD.
    pub dad_delay: Option<Duration>,
    /// The inner MTU of the tunnel to each care-of address.
    pub tunnel_mtu: u32,
    /// When set, each binding gets `HoA/128 dev <this>` (the TUN device of
    /// the data plane); back ends that route by themselves leave it unset.
    pub tunnel_ifindex: Option<IfIndex>,
    /// Binding Refresh Advice as a percentage of the granted lifetime
    /// (RFC 6275 §10.3.1); 0 leaves the option out.
    pub refresh_percent: u8,
    pub acl: Vec<AclRule>,
    pub default_action: AclAction,
    /// Budget for replies to unauthenticated input: BA 146, Binding
    /// Errors, DHAAD replies (HA-1, RFC 6275 §9.3.3), and Mobile Prefix
    /// Advertisements answering solicitations.
    pub reply_rate: Rate,
    /// HA-18: answer Mobile Prefix Solicitations and send unsolicited
    /// Mobile Prefix Advertisements. Off by default: RFC 4285 protects
    /// Binding Updates only, so these messages travel unauthenticated
    /// (mobility.md §1.6 HA-18).
    pub mobile_prefix_advertisements: bool,
    /// The mobile routers served (RFC 3963); none: every R flag gets 140.
    pub mobile_routers: Vec<MobileRouterPermit>,
    /// Dual-Stack MIPv6 (RFC 5555): Binding Updates from IPv4 care-of
    /// addresses in UDP, and IPv4 home addresses. `None`: off.
    pub dsmip: Option<HaDsmip>,
}

/// The home agent's DSMIPv6 settings (DS-1, DS-3, DS-7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HaDsmip {
    /// `HomeAgentV4Address`: the IPv4 address whose UDP port 4191 the
    /// driver listens on (DS-1).
    pub address: Ipv4Addr,
    /// The refresh time of the NAT Detection option (DS-3, RFC 5555
    /// §3.2.2; NATKATIMEOUT, 110 s, by default).
    pub nat_refresh: Duration,
    /// Where IPv4 home addresses come from (DS-7); `None`: requests get
    /// status 129.
    pub ipv4_home: Option<Ipv4HomePool>,
}

/// IPv4 home addresses (RFC 5555 §3.2.1, DS-7): taken from `prefix` on the
/// home link `ifindex`, where the home agent answers ARP for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv4HomePool {
    pub prefix: v6edge_core::Prefix4,
    pub ifindex: IfIndex,
    /// Addresses never handed out (the home agent's own, routers, ...).
    /// The prefix's first and last addresses are never handed out either.
    pub reserved: Vec<Ipv4Addr>,
}

impl Default for HaConfig {
    fn default() -> HaConfig {
        HaConfig {
            home_links: Vec::new(),
            security: Security::Rfc4285,
            security_associations: Vec::new(),
            max_binding_lifetime: MAX_BINDING_LIFETIME,
            max_bindings: 4096,
            dad_delay: Some(Duration::from_secs(1)),
            tunnel_mtu: 1460,
            tunnel_ifindex: None,
            refresh_percent: 80,
            acl: Vec::new(),
            default_action: AclAction::Allow,
            reply_rate: Rate::new(10, 20),
            mobile_prefix_advertisements: false,
            mobile_routers: Vec::new(),
            dsmip: None,
        }
    }
}

/// Why a configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HaConfigError {
    #[error(transparent)]
    SecurityAssociation(#[from] crate::auth::SaError),
    #[error("home link {ifindex}: address {address} is not in one of its served prefixes")]
    AddressOutsidePrefixes { ifindex: IfIndex, address: Ipv6Addr },
    #[error("home link {ifindex} is configured twice")]
    DuplicateLink { ifindex: IfIndex },
    #[error("tunnel MTU {mtu} below the IPv6 minimum of 1280")]
    TunnelMtu { mtu: u32 },
    #[error(
        "mobile router {home_address}: mobile network prefix {prefix} overlaps a home link prefix or is not a global unicast prefix"
    )]
    MobileNetworkPrefix {
        home_address: Ipv6Addr,
        prefix: Prefix,
    },
}

/// A Mobility Header message as the driver received it (mobility.md §3.2
/// `MhReceived`), from the Payload Proto octet on.
#[derive(Debug, Clone, Copy)]
pub struct MhReceived<'a> {
    pub ifindex: IfIndex,
    /// The IPv6 source (a care-of address when a HAO travels).
    pub src: Ipv6Addr,
    /// The IPv6 destination (one of our home agent addresses).
    pub dst: Ipv6Addr,
    /// The Home Address destination option's address, if there was one.
    pub hao: Option<Ipv6Addr>,
    /// The address of a Type 2 Routing Header, if there was one.
    pub rh2: Option<Ipv6Addr>,
    pub bytes: &'a [u8],
}

/// A Mobility Header message to send, checksum filled in (RFC 6275
/// §6.1.1: the pseudo-header destination is `rh2` when present). The sys
/// layer builds the packet: `IPPROTO_RAW` when `rh2` is set (Linux without
/// MIP6 refuses RH2 through the socket API), else the raw MH socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MhTransmit {
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
    /// The Type 2 Routing Header's address (the home address).
    pub rh2: Option<Ipv6Addr>,
    pub payload: Vec<u8>,
}

/// An ICMPv6 message to a mobile node away from home (RFC 6275 §10.6.3):
/// from `src` to its care-of address with a Type 2 Routing Header holding
/// its home address. The checksum is filled in over the home address, the
/// final destination (RFC 8200 §8.1). Linux without MIP6 refuses RH2
/// through the socket API, so the sys layer builds the whole packet
/// (`IPPROTO_RAW`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Icmp6ToHomeAddress {
    pub src: Ipv6Addr,
    pub care_of: Ipv6Addr,
    pub home_address: Ipv6Addr,
    pub payload: Vec<u8>,
}

/// A token naming the outputs before a [`HaOutput::Barrier`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ApplyTicket(pub u64);

/// What the home agent asks of its driver, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HaOutput {
    /// Proxy neighbour entries and routes, owned by `Owner::HomeAgent`.
    Kernel(KernelOp),
    DataPlane(BindingOp),
    /// ICMPv6 (raw socket, the kernel may recompute the checksum, which
    /// is filled in anyway): proxy DAD Neighbor Solicitations (source `::`
    /// given explicitly as `Some(::)`: send it as such, not "kernel's
    /// choice"), unsolicited Neighbor Advertisements, DHAAD replies.
    Icmp6(Transmit),
    Mh(MhTransmit),
    /// HA-18: a Mobile Prefix Advertisement to a mobile node away.
    Icmp6ToHomeAddress(Icmp6ToHomeAddress),
    /// Carry out every output before this one, then call
    /// [`HomeAgent::handle_applied`] with the ticket and whether all of
    /// them succeeded (HA-20).
    Barrier(ApplyTicket),
    /// DSMIPv6 signalling (RFC 5555 §4.1): a whole IPv6 packet to send in
    /// UDP from our IPv4 address's port 4191 to `dst`.
    Udp(UdpTransmit),
}

/// An IPv6 packet to send in UDP over IPv4 (RFC 5555 non-TLV format).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpTransmit {
    pub dst: SocketAddrV4,
    pub packet: Vec<u8>,
}

/// Why an input was dropped, for counters and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum DropReason {
    /// HA-1: checksum wrong for the pseudo-header of RFC 6275 §6.1.1.
    BadChecksum,
    /// HA-1: Payload Proto not 59 (Parameter Problem pointer 0 is the
    /// driver's).
    PayloadProto,
    /// HA-1: Header Len below the type's minimum (pointer 1).
    HeaderLength,
    /// Any other decoding failure (truncation, a bad option length, an
    /// option after one that must be last: HA-4).
    Malformed,
    /// A known MH type a home agent does not take (BA, BE, HoTI, ...).
    NotForHomeAgent,
    /// A BU carried a Type 2 Routing Header (RFC 6275 §6.1: only a BA may).
    RoutingHeader,
    /// HA-4: Binding Authorization Data in a home registration.
    AuthorizationData,
    /// A BU without the H flag for an address with no binding.
    NotHomeRegistration,
    /// The home address is not unicast (multicast, unspecified, ...).
    BadHomeAddress,
    /// AU-2: replay protection value not newer than the last accepted.
    Replayed,
    /// RFC 4285 timestamps without a wall clock (`set_wall_clock`).
    NoWallClock,
    /// The reply budget is spent (HA-1 rate limit).
    RateLimited,
    /// HA-20: the home address's kernel changes are still awaited.
    AwaitingKernel,
    /// The BU's destination is none of our home agent addresses and it
    /// did not authenticate.
    NotOurAddress,
    /// An ICMPv6 message that is not a DHAAD Request, NS or NA for us.
    Icmp6Ignored,
    /// A DHAAD Request not sent to the anycast address of a served prefix.
    DhaadNotAnycast,
    /// ND with a hop limit other than 255 (RFC 4861 §7.1).
    HopLimit,
    /// HA-18: a Mobile Prefix Solicitation while advertisements are off.
    PrefixAdvertisementsOff,
    /// HA-18: a Mobile Prefix Solicitation without a Home Address option,
    /// or whose home address has no binding from that care-of address.
    NoBinding,
    /// DS-1: signalling in UDP while DSMIPv6 is not configured.
    DsmipOff,
    /// DS-2: a Home Address option inside UDP, or a packet in UDP that is
    /// not a Mobility Header straight after an IPv6 header.
    DsmipMalformed,
}

impl DropReason {
    /// A stable kebab-case label for metrics.
    pub fn label(self) -> &'static str {
        match self {
            DropReason::BadChecksum => "bad-checksum",
            DropReason::PayloadProto => "payload-proto",
            DropReason::HeaderLength => "header-length",
            DropReason::Malformed => "malformed",
            DropReason::NotForHomeAgent => "not-for-home-agent",
            DropReason::RoutingHeader => "routing-header",
            DropReason::AuthorizationData => "authorization-data",
            DropReason::NotHomeRegistration => "not-home-registration",
            DropReason::BadHomeAddress => "bad-home-address",
            DropReason::Replayed => "replayed",
            DropReason::NoWallClock => "no-wall-clock",
            DropReason::RateLimited => "rate-limited",
            DropReason::AwaitingKernel => "awaiting-kernel",
            DropReason::NotOurAddress => "not-our-address",
            DropReason::Icmp6Ignored => "icmp6-ignored",
            DropReason::DhaadNotAnycast => "dhaad-not-anycast",
            DropReason::HopLimit => "hop-limit",
            DropReason::PrefixAdvertisementsOff => "prefix-advertisements-off",
            DropReason::NoBinding => "no-binding",
            DropReason::DsmipOff => "dsmip-off",
            DropReason::DsmipMalformed => "dsmip-malformed",
        }
    }
}

/// Counters for metrics (mobility.md §3.6 last row).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HaCounters {
    /// Mobility Header messages received, by MH Type (decoded or not).
    pub received: BTreeMap<u8, u64>,
    /// Binding Acknowledgements sent, by status.
    pub ba_sent: BTreeMap<u8, u64>,
    /// Binding Errors sent, by status.
    pub be_sent: BTreeMap<u8, u64>,
    pub dropped: BTreeMap<DropReason, u64>,
    /// BUs refused for authentication (AU-2: 144, 145, 146, replays).
    pub auth_failures: u64,
    pub dhaad_replies: u64,
    /// Bindings removed because their lifetime ran out (HA-15).
    pub expired: u64,
    /// Proxy DAD conflicts (HA-9, status 134).
    pub dad_conflicts: u64,
    /// HA-18: Mobile Prefix Solicitations accepted.
    pub prefix_solicitations: u64,
    /// HA-18: Mobile Prefix Advertisements sent in answer to one.
    pub prefix_advertisements_solicited: u64,
    /// HA-18: unsolicited ones, retransmissions included.
    pub prefix_advertisements_unsolicited: u64,
}

/// Plain data for the control socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HaStatus {
    pub bindings: Vec<BindingStatus>,
    pub counters: HaCounters,
}

#[cfg(test)]
mod pointer_tests {
    use super::parameter_problem_pointer;

    /// HA-1 (RFC 6275 §9.2): the Parameter Problem points at Payload Proto
    /// or Header Len; well-formed headers and unknown types get none (an
    /// unknown type is the machine's Binding Error).
    #[test]
    fn parameter_problem_points_at_the_bad_field() {
        let bu_min = [59, 1, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(parameter_problem_pointer(&bu_min, 64), None);
        let mut proto = bu_min;
        proto[0] = 58;
        assert_eq!(parameter_problem_pointer(&proto, 64), Some(64));
        let mut short = bu_min;
        short[1] = 0;
        assert_eq!(parameter_problem_pointer(&short, 40), Some(41));
        assert_eq!(
            parameter_problem_pointer(&[59, 0, 99, 0, 0, 0, 0, 0], 40),
            None
        );
        assert_eq!(parameter_problem_pointer(&[59, 0], 40), None);
    }
}
