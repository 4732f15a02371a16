//! The Mobile IPv6 tunnel data plane in userspace
//! (`../shared/reference/mobility.md` §2.2 "Tunnel, default"): a TUN device
//! into which the `HoA/128` routes point, and IPv6-in-IPv6 from the home
//! agent's address. A task of its own moves packets, so forwarding never
//! waits on the daemon loop's work and the loop never waits on it; the
//! decisions (which care-of address, the MTU, the anti-spoofing check of
//! RFC 6275 §10.4.5) are `v6edge_mip6::dataplane::Tunnels`', whose table
//! the loop updates from the roles' [`BindingOp`]s.
//!
//! Packets move in batches: one wake-up drains what the TUN device has
//! queued (up to 64) and sends it with one `sendmmsg`; the tunnel socket is
//! read with `recvmmsg`. One read and one write system call per packet,
//! each after its own wake-up, was the limit of the first version.
//!
//! DSMIPv6 (RFC 5555 §4.1): with [`DataPlaneNeed::udp`] the worker also
//! owns UDP port 4191 of the home agent's IPv4 address. Packets for a
//! binding registered in UDP leave there; what arrives there is either
//! signalling (an IPv6 packet carrying a Mobility Header), handed to the
//! loop through [`DataPlane::take_signalling`] for the machine to judge, or
//! reverse-tunnelled data, checked by `Tunnels::inbound_udp` like
//! IPv6-in-IPv6 (HA-14). One datagram per system call here: batching it
//! as the IPv6-in-IPv6 path does is still to come.
//!
//! Panic contract: nothing here panics (a poisoned lock is taken over).

use std::collections::BTreeMap;
use std::net::{Ipv6Addr, SocketAddr, SocketAddrV4};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use anyhow::Context as _;
use v6edge_core::{KernelOp, TunSpec};
use v6edge_mip6::dataplane::{
    BindingOp, DropCause, ErrorRateLimit, MnOutbound, MobileNodeTunnel, Tunnels, Verdict,
    packet_too_big, relay_too_big,
};
use v6edge_mip6::mn::{MnTunnel, TunnelOp};
use v6edge_sys::batch::{DEFAULT_BATCH, PacketBatch};
use v6edge_sys::socket::{Outgoing, TunnelError, Tunnelled, path_mtu};
use v6edge_sys::tun::Tun;
use v6edge_sys::{Netlink, TunnelSocket};

use super::role::{DataPlaneNeed, MnDataPlaneNeed};

/// DSMIPv6 signalling taken from UDP port 4191, for the loop: the sender's
/// address and port, the IPv6 packet.
pub type SignallingReceiver = tokio::sync::mpsc::Receiver<(SocketAddrV4, Vec<u8>)>;

