//! The memories a session gives its sampler at a draw: the piece's memory of its own figures
//! ([`crate::memory`]) and, where the changes come round, the memory of the changes
//! ([`crate::memory::changes`]); the drums' memory of their groove is in `drums`.

use super::*;

impl<M: TokenModel> Session<M> {
    /// Gives the sampler the piece's memory for this draw when a pitch may be chosen and the
    /// model has one ([`Constraints::memory`]), and where the changes come round, the memory of
    /// the changes ([`Session::recall_changes`]); the drums', when their next token in time is
    /// drawn ([`Session::recall_groove`]).
    pub(super) fn recall(&mut self, cond: &Conditioning) {
        let weights = self.config.constraints.memory;
        if weights.is_none() || self.history.is_empty() {
            return;
        }
        if self.config.role.is_drums() {
            self.recall_groove(weights);
            return;
        }
        let (lo, hi) = (
            Vocab::id(Token::Pitch(0)) as usize,
            Vocab::id(Token::Pitch(127)) as usize,
        );
        let pitch_allowed = self.allowed[lo..=hi].iter().any(|&a| a);
        let pitches_recalled =
            self.recall_changes(weights, cond, pitch_allowed) || (pitch_allowed && self.recall_figure(weights, cond));
        // The note memory, where the changes' and a figure's did not speak and the model has one
        // (the band's bass has only the changes').
        if pitches_recalled || weights.cells.iter().all(|&w| w <= 0.0) || !pitch_allowed {
            return;
        }
        let found = crate::memory::recall(&self.history, &mut self.recalled);
        let w = weights.weight(found);
        if w > 0.0 {
            let root = self.chord.flatten().map(|c| c.root);
            crate::memory::to_pitches(&self.recalled, root, &mut self.recalled_pitches);
            self.sampler.set_memory(w, &self.recalled_pitches);
        }
    }

    /// A pitched role's memory of the changes ([`crate::memory::changes`]): where the chords of
    /// the bar so far are those of an earlier bar, the pitches the role played at this place
    /// then (when a pitch may be drawn) and when its next note came (when a `POS` or the bar
    /// line may be). Where the whole bar before came round with them, the memory of a phrase
    /// come round recalls the same at its own weight and in its own share of the bars
    /// ([`crate::memory::changes::phrase_lag`]). In a bar where it does not play, the memory of
    /// the groove's rhythm may: when the role's next note came a bar of its pattern back
    /// ([`crate::memory::changes::rhythm_lag`]), whatever the chords. `pitch_allowed`: whether
    /// a pitch may be drawn now. Returns whether it recalled pitches (the note memory then stays
    /// out).
    fn recall_changes(
        &mut self,
        weights: crate::memory::MemoryWeights,
        cond: &Conditioning,
        pitch_allowed: bool,
    ) -> bool {
        use crate::memory::changes::{
            lag, phrase_lag, phrase_plays_bar, plays_bar, recall_pitches, rhythm_lag, rhythm_plays_bar,
        };
        let [w_note, w_time, share] = weights.changes;
        let [w_rhythm, rhythm_share] = weights.rhythm;
        let [w_phrase, phrase_share] = weights.phrase;
        if self.state.bars == 0 || (w_note <= 0.0 && w_time <= 0.0 && w_rhythm <= 0.0 && w_phrase <= 0.0) {
            return false;
        }
        // Where the stream stands: its position in the bar (none right after the bar line).
        let here = self.state.pos.map(|p| self.bar_start + p as i64);
        let t = here.unwrap_or(self.bar_start);
        let earliest = self.earliest_tick();
        // The notes the role has struck here so far, and how many it struck there: a comping
        // part strikes several at one place, and plays the rest of the chord before it moves on.
        let played_here = if here.is_some() {
            self.history_tick.iter().rev().take_while(|&&x| x == t).count()
        } else {
            0
        };
        // A role that strikes chords (a monophonic one strikes one note at a place).
        let chordal = self.config.constraints.max_polyphony != 1;
        let place = Place {
            here,
            t,
            played_here,
            chordal,
            pitch_allowed,
        };
        // Where the bar before came round with this one's changes so far, the memory of a phrase
        // come round, in its share of the bars; else the memory of the changes, in its.
        let phrase = (w_phrase > 0.0 && phrase_plays_bar(self.config.seed, self.bar_start, phrase_share))
            .then(|| phrase_lag(t, self.bar_start, self.bar_ticks, earliest, |x| cond.chord_at(x)))
            .flatten();
        let changes = || {
            ((w_note > 0.0 || w_time > 0.0) && plays_bar(self.config.seed, self.bar_start, share))
                .then(|| lag(t, self.bar_start, self.bar_ticks, earliest, |x| cond.chord_at(x)))
                .flatten()
        };
        let (w_note, w_time) = match phrase {
            Some(_) => (w_phrase, w_phrase),
            None => (w_note, w_time),
        };
        let Some(d) = phrase.or_else(changes) else {
            if w_rhythm > 0.0
                && rhythm_plays_bar(self.config.seed, self.bar_start, rhythm_share)
                && let Some(d) = rhythm_lag(self.bar_start, self.bar_ticks, earliest, &self.history_tick)
            {
                // How many notes a chord takes stays the network's: the rhythm says when.
                self.recall_when(d, w_rhythm, place, None);
            }
            return false;
        };
        let t0 = t - d;
        let mut recalled = false;
        recall_pitches(&self.history_tick, &self.history_pitch, t0, &mut self.recalled_pitches);
        // What it struck there and has not struck here yet. The pitches of a place rise (the
        // grammar), so a role that strikes chords recalls the next one up from its last here.
        let n = self.history_pitch.len();
        for &p in &self.history_pitch[n - played_here..] {
            self.recalled_pitches[(p & 127) as usize] = 0.0;
        }
        if chordal {
            let above = self.history_pitch[n - played_here..]
                .iter()
                .max()
                .map_or(0, |&p| p as usize + 1);
            self.recalled_pitches[..above.min(128)].fill(0.0);
            if let Some(next) = self.recalled_pitches.iter().position(|&w| w > 0.0) {
                self.recalled_pitches[next + 1..].fill(0.0);
            }
        }
        let to_strike = self.recalled_pitches.iter().any(|&w| w > 0.0);
        if w_note > 0.0 && here.is_some() && pitch_allowed && to_strike {
            self.sampler.set_memory(w_note, &self.recalled_pitches);
            recalled = true;
        }
        self.recall_when(d, w_time, place, Some(to_strike));
        recalled
    }

