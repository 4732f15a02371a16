//! Fuzz target for the ND receive path: what the daemon does with an
//! ICMPv6 datagram on a LAN (bin/v6edge daemon `handle_icmp6` hands it to
//! `v6edge_ra::Advertiser::handle_packet`, which parses it with the ND
//! codec), driven over time with many sources.
//!
//! The input decodes (`arbitrary`) into an advertiser setup and a sequence
//! of events: time steps (the harness wakes the machine at every deadline,
//! as the daemon does), Router Solicitations from many link-local,
//! unspecified and global sources (singly or in floods), RAs from other
//! routers, Neighbor Solicitations and Advertisements, raw bytes,
//! neighbours the kernel reports, content and configuration changes,
//! start and stop.
//!
//! Checked after every step, beyond "no panic":
//! - RFC 4861 §6.2.6: multicast RAs at least MIN_DELAY_BETWEEN_RAS apart
//!   (the final RA of `stop` excepted, a documented deviation);
//! - per destination, at most two RA rounds in any URGENT_UNICAST_INTERVAL
//!   (one solicited, RFC 7772, and one urgent);
//! - the known-host table within MAX_KNOWN_HOSTS, the pending unicast
//!   answers within their bound, at most one RA round per destination per
//!   input;
//! - every transmit is a valid RA of at most MAX_RA_LEN octets, hop limit
//!   255, from a link-local source (RFC 4861 §6.1.2);
//! - the final RA has Router Lifetime 0 (§6.2.5);
//! - every valid RS is answered within MIN_DELAY_BETWEEN_RAS +
//!   MAX_RA_DELAY_TIME (§6.2.6), by a multicast RA or a unicast one (RFC
//!   7772), unless that host had a unicast RA in the last
//!   MIN_DELAY_BETWEEN_RAS;
//! - the machine never asks to be woken at or before the instant it was
//!   just called at.

#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use std::collections::HashMap;
use std::net::Ipv6Addr;
use std::time::Duration;
use v6edge_core::{Instant, Received, Transport};
use v6edge_fuzz::{
    Damage, Life, Step, Timed, WAKEUP_BUDGET, advance, assert_no_spin, bounded_events,
};
use v6edge_prefix::Prefix;
use v6edge_ra::{
    ALL_NODES, AdvPrefix, AdvRoute, AdvertContent, Advertiser, AdvertiserConfig, AdvertiserPhase,
    DeprecatedPrefix, MAX_KNOWN_HOSTS, MAX_RA_DELAY_TIME, MAX_RA_LEN, MIN_DELAY_BETWEEN_RAS,
    RouterPreference, URGENT_UNICAST_INTERVAL,
};
use v6edge_wire::nd::{
    NdMessage, NdOption, NeighborAdvert, NeighborSolicit, PrefixInfo, RaFlags, RouterAdvert,
    RouterSolicit,
};

const LAN: u32 = 3;
/// Bound on RS answers waiting for their random delay (the advertiser's
/// MAX_PENDING_UNICAST).
const MAX_PENDING: usize = 64;

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Source {
    LinkLocal(u16),
    Unspecified,
    Global(u16),
    Multicast,
    Raw([u8; 16]),
}

impl Source {
    fn addr(self) -> Ipv6Addr {
        match self {
            Source::LinkLocal(n) => Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0x1000, n),
            Source::Unspecified => Ipv6Addr::UNSPECIFIED,
            Source::Global(n) => Ipv6Addr::new(0x2001, 0xdb8, 0xa, 0, 0, 0, 0, n),
            Source::Multicast => ALL_NODES,
            Source::Raw(a) => Ipv6Addr::from(a),
        }
    }
}

#[derive(Arbitrary, Debug, Clone)]
struct Rs {
    src: Source,
    lla: Option<Vec<u8>>,
    /// Otherwise 255.
    hop_limit: Option<u8>,
    damage: Option<Damage>,
}

