//! [`HomeAgentRole`]: the Mobile IPv6 home agent (a `[home-agent]` table).
//!
//! The decisions are the sans-IO [`HomeAgent`]'s (`v6edge-mip6`); this file
//! is its wiring on a kernel without MIP6 (`../shared/reference/mobility.md`
//! §2.2):
//!
//! - Binding Updates arrive on the raw Mobility Header socket
//!   ([`Port::Mobility`]: a mobile node at home) or captured with their Home
//!   Address option before the kernel drops them ([`Port::MobilityCapture`]:
//!   away, RFC 6275 §9.5.1); ICMPv6 on the home link (DHAAD Requests to the
//!   home-agents anycast address, Neighbor Solicitations and
//!   Advertisements for proxy DAD, other home agents' RAs).
//! - Acknowledgements and Mobile Prefix Advertisements with a Type 2
//!   Routing Header and proxy-DAD Solicitations from `::` leave as whole
//!   packets ([`Effect::RawIpv6`]); other Mobility Headers on the MH
//!   socket. Mobile Prefix Solicitations come captured with their Home
//!   Address option, like Binding Updates.
//! - The home prefixes' lifetimes are those of the home agent's own
//!   addresses in them on the home link, read at every sync (HA-8, HA-18).
//! - Proxy neighbour entries and the `HoA/128` routes into the TUN device
//!   are kernel ops owned by `Owner::HomeAgent`; the data plane (TUN plus
//!   IPv6-in-IPv6 from the home agent address) follows [`BindingOp`]s.
//!   The machine's barriers become [`Effect::Barrier`]: a BA leaves only
//!   after its kernel changes are applied (HA-20).
//! - The kernel answers Neighbor Solicitations for home addresses from
//!   the proxy entries, but delays its answer to a multicast solicitation
//!   by up to `proxy_delay` (0.8 s by default, RFC 4861 §7.2.8's
//!   MAX_ANYCAST_DELAY_TIME): the home link's `proxy_delay` is set to 0
//!   while the home agent runs (mobility.md §2.2 "Home-link presence";
//!   one proxy per address here, so there is no race to spread) and
//!   restored at a clean exit.
//! - The binding cache is saved after every change (`ha-bindings.json`,
//!   wall-clock expiry, interface names) and restored at start, so a
//!   restarted home agent puts routes, proxies and tunnels back before the
//!   mobile nodes' next refresh. A clean stop removes them from the
//!   kernel, with the TUN device; a crash leaves them for the restart.
//!
//! Panic contract: nothing here panics.

use std::collections::{BTreeSet, VecDeque};
use std::net::Ipv6Addr;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use tokio::time::Instant as TokioInstant;
use v6edge_core::limit::{Rate, TokenBucket};
use v6edge_core::{IfIndex, Instant, Received, Transmit, Transport};
use v6edge_mip6::auth::{MnHaKey, Principal, ReplayMode, SecurityAssociation};
use v6edge_mip6::dataplane::DataPlaneKind;
use v6edge_mip6::ha::{
    ApplyTicket, BindingRecord, HaConfig, HaOutput, HomeAgent, HomeLink, MhReceived, Security,
    ServedPrefix,
};
use v6edge_wire::ip6::{Ipv6Header, Type2RoutingHeader};

use super::link::LinkFacts;
use super::mobility::{NH_MOBILITY, captured_icmp6, captured_mh, ntp_now};
use super::persist::WallClock;
use super::role::{
    DataPlaneNeed, Effect, Facts, Interest, Needs, OwnedRoutes, Port, Role, RoleMessage,
};
use crate::config::{Config, HomeAgentConfig, MobilitySecurity};
use crate::metrics::Metrics;
use crate::state::StateDir;
use crate::status::{HomeAgentBindingStatus, HomeAgentStatus, Status};
use v6edge_ra::{AdvHomeAgent, AdvertContent};

/// The TUN device the `HoA/128` routes point into.
pub const TUN_NAME: &str = "v6e-ha0";
const BINDINGS_DOC: &str = "ha-bindings";
/// ICMPv6 the home agent listens to on its home link: RA (other home
/// agents, HA-16), NS and NA (proxy DAD, HA-9), DHAAD Request (HA-17).
const ICMP6_TYPES: [u8; 4] = [134, 135, 136, DHAAD_REQUEST];
/// RFC 6275 §6.5: Home Agent Address Discovery Request.
const DHAAD_REQUEST: u8 = 144;
/// RFC 8200 §3 / RFC 6275 §6.4: next-header values of the packets built
/// here.
const NH_ROUTING: u8 = 43;
const NH_ICMPV6: u8 = 58;
/// Home Agent Lifetime in the home link's RAs (RFC 6275 §7.4; its default
/// is the Router Lifetime, 1800 s here too).
const HOME_AGENT_LIFETIME: Duration = Duration::from_secs(1800);
/// Parameter Problems sent for malformed Mobility Headers: 10/s, bursts
/// of 20.
const ICMP_ERROR_RATE: Rate = Rate {
    per_second: 10,
    burst: 20,
};
/// RFC 4443 §2.4 (c): an ICMPv6 error fits the minimum MTU.
const MAX_INVOKING: usize = 1280 - 40 - 8;

/// One persisted binding (the wall-clock form of [`BindingRecord`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct BindingDoc {
    home_address: Ipv6Addr,
    care_of: Ipv6Addr,
    /// The home link by name: indices change across reboots.
    interface: String,
    link_local: bool,
    sequence: u16,
    lifetime_secs: u64,
    /// Unix seconds.
    expires: u64,
    spi: Option<u32>,
    last_replay: Option<u64>,
    /// A mobile router's binding (RFC 3963) and its mobile networks; absent
    /// in files written before NEMO.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    mobile_router: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    mobile_networks: Vec<String>,
    /// DSMIPv6 (RFC 5555): the UDP endpoint of an IPv4 care-of address,
    /// whether a NAT lies between, the IPv4 home address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    udp: Option<std::net::SocketAddrV4>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    nat: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ipv4_home: Option<std::net::Ipv4Addr>,
}

