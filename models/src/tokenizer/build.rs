//! From a whole [`Piece`] to the [`Sequence`]s the tokenizer writes: one per role the piece has.

use crate::chord::Chord;
use crate::music::{ChordEvent, Note, Onset, Piece, Role};

use super::Sequence;

/// What to build for one role of a piece.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SequenceSpec {
    /// The role to generate.
    pub role: Role,
    /// Roles whose onsets become the `IN` conditioning.
    pub conditioning: Vec<Role>,
}

impl SequenceSpec {
    /// The conditioning each role gets by default: what a user would play against it.
    /// A lead hears the bass and the chords; bass hears the chords; comping hears the bass;
    /// drums and piano hear only the chord symbols (piano is the "continue my sketch" role).
    pub fn default_for(role: Role) -> SequenceSpec {
        let conditioning = match role {
            Role::Lead => vec![Role::Bass, Role::Comping, Role::Piano],
            Role::Bass => vec![Role::Comping, Role::Piano],
            Role::Comping => vec![Role::Bass],
            Role::Drums | Role::Piano => vec![],
        };
        SequenceSpec { role, conditioning }
    }

    /// Whether `role` hears a part by default (its [`SequenceSpec::default_for`] names one): the
    /// roles a session gives the user's notes as input, unless their model heard none in
    /// training (`crate::package::Manifest::hears_input`).
    pub fn hears_a_part(role: Role) -> bool {
        !SequenceSpec::default_for(role).conditioning.is_empty()
    }
}

/// Chord changes recognised beat by beat from `notes` (see [`Chord::recognize`]): a note counts
/// in a beat when it sounds for at least a third of it. A beat with too few pitch classes keeps
/// the chord before it. One sweep over the notes sorted by onset: O(notes log notes + beats with
/// sound), whatever the length of the silences.
pub fn chords_from_notes<'a>(notes: impl Iterator<Item = &'a Note>, end_beat: f64) -> Vec<ChordEvent> {
    let mut sorted: Vec<&Note> = notes
        .filter(|n| n.start.is_finite() && n.duration.is_finite())
        .collect();
    sorted.sort_by(|a, b| a.start.total_cmp(&b.start));
    let beats = end_beat.ceil().clamp(0.0, u32::MAX as f64) as u64;
    let mut out: Vec<ChordEvent> = Vec::new();
    let mut active: Vec<&Note> = Vec::new();
    let mut held: Vec<u8> = Vec::with_capacity(16);
    let mut next = 0;
    let mut b: u64 = 0;
    while b < beats {
        let (lo, hi) = (b as f64, b as f64 + 1.0);
        active.retain(|n| n.end() > lo);
        if active.is_empty() {
            // Jump over silence to the beat of the next onset.
            match sorted.get(next) {
                Some(n) if n.start.floor() > lo => {
                    b = n.start.floor().max(0.0) as u64;
                    continue;
                }
                None => break,
                _ => {}
            }
        }
        while let Some(n) = sorted.get(next).filter(|n| n.start < hi) {
            active.push(n);
            next += 1;
        }
        held.clear();
        held.extend(
            active
                .iter()
                .filter(|n| n.start.max(lo) + 1.0 / 3.0 <= n.end().min(hi) + 1e-9)
                .map(|n| n.pitch),
        );
        if let Some(c) = Chord::recognize(&held)
            && out.last().is_none_or(|l| l.chord != Some(c))
        {
            out.push(ChordEvent {
                start: lo,
                chord: Some(c),
            });
        }
        b += 1;
    }
    out
}

/// How many bars `piece` spans: up to the bar of its last onset. What sounds after it is the
/// tail of notes already struck, which their lengths carry. Counting the bar their release falls
/// in gave an eight-bar groove whose last chord is released on beat 32 (or whose last arpeggio
/// note rings a tenth of a beat past it, as MMA's articulation writes it) a ninth, silent bar,
/// which the music report counted as the human's empty beats and thinner playing.
pub fn bars_of(piece: &Piece) -> u32 {
    let last = piece
        .tracks
        .iter()
        .flat_map(|t| t.notes.iter().map(|n| n.start))
        .fold(0.0, f64::max);
    piece.meter.bar_at(last).0 + 1
}

