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
//! ([`figure_lags`]), in a share of those places ([`MemoryWeights::figure`]), and goes on for four
//! notes or more, as long as the role follows the figure ([`figure_note`]).
//!
//! Where that bar of changes came round more than once, the bassists play again what they played
//! at any of those times alike: over 64 bars of the training solos, the note at the same place
//! 2, 4, 8, 16 or 32 bars back is theirs again 0.27-0.35 of the time, the latest time 0.24. A
//! figure is taken from one of them, drawn where it starts (models/README.md, "Where a figure
//! comes from").
//!
//! [`MemoryWeights::figure`]: super::MemoryWeights::figure

use super::changes::draw;
use crate::chord::Chord;

/// The fewest notes a figure that comes round plays.
pub const MIN_FIGURE_NOTES: usize = 4;

/// The most notes a figure that comes round plays.
pub const MAX_FIGURE_NOTES: usize = 32;

/// Most bars back a figure is looked for: a chorus of a 32-bar tune, two of a blues.
pub const MAX_FIGURE_LAG_BARS: usize = 32;

/// The lags at which a bar of changes came round ([`figure_lags`]), the latest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lags {
    lags: [i64; MAX_FIGURE_LAG_BARS],
    len: usize,
}

impl Lags {
    /// The lags, the latest first.
    pub fn as_slice(&self) -> &[i64] {
        &self.lags[..self.len]
    }
}

/// The lags (ticks, each a whole number of `bar_ticks`, the latest first, up to
/// [`MAX_FIGURE_LAG_BARS`] bars) at which the bar of changes ending at `t` (from `t - bar_ticks`
/// up to `t`) came round, the earlier bar starting at `earliest` or later; none over one chord
/// held through it (a vamp is not a figure's changes: what comes round there is the whole groove,
/// the memory of the groove's rhythm's) or where no chord is known at `t`.
pub fn figure_lags(t: i64, bar_ticks: i64, earliest: i64, chord_at: impl Fn(i64) -> Option<Option<Chord>>) -> Lags {
    let mut out = Lags {
        lags: [0; MAX_FIGURE_LAG_BARS],
        len: 0,
    };
    let from = t - bar_ticks;
    if bar_ticks <= 0 || super::changes::held(t, from, &chord_at) {
        return out;
    }
    for d in super::changes::lags_from(t, from, bar_ticks, earliest, MAX_FIGURE_LAG_BARS as i64, &chord_at) {
        out.lags[out.len] = d;
        out.len += 1;
    }
    out
}

/// Whether a figure starts at `tick` of a session drawn with `seed`, for a share `start` of the
/// places where one can.
fn starts(seed: u64, tick: i64, start: f32) -> bool {
    draw(seed, tick, 0x6669_6775_7265_2121) < start
}

