//! The piece's memory: what a role played after the figure it is playing now, the last time it
//! played that figure.
//!
//! Musicians repeat themselves: a folk tune plays its first strain twice, a bass line comes back
//! bar after bar, a soloist answers a phrase with itself. The small networks do not: teacher-forced
//! over the folk tunes of the validation split, where the last seven or eight pitches had been
//! played before, the human went on as before 88 % of the time and the network's most likely
//! pitch was the human's 35 % of the time, its rate everywhere else (models/README.md, "The
//! piece's memory"). So generation mixes a second distribution into the choice of note, a cache
//! of the piece itself (a cache language model, Kuhn and De Mori 1990): the pitches that followed
//! the longest earlier match of the role's last pitches, weighted by how long that match is and
//! how far back it was. A bass or a comping part repeats its figures over each chord, so their
//! memory can be **chord-relative**: it keeps each note as its distance above the root of the
//! chord in force, and a figure recalled over another chord comes back transposed to it.
//! The weights are fitted per model and role by likelihood on the training pieces
//! ([`fit`], `trainer memory`) and stored in the model's manifest
//! ([`crate::package::Manifest::memory`]); the sampler applies them ([`crate::sampling::Sampler::set_memory`]).

pub mod changes;
pub mod figure;
pub mod groove;

/// Longest match the memory tells apart (in pitches); longer ones count as this long.
pub const MEMORY_ORDERS: usize = 8;

/// Pitches back the memory searches: 64 bars of a dense line, and a bounded cost per note.
pub const MEMORY_SPAN: usize = 512;

/// A note as the memory keeps it ([`key`]): its pitch (below 128), or in a chord-relative memory
/// with a chord in force, 384 plus its distance above the chord's root (373-511).
pub type Key = u16;

/// How many keys there are.
pub const KEYS: usize = 512;

/// The key of `pitch` played over a chord whose root is `root` (pitch class), in a chord-relative
/// memory or not.
pub fn key(pitch: u8, root: Option<u8>, relative: bool) -> Key {
    let pitch = pitch.min(127);
    match root {
        Some(r) if relative => (384 + pitch as i16 - (r % 12) as i16) as Key,
        _ => pitch as Key,
    }
}

/// The pitch a recalled `key` plays over a chord whose root is `root`: a relative key needs one,
/// and plays at its distance above it.
pub fn pitch_of(key: Key, root: Option<u8>) -> Option<u8> {
    if key < 128 {
        return Some(key as u8);
    }
    let r = root? % 12;
    let p = key as i16 - 384 + r as i16;
    (0..128).contains(&p).then_some(p as u8)
}

/// Maps a recalled distribution over keys to one over pitches, over a chord whose root is `root`.
pub fn to_pitches(keys: &[f32; KEYS], root: Option<u8>, out: &mut [f32; 128]) {
    out.fill(0.0);
    for (k, &w) in keys.iter().enumerate() {
        if w > 0.0
            && let Some(p) = pitch_of(k as Key, root)
        {
            out[p as usize] += w;
        }
    }
}

/// Upper bounds of the match lengths that share a weight (pitches).
pub const LENGTH_BUCKETS: [usize; 4] = [2, 4, 7, usize::MAX];

/// Upper bounds of the periods that share a weight: how many pitches back the latest occurrence
/// of the match ended. A figure that comes back after a strain (a period of 32 pitches or more)
/// is kept by the folk tunes 0.93-0.97 of the time, a loop of a few notes far less (0.26-0.68 for
/// periods up to 16): the weight must tell them apart or a loop feeds itself.
pub const PERIOD_BUCKETS: [usize; 4] = [8, 16, 32, usize::MAX];

/// Weights a model stores per role: one per (length bucket, period bucket), row by row.
pub const MEMORY_CELLS: usize = LENGTH_BUCKETS.len() * PERIOD_BUCKETS.len();

/// The cell of a match of `len` pitches whose latest occurrence ended `period` pitches back.
pub fn cell(len: usize, period: usize) -> usize {
    let l = LENGTH_BUCKETS
        .iter()
        .position(|&b| len <= b)
        .unwrap_or(LENGTH_BUCKETS.len() - 1);
    let p = PERIOD_BUCKETS
        .iter()
        .position(|&b| period <= b)
        .unwrap_or(PERIOD_BUCKETS.len() - 1);
    l * PERIOD_BUCKETS.len() + p
}

