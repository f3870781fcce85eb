//! Playing with Sideman in a session, through CLAP in the headless test host: the modes (call
//! and response, continue, free), following a chord within half a beat, locked loops, and no
//! hanging note on deactivation or Panic. Scripted input; offline rendering where the result must
//! be exact, real-time pacing where the timing is the point. Every test runs with
//! `assert_process_allocs` (debug build, default features): an allocation in `process()` aborts.

mod host;

use std::collections::HashMap;
use std::sync::OnceLock;

use host::{Host, OutNote, Transport, chord_off, chord_on, entry_in_process, progression, state_with, synthetic_model};
use models::Chord;
use serde_json::{Value, json};

const SR: f64 = 48_000.0;

fn model_dir() -> &'static std::path::Path {
    static DIR: OnceLock<std::path::PathBuf> = OnceLock::new();
    DIR.get_or_init(|| synthetic_model("session"))
}

fn state(extra: &[(&str, Value)]) -> Vec<u8> {
    let mut p = vec![("seed", json!({"i32": 5})), ("temp", json!({"f32": 0.8}))];
    p.extend(extra.iter().cloned());
    state_with(model_dir(), &p)
}

/// An output event at an absolute sample.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Abs {
    sample: u64,
    note: OutNote,
}

/// Input: (beat, on, key, velocity).
type Script = Vec<(f64, bool, u8, f64)>;

/// Plays `beats` beats from beat 0 at `tempo` in blocks of `block` with `input`, then a stopped
/// block; returns the note events and the CCs (absolute samples).
fn play(h: &mut Host, tempo: f64, beats: f64, block: u32, input: &Script) -> (Vec<Abs>, Vec<(u64, u8, u8)>) {
    let spb = SR * 60.0 / tempo;
    let total = (beats * spb).round() as u64;
    let input: Vec<(u64, bool, u8, f64)> = input
        .iter()
        .map(|&(b, on, k, v)| ((b * spb).round() as u64, on, k, v))
        .collect();
    let (mut out, mut ccs) = (Vec::new(), Vec::new());
    let mut pos = 0u64;
    let mut stop = false;
    while !stop {
        let len = if pos < total {
            (block as u64).min(total - pos) as u32
        } else {
            stop = true;
            block.min(64)
        };
        let mut t = Transport::at(pos as f64 / spb, tempo);
        t.playing = !stop;
        let ins: Vec<_> = input
            .iter()
            .filter(|e| !stop && e.0 >= pos && e.0 < pos + len as u64)
            .map(|e| ((e.0 - pos) as u32, e.1, e.2, e.3))
            .collect();
        for n in h.process(len, &t, &ins) {
            out.push(Abs {
                sample: pos + n.time as u64,
                note: n,
            });
        }
        ccs.extend(h.ccs.iter().map(|&(t, ch, cc, _)| (pos + t as u64, ch, cc)));
        pos += len as u64;
    }
    (out, ccs)
}

fn assert_paired(events: &[Abs]) {
    let mut sounding: HashMap<(u8, u8), u64> = HashMap::new();
    for e in events {
        let k = (e.note.channel, e.note.key);
        if e.note.on {
            assert!(sounding.insert(k, e.sample).is_none(), "NoteOn of a sounding key {k:?}");
        } else {
            assert!(sounding.remove(&k).is_some(), "NoteOff without NoteOn {k:?}");
        }
    }
    assert!(sounding.is_empty(), "still sounding: {sounding:?}");
}

/// NoteOns as (beat, key), rounded to 1/1000 beat.
fn onsets(events: &[Abs], tempo: f64) -> Vec<(f64, u8)> {
    let spb = SR * 60.0 / tempo;
    events
        .iter()
        .filter(|e| e.note.on)
        .map(|e| ((e.sample as f64 / spb * 1000.0).round() / 1000.0, e.note.key))
        .collect()
}

