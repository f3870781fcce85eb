//! Groove: where a generated note sounds (Feel and Swing) and which bars are fills.
//!
//! A model trained with `MICRO` tokens on human playing (the Groove MIDI Dataset drums) places
//! its notes off the grid the way the drummers did: a laid-back snare, a pushed hi-hat. [`place`]
//! scales that offset: Feel 0 puts every onset on its grid point, 1 keeps the model's own feel,
//! above 1 exaggerates it. Swing then moves the off-beat grid points, so a swung groove keeps the
//! drummer's offsets around the swung positions. Both the plugin and `trainer generate` call it.
//!
//! A fill is asked of the model through its header: [`FillPlan`] names the bars that end a phrase,
//! and the generation session (`generate::Session`) re-primes at those bar lines with the `fill`
//! style tag in place of `beat`, and back.

use crate::tokenizer::Vocab;

/// Drum instrument classes (the Groove MIDI Dataset paper's reduction of the Roland TD-11 map,
/// with General MIDI's other keys where they belong): (name, keys).
pub const DRUM_CLASSES: [(&str, &[u8]); 5] = [
    ("kick", &[35, 36]),
    ("snare", &[37, 38, 40]),
    ("hihat", &[22, 26, 42, 44, 46]),
    ("toms", &[41, 43, 45, 47, 48, 50, 58]),
    ("cymbals", &[49, 51, 52, 53, 55, 57, 59]),
];

/// Index of the kick in [`DRUM_CLASSES`].
pub const KICK_CLASS: usize = 0;

/// Index of the snare in [`DRUM_CLASSES`].
pub const SNARE_CLASS: usize = 1;

/// The [`DRUM_CLASSES`] index of a GM drum key.
pub fn drum_class(key: u8) -> Option<usize> {
    DRUM_CLASSES.iter().position(|(_, keys)| keys.contains(&key))
}

/// Which off-beats Swing moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SwingUnit {
    /// The second eighth of each beat (jazz, shuffle).
    #[default]
    Eighths,
    /// The second sixteenth of each eighth (hip-hop, funk, new jack swing).
    Sixteenths,
}

/// Feel and swing settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Feel {
    /// How much of the played offset from the grid is kept: 0 quantized, 1 as played, up to 2.
    pub amount: f64,
    /// Where the off-beat lands, as a fraction of its pair: 0.5 straight, 2/3 triplet swing.
    pub swing: f64,
    /// Which off-beats swing moves.
    pub unit: SwingUnit,
}

impl Default for Feel {
    fn default() -> Self {
        Feel {
            amount: 1.0,
            swing: 0.5,
            unit: SwingUnit::Eighths,
        }
    }
}

/// Grid points within a beat: straight sixteenths and eighth-note triplets.
const GRID: [f64; 7] = [0.0, 0.25, 1.0 / 3.0, 0.5, 2.0 / 3.0, 0.75, 1.0];

/// The grid point (beats) a played onset belongs to: the nearest straight sixteenth or
/// eighth-note triplet.
pub fn grid_point(start: f64) -> f64 {
    let beat = start.floor();
    let frac = start - beat;
    let mut best = GRID[0];
    for &g in &GRID[1..] {
        if (frac - g).abs() < (frac - best).abs() - 1e-12 {
            best = g;
        }
    }
    beat + best
}

/// Where a grid point lands with `swing` applied to `unit` off-beats.
fn swung(point: f64, swing: f64, unit: SwingUnit) -> f64 {
    if (swing - 0.5).abs() < 1e-9 {
        return point;
    }
    let pair = match unit {
        SwingUnit::Eighths => 1.0,
        SwingUnit::Sixteenths => 0.5,
    };
    let pairs = point / pair;
    let first = (pairs + 1e-9).floor();
    if (pairs - first - 0.5).abs() < 1e-9 {
        (first + swing) * pair
    } else {
        point
    }
}

/// Where a note the model placed at `start` (beats) sounds with `feel`: its grid point, swung,
/// plus `feel.amount` times the model's offset from that point. Feel 1 at 50 % swing returns
/// `start` unchanged; Feel 0 returns the (swung) grid point.
pub fn place(start: f64, feel: &Feel) -> f64 {
    let g = grid_point(start);
    let offset = start - g;
    let amount = if feel.amount.is_finite() {
        feel.amount.clamp(0.0, 2.0)
    } else {
        1.0
    };
    let swing = if feel.swing.is_finite() {
        feel.swing.clamp(0.5, 0.75)
    } else {
        0.5
    };
    if amount == 1.0 && swing == 0.5 {
        return start;
    }
    (swung(g, swing, feel.unit) + amount * offset).max(0.0)
}

/// Where a note the model placed at `start` for `duration` beats sounds with `feel`: its new
/// start, and its length so that it still ends where the model ended it (a swung or late note is
/// shorter, never overlapping the next one), at least 1/96 beat.
pub fn place_note(start: f64, duration: f64, feel: &Feel) -> (f64, f64) {
    let placed = place(start, feel);
    (placed, (start + duration - placed).max(1.0 / 96.0))
}

