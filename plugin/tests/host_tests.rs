//! Headless host tests: Sideman driven through CLAP by the clack-host test host in `host/`.
//!
//! Every test runs the plugin with `assert_process_allocs` (a default feature of the plugin
//! crate, active in debug builds): an allocation inside `process()` aborts the test binary, so
//! all of the tests below also prove requirement 4 (no allocation on the audio thread).

mod host;

use std::collections::HashMap;
use std::sync::OnceLock;

use clap_sys::ext::note_ports::CLAP_NOTE_DIALECT_MIDI;
use host::{
    DIALECTS_CLAP_AND_MIDI, Host, OutNote, Transport, chord_off, chord_on, entry_from_file, entry_in_process,
    plugin_file, progression, state_with, synthetic_model,
};
use models::Chord;
use serde_json::json;

fn model_dir() -> &'static std::path::Path {
    static DIR: OnceLock<std::path::PathBuf> = OnceLock::new();
    DIR.get_or_init(|| synthetic_model("shared"))
}

/// A played note event, at an absolute sample.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Abs {
    sample: u64,
    note: OutNote,
}

/// Plays `beats` beats from beat 0 at constant tempo in blocks of `block`, feeding `input`
/// (absolute sample, on, key, velocity), then one stopped block. Returns every output event.
fn play(h: &mut Host, tempo: f64, beats: f64, block: u32, input: &[(u64, bool, u8, f64)]) -> Vec<Abs> {
    let spb = h.sample_rate * 60.0 / tempo;
    let total = (beats * spb).round() as u64;
    let mut out = Vec::new();
    let mut pos = 0u64;
    while pos < total {
        let len = (block as u64).min(total - pos) as u32;
        let t = Transport::at(pos as f64 / spb, tempo);
        let ins: Vec<_> = input
            .iter()
            .filter(|e| e.0 >= pos && e.0 < pos + len as u64)
            .map(|e| ((e.0 - pos) as u32, e.1, e.2, e.3))
            .collect();
        for n in h.process(len, &t, &ins) {
            out.push(Abs {
                sample: pos + n.time as u64,
                note: n,
            });
        }
        pos += len as u64;
    }
    let mut stop = Transport::at(pos as f64 / spb, tempo);
    stop.playing = false;
    for n in h.process(block.min(64), &stop, &[]) {
        out.push(Abs {
            sample: pos + n.time as u64,
            note: n,
        });
    }
    out
}

/// Asserts NoteOn/NoteOff pairing per (channel, key), and that nothing sounds at the end.
fn assert_paired(events: &[Abs]) {
    let mut sounding: HashMap<(u8, u8), u64> = HashMap::new();
    for e in events {
        let k = (e.note.channel, e.note.key);
        if e.note.on {
            assert!(
                sounding.insert(k, e.sample).is_none(),
                "NoteOn of a sounding key {k:?} at {}",
                e.sample
            );
        } else {
            assert!(
                sounding.remove(&k).is_some(),
                "NoteOff without NoteOn {k:?} at {}",
                e.sample
            );
        }
    }
    assert!(sounding.is_empty(), "still sounding: {sounding:?}");
}

fn lead_state(seed: i64) -> Vec<u8> {
    state_with(
        model_dir(),
        &[("seed", json!({"i32": seed})), ("temp", json!({"f32": 0.8}))],
    )
}

/// Input events at absolute samples: (sample, on, key, velocity).
type AbsInput = Vec<(u64, bool, u8, f64)>;

/// Input: the progression in C, one chord per bar from bar 0, as absolute samples.
fn progression_input(spb: f64, bars: usize, key_shift: impl Fn(usize) -> i32) -> (AbsInput, Vec<(f64, Chord)>) {
    let mut ev = Vec::new();
    let mut chords = Vec::new();
    for bar in 0..bars {
        let c = progression()[bar % 4].transposed(key_shift(bar));
        let at = (bar as f64 * 4.0 * spb).round() as u64;
        if bar > 0 {
            let prev = progression()[(bar - 1) % 4].transposed(key_shift(bar - 1));
            ev.extend(chord_off(0, prev).into_iter().map(|e| (at, e.1, e.2, e.3)));
        }
        ev.extend(chord_on(0, c).into_iter().map(|e| (at, e.1, e.2, e.3)));
        chords.push((bar as f64 * 4.0, c));
    }
    (ev, chords)
}

#[test]
#[allow(clippy::assertions_on_constants)]
fn process_allocation_guard_is_on() {
    assert!(
        cfg!(debug_assertions) && cfg!(feature = "assert_process_allocs"),
        "run the host tests in a debug build with the default features"
    );
}

/// Requirement 1: Timing: every generated NoteOn and NoteOff lands on the exact sample of its tick.
#[test]
fn notes_land_on_the_exact_sample_of_the_beat_grid() {
    let entry = entry_in_process();
    for sr in [44_100.0, 48_000.0, 96_000.0] {
        for tempo in [120.0, 173.0] {
            for block in [1u32, 63, 64, 512, 4096] {
                let beats = if block <= 64 { 3.0 } else { 12.0 };
                let mut h = Host::new(&entry, sr, block.max(64), true, Some(&lead_state(3)));
                let spb = sr * 60.0 / tempo;
                let (input, _) = progression_input(spb, 4, |_| 0);
                let ev = play(&mut h, tempo, beats, block, &input);
                h.close();
                let ons: Vec<_> = ev.iter().filter(|e| e.note.on).collect();
                assert!(
                    ons.len() >= 2,
                    "{sr} Hz {tempo} BPM block {block}: only {} notes",
                    ons.len()
                );
                let end = (beats * spb).round() as u64;
                for e in ev.iter().filter(|e| e.sample < end) {
                    let tick = (e.sample as f64 / spb * 12.0).round();
                    let exact = (tick / 12.0 * spb).round() as u64;
                    assert_eq!(
                        e.sample, exact,
                        "{sr} Hz {tempo} BPM block {block}: {e:?} is off the tick grid"
                    );
                }
                assert_paired(&ev);
            }
        }
    }
}

