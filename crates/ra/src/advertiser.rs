//! The per-interface Router Advertisement state machine.
//!
//! Implements RFC 4861 §6.2.2 (becoming an advertising interface), §6.2.4
//! (unsolicited RAs at random intervals, fast initial RAs, fast RAs after a
//! change), §6.2.5 (final RA with Router Lifetime 0), §6.2.6 (answering
//! Router Solicitations: random delay, rate limit), §6.2.7 (checking other
//! routers' RAs for consistency), §6.1.1–§6.1.2 (validation of RS and RA);
//! RFC 7772 (unicast solicited RAs); RFC 7084 G-5 and RFC 9096 L-13
//! (changes reach hosts promptly).
//!
//! # Urgent changes
//! Multicast RAs stay at least MIN_DELAY_BETWEEN_RAS (3 s) apart (RFC 4861
//! §6.2.4, §6.2.6), so a change made just after one would reach hosts up to
//! 3 s late. When the change is urgent — a prefix is added, deprecated
//! (RFC 9096 L-13: "immediately") or removed, or the Router Lifetime
//! becomes 0 (RFC 7084 G-5: "immediately"); see `Signature::urgent_change`
//! — and the rate limit holds the multicast RA back, one unicast RA with
//! the new content goes at once to each host we know, and the multicast RA
//! follows as soon as the limit allows. This keeps to RFC 4861: §6.2.6
//! rate-limits RAs sent to the all-nodes address, and a host processes a
//! valid RA whatever its destination (§6.1.2, §6.3.4); RFC 7772 §5.1
//! recommends unicast RAs where they spare other hosts. When the multicast RA
//! can leave at once, it alone is sent. Known hosts are the link-local
//! sources of valid RSs and the neighbours given to
//! [`Advertiser::note_neighbor`]: at most [`crate::MAX_KNOWN_HOSTS`],
//! forgotten after [`crate::KNOWN_HOST_TTL`] of silence, and each gets at
//! most one urgent RA per [`crate::URGENT_UNICAST_INTERVAL`] (one held back
//! leaves when allowed, unless the multicast RA gets there first). Urgency
//! compares what hosts were last told (the content of the last multicast
//! RA, or of the last urgent round) with what we would say now, both
//! evaluated at the same instant, so lifetimes running out on schedule —
//! which hosts count down themselves — are never urgent.
//!
//! Method grammar (quinn-proto style): getters take `&self`; `handle_*`
//! feed network input and time; `start`, `stop`, `set_content`,
//! `set_config` are commands; after any call the driver drains
//! [`Advertiser::poll_transmit`] and re-arms its timer from
//! [`Advertiser::poll_timeout`]. Time always comes from the caller and must
//! be monotonic; randomness comes from the seed.
//!
//! Panic contract: no method panics, for any input bytes or instants.

use std::collections::VecDeque;
use std::net::Ipv6Addr;
use std::time::Duration;

use v6edge_core::limit::LogThrottle;
use v6edge_core::{Instant, Received, Rng, Transmit, Transport};
use v6edge_wire::Lifetime;
use v6edge_wire::nd::{NdErrorKind, NdMessage, RouterAdvert, RouterSolicit};

use crate::config::{
    AdvertiserConfig, MAX_INITIAL_RTR_ADVERT_INTERVAL, MAX_INITIAL_RTR_ADVERTISEMENTS,
    MAX_RA_DELAY_TIME, MIN_DELAY_BETWEEN_RAS,
};
use crate::content::{self, AdvertContent, Signature, View};
use crate::hosts::{HostTable, KnownHost, is_link_local};
use crate::status::{AdvertiserPhase, AdvertiserStatus, DropReason};

/// RFC 4291 §2.7.1: all-nodes link-local multicast.
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
/// RFC 4861 §6.1: ND messages arrive with hop limit 255 or not at all.
const ND_HOP_LIMIT: u8 = 255;
/// Bound on queued unicast replies; beyond it we answer by multicast, which
/// one packet serves everyone (RFC 4861 §6.2.6 allows either).
const MAX_PENDING_UNICAST: usize = 64;
/// Bound on the per-source unicast rate-limit table.
const MAX_RECENT_UNICAST: usize = 1024;
/// RFC 4861 §6.2.7 compares decrementing lifetimes by expiry; allow this
/// much slack for rounding and transit.
const LIFETIME_SLACK_SECS: u64 = 2;