/// A role's memory: whether it is chord-relative, and its weight in the choice of note for each
/// [`cell`], each within `[0, MAX_WEIGHT]`; for a pitched role, also the weights of its memory of
/// the changes ([`changes`]) in its choice of note and of time.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct MemoryWeights {
    /// The weights by [`cell`].
    pub cells: [f32; MEMORY_CELLS],
    /// Whether notes are kept relative to the chord's root ([`key`]).
    pub relative: bool,
    /// The weights of the memory of the changes ([`changes`]) in the choice of note and in the
    /// choice of time, in that order, then the share of bars in which it plays
    /// ([`changes::plays_bar`]; 1, every bar): a pitched role's (the drums' memory of their
    /// groove is their `cells`).
    pub changes: [f32; 3],
    /// The weight of the memory of the groove's rhythm ([`changes::rhythm_lag`]) in the choice
    /// of time, then the share of bars in which it plays: in a bar where the memory of the
    /// changes does not, when the role's next note comes as it came a bar of its pattern back.
    pub rhythm: [f32; 2],
    /// The weight of the memory of a phrase come round ([`changes::phrase_lag`]) in the choice
    /// of note and of time, then the share of bars in which it plays: where the bar before this
    /// one came round too, in place of the memory of the changes.
    pub phrase: [f32; 2],
    /// The weight of the memory of a figure come round ([`figure`]) in the choice of note, the
    /// share of the places where a figure starts, and the chance that it goes on after each
    /// note past [`figure::MIN_FIGURE_NOTES`]: a monophonic role's, where neither the memory of
    /// the changes nor of a phrase speaks.
    pub figure: [f32; 3],
}

impl MemoryWeights {
    /// No memory: the network alone.
    pub const NONE: MemoryWeights = MemoryWeights {
        cells: [0.0; MEMORY_CELLS],
        relative: false,
        changes: [0.0, 0.0, 1.0],
        rhythm: [0.0, 1.0],
        phrase: [0.0, 1.0],
        figure: [0.0; 3],
    };

    /// The weights of `values` (by [`cell`]), damaged or missing entries 0, each within
    /// `[0, MAX_WEIGHT]`.
    pub fn from_values(values: &[f32], relative: bool) -> MemoryWeights {
        let mut cells = [0.0; MEMORY_CELLS];
        for (o, &v) in cells.iter_mut().zip(values) {
            *o = if v.is_finite() { v.clamp(0.0, MAX_WEIGHT) } else { 0.0 };
        }
        MemoryWeights {
            cells,
            relative,
            changes: [0.0, 0.0, 1.0],
            rhythm: [0.0, 1.0],
            phrase: [0.0, 1.0],
            figure: [0.0; 3],
        }
    }

    /// These weights with the memory of the changes' of `values` (note, time, share of bars):
    /// the weights damaged or missing 0, each within `[0, MAX_WEIGHT]`; the share within
    /// `[0, 1]`, every bar where it is missing or damaged.
    pub fn with_changes(self, values: &[f32]) -> MemoryWeights {
        let w = MemoryWeights::from_values(values, false).cells;
        MemoryWeights {
            changes: [w[0], w[1], share_at(values, 2)],
            ..self
        }
    }

    /// These weights with the memory of a phrase come round of `values` (weight, share of bars):
    /// the weight damaged or missing 0, within `[0, PHRASE_MAX_WEIGHT]`; the share within
    /// `[0, 1]`, every bar where it is missing or damaged.
    pub fn with_phrase(self, values: &[f32]) -> MemoryWeights {
        let w = match values.first() {
            Some(&v) if v.is_finite() => v.clamp(0.0, PHRASE_MAX_WEIGHT),
            _ => 0.0,
        };
        MemoryWeights {
            phrase: [w, share_at(values, 1)],
            ..self
        }
    }

    /// These weights with the memory of a figure come round of `values` (weight, share of the
    /// places where a figure starts, chance it goes on): the weight damaged or missing 0, within
    /// `[0, MAX_WEIGHT]`; the share and the chance within `[0, 1]`, 0 where missing or damaged.
    pub fn with_figure(self, values: &[f32]) -> MemoryWeights {
        let at = |i: usize| values.get(i).copied().filter(|v| v.is_finite()).unwrap_or(0.0);
        MemoryWeights {
            figure: [
                at(0).clamp(0.0, MAX_WEIGHT),
                at(1).clamp(0.0, 1.0),
                at(2).clamp(0.0, 1.0),
            ],
            ..self
        }
    }

