//! `trainer eval`: a model package against the Markov baseline on the same split.
//!
//! - Likelihood: NLL (nats per predicted token), perplexity, top-1 / top-5 accuracy, per role, over
//!   identical windows for both models (non-overlapping bar ranges of each sequence, each restating
//!   its header and chord, truncated to the transformer's context), scoring only the positions
//!   [`models::tokenizer::predicted_mask`] marks.
//! - Music: the music report ([`crate::report`]): samples generated over the evaluation pieces'
//!   own conditioning by the same session the plugin uses, every metric beside the human value of
//!   the same bars, with calibration sampling, the plugin's defaults, and the default Harmony;
//!   chord sensitivity and rest calibration, teacher-forced.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;
use models::markov::MarkovModel;
use models::model::TokenModel;

use models::package::{ModelKind, Package};
use models::runtime::{OnnxModel, Variant};
use models::tokenizer::{Tokenizer, VOCAB_SIZE, Vocab, predicted_mask};
use serde::{Deserialize, Serialize};

use crate::dataset::{Dataset, Split};
use crate::markov::{EvalStats, score_sequence};
use crate::train::windows_of;

mod chords_input;
mod headers;
pub use chords_input::{chord_onsets, chords_as_input, without_input};
pub use headers::{as_styles, with_style, without_styles};

/// `trainer eval` arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct EvalArgs {
    /// Model package to evaluate: a folder, or `builtin:<id>` for a default model.
    pub package: String,
    /// Prepared dataset folder.
    #[arg(long)]
    pub data: PathBuf,
    /// Markov baseline package to compare with.
    #[arg(long)]
    pub baseline: Option<PathBuf>,
    /// Split to score; `all` takes every untransposed piece of the dataset (an external folder
    /// evaluated whole).
    #[arg(long, value_enum, default_value = "valid")]
    pub split: EvalSplit,
    /// Bars per scoring window.
    #[arg(long, default_value_t = 8)]
    pub window_bars: u32,
    /// Sequences scored at most (0: all).
    #[arg(long, default_value_t = 0)]
    pub limit: usize,
    /// Score the fp32 model even when the package has an int8 one.
    #[arg(long)]
    pub fp32: bool,
    /// Pieces per role in the music report, each role's first in the split's order (default:
    /// every piece of the split, as an acceptance is measured; 0 skips the report). A smaller
    /// number is quicker and measures a subset, not a sample: the first pieces of a split are
    /// often one source, library or composer.
    #[arg(long)]
    pub samples: Option<usize>,
    /// Bars per piece in the music report (each piece's first bars; shorter pieces whole).
    #[arg(long, default_value_t = 16)]
    pub sample_bars: u32,
    /// Samples of each piece in the music report, averaged (each its own seed), with each mean's
    /// standard error over them: one seed of 24 pieces moves a ratio such as the chord tones on
    /// beats 1 and 3 by 0.1 or more.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub draws: u32,
    /// Sampling seed. Reports at different seeds draw every piece from different seeds
    /// (`report::piece_seed`), so their means are independent draws and can be averaged.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The music report's temperature for its "model" and "+harmony" columns, relative to the
    /// package's tuned one for each role as the plugin's is (default: the plugin's), to measure a
    /// default before changing it.
    #[arg(long, default_value_t = crate::report::PLUGIN_SAMPLER.temperature, value_parser = crate::args::temperature)]
    pub temperature: f32,
    /// The music report's top-p (on the choice of note) for those columns, relative to the
    /// package's tuned one for each role as the plugin's is (default: the plugin's).
    #[arg(long, default_value_t = crate::report::PLUGIN_SAMPLER.top_p, value_parser = crate::args::top_p)]
    pub top_p: f32,
    /// The music report's Harmony (nats) for its "+harmony" column, through each role's tuned
    /// Harmony as the plugin's is (default: the plugin's).
    #[arg(long, default_value_t = models::sampling::DEFAULT_CHORD_TONES, value_parser = crate::args::harmony)]
    pub harmony: f32,
    /// The music report's Memory (percent of the model's piece memory) for its "model" and
    /// "+harmony" columns (default: the plugin's, 100; 0 plays the network alone).
    #[arg(long, default_value_t = 100.0, value_parser = crate::args::memory_pct)]
    pub memory: f32,
    /// The music report's first-bar drafts for its "model" and "+harmony" columns
    /// (`models::sampling::Constraints::first_bar_drafts`; default: the role's, 8 for the drums).
    #[arg(long)]
    pub drafts: Option<u8>,
    /// The music report's Density for its "model" and "+harmony" columns (default: the plugin's,
    /// 0.5), to measure a default before changing it.
    #[arg(long, default_value_t = 0.5, value_parser = crate::args::unit)]
    pub density: f32,
    /// The music report's drums without steady dynamics (each instrument kept near its recent
    /// level, as the plugin plays them): the network's velocities as sampled, to measure whether
    /// the constraint is still needed.
    #[arg(long)]
    pub no_steady_dynamics: bool,
    /// Generate without the model's opening tag (a model trained with `opening = true`): every
    /// piece's first bars sampled as the middle of a piece, to measure what the tag is worth.
    #[arg(long)]
    pub no_opening: bool,
    /// Only the pieces whose header carries this style tag (a period, a composer, a groove):
    /// their likelihood and music report, beside the human values of the same pieces.
    #[arg(long)]
    pub style: Option<String>,
    /// Leave out the pieces whose header carries this style tag (repeat for several): `--without-style
    /// ending --without-style intro --without-style "groove fill"` measures the band's main grooves
    /// alone, which a producer plays most.
    #[arg(long)]
    pub without_style: Vec<String>,
    /// Score and sample with these style tags in each header in place of the piece's own
    /// (`--style Modern --as-style Modern`: the Modern songs played by a model told only the
    /// period, as the plugin's one Style choice tells it; `--as-style Classical`: what the tag is
    /// worth, in nats and in the music report).
    #[arg(long)]
    pub as_style: Vec<String>,
    /// Replace each piece's input by its chords, each one's close voicing struck where it changes
    /// (pieces without chords keep theirs): the role measured over what the plugin hears from a
    /// user who plays only the chords, beside the human values of the same pieces. The band's
    /// bass heard the grooves' comping in training.
    #[arg(long)]
    pub chords_as_input: bool,
    /// Write the report as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Store the headline metrics in the package's manifest.
    #[arg(long)]
    pub write_metrics: bool,
}

