//! [`StaticRaUnit`]: Router Advertisements of configured prefixes (`[[ra]]`),
//! one [`Advertiser`] per interface: v6edge as a plain RA daemon.
//!
//! An interface advertises while it is up and has a link-local address
//! (RFC 4861 §6.1.2: hosts accept RAs only from a link-local source); it
//! becomes an advertising interface then (§6.2.2), and stops with a final
//! RA of Router Lifetime 0 on shutdown or when its `[[ra]]` is removed by a
//! reload (§6.2.5). If the link goes away the advertiser is dropped without
//! a final RA (nothing could carry it) and a new one starts when it is back.
//!
//! Prefix lifetimes are fixed (RFC 4861 §4.6.2): the content is rebuilt with
//! `valid_until = now + valid` before every call into the advertiser, so
//! each RA carries the configured values rather than a countdown.
//!
//! Panic contract: nothing here panics.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::Ipv6Addr;
use std::time::Duration;

use tokio::time::Instant as TokioInstant;
use v6edge_core::{IfIndex, Instant, Received};
use v6edge_ra::{AdvPrefix, AdvertContent, Advertiser, AdvertiserConfig};

use super::role::{Effect, Facts, LinkFacts, Needs, Port, Role, RoleMessage, random_seed};
use crate::config::{Config, StaticRaConfig};
use crate::metrics::Metrics;
use crate::status::{StaticRaStatus, Status};
use v6edge_core::Owner;
use v6edge_ra::LinkContributions;

#[derive(Debug)]
struct Interface {
    config: StaticRaConfig,
    /// The advertising interface; `None` while the link is absent, down or
    /// without a link-local address, and always on a `[[lan]]`.
    advertiser: Option<Advertiser>,
    /// On a `[[lan]]` (`StaticRaConfig::on_lan`): when the content was last
    /// handed to the LAN's advertiser.
    told_at: Option<Instant>,
    /// What other roles advertise here (a home agent's H flag and Home
    /// Agent Information, RFC 6275 §7), merged with the configured
    /// content: one advertiser per link (issue 8 item 4).
    contributions: LinkContributions<Owner>,
}

impl Interface {
    /// The configured content merged with the other roles'.
    fn content(&self, now: Instant) -> AdvertContent {
        merged_content(&self.config, &self.contributions, now)
    }
}

fn merged_content(
    config: &StaticRaConfig,
    others: &LinkContributions<Owner>,
    now: Instant,
) -> AdvertContent {
    if others.is_empty() {
        return content(config, now);
    }
    let mut all = others.clone();
    all.set(Owner::Static, content(config, now));
    all.merged()
}

/// How often the content given to a LAN's advertiser is renewed. It
/// carries absolute expiry instants (`valid_until = now + valid`), so
/// between renewals the advertised lifetimes count down by at most this.
const CONTRIBUTION_REFRESH: std::time::Duration = std::time::Duration::from_secs(60);

/// The `[[ra]]` role; see the module documentation.
#[derive(Debug)]
pub struct StaticRaUnit {
    interfaces: Vec<Interface>,
    /// Drops counted by advertisers since dropped (link gone, `[[ra]]`
    /// removed), by reason label, so the metrics never go backwards.
    retired_drops: BTreeMap<String, u64>,
    origin: TokioInstant,
    effects: VecDeque<Effect>,
    /// Contributions to LANs' RAs, for the other roles.
    messages: VecDeque<RoleMessage>,
}

impl StaticRaUnit {
    pub fn new(configs: &[StaticRaConfig], origin: TokioInstant) -> StaticRaUnit {
        StaticRaUnit {
            interfaces: configs
                .iter()
                .map(|c| Interface {
                    config: c.clone(),
                    advertiser: None,
                    told_at: None,
                    contributions: LinkContributions::new(),
                })
                .collect(),
            retired_drops: BTreeMap::new(),
            origin,
            effects: VecDeque::new(),
            messages: VecDeque::new(),
        }
    }

    fn now(&self) -> Instant {
        super::persist::machine_now(self.origin)
    }

    /// The interface names the loop must read for [`StaticRaUnit::sync`].
    pub fn interface_names(&self) -> impl Iterator<Item = &str> {
        self.interfaces.iter().map(|i| i.config.interface.as_str())
    }