/// The same, loading the built plugin binary from disk (the `.clap` bundle or the cdylib).
#[test]
fn plugin_file_loads_and_plays_in_time() {
    let Some(path) = plugin_file() else {
        eprintln!("skipped: no built plugin binary found (build the cdylib or run `cargo xtask bundle sideman`)");
        return;
    };
    let entry = entry_from_file(&path);
    let mut h = Host::new(&entry, 48_000.0, 512, true, Some(&lead_state(5)));
    let spb = 48_000.0 * 60.0 / 120.0;
    let (input, _) = progression_input(spb, 4, |_| 0);
    let ev = play(&mut h, 120.0, 16.0, 512, &input);
    h.close();
    assert!(ev.iter().filter(|e| e.note.on).count() >= 8, "{path:?}");
    for e in &ev {
        assert_eq!(
            e.sample % 2000,
            0,
            "48 kHz at 120 BPM puts ticks every 2000 samples: {e:?}"
        );
    }
    assert_paired(&ev);
}

/// Issue 13: Carla takes no CLAP note events (it keeps only MIDI and parameter output events)
/// and has no `clap.note-ports` host extension; a host may also say it takes MIDI only. Both get
/// the notes as MIDI (0x9n / 0x8n), paired, on the samples and with the velocities (to MIDI's
/// resolution) a host taking CLAP note events gets; that host still gets CLAP note events.
#[test]
fn r13_hosts_without_clap_note_events_get_midi_notes() {
    let entry = entry_in_process();
    let spb = 48_000.0 * 60.0 / 120.0;
    let (input, _) = progression_input(spb, 4, |_| 0);
    let render = |dialects| {
        let mut h = Host::with_note_dialects(&entry, 48_000.0, 512, true, Some(&lead_state(5)), dialects);
        let ev = play(&mut h, 120.0, 16.0, 512, &input);
        h.close();
        ev
    };
    let clap = render(Some(DIALECTS_CLAP_AND_MIDI));
    assert!(clap.iter().filter(|e| e.note.on).count() >= 8, "{clap:?}");
    assert!(
        clap.iter().all(|e| e.note.midi_status.is_none()),
        "a host taking CLAP note events gets CLAP note events"
    );
    for (label, dialects) in [
        ("no note-ports extension (Carla)", None),
        ("MIDI only", Some(CLAP_NOTE_DIALECT_MIDI)),
    ] {
        let midi = render(dialects);
        assert_paired(&midi);
        for e in &midi {
            let status = if e.note.on { 0x90 } else { 0x80 } | e.note.channel;
            assert_eq!(e.note.midi_status, Some(status), "{label}: {e:?}");
        }
        let key = |e: &Abs| (e.sample, e.note.on, e.note.channel, e.note.key);
        assert_eq!(
            midi.iter().map(key).collect::<Vec<_>>(),
            clap.iter().map(key).collect::<Vec<_>>(),
            "{label}: the same notes on the same samples"
        );
        for (m, c) in midi.iter().zip(&clap).filter(|(m, _)| m.note.on) {
            assert!(
                (m.note.velocity - c.note.velocity).abs() <= 0.5 / 127.0 + 1e-6,
                "{label}: velocity {} as MIDI, {} as a CLAP note",
                m.note.velocity,
                c.note.velocity
            );
        }
    }
}

/// Issue 13: the CLAP descriptor names the project, not a placeholder.
#[test]
fn r13_clap_descriptor_names_the_project() {
    let entry = entry_in_process();
    let factory = entry.get_plugin_factory().expect("plugin factory");
    let d = factory
        .plugin_descriptors()
        .find(|d| d.id().is_some_and(|i| i.to_bytes() == b"org.sideman.sideman"))
        .expect("Sideman descriptor");
    assert_eq!(d.url().and_then(|u| u.to_str().ok()), Some(sideman::PROJECT_URL));
}

