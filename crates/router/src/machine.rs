//! The requesting-router machine. See the crate documentation.

use std::collections::{BTreeMap, VecDeque};
use std::net::Ipv6Addr;
use std::time::Duration;

use tracing::{error, info};
use v6edge_core::{
    AddressSpec, IfIndex, Instant, KernelOp, Owner, RouteSpec, RouteTable, RouteType,
};
use v6edge_prefix::Prefix;
use v6edge_prefix::carve::{CarveShortfall, LinkRequest, carve};
use v6edge_ra::{AdvPrefix, AdvRoute, AdvertContent, DeprecatedPrefix};
use v6edge_wire::Lifetime;
use v6edge_wire::nd::RouterPreference;

/// RFC 7084 L-13 / RFC 4862 §5.5.3(e): an old prefix is advertised with a
/// valid lifetime of at most two hours, counting down.
const DEPRECATE_VALID_CAP: Duration = Duration::from_secs(2 * 3600);

/// Each LAN gets a /64 (RFC 7084 L-2).
const LINK_PREFIX_LEN: u8 = 64;

/// The most delegations acted on at once: each costs an unreachable route
/// and a Route Information Option in every RA. A server handing out more is
/// broken or hostile; the first ones are kept.
pub const MAX_DELEGATIONS: usize = 32;

/// Whether a delegated prefix lies in space a router can number links from:
/// global unicast 2000::/3 (RFC 4291 §2.4) or unique local fc00::/7 (RFC
/// 4193). A `::/0`, `::/1`, link-local or multicast "delegation" would
/// become an unreachable route over the default route, or `::1` on a LAN.
fn delegable(p: &Prefix) -> bool {
    let top = p.addr().segments()[0];
    (p.len() >= 3 && top & 0xe000 == 0x2000) || (p.len() >= 7 && top & 0xfe00 == 0xfc00)
}

/// One downstream link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LanSpec {
    pub name: String,
    /// `None` while the interface does not exist: the LAN keeps its prefix
    /// but nothing is configured or advertised on it.
    pub ifindex: Option<IfIndex>,
    /// Fixed subnet index inside the delegation (configuration).
    pub subnet_id: Option<u128>,
    /// Whether Router Advertisements are sent on this link.
    pub advertise: bool,
    /// DNS servers to advertise instead of the upstream ones.
    pub dns_servers: Option<Vec<Ipv6Addr>>,
    pub dns_domains: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouterConfig {
    pub lans: Vec<LanSpec>,
    /// Advertise each delegated aggregate as a Route Information Option
    /// (RFC 7084 L-3).
    pub route_info: bool,
    /// Interface identifier of the router's own address on each /64 (1 → ::1).
    pub host_id: u128,
}

/// A prefix delegated to us upstream, with absolute expiry (None = infinite).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delegation {
    pub prefix: Prefix,
    pub preferred_until: Option<Instant>,
    pub valid_until: Option<Instant>,
    /// RFC 6603: the part of the delegation used on the uplink; never a LAN.
    pub exclude: Option<Prefix>,
}

/// An address leased on the uplink (IA_NA).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UplinkAddress {
    pub addr: Ipv6Addr,
    pub preferred_until: Option<Instant>,
    pub valid_until: Option<Instant>,
}

/// Everything the uplink currently holds.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UplinkView {
    pub delegations: Vec<Delegation>,
    /// IA_NA addresses, configured on the uplink as /128 (RFC 8415 §18.2.10.1:
    /// the client uses them; the prefix length comes from RAs, RFC 5942).
    pub addresses: Vec<UplinkAddress>,
    pub dns_servers: Vec<Ipv6Addr>,
    pub dns_domains: Vec<String>,
}

/// A prefix we advertised on a LAN; persisted so stale ones can be
/// deprecated after a restart (RFC 9096 §3.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdvertisedRecord {
    pub lan: String,
    pub prefix: Prefix,
    pub valid_until: Option<Instant>,
}

/// State that must survive restarts. The daemon stores it (converting
/// instants to wall-clock time) and hands it back to [`Router::new`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Persisted {
    /// Subnet index each LAN had (RFC 9818 LPD-3: a link's prefix does not
    /// move without cause).
    pub subnet_ids: BTreeMap<String, u128>,
    pub advertised: Vec<AdvertisedRecord>,
}

/// What the daemon must carry out.
#[derive(Debug, Clone, PartialEq)]
pub enum RouterOutput {
    Kernel(KernelOp),
    /// New content for the Router Advertisement sender on `ifindex`.
    Advert {
        ifindex: IfIndex,
        content: AdvertContent,
    },
    Persist(Persisted),
}

/// What `status` shows for one LAN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LanStatus {
    pub name: String,
    pub ifindex: Option<IfIndex>,
    pub prefix: Option<Prefix>,
    pub address: Option<Ipv6Addr>,
    pub subnet_id: Option<u128>,
    /// Deprecated prefixes and their remaining valid lifetime.
    pub deprecated: Vec<(Prefix, Duration)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Current {
    prefix: Prefix,
    subnet_id: u128,
    preferred_until: Option<Instant>,
    valid_until: Option<Instant>,
}

