//! `trainer finetune`: the producer's job in one command. From a shipped model (or any package)
//! and a folder of the user's pieces with a style tag to a package the plugin loads, within a time
//! budget, with a before/after report.
//!
//! 1. `prepare` the pieces into `<out>.work/data` with the model's vocabulary (the style gets a
//!    slot), every pitched piece in 12 keys, validation and test pieces carved from the user's own
//!    (never zero, see [`crate::dataset::assign_splits`]).
//! 2. Measure the starting model: likelihood on the user's test pieces, on the model's own
//!    validation data (`--reference`, to see forgetting), and the music report on the test pieces.
//! 3. Time a training step, turn what is left of `--minutes` into a step count, train from the
//!    model's weights (int8 packages dequantized) with `trainer/configs/finetune.toml`'s settings,
//!    validating on the user's validation pieces, keeping the best step.
//! 4. Export the best step (fp32 + int8) and measure it the same way; the card gets the table.
//!
//! Ctrl-C writes a checkpoint; `--resume` continues the same fine-tune.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use candle_core::Device;
use models::Role;
use models::package::{Manifest, ModelKind, Package};
use models::runtime::{OnnxModel, Variant};
use models::tokenizer::{Tokenizer, Vocab};
use serde::{Deserialize, Serialize};

use crate::dataset::{Dataset, write_atomic};
use crate::eval::{EvalSplit, Scores, load_eval_split, score_split};
use crate::report::RoleReport;
use crate::train::{RunInfo, RunOptions, TrainConfig, load_data, train_run_with};

/// The default fine-tuning settings (also `trainer/configs/finetune.toml`).
pub const FINETUNE_TOML: &str = include_str!("../configs/finetune.toml");

/// Bars per scoring window in the before/after likelihood.
const SCORE_BARS: u32 = 8;
/// Sequences of the reference data scored for forgetting (a fixed prefix, for time).
const REFERENCE_SEQUENCES: usize = 160;
/// Validations spread over the run.
const VALIDATIONS: u64 = 8;

/// `trainer finetune` arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct FinetuneArgs {
    /// The model to start from: `builtin:<id>` (melody, jazz-lead, band) or a package folder.
    #[arg(long)]
    pub from: String,
    /// Your pieces: folders searched recursively for MIDI files and MusicXML scores. Append `=ROLE`
    /// to merge every pitched track into one part of ROLE (`my-songs=piano`).
    #[arg(long = "input", required = true, num_args = 1..)]
    pub inputs: Vec<String>,
    /// The style your pieces are tagged with; the plugin's Style menu lists it
    /// (for example "Modern / Satie, Erik / Piano").
    #[arg(long)]
    pub style: String,
    /// The chord progression your pieces were played over, for pieces without chord symbols of
    /// their own (as `trainer prepare --chords`): one bar each, repeated ("Dm7 G7 Cmaj7 A7"). A
    /// band's bass and comping follow the chords the plugin hears, so give it when your grooves
    /// share one progression.
    #[arg(long)]
    pub chords: Option<String>,
    /// Also tag each of your MIDI tunes with its kind, read from its title ("Kitty's -- Reel",
    /// "The Boys of Bockhill - Jig"), as `trainer prepare --tune-kinds`: the plugin's Style menu
    /// then offers the kinds (reel, jig, hornpipe...) beside your style, and `builtin:melody`
    /// already knows them.
    #[arg(long)]
    pub tune_kinds: bool,
    /// Package folder to write: what the plugin loads (open its folder in the editor's model
    /// picker).
    #[arg(long)]
    pub out: PathBuf,
    /// Minutes the whole command may take: preparing, measuring, training, exporting.
    #[arg(long, default_value_t = 15.0, value_parser = crate::args::minutes)]
    pub minutes: f64,
    /// Only learn these roles (default: every role of your pieces that the model plays).
    #[arg(long, value_delimiter = ',', value_parser = crate::args::roles())]
    pub role: Vec<String>,
    /// The model's own data, prepared (`trainer prepare`): forgetting is measured on its
    /// validation split. Without it the report says forgetting was not measured.
    #[arg(long)]
    pub reference: Option<PathBuf>,
    /// Share of the training windows drawn from the --reference data's training split
    /// (rehearsal: the model keeps playing what it knew while it learns your pieces).
    #[arg(long, default_value_t = 0.5, value_parser = crate::args::share)]
    pub rehearsal: f64,
    /// Training settings (TOML like trainer/configs/finetune.toml, whose values are the default);
    /// the step count comes from --minutes unless the file sets max_steps.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Seed of initialisation order, data order and the report's sampling.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Pieces per role in the before/after music report (default: every held-out piece, as
    /// `trainer eval` measures; N: the first N of each role, quicker; 0: likelihood only).
    #[arg(long)]
    pub samples: Option<usize>,
    /// Replace --out (and its work folder `<out>.work`) when they exist.
    #[arg(long)]
    pub force: bool,
    /// Continue a fine-tune stopped by Ctrl-C (or a crash) from `<out>.work`.
    #[arg(long, conflicts_with = "force")]
    pub resume: bool,
    /// No progress bars.
    #[arg(long)]
    pub quiet: bool,
}