/// The home agent role; see the module documentation.
pub struct HomeAgentRole {
    config: HomeAgentConfig,
    state: StateDir,
    origin: TokioInstant,
    clock: WallClock,
    /// Built at the first sync that finds the home link and the TUN
    /// device (their indices are part of its configuration).
    machine: Option<HomeAgent>,
    home_ifindex: Option<IfIndex>,
    home_mac: Option<[u8; 6]>,
    tun_ifindex: Option<IfIndex>,
    seed: u64,
    effects: VecDeque<Effect>,
    /// Bindings as last saved, to save only on change.
    saved: Vec<BindingDoc>,
    /// The home link's RA content was handed to the RA service.
    told_ra: bool,
    /// Budget for the Parameter Problems this role sends (RFC 4443 §2.4
    /// (f): ICMPv6 errors are rate-limited).
    icmp_errors: TokenBucket,
    /// What the hook was last told of each binding.
    hooked: std::collections::BTreeMap<Ipv6Addr, Hooked>,
    /// The home link's `proxy_delay` before we set it to 0, restored at
    /// shutdown.
    saved_proxy_delay: Option<String>,
    /// Captured packets to us dropped before the machine, by reason.
    capture_drops: std::collections::BTreeMap<&'static str, u64>,
}

impl std::fmt::Debug for HomeAgentRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HomeAgentRole")
            .field("interface", &self.config.interface)
            .field("running", &self.machine.is_some())
            .finish_non_exhaustive()
    }
}

impl HomeAgentRole {
    pub fn new(
        config: &HomeAgentConfig,
        state: StateDir,
        origin: TokioInstant,
        seed: u64,
    ) -> HomeAgentRole {
        HomeAgentRole {
            config: config.clone(),
            state,
            origin,
            clock: WallClock::new(Instant::ZERO, SystemTime::now()),
            machine: None,
            home_ifindex: None,
            home_mac: None,
            tun_ifindex: None,
            seed,
            effects: VecDeque::new(),
            saved: Vec::new(),
            told_ra: false,
            icmp_errors: TokenBucket::new(ICMP_ERROR_RATE, Instant::ZERO),
            hooked: std::collections::BTreeMap::new(),
            saved_proxy_delay: None,
            capture_drops: std::collections::BTreeMap::new(),
        }
    }

    fn now(&self) -> Instant {
        super::persist::machine_now(self.origin)
    }

    /// The home-agents anycast address of a served /64 (RFC 2526 §2: the
    /// subnet-router anycast space, ID 126 for Mobile IPv6 home agents).
    fn anycast(&self) -> Vec<Ipv6Addr> {
        self.config
            .prefixes
            .iter()
            .filter(|p| p.len() == 64)
            .map(|p| Ipv6Addr::from(u128::from(p.addr()) | 0xfdff_ffff_ffff_fffe))
            .collect()
    }

    fn machine_config(&self, home: IfIndex, tun: IfIndex) -> HaConfig {
        let security_associations = self
            .config
            .mobile_nodes
            .iter()
            .map(|sa| SecurityAssociation {
                spi: sa.spi,
                key: MnHaKey::new(*sa.key.bytes()),
                principal: Principal::HomeAddress(sa.home_address),
                replay: ReplayMode::Timestamp {
                    window: sa.replay_window,
                },
            })
            .collect();
        HaConfig {
            home_links: vec![HomeLink {
                ifindex: home,
                address: self.config.address,
                link_layer_address: self.home_mac.map(|m| m.to_vec()),
                prefixes: self
                    .config
                    .prefixes
                    .iter()
                    .map(|p| ServedPrefix::infinite(*p))
                    .collect(),
                preference: self.config.preference,
                peers: Vec::new(),
            }],
            security: match self.config.security {
                MobilitySecurity::Rfc4285 => Security::Rfc4285,
                MobilitySecurity::None => Security::InsecureLabMode,
            },
            security_associations,
            max_binding_lifetime: self.config.max_binding_lifetime,
            mobile_prefix_advertisements: self.config.mobile_prefix_advertisements,
            mobile_routers: self
                .config
                .mobile_routers
                .iter()
                .map(|(hoa, prefixes)| v6edge_mip6::ha::MobileRouterPermit {
                    home_address: *hoa,
                    prefixes: prefixes.clone(),
                })
                .collect(),
            acl: self
                .config
                .acl
                .iter()
                .map(|(p, allow)| v6edge_mip6::ha::AclRule {
                    home_addresses: *p,
                    action: if *allow {
                        v6edge_mip6::ha::AclAction::Allow
                    } else {
                        v6edge_mip6::ha::AclAction::Deny
                    },
                })
                .collect(),
            default_action: if self.config.default_allow {
                v6edge_mip6::ha::AclAction::Allow
            } else {
                v6edge_mip6::ha::AclAction::Deny
            },
            tunnel_ifindex: Some(tun),
            dsmip: self.dsmip_config(),
            ..HaConfig::default()
        }
    }

    /// DSMIPv6 (RFC 5555): the pool's link must exist; the addresses the
    /// home agent itself holds there are never handed out.
    fn dsmip_config(&self) -> Option<v6edge_mip6::ha::HaDsmip> {
        let d = self.config.dsmip.as_ref()?;
        let ipv4_home = d.pool.as_ref().and_then(|(prefix, interface)| {
            let Ok(ifindex) = nix::net::if_::if_nametoindex(interface.as_str()) else {
                tracing::warn!(%interface, "ipv4-home-interface not found: no IPv4 home addresses");
                return None;
            };
            Some(v6edge_mip6::ha::Ipv4HomePool {
                prefix: *prefix,
                ifindex,
                reserved: ipv4_addresses_of(interface.as_str()),
            })
        });
        Some(v6edge_mip6::ha::HaDsmip {
            address: d.address,
            nat_refresh: d.nat_refresh,
            ipv4_home,
        })
    }