/// Builds one sequence per role present in `piece`, with default conditioning, tagged with
/// `styles`. Chords come from the piece when it has them, else are recognised from its comping,
/// piano and bass tracks when the piece has any of those besides the generated role.
pub fn sequences_from_piece(piece: &Piece, styles: &[u16], roles: Option<&[Role]>) -> Vec<Sequence> {
    let mut out = Vec::new();
    let end_bar = bars_of(piece);
    for role in Role::ALL {
        if roles.is_some_and(|rs| !rs.contains(&role)) {
            continue;
        }
        let mut notes: Vec<Note> = piece
            .tracks
            .iter()
            .filter(|t| t.role == role)
            .flat_map(|t| t.notes.iter().copied())
            .collect();
        if notes.is_empty() {
            continue;
        }
        notes.sort_by(|a, b| a.start.total_cmp(&b.start).then(a.pitch.cmp(&b.pitch)));
        let spec = SequenceSpec::default_for(role);
        let mut inputs: Vec<Onset> = piece
            .tracks
            .iter()
            .filter(|t| spec.conditioning.contains(&t.role))
            .flat_map(|t| {
                t.notes.iter().map(|n| Onset {
                    start: n.start,
                    pitch: n.pitch,
                })
            })
            .collect();
        inputs.sort_by(|a, b| a.start.total_cmp(&b.start).then(a.pitch.cmp(&b.pitch)));
        let chords = role_chords(piece, role);
        out.push(Sequence {
            role,
            styles: styles.to_vec(),
            meter: piece.meter.clone(),
            tempo_bpm: Some(piece.initial_bpm()),
            chords,
            inputs,
            notes,
            bars: end_bar,
            ended: true,
        });
    }
    out
}

/// The chords a role's sequence is conditioned on: the piece's chord symbols, else the chords
/// recognised from its other harmonic parts (comping or piano, with the bass) when it has one
/// besides the role itself; none otherwise (a piano part alone, or a melody alone, plays
/// without chord tokens). `trainer prepare` and a continued prompt use the same rule, so a
/// prompt is conditioned as the training data was.
pub fn role_chords(piece: &Piece, role: Role) -> Vec<ChordEvent> {
    if !piece.chords.is_empty() {
        return piece.chords.clone();
    }
    let harmonic = |r: Role| r != role && matches!(r, Role::Comping | Role::Piano | Role::Bass);
    let has_harmony = piece.tracks.iter().any(|t| harmonic(t.role) && t.role != Role::Bass);
    if !has_harmony {
        return Vec::new();
    }
    chords_of_parts(piece, harmonic)
}

/// [`chords_from_notes`] over the notes of `piece`'s tracks whose role `keep` takes.
fn chords_of_parts(piece: &Piece, keep: impl Fn(Role) -> bool) -> Vec<ChordEvent> {
    chords_from_notes(
        piece
            .tracks
            .iter()
            .filter(|t| keep(t.role))
            .flat_map(|t| t.notes.iter()),
        piece.end_beat(),
    )
}

