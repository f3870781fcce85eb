//! `trainer generate --prompt`: continue a sketch (MIDI or MusicXML). The prompt's notes (and chords, if any) are
//! the start of the generated role's stream ([`SessionConfig::prompt`], the same code path as the
//! plugin's *Continue* mode); the model continues from the prompt's end, in its meter, and the
//! output holds the prompt followed by the continuation.
//!
//! Which notes are the prompt: the tracks the file's reader gave the asked role; when none has
//! it, every pitched track (for a pitched role) or every drum track (for drums). Chords: as
//! `trainer prepare` conditions the role's training sequences
//! ([`models::tokenizer::role_chords`]): the file's chord symbols, else those recognised
//! from its other harmonic parts, else none (a piano sketch alone continues without chords, as
//! the piano parts were learned); the last one holds through the continuation unless `--chords`
//! gives the continuation's progression.

use std::path::Path;

use anyhow::{Context, bail};
use models::generate::SessionConfig;
use models::music::{ChordEvent, Meter, Note, Piece, Role};

/// A sketch to continue.
#[derive(Debug, Clone)]
pub struct Prompt {
    /// The prompt's notes for the role, in beats from its start.
    pub notes: Vec<Note>,
    /// Chord symbols (given or recognised) within the prompt.
    pub chords: Vec<ChordEvent>,
    /// Time signature the continuation keeps.
    pub numerator: u8,
    /// Time signature denominator.
    pub denominator: u8,
    /// The prompt's tempo, if the file has one.
    pub tempo_bpm: Option<f64>,
    /// Bars of the prompt that are used.
    pub bars: u32,
}

impl Prompt {
    /// Length of the used prompt in beats.
    pub fn beats(&self) -> f64 {
        Meter::constant(self.numerator, self.denominator).bar_start(self.bars)
    }

    /// Sets the session up to continue the prompt: its notes, silence until its end, its meter.
    pub fn configure(&self, config: &mut SessionConfig) {
        config.numerator = self.numerator;
        config.denominator = self.denominator;
        config.prompt = self.notes.clone();
        config.silent_until = Some(models::generate::beat_to_tick(self.beats()));
    }
}

/// Reads `path` (a MIDI file, or MusicXML: `.musicxml`, `.xml`, `.mxl`) and keeps its first
/// `bars` bars (all bars with notes by default).
pub fn load(path: &Path, role: Role, bars: Option<u32>) -> anyhow::Result<Prompt> {
    let piece = if models::musicxml::is_musicxml_path(path) {
        let score = models::musicxml::read_file_with_report(path)
            .with_context(|| format!("cannot read the prompt {}", path.display()))?;
        if let Some(w) = score.report.warning() {
            eprintln!("warning: {}: {w}", path.display());
        }
        score.piece
    } else {
        let (piece, report) = models::midi::read_file_with_report(path)
            .with_context(|| format!("cannot read the prompt {}", path.display()))?;
        if let Some(w) = report.warning(&piece) {
            eprintln!("warning: {}: {w}", path.display());
        }
        piece
    };
    from_piece(&piece, role, bars).with_context(|| format!("prompt {}", path.display()))
}

