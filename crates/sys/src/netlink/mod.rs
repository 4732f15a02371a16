//! rtnetlink: apply [`KernelOp`]s, dump links, addresses, routes, proxy
//! neighbours and rules (by owner, for reconciliation), and watch for
//! changes.
//!
//! Requests are built here from `netlink-packet-route` messages and sent
//! through an `rtnetlink` connection whose I/O task runs on the current
//! tokio runtime (a current-thread runtime works). Every request asks for an
//! ACK, so a refused change surfaces as [`SysError::Netlink`] with the errno.
//!
//! Deletions are idempotent: deleting an address or route that is not there
//! (EADDRNOTAVAIL, ESRCH, ENOENT) or on an interface that is gone (ENODEV)
//! succeeds, because the machines re-emit deletions after restarts and the
//! kernel also drops addresses and routes by itself when lifetimes expire
//! (RFC 4862 §5.5.4) or links vanish.

mod addr;
mod link;
mod monitor;
mod neigh;
mod proxy;
mod route;
mod rule;
mod v4;

pub use addr::{AddrFlags, AddressInfo};
pub use link::{LinkInfo, owner_alias};
pub use monitor::{NetEvent, NetEvents};
pub use proxy::ProxyNeighbourInfo;
pub use route::{RouteInfo, RouteKind};
pub use rule::RuleInfo;
pub use v4::{Address4Info, Route4Info};

use crate::SysError;
use futures::StreamExt;
use netlink_packet_core::{
    NLM_F_ACK, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_REQUEST, NetlinkMessage, NetlinkPayload,
};
use netlink_packet_route::RouteNetlinkMessage;
use std::io;
use tokio::task::JoinHandle;
use v6edge_core::KernelOp;

/// How often a dump is retried when the kernel flags it as interrupted
/// (NLM_F_DUMP_INTR: the table changed while it was being dumped).
const DUMP_ATTEMPTS: usize = 3;

/// A request/response rtnetlink connection.
///
/// Cheap to share by reference: every method takes `&self`. Dropping it
/// stops the connection task.
#[derive(Debug)]
pub struct Netlink {
    handle: rtnetlink::Handle,
    task: JoinHandle<()>,
}

impl Drop for Netlink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Why a single exchange failed, before context is attached.
enum Failure {
    /// The kernel answered NLMSG_ERROR with this errno.
    Errno(io::Error),
    /// The connection task is gone, or the answer made no sense.
    Protocol(String),
}

impl Failure {
    fn errno(&self) -> Option<i32> {
        match self {
            Failure::Errno(e) => e.raw_os_error(),
            Failure::Protocol(_) => None,
        }
    }

    fn into_error(self, op: &'static str, target: String) -> SysError {
        match self {
            Failure::Errno(source) => SysError::Netlink { op, target, source },
            Failure::Protocol(detail) => SysError::Protocol { op, target, detail },
        }
    }
}

impl Netlink {
    /// Opens an rtnetlink socket in the calling thread's network namespace
    /// and spawns its I/O task on the current tokio runtime.
    pub fn connect() -> Result<Netlink, SysError> {
        let (conn, handle, _unsolicited) =
            rtnetlink::new_connection().map_err(|source| SysError::Connect {
                what: "request socket",
                source,
            })?;
        // The request socket joins no multicast group, so `_unsolicited`
        // never carries anything; dropping it is harmless.
        let task = tokio::spawn(conn);
        Ok(Netlink { handle, task })
    }