#[derive(Debug, Clone, Copy)]
struct PendingUnicast {
    dst: Ipv6Addr,
    at: Instant,
}

/// Sends Router Advertisements on one LAN interface. See the module docs.
#[derive(Debug)]
pub struct Advertiser {
    config: AdvertiserConfig,
    content: AdvertContent,
    rng: Rng,
    phase: AdvertiserPhase,
    /// Fast (≤ 16 s apart) multicast RAs still to send, RFC 4861 §6.2.4.
    initial_left: u8,
    /// When the next multicast RA goes out (periodic or solicited).
    next_multicast: Option<Instant>,
    last_multicast: Option<Instant>,
    /// What the last multicast RA told every host.
    last_signature: Option<Signature>,
    /// When the advertised state changes by itself (a lifetime runs out).
    content_deadline: Option<Instant>,
    pending_unicast: Vec<PendingUnicast>,
    /// (destination, sent at) of recent unicast RAs, for RFC 7772 rate limiting.
    recent_unicast: Vec<(Ipv6Addr, Instant)>,
    /// Hosts we can tell about urgent changes by unicast.
    hosts: HostTable,
    /// Our link-local address, for unicast RAs to global destinations.
    source: Option<Ipv6Addr>,
    /// The (config, content) hosts were last told: by the last multicast
    /// RA, or by the last round of urgent unicast RAs.
    told: Option<(AdvertiserConfig, AdvertContent)>,
    out: VecDeque<Transmit>,
    status: AdvertiserStatus,
    /// Other routers' inconsistent RAs are logged at most once per
    /// [`INCONSISTENT_LOG_INTERVAL`]: fake routers must not flood the log.
    inconsistent_log: LogThrottle,
}

/// At most one "inconsistent RA" line per this interval (the count of
/// those held back goes with it; `ra_inconsistent` counts them all).
pub const INCONSISTENT_LOG_INTERVAL: Duration = Duration::from_secs(10);

impl Advertiser {
    /// An advertiser with empty content that stays silent until [`start`].
    ///
    /// [`start`]: Advertiser::start
    pub fn new(config: AdvertiserConfig, seed: u64, now: Instant) -> Advertiser {
        // Nothing is scheduled before start(); `now` is part of the machine
        // API (style §3) for symmetry with the other machines.
        let _ = now;
        Advertiser {
            config: config.sanitized(),
            content: AdvertContent::default(),
            rng: Rng::seed(seed),
            inconsistent_log: LogThrottle::new(INCONSISTENT_LOG_INTERVAL),
            phase: AdvertiserPhase::Idle,
            initial_left: 0,
            next_multicast: None,
            last_multicast: None,
            last_signature: None,
            content_deadline: None,
            pending_unicast: Vec::new(),
            recent_unicast: Vec::new(),
            hosts: HostTable::default(),
            source: None,
            told: None,
            out: VecDeque::new(),
            status: AdvertiserStatus::default(),
        }
    }

    /// The interface became an advertising interface (RFC 4861 §6.2.2):
    /// the first RA goes out at once, then up to
    /// MAX_INITIAL_RTR_ADVERTISEMENTS in all at intervals of at most
    /// MAX_INITIAL_RTR_ADVERT_INTERVAL (§6.2.4). No-op while advertising.
    pub fn start(&mut self, now: Instant) {
        if self.phase == AdvertiserPhase::Advertising {
            return;
        }
        tracing::info!(ifindex = self.config.ifindex, "RA advertising started");
        self.phase = AdvertiserPhase::Advertising;
        self.initial_left = MAX_INITIAL_RTR_ADVERTISEMENTS;
        self.last_signature = None;
        self.told = None;
        self.hosts.clear_pending();
        self.next_multicast = Some(self.earliest_multicast(now));
        self.run(now);
    }

