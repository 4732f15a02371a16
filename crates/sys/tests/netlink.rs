//! rtnetlink against the real kernel, inside a namespace per test, checked
//! with `ip` output.

mod common;

use common::{Netns, NsHandle, WAIT, can_run};
use std::net::Ipv6Addr;
use std::time::Duration;
use v6edge_core::{
    Address4Spec, AddressSpec, KernelOp, Owner, ProxyNeighbourSpec, Reconcile, Route4Spec,
    RouteKey, RouteSpec, RouteTable, RouteType, RuleSpec, TunSpec,
};
use v6edge_sys::{NetEvent, Netlink, RouteKind, SysError};
use v6edge_wire::Lifetime;

const DEV: &str = "d0";

fn ns_with_veth(tag: &str) -> (Netns, u32) {
    let ns = Netns::new(tag);
    // A veth pair inside one namespace (this kernel may lack `dummy`); the
    // peer must be up for `d0` to have carrier.
    ns.ip(&["link", "add", DEV, "type", "veth", "peer", "name", "d1"]);
    ns.ip(&["link", "set", "d1", "up"]);
    ns.ip(&["link", "set", DEV, "up"]);
    ns.wait_link_local(DEV);
    let idx = ns.ifindex(DEV);
    (ns, idx)
}

fn ip6(s: &str) -> Ipv6Addr {
    s.parse().expect("valid literal")
}

/// `(valid_lft, preferred_lft)` in seconds of `addr` in `ip -6 addr` output,
/// with the flags line; `None` if the address is absent.
fn lifetimes(ns: &NsHandle, addr: &str) -> Option<(u64, u64, String)> {
    let out = ns.ip(&["-6", "addr", "show", "dev", DEV]);
    let mut lines = out.lines();
    while let Some(line) = lines.next() {
        if line.contains(&format!("inet6 {addr}/")) {
            let next = lines.next().unwrap_or_default();
            let secs = |key: &str| {
                let w = next.split_whitespace().skip_while(|w| *w != key).nth(1)?;
                w.trim_end_matches("sec").parse().ok()
            };
            return Some((secs("valid_lft")?, secs("preferred_lft")?, line.to_owned()));
        }
    }
    None
}

/// The protocol of the routes the first route test installs.
const ROUTE_PROTOCOL: u8 = 120;

fn address(addr: &str, preferred: u32, valid: u32) -> AddressSpec {
    AddressSpec {
        owner: Owner::RequestingRouter,
        ifindex: 0,
        addr: ip6(addr),
        prefix_len: 64,
        preferred: Lifetime::Finite(preferred),
        valid: Lifetime::Finite(valid),
        no_prefix_route: true,
    }
}

