//! Whose position: a network that predicts the next position predicts when anything happens
//! next, its own note or a given event (a chord change, a note it hears), since the given events
//! are written in the same stream. A session knows where the given events are. Where it samples a
//! position before the next given one, the network may have meant a given event there, which is
//! not coming; the network then says, from the token after that position, how likely the event was
//! its own. A network trained to say so ([`SessionConfig::given_kind`]) has its sampled position
//! drawn with the network's probability of it times that share, so the role plays its own share
//! of the positions and not the input's (models/README.md, "Whose position").
//!
//! Also the given events themselves: where the next one is, and writing it (its chord, for a
//! role that learned chords, and its input notes, for a role that hears them).

use super::*;

impl<M: TokenModel> Session<M> {
    /// The chords the stream is given: the conditioning's, or none for a role that never learned
    /// chords ([`SessionConfig::write_chords`]).
    pub(super) fn given_chords<'a>(&self, cond: &'a Conditioning) -> &'a BTreeMap<i64, Option<Chord>> {
        static NONE: BTreeMap<i64, Option<Chord>> = BTreeMap::new();
        if self.config.write_chords { &cond.chords } else { &NONE }
    }

    /// Tick of the next given group the stream has not reached, within the current bar.
    pub(super) fn next_given(&self, cond: &Conditioning) -> Option<i64> {
        let from = self.group.map_or(self.bar_start, |g| g + 1);
        let end = self.bar_start + self.bar_ticks;
        if from >= end {
            return None;
        }
        let mut in_force = self.chord;
        let mut chord_tick = None;
        for (&t, &c) in self.given_chords(cond).range(from..end) {
            if in_force != Some(c) {
                chord_tick = Some(t);
                break;
            }
            in_force = Some(c);
        }
        let input_tick = if self.config.write_inputs {
            cond.inputs
                .range(from..end)
                .find(|(_, v)| !v.is_empty())
                .map(|(&t, _)| t)
        } else {
            None
        };
        match (chord_tick, input_tick) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Writes the given group at tick `g` (in the current bar).
    pub(super) fn write_given(&mut self, cond: &Conditioning, g: i64) -> Result<(), GenerateError> {
        let mut buf = std::mem::take(&mut self.given_buf);
        buf.clear();
        if self.group != Some(g) {
            buf.push(Vocab::id(Token::Pos((g - self.bar_start) as u8)));
        }
        // The chord in force just before g, as the stream has it, decides whether g's chord is new.
        let chords = self.given_chords(cond);
        let chord_here = chords.get(&g).copied();
        let mut in_force = self.chord;
        for (_, &c) in chords.range(self.group.map_or(self.bar_start, |x| x + 1)..g) {
            in_force = Some(c);
        }
        if let Some(c) = chord_here
            && in_force != Some(c)
        {
            chord_tokens(c, &mut buf);
        }
        if self.config.write_inputs
            && let Some(ins) = cond.inputs.get(&g)
        {
            buf.extend(ins.iter().map(|&p| Vocab::id(Token::InPitch(p))));
        }
        let mut r = Ok(());
        for &id in &buf {
            r = self.push(id);
            if r.is_err() {
                break;
            }
        }
        self.given_buf = buf;
        r
    }
}

/// The tokens of chord `c` (`CHORD_ROOT` and `CHORD_QUAL`, or `CHORD_NONE`).
pub(super) fn chord_tokens(c: Option<Chord>, out: &mut Vec<u32>) {
    match c {
        Some(c) => {
            out.push(Vocab::id(Token::ChordRoot(c.root)));
            out.push(Vocab::id(Token::ChordQual(c.quality)));
        }
        None => out.push(Vocab::id(Token::ChordNone)),
    }
}

/// How many sampled positions a step looks ahead at, at most; past that a drawn position is
/// kept as drawn.
pub(super) const OWN_POSITION_TRIES: usize = 8;

impl<M: TokenModel> Session<M> {
    /// `id`, or a position drawn again, so that a position before the next given event is drawn
    /// with the network's probability of it times its own share of it (adaptive rejection
    /// sampling: a drawn position is kept with its own share; when it is not, its logit takes that
    /// share, so it is kept whenever it is drawn again, and the draw is repeated). Nothing
    /// changes for an id that is not a `POS`, or a `POS` at or past the next given event (the
    /// session writes that event there).
    pub(super) fn own_position(&mut self, cond: &Conditioning, mut id: u32) -> Result<u32, GenerateError> {
        let given = self.next_given(cond);
        let mut looked = [u32::MAX; OWN_POSITION_TRIES];
        for slot in 0..OWN_POSITION_TRIES {
            let Some(Token::Pos(p)) = Vocab::token(id) else {
                return Ok(id);
            };
            if given.is_some_and(|g| g <= self.bar_start + p as i64) || looked[..slot].contains(&id) {
                return Ok(id);
            }
            looked[slot] = id;
            let own = self.own_share(id)?;
            if self.sampler.rng().next_f64() < own {
                return Ok(id);
            }
            self.logits[id as usize] += own.max(1e-30).ln() as f32;
            self.recall(cond);
            id = self
                .sampler
                .sample(&self.logits, &self.allowed)
                .ok_or(GenerateError::Stuck)?;
        }
        Ok(id)
    }

