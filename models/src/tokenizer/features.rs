//! Per-token context features: the chord in force and the position in the bar, computed from the
//! token stream itself, for every token.
//!
//! A transformer that sees the chord only as the `ROOT QUAL` tokens at a chord change must learn
//! to find the last of them by attention; a small model trained briefly did not (its lead paid
//! 0.001 nats per token when every chord symbol was moved a tritone). Models whose config sets
//! `features` add an embedding of these two ids to every token's embedding, so the harmony and the
//! metric position are in the residual stream at every position. The trainer computes them when it
//! batches windows; the runtime computes them from the tokens it was fed, so the token stream (the
//! contract) does not change and a rollback needs nothing but truncation.

use super::vocab::{Token, Vocab};

/// Feature rows of the chord: 0 = none (no chord yet, or N.C.), else `1 + root * 16 + quality`.
pub const CHORD_ROWS: usize = 1 + 12 * 16;
/// Feature rows of the position: 0 = none (header, or a bar line before its first `POS`), else
/// `1 + tick in the bar`.
pub const POS_ROWS: usize = 1 + 144;
/// Rows of the feature embedding table: the chord rows, then the position rows.
pub const FEATURE_ROWS: usize = CHORD_ROWS + POS_ROWS;
/// Feature ids per token (chord, position).
pub const FEATURES_PER_TOKEN: usize = 2;
/// Name of the graph input that carries them, int64 `[batch, new_tokens, 2]`.
pub const FEATURE_INPUT: &str = "feature_ids";

/// The state after some prefix of a stream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeatureState {
    root: Option<u8>,
    chord: u16,
    pos: u16,
}

impl FeatureState {
    /// Reads one token and returns the feature ids of that token's position: the chord in force
    /// and the position once the token is read (a `QUAL` completes a chord change; a `POS` moves
    /// the position; a `BAR` clears it; `BOS` resets everything).
    pub fn step(&mut self, id: u32) -> [u32; FEATURES_PER_TOKEN] {
        match Vocab::token(id) {
            Some(Token::Bos) => *self = FeatureState::default(),
            Some(Token::Bar) => self.pos = 0,
            Some(Token::Pos(p)) => self.pos = 1 + (p as u16).min(143),
            Some(Token::ChordRoot(r)) => self.root = Some(r % 12),
            Some(Token::ChordQual(q)) => {
                if let Some(r) = self.root {
                    self.chord = 1 + r as u16 * 16 + q.index() as u16;
                }
            }
            Some(Token::ChordNone) => {
                self.root = None;
                self.chord = 0;
            }
            _ => {}
        }
        [self.chord as u32, (CHORD_ROWS as u16 + self.pos) as u32]
    }
}

/// Feature ids of every token of `ids`, from a fresh state.
pub fn feature_ids(ids: &[u32]) -> Vec<[u32; FEATURES_PER_TOKEN]> {
    let mut s = FeatureState::default();
    ids.iter().map(|&id| s.step(id)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chord::{Chord, ChordQuality};
    use crate::music::{ChordEvent, Note, Role};
    use crate::tokenizer::{Sequence, Tokenizer};

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
        s.notes = vec![Note {
            start: 1.0,
            duration: 1.0,
            pitch: 65,
            velocity: 80,
        }];
        s.bars = 2;
        let ids = Tokenizer::default().encode(&s).unwrap();
        let f = feature_ids(&ids);
        let v = Vocab::new();
        let at = |name: &str| ids.iter().position(|&i| v.describe(i) == name).unwrap();
        let dm7 = 1 + 2 * 16 + ChordQuality::Min7.index() as u32;
        // The root alone does not change the chord; its quality does.
        assert_eq!(f[at("ROOT:D")][0], 0);
        assert_eq!(f[at("QUAL:Min7")][0], dm7);
        // The note on beat 2 (tick 12) sees Dm7 and its position.
        assert_eq!(f[at("PITCH:65")], [dm7, CHORD_ROWS as u32 + 1 + 12]);
        // N.C. in bar 2 clears the chord; the bar line clears the position.
        assert_eq!(f[at("CHORD:NC")][0], 0);
        let second_bar = ids.iter().rposition(|&i| v.describe(i) == "BAR").unwrap();
        assert_eq!(f[second_bar][1], CHORD_ROWS as u32);
        assert!(
            f.iter()
                .all(|r| (r[0] as usize) < CHORD_ROWS && (r[1] as usize) < FEATURE_ROWS)
        );
    }
}
