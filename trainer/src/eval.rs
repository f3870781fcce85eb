//! `trainer eval`: a model package against the Markov baseline on the same split.
//!
//! - Likelihood: NLL (nats per predicted token), perplexity, top-1 / top-5 accuracy, per role, over
//!   identical windows for both models (non-overlapping bar ranges of each sequence, each restating
//!   its header and chord, truncated to the transformer's context), scoring only the positions
//!   [`models::tokenizer::predicted_mask`] marks.
//! - Music: samples generated over the chords (and input) of held-out pieces by the same session
//!   the plugin uses, measured beside the human performance of the same bars: dead-air ratio, 4-gram
//!   repetition, note density, pitch-class entropy, scale consistency, chord-tone ratio, groove
//!   consistency (drums).

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;
use models::markov::MarkovModel;
use models::model::TokenModel;
use models::music::{ChordEvent, Note, Role};
use models::package::{ModelKind, Package};
use models::runtime::{OnnxModel, Variant};
use models::tokenizer::{Tokenizer, VOCAB_SIZE, Vocab, predicted_mask};
use serde::Serialize;

use crate::dataset::{Dataset, Split};
use crate::markov::{EvalStats, score_sequence};
use crate::train::windows_of;

/// `trainer eval` arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct EvalArgs {
    /// Model package to evaluate.
    pub package: PathBuf,
    /// Prepared dataset folder.
    #[arg(long)]
    pub data: PathBuf,
    /// Markov baseline package to compare with.
    #[arg(long)]
    pub baseline: Option<PathBuf>,
    /// Split to score.
    #[arg(long, value_enum, default_value = "valid")]
    pub split: Split,
    /// Bars per scoring window.
    #[arg(long, default_value_t = 8)]
    pub window_bars: u32,
    /// Sequences scored at most (0: all).
    #[arg(long, default_value_t = 0)]
    pub limit: usize,
    /// Score the fp32 model even when the package has an int8 one.
    #[arg(long)]
    pub fp32: bool,
    /// Generated samples for the music metrics (0: skip).
    #[arg(long, default_value_t = 8)]
    pub samples: usize,
    /// Bars per generated sample.
    #[arg(long, default_value_t = 16)]
    pub sample_bars: u32,
    /// Sampling seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Write the report as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Store the headline metrics in the package's manifest.
    #[arg(long)]
    pub write_metrics: bool,
}

/// Likelihood scores of one model on one role.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Scores {
    /// Predicted tokens scored.
    pub tokens: u64,
    /// Mean NLL, nats per token.
    pub nll: f64,
    /// exp(nll).
    pub perplexity: f64,
    /// Top-1 accuracy.
    pub top1: f64,
    /// Top-5 accuracy.
    pub top5: f64,
}

impl From<EvalStats> for Scores {
    fn from(s: EvalStats) -> Self {
        Scores {
            tokens: s.tokens,
            nll: s.nll(),
            perplexity: s.nll().exp(),
            top1: s.top1_acc(),
            top5: s.top5_acc(),
        }
    }
}

fn add(a: &mut EvalStats, b: &EvalStats) {
    a.tokens += b.tokens;
    a.nll_sum += b.nll_sum;
    a.top1 += b.top1;
    a.top5 += b.top5;
}

/// Scores one window with a model that returns all logits in one pass.
pub fn score_window_onnx(m: &mut OnnxModel, ids: &[u32]) -> anyhow::Result<EvalStats> {
    m.truncate(0);
    let logits = m.forward(ids).map_err(|e| anyhow::anyhow!("{e}"))?;
    let v = VOCAB_SIZE as usize;
    let mask = predicted_mask(ids);
    let mut s = EvalStats::default();
    for i in 1..ids.len() {
        if !mask[i] {
            continue;
        }
        let row = &logits[(i - 1) * v..i * v];
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let lse = max as f64 + row.iter().map(|&l| ((l - max) as f64).exp()).sum::<f64>().ln();
        let target = row[ids[i] as usize];
        s.tokens += 1;
        s.nll_sum += lse - target as f64;
        let better = row.iter().filter(|&&l| l > target).count();
        s.top1 += (better == 0) as u64;
        s.top5 += (better < 5) as u64;
    }
    Ok(s)
}

