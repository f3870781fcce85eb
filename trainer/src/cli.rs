//! Command-line interface: one subcommand per job, each `--help` ending with an example.

use clap::{CommandFactory, Parser, Subcommand};

use crate::eval::{self, EvalArgs};
use crate::export::{self, ExportArgs};
use crate::finetune::{self, FinetuneArgs};
use crate::generate::{self, GenerateArgs};
use crate::info::{self, InfoArgs};
use crate::markov::{self, MarkovArgs};
use crate::measure::{self, MeasureArgs};
use crate::memory::{self, MemoryArgs};
use crate::prepare::{self, PrepareArgs};
use crate::regraph::{self, RegraphArgs};
use crate::ship::{self, ShipArgs};
use crate::train::{self, TrainArgs};
use crate::tunes::{self, TunesArgs};

/// Train and use Sideman's models.
#[derive(Debug, Parser)]
#[command(
    name = "trainer",
    version,
    about,
    after_help = "Fine-tune a default model on your own pieces (the producer's job, one command):\n  \
                  trainer finetune --from builtin:melody --input ~/my-songs --style \"Folk / Mine\" --out my-model --minutes 15\n\
                  Every subcommand's --help ends with an example."
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Commands,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Commands {
    /// Fine-tune a model on your own pieces within a time budget: prepare, train, export, and a
    /// before/after report.
    #[command(
        after_help = "Example:\n  trainer finetune --from builtin:band --input ~/my-grooves --style \"Funk / Mine\" \\\n    \
                            --out my-band --minutes 15 --reference data/band\n\
                            Then load my-band in the plugin, or: trainer generate my-band --role drums --style \"Funk / Mine\" ..."
    )]
    Finetune(FinetuneArgs),
    /// Turn folders of MIDI files and WJazzD CSV pairs into a tokenized dataset.
    #[command(
        after_help = "Example:\n  trainer prepare --input ../shared/data/midi/bach-chorales=piano --out data/chorales \\\n    \
                            --transpose all-keys --vocab builtin:melody"
    )]
    Prepare(PrepareArgs),
    /// Train the variable-order Markov baseline on a prepared dataset into a model package.
    #[command(after_help = "Example:\n  trainer markov --data data/melody --out runs/markov-melody")]
    Markov(MarkovArgs),
    /// Train (or fine-tune, with --init) a transformer on a prepared dataset.
    #[command(
        after_help = "Examples:\n  trainer train --data data/melody --out runs/melody --config trainer/configs/melody-cpu.toml\n  \
                            trainer train --out runs/melody --resume\n  \
                            trainer train --init builtin:melody --data data/chorales --out runs/ft --config trainer/configs/finetune.toml"
    )]
    Train(TrainArgs),
    /// Export a training run to a model package (ONNX fp32 + int8, manifest).
    #[command(
        after_help = "Example:\n  trainer export runs/melody --out packages/melody --name \"Melody (folk, chorales)\""
    )]
    Export(ExportArgs),
    /// Evaluate a model package against the Markov baseline (likelihood and music metrics).
    #[command(
        after_help = "Example:\n  trainer eval builtin:jazz-lead --data data/wjazzd --split test --baseline runs/markov-wjazzd --json out/report.json"
    )]
    Eval(EvalArgs),
    /// Generate a Standard MIDI File over a chord progression with a model package.
    #[command(
        after_help = "Examples:\n  trainer generate builtin:jazz-lead --role lead --chords \"Dm7 G7 Cmaj7 Cmaj7\" --bars 16 --out out/solo.mid\n  \
                            trainer generate builtin:band --role drums --style swing --chords \"C7 F7\" --bars 8 --tempo 120 --out out/drums.mid\n  \
                            trainer generate builtin:drums --role drums --style hiphop --bars 4 --tempo 95 --feel 100 --fills 4 --out out/groove.mid"
    )]
    Generate(GenerateArgs),
    /// The music report's metrics of MIDI files, one column per file or folder: set what a model
    /// generated beside human performances.
    #[command(
        after_help = "Example:\n  trainer generate builtin:drums --role drums --style funk --bars 8 --out out/funk.mid\n  \
                            trainer measure --role drums generated=out/funk.mid human=../shared/data/gmd/drummer1/session1"
    )]
    Measure(MeasureArgs),
    /// Copy an evaluated package's int8 graph into a default-model asset folder with its card.
    #[command(
        after_help = "Example:\n  trainer ship runs/band-pkg --out models/assets/band --report out/band-test.json"
    )]
    Ship(Box<ShipArgs>),
    /// Fit a model's piece memory on prepared pieces: how much each role keeps to what it played
    /// after the figure it is playing, by the length of the match; prints the `trainer ship
    /// --memory` flags.
    #[command(after_help = "Example:\n  trainer memory builtin:melody --data data/melody --split train")]
    Memory(MemoryArgs),
    /// Fit how a tune played alone is heard as chords (the input follower's, on lead sheets), and
    /// measure what the follower names over held-out tunes against their lead sheets' chords.
    #[command(after_help = "Example:
  trainer prepare --input ../shared/data/openewld --out data/openewld
  trainer tunes --data data/openewld --out models/assets/harmony/tunes.json --measure valid --measure test")]
    Tunes(TunesArgs),
    /// Write a package's network again in another ONNX graph (the fused one by default), same
    /// weights; updates its manifest and its card's decode speed.
    #[command(after_help = "Examples:
  trainer regraph my-model
  trainer regraph builtin:jazz-lead --out models/assets/jazz-lead")]
    Regraph(RegraphArgs),
    /// Show what a model package is: roles, styles, size, data and licences, metrics, its card.
    #[command(after_help = "Examples:\n  trainer info builtin:melody\n  trainer info my-model")]
    Info(InfoArgs),
    /// Print a shell completion script.
    #[command(
        after_help = "Example (bash):\n  trainer completions bash > ~/.local/share/bash-completion/completions/trainer"
    )]
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

