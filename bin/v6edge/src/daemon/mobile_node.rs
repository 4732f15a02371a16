//! [`MobileNodeRole`]: the Mobile IPv6 mobile node (a `[mobile-node]`
//! table).
//!
//! The decisions are the sans-IO [`MobileNode`]'s (`v6edge-mip6`); this
//! file is its wiring on a kernel without MIP6
//! (`../shared/reference/mobility.md` §2.2):
//!
//! - The configured interfaces' addresses (with their flags) and default
//!   routers are read by the loop ([`Interest::addresses`]) and replayed to
//!   the machine as [`LinkEvent`]s, only what changed since the last read:
//!   movement detection (RFC 6275 §11.5.1, MN-1…MN-3).
//! - Binding Acknowledgements reach a node at home on the raw Mobility
//!   Header socket ([`Port::Mobility`]); away, they carry a Type 2 Routing
//!   Header (RFC 6275 §6.4) that this kernel drops, so they are taken from
//!   the capture ([`Port::MobilityCapture`]) when the routing header names
//!   our home address. DHAAD Replies (145) and Parameter Problems (4)
//!   come on the ICMPv6 socket.
//! - Binding Updates leave on the MH socket, with a Home Address option
//!   when away (`IPV6_DSTOPTS`); the home address, routes and rules are
//!   kernel ops owned by `Owner::MobileNode`; the tunnel follows
//!   [`TunnelOp`]s ([`Effect::MnDataPlane`], a TUN device of its own,
//!   [`TUN_NAME`]).
//!
//! Panic contract: nothing here panics.

use std::collections::{BTreeMap, VecDeque};
use std::net::Ipv6Addr;

use tokio::time::Instant as TokioInstant;
use v6edge_core::{IfIndex, Instant, Received, Transmit, Transport};
use v6edge_mip6::auth::{MnHaKey, ReplayMode};
use v6edge_mip6::dataplane::DataPlaneKind;
use v6edge_mip6::mn::{
    BulState, LinkEvent, Location, MnConfig, MnOutput, MnReceived, MnSecurity, MobileNode, Notice,
};
use v6edge_mip6::pd::HomeLinkPath;

use super::link::AddressFact;
use super::mobility::{NH_ICMPV6, captured_icmp6, captured_mh, ntp_now};
use super::role::{Effect, Facts, Interest, MnDataPlaneNeed, Needs, Port, Role, RoleMessage};
use crate::config::{Config, HomeAgentChoice, MobileNodeConfig};
use crate::metrics::Metrics;
use crate::status::{MobileNodeStatus, Status};

/// The TUN device that holds the home address while away (distinct from
/// the home agent's `v6e-ha0`).
pub const TUN_NAME: &str = "v6e-mn0";
/// ICMPv6 the mobile node takes: Parameter Problem (a home agent without
/// Mobile IPv6, MN-13) and DHAAD Reply (MN-8).
const ICMP6_TYPES: [u8; 2] = [4, 145];

/// What the machine was last told of one interface.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Told {
    /// Addresses and their flags (the valid lifetime is told with them
    /// but is no reason to tell again: it shrinks at every read).
    addresses: BTreeMap<Ipv6Addr, (u8, bool, bool, bool)>,
    router: Option<Ipv6Addr>,
    /// DSMIPv6: IPv4 addresses (with their prefix length) and the IPv4
    /// default router.
    addresses4: BTreeMap<std::net::Ipv4Addr, u8>,
    router4: Option<std::net::Ipv4Addr>,
    mac: Option<[u8; 6]>,
}

/// The mobile node role; see the module documentation.
pub struct MobileNodeRole {
    config: MobileNodeConfig,
    origin: TokioInstant,
    seed: u64,
    /// Built at the first sync that finds the tunnel device and every
    /// configured interface (their indices are part of its configuration).
    machine: Option<MobileNode>,
    /// The configured interfaces' indices, in preference order.
    ifindices: Vec<IfIndex>,
    /// The tunnel device's index: ICMPv6 errors to the home address come
    /// through the tunnel (a correspondent's Parameter Problem, MT-15).
    tun_ifindex: Option<IfIndex>,
    told: BTreeMap<IfIndex, Told>,
    effects: VecDeque<Effect>,
    /// Kernel ops were queued since the last barrier.
    kernel_since_barrier: bool,
    next_ticket: u64,
    /// Messages waiting for the barrier of their ticket.
    held_sends: VecDeque<(u64, Effect)>,
    /// The care-of address the hook was last told the node registered.
    hooked_care_of: Option<Ipv6Addr>,
    /// RFC 6276: what the requesting router on our interface was last
    /// delegated (kept for a machine built later).
    delegated: Vec<v6edge_prefix::Prefix>,
    /// The DHCPv6 path last told to the other roles; `None` before the
    /// first time.
    path_told: Option<Option<HomeLinkPath>>,
}

