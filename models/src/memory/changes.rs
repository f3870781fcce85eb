//! A pitched role's memory of the changes: when the chords come round again, what the role played
//! over them the last time, where it is now in the bar.
//!
//! A band's bass and comping play a groove's figure over each chord, and when the progression
//! comes round they play it again: over the validation grooves, where the chords of the bar so far
//! are those of a bar some bars back, the grooves' bass plays there the pitch it played then 0.58
//! of the time; the band's network, 0.39, so its lines seldom repeat (4-gram repetition half the
//! grooves'; models/README.md, "The memory of the changes"). This memory finds the latest earlier
//! bar, up to [`MAX_LAG_BARS`] back, whose chords from its bar line up to the same place are the
//! current bar's ([`lag`]), and mixes into the role's choices what it played there: the pitches
//! at this place ([`recall_pitches`]), and when its next note came, or that it rested to the bar
//! line ([`recall_time`]). The network keeps its say by the memory's weights
//! ([`super::MemoryWeights::changes`]), chosen on the validation split, and the memory plays in a
//! share of the bars only ([`plays_bar`]): the grooves play a bar again as a whole or not at all.
//! Where the bar before came round too ([`phrase_lag`]), a phrase of the changes has come round,
//! and a pianist plays the bar again note for note: the memory of a phrase come round recalls it
//! there, at its own weight ([`super::MemoryWeights::phrase`]).

use crate::chord::Chord;

/// Most bars back the memory looks for the same changes.
pub const MAX_LAG_BARS: i64 = 16;

/// Most bars back the memory of a phrase come round looks for the phrase: a verse of a strophic
/// song comes round after 8 to 40 bars or more. Over 64 bars of the training songs, where a
/// phrase came round more than 16 bars back and not since, the songs' pianists play the bar
/// again 0.8-0.9 of the time (models/README.md, "A verse comes round").
pub const MAX_PHRASE_LAG_BARS: i64 = 64;

/// Ticks between the chord lookups that compare two stretches of changes (an 8th note).
const STEP_TICKS: i64 = crate::tokenizer::vocab::TICKS_PER_BEAT as i64 / 2;

/// The lag (ticks, a whole number of `bar_ticks`) of the latest earlier bar whose changes from
/// its bar line up to the same place as `t` are the changes of `t`'s bar from `bar_start` up to
/// `t` (the chord in force looked up every 8th and at `t`), that bar starting at `earliest` or
/// later; none where no chord is known at `t` or no bar matches.
pub fn lag(
    t: i64,
    bar_start: i64,
    bar_ticks: i64,
    earliest: i64,
    chord_at: impl Fn(i64) -> Option<Option<Chord>>,
) -> Option<i64> {
    if t < bar_start {
        return None;
    }
    lags_from(t, bar_start, bar_ticks, earliest, MAX_LAG_BARS, &chord_at).next()
}

/// Every lag (ticks, a whole number of `bar_ticks`, the latest first) up to `max_bars` bars back
/// at which the changes from `from` up to `t` came round, the earlier stretch starting at
/// `earliest` or later (the chord in force looked up every 8th and at `t`); none where no chord
/// is known at `t`.
pub(super) fn lags_from<F: Fn(i64) -> Option<Option<Chord>>>(
    t: i64,
    from: i64,
    bar_ticks: i64,
    earliest: i64,
    max_bars: i64,
    chord_at: &F,
) -> impl Iterator<Item = i64> + '_ {
    let known = bar_ticks > 0 && from <= t && chord_at(t).is_some();
    (1..=if known { max_bars } else { 0 })
        .map(move |k| k * bar_ticks)
        .take_while(move |&d| from - d >= earliest)
        .filter(move |&d| places(from, t).all(|x| chord_at(x - d) == chord_at(x)))
}

/// The ticks at which two stretches of changes are compared from `from` up to `t`: every
/// [`STEP_TICKS`], and `t`.
fn places(from: i64, t: i64) -> impl Iterator<Item = i64> {
    (from..t).step_by(STEP_TICKS as usize).chain([t])
}

