//! Any bytes: reading never panics; a piece that reads writes a file that reads back, and a
//! second write and read changes nothing; its token sequences encode to ids that decode.

#![no_main]

use libfuzzer_sys::fuzz_target;
use models::Tokenizer;
use models::midi::{read_smf, write_smf};
use models::tokenizer::{VOCAB_SIZE, decode, sequences_from_piece};

/// Longest piece the target tokenizes, in beats.
const MAX_TOKENIZED_BEATS: f64 = 4096.0;

fuzz_target!(|data: &[u8]| {
    let Ok(piece) = read_smf(data) else { return };
    // The first write puts every time on the 480-per-beat grid; from then on nothing changes.
    let once = read_smf(&write_smf(&piece)).expect("a written piece reads back");
    let twice = read_smf(&write_smf(&once)).expect("a rewritten piece reads back");
    assert_eq!(once, twice, "write then read is not stable");
    assert_eq!(once.note_count(), piece.note_count(), "writing lost notes");

    // `sequences_from_piece` recognises chords beat by beat over every note (O(beats x notes)):
    // a piece of 80,000 beats takes about a second, which would starve the fuzzer, so long
    // pieces are only read and written.
    if piece.end_beat() > MAX_TOKENIZED_BEATS {
        return;
    }
    let tokenizer = Tokenizer::default();
    for seq in sequences_from_piece(&piece, &[], None) {
        // Unsupported time signatures and over-long pieces are refused, not panics.
        let Ok(ids) = tokenizer.encode(&seq) else { continue };
        assert!(ids.iter().all(|&id| id < VOCAB_SIZE));
        decode(&ids).expect("encoded ids decode");
    }
});
