//! The one tokenizer: [`Sequence`] (a generated role plus its conditioning, in musical time)
//! to token ids and back. The design, with a worked example, is in `models/TOKENS.md`.
//!
//! - [`Tokenizer::encode`] quantises to the tick grid (12 per beat; with microtiming, 1/8 tick
//!   more) and writes the canonical stream.
//! - [`Tokenizer::decode`] is total: any id stream gives a [`Sequence`] or a [`DecodeError`] naming
//!   the first token the grammar refuses. A stream cut anywhere decodes (an unfinished trailing
//!   note is dropped).
//! - [`predicted_mask`] says which positions the model is trained to predict (time and the
//!   generated notes); the others are given (header, chords, user input).

mod build;
pub mod features;
pub mod grammar;
pub mod vocab;

use serde::{Deserialize, Serialize};

pub use build::{SequenceSpec, bars_of, chords_from_notes, named_chords, role_chords, sequences_from_piece};
pub use grammar::{GrammarError, GrammarState, Phase};
pub use vocab::{Token, VOCAB_SIZE, Vocab, VocabError};

use crate::chord::Chord;
use crate::music::{ChordEvent, Meter, MeterChange, Note, Onset, Role};
use vocab::{
    DRUM_HIT_TICKS, DURATION_TICKS, MAX_STYLES_PER_SEQUENCE, MICRO_STEPS_PER_TICK, TICKS_PER_BEAT, bin_velocity,
    duration_bin, tempo_bucket, tempo_bucket_bpm, time_signature, time_signature_index, velocity_bin,
};

/// One training or generation sequence: the role to generate, its header and its timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sequence {
    /// The generated role.
    pub role: Role,
    /// Style slots (see [`Vocab::styles`]); written sorted, at most eight.
    pub styles: Vec<u16>,
    /// Bar structure.
    pub meter: Meter,
    /// Tempo hint, written as a bucket.
    pub tempo_bpm: Option<f64>,
    /// Chord changes (given).
    pub chords: Vec<ChordEvent>,
    /// Onsets of conditioning notes (given).
    pub inputs: Vec<Onset>,
    /// The generated role's notes (predicted).
    pub notes: Vec<Note>,
    /// Number of bars; encoding writes at least enough bars for every event.
    pub bars: u32,
    /// Whether the piece ends here (`EOS`).
    pub ended: bool,
}

impl Sequence {
    /// An empty sequence of `role` in 4/4.
    pub fn new(role: Role) -> Sequence {
        Sequence {
            role,
            styles: Vec::new(),
            meter: Meter::default(),
            tempo_bpm: None,
            chords: Vec::new(),
            inputs: Vec::new(),
            notes: Vec::new(),
            bars: 0,
            ended: false,
        }
    }

    /// The same music moved by `semitones`; drums keep their keys. `None` if a pitch would leave
    /// 0..=127.
    pub fn transposed(&self, semitones: i32) -> Option<Sequence> {
        let mv = |p: u8| -> Option<u8> {
            let q = p as i32 + semitones;
            (0..=127).contains(&q).then_some(q as u8)
        };
        let mut out = self.clone();
        if !self.role.is_drums() {
            for n in &mut out.notes {
                n.pitch = mv(n.pitch)?;
            }
        }
        for i in &mut out.inputs {
            i.pitch = mv(i.pitch)?;
        }
        for c in &mut out.chords {
            c.chord = c.chord.map(|ch| ch.transposed(semitones));
        }
        Some(out)
    }

