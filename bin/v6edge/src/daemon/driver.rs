//! [`Driver`]: the one place where the daemon's protocol state lives, and
//! the one place where the protocol machines plug in.
//!
//! The daemon loop ([`super::Daemon::run`]) owns exactly one `Driver` and
//! talks to it through five calls; nothing else in `bin/` touches protocol
//! state:
//!
//! | call | when | today | with the machines |
//! |---|---|---|---|
//! | [`Driver::new`] | start | resolve links, load DUID, assign IAIDs | also build the DHCPv6 client (`dhcp6::Client::new`) and one RA advertiser per LAN, restoring stored bindings |
//! | [`Driver::next_deadline`] / [`Driver::handle_timeout`] | timer | poll links every [`LINK_POLL`] | min with every machine's `poll_timeout()`; call their `handle_timeout(now)` |
//! | [`Driver::handle_control`] | release / renew | record the admin state | `Input::Admin(Command::Release / Renew)` to the client |
//! | [`Driver::reconfigure`] | SIGHUP / reload | re-resolve links, keep counters | also convert the new [`Config`] into machine configs and apply them |
//! | [`Driver::status`] | status | links, admin state | fill delegations, addresses, LAN prefixes, RA counters, DNS from each machine's `status()` |
//!
//! Packets and netlink events arrive later through a further `select!`
//! branch in the daemon loop that calls a `handle_input` method added here,
//! after which the driver drains every machine's `poll_output()` (transmits
//! to the sockets, kernel ops to the netlink worker, metrics from notices),
//! as style guide §3 "Daemon driving" describes. The link poll below is
//! replaced by v6edge-sys's `monitor()` events feeding that same path.
//!
//! Panic contract: nothing here panics.

use std::time::{Duration, SystemTime};

use serde_json::json;
use tokio::time::Instant;

use super::link::{self, LinkInfo};
use crate::config::{Config, InterfaceName, LanConfig};
use crate::control::Request;
use crate::metrics::Metrics;
use crate::state::{Duid, StateDir};
use crate::status::{DnsStatus, LanStatus, RaCounters, Status, UplinkState, UplinkStatus};

/// How often links are re-read while there is no netlink monitor.
pub const LINK_POLL: Duration = Duration::from_secs(5);

/// One configured interface and what we last saw of it.
#[derive(Debug, Clone)]
struct Link {
    name: InterfaceName,
    info: Option<LinkInfo>,
}

impl Link {
    fn new(name: &InterfaceName) -> Link {
        Link {
            name: name.clone(),
            info: None,
        }
    }

    /// Re-reads the interface; logs and counts appearances and disappearances.
    fn refresh(&mut self, metrics: &Metrics) {
        let now = link::lookup(&self.name);
        match (&self.info, &now) {
            (None, Some(i)) => {
                tracing::info!(interface = %self.name, ifindex = i.ifindex, up = i.up, "interface present")
            }
            (Some(_), None) => tracing::warn!(interface = %self.name, "interface gone"),
            (Some(old), Some(new)) if old.ifindex != new.ifindex => {
                tracing::info!(interface = %self.name, ifindex = new.ifindex, "interface recreated");
            }
            (Some(old), Some(new)) if old.up != new.up => {
                tracing::info!(interface = %self.name, up = new.up, "link state changed");
            }
            _ => {}
        }
        metrics.set_interface_present(self.name.as_str(), now.is_some());
        self.info = now;
    }
}

/// Per-LAN state.
#[derive(Debug, Clone)]
struct Lan {
    config: LanConfig,
    link: Link,
    ra: RaCounters,
}

/// The daemon's protocol state; see the module documentation.
#[derive(Debug)]
pub struct Driver {
    state: StateDir,
    uplink: Link,
    lans: Vec<Lan>,
    /// The client DUID, once the uplink has been seen (RFC 7084 W-6: created
    /// once, from the uplink MAC when it has one, then reused).
    duid: Option<Duid>,
    /// One IAID per configured IA_PD, in config order (RFC 9096 WPD-10).
    pd_iaids: Vec<u32>,
    /// `v6edge release` was run and no `renew` since.
    released: bool,
    next_link_poll: Instant,
}

