//! `v6edge run`: the daemon process.
//!
//! [`run`] validates the configuration before touching anything, sets up
//! logging and the state directory, binds the control socket and runs
//! [`Daemon::run`] on a current-thread tokio runtime. The daemon loop owns
//! the [`Driver`] (all protocol state) and the [`Metrics`], and is the only
//! task that touches them: control requests reach it over an mpsc channel,
//! signals and timers through `select!`.
//!
//! Signals: SIGTERM and SIGINT stop cleanly (the socket file is removed),
//! SIGHUP reloads the configuration; a configuration that fails to validate
//! is logged with its `FILE:LINE` and the old one stays in force.
//!
//! Panic contract: nothing here panics.

mod cpe;
mod dataplane;
pub mod driver;
pub mod guard;
mod home_agent;
pub mod hooks;
mod link;
pub mod metrics_http;
mod mobile_node;
mod mobility;
pub mod persist;
mod relay;
mod ripng;
pub mod role;
mod roles;
mod server;
mod static_ra;

use std::path::PathBuf;

use anyhow::Context as _;
use serde_json::json;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::config::Config;
use crate::control::server::{ControlRequest, ControlServer};
use crate::control::{Request, Response};
use crate::logging::LogHandle;
use crate::metrics::Metrics;
use crate::state::StateDir;
pub use driver::{Driver, Effect, Facts};
use role::{Needs, Port};

use futures::FutureExt as _;
use role::Interest;
use std::collections::BTreeSet;
use v6edge_core::{DHCP6_CLIENT_PORT, DHCP6_SERVER_PORT, IfIndex};
use v6edge_sys::{
    Dhcp6Socket, Icmp6Socket, Ipv6Conf, MhSocket, MobilityCapture, NetEvent, Netlink,
    RawIpv6Sender, RecvMeta, RouteKind,
};

/// How often links and routes are re-read even without netlink events (a
/// safety net: events can be lost, see [`NetEvent::Overrun`]).
const RESYNC_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);
/// How often the routes toward delegated prefixes are looked at for a role
/// that redistributes them (RIPng): a delegation reaches the neighbours
/// within a second plus the triggered-update hold-down.
const SHARE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);
/// RIPng's All RIP Routers group (RFC 2080 §2.5).
const ALL_RIP_ROUTERS: std::net::Ipv6Addr = std::net::Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 9);

/// What `v6edge run` was asked to do.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub config: PathBuf,
    /// `--state-dir`: wins over `[daemon] state-dir`.
    pub state_dir: Option<PathBuf>,
    /// `--control`: wins over `[daemon] control-socket`.
    pub control: Option<PathBuf>,
    /// `--log-level`: wins over `RUST_LOG` and `[daemon] log-level`.
    pub log_level: Option<String>,
}

/// Runs the daemon until SIGTERM/SIGINT. Configuration errors come back
/// as [`crate::config::ConfigError`] before anything is created.
pub fn run(options: RunOptions) -> anyhow::Result<()> {
    let config = Config::load(&options.config)?;
    let log = crate::logging::init(
        options.log_level.as_deref(),
        &config.daemon.log_level,
        config.daemon.log_format,
    )?;
    let state_path = options
        .state_dir
        .clone()
        .unwrap_or_else(|| config.daemon.state_dir.clone());
    let state = StateDir::open(&state_path).context("cannot use the state directory")?;
    let control_path = options
        .control
        .clone()
        .unwrap_or_else(|| config.daemon.control_socket.clone());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?;
    runtime.block_on(async move {
        let server = ControlServer::bind(&control_path, config.daemon.control_group.as_deref())?;
        let metrics_listener = match config.daemon.metrics_listen {
            Some(addr) => Some(metrics_http::MetricsListener::bind(addr).await?),
            None => None,
        };
        let (tx, rx) = mpsc::channel(16);
        let daemon = Daemon::new(config, options, state, Some(log), rx)?;
        tracing::info!(
            version = env!("CARGO_PKG_VERSION"),
            control = %control_path.display(),
            state_dir = %state_path.display(),
            "v6edge started"
        );
        if let Some(l) = metrics_listener {
            tracing::info!(listen = ?l.local_addr(), "metrics served over HTTP at /metrics");
            tokio::spawn(l.serve(tx.clone()));
        }
        let serve = tokio::spawn(server.serve(tx));
        let result = daemon.run().await;
        // The loop dropped its receiver: the server stops and removes the socket.
        let _ = serve.await;
        tracing::info!("v6edge stopped");
        result
    })
}

/// The daemon loop and everything it owns.
pub struct Daemon {
    config: Config,
    options: RunOptions,
    log: Option<LogHandle>,
    metrics: Metrics,
    driver: Driver,
    control: mpsc::Receiver<ControlRequest>,
    /// The tunnel data plane's handle, for its drop counters.
    data_plane: Option<dataplane::DataPlane>,
    /// The mobile node's tunnel data plane, likewise.
    mn_data_plane: Option<dataplane::DataPlane>,
    /// Configured interfaces the kernel does not have (yet).
    missing_interfaces: BTreeSet<String>,
    /// Hook programs, queued in order (`hooks.rs`).
    hooks: hooks::Hooks,
}

impl Daemon {
    /// `log` is `None` where no subscriber was installed (tests).
    pub fn new(
        config: Config,
        options: RunOptions,
        state: StateDir,
        log: Option<LogHandle>,
        control: mpsc::Receiver<ControlRequest>,
    ) -> anyhow::Result<Daemon> {
        let metrics = Metrics::new();
        let driver = Driver::new(&config, state, &metrics, Instant::now())?;
        Ok(Daemon {
            config,
            options,
            log,
            metrics,
            driver,
            control,
            data_plane: None,
            mn_data_plane: None,
            missing_interfaces: BTreeSet::new(),
            hooks: hooks::Hooks::start(),
        })
    }

