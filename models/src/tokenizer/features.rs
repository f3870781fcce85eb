//! Per-token context features: the chord in force, the position in the bar and (in the second
//! feature set) the tempo bucket, computed from the token stream itself, for every token.
//!
//! A transformer that sees the chord only as the `ROOT QUAL` tokens at a chord change must learn
//! to find the last of them by attention; a small model trained briefly did not (its lead paid
//! 0.001 nats per token when every chord symbol was moved a tritone). Models whose config sets
//! `features` add an embedding of these two ids to every token's embedding, so the harmony and the
//! metric position are in the residual stream at every position. The trainer computes them when it
//! batches windows; the runtime computes them from the tokens it was fed, so the token stream (the
//! contract) does not change and a rollback needs nothing but truncation.
//!
//! The tempo came second: a jazz lead seeing it only as the header's `TEMPO` token bent its density
//! too little with the tempo (models/README.md, "Why the lead plays too many notes on the test
//! solos: tempo"). A model's feature count ([`feature_count`] of its graph input: 2 or 3) says
//! which set it reads; the third id indexes rows appended after the first set's, so a model with
//! two features is one with three whose tempo rows are zero.
//!
//! The style tags came third (the third feature set, [`STYLE_FEATURES`] ids: chord, position, tempo
//! and a slot for each of up to [`MAX_STYLES_PER_SEQUENCE`] header tags). A tag is one header
//! token, and once a window holds a bar or two of music the network reads its style from the
//! notes: a period tag moved the neoclassical piano's likelihood by 0.0006 nats a token and its
//! music not at all (models/README.md, "What the period tag does"). Every style tag of the header
//! (composer and period; genre, groove, drummer, beat or fill) is embedded at every token, from
//! one table of [`STYLE_ROWS`] shared by all their ids, so their embeddings add up whatever their
//! order and number; a header with fewer tags fills the rest with the table's "none" row.
//!
//! The harmonic rhythm came fourth (the fourth feature set, [`MAX_FEATURES`] ids: the third set's and
//! one more): how many times the chord changed over the current bar and the
//! [`HARMONY_BARS`]` - 1` before it, and how many bar lines have passed since it last changed. A
//! jazz lead that saw the changes only as chord tokens played 19 % more notes than its soloists
//! over slow harmony (vamps, modal tunes) and 13 % fewer over fast changes at ballad tempos
//! (models/README.md, "Seeds that overlapped"); the harmonic rhythm is something a soloist
//! phrases by. A stream's first chord (a piece's, or the chord a window restates at its start) is
//! not counted as a change: the history before it is unknown, in training and in the plugin alike.

use super::vocab::{MAX_STYLES_PER_SEQUENCE, STYLE_SLOTS, TEMPO_BUCKETS, Token, Vocab};

/// Feature rows of the chord: 0 = none (no chord yet, or N.C.), else `1 + root * 16 + quality`.
pub const CHORD_ROWS: usize = 1 + 12 * 16;
/// Feature rows of the position: 0 = none (header, or a bar line before its first `POS`), else
/// `1 + tick in the bar`.
pub const POS_ROWS: usize = 1 + 144;
/// Rows of the first feature set's embedding table: the chord rows, then the position rows.
pub const FEATURE_ROWS: usize = CHORD_ROWS + POS_ROWS;
/// Feature rows of the tempo: 0 = none (no `TEMPO` in the header), else `1 + bucket`.
pub const TEMPO_ROWS: usize = 1 + TEMPO_BUCKETS as usize;
/// Feature rows of a header style tag: 0 = none, else `1 + slot`.
pub const STYLE_ROWS: usize = 1 + STYLE_SLOTS as usize;
/// Feature ids per token of the first set (chord, position).
pub const FEATURES_PER_TOKEN: usize = 2;
/// Feature ids per token of the second set (chord, position, tempo).
pub const TEMPO_FEATURES: usize = 3;
/// Feature ids per token of the third set (chord, position, tempo, the header's style tags).
pub const STYLE_FEATURES: usize = TEMPO_FEATURES + MAX_STYLES_PER_SEQUENCE;
/// Bars over which the harmonic rhythm counts the chord changes: the current one and those before.
pub const HARMONY_BARS: usize = 4;
/// Classes of the change count over [`HARMONY_BARS`] bars: 0 to `HARMONY_CHANGES - 1` (and more).
pub const HARMONY_CHANGES: usize = 8;
/// Classes of the chord's age in bar lines: 0 to `HARMONY_AGES - 1` (and more).
pub const HARMONY_AGES: usize = 5;
/// Feature rows of the harmonic rhythm: 0 = no chord yet, else
/// `1 + changes * HARMONY_AGES + age`.
pub const HARMONY_ROWS: usize = 1 + HARMONY_CHANGES * HARMONY_AGES;
/// Feature ids per token of the largest set (the third set's, and the harmonic rhythm).
pub const MAX_FEATURES: usize = STYLE_FEATURES + 1;
/// Name of the graph input that carries them, int64 `[batch, new_tokens, count]` (2, 3,
/// [`STYLE_FEATURES`] or [`MAX_FEATURES`]).
pub const FEATURE_INPUT: &str = "feature_ids";

