//! `trainer`: datasets, training, export, evaluation and offline generation for Sideman models.

use std::process::ExitCode;

use clap::Parser;

use sideman_trainer::{cli, train};

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    train::keep_freed_memory();
    // Ctrl-C: a training loop writes a checkpoint and stops; anything else (or a second Ctrl-C)
    // ends at once.
    let _ = ctrlc::set_handler(|| {
        if !train::is_training() || train::stop_requested() {
            std::process::exit(130);
        }
        train::request_stop();
        eprintln!("\nstopping after this step: writing a checkpoint (Ctrl-C again quits at once)");
    });
    match cli.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            if e.is::<train::Interrupted>() {
                ExitCode::from(130)
            } else {
                ExitCode::from(2)
            }
        }
    }
}