#[derive(Debug)]
struct Lan {
    spec: LanSpec,
    current: Option<Current>,
    deprecated: Vec<(Prefix, Instant)>,
    last_content: Option<AdvertContent>,
}

/// The requesting router's policy machine.
#[derive(Debug)]
pub struct Router {
    config: RouterConfig,
    lans: Vec<Lan>,
    view: UplinkView,
    uplink_ifindex: Option<IfIndex>,
    /// Uplink addresses configured, with the lifetimes they were given.
    uplink_addrs: BTreeMap<Ipv6Addr, (Option<Instant>, Option<Instant>)>,
    default_router: bool,
    subnet_ids: BTreeMap<String, u128>,
    /// Prefixes advertised before a restart, resolved at the first uplink
    /// view: those not carved again are stale.
    pending_stale: Option<Vec<AdvertisedRecord>>,
    /// Unreachable routes installed, with the expiry they were given.
    routes: BTreeMap<Prefix, Option<Instant>>,
    last_shortfalls: Vec<CarveShortfall>,
    /// Delegations of the last uplink view left out (not delegable space,
    /// or beyond [`MAX_DELEGATIONS`]), to log each change once.
    ignored: Vec<Prefix>,
    last_persisted: Option<Persisted>,
    outputs: VecDeque<RouterOutput>,
}

fn remaining(until: Option<Instant>, now: Instant) -> Lifetime {
    match until {
        None => Lifetime::Infinite,
        Some(t) => Lifetime::from_secs((t - now).as_secs()),
    }
}

fn alive(until: Option<Instant>, now: Instant) -> bool {
    until.is_none_or(|t| t > now)
}

impl Router {
    pub fn new(config: RouterConfig, persisted: Persisted, now: Instant) -> Router {
        let lans = config
            .lans
            .iter()
            .map(|spec| Lan {
                spec: spec.clone(),
                current: None,
                deprecated: Vec::new(),
                last_content: None,
            })
            .collect();
        let stale: Vec<AdvertisedRecord> = persisted
            .advertised
            .into_iter()
            .filter(|r| alive(r.valid_until, now))
            .collect();
        Router {
            config,
            lans,
            view: UplinkView::default(),
            uplink_ifindex: None,
            uplink_addrs: BTreeMap::new(),
            default_router: false,
            subnet_ids: persisted.subnet_ids,
            pending_stale: Some(stale),
            routes: BTreeMap::new(),
            last_shortfalls: Vec::new(),
            ignored: Vec::new(),
            last_persisted: None,
            outputs: VecDeque::new(),
        }
    }

    /// The uplink's leases changed (new, renewed, lost, renumbered).
    /// Delegations no router can use are left out (see [`Router::ignored`]).
    pub fn handle_uplink(&mut self, now: Instant, view: UplinkView) {
        self.view = self.screen(view);
        self.recompute(now);
    }

    /// Keeps the delegations a router can act on: delegable space, each
    /// prefix once, at most [`MAX_DELEGATIONS`], preferred lifetime not
    /// beyond valid (RFC 8415 §21.22). Logs what was left out once per
    /// change, not at every renewal.
    fn screen(&mut self, mut view: UplinkView) -> UplinkView {
        let mut kept: Vec<Delegation> = Vec::new();
        let mut ignored = Vec::new();
        for mut d in view.delegations.drain(..) {
            if kept.iter().any(|k| k.prefix == d.prefix) {
                continue;
            }
            if !delegable(&d.prefix) || kept.len() >= MAX_DELEGATIONS {
                ignored.push(d.prefix);
                continue;
            }
            if let Some(v) = d.valid_until {
                d.preferred_until = Some(d.preferred_until.map_or(v, |p| p.min(v)));
            }
            kept.push(d);
        }
        if ignored != self.ignored {
            if !ignored.is_empty() {
                error!(count = ignored.len(), first = %ignored[0], "delegated prefixes ignored: not global unicast or unique local space, or too many");
            }
            self.ignored = ignored;
        }
        view.delegations = kept;
        view
    }

    /// The delegations of the last uplink view that were left out.
    pub fn ignored(&self) -> &[Prefix] {
        &self.ignored
    }

    /// Why LANs got no /64 at the last carving (e.g. a delegation longer
    /// than /64, RFC 7084 WPD-3).
    pub fn shortfalls(&self) -> &[CarveShortfall] {
        &self.last_shortfalls
    }

    /// Whether the uplink has a default router (RFC 7084 G-4/G-5).
    pub fn set_default_router(&mut self, now: Instant, present: bool) {
        if self.default_router != present {
            info!(present, "upstream default router changed");
            self.default_router = present;
            self.recompute(now);
        }
    }