impl Driver {
    /// Builds the driver for `config`. Fails only if the state directory
    /// cannot be read or written.
    pub fn new(
        config: &Config,
        state: StateDir,
        metrics: &Metrics,
        now: Instant,
    ) -> anyhow::Result<Driver> {
        let mut driver = Driver {
            state,
            uplink: Link::new(&config.uplink.interface),
            lans: config
                .lans
                .iter()
                .map(|l| Lan {
                    config: l.clone(),
                    link: Link::new(&l.interface),
                    ra: RaCounters::default(),
                })
                .collect(),
            duid: None,
            pd_iaids: Vec::new(),
            released: false,
            next_link_poll: now,
        };
        driver.duid = driver.state.load_duid()?;
        if let Some(duid) = &driver.duid {
            tracing::info!(%duid, "client DUID loaded");
        }
        driver.pd_iaids = driver.assign_iaids(config)?;
        driver.refresh_links(metrics, now);
        Ok(driver)
    }

    /// IAIDs for each IA_PD of `config`: key = interface name for the first,
    /// `NAME#N` for the N-th further one (the IA_NA shares the first key,
    /// IAIDs being per IA type, RFC 8415 §12).
    fn assign_iaids(&self, config: &Config) -> anyhow::Result<Vec<u32>> {
        let name = config.uplink.interface.as_str();
        let mut iaids = Vec::with_capacity(config.uplink.ia_pds.len());
        for i in 0..config.uplink.ia_pds.len() {
            let key = if i == 0 {
                name.to_owned()
            } else {
                format!("{name}#{i}")
            };
            let iaid = self.state.iaid(&key)?;
            tracing::debug!(key, iaid, "IA_PD IAID");
            iaids.push(iaid);
        }
        Ok(iaids)
    }

    /// The IAIDs of the configured IA_PDs, in config order.
    pub fn pd_iaids(&self) -> &[u32] {
        &self.pd_iaids
    }

    /// The client DUID, if created yet.
    pub fn duid(&self) -> Option<&Duid> {
        self.duid.as_ref()
    }

    /// Re-reads every configured interface; creates the DUID the first time
    /// the uplink is seen.
    fn refresh_links(&mut self, metrics: &Metrics, now: Instant) {
        self.uplink.refresh(metrics);
        for lan in &mut self.lans {
            lan.link.refresh(metrics);
        }
        if self.duid.is_none()
            && let Some(info) = self.uplink.info
        {
            match self.state.duid_or_create(info.mac, SystemTime::now()) {
                Ok(duid) => {
                    tracing::info!(%duid, "client DUID created");
                    self.duid = Some(duid);
                }
                // Without a DUID the client cannot start; retried at the next poll.
                Err(e) => tracing::error!(error = %e, "cannot create the client DUID"),
            }
        }
        self.next_link_poll = now + LINK_POLL;
    }

    /// When [`Driver::handle_timeout`] wants to be called next.
    pub fn next_deadline(&self) -> Instant {
        self.next_link_poll
    }

    /// Runs what is due at `now`; a call before any deadline does nothing.
    pub fn handle_timeout(&mut self, now: Instant, metrics: &Metrics) {
        if now >= self.next_link_poll {
            self.refresh_links(metrics, now);
        }
    }

