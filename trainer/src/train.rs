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

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use candle_core::{DType, Device, Tensor, Var};
use candle_nn::VarMap;
use models::Role;
use models::tokenizer::{Tokenizer, Vocab, predicted_mask};
use serde::{Deserialize, Serialize};

use crate::dataset::{Dataset, Split, SplitData, write_atomic};
use crate::model::{ModelConfig, Transformer, masked_loss, seeded_init, sorted_vars};
use crate::rng::Rng;

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
    /// Fraction of windows (training and validation) whose `IN` conditioning is dropped, so the
    /// model learns to follow the chord symbols alone (0: keep every input).
    pub input_dropout: f64,
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
            input_dropout: 0.0,
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
    /// Fine-tune: start from this model package (its network shape replaces the config's).
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
        },
        train: TrainParams::default(),
    }
}

/// One training window: ids (at most context + 1) and the role it generates.
#[derive(Debug, Clone)]
pub struct Window {
    /// Token ids.
    pub ids: Vec<u16>,
    /// Generated role.
    pub role: Role,
}

/// Cuts a stored sequence into windows of at most `context + 1` tokens that start at bars, each
/// with its header and the chord in force restated (decode, `slice_bars`, encode). Style slots are
/// mapped through `style_map` (dataset slot -> model slot).
pub fn windows_of(
    ids: &[u16],
    tok: &Tokenizer,
    context: usize,
    stride_bars: u32,
    window_bars: u32,
    style_map: &[u16],
) -> Vec<Window> {
    windows_with_dropout(ids, tok, context, stride_bars, window_bars, style_map, 0.0, 0)
}

/// [`windows_of`], where each window loses its `IN` conditioning (the bass a lead hears, say)
/// with probability `input_dropout`, decided by a hash of `key` (the sequence) and the window's
/// first bar, so the choice is a pure function of the data. A role that always hears a walking
/// bass can name the harmony from it and never learns the chord symbols; without the input it
/// must read them, and it plays over chords alone, as `trainer generate --chords` and a user who
/// only holds chords ask it to.
#[allow(clippy::too_many_arguments)]
pub fn windows_with_dropout(
    ids: &[u16],
    tok: &Tokenizer,
    context: usize,
    stride_bars: u32,
    window_bars: u32,
    style_map: &[u16],
    input_dropout: f64,
    key: u64,
) -> Vec<Window> {
    let ids32: Vec<u32> = ids.iter().map(|&i| i as u32).collect();
    let Ok(mut seq) = models::tokenizer::decode(&ids32) else {
        return Vec::new();
    };
    for s in &mut seq.styles {
        *s = style_map.get(*s as usize).copied().unwrap_or(*s);
    }
    let role = seq.role;
    let mut out = Vec::new();
    let stride = stride_bars.max(1);
    let mut start = 0;
    while start < seq.bars.max(1) {
        let mut w = seq.slice_bars(start, (start + window_bars.max(1)).min(seq.bars));
        if input_dropout > 0.0 && !w.inputs.is_empty() {
            let draw = Rng::new(key.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (start as u64 + 1)).next_f64();
            if draw < input_dropout {
                w.inputs.clear();
            }
        }
        if let Ok(mut enc) = tok.encode(&w) {
            enc.truncate(context + 1);
            if predicted_mask(&enc).iter().skip(1).any(|&m| m) {
                out.push(Window {
                    ids: enc.iter().map(|&i| i as u16).collect(),
                    role,
                });
            }
        }
        if start + window_bars >= seq.bars {
            break;
        }
        start += stride;
    }
    out
}

/// Windows of every sequence of a split.
pub fn split_windows(data: &SplitData, tok: &Tokenizer, cfg: &TrainConfig, style_map: &[u16]) -> Vec<Window> {
    use rayon::prelude::*;
    (0..data.seqs.len())
        .into_par_iter()
        .map(|i| {
            windows_with_dropout(
                data.seq(i),
                tok,
                cfg.model.context,
                cfg.train.window_stride_bars,
                cfg.train.window_bars,
                style_map,
                cfg.train.input_dropout,
                data.seqs[i].offset,
            )
        })
        .collect::<Vec<_>>()
        .into_iter()
        .flatten()
        .collect()
}

