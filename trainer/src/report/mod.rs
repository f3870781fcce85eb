//! The music report of `trainer eval`: what a model plays over the evaluation pieces' *own*
//! conditioning (their chords, the parts the role hears, their tempo and meter, as many bars),
//! measured beside what the humans played over the same bars, for every role.
//!
//! Three ways of sampling, each over every piece:
//! - *calibration*: temperature 1, top-p 1, no constraint but the grammar. A language model
//!   sampled so should reproduce its data's statistics; if it does not, the model or the
//!   generation path is wrong.
//! - *model*: the plugin's defaults (top-p 0.95 or the role's tuned top-p, the role's range and polyphony) with Harmony 0:
//!   the network alone.
//! - *+ Harmony*: the same with the default Harmony (pitched roles).
//!
//! And two teacher-forced checks on the same bars:
//! - *chord sensitivity*: the likelihood cost of moving every chord symbol a tritone, and of moving
//!   the input the role hears a tritone, per predicted token and per pitch token. A model that
//!   follows the harmony must pay for it.
//! - *rest calibration*: at every point where the role decides when it plays next, the probability
//!   the model gives to "nothing before the next given event" against how often the human rested.

mod draws;
pub mod feel;
pub mod metrics;
pub mod phrasing;
pub mod rhythm;
mod tables;
pub mod touch;

pub use draws::{DRAW_STRIDE, StdErr, piece_seed};
pub use tables::{markdown, print};

use std::collections::BTreeMap;

use models::markov::MarkovModel;
use models::model::TokenModel;
use models::music::{Note, Role};
use models::package::Package;

use models::sampling::{Constraints, SamplerConfig, is_sampleable};
use models::tokenizer::{Sequence, Token, Tokenizer, VOCAB_SIZE, Vocab, predicted_mask};
use serde::{Deserialize, Deserializer, Serialize};

use crate::generate::{AnyModel, conditioning, generate_any, load_model};
use draws::Column;
use metrics::Passage;

/// How a report samples and how much it measures.
#[derive(Debug, Clone)]
pub struct ReportSettings {
    /// Pieces per role at most.
    pub pieces: usize,
    /// Bars per piece at most (from its start).
    pub bars: u32,
    /// Sampling seed (piece `i`'s draw `d` uses [`piece_seed`]`(seed + DRAW_STRIDE * d, i)`).
    pub seed: u64,
    /// Samples of each piece (at least 1); a piece's sampled metrics are their mean.
    pub draws: usize,
    /// Run the fp32 graph.
    pub fp32: bool,
    /// The user's settings of the "model" and "+harmony" columns: the plugin's defaults
    /// ([`Knobs::default`]) unless a default under consideration is being measured.
    pub knobs: Knobs,
}

/// The user's settings a sample is drawn with (beside the model's tuned ones).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Knobs {
    /// Temperature (relative to the tuned one), top-k, top-p.
    pub sampler: SamplerConfig,
    /// Harmony, nats (the "+harmony" column only).
    pub harmony: f32,
    /// Density (0.5 plays as the network does; the model's rest calibration comes on top).
    pub density: f32,
    /// The strength of the model's piece memory (1 as fitted, 0 the network alone;
    /// [`models::memory::MemoryWeights::scaled`]).
    pub memory: f32,
    /// First-bar drafts ([`Constraints::first_bar_drafts`]); `None` the role's default.
    pub drafts: Option<u8>,
    /// Drums keep each instrument near its recent level ([`Constraints::steady_dynamics`], the
    /// plugin's way); off, the network's velocities as sampled.
    pub steady_dynamics: bool,
    /// A fresh stream carries the model's opening tag, as in the plugin
    /// ([`models::generate::SessionConfig::opening`]); off, every bar is sampled as the middle of
    /// a piece, to measure what the tag is worth.
    pub opening: bool,
    /// The phrasing calibrations of the player the session names
    /// ([`models::package::Manifest::phrasing_of`], the plugin's Player); `None`, the role's.
    pub phrasing: Option<models::package::Phrasing>,
}

impl Default for Knobs {
    /// The plugin's defaults.
    fn default() -> Self {
        Knobs {
            sampler: PLUGIN_SAMPLER,
            harmony: models::sampling::DEFAULT_CHORD_TONES,
            density: models::sampling::NEUTRAL_DENSITY,
            memory: 1.0,
            drafts: None,
            steady_dynamics: true,
            opening: true,
            phrasing: None,
        }
    }
}

