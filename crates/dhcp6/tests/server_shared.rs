//! Leases shared with another server through a common store:
//! `Server::foreign_lease` and `Server::foreign_lease_gone`.

#[path = "server_harness.rs"]
mod harness;

use harness::*;
use v6edge_core::KernelOp;
use v6edge_dhcp6::server::{Lease, LeaseKind, LeaseOp, LinkId, ServerOutput};
use v6edge_prefix::Prefix;
use v6edge_wire::dhcp6::MessageType;

/// The lease another server granted to `c` for `prefix`, as the store holds
/// it (with the other server's route fields).
fn foreign(h: &H, c: &Client, prefix: &str, valid: u64) -> Lease {
    Lease {
        duid: c.duid.clone(),
        iaid: 1,
        kind: LeaseKind::Prefix,
        prefix: pfx(prefix),
        preferred_until: h.now + secs(valid / 2),
        valid_until: h.now + secs(valid),
        link: LinkId::Interface(9),
        next_hop: Some(addr("fe80::99")),
        ifindex: 9,
        hw_addr: None,
        reconfigure: None,
    }
}

/// The store reports another server's `lease` now: true when our own
/// binding lost the race.
fn report(h: &mut H, lease: Lease) -> bool {
    let now = h.now;
    h.s.foreign_lease(now, lease)
}

/// [`report`] of the lease [`foreign`] builds.
fn report_foreign(h: &mut H, c: &Client, prefix: &str, valid: u64) -> bool {
    let lease = foreign(h, c, prefix, valid);
    report(h, lease)
}

/// The store reports now that another server's lease of `prefix` ended:
/// true when that freed a foreign lease here.
fn report_gone(h: &mut H, kind: LeaseKind, prefix: Prefix) -> bool {
    let now = h.now;
    h.s.foreign_lease_gone(now, kind, prefix)
}

fn lease_of<'a>(h: &'a H, prefix: &str) -> Option<&'a Lease> {
    h.s.leases().find(|l| l.prefix == pfx(prefix))
}

#[test]
fn lost_race_drops_our_binding_without_a_remove_and_adopts_the_holder() {
    let mut h = H::new(config());
    let ours = Client::new(1);
    let reply = h.bind(&ours, vec![pd(1, &["::/56"])]);
    let granted = the_prefix(&reply, 1);
    assert_eq!(granted, pfx("2001:db8:100::/56"));

    // The store says another server's client holds it.
    let theirs = Client::new(2);
    let holder = foreign(&h, &theirs, "2001:db8:100::/56", 3000);
    assert!(report(&mut h, holder.clone()), "our binding lost the race");
    let outs = h.drain();
    // No LeaseOp at all (a Remove would delete the winner's row), and the
    // route we set for our client is deleted.
    assert!(outs.leases().is_empty(), "{outs:?}");
    assert!(outs.transmits().is_empty());
    let dels = outs.del_routes();
    assert_eq!(dels.len(), 1, "{outs:?}");
    assert_eq!((dels[0].dst, dels[0].gateway), (granted, Some(ours.ll)));
    assert!(outs.set_routes().is_empty());

    // The holder's lease is kept, as foreign: no route here.
    let kept = lease_of(&h, "2001:db8:100::/56").expect("adopted");
    assert_eq!(kept.duid, theirs.duid);
    assert_eq!((kept.next_hop, kept.ifindex), (None, 0));
    assert_eq!(kept.valid_until, holder.valid_until);
    assert_eq!(h.s.status().leases, 1);

    // Our client retransmits its Request (it never got the Reply) and
    // gets another prefix; the taken one is skipped.
    let outs = h.request(&ours, 3, vec![pd(1, &["2001:db8:100::/56"])]);
    let got = the_prefix(&outs.reply(), 1);
    assert_ne!(got, granted);
    assert_eq!(outs.upserts(), vec![got]);
    // A third client gets neither.
    let third = Client::new(3);
    let r = h.bind(&third, vec![pd(1, &["::/56"])]);
    let p3 = the_prefix(&r, 1);
    assert!(p3 != granted && p3 != got, "{p3}");
    assert_eq!(h.s.status().leases, 3);
}

