//! `trainer generate --prompt`: a sketch is continued in its meter, the output holds the sketch
//! then the continuation (or only the continuation, moved to bar 1), through the session prompt
//! the plugin's Continue mode uses. Runs on the built-in Markov model (no ONNX Runtime needed).

use std::path::{Path, PathBuf};

use models::music::{Meter, MeterChange, Piece, TempoChange, Track};
use models::{Note, Role};
use sideman_trainer::generate::{GenerateArgs, run};

fn args(prompt: &Path, out: PathBuf, bars: u32, prompt_bars: Option<u32>, only: bool) -> GenerateArgs {
    GenerateArgs {
        bars,
        seed: 4,
        // A strong Harmony makes the chords given to a continuation visible in a Markov model's
        // notes.
        harmony: 4.0,
        force: true,
        prompt: Some(prompt.to_path_buf()),
        prompt_bars,
        continuation_only: only,
        ..GenerateArgs::with_defaults(&models::assets::fallback(), "piano", &out)
    }
}

/// A waltz sketch in G: four bars of 3/4 (G C D G), a held triad per bar under a melody in
/// quarters, at 96 BPM.
fn sketch() -> Piece {
    let bars: [[u8; 3]; 4] = [[55, 59, 62], [55, 60, 64], [54, 57, 62], [55, 59, 62]];
    let melody: [[u8; 3]; 4] = [[71, 74, 79], [72, 76, 79], [74, 72, 69], [67, 71, 74]];
    let mut notes = Vec::new();
    for (b, chord) in bars.iter().enumerate() {
        for &p in chord {
            notes.push(Note {
                start: b as f64 * 3.0,
                duration: 3.0,
                pitch: p,
                velocity: 70,
            });
        }
        for (i, &p) in melody[b].iter().enumerate() {
            notes.push(Note {
                start: b as f64 * 3.0 + i as f64,
                duration: 1.0,
                pitch: p,
                velocity: 85,
            });
        }
    }
    notes.sort_by(|a, b| a.start.total_cmp(&b.start).then(a.pitch.cmp(&b.pitch)));
    Piece {
        meter: Meter::from_changes(vec![MeterChange {
            bar: 0,
            numerator: 3,
            denominator: 4,
        }]),
        tempo_map: vec![TempoChange { beat: 0.0, bpm: 96.0 }],
        chords: vec![],
        tracks: vec![Track {
            name: "sketch".into(),
            channel: 0,
            program: Some(0),
            role: Role::Piano,
            notes,
        }],
    }
}

fn notes_of(path: &Path) -> (Piece, Vec<Note>) {
    let piece = models::midi::read_file(path).unwrap();
    let mut notes: Vec<Note> = piece.tracks.iter().flat_map(|t| t.notes.iter().copied()).collect();
    notes.sort_by(|a, b| a.start.total_cmp(&b.start).then(a.pitch.cmp(&b.pitch)));
    (piece, notes)
}

