//! `trainer memory`: fits a model's piece memory ([`models::memory`]) on prepared pieces.
//!
//! Teacher-forced over each piece in windows as generation sees them (the bars a re-prime keeps,
//! then the bars scored), at every pitch the role plays: the network's probability of the pitch
//! played, within its choice of note, and the memory's (what followed the longest earlier match
//! of the piece's pitches before it, over the whole piece so far). The drums' memory of their
//! groove ([`models::memory::groove`]) is scored the same way at each of their choices in time
//! (the next drum at a position, the next position, the bar line). The weight of each match
//! length is the one that maximises the likelihood of the mixture ([`models::memory::fit`]).

use std::collections::BTreeMap;

use anyhow::{Context, bail};
use clap::Args;
use models::Role;
use models::memory::{
    KEYS, Key, LENGTH_BUCKETS, MemoryWeights, PERIOD_BUCKETS, Recall, RecallPoint, cell, key, recall,
};
use models::model::TokenModel;
use models::tokenizer::{Sequence, Token, Tokenizer, VOCAB_SIZE, Vocab, predicted_mask};

use crate::eval::SplitAndModel;
use crate::generate::{AnyModel, load_model};

/// Arguments of `trainer memory`.
#[derive(Debug, Args)]
pub struct MemoryArgs {
    /// Model package (a folder or `builtin:<id>`).
    pub package: String,
    /// Prepared dataset (`trainer prepare`) of the model's roles.
    #[arg(long)]
    pub data: String,
    /// Split to fit on (`train`; `valid` or `test` to check a fit).
    #[arg(long, default_value = "train")]
    pub split: String,
    /// Every Nth stored sequence (12 takes one key of each piece of an all-keys split).
    #[arg(long, default_value_t = 12)]
    pub every: usize,
    /// Pieces per role at most.
    #[arg(long, default_value_t = 120)]
    pub pieces: usize,
    /// Bars of each piece at most.
    #[arg(long, default_value_t = 64)]
    pub bars: u32,
    /// Bars scored per window (each window starts with the bars a re-prime keeps before them).
    #[arg(long, default_value_t = 4)]
    pub stride: u32,
    /// A role's strength, `ROLE=S` (repeat per role): the printed `--memory` weights at S of the
    /// fitted ones (`models::memory::MemoryWeights::scaled`, 1 as fitted). A memory fitted note
    /// by note on human pieces feeds on itself when it plays: choose S on the validation split
    /// (`trainer eval --memory PCT`), as the note temperature.
    #[arg(long, value_parser = strength)]
    pub strength: Vec<(Role, f32)>,
    /// Which kind of memory to print: the one with the better likelihood (`best`), or `absolute`
    /// or `relative` (chord-relative) whatever the likelihood says, to measure it.
    #[arg(long, default_value = "best", value_parser = ["best", "absolute", "relative"])]
    pub kind: String,
}

/// `ROLE=S` of `--strength`.
fn strength(s: &str) -> Result<(Role, f32), String> {
    crate::ship::role_value(s, "ROLE=S (lead=0.75)", 0.0..=2.0, "a strength")
}

/// The fitted points of one role, for one kind of memory (absolute or chord-relative).
#[derive(Debug, Default)]
struct RolePoints {
    pieces: usize,
    /// Pitches with no earlier match (the network's NLL sum, count).
    unmatched: (f64, usize),
    points: Vec<RecallPoint>,
    /// Whether the network's most likely pitch was the one played, per point.
    net_top: Vec<bool>,
}

impl RolePoints {
    /// One choice scored: the network's probability `net` of what was played (`top`: its most
    /// likely), and what the memory found, `dist` its counts of what it recalls (`played` is
    /// what was played); a choice with no earlier match counts for the network alone.
    fn add(&mut self, found: Recall, net: f64, top: bool, dist: &[f32], played: usize) {
        if found.len == 0 {
            self.unmatched.0 -= net.ln();
            self.unmatched.1 += 1;
            return;
        }
        let total: f32 = dist.iter().sum();
        self.points.push(RecallPoint {
            recall: found,
            net,
            memory: (dist[played] / total) as f64,
        });
        self.net_top.push(top);
    }

