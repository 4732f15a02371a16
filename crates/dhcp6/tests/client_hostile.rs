//! The DHCPv6 client facing a rogue or broken server (issue 14, "hostile
//! upstream"). Every message here is one a server could send; each test
//! feeds it at explicit instants and checks that the client stays sane.
//!
//! What "sane" means, per case:
//! - **Lifetimes.** Infinite (0xffffffff) or absurdly long lifetimes are
//!   accepted as given (RFC 8415 §21.22 gives no upper bound); the RAs
//!   downstream cap them (RFC 9096 L-16, checked in `crates/router`). With
//!   T1/T2 0 the client picks its own: 0.5/0.8 of the shortest preferred
//!   lifetime, or of a day when every lifetime is infinite, so it still
//!   renews. A lease with preferred > valid is ignored (§21.22); an IA with
//!   T1 > T2 (T2 ≠ 0) is ignored (§21.21), so an IA held is not extended by
//!   it and the client renews again later. Lifetimes 0 in a Reply to
//!   Request bind nothing.
//! - **Failed cycles back off.** A server that advertises but then grants
//!   nothing (or never answers the Request) costs one Solicit → Request
//!   cycle per doubling wait, not a tight loop (RFC 8415 §15 back-off,
//!   applied across cycles).
//! - **Prefixes.** A delegated prefix outside global unicast (2000::/3) and
//!   unique local (fc00::/7) space (`::/0`, `0::/1`, `8000::/1`,
//!   link-local, multicast, loopback, IPv4-mapped) or with host bits set is
//!   ignored and counted. A prefix longer than /64 is a valid delegation
//!   (RFC 7084 WPD-3: accept what is given) and is held; the router carves
//!   nothing from it (`crates/router/tests/hostile_upstream.rs`).
//! - **Bounded work.** One IA holds at most `MAX_LEASES_PER_IA` leases
//!   however many a message (or a series of them) carries; DNS, domain and
//!   NTP lists keep `MAX_INFO_ITEMS` entries; only the best Advertise is
//!   kept while collecting, however many arrive, and the best one wins
//!   (RFC 8415 §18.2.9), preference 255 at once.
//! - **Reconfigure** (RFC 8415 §18.2.11, §16.11, §20.4): without an
//!   Authentication option, with a wrong HMAC, a replayed or equal RDM
//!   counter, a key-type (not HMAC) option, a message type other than
//!   Renew / Rebind / Information-request, IA options with
//!   Information-request, multicast, from another server or for another
//!   client: dropped and counted, nothing sent; a forged one does not
//!   advance the replay counter, so the real server's next one still works.
//! - **Stray messages**: Replies and Advertises with an xid we never sent,
//!   a wrong or missing Client ID, no Server ID: dropped and counted
//!   (RFC 8415 §16.3, §16.10), no state change.
//!
//! Every drop is counted under a `DropReason` (its `as_str` is the metric
//! label), and parts left out of accepted messages under an `IgnoredReason`.

mod common;

use common::*;
use std::net::Ipv6Addr;
use v6edge_dhcp6::client::{
    ClientStateKind, DropReason, IgnoredReason, MAX_INFO_ITEMS, MAX_LEASES_PER_IA,
};
use v6edge_wire::Lifetime;
use v6edge_wire::dhcp6::{
    Authentication, ClientMessage, DhcpOption, IaPd, IaPrefix, Message, MessageType, Xid,
};

/// Counts the bytes live on each thread, and the peak, so a test can check
/// that a flood costs bounded memory. Each test runs on a thread of its
/// own, so other tests do not disturb the count.
mod heap {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    pub struct Counting;

    thread_local! {
        static LIVE: Cell<isize> = const { Cell::new(0) };
        static PEAK: Cell<isize> = const { Cell::new(0) };
    }