/// Notes as (start beat, end beat, key).
fn spans(events: &[Abs], tempo: f64) -> Vec<(f64, f64, u8)> {
    let spb = SR * 60.0 / tempo;
    let mut open: HashMap<u8, f64> = HashMap::new();
    let mut out = Vec::new();
    for e in events {
        let b = e.sample as f64 / spb;
        if e.note.on {
            open.insert(e.note.key, b);
        } else if let Some(s) = open.remove(&e.note.key) {
            out.push((s, b, e.note.key));
        }
    }
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    out
}

/// A melodic phrase in 8ths from `start` for `beats` beats (each note released after 0.4 beat).
fn phrase(start: f64, beats: f64) -> Script {
    let mut v = Vec::new();
    let figure = [72u8, 74, 76, 79, 77, 74, 72, 71];
    let mut b = start;
    let mut i = 0;
    while b < start + beats - 1e-9 {
        let k = figure[i % figure.len()];
        v.push((b, true, k, 0.8));
        v.push((b + 0.4, false, k, 0.0));
        b += 0.5;
        i += 1;
    }
    v
}

fn param(h: &Host, name: &str) -> u32 {
    h.params()[name].0
}

/// Call and response after a rest: silent while the user plays, an answer as long as the
/// phrase once they rest, silent again the moment they play; the same for any block size.
#[test]
fn call_and_response_answers_in_the_rests() {
    let entry = entry_in_process();
    let tempo = 120.0;
    // Phrase 1: beats 0-8 (last release 7.9); rest 2 beats -> answer 10..18.
    // Phrase 2: beats 20-24; answer 26..30 (4 beats). Phrase 3: 32-34; answer 36..38,
    // interrupted by phrase 4 at 37 (37-39), answered at 41..43.
    let mut input = phrase(0.0, 8.0);
    input.extend(phrase(20.0, 4.0));
    input.extend(phrase(32.0, 2.0));
    input.extend(phrase(37.0, 2.0));
    input.sort_by(|a, b| a.0.total_cmp(&b.0));
    let st = state(&[("mode", json!({"i32": 1}))]);
    let mut renders = Vec::new();
    for block in [512u32, 160] {
        let mut h = Host::new(&entry, SR, 512, true, Some(&st));
        let (ev, _) = play(&mut h, tempo, 48.0, block, &input);
        h.close();
        assert_paired(&ev);
        renders.push(ev);
    }
    let notes = spans(&renders[0], tempo);
    eprintln!("call and response: {} notes: {notes:?}", notes.len());
    let within = |a: f64, b: f64| notes.iter().filter(|n| n.0 >= a - 1e-6 && n.0 < b - 1e-6).count();
    assert!(within(10.0, 18.0) >= 4, "the first answer plays");
    assert!(within(26.0, 30.0) >= 2, "the second answer plays");
    assert!(within(36.0, 37.0) >= 1, "the third answer starts");
    assert!(within(41.0, 43.0) >= 1, "the fourth answer plays");
    assert_eq!(
        notes.len(),
        within(10.0, 18.0) + within(26.0, 30.0) + within(36.0, 37.0) + within(41.0, 43.0),
        "notes outside the answers"
    );
    // Answers end with their window (a note is cut there), and at the user's interruption.
    for n in &notes {
        let end = if n.0 < 18.0 {
            18.0
        } else if n.0 < 30.0 {
            30.0
        } else if n.0 < 40.0 {
            37.0
        } else {
            43.0
        };
        assert!(n.1 <= end + 1e-3, "{n:?} rings past {end}");
    }
    // The answer develops the phrase: its pitches lie around the phrase's register.
    let mean = notes.iter().map(|n| n.2 as f64).sum::<f64>() / notes.len() as f64;
    assert!((60.0..=84.0).contains(&mean), "mean pitch {mean}");
    // Offline: the same answer for any block size.
    assert_eq!(onsets(&renders[0], tempo), onsets(&renders[1], tempo));

    // On the bar grid (trading 2 bars): the user's slot 0 (beats 0-8), the answer in slot 1.
    let st = state(&[("mode", json!({"i32": 1})), ("trade", json!({"i32": 1}))]);
    let mut h = Host::new(&entry, SR, 512, true, Some(&st));
    let mut input = phrase(0.0, 6.0);
    input.extend(phrase(16.0, 7.0));
    input.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (ev, _) = play(&mut h, tempo, 36.0, 512, &input);
    h.close();
    assert_paired(&ev);
    let notes = spans(&ev, tempo);
    let inside = |n: &(f64, f64, u8)| (8.0..16.0).contains(&n.0) || (24.0..32.0).contains(&n.0);
    assert!(notes.iter().all(inside), "{notes:?}");
    assert!(notes.iter().filter(|n| n.0 < 16.0).count() >= 4);
    assert!(notes.iter().filter(|n| n.0 >= 24.0).count() >= 4);
}