    fn start(&mut self, home: IfIndex, tun: IfIndex, metrics: &Metrics) {
        let now = self.now();
        let config = self.machine_config(home, tun);
        let mut machine = match HomeAgent::new(config, self.seed, now) {
            Ok(m) => m,
            Err(e) => {
                tracing::error!(error = %e, "the home agent cannot start");
                return;
            }
        };
        machine.set_wall_clock(now, ntp_now());
        self.answer_proxied_solicitations_at_once();
        // DS-7: the IPv4 home addresses are answered for by proxy ARP and
        // forwarded into the tunnel, which IPv4 forwarding needs.
        if machine
            .config()
            .dsmip
            .as_ref()
            .is_some_and(|d| d.ipv4_home.is_some())
            && let Err(e) =
                v6edge_sys::set_sysctl(std::path::Path::new("/proc/sys/net/ipv4/ip_forward"), "1")
        {
            tracing::warn!(error = %e, "cannot turn IPv4 forwarding on: IPv4 home addresses will not be reached");
        }
        if self.config.persist_bindings {
            let records = self.load_bindings(home);
            let adopted = machine.restore(records, now);
            tracing::info!(adopted, "home agent started; persisted bindings restored");
        } else {
            tracing::info!("home agent started");
        }
        self.machine = Some(machine);
        self.pump(metrics);
    }

    /// `proxy_delay` 0 on the home link (see the module documentation):
    /// without it the correspondents' first resolution of a home address
    /// after registration waits up to 0.8 s (mobility.md §2.1, MT-5).
    fn answer_proxied_solicitations_at_once(&mut self) {
        let Some(path) = proxy_delay_path(self.config.interface.as_str()) else {
            return;
        };
        let before = std::fs::read_to_string(&path).unwrap_or_default();
        match v6edge_sys::set_sysctl(&path, "0") {
            Ok(()) => {
                if self.saved_proxy_delay.is_none() && before.trim() != "0" {
                    self.saved_proxy_delay = Some(before.trim().to_owned());
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot set proxy_delay=0 on the home link: proxied Neighbor Advertisements may be delayed up to 0.8 s")
            }
        }
    }

    fn load_bindings(&self, home: IfIndex) -> Vec<BindingRecord> {
        let docs: Vec<BindingDoc> = match self.state.load(BINDINGS_DOC) {
            Ok(d) => d.unwrap_or_default(),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the saved bindings; starting empty");
                return Vec::new();
            }
        };
        docs.into_iter()
            .filter(|d| d.interface == self.config.interface.as_str())
            .map(|d| BindingRecord {
                home_address: d.home_address,
                care_of: d.care_of,
                ifindex: home,
                link_local: d.link_local,
                sequence: d.sequence,
                lifetime: Duration::from_secs(d.lifetime_secs),
                expires_at: self.clock.from_unix(d.expires),
                spi: d.spi,
                last_replay: d.last_replay,
                mobile_router: d.mobile_router,
                prefixes: d
                    .mobile_networks
                    .iter()
                    .filter_map(|p| p.parse().ok())
                    .collect(),
                udp: d.udp,
                nat: d.nat,
                ipv4_home: d.ipv4_home,
            })
            .collect()
    }

    fn save_bindings(&mut self) {
        if !self.config.persist_bindings {
            return;
        }
        let Some(m) = &self.machine else { return };
        let docs: Vec<BindingDoc> = m
            .bindings()
            .into_iter()
            .map(|r| BindingDoc {
                home_address: r.home_address,
                care_of: r.care_of,
                interface: self.config.interface.to_string(),
                link_local: r.link_local,
                sequence: r.sequence,
                lifetime_secs: r.lifetime.as_secs(),
                expires: self.clock.to_unix(r.expires_at),
                spi: r.spi,
                last_replay: r.last_replay,
                mobile_router: r.mobile_router,
                mobile_networks: r.prefixes.iter().map(|p| p.to_string()).collect(),
                udp: r.udp,
                nat: r.nat,
                ipv4_home: r.ipv4_home,
            })
            .collect();
        if docs == self.saved {
            return;
        }
        match self.state.save(BINDINGS_DOC, &docs) {
            Ok(()) => self.saved = docs,
            Err(e) => tracing::error!(error = %e, "cannot save the binding cache"),
        }
    }

    /// HA-1: a Mobility Header to us with a bad Payload Proto or a short
    /// Header Len gets a Parameter Problem quoting the packet (the machine
    /// drops and counts it; the invoking packet is ours to quote). A
    /// message at home arrives without its IPv6 header, rebuilt here.
    fn answer_malformed(&mut self, port: Port, rx: &Received<'_>, now: Instant) {
        let (invoking, offset, src, dst) = match port {
            Port::Mobility => {
                let len = u16::try_from(rx.bytes.len()).unwrap_or(u16::MAX);
                let mut p =
                    Ipv6Header::new(rx.src, rx.dst, NH_MOBILITY, rx.hop_limit, len).to_bytes();
                p.extend_from_slice(rx.bytes);
                (p, 40, rx.src, rx.dst)
            }
            Port::MobilityCapture => {
                let Ok(h) = v6edge_wire::ip6::walk(rx.bytes) else {
                    return;
                };
                if h.upper_protocol != NH_MOBILITY {
                    return;
                }
                (rx.bytes.to_vec(), h.upper_offset, h.ipv6.src, h.ipv6.dst)
            }
            _ => return,
        };
        if dst != self.config.address {
            return;
        }
        let Some(pointer) = v6edge_mip6::ha::parameter_problem_pointer(
            invoking.get(offset..).unwrap_or_default(),
            offset,
        ) else {
            return;
        };
        if !self.icmp_errors.try_take(now) {
            return;
        }
        // RFC 4443 §3.4: type 4, code 0 (erroneous header field).
        let mut payload = vec![4, 0, 0, 0];
        payload.extend_from_slice(&pointer.to_be_bytes());
        payload.extend_from_slice(&invoking[..invoking.len().min(MAX_INVOKING)]);
        self.effects.push_back(Effect::Icmp6(Transmit {
            ifindex: rx.ifindex,
            src: Some(dst),
            dst: src,
            transport: Transport::Icmpv6,
            hop_limit: None,
            payload,
        }));
    }