/// The lag at which a phrase of the changes comes round at `t`: that of the latest earlier bar,
/// up to [`MAX_PHRASE_LAG_BARS`] back, whose changes up to the place of `t` are those of `t`'s bar
/// so far, and the bar before which are those of the bar before `t`'s, all of it; none where
/// those changes are one chord held (a vamp is not a phrase).
///
/// Where the bar before also came round, the musicians play the bar again: over the validation
/// chorales (their chords named from their own piano, 16 bars), in bars whose whole changes are
/// those of a bar some bars back, Bach plays that bar's notes again in 10 of 15 where the bar
/// before did not come round at the same lag, and in 38 of 38 where it did; the Lieder's pianists
/// 30 of 74 and 25 of 32. Over one chord held through both bars they play the bar again no more
/// often than where only the bar came round (the validation and test songs, 9 of 22), and a
/// memory that replayed it would loop a bar for as long as a user holds a chord
/// (models/README.md, "A phrase comes round").
pub fn phrase_lag(
    t: i64,
    bar_start: i64,
    bar_ticks: i64,
    earliest: i64,
    chord_at: impl Fn(i64) -> Option<Option<Chord>>,
) -> Option<i64> {
    let from = bar_start - bar_ticks;
    if t < bar_start || held(t, from, &chord_at) {
        return None;
    }
    lags_from(t, from, bar_ticks, earliest, MAX_PHRASE_LAG_BARS, &chord_at).next()
}

/// Whether the changes from `from` up to `t` are one chord held: what comes round over a vamp is
/// the whole groove, not a phrase or a figure of it, and the memories of a phrase and of a figure
/// stay out ([`phrase_lag`], [`super::figure::figure_lags`]).
pub(super) fn held(t: i64, from: i64, chord_at: impl Fn(i64) -> Option<Option<Chord>>) -> bool {
    let first = chord_at(from);
    places(from, t).all(|x| chord_at(x) == first)
}

/// Whether the memory of the changes plays in the bar starting at tick `bar_start` of a session
/// drawn with `seed`, for a share `share` of the bars: a draw of its own for each bar (a hash of
/// the two, so a rollback or a second pass over the bar decides as the first did).
///
/// The grooves' bassists play a bar again as a whole or not at all: where the chords of a bar are
/// those of a bar some bars back, the validation grooves' bass plays the same bar 0.48 of the
/// time, the band's network alone 0.08-0.14; mixed into every bar at the shipped weights the
/// memory made it 0.87-0.88 (models/README.md, "The memory of the changes, bar by bar").
pub fn plays_bar(seed: u64, bar_start: i64, share: f32) -> bool {
    if share >= 1.0 {
        return true;
    }
    if share <= 0.0 || share.is_nan() {
        return false;
    }
    draw(seed, bar_start, 0x6368_616e_6765_7321) < share
}