    /// The pitch NLL of the network alone and with the memory `w`, per pitch.
    fn nll(&self, w: &MemoryWeights) -> (f64, f64) {
        let (mut net, mut mix) = (self.unmatched.0, self.unmatched.0);
        for p in &self.points {
            let wt = w.weight(p.recall) as f64;
            net -= p.net.ln();
            mix -= ((1.0 - wt) * p.net + wt * p.memory).max(1e-12).ln();
        }
        let n = (self.points.len() + self.unmatched.1).max(1) as f64;
        (net / n, mix / n)
    }
}

/// `trainer memory`.
pub fn run(args: &MemoryArgs) -> anyhow::Result<()> {
    let SplitAndModel {
        data, pkg, style_map, ..
    } = SplitAndModel::open(&args.data, &args.split, &args.package)?;
    let context = match &pkg.manifest.model {
        models::package::ModelKind::Transformer { context_len, .. } => *context_len as usize,
        models::package::ModelKind::Markov { .. } => bail!("the memory is fitted for a transformer"),
    };
    let keep = pkg.manifest.keep_bars();
    let tok = Tokenizer::new(Vocab::new(), pkg.manifest.microtiming);
    let AnyModel::Onnx(mut model) = load_model(&pkg, false)? else {
        bail!("the memory is fitted for a transformer");
    };
    // Per role: the absolute memory's points, the chord-relative memory's.
    let mut roles: BTreeMap<Role, [RolePoints; 2]> = BTreeMap::new();
    for i in (0..data.seqs.len()).step_by(args.every.max(1)) {
        let ids: Vec<u32> = data.seq(i).iter().map(|&t| t as u32).collect();
        let Ok(mut s) = models::tokenizer::decode(&ids) else {
            continue;
        };
        if !pkg.manifest.roles.contains(&s.role) || s.bars < 4 {
            continue;
        }
        let acc = roles.entry(s.role).or_default();
        if acc[0].pieces >= args.pieces {
            continue;
        }
        acc[0].pieces += 1;
        acc[1].pieces += 1;
        crate::eval::map_styles(&mut s.styles, &style_map);
        let s = s.slice_bars(0, s.bars.min(args.bars));
        if s.role.is_drums() {
            score_drums(&mut model, &tok, context, keep, args.stride.max(1), &s, &mut acc[0])?;
        } else {
            score_piece(&mut model, &tok, context, keep, args.stride.max(1), &s, acc)?;
        }
    }
    if roles.is_empty() {
        bail!("no role of {} in {} ({})", args.package, args.data, args.split);
    }
    let mut flags = Vec::new();
    for (role, [abs, rel]) in &roles {
        // The kind of memory whose mixture explains the pitches played better.
        let (wa, wr) = (
            models::memory::fit(&abs.points, false),
            models::memory::fit(&rel.points, true),
        );
        let (na, nr) = (abs.nll(&wa).1, rel.nll(&wr).1);
        let relative = match args.kind.as_str() {
            _ if role.is_drums() => false,
            "relative" => true,
            "absolute" => false,
            _ => nr < na,
        };
        let (acc, w) = if relative { (rel, wr) } else { (abs, wa) };
        print_role(*role, acc, &w);
        if role.is_drums() {
            println!("(the drums: hits, bar lines and positions as the memory of their groove recalls them)");
        } else {
            println!(
                "pitch NLL with an absolute memory {na:.4}, with a chord-relative one {nr:.4}: {}",
                if w.relative { "chord-relative" } else { "absolute" }
            );
        }
        let scale = args.strength.iter().find(|(r, _)| r == role).map_or(1.0, |&(_, s)| s);
        let w = w.scaled(scale);
        if scale != 1.0 {
            println!("at strength {scale}: {:?}", w.cells);
        }
        if !w.is_none() {
            let v: Vec<String> = w.cells.iter().map(|x| format!("{x:.4}")).collect();
            let kind = if w.relative { "rel:" } else { "" };
            flags.push(format!("--memory {}={kind}{}", role.name(), v.join(",")));
        }
    }
    println!("\ntrainer ship {} {}", args.package, flags.join(" "));
    Ok(())
}