    /// Bars `from..to` as a sequence of their own, starting at beat 0. The chord in force at the
    /// start is restated there; notes that started before `from` are left out. This is how
    /// training windows are cut and how the runtime re-primes a full context.
    pub fn slice_bars(&self, from: u32, to: u32) -> Sequence {
        let to = to.max(from);
        let start = self.meter.bar_start(from);
        let end = self.meter.bar_start(to);
        let inside = |b: f64| b >= start - 1e-9 && b < end - 1e-9;
        let mut chords: Vec<ChordEvent> = Vec::new();
        if let Some(c) = self.chords.iter().rev().find(|c| c.start <= start + 1e-9) {
            chords.push(ChordEvent {
                start: 0.0,
                chord: c.chord,
            });
        }
        for c in self.chords.iter().filter(|c| inside(c.start) && c.start > start + 1e-9) {
            chords.push(ChordEvent {
                start: c.start - start,
                chord: c.chord,
            });
        }
        let meter = Meter::from_changes(
            self.meter
                .changes()
                .iter()
                .filter(|c| c.bar > from && c.bar < to)
                .map(|c| MeterChange {
                    bar: c.bar - from,
                    ..*c
                })
                .chain(std::iter::once(MeterChange {
                    bar: 0,
                    ..self.meter.at_bar(from)
                }))
                .collect(),
        );
        Sequence {
            role: self.role,
            styles: self.styles.clone(),
            meter,
            tempo_bpm: self.tempo_bpm,
            chords,
            inputs: self
                .inputs
                .iter()
                .filter(|o| inside(o.start))
                .map(|o| Onset {
                    start: o.start - start,
                    ..*o
                })
                .collect(),
            notes: self
                .notes
                .iter()
                .filter(|n| inside(n.start))
                .map(|n| Note {
                    start: n.start - start,
                    ..*n
                })
                .collect(),
            bars: to - from,
            ended: self.ended && to >= self.bars,
        }
    }
}

/// Why a sequence could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The meter uses a signature with no `TS` token.
    #[error("time signature {0}/{1} at bar {2} is not supported (see models/TOKENS.md)")]
    UnsupportedTimeSignature(u8, u8, u32),
    /// A time is not a finite number.
    #[error("an event time is not finite")]
    NonFiniteTime,
    /// The sequence is too long to encode.
    #[error("sequence runs to bar {0}, past the limit of {MAX_BARS}")]
    TooLong(u64),
}

/// Why a token stream could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// A token the grammar does not allow where it stands.
    #[error(transparent)]
    Grammar(#[from] GrammarError),
}

/// Most bars one sequence may span (about 2.7 hours of 4/4 at 120 BPM).
pub const MAX_BARS: u64 = 20_000;

/// The tokenizer: the vocabulary and the encoding options.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tokenizer {
    /// The vocabulary (layout and style names).
    pub vocab: Vocab,
    /// Whether to write `MICRO` tokens for notes off the tick grid.
    pub microtiming: bool,
}

/// A grid position: absolute tick, and microtiming in 1/8 ticks.
fn grid(beat: f64, microtiming: bool) -> (i64, i8) {
    if microtiming {
        let fine = (beat * (TICKS_PER_BEAT as f64) * MICRO_STEPS_PER_TICK as f64).round() as i64;
        let half = (MICRO_STEPS_PER_TICK / 2) as i64;
        let tick = (fine + half).div_euclid(MICRO_STEPS_PER_TICK as i64);
        (tick, (fine - tick * MICRO_STEPS_PER_TICK as i64) as i8)
    } else {
        ((beat * TICKS_PER_BEAT as f64).round() as i64, 0)
    }
}

/// Bar boundaries of a meter in ticks, walked forward.
struct BarWalker<'a> {
    meter: &'a Meter,
}

impl BarWalker<'_> {
    /// (bar, tick in bar) of an absolute tick >= 0.
    fn locate(&self, tick: i64) -> (u64, u32) {
        let changes = self.meter.changes();
        let mut start: i64 = 0;
        for (i, c) in changes.iter().enumerate() {
            let len = (c.numerator as i64 * 4 * TICKS_PER_BEAT as i64 / c.denominator.max(1) as i64).max(1);
            if let Some(n) = changes.get(i + 1) {
                let span = (n.bar - c.bar) as i64 * len;
                if tick < start + span {
                    let k = (tick - start) / len;
                    return (c.bar as u64 + k as u64, ((tick - start) - k * len) as u32);
                }
                start += span;
            } else {
                let k = (tick - start) / len;
                return (c.bar as u64 + k as u64, ((tick - start) - k * len) as u32);
            }
        }
        (0, 0)
    }
}

/// Everything that happens at one (bar, position).
#[derive(Default)]
struct Group {
    chord: Option<Option<Chord>>,
    inputs: Vec<u8>,
    /// (pitch, velocity bin, duration bin, micro)
    notes: Vec<(u8, u8, u8, i8)>,
}