/// Continue: when the user stops, Sideman carries on from their last bars until they play.
#[test]
fn continue_plays_when_the_user_stops() {
    let entry = entry_in_process();
    let tempo = 100.0;
    let mut input = phrase(0.0, 8.0);
    input.extend(phrase(28.0, 4.0));
    input.sort_by(|a, b| a.0.total_cmp(&b.0));
    let st = state(&[("mode", json!({"i32": 2})), ("rest", json!({"f32": 1.0}))]);
    let mut h = Host::new(&entry, SR, 512, true, Some(&st));
    let (ev, ccs) = play(&mut h, tempo, 48.0, 512, &input);
    h.close();
    assert_paired(&ev);
    let notes = spans(&ev, tempo);
    eprintln!("continue: {} notes", notes.len());
    // Silent while the user plays (0-8, 28-32), playing in every bar from the rest (9) until
    // the user plays again (28), and again after their second phrase (from 33).
    assert!(
        notes.iter().all(|n| (9.0..28.0).contains(&n.0) || n.0 >= 33.0),
        "{notes:?}"
    );
    for bar in 3..7 {
        let b = bar as f64 * 4.0;
        assert!(
            notes.iter().any(|n| n.0 >= b && n.0 < b + 4.0),
            "bar {bar} is silent: {notes:?}"
        );
    }
    assert!(
        notes.iter().all(|n| n.0 >= 28.0 || n.1 <= 28.0 + 1e-3),
        "a note rings into the user's phrase"
    );
    assert!(notes.iter().filter(|n| n.0 >= 33.0).count() >= 4);
    // The stop at the end sends All Notes Off and All Sound Off on the output channel.
    assert!(ccs.iter().any(|c| c.1 == 0 && c.2 == 123) && ccs.iter().any(|c| c.1 == 0 && c.2 == 120));
}

/// Free: plays without listening: the same notes with and without input.
#[test]
fn free_plays_without_the_input() {
    let entry = entry_in_process();
    let st = state(&[("mode", json!({"i32": 3}))]);
    let mut renders = Vec::new();
    for with_input in [false, true] {
        let spb = 1.0;
        let mut input: Script = Vec::new();
        if with_input {
            for bar in 0..4 {
                let c = progression()[bar % 4].transposed(6);
                let at = bar as f64 * 4.0 * spb;
                input.extend(chord_on(0, c).into_iter().map(|e| (at, e.1, e.2, e.3)));
                input.extend(chord_off(0, c).into_iter().map(|e| (at + 3.5, e.1, e.2, e.3)));
            }
        }
        let mut h = Host::new(&entry, SR, 512, true, Some(&st));
        let (ev, _) = play(&mut h, 120.0, 16.0, 512, &input);
        h.close();
        assert_paired(&ev);
        renders.push(onsets(&ev, 120.0));
    }
    assert!(renders[0].len() >= 16, "{:?}", renders[0]);
    assert_eq!(renders[0], renders[1]);
}

/// The chord of bar `bar`: the progression, a tritone away every other bar.
fn chord_of(bar: usize) -> Chord {
    progression()[bar % 4].transposed(if bar.is_multiple_of(2) { 0 } else { 6 })
}

