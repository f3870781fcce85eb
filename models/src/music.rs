//! Music in musical time.
//!
//! A *beat* is a quarter note everywhere in Sideman (as in a host's `pos_beats`), whatever the time
//! signature's denominator. Times are `f64` beats from the start of bar 0. Seconds appear only in
//! [`Piece::tempo_map`], which MIDI writing needs and the tokenizer ignores.

use serde::{Deserialize, Serialize};

use crate::chord::Chord;

/// The part a track plays. The generated role of a token sequence is one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A single melodic line: a soloist, a melody.
    Lead,
    /// A bass line.
    Bass,
    /// Chords, arpeggios, guitar or piano comping behind a soloist.
    Comping,
    /// Drums and percussion, General MIDI key numbers (MIDI channel 10).
    Drums,
    /// Polyphonic piano or any other part: the "continue my sketch" role.
    Piano,
}

impl Role {
    /// Every role, in token order.
    pub const ALL: [Role; 5] = [Role::Lead, Role::Bass, Role::Comping, Role::Drums, Role::Piano];

    /// Position of the role in [`Role::ALL`] (its token offset).
    pub fn index(self) -> usize {
        self as usize
    }

    /// The role with index `i`, if there is one.
    pub fn from_index(i: usize) -> Option<Role> {
        Role::ALL.get(i).copied()
    }

    /// Lower-case name, as written in manifests and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Role::Lead => "lead",
            Role::Bass => "bass",
            Role::Comping => "comping",
            Role::Drums => "drums",
            Role::Piano => "piano",
        }
    }

    /// Parses a name as written by [`Role::name`] (case-insensitive).
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.name().eq_ignore_ascii_case(s.trim()))
    }

    /// Drum parts carry General MIDI key numbers and no durations.
    pub fn is_drums(self) -> bool {
        self == Role::Drums
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A sounding note.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Note {
    /// Onset, in beats from the start of bar 0.
    pub start: f64,
    /// Length in beats (drum hits keep whatever the source had; the tokenizer drops it).
    pub duration: f64,
    /// MIDI key number, 0-127.
    pub pitch: u8,
    /// MIDI velocity, 1-127.
    pub velocity: u8,
}

impl Note {
    /// Beat at which the note ends.
    pub fn end(&self) -> f64 {
        self.start + self.duration
    }
}

/// Ends each note where a later note of the same key starts, as the plugin's scheduler does (a
/// NoteOn of a sounding key first ends it: one key sounds once on a channel). A MIDI file cannot
/// say which of two overlapping notes of one key a note-off ends (readers, this one included,
/// end the oldest), so a part written this way reads back as it was played: a lead note of 2.5
/// beats retriggered after one beat by a note of half a beat was read back as notes of 1 and 1.5.
pub fn end_at_retrigger(notes: &mut [Note]) {
    let mut order: Vec<usize> = (0..notes.len()).collect();
    order.sort_by(|&a, &b| notes[a].start.total_cmp(&notes[b].start));
    for (k, &i) in order.iter().enumerate() {
        let next = order[k + 1..]
            .iter()
            .map(|&j| notes[j])
            .find(|n| n.pitch == notes[i].pitch && n.start > notes[i].start);
        if let Some(n) = next
            && n.start < notes[i].end()
        {
            notes[i].duration = n.start - notes[i].start;
        }
    }
}

/// The onset of a conditioning note: what the user (or another track) played, and when.
///
/// Conditioning carries onsets only, so that the plugin can insert a note the moment its NoteOn
/// arrives, without waiting to learn its length.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Onset {
    /// Onset, in beats from the start of bar 0.
    pub start: f64,
    /// MIDI key number, 0-127.
    pub pitch: u8,
}

/// A chord symbol taking effect at a beat. `None` is "no chord" (N.C.).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ChordEvent {
    /// Beat at which the chord starts to sound.
    pub start: f64,
    /// The chord, or `None` for N.C.
    pub chord: Option<Chord>,
}

