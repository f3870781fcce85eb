//! `trainer tunes`: fits the chords a tune played alone implies ([`models::generate::tunes`]) on
//! prepared lead sheets, and measures what the input follower names over held-out tunes against
//! their lead sheets' own chords (models/README.md, "A tune played alone").

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use models::generate::tunes::{
    BOUNDARY_CLASSES, FAMILIES, METRIC_CLASSES, NO_MASS, STATES, TuneTable, boundary_class, family_of, metric_class,
    state_of,
};
use models::generate::{InputFollower, beat_to_tick};
use models::tokenizer::Sequence;
use models::{Chord, Role};

use crate::dataset::Dataset;
use crate::eval::{EvalSplit, load_eval_split};

/// Arguments of `trainer tunes`.
#[derive(Debug, Args)]
pub struct TunesArgs {
    /// Prepared lead sheets (`trainer prepare --input ../shared/data/openewld --out
    /// data/openewld`): a lead over chord symbols.
    #[arg(long)]
    pub data: String,
    /// Split to fit on.
    #[arg(long, default_value = "train")]
    pub split: String,
    /// Write the fitted table here (JSON; the built-in one is models/assets/harmony/tunes.json).
    /// Without it nothing is fitted, and `--measure` measures the built-in table.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Splits to measure the follower on, against the lead sheets' chords, with the table and
    /// without (the tune followed by its onsets as any line).
    #[arg(long)]
    pub measure: Vec<String>,
    /// Bars of each piece measured.
    #[arg(long, default_value_t = 32)]
    pub bars: u32,
}

/// The lead sheets of a split: the lead's notes over chords, in one meter.
fn tunes(data: &str, split: &str) -> anyhow::Result<Vec<Sequence>> {
    let ds = Dataset::open(std::path::Path::new(data))?;
    let split = <EvalSplit as clap::ValueEnum>::from_str(split, true).map_err(|e| anyhow::anyhow!("split: {e}"))?;
    let d = load_eval_split(&ds, split)?;
    let mut out = Vec::new();
    for i in 0..d.seqs.len() {
        let ids: Vec<u32> = d.seq(i).iter().map(|&t| t as u32).collect();
        let Ok(s) = models::tokenizer::decode(&ids) else {
            continue;
        };
        if s.role == Role::Lead && !s.notes.is_empty() && s.chords.iter().any(|c| c.chord.is_some()) {
            out.push(s);
        }
    }
    Ok(out)
}

/// The chord in force at `beat` (`None` before the first or under N.C.).
fn chord_at(s: &Sequence, beat: f64) -> Option<Chord> {
    s.chords
        .iter()
        .take_while(|c| c.start <= beat + 1e-6)
        .last()
        .and_then(|c| c.chord)
}

/// Counts with add-half smoothing, as natural logs (the entries of `zero` get no mass).
fn log_normalised(counts: &[f64], zero: impl Fn(usize) -> bool) -> Vec<f32> {
    let sum: f64 = counts
        .iter()
        .enumerate()
        .filter(|(i, _)| !zero(*i))
        .map(|(_, c)| c + 0.5)
        .sum();
    counts
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if zero(i) {
                NO_MASS
            } else {
                ((c + 0.5) / sum).ln() as f32
            }
        })
        .collect()
}