/// Signalling datagrams waiting for the loop; beyond, they are dropped and
/// counted (a flood of Binding Updates must not grow memory).
const SIGNALLING_QUEUE: usize = 256;

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
    /// DSMIPv6: UDP port 4191 (home agent), shared with the loop, which
    /// sends the signalling on it.
    udp: Option<Arc<tokio::net::UdpSocket>>,
    /// DSMIPv6: the loop's end of the signalling queue, until taken.
    signalling: Arc<Mutex<Option<SignallingReceiver>>>,
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
        let mut plane = DataPlane::empty();
        let mut signal_tx = None;
        if let Some(addr) = need.udp {
            let socket = v6edge_sys::dsmip_udp_socket(addr, v6edge_mip6::dsmip::DSMIP_PORT)
                .with_context(|| {
                    format!(
                        "cannot bind UDP port {} of {addr} (DSMIPv6)",
                        v6edge_mip6::dsmip::DSMIP_PORT
                    )
                })?;
            let (tx, rx) = tokio::sync::mpsc::channel(SIGNALLING_QUEUE);
            plane.udp = Some(Arc::new(socket));
            plane.signalling = Arc::new(Mutex::new(Some(rx)));
            signal_tx = Some(tx);
            tracing::info!(%addr, port = v6edge_mip6::dsmip::DSMIP_PORT, "DSMIPv6 listening");
        }
        let local = need.local;
        let worker_plane = plane.clone();
        let dsmip = need.udp.is_some();
        tokio::spawn(async move {
            let tunnel = bind_tunnel(local).await;
            // The address exists now (the IPv6-in-IPv6 socket is bound).
            let ipv4_in_ipv6 = match dsmip {
                true => TunnelSocket::bind_ipv4_in_ipv6(local)
                    .inspect_err(|e| tracing::warn!(error = %e, "no IPv4-in-IPv6 socket: IPv4 home addresses only over IPv4 care-of addresses"))
                    .ok(),
                false => None,
            };
            let udp = Udp {
                socket: worker_plane.udp.clone(),
                signalling: signal_tx,
                ipv4_in_ipv6,
            };
            worker(tun, tunnel, udp, End::HomeAgent { local }, worker_plane).await;
        });
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
        let mut plane = DataPlane::empty();
        let mut udp = Udp::none();
        if need.udp {
            // Unbound: the kernel picks the IPv4 care-of address of the
            // moment as the source; the port stays for the NAT's mapping.
            let socket = v6edge_sys::dsmip_udp_socket(std::net::Ipv4Addr::UNSPECIFIED, 0)
                .context("cannot open the DSMIPv6 UDP socket")?;
            let (tx, rx) = tokio::sync::mpsc::channel(SIGNALLING_QUEUE);
            plane.udp = Some(Arc::new(socket));
            plane.signalling = Arc::new(Mutex::new(Some(rx)));
            udp = Udp {
                socket: plane.udp.clone(),
                signalling: Some(tx),
                ipv4_in_ipv6: Some(
                    TunnelSocket::unbound_ipv4_in_ipv6()
                        .context("cannot open the IPv4-in-IPv6 socket")?,
                ),
            };
        }
        tokio::spawn(worker(tun, tunnel, udp, End::MobileNode, plane.clone()));
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
            udp: None,
            signalling: Arc::new(Mutex::new(None)),
        }
    }

    /// The loop's end of the DSMIPv6 signalling queue (once).
    pub fn take_signalling(&self) -> Option<SignallingReceiver> {
        lock(&self.signalling).take()
    }

    /// One datagram from the DSMIPv6 socket (RFC 5555 §4.1): signalling to
    /// the loop's queue, data checked and written into the tunnel device.
    async fn udp_datagram(
        &self,
        end: &End,
        udp: &Udp,
        tun: &Tun,
        from: SocketAddrV4,
        payload: &[u8],
    ) {
        if v6edge_mip6::dsmip::signalling(payload).is_some() {
            let queued = udp
                .signalling
                .as_ref()
                .is_some_and(|tx| tx.try_send((from, payload.to_vec())).is_ok());
            if !queued {
                self.count("signalling-queue-full");
            }
            return;
        }
        match end.inbound_udp(self, from, payload) {
            Verdict::Deliver if tun.send(payload).await.is_err() => self.count("send-failed"),
            Verdict::Drop(cause) => self.count(cause.as_str()),
            _ => {}
        }
    }

    /// Sends DSMIPv6 signalling in UDP from port 4191; never waits (a full
    /// send buffer drops it, counted: the mobile node retransmits).
    pub fn send_udp(&self, dst: SocketAddrV4, packet: &[u8]) {
        let Some(socket) = &self.udp else {
            self.count("no-udp-socket");
            return;
        };
        if socket.try_send_to(packet, SocketAddr::V4(dst)).is_err() {
            self.count("send-failed");
        }
    }

    /// The mobile node's tunnel changes (at once: the next packet sees
    /// it).
    /// The path MTU from the new care-of address to the home agent is
    /// the kernel's (HA-13: never a fixed value).
    pub fn apply_mobile_node(&self, op: &TunnelOp) {
        let tunnel = MnTunnel::from_op(op).map(|t| {
            let path_mtu = known_path_mtu(Some(t.care_of), t.home_agent);
            let mut tunnel = MobileNodeTunnel::new(t);
            tunnel.path_mtu = path_mtu;
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
        self.count_n(cause, 1);
    }

    fn count_n(&self, cause: &'static str, n: usize) {
        if n > 0 {
            *lock(&self.drops).entry(cause).or_insert(0) += n as u64;
        }
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
fn known_path_mtu(src: Option<Ipv6Addr>, dst: Ipv6Addr) -> Option<u32> {
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

/// The TUN devices' transmit queue: what the kernel holds for the worker
/// between two batches. At the kernel's 500 for TUN devices, one TCP flow
/// through the home agent lost packets there (bench/mip6-tunnel.sh);
/// 1000 is Ethernet's default.
const TUN_TX_QUEUE: u32 = 1000;

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
        tx_queue_len: Some(TUN_TX_QUEUE),
    };
    netlink
        .apply(&KernelOp::SetTun(spec))
        .await
        .with_context(|| format!("cannot create the tunnel device {name}"))?;
    Tun::create(name).with_context(|| format!("cannot attach to the tunnel device {name}"))
}

/// Which end of the bidirectional tunnel a worker is.
#[derive(Debug, Clone, Copy)]
enum End {
    /// The home agent (RFC 6275 §10.4.2, §10.4.5): the socket is bound to
    /// `local`, the outer source of everything sent and of Packet Too Bigs.
    HomeAgent { local: Ipv6Addr },
    /// The mobile node (§11.3.1): the outer source is the care-of address
    /// of the moment.
    MobileNode,
}

/// The worker's DSMIPv6 sockets: UDP (and where signalling goes), and
/// IPv4-in-IPv6 for an IPv4 home address over an IPv6 care-of address
/// (RFC 5555 §4.1, DS-8).
struct Udp {
    socket: Option<Arc<tokio::net::UdpSocket>>,
    signalling: Option<tokio::sync::mpsc::Sender<(SocketAddrV4, Vec<u8>)>>,
    ipv4_in_ipv6: Option<TunnelSocket>,
}

impl Udp {
    fn none() -> Udp {
        Udp {
            socket: None,
            signalling: None,
            ipv4_in_ipv6: None,
        }
    }
}

/// What the worker does with a packet from the tunnel device.
enum Outbound {
    Encapsulate {
        src: Option<Ipv6Addr>,
        dst: Ipv6Addr,
    },
    /// DSMIPv6: in UDP to this address and port.
    Udp(SocketAddrV4),
    /// DSMIPv6: an IPv4 packet in IPv6 (next header 4).
    EncapsulateIpv4 {
        src: Option<Ipv6Addr>,
        dst: Ipv6Addr,
    },
    /// Dropped; a Packet Too Big with `mtu` from `src` is owed (RFC 2473
    /// §7.1(b)).
    TooBig {
        mtu: u32,
        src: Ipv6Addr,
    },
    /// An IPv4 packet with DF, dropped; an ICMPv4 Fragmentation Needed
    /// with `mtu` from `src` is owed (RFC 1191 §4).
    FragmentationNeeded {
        mtu: u32,
        src: std::net::Ipv4Addr,
    },
    Drop(&'static str),
}

impl End {
    /// The decisions for a batch read from the tunnel device, under one
    /// lock of the table.
    fn outbound(self, plane: &DataPlane, batch: &PacketBatch<()>, out: &mut Vec<Outbound>) {
        out.clear();
        match self {
            End::HomeAgent { local } => {
                let table = lock(&plane.table);
                out.extend(
                    batch
                        .iter()
                        .map(|((), packet)| match table.outbound(packet) {
                            Verdict::Encapsulate(coa) => Outbound::Encapsulate {
                                src: None,
                                dst: coa,
                            },
                            Verdict::EncapsulateUdp(ep) => Outbound::Udp(ep),
                            Verdict::EncapsulateIpv4(coa) => Outbound::EncapsulateIpv4 {
                                src: None,
                                dst: coa,
                            },
                            Verdict::TooBig { mtu } => Outbound::TooBig { mtu, src: local },
                            Verdict::Drop(cause) => Outbound::Drop(cause.as_str()),
                            Verdict::Deliver => Outbound::Drop(DropCause::Malformed.as_str()),
                        }),
                );
            }
            End::MobileNode => {
                let current = lock(&plane.mobile_node).clone();
                out.extend(batch.iter().map(|((), packet)| match &current {
                    None => Outbound::Drop(DropCause::NoBinding.as_str()),
                    Some(t) => match t.outbound(packet) {
                        MnOutbound::Encapsulate {
                            care_of,
                            home_agent,
                        } => Outbound::Encapsulate {
                            src: Some(care_of),
                            dst: home_agent,
                        },
                        // Over UDP the care-of address is IPv4 (mapped
                        // here): the Packet Too Big comes from the home
                        // address instead.
                        MnOutbound::TooBig { mtu } => Outbound::TooBig {
                            mtu,
                            src: match t.tunnel.udp {
                                Some(_) => t.tunnel.home_address,
                                None => t.tunnel.care_of,
                            },
                        },
                        MnOutbound::Drop(cause) => Outbound::Drop(cause.as_str()),
                        // DSMIPv6 (RFC 5555 §4.1).
                        MnOutbound::EncapsulateIpv4 {
                            care_of,
                            home_agent,
                        } => Outbound::EncapsulateIpv4 {
                            src: Some(care_of),
                            dst: home_agent,
                        },
                        MnOutbound::EncapsulateUdp { dst, .. } => Outbound::Udp(dst),
                        // From the home agent's IPv4 address: the stack
                        // drops IPv4 from its own addresses as martian.
                        MnOutbound::FragmentationNeeded { mtu } => match t.tunnel.home_agent_v4 {
                            Some(src) => Outbound::FragmentationNeeded { mtu, src },
                            None => Outbound::Drop(DropCause::TooBig.as_str()),
                        },
                    },
                }));
            }
        }
    }

    /// The decisions for a batch of decapsulated packets (HA-14, MN-11).
    fn inbound(self, plane: &DataPlane, batch: &PacketBatch<Tunnelled>, out: &mut Vec<Verdict>) {
        out.clear();
        match self {
            End::HomeAgent { .. } => {
                let table = lock(&plane.table);
                out.extend(
                    batch
                        .iter()
                        .map(|(from, inner)| table.inbound(from.outer_src, inner)),
                );
            }
            End::MobileNode => {
                let current = lock(&plane.mobile_node).clone();
                out.extend(batch.iter().map(|(from, inner)| match &current {
                    Some(t) => t.inbound(from.outer_src, from.outer_dst, inner),
                    None => Verdict::Drop(DropCause::NotFromHomeAgent),
                }));
            }
        }
    }

    /// A UDP payload that is not signalling (RFC 5555 §4.1).
    fn inbound_udp(self, plane: &DataPlane, from: SocketAddrV4, payload: &[u8]) -> Verdict {
        match self {
            End::HomeAgent { .. } => lock(&plane.table).inbound_udp(from, payload),
            End::MobileNode => match lock(&plane.mobile_node).as_ref() {
                Some(t) => t.inbound_udp(from, payload),
                None => Verdict::Drop(DropCause::NotFromHomeAgent),
            },
        }
    }

    /// An outer Packet Too Big from the path to `outer_dst` (RFC 2473
    /// §7.2): lowers the tunnel MTU; returns the source of the Packet Too
    /// Big owed to the lost inner packet's sender, or `None` when the error
    /// is not about our tunnel.
    fn outer_too_big(
        self,
        plane: &DataPlane,
        outer_dst: Ipv6Addr,
        outer_mtu: u32,
    ) -> Option<Ipv6Addr> {
        match self {
            End::HomeAgent { local } => {
                lock(&plane.table).set_path_mtu(outer_dst, outer_mtu);
                Some(local)
            }
            End::MobileNode => {
                let mut current = lock(&plane.mobile_node);
                let t = current
                    .as_mut()
                    .filter(|t| t.tunnel.home_agent == outer_dst)?;
                t.path_mtu = Some(outer_mtu);
                Some(t.tunnel.care_of)
            }
        }
    }

    /// The IPv4 source of the ICMPv4 errors this end sends into its tunnel
    /// device: the home agent's IPv4 address (its UDP socket's), or, at
    /// the mobile node, the home agent's (the stack drops IPv4 from its
    /// own addresses as martian).
    fn ipv4_source(self, plane: &DataPlane, udp: &Udp) -> Option<std::net::Ipv4Addr> {
        match self {
            End::HomeAgent { .. } => match udp.socket.as_ref()?.local_addr().ok()? {
                SocketAddr::V4(a) if !a.ip().is_unspecified() => Some(*a.ip()),
                _ => None,
            },
            End::MobileNode => lock(&plane.mobile_node).as_ref()?.tunnel.home_agent_v4,
        }
    }
}

/// A batch from the IPv4-in-IPv6 socket, if there is one.
async fn recv_batch_opt(
    socket: Option<&TunnelSocket>,
    batch: &mut PacketBatch<Tunnelled>,
) -> std::io::Result<usize> {
    match socket {
        Some(s) => s.recv_batch(batch).await,
        None => std::future::pending().await,
    }
}

/// The next error of the IPv4-in-IPv6 socket, if there is one.
async fn recv_error_opt(
    socket: Option<&TunnelSocket>,
    buf: &mut [u8],
) -> std::io::Result<TunnelError> {
    match socket {
        Some(s) => s.recv_error(buf).await,
        None => std::future::pending().await,
    }
}

/// A datagram from the DSMIPv6 socket, if there is one.
async fn recv_udp(
    socket: Option<&tokio::net::UdpSocket>,
    buf: &mut [u8],
) -> std::io::Result<(usize, SocketAddr)> {
    match socket {
        Some(s) => s.recv_from(buf).await,
        None => std::future::pending().await,
    }
}

/// The home agent's tunnel socket, bound to `local` once the address
/// exists (the operator may add it to the home link after the start).
async fn bind_tunnel(local: Ipv6Addr) -> TunnelSocket {
    loop {
        match TunnelSocket::bind(local) {
            Ok(t) => return t,
            Err(e) => {
                tracing::debug!(error = %e, "tunnel socket not bound yet; retrying");
                tokio::time::sleep(BIND_RETRY).await;
            }
        }
    }
}

/// Moves packets between the tunnel device and the tunnel socket, a
/// batch at a time: what the kernel routed into the device is
/// encapsulated (one `sendmmsg` per batch), what arrived encapsulated is
/// checked and written into the device for the kernel to forward or
/// deliver.
async fn worker(tun: Tun, tunnel: TunnelSocket, udp: Udp, end: End, plane: DataPlane) {
    let mut from_tun: PacketBatch<()> = PacketBatch::new(DEFAULT_BATCH);
    let mut from_tunnel: PacketBatch<Tunnelled> = PacketBatch::new(DEFAULT_BATCH);
    let mut from_tunnel4: PacketBatch<Tunnelled> = PacketBatch::new(DEFAULT_BATCH);
    let mut outbound = Vec::with_capacity(DEFAULT_BATCH);
    let mut inbound = Vec::with_capacity(DEFAULT_BATCH);
    let mut quoted = vec![0u8; 2048];
    let mut quoted4 = vec![0u8; 2048];
    let mut datagram = vec![0u8; 65536];
    let mut limit = ErrorRateLimit::default();
    loop {
        tokio::select! {
            r = tun.recv_batch(&mut from_tun) => match r {
                Ok(_) => {
                    end.outbound(&plane, &from_tun, &mut outbound);
                    let mut sends = Vec::with_capacity(outbound.len());
                    let mut sends4 = Vec::new();
                    for (decision, ((), packet)) in outbound.iter().zip(from_tun.iter()) {
                        match *decision {
                            Outbound::EncapsulateIpv4 { src, dst } => sends4.push(Outgoing {
                                inner: packet,
                                outer_src: src,
                                outer_dst: dst,
                            }),
                            Outbound::Encapsulate { src, dst } => sends.push(Outgoing {
                                inner: packet,
                                outer_src: src,
                                outer_dst: dst,
                            }),
                            Outbound::TooBig { mtu, src } => {
                                plane.count(DropCause::TooBig.as_str());
                                let ptb = packet_too_big(packet, mtu, src);
                                plane.send_too_big(&tun, &mut limit, ptb, false).await;
                            }
                            Outbound::FragmentationNeeded { mtu, src } => {
                                plane.count(DropCause::TooBig.as_str());
                                let icmp = v6edge_mip6::dsmip::fragmentation_needed(packet, mtu, src);
                                plane.send_too_big(&tun, &mut limit, icmp, false).await;
                            }
                            Outbound::Udp(ep) => match &udp.socket {
                                Some(s) => {
                                    if s.try_send_to(packet, SocketAddr::V4(ep)).is_err() {
                                        plane.count("send-failed");
                                    }
                                }
                                None => plane.count("no-udp-socket"),
                            },
                            Outbound::Drop(cause) => plane.count(cause),
                        }
                    }
                    let sent = tunnel.send_batch(&sends);
                    plane.count_n("send-failed", sent.failed);
                    if !sends4.is_empty() {
                        match &udp.ipv4_in_ipv6 {
                            Some(t) => plane.count_n("send-failed", t.send_batch(&sends4).failed),
                            None => plane.count_n("no-ipv4-in-ipv6-socket", sends4.len()),
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "tunnel device read failed");
                    tokio::time::sleep(BIND_RETRY).await;
                }
            },
            r = tunnel.recv_batch(&mut from_tunnel) => match r {
                Ok(_) => {
                    end.inbound(&plane, &from_tunnel, &mut inbound);
                    for (verdict, (_, inner)) in inbound.iter().zip(from_tunnel.iter()) {
                        match *verdict {
                            Verdict::Deliver => {
                                if tun.send(inner).await.is_err() {
                                    plane.count("send-failed");
                                }
                            }
                            Verdict::Drop(cause) => plane.count(cause.as_str()),
                            Verdict::Encapsulate(_)
                            | Verdict::EncapsulateUdp(_)
                            | Verdict::EncapsulateIpv4(_)
                            | Verdict::TooBig { .. } => {}
                        }
                    }
                }
                Err(e) if TunnelSocket::announces_error(&e) => {}
                Err(e) => {
                    tracing::debug!(error = %e, "tunnel socket receive failed");
                    plane.count("receive-error");
                }
            },
            // DSMIPv6 (DS-8): IPv4 from an IPv4 home address over an IPv6
            // care-of address, checked like IPv6-in-IPv6.
            r = recv_batch_opt(udp.ipv4_in_ipv6.as_ref(), &mut from_tunnel4) => match r {
                Ok(_) => {
                    end.inbound(&plane, &from_tunnel4, &mut inbound);
                    for (verdict, (_, inner)) in inbound.iter().zip(from_tunnel4.iter()) {
                        match *verdict {
                            Verdict::Deliver if tun.send(inner).await.is_err() => {
                                plane.count("send-failed");
                            }
                            Verdict::Drop(cause) => plane.count(cause.as_str()),
                            _ => {}
                        }
                    }
                }
                Err(e) if TunnelSocket::announces_error(&e) => {}
                Err(_) => plane.count("receive-error"),
            },
            // DSMIPv6 (RFC 5555 §4.1): signalling to the loop, data
            // checked and delivered.
            r = recv_udp(udp.socket.as_deref(), &mut datagram) => {
                // What is queued behind the first datagram too (bounded),
                // one wake-up for a burst.
                let mut next = Some(r);
                for _ in 0..DEFAULT_BATCH {
                    let Some(r) = next.take() else { break };
                    match r {
                        Ok((len, SocketAddr::V4(from))) => {
                            plane.udp_datagram(&end, &udp, &tun, from, &datagram[..len]).await;
                        }
                        Ok(_) => plane.count("malformed"),
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                        Err(_) => plane.count("receive-error"),
                    }
                    next = udp.socket.as_deref().map(|s| s.try_recv_from(&mut datagram));
                }
            }
            // RFC 2473 §7.2: an outer Packet Too Big lowers the tunnel MTU
            // and, when the lost inner packet no longer fits, tells its
            // source.
            r = tunnel.recv_error(&mut quoted) => match r {
                Ok(TunnelError { len, outer_dst, mtu: Some(outer_mtu), .. }) => {
                    let Some(src) = end.outer_too_big(&plane, outer_dst, outer_mtu) else {
                        continue;
                    };
                    let (mtu, ptb) = relay_too_big(&quoted[..len], outer_mtu, src);
                    tracing::debug!(%outer_dst, outer_mtu, tunnel_mtu = mtu, "outer Packet Too Big");
                    plane.send_too_big(&tun, &mut limit, ptb, true).await;
                }
                Ok(_) => {}
                Err(_) => plane.count("receive-error"),
            },
            // The same for IPv4-in-IPv6 (DS-8): the lost inner packet is
            // IPv4, owed a Fragmentation Needed from an IPv4 address of
            // the tunnel's far end (mobile node) or of ours (home agent).
            r = recv_error_opt(udp.ipv4_in_ipv6.as_ref(), &mut quoted4) => match r {
                Ok(TunnelError { len, outer_dst, mtu: Some(outer_mtu), .. }) => {
                    if end.outer_too_big(&plane, outer_dst, outer_mtu).is_none() {
                        continue;
                    }
                    let Some(src) = end.ipv4_source(&plane, &udp) else { continue };
                    let (mtu, icmp) = v6edge_mip6::dsmip::relay_fragmentation_needed(&quoted4[..len], outer_mtu, src);
                    tracing::debug!(%outer_dst, outer_mtu, tunnel_mtu = mtu, "outer Packet Too Big (IPv4-in-IPv6)");
                    plane.send_too_big(&tun, &mut limit, icmp, true).await;
                }
                Ok(_) => {}
                Err(_) => plane.count("receive-error"),
            },
        }
    }
}