    /// Interfaces advertising now: the ICMPv6 socket joins ff02::2 there
    /// to hear Router Solicitations (RFC 4861 §6.2.6).
    pub fn ifindices(&self) -> BTreeSet<IfIndex> {
        self.interfaces
            .iter()
            .filter_map(|i| i.advertiser.as_ref().map(|a| a.config().ifindex))
            .collect()
    }

    /// Whether an ICMPv6 datagram on `ifindex` is for this unit.
    pub fn serves(&self, ifindex: IfIndex) -> bool {
        self.ifindices().contains(&ifindex)
    }

    /// Starts, restarts or drops advertisers to match the links.
    pub fn sync(&mut self, links: &BTreeMap<String, LinkFacts>, metrics: &Metrics) {
        let now = self.now();
        let retired = &mut self.retired_drops;
        for iface in &mut self.interfaces {
            if iface.config.on_lan {
                if iface.told_at.is_none() {
                    self.messages.push_back(contribution(&iface.config, now));
                    iface.told_at = Some(now);
                }
                continue;
            }
            let link = links.get(iface.config.interface.as_str());
            let usable = link.and_then(LinkFacts::usable);
            match (usable, &mut iface.advertiser) {
                (None, Some(a)) => {
                    tracing::info!(interface = %iface.config.interface, "link gone or down: not advertising");
                    retire(retired, a);
                    iface.advertiser = None;
                }
                (Some((info, _)), Some(a)) if a.config().ifindex != info.index => {
                    // Same name, new link: start over on it.
                    retire(retired, a);
                    iface.advertiser = None;
                }
                _ => {}
            }
            if let Some((info, link_local)) = usable {
                let a = iface.advertiser.get_or_insert_with(|| {
                    let config = advertiser_config(&iface.config, info.index, info.mac);
                    let mut a = Advertiser::new(config, random_seed(), now);
                    a.set_content(
                        now,
                        merged_content(&iface.config, &iface.contributions, now),
                    );
                    a.start(now);
                    a
                });
                a.set_source(Some(link_local));
            }
        }
        self.drain(metrics);
    }

    /// An ICMPv6 datagram (RS, or another router's RA) on one of our links.
    pub fn handle_packet(&mut self, rx: &Received<'_>, metrics: &Metrics) {
        let now = self.now();
        if let Some(iface) = self.interfaces.iter_mut().find(|i| {
            i.advertiser
                .as_ref()
                .is_some_and(|a| a.config().ifindex == rx.ifindex)
        }) && let Some(a) = &mut iface.advertiser
        {
            // RFC 4861 §4.1: type 133 is a Router Solicitation.
            if rx.bytes.first() == Some(&133) {
                metrics.rs_received(iface.config.interface.as_str());
            }
            a.set_content(
                now,
                merged_content(&iface.config, &iface.contributions, now),
            );
            a.handle_packet(now, rx);
        }
        self.drain(metrics);
    }

    /// A host the kernel knows on one of our links (`Advertiser::note_neighbor`).
    pub fn note_neighbour(&mut self, ifindex: IfIndex, addr: Ipv6Addr) {
        let now = self.now();
        for iface in &mut self.interfaces {
            if let Some(a) = &mut iface.advertiser
                && a.config().ifindex == ifindex
            {
                a.note_neighbor(now, addr);
            }
        }
    }

    pub fn handle_timeout(&mut self, metrics: &Metrics) {
        let now = self.now();
        for iface in &mut self.interfaces {
            if iface
                .told_at
                .is_some_and(|t| t + CONTRIBUTION_REFRESH <= now)
            {
                self.messages.push_back(contribution(&iface.config, now));
                iface.told_at = Some(now);
            }
            if let Some(a) = &mut iface.advertiser
                && a.poll_timeout().is_some_and(|t| t <= now)
            {
                a.set_content(
                    now,
                    merged_content(&iface.config, &iface.contributions, now),
                );
                a.handle_timeout(now);
            }
        }
        self.drain(metrics);
    }

    pub fn next_deadline(&self) -> Option<TokioInstant> {
        let refresh = self
            .interfaces
            .iter()
            .filter_map(|i| i.told_at.map(|t| t + CONTRIBUTION_REFRESH));
        self.interfaces
            .iter()
            .filter_map(|i| i.advertiser.as_ref().and_then(Advertiser::poll_timeout))
            .chain(refresh)
            .min()
            .map(|t| super::persist::tokio_instant(self.origin, t))
    }