/// One model measured on the user's held-out pieces and on its own validation data.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Measured {
    /// Likelihood on the user's test pieces, by role and "all".
    pub user: BTreeMap<String, Scores>,
    /// Likelihood on the reference validation split, by role and "all".
    pub reference: Option<BTreeMap<String, Scores>>,
    /// Music report on the user's test pieces.
    pub music: BTreeMap<String, RoleReport>,
    /// Seconds the measurement took.
    pub seconds: f64,
}

/// What `trainer finetune` writes beside the package (`<out>.work/finetune.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FinetuneReport {
    /// The starting model.
    pub from: String,
    /// The style tag.
    pub style: String,
    /// The user's pieces by split.
    pub pieces: BTreeMap<String, u64>,
    /// The starting model.
    pub before: Measured,
    /// The fine-tuned model.
    pub after: Option<Measured>,
    /// Steps planned from the budget.
    pub steps: u64,
    /// The step exported (best validation).
    pub best_step: u64,
    /// Wall-clock seconds of the whole command.
    pub seconds: f64,
}

impl FinetuneReport {
    /// Relative change of the user's test NLL (negative: better).
    pub fn user_change(&self) -> Option<f64> {
        let a = self.after.as_ref()?;
        Some(a.user.get("all")?.nll / self.before.user.get("all")?.nll - 1.0)
    }

    /// Relative change of the reference validation NLL (positive: forgetting).
    pub fn forgetting(&self) -> Option<f64> {
        let a = self.after.as_ref()?.reference.as_ref()?;
        let b = self.before.reference.as_ref()?;
        Some(a.get("all")?.nll / b.get("all")?.nll - 1.0)
    }
}

fn work_dir(out: &Path) -> PathBuf {
    let mut name = out.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".work");
    out.with_file_name(name)
}

/// Likelihood of `pkg` on the first `limit` sequences of a dataset split (0: all).
fn likelihood(pkg: &Package, ds: &Dataset, split: EvalSplit, limit: usize) -> anyhow::Result<BTreeMap<String, Scores>> {
    let ModelKind::Transformer { context_len, .. } = &pkg.manifest.model else {
        bail!("{} is not a transformer package", pkg.manifest.name);
    };
    let mut model = OnnxModel::load(pkg, Variant::PreferInt8)?;
    let data = load_eval_split(ds, split)?;
    let style_map = crate::eval::style_map(pkg, ds)?;
    let tok = Tokenizer::new(Vocab::new(), ds.manifest.microtiming);
    let n = if limit == 0 { data.seqs.len() } else { limit };
    score_split(
        &mut model,
        &data,
        n,
        &tok,
        *context_len as usize,
        SCORE_BARS,
        &style_map,
    )
}

fn measure(
    pkg: &Package,
    user: &Dataset,
    reference: Option<&Dataset>,
    args: &FinetuneArgs,
) -> anyhow::Result<Measured> {
    let t0 = Instant::now();
    let user_scores = likelihood(pkg, user, EvalSplit::Test, 0)?;
    let reference = reference
        .map(|r| likelihood(pkg, r, EvalSplit::Valid, REFERENCE_SEQUENCES))
        .transpose()?;
    let pieces = crate::eval::report_pieces(args.samples);
    let music = if pieces > 0 {
        let split = load_eval_split(user, EvalSplit::Test)?;
        let seqs: Vec<models::tokenizer::Sequence> = (0..split.seqs.len())
            .filter_map(|i| {
                let ids: Vec<u32> = split.seq(i).iter().map(|&t| t as u32).collect();
                models::tokenizer::decode(&ids).ok()
            })
            .collect();
        let style_map = crate::eval::style_map(pkg, user)?;
        let settings = crate::report::ReportSettings {
            pieces,
            bars: 16,
            seed: args.seed,
            draws: 1,
            fp32: false,
            knobs: crate::report::Knobs::default(),
        };
        crate::report::build(
            pkg,
            None,
            &seqs,
            &style_map,
            &user.manifest.vocab.styles,
            user.manifest.microtiming,
            &settings,
        )?
    } else {
        BTreeMap::new()
    };
    Ok(Measured {
        user: user_scores,
        reference,
        music,
        seconds: t0.elapsed().as_secs_f64(),
    })
}