    /// Turns what the machine asks for into effects.
    fn pump(&mut self, _metrics: &Metrics) {
        let Some(m) = &mut self.machine else { return };
        while let Some(out) = m.poll_output() {
            match out {
                HaOutput::Kernel(op) => self.effects.push_back(Effect::Kernel(op)),
                HaOutput::DataPlane(op) => self.effects.push_back(Effect::DataPlane(op)),
                HaOutput::Icmp6(t) if t.src == Some(Ipv6Addr::UNSPECIFIED) => {
                    // Proxy DAD (HA-9): a source of :: in IPV6_PKTINFO means
                    // "kernel's choice", so the packet is built whole.
                    let packet = icmp6_packet(&t);
                    self.effects.push_back(Effect::RawIpv6 {
                        packet,
                        ifindex: t.ifindex,
                    });
                }
                HaOutput::Icmp6(t) => self.effects.push_back(Effect::Icmp6(t)),
                HaOutput::Icmp6ToHomeAddress(t) => self.effects.push_back(Effect::RawIpv6 {
                    packet: rh2_packet(t.src, t.care_of, t.home_address, NH_ICMPV6, &t.payload),
                    ifindex: 0,
                }),
                HaOutput::Mh(t) => {
                    match t.rh2 {
                        // RFC 6275 §6.4: to a mobile node away, via its
                        // home address in a Type 2 Routing Header.
                        Some(hoa) => self.effects.push_back(Effect::RawIpv6 {
                            packet: rh2_packet(t.src, t.dst, hoa, NH_MOBILITY, &t.payload),
                            ifindex: 0,
                        }),
                        None => self.effects.push_back(Effect::Mh(Transmit {
                            ifindex: 0,
                            src: Some(t.src),
                            dst: t.dst,
                            transport: Transport::MobilityHeader { home_address: None },
                            hop_limit: None,
                            payload: t.payload,
                        })),
                    }
                }
                HaOutput::Barrier(ApplyTicket(ticket)) => self.effects.push_back(Effect::Barrier {
                    role: "home-agent",
                    ticket,
                }),
                HaOutput::Udp(t) => self.effects.push_back(Effect::DataPlaneUdp {
                    dst: t.dst,
                    packet: t.packet,
                }),
            }
        }
        self.save_bindings();
        self.run_hooks();
    }

    /// `[home-agent] hook`: a binding registered, moved to another
    /// care-of address, or removed (deregistered or expired); docs/config.md
    /// "Hooks".
    fn run_hooks(&mut self) {
        let (Some(program), Some(m)) = (self.config.hook.clone(), &self.machine) else {
            return;
        };
        let now: std::collections::BTreeMap<Ipv6Addr, BindingRecord> = m
            .bindings()
            .into_iter()
            .map(|b| (b.home_address, b))
            .collect();
        let mut runs = Vec::new();
        let hooked_of = |b: &BindingRecord| Hooked {
            care_of: b.care_of,
            networks: b.prefixes.clone(),
            udp: b.udp,
            nat: b.nat,
            ipv4_home: b.ipv4_home,
        };
        // A binding being re-installed (a new care-of address or NAT
        // mapping waits for its kernel and data-plane changes) is still
        // there: the hook hears of it once it is bound again, as moved.
        let in_cache: std::collections::BTreeSet<Ipv6Addr> = m
            .status(self.now())
            .bindings
            .iter()
            .map(|b| b.home_address)
            .collect();
        let mut kept = std::collections::BTreeMap::new();
        for (hoa, h) in &self.hooked {
            if !in_cache.contains(hoa) {
                runs.push(("removed", *hoa, 0, h.clone()));
            } else if !now.contains_key(hoa) {
                kept.insert(*hoa, h.clone());
            }
        }
        for (hoa, b) in &now {
            let h = hooked_of(b);
            let event = match self.hooked.get(hoa) {
                None => "registered",
                // A new care-of address, or (DSMIPv6) a NAT that mapped
                // the same one to another address or port (DS-4).
                Some(old) if old.care_of != h.care_of || old.udp != h.udp => "moved",
                // Other mobile networks, or an IPv4 home address given
                // or taken.
                Some(old) if *old != h => "changed",
                Some(_) => continue,
            };
            runs.push((event, *hoa, b.lifetime.as_secs(), h));
        }
        self.hooked = now.iter().map(|(hoa, b)| (*hoa, hooked_of(b))).collect();
        self.hooked.extend(kept);
        for (event, hoa, lifetime, h) in runs {
            let networks: Vec<String> = h.networks.iter().map(|p| p.to_string()).collect();
            let text = |v: Option<String>| v.unwrap_or_default();
            let coa = h.care_of;
            let env = vec![
                // A mobile router's mobile networks (RFC 3963), space
                // separated; empty for a mobile node.
                ("V6EDGE_MOBILE_NETWORKS".to_owned(), networks.join(" ")),
                // DSMIPv6 (RFC 5555): where its UDP goes (behind a NAT,
                // the NAT's mapping), whether a NAT is between, and its
                // IPv4 home address; empty for an IPv6 binding.
                (
                    "V6EDGE_UDP_ENDPOINT".to_owned(),
                    text(h.udp.map(|u| u.to_string())),
                ),
                ("V6EDGE_NAT".to_owned(), u8::from(h.nat).to_string()),
                (
                    "V6EDGE_IPV4_HOME_ADDRESS".to_owned(),
                    text(h.ipv4_home.map(|a| a.to_string())),
                ),
                ("V6EDGE_ROLE".to_owned(), "home-agent".to_owned()),
                ("V6EDGE_EVENT".to_owned(), event.to_owned()),
                ("V6EDGE_HOME_ADDRESS".to_owned(), hoa.to_string()),
                ("V6EDGE_CARE_OF".to_owned(), coa.to_string()),
                ("V6EDGE_LIFETIME".to_owned(), lifetime.to_string()),
                (
                    "V6EDGE_INTERFACE".to_owned(),
                    self.config.interface.to_string(),
                ),
            ];
            self.effects.push_back(Effect::Hook {
                program: program.clone(),
                env,
            });
        }
    }
}

/// A binding as the hook was told of it: a change of any of these runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Hooked {
    care_of: Ipv6Addr,
    networks: Vec<v6edge_prefix::Prefix>,
    udp: Option<std::net::SocketAddrV4>,
    nat: bool,
    ipv4_home: Option<std::net::Ipv4Addr>,
}