    /// Serves until SIGTERM or SIGINT.
    pub async fn run(mut self) -> anyhow::Result<()> {
        let mut sigterm = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
        let mut sigint = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
        let mut sighup = signal(SignalKind::hangup()).context("cannot handle SIGHUP")?;
        let netlink = Netlink::connect().context("cannot open rtnetlink")?;
        let netlink_buffer = self.config.daemon.netlink_receive_buffer;
        let needs = self.driver.needs();
        // IPv4 address and default route events only for a role that
        // asked (a DSMIPv6 mobile node): other routers' IPv4 churn is none
        // of our business.
        let ipv4_events = needs.interfaces.values().any(|i| i.addresses && i.ipv4);
        let mut events = Netlink::monitor_ipv4(netlink_buffer, ipv4_events)
            .context("cannot subscribe to rtnetlink events")?;
        let mut icmp_types: BTreeSet<u8> = role::ND_TYPES.into_iter().collect();
        icmp_types.extend(&needs.icmp6_types);
        let icmp_types: Vec<u8> = icmp_types.into_iter().collect();
        let icmp = Icmp6Socket::new(&icmp_types, None).context("cannot open the ICMPv6 socket")?;
        let mobility = match needs.mobility {
            true => Some(MobilityIo {
                mh: MhSocket::new(None).context("cannot open the Mobility Header socket")?,
                capture: MobilityCapture::open(0)
                    .context("cannot open the capture of Mobile IPv6 extension headers")?,
                raw: RawIpv6Sender::new().context("cannot open the raw IPv6 sender")?,
            }),
            false => None,
        };
        let data_plane = match &needs.data_plane {
            Some(need) => Some(dataplane::DataPlane::start(&netlink, need).await?),
            None => None,
        };
        self.data_plane = data_plane.clone();
        let mn_data_plane = match &needs.mobile_node_data_plane {
            Some(need) => Some(dataplane::DataPlane::start_mobile_node(&netlink, need).await?),
            None => None,
        };
        self.mn_data_plane = mn_data_plane.clone();
        let address_events = needs.interfaces.values().any(|i| i.addresses);
        let server = match needs.port_547 {
            true => Some(
                Dhcp6Socket::bind(DHCP6_SERVER_PORT, None)
                    .context("cannot bind the DHCPv6 server/relay socket (UDP 547)")?,
            ),
            false => None,
        };
        if let Some(sock) = &server {
            match sock.set_recv_buffer(SERVER_RCVBUF) {
                Ok(got) => tracing::debug!(bytes = got, "server socket receive buffer"),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot enlarge the server socket's receive buffer")
                }
            }
            match sock.set_send_buffer(SERVER_SNDBUF) {
                Ok(got) => tracing::debug!(bytes = got, "server socket send buffer"),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot enlarge the server socket's send buffer")
                }
            }
            if let Some(hops) = needs.port_547_multicast_hops
                && let Err(e) = sock.set_multicast_hops(hops)
            {
                tracing::warn!(error = %e, "cannot raise the multicast hop limit of UDP 547");
            }
        }
        // RIPng (RFC 2080 §2.5): hop limit 255 on everything sent, the
        // machine checks it on what arrives.
        let ripng = match needs.port_521 {
            true => {
                let sock = Dhcp6Socket::bind(v6edge_ripng::RIPNG_PORT, None)
                    .context("cannot bind the RIPng socket (UDP 521)")?;
                if let Err(e) = sock.set_multicast_hops(255) {
                    tracing::warn!(error = %e, "cannot set the RIPng multicast hop limit to 255");
                }
                Some(sock)
            }
            false => None,
        };
        let (kernel, kernel_results) = spawn_netlink_worker()?;
        let mut kernel_results = kernel_results;
        let mut io = Io {
            netlink,
            icmp,
            dhcp6: None,
            joined: BTreeSet::new(),
            anycast_joined: BTreeSet::new(),
            server,
            server_joined: BTreeSet::new(),
            kernel,
            mobility,
            silenced: BTreeSet::new(),
            data_plane,
            mn_data_plane,
            ripng,
            ripng_joined: BTreeSet::new(),
        };
        prepare_interfaces(&needs);
        self.resync(&mut io).await;
        io.reconcile_routes(&self.driver).await;
        self.execute(&mut io).await;
        // systemd Type=notify: sockets bound, state restored (a no-op when
        // not started by systemd).
        notify_service_manager(sd_notify::NotifyState::Ready);

        // DSMIPv6 signalling the home agent's data plane takes from UDP
        // port 4191.
        let mut udp_signalling = io.data_plane.as_ref().and_then(|dp| dp.take_signalling());
        let mut mn_udp_signalling = io
            .mn_data_plane
            .as_ref()
            .and_then(|dp| dp.take_signalling());
        let mut udp_buf = vec![0u8; 65536];
        let mut srv_buf = vec![0u8; 65536];
        let mut icmp_buf = vec![0u8; 65536];
        let mut mh_buf = vec![0u8; 65536];
        let mut capture_buf = vec![0u8; 65536];
        let mut next_resync = Instant::now() + RESYNC_INTERVAL;
        let mut next_share = Instant::now();
        let mut ripng_buf = vec![0u8; 65536];
        // When the resync owed to lost netlink notifications is due.
        let mut overrun_resync: Option<Instant> = None;
        loop {
            let deadline = self
                .driver
                .next_deadline()
                .map_or(next_resync, |d| d.min(next_resync));
            let deadline = match self.driver.shares_delegated_routes() {
                true => deadline.min(next_share),
                false => deadline,
            };
            let deadline = overrun_resync.map_or(deadline, |t| t.min(deadline));
            tokio::select! {
                _ = sigterm.recv() => { tracing::info!("SIGTERM: stopping"); break; }
                _ = sigint.recv() => { tracing::info!("SIGINT: stopping"); break; }
                _ = sighup.recv() => {
                    tracing::info!("SIGHUP: reloading configuration");
                    let _ = self.reload();
                }
                Some(ControlRequest { request, reply }) = self.control.recv() => {
                    let response = self.handle_control(request);
                    // The client may have gone away; nothing to do then.
                    let _ = reply.send(response);
                }
                r = recv_dhcp6(io.dhcp6.as_ref(), &mut udp_buf) => self.datagram(Port::Dhcp6Client, r, &udp_buf),
                r = recv_server(io.server.as_ref(), &mut srv_buf) => {
                    self.datagram(Port::Dhcp6Server, r, &srv_buf);
                    // Group commit: take whatever else is already queued on
                    // the socket (bounded), so one store transaction covers
                    // them all.
                    for _ in 0..SERVER_BATCH {
                        let Some(sock) = io.server.as_ref() else { break };
                        match sock.recv(&mut srv_buf).now_or_never() {
                            Some(r) => self.datagram(Port::Dhcp6Server, r, &srv_buf),
                            None => break,
                        }
                    }
                }
                r = io.icmp.recv(&mut icmp_buf) => self.datagram(Port::Icmp6, r, &icmp_buf),
                r = recv_server(io.ripng.as_ref(), &mut ripng_buf) => match r {
                    Ok(meta) => self.driver.handle_ripng(
                        &meta.received(&ripng_buf),
                        meta.src.port(),
                        &self.metrics,
                    ),
                    Err(e) => self.driver.dropped("ripng", "receive-error", &self.metrics, &e),
                },
                r = recv_mh(io.mobility.as_ref(), &mut mh_buf) => self.datagram(Port::Mobility, r, &mh_buf),
                Some((from, packet)) = recv_udp_signalling(&mut udp_signalling) => {
                    self.driver.handle_udp_signalling(from, &packet, &self.metrics);
                }
                Some((from, packet)) = recv_udp_signalling(&mut mn_udp_signalling) => {
                    self.driver.handle_udp_signalling(from, &packet, &self.metrics);
                }
                r = recv_capture(io.mobility.as_ref(), &mut capture_buf) => match r {
                    Ok(got) => self.captured(got, &capture_buf),
                    Err(e) => self.driver.dropped("mobility", "receive-error", &self.metrics, &e),
                },
                Some(report) = kernel_results.recv() => match report {
                    KernelReport::Op { name, ok } => self.metrics.kernel_op(name, ok),
                    KernelReport::Barrier { role, ticket, ok } => {
                        self.driver.handle_applied(role, ticket, ok, &self.metrics)
                    }
                },
                ev = events.next() => match ev {
                    // A host seen on a LAN: told of urgent changes at once;
                    // a confirmed one is trusted more by the rate limits.
                    Some(NetEvent::Neighbour { ifindex, addr, confirmed }) => {
                        self.driver.note_neighbour(ifindex, addr, confirmed);
                    }
                    // Notifications were lost: re-read everything from dumps,
                    // once the burst that overran the socket has passed
                    // (a flood of neighbour churn overruns it again and
                    // again; one resync per OVERRUN_RESYNC_DELAY serves).
                    Some(NetEvent::Overrun) => {
                        if let Some(held_back) = self.driver.netlink_overrun(&self.metrics) {
                            tracing::warn!(
                                overruns = held_back + 1,
                                "rtnetlink notifications lost (socket buffer full); resynchronising from dumps"
                            );
                        }
                        overrun_resync.get_or_insert(Instant::now() + OVERRUN_RESYNC_DELAY);
                    }
                    Some(ev) if relevant(&ev, address_events, self.driver.needs().static_routes) => {
                        self.resync(&mut io).await
                    }
                    Some(_) => {}
                    None => {
                        tracing::error!("rtnetlink event stream ended; resubscribing");
                        events = Netlink::monitor_ipv4(netlink_buffer, ipv4_events)
                            .context("cannot resubscribe to rtnetlink events")?;
                        self.resync(&mut io).await;
                    }
                },
                () = tokio::time::sleep_until(deadline) => {
                    // Per style guide §3: trust the clock, not the timer
                    // future; the machines ignore early calls.
                    if overrun_resync.is_some_and(|t| Instant::now() >= t) {
                        overrun_resync = None;
                        next_resync = Instant::now() + RESYNC_INTERVAL;
                        self.resync(&mut io).await;
                        self.driver.netlink_resynced();
                    }
                    if Instant::now() >= next_resync {
                        next_resync = Instant::now() + RESYNC_INTERVAL;
                        self.resync(&mut io).await;
                    }
                    if Instant::now() >= next_share {
                        next_share = Instant::now() + SHARE_INTERVAL;
                        self.driver.share_delegated_routes(&self.metrics);
                    }
                    self.driver.handle_timeout(&self.metrics);
                }
            }
            self.execute(&mut io).await;
        }
        notify_service_manager(sd_notify::NotifyState::Stopping);
        self.driver.shutdown(&self.metrics);
        self.execute(&mut io).await;
        io.unsilence();
        self.hooks.finish(std::time::Duration::from_secs(5)).await;
        // Let the worker finish what is queued (bounded: shutdown must end).
        let Io { kernel, .. } = io;
        drop(kernel);
        let drain = async { while kernel_results.recv().await.is_some() {} };
        if tokio::time::timeout(std::time::Duration::from_secs(5), drain)
            .await
            .is_err()
        {
            tracing::warn!("kernel ops still queued at shutdown were abandoned");
        }
        Ok(())
    }

    /// Reads what the roles need from the kernel ([`Needs`]), hands it to
    /// the driver, and brings the sockets' bindings and memberships in line
    /// with what the roles need after it.
    async fn resync(&mut self, io: &mut Io) {
        let needs = self.driver.needs();
        let nl = &io.netlink;
        let mut facts = Facts::default();
        for (name, interest) in &needs.interfaces {
            facts
                .links
                .insert(name.clone(), link_facts(nl, name, *interest).await);
        }
        if needs.static_routes {
            match nl.routes(None).await {
                Ok(routes) => {
                    facts.static_routes = routes
                        .iter()
                        .filter(|r| r.table == v6edge_core::RouteTable::MAIN.0)
                        .filter(|r| role::ADMIN_ROUTE_PROTOCOLS.contains(&r.protocol))
                        .map(|r| r.dst)
                        .collect()
                }
                Err(e) => tracing::debug!(error = %e, "cannot read the static routes"),
            }
        }
        if needs.default_routes {
            match nl.default_routes().await {
                Ok(routes) => {
                    facts.default_routes = routes
                        .iter()
                        .filter(|r| r.kind == RouteKind::Unicast)
                        .filter_map(|r| r.oif)
                        .collect()
                }
                Err(e) => tracing::debug!(error = %e, "cannot read the default routes"),
            }
        }
        let missing: BTreeSet<String> = self
            .config
            .interfaces()
            .into_iter()
            .filter(|(_, name)| facts.link(name).info.is_none())
            .map(|(_, name)| name.to_owned())
            .collect();
        for name in missing.difference(&self.missing_interfaces) {
            tracing::warn!(interface = %name, "a configured interface does not exist (yet): waiting for it");
        }
        for name in self.missing_interfaces.difference(&missing) {
            tracing::info!(interface = %name, "configured interface present");
        }
        self.missing_interfaces = missing;
        self.driver.sync(&facts, &self.metrics);
        io.follow(&self.driver.needs());
    }

    /// What an operator must hear of in `status`, plainly.
    fn warnings(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .missing_interfaces
            .iter()
            .map(|name| {
                format!("interface {name} is configured but does not exist: waiting for it")
            })
            .collect();
        if self.driver.needs().forwarding && !ipv6_forwarding_on() {
            out.push(FORWARDING_OFF.to_owned());
        }
        out
    }

    /// A packet captured with a Mobile IPv6 extension header: the roles
    /// get it whole, addresses from its header.
    fn captured(&mut self, got: v6edge_sys::Captured, buf: &[u8]) {
        let packet = buf.get(..got.len).unwrap_or(buf);
        let Ok(header) = v6edge_wire::ip6::Ipv6Header::parse(packet) else {
            return;
        };
        let rx = v6edge_core::Received {
            ifindex: got.ifindex,
            src: header.src,
            dst: header.dst,
            hop_limit: header.hop_limit,
            bytes: packet,
        };
        self.driver
            .handle_datagram(Port::MobilityCapture, &rx, &self.metrics);
    }

    /// A datagram (or a receive error) on one of the loop's sockets.
    fn datagram(&mut self, port: Port, r: std::io::Result<RecvMeta>, buf: &[u8]) {
        match r {
            Ok(meta) => self
                .driver
                .handle_datagram(port, &meta.received(buf), &self.metrics),
            Err(e) => self
                .driver
                .dropped(port.protocol(), "receive-error", &self.metrics, &e),
        }
    }

    /// Carries out what the driver queued, in order. Lease changes are made
    /// durable first (the server contract's ordering rule).
    async fn execute(&mut self, io: &mut Io) {
        self.driver.commit(&self.metrics);
        // Sends never wait (the kernel takes a datagram now or it is
        // dropped and counted): a send buffer full of datagrams held for
        // neighbours that never answer must not stop the loop (issue 14).
        while let Some(effect) = self.driver.next_effect() {
            let (protocol, sent) = match effect {
                Effect::Dhcp6(t) => match &io.dhcp6 {
                    Some((_, sock)) => ("dhcp6", sock.send(&t).map_err(|e| (e, t.dst))),
                    None => {
                        tracing::debug!("no uplink socket: DHCPv6 message not sent");
                        continue;
                    }
                },
                Effect::Ripng(t) => match &io.ripng {
                    Some(sock) => ("ripng", sock.send(&t).map_err(|e| (e, t.dst))),
                    None => continue,
                },
                Effect::Dhcp6Server(t) => match &io.server {
                    Some(sock) => ("dhcp6-server", sock.send(&t).map_err(|e| (e, t.dst))),
                    None => {
                        tracing::debug!("no server socket: reply not sent");
                        continue;
                    }
                },
                Effect::Hook { program, env } => {
                    self.hooks.run(hooks::HookRun { program, env });
                    continue;
                }
                Effect::Icmp6(t) => ("nd", io.icmp.send(&t).map_err(|e| (e, t.dst))),
                Effect::Mh(t) => match &io.mobility {
                    Some(m) => ("mobility", m.mh.send(&t).map_err(|e| (e, t.dst))),
                    None => continue,
                },
                Effect::RawIpv6 { packet, ifindex } => match &io.mobility {
                    Some(m) => {
                        let dst = v6edge_wire::ip6::Ipv6Header::parse(&packet)
                            .map(|h| h.dst)
                            .unwrap_or(std::net::Ipv6Addr::UNSPECIFIED);
                        (
                            "mobility",
                            m.raw.send(&packet, ifindex).map_err(|e| (e, dst)),
                        )
                    }
                    None => continue,
                },
                Effect::DataPlane(op) => {
                    if let Some(dp) = &io.data_plane {
                        dp.apply(&op);
                    }
                    continue;
                }
                Effect::MnDataPlane(op) => {
                    if let Some(dp) = &io.mn_data_plane {
                        dp.apply_mobile_node(&op);
                    }
                    continue;
                }
                Effect::DataPlaneUdp { dst, packet } => {
                    if let Some(dp) = &io.data_plane {
                        dp.send_udp(dst, &packet);
                    }
                    continue;
                }
                Effect::MnDataPlaneUdp { dst, packet } => {
                    if let Some(dp) = &io.mn_data_plane {
                        dp.send_udp(dst, &packet);
                    }
                    continue;
                }
                // In order behind the kernel ops before it.
                Effect::Barrier { role, ticket } => {
                    if io.kernel.send(KernelJob::Barrier { role, ticket }).is_err() {
                        tracing::error!("the netlink worker is gone: barrier lost");
                    }
                    continue;
                }
                // In order, on the netlink worker: serving never waits for
                // the kernel (a restart may restore a million routes).
                Effect::Kernel(op) => {
                    if io.kernel.send(KernelJob::Op(op)).is_err() {
                        tracing::error!("the netlink worker is gone: kernel op lost");
                    }
                    continue;
                }
            };
            if let Err((e, dst)) = sent {
                let detail = format!("to {dst}: {e}");
                self.driver.dropped(
                    protocol,
                    guard::send_error_reason(&e),
                    &self.metrics,
                    &detail,
                );
            }
        }
    }

    fn handle_control(&mut self, request: Request) -> Response {
        tracing::debug!(command = request.name(), "control request");
        match request {
            Request::Status => match serde_json::to_value(crate::status::Status {
                warnings: self.warnings(),
                ..self.driver.status()
            }) {
                Ok(data) => Response::ok(data),
                Err(e) => Response::error(format!("cannot encode status: {e}")),
            },
            Request::Metrics => {
                self.driver.export_counters(&self.metrics);
                self.metrics.sync_hooks(&self.hooks.counts().snapshot());
                for dp in self.data_plane.iter().chain(&self.mn_data_plane) {
                    for (cause, n) in dp.drops() {
                        self.metrics.sync_dropped("tunnel", cause, n);
                    }
                    let too_big = dp.too_big_sent();
                    self.metrics
                        .sync_tunnel_too_big("generated", too_big.generated);
                    self.metrics.sync_tunnel_too_big("relayed", too_big.relayed);
                }
                Response::ok(json!({ "text": self.metrics.encode() }))
            }
            Request::Tree => Response::ok(self.driver.tree()),
            Request::Leases { filter } => match self.driver.leases() {
                Ok(leases) => match crate::status::select_leases(leases, &filter) {
                    Ok((page, total)) => Response::ok(json!({
                        "leases": page,
                        "total": total,
                        "offset": filter.offset,
                    })),
                    Err(e) => Response::error(e),
                },
                Err(e) => Response::error(e),
            },
            Request::Reload => match self.reload() {
                Ok(()) => Response::ok(json!({ "config": self.config.path.display().to_string() })),
                Err(e) => Response::error(e),
            },
            Request::Release | Request::Renew => {
                match self.driver.handle_control(request, &self.metrics) {
                    Ok(data) => Response::ok(data),
                    Err(e) => Response::error(e),
                }
            }
        }
    }

    /// Re-reads the configuration file; on any error the running
    /// configuration stays and the error is returned (and logged).
    fn reload(&mut self) -> Result<(), String> {
        let new = match Config::load(&self.options.config) {
            Ok(new) => new,
            Err(e) => {
                tracing::error!("reload failed, keeping the running configuration: {e}");
                self.metrics.reload(false);
                return Err(e.to_string());
            }
        };
        // Paths are bound at start; say so instead of silently ignoring them.
        if self.options.state_dir.is_none() && new.daemon.state_dir != self.config.daemon.state_dir
        {
            tracing::warn!("state-dir changed: takes effect at the next restart");
        }
        if self.options.control.is_none()
            && new.daemon.control_socket != self.config.daemon.control_socket
        {
            tracing::warn!("control-socket changed: takes effect at the next restart");
        }
        if new.daemon.control_group != self.config.daemon.control_group
            || new.daemon.metrics_listen != self.config.daemon.metrics_listen
        {
            tracing::warn!(
                "control-group or metrics-listen changed: takes effect at the next restart"
            );
        }
        if let Err(e) = self.driver.reconfigure(&new, &self.metrics) {
            tracing::error!(error = %e, "reload failed, keeping the running configuration");
            self.metrics.reload(false);
            return Err(format!("{e:#}"));
        }
        if let Some(log) = &self.log {
            log.apply_config(&new.daemon.log_level);
        }
        self.config = new;
        self.metrics.reload(true);
        tracing::info!(config = %self.config.path.display(), "configuration reloaded");
        Ok(())
    }
}

