//! What hostile clients can make the server machine hold (issue 14): a
//! flood of clients that never finish an exchange leaves nothing behind,
//! and the optional caps bound what clients that do finish can take, per
//! link and per client link-layer address.

#[path = "server_harness.rs"]
mod harness;

use harness::*;
use v6edge_wire::dhcp6::{Duid, MessageType, StatusCode};

/// 20 000 made-up clients each send a Solicit (no Rapid Commit) and never
/// come back: every one is answered, no lease, no operation for the store,
/// no route, and the next real client gets the first prefix of the pool,
/// as if the flood had not happened (offers are not held: RFC 8415 §18.3.1
/// lets a server keep no state for an Advertise).
#[test]
fn solicits_that_are_never_followed_up_cost_nothing() {
    let mut h = H::new(config());
    for n in 0..20_000u16 {
        let cl = Client::new(n);
        let outs = h.solicit(&cl, u32::from(n), vec![pd(1, &[])]);
        assert!(outs.leases().is_empty() && outs.kernel().is_empty());
        assert_eq!(outs.reply().msg_type, MessageType::Advertise);
    }
    assert_eq!(h.s.status().leases, 0);
    let after = h.advance(secs(3600));
    assert!(after.leases().is_empty() && after.kernel().is_empty());
    let real = Client::new(40_000);
    let got = the_prefix(&h.bind(&real, vec![pd(1, &[])]), 1);
    assert_eq!(got, pfx("2001:db8:100::/56"));
}

/// A client with this link-layer address and its own DUID-LL.
fn client_with_mac(n: u16, mac: [u8; 6]) -> Client {
    let mut c = Client::new(n);
    // DUID-LLT: same hardware, a made-up time: another DUID for the same device.
    c.duid = Duid::new_llt(1, u32::from(n), &mac);
    c
}

/// One device making up DUIDs (same MAC in every DUID-LLT): with
/// `max_leases_per_link_layer_address = 2` its third client gets
/// NoPrefixAvail, and another device is served.
#[test]
fn link_layer_address_cap_stops_one_device_taking_the_pool() {
    let mut c = config();
    c.max_leases_per_link_layer_address = Some(2);
    let mut h = H::new(c);
    let mac = [0x02, 0xaa, 0, 0, 0, 1];
    for n in 1..=2 {
        let cl = client_with_mac(n, mac);
        let reply = h.bind(&cl, vec![pd(1, &[])]);
        assert_eq!(prefixes(&reply, 1).len(), 1, "client {n} of the device");
    }
    let third = client_with_mac(3, mac);
    let adv = h.solicit(&third, 9, vec![pd(1, &[])]).reply();
    assert_eq!(pd_status(&adv, 1), Some(StatusCode::NoPrefixAvail));
    let req = h.request(&third, 10, vec![pd(1, &[])]).reply();
    assert_eq!(pd_status(&req, 1), Some(StatusCode::NoPrefixAvail));
    assert_eq!(h.s.status().leases, 2);
    assert!(h.s.status().counters.refused_client_cap >= 2);

    let other = client_with_mac(4, [0x02, 0xbb, 0, 0, 0, 1]);
    assert_eq!(prefixes(&h.bind(&other, vec![pd(1, &[])]), 1).len(), 1);

    // The device's leases are still renewed; once one is released, it
    // may take another.
    let first = client_with_mac(1, mac);
    let p =
        h.s.leases()
            .find(|l| l.duid == first.duid)
            .map(|l| l.prefix)
            .expect("lease");
    let renew = h.renew(&first, 11, vec![holding(1, p)]).reply();
    assert_eq!(prefixes(&renew, 1).len(), 1);
    h.release(&first, 12, vec![holding(1, p)]);
    assert_eq!(prefixes(&h.bind(&third, vec![pd(1, &[])]), 1).len(), 1);
}

/// `max_leases_per_link = 3`: the fourth client on the link is refused,
/// and served once a lease ends.
#[test]
fn link_cap_bounds_the_leases_of_one_link() {
    let mut c = config();
    c.max_leases_per_link = Some(3);
    let mut h = H::new(c);
    let mut held = Vec::new();
    for n in 1..=3u16 {
        let cl = Client::new(n);
        let p = the_prefix(&h.bind(&cl, vec![pd(1, &[])]), 1);
        held.push((cl, p));
    }
    let fourth = Client::new(4);
    let adv = h.solicit(&fourth, 7, vec![pd(1, &[])]).reply();
    assert_eq!(pd_status(&adv, 1), Some(StatusCode::NoPrefixAvail));
    assert_eq!(h.s.status().counters.refused_link_cap, 1);
    let (cl, p) = held.remove(0);
    h.release(&cl, 8, vec![holding(1, p)]);
    assert_eq!(prefixes(&h.bind(&fourth, vec![pd(1, &[])]), 1).len(), 1);
}