    /// Carries out one machine request.
    ///
    /// - `SetAddress`: add or replace (NLM_F_CREATE | NLM_F_REPLACE), so a
    ///   renewal updates the lifetimes of the existing address in place. A
    ///   valid lifetime of zero deletes the address instead (RFC 8415
    ///   §18.2.10.1: a lease with valid lifetime 0 is gone; the kernel
    ///   rejects valid_lft 0 with EINVAL).
    /// - `DelAddress`, `DelRoute`: missing is success.
    /// - `SetRoute`: add or replace in the spec's table, protocol
    ///   [`v6edge_core::Owner::protocol`] of its owner; `DelRoute` removes
    ///   only a route of that protocol.
    /// - IPv4 addresses and routes, proxy neighbours: the same add-or-
    ///   replace and missing-is-success semantics.
    /// - `SetRule`: added unless an identical rule exists.
    /// - `SetTun`: a persistent TUN device, created unless it exists;
    ///   `DelTun` deletes it only if its owner marked it.
    pub async fn apply(&self, op: &KernelOp) -> Result<(), SysError> {
        match op {
            KernelOp::SetAddress(spec) => self.set_address(spec).await,
            KernelOp::DelAddress {
                ifindex,
                addr,
                prefix_len,
            } => self.del_address(*ifindex, *addr, *prefix_len).await,
            KernelOp::SetRoute(spec) => self.set_route(spec).await,
            KernelOp::DelRoute(spec) => self.del_route(spec).await,
            KernelOp::SetAddress4(spec) => self.set_address4(spec).await,
            KernelOp::DelAddress4(spec) => self.del_address4(spec).await,
            KernelOp::SetRoute4(spec) => self.set_route4(spec).await,
            KernelOp::DelRoute4(spec) => self.del_route4(spec).await,
            KernelOp::SetProxyNeighbour(spec) => self.set_proxy_neighbour(spec).await,
            KernelOp::DelProxyNeighbour(spec) => self.del_proxy_neighbour(spec).await,
            KernelOp::SetRule(spec) => self.set_rule(spec).await,
            KernelOp::DelRule(spec) => self.del_rule(spec).await,
            KernelOp::SetTun(spec) => self.set_tun(spec).await,
            KernelOp::DelTun(spec) => self.del_tun(spec).await,
        }
    }

    /// Sends a request that expects only an ACK.
    async fn ack_request(&self, msg: RouteNetlinkMessage, flags: u16) -> Result<(), Failure> {
        self.exchange(msg, NLM_F_REQUEST | NLM_F_ACK | flags)
            .await
            .map(|_| ())
    }

    /// Sends a dump request and collects every answer, retrying when the
    /// kernel reports the dump was interrupted by a concurrent change.
    async fn dump(&self, msg: RouteNetlinkMessage) -> Result<Vec<RouteNetlinkMessage>, Failure> {
        let mut last = Vec::new();
        for attempt in 1..=DUMP_ATTEMPTS {
            let (messages, interrupted) = self
                .exchange(msg.clone(), NLM_F_REQUEST | NLM_F_DUMP)
                .await?;
            if !interrupted {
                return Ok(messages);
            }
            tracing::debug!(
                attempt,
                "netlink dump interrupted by a concurrent change, retrying"
            );
            last = messages;
        }
        // Still changing under us: the result is a best effort, and the
        // monitor will report whatever changed meanwhile.
        Ok(last)
    }

    /// Sends a request that expects exactly one answer (a non-dump GET).
    async fn get_one(&self, msg: RouteNetlinkMessage) -> Result<RouteNetlinkMessage, Failure> {
        let (mut messages, _) = self.exchange(msg, NLM_F_REQUEST).await?;
        match messages.pop() {
            Some(m) if messages.is_empty() => Ok(m),
            Some(_) => Err(Failure::Protocol("more than one answer to a GET".into())),
            None => Err(Failure::Protocol("no answer to a GET".into())),
        }
    }

    /// One request, all its answers; the flag says whether any answer
    /// carried NLM_F_DUMP_INTR.
    async fn exchange(
        &self,
        msg: RouteNetlinkMessage,
        flags: u16,
    ) -> Result<(Vec<RouteNetlinkMessage>, bool), Failure> {
        let mut req = NetlinkMessage::from(msg);
        req.header.flags = flags;
        let mut handle = self.handle.clone();
        let mut answers = handle
            .request(req)
            .map_err(|e| Failure::Protocol(format!("netlink connection closed: {e}")))?;
        let mut out = Vec::new();
        let mut interrupted = false;
        while let Some(answer) = answers.next().await {
            interrupted |= answer.header.flags & NLM_F_DUMP_INTR != 0;
            match answer.payload {
                NetlinkPayload::InnerMessage(inner) => out.push(inner),
                NetlinkPayload::Error(e) if e.code.is_some() => {
                    return Err(Failure::Errno(e.to_io()));
                }
                // An ACK (error code 0), end of dump, or a no-op.
                NetlinkPayload::Error(_) | NetlinkPayload::Done(_) | NetlinkPayload::Noop => {}
                NetlinkPayload::Overrun(_) => {
                    return Err(Failure::Protocol("netlink overrun during a request".into()));
                }
                other => {
                    return Err(Failure::Protocol(format!(
                        "unexpected netlink payload {other:?}"
                    )));
                }
            }
        }
        Ok((out, interrupted))
    }
}

/// Errnos that mean "the thing to delete is already gone".
fn is_missing(errno: Option<i32>) -> bool {
    matches!(
        errno,
        Some(libc::EADDRNOTAVAIL) | Some(libc::ESRCH) | Some(libc::ENOENT) | Some(libc::ENODEV)
    )
}