/// The daemon's sockets and netlink handle.
struct Io {
    netlink: Netlink,
    icmp: Icmp6Socket,
    /// The DHCPv6 client socket, bound to the uplink (ifindex it was made for).
    dhcp6: Option<(IfIndex, Dhcp6Socket)>,
    /// The DHCPv6 server socket (UDP 547, all interfaces), and the server
    /// interfaces it joined All_DHCP_Relay_Agents_and_Servers on.
    server: Option<Dhcp6Socket>,
    server_joined: BTreeSet<IfIndex>,
    /// Kernel ops (and barriers) for the netlink worker, in order.
    kernel: mpsc::UnboundedSender<KernelJob>,
    /// LAN ifindices the ICMPv6 socket joined ff02::2 (All-Routers) on.
    joined: BTreeSet<IfIndex>,
    /// Anycast addresses the ICMPv6 socket joined (home agents, DHAAD).
    anycast_joined: BTreeSet<(IfIndex, std::net::Ipv6Addr)>,
    /// Mobile IPv6 sockets, when a role needs them.
    mobility: Option<MobilityIo>,
    /// What our nftables table silences now (empty: no table). A daemon
    /// without Mobile IPv6 roles never touches nftables (no module loads
    /// for a DHCPv6 client); a table a crashed run left is replaced whole
    /// by the next install.
    silenced: BTreeSet<v6edge_sys::netfilter::Silence>,
    data_plane: Option<dataplane::DataPlane>,
    mn_data_plane: Option<dataplane::DataPlane>,
    /// UDP 521 (RIPng), and the interfaces it joined ff02::9 on.
    ripng: Option<Dhcp6Socket>,
    ripng_joined: BTreeSet<IfIndex>,
}