#[derive(Arbitrary, Debug, Clone)]
struct OtherRa {
    src: Source,
    cur_hop_limit: u8,
    flags: u8,
    router_lifetime: u16,
    reachable_time: u32,
    retrans_timer: u32,
    mtu: Option<u32>,
    /// (n-th /64 of ours or others, valid, preferred).
    prefixes: Vec<(u8, Life, Life)>,
    hop_limit: Option<u8>,
    damage: Option<Damage>,
}

#[derive(Arbitrary, Debug, Clone)]
struct ContentChoice {
    /// (n-th /64, preferred seconds from now or infinite, valid likewise).
    prefixes: Vec<(u8, Option<u32>, Option<u32>)>,
    deprecated: Vec<(u8, u32)>,
    routes: Vec<(u8, u8, Option<u32>)>,
    dns: u8,
    domains: Vec<u8>,
    default_router: bool,
}

#[derive(Arbitrary, Debug, Clone)]
struct ConfigChoice {
    max_interval: u16,
    min_interval: u16,
    router_lifetime: u16,
    mtu: Option<u32>,
    managed: bool,
    other: bool,
    lla: Option<[u8; 6]>,
}

#[derive(Arbitrary, Debug)]
enum Event {
    Wait(Step),
    Rs(Rs),
    /// RSs from `count` consecutive link-local hosts, each with an SLLA.
    Flood {
        first: u16,
        count: u8,
    },
    Ra(OtherRa),
    Ns {
        src: Source,
        target: Source,
        lla: Option<[u8; 6]>,
    },
    Na {
        src: Source,
        target: Source,
        flags: u8,
    },
    Raw {
        src: Source,
        hop_limit: u8,
        bytes: Vec<u8>,
    },
    WrongInterface(Vec<u8>),
    Neighbour(Source),
    SetSource(Option<Source>),
    Content(ContentChoice),
    Config(ConfigChoice),
    Start,
    Stop,
}

#[derive(Debug)]
struct Input {
    seed: u64,
    config: ConfigChoice,
    content: ContentChoice,
    start: bool,
    events: Vec<Event>,
}

// Decoded by hand so that at most MAX_EVENTS events are: the same bytes
// as the derived take-rest decoding for those.
impl<'a> Arbitrary<'a> for Input {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(Input {
            seed: u.arbitrary()?,
            config: u.arbitrary()?,
            content: u.arbitrary()?,
            start: u.arbitrary()?,
            events: bounded_events(u)?,
        })
    }

    fn arbitrary_take_rest(mut u: Unstructured<'a>) -> arbitrary::Result<Self> {
        Self::arbitrary(&mut u)
    }
}

fn slash64(n: u8) -> Prefix {
    Prefix::new(
        Ipv6Addr::new(0x2001, 0xdb8, 0x100, u16::from(n), 0, 0, 0, 0),
        64,
    )
    .expect("a /64 with clear host bits")
}

fn config(c: &ConfigChoice) -> AdvertiserConfig {
    let mut a = AdvertiserConfig::new(LAN);
    a.max_interval = Duration::from_secs(u64::from(c.max_interval));
    a.min_interval = Duration::from_secs(u64::from(c.min_interval));
    a.router_lifetime = Duration::from_secs(u64::from(c.router_lifetime));
    a.mtu = c.mtu;
    a.managed = c.managed;
    a.other_config = c.other;
    a.link_layer_addr = c.lla.map(|l| l.to_vec());
    a
}