/// A batch: inputs and targets `[b, t]` (u32), loss weights `[b, t]` (f32), and the count of
/// weighted positions.
pub struct Batch {
    /// Input ids.
    pub inputs: Tensor,
    /// Next-token targets.
    pub targets: Tensor,
    /// 1 where the target is a predicted token.
    pub weights: Tensor,
    /// Tokens in the batch (inputs, unpadded).
    pub tokens: usize,
}

/// Builds a batch from windows, padding with `PAD` (weight 0) to the longest.
pub fn make_batch(windows: &[&Window], dev: &Device) -> candle_core::Result<Batch> {
    let t = windows
        .iter()
        .map(|w| w.ids.len().saturating_sub(1))
        .max()
        .unwrap_or(1)
        .max(1);
    let b = windows.len();
    let mut inputs = vec![0u32; b * t];
    let mut targets = vec![0u32; b * t];
    let mut weights = vec![0f32; b * t];
    let mut tokens = 0;
    for (r, w) in windows.iter().enumerate() {
        let ids: Vec<u32> = w.ids.iter().map(|&i| i as u32).collect();
        let mask = predicted_mask(&ids);
        for i in 0..ids.len().saturating_sub(1) {
            inputs[r * t + i] = ids[i];
            targets[r * t + i] = ids[i + 1];
            weights[r * t + i] = if mask[i + 1] { 1.0 } else { 0.0 };
        }
        tokens += ids.len().saturating_sub(1);
    }
    Ok(Batch {
        inputs: Tensor::from_vec(inputs, (b, t), dev)?,
        targets: Tensor::from_vec(targets, (b, t), dev)?,
        weights: Tensor::from_vec(weights, (b, t), dev)?,
        tokens,
    })
}

/// AdamW over a fixed list of variables, with state that can be saved and restored.
pub struct AdamW {
    /// (name, variable, first moment, second moment, decays)
    slots: Vec<(String, Var, Tensor, Tensor, bool)>,
    /// Steps taken.
    pub t: u64,
    params: TrainParams,
}

