//! The DHCPv6 client against a fake server written here: every scenario is
//! driven by explicit instants (no sleeping) and checks what went out, when,
//! and what the client reported.

mod common;

use common::*;
use std::net::Ipv6Addr;
use std::time::Duration;
use v6edge_core::{Instant, Received};
use v6edge_dhcp6::client::{
    Client, ClientConfig, ClientEvent, ClientStateKind, DropReason, IaPdConfig, StoredBinding,
    StoredPrefix,
};
use v6edge_prefix::Prefix;
use v6edge_wire::Lifetime;
use v6edge_wire::dhcp6::{
    ClientMessage, DhcpOption, IaPd, Message, MessageType, OptionCode, RelayMessage, StatusCode,
    Xid,
};

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

fn state(h: &Harness) -> ClientStateKind {
    h.c.status(h.now).state
}

/// A fresh client with `config` and the first Solicit it sent.
fn started(config: ClientConfig, seed: u64) -> (Harness, Sent) {
    let mut h = Harness::new(config, seed);
    let sol = h.start();
    (h, sol)
}

/// [`pd_config`] with Rapid Commit asked for.
fn rapid_config() -> ClientConfig {
    let mut cfg = pd_config();
    cfg.rapid_commit = true;
    cfg
}

/// The single prefix the last `Changed` event reports.
fn only_prefix(h: &Harness) -> Prefix {
    let l = h.leases().expect("Changed");
    assert_eq!(l.prefixes.len(), 1);
    l.prefixes[0].prefix
}

/// Bound on IA_PD 1 to 2001:db8:1::/56: T1 100 s, T2 160 s, preferred
/// 200 s, valid 300 s.
fn bound(seed: u64) -> Harness {
    let mut h = Harness::new(pd_config(), seed);
    h.bind("2001:db8:1::/56", 100, 160, 200, 300);
    h
}

/// Bound on IA_PD 1 to 2001:db8:1::/56: T1 1000 s, T2 1600 s, preferred
/// 2000 s, valid 3000 s.
fn bound_long(seed: u64) -> Harness {
    let mut h = Harness::new(pd_config(), seed);
    h.bind("2001:db8:1::/56", 1000, 1600, 2000, 3000);
    h
}

/// From a fresh binding with T1 100 s: the instant it bound and the
/// Renew sent at T1.
fn renew_at_t1(h: &mut Harness) -> (Instant, Sent) {
    let t = h.now;
    (t, h.sent_by(t + secs(100)))
}

/// IA_PD 1 holding 2001:db8:1::/56 with T1/T2 0 and lifetimes 100/200 s:
/// the offer most exchanges use.
fn offer() -> Vec<DhcpOption> {
    pd1("2001:db8:1::/56", 0, 0, 100, 200)
}

/// The same prefix as [`bound`] holds it: T1 100, T2 160, 200/300 s.
fn renewed() -> Vec<DhcpOption> {
    pd1("2001:db8:1::/56", 100, 160, 200, 300)
}

/// What a client puts in IA_PD 1 for a prefix it holds or hints at.
fn asked(prefix: &str) -> Vec<(Ipv6Addr, u8)> {
    let p = pfx(prefix);
    vec![(p.addr(), p.len())]
}

// ------------------------------------------------------------------ basics --

#[test]
fn solicit_advertise_request_reply() {
    let mut h = Harness::new(pd_config(), 1);
    // Waits for the link before anything.
    assert_eq!(h.c.poll_timeout(), None);
    assert_eq!(state(&h), ClientStateKind::WaitingLink);
    h.link(true);
    // RFC 8415 §18.2.1: the first Solicit waits a random 0..SOL_MAX_DELAY.
    let first = h.c.poll_timeout().expect("Solicit scheduled");
    assert!(first <= at(1), "{first:?}");
    h.advance_to(first);
    let sol = h.last().clone();
    assert_eq!(
        (sol.ty(), sol.at, h.sent.len()),
        (MessageType::Solicit, first, 1)
    );
    assert_eq!(sol.elapsed(), Some(0));
    assert_eq!(sol.msg.options.client_id(), Some(&client_duid()));
    assert!(sol.msg.options.server_id().is_none());
    assert!(!sol.msg.options.has_rapid_commit());
    assert!(!sol.msg.options.has_reconfigure_accept());
    let oro = sol.msg.options.oro().expect("ORO");
    // RFC 8415 §18.2.1 / RFC 7084 WAA-8: SOL_MAX_RT always requested; the
    // Information Refresh Time only in Information-request (§21.23).
    for c in [
        OptionCode::SolMaxRt,
        OptionCode::DnsServers,
        OptionCode::DomainList,
    ] {
        assert!(oro.contains(&c), "{c:?} missing from {oro:?}");
    }
    assert!(!oro.contains(&OptionCode::InformationRefreshTime));
    assert!(!oro.contains(&OptionCode::InfMaxRt));
    // WPD-2: the length hint as ::/56 with zero lifetimes.
    let hint = sol
        .ia_pd(1)
        .expect("IA_PD 1")
        .prefixes()
        .next()
        .expect("hint")
        .clone();
    assert_eq!(
        (hint.prefix, hint.prefix_len, hint.preferred, hint.valid),
        (Ipv6Addr::UNSPECIFIED, 56, Lifetime::ZERO, Lifetime::ZERO)
    );

    h.advance(ms(500));
    let offered = pd1("2001:db8:1200::/56", 1800, 2880, 3600, 7200);
    h.deliver_advertise(&sol, 1, None, offered.clone());
    // Preference 0: keep collecting until the first RT ends.
    assert_eq!(h.sent.len(), 1);
    let rt_end = h.c.poll_timeout().expect("collection deadline");
    assert!(
        rt_end > first + secs(1) && rt_end <= first + ms(1100),
        "first RT ends at {rt_end:?}"
    );
    h.advance_to(rt_end);
    let req = h.last().clone();
    assert_eq!((req.ty(), req.at), (MessageType::Request, rt_end));
    assert_ne!(req.xid(), sol.xid());
    assert_eq!(req.msg.options.server_id(), Some(&server_duid(1)));
    assert_eq!(req.pd_prefixes(1), asked("2001:db8:1200::/56"));
    assert_eq!(req.elapsed(), Some(0));
    assert!(req.asks_for(OptionCode::SolMaxRt));

    h.advance(ms(20));
    h.deliver_reply(&req, 1, offered);
    let bound_at = h.now;
    let l = h.leases().expect("Changed").clone();
    assert_eq!(l.prefixes.len(), 1);
    assert_eq!(l.prefixes[0].iaid, 1);
    assert_eq!(l.prefixes[0].prefix, pfx("2001:db8:1200::/56"));
    assert_eq!(l.prefixes[0].preferred_until, Some(bound_at + secs(3600)));
    assert_eq!(l.prefixes[0].valid_until, Some(bound_at + secs(7200)));
    assert_eq!(l.server_duid, Some(server_duid(1)));
    assert_eq!(
        l.dns_servers,
        vec!["2001:db8::53".parse::<Ipv6Addr>().unwrap()]
    );
    assert_eq!(l.domains, vec!["example.net".to_string()]);
    let st = h.c.status(h.now);
    assert_eq!(st.state, ClientStateKind::Bound);
    assert_eq!(st.ia_timers[0].t1, Some(secs(1800)));
    assert_eq!(st.ia_timers[0].t2, Some(secs(2880)));
    assert_eq!(h.c.poll_timeout(), Some(bound_at + secs(1800)));
    let k = &st.counters;
    assert_eq!(
        (k.sent(MessageType::Solicit), k.sent(MessageType::Request)),
        (1, 1)
    );
    assert_eq!(
        (
            k.received(MessageType::Advertise),
            k.received(MessageType::Reply)
        ),
        (1, 1)
    );
    assert_eq!(k.dropped_total(), 0);
    // Nothing more until T1.
    let n = h.sent.len();
    h.advance_to(bound_at + secs(1799));
    assert_eq!(h.sent.len(), n);
}