    /// The earliest tick the memories of the changes look back to: the session's first note or
    /// its origin.
    fn earliest_tick(&self) -> i64 {
        self.history_tick
            .first()
            .map_or(self.first_origin, |&x| x.min(self.first_origin))
    }

    /// A monophonic role's memory of a figure come round ([`crate::memory::figure`]): where the
    /// bar of changes up to its next note came round, the pitch it played at one of those times,
    /// in a figure that starts or goes on here, mixed into its choice of note. Only where a
    /// pitch may be drawn and the memories of the changes and of a phrase did not speak. Returns
    /// whether it recalled a pitch.
    fn recall_figure(&mut self, weights: crate::memory::MemoryWeights, cond: &Conditioning) -> bool {
        use crate::memory::figure::{figure_lags, figure_note};
        let [w, start, go_on] = weights.figure;
        if w <= 0.0 || start <= 0.0 || self.state.bars == 0 || self.config.constraints.max_polyphony != 1 {
            return false;
        }
        let Some(pos) = self.state.pos else {
            return false;
        };
        let t = self.bar_start + pos as i64;
        let earliest = self.earliest_tick();
        let bar_ticks = self.bar_ticks;
        let lags_at = |x: i64| figure_lags(x, bar_ticks, earliest, |y| cond.chord_at(y));
        let seed = self.config.seed;
        let Some(pitch) = figure_note(&self.history_tick, &self.history_pitch, t, lags_at, seed, start, go_on) else {
            return false;
        };
        self.recalled_pitches.fill(0.0);
        self.recalled_pitches[(pitch & 127) as usize] = 1.0;
        self.sampler.set_memory(w, &self.recalled_pitches);
        true
    }

    /// Mixes into the choice of time (weight `w`) when the role's next note came `d` ticks back
    /// from `place`: a note now (where it may strike one here: it has not played here yet, or,
    /// striking chords, `to_strike` says a note struck there is still to strike here), or its
    /// next note after that place, or the bar line. Only where a `POS` or the bar line may be
    /// drawn, and not right after a `POS`. `to_strike` none: a chord's further notes are left to
    /// the network (the memory mixes into the time tokens only, once the role has struck a note
    /// here).
    fn recall_when(&mut self, d: i64, w: f32, place: Place, to_strike: Option<bool>) {
        use crate::memory::changes::{Next, recall_time};
        let Place {
            here,
            t,
            played_here,
            chordal,
            pitch_allowed,
        } = place;
        let (bar, pos0) = (Vocab::id(Token::Bar) as usize, Vocab::id(Token::Pos(0)) as usize);
        let positions = pos0..pos0 + crate::tokenizer::vocab::POS_COUNT as usize;
        let time = self.allowed[bar] || self.allowed[positions].iter().any(|&a| a);
        if w <= 0.0 || !time || matches!(self.tokens.last().and_then(|&id| Vocab::token(id)), Some(Token::Pos(_))) {
            return;
        }
        // A note now, where the role has not played here yet and may (a monophonic role's last
        // note may still sound), or, for a role that strikes chords, has a note it struck there
        // still to strike here: else the memory speaks of its next note after this place (and a
        // chordal role's "a note now" gets none of its weight).
        let now = here.is_some() && pitch_allowed && (played_here == 0 || (chordal && to_strike.is_some()));
        let strike_more = played_here == 0 || to_strike == Some(true);
        let aligned_end = self.bar_start - d + self.bar_ticks;
        self.recalled_tokens.fill(0.0);
        let mut now_weight = 0.0;
        match recall_time(
            &self.history_tick,
            t - d,
            aligned_end,
            (now && strike_more) || here.is_none(),
        ) {
            Next::Now if here.is_none() => self.recalled_tokens[pos0] = 1.0,
            Next::Now => now_weight = 1.0,
            Next::After(dt) => {
                let p = (t + dt - self.bar_start).clamp(0, u8::MAX as i64) as u8;
                self.recalled_tokens[Vocab::id(Token::Pos(p)) as usize] = 1.0;
            }
            Next::BarLine => self.recalled_tokens[bar] = 1.0,
        }
        self.sampler
            .set_rhythm_memory(w, &self.recalled_tokens, now.then_some(now_weight));
    }
}

/// Where a pitched role's stream stands at a draw, for its memories of the changes and of the
/// groove's rhythm ([`Session::recall_when`]).
#[derive(Debug, Clone, Copy)]
struct Place {
    /// The tick of its position in the bar (none right after the bar line).
    here: Option<i64>,
    /// That tick, or the bar line's.
    t: i64,
    /// Notes it has struck here so far.
    played_here: usize,
    /// Whether it strikes chords.
    chordal: bool,
    /// Whether a pitch may be drawn now.
    pitch_allowed: bool,
}
