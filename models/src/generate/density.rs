//! Density over time: the user's Density tilts when the next note starts
//! ([`crate::sampling::density_time_tilt`]), so a low Density rests longer and a high one plays
//! sooner, whatever the role; a model's fast-tempo rest calibration tilts it the same way above
//! [`crate::sampling::FAST_TEMPO_BPM`] ([`crate::sampling::fast_tempo_tilt`]), and its entry
//! calibration over the first bars of a stream that starts fresh ([`crate::sampling::entry_tilt`]).
//! A model's silence calibration tilts the same choice by the silent part of each move alone
//! ([`Constraints::silence`](crate::sampling::Constraints::silence)), and its fast-note
//! calibration by how soon after the role's last onset a move starts a note
//! ([`Constraints::fast_notes`](crate::sampling::Constraints::fast_notes)).

use super::*;

impl<M: TokenModel> Session<M> {
    /// Adds the Density's tilt times the gap (beats) from the current position to each allowed
    /// time-advancing token: a `POS` to its position, the `BAR` to the bar's end. Over a rest of
    /// `L` beats the tilts add up to `tilt * L` whichever bar lines it crosses, so the rest lengths
    /// the network would play are reweighted by `exp(tilt * L)`. Nothing at Density 0.5 without
    /// a fast-tempo calibration, or below its tempo, or past a fresh stream's entry.
    ///
    /// The silence calibration then takes its nats from each beat of the move after the role's
    /// last note has ended: over a rest the silent beats add up as the gap's do, and a move
    /// within a note that still sounds costs nothing.
    pub(super) fn tilt_time(&mut self) {
        let c = &self.config.constraints;
        // The entry: bars counted from the bar line the session started at, for a stream with
        // no prompt (a continuation is past its entry).
        let entry = if self.config.prompt.is_empty() {
            crate::sampling::entry_tilt(c.entry_rest, self.bar_index())
        } else {
            0.0
        };
        let tilt = crate::sampling::density_time_tilt(c.density)
            + crate::sampling::fast_tempo_tilt(c.fast_rest, self.config.tempo_bpm)
            + entry;
        let silence = crate::sampling::silence_tilt(c.silence, c.density);
        if tilt == 0.0 && silence == 0.0 {
            return;
        }
        let now = self.frontier();
        let quiet_from = if silence == 0.0 {
            now
        } else {
            self.sounding_until().max(now)
        };
        let bar_end = self.bar_start + self.bar_ticks;
        let per_tick = tilt as f64 / TICKS_PER_BEAT as f64;
        let per_silent_tick = -silence as f64 / TICKS_PER_BEAT as f64;
        for id in 0..self.allowed.len().min(self.logits.len()) {
            if !self.allowed[id] {
                continue;
            }
            let at = match Vocab::token(id as u32) {
                Some(Token::Pos(p)) => self.bar_start + p as i64,
                Some(Token::Bar) => bar_end,
                _ => continue,
            };
            let gap = (at - now).max(0) as f64;
            let silent = (at - quiet_from).max(0) as f64;
            self.logits[id] += (per_tick * gap + per_silent_tick * silent) as f32;
        }
    }