/// The prompt of a piece.
pub fn from_piece(piece: &Piece, role: Role, bars: Option<u32>) -> anyhow::Result<Prompt> {
    let pitched = |r: Role| !r.is_drums();
    let mut tracks: Vec<_> = piece.tracks.iter().filter(|t| t.role == role).collect();
    if tracks.is_empty() {
        tracks = piece
            .tracks
            .iter()
            .filter(|t| pitched(t.role) == pitched(role))
            .collect();
    }
    let mut notes: Vec<Note> = tracks.iter().flat_map(|t| t.notes.iter().copied()).collect();
    notes.sort_by(|a, b| a.start.total_cmp(&b.start).then(a.pitch.cmp(&b.pitch)));
    if notes.is_empty() {
        bail!("it has no notes for the {role} role");
    }
    let last = notes.iter().map(|n| n.start).fold(0.0, f64::max);
    let (last_bar, _) = piece.meter.bar_at(last);
    let bars = bars.unwrap_or(last_bar + 1).max(1);
    let end = piece.meter.bar_start(bars);
    // The meter in force at the prompt's end is the continuation's; a prompt whose meter changes
    // is written in that meter (bar lines may move), which is said.
    let m = piece.meter.at_bar(bars.saturating_sub(1));
    if piece
        .meter
        .changes()
        .iter()
        .any(|c| c.bar < bars && (c.numerator, c.denominator) != (m.numerator, m.denominator))
    {
        eprintln!(
            "warning: the prompt changes meter; it is continued in {}/{}, its last",
            m.numerator, m.denominator
        );
    }
    notes.retain(|n| n.start < end - 1e-9);
    // Chords as `trainer prepare` gives the role's training sequences: the file's symbols, else
    // those recognised from its other harmonic parts, else none.
    let mut chords: Vec<ChordEvent> = models::tokenizer::role_chords(piece, role);
    chords.retain(|c| c.start < end - 1e-9);
    Ok(Prompt {
        notes,
        chords,
        numerator: m.numerator,
        denominator: m.denominator,
        tempo_bpm: piece.tempo_map.first().map(|t| t.bpm),
        bars,
    })
}

/// Pitch-class histogram overlap of two note sets (1: the same distribution, 0: disjoint).
pub fn pitch_class_overlap(a: &[Note], b: &[Note]) -> f64 {
    let hist = |v: &[Note]| {
        let mut h = [0.0f64; 12];
        for n in v {
            h[(n.pitch % 12) as usize] += 1.0;
        }
        let total: f64 = h.iter().sum();
        if total > 0.0 {
            h.iter_mut().for_each(|x| *x /= total);
        }
        h
    };
    let (x, y) = (hist(a), hist(b));
    x.iter().zip(&y).map(|(p, q)| p.min(*q)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use models::music::{MeterChange, Track};

    fn piece() -> Piece {
        let notes = (0..24)
            .map(|i| Note {
                start: i as f64 * 0.5,
                duration: 0.5,
                pitch: [60, 64, 67, 72][i % 4],
                velocity: 80,
            })
            .collect();
        Piece {
            meter: Meter::from_changes(vec![MeterChange {
                bar: 0,
                numerator: 3,
                denominator: 4,
            }]),
            tempo_map: vec![models::music::TempoChange { beat: 0.0, bpm: 90.0 }],
            chords: vec![],
            tracks: vec![Track {
                name: "piano".into(),
                channel: 0,
                program: None,
                role: Role::Piano,
                notes,
            }],
        }
    }

    #[test]
    fn a_prompt_keeps_its_meter_bars_and_chords() {
        let p = from_piece(&piece(), Role::Piano, None).unwrap();
        assert_eq!((p.numerator, p.denominator, p.bars), (3, 4, 4));
        assert_eq!(p.notes.len(), 24);
        assert_eq!(p.tempo_bpm, Some(90.0));
        // A piano alone carries no chords (as prepare gives its training sequences none).
        assert!(p.chords.is_empty(), "{:?}", p.chords);
        let two = from_piece(&piece(), Role::Piano, Some(2)).unwrap();
        assert_eq!(two.notes.len(), 12);
        assert_eq!(two.beats(), 6.0);
        // A lead prompt takes the pitched tracks when none is a lead; drums find none.
        let lead = from_piece(&piece(), Role::Lead, None).unwrap();
        assert_eq!(lead.notes.len(), 24);
        // Over a piano, a lead's chords are recognised from it.
        assert_eq!(lead.chords.first().and_then(|c| c.chord).map(|c| c.root), Some(0));
        assert!(from_piece(&piece(), Role::Drums, None).is_err());
        assert!((pitch_class_overlap(&p.notes, &p.notes) - 1.0).abs() < 1e-12);
    }
}
