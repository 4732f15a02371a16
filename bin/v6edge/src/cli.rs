//! The command line (clap derive) and the client-side commands.
//!
//! `run` and `check` read the configuration; `status`, `release`, `renew`,
//! `reload` and `metrics` talk to a running daemon over the control socket,
//! found from `--control`, else the `[daemon] control-socket` of `--config`,
//! else /run/v6edge.sock.
//!
//! Panic contract: nothing here panics.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow};
use clap::{Args, Parser, Subcommand};

use crate::config::{Config, DEFAULT_CONTROL_SOCKET};
use crate::control::{LeaseFilter, Request, Response, client};
use crate::daemon::{self, RunOptions};
use crate::status::{Status, format_human};

#[derive(Debug, Parser)]
#[command(
    name = "v6edge",
    version,
    about = "IPv6 router protocols: DHCPv6 prefix delegation (client, server, relay), Router Advertisements, a Mobile IPv6 home agent"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon in the foreground (logs to stderr).
    Run(RunArgs),
    /// Validate a configuration file and exit.
    Check(CheckArgs),
    /// Show the running daemon's state.
    Status(StatusArgs),
    /// Release the uplink's leases and stay idle until `renew`.
    Release(ClientArgs),
    /// Restart prefix acquisition (Solicit, or Renew if bound).
    Renew(ClientArgs),
    /// Make the daemon re-read its configuration (as SIGHUP does).
    Reload(ClientArgs),
    /// Print the daemon's Prometheus metrics.
    Metrics(ClientArgs),
    /// List the delegating server's leases.
    Leases(LeasesArgs),
    /// Show the delegation tree: upstream prefixes, LAN /64s, delegations below.
    Tree(TreeArgs),
    /// Mobile IPv6 tools.
    #[command(subcommand)]
    Mobility(MobilityCommand),
    /// Write the manual pages or shell completions (for packaging).
    #[command(hide = true)]
    Generate(GenerateArgs),
}

#[derive(Debug, Subcommand)]
pub enum MobilityCommand {
    /// Probe the kernel facilities Mobile IPv6 can use (TUN, raw IPv6-in-IPv6,
    /// AF_PACKET, anycast, NFQUEUE, seg6, ip6tnl, policy rules, kernel MIP6) in a
    /// scratch network namespace and report each (needs root).
    Caps(CapsArgs),
}

#[derive(Debug, Args)]
pub struct CapsArgs {
    /// Print JSON instead of the table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    #[command(subcommand)]
    pub what: Generated,
    /// Directory to write into (created if missing).
    #[arg(long, default_value = ".")]
    pub out: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum Generated {
    /// `v6edge.1` and one page per command (`v6edge-run.1`, ...).
    Man,
    /// The completion script for `shell`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Configuration file.
    #[arg(long, short)]
    pub config: PathBuf,
    /// State directory (default: [daemon] state-dir, else /var/lib/v6edge).
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
    /// Control socket (default: [daemon] control-socket, else /run/v6edge.sock).
    #[arg(long)]
    pub control: Option<PathBuf>,
    /// Log filter, e.g. `debug` or `info,v6edge::control=debug` (default: RUST_LOG, else [daemon] log-level).
    #[arg(long)]
    pub log_level: Option<String>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Configuration file.
    #[arg(long, short)]
    pub config: PathBuf,
}

#[derive(Debug, Args)]
pub struct ClientArgs {
    /// Control socket of the daemon.
    #[arg(long)]
    pub control: Option<PathBuf>,
    /// Take the control socket from this configuration file.
    #[arg(long, short)]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// Print the raw status JSON instead of the summary.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct LeasesArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// Only leases inside this prefix, e.g. 2001:db8:100::/40.
    #[arg(long, value_name = "PREFIX")]
    pub prefix: Option<String>,
    /// Only this client's leases (DUID in hex, colons optional).
    #[arg(long)]
    pub duid: Option<String>,
    /// Only leases of this type: pd or na.
    #[arg(long = "type", value_name = "TYPE")]
    pub kind: Option<String>,
    /// Skip this many leases (of those that pass the filters).
    #[arg(long, default_value_t = 0)]
    pub offset: usize,
    /// Show at most this many; 0: all. Default: 1000 as text, all with
    /// --json (scripts read every lease; the answer must fit 16 MiB).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Print the leases as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct TreeArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// Print the delegation tree as JSON instead of indented text.
    #[arg(long)]
    pub json: bool,
}

/// The tree as indented text.
fn format_tree(data: &serde_json::Value) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let s = |v: &serde_json::Value, k: &str| {
        v.get(k).and_then(|x| x.as_str()).unwrap_or("-").to_owned()
    };
    let life = |v: &serde_json::Value, k: &str| {
        crate::status::format_lifetime(v.get(k).and_then(|x| x.as_u64()).map(|x| x as u32))
    };
    let leaf = |out: &mut String, l: &serde_json::Value, indent: &str| {
        // Writing into a String cannot fail.
        let _ = writeln!(
            out,
            "{indent}{} -> {} dev {}  valid {}  ({})",
            s(l, "prefix"),
            s(l, "next_hop"),
            s(l, "interface"),
            life(l, "valid"),
            s(l, "duid")
        );
    };
    let empty = Vec::new();
    for up in data
        .get("upstream")
        .and_then(|u| u.as_array())
        .unwrap_or(&empty)
    {
        let _ = writeln!(
            out,
            "{} (from {})  preferred {}  valid {}",
            s(up, "prefix"),
            data.get("uplink")
                .and_then(|u| u.as_str())
                .unwrap_or("uplink"),
            life(up, "preferred"),
            life(up, "valid")
        );
        for lan in up.get("lans").and_then(|l| l.as_array()).unwrap_or(&empty) {
            let _ = writeln!(
                out,
                "  {} on {} (own LAN)",
                s(lan, "prefix"),
                s(lan, "interface")
            );
        }
        for d in up
            .get("delegated")
            .and_then(|l| l.as_array())
            .unwrap_or(&empty)
        {
            leaf(&mut out, d, "  ");
        }
    }
    let other = data
        .get("other")
        .and_then(|o| o.as_array())
        .unwrap_or(&empty);
    if !other.is_empty() {
        let _ = writeln!(out, "delegated from configured pools or relayed:");
        for d in other {
            leaf(&mut out, d, "  ");
        }
    }
    if out.is_empty() {
        out.push_str("nothing held or delegated\n");
    }
    out
}