/// Random transport, pairs checked; `blocks` blocks, offline (the plugin waits for its worker)
/// or in real time paced at `speed` times real time (it never waits; late notes are dropped or
/// played late). Besides transport events: role, channel, bypass, Mode and Lock changes, chords
/// and single notes in, and deactivation/reactivation (whose note-offs come in the first block
/// after it). Most blocks play (stops and bypasses are short); returns how many did.
fn fuzz(blocks: usize, seed: u64, offline: bool, speed: f64) -> usize {
    let start = std::time::Instant::now();
    let mut audio_seconds = 0.0;
    let entry = entry_in_process();
    let mut rng = models::sampling::Rng::new(seed);
    let sr = 48_000.0;
    let mut h = Host::new(&entry, sr, 4096, offline, Some(&lead_state(9)));
    let params = h.params();
    let (role_id, _, role_max) = params["Role"];
    let (bypass_id, ..) = params["Bypass"];
    let (chan_id, ..) = params["MIDI channel"];
    let (mode_id, _, mode_max) = params["Mode"];
    let (lock_id, ..) = params["Lock loop"];
    let mut played_blocks = 0;
    let mut reactivations = 0;
    let mut tr = Transport::at(0.0, 120.0);
    let mut bypassed = false;
    let mut sounding: HashMap<(u8, u8), u64> = HashMap::new();
    let mut total_on = 0u64;
    let sizes = [1u32, 63, 64, 512, 4096];
    let mut stopped_blocks = 0;
    for i in 0..blocks {
        let r = rng.next_f64();
        let len = if rng.next_f64() < 0.8 {
            sizes[(rng.next_f64() * 5.0) as usize % 5]
        } else {
            1 + (rng.next_f64() * 4095.0) as u32
        };
        // Transport events: a stop lasts a few blocks, as do bypasses.
        if (tr.playing && r < 0.004) || (!tr.playing && r < 0.25) {
            tr.playing = !tr.playing;
        } else if bypassed && r < 0.3 {
            bypassed = false;
            h.set_param(bypass_id, 0.0);
        } else if (0.01..0.02).contains(&r) {
            tr.beat = (rng.next_f64() * 64.0 * 12.0).round() / 12.0; // seek
        } else if r < 0.025 {
            tr.tempo = 60.0 + rng.next_f64() * 140.0;
        } else if r < 0.03 {
            let (n, d) = [(4, 4), (3, 4), (6, 8), (5, 4), (7, 8)][(rng.next_f64() * 5.0) as usize % 5];
            tr.numerator = n;
            tr.denominator = d;
        } else if r < 0.035 {
            let s = (rng.next_f64() * 8.0).floor() * 4.0;
            tr.loop_range = Some((s, s + 4.0 * (1.0 + (rng.next_f64() * 3.0).floor())));
        } else if r < 0.04 {
            tr.loop_range = None;
        } else if r < 0.043 {
            // Role changes (lead <-> others) must release what sounds.
            h.set_param(role_id, (rng.next_f64() * (role_max + 1.0)).floor().min(role_max));
        } else if r < 0.0445 {
            bypassed = true;
            h.set_param(bypass_id, 1.0);
        } else if r < 0.048 {
            h.set_param(chan_id, 1.0 + (rng.next_f64() * 16.0).floor().min(15.0));
        } else if r < 0.051 {
            h.set_param(mode_id, (rng.next_f64() * (mode_max + 1.0)).floor().min(mode_max));
        } else if r < 0.053 {
            h.set_param(lock_id, if rng.next_f64() < 0.5 { 1.0 } else { 0.0 });
        } else if r < 0.0535 {
            // The host disables and enables the track: what sounded ends in the next block.
            h.deactivate();
            h.reactivate();
            reactivations += 1;
        }
        let bar_beats = tr.numerator as f64 * 4.0 / tr.denominator as f64;
        tr.bar_start = (tr.beat / bar_beats).floor() * bar_beats;
        let spb = sr * 60.0 / tr.tempo;
        let mut input = Vec::new();
        if rng.next_f64() < 0.02 {
            let c = progression()[(rng.next_f64() * 4.0) as usize % 4].transposed((rng.next_f64() * 12.0) as i32);
            input.extend(chord_on(0, c));
            input.extend(chord_off(len - 1, c));
        } else if rng.next_f64() < 0.03 {
            // A melody note (a phrase for call and response and continue).
            let k = 60 + (rng.next_f64() * 24.0) as u8;
            input.push((0, true, k, 0.8));
            input.push((len - 1, false, k, 0.0));
        }
        let out = h.process(len, &tr, &input);
        let (l, r) = h.audio();
        assert!(
            l.iter().chain(r).all(|x| x.is_finite() && x.abs() <= 1.0),
            "block {i}: the preview sound left [-1, 1]"
        );
        for n in &out {
            let k = (n.channel, n.key);
            if n.on {
                total_on += 1;
                assert!(
                    sounding.insert(k, i as u64).is_none(),
                    "block {i}: NoteOn of sounding {k:?}"
                );
            } else {
                assert!(sounding.remove(&k).is_some(), "block {i}: NoteOff without NoteOn {k:?}");
            }
        }
        if tr.playing && !bypassed {
            played_blocks += 1;
        }
        if !tr.playing || bypassed {
            stopped_blocks += 1;
            assert!(
                sounding.is_empty(),
                "block {i}: notes held across a stop or bypass: {sounding:?}"
            );
        }
        audio_seconds += len as f64 / sr;
        if speed.is_finite() {
            let due = std::time::Duration::from_secs_f64(audio_seconds / speed);
            while start.elapsed() < due {
                std::thread::sleep(std::time::Duration::from_micros(200));
            }
        }
        // Advance the timeline (and wrap the loop the way a host does).
        if tr.playing {
            let mut next = tr.beat + len as f64 / spb;
            if let Some((ls, le)) = tr.loop_range
                && tr.beat < le
                && next >= le
            {
                next = ls + (next - le);
            }
            tr.beat = next;
        }
    }
    tr.playing = false;
    for n in h.process(64, &tr, &[]) {
        assert!(!n.on);
        sounding.remove(&(n.channel, n.key));
    }
    assert!(sounding.is_empty(), "left sounding after the final stop: {sounding:?}");
    h.close();
    eprintln!(
        "fuzz: {blocks} blocks (offline: {offline}), {played_blocks} playing, {stopped_blocks} stopped or bypassed, {total_on} notes, {reactivations} deactivations"
    );
    assert!(total_on > 0);
    played_blocks
}