/// The sockets of Mobile IPv6 on a kernel without MIP6.
struct MobilityIo {
    mh: MhSocket,
    capture: MobilityCapture,
    raw: RawIpv6Sender,
}

/// What the netlink worker is given, in order.
enum KernelJob {
    Op(v6edge_core::KernelOp),
    /// Report once every op before it is applied (HA-20).
    Barrier {
        role: &'static str,
        ticket: u64,
    },
}

/// What the netlink worker reports.
enum KernelReport {
    Op {
        name: &'static str,
        ok: bool,
    },
    Barrier {
        role: &'static str,
        ticket: u64,
        ok: bool,
    },
}

impl Io {
    /// Keeps the sockets in step with what the roles need: the DHCPv6
    /// client socket follows the uplink, UDP 547 joins ff02::1:2 and the
    /// ICMPv6 socket ff02::2 where the roles listen.
    fn follow(&mut self, needs: &Needs) {
        match (&self.dhcp6, &needs.dhcp6_client) {
            (Some((i, _)), Some((j, _))) if i == j => {}
            (_, Some((index, name))) => match Dhcp6Socket::bind(DHCP6_CLIENT_PORT, Some(name)) {
                Ok(sock) => {
                    tracing::info!(interface = %name, "DHCPv6 client socket bound");
                    self.dhcp6 = Some((*index, sock));
                }
                Err(e) => {
                    tracing::warn!(interface = %name, error = %e, "cannot bind the DHCPv6 client socket");
                    self.dhcp6 = None;
                }
            },
            (_, None) => self.dhcp6 = None,
        }
        if let Some(sock) = &self.server {
            join_where_needed(
                &mut self.server_joined,
                &needs.port_547_groups,
                "ff02::1:2",
                |index| {
                    sock.join_multicast(
                        v6edge_sys::socket::ALL_DHCP_RELAY_AGENTS_AND_SERVERS,
                        index,
                    )
                },
            );
        }
        if let Some(sock) = &self.ripng {
            join_where_needed(
                &mut self.ripng_joined,
                &needs.port_521_groups,
                "ff02::9",
                |index| sock.join_multicast(ALL_RIP_ROUTERS, index),
            );
        }
        let icmp = &self.icmp;
        join_where_needed(&mut self.joined, &needs.all_routers, "ff02::2", |index| {
            icmp.join_multicast(v6edge_sys::socket::ALL_ROUTERS, index)
        });
        for &(index, addr) in needs.anycast.difference(&self.anycast_joined.clone()) {
            match icmp.join_anycast(addr, index) {
                Ok(()) => {
                    self.anycast_joined.insert((index, addr));
                }
                Err(e) => tracing::warn!(ifindex = index, %addr, error = %e, "cannot join anycast"),
            }
        }
        self.anycast_joined.retain(|a| needs.anycast.contains(a));
        if self.silenced != needs.kernel_silences {
            let wanted: Vec<_> = needs.kernel_silences.iter().copied().collect();
            match v6edge_sys::netfilter::install(&wanted) {
                Ok(()) if wanted.is_empty() => {}
                Ok(()) => {
                    tracing::info!(rules = ?wanted, "nftables: the kernel no longer answers captured Mobile IPv6 packets")
                }
                // No nf_tables and nothing wanted: nothing to remove.
                Err(e) if wanted.is_empty() => {
                    tracing::debug!(error = %e, "nftables: no table to remove")
                }
                // Served anyway: the peers get a Parameter Problem beside
                // each answer, which they must tolerate.
                Err(e) => {
                    tracing::warn!(error = %e, "nftables unavailable: the kernel will answer captured Mobile IPv6 packets with Parameter Problems")
                }
            }
            self.silenced = needs.kernel_silences.clone();
        }
    }