/// Rows of the embedding table of a model reading `count` feature ids per token (2, 3,
/// [`STYLE_FEATURES`] or [`MAX_FEATURES`]).
pub fn feature_rows(count: usize) -> usize {
    if count > STYLE_FEATURES {
        FEATURE_ROWS + TEMPO_ROWS + STYLE_ROWS + HARMONY_ROWS
    } else if count > TEMPO_FEATURES {
        FEATURE_ROWS + TEMPO_ROWS + STYLE_ROWS
    } else if count > FEATURES_PER_TOKEN {
        FEATURE_ROWS + TEMPO_ROWS
    } else {
        FEATURE_ROWS
    }
}

/// The state after some prefix of a stream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeatureState {
    root: Option<u8>,
    chord: u16,
    pos: u16,
    tempo: u16,
    /// The header's style tags, `1 + slot` (0: none).
    styles: [u16; MAX_STYLES_PER_SEQUENCE],
    /// Whether a chord (or N.C.) has been read since `BOS`.
    harmony_known: bool,
    /// Chord changes in the current bar (`[0]`) and the bars before it.
    changes: [u8; HARMONY_BARS],
    /// Bar lines since the chord last changed (or since the first chord).
    chord_age: u8,
}

impl FeatureState {
    /// Reads one token and returns the feature ids of that token's position: the chord in force,
    /// the position and the tempo once the token is read (a `QUAL` completes a chord change; a
    /// `POS` moves the position; a `BAR` clears it; `TEMPO` sets the tempo; `BOS` resets
    /// everything). A model with fewer features reads the first ones.
    pub fn step(&mut self, id: u32) -> [u32; MAX_FEATURES] {
        match Vocab::token(id) {
            Some(Token::Bos) => *self = FeatureState::default(),
            Some(Token::Tempo(b)) => self.tempo = 1 + (b as u16).min(TEMPO_BUCKETS as u16 - 1),
            Some(Token::Style(slot)) => {
                if let Some(free) = self.styles.iter_mut().find(|s| **s == 0) {
                    *free = 1 + slot.min(STYLE_SLOTS as u16 - 1);
                }
            }
            Some(Token::Bar) => {
                self.pos = 0;
                self.changes.rotate_right(1);
                self.changes[0] = 0;
                self.chord_age = self.chord_age.saturating_add(1);
            }
            Some(Token::Pos(p)) => self.pos = 1 + (p as u16).min(143),
            Some(Token::ChordRoot(r)) => self.root = Some(r % 12),
            Some(Token::ChordQual(q)) => {
                if let Some(r) = self.root {
                    self.set_chord(1 + r as u16 * 16 + q.index() as u16);
                }
            }
            Some(Token::ChordNone) => {
                self.root = None;
                self.set_chord(0);
            }
            _ => {}
        }
        let mut out = [(FEATURE_ROWS + TEMPO_ROWS) as u32; MAX_FEATURES];
        out[0] = self.chord as u32;
        out[1] = (CHORD_ROWS as u16 + self.pos) as u32;
        out[2] = (FEATURE_ROWS as u16 + self.tempo) as u32;
        for (o, &s) in out[TEMPO_FEATURES..STYLE_FEATURES].iter_mut().zip(&self.styles) {
            *o += s as u32;
        }
        out[STYLE_FEATURES] = (FEATURE_ROWS + TEMPO_ROWS + STYLE_ROWS + self.harmony()) as u32;
        out
    }

    /// A chord change (or the first chord) to the chord feature `chord` (0: N.C.).
    fn set_chord(&mut self, chord: u16) {
        if self.harmony_known && chord != self.chord {
            self.changes[0] = self.changes[0].saturating_add(1);
        }
        if !self.harmony_known || chord != self.chord {
            self.chord_age = 0;
        }
        self.harmony_known = true;
        self.chord = chord;
    }

    /// The harmonic-rhythm row: 0 before any chord, else `1 + changes * HARMONY_AGES + age`.
    fn harmony(&self) -> usize {
        if !self.harmony_known {
            return 0;
        }
        let changes: usize = self.changes.iter().map(|&c| c as usize).sum();
        1 + changes.min(HARMONY_CHANGES - 1) * HARMONY_AGES + (self.chord_age as usize).min(HARMONY_AGES - 1)
    }
}