/// The plugin's default sampling (its Temperature and Top-p parameters' defaults).
pub const PLUGIN_SAMPLER: SamplerConfig = SamplerConfig {
    temperature: 1.0,
    top_k: 0,
    top_p: models::sampling::DEFAULT_TOP_P,
};

fn one() -> usize {
    1
}

// JSON has no NaN: serde_json writes it as null, and these read null back as NaN.
fn nan_f64<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

fn nan_vec<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
    Ok(Vec::<Option<f64>>::deserialize(d)?
        .into_iter()
        .map(|v| v.unwrap_or(f64::NAN))
        .collect())
}

fn nan_opt_vec<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<f64>>, D::Error> {
    Ok(Option::<Vec<Option<f64>>>::deserialize(d)?.map(|v| v.into_iter().map(|x| x.unwrap_or(f64::NAN)).collect()))
}

/// A relative difference beyond which a value is marked as off the human one.
pub const OFF_BY: f64 = 0.10;

/// Teacher-forced sensitivity to the conditioning.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Sensitivity {
    /// Windows scored.
    pub windows: usize,
    /// Predicted tokens scored.
    pub tokens: usize,
    /// Pitch (or drum) tokens among them.
    pub pitch_tokens: usize,
    /// NLL of the real conditioning, nats per predicted token.
    #[serde(deserialize_with = "nan_f64")]
    pub nll: f64,
    /// NLL increase with every chord moved a tritone, per predicted token.
    #[serde(deserialize_with = "nan_f64")]
    pub chord_cost: f64,
    /// The same, per pitch token.
    #[serde(deserialize_with = "nan_f64")]
    pub chord_cost_pitch: f64,
    /// NLL increase with the input the role hears moved a tritone, per predicted token (NaN
    /// without input).
    #[serde(deserialize_with = "nan_f64")]
    pub input_cost: f64,
    /// The same, per pitch token.
    #[serde(deserialize_with = "nan_f64")]
    pub input_cost_pitch: f64,
}

/// Rest calibration at the role's timing decisions.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct RestCalibration {
    /// Decision points before a given event in the same bar (a chord change, a heard note).
    pub points: usize,
    /// How often the human played nothing before that event.
    #[serde(deserialize_with = "nan_f64")]
    pub data_rate: f64,
    /// Mean probability the model gave to playing nothing before it.
    #[serde(deserialize_with = "nan_f64")]
    pub model_mass: f64,
    /// Of playing before it: how often the human's next onset came at a position where the bar
    /// before held a given event (an "echo" of the conditioning's rhythm), and elsewhere.
    #[serde(default, deserialize_with = "nan_f64")]
    pub data_early_echo: f64,
    /// See [`RestCalibration::data_early_echo`].
    #[serde(default, deserialize_with = "nan_f64")]
    pub data_early_other: f64,
    /// The model's mean mass on a next onset (`POS`) before the event at a position where the bar
    /// before held a given event. A network that cannot see where the next given event comes
    /// (given events are written at their own time) and learned the conditioning's rhythm puts
    /// mass there, which becomes the role's own notes when nothing is given there.
    #[serde(default, deserialize_with = "nan_f64")]
    pub model_early_echo: f64,
    /// The same at other positions before the event.
    #[serde(default, deserialize_with = "nan_f64")]
    pub model_early_other: f64,
}

/// Sums behind [`RestCalibration`].
#[derive(Debug, Clone, Copy, Default)]
struct RestSums {
    points: usize,
    data_rest: f64,
    model_rest: f64,
    data_echo: f64,
    data_other: f64,
    model_echo: f64,
    model_other: f64,
}

impl RestSums {
    fn calibration(&self) -> RestCalibration {
        let per = |x: f64| {
            if self.points > 0 {
                x / self.points as f64
            } else {
                f64::NAN
            }
        };
        RestCalibration {
            points: self.points,
            data_rate: per(self.data_rest),
            model_mass: per(self.model_rest),
            data_early_echo: per(self.data_echo),
            data_early_other: per(self.data_other),
            model_early_echo: per(self.model_echo),
            model_early_other: per(self.model_other),
        }
    }
}