impl std::fmt::Debug for MobileNodeRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MobileNodeRole")
            .field("home_address", &self.config.home_address)
            .field("running", &self.machine.is_some())
            .finish_non_exhaustive()
    }
}

impl MobileNodeRole {
    /// `[mobile-node] hook`: registered (first, or from a new care-of
    /// address) and deregistered; docs/config.md "Hooks".
    fn hook(&mut self, notice: &Notice) {
        let Some(program) = self.config.hook.clone() else {
            return;
        };
        let (event, care_of, lifetime) = match notice {
            Notice::Registered { care_of, lifetime } if self.hooked_care_of != Some(*care_of) => {
                self.hooked_care_of = Some(*care_of);
                ("registered", Some(*care_of), lifetime.as_secs())
            }
            Notice::Deregistered { .. } if self.hooked_care_of.is_some() => {
                ("deregistered", self.hooked_care_of.take(), 0)
            }
            _ => return,
        };
        let now = self.now();
        let status = self.machine.as_ref().map(|m| m.status(now));
        let home_agent = status.as_ref().and_then(|s| s.home_agent);
        let text = |a: Option<Ipv6Addr>| a.map(|a| a.to_string()).unwrap_or_default();
        let text4 = |a: Option<std::net::Ipv4Addr>| a.map(|a| a.to_string()).unwrap_or_default();
        let registered = event == "registered";
        // DSMIPv6 (RFC 5555): the IPv4 care-of address (V6EDGE_CARE_OF is
        // then its IPv4-mapped form) and the IPv4 home address.
        let care_of_v4 = status
            .as_ref()
            .and_then(|s| s.care_of_v4)
            .filter(|_| registered);
        let ipv4_home = status
            .as_ref()
            .and_then(|s| s.ipv4_home)
            .filter(|_| registered);
        let env = vec![
            ("V6EDGE_ROLE".to_owned(), "mobile-node".to_owned()),
            ("V6EDGE_EVENT".to_owned(), event.to_owned()),
            (
                "V6EDGE_HOME_ADDRESS".to_owned(),
                self.config.home_address.to_string(),
            ),
            ("V6EDGE_CARE_OF".to_owned(), text(care_of)),
            ("V6EDGE_HOME_AGENT".to_owned(), text(home_agent)),
            ("V6EDGE_LIFETIME".to_owned(), lifetime.to_string()),
            ("V6EDGE_CARE_OF_V4".to_owned(), text4(care_of_v4)),
            ("V6EDGE_IPV4_HOME_ADDRESS".to_owned(), text4(ipv4_home)),
            // A mobile router's mobile networks (RFC 3963), space
            // separated; empty for a mobile node.
            (
                "V6EDGE_MOBILE_NETWORKS".to_owned(),
                self.mobile_networks().join(" "),
            ),
        ];
        self.effects.push_back(Effect::Hook { program, env });
    }

    /// Refuses `security = "none"`: the machine authenticates every
    /// Binding Update (RFC 4285) and has no unauthenticated mode.
    pub fn new(
        config: &MobileNodeConfig,
        origin: TokioInstant,
        seed: u64,
    ) -> anyhow::Result<MobileNodeRole> {
        if config.sa.is_none() {
            anyhow::bail!(
                "[mobile-node] without spi and key-file (security = \"none\") cannot run: the mobile node always authenticates its Binding Updates (RFC 4285)"
            );
        }
        Ok(MobileNodeRole {
            config: config.clone(),
            origin,
            seed,
            machine: None,
            ifindices: Vec::new(),
            tun_ifindex: None,
            told: BTreeMap::new(),
            effects: VecDeque::new(),
            kernel_since_barrier: false,
            next_ticket: 0,
            held_sends: VecDeque::new(),
            hooked_care_of: None,
            delegated: Vec::new(),
            path_told: None,
        })
    }

    fn now(&self) -> Instant {
        super::persist::machine_now(self.origin)
    }

    /// The configured mobile networks, then the delegated ones (RFC 6276).
    fn mobile_networks(&self) -> Vec<String> {
        match &self.machine {
            Some(m) => m
                .status(self.now())
                .mobile_networks
                .iter()
                .map(|p| p.to_string())
                .collect(),
            None => self
                .config
                .mobile_router
                .iter()
                .flat_map(|(p, _)| p.iter().map(|p| p.to_string()))
                .collect(),
        }
    }

    fn mobile_network_mode(&self) -> Option<String> {
        self.config
            .mobile_router
            .as_ref()
            .map(|(_, explicit)| if *explicit { "explicit" } else { "implicit" }.to_owned())
    }

