//! Writing: round trips, the file layout, and clamping what a file cannot hold.

use midly::num::u15;
use midly::{Format, MetaMessage, MidiMessage, Smf, Timing, TrackEventKind};

use super::{example_piece, note, read};
use crate::midi::{MAX_PIECE_BEATS, MidiError, WRITE_PPQ, read_smf, write_smf};
use crate::music::{Meter, Piece, TempoChange};

#[test]
fn write_then_read_is_the_identity() {
    let p = example_piece();
    let bytes = write_smf(&p);
    assert_eq!(read(&bytes), p);
    // Same bytes from the same piece.
    assert_eq!(write_smf(&read(&bytes)), bytes);
}

#[test]
fn written_files_are_format_1_at_480_with_a_conductor() {
    let bytes = write_smf(&example_piece());
    let smf = Smf::parse(&bytes).unwrap();
    assert_eq!(smf.header.format, Format::Parallel);
    assert_eq!(smf.header.timing, Timing::Metrical(u15::new(WRITE_PPQ)));
    assert_eq!(smf.tracks.len(), 6); // conductor, four parts, chords
    let has = |t: usize, f: &dyn Fn(&TrackEventKind) -> bool| smf.tracks[t].iter().any(|e| f(&e.kind));
    assert!(has(0, &|k| matches!(k, TrackEventKind::Meta(MetaMessage::Tempo(_)))));
    assert!(has(0, &|k| matches!(
        k,
        TrackEventKind::Meta(MetaMessage::TimeSignature(6, 3, _, _))
    )));
    assert!(has(
        3,
        &|k| matches!(k, TrackEventKind::Midi { channel, .. } if channel.as_int() == 9)
    ));
    assert!(has(5, &|k| matches!(
        k,
        TrackEventKind::Meta(MetaMessage::Text(b"G7alt"))
    )));
    // Note-offs come before note-ons at one tick (the bass repeats D at beat 1).
    let bass: Vec<_> = smf.tracks[2]
        .iter()
        .filter_map(|e| match e.kind {
            TrackEventKind::Midi { message, .. } => Some((e.delta.as_int(), message)),
            _ => None,
        })
        .collect();
    assert!(matches!(bass[1], (480, MidiMessage::NoteOff { .. })));
    assert!(matches!(bass[2], (0, MidiMessage::NoteOn { .. })));
}

#[test]
fn writing_clamps_what_a_file_cannot_hold() {
    let mut p = example_piece();
    p.tracks[0].notes.push(note(-3.0, f64::NAN, 200, 0));
    p.tracks[0].notes.push(note(f64::INFINITY, 1e300, 60, 255));
    p.tempo_map.push(TempoChange { beat: 1.0, bpm: 0.0 });
    p.meter = Meter::constant(3, 3);
    let back = read(&write_smf(&p));
    assert_eq!(back.meter, Meter::constant(3, 4));
    assert!(
        back.tracks[0]
            .notes
            .iter()
            .all(|n| n.pitch <= 127 && (1..=127).contains(&n.velocity))
    );
    assert!(back.end_beat() <= MAX_PIECE_BEATS);
    // An empty piece still writes a valid file (which reads back as having no notes).
    let empty = Piece {
        meter: Meter::default(),
        tempo_map: vec![],
        chords: vec![],
        tracks: vec![],
    };
    assert!(matches!(read_smf(&write_smf(&empty)), Err(MidiError::NoNotes)));
}
