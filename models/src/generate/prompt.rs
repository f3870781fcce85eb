//! Sessions that start from a prompt, and silence until a tick.
//!
//! A prompt is the beginning of the generated role's own stream: a sketch to continue (`trainer
//! generate --prompt`), the user's last bars when the plugin's *Continue* mode takes over, or the
//! phrase a *Call and response* answer develops. Its bars are encoded by the one tokenizer, with
//! the conditioning of those bars (chords, and input onsets for roles that read them), and written
//! the way a re-prime rebuilds a stream: the tokens are replayed through the grammar without
//! making notes (the prompt is not played again) and the model is prefilled with them. Generation
//! then goes on from the prompt's last event.
//!
//! [`SessionConfig::silent_until`] keeps the session quiet before a tick: position tokens before
//! it and note tokens while the stream is before it are masked, so time moves on (a `BAR`, or a
//! position at or after the tick) and the first note starts there. That is the rest between a
//! phrase and its answer, as the model sees it.
//!
//! A rollback cannot reach into the prompt (its tokens hold no sampler state, as re-primed bars):
//! it returns `false` there, and the caller starts a new session.

use super::*;

impl<M: TokenModel> Session<M> {
    /// Writes the prompt's bars as the start of the stream (instead of the header and first
    /// bar). Drops bars from the front while the prompt takes more than half the context.
    pub(super) fn write_prompt(&mut self, cond: &Conditioning) -> Result<(), GenerateError> {
        let bt = self.bar_ticks;
        let end = match self.config.silent_until {
            Some(t) => t,
            None => self
                .config
                .prompt
                .iter()
                .map(|n| beat_to_tick(n.start) + 1)
                .max()
                .unwrap_or(self.origin),
        }
        .max(self.origin);
        let bars = (end - self.origin + bt - 1).div_euclid(bt).max(1);
        let half = self.model.context_len() / 2;
        let mut first = 0;
        let mut ids = self.encode_prompt(cond, first, bars, end)?;
        while ids.len() > half && first + 1 < bars {
            first += 1;
            ids = self.encode_prompt(cond, first, bars, end)?;
        }
        self.rebuild(&ids, self.origin + first * bt)
    }

    /// The prompt's bars `first..bars` (counted from the origin) up to tick `end`, encoded.
    fn encode_prompt(&self, cond: &Conditioning, first: i64, bars: i64, end: i64) -> Result<Vec<u32>, GenerateError> {
        let from = self.origin + first * self.bar_ticks;
        let at = |tick: i64| tick_to_beat(tick - from);
        let mut seq = Sequence::new(self.config.role);
        seq.styles = self.header_styles(from.div_euclid(self.bar_ticks));
        seq.meter = Meter::constant(self.config.numerator, self.config.denominator);
        seq.tempo_bpm = self.config.tempo_bpm;
        if let Some(c) = cond.chord_at(from)
            && self.config.write_chords
        {
            seq.chords.push(ChordEvent { start: 0.0, chord: c });
        }
        // (A prompt that ends before the origin leaves `end` at it: no chord change to restate.)
        for (&t, &c) in self.given_chords(cond).range(from + 1..end.max(from + 1)) {
            seq.chords.push(ChordEvent { start: at(t), chord: c });
        }
        if self.config.write_inputs {
            for (&t, pitches) in cond.inputs.range(from..end) {
                seq.inputs
                    .extend(pitches.iter().map(|&pitch| Onset { start: at(t), pitch }));
            }
        }
        let (lo, hi) = (tick_to_beat(from), tick_to_beat(end));
        seq.notes = self
            .config
            .prompt
            .iter()
            .filter(|n| n.start >= lo - 1e-9 && n.start < hi - 1e-9)
            .map(|n| Note {
                start: n.start - lo,
                ..*n
            })
            .collect();
        seq.bars = (bars - first) as u32;
        let tok = Tokenizer {
            microtiming: self.config.microtiming,
            ..Tokenizer::default()
        };
        Ok(tok.encode(&seq)?)
    }

