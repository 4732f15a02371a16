//! What a Mobile IPv6 home agent's RAs say (RFC 6275 §7.1–§7.4, HA-16):
//! the H flag, the Home Agent Information option and when §7.4 leaves it
//! out, the Advertisement Interval option, the R-flag PIO with the router's
//! address; and that these survive splitting, the final RA and other
//! routers' consistency checks. Every RA is parsed back with the ND codec
//! (common::check_ra).

mod common;

use std::time::Duration;

use common::*;
use v6edge_ra::{AdvHomeAgent, AdvertContent, Advertiser, MIN_DELAY_BETWEEN_RAS};
use v6edge_wire::Lifetime;
use v6edge_wire::nd::{NdMessage, NdOption, PrefixInfo, RouterAdvert};

/// A home agent with `ha` on a link with one global /64, default router.
fn home_agent(ha: AdvHomeAgent) -> AdvertContent {
    AdvertContent {
        prefixes: vec![live("2001:db8:1::/64")],
        default_router: true,
        home_agent: Some(ha),
        ..Default::default()
    }
}

fn ha(preference: i16, lifetime_secs: u64) -> AdvHomeAgent {
    AdvHomeAgent {
        preference,
        lifetime: Duration::from_secs(lifetime_secs),
        mobile_routers: false,
    }
}

/// The first RA sent after start.
fn first_ra(content: AdvertContent) -> RouterAdvert {
    let mut adv = started(content, secs(0));
    drain(&mut adv).remove(0).1
}

fn all_ras(content: AdvertContent) -> Vec<RouterAdvert> {
    let mut adv = started(content, secs(0));
    drain(&mut adv).into_iter().map(|(_, ra)| ra).collect()
}

#[test]
fn default_home_agent_sets_h_and_leaves_the_option_out() {
    // RFC 6275 §7.4: preference 0 and lifetime = Router Lifetime (1800 s in
    // common::config) are the defaults; the option SHOULD NOT be sent.
    let ra = first_ra(home_agent(ha(0, 1800)));
    assert!(ra.flags.home_agent, "RFC 6275 §7.1");
    assert_eq!(ra.router_lifetime, 1800);
    assert_eq!(ra.options.home_agent_info(), None);
}

#[test]
fn home_agent_info_sent_when_any_value_differs_from_its_default() {
    for (given, preference, lifetime, reserved) in [
        (ha(10, 1800), 10, 1800, 0),
        (ha(-3, 1800), -3, 1800, 0),
        (ha(0, 3600), 0, 3600, 0),
        (
            AdvHomeAgent {
                mobile_routers: true,
                ..ha(0, 1800)
            },
            0,
            1800,
            0x8000,
        ),
    ] {
        let ra = first_ra(home_agent(given));
        assert!(ra.flags.home_agent);
        let info = ra.options.home_agent_info().expect("option sent");
        assert_eq!(
            (info.preference, info.lifetime, info.reserved),
            (preference, lifetime, reserved),
            "{given:?}"
        );
        // RFC 3963 §7.1: NEMO's R bit.
        assert_eq!(info.mobile_router(), given.mobile_routers);
    }
}

#[test]
fn home_agent_lifetime_is_never_zero_and_fits_16_bits() {
    // RFC 6275 §7.4: "A value of 0 MUST NOT be used"; 16 bits of seconds.
    let zero = first_ra(home_agent(ha(5, 0)));
    assert_eq!(zero.options.home_agent_info().unwrap().lifetime, 1);
    let long = first_ra(home_agent(ha(5, 1_000_000)));
    assert_eq!(long.options.home_agent_info().unwrap().lifetime, u16::MAX);
}

#[test]
fn home_agent_that_is_not_a_default_router_sends_its_lifetime() {
    // Router Lifetime 0 (RFC 7084 G-4): the default Home Agent Lifetime
    // would be 0, which §7.4 forbids, so the option carries it even with
    // default values.
    let content = AdvertContent {
        default_router: false,
        ..home_agent(ha(0, 1800))
    };
    let ra = first_ra(content);
    assert_eq!(ra.router_lifetime, 0);
    assert!(ra.flags.home_agent);
    let info = ra.options.home_agent_info().expect("option sent");
    assert_eq!((info.preference, info.lifetime), (0, 1800));
}