/// The positions of the groups that hold a given event (a chord, a heard note), per bar of `tokens`.
fn given_positions(tokens: &[Option<Token>]) -> Vec<Vec<u8>> {
    let mut bars: Vec<Vec<u8>> = vec![Vec::new()];
    let mut pos = None;
    for t in tokens {
        match t {
            Some(Token::Bar) => {
                bars.push(Vec::new());
                pos = None;
            }
            Some(Token::Pos(p)) => pos = Some(*p),
            Some(Token::ChordRoot(_) | Token::ChordNone | Token::InPitch(_)) => {
                let bar = bars.last_mut().expect("one bar at least");
                let p = pos.unwrap_or(0);
                if bar.last() != Some(&p) {
                    bar.push(p);
                }
            }
            _ => {}
        }
    }
    bars
}

/// The report of one role.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RoleReport {
    /// Pieces measured.
    pub pieces: usize,
    /// Samples of each piece behind the sampled columns (reports written before draws: 1).
    #[serde(default = "one")]
    pub draws: usize,
    /// Metric keys, in order ([`metrics::PITCHED`] or [`metrics::DRUMS`]).
    pub metrics: Vec<String>,
    /// The human performances of those bars.
    #[serde(deserialize_with = "nan_vec")]
    pub human: Vec<f64>,
    /// Temperature 1, top-p 1, no constraints, no Harmony.
    #[serde(deserialize_with = "nan_vec")]
    pub calibration: Vec<f64>,
    /// The plugin's defaults with Harmony 0.
    #[serde(deserialize_with = "nan_vec")]
    pub model: Vec<f64>,
    /// The plugin's defaults with the default Harmony (pitched roles).
    #[serde(default, deserialize_with = "nan_opt_vec")]
    pub harmony: Option<Vec<f64>>,
    /// The Markov baseline at the plugin's defaults, Harmony 0.
    #[serde(default, deserialize_with = "nan_opt_vec")]
    pub markov: Option<Vec<f64>>,
    /// The standard error of the sampled columns over the draws (`--draws` 2 or more).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub std_err: Option<StdErr>,
    /// Chord and input sensitivity.
    pub sensitivity: Sensitivity,
    /// Rest calibration.
    pub rest: RestCalibration,
}

impl RoleReport {
    /// The value of metric `key` in `set`.
    pub fn value(&self, set: &[f64], key: &str) -> Option<f64> {
        self.metrics
            .iter()
            .position(|k| k == key)
            .and_then(|i| set.get(i).copied())
    }
}

/// What a metric key means, as the tables name it.
pub fn metric_label(key: &str) -> &str {
    metrics::PITCHED
        .iter()
        .copied()
        .chain(metrics::drum_metrics())
        .find(|(k, _)| *k == key)
        .map_or(key, |(_, label)| label)
}

/// Whether `v` is more than [`OFF_BY`] away from `human`, relatively.
pub fn is_off(v: f64, human: f64) -> bool {
    v.is_finite() && human.is_finite() && (v - human).abs() > OFF_BY * human.abs().max(1e-9)
}

/// The passages measured: each evaluation piece's first bars, in one meter, with the package's
/// style slots, beside the piece's own style slots (the dataset's: they may name its player,
/// whom the package may know only by a calibration, [`player_of`]).
pub fn passages(
    seqs: &[Sequence],
    style_map: &[u16],
    settings: &ReportSettings,
) -> BTreeMap<Role, Vec<(Sequence, Vec<u16>)>> {
    let mut out: BTreeMap<Role, Vec<(Sequence, Vec<u16>)>> = BTreeMap::new();
    for seq in seqs {
        let bars = seq.bars.min(settings.bars);
        if bars < 4 || seq.notes.is_empty() {
            continue;
        }
        let mut w = seq.slice_bars(0, bars);
        if !is_measured(&w) {
            continue;
        }
        w.ended = false;
        let own = w.styles.clone();
        crate::eval::map_styles(&mut w.styles, style_map);
        let list = out.entry(w.role).or_default();
        if list.len() < settings.pieces {
            list.push((w, own));
        }
    }
    out
}