/// Plays `bars` bars with a chord change on every bar line, paced at `speed` x real time (or
/// offline when `speed` is infinite); returns the NoteOns (beat, key) and the changes' beats.
fn changes_run(tempo: f64, bars: usize, offline: bool) -> (Vec<(f64, u8)>, Vec<f64>) {
    let entry = entry_in_process();
    let st = state(&[("ahead", json!({"f32": 8.0}))]);
    let mut h = Host::new(&entry, SR, 64, offline, Some(&st));
    let spb = SR * 60.0 / tempo;
    let blocks = (bars as f64 * 4.0 * spb / 64.0) as usize;
    let start = std::time::Instant::now();
    let (mut notes, mut changes) = (Vec::new(), Vec::new());
    let mut last: Option<Chord> = None;
    for i in 0..blocks {
        let pos = i as u64 * 64;
        let beat = pos as f64 / spb;
        let bar = (beat / 4.0).floor() as usize;
        let bar_sample = (bar as f64 * 4.0 * spb).round() as u64;
        let mut input = Vec::new();
        if bar_sample >= pos && bar_sample < pos + 64 {
            let at = (bar_sample - pos) as u32;
            if let Some(old) = last {
                input.extend(chord_off(at, old));
            }
            input.extend(chord_on(at, chord_of(bar)));
            last = Some(chord_of(bar));
            changes.push(bar_sample as f64 / spb);
        }
        for n in h.process(64, &Transport::at(beat, tempo), &input) {
            if n.on {
                notes.push(((pos + n.time as u64) as f64 / spb, n.key));
            }
        }
        if !offline {
            let due = std::time::Duration::from_secs_f64((i + 1) as f64 * 64.0 / SR);
            while start.elapsed() < due {
                std::thread::sleep(std::time::Duration::from_micros(300));
            }
        }
    }
    h.close();
    (notes, changes)
}

/// Live, at 180 BPM, every note starting half a beat or more after a chord change is the note
/// the offline render (which follows every change from its own tick) plays there: the chord is
/// followed within half a beat. A real-time test on a shared machine: a run in which the
/// generator thread did not get the CPU in time is repeated (at most three runs).
#[test]
fn follows_a_chord_within_half_a_beat_at_180_bpm() {
    let tempo = 180.0;
    let bars = 9;
    let (reference, _) = changes_run(tempo, bars, true);
    let key = |n: &(f64, u8)| ((n.0 * 48.0).round() as i64, n.1);
    let mut failures = Vec::new();
    for run in 0..3 {
        let (live, changes) = changes_run(tempo, bars, false);
        let mut wrong = Vec::new();
        let mut checked = 0;
        for (i, &at) in changes.iter().enumerate().skip(1) {
            let until = changes.get(i + 1).copied().unwrap_or(bars as f64 * 4.0 - 1.0);
            let pick = |v: &[(f64, u8)]| -> Vec<(i64, u8)> {
                let mut x: Vec<_> = v
                    .iter()
                    .filter(|n| n.0 >= at + 0.5 - 1e-9 && n.0 < until - 1e-9)
                    .map(key)
                    .collect();
                x.sort_unstable();
                x
            };
            let (l, r) = (pick(&live), pick(&reference));
            checked += r.len();
            if l != r {
                wrong.push((at, l, r));
            }
        }
        eprintln!(
            "run {run}: {checked} notes checked, {} changes not followed",
            wrong.len()
        );
        assert!(checked >= 40, "too few notes: {checked}");
        if wrong.is_empty() {
            return;
        }
        failures.push(wrong);
    }
    panic!("chord changes not followed within half a beat in three runs: {failures:?}");
}

