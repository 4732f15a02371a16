//! What an RA says, and how it is cut into packets.
//!
//! Implements the content rules of RFC 4861 §6.2.3 (fields and options of
//! an RA), RFC 4191 §2.2–§2.3 (preference, Route Information), RFC 8106
//! §5.1–§5.2 (RDNSS, DNSSL), RFC 9096 §4 L-16 (PIO lifetimes capped by
//! ND_PREFERRED_LIMIT / ND_VALID_LIMIT and by what remains of the
//! delegation, L-15), L-13 (deprecated prefixes with a valid lifetime
//! counting down), RFC 7084 G-4 / L-4 / ULA-5 (when Router Lifetime is 0),
//! RFC 6275 §7.1–§7.4 (a home agent's H flag and Home Agent Information
//! option, the R-flag PIO carrying the router's address, the Advertisement
//! Interval option).
//!
//! Lifetimes are computed from the absolute instants at the moment an RA is
//! built and rounded down to whole seconds, so an advertised lifetime never
//! outlives the delegation it comes from.
//!
//! Panic contract: nothing here panics, whatever the content.

use std::net::Ipv6Addr;
use std::time::Duration;

use v6edge_core::Instant;
use v6edge_prefix::Prefix;
use v6edge_wire::Lifetime;
use v6edge_wire::nd::{
    Dnssl, HomeAgentInfo, NdMessage, NdOption, PrefixInfo, Rdnss, RouteInfo, RouterAdvert,
    RouterPreference,
};

use crate::config::AdvertiserConfig;

/// What we advertise on the link, set by the router policy whenever it
/// changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AdvertContent {
    /// Live prefixes on this link (normally /64s).
    pub prefixes: Vec<AdvPrefix>,
    /// RFC 9096 L-13: old prefixes, advertised with preferred lifetime 0 and
    /// a valid lifetime counting down to `valid_until`.
    pub deprecated: Vec<DeprecatedPrefix>,
    /// Route Information options (RFC 4191), e.g. the delegated aggregate
    /// (RFC 7084 L-3).
    pub routes: Vec<AdvRoute>,
    /// RDNSS (RFC 8106 §5.1).
    pub dns_servers: Vec<Ipv6Addr>,
    /// DNSSL (RFC 8106 §5.2), dotted names.
    pub dns_domains: Vec<String>,
    /// False → Router Lifetime 0 (RFC 7084 G-4: no upstream default route).
    pub default_router: bool,
    /// We are a Mobile IPv6 home agent on this link: the H flag (RFC 6275
    /// §7.1) and, when needed, the Home Agent Information option (§7.4;
    /// see [`AdvHomeAgent`]).
    pub home_agent: Option<AdvHomeAgent>,
    /// Send the Advertisement Interval option (RFC 6275 §7.3). Its value is
    /// the configured MaxRtrAdvInterval, as §7.3 requires, so it is a switch
    /// here rather than a number that could disagree with the schedule.
    pub advertisement_interval: bool,
    /// One of our global addresses, sent whole with the R flag in the PIO
    /// of the first live prefix that contains it (RFC 6275 §7.2: a home
    /// agent SHOULD, so that mobile nodes learn its address; mobile nodes
    /// also use it to tell links apart). Ignored while no live prefix
    /// contains it; dropped at `set_content` unless global unicast.
    pub router_address: Option<Ipv6Addr>,
}

/// What a home agent says about itself (RFC 6275 §7.4).
///
/// The Home Agent Information option goes into every RA but the final one,
/// unless both values are their defaults (preference 0, lifetime equal to
/// the RA's Router Lifetime) and `mobile_routers` is off: §7.4 says the
/// option SHOULD NOT be sent then. So a home agent that is not a default
/// router (Router Lifetime 0) always sends it, since 0 is the one Home Agent
/// Lifetime §7.4 forbids. The final RA (RFC 4861 §6.2.5) keeps the H flag
/// and leaves the option out: receivers then take the Router Lifetime, 0,
/// as the home agent's lifetime (§7.4's default) and drop it from their
/// home agents lists (mobility.md HA-16: lifetime 0 removes) without us
/// ever sending the forbidden 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AdvHomeAgent {
    /// Home Agent Preference: higher is more preferable (§7.4; default 0).
    pub preference: i16,
    /// Home Agent Lifetime. Sent in whole seconds, clamped to 1..=65535
    /// (§7.4: 16 bits, 0 MUST NOT be used).
    pub lifetime: Duration,
    /// The RFC 3963 §7.1 R bit of the option: we accept mobile router
    /// (NEMO) registrations.
    pub mobile_routers: bool,
}