fn content(c: &ContentChoice, now: Instant) -> AdvertContent {
    let at = |s: u32| now + Duration::from_secs(u64::from(s));
    AdvertContent {
        prefixes: c
            .prefixes
            .iter()
            .take(64)
            .map(|&(n, p, v)| AdvPrefix {
                prefix: slash64(n),
                preferred_until: p.map(at),
                valid_until: v.map(at),
                on_link: true,
                autonomous: true,
            })
            .collect(),
        deprecated: c
            .deprecated
            .iter()
            .take(64)
            .map(|&(n, v)| DeprecatedPrefix {
                prefix: slash64(n),
                valid_until: at(v),
            })
            .collect(),
        routes: c
            .routes
            .iter()
            .take(64)
            .filter_map(|&(n, len, v)| {
                let len = 48 + len % 17;
                let p = Prefix::truncating(
                    Ipv6Addr::new(0x2001, 0xdb8, 0x100, u16::from(n) << 8, 0, 0, 0, 0),
                    len,
                )
                .ok()?;
                Some(AdvRoute {
                    prefix: p,
                    valid_until: v.map(at),
                    preference: RouterPreference::Medium,
                })
            })
            .collect(),
        dns_servers: (0..c.dns % 8)
            .map(|i| Ipv6Addr::new(0x2001, 0xdb8, 0xd, 0, 0, 0, 0, u16::from(i)))
            .collect(),
        dns_domains: c
            .domains
            .iter()
            .take(8)
            .map(|d| format!("lan{d}.example"))
            .collect(),
        default_router: c.default_router,
        ..AdvertContent::default()
    }
}

struct Machine(Advertiser);

impl Timed for Machine {
    fn next_deadline(&self) -> Option<Instant> {
        self.0.poll_timeout()
    }
    fn on_timeout(&mut self, now: Instant) {
        self.0.handle_timeout(now);
    }
}

#[derive(Default)]
struct World {
    last_multicast: Option<Instant>,
    /// Per destination: the instants of its last two RA rounds.
    unicast: HashMap<Ipv6Addr, (Option<Instant>, Instant)>,
    /// Valid RSs received while advertising, not yet answered: (source,
    /// received at).
    owed: Vec<(Ipv6Addr, Instant)>,
}

impl World {
    /// A valid RS from `src` at `now` while advertising: RFC 4861 §6.2.6
    /// answers it within MIN_DELAY_BETWEEN_RAS + MAX_RA_DELAY_TIME, by a
    /// multicast RA or (RFC 7772) a unicast one, unless it was rate-limited
    /// because that host had a unicast RA in the last MIN_DELAY_BETWEEN_RAS.
    fn owe(&mut self, src: Ipv6Addr, now: Instant) {
        if self.owed.len() < 4096 {
            self.owed.push((src, now));
        }
    }

    fn answered(&self, src: Ipv6Addr, since: Instant) -> bool {
        self.last_multicast.is_some_and(|t| t >= since)
            || self
                .unicast
                .get(&src)
                .is_some_and(|&(_, t)| t + MIN_DELAY_BETWEEN_RAS >= since)
    }
}

fn is_link_local(a: Ipv6Addr) -> bool {
    a.segments()[0] & 0xffc0 == 0xfe80
}

