//! The music metrics of one passage: what a listener hears, measured the same way on a human
//! performance and on what a model generated over the same conditioning.

use models::music::{ChordEvent, Note, Role};

/// The metrics of pitched roles, in report order: (key, what it is).
pub const PITCHED: [(&str, &str); 14] = [
    ("chord_tones", "chord-tone ratio"),
    ("chord_tones_strong", "chord tones, strong beats"),
    ("notes_per_bar", "notes per bar"),
    ("empty_beats", "empty-beat rate"),
    ("repetition4", "4-gram repetition"),
    ("pc_entropy", "pitch-class entropy"),
    ("longest_note", "longest note (beats)"),
    ("pitch_range", "pitch range"),
    ("scale_consistency", "scale consistency"),
    ("changes_repeat", "bars played again, same changes"),
    ("swing", "swing ratio (paired eighths, sixteenths)"),
    ("velocity_spread", "velocity spread (sd)"),
    ("phrase_length", "phrase length (beats; leads)"),
    ("rhythm_repeat", "bars played again in rhythm (1-4 back)"),
];

/// The metrics of drums, in report order (then the feel, [`super::feel::FEEL`]).
pub const DRUMS: [(&str, &str); 6] = [
    ("backbeat", "backbeat rate (4/4)"),
    ("kick_on_one", "kick on beat 1"),
    ("notes_per_bar", "notes per bar"),
    ("groove_consistency", "groove consistency"),
    ("instruments_per_bar", "instruments per bar"),
    ("fill_rate", "fill bars"),
];

/// Every drum metric key and label: [`DRUMS`], then the feel.
pub fn drum_metrics() -> impl Iterator<Item = (&'static str, &'static str)> {
    DRUMS.iter().chain(super::feel::FEEL.iter()).copied()
}

/// GM keys that count as a snare or clap on the backbeat: side stick, snare, clap, electric snare.
const SNARE_KEYS: [u8; 4] = [37, 38, 39, 40];
/// GM kick keys.
const KICK_KEYS: [u8; 2] = [35, 36];
/// GM tom keys: the toms class of [`models::groove::DRUM_CLASSES`].
const TOM_KEYS: &[u8] = models::groove::DRUM_CLASSES[3].1;
/// GM hi-hat and ride keys (the time-keeping a fill drops).
const TIME_KEYS: [u8; 7] = [22, 26, 42, 44, 46, 51, 59];

/// Whether a bar is a fill: two or more tom hits, or six or more snare hits while the hi-hat and
/// ride (the time-keeping) play at most two.
fn is_fill(toms: usize, snares: usize, time: usize) -> bool {
    toms >= 2 || (snares >= 6 && time <= 2)
}
/// How far (beats) an onset may sit from a beat and still count as on it (humans play early and
/// late; 1/6 beat is 83 ms at 120 BPM).
pub(super) const ON_BEAT_TOLERANCE: f64 = 1.0 / 6.0;

/// One passage: notes in beats from its first bar line, in one constant time signature.
#[derive(Debug, Clone, Copy)]
pub struct Passage<'a> {
    /// The role's notes.
    pub notes: &'a [Note],
    /// The chords in force (for chord tones).
    pub chords: &'a [ChordEvent],
    /// Time signature numerator.
    pub numerator: u8,
    /// Time signature denominator.
    pub denominator: u8,
    /// Length in bars.
    pub bars: u32,
    /// Tempo (for timing in milliseconds).
    pub tempo_bpm: f64,
}

impl<'a> Passage<'a> {
    /// `bars` bars of 4/4 at 120 BPM with no chords: the tests' passage.
    #[cfg(test)]
    pub(super) fn four_four(notes: &'a [Note], bars: u32) -> Passage<'a> {
        Passage {
            notes,
            chords: &[],
            numerator: 4,
            denominator: 4,
            bars,
            tempo_bpm: 120.0,
        }
    }
}

impl Passage<'_> {
    fn bar_beats(&self) -> f64 {
        self.numerator as f64 * 4.0 / self.denominator.max(1) as f64
    }

    pub(super) fn total_beats(&self) -> f64 {
        self.bar_beats() * self.bars as f64
    }

