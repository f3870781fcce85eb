//! Any bytes, as a MusicXML score or an `.mxl` archive: reading never panics; a piece that reads
//! has its notes at finite, non-negative times, in MIDI range; it writes a MIDI file that reads
//! back with as many notes; its token sequences encode to ids that decode.

#![no_main]

use libfuzzer_sys::fuzz_target;
use models::Tokenizer;
use models::midi::{read_smf, write_smf};
use models::musicxml::read_musicxml_with_report;
use models::tokenizer::{VOCAB_SIZE, decode, sequences_from_piece};

/// Longest piece the target tokenizes, in beats (see `midi_parse`).
const MAX_TOKENIZED_BEATS: f64 = 4096.0;

fuzz_target!(|data: &[u8]| {
    let Ok(file) = read_musicxml_with_report(data) else { return };
    let piece = &file.piece;
    let _ = file.report.warning();
    assert!(piece.note_count() > 0, "a piece that reads has notes");
    for n in piece.tracks.iter().flat_map(|t| &t.notes) {
        assert!(n.start.is_finite() && n.start >= 0.0, "{n:?}");
        assert!(n.duration.is_finite() && n.duration >= 0.0, "{n:?}");
        assert!(n.pitch < 128 && (1..=127).contains(&n.velocity), "{n:?}");
    }
    assert!(piece.chords.windows(2).all(|w| w[0].start <= w[1].start), "chords out of order");
    assert!(piece.tempo_map.iter().all(|t| t.bpm.is_finite() && t.bpm > 0.0));

    let back = read_smf(&write_smf(piece)).expect("a written piece reads back");
    assert_eq!(back.note_count(), piece.note_count(), "writing lost notes");

    if piece.end_beat() > MAX_TOKENIZED_BEATS {
        return;
    }
    let tokenizer = Tokenizer::default();
    for seq in sequences_from_piece(piece, &[], None) {
        // Unsupported time signatures and over-long pieces are refused, not panics.
        let Ok(ids) = tokenizer.encode(&seq) else { continue };
        assert!(ids.iter().all(|&id| id < VOCAB_SIZE));
        decode(&ids).expect("encoded ids decode");
    }
});