    /// These weights with the memory of the groove's rhythm of `values` (weight, share of bars):
    /// the weight damaged or missing 0, within `[0, MAX_WEIGHT]`; the share within `[0, 1]`,
    /// every bar where it is missing or damaged.
    pub fn with_rhythm(self, values: &[f32]) -> MemoryWeights {
        let w = MemoryWeights::from_values(values, false).cells[0];
        MemoryWeights {
            rhythm: [w, share_at(values, 1)],
            ..self
        }
    }

    /// Whether every weight is 0 (the changes' and the rhythm's too, or the share of bars they
    /// play in).
    pub fn is_none(&self) -> bool {
        let [note, time, share] = self.changes;
        let [rhythm, rhythm_share] = self.rhythm;
        let [phrase, phrase_share] = self.phrase;
        let [figure, figure_start, _] = self.figure;
        self.cells.iter().all(|&w| w <= 0.0)
            && (share <= 0.0 || (note <= 0.0 && time <= 0.0))
            && (rhythm_share <= 0.0 || rhythm <= 0.0)
            && (phrase_share <= 0.0 || phrase <= 0.0)
            && (figure_start <= 0.0 || figure <= 0.0)
    }

    /// The weight of what [`recall`] found (0 for no match).
    pub fn weight(&self, r: Recall) -> f32 {
        if r.len == 0 {
            0.0
        } else {
            self.cells[cell(r.len, r.period)]
        }
    }

    /// These weights at `amount` of their strength: 0 none, 1 as fitted, 2 the memory kept
    /// twice as often (`1 - (1 - w)^amount`), always within `[0, MAX_WEIGHT]` (a phrase come
    /// round's within `[0, PHRASE_MAX_WEIGHT]`).
    pub fn scaled(&self, amount: f32) -> MemoryWeights {
        let a = if amount.is_finite() {
            amount.clamp(0.0, 4.0)
        } else {
            1.0
        };
        if a == 1.0 {
            return *self;
        }
        let grow = |w: f32, cap: f32| (1.0 - (1.0 - w).powf(a)).clamp(0.0, cap);
        let scale = |w: f32| grow(w, MAX_WEIGHT);
        // A share of every bar stays every bar (the weights say how much).
        let scale_share = |share: f32| if share >= 1.0 { 1.0 } else { grow(share, 1.0) };
        MemoryWeights {
            cells: self.cells.map(scale),
            relative: self.relative,
            changes: {
                let [note, time, share] = self.changes;
                [scale(note), scale(time), scale_share(share)]
            },
            rhythm: [scale(self.rhythm[0]), scale_share(self.rhythm[1])],
            phrase: [grow(self.phrase[0], PHRASE_MAX_WEIGHT), scale_share(self.phrase[1])],
            // More figures start; each is as long as fitted.
            figure: [scale(self.figure[0]), scale_share(self.figure[1]), self.figure[2]],
        }
    }
}

/// The share of bars at `values[i]`, within `[0, 1]`; every bar where it is missing or damaged.
fn share_at(values: &[f32], i: usize) -> f32 {
    values
        .get(i)
        .copied()
        .filter(|v| v.is_finite())
        .map_or(1.0, |v| v.clamp(0.0, 1.0))
}

/// Most a weight may be: the network always keeps a say.
pub const MAX_WEIGHT: f32 = 0.98;

/// Most the memory of a phrase come round may weigh ([`changes::phrase_lag`]). Where a phrase
/// comes round the musicians play its bar again note for note (Bach in every such bar of the
/// validation chorales), and a bar is some 25 choices, each of which the network's say may
/// spoil (models/README.md, "A phrase comes round").
pub const PHRASE_MAX_WEIGHT: f32 = 0.995;

/// What [`recall`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Recall {
    /// The match's length in pitches (at most [`MEMORY_ORDERS`]); 0 when the last pitch was
    /// never played before.
    pub len: usize,
    /// How many pitches back the latest occurrence of the match ended.
    pub period: usize,
    /// How many occurrences the match had.
    pub count: usize,
}

