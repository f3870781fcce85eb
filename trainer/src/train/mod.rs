//! `trainer train`: the training loop.
//!
//! AdamW (our own, so its state can be checkpointed), linear warm-up then cosine decay, global
//! gradient-norm clipping, loss only on the positions [`models::tokenizer::predicted_mask`] marks,
//! validation each epoch with early stopping, and atomic checkpoints every N steps. `--resume`
//! continues exactly: the data order is a pure function of (seed, epoch) and the checkpoint holds
//! the parameters, the optimizer moments and the position in the epoch.
//!
//! Run folder:
//! ```text
//! <out>/config.toml          the full configuration (model + training)
//! <out>/vocab.json           vocabulary (with the style names of the data)
//! <out>/metrics.csv          step, epoch, lr, train loss, valid loss, tokens/s, elapsed
//! <out>/loss.png             loss curve, redrawn as training goes
//! <out>/checkpoints/step-N/  params.safetensors, optim.safetensors, state.json
//! <out>/checkpoints/latest   name of the newest complete checkpoint
//! <out>/best.safetensors     parameters with the best validation loss
//! <out>/summary.json         written at the end
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use models::Role;
use models::tokenizer::Vocab;
use serde::{Deserialize, Serialize};

use crate::dataset::write_atomic;
use crate::model::ModelConfig;

mod optim;
mod parallel;
mod run_loop;
mod step_timing;
mod windows;

pub use optim::{AdamW, lr_at};
pub use parallel::{batch_gradients, parts_for};
pub use run_loop::{
    Interrupted, RunOptions, RunState, Summary, evaluate, is_training, load_params, param_tensors, request_stop,
    stop_requested, train_run, train_run_with,
};
pub use step_timing::{BENCH_BATCH, BENCH_CONTEXT, StepTime, time_steps};
pub use windows::{
    Batch, RunData, Window, WindowDraws, balance_pieces, balance_roles, drop_styles, load_data, make_batch,
    oversample_styles, split_windows, windows_of, windows_with_dropout,
};

/// Optimisation settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainParams {
    /// Windows per batch.
    pub batch_size: usize,
    /// Peak learning rate.
    pub lr: f64,
    /// Final learning rate as a fraction of `lr`.
    pub min_lr_ratio: f64,
    /// Linear warm-up steps.
    pub warmup_steps: u64,
    /// Epochs at most.
    pub max_epochs: u64,
    /// Steps at most (0: no limit besides epochs); also the horizon of the cosine schedule.
    pub max_steps: u64,
    /// AdamW decoupled weight decay (matrices only).
    pub weight_decay: f64,
    /// AdamW beta1.
    pub beta1: f64,
    /// AdamW beta2.
    pub beta2: f64,
    /// AdamW epsilon.
    pub eps: f64,
    /// Global gradient-norm clip (0: off).
    pub grad_clip: f64,
    /// Steps between checkpoints.
    pub checkpoint_every: u64,
    /// Steps between metrics rows.
    pub log_every: u64,
    /// Epochs (or `eval_every` evaluations) without validation improvement before stopping
    /// (0: never stop early).
    pub patience: u64,
    /// Also validate every this many steps (0: only at the end of each epoch); for datasets whose
    /// epoch is longer than the run.
    pub eval_every: u64,
    /// Training windows start every this many bars.
    pub window_stride_bars: u32,
    /// Bars sliced per window before truncation to the context.
    pub window_bars: u32,
    /// Most validation windows used per evaluation (a fixed seeded subset).
    pub valid_windows: usize,
    /// Fine-tuning: freeze the embedding and this many lower blocks.
    pub freeze_layers: usize,
    /// Checkpoints kept.
    pub keep_checkpoints: usize,
    /// Oversample the training windows of rarer roles, each by at most this factor, towards the
    /// count of the commonest role (0 or 1: off). MMA grooves, say, hold one drum part per groove
    /// but twelve transposed bass and comping parts.
    pub balance_roles: usize,
    /// Repeat the training windows of each sequence with fewer windows than most of its role's,
    /// each by at most this factor, so that short pieces weigh more like long ones (0 or 1: off;
    /// [`balance_pieces`]).
    pub balance_pieces: usize,
    /// Fraction of windows (training and validation) whose `IN` conditioning is dropped, so the
    /// model learns to follow the chord symbols alone (0: keep every input).
    pub input_dropout: f64,
    /// Fraction of the windows that keep their `IN` conditioning whose input is replaced by
    /// their chords struck where they change (`trainer eval --chords-as-input`'s), so the model
    /// learns what its role plays over a user who only holds chords (0: never).
    pub input_as_chords: f64,
    /// The chords struck in place of the input (`input_as_chords`) moved by a whole number of
    /// octaves drawn per window from `-n..=n`, so the model hears them where a user may hold them
    /// (a left hand below middle C, both hands, a right hand above it) and not only in
    /// [`crate::eval::chord_onsets`]' one register (0: that register alone).
    pub input_chord_octaves: u8,
    /// Fraction of the windows (training and validation) whose chord symbols are named by their
    /// triads (Cmaj7 as C), as a user who holds triads names them, the notes unchanged: a corpus
    /// over seventh chords alone otherwise never shows the model a triad (0: never).
    pub chord_triads: f64,
    /// Fraction of the windows (training and validation) that lose their chord symbols, so a
    /// role whose chords were named from its own notes (`trainer prepare --name-chords`) still
    /// plays where none are given: a sketch continued without a progression (0: never).
    pub chord_dropout: f64,
    /// Repeat the training windows whose header holds one of these style tags this many times
    /// (`{ fill = 8 }`): the Groove MIDI Dataset's fills are one bar each against long beats, 6 %
    /// of the windows, too few for the model to learn what the tag asks.
    pub oversample: std::collections::BTreeMap<String, usize>,
    /// Drop each header style tag matching a key (a name, or a prefix ending in `*`) from a
    /// window with this probability (`{ "drummer*" = 0.5 }`), training and validation windows
    /// alike, so the model also learns the headers a user writes with fewer tags: the Groove
    /// MIDI Dataset names a drummer in every header, and a producer who asks for `rock` alone
    /// otherwise gets a header the model never saw.
    pub style_dropout: std::collections::BTreeMap<String, f64>,
    /// Give the windows that start at a sequence's first bar the opening tag
    /// ([`models::tokenizer::vocab::OPENING_STYLE`], added to the vocabulary), so the model learns
    /// how a piece opens and the generation session can ask for it.
    pub opening: bool,
}

