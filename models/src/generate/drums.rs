//! What a session does for the drums: the memory of their groove, the drafts of their first bar,
//! and their steady dynamics.

use super::*;

/// Mixed into a session's seed before its drafts' seeds are drawn.
const DRAFT_SALT: u64 = 0xD1B5_4A32_D192_ED03;

/// The seed of the first bar's draft `d` (1, 2...) in a session seeded `seed`: the `d`-th output
/// of a generator seeded from `seed` through SplitMix64's mixing. (Seeding draft `d` with
/// `seed ^ d * gamma`, as before 2026-12-03, made sessions share drafts: with
/// [`session_seed`]'s multiples of the same gamma, the plugin's Seeds `s` and `d` both drew
/// `session_seed(s) ^ session_seed(d)`'s groove, and every Seed below the draft count drew the
/// same one, so Seeds 2 and 4 could play the same drums.)
pub(crate) fn draft_seed(seed: u64, d: u64) -> u64 {
    let mut g = Rng::new(Rng::new(seed ^ DRAFT_SALT).next_u64());
    (0..d).fold(0, |_, _| g.next_u64())
}

impl<M: TokenModel> Session<M> {
    /// Samples the first bar [`Constraints::first_bar_drafts`] times, each from its own seed,
    /// and rolls back to its start with the sampler in the state that drew the draft the network
    /// found most likely (mean log-probability a token), which generation then draws again. A
    /// draft with hits beats an empty one, whatever their scores: an empty bar is a token or two
    /// the network finds likely, and a groove that starts silent stays silent (the GMD drums'
    /// fast jazz at 290 BPM played nothing at five seeds of six; models/README.md, "An empty
    /// first bar"). A draft that cannot be rolled back (none can: the first bar is never
    /// re-primed) is kept as played.
    pub(super) fn draft_first_bar(&mut self, cond: &Conditioning) -> Result<(), GenerateError> {
        let end = self.origin + self.bar_ticks;
        let mut best = ((false, f64::NEG_INFINITY), *self.sampler.rng());
        for d in 0..self.config.constraints.first_bar_drafts as u64 {
            let rng = if d == 0 {
                *self.sampler.rng()
            } else {
                Rng::new(draft_seed(self.config.seed, d))
            };
            *self.sampler.rng() = rng;
            self.draft_score = (0.0, 0);
            let before = self.notes.len();
            self.generate_until(cond, end)?;
            let hits = self.notes[before..].iter().any(|n| n.tick < end);
            let mean = self.draft_score.0 / self.draft_score.1.max(1) as f64;
            if (hits, mean) > best.0 {
                best = ((hits, mean), rng);
            }
            if !self.rollback(self.origin) {
                return Ok(());
            }
        }
        *self.sampler.rng() = best.1;
        self.rng_before = best.1;
        self.draft_score = (0.0, 0);
        Ok(())
    }

    /// The drums' memory of their groove ([`crate::memory::groove`]) after a hit, a bar line or
    /// a position; none in a fill bar of the Fills plan (a fill leaves the groove).
    pub(super) fn recall_groove(&mut self, weights: crate::memory::MemoryWeights) {
        use crate::memory::groove::{Place, recall_tokens};
        let Some(&last_bar) = self.history_bars.last() else {
            return;
        };
        if self.state.bars == 0
            || self
                .config
                .fills
                .is_some_and(|plan| plan.is_fill(self.bar_start.div_euclid(self.bar_ticks)))
        {
            return;
        }
        let bars = self.bar_index() - last_bar;
        if bars < 0 {
            return;
        }
        let place = match self.tokens.last().and_then(|&id| Vocab::token(id)) {
            Some(Token::Pos(pos)) => Place::At { pos, bars },
            Some(Token::Bar | Token::Vel(_) | Token::Micro(_)) => Place::Between { bars },
            _ => return,
        };
        let found = recall_tokens(&self.history, &self.history_bars, place, &mut self.recalled_tokens);
        let w = weights.weight(found);
        if w > 0.0 {
            self.sampler
                .set_token_memory(w, &self.recalled_tokens, crate::sampling::MemoryScope::Rhythm);
        }
    }

    /// Masks the velocity bins of a drum hit of `key` outside the range its instrument class
    /// played over the last [`STEADY_BARS`] bars, widened by [`STEADY_MARGIN`] bins (downwards
    /// without limit for the snare's ghost notes); nothing until the class has played
    /// [`STEADY_MIN_HITS`] hits there. Reads only notes the stream holds, so rollback keeps it exact.
    pub(super) fn steady_velocity(&mut self, key: u8) {
        let Some(class) = crate::groove::drum_class(key) else {
            return;
        };
        let since = self.frontier() - STEADY_BARS * self.bar_ticks;
        let (mut lo, mut hi, mut n) = (u8::MAX, 0u8, 0usize);
        for r in self.notes.iter().rev() {
            if r.tick < since {
                break;
            }
            if crate::groove::drum_class(r.note.pitch) == Some(class) {
                let b = velocity_bin(r.note.velocity);
                lo = lo.min(b);
                hi = hi.max(b);
                n += 1;
            }
        }
        if n < STEADY_MIN_HITS {
            return;
        }
        let margin = if class == crate::groove::KICK_CLASS {
            STEADY_KICK_MARGIN
        } else {
            STEADY_MARGIN
        };
        let lo = if class == crate::groove::SNARE_CLASS {
            0
        } else {
            lo.saturating_sub(margin)
        };
        let hi = hi.saturating_add(margin);
        for b in 0..16u8 {
            if b < lo || b > hi {
                self.allowed[Vocab::id(Token::Vel(b)) as usize] = false;
            }
        }
    }
}