#[test]
fn final_ra_keeps_h_and_drops_the_option_so_hosts_forget_the_home_agent() {
    let mut adv = started(home_agent(ha(7, 3600)), secs(0));
    run_until(&mut adv, secs(500));
    adv.stop(secs(500));
    let fin = drain(&mut adv);
    assert_eq!(fin.len(), 1);
    let ra = &fin[0].1;
    assert_eq!(ra.router_lifetime, 0, "RFC 4861 §6.2.5");
    // RFC 6275 §7.4: without the option the Home Agent Lifetime is the
    // Router Lifetime, 0: receivers remove us from their lists.
    assert!(ra.flags.home_agent);
    assert_eq!(ra.options.home_agent_info(), None);
}

#[test]
fn no_home_agent_no_h_flag_no_option() {
    let ra = first_ra(AdvertContent {
        prefixes: vec![live("2001:db8:1::/64")],
        default_router: true,
        ..Default::default()
    });
    assert!(!ra.flags.home_agent);
    assert_eq!(ra.options.home_agent_info(), None);
    assert_eq!(ra.options.adv_interval_ms(), None);
    assert!(ra.options.prefixes().all(|p| !p.router_addr));
}

#[test]
fn advertisement_interval_carries_max_rtr_adv_interval_in_ms() {
    // RFC 6275 §7.3: MUST equal MaxRtrAdvInterval (600 s in common::config).
    let ra = first_ra(AdvertContent {
        advertisement_interval: true,
        ..home_agent(ha(0, 1800))
    });
    assert_eq!(ra.options.adv_interval_ms(), Some(600_000));
    // Not only for home agents: any router may send it.
    let plain = first_ra(AdvertContent {
        prefixes: vec![live("2001:db8:1::/64")],
        advertisement_interval: true,
        ..Default::default()
    });
    assert!(!plain.flags.home_agent);
    assert_eq!(plain.options.adv_interval_ms(), Some(600_000));
}

#[test]
fn router_address_rides_in_the_pio_of_its_prefix_with_r_set() {
    // RFC 6275 §7.2: the Prefix field holds the whole address; the prefix
    // is its first Prefix Length bits.
    let ra = first_ra(AdvertContent {
        prefixes: vec![live("2001:db8:1::/64"), live("2001:db8:2::/64")],
        router_address: Some(addr("2001:db8:2::1")),
        ..home_agent(ha(0, 1800))
    });
    let pios: Vec<&PrefixInfo> = ra.options.prefixes().collect();
    assert_eq!(pios.len(), 2);
    assert_eq!(pios[0].prefix, addr("2001:db8:1::"));
    assert!(!pios[0].router_addr);
    assert_eq!(
        (pios[1].prefix, pios[1].prefix_len),
        (addr("2001:db8:2::1"), 64)
    );
    assert!(pios[1].router_addr && pios[1].on_link && pios[1].autonomous);
    assert_eq!(
        (pios[1].valid, pios[1].preferred),
        (Lifetime::Finite(5400), Lifetime::Finite(2700))
    );
}

#[test]
fn router_address_outside_every_live_prefix_sets_no_r_flag() {
    let ra = first_ra(AdvertContent {
        router_address: Some(addr("2001:db8:99::1")),
        ..home_agent(ha(0, 1800))
    });
    let pio = ra.options.prefixes().next().unwrap();
    assert!(!pio.router_addr);
    assert_eq!(pio.prefix, addr("2001:db8:1::"));
}

#[test]
fn router_address_that_is_not_global_unicast_is_dropped_and_counted() {
    for bad in ["fe80::1", "ff02::1", "::", "::1"] {
        let mut adv = Advertiser::new(config(), 1, secs(0));
        adv.set_content(
            secs(0),
            AdvertContent {
                prefixes: vec![live("fe80::/64")],
                router_address: Some(addr(bad)),
                ..Default::default()
            },
        );
        assert_eq!(adv.content().router_address, None, "{bad}");
        assert_eq!(adv.status().content_items_dropped, 1, "{bad}");
    }
}