/// Finds the longest earlier match (up to [`MEMORY_ORDERS`] pitches, within the last
/// [`MEMORY_SPAN`]) of the end of `history` (a role's notes in the order played, as [`key`]s)
/// and counts into `dist` the keys that followed each occurrence of that match (`dist` all 0
/// when the last note was never played before).
pub fn recall(history: &[Key], dist: &mut [f32; KEYS]) -> Recall {
    dist.fill(0.0);
    recall_with(history, |e| dist[history[e] as usize % KEYS] += 1.0)
}

/// Finds the longest earlier match of the end of `history`, as [`recall`], and calls `follow`
/// with the index of what followed each occurrence of it (latest first).
pub fn recall_with(history: &[Key], mut follow: impl FnMut(usize)) -> Recall {
    let n = history.len();
    if n < 2 {
        return Recall::default();
    }
    let lo = n.saturating_sub(MEMORY_SPAN).max(1);
    // The longest match's length, then its occurrences' ends.
    let mut best = 0;
    let mut period = 0;
    // `e` is where an earlier occurrence ended: `history[e]` followed it.
    for e in (lo..n).rev() {
        let l = match_len(history, e);
        if l > best {
            best = l;
            period = n - e;
        }
    }
    if best == 0 {
        return Recall::default();
    }
    let mut count = 0;
    for e in (lo..n).rev() {
        if match_len(history, e) == best {
            follow(e);
            count += 1;
        }
    }
    Recall {
        len: best,
        period,
        count,
    }
}

/// How many keys before `e` match the end of `history` (at most [`MEMORY_ORDERS`]).
fn match_len(history: &[Key], e: usize) -> usize {
    let n = history.len();
    let mut l = 0;
    while l < MEMORY_ORDERS && l < e && history[e - 1 - l] == history[n - 1 - l] {
        l += 1;
    }
    l
}

/// One pitch of teacher-forced data for [`fit`]: the length of the memory's match before it, the
/// network's probability of the pitch played (within its choice of note) and the memory's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RecallPoint {
    /// What [`recall`] found (a match of at least one pitch).
    pub recall: Recall,
    /// The network's probability of the pitch played.
    pub net: f64,
    /// The memory's probability of it.
    pub memory: f64,
}

/// Fewest points a cell needs to be fitted; a cell with fewer keeps the network alone (weight 0):
/// the memory speaks only where the data showed what it is worth.
pub const MIN_POINTS: usize = 40;