/// One line per lease: type, prefix, lifetimes, next hop, client.
fn format_leases(data: &serde_json::Value) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let leases = data
        .get("leases")
        .and_then(|l| l.as_array())
        .cloned()
        .unwrap_or_default();
    if leases.is_empty() {
        out.push_str("no leases\n");
    }
    for l in leases {
        let field = |k: &str| match l.get(k) {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Null) | None => "-".to_owned(),
            Some(v) => v.to_string(),
        };
        let lifetime = |k: &str| {
            crate::status::format_lifetime(l.get(k).and_then(|v| v.as_u64()).map(|v| v as u32))
        };
        // Writing into a String cannot fail.
        let _ = writeln!(
            out,
            "{:<2} {:<28} preferred {:<10} valid {:<10} via {} dev {}  duid {} iaid {}",
            field("type"),
            field("prefix"),
            lifetime("preferred"),
            lifetime("valid"),
            field("next_hop"),
            field("interface"),
            field("duid"),
            field("iaid"),
        );
    }
    // Paged: say which part this is and how to see the rest.
    let shown = data
        .get("leases")
        .and_then(|l| l.as_array())
        .map_or(0, Vec::len);
    if let Some(total) = data.get("total").and_then(|t| t.as_u64())
        && total as usize > shown
    {
        let offset = data.get("offset").and_then(|o| o.as_u64()).unwrap_or(0);
        let _ = writeln!(
            out,
            "{shown} of {total} leases shown (from #{}); more with --offset {} or --limit 0",
            offset + 1,
            offset + shown as u64
        );
    }
    out
}

/// Runs one command; errors are printed by `main` and exit with code 1.
pub fn execute(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Run(args) => daemon::run(RunOptions {
            config: args.config,
            state_dir: args.state_dir,
            control: args.control,
            log_level: args.log_level,
        }),
        Command::Check(args) => {
            let config = Config::load(&args.config)?;
            println!("{}: ok", args.config.display());
            // What only this machine can tell (Kea warns the same way):
            // the configuration is valid, but will it find its links?
            let mut seen = std::collections::BTreeSet::new();
            for (table, name) in config.interfaces() {
                if seen.insert(name) && nix::net::if_::if_nametoindex(name).is_err() {
                    eprintln!(
                        "warning: {table} interface {name} does not exist on this machine (yet); v6edge waits for it"
                    );
                }
            }
            if config.forwards() && !crate::daemon::ipv6_forwarding_on() {
                eprintln!("warning: {}", crate::daemon::FORWARDING_OFF);
            }
            Ok(())
        }
        Command::Status(args) => {
            let data = call(&args.client, Request::Status)?;
            if args.json {
                // Through `Status` when it fits, so fields come in the
                // contract's order; as received otherwise (a newer daemon).
                let text = match serde_json::from_value::<Status>(data.clone()) {
                    Ok(status) => serde_json::to_string_pretty(&status),
                    Err(_) => serde_json::to_string_pretty(&data),
                };
                println!("{}", text.context("cannot print status")?);
            } else {
                let status: Status =
                    serde_json::from_value(data).context("unexpected status document")?;
                print!("{}", format_human(&status));
            }
            Ok(())
        }
        Command::Release(args) => print_state(call(&args, Request::Release)?),
        Command::Renew(args) => print_state(call(&args, Request::Renew)?),
        Command::Reload(args) => {
            let data = call(&args, Request::Reload)?;
            match data.get("config").and_then(|c| c.as_str()) {
                Some(path) => println!("reloaded {path}"),
                None => println!("reloaded"),
            }
            Ok(())
        }
        Command::Leases(args) => {
            let filter = LeaseFilter {
                within: args.prefix.clone(),
                duid: args.duid.clone(),
                kind: args.kind.clone(),
                offset: args.offset,
                limit: match args.limit {
                    Some(0) => None,
                    Some(n) => Some(n),
                    None if args.json => None,
                    None => Some(1000),
                },
            };
            let data = call(&args.client, Request::Leases { filter })?;
            if args.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&data).context("cannot print leases")?
                );
            } else {
                print!("{}", format_leases(&data));
            }
            Ok(())
        }
        Command::Tree(args) => {
            let data = call(&args.client, Request::Tree)?;
            if args.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&data).context("cannot print the tree")?
                );
            } else {
                print!("{}", format_tree(&data));
            }
            Ok(())
        }
        Command::Generate(args) => generate(&args),
        Command::Mobility(MobilityCommand::Caps(args)) => crate::caps::run(args.json),
        Command::Metrics(args) => {
            let data = call(&args, Request::Metrics)?;
            let text = data
                .get("text")
                .and_then(|t| t.as_str())
                .ok_or_else(|| anyhow!("metrics response has no text"))?;
            print!("{text}");
            Ok(())
        }
    }
}