impl AdamW {
    /// An optimizer over `vars` (weight decay on matrices only).
    pub fn new(vars: Vec<(String, Var)>, params: &TrainParams) -> candle_core::Result<AdamW> {
        let slots = vars
            .into_iter()
            .map(|(n, v)| {
                let z = v.as_tensor().zeros_like()?;
                let decays = v.as_tensor().rank() >= 2 && !n.starts_with("embed.");
                Ok((n, v, z.clone(), z, decays))
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(AdamW {
            slots,
            t: 0,
            params: params.clone(),
        })
    }

    /// One step at learning rate `lr`; returns the gradient norm before clipping.
    pub fn step(&mut self, grads: &candle_core::backprop::GradStore, lr: f64) -> candle_core::Result<f64> {
        let mut sq = 0f64;
        for (_, v, ..) in &self.slots {
            if let Some(g) = grads.get(v.as_tensor()) {
                sq += g.sqr()?.sum_all()?.to_scalar::<f32>()? as f64;
            }
        }
        let norm = sq.sqrt();
        let clip = if self.params.grad_clip > 0.0 && norm > self.params.grad_clip {
            self.params.grad_clip / (norm + 1e-6)
        } else {
            1.0
        };
        self.t += 1;
        let (b1, b2) = (self.params.beta1, self.params.beta2);
        let bc1 = 1.0 - b1.powi(self.t as i32);
        let bc2 = 1.0 - b2.powi(self.t as i32);
        for (_, v, m, s, decays) in &mut self.slots {
            let Some(g) = grads.get(v.as_tensor()) else { continue };
            let g = (g * clip)?;
            *m = ((&*m * b1)? + (&g * (1.0 - b1))?)?;
            *s = ((&*s * b2)? + (g.sqr()? * (1.0 - b2))?)?;
            let upd = ((&*m / bc1)? / ((&*s / bc2)?.sqrt()? + self.params.eps)?)?;
            let mut p = v.as_tensor().clone();
            if *decays && self.params.weight_decay > 0.0 {
                p = (&p * (1.0 - lr * self.params.weight_decay))?;
            }
            v.set(&(p - (upd * lr)?)?)?;
        }
        Ok(norm)
    }

    /// Moments by name (`m.<var>`, `v.<var>`).
    pub fn state_tensors(&self) -> HashMap<String, Tensor> {
        let mut h = HashMap::new();
        for (n, _, m, s, _) in &self.slots {
            h.insert(format!("m.{n}"), m.clone());
            h.insert(format!("v.{n}"), s.clone());
        }
        h
    }

    /// Restores moments saved by [`AdamW::state_tensors`].
    pub fn load_state(&mut self, mut h: HashMap<String, Tensor>, t: u64) -> anyhow::Result<()> {
        for (n, _, m, s, _) in &mut self.slots {
            *m = h
                .remove(&format!("m.{n}"))
                .with_context(|| format!("optimizer state lacks m.{n}"))?;
            *s = h
                .remove(&format!("v.{n}"))
                .with_context(|| format!("optimizer state lacks v.{n}"))?;
        }
        self.t = t;
        Ok(())
    }
}

/// Learning rate at `step` (1-based): linear warm-up, then cosine from `lr` to `lr * min_lr_ratio`.
pub fn lr_at(p: &TrainParams, step: u64, total: u64) -> f64 {
    let min = p.lr * p.min_lr_ratio;
    if step <= p.warmup_steps && p.warmup_steps > 0 {
        return p.lr * step as f64 / p.warmup_steps as f64;
    }
    let span = total.saturating_sub(p.warmup_steps).max(1);
    let x = ((step - p.warmup_steps.min(step)) as f64 / span as f64).min(1.0);
    min + 0.5 * (p.lr - min) * (1.0 + (std::f64::consts::PI * x).cos())
}

/// Position of a run, saved in every checkpoint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunState {
    /// Optimizer steps done.
    pub step: u64,
    /// Current epoch (0-based).
    pub epoch: u64,
    /// Next batch index within the epoch.
    pub batch: u64,
    /// Best validation loss so far.
    pub best_valid: Option<f64>,
    /// Epochs since the best.
    pub bad_epochs: u64,
    /// Tokens trained on.
    pub tokens: u64,
    /// Seconds spent training (across resumes).
    pub seconds: f64,
    /// Whether early stopping ended the run.
    pub stopped_early: bool,
}

/// Mean masked loss over windows, in batches.
pub fn evaluate(model: &Transformer, windows: &[Window], batch: usize, dev: &Device) -> anyhow::Result<f64> {
    let (mut sum, mut n) = (0f64, 0f64);
    for chunk in windows.chunks(batch.max(1)) {
        let refs: Vec<&Window> = chunk.iter().collect();
        let b = make_batch(&refs, dev)?;
        let logits = model.forward(&b.inputs)?;
        let (loss, count) = masked_loss(&logits.detach(), &b.targets, &b.weights)?;
        sum += loss.to_scalar::<f32>()? as f64 * count;
        n += count;
    }
    Ok(if n > 0.0 { sum / n } else { f64::NAN })
}

fn save_tensors(map: &HashMap<String, Tensor>, path: &Path) -> anyhow::Result<()> {
    let tmp = path.with_extension("safetensors.tmp");
    candle_core::safetensors::save(map, &tmp)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

/// Parameters of a var map by name.
pub fn param_tensors(vm: &VarMap) -> HashMap<String, Tensor> {
    sorted_vars(vm)
        .into_iter()
        .map(|(n, v)| (n, v.as_tensor().clone()))
        .collect()
}

/// Loads parameters into a var map (every variable must be present with its shape, except the
/// context-feature embedding of a model fine-tuned from one without it: that starts at zero, so
/// the network starts out as the package it came from).
pub fn load_params(vm: &VarMap, mut h: HashMap<String, Tensor>) -> anyhow::Result<()> {
    for (n, v) in sorted_vars(vm) {
        if n == "feat.weight" && !h.contains_key(&n) {
            v.set(&v.as_tensor().zeros_like()?)?;
            continue;
        }
        let t = h.remove(&n).with_context(|| format!("parameters lack {n}"))?;
        anyhow::ensure!(
            t.shape() == v.as_tensor().shape(),
            "{n}: shape {:?}, model has {:?}",
            t.shape(),
            v.as_tensor().shape()
        );
        v.set(&t.to_dtype(DType::F32)?)?;
    }
    Ok(())
}

fn write_checkpoint(out: &Path, vm: &VarMap, opt: &AdamW, state: &RunState, keep: usize) -> anyhow::Result<()> {
    let dir = out.join("checkpoints");
    std::fs::create_dir_all(&dir)?;
    let name = format!("step-{:08}", state.step);
    let tmp = dir.join(format!("{name}.tmp"));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp)?;
    candle_core::safetensors::save(&param_tensors(vm), tmp.join("params.safetensors"))?;
    candle_core::safetensors::save(&opt.state_tensors(), tmp.join("optim.safetensors"))?;
    std::fs::write(tmp.join("state.json"), serde_json::to_string_pretty(state)?)?;
    let fin = dir.join(&name);
    let _ = std::fs::remove_dir_all(&fin);
    std::fs::rename(&tmp, &fin)?;
    write_atomic(&dir.join("latest"), name.as_bytes())?;
    // Prune old checkpoints.
    let mut all: Vec<String> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().and_then(|e| e.file_name().into_string().ok()))
        .filter(|n| n.starts_with("step-") && !n.ends_with(".tmp"))
        .collect();
    all.sort();
    let keep = keep.max(1);
    if all.len() > keep {
        for n in &all[..all.len() - keep] {
            let _ = std::fs::remove_dir_all(dir.join(n));
        }
    }
    Ok(())
}