impl Tokenizer {
    /// A tokenizer over `vocab`.
    pub fn new(vocab: Vocab, microtiming: bool) -> Tokenizer {
        Tokenizer { vocab, microtiming }
    }

    /// Writes the canonical token stream of `seq`.
    pub fn encode(&self, seq: &Sequence) -> Result<Vec<u32>, EncodeError> {
        for c in seq.meter.changes() {
            if time_signature_index(c.numerator, c.denominator).is_none() {
                return Err(EncodeError::UnsupportedTimeSignature(c.numerator, c.denominator, c.bar));
            }
        }
        let walker = BarWalker { meter: &seq.meter };
        let mut groups: std::collections::BTreeMap<(u64, u32), Group> = Default::default();
        let place = |beat: f64, micro: bool| -> Result<((u64, u32), i8), EncodeError> {
            if !beat.is_finite() {
                return Err(EncodeError::NonFiniteTime);
            }
            let (tick, m) = grid(beat.max(0.0), micro);
            let at = walker.locate(tick);
            if at.0 >= MAX_BARS {
                return Err(EncodeError::TooLong(at.0));
            }
            Ok((at, m))
        };
        let mut in_force: Option<Option<Chord>> = None;
        let mut chords: Vec<(f64, Option<Chord>)> = seq.chords.iter().map(|c| (c.start, c.chord)).collect();
        chords.sort_by(|a, b| a.0.total_cmp(&b.0));
        // Of chords landing on one position, the last wins; then only changes are written.
        let mut placed: Vec<((u64, u32), Option<Chord>)> = Vec::with_capacity(chords.len());
        for (start, chord) in chords {
            let (at, _) = place(start, false)?;
            match placed.last_mut() {
                Some(last) if last.0 == at => last.1 = chord,
                _ => placed.push((at, chord)),
            }
        }
        for (at, chord) in placed {
            if in_force != Some(chord) {
                groups.entry(at).or_default().chord = Some(chord);
                in_force = Some(chord);
            }
        }
        for o in &seq.inputs {
            let (at, _) = place(o.start, false)?;
            groups.entry(at).or_default().inputs.push(o.pitch.min(127));
        }
        for n in &seq.notes {
            let (at, micro) = place(n.start, self.microtiming)?;
            let dur_ticks = if n.duration.is_finite() {
                (n.duration * TICKS_PER_BEAT as f64).round().max(1.0)
            } else {
                1.0
            };
            let dur = duration_bin(dur_ticks.min(u32::MAX as f64) as u32);
            groups
                .entry(at)
                .or_default()
                .notes
                .push((n.pitch.min(127), velocity_bin(n.velocity), dur, micro));
        }

        let last_bar = groups.keys().next_back().map_or(0, |k| k.0 + 1);
        let bars = last_bar.max(seq.bars as u64);
        if bars > MAX_BARS {
            return Err(EncodeError::TooLong(bars));
        }
        let mut out =
            Vec::with_capacity(16 + bars as usize + groups.len() * 2 + seq.notes.len() * 4 + seq.inputs.len());
        out.push(Vocab::id(Token::Bos));
        out.push(Vocab::id(Token::Role(seq.role)));
        let mut styles = seq.styles.clone();
        styles.sort_unstable();
        styles.dedup();
        for &s in styles.iter().take(MAX_STYLES_PER_SEQUENCE) {
            out.push(Vocab::id(Token::Style(s)));
        }
        let ts_at = |bar: u32| {
            let c = seq.meter.at_bar(bar);
            time_signature_index(c.numerator, c.denominator).unwrap_or(0)
        };
        out.push(Vocab::id(Token::TimeSig(ts_at(0))));
        if let Some(bpm) = seq.tempo_bpm {
            out.push(Vocab::id(Token::Tempo(tempo_bucket(bpm))));
        }
        let mut groups = groups.into_iter().peekable();
        for bar in 0..bars {
            out.push(Vocab::id(Token::Bar));
            if bar > 0 && ts_at(bar as u32) != ts_at(bar as u32 - 1) {
                out.push(Vocab::id(Token::TimeSig(ts_at(bar as u32))));
            }
            while let Some(((_, pos), mut g)) = groups.next_if(|((b, _), _)| *b == bar) {
                out.push(Vocab::id(Token::Pos(pos as u8)));
                match g.chord {
                    Some(Some(c)) => {
                        out.push(Vocab::id(Token::ChordRoot(c.root)));
                        out.push(Vocab::id(Token::ChordQual(c.quality)));
                    }
                    Some(None) => out.push(Vocab::id(Token::ChordNone)),
                    None => {}
                }
                g.inputs.sort_unstable();
                g.inputs.dedup();
                for p in g.inputs {
                    out.push(Vocab::id(Token::InPitch(p)));
                }
                // Same pitch twice at one position: keep the longer.
                g.notes.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.2.cmp(&a.2)));
                g.notes.dedup_by_key(|n| n.0);
                for (pitch, vel, dur, micro) in g.notes {
                    if seq.role.is_drums() {
                        out.push(Vocab::id(Token::Drum(pitch)));
                        out.push(Vocab::id(Token::Vel(vel)));
                    } else {
                        out.push(Vocab::id(Token::Pitch(pitch)));
                        out.push(Vocab::id(Token::Vel(vel)));
                        out.push(Vocab::id(Token::Dur(dur)));
                    }
                    if micro != 0 {
                        out.push(Vocab::id(Token::Micro(micro)));
                    }
                }
            }
        }
        if seq.ended {
            out.push(Vocab::id(Token::Eos));
        }
        Ok(out)
    }

    /// Reads a token stream back into a [`Sequence`].
    pub fn decode(&self, ids: &[u32]) -> Result<Sequence, DecodeError> {
        decode(ids)
    }
}