/// Drains and checks. `final_ra`: the input was `stop`, whose one RA is
/// exempt from the rate limit and must have Router Lifetime 0.
fn check(m: &mut Machine, w: &mut World, now: Instant, final_ra: bool) {
    let a = &mut m.0;
    let mut rounds: HashMap<Ipv6Addr, u32> = HashMap::new();
    while let Some(t) = a.poll_transmit() {
        assert_eq!(t.ifindex, LAN);
        assert_eq!(t.transport, Transport::Icmpv6);
        assert_eq!(t.hop_limit, Some(255), "ND must leave with hop limit 255");
        assert!(
            t.payload.len() <= MAX_RA_LEN,
            "RA of {} octets",
            t.payload.len()
        );
        let ra = match NdMessage::parse(&t.payload) {
            Ok(NdMessage::RouterAdvert(ra)) => ra,
            other => panic!("advertiser sent something else than an RA: {other:?}"),
        };
        if let Some(src) = t.src {
            assert!(is_link_local(src), "RA from non-link-local {src}");
        } else {
            assert!(
                t.dst.is_multicast() || is_link_local(t.dst),
                "RA to {} would leave from a global source",
                t.dst
            );
        }
        if final_ra {
            assert_eq!(ra.router_lifetime, 0, "final RA with a router lifetime");
        }
        *rounds.entry(t.dst).or_insert(0) += 1;
    }
    for &dst in rounds.keys() {
        if dst == ALL_NODES {
            if let Some(last) = w.last_multicast
                && !final_ra
            {
                let gap = now.saturating_duration_since(last);
                assert!(
                    gap >= MIN_DELAY_BETWEEN_RAS,
                    "multicast RAs {gap:?} apart (RFC 4861 §6.2.6)"
                );
            }
            w.last_multicast = Some(now);
        } else {
            assert!(!dst.is_multicast(), "RA to multicast {dst}");
            let e = w.unicast.entry(dst).or_insert((None, Instant::ZERO));
            if let Some(before) = e.0 {
                let gap = now.saturating_duration_since(before);
                assert!(
                    gap >= URGENT_UNICAST_INTERVAL,
                    "three RAs to {dst} within {gap:?}"
                );
            }
            *e = (Some(e.1), now);
        }
    }
    assert!(
        rounds.len() <= MAX_KNOWN_HOSTS + MAX_PENDING + 1,
        "{} destinations in one input",
        rounds.len()
    );
    let st = a.status();
    if v6edge_fuzz::tracing() {
        eprintln!(
            "phase {:?} hosts {} pending {} multicast {} unicast {} urgent {} inconsistent {} owed {}",
            st.phase,
            st.known_hosts,
            st.pending_unicast,
            st.ra_sent_multicast,
            st.ra_sent_unicast,
            st.urgent_unicast,
            st.ra_inconsistent,
            w.owed.len()
        );
    }
    assert!(
        st.known_hosts <= MAX_KNOWN_HOSTS,
        "{} known hosts",
        st.known_hosts
    );
    assert!(
        st.pending_unicast <= MAX_PENDING,
        "{} pending answers",
        st.pending_unicast
    );
    if w.unicast.len() > 8192 {
        w.unicast.clear();
    }
    if st.phase == AdvertiserPhase::Advertising {
        assert_no_spin(a.poll_timeout(), now);
        let owed = std::mem::take(&mut w.owed);
        for (src, since) in owed {
            if w.answered(src, since) {
                continue;
            }
            assert!(
                now <= since + MIN_DELAY_BETWEEN_RAS + MAX_RA_DELAY_TIME,
                "RS from {src} at {since:?} still unanswered at {now:?}"
            );
            w.owed.push((src, since));
        }
    } else {
        // Stopped: nothing is owed any more.
        w.owed.clear();
    }
}

/// Whether the advertiser is advertising (only `start` and `stop` change
/// that, never a packet).
fn advertising(m: &Machine) -> bool {
    m.0.status().phase == AdvertiserPhase::Advertising
}

/// Whether an RS we built is one the advertiser must answer (RFC 4861
/// §6.1.1: hop limit 255, no SLLA from the unspecified address), while it
/// is `advertising`.
fn owed_answer(advertising: bool, src: Ipv6Addr, hop_limit: u8, lla: Option<&[u8]>) -> bool {
    advertising && hop_limit == 255 && !(src.is_unspecified() && lla.is_some())
}

fn encode(msg: NdMessage, damage: &Option<Damage>) -> Vec<u8> {
    let mut bytes = msg.to_bytes();
    if let Some(d) = damage {
        d.apply(&mut bytes);
    }
    bytes
}

fn receive(m: &mut Machine, now: Instant, src: Ipv6Addr, hop_limit: u8, bytes: &[u8]) {
    m.0.handle_packet(
        now,
        &Received {
            ifindex: LAN,
            src,
            dst: ALL_NODES,
            hop_limit,
            bytes,
        },
    );
}

