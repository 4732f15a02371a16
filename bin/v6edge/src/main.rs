//! `v6edge`: IPv6 edge router daemon and its control tool.
//!
//! Exit codes: 0 success, 1 error (message on stderr), 2 usage error (clap).

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let cli = v6edge::cli::Cli::parse();
    match v6edge::cli::execute(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // `{:#}` prints the context chain on one line; a configuration
            // error has none and prints exactly as `FILE:LINE: reason`.
            eprintln!("{e:#}");
            ExitCode::from(1)
        }
    }
}
