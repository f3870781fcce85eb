//! `trainer`: datasets, training, export, evaluation and offline generation for Sideman models.

use std::process::ExitCode;

use clap::Parser;

use sideman_trainer::cli;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match cli.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