    /// Handles the control commands that act on the protocol state
    /// (`release`, `renew`); returns the response `data` or an error text.
    pub fn handle_control(
        &mut self,
        request: Request,
        metrics: &Metrics,
        now: Instant,
    ) -> Result<serde_json::Value, String> {
        match request {
            Request::Release => {
                // RFC 8415 §18.2.7: Release the IAs; there are no bindings
                // yet, so releasing means stopping acquisition until renew.
                self.released = true;
                tracing::info!(interface = %self.uplink.name, "released by operator");
            }
            Request::Renew => {
                self.released = false;
                tracing::info!(interface = %self.uplink.name, "acquisition restarted by operator");
                self.refresh_links(metrics, now);
            }
            Request::Status | Request::Reload | Request::Metrics => {
                return Err(format!("`{}` is not a driver command", request.name()));
            }
        }
        Ok(json!({ "state": self.uplink_state().as_str() }))
    }

    /// Applies a reloaded configuration: links are re-resolved, and LANs that
    /// stay keep their counters.
    pub fn reconfigure(
        &mut self,
        config: &Config,
        metrics: &Metrics,
        now: Instant,
    ) -> anyhow::Result<()> {
        // The only fallible step comes first, so a failure changes nothing.
        let pd_iaids = self.assign_iaids(config)?;
        if config.uplink.interface != self.uplink.name {
            // The DUID stays (W-6: it identifies the device, not the link).
            metrics.remove_interface(self.uplink.name.as_str());
            self.uplink = Link::new(&config.uplink.interface);
        }
        let mut old = std::mem::take(&mut self.lans);
        for gone in old
            .iter()
            .filter(|l| config.lan(l.config.interface.as_str()).is_none())
        {
            metrics.remove_interface(gone.config.interface.as_str());
        }
        self.lans = config
            .lans
            .iter()
            .map(
                |l| match old.iter().position(|o| o.config.interface == l.interface) {
                    Some(i) => {
                        let mut kept = old.swap_remove(i);
                        kept.config = l.clone();
                        kept
                    }
                    None => Lan {
                        config: l.clone(),
                        link: Link::new(&l.interface),
                        ra: RaCounters::default(),
                    },
                },
            )
            .collect();
        self.pd_iaids = pd_iaids;
        self.refresh_links(metrics, now);
        Ok(())
    }

    fn uplink_state(&self) -> UplinkState {
        match self.uplink.info {
            _ if self.released => UplinkState::Released,
            Some(LinkInfo { up: true, .. }) => UplinkState::Idle,
            // Absent, or present without carrier: DHCPv6 waits for the link.
            _ => UplinkState::WaitingLink,
        }
    }

