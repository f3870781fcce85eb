//! The network's own lines, chosen for their density: for each training piece of a role, draw `K`
//! takes at calibration sampling (temperature 1, nothing cut, no calibration) over the piece's own
//! conditioning, keep the one whose notes a bar and empty beats come closest to the human's over
//! the same bars, and store it as a training sequence (the piece's header, chords and input, the
//! take's notes). Trained on beside the human pieces, the network learns which of its own lines
//! play its players' density; the take's pitches and velocities are its own draws at temperature
//! 1, which teach it nothing it does not already do (models/README.md, "The lead's own lines,
//! chosen").
//!
//! ```sh
//! # two shards on two cores, then the dataset: the source's splits, its training split with the takes added
//! SHARD=0/2 self_samples draw data/jazz-wj builtin:jazz-lead lead runs/self/s0 &
//! SHARD=1/2 self_samples draw data/jazz-wj builtin:jazz-lead lead runs/self/s1; wait
//! self_samples merge data/jazz-wj data/jazz-self runs/self/s0 runs/self/s1
//! ```
//! `K=6` takes a piece, `BARS=32` bars of each, `EVERY=3` (every third sequence of the role, so
//! the keys of an all-keys split take turns), `COPIES=3` (each chosen take stored that often),
//! `SEED=k`.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, bail};
use models::Role;
use sideman_trainer::dataset::{Dataset, Split, SplitData};
use sideman_trainer::generate::load_model;
use sideman_trainer::report::metrics::{self, PITCHED};
use sideman_trainer::report::{Knobs, Sampling, passage, sample};