/// Reads a token stream back into a [`Sequence`]; see [`Tokenizer::decode`].
pub fn decode(ids: &[u32]) -> Result<Sequence, DecodeError> {
    let mut g = GrammarState::new();
    let mut seq = Sequence::new(Role::Lead);
    let mut meter: Vec<MeterChange> = Vec::new();
    let mut bar_start_tick: i64 = 0;
    let mut bar_len: i64 = 0;
    let mut pending: Option<(u8, u8)> = None; // (pitch, velocity bin) of a pitched note waiting for DUR
    let mut pending_root: Option<u8> = None;
    let tick_beats = |tick: i64, micro: i32| {
        (tick * MICRO_STEPS_PER_TICK as i64 + micro as i64) as f64
            / (TICKS_PER_BEAT as f64 * MICRO_STEPS_PER_TICK as f64)
    };
    for &id in ids {
        let before = g;
        let token = g.step(id)?;
        let here = bar_start_tick + g.tick_in_bar() as i64;
        match token {
            Token::Pad | Token::Bos | Token::Pos(_) => {}
            Token::Eos => seq.ended = true,
            Token::Role(r) => seq.role = r,
            Token::Style(s) => seq.styles.push(s),
            Token::TimeSig(i) => {
                let (n, d) = time_signature(i).unwrap_or((4, 4));
                meter.push(MeterChange {
                    bar: before.bars.saturating_sub(1),
                    numerator: n,
                    denominator: d,
                });
                if before.phase == Phase::BarStart {
                    bar_len = grammar::bar_ticks(i) as i64;
                }
            }
            Token::Tempo(b) => seq.tempo_bpm = Some(tempo_bucket_bpm(b)),
            Token::Bar => {
                bar_start_tick += bar_len;
                bar_len = g.bar_ticks as i64;
                seq.bars = g.bars;
            }
            Token::ChordRoot(r) => pending_root = Some(r),
            Token::ChordQual(q) => {
                let root = pending_root.take().unwrap_or(0);
                seq.chords.push(ChordEvent {
                    start: tick_beats(here, 0),
                    chord: Some(Chord::new(root, q)),
                });
            }
            Token::ChordNone => seq.chords.push(ChordEvent {
                start: tick_beats(here, 0),
                chord: None,
            }),
            Token::InPitch(p) => seq.inputs.push(Onset {
                start: tick_beats(here, 0),
                pitch: p,
            }),
            Token::Pitch(p) | Token::Drum(p) => pending = Some((p, 0)),
            Token::Vel(v) => {
                if seq.role.is_drums() {
                    if let Some((p, _)) = pending.take() {
                        seq.notes.push(Note {
                            start: tick_beats(here, 0),
                            duration: DRUM_HIT_TICKS as f64 / TICKS_PER_BEAT as f64,
                            pitch: p,
                            velocity: bin_velocity(v),
                        });
                    }
                } else if let Some(p) = pending.as_mut() {
                    p.1 = v;
                }
            }
            Token::Dur(d) => {
                if let Some((p, v)) = pending.take() {
                    seq.notes.push(Note {
                        start: tick_beats(here, 0),
                        duration: DURATION_TICKS[d as usize] as f64 / TICKS_PER_BEAT as f64,
                        pitch: p,
                        velocity: bin_velocity(v),
                    });
                }
            }
            Token::Micro(m) => {
                if let Some(n) = seq.notes.last_mut() {
                    // A push before the very first tick of the piece stays on it.
                    n.start = tick_beats(here, m as i32).max(0.0);
                }
            }
        }
    }
    if meter.is_empty() {
        meter.push(MeterChange {
            bar: 0,
            numerator: 4,
            denominator: 4,
        });
    }
    seq.meter = Meter::from_changes(meter);
    Ok(seq)
}