/// Manual pages and completions come from the same definition as the
/// parser, so they cannot drift from it.
fn generate(args: &GenerateArgs) -> anyhow::Result<()> {
    use clap::CommandFactory as _;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let cmd = Cli::command();
    match &args.what {
        Generated::Man => {
            clap_mangen::generate_to(cmd, &args.out)
                .with_context(|| format!("cannot write manual pages to {}", args.out.display()))?;
        }
        Generated::Completions { shell } => {
            let mut cmd = cmd;
            clap_complete::generate_to(*shell, &mut cmd, "v6edge", &args.out)
                .with_context(|| format!("cannot write completions to {}", args.out.display()))?;
        }
    }
    Ok(())
}

fn print_state(data: serde_json::Value) -> anyhow::Result<()> {
    match data.get("state").and_then(|s| s.as_str()) {
        Some(state) => println!("uplink: {state}"),
        None => println!("ok"),
    }
    Ok(())
}

/// The control socket for a client command.
fn control_socket(args: &ClientArgs) -> anyhow::Result<PathBuf> {
    if let Some(path) = &args.control {
        return Ok(path.clone());
    }
    if let Some(config) = &args.config {
        return Ok(Config::load(config)?.daemon.control_socket);
    }
    Ok(PathBuf::from(DEFAULT_CONTROL_SOCKET))
}

/// Sends one request; a daemon-side error becomes an `Err` with its text.
fn call(args: &ClientArgs, request: Request) -> anyhow::Result<serde_json::Value> {
    let socket = control_socket(args)?;
    let response = client::request(&socket, request.clone(), client::DEFAULT_TIMEOUT)?;
    into_data(&socket, request, response)
}

fn into_data(
    socket: &Path,
    request: Request,
    response: Response,
) -> anyhow::Result<serde_json::Value> {
    match response {
        Response { ok: true, data, .. } => Ok(data.unwrap_or(serde_json::Value::Null)),
        Response { error, .. } => Err(anyhow!(
            "{}: {} failed: {}",
            socket.display(),
            request.name(),
            error.unwrap_or_else(|| "no reason given".into())
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn control_socket_precedence() {
        let flag = ClientArgs {
            control: Some("/tmp/x.sock".into()),
            config: Some("/nonexistent".into()),
        };
        assert_eq!(control_socket(&flag).unwrap(), PathBuf::from("/tmp/x.sock"));
        let none = ClientArgs {
            control: None,
            config: None,
        };
        assert_eq!(
            control_socket(&none).unwrap(),
            PathBuf::from(DEFAULT_CONTROL_SOCKET)
        );
        let missing = ClientArgs {
            control: None,
            config: Some("/nonexistent/v6edge.toml".into()),
        };
        assert!(
            control_socket(&missing)
                .unwrap_err()
                .to_string()
                .starts_with("/nonexistent/v6edge.toml: cannot read")
        );
    }

    #[test]
    fn usage_errors_are_clap_errors() {
        assert!(Cli::try_parse_from(["v6edge", "run"]).is_err());
        assert!(Cli::try_parse_from(["v6edge", "frobnicate"]).is_err());
        let cli = Cli::try_parse_from(["v6edge", "status", "--json", "--control", "/s"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Status(StatusArgs { json: true, .. })
        ));
    }

    #[test]
    fn daemon_errors_become_messages() {
        let err = into_data(Path::new("/s"), Request::Renew, Response::error("busy")).unwrap_err();
        assert_eq!(err.to_string(), "/s: renew failed: busy");
    }
}
