//! A pitched role's memory of a figure come round: a few notes it walked over a bar of changes,
//! walked again where that bar of changes comes round, starting anywhere in the bar.
//!
//! A jazz bassist seldom plays a whole bar again (where a phrase of the changes came round, 6 %
//! of the training solos' bars), but often four to six notes of one: over the training solos
//! of WJazzD, 0.023 of the bassists' 4-grams are a walked figure of four moving notes played
//! before, 385 of 472 of them a whole number of bars back, and the runs of notes that come back
//! so start on any beat (118 of 329 on the first) and last four notes (168), five (63), six (44)
//! or more. The network alone walks a figure again 0.001 of the time (models/README.md, "The
//! jazz bass's figures come round"). The memory of the changes and of a phrase come round replay
//! from a bar line; this one starts where the last bar of changes, up to the note now, came round
//! ([`figure_lag`]), in a share of those places ([`MemoryWeights::figure`]), and goes on for four
//! notes or more, as long as the role follows the figure ([`figure_note`]).
//!
//! [`MemoryWeights::figure`]: super::MemoryWeights::figure

use super::changes::draw;
use crate::chord::Chord;

/// The fewest notes a figure that comes round plays.
pub const MIN_FIGURE_NOTES: usize = 4;

/// The most notes a figure that comes round plays.
pub const MAX_FIGURE_NOTES: usize = 32;

/// The lag (ticks, a whole number of `bar_ticks`) at which the bar of changes ending at `t` (from
/// `t - bar_ticks` up to `t`) came round, the latest, starting at `earliest` or later; none over
/// one chord held through it (a vamp is not a figure's changes: what comes round there is the
/// whole groove, the memory of the groove's rhythm's) or where no chord is known at `t`.
pub fn figure_lag(
    t: i64,
    bar_start: i64,
    bar_ticks: i64,
    earliest: i64,
    chord_at: impl Fn(i64) -> Option<Option<Chord>>,
) -> Option<i64> {
    super::changes::moving_lag_from(t, t - bar_ticks, bar_start, bar_ticks, earliest, chord_at)
}

/// Whether a figure starts at `tick` of a session drawn with `seed`, for a share `start` of the
/// places where one can.
fn starts(seed: u64, tick: i64, start: f32) -> bool {
    draw(seed, tick, 0x6669_6775_7265_2121) < start
}

/// How many notes the figure that starts at `tick` plays: [`MIN_FIGURE_NOTES`], then one more
/// each time a draw falls under `go_on`, up to [`MAX_FIGURE_NOTES`].
fn length(seed: u64, tick: i64, go_on: f32) -> usize {
    let mut n = MIN_FIGURE_NOTES;
    while n < MAX_FIGURE_NOTES && draw(seed, tick, 0x6c65_6e67_7468_0000 + n as u64) < go_on {
        n += 1;
    }
    n
}