    /// RFC 4861 §6.2.5: a final RA with Router Lifetime 0 on every
    /// advertising interface.
    pub fn shutdown(&mut self, metrics: &Metrics) {
        let now = self.now();
        for iface in &mut self.interfaces {
            if let Some(a) = &mut iface.advertiser {
                a.stop(now);
            }
        }
        self.drain(metrics);
    }

    /// SIGHUP: interfaces whose `[[ra]]` is gone send their final RA; kept
    /// ones take the new settings and prefixes (announced by fast RAs,
    /// §6.2.4); new ones start at the next sync.
    pub fn reconfigure(&mut self, configs: &[StaticRaConfig], metrics: &Metrics) {
        let now = self.now();
        let mut old: Vec<Interface> = std::mem::take(&mut self.interfaces);
        for config in configs {
            let kept = old
                .iter()
                .position(|i| i.config.interface == config.interface)
                .map(|at| old.swap_remove(at));
            let told_at = kept.as_ref().and_then(|i| i.told_at);
            let contributions = kept
                .as_ref()
                .map(|i| i.contributions.clone())
                .unwrap_or_default();
            let mut advertiser = kept.and_then(|i| i.advertiser);
            if config.on_lan
                && let Some(mut a) = advertiser.take()
            {
                // The interface became a [[lan]]: its advertiser takes over.
                a.stop(now);
                while let Some(t) = a.poll_transmit() {
                    metrics.ra_sent(config.interface.as_str());
                    self.effects.push_back(Effect::Icmp6(t));
                }
                retire(&mut self.retired_drops, &a);
            }
            if config.on_lan {
                self.messages.push_back(contribution(config, now));
            } else if told_at.is_some() {
                // No longer on a [[lan]]: withdrawn there, advertised on its
                // own from the next sync.
                self.messages.push_back(withdrawal(config));
            }
            if let Some(a) = &mut advertiser {
                let ac = a.config();
                let new_config = advertiser_config(config, ac.ifindex, None);
                let new_config = AdvertiserConfig {
                    link_layer_addr: ac.link_layer_addr.clone(),
                    ..new_config
                };
                a.set_config(now, new_config);
                a.set_content(now, merged_content(config, &contributions, now));
            }
            self.interfaces.push(Interface {
                config: config.clone(),
                advertiser,
                told_at: config.on_lan.then_some(now),
                contributions,
            });
        }
        for gone in &mut old {
            if gone.told_at.is_some() {
                self.messages.push_back(withdrawal(&gone.config));
            }
            if let Some(a) = &mut gone.advertiser {
                tracing::info!(interface = %gone.config.interface, "[[ra]] removed: final RA");
                a.stop(now);
                while let Some(t) = a.poll_transmit() {
                    metrics.ra_sent(gone.config.interface.as_str());
                    self.effects.push_back(Effect::Icmp6(t));
                }
                retire(&mut self.retired_drops, a);
            }
        }
        self.drain(metrics);
    }

    /// ND datagrams the advertisers dropped (malformed, invalid, wrong
    /// interface, ...), by reason label, since the daemon started.
    pub fn dropped_counts(&self) -> BTreeMap<String, u64> {
        let mut out = self.retired_drops.clone();
        for a in self.interfaces.iter().filter_map(|i| i.advertiser.as_ref()) {
            retire(&mut out, a);
        }
        out
    }

    pub fn status(&self) -> Vec<StaticRaStatus> {
        self.interfaces
            .iter()
            .map(|i| {
                let s = i.advertiser.as_ref().map(Advertiser::status);
                StaticRaStatus {
                    interface: i.config.interface.to_string(),
                    prefixes: i
                        .config
                        .prefixes
                        .iter()
                        .map(|p| p.prefix.to_string())
                        .collect(),
                    advertising: i.advertiser.is_some(),
                    joins_lan: i.config.on_lan,
                    sent: s
                        .as_ref()
                        .map_or(0, |s| s.ra_sent_multicast + s.ra_sent_unicast),
                    rs_received: s.as_ref().map_or(0, |s| s.rs_received),
                }
            })
            .collect()
    }