/// A ballad's chord broken slowly under the sustain pedal, offline at 120 BPM: each chord of
/// [`chord_of`] lasts three bars, its root struck on the first beat, its fifth on the fourth,
/// its third in the second bar and its seventh in the third, each released at once, the pedal
/// changed with the root. A broken chord reaches back one bar, so only the pedal holds the
/// chord together. Harmony at its top: the notes follow the chord the plugin hears, whatever the
/// test model makes of the input's onsets. Returns (chord tones, notes) from a beat after the
/// third to the next chord.
fn ballad_fit(pedal: bool) -> (usize, usize) {
    let entry = entry_in_process();
    let st = state(&[("harm", json!({"f32": 100.0}))]);
    let mut h = Host::new(&entry, SR, 512, true, Some(&st));
    let tempo = 120.0;
    let spb = SR * 60.0 / tempo;
    let (chords, len) = (4, 12.0);
    // (beat, on, key, velocity) and the pedal's changes (beat, value).
    let mut input: Vec<(f64, bool, u8, f64)> = Vec::new();
    let mut ccs: Vec<(f64, u8)> = Vec::new();
    for i in 0..chords {
        let c = chord_of(i);
        let at = i as f64 * len;
        let pcs: Vec<u8> = c.pitch_classes().collect();
        // Root, fifth, third, seventh.
        for (beat, key) in [
            (0.0, 36 + c.root),
            (3.0, 60 + pcs[2]),
            (7.5, 60 + pcs[1]),
            (9.0, 60 + pcs[3]),
        ] {
            input.push((at + beat, true, key, 0.8));
            input.push((at + beat + 0.25, false, key, 0.0));
        }
        ccs.push((at, 0));
        ccs.push((at + 0.01, 127));
    }
    let total = (chords as f64 * len * spb) as u64;
    let mut notes = Vec::new();
    let mut pos = 0u64;
    while pos < total {
        let block = 512u64.min(total - pos);
        let in_block = |b: f64| {
            let s = (b * spb).round() as u64;
            (s >= pos && s < pos + block).then(|| (s - pos) as u32)
        };
        if pedal {
            for &(b, v) in &ccs {
                if let Some(t) = in_block(b) {
                    h.queue_cc(t, 64, v);
                }
            }
        }
        let ins: Vec<_> = input
            .iter()
            .filter_map(|&(b, on, k, v)| in_block(b).map(|t| (t, on, k, v)))
            .collect();
        for n in h.process(block as u32, &Transport::at(pos as f64 / spb, tempo), &ins) {
            if n.on {
                notes.push(((pos + n.time as u64) as f64 / spb, n.key));
            }
        }
        pos += block;
    }
    h.close();
    let (mut fit, mut all) = (0, 0);
    for i in 0..chords {
        let c = chord_of(i);
        let (from, until) = (i as f64 * len + 8.5, (i + 1) as f64 * len);
        for &(_, k) in notes.iter().filter(|n| n.0 >= from - 1e-9 && n.0 < until - 1e-9) {
            all += 1;
            fit += c.contains_pitch(k) as usize;
        }
    }
    (fit, all)
}

#[test]
fn follows_broken_chords_held_by_the_sustain_pedal() {
    let (fit, all) = ballad_fit(true);
    let (fit0, all0) = ballad_fit(false);
    eprintln!("chord tones with the pedal {fit}/{all}, without {fit0}/{all0}");
    assert!(all >= 8, "too few notes: {all}");
    assert!(fit * 10 >= all * 9, "{fit}/{all} chord tones with the pedal");
    assert!(fit0 * 10 < all0 * 9, "{fit0}/{all0}: the test needs the pedal");
}

