//! `v6edge-sim`: runs the simulator and prints one JSON line (issue 8).

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use v6edge_sim::{Sim, SimConfig, json_line};

/// Deterministic network simulator: one delegating server, relays, and
/// chains of requesting routers running the unmodified machines.
#[derive(Debug, Parser)]
#[command(name = "v6edge-sim")]
struct Args {
    /// Requesting routers on the relays' links (the tops of the chains).
    #[arg(long, default_value_t = 10)]
    cpes: u32,
    /// Relay agents between the server and the CPEs.
    #[arg(long, default_value_t = 1)]
    relays: u32,
    /// Routers per chain, each delegating to the next (1: the CPEs alone).
    #[arg(long, default_value_t = 1)]
    depth: u32,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Probability that a delivery is lost.
    #[arg(long, default_value_t = 0.0)]
    loss: f64,
    /// After cold start, move the server's pool and measure the renumbering.
    #[arg(long)]
    renumber: bool,
    /// Capture a link (up<r>, access<r>, lan<node>) into a pcap file;
    /// repeatable.
    #[arg(long, num_args = 2, value_names = ["LINK", "FILE"])]
    pcap: Vec<String>,
    /// Simulated seconds allowed per phase.
    #[arg(long, default_value_t = 6 * 3600)]
    phase_limit: u64,
    /// Also print the invariant violations, one per line, on stderr.
    #[arg(long)]
    explain: bool,
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let started = std::time::Instant::now();
    let mut config = SimConfig::new(args.cpes, args.relays, args.depth, args.seed);
    config.loss = args.loss;
    config.renumber = args.renumber;
    config.phase_limit = Duration::from_secs(args.phase_limit);
    config.pcap = args
        .pcap
        .chunks(2)
        .map(|c| (c[0].clone(), PathBuf::from(&c[1])))
        .collect();
    let mut sim = Sim::new(config)?;
    let report = sim.run();
    sim.finish()?;
    if args.explain {
        for (at, v) in sim.violation_log() {
            eprintln!("at {at:?}: {v:?}");
        }
    }
    println!(
        "{}",
        json_line(&report, started.elapsed().as_secs_f64(), peak_rss_mb())
    );
    Ok(())
}
