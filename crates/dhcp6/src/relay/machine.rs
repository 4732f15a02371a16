//! The relay machine: inputs, relaying both ways, snooping, outputs. See
//! the module docs of [`crate::relay`] for the RFC sections and the method
//! grammar.
//!
//! Panic contract: no method panics on any input; the inner messages
//! re-emitted are values the codec parsed (so `to_bytes` cannot panic),
//! instant arithmetic saturates.

use super::snoop::{self, Effects, SnoopTable};
use super::{
    ALL_DHCP_SERVERS, Downstream, DropReason, RelayConfig, RelayCounters, RelayOutput, RelayStatus,
    Snooped,
};
use std::collections::VecDeque;
use std::net::Ipv6Addr;
use tracing::{debug, info};
use v6edge_core::{
    DHCP6_CLIENT_PORT, DHCP6_SERVER_PORT, Instant, KernelOp, Received, Transmit, Transport,
};
use v6edge_prefix::Prefix;
use v6edge_wire::dhcp6::{
    ClientMessage, DhcpOption, Message, MessageType, RelayMessage, StatusCode,
};

/// A DHCPv6 relay agent with delegated-prefix snooping.
#[derive(Debug)]
pub struct Relay {
    config: RelayConfig,
    table: SnoopTable,
    out: VecDeque<RelayOutput>,
    counters: RelayCounters,
}

/// One input's outputs, queued in the contract's order by `flush`.
#[derive(Debug, Default)]
struct Batch {
    transmits: Vec<Transmit>,
    fx: Effects,
}

impl Relay {
    /// A relay with no snooped delegations.
    pub fn new(config: RelayConfig, now: Instant) -> Relay {
        debug!(downstream = config.downstream.len(), servers = config.servers.len(), at = ?now, "dhcp6 relay created");
        Relay {
            config,
            table: SnoopTable::default(),
            out: VecDeque::new(),
            counters: RelayCounters::default(),
        }
    }

    /// Warm start from the daemon's relay-bindings (style guide §3): live
    /// delegations are adopted and their routes set again; expired or
    /// unroutable ones are dropped (`SnoopChange::Remove`, no route).
    pub fn restore(config: RelayConfig, snooped: Vec<Snooped>, now: Instant) -> Relay {
        let mut r = Relay::new(config, now);
        let mut b = Batch::default();
        let (mut adopted, mut dropped) = (0usize, 0usize);
        for s in snooped {
            let prefix = s.prefix;
            if r.table.adopt(s, now) {
                adopted += 1;
            } else {
                dropped += 1;
                // A duplicate record of a live prefix keeps its key.
                if r.table.get(&prefix).is_none() {
                    b.fx.snoop.push(super::SnoopChange::Remove(prefix));
                }
            }
        }
        if r.config.routes {
            b.fx.kernel.extend(
                r.table
                    .iter()
                    .map(|s| KernelOp::SetRoute(snoop::route_of(s, now))),
            );
        }
        info!(adopted, dropped, "dhcp6 relay restored");
        r.flush(b);
        r
    }

    // ----------------------------------------------------------- getters --