/// For each position of a well-formed stream, whether the model is trained to predict it.
///
/// Predicted: every time-advancing token (`BAR`, `EOS` and every `POS`) and the generated notes
/// (`PITCH`/`DRUM`, `VEL`, `DUR`, `MICRO`). Given: the header, `TS` changes, chords, `IN` notes
/// and `PAD`. Ids that are not tokens count as given.
///
/// A `POS` that only places given events (a chord change, a bass note the role hears) is
/// predicted too: the model's probability for it is its probability of *resting until that
/// event*. Left out of the loss (as in the first models), the model only ever learned the
/// positions where the role plays before the next given event, so it never rested: a lead over
/// a walking bass played on every beat (see models/README.md, "Why the first models never
/// rested"). At run time the session still writes those tokens itself when the model samples a
/// time-advancing token past the event (the rule in TOKENS.md), so sampling follows exactly the
/// distribution trained here.
pub fn predicted_mask(ids: &[u32]) -> Vec<bool> {
    ids.iter()
        .map(|&id| {
            matches!(
                Vocab::token(id),
                Some(
                    Token::Bar
                        | Token::Eos
                        | Token::Pos(_)
                        | Token::Pitch(_)
                        | Token::Drum(_)
                        | Token::Vel(_)
                        | Token::Dur(_)
                        | Token::Micro(_)
                )
            )
        })
        .collect()
}

/// The positions, beside [`predicted_mask`]'s, whose token says that a position holds a given
/// event: the first token after a `POS` when it is a chord (`CHORD_ROOT`, `CHORD_NONE`) or a heard
/// note (`IN_PITCH`). A network that predicts the next position predicts when anything happens
/// next, its own note or the input's; trained on these too, it also says which, so a session that
/// knows nothing is given at a sampled position can keep only the network's own share of it
/// (`Manifest::given_kind`, models/README.md, "Whose position").
pub fn given_kind_mask(ids: &[u32]) -> Vec<bool> {
    let mut out = vec![false; ids.len()];
    for i in 1..ids.len() {
        out[i] = matches!(Vocab::token(ids[i - 1]), Some(Token::Pos(_))) && opens_given_event(ids[i]);
    }
    out
}