    fn drain(&mut self, metrics: &Metrics) {
        for iface in &mut self.interfaces {
            if let Some(a) = &mut iface.advertiser {
                while let Some(t) = a.poll_transmit() {
                    metrics.ra_sent(iface.config.interface.as_str());
                    self.effects.push_back(Effect::Icmp6(t));
                }
            }
        }
    }
}

impl Role for StaticRaUnit {
    fn name(&self) -> &'static str {
        "ra"
    }

    fn needs(&self) -> Needs {
        Needs {
            interfaces: self
                .interface_names()
                .map(|n| (n.to_owned(), Default::default()))
                .collect(),
            all_routers: self.ifindices(),
            ..Needs::default()
        }
    }

    fn sync(&mut self, facts: &Facts, metrics: &Metrics) {
        StaticRaUnit::sync(self, &facts.links, metrics);
    }

    /// RS and RAs on the interfaces it advertises on.
    fn accepts(&self, port: Port, rx: &Received<'_>) -> bool {
        port == Port::Icmp6
            && matches!(rx.bytes.first(), Some(133 | 134))
            && self.serves(rx.ifindex)
    }

    fn handle_datagram(&mut self, _port: Port, rx: &Received<'_>, metrics: &Metrics) {
        self.handle_packet(rx, metrics);
    }

    fn note_neighbours(&mut self, ifindex: IfIndex, addrs: &[Ipv6Addr]) {
        for &addr in addrs {
            self.note_neighbour(ifindex, addr);
        }
    }

    fn next_message(&mut self) -> Option<RoleMessage> {
        self.messages.pop_front()
    }

    /// Another role's content for one of its interfaces joins its RAs.
    fn receive(&mut self, message: &RoleMessage, metrics: &Metrics) {
        let RoleMessage::RaContribution {
            interface,
            contributor,
            content,
        } = message
        else {
            return;
        };
        if *contributor == Owner::Static {
            return;
        }
        let now = self.now();
        let Some(iface) = self
            .interfaces
            .iter_mut()
            .find(|i| !i.config.on_lan && i.config.interface.as_str() == interface)
        else {
            return;
        };
        let changed = match content {
            Some(c) => iface.contributions.set(*contributor, c.clone()),
            None => iface.contributions.remove(*contributor).is_some(),
        };
        if changed {
            let merged = iface.content(now);
            if let Some(a) = &mut iface.advertiser {
                a.set_content(now, merged);
            }
        }
        self.drain(metrics);
    }

    fn handle_timeout(&mut self, metrics: &Metrics) {
        StaticRaUnit::handle_timeout(self, metrics);
    }

    fn next_deadline(&self) -> Option<TokioInstant> {
        StaticRaUnit::next_deadline(self)
    }

    fn next_effect(&mut self) -> Option<Effect> {
        self.effects.pop_front()
    }

    /// `roles.ra`, and the top-level `ra` kept for the consumers that read
    /// it.
    fn status(&self, status: &mut Status) {
        let interfaces = StaticRaUnit::status(self);
        status.ra = interfaces.clone();
        status.roles.ra = Some(interfaces);
    }

    fn dropped_counts(&self) -> Vec<(&'static str, String, u64)> {
        StaticRaUnit::dropped_counts(self)
            .into_iter()
            .map(|(reason, n)| (Port::Icmp6.protocol(), reason, n))
            .collect()
    }

    fn reconfigure(&mut self, config: &Config, metrics: &Metrics) -> anyhow::Result<()> {
        StaticRaUnit::reconfigure(self, &config.static_ras, metrics);
        Ok(())
    }

    fn shutdown(&mut self, metrics: &Metrics) {
        StaticRaUnit::shutdown(self, metrics);
    }
}

/// Adds what `advertiser` dropped to `totals`.
fn retire(totals: &mut BTreeMap<String, u64>, advertiser: &Advertiser) {
    for (reason, n) in advertiser.status().dropped.iter() {
        *totals
            .entry(super::guard::reason_label(&reason))
            .or_insert(0) += n;
    }
}

/// The RA content of `config` as seen at `now`: every prefix with its
/// configured lifetimes counted from now (fixed lifetimes), the DNS lists,
/// and the default-router role (Router Lifetime as configured).
/// The content of an `[[ra]]` on a `[[lan]]`, for the LAN's advertiser:
/// prefixes and DNS options only; whether hosts get a default route is the
/// LAN's to say (RFC 7084 G-4).
fn contribution(config: &StaticRaConfig, now: Instant) -> RoleMessage {
    RoleMessage::RaContribution {
        interface: config.interface.to_string(),
        contributor: Owner::Static,
        content: Some(AdvertContent {
            default_router: false,
            ..content(config, now)
        }),
    }
}