#[test]
fn preference_255_is_taken_at_once() {
    let (mut h, sol) = started(pd_config(), 2);
    h.advance(ms(100));
    let req = h.take_offer(&sol, 3, offer());
    assert_eq!((req.ty(), req.at), (MessageType::Request, h.now));
    assert_eq!(req.msg.options.server_id(), Some(&server_duid(3)));
}

#[test]
fn highest_preference_wins_after_first_rt_and_ties_go_to_the_first() {
    let (mut h, sol) = started(pd_config(), 3);
    let offer = |p: &str| pd1(p, 0, 0, 100, 200);
    h.deliver_advertise(&sol, 1, Some(10), offer("2001:db8:1::/56"));
    h.advance(ms(10));
    h.deliver_advertise(&sol, 2, Some(20), offer("2001:db8:2::/56"));
    h.advance(ms(10));
    h.deliver_advertise(&sol, 3, Some(20), offer("2001:db8:3::/56"));
    assert_eq!(h.sent.len(), 1, "still collecting");
    h.advance(secs(2));
    let req = h.sent_of(MessageType::Request)[0].clone();
    assert_eq!(req.msg.options.server_id(), Some(&server_duid(2)));
    assert_eq!(req.pd_prefixes(1), asked("2001:db8:2::/56"));
    // A late Advertise for the old Solicit no longer matches any exchange.
    h.take_offer(&sol, 4, offer("2001:db8:4::/56"));
    assert_eq!(h.c.counters().dropped(DropReason::WrongXid), 1);
    assert!(
        h.sent_of(MessageType::Request)
            .iter()
            .all(|r| r.msg.options.server_id() == Some(&server_duid(2)))
    );
}

#[test]
fn advertise_after_first_rt_is_taken_at_once() {
    let (mut h, sol) = started(pd_config(), 4);
    h.advance(secs(2));
    let again = h.sent_of(MessageType::Solicit);
    assert_eq!(again.len(), 2, "retransmitted once");
    // RFC 8415 §15: retransmissions keep the xid; Elapsed Time grows.
    assert_eq!(again[1].xid(), sol.xid());
    let e = again[1].elapsed().unwrap();
    let expect = ((again[1].at - sol.at).as_millis() / 10) as u16;
    assert_eq!(e, expect);
    assert!(e >= 100);
    h.deliver_advertise(&sol, 1, Some(0), offer());
    assert_eq!((h.last().ty(), h.last().at), (MessageType::Request, h.now));
}

#[test]
fn rapid_commit_reply_binds_without_request() {
    let (mut h, sol) = started(rapid_config(), 5);
    assert!(sol.msg.options.has_rapid_commit());
    // A Reply without Rapid Commit is not an answer to Solicit.
    h.deliver_reply(&sol, 1, offer());
    assert_eq!(h.c.counters().dropped(DropReason::RapidCommitUnexpected), 1);
    assert_eq!(state(&h), ClientStateKind::Soliciting);
    h.deliver_reply(&sol, 1, rapid(offer()));
    assert_eq!(state(&h), ClientStateKind::Bound);
    assert!(h.sent_of(MessageType::Request).is_empty());
    let got = h.leases().unwrap().prefixes[0].prefix;
    assert_eq!(got, pfx("2001:db8:1::/56"));
}

#[test]
fn rapid_commit_client_accepts_advertise_from_server_without_it() {
    // KAME S9: RC to a non-RC server -> Advertise accepted.
    let (mut h, sol) = started(rapid_config(), 6);
    let req = h.take_offer(&sol, 1, offer());
    assert_eq!(req.ty(), MessageType::Request);
    assert!(!req.msg.options.has_rapid_commit());
    h.deliver_reply(&req, 1, offer());
    assert_eq!(state(&h), ClientStateKind::Bound);
}

#[test]
fn reply_without_rapid_commit_not_asked_for_is_dropped() {
    let (mut h, sol) = started(pd_config(), 6);
    h.deliver_reply(&sol, 1, rapid(offer()));
    assert_eq!(h.c.counters().dropped(DropReason::RapidCommitUnexpected), 1);
    assert_eq!(state(&h), ClientStateKind::Soliciting);
}

/// `opts` after a Rapid Commit option.
fn rapid(mut opts: Vec<DhcpOption>) -> Vec<DhcpOption> {
    opts.insert(0, DhcpOption::RapidCommit);
    opts
}

// ------------------------------------------------------------ T1, T2, expiry --