    /// Emit every advert again (e.g. after an advertiser was restarted).
    pub fn refresh_adverts(&mut self, now: Instant) {
        for lan in &mut self.lans {
            lan.last_content = None;
        }
        self.recompute(now);
    }

    /// The uplink interface appeared, was recreated or disappeared: its
    /// IA_NA addresses are configured there.
    pub fn set_uplink_ifindex(&mut self, now: Instant, ifindex: Option<IfIndex>) {
        if self.uplink_ifindex != ifindex {
            self.uplink_ifindex = ifindex;
            // Re-add everything on the new interface.
            self.uplink_addrs.clear();
            self.recompute(now);
        }
    }

    /// A LAN interface appeared, was recreated or disappeared. When it
    /// (re)appears, its router address is configured again and its advert
    /// content re-emitted, so RAs resume at once.
    pub fn set_lan_ifindex(&mut self, now: Instant, name: &str, ifindex: Option<IfIndex>) {
        let host_id = self.config.host_id;
        let Some(lan) = self.lans.iter_mut().find(|l| l.spec.name == name) else {
            return;
        };
        if lan.spec.ifindex == ifindex {
            return;
        }
        lan.spec.ifindex = ifindex;
        lan.last_content = None;
        if let Some(op) = lan
            .current
            .as_ref()
            .and_then(|c| router_address(&lan.spec, c, host_id, now))
        {
            self.outputs.push_back(RouterOutput::Kernel(op));
        }
        self.recompute(now);
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        if self.poll_timeout().is_some_and(|t| t <= now) {
            self.recompute(now);
        }
    }