fn env<T: std::str::FromStr>(k: &str, default: T) -> T {
    std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// How far a take is from the human, in notes a bar (log ratio) and empty beats (in steps of
/// 0.3: a take's empty beats spread about a third as far as its log notes a bar, so the two weigh
/// alike; at 0.1 the rests chose the take and the density stayed the network's).
fn distance(human: (f64, f64), take: (f64, f64)) -> f64 {
    let density = ((take.0 + 0.5) / (human.0 + 0.5)).ln();
    let rests = (take.1 - human.1) / 0.3;
    density * density + rests * rests
}

fn draw(data: &str, model: &str, role: &str, out: &str) -> anyhow::Result<()> {
    let Some(role) = Role::parse(role) else {
        bail!("unknown role {role}");
    };
    let (k, bars, every, copies, seed): (usize, u32, usize, usize, u64) = (
        env("K", 6),
        env("BARS", 32),
        env("EVERY", 3),
        env("COPIES", 3),
        env("SEED", 0),
    );
    let (shard, shards) = match std::env::var("SHARD").ok() {
        Some(s) => {
            let (a, b) = s.split_once('/').context("SHARD=i/n")?;
            (a.parse::<usize>()?, b.parse::<usize>()?.max(1))
        }
        None => (0, 1),
    };
    let ds = Dataset::open(Path::new(data))?;
    let pkg = models::package::Package::open(model)?;
    let style_map = sideman_trainer::eval::style_map(&pkg, &ds)?;
    // Every key of an all-keys split (the diagnostic examples read the untransposed sequences).
    let d = ds.load_split(Split::Train)?;
    let tok = models::tokenizer::Tokenizer::new(models::tokenizer::Vocab::new(), ds.manifest.microtiming);
    let key = |name: &str| PITCHED.iter().position(|(m, _)| *m == name).expect("metric");
    let (npb, empty) = (key("notes_per_bar"), key("empty_beats"));
    let mut split = SplitData::default();
    let (mut pieces, mut human, mut takes, mut chosen) = (0usize, [0.0; 2], [0.0; 2], [0.0; 2]);
    let of_role: Vec<usize> = (0..d.seqs.len()).filter(|&i| d.seqs[i].role == role).collect();
    for (n, &i) in of_role.iter().enumerate().step_by(every) {
        if (n / every) % shards != shard {
            continue;
        }
        let ids: Vec<u32> = d.seq(i).iter().map(|&t| t as u32).collect();
        let Ok(s) = models::tokenizer::decode(&ids) else {
            continue;
        };
        if s.bars < 8 {
            continue;
        }
        let mut w = s.slice_bars(0, s.bars.min(bars));
        if !sideman_trainer::report::is_measured(&w) {
            continue;
        }
        w.ended = false;
        // The package's numbering of the styles for the draw; the dataset's for the stored take.
        let mut heard = w.clone();
        sideman_trainer::eval::map_styles(&mut heard.styles, &style_map);
        let stats = |notes: &[models::music::Note]| {
            let m = metrics::measure(&passage(&w, notes), role);
            (m[npb], m[empty])
        };
        let h = stats(&w.notes);
        if !(h.0.is_finite() && h.1.is_finite()) {
            continue;
        }
        let mut best: Option<(f64, (f64, f64), Vec<models::music::Note>)> = None;
        let mut mean = [0.0; 2];
        for j in 0..k {
            let played = sample(
                load_model(&pkg, false)?,
                &pkg,
                &heard,
                Sampling::Calibration,
                Knobs::default(),
                seed * 1_000_000 + (i * k + j) as u64 + 1,
            )?;
            let m = stats(&played);
            mean[0] += m.0 / k as f64;
            mean[1] += m.1 / k as f64;
            let dist = distance(h, m);
            if best.as_ref().is_none_or(|b| dist < b.0) {
                best = Some((dist, m, played));
            }
        }
        let Some((_, m, notes)) = best else { continue };
        let mut take = w.clone();
        take.notes = notes;
        let ids = tok.encode(&take).map_err(|e| anyhow::anyhow!("piece {i}: {e:?}"))?;
        for _ in 0..copies {
            split.push(&ids, d.seqs[i].file, role, d.seqs[i].transpose);
        }
        pieces += 1;
        for (sum, v) in [(&mut human, h), (&mut takes, (mean[0], mean[1])), (&mut chosen, m)] {
            sum[0] += v.0;
            sum[1] += v.1;
        }
        println!(
            "{i:5} bpm {:4.0} human {:5.2} {:.3}  takes {:5.2} {:.3}  chosen {:5.2} {:.3}",
            w.tempo_bpm.unwrap_or(120.0),
            h.0,
            h.1,
            mean[0],
            mean[1],
            m.0,
            m.1
        );
    }
    let p = pieces.max(1) as f64;
    println!(
        "{pieces} pieces: notes a bar / empty beats: human {:.2} / {:.3}, takes {:.2} / {:.3}, chosen {:.2} / {:.3}",
        human[0] / p,
        human[1] / p,
        takes[0] / p,
        takes[1] / p,
        chosen[0] / p,
        chosen[1] / p
    );
    let mut splits = BTreeMap::new();
    splits.insert(Split::Train, split);
    Dataset::write(Path::new(out), &ds.manifest, &splits)
}

/// The source dataset with every shard's takes added to its training split.
fn merge(source: &str, out: &str, shards: &[String]) -> anyhow::Result<()> {
    let ds = Dataset::open(Path::new(source))?;
    let mut splits = BTreeMap::new();
    for split in Split::ALL {
        splits.insert(split, ds.load_split(split)?);
    }
    let train = splits.get_mut(&Split::Train).expect("train");
    let mut added = 0;
    for dir in shards {
        let shard = Dataset::open(Path::new(dir))?.load_split(Split::Train)?;
        for (i, r) in shard.seqs.iter().enumerate() {
            let ids: Vec<u32> = shard.seq(i).iter().map(|&t| t as u32).collect();
            train.push(&ids, r.file, r.role, r.transpose);
            added += 1;
        }
    }
    println!("{added} takes added to {} training sequences", train.seqs.len() - added);
    Dataset::write(Path::new(out), &ds.manifest, &splits)
}

fn main() -> anyhow::Result<()> {
    let a: Vec<String> = std::env::args().skip(1).collect();
    match a.as_slice() {
        [cmd, d, m, r, out] if cmd == "draw" => draw(d, m, r, out),
        [cmd, source, out, shards @ ..] if cmd == "merge" && !shards.is_empty() => merge(source, out, shards),
        _ => bail!("usage: self_samples draw <data> <model> <role> <out> | merge <data> <out> <shard>..."),
    }
}