#[test]
fn every_ra_of_a_split_set_says_it_is_a_home_agent() {
    // Enough RDNSS servers to need several RAs (MAX_RA_LEN): each is a
    // complete RA, so each carries H and the option, or a host reading one
    // would take the defaults.
    let servers = (1..=150u16)
        .map(|i| addr(&format!("2001:db8:53::{i:x}")))
        .collect();
    let ras = all_ras(AdvertContent {
        dns_servers: servers,
        advertisement_interval: true,
        router_address: Some(addr("2001:db8:1::1")),
        ..home_agent(ha(20, 900))
    });
    assert!(ras.len() > 1, "content split over {} RAs", ras.len());
    for ra in &ras {
        assert!(ra.flags.home_agent);
        let info = ra.options.home_agent_info().unwrap();
        assert_eq!((info.preference, info.lifetime), (20, 900));
        assert_eq!(ra.options.adv_interval_ms(), Some(600_000));
    }
    let r_flags = ras
        .iter()
        .flat_map(|r| r.options.prefixes())
        .filter(|p| p.router_addr)
        .count();
    assert_eq!(r_flags, 1, "one PIO carries the address");
}

#[test]
fn becoming_a_home_agent_is_announced_by_fast_ras() {
    // RFC 4861 §6.2.4: a change of what is advertised may bring RAs
    // forward; mobile nodes look for home agents in them.
    let plain = AdvertContent {
        prefixes: vec![live("2001:db8:1::/64")],
        default_router: true,
        ..Default::default()
    };
    let mut adv = started(plain.clone(), secs(0));
    let quiet = next_multicast_ra(&mut adv) + MIN_DELAY_BETWEEN_RAS + Duration::from_secs(1);
    run_until(&mut adv, quiet);
    drain(&mut adv);
    let next_regular = adv.poll_timeout().unwrap();
    adv.set_content(quiet, home_agent(ha(3, 1800)));
    let sent = drain(&mut adv);
    assert_eq!(sent.len(), 1, "RA at once, before {next_regular:?}");
    assert!(sent[0].1.flags.home_agent);
    // Ceasing to be one is announced too.
    let later = quiet + MIN_DELAY_BETWEEN_RAS;
    adv.set_content(later, plain);
    let sent = run_until(&mut adv, later);
    assert_eq!(sent.len(), 1);
    assert!(!sent[0].2.flags.home_agent);
}

#[test]
fn another_home_agents_r_flag_pio_is_compared_by_its_prefix() {
    // RFC 4861 §6.2.7 compares prefixes; with R (RFC 6275 §7.2) the field
    // is a whole address, ours or the other router's.
    let mut adv = started(
        AdvertContent {
            router_address: Some(addr("2001:db8:1::1")),
            ..home_agent(ha(0, 1800))
        },
        secs(0),
    );
    run_until(&mut adv, secs(100));
    let their_ra = |valid: u32| {
        let mut ra = RouterAdvert::new(64, 1800);
        ra.flags.other = true;
        ra.flags.home_agent = true;
        let mut pio = PrefixInfo::new(
            addr("2001:db8:1::2"),
            64,
            Lifetime::Finite(valid),
            Lifetime::Finite(2700),
        );
        pio.router_addr = true;
        ra.options.push(NdOption::PrefixInfo(pio));
        NdMessage::RouterAdvert(ra).to_bytes()
    };
    adv.handle_packet(secs(100), &rx(addr("fe80::2"), 255, &their_ra(5400)));
    assert_eq!(
        adv.status().ra_inconsistent,
        0,
        "same prefix, same lifetimes"
    );
    adv.handle_packet(secs(100), &rx(addr("fe80::2"), 255, &their_ra(600)));
    assert_eq!(
        adv.status().ra_inconsistent,
        1,
        "same prefix, other valid lifetime"
    );
}