/// Scores the pitches of `s` window by window into `acc`.
fn score_piece(
    model: &mut models::runtime::OnnxModel,
    tok: &Tokenizer,
    context: usize,
    keep: u32,
    stride: u32,
    s: &Sequence,
    acc: &mut [RolePoints; 2],
) -> anyhow::Result<()> {
    // The piece's pitches in the order written, with their bars and the chord's root.
    let all = pitches_by_bar(&tok.encode(s)?, 0);
    let history: [Vec<Key>; 2] = [false, true].map(|relative| all.iter().map(|x| key(x.1, x.2, relative)).collect());
    let v = VOCAB_SIZE as usize;
    let mut dist = Box::new([0f32; KEYS]);
    let mut b = 0;
    while b < s.bars {
        let from = b.saturating_sub(keep);
        let Window { ids, rows, mask } = window(model, tok, context, s, from)?;
        let before = all.iter().take_while(|x| x.0 < b).count();
        let mut k = before;
        for (j, bar, p, _) in pitch_positions(&ids, from) {
            if bar < b || !mask[j] {
                continue;
            }
            if bar >= b + stride || k >= all.len() || all[k].1 != p {
                break;
            }
            let row = &rows[(j - 1) * v..j * v];
            let (net, top) = pitch_choice(row, p);
            for (acc, history) in acc.iter_mut().zip(&history) {
                let found = recall(&history[..k], &mut dist);
                acc.add(found, net, top, &dist[..], history[k] as usize);
            }
            k += 1;
        }
        b += stride;
    }
    Ok(())
}

/// A window of a piece as generation sees it, scored teacher-forced.
struct Window {
    /// Its tokens (the piece from a bar on, at most a context's worth).
    ids: Vec<u32>,
    /// The network's logits after each token (row `i` predicts `ids[i + 1]`).
    rows: Vec<f32>,
    /// Which tokens the network predicts ([`predicted_mask`]).
    mask: Vec<bool>,
}

/// `s` from bar `from` on, encoded, cut to `context` tokens and scored.
fn window(
    model: &mut models::runtime::OnnxModel,
    tok: &Tokenizer,
    context: usize,
    s: &Sequence,
    from: u32,
) -> anyhow::Result<Window> {
    let mut w = s.slice_bars(from, s.bars);
    w.ended = false;
    let mut ids = tok.encode(&w).context("encoding a window")?;
    ids.truncate(context);
    model.truncate(0);
    let rows = model.forward(&ids).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mask = predicted_mask(&ids);
    Ok(Window { ids, rows, mask })
}