/// Per-token decode latency (ms) of a package variant: batch 1, KV cache, one thread; a prefill of
/// `prefill` tokens, then `tokens` single-token steps feeding back the argmax; best of `repeats`.
pub fn decode_latency_ms(
    pkg: &Package,
    variant: Variant,
    prefill: usize,
    tokens: usize,
    repeats: usize,
) -> anyhow::Result<f64> {
    let mut m = OnnxModel::load(pkg, variant)?;
    let v = VOCAB_SIZE as usize;
    let mut logits = vec![0f32; v];
    let mut best = f64::INFINITY;
    let mut rng = crate::rng::Rng::new(0);
    let steps = tokens.min(m.context_len().saturating_sub(prefill + 1));
    for _ in 0..repeats.max(1) {
        m.truncate(0);
        let ids: Vec<u32> = (0..prefill).map(|_| rng.below(1000) as u32).collect();
        m.feed(&ids).map_err(|e| anyhow::anyhow!("{e}"))?;
        m.next_logits(&mut logits).map_err(|e| anyhow::anyhow!("{e}"))?;
        let t0 = std::time::Instant::now();
        for _ in 0..steps {
            let next = logits
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map_or(0, |x| x.0) as u32;
            m.feed(&[next]).map_err(|e| anyhow::anyhow!("{e}"))?;
            m.next_logits(&mut logits).map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        best = best.min(t0.elapsed().as_secs_f64() * 1e3 / steps.max(1) as f64);
    }
    Ok(best)
}

/// Music metrics of one set of notes.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct MusicMetrics {
    /// Fraction of beats in which no note sounds.
    pub dead_air: f64,
    /// Fraction of pitch 4-grams that repeat an earlier one.
    pub repetition4: f64,
    /// Notes per bar.
    pub density: f64,
    /// Entropy of the pitch-class histogram, bits.
    pub pitch_class_entropy: f64,
    /// Largest fraction of notes inside one major (diatonic) scale.
    pub scale_consistency: f64,
    /// Fraction of notes whose pitch class is in the chord in force.
    pub chord_tone_ratio: f64,
    /// Drums: 1 - mean Hamming distance between bar onset patterns (16 steps); NaN otherwise.
    pub groove_consistency: f64,
}

