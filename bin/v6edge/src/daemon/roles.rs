//! The registration of every role the daemon can run: the one place that
//! names them. The driver builds, in this order, the roles a configuration
//! turns on; effects of one input leave in this order too.
//!
//! Adding a role is one entry here (see docs/ARCHITECTURE.md, "Adding a
//! role").

use super::cpe::Cpe;
use super::home_agent::HomeAgentRole;
use super::mobile_node::MobileNodeRole;
use super::relay::RelayUnit;
use super::ripng::RipngRole;
use super::role::{Registration, Role, random_seed};
use super::server::ServerUnit;
use super::static_ra::StaticRaUnit;
use crate::config::Config;

pub const ROLES: &[Registration] = &[
    Registration {
        name: "requesting-router",
        section: "[uplink]",
        configured: |c| c.uplink.is_some(),
        build: |c, ctx| match &c.uplink {
            Some(uplink) => Ok(boxed(Cpe::new(
                uplink,
                &c.lans,
                ctx.state.clone(),
                ctx.origin,
            )?)),
            None => anyhow::bail!("no [uplink]"),
        },
    },
    Registration {
        name: "delegating-server",
        section: "[server]",
        configured: |c| c.server.is_some(),
        build: |c, ctx| match &c.server {
            Some(settings) => Ok(boxed(ServerUnit::new(
                settings,
                &ctx.state,
                ctx.origin,
                random_seed(),
            )?)),
            None => anyhow::bail!("no [server]"),
        },
    },
    Registration {
        name: "relay",
        section: "[relay]",
        configured: |c| c.relay.is_some(),
        build: |c, ctx| match &c.relay {
            Some(settings) => Ok(boxed(RelayUnit::new(
                settings,
                ctx.state.clone(),
                ctx.origin,
            ))),
            None => anyhow::bail!("no [relay]"),
        },
    },
    Registration {
        name: "ra",
        section: "[[ra]]",
        configured: |c: &Config| !c.static_ras.is_empty(),
        build: |c, ctx| Ok(boxed(StaticRaUnit::new(&c.static_ras, ctx.origin))),
    },
    Registration {
        name: "home-agent",
        section: "[home-agent]",
        configured: |c| c.home_agent.is_some(),
        build: |c, ctx| match &c.home_agent {
            Some(settings) => Ok(boxed(HomeAgentRole::new(
                settings,
                ctx.state.clone(),
                ctx.origin,
                random_seed(),
            ))),
            None => anyhow::bail!("no [home-agent]"),
        },
    },
    Registration {
        name: "mobile-node",
        section: "[mobile-node]",
        configured: |c| c.mobile_node.is_some(),
        build: |c, ctx| match &c.mobile_node {
            Some(settings) => Ok(boxed(MobileNodeRole::new(
                settings,
                ctx.origin,
                random_seed(),
            )?)),
            None => anyhow::bail!("no [mobile-node]"),
        },
    },
    Registration {
        name: "ripng",
        section: "[ripng]",
        configured: |c| c.ripng.is_some(),
        build: |c, ctx| match &c.ripng {
            Some(settings) => Ok(boxed(RipngRole::new(settings, ctx.origin, random_seed()))),
            None => anyhow::bail!("no [ripng]"),
        },
    },
];

fn boxed(role: impl Role + 'static) -> Box<dyn Role> {
    Box::new(role)
}

/// Sections `v6edge check` validates whose role this build cannot run yet.
/// A daemon given one refuses to start, or to reload into it, rather than
/// ignore it. None today (`[mobile-node]` runs since issue 9's role).
pub fn not_yet_runnable(_config: &Config) -> Option<&'static str> {
    None
}
