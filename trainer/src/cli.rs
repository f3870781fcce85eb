//! Command-line interface: one subcommand per job.

use clap::{Parser, Subcommand};

use crate::eval::{self, EvalArgs};
use crate::export::{self, ExportArgs};
use crate::generate::{self, GenerateArgs};
use crate::info::{self, InfoArgs};
use crate::markov::{self, MarkovArgs};
use crate::prepare::{self, PrepareArgs};
use crate::ship::{self, ShipArgs};
use crate::train::{self, TrainArgs};

/// Train and use Sideman's models.
#[derive(Debug, Parser)]
#[command(name = "trainer", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Commands,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Commands {
    /// Turn folders of MIDI files and WJazzD CSV pairs into a tokenized dataset.
    Prepare(PrepareArgs),
    /// Train the variable-order Markov baseline on a prepared dataset into a model package.
    Markov(MarkovArgs),
    /// Train (or fine-tune, with --init) a transformer on a prepared dataset.
    Train(TrainArgs),
    /// Export a training run to a model package (ONNX fp32 + int8, manifest).
    Export(ExportArgs),
    /// Evaluate a model package against the Markov baseline (likelihood and music metrics).
    Eval(EvalArgs),
    /// Generate a Standard MIDI File over a chord progression with a model package.
    Generate(GenerateArgs),
    /// Copy an evaluated package's int8 graph into a default-model asset folder with its card.
    Ship(ShipArgs),
    /// Show what a model package is: roles, styles, size, data and licences, metrics, its card.
    Info(InfoArgs),
}

impl Cli {
    /// Runs the chosen subcommand.
    pub fn run(&self) -> anyhow::Result<()> {
        match &self.command {
            Commands::Prepare(args) => prepare::run(args),
            Commands::Markov(args) => markov::run(args),
            Commands::Train(args) => train::run(args),
            Commands::Export(args) => export::run(args),
            Commands::Eval(args) => eval::run(args),
            Commands::Generate(args) => generate::run(args),
            Commands::Ship(args) => ship::run(args),
            Commands::Info(args) => info::run(args),
        }
    }
}