    /// Removes our nftables table at exit.
    fn unsilence(&mut self) {
        if !std::mem::take(&mut self.silenced).is_empty()
            && let Err(e) = v6edge_sys::netfilter::remove()
        {
            tracing::warn!(error = %e, "cannot remove the nftables table");
        }
    }

    /// At start, per owner (`v6edge_core::owner`): each configured role
    /// removes the routes with its own protocol number that its state does
    /// not want (left over from an earlier run, RFC 8987-style
    /// reconciliation); legacy protocol-118 routes are judged by the roles
    /// that adopt their kind. Routes of roles not configured here, and of
    /// any other protocol, are never touched.
    async fn reconcile_routes(&self, driver: &Driver) {
        use v6edge_core::{Reconcile, RouteKey, RouteTable};
        let keys = |set: std::collections::BTreeSet<v6edge_prefix::Prefix>, kind| {
            set.into_iter().map(move |p| RouteKey {
                table: RouteTable::MAIN,
                dst: p.addr().into(),
                dst_len: p.len(),
                kind,
            })
        };
        let mut plan = Reconcile::new();
        for owned in driver.owned_routes() {
            plan.role(owned.owner, keys(owned.prefixes, owned.kind));
        }
        match self.netlink.reconcile_routes(&plan).await {
            Ok(removed) => {
                for r in removed {
                    tracing::info!(prefix = %r.dst, kind = ?r.kind, protocol = r.protocol, "removed a stale route of ours");
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot read routes to reconcile"),
        }
        // Proxy neighbour entries the same way: a role's own, not wanted.
        for (owner, wanted) in driver.owned_proxies() {
            let present = match self.netlink.proxy_neighbours(Some(owner)).await {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read proxy neighbours to reconcile");
                    continue;
                }
            };
            for p in present
                .into_iter()
                .filter(|p| !wanted.contains(&(p.ifindex, p.addr)))
            {
                let spec = v6edge_core::ProxyNeighbourSpec {
                    owner,
                    ifindex: p.ifindex,
                    addr: p.addr,
                };
                match self
                    .netlink
                    .apply(&v6edge_core::KernelOp::DelProxyNeighbour(spec))
                    .await
                {
                    Ok(()) => {
                        tracing::info!(addr = %p.addr, ifindex = p.ifindex, "removed a stale proxy entry of ours")
                    }
                    Err(e) => {
                        tracing::warn!(addr = %p.addr, error = %e, "cannot remove a stale proxy entry")
                    }
                }
            }
        }
    }
}

/// The netlink worker: applies kernel ops in the order given, reports each
/// result (op name, success) for the metrics and each barrier (whether all
/// ops since the previous barrier succeeded), and ends when its input
/// closes.
#[allow(clippy::type_complexity)]
fn spawn_netlink_worker() -> anyhow::Result<(
    mpsc::UnboundedSender<KernelJob>,
    mpsc::UnboundedReceiver<KernelReport>,
)> {
    let netlink = Netlink::connect().context("cannot open rtnetlink for the kernel worker")?;
    let (tx, mut rx) = mpsc::unbounded_channel::<KernelJob>();
    let (result_tx, result_rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        // Failures are logged at most once per interval, with the count:
        // the ops follow leases, which clients make.
        let origin = Instant::now();
        let mut failures = v6edge_core::limit::LogThrottle::new(guard::DROP_LOG_INTERVAL);
        let mut all_ok = true;
        while let Some(job) = rx.recv().await {
            let report = match job {
                KernelJob::Op(op) => {
                    let name = kernel_op_name(&op);
                    let ok = match netlink.apply(&op).await {
                        Ok(()) => {
                            tracing::debug!(?op, "kernel op applied");
                            true
                        }
                        Err(e) => {
                            if let Some(held_back) = failures.allow(persist::machine_now(origin)) {
                                tracing::warn!(?op, error = %e, also_failed_since_last_line = held_back, "kernel op failed");
                            }
                            false
                        }
                    };
                    all_ok &= ok;
                    KernelReport::Op { name, ok }
                }
                KernelJob::Barrier { role, ticket } => {
                    let ok = std::mem::replace(&mut all_ok, true);
                    KernelReport::Barrier { role, ticket, ok }
                }
            };
            // The loop may be shutting down; results are only for metrics
            // and barriers of a daemon that is stopping.
            let _ = result_tx.send(report);
        }
    });
    Ok((tx, result_rx))
}