    /// The end of the earliest finite delegation.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.table.next_deadline()
    }

    pub fn snooped(&self) -> impl Iterator<Item = &Snooped> {
        self.table.iter()
    }

    pub fn counters(&self) -> &RelayCounters {
        &self.counters
    }

    pub fn config(&self) -> &RelayConfig {
        &self.config
    }

    pub fn status(&self) -> RelayStatus {
        RelayStatus {
            snooped: self.table.len(),
            pending_releases: self.table.pending_len(),
            counters: self.counters.clone(),
        }
    }

    // ------------------------------------------------------------ output --

    pub fn poll_output(&mut self) -> Option<RelayOutput> {
        self.out.pop_front()
    }

    fn flush(&mut self, b: Batch) {
        self.out
            .extend(b.transmits.into_iter().map(RelayOutput::Transmit));
        self.out
            .extend(b.fx.kernel.into_iter().map(RelayOutput::Kernel));
        self.out
            .extend(b.fx.snoop.into_iter().map(RelayOutput::Snoop));
    }

    // ------------------------------------------------------------- input --

    /// Delegations whose valid lifetime is over lose their route. Calls
    /// before the deadline do nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        let mut b = Batch::default();
        self.table
            .expire(now, self.config.routes, &mut self.counters, &mut b.fx);
        self.flush(b);
    }

    fn drop_msg(&mut self, reason: DropReason, rx: &Received<'_>, why: &str) {
        *self.counters.dropped.entry(reason).or_insert(0) += 1;
        debug!(?reason, src = %rx.src, ifindex = rx.ifindex, why, "dhcp6 relay dropped a datagram");
    }

    /// A datagram for the relay's port-547 socket; `rx.ifindex` and
    /// `rx.src` tell which side it came from. Never fails: anything
    /// unusable is counted under a [`DropReason`] and ignored.
    pub fn handle_packet(&mut self, now: Instant, rx: &Received<'_>) {
        let mut b = Batch::default();
        // Delegations due by now end before anything is decided on them.
        self.table
            .expire(now, self.config.routes, &mut self.counters, &mut b.fx);
        self.process(now, rx, &mut b);
        self.flush(b);
    }

    fn process(&mut self, now: Instant, rx: &Received<'_>, b: &mut Batch) {
        let msg = match Message::parse(rx.bytes) {
            Ok(m) => m,
            Err(e) => {
                debug!(error = %e, "DHCPv6 decode failed");
                self.drop_msg(DropReason::Malformed, rx, "undecodable");
                return;
            }
        };
        if msg.msg_type() == MessageType::RelayRepl {
            match msg {
                Message::Relay(r) => self.relay_down(now, rx, r, b),
                // The codec parses every Relay-reply in the relay format.
                Message::Client(_) => {
                    self.drop_msg(DropReason::Malformed, rx, "relay-reply in client format")
                }
            }
        } else {
            self.relay_up(now, rx, msg, b);
        }
    }

    /// RFC 8415 §19.1.1 and §19.1.2: a client message or a further relay's
    /// Relay-forward, wrapped for the servers.
    fn relay_up(&mut self, now: Instant, rx: &Received<'_>, msg: Message, b: &mut Batch) {
        let Some(ds) = self
            .config
            .downstream
            .iter()
            .find(|d| d.ifindex == rx.ifindex)
            .cloned()
        else {
            self.drop_msg(
                DropReason::NotDownstream,
                rx,
                "not from a downstream interface",
            );
            return;
        };
        // The reply will go back to rx.src: it must be a unicast address.
        if rx.src.is_unspecified() || rx.src.is_multicast() {
            self.drop_msg(DropReason::BadPeerAddress, rx, "unanswerable source");
            return;
        }
        let hop_count = match &msg {
            Message::Relay(r) => {
                if r.relay_message().is_none() {
                    self.drop_msg(
                        DropReason::BadRelayMessage,
                        rx,
                        "relay-forward without a message",
                    );
                    return;
                }
                // §19.1.2: discard at HOP_COUNT_LIMIT; below it the +1
                // cannot overflow (limit <= 255).
                if r.hop_count >= self.config.hop_count_limit {
                    self.drop_msg(DropReason::HopLimit, rx, "hop-count at the limit");
                    return;
                }
                r.hop_count + 1
            }
            Message::Client(m) => {
                self.note_release(now, m);
                0
            }
        };
        let fwd = Message::Relay(wrap(&ds, msg, hop_count, rx.src)).to_bytes();
        self.counters.forwarded_up += 1;
        let upstream = self.config.upstream_ifindex;
        let transmit = |dst: Ipv6Addr| Transmit {
            ifindex: upstream,
            src: None,
            dst,
            transport: Transport::Udp {
                src_port: DHCP6_SERVER_PORT,
                dst_port: DHCP6_SERVER_PORT,
            },
            hop_limit: None,
            payload: fwd.clone(),
        };
        if self.config.servers.is_empty() {
            b.transmits.push(transmit(ALL_DHCP_SERVERS));
        } else {
            b.transmits
                .extend(self.config.servers.iter().map(|&s| transmit(s)));
        }
    }

    /// A client's Release or Decline: remember its prefixes until the
    /// Reply (the Reply need not list them again).
    fn note_release(&mut self, now: Instant, m: &ClientMessage) {
        if !matches!(m.msg_type, MessageType::Release | MessageType::Decline) {
            return;
        }
        let Some(duid) = m.options.client_id() else {
            return;
        };
        let prefixes: Vec<Prefix> = m
            .options
            .ia_pds()
            .flat_map(|ia| ia.prefixes())
            .filter_map(|p| Prefix::new(p.prefix, p.prefix_len).ok())
            .collect();
        self.table.note_release(duid.clone(), m.xid, prefixes, now);
    }

    /// RFC 8415 §19.2: a server's Relay-reply, unwrapped for the link it
    /// names.
    fn relay_down(&mut self, now: Instant, rx: &Received<'_>, r: RelayMessage, b: &mut Batch) {
        let downstream_if = self
            .config
            .downstream
            .iter()
            .any(|d| d.ifindex == rx.ifindex);
        if downstream_if && rx.ifindex != self.config.upstream_ifindex {
            self.drop_msg(
                DropReason::NotUpstream,
                rx,
                "relay-reply from the client side",
            );
            return;
        }
        // RFC 8987 §6: believe only the configured servers.
        if !self.config.servers.is_empty() && !self.config.servers.contains(&rx.src) {
            self.drop_msg(DropReason::ForeignServer, rx, "not a configured server");
            return;
        }
        let Some(inner) = r.relay_message() else {
            self.drop_msg(
                DropReason::BadRelayMessage,
                rx,
                "relay-reply without a message",
            );
            return;
        };
        let dst_port = match inner {
            Message::Client(_) => DHCP6_CLIENT_PORT,
            Message::Relay(m) if m.msg_type == MessageType::RelayRepl => DHCP6_SERVER_PORT,
            Message::Relay(_) => {
                self.drop_msg(
                    DropReason::BadRelayMessage,
                    rx,
                    "relay-reply carrying a relay-forward",
                );
                return;
            }
        };
        let Some(ds) = self.find_downstream(&r) else {
            self.drop_msg(
                DropReason::UnknownInterface,
                rx,
                "no downstream for interface-id or link-address",
            );
            return;
        };
        let ifindex = ds.ifindex;
        let peer = r.peer_address;
        if peer.is_unspecified() || peer.is_multicast() {
            self.drop_msg(DropReason::BadPeerAddress, rx, "unanswerable peer-address");
            return;
        }
        self.counters.forwarded_down += 1;
        b.transmits.push(Transmit {
            ifindex,
            src: None,
            dst: peer,
            transport: Transport::Udp {
                src_port: DHCP6_SERVER_PORT,
                dst_port,
            },
            hop_limit: None,
            payload: inner.to_bytes(),
        });
        if let Message::Client(m) = inner
            && m.msg_type == MessageType::Reply
        {
            self.snoop_reply(now, m, peer, ifindex, b);
        }
    }

    /// RFC 8415 §19.2: the Interface-ID names the link; without one (or
    /// with one we never sent), the link-address.
    fn find_downstream(&self, r: &RelayMessage) -> Option<&Downstream> {
        let by_id = r.options.interface_id().and_then(|id| {
            self.config
                .downstream
                .iter()
                .find(|d| d.interface_id.as_slice() == id)
        });
        by_id.or_else(|| {
            let la = r.link_address;
            if la.is_unspecified() {
                return None;
            }
            self.config
                .downstream
                .iter()
                .find(|d| d.link_address == Some(la))
        })
    }

    /// RFC 8987 §4: the delegations in a Reply to the client at `peer`.
    fn snoop_reply(
        &mut self,
        now: Instant,
        m: &ClientMessage,
        peer: std::net::Ipv6Addr,
        ifindex: u32,
        b: &mut Batch,
    ) {
        let Some(duid) = m.options.client_id() else {
            if m.options.ia_pds().next().is_some() {
                self.counters.snoop_rejected += 1;
            }
            return;
        };
        let routes = self.config.routes;
        // A Reply to a Release or Decline: those prefixes are given up,
        // whatever the server says (RFC 8415 §18.2.7, §18.2.8).
        if let Some(released) = self.table.take_release(duid, m.xid) {
            for p in released {
                self.table
                    .remove(&p, Some(duid), now, routes, &mut self.counters, &mut b.fx);
            }
        }
        // A top-level error (UseMulticast, NoPrefixAvail in a broken
        // server's place, ...) binds nothing.
        if m.options
            .status()
            .is_some_and(|s| s.code != StatusCode::Success)
        {
            return;
        }
        for ia in m.options.ia_pds() {
            if ia.status().is_some_and(|s| s.code != StatusCode::Success) {
                continue;
            }
            for p in ia.prefixes() {
                let prefix = match Prefix::new(p.prefix, p.prefix_len) {
                    Ok(x) if snoop::routable(&x) => x,
                    _ => {
                        self.counters.snoop_rejected += 1;
                        continue;
                    }
                };
                if p.valid.is_zero() {
                    // RFC 8415 §18.3.4: lifetime 0 ends the delegation.
                    self.table.remove(
                        &prefix,
                        Some(duid),
                        now,
                        routes,
                        &mut self.counters,
                        &mut b.fx,
                    );
                    continue;
                }
                let s = snoop::record(
                    prefix,
                    peer,
                    ifindex,
                    duid,
                    ia.iaid,
                    snoop::valid_until(now, p.valid),
                );
                self.table
                    .upsert(s, now, routes, &mut self.counters, &mut b.fx);
            }
        }
    }
}

/// The Relay-forward for `msg` from `peer` on `ds` (RFC 8415 §19.1.1):
/// the link-address, or `::` with the Interface-ID; then the configured
/// Remote-ID and Subscriber-ID.
fn wrap(ds: &Downstream, msg: Message, hop_count: u8, peer: Ipv6Addr) -> RelayMessage {
    let link = ds.link_address.unwrap_or(Ipv6Addr::UNSPECIFIED);
    let mut fwd = RelayMessage::forward(msg, hop_count, link, peer);
    if ds.sends_interface_id() {
        fwd.options
            .push(DhcpOption::InterfaceId(ds.interface_id.clone()));
    }
    if let Some((enterprise, id)) = &ds.remote_id {
        fwd.options.push(DhcpOption::RemoteId {
            enterprise: *enterprise,
            remote_id: id.clone(),
        });
    }
    if let Some(id) = &ds.subscriber_id {
        fwd.options.push(DhcpOption::SubscriberId(id.clone()));
    }
    fwd
}