/// The player a piece names among its dataset style slots `own` (names `data_styles`) whom the
/// package calibrates for `role` ([`models::package::Manifest::player_silence`]): the session
/// plays as if the user had picked that player, as the drums' headers name their drummer.
pub fn player_of<'a>(pkg: &Package, role: Role, own: &[u16], data_styles: &'a [String]) -> Option<&'a str> {
    let tags = own
        .iter()
        .filter_map(|&s| data_styles.get(s as usize).map(String::as_str));
    pkg.manifest.phrasing_player(role, tags)
}

/// Whether the report measures a passage (a piece's first bars): one meter over them, and notes
/// in them.
pub fn is_measured(w: &Sequence) -> bool {
    w.meter.changes().len() <= 1 && !w.notes.is_empty()
}

/// How a sample is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sampling {
    /// Temperature 1, top-p 1, only the grammar.
    Calibration,
    /// The plugin's defaults, Harmony 0.
    Model,
    /// The plugin's defaults with the default Harmony.
    Harmony,
}

/// Generates over `w`'s own conditioning, tempo, meter and length.
pub fn sample(
    model: AnyModel,
    pkg: &Package,
    w: &Sequence,
    how: Sampling,
    knobs: Knobs,
    seed: u64,
) -> anyhow::Result<Vec<Note>> {
    let role = w.role;
    let ts = w.meter.at_bar(0);
    let mut config = models::generate::SessionConfig::for_model(role, &pkg.manifest);
    config.numerator = ts.numerator;
    config.denominator = ts.denominator;
    config.tempo_bpm = w.tempo_bpm;
    config.styles = w.styles.clone();
    config.seed = seed;
    config.opening = pkg.manifest.opening_slot().filter(|_| knobs.opening);
    match how {
        Sampling::Calibration => {
            // Temperature 1, top-p 1; no range, polyphony, density or Harmony.
            config.sampler = SamplerConfig::default();
            config.constraints = Constraints::default();
        }
        Sampling::Model | Sampling::Harmony => {
            // The user's temperature is relative to the model's tuned one for the role.
            config.sampler = pkg.manifest.sampler_for(role, knobs.sampler);
            let base = Constraints::for_role(role);
            config.constraints = pkg.manifest.constraints_for(
                role,
                Constraints {
                    density: knobs.density,
                    steady_dynamics: knobs.steady_dynamics && base.steady_dynamics,
                    ..base
                },
            );
            config.constraints.memory = config.constraints.memory.scaled(knobs.memory);
            if let Some(p) = knobs.phrasing {
                p.apply(&mut config.constraints);
            }
            if let Some(d) = knobs.drafts {
                config.constraints.first_bar_drafts = d;
            }
            // The user's Harmony through the role's tuned one, as the plugin plays it.
            config.constraints.chord_tones = match how {
                Sampling::Harmony => pkg.manifest.harmony_for(role, knobs.harmony),
                _ => 0.0,
            };
        }
    }
    let cond = conditioning(&w.chords, &w.inputs);
    let notes = generate_any(model, config, &cond, w.bars)?;
    Ok(notes.iter().map(|&n| Note::from(n)).collect())
}

/// `notes` played over `w`'s bars, chords, meter (its first bar's) and tempo: what the report
/// measures.
pub fn passage<'a>(w: &'a Sequence, notes: &'a [Note]) -> Passage<'a> {
    let ts = w.meter.at_bar(0);
    Passage {
        notes,
        chords: &w.chords,
        numerator: ts.numerator,
        denominator: ts.denominator,
        bars: w.bars,
        tempo_bpm: w.tempo_bpm.unwrap_or(120.0),
    }
}

/// Logits after every prefix of `ids` (row `i` predicts `ids[i + 1]`).
fn logit_rows(model: &mut AnyModel, ids: &[u32]) -> anyhow::Result<Vec<f32>> {
    let v = VOCAB_SIZE as usize;
    match model {
        AnyModel::Onnx(m) => {
            m.truncate(0);
            m.forward(ids).map_err(|e| anyhow::anyhow!("{e}"))
        }
        AnyModel::Markov(m) => {
            m.truncate(0);
            let mut rows = vec![0f32; ids.len() * v];
            for (i, &id) in ids.iter().enumerate() {
                m.feed(&[id]).map_err(|e| anyhow::anyhow!("{e}"))?;
                m.next_logits(&mut rows[i * v..(i + 1) * v])
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            }
            Ok(rows)
        }
    }
}

