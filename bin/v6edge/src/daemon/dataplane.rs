//! The Mobile IPv6 tunnel data plane in userspace
//! (`../shared/reference/mobility.md` §2.2 "Tunnel, default"): a TUN device
//! into which the `HoA/128` routes point, and IPv6-in-IPv6 from the home
//! agent's address. A task of its own moves packets, so forwarding never
//! waits on the daemon loop's work and the loop never waits on it; the
//! decisions (which care-of address, the MTU, the anti-spoofing check of
//! RFC 6275 §10.4.5) are `v6edge_mip6::dataplane::Tunnels`', whose table
//! the loop updates from the roles' [`BindingOp`]s.
//!
//! Panic contract: nothing here panics (a poisoned lock is taken over).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use anyhow::Context as _;
use v6edge_core::{KernelOp, TunSpec};
use v6edge_mip6::dataplane::{
    BindingOp, DropCause, ErrorRateLimit, MnOutbound, MobileNodeTunnel, Tunnels, Verdict,
    packet_too_big, relay_too_big,
};
use v6edge_mip6::mn::{MnTunnel, TunnelOp};
use v6edge_sys::socket::{TunnelError, path_mtu};
use v6edge_sys::tun::Tun;
use v6edge_sys::{Netlink, TunnelSocket};

use super::role::{DataPlaneNeed, MnDataPlaneNeed};

/// How often the worker retries binding the tunnel socket while the local
/// address does not exist yet (the operator adds it to the home link).
const BIND_RETRY: Duration = Duration::from_secs(2);

/// The loop's handle on the data plane.
#[derive(Debug, Clone)]
pub struct DataPlane {
    table: Arc<Mutex<Tunnels>>,
    /// Mobile node mode: the one tunnel to the home agent, while
    /// registered.
    mobile_node: Arc<Mutex<Option<MobileNodeTunnel>>>,
    /// Packets dropped by the worker, by cause label.
    drops: Arc<Mutex<BTreeMap<&'static str, u64>>>,
    /// Packet Too Big messages the worker generated at the tunnel entry
    /// and relayed from outer ones (RFC 2473 §7).
    too_big_sent: Arc<Mutex<TooBigSent>>,
    /// The clock of the ICMPv6 rate limit.
    origin: tokio::time::Instant,
}

/// Packet Too Big messages sent by the data plane.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TooBigSent {
    /// For inner packets larger than the tunnel MTU (RFC 2473 §7.1(b)).
    pub generated: u64,
    /// For inner packets an outer Packet Too Big came back for (§7.2).
    pub relayed: u64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl DataPlane {
    /// Creates the TUN device (persistent, owned by `need.owner`, up) and
    /// starts the worker.
    pub async fn start(netlink: &Netlink, need: &DataPlaneNeed) -> anyhow::Result<DataPlane> {
        let tun = create_tun(netlink, need.owner, &need.tun).await?;
        let plane = DataPlane::empty();
        tokio::spawn(worker(tun, need.local, plane.clone()));
        tracing::info!(device = %need.tun, local = %need.local, "tunnel data plane started");
        Ok(plane)
    }

    /// The mobile node mode (RFC 6275 §11.3.1): creates the TUN device and
    /// starts the worker that tunnels packets from the home address to the
    /// home agent and delivers what the home agent tunnels to the care-of
    /// address (MN-11), once [`DataPlane::apply_mobile_node`] says where.
    /// The tunnel socket is unbound: the outer source is the care-of
    /// address of the moment, given per packet, so a movement needs no
    /// new socket.
    pub async fn start_mobile_node(
        netlink: &Netlink,
        need: &MnDataPlaneNeed,
    ) -> anyhow::Result<DataPlane> {
        let tun = create_tun(netlink, need.owner, &need.tun).await?;
        let tunnel = TunnelSocket::unbound().context("cannot open the IPv6-in-IPv6 socket")?;
        let plane = DataPlane::empty();
        tokio::spawn(mobile_node_worker(tun, tunnel, plane.clone()));
        tracing::info!(device = %need.tun, "mobile node tunnel data plane started");
        Ok(plane)
    }

    fn empty() -> DataPlane {
        DataPlane {
            table: Arc::new(Mutex::new(Tunnels::new())),
            mobile_node: Arc::new(Mutex::new(None)),
            drops: Arc::new(Mutex::new(BTreeMap::new())),
            too_big_sent: Arc::new(Mutex::new(TooBigSent::default())),
            origin: tokio::time::Instant::now(),
        }
    }

    /// The mobile node's tunnel changes (at once: the next packet sees
    /// it).
    /// The path MTU from the new care-of address to the home agent is
    /// the kernel's (HA-13: never a fixed value).
    pub fn apply_mobile_node(&self, op: &TunnelOp) {
        let tunnel = MnTunnel::from_op(op).map(|t| {
            let mut tunnel = MobileNodeTunnel::new(t);
            tunnel.path_mtu = known_path_mtu(Some(t.care_of), t.home_agent);
            tunnel
        });
        *lock(&self.mobile_node) = tunnel;
    }

    /// Applies a role's change to the tunnel table (at once: the next
    /// packet sees it), with the kernel's path MTU to the care-of address
    /// (HA-13).
    pub fn apply(&self, op: &BindingOp) {
        let mut table = lock(&self.table);
        table.apply(op);
        if let BindingOp::Upsert { care_of, .. } = *op
            && let Some(mtu) = known_path_mtu(None, care_of)
        {
            table.set_path_mtu(care_of, mtu);
        }
    }

    /// Packets dropped so far, by cause.
    pub fn drops(&self) -> BTreeMap<&'static str, u64> {
        lock(&self.drops).clone()
    }

    /// Packet Too Big messages sent so far.
    pub fn too_big_sent(&self) -> TooBigSent {
        *lock(&self.too_big_sent)
    }

    fn count(&self, cause: &'static str) {
        *lock(&self.drops).entry(cause).or_insert(0) += 1;
    }

    /// Hands `packet` (a Packet Too Big built by the core) to the kernel
    /// through the tunnel device, within the rate limit.
    async fn send_too_big(
        &self,
        tun: &Tun,
        limit: &mut ErrorRateLimit,
        packet: Option<Vec<u8>>,
        relayed: bool,
    ) {
        let Some(packet) = packet else { return };
        if !limit.allow(super::persist::machine_now(self.origin)) {
            self.count("icmp-rate-limited");
            return;
        }
        if tun.send(&packet).await.is_err() {
            self.count("send-failed");
            return;
        }
        let mut sent = lock(&self.too_big_sent);
        if relayed {
            sent.relayed += 1;
        } else {
            sent.generated += 1;
        }
    }
}

