//! Prometheus metrics of the daemon, served as OpenMetrics text by the
//! control command `metrics` (no HTTP listener of our own).
//!
//! The daemon loop owns one [`Metrics`] and updates it as the machines report
//! what they did (sent, received, dropped with a reason, kernel operations);
//! gauges of remaining lifetimes are refreshed when status is computed.
//! Every drop is counted under a reason (style guide §6).
//!
//! Panic contract: nothing here panics.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MessageLabels {
    pub interface: String,
    /// RFC 8415 §7.3 message name in lower case: `solicit`, `reply`, ...
    pub message_type: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DropLabels {
    /// `dhcp6` or `nd`.
    pub protocol: String,
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct InterfaceLabels {
    pub interface: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DelegationLabels {
    pub iaid: u32,
    pub prefix: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KernelOpLabels {
    /// e.g. `address-add`, `route-del`.
    pub op: String,
    /// `applied` or `failed`.
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    /// `ok` or `failed`.
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HookLabels {
    /// `ok`, `failed`, `timeout`, `dropped`.
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BindingKindLabels {
    /// `mobile-node` or `mobile-router` (RFC 3963).
    pub kind: String,
    /// `ipv6` (IPv6-in-IPv6), `udp` (DSMIPv6 over IPv4, RFC 5555) or
    /// `udp-nat` (the same behind a NAT).
    pub transport: String,
}

/// The label values [`Metrics::sync_mobility`] always exports, zeros
/// included, so that a kind that goes away reads 0 instead of its last
/// value.
pub const BINDING_KINDS: [&str; 2] = ["mobile-node", "mobile-router"];
pub const BINDING_TRANSPORTS: [&str; 3] = ["ipv6", "udp", "udp-nat"];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MobilityMessageLabels {
    /// `binding-update`, `binding-ack`, ... or the MH Type number.
    pub message_type: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabels {
    /// The status code (RFC 6275 §6.1.8, RFC 4285 §8).
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TooBigLabels {
    /// `generated` (at the tunnel entry) or `relayed` (from an outer one).
    pub origin: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StoreLabels {
    /// `sqlite`, `postgres` or `memory`.
    pub kind: String,
}

/// The registry and handles to every metric in it.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    dhcp6_sent: Family<MessageLabels, Counter>,
    dhcp6_received: Family<MessageLabels, Counter>,
    dropped: Family<DropLabels, Counter>,
    tunnel_too_big: Family<TooBigLabels, Counter>,
    ra_sent: Family<InterfaceLabels, Counter>,
    rs_received: Family<InterfaceLabels, Counter>,
    delegated_valid: Family<DelegationLabels, Gauge>,
    kernel_ops: Family<KernelOpLabels, Counter>,
    interface_present: Family<InterfaceLabels, Gauge>,
    reloads: Family<ResultLabels, Counter>,
    store_available: Family<StoreLabels, Gauge>,
    mobility_received: Family<MobilityMessageLabels, Counter>,
    binding_acks_sent: Family<StatusLabels, Counter>,
    mobility_auth_failures: Counter,
    bindings: Gauge,
    bindings_by_kind: Family<BindingKindLabels, Gauge>,
    ipv4_home_addresses: Gauge,
    mn_binding_updates: Counter,
    mn_retransmissions: Counter,
    mn_acks_received: Family<StatusLabels, Counter>,
    mn_movements: Counter,
    mn_bound: Gauge,
    ripng_requests_in: Counter,
    ripng_responses_in: Counter,
    ripng_responses_out: Counter,
    ripng_triggered: Counter,
    ripng_routes: Gauge,
    ripng_neighbours: Gauge,
    store_losses: Counter,
    store_reconnects: Counter,
    hooks: Family<HookLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("v6edge");
        let m = Metrics {
            registry: Registry::default(),
            dhcp6_sent: Family::default(),
            dhcp6_received: Family::default(),
            dropped: Family::default(),
            tunnel_too_big: Family::default(),
            ra_sent: Family::default(),
            rs_received: Family::default(),
            delegated_valid: Family::default(),
            kernel_ops: Family::default(),
            interface_present: Family::default(),
            reloads: Family::default(),
            store_available: Family::default(),
            mobility_received: Family::default(),
            binding_acks_sent: Family::default(),
            mobility_auth_failures: Counter::default(),
            bindings: Gauge::default(),
            bindings_by_kind: Family::default(),
            ipv4_home_addresses: Gauge::default(),
            mn_binding_updates: Counter::default(),
            mn_retransmissions: Counter::default(),
            mn_acks_received: Family::default(),
            mn_movements: Counter::default(),
            mn_bound: Gauge::default(),
            ripng_requests_in: Counter::default(),
            ripng_responses_in: Counter::default(),
            ripng_responses_out: Counter::default(),
            ripng_triggered: Counter::default(),
            ripng_routes: Gauge::default(),
            ripng_neighbours: Gauge::default(),
            store_losses: Counter::default(),
            store_reconnects: Counter::default(),
            hooks: Family::default(),
        };
        // Counters get the `_total` suffix from the encoder.
        registry.register(
            "dhcp6_messages_sent",
            "DHCPv6 messages sent",
            m.dhcp6_sent.clone(),
        );
        registry.register(
            "dhcp6_messages_received",
            "DHCPv6 messages received and accepted",
            m.dhcp6_received.clone(),
        );
        registry.register(
            "packets_dropped",
            "Received packets dropped, by reason",
            m.dropped.clone(),
        );
        registry.register(
            "tunnel_packet_too_big_sent",
            "ICMPv6 Packet Too Big sent by the Mobile IPv6 tunnel data plane (RFC 2473 §7)",
            m.tunnel_too_big.clone(),
        );
        registry.register("ra_sent", "Router Advertisements sent", m.ra_sent.clone());
        registry.register(
            "rs_received",
            "Router Solicitations received",
            m.rs_received.clone(),
        );
        registry.register(
            "delegated_prefix_valid_seconds",
            "Remaining valid lifetime of each delegated prefix in seconds (4294967295 = infinite)",
            m.delegated_valid.clone(),
        );
        registry.register(
            "kernel_ops",
            "Kernel (netlink) operations, applied or failed",
            m.kernel_ops.clone(),
        );
        registry.register(
            "interface_present",
            "1 if a configured interface exists",
            m.interface_present.clone(),
        );
        registry.register(
            "config_reloads",
            "Configuration reloads, by result",
            m.reloads.clone(),
        );
        registry.register(
            "store_available",
            "1 while the lease store takes writes (a PostgreSQL store that lost its database: 0)",
            m.store_available.clone(),
        );
        registry.register(
            "store_connection_losses",
            "Times the lease store lost its database connection",
            m.store_losses.clone(),
        );
        registry.register(
            "hooks",
            "Hook program runs by result: ok, failed (non-zero exit or not started), timeout (killed after 30 s), dropped (queue full)",
            m.hooks.clone(),
        );
        registry.register(
            "store_reconnects",
            "Times the lease store re-established its database connection",
            m.store_reconnects.clone(),
        );
        registry.register(
            "mobility_messages_received",
            "Mobility Header messages received by the home agent, by type",
            m.mobility_received.clone(),
        );
        registry.register(
            "mobility_binding_acks_sent",
            "Binding Acknowledgements sent, by status",
            m.binding_acks_sent.clone(),
        );
        registry.register(
            "mobility_authentication_failures",
            "Binding Updates refused for RFC 4285 authentication or replay",
            m.mobility_auth_failures.clone(),
        );
        registry.register(
            "mobility_bindings",
            "Entries in the home agent's binding cache",
            m.bindings.clone(),
        );
        registry.register(
            "mobility_bindings_by_kind",
            "Home agent bindings by kind (mobile-node, mobile-router) and transport (ipv6, udp, udp-nat)",
            m.bindings_by_kind.clone(),
        );
        registry.register(
            "mobility_ipv4_home_addresses",
            "IPv4 home addresses the home agent has assigned (RFC 5555)",
            m.ipv4_home_addresses.clone(),
        );
        registry.register(
            "mobile_node_binding_updates_sent",
            "Binding Updates the mobile node sent, retransmissions included",
            m.mn_binding_updates.clone(),
        );
        registry.register(
            "mobile_node_retransmissions",
            "Binding Updates the mobile node sent again after a timeout",
            m.mn_retransmissions.clone(),
        );
        registry.register(
            "mobile_node_binding_acks_received",
            "Binding Acknowledgements the mobile node accepted, by status",
            m.mn_acks_received.clone(),
        );
        registry.register(
            "mobile_node_movements",
            "Movements the mobile node detected (arrivals at home or at a new care-of address)",
            m.mn_movements.clone(),
        );
        registry.register(
            "mobile_node_bound",
            "1 while the mobile node's home agent holds a binding for it",
            m.mn_bound.clone(),
        );
        registry.register(
            "ripng_requests_received",
            "RIPng Requests received (RFC 2080 §2.4.1)",
            m.ripng_requests_in.clone(),
        );
        registry.register(
            "ripng_responses_received",
            "RIPng Responses accepted (updates from neighbours); the dropped ones are in packets_dropped{protocol=\"ripng\"}",
            m.ripng_responses_in.clone(),
        );
        registry.register(
            "ripng_responses_sent",
            "RIPng Response datagrams sent: regular, triggered and replies",
            m.ripng_responses_out.clone(),
        );
        registry.register(
            "ripng_triggered_updates",
            "RIPng triggered updates sent (RFC 2080 §2.5.1)",
            m.ripng_triggered.clone(),
        );
        registry.register(
            "ripng_routes",
            "Routes in the RIPng table that are reachable (metric below 16), learned and originated",
            m.ripng_routes.clone(),
        );
        registry.register(
            "ripng_neighbours",
            "RIPng neighbours heard from",
            m.ripng_neighbours.clone(),
        );
        Metrics { registry, ..m }
    }

    /// Brings the home agent's counters up to its machine's totals (at each
    /// scrape) and sets the binding count.
    pub fn sync_mobility(
        &self,
        received: &[(String, u64)],
        acks: &[(String, u64)],
        auth_failures: u64,
        bindings: &[(&str, &str)],
        ipv4_home_addresses: usize,
    ) {
        fn sync(counter: &Counter, total: u64) {
            let now = counter.get();
            if total > now {
                counter.inc_by(total - now);
            }
        }
        for (message_type, n) in received {
            let labels = MobilityMessageLabels {
                message_type: message_type.clone(),
            };
            sync(&self.mobility_received.get_or_create(&labels), *n);
        }
        for (status, n) in acks {
            let labels = StatusLabels {
                status: status.clone(),
            };
            sync(&self.binding_acks_sent.get_or_create(&labels), *n);
        }
        sync(&self.mobility_auth_failures, auth_failures);
        let gauge = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        self.bindings.set(gauge(bindings.len()));
        for kind in BINDING_KINDS {
            for transport in BINDING_TRANSPORTS {
                let n = bindings
                    .iter()
                    .filter(|(k, t)| *k == kind && *t == transport)
                    .count();
                let labels = BindingKindLabels {
                    kind: kind.to_owned(),
                    transport: transport.to_owned(),
                };
                self.bindings_by_kind.get_or_create(&labels).set(gauge(n));
            }
        }
        self.ipv4_home_addresses.set(gauge(ipv4_home_addresses));
    }

    /// Brings the mobile node's counters up to its machine's totals (at
    /// each scrape) and sets whether it is bound.
    pub fn sync_mobile_node(
        &self,
        binding_updates: u64,
        retransmissions: u64,
        acks: &[(String, u64)],
        movements: u64,
        bound: bool,
    ) {
        fn sync(counter: &Counter, total: u64) {
            let now = counter.get();
            if total > now {
                counter.inc_by(total - now);
            }
        }
        sync(&self.mn_binding_updates, binding_updates);
        sync(&self.mn_retransmissions, retransmissions);
        for (status, n) in acks {
            let labels = StatusLabels {
                status: status.clone(),
            };
            sync(&self.mn_acks_received.get_or_create(&labels), *n);
        }
        sync(&self.mn_movements, movements);
        self.mn_bound.set(i64::from(bound));
    }

    /// Brings the RIPng counters up to its machine's totals (at each
    /// scrape) and sets the gauges.
    pub fn sync_ripng(
        &self,
        requests_in: u64,
        responses_in: u64,
        responses_out: u64,
        triggered: u64,
        routes: usize,
        neighbours: usize,
    ) {
        fn sync(counter: &Counter, total: u64) {
            let now = counter.get();
            if total > now {
                counter.inc_by(total - now);
            }
        }
        sync(&self.ripng_requests_in, requests_in);
        sync(&self.ripng_responses_in, responses_in);
        sync(&self.ripng_responses_out, responses_out);
        sync(&self.ripng_triggered, triggered);
        let gauge = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        self.ripng_routes.set(gauge(routes));
        self.ripng_neighbours.set(gauge(neighbours));
    }

    /// The lease store's state: whether it takes writes, and how many
    /// losses and reconnections are new since the last call.
    pub fn store(&self, kind: &str, available: bool, new_losses: u64, new_reconnects: u64) {
        self.store_available
            .get_or_create(&StoreLabels {
                kind: kind.to_owned(),
            })
            .set(i64::from(available));
        self.store_losses.inc_by(new_losses);
        self.store_reconnects.inc_by(new_reconnects);
    }

    pub fn dhcp6_sent(&self, interface: &str, message_type: &str) {
        let labels = MessageLabels {
            interface: interface.to_owned(),
            message_type: message_type.to_owned(),
        };
        self.dhcp6_sent.get_or_create(&labels).inc();
    }

    pub fn dhcp6_received(&self, interface: &str, message_type: &str) {
        let labels = MessageLabels {
            interface: interface.to_owned(),
            message_type: message_type.to_owned(),
        };
        self.dhcp6_received.get_or_create(&labels).inc();
    }

    pub fn dropped(&self, protocol: &str, reason: &str) {
        let labels = DropLabels {
            protocol: protocol.to_owned(),
            reason: reason.to_owned(),
        };
        self.dropped.get_or_create(&labels).inc();
    }

    /// Brings a drop counter up to `total`, a role machine's own count
    /// (the machines count their drops; the metrics follow at each scrape).
    pub fn sync_dropped(&self, protocol: &str, reason: &str, total: u64) {
        let labels = DropLabels {
            protocol: protocol.to_owned(),
            reason: reason.to_owned(),
        };
        let counter = self.dropped.get_or_create(&labels);
        let now = counter.get();
        if total > now {
            counter.inc_by(total - now);
        }
    }

    /// Brings the tunnel's Packet Too Big counter of `origin` up to the
    /// data plane's `total`.
    pub fn sync_tunnel_too_big(&self, origin: &str, total: u64) {
        let counter = self.tunnel_too_big.get_or_create(&TooBigLabels {
            origin: origin.to_owned(),
        });
        let now = counter.get();
        if total > now {
            counter.inc_by(total - now);
        }
    }

    pub fn ra_sent(&self, interface: &str) {
        self.ra_sent
            .get_or_create(&InterfaceLabels {
                interface: interface.to_owned(),
            })
            .inc();
    }

    pub fn rs_received(&self, interface: &str) {
        self.rs_received
            .get_or_create(&InterfaceLabels {
                interface: interface.to_owned(),
            })
            .inc();
    }

    /// Sets the remaining valid lifetime of a delegated prefix; `None` =
    /// infinite, exported as 0xffffffff as on the wire (RFC 8415 §7.7): the
    /// text encoder spells a float infinity `inf`, which OpenMetrics rejects.
    pub fn set_delegated_valid(&self, iaid: u32, prefix: &str, valid: Option<u32>) {
        let labels = DelegationLabels {
            iaid,
            prefix: prefix.to_owned(),
        };
        let value = i64::from(valid.unwrap_or(u32::MAX));
        self.delegated_valid.get_or_create(&labels).set(value);
    }

    /// Forgets a prefix that is no longer delegated.
    pub fn remove_delegation(&self, iaid: u32, prefix: &str) {
        self.delegated_valid.remove(&DelegationLabels {
            iaid,
            prefix: prefix.to_owned(),
        });
    }

    pub fn kernel_op(&self, op: &str, applied: bool) {
        let result = if applied { "applied" } else { "failed" };
        let labels = KernelOpLabels {
            op: op.to_owned(),
            result: result.to_owned(),
        };
        self.kernel_ops.get_or_create(&labels).inc();
    }

    pub fn set_interface_present(&self, interface: &str, present: bool) {
        let labels = InterfaceLabels {
            interface: interface.to_owned(),
        };
        self.interface_present
            .get_or_create(&labels)
            .set(i64::from(present));
    }

    /// Drops the presence gauge of an interface removed from the config.
    pub fn remove_interface(&self, interface: &str) {
        self.interface_present.remove(&InterfaceLabels {
            interface: interface.to_owned(),
        });
    }

    pub fn reload(&self, ok: bool) {
        let result = if ok { "ok" } else { "failed" };
        self.reloads
            .get_or_create(&ResultLabels {
                result: result.to_owned(),
            })
            .inc();
    }

    /// The OpenMetrics text exposition of every metric.
    /// Hook runs by result (`hooks.rs`): ok, failed, timeout, dropped.
    pub fn sync_hooks(&self, counts: &[(&'static str, u64)]) {
        for (result, n) in counts {
            let c = self.hooks.get_or_create(&HookLabels {
                result: (*result).to_owned(),
            });
            let have = c.get();
            if *n > have {
                c.inc_by(n - have);
            }
        }
    }

    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Encoding into a String only fails if a Display impl fails, which
        // ours do not; an error leaves a truncated text, which is still valid to return.
        if let Err(e) = prometheus_client::encoding::text::encode(&mut text, &self.registry) {
            tracing::warn!(error = %e, "metrics encoding failed");
        }
        text
    }
}

/// The OpenMetrics text [`Metrics::encode`] writes, in the classic
/// Prometheus text format (0.0.4) that scrapers and tools without
/// OpenMetrics read (promtool, older Prometheus, plain curl users): a
/// counter family is named with its `_total` suffix in HELP and TYPE, as
/// its samples are; UNIT and EOF lines go. Samples are unchanged.
pub fn classic_text(openmetrics: &str) -> String {
    let counters: std::collections::BTreeSet<&str> = openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let renamed = ["# HELP ", "# TYPE "].iter().find_map(|head| {
            let rest = line.strip_prefix(head)?;
            let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
            counters
                .contains(name)
                .then(|| format!("{head}{name}_total {tail}"))
        });
        out.push_str(renamed.as_deref().unwrap_or(line).trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn classic_text_names_counters_with_total() {
        let om = "# HELP a_b Things.\n# TYPE a_b counter\na_b_total 3\n# HELP g Level.\n# TYPE g gauge\n# UNIT g seconds\ng 1\n# EOF\n";
        assert_eq!(
            super::classic_text(om),
            "# HELP a_b_total Things.\n# TYPE a_b_total counter\na_b_total 3\n# HELP g Level.\n# TYPE g gauge\ng 1\n"
        );
    }

    use super::Metrics;

    #[test]
    fn counters_and_gauges_appear_in_text() {
        let m = Metrics::new();
        m.dhcp6_sent("wan0", "solicit");
        m.dhcp6_sent("wan0", "solicit");
        m.dhcp6_received("wan0", "advertise");
        m.dropped("dhcp6", "bad-xid");
        m.ra_sent("lan0");
        m.rs_received("lan0");
        m.kernel_op("address-add", true);
        m.kernel_op("route-add", false);
        m.set_interface_present("wan0", false);
        m.store("postgres", false, 1, 2);
        m.set_delegated_valid(1, "2001:db8:1200::/56", Some(7150));
        m.set_delegated_valid(2, "2001:db8:1300::/56", None);
        m.reload(false);
        let text = m.encode();
        for line in [
            r#"v6edge_dhcp6_messages_sent_total{interface="wan0",message_type="solicit"} 2"#,
            r#"v6edge_dhcp6_messages_received_total{interface="wan0",message_type="advertise"} 1"#,
            r#"v6edge_packets_dropped_total{protocol="dhcp6",reason="bad-xid"} 1"#,
            r#"v6edge_ra_sent_total{interface="lan0"} 1"#,
            r#"v6edge_rs_received_total{interface="lan0"} 1"#,
            r#"v6edge_kernel_ops_total{op="route-add",result="failed"} 1"#,
            r#"v6edge_interface_present{interface="wan0"} 0"#,
            r#"v6edge_store_available{kind="postgres"} 0"#,
            "v6edge_store_connection_losses_total 1",
            "v6edge_store_reconnects_total 2",
            r#"v6edge_delegated_prefix_valid_seconds{iaid="1",prefix="2001:db8:1200::/56"} 7150"#,
            r#"v6edge_delegated_prefix_valid_seconds{iaid="2",prefix="2001:db8:1300::/56"} 4294967295"#,
            r#"v6edge_config_reloads_total{result="failed"} 1"#,
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing `{line}` in:\n{text}"
            );
        }
        m.remove_delegation(1, "2001:db8:1200::/56");
        assert!(!m.encode().contains("2001:db8:1200::/56"));
    }
}
