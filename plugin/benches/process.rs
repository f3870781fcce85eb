//! Benchmarks, run in the headless test host (`cargo bench -p sideman --bench process`):
//!
//! 1) `process()` cost per 64-sample block at 48 kHz while generating (transport playing, chords
//!    on the input, notes flowing), median and p99.9, against a baseline measured in the same
//!    run: the same plugin with the transport stopped (an almost empty `process()`).
//! 2) Response: from a new chord on the input to the first note from which the notes played in
//!    real time are those of the regenerated stream, at 120 and 180 BPM: the distribution of that
//!    delay in ms (it includes the model's own rests), of the last note of the old stream played
//!    after the change, and how many changes still had a stale note half a beat or more after
//!    them.
//!    The reference is an offline render of the same input (the host waits for the generator, so
//!    the new chord is followed from its own tick); the live run is paced in real time.
//!
//! Both for the synthetic Markov test model (whose every note is a chord tone, so "follows" is
//! visible in the output) and for the built-in neural default (`builtin:jazz-lead`, ONNX Runtime
//! generating on the plugin's own thread while process() runs). `SIDEMAN_BENCH_MODEL=<package>`
//! replaces the synthetic model.

#[path = "../tests/host/mod.rs"]
mod host;

use std::time::{Duration, Instant};

use host::{Host, Transport, chord_off, chord_on, entry_in_process, progression, state_with, synthetic_model};
use models::Chord;

const SR: f64 = 48_000.0;
const BLOCK: u32 = 64;

fn percentile(v: &mut [u64], p: f64) -> u64 {
    v.sort_unstable();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i.min(v.len() - 1)]
}

/// The chord of `bar`: the progression, a tritone away every other bar (disjoint pitch classes).
fn chord_of(bar: usize) -> Chord {
    progression()[bar % 4].transposed(if bar.is_multiple_of(2) { 0 } else { 6 })
}

struct Run {
    times_ns: Vec<u64>,
    notes: Vec<(f64, u8)>,
    chords: Vec<(f64, Chord)>,
}

/// Runs `blocks` blocks at `speed` times real time.
fn run(h: &mut Host, tempo: f64, blocks: usize, playing: bool, speed: f64) -> Run {
    let spb = SR * 60.0 / tempo;
    let period = Duration::from_secs_f64(BLOCK as f64 / SR / speed);
    let mut r = Run {
        times_ns: Vec::with_capacity(blocks),
        notes: Vec::new(),
        chords: Vec::new(),
    };
    let start = Instant::now();
    let mut last: Option<Chord> = None;
    for i in 0..blocks {
        let pos = i as u64 * BLOCK as u64;
        let beat = pos as f64 / spb;
        let mut t = Transport::at(beat, tempo);
        t.playing = playing;
        let bar = (beat / 4.0).floor() as usize;
        let bar_sample = (bar as f64 * 4.0 * spb).round() as u64;
        let mut input = Vec::new();
        if bar_sample >= pos && bar_sample < pos + BLOCK as u64 {
            let at = (bar_sample - pos) as u32;
            let c = chord_of(bar);
            if let Some(old) = last {
                input.extend(chord_off(at, old));
            }
            input.extend(chord_on(at, c));
            last = Some(c);
            r.chords.push((bar as f64 * 4.0, c));
        }
        let out = h.process(BLOCK, &t, &input);
        for n in out.iter().filter(|n| n.on) {
            r.notes.push(((pos + n.time as u64) as f64 / spb, n.key));
        }
        r.times_ns.push(h.last_process_ns);
        let due = start + period.mul_f64((i + 1) as f64);
        while Instant::now() < due {
            std::hint::spin_loop();
        }
    }
    r
}

fn main() {
    // A real package with SIDEMAN_BENCH_MODEL=<folder>, else the synthetic test model.
    let given = std::env::var_os("SIDEMAN_BENCH_MODEL").map(std::path::PathBuf::from);
    let model = given.clone().unwrap_or_else(|| synthetic_model("bench"));
    let mut models = vec![(model.display().to_string(), model.clone())];
    if models::runtime::is_available() {
        let default = models::assets::default_for(models::Role::Lead);
        models.push((format!("{default} (neural default)"), std::path::PathBuf::from(default)));
    } else {
        println!("ONNX Runtime unavailable: the neural default is not measured (run `cargo xtask ort`)");
    }
    for (label, path) in &models {
        bench(label, path);
    }
    if given.is_none() {
        let _ = std::fs::remove_dir_all(&model);
    }
}