/// The chords of a piece without chord symbols named beat by beat from its parts of `roles` and
/// its harmonic parts (comping, piano, bass), the role's own included (`trainer prepare
/// --name-chords`): a chorale's four voices or a song's accompaniment name the chords that the
/// same part then plays over, as the plugin names a user's chords from the keys they hold. Empty
/// when the piece has no part of `roles`. Meant for parts that sound chords: a single line names
/// the two notes of a beat as a chord.
pub fn named_chords(piece: &Piece, roles: &[Role]) -> Vec<ChordEvent> {
    let counts = |r: Role| roles.contains(&r) || matches!(r, Role::Comping | Role::Piano | Role::Bass);
    if !piece.tracks.iter().any(|t| roles.contains(&t.role)) {
        return Vec::new();
    }
    chords_of_parts(piece, |r| counts(r) && !r.is_drums())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(start: f64, duration: f64, pitch: u8) -> Note {
        Note {
            start,
            duration,
            pitch,
            velocity: 80,
        }
    }

    #[test]
    fn a_piece_ends_in_the_bar_of_its_last_onset() {
        use crate::music::{Meter, Track};
        let piece = |last: Note| Piece {
            meter: Meter::default(),
            tempo_map: Vec::new(),
            chords: Vec::new(),
            tracks: vec![Track {
                name: String::new(),
                channel: 0,
                program: None,
                role: Role::Bass,
                notes: vec![n(0.0, 1.0, 40), last],
            }],
        };
        // Struck in bar 8 and released on the bar line (beat 32), a twelfth of a beat past it, or
        // held two bars: eight bars, the tail in the note's length.
        for last in [n(30.0, 2.0, 43), n(31.5, 7.0 / 12.0, 43), n(28.0, 12.0, 43)] {
            assert_eq!(bars_of(&piece(last)), 8, "{last:?}");
            let seq = &sequences_from_piece(&piece(last), &[], None)[0];
            assert_eq!(seq.bars, 8);
            // The tokens keep the tail: the last note decodes with its length.
            let tk = crate::tokenizer::Tokenizer::default();
            let back = tk.decode(&tk.encode(seq).unwrap()).unwrap();
            assert_eq!(back.bars, 8);
            let tail = back.notes.last().unwrap();
            assert_eq!((tail.start, tail.duration), (last.start, last.duration), "{last:?}");
        }
        // Struck on the ninth bar's first beat: nine.
        assert_eq!(bars_of(&piece(n(32.0, 1.0, 43))), 9);
        // Within the first bar.
        assert_eq!(bars_of(&piece(n(2.0, 1.0, 43))), 1);
    }

    #[test]
    fn recognises_changes_and_skips_silence_fast() {
        let notes = vec![
            n(0.0, 4.0, 50),
            n(0.0, 4.0, 53),
            n(0.0, 4.0, 57),
            n(0.0, 4.0, 60),
            n(4.0, 4.0, 55),
            n(4.0, 4.0, 59),
            n(4.0, 4.0, 65),
            // Far away, after a long silence.
            n(79_990.0, 2.0, 48),
            n(79_990.0, 2.0, 52),
            n(79_990.0, 2.0, 55),
        ];
        let t = std::time::Instant::now();
        let chords = chords_from_notes(notes.iter(), 80_000.0);
        assert!(t.elapsed().as_millis() < 100, "{:?}", t.elapsed());
        let got: Vec<(f64, String)> = chords.iter().map(|c| (c.start, c.chord.unwrap().to_string())).collect();
        assert_eq!(
            got,
            vec![(0.0, "Dm7".into()), (4.0, "G7".into()), (79_990.0, "C".into())]
        );
    }

    #[test]
    fn a_piano_part_alone_names_its_own_chords_only_when_asked() {
        use crate::music::{Meter, Track};
        let track = |role: Role, notes: Vec<Note>| Track {
            name: String::new(),
            channel: 0,
            program: None,
            role,
            notes,
        };
        // A chorale's four voices, C then G7 over two beats, merged into one piano part, and a
        // melody beside it.
        let voices = vec![n(0.0, 1.0, 48), n(0.0, 1.0, 64), n(0.0, 1.0, 67), n(0.0, 1.0, 72)]
            .into_iter()
            .chain([n(1.0, 1.0, 43), n(1.0, 1.0, 65), n(1.0, 1.0, 71), n(1.0, 1.0, 74)])
            .collect();
        let piece = Piece {
            meter: Meter::default(),
            tempo_map: Vec::new(),
            chords: Vec::new(),
            tracks: vec![
                track(Role::Piano, voices),
                track(Role::Lead, vec![n(0.0, 0.5, 76), n(0.5, 0.5, 77)]),
            ],
        };
        // The rule of `prepare` without the flag: no part besides the piano's own, no chords.
        assert!(role_chords(&piece, Role::Piano).is_empty());
        let named: Vec<(f64, String)> = named_chords(&piece, &[Role::Piano])
            .iter()
            .map(|c| (c.start, c.chord.unwrap().to_string()))
            .collect();
        assert_eq!(named, vec![(0.0, "C".into()), (1.0, "G7".into())]);
        // The melody is not a harmonic part and names nothing unless asked for.
        let melody = Piece {
            tracks: vec![piece.tracks[1].clone()],
            ..piece.clone()
        };
        assert!(named_chords(&melody, &[Role::Piano]).is_empty());
    }
}