/// Likelihood scores of one model on one role.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
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

/// What a predicted token decides, for the likelihood breakdown: `time` (`BAR`, `POS`, `EOS`),
/// `note` (`PITCH`, `DRUM`), `vel`, `dur`, `micro`.
pub fn token_kind(id: u32) -> &'static str {
    use models::tokenizer::Token;
    match Vocab::token(id) {
        Some(Token::Pitch(_) | Token::Drum(_)) => "note",
        Some(Token::Vel(_)) => "vel",
        Some(Token::Dur(_)) => "dur",
        Some(Token::Micro(_)) => "micro",
        _ => "time",
    }
}

/// Scores one window with a model that returns all logits in one pass.
pub fn score_window_onnx(m: &mut OnnxModel, ids: &[u32]) -> anyhow::Result<EvalStats> {
    Ok(score_window_kinds(m, ids)?
        .into_values()
        .fold(EvalStats::default(), |mut a, b| {
            add(&mut a, &b);
            a
        }))
}

/// [`score_window_onnx`], by [`token_kind`].
pub fn score_window_kinds(m: &mut OnnxModel, ids: &[u32]) -> anyhow::Result<BTreeMap<&'static str, EvalStats>> {
    let mut by_kind: BTreeMap<&'static str, EvalStats> = BTreeMap::new();
    m.truncate(0);
    let logits = m.forward(ids).map_err(|e| anyhow::anyhow!("{e}"))?;
    let v = VOCAB_SIZE as usize;
    let mask = predicted_mask(ids);
    for i in 1..ids.len() {
        if !mask[i] {
            continue;
        }
        let row = &logits[(i - 1) * v..i * v];
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let lse = max as f64 + row.iter().map(|&l| ((l - max) as f64).exp()).sum::<f64>().ln();
        let target = row[ids[i] as usize];
        let s = by_kind.entry(token_kind(ids[i])).or_default();
        s.tokens += 1;
        s.nll_sum += lse - target as f64;
        let better = row.iter().filter(|&&l| l > target).count();
        s.top1 += (better == 0) as u64;
        s.top5 += (better < 5) as u64;
    }
    Ok(by_kind)
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
    model_latency_ms(&mut OnnxModel::load(pkg, variant)?, prefill, tokens, repeats)
}