/// The pitch the memory of a figure come round recalls for the note a monophonic role is about
/// to play at `t`, where the bar of changes up to `t` came round `lag` back ([`figure_lag`]):
/// the pitch the role played at `t - lag`, where the figure goes on or starts here. `ticks` and
/// `pitches` are the role's notes in the order played. A figure goes on while the role's last
/// notes are the notes `lag` back (however they came, up to [`MAX_FIGURE_NOTES`] of them), for
/// as many notes as the figure that started at the first of them plays ([`length`]), if one
/// started there; else one starts here in a share `start` of the places. None where the role played nothing at `t - lag` or has
/// played at `t` already.
pub fn figure_note(ticks: &[i64], pitches: &[u8], t: i64, lag: i64, seed: u64, start: f32, go_on: f32) -> Option<u8> {
    let n = ticks.len().min(pitches.len());
    if lag <= 0 || n == 0 || ticks[n - 1] >= t {
        return None;
    }
    let at = |tick: i64| {
        let i = ticks[..n].partition_point(|&x| x < tick);
        (i < n && ticks[i] == tick).then(|| pitches[i])
    };
    let target = at(t - lag)?;
    // How many of the role's last notes are the notes `lag` back (a bounded look: past the longest
    // figure, a figure may start afresh).
    let following = (0..n)
        .take(MAX_FIGURE_NOTES + 1)
        .take_while(|&k| at(ticks[n - 1 - k] - lag) == Some(pitches[n - 1 - k]))
        .count();
    let go = if (1..=MAX_FIGURE_NOTES).contains(&following) && starts(seed, ticks[n - following], start) {
        following < length(seed, ticks[n - following], go_on)
    } else {
        starts(seed, t, start)
    };
    go.then_some(target)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::changes::tests::chords;

    const BAR: i64 = 48;
    const BEAT: i64 = 12;

    #[test]
    fn a_bar_of_changes_comes_round_from_any_beat() {
        // Two bars round and round: C for a bar, then F two beats and G two.
        let c = chords(&[(0, 0), (48, 5), (72, 7), (96, 0), (144, 5), (168, 7), (192, 0)]);
        let at = |t: i64| c.range(..=t).next_back().map(|(_, c)| *c);
        // Beat 3 of bar 3 (G): the bar of changes from beat 3 of bar 2 came round two bars back.
        assert_eq!(figure_lag(168, 144, BAR, 0, at), Some(2 * BAR));
        // Not before the earliest tick, nor in the first two bars.
        assert_eq!(figure_lag(168, 144, BAR, 48, at), None);
        assert_eq!(figure_lag(72, 48, BAR, 0, at), None);
        // One chord held through the last bar: no figure's changes.
        let vamp = chords(&[(0, 0)]);
        let at = |t: i64| vamp.range(..=t).next_back().map(|(_, c)| *c);
        assert_eq!(figure_lag(150, 144, BAR, 0, at), None);
    }

    /// A walking line of `bars` bars, a note a beat, its pitches `line(beat)`.
    fn walk(bars: i64, line: impl Fn(i64) -> u8) -> (Vec<i64>, Vec<u8>) {
        (0..bars * 4).map(|b| (b * BEAT, line(b))).unzip()
    }

    #[test]
    fn a_figure_starts_in_its_share_of_the_places_and_goes_on() {
        // Four bars walked, every pitch new; the next note is beat 1 of bar 4, whose changes came
        // round two bars back.
        let (ticks, pitches) = walk(4, |b| 30 + b as u8);
        let t = 4 * BAR;
        let share = |start: f32| {
            (0..4000)
                .filter(|&seed| figure_note(&ticks, &pitches, t, 2 * BAR, seed, start, 0.5).is_some())
                .count() as f32
                / 4000.0
        };
        assert_eq!(share(0.0), 0.0);
        assert_eq!(share(1.0), 1.0);
        assert!((share(0.25) - 0.25).abs() < 0.03, "{}", share(0.25));
        // It recalls the note walked two bars back.
        assert_eq!(figure_note(&ticks, &pitches, t, 2 * BAR, 1, 1.0, 0.5), Some(pitches[8]));
        // Nothing where the role played nothing there, or has played here already.
        assert_eq!(figure_note(&ticks, &pitches, t + 6, 2 * BAR, 1, 1.0, 0.5), None);
        assert_eq!(figure_note(&ticks, &pitches, ticks[15], 2 * BAR, 1, 1.0, 0.5), None);
    }

    #[test]
    fn a_figure_plays_four_notes_or_more_then_stops() {
        // The line walks bars 0-1, then walks them again from beat 3 of bar 2 for as long as the
        // figure that started there goes on (every later note recalled), else a new pitch.
        for seed in 0..200u64 {
            let (mut ticks, mut pitches) = walk(2, |b| 40 + (b as u8 * 5) % 24);
            ticks.extend([2 * BAR, 2 * BAR + BEAT]);
            pitches.extend([90, 91]);
            let lag = 2 * BAR;
            let mut played = 0;
            for b in 10..16 {
                let t = b * BEAT;
                let p = figure_note(&ticks, &pitches, t, lag, seed, 0.5, 0.5);
                // The first note of a run is a start (a share of the seeds); once started, it goes
                // on at least four notes.
                if played > 0 && played < MIN_FIGURE_NOTES {
                    assert!(p.is_some(), "seed {seed}: stopped after {played}");
                }
                match p {
                    Some(p) => {
                        assert_eq!(p, pitches[(t - lag) as usize / BEAT as usize]);
                        played += 1;
                    }
                    None if played > 0 => break,
                    None => {}
                }
                ticks.push(t);
                pitches.push(p.unwrap_or(100 + b as u8));
            }
        }
        // With no chance to go on, a figure is four notes; with every chance, all six here.
        let run = |go_on: f32| {
            let (mut ticks, mut pitches) = walk(2, |b| 40 + b as u8);
            let mut n = 0;
            for b in 8..14 {
                let t = b * BEAT;
                match figure_note(&ticks, &pitches, t, 2 * BAR, 3, 1.0, go_on) {
                    Some(p) if n == b - 8 => {
                        n += 1;
                        ticks.push(t);
                        pitches.push(p);
                    }
                    _ => break,
                }
            }
            n
        };
        assert_eq!(run(0.0), 4);
        assert_eq!(run(1.0), 6);
    }
}