    pub(super) fn in_range<'b>(&'b self) -> impl Iterator<Item = &'b Note> + 'b {
        let end = self.total_beats();
        self.notes
            .iter()
            .filter(move |n| n.start >= -1e-9 && n.start < end - 1e-9)
    }

    /// Offset of `beat` from the start of its bar, and the bar.
    pub(super) fn in_bar(&self, beat: f64) -> (usize, f64) {
        let bb = self.bar_beats();
        let bar = (beat / bb + 1e-9).floor().max(0.0);
        (bar as usize, beat - bar * bb)
    }
}

/// The metrics of a pitched passage, one value per [`PITCHED`] entry (NaN where undefined).
pub fn pitched(p: &Passage) -> Vec<f64> {
    let mut notes: Vec<&Note> = p.in_range().collect();
    notes.sort_by(|a, b| a.start.total_cmp(&b.start).then(a.pitch.cmp(&b.pitch)));
    let bb = p.bar_beats();
    // Chord tones, all notes and notes on strong beats (bar start; the middle of the bar when
    // the numerator is even: beats 1 and 3 of 4/4).
    let (mut ct, mut ct_n, mut st, mut st_n) = (0usize, 0usize, 0usize, 0usize);
    for n in &notes {
        let Some(Some(c)) = p
            .chords
            .iter()
            .rev()
            .find(|c| c.start <= n.start + 1e-9)
            .map(|c| c.chord)
        else {
            continue;
        };
        let hit = c.contains_pitch(n.pitch) as usize;
        ct += hit;
        ct_n += 1;
        let (_, off) = p.in_bar(n.start);
        let strong = off.abs() < 1.0 / 24.0 || (p.numerator.is_multiple_of(2) && (off - bb / 2.0).abs() < 1.0 / 24.0);
        if strong {
            st += hit;
            st_n += 1;
        }
    }
    let ratio = |a: usize, n: usize| if n > 0 { a as f64 / n as f64 } else { f64::NAN };
    // Empty beats: quarter-note beats in which no note sounds.
    let beats = p.total_beats().floor().max(1.0) as usize;
    let mut sounding = vec![false; beats];
    for n in &notes {
        let (a, b) = (n.start.max(0.0), (n.start + n.duration).min(beats as f64));
        let mut k = a.floor() as usize;
        while (k as f64) < b && k < beats {
            sounding[k] = true;
            k += 1;
        }
    }
    let empty = sounding.iter().filter(|s| !**s).count() as f64 / beats as f64;
    let pitches: Vec<u8> = notes.iter().map(|n| n.pitch).collect();
    let repetition4 = if pitches.len() >= 4 {
        let mut seen = std::collections::HashSet::new();
        let rep = pitches.windows(4).filter(|w| !seen.insert(w.to_vec())).count();
        rep as f64 / (pitches.len() - 3) as f64
    } else {
        f64::NAN
    };
    let mut hist = [0f64; 12];
    for &q in &pitches {
        hist[(q % 12) as usize] += 1.0;
    }
    let total: f64 = hist.iter().sum();
    let entropy = if total > 0.0 {
        -hist
            .iter()
            .filter(|&&c| c > 0.0)
            .map(|&c| (c / total) * (c / total).log2())
            .sum::<f64>()
    } else {
        f64::NAN
    };
    const MAJOR: [u8; 7] = [0, 2, 4, 5, 7, 9, 11];
    let scale = if total > 0.0 {
        (0..12u8)
            .map(|k| MAJOR.iter().map(|&d| hist[((k + d) % 12) as usize]).sum::<f64>() / total)
            .fold(0.0, f64::max)
    } else {
        f64::NAN
    };
    let longest = notes.iter().map(|n| n.duration).fold(f64::NAN, f64::max);
    let range = match (pitches.iter().min(), pitches.iter().max()) {
        (Some(&lo), Some(&hi)) => (hi - lo) as f64,
        _ => f64::NAN,
    };
    vec![
        ratio(ct, ct_n),
        ratio(st, st_n),
        notes.len() as f64 / p.bars.max(1) as f64,
        empty,
        repetition4,
        entropy,
        longest,
        range,
        scale,
        changes_repeat(p),
        super::touch::swing_ratio(p),
        super::touch::velocity_spread(p),
        super::phrasing::phrase_length(p),
        super::rhythm::rhythm_repeat(p),
    ]
}