    /// When a lifetime runs out and the machine must act.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let deleg = self.view.delegations.iter().filter_map(|d| d.valid_until);
        let deleg = deleg.chain(self.view.addresses.iter().filter_map(|a| a.valid_until));
        let depr = self
            .lans
            .iter()
            .flat_map(|l| l.deprecated.iter().map(|(_, t)| *t));
        let stale = self
            .pending_stale
            .iter()
            .flatten()
            .filter_map(|r| r.valid_until);
        deleg.chain(depr).chain(stale).min()
    }

    pub fn poll_output(&mut self) -> Option<RouterOutput> {
        self.outputs.pop_front()
    }

    pub fn status(&self, now: Instant) -> Vec<LanStatus> {
        self.lans
            .iter()
            .map(|l| LanStatus {
                name: l.spec.name.clone(),
                ifindex: l.spec.ifindex,
                prefix: l.current.as_ref().map(|c| c.prefix),
                address: l
                    .current
                    .as_ref()
                    .and_then(|c| c.prefix.host(self.config.host_id)),
                subnet_id: l.current.as_ref().map(|c| c.subnet_id),
                deprecated: l.deprecated.iter().map(|(p, t)| (*p, *t - now)).collect(),
            })
            .collect()
    }

    /// The delegations currently in force.
    pub fn delegations(&self) -> &[Delegation] {
        &self.view.delegations
    }

    fn recompute(&mut self, now: Instant) {
        self.view.delegations.retain(|d| alive(d.valid_until, now));
        self.view.addresses.retain(|a| alive(a.valid_until, now));
        self.sync_uplink_addresses(now);
        self.carve_lans(now);
        if !self.view.delegations.is_empty() {
            self.resolve_stale(now);
        } else if let Some(stale) = &mut self.pending_stale {
            stale.retain(|r| alive(r.valid_until, now));
        }
        self.expire_deprecated(now);
        self.sync_routes(now);
        self.sync_adverts(now);
        self.sync_persisted();
    }

    fn sync_uplink_addresses(&mut self, now: Instant) {
        let Some(ifindex) = self.uplink_ifindex else {
            return;
        };
        let wanted: BTreeMap<Ipv6Addr, (Option<Instant>, Option<Instant>)> = self
            .view
            .addresses
            .iter()
            .map(|a| (a.addr, (a.preferred_until, a.valid_until)))
            .collect();
        let gone: Vec<Ipv6Addr> = self
            .uplink_addrs
            .keys()
            .filter(|a| !wanted.contains_key(a))
            .copied()
            .collect();
        for addr in gone {
            self.uplink_addrs.remove(&addr);
            info!(%addr, "uplink address withdrawn");
            self.outputs
                .push_back(RouterOutput::Kernel(KernelOp::DelAddress {
                    ifindex,
                    addr,
                    prefix_len: 128,
                }));
        }
        for (addr, (pref, valid)) in wanted {
            if self.uplink_addrs.get(&addr) != Some(&(pref, valid)) {
                self.uplink_addrs.insert(addr, (pref, valid));
                self.outputs
                    .push_back(RouterOutput::Kernel(KernelOp::SetAddress(AddressSpec {
                        owner: Owner::RequestingRouter,
                        ifindex,
                        addr,
                        prefix_len: 128,
                        preferred: remaining(pref, now),
                        valid: remaining(valid, now),
                        no_prefix_route: true,
                    })));
            }
        }
    }

    fn carve_lans(&mut self, now: Instant) {
        // The first delegation a /64 can be carved from: one longer than
        // /64 (RFC 7084 WPD-3: accepted, but it numbers no LAN) must not
        // hide a usable one behind it.
        let primary = self
            .view
            .delegations
            .iter()
            .find(|d| d.prefix.len() <= LINK_PREFIX_LEN)
            .or(self.view.delegations.first())
            .cloned();
        let carving = primary.as_ref().map(|d| {
            let links: Vec<LinkRequest> = self
                .lans
                .iter()
                .map(|l| LinkRequest {
                    name: l.spec.name.clone(),
                    subnet_id: l.spec.subnet_id,
                    sticky: self.subnet_ids.get(&l.spec.name).copied(),
                })
                .collect();
            // RFC 6603 §4.2: the excluded prefix must not be given to a LAN.
            let reserved: Vec<u128> = d
                .exclude
                .iter()
                .filter(|x| x.len() == LINK_PREFIX_LEN)
                .filter_map(|x| d.prefix.subnet_index(x))
                .collect();
            carve(d.prefix, LINK_PREFIX_LEN, &links, &reserved)
        });
        if let (Some(c), Some(d)) = (&carving, &primary)
            && c.shortfalls != self.last_shortfalls
        {
            for s in &c.shortfalls {
                // RFC 7084 WPD-3: a too-small delegation is accepted; say so.
                error!(delegated = %d.prefix, shortfall = ?s, "delegated prefix does not cover every LAN");
            }
            self.last_shortfalls = c.shortfalls.clone();
        }

        let host_id = self.config.host_id;
        for lan in &mut self.lans {
            let new = match (&carving, &primary) {
                (Some(c), Some(d)) => {
                    c.assigned
                        .iter()
                        .find(|(n, _, _)| *n == lan.spec.name)
                        .map(|(_, id, p)| Current {
                            prefix: *p,
                            subnet_id: *id,
                            preferred_until: d.preferred_until,
                            valid_until: d.valid_until,
                        })
                }
                _ => None,
            };
            if lan.current == new {
                continue;
            }
            let old = lan.current.take();
            if let Some(old) = &old
                && new.as_ref().is_none_or(|n| n.prefix != old.prefix)
            {
                // RFC 9096 §3.3 / RFC 7084 L-13: deprecate at once, keep valid
                // for min(remaining, 2 h).
                let cap = now + DEPRECATE_VALID_CAP;
                let until = old.valid_until.map_or(cap, |t| t.min(cap));
                info!(lan = %lan.spec.name, prefix = %old.prefix, "LAN prefix withdrawn; deprecating");
                if let (Some(addr), Some(ifindex)) = (old.prefix.host(host_id), lan.spec.ifindex) {
                    if until > now {
                        lan.deprecated.retain(|(p, _)| *p != old.prefix);
                        lan.deprecated.push((old.prefix, until));
                        self.outputs
                            .push_back(RouterOutput::Kernel(KernelOp::SetAddress(AddressSpec {
                                owner: Owner::RequestingRouter,
                                ifindex,
                                addr,
                                prefix_len: LINK_PREFIX_LEN,
                                preferred: Lifetime::ZERO,
                                valid: remaining(Some(until), now),
                                no_prefix_route: false,
                            })));
                    } else {
                        self.outputs
                            .push_back(RouterOutput::Kernel(KernelOp::DelAddress {
                                ifindex,
                                addr,
                                prefix_len: LINK_PREFIX_LEN,
                            }));
                    }
                }
            }
            if let Some(n) = &new {
                if old.as_ref().is_none_or(|o| o.prefix != n.prefix) {
                    info!(lan = %lan.spec.name, prefix = %n.prefix, subnet_id = n.subnet_id, "LAN prefix assigned");
                }
                // A prefix that comes back is no longer deprecated.
                lan.deprecated.retain(|(p, _)| *p != n.prefix);
                self.subnet_ids.insert(lan.spec.name.clone(), n.subnet_id);
                if let Some(op) = router_address(&lan.spec, n, host_id, now) {
                    self.outputs.push_back(RouterOutput::Kernel(op));
                }
            }
            lan.current = new;
        }
    }

    /// After a restart: prefixes advertised before that were not carved
    /// again are stale (RFC 9096 §3.5). Our own address on them is removed
    /// and hosts are told to stop preferring them.
    fn resolve_stale(&mut self, now: Instant) {
        let Some(stale) = self.pending_stale.take() else {
            return;
        };
        let host_id = self.config.host_id;
        for rec in stale {
            let Some(lan) = self.lans.iter_mut().find(|l| l.spec.name == rec.lan) else {
                continue;
            };
            if lan.current.as_ref().is_some_and(|c| c.prefix == rec.prefix) {
                continue;
            }
            let cap = now + DEPRECATE_VALID_CAP;
            let until = rec.valid_until.map_or(cap, |t| t.min(cap));
            if until <= now || lan.deprecated.iter().any(|(p, _)| *p == rec.prefix) {
                continue;
            }
            info!(lan = %rec.lan, prefix = %rec.prefix, "prefix advertised before restart is stale; deprecating");
            lan.deprecated.push((rec.prefix, until));
            if let (Some(addr), Some(ifindex)) = (rec.prefix.host(host_id), lan.spec.ifindex) {
                self.outputs
                    .push_back(RouterOutput::Kernel(KernelOp::DelAddress {
                        ifindex,
                        addr,
                        prefix_len: LINK_PREFIX_LEN,
                    }));
            }
        }
    }

    fn expire_deprecated(&mut self, now: Instant) {
        for lan in &mut self.lans {
            lan.deprecated.retain(|(p, until)| {
                let keep = *until > now;
                if !keep {
                    info!(lan = %lan.spec.name, prefix = %p, "deprecated prefix expired");
                }
                keep
            });
        }
    }

    /// RFC 7084 WPD-5: an unreachable route for every delegated aggregate,
    /// so traffic to unassigned parts of it is dropped, not looped upstream.
    /// The LAN /64s are more specific and win.
    fn sync_routes(&mut self, now: Instant) {
        let desired: BTreeMap<Prefix, Option<Instant>> = self
            .view
            .delegations
            .iter()
            .map(|d| (d.prefix, d.valid_until))
            .collect();
        let gone: Vec<Prefix> = self
            .routes
            .keys()
            .filter(|p| !desired.contains_key(p))
            .copied()
            .collect();
        for p in gone {
            self.routes.remove(&p);
            self.outputs
                .push_back(RouterOutput::Kernel(KernelOp::DelRoute(unreachable(
                    p, None,
                ))));
        }
        for (p, until) in desired {
            if self.routes.get(&p) != Some(&until) {
                self.routes.insert(p, until);
                let expires = until.map(|t| t - now);
                self.outputs
                    .push_back(RouterOutput::Kernel(KernelOp::SetRoute(unreachable(
                        p, expires,
                    ))));
            }
        }
    }

    fn sync_adverts(&mut self, _now: Instant) {
        let routes: Vec<AdvRoute> = if self.config.route_info {
            self.view
                .delegations
                .iter()
                .map(|d| AdvRoute {
                    prefix: d.prefix,
                    valid_until: d.valid_until,
                    preference: RouterPreference::Medium,
                })
                .collect()
        } else {
            Vec::new()
        };
        for lan in &mut self.lans {
            let Some(ifindex) = lan.spec.ifindex.filter(|_| lan.spec.advertise) else {
                continue;
            };
            let content = AdvertContent {
                prefixes: lan
                    .current
                    .iter()
                    .map(|c| AdvPrefix {
                        prefix: c.prefix,
                        preferred_until: c.preferred_until,
                        valid_until: c.valid_until,
                        on_link: true,
                        autonomous: true,
                    })
                    .collect(),
                deprecated: lan
                    .deprecated
                    .iter()
                    .map(|(p, t)| DeprecatedPrefix {
                        prefix: *p,
                        valid_until: *t,
                    })
                    .collect(),
                routes: routes.clone(),
                dns_servers: lan
                    .spec
                    .dns_servers
                    .clone()
                    .unwrap_or_else(|| self.view.dns_servers.clone()),
                dns_domains: lan
                    .spec
                    .dns_domains
                    .clone()
                    .unwrap_or_else(|| self.view.dns_domains.clone()),
                default_router: self.default_router,
                ..AdvertContent::default()
            };
            if lan.last_content.as_ref() != Some(&content) {
                lan.last_content = Some(content.clone());
                self.outputs
                    .push_back(RouterOutput::Advert { ifindex, content });
            }
        }
    }

    fn sync_persisted(&mut self) {
        let mut advertised = Vec::new();
        for lan in &self.lans {
            if let Some(c) = &lan.current {
                advertised.push(AdvertisedRecord {
                    lan: lan.spec.name.clone(),
                    prefix: c.prefix,
                    valid_until: c.valid_until,
                });
            }
            for (p, t) in &lan.deprecated {
                advertised.push(AdvertisedRecord {
                    lan: lan.spec.name.clone(),
                    prefix: *p,
                    valid_until: Some(*t),
                });
            }
        }
        // Not yet resolved stale records must survive another crash too.
        for rec in self.pending_stale.iter().flatten() {
            if !advertised
                .iter()
                .any(|a| a.lan == rec.lan && a.prefix == rec.prefix)
            {
                advertised.push(rec.clone());
            }
        }
        let p = Persisted {
            subnet_ids: self.subnet_ids.clone(),
            advertised,
        };
        if self.last_persisted.as_ref() != Some(&p) {
            self.last_persisted = Some(p.clone());
            self.outputs.push_back(RouterOutput::Persist(p));
        }
    }
}