/// A uniform draw in `[0, 1)` of a session drawn with `seed`, at tick `tick`, for `salt`: a hash
/// of the three, the same every time it is asked, so a rollback or a second pass decides as the
/// first did (the memories' shares of bars and of places).
pub(super) fn draw(seed: u64, tick: i64, salt: u64) -> f32 {
    let z = crate::math::splitmix64(seed ^ (tick as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ salt);
    (z >> 40) as f32 / (1u64 << 24) as f32
}

/// Whether the memory of a phrase come round ([`phrase_lag`]) plays in the bar starting at
/// `bar_start`, for a share `share` of the bars: a draw of its own, as [`plays_bar`] draws the
/// memory of the changes'.
pub fn phrase_plays_bar(seed: u64, bar_start: i64, share: f32) -> bool {
    plays_bar(seed ^ 0x7068_7261_7365_2121, bar_start, share)
}

/// The bars back among which the memory of the groove's rhythm chooses the rhythm the current
/// bar plays again ([`rhythm_lag`]), in the order it prefers them: a four-bar pattern, a two-bar
/// one, a one-bar one. Over the validation grooves (48 bars) the grooves' bass plays the onsets
/// of the bar four back 0.77 of the time, two back 0.60, one back 0.40; the band's network 0.36,
/// 0.33 and 0.32 (models/README.md, "A groove's rhythm").
pub const RHYTHM_LAGS: [i64; 4] = [4, 2, 1, 3];

/// Whether the bars starting at `a` and `b` (`bar_ticks` long) start notes at the same places
/// (`ticks`: the role's onsets in the order played, non-decreasing; chords count once).
fn same_rhythm(ticks: &[i64], a: i64, b: i64, bar_ticks: i64) -> bool {
    let places = |from: i64| {
        let i = ticks.partition_point(|&x| x < from);
        let mut last = None;
        ticks[i..]
            .iter()
            .take_while(move |&&x| x < from + bar_ticks)
            .map(move |&x| x - from)
            .filter(move |&x| last.replace(x) != Some(x))
    };
    places(a).eq(places(b))
}

/// The lag (ticks, a whole number of `bar_ticks`) of the bar whose rhythm the memory of the
/// groove's rhythm recalls in the bar starting at `bar_start`: of the bars [`RHYTHM_LAGS`] back
/// that start at `earliest` or later and in which the role started a note (`ticks`: its onsets
/// in the order played), the one whose rhythm the most of them play, ties going to the one
/// [`RHYTHM_LAGS`] prefers. A walking line that dropped a beat in one bar keeps walking (three
/// bars of four outvote it), and a two- or four-bar pattern comes round in its place. None where
/// no such bar is.
pub fn rhythm_lag(bar_start: i64, bar_ticks: i64, earliest: i64, ticks: &[i64]) -> Option<i64> {
    if bar_ticks <= 0 {
        return None;
    }
    let played = |k: i64| {
        let from = bar_start - k * bar_ticks;
        from >= earliest && {
            let i = ticks.partition_point(|&x| x < from);
            ticks.get(i).is_some_and(|&x| x < from + bar_ticks)
        }
    };
    let mut best: Option<(i64, usize)> = None;
    for &k in RHYTHM_LAGS.iter().filter(|&&k| played(k)) {
        let votes = RHYTHM_LAGS
            .iter()
            .filter(|&&j| {
                played(j) && same_rhythm(ticks, bar_start - k * bar_ticks, bar_start - j * bar_ticks, bar_ticks)
            })
            .count();
        if best.is_none_or(|(_, v)| votes > v) {
            best = Some((k, votes));
        }
    }
    best.map(|(k, _)| k * bar_ticks)
}

/// Whether the memory of the groove's rhythm plays in the bar starting at `bar_start`, for a
/// share `share` of the bars: a draw of its own, as [`plays_bar`] draws the memory of the
/// changes'.
pub fn rhythm_plays_bar(seed: u64, bar_start: i64, share: f32) -> bool {
    plays_bar(seed ^ 0x7268_7974_686d_2121, bar_start, share)
}

/// Counts into `dist` the pitches the role played at tick `at` (`ticks` and `pitches` are its
/// notes in the order played, onsets non-decreasing); returns how many. `dist` is cleared first.
pub fn recall_pitches(ticks: &[i64], pitches: &[u8], at: i64, dist: &mut [f32; 128]) -> usize {
    dist.fill(0.0);
    let from = ticks.partition_point(|&x| x < at);
    let mut n = 0;
    for (&x, &p) in ticks[from..].iter().zip(&pitches[from..]) {
        if x != at {
            break;
        }
        dist[(p & 127) as usize] += 1.0;
        n += 1;
    }
    n
}

/// When the role's next note came after a place of an earlier bar ([`recall_time`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// At that place itself.
    Now,
    /// This many ticks after it, in the same bar.
    After(i64),
    /// Not before the bar line.
    BarLine,
}

