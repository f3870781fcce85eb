//! The training loop: steps, validation, early stopping, checkpoints, metrics rows.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, bail};
use candle_core::{DType, Device, Tensor, Var};
use candle_nn::VarMap;
use serde::{Deserialize, Serialize};

use super::{AdamW, RunData, TrainConfig, TrainParams, Window, lr_at, make_batch};
use crate::dataset::write_atomic;
use crate::model::{Transformer, masked_loss, seeded_init, sorted_vars};
use crate::rng::Rng;

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
    /// Step of the best validation loss: the parameters `best.safetensors` holds and a package
    /// exports.
    #[serde(default)]
    pub best_step: u64,
    /// Step of the latest validation.
    #[serde(default)]
    pub valid_step: u64,
    /// Whether the time budget ended the run.
    #[serde(default)]
    pub budget_reached: bool,
}

/// How a run is driven, besides its configuration and data.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Continue from the latest checkpoint in the run folder.
    pub resume: bool,
    /// Stop after this many steps in total (a pause: no final validation; `--resume` continues).
    pub stop_after: Option<u64>,
    /// No progress bar.
    pub quiet: bool,
    /// Wall-clock seconds this invocation may train for; when they run out the run ends as if it
    /// had reached its last step (final validation, best parameters kept).
    pub budget_s: Option<f64>,
}

