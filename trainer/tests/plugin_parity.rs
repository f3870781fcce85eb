//! `trainer generate` and the plugin give identical notes for the same model, seed, input and
//! tempo: they share the generation session, the input follower, the seed mapping and the role's
//! constraints (models::generate). The plugin runs in-process under the CLAP test host of
//! `plugin/tests/host`, rendering offline (the host waits for the generator, as in a bounce).

mod common;
#[path = "../../plugin/tests/host/mod.rs"]
mod host;

use host::{Host, Transport, chord_off, chord_on, entry_in_process, progression};
use models::{Note, Role};
use sideman_trainer::generate::{GenerateArgs, run};

const BARS: usize = 32;
const TEMPO: f64 = 140.0;
const SR: f64 = 48_000.0;
const BLOCK: u32 = 512;

/// The ii-V-I-vi the test plays, as a MIDI part: the bass root and the voicing of `chord_on`, one
/// chord per bar.
fn input_part() -> Vec<Note> {
    let mut notes = Vec::new();
    for bar in 0..BARS {
        let c = progression()[bar % 4];
        for (_, _, key, _) in chord_on(0, c) {
            notes.push(Note {
                start: bar as f64 * 4.0,
                duration: 4.0,
                pitch: key,
                velocity: 100,
            });
        }
    }
    notes
}

/// The notes the plugin plays over the same part: (start beat, length in beats, key, velocity),
/// with the model `state` names (the default lead without one).
fn plugin_notes(state: Option<&[u8]>) -> Vec<(f64, f64, u8, u8)> {
    let entry = entry_in_process();
    let mut h = Host::new(&entry, SR, BLOCK, true, state);
    let spb = SR * 60.0 / TEMPO;
    let total = (BARS as f64 * 4.0 * spb).round() as u64;
    let mut input = Vec::new();
    for bar in 0..BARS {
        let at = (bar as f64 * 4.0 * spb).round() as u64;
        if bar > 0 {
            input.extend(chord_off(0, progression()[(bar - 1) % 4]).into_iter().map(|e| (at, e)));
        }
        input.extend(chord_on(0, progression()[bar % 4]).into_iter().map(|e| (at, e)));
    }
    let mut on: std::collections::HashMap<u8, (u64, f64)> = Default::default();
    let mut out = Vec::new();
    let mut pos = 0u64;
    loop {
        let len = BLOCK;
        let mut t = Transport::at(pos as f64 / spb, TEMPO);
        t.playing = pos < total;
        let ins: Vec<_> = input
            .iter()
            .filter(|(at, _)| *at >= pos && *at < pos + len as u64)
            .map(|(at, e)| ((at - pos) as u32, e.1, e.2, e.3))
            .collect();
        for n in h.process(len, &t, &ins) {
            let sample = pos + n.time as u64;
            if n.on {
                on.insert(n.key, (sample, n.velocity));
            } else if let Some((s, v)) = on.remove(&n.key)
                && (s as f64) < total as f64
            {
                out.push((
                    s as f64 / spb,
                    (sample - s) as f64 / spb,
                    n.key,
                    (v * 127.0).round() as u8,
                ));
            }
        }
        if !t.playing {
            break;
        }
        pos += len as u64;
    }
    h.close();
    assert!(on.is_empty(), "notes left sounding: {on:?}");
    out.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.2.cmp(&b.2)));
    out
}

fn trainer_notes(dir: &std::path::Path, package: &str) -> Vec<(f64, f64, u8, u8)> {
    trainer_notes_as(dir, package, "auto")
}

/// [`trainer_notes`] with `--player`.
fn trainer_notes_as(dir: &std::path::Path, package: &str, player: &str) -> Vec<(f64, f64, u8, u8)> {
    let part = common::played_part(input_part(), TEMPO);
    let input = dir.join("input.mid");
    models::midi::write_file(&part, &input).unwrap();
    let out = dir.join("solo.mid");
    run(&GenerateArgs {
        input: Some(input),
        bars: BARS as u32,
        tempo: Some(TEMPO),
        seed: 1,
        harmony: models::sampling::DEFAULT_CHORD_TONES,
        force: true,
        player: player.to_string(),
        ..GenerateArgs::with_defaults(package, "lead", &out)
    })
    .unwrap();
    let piece = models::midi::read_file(&out).unwrap();
    let lead = piece.tracks.iter().find(|t| t.role == Role::Lead).expect("lead track");
    let mut notes: Vec<_> = lead
        .notes
        .iter()
        .map(|n| (n.start, n.duration, n.pitch, n.velocity))
        .collect();
    notes.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.2.cmp(&b.2)));
    notes
}