fuzz_target!(|input: Input| {
    let mut now = Instant::from_secs(1_000);
    let mut m = Machine(Advertiser::new(config(&input.config), input.seed, now));
    let mut w = World::default();
    m.0.set_content(now, content(&input.content, now));
    if input.start {
        m.0.start(now);
    }
    check(&mut m, &mut w, now, false);
    let mut wakeups = WAKEUP_BUDGET;
    for ev in &input.events {
        let mut final_ra = false;
        match ev {
            Event::Wait(step) => {
                advance(&mut m, &mut now, step.duration(), &mut wakeups, |m, at| {
                    check(m, &mut w, at, false)
                });
                continue;
            }
            Event::Rs(rs) => {
                let lla = rs.lla.as_deref();
                let bytes = encode(
                    NdMessage::RouterSolicit(RouterSolicit::new(lla)),
                    &rs.damage,
                );
                let (src, hop_limit) = (rs.src.addr(), rs.hop_limit.unwrap_or(255));
                // An SLLA option must fit its length field (RFC 4861 §4.6.1).
                let valid = rs.damage.is_none() && lla.is_none_or(|l| l.len() <= 2040);
                if valid && owed_answer(advertising(&m), src, hop_limit, lla) {
                    w.owe(src, now);
                }
                receive(&mut m, now, src, hop_limit, &bytes);
            }
            Event::Flood { first, count } => {
                let advertising = advertising(&m);
                for i in 0..*count {
                    let src = Source::LinkLocal(first.wrapping_add(u16::from(i))).addr();
                    let lla = [2, 0, 0, 0, (i >> 4), i];
                    let bytes = NdMessage::RouterSolicit(RouterSolicit::new(Some(&lla))).to_bytes();
                    if owed_answer(advertising, src, 255, Some(&lla)) {
                        w.owe(src, now);
                    }
                    receive(&mut m, now, src, 255, &bytes);
                }
            }
            Event::Ra(r) => {
                let mut ra = RouterAdvert::new(r.cur_hop_limit, r.router_lifetime);
                ra.flags = RaFlags::from_bits(r.flags);
                ra.reachable_time = r.reachable_time;
                ra.retrans_timer = r.retrans_timer;
                if let Some(mtu) = r.mtu {
                    ra.options.push(NdOption::mtu(mtu));
                }
                for &(n, valid, preferred) in r.prefixes.iter().take(64) {
                    ra.options.push(NdOption::PrefixInfo(PrefixInfo::new(
                        slash64(n).addr(),
                        64,
                        valid.lifetime(),
                        preferred.lifetime(),
                    )));
                }
                let bytes = encode(NdMessage::RouterAdvert(ra), &r.damage);
                receive(
                    &mut m,
                    now,
                    r.src.addr(),
                    r.hop_limit.unwrap_or(255),
                    &bytes,
                );
            }
            Event::Ns { src, target, lla } => {
                let mut ns = NeighborSolicit::new(target.addr());
                if let Some(l) = lla {
                    ns.options.push(NdOption::SourceLla(l.to_vec()));
                }
                let bytes = NdMessage::NeighborSolicit(ns).to_bytes();
                receive(&mut m, now, src.addr(), 255, &bytes);
            }
            Event::Na { src, target, flags } => {
                let na = NeighborAdvert::new(
                    target.addr(),
                    flags & 1 != 0,
                    flags & 2 != 0,
                    flags & 4 != 0,
                );
                let bytes = NdMessage::NeighborAdvert(na).to_bytes();
                receive(&mut m, now, src.addr(), 255, &bytes);
            }
            Event::Raw {
                src,
                hop_limit,
                bytes,
            } => {
                receive(&mut m, now, src.addr(), *hop_limit, bytes);
            }
            Event::WrongInterface(bytes) => {
                m.0.handle_packet(
                    now,
                    &Received {
                        ifindex: LAN + 1,
                        src: Source::LinkLocal(1).addr(),
                        dst: ALL_NODES,
                        hop_limit: 255,
                        bytes,
                    },
                );
            }
            Event::Neighbour(src) => m.0.note_neighbor(now, src.addr()),
            Event::SetSource(src) => m.0.set_source(src.map(Source::addr)),
            Event::Content(c) => m.0.set_content(now, content(c, now)),
            Event::Config(c) => m.0.set_config(now, config(c)),
            Event::Start => m.0.start(now),
            Event::Stop => {
                final_ra = true;
                m.0.stop(now);
            }
        }
        check(&mut m, &mut w, now, final_ra);
    }
});
