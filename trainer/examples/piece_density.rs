//! Where does a role's density go wrong? For each piece of a split (first 16 bars, as the music
//! report), prints its tempo, what the human played (notes a bar, empty beats) and what the model
//! plays over the same conditioning at calibration sampling (temperature 1, nothing cut), then the
//! means by tempo range.
//!
//! ```sh
//! cargo run --release -p sideman-trainer --example piece_density -- data/wjazzd test builtin:jazz-lead lead
//! cargo run --release -p sideman-trainer --example piece_density -- data/wjazzd train builtin:jazz-lead lead 12   # PIECES=40 for the first 40
//! ```
//! (models/README.md, "Why the lead plays too many notes on the test solos").

use anyhow::bail;
use models::Role;
use sideman_trainer::eval::SplitAndModel;
use sideman_trainer::generate::{conditioning, generate_any, load_model};
use sideman_trainer::report::metrics::{self, PITCHED};
use sideman_trainer::report::{Sampling, passage, sample};

/// Bars measured from each piece's start (the music report's); `BARS=48` measures more.
const BARS: u32 = 16;
/// Tempo ranges of the summary (BPM, upper bounds).
const RANGES: [f64; 5] = [100.0, 140.0, 180.0, 220.0, f64::INFINITY];

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (data, split, model, role, every) = match args.as_slice() {
        [d, s, m, r] => (d, s, m, r, 1),
        [d, s, m, r, e] => (d, s, m, r, e.parse::<usize>()?.max(1)),
        _ => bail!("usage: piece_density <prepared data> <train|valid|test> <model> <role> [every Nth sequence]"),
    };
    let limit: usize = std::env::var("PIECES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(usize::MAX);
    let mut measured = 0;
    // DENSITY=0.4, REST_BIAS=1.5: calibration sampling with that Density and rest calibration
    // (nats) instead of none.
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<f32>().ok());
    let knobs = match (env("DENSITY"), env("REST_BIAS")) {
        (None, None) => None,
        (d, r) => Some((d.unwrap_or(0.5), r.unwrap_or(0.0))),
    };
    // NO_OPENING=1: without the model's opening tag (models trained with `opening = true`);
    // SEED=k: another draw (piece i is sampled with seed 1000 k + 1 + i).
    let opening = std::env::var("NO_OPENING").is_err();
    let seed0 = std::env::var("SEED")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0)
        * 1000;
    let Some(role) = Role::parse(role) else {
        bail!("unknown role {role}");
    };
    let SplitAndModel {
        ds,
        data: d,
        pkg,
        style_map,
    } = SplitAndModel::open(data, split, model)?;
    // CHORDS_AS_INPUT=1: each piece's input replaced by its chords struck where they change, as
    // `trainer eval --chords-as-input` (what the plugin hears from a user holding chords).
    // NO_INPUT=1: each piece without its input (what a role trained with input dropout plays
    // when it hears nothing).
    let tok = models::tokenizer::Tokenizer::new(models::tokenizer::Vocab::new(), ds.manifest.microtiming);
    let d = if std::env::var("CHORDS_AS_INPUT").is_ok() {
        sideman_trainer::eval::chords_as_input(&d, &tok)?
    } else if std::env::var("NO_INPUT").is_ok() {
        sideman_trainer::eval::without_input(&d, &tok)?
    } else {
        d
    };
    // Two metrics a piece: notes a bar and empty beats (pitched roles), or the backbeat and notes
    // a bar (drums).
    let drums = role.is_drums();
    let keys: Vec<&str> = if drums {
        metrics::drum_metrics().map(|(m, _)| m).collect()
    } else {
        PITCHED.iter().map(|(m, _)| *m).collect()
    };
    let key = |k: &str| keys.iter().position(|m| *m == k).expect("metric");
    // METRICS=ghost_rate,notes_per_bar: two other metrics of the report.
    let chosen = std::env::var("METRICS").ok();
    let chosen: Option<Vec<&str>> = chosen.as_deref().map(|m| m.split(',').collect());
    let (npb, empty, names) = match chosen.as_deref() {
        Some(&[x, y]) => (key(x), key(y), [x, y]),
        _ if drums => (key("backbeat"), key("notes_per_bar"), ["backbeat", "n/bar"]),
        _ => (key("notes_per_bar"), key("empty_beats"), ["n/bar", "empty"]),
    };
    // SAMPLING=model: the plugin's defaults (Harmony 0) instead of calibration sampling.
    let how = match std::env::var("SAMPLING").as_deref() {
        Ok("model") => Sampling::Model,
        _ => Sampling::Calibration,
    };
    // (human npb, model npb, human empty, model empty, pieces) per tempo range.
    let mut sums = [[0.0; 5]; RANGES.len()];
    // ALL=1: every metric of the report, the mean over the pieces where it is defined, human
    // then model (sums and counts of each, by metric).
    let mut all_metrics: Vec<[f64; 4]> = Vec::new();
    let [a, b] = names;
    let header = format!("human {a:>6}  model {a:>6}  human {b:>6}  model {b:>6}");
    println!("piece  bpm  bars {header}  file");
    for i in (0..d.seqs.len()).step_by(every) {
        let ids: Vec<u32> = d.seq(i).iter().map(|&t| t as u32).collect();
        let Ok(s) = models::tokenizer::decode(&ids) else {
            continue;
        };
        if s.role != role || s.bars < 4 {
            continue;
        }
        if measured == limit {
            break;
        }
        measured += 1;
        let bars = s.bars.min(env("BARS").map_or(BARS, |b| b.max(1.0) as u32));
        let mut w = s.slice_bars(0, bars);
        // REPORT_PIECES=1: only the pieces the music report takes (in one meter over the bars
        // measured, with notes in them).
        if std::env::var("REPORT_PIECES").is_ok() && !sideman_trainer::report::is_measured(&w) {
            continue;
        }
        w.ended = false;
        // The piece's player, where the package knows them by a calibration alone (the report's
        // way: data/jazz-wjp names each solo's soloist), then the dataset's style slots as the
        // package numbers them (as the music report maps them).
        let player = sideman_trainer::report::player_of(&pkg, role, &w.styles, &ds.manifest.vocab.styles);
        // FAST_NOTES=2: every piece's fast-note calibration (nats) instead of its player's.
        let mut phrasing = player.map(|p| pkg.manifest.phrasing_of(role, Some(p)));
        if let Some(f) = env("FAST_NOTES") {
            phrasing
                .get_or_insert_with(|| pkg.manifest.phrasing_of(role, None))
                .fast_notes = f;
        }
        sideman_trainer::eval::map_styles(&mut w.styles, &style_map);
        let bpm = w.tempo_bpm.unwrap_or(120.0);
        // MIN_BPM=150: only the pieces at that tempo or faster (of the same first PIECES).
        if env("MIN_BPM").is_some_and(|m| bpm < m as f64) {
            continue;
        }
        let ts = w.meter.at_bar(0);
        // Where the bars measured end, in beats.
        let end = bars as f64 * ts.bar_beats();
        // SAME_SEED=1: every piece drawn with the one seed 1000 k + 1 (how alike are two pieces'
        // draws from the same random stream?).
        let same = std::env::var("SAME_SEED").is_ok();
        let piece_seed = seed0 + 1 + if same { 0 } else { i as u64 };
        // The report's passage: `w` is the piece's first `bars` bars, at `bpm`.
        let measure = |notes: &[models::music::Note]| metrics::measure(&passage(&w, notes), role);
        let h = measure(&w.notes);
        // Calibration sampling (temperature 1, nothing cut) over the piece's own conditioning.
        let calibration_config = || {
            let mut config = models::generate::SessionConfig::for_model(w.role, &pkg.manifest);
            config.numerator = ts.numerator;
            config.denominator = ts.denominator;
            config.tempo_bpm = w.tempo_bpm;
            config.styles = w.styles.clone();
            config.seed = piece_seed;
            config
        };
        // PRIME=k: calibration sampling continuing the human's first k bars (a prompt), and the
        // notes a bar of both over the bars after them: does the role play its groove's density
        // once it knows which groove it is in? The table's empty-beat columns hold, instead, the
        // notes a bar of the same bars played from nothing (the human's again, and the model's
        // without the prompt): how much of a free-running role's excess is its own first bars'?
        if let Some(k) = env("PRIME").map(|k| (k as u32).clamp(1, bars - 1)) {
            let bb = ts.bar_beats();
            let cond = conditioning(&w.chords, &w.inputs);
            let free = generate_any(load_model(&pkg, false)?, calibration_config(), &cond, bars)?;
            let mut config = calibration_config();
            config.prompt = w.notes.iter().filter(|n| n.start < k as f64 * bb).copied().collect();
            let out = generate_any(load_model(&pkg, false)?, config, &cond, bars)?;
            let after = |starts: &mut dyn Iterator<Item = f64>| {
                starts.filter(|&t| t >= k as f64 * bb && t < end).count() as f64 / (bars - k) as f64
            };
            let (h, m, f) = (
                after(&mut w.notes.iter().map(|n| n.start)),
                after(&mut out.iter().map(|n| n.start)),
                after(&mut free.iter().map(|n| n.start)),
            );
            println!(
                "{i:5} {bpm:4.0} {bars:5} primed {k}: human {h:6.2} model {m:6.2} notes a bar after it (from nothing {f:6.2})"
            );
            let r = RANGES.iter().position(|&u| bpm < u).unwrap_or(RANGES.len() - 1);
            sums[r][0] += h;
            sums[r][1] += m;
            sums[r][2] += h;
            sums[r][3] += f;
            sums[r][4] += 1.0;
            continue;
        }
        let played = match knobs {
            None => sample(
                load_model(&pkg, false)?,
                &pkg,
                &w,
                how,
                sideman_trainer::report::Knobs {
                    opening,
                    // MEMORY=2: the model's piece memory at 200 %.
                    memory: env("MEMORY").unwrap_or(1.0),
                    // DRAFTS=8: the first bar drawn 8 times, the likeliest kept (the drums' 8).
                    drafts: env("DRAFTS").map(|d| d.clamp(1.0, 64.0) as u8),
                    phrasing,
                    ..Default::default()
                },
                piece_seed,
            )?,
            Some((density, rest_bias)) => {
                // Calibration sampling with only the Density and the rest calibration.
                let mut config = calibration_config();
                config.opening = pkg.manifest.opening_slot().filter(|_| opening);
                config.constraints = models::sampling::Constraints {
                    density,
                    rest_bias,
                    ..Default::default()
                };
                let cond = conditioning(&w.chords, &w.inputs);
                generate_any(load_model(&pkg, false)?, config, &cond, w.bars)?
                    .iter()
                    .map(|&n| models::music::Note::from(n))
                    .collect()
            }
        };
        let m = measure(&played);
        // DUMP=i: piece i's meter, then the human's and the model's notes (onset in beats, pitch,
        // length), its input and its chords; DUMP=-1, of every piece.
        if env("DUMP").is_some_and(|p| p < 0.0 || p as usize == i) {
            println!("meter: {}/{}", ts.numerator, ts.denominator);
            // DUMPN=k: the first k items of each line (48 by default).
            let show = |who: &str, items: &mut dyn Iterator<Item = String>| {
                let line: Vec<String> = items.take(env("DUMPN").map_or(48, |k| k as usize)).collect();
                println!("{who}: {}", line.join(" "));
            };
            for (who, notes) in [("human", &w.notes), ("model", &played)] {
                show(
                    who,
                    &mut notes
                        .iter()
                        .map(|n| format!("{:.2}:{}/{:.2}", n.start, n.pitch, n.duration)),
                );
            }
            show(
                "input",
                &mut w.inputs.iter().map(|n| format!("{:.2}:{}", n.start, n.pitch)),
            );
            show(
                "chords",
                &mut w
                    .chords
                    .iter()
                    .map(|c| format!("{:.2}:{}", c.start, c.chord.map_or("NC".into(), |c| c.to_string()))),
            );
        }
        // DURS=1: the notes' mean length and the share of them at most half a beat long, human and
        // model (does a role fill its beats with its lengths?).
        if env("DURS").is_some() {
            let stats = |notes: &[models::music::Note]| {
                let n = notes.len().max(1) as f64;
                let mean = notes.iter().map(|x| x.duration).sum::<f64>() / n;
                let short = notes.iter().filter(|x| x.duration <= 0.5 + 1e-9).count() as f64 / n;
                (mean, short)
            };
            let (hm, hs) = stats(&w.notes);
            let (mm, ms) = stats(&played);
            println!("{i:5} lengths: human mean {hm:5.2} short {hs:5.2}   model mean {mm:5.2} short {ms:5.2}");
        }
        // SILENT=1: the share of bars in which the role strikes no note, human and model.
        if env("SILENT").is_some() {
            let bb = ts.bar_beats();
            let silent = |notes: &[models::music::Note]| {
                let mut struck = vec![false; bars as usize];
                for n in notes {
                    let b = (n.start / bb + 1e-9).floor();
                    if b >= 0.0 && (b as usize) < struck.len() {
                        struck[b as usize] = true;
                    }
                }
                struck.iter().filter(|s| !**s).count() as f64 / bars.max(1) as f64
            };
            println!(
                "{i:5} silent bars: human {:5.3} model {:5.3}",
                silent(&w.notes),
                silent(&played)
            );
        }
        // ALIGN=1: notes a bar at one of the input's onsets and between them, human and model
        // (does the role play with the given part, or between its hits?), and how many of the
        // model's notes leave the human's range (models/README.md, "The bass's register").
        if env("ALIGN").is_some() {
            let at_input = |t: f64| w.inputs.iter().any(|n| (n.start - t).abs() < 1e-3);
            let split = |notes: &[models::music::Note]| {
                let mut onsets: Vec<f64> = notes.iter().map(|n| n.start).filter(|&t| t < end).collect();
                onsets.dedup_by(|a, b| (*a - *b).abs() < 1e-3);
                let with = onsets.iter().filter(|&&t| at_input(t)).count() as f64;
                (with / bars as f64, (onsets.len() as f64 - with) / bars as f64)
            };
            let (hw, hb) = split(&w.notes);
            let (mw, mb) = split(&played);
            // The model's notes outside the human's range on the piece.
            let lo = w.notes.iter().map(|n| n.pitch).min().unwrap_or(0);
            let hi = w.notes.iter().map(|n| n.pitch).max().unwrap_or(127);
            let outside = played.iter().filter(|n| n.pitch < lo || n.pitch > hi).count();
            println!(
                "{i:5} with input: human {hw:5.2} model {mw:5.2}   between: human {hb:5.2} model {mb:5.2}   model notes outside the human's range {outside}"
            );
        }
        // HOLD=1: of the notes, the share still sounding at the next chord change, and the share
        // sounding on into a chord they are not a tone of, human and model (does a role hold a
        // note over the changes?).
        if env("HOLD").is_some() {
            let held = |notes: &[models::music::Note]| {
                let (mut over, mut clash, mut n) = (0usize, 0usize, 0usize);
                for x in notes.iter().filter(|x| x.start < end) {
                    n += 1;
                    let next = w
                        .chords
                        .iter()
                        .find(|c| c.start > x.start + 1e-6 && c.start < x.start + x.duration - 1e-6);
                    if let Some(c) = next {
                        over += 1;
                        clash += c.chord.is_some_and(|c| !c.contains_pitch(x.pitch)) as usize;
                    }
                }
                let n = n.max(1) as f64;
                (over as f64 / n, clash as f64 / n)
            };
            let (ho, hc) = held(&w.notes);
            let (mo, mc) = held(&played);
            println!(
                "{i:5} held over a change: human {ho:5.3} model {mo:5.3}   into a chord it is not a tone of: human {hc:5.3} model {mc:5.3}"
            );
        }
        // META=1: the piece's meter, style slots and chord changes a bar.
        if env("META").is_some() {
            let changes = w.chords.len() as f64 / bars.max(1) as f64;
            println!(
                "{i:5} meter {}/{} styles {:?} changes/bar {changes:.2}",
                ts.numerator, ts.denominator, w.styles
            );
        }
        // IOI=1: how many of the gaps from one onset to the next fall in each range (beats: up
        // to a 16th, a triplet 8th, an 8th, a quarter, two beats, longer), human then model.
        if env("IOI").is_some() {
            const UPPER: [f64; 6] = [0.26, 0.34, 0.51, 1.01, 2.01, f64::INFINITY];
            let hist = |notes: &[models::music::Note]| {
                let mut onsets: Vec<f64> = notes.iter().map(|n| n.start).filter(|&t| t < end).collect();
                onsets.sort_by(f64::total_cmp);
                onsets.dedup_by(|a, b| (*a - *b).abs() < 1e-3);
                let mut h = [0usize; 6];
                for g in onsets.windows(2).map(|p| p[1] - p[0]) {
                    h[UPPER.iter().position(|&u| g < u).unwrap_or(5)] += 1;
                }
                h.map(|k| k.to_string()).join(" ")
            };
            println!("{i:5} ioi human {} model {}", hist(&w.notes), hist(&played));
        }
        // PHRASES=1: the line cut into phrases wherever it falls silent for a beat or more (from
        // the end of the notes sounding to the next onset): how many, their mean length in beats
        // and in notes, the mean silence between them, and the silence before the first and after
        // the last, human then model (does a role breathe where its humans do, or scatter its
        // rests?). `report::phrasing` cuts them, as the report's phrase length does.
        if env("PHRASES").is_some() {
            let stats = |notes: &[models::music::Note]| {
                let ph = sideman_trainer::report::phrasing::phrases(&passage(&w, notes));
                let c = ph.len().max(1) as f64;
                let beats = ph.iter().map(|x| x.end - x.start).sum::<f64>() / c;
                let len = ph.iter().map(|x| x.notes).sum::<usize>() as f64 / c;
                let breaths: Vec<f64> = ph.windows(2).map(|x| x[1].start - x[0].end).collect();
                let breath = breaths.iter().sum::<f64>() / breaths.len().max(1) as f64;
                let (first, last) = ph.first().zip(ph.last()).map_or((end, 0.0), |(a, b)| (a.start, b.end));
                (ph.len(), beats, len, breath, first, end - last)
            };
            let (hc, hb, hn, hg, hf, ht) = stats(&w.notes);
            let (mc, mb, mn, mg, mf, mt) = stats(&played);
            println!(
                "{i:5} phrases human {hc} {hb:.2} {hn:.2} {hg:.2} model {mc} {mb:.2} {mn:.2} {mg:.2} lead-in/tail human {hf:.2} {ht:.2} model {mf:.2} {mt:.2}"
            );
        }
        let file = ds
            .manifest
            .files
            .get(d.seqs[i].file as usize)
            .map_or("", |f| f.path.as_str());
        println!(
            "{i:5} {bpm:4.0} {bars:5} {:12.2} {:12.2} {:12.3} {:12.3}  {file}",
            h[npb], m[npb], h[empty], m[empty]
        );
        all_metrics.resize(h.len(), [0.0; 4]);
        for (e, (x, y)) in all_metrics.iter_mut().zip(h.iter().zip(&m)) {
            if x.is_finite() {
                e[0] += x;
                e[1] += 1.0;
            }
            if y.is_finite() {
                e[2] += y;
                e[3] += 1.0;
            }
        }
        let r = RANGES.iter().position(|&u| bpm < u).unwrap_or(RANGES.len() - 1);
        for (k, x) in [h[npb], m[npb], h[empty], m[empty], 1.0].into_iter().enumerate() {
            sums[r][k] += x;
        }
    }
    println!("\nbelow BPM  pieces {header}");
    let mut all = [0.0; 5];
    for s in &sums {
        for (a, x) in all.iter_mut().zip(s) {
            *a += x;
        }
    }
    for (u, s) in RANGES
        .iter()
        .map(|u| format!("{u}"))
        .chain(["all".into()])
        .zip(sums.iter().chain([&all]))
    {
        if s[4] > 0.0 {
            let n = s[4];
            println!(
                "{u:9} {n:7} {:12.2} {:12.2} {:12.3} {:12.3}",
                s[0] / n,
                s[1] / n,
                s[2] / n,
                s[3] / n
            );
        }
    }
    if env("ALL").is_some() {
        println!("\nmetric                 human     model");
        for (k, e) in keys.iter().zip(&all_metrics) {
            if e[1] > 0.0 && e[3] > 0.0 {
                println!("{k:20} {:9.3} {:9.3}", e[0] / e[1], e[2] / e[3]);
            }
        }
    }
    Ok(())
}