#[test]
fn t1_t2_zero_use_half_and_four_fifths_of_preferred() {
    // KAME X4, RFC 8415 §21.21.
    let mut h = Harness::new(pd_config(), 7);
    h.bind("2001:db8:1::/56", 0, 0, 1000, 2000);
    let t = h.now;
    assert_eq!(h.c.poll_timeout(), Some(t + secs(500)));
    h.advance_to(t + secs(499));
    assert!(h.sent_of(MessageType::Renew).is_empty());
    h.advance_to(t + secs(500));
    assert_eq!(h.last().ty(), MessageType::Renew);
    assert_eq!(h.last().at, t + secs(500));
    h.advance_to(t + secs(800));
    assert_eq!(
        (h.last().ty(), h.last().at),
        (MessageType::Rebind, t + secs(800))
    );
}

#[test]
fn renew_at_t1_rebind_at_t2_and_expiry_removes_the_prefix() {
    let mut h = bound(8);
    h.take_events();
    let (t, renew) = renew_at_t1(&mut h);
    assert_eq!((renew.ty(), renew.at), (MessageType::Renew, t + secs(100)));
    assert_eq!(renew.msg.options.server_id(), Some(&server_duid(1)));
    let pd = renew.ia_pd(1).expect("IA_PD in Renew");
    let p = pd.prefixes().next().expect("held prefix");
    assert_eq!(vec![(p.prefix, p.prefix_len)], asked("2001:db8:1::/56"));
    // RFC 8415 §21.21/§21.22: a client sends zero T1/T2 and lifetimes.
    assert_eq!(
        (pd.t1, pd.t2, p.preferred, p.valid),
        (0, 0, Lifetime::ZERO, Lifetime::ZERO)
    );

    // Unanswered: Renews (REN_TIMEOUT 10 s, doubling) until T2, then Rebind.
    h.advance_to(t + secs(159));
    let renews = h.sent_of(MessageType::Renew);
    assert!(renews.len() >= 3, "{}", renews.len());
    let gap = renews[1].at - renews[0].at;
    assert!(gap >= secs(9) && gap <= secs(11), "{gap:?}");
    assert!(renews.iter().all(|r| r.xid() == renew.xid()));
    h.advance_to(t + secs(160));
    let rebind = h.last().clone();
    assert_eq!(
        (rebind.ty(), rebind.at),
        (MessageType::Rebind, t + secs(160))
    );
    assert!(rebind.msg.options.server_id().is_none());
    assert_ne!(rebind.xid(), renew.xid());
    assert_eq!(rebind.pd_prefixes(1), asked("2001:db8:1::/56"));
    assert!(h.take_events().is_empty(), "nothing changes before expiry");

    // Unanswered until the valid lifetime ends (KAME X7): removed exactly then.
    h.advance_to(t + secs(299));
    assert!(h.take_events().is_empty());
    h.advance_to(t + secs(300));
    let l = h.leases().expect("Changed at expiry");
    assert!(l.prefixes.is_empty());
    assert_eq!(l.server_duid, None);
    assert!(
        h.sent
            .iter()
            .filter(|s| s.ty() == MessageType::Rebind)
            .all(|s| s.at < t + secs(300))
    );
    assert_eq!(state(&h), ClientStateKind::Soliciting);
    h.advance_to(t + secs(301));
    assert_eq!(h.last().ty(), MessageType::Solicit);
}

#[test]
fn renew_reply_refreshes_lifetimes() {
    let mut h = bound(9);
    let (_, renew) = renew_at_t1(&mut h);
    h.take_events();
    h.advance(secs(1));
    h.deliver_reply(&renew, 1, renewed());
    let now = h.now;
    let l = h.leases().expect("lifetimes changed");
    assert_eq!(l.prefixes[0].valid_until, Some(now + secs(300)));
    assert_eq!(state(&h), ClientStateKind::Bound);
    assert_eq!(h.c.poll_timeout(), Some(now + secs(100)));
}

#[test]
fn nobinding_in_renew_reply_sends_request() {
    // RFC 8415 §18.2.10.1, KAME S12.
    let mut h = bound(10);
    let (_, renew) = renew_at_t1(&mut h);
    h.deliver_reply(&renew, 1, vec![ia_pd_status(1, StatusCode::NoBinding)]);
    let req = h.last().clone();
    assert_eq!((req.ty(), req.at), (MessageType::Request, h.now));
    assert_eq!(req.msg.options.server_id(), Some(&server_duid(1)));
    assert_eq!(req.pd_prefixes(1), asked("2001:db8:1::/56"));
    assert_ne!(req.xid(), renew.xid());
    // The prefix is still ours meanwhile.
    assert_eq!(h.c.status(h.now).leases.prefixes.len(), 1);
    h.deliver_reply(&req, 1, renewed());
    assert_eq!(state(&h), ClientStateKind::Bound);
    assert_eq!(h.c.poll_timeout(), Some(h.now + secs(100)));
}

#[test]
fn zero_lifetime_removes_and_new_prefix_is_added() {
    let mut h = bound(11);
    let (_, renew) = renew_at_t1(&mut h);
    let swap = [("2001:db8:1::/56", 0, 0), ("2001:db8:2::/56", 200, 300)];
    h.deliver_reply(&renew, 1, vec![ia_pd(1, 100, 160, &swap)]);
    assert_eq!(only_prefix(&h), pfx("2001:db8:2::/56"));
}

#[test]
fn prefixes_left_out_of_a_reply_keep_their_lifetimes() {
    let (mut h, sol) = started(pd_config(), 12);
    let two = [("2001:db8:1::/56", 200, 300), ("2001:db8:2::/56", 200, 300)];
    let req = h.take_offer(&sol, 1, vec![ia_pd(1, 100, 160, &two)]);
    h.deliver_reply(&req, 1, vec![ia_pd(1, 100, 160, &two)]);
    let (t, renew) = renew_at_t1(&mut h);
    h.advance(secs(5));
    h.deliver_reply(&renew, 1, pd1("2001:db8:2::/56", 100, 160, 200, 300));
    let l = h.leases().unwrap().clone();
    let valid_until = |p: &str| {
        l.prefixes
            .iter()
            .find(|d| d.prefix == pfx(p))
            .expect(p)
            .valid_until
    };
    assert_eq!(valid_until("2001:db8:1::/56"), Some(t + secs(300)));
    assert_eq!(valid_until("2001:db8:2::/56"), Some(h.now + secs(300)));
    // The old one then expires on its own.
    h.advance_to(t + secs(300));
    assert_eq!(only_prefix(&h), pfx("2001:db8:2::/56"));
}

