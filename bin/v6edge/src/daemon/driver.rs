//! [`Driver`]: the one place where the daemon's protocol state lives.
//!
//! It holds one unit per configured role and routes inputs to them; the
//! daemon loop ([`super::Daemon::run`]) talks only to the driver:
//!
//! | role | unit | configured by |
//! |---|---|---|
//! | requesting router (DHCPv6 client, LAN /64s, Router Advertisements) | [`Cpe`] | `[uplink]`, `[[lan]]` |
//!
//! Every unit queues [`Effect`]s (datagrams to send, kernel changes); the
//! loop drains them with [`Driver::next_effect`] after each input.
//!
//! Panic contract: nothing here panics.

use std::collections::BTreeSet;

use tokio::time::Instant as TokioInstant;
use v6edge_core::{IfIndex, Received};

pub use super::cpe::{Cpe, Effect, Facts, ND_TYPES};
use crate::config::Config;
use crate::control::Request;
use crate::metrics::Metrics;
use crate::state::StateDir;
use crate::status::Status;

#[derive(Debug)]
pub struct Driver {
    cpe: Option<Cpe>,
}

impl Driver {
    /// Builds the units `config` asks for. Fails only if the state
    /// directory cannot be read or written.
    pub fn new(config: &Config, state: StateDir, _metrics: &Metrics, origin: TokioInstant) -> anyhow::Result<Driver> {
        if config.server.is_some() {
            anyhow::bail!("{}: [server] is validated but the delegating server is not part of this build yet", config.path.display());
        }
        let cpe = match &config.uplink {
            Some(uplink) => Some(Cpe::new(uplink, &config.lans, state, origin)?),
            None => None,
        };
        Ok(Driver { cpe })
    }

    /// The requesting-router unit, if configured.
    pub fn cpe(&self) -> Option<&Cpe> {
        self.cpe.as_ref()
    }

    pub fn next_deadline(&self) -> Option<TokioInstant> {
        self.cpe.as_ref().and_then(Cpe::next_deadline)
    }

    pub fn next_effect(&mut self) -> Option<Effect> {
        self.cpe.as_mut().and_then(Cpe::next_effect)
    }

    /// LAN interfaces that are up (the ICMPv6 socket joins All-Routers there).
    pub fn lan_ifindices(&self) -> BTreeSet<IfIndex> {
        self.cpe.as_ref().map(Cpe::lan_ifindices).unwrap_or_default()
    }

    pub fn sync(&mut self, facts: Facts, metrics: &Metrics) {
        if let Some(cpe) = &mut self.cpe {
            cpe.sync(facts, metrics);
        }
    }

    pub fn handle_dhcp6_client(&mut self, rx: &Received<'_>, metrics: &Metrics) {
        if let Some(cpe) = &mut self.cpe {
            cpe.handle_dhcp6(rx, metrics);
        }
    }

    pub fn handle_icmp6(&mut self, rx: &Received<'_>, metrics: &Metrics) {
        if let Some(cpe) = &mut self.cpe {
            cpe.handle_icmp6(rx, metrics);
        }
    }

    pub fn handle_timeout(&mut self, metrics: &Metrics) {
        if let Some(cpe) = &mut self.cpe {
            cpe.handle_timeout(metrics);
        }
    }

    /// `release` and `renew` act on the requesting router.
    pub fn handle_control(&mut self, request: Request, metrics: &Metrics) -> Result<serde_json::Value, String> {
        match &mut self.cpe {
            Some(cpe) => cpe.handle_control(request, metrics),
            None => Err(format!("`{}` needs an [uplink] in the configuration", request.name())),
        }
    }

    pub fn shutdown(&mut self, metrics: &Metrics) {
        if let Some(cpe) = &mut self.cpe {
            cpe.shutdown(metrics);
        }
    }

    /// SIGHUP. Adding or removing a role needs a restart; settings of a
    /// running role are applied in place.
    pub fn reconfigure(&mut self, config: &Config, metrics: &Metrics) -> anyhow::Result<()> {
        match (&mut self.cpe, &config.uplink) {
            (Some(cpe), Some(uplink)) => cpe.reconfigure(uplink, &config.lans, metrics),
            (None, None) => Ok(()),
            _ => anyhow::bail!("adding or removing [uplink] takes effect at the next restart"),
        }
    }

    pub fn status(&self) -> Status {
        match &self.cpe {
            Some(cpe) => cpe.status(),
            None => Status::empty(),
        }
    }
}