impl AdvHomeAgent {
    /// RFC 3963 §7.1: the Mobile Router Support flag, the top bit of the
    /// option's Reserved field.
    const MOBILE_ROUTER_BIT: u16 = 0x8000;

    /// The lifetime as the option carries it.
    fn lifetime_secs(&self) -> u16 {
        let secs = self.lifetime.as_secs().clamp(1, u64::from(u16::MAX));
        // Clamped into u16 range just above.
        u16::try_from(secs).unwrap_or(u16::MAX)
    }

    /// The option for an RA with `router_lifetime`, or `None` when §7.4
    /// says to leave it out.
    fn option(&self, router_lifetime: u16) -> Option<HomeAgentInfo> {
        let lifetime = self.lifetime_secs();
        let defaults = self.preference == 0 && lifetime == router_lifetime && !self.mobile_routers;
        (!defaults).then_some(HomeAgentInfo {
            reserved: if self.mobile_routers {
                Self::MOBILE_ROUTER_BIT
            } else {
                0
            },
            preference: self.preference,
            lifetime,
        })
    }
}

/// A live prefix. `None` lifetimes are infinite (still capped by the
/// configured limits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdvPrefix {
    pub prefix: Prefix,
    pub preferred_until: Option<Instant>,
    pub valid_until: Option<Instant>,
    /// L flag (RFC 7084 L-6: 1 by default).
    pub on_link: bool,
    /// A flag (RFC 7084 L-6: 1 by default).
    pub autonomous: bool,
}

/// A prefix being withdrawn (RFC 9096 L-13).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeprecatedPrefix {
    pub prefix: Prefix,
    pub valid_until: Instant,
}

/// A more-specific route offered through us (RFC 4191 §2.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdvRoute {
    pub prefix: Prefix,
    pub valid_until: Option<Instant>,
    pub preference: RouterPreference,
}

/// RFC 8200 §5 minimum MTU minus the 40-octet IPv6 header: the most an RA
/// may occupy so that it is never fragmented (fragmented ND is dropped by
/// hosts, RFC 6980 §5).
pub const MAX_RA_LEN: usize = 1280 - 40;
/// RFC 4861 §4.2: type, code, checksum, hop limit, flags, lifetime,
/// reachable time, retrans timer.
const RA_HEADER_LEN: usize = 16;

/// Seconds left until `until`, rounded down; `None` when `until` is
/// `None` (infinite).
fn remaining_secs(until: Option<Instant>, now: Instant) -> Option<u64> {
    until.map(|u| u.saturating_duration_since(now).as_secs())
}

/// The first instant at which [`remaining_secs`] of `until` is 0.
fn zero_at(until: Instant) -> Instant {
    Instant::from_micros(until.as_micros().saturating_sub(999_999))
}

/// min(remaining, limit) as a wire lifetime. A limit of 2^32−1 s or more
/// counts as no limit, so only then can the result be infinite.
fn capped(remaining: Option<u64>, limit: Duration) -> Lifetime {
    let limit = limit.as_secs();
    let limit = (limit < u64::from(u32::MAX)).then_some(limit);
    match (remaining, limit) {
        (None, None) => Lifetime::Infinite,
        (Some(r), None) => Lifetime::from_secs(r),
        (None, Some(l)) => Lifetime::from_secs(l),
        (Some(r), Some(l)) => Lifetime::from_secs(r.min(l)),
    }
}

/// RFC 4193: fc00::/7.
fn is_ula(p: &Prefix) -> bool {
    p.addr().segments()[0] & 0xfe00 == 0xfc00
}