/// Fills at the end of each phrase, asked of the model through its header's style tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FillPlan {
    /// Phrase length in bars: the last bar of every phrase is a fill (0: no fills, only `beat`).
    pub every: u32,
    /// The `fill` style slot.
    pub fill: u16,
    /// The `beat` style slot, written in the other bars (and taken out in fills) where the
    /// vocabulary has one.
    pub beat: Option<u16>,
    /// Bars of the session's stream in one of the host's bars (1; 2 where a meter the network
    /// never learned is written as two learned bars, [`crate::meters::stream_meter`]): `every`
    /// counts the host's bars, and the fill is the last stream bar of its host bar.
    pub parts: u32,
}

impl FillPlan {
    /// A plan for a package's vocabulary, fills every `every` bars (0: none, the other bars'
    /// `beat` tag still written, as the model learned beats); `None` when the vocabulary has no
    /// `fill` tag (a model that never saw a fill is neither asked for one nor told `beat`).
    pub fn new(vocab: &Vocab, every: u32) -> Option<FillPlan> {
        Some(FillPlan {
            every,
            fill: vocab.style_slot("fill")?,
            beat: vocab.style_slot("beat"),
            parts: 1,
        })
    }

    /// Whether bar `bar` (0-based on the session's stream timeline) is a fill bar: the last
    /// stream bar of the last host bar of a phrase.
    pub fn is_fill(&self, bar: i64) -> bool {
        let parts = self.parts.max(1) as i64;
        let host_bar = bar.div_euclid(parts);
        self.every > 0 && (bar + 1).rem_euclid(parts) == 0 && (host_bar + 1).rem_euclid(self.every as i64) == 0
    }

    /// The header's style slots for bar `bar`, from the user's `styles`: `fill` in a fill bar,
    /// `beat` in the others, sorted.
    pub fn styles(&self, styles: &[u16], bar: i64) -> Vec<u16> {
        let mut out: Vec<u16> = styles
            .iter()
            .copied()
            .filter(|&s| s != self.fill && Some(s) != self.beat)
            .collect();
        if self.is_fill(bar) {
            out.push(self.fill);
        } else if let Some(b) = self.beat {
            out.push(b);
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feel_zero_quantizes_and_one_keeps_the_played_offset() {
        let late_snare = 1.0 + 0.04; // 20 ms late at 120 BPM
        let pushed_hat = 2.25 - 0.03;
        let quantized = Feel {
            amount: 0.0,
            ..Feel::default()
        };
        assert_eq!(place(late_snare, &quantized), 1.0);
        assert!((place(pushed_hat, &quantized) - 2.25).abs() < 1e-12);
        assert_eq!(place(late_snare, &Feel::default()), late_snare);
        let double = Feel {
            amount: 2.0,
            ..Feel::default()
        };
        assert!((place(late_snare, &double) - 1.08).abs() < 1e-12);
        // Triplets stay triplets.
        assert!((place(1.0 + 2.0 / 3.0 + 0.01, &quantized) - (1.0 + 2.0 / 3.0)).abs() < 1e-12);
    }

    #[test]
    fn swing_moves_the_off_beats_of_its_unit_and_keeps_the_offset() {
        let eighths = Feel {
            amount: 1.0,
            swing: 2.0 / 3.0,
            unit: SwingUnit::Eighths,
        };
        assert!((place(0.5, &eighths) - 2.0 / 3.0).abs() < 1e-12);
        assert!((place(0.52, &eighths) - (2.0 / 3.0 + 0.02)).abs() < 1e-12);
        assert_eq!(place(1.0, &eighths), 1.0);
        assert_eq!(place(0.25, &eighths), 0.25);
        let sixteenths = Feel {
            amount: 0.0,
            swing: 0.6,
            unit: SwingUnit::Sixteenths,
        };
        assert!((place(0.25, &sixteenths) - 0.3).abs() < 1e-12);
        assert!((place(0.76, &sixteenths) - 0.8).abs() < 1e-12);
        assert_eq!(place(0.5, &sixteenths), 0.5);
    }

    #[test]
    fn fill_plans_put_fill_in_the_last_bar_of_each_phrase() {
        let mut v = Vocab::new();
        assert_eq!(FillPlan::new(&v, 4), None, "no fill tag, no plan");
        let funk = v.add_style("funk").unwrap();
        let beat = v.add_style("beat").unwrap();
        let fill = v.add_style("fill").unwrap();
        assert!(
            !(0..16).any(|b| FillPlan::new(&v, 0).unwrap().is_fill(b)),
            "0: no fills"
        );
        let plan = FillPlan::new(&v, 4).unwrap();
        let fills: Vec<i64> = (0..12).filter(|&b| plan.is_fill(b)).collect();
        assert_eq!(fills, vec![3, 7, 11]);
        // A host bar written as two stream bars: the fill is the second half of host bar 3.
        let halves = FillPlan { parts: 2, ..plan };
        let fills: Vec<i64> = (0..24).filter(|&b| halves.is_fill(b)).collect();
        assert_eq!(fills, vec![7, 15, 23]);
        let mut want = vec![funk, beat];
        want.sort_unstable();
        assert_eq!(plan.styles(&[funk], 0), want);
        let mut want = vec![funk, fill];
        want.sort_unstable();
        assert_eq!(plan.styles(&[funk, beat], 3), want);
    }
}