    fn machine_config(&self, interfaces: Vec<IfIndex>, tun: IfIndex) -> Option<MnConfig> {
        let sa = self.config.sa.as_ref()?;
        let security = MnSecurity {
            spi: sa.spi,
            key: MnHaKey::new(*sa.key.bytes()),
            replay: ReplayMode::Timestamp {
                window: sa.replay_window,
            },
        };
        let home_agent = match self.config.home_agent {
            HomeAgentChoice::Address(a) => Some(a),
            HomeAgentChoice::Dhaad => None,
        };
        let mut config = MnConfig::new(
            self.config.home_address,
            self.config.home_prefix,
            home_agent,
            interfaces,
            tun,
            security,
        );
        config.max_lifetime = self.config.binding_lifetime;
        // DSMIPv6 (RFC 5555): IPv4 care-of addresses.
        config.dsmip = self.config.dsmip.map(|d| v6edge_mip6::mn::MnDsmipConfig {
            home_agent_v4: d.home_agent,
            request_ipv4_home: d.request_ipv4_home_address,
            force_udp: d.force_udp,
        });
        config.mobile_router = self
            .config
            .mobile_router
            .as_ref()
            .map(|(prefixes, explicit)| v6edge_mip6::mn::MobileRouterConfig {
                prefixes: prefixes.clone(),
                explicit: *explicit,
            });
        Some(config)
    }

    /// Tells the machine what changed on the configured interfaces since
    /// the last read.
    fn feed_links(&mut self, facts: &Facts) {
        let now = self.now();
        let Some(machine) = &mut self.machine else {
            return;
        };
        // The machine knows the interfaces by the indices it was built
        // with (in configuration order).
        for (name, &index) in self.config.interfaces.iter().zip(&self.ifindices) {
            let link = facts.link(name.as_str());
            let present = link.info.as_ref().filter(|i| i.index == index);
            if !present.is_some_and(|i| i.up) {
                // Down, or gone: carrier lost for the machine.
                if self.told.remove(&index).is_some() {
                    machine.handle_link(now, LinkEvent::LinkDown { ifindex: index });
                }
                continue;
            }
            let told = self.told.entry(index).or_default();
            if let Some(mac) = present.and_then(|i| i.mac)
                && told.mac != Some(mac)
            {
                told.mac = Some(mac);
                machine.handle_link(
                    now,
                    LinkEvent::LinkLayerAddress {
                        ifindex: index,
                        address: mac.to_vec(),
                    },
                );
            }
            let current: BTreeMap<Ipv6Addr, AddressFact> = link
                .addresses
                .iter()
                .filter(|a| !a.addr.is_unicast_link_local() && !a.addr.is_loopback())
                .map(|a| (a.addr, *a))
                .collect();
            for addr in told.addresses.keys().copied().collect::<Vec<_>>() {
                if !current.contains_key(&addr) {
                    told.addresses.remove(&addr);
                    machine.handle_link(
                        now,
                        LinkEvent::AddressLost {
                            ifindex: index,
                            addr,
                        },
                    );
                }
            }
            for (addr, a) in &current {
                let flags = (a.prefix_len, a.tentative, a.temporary, a.deprecated);
                if told.addresses.get(addr) == Some(&flags) {
                    continue;
                }
                told.addresses.insert(*addr, flags);
                machine.handle_link(
                    now,
                    LinkEvent::Address {
                        ifindex: index,
                        addr: *addr,
                        prefix_len: a.prefix_len,
                        tentative: a.tentative,
                        temporary: a.temporary,
                        deprecated: a.deprecated,
                        valid_lifetime: a.valid,
                    },
                );
            }
            if told.router != link.default_router {
                told.router = link.default_router;
                machine.handle_link(
                    now,
                    LinkEvent::DefaultRouter {
                        ifindex: index,
                        router: link.default_router,
                    },
                );
            }
            // DSMIPv6: the IPv4 side of the interface (read only when
            // configured, so empty otherwise).
            let current4: BTreeMap<std::net::Ipv4Addr, u8> = link
                .addresses4
                .iter()
                .filter(|(a, _)| !a.is_loopback())
                .copied()
                .collect();
            for addr in told.addresses4.keys().copied().collect::<Vec<_>>() {
                if !current4.contains_key(&addr) {
                    told.addresses4.remove(&addr);
                    machine.handle_link(
                        now,
                        LinkEvent::Address4Lost {
                            ifindex: index,
                            addr,
                        },
                    );
                }
            }
            for (&addr, &prefix_len) in &current4 {
                if told.addresses4.get(&addr) == Some(&prefix_len) {
                    continue;
                }
                told.addresses4.insert(addr, prefix_len);
                machine.handle_link(
                    now,
                    LinkEvent::Address4 {
                        ifindex: index,
                        addr,
                        prefix_len,
                    },
                );
            }
            if told.router4 != link.default_router4 {
                told.router4 = link.default_router4;
                machine.handle_link(
                    now,
                    LinkEvent::DefaultRouter4 {
                        ifindex: index,
                        router: link.default_router4,
                    },
                );
            }
        }
    }