/// Plays `passes` passes of the loop 0..8 beats (two bars, 120 BPM) with `chords(pass)` as the
/// input of each pass; returns each pass's NoteOns as (sample in the pass, key, velocity).
/// `host_splits`: blocks end at the loop end (as most hosts do); else blocks of 700 samples
/// run across it and the plugin splits them.
fn loop_passes(
    st: &[u8],
    passes: usize,
    host_splits: bool,
    chords: impl Fn(usize) -> [Chord; 2],
) -> Vec<Vec<(u64, u8, u64)>> {
    let entry = entry_in_process();
    let mut h = Host::new(&entry, SR, 1024, true, Some(st));
    let spb = SR * 60.0 / 120.0;
    let pass_len = (8.0 * spb) as u64;
    let mut out = vec![Vec::new(); passes];
    let mut all = Vec::new();
    let mut t_abs = 0u64;
    // Chord events at absolute samples.
    let mut input: Vec<(u64, bool, u8, f64)> = Vec::new();
    for pass in 0..passes {
        let cs = chords(pass);
        for (bar, c) in cs.iter().enumerate() {
            let at = pass as u64 * pass_len + bar as u64 * 4 * spb as u64;
            if pass > 0 || bar > 0 {
                let prev = if bar == 0 { chords(pass - 1)[1] } else { cs[0] };
                input.extend(chord_off(0, prev).into_iter().map(|e| (at, e.1, e.2, e.3)));
            }
            input.extend(chord_on(0, *c).into_iter().map(|e| (at, e.1, e.2, e.3)));
        }
    }
    let total = passes as u64 * pass_len;
    while t_abs < total {
        let in_pass = t_abs % pass_len;
        let mut len = 700u64.min(total - t_abs);
        if host_splits {
            len = len.min(pass_len - in_pass);
        }
        let mut t = Transport::at(in_pass as f64 / spb, 120.0);
        t.loop_range = Some((0.0, 8.0));
        let ins: Vec<_> = input
            .iter()
            .filter(|e| e.0 >= t_abs && e.0 < t_abs + len)
            .map(|e| ((e.0 - t_abs) as u32, e.1, e.2, e.3))
            .collect();
        for n in h.process(len as u32, &t, &ins) {
            let at = t_abs + n.time as u64;
            if n.on {
                out[(at / pass_len) as usize].push((at % pass_len, n.key, (n.velocity * 127.0).round() as u64));
            }
            all.push(Abs { sample: at, note: n });
        }
        t_abs += len;
    }
    let mut t = Transport::at(0.0, 120.0);
    t.playing = false;
    for n in h.process(64, &t, &[]) {
        all.push(Abs { sample: t_abs, note: n });
    }
    h.close();
    assert_paired(&all);
    out
}

/// Lock keeps the looped notes pass after pass (however the host splits its blocks); a changed
/// chord is followed and the loop locks onto what was heard; unlocked, Vary 100 % plays anew
/// (and Vary 50 % keeps the first bar). The built-in Markov model, trained on real solos, plays
/// something new on every pass unless told not to.
#[test]
fn locked_loop_repeats_the_same_notes() {
    let p = progression();
    let same = |_| [p[0], p[1]];
    let fallback = models::assets::fallback();
    let st = |lock: bool, vary: f32| {
        state_with(
            std::path::Path::new(&fallback),
            &[
                ("seed", json!({"i32": 3})),
                // The Harmony this test was written at (12.5 %): what it locks should not
                // change with the default. Seed 3: a first pass of eight notes or more (since the
                // Harmony shares the notes' mass instead of adding notes, 2026-12-05, seed 5
                // plays five there).
                ("harm", json!({"f32": 12.5})),
                ("lock", json!({"bool": lock})),
                ("vary", json!({"f32": vary})),
            ],
        )
    };
    let bar2 = 4 * 24_000u64;
    let first_bar = |v: &[(u64, u8, u64)]| v.iter().filter(|n| n.0 < bar2).copied().collect::<Vec<_>>();
    let second_bar = |v: &[(u64, u8, u64)]| v.iter().filter(|n| n.0 >= bar2 + 12_000).copied().collect::<Vec<_>>();
    for host_splits in [true, false] {
        let passes = loop_passes(&st(true, 100.0), 4, host_splits, same);
        assert!(passes[0].len() >= 8, "{:?}", passes[0]);
        for (i, pass) in passes.iter().enumerate().skip(1) {
            assert_eq!(pass, &passes[0], "locked pass {i} differs (host splits: {host_splits})");
        }
        // Unlocked, Vary 100 %: new notes on each pass.
        let passes = loop_passes(&st(false, 100.0), 4, host_splits, same);
        assert!((1..4).all(|i| passes[i] != passes[0]), "Vary 100 % repeats: {passes:?}");
    }

    // The second bar's chord changes in pass 2: played anew from there, locked again after.
    let changed = |pass: usize| {
        if pass < 2 {
            [p[0], p[1]]
        } else {
            [p[0], p[1].transposed(6)]
        }
    };
    let passes = loop_passes(&st(true, 100.0), 4, true, changed);
    assert_eq!(passes[1], passes[0]);
    assert_eq!(first_bar(&passes[2]), first_bar(&passes[1]));
    assert_ne!(
        second_bar(&passes[2]),
        second_bar(&passes[1]),
        "the new chord is not followed"
    );
    assert_eq!(passes[3], passes[2], "the loop locks onto what was heard");

    // Vary 50 %: the first bar of each pass is the pass before's, the second bar is new.
    let passes = loop_passes(&st(false, 50.0), 4, true, same);
    for i in 1..4 {
        assert_eq!(first_bar(&passes[i]), first_bar(&passes[0]), "pass {i}'s first bar");
        assert_ne!(
            second_bar(&passes[i]),
            second_bar(&passes[i - 1]),
            "pass {i}'s second bar"
        );
    }
}