    /// Masks what would start a note before [`SessionConfig::silent_until`]: note tokens while
    /// the stream is before it, and positions before it. Leaves the mask as it was if nothing
    /// would be left.
    pub(super) fn mask_silence(&mut self) {
        let Some(quiet) = self.config.silent_until else { return };
        if self.frontier() >= quiet {
            return;
        }
        let silenced = |id: usize, bar_start: i64| match Vocab::token(id as u32) {
            Some(Token::Pitch(_) | Token::Drum(_)) => true,
            Some(Token::Pos(p)) => bar_start + (p as i64) < quiet,
            _ => false,
        };
        let left = (0..self.allowed.len()).any(|id| self.allowed[id] && !silenced(id, self.bar_start));
        if !left {
            return;
        }
        for id in 0..self.allowed.len() {
            if self.allowed[id] && silenced(id, self.bar_start) {
                self.allowed[id] = false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{model, progression as cond};
    use super::*;
    use crate::music::Role;

    /// A user's phrase: a falling figure, 8ths, over two bars and a half.
    fn phrase() -> Vec<Note> {
        (0..20)
            .map(|i| Note {
                start: 4.0 + i as f64 * 0.5,
                duration: 0.5,
                pitch: 74 - (i % 5) as u8 * 2,
                velocity: 90,
            })
            .collect()
    }

    fn config(prompt: Vec<Note>, silent_until: Option<i64>) -> SessionConfig {
        let mut c = SessionConfig::new(Role::Lead);
        c.seed = 7;
        c.prompt = prompt;
        c.silent_until = silent_until;
        c
    }

    #[test]
    fn a_prompted_session_continues_after_the_prompt_and_not_before() {
        let cond = cond(12);
        let bt = 4 * TICKS_PER_BEAT as i64;
        // The phrase ends at beat 14; the answer may start from beat 15.
        let quiet = beat_to_tick(15.0);
        let mut s = Session::new(model(), config(phrase(), Some(quiet)), bt, &cond).unwrap();
        assert_eq!(s.origin(), bt);
        // The stream holds the prompt: it decodes to the phrase (moved to the stream's origin).
        let seq = decode(s.tokens()).unwrap();
        assert_eq!(seq.notes.len(), 20);
        assert_eq!(seq.notes[0].pitch, 74);
        assert_eq!(seq.chords.len(), 3, "{:?}", seq.chords);
        s.generate_until(&cond, 8 * bt).unwrap();
        let mut out = Vec::new();
        s.drain_notes(&mut out);
        assert!(out.len() >= 8, "{out:?}");
        assert!(out.iter().all(|n| n.start >= 15.0 - 1e-9), "{out:?}");
        assert!(
            out.iter().any(|n| n.start < 20.0),
            "the answer starts soon after the rest: {out:?}"
        );
        // Same settings, same notes.
        let mut again = Session::new(model(), config(phrase(), Some(quiet)), bt, &cond).unwrap();
        again.generate_until(&cond, 8 * bt).unwrap();
        let mut out2 = Vec::new();
        again.drain_notes(&mut out2);
        assert_eq!(out, out2);
        // A rollback after the prompt regenerates the same; into the prompt it cannot.
        assert!(s.rollback(beat_to_tick(20.0)));
        s.generate_until(&cond, 8 * bt).unwrap();
        let regenerated: Vec<_> = s.notes().copied().collect();
        assert_eq!(regenerated, out);
        assert!(!s.rollback(beat_to_tick(8.0)));
    }

    #[test]
    fn silence_without_a_prompt_and_a_long_prompt_drops_bars_in_front() {
        let cond = cond(40);
        let bt = 4 * TICKS_PER_BEAT as i64;
        let mut s = Session::new(model(), config(vec![], Some(beat_to_tick(9.5))), 0, &cond).unwrap();
        s.generate_until(&cond, 4 * bt).unwrap();
        let notes: Vec<_> = s.notes().copied().collect();
        assert!(!notes.is_empty());
        assert!(notes.iter().all(|n| n.start >= 9.5 - 1e-9), "{notes:?}");

        // 30 bars of 8ths do not fit half of a 600-token context: the front bars go.
        let long: Vec<Note> = (0..240)
            .map(|i| Note {
                start: i as f64 * 0.5,
                duration: 0.5,
                pitch: 60 + (i % 7) as u8,
                velocity: 80,
            })
            .collect();
        let s = Session::new(model(), config(long, Some(30 * bt)), 0, &cond).unwrap();
        assert!(s.origin() > 0 && s.origin() % bt == 0, "{}", s.origin());
        assert!(s.tokens().len() <= s.model().context_len() / 2);
        let seq = decode(s.tokens()).unwrap();
        assert_eq!(seq.bars as i64, 30 - s.origin() / bt);
    }
}
