//! The `v6edge` daemon and command-line tool, as a library so that the
//! binary (`main.rs`) stays a thin shell and tests can reach every part.
//!
//! - [`cli`]: the command line (`run`, `check`, `status`, `release`, `renew`, ...).
//! - [`config`]: the TOML schema, validated into plain structs with `FILE:LINE` errors.
//! - [`daemon`]: the daemon loop and [`daemon::Driver`], where the protocol machines plug in.
//! - [`control`]: the JSON-lines control socket, server and client.
//! - [`state`]: the state directory (DUID, IAIDs, atomic JSON documents).
//! - [`status`]: the status document and its human-readable form.
//! - [`metrics`], [`logging`].

pub mod caps;
pub mod cli;
pub mod config;
pub mod control;
pub mod daemon;
pub mod logging;
pub mod metrics;
pub mod state;
pub mod status;
