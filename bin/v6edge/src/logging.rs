//! Logging to stderr with tracing-subscriber.
//!
//! The format (`[daemon] log-format`): plain text for a person or a file;
//! for journald (chosen by `auto` when systemd connected stderr to the
//! journal, `JOURNAL_STREAM`) each line starts with its syslog priority
//! `<N>` (sd-daemon(3)) so `journalctl -p warning` works, and carries no
//! time or level word (the journal records both); JSON lines for log
//! shippers.
//!
//! The filter comes, first match wins, from `--log-level`, then `RUST_LOG`,
//! then `[daemon] log-level` in the config (default `info`). A filter taken
//! from the config is replaced on SIGHUP reload; one given by flag or
//! environment stays as the operator set it.
//!
//! Panic contract: nothing here panics.

use std::io::IsTerminal as _;

use anyhow::Context as _;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::registry::LookupSpan;
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

/// sd-daemon(3): the `<N>` prefix journald reads a line's priority from.
fn journal_priority(level: Level) -> u8 {
    match level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        Level::DEBUG | Level::TRACE => 7,
    }
}

/// Prefixes each line the inner format writes with its priority.
struct JournalPrefix<F>(F);

impl<S, N, F> FormatEvent<S, N> for JournalPrefix<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        write!(writer, "<{}>", journal_priority(*event.metadata().level()))?;
        self.0.format_event(ctx, writer, event)
    }
}

/// Whether systemd connected our stderr to the journal: `JOURNAL_STREAM`
/// names its device and inode (systemd.exec(5)).
fn stderr_is_journal() -> bool {
    use std::os::fd::AsFd as _;
    let Ok(stream) = std::env::var("JOURNAL_STREAM") else {
        return false;
    };
    let Ok(stat) = nix::sys::stat::fstat(std::io::stderr().as_fd()) else {
        return false;
    };
    stream == format!("{}:{}", stat.st_dev, stat.st_ino)
}

/// The format `auto` stands for here and now.
pub fn effective_format(format: crate::config::LogFormat) -> crate::config::LogFormat {
    use crate::config::LogFormat;
    match format {
        LogFormat::Auto if stderr_is_journal() => LogFormat::Journal,
        LogFormat::Auto => LogFormat::Text,
        other => other,
    }
}

/// Installs the global subscriber. `flag` is `--log-level`.
pub fn init(
    flag: Option<&str>,
    config_level: &str,
    format: crate::config::LogFormat,
) -> anyhow::Result<LogHandle> {
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
    use crate::config::LogFormat;
    let base = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let layer: Box<dyn tracing_subscriber::Layer<_> + Send + Sync> = match effective_format(format)
    {
        LogFormat::Json => Box::new(base.json()),
        LogFormat::Journal => Box::new(
            base.with_ansi(false).event_format(JournalPrefix(
                tracing_subscriber::fmt::format()
                    .without_time()
                    .with_level(false),
            )),
        ),
        // Colours only for a person watching, not for a log file.
        LogFormat::Text | LogFormat::Auto => {
            Box::new(base.with_ansi(std::io::stderr().is_terminal()))
        }
    };
    tracing_subscriber::registry()
        .with(filter)
        .with(layer)
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