/// The weight of each [`cell`] that maximises the likelihood of the pitches played,
/// `(1 - w) net + w memory`, on a grid of 0.025 (the mixture's log-likelihood is concave in `w`).
pub fn fit(points: &[RecallPoint], relative: bool) -> MemoryWeights {
    let mut w = [0.0f32; MEMORY_CELLS];
    for (c, out) in w.iter_mut().enumerate() {
        let chosen: Vec<&RecallPoint> = points
            .iter()
            .filter(|p| cell(p.recall.len, p.recall.period) == c)
            .collect();
        if chosen.len() < MIN_POINTS {
            continue;
        }
        let nll = |w: f64| -> f64 {
            chosen
                .iter()
                .map(|p| -((1.0 - w) * p.net + w * p.memory).max(1e-12).ln())
                .sum()
        };
        let (mut best, mut best_nll) = (0.0, nll(0.0));
        for g in 1..40 {
            let x = g as f64 * 0.025;
            let v = nll(x);
            if v < best_nll {
                best = x;
                best_nll = v;
            }
        }
        *out = best as f32;
    }
    MemoryWeights::from_values(&w, relative)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recall_finds_the_longest_earlier_match_and_what_followed() {
        let mut d = [0.0; KEYS];
        // C D E C D E C D: the end "D E C D" was played before (ending at the second D), then
        // E; the shorter match at the first D does not count.
        let h = [60, 62, 64, 60, 62, 64, 60, 62];
        let r = recall(&h, &mut d);
        assert_eq!(r.len, 5, "C D E C D, the first five, matches the last five");
        assert_eq!((r.period, r.count), (3, 1), "it ended three pitches back");
        assert_eq!(d[64], 1.0);
        assert_eq!(d.iter().sum::<f32>(), 1.0);
        // A new pitch: nothing recalled.
        assert_eq!(recall(&[60, 62, 65], &mut d), Recall::default());
        assert!(d.iter().all(|&x| x == 0.0));
        // Two continuations of the same figure are both counted.
        let h = [60, 62, 67, 60, 62, 65, 60, 62];
        assert_eq!(
            recall(&h, &mut d),
            Recall {
                len: 2,
                period: 3,
                count: 2
            }
        );
        assert_eq!((d[67], d[65]), (1.0, 1.0));
        assert_eq!(recall(&[], &mut d).len, 0);
    }

    #[test]
    fn fitting_weighs_the_memory_by_how_often_it_was_right() {
        // A strain's return (8 pitches matched, 40 back): the memory right 9 times in 10 where
        // the network gives 0.2. A short loop (8 matched, 4 back): right 3 times in 10, where the
        // network gives the pitch 0.4. One pitch matched: too few points to fit.
        let point = |len, period, net, right| RecallPoint {
            recall: Recall { len, period, count: 1 },
            net,
            memory: if right { 1.0 } else { 0.0 },
        };
        let mut pts = Vec::new();
        for i in 0..200 {
            pts.push(point(8, 40, 0.2, i % 10 != 0));
            pts.push(point(8, 4, 0.4, i % 10 < 3));
        }
        pts.extend((0..MIN_POINTS - 1).map(|_| point(1, 40, 0.1, true)));
        let w = fit(&pts, false);
        let strain = w.weight(Recall {
            len: 9,
            period: 40,
            count: 1,
        });
        let loop_ = w.weight(Recall {
            len: 8,
            period: 4,
            count: 3,
        });
        assert!(strain > 0.8, "{w:?}");
        assert!(loop_ < 0.2, "{w:?}");
        assert_eq!(
            w.weight(Recall {
                len: 1,
                period: 40,
                count: 1
            }),
            0.0,
            "too few points"
        );
        assert_eq!(w.weight(Recall::default()), 0.0, "no match");
        assert!(MemoryWeights::NONE.is_none() && !w.is_none());
        assert_eq!(w.scaled(0.0), MemoryWeights::NONE);
        assert_eq!(w.scaled(1.0), w);
        assert!(w.scaled(2.0).cells[cell(8, 40)] > strain);
    }

    #[test]
    fn a_phrase_come_round_keeps_its_own_cap_at_any_strength() {
        let w = MemoryWeights::NONE.with_phrase(&[1.0, 0.5]);
        assert_eq!(
            w.phrase,
            [PHRASE_MAX_WEIGHT, 0.5],
            "clamped to its cap, not the others'"
        );
        assert!(!w.is_none());
        assert_eq!(MemoryWeights::NONE.with_phrase(&[f32::NAN]).phrase, [0.0, 1.0]);
        assert!(MemoryWeights::NONE.with_phrase(&[0.0, 1.0]).is_none());
        // The user's Memory scales it as the others, within its cap.
        assert_eq!(w.scaled(0.0).phrase[0], 0.0);
        assert_eq!(w.scaled(1.0), w);
        assert_eq!(w.scaled(3.0).phrase[0], PHRASE_MAX_WEIGHT);
        assert!(w.scaled(0.5).phrase[0] < PHRASE_MAX_WEIGHT);
    }

    #[test]
    fn a_relative_memory_recalls_a_figure_over_another_chord_transposed() {
        // Root, fifth, octave over C (root 0), then the root over F (root 5): the memory expects
        // the fifth above F.
        let h: Vec<Key> = [(36, 0), (43, 0), (48, 0), (41, 5)]
            .iter()
            .map(|&(p, r)| key(p, Some(r), true))
            .collect();
        let mut d = [0.0; KEYS];
        assert_eq!(recall(&h, &mut d).len, 1);
        let mut pitches = [0.0; 128];
        to_pitches(&d, Some(5), &mut pitches);
        assert_eq!(pitches[48], 1.0, "C3, the fifth above F");
        // An absolute memory recalls nothing there (F was never played).
        let abs: Vec<Key> = [36, 43, 48, 41].iter().map(|&p| key(p, Some(0), false)).collect();
        assert_eq!(recall(&abs, &mut d).len, 0);
        // With no chord in force a relative key has no pitch; an absolute one always does.
        assert_eq!(pitch_of(key(43, Some(0), true), None), None);
        assert_eq!(pitch_of(key(43, None, true), None), Some(43));
        assert_eq!(pitch_of(key(127, Some(0), true), Some(11)), None, "above 127");
    }
}