    /// The interface stops advertising (RFC 4861 §6.2.5): one final
    /// multicast RA with Router Lifetime 0 (same prefixes), then silence.
    /// No-op unless advertising.
    pub fn stop(&mut self, now: Instant) {
        if self.phase != AdvertiserPhase::Advertising {
            return;
        }
        // Deviation: the final RA is not held back by MIN_DELAY_BETWEEN_RAS
        // (RFC 4861 §6.2.6): the interface is going away, and a single
        // packet cannot make a storm. MAX_FINAL_RTR_ADVERTISEMENTS allows up
        // to three; we send one.
        self.send_multicast(now, true);
        self.phase = AdvertiserPhase::Stopped;
        self.next_multicast = None;
        self.content_deadline = None;
        self.pending_unicast.clear();
        self.initial_left = 0;
        tracing::info!(ifindex = self.config.ifindex, "RA advertising stopped");
    }

    /// New content from the router policy. If what hosts see changes (a
    /// prefix appears, disappears or is deprecated, the default-router role
    /// changes, RIO/DNS sets change) an RA goes out as soon as the rate
    /// limit allows (at once if none went out in the last 3 s), followed by
    /// fast ones (RFC 4861 §6.2.4; RFC 9096 L-13, RFC 7084 G-5). If the
    /// change is urgent and the rate limit holds the multicast RA back,
    /// known hosts get a unicast RA at once (see the module docs).
    pub fn set_content(&mut self, now: Instant, content: AdvertContent) {
        let (content, dropped) = content::sanitize(content);
        self.status.content_items_dropped += dropped;
        self.content = content;
        self.run(now);
    }

    /// A reloaded configuration. If it differs, fast RAs announce it
    /// (RFC 4861 §6.2.4 allows them after any change of what is advertised);
    /// a Router Lifetime becoming 0 is urgent, as in
    /// [`Advertiser::set_content`].
    pub fn set_config(&mut self, now: Instant, config: AdvertiserConfig) {
        let config = config.sanitized();
        if config == self.config {
            return;
        }
        self.config = config;
        if self.phase == AdvertiserPhase::Advertising {
            self.announce_change(now);
        }
        self.run(now);
    }

    /// A datagram from the ICMPv6 socket on this interface. Never fails:
    /// anything invalid is counted under a [`DropReason`] and ignored.
    pub fn handle_packet(&mut self, now: Instant, rx: &Received<'_>) {
        if rx.ifindex != self.config.ifindex {
            self.drop_packet(DropReason::WrongInterface, rx);
            return;
        }
        match NdMessage::parse(rx.bytes) {
            Ok(NdMessage::RouterSolicit(rs)) => self.handle_rs(now, rx, &rs),
            Ok(NdMessage::RouterAdvert(ra)) => self.handle_ra(now, rx, &ra),
            Ok(_) => self.drop_packet(DropReason::NotRouterDiscovery, rx),
            Err(e) if matches!(e.kind, NdErrorKind::NotNeighborDiscovery { .. }) => {
                self.drop_packet(DropReason::NotRouterDiscovery, rx);
            }
            Err(error) => {
                tracing::debug!(src = %rx.src, %error, "malformed ND message");
                self.drop_packet(DropReason::Malformed, rx);
            }
        }
        self.run(now);
    }

    /// A host on the link learnt elsewhere (e.g. the kernel's neighbour
    /// table), to be told about urgent changes by unicast RA like the hosts
    /// that solicited. Only link-local addresses are kept (a host accepts
    /// RAs only from a link-local source, RFC 4861 §6.1.2, which the kernel
    /// picks only for a link-local destination); the set is bounded (see
    /// the module docs). Sends nothing by itself.
    ///
    /// With a source set ([`Advertiser::set_source`]) global addresses are
    /// kept too: a host the kernel knows only by a global address (its
    /// Neighbor Solicitation came from one) is then sent the RA from our
    /// link-local address, which is all RFC 4861 §6.1.2 asks of a valid RA.
    pub fn note_neighbor(&mut self, now: Instant, addr: Ipv6Addr) {
        if is_link_local(addr) {
            self.hosts.learn(now, addr, None);
        } else if self.source.is_some() {
            self.hosts.learn_unicast(now, addr);
        }
    }