/// When the role's next note came (`ticks`: its onsets in the order played) from tick `at` of an
/// earlier bar ending at `bar_end`: a note at `at` itself counts ([`Next::Now`]) when `now` is
/// true (the role has not played at the current place yet), otherwise only a later one.
pub fn recall_time(ticks: &[i64], at: i64, bar_end: i64, now: bool) -> Next {
    let from = ticks.partition_point(|&x| x < at);
    match ticks[from..].iter().find(|&&x| x > at || now) {
        Some(&x) if x == at => Next::Now,
        Some(&x) if x < bar_end => Next::After(x - at),
        _ => Next::BarLine,
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    #[test]
    fn the_rhythm_is_recalled_from_the_bar_most_of_the_last_four_play() {
        let bar = 48;
        // Notes in bars 0, 1 and 3 (ticks 0-47, 48-95, 144-191), none in bar 2.
        let ticks = [0, 24, 48, 150];
        // Bar 4: bars 0 (onsets 0, 24), 1 (0) and 3 (6) play three rhythms; the four-bar one wins.
        assert_eq!(rhythm_lag(4 * bar, bar, 0, &ticks), Some(4 * bar));
        // From a stream that starts at bar 1: bar 2 (two back) is empty, bar 1 (three back) and
        // bar 3 (one back) differ: one back.
        assert_eq!(rhythm_lag(4 * bar, bar, bar, &ticks), Some(bar));
        // Bar 3 from bar 3: nothing before it.
        assert_eq!(rhythm_lag(3 * bar, bar, 3 * bar, &ticks), None);
        // A walking line in quarters (a chord on beat 1 of every bar) that left out beat 3 in bar
        // 3: at bar 4 three bars of four walk, and the bar four back does too; at bar 7 the bar
        // four back is the one that dropped the beat, and the walk is two back.
        let mut walk: Vec<i64> = (0..7 * 4).map(|q| q * 12).filter(|&t| t != 3 * bar + 24).collect();
        walk.extend((0..7).map(|b| b * bar));
        walk.sort_unstable();
        assert_eq!(rhythm_lag(4 * bar, bar, 0, &walk), Some(4 * bar));
        assert_eq!(rhythm_lag(7 * bar, bar, 0, &walk), Some(2 * bar));
        // A two-bar pattern A B A B: at bar 4 (an A) lags 2 and 4 play A, 1 and 3 play B; the tie
        // goes to four back.
        let ab: Vec<i64> = (0..4)
            .flat_map(|b| {
                if b % 2 == 0 {
                    vec![b * bar, b * bar + 18]
                } else {
                    vec![b * bar + 6]
                }
            })
            .collect();
        assert_eq!(rhythm_lag(4 * bar, bar, 0, &ab), Some(4 * bar));
        // The rhythm's draw of a bar is not the changes' draw of it.
        let differ = (0..200)
            .filter(|&b| plays_bar(7, b * bar, 0.5) != rhythm_plays_bar(7, b * bar, 0.5))
            .count();
        assert!((60..140).contains(&differ), "{differ}");
    }
    use crate::chord::ChordQuality;
    use std::collections::BTreeMap;

    const BAR: i64 = 48;

    /// One major chord a root, from each tick of `list`: a chord track for the memories' tests.
    pub(in crate::memory) fn chords(list: &[(i64, u8)]) -> BTreeMap<i64, Option<Chord>> {
        list.iter()
            .map(|&(t, root)| {
                (
                    t,
                    Some(Chord {
                        root,
                        quality: ChordQuality::Maj,
                    }),
                )
            })
            .collect()
    }

    #[test]
    fn the_changes_come_round_after_the_progression() {
        // C for a bar, F for a bar, C and G in a bar, then again from bar 3.
        let c = chords(&[
            (0, 0),
            (48, 5),
            (96, 0),
            (120, 7),
            (144, 0),
            (192, 5),
            (240, 0),
            (264, 7),
        ]);
        let at = |t: i64| c.range(..=t).next_back().map(|(_, c)| *c);
        // Bar 3, beat 1 (C): bar 2 began with C, so one bar back already.
        assert_eq!(lag(144, 144, BAR, 0, at), Some(BAR));
        // Bar 4 (F) by beat 2: F was bar 1's, three bars back.
        assert_eq!(lag(204, 192, BAR, 0, at), Some(3 * BAR));
        // Bar 5 past its change to G: bar 2's, three bars back (bar 2 is C to its 3rd beat too).
        assert_eq!(lag(264, 240, BAR, 0, at), Some(3 * BAR));
        // Not before the earliest bar, and nothing where no chord is known.
        assert_eq!(lag(204, 192, BAR, 96, at), None);
        assert_eq!(lag(10, 0, BAR, -10 * BAR, |_| None), None);
    }

    #[test]
    fn a_phrase_comes_round_where_the_bar_before_did_too() {
        // Bars 0-3: C, F, C, G; then C, F again (bars 4, 5).
        let c = chords(&[(0, 0), (48, 5), (96, 0), (144, 7), (192, 0), (240, 5)]);
        let at = |t: i64| c.range(..=t).next_back().map(|(_, c)| *c);
        // Bar 4 (C) came round two bars back, bar 2; but the bar before it (G) is not bar 1 (F),
        // and four back (bar 0, C) has no bar before it.
        assert_eq!(lag(200, 192, BAR, 0, at), Some(2 * BAR));
        assert_eq!(phrase_lag(200, 192, BAR, 0, at), None);
        // Bar 5 (F) after bar 4 (C): bars 0 and 1 are that phrase, four bars back.
        assert_eq!(lag(250, 240, BAR, 0, at), Some(4 * BAR));
        assert_eq!(phrase_lag(250, 240, BAR, 0, at), Some(4 * BAR));
        // Not where the phrase begins before the earliest bar.
        assert_eq!(phrase_lag(250, 240, BAR, 48, at), None);
        // The first bar has no bar before it.
        assert_eq!(phrase_lag(10, 0, BAR, 0, at), None);
        // One chord held for bars: every bar comes round a bar back, but no phrase does, until
        // the chord changes within the two bars.
        let vamp = chords(&[(0, 0), (264, 7)]);
        let at = |t: i64| vamp.range(..=t).next_back().map(|(_, c)| *c);
        assert_eq!(lag(200, 192, BAR, 0, at), Some(BAR));
        assert_eq!(phrase_lag(200, 192, BAR, 0, at), None);
        assert_eq!(phrase_lag(270, 240, BAR, 0, at), None, "G came in bar 5 only");
    }

    #[test]
    fn a_verse_comes_round_further_back_than_the_changes_look() {
        // A 24-bar verse (C, F, then G for 22 bars), then the verse again: its second bar comes
        // round as a phrase 24 bars back, further than the memory of the changes looks.
        let c = chords(&[(0, 0), (48, 5), (96, 7), (24 * BAR, 0), (25 * BAR, 5), (26 * BAR, 7)]);
        let at = |t: i64| c.range(..=t).next_back().map(|(_, c)| *c);
        let t = 25 * BAR + 6;
        assert_eq!(phrase_lag(t, 25 * BAR, BAR, 0, at), Some(24 * BAR));
        assert_eq!(
            lag(t, 25 * BAR, BAR, 0, at),
            None,
            "the memory of the changes looks 16 bars back"
        );
        // Not past the phrase memory's own reach.
        let far = MAX_PHRASE_LAG_BARS + 4;
        let c = chords(&[
            (0, 0),
            (48, 5),
            (96, 7),
            (far * BAR, 0),
            ((far + 1) * BAR, 5),
            ((far + 2) * BAR, 7),
        ]);
        let at = |t: i64| c.range(..=t).next_back().map(|(_, c)| *c);
        assert_eq!(phrase_lag((far + 1) * BAR + 6, (far + 1) * BAR, BAR, 0, at), None);
    }

    #[test]
    fn it_plays_in_its_share_of_the_bars_and_decides_each_bar_once() {
        let bars = |seed: u64, share: f32| (0..2000).filter(|&b| plays_bar(seed, b * BAR, share)).count();
        assert_eq!(bars(1, 1.0), 2000);
        assert_eq!(bars(1, 0.0), 0);
        for share in [0.25, 0.5, 0.8] {
            let n = bars(7, share) as f32 / 2000.0;
            assert!((n - share).abs() < 0.04, "share {share}: {n}");
        }
        // The same bar of the same session decides alike; another seed draws other bars.
        assert!((0..50).all(|b| plays_bar(3, b * BAR, 0.5) == plays_bar(3, b * BAR, 0.5)));
        assert!((0..50).any(|b| plays_bar(3, b * BAR, 0.5) != plays_bar(4, b * BAR, 0.5)));
    }

    #[test]
    fn it_recalls_the_pitches_at_the_place_and_the_next_note() {
        // Bar 0: root and fifth on 1 (a two-note chord), the octave on the and of 2; a rest.
        let ticks = [0, 0, 18];
        let pitches = [36, 43, 48];
        let mut dist = [0.0; 128];
        assert_eq!(recall_pitches(&ticks, &pitches, 0, &mut dist), 2);
        assert!(dist[36] == 1.0 && dist[43] == 1.0);
        assert_eq!(recall_pitches(&ticks, &pitches, 6, &mut dist), 0);
        assert!(dist.iter().all(|&x| x == 0.0));
        // From beat 1, before anything is played there: now; after, the and of 2 (18 ticks on).
        assert_eq!(recall_time(&ticks, 0, BAR, true), Next::Now);
        assert_eq!(recall_time(&ticks, 0, BAR, false), Next::After(18));
        assert_eq!(recall_time(&ticks, 12, BAR, true), Next::After(6));
        // After the and of 2, the rest to the bar line.
        assert_eq!(recall_time(&ticks, 18, BAR, false), Next::BarLine);
        assert_eq!(
            recall_time(&[0, 60], 12, BAR, true),
            Next::BarLine,
            "the next note is in the next bar"
        );
    }
}