/// Cleans content from the policy: drops duplicates and values the codec
/// cannot carry faithfully. Returns the clean content and how many items
/// were dropped.
pub(crate) fn sanitize(mut content: AdvertContent) -> (AdvertContent, u64) {
    let mut dropped = 0u64;
    let mut seen = Vec::new();
    content.prefixes.retain(|p| {
        let fresh = !seen.contains(&p.prefix);
        seen.push(p.prefix);
        dropped += u64::from(!fresh);
        fresh
    });
    // A prefix both live and deprecated is live: the policy is mid-change.
    content.deprecated.retain(|d| {
        let fresh = !seen.contains(&d.prefix);
        seen.push(d.prefix);
        dropped += u64::from(!fresh);
        fresh
    });
    let mut seen_routes = Vec::new();
    content.routes.retain(|r| {
        let fresh = !seen_routes.contains(&r.prefix);
        seen_routes.push(r.prefix);
        dropped += u64::from(!fresh);
        fresh
    });
    for r in &mut content.routes {
        // RFC 4191 §2.3: a receiver ignores a RIO with the reserved value;
        // send medium instead so the route is not lost.
        if r.preference == RouterPreference::Reserved {
            r.preference = RouterPreference::Medium;
        }
    }
    let mut servers: Vec<Ipv6Addr> = Vec::new();
    for s in content.dns_servers.drain(..) {
        if s.is_unspecified() || s.is_multicast() || servers.contains(&s) {
            tracing::warn!(server = %s, "RDNSS address not advertisable, dropped");
            dropped += 1;
        } else {
            servers.push(s);
        }
    }
    content.dns_servers = servers;
    let mut domains: Vec<String> = Vec::new();
    for d in content.dns_domains.drain(..) {
        let name = d.strip_suffix('.').unwrap_or(&d).to_owned();
        if name.is_empty() || domains.contains(&name) || !domain_encodable(&name) {
            tracing::warn!(domain = %d, "DNSSL name not encodable, dropped");
            dropped += 1;
        } else {
            domains.push(name);
        }
    }
    content.dns_domains = domains;
    // RFC 6275 §7.2: "a complete IP address assigned to the sending
    // router", which mobile nodes use off-link: a global unicast address.
    if let Some(a) = content.router_address
        && !is_global_unicast(a)
    {
        tracing::warn!(address = %a, "router address not global unicast, dropped");
        content.router_address = None;
        dropped += 1;
    }
    (content, dropped)
}

/// Neither unspecified, loopback, multicast nor link-local.
fn is_global_unicast(a: Ipv6Addr) -> bool {
    !(a.is_unspecified() || a.is_loopback() || a.is_multicast() || a.is_unicast_link_local())
}

/// Whether the codec carries `name` unchanged (labels of 1..=63 octets,
/// at most 255 in all; RFC 8106 §5.2, RFC 1035 §3.1).
fn domain_encodable(name: &str) -> bool {
    let mut ra = RouterAdvert::new(0, 0);
    ra.options.push(NdOption::Dnssl(Dnssl::new(
        Lifetime::ZERO,
        vec![name.to_owned()],
    )));
    NdMessage::RouterAdvert(ra).validate().is_ok()
}

/// The part of the advertised state that hosts cannot derive by counting
/// down: when it changes, an RA is due soon (RFC 4861 §6.2.4).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Signature {
    /// (prefix, L, A, still preferred)
    live: Vec<(Prefix, bool, bool, bool)>,
    deprecated: Vec<Prefix>,
    routes: Vec<(Prefix, RouterPreference)>,
    dns: Vec<Ipv6Addr>,
    domains: Vec<String>,
    /// Router Lifetime non-zero: hosts may use us as a default router.
    default_router: bool,
    /// RFC 6275 §7: the home agent service, the Advertisement Interval
    /// option and the R-flag address; mobile nodes act on these, so a
    /// change is announced by fast RAs like any other.
    home_agent: Option<AdvHomeAgent>,
    advertisement_interval: bool,
    router_address: Option<Ipv6Addr>,
}

/// What a prefix is, as hosts see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PrefixState {
    Absent,
    /// Advertised with preferred lifetime 0 (RFC 4862 §5.5.4).
    Deprecated,
    Preferred,
}

/// A change hosts must learn at once rather than at the next multicast RA
/// (see [`Signature::urgent_change`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UrgentChange {
    /// A prefix became preferred: new, or preferred again.
    PrefixAdded(Prefix),
    /// A preferred prefix is now deprecated (RFC 9096 L-13), or a prefix
    /// hosts may still hold appears deprecated.
    PrefixDeprecated(Prefix),
    /// A preferred prefix is no longer advertised at all.
    PrefixRemoved(Prefix),
    /// Router Lifetime became 0 (RFC 7084 G-5).
    NoLongerDefaultRouter,
}