// ------------------------------------------------------- status codes, X16 --

#[test]
fn noprefixavail_in_advertise_both_encodings_is_ignored() {
    // KAME X16: inside the IA_PD (RFC 8415) and at top level (KAME).
    let (mut h, sol) = started(pd_config(), 13);
    let none = || status(StatusCode::NoPrefixAvail);
    h.take_offer(&sol, 1, vec![ia_pd_status(1, StatusCode::NoPrefixAvail)]);
    h.take_offer(&sol, 2, vec![none(), DhcpOption::IaPd(IaPd::new(1, 0, 0))]);
    h.take_offer(&sol, 3, vec![none()]);
    // A top-level NoPrefixAvail overrides prefixes the IA_PD carries anyway.
    let mut overridden = pd1("2001:db8:4::/56", 0, 0, 100, 200);
    overridden.insert(0, none());
    h.take_offer(&sol, 4, overridden);
    assert_eq!(h.c.counters().dropped(DropReason::NothingOffered), 4);
    h.advance(secs(2));
    assert!(h.sent_of(MessageType::Request).is_empty());
    assert_eq!(h.sent_of(MessageType::Solicit).len(), 2, "keeps soliciting");
    h.deliver_advertise(&sol, 5, None, pd1("2001:db8:5::/56", 0, 0, 100, 200));
    assert_eq!(h.last().ty(), MessageType::Request);
    assert_eq!(h.last().msg.options.server_id(), Some(&server_duid(5)));
}

#[test]
fn noprefixavail_in_renew_reply_keeps_the_prefix_until_it_expires() {
    for top_level in [false, true] {
        let mut h = bound(14);
        let (t, renew) = renew_at_t1(&mut h);
        h.take_events();
        let opts = if top_level {
            vec![
                status(StatusCode::NoPrefixAvail),
                DhcpOption::IaPd(IaPd::new(1, 0, 0)),
            ]
        } else {
            vec![ia_pd_status(1, StatusCode::NoPrefixAvail)]
        };
        h.deliver_reply(&renew, 1, opts);
        assert_eq!(state(&h), ClientStateKind::Bound);
        assert_eq!(h.c.status(h.now).leases.prefixes.len(), 1);
        assert!(
            h.events
                .iter()
                .all(|e| !matches!(e, ClientEvent::Changed(l) if l.prefixes.is_empty()))
        );
        h.advance_to(t + secs(300));
        assert!(
            h.leases().expect("expired").prefixes.is_empty(),
            "top_level={top_level}"
        );
    }
}

#[test]
fn unspecfail_reply_keeps_retransmitting() {
    let (mut h, sol) = started(pd_config(), 15);
    let req = h.take_offer(&sol, 1, offer());
    h.deliver_reply(&req, 1, vec![status(StatusCode::UnspecFail)]);
    assert_eq!(h.c.counters().dropped(DropReason::StatusFailure), 1);
    assert_eq!(state(&h), ClientStateKind::Requesting);
    h.advance(secs(2));
    assert_eq!(h.sent_of(MessageType::Request).len(), 2);
}

#[test]
fn ia_with_t1_above_t2_and_prefix_with_preferred_above_valid_are_ignored() {
    // KAME X5, X6; RFC 8415 §21.21, §21.22.
    let (mut h, sol) = started(pd_config(), 16);
    h.take_offer(&sol, 1, pd1("2001:db8:1::/56", 200, 100, 100, 200));
    h.take_offer(&sol, 2, pd1("2001:db8:2::/56", 0, 0, 500, 100));
    assert_eq!(h.c.counters().dropped(DropReason::NothingOffered), 2);
    assert_eq!(state(&h), ClientStateKind::Soliciting);
    // T1 > T2 with T2 = 0 is fine.
    h.take_offer(&sol, 3, pd1("2001:db8:3::/56", 200, 0, 100, 200));
    assert_eq!(state(&h), ClientStateKind::Requesting);
}

// ---------------------------------------------------------- retransmission --