/// The kernel's path MTU, or `None` (logged) when it has no route yet.
fn known_path_mtu(src: Option<std::net::Ipv6Addr>, dst: std::net::Ipv6Addr) -> Option<u32> {
    match path_mtu(src, dst) {
        Ok(mtu) => Some(mtu),
        Err(e) => {
            tracing::debug!(%dst, error = %e, "no path MTU toward the tunnel's far end yet");
            None
        }
    }
}

/// The TUN devices' MTU: the roles' inner tunnel MTU (`HaConfig` and
/// `MnConfig` `tunnel_mtu`: 1500 less the 40-octet outer header, RFC 2473
/// §6.7). The kernel then sends the Packet Too Big owed for a larger packet
/// it would route into the tunnel (HA-13, RFC 2473 §7.1) and sizes the
/// node's own packets, TCP segments included, to fit; at the default 1500
/// the workers dropped full-size packets silently and TCP stalled.
const TUN_MTU: u32 = 1460;

/// Creates the persistent TUN device `name` owned by `owner`, up, with
/// [`TUN_MTU`], and attaches to it.
async fn create_tun(
    netlink: &Netlink,
    owner: v6edge_core::Owner,
    name: &str,
) -> anyhow::Result<Tun> {
    let spec = TunSpec {
        owner,
        name: name.to_owned(),
        up: true,
        mtu: Some(TUN_MTU),
    };
    netlink
        .apply(&KernelOp::SetTun(spec))
        .await
        .with_context(|| format!("cannot create the tunnel device {name}"))?;
    Tun::create(name).with_context(|| format!("cannot attach to the tunnel device {name}"))
}

