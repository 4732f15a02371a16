//! A node driven by events at explicit instants against the real delegating
//! server machine: no kernel, no sockets, no clock.

use std::net::Ipv6Addr;
use std::time::Duration;

use v6edge_core::{Instant, KernelOp, Received, RouteType, Transmit};
use v6edge_dhcp6::client::{ClientConfig, IaPdConfig};
use v6edge_dhcp6::server::{
    LinkConfig, LinkSelector, PrefixPool, Server, ServerConfig, ServerOutput,
};
use v6edge_node::{ADVERTISE_GRACE, Node, NodeLan, NodeOutput, PoolSetting, from_uplink_pools};
use v6edge_prefix::Prefix;
use v6edge_ra::AdvertiserConfig;
use v6edge_router::{LanSpec, Persisted};
use v6edge_wire::dhcp6::Duid;

const UPLINK: u32 = 1;
const LAN: u32 = 2;
const SERVER_IF: u32 = 9;
const CLIENT_LL: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 2);
const SERVER_LL: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);

fn pfx(s: &str) -> Prefix {
    s.parse().unwrap()
}

fn server_config(pool: &str) -> ServerConfig {
    let mut c = ServerConfig::new(Duid::new_ll(1, &[2, 0, 0, 0, 0, 1]));
    c.links = vec![LinkConfig {
        id: LinkSelector::Interface(SERVER_IF),
        address_pools: vec![],
        prefix_pools: vec![PrefixPool {
            prefix: pfx(pool),
            delegated_len: 56,
            preferred: Duration::from_secs(1800),
            valid: Duration::from_secs(3600),
            exclude_first: None,
            ends: None,
        }],
    }];
    c
}

fn node(now: Instant) -> Node {
    let lan = NodeLan {
        spec: LanSpec {
            name: "lan0".into(),
            ifindex: None,
            subnet_id: None,
            advertise: true,
            dns_servers: None,
            dns_domains: None,
        },
        advertiser: AdvertiserConfig::new(0),
    };
    let mut n = Node::new(vec![lan], Persisted::default(), None, 7, now);
    n.set_uplink_ifindex(now, Some(UPLINK));
    let duid = Duid::new_ll(1, &[2, 0, 0, 0, 0, 2]);
    let ia = IaPdConfig {
        iaid: 1,
        hint_len: Some(56),
        hint_prefix: None,
    };
    n.attach_client(now, ClientConfig::new(UPLINK, duid, vec![ia]));
    n.set_uplink_ready(now, true);
    n.set_lan_link(now, 0, Some((LAN, Some([2, 0, 0, 0, 0, 3]))));
    n
}

/// Everything the node asked for, in order.
fn drain(n: &mut Node) -> Vec<NodeOutput> {
    std::iter::from_fn(|| n.poll_output()).collect()
}

/// Carries DHCPv6 both ways until neither side has anything to send;
/// returns the node's other outputs.
fn exchange(n: &mut Node, s: &mut Server, now: Instant) -> Vec<NodeOutput> {
    let mut kept = Vec::new();
    for _ in 0..16 {
        let to_server: Vec<Transmit> = drain(n)
            .into_iter()
            .filter_map(|o| match o {
                NodeOutput::Dhcp6(t) => Some(t),
                other => {
                    kept.push(other);
                    None
                }
            })
            .collect();
        for t in &to_server {
            s.handle_packet(
                now,
                &Received {
                    ifindex: SERVER_IF,
                    src: CLIENT_LL,
                    dst: t.dst,
                    hop_limit: 1,
                    bytes: &t.payload,
                },
            );
        }
        let replies: Vec<Transmit> = std::iter::from_fn(|| s.poll_output())
            .filter_map(|o| match o {
                ServerOutput::Transmit(t) => Some(t),
                _ => None,
            })
            .collect();
        if to_server.is_empty() && replies.is_empty() {
            break;
        }
        for t in &replies {
            n.handle_dhcp6(
                now,
                &Received {
                    ifindex: UPLINK,
                    src: SERVER_LL,
                    dst: t.dst,
                    hop_limit: 64,
                    bytes: &t.payload,
                },
            );
        }
    }
    kept
}