/// Deactivation while notes sound, and Panic: every NoteOn gets its NoteOff (after a
/// deactivation, in the first block after the next activation), with CC 123 and CC 120 on the
/// output channel.
#[test]
fn deactivate_and_panic_leave_no_note_hanging() {
    let entry = entry_in_process();
    let tempo = 120.0;
    let spb = SR * 60.0 / tempo;
    let st = state(&[("chan", json!({"i32": 3}))]);
    let mut h = Host::new(&entry, SR, 2048, true, Some(&st));
    let panic = param(&h, "Panic");
    let mut sounding: HashMap<u8, u64> = HashMap::new();
    let mut pos = 0u64;
    let track = |out: &[OutNote], sounding: &mut HashMap<u8, u64>, pos: u64| {
        for n in out {
            assert_eq!(n.channel, 2);
            if n.on {
                assert!(sounding.insert(n.key, pos).is_none());
            } else {
                assert!(sounding.remove(&n.key).is_some(), "NoteOff without NoteOn {}", n.key);
            }
        }
    };
    let chords: Vec<_> = chord_on(0, progression()[0]);
    let mut deactivations = 0;
    let mut panics = 0;
    for i in 0..300u64 {
        let t = Transport::at(pos as f64 / spb, tempo);
        let input = if i == 0 { chords.clone() } else { vec![] };
        let out = h.process(2048, &t, &input);
        track(&out, &mut sounding, pos);
        pos += 2048;
        if !sounding.is_empty() && deactivations < 3 && i % 37 == 5 {
            // A host disables the track while notes sound.
            h.deactivate();
            h.reactivate();
            deactivations += 1;
            let out = h.process(2048, &Transport::at(pos as f64 / spb, tempo), &[]);
            let offs = out.iter().filter(|n| !n.on && n.time == 0).count();
            track(&out, &mut sounding, pos);
            assert!(offs >= 1, "no NoteOff after reactivation: {out:?}");
            assert!(h.ccs.iter().any(|c| c.0 == 0 && c.1 == 2 && c.2 == 123), "{:?}", h.ccs);
            assert!(h.ccs.iter().any(|c| c.0 == 0 && c.1 == 2 && c.2 == 120), "{:?}", h.ccs);
            pos += 2048;
        } else if !sounding.is_empty() && panics < 3 && i % 41 == 7 {
            h.set_param(panic, 1.0);
            let out = h.process(2048, &Transport::at(pos as f64 / spb, tempo), &[]);
            track(&out, &mut sounding, pos);
            // Everything sounding before the block is released at its first sample.
            assert!(out.iter().any(|n| !n.on && n.time == 0), "{out:?}");
            assert!(h.ccs.iter().any(|c| c.0 == 0 && c.1 == 2 && c.2 == 123), "{:?}", h.ccs);
            assert!(h.ccs.iter().any(|c| c.0 == 0 && c.1 == 2 && c.2 == 120), "{:?}", h.ccs);
            h.set_param(panic, 0.0);
            panics += 1;
            pos += 2048;
        }
    }
    assert_eq!((deactivations, panics), (3, 3));
    let mut t = Transport::at(pos as f64 / spb, tempo);
    t.playing = false;
    let out = h.process(2048, &t, &[]);
    track(&out, &mut sounding, pos);
    assert!(sounding.is_empty(), "{sounding:?}");
    assert!(h.ccs.iter().any(|c| c.2 == 123));
    h.close();
}
