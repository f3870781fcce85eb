//! Tests of [`crate::midi`], by concern, and the helpers they share: raw SMF building blocks, an
//! example piece, and a two-track file.

mod files;
mod reading;
mod roles;
mod truncation;
mod writing;

use super::read_smf;
use crate::chord::{Chord, ChordQuality};
use crate::music::{ChordEvent, Meter, MeterChange, Note, Piece, Role, TempoChange, Track};

/// Raw SMF building blocks, so tests control every byte.
mod raw {
    /// A variable-length quantity.
    pub fn vlq(v: u32) -> Vec<u8> {
        let mut out = vec![(v & 0x7F) as u8];
        let mut v = v >> 7;
        while v > 0 {
            out.insert(0, 0x80 | (v & 0x7F) as u8);
            v >>= 7;
        }
        out
    }

    /// An `MTrk` chunk from (delta, event bytes) pairs; the end-of-track is not added.
    pub fn track(events: &[(u32, &[u8])]) -> Vec<u8> {
        let mut data = Vec::new();
        for (delta, bytes) in events {
            data.extend(vlq(*delta));
            data.extend_from_slice(bytes);
        }
        let mut out = b"MTrk".to_vec();
        out.extend((data.len() as u32).to_be_bytes());
        out.extend(data);
        out
    }

    /// A whole file.
    pub fn smf(format: u16, division: u16, tracks: &[Vec<u8>]) -> Vec<u8> {
        let mut out = b"MThd".to_vec();
        out.extend(6u32.to_be_bytes());
        out.extend(format.to_be_bytes());
        out.extend((tracks.len() as u16).to_be_bytes());
        out.extend(division.to_be_bytes());
        for t in tracks {
            out.extend_from_slice(t);
        }
        out
    }

    pub const EOT: &[u8] = &[0xFF, 0x2F, 0x00];

    /// A track-name meta event.
    pub fn name(s: &str) -> Vec<u8> {
        let mut out = vec![0xFF, 0x03, s.len() as u8];
        out.extend_from_slice(s.as_bytes());
        out
    }
}
use raw::{EOT, smf, track};

fn note(start: f64, duration: f64, pitch: u8, velocity: u8) -> Note {
    Note {
        start,
        duration,
        pitch,
        velocity,
    }
}

fn read(bytes: &[u8]) -> Piece {
    read_smf(bytes).unwrap_or_else(|e| panic!("read failed: {e}"))
}

fn example_piece() -> Piece {
    let lead = Track {
        name: "Solo".into(),
        channel: 0,
        program: Some(65),
        role: Role::Lead,
        notes: vec![
            note(0.0, 0.5, 62, 84),
            note(0.5, 1.0 / 3.0, 65, 70),
            note(1.0, 0.0, 67, 60), // zero length
            note(5.0, 2.0, 69, 127),
            note(5.5, 2.0, 69, 20), // same pitch, overlapping, ends later: first in first out
        ],
    };
    let bass = Track {
        name: "Bass".into(),
        channel: 1,
        program: None,
        role: Role::Bass,
        notes: vec![note(0.0, 1.0, 38, 90), note(1.0, 1.0, 38, 90), note(2.0, 1.0, 43, 90)],
    };
    let drums = Track {
        name: "Kit".into(),
        channel: 9,
        program: None,
        role: Role::Drums,
        notes: vec![
            note(0.0, 0.25, 36, 100),
            note(0.0, 0.25, 42, 80),
            note(1.5, 0.25, 38, 100),
        ],
    };
    let comp = Track {
        name: "Keys".into(),
        channel: 2,
        program: Some(0),
        role: Role::Comping,
        notes: vec![note(2.0, 1.5, 60, 64), note(2.0, 1.5, 64, 64)],
    };
    Piece {
        meter: Meter::from_changes(vec![
            MeterChange {
                bar: 0,
                numerator: 4,
                denominator: 4,
            },
            MeterChange {
                bar: 1,
                numerator: 6,
                denominator: 8,
            },
            MeterChange {
                bar: 3,
                numerator: 7,
                denominator: 16,
            },
        ]),
        tempo_map: vec![
            TempoChange { beat: 0.0, bpm: 120.0 },
            TempoChange { beat: 4.5, bpm: 100.0 },
        ],
        chords: vec![
            ChordEvent {
                start: 0.0,
                chord: Some(Chord::new(2, ChordQuality::Min7)),
            },
            ChordEvent {
                start: 2.0,
                chord: Some(Chord::new(7, ChordQuality::Dom7Alt)),
            },
            ChordEvent {
                start: 4.0,
                chord: None,
            },
        ],
        tracks: vec![lead, bass, drums, comp],
    }
}

/// Two tracks (notes up to bar 2, then a note in bar 3) at 96 ticks per beat, and where each
/// track chunk starts.
fn two_tracks() -> (Vec<u8>, usize, usize) {
    let first = track(&[
        (0, &[0x90, 60, 100]),
        (96, &[0x80, 60, 0]),
        (288, &[0x90, 62, 100]),
        (96, &[0x80, 62, 0]),
        (0, EOT),
    ]);
    let second = track(&[(768, &[0x90, 67, 100]), (96, &[0x80, 67, 0]), (0, EOT)]);
    let at = 14 + first.len();
    (smf(1, 96, &[first, second]), 14, at)
}