#[test]
fn links_and_addresses() {
    if !can_run("links_and_addresses") {
        return;
    }
    let (ns, idx) = ns_with_veth("addr");
    let h = ns.handle();
    let ll_expected = ns.wait_link_local(DEV);
    ns.run(move || async move {
        let ns = h;
        let nl = Netlink::connect().expect("netlink");

        let link = nl
            .link_by_name(DEV)
            .await
            .expect("get link")
            .expect("d0 exists");
        assert_eq!(link.index, idx);
        assert_eq!(link.name, DEV);
        assert!(link.up && link.running, "{link:?}");
        assert_eq!(link.mtu, 1500);
        assert!(link.mac.is_some());
        assert_eq!(nl.link_by_index(idx).await.expect("get link"), Some(link));
        assert_eq!(nl.link_by_name("nosuchdev0").await.expect("get link"), None);
        assert_eq!(nl.link_by_index(99_999).await.expect("get link"), None);
        assert!(
            nl.links()
                .await
                .expect("dump links")
                .iter()
                .any(|l| l.name == "lo")
        );
        assert_eq!(nl.link_local(idx).await.expect("dump"), Some(ll_expected));

        // Add with finite lifetimes.
        let spec = AddressSpec {
            ifindex: idx,
            ..address("2001:db8:1::1", 300, 600)
        };
        nl.apply(&KernelOp::SetAddress(spec.clone()))
            .await
            .expect("set address");
        let (valid, preferred, line) = lifetimes(&ns, "2001:db8:1::1").expect("address present");
        assert!((595..=600).contains(&valid), "valid_lft {valid}");
        assert!(
            (295..=300).contains(&preferred),
            "preferred_lft {preferred}"
        );
        assert!(
            line.contains("noprefixroute") && line.contains("nodad"),
            "{line}"
        );
        // NOPREFIXROUTE: no kernel route for the /64.
        assert!(
            !ns.ip(&["-6", "route", "show", "2001:db8:1::/64"])
                .contains("2001:db8:1::/64")
        );

        let ours = nl.addresses(Some(idx)).await.expect("dump addresses");
        let info = ours.iter().find(|a| a.addr == spec.addr).expect("dumped");
        assert_eq!(info.prefix_len, 64);
        assert!(info.flags.no_prefix_route() && info.flags.nodad() && !info.flags.permanent());
        assert!(info.usable());
        // Stamped with the owner's protocol number (IFA_PROTO).
        assert_eq!(info.protocol, Owner::RequestingRouter.protocol());
        assert!(
            matches!(info.valid, Lifetime::Finite(v) if (595..=600).contains(&v)),
            "{info:?}"
        );
        assert!(nl.addresses(Some(99_999)).await.expect("dump").is_empty());

        // A second SetAddress updates the lifetimes in place.
        let renewed = AddressSpec {
            ifindex: idx,
            ..address("2001:db8:1::1", 900, 1200)
        };
        nl.apply(&KernelOp::SetAddress(renewed))
            .await
            .expect("replace address");
        let (valid, preferred, _) = lifetimes(&ns, "2001:db8:1::1").expect("address present");
        assert!((1195..=1200).contains(&valid), "valid_lft {valid}");
        assert!(
            (895..=900).contains(&preferred),
            "preferred_lft {preferred}"
        );

        // Infinite lifetimes show as forever / permanent.
        let forever = AddressSpec {
            preferred: Lifetime::Infinite,
            valid: Lifetime::Infinite,
            ..AddressSpec {
                ifindex: idx,
                ..address("2001:db8:1::1", 0, 0)
            }
        };
        nl.apply(&KernelOp::SetAddress(forever))
            .await
            .expect("replace address");
        let out = ns.ip(&["-6", "addr", "show", "dev", DEV]);
        assert!(
            out.contains("valid_lft forever preferred_lft forever"),
            "{out}"
        );

        // Delete, twice (the second is a no-op).
        let del = KernelOp::DelAddress {
            ifindex: idx,
            addr: spec.addr,
            prefix_len: 64,
        };
        nl.apply(&del).await.expect("delete address");
        assert!(lifetimes(&ns, "2001:db8:1::1").is_none());
        nl.apply(&del)
            .await
            .expect("deleting a missing address is Ok");

        // Valid lifetime zero means delete.
        nl.apply(&KernelOp::SetAddress(spec.clone()))
            .await
            .expect("set address");
        assert!(lifetimes(&ns, "2001:db8:1::1").is_some());
        let zero = AddressSpec {
            ifindex: idx,
            ..address("2001:db8:1::1", 0, 0)
        };
        nl.apply(&KernelOp::SetAddress(zero))
            .await
            .expect("valid 0 deletes");
        assert!(lifetimes(&ns, "2001:db8:1::1").is_none());

        // A refused request carries errno and context.
        let bad = AddressSpec {
            ifindex: 99_999,
            ..address("2001:db8:2::1", 10, 20)
        };
        let err = nl
            .apply(&KernelOp::SetAddress(bad))
            .await
            .expect_err("no such link");
        assert!(matches!(err, SysError::Netlink { .. }), "{err:?}");
        assert_eq!(err.errno(), Some(libc::ENODEV));
        assert!(
            err.to_string().contains("2001:db8:2::1/64 dev #99999"),
            "{err}"
        );
    });
    drop(ns);
}

fn route_lines(ns: &NsHandle) -> Vec<String> {
    ns.ip(&["-6", "route", "show", "table", "main"])
        .lines()
        .filter(|l| l.contains(&format!("proto {ROUTE_PROTOCOL} ")))
        .map(str::to_owned)
        .collect()
}

