//! The preview sound, heard through the plugin's audio output in the test host.

use serde_json::json;

use std::collections::HashMap;

use super::host::{Host, Transport, entry_in_process, state_with};
use super::{Abs, assert_paired, model_dir, progression_input};

/// A bounce with the audio output: every note event and every output sample.
struct AudioBounce {
    events: Vec<Abs>,
    left: Vec<f32>,
    right: Vec<f32>,
    /// First sample of the stopped blocks.
    stop: u64,
}

/// Plays `beats` beats from beat 0 in blocks of `block` as [`play`] does, calling `before(h,
/// sample)` ahead of each block, then `tail_s` seconds of stopped blocks; records the audio.
fn play_audio(
    h: &mut Host,
    tempo: f64,
    beats: f64,
    block: u32,
    input: &[(u64, bool, u8, f64)],
    tail_s: f64,
    mut before: impl FnMut(&mut Host, u64),
) -> AudioBounce {
    let spb = h.sample_rate * 60.0 / tempo;
    let stop = (beats * spb).round() as u64;
    let total = stop + (tail_s * h.sample_rate).round() as u64;
    let mut b = AudioBounce {
        events: Vec::new(),
        left: Vec::new(),
        right: Vec::new(),
        stop,
    };
    let mut pos = 0u64;
    while pos < total {
        let len = (block as u64).min(if pos < stop { stop - pos } else { total - pos }) as u32;
        let mut t = Transport::at(pos.min(stop) as f64 / spb, tempo);
        t.playing = pos < stop;
        let ins: Vec<_> = input
            .iter()
            .filter(|e| e.0 >= pos && e.0 < pos + len as u64)
            .map(|e| ((e.0 - pos) as u32, e.1, e.2, e.3))
            .collect();
        before(h, pos);
        for n in h.process(len, &t, &ins) {
            b.events.push(Abs {
                sample: pos + n.time as u64,
                note: n,
            });
        }
        let (l, r) = h.audio();
        b.left.extend_from_slice(l);
        b.right.extend_from_slice(r);
        pos += len as u64;
    }
    b
}