/// Seconds one optimizer step takes on this machine (the second of two timed steps).
fn seconds_per_step(cfg: &TrainConfig, data: &crate::train::RunData) -> anyhow::Result<f64> {
    let dev = Device::Cpu;
    let (model, vm) = crate::model::Transformer::init(&cfg.model, &dev)?;
    let bsz = cfg.train.batch_size.max(1).min(data.train.len());
    let refs: Vec<&crate::train::Window> = data.train.iter().take(bsz).collect();
    let batch = crate::train::make_batch(&refs, &dev, cfg.model.given_kind)?;
    let mut opt = crate::train::AdamW::new(crate::model::sorted_vars(&vm), &cfg.train)?;
    let mut last = 0.0;
    for _ in 0..2 {
        let t = Instant::now();
        let logits = model.forward(&batch.inputs)?;
        let (loss, _) = crate::model::masked_loss(&logits, &batch.targets, &batch.weights)?;
        opt.step(&loss.backward()?, 0.0)?;
        last = t.elapsed().as_secs_f64();
    }
    Ok(last)
}

/// The roles to learn: those asked for, else every role the package plays.
fn roles_to_learn(pkg: &Package, asked: &[String]) -> anyhow::Result<Vec<String>> {
    if asked.is_empty() {
        return Ok(pkg.manifest.roles.iter().map(|r| r.name().to_string()).collect());
    }
    for r in asked {
        let role = Role::parse(r).with_context(|| format!("unknown role {r:?}"))?;
        if !pkg.manifest.roles.contains(&role) {
            let plays: Vec<&str> = pkg.manifest.roles.iter().map(|r| r.name()).collect();
            bail!(
                "{} does not play {r} (it plays {})",
                pkg.manifest.name,
                plays.join(", ")
            );
        }
    }
    Ok(asked.to_vec())
}

/// The roles of `learn` that sound chords (piano, comping) and whose network learned to follow
/// them: a producer's own piano or comping parts have no chord symbols, so their chords are named
/// from the parts themselves, as the base model's were (`trainer prepare --name-chords`) and as
/// the plugin names the chords a user plays. Without it the fine-tune would learn those parts
/// over no chords and stop following them.
fn chords_to_name(manifest: &Manifest, learn: &[String]) -> Vec<String> {
    learn
        .iter()
        .filter(|r| {
            Role::parse(r)
                .is_some_and(|role| matches!(role, Role::Piano | Role::Comping) && manifest.hears_chords(role))
        })
        .cloned()
        .collect()
}