#[test]
fn routes_with_our_protocol() {
    if !can_run("routes_with_our_protocol") {
        return;
    }
    let (ns, idx) = ns_with_veth("route");
    let h = ns.handle();
    ns.run(move || async move {
        let ns = h;
        let nl = Netlink::connect().expect("netlink");
        let unreachable = RouteSpec {
            owner: Owner::RequestingRouter,
            table: RouteTable::MAIN,
            dst: "2001:db8:1200::/56".parse().expect("valid literal"),
            kind: RouteType::Unreachable,
            gateway: None,
            ifindex: None,
            metric: 0,
            expires: None,
        };
        let delegated = RouteSpec {
            owner: Owner::RequestingRouter,
            table: RouteTable::MAIN,
            dst: "2001:db8:1200:10::/60".parse().expect("valid literal"),
            kind: RouteType::Unicast,
            gateway: Some(ip6("fe80::2")),
            ifindex: Some(idx),
            metric: 256,
            expires: Some(Duration::from_secs(300)),
        };
        assert!(nl.default_routes().await.expect("dump").is_empty());
        nl.apply(&KernelOp::SetRoute(unreachable.clone()))
            .await
            .expect("set unreachable");
        nl.apply(&KernelOp::SetRoute(delegated.clone()))
            .await
            .expect("set unicast");

        let lines = route_lines(&ns);
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("unreachable 2001:db8:1200::/56 ")),
            "{lines:?}"
        );
        let uni = lines
            .iter()
            .find(|l| l.starts_with("2001:db8:1200:10::/60 "))
            .expect("unicast route");
        assert!(
            uni.contains("via fe80::2 dev d0")
                && uni.contains("metric 256")
                && uni.contains("expires"),
            "{uni}"
        );

        // A route of another protocol is none of ours.
        ns.ip(&[
            "-6",
            "route",
            "add",
            "2001:db8:99::/48",
            "dev",
            DEV,
            "proto",
            "static",
        ]);
        let mut ours = nl.routes(Some(ROUTE_PROTOCOL)).await.expect("dump routes");
        ours.sort_by_key(|r| r.dst);
        assert_eq!(ours.len(), 2, "{ours:?}");
        assert_eq!(ours[0].dst, unreachable.dst);
        assert_eq!(ours[0].kind, RouteKind::Unreachable);
        assert_eq!(ours[0].metric, 1024, "kernel default metric");
        assert_eq!(ours[1].kind, RouteKind::Unicast);
        assert_eq!(
            (ours[1].gateway, ours[1].oif, ours[1].metric),
            (delegated.gateway, Some(idx), 256)
        );
        let left = ours[1].expires.expect("expiring route");
        assert!(
            left > Duration::from_secs(290) && left <= Duration::from_secs(300),
            "{left:?}"
        );
        assert_eq!(
            ours[1].to_spec().map(|s| RouteSpec { expires: None, ..s }),
            Some(RouteSpec {
                expires: None,
                ..delegated.clone()
            })
        );
        assert!(
            ours.iter()
                .all(|r| r.protocol == ROUTE_PROTOCOL && r.table == 254)
        );
        let all = nl.routes(None).await.expect("dump routes");
        assert!(
            all.iter()
                .any(|r| r.dst.to_string() == "2001:db8:99::/48" && r.protocol == 4)
        );

        // Replace: same destination and metric, new gateway, still one route.
        let moved = RouteSpec {
            gateway: Some(ip6("fe80::3")),
            expires: None,
            ..delegated.clone()
        };
        nl.apply(&KernelOp::SetRoute(moved.clone()))
            .await
            .expect("replace route");
        let lines = route_lines(&ns);
        assert_eq!(lines.len(), 2, "{lines:?}");
        let uni = lines
            .iter()
            .find(|l| l.starts_with("2001:db8:1200:10::/60 "))
            .expect("unicast route");
        assert!(
            uni.contains("via fe80::3") && !uni.contains("expires"),
            "{uni}"
        );

        // Default routes, from whatever protocol (here as if learnt from an RA).
        ns.ip(&[
            "-6", "route", "add", "default", "via", "fe80::9", "dev", DEV, "proto", "ra",
        ]);
        let defaults = nl.default_routes().await.expect("dump");
        assert_eq!(defaults.len(), 1, "{defaults:?}");
        assert_eq!(
            (defaults[0].gateway, defaults[0].protocol, defaults[0].oif),
            (Some(ip6("fe80::9")), 9, Some(idx))
        );

        // Deleting only ever touches our protocol: the static route stays.
        let foreign = RouteSpec {
            owner: Owner::RequestingRouter,
            table: RouteTable::MAIN,
            dst: "2001:db8:99::/48".parse().expect("valid literal"),
            kind: RouteType::Unicast,
            gateway: None,
            ifindex: Some(idx),
            metric: 0,
            expires: None,
        };
        nl.apply(&KernelOp::DelRoute(foreign))
            .await
            .expect("not ours: nothing to delete");
        assert!(ns.ip(&["-6", "route"]).contains("2001:db8:99::/48"));

        for spec in [unreachable, moved] {
            nl.apply(&KernelOp::DelRoute(spec.clone()))
                .await
                .expect("delete route");
            nl.apply(&KernelOp::DelRoute(spec))
                .await
                .expect("deleting a missing route is Ok");
        }
        assert!(route_lines(&ns).is_empty());
        assert!(
            nl.routes(Some(ROUTE_PROTOCOL))
                .await
                .expect("dump")
                .is_empty()
        );

        let err = nl
            .apply(&KernelOp::SetRoute(RouteSpec {
                ifindex: Some(99_999),
                ..delegated
            }))
            .await
            .expect_err("no such device");
        assert_eq!(err.errno(), Some(libc::ENODEV), "{err}");
    });
    drop(ns);
}

/// Waits (bounded) for the first event matching `want`, skipping others.
async fn wait_event(
    events: &mut v6edge_sys::NetEvents,
    what: &str,
    want: impl Fn(&NetEvent) -> bool,
) -> NetEvent {
    let found = tokio::time::timeout(WAIT, async {
        while let Some(ev) = events.next().await {
            if want(&ev) {
                return Some(ev);
            }
        }
        None
    })
    .await;
    match found {
        Ok(Some(ev)) => ev,
        Ok(None) => panic!("monitor ended while waiting for {what}"),
        Err(_) => panic!("no {what} within {WAIT:?}"),
    }
}