/// Sample ranges where at least one note sounds (NoteOn to NoteOff, merged).
fn sounding_spans(events: &[Abs]) -> Vec<(u64, u64)> {
    let mut open: HashMap<(u8, u8), u64> = HashMap::new();
    let mut spans: Vec<(u64, u64)> = Vec::new();
    for e in events {
        let k = (e.note.channel, e.note.key);
        if e.note.on {
            open.insert(k, e.sample);
        } else if let Some(s) = open.remove(&k) {
            spans.push((s, e.sample));
        }
    }
    spans.sort();
    let mut merged: Vec<(u64, u64)> = Vec::new();
    for (s, e) in spans {
        match merged.last_mut() {
            Some(m) if s <= m.1 => m.1 = m.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    merged
}

/// RMS of left and right over `range`.
fn audio_rms(b: &AudioBounce, range: std::ops::Range<usize>) -> f64 {
    let sum: f64 = b.left[range.clone()]
        .iter()
        .chain(&b.right[range.clone()])
        .map(|&x| x as f64 * x as f64)
        .sum();
    (sum / (2 * range.len()).max(1) as f64).sqrt()
}

/// Checks a bounce with the preview on: exact silence before the first NoteOn, sound in every
/// 512-sample window inside a span where a note sounds (drums, which are one-shots that ring
/// shorter than their MIDI notes: in the 512 samples from each hit), exact silence again after
/// the stop's fade. Returns (windows checked, their lowest RMS, their mean RMS, ms from the stop to the last
/// non-zero sample).
fn assert_preview_sounds(what: &str, b: &AudioBounce, drums: bool) -> (usize, f64, f64, f64) {
    assert!(
        b.left.iter().chain(&b.right).all(|x| x.is_finite() && x.abs() <= 1.0),
        "{what}: a sample is not finite or beyond [-1, 1]"
    );
    let first_on = b.events.iter().find(|e| e.note.on).map(|e| e.sample as usize);
    let first_on = first_on.unwrap_or_else(|| panic!("{what}: no notes"));
    assert!(
        b.left[..first_on].iter().chain(&b.right[..first_on]).all(|&x| x == 0.0),
        "{what}: sound before the first NoteOn (sample {first_on})"
    );
    assert!(
        b.left[first_on..first_on + 64].iter().any(|&x| x != 0.0),
        "{what}: the first note does not start on its sample ({first_on})"
    );
    let windows: Vec<u64> = if drums {
        b.events.iter().filter(|e| e.note.on).map(|e| e.sample).collect()
    } else {
        sounding_spans(&b.events)
            .into_iter()
            .flat_map(|(s, e)| (s.div_ceil(512)..e / 512).map(|w| w * 512))
            .collect()
    };
    let mut rms = Vec::new();
    for w in windows {
        let r = audio_rms(b, w as usize..w as usize + 512);
        assert!(
            r > 1e-3,
            "{what}: silent window at sample {w} (rms {r:e}) while a note sounds"
        );
        rms.push(r);
    }
    assert!(
        rms.len() >= 20,
        "{what}: only {} windows with a note sounding",
        rms.len()
    );
    let last = b.left.iter().zip(&b.right).rposition(|(l, r)| *l != 0.0 || *r != 0.0);
    let tail_ms = last.map_or(0.0, |i| (i as f64 - b.stop as f64).max(0.0) / 48.0);
    let end = b.left.len();
    assert!(
        (b.stop as usize + 24_000..end).len() >= 24_000
            && b.left[b.stop as usize + 24_000..]
                .iter()
                .chain(&b.right[b.stop as usize + 24_000..])
                .all(|&x| x == 0.0),
        "{what}: still sounding {tail_ms:.0} ms after the stop"
    );
    let min = rms.iter().copied().fold(f64::INFINITY, f64::min);
    let mean = rms.iter().sum::<f64>() / rms.len() as f64;
    (rms.len(), min, mean, tail_ms)
}

/// The built-in preview sound plays the notes Sideman sends, on their samples, on the plugin's
/// audio output: 8 bars of the synthetic lead over played chords, 48 kHz, 512-sample blocks,
/// offline. Exact silence (0.0) before the first NoteOn; sound (RMS > 1e-3) in every 512-sample
/// window in which a note sounds; exact silence again after the stop (the preview fades within
/// 0.12 s; 1 s is checked). The bass and drums roles sound too. With "Preview sound" off (from the
/// saved state, or switched off while playing, as the editor's one click does) every sample is
/// exactly 0.0 while the same notes still go out as MIDI. The test host fills its output buffers
/// with NaN before each block, so no sample passes unwritten. No allocation in the preview:
/// `process()` runs under `assert_process_allocs` (see the file's docs), so running is the proof.
#[test]
fn preview_sound_plays_the_scheduled_notes() {
    let entry = entry_in_process();
    let (sr, tempo, bars, block, tail_s) = (48_000.0, 120.0, 8usize, 512u32, 1.5);
    let spb = sr * 60.0 / tempo;
    let (input, _) = progression_input(spb, bars, |_| 0);
    let beats = bars as f64 * 4.0;
    let bounce_with =
        |model: &std::path::Path, extra: &[(&str, serde_json::Value)], before: &mut dyn FnMut(&mut Host, u64)| {
            let mut params = vec![("seed", json!({"i32": 7})), ("temp", json!({"f32": 0.8}))];
            params.extend(extra.iter().cloned());
            let mut h = Host::new(&entry, sr, block, true, Some(&state_with(model, &params)));
            let b = play_audio(&mut h, tempo, beats, block, &input, tail_s, |h, pos| before(h, pos));
            h.close();
            assert_paired(&b.events);
            b
        };
    let bounce = |extra: &[(&str, serde_json::Value)], before: &mut dyn FnMut(&mut Host, u64)| {
        bounce_with(model_dir(), extra, before)
    };

    let on = bounce(&[], &mut |_, _| {});
    let (windows, min, mean, tail_ms) = assert_preview_sounds("lead", &on, false);
    eprintln!(
        "lead: {} notes, {windows} windows with a note: RMS min {min:.4} mean {mean:.4}; exact silence {tail_ms:.0} ms after the stop",
        on.events.iter().filter(|e| e.note.on).count()
    );
    assert!(tail_ms < 150.0, "the stop's fade takes {tail_ms:.0} ms");

    // The synthetic model knows only the lead: the built-in Markov model (every role, no ONNX
    // Runtime needed) plays the bass and the drums.
    let markov = std::path::Path::new("builtin:markov");
    for (role, index) in [("bass", 1), ("drums", 3)] {
        let b = bounce_with(markov, &[("role", json!({"i32": index}))], &mut |_, _| {});
        let (windows, min, mean, tail_ms) = assert_preview_sounds(role, &b, role == "drums");
        let mut keys: Vec<u8> = b.events.iter().filter(|e| e.note.on).map(|e| e.note.key).collect();
        keys.sort();
        keys.dedup();
        eprintln!(
            "{role}: {} notes (keys {keys:?}), {windows} windows: RMS min {min:.4} mean {mean:.4}; silent {tail_ms:.0} ms after the stop",
            b.events.iter().filter(|e| e.note.on).count()
        );
    }

    let off = bounce(&[("preview", json!({"bool": false}))], &mut |_, _| {});
    assert!(
        off.left.iter().chain(&off.right).all(|&x| x == 0.0),
        "sound with the preview off"
    );
    assert_eq!(off.events, on.events, "the preview changed the MIDI");

    // Switched off at bar 4 while playing: silent from that block on, same MIDI.
    let switch_at = (16.0 * spb) as u64;
    let mut id = None;
    let clicked = bounce(&[], &mut |h, pos| {
        let preview = *id.get_or_insert_with(|| h.params()["Preview sound"].0);
        if pos == switch_at {
            h.set_param(preview, 0.0);
        }
    });
    let at = switch_at as usize;
    assert_eq!(clicked.left[..at], on.left[..at], "the same sound before the click");
    assert!(audio_rms(&clicked, at - 4 * 512..at) > 1e-3);
    assert!(
        clicked.left[at..].iter().chain(&clicked.right[at..]).all(|&x| x == 0.0),
        "sound after the preview was switched off"
    );
    assert_eq!(clicked.events, on.events, "switching the preview changed the MIDI");
}
