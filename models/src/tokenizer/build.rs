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
}

/// Chord changes recognised beat by beat from the notes of `tracks` (see [`Chord::recognize`]).
/// A beat with too few pitch classes keeps the chord before it.
pub fn chords_from_notes<'a>(notes: impl Iterator<Item = &'a Note> + Clone, end_beat: f64) -> Vec<ChordEvent> {
    let beats = end_beat.ceil().max(0.0) as usize;
    let mut out: Vec<ChordEvent> = Vec::new();
    let mut held: Vec<u8> = Vec::with_capacity(16);
    for b in 0..beats {
        let (lo, hi) = (b as f64, b as f64 + 1.0);
        held.clear();
        // Notes sounding for at least a third of the beat.
        held.extend(
            notes
                .clone()
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
    }
    out
}

/// Builds one sequence per role present in `piece`, with default conditioning, tagged with
/// `styles`. Chords come from the piece when it has them, else are recognised from its comping,
/// piano and bass tracks when the piece has any of those besides the generated role.
pub fn sequences_from_piece(piece: &Piece, styles: &[u16], roles: Option<&[Role]>) -> Vec<Sequence> {
    let mut out = Vec::new();
    let end_bar = piece.meter.bar_at(piece.end_beat()).0 + 1;
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
        let chords = if !piece.chords.is_empty() {
            piece.chords.clone()
        } else {
            let harmonic = |r: Role| r != role && matches!(r, Role::Comping | Role::Piano | Role::Bass);
            let has_harmony = piece.tracks.iter().any(|t| harmonic(t.role) && t.role != Role::Bass);
            if has_harmony {
                chords_from_notes(
                    piece
                        .tracks
                        .iter()
                        .filter(|t| harmonic(t.role))
                        .flat_map(|t| t.notes.iter()),
                    piece.end_beat(),
                )
            } else {
                Vec::new()
            }
        };
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
