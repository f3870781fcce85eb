//! Whether a line keeps its rhythm. A groove's bass plays its pattern bar after bar (in a one-,
//! two- or four-bar cycle) whatever the chords do; a folk tune's strain comes back with its
//! rhythm; a soloist seldom plays a bar's rhythm twice. The 4-gram repetition counts pitches and
//! the memory of the changes' row counts bars played again over the same chords; neither hears a
//! bass that keeps its pitches moving over new chords but drops a beat every other bar, which is
//! what a listener hears first.

use super::metrics::Passage;
use models::tokenizer::vocab::TICKS_PER_BEAT;

/// Bars back a bar's rhythm is looked for: a one-, two- or four-bar pattern.
pub const RHYTHM_LOOKBACK_BARS: usize = 4;

/// Each bar's onsets (ticks from its bar line on the tokenizer's grid, ascending, no repeats).
fn onsets_by_bar(p: &Passage) -> Vec<Vec<i64>> {
    let mut bars = vec![Vec::new(); p.bars as usize];
    for n in p.in_range() {
        let (bar, off) = p.in_bar(n.start);
        if let Some(b) = bars.get_mut(bar) {
            b.push((off * TICKS_PER_BEAT as f64).round() as i64);
        }
    }
    for b in &mut bars {
        b.sort_unstable();
        b.dedup();
    }
    bars
}

/// Of the bars after the first in which the line starts a note, the share whose onsets (the
/// places in the bar, whatever the pitches) are exactly those of one of the
/// [`RHYTHM_LOOKBACK_BARS`] bars before it; NaN where no such bar is.
pub fn rhythm_repeat(p: &Passage) -> f64 {
    let bars = onsets_by_bar(p);
    let (mut played, mut again) = (0usize, 0usize);
    for b in 1..bars.len() {
        if bars[b].is_empty() {
            continue;
        }
        played += 1;
        again += (1..=RHYTHM_LOOKBACK_BARS.min(b)).any(|k| bars[b - k] == bars[b]) as usize;
    }
    if played == 0 {
        f64::NAN
    } else {
        again as f64 / played as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use models::music::Note;

    fn n(start: f64, pitch: u8) -> Note {
        Note {
            start,
            duration: 0.5,
            pitch,
            velocity: 80,
        }
    }

    #[test]
    fn a_walking_line_that_drops_a_beat_breaks_its_rhythm() {
        // Four bars walking in quarters on new pitches each bar: bars 2-4 play bar 1's rhythm.
        let walk: Vec<Note> = (0..16).map(|k| n(k as f64, 36 + k as u8)).collect();
        assert_eq!(rhythm_repeat(&Passage::four_four(&walk, 4)), 1.0);
        // The same line with beat 3 of bar 3 left out: bar 3 matches no bar before it, bar 4
        // matches bars 1 and 2.
        let dropped: Vec<Note> = walk.iter().filter(|x| x.start != 10.0).copied().collect();
        assert!((rhythm_repeat(&Passage::four_four(&dropped, 4)) - 2.0 / 3.0).abs() < 1e-9);
    }

    #[test]
    fn a_two_bar_pattern_repeats_and_chords_count_once() {
        // Bar A: a chord on 1 and a note on 2.5; bar B: notes on 1 and 3. A B A B A: every bar
        // after the first two plays one two bars back; bar B matches nothing before it.
        let a = |bar: f64| vec![n(bar * 4.0, 48), n(bar * 4.0, 52), n(bar * 4.0 + 1.5, 55)];
        let b = |bar: f64| vec![n(bar * 4.0, 48), n(bar * 4.0 + 2.0, 50)];
        let notes: Vec<Note> = [a(0.0), b(1.0), a(2.0), b(3.0), a(4.0)].concat();
        assert!((rhythm_repeat(&Passage::four_four(&notes, 5)) - 3.0 / 4.0).abs() < 1e-9);
        // An empty bar is not counted, and a line with notes in its first bar only has none.
        assert!(rhythm_repeat(&Passage::four_four(&a(0.0), 3)).is_nan());
    }
}
