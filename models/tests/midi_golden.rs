//! Golden MIDI files: small pieces made by the generators below, checked in under `tests/data/`
//! with the token streams the tokenizer writes for them.
//!
//! Regenerate after an intended change with `UPDATE_GOLDEN=1 cargo test -p sideman-models --test
//! midi_golden`, then review the diff of `tests/data/*.tokens.json`.

use std::path::{Path, PathBuf};

use models::chord::{Chord, ChordQuality};
use models::midi::{read_smf, write_smf};
use models::music::{ChordEvent, Meter, MeterChange, Note, Piece, Role, TempoChange, Track};
use models::tokenizer::sequences_from_piece;
use models::{Tokenizer, Vocab};
use serde::{Deserialize, Serialize};

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

fn updating() -> bool {
    std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1")
}

/// A note with its times on the 1/480-beat grid, written as `ticks / 480` (the exact values a
/// file read gives back).
fn note(start: f64, duration: f64, pitch: u8, velocity: u8) -> Note {
    let (on, off) = ((start * 480.0).round(), ((start + duration) * 480.0).round());
    Note {
        start: on / 480.0,
        duration: (off - on) / 480.0,
        pitch,
        velocity,
    }
}

fn track(name: &str, channel: u8, program: Option<u8>, role: Role, mut notes: Vec<Note>) -> Track {
    notes.sort_by(|a, b| a.start.total_cmp(&b.start).then(a.pitch.cmp(&b.pitch)));
    Track {
        name: name.into(),
        channel,
        program,
        role,
        notes,
    }
}

/// Four bars of ii-V-I in C, 4/4, with a lead, a walking bass, comping and drums.
fn ii_v_i() -> Piece {
    let chords = [
        (2, ChordQuality::Min7),
        (7, ChordQuality::Dom7),
        (0, ChordQuality::Maj7),
        (0, ChordQuality::Maj7),
    ];
    let voicings: [[u8; 4]; 4] = [[53, 57, 60, 64], [53, 57, 59, 64], [52, 55, 59, 62], [52, 55, 59, 62]];
    let walk: [[u8; 4]; 4] = [[38, 41, 45, 48], [43, 47, 50, 49], [48, 47, 45, 43], [36, 40, 43, 44]];
    let line: [&[(f64, f64, u8)]; 4] = [
        &[
            (0.0, 0.5, 62),
            (0.5, 0.5, 65),
            (1.0, 0.5, 69),
            (1.5, 0.5, 72),
            (2.0, 1.0, 71),
            (3.0, 2.0 / 3.0, 69),
        ],
        &[
            (0.0, 0.5, 67),
            (0.5, 0.5, 65),
            (1.0, 1.0 / 3.0, 64),
            (4.0 / 3.0, 1.0 / 3.0, 62),
            (5.0 / 3.0, 1.0 / 3.0, 61),
            (2.0, 1.5, 62),
        ],
        &[
            (0.0, 0.75, 64),
            (0.75, 0.25, 67),
            (1.0, 1.0, 71),
            (2.5, 0.5, 74),
            (3.0, 1.0, 72),
        ],
        &[(0.0, 3.0, 71), (3.5, 0.5, 67)],
    ];
    let mut lead = Vec::new();
    let mut bass = Vec::new();
    let mut comp = Vec::new();
    let mut drums = Vec::new();
    for bar in 0..4 {
        let b = bar as f64 * 4.0;
        for &(s, d, p) in line[bar] {
            lead.push(note(b + s, d, p, 80 + (p % 5) * 6));
        }
        for (i, &p) in walk[bar].iter().enumerate() {
            bass.push(note(b + i as f64, 0.9, p, 88));
        }
        // Charleston comping: beat 1 and the "and" of 2.
        for &p in &voicings[bar] {
            comp.push(note(b, 1.0, p, 64));
            comp.push(note(b + 1.5, 0.5, p, 58));
        }
        for beat in 0..4 {
            let t = b + beat as f64;
            drums.push(note(t, 0.25, 51, 90)); // ride
            if beat % 2 == 1 {
                drums.push(note(t, 0.25, 42, 70)); // hi-hat with the foot
                drums.push(note(t + 2.0 / 3.0, 0.25, 51, 60)); // swung ride
            }
        }
        drums.push(note(b, 0.25, 36, 70));
    }
    Piece {
        meter: Meter::constant(4, 4),
        tempo_map: vec![TempoChange { beat: 0.0, bpm: 150.0 }],
        chords: chords
            .iter()
            .enumerate()
            .map(|(i, &(root, q))| ChordEvent {
                start: i as f64 * 4.0,
                chord: Some(Chord::new(root, q)),
            })
            .collect(),
        tracks: vec![
            track("Tenor Sax", 0, Some(66), Role::Lead, lead),
            track("Bass", 1, Some(32), Role::Bass, bass),
            track("Piano Comp", 2, Some(0), Role::Comping, comp),
            track("Drums", 9, None, Role::Drums, drums),
        ],
    }
}

