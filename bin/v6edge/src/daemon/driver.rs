//! [`Driver`]: the one place where the daemon's protocol state lives.
//!
//! It holds the configured roles ([`Role`], built from the registrations
//! in `super::roles`) and the [`Guard`], and routes every input to them
//! without knowing which roles they are: link facts to all, a datagram to
//! the first role that accepts its port and interface, neighbour sightings
//! and timeouts to all, operator commands to the role that takes them.
//! After each input it hands the roles' [`RoleMessage`]s to the other
//! roles. The daemon loop ([`super::Daemon::run`]) talks only to the
//! driver, and drains the roles' [`Effect`]s with [`Driver::next_effect`].
//!
//! Panic contract: nothing here panics.

use tokio::time::Instant as TokioInstant;
use v6edge_core::{IfIndex, Received};

pub use super::guard::Guard;
use super::role::RoleMessage;
pub use super::role::{Effect, Facts, LinkFacts, Needs, OwnedRoutes, Port, Role, RoleContext};
use crate::config::Config;
use crate::control::Request;
use crate::metrics::Metrics;
use crate::state::StateDir;
use crate::status::{LeaseView, Status};

/// Rounds of message passing after one input: a message may prompt an
/// answer, but a chain longer than this is a loop between roles.
const MESSAGE_ROUNDS: usize = 8;

#[derive(Debug)]
pub struct Driver {
    /// In registration order.
    roles: Vec<Box<dyn Role>>,
    /// Admission of unsolicited input and drop accounting (issue 14).
    guard: Guard,
    /// Machine time zero, for the guard's clock.
    origin: TokioInstant,
}

impl Driver {
    /// Builds the roles `config` turns on. Fails only if a role cannot
    /// read or write its state (the state directory, the lease store).
    pub fn new(
        config: &Config,
        state: StateDir,
        _metrics: &Metrics,
        origin: TokioInstant,
    ) -> anyhow::Result<Driver> {
        refuse_unrunnable(config)?;
        let context = RoleContext { state, origin };
        let mut roles = Vec::new();
        for registration in super::roles::ROLES {
            if (registration.configured)(config) {
                roles.push((registration.build)(config, &context)?);
            }
        }
        Ok(Driver {
            roles,
            guard: Guard::new(&config.limits),
            origin,
        })
    }