/// The lag a figure that starts at `tick` is taken from: one of `lags` (those at `tick`), each
/// as likely.
fn chosen(seed: u64, tick: i64, lags: &Lags) -> Option<i64> {
    let lags = lags.as_slice();
    let k = (draw(seed, tick, 0x6c61_6721_6669_6775) * lags.len() as f32) as usize;
    lags.get(k.min(lags.len().saturating_sub(1))).copied()
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
/// to play at `t`, where the bar of changes up to `t` came round at `lags_at(t)` (the lags at a
/// tick, [`figure_lags`]). `ticks` and `pitches` are the role's notes in the order played.
///
/// A figure is under way at a lag while the role's last notes are the notes that lag back
/// (however they came, up to [`MAX_FIGURE_NOTES`] of them) and the first of them where a figure
/// started took it from that lag: it recalls the pitch played at `t` minus the lag for as many
/// notes as that figure plays ([`MIN_FIGURE_NOTES`], then one more each time a draw falls under
/// `go_on`), and once they are played, none until the role leaves it. Where none is under way,
/// one starts here in a share `start` of the places, from one of the lags at `t` drawn alike.
/// None where the role played nothing there or has played at `t` already.
pub fn figure_note(
    ticks: &[i64],
    pitches: &[u8],
    t: i64,
    lags_at: impl Fn(i64) -> Lags,
    seed: u64,
    start: f32,
    go_on: f32,
) -> Option<u8> {
    let n = ticks.len().min(pitches.len());
    if n == 0 || ticks[n - 1] >= t {
        return None;
    }
    let lags = lags_at(t);
    if lags.len == 0 {
        return None;
    }
    let at = |tick: i64| {
        let i = ticks[..n].partition_point(|&x| x < tick);
        (i < n && ticks[i] == tick).then(|| pitches[i])
    };
    for &lag in lags.as_slice() {
        // The role's last notes that are the notes `lag` back, the latest first (a bounded look:
        // past the longest figure, a figure may start afresh).
        let following = (0..n)
            .take(MAX_FIGURE_NOTES + 1)
            .take_while(|&k| at(ticks[n - 1 - k] - lag) == Some(pitches[n - 1 - k]))
            .count()
            .min(MAX_FIGURE_NOTES);
        // The first of them where a figure started from this lag: it has played `played` notes
        // (a later one that drew a start went on with it).
        let started = (1..=following).rev().find(|&played| {
            let s = ticks[n - played];
            starts(seed, s, start) && chosen(seed, s, &lags_at(s)) == Some(lag)
        });
        if let Some(played) = started {
            return (played < length(seed, ticks[n - played], go_on))
                .then(|| at(t - lag))
                .flatten();
        }
    }
    if !starts(seed, t, start) {
        return None;
    }
    at(t - chosen(seed, t, &lags)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::changes::tests::chords;

    const BAR: i64 = 48;
    const BEAT: i64 = 12;

    /// Lags as [`figure_lags`] gives them.
    fn lags(l: &[i64]) -> Lags {
        let mut out = Lags {
            lags: [0; MAX_FIGURE_LAG_BARS],
            len: l.len(),
        };
        out.lags[..l.len()].copy_from_slice(l);
        out
    }

    #[test]
    fn a_bar_of_changes_comes_round_from_any_beat_at_every_time_it_came() {
        // Two bars round and round: C for a bar, then F two beats and G two.
        let c = chords(&[
            (0, 0),
            (48, 5),
            (72, 7),
            (96, 0),
            (144, 5),
            (168, 7),
            (192, 0),
            (240, 5),
            (264, 7),
        ]);
        let at = |t: i64| c.range(..=t).next_back().map(|(_, c)| *c);
        // Beat 3 of bar 3 (G): the bar of changes from beat 3 of bar 2 came round two bars back.
        assert_eq!(figure_lags(168, BAR, 0, at).as_slice(), [2 * BAR]);
        // Beat 3 of bar 5: two bars back and four, the latest first.
        assert_eq!(figure_lags(264, BAR, 0, at).as_slice(), [2 * BAR, 4 * BAR]);
        // Not before the earliest tick, nor in the first two bars.
        assert_eq!(figure_lags(168, BAR, 48, at).as_slice(), [0i64; 0]);
        assert_eq!(figure_lags(264, BAR, 48, at).as_slice(), [2 * BAR]);
        assert_eq!(figure_lags(72, BAR, 0, at).as_slice(), [0i64; 0]);
        // One chord held through the last bar: no figure's changes.
        let vamp = chords(&[(0, 0)]);
        let at = |t: i64| vamp.range(..=t).next_back().map(|(_, c)| *c);
        assert_eq!(figure_lags(150, BAR, 0, at).as_slice(), [0i64; 0]);
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
        let two = lags(&[2 * BAR]);
        let note = |t: i64, seed: u64, start: f32| figure_note(&ticks, &pitches, t, |_| two, seed, start, 0.5);
        let share = |start: f32| (0..4000).filter(|&seed| note(t, seed, start).is_some()).count() as f32 / 4000.0;
        assert_eq!(share(0.0), 0.0);
        assert_eq!(share(1.0), 1.0);
        assert!((share(0.25) - 0.25).abs() < 0.03, "{}", share(0.25));
        // It recalls the note walked two bars back.
        assert_eq!(note(t, 1, 1.0), Some(pitches[8]));
        // Nothing where the role played nothing there, or has played here already.
        assert_eq!(note(t + 6, 1, 1.0), None);
        assert_eq!(note(ticks[15], 1, 1.0), None);
    }

    #[test]
    fn a_figure_is_taken_from_any_time_the_changes_came_and_stays_there() {
        // Six bars walked, every pitch new; the changes of the bar up to beat 1 of bar 6 came
        // round two and four bars back.
        let (ticks, pitches) = walk(6, |b| 30 + b as u8);
        let both = lags(&[2 * BAR, 4 * BAR]);
        let t = 6 * BAR;
        let (mut two, mut four) = (0, 0);
        for seed in 0..2000u64 {
            let Some(p) = figure_note(&ticks, &pitches, t, |_| both, seed, 1.0, 1.0) else {
                panic!("seed {seed}: every place starts a figure");
            };
            let lag = if p == pitches[16] { 2 * BAR } else { 4 * BAR };
            if lag == 2 * BAR {
                two += 1;
            } else {
                assert_eq!(p, pitches[8], "seed {seed}");
                four += 1;
            }
            // Once started, it goes on from the same time, not from the latest.
            let (mut ticks, mut pitches) = (ticks.clone(), pitches.clone());
            ticks.push(t);
            pitches.push(p);
            let next = figure_note(&ticks, &pitches, t + BEAT, |_| both, seed, 1.0, 1.0);
            assert_eq!(next, Some(pitches[((t + BEAT - lag) / BEAT) as usize]), "seed {seed}");
        }
        assert!((two as f32 / 2000.0 - 0.5).abs() < 0.04, "{two} {four}");
    }

    #[test]
    fn a_figure_plays_four_notes_or_more_then_stops() {
        // The line walks bars 0-1, then walks them again from beat 3 of bar 2 for as long as the
        // figure that started there goes on (every later note recalled), else a new pitch.
        let two = lags(&[2 * BAR]);
        for seed in 0..200u64 {
            let (mut ticks, mut pitches) = walk(2, |b| 40 + (b as u8 * 5) % 24);
            ticks.extend([2 * BAR, 2 * BAR + BEAT]);
            pitches.extend([90, 91]);
            let lag = 2 * BAR;
            let mut played = 0;
            for b in 10..16 {
                let t = b * BEAT;
                let p = figure_note(&ticks, &pitches, t, |_| two, seed, 0.5, 0.5);
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
                match figure_note(&ticks, &pitches, t, |_| two, 3, 1.0, go_on) {
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