#[test]
fn foreign_lease_not_held_is_skipped_by_the_pool_and_gone_frees_it() {
    let mut h = H::new(config());
    let theirs = Client::new(2);
    // The other server granted the first two prefixes of the pool.
    for p in ["2001:db8:100::/56", "2001:db8:100:100::/56"] {
        assert!(!report_foreign(&mut h, &theirs, p, 3000));
    }
    let outs = h.drain();
    assert!(
        outs.all.is_empty(),
        "adopting changes nothing outside: {outs:?}"
    );
    let ours = Client::new(1);
    let got = the_prefix(&h.bind(&ours, vec![pd(1, &["::/56"])]), 1);
    assert_eq!(got, pfx("2001:db8:100:200::/56"));

    // The other server released the first one: it is free again here.
    let prefix = LeaseKind::Prefix;
    assert!(report_gone(&mut h, prefix, pfx("2001:db8:100::/56")));
    assert!(lease_of(&h, "2001:db8:100::/56").is_none());
    assert!(h.drain().all.is_empty(), "nothing to store or route");
    // Gone for a lease of OUR own is ignored (the store never deletes a
    // live lease of ours on another server's behalf), as is an unknown one
    // or the wrong kind.
    assert!(!report_gone(&mut h, prefix, got));
    assert!(lease_of(&h, "2001:db8:100:200::/56").is_some());
    assert!(!report_gone(&mut h, prefix, pfx("2001:db8:100:f00::/56")));
    let address = LeaseKind::Address;
    assert!(!report_gone(&mut h, address, pfx("2001:db8:100:100::/56")));
    assert!(lease_of(&h, "2001:db8:100:100::/56").is_some());
}

#[test]
fn same_client_renewed_elsewhere_keeps_ours_with_the_later_lifetime() {
    let mut h = H::new(config());
    let c = Client::new(1);
    let granted = the_prefix(&h.bind(&c, vec![pd(1, &["::/56"])]), 1);
    let mine = lease_of(&h, "2001:db8:100::/56").expect("bound").clone();
    // The client rebound through the other server, which extended it.
    let mut later = foreign(&h, &c, "2001:db8:100::/56", 7000);
    later.link = mine.link;
    assert!(!report(&mut h, later.clone()));
    let outs = h.drain();
    assert!(outs.leases().is_empty());
    // Our route is set again with the new expiry, still via our next hop.
    let set = outs.set_routes();
    assert_eq!(set.len(), 1, "{outs:?}");
    assert_eq!((set[0].dst, set[0].gateway), (granted, Some(c.ll)));
    assert_eq!(set[0].expires, Some(secs(7000)));
    let kept = lease_of(&h, "2001:db8:100::/56").expect("kept");
    assert_eq!((kept.next_hop, kept.ifindex), (mine.next_hop, mine.ifindex));
    assert_eq!(kept.valid_until, later.valid_until);
    // An older report changes nothing.
    let older = foreign(&h, &c, "2001:db8:100::/56", 10);
    assert!(!report(&mut h, older));
    assert!(h.drain().all.is_empty());
    assert_eq!(
        lease_of(&h, "2001:db8:100::/56").expect("kept").valid_until,
        later.valid_until
    );
}

#[test]
fn expired_report_is_ignored_and_foreign_leases_expire_without_a_route() {
    let mut h = H::new(config());
    let theirs = Client::new(2);
    let now = h.now;
    let mut stale = foreign(&h, &theirs, "2001:db8:100::/56", 100);
    stale.valid_until = now;
    assert!(!report(&mut h, stale));
    assert_eq!(h.s.status().leases, 0);

    assert!(!report_foreign(&mut h, &theirs, "2001:db8:100::/56", 100));
    assert_eq!(h.s.poll_timeout(), Some(now + secs(100)));
    let outs = h.advance(secs(100));
    // Ended like any lease (the shared store decides whether the Remove
    // still applies), but there is no route of ours to delete.
    assert_eq!(outs.removes(), vec![pfx("2001:db8:100::/56")]);
    assert!(outs.del_routes().is_empty(), "{outs:?}");
    // The other server reports its own lease's end: no lease event here
    // (no "expired" hook for a lease this server never granted).
    assert!(outs.notices().is_empty(), "{outs:?}");
    assert_eq!(h.s.status().leases, 0);
}

#[test]
fn rebind_of_a_foreign_lease_extends_it_and_routes_it_here() {
    let mut h = H::new(config());
    let c = Client::new(5);
    assert!(!report_foreign(&mut h, &c, "2001:db8:100:500::/56", 3000));
    // RFC 8415 §18.3.5: the other server is gone; the client rebinds here.
    let outs = h.rebind(&c, 9, vec![pd(1, &["2001:db8:100:500::/56"])]);
    assert_eq!(outs.reply().msg_type, MessageType::Reply);
    assert_eq!(
        prefixes(&outs.reply(), 1),
        vec![(pfx("2001:db8:100:500::/56"), 1800, 3600)]
    );
    match &outs.all[..] {
        [
            ServerOutput::Lease(LeaseOp::Upsert(l)),
            ServerOutput::Transmit(_),
            ServerOutput::Kernel(KernelOp::SetRoute(r)),
            ..,
        ] => {
            assert_eq!(l.duid, c.duid);
            assert_eq!((l.next_hop, l.ifindex), (Some(c.ll), IF));
            assert_eq!(r.gateway, Some(c.ll));
        }
        other => panic!("unexpected outputs {other:?}"),
    }
    // Now ours: a report that it is gone does not free it.
    let p = pfx("2001:db8:100:500::/56");
    assert!(!report_gone(&mut h, LeaseKind::Prefix, p));
    assert!(lease_of(&h, "2001:db8:100:500::/56").is_some());
}