    /// The names of the roles running, in registration order.
    pub fn role_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.roles.iter().map(|r| r.name())
    }

    /// What the roles need from the loop, together.
    pub fn needs(&self) -> Needs {
        let mut needs = Needs::default();
        for role in &self.roles {
            needs.merge(role.needs());
        }
        needs
    }

    /// What the loop read from the kernel for [`Driver::needs`]. Every role
    /// sees the facts before any message flows, so a message never meets
    /// a role that has not seen the links yet.
    pub fn sync(&mut self, facts: &Facts, metrics: &Metrics) {
        for role in &mut self.roles {
            role.sync(facts, metrics);
        }
        self.route_messages(metrics);
    }

    /// A datagram on one of the loop's sockets. Unsolicited input (UDP 547,
    /// ICMPv6) passes the guard first; then every role that accepts it
    /// gets it.
    pub fn handle_datagram(&mut self, port: Port, rx: &Received<'_>, metrics: &Metrics) {
        let now = self.now();
        let admitted = match port {
            Port::Dhcp6Server => self.guard.admit_dhcp6(now, rx, metrics),
            Port::Icmp6 => self.guard.admit_icmp6(now, rx, metrics),
            // Answers to our own transactions on the uplink, checked by
            // the client machine; Mobility Headers, checked (authenticated)
            // by the home agent machine before they cost anything.
            Port::Dhcp6Client | Port::Mobility | Port::MobilityCapture => true,
        };
        if !admitted {
            return;
        }
        for role in self.roles.iter_mut().filter(|r| r.accepts(port, rx)) {
            role.handle_datagram(port, rx, metrics);
        }
        self.route_messages(metrics);
    }

    /// DSMIPv6 signalling from the data plane's UDP port 4191: every role
    /// gets it (only the mobility roles look).
    pub fn handle_udp_signalling(
        &mut self,
        from: std::net::SocketAddrV4,
        packet: &[u8],
        metrics: &Metrics,
    ) {
        for role in &mut self.roles {
            role.handle_udp_signalling(from, packet, metrics);
        }
        self.route_messages(metrics);
    }

    /// Hands every role's messages to the other roles until none is left
    /// (bounded by [`MESSAGE_ROUNDS`]).
    fn route_messages(&mut self, metrics: &Metrics) {
        for _ in 0..MESSAGE_ROUNDS {
            let mut sent: Vec<(usize, RoleMessage)> = Vec::new();
            for (i, role) in self.roles.iter_mut().enumerate() {
                while let Some(m) = role.next_message() {
                    sent.push((i, m));
                }
            }
            if sent.is_empty() {
                return;
            }
            for (from, message) in &sent {
                for (i, role) in self.roles.iter_mut().enumerate() {
                    if i != *from {
                        role.receive(message, metrics);
                    }
                }
            }
        }
        tracing::warn!("roles kept messaging each other; the rest waits for the next input");
    }

    /// Group commit: makes the state changes of everything handled since
    /// the last call durable, releasing what waits on them. The loop calls
    /// it before carrying out effects.
    pub fn commit(&mut self, metrics: &Metrics) {
        for role in &mut self.roles {
            role.commit(metrics);
        }
    }

    /// The effects before `role`'s barrier `ticket` were carried out.
    pub fn handle_applied(&mut self, role: &str, ticket: u64, ok: bool, metrics: &Metrics) {
        if let Some(r) = self.roles.iter_mut().find(|r| r.name() == role) {
            r.handle_applied(ticket, ok, metrics);
        }
        self.route_messages(metrics);
    }

    /// Every role's leases (a server's, a relay's snooped bindings).
    pub fn leases(&self) -> Result<Vec<LeaseView>, String> {
        let mut all: Option<Vec<LeaseView>> = None;
        for leases in self.roles.iter().filter_map(|r| r.leases()) {
            all.get_or_insert_with(Vec::new).extend(leases);
        }
        all.ok_or_else(|| {
            format!(
                "`leases` needs {} in the configuration",
                Request::all_leases().needs()
            )
        })
    }

    pub fn next_deadline(&self) -> Option<TokioInstant> {
        self.roles.iter().filter_map(|r| r.next_deadline()).min()
    }

    /// The next effect, roles in registration order.
    pub fn next_effect(&mut self) -> Option<Effect> {
        self.roles.iter_mut().find_map(|r| r.next_effect())
    }

    /// A neighbour event from the kernel: the roles learn the host (RA
    /// senders tell it urgent changes), the guard learns whether it is
    /// confirmed.
    pub fn note_neighbour(&mut self, ifindex: IfIndex, addr: std::net::Ipv6Addr, confirmed: bool) {
        let now = self.now();
        self.guard.note_neighbour(now, ifindex, addr, confirmed);
        for role in &mut self.roles {
            role.note_neighbours(ifindex, &[addr]);
        }
    }

    /// The guard's clock (machine time since the daemon started).
    fn now(&self) -> v6edge_core::Instant {
        super::persist::machine_now(self.origin)
    }

    /// A datagram dropped by the loop (receive or send failure): counted,
    /// and logged at most once per interval per kind.
    pub fn dropped(
        &mut self,
        protocol: &'static str,
        reason: &'static str,
        metrics: &Metrics,
        detail: &dyn std::fmt::Display,
    ) {
        let now = self.now();
        self.guard.dropped(protocol, reason, now, metrics, detail);
    }

    /// rtnetlink notifications were lost; `Some(n)` when a log line is due
    /// (see [`Guard::netlink_overrun`]).
    pub fn netlink_overrun(&mut self, metrics: &Metrics) -> Option<u64> {
        let now = self.now();
        self.guard.netlink_overrun(now, metrics)
    }

    pub fn netlink_resynced(&mut self) {
        self.guard.netlink_resynced();
    }

    pub fn handle_timeout(&mut self, metrics: &Metrics) {
        for i in 0..self.roles.len() {
            self.roles[i].handle_timeout(metrics);
            // What a role's timer changed reaches the others before their
            // own timers run (the requesting router's renewal before the
            // LAN server's pools).
            self.route_messages(metrics);
        }
    }

    /// An operator command for the roles (`release`, `renew`): the first
    /// role that takes it answers.
    pub fn handle_control(
        &mut self,
        request: Request,
        metrics: &Metrics,
    ) -> Result<serde_json::Value, String> {
        let answer = self
            .roles
            .iter_mut()
            .find_map(|r| r.handle_control(&request, metrics));
        self.route_messages(metrics);
        answer.unwrap_or_else(|| {
            Err(format!(
                "`{}` needs {} in the configuration",
                request.name(),
                request.needs()
            ))
        })
    }

    pub fn shutdown(&mut self, metrics: &Metrics) {
        for role in &mut self.roles {
            role.shutdown(metrics);
        }
    }

    /// SIGHUP. Adding or removing a role needs a restart; settings of a
    /// running role are applied in place.
    pub fn reconfigure(&mut self, config: &Config, metrics: &Metrics) -> anyhow::Result<()> {
        // Refuse role changes before applying anything.
        refuse_unrunnable(config)?;
        for registration in super::roles::ROLES {
            let running = self.roles.iter().any(|r| r.name() == registration.name);
            if running != (registration.configured)(config) {
                anyhow::bail!(
                    "adding or removing {} takes effect at the next restart",
                    registration.section
                );
            }
        }
        self.guard.reconfigure(&config.limits);
        for role in &mut self.roles {
            role.reconfigure(config, metrics)?;
        }
        self.route_messages(metrics);
        Ok(())
    }

    /// The proxy neighbour entries each role owns, for the reconciliation
    /// at start.
    pub fn owned_proxies(&self) -> Vec<(v6edge_core::Owner, Vec<(IfIndex, std::net::IpAddr)>)> {
        self.roles
            .iter()
            .filter_map(|r| r.owned_proxies())
            .collect()
    }

    /// The routes each role owns, for the reconciliation at start.
    pub fn owned_routes(&self) -> Vec<OwnedRoutes> {
        self.roles.iter().filter_map(|r| r.owned_routes()).collect()
    }

    /// The delegation hierarchy this router knows (issue 4): what it holds
    /// upstream, its own LAN /64s, and what it delegated (or relayed) below.
    pub fn tree(&self) -> serde_json::Value {
        let status = self.status();
        let below = self.leases().unwrap_or_default();
        let upstream: Vec<serde_json::Value> = status
            .delegations
            .iter()
            .map(|d| {
                let inside = |p: &str| {
                    let (Ok(outer), Ok(inner)) = (d.prefix.parse::<v6edge_prefix::Prefix>(), p.parse::<v6edge_prefix::Prefix>()) else {
                        return false;
                    };
                    outer.contains(&inner)
                };
                serde_json::json!({
                    "prefix": d.prefix,
                    "preferred": d.preferred,
                    "valid": d.valid,
                    "lans": status.lans.iter().filter(|l| l.prefix.as_deref().is_some_and(inside))
                        .map(|l| serde_json::json!({ "interface": l.interface, "prefix": l.prefix })).collect::<Vec<_>>(),
                    "delegated": below.iter().filter(|l| inside(&l.prefix)).collect::<Vec<_>>(),
                })
            })
            .collect();
        // Delegations from fixed pools (an ISP server) or relayed ones sit
        // under no upstream prefix.
        let held: Vec<v6edge_prefix::Prefix> = status
            .delegations
            .iter()
            .filter_map(|d| d.prefix.parse().ok())
            .collect();
        let other: Vec<&LeaseView> = below
            .iter()
            .filter(|l| {
                l.prefix
                    .parse::<v6edge_prefix::Prefix>()
                    .map_or(true, |p| !held.iter().any(|h| h.contains(&p)))
            })
            .collect();
        serde_json::json!({
            "uplink": status.uplink.as_ref().map(|u| u.interface.clone()),
            "upstream": upstream,
            "other": other,
        })
    }

    /// Brings the metrics' drop counters up to what the role machines
    /// counted themselves (called before the metrics are read). Roles that
    /// share a protocol label (the LANs' and the `[[ra]]` advertisers'
    /// `nd`) are added up.
    pub fn export_counters(&self, metrics: &Metrics) {
        let mut totals: std::collections::BTreeMap<(&'static str, String), u64> =
            Default::default();
        for role in &self.roles {
            for (protocol, reason, n) in role.dropped_counts() {
                *totals.entry((protocol, reason)).or_insert(0) += n;
            }
        }
        for ((protocol, reason), n) in totals {
            metrics.sync_dropped(protocol, &reason, n);
        }
        for role in &self.roles {
            role.export_metrics(metrics);
        }
    }

    pub fn status(&self) -> Status {
        let mut status = Status::empty();
        for role in &self.roles {
            role.status(&mut status);
        }
        status.io = self.guard.status();
        status
    }
}

