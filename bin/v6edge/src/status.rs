//! The status document of the control socket's `status` command (the
//! contract's "Status JSON") and its human-readable rendering for
//! `v6edge status`.
//!
//! Lifetimes are remaining seconds, `None` (JSON `null`) meaning infinite.
//!
//! Panic contract: nothing here panics.

use std::fmt::Write as _;
use std::net::Ipv6Addr;

use serde::{Deserialize, Serialize};

/// `data` of a `status` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub version: String,
    /// `null` on a node with no `[uplink]` (a server or relay only).
    pub uplink: Option<UplinkStatus>,
    pub delegations: Vec<DelegationStatus>,
    pub lans: Vec<LanStatus>,
    pub dns: DnsStatus,
    /// The delegating server, when `[server]` is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<crate::daemon::server::ServerStatusDoc>,
    /// Datagrams dropped outside the roles (rate limits, send and receive
    /// failures), and the state of the daemon's defences.
    #[serde(default)]
    pub io: crate::daemon::guard::IoStatus,
    /// The `[[ra]]` interfaces (static Router Advertisements), in file order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ra: Vec<StaticRaStatus>,
}

/// One `[[ra]]` interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaticRaStatus {
    pub interface: String,
    /// The configured prefixes, as advertised.
    pub prefixes: Vec<String>,
    /// Up with a link-local address, so advertising.
    pub advertising: bool,
    /// RA packets sent (multicast and unicast) since it started advertising.
    pub sent: u64,
    /// Router Solicitations seen there.
    pub rs_received: u64,
}

/// What the uplink client is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UplinkState {
    Bound,
    Soliciting,
    Requesting,
    Renewing,
    Rebinding,
    /// Released by `v6edge release`; idle until `v6edge renew`.
    Released,
    /// Link present but nothing being acquired.
    Idle,
    /// The interface does not exist yet.
    WaitingLink,
}