    fn add(n: isize) {
        // `try_with`: thread-locals may be gone while a thread exits.
        let _ = LIVE.try_with(|l| {
            let v = l.get() + n;
            l.set(v);
            let _ = PEAK.try_with(|p| p.set(p.get().max(v)));
        });
    }

    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            add(layout.size() as isize);
            // SAFETY: forwarded unchanged to the system allocator.
            unsafe { System.alloc(layout) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            add(-(layout.size() as isize));
            // SAFETY: `ptr` came from `alloc` above with this layout.
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    /// Starts a measurement: the peak from now on, relative to now.
    pub fn mark() -> isize {
        let live = LIVE.with(Cell::get);
        PEAK.with(|p| p.set(live));
        live
    }

    pub fn peak_since(mark: isize) -> isize {
        PEAK.with(Cell::get) - mark
    }
}

#[global_allocator]
static ALLOCATOR: heap::Counting = heap::Counting;

fn state(h: &Harness) -> ClientStateKind {
    h.c.status(h.now).state
}

fn dropped(h: &Harness, r: DropReason) -> u64 {
    h.c.counters().dropped(r)
}

fn ignored(h: &Harness, r: IgnoredReason) -> u64 {
    h.c.counters().ignored(r)
}

/// IA_PD 1 with one IA Prefix given as raw address and length, so that
/// prefixes the `Prefix` type would refuse (host bits) can be sent too.
fn raw_pd(addr: &str, len: u8, t1: u32, t2: u32, pl: u32, vl: u32) -> Vec<DhcpOption> {
    let mut ia = IaPd::new(1, t1, t2);
    ia.options.push(DhcpOption::IaPrefix(IaPrefix::new(
        addr.parse().expect("test address"),
        len,
        Lifetime::from_wire(pl),
        Lifetime::from_wire(vl),
    )));
    vec![DhcpOption::IaPd(ia)]
}

/// IA_PD 1 with `n` distinct /64s from 2001:db8:ab00::/40 onwards,
/// starting at index `first`.
fn many_prefixes(first: u32, n: u32, t1: u32, t2: u32) -> Vec<DhcpOption> {
    let mut ia = IaPd::new(1, t1, t2);
    for i in first..first + n {
        let addr = Ipv6Addr::new(
            0x2001,
            0xdb8,
            0xab00 + (i >> 16) as u16,
            i as u16,
            0,
            0,
            0,
            0,
        );
        ia.options.push(DhcpOption::IaPrefix(IaPrefix::new(
            addr,
            64,
            Lifetime::Finite(1000),
            Lifetime::Finite(2000),
        )));
    }
    vec![DhcpOption::IaPd(ia)]
}

/// A client that went Solicit → Advertise and is waiting for the Reply to
/// its Request; returns the Request.
fn requesting(seed: u64) -> (Harness, Sent) {
    let mut h = Harness::new(pd_config(), seed);
    let sol = h.start();
    let req = h.take_offer(&sol, 1, pd1("2001:db8:1::/56", 0, 0, 100, 200));
    assert_eq!(req.ty(), MessageType::Request);
    (h, req)
}

// ------------------------------------------------------------- lifetimes --

#[test]
fn infinite_lifetimes_with_zero_timers_are_held_and_still_renewed() {
    let (mut h, req) = requesting(101);
    let t0 = h.now;
    h.deliver_reply(
        &req,
        1,
        raw_pd("2001:db8:1::", 56, 0, 0, u32::MAX, u32::MAX),
    );
    assert_eq!(state(&h), ClientStateKind::Bound);
    let p = &h.leases().expect("Changed").prefixes[0];
    assert_eq!((p.preferred_until, p.valid_until), (None, None));
    // RFC 8415 §21.21: T1/T2 0 are ours to pick; with nothing finite to
    // derive them from, a day: Renew after 12 h, not never.
    let st = h.c.status(h.now);
    assert_eq!(st.ia_timers[0].t1, Some(secs(43_200)));
    assert_eq!(st.ia_timers[0].t2, Some(secs(69_120)));
    let renew = h.sent_by(t0 + secs(43_200));
    assert_eq!(
        (renew.ty(), renew.at),
        (MessageType::Renew, t0 + secs(43_200))
    );
}

#[test]
fn absurdly_long_finite_lifetimes_do_not_overflow() {
    let (mut h, req) = requesting(102);
    let t0 = h.now;
    let long = u32::MAX - 1;
    h.deliver_reply(&req, 1, raw_pd("2001:db8:1::", 56, 0, 0, long, long));
    let p = h.leases().expect("Changed").prefixes[0].clone();
    assert_eq!(p.valid_until, Some(t0 + secs(u64::from(long))));
    let stored = h.c.stored_binding(h.now).expect("held");
    assert_eq!(stored.prefixes[0].valid, Lifetime::Finite(long));
    // Renews at half of it, and nothing happens before.
    let n = h.sent.len();
    h.advance(secs(1_000_000));
    assert_eq!(h.sent.len(), n);
    assert_eq!(state(&h), ClientStateKind::Bound);
}

#[test]
fn preferred_above_valid_is_ignored_in_every_message() {
    // RFC 8415 §21.22: the IA Prefix is discarded.
    let mut h = Harness::new(pd_config(), 103);
    let sol = h.start();
    h.take_offer(&sol, 1, raw_pd("2001:db8:1::", 56, 0, 0, 500, 100));
    assert_eq!(dropped(&h, DropReason::NothingOffered), 1);
    assert_eq!(ignored(&h, IgnoredReason::PreferredAboveValid), 1);
    assert_eq!(state(&h), ClientStateKind::Soliciting);

    // Bound, then a Renew Reply with preferred > valid for the held
    // prefix: not extended, kept with its old lifetimes.
    let mut h = Harness::new(pd_config(), 104);
    h.bind("2001:db8:1::/56", 100, 160, 200, 300);
    let t0 = h.now;
    let renew = h.sent_by(t0 + secs(100));
    assert_eq!(renew.ty(), MessageType::Renew);
    h.deliver_reply(&renew, 1, raw_pd("2001:db8:1::", 56, 100, 160, 9000, 10));
    assert_eq!(ignored(&h, IgnoredReason::PreferredAboveValid), 1);
    let p = &h.c.status(h.now).leases.prefixes[0];
    assert_eq!(p.valid_until, Some(t0 + secs(300)));
    assert_eq!(state(&h), ClientStateKind::Bound);
}

#[test]
fn t1_above_t2_ignores_the_ia_and_renewal_resumes_later() {
    // RFC 8415 §21.21: an IA_PD with T1 > T2 (T2 ≠ 0) is discarded.
    let mut h = Harness::new(pd_config(), 105);
    let sol = h.start();
    h.take_offer(&sol, 1, pd1("2001:db8:1::/56", 500, 100, 1000, 2000));
    assert_eq!(ignored(&h, IgnoredReason::T1AboveT2), 1);
    assert_eq!(dropped(&h, DropReason::NothingOffered), 1);

    // In a Reply to Renew: the prefix is not extended; the client stays
    // bound and renews again, neither at once nor after expiry.
    let mut h = Harness::new(pd_config(), 106);
    h.bind("2001:db8:1::/56", 100, 160, 200, 300);
    let t0 = h.now;
    let renew = h.sent_by(t0 + secs(100));
    h.deliver_reply(&renew, 1, pd1("2001:db8:1::/56", 900, 100, 2000, 3000));
    assert_eq!(state(&h), ClientStateKind::Bound);
    assert_eq!(ignored(&h, IgnoredReason::T1AboveT2), 1);
    let p = &h.c.status(h.now).leases.prefixes[0];
    assert_eq!(p.valid_until, Some(t0 + secs(300)));
    let n = h.sent.len();
    h.advance(secs(1));
    assert_eq!(h.sent.len(), n, "no Renew storm after an ignored IA");
    h.advance_to(t0 + secs(299));
    assert!(
        h.sent[n..]
            .iter()
            .any(|s| s.ty() == MessageType::Renew || s.ty() == MessageType::Rebind),
        "renewed again before the lease ran out"
    );
}

#[test]
fn zero_lifetimes_in_reply_to_request_bind_nothing_and_cycles_back_off() {
    let (mut h, req) = requesting(107);
    let mut last_req = req;
    let mut solicit_gaps = Vec::new();
    for _ in 0..4 {
        let replied_at = h.now;
        h.deliver_reply(&last_req, 1, pd1("2001:db8:1::/56", 0, 0, 0, 0));
        assert_eq!(state(&h), ClientStateKind::Soliciting);
        assert!(
            h.leases().is_none_or(|l| l.prefixes.is_empty()),
            "nothing bound from lifetimes 0"
        );
        let next = h.c.poll_timeout().expect("Solicit scheduled");
        h.advance_to(next);
        let sol = h.last().clone();
        assert_eq!(sol.ty(), MessageType::Solicit);
        solicit_gaps.push(sol.at - replied_at);
        last_req = h.take_offer(&sol, 1, pd1("2001:db8:1::/56", 0, 0, 100, 200));
        assert_eq!(last_req.ty(), MessageType::Request);
    }
    // 1 s, 2 s, 4 s, 8 s of hold-off (plus up to SOL_MAX_DELAY of jitter).
    for (i, gap) in solicit_gaps.iter().enumerate() {
        let holdoff = secs(1 << i);
        assert!(
            *gap >= holdoff && *gap <= holdoff + secs(1),
            "cycle {i}: next Solicit after {gap:?}"
        );
    }
    // A real grant binds, and the hold-off is forgotten: once the lease
    // has run out, the next Solicit goes out within SOL_MAX_DELAY.
    let bound_at = h.now;
    h.deliver_reply(&last_req, 1, pd1("2001:db8:1::/56", 0, 0, 100, 200));
    assert_eq!(state(&h), ClientStateKind::Bound);
    h.advance_to(bound_at + secs(201));
    let sol = h.last().clone();
    assert_eq!(sol.ty(), MessageType::Solicit, "expired: solicits again");
    assert!(sol.at <= bound_at + secs(201));
}

#[test]
fn an_admin_renew_skips_the_hold_off() {
    let (mut h, mut req) = requesting(122);
    for _ in 0..3 {
        h.deliver_reply(&req, 1, pd1("2001:db8:1::/56", 0, 0, 0, 0));
        let sol = h.sent_by(h.c.poll_timeout().unwrap());
        req = h.take_offer(&sol, 1, pd1("2001:db8:1::/56", 0, 0, 100, 200));
    }
    h.deliver_reply(&req, 1, pd1("2001:db8:1::/56", 0, 0, 0, 0));
    // Four failed cycles: the next Solicit would wait 8 s or more.
    assert!(h.c.poll_timeout().unwrap() >= h.now + secs(8));
    h.command(v6edge_dhcp6::client::Client::renew_now);
    assert_eq!((h.last().ty(), h.last().at), (MessageType::Solicit, h.now));
}

// -------------------------------------------------------------- prefixes --

#[test]
fn prefixes_outside_unicast_space_or_with_host_bits_are_ignored() {
    let mut h = Harness::new(pd_config(), 108);
    let sol = h.start();
    let bogus: [(&str, u8); 9] = [
        ("::", 0),
        ("::", 1),
        ("8000::", 1),
        ("fe80::", 64),
        ("ff00::", 8),
        ("ff02::", 16),
        ("::1", 128),
        ("::ffff:0:0", 96),
        ("::", 56),
    ];
    for (i, (addr, len)) in bogus.iter().enumerate() {
        h.deliver_advertise(
            &sol,
            i as u8 + 1,
            Some(255),
            raw_pd(addr, *len, 0, 0, 100, 200),
        );
    }
    assert_eq!(ignored(&h, IgnoredReason::NotUnicast), bogus.len() as u64);
    h.deliver_advertise(
        &sol,
        20,
        Some(255),
        raw_pd("2001:db8:1::1", 56, 0, 0, 100, 200),
    );
    assert_eq!(ignored(&h, IgnoredReason::HostBits), 1);
    assert_eq!(
        dropped(&h, DropReason::NothingOffered),
        bogus.len() as u64 + 1
    );
    assert_eq!(state(&h), ClientStateKind::Soliciting);
    assert_eq!(h.sent_of(MessageType::Request).len(), 0);
    // A good server next to them is still taken.
    let req = h.take_offer(&sol, 30, pd1("fd00:1:2::/48", 0, 0, 100, 200));
    assert_eq!(req.ty(), MessageType::Request);
}

#[test]
fn bogus_prefix_beside_a_good_one_leaves_the_good_one() {
    let (mut h, req) = requesting(109);
    let mut ia = IaPd::new(1, 0, 0);
    for (a, l) in [("::", 0u8), ("2001:db8:1::", 56), ("ff00::", 8)] {
        ia.options.push(DhcpOption::IaPrefix(IaPrefix::new(
            a.parse().unwrap(),
            l,
            Lifetime::Finite(100),
            Lifetime::Finite(200),
        )));
    }
    h.deliver_reply(&req, 1, vec![DhcpOption::IaPd(ia)]);
    let l = h.leases().expect("Changed");
    assert_eq!(l.prefixes.len(), 1);
    assert_eq!(l.prefixes[0].prefix, pfx("2001:db8:1::/56"));
    assert_eq!(ignored(&h, IgnoredReason::NotUnicast), 2);
}

#[test]
fn prefixes_longer_than_64_are_accepted_as_delegated() {
    // RFC 7084 WPD-3: accept what is given; the router numbers no LAN
    // from it and says so.
    for (len, seed) in [(65u8, 110u64), (80, 111), (127, 112), (128, 113)] {
        let mut h = Harness::new(pd_config(), seed);
        let sol = h.start();
        let req = h.take_offer(&sol, 1, raw_pd("2001:db8:1::", len, 0, 0, 100, 200));
        h.deliver_reply(&req, 1, raw_pd("2001:db8:1::", len, 0, 0, 100, 200));
        assert_eq!(state(&h), ClientStateKind::Bound);
        assert_eq!(h.leases().unwrap().prefixes[0].prefix.len(), len);
    }
}

// ----------------------------------------------------------- bounded work --

#[test]
fn a_thousand_prefixes_in_one_ia_are_cut_to_the_bound() {
    let (mut h, req) = requesting(114);
    h.deliver_reply(&req, 1, many_prefixes(0, 1000, 0, 0));
    assert_eq!(state(&h), ClientStateKind::Bound);
    assert_eq!(h.leases().unwrap().prefixes.len(), MAX_LEASES_PER_IA);
    assert_eq!(
        ignored(&h, IgnoredReason::TooManyLeases),
        1000 - MAX_LEASES_PER_IA as u64
    );
    // A later Reply with a thousand other ones adds nothing beyond it.
    h.command(v6edge_dhcp6::client::Client::renew_now);
    let renew = h.last().clone();
    assert_eq!(renew.ty(), MessageType::Renew);
    assert_eq!(renew.pd_prefixes(1).len(), MAX_LEASES_PER_IA);
    h.deliver_reply(&renew, 1, many_prefixes(5000, 1000, 0, 0));
    assert_eq!(h.leases().unwrap().prefixes.len(), MAX_LEASES_PER_IA);
}

#[test]
fn long_dns_domain_and_ntp_lists_are_cut() {
    let (mut h, req) = requesting(115);
    let servers: Vec<Ipv6Addr> = (1..=500u16)
        .map(|i| Ipv6Addr::new(0x2001, 0xdb8, 0, 0x53, 0, 0, 0, i))
        .collect();
    let domains: Vec<_> = (0..100)
        .map(|i| v6edge_wire::dhcp6::DomainName::new(&format!("d{i}.example")).unwrap())
        .collect();
    let ntp = (1..=50u16)
        .map(|i| {
            v6edge_wire::dhcp6::NtpSuboption::ServerAddress(Ipv6Addr::new(
                0x2001, 0xdb8, 0, 0x123, 0, 0, 0, i,
            ))
        })
        .collect();
    let mut opts = pd1("2001:db8:1::/56", 0, 0, 100, 200);
    opts.push(DhcpOption::DnsServers(servers.clone()));
    opts.push(DhcpOption::DomainList(domains));
    opts.push(DhcpOption::NtpServer(ntp));
    // `answer`, not `reply`: the harness's Reply adds its own DNS options.
    h.deliver(answer(MessageType::Reply, &req, 1, opts));
    let l = h.leases().unwrap();
    assert_eq!(l.dns_servers, servers[..MAX_INFO_ITEMS].to_vec());
    assert_eq!(l.domains.len(), MAX_INFO_ITEMS);
    assert_eq!(l.ntp_servers.len(), MAX_INFO_ITEMS);
    assert_eq!(ignored(&h, IgnoredReason::TooManyInfoItems), 3);
}

#[test]
fn advertise_flood_keeps_the_best_and_completes_with_it() {
    let mut h = Harness::new(pd_config(), 116);
    let sol = h.start();
    // Three thousand Advertises within the first RT from as many servers,
    // preferences 0..=254 (never 255), every one with two hundred
    // prefixes. The best is the first with preference 254.
    let heavy = many_prefixes(0, 200, 0, 0);
    let mut best_server = None;
    let mark = heap::mark();
    for i in 0..3000u32 {
        let preference = ((i * 7919) % 255) as u8;
        let server = (i % 250) as u8 + 1;
        let mut m = advertise(&sol, server, Some(preference), heavy.clone());
        // Distinct server DUIDs: replace the harness's one.
        m.options.retain(|o| !matches!(o, DhcpOption::ServerId(_)));
        m.options
            .push(DhcpOption::ServerId(v6edge_wire::dhcp6::Duid::new_ll(
                1,
                &i.to_be_bytes(),
            )));
        if preference == 254 && best_server.is_none() {
            best_server = Some(i);
        }
        h.deliver(m);
    }
    assert_eq!(state(&h), ClientStateKind::Soliciting, "still collecting");
    assert_eq!(h.c.counters().dropped_total(), 0);
    // Keeping every Advertise would hold 3000 × 200 offers (tens of MB);
    // the best one alone and one message in flight stay far below 1 MB.
    let peak = heap::peak_since(mark);
    assert!(peak < 1 << 20, "the flood cost {peak} bytes");
    // The first RT (at most 1.1 s) ends: a Request, to the best server.
    h.advance(std::time::Duration::from_millis(1101));
    let reqs = h.sent_of(MessageType::Request);
    assert_eq!(reqs.len(), 1);
    let req = reqs[0].clone();
    let best = v6edge_wire::dhcp6::Duid::new_ll(1, &best_server.unwrap().to_be_bytes());
    assert_eq!(req.msg.options.server_id(), Some(&best));
    // It asks for what was advertised, cut to the bound.
    assert_eq!(req.pd_prefixes(1).len(), MAX_LEASES_PER_IA);
    // More Advertises now are out of state; the exchange completes.
    h.deliver(advertise(&sol, 9, Some(255), heavy.clone()));
    assert_eq!(
        dropped(&h, DropReason::WrongXid) + dropped(&h, DropReason::UnexpectedInState),
        1
    );
    h.deliver_reply(&req, 1, pd1("2001:db8:1::/56", 0, 0, 100, 200));
    assert_eq!(state(&h), ClientStateKind::Bound);
}

#[test]
fn preference_255_ends_the_flood_at_once_but_only_if_usable() {
    let mut h = Harness::new(pd_config(), 117);
    let sol = h.start();
    // 255 with nothing usable is not taken (RFC 8415 §18.2.9).
    h.deliver_advertise(&sol, 1, Some(255), raw_pd("ff00::", 8, 0, 0, 100, 200));
    assert_eq!(state(&h), ClientStateKind::Soliciting);
    h.deliver_advertise(&sol, 2, Some(200), pd1("2001:db8:2::/56", 0, 0, 100, 200));
    assert_eq!(state(&h), ClientStateKind::Soliciting);
    // The first usable 255 is taken at once, before the first RT ends.
    let req = h.take_offer(&sol, 3, pd1("2001:db8:3::/56", 0, 0, 100, 200));
    assert_eq!(req.ty(), MessageType::Request);
    assert_eq!(req.msg.options.server_id(), Some(&server_duid(3)));
    // Later 255s from others are out of state.
    for s in 4..104u8 {
        h.deliver_advertise(&sol, s, Some(255), pd1("2001:db8:4::/56", 0, 0, 100, 200));
    }
    assert_eq!(dropped(&h, DropReason::UnexpectedInState), 0);
    assert_eq!(
        dropped(&h, DropReason::WrongXid),
        100,
        "the Request has its own xid"
    );
    assert_eq!(h.sent_of(MessageType::Request).len(), 1);
}

// ------------------------------------------------------------- Reconfigure --

const KEY: [u8; 16] = *b"0123456789abcdef";

/// Bound to server 1 with reconfigure key [`KEY`] (replay counter 10).
fn bound_with_key(seed: u64) -> Harness {
    let mut cfg = pd_config();
    cfg.reconfigure_accept = true;
    let mut h = Harness::new(cfg, seed);
    let sol = h.start();
    let long = pd1("2001:db8:1::/56", 1000, 1600, 2000, 3000);
    let req = h.take_offer(&sol, 1, long.clone());
    let mut keyed = long;
    keyed.push(rkap_key_option(KEY, 10));
    h.deliver_reply(&req, 1, keyed);
    assert!(h.c.status(h.now).reconfigure_key_held);
    h.advance(secs(5));
    h
}

/// A Reconfigure from server 1 to us with `opts` after the ids, not signed.
fn reconfigure_with(opts: Vec<DhcpOption>) -> ClientMessage {
    let mut m = ClientMessage::new(MessageType::Reconfigure, Xid::new(0))
        .with(DhcpOption::ServerId(server_duid(1)))
        .with(DhcpOption::ClientId(client_duid()));
    for o in opts {
        m = m.with(o);
    }
    m
}

fn hmac_auth(rd: u64) -> DhcpOption {
    let mut info = vec![2u8];
    info.extend_from_slice(&[0; 16]);
    DhcpOption::Authentication(Authentication {
        protocol: 3,
        algorithm: 1,
        rdm: 0,
        replay_detection: rd,
        info,
    })
}

fn signed(m: ClientMessage) -> Vec<u8> {
    let mut bytes = Message::Client(m).to_bytes();
    v6edge_dhcp6::rkap::sign(&mut bytes, &KEY).expect("RKAP option present");
    bytes
}

#[test]
fn forged_reconfigures_are_dropped_and_counted() {
    let mut h = bound_with_key(118);
    let n = h.sent.len();
    let renew = DhcpOption::ReconfigureMessage(MessageType::Renew);
    let deliver = |h: &mut Harness, bytes: &[u8]| {
        h.deliver_bytes(bytes);
        assert_eq!(state(h), ClientStateKind::Bound);
    };

    // No Authentication option at all.
    deliver(
        &mut h,
        &Message::Client(reconfigure_with(vec![renew.clone()])).to_bytes(),
    );
    // A wrong HMAC, and a huge replay counter with it: must not count.
    deliver(
        &mut h,
        &reconfigure(1, MessageType::Renew, Some([7; 16]), u64::MAX),
    );
    // The key-bearing type (1) instead of an HMAC.
    deliver(
        &mut h,
        &Message::Client(reconfigure_with(vec![
            renew.clone(),
            rkap_key_option(KEY, 20),
        ]))
        .to_bytes(),
    );
    // Replayed and equal counters, correctly signed.
    deliver(&mut h, &reconfigure(1, MessageType::Renew, Some(KEY), 9));
    deliver(&mut h, &reconfigure(1, MessageType::Renew, Some(KEY), 10));
    assert_eq!(dropped(&h, DropReason::BadAuth), 5);

    // Message types a Reconfigure may not ask for, or none, signed.
    for what in [
        MessageType::Solicit,
        MessageType::Request,
        MessageType::Reply,
        MessageType::Reconfigure,
    ] {
        deliver(&mut h, &reconfigure(1, what, Some(KEY), 30));
    }
    deliver(&mut h, &signed(reconfigure_with(vec![hmac_auth(30)])));
    // Information-request with IA options (RFC 8415 §16.11).
    let mut with_ia = pd1("2001:db8:1::/56", 0, 0, 0, 0);
    with_ia.push(DhcpOption::ReconfigureMessage(
        MessageType::InformationRequest,
    ));
    with_ia.push(hmac_auth(30));
    deliver(&mut h, &signed(reconfigure_with(with_ia)));
    assert_eq!(dropped(&h, DropReason::ReconfigureInvalid), 6);

    // Multicast, another server, another client, no server id.
    h.deliver_bytes_to(
        &reconfigure(1, MessageType::Renew, Some(KEY), 31),
        ALL_SERVERS,
    );
    deliver(&mut h, &reconfigure(2, MessageType::Renew, Some(KEY), 31));
    let mut other_client = reconfigure_with(vec![renew.clone(), hmac_auth(31)]);
    other_client
        .options
        .retain(|o| !matches!(o, DhcpOption::ClientId(_)));
    other_client = other_client.with(DhcpOption::ClientId(server_duid(50)));
    deliver(&mut h, &signed(other_client));
    let mut no_server = reconfigure_with(vec![renew.clone(), hmac_auth(31)]);
    no_server
        .options
        .retain(|o| !matches!(o, DhcpOption::ServerId(_)));
    deliver(&mut h, &signed(no_server));
    let k = h.c.counters();
    assert_eq!(k.dropped(DropReason::ReconfigureMulticast), 1);
    assert_eq!(k.dropped(DropReason::WrongServer), 1);
    assert_eq!(k.dropped(DropReason::WrongClientId), 1);
    assert_eq!(k.dropped(DropReason::MissingServerId), 1);
    assert_eq!(k.dropped_total(), 15);
    assert_eq!(h.sent.len(), n, "nothing sent for any of them");

    // The real server's next Reconfigure (counter 11: the forged
    // u64::MAX did not advance it) still works.
    h.deliver_bytes(&reconfigure(1, MessageType::Renew, Some(KEY), 11));
    assert_eq!(h.last().ty(), MessageType::Renew);
    // And one while renewing is out of state.
    h.deliver_bytes(&reconfigure(1, MessageType::Renew, Some(KEY), 12));
    assert_eq!(dropped(&h, DropReason::UnexpectedInState), 1);
}

#[test]
fn reconfigure_flood_costs_nothing() {
    let mut h = bound_with_key(119);
    let before = h.c.status(h.now);
    let n = h.sent.len();
    for i in 0..2000u64 {
        let key = [(i % 251) as u8; 16];
        h.deliver_bytes(&reconfigure(1, MessageType::Renew, Some(key), 100 + i));
    }
    assert_eq!(dropped(&h, DropReason::BadAuth), 2000);
    assert_eq!(h.sent.len(), n);
    let after = h.c.status(h.now);
    assert_eq!((after.state, after.leases), (before.state, before.leases));
}

// ---------------------------------------------------------- stray messages --

#[test]
fn replies_and_advertises_to_nothing_we_sent_are_dropped() {
    let mut h = Harness::new(pd_config(), 120);
    h.bind("2001:db8:1::/56", 1000, 1600, 2000, 3000);
    let bound_status = h.c.status(h.now);
    let n = h.sent.len();
    let fake = Sent {
        at: h.now,
        msg: ClientMessage::new(MessageType::Request, Xid::new(0x00ab_cdef))
            .with(DhcpOption::ClientId(client_duid())),
    };
    // While bound no exchange runs: every xid is one we never sent.
    for i in 0..500u32 {
        let mut m = reply(&fake, 9, pd1("2001:db8:66::/56", 0, 0, 100, 200));
        m.xid = Xid::new(i);
        h.deliver(m);
        let mut a = advertise(&fake, 9, Some(255), pd1("2001:db8:66::/56", 0, 0, 100, 200));
        a.xid = Xid::new(i);
        h.deliver(a);
    }
    assert_eq!(dropped(&h, DropReason::WrongXid), 1000);
    let after = h.c.status(h.now);
    assert_eq!(
        (after.state, &after.leases),
        (bound_status.state, &bound_status.leases)
    );
    assert_eq!(h.sent.len(), n);

    // During a Renew: the right xid but a wrong or missing client id, or
    // no server id.
    h.command(v6edge_dhcp6::client::Client::renew_now);
    let renew = h.last().clone();
    let mut m = reply(&renew, 9, pd1("2001:db8:66::/56", 0, 0, 100, 200));
    m.options.retain(|o| !matches!(o, DhcpOption::ClientId(_)));
    h.deliver(m.clone());
    h.deliver(m.clone().with(DhcpOption::ClientId(server_duid(3))));
    let mut m = reply(&renew, 9, pd1("2001:db8:66::/56", 0, 0, 100, 200));
    m.options.retain(|o| !matches!(o, DhcpOption::ServerId(_)));
    h.deliver(m);
    assert_eq!(dropped(&h, DropReason::WrongClientId), 2);
    assert_eq!(dropped(&h, DropReason::MissingServerId), 1);
    assert_eq!(state(&h), ClientStateKind::Renewing);
    // The real Reply still lands.
    h.deliver_reply(&renew, 1, pd1("2001:db8:1::/56", 1000, 1600, 2000, 3000));
    assert_eq!(state(&h), ClientStateKind::Bound);
    assert_eq!(
        h.c.status(h.now).leases.prefixes[0].prefix,
        pfx("2001:db8:1::/56")
    );
}

#[test]
fn handle_packet_reports_the_drop_reason_with_stable_names() {
    let mut h = Harness::new(pd_config(), 121);
    h.bind("2001:db8:1::/56", 1000, 1600, 2000, 3000);
    let deliver = |h: &mut Harness, bytes: &[u8]| {
        h.c.handle_packet(
            h.now,
            &v6edge_core::Received {
                ifindex: IFINDEX,
                src: SERVER_LL,
                dst: CLIENT_LL,
                hop_limit: 64,
                bytes,
            },
        )
    };
    assert_eq!(deliver(&mut h, &[1, 2]), Some(DropReason::Parse));
    let stray = reconfigure(1, MessageType::Renew, None, 1);
    assert_eq!(deliver(&mut h, &stray), Some(DropReason::Unauthenticated));
    h.command(v6edge_dhcp6::client::Client::renew_now);
    let renew = h.last().clone();
    let good = Message::Client(reply(
        &renew,
        1,
        pd1("2001:db8:1::/56", 1000, 1600, 2000, 3000),
    ))
    .to_bytes();
    assert_eq!(deliver(&mut h, &good), None);
    // The labels the daemon's metrics carry.
    let names: Vec<&str> = [
        DropReason::Parse,
        DropReason::WrongXid,
        DropReason::WrongClientId,
        DropReason::MissingServerId,
        DropReason::NothingOffered,
        DropReason::BadAuth,
        DropReason::ReconfigureInvalid,
        DropReason::ReconfigureMulticast,
        DropReason::UnexpectedInState,
    ]
    .iter()
    .map(|r| r.as_str())
    .collect();
    assert_eq!(
        names,
        [
            "parse",
            "wrong-xid",
            "wrong-client-id",
            "missing-server-id",
            "nothing-offered",
            "bad-auth",
            "reconfigure-invalid",
            "reconfigure-multicast",
            "unexpected-in-state"
        ]
    );
    assert_eq!(IgnoredReason::T1AboveT2.as_str(), "t1-above-t2");
    assert_eq!(IgnoredReason::NotUnicast.as_str(), "not-unicast");
}