fn log_softmax_at(row: &[f32], target: usize) -> f64 {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let lse = max + row.iter().map(|&l| (l as f64 - max).exp()).sum::<f64>().ln();
    row[target] as f64 - lse
}

/// (NLL sum over predicted tokens, count, NLL sum over pitch tokens, count).
fn nll_sums(rows: &[f32], ids: &[u32]) -> (f64, usize, f64, usize) {
    let v = VOCAB_SIZE as usize;
    let mask = predicted_mask(ids);
    let (mut all, mut n, mut pitch, mut np) = (0.0, 0, 0.0, 0);
    for j in 1..ids.len() {
        if !mask[j] {
            continue;
        }
        let l = -log_softmax_at(&rows[(j - 1) * v..j * v], ids[j] as usize);
        all += l;
        n += 1;
        if matches!(Vocab::token(ids[j]), Some(Token::Pitch(_) | Token::Drum(_))) {
            pitch += l;
            np += 1;
        }
    }
    (all, n, pitch, np)
}

/// Adds the rest-calibration points of one window to `acc`.
fn rest_points(rows: &[f32], ids: &[u32], acc: &mut RestSums) {
    let v = VOCAB_SIZE as usize;
    let tokens: Vec<Option<Token>> = ids.iter().map(|&i| Vocab::token(i)).collect();
    let given = given_positions(&tokens);
    let mut bar = 0usize;
    for i in 1..ids.len() {
        if matches!(tokens[i - 1], Some(Token::Bar)) {
            bar += 1;
        }
        let before: &[u8] = if bar > 0 { &given[bar - 1] } else { &[] };
        if !matches!(tokens[i], Some(Token::Pos(_) | Token::Bar | Token::Eos)) {
            continue;
        }
        // The next group in this bar, at or after i, that holds a given event.
        let mut next_given = None;
        let mut j = i;
        while j < ids.len() {
            match tokens[j] {
                Some(Token::Bar | Token::Eos) if j > i => break,
                Some(Token::Pos(p)) => {
                    let mut k = j + 1;
                    let mut given = false;
                    while k < ids.len() && !matches!(tokens[k], Some(Token::Pos(_) | Token::Bar | Token::Eos)) {
                        given |= matches!(
                            tokens[k],
                            Some(Token::ChordRoot(_) | Token::ChordNone | Token::InPitch(_))
                        );
                        k += 1;
                    }
                    if given {
                        next_given = Some(p);
                        break;
                    }
                    j = k;
                    continue;
                }
                _ => {}
            }
            j += 1;
        }
        let Some(g) = next_given else { continue };
        let row = &rows[(i - 1) * v..i * v];
        let mut total = 0.0;
        let mut rest = 0.0;
        let (mut echo, mut other) = (0.0, 0.0);
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
        for (id, &l) in row.iter().enumerate() {
            let Some(t) = Vocab::token(id as u32) else { continue };
            if !is_sampleable(t, true) {
                continue;
            }
            let p = (l as f64 - max).exp();
            total += p;
            match t {
                Token::Bar | Token::Eos => rest += p,
                Token::Pos(q) if q >= g => rest += p,
                Token::Pos(q) if before.contains(&q) => echo += p,
                Token::Pos(_) => other += p,
                _ => {}
            }
        }
        let data_rest = match tokens[i] {
            Some(Token::Pos(q)) => q >= g,
            _ => true,
        };
        let share = |x: f64| if total > 0.0 { x / total } else { 0.0 };
        acc.points += 1;
        acc.data_rest += data_rest as u8 as f64;
        acc.model_rest += share(rest);
        acc.model_echo += share(echo);
        acc.model_other += share(other);
        if let Some(Token::Pos(q)) = tokens[i]
            && q < g
        {
            if before.contains(&q) {
                acc.data_echo += 1.0;
            } else {
                acc.data_other += 1.0;
            }
        }
    }
}

/// The sequence with every chord moved a tritone, or its input moved a tritone (within 0-127).
fn shifted(w: &Sequence, chords: bool) -> Sequence {
    let mut s = w.clone();
    if chords {
        for c in &mut s.chords {
            c.chord = c.chord.map(|c| c.transposed(6));
        }
    } else {
        for o in &mut s.inputs {
            o.pitch = if o.pitch + 6 <= 127 { o.pitch + 6 } else { o.pitch - 6 };
        }
    }
    s
}