impl Signature {
    fn prefix_state(&self, p: &Prefix) -> PrefixState {
        if let Some(l) = self.live.iter().find(|l| l.0 == *p) {
            if l.3 {
                PrefixState::Preferred
            } else {
                PrefixState::Deprecated
            }
        } else if self.deprecated.contains(p) {
            PrefixState::Deprecated
        } else {
            PrefixState::Absent
        }
    }

    /// Whether going from `self` (what hosts were told) to `new` must
    /// reach hosts at once (RFC 9096 L-13: a renumbered prefix is
    /// deprecated "immediately"; RFC 7084 G-5: Router Lifetime 0 sent
    /// "immediately"; a new prefix lets hosts renumber at once). Urgent:
    /// - Router Lifetime non-zero → 0;
    /// - a prefix changes between absent, deprecated and preferred, except
    ///   deprecated → absent (hosts already count its valid lifetime down,
    ///   and omitting a PIO tells them nothing).
    ///
    /// Not urgent: lifetimes alone, L/A flags, routes, DNS, becoming a
    /// default router (hosts learn these from the next multicast RA, at
    /// most MIN_DELAY_BETWEEN_RAS later).
    pub fn urgent_change(&self, new: &Signature) -> Option<UrgentChange> {
        if self.default_router && !new.default_router {
            return Some(UrgentChange::NoLongerDefaultRouter);
        }
        let all = self.live.iter().map(|l| &l.0).chain(&self.deprecated);
        let all = all.chain(new.live.iter().map(|l| &l.0).chain(&new.deprecated));
        for p in all {
            match (self.prefix_state(p), new.prefix_state(p)) {
                (a, b) if a == b => {}
                (PrefixState::Deprecated, PrefixState::Absent) => {}
                (_, PrefixState::Preferred) => return Some(UrgentChange::PrefixAdded(*p)),
                (_, PrefixState::Deprecated) => {
                    return Some(UrgentChange::PrefixDeprecated(*p));
                }
                (_, PrefixState::Absent) => return Some(UrgentChange::PrefixRemoved(*p)),
            }
        }
        None
    }
}

/// A lifetime hosts count down (see [`View::countdowns`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Countdown {
    Preferred(Prefix),
    Valid(Prefix),
    Route(Prefix),
}

/// What hosts still hold of the soonest-ending lifetime that `current`
/// advertises longer than `told` did, both views taken at the same
/// instant; `None` when nothing got longer. RFC 9096 L-16 ties PIO (and our
/// RIO) lifetimes to the delegation, so once it runs short of the limits a
/// renewal lengthens them while hosts keep counting the old value down.
pub(crate) fn lengthened(told: &View<'_>, current: &View<'_>) -> Option<Lifetime> {
    let before = told.countdowns();
    current
        .countdowns()
        .into_iter()
        .filter_map(|(key, now_says)| {
            let (_, held) = before.iter().find(|(k, _)| *k == key)?;
            (now_says > *held).then_some(*held)
        })
        .min()
}

/// One RA's worth of computed values, before splitting into packets.
pub(crate) struct Built {
    pub router_lifetime: u16,
    pub packets: Vec<RouterAdvert>,
}

/// The content as seen at `now`, applying expiry.
pub(crate) struct View<'a> {
    config: &'a AdvertiserConfig,
    content: &'a AdvertContent,
    now: Instant,
}

impl<'a> View<'a> {
    pub fn new(config: &'a AdvertiserConfig, content: &'a AdvertContent, now: Instant) -> Self {
        View {
            config,
            content,
            now,
        }
    }