fn read_checkpoint(out: &Path, vm: &VarMap, opt: &mut AdamW, dev: &Device) -> anyhow::Result<RunState> {
    let dir = out.join("checkpoints");
    let name =
        std::fs::read_to_string(dir.join("latest")).with_context(|| format!("no checkpoint in {}", dir.display()))?;
    let ck = dir.join(name.trim());
    let state: RunState = serde_json::from_str(&std::fs::read_to_string(ck.join("state.json"))?)?;
    load_params(vm, candle_core::safetensors::load(ck.join("params.safetensors"), dev)?)?;
    opt.load_state(
        candle_core::safetensors::load(ck.join("optim.safetensors"), dev)?,
        state.step,
    )?;
    Ok(state)
}

/// One metrics row.
#[derive(Debug, Clone)]
struct Row {
    step: u64,
    epoch: u64,
    lr: f64,
    train: f64,
    valid: Option<f64>,
    tps: f64,
    elapsed: f64,
}

const METRICS_HEADER: &str = "step,epoch,lr,train_loss,valid_loss,tokens_per_s,elapsed_s";

fn append_row(path: &Path, r: &Row) -> anyhow::Result<()> {
    let new = !path.exists();
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    if new {
        writeln!(f, "{METRICS_HEADER}")?;
    }
    writeln!(
        f,
        "{},{},{:.6e},{:.5},{},{:.0},{:.1}",
        r.step,
        r.epoch,
        r.lr,
        r.train,
        r.valid.map(|v| format!("{v:.5}")).unwrap_or_default(),
        r.tps,
        r.elapsed
    )?;
    Ok(())
}

/// Drops metrics rows after `step` (a resumed run rewrites them).
fn truncate_metrics(path: &Path, step: u64) -> anyhow::Result<()> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(());
    };
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| {
            l.starts_with("step")
                || l.split(',')
                    .next()
                    .and_then(|s| s.parse::<u64>().ok())
                    .is_some_and(|s| s <= step)
        })
        .collect();
    write_atomic(path, (kept.join("\n") + "\n").as_bytes())
}