/// The router's own address on a LAN's live /64, lifetimes following the
/// delegation (RFC 9096 L-15).
fn router_address(spec: &LanSpec, c: &Current, host_id: u128, now: Instant) -> Option<KernelOp> {
    Some(KernelOp::SetAddress(AddressSpec {
        owner: Owner::RequestingRouter,
        ifindex: spec.ifindex?,
        addr: c.prefix.host(host_id)?,
        prefix_len: LINK_PREFIX_LEN,
        preferred: remaining(c.preferred_until, now),
        valid: remaining(c.valid_until, now),
        no_prefix_route: false,
    }))
}

fn unreachable(dst: Prefix, expires: Option<Duration>) -> RouteSpec {
    RouteSpec {
        owner: Owner::RequestingRouter,
        table: RouteTable::MAIN,
        dst,
        kind: RouteType::Unreachable,
        gateway: None,
        ifindex: None,
        metric: 1024,
        expires,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Prefix {
        s.parse().unwrap()
    }
    fn t(s: u64) -> Instant {
        Instant::from_secs(s)
    }
    fn lan(name: &str, ifindex: u32) -> LanSpec {
        LanSpec {
            name: name.into(),
            ifindex: Some(ifindex),
            subnet_id: None,
            advertise: true,
            dns_servers: None,
            dns_domains: None,
        }
    }
    fn config(lans: Vec<LanSpec>) -> RouterConfig {
        RouterConfig {
            lans,
            route_info: true,
            host_id: 1,
        }
    }
    fn deleg(prefix: &str, pref: u64, valid: u64) -> Delegation {
        Delegation {
            prefix: p(prefix),
            preferred_until: Some(t(pref)),
            valid_until: Some(t(valid)),
            exclude: None,
        }
    }
    fn view(d: Vec<Delegation>) -> UplinkView {
        UplinkView {
            delegations: d,
            addresses: vec![],
            dns_servers: vec!["2001:db8::53".parse().unwrap()],
            dns_domains: vec!["isp.example".into()],
        }
    }
    fn drain(r: &mut Router) -> Vec<RouterOutput> {
        std::iter::from_fn(|| r.poll_output()).collect()
    }
    fn adverts(out: &[RouterOutput]) -> Vec<(IfIndex, AdvertContent)> {
        out.iter()
            .filter_map(|o| match o {
                RouterOutput::Advert { ifindex, content } => Some((*ifindex, content.clone())),
                _ => None,
            })
            .collect()
    }
    fn kernel(out: &[RouterOutput]) -> Vec<KernelOp> {
        out.iter()
            .filter_map(|o| match o {
                RouterOutput::Kernel(k) => Some(k.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn l2_wpd5_each_lan_gets_a_64_and_the_aggregate_is_unreachable() {
        let mut r = Router::new(
            config(vec![lan("lan0", 3), lan("lan1", 4)]),
            Persisted::default(),
            t(0),
        );
        r.set_default_router(t(0), true);
        drain(&mut r);
        r.handle_uplink(t(10), view(vec![deleg("2001:db8:1200::/56", 3610, 7210)]));
        let out = drain(&mut r);
        let k = kernel(&out);
        assert!(k.contains(&KernelOp::SetAddress(AddressSpec {
            owner: Owner::RequestingRouter,
            ifindex: 3,
            addr: "2001:db8:1200::1".parse().unwrap(),
            prefix_len: 64,
            preferred: Lifetime::Finite(3600),
            valid: Lifetime::Finite(7200),
            no_prefix_route: false,
        })));
        assert!(k.iter().any(|op| matches!(op, KernelOp::SetAddress(a) if a.ifindex == 4 && a.addr == "2001:db8:1200:1::1".parse::<Ipv6Addr>().unwrap())));
        assert!(k.contains(&KernelOp::SetRoute(unreachable(
            p("2001:db8:1200::/56"),
            Some(Duration::from_secs(7200))
        ))));
        let ads = adverts(&out);
        assert_eq!(ads.len(), 2);
        let (_, c) = &ads[0];
        assert_eq!(c.prefixes[0].prefix, p("2001:db8:1200::/64"));
        assert!(c.default_router);
        assert_eq!(c.routes[0].prefix, p("2001:db8:1200::/56"));
        assert_eq!(c.dns_domains, vec!["isp.example".to_string()]);
        // The persisted state records the subnet ids and advertised prefixes.
        let persisted = out.iter().find_map(|o| match o {
            RouterOutput::Persist(p) => Some(p.clone()),
            _ => None,
        });
        let persisted = persisted.expect("persist output");
        assert_eq!(persisted.subnet_ids.get("lan0"), Some(&0));
        assert_eq!(persisted.subnet_ids.get("lan1"), Some(&1));
        assert_eq!(persisted.advertised.len(), 2);
    }

    #[test]
    fn renewal_refreshes_lifetimes_without_new_prefix() {
        let mut r = Router::new(config(vec![lan("lan0", 3)]), Persisted::default(), t(0));
        r.handle_uplink(t(0), view(vec![deleg("2001:db8:1200::/56", 20, 30)]));
        drain(&mut r);
        r.handle_uplink(t(15), view(vec![deleg("2001:db8:1200::/56", 35, 45)]));
        let out = drain(&mut r);
        let k = kernel(&out);
        assert!(k.iter().any(|op| matches!(op, KernelOp::SetAddress(a) if a.valid == Lifetime::Finite(30) && a.preferred == Lifetime::Finite(20))));
        let ads = adverts(&out);
        assert_eq!(ads.len(), 1);
        assert!(ads[0].1.deprecated.is_empty());
        // Same view again: nothing to do.
        r.handle_uplink(t(16), view(vec![deleg("2001:db8:1200::/56", 35, 45)]));
        assert!(drain(&mut r).is_empty());
    }

    #[test]
    fn l13_renumbering_deprecates_the_old_prefix_at_once() {
        let mut r = Router::new(config(vec![lan("lan0", 3)]), Persisted::default(), t(0));
        r.handle_uplink(
            t(0),
            view(vec![deleg("2001:db8:1200::/56", 10_000, 20_000)]),
        );
        drain(&mut r);
        r.handle_uplink(t(100), view(vec![deleg("2001:db8:1300::/56", 3700, 7300)]));
        let out = drain(&mut r);
        let ads = adverts(&out);
        let c = &ads[0].1;
        assert_eq!(c.prefixes[0].prefix, p("2001:db8:1300::/64"));
        // min(remaining 19 900 s, 2 h) from now.
        assert_eq!(
            c.deprecated,
            vec![DeprecatedPrefix {
                prefix: p("2001:db8:1200::/64"),
                valid_until: t(100 + 7200)
            }]
        );
        let k = kernel(&out);
        assert!(k.iter().any(|op| matches!(op, KernelOp::SetAddress(a)
            if a.addr == "2001:db8:1200::1".parse::<Ipv6Addr>().unwrap() && a.preferred == Lifetime::ZERO && a.valid == Lifetime::Finite(7200))));
        assert!(k.contains(&KernelOp::DelRoute(unreachable(
            p("2001:db8:1200::/56"),
            None
        ))));
        // The subnet id sticks across the renumbering (LPD-3).
        assert_eq!(r.status(t(100))[0].subnet_id, Some(0));
        // After 2 h the deprecated prefix is gone from the adverts.
        assert_eq!(r.poll_timeout(), Some(t(7300)));
        r.handle_uplink(
            t(3000),
            view(vec![deleg("2001:db8:1300::/56", 6700, 10300)]),
        );
        drain(&mut r);
        r.handle_timeout(t(7300));
        let ads = adverts(&drain(&mut r));
        assert!(ads[0].1.deprecated.is_empty());
    }

    #[test]
    fn lifetime_zero_or_expiry_withdraws_everything() {
        let mut r = Router::new(config(vec![lan("lan0", 3)]), Persisted::default(), t(0));
        r.set_default_router(t(0), true);
        r.handle_uplink(t(0), view(vec![deleg("2001:db8:1200::/56", 20, 30)]));
        drain(&mut r);
        assert_eq!(r.poll_timeout(), Some(t(30)));
        r.handle_timeout(t(30));
        let out = drain(&mut r);
        let k = kernel(&out);
        assert!(
            k.iter()
                .any(|op| matches!(op, KernelOp::DelAddress { ifindex: 3, .. }))
        );
        assert!(k.iter().any(|op| matches!(op, KernelOp::DelRoute(_))));
        let c = &adverts(&out)[0].1;
        assert!(c.prefixes.is_empty() && c.deprecated.is_empty() && c.routes.is_empty());
    }

    #[test]
    fn lpd3_sticky_subnet_and_configured_subnet() {
        let mut persisted = Persisted::default();
        persisted.subnet_ids.insert("lan0".into(), 5);
        let mut lan1 = lan("lan1", 4);
        lan1.subnet_id = Some(0x10);
        let mut r = Router::new(config(vec![lan("lan0", 3), lan1]), persisted, t(0));
        r.handle_uplink(t(0), view(vec![deleg("2001:db8:1200::/56", 100, 200)]));
        let st = r.status(t(0));
        assert_eq!(st[0].prefix, Some(p("2001:db8:1200:5::/64")));
        assert_eq!(st[1].prefix, Some(p("2001:db8:1200:10::/64")));
        assert_eq!(st[1].address, Some("2001:db8:1200:10::1".parse().unwrap()));
    }

    #[test]
    fn rfc9096_stale_prefix_after_restart_is_deprecated() {
        let persisted = Persisted {
            subnet_ids: [("lan0".to_string(), 0)].into(),
            advertised: vec![AdvertisedRecord {
                lan: "lan0".into(),
                prefix: p("2001:db8:1200::/64"),
                valid_until: Some(t(5000)),
            }],
        };
        let mut r = Router::new(config(vec![lan("lan0", 3)]), persisted, t(0));
        r.handle_uplink(t(1), view(vec![deleg("2001:db8:1300::/56", 100, 200)]));
        let out = drain(&mut r);
        let c = &adverts(&out)[0].1;
        assert_eq!(c.prefixes[0].prefix, p("2001:db8:1300::/64"));
        assert_eq!(
            c.deprecated,
            vec![DeprecatedPrefix {
                prefix: p("2001:db8:1200::/64"),
                valid_until: t(5000)
            }]
        );
        assert!(kernel(&out).contains(&KernelOp::DelAddress {
            ifindex: 3,
            addr: "2001:db8:1200::1".parse().unwrap(),
            prefix_len: 64
        }));

        // Same prefix back after a restart: nothing stale.
        let persisted = Persisted {
            subnet_ids: [("lan0".to_string(), 0)].into(),
            advertised: vec![AdvertisedRecord {
                lan: "lan0".into(),
                prefix: p("2001:db8:1300::/64"),
                valid_until: Some(t(200)),
            }],
        };
        let mut r = Router::new(config(vec![lan("lan0", 3)]), persisted, t(0));
        r.handle_uplink(t(1), view(vec![deleg("2001:db8:1300::/56", 100, 200)]));
        let c = &adverts(&drain(&mut r))[0].1;
        assert!(c.deprecated.is_empty());
    }

    #[test]
    fn lan_appearing_later_gets_its_address_and_advert() {
        let mut spec = lan("lan0", 3);
        spec.ifindex = None;
        let mut r = Router::new(config(vec![spec]), Persisted::default(), t(0));
        r.handle_uplink(t(0), view(vec![deleg("2001:db8:1200::/56", 100, 200)]));
        let out = drain(&mut r);
        assert!(
            kernel(&out)
                .iter()
                .all(|op| !matches!(op, KernelOp::SetAddress(_)))
        );
        assert!(adverts(&out).is_empty());
        r.set_lan_ifindex(t(10), "lan0", Some(7));
        let out = drain(&mut r);
        assert!(kernel(&out).iter().any(|op| matches!(op, KernelOp::SetAddress(a) if a.ifindex == 7 && a.valid == Lifetime::Finite(190))));
        assert_eq!(adverts(&out)[0].0, 7);
    }

    #[test]
    fn ia_na_address_goes_on_the_uplink_as_128() {
        let mut r = Router::new(config(vec![lan("lan0", 3)]), Persisted::default(), t(0));
        r.set_uplink_ifindex(t(0), Some(2));
        let mut v = view(vec![deleg("2001:db8:1200::/56", 100, 200)]);
        let a: Ipv6Addr = "2001:db8:0:1::100".parse().unwrap();
        v.addresses.push(UplinkAddress {
            addr: a,
            preferred_until: Some(t(50)),
            valid_until: Some(t(80)),
        });
        r.handle_uplink(t(0), v);
        let k = kernel(&drain(&mut r));
        assert!(k.contains(&KernelOp::SetAddress(AddressSpec {
            owner: Owner::RequestingRouter,
            ifindex: 2,
            addr: a,
            prefix_len: 128,
            preferred: Lifetime::Finite(50),
            valid: Lifetime::Finite(80),
            no_prefix_route: true,
        })));
        // Expiry removes it; the delegation stays.
        r.handle_timeout(t(80));
        let k = kernel(&drain(&mut r));
        assert!(k.contains(&KernelOp::DelAddress {
            ifindex: 2,
            addr: a,
            prefix_len: 128
        }));
        assert_eq!(r.status(t(80))[0].prefix, Some(p("2001:db8:1200::/64")));
    }

    #[test]
    fn g4_no_default_router_no_prefix() {
        let mut r = Router::new(config(vec![lan("lan0", 3)]), Persisted::default(), t(0));
        r.handle_uplink(t(0), view(vec![deleg("2001:db8:1200::/56", 100, 200)]));
        let c = &adverts(&drain(&mut r))[0].1;
        assert!(!c.default_router);
        r.set_default_router(t(1), true);
        let c = &adverts(&drain(&mut r))[0].1;
        assert!(c.default_router);
    }

    #[test]
    fn wpd3_small_delegation_serves_what_fits_and_exclude_is_skipped() {
        let mut r = Router::new(
            config(vec![lan("lan0", 3), lan("lan1", 4)]),
            Persisted::default(),
            t(0),
        );
        r.handle_uplink(t(0), view(vec![deleg("2001:db8:1200::/64", 100, 200)]));
        let st = r.status(t(0));
        assert_eq!(st[0].prefix, Some(p("2001:db8:1200::/64")));
        assert_eq!(st[1].prefix, None);

        let mut r = Router::new(config(vec![lan("lan0", 3)]), Persisted::default(), t(0));
        let mut d = deleg("2001:db8:1200::/56", 100, 200);
        d.exclude = Some(p("2001:db8:1200::/64"));
        r.handle_uplink(t(0), view(vec![d]));
        assert_eq!(r.status(t(0))[0].prefix, Some(p("2001:db8:1200:1::/64")));
    }
}