/// Runs the node's timers (Solicit delay, Advertise collection) until it is
/// bound, carrying its messages to the server.
fn bind(n: &mut Node, s: &mut Server, mut now: Instant) -> (Instant, Vec<NodeOutput>) {
    let mut outs = exchange(n, s, now);
    for _ in 0..32 {
        if !n.leases().prefixes.is_empty() {
            break;
        }
        now = n
            .poll_timeout()
            .expect("a node that is not bound has a timer");
        n.handle_timeout(now);
        outs.extend(exchange(n, s, now));
    }
    (now, outs)
}

#[test]
fn a_delegated_56_numbers_the_lan_routes_and_leaves_the_rest_delegable() {
    let t0 = Instant::from_secs(100);
    let mut s = Server::new(server_config("2001:db8:100::/48"), 1, t0);
    let mut n = node(t0);
    let (now, outs) = bind(&mut n, &mut s, t0);
    let delegated = n.leases().prefixes[0].prefix;
    assert_eq!(delegated.len(), 56);
    assert!(pfx("2001:db8:100::/48").contains(&delegated));

    let lan_addr = outs.iter().find_map(|o| match o {
        NodeOutput::Kernel(KernelOp::SetAddress(a)) if a.ifindex == LAN => Some(a.clone()),
        _ => None,
    });
    let lan_addr = lan_addr.expect("a router address on the LAN");
    assert_eq!(lan_addr.prefix_len, 64);
    let lan64 = n.router().status(now)[0].prefix.expect("a LAN /64");
    assert!(lan64.contains_addr(lan_addr.addr));
    assert!(delegated.contains(&lan64));
    assert!(outs.iter().any(|o| matches!(o,
        NodeOutput::Kernel(KernelOp::SetRoute(r)) if r.dst == delegated && r.kind == RouteType::Unreachable)));

    // The advertiser started at once (content worth sending), before the
    // grace period ran out, and advertises the LAN /64.
    assert!(now < t0 + ADVERTISE_GRACE);
    let ra = n.advertiser(0).expect("LAN advertiser");
    assert!(ra.content().prefixes.iter().any(|p| p.prefix == lan64));
    assert!(
        outs.iter()
            .any(|o| matches!(o, NodeOutput::Icmp6 { lan: Some(0), .. }))
    );

    // The rest of the /56 is for the LAN server: 255 /64s, none the LAN's.
    let space = n.delegable_space(now);
    let total: u128 = space.iter().map(|b| 1u128 << (64 - b.block.len())).sum();
    assert_eq!(total, 255);
    assert!(
        space
            .iter()
            .all(|b| delegated.contains(&b.block) && !b.block.contains(&lan64))
    );

    // Pools over it never give more than what remains upstream (L-17).
    let later = now + Duration::from_secs(3000);
    let pools = from_uplink_pools(
        &space,
        PoolSetting {
            delegated_len: 60,
            preferred: Duration::from_secs(86_400),
            valid: Duration::from_secs(86_400),
        },
        later,
    );
    assert!(!pools.is_empty());
    let valid_left = n.leases().prefixes[0].valid_until.unwrap() - later;
    assert!(
        pools
            .iter()
            .all(|p| p.valid <= valid_left && p.preferred <= p.valid)
    );
    assert!(valid_left <= Duration::from_secs(600));
}