/// A time signature taking effect at the start of a bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeterChange {
    /// Index of the first bar in this signature.
    pub bar: u32,
    /// Numerator: beats (of the denominator's length) per bar.
    pub numerator: u8,
    /// Denominator: 2, 4, 8 or 16.
    pub denominator: u8,
}

impl MeterChange {
    /// Bar length in quarter-note beats.
    pub fn bar_beats(&self) -> f64 {
        self.numerator as f64 * 4.0 / self.denominator as f64
    }
}

/// The bar structure of a piece: time signatures by bar, starting at bar 0 = beat 0.
///
/// Always holds at least one change, at bar 0, and changes are sorted by bar with no two at the
/// same bar (the constructors enforce it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meter {
    changes: Vec<MeterChange>,
}

impl Default for Meter {
    fn default() -> Self {
        Meter::constant(4, 4)
    }
}

impl Meter {
    /// One signature for the whole piece.
    pub fn constant(numerator: u8, denominator: u8) -> Meter {
        Meter {
            changes: vec![MeterChange {
                bar: 0,
                numerator,
                denominator,
            }],
        }
    }

    /// Builds a meter from changes in any order. The change at the lowest bar is moved to bar 0;
    /// of two changes at one bar the later in the list wins; a change that repeats the signature
    /// in force is dropped.
    pub fn from_changes(mut changes: Vec<MeterChange>) -> Meter {
        if changes.is_empty() {
            return Meter::default();
        }
        changes.sort_by_key(|c| c.bar);
        let mut out: Vec<MeterChange> = Vec::with_capacity(changes.len());
        for c in changes {
            match out.last_mut() {
                Some(last) if last.bar == c.bar => *last = c,
                _ => out.push(c),
            }
        }
        out[0].bar = 0;
        out.dedup_by(|b, a| a.numerator == b.numerator && a.denominator == b.denominator);
        Meter { changes: out }
    }

    /// The changes, sorted by bar, the first at bar 0.
    pub fn changes(&self) -> &[MeterChange] {
        &self.changes
    }

    /// The signature in force at `bar`.
    pub fn at_bar(&self, bar: u32) -> MeterChange {
        let i = self.changes.partition_point(|c| c.bar <= bar);
        self.changes[i.saturating_sub(1)]
    }

    /// Beat at which `bar` starts.
    pub fn bar_start(&self, bar: u32) -> f64 {
        let mut beat = 0.0;
        for (i, c) in self.changes.iter().enumerate() {
            let next = self.changes.get(i + 1).map_or(u32::MAX, |n| n.bar);
            if bar < next {
                return beat + (bar - c.bar) as f64 * c.bar_beats();
            }
            beat += (next - c.bar) as f64 * c.bar_beats();
        }
        beat
    }

    /// The bar containing `beat` (bar 0 for negative beats) and the beat where it starts.
    pub fn bar_at(&self, beat: f64) -> (u32, f64) {
        let mut start = 0.0;
        for (i, c) in self.changes.iter().enumerate() {
            let len = c.bar_beats();
            match self.changes.get(i + 1) {
                Some(n) => {
                    let span = (n.bar - c.bar) as f64 * len;
                    if beat < start + span {
                        let k = ((beat - start) / len).floor().max(0.0) as u32;
                        return (c.bar + k, start + k as f64 * len);
                    }
                    start += span;
                }
                None => {
                    let k = ((beat - start) / len).floor().clamp(0.0, (u32::MAX - c.bar) as f64) as u32;
                    return (c.bar + k, start + k as f64 * len);
                }
            }
        }
        (0, 0.0)
    }
}

/// A tempo change, for writing MIDI files and for the tempo header token.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TempoChange {
    /// Beat at which the tempo takes effect.
    pub beat: f64,
    /// Quarter notes per minute.
    pub bpm: f64,
}

/// One track of a piece.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Track {
    /// Track name from the file (may be empty).
    pub name: String,
    /// MIDI channel 0-15 the notes were on (9 = drums).
    pub channel: u8,
    /// General MIDI program, if the file set one.
    pub program: Option<u8>,
    /// What the track plays.
    pub role: Role,
    /// Notes sorted by (start, pitch).
    pub notes: Vec<Note>,
}