    /// Turns what the machine asks for into effects. A message that
    /// follows kernel changes (a Binding Update from a new care-of
    /// address, whose table-223 route and rule come just before it) waits
    /// behind an [`Effect::Barrier`] until they are applied: sent at once
    /// it would find the old routes (or none) and be lost.
    fn pump(&mut self) {
        let Some(m) = &mut self.machine else { return };
        let outputs: Vec<MnOutput> = std::iter::from_fn(|| m.poll_output()).collect();
        for out in outputs {
            let send = match out {
                MnOutput::Mh(t) => Effect::Mh(Transmit {
                    ifindex: t.ifindex,
                    src: Some(t.src),
                    dst: t.dst,
                    transport: Transport::MobilityHeader {
                        home_address: t.hao,
                    },
                    hop_limit: None,
                    payload: t.payload,
                }),
                // DSMIPv6 (RFC 5555 §4.2.1): from the data plane's UDP
                // socket, which the data shares (one NAT mapping for both);
                // the kernel picks the IPv4 care-of address as source.
                MnOutput::Udp(t) => Effect::MnDataPlaneUdp {
                    dst: t.dst,
                    packet: t.payload,
                },
                MnOutput::Icmp6(t) => Effect::Icmp6(t),
                MnOutput::Icmp6WithHomeAddress(t) => Effect::RawIpv6 {
                    packet: hao_packet(&t),
                    ifindex: t.ifindex,
                },
                MnOutput::Kernel(op) => {
                    self.kernel_since_barrier = true;
                    self.effects.push_back(Effect::Kernel(op));
                    continue;
                }
                MnOutput::DataPlane(op) => {
                    self.effects.push_back(Effect::MnDataPlane(op));
                    continue;
                }
                MnOutput::Notice(notice) => {
                    tracing::info!(?notice, "mobile node");
                    self.hook(&notice);
                    continue;
                }
            };
            if self.kernel_since_barrier {
                self.kernel_since_barrier = false;
                self.next_ticket += 1;
                self.effects.push_back(Effect::Barrier {
                    role: "mobile-node",
                    ticket: self.next_ticket,
                });
                self.held_sends.push_back((self.next_ticket, send));
            } else if let Some(&(ticket, _)) = self.held_sends.back() {
                // Behind the held ones: messages leave in order.
                self.held_sends.push_back((ticket, send));
            } else {
                self.effects.push_back(send);
            }
        }
    }

    /// The addresses a Binding Acknowledgement may be sent to: the
    /// current care-of address.
    fn care_of(&self) -> Option<Ipv6Addr> {
        let now = self.now();
        self.machine.as_ref().and_then(|m| m.status(now).care_of)
    }
}

/// A whole packet for ICMPv6 with a Home Address option (MN-9): the
/// kernel would take the option through `IPV6_DSTOPTS` but checksum the
/// message over the care-of address, where RFC 6275 §6.3 wants the home
/// address (which the machine already used).
fn hao_packet(t: &v6edge_mip6::mn::MnTransmit) -> Vec<u8> {
    let hoa = t.hao.unwrap_or(t.src);
    let dstopts = v6edge_wire::ip6::DestinationOptions::home_address(NH_ICMPV6, hoa).to_bytes();
    let len = u16::try_from(dstopts.len() + t.payload.len()).unwrap_or(u16::MAX);
    // RFC 8200 §4.1: Destination Options is next header 60.
    let mut packet = v6edge_wire::ip6::Ipv6Header::new(t.src, t.dst, 60, 64, len).to_bytes();
    packet.extend_from_slice(&dstopts);
    packet.extend_from_slice(&t.payload);
    packet
}

fn state_label(state: &BulState) -> &'static str {
    match state {
        BulState::Idle => "idle",
        BulState::WaitAck { .. } => "wait-ack",
        BulState::Bound { .. } => "bound",
        BulState::Deregistering { .. } => "deregistering",
    }
}

fn location_label(location: &Location) -> &'static str {
    match location {
        Location::Detached => "detached",
        Location::Home { .. } => "home",
        Location::Away { .. } => "away",
        Location::AwayV4 { .. } => "away-v4",
    }
}