/// Feature ids of every token of `ids`, from a fresh state, `count` (1 to [`MAX_FEATURES`]) per
/// token, flat.
pub fn feature_ids(ids: &[u32], count: usize) -> Vec<u32> {
    let mut s = FeatureState::default();
    let count = count.min(MAX_FEATURES);
    ids.iter().flat_map(|&id| s.step(id).into_iter().take(count)).collect()
}

/// Outputs of the relative-pitch head (models with `relative_pitch`): the intervals above the
/// chord's root.
pub const RELATIVE_INTERVALS: usize = 12;
/// Classes of [`relative_class`]: the intervals, and a last one for "no chord in force", whose
/// value is always 0.
pub const RELATIVE_CLASSES: usize = RELATIVE_INTERVALS + 1;

/// The root pitch class of the chord feature id `chord` (0 for none, else
/// `1 + root * 16 + quality`), or `None` without a chord.
pub fn chord_root(chord: u32) -> Option<u8> {
    (chord != 0 && (chord as usize) < CHORD_ROWS).then(|| ((chord - 1) / 16) as u8)
}

/// The class of MIDI pitch `pitch` under the chord feature id `chord` (the first feature:
/// 0 for none, else `1 + root * 16 + quality`): `(pitch - root) mod 12`, or 12 without a chord.
/// A model with the relative-pitch head adds its value for this class to the pitch's logit, so a
/// chord tone is the same output in every key.
pub fn relative_class(chord: u32, pitch: u8) -> usize {
    match chord_root(chord) {
        Some(root) => (pitch as usize + 12 - root as usize) % 12,
        None => RELATIVE_CLASSES - 1,
    }
}