fn withdrawal(config: &StaticRaConfig) -> RoleMessage {
    RoleMessage::RaContribution {
        interface: config.interface.to_string(),
        contributor: Owner::Static,
        content: None,
    }
}

fn content(config: &StaticRaConfig, now: Instant) -> AdvertContent {
    AdvertContent {
        prefixes: config
            .prefixes
            .iter()
            .map(|p| AdvPrefix {
                prefix: p.prefix,
                preferred_until: Some(now + p.preferred),
                valid_until: Some(now + p.valid),
                on_link: p.on_link,
                autonomous: p.autonomous,
            })
            .collect(),
        deprecated: Vec::new(),
        routes: Vec::new(),
        dns_servers: config.ra.dns_servers.clone().unwrap_or_default(),
        dns_domains: config.ra.dns_domains.clone().unwrap_or_default(),
        default_router: true,
        ..AdvertContent::default()
    }
}

/// The advertiser settings of `config`. The PIO limits of RFC 9096 L-16 are
/// for prefixes from a delegation; configured prefixes carry the
/// lifetimes given, so the limits are lifted to the 32-bit maximum.
fn advertiser_config(
    config: &StaticRaConfig,
    ifindex: IfIndex,
    mac: Option<[u8; 6]>,
) -> AdvertiserConfig {
    let mut c = super::cpe::ra_advertiser_config(&config.ra, ifindex, mac);
    // Configured lifetimes are sent as written: the RFC 9096 limits are
    // for delegated prefixes.
    let unlimited = Duration::from_secs(0xffff_fffe);
    c.pio_preferred_limit = unlimited;
    c.pio_valid_limit = unlimited;
    c.route_info = false;
    c
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use v6edge_sys::LinkInfo;

    use v6edge_wire::Lifetime;
    use v6edge_wire::nd::{NdMessage, RouterAdvert};

    use super::*;
    use crate::config::Config;

    const LAN0: IfIndex = 7;

    fn unit(text: &str) -> StaticRaUnit {
        let config = Config::parse(text, Path::new("ra.toml")).unwrap_or_else(|e| panic!("{e}"));
        StaticRaUnit::new(&config.static_ras, TokioInstant::now())
    }

    fn links(up: bool, link_local: Option<&str>) -> BTreeMap<String, LinkFacts> {
        let info = LinkInfo {
            index: LAN0,
            name: "lan0".into(),
            up,
            running: up,
            mac: Some([2, 0, 0, 0, 0, 1]),
            mtu: 1500,
        };
        BTreeMap::from([(
            "lan0".to_owned(),
            LinkFacts {
                info: Some(info),
                link_local: link_local.map(|a| a.parse().expect("test address")),
                ..LinkFacts::default()
            },
        )])
    }

    /// The RAs queued so far, decoded.
    fn sent(unit: &mut StaticRaUnit) -> Vec<RouterAdvert> {
        let mut out = Vec::new();
        while let Some(effect) = unit.next_effect() {
            let Effect::Icmp6(t) = effect else {
                panic!("not an ICMPv6 send: {effect:?}");
            };
            assert_eq!((t.ifindex, t.dst), (LAN0, v6edge_ra::ALL_NODES));
            match NdMessage::parse(&t.payload) {
                Ok(NdMessage::RouterAdvert(ra)) => out.push(ra),
                other => panic!("not an RA: {other:?}"),
            }
        }
        out
    }

    #[test]
    fn advertises_the_configured_prefix_and_ends_with_a_final_ra() {
        let metrics = Metrics::new();
        let mut u = unit(
            "[[ra]]\ninterface = \"lan0\"\nprefixes = [\"2001:db8:77::/64\"]\ndns-servers = [\"2001:db8::53\"]\n",
        );
        // Not before the link is up with a link-local address (RFC 4861 §6.1.2).
        u.sync(&links(true, None), &metrics);
        u.sync(&links(false, Some("fe80::1")), &metrics);
        assert!(sent(&mut u).is_empty() && u.ifindices().is_empty());

        u.sync(&links(true, Some("fe80::1")), &metrics);
        assert_eq!(u.ifindices(), BTreeSet::from([LAN0]));
        let ras = sent(&mut u);
        assert_eq!(ras.len(), 1, "the first RA goes out at once (§6.2.4)");
        let ra = &ras[0];
        assert_eq!(ra.router_lifetime, 1800);
        let pios: Vec<_> = ra.options.prefixes().collect();
        assert_eq!(pios.len(), 1);
        let pio = pios[0];
        assert_eq!(
            (pio.prefix, pio.prefix_len),
            ("2001:db8:77::".parse().unwrap(), 64)
        );
        assert!(pio.on_link && pio.autonomous);
        // Fixed lifetimes, beyond RFC 9096's limits for delegated prefixes.
        assert_eq!(
            (pio.valid, pio.preferred),
            (Lifetime::Finite(86400), Lifetime::Finite(14400))
        );
        let rdnss: Vec<_> = ra.options.rdnss().flat_map(|r| r.servers.clone()).collect();
        assert_eq!(rdnss, vec!["2001:db8::53".parse::<Ipv6Addr>().unwrap()]);
        assert!(u.next_deadline().is_some());
        assert_eq!(u.status()[0].sent, 1);

        // RFC 4861 §6.2.5: the final RA says Router Lifetime 0.
        u.shutdown(&metrics);
        let ras = sent(&mut u);
        assert_eq!(ras.len(), 1);
        assert_eq!(ras[0].router_lifetime, 0);
        assert_eq!(ras[0].options.prefixes().count(), 1);
    }

    #[test]
    fn a_link_that_goes_away_stops_silently_and_restarts() {
        let metrics = Metrics::new();
        let mut u = unit("[[ra]]\ninterface = \"lan0\"\nprefixes = [\"2001:db8:77::/64\"]\n");
        u.sync(&links(true, Some("fe80::1")), &metrics);
        assert_eq!(sent(&mut u).len(), 1);
        u.sync(&BTreeMap::new(), &metrics);
        assert!(sent(&mut u).is_empty() && u.next_deadline().is_none());
        assert!(!u.status()[0].advertising);
        u.sync(&links(true, Some("fe80::1")), &metrics);
        assert_eq!(sent(&mut u).len(), 1);
    }

    #[test]
    fn drops_are_counted_across_link_flaps() {
        let metrics = Metrics::new();
        let mut u = unit("[[ra]]\ninterface = \"lan0\"\nprefixes = [\"2001:db8:77::/64\"]\n");
        u.sync(&links(true, Some("fe80::1")), &metrics);
        sent(&mut u);
        // An RS with hop limit 64: invalid (RFC 4861 §6.1.1 requires 255).
        let rs = [133, 0, 0, 0, 0, 0, 0, 0];
        let rx = Received {
            ifindex: LAN0,
            src: "fe80::2".parse().unwrap(),
            dst: "ff02::2".parse().unwrap(),
            hop_limit: 64,
            bytes: &rs,
        };
        assert!(u.serves(LAN0) && !u.serves(LAN0 + 1));
        u.handle_packet(&rx, &metrics);
        assert!(sent(&mut u).is_empty(), "no answer to an invalid RS");
        let total = |u: &StaticRaUnit| u.dropped_counts().values().sum::<u64>();
        assert_eq!(total(&u), 1);
        u.sync(&BTreeMap::new(), &metrics);
        assert_eq!(total(&u), 1, "kept when the advertiser goes with its link");
        u.sync(&links(true, Some("fe80::1")), &metrics);
        u.handle_packet(&rx, &metrics);
        assert_eq!(total(&u), 2);
    }

    /// Issue 8 item 4: on a [[lan]], the prefixes and DNS servers go to the
    /// LAN's advertiser as a contribution (no advertiser of its own, no
    /// default-router claim), renewed before its lifetimes count down far,
    /// and withdrawn when the [[ra]] goes.
    #[tokio::test(start_paused = true)]
    async fn on_a_lan_it_contributes_to_the_lan_ras_instead_of_advertising() {
        let text = "[uplink]\ninterface = \"wan0\"\n[[lan]]\ninterface = \"lan0\"\n\
                    [[ra]]\ninterface = \"lan0\"\nprefixes = [\"2001:db8:77::/64\"]\n\
                    dns-servers = [\"2001:db8::53\"]\n";
        let config = Config::parse(text, Path::new("ra.toml")).unwrap_or_else(|e| panic!("{e}"));
        assert!(config.static_ras[0].on_lan);
        let mut unit = StaticRaUnit::new(&config.static_ras, TokioInstant::now());
        let metrics = Metrics::new();
        unit.sync(&links(true, Some("fe80::1")), &metrics);
        assert!(unit.ifindices().is_empty(), "no advertiser of its own");
        assert!(sent(&mut unit).is_empty());
        let told = |m: Option<RoleMessage>| match m {
            Some(RoleMessage::RaContribution {
                interface,
                contributor,
                content,
            }) => {
                assert_eq!(interface, "lan0");
                assert_eq!(contributor, v6edge_core::Owner::Static);
                content
            }
            other => panic!("expected a contribution, got {other:?}"),
        };
        let content = told(unit.next_message()).expect("content");
        assert_eq!(content.prefixes.len(), 1);
        assert_eq!(content.prefixes[0].prefix.to_string(), "2001:db8:77::/64");
        assert_eq!(
            content.dns_servers,
            vec!["2001:db8::53".parse::<Ipv6Addr>().unwrap()]
        );
        assert!(
            !content.default_router,
            "the LAN says whether it is a default router"
        );
        assert!(unit.next_message().is_none(), "told once per change");
        unit.sync(&links(true, Some("fe80::1")), &metrics);
        assert!(unit.next_message().is_none());

        // Renewed after CONTRIBUTION_REFRESH, with later expiry instants.
        let first_until = content.prefixes[0].valid_until;
        let deadline = unit.next_deadline().expect("a renewal is due");
        tokio::time::advance(CONTRIBUTION_REFRESH).await;
        assert!(deadline <= TokioInstant::now());
        unit.handle_timeout(&metrics);
        let renewed = told(unit.next_message()).expect("content");
        assert!(renewed.prefixes[0].valid_until > first_until);

        // The [[ra]] goes away: withdrawn.
        let without = Config::parse(
            "[uplink]\ninterface = \"wan0\"\n[[lan]]\ninterface = \"lan0\"\n\
             [[ra]]\ninterface = \"lan1\"\nprefixes = [\"2001:db8:78::/64\"]\n",
            Path::new("ra.toml"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        unit.reconfigure(&without.static_ras, &metrics);
        assert_eq!(told(unit.next_message()), None);
    }

    /// Issue 8 item 4 / RFC 6275 §7.1: a home agent's contribution (H flag)
    /// joins the [[ra]]'s RAs on the same link, and leaves with it.
    #[tokio::test(start_paused = true)]
    async fn another_roles_contribution_joins_the_ras() {
        let metrics = Metrics::new();
        let mut u = unit("[[ra]]\ninterface = \"lan0\"\nprefixes = [\"2001:db8:77::/64\"]\n");
        u.sync(&links(true, Some("fe80::1")), &metrics);
        assert!(!sent(&mut u)[0].flags.home_agent);
        let contribution = |content| RoleMessage::RaContribution {
            interface: "lan0".to_owned(),
            contributor: Owner::HomeAgent,
            content,
        };
        let ha = AdvertContent {
            home_agent: Some(v6edge_ra::AdvHomeAgent {
                preference: 0,
                lifetime: std::time::Duration::from_secs(1800),
                mobile_routers: false,
            }),
            ..AdvertContent::default()
        };
        u.receive(&contribution(Some(ha)), &metrics);
        tokio::time::advance(std::time::Duration::from_secs(4)).await;
        u.handle_timeout(&metrics);
        let ras = sent(&mut u);
        assert!(
            ras.last().is_some_and(|ra| ra.flags.home_agent),
            "H flag: {ras:?}"
        );
        assert_eq!(ras.last().map(|ra| ra.options.prefixes().count()), Some(1));
        // Another interface's contribution changes nothing here; a
        // withdrawal takes the flag away again.
        u.receive(
            &RoleMessage::RaContribution {
                interface: "lan9".to_owned(),
                contributor: Owner::HomeAgent,
                content: None,
            },
            &metrics,
        );
        u.receive(&contribution(None), &metrics);
        tokio::time::advance(std::time::Duration::from_secs(4)).await;
        u.handle_timeout(&metrics);
        assert!(sent(&mut u).last().is_some_and(|ra| !ra.flags.home_agent));
    }
}