fn bench(label: &str, model: &std::path::Path) {
    println!("model: {label}");
    let entry = entry_in_process();
    let state = state_with(model, &[("ahead", serde_json::json!({"f32": 8.0}))]);

    // 1. process() cost.
    let blocks = 40_000; // 53 s of audio at 8x real time: 6.7 s
    let mut idle = Host::new(&entry, SR, BLOCK, false, Some(&state));
    let base = run(&mut idle, 120.0, blocks, false, 8.0);
    idle.close();
    let mut generating = Host::new(&entry, SR, BLOCK, false, Some(&state));
    let busy = run(&mut generating, 120.0, blocks, true, 8.0);
    generating.close();
    let (mut b, mut g) = (base.times_ns.clone(), busy.times_ns.clone());
    let (b50, b999) = (percentile(&mut b, 0.5), percentile(&mut b, 0.999));
    let (g50, g999) = (percentile(&mut g, 0.5), percentile(&mut g, 0.999));
    println!("  process() per {BLOCK}-sample block at 48 kHz, {blocks} blocks:");
    println!(
        "    stopped (baseline): median {:.2} us, p99.9 {:.2} us",
        b50 as f64 / 1e3,
        b999 as f64 / 1e3
    );
    println!(
        "    generating:         median {:.2} us, p99.9 {:.2} us  ({:.2}x / {:.2}x baseline; {} notes played)",
        g50 as f64 / 1e3,
        g999 as f64 / 1e3,
        g50 as f64 / b50.max(1) as f64,
        g999 as f64 / b999.max(1) as f64,
        busy.notes.len()
    );

    // 2. Response to a chord change: live (paced in real time) against an offline render.
    for tempo in [120.0, 180.0] {
        let bars = 17;
        let spb = SR * 60.0 / tempo;
        let blocks = (bars as f64 * 4.0 * spb / BLOCK as f64) as usize;
        let mut h = Host::new(&entry, SR, BLOCK, true, Some(&state));
        let reference = run(&mut h, tempo, blocks, true, 1e9);
        h.close();
        let mut h = Host::new(&entry, SR, BLOCK, false, Some(&state));
        let live = run(&mut h, tempo, blocks, true, 1.0);
        h.close();
        let key = |n: &(f64, u8)| ((n.0 * 48.0).round() as i64, n.1);
        let mut differing = 0usize;
        let mut delays_ms = Vec::new();
        let mut stale_ms = Vec::new();
        let mut late_half_beat = 0usize;
        for (i, &(at, _)) in live.chords.iter().enumerate().skip(1) {
            let until = live.chords.get(i + 1).map_or(bars as f64 * 4.0 - 1.0, |x| x.0);
            let within = |v: &[(f64, u8)], from: f64| -> Vec<(i64, u8)> {
                let mut x: Vec<_> = v
                    .iter()
                    .filter(|n| n.0 >= from - 1e-9 && n.0 < until - 1e-9)
                    .map(key)
                    .collect();
                x.sort_unstable();
                x
            };
            differing += within(&live.notes, at)
                .iter()
                .filter(|n| !within(&reference.notes, at).contains(n))
                .count();
            // The first live note from which the live notes are the regenerated ones (those of
            // the offline render, which follows the chord from its own tick).
            let mut starts: Vec<f64> = live
                .notes
                .iter()
                .map(|n| n.0)
                .filter(|&b| b >= at && b < until)
                .collect();
            starts.sort_by(f64::total_cmp);
            if let Some(&first) = starts
                .iter()
                .find(|&&b| within(&live.notes, b) == within(&reference.notes, b))
            {
                delays_ms.push((first - at) * 60_000.0 / tempo);
            }
            if within(&live.notes, at + 0.5) != within(&reference.notes, at + 0.5) {
                late_half_beat += 1;
            }
            // The last note of the old stream played after the change (0: none).
            let reference_now = within(&reference.notes, at);
            let last_stale = live
                .notes
                .iter()
                .filter(|n| n.0 >= at - 1e-9 && n.0 < until - 1e-9 && !reference_now.contains(&key(n)))
                .map(|n| n.0 - at)
                .fold(0.0, f64::max);
            stale_ms.push(last_stale * 60_000.0 / tempo);
        }
        let changes = live.chords.len().saturating_sub(1);
        delays_ms.sort_by(f64::total_cmp);
        stale_ms.sort_by(f64::total_cmp);
        let quantile = |v: &[f64], p: f64| {
            if v.is_empty() {
                return f64::NAN;
            }
            v[((v.len() - 1) as f64 * p).round() as usize]
        };
        let q = |p: f64| quantile(&delays_ms, p);
        let qs = |p: f64| quantile(&stale_ms, p);
        println!(
            "  response at {tempo} BPM ({changes} changes; half a beat = {:.0} ms): chord to first following note min {:.0} / median {:.0} / p90 {:.0} / max {:.0} ms; last note of the old stream after the change min {:.0} / median {:.0} / p90 {:.0} / max {:.0} ms; changes with a stale note half a beat or more after them: {late_half_beat}; {differing} notes played from the old stream after a change",
            30_000.0 / tempo,
            q(0.0),
            q(0.5),
            q(0.9),
            q(1.0),
            qs(0.0),
            qs(0.5),
            qs(0.9),
            qs(1.0),
        );
    }
}