/// How long after lost rtnetlink notifications the loop re-reads the
/// kernel's state: long enough for the burst that overran the socket to
/// pass, short enough that nothing waits on a stale view for long.
const OVERRUN_RESYNC_DELAY: std::time::Duration = std::time::Duration::from_millis(250);

/// At most this many more datagrams are read after one wakes the loop,
/// before their lease changes are committed together.
const SERVER_BATCH: usize = 256;

/// Receive buffer of the server/relay socket (UDP 547): what arrives while
/// a batch is being committed waits here (`Dhcp6Socket::set_recv_buffer`).
/// 8 MiB of skb memory holds some 20 000 small DHCPv6 datagrams.
const SERVER_RCVBUF: usize = 8 << 20;

/// Send buffer of the server/relay socket. Answers to clients whose
/// link-layer address the kernel is still resolving wait there for up to
/// 3 s (RFC 4861 §7.3.3); 4 MiB holds thousands of them, more than the
/// kernel's neighbour table admits (net.ipv6.neigh.default.gc_thresh3,
/// 1024), so answers to resolved clients still find room.
const SERVER_SNDBUF: usize = 4 << 20;

async fn recv_mh(m: Option<&MobilityIo>, buf: &mut [u8]) -> std::io::Result<RecvMeta> {
    match m {
        Some(m) => m.mh.recv(buf).await,
        None => std::future::pending().await,
    }
}