/// Of the bars whose chords are those of an earlier bar, up to
/// [`models::memory::changes::MAX_LAG_BARS`] back, as the memory of the changes finds them
/// ([`models::memory::changes::lag`] over the whole bar), in which the role played, the share in
/// which it plays that bar's notes again (the same pitches at the same places, no more, no
/// fewer); NaN where no bar is such. A band's bass plays its figure again when the changes come
/// round (the validation grooves' 0.48 of such bars, pooled), where the 4-gram repetition also
/// counts a line that only sits on one pitch (models/README.md, "The memory of the changes, bar
/// by bar").
pub fn changes_repeat(p: &Passage) -> f64 {
    use std::collections::BTreeMap;
    let bars = p.bars as usize;
    if bars < 2 || p.chords.is_empty() {
        return f64::NAN;
    }
    let tick = |beat: f64| (beat * models::tokenizer::vocab::TICKS_PER_BEAT as f64).round() as i64;
    let bar_ticks = tick(p.bar_beats());
    let chord_at = |t: i64| p.chords.iter().rev().find(|c| tick(c.start) <= t).map(|c| c.chord);
    let mut content: Vec<BTreeMap<(i64, u8), usize>> = vec![BTreeMap::new(); bars];
    for n in p.in_range() {
        let (bar, off) = p.in_bar(n.start);
        if let Some(c) = content.get_mut(bar) {
            *c.entry((tick(off), n.pitch)).or_default() += 1;
        }
    }
    let (mut aligned, mut again) = (0usize, 0usize);
    for b in 1..bars {
        let start = b as i64 * bar_ticks;
        let Some(d) = models::memory::changes::lag(start + bar_ticks - 1, start, bar_ticks, 0, chord_at) else {
            continue;
        };
        let earlier = b - (d / bar_ticks) as usize;
        if content[earlier].is_empty() {
            continue;
        }
        aligned += 1;
        again += (content[b] == content[earlier]) as usize;
    }
    if aligned == 0 {
        f64::NAN
    } else {
        again as f64 / aligned as f64
    }
}

/// Which bars of a drum passage are fills (see [`is_fill`]).
pub fn fill_bars(p: &Passage) -> Vec<bool> {
    let bars = p.bars.max(1) as usize;
    let mut kinds = vec![[0usize; 3]; bars];
    for n in p.in_range() {
        let (bar, _) = p.in_bar(n.start);
        if bar >= bars {
            continue;
        }
        kinds[bar][0] += TOM_KEYS.contains(&n.pitch) as usize;
        kinds[bar][1] += SNARE_KEYS.contains(&n.pitch) as usize;
        kinds[bar][2] += TIME_KEYS.contains(&n.pitch) as usize;
    }
    kinds.iter().map(|k| is_fill(k[0], k[1], k[2])).collect()
}

/// The metrics of a drum passage, one value per [`DRUMS`] entry.
pub fn drums(p: &Passage) -> Vec<f64> {
    let bars = p.bars.max(1) as usize;
    let bb = p.bar_beats();
    let steps = (bb * 4.0).round().max(1.0) as usize;
    let mut pattern = vec![vec![false; steps]; bars];
    let mut snare2 = vec![false; bars];
    let mut snare4 = vec![false; bars];
    let mut kick1 = vec![false; bars];
    let mut keys = vec![std::collections::BTreeSet::new(); bars];
    let mut count = 0usize;
    for n in p.in_range() {
        let (bar, off) = p.in_bar(n.start);
        if bar >= bars {
            continue;
        }
        count += 1;
        keys[bar].insert(n.pitch);
        let step = ((off * 4.0).round() as usize).min(steps - 1);
        pattern[bar][step] = true;
        let near = |beat: f64| (off - beat).abs() <= ON_BEAT_TOLERANCE || (off - beat - bb).abs() <= ON_BEAT_TOLERANCE;
        if SNARE_KEYS.contains(&n.pitch) {
            snare2[bar] |= near(1.0);
            snare4[bar] |= near(3.0);
        }
        if KICK_KEYS.contains(&n.pitch) {
            kick1[bar] |= near(0.0);
        }
    }
    let four_four = p.numerator == 4 && p.denominator == 4;
    let backbeat = if four_four {
        (0..bars).filter(|&b| snare2[b] && snare4[b]).count() as f64 / bars as f64
    } else {
        f64::NAN
    };
    let kick = kick1.iter().filter(|k| **k).count() as f64 / bars as f64;
    let groove = if bars >= 2 {
        let d: f64 = (1..bars)
            .map(|b| pattern[b].iter().zip(&pattern[b - 1]).filter(|(x, y)| x != y).count() as f64 / steps as f64)
            .sum();
        1.0 - d / (bars - 1) as f64
    } else {
        f64::NAN
    };
    let instruments = keys.iter().map(|k| k.len() as f64).sum::<f64>() / bars as f64;
    let fills = fill_bars(p).iter().filter(|f| **f).count() as f64 / bars as f64;
    let mut out = vec![backbeat, kick, count as f64 / bars as f64, groove, instruments, fills];
    out.extend(super::feel::feel(p));
    out
}