    /// The probability the network gives the token after `pos` being its own (not a chord or a
    /// heard note, [`crate::tokenizer::given_kind_mask`]): `pos` is fed and taken back.
    fn own_share(&mut self, pos: u32) -> Result<f64, GenerateError> {
        let n = self.model.len();
        self.model.feed(&[pos])?;
        let read = self.model.next_logits(&mut self.scratch);
        self.model.truncate(n);
        read?;
        let max = self
            .scratch
            .iter()
            .copied()
            .filter(|l| l.is_finite())
            .fold(f32::NEG_INFINITY, f32::max);
        if !max.is_finite() {
            return Ok(1.0);
        }
        let (mut all, mut given) = (0.0f64, 0.0f64);
        for (id, &l) in self.scratch.iter().enumerate() {
            if !l.is_finite() {
                continue;
            }
            let e = ((l - max) as f64).exp();
            all += e;
            if crate::tokenizer::opens_given_event(id as u32) {
                given += e;
            }
        }
        Ok(if all > 0.0 { 1.0 - given / all } else { 1.0 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chord::ChordQuality;
    use crate::markov::{MarkovBuilder, MarkovModel};
    use crate::music::Role;
    use crate::tokenizer::{Sequence, Tokenizer, given_kind_mask, predicted_mask};
    use std::sync::Arc;

    /// A lead that plays on beats 1 and 3 over an input struck on every eighth: after its note on
    /// beat 1 the next position is always the input's (the second eighth). A Markov table counted
    /// over the predicted tokens, and with `given_kind` over the first given token of each
    /// position too.
    fn model(given_kind: bool) -> MarkovModel {
        let mut b = MarkovBuilder::new(8);
        for t in 0..4u8 {
            let mut s = Sequence::new(Role::Lead);
            s.tempo_bpm = Some(120.0);
            for bar in 0..16 {
                let start = bar as f64 * 4.0;
                s.chords.push(ChordEvent {
                    start,
                    chord: Some(Chord::new(0, ChordQuality::Maj7)),
                });
                for k in 0..8 {
                    s.inputs.push(Onset {
                        start: start + k as f64 * 0.5,
                        pitch: 48,
                    });
                }
                for beat in [0.0, 2.0] {
                    s.notes.push(Note {
                        start: start + beat,
                        duration: 1.0,
                        pitch: 60 + t + (bar % 3) as u8,
                        velocity: 80,
                    });
                }
            }
            s.bars = 16;
            let ids = Tokenizer::default().encode(&s).unwrap();
            let mut mask = predicted_mask(&ids);
            if given_kind {
                for (m, g) in mask.iter_mut().zip(given_kind_mask(&ids)) {
                    *m |= g;
                }
            }
            b.add_masked(&ids, &mask);
        }
        MarkovModel::with_context_len(Arc::new(b.build(1, 1)), 600)
    }

    const BAR: i64 = 4 * TICKS_PER_BEAT as i64;

    /// Eight bars of Cmaj7 with an input struck on beats 1 and 3 only.
    fn input_on_one_and_three() -> Conditioning {
        let mut cond = Conditioning::default();
        for b in 0..8 {
            cond.set_chord(b * BAR, Some(Chord::new(0, ChordQuality::Maj7)));
            cond.add_input(b * BAR, 48);
            cond.add_input(b * BAR + BAR / 2, 48);
        }
        cond
    }

    /// A session of the test model over [`input_on_one_and_three`], one voice as the plugin
    /// plays a lead.
    fn session(given_kind: bool, seed: u64) -> (Session<MarkovModel>, Conditioning) {
        let cond = input_on_one_and_three();
        let mut cfg = SessionConfig::new(Role::Lead);
        cfg.seed = seed;
        cfg.given_kind = given_kind;
        cfg.constraints = crate::sampling::Constraints::for_role(Role::Lead);
        (Session::new(model(given_kind), cfg, 0, &cond).unwrap(), cond)
    }

    /// Notes a bar over the eight bars.
    fn notes_a_bar(given_kind: bool, seed: u64) -> f64 {
        let (mut s, cond) = session(given_kind, seed);
        s.generate_until(&cond, 8 * BAR).unwrap();
        let mut notes = Vec::new();
        s.drain_notes(&mut notes);
        notes.iter().filter(|n| n.start < 32.0).count() as f64 / 8.0
    }

    /// The look-ahead draws from the session's generator and feeds and takes back a token: a
    /// rollback (a host's loop or jump) regenerates the same notes.
    #[test]
    fn a_rollback_regenerates_the_same_notes_with_the_look_ahead() {
        let (mut s, cond) = session(true, 5);
        s.generate_until(&cond, 8 * BAR).unwrap();
        let before = s.tokens().to_vec();
        assert!(s.rollback(3 * BAR + 5));
        s.generate_until(&cond, 8 * BAR).unwrap();
        assert_eq!(s.tokens(), &before[..s.tokens().len()]);
    }

    #[test]
    fn a_position_meant_for_the_input_is_not_played_as_the_roles_own() {
        let (mut with, mut without) = (0.0, 0.0);
        for seed in 1..=4 {
            with += notes_a_bar(true, seed) / 4.0;
            without += notes_a_bar(false, seed) / 4.0;
        }
        // Without it the lead plays where it expected the input's eighths; with it, on 1 and 3.
        assert!(without > 3.0, "without: {without} notes a bar");
        assert!((with - 2.0).abs() < 0.5, "with: {with} notes a bar (without {without})");
    }
}