/// Scores the drums' choices in time (the next drum at a position, the next position, the bar
/// line) of `s` window by window into `acc`, against the memory of their groove
/// ([`models::memory::groove`]).
fn score_drums(
    model: &mut models::runtime::OnnxModel,
    tok: &Tokenizer,
    context: usize,
    keep: u32,
    stride: u32,
    s: &Sequence,
    acc: &mut RolePoints,
) -> anyhow::Result<()> {
    use models::memory::groove::{Place, recall_tokens};
    // The piece's hits in the order written, with their bars.
    let mut keys = Vec::new();
    let mut bars = Vec::new();
    for (_, bar, key, _) in drum_steps(&tok.encode(s)?, 0) {
        if let Some(k) = key {
            keys.push(k);
            bars.push(bar as i32);
        }
    }
    let v = VOCAB_SIZE as usize;
    let mut dist = vec![0f32; v];
    let mut b = 0;
    while b < s.bars {
        let from = b.saturating_sub(keep);
        let Window { ids, rows, mask } = window(model, tok, context, s, from)?;
        let mut k = bars.iter().take_while(|&&x| x < b as i32).count();
        for (j, bar, key, prev) in drum_steps(&ids, from) {
            if bar >= b + stride {
                break;
            }
            if let Some(prev) = prev
                && bar >= b
                && mask[j]
                && k > 0
            {
                let since = bar as i32 - bars[k - 1];
                let place = match prev {
                    Token::Pos(pos) => Place::At { pos, bars: since },
                    _ => Place::Between { bars: since },
                };
                let row = &rows[(j - 1) * v..j * v];
                let (net, top) = rhythm_choice(row, ids[j]);
                let found = recall_tokens(&keys[..k], &bars[..k], place, &mut dist);
                acc.add(found, net, top, &dist, ids[j] as usize);
            }
            if let Some(key) = key
                && bar >= b
            {
                if k >= keys.len() || keys[k] != key {
                    break;
                }
                k += 1;
            }
        }
        b += stride;
    }
    Ok(())
}

/// The drums' tokens of `ids` (whose first bar is `first_bar`) that the groove's memory speaks
/// to, in order: (index, bar, the hit's key for a `DRUM`, the token before a choice in time: a
/// `POS`, `DRUM` or `BAR` after a position, a bar line, a velocity or a microtiming).
fn drum_steps(ids: &[u32], first_bar: u32) -> impl Iterator<Item = (usize, u32, Option<Key>, Option<Token>)> + '_ {
    let mut bars = 0u32;
    let mut pos = 0u8;
    let mut prev: Option<Token> = None;
    ids.iter().enumerate().filter_map(move |(j, &id)| {
        let t = Vocab::token(id)?;
        let before = prev.replace(t);
        let bar = (first_bar + bars).saturating_sub(1);
        let choice = match (t, before) {
            (
                Token::Pos(_) | Token::Bar | Token::Drum(_),
                Some(b @ (Token::Pos(_) | Token::Bar | Token::Vel(_) | Token::Micro(_))),
            ) => Some(b),
            _ => None,
        };
        let key = match t {
            Token::Drum(d) => Some(models::memory::groove::hit_key(pos, d)),
            _ => None,
        };
        match t {
            Token::Bar => {
                bars += 1;
                pos = 0;
            }
            Token::Pos(p) => pos = p,
            _ => {}
        }
        (bars > 0 && (choice.is_some() || key.is_some()) && !(t == Token::Bar && bars == 1))
            .then_some((j, bar, key, choice))
    })
}

/// The network's probability of `id` within its choice in time (a softmax over the `POS`,
/// `DRUM` and `BAR` ids of `row`), and whether `id` is its most likely one.
fn rhythm_choice(row: &[f32], id: u32) -> (f64, bool) {
    let scope = models::sampling::MemoryScope::Rhythm;
    let (lp, top) = models::sampling::log_prob_among(row, |i| scope.holds(i as u32), id);
    (lp.exp(), top)
}

/// (bar, pitch, root of the chord in force) of each `PITCH` token of `ids`, whose first bar is
/// `first_bar`.
fn pitches_by_bar(ids: &[u32], first_bar: u32) -> Vec<(u32, u8, Option<u8>)> {
    pitch_positions(ids, first_bar).map(|(_, b, p, r)| (b, p, r)).collect()
}

