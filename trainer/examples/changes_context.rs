//! How often the humans of a prepared split play a bar again where its changes come round (the
//! music report's "bars played again, same changes", over each piece's first bars), by how many
//! bars before it also came round at the same lag (models/README.md, "A phrase comes round").
//!
//! ```sh
//! cargo run --release -p sideman-trainer --example changes_context -- data/melody-chords valid piano [bars]
//! ```
use models::tokenizer::vocab::TICKS_PER_BEAT;
use sideman_trainer::dataset::{Dataset, Split};
use std::collections::BTreeMap;

fn main() -> anyhow::Result<()> {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let ds = Dataset::open(std::path::Path::new(&a[0]))?;
    let split = match a[1].as_str() {
        "train" => Split::Train,
        "test" => Split::Test,
        _ => Split::Valid,
    };
    let role = &a[2];
    let max_bars: u32 = a.get(3).map_or(16, |s| s.parse().unwrap());
    let data = ds.load_split(split)?;
    // Bars before that came round too (3: three or more) -> (bars come round, played again).
    let mut stats: BTreeMap<usize, (usize, usize)> = BTreeMap::new();
    // Of the bars whose bar before came round too: over one chord held (false) or more (true).
    let mut held: BTreeMap<bool, (usize, usize)> = BTreeMap::new();
    // Of those over two chords or more: the phrase's second time round (false) or a later one.
    let mut round: BTreeMap<bool, (usize, usize)> = BTreeMap::new();
    for i in 0..data.seqs.len() {
        let ids: Vec<u32> = data.seq(i).iter().map(|&t| t as u32).collect();
        let Ok(seq) = models::tokenizer::decode(&ids) else {
            continue;
        };
        if seq.role.name() != role || seq.notes.is_empty() || seq.meter.changes().len() > 1 {
            continue;
        }
        let ts = seq.meter.at_bar(0);
        let bars = seq.bars.min(max_bars) as usize;
        let bar_beats = ts.numerator as f64 * 4.0 / ts.denominator as f64;
        let tick = |b: f64| (b * TICKS_PER_BEAT as f64).round() as i64;
        let bt = tick(bar_beats);
        let chord_at = |t: i64| seq.chords.iter().rev().find(|c| tick(c.start) <= t).map(|c| c.chord);
        let mut content: Vec<BTreeMap<(i64, u8), usize>> = vec![BTreeMap::new(); bars];
        for n in &seq.notes {
            if n.start < 0.0 {
                continue;
            }
            let bar = (n.start / bar_beats + 1e-9).floor() as usize;
            if bar < bars {
                *content[bar]
                    .entry((tick(n.start - bar as f64 * bar_beats), n.pitch))
                    .or_default() += 1;
            }
        }
        let same_bar = |b: usize, k: usize| -> bool {
            let s = b as i64 * bt;
            (s..s + bt)
                .step_by((TICKS_PER_BEAT / 2) as usize)
                .all(|x| chord_at(x - k as i64 * bt) == chord_at(x))
        };
        for b in 1..bars {
            let start = b as i64 * bt;
            let Some(d) = models::memory::changes::lag(start + bt - 1, start, bt, 0, chord_at) else {
                continue;
            };
            let k = (d / bt) as usize;
            if content[b - k].is_empty() {
                continue;
            }
            let again = content[b] == content[b - k];
            // How many bars before b also match at lag k.
            let mut c = 0;
            while c < b - k && same_bar(b - 1 - c, k) {
                c += 1;
            }
            let e = stats.entry(c.min(3)).or_default();
            e.0 += 1;
            e.1 += again as usize;
            if c >= 1 {
                // One chord held over the bar before and this one, or more.
                let mut seen = Vec::new();
                for x in ((start - bt)..(start + bt)).step_by((TICKS_PER_BEAT / 2) as usize) {
                    let ch = chord_at(x);
                    if !seen.contains(&ch) {
                        seen.push(ch);
                    }
                }
                let e = held.entry(seen.len() > 1).or_default();
                e.0 += 1;
                e.1 += again as usize;
                if seen.len() > 1 {
                    // Whether the bar played then had come round at the same lag itself, its
                    // bar before with it: the phrase's third time or later.
                    let third = b > 2 * k && same_bar(b - k, k) && same_bar(b - k - 1, k);
                    let e = round.entry(third).or_default();
                    e.0 += 1;
                    e.1 += again as usize;
                }
            }
        }
    }
    for (c, (n, r)) in &stats {
        println!(
            "context {c}{}: {n} aligned bars, replayed {r} ({:.2})",
            if *c == 3 { "+" } else { "" },
            *r as f64 / *n as f64
        );
    }
    for (changes, (n, r)) in &held {
        println!(
            "bar before came round, {}: {n} bars, played again {r} ({:.2})",
            if *changes {
                "two chords or more over the two bars"
            } else {
                "one chord held over both"
            },
            *r as f64 / (*n).max(1) as f64
        );
    }
    for (third, (n, r)) in &round {
        println!(
            "  of those over two chords or more, the phrase's {} time round: {n} bars, played again {r} ({:.2})",
            if *third { "third or later" } else { "second" },
            *r as f64 / (*n).max(1) as f64
        );
    }
    Ok(())
}