impl Role for MobileNodeRole {
    fn name(&self) -> &'static str {
        "mobile-node"
    }

    fn needs(&self) -> Needs {
        let mut needs = Needs {
            icmp6_types: ICMP6_TYPES.into_iter().collect(),
            mobility: true,
            // Binding Acknowledgements and Mobile Prefix Advertisements
            // come with a Type 2 Routing Header, read from the capture;
            // the kernel would answer each with a Parameter Problem.
            kernel_silences: std::collections::BTreeSet::from([
                v6edge_sys::netfilter::Silence::Type2RoutingHeader,
            ]),
            mobile_node_data_plane: Some(MnDataPlaneNeed {
                owner: v6edge_core::Owner::MobileNode,
                tun: TUN_NAME.to_owned(),
                udp: self.config.dsmip.is_some(),
            }),
            ..Needs::default()
        };
        for name in &self.config.interfaces {
            needs.interfaces.insert(
                name.to_string(),
                Interest {
                    addresses: true,
                    // DSMIPv6: IPv4 care-of addresses (RFC 5555).
                    ipv4: self.config.dsmip.is_some(),
                    ..Interest::default()
                },
            );
        }
        // A mobile router forwards for its mobile networks (RFC 3963) and
        // still learns its care-of addresses from the foreign links' RAs
        // (accept_ra = 2); the loop warns when forwarding is off.
        if self.config.mobile_router.is_some() {
            needs.forwarding = true;
            needs
                .accept_ra
                .extend(self.config.interfaces.iter().map(|n| n.to_string()));
        }
        needs
            .interfaces
            .insert(TUN_NAME.to_owned(), Interest::default());
        needs
    }

    fn sync(&mut self, facts: &Facts, _metrics: &Metrics) {
        let now = self.now();
        let indices: Option<Vec<IfIndex>> = self
            .config
            .interfaces
            .iter()
            .map(|n| facts.link(n.as_str()).info.as_ref().map(|i| i.index))
            .collect();
        let tun = facts.link(TUN_NAME).info.as_ref().map(|i| i.index);
        match (&mut self.machine, indices, tun) {
            (None, Some(indices), Some(tun)) => {
                let Some(config) = self.machine_config(indices.clone(), tun) else {
                    return;
                };
                match MobileNode::new(config, self.seed, now) {
                    Ok(mut m) => {
                        m.set_wall_clock(now, ntp_now());
                        m.set_delegated_prefixes(now, &self.delegated);
                        tracing::info!(home_address = %self.config.home_address, "mobile node started");
                        self.machine = Some(m);
                        self.ifindices = indices;
                        self.tun_ifindex = Some(tun);
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "the mobile node cannot start");
                        return;
                    }
                }
            }
            (Some(m), _, _) => m.set_wall_clock(now, ntp_now()),
            _ => return,
        }
        self.feed_links(facts);
        self.pump();
    }

    fn accepts(&self, port: Port, rx: &Received<'_>) -> bool {
        match port {
            Port::Mobility => true,
            // A BA to us away: to our care-of address, its Type 2 Routing
            // Header naming our home address (RFC 6275 §6.4, §11.7.3).
            Port::MobilityCapture => captured_mh(rx.bytes)
                .or_else(|| captured_icmp6(rx.bytes))
                .is_some_and(|c| {
                    c.rh2 == Some(self.config.home_address) && Some(c.dst) == self.care_of()
                }),
            Port::Icmp6 => {
                (self.ifindices.contains(&rx.ifindex) || self.tun_ifindex == Some(rx.ifindex))
                    && rx.bytes.first().is_some_and(|t| ICMP6_TYPES.contains(t))
            }
            _ => false,
        }
    }

    /// DSMIPv6 (RFC 5555 §4.2.1): a Binding Acknowledgement that came in
    /// UDP, taken out by the data plane.
    fn handle_udp_signalling(
        &mut self,
        from: std::net::SocketAddrV4,
        packet: &[u8],
        _metrics: &Metrics,
    ) {
        let now = self.now();
        let Some(m) = &mut self.machine else { return };
        let Some((src, dst, bytes)) = v6edge_mip6::dsmip::signalling(packet) else {
            return;
        };
        m.handle_mh_udp(
            now,
            from,
            &MnReceived {
                src,
                dst,
                hao: None,
                rh2: None,
                bytes,
            },
        );
        self.pump();
    }

    fn handle_datagram(&mut self, port: Port, rx: &Received<'_>, _metrics: &Metrics) {
        let now = self.now();
        let Some(m) = &mut self.machine else { return };
        match port {
            Port::Mobility => m.handle_mh(
                now,
                &MnReceived {
                    src: rx.src,
                    dst: rx.dst,
                    hao: None,
                    rh2: None,
                    bytes: rx.bytes,
                },
            ),
            Port::MobilityCapture => {
                // A Mobile Prefix Advertisement (MN-9), or a BA.
                if let Some(c) = captured_icmp6(rx.bytes) {
                    m.handle_captured_icmp6(
                        now,
                        &MnReceived {
                            src: c.src,
                            dst: c.dst,
                            hao: c.hao,
                            rh2: c.rh2,
                            bytes: c.bytes,
                        },
                    );
                    self.pump();
                    return;
                }
                let Some(c) = captured_mh(rx.bytes) else {
                    return;
                };
                m.handle_mh(
                    now,
                    &MnReceived {
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
        self.pump();
    }

    /// RFC 6276: the prefixes delegated to the requesting router on our
    /// interface are our mobile networks.
    fn receive(&mut self, message: &RoleMessage, _metrics: &Metrics) {
        let RoleMessage::UplinkDelegations {
            interface,
            prefixes,
        } = message
        else {
            return;
        };
        if !self
            .config
            .interfaces
            .iter()
            .any(|n| n.as_str() == interface)
        {
            return;
        }
        self.delegated = prefixes.clone();
        let now = self.now();
        if let Some(m) = &mut self.machine {
            m.set_delegated_prefixes(now, prefixes);
        }
        self.pump();
    }

    /// RFC 6276: the way to the home network, for the requesting router
    /// on our interface, whenever it changes.
    fn next_message(&mut self) -> Option<RoleMessage> {
        let path = self.machine.as_ref().and_then(|m| m.home_link_path());
        if self.path_told == Some(path) {
            return None;
        }
        self.path_told = Some(path);
        Some(RoleMessage::HomeLinkPath {
            interfaces: self
                .config
                .interfaces
                .iter()
                .map(|n| n.to_string())
                .collect(),
            path,
        })
    }

    fn handle_timeout(&mut self, _metrics: &Metrics) {
        let now = self.now();
        if let Some(m) = &mut self.machine
            && m.poll_timeout().is_some_and(|t| t <= now)
        {
            m.handle_timeout(now);
        }
        self.pump();
    }

    fn next_deadline(&self) -> Option<TokioInstant> {
        self.machine
            .as_ref()
            .and_then(MobileNode::poll_timeout)
            .map(|t| super::persist::tokio_instant(self.origin, t))
    }

    fn next_effect(&mut self) -> Option<Effect> {
        self.effects.pop_front()
    }

    /// The kernel changes before a held message are applied (or failed:
    /// it leaves anyway, and the machine retransmits if it is lost).
    fn handle_applied(&mut self, ticket: u64, ok: bool, _metrics: &Metrics) {
        if !ok {
            tracing::warn!("a mobile node route or rule could not be installed");
        }
        while self.held_sends.front().is_some_and(|(t, _)| *t <= ticket) {
            if let Some((_, send)) = self.held_sends.pop_front() {
                self.effects.push_back(send);
            }
        }
    }

    fn status(&self, status: &mut Status) {
        let now = self.now();
        let doc = match &self.machine {
            None => MobileNodeStatus {
                home_address: Some(self.config.home_address),
                state: "idle".to_owned(),
                location: "detached".to_owned(),
                ..MobileNodeStatus::default()
            },
            Some(m) => {
                let s = m.status(now);
                MobileNodeStatus {
                    running: true,
                    home_address: Some(s.home_address),
                    state: state_label(&s.state).to_owned(),
                    location: location_label(&s.location).to_owned(),
                    care_of: s.care_of,
                    home_agent: s.home_agent,
                    sequence: s.sequence,
                    lifetime: s.lifetime.as_secs(),
                    remaining: s.remaining.as_secs(),
                    installed: s.installed,
                    stopped: s.stopped,
                    bu_sent: s.counters.bu_sent,
                    retransmissions: s.counters.retransmissions,
                    ba_received: s
                        .counters
                        .ba_received
                        .iter()
                        .map(|(k, v)| (k.to_string(), *v))
                        .collect(),
                    movements: s.counters.movements,
                    home_prefixes: s
                        .home_prefixes
                        .iter()
                        .map(|p| crate::status::HomePrefixDoc {
                            prefix: p.prefix.to_string(),
                            valid: p.valid.map(|d| d.as_secs()),
                            preferred: p.preferred.map(|d| d.as_secs()),
                        })
                        .collect(),
                    prefix_solicitations: s.counters.prefix_solicitations,
                    prefix_advertisements: s.counters.prefix_advertisements,
                    prefix_acks_suppressed: s.counters.prefix_acks_suppressed,
                    mobile_networks: self.mobile_networks(),
                    mobile_network_mode: self.mobile_network_mode(),
                    care_of_v4: s.care_of_v4,
                    nat_refresh: s.nat_refresh.map(|d| d.as_secs()),
                    ipv4_home_address: s.ipv4_home,
                    bu_sent_udp: s.counters.bu_sent_udp,
                    // The one back end so far (mobility.md §2.2 default).
                    data_plane: DataPlaneKind::Tun.as_str().to_owned(),
                }
            }
        };
        status.roles.mobile_node = Some(doc);
    }

    fn export_metrics(&self, metrics: &Metrics) {
        let Some(m) = &self.machine else { return };
        let c = m.counters();
        let acks: Vec<(String, u64)> = c
            .ba_received
            .iter()
            .map(|(s, n)| (s.to_string(), *n))
            .collect();
        let bound = matches!(m.status(self.now()).state, BulState::Bound { .. });
        metrics.sync_mobile_node(c.bu_sent, c.retransmissions, &acks, c.movements, bound);
    }

    fn dropped_counts(&self) -> Vec<(&'static str, String, u64)> {
        let Some(m) = &self.machine else {
            return Vec::new();
        };
        m.counters()
            .dropped
            .iter()
            .map(|(r, n)| ("mobility", r.label().to_owned(), *n))
            .collect()
    }

    /// Settings of a running mobile node change at the next restart (its
    /// security association and interfaces are part of the machine).
    fn reconfigure(&mut self, config: &Config, _metrics: &Metrics) -> anyhow::Result<()> {
        if config.mobile_node.as_ref() != Some(&self.config) {
            tracing::warn!("[mobile-node] changes take effect at the next restart");
        }
        Ok(())
    }

    /// A clean stop deregisters (RFC 6275 §11.7.2 with lifetime 0): the
    /// Binding Update leaves with the stop's last effects; its
    /// acknowledgement is not waited for. The tunnel device goes, and with
    /// it the home address and the routes into it: a node whose daemon is
    /// stopped must not send its traffic into a tunnel nobody serves.
    fn shutdown(&mut self, _metrics: &Metrics) {
        let now = self.now();
        if let Some(m) = &mut self.machine {
            m.deregister(now);
        }
        self.pump();
        // The acknowledgement will not be waited for: the hook hears of
        // the deregistration now.
        self.hook(&Notice::Deregistered {
            acknowledged: false,
        });
        // Nothing will report barriers any more: what waits leaves now.
        self.effects
            .extend(self.held_sends.drain(..).map(|(_, send)| send));
        self.effects
            .push_back(Effect::Kernel(v6edge_core::KernelOp::DelTun(
                v6edge_core::TunSpec {
                    owner: v6edge_core::Owner::MobileNode,
                    name: TUN_NAME.to_owned(),
                    up: false,
                    mtu: None,
                    tx_queue_len: None,
                },
            )));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daemon::link::LinkFacts;
    use crate::daemon::mobility::NH_MOBILITY;
    use v6edge_sys::LinkInfo;

    const HA: &str = "2001:db8:1::1";
    const HOA: &str = "2001:db8:1::200";
    const COA: &str = "2001:db8:a::5";
    const ETH0: IfIndex = 2;
    const TUN: IfIndex = 3;

    fn addr(s: &str) -> Ipv6Addr {
        s.parse().expect("test address")
    }

    fn role() -> MobileNodeRole {
        let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
        let config = Config::load(&examples.join("mobile-node.toml")).expect("the example");
        let settings = config.mobile_node.as_ref().expect("[mobile-node]");
        MobileNodeRole::new(settings, TokioInstant::now(), 7).expect("role")
    }

    fn link(index: IfIndex, name: &str) -> LinkInfo {
        LinkInfo {
            index,
            name: name.to_owned(),
            up: true,
            running: true,
            mac: Some([2, 0, 0, 0, 0, index as u8]),
            mtu: 1500,
        }
    }

    /// eth0 with `coa` (if any) and a default router, and the TUN device.
    fn facts(coa: Option<&str>) -> Facts {
        let mut facts = Facts::default();
        facts.links.insert(
            "eth0".to_owned(),
            LinkFacts {
                info: Some(link(ETH0, "eth0")),
                link_local: Some(addr("fe80::2")),
                addresses: coa
                    .map(|a| AddressFact {
                        addr: addr(a),
                        prefix_len: 64,
                        tentative: false,
                        temporary: false,
                        deprecated: false,
                        valid: Some(std::time::Duration::from_secs(86400)),
                        preferred: Some(std::time::Duration::from_secs(14400)),
                    })
                    .into_iter()
                    .collect(),
                default_router: Some(addr("fe80::1")),
                ..LinkFacts::default()
            },
        );
        facts.links.insert(
            TUN_NAME.to_owned(),
            LinkFacts {
                info: Some(link(TUN, TUN_NAME)),
                ..LinkFacts::default()
            },
        );
        facts
    }

    fn effects(role: &mut MobileNodeRole) -> Vec<Effect> {
        std::iter::from_fn(|| role.next_effect()).collect()
    }

    /// MN-1: a care-of address and a router on eth0 start a registration
    /// (a BU from the care-of address with a Home Address option, to the
    /// configured home agent); the same facts read again change nothing.
    #[test]
    fn link_facts_start_one_registration_and_repeats_are_not_movements() {
        let metrics = Metrics::new();
        let mut role = role();
        role.sync(&facts(Some(COA)), &metrics);
        let sent = effects(&mut role);
        let [Effect::Mh(bu)] = sent.as_slice() else {
            panic!("one BU expected: {sent:?}");
        };
        assert_eq!(bu.src, Some(addr(COA)));
        assert_eq!(bu.dst, addr(HA));
        assert_eq!(bu.ifindex, ETH0);
        assert_eq!(
            bu.transport,
            Transport::MobilityHeader {
                home_address: Some(addr(HOA))
            }
        );
        role.sync(&facts(Some(COA)), &metrics);
        assert!(effects(&mut role).is_empty(), "no news, no BU");
        let mut status = Status::empty();
        role.status(&mut status);
        let doc = status.roles.mobile_node.expect("status");
        assert_eq!(doc.state, "wait-ack");
        assert_eq!(doc.location, "away");
        assert_eq!(doc.care_of, Some(addr(COA)));
        assert_eq!(doc.movements, 1);
        // The address gone: detached, no BU; a new one: a new BU from it.
        role.sync(&facts(None), &metrics);
        assert!(
            effects(&mut role)
                .iter()
                .all(|e| !matches!(e, Effect::Mh(_)))
        );
        role.sync(&facts(Some("2001:db8:b::5")), &metrics);
        let sent = effects(&mut role);
        assert!(
            sent.iter()
                .any(|e| matches!(e, Effect::Mh(t) if t.src == Some(addr("2001:db8:b::5")))),
            "{sent:?}"
        );
    }

    /// An interface that disappears is carrier lost for the machine
    /// (detached), and its return is a movement like any other.
    #[test]
    fn an_interface_that_goes_away_detaches_the_node() {
        let metrics = Metrics::new();
        let mut role = role();
        role.sync(&facts(Some(COA)), &metrics);
        let mut gone = facts(Some(COA));
        gone.links.remove("eth0");
        role.sync(&gone, &metrics);
        let location = |role: &MobileNodeRole| {
            let mut status = Status::empty();
            role.status(&mut status);
            status.roles.mobile_node.expect("status").location
        };
        assert_eq!(location(&role), "detached");
        role.sync(&facts(Some(COA)), &metrics);
        assert_eq!(location(&role), "away");
    }

    /// `v6edge status`: the JSON document round-trips and the human line
    /// says where the node is and what it registered.
    #[test]
    fn status_document_and_human_line() {
        let metrics = Metrics::new();
        let mut role = role();
        let mut status = Status::empty();
        role.status(&mut status);
        let waiting = crate::status::format_human(&status);
        assert!(
            waiting.contains("mobile node 2001:db8:1::200: waiting for its interfaces"),
            "{waiting}"
        );
        role.sync(&facts(Some(COA)), &metrics);
        let mut status = Status::empty();
        role.status(&mut status);
        let json = serde_json::to_value(&status).expect("encodes");
        let doc = &json["roles"]["mobile-node"];
        assert_eq!(doc["state"], "wait-ack");
        assert_eq!(doc["care_of"], COA);
        let back: Status = serde_json::from_value(json).expect("decodes");
        assert_eq!(back.roles.mobile_node, status.roles.mobile_node);
        let line = crate::status::format_human(&status);
        assert!(
            line.contains(&format!(
                "mobile node {HOA}: away, wait-ack, care-of {COA}, home agent {HA}"
            )),
            "{line}"
        );
    }

    /// A Parameter Problem from the home agent quoting our BU reaches the
    /// machine, which goes on registering for its grace (MN-13; the grace
    /// and what ends it are the machine's tests).
    #[test]
    fn a_parameter_problem_does_not_stop_registration_at_once() {
        let metrics = Metrics::new();
        let mut role = role();
        role.sync(&facts(Some(COA)), &metrics);
        let sent = effects(&mut role);
        let Some(Effect::Mh(bu)) = sent.first() else {
            panic!("a BU expected: {sent:?}");
        };
        // The invoking packet: IPv6 header from the care-of address to
        // the home agent, then (what follows does not matter here) the BU.
        let mut invoking = vec![0x60, 0, 0, 0, 0, 0, 60, 64];
        invoking.extend_from_slice(&addr(COA).octets());
        invoking.extend_from_slice(&addr(HA).octets());
        invoking.extend_from_slice(&bu.payload);
        let mut icmp = vec![4, 2, 0, 0, 0, 0, 0, 42];
        icmp.extend_from_slice(&invoking);
        let rx = Received {
            ifindex: ETH0,
            src: addr(HA),
            dst: addr(COA),
            hop_limit: 64,
            bytes: &icmp,
        };
        assert!(role.accepts(Port::Icmp6, &rx));
        role.handle_datagram(Port::Icmp6, &rx, &metrics);
        role.handle_timeout(&metrics);
        let mut status = Status::empty();
        role.status(&mut status);
        let doc = status.roles.mobile_node.expect("status");
        assert_eq!((doc.state.as_str(), doc.stopped), ("wait-ack", None));
        assert!(role.next_deadline().is_some());
    }

    /// Not ours: a BA captured with an RH2 naming another home address.
    #[test]
    fn captured_messages_for_another_home_address_are_not_taken() {
        let metrics = Metrics::new();
        let mut role = role();
        role.sync(&facts(Some(COA)), &metrics);
        let mh = [59u8, 1, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        let packet = |hoa: Ipv6Addr| {
            let rh2 = v6edge_wire::ip6::Type2RoutingHeader::new(NH_MOBILITY, hoa).to_bytes();
            let len = u16::try_from(rh2.len() + mh.len()).expect("small");
            let mut p =
                v6edge_wire::ip6::Ipv6Header::new(addr(HA), addr(COA), 43, 64, len).to_bytes();
            p.extend_from_slice(&rh2);
            p.extend_from_slice(&mh);
            p
        };
        let rx = |bytes: &[u8]| -> bool {
            role.accepts(
                Port::MobilityCapture,
                &Received {
                    ifindex: ETH0,
                    src: addr(HA),
                    dst: addr(COA),
                    hop_limit: 64,
                    bytes,
                },
            )
        };
        assert!(rx(&packet(addr(HOA))));
        assert!(!rx(&packet(addr("2001:db8:1::201"))));
    }
}