    /// The status document; links are re-read first so it is current.
    pub fn status(&mut self, metrics: &Metrics, now: Instant) -> Status {
        self.refresh_links(metrics, now);
        Status {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            uplink: UplinkStatus {
                interface: self.uplink.name.to_string(),
                ifindex: self.uplink.info.map(|i| i.ifindex),
                link_up: self.uplink.info.is_some_and(|i| i.up),
                state: self.uplink_state(),
                server_duid: None,
                // No default route is learnt until the uplink is bound.
                default_router: false,
                addresses: Vec::new(),
            },
            delegations: Vec::new(),
            lans: self
                .lans
                .iter()
                .map(|lan| LanStatus {
                    interface: lan.config.interface.to_string(),
                    ifindex: lan.link.info.map(|i| i.ifindex),
                    prefix: None,
                    address: None,
                    subnet_id: lan.config.subnet_id,
                    deprecated: Vec::new(),
                    ra: RaCounters {
                        // RFC 7084 G-4: no default route upstream, so not a
                        // default router downstream.
                        router_lifetime: 0,
                        ..lan.ra.clone()
                    },
                })
                .collect(),
            dns: DnsStatus::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn config(uplink: &str, lans: &[&str]) -> Config {
        let mut text = format!("[uplink]\ninterface = \"{uplink}\"\n");
        for (i, lan) in lans.iter().enumerate() {
            text.push_str(&format!(
                "[[lan]]\ninterface = \"{lan}\"\nsubnet-id = {i}\n"
            ));
        }
        Config::parse(&text, Path::new("test.toml")).unwrap()
    }

    fn state_dir(tag: &str) -> (StateDir, std::path::PathBuf) {
        let path = std::env::temp_dir().join(format!("v6edge-driver-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        (StateDir::open(&path).unwrap(), path)
    }

    #[tokio::test]
    async fn missing_uplink_waits_and_release_renew_toggle() {
        let (state, path) = state_dir("wait");
        let metrics = Metrics::new();
        let now = Instant::now();
        let cfg = config("v6e-missing0", &["v6e-missing1"]);
        let mut driver = Driver::new(&cfg, state, &metrics, now).unwrap();
        let status = driver.status(&metrics, now);
        assert_eq!(status.uplink.state, UplinkState::WaitingLink);
        assert_eq!(status.uplink.ifindex, None);
        assert_eq!(status.lans[0].interface, "v6e-missing1");
        assert_eq!(status.lans[0].subnet_id, Some(0));
        // No uplink seen: no DUID yet, but IAIDs are fixed already.
        assert!(driver.duid().is_none());
        assert_eq!(driver.pd_iaids(), &[crate::state::fnv1a32(b"v6e-missing0")]);
        let r = driver
            .handle_control(Request::Release, &metrics, now)
            .unwrap();
        assert_eq!(r["state"], "released");
        assert_eq!(
            driver.status(&metrics, now).uplink.state,
            UplinkState::Released
        );
        let r = driver
            .handle_control(Request::Renew, &metrics, now)
            .unwrap();
        assert_eq!(r["state"], "waiting-link");
        assert!(
            driver
                .handle_control(Request::Status, &metrics, now)
                .is_err()
        );
        assert!(
            metrics
                .encode()
                .contains(r#"v6edge_interface_present{interface="v6e-missing0"} 0"#)
        );
        let _ = std::fs::remove_dir_all(path);
    }

    #[tokio::test]
    async fn present_uplink_gets_a_duid_and_timeouts_are_idempotent() {
        let (state, path) = state_dir("lo");
        let metrics = Metrics::new();
        let now = Instant::now();
        // Loopback always exists; it has no MAC, so the DUID is a DUID-UUID.
        let mut driver = Driver::new(&config("lo", &[]), state, &metrics, now).unwrap();
        let duid = driver
            .duid()
            .cloned()
            .expect("uplink present: DUID created");
        assert_eq!(&duid.as_bytes()[..2], &[0, 4]);
        assert_eq!(driver.next_deadline(), now + LINK_POLL);
        driver.handle_timeout(now, &metrics);
        assert_eq!(
            driver.next_deadline(),
            now + LINK_POLL,
            "early call must not reschedule"
        );
        driver.handle_timeout(now + LINK_POLL, &metrics);
        assert_eq!(driver.next_deadline(), now + LINK_POLL * 2);
        let _ = std::fs::remove_dir_all(path);
    }

    #[tokio::test]
    async fn reconfigure_keeps_surviving_lans() {
        let (state, path) = state_dir("reconf");
        let metrics = Metrics::new();
        let now = Instant::now();
        let mut driver = Driver::new(
            &config("v6e-missing0", &["v6e-a", "v6e-b"]),
            state,
            &metrics,
            now,
        )
        .unwrap();
        driver.lans[1].ra.sent = 7;
        driver
            .reconfigure(&config("v6e-missing0", &["v6e-b", "v6e-c"]), &metrics, now)
            .unwrap();
        let status = driver.status(&metrics, now);
        let names: Vec<_> = status.lans.iter().map(|l| l.interface.as_str()).collect();
        assert_eq!(names, ["v6e-b", "v6e-c"]);
        assert_eq!(status.lans[0].ra.sent, 7);
        assert_eq!(
            status.lans[0].subnet_id,
            Some(0),
            "new config applied to kept LAN"
        );
        assert!(!metrics.encode().contains("v6e-a"));
        let _ = std::fs::remove_dir_all(path);
    }
}