/// [`decode_latency_ms`] of a loaded model.
pub fn model_latency_ms(m: &mut OnnxModel, prefill: usize, tokens: usize, repeats: usize) -> anyhow::Result<f64> {
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

/// The split `trainer eval` scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EvalSplit {
    /// The training split (untransposed pieces).
    Train,
    /// The validation split.
    Valid,
    /// The test split.
    Test,
    /// Every untransposed piece of every split.
    All,
}

impl EvalSplit {
    /// Its name in reports and metric keys.
    pub fn name(self) -> &'static str {
        match self {
            EvalSplit::Train => "train",
            EvalSplit::Valid => "valid",
            EvalSplit::Test => "test",
            EvalSplit::All => "all",
        }
    }
}

/// The untransposed sequences of `split`, as one [`SplitData`].
pub fn load_eval_split(ds: &Dataset, split: EvalSplit) -> anyhow::Result<crate::dataset::SplitData> {
    let splits: Vec<Split> = match split {
        EvalSplit::Train => vec![Split::Train],
        EvalSplit::Valid => vec![Split::Valid],
        EvalSplit::Test => vec![Split::Test],
        EvalSplit::All => Split::ALL.to_vec(),
    };
    let mut out = crate::dataset::SplitData::default();
    for sp in splits {
        let d = ds.load_split(sp)?;
        for (i, r) in d.seqs.iter().enumerate() {
            if r.transpose == 0 {
                let ids: Vec<u32> = d.seq(i).iter().map(|&t| t as u32).collect();
                out.push(&ids, r.file, r.role, 0);
            }
        }
    }
    Ok(out)
}

/// What the diagnostic examples (`trainer/examples/`) measure on: a prepared dataset, the
/// untransposed sequences of one of its splits, a model package, and the dataset's style slots in
/// the package's vocabulary.
pub struct SplitAndModel {
    /// The prepared dataset.
    pub ds: Dataset,
    /// Its split's sequences ([`load_eval_split`]).
    pub data: crate::dataset::SplitData,
    /// The model.
    pub pkg: Package,
    /// [`style_map`] of the two.
    pub style_map: Vec<u16>,
}

impl SplitAndModel {
    /// Opens the prepared folder `data`, its split named `split` (`train`, `valid`, `test` or
    /// `all`) and the package `model` (a folder or `builtin:<id>`).
    pub fn open(data: &str, split: &str, model: &str) -> anyhow::Result<SplitAndModel> {
        let ds = Dataset::open(std::path::Path::new(data))?;
        let split = <EvalSplit as clap::ValueEnum>::from_str(split, true).map_err(|e| anyhow::anyhow!("split: {e}"))?;
        let pkg = Package::open(model)?;
        let data = load_eval_split(&ds, split)?;
        let style_map = style_map(&pkg, &ds)?;
        Ok(SplitAndModel {
            ds,
            data,
            pkg,
            style_map,
        })
    }
}

/// What [`style_map`] maps a style to when the package never learned it.
pub const UNKNOWN_STYLE: u16 = u16::MAX;

/// The dataset's style slots mapped into the package's vocabulary. A style the package never
/// learned maps to [`UNKNOWN_STYLE`] and [`map_styles`] leaves it out of the header: its slot
/// would be an embedding the network never trained (the WJazzD soloists' names, say, for a
/// model that learned only `wjazzd`), and the plugin never sends one (its Style lists the
/// model's styles). Training gives such styles free slots instead (`train::windows`).
pub fn style_map(pkg: &Package, ds: &Dataset) -> anyhow::Result<Vec<u16>> {
    Ok(styles_into(&pkg.manifest.vocab, &ds.manifest.vocab))
}