/// Everything a finished (or stopped) run reports.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    /// Final state.
    pub state: RunState,
    /// Parameters.
    pub parameters: usize,
    /// Training windows.
    pub train_windows: usize,
    /// Validation windows.
    pub valid_windows: usize,
    /// Mean training throughput.
    pub tokens_per_s: f64,
}

/// Data for a run, already windowed.
pub struct RunData {
    /// Training windows.
    pub train: Vec<Window>,
    /// Validation windows.
    pub valid: Vec<Window>,
    /// Vocabulary the model is trained with (style names).
    pub vocab: Vocab,
    /// Training data provenance for the package.
    pub sources: Vec<models::package::DataSource>,
    /// Whether the data uses MICRO tokens.
    pub microtiming: bool,
    /// Roles in the data.
    pub roles: Vec<Role>,
}

/// Loads and windows a prepared dataset. `vocab` is the model's vocabulary when fine-tuning: the
/// data's styles are added to it and their slots remapped.
pub fn load_data(dir: &Path, cfg: &TrainConfig, vocab: Option<Vocab>, seed: u64) -> anyhow::Result<RunData> {
    let ds = Dataset::open(dir)?;
    let tok = Tokenizer::new(Vocab::new(), ds.manifest.microtiming);
    let mut vocab = vocab.unwrap_or_else(|| ds.manifest.vocab.clone());
    let mut style_map = Vec::with_capacity(ds.manifest.vocab.styles.len());
    for name in &ds.manifest.vocab.styles {
        style_map.push(vocab.add_style(name)?);
    }
    let mut train = split_windows(&ds.load_split(Split::Train)?, &tok, cfg, &style_map);
    balance_roles(&mut train, cfg.train.balance_roles);
    let mut valid = split_windows(&ds.load_split(Split::Valid)?, &tok, cfg, &style_map);
    if train.is_empty() {
        bail!("{}: no training windows", dir.display());
    }
    Rng::new(seed ^ 0xa11d).shuffle(&mut valid);
    valid.truncate(cfg.train.valid_windows.max(1));
    Ok(RunData {
        train,
        valid,
        vocab,
        sources: ds.manifest.sources.clone(),
        microtiming: ds.manifest.microtiming,
        roles: ds.manifest.roles.clone(),
    })
}

/// Repeats the windows of each role up to `max_factor` times, towards the count of the commonest
/// role (whole repeats only, so the data order stays a pure function of the seed).
pub fn balance_roles(windows: &mut Vec<Window>, max_factor: usize) {
    if max_factor <= 1 {
        return;
    }
    let mut counts = [0usize; Role::ALL.len()];
    for w in windows.iter() {
        counts[w.role.index()] += 1;
    }
    let most = counts.iter().copied().max().unwrap_or(0);
    let mut extra = Vec::new();
    for role in Role::ALL {
        let c = counts[role.index()];
        if c == 0 {
            continue;
        }
        let factor = (most / c).clamp(1, max_factor);
        for _ in 1..factor {
            extra.extend(windows.iter().filter(|w| w.role == role).cloned());
        }
    }
    windows.extend(extra);
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
}