/// Measures `notes` over `bars` bars of 4/4 with `chords`.
pub fn music_metrics(notes: &[Note], chords: &[ChordEvent], bars: u32, drums: bool) -> MusicMetrics {
    let beats = (bars * 4).max(1) as usize;
    let mut sounding = vec![false; beats];
    for n in notes {
        let (a, b) = (n.start.max(0.0), (n.start + n.duration).min(beats as f64));
        let mut k = a.floor() as usize;
        while (k as f64) < b && k < beats {
            sounding[k] = true;
            k += 1;
        }
    }
    let dead_air = sounding.iter().filter(|s| !**s).count() as f64 / beats as f64;
    let mut sorted: Vec<&Note> = notes.iter().collect();
    sorted.sort_by(|a, b| a.start.total_cmp(&b.start).then(a.pitch.cmp(&b.pitch)));
    let pitches: Vec<u8> = sorted.iter().map(|n| n.pitch).collect();
    let repetition4 = if pitches.len() >= 4 {
        let mut seen = std::collections::HashSet::new();
        let mut rep = 0;
        for w in pitches.windows(4) {
            if !seen.insert(w.to_vec()) {
                rep += 1;
            }
        }
        rep as f64 / (pitches.len() - 3) as f64
    } else {
        0.0
    };
    let mut hist = [0f64; 12];
    for &p in &pitches {
        hist[(p % 12) as usize] += 1.0;
    }
    let total: f64 = hist.iter().sum();
    let pitch_class_entropy = if total > 0.0 {
        -hist
            .iter()
            .filter(|&&c| c > 0.0)
            .map(|&c| (c / total) * (c / total).log2())
            .sum::<f64>()
    } else {
        0.0
    };
    const MAJOR: [u8; 7] = [0, 2, 4, 5, 7, 9, 11];
    let scale_consistency = if total > 0.0 {
        (0..12u8)
            .map(|k| MAJOR.iter().map(|&d| hist[((k + d) % 12) as usize]).sum::<f64>() / total)
            .fold(0.0, f64::max)
    } else {
        0.0
    };
    let mut in_chord = 0usize;
    let mut with_chord = 0usize;
    for n in &sorted {
        if let Some(Some(c)) = chords.iter().rev().find(|c| c.start <= n.start + 1e-9).map(|c| c.chord) {
            with_chord += 1;
            in_chord += c.contains_pitch(n.pitch) as usize;
        }
    }
    let chord_tone_ratio = if with_chord > 0 {
        in_chord as f64 / with_chord as f64
    } else {
        f64::NAN
    };
    let groove_consistency = if drums {
        let mut pats = vec![[false; 16]; bars.max(1) as usize];
        for n in notes {
            let step = (n.start * 4.0).round() as i64;
            if step >= 0 && (step as usize) < pats.len() * 16 {
                pats[step as usize / 16][step as usize % 16] = true;
            }
        }
        let mut d = 0.0;
        let mut c = 0;
        for i in 0..pats.len() {
            for j in i + 1..pats.len() {
                d += pats[i].iter().zip(&pats[j]).filter(|(a, b)| a != b).count() as f64 / 16.0;
                c += 1;
            }
        }
        if c > 0 { 1.0 - d / c as f64 } else { f64::NAN }
    } else {
        f64::NAN
    };
    MusicMetrics {
        dead_air,
        repetition4,
        density: notes.len() as f64 / bars.max(1) as f64,
        pitch_class_entropy,
        scale_consistency,
        chord_tone_ratio,
        groove_consistency,
    }
}

fn mean(ms: &[MusicMetrics]) -> MusicMetrics {
    let n = ms.len().max(1) as f64;
    let avg = |f: fn(&MusicMetrics) -> f64| {
        let v: Vec<f64> = ms.iter().map(f).filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            f64::NAN
        } else {
            v.iter().sum::<f64>() / v.len() as f64
        }
    };
    let _ = n;
    MusicMetrics {
        dead_air: avg(|m| m.dead_air),
        repetition4: avg(|m| m.repetition4),
        density: avg(|m| m.density),
        pitch_class_entropy: avg(|m| m.pitch_class_entropy),
        scale_consistency: avg(|m| m.scale_consistency),
        chord_tone_ratio: avg(|m| m.chord_tone_ratio),
        groove_consistency: avg(|m| m.groove_consistency),
    }
}

/// The report `trainer eval` prints and writes.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Package evaluated.
    pub package: String,
    /// Baseline package.
    pub baseline: Option<String>,
    /// Split.
    pub split: String,
    /// Model scores by role ("all" included).
    pub model: BTreeMap<String, Scores>,
    /// Baseline scores by role.
    pub baseline_scores: BTreeMap<String, Scores>,
    /// Relative NLL improvement over the baseline, by role.
    pub nll_improvement: BTreeMap<String, f64>,
    /// Music metrics of the model's samples, by role.
    pub music_model: BTreeMap<String, MusicMetrics>,
    /// The same metrics of the human performances of the same bars.
    pub music_human: BTreeMap<String, MusicMetrics>,
    /// The same metrics of the baseline's samples.
    pub music_baseline: BTreeMap<String, MusicMetrics>,
    /// The model's samples with the default Harmony (chord-tone bonus) the plugin and `trainer
    /// generate` apply.
    #[serde(default)]
    pub music_harmony: BTreeMap<String, MusicMetrics>,
    /// int8 vs fp32 on held-out positions: (positions, top-1 agreement, mean KL).
    pub int8_drift: Option<(usize, f64, f64)>,
    /// Decode latency, ms/token (batch 1, KV cache, one thread), by variant.
    pub latency_ms: BTreeMap<String, f64>,
    /// Seconds taken.
    pub seconds: f64,
}