impl UplinkState {
    pub fn as_str(self) -> &'static str {
        match self {
            UplinkState::Bound => "bound",
            UplinkState::Soliciting => "soliciting",
            UplinkState::Requesting => "requesting",
            UplinkState::Renewing => "renewing",
            UplinkState::Rebinding => "rebinding",
            UplinkState::Released => "released",
            UplinkState::Idle => "idle",
            UplinkState::WaitingLink => "waiting-link",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UplinkStatus {
    pub interface: String,
    /// `None` while the interface does not exist.
    pub ifindex: Option<u32>,
    pub link_up: bool,
    pub state: UplinkState,
    /// The server we are bound to, colon-separated hex.
    pub server_duid: Option<String>,
    /// Whether the uplink has a default router (RFC 7084 G-4 decides the
    /// LAN router lifetime from this).
    pub default_router: bool,
    pub addresses: Vec<AddressStatus>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressStatus {
    pub address: Ipv6Addr,
    pub preferred: Option<u32>,
    pub valid: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DelegationStatus {
    pub iaid: u32,
    /// `ADDRESS/LENGTH`.
    pub prefix: String,
    pub preferred: Option<u32>,
    pub valid: Option<u32>,
    /// Remaining seconds until Renew / Rebind.
    pub t1: Option<u32>,
    pub t2: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LanStatus {
    pub interface: String,
    pub ifindex: Option<u32>,
    /// The /64 currently advertised, if any.
    pub prefix: Option<String>,
    /// The router's own address in it.
    pub address: Option<Ipv6Addr>,
    pub subnet_id: Option<u32>,
    /// Prefixes being advertised with lifetime 0 after a renumbering (RFC 9096 L-18).
    pub deprecated: Vec<DeprecatedPrefix>,
    pub ra: RaCounters,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeprecatedPrefix {
    pub prefix: String,
    pub valid: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RaCounters {
    pub sent: u64,
    pub rs_received: u64,
    pub dropped: u64,
    /// The Router Lifetime in the RAs being sent now, seconds.
    pub router_lifetime: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DnsStatus {
    pub servers: Vec<Ipv6Addr>,
    pub domains: Vec<String>,
}

/// Remaining seconds as `1h02m03s`, `null` as `infinite`.
impl Status {
    /// The document of a node with no role that reports anything.
    pub fn empty() -> Status {
        Status {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            uplink: None,
            delegations: Vec::new(),
            lans: Vec::new(),
            dns: DnsStatus::default(),
            server: None,
            io: Default::default(),
            ra: Vec::new(),
        }
    }
}

pub fn format_lifetime(secs: Option<u32>) -> String {
    let Some(s) = secs else {
        return "infinite".to_owned();
    };
    let (d, h, m, s) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m{s:02}s"),
        (0, _, _) => format!("{h}h{m:02}m{s:02}s"),
        _ => format!("{d}d{h:02}h{m:02}m{s:02}s"),
    }
}

fn ifindex(index: Option<u32>) -> String {
    match index {
        Some(i) => format!("ifindex {i}"),
        None => "absent".to_owned(),
    }
}

/// The readable summary printed by `v6edge status`.
pub fn format_human(status: &Status) -> String {
    let mut out = String::new();
    // Writing into a String cannot fail; the results are ignored for that reason.
    let _ = writeln!(out, "v6edge {}", status.version);
    if let Some(up) = &status.uplink {
        let _ = writeln!(
            out,
            "uplink {} ({}, link {}): {}",
            up.interface,
            ifindex(up.ifindex),
            if up.link_up { "up" } else { "down" },
            up.state.as_str()
        );
        if let Some(duid) = &up.server_duid {
            let _ = writeln!(out, "  server {duid}");
        }
        let _ = writeln!(
            out,
            "  default router: {}",
            if up.default_router { "yes" } else { "no" }
        );
        for a in &up.addresses {
            let _ = writeln!(
                out,
                "  address {}  preferred {}  valid {}",
                a.address,
                format_lifetime(a.preferred),
                format_lifetime(a.valid)
            );
        }
    }
    if status.delegations.is_empty() {
        let _ = writeln!(out, "delegated prefixes: none");
    } else {
        let _ = writeln!(out, "delegated prefixes:");
        for d in &status.delegations {
            let _ = writeln!(
                out,
                "  {}  iaid {}  preferred {}  valid {}  renew in {}  rebind in {}",
                d.prefix,
                d.iaid,
                format_lifetime(d.preferred),
                format_lifetime(d.valid),
                format_lifetime(d.t1),
                format_lifetime(d.t2)
            );
        }
    }
    for lan in &status.lans {
        let _ = write!(out, "lan {} ({}): ", lan.interface, ifindex(lan.ifindex));
        match &lan.prefix {
            Some(p) => {
                let _ = write!(out, "{p}");
            }
            None => {
                let _ = write!(out, "no prefix");
            }
        }
        if let Some(id) = lan.subnet_id {
            let _ = write!(out, "  subnet-id {id}");
        }
        if let Some(a) = lan.address {
            let _ = write!(out, "  address {a}");
        }
        out.push('\n');
        for d in &lan.deprecated {
            let _ = writeln!(
                out,
                "  deprecated {}  valid {}",
                d.prefix,
                format_lifetime(d.valid)
            );
        }
        let _ = writeln!(
            out,
            "  ra: sent {}, rs received {}, dropped {}, router lifetime {}s",
            lan.ra.sent, lan.ra.rs_received, lan.ra.dropped, lan.ra.router_lifetime
        );
    }
    for ra in &status.ra {
        let _ = writeln!(
            out,
            "ra {}: {}, prefixes {}, sent {}, rs received {}",
            ra.interface,
            if ra.advertising {
                "advertising"
            } else {
                "waiting for the link"
            },
            if ra.prefixes.is_empty() {
                "none".to_owned()
            } else {
                ra.prefixes.join(" ")
            },
            ra.sent,
            ra.rs_received
        );
    }
    let list = |items: Vec<String>| {
        if items.is_empty() {
            "none".to_owned()
        } else {
            items.join(" ")
        }
    };
    let _ = writeln!(
        out,
        "dns servers: {}",
        list(status.dns.servers.iter().map(|s| s.to_string()).collect())
    );
    let _ = writeln!(out, "dns domains: {}", list(status.dns.domains.clone()));
    if let Some(store) = status.server.as_ref().map(|s| &s.store) {
        let tls = if store.tls { ", tls" } else { "" };
        if store.available {
            let _ = writeln!(out, "lease store: {}, available{tls}", store.kind);
        } else {
            let _ = writeln!(
                out,
                "lease store: {}, UNAVAILABLE since unix {}: {} (not granting; reconnecting)",
                store.kind,
                store.since,
                store.last_error.as_deref().unwrap_or("unknown error")
            );
        }
    }
    // Drops outside the roles: only when there are some, one line each.
    for (protocol, reasons) in &status.io.dropped {
        let parts: Vec<String> = reasons.iter().map(|(r, n)| format!("{r} {n}")).collect();
        let _ = writeln!(out, "dropped ({protocol}): {}", parts.join(", "));
    }
    if status.io.netlink_overruns > 0 {
        let _ = writeln!(
            out,
            "netlink: {} notification losses, {} resynchronisations",
            status.io.netlink_overruns, status.io.netlink_resyncs
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The contract's example document, verbatim (minus the state alternatives).
    const CONTRACT_EXAMPLE: &str = r#"{
      "version": "0.1.0",
      "uplink": { "interface": "wan0", "ifindex": 2, "link_up": true, "state": "bound",
                  "server_duid": "00:01:00:01:aa:bb", "default_router": true,
                  "addresses": [ {"address": "2001:db8::5", "preferred": 1234, "valid": 2345} ] },
      "delegations": [ { "iaid": 1, "prefix": "2001:db8:1200::/56", "preferred": 3550, "valid": 7150, "t1": 1800, "t2": 2880 } ],
      "lans": [ { "interface": "lan0", "ifindex": 3, "prefix": "2001:db8:1200::/64", "address": "2001:db8:1200::1", "subnet_id": 0,
                  "deprecated": [ { "prefix": "2001:db8:1300::/64", "valid": 7000 } ],
                  "ra": { "sent": 5, "rs_received": 1, "dropped": 0, "router_lifetime": 1800 } } ],
      "dns": { "servers": ["2001:db8::53"], "domains": ["example.net"] },
      "io": { "dropped": { "dhcp6-server": { "rate-limited-link": 1200, "send-buffer-full": 3 } },
              "tracked_sources": 17, "confirmed_neighbours": 4, "netlink_overruns": 0, "netlink_resyncs": 0 }
    }"#;

    #[test]
    fn human_summary_shows_drops_and_netlink_losses() {
        let mut status: Status = serde_json::from_str(CONTRACT_EXAMPLE).unwrap();
        status.io.netlink_overruns = 7;
        status.io.netlink_resyncs = 2;
        let text = format_human(&status);
        assert!(
            text.contains("dropped (dhcp6-server): rate-limited-link 1200, send-buffer-full 3"),
            "{text}"
        );
        assert!(
            text.contains("netlink: 7 notification losses, 2 resynchronisations"),
            "{text}"
        );
    }

    #[test]
    fn contract_example_round_trips() {
        let status: Status = serde_json::from_str(CONTRACT_EXAMPLE).unwrap();
        assert_eq!(
            status.uplink.as_ref().map(|u| u.state),
            Some(UplinkState::Bound)
        );
        assert_eq!(status.lans[0].deprecated[0].valid, Some(7000));
        let back: serde_json::Value = serde_json::to_value(&status).unwrap();
        let original: serde_json::Value = serde_json::from_str(CONTRACT_EXAMPLE).unwrap();
        assert_eq!(back, original);
    }

    #[test]
    fn states_use_contract_spelling_and_null_is_infinite() {
        let json = serde_json::to_string(&UplinkState::WaitingLink).unwrap();
        assert_eq!(json, "\"waiting-link\"");
        let d = DelegationStatus {
            iaid: 7,
            prefix: "2001:db8::/48".into(),
            preferred: None,
            valid: None,
            t1: Some(0),
            t2: Some(0),
        };
        let v = serde_json::to_value(&d).unwrap();
        assert!(v["valid"].is_null());
        assert_eq!(format_lifetime(d.valid), "infinite");
    }

    #[test]
    fn lifetimes_format() {
        assert_eq!(format_lifetime(Some(0)), "0s");
        assert_eq!(format_lifetime(Some(59)), "59s");
        assert_eq!(format_lifetime(Some(61)), "1m01s");
        assert_eq!(format_lifetime(Some(7150)), "1h59m10s");
        assert_eq!(format_lifetime(Some(90_061)), "1d01h01m01s");
    }

    #[test]
    fn human_summary_of_contract_example() {
        let status: Status = serde_json::from_str(CONTRACT_EXAMPLE).unwrap();
        let text = format_human(&status);
        let expected = "\
v6edge 0.1.0
uplink wan0 (ifindex 2, link up): bound
  server 00:01:00:01:aa:bb
  default router: yes
  address 2001:db8::5  preferred 20m34s  valid 39m05s
delegated prefixes:
  2001:db8:1200::/56  iaid 1  preferred 59m10s  valid 1h59m10s  renew in 30m00s  rebind in 48m00s
lan lan0 (ifindex 3): 2001:db8:1200::/64  subnet-id 0  address 2001:db8:1200::1
  deprecated 2001:db8:1300::/64  valid 1h56m40s
  ra: sent 5, rs received 1, dropped 0, router lifetime 1800s
dns servers: 2001:db8::53
dns domains: example.net
dropped (dhcp6-server): rate-limited-link 1200, send-buffer-full 3
";
        assert_eq!(text, expected);
    }

    #[test]
    fn human_summary_while_waiting() {
        let status = Status {
            version: "0.1.0".into(),
            uplink: Some(UplinkStatus {
                interface: "wan0".into(),
                ifindex: None,
                link_up: false,
                state: UplinkState::WaitingLink,
                server_duid: None,
                default_router: false,
                addresses: vec![],
            }),
            delegations: vec![],
            lans: vec![LanStatus {
                interface: "lan0".into(),
                ifindex: None,
                prefix: None,
                address: None,
                subnet_id: None,
                deprecated: vec![],
                ra: RaCounters::default(),
            }],
            dns: DnsStatus::default(),
            server: None,
            io: Default::default(),
            ra: Vec::new(),
        };
        let text = format_human(&status);
        assert!(
            text.contains("uplink wan0 (absent, link down): waiting-link\n"),
            "{text}"
        );
        assert!(text.contains("delegated prefixes: none\n"), "{text}");
        assert!(text.contains("lan lan0 (absent): no prefix\n"), "{text}");
        assert!(text.contains("dns servers: none\n"), "{text}");
    }

    #[test]
    fn human_summary_tells_a_store_that_is_away() {
        use crate::daemon::server::{ServerStatusDoc, StoreDoc};
        let mut status = Status {
            server: Some(ServerStatusDoc {
                store: StoreDoc {
                    kind: "postgres".into(),
                    available: false,
                    since: 1_800_000_000,
                    last_error: Some("connection closed".into()),
                    losses: 1,
                    reconnects: 0,
                    tls: true,
                },
                ..ServerStatusDoc::default()
            }),
            ..Status::empty()
        };
        let text = format_human(&status);
        assert!(
            text.contains(
                "lease store: postgres, UNAVAILABLE since unix 1800000000: connection closed \
                 (not granting; reconnecting)\n"
            ),
            "{text}"
        );
        if let Some(s) = status.server.as_mut() {
            s.store.available = true;
        }
        assert!(
            format_human(&status).contains("lease store: postgres, available, tls\n"),
            "{text}"
        );
        // The JSON document carries the same, and reads back.
        let json = serde_json::to_value(&status).expect("serialises");
        assert_eq!(json["server"]["store"]["kind"], "postgres");
        assert_eq!(json["server"]["store"]["available"], true);
        let back: Status = serde_json::from_value(json).expect("reads back");
        assert_eq!(back, status);
    }
}