/// Why a captured packet to one of our addresses (`ours`) goes no further
/// (MT-27: hostile input is counted): its extension headers do not parse
/// (`capture-malformed`), or it carries more than one Home Address option
/// (`home-address-option-repeated`, RFC 6275 §6.3). `None` for packets to
/// others (this router forwards them) and for those the machine takes.
fn capture_refusal(packet: &[u8], ours: impl Fn(Ipv6Addr) -> bool) -> Option<&'static str> {
    match v6edge_wire::ip6::walk(packet) {
        Ok(h) if !ours(h.ipv6.dst) => None,
        Ok(h) if h.home_address_options > 1 => Some("home-address-option-repeated"),
        Ok(_) => None,
        Err(_) => Ipv6Header::parse(packet)
            .is_ok_and(|h| ours(h.dst))
            .then_some("capture-malformed"),
    }
}

/// Whether `addr` is a global address of this node: binding a UDP socket
/// to it succeeds only then (one cheap syscall, only for captured Mobility
/// Headers not sent to the home agent address). Link-local and multicast
/// destinations are never a home agent's business here. With
/// `ip_nonlocal_bind` on, any bind succeeds: then nothing counts as local.
fn is_local_address(addr: Ipv6Addr) -> bool {
    static NONLOCAL_BIND: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if addr.is_multicast() || addr.is_unspecified() || addr.segments()[0] & 0xffc0 == 0xfe80 {
        return false;
    }
    let nonlocal = *NONLOCAL_BIND.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/net/ipv6/ip_nonlocal_bind")
            .is_ok_and(|v| v.trim() != "0")
    });
    !nonlocal && std::net::UdpSocket::bind(std::net::SocketAddrV6::new(addr, 0, 0, 0)).is_ok()
}

/// `/proc/sys/net/ipv6/neigh/<ifname>/proxy_delay`, for a valid interface
/// name (the same check as the `conf` sysctls').
fn proxy_delay_path(ifname: &str) -> Option<std::path::PathBuf> {
    v6edge_sys::ipv6_conf_path(ifname, v6edge_sys::Ipv6Conf::ProxyNdp).ok()?;
    Some(
        std::path::Path::new("/proc/sys/net/ipv6/neigh")
            .join(ifname)
            .join("proxy_delay"),
    )
}

/// A whole IPv6 packet for an ICMPv6 transmit whose source the socket API
/// cannot express (`::`), checksum filled in (RFC 4443 §2.3).
fn icmp6_packet(t: &Transmit) -> Vec<u8> {
    let src = t.src.unwrap_or(Ipv6Addr::UNSPECIFIED);
    let mut msg = t.payload.clone();
    if msg.len() >= 4 {
        msg[2] = 0;
        msg[3] = 0;
        let sum = v6edge_wire::nd::checksum(src, t.dst, &msg);
        msg[2..4].copy_from_slice(&sum.to_be_bytes());
    }
    let len = u16::try_from(msg.len()).unwrap_or(u16::MAX);
    let mut packet =
        Ipv6Header::new(src, t.dst, NH_ICMPV6, t.hop_limit.unwrap_or(255), len).to_bytes();
    packet.extend_from_slice(&msg);
    packet
}

/// IPv6 header, Type 2 Routing Header, then `upper` (a Mobility Header
/// or ICMPv6 message, `next_header` saying which).
fn rh2_packet(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    hoa: Ipv6Addr,
    next_header: u8,
    upper: &[u8],
) -> Vec<u8> {
    let rh2 = Type2RoutingHeader::new(next_header, hoa).to_bytes();
    let len = u16::try_from(rh2.len() + upper.len()).unwrap_or(u16::MAX);
    let mut packet = Ipv6Header::new(src, dst, NH_ROUTING, 64, len).to_bytes();
    packet.extend_from_slice(&rh2);
    packet.extend_from_slice(upper);
    packet
}

/// The served prefixes with the lifetimes of our own addresses in them on
/// the home link (`ServedPrefix::from_own_addresses` decides).
fn served_prefixes(
    configured: &[v6edge_prefix::Prefix],
    home: &LinkFacts,
    now: Instant,
) -> Vec<ServedPrefix> {
    let own: Vec<v6edge_mip6::ha::OwnAddress> = home
        .addresses
        .iter()
        .map(|a| v6edge_mip6::ha::OwnAddress {
            addr: a.addr,
            valid: a.valid,
            preferred: a.preferred,
            tentative: a.tentative,
        })
        .collect();
    ServedPrefix::from_own_addresses(configured, &own, now)
}