impl Default for TrainParams {
    fn default() -> Self {
        TrainParams {
            batch_size: 16,
            lr: 1e-3,
            min_lr_ratio: 0.1,
            warmup_steps: 200,
            max_epochs: 30,
            max_steps: 0,
            weight_decay: 0.1,
            beta1: 0.9,
            beta2: 0.95,
            eps: 1e-8,
            grad_clip: 1.0,
            checkpoint_every: 500,
            log_every: 10,
            patience: 3,
            eval_every: 0,
            window_stride_bars: 4,
            window_bars: 32,
            valid_windows: 1024,
            freeze_layers: 0,
            keep_checkpoints: 2,
            balance_roles: 0,
            balance_pieces: 0,
            input_dropout: 0.0,
            input_as_chords: 0.0,
            input_chord_octaves: 0,
            chord_triads: 0.0,
            chord_dropout: 0.0,
            oversample: std::collections::BTreeMap::new(),
            style_dropout: std::collections::BTreeMap::new(),
            opening: false,
        }
    }
}

/// A training configuration file (`trainer/configs/*.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Network shape (default: the `small` model; replaced by the package's when fine-tuning).
    #[serde(default = "default_model")]
    pub model: ModelConfig,
    /// Optimisation.
    #[serde(default)]
    pub train: TrainParams,
}

impl TrainConfig {
    /// Reads a TOML configuration.
    pub fn load(path: &Path) -> anyhow::Result<TrainConfig> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let cfg: TrainConfig =
            toml::from_str(&text).with_context(|| format!("{} is not a training config", path.display()))?;
        cfg.model.validate()?;
        Ok(cfg)
    }
}

/// `trainer train` arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct TrainArgs {
    /// Prepared dataset folder (from `trainer prepare`); a resumed run reads it from its folder.
    #[arg(long, required_unless_present = "resume")]
    pub data: Option<PathBuf>,
    /// Run folder (created; with --resume, the run to continue).
    #[arg(long)]
    pub out: PathBuf,
    /// Training configuration (TOML). Default: trainer/configs/small.toml's values.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Continue the run in --out from its latest checkpoint, with the seed, data, configuration
    /// and starting package it was started with (read from the run folder; a flag that
    /// contradicts them is refused).
    #[arg(long)]
    pub resume: bool,
    /// Seed of initialisation and data order (default 1).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Fine-tune: start from this model package (its network shape replaces the config's, except a longer context or the context features (or the tempo or style features) the config file asks for).
    #[arg(long)]
    pub init: Option<PathBuf>,
    /// Stop after this many steps in total (overrides the config; the schedule keeps its horizon).
    #[arg(long)]
    pub stop_after: Option<u64>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

fn default_model() -> ModelConfig {
    default_config().model
}