/// Requirement 2: Transport fuzz, 10^5 blocks.
#[test]
fn transport_fuzz_keeps_every_note_paired() {
    let played = fuzz(100_000, 1, true, f64::INFINITY);
    assert!(played >= 80_000, "{played} of 100000 blocks played");
    fuzz(4_000, 3, false, 20.0);
}

/// Requirement 2: Transport fuzz, 10^6 blocks (long: `cargo test -- --ignored`).
#[test]
#[ignore]
fn transport_fuzz_long() {
    let played = fuzz(1_100_000, 2, true, f64::INFINITY);
    assert!(played >= 1_000_000, "{played} blocks played");
    fuzz(100_000, 4, false, 20.0);
}

/// Requirement 3: Conditioning: after a key change in the input, notes from the next beat on follow the
/// new chords.
#[test]
fn regenerated_notes_follow_the_input_from_the_next_beat() {
    let entry = entry_in_process();
    let sr = 48_000.0;
    let tempo = 120.0;
    let spb = sr * 60.0 / tempo;
    let mut h = Host::new(&entry, sr, 512, true, Some(&lead_state(11)));
    // Bars 0-7 in C, bars 8-15 in F# (as far from C as it gets).
    let (input, chords) = progression_input(spb, 16, |bar| if bar < 8 { 0 } else { 6 });
    let ev = play(&mut h, tempo, 64.0, 512, &input);
    h.close();
    assert_paired(&ev);
    let notes: Vec<(f64, u8)> = ev
        .iter()
        .filter(|e| e.note.on)
        .map(|e| (e.sample as f64 / spb, e.note.key))
        .collect();
    let mut fit = 0;
    let mut all = 0;
    let mut responses = Vec::new();
    for (i, &(at, c)) in chords.iter().enumerate() {
        let until = chords.get(i + 1).map_or(64.0, |x| x.0);
        // The design promise: from the first beat boundary after the change.
        let from = at + 1.0;
        for &(b, k) in notes.iter().filter(|n| n.0 >= from - 1e-9 && n.0 < until - 1e-9) {
            all += 1;
            if c.contains_pitch(k) {
                fit += 1;
            } else {
                eprintln!("bar {i}: {k} at beat {b:.3} is not in {c}");
            }
        }
        if let Some(&(b, _)) = notes
            .iter()
            .find(|n| n.0 >= at - 1e-9 && c.contains_pitch(n.1) && n.0 < until)
        {
            responses.push(b - at);
        }
    }
    eprintln!("conditioning: {fit}/{all} notes are chord tones; response (beats) {responses:?}");
    assert!(all >= 32, "too few notes: {all}");
    assert!(fit * 100 >= all * 90, "{fit}/{all} notes follow the chords");
    // The key change at bar 8 is followed too.
    let after: Vec<_> = notes.iter().filter(|n| n.0 >= 33.0 && n.0 < 36.0).collect();
    assert!(
        !after.is_empty() && after.iter().all(|n| chords[8].1.contains_pitch(n.1)),
        "{after:?}"
    );
}

/// Requirement 5: State round trip: save, reload in a new instance, same seed and input -> identical output.
#[test]
fn saved_state_reloads_and_bounces_identically() {
    let entry = entry_in_process();
    let sr = 44_100.0;
    let tempo = 120.0;
    let spb = sr * 60.0 / tempo;
    let (input, _) = progression_input(spb, 8, |b| (b as i32 / 4) * 2);
    let mut a = Host::new(&entry, sr, 512, true, Some(&lead_state(42)));
    let first = play(&mut a, tempo, 32.0, 512, &input);
    let saved = a.save_state();
    a.close();
    let mut b = Host::new(&entry, sr, 512, true, Some(&saved));
    let second = play(&mut b, tempo, 32.0, 512, &input);
    b.close();
    assert!(first.iter().filter(|e| e.note.on).count() >= 16);
    assert_eq!(first, second, "a reloaded project must play the same notes");
    let mut c = Host::new(&entry, sr, 512, true, Some(&lead_state(43)));
    let other = play(&mut c, tempo, 32.0, 512, &input);
    c.close();
    assert_ne!(first, other, "another seed should play something else");
}