impl Role for HomeAgentRole {
    fn name(&self) -> &'static str {
        "home-agent"
    }

    fn needs(&self) -> Needs {
        let mut needs = Needs {
            icmp6_types: ICMP6_TYPES.into_iter().collect(),
            proxy_ndp: BTreeSet::from([self.config.interface.to_string()]),
            mobility: true,
            // The capture reads Binding Updates and Mobile Prefix
            // Solicitations with their Home Address option; the kernel
            // would answer each with a Parameter Problem.
            kernel_silences: BTreeSet::from([
                v6edge_sys::netfilter::Silence::DestinationOptionsTo(self.config.address),
            ]),
            forwarding: true,
            data_plane: Some(DataPlaneNeed {
                owner: v6edge_core::Owner::HomeAgent,
                tun: TUN_NAME.to_owned(),
                local: self.config.address,
                udp: self.config.dsmip.as_ref().map(|d| d.address),
            }),
            ..Needs::default()
        };
        // The addresses: the home prefixes' lifetimes are our own
        // addresses' (HA-8, HA-18).
        needs.interfaces.insert(
            self.config.interface.to_string(),
            Interest {
                addresses: true,
                ..Interest::default()
            },
        );
        needs
            .interfaces
            .insert(TUN_NAME.to_owned(), Interest::default());
        if let Some(home) = self.home_ifindex {
            needs.anycast = self.anycast().into_iter().map(|a| (home, a)).collect();
        }
        needs
    }

    fn sync(&mut self, facts: &Facts, metrics: &Metrics) {
        let home = facts.link(self.config.interface.as_str());
        self.home_ifindex = home.info.as_ref().map(|i| i.index);
        self.home_mac = home.info.as_ref().and_then(|i| i.mac);
        self.tun_ifindex = facts.link(TUN_NAME).info.as_ref().map(|i| i.index);
        let now = self.now();
        match (&mut self.machine, self.home_ifindex, self.tun_ifindex) {
            (None, Some(h), Some(t)) => self.start(h, t, metrics),
            (Some(m), _, _) => m.set_wall_clock(now, ntp_now()),
            _ => {}
        }
        if let (Some(m), Some(h)) = (&mut self.machine, self.home_ifindex) {
            m.set_home_prefixes(now, h, served_prefixes(&self.config.prefixes, &home, now));
            self.pump(metrics);
        }
    }

    /// Mobility Headers; ICMPv6 of its types on the home link, and DHAAD
    /// Requests to the home link's anycast address from wherever they
    /// came in (a mobile node away sends them from its care-of address:
    /// they reach us through the interface that faces it, RFC 6275 §10.5).
    fn accepts(&self, port: Port, rx: &Received<'_>) -> bool {
        match port {
            Port::Mobility | Port::MobilityCapture => true,
            Port::Icmp6 => match rx.bytes.first() {
                Some(&DHAAD_REQUEST) => self.anycast().contains(&rx.dst),
                Some(t) => Some(rx.ifindex) == self.home_ifindex && ICMP6_TYPES.contains(t),
                None => false,
            },
            _ => false,
        }
    }

    fn handle_udp_signalling(
        &mut self,
        from: std::net::SocketAddrV4,
        packet: &[u8],
        metrics: &Metrics,
    ) {
        let now = self.now();
        let Some(m) = &mut self.machine else { return };
        m.handle_udp(now, from, packet);
        self.pump(metrics);
    }

    fn handle_datagram(&mut self, port: Port, rx: &Received<'_>, metrics: &Metrics) {
        let now = self.now();
        let addresses = [self.config.address];
        self.answer_malformed(port, rx, now);
        let Some(m) = &mut self.machine else { return };
        match port {
            Port::Mobility => m.handle_mh(
                now,
                &MhReceived {
                    ifindex: rx.ifindex,
                    src: rx.src,
                    dst: rx.dst,
                    hao: None,
                    rh2: None,
                    bytes: rx.bytes,
                },
            ),
            Port::MobilityCapture => {
                // The whole packet: only a Mobility Header or a Mobile
                // Prefix Solicitation to us. The capture also sees packets
                // this router forwards; a Mobility Header to another of its
                // own addresses is ours to refuse (HA-6: 131, not a home
                // agent there), as the kernel would have delivered it to
                // us had it known the Home Address option.
                let ours = |dst: Ipv6Addr| addresses.contains(&dst) || is_local_address(dst);
                if let Some(reason) = capture_refusal(rx.bytes, ours) {
                    *self.capture_drops.entry(reason).or_default() += 1;
                    return;
                }
                if let Some(c) = captured_icmp6(rx.bytes).filter(|c| addresses.contains(&c.dst)) {
                    m.handle_captured_icmp6(
                        now,
                        &MhReceived {
                            ifindex: rx.ifindex,
                            src: c.src,
                            dst: c.dst,
                            hao: c.hao,
                            rh2: c.rh2,
                            bytes: c.bytes,
                        },
                    );
                    self.pump(metrics);
                    return;
                }
                let Some(c) = captured_mh(rx.bytes).filter(|c| ours(c.dst)) else {
                    return;
                };
                m.handle_mh(
                    now,
                    &MhReceived {
                        ifindex: rx.ifindex,
                        src: c.src,
                        dst: c.dst,
                        hao: c.hao,
                        rh2: c.rh2,
                        bytes: c.bytes,
                    },
                );
            }
            Port::Icmp6 => m.handle_icmp6(now, rx),
            _ => return,
        }
        self.pump(metrics);
    }

    /// The home link's RAs say this router is a home agent (RFC 6275
    /// §7.1–§7.4: H flag, Home Agent Information, the R-flag PIO with our
    /// address, Advertisement Interval), through whichever role advertises
    /// there (an `[[ra]]` on the home link).
    fn next_message(&mut self) -> Option<RoleMessage> {
        if self.told_ra {
            return None;
        }
        self.told_ra = true;
        Some(RoleMessage::RaContribution {
            interface: self.config.interface.to_string(),
            contributor: v6edge_core::Owner::HomeAgent,
            content: Some(AdvertContent {
                home_agent: Some(AdvHomeAgent {
                    preference: self.config.preference,
                    lifetime: HOME_AGENT_LIFETIME,
                    mobile_routers: false,
                }),
                router_address: Some(self.config.address),
                advertisement_interval: true,
                ..AdvertContent::default()
            }),
        })
    }

    fn handle_applied(&mut self, ticket: u64, ok: bool, metrics: &Metrics) {
        let now = self.now();
        if let Some(m) = &mut self.machine {
            m.handle_applied(now, ApplyTicket(ticket), ok);
        }
        self.pump(metrics);
    }

    fn handle_timeout(&mut self, metrics: &Metrics) {
        let now = self.now();
        if let Some(m) = &mut self.machine
            && m.poll_timeout().is_some_and(|t| t <= now)
        {
            m.handle_timeout(now);
        }
        self.pump(metrics);
    }

    fn next_deadline(&self) -> Option<TokioInstant> {
        self.machine
            .as_ref()
            .and_then(HomeAgent::poll_timeout)
            .map(|t| super::persist::tokio_instant(self.origin, t))
    }

    fn next_effect(&mut self) -> Option<Effect> {
        self.effects.pop_front()
    }

    /// `HoA/128` into the TUN device, per binding.
    fn owned_routes(&self) -> Option<OwnedRoutes> {
        let prefixes = self
            .machine
            .as_ref()
            .map(|m| {
                m.bindings()
                    .into_iter()
                    .filter_map(|b| v6edge_prefix::Prefix::new(b.home_address, 128).ok())
                    .collect()
            })
            .unwrap_or_default();
        Some(OwnedRoutes {
            owner: v6edge_core::Owner::HomeAgent,
            kind: v6edge_core::RouteType::Unicast,
            prefixes,
        })
    }

    /// The home address of every binding on its home link (and its
    /// link-local address when the L flag asked for it, RFC 6275 §10.4.1).
    fn owned_proxies(&self) -> Option<(v6edge_core::Owner, Vec<(IfIndex, std::net::IpAddr)>)> {
        let wanted = self
            .machine
            .as_ref()
            .map(|m| {
                m.bindings()
                    .into_iter()
                    .flat_map(|b| {
                        let ll = b.link_local.then(|| {
                            let iid = u128::from(b.home_address) & u128::from(u64::MAX);
                            Ipv6Addr::from((0xfe80u128 << 112) | iid)
                        });
                        std::iter::once(b.home_address)
                            .chain(ll)
                            .map(move |a| (b.ifindex, std::net::IpAddr::V6(a)))
                    })
                    // DSMIPv6: proxy ARP for the IPv4 home addresses.
                    .chain(m.bindings().into_iter().filter_map(|b| {
                        let pool = m.config().dsmip.as_ref()?.ipv4_home.as_ref()?;
                        Some((pool.ifindex, std::net::IpAddr::V4(b.ipv4_home?)))
                    }))
                    .collect()
            })
            .unwrap_or_default();
        Some((v6edge_core::Owner::HomeAgent, wanted))
    }

    fn status(&self, status: &mut Status) {
        let now = self.now();
        let doc = match &self.machine {
            None => HomeAgentStatus {
                interface: self.config.interface.to_string(),
                address: self.config.address,
                running: false,
                ..Default::default()
            },
            Some(m) => {
                let s = m.status(now);
                HomeAgentStatus {
                    interface: self.config.interface.to_string(),
                    address: self.config.address,
                    running: true,
                    bindings: s
                        .bindings
                        .iter()
                        .map(|b| HomeAgentBindingStatus {
                            home_address: b.home_address,
                            care_of: b.care_of,
                            state: b.state.label().to_owned(),
                            sequence: b.sequence,
                            lifetime: b.lifetime.as_secs(),
                            remaining: b.remaining.as_secs(),
                            spi: b.spi,
                            mobile_router: b.mobile_router,
                            mobile_networks: b.prefixes.iter().map(|p| p.to_string()).collect(),
                            udp: b.udp.map(|u| u.to_string()),
                            nat: b.nat,
                            ipv4_home_address: b.ipv4_home,
                        })
                        .collect(),
                    received: s
                        .counters
                        .received
                        .iter()
                        .map(|(t, n)| (t.to_string(), *n))
                        .collect(),
                    ba_sent: s
                        .counters
                        .ba_sent
                        .iter()
                        .map(|(t, n)| (t.to_string(), *n))
                        .collect(),
                    auth_failures: s.counters.auth_failures,
                    expired: s.counters.expired,
                    prefix_solicitations: s.counters.prefix_solicitations,
                    prefix_advertisements: s.counters.prefix_advertisements_solicited
                        + s.counters.prefix_advertisements_unsolicited,
                    // The one back end so far (mobility.md §2.2 default).
                    data_plane: DataPlaneKind::Tun.as_str().to_owned(),
                }
            }
        };
        status.roles.home_agent = Some(doc);
    }

    fn export_metrics(&self, metrics: &Metrics) {
        let Some(m) = &self.machine else { return };
        let c = m.counters();
        let received: Vec<(String, u64)> = c
            .received
            .iter()
            .map(|(t, n)| (mh_type_name(*t), *n))
            .collect();
        let acks: Vec<(String, u64)> = c.ba_sent.iter().map(|(s, n)| (s.to_string(), *n)).collect();
        let bindings = m.bindings();
        let kinds: Vec<(&str, &str)> = bindings
            .iter()
            .map(|b| {
                let kind = if b.mobile_router {
                    "mobile-router"
                } else {
                    "mobile-node"
                };
                let transport = match (b.udp, b.nat) {
                    (None, _) => "ipv6",
                    (Some(_), false) => "udp",
                    (Some(_), true) => "udp-nat",
                };
                (kind, transport)
            })
            .collect();
        let ipv4_homes = bindings.iter().filter(|b| b.ipv4_home.is_some()).count();
        metrics.sync_mobility(&received, &acks, c.auth_failures, &kinds, ipv4_homes);
    }

    fn dropped_counts(&self) -> Vec<(&'static str, String, u64)> {
        let Some(m) = &self.machine else {
            return Vec::new();
        };
        m.counters()
            .dropped
            .iter()
            .map(|(r, n)| ("mobility", super::guard::reason_label(r), *n))
            .chain(
                self.capture_drops
                    .iter()
                    .map(|(r, n)| ("mobility", (*r).to_owned(), *n)),
            )
            .collect()
    }

    /// Settings of a running home agent change at the next restart (its
    /// security associations and links are part of the machine).
    fn reconfigure(&mut self, config: &Config, _metrics: &Metrics) -> anyhow::Result<()> {
        if config.home_agent.as_ref() != Some(&self.config) {
            tracing::warn!("[home-agent] changes take effect at the next restart");
        }
        Ok(())
    }

    /// The bindings stay on disk (persist-bindings) and leave the kernel:
    /// with nobody reading the tunnel device, a proxy entry would only
    /// draw the home link's traffic into a dead end. A restarted home
    /// agent puts them back before the mobile nodes' next refresh.
    fn shutdown(&mut self, metrics: &Metrics) {
        self.save_bindings();
        if let Some(m) = &mut self.machine {
            m.withdraw();
        }
        self.pump(metrics);
        self.effects
            .push_back(Effect::Kernel(v6edge_core::KernelOp::DelTun(
                v6edge_core::TunSpec {
                    owner: v6edge_core::Owner::HomeAgent,
                    name: TUN_NAME.to_owned(),
                    up: false,
                    mtu: None,
                    tx_queue_len: None,
                },
            )));
        if let (Some(value), Some(path)) = (
            self.saved_proxy_delay.take(),
            proxy_delay_path(self.config.interface.as_str()),
        ) && let Err(e) = v6edge_sys::set_sysctl(&path, &value)
        {
            tracing::warn!(error = %e, "cannot restore proxy_delay on the home link");
        }
    }
}