#[test]
fn monitor_reports_links_addresses_routes() {
    if !can_run("monitor_reports_links_addresses_routes") {
        return;
    }
    let (ns, idx) = ns_with_veth("mon");
    let h = ns.handle();
    ns.run(move || async move {
        let ns = h;
        let nl = Netlink::connect().expect("netlink");
        let mut events = Netlink::monitor().expect("monitor");

        ns.ip(&["link", "set", DEV, "down"]);
        wait_event(&mut events, "link down", |e| matches!(e, NetEvent::LinkChanged(l) if l.index == idx && !l.up)).await;
        ns.ip(&["link", "set", DEV, "up"]);
        let ev = wait_event(&mut events, "link up", |e| matches!(e, NetEvent::LinkChanged(l) if l.index == idx && l.up)).await;
        assert!(matches!(ev, NetEvent::LinkChanged(l) if l.name == DEV));

        ns.ip(&["-6", "addr", "add", "2001:db8:5::5/64", "dev", DEV, "valid_lft", "100", "preferred_lft", "50"]);
        let ev = wait_event(&mut events, "address added", |e| {
            matches!(e, NetEvent::AddressAdded(a) if a.addr == ip6("2001:db8:5::5"))
        })
        .await;
        let NetEvent::AddressAdded(a) = ev else { unreachable!("matched above") };
        assert_eq!((a.ifindex, a.prefix_len), (idx, 64));
        assert!(matches!(a.valid, Lifetime::Finite(v) if v <= 100 && v > 90), "{a:?}");

        let route = RouteSpec {
            owner: Owner::RequestingRouter,
            table: RouteTable::MAIN,
            dst: "2001:db8:77::/48".parse().expect("valid literal"),
            kind: RouteType::Unreachable,
            gateway: None,
            ifindex: None,
            metric: 0,
            expires: None,
        };
        nl.apply(&KernelOp::SetRoute(route.clone())).await.expect("set route");
        wait_event(&mut events, "route added", |e| {
            matches!(e, NetEvent::RouteAdded(r) if r.dst == route.dst && r.protocol == ROUTE_PROTOCOL)
        })
        .await;
        nl.apply(&KernelOp::DelRoute(route.clone())).await.expect("delete route");
        wait_event(&mut events, "route removed", |e| matches!(e, NetEvent::RouteRemoved(r) if r.dst == route.dst)).await;

        // A host appearing in the neighbour cache (as an NS from its global
        // address would put it there): reported for the RA sender.
        ns.ip(&["-6", "neigh", "add", "2001:db8:5::77", "lladdr", "02:00:00:00:00:77", "dev", DEV, "nud", "stale"]);
        wait_event(&mut events, "neighbour", |e| {
            matches!(e, NetEvent::Neighbour { ifindex, addr, confirmed: false } if *ifindex == idx && *addr == ip6("2001:db8:5::77"))
        })
        .await;
        // One that answered our Neighbor Solicitation (REACHABLE) is
        // reported as confirmed: the DHCPv6 and RS admission trust it more.
        ns.ip(&["-6", "neigh", "add", "fe80::78", "lladdr", "02:00:00:00:00:78", "dev", DEV, "nud", "reachable"]);
        wait_event(&mut events, "confirmed neighbour", |e| {
            matches!(e, NetEvent::Neighbour { ifindex, addr, confirmed: true } if *ifindex == idx && *addr == ip6("fe80::78"))
        })
        .await;

        nl.apply(&KernelOp::DelAddress { ifindex: idx, addr: ip6("2001:db8:5::5"), prefix_len: 64 }).await.expect("del");
        wait_event(&mut events, "address removed", |e| {
            matches!(e, NetEvent::AddressRemoved(a) if a.addr == ip6("2001:db8:5::5"))
        })
        .await;

        ns.ip(&["link", "del", DEV]);
        wait_event(&mut events, "link removed", |e| *e == NetEvent::LinkRemoved(idx)).await;
    });
    drop(ns);
}

#[test]
fn sysctl_writes_in_the_callers_namespace() {
    if !can_run("sysctl_writes_in_the_callers_namespace") {
        return;
    }
    let (ns, _) = ns_with_veth("sysctl");
    let h = ns.handle();
    ns.run(move || async move {
        v6edge_sys::set_ipv6_conf(DEV, v6edge_sys::Ipv6Conf::Forwarding, "1")
            .expect("write forwarding");
        v6edge_sys::set_ipv6_conf(DEV, v6edge_sys::Ipv6Conf::AcceptRa, "2")
            .expect("write accept_ra");
        let err = v6edge_sys::set_ipv6_conf("nosuchdev0", v6edge_sys::Ipv6Conf::Forwarding, "1")
            .expect_err("no such dev");
        assert_eq!(err.errno(), Some(libc::ENOENT), "{err}");
        let _ = h;
    });
    assert_eq!(
        ns.exec(&["sysctl", "-n", "net.ipv6.conf.d0.forwarding"])
            .trim(),
        "1"
    );
    assert_eq!(
        ns.exec(&["sysctl", "-n", "net.ipv6.conf.d0.accept_ra"])
            .trim(),
        "2"
    );
}

#[test]
fn monitor_reports_overrun_and_keeps_going() {
    if !can_run("monitor_reports_overrun_and_keeps_going") {
        return;
    }
    let (ns, idx) = ns_with_veth("ovr");
    let h = ns.handle();
    ns.run(move || async move {
        // A tiny buffer, and this (only) runtime thread blocked in `ip` while
        // hundreds of notifications arrive: the kernel must drop some.
        let mut events = Netlink::monitor_with_buffer(4096).expect("monitor");
        let batch: String = (1..=300)
            .map(|i| format!("addr add 2001:db8:8::{i:x}/128 dev {DEV}\n"))
            .collect();
        let mut child = std::process::Command::new("ip")
            .args(["-n", &h.name, "-6", "-batch", "-"])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .expect("spawn ip");
        {
            use std::io::Write;
            let mut stdin = child.stdin.take().expect("piped stdin");
            stdin.write_all(batch.as_bytes()).expect("write batch");
        }
        assert!(child.wait().expect("ip -batch").success());
        wait_event(&mut events, "overrun", |e| *e == NetEvent::Overrun).await;
        // The socket still works after an overrun, once the backlog is read
        // (the kernel drops notifications to a socket marked congested until
        // a read empties its queue), for a small change: a burst, e.g. a link
        // down dropping 300 addresses, could overrun this tiny buffer again.
        let drain = async {
            while let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(200), events.next()).await {}
        };
        let _ = tokio::time::timeout(WAIT, drain).await;
        h.ip(&["-6", "addr", "add", "2001:db8:9::1/128", "dev", DEV]);
        wait_event(&mut events, "address added after overrun", |e| {
            matches!(e, NetEvent::AddressAdded(a) if a.addr == ip6("2001:db8:9::1") && a.ifindex == idx)
        })
        .await;
    });
    drop(ns);
}