/// `trainer eval`.
pub fn run(args: &EvalArgs) -> anyhow::Result<()> {
    let t0 = std::time::Instant::now();
    let pkg = Package::load(&args.package).with_context(|| format!("loading {}", args.package.display()))?;
    let ModelKind::Transformer { context_len, .. } = &pkg.manifest.model else {
        anyhow::bail!(
            "{} is not a transformer package (evaluate Markov packages with `trainer markov`)",
            args.package.display()
        );
    };
    let context = *context_len as usize;
    let variant = if args.fp32 {
        Variant::PreferFp32
    } else {
        Variant::PreferInt8
    };
    let mut model = OnnxModel::load(&pkg, variant)?;
    let base_pkg = args.baseline.as_ref().map(|p| Package::load(p)).transpose()?;
    let base_table = base_pkg.as_ref().map(crate::markov::load_table).transpose()?;
    let ds = Dataset::open(&args.data)?;
    let split = ds.load_split(args.split)?;
    // The dataset's style slots mapped into the package's vocabulary.
    let mut vocab: Vocab = pkg.manifest.vocab.clone();
    let style_map: Vec<u16> = ds
        .manifest
        .vocab
        .styles
        .iter()
        .map(|n| vocab.add_style(n))
        .collect::<Result<_, _>>()?;
    let tok = Tokenizer::new(Vocab::new(), ds.manifest.microtiming);
    let n = if args.limit == 0 {
        split.seqs.len()
    } else {
        split.seqs.len().min(args.limit)
    };
    let mut ours: BTreeMap<String, EvalStats> = BTreeMap::new();
    // The windows of sequence `i` that are scored (likelihood and int8 drift alike).
    let scoring_windows = |i: usize| -> Vec<Vec<u32>> {
        windows_of(
            split.seq(i),
            &tok,
            context - 1,
            args.window_bars,
            args.window_bars,
            &style_map,
        )
        .into_iter()
        .map(|w| w.ids.iter().map(|&t| t as u32).collect())
        .collect()
    };
    let mut theirs: BTreeMap<String, EvalStats> = BTreeMap::new();
    let bar = indicatif::ProgressBar::new(n as u64);
    for i in 0..n {
        let role = split.seqs[i].role.name().to_string();
        for ids in scoring_windows(i) {
            let s = score_window_onnx(&mut model, &ids)?;
            add(ours.entry(role.clone()).or_default(), &s);
            add(ours.entry("all".into()).or_default(), &s);
            if let Some(t) = &base_table {
                let mut m = MarkovModel::with_context_len(t.clone(), 1 << 16);
                let s = score_sequence(&mut m, &ids)?;
                add(theirs.entry(role.clone()).or_default(), &s);
                add(theirs.entry("all".into()).or_default(), &s);
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    let model_scores: BTreeMap<String, Scores> = ours.into_iter().map(|(k, v)| (k, v.into())).collect();
    let base_scores: BTreeMap<String, Scores> = theirs.into_iter().map(|(k, v)| (k, v.into())).collect();
    let nll_improvement: BTreeMap<String, f64> = model_scores
        .iter()
        .filter_map(|(k, s)| base_scores.get(k).map(|b| (k.clone(), 1.0 - s.nll / b.nll)))
        .collect();

    // Music metrics on generated samples over held-out chords.
    let mut music_model: BTreeMap<String, Vec<MusicMetrics>> = BTreeMap::new();
    let mut music_human: BTreeMap<String, Vec<MusicMetrics>> = BTreeMap::new();
    let mut music_base: BTreeMap<String, Vec<MusicMetrics>> = BTreeMap::new();
    let mut music_harm: BTreeMap<String, Vec<MusicMetrics>> = BTreeMap::new();
    if args.samples > 0 {
        // `samples` per role, from the start of the split.
        let mut taken: BTreeMap<Role, usize> = BTreeMap::new();
        for i in 0..split.seqs.len() {
            let ids: Vec<u32> = split.seq(i).iter().map(|&t| t as u32).collect();
            let Ok(seq) = models::tokenizer::decode(&ids) else {
                continue;
            };
            if seq.bars < args.sample_bars {
                continue;
            }
            let w = seq.slice_bars(0, args.sample_bars);
            let role = w.role;
            if taken.get(&role).copied().unwrap_or(0) >= args.samples {
                continue;
            }
            let key = role.name().to_string();
            let mut config = models::generate::SessionConfig::new(role);
            config.tempo_bpm = w.tempo_bpm;
            config.styles = w
                .styles
                .iter()
                .map(|&s| style_map.get(s as usize).copied().unwrap_or(s))
                .collect();
            config.microtiming = pkg.manifest.microtiming;
            config.seed = args.seed + i as u64;
            config.keep_bars = pkg.manifest.keep_bars();
            config.sampler = models::sampling::SamplerConfig {
                temperature: 1.0,
                top_k: 0,
                top_p: 0.95,
            };
            // The role's constraints as the plugin applies them, without the Harmony pull (the
            // model alone); then again with the default Harmony.
            config.constraints = models::sampling::Constraints {
                chord_tones: 0.0,
                ..models::sampling::Constraints::for_role(role)
            };
            let cond = crate::generate::conditioning(&w.chords, &w.inputs);
            let measure = |c: models::generate::SessionConfig| -> anyhow::Result<MusicMetrics> {
                let m = crate::generate::AnyModel::Onnx(Box::new(OnnxModel::load(&pkg, variant)?));
                let notes = crate::generate::generate_any(m, c, &cond, args.sample_bars)?;
                let notes: Vec<Note> = notes.iter().map(|&n| Note::from(n)).collect();
                Ok(music_metrics(&notes, &w.chords, args.sample_bars, role.is_drums()))
            };
            music_model
                .entry(key.clone())
                .or_default()
                .push(measure(config.clone())?);
            if !role.is_drums() {
                let mut hc = config.clone();
                hc.constraints = models::sampling::Constraints::for_role(role);
                music_harm.entry(key.clone()).or_default().push(measure(hc)?);
            }
            music_human.entry(key.clone()).or_default().push(music_metrics(
                &w.notes,
                &w.chords,
                args.sample_bars,
                role.is_drums(),
            ));
            if let Some(t) = &base_table {
                let m = MarkovModel::new(t.clone());
                let notes = crate::generate::generate_notes(m, config, &cond, args.sample_bars)?;
                let notes: Vec<Note> = notes.iter().map(|&n| Note::from(n)).collect();
                music_base.entry(key).or_default().push(music_metrics(
                    &notes,
                    &w.chords,
                    args.sample_bars,
                    role.is_drums(),
                ));
            }
            *taken.entry(role).or_default() += 1;
        }
    }
    // int8 drift against fp32 on the first 1,000 predicted positions of the split.
    let mut int8_drift = None;
    if let ModelKind::Transformer {
        fp32: Some(_),
        int8: Some(_),
        ..
    } = &pkg.manifest.model
    {
        let mut a = OnnxModel::load(&pkg, Variant::PreferFp32)?;
        let mut b = OnnxModel::load(&pkg, Variant::PreferInt8)?;
        let v = VOCAB_SIZE as usize;
        let (mut count, mut agree, mut kl) = (0usize, 0usize, 0f64);
        'seqs: for i in 0..split.seqs.len() {
            for ids in scoring_windows(i) {
                a.truncate(0);
                b.truncate(0);
                let la = a.forward(&ids).map_err(|e| anyhow::anyhow!("{e}"))?;
                let lb = b.forward(&ids).map_err(|e| anyhow::anyhow!("{e}"))?;
                let mask = predicted_mask(&ids);
                for j in 1..ids.len() {
                    if !mask[j] {
                        continue;
                    }
                    let (ra, rb) = (&la[(j - 1) * v..j * v], &lb[(j - 1) * v..j * v]);
                    let am = |r: &[f32]| r.iter().enumerate().max_by(|x, y| x.1.total_cmp(y.1)).map(|x| x.0);
                    agree += (am(ra) == am(rb)) as usize;
                    let lsm = |r: &[f32]| {
                        let m = r.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
                        let lse = m + r.iter().map(|&x| (x as f64 - m).exp()).sum::<f64>().ln();
                        r.iter().map(|&x| x as f64 - lse).collect::<Vec<f64>>()
                    };
                    let (pa, pb) = (lsm(ra), lsm(rb));
                    kl += pa.iter().zip(&pb).map(|(x, y)| x.exp() * (x - y)).sum::<f64>();
                    count += 1;
                    if count >= 1000 {
                        break 'seqs;
                    }
                }
            }
        }
        int8_drift = Some((count, agree as f64 / count.max(1) as f64, kl / count.max(1) as f64));
    }
    let mut latency_ms = BTreeMap::new();
    if let ModelKind::Transformer { fp32, int8, .. } = &pkg.manifest.model {
        if fp32.is_some() {
            latency_ms.insert(
                "fp32".to_string(),
                decode_latency_ms(&pkg, Variant::PreferFp32, 64, 192, 3)?,
            );
        }
        if int8.is_some() {
            latency_ms.insert(
                "int8".to_string(),
                decode_latency_ms(&pkg, Variant::PreferInt8, 64, 192, 3)?,
            );
        }
    }
    let collapse = |m: BTreeMap<String, Vec<MusicMetrics>>| m.into_iter().map(|(k, v)| (k, mean(&v))).collect();
    let report = Report {
        package: pkg.manifest.name.clone(),
        baseline: base_pkg.as_ref().map(|p| p.manifest.name.clone()),
        split: args.split.name().into(),
        model: model_scores,
        baseline_scores: base_scores,
        nll_improvement,
        music_model: collapse(music_model),
        music_human: collapse(music_human),
        music_baseline: collapse(music_base),
        music_harmony: collapse(music_harm),
        int8_drift,
        latency_ms,
        seconds: t0.elapsed().as_secs_f64(),
    };
    print_report(&report);
    if let Some(p) = &args.json {
        crate::dataset::write_atomic(p, serde_json::to_string_pretty(&report)?.as_bytes())?;
    }
    if args.write_metrics {
        let mut manifest = pkg.manifest.clone();
        for (role, s) in &report.model {
            manifest
                .metrics
                .insert(format!("{}_nll_{role}", args.split.name()), s.nll);
            manifest
                .metrics
                .insert(format!("{}_top1_{role}", args.split.name()), s.top1);
        }
        if let Some((_, top1, kl)) = report.int8_drift {
            manifest.metrics.insert("int8_top1_agreement".into(), top1);
            manifest.metrics.insert("int8_mean_kl".into(), kl);
        }
        for (v, ms) in &report.latency_ms {
            manifest.metrics.insert(format!("decode_ms_per_token_{v}"), *ms);
        }
        for (role, s) in &report.baseline_scores {
            manifest
                .metrics
                .insert(format!("baseline_{}_nll_{role}", args.split.name()), s.nll);
        }
        for (who, set) in [
            ("model", &report.music_model),
            ("human", &report.music_human),
            ("markov", &report.music_baseline),
            ("harmony", &report.music_harmony),
        ] {
            for (role, m) in set {
                for (name, v) in [
                    ("chord_tone_ratio", m.chord_tone_ratio),
                    ("scale_consistency", m.scale_consistency),
                    ("dead_air", m.dead_air),
                    ("notes_per_bar", m.density),
                    ("repetition4", m.repetition4),
                    ("groove_consistency", m.groove_consistency),
                ] {
                    if v.is_finite() {
                        manifest.metrics.insert(format!("music_{role}_{name}_{who}"), v);
                    }
                }
            }
        }
        Package::write(&pkg.dir, &mut manifest)?;
    }
    Ok(())
}

/// A metric's name and how to read it.
type MetricRow = (&'static str, fn(&MusicMetrics) -> f64);

fn print_report(r: &Report) {
    println!(
        "{} on the {} split{}",
        r.package,
        r.split,
        r.baseline.as_ref().map(|b| format!(" vs {b}")).unwrap_or_default()
    );
    println!(
        "{:<8} {:>9} {:>8} {:>8} {:>7} {:>7} | {:>8} {:>8} {:>7} {:>7} | {:>7}",
        "role", "tokens", "NLL", "ppl", "top1", "top5", "base NLL", "base ppl", "top1", "top5", "gain"
    );
    for (role, s) in &r.model {
        let b = r.baseline_scores.get(role).copied().unwrap_or_default();
        let gain = r
            .nll_improvement
            .get(role)
            .map(|g| format!("{:.1}%", 100.0 * g))
            .unwrap_or_else(|| "-".into());
        println!(
            "{:<8} {:>9} {:>8.4} {:>8.3} {:>6.1}% {:>6.1}% | {:>8.4} {:>8.3} {:>6.1}% {:>6.1}% | {:>7}",
            role,
            s.tokens,
            s.nll,
            s.perplexity,
            100.0 * s.top1,
            100.0 * s.top5,
            b.nll,
            b.perplexity,
            100.0 * b.top1,
            100.0 * b.top5,
            gain
        );
    }
    if !r.music_model.is_empty() {
        println!("\nmusic metrics (mean over samples): model / model + default Harmony / baseline / human");
        println!(
            "{:<8} {:<22} {:>8} {:>8} {:>8} {:>8}",
            "role", "metric", "model", "+harmony", "baseline", "human"
        );
        for (role, m) in &r.music_model {
            let h = r.music_human.get(role).copied().unwrap_or_default();
            let hm = r.music_harmony.get(role).copied();
            let b = r.music_baseline.get(role).copied();
            let rows: [MetricRow; 7] = [
                ("dead-air ratio", |m| m.dead_air),
                ("4-gram repetition", |m| m.repetition4),
                ("notes per bar", |m| m.density),
                ("pitch-class entropy", |m| m.pitch_class_entropy),
                ("scale consistency", |m| m.scale_consistency),
                ("chord-tone ratio", |m| m.chord_tone_ratio),
                ("groove consistency", |m| m.groove_consistency),
            ];
            for (name, f) in rows {
                let bv = b
                    .map(|b| format!("{:>8.3}", f(&b)))
                    .unwrap_or_else(|| format!("{:>8}", "-"));
                let hv = hm
                    .map(|x| format!("{:>8.3}", f(&x)))
                    .unwrap_or_else(|| format!("{:>8}", "-"));
                println!("{:<8} {:<22} {:>8.3} {} {} {:>8.3}", role, name, f(m), hv, bv, f(&h));
            }
        }
    }
    if let Some((n, top1, kl)) = r.int8_drift {
        println!(
            "int8 vs fp32 on {n} held-out positions: top-1 agreement {:.2}%, mean KL {kl:.5}",
            100.0 * top1
        );
    }
    for (v, ms) in &r.latency_ms {
        println!("decode latency {v}: {ms:.3} ms/token (batch 1, KV cache, 1 thread, prefill 64)");
    }
    println!("({:.1} s)", r.seconds);
}

#[cfg(test)]
mod tests {
    use super::*;
    use models::chord::{Chord, ChordQuality};

    #[test]
    fn music_metrics_of_a_simple_line() {
        let chords = vec![ChordEvent {
            start: 0.0,
            chord: Some(Chord::new(0, ChordQuality::Maj7)),
        }];
        let notes: Vec<Note> = [60u8, 64, 67, 71, 60, 64, 67, 71]
            .iter()
            .enumerate()
            .map(|(i, &p)| Note {
                start: i as f64,
                duration: 1.0,
                pitch: p,
                velocity: 80,
            })
            .collect();
        let m = music_metrics(&notes, &chords, 2, false);
        assert_eq!(m.dead_air, 0.0);
        assert_eq!(m.chord_tone_ratio, 1.0);
        assert_eq!(m.scale_consistency, 1.0);
        assert!((m.pitch_class_entropy - 2.0).abs() < 1e-9);
        assert!((m.repetition4 - 0.2).abs() < 1e-9);
        assert_eq!(m.density, 4.0);
        assert!(m.groove_consistency.is_nan());
    }
}