/// `trainer finetune`.
pub fn run(args: &FinetuneArgs) -> anyhow::Result<()> {
    let t0 = Instant::now();
    let budget = args.minutes * 60.0;
    let work = work_dir(&args.out);
    let (data_dir, run_dir) = (work.join("data"), work.join("run"));
    let pkg = Package::open(&args.from).with_context(|| format!("cannot open the model {}", args.from))?;
    if !matches!(pkg.manifest.model, ModelKind::Transformer { .. }) {
        bail!(
            "{} is a Markov table: fine-tune a transformer (builtin:melody, builtin:jazz-lead, builtin:band)",
            args.from
        );
    }
    if args.resume {
        if !run_dir.join("checkpoints").exists() {
            bail!("{} holds no fine-tune to resume", work.display());
        }
    } else {
        for p in [&args.out, &work] {
            if p.exists() && !args.force {
                bail!(
                    "{} exists; --force replaces it, --resume continues an interrupted fine-tune",
                    p.display()
                );
            }
        }
        if work.exists() {
            std::fs::remove_dir_all(&work).with_context(|| format!("cannot remove {}", work.display()))?;
        }
        std::fs::create_dir_all(&work).with_context(|| format!("cannot write {}", work.display()))?;
        let role = roles_to_learn(&pkg, &args.role)?;
        let prepare = crate::prepare::PrepareArgs {
            inputs: args.inputs.clone(),
            out: data_dir.clone(),
            name_chords: chords_to_name(&pkg.manifest, &role),
            role,
            style_from: crate::prepare::StyleFrom::Auto,
            style: Some(args.style.clone()),
            transpose: crate::prepare::Transpose::AllKeys,
            microtiming: pkg.manifest.microtiming,
            vocab: Some(PathBuf::from(&args.from)),
            drum_map: crate::prepare::DrumMap::None,
            layout_depth: 3,
            tag_map: None,
            tune_kinds: args.tune_kinds,
            chords: args.chords.clone(),
        };
        crate::prepare::run(&prepare)?;
    }
    let user = Dataset::open(&data_dir)?;
    let reference = args.reference.as_deref().map(Dataset::open).transpose()?;
    let pieces: BTreeMap<String, u64> = user
        .manifest
        .splits
        .iter()
        .map(|(s, st)| (s.name().to_string(), st.pieces))
        .collect();
    let count = |s: &str| pieces.get(s).copied().unwrap_or(0);
    eprintln!(
        "your pieces: {} to train on, {} to validate with, {} held out for the report",
        count("train"),
        count("valid"),
        count("test")
    );
    if count("valid") == 0 || count("test") == 0 {
        bail!("too few pieces were read to hold some out: give at least 4 (40 or more fine-tune well)");
    }

    // The starting point.
    let report_path = work.join("finetune.json");
    let mut report: FinetuneReport = match std::fs::read_to_string(&report_path) {
        Ok(text) if args.resume => {
            let r: FinetuneReport = serde_json::from_str(&text).context("finetune.json is damaged")?;
            if r.style != args.style || r.from != args.from {
                bail!(
                    "the fine-tune in {} started from {} with --style {:?}; --resume continues it as it started",
                    work.display(),
                    r.from,
                    r.style
                );
            }
            r
        }
        _ => {
            eprintln!("measuring {} on your held-out pieces...", pkg.manifest.name);
            let before = measure(&pkg, &user, reference.as_ref(), args)?;
            FinetuneReport {
                from: args.from.clone(),
                style: args.style.clone(),
                pieces,
                before,
                after: None,
                steps: 0,
                best_step: 0,
                seconds: 0.0,
            }
        }
    };

    // Training.
    let (model_cfg, params, vocab) = crate::export::read_package_weights(&args.from)?;
    let mut cfg = if args.resume {
        TrainConfig::load(&run_dir.join("config.toml"))?
    } else {
        let mut cfg = match &args.config {
            Some(p) => TrainConfig::load(p)?,
            None => toml::from_str::<TrainConfig>(FINETUNE_TOML).context("the built-in finetune.toml")?,
        };
        cfg.model = model_cfg;
        cfg
    };
    let mut data = load_data(&data_dir, &cfg, Some(vocab.clone()), args.seed)?;
    if args.reference.is_none() && !args.resume {
        eprintln!(
            "warning: without --reference the model learns your pieces alone and forgets more of what it \
             played (measured on the band model: +27 % likelihood loss on its own data, against +5 % with \
             --reference and rehearsal); see the README"
        );
    }
    if let Some(r) = &args.reference
        && args.rehearsal > 0.0
    {
        let own = load_data(r, &cfg, Some(vocab), args.seed)?;
        let want = (data.train.len() as f64 * args.rehearsal / (1.0 - args.rehearsal)).round() as usize;
        let mut pick: Vec<usize> = (0..own.train.len()).collect();
        crate::rng::Rng::new(args.seed ^ 0x5e4e).shuffle(&mut pick);
        data.train
            .extend(pick.into_iter().take(want).map(|i| own.train[i].clone()));
        eprintln!(
            "rehearsal: {} windows of {} join your {} training windows",
            want.min(own.train.len()),
            r.display(),
            data.train.len() - want.min(own.train.len())
        );
    }
    let after_reserve = report.before.seconds * 1.2 + 20.0;
    let train_budget = budget - t0.elapsed().as_secs_f64() - after_reserve;
    if !args.resume {
        let step_s = seconds_per_step(&cfg, &data)?;
        // A validation pass costs about a third of a step per batch of validation windows.
        let valid_s = step_s / 3.0 * (data.valid.len() as f64 / cfg.train.batch_size.max(1) as f64).ceil();
        let per_epoch = (data.train.len() / cfg.train.batch_size.max(1)).max(1) as u64;
        if cfg.train.max_steps == 0 {
            let affordable = ((train_budget - VALIDATIONS as f64 * valid_s) / step_s).floor();
            if affordable < 10.0 {
                bail!(
                    "{:.0} s are left for training after preparing and measuring ({:.1} s a step here): give more --minutes",
                    train_budget.max(0.0),
                    step_s
                );
            }
            cfg.train.max_steps = (affordable as u64).min(per_epoch * cfg.train.max_epochs);
        }
        cfg.train.eval_every = (cfg.train.max_steps / VALIDATIONS).max(1);
        cfg.train.warmup_steps = cfg.train.warmup_steps.min(cfg.train.max_steps / 10);
        cfg.train.checkpoint_every = cfg.train.eval_every;
        eprintln!(
            "training {} steps ({:.2} s a step, {} training windows, {} validation windows); about {:.0} s",
            cfg.train.max_steps,
            step_s,
            data.train.len(),
            data.valid.len(),
            cfg.train.max_steps as f64 * step_s + VALIDATIONS as f64 * valid_s
        );
        let mut sources = data.sources.clone();
        sources.extend(
            pkg.manifest
                .data
                .iter()
                .filter(|d| !data.sources.iter().any(|s| s.name == d.name))
                .cloned(),
        );
        let info = RunInfo {
            seed: args.seed,
            data: data_dir.clone(),
            init: Some(PathBuf::from(&args.from)),
            sources,
            microtiming: pkg.manifest.microtiming,
            roles: pkg.manifest.roles.clone(),
            registers: crate::dataset::widen_registers(data.registers.clone(), &pkg.manifest.register),
            meters: crate::dataset::add_meters(data.meters.clone(), &pkg.manifest.meters),
            no_input: crate::dataset::merge_no_input(&data.no_input, &data.roles, &pkg.manifest),
            no_chords: crate::dataset::merge_no_chords(&data.no_chords, &data.roles, &pkg.manifest),
        };
        std::fs::create_dir_all(&run_dir).with_context(|| format!("cannot write {}", run_dir.display()))?;
        write_atomic(
            &run_dir.join("run.json"),
            serde_json::to_string_pretty(&info)?.as_bytes(),
        )?;
    }
    report.steps = cfg.train.max_steps;
    write_atomic(&report_path, serde_json::to_string_pretty(&report)?.as_bytes())?;
    let opts = RunOptions {
        resume: args.resume,
        stop_after: None,
        quiet: args.quiet,
        budget_s: Some(train_budget.max(10.0)),
    };
    let summary = match train_run_with(
        &run_dir,
        &cfg,
        &data,
        args.seed,
        (!args.resume).then_some(params),
        &opts,
    ) {
        Err(e) if e.is::<crate::train::Interrupted>() => {
            return Err(e.context(format!(
                "fine-tune stopped; continue it with `trainer finetune --resume` and the same --out {} --from {} --input --style",
                args.out.display(),
                args.from
            )));
        }
        r => r?,
    };
    eprintln!("{}", crate::train::summary_line(&summary));
    report.best_step = summary.state.best_step;

    // The package: written beside, then moved into place.
    let staged = work.join("package");
    let _ = std::fs::remove_dir_all(&staged);
    crate::export::run(&crate::export::ExportArgs {
        run: run_dir.clone(),
        out: staged.clone(),
        name: format!("{} + {}", pkg.manifest.name, args.style),
        latest: false,
        no_int8: false,
    })?;
    // The fine-tuned network plays with its starting model's calibrations (tuned temperatures
    // and top-p, rests, density, holds, memories: `Manifest::take_calibrations`) and its players.
    let mut tuned = Package::load(&staged)?.manifest;
    tuned.take_calibrations(&pkg.manifest);
    // Its players, and the new style as one learned without a player (Auto names none there).
    tuned.players = pkg.manifest.players.clone().map(|mut p| {
        p.by_style.insert(args.style.clone(), Default::default());
        p
    });
    Package::write(&staged, &mut tuned)?;
    let new_pkg = Package::load(&staged)?;
    eprintln!("measuring the fine-tuned model...");
    report.after = Some(measure(&new_pkg, &user, reference.as_ref(), args)?);
    report.seconds = t0.elapsed().as_secs_f64();
    write_atomic(&report_path, serde_json::to_string_pretty(&report)?.as_bytes())?;
    let table = markdown(&report);
    let mut manifest = new_pkg.manifest.clone();
    for (who, m) in [("before", Some(&report.before)), ("after", report.after.as_ref())] {
        let Some(m) = m else { continue };
        if let Some(s) = m.user.get("all") {
            manifest.metrics.insert(format!("finetune_user_test_nll_{who}"), s.nll);
        }
        if let Some(s) = m.reference.as_ref().and_then(|r| r.get("all")) {
            manifest
                .metrics
                .insert(format!("finetune_reference_valid_nll_{who}"), s.nll);
        }
    }
    Package::write(&staged, &mut manifest)?;
    let card = crate::ship::card(
        &manifest,
        file_len(&staged.join(crate::export::INT8_FILE)),
        Some(file_len(&staged.join(crate::export::FP32_FILE))),
        &format!(
            "Fine-tuned from {} with `trainer finetune` on {} pieces tagged \"{}\" ({} steps planned for a {:.0} minute budget; best validation at step {}).\n\n{table}",
            report.from,
            report.pieces.get("train").copied().unwrap_or(0),
            report.style,
            report.steps,
            args.minutes,
            report.best_step
        ),
    );
    write_atomic(&staged.join("CARD.md"), card.as_bytes())?;
    if args.out.exists() {
        std::fs::remove_dir_all(&args.out).with_context(|| format!("cannot replace {}", args.out.display()))?;
    }
    std::fs::rename(&staged, &args.out).with_context(|| format!("cannot write {}", args.out.display()))?;
    println!("{table}");
    println!(
        "package: {} (style \"{}\"; load it in the plugin, or `trainer generate {} --style \"{}\" ...`)\nwork folder: {} ({:.0} s in all)",
        args.out.display(),
        args.style,
        args.out.display(),
        args.style,
        work.display(),
        report.seconds
    );
    Ok(())
}