/// The neighbour dump lists the unicast neighbours the kernel has on an
/// interface (here added by hand, as a host's RS or NS would add them),
/// link-local and global, and leaves out failed entries and other
/// interfaces'.
#[test]
fn neighbours_of_an_interface() {
    if !can_run("neighbours_of_an_interface") {
        return;
    }
    let (ns, idx) = ns_with_veth("neigh");
    let stale = |addr: &str, mac: &str, dev: &str| {
        ns.ip(&[
            "-6", "neigh", "add", addr, "lladdr", mac, "dev", dev, "nud", "stale",
        ]);
    };
    stale("fe80::1:2", "02:00:00:00:01:02", DEV);
    stale("2001:db8::5", "02:00:00:00:01:05", DEV);
    stale("fe80::9", "02:00:00:00:00:09", "d1");
    ns.ip(&["-6", "neigh", "add", "fe80::7", "dev", DEV, "nud", "failed"]);
    let mut found = ns.run(move || async move {
        let nl = Netlink::connect().expect("netlink");
        nl.neighbours(idx).await.expect("neighbour dump")
    });
    found.sort();
    assert_eq!(
        found,
        vec![ip6("2001:db8::5"), ip6("fe80::1:2")],
        "{found:?}"
    );
}

fn pfx(s: &str) -> v6edge_prefix::Prefix {
    s.parse().expect("valid literal")
}

fn key(dst: &str, kind: RouteType) -> RouteKey {
    let p = pfx(dst);
    RouteKey {
        table: RouteTable::MAIN,
        dst: p.addr().into(),
        dst_len: p.len(),
        kind,
    }
}

/// `ip -6 route show table all` lines (local table left out) mentioning
/// `dst`.
fn lines_for(ns: &NsHandle, family: &str, dst: &str) -> Vec<String> {
    ns.ip(&[family, "route", "show", "table", "all"])
        .lines()
        .filter(|l| l.contains(dst) && !l.starts_with("local "))
        .map(str::to_owned)
        .collect()
}