/// The mobile node's packets: reverse tunnelling of what the kernel routes
/// into the TUN device from the home address (MN-7), and delivery of what
/// the home agent tunnels to the care-of address (MN-11).
async fn mobile_node_worker(tun: Tun, tunnel: TunnelSocket, plane: DataPlane) {
    let mut from_tun = vec![0u8; 65536];
    let mut from_tunnel = vec![0u8; 65536];
    let mut quoted = vec![0u8; 2048];
    let mut limit = ErrorRateLimit::default();
    loop {
        tokio::select! {
            r = tun.recv(&mut from_tun) => match r {
                Ok(n) => {
                    let packet = &from_tun[..n];
                    let current = *lock(&plane.mobile_node);
                    match current.map(|t| (t, t.outbound(packet))) {
                        Some((_, MnOutbound::Encapsulate { care_of, home_agent })) => {
                            if tunnel.send_from(packet, care_of, home_agent).is_err() {
                                plane.count("send-failed");
                            }
                        }
                        // RFC 2473 §7.1(b), toward the node's own stack.
                        Some((t, MnOutbound::TooBig { mtu })) => {
                            plane.count(DropCause::TooBig.as_str());
                            let ptb = packet_too_big(packet, mtu, t.tunnel.care_of);
                            plane.send_too_big(&tun, &mut limit, ptb, false).await;
                        }
                        Some((_, MnOutbound::Drop(cause))) => plane.count(cause.as_str()),
                        None => plane.count(DropCause::NoBinding.as_str()),
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "tunnel device read failed");
                    tokio::time::sleep(BIND_RETRY).await;
                }
            },
            r = tunnel.recv(&mut from_tunnel) => match r {
                Ok(meta) => {
                    let inner = &from_tunnel[..meta.len];
                    let current = *lock(&plane.mobile_node);
                    let verdict = match current {
                        Some(t) => t.inbound(*meta.src.ip(), meta.dst, inner),
                        None => Verdict::Drop(DropCause::NotFromHomeAgent),
                    };
                    match verdict {
                        Verdict::Deliver => {
                            if tun.send(inner).await.is_err() {
                                plane.count("send-failed");
                            }
                        }
                        Verdict::Drop(cause) => plane.count(cause.as_str()),
                        Verdict::Encapsulate(_) | Verdict::TooBig { .. } => {}
                    }
                }
                Err(e) if TunnelSocket::announces_error(&e) => {}
                Err(e) => {
                    tracing::debug!(error = %e, "tunnel socket receive failed");
                    plane.count("receive-error");
                }
            },
            r = tunnel.recv_error(&mut quoted) => match r {
                Ok(TunnelError { len, outer_dst, mtu: Some(outer_mtu), .. }) => {
                    let current = *lock(&plane.mobile_node);
                    let Some(mut t) = current.filter(|t| t.tunnel.home_agent == outer_dst) else {
                        continue;
                    };
                    let (mtu, ptb) = relay_too_big(&quoted[..len], outer_mtu, t.tunnel.care_of);
                    t.path_mtu = Some(outer_mtu);
                    *lock(&plane.mobile_node) = Some(t);
                    tracing::debug!(outer_mtu, tunnel_mtu = mtu, "outer Packet Too Big from the path to the home agent");
                    plane.send_too_big(&tun, &mut limit, ptb, true).await;
                }
                Ok(_) => {}
                Err(_) => plane.count("receive-error"),
            },
        }
    }
}

async fn worker(tun: Tun, local: std::net::Ipv6Addr, plane: DataPlane) {
    let tunnel = loop {
        match TunnelSocket::bind(local) {
            Ok(t) => break t,
            Err(e) => {
                tracing::debug!(error = %e, "tunnel socket not bound yet; retrying");
                tokio::time::sleep(BIND_RETRY).await;
            }
        }
    };
    let mut from_tun = vec![0u8; 65536];
    let mut from_tunnel = vec![0u8; 65536];
    let mut quoted = vec![0u8; 2048];
    let mut limit = ErrorRateLimit::default();
    loop {
        tokio::select! {
            r = tun.recv(&mut from_tun) => match r {
                Ok(n) => {
                    let packet = &from_tun[..n];
                    let verdict = lock(&plane.table).outbound(packet);
                    match verdict {
                        Verdict::Encapsulate(coa) => {
                            if tunnel.send(packet, coa).is_err() {
                                plane.count("send-failed");
                            }
                        }
                        // RFC 2473 §7.1(b): the sender learns the tunnel MTU.
                        Verdict::TooBig { mtu } => {
                            plane.count(DropCause::TooBig.as_str());
                            let ptb = packet_too_big(packet, mtu, local);
                            plane.send_too_big(&tun, &mut limit, ptb, false).await;
                        }
                        Verdict::Drop(cause) => plane.count(cause.as_str()),
                        Verdict::Deliver => {}
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "tunnel device read failed");
                    tokio::time::sleep(BIND_RETRY).await;
                }
            },
            r = tunnel.recv(&mut from_tunnel) => match r {
                Ok(meta) => {
                    let inner = &from_tunnel[..meta.len];
                    let verdict = lock(&plane.table).inbound(*meta.src.ip(), inner);
                    match verdict {
                        Verdict::Deliver => {
                            if tun.send(inner).await.is_err() {
                                plane.count("send-failed");
                            }
                        }
                        Verdict::Drop(cause) => plane.count(cause.as_str()),
                        Verdict::Encapsulate(_) | Verdict::TooBig { .. } => {}
                    }
                }
                Err(e) if TunnelSocket::announces_error(&e) => {}
                Err(e) => {
                    tracing::debug!(error = %e, "tunnel socket receive failed");
                    plane.count("receive-error");
                }
            },
            // RFC 2473 §7.2: an outer Packet Too Big lowers the tunnel MTU
            // and, when the lost inner packet no longer fits, tells its
            // source.
            r = tunnel.recv_error(&mut quoted) => match r {
                Ok(TunnelError { len, outer_dst, mtu: Some(outer_mtu), .. }) => {
                    lock(&plane.table).set_path_mtu(outer_dst, outer_mtu);
                    let (mtu, ptb) = relay_too_big(&quoted[..len], outer_mtu, local);
                    tracing::debug!(care_of = %outer_dst, outer_mtu, tunnel_mtu = mtu, "outer Packet Too Big");
                    plane.send_too_big(&tun, &mut limit, ptb, true).await;
                }
                Ok(_) => {}
                Err(_) => plane.count("receive-error"),
            },
        }
    }
}