impl Cli {
    /// Runs the chosen subcommand.
    pub fn run(&self) -> anyhow::Result<()> {
        match &self.command {
            Commands::Finetune(args) => finetune::run(args),
            Commands::Prepare(args) => prepare::run(args),
            Commands::Markov(args) => markov::run(args),
            Commands::Train(args) => train::run(args),
            Commands::Export(args) => export::run(args),
            Commands::Eval(args) => eval::run(args),
            Commands::Generate(args) => generate::run(args),
            Commands::Measure(args) => measure::run(args),
            Commands::Ship(args) => ship::run(args),
            Commands::Memory(args) => memory::run(args),
            Commands::Tunes(args) => tunes::run(args),
            Commands::Regraph(args) => regraph::run(args),
            Commands::Info(args) => info::run(args),
            Commands::Completions { shell } => {
                clap_complete::generate(*shell, &mut Cli::command(), "trainer", &mut std::io::stdout());
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Splits a shell command line: words, "double-quoted" words, `\` line continuations.
    fn words(line: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut cur = String::new();
        let (mut quoted, mut any) = (false, false);
        for c in line.chars() {
            match c {
                '"' => {
                    quoted = !quoted;
                    any = true;
                }
                '\\' if !quoted => {}
                c if c.is_whitespace() && !quoted => {
                    if any {
                        out.push(std::mem::take(&mut cur));
                        any = false;
                    }
                }
                c => {
                    cur.push(c);
                    any = true;
                }
            }
        }
        if any {
            out.push(cur);
        }
        out
    }

    /// `trainer completions <shell>` knows every subcommand.
    #[test]
    fn completions_cover_every_subcommand() {
        for shell in [
            clap_complete::Shell::Bash,
            clap_complete::Shell::Zsh,
            clap_complete::Shell::Fish,
        ] {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "trainer", &mut out);
            let text = String::from_utf8(out).unwrap();
            for sub in Cli::command().get_subcommands() {
                assert!(
                    text.contains(sub.get_name()),
                    "{shell:?} completions lack {}",
                    sub.get_name()
                );
            }
        }
    }

    /// Every example in every `--help` is a command line the parser accepts.
    #[test]
    fn every_help_example_parses() {
        let cmd = Cli::command();
        let mut texts = vec![cmd.get_after_help().map(|h| h.to_string()).unwrap_or_default()];
        for sub in cmd.get_subcommands() {
            let help = sub.get_after_help().map(|h| h.to_string());
            assert!(
                help.as_deref().is_some_and(|h| h.contains("trainer ")),
                "`trainer {} --help` has no example",
                sub.get_name()
            );
            texts.extend(help);
        }
        let mut checked = 0;
        for text in texts {
            // Join continued lines, then take every line that runs the trainer.
            let joined = text.replace("\\\n", " ");
            for line in joined.lines().map(str::trim).filter(|l| l.starts_with("trainer ")) {
                let line = line.split(" > ").next().unwrap_or(line);
                let w = words(line);
                if let Err(e) = Cli::try_parse_from(&w) {
                    panic!("example does not parse: {line}\n{e}");
                }
                checked += 1;
            }
        }
        assert!(checked >= 12, "{checked} examples");
    }
}