/// Routes of two owners (and of other programs): reconciling one owner
/// removes only that owner's routes it does not want; the other owner's,
/// whether configured or not, and foreign protocols' routes survive.
#[test]
fn reconcile_is_per_owner() {
    if !can_run("reconcile_is_per_owner") {
        return;
    }
    let (ns, idx) = ns_with_veth("owners");
    let h = ns.handle();
    ns.run(move || async move {
        let ns = h;
        let nl = Netlink::connect().expect("netlink");
        let server_route = |dst: &str, table: RouteTable| RouteSpec {
            owner: Owner::DelegatingServer,
            table,
            dst: pfx(dst),
            kind: RouteType::Unicast,
            gateway: Some(ip6("fe80::2")),
            ifindex: Some(idx),
            metric: 1024,
            expires: None,
        };
        let leased = server_route("2001:db8:100::/56", RouteTable::MAIN);
        let stale = server_route("2001:db8:200::/56", RouteTable::MAIN);
        let stale_other_table = server_route("2001:db8:300::/56", RouteTable(100));
        let relayed = RouteSpec {
            owner: Owner::Relay,
            ..server_route("2001:db8:400::/56", RouteTable::MAIN)
        };
        for r in [&leased, &stale, &stale_other_table, &relayed] {
            nl.apply(&KernelOp::SetRoute(r.clone()))
                .await
                .expect("set route");
        }
        // By hand: a home agent's route (another role's number), a static
        // one, and an IPv4 route of the server's number and of another's.
        let ha = Owner::HomeAgent.protocol().to_string();
        ns.ip(&[
            "-6",
            "route",
            "add",
            "2001:db8:500::/56",
            "dev",
            DEV,
            "proto",
            &ha,
        ]);
        ns.ip(&[
            "-6",
            "route",
            "add",
            "2001:db8:600::/56",
            "dev",
            DEV,
            "proto",
            "static",
        ]);
        ns.ip(&["addr", "add", "192.0.2.1/24", "dev", DEV]);
        ns.ip(&[
            "route",
            "add",
            "198.51.100.0/24",
            "via",
            "192.0.2.9",
            "proto",
            "118",
        ]);
        ns.ip(&[
            "route",
            "add",
            "203.0.113.0/24",
            "via",
            "192.0.2.9",
            "proto",
            &ha,
        ]);

        // The server runs and wants only its leased route.
        let mut plan = Reconcile::new();
        plan.role(
            Owner::DelegatingServer,
            [key("2001:db8:100::/56", RouteType::Unicast)],
        );
        let removed = nl.reconcile_routes(&plan).await.expect("reconcile");
        let mut gone: Vec<String> = removed.iter().map(|r| r.dst.to_string()).collect();
        gone.sort();
        assert_eq!(
            gone,
            ["2001:db8:200::/56", "2001:db8:300::/56"],
            "{removed:?}"
        );
        for dst in ["2001:db8:200::/56", "2001:db8:300::/56"] {
            assert!(lines_for(&ns, "-6", dst).is_empty(), "{dst} still there");
        }
        for (dst, proto) in [
            ("2001:db8:100::/56", "proto 118"),
            ("2001:db8:400::/56", "proto 119"),
            ("2001:db8:500::/56", "proto 121"),
            ("2001:db8:600::/56", "proto static"),
        ] {
            let lines = lines_for(&ns, "-6", dst);
            assert!(
                lines.len() == 1 && lines[0].contains(proto),
                "{dst}: {lines:?}"
            );
        }
        assert!(
            lines_for(&ns, "-4", "198.51.100.0/24").is_empty(),
            "stale IPv4 route of 118 stays"
        );
        assert_eq!(lines_for(&ns, "-4", "203.0.113.0/24").len(), 1);

        // Now the relay runs and wants nothing: its route goes, the
        // server's stays.
        let mut plan = Reconcile::new();
        plan.role(Owner::Relay, []);
        let removed = nl.reconcile_routes(&plan).await.expect("reconcile");
        assert_eq!(removed.len(), 1, "{removed:?}");
        assert_eq!(removed[0].dst, relayed.dst);
        assert_eq!(lines_for(&ns, "-6", "2001:db8:100::/56").len(), 1);
        assert_eq!(lines_for(&ns, "-6", "2001:db8:500::/56").len(), 1);

        // The dump by owner sees every table.
        let server = nl.routes_of(Owner::DelegatingServer).await.expect("dump");
        assert_eq!(server.len(), 1, "{server:?}");
        assert_eq!(
            server[0].to_spec().map(|s| s.owner),
            Some(Owner::DelegatingServer)
        );
        nl.apply(&KernelOp::SetRoute(stale_other_table.clone()))
            .await
            .expect("set route");
        let server = nl.routes_of(Owner::DelegatingServer).await.expect("dump");
        assert!(
            server
                .iter()
                .any(|r| r.table == 100 && r.dst == stale_other_table.dst),
            "{server:?}"
        );
        assert!(lines_for(&ns, "-6", "2001:db8:300::/56")[0].contains("table 100"));
        // Deleting with another owner's protocol leaves the route alone.
        nl.apply(&KernelOp::DelRoute(RouteSpec {
            owner: Owner::Ripng,
            ..leased.clone()
        }))
        .await
        .expect("not Ripng's: nothing to delete");
        assert_eq!(lines_for(&ns, "-6", "2001:db8:100::/56").len(), 1);
    });
    drop(ns);
}

/// Migration: a legacy protocol-118 unreachable route (the requesting
/// router's before it had its own number) is kept by the reconcile when
/// the requesting router wants it and taken over by its next installation
/// (replace), one route, protocol 120; one it does not want is removed.
#[test]
fn legacy_routes_are_adopted() {
    if !can_run("legacy_routes_are_adopted") {
        return;
    }
    let (ns, _idx) = ns_with_veth("legacy");
    let h = ns.handle();
    ns.run(move || async move {
        let ns = h;
        let nl = Netlink::connect().expect("netlink");
        ns.ip(&[
            "-6",
            "route",
            "add",
            "unreachable",
            "2001:db8:1200::/56",
            "proto",
            "118",
        ]);
        ns.ip(&[
            "-6",
            "route",
            "add",
            "unreachable",
            "2001:db8:1300::/56",
            "proto",
            "118",
        ]);
        // A server alone leaves legacy unreachable routes alone.
        let mut server_only = Reconcile::new();
        server_only.role(Owner::DelegatingServer, []);
        assert!(
            nl.reconcile_routes(&server_only)
                .await
                .expect("reconcile")
                .is_empty()
        );

        let mut plan = Reconcile::new();
        plan.role(
            Owner::RequestingRouter,
            [key("2001:db8:1200::/56", RouteType::Unreachable)],
        );
        let removed = nl.reconcile_routes(&plan).await.expect("reconcile");
        assert_eq!(removed.len(), 1, "{removed:?}");
        assert_eq!(removed[0].dst, pfx("2001:db8:1300::/56"));
        nl.apply(&KernelOp::SetRoute(RouteSpec {
            owner: Owner::RequestingRouter,
            table: RouteTable::MAIN,
            dst: pfx("2001:db8:1200::/56"),
            kind: RouteType::Unreachable,
            gateway: None,
            ifindex: None,
            metric: 1024,
            expires: None,
        }))
        .await
        .expect("set route");
        let lines = lines_for(&ns, "-6", "2001:db8:1200::/56");
        assert!(
            lines.len() == 1 && lines[0].contains("proto 120"),
            "{lines:?}"
        );
    });
    drop(ns);
}