    /// Moves the fast-note calibration's mass later ([`crate::sampling::fast_note_cost`]): each
    /// allowed choice that starts the role's next note soon after its last onset loses
    /// `1 - exp(-cost)` of its probability, and the choices of time that start it
    /// [`crate::sampling::FAST_NOTE_MS`] to [`crate::sampling::FAST_NOTE_REACH`] times that after
    /// it gain what was taken, in proportion to their own: a 16th note becomes an 8th, not a rest
    /// (a plain penalty shared its mass with every later choice and broke the lead's lines into
    /// fragments, models/README.md, "A soloist's fast notes"). The fast choices are a `POS`
    /// before the next given event (a `POS` at or past it leads to the event's group) and the
    /// pitches at a given event's group, where the role may add a note or move on (after a
    /// sampled `POS` a note must follow, and the `POS` has paid). Where no later choice lies in
    /// reach, the fast ones only pay. Pitched roles only.
    pub(super) fn tilt_fast_notes(&mut self, cond: &Conditioning) {
        let c = &self.config.constraints;
        let nats = crate::sampling::fast_note_tilt(c.fast_notes, c.density);
        if nats == 0.0 || self.config.role.is_drums() {
            return;
        }
        let Some(&last) = self.history_tick.last() else {
            return;
        };
        let bpm = self.config.tempo_bpm;
        let next = self.next_given(cond).unwrap_or(i64::MAX);
        let now = self.frontier();
        let after_pos = matches!(self.tokens.last().and_then(|&t| Vocab::token(t)), Some(Token::Pos(_)));
        let at_group = self.group.is_some() && !after_pos;
        let here = crate::sampling::fast_note_cost(nats, now - last, bpm);
        let n = self.allowed.len().min(self.logits.len());
        let max = (0..n)
            .filter(|&id| self.allowed[id])
            .map(|id| self.logits[id])
            .fold(f32::NEG_INFINITY, f32::max);
        if !max.is_finite() {
            return;
        }
        // What each allowed choice pays, and whether it lies in reach of what is taken.
        let bar_start = self.bar_start;
        let choice = |id: usize| -> Option<(f32, bool)> {
            match Vocab::token(id as u32)? {
                Token::Pos(pos) => {
                    let at = bar_start + pos as i64;
                    let cost = crate::sampling::fast_note_cost(nats, at - last, bpm);
                    let later = cost == 0.0 && crate::sampling::in_fast_note_reach(at - last, bpm);
                    (at < next).then_some((cost, later))
                }
                Token::Pitch(_) if at_group => Some((here, false)),
                _ => None,
            }
        };
        // Mass (relative to the likeliest choice) taken from the fast choices, and held by the
        // choices in reach.
        let (mut taken, mut reach) = (0.0f64, 0.0f64);
        for id in (0..n).filter(|&id| self.allowed[id]) {
            let Some((cost, later)) = choice(id) else {
                continue;
            };
            let p = ((self.logits[id] - max) as f64).exp();
            if cost != 0.0 {
                taken += p * (1.0 - (-cost as f64).exp());
                self.logits[id] -= cost;
            } else if later {
                reach += p;
            }
        }
        if taken <= 0.0 || reach <= 0.0 {
            return;
        }
        let gain = (1.0 + taken / reach).ln() as f32;
        for id in (0..n).filter(|&id| self.allowed[id]) {
            if choice(id).is_some_and(|(_, later)| later) {
                self.logits[id] += gain;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::progression as cond;
    use super::*;
    use crate::markov::{MarkovBuilder, MarkovModel};
    use crate::music::Role;
    use crate::tokenizer::{Sequence, Tokenizer};

    /// A lead that rests between its notes for a half to two beats, at random.
    fn model() -> MarkovModel {
        let mut rng = Rng::new(3);
        let mut b = MarkovBuilder::new(3);
        for _ in 0..8 {
            let mut s = Sequence::new(Role::Lead);
            let mut t = 0.0;
            while t < 64.0 {
                s.notes.push(Note {
                    start: t,
                    duration: 0.5,
                    pitch: 60 + rng.below(12) as u8,
                    velocity: 80,
                });
                t += 0.5 * (1 + rng.below(4)) as f64;
            }
            s.bars = 16;
            b.add_sequence(&Tokenizer::default().encode(&s).unwrap());
        }
        MarkovModel::with_context_len(std::sync::Arc::new(b.build(1, 1)), 600)
    }

    /// Notes a lead plays over 16 bars at Density `d`, over four seeds, and the longest rest.
    fn play(d: f32) -> (usize, i64) {
        play_at(d, 120.0, 0.0)
    }

    /// The onsets (ticks) a lead plays over 16 bars at `bpm` and Density `d`, seeds 1-4 (a list
    /// each), with `calibrate` setting its calibrations.
    fn onsets(bpm: f64, d: f32, calibrate: impl Fn(&mut crate::sampling::Constraints)) -> Vec<Vec<i64>> {
        (1..=4)
            .map(|seed| {
                let mut c = SessionConfig::new(Role::Lead);
                c.seed = seed;
                c.tempo_bpm = Some(bpm);
                c.constraints.density = d;
                calibrate(&mut c.constraints);
                let cond = cond(16);
                let mut s = Session::new(model(), c, 0, &cond).unwrap();
                s.generate_until(&cond, 16 * 4 * TICKS_PER_BEAT as i64).unwrap();
                s.notes().map(|n| beat_to_tick(n.start)).collect()
            })
            .collect()
    }

    /// [`play`] at a tempo, with a fast-tempo rest calibration.
    fn play_at(d: f32, bpm: f64, fast_rest: f32) -> (usize, i64) {
        let all = onsets(bpm, d, |c| c.fast_rest = fast_rest);
        let longest = all
            .iter()
            .flat_map(|s| s.windows(2).map(|w| w[1] - w[0]))
            .fold(0, i64::max);
        (all.iter().map(Vec::len).sum(), longest)
    }

    #[test]
    fn density_sets_how_long_the_line_rests() {
        let (sparse, sparse_rest) = play(0.2);
        let (plain, plain_rest) = play(0.5);
        let (dense, _) = play(0.8);
        eprintln!("notes {sparse} / {plain} / {dense}, longest rest {sparse_rest} / {plain_rest} ticks");
        assert!(
            (sparse as f64) < 0.8 * plain as f64 && (dense as f64) > 1.1 * plain as f64,
            "notes at Density 0.2 / 0.5 / 0.8: {sparse} / {plain} / {dense}"
        );
        assert!(
            sparse_rest > plain_rest,
            "longest rest {sparse_rest} ticks at 0.2, {plain_rest} at 0.5"
        );
        assert_eq!(
            crate::sampling::density_time_tilt(0.5),
            0.0,
            "0.5 is the network's rhythm"
        );
    }

    /// Onsets a lead plays half a beat and a beat after the last, and all its notes, over 16
    /// bars at `bpm`, four seeds, with a fast-note calibration at a Density.
    fn half_beats(bpm: f64, fast_notes: f32, d: f32) -> (usize, usize, usize) {
        let all = onsets(bpm, d, |c| c.fast_notes = fast_notes);
        let gaps = |g: u32| -> usize {
            all.iter()
                .map(|s| s.windows(2).filter(|w| w[1] - w[0] == g as i64).count())
                .sum()
        };
        (
            gaps(TICKS_PER_BEAT / 2),
            gaps(TICKS_PER_BEAT),
            all.iter().map(Vec::len).sum(),
        )
    }

    #[test]
    fn a_fast_note_calibration_moves_the_fast_notes_later() {
        // At 300 BPM half a beat is 100 ms (pays 1.5 of 4 nats), a beat 200 ms (nothing, and in
        // reach: it takes what the half beats lose), a beat and a half 300 ms (in reach), two
        // beats 400 ms (out of reach).
        let (plain, plain_beat, plain_n) = half_beats(300.0, 0.0, 0.5);
        let (thin, beat, thin_n) = half_beats(300.0, 4.0, 0.5);
        eprintln!("half-beat gaps {thin}, beats {beat} of {thin_n} notes; without {plain}, {plain_beat} of {plain_n}");
        assert!(
            (thin as f64) < 0.6 * plain as f64 && thin_n < plain_n,
            "half-beat gaps {thin} of {thin_n} notes, without the calibration {plain} of {plain_n}"
        );
        assert!(
            beat as f64 > 1.2 * plain_beat as f64,
            "gaps of a beat {beat}, without the calibration {plain_beat}"
        );
        assert!(
            crate::sampling::in_fast_note_reach(12, Some(300.0))
                && crate::sampling::in_fast_note_reach(18, Some(300.0))
        );
        assert!(
            !crate::sampling::in_fast_note_reach(24, Some(300.0))
                && !crate::sampling::in_fast_note_reach(6, Some(300.0))
        );
        // At 120 BPM half a beat is 250 ms: nothing pays, seed for seed.
        assert_eq!(half_beats(120.0, 4.0, 0.5), half_beats(120.0, 0.0, 0.5));
        // At Density 1 the user asks for notes: it fades to nothing.
        assert_eq!(half_beats(300.0, 4.0, 1.0), half_beats(300.0, 0.0, 1.0));
        let cost = crate::sampling::fast_note_cost;
        assert_eq!(cost(4.0, 0, Some(300.0)), 0.0, "a chord pays nothing");
        assert!((cost(4.0, 6, Some(300.0)) - 1.5).abs() < 1e-6);
        assert_eq!(cost(4.0, 6, Some(120.0)), 0.0);
        assert!(
            (cost(4.0, 3, None) - 0.875).abs() < 1e-6,
            "120 BPM when the tempo is unknown"
        );
        assert_eq!(crate::sampling::fast_note_tilt(4.0, 0.75), 2.0);
        assert_eq!(crate::sampling::fast_note_tilt(4.0, 0.2), 4.0);
    }

    /// Onsets (ticks) a lead plays over 16 bars at 120 BPM with an entry calibration, over twelve
    /// seeds, from nothing or continuing a prompt of one note.
    fn entry_onsets(entry_rest: f32, prompted: bool) -> Vec<i64> {
        let mut all = Vec::new();
        for seed in 1..=12 {
            let mut c = SessionConfig::new(Role::Lead);
            c.seed = seed;
            c.tempo_bpm = Some(120.0);
            c.constraints.entry_rest = entry_rest;
            if prompted {
                c.prompt = vec![Note {
                    start: 0.0,
                    duration: 1.0,
                    pitch: 62,
                    velocity: 80,
                }];
            }
            let cond = cond(16);
            let mut s = Session::new(model(), c, 0, &cond).unwrap();
            s.generate_until(&cond, 16 * 4 * TICKS_PER_BEAT as i64).unwrap();
            all.extend(s.notes().map(|n| beat_to_tick(n.start)));
        }
        all
    }

    #[test]
    fn an_entry_calibration_thins_only_a_fresh_streams_first_bars() {
        let bar = 4 * TICKS_PER_BEAT as i64;
        let in_bars =
            |onsets: &[i64], from: i64, to: i64| onsets.iter().filter(|&&t| t >= from * bar && t < to * bar).count();
        let plain = entry_onsets(0.0, false);
        let entered = entry_onsets(1.0, false);
        let (p1, e1) = (in_bars(&plain, 0, 1), in_bars(&entered, 0, 1));
        eprintln!(
            "first bar {e1} / {p1}, bars 1-4 {} / {}, bars 5-16 {} / {}",
            in_bars(&entered, 0, 4),
            in_bars(&plain, 0, 4),
            in_bars(&entered, 4, 16),
            in_bars(&plain, 4, 16)
        );
        assert!(
            (e1 as f64) < 0.6 * p1 as f64,
            "first bar: {e1} notes entering, {p1} without"
        );
        assert!(
            in_bars(&entered, 0, 4) < in_bars(&plain, 0, 4),
            "first four bars: {} entering, {} without",
            in_bars(&entered, 0, 4),
            in_bars(&plain, 0, 4)
        );
        // A continuation is past its entry: the prompt's stream plays as it did.
        assert_eq!(entry_onsets(1.0, true), entry_onsets(0.0, true));
        let t = |bar| crate::sampling::entry_tilt(1.0, bar);
        assert_eq!((t(-1), t(0), t(1), t(3), t(4)), (0.0, 1.0, 0.5, 0.125, 0.0));
        assert_eq!(crate::sampling::entry_tilt(f32::NAN, 0), 0.0);
    }

    #[test]
    fn a_fast_tempo_calibration_thins_only_the_fast_tempos() {
        let (plain, _) = play_at(0.5, 120.0, 0.0);
        assert_eq!(play_at(0.5, 120.0, 1.0).0, plain, "below the pivot it does nothing");
        assert_eq!(play_at(0.5, 150.0, 1.0).0, plain, "at the pivot it does nothing");
        let (fast, _) = play_at(0.5, 240.0, 0.0);
        let (calibrated, _) = play_at(0.5, 240.0, 1.0);
        assert!(
            (calibrated as f64) < 0.85 * fast as f64,
            "at 240 BPM: {calibrated} notes calibrated, {fast} without"
        );
        let t = |bpm| crate::sampling::fast_tempo_tilt(0.5, Some(bpm));
        assert_eq!(t(150.0), 0.0);
        assert!((t(300.0) - 0.5).abs() < 1e-6, "one octave above: the whole value");
        assert_eq!(crate::sampling::fast_tempo_tilt(0.5, None), 0.0);
    }

    /// Ticks of 16 bars in which none of a lead's notes sound, and its notes, over four seeds,
    /// with a silence calibration.
    fn silences(silence: f32) -> (i64, usize, Vec<(i64, u8)>) {
        silences_at(silence, crate::sampling::NEUTRAL_DENSITY)
    }

    /// [`silences`] at a Density.
    fn silences_at(silence: f32, density: f32) -> (i64, usize, Vec<(i64, u8)>) {
        let (mut quiet, mut n, mut played) = (0, 0, Vec::new());
        let end = 16 * 4 * TICKS_PER_BEAT as i64;
        for seed in 1..=4 {
            let mut c = SessionConfig::new(Role::Lead);
            c.seed = seed;
            c.constraints.silence = silence;
            c.constraints.density = density;
            let cond = cond(16);
            let mut s = Session::new(model(), c, 0, &cond).unwrap();
            s.generate_until(&cond, end).unwrap();
            let mut until = 0;
            for note in s.notes() {
                let (start, stop) = (beat_to_tick(note.start), beat_to_tick(note.start + note.duration));
                if start >= end {
                    break;
                }
                quiet += (start - until).max(0);
                until = until.max(stop);
                n += 1;
                played.push((start, note.pitch));
            }
            quiet += (end - until).max(0);
        }
        (quiet, n, played)
    }

    #[test]
    fn a_silence_calibration_fills_the_silent_beats() {
        let (plain_quiet, plain_n, plain) = silences(0.0);
        let (quiet, n, _) = silences(1.5);
        let (more_quiet, _, _) = silences(-1.0);
        eprintln!("silent ticks {quiet} / {plain_quiet} / {more_quiet} at 1.5 / 0 / -1, notes {n} / {plain_n}");
        assert!(
            (quiet as f64) < 0.7 * plain_quiet as f64,
            "silent ticks {quiet} at 1.5, {plain_quiet} without"
        );
        assert!(
            more_quiet > plain_quiet,
            "silent ticks {more_quiet} at -1, {plain_quiet} without"
        );
        // Without it the line is the network's, note for note.
        assert_eq!(silences(0.0).2, plain);
        // Below the neutral Density the user asks for rests: the calibration fades with it.
        let t = crate::sampling::silence_tilt;
        assert_eq!(
            (t(1.5, 0.5), t(1.5, 0.9), t(1.5, 0.25), t(1.5, 0.0)),
            (1.5, 1.5, 0.75, 0.0)
        );
        assert_eq!(t(f32::NAN, 0.5), 0.0);
        let cut = |with: i64, without: i64| 1.0 - with as f64 / without as f64;
        let (low, low_plain) = (silences_at(1.5, 0.3).0, silences_at(0.0, 0.3).0);
        let (unfaded, _, _) = silences_at(1.5 / 0.6, 0.3);
        eprintln!("at Density 0.3: silent ticks {low} / {low_plain}, {unfaded} if it did not fade");
        assert!(
            cut(low, low_plain) < cut(unfaded, low_plain),
            "at Density 0.3 it cuts {:.2} of the silence, unfaded {:.2}",
            cut(low, low_plain),
            cut(unfaded, low_plain)
        );
    }
}