fn refuse_unrunnable(config: &Config) -> anyhow::Result<()> {
    match super::roles::not_yet_runnable(config) {
        Some(section) => anyhow::bail!(
            "{section} is valid but this build of v6edge does not run it yet (Mobile IPv6 is in progress): remove it to run the other roles"
        ),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::net::Ipv6Addr;
    use std::rc::Rc;

    use super::*;
    use crate::daemon::role::RoleMessage;

    /// What a test role saw, shared with the test.
    #[derive(Debug, Default)]
    struct Seen {
        datagrams: Vec<(Port, IfIndex)>,
        messages: Vec<RoleMessage>,
        neighbours: Vec<Ipv6Addr>,
        synced: usize,
    }

    /// A role that accepts one port on one interface, answers every
    /// datagram with an effect and a message, and records what it sees.
    #[derive(Debug)]
    struct TestRole {
        name: &'static str,
        port: Port,
        ifindex: IfIndex,
        seen: Rc<RefCell<Seen>>,
        outbox: Vec<RoleMessage>,
        effects: std::collections::VecDeque<Effect>,
    }

    impl TestRole {
        fn new(name: &'static str, port: Port, ifindex: IfIndex) -> (TestRole, Rc<RefCell<Seen>>) {
            let seen = Rc::new(RefCell::new(Seen::default()));
            let role = TestRole {
                name,
                port,
                ifindex,
                seen: seen.clone(),
                outbox: Vec::new(),
                effects: Default::default(),
            };
            (role, seen)
        }
    }

    impl Role for TestRole {
        fn name(&self) -> &'static str {
            self.name
        }
        fn needs(&self) -> Needs {
            let mut needs = Needs::default();
            needs
                .interfaces
                .insert(self.name.to_owned(), Default::default());
            needs.all_routers.insert(self.ifindex);
            needs
        }
        fn sync(&mut self, _facts: &Facts, _metrics: &Metrics) {
            self.seen.borrow_mut().synced += 1;
        }
        fn accepts(&self, port: Port, rx: &Received<'_>) -> bool {
            port == self.port && rx.ifindex == self.ifindex
        }
        fn handle_datagram(&mut self, port: Port, rx: &Received<'_>, _metrics: &Metrics) {
            self.seen.borrow_mut().datagrams.push((port, rx.ifindex));
            self.effects.push_back(Effect::Hook {
                program: self.name.into(),
                env: Vec::new(),
            });
            self.outbox.push(RoleMessage::DelegableSpace(Vec::new()));
        }
        fn note_neighbours(&mut self, _ifindex: IfIndex, addrs: &[Ipv6Addr]) {
            self.seen.borrow_mut().neighbours.extend_from_slice(addrs);
        }
        fn receive(&mut self, message: &RoleMessage, _metrics: &Metrics) {
            self.seen.borrow_mut().messages.push(message.clone());
        }
        fn next_message(&mut self) -> Option<RoleMessage> {
            self.outbox.pop()
        }
        fn handle_timeout(&mut self, _metrics: &Metrics) {}
        fn next_deadline(&self) -> Option<TokioInstant> {
            None
        }
        fn next_effect(&mut self) -> Option<Effect> {
            self.effects.pop_front()
        }
        fn status(&self, _status: &mut Status) {}
        fn reconfigure(&mut self, _config: &Config, _metrics: &Metrics) -> anyhow::Result<()> {
            Ok(())
        }
    }

    fn driver(roles: Vec<Box<dyn Role>>) -> Driver {
        Driver {
            roles,
            guard: Guard::new(&Default::default()),
            origin: TokioInstant::now(),
        }
    }

    fn datagram(ifindex: IfIndex) -> Received<'static> {
        Received {
            src: "fe80::1".parse().expect("address"),
            dst: "ff02::2".parse().expect("address"),
            ifindex,
            hop_limit: 255,
            bytes: &[133, 0, 0, 0, 0, 0, 0, 0],
        }
    }

    #[test]
    fn datagrams_reach_the_role_that_accepts_them_and_messages_the_others() {
        let (a, seen_a) = TestRole::new("a", Port::Icmp6, 2);
        let (b, seen_b) = TestRole::new("b", Port::Icmp6, 3);
        let mut d = driver(vec![Box::new(a), Box::new(b)]);
        let metrics = Metrics::new();
        d.handle_datagram(Port::Icmp6, &datagram(3), &metrics);
        assert_eq!(seen_b.borrow().datagrams, vec![(Port::Icmp6, 3)]);
        assert!(seen_a.borrow().datagrams.is_empty());
        // b's message reached a, not b itself.
        assert_eq!(seen_a.borrow().messages.len(), 1);
        assert!(seen_b.borrow().messages.is_empty());
        // Nobody accepts ifindex 9: dropped without a call.
        d.handle_datagram(Port::Icmp6, &datagram(9), &metrics);
        assert_eq!(
            seen_a.borrow().datagrams.len() + seen_b.borrow().datagrams.len(),
            1
        );
        assert!(d.next_effect().is_some());
        assert!(d.next_effect().is_none());
    }

    #[test]
    fn needs_are_merged_and_facts_and_neighbours_reach_every_role() {
        let (a, seen_a) = TestRole::new("a", Port::Icmp6, 2);
        let (b, seen_b) = TestRole::new("b", Port::Dhcp6Server, 3);
        let mut d = driver(vec![Box::new(a), Box::new(b)]);
        let needs = d.needs();
        assert_eq!(
            needs
                .interfaces
                .keys()
                .map(String::as_str)
                .collect::<Vec<_>>(),
            vec!["a", "b"]
        );
        assert_eq!(
            needs.all_routers.into_iter().collect::<Vec<_>>(),
            vec![2, 3]
        );
        let metrics = Metrics::new();
        d.sync(&Facts::default(), &metrics);
        let host: Ipv6Addr = "fe80::99".parse().expect("address");
        d.note_neighbour(2, host, true);
        for seen in [&seen_a, &seen_b] {
            assert_eq!(seen.borrow().synced, 1);
            assert_eq!(seen.borrow().neighbours, vec![host]);
        }
    }

    #[test]
    fn effects_leave_in_registration_order() {
        let (a, _) = TestRole::new("a", Port::Icmp6, 2);
        let (b, _) = TestRole::new("b", Port::Icmp6, 3);
        let mut d = driver(vec![Box::new(a), Box::new(b)]);
        let metrics = Metrics::new();
        // b queues first, a second: a's effect still leaves first.
        d.handle_datagram(Port::Icmp6, &datagram(3), &metrics);
        d.handle_datagram(Port::Icmp6, &datagram(2), &metrics);
        let order: Vec<String> = std::iter::from_fn(|| d.next_effect())
            .map(|e| match e {
                Effect::Hook { program, .. } => program.display().to_string(),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(order, vec!["a", "b"]);
    }

    #[test]
    fn a_reload_that_adds_or_removes_a_role_is_refused() {
        let path = std::path::Path::new("ra.toml");
        let ra_only = "[[ra]]\ninterface = \"lan0\"\nprefixes = [\"2001:db8:77::/64\"]\n";
        let config = Config::parse(ra_only, path).expect("config");
        let dir = std::env::temp_dir().join(format!("v6edge-driver-{}", std::process::id()));
        let state = StateDir::open(&dir).expect("state dir");
        let metrics = Metrics::new();
        let mut d = Driver::new(&config, state, &metrics, TokioInstant::now()).expect("driver");
        assert_eq!(d.role_names().collect::<Vec<_>>(), vec!["ra"]);
        let with_relay = format!(
            "{ra_only}[relay]\nupstream = \"wan0\"\n[[relay.downstream]]\ninterface = \"lan1\"\n"
        );
        let bigger = Config::parse(&with_relay, path).expect("config with a relay");
        let e = d
            .reconfigure(&bigger, &metrics)
            .expect_err("a new role needs a restart");
        assert!(e.to_string().contains("[relay]"), "{e}");
        let other = "[[ra]]\ninterface = \"lan1\"\nprefixes = [\"2001:db8:78::/64\"]\n";
        let other = Config::parse(other, path).expect("config");
        d.reconfigure(&other, &metrics)
            .expect("same roles, new settings");
        let _ = std::fs::remove_dir_all(dir);
    }
    /// A section that passes `check` but its role cannot run (a mobile
    /// node with `security = "none"`: the role always authenticates): the
    /// daemon refuses it (at start and on reload) instead of ignoring it.
    #[test]
    fn sections_the_roles_cannot_run_are_refused_not_ignored() {
        let path = std::path::Path::new("ha.toml");
        let ha = "[mobile-node]\ninterfaces = [\"eth0\"]\nhome-address = \"2001:db8:1::200\"\n\
                  security = \"none\"\ninsecure-lab = true\n";
        let config = Config::parse(ha, path).expect("valid for check");
        let dir = std::env::temp_dir().join(format!("v6edge-driver-ha-{}", std::process::id()));
        let state = StateDir::open(&dir).expect("state dir");
        let metrics = Metrics::new();
        let e = Driver::new(&config, state.clone(), &metrics, TokioInstant::now())
            .expect_err("not runnable yet");
        assert!(e.to_string().contains("[mobile-node]"), "{e}");
        let ra = "[[ra]]\ninterface = \"lan0\"\nprefixes = [\"2001:db8:77::/64\"]\n";
        let mut d = Driver::new(
            &Config::parse(ra, path).expect("config"),
            state,
            &metrics,
            TokioInstant::now(),
        )
        .expect("driver");
        let with_ha = Config::parse(&format!("{ra}{ha}"), path).expect("config");
        let e = d
            .reconfigure(&with_ha, &metrics)
            .expect_err("not runnable yet");
        assert!(e.to_string().contains("[mobile-node]"), "{e}");
        let _ = std::fs::remove_dir_all(dir);
    }
}