    /// PIOs of live prefixes: RFC 9096 L-16, preferred = min(remaining
    /// preferred, limit), valid = min(remaining valid, limit). A prefix
    /// with no whole second of validity left is no longer advertised.
    /// RFC 6275 §7.2: the first of them that contains
    /// `content.router_address` carries that address whole, with R set.
    fn live_pios(&self) -> impl Iterator<Item = (&'a AdvPrefix, PrefixInfo)> + '_ {
        let router_address = self.content.router_address;
        let carrier = router_address
            .and_then(|a| self.live_prefixes().position(|p| p.prefix.contains_addr(a)));
        self.live_prefixes().enumerate().map(move |(i, p)| {
            let mut pio = self.pio(p);
            if let (Some(a), true) = (router_address, carrier == Some(i)) {
                pio.prefix = a;
                pio.router_addr = true;
            }
            (p, pio)
        })
    }

    /// The live prefixes with a whole second of validity left.
    fn live_prefixes(&self) -> impl Iterator<Item = &'a AdvPrefix> + '_ {
        self.content.prefixes.iter().filter(|p| {
            !capped(
                remaining_secs(p.valid_until, self.now),
                self.config.pio_valid_limit,
            )
            .is_zero()
        })
    }

    /// The PIO of a live prefix, lifetimes as `live_pios` says.
    fn pio(&self, p: &AdvPrefix) -> PrefixInfo {
        let valid = capped(
            remaining_secs(p.valid_until, self.now),
            self.config.pio_valid_limit,
        );
        let preferred = capped(
            remaining_secs(p.preferred_until, self.now),
            self.config.pio_preferred_limit,
        );
        // RFC 4862 §5.5.3(c): a host ignores a PIO whose preferred
        // lifetime exceeds its valid lifetime.
        let preferred = preferred.min(valid);
        let mut pio = PrefixInfo::new(p.prefix.addr(), p.prefix.len(), valid, preferred);
        pio.on_link = p.on_link;
        pio.autonomous = p.autonomous;
        pio
    }

    /// RFC 9096 L-13: preferred 0, valid counting down (and, as every PIO,
    /// capped by ND_VALID_LIMIT, L-16); gone once nothing is left.
    fn deprecated_pios(&self) -> impl Iterator<Item = PrefixInfo> + '_ {
        self.content.deprecated.iter().filter_map(|d| {
            let valid = capped(
                remaining_secs(Some(d.valid_until), self.now),
                self.config.pio_valid_limit,
            );
            (!valid.is_zero())
                .then(|| PrefixInfo::new(d.prefix.addr(), d.prefix.len(), valid, Lifetime::ZERO))
        })
    }