/// Requirement 4: a missing or corrupt model never takes the host down: the plugin falls back to
/// the built-in default for the role and keeps playing (its status says why; see the engine's
/// unit tests for the wording).
#[test]
fn bad_model_paths_and_files_fall_back_to_the_default() {
    let entry = entry_in_process();
    let dir = std::env::temp_dir().join(format!("sideman-bad-model-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // A package whose model file is garbage but whose checksum matches it.
    let garbage = dir.join("garbage");
    copy_dir(model_dir(), &garbage);
    std::fs::write(garbage.join("markov.bin"), b"SMMARKOV not really a model").unwrap();
    let manifest = std::fs::read_to_string(garbage.join("manifest.json")).unwrap();
    let mut m: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    m["files"]["markov.bin"] = json!(models::package::sha256_hex(b"SMMARKOV not really a model"));
    std::fs::write(garbage.join("manifest.json"), serde_json::to_string(&m).unwrap()).unwrap();
    // A package whose model file was damaged after packaging.
    let damaged = dir.join("damaged");
    copy_dir(model_dir(), &damaged);
    let mut bytes = std::fs::read(damaged.join("markov.bin")).unwrap();
    let n = bytes.len();
    bytes[n / 2] ^= 0x55;
    std::fs::write(damaged.join("markov.bin"), bytes).unwrap();
    // Not a package at all.
    let junk = dir.join("junk");
    std::fs::create_dir_all(&junk).unwrap();
    std::fs::write(junk.join("manifest.json"), b"{ nope").unwrap();
    for path in [dir.join("does-not-exist"), garbage, damaged, junk] {
        let state = state_with(&path, &[]);
        let mut h = Host::new(&entry, 48_000.0, 512, true, Some(&state));
        let (input, _) = progression_input(24_000.0, 2, |_| 0);
        let ev = play(&mut h, 120.0, 8.0, 512, &input);
        h.close();
        assert!(!ev.is_empty(), "{path:?}: the default should have played");
        assert_paired(&ev);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

/// A default state saves and loads back.
#[test]
fn default_state_saves_and_loads() {
    let entry = entry_in_process();
    let mut a = Host::new(&entry, 48_000.0, 64, false, None);
    let s = a.save_state();
    eprintln!("state: {}", String::from_utf8_lossy(&s[8..]));
    a.close();
    let b = Host::new(&entry, 48_000.0, 64, false, Some(&s));
    b.close();
}

/// Finds `ardour7-lua`, installing Debian's Ardour 7 with apt when it is missing. `Err` says why
/// the test cannot run here (no apt, not root).
fn ardour_lua() -> Result<std::path::PathBuf, String> {
    let found = || {
        ["/usr/bin/ardour7-lua", "/usr/local/bin/ardour7-lua"]
            .into_iter()
            .map(std::path::PathBuf::from)
            .find(|p| p.is_file())
    };
    if let Some(p) = found() {
        return Ok(p);
    }
    let apt = std::path::Path::new("/usr/bin/apt-get");
    if !apt.is_file() {
        return Err("ardour7-lua is missing and apt-get is not available to install it".into());
    }
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0"))
        .unwrap_or(false);
    if !root {
        return Err("ardour7-lua is missing and installing it with apt-get needs root".into());
    }
    eprintln!("installing Ardour 7 (apt-get install --no-install-recommends ardour)...");
    let run = |args: &[&str]| {
        std::process::Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    if !run(&["install", "-y", "--no-install-recommends", "ardour"]) {
        assert!(run(&["update"]), "apt-get update failed");
        assert!(
            run(&["install", "-y", "--no-install-recommends", "ardour"]),
            "apt-get install ardour failed"
        );
    }
    found().ok_or_else(|| "ardour installed but ardour7-lua not found".into())
}

/// A real DAW, headless: Ardour 7 (Dummy backend) runs Sideman's VST3 as the instrument of a
/// MIDI track; a Lua DSP processor after it records the MIDI, which must be on the tick grid and
/// paired. Uses the debug cdylib (with `assert_process_allocs`) wrapped as a VST3 bundle.
#[test]
fn ardour_plays_the_vst3_headless() {
    let lua = match ardour_lua() {
        Ok(p) => p,
        Err(why) => {
            eprintln!("SKIPPED ardour_plays_the_vst3_headless: {why}");
            return;
        }
    };
    let Some(lib) = plugin_file().filter(|p| p.extension().is_some_and(|e| e == "so")) else {
        eprintln!("SKIPPED ardour_plays_the_vst3_headless: the plugin cdylib (libsideman.so) was not built");
        return;
    };
    let work = std::env::temp_dir().join(format!("sideman-ardour-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let home = work.join("home");
    let bundle = home.join(".vst3/Sideman.vst3");
    let arch = format!("{}-linux", std::env::consts::ARCH);
    std::fs::create_dir_all(bundle.join("Contents").join(&arch)).unwrap();
    let so = bundle.join("Contents").join(&arch).join("Sideman.so");
    std::fs::copy(&lib, &so).unwrap();
    // Ardour trusts a scan cache only if it is newer than the module, at one-second resolution:
    // date the module back so a scan in the same second counts.
    let past = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(&so)
        .unwrap()
        .set_modified(past)
        .unwrap();
    let scripts = home.join(".config/ardour7/scripts");
    std::fs::create_dir_all(&scripts).unwrap();
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ardour");
    std::fs::copy(here.join("sideman_capture.lua"), scripts.join("sideman_capture.lua")).unwrap();
    let ardour_lib = std::path::Path::new("/usr/lib/ardour7");
    let scan = std::process::Command::new(ardour_lib.join("ardour-vst3-scanner"))
        .arg("-f")
        .arg(&bundle)
        .env("HOME", &home)
        .env("LD_LIBRARY_PATH", ardour_lib)
        .output()
        .expect("run ardour-vst3-scanner");
    assert!(
        scan.status.success(),
        "VST3 scan failed: {}",
        String::from_utf8_lossy(&scan.stderr)
    );
    let out = std::process::Command::new("timeout")
        .arg("180")
        .arg(&lua)
        .arg(here.join("capture.lua"))
        .env("HOME", &home)
        .env("SIDEMAN_MODEL", model_dir())
        .env("SIDEMAN_ARDOUR_SESSION", work.join("session"))
        .env("SIDEMAN_ARDOUR_SECONDS", "8")
        .output()
        .expect("run ardour7-lua");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains("Error:"),
        "Lua error: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events: Vec<(u64, u8, u8, u8)> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("EVENT "))
        .map(|l| {
            let v: Vec<u64> = l.split_whitespace().filter_map(|x| x.parse().ok()).collect();
            (v[0], v[1] as u8, v[2] as u8, v[3] as u8)
        })
        .collect();
    let spb = 48_000.0 * 60.0 / 120.0; // Ardour's default session tempo
    let mut sounding: HashMap<(u8, u8), u64> = HashMap::new();
    let mut ons = 0;
    for &(sample, status, key, vel) in &events {
        let chan = status & 0x0f;
        match status & 0xf0 {
            0x90 if vel > 0 => {
                ons += 1;
                // In real time the worker starts its session when play starts, so notes due in
                // the first beat may come late (at a block start); after that they are on time.
                if sample as f64 >= spb {
                    let tick = (sample as f64 / spb * 12.0).round();
                    assert_eq!(
                        sample,
                        (tick / 12.0 * spb).round() as u64,
                        "NoteOn off the grid: {sample}"
                    );
                }
                assert!(
                    sounding.insert((chan, key), sample).is_none(),
                    "NoteOn of a sounding key at {sample}"
                );
            }
            // Ardour also resolves notes itself at a stop, so a second NoteOff may follow ours.
            0x80 | 0x90 => {
                sounding.remove(&(chan, key));
            }
            _ => {}
        }
    }
    eprintln!("ardour: {} events, {ons} NoteOns", events.len());
    assert!(ons >= 2, "too few notes from Ardour: {stdout}");
    assert!(sounding.is_empty(), "left sounding in Ardour: {sounding:?}");
    let _ = std::fs::remove_dir_all(&work);
}

/// Model swap and seed change while playing (state loaded mid-stream): the plugin keeps playing
/// and every note stays paired.
#[test]
fn swapping_the_model_while_playing_keeps_notes_paired() {
    let entry = entry_in_process();
    let other = synthetic_model("swap");
    let sr = 48_000.0;
    let spb = sr * 60.0 / 120.0;
    let mut h = Host::new(&entry, sr, 512, true, Some(&lead_state(21)));
    let (input, _) = progression_input(spb, 12, |_| 0);
    let mut events = Vec::new();
    let mut pos = 0u64;
    let swap_at = [(8.0 * spb) as u64, (24.0 * spb) as u64];
    while pos < (48.0 * spb) as u64 {
        if swap_at.iter().any(|&s| s >= pos && s < pos + 512) {
            let seed = if pos < swap_at[1] { 22 } else { 23 };
            let path = if pos < swap_at[1] {
                other.clone()
            } else {
                model_dir().to_path_buf()
            };
            h.load_state(&state_with(&path, &[("seed", json!({"i32": seed}))]));
        }
        let t = Transport::at(pos as f64 / spb, 120.0);
        let ins: Vec<_> = input
            .iter()
            .filter(|e| e.0 >= pos && e.0 < pos + 512)
            .map(|e| ((e.0 - pos) as u32, e.1, e.2, e.3))
            .collect();
        for n in h.process(512, &t, &ins) {
            events.push(Abs {
                sample: pos + n.time as u64,
                note: n,
            });
        }
        pos += 512;
    }
    let mut stop = Transport::at(pos as f64 / spb, 120.0);
    stop.playing = false;
    for n in h.process(512, &stop, &[]) {
        events.push(Abs {
            sample: pos + n.time as u64,
            note: n,
        });
    }
    h.close();
    let after_swap = events
        .iter()
        .filter(|e| e.note.on && e.sample > swap_at[0] + 2 * spb as u64)
        .count();
    assert!(after_swap >= 16, "too few notes after the swaps: {after_swap}");
    assert_paired(&events);
    let _ = std::fs::remove_dir_all(&other);
}

/// The bundle `cargo xtask bundle sideman` writes, with ONNX Runtime beside it. `None` when it
/// has not been built (then `SIDEMAN_REQUIRE_BUNDLE`, set by scripts/test.sh, makes it an error).
fn bundle() -> Option<std::path::PathBuf> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent()?.to_path_buf();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let clap = target.join("bundled").join("Sideman.clap");
    if clap.is_file() {
        return Some(clap);
    }
    assert!(
        std::env::var_os("SIDEMAN_REQUIRE_BUNDLE").is_none(),
        "{} is missing: run `cargo xtask bundle sideman`",
        clap.display()
    );
    None
}

/// Chord-tone ratio of notes starting on beats 1 and 3 of each bar: (ratio, notes counted).
fn strong_beat_chord_tones(notes: &[(f64, u8)], chord_at: impl Fn(f64) -> Chord) -> (f64, usize) {
    let strong: Vec<_> = notes
        .iter()
        .filter(|(b, _)| {
            let r = b.rem_euclid(4.0);
            r.min(4.0 - r) < 1e-3 || (r - 2.0).abs() < 1e-3
        })
        .collect();
    let fit = strong
        .iter()
        .filter(|(b, k)| chord_at(b.round()).contains_pitch(*k))
        .count();
    (fit as f64 / strong.len().max(1) as f64, strong.len())
}

/// Issue D, acceptance 1: the bundled `.clap` with its built-in default lead model and the
/// ONNX Runtime `cargo xtask ort` installed beside it plays 32 bars of a ii-V-I at 140 BPM: in
/// time, non-empty, every NoteOn paired, and the lead's chord-tone ratio on strong beats (1 and 3)
/// above a random-pitch generator's on the same onsets. Three seeds are pooled (a 32-bar solo has
/// only some 30 notes on strong beats) and the difference must be significant (z >= 2).
#[test]
fn bundled_default_model_plays_a_ii_v_i_in_time() {
    let Some(path) = bundle() else {
        eprintln!("skipped: no bundle (run `cargo xtask bundle sideman`)");
        return;
    };
    let lib = path.parent().unwrap().join(models::runtime::library_file_name());
    assert!(lib.is_file(), "{} is missing beside the bundle", lib.display());
    let entry = entry_from_file(&path);
    let (sr, tempo, bars) = (48_000.0, 140.0, 32usize);
    let spb = sr * 60.0 / tempo;
    let ii_v_i = [
        Chord::new(2, models::ChordQuality::Min7),
        Chord::new(7, models::ChordQuality::Dom7),
        Chord::new(0, models::ChordQuality::Maj7),
        Chord::new(0, models::ChordQuality::Maj7),
    ];
    let mut input = Vec::new();
    for bar in 0..bars {
        let at = (bar as f64 * 4.0 * spb).round() as u64;
        if bar > 0 {
            input.extend(
                chord_off(0, ii_v_i[(bar - 1) % 4])
                    .into_iter()
                    .map(|e| (at, e.1, e.2, e.3)),
            );
        }
        input.extend(chord_on(0, ii_v_i[bar % 4]).into_iter().map(|e| (at, e.1, e.2, e.3)));
    }
    let chord_at = |beat: f64| ii_v_i[((beat / 4.0).floor() as usize) % 4];
    let spt = spb / 12.0;
    let mut rng = models::sampling::Rng::new(7);
    let (mut fit, mut counted, mut random) = (0.0, 0usize, 0.0);
    for seed in 1..=3 {
        // The default model ("" = the built-in default for the role), this seed.
        let state = state_with(std::path::Path::new(""), &[("seed", json!({"i32": seed}))]);
        let mut h = Host::new(&entry, sr, 512, true, Some(&state));
        let t0 = std::time::Instant::now();
        let ev = play(&mut h, tempo, bars as f64 * 4.0, 512, &input);
        let wall = t0.elapsed().as_secs_f64();
        h.close();
        assert_paired(&ev);
        // In time: every event on a tick of the 1/12-beat grid (to the sample).
        for e in &ev {
            let ticks = e.sample as f64 / spt;
            assert!(
                (ticks.round() * spt - e.sample as f64).abs() <= 1.0,
                "event off the grid: {e:?}"
            );
        }
        let notes: Vec<(f64, u8)> = ev
            .iter()
            .filter(|e| e.note.on)
            .map(|e| (e.sample as f64 / spb, e.note.key))
            .collect();
        assert!(
            notes.len() >= bars * 2,
            "seed {seed}: only {} notes in {bars} bars",
            notes.len()
        );
        let (ratio, n) = strong_beat_chord_tones(&notes, chord_at);
        // A random-pitch generator on the same onsets, over five octaves from C2 (every pitch class
        // its share).
        let draws = 200;
        let mut r = 0.0;
        for _ in 0..draws {
            let shuffled: Vec<(f64, u8)> = notes.iter().map(|&(b, _)| (b, 36 + rng.below(61) as u8)).collect();
            r += strong_beat_chord_tones(&shuffled, chord_at).0;
        }
        r /= draws as f64;
        eprintln!(
            "seed {seed}: {} notes in {bars} bars ({wall:.1} s to render {:.1} s); strong-beat chord-tone \
             ratio {ratio:.3} over {n} notes, random pitches {r:.3}",
            notes.len(),
            bars as f64 * 4.0 * 60.0 / tempo
        );
        fit += ratio * n as f64;
        random += r * n as f64;
        counted += n;
    }
    let (model, random) = (fit / counted as f64, random / counted as f64);
    let z = (model - random) / (random * (1.0 - random) / counted as f64).sqrt();
    eprintln!("pooled: model {model:.3} vs random {random:.3} over {counted} strong-beat notes (z = {z:.1})");
    assert!(counted >= bars, "too few strong-beat notes: {counted}");
    assert!(
        z >= 2.0,
        "the lead does not follow the chords: {model:.3} vs random {random:.3} (z = {z:.1})"
    );
}

/// A package made with `trainer finetune` plays its new style in the plugin. Run with a package and
/// the style it was tuned on (ignored by default: it needs a fine-tuned package):
/// `SIDEMAN_TEST_PACKAGE=out/my-band SIDEMAN_TEST_STYLE="Rock / Mine" SIDEMAN_TEST_ROLE=drums
/// cargo test -p sideman --test host_tests fine_tuned_package -- --ignored --nocapture`
#[test]
#[ignore]
fn fine_tuned_package_plays_its_new_style() {
    let pkg = std::path::PathBuf::from(std::env::var("SIDEMAN_TEST_PACKAGE").expect("SIDEMAN_TEST_PACKAGE"));
    let style = std::env::var("SIDEMAN_TEST_STYLE").expect("SIDEMAN_TEST_STYLE");
    let role = std::env::var("SIDEMAN_TEST_ROLE").unwrap_or_else(|_| "drums".into());
    let p = models::package::Package::load(&pkg).expect("a package the plugin can load");
    let slot = p
        .manifest
        .vocab
        .style_slot(&style)
        .expect("the style is in the package's vocabulary");
    let role_index = models::Role::ALL
        .iter()
        .position(|r| r.name() == role)
        .expect("a role name") as i32;
    let (sr, tempo, bars) = (48_000.0, 120.0, 8usize);
    let spb = sr * 60.0 / tempo;
    let (input, _) = progression_input(spb, bars, |_| 0);
    let entry = entry_in_process();
    for (label, style_param) in [("no style", 0), (style.as_str(), slot as i64 + 1)] {
        let state = state_with(
            &pkg,
            &[
                ("role", json!({"i32": role_index})),
                ("style", json!({"i32": style_param})),
                ("seed", json!({"i32": 1})),
            ],
        );
        let mut h = Host::new(&entry, sr, 512, true, Some(&state));
        let ev = play(&mut h, tempo, bars as f64 * 4.0, 512, &input);
        h.close();
        assert_paired(&ev);
        let on: Vec<&Abs> = ev.iter().filter(|e| e.note.on).collect();
        assert!(on.len() >= bars * 2, "{label}: {} notes in {bars} bars", on.len());
        // Snares (GM 38/40) on beats 2 and 4, per bar with any.
        let beat_of = |e: &Abs| e.sample as f64 / spb;
        let snare_backbeat = (0..bars)
            .filter(|&b| {
                [1.0, 3.0].iter().all(|&k| {
                    on.iter().any(|e| {
                        matches!(e.note.key, 38 | 40) && (beat_of(e) - (b as f64 * 4.0 + k)).abs() < 1.0 / 12.0
                    })
                })
            })
            .count();
        println!(
            "{}: style {label:?}: {} notes in {bars} bars, {snare_backbeat} bars with a snare on 2 and 4",
            p.manifest.name,
            on.len()
        );
    }
}

/// Which bars of `notes` (beats, key) are fills, as the music report counts them: two or more
/// toms, or six or more snare hits while the hi-hat and ride play at most two.
fn fill_bars(notes: &[(f64, u8)], bars: usize) -> Vec<bool> {
    let mut kinds = vec![[0usize; 3]; bars];
    for &(beat, key) in notes {
        let bar = (beat / 4.0).floor() as usize;
        if bar < bars {
            kinds[bar][0] += matches!(key, 41 | 43 | 45 | 47 | 48 | 50 | 58) as usize;
            kinds[bar][1] += matches!(key, 37..=40) as usize;
            kinds[bar][2] += matches!(key, 22 | 26 | 42 | 44 | 46 | 51 | 59) as usize;
        }
    }
    kinds.iter().map(|k| k[0] >= 2 || (k[1] >= 6 && k[2] <= 2)).collect()
}

/// The drum role plays the human drums model (GMD) by default: with Feel 100 % its notes sit off
/// the grid the way drummers play, with Feel 0 % every onset is on a 16th or triplet, and Fills
/// "every 4 bars" puts fills in the last bar of each phrase. Notes paired, no allocation
/// in process() (debug build). Needs the bundle (ONNX Runtime beside it).
#[test]
fn bundled_drums_play_the_human_model_with_feel_and_fills() {
    let Some(path) = bundle() else {
        eprintln!("skipped: no bundle (run `cargo xtask bundle sideman`)");
        return;
    };
    let entry = entry_from_file(&path);
    let drums = models::Role::ALL
        .iter()
        .position(|r| r.is_drums())
        .expect("a drums role") as i32;
    let (sr, tempo, bars) = (48_000.0, 100.0, 16usize);
    let spb = sr * 60.0 / tempo;
    let run = |feel: f32, fills: i32, seed: i32| -> Vec<(f64, u8)> {
        let state = state_with(
            std::path::Path::new(""),
            &[
                ("role", json!({"i32": drums})),
                ("seed", json!({"i32": seed})),
                ("feel", json!({"f32": feel})),
                ("fills", json!({"i32": fills})),
            ],
        );
        let mut h = Host::new(&entry, sr, 512, true, Some(&state));
        let ev = play(&mut h, tempo, bars as f64 * 4.0, 512, &[]);
        h.close();
        assert_paired(&ev);
        ev.iter()
            .filter(|e| e.note.on)
            .map(|e| (e.sample as f64 / spb, e.note.key))
            .collect()
    };
    // Distance of an onset from the nearest 16th or eighth-note triplet, in ms.
    let off_grid_ms = |beat: f64| {
        let g = models::groove::grid_point(beat);
        (beat - g).abs() * 60_000.0 / tempo
    };
    let felt = run(100.0, 0, 1);
    assert!(felt.len() >= bars * 8, "{} drum hits in {bars} bars", felt.len());
    let mean_off = felt.iter().map(|n| off_grid_ms(n.0)).sum::<f64>() / felt.len() as f64;
    let quantized = run(0.0, 0, 1);
    let worst = quantized.iter().map(|n| off_grid_ms(n.0)).fold(0.0, f64::max);
    eprintln!(
        "feel 100 %: {} hits, mean {mean_off:.1} ms off the grid; feel 0 %: {} hits, at most {worst:.3} ms off",
        felt.len(),
        quantized.len()
    );
    assert!(
        mean_off > 3.0,
        "the default drums play like a machine: {mean_off:.1} ms"
    );
    // One sample at 48 kHz is 0.02 ms.
    assert!(worst < 0.05, "Feel 0 leaves a note {worst:.3} ms off the grid");
    let (mut phrase_end, mut others) = (0usize, 0usize);
    for seed in 1..=4 {
        let fills = fill_bars(&run(100.0, 1, seed), bars);
        eprintln!("fills every 4 bars, seed {seed}: fill bars {fills:?}");
        for (b, f) in fills.iter().enumerate() {
            if b % 4 == 3 {
                phrase_end += *f as usize;
            } else {
                others += *f as usize;
            }
        }
    }
    // 4 of the 16 bars end a phrase: they must be fills clearly more often than the others
    // (`trainer generate` with the same model: 0.56 against 0.27).
    let (end_rate, other_rate) = (phrase_end as f64 / 16.0, others as f64 / 48.0);
    eprintln!("fill bars: {end_rate:.2} of the phrase ends, {other_rate:.2} of the other bars");
    assert!(
        end_rate >= 0.4 && end_rate >= 1.5 * other_rate,
        "no fills at the phrase ends"
    );
}

#[path = "host_suite/preview.rs"]
mod preview;
