//! rtnetlink against the real kernel, inside a namespace per test, checked
//! with `ip` output.

mod common;

use common::{Netns, NsHandle, WAIT, can_run};
use std::net::Ipv6Addr;
use std::time::Duration;
use v6edge_core::{AddressSpec, KernelOp, ROUTE_PROTOCOL, RouteSpec, RouteType};
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

fn address(addr: &str, preferred: u32, valid: u32) -> AddressSpec {
    AddressSpec {
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
            dst: "2001:db8:1200::/56".parse().expect("valid literal"),
            kind: RouteType::Unreachable,
            gateway: None,
            ifindex: None,
            metric: 0,
            expires: None,
        };
        let delegated = RouteSpec {
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