/// The built-in default configuration: the `small` model that trains on a CPU laptop.
pub fn default_config() -> TrainConfig {
    TrainConfig {
        model: ModelConfig {
            layers: 4,
            d_model: 256,
            heads: 4,
            d_ff: 1024,
            context: 256,
            rope_base: 10_000.0,
            rope_span: 4,
            vocab: models::tokenizer::VOCAB_SIZE as usize,
            features: true,
            tempo_feature: false,
            style_feature: false,
            harmony_feature: false,
            relative_pitch: false,
            given_kind: false,
        },
        train: TrainParams::default(),
    }
}

/// What the run folder holds besides checkpoints: written once at the start.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunInfo {
    /// Seed.
    pub seed: u64,
    /// Dataset folder.
    pub data: PathBuf,
    /// Package the run was initialised from.
    pub init: Option<PathBuf>,
    /// Training data provenance.
    pub sources: Vec<models::package::DataSource>,
    /// MICRO tokens.
    pub microtiming: bool,
    /// Roles in the data.
    #[serde(default)]
    pub roles: Vec<Role>,
    /// The register of each pitched role in the training split, widened by the initial
    /// package's (`models::package::Manifest::register`); export writes it. Absent from runs
    /// started before 2026-12-03.
    #[serde(default)]
    pub registers: BTreeMap<String, [u8; 2]>,
    /// Bars of each time signature in the training split, with the initial package's added
    /// (`models::package::Manifest::meters`); export writes it. Absent from runs started before
    /// 2026-12-05.
    #[serde(default)]
    pub meters: crate::dataset::MeterBars,
    /// The roles its data (and the initial package) gave nothing to hear
    /// (`models::package::Manifest::no_input`); export writes it. Absent from runs started before
    /// 2026-12-06 (export then writes none).
    #[serde(default)]
    pub no_input: Vec<String>,
    /// The pitched roles its data (and the initial package) gave no chord
    /// (`models::package::Manifest::no_chords`); export writes it. Absent from runs started
    /// before 2026-12-06, evening (export then writes none).
    #[serde(default)]
    pub no_chords: Vec<String>,
}

/// What a resumed run was started with (its `run.json`), checked against the flags given now.
fn resume_info(args: &TrainArgs) -> anyhow::Result<RunInfo> {
    let path = args.out.join("run.json");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("{} holds no run to resume (no run.json)", args.out.display()))?;
    let info: RunInfo = serde_json::from_str(&text).with_context(|| format!("{} is damaged", path.display()))?;
    let same = |a: &Path, b: &Path| a == b || a.canonicalize().ok().is_some_and(|x| b.canonicalize().ok() == Some(x));
    if let Some(seed) = args.seed
        && seed != info.seed
    {
        bail!(
            "the run in {} was started with --seed {}; --resume continues it with that seed (leave --seed out)",
            args.out.display(),
            info.seed
        );
    }
    if let Some(d) = &args.data
        && !same(d, &info.data)
    {
        bail!(
            "the run in {} trains on {}; --resume continues it on that data (leave --data out)",
            args.out.display(),
            info.data.display()
        );
    }
    if args.config.is_some() {
        bail!(
            "a resumed run keeps the configuration it started with ({}); leave --config out, or edit that file",
            args.out.join("config.toml").display()
        );
    }
    if args.init.is_some() && args.init != info.init {
        bail!(
            "the run in {} started from {}; --resume cannot change --init",
            args.out.display(),
            info.init
                .as_ref()
                .map_or("random weights".to_string(), |p| p.display().to_string())
        );
    }
    Ok(info)
}