#[test]
fn trainer_generate_and_the_plugin_play_identical_notes() {
    assert!(
        models::runtime::is_available(),
        "ONNX Runtime is missing: run `cargo xtask ort` (scripts/test.sh does)"
    );
    let dir = std::env::temp_dir().join(format!("sideman-parity-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let offline = trainer_notes(&dir, &models::assets::default_for(Role::Lead));
    // The plugin at `trainer generate`'s seed (a new instance starts on a seed of its own).
    let state = host::state_with(std::path::Path::new(""), &[("seed", serde_json::json!({"i32": 1}))]);
    let plugin = plugin_notes(Some(&state));
    let _ = std::fs::remove_dir_all(&dir);
    same_notes(&offline, &plugin);
}

/// The same with a model that has a piece memory (`builtin:melody`'s lead), at the Memory knob's
/// default: the memory of what was played lives in the shared session, so both paths recall alike.
#[test]
fn the_piece_memory_plays_alike_in_trainer_generate_and_the_plugin() {
    assert!(
        models::runtime::is_available(),
        "ONNX Runtime is missing: run `cargo xtask ort` (scripts/test.sh does)"
    );
    let pkg = models::package::Package::open("builtin:melody").unwrap();
    assert!(
        !pkg.manifest.memory(Role::Lead).is_none(),
        "the melody lead has a memory"
    );
    let dir = std::env::temp_dir().join(format!("sideman-parity-memory-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let offline = trainer_notes(&dir, "builtin:melody");
    let state = host::state_with(
        std::path::Path::new("builtin:melody"),
        &[("seed", serde_json::json!({"i32": 1}))],
    );
    let plugin = plugin_notes(Some(&state));
    let _ = std::fs::remove_dir_all(&dir);
    same_notes(&offline, &plugin);
}

/// The same with a soloist's phrasing: the plugin's Player and `trainer generate --player` give
/// the default lead one soloist's silence calibration alike, and it changes what the lead plays.
#[test]
fn a_soloists_phrasing_plays_alike_in_trainer_generate_and_the_plugin() {
    assert!(
        models::runtime::is_available(),
        "ONNX Runtime is missing: run `cargo xtask ort` (scripts/test.sh does)"
    );
    let reference = models::assets::default_for(Role::Lead);
    let pkg = models::package::Package::open(&reference).unwrap();
    let soloists = pkg.manifest.phrasing_players(Role::Lead);
    // The soloist who rests most: the one whose phrasing changes the line most from Auto's.
    let (n, name) = soloists
        .iter()
        .enumerate()
        .min_by(|a, b| {
            let s = |p: &str| pkg.manifest.silence_of(Role::Lead, Some(p));
            s(a.1).total_cmp(&s(b.1))
        })
        .expect("the default lead knows its soloists' phrasing");
    assert!(pkg.manifest.silence_of(Role::Lead, Some(name)) < pkg.manifest.silence_of(Role::Lead, None));
    let dir = std::env::temp_dir().join(format!("sideman-parity-player-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let auto = trainer_notes(&dir, &reference);
    let offline = trainer_notes_as(&dir, &reference, name);
    let state = host::state_with(
        std::path::Path::new(""),
        &[
            ("seed", serde_json::json!({"i32": 1})),
            ("player", serde_json::json!({"i32": n as i32 + 1})),
        ],
    );
    let plugin = plugin_notes(Some(&state));
    let _ = std::fs::remove_dir_all(&dir);
    same_notes(&offline, &plugin);
    assert_ne!(offline, auto, "{name}'s phrasing plays the same notes as Auto");
}

/// Holds the two note lists to the sample, lengths included.
fn same_notes(offline: &[(f64, f64, u8, u8)], plugin: &[(f64, f64, u8, u8)]) {
    eprintln!("trainer {} notes, plugin {} notes", offline.len(), plugin.len());
    assert!(offline.len() >= BARS * 2, "too few notes: {}", offline.len());
    let end = BARS as f64 * 4.0;
    // Sample-accurate: 1.5 samples, in beats.
    let tol = 1.5 * TEMPO / 60.0 / SR;
    for (i, (a, b)) in offline.iter().zip(plugin).enumerate() {
        if (a.0 - b.0).abs() > tol || a.2 != b.2 || a.3 != b.3 {
            for j in i.saturating_sub(3)..(i + 4).min(offline.len()).min(plugin.len()) {
                eprintln!("{j}: trainer {:?} plugin {:?}", offline[j], plugin[j]);
            }
        }
        assert!(
            (a.0 - b.0).abs() <= tol && a.2 == b.2 && a.3 == b.3,
            "note {i} differs: trainer {a:?}, plugin {b:?}"
        );
        // Lengths too, but for what still sounds when the transport stops at the end (the
        // plugin releases it there). Two gaps once allowed here (a note longer in the file than
        // the plugin played, and lengths 1-2 ticks apart in 1-2 % of the notes) were one: a lead
        // note retriggered on its own key before it ended was written as two overlapping notes,
        // which a MIDI reader pairs first in, first out. `trainer generate` now ends a note at
        // its key's retrigger as the scheduler does (`models::music::end_at_retrigger`).
        if a.0 + a.1 < end - 1e-6 || b.0 + b.1 < end - 1e-6 {
            assert!((a.1 - b.1).abs() <= tol, "note {i} length: trainer {a:?}, plugin {b:?}");
        }
    }
    assert_eq!(offline.len(), plugin.len());
}