/// (index, bar, pitch, root of the chord in force) of each `PITCH` token of `ids`, whose first bar
/// is `first_bar`.
fn pitch_positions(ids: &[u32], first_bar: u32) -> impl Iterator<Item = (usize, u32, u8, Option<u8>)> + '_ {
    let mut bars = 0u32;
    let mut root = None;
    ids.iter()
        .enumerate()
        .filter_map(move |(j, &id)| match Vocab::token(id) {
            Some(Token::Bar) => {
                bars += 1;
                None
            }
            Some(Token::ChordRoot(r)) => {
                root = Some(r);
                None
            }
            Some(Token::ChordNone) => {
                root = None;
                None
            }
            Some(Token::Pitch(p)) if bars > 0 => Some((j, first_bar + bars - 1, p, root)),
            _ => None,
        })
}

/// The network's probability of pitch `p` within its choice of note (a softmax over the pitch
/// ids of `row`), and whether `p` is its most likely pitch.
fn pitch_choice(row: &[f32], p: u8) -> (f64, bool) {
    let logit = |q: u8| row[Vocab::id(Token::Pitch(q)) as usize] as f64;
    let max = (0..128u8).map(logit).fold(f64::NEG_INFINITY, f64::max);
    let z: f64 = (0..128u8).map(|q| (logit(q) - max).exp()).sum();
    ((logit(p) - max).exp() / z, logit(p) >= max)
}

fn print_role(role: Role, acc: &RolePoints, w: &MemoryWeights) {
    let all = acc.points.len() + acc.unmatched.1;
    // The drums' memory recalls hits and scores their choices in time.
    let (unit, what) = if role.is_drums() {
        ("choices", "choice")
    } else {
        ("pitches", "pitch")
    };
    println!(
        "\n{role}: {} pieces, {all} {unit} ({} with no earlier match: network NLL {:.3})",
        acc.pieces,
        acc.unmatched.1,
        acc.unmatched.0 / acc.unmatched.1.max(1) as f64
    );
    println!("match    period  {unit:>7}  memory right  network top-1  network NLL  weight  mixed NLL");
    let (mut net_sum, mut mix_sum) = (acc.unmatched.0, acc.unmatched.0);
    let bounds = |b: &[usize], i: usize| {
        let lo = if i == 0 { 1 } else { b[i - 1] + 1 };
        if b[i] == usize::MAX {
            format!("{lo}+")
        } else {
            format!("{lo}-{}", b[i])
        }
    };
    for l in 0..LENGTH_BUCKETS.len() {
        for q in 0..PERIOD_BUCKETS.len() {
            let c = l * PERIOD_BUCKETS.len() + q;
            let idx: Vec<usize> = (0..acc.points.len())
                .filter(|&i| cell(acc.points[i].recall.len, acc.points[i].recall.period) == c)
                .collect();
            if idx.is_empty() {
                continue;
            }
            let n = idx.len() as f64;
            let wt = w.cells[c] as f64;
            let right = idx.iter().filter(|&&i| acc.points[i].memory >= 0.5).count() as f64 / n;
            let top = idx.iter().filter(|&&i| acc.net_top[i]).count() as f64 / n;
            let net: f64 = idx.iter().map(|&i| -acc.points[i].net.ln()).sum();
            let mix: f64 = idx
                .iter()
                .map(|&i| {
                    let p = acc.points[i];
                    -((1.0 - wt) * p.net + wt * p.memory).max(1e-12).ln()
                })
                .sum();
            net_sum += net;
            mix_sum += mix;
            println!(
                "{:>5} {:>9} {:8} {:13.3} {:14.3} {:12.3} {:7.3} {:10.3}",
                bounds(&LENGTH_BUCKETS, l),
                bounds(&PERIOD_BUCKETS, q),
                idx.len(),
                right,
                top,
                net / n,
                wt,
                mix / n
            );
        }
    }
    println!(
        "{what} NLL: network {:.4}, with the memory {:.4} ({:+.1} %)",
        net_sum / all.max(1) as f64,
        mix_sum / all.max(1) as f64,
        100.0 * (mix_sum - net_sum) / net_sum.max(1e-9)
    );
}