#[test]
fn renumbering_deprecates_the_old_lan_prefix() {
    let t0 = Instant::from_secs(100);
    let mut s = Server::new(server_config("2001:db8:100::/48"), 1, t0);
    let mut n = node(t0);
    let (now, _) = bind(&mut n, &mut s, t0);
    let old = n.leases().prefixes[0].prefix;
    let old_lan = n.router().status(now)[0].prefix.unwrap();

    // The operator moves the pool; the next Renew revokes the old prefix
    // and the node asks again.
    let now = now + Duration::from_secs(60);
    s.reconfigure(now, server_config("2001:db8:200::/48"));
    while s.poll_output().is_some() {}
    assert!(n.renew_now(now));
    let (now, outs) = bind(&mut n, &mut s, now);
    let mut now = now;
    for _ in 0..32 {
        if n.leases().prefixes.iter().any(|p| p.prefix != old) {
            break;
        }
        now = n.poll_timeout().unwrap();
        n.handle_timeout(now);
        exchange(&mut n, &mut s, now);
    }
    let new = n
        .leases()
        .prefixes
        .iter()
        .find(|p| p.prefix != old)
        .map(|p| p.prefix);
    let new = new.expect("a prefix from the new pool");
    assert!(pfx("2001:db8:200::/48").contains(&new));
    let content = n.advertiser(0).unwrap().content();
    assert!(
        content.deprecated.iter().any(|d| d.prefix == old_lan),
        "old LAN /64 advertised as deprecated: {content:?} ({outs:?})"
    );
    assert!(content.prefixes.iter().all(|p| new.contains(&p.prefix)));
    assert!(
        n.delegable_space(now)
            .iter()
            .all(|b| new.contains(&b.block))
    );
}

/// Issue 8 item 4: another role's content joins the LAN's RAs (one
/// advertiser per link) and leaves them when withdrawn; the router's own
/// key cannot be taken over.
#[test]
fn other_roles_content_joins_the_lan_ras_and_leaves_on_withdrawal() {
    use v6edge_core::Owner;
    use v6edge_ra::{AdvPrefix, AdvertContent};
    let t0 = Instant::from_secs(100);
    let mut s = Server::new(server_config("2001:db8:100::/48"), 1, t0);
    let mut n = node(t0);
    let static_pfx = pfx("2001:db8:77::/64");
    let dns: Ipv6Addr = "2001:db8::53".parse().unwrap();
    let extra = AdvertContent {
        prefixes: vec![AdvPrefix {
            prefix: static_pfx,
            preferred_until: Some(t0 + Duration::from_secs(14_400)),
            valid_until: Some(t0 + Duration::from_secs(86_400)),
            on_link: true,
            autonomous: true,
        }],
        dns_servers: vec![dns],
        ..AdvertContent::default()
    };
    // Before any delegation: the static prefix alone is worth advertising,
    // so the advertiser does not wait for the grace period.
    n.set_lan_contribution(t0, "lan0", Owner::Static, Some(extra.clone()));
    let outs = drain(&mut n);
    assert!(
        outs.iter()
            .any(|o| matches!(o, NodeOutput::Icmp6 { lan: Some(0), .. })),
        "an RA at once: {outs:?}"
    );
    let (now, _) = bind(&mut n, &mut s, t0);
    let lan64 = n.router().status(now)[0].prefix.expect("a LAN /64");
    let content = n.advertiser(0).unwrap().content();
    let advertised: Vec<Prefix> = content.prefixes.iter().map(|p| p.prefix).collect();
    assert!(
        advertised.contains(&lan64) && advertised.contains(&static_pfx),
        "{advertised:?}"
    );
    assert!(content.dns_servers.contains(&dns));

    // A contribution under the router's own key is refused.
    n.set_lan_contribution(now, "lan0", Owner::RequestingRouter, None);
    assert!(
        n.advertiser(0)
            .unwrap()
            .content()
            .prefixes
            .iter()
            .any(|p| p.prefix == lan64)
    );
    // An unknown LAN changes nothing.
    n.set_lan_contribution(now, "lan9", Owner::Static, None);

    // Withdrawn: the delegated /64 stays, the static prefix goes.
    n.set_lan_contribution(now, "lan0", Owner::Static, None);
    let content = n.advertiser(0).unwrap().content();
    let advertised: Vec<Prefix> = content.prefixes.iter().map(|p| p.prefix).collect();
    assert_eq!(advertised, vec![lan64]);
    assert!(!content.dns_servers.contains(&dns));

    // Kept across the link going away and coming back.
    n.set_lan_contribution(now, "lan0", Owner::Static, Some(extra));
    n.set_lan_link(now, 0, None);
    n.set_lan_link(now, 0, Some((LAN, Some([2, 0, 0, 0, 0, 3]))));
    let content = n.advertiser(0).expect("advertiser back").content();
    assert!(content.prefixes.iter().any(|p| p.prefix == static_pfx));
}
