//! Benchmarks, run in the headless test host (`cargo bench -p sideman --bench process`):
//!
//! 1) `process()` cost per 64-sample block at 48 kHz while generating (transport playing, chords
//!    on the input, notes flowing), median and p99.9, against a baseline measured in the same
//!    run: the same plugin with the transport stopped (an almost empty `process()`).
//! 2) Response: from a new chord on the input to the first generated note that follows it, in
//!    beats, at 120 and 180 BPM, with the host paced in real time.

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
    println!("model: {}", model.display());
    let entry = entry_in_process();
    let state = state_with(&model, &[("ahead", serde_json::json!({"f32": 8.0}))]);

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
    println!("process() per {BLOCK}-sample block at 48 kHz, {blocks} blocks:");
    println!(
        "  stopped (baseline): median {:.2} us, p99.9 {:.2} us",
        b50 as f64 / 1e3,
        b999 as f64 / 1e3
    );
    println!(
        "  generating:         median {:.2} us, p99.9 {:.2} us  ({:.2}x / {:.2}x baseline; {} notes played)",
        g50 as f64 / 1e3,
        g999 as f64 / 1e3,
        g50 as f64 / b50.max(1) as f64,
        g999 as f64 / b999.max(1) as f64,
        busy.notes.len()
    );

    // 2. Response to a chord change, real time.
    for tempo in [120.0, 180.0] {
        let bars = 9;
        let spb = SR * 60.0 / tempo;
        let blocks = (bars as f64 * 4.0 * spb / BLOCK as f64) as usize;
        let mut h = Host::new(&entry, SR, BLOCK, false, Some(&state));
        let r = run(&mut h, tempo, blocks, true, 1.0);
        h.close();
        let mut resp = Vec::new();
        for (i, &(at, c)) in r.chords.iter().enumerate().skip(1) {
            let until = r.chords.get(i + 1).map_or(f64::MAX, |x| x.0);
            if let Some(&(b, _)) = r
                .notes
                .iter()
                .find(|n| n.0 >= at - 1e-9 && n.0 < until && c.contains_pitch(n.1))
            {
                resp.push(b - at);
            }
        }
        resp.sort_by(|a, b| a.total_cmp(b));
        let mean = resp.iter().sum::<f64>() / resp.len().max(1) as f64;
        println!(
            "response at {tempo} BPM: chord -> first note that follows it: {} changes, mean {:.2} beats, max {:.2} beats ({:?})",
            resp.len(),
            mean,
            resp.last().copied().unwrap_or(f64::NAN),
            resp
        );
    }
    if given.is_none() {
        let _ = std::fs::remove_dir_all(&model);
    }
}
