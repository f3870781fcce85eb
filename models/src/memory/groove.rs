//! The drums' memory of their groove: what the drummer played after the hits they are playing
//! now, the last time they played them.
//!
//! A drummer holds a groove: bar after bar the same kick, snare and hi-hat pattern, varied a
//! little and left for a fill. The drums network hedges instead: over one rock header it plays a
//! backbeat bar, then a half-time bar, then a line of ghost notes with neither 2 nor 4, choosing
//! among the data's rock grooves bar by bar rather than holding the one it started
//! (models/README.md, "The human drums"). This is the piece's memory ([`super`]) over the
//! drums' hits: each hit is kept as its position in the bar and its key ([`hit_key`]), the
//! longest earlier match of the last hits is found as for a pitched role's notes, and what followed
//! it is mixed into the choice of what comes next in time: another drum at this position, the
//! next position, or the bar line ([`recall_tokens`], [`crate::sampling::MemoryScope::Rhythm`]).
//! The microtiming and the velocity stay the network's: the memory holds the pattern, the network
//! plays it with its feel.

use super::{Key, Recall, recall_with};
use crate::tokenizer::{Token, Vocab};

/// A drum hit as the groove memory keeps it: its position in the bar (ticks, as its `POS`) and
/// its GM key.
pub fn hit_key(pos: u8, drum: u8) -> Key {
    pos as Key * 128 + (drum & 127) as Key
}

/// The position and key of a [`hit_key`].
pub fn hit_of(key: Key) -> (u8, u8) {
    ((key / 128) as u8, (key % 128) as u8)
}

/// Where the drums' stream stands when its next token in time is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// After a hit (its velocity or microtiming), or after a bar line: `bars` bar lines after
    /// the bar of the last hit.
    Between {
        /// Bar lines since the last hit's bar.
        bars: i32,
    },
    /// After `POS:pos`, before its first hit, `bars` bar lines after the bar of the last hit.
    At {
        /// The position (ticks in the bar).
        pos: u8,
        /// Bar lines since the last hit's bar.
        bars: i32,
    },
}

/// Finds the longest earlier match of the end of `keys` (hits as [`hit_key`]s in the order
/// played, `bars[i]` the bar of hit `i`) and counts into `dist` (indexed by token id) the token
/// that plays, from `place`, what followed each occurrence: the bar line, the next `POS`, or a
/// `DRUM` at this position. `dist` is cleared first; a continuation that cannot be played from
/// here (a later key at the same position) is left out, and the [`Recall`]'s count is of those
/// that can (none: [`Recall::default`]).
pub fn recall_tokens(keys: &[Key], bars: &[i32], place: Place, dist: &mut [f32]) -> Recall {
    dist.fill(0.0);
    let n = keys.len();
    if n == 0 || bars.len() != n {
        return Recall::default();
    }
    let (pos, drum) = hit_of(keys[n - 1]);
    let mut playable = 0;
    let mut found = recall_with(keys, |e| {
        let after = bars[e] - bars[e - 1];
        let (p, k) = hit_of(keys[e]);
        let token = match place {
            Place::Between { bars } if after > bars => Some(Token::Bar),
            Place::Between { bars: 0 } if after == 0 => {
                if p == pos && k > drum {
                    Some(Token::Drum(k))
                } else if p > pos {
                    Some(Token::Pos(p))
                } else {
                    None
                }
            }
            Place::Between { bars } if after == bars => Some(Token::Pos(p)),
            Place::At { pos: at, bars } if after == bars && p == at => Some(Token::Drum(k)),
            _ => None,
        };
        if let Some(t) = token
            && let Some(slot) = dist.get_mut(Vocab::id(t) as usize)
        {
            *slot += 1.0;
            playable += 1;
        }
    });
    if playable == 0 {
        return Recall::default();
    }
    found.count = playable;
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokenizer::VOCAB_SIZE;

    /// A rock bar: kick on 1 and 3, snare on 2 and 4, hi-hat 8ths (12 ticks a beat).
    fn rock_bar(bar: i32, keys: &mut Vec<Key>, bars: &mut Vec<i32>) {
        for beat in 0..4u8 {
            for half in 0..2u8 {
                let pos = beat * 12 + half * 6;
                if half == 0 {
                    keys.push(hit_key(pos, if beat % 2 == 0 { 36 } else { 38 }));
                    bars.push(bar);
                }
                keys.push(hit_key(pos, 42));
                bars.push(bar);
            }
        }
    }

    fn top(dist: &[f32]) -> Option<Token> {
        let (i, &w) = dist.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1))?;
        (w > 0.0).then(|| Vocab::token(i as u32)).flatten()
    }

    #[test]
    fn a_groove_recalls_the_next_hit_the_next_position_and_the_bar_line() {
        let (mut keys, mut bars) = (Vec::new(), Vec::new());
        rock_bar(0, &mut keys, &mut bars);
        rock_bar(1, &mut keys, &mut bars);
        let mut dist = vec![0.0; VOCAB_SIZE as usize];
        // Bar 2 so far: the kick on 1.
        keys.push(hit_key(0, 36));
        bars.push(2);
        let r = recall_tokens(&keys, &bars, Place::Between { bars: 0 }, &mut dist);
        assert!(r.len >= 1 && r.count >= 1, "{r:?}");
        assert_eq!(top(&dist), Some(Token::Drum(42)), "the hi-hat with the kick");
        keys.push(hit_key(0, 42));
        bars.push(2);
        let r = recall_tokens(&keys, &bars, Place::Between { bars: 0 }, &mut dist);
        assert_eq!(r.len, super::super::MEMORY_ORDERS);
        assert_eq!(r.period, 12, "one bar back (12 hits)");
        assert_eq!(top(&dist), Some(Token::Pos(6)), "then the next 8th");
        // At that position, the hi-hat.
        recall_tokens(&keys, &bars, Place::At { pos: 6, bars: 0 }, &mut dist);
        assert_eq!(top(&dist), Some(Token::Drum(42)));
        // At a position the groove never played, nothing.
        let r = recall_tokens(&keys, &bars, Place::At { pos: 3, bars: 0 }, &mut dist);
        assert_eq!(r, Recall::default());
        assert!(dist.iter().all(|&x| x == 0.0));
        // At the end of bar 1 the memory closes the bar, and after the bar line opens with the
        // kick on 1.
        let (k1, b1) = (&keys[..24], &bars[..24]);
        recall_tokens(k1, b1, Place::Between { bars: 0 }, &mut dist);
        assert_eq!(top(&dist), Some(Token::Bar));
        recall_tokens(k1, b1, Place::Between { bars: 1 }, &mut dist);
        assert_eq!(top(&dist), Some(Token::Pos(0)));
        recall_tokens(k1, b1, Place::At { pos: 0, bars: 1 }, &mut dist);
        assert_eq!(top(&dist), Some(Token::Drum(36)));
    }

    #[test]
    fn keys_keep_the_position_and_the_drum() {
        for (pos, drum) in [(0, 36), (143, 127), (6, 42)] {
            assert_eq!(hit_of(hit_key(pos, drum)), (pos, drum));
        }
        let mut dist = vec![0.0; VOCAB_SIZE as usize];
        assert_eq!(
            recall_tokens(&[], &[], Place::Between { bars: 0 }, &mut dist),
            Recall::default()
        );
        assert_eq!(
            recall_tokens(&[hit_key(0, 36)], &[0, 1], Place::Between { bars: 0 }, &mut dist),
            Recall::default(),
            "keys and bars disagree"
        );
    }
}