/// A whole piece in musical time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Piece {
    /// Bar structure.
    pub meter: Meter,
    /// Tempo changes sorted by beat; the first at beat 0. Empty means 120 BPM.
    pub tempo_map: Vec<TempoChange>,
    /// Chord symbols sorted by start, when the source has them.
    pub chords: Vec<ChordEvent>,
    /// The tracks.
    pub tracks: Vec<Track>,
}

impl Piece {
    /// The tempo at beat 0 (120 BPM when the piece has none).
    pub fn initial_bpm(&self) -> f64 {
        self.tempo_map.first().map_or(120.0, |t| t.bpm)
    }

    /// Number of notes over all tracks.
    pub fn note_count(&self) -> usize {
        self.tracks.iter().map(|t| t.notes.len()).sum()
    }

    /// Beat at which the last note ends (0 for an empty piece).
    pub fn end_beat(&self) -> f64 {
        self.tracks
            .iter()
            .flat_map(|t| t.notes.iter().map(Note::end))
            .fold(0.0, f64::max)
    }
}

/// Name of a MIDI key, middle C = C4 ("Eb5").
pub fn key_name(key: u8) -> String {
    const NAMES: [&str; 12] = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"];
    format!("{}{}", NAMES[key as usize % 12], key as i32 / 12 - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retriggered_key_ends_the_note_that_sounds() {
        let n = |start: f64, duration: f64, pitch: u8| Note {
            start,
            duration,
            pitch,
            velocity: 80,
        };
        // Out of order on purpose: 47 held 2.5 beats and struck again after one; 50 overlaps it
        // (another key, untouched); the second 47 ends on its own, before the third.
        let mut notes = vec![
            n(119.0, 0.5, 47),
            n(118.0, 2.5, 47),
            n(118.5, 2.0, 50),
            n(121.0, 0.5, 47),
        ];
        end_at_retrigger(&mut notes);
        let got: Vec<(f64, f64, u8)> = notes.iter().map(|n| (n.start, n.duration, n.pitch)).collect();
        assert_eq!(
            got,
            [(119.0, 0.5, 47), (118.0, 1.0, 47), (118.5, 2.0, 50), (121.0, 0.5, 47)]
        );
    }

    #[test]
    fn meter_maps_bars_and_beats_both_ways() {
        let m = Meter::from_changes(vec![
            MeterChange {
                bar: 0,
                numerator: 4,
                denominator: 4,
            },
            MeterChange {
                bar: 2,
                numerator: 3,
                denominator: 4,
            },
            MeterChange {
                bar: 4,
                numerator: 6,
                denominator: 8,
            },
        ]);
        assert_eq!(m.bar_start(0), 0.0);
        assert_eq!(m.bar_start(2), 8.0);
        assert_eq!(m.bar_start(3), 11.0);
        assert_eq!(m.bar_start(4), 14.0);
        assert_eq!(m.bar_start(5), 17.0);
        assert_eq!(m.bar_at(7.99), (1, 4.0));
        assert_eq!(m.bar_at(8.0), (2, 8.0));
        assert_eq!(m.bar_at(16.0), (4, 14.0));
        assert_eq!(m.bar_at(-3.0), (0, 0.0));
        assert_eq!(m.at_bar(3).numerator, 3);
    }

    #[test]
    fn meter_normalises_changes() {
        let m = Meter::from_changes(vec![
            MeterChange {
                bar: 3,
                numerator: 4,
                denominator: 4,
            },
            MeterChange {
                bar: 1,
                numerator: 3,
                denominator: 4,
            },
            MeterChange {
                bar: 5,
                numerator: 4,
                denominator: 4,
            },
        ]);
        assert_eq!(m.changes().len(), 2);
        assert_eq!(m.changes()[0].bar, 0);
        assert_eq!(m.changes()[1].bar, 3);
    }
}