async fn recv_udp_signalling(
    rx: &mut Option<dataplane::SignallingReceiver>,
) -> Option<(std::net::SocketAddrV4, Vec<u8>)> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

async fn recv_capture(
    m: Option<&MobilityIo>,
    buf: &mut [u8],
) -> std::io::Result<v6edge_sys::Captured> {
    match m {
        Some(m) => m.capture.recv(buf).await,
        None => std::future::pending().await,
    }
}

async fn recv_server(sock: Option<&Dhcp6Socket>, buf: &mut [u8]) -> std::io::Result<RecvMeta> {
    match sock {
        Some(s) => s.recv(buf).await,
        None => std::future::pending().await,
    }
}

async fn recv_dhcp6(
    sock: Option<&(IfIndex, Dhcp6Socket)>,
    buf: &mut [u8],
) -> std::io::Result<RecvMeta> {
    match sock {
        Some((_, s)) => s.recv(buf).await,
        None => std::future::pending().await,
    }
}

/// Events that can change what the driver is told: links, addresses of
/// interest (link-local readiness; every address when a role asked for
/// them with `Interest::addresses`), default routes, and static routes
/// when a role reads them.
fn relevant(ev: &NetEvent, all_addresses: bool, static_routes: bool) -> bool {
    match ev {
        NetEvent::RouteAdded(r) | NetEvent::RouteRemoved(r) => {
            r.dst.len() == 0 || (static_routes && role::ADMIN_ROUTE_PROTOCOLS.contains(&r.protocol))
        }
        NetEvent::AddressAdded(a) | NetEvent::AddressRemoved(a) => {
            all_addresses || a.is_link_local()
        }
        _ => true,
    }
}

fn kernel_op_name(op: &v6edge_core::KernelOp) -> &'static str {
    op.name()
}