/// Eight bars of a 3/4 waltz with no chord symbols: bass on one, chords on two and three.
fn waltz() -> Piece {
    let roots = [
        (48u8, [64u8, 67, 72]),
        (53, [65, 69, 72]),
        (55, [62, 65, 71]),
        (48, [64, 67, 72]),
    ];
    let melody = [76u8, 77, 79, 74, 72, 76, 74, 72];
    let mut bass = Vec::new();
    let mut comp = Vec::new();
    let mut lead = Vec::new();
    for bar in 0..8 {
        let b = bar as f64 * 3.0;
        let (root, triad) = roots[bar % 4];
        bass.push(note(b, 1.0, root - 12, 80));
        for beat in [1.0, 2.0] {
            for &p in &triad {
                comp.push(note(b + beat, 0.75, p, 60));
            }
        }
        lead.push(note(b, 2.0, melody[bar], 90));
        lead.push(note(b + 2.0, 1.0, melody[(bar + 3) % 8], 75));
    }
    Piece {
        meter: Meter::constant(3, 4),
        tempo_map: vec![TempoChange { beat: 0.0, bpm: 160.0 }],
        chords: Vec::new(),
        tracks: vec![
            track("Melody", 0, Some(73), Role::Lead, lead),
            track("Bass", 1, Some(43), Role::Bass, bass),
            track("Accordion Chords", 2, Some(21), Role::Comping, comp),
        ],
    }
}

/// A 6/8 jig that speeds up after four bars and ends with a bar of 9/8.
fn six_eight() -> Piece {
    let tune = [67u8, 69, 71, 72, 71, 69, 67, 64, 62, 64, 67, 69];
    let mut lead = Vec::new();
    for bar in 0..5 {
        let b = bar as f64 * 3.0;
        for i in 0..6 {
            let p = tune[(bar * 5 + i) % tune.len()];
            let accent = if i % 3 == 0 { 100 } else { 72 };
            lead.push(note(b + i as f64 * 0.5, 0.5, p, accent));
        }
    }
    lead.push(note(15.0, 4.5, 67, 90));
    let mut drums = Vec::new();
    for bar in 0..5 {
        let b = bar as f64 * 3.0;
        drums.push(note(b, 0.25, 36, 100));
        drums.push(note(b + 1.5, 0.25, 38, 80));
    }
    drums.push(note(15.0, 0.25, 49, 110));
    Piece {
        meter: Meter::from_changes(vec![
            MeterChange {
                bar: 0,
                numerator: 6,
                denominator: 8,
            },
            MeterChange {
                bar: 5,
                numerator: 9,
                denominator: 8,
            },
        ]),
        tempo_map: vec![
            TempoChange { beat: 0.0, bpm: 100.0 },
            TempoChange { beat: 12.0, bpm: 125.0 },
        ],
        chords: vec![
            ChordEvent {
                start: 0.0,
                chord: Some(Chord::new(7, ChordQuality::Maj)),
            },
            ChordEvent {
                start: 6.0,
                chord: Some(Chord::new(2, ChordQuality::Dom7)),
            },
            ChordEvent {
                start: 12.0,
                chord: None,
            },
            ChordEvent {
                start: 15.0,
                chord: Some(Chord::new(7, ChordQuality::Maj)),
            },
        ],
        tracks: vec![
            track("Fiddle", 0, Some(40), Role::Lead, lead),
            track("Bodhran", 9, None, Role::Drums, drums),
        ],
    }
}

fn vlq(v: u32) -> Vec<u8> {
    let mut out = vec![(v & 0x7F) as u8];
    let mut v = v >> 7;
    while v > 0 {
        out.insert(0, 0x80 | (v & 0x7F) as u8);
        v >>= 7;
    }
    out
}

/// A format 0 file written byte by byte as older sequencers do: 96 ticks per beat, running
/// status, note-on velocity 0 as note-off, a melody on channel 1 and drums on channel 10.
fn format0_running_status() -> Vec<u8> {
    fn push(ev: &mut Vec<u8>, delta: u32, bytes: &[u8]) {
        ev.extend(vlq(delta));
        ev.extend_from_slice(bytes);
    }
    let mut ev: Vec<u8> = Vec::new();
    let mut name = vec![0xFF, 0x03, 7];
    name.extend_from_slice(b"Old Seq");
    push(&mut ev, 0, &name);
    push(&mut ev, 0, &[0xFF, 0x51, 0x03, 0x07, 0xA1, 0x20]); // 120 BPM
    push(&mut ev, 0, &[0xFF, 0x58, 0x04, 4, 2, 24, 8]); // 4/4
    push(&mut ev, 0, &[0xC0, 11]); // vibraphone
    let melody = [60u8, 62, 64, 65, 67, 65, 64, 62];
    for (i, &p) in melody.iter().enumerate() {
        // Each beat: a melody note and a closed hi-hat; kick on 1 and 3, snare on 2 and 4.
        let drum = if i % 2 == 0 { 36 } else { 38 };
        push(&mut ev, if i == 0 { 0 } else { 24 }, &[0x90, p, 96]);
        push(&mut ev, 0, &[0x99, 42, 80]);
        push(&mut ev, 0, &[drum, 100]); // running status on channel 10
        push(&mut ev, 24, &[42, 0]); // running status, velocity 0: hi-hat off
        push(&mut ev, 0, &[drum, 0]);
        push(&mut ev, 48, &[0x90, p, 0]); // melody off after three quarters of a beat
    }
    push(&mut ev, 24, &[0xFF, 0x2F, 0x00]);
    let mut out = b"MThd".to_vec();
    out.extend(6u32.to_be_bytes());
    out.extend(0u16.to_be_bytes());
    out.extend(1u16.to_be_bytes());
    out.extend(96u16.to_be_bytes());
    out.extend_from_slice(b"MTrk");
    out.extend((ev.len() as u32).to_be_bytes());
    out.extend(ev);
    out
}