/// Trains on windows already in memory; the core of `trainer train` (tests call it directly).
/// `init` holds parameters to start from (fine-tuning).
#[allow(clippy::too_many_arguments)]
pub fn train_run(
    out: &Path,
    cfg: &TrainConfig,
    data: &RunData,
    seed: u64,
    resume: bool,
    stop_after: Option<u64>,
    init: Option<HashMap<String, Tensor>>,
    quiet: bool,
) -> anyhow::Result<Summary> {
    cfg.model.validate()?;
    let dev = Device::Cpu;
    std::fs::create_dir_all(out)?;
    let (model, vm) = Transformer::init(&cfg.model, &dev)?;
    seeded_init(&vm, &cfg.model, seed)?;
    if let Some(p) = init {
        load_params(&vm, p)?;
    }
    let frozen = |n: &str| {
        cfg.train.freeze_layers > 0
            && (n.starts_with("embed.") || (0..cfg.train.freeze_layers).any(|i| n.starts_with(&format!("blocks.{i}."))))
    };
    let vars: Vec<(String, Var)> = sorted_vars(&vm).into_iter().filter(|(n, _)| !frozen(n)).collect();
    let mut opt = AdamW::new(vars, &cfg.train)?;
    let p = &cfg.train;
    let metrics = out.join("metrics.csv");
    let mut state = if resume {
        let s = read_checkpoint(out, &vm, &mut opt, &dev)?;
        truncate_metrics(&metrics, s.step)?;
        s
    } else {
        if out.join("checkpoints").exists() {
            bail!("{} already holds a run; use --resume or another --out", out.display());
        }
        let _ = std::fs::remove_file(&metrics);
        write_atomic(&out.join("config.toml"), toml::to_string_pretty(cfg)?.as_bytes())?;
        write_atomic(&out.join("vocab.json"), data.vocab.to_json().as_bytes())?;
        RunState::default()
    };
    let bsz = p.batch_size.max(1);
    let per_epoch = (data.train.len() / bsz).max(1) as u64;
    let total = if p.max_steps > 0 {
        p.max_steps
    } else {
        per_epoch * p.max_epochs
    };
    let stop_at = stop_after.unwrap_or(total).min(total);
    let bar = if quiet {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(total)
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} steps  {msg}  ETA {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_position(state.step);
    // The ETA counts only the steps run from here (after a resume, not those of the killed run).
    bar.reset_eta();
    let started = Instant::now();
    let seconds_before = state.seconds;
    let mut window_loss = (0f64, 0u64);
    let mut window_tokens = 0usize;
    let mut window_start = Instant::now();
    let mut tps = 0f64;
    'epochs: while state.epoch < p.max_epochs && state.step < stop_at && !state.stopped_early {
        let mut order: Vec<usize> = (0..data.train.len()).collect();
        Rng::new(seed.wrapping_mul(0x9E37_79B9).wrapping_add(state.epoch)).shuffle(&mut order);
        while state.batch < per_epoch {
            if state.step >= stop_at {
                break 'epochs;
            }
            let start = state.batch as usize * bsz;
            let refs: Vec<&Window> = order[start..(start + bsz).min(order.len())]
                .iter()
                .map(|&i| &data.train[i])
                .collect();
            let b = make_batch(&refs, &dev)?;
            let logits = model.forward(&b.inputs)?;
            let (loss, _) = masked_loss(&logits, &b.targets, &b.weights)?;
            let lr = lr_at(p, state.step + 1, total);
            let grads = loss.backward()?;
            opt.step(&grads, lr)?;
            let l = loss.to_scalar::<f32>()? as f64;
            if !l.is_finite() {
                bail!("loss is {l} at step {}; lower the learning rate", state.step + 1);
            }
            state.step += 1;
            state.batch += 1;
            state.tokens += b.tokens as u64;
            window_loss.0 += l;
            window_loss.1 += 1;
            window_tokens += b.tokens;
            bar.set_position(state.step);
            if state.step % p.log_every.max(1) == 0 {
                tps = window_tokens as f64 / window_start.elapsed().as_secs_f64().max(1e-9);
                let train = window_loss.0 / window_loss.1.max(1) as f64;
                bar.set_message(format!("loss {train:.3}  {tps:.0} tok/s  lr {lr:.2e}"));
                let elapsed = seconds_before + started.elapsed().as_secs_f64();
                append_row(
                    &metrics,
                    &Row {
                        step: state.step,
                        epoch: state.epoch,
                        lr,
                        train,
                        valid: None,
                        tps,
                        elapsed,
                    },
                )?;
                window_loss = (0.0, 0);
                window_tokens = 0;
                window_start = Instant::now();
            }
            if p.eval_every > 0 && state.step % p.eval_every == 0 && state.batch < per_epoch {
                let elapsed = seconds_before + started.elapsed().as_secs_f64();
                validate(
                    &model,
                    &vm,
                    data,
                    &mut state,
                    out,
                    &metrics,
                    &bar,
                    f64::NAN,
                    tps,
                    elapsed,
                    lr,
                    p,
                    &dev,
                )?;
                let _ = crate::plot::loss_png(&metrics, &out.join("loss.png"));
                if state.stopped_early {
                    state.seconds = elapsed;
                    write_checkpoint(out, &vm, &opt, &state, p.keep_checkpoints)?;
                    break 'epochs;
                }
            }
            if state.step % p.checkpoint_every.max(1) == 0 {
                state.seconds = seconds_before + started.elapsed().as_secs_f64();
                write_checkpoint(out, &vm, &opt, &state, p.keep_checkpoints)?;
            }
        }
        // End of epoch: validation, early stopping.
        let train = if window_loss.1 > 0 {
            window_loss.0 / window_loss.1 as f64
        } else {
            f64::NAN
        };
        let elapsed = seconds_before + started.elapsed().as_secs_f64();
        let lr = lr_at(p, state.step, total);
        validate(
            &model, &vm, data, &mut state, out, &metrics, &bar, train, tps, elapsed, lr, p, &dev,
        )?;
        state.epoch += 1;
        state.batch = 0;
        state.seconds = elapsed;
        write_checkpoint(out, &vm, &opt, &state, p.keep_checkpoints)?;
        let _ = crate::plot::loss_png(&metrics, &out.join("loss.png"));
    }
    state.seconds = seconds_before + started.elapsed().as_secs_f64();
    write_checkpoint(out, &vm, &opt, &state, p.keep_checkpoints)?;
    if !out.join("best.safetensors").exists() {
        save_tensors(&param_tensors(&vm), &out.join("best.safetensors"))?;
    }
    let _ = crate::plot::loss_png(&metrics, &out.join("loss.png"));
    bar.finish_and_clear();
    let summary = Summary {
        parameters: cfg.model.parameters(),
        train_windows: data.train.len(),
        valid_windows: data.valid.len(),
        tokens_per_s: state.tokens as f64 / state.seconds.max(1e-9),
        state,
    };
    write_atomic(
        &out.join("summary.json"),
        serde_json::to_string_pretty(&summary)?.as_bytes(),
    )?;
    Ok(summary)
}