static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Asks a running training loop to write a checkpoint and stop (the `trainer` binary's Ctrl-C
/// handler calls it; a second Ctrl-C exits at once).
pub fn request_stop() {
    INTERRUPTED.store(true, std::sync::atomic::Ordering::SeqCst);
}

static TRAINING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether a training loop is running in this process (Ctrl-C then means "checkpoint and stop").
pub fn is_training() -> bool {
    TRAINING.load(std::sync::atomic::Ordering::SeqCst)
}

/// Marks a training loop as running while it lives.
struct TrainingGuard;

impl TrainingGuard {
    fn new() -> TrainingGuard {
        TRAINING.store(true, std::sync::atomic::Ordering::SeqCst);
        TrainingGuard
    }
}

impl Drop for TrainingGuard {
    fn drop(&mut self) {
        TRAINING.store(false, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Whether [`request_stop`] was called.
pub fn stop_requested() -> bool {
    INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst)
}

/// The error a run stopped by Ctrl-C ends with, after its checkpoint is written.
#[derive(Debug, thiserror::Error)]
#[error("interrupted at step {step}: a checkpoint is written; continue with --resume")]
pub struct Interrupted {
    /// Steps done.
    pub step: u64,
}

/// Mean masked loss over windows, in batches.
pub fn evaluate(model: &Transformer, windows: &[Window], batch: usize, dev: &Device) -> anyhow::Result<f64> {
    let (mut sum, mut n) = (0f64, 0f64);
    for chunk in windows.chunks(batch.max(1)) {
        let refs: Vec<&Window> = chunk.iter().collect();
        let b = make_batch(&refs, dev, false)?;
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
/// context-feature embedding of a model fine-tuned from one without it, or without the tempo
/// rows: what is missing starts at zero, so the network starts out as the package it came from).
pub fn load_params(vm: &VarMap, mut h: HashMap<String, Tensor>) -> anyhow::Result<()> {
    for (n, v) in sorted_vars(vm) {
        if n == "feat.weight" {
            let want = v.as_tensor().dims2()?;
            let t = match h.remove(&n) {
                None => v.as_tensor().zeros_like()?,
                Some(t) => {
                    let (rows, d) = t.dims2()?;
                    anyhow::ensure!(
                        d == want.1 && rows <= want.0,
                        "{n}: shape {:?}, model has {want:?}",
                        t.dims()
                    );
                    let t = t.to_dtype(DType::F32)?;
                    if rows < want.0 {
                        let pad = Tensor::zeros((want.0 - rows, d), DType::F32, t.device())?;
                        Tensor::cat(&[&t, &pad], 0)?
                    } else {
                        t
                    }
                }
            };
            v.set(&t)?;
            continue;
        }
        // A head the package did not have starts at zero: the model plays as it did.
        if n.starts_with("rel.") && !h.contains_key(&n) {
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
    let opts = RunOptions {
        resume,
        stop_after,
        quiet,
        budget_s: None,
    };
    train_run_with(out, cfg, data, seed, init, &opts)
}

/// [`train_run`] with every option.
pub fn train_run_with(
    out: &Path,
    cfg: &TrainConfig,
    data: &RunData,
    seed: u64,
    init: Option<HashMap<String, Tensor>>,
    opts: &RunOptions,
) -> anyhow::Result<Summary> {
    let (resume, stop_after, quiet) = (opts.resume, opts.stop_after, opts.quiet);
    let _training = TrainingGuard::new();
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
            if opts.budget_s.is_some_and(|b| started.elapsed().as_secs_f64() >= b) {
                state.budget_reached = true;
                break 'epochs;
            }
            if stop_requested() {
                state.seconds = seconds_before + started.elapsed().as_secs_f64();
                write_checkpoint(out, &vm, &opt, &state, p.keep_checkpoints)?;
                bar.finish_and_clear();
                return Err(Interrupted { step: state.step }.into());
            }
            let start = state.batch as usize * bsz;
            let refs: Vec<&Window> = order[start..(start + bsz).min(order.len())]
                .iter()
                .map(|&i| &data.train[i])
                .collect();
            let b = make_batch(&refs, &dev, cfg.model.given_kind)?;
            let (l, grads) = super::batch_gradients(&model, &b.inputs, &b.targets, &b.weights)?;
            let lr = lr_at(p, state.step + 1, total);
            opt.step(&grads, lr)?;
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
    // A run that reached its end (not one paused by --stop-after) is validated at its last step.
    let ended = state.step >= total || state.epoch >= p.max_epochs || state.budget_reached;
    if ended && !state.stopped_early && state.valid_step != state.step && state.step > 0 {
        let elapsed = seconds_before + started.elapsed().as_secs_f64();
        let lr = lr_at(p, state.step, total);
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
    anyhow::ensure!(
        valid.is_finite(),
        "validation loss is {valid} at step {} ({} validation windows): nothing to select the best \
         step with",
        state.step,
        data.valid.len()
    );
    state.valid_step = state.step;
    if state.best_valid.is_none_or(|b| valid < b) {
        state.best_valid = Some(valid);
        state.best_step = state.step;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ModelConfig, Transformer};
    use candle_core::Device;

    /// A model given the tempo feature starts out as the package it came from: the first feature
    /// set's rows are copied, the tempo rows are zero, and the logits do not move.
    #[test]
    fn tempo_rows_start_at_zero_from_a_two_feature_model() {
        let dev = Device::Cpu;
        let mut cfg: ModelConfig = crate::model::tests::tiny();
        cfg.tempo_feature = false;
        let (old, old_vm) = Transformer::init(&cfg, &dev).unwrap();
        cfg.tempo_feature = true;
        let (new, new_vm) = Transformer::init(&cfg, &dev).unwrap();
        load_params(&new_vm, param_tensors(&old_vm)).unwrap();
        let rows = |vm: &VarMap| param_tensors(vm)["feat.weight"].dims2().unwrap().0;
        assert!(rows(&new_vm) > rows(&old_vm));
        let mut s = models::tokenizer::Sequence::new(models::music::Role::Lead);
        s.tempo_bpm = Some(200.0);
        s.bars = 2;
        // The largest difference between two models' logits over `seq`.
        let moved = |a: &Transformer, b: &Transformer, seq: &models::tokenizer::Sequence| {
            let ids = models::tokenizer::Tokenizer::default().encode(seq).unwrap();
            let x = Tensor::new(ids.as_slice(), &dev).unwrap().unsqueeze(0).unwrap();
            let logits = |m: &Transformer| m.forward(&x).and_then(|l| l.flatten_all()?.to_vec1::<f32>()).unwrap();
            let (a, b) = (logits(a), logits(b));
            a.iter().zip(&b).map(|(p, q)| (p - q).abs()).fold(0f32, f32::max)
        };
        let d = moved(&old, &new, &s);
        assert!(d < 1e-5, "logits moved by {d}");
        // The style rows too: a three-feature model given the style tags plays as it did.
        cfg.style_feature = true;
        let (styled, styled_vm) = Transformer::init(&cfg, &dev).unwrap();
        load_params(&styled_vm, param_tensors(&new_vm)).unwrap();
        assert!(rows(&styled_vm) > rows(&new_vm));
        let mut tagged = s.clone();
        tagged.styles = vec![3, 40];
        let d = moved(&new, &styled, &tagged);
        assert!(d < 1e-5, "logits moved by {d} with the style rows");
        // And the harmonic-rhythm rows, over chords that change.
        cfg.harmony_feature = true;
        let (rhythmic, rhythmic_vm) = Transformer::init(&cfg, &dev).unwrap();
        load_params(&rhythmic_vm, param_tensors(&styled_vm)).unwrap();
        assert!(rows(&rhythmic_vm) > rows(&styled_vm));
        let mut changes = tagged.clone();
        changes.chords = (0..4)
            .map(|k| models::music::ChordEvent {
                start: 2.0 * k as f64,
                chord: Some(models::chord::Chord::new(
                    5 * k as u8,
                    models::chord::ChordQuality::Dom7,
                )),
            })
            .collect();
        let d = moved(&styled, &rhythmic, &changes);
        assert!(d < 1e-5, "logits moved by {d} with the harmonic-rhythm rows");
        cfg.harmony_feature = false;
        cfg.style_feature = false;
        // A larger table than the model's is refused.
        cfg.tempo_feature = false;
        let (_, small_vm) = Transformer::init(&cfg, &dev).unwrap();
        assert!(load_params(&small_vm, param_tensors(&new_vm)).is_err());
    }
}
