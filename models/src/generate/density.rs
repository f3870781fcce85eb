//! Density over time: the user's Density tilts when the next note starts
//! ([`crate::sampling::density_time_tilt`]), so a low Density rests longer and a high one plays
//! sooner, whatever the role; a model's fast-tempo rest calibration tilts it the same way above
//! [`crate::sampling::FAST_TEMPO_BPM`] ([`crate::sampling::fast_tempo_tilt`]).

use super::*;

impl<M: TokenModel> Session<M> {
    /// Adds the Density's tilt times the gap (beats) from the current position to each allowed
    /// time-advancing token: a `POS` to its position, the `BAR` to the bar's end. Over a rest of
    /// `L` beats the tilts add up to `tilt * L` whichever bar lines it crosses, so the rest lengths
    /// the network would play are reweighted by `exp(tilt * L)`. Nothing at Density 0.5 without
    /// a fast-tempo calibration, or below its tempo.
    pub(super) fn tilt_time(&mut self) {
        let c = &self.config.constraints;
        let tilt = crate::sampling::density_time_tilt(c.density)
            + crate::sampling::fast_tempo_tilt(c.fast_rest, self.config.tempo_bpm);
        if tilt == 0.0 {
            return;
        }
        let now = self.frontier();
        let bar_end = self.bar_start + self.bar_ticks;
        let per_tick = tilt as f64 / TICKS_PER_BEAT as f64;
        for id in 0..self.allowed.len().min(self.logits.len()) {
            if !self.allowed[id] {
                continue;
            }
            let at = match Vocab::token(id as u32) {
                Some(Token::Pos(p)) => self.bar_start + p as i64,
                Some(Token::Bar) => bar_end,
                _ => continue,
            };
            self.logits[id] += (per_tick * (at - now).max(0) as f64) as f32;
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

    /// [`play`] at a tempo, with a fast-tempo rest calibration.
    fn play_at(d: f32, bpm: f64, fast_rest: f32) -> (usize, i64) {
        let (mut n, mut longest) = (0, 0);
        for seed in 1..=4 {
            let mut c = SessionConfig::new(Role::Lead);
            c.seed = seed;
            c.tempo_bpm = Some(bpm);
            c.constraints.density = d;
            c.constraints.fast_rest = fast_rest;
            let cond = cond(16);
            let mut s = Session::new(model(), c, 0, &cond).unwrap();
            s.generate_until(&cond, 16 * 4 * TICKS_PER_BEAT as i64).unwrap();
            let starts: Vec<i64> = s.notes().map(|n| beat_to_tick(n.start)).collect();
            n += starts.len();
            longest = starts.windows(2).map(|w| w[1] - w[0]).fold(longest, i64::max);
        }
        (n, longest)
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
}