#[test]
fn ipv4_addresses_and_routes() {
    if !can_run("ipv4_addresses_and_routes") {
        return;
    }
    let (ns, idx) = ns_with_veth("v4");
    let h = ns.handle();
    ns.run(move || async move {
        let ns = h;
        let nl = Netlink::connect().expect("netlink");
        let addr = Address4Spec {
            owner: Owner::MobileNode,
            ifindex: idx,
            addr: "192.0.2.1".parse().expect("literal"),
            prefix_len: 24,
        };
        for _ in 0..2 {
            nl.apply(&KernelOp::SetAddress4(addr.clone()))
                .await
                .expect("set address");
        }
        let out = ns.ip(&["-4", "addr", "show", "dev", DEV]);
        assert_eq!(out.matches("inet 192.0.2.1/24").count(), 1, "{out}");
        let dumped = nl.addresses4(Some(idx)).await.expect("dump");
        assert_eq!(dumped.len(), 1, "{dumped:?}");
        assert_eq!(dumped[0].protocol, Owner::MobileNode.protocol());

        let via = Route4Spec {
            owner: Owner::MobileNode,
            table: RouteTable(100),
            dst: "198.51.100.0/24".parse().expect("literal"),
            kind: RouteType::Unicast,
            gateway: Some("192.0.2.254".parse().expect("literal")),
            ifindex: Some(idx),
            metric: 0,
        };
        let unreachable = Route4Spec {
            table: RouteTable::MAIN,
            dst: "203.0.113.0/24".parse().expect("literal"),
            kind: RouteType::Unreachable,
            gateway: None,
            ifindex: None,
            ..via.clone()
        };
        for _ in 0..2 {
            nl.apply(&KernelOp::SetRoute4(via.clone()))
                .await
                .expect("set route");
            nl.apply(&KernelOp::SetRoute4(unreachable.clone()))
                .await
                .expect("set route");
        }
        let lines = lines_for(&ns, "-4", "198.51.100.0/24");
        assert!(
            lines.len() == 1 && lines[0].contains("via 192.0.2.254 dev d0 table 100 proto 122"),
            "{lines:?}"
        );
        let lines = lines_for(&ns, "-4", "203.0.113.0/24");
        assert!(
            lines.len() == 1
                && lines[0].starts_with("unreachable")
                && lines[0].contains("proto 122"),
            "{lines:?}"
        );
        let mine = nl.routes4_of(Owner::MobileNode).await.expect("dump");
        assert_eq!(mine.len(), 2, "{mine:?}");

        // Replace: a new gateway, still one route.
        let moved = Route4Spec {
            gateway: Some("192.0.2.253".parse().expect("literal")),
            ..via.clone()
        };
        nl.apply(&KernelOp::SetRoute4(moved.clone()))
            .await
            .expect("replace");
        let lines = lines_for(&ns, "-4", "198.51.100.0/24");
        assert!(
            lines.len() == 1 && lines[0].contains("via 192.0.2.253"),
            "{lines:?}"
        );

        for op in [
            KernelOp::DelRoute4(moved),
            KernelOp::DelRoute4(unreachable),
            KernelOp::DelAddress4(addr),
        ] {
            nl.apply(&op).await.expect("delete");
            nl.apply(&op).await.expect("deleting what is gone is Ok");
        }
        assert!(
            nl.routes4_of(Owner::MobileNode)
                .await
                .expect("dump")
                .is_empty()
        );
        assert!(nl.addresses4(Some(idx)).await.expect("dump").is_empty());
    });
    drop(ns);
}

#[test]
fn proxy_neighbours_v6_and_v4() {
    if !can_run("proxy_neighbours_v6_and_v4") {
        return;
    }
    let (ns, idx) = ns_with_veth("proxy");
    let h = ns.handle();
    ns.run(move || async move {
        let ns = h;
        let nl = Netlink::connect().expect("netlink");
        let v6 = ProxyNeighbourSpec {
            owner: Owner::HomeAgent,
            ifindex: idx,
            addr: "2001:db8:5::9".parse().expect("literal"),
        };
        let v4 = ProxyNeighbourSpec {
            addr: "192.0.2.9".parse().expect("literal"),
            ..v6.clone()
        };
        // Somebody else's entry on the same link.
        ns.ip(&["-6", "neigh", "add", "proxy", "2001:db8:5::8", "dev", DEV]);
        for _ in 0..2 {
            nl.apply(&KernelOp::SetProxyNeighbour(v6.clone()))
                .await
                .expect("set");
            nl.apply(&KernelOp::SetProxyNeighbour(v4.clone()))
                .await
                .expect("set");
        }
        let out6 = ns.ip(&["-6", "neigh", "show", "proxy"]);
        assert_eq!(out6.matches("2001:db8:5::9 dev d0").count(), 1, "{out6}");
        let out4 = ns.ip(&["-4", "neigh", "show", "proxy"]);
        assert_eq!(out4.matches("192.0.2.9 dev d0").count(), 1, "{out4}");

        let mut mine = nl
            .proxy_neighbours(Some(Owner::HomeAgent))
            .await
            .expect("dump");
        mine.sort_by_key(|p| p.addr);
        assert_eq!(
            mine.iter().map(|p| (p.addr, p.ifindex)).collect::<Vec<_>>(),
            [(v4.addr, idx), (v6.addr, idx)],
            "{mine:?}"
        );
        let all = nl.proxy_neighbours(None).await.expect("dump");
        assert!(
            all.iter()
                .any(|p| p.addr.to_string() == "2001:db8:5::8" && p.protocol == 0),
            "{all:?}"
        );

        for spec in [v6, v4] {
            nl.apply(&KernelOp::DelProxyNeighbour(spec.clone()))
                .await
                .expect("delete");
            nl.apply(&KernelOp::DelProxyNeighbour(spec))
                .await
                .expect("already gone is Ok");
        }
        assert!(
            nl.proxy_neighbours(Some(Owner::HomeAgent))
                .await
                .expect("dump")
                .is_empty()
        );
        assert!(
            ns.ip(&["-6", "neigh", "show", "proxy"])
                .contains("2001:db8:5::8")
        );
    });
    drop(ns);
}