/// Fits the table on `pieces`.
pub fn fit(pieces: &[Sequence], fitted_on: &str) -> TuneTable {
    let mut emit = vec![vec![vec![0.0f64; 12]; FAMILIES]; METRIC_CLASSES];
    let mut change = [[0.0f64; 2]; BOUNDARY_CLASSES];
    let mut progression = vec![vec![0.0f64; STATES]; STATES];
    let mut first = [0.0f64; STATES];
    let mut notes = 0;
    for s in pieces {
        let bar = beat_to_tick(s.meter.at_bar(0).bar_beats());
        for n in &s.notes {
            let Some(c) = chord_at(s, n.start) else { continue };
            let class = metric_class(beat_to_tick(n.start).rem_euclid(bar), bar);
            emit[class][family_of(c.quality)][(n.pitch as usize + 12 - c.root as usize) % 12] += 1.0;
            notes += 1;
        }
        // The chord at each beat against the beat before, from the first chord to the last note,
        // relative to the key (the root of the tune's last chord).
        let Some(start) = s.chords.iter().find(|c| c.chord.is_some()).map(|c| c.start) else {
            continue;
        };
        let Some(tonic) = s.chords.iter().rev().find_map(|c| c.chord).map(|c| c.root) else {
            continue;
        };
        let rel = |c: Chord| state_of(Chord::new((c.root + 12 - tonic) % 12, c.quality));
        if let Some(c) = chord_at(s, start) {
            first[rel(c)] += 1.0;
        }
        let end = s.notes.iter().map(|n| n.end()).fold(0.0, f64::max);
        let mut beat = start.ceil() + 1.0;
        while beat < end {
            let (before, now) = (chord_at(s, beat - 1.0), chord_at(s, beat));
            if let (Some(a), Some(b)) = (before, now) {
                let (sa, sb) = (rel(a), rel(b));
                let class = boundary_class(beat_to_tick(beat).rem_euclid(bar), bar);
                change[class][(sa != sb) as usize] += 1.0;
                if sa != sb {
                    progression[sa][sb] += 1.0;
                }
            }
            beat += 1.0;
        }
    }
    TuneTable {
        fitted_on: fitted_on.to_string(),
        pieces: pieces.len(),
        notes,
        emit: emit
            .iter()
            .map(|m| m.iter().map(|f| log_normalised(f, |_| false)).collect())
            .collect(),
        change: change
            .iter()
            .map(|[kept, moved]| ((moved + 0.5) / (kept + moved + 1.0)).ln() as f32)
            .collect(),
        progression: progression
            .iter()
            .enumerate()
            .map(|(i, m)| log_normalised(m, |j| j == i))
            .collect(),
        first: log_normalised(&first, |_| false),
    }
}

/// What the follower names over the lead sheets' tunes, against their chords.
#[derive(Debug, Default, Clone, Copy)]
pub struct Named {
    /// Eighths measured, from each tune's first note.
    pub eighths: usize,
    /// Eighths whose chord named has the lead sheet's root; its root and family.
    pub roots: usize,
    pub chords: usize,
    /// The sum over the eighths of |named & written| / |named | written| (pitch classes).
    pub overlap: f64,
    /// Bars measured, and the chord changes named and written in them (a family on a root
    /// moving to another).
    pub bars: usize,
    pub changes_named: usize,
    pub changes_written: usize,
}

/// How often the follower names the lead sheets' chords, eighth by eighth from each tune's first
/// note, and how often it changes chord against them.
pub fn measure(pieces: &[Sequence], bars: u32, table: Option<&TuneTable>) -> Named {
    let mut m = Named::default();
    for s in pieces {
        let ts = s.meter.at_bar(0);
        let bar_beats = ts.bar_beats();
        if s.meter.changes().len() > 1 {
            continue;
        }
        let end = bar_beats * bars as f64;
        let notes: Vec<_> = s.notes.iter().copied().filter(|n| n.start < end).collect();
        let Some(first) = notes.first().map(|n| n.start) else {
            continue;
        };
        // As `trainer generate --input` hears the tune, with `table` or none.
        let mut f = InputFollower::default();
        f.set_tune_table(table);
        let cond = f.follow(&notes, &[], false, Some(beat_to_tick(bar_beats)));
        let mut e = (first * 2.0).ceil() / 2.0;
        let (mut was_named, mut was_written) = (None, None);
        let last = notes.iter().map(|n| n.end()).fold(0.0, f64::max).min(end);
        m.bars += ((last - e) / bar_beats).ceil().max(0.0) as usize;
        while e < last {
            let named = cond.chord_at(beat_to_tick(e)).flatten();
            let written = chord_at(s, e);
            let changed = |was: &mut Option<usize>, now: Option<Chord>| {
                let now = now.map(state_of);
                let moved = was.is_some() && now.is_some() && *was != now;
                if now.is_some() {
                    *was = now;
                }
                moved as usize
            };
            m.changes_named += changed(&mut was_named, named);
            m.changes_written += changed(&mut was_written, written);
            if let Some(truth) = written {
                m.eighths += 1;
                if let Some(named) = named {
                    m.roots += (named.root == truth.root) as usize;
                    m.chords += (state_of(named) == state_of(truth)) as usize;
                    let a: Vec<u8> = named.pitch_classes().collect();
                    let b: Vec<u8> = truth.pitch_classes().collect();
                    let both = a.iter().filter(|p| b.contains(p)).count();
                    m.overlap += both as f64 / (a.len() + b.len() - both) as f64;
                }
            }
            e += 0.5;
        }
    }
    m
}