/// Teacher-forced sensitivity and rest calibration of `model` over `ws`.
fn teacher_forced(
    model: &mut AnyModel,
    tok: &Tokenizer,
    context: usize,
    ws: &[Sequence],
) -> anyhow::Result<(Sensitivity, RestCalibration)> {
    let mut s = Sensitivity::default();
    let (mut base, mut chord, mut input) = ((0.0, 0.0), (0.0, 0.0), (0.0, 0.0));
    let mut with_input = (0usize, 0usize);
    let mut rest = RestSums::default();
    let encode = |w: &Sequence| -> Option<Vec<u32>> {
        let mut ids = tok.encode(w).ok()?;
        ids.truncate(context);
        Some(ids)
    };
    for w in ws {
        let Some(ids) = encode(w) else { continue };
        let rows = logit_rows(model, &ids)?;
        let (a, n, ap, np) = nll_sums(&rows, &ids);
        rest_points(&rows, &ids, &mut rest);
        s.windows += 1;
        s.tokens += n;
        s.pitch_tokens += np;
        base.0 += a;
        base.1 += ap;
        if let Some(ids_c) = encode(&shifted(w, true)) {
            let (c, _, cp, _) = nll_sums(&logit_rows(model, &ids_c)?, &ids_c);
            chord.0 += c - a;
            chord.1 += cp - ap;
        }
        if !w.inputs.is_empty()
            && let Some(ids_i) = encode(&shifted(w, false))
        {
            let (c, _, cp, _) = nll_sums(&logit_rows(model, &ids_i)?, &ids_i);
            input.0 += c - a;
            input.1 += cp - ap;
            with_input.0 += n;
            with_input.1 += np;
        }
    }
    let per = |x: f64, n: usize| if n > 0 { x / n as f64 } else { f64::NAN };
    let has_chords = ws.iter().any(|w| w.chords.iter().any(|c| c.chord.is_some()));
    s.nll = per(base.0, s.tokens);
    s.chord_cost = if has_chords { per(chord.0, s.tokens) } else { f64::NAN };
    s.chord_cost_pitch = if has_chords {
        per(chord.1, s.pitch_tokens)
    } else {
        f64::NAN
    };
    s.input_cost = per(input.0, with_input.0);
    s.input_cost_pitch = per(input.1, with_input.1);
    Ok((s, rest.calibration()))
}