#[test]
fn policy_rules() {
    if !can_run("policy_rules") {
        return;
    }
    let (ns, _idx) = ns_with_veth("rule");
    let h = ns.handle();
    ns.run(move || async move {
        let ns = h;
        let nl = Netlink::connect().expect("netlink");
        let from_home = RuleSpec {
            owner: Owner::MobileNode,
            family_v6: true,
            from: Some(("2001:db8:7::".parse().expect("literal"), 48)),
            to: None,
            table: RouteTable(100),
            priority: 1000,
        };
        let to_v4 = RuleSpec {
            family_v6: false,
            from: None,
            to: Some(("198.51.100.0".parse().expect("literal"), 24)),
            table: RouteTable(1000),
            priority: 1001,
            ..from_home.clone()
        };
        for _ in 0..2 {
            nl.apply(&KernelOp::SetRule(from_home.clone()))
                .await
                .expect("set rule");
            nl.apply(&KernelOp::SetRule(to_v4.clone()))
                .await
                .expect("set rule");
        }
        let out6 = ns.ip(&["-6", "rule", "show"]);
        let line: Vec<&str> = out6
            .lines()
            .filter(|l| l.contains("2001:db8:7::/48"))
            .collect();
        assert!(
            line.len() == 1
                && line[0].starts_with("1000:")
                && line[0].contains("lookup 100")
                && line[0].contains("proto 122"),
            "{out6}"
        );
        let out4 = ns.ip(&["-4", "rule", "show"]);
        assert_eq!(
            out4.matches("to 198.51.100.0/24 lookup 1000 proto 122")
                .count(),
            1,
            "{out4}"
        );

        let mut mine = nl.rules(Some(Owner::MobileNode)).await.expect("dump");
        mine.sort_by_key(|r| r.priority);
        let specs: Vec<RuleSpec> = mine.iter().filter_map(|r| r.to_spec()).collect();
        assert_eq!(specs, [from_home.clone(), to_v4.clone()], "{mine:?}");
        // The kernel's own rules are nobody's.
        assert!(
            nl.rules(None)
                .await
                .expect("dump")
                .iter()
                .any(|r| r.priority == 32766 && r.protocol != 122)
        );

        for spec in [from_home, to_v4] {
            nl.apply(&KernelOp::DelRule(spec.clone()))
                .await
                .expect("delete");
            nl.apply(&KernelOp::DelRule(spec))
                .await
                .expect("already gone is Ok");
        }
        assert!(
            nl.rules(Some(Owner::MobileNode))
                .await
                .expect("dump")
                .is_empty()
        );
    });
    drop(ns);
}

#[test]
fn tun_devices_as_kernel_ops() {
    if !can_run("tun_devices_as_kernel_ops") {
        return;
    }
    let (ns, _idx) = ns_with_veth("tunop");
    let h = ns.handle();
    ns.run(move || async move {
        let ns = h;
        let nl = Netlink::connect().expect("netlink");
        let spec = TunSpec {
            owner: Owner::HomeAgent,
            name: "v6ha0".into(),
            up: true,
            mtu: Some(1460),
            tx_queue_len: Some(1000),
        };
        for _ in 0..2 {
            nl.apply(&KernelOp::SetTun(spec.clone()))
                .await
                .expect("set tun");
        }
        let out = ns.ip(&["-d", "link", "show", "v6ha0"]);
        assert!(
            out.contains("alias v6edge home-agent")
                && out.contains("tun type tun")
                && out.contains(",UP"),
            "{out}"
        );
        assert!(out.contains("persist on"), "{out}");
        assert!(out.contains(" mtu 1460 "), "the spec's MTU: {out}");
        assert!(out.contains(" qlen 1000"), "the spec's queue length: {out}");
        assert_eq!(
            nl.links_of(Owner::HomeAgent).await.expect("dump"),
            ["v6ha0"]
        );
        // The role attaches to it.
        let tun = v6edge_sys::tun::Tun::create("v6ha0").expect("attach");
        drop(tun);
        assert!(nl.link_by_name("v6ha0").await.expect("get").is_some());
        // Another owner may not delete it.
        let err = nl
            .apply(&KernelOp::DelTun(TunSpec {
                owner: Owner::MobileNode,
                ..spec.clone()
            }))
            .await
            .expect_err("not the mobile node's");
        assert!(err.to_string().contains("left alone"), "{err}");
        assert!(nl.link_by_name("v6ha0").await.expect("get").is_some());
        nl.apply(&KernelOp::DelTun(spec.clone()))
            .await
            .expect("delete");
        assert!(nl.link_by_name("v6ha0").await.expect("get").is_none());
        nl.apply(&KernelOp::DelTun(spec))
            .await
            .expect("already gone is Ok");
        let _ = ns;
    });
    drop(ns);
}