/// Runs `trainer tunes`.
pub fn run(args: &TunesArgs) -> anyhow::Result<()> {
    let fitted = match &args.out {
        Some(out) => {
            let pieces = tunes(&args.data, &args.split)?;
            if pieces.is_empty() {
                bail!("no lead over chords in the {} split of {}", args.split, args.data);
            }
            let name = std::path::Path::new(&args.data)
                .file_name()
                .map_or(args.data.clone(), |n| n.to_string_lossy().into_owned());
            let table = fit(&pieces, &format!("{name}, {} split", args.split));
            let json = serde_json::to_string(&table)?;
            std::fs::write(out, json + "\n").with_context(|| format!("writing {}", out.display()))?;
            println!(
                "fitted on {} tunes ({} notes): {}",
                table.pieces,
                table.notes,
                out.display()
            );
            Some(table)
        }
        None => None,
    };
    let table = fitted.as_ref().unwrap_or_else(|| TuneTable::builtin());
    for split in &args.measure {
        let pieces = tunes(&args.data, split)?;
        println!("{split}: {} tunes, {} bars each at most", pieces.len(), args.bars);
        for (name, t) in [
            ("by their onsets", None),
            ("as lead sheets harmonise them", Some(table)),
        ] {
            let m = measure(&pieces, args.bars, t);
            let share = |k: usize| k as f64 / m.eighths.max(1) as f64;
            let per_bar = |k: usize| k as f64 / m.bars.max(1) as f64;
            println!(
                "  {name:<30} right root {:.3}  right chord {:.3}  pitch-class overlap {:.3}  changes a bar {:.2} \
                 (written {:.2})  ({} eighths)",
                share(m.roots),
                share(m.chords),
                m.overlap / m.eighths.max(1) as f64,
                per_bar(m.changes_named),
                per_bar(m.changes_written),
                m.eighths
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use models::{ChordEvent, ChordQuality, Meter, Note};

    use super::*;

    /// A tune in `key` over I IV V7 I (`ii` for ii V7 I instead), a bar each, `bars` bars: the
    /// chord's tones on the beats and a passing note between them.
    fn tune(key: u8, ii: bool, bars: u32) -> Sequence {
        let progression: [(u8, ChordQuality); 4] = if ii {
            [
                (0, ChordQuality::Maj),
                (2, ChordQuality::Min),
                (7, ChordQuality::Dom7),
                (0, ChordQuality::Maj),
            ]
        } else {
            [
                (0, ChordQuality::Maj),
                (5, ChordQuality::Maj),
                (7, ChordQuality::Dom7),
                (0, ChordQuality::Maj),
            ]
        };
        let mut s = Sequence::new(Role::Lead);
        s.meter = Meter::constant(4, 4);
        s.bars = bars;
        for bar in 0..bars {
            let (root, quality) = progression[bar as usize % 4];
            let chord = Chord::new((key + root) % 12, quality);
            s.chords.push(ChordEvent {
                start: bar as f64 * 4.0,
                chord: Some(chord),
            });
            let tones: Vec<u8> = quality.intervals().iter().map(|i| 60 + (key + root + i) % 12).collect();
            for beat in 0..4 {
                let start = bar as f64 * 4.0 + beat as f64;
                let tone = tones[beat % tones.len()];
                s.notes.push(Note {
                    start,
                    duration: 0.45,
                    pitch: tone,
                    velocity: 80,
                });
                s.notes.push(Note {
                    start: start + 0.5,
                    duration: 0.45,
                    pitch: tone + 2,
                    velocity: 80,
                });
            }
        }
        s
    }

    #[test]
    fn a_table_fitted_on_tunes_names_the_chords_of_tunes_it_never_heard() {
        // Both progressions in eleven keys; the tunes in E flat are held out.
        let training: Vec<Sequence> = (0..12)
            .filter(|&k| k != 3)
            .flat_map(|k| [tune(k, false, 16), tune(k, true, 16)])
            .collect();
        let table = fit(&training, "test tunes");
        assert!(table.is_valid());
        assert_eq!((table.pieces, table.notes), (22, 22 * 16 * 8));
        // The passing notes between the beats are heard as such: over a major chord, the second
        // above the root is likelier between the beats than on them.
        assert!(table.emit[2][0][2] > table.emit[1][0][2] + 1.0, "{:?}", table.emit);
        // The held-out tunes: the follower with the table names their chords far more often
        // than by their onsets.
        let held_out = [tune(3, false, 16), tune(3, true, 16)];
        let with = measure(&held_out, 16, Some(&table));
        let without = measure(&held_out, 16, None);
        let share = |m: &Named| m.roots as f64 / m.eighths as f64;
        assert!(
            share(&with) > 0.9 && share(&with) > share(&without) + 0.5,
            "{with:?} against {without:?}"
        );
        // It changes chord as often as the tunes do.
        assert!(with.changes_named <= with.changes_written + 2, "{with:?}");
    }
}
