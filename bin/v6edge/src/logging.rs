//! Logging to stderr with tracing-subscriber.
//!
//! The filter comes, first match wins, from `--log-level`, then `RUST_LOG`,
//! then `[daemon] log-level` in the config (default `info`). A filter taken
//! from the config is replaced on SIGHUP reload; one given by flag or
//! environment stays as the operator set it.
//!
//! Panic contract: nothing here panics.

use std::io::IsTerminal as _;

use anyhow::Context as _;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Registry, reload};

const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];

/// Parses a filter directive such as `info` or `warn,v6edge::control=debug`.
///
/// Stricter than `EnvFilter` alone: a bare word must be a level, because
/// EnvFilter would read a misspelt level (`verbose`) as a target name and
/// silently log nothing else.
pub fn parse_filter(directives: &str) -> Result<EnvFilter, String> {
    for part in directives
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let bare = !part.contains('=') && !part.contains('[');
        if bare && !LEVELS.iter().any(|l| l.eq_ignore_ascii_case(part)) {
            return Err(format!(
                "`{part}` is not a level (expected one of {})",
                LEVELS.join(", ")
            ));
        }
    }
    EnvFilter::builder()
        .parse(quiet_dependencies(directives))
        .map_err(|e| e.to_string())
}

/// netlink-proto warns "netlink socket buffer full" on every lost batch of
/// rtnetlink notifications, which neighbour churn on a LAN makes thousands
/// of lines; the daemon reports those losses itself, counted and throttled
/// (`netlink_overruns` in status). Its errors still show, and an operator
/// who names the target gets what they ask for.
fn quiet_dependencies(directives: &str) -> String {
    if directives.contains("netlink_proto") {
        return directives.to_owned();
    }
    match directives.trim() {
        "" => "netlink_proto=error".to_owned(),
        d => format!("{d},netlink_proto=error"),
    }
}

/// Lets the daemon change the filter after a reload.
pub struct LogHandle {
    handle: reload::Handle<EnvFilter, Registry>,
    /// The filter came from `--log-level` or `RUST_LOG`; the config does not override it.
    fixed: bool,
}

impl LogHandle {
    /// Applies the `[daemon] log-level` of a (re)loaded config, unless the
    /// operator fixed the filter by flag or environment.
    pub fn apply_config(&self, directives: &str) {
        if self.fixed {
            return;
        }
        match parse_filter(directives) {
            Ok(filter) => {
                if let Err(e) = self.handle.reload(filter) {
                    tracing::warn!(error = %e, "cannot change the log filter");
                }
            }
            // The config validation already parsed it; keep the old filter.
            Err(e) => tracing::warn!(error = %e, "invalid log-level kept out"),
        }
    }
}

/// Installs the global subscriber. `flag` is `--log-level`.
pub fn init(flag: Option<&str>, config_level: &str) -> anyhow::Result<LogHandle> {
    let env = std::env::var("RUST_LOG")
        .ok()
        .filter(|s| !s.trim().is_empty());
    let (directives, fixed, source) = match (flag, env.as_deref()) {
        (Some(f), _) => (f.to_owned(), true, "--log-level"),
        (None, Some(e)) => (e.to_owned(), true, "RUST_LOG"),
        (None, None) => (config_level.to_owned(), false, "log-level"),
    };
    let filter = parse_filter(&directives).map_err(|e| anyhow::anyhow!("{source}: {e}"))?;
    let (filter, handle) = reload::Layer::new(filter);
    tracing_subscriber::registry()
        .with(filter)
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                // Colours only for a person watching, not for journald or a log file.
                .with_ansi(std::io::stderr().is_terminal()),
        )
        .try_init()
        .context("cannot install the log subscriber")?;
    Ok(LogHandle { handle, fixed })
}

#[cfg(test)]
mod tests {
    use super::parse_filter;

    #[test]
    fn levels_and_targets_parse() {
        assert!(parse_filter("info").is_ok());
        assert!(parse_filter("DEBUG").is_ok());
        assert!(parse_filter("warn,v6edge::control=debug").is_ok());
    }

    #[test]
    fn netlink_proto_warnings_are_quiet_unless_asked_for() {
        assert_eq!(
            super::quiet_dependencies("debug"),
            "debug,netlink_proto=error"
        );
        assert_eq!(
            super::quiet_dependencies("debug,netlink_proto=trace"),
            "debug,netlink_proto=trace"
        );
        let f = parse_filter("debug").unwrap().to_string();
        assert!(f.contains("netlink_proto=error"), "{f}");
    }

    #[test]
    fn misspelt_level_is_rejected() {
        let e = parse_filter("verbose").unwrap_err();
        assert!(e.contains("`verbose` is not a level"), "{e}");
        assert!(parse_filter("v6edge=loud").is_err());
    }
}