/// The styles of the `data` vocabulary as slots of the `model` one ([`style_map`]).
fn styles_into(model: &Vocab, data: &Vocab) -> Vec<u16> {
    data.styles
        .iter()
        .map(|n| model.style_slot(n).unwrap_or(UNKNOWN_STYLE))
        .collect()
}

/// The pieces per role a music report measures for `--samples`: every piece of the split unless
/// a number is given (0: no report).
pub fn report_pieces(samples: Option<usize>) -> usize {
    samples.unwrap_or(usize::MAX)
}

/// The styles of a dataset the package never learned (left out of the headers it is given).
pub fn unknown_styles(pkg: &Package, ds: &Dataset) -> Vec<String> {
    let vocab: &Vocab = &pkg.manifest.vocab;
    ds.manifest
        .vocab
        .styles
        .iter()
        .filter(|n| vocab.style_slot(n).is_none())
        .cloned()
        .collect()
}

/// A header's dataset style slots mapped through `map` ([`style_map`], or training's map), the
/// styles that map to [`UNKNOWN_STYLE`] left out. A slot past the map's end is kept as it is.
pub fn map_styles(styles: &mut Vec<u16>, map: &[u16]) {
    for s in styles.iter_mut() {
        *s = map.get(*s as usize).copied().unwrap_or(*s);
    }
    styles.retain(|&s| s != UNKNOWN_STYLE);
}