/// The feature count of a graph input shaped `[batch, seq, count]`: 2, 3, [`STYLE_FEATURES`] or
/// [`MAX_FEATURES`], else `None`.
pub fn feature_count(shape: &[i64]) -> Option<usize> {
    match shape.last() {
        Some(&c) => usize::try_from(c)
            .ok()
            .filter(|c| [FEATURES_PER_TOKEN, TEMPO_FEATURES, STYLE_FEATURES, MAX_FEATURES].contains(c)),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chord::{Chord, ChordQuality};
    use crate::music::{ChordEvent, Note, Role};
    use crate::tokenizer::{Sequence, Tokenizer};

    fn a_note() -> Note {
        Note {
            start: 1.0,
            duration: 1.0,
            pitch: 65,
            velocity: 80,
        }
    }

    /// The tokens of `s` and their features, every id of the largest set.
    fn tokens_and_features(s: &Sequence) -> (Vec<u32>, Vec<u32>) {
        let ids = Tokenizer::default().encode(s).unwrap();
        let flat = feature_ids(&ids, MAX_FEATURES);
        (ids, flat)
    }

    #[test]
    fn chord_and_position_follow_the_stream() {
        let mut s = Sequence::new(Role::Lead);
        s.chords = vec![
            ChordEvent {
                start: 0.0,
                chord: Some(Chord::new(2, ChordQuality::Min7)),
            },
            ChordEvent {
                start: 4.0,
                chord: None,
            },
        ];
        s.notes = vec![a_note()];
        s.bars = 2;
        s.tempo_bpm = Some(200.0);
        let (ids, flat) = tokens_and_features(&s);
        let f: Vec<&[u32]> = flat.chunks(MAX_FEATURES).collect();
        let v = Vocab::new();
        let at = |name: &str| ids.iter().position(|&i| v.describe(i) == name).unwrap();
        let dm7 = 1 + 2 * 16 + ChordQuality::Min7.index() as u32;
        // The root alone does not change the chord; its quality does.
        assert_eq!(f[at("ROOT:D")][0], 0);
        assert_eq!(f[at("QUAL:Min7")][0], dm7);
        // The note on beat 2 (tick 12) sees Dm7 and its position.
        let tempo = FEATURE_ROWS as u32 + 1 + crate::tokenizer::vocab::tempo_bucket(200.0) as u32;
        assert_eq!(f[at("PITCH:65")][..3], [dm7, CHORD_ROWS as u32 + 1 + 12, tempo]);
        // The tempo holds from the header's TEMPO on; before it, none.
        assert_eq!(f[0][2], FEATURE_ROWS as u32);
        // N.C. in bar 2 clears the chord; the bar line clears the position.
        assert_eq!(f[at("CHORD:NC")][0], 0);
        let second_bar = ids.iter().rposition(|&i| v.describe(i) == "BAR").unwrap();
        assert_eq!(f[second_bar][1], CHORD_ROWS as u32);
        assert!(f.iter().all(|r| (r[0] as usize) < CHORD_ROWS
            && (r[1] as usize) < FEATURE_ROWS
            && (FEATURE_ROWS..feature_rows(3)).contains(&(r[2] as usize))));
        assert_eq!(f[second_bar][2], tempo);
        // Two features per token are the first two of three.
        let two = feature_ids(&ids, 2);
        assert!(two.chunks(2).zip(&f).all(|(a, b)| a == &b[..2]));
        assert_eq!(feature_count(&[-1, -1, 3]), Some(3));
        assert_eq!(feature_count(&[-1, -1, 4]), None);
        assert_eq!(feature_count(&[-1, -1, 5]), None);
        assert_eq!(feature_count(&[-1, -1, STYLE_FEATURES as i64]), Some(STYLE_FEATURES));
        assert_eq!(feature_count(&[-1, -1, MAX_FEATURES as i64]), Some(MAX_FEATURES));
        // No style tag in this header: every style id is the table's "none" row.
        let none = (FEATURE_ROWS + TEMPO_ROWS) as u32;
        assert!(f.iter().all(|r| r[3..STYLE_FEATURES].iter().all(|&x| x == none)));
    }

    #[test]
    fn every_style_tag_holds_from_the_header_on() {
        let mut s = Sequence::new(Role::Piano);
        s.styles = vec![7, 300, 9];
        s.notes = vec![a_note()];
        s.bars = 2;
        let (ids, flat) = tokens_and_features(&s);
        let f: Vec<&[u32]> = flat.chunks(MAX_FEATURES).collect();
        let base = (FEATURE_ROWS + TEMPO_ROWS) as u32;
        assert!(f[0][3..STYLE_FEATURES].iter().all(|&x| x == base), "BOS: none yet");
        let last = f.last().unwrap();
        let mut tags: Vec<u32> = last[3..STYLE_FEATURES]
            .iter()
            .filter(|&&x| x != base)
            .copied()
            .collect();
        tags.sort_unstable();
        assert_eq!(tags, [base + 8, base + 10, base + 301], "every tag, whatever its order");
        assert!(flat.iter().all(|&x| (x as usize) < feature_rows(MAX_FEATURES)));
        // Three features per token are the first three of five.
        let three = feature_ids(&ids, 3);
        assert!(three.chunks(3).zip(&f).all(|(a, b)| a == &b[..3]));
    }

    #[test]
    fn the_harmonic_rhythm_counts_changes_over_four_bars_and_the_chord_s_age() {
        let chord = |start: f64, root: u8| ChordEvent {
            start,
            chord: Some(Chord::new(root, ChordQuality::Dom7)),
        };
        // 4/4: C7 for two bars, then F7 and Bb7 in bar 3, N.C. in bar 4, then nothing for 4 bars.
        let mut s = Sequence::new(Role::Lead);
        s.chords = vec![
            chord(0.0, 0),
            chord(8.0, 5),
            chord(10.0, 10),
            ChordEvent {
                start: 12.0,
                chord: None,
            },
        ];
        s.notes = (0..9)
            .map(|b| Note {
                start: 4.0 * b as f64 + 1.0,
                ..a_note()
            })
            .collect();
        s.bars = 9;
        let (ids, flat) = tokens_and_features(&s);
        let v = Vocab::new();
        let base = (FEATURE_ROWS + TEMPO_ROWS + STYLE_ROWS) as u32;
        // The harmonic rhythm each note (beat 2 of bars 1-9) is played over: (changes, age).
        let heard: Vec<(u32, u32)> = ids
            .iter()
            .zip(flat.chunks(MAX_FEATURES))
            .filter(|(i, _)| v.describe(**i).starts_with("PITCH"))
            .map(|(_, f)| {
                let h = f[STYLE_FEATURES] - base;
                assert!(h > 0, "a chord is known from bar 1 on");
                ((h - 1) / HARMONY_AGES as u32, (h - 1) % HARMONY_AGES as u32)
            })
            .collect();
        assert_eq!(
            heard,
            [(0, 0), (0, 1), (1, 0), (3, 0), (3, 1), (3, 2), (1, 3), (0, 4), (0, 4)],
            "the first chord is no change; F7 on beat 1 of bar 3 is heard on beat 2, Bb7 not yet"
        );
        // Before the first chord: none. The ids fit the table, and the third set is the first 11.
        assert_eq!(flat[STYLE_FEATURES], base);
        assert!(flat.iter().all(|&x| (x as usize) < feature_rows(MAX_FEATURES)));
        let eleven = feature_ids(&ids, STYLE_FEATURES);
        assert!(
            eleven
                .chunks(STYLE_FEATURES)
                .zip(flat.chunks(MAX_FEATURES))
                .all(|(a, b)| a == &b[..STYLE_FEATURES])
        );
        assert_eq!(feature_rows(STYLE_FEATURES) + HARMONY_ROWS, feature_rows(MAX_FEATURES));
    }
}