/// RFC 6275 §6.1 MH Type names, for metric labels.
fn mh_type_name(t: u8) -> String {
    match t {
        0 => "binding-refresh-request".to_owned(),
        1 => "home-test-init".to_owned(),
        2 => "care-of-test-init".to_owned(),
        3 => "home-test".to_owned(),
        4 => "care-of-test".to_owned(),
        5 => "binding-update".to_owned(),
        6 => "binding-ack".to_owned(),
        7 => "binding-error".to_owned(),
        other => other.to_string(),
    }
}

/// The IPv4 addresses an interface holds (the home agent's own on the
/// IPv4 home link: never given to a mobile node).
fn ipv4_addresses_of(interface: &str) -> Vec<std::net::Ipv4Addr> {
    let Ok(addrs) = nix::ifaddrs::getifaddrs() else {
        return Vec::new();
    };
    addrs
        .filter(|a| a.interface_name == interface)
        .filter_map(|a| a.address?.as_sockaddr_in().map(|s| s.ip()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(tag: &str) -> (HomeAgentRole, std::path::PathBuf) {
        let text = "[home-agent]\ninterface = \"home0\"\naddress = \"2001:db8:1::1\"\n\
                    prefixes = [\"2001:db8:1::/64\"]\nsecurity = \"none\"\ninsecure-lab = true\n";
        let config = Config::parse(text, std::path::Path::new("ha.toml")).expect("config");
        let dir = std::env::temp_dir().join(format!("v6edge-ha-role-{tag}-{}", std::process::id()));
        let state = StateDir::open(&dir).expect("state dir");
        let role = HomeAgentRole::new(
            config.home_agent.as_ref().expect("[home-agent]"),
            state,
            TokioInstant::now(),
            1,
        );
        (role, dir)
    }

    /// The home-agents anycast address of a /64 (RFC 2526 §2, ID 126).
    #[test]
    fn home_agents_anycast_of_the_home_prefix() {
        let (role, dir) = role("anycast");
        assert_eq!(
            role.anycast(),
            vec![
                "2001:db8:1::fdff:ffff:ffff:fffe"
                    .parse::<Ipv6Addr>()
                    .unwrap()
            ]
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    /// MT-12: a mobile node away sends its DHAAD Request from its care-of
    /// address, so it comes in on an interface other than the home link;
    /// other ICMPv6 only counts on the home link.
    #[test]
    fn dhaad_requests_are_taken_from_any_interface() {
        let (role, dir) = role("dhaad");
        let anycast: Ipv6Addr = "2001:db8:1::fdff:ffff:ffff:fffe".parse().unwrap();
        let request = [144u8, 0, 0, 0, 0, 7, 0, 0];
        let ra = [134u8, 0, 0, 0, 64, 0, 0, 0];
        let rx = |dst, bytes| Received {
            ifindex: 9,
            src: "2001:db8:f::b".parse().unwrap(),
            dst,
            hop_limit: 64,
            bytes,
        };
        assert!(role.accepts(Port::Icmp6, &rx(anycast, &request)));
        let unicast: Ipv6Addr = "2001:db8:1::1".parse().unwrap();
        assert!(!role.accepts(Port::Icmp6, &rx(unicast, &request)));
        assert!(!role.accepts(Port::Icmp6, &rx(anycast, &ra)));
        let _ = std::fs::remove_dir_all(dir);
    }

    /// Link-scope and foreign addresses are never taken for ours.
    #[test]
    fn only_our_global_addresses_are_local() {
        assert!(!is_local_address("ff02::1".parse().unwrap()));
        assert!(!is_local_address("2001:db8:ffff::77".parse().unwrap()));
    }

    /// MT-27: captured packets to us that never reach the machine are
    /// counted by reason; packets to others are not ours to count.
    #[test]
    fn captured_packets_refused_before_the_machine() {
        let ha: Ipv6Addr = "2001:db8:1::1".parse().unwrap();
        let hoa: Ipv6Addr = "2001:db8:1::200".parse().unwrap();
        let coa: Ipv6Addr = "2001:db8:f::b".parse().unwrap();
        let ours = |a: Ipv6Addr| a == ha;
        let packet = |dst: Ipv6Addr, ext: &[u8]| {
            let len = u16::try_from(ext.len()).unwrap();
            let mut p = Ipv6Header::new(coa, dst, 60, 64, len).to_bytes();
            p.extend_from_slice(ext);
            p
        };
        let hao = |next: u8| {
            let mut d = vec![next, 2, 1, 2, 0, 0, 201, 16];
            d.extend_from_slice(&hoa.octets());
            d
        };
        let mh = [59u8, 0, 99, 0, 0, 0, 0, 0];
        let mut good = hao(135);
        good.extend_from_slice(&mh);
        assert_eq!(capture_refusal(&packet(ha, &good), ours), None);
        let truncated = &hao(135)[..16];
        assert_eq!(
            capture_refusal(&packet(ha, truncated), ours),
            Some("capture-malformed")
        );
        let other: Ipv6Addr = "2001:db8:1::2".parse().unwrap();
        assert_eq!(capture_refusal(&packet(other, truncated), ours), None);
        let mut twice = vec![135u8, 5, 1, 2, 0, 0, 201, 16];
        twice.extend_from_slice(&hoa.octets());
        twice.extend_from_slice(&[1, 4, 0, 0, 0, 0, 201, 16]);
        twice.extend_from_slice(&hoa.octets());
        twice.extend_from_slice(&mh);
        assert_eq!(
            capture_refusal(&packet(ha, &twice), ours),
            Some("home-address-option-repeated")
        );
    }

    #[test]
    fn proxy_delay_of_the_home_link() {
        assert_eq!(
            proxy_delay_path("home0"),
            Some(std::path::PathBuf::from(
                "/proc/sys/net/ipv6/neigh/home0/proxy_delay"
            ))
        );
        assert_eq!(proxy_delay_path("../all"), None);
        assert_eq!(proxy_delay_path(""), None);
    }
}