/// Likelihood of an ONNX model on the first `n` sequences of a split, by role and "all": each
/// sequence cut into windows of `window_bars` bars that fit the context, style slots mapped
/// through `style_map`.
pub fn score_split(
    model: &mut OnnxModel,
    split: &crate::dataset::SplitData,
    n: usize,
    tok: &Tokenizer,
    context: usize,
    window_bars: u32,
    style_map: &[u16],
) -> anyhow::Result<BTreeMap<String, Scores>> {
    let mut ours: BTreeMap<String, EvalStats> = BTreeMap::new();
    let bar = indicatif::ProgressBar::new(n.min(split.seqs.len()) as u64);
    for i in 0..n.min(split.seqs.len()) {
        let role = split.seqs[i].role.name().to_string();
        for w in windows_of(split.seq(i), tok, context - 1, window_bars, window_bars, style_map) {
            let ids: Vec<u32> = w.ids.iter().map(|&t| t as u32).collect();
            for (kind, s) in score_window_kinds(model, &ids)? {
                add(ours.entry(role.clone()).or_default(), &s);
                add(ours.entry("all".into()).or_default(), &s);
                add(ours.entry(format!("{role}.{kind}")).or_default(), &s);
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(ours.into_iter().map(|(k, v)| (k, v.into())).collect())
}

/// The report `trainer eval` prints and writes.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
    /// The music report, by role.
    pub music: BTreeMap<String, crate::report::RoleReport>,
    /// int8 vs fp32 on held-out positions: (positions, top-1 agreement, mean KL).
    pub int8_drift: Option<(usize, f64, f64)>,
    /// Decode latency, ms/token (batch 1, KV cache, one thread), by variant.
    pub latency_ms: BTreeMap<String, f64>,
    /// Bars per piece in the music report.
    pub sample_bars: u32,
    /// Temperature and top-p of the music report's "model" and "+harmony" columns (absent in
    /// reports written before they could be changed: the plugin's defaults).
    #[serde(default)]
    pub sampling: Option<(f32, f32)>,
    /// Harmony (nats) of the "+harmony" column (absent in reports written before it could be
    /// changed: the plugin's default then).
    #[serde(default)]
    pub harmony: Option<f32>,
    /// Memory (percent of the model's piece memory) of the "model" and "+harmony" columns
    /// (absent in reports written before it existed: 100, the plugin's default).
    #[serde(default)]
    pub memory: Option<f32>,
    /// Seconds taken.
    pub seconds: f64,
}

/// `trainer eval`.
pub fn run(args: &EvalArgs) -> anyhow::Result<()> {
    let t0 = std::time::Instant::now();
    let pkg = Package::open(&args.package).with_context(|| format!("cannot open the model {}", args.package))?;
    let ModelKind::Transformer { context_len, .. } = &pkg.manifest.model else {
        anyhow::bail!(
            "{} is not a transformer package (evaluate Markov packages with `trainer markov`)",
            args.package
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
    let mut split = load_eval_split(&ds, args.split)?;
    if let Some(name) = &args.style {
        split = with_style(&split, &ds.manifest.vocab, name)?;
    }
    if !args.without_style.is_empty() {
        split = without_styles(&split, &ds.manifest.vocab, &args.without_style)?;
    }
    if !args.as_style.is_empty() {
        split = as_styles(&split, &ds.manifest.vocab, &args.as_style)?;
    }
    let style_map = style_map(&pkg, &ds)?;
    let unknown = unknown_styles(&pkg, &ds);
    if !unknown.is_empty() {
        let shown: Vec<&str> = unknown.iter().take(6).map(String::as_str).collect();
        println!(
            "{} style(s) of the data the model never learned, left out of its headers: {}{}",
            unknown.len(),
            shown.join(", "),
            if unknown.len() > shown.len() { ", ..." } else { "" }
        );
        for role in &pkg.manifest.roles {
            let played = |t: &&String| {
                pkg.manifest
                    .phrasing_player(*role, std::iter::once(t.as_str()))
                    .is_some()
            };
            let known = unknown.iter().filter(played).count();
            if known > 0 {
                println!(
                    "  {known} of them players the {role} knows by their phrasing: the music report plays each such piece's {role} at its player's phrasing calibrations"
                );
            }
        }
    }
    let tok = Tokenizer::new(Vocab::new(), ds.manifest.microtiming);
    if args.chords_as_input {
        split = chords_as_input(&split, &tok)?;
    }
    let n = if args.limit == 0 {
        split.seqs.len()
    } else {
        split.seqs.len().min(args.limit)
    };
    let model_scores = score_split(&mut model, &split, n, &tok, context, args.window_bars, &style_map)?;
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
    if let Some(t) = &base_table {
        for i in 0..n {
            let role = split.seqs[i].role.name().to_string();
            for ids in scoring_windows(i) {
                let mut m = MarkovModel::with_context_len(t.clone(), 1 << 16);
                let s = score_sequence(&mut m, &ids)?;
                add(theirs.entry(role.clone()).or_default(), &s);
                add(theirs.entry("all".into()).or_default(), &s);
            }
        }
    }
    let base_scores: BTreeMap<String, Scores> = theirs.into_iter().map(|(k, v)| (k, v.into())).collect();
    let nll_improvement: BTreeMap<String, f64> = model_scores
        .iter()
        .filter_map(|(k, s)| base_scores.get(k).map(|b| (k.clone(), 1.0 - s.nll / b.nll)))
        .collect();

    // The music report over the evaluation pieces' own conditioning.
    let pieces = report_pieces(args.samples);
    let music = if pieces > 0 {
        let seqs: Vec<models::tokenizer::Sequence> = (0..split.seqs.len())
            .filter_map(|i| {
                let ids: Vec<u32> = split.seq(i).iter().map(|&t| t as u32).collect();
                models::tokenizer::decode(&ids).ok()
            })
            .collect();
        let settings = crate::report::ReportSettings {
            pieces,
            bars: args.sample_bars,
            seed: args.seed,
            draws: args.draws as usize,
            fp32: args.fp32,
            knobs: crate::report::Knobs {
                sampler: models::sampling::SamplerConfig {
                    temperature: args.temperature,
                    top_k: 0,
                    top_p: args.top_p,
                },
                harmony: args.harmony,
                density: args.density,
                memory: args.memory / 100.0,
                drafts: args.drafts,
                steady_dynamics: !args.no_steady_dynamics,
                opening: !args.no_opening,
                phrasing: None,
            },
        };
        crate::report::build(
            &pkg,
            base_table.as_ref(),
            &seqs,
            &style_map,
            &ds.manifest.vocab.styles,
            ds.manifest.microtiming,
            &settings,
        )?
    } else {
        BTreeMap::new()
    };
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
    let report = Report {
        package: pkg.manifest.name.clone(),
        baseline: base_pkg.as_ref().map(|p| p.manifest.name.clone()),
        split: args.split.name().into(),
        model: model_scores,
        baseline_scores: base_scores,
        nll_improvement,
        music,
        int8_drift,
        latency_ms,
        sample_bars: args.sample_bars,
        sampling: Some((args.temperature, args.top_p)),
        harmony: Some(args.harmony),
        memory: Some(args.memory),
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
        for (role, r) in &report.music {
            let mut sets: Vec<(&str, &Vec<f64>)> = vec![
                ("human", &r.human),
                ("calibration", &r.calibration),
                ("model", &r.model),
            ];
            if let Some(h) = &r.harmony {
                sets.push(("harmony", h));
            }
            if let Some(m) = &r.markov {
                sets.push(("markov", m));
            }
            for (who, set) in sets {
                for (key, v) in r.metrics.iter().zip(set) {
                    if v.is_finite() {
                        manifest.metrics.insert(format!("music_{role}_{key}_{who}"), *v);
                    }
                }
            }
            let s = r.sensitivity;
            for (k, v) in [
                ("chord_shift_cost", s.chord_cost),
                ("chord_shift_cost_pitch", s.chord_cost_pitch),
                ("input_shift_cost", s.input_cost),
                ("input_shift_cost_pitch", s.input_cost_pitch),
                ("rest_rate_human", r.rest.data_rate),
                ("rest_mass_model", r.rest.model_mass),
            ] {
                if v.is_finite() {
                    manifest.metrics.insert(format!("music_{role}_{k}"), v);
                }
            }
        }
        if pkg.is_builtin() {
            anyhow::bail!("--write-metrics needs a package folder (built-in models are read-only)");
        }
        Package::write(&pkg.dir, &mut manifest)?;
    }
    Ok(())
}

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
    if let Some((t, p)) = r.sampling
        && (t, p)
            != (
                crate::report::PLUGIN_SAMPLER.temperature,
                crate::report::PLUGIN_SAMPLER.top_p,
            )
    {
        println!("music report sampled at temperature {t}, top-p {p} (not the plugin's defaults)");
    }
    if let Some(h) = r.harmony.filter(|&h| h != models::sampling::DEFAULT_CHORD_TONES) {
        println!("the +harmony column at Harmony {h} nats (not the plugin's default)");
    }
    if let Some(m) = r.memory.filter(|&m| m != 100.0) {
        println!("music report sampled with {m} % of the model's piece memory (not the plugin's default)");
    }
    crate::report::print(&r.music, r.sample_bars);
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

    #[test]
    fn a_style_the_model_never_learned_is_left_out_of_the_header() {
        // The model learned `wjazzd` (slot 0); the data also names a soloist it never learned.
        let mut model = Vocab::new();
        model.add_style("wjazzd").unwrap();
        let mut data = Vocab::new();
        let soloist = data.add_style("Art Pepper").unwrap();
        let corpus = data.add_style("wjazzd").unwrap();
        let map = styles_into(&model, &data);
        let mut header = vec![soloist, corpus];
        map_styles(&mut header, &map);
        assert_eq!(header, vec![model.style_slot("wjazzd").unwrap()]);
        // Training's map (free slots for new styles) keeps every style.
        let mut header = vec![soloist, corpus];
        map_styles(&mut header, &[5, 0]);
        assert_eq!(header, vec![5, 0]);
    }

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        eval: EvalArgs,
    }

    #[test]
    fn the_music_report_measures_the_whole_split_unless_told_otherwise() {
        use clap::Parser;
        let pieces = |extra: &[&str]| {
            let args = ["eval", "builtin:band", "--data", "d"].iter().chain(extra);
            report_pieces(Cli::try_parse_from(args).unwrap().eval.samples)
        };
        // The first 24 pieces of a split were a subset, not a sample (one MMA library, a few
        // composers): the default is every piece.
        assert_eq!(pieces(&[]), usize::MAX);
        assert_eq!(pieces(&["--samples", "24"]), 24);
        assert_eq!(pieces(&["--samples", "0"]), 0);
    }
}