/// The metrics of `p` for `role`: the drums', or a pitched role's (the phrase length a lead's
/// only, NaN for the others).
pub fn measure(p: &Passage, role: Role) -> Vec<f64> {
    if role.is_drums() {
        return drums(p);
    }
    let mut m = pitched(p);
    // A phrase is a lead's: a bass's or a comping's silences are its articulation (a groove's
    // staccato, a comping's stabs), and a line that is all one phrase but for a dropped note
    // halves its value (models/README.md, "Where a line breathes").
    if role != Role::Lead {
        m[PHRASE_LENGTH] = f64::NAN;
    }
    m
}

/// Where the phrase length sits in [`PITCHED`].
const PHRASE_LENGTH: usize = 12;
const _: () = assert!(matches!(PITCHED[PHRASE_LENGTH].0.as_bytes(), b"phrase_length"));

/// Column `k` of `rows` (metric `k` of each piece), leaving out the rows where it is undefined.
pub fn finite_column(rows: &[Vec<f64>], k: usize) -> Vec<f64> {
    rows.iter()
        .filter_map(|r| r.get(k).copied())
        .filter(|x| x.is_finite())
        .collect()
}

/// Means of aligned metric vectors, ignoring NaN entries (NaN where every entry is NaN).
pub fn mean(rows: &[Vec<f64>]) -> Vec<f64> {
    let width = rows.iter().map(Vec::len).max().unwrap_or(0);
    (0..width)
        .map(|k| {
            let v = finite_column(rows, k);
            if v.is_empty() {
                f64::NAN
            } else {
                v.iter().sum::<f64>() / v.len() as f64
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use models::chord::{Chord, ChordQuality};

    fn note(start: f64, duration: f64, pitch: u8) -> Note {
        Note {
            start,
            duration,
            pitch,
            velocity: 80,
        }
    }

    #[test]
    fn a_simple_line() {
        let chords = vec![ChordEvent {
            start: 0.0,
            chord: Some(Chord::new(0, ChordQuality::Maj7)),
        }];
        // Two bars: C E G B on the beats of bar 1, then C E (half notes) in bar 2, one D.
        let mut notes: Vec<Note> = [60u8, 64, 67, 71]
            .iter()
            .enumerate()
            .map(|(i, &p)| note(i as f64, 1.0, p))
            .collect();
        notes.push(note(4.0, 1.0, 60));
        notes.push(note(5.0, 1.0, 62));
        let p = Passage {
            notes: &notes,
            chords: &chords,
            numerator: 4,
            denominator: 4,
            bars: 2,
            tempo_bpm: 120.0,
        };
        let m = pitched(&p);
        assert!((m[0] - 5.0 / 6.0).abs() < 1e-9, "{m:?}");
        assert_eq!(m[1], 1.0); // beats 1 and 3: C, G, C
        assert_eq!(m[2], 3.0);
        assert_eq!(m[3], 0.25); // beats 7 and 8 are empty
        assert_eq!(m[4], 0.0);
        assert_eq!(m[6], 1.0);
        assert_eq!(m[7], 11.0);
        // One phrase: beats 0-6, then two empty beats (no phrase after them).
        assert_eq!(m[PHRASE_LENGTH], 6.0);
        // The phrase is a lead's: the same notes as a bass or a piano have none.
        assert_eq!(measure(&p, Role::Lead)[PHRASE_LENGTH], 6.0);
        for role in [Role::Bass, Role::Comping, Role::Piano] {
            assert!(measure(&p, role)[PHRASE_LENGTH].is_nan(), "{role:?}");
        }
    }

    #[test]
    fn a_bar_played_again_when_its_changes_come_round() {
        let chord = |start: f64, root: u8| ChordEvent {
            start,
            chord: Some(Chord::new(root, ChordQuality::Maj)),
        };
        // C, F, C, F, C: bars 2 and 4 have bar 0's changes, bar 3 bar 1's.
        let chords: Vec<ChordEvent> = (0..5).map(|b| chord(b as f64 * 4.0, [0, 5][b % 2])).collect();
        let figure = |b: usize, root: u8| {
            [
                note(b as f64 * 4.0, 1.0, 36 + root),
                note(b as f64 * 4.0 + 2.5, 0.5, 43 + root),
            ]
        };
        let mut notes: Vec<Note> = Vec::new();
        notes.extend(figure(0, 0));
        notes.extend(figure(1, 5));
        notes.extend(figure(2, 0)); // again
        notes.extend([note(12.0, 1.0, 41)]); // not: one note of two
        notes.extend(figure(4, 0)); // again (bar 2, two back)
        let p = Passage {
            notes: &notes,
            chords: &chords,
            numerator: 4,
            denominator: 4,
            bars: 5,
            tempo_bpm: 120.0,
        };
        assert!((changes_repeat(&p) - 2.0 / 3.0).abs() < 1e-9, "{}", changes_repeat(&p));
        assert!((pitched(&p)[9] - 2.0 / 3.0).abs() < 1e-9);
        // No chords, or changes that never come round: undefined.
        let none = Passage { chords: &[], ..p };
        assert!(changes_repeat(&none).is_nan());
        let walk: Vec<ChordEvent> = (0..5).map(|b| chord(b as f64 * 4.0, b as u8)).collect();
        assert!(changes_repeat(&Passage { chords: &walk, ..p }).is_nan());
    }

    #[test]
    fn strong_beats_follow_the_meter() {
        let chords = vec![ChordEvent {
            start: 0.0,
            chord: Some(Chord::new(0, ChordQuality::Maj)),
        }];
        // 3/4: only beat 1 is strong; the note on beat 3 (offset 2) is not.
        let notes = vec![note(0.0, 1.0, 60), note(2.0, 1.0, 61)];
        let p = Passage {
            notes: &notes,
            chords: &chords,
            numerator: 3,
            denominator: 4,
            bars: 1,
            tempo_bpm: 120.0,
        };
        let m = pitched(&p);
        assert_eq!(m[1], 1.0);
        assert_eq!(m[0], 0.5);
    }

    #[test]
    fn backbeat_kick_and_groove() {
        let mut notes = Vec::new();
        for bar in 0..4 {
            let b = bar as f64 * 4.0;
            notes.push(note(b, 0.25, 36));
            // Snare a little late on 2 and early on 4, except in the last bar (only 2).
            notes.push(note(b + 1.05, 0.25, 38));
            if bar < 3 {
                notes.push(note(b + 2.95, 0.25, 38));
            }
            // Eighth-note hats; the last bar drops the last one.
            for e in 0..if bar < 3 { 8 } else { 7 } {
                notes.push(note(b + e as f64 * 0.5, 0.25, 42));
            }
        }
        let p = Passage {
            notes: &notes,
            chords: &[],
            numerator: 4,
            denominator: 4,
            bars: 4,
            tempo_bpm: 120.0,
        };
        let m = drums(&p);
        assert_eq!(m[0], 0.75);
        assert_eq!(m[1], 1.0);
        assert_eq!(m[2], 42.0 / 4.0);
        // Bars 1-3 equal; bar 4 differs in one 16th step of 16.
        assert!((m[3] - (1.0 - (1.0 / 16.0) / 3.0)).abs() < 1e-9, "{m:?}");
        assert_eq!(m[4], 3.0);
        assert_eq!(m[5], 0.0, "no fills");
        // The last bar becomes a fill: the hats stop and the toms roll down.
        let mut filled: Vec<Note> = notes.iter().copied().filter(|n| n.start < 12.0).collect();
        for (k, t) in [50u8, 48, 47, 45, 43, 41].iter().enumerate() {
            filled.push(note(12.0 + k as f64 * 0.5, 0.25, *t));
        }
        assert_eq!(drums(&Passage { notes: &filled, ..p })[5], 0.25);
        // Not 4/4: no backbeat rate.
        let p = Passage {
            numerator: 3,
            bars: 1,
            ..p
        };
        assert!(drums(&p)[0].is_nan());
    }

    #[test]
    fn means_skip_undefined_values() {
        let m = mean(&[vec![1.0, f64::NAN], vec![3.0, f64::NAN]]);
        assert_eq!(m[0], 2.0);
        assert!(m[1].is_nan());
    }
}