fn file_len(p: &Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

/// The before/after table: likelihood on the user's held-out pieces and on the model's own
/// validation data, then the music report's model column before and after beside the human one.
pub fn markdown(r: &FinetuneReport) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| NLL, nats per predicted token | before | after | change |\n| --- | --- | --- | --- |"
    );
    let row = |s: &mut String, label: &str, b: Option<&Scores>, a: Option<&Scores>| {
        if let (Some(b), Some(a)) = (b, a) {
            let _ = writeln!(
                s,
                "| {label} | {:.3} | {:.3} | {:+.1} % |",
                b.nll,
                a.nll,
                (a.nll / b.nll - 1.0) * 100.0
            );
        }
    };
    if let Some(a) = &r.after {
        let mut roles: Vec<&String> = r.before.user.keys().collect();
        roles.sort_by_key(|k| (k.as_str() != "all", *k));
        for role in roles {
            row(
                &mut s,
                &format!(
                    "your {} held-out pieces, {role}",
                    r.pieces.get("test").copied().unwrap_or(0)
                ),
                r.before.user.get(role),
                a.user.get(role),
            );
        }
        match (&r.before.reference, &a.reference) {
            (Some(b), Some(x)) => row(
                &mut s,
                "the model's own validation data (forgetting)",
                b.get("all"),
                x.get("all"),
            ),
            _ => {
                let _ = writeln!(
                    s,
                    "| the model's own validation data | not measured (no --reference) | | |"
                );
            }
        }
        for (role, b) in &r.before.music {
            let Some(x) = a.music.get(role) else { continue };
            let _ = writeln!(
                s,
                "\n{role}, music report on your held-out pieces ({} pieces, Harmony 0):\n\n| metric | yours | before | after |\n| --- | --- | --- | --- |",
                b.pieces
            );
            for (k, key) in b.metrics.iter().enumerate() {
                let v = |set: &[f64]| set.get(k).map_or("-".to_string(), |v| format!("{v:.3}"));
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} |",
                    crate::report::metric_label(key),
                    v(&b.human),
                    v(&b.model),
                    v(&x.model)
                );
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fine-tune names the chords of the parts that sound them where the base model follows
    /// them: the chorale piano since the fifty-third session and the band's comping, never a
    /// melody or the drums.
    #[test]
    fn a_finetune_names_the_chords_its_base_model_follows() {
        let names = |id: &str, learn: &[&str]| {
            let pkg = Package::open(id).unwrap();
            let learn: Vec<String> = learn.iter().map(|r| r.to_string()).collect();
            chords_to_name(&pkg.manifest, &learn)
        };
        assert_eq!(names("builtin:melody", &["lead", "piano"]), ["piano"]);
        assert_eq!(names("builtin:neoclassical", &["piano"]), ["piano"]);
        assert_eq!(names("builtin:band", &["bass", "comping", "drums"]), ["comping"]);
        assert!(names("builtin:drums", &["drums"]).is_empty());
    }
}