/// `trainer train`.
pub fn run(args: &TrainArgs) -> anyhow::Result<()> {
    let (mut cfg, init_params, init_vocab) = if args.resume {
        (TrainConfig::load(&args.out.join("config.toml"))?, None, None)
    } else {
        let mut cfg = match &args.config {
            Some(p) => TrainConfig::load(p)?,
            None => default_config(),
        };
        match &args.init {
            Some(pkg) => {
                let (model_cfg, params, vocab) = crate::export::read_package_weights(&pkg.to_string_lossy())?;
                // The package's shape, plus context features and a longer context when a config
                // file asks for them (no weight depends on the context: rotary positions extend,
                // and the exported tables cover the new length).
                let (features, tempo, style, harmony, relative, context, given_kind) = (
                    cfg.model.features,
                    cfg.model.tempo_feature,
                    cfg.model.style_feature,
                    cfg.model.harmony_feature,
                    cfg.model.relative_pitch,
                    cfg.model.context,
                    cfg.model.given_kind,
                );
                cfg.model = model_cfg;
                cfg.model.relative_pitch |= relative;
                cfg.model.given_kind |= given_kind;
                cfg.model.features |= features || tempo || style || harmony || relative;
                cfg.model.tempo_feature |= tempo || style || harmony;
                cfg.model.style_feature |= style || harmony;
                cfg.model.harmony_feature |= harmony;
                if args.config.is_some() {
                    cfg.model.context = cfg.model.context.max(context);
                }
                (cfg, Some(params), Some(vocab))
            }
            None => (cfg, None, None),
        }
    };
    if args.resume {
        let info = resume_info(args)?;
        // The vocabulary of a resumed run is the one it started with.
        let v = Vocab::from_json(&std::fs::read_to_string(args.out.join("vocab.json"))?)?;
        let data = load_data(&info.data, &cfg, Some(v), info.seed)?;
        let s = train_run(
            &args.out,
            &cfg,
            &data,
            info.seed,
            true,
            args.stop_after,
            None,
            args.quiet,
        )?;
        print_summary(&args.out, &s);
        return Ok(());
    }
    let data_dir = args.data.clone().context("--data is needed to start a run")?;
    let seed = args.seed.unwrap_or(1);
    let data = load_data(&data_dir, &cfg, init_vocab, seed)?;
    cfg.model.validate()?;
    // A fine-tuned model carries the provenance and licences of both its datasets.
    let mut sources = data.sources.clone();
    let mut roles = data.roles.clone();
    let mut registers = data.registers.clone();
    let mut meters = data.meters.clone();
    let mut no_input = data.no_input.clone();
    let mut no_chords = data.no_chords.clone();
    if let Some(pkg) = &args.init {
        let m = models::package::Package::open(&pkg.to_string_lossy())?.manifest;
        no_input = crate::dataset::merge_no_input(&no_input, &data.roles, &m);
        no_chords = crate::dataset::merge_no_chords(&no_chords, &data.roles, &m);
        registers = crate::dataset::widen_registers(registers, &m.register);
        meters = crate::dataset::add_meters(meters, &m.meters);
        sources.extend(
            m.data
                .into_iter()
                .filter(|d| !data.sources.iter().any(|s| s.name == d.name)),
        );
        roles.extend(m.roles.iter().filter(|r| !data.roles.contains(r)));
    }
    let info = RunInfo {
        seed,
        data: data_dir.clone(),
        init: args.init.clone(),
        sources,
        microtiming: data.microtiming,
        roles,
        registers,
        meters,
        no_input,
        no_chords,
    };
    std::fs::create_dir_all(&args.out)?;
    write_atomic(
        &args.out.join("run.json"),
        serde_json::to_string_pretty(&info)?.as_bytes(),
    )?;
    eprintln!(
        "model {} parameters; {} training windows, {} validation windows",
        cfg.model.parameters(),
        data.train.len(),
        data.valid.len()
    );
    cfg.model.vocab = models::tokenizer::VOCAB_SIZE as usize;
    let s = train_run(
        &args.out,
        &cfg,
        &data,
        seed,
        false,
        args.stop_after,
        init_params,
        args.quiet,
    )?;
    print_summary(&args.out, &s);
    Ok(())
}

fn print_summary(out: &Path, s: &Summary) {
    println!("{}\nrun folder: {}", summary_line(s), out.display());
}

/// One line on a finished run: steps, speed, and which step's parameters are the best.
pub fn summary_line(s: &Summary) -> String {
    let best = match s.state.best_valid {
        Some(v) => format!(
            "best validation loss {v:.4} at step {} of {} (the parameters `trainer export` writes)",
            s.state.best_step, s.state.step
        ),
        None => "not validated".into(),
    };
    let why = if s.state.stopped_early {
        " (stopped early: validation stopped improving)"
    } else if s.state.budget_reached {
        " (time budget reached)"
    } else {
        ""
    };
    format!(
        "{} steps, {} epochs, {:.0} tokens/s, {:.0} s{why}; {best}",
        s.state.step, s.state.epoch, s.tokens_per_s, s.state.seconds
    )
}

/// Keeps the memory of freed tensors in the process's heap (Linux with glibc; elsewhere nothing).
///
/// A training step allocates and frees the same large tensors every time (the logits of a batch are
/// 20 MB). glibc's malloc serves such blocks with fresh `mmap`s and trims the heap top when they
/// are freed, so each step faults in zeroed pages again: a fifth of a one-thread step went to the
/// kernel clearing pages (`perf`, the default 3.5 M-parameter model). Raising the mmap threshold to
/// its maximum (32 MB) and not trimming keeps those pages; one thread trains 12-20 % more tokens a
/// second (`cargo run --release -p sideman-trainer --example step_bench`, 8 steps, with and
/// without), at the cost of the process keeping its peak memory until it ends.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes the allocator's tuning parameters; it is called before the
    // training threads start allocating.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
    }
}