    /// Our link-local address on the link, named as the source of unicast
    /// RAs to non-link-local destinations. Anything but a link-local
    /// address clears it (an RA from another source is invalid).
    pub fn set_source(&mut self, addr: Option<Ipv6Addr>) {
        self.source = addr.filter(|a| is_link_local(*a));
    }

    /// Time has passed. Spurious and early calls do nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.run(now);
    }

    /// The next datagram to send, if any.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.out.pop_front()
    }

    /// When [`Advertiser::handle_timeout`] should be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.phase != AdvertiserPhase::Advertising {
            return None;
        }
        let unicast = self.pending_unicast.iter().map(|p| p.at).min();
        [
            self.next_multicast,
            unicast,
            self.hosts.next_due(),
            self.content_deadline,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Counters and schedule, as plain data.
    pub fn status(&self) -> AdvertiserStatus {
        let mut s = self.status.clone();
        s.phase = self.phase;
        s.next_multicast_at = self.next_multicast;
        s.last_multicast_at = self.last_multicast;
        s.initial_remaining = self.initial_left;
        s.pending_unicast = self.pending_unicast.len();
        s.known_hosts = self.hosts.len();
        s
    }

    /// The hosts that would get a unicast RA on an urgent change (some may
    /// be past [`crate::KNOWN_HOST_TTL`] until the next call that takes
    /// `now`).
    pub fn known_hosts(&self) -> impl Iterator<Item = &KnownHost> {
        self.hosts.iter()
    }

    /// The configuration in force (after clamping into RFC ranges).
    pub fn config(&self) -> &AdvertiserConfig {
        &self.config
    }

    /// The content in force (after dropping what cannot be advertised).
    pub fn content(&self) -> &AdvertContent {
        &self.content
    }

    // ---- internals ----

    fn drop_packet(&mut self, reason: DropReason, rx: &Received<'_>) {
        tracing::debug!(src = %rx.src, hop_limit = rx.hop_limit, reason = reason.as_str(), "ND packet dropped");
        self.status.dropped.add(reason);
    }

    /// RFC 4861 §6.1.1 validation, then §6.2.6 / RFC 7772 scheduling.
    fn handle_rs(&mut self, now: Instant, rx: &Received<'_>, rs: &RouterSolicit) {
        self.status.rs_received += 1;
        if rx.hop_limit != ND_HOP_LIMIT {
            self.drop_packet(DropReason::HopLimit, rx);
            return;
        }
        let lla = rs.source_lla();
        // RFC 4861 §6.1.1: an unspecified source must not carry an SLLA.
        if rx.src.is_unspecified() && lla.is_some() {
            self.drop_packet(DropReason::UnspecifiedSourceWithLla, rx);
            return;
        }
        // A valid RS: its (link-local) sender is a host to tell about
        // urgent changes, even if we are not advertising yet.
        self.hosts.learn(now, rx.src, lla);
        if self.phase != AdvertiserPhase::Advertising {
            self.drop_packet(DropReason::NotAdvertising, rx);
            return;
        }
        // RFC 4861 §6.2.6: every solicited RA waits a random 0..=0.5 s.
        let delay = self.rng.duration_between(Duration::ZERO, MAX_RA_DELAY_TIME);
        // RFC 7772: answer a host that can be reached directly by
        // unicast, sparing every sleeping host on the link a wake-up. Only
        // a link-local source: the kernel answers a global destination from
        // a global source (RFC 6724 §5 rule 2), and hosts discard an RA
        // whose source is not link-local (RFC 4861 §6.1.2).
        if is_link_local(rx.src) && lla.is_some() {
            self.recent_unicast
                .retain(|&(_, at)| at + MIN_DELAY_BETWEEN_RAS > now);
            let pending = self.pending_unicast.iter().any(|p| p.dst == rx.src);
            let recent = self.recent_unicast.iter().any(|&(dst, _)| dst == rx.src);
            if pending || recent {
                // One unicast RA per host per MIN_DELAY_BETWEEN_RAS.
                self.drop_packet(DropReason::RateLimited, rx);
                return;
            }
            if self.pending_unicast.len() < MAX_PENDING_UNICAST
                && self.recent_unicast.len() < MAX_RECENT_UNICAST
            {
                self.pending_unicast.push(PendingUnicast {
                    dst: rx.src,
                    at: now + delay,
                });
                return;
            }
            tracing::debug!(src = %rx.src, "unicast RA table full, answering by multicast");
        }
        // RFC 4861 §6.2.6: if a multicast RA went out in the last
        // MIN_DELAY_BETWEEN_RAS, answer at that RA + MIN_DELAY_BETWEEN_RAS +
        // the random delay; an RA already scheduled earlier serves as the
        // answer.
        let mut at = now + delay;
        if let Some(last) = self.last_multicast
            && now < last + MIN_DELAY_BETWEEN_RAS
        {
            at = last + MIN_DELAY_BETWEEN_RAS + delay;
        }
        self.next_multicast = Some(self.next_multicast.map_or(at, |t| t.min(at)));
    }

    /// RFC 4861 §6.1.2 validation, then §6.2.7 consistency checks.
    fn handle_ra(&mut self, now: Instant, rx: &Received<'_>, ra: &RouterAdvert) {
        self.status.ra_received += 1;
        if rx.hop_limit != ND_HOP_LIMIT {
            self.drop_packet(DropReason::HopLimit, rx);
            return;
        }
        // RFC 4861 §6.1.2: an RA's source MUST be a link-local address.
        if !is_link_local(rx.src) {
            self.drop_packet(DropReason::NotLinkLocalSource, rx);
            return;
        }
        let issues = self.inconsistencies(now, ra);
        if !issues.is_empty() {
            self.status.ra_inconsistent += 1;
            self.status.last_inconsistent_router = Some(rx.src);
            // RFC 4861 §6.2.7: log so the operator can fix it; the RA is
            // otherwise ignored by a router. Throttled: anyone on the link
            // can send RAs from any number of made-up routers.
            if let Some(held_back) = self.inconsistent_log.allow(now) {
                tracing::warn!(
                    ifindex = self.config.ifindex,
                    router = %rx.src,
                    fields = ?issues,
                    also_inconsistent_since_last_line = held_back,
                    "inconsistent RA from another router"
                );
            }
        }
    }

    /// The RFC 4861 §6.2.7 fields that differ between `ra` and what we
    /// would advertise now.
    fn inconsistencies(&self, now: Instant, ra: &RouterAdvert) -> Vec<&'static str> {
        let cfg = &self.config;
        let mut issues = Vec::new();
        if ra.cur_hop_limit != 0 && cfg.cur_hop_limit != 0 && ra.cur_hop_limit != cfg.cur_hop_limit
        {
            issues.push("cur_hop_limit");
        }
        if ra.flags.managed != cfg.managed {
            issues.push("managed");
        }
        if ra.flags.other != cfg.other_config {
            issues.push("other_config");
        }
        if ra.reachable_time != 0
            && cfg.reachable_time != 0
            && ra.reachable_time != cfg.reachable_time
        {
            issues.push("reachable_time");
        }
        if ra.retrans_timer != 0 && cfg.retrans_timer != 0 && ra.retrans_timer != cfg.retrans_timer
        {
            issues.push("retrans_timer");
        }
        if let (Some(theirs), Some(ours)) = (ra.options.mtu(), cfg.mtu)
            && theirs != ours
        {
            issues.push("mtu");
        }
        let built = View::new(cfg, &self.content, now).build(false);
        let ours: Vec<_> = built
            .packets
            .iter()
            .flat_map(|p| p.options.prefixes().cloned())
            .collect();
        for theirs in ra.options.prefixes() {
            // With the R flag (RFC 6275 §7.2) the field holds a router's
            // whole address: compare the prefixes it carries.
            let Some(mine) = ours.iter().find(|m| {
                m.prefix_len == theirs.prefix_len
                    && masked(m.prefix, m.prefix_len) == masked(theirs.prefix, theirs.prefix_len)
            }) else {
                continue;
            };
            if !lifetimes_agree(mine.valid, theirs.valid) {
                issues.push("prefix_valid_lifetime");
            }
            if !lifetimes_agree(mine.preferred, theirs.preferred) {
                issues.push("prefix_preferred_lifetime");
            }
        }
        issues.dedup();
        issues
    }

    /// The earliest a multicast RA may leave (RFC 4861 §6.2.6 rate limit).
    fn earliest_multicast(&self, now: Instant) -> Instant {
        match self.last_multicast {
            Some(last) => now.max(last + MIN_DELAY_BETWEEN_RAS),
            None => now,
        }
    }

    /// What hosts see changed: fast RAs, the first as soon as allowed.
    fn announce_change(&mut self, now: Instant) {
        self.initial_left = MAX_INITIAL_RTR_ADVERTISEMENTS;
        let at = self.earliest_multicast(now);
        self.next_multicast = Some(self.next_multicast.map_or(at, |t| t.min(at)));
    }

    /// What hosts were last told, seen at `now`, if it differs from what
    /// we would say now (`None` too when nothing was told yet).
    fn told_if_changed(&self, now: Instant) -> Option<View<'_>> {
        let (config, content) = self.told.as_ref()?;
        (*config != self.config || *content != self.content)
            .then(|| View::new(config, content, now))
    }

    /// If what hosts were last told and what we would say now differ
    /// urgently (both as of `now`), and the rate limit holds the multicast
    /// RA back, owes every known host a unicast RA (see the module docs).
    fn check_urgent(&mut self, now: Instant, current: &Signature) {
        // Nothing told yet: the first RA goes out at once anyway.
        let Some(told) = self.told_if_changed(now) else {
            return;
        };
        let told = told.signature();
        let Some(change) = told.urgent_change(current) else {
            return;
        };
        self.told = Some((self.config.clone(), self.content.clone()));
        self.status.urgent_changes += 1;
        self.announce_change(now);
        if self.earliest_multicast(now) <= now {
            tracing::debug!(
                ifindex = self.config.ifindex,
                ?change,
                "urgent change, multicast RA at once"
            );
            return;
        }
        // RFC 4861 §6.2.6 holds the multicast RA back; its limit is on
        // all-nodes RAs only, so reach the hosts we know by unicast now.
        tracing::info!(
            ifindex = self.config.ifindex,
            ?change,
            hosts = self.hosts.len(),
            "urgent change within MIN_DELAY_BETWEEN_RAS of the last multicast RA, unicast RAs to known hosts"
        );
        self.hosts.mark_all_pending();
    }

    /// A renewal upstream lengthened lifetimes we advertise below their
    /// limits (RFC 9096 L-16 ties them to the delegation), while hosts keep
    /// counting down what they were told. If the next multicast RA would
    /// come after half of what they still hold has run out, it leaves as
    /// soon as the rate limit allows; otherwise the regular RA carries the
    /// news. Without this a host loses its address between two RAs of a
    /// 200..600 s interval whenever the delegation's lifetimes are shorter.
    fn check_lengthened(&mut self, now: Instant) {
        let Some(told) = self.told_if_changed(now) else {
            return;
        };
        let current = View::new(&self.config, &self.content, now);
        let Some(held) = content::lengthened(&told, &current).and_then(Lifetime::as_duration)
        else {
            return;
        };
        let deadline = now + held / 2;
        if self.next_multicast.is_some_and(|t| t <= deadline) {
            return;
        }
        self.status.lifetime_refreshes += 1;
        let at = self.earliest_multicast(now);
        tracing::debug!(
            ifindex = self.config.ifindex,
            ?held,
            "advertised lifetimes lengthened, RA soon"
        );
        self.next_multicast = Some(at);
    }

    /// An urgent unicast RA to `dst`.
    fn send_urgent(&mut self, now: Instant, dst: Ipv6Addr) {
        let packets = self.send(now, dst, false);
        self.status.urgent_unicast += packets;
        // It also answers a solicitation from the host still waiting for
        // its delayed reply: same content, sooner (RFC 7772 rate limit
        // then counts from now).
        if let Some(i) = self.pending_unicast.iter().position(|p| p.dst == dst) {
            self.pending_unicast.swap_remove(i);
            self.recent_unicast.push((dst, now));
        }
    }

    /// Brings the machine up to `now`: notices content changes, sends what
    /// is due, recomputes the content deadline.
    fn run(&mut self, now: Instant) {
        if self.phase != AdvertiserPhase::Advertising {
            return;
        }
        self.hosts.expire(now);
        let view = View::new(&self.config, &self.content, now);
        let signature = view.signature();
        if self
            .last_signature
            .as_ref()
            .is_some_and(|s| *s != signature)
        {
            tracing::debug!(
                ifindex = self.config.ifindex,
                "advertised state changed, RA soon"
            );
            self.announce_change(now);
        }
        self.check_urgent(now, &signature);
        self.check_lengthened(now);
        if self.next_multicast.is_some_and(|t| t <= now) {
            self.send_multicast(now, false);
        }
        for dst in self.hosts.take_due(now) {
            self.send_urgent(now, dst);
        }
        let mut due = Vec::new();
        self.pending_unicast.retain(|p| {
            let ready = p.at <= now;
            if ready {
                due.push(p.dst);
            }
            !ready
        });
        for dst in due {
            self.send(now, dst, false);
            self.recent_unicast.push((dst, now));
        }
        self.content_deadline = View::new(&self.config, &self.content, now).next_change();
    }

    fn send_multicast(&mut self, now: Instant, final_ra: bool) {
        self.send(now, ALL_NODES, final_ra);
        self.last_multicast = Some(now);
        self.last_signature = Some(View::new(&self.config, &self.content, now).signature());
        self.told = Some((self.config.clone(), self.content.clone()));
        // Everyone just heard this RA, including hosts waiting for a
        // unicast answer or owed an urgent one.
        self.pending_unicast.clear();
        self.hosts.clear_pending();
        // RFC 4861 §6.2.4: reset the timer to a uniform random value in
        // [MinRtrAdvInterval, MaxRtrAdvInterval], capped at 16 s for the
        // first few.
        self.initial_left = self.initial_left.saturating_sub(1);
        let mut interval = self
            .rng
            .duration_between(self.config.min_interval, self.config.max_interval);
        if self.initial_left > 0 {
            interval = interval.min(MAX_INITIAL_RTR_ADVERT_INTERVAL);
        }
        self.next_multicast = Some(now + interval);
    }

    /// Queues the RA(s) for `dst`; returns how many packets.
    fn send(&mut self, now: Instant, dst: Ipv6Addr, final_ra: bool) -> u64 {
        let multicast = dst.is_multicast();
        // The kernel would pick a global source for a global destination:
        // name our link-local one, or send nothing (RFC 4861 §6.1.2).
        let src = if multicast || is_link_local(dst) {
            None
        } else {
            match self.source {
                Some(s) => Some(s),
                None => return 0,
            }
        };
        let built = View::new(&self.config, &self.content, now).build(final_ra);
        let count = built.packets.len() as u64;
        for ra in built.packets {
            let payload = NdMessage::RouterAdvert(ra).to_bytes();
            self.out.push_back(Transmit {
                ifindex: self.config.ifindex,
                src,
                dst,
                transport: Transport::Icmpv6,
                hop_limit: Some(ND_HOP_LIMIT),
                payload,
            });
            if multicast {
                self.status.ra_sent_multicast += 1;
            } else {
                self.status.ra_sent_unicast += 1;
            }
        }
        self.status.last_router_lifetime = Some(built.router_lifetime);
        self.status.last_sent_at = Some(now);
        tracing::debug!(ifindex = self.config.ifindex, dst = %dst, router_lifetime = built.router_lifetime, final_ra, "RA sent");
        count
    }
}

/// The first `len` bits of `addr` (all of it from 128 on).
fn masked(addr: Ipv6Addr, len: u8) -> Ipv6Addr {
    let bits = u128::from(addr);
    let mask = u128::MAX
        .checked_shl(128 - u32::from(len.min(128)))
        .unwrap_or(0);
    Ipv6Addr::from(bits & mask)
}

fn lifetimes_agree(a: Lifetime, b: Lifetime) -> bool {
    match (a, b) {
        (Lifetime::Finite(x), Lifetime::Finite(y)) => {
            u64::from(x.abs_diff(y)) <= LIFETIME_SLACK_SECS
        }
        (x, y) => x == y,
    }
}