/// Builds the report of every role of `seqs` (the evaluation pieces, untransposed).
pub fn build(
    pkg: &Package,
    baseline: Option<&std::sync::Arc<models::markov::MarkovTable>>,
    seqs: &[Sequence],
    style_map: &[u16],
    data_styles: &[String],
    microtiming: bool,
    settings: &ReportSettings,
) -> anyhow::Result<BTreeMap<String, RoleReport>> {
    let tok = Tokenizer::new(Vocab::new(), microtiming);
    let context = match &pkg.manifest.model {
        models::package::ModelKind::Transformer { context_len, .. } => *context_len as usize,
        _ => 1 << 16,
    };
    let mut out = BTreeMap::new();
    for (role, ws) in passages(seqs, style_map, settings) {
        let drums = role.is_drums();
        let keys: Vec<String> = if drums {
            metrics::drum_metrics().map(|(k, _)| k.to_string()).collect()
        } else {
            metrics::PITCHED.iter().map(|(k, _)| k.to_string()).collect()
        };
        let (mut human, mut markov) = (Vec::new(), Vec::new());
        let (mut cal, mut model, mut harm) = (Column::default(), Column::default(), Column::default());
        let bar = indicatif::ProgressBar::new(ws.len() as u64);
        bar.set_message(format!("music report: {role}"));
        for (i, (w, own)) in ws.iter().enumerate() {
            let seed = piece_seed(settings.seed, i);
            // The piece's player, where the package knows them only by a calibration.
            let knobs = Knobs {
                phrasing: player_of(pkg, role, own, data_styles).map(|p| pkg.manifest.phrasing_of(role, Some(p))),
                ..settings.knobs
            };
            human.push(metrics::measure(&passage(w, &w.notes), role));
            // Each draw its own seed, this piece's in the one-draw report at `settings.seed +
            // DRAW_STRIDE d`; the piece's value is the mean over its draws.
            let measure_sampled = |how: Sampling| -> anyhow::Result<Vec<Vec<f64>>> {
                (0..settings.draws.max(1) as u64)
                    .map(|d| {
                        let n = sample(
                            load_model(pkg, settings.fp32)?,
                            pkg,
                            w,
                            how,
                            knobs,
                            piece_seed(settings.seed + DRAW_STRIDE * d, i),
                        )?;
                        Ok(metrics::measure(&passage(w, &n), role))
                    })
                    .collect()
            };
            cal.push(measure_sampled(Sampling::Calibration)?);
            model.push(measure_sampled(Sampling::Model)?);
            if !drums {
                harm.push(measure_sampled(Sampling::Harmony)?);
            }
            if let Some(t) = baseline {
                let m = AnyModel::Markov(MarkovModel::new(t.clone()));
                let knobs = Knobs { harmony: 0.0, ..knobs };
                let n = sample(m, pkg, w, Sampling::Model, knobs, seed)?;
                markov.push(metrics::measure(&passage(w, &n), role));
            }
            bar.inc(1);
        }
        bar.finish_and_clear();
        let mut m = load_model(pkg, settings.fp32)?;
        let ws: Vec<Sequence> = ws.into_iter().map(|(w, _)| w).collect();
        let (sensitivity, rest) = teacher_forced(&mut m, &tok, context, &ws)?;
        out.insert(
            role.name().to_string(),
            RoleReport {
                pieces: ws.len(),
                draws: settings.draws.max(1),
                metrics: keys,
                human: metrics::mean(&human),
                calibration: cal.mean(),
                model: model.mean(),
                harmony: (!drums).then(|| harm.mean()),
                std_err: match (cal.std_err(), model.std_err()) {
                    (Some(calibration), Some(model)) => Some(StdErr {
                        calibration,
                        model,
                        harmony: harm.std_err().filter(|_| !drums),
                    }),
                    _ => None,
                },
                markov: baseline.map(|_| metrics::mean(&markov)),
                sensitivity,
                rest,
            },
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rest_points_split_early_onsets_by_the_bar_before() {
        use Token::*;
        // Bar 0: given events at 0 and 48. Bar 1: given at 0, the role plays at 0 and 48, given at 96.
        let tokens = [
            Pos(0),
            InPitch(40),
            Pos(48),
            InPitch(43),
            Bar,
            Pos(0),
            InPitch(40),
            Pitch(36),
            Pos(48),
            Pitch(38),
            Pos(96),
            InPitch(45),
        ];
        let ids: Vec<u32> = tokens.iter().map(|&t| Vocab::id(t)).collect();
        let v = VOCAB_SIZE as usize;
        // Every row puts all its mass on POS 96 (rest until any given event of these bars)...
        let mut rows = vec![-1e9f32; ids.len() * v];
        for r in 0..ids.len() {
            rows[r * v + Vocab::id(Pos(96)) as usize] = 0.0;
        }
        // ...but the decision before bar 1's POS 48 (row 7) splits it three ways: an onset where the
        // bar before had a given event (48), one elsewhere (24), and resting until 96.
        for p in [24, 48] {
            rows[7 * v + Vocab::id(Pos(p)) as usize] = 0.0;
        }
        let mut acc = RestSums::default();
        rest_points(&rows, &ids, &mut acc);
        let c = acc.calibration();
        // Decisions at tokens 2 (POS 48), 4 (BAR), 5 (POS 0), 8 (POS 48) and 10 (POS 96).
        assert_eq!(c.points, 5);
        assert!((c.data_rate - 0.8).abs() < 1e-9, "{c:?}");
        assert!(
            (c.data_early_echo - 0.2).abs() < 1e-9,
            "the human's onset at 48 echoes bar 0: {c:?}"
        );
        assert_eq!(c.data_early_other, 0.0);
        assert!((c.model_mass - (4.0 + 1.0 / 3.0) / 5.0).abs() < 1e-6, "{c:?}");
        assert!((c.model_early_echo - 1.0 / 15.0).abs() < 1e-6, "{c:?}");
        assert!((c.model_early_other - 1.0 / 15.0).abs() < 1e-6, "{c:?}");
    }
}