/// Every golden: file stem and bytes.
fn goldens() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("ii_v_i_4_4", write_smf(&ii_v_i())),
        ("waltz_3_4", write_smf(&waltz())),
        ("jig_6_8_tempo_change", write_smf(&six_eight())),
        ("format0_running_status", format0_running_status()),
    ]
}

/// One sequence's tokens, as stored in `*.tokens.json`.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct GoldenSequence {
    role: Role,
    /// Readable tokens, for reviewing diffs.
    tokens: Vec<String>,
    ids: Vec<u32>,
}

fn tokens_of(bytes: &[u8]) -> Vec<GoldenSequence> {
    let piece = read_smf(bytes).expect("golden reads");
    let tokenizer = Tokenizer::default();
    let vocab = Vocab::new();
    sequences_from_piece(&piece, &[], None)
        .iter()
        .map(|seq| {
            let ids = tokenizer.encode(seq).expect("golden encodes");
            GoldenSequence {
                role: seq.role,
                tokens: ids.iter().map(|&i| vocab.describe(i)).collect(),
                ids,
            }
        })
        .collect()
}

#[test]
fn goldens_are_up_to_date() {
    let dir = data_dir();
    if updating() {
        std::fs::create_dir_all(&dir).unwrap();
    }
    for (stem, bytes) in goldens() {
        let mid = dir.join(format!("{stem}.mid"));
        let json = dir.join(format!("{stem}.tokens.json"));
        let tokens = tokens_of(&bytes);
        if updating() {
            std::fs::write(&mid, &bytes).unwrap();
            std::fs::write(&json, serde_json::to_string_pretty(&tokens).unwrap() + "\n").unwrap();
            eprintln!("wrote {} and {}", mid.display(), json.display());
            continue;
        }
        let on_disk =
            std::fs::read(&mid).unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1)", mid.display()));
        assert!(
            on_disk == bytes,
            "{} differs from its generator (run with UPDATE_GOLDEN=1)",
            mid.display()
        );
    }
}

#[test]
fn golden_files_survive_parse_write_parse() {
    for (stem, _) in goldens() {
        let bytes = std::fs::read(data_dir().join(format!("{stem}.mid"))).unwrap();
        let piece = read_smf(&bytes).unwrap();
        let again = read_smf(&write_smf(&piece)).unwrap();
        assert_eq!(again, piece, "{stem}");
    }
}

#[test]
fn generated_pieces_read_back_exactly() {
    for piece in [ii_v_i(), waltz(), six_eight()] {
        assert_eq!(read_smf(&write_smf(&piece)).unwrap(), piece);
    }
}

#[test]
fn golden_tokens_match() {
    for (stem, _) in goldens() {
        let bytes = std::fs::read(data_dir().join(format!("{stem}.mid"))).unwrap();
        let json = std::fs::read_to_string(data_dir().join(format!("{stem}.tokens.json"))).unwrap();
        let expected: Vec<GoldenSequence> = serde_json::from_str(&json).unwrap();
        assert_eq!(tokens_of(&bytes), expected, "{stem}");
    }
}

#[test]
fn format0_golden_reads_as_documented() {
    let piece = read_smf(&format0_running_status()).unwrap();
    let parts: Vec<(u8, Role, usize)> = piece
        .tracks
        .iter()
        .map(|t| (t.channel, t.role, t.notes.len()))
        .collect();
    assert_eq!(parts, vec![(0, Role::Lead, 8), (9, Role::Drums, 16)]);
    assert!(piece.tracks.iter().all(|t| t.name == "Old Seq"));
    assert_eq!(piece.tracks[0].program, Some(11));
    assert_eq!(piece.tracks[0].notes[1], note(1.0, 0.75, 62, 96));
    assert_eq!(piece.tracks[1].notes[0], note(0.0, 0.25, 36, 100));
    assert_eq!(piece.tempo_map, vec![TempoChange { beat: 0.0, bpm: 120.0 }]);
}
