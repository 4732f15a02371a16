//! [`Guard`]: what the daemon does before a datagram reaches a role, and
//! what it counts when one cannot leave.
//!
//! - Admission (issue 14): DHCPv6 messages on UDP 547 and Router
//!   Solicitations / Advertisements on the LANs pass
//!   [`v6edge_core::limit::Admission`] (per-source and per-link budgets,
//!   with a separate budget for neighbours the kernel confirmed). Refused
//!   input costs one token-bucket lookup; the roles never see it.
//! - Drops: every datagram dropped outside the machines (refused, a receive
//!   error, a send the kernel would not take) is counted by protocol and a
//!   stable lowercase reason, in the metrics (`v6edge_packets_dropped_total`) and in
//!   `status` (`io.dropped`), and logged at most once per
//!   [`DROP_LOG_INTERVAL`] per kind, with the count it stands for: a flood
//!   cannot flood the log.
//!
//! Panic contract: nothing here panics.

use std::collections::BTreeMap;
use std::net::Ipv6Addr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use v6edge_core::limit::{Admission, ConfirmedNeighbours, LogThrottle, Refusal};
use v6edge_core::{IfIndex, Instant, Received};

use crate::config::LimitsConfig;
use crate::metrics::Metrics;

/// At most one log line per kind of drop per this interval.
pub const DROP_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// DHCPv6 Relay-forward (RFC 8415 §7.3): speaks for the relay's clients.
const RELAY_FORWARD: u8 = 12;
/// ICMPv6 types admitted by the RS budget (RFC 4861 §4.1, §4.2): what a
/// host or a rogue router sends unasked to a router's LAN socket.
const ROUTER_SOLICITATION: u8 = 133;
const ROUTER_ADVERTISEMENT: u8 = 134;

/// Admission and drop accounting for the daemon's sockets.
#[derive(Debug)]
pub struct Guard {
    dhcp6: Admission,
    nd: Admission,
    confirmed: ConfirmedNeighbours,
    drops: Drops,
    netlink_overruns: u64,
    netlink_resyncs: u64,
}

impl Guard {
    pub fn new(limits: &LimitsConfig) -> Guard {
        let limits = &limits.resolve(v6edge_sys::sysctl::ipv6_neighbour_table_limit());
        tracing::debug!(?limits, "rate limits");
        Guard {
            dhcp6: Admission::new(limits.dhcp6),
            nd: Admission::new(limits.rs),
            confirmed: ConfirmedNeighbours::default(),
            drops: Drops::default(),
            netlink_overruns: 0,
            netlink_resyncs: 0,
        }
    }

    /// SIGHUP: new rates, buckets kept.
    pub fn reconfigure(&mut self, limits: &LimitsConfig) {
        let limits = &limits.resolve(v6edge_sys::sysctl::ipv6_neighbour_table_limit());
        self.dhcp6.set_limits(limits.dhcp6);
        self.nd.set_limits(limits.rs);
    }

    /// The kernel reported a neighbour entry; a REACHABLE one confirms the
    /// host exists (it answered a Neighbor Solicitation).
    pub fn note_neighbour(
        &mut self,
        now: Instant,
        ifindex: IfIndex,
        addr: Ipv6Addr,
        confirmed: bool,
    ) {
        if confirmed {
            self.confirmed.confirm(now, ifindex, addr);
        }
    }

    /// Whether a datagram that arrived on UDP 547 may reach the server or
    /// relay; a refusal is counted (protocol `dhcp6-server`).
    pub fn admit_dhcp6(&mut self, now: Instant, rx: &Received<'_>, metrics: &Metrics) -> bool {
        let confirmed = self.confirmed.is_confirmed(now, rx.ifindex, rx.src);
        let aggregate = rx.bytes.first() == Some(&RELAY_FORWARD);
        match self
            .dhcp6
            .admit(now, rx.ifindex, rx.src, confirmed, aggregate)
        {
            Ok(()) => true,
            Err(refusal) => {
                self.refused("dhcp6-server", refusal, now, metrics);
                false
            }
        }
    }

    /// Whether an ICMPv6 datagram may reach the RA sender: Router
    /// Solicitations and other routers' Advertisements pass the ND budget,
    /// the rest (the socket's filter lets little else in) passes as is.
    pub fn admit_icmp6(&mut self, now: Instant, rx: &Received<'_>, metrics: &Metrics) -> bool {
        if !matches!(
            rx.bytes.first(),
            Some(&ROUTER_SOLICITATION | &ROUTER_ADVERTISEMENT)
        ) {
            return true;
        }
        let confirmed = self.confirmed.is_confirmed(now, rx.ifindex, rx.src);
        match self.nd.admit(now, rx.ifindex, rx.src, confirmed, false) {
            Ok(()) => true,
            Err(refusal) => {
                self.refused("nd", refusal, now, metrics);
                false
            }
        }
    }

    fn refused(
        &mut self,
        protocol: &'static str,
        refusal: Refusal,
        now: Instant,
        metrics: &Metrics,
    ) {
        if let Some(held_back) = self.drops.count(protocol, refusal.label(), now, metrics) {
            tracing::warn!(
                protocol,
                reason = refusal.label(),
                dropped = held_back + 1,
                "messages over the rate limits dropped (one line per {} s)",
                DROP_LOG_INTERVAL.as_secs()
            );
        }
    }