/// Whether `id` can be the first token of a position's given events: a chord (`ROOT`,
/// `CHORD:NC`) or a heard note (`IN`), what [`given_kind_mask`] trains after a `POS`.
pub fn opens_given_event(id: u32) -> bool {
    matches!(
        Vocab::token(id),
        Some(Token::ChordRoot(_) | Token::ChordNone | Token::InPitch(_))
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chord::ChordQuality;

    #[test]
    fn the_given_kind_mask_marks_the_first_given_token_after_a_position() {
        let ids: Vec<u32> = [
            Token::Bar,
            Token::Pos(0),
            Token::ChordRoot(2),
            Token::ChordQual(ChordQuality::Min7),
            Token::InPitch(50),
            Token::InPitch(62),
            Token::Pitch(62),
            Token::Pos(6),
            Token::InPitch(55),
            Token::Pos(12),
            Token::Pitch(64),
        ]
        .iter()
        .map(|&t| Vocab::id(t))
        .collect();
        let m = given_kind_mask(&ids);
        let marked: Vec<usize> = (0..ids.len()).filter(|&i| m[i]).collect();
        assert_eq!(
            marked,
            vec![2, 8],
            "the chord after POS 0 and the heard note after POS 6 only"
        );
    }

    fn example() -> Sequence {
        let mut s = Sequence::new(Role::Lead);
        s.styles = vec![3];
        s.tempo_bpm = Some(tempo_bucket_bpm(9));
        s.chords = vec![
            ChordEvent {
                start: 0.0,
                chord: Some(Chord::new(2, ChordQuality::Min7)),
            },
            ChordEvent {
                start: 4.0,
                chord: Some(Chord::new(7, ChordQuality::Dom7)),
            },
        ];
        s.inputs = vec![Onset { start: 0.0, pitch: 50 }, Onset { start: 4.0, pitch: 43 }];
        s.notes = vec![
            Note {
                start: 0.0,
                duration: 0.5,
                pitch: 62,
                velocity: 84,
            },
            Note {
                start: 0.5,
                duration: 0.25,
                pitch: 65,
                velocity: 68,
            },
            Note {
                start: 5.0 + 2.0 / 3.0,
                duration: 1.0 / 3.0,
                pitch: 71,
                velocity: 100,
            },
        ];
        s.bars = 2;
        s
    }

    #[test]
    fn round_trips_an_example() {
        let t = Tokenizer::default();
        let ids = t.encode(&example()).unwrap();
        assert_eq!(t.decode(&ids).unwrap(), example());
    }

    #[test]
    fn mask_marks_generated_material_only() {
        let t = Tokenizer::default();
        let ids = t.encode(&example()).unwrap();
        let mask = predicted_mask(&ids);
        let v = Vocab::new();
        let predicted: Vec<String> = ids
            .iter()
            .zip(&mask)
            .filter(|(_, m)| **m)
            .map(|(&i, _)| v.describe(i))
            .collect();
        let given: Vec<String> = ids
            .iter()
            .zip(&mask)
            .filter(|(_, m)| !**m)
            .map(|(&i, _)| v.describe(i))
            .collect();
        assert!(
            predicted
                .iter()
                .all(|s| !s.starts_with("IN:") && !s.starts_with("ROOT") && !s.starts_with("QUAL"))
        );
        assert!(given.contains(&"IN:50".to_string()));
        // The group at beat 4 (POS:0 of bar 2) holds only given events, and its POS is still
        // predicted: the model decides to rest until it.
        assert!(given.iter().all(|s| !s.starts_with("POS")));
    }

    #[test]
    fn slice_restates_the_chord_in_force() {
        let s = example();
        let w = s.slice_bars(1, 2);
        assert_eq!(w.chords[0].chord, Some(Chord::new(7, ChordQuality::Dom7)));
        assert_eq!(w.notes.len(), 1);
        assert!((w.notes[0].start - (1.0 + 2.0 / 3.0)).abs() < 1e-12);
        let mut mid = s.clone();
        mid.chords.truncate(1);
        let w = mid.slice_bars(1, 2);
        assert_eq!(
            w.chords,
            vec![ChordEvent {
                start: 0.0,
                chord: Some(Chord::new(2, ChordQuality::Min7))
            }]
        );
    }

    #[test]
    fn microtiming_keeps_swing_and_push() {
        let t = Tokenizer {
            microtiming: true,
            ..Tokenizer::default()
        };
        let mut s = Sequence::new(Role::Lead);
        s.notes = vec![Note {
            start: 0.6,
            duration: 0.3,
            pitch: 60,
            velocity: 60,
        }];
        let back = t.decode(&t.encode(&s).unwrap()).unwrap();
        assert!((back.notes[0].start - 0.6).abs() <= 1.0 / 192.0 + 1e-12);
    }

    #[test]
    fn unsupported_meter_is_an_error() {
        let mut s = example();
        s.meter = Meter::constant(13, 4);
        assert!(matches!(
            Tokenizer::default().encode(&s),
            Err(EncodeError::UnsupportedTimeSignature(13, 4, 0))
        ));
    }
}
