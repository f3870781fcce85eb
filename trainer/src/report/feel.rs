//! The feel of a drum passage: how far each instrument class plays from the 16th-note grid (in
//! milliseconds at the passage's tempo, signed: negative is early), how its velocities spread, and
//! how often the snare plays ghost notes. Human drummers are systematic (a laid-back snare, a
//! pushed hi-hat); a programmed or randomly humanized part is not.

use super::metrics::Passage;

/// Instrument classes: the plugin's ([`models::groove::DRUM_CLASSES`]).
pub use models::groove::DRUM_CLASSES as CLASSES;

/// Velocity below which a snare hit off the backbeat is a ghost note.
pub const GHOST_VELOCITY: u8 = 40;

/// The feel metrics, in report order: per class its mean absolute offset from the 16th grid, its
/// mean signed offset, its velocity spread and its mean velocity; then the ghost-note rate.
pub const FEEL: [(&str, &str); 21] = [
    ("timing_kick", "kick |offset| from 16ths (ms)"),
    ("timing_snare", "snare |offset| from 16ths (ms)"),
    ("timing_hihat", "hi-hat |offset| from 16ths (ms)"),
    ("timing_toms", "toms |offset| from 16ths (ms)"),
    ("timing_cymbals", "cymbals |offset| from 16ths (ms)"),
    ("push_kick", "kick mean offset (ms, - early)"),
    ("push_snare", "snare mean offset (ms, - early)"),
    ("push_hihat", "hi-hat mean offset (ms, - early)"),
    ("push_toms", "toms mean offset (ms, - early)"),
    ("push_cymbals", "cymbals mean offset (ms, - early)"),
    ("velocity_spread_kick", "kick velocity spread (sd)"),
    ("velocity_spread_snare", "snare velocity spread (sd)"),
    ("velocity_spread_hihat", "hi-hat velocity spread (sd)"),
    ("velocity_spread_toms", "toms velocity spread (sd)"),
    ("velocity_spread_cymbals", "cymbals velocity spread (sd)"),
    ("velocity_kick", "kick velocity mean"),
    ("velocity_snare", "snare velocity mean"),
    ("velocity_hihat", "hi-hat velocity mean"),
    ("velocity_toms", "toms velocity mean"),
    ("velocity_cymbals", "cymbals velocity mean"),
    ("ghost_rate", "ghost notes per snare hit"),
];

fn class_of(key: u8) -> Option<usize> {
    CLASSES.iter().position(|(_, keys)| keys.contains(&key))
}

/// The feel of `p`, one value per [`FEEL`] entry (NaN where a class does not play).
pub fn feel(p: &Passage) -> Vec<f64> {
    let ms_per_beat = 60_000.0 / p.tempo_bpm.max(1.0);
    let n = CLASSES.len();
    let mut offsets: Vec<Vec<f64>> = vec![Vec::new(); n];
    let mut velocities: Vec<Vec<f64>> = vec![Vec::new(); n];
    let (mut snares, mut ghosts) = (0usize, 0usize);
    for note in p.in_range() {
        let Some(c) = class_of(note.pitch) else { continue };
        let grid = (note.start * 4.0).round() / 4.0;
        offsets[c].push((note.start - grid) * ms_per_beat);
        velocities[c].push(note.velocity as f64);
        if CLASSES[c].0 == "snare" {
            snares += 1;
            let (_, off) = p.in_bar(note.start);
            let backbeat =
                p.numerator == 4 && p.denominator == 4 && [1.0, 3.0].iter().any(|b| (off - b).abs() < 1.0 / 8.0);
            ghosts += (note.velocity < GHOST_VELOCITY && !backbeat) as usize;
        }
    }
    let mean = |v: &[f64]| {
        if v.is_empty() {
            f64::NAN
        } else {
            v.iter().sum::<f64>() / v.len() as f64
        }
    };
    let sd = |v: &[f64]| {
        if v.len() < 2 {
            return f64::NAN;
        }
        let m = mean(v);
        (v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / v.len() as f64).sqrt()
    };
    let mut out = Vec::with_capacity(FEEL.len());
    out.extend(
        offsets
            .iter()
            .map(|o| mean(&o.iter().map(|x| x.abs()).collect::<Vec<_>>())),
    );
    out.extend(offsets.iter().map(|o| mean(o)));
    out.extend(velocities.iter().map(|v| sd(v)));
    out.extend(velocities.iter().map(|v| mean(v)));
    out.push(if snares > 0 {
        ghosts as f64 / snares as f64
    } else {
        f64::NAN
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use models::music::Note;

    fn hit(start: f64, pitch: u8, velocity: u8) -> Note {
        Note {
            start,
            duration: 0.1,
            pitch,
            velocity,
        }
    }

    #[test]
    fn a_laid_back_snare_and_ghost_notes_are_measured() {
        // 120 BPM: 500 ms a beat. Snare 20 ms late on 2 and 4, kick on the grid, a ghost snare
        // on the "e" of 3, hi-hats alternating loud and soft.
        let late = 20.0 / 500.0;
        let mut notes = Vec::new();
        for bar in 0..2 {
            let b = bar as f64 * 4.0;
            notes.push(hit(b, 36, 100));
            notes.push(hit(b + 2.0, 36, 100));
            notes.push(hit(b + 1.0 + late, 38, 110));
            notes.push(hit(b + 3.0 + late, 38, 110));
            notes.push(hit(b + 2.25, 38, 30));
            for k in 0..8 {
                notes.push(hit(b + k as f64 * 0.5, 42, if k % 2 == 0 { 100 } else { 60 }));
            }
        }
        let p = Passage {
            notes: &notes,
            chords: &[],
            numerator: 4,
            denominator: 4,
            bars: 2,
            tempo_bpm: 120.0,
        };
        let f = feel(&p);
        let get = |k: &str| f[FEEL.iter().position(|(key, _)| *key == k).unwrap()];
        assert!(get("timing_kick").abs() < 1e-9);
        // Four late backbeats (20 ms) and two ghosts on the grid.
        assert!(
            (get("timing_snare") - 80.0 / 6.0).abs() < 1e-6,
            "{}",
            get("timing_snare")
        );
        assert!((get("push_snare") - 80.0 / 6.0).abs() < 1e-6);
        assert!((get("velocity_spread_hihat") - 20.0).abs() < 1e-9);
        assert!((get("ghost_rate") - 2.0 / 6.0).abs() < 1e-9);
        assert!(get("timing_toms").is_nan() && get("velocity_spread_cymbals").is_nan());
    }
}