    /// A datagram dropped for `reason` outside the machines; logged at most
    /// once per interval per kind.
    pub fn dropped(
        &mut self,
        protocol: &'static str,
        reason: &'static str,
        now: Instant,
        metrics: &Metrics,
        detail: &dyn std::fmt::Display,
    ) {
        if let Some(held_back) = self.drops.count(protocol, reason, now, metrics) {
            tracing::warn!(
                protocol,
                reason,
                dropped = held_back + 1,
                last = %detail,
                "datagrams dropped (one line per {} s)",
                DROP_LOG_INTERVAL.as_secs()
            );
        }
    }

    pub fn status(&self) -> IoStatus {
        let mut dropped: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
        for ((protocol, reason), n) in &self.drops.counts {
            dropped
                .entry((*protocol).to_owned())
                .or_default()
                .insert((*reason).to_owned(), *n);
        }
        IoStatus {
            dropped,
            tracked_sources: self.dhcp6.tracked_sources() + self.nd.tracked_sources(),
            confirmed_neighbours: self.confirmed.len(),
            netlink_overruns: self.netlink_overruns,
            netlink_resyncs: self.netlink_resyncs,
        }
    }

    /// rtnetlink notifications were lost; `Some(n)` when a log line is due.
    pub fn netlink_overrun(&mut self, now: Instant, metrics: &Metrics) -> Option<u64> {
        self.netlink_overruns += 1;
        self.drops.count("netlink", "overrun", now, metrics)
    }

    /// A full resynchronisation after lost notifications was done.
    pub fn netlink_resynced(&mut self) {
        self.netlink_resyncs += 1;
    }
}

/// Drop counts by (protocol, reason), with a log throttle per kind.
#[derive(Debug, Default)]
struct Drops {
    counts: BTreeMap<(&'static str, &'static str), u64>,
    throttles: BTreeMap<(&'static str, &'static str), LogThrottle>,
}

impl Drops {
    /// Counts one drop; `Some(n)` when a log line is due, `n` being the
    /// drops of this kind since the last line that it also stands for.
    fn count(
        &mut self,
        protocol: &'static str,
        reason: &'static str,
        now: Instant,
        metrics: &Metrics,
    ) -> Option<u64> {
        metrics.dropped(protocol, reason);
        *self.counts.entry((protocol, reason)).or_insert(0) += 1;
        self.throttles
            .entry((protocol, reason))
            .or_insert_with(|| LogThrottle::new(DROP_LOG_INTERVAL))
            .allow(now)
    }
}

/// `status.io`: what the daemon dropped before or after the roles, and
/// the state of its defences.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct IoStatus {
    /// protocol → reason → datagrams.
    pub dropped: BTreeMap<String, BTreeMap<String, u64>>,
    /// Sources with a rate-limit bucket now (bounded).
    pub tracked_sources: usize,
    /// Neighbours the kernel confirmed recently (bounded).
    pub confirmed_neighbours: usize,
    /// Times rtnetlink notifications were lost (ENOBUFS).
    pub netlink_overruns: u64,
    /// Full resynchronisations from dumps after such a loss.
    pub netlink_resyncs: u64,
}

/// The reason label of a send that failed: stable and lowercase, for
/// counters.
pub fn send_error_reason(e: &std::io::Error) -> &'static str {
    match e.raw_os_error() {
        Some(nix::libc::EAGAIN) => "send-buffer-full",
        // The neighbour table or the device queue is full.
        Some(nix::libc::ENOBUFS) => "no-buffer-space",
        Some(nix::libc::EHOSTUNREACH | nix::libc::ENETUNREACH) => "unreachable",
        // Linux's ip6_finish_output2 answers EINVAL when it cannot create
        // a neighbour entry for the next hop: the neighbour table is full
        // (net.ipv6.neigh.default.gc_thresh3), as a flood of made-up
        // sources makes it. Our datagrams are otherwise well-formed.
        Some(nix::libc::EINVAL) => "neighbour-table-full",
        Some(nix::libc::EADDRNOTAVAIL) => "source-address-gone",
        Some(nix::libc::ENODEV | nix::libc::ENXIO) => "interface-gone",
        _ if e.kind() == std::io::ErrorKind::InvalidInput => "wrong-socket",
        _ => "send-error",
    }
}

/// The metric and status label of a machine's drop reason, from its
/// variant name: `WrongServerId` → `wrong-server-id`. Lowercase and stable
/// for as long as the variant keeps its name.
pub fn reason_label(reason: &impl std::fmt::Debug) -> String {
    let name = format!("{reason:?}");
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
        } else if c.is_ascii_alphanumeric() {
            out.push(c);
        } else {
            // A variant with fields: its name is the label.
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::reason_label;

    #[derive(Debug)]
    #[allow(dead_code, reason = "only their Debug names are used")]
    enum Sample {
        WrongServerId,
        Parse,
        IaInInformationRequest,
        WithField(u8),
    }

    #[test]
    fn labels_are_kebab_case_variant_names() {
        assert_eq!(reason_label(&Sample::WrongServerId), "wrong-server-id");
        assert_eq!(reason_label(&Sample::Parse), "parse");
        assert_eq!(
            reason_label(&Sample::IaInInformationRequest),
            "ia-in-information-request"
        );
        assert_eq!(reason_label(&Sample::WithField(3)), "with-field");
    }
}