#[test]
fn a_sketch_is_continued_in_its_meter_after_itself() {
    let dir = std::env::temp_dir().join(format!("sideman-prompt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let prompt = dir.join("sketch.mid");
    models::midi::write_file(&sketch(), &prompt).unwrap();

    let out = dir.join("continued.mid");
    // A piano sketch alone carries no chord tokens (as the piano parts were learned); the
    // continuation's progression is given, in G.
    let mut a = args(&prompt, out.clone(), 8, None, false);
    a.chords = Some("G C D G".into());
    run(&a).unwrap();
    let (piece, notes) = notes_of(&out);
    assert_eq!(piece.meter.at_bar(0).numerator, 3, "the prompt's meter");
    assert!((piece.initial_bpm() - 96.0).abs() < 0.01, "the prompt's tempo");
    let sketch_notes = &sketch().tracks[0].notes;
    let (before, after): (Vec<Note>, Vec<Note>) = notes.iter().partition(|n| n.start < 12.0 - 1e-6);
    assert_eq!(before.len(), sketch_notes.len(), "the output starts with the prompt");
    for (a, b) in before.iter().zip(sketch_notes) {
        assert!((a.start - b.start).abs() < 1e-3 && a.pitch == b.pitch, "{a:?} vs {b:?}");
    }
    assert!(after.len() >= 6, "a continuation of 8 bars: {after:?}");
    assert!(after.iter().all(|n| n.start < 12.0 + 24.0 + 1e-6));
    // It continues over the given progression in G: most of its notes are in the G major scale.
    let g_major = [7u8, 9, 11, 0, 2, 4, 6];
    let in_key = after.iter().filter(|n| g_major.contains(&(n.pitch % 12))).count();
    assert!(
        in_key * 10 >= after.len() * 7,
        "{in_key} of {} in G major: {after:?}",
        after.len()
    );

    // Two bars of prompt, only the continuation written: it starts at bar 1.
    let out2 = dir.join("only.mid");
    run(&args(&prompt, out2.clone(), 4, Some(2), true)).unwrap();
    let (_, only) = notes_of(&out2);
    assert!(!only.is_empty());
    assert!(
        only.iter().all(|n| n.start >= -1e-6 && n.start < 12.0 + 1e-6),
        "{only:?}"
    );
    // The same arguments give the same notes.
    let out3 = dir.join("again.mid");
    run(&args(&prompt, out3.clone(), 4, Some(2), true)).unwrap();
    assert_eq!(notes_of(&out3).1, only);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A MusicXML sketch (two bars of 3/4 with a G chord symbol) is a prompt too.
#[test]
fn a_musicxml_sketch_is_a_prompt() {
    let dir = std::env::temp_dir().join(format!("sideman-prompt-xml-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let note = |step: &str, octave: u8, chord: bool| {
        format!(
            "<note>{}<pitch><step>{step}</step><octave>{octave}</octave></pitch><duration>1</duration><voice>1</voice><type>quarter</type></note>",
            if chord { "<chord/>" } else { "" }
        )
    };
    let bar = |n: u32, attrs: &str| {
        format!(
            "<measure number=\"{n}\">{attrs}<harmony><root><root-step>G</root-step></root><kind>major</kind></harmony>{}{}{}{}{}</measure>",
            note("G", 4, false),
            note("B", 3, true),
            note("B", 4, false),
            note("D", 5, false),
            note("D", 4, true),
        )
    };
    let attrs = "<attributes><divisions>1</divisions><key><fifths>1</fifths></key><time><beats>3</beats><beat-type>4</beat-type></time></attributes><sound tempo=\"80\"/>";
    let xml = format!(
        "<?xml version=\"1.0\"?><score-partwise version=\"4.0\"><part-list><score-part id=\"P1\"><part-name>Piano</part-name></score-part></part-list><part id=\"P1\">{}{}</part></score-partwise>",
        bar(1, attrs),
        bar(2, "")
    );
    let prompt = dir.join("sketch.musicxml");
    std::fs::write(&prompt, xml).unwrap();
    let out = dir.join("continued.mid");
    run(&args(&prompt, out.clone(), 4, None, false)).unwrap();
    let (piece, notes) = notes_of(&out);
    assert_eq!(piece.meter.at_bar(0).numerator, 3);
    assert!((piece.initial_bpm() - 80.0).abs() < 0.01, "{}", piece.initial_bpm());
    let prompt_notes: Vec<_> = notes.iter().filter(|n| n.start < 6.0 - 1e-6).collect();
    assert_eq!(prompt_notes.len(), 10, "{prompt_notes:?}");
    assert!(notes.iter().any(|n| n.start >= 6.0), "a continuation");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `trainer measure --from-bar`: the bars after a prompt are measured on their own, against the
/// chord in force, with the pitch-class overlap of those bars with the prompt; a song's piano is
/// measured without its voice.
#[test]
fn measure_from_bar_reads_the_continuation_of_a_song() {
    use sideman_trainer::measure::measure_file;
    use sideman_trainer::prepare::DrumMap;
    let dir = std::env::temp_dir().join(format!("sideman-measure-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // Four bars of the G waltz, then the same four bars again (a continuation that keeps the
    // prompt's pitch classes), then the four bars a semitone higher (one that keeps none of them),
    // with a voice on one sustained A that the piano's metrics must not see.
    use sideman_trainer::prompt::pitch_class_overlap;
    let mut piece = sketch();
    let first = piece.tracks[0].notes.clone();
    let mut again = first.clone();
    again.iter_mut().for_each(|n| n.start += 12.0);
    let mut away = first.clone();
    away.iter_mut().for_each(|n| {
        n.start += 12.0;
        n.pitch += 1;
    });
    piece.tracks.push(Track {
        name: "voice".into(),
        channel: 1,
        program: Some(52),
        role: Role::Lead,
        notes: vec![Note {
            start: 0.0,
            duration: 24.0,
            pitch: 69,
            velocity: 80,
        }],
    });
    let shifted = pitch_class_overlap(&first, &away);
    assert!(shifted < 0.5, "{shifted}");
    let keys: Vec<&str> = sideman_trainer::report::metrics::PITCHED
        .iter()
        .map(|(k, _)| *k)
        .collect();
    let at = |k: &str| keys.iter().position(|x| *x == k).unwrap();
    for (name, cont, overlap) in [("again.mid", again, 1.0), ("away.mid", away, shifted)] {
        let mut p = piece.clone();
        p.tracks[0].notes.extend(cont);
        let path = dir.join(name);
        models::midi::write_file(&p, &path).unwrap();
        let m = measure_file(&path, Role::Piano, 4, 0, DrumMap::None).unwrap();
        assert_eq!(m.len(), keys.len() + 1, "the overlap row follows the pitched metrics");
        assert!(
            (m[keys.len()] - overlap).abs() < 1e-9,
            "{name}: overlap {}",
            m[keys.len()]
        );
        assert!((m[at("notes_per_bar")] - 6.0).abs() < 1e-9, "{name}: {m:?}");
        // Only the measured bars: four, not eight.
        let whole = measure_file(&path, Role::Piano, 0, 0, DrumMap::None).unwrap();
        assert!((whole[at("notes_per_bar")] - 6.0).abs() < 1e-9);
        assert_eq!(whole.len(), keys.len());
    }
    // The voice counts when its role is asked for.
    let path = dir.join("again.mid");
    let lead = measure_file(&path, Role::Lead, 0, 0, DrumMap::None).unwrap();
    assert_eq!(lead[at("pitch_range")], 0.0, "only the voice's A: {lead:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