    /// RFC 4191 §2.3 RIOs. RFC 4191 sets no cap; we cap by the PIO valid
    /// limit so a route never outlives the prefixes it serves (RFC 9096's
    /// intent for L-16).
    fn rios(&self) -> impl Iterator<Item = (&'a AdvRoute, RouteInfo)> + '_ {
        let enabled = self.config.route_info;
        self.content
            .routes
            .iter()
            .filter(move |_| enabled)
            .filter_map(|r| {
                let lifetime = capped(
                    remaining_secs(r.valid_until, self.now),
                    self.config.pio_valid_limit,
                );
                (!lifetime.is_zero()).then(|| {
                    let rio =
                        RouteInfo::new(r.prefix.addr(), r.prefix.len(), r.preference, lifetime);
                    (r, rio)
                })
            })
    }

    /// RFC 7084 L-4 (no prefix → not a default router), G-4 (no upstream
    /// default route → not a default router), ULA-5 (only ULA prefixes →
    /// not a default router).
    fn is_default_router(&self) -> bool {
        self.content.default_router && self.live_prefixes().any(|p| !is_ula(&p.prefix))
    }

    /// The Router Lifetime field of a regular (not final) RA, seconds.
    fn router_lifetime(&self) -> u16 {
        if self.is_default_router() {
            self.config.router_lifetime_secs()
        } else {
            0
        }
    }

    pub fn signature(&self) -> Signature {
        let mut live: Vec<_> = self
            .live_pios()
            .map(|(p, pio)| {
                (
                    p.prefix,
                    pio.on_link,
                    pio.autonomous,
                    !pio.preferred.is_zero(),
                )
            })
            .collect();
        live.sort();
        let mut deprecated: Vec<_> = self
            .content
            .deprecated
            .iter()
            .filter(|d| remaining_secs(Some(d.valid_until), self.now) != Some(0))
            .map(|d| d.prefix)
            .collect();
        deprecated.sort();
        let mut routes: Vec<_> = self
            .content
            .routes
            .iter()
            .filter(|r| {
                self.config.route_info && remaining_secs(r.valid_until, self.now) != Some(0)
            })
            .map(|r| (r.prefix, r.preference))
            .collect();
        routes.sort_by_key(|r| r.0);
        Signature {
            live,
            deprecated,
            routes,
            dns: self.content.dns_servers.clone(),
            domains: self.content.dns_domains.clone(),
            default_router: self.router_lifetime() != 0,
            home_agent: self.content.home_agent,
            advertisement_interval: self.content.advertisement_interval,
            router_address: self.content.router_address,
        }
    }

    /// Every lifetime hosts count down after an RA, keyed by what it
    /// belongs to: each live PIO's preferred and valid lifetime, each RIO's.
    fn countdowns(&self) -> Vec<(Countdown, Lifetime)> {
        let mut out = Vec::new();
        for (p, pio) in self.live_pios() {
            out.push((Countdown::Preferred(p.prefix), pio.preferred));
            out.push((Countdown::Valid(p.prefix), pio.valid));
        }
        for (r, rio) in self.rios() {
            out.push((Countdown::Route(r.prefix), rio.lifetime));
        }
        out
    }

    /// The next instant after `now` at which the signature may change by
    /// itself (a lifetime reaching zero).
    pub fn next_change(&self) -> Option<Instant> {
        let c = self.content;
        let instants = c
            .prefixes
            .iter()
            .flat_map(|p| [p.valid_until, p.preferred_until])
            .chain(c.deprecated.iter().map(|d| Some(d.valid_until)))
            .chain(c.routes.iter().map(|r| r.valid_until))
            .flatten()
            .map(zero_at);
        instants.filter(|&t| t > self.now).min()
    }

    /// Builds the RA(s). `final_ra` forces Router Lifetime 0 (RFC 4861
    /// §6.2.5). Options that do not fit one RA of [`MAX_RA_LEN`] octets go
    /// into further RAs, each a complete RA with the same header, SLLA and
    /// MTU.
    pub fn build(&self, final_ra: bool) -> Built {
        let cfg = self.config;
        let router_lifetime = if final_ra { 0 } else { self.router_lifetime() };
        let mut head = RouterAdvert::new(cfg.cur_hop_limit, router_lifetime);
        head.flags.managed = cfg.managed;
        head.flags.other = cfg.other_config;
        // RFC 4191 §2.2: with Router Lifetime 0 the preference MUST be 00.
        head.flags.preference = if router_lifetime == 0 {
            RouterPreference::Medium
        } else {
            cfg.preference
        };
        head.reachable_time = cfg.reachable_time;
        head.retrans_timer = cfg.retrans_timer;
        if let Some(lla) = &cfg.link_layer_addr {
            // RFC 4861 §4.6.1: the option is padded to whole 8-octet units.
            let mut data = lla.clone();
            let padded = (data.len() + 2).div_ceil(8) * 8 - 2;
            data.resize(padded, 0);
            head.options.push(NdOption::SourceLla(data));
        }
        if let Some(mtu) = cfg.mtu {
            head.options.push(NdOption::mtu(mtu));
        }
        // RFC 6275 §7.1, §7.4 (see `AdvHomeAgent` for when the option goes).
        // In the head, so that every RA of a split set says the same.
        if let Some(ha) = &self.content.home_agent {
            head.flags.home_agent = true;
            if let Some(info) = ha.option(router_lifetime).filter(|_| !final_ra) {
                head.options.push(NdOption::HomeAgentInfo(info));
            }
        }
        if self.content.advertisement_interval {
            // RFC 6275 §7.3: MaxRtrAdvInterval in milliseconds.
            let interval_ms = u32::try_from(cfg.max_interval.as_millis()).unwrap_or(u32::MAX);
            head.options.push(NdOption::AdvInterval {
                interval_ms,
                reserved: 0,
            });
        }
        let room = MAX_RA_LEN.saturating_sub(RA_HEADER_LEN + head.options.buffer_len());

        let mut body: Vec<NdOption> = Vec::new();
        body.extend(self.live_pios().map(|(_, pio)| NdOption::PrefixInfo(pio)));
        body.extend(self.deprecated_pios().map(NdOption::PrefixInfo));
        body.extend(self.rios().map(|(_, rio)| NdOption::RouteInfo(rio)));
        let dns_lifetime = Lifetime::from_secs(cfg.rdnss_lifetime.as_secs());
        // An RDNSS is 8 octets plus 16 per server; split long lists into
        // several options, each small enough for one RA.
        let per_rdnss = (room.saturating_sub(8) / 16).clamp(1, 127);
        for chunk in self.content.dns_servers.chunks(per_rdnss) {
            body.push(NdOption::Rdnss(Rdnss::new(dns_lifetime, chunk.to_vec())));
        }
        let mut chunk: Vec<String> = Vec::new();
        for d in &self.content.dns_domains {
            let mut grown = chunk.clone();
            grown.push(d.clone());
            if !chunk.is_empty()
                && NdOption::Dnssl(Dnssl::new(dns_lifetime, grown.clone())).buffer_len() > room
            {
                body.push(NdOption::Dnssl(Dnssl::new(
                    dns_lifetime,
                    std::mem::take(&mut chunk),
                )));
                chunk.push(d.clone());
            } else {
                chunk = grown;
            }
        }
        if !chunk.is_empty() {
            body.push(NdOption::Dnssl(Dnssl::new(dns_lifetime, chunk)));
        }

        let mut packets = vec![head.clone()];
        let mut used = 0usize;
        for opt in body {
            let len = opt.buffer_len();
            if used > 0 && used + len > room {
                packets.push(head.clone());
                used = 0;
            }
            used += len;
            if let Some(last) = packets.last_mut() {
                last.options.push(opt);
            }
        }
        Built {
            router_lifetime,
            packets,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capped_lifetimes() {
        let lim = Duration::from_secs(5400);
        assert_eq!(capped(None, lim), Lifetime::Finite(5400));
        assert_eq!(capped(Some(600), lim), Lifetime::Finite(600));
        assert_eq!(capped(Some(9000), lim), Lifetime::Finite(5400));
        assert_eq!(
            capped(None, Duration::from_secs(u64::from(u32::MAX))),
            Lifetime::Infinite
        );
        assert_eq!(capped(Some(7), Duration::MAX), Lifetime::Finite(7));
    }

    #[test]
    fn remaining_rounds_down_and_zero_at_matches() {
        let until = Instant::from_secs(100);
        assert_eq!(
            remaining_secs(Some(until), Instant::from_micros(99_000_001)),
            Some(0)
        );
        assert_eq!(remaining_secs(Some(until), Instant::from_secs(99)), Some(1));
        assert_eq!(remaining_secs(Some(until), zero_at(until)), Some(0));
        assert_eq!(
            remaining_secs(
                Some(until),
                Instant::from_micros(zero_at(until).as_micros() - 1)
            ),
            Some(1)
        );
    }

    #[test]
    fn ula_detection() {
        assert!(is_ula(&"fd12:3456::/64".parse().unwrap()));
        assert!(is_ula(&"fc00::/64".parse().unwrap()));
        assert!(!is_ula(&"2001:db8::/64".parse().unwrap()));
        assert!(!is_ula(&"fe80::/64".parse().unwrap()));
    }

    #[test]
    fn sanitize_drops_duplicates_and_bad_names() {
        let p: Prefix = "2001:db8:1::/64".parse().unwrap();
        let content = AdvertContent {
            prefixes: vec![
                AdvPrefix {
                    prefix: p,
                    preferred_until: None,
                    valid_until: None,
                    on_link: true,
                    autonomous: true,
                },
                AdvPrefix {
                    prefix: p,
                    preferred_until: None,
                    valid_until: None,
                    on_link: false,
                    autonomous: false,
                },
            ],
            deprecated: vec![DeprecatedPrefix {
                prefix: p,
                valid_until: Instant::from_secs(9),
            }],
            dns_servers: vec![
                Ipv6Addr::UNSPECIFIED,
                "2001:db8::53".parse().unwrap(),
                "ff02::1".parse().unwrap(),
            ],
            dns_domains: vec![
                "lab.example.".into(),
                "lab.example".into(),
                "a..b".into(),
                "x".repeat(64),
            ],
            ..AdvertContent::default()
        };
        let (clean, dropped) = sanitize(content);
        assert_eq!(clean.prefixes.len(), 1);
        assert!(clean.prefixes[0].on_link);
        assert!(clean.deprecated.is_empty());
        assert_eq!(
            clean.dns_servers,
            vec!["2001:db8::53".parse::<Ipv6Addr>().unwrap()]
        );
        assert_eq!(clean.dns_domains, vec!["lab.example".to_owned()]);
        assert_eq!(dropped, 2 + 2 + 3);
    }
}