/// Reads one interface, its usable link-local address and what `interest`
/// asks for; a read that fails counts as absent until the next
/// resynchronisation.
async fn link_facts(nl: &Netlink, name: &str, interest: Interest) -> driver::LinkFacts {
    let mut facts = driver::LinkFacts {
        info: nl.link_by_name(name).await.ok().flatten(),
        ..Default::default()
    };
    let Some(index) = facts.info.as_ref().filter(|i| i.up).map(|i| i.index) else {
        return facts;
    };
    match nl.addresses(Some(index)).await {
        Ok(addrs) => {
            facts.link_local = addrs
                .iter()
                .find(|a| a.is_link_local() && a.usable())
                .map(|a| a.addr);
            if interest.addresses {
                facts.addresses = addrs.iter().map(address_fact).collect();
            }
            if interest.global_address {
                facts.global = addrs
                    .iter()
                    .find(|a| a.usable() && !a.is_link_local() && !a.addr.is_loopback())
                    .map(|a| a.addr);
            }
        }
        Err(e) => tracing::debug!(interface = name, error = %e, "cannot read addresses"),
    }
    if interest.addresses {
        match nl.routes(None).await {
            Ok(routes) => {
                let mobile_node = v6edge_core::Owner::MobileNode.protocol();
                facts.default_router = routes
                    .iter()
                    .filter(|r| r.dst.len() == 0 && r.kind == RouteKind::Unicast)
                    .filter(|r| r.oif == Some(index) && r.protocol != mobile_node)
                    .min_by_key(|r| r.metric)
                    .and_then(|r| r.gateway);
            }
            Err(e) => tracing::debug!(interface = name, error = %e, "cannot read routes"),
        }
    }
    if interest.addresses && interest.ipv4 {
        match nl.addresses4(Some(index)).await {
            Ok(addrs) => {
                facts.addresses4 = addrs
                    .iter()
                    .filter(|a| a.ifindex == index)
                    .map(|a| (a.addr, a.prefix_len))
                    .collect()
            }
            Err(e) => tracing::debug!(interface = name, error = %e, "cannot read IPv4 addresses"),
        }
        match nl.routes4(None).await {
            Ok(routes) => {
                let mobile_node = v6edge_core::Owner::MobileNode.protocol();
                facts.default_router4 = routes
                    .iter()
                    .filter(|r| r.dst.len() == 0 && r.table == 254)
                    .filter(|r| r.oif == Some(index) && r.protocol != mobile_node)
                    .min_by_key(|r| r.metric)
                    .and_then(|r| r.gateway);
            }
            Err(e) => tracing::debug!(interface = name, error = %e, "cannot read IPv4 routes"),
        }
    }
    if interest.neighbours && facts.link_local.is_some() {
        match nl.neighbours(index).await {
            Ok(addrs) => facts.neighbours = addrs,
            Err(e) => {
                tracing::debug!(ifindex = index, error = %e, "cannot read the neighbour cache")
            }
        }
    }
    facts
}

/// IFA_F_TEMPORARY (`linux/if_addr.h`, the same bit as IFA_F_SECONDARY).
const IFA_F_TEMPORARY: u32 = 0x01;

fn address_fact(a: &v6edge_sys::AddressInfo) -> link::AddressFact {
    link::AddressFact {
        addr: a.addr,
        prefix_len: a.prefix_len,
        tentative: !a.usable(),
        temporary: a.flags.contains(IFA_F_TEMPORARY),
        deprecated: a.flags.deprecated(),
        valid: lifetime(a.valid),
        preferred: lifetime(a.preferred),
    }
}

fn lifetime(l: v6edge_wire::Lifetime) -> Option<std::time::Duration> {
    match l {
        v6edge_wire::Lifetime::Finite(s) => Some(std::time::Duration::from_secs(s.into())),
        v6edge_wire::Lifetime::Infinite => None,
    }
}

/// Joins `group` on every interface in `wanted` not yet joined, and
/// forgets interfaces no longer wanted (the kernel drops their
/// memberships with them).
fn join_where_needed(
    joined: &mut BTreeSet<IfIndex>,
    wanted: &BTreeSet<IfIndex>,
    group: &str,
    join: impl Fn(IfIndex) -> Result<(), v6edge_sys::SysError>,
) {
    for &index in wanted.difference(&joined.clone()) {
        match join(index) {
            Ok(()) => {
                joined.insert(index);
            }
            Err(e) => tracing::warn!(ifindex = index, error = %e, "cannot join {group}"),
        }
    }
    joined.retain(|i| wanted.contains(i));
}

/// Interface settings the roles need from the start: RAs accepted while
/// forwarding (RFC 7084 W-3: the uplink learns its default route from the
/// ISP's RAs; a forwarding interface ignores RAs unless accept_ra is 2),
/// and a warning when a forwarding role runs with forwarding off.
fn prepare_interfaces(needs: &Needs) {
    for name in &needs.accept_ra {
        if let Err(e) = v6edge_sys::set_ipv6_conf(name, Ipv6Conf::AcceptRa, "2") {
            tracing::warn!(interface = %name, error = %e, "cannot set accept_ra=2");
        }
    }
    for name in &needs.proxy_ndp {
        if let Err(e) = v6edge_sys::set_ipv6_conf(name, Ipv6Conf::ProxyNdp, "1") {
            tracing::warn!(interface = %name, error = %e, "cannot set proxy_ndp=1");
        }
    }
    if needs.forwarding && !ipv6_forwarding_on() {
        tracing::warn!("{FORWARDING_OFF}");
    }
}

/// Said by the daemon's log and status and by `v6edge check`.
pub const FORWARDING_OFF: &str = "IPv6 forwarding is off (net.ipv6.conf.all.forwarding = 0): hosts behind this router cannot reach beyond it; set it to 1 (sysctl -w net.ipv6.conf.all.forwarding=1)";

/// `net.ipv6.conf.all.forwarding` is 1.
pub fn ipv6_forwarding_on() -> bool {
    std::fs::read_to_string("/proc/sys/net/ipv6/conf/all/forwarding").is_ok_and(|v| v.trim() == "1")
}

/// Tells systemd (when it started us with NOTIFY_SOCKET) where we are.
fn notify_service_manager(state: sd_notify::NotifyState<'_>) {
    if let Err(e) = sd_notify::notify(false, &[state]) {
        tracing::warn!(error = %e, "cannot notify the service manager");
    }
}