/// Validation loss, a metrics row, best-parameters file and early-stopping bookkeeping.
#[allow(clippy::too_many_arguments)]
fn validate(
    model: &Transformer,
    vm: &VarMap,
    data: &RunData,
    state: &mut RunState,
    out: &Path,
    metrics: &Path,
    bar: &indicatif::ProgressBar,
    train: f64,
    tps: f64,
    elapsed: f64,
    lr: f64,
    p: &TrainParams,
    dev: &Device,
) -> anyhow::Result<()> {
    let valid = evaluate(model, &data.valid, p.batch_size, dev)?;
    append_row(
        metrics,
        &Row {
            step: state.step,
            epoch: state.epoch,
            lr,
            train,
            valid: Some(valid),
            tps,
            elapsed,
        },
    )?;
    bar.println(format!(
        "epoch {} step {}: valid loss {valid:.4}",
        state.epoch + 1,
        state.step
    ));
    if state.best_valid.is_none_or(|b| valid < b) {
        state.best_valid = Some(valid);
        state.bad_epochs = 0;
        save_tensors(&param_tensors(vm), &out.join("best.safetensors"))?;
    } else {
        state.bad_epochs += 1;
        if p.patience > 0 && state.bad_epochs >= p.patience {
            state.stopped_early = true;
        }
    }
    Ok(())
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
                // The package's shape, plus context features when the config asks for them.
                let features = cfg.model.features;
                cfg.model = model_cfg;
                cfg.model.features |= features;
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
    if let Some(pkg) = &args.init {
        let m = models::package::Package::open(&pkg.to_string_lossy())?.manifest;
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
    println!(
        "{} steps, {} epochs, {:.0} tokens/s, {:.0} s; best validation loss {}{}\nrun folder: {}",
        s.state.step,
        s.state.epoch,
        s.tokens_per_s,
        s.state.seconds,
        s.state
            .best_valid
            .map(|v| format!("{v:.4}"))
            .unwrap_or_else(|| "-".into()),
        if s.state.stopped_early { " (stopped early)" } else { "" },
        out.display()
    );
}
