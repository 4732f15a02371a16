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

pub mod driver;
pub mod link;

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
pub use driver::Driver;

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
    let log = crate::logging::init(options.log_level.as_deref(), &config.daemon.log_level)?;
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
        let server = ControlServer::bind(&control_path)?;
        let (tx, rx) = mpsc::channel(16);
        let daemon = Daemon::new(config, options, state, Some(log), rx)?;
        tracing::info!(
            version = env!("CARGO_PKG_VERSION"),
            control = %control_path.display(),
            state_dir = %state_path.display(),
            "v6edge started"
        );
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
        })
    }

    /// Serves until SIGTERM or SIGINT.
    pub async fn run(mut self) -> anyhow::Result<()> {
        let mut sigterm = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
        let mut sigint = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
        let mut sighup = signal(SignalKind::hangup()).context("cannot handle SIGHUP")?;
        loop {
            let deadline = self.driver.next_deadline();
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
                () = tokio::time::sleep_until(deadline) => {
                    // Per style guide §3: trust the clock, not the timer
                    // future; handle_timeout ignores early calls.
                    self.driver.handle_timeout(Instant::now(), &self.metrics);
                }
            }
        }
        Ok(())
    }

    fn handle_control(&mut self, request: Request) -> Response {
        tracing::debug!(command = request.name(), "control request");
        let now = Instant::now();
        match request {
            Request::Status => match serde_json::to_value(self.driver.status(&self.metrics, now)) {
                Ok(data) => Response::ok(data),
                Err(e) => Response::error(format!("cannot encode status: {e}")),
            },
            Request::Metrics => Response::ok(json!({ "text": self.metrics.encode() })),
            Request::Reload => match self.reload() {
                Ok(()) => Response::ok(json!({ "config": self.config.path.display().to_string() })),
                Err(e) => Response::error(e),
            },
            Request::Release | Request::Renew => {
                match self.driver.handle_control(request, &self.metrics, now) {
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
        if let Err(e) = self.driver.reconfigure(&new, &self.metrics, Instant::now()) {
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