fn check_backoff(times: &[Instant], irt: f64, mrt: f64, first_strictly_above: bool) {
    // Instants are whole microseconds, so each observed gap is off by up to
    // 1 µs from the RT the machine drew; a ratio bound on two gaps then
    // needs a few µs of slack (seen: 4.019494 s after 1.914044 s, 1.6 µs
    // past 2.1 ×).
    const SLACK: f64 = 5e-6;
    let gaps: Vec<f64> = times
        .windows(2)
        .map(|w| (w[1] - w[0]).as_secs_f64())
        .collect();
    assert!(!gaps.is_empty());
    assert!(
        gaps[0] >= irt * 0.9 - SLACK && gaps[0] <= irt * 1.1 + SLACK,
        "first RT {}",
        gaps[0]
    );
    if first_strictly_above {
        assert!(
            gaps[0] > irt,
            "RFC 8415 §15: first Solicit RT must exceed IRT: {}",
            gaps[0]
        );
    }
    for w in gaps.windows(2) {
        let (prev, rt) = (w[0], w[1]);
        assert!(rt <= mrt * 1.1 + SLACK, "RT {rt} above MRT bound");
        let capped = rt >= mrt * 0.9 - SLACK;
        assert!(
            capped || (rt >= prev * 1.9 - SLACK && rt <= prev * 2.1 + SLACK),
            "RT {rt} after {prev}"
        );
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

    /// RFC 8415 §15 / §18.2.1: Solicit RTs start in (1, 1.1] s, double with
    /// ±10 %, and level off within ±10 % of SOL_MAX_RT (3600 s).
    #[test]
    fn solicit_retransmissions_within_bounds(seed in proptest::prelude::any::<u64>()) {
        let mut h = Harness::new(pd_config(), seed);
        h.start();
        h.advance_to(at(30_000));
        let times: Vec<Instant> = h.sent.iter().map(|s| s.at).collect();
        proptest::prop_assert!(times.len() > 15);
        check_backoff(&times, 1.0, 3600.0, true);
        let gaps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
        proptest::prop_assert!(gaps.last().unwrap().as_secs_f64() >= 3240.0);
        proptest::prop_assert!(h.sent.iter().all(|s| s.xid() == h.sent[0].xid()));
    }

    /// RFC 8415 §18.2.2: REQ_TIMEOUT 1 s, REQ_MAX_RT 30 s, REQ_MAX_RC 10,
    /// then back to Solicit.
    #[test]
    fn request_retransmissions_then_solicit(seed in proptest::prelude::any::<u64>()) {
        let mut h = Harness::new(pd_config(), seed);
        let sol = h.start();
        h.take_offer(&sol, 1, offer());
        let start = h.now;
        h.advance_to(start + secs(400));
        let reqs: Vec<Instant> = h.sent_of(MessageType::Request).iter().map(|s| s.at).collect();
        proptest::prop_assert_eq!(reqs.len(), 10);
        check_backoff(&reqs, 1.0, 30.0, false);
        let resolicit = h.sent.iter().filter(|s| s.ty() == MessageType::Solicit && s.at > start).count();
        proptest::prop_assert!(resolicit >= 1);
    }

    /// RFC 8415 §18.2.4: REN_TIMEOUT 10 s doubling, all before T2.
    #[test]
    fn renew_retransmissions_within_bounds(seed in proptest::prelude::any::<u64>()) {
        let mut h = Harness::new(pd_config(), seed);
        h.bind("2001:db8:1::/56", 1000, 5000, 8000, 9000);
        let t = h.now;
        h.advance_to(t + secs(4999));
        let renews: Vec<Instant> = h.sent_of(MessageType::Renew).iter().map(|s| s.at).collect();
        proptest::prop_assert!(renews.len() >= 6);
        check_backoff(&renews, 10.0, 600.0, false);
    }
}

#[test]
fn sol_max_rt_option_caps_solicit_backoff() {
    // RFC 8415 §18.2.9 / §21.24: honoured even from an unusable Advertise;
    // values outside 60..=86400 are ignored.
    let (mut h, sol) = started(pd_config(), 17);
    h.deliver_advertise(&sol, 1, None, vec![DhcpOption::SolMaxRt(30)]);
    assert_eq!(h.c.status(h.now).leases.sol_max_rt, None);
    h.deliver_advertise(&sol, 1, None, vec![DhcpOption::SolMaxRt(100)]);
    assert_eq!(h.c.status(h.now).leases.sol_max_rt, Some(secs(100)));
    h.advance_to(at(2000));
    let times: Vec<Instant> = h.sent.iter().map(|s| s.at).collect();
    check_backoff(&times, 1.0, 100.0, true);
    assert!(times.len() > 15);
}

// ----------------------------------------------------- restart, link, release --

fn stored(valid: u32) -> StoredBinding {
    StoredBinding {
        server_duid: Some(server_duid(1)),
        prefixes: vec![StoredPrefix {
            iaid: 1,
            prefix: pfx("2001:db8:1200::/56"),
            preferred: Lifetime::Finite(valid / 2),
            valid: Lifetime::Finite(valid),
            exclude: None,
        }],
        addresses: vec![],
    }
}

/// The client restored from `binding` at time zero.
fn restored(binding: StoredBinding, seed: u64) -> Harness {
    Harness::wrap(Client::restore(pd_config(), binding, seed, Instant::ZERO))
}

#[test]
fn restore_rebinds_for_the_stored_prefix() {
    // RFC 8415 §18.2.5, style §3 "Restart is explicit".
    let mut h = restored(stored(2000), 18);
    let l = h.leases().expect("restored leases reported").clone();
    assert_eq!(l.prefixes[0].prefix, pfx("2001:db8:1200::/56"));
    assert_eq!(l.prefixes[0].valid_until, Some(at(2000)));
    assert!(h.sent.is_empty());
    h.advance(secs(3));
    h.link(true);
    let rb = h.last().clone();
    assert_eq!((rb.ty(), rb.at), (MessageType::Rebind, at(3)));
    assert!(rb.msg.options.server_id().is_none());
    assert_eq!(rb.pd_prefixes(1), asked("2001:db8:1200::/56"));
    // Any server may answer a Rebind (KAME S11).
    h.deliver_reply(&rb, 2, pd1("2001:db8:1200::/56", 100, 160, 200, 300));
    assert_eq!(state(&h), ClientStateKind::Bound);
    assert_eq!(h.leases().unwrap().server_duid, Some(server_duid(2)));
    // Later Renews go to the new server.
    h.advance(secs(100));
    assert_eq!(h.last().ty(), MessageType::Renew);
    assert_eq!(h.last().msg.options.server_id(), Some(&server_duid(2)));
}

#[test]
fn restore_with_nothing_left_solicits_for_the_old_prefix() {
    let mut h = restored(stored(0), 19);
    assert!(h.events.is_empty());
    let sol = h.start();
    assert_eq!(sol.pd_prefixes(1), asked("2001:db8:1200::/56"));
}

#[test]
fn stored_binding_gives_remaining_lifetimes() {
    let mut h = Harness::new(pd_config(), 20);
    assert_eq!(h.c.stored_binding(h.now), None);
    h.bind("2001:db8:1::/56", 1800, 2880, 3600, 7200);
    let s = h.c.stored_binding(h.now + secs(100)).expect("bound");
    assert_eq!(s.server_duid, Some(server_duid(1)));
    assert_eq!(s.prefixes.len(), 1);
    assert_eq!(
        (s.prefixes[0].preferred, s.prefixes[0].valid),
        (Lifetime::Finite(3500), Lifetime::Finite(7100))
    );
    // Round trip: restore from it.
    let mut r = restored(s, 21);
    assert_eq!(r.leases().unwrap().prefixes[0].valid_until, Some(at(7100)));
    r.link(true);
    assert_eq!(r.last().ty(), MessageType::Rebind);
}

#[test]
fn link_flap_rebinds_and_keeps_leases_meanwhile() {
    // RFC 8415 §18.2.12; KAME P6: Rebind, not Solicit.
    let mut h = bound(22);
    let t = h.now;
    h.take_events();
    h.advance(secs(10));
    h.link(false);
    assert_eq!(state(&h), ClientStateKind::WaitingLink);
    let n = h.sent.len();
    h.advance_to(t + secs(150));
    assert_eq!(h.sent.len(), n, "nothing sent while down, T1 passed");
    assert!(h.take_events().is_empty(), "leases unchanged while down");
    h.link(true);
    let rb = h.last().clone();
    assert_eq!((rb.ty(), rb.at), (MessageType::Rebind, t + secs(150)));
    assert!(rb.msg.options.server_id().is_none());
}

#[test]
fn link_down_past_expiry_then_up_solicits() {
    let mut h = bound(23);
    let t = h.now;
    h.link(false);
    h.advance_to(t + secs(300));
    assert!(h.leases().unwrap().prefixes.is_empty());
    let n = h.sent.len();
    h.advance_to(t + secs(400));
    assert_eq!(h.sent.len(), n);
    h.link(true);
    h.advance(secs(1));
    assert_eq!(h.last().ty(), MessageType::Solicit);
}

#[test]
fn release_sends_release_then_stops() {
    let mut h = bound(24);
    h.take_events();
    h.command(Client::release);
    // RFC 8415 §18.2.7: stop using the leases before sending Release.
    assert!(
        matches!(h.events.first(), Some(ClientEvent::Changed(l)) if l.prefixes.is_empty() && l.server_duid.is_none())
    );
    let rel = h.last().clone();
    assert_eq!((rel.ty(), rel.at), (MessageType::Release, h.now));
    assert_eq!(rel.msg.options.server_id(), Some(&server_duid(1)));
    assert_eq!(rel.pd_prefixes(1), asked("2001:db8:1::/56"));
    assert!(rel.msg.options.oro().is_none());
    let success = vec![status(StatusCode::Success)];
    h.deliver(answer(MessageType::Reply, &rel, 1, success));
    assert_eq!(h.events.last(), Some(&ClientEvent::Stopped));
    assert_eq!(state(&h), ClientStateKind::Released);
    assert_eq!(h.c.poll_timeout(), None);
    let n = h.sent.len();
    h.advance(secs(86_400));
    assert_eq!(h.sent.len(), n);
    // `v6edge renew` starts over.
    h.command(Client::renew_now);
    h.advance(secs(1));
    assert_eq!(h.last().ty(), MessageType::Solicit);
}

#[test]
fn unanswered_release_gives_up_after_four() {
    let mut h = bound(25);
    h.command(Client::release);
    h.advance(secs(60));
    let rels = h.sent_of(MessageType::Release);
    assert_eq!(rels.len(), 4, "REL_MAX_RC");
    assert!(rels.iter().all(|r| r.xid() == rels[0].xid()));
    assert_eq!(h.events.last(), Some(&ClientEvent::Stopped));
    assert_eq!(state(&h), ClientStateKind::Released);
}

#[test]
fn stop_does_not_release_unless_configured() {
    // RFC 9096 WPD-9.
    let mut h = bound(26);
    h.take_events();
    h.command(Client::stop);
    assert!(h.sent_of(MessageType::Release).is_empty());
    assert_eq!(h.events, vec![ClientEvent::Stopped]);
    assert!(
        h.c.stored_binding(h.now).is_some(),
        "binding kept for the restart"
    );

    let mut cfg = pd_config();
    cfg.release_on_stop = true;
    let mut h = Harness::new(cfg, 26);
    h.bind("2001:db8:1::/56", 100, 160, 200, 300);
    h.command(Client::stop);
    assert_eq!(h.last().ty(), MessageType::Release);
}

/// Found by fuzz/fuzz_targets/dhcp6_client.rs: stopped without Release,
/// the leases ran out, and `renew_now` started soliciting with them gone
/// but never said so, so the daemon kept routing and advertising them.
#[test]
fn leases_that_ran_out_while_stopped_are_reported_gone() {
    let mut h = bound(27);
    h.command(Client::stop);
    h.take_events();
    h.advance(secs(400));
    h.command(Client::renew_now);
    let l = h.leases().expect("a Changed event for the expired lease");
    assert!(l.prefixes.is_empty(), "{l:?}");
    assert_eq!(state(&h), ClientStateKind::Soliciting);
}

// ------------------------------------------------------------ hostile input --

#[test]
fn malformed_and_foreign_packets_are_dropped_and_counted() {
    let (mut h, sol) = started(pd_config(), 27);
    let good = offer;
    let n = h.sent.len();
    let before = h.c.poll_timeout();

    h.deliver_bytes(&[]);
    h.deliver_bytes(&[2, 0, 0]);
    let mut truncated = Message::Client(advertise(&sol, 1, Some(255), good())).to_bytes();
    truncated.truncate(truncated.len() - 3);
    h.deliver_bytes(&truncated);
    // Another interface.
    let bytes = Message::Client(advertise(&sol, 1, Some(255), good())).to_bytes();
    h.c.handle_packet(
        h.now,
        &Received {
            ifindex: IFINDEX + 1,
            src: SERVER_LL,
            dst: CLIENT_LL,
            hop_limit: 64,
            bytes: &bytes,
        },
    );
    // Wrong xid.
    let mut m = advertise(&sol, 1, Some(255), good());
    m.xid = Xid::new(sol.xid().as_u32() ^ 1);
    h.deliver(m);
    // Someone else's client id, or none.
    let mut m = advertise(&sol, 1, Some(255), good());
    m.options.retain(|o| !matches!(o, DhcpOption::ClientId(_)));
    h.deliver(m.clone());
    m.options.push(DhcpOption::ClientId(server_duid(9)));
    h.deliver(m);
    // No server id.
    let mut m = advertise(&sol, 1, Some(255), good());
    m.options.retain(|o| !matches!(o, DhcpOption::ServerId(_)));
    h.deliver(m);
    // Client-to-server and relay messages.
    h.deliver(
        ClientMessage::new(MessageType::Solicit, sol.xid())
            .with(DhcpOption::ClientId(server_duid(8))),
    );
    let relay = RelayMessage::forward(
        Message::Client(advertise(&sol, 1, Some(255), good())),
        0,
        Ipv6Addr::UNSPECIFIED,
        CLIENT_LL,
    );
    h.deliver_bytes(&Message::Relay(relay).to_bytes());
    // A Reconfigure while soliciting.
    h.deliver_bytes(&reconfigure(1, MessageType::Renew, Some([1; 16]), 5));
    h.c.handle_timeout(h.now);
    h.drain();

    let k = h.c.counters();
    assert_eq!(k.dropped(DropReason::Parse), 3);
    assert_eq!(k.dropped(DropReason::WrongInterface), 1);
    assert_eq!(k.dropped(DropReason::WrongXid), 1);
    assert_eq!(k.dropped(DropReason::WrongClientId), 2);
    assert_eq!(k.dropped(DropReason::MissingServerId), 1);
    assert_eq!(k.dropped(DropReason::UnexpectedType), 2);
    assert_eq!(k.dropped(DropReason::UnexpectedInState), 1);
    assert_eq!(k.dropped_total(), 11);
    assert_eq!(k.received(MessageType::Advertise), 4);
    // No state change: nothing sent, nothing reported, same deadline.
    assert_eq!(h.sent.len(), n);
    assert!(h.events.is_empty());
    assert_eq!(state(&h), ClientStateKind::Soliciting);
    assert_eq!(h.c.poll_timeout(), before);
    // And the real answer still works.
    assert_eq!(h.take_offer(&sol, 1, good()).ty(), MessageType::Request);
}

#[test]
fn random_bytes_never_panic_or_change_state() {
    let mut h = bound(28);
    let before = h.c.status(h.now);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for len in 0..400usize {
        let mut b = Vec::with_capacity(len);
        for _ in 0..len {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b.push(x as u8);
        }
        h.deliver_bytes(&b);
    }
    let after = h.c.status(h.now);
    assert_eq!(after.state, before.state);
    assert_eq!(after.leases, before.leases);
}

// ------------------------------------------------------------ IA_NA + IA_PD --

#[test]
fn ia_pd_accepted_when_ia_na_fails() {
    // RFC 7084 WPD-6 and W-5 (one session for both).
    let (mut h, sol) = started(pd_na_config(), 29);
    assert!(sol.ia_pd(1).is_some() && sol.ia_na(7).is_some());
    let mut no_address = renewed();
    no_address.push(ia_na_status(7, StatusCode::NoAddrsAvail));
    let req = h.take_offer(&sol, 1, no_address.clone());
    assert_eq!(req.ty(), MessageType::Request);
    assert!(req.ia_na(7).is_some(), "IA_NA still asked for");
    h.deliver_reply(&req, 1, no_address);
    let l = h.leases().unwrap().clone();
    assert_eq!((l.prefixes.len(), l.addresses.len()), (1, 0));
    // Renew asks for the IA_NA again and takes an address when offered.
    h.advance(secs(100));
    let renew = h.last().clone();
    assert_eq!(renew.ty(), MessageType::Renew);
    assert!(renew.ia_na(7).is_some());
    let addr: Ipv6Addr = "2001:db8:ffff::5".parse().unwrap();
    let mut both = renewed();
    both.push(ia_na(7, 100, 160, &[(addr, 200, 300)]));
    h.deliver_reply(&renew, 1, both);
    let l = h.leases().unwrap();
    assert_eq!(l.addresses.len(), 1);
    assert_eq!((l.addresses[0].iaid, l.addresses[0].addr), (7, addr));
}

#[test]
fn top_level_noaddrsavail_does_not_spoil_the_ia_pd() {
    let (mut h, sol) = started(pd_na_config(), 30);
    let mut opts = pd1("2001:db8:1::/56", 0, 0, 200, 300);
    opts.insert(0, status(StatusCode::NoAddrsAvail));
    assert_eq!(h.take_offer(&sol, 1, opts).ty(), MessageType::Request);
}

// ------------------------------------------------------------- Reconfigure --

const KEY: [u8; 16] = *b"0123456789abcdef";

/// The prefix as [`bound_long`] holds it.
fn long_lease() -> Vec<DhcpOption> {
    pd1("2001:db8:1::/56", 1000, 1600, 2000, 3000)
}

fn bind_with_key(seed: u64) -> Harness {
    let mut cfg = pd_config();
    cfg.reconfigure_accept = true;
    let mut h = Harness::new(cfg, seed);
    let sol = h.start();
    assert!(sol.msg.options.has_reconfigure_accept());
    let req = h.take_offer(&sol, 1, long_lease());
    assert!(req.msg.options.has_reconfigure_accept());
    let mut keyed = long_lease();
    keyed.push(rkap_key_option(KEY, 10));
    h.deliver_reply(&req, 1, keyed);
    assert!(h.c.status(h.now).reconfigure_key_held);
    h.advance(secs(5));
    h
}

#[test]
fn authenticated_reconfigure_triggers_renew_and_replays_are_refused() {
    let mut h = bind_with_key(31);
    let n = h.sent.len();
    let bad = |h: &Harness| h.c.counters().dropped(DropReason::BadAuth);
    // Unsigned, wrong key, or to a multicast address: refused.
    h.deliver_bytes(&reconfigure(1, MessageType::Renew, None, 11));
    h.deliver_bytes(&reconfigure(1, MessageType::Renew, Some([9; 16]), 11));
    assert_eq!(bad(&h), 2);
    h.deliver_bytes_to(
        &reconfigure(1, MessageType::Renew, Some(KEY), 11),
        ALL_SERVERS,
    );
    assert_eq!(h.c.counters().dropped(DropReason::ReconfigureMulticast), 1);
    // Not from our server.
    h.deliver_bytes(&reconfigure(2, MessageType::Renew, Some(KEY), 11));
    assert_eq!(h.c.counters().dropped(DropReason::WrongServer), 1);
    // An old replay counter.
    h.deliver_bytes(&reconfigure(1, MessageType::Renew, Some(KEY), 10));
    assert_eq!(bad(&h), 3);
    assert_eq!(h.sent.len(), n);
    assert_eq!(state(&h), ClientStateKind::Bound);

    let good = reconfigure(1, MessageType::Renew, Some(KEY), 11);
    h.deliver_bytes(&good);
    let renew = h.last().clone();
    assert_eq!((renew.ty(), renew.at), (MessageType::Renew, h.now));
    assert_eq!(renew.msg.options.server_id(), Some(&server_duid(1)));
    h.deliver_reply(&renew, 1, long_lease());
    assert_eq!(state(&h), ClientStateKind::Bound);
    // The same message again is a replay.
    h.deliver_bytes(&good);
    assert_eq!(bad(&h), 4);
    assert_eq!(h.last().xid(), renew.xid());
}

#[test]
fn reconfigure_for_information_request() {
    let mut h = bind_with_key(32);
    let what = MessageType::InformationRequest;
    h.deliver_bytes(&reconfigure(1, what, Some(KEY), 11));
    let ir = h.last().clone();
    assert_eq!(ir.ty(), MessageType::InformationRequest);
    assert!(ir.msg.options.ia_pds().next().is_none());
    let oro = ir.msg.options.oro().unwrap();
    assert!(
        oro.contains(&OptionCode::InformationRefreshTime) && oro.contains(&OptionCode::InfMaxRt)
    );
    let refresh = DhcpOption::InformationRefreshTime(Lifetime::Finite(7200));
    h.deliver_reply(&ir, 1, vec![refresh]);
    assert_eq!(state(&h), ClientStateKind::Bound);
    let l = h.leases().unwrap();
    assert_eq!(l.information_refresh, Some(secs(7200)));
    assert_eq!(l.prefixes.len(), 1, "stateless refresh keeps the prefix");
}

#[test]
fn reconfigure_without_key_or_accept_is_unauthenticated() {
    let mut h = bound_long(33);
    h.deliver_bytes(&reconfigure(1, MessageType::Renew, Some(KEY), 11));
    assert_eq!(h.c.counters().dropped(DropReason::Unauthenticated), 1);
    assert_eq!(state(&h), ClientStateKind::Bound);
}

// ------------------------------------------------------------- admin, timers --

#[test]
fn spurious_timeouts_do_nothing() {
    let mut h = bound(34);
    h.take_events();
    let n = h.sent.len();
    for s in [0u64, 1, 5, 50, 99] {
        h.c.handle_timeout(h.now + secs(s));
        h.c.handle_timeout(h.now + secs(s));
    }
    h.drain();
    assert_eq!(h.sent.len(), n);
    assert!(h.events.is_empty());
    assert_eq!(state(&h), ClientStateKind::Bound);
}

#[test]
fn renew_now_renews_when_bound() {
    let mut h = bound_long(35);
    h.advance(secs(7));
    h.command(Client::renew_now);
    assert_eq!((h.last().ty(), h.last().at), (MessageType::Renew, h.now));
}

#[test]
fn reconfigure_adding_an_ia_pd_renews_with_it() {
    let mut h = bound_long(36);
    let mut cfg = pd_config();
    cfg.ia_pds.push(IaPdConfig {
        iaid: 2,
        hint_len: Some(60),
        hint_prefix: None,
    });
    h.command(|c, now| c.reconfigure(now, cfg));
    let renew = h.last().clone();
    assert_eq!(renew.ty(), MessageType::Renew);
    assert_eq!(renew.pd_prefixes(1), asked("2001:db8:1::/56"));
    assert_eq!(renew.pd_prefixes(2), vec![(Ipv6Addr::UNSPECIFIED, 60)]);
    // Removing it again forgets it without touching IA 1.
    h.command(|c, now| c.reconfigure(now, pd_config()));
    assert_eq!(h.c.status(h.now).leases.prefixes.len(), 1);
}

#[test]
fn changed_duid_starts_over() {
    let mut h = bound_long(37);
    let mut cfg = pd_config();
    cfg.duid = server_duid(77);
    h.command(|c, now| c.reconfigure(now, cfg));
    assert!(h.leases().unwrap().prefixes.is_empty());
    h.advance(secs(1));
    let sol = h.last();
    assert_eq!(sol.ty(), MessageType::Solicit);
    assert_eq!(sol.msg.options.client_id(), Some(&server_duid(77)));
}

#[test]
fn pd_exclude_is_reported_with_the_prefix() {
    // RFC 6603, RFC 7084 WPD-8: asked for in the ORO, reported per prefix.
    use v6edge_wire::dhcp6::{IaPrefix, NtpSuboption, PdExclude};
    let (mut h, sol) = started(pd_config(), 44);
    assert!(sol.asks_for(OptionCode::PdExclude));
    let p = pfx("2001:db8:1200::/56");
    let excluded = pfx("2001:db8:1200:ff::/64");
    let mut ip = IaPrefix::new(p.addr(), 56, Lifetime::Finite(100), Lifetime::Finite(200));
    ip.options.push(DhcpOption::PdExclude(
        PdExclude::new(p.addr(), 56, excluded.addr(), 64).expect("fits"),
    ));
    let mut ia = IaPd::new(1, 0, 0);
    ia.options.push(DhcpOption::IaPrefix(ip));
    let req = h.take_offer(&sol, 1, vec![DhcpOption::IaPd(ia.clone())]);
    let ntp: Ipv6Addr = "2001:db8::123".parse().unwrap();
    let ntp_option = DhcpOption::NtpServer(vec![NtpSuboption::ServerAddress(ntp)]);
    h.deliver_reply(&req, 1, vec![DhcpOption::IaPd(ia), ntp_option]);
    let l = h.leases().unwrap();
    assert_eq!(l.prefixes[0].exclude, Some(excluded));
    assert_eq!(l.ntp_servers, vec![ntp]);
}

#[test]
fn prefix_with_host_bits_is_ignored() {
    let (mut h, sol) = started(pd_config(), 45);
    let mut ia = IaPd::new(1, 0, 0);
    ia.options
        .push(DhcpOption::IaPrefix(v6edge_wire::dhcp6::IaPrefix::new(
            "2001:db8:1::1".parse().unwrap(),
            56,
            Lifetime::Finite(100),
            Lifetime::Finite(200),
        )));
    h.take_offer(&sol, 1, vec![DhcpOption::IaPd(ia)]);
    assert_eq!(h.c.counters().dropped(DropReason::NothingOffered), 1);
    assert_eq!(state(&h), ClientStateKind::Soliciting);
}
