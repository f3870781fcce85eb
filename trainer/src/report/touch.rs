//! The touch of a pitched line: how it swings its eighth notes and how its dynamics move. A
//! soloist lengthens the first eighth of a pair (a swing ratio of 1.2 to 2 in the WJazzD solos,
//! lower at fast tempos) and shades his line; a line on a straight grid at one velocity is the
//! machine the users hear. The drums' feel is [`super::feel`].

use super::metrics::Passage;

/// How far an onset may sit from a grid point and still count as on it, as a share of the
/// grid's step: the report's tolerance for a beat, applied to each step.
const ON_GRID: f64 = super::metrics::ON_BEAT_TOLERANCE;
/// Onsets closer than this (beats) are one onset (a chord, or a grace note's neighbour).
const SAME_ONSET: f64 = 1.0 / 24.0;
/// The steps whose halves are paired: the beat (eighth notes) and half the beat (sixteenths).
const STEPS: [f64; 2] = [1.0, 0.5];

/// Swing ratio of `p`'s pairs: wherever the line starts a note on a step of the beat or half
/// beat ([`STEPS`]), exactly one more within the step, and the next on the next step, the
/// length of the first part over the second's; the geometric mean over every such pair (1
/// straight, 2 a triplet swing, 3 dotted). A reel in sixteenths pairs at the half beat, a
/// soloist's eighths at the beat. NaN without such a pair, and for meters whose beat is not a
/// quarter or half note (6/8's eighths come in threes).
pub fn swing_ratio(p: &Passage) -> f64 {
    if p.denominator != 4 && p.denominator != 2 {
        return f64::NAN;
    }
    let mut onsets: Vec<f64> = p.in_range().map(|n| n.start).collect();
    onsets.sort_by(f64::total_cmp);
    onsets.dedup_by(|b, a| *b - *a < SAME_ONSET);
    let (mut sum, mut pairs) = (0.0, 0usize);
    for step in STEPS {
        let on_grid = |t: f64, k: f64| (t - k).abs() <= ON_GRID * step;
        for w in onsets.windows(3) {
            let (a, b, c) = (w[0], w[1], w[2]);
            let k = (a / step).round() * step;
            if !on_grid(a, k) || !on_grid(c, k + step) || on_grid(b, k) || on_grid(b, k + step) {
                continue;
            }
            sum += ((b - a) / (c - b)).ln();
            pairs += 1;
        }
    }
    if pairs == 0 {
        f64::NAN
    } else {
        (sum / pairs as f64).exp()
    }
}

/// Standard deviation of `p`'s note velocities (NaN under two notes).
pub fn velocity_spread(p: &Passage) -> f64 {
    let v: Vec<f64> = p.in_range().map(|n| n.velocity as f64).collect();
    if v.len() < 2 {
        return f64::NAN;
    }
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use models::music::Note;

    fn passage(notes: &[Note]) -> Passage<'_> {
        Passage {
            notes,
            chords: &[],
            numerator: 4,
            denominator: 4,
            bars: 2,
            tempo_bpm: 160.0,
        }
    }

    fn line(onsets: &[f64], velocities: &[u8]) -> Vec<Note> {
        onsets
            .iter()
            .zip(velocities.iter().cycle())
            .map(|(&start, &velocity)| Note {
                start,
                duration: 0.3,
                pitch: 60,
                velocity,
            })
            .collect()
    }

    #[test]
    fn eighth_pairs_give_their_ratio() {
        // Triplet swing on beats 0-3, a straight pair on beat 4, then beat 5 alone with a
        // quarter after it: pairs of 2, 2 and 1, geometric mean 2^(2/3).
        let notes = line(&[0.0, 2.0 / 3.0, 1.0, 5.0 / 3.0, 2.0, 2.5, 3.0, 5.0, 6.0], &[80]);
        let r = swing_ratio(&passage(&notes));
        assert!((r - 2f64.powf(2.0 / 3.0)).abs() < 1e-9, "{r}");
        // Straight eighths played a little late and early stay straight; a chord is one onset.
        let mut notes = line(&[0.02, 0.5, 0.98, 1.5, 2.0], &[80]);
        notes.push(Note { pitch: 64, ..notes[0] });
        let r = swing_ratio(&passage(&notes));
        assert!((r - 1.0).abs() < 0.1, "{r}");
        // Quarters, triplets (two notes between beats) and 6/8 have no pair.
        assert!(swing_ratio(&passage(&line(&[0.0, 1.0, 2.0, 3.0], &[80]))).is_nan());
        assert!(swing_ratio(&passage(&line(&[0.0, 1.0 / 3.0, 2.0 / 3.0, 1.0], &[80]))).is_nan());
        let notes = line(&[0.0, 2.0 / 3.0, 1.0], &[80]);
        assert!(
            swing_ratio(&Passage {
                denominator: 8,
                numerator: 6,
                ..passage(&notes)
            })
            .is_nan()
        );
        // Sixteenths pair at the half beat: straight ones, then swung ones.
        let straight: Vec<f64> = (0..9).map(|i| i as f64 * 0.25).collect();
        assert!((swing_ratio(&passage(&line(&straight, &[80]))) - 1.0).abs() < 1e-9);
        let swung: Vec<f64> = (0..9).map(|i| (i / 2) as f64 * 0.5 + (i % 2) as f64 / 3.0).collect();
        let r = swing_ratio(&passage(&line(&swung, &[80])));
        assert!((r - 2.0).abs() < 1e-9, "{r}");
    }

    #[test]
    fn velocity_spread_is_the_standard_deviation() {
        let notes = line(&[0.0, 1.0, 2.0, 3.0], &[70, 90]);
        assert!((velocity_spread(&passage(&notes)) - 10.0).abs() < 1e-9);
        assert_eq!(velocity_spread(&passage(&line(&[0.0, 1.0], &[64]))), 0.0);
        assert!(velocity_spread(&passage(&line(&[0.0], &[64]))).is_nan());
    }
}
