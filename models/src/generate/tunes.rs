//! The chords a tune played alone implies: what the input follower names when the user plays a
//! single line above the bass (models/README.md, "A tune played alone").
//!
//! A melody's notes are not a broken chord: passing notes, neighbours and suspensions sit between
//! its chord tones, and a chord lasts a bar or two while the line moves. So the follower hears a
//! tune as an accompanist does: a chord holds until a beat where the harmony may move, the notes
//! on the beats are more often its tones than the notes between, and some moves are likelier
//! than others (the dominant before its tonic, the subdominant after it), as a tune's key makes
//! some chords likelier than others. That is a hidden Markov model over the key and the chord,
//! fitted on lead sheets ([`TuneTable`], `trainer tunes`), and followed as the notes come
//! ([`TuneState`]): each note weighs every chord by how often lead sheets put such a note over it,
//! each beat lets the chord move as often as lead sheets move there and where they move in the
//! key, and the chord named is the likeliest now, whatever the key.

use serde::{Deserialize, Serialize};

use crate::chord::{Chord, ChordQuality};
use crate::tokenizer::vocab::TICKS_PER_BEAT;

/// The chord families a tune's chords are heard as: major, minor, dominant seventh, diminished.
pub const FAMILIES: usize = 4;
/// Chords the model tells apart: a family on each of the twelve roots.
pub const STATES: usize = 12 * FAMILIES;
/// Where a note falls: on the bar line, on another beat, between the beats.
pub const METRIC_CLASSES: usize = 3;
/// Where the chord may move: a bar line, the middle of a bar of two or four beats, another beat.
pub const BOUNDARY_CLASSES: usize = 3;
/// The log-probability of what never happens (finite, so that the table's JSON holds it).
pub const NO_MASS: f32 = -1.0e30;
/// The boundaries a silence is followed through at most: after two bars of 4/4 without a note,
/// more beats change nothing a listener would notice.
const MAX_BOUNDARIES: i64 = 8;
/// How likely a tune's key is to move at a bar line (a modulation, or a first guess corrected).
const KEY_CHANGE: f32 = 0.02;

/// The family of a chord quality ([`FAMILIES`]): a sixth, a major seventh, a suspended or
/// augmented triad are heard as major; a minor sixth or seventh as minor; every dominant as a
/// dominant; a half-diminished or diminished chord as diminished.
pub fn family_of(q: ChordQuality) -> usize {
    use ChordQuality::*;
    match q {
        Maj | Maj7 | Maj6 | Sus4 | Aug => 0,
        Min | Min7 | Min6 | MinMaj7 => 1,
        Dom7 | Dom7Sus4 | Dom7Alt | Aug7 => 2,
        Dim | Dim7 | HalfDim7 => 3,
    }
}

/// The chord a family on a root names.
pub fn chord_of(state: usize) -> Chord {
    let quality = [
        ChordQuality::Maj,
        ChordQuality::Min,
        ChordQuality::Dom7,
        ChordQuality::Dim7,
    ][state % FAMILIES];
    Chord::new((state / FAMILIES) as u8, quality)
}

/// The state of a chord (its root and family).
pub fn state_of(c: Chord) -> usize {
    c.root as usize % 12 * FAMILIES + family_of(c.quality)
}

/// Where a note at `offset` ticks into a bar of `bar` ticks falls ([`METRIC_CLASSES`]), on a
/// sixteenth grid (a note a tick before the bar line is on it).
pub fn metric_class(offset: i64, bar: i64) -> usize {
    let on = (offset + 1).div_euclid(3) * 3 % bar.max(1); // the nearest sixteenth (3 ticks)
    if on == 0 {
        0
    } else if on % TICKS_PER_BEAT as i64 == 0 {
        1
    } else {
        2
    }
}

/// What kind of boundary a beat `offset` ticks into a bar of `bar` ticks is ([`BOUNDARY_CLASSES`]).
pub fn boundary_class(offset: i64, bar: i64) -> usize {
    let beat = TICKS_PER_BEAT as i64;
    if offset == 0 {
        0
    } else if bar % (2 * beat) == 0 && offset.checked_mul(2) == Some(bar) {
        1
    } else {
        2
    }
}

/// A tune's harmony as lead sheets write it, in natural logarithms, chords relative to the key (a
/// state's root counted from the tonic): fitted by `trainer tunes` on the training split of a
/// prepared set of lead sheets (the tonic: the root of a tune's last chord), shipped in
/// `models/assets/harmony/tunes.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TuneTable {
    /// What it was fitted on.
    pub fitted_on: String,
    /// Pieces counted.
    pub pieces: usize,
    /// Notes counted.
    pub notes: usize,
    /// ln P(the note's pitch class above the root | the family, where the note falls):
    /// `[metric class][family][interval]` ([`metric_class`]).
    pub emit: Vec<Vec<Vec<f32>>>,
    /// ln P(the chord moves) at each kind of boundary.
    pub change: Vec<f32>,
    /// ln P(the new chord | the old chord, the chord moves), both relative to the key:
    /// `[old state][new state]` (the same chord again has no mass, [`NO_MASS`]).
    pub progression: Vec<Vec<f32>>,
    /// ln P(a tune's first chord), relative to the key.
    pub first: Vec<f32>,
}

impl TuneTable {
    /// Whether every table has its shape and finite values, none above 0.
    pub fn is_valid(&self) -> bool {
        let ok = |v: &[f32], n: usize| v.len() == n && v.iter().all(|x| x.is_finite() && *x <= 1e-4);
        self.emit.len() == METRIC_CLASSES
            && self
                .emit
                .iter()
                .all(|m| m.len() == FAMILIES && m.iter().all(|f| ok(f, 12)))
            && ok(&self.change, BOUNDARY_CLASSES)
            && self.progression.len() == STATES
            && self.progression.iter().all(|m| ok(m, STATES))
            && ok(&self.first, STATES)
    }

    /// The table built into this crate (a table that knows nothing, [`TuneTable::uniform`], if
    /// the built-in one did not read).
    pub fn builtin() -> &'static TuneTable {
        static TABLE: std::sync::LazyLock<TuneTable> = std::sync::LazyLock::new(|| {
            serde_json::from_str::<TuneTable>(include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/assets/harmony/tunes.json"
            )))
            .ok()
            .filter(TuneTable::is_valid)
            .unwrap_or_else(TuneTable::uniform)
        });
        &TABLE
    }

    /// A table that knows nothing (every note, move and chord alike): a test's reference.
    pub fn uniform() -> TuneTable {
        let ln = |n: usize| -(n as f32).ln();
        TuneTable {
            fitted_on: "nothing".into(),
            pieces: 0,
            notes: 0,
            emit: vec![vec![vec![ln(12); 12]; FAMILIES]; METRIC_CLASSES],
            change: vec![ln(2); BOUNDARY_CLASSES],
            progression: (0..STATES)
                .map(|i| {
                    (0..STATES)
                        .map(|j| if i == j { NO_MASS } else { ln(STATES - 1) })
                        .collect()
                })
                .collect(),
            first: vec![ln(STATES); STATES],
        }
    }
}

/// The state of chord `state` relative to the tonic `key`.
fn relative(state: usize, key: usize) -> usize {
    (state / FAMILIES + 12 - key) % 12 * FAMILIES + state % FAMILIES
}

/// The follower's belief about a tune's key and chord: the probability of each given the notes so
/// far, with the table's probabilities.
#[derive(Debug, Clone)]
pub struct TuneState {
    emit: [[[f32; 12]; FAMILIES]; METRIC_CLASSES],
    change: [f32; BOUNDARY_CLASSES],
    progression: [[f32; STATES]; STATES],
    first: [f32; STATES],
    /// `[key][chord]`, summing to 1.
    belief: [[f32; STATES]; 12],
    /// The chord named last (it stays on a tie).
    named: Option<usize>,
    /// The last beat the belief has moved through (`None` before the first note).
    at: Option<i64>,
}

impl TuneState {
    pub fn new(table: &TuneTable) -> TuneState {
        let mut t = TuneState {
            emit: [[[0.0; 12]; FAMILIES]; METRIC_CLASSES],
            change: [0.0; BOUNDARY_CLASSES],
            progression: [[0.0; STATES]; STATES],
            first: [0.0; STATES],
            belief: [[0.0; STATES]; 12],
            named: None,
            at: None,
        };
        for (m, e) in t.emit.iter_mut().enumerate() {
            for (f, row) in e.iter_mut().enumerate() {
                for (i, x) in row.iter_mut().enumerate() {
                    *x = table.emit[m][f][i].exp();
                }
            }
        }
        for (k, x) in t.change.iter_mut().enumerate() {
            *x = table.change[k].exp();
        }
        for (i, row) in t.progression.iter_mut().enumerate() {
            for (j, x) in row.iter_mut().enumerate() {
                *x = table.progression[i][j].exp();
            }
        }
        for (j, x) in t.first.iter_mut().enumerate() {
            *x = table.first[j].exp();
        }
        t
    }

    /// Forgets the tune (the timeline jumped or stopped).
    pub fn reset(&mut self) {
        self.at = None;
        self.named = None;
    }

    /// Hears a note of `pitch` at `tick`, in bars of `bar` ticks from `origin`; returns the chord
    /// now likeliest.
    pub fn hear(&mut self, tick: i64, pitch: u8, origin: i64, bar: i64) -> Chord {
        let beat = TICKS_PER_BEAT as i64;
        // On the sixteenth grid: a note a little early on a beat is heard on it.
        let on = tick.saturating_add(1).div_euclid(3).saturating_mul(3);
        let beat_before = |t: i64| t.saturating_sub(t.wrapping_sub(origin).rem_euclid(beat));
        match self.at {
            None => {
                for (key, row) in self.belief.iter_mut().enumerate() {
                    for (j, b) in row.iter_mut().enumerate() {
                        *b = self.first[relative(j, key)] / 12.0;
                    }
                }
                self.at = Some(beat_before(on));
            }
            Some(at) if on > at => {
                let first = at.saturating_add(beat);
                let last = beat_before(on);
                let count = (last.saturating_sub(first) / beat).saturating_add(1).max(0);
                let skip = (count - MAX_BOUNDARIES).max(0);
                let mut b = first.saturating_add(skip.saturating_mul(beat));
                for _ in 0..count.min(MAX_BOUNDARIES) {
                    let class = boundary_class(b.wrapping_sub(origin).rem_euclid(bar), bar);
                    self.move_at(class);
                    b = b.saturating_add(beat);
                }
                self.at = Some(last.max(at));
            }
            Some(_) => {}
        }
        let emit = &self.emit[metric_class(tick.wrapping_sub(origin).rem_euclid(bar), bar)];
        let mut total = 0.0;
        for row in self.belief.iter_mut() {
            for (j, b) in row.iter_mut().enumerate() {
                *b *= emit[j % FAMILIES][(pitch as usize + 12 - j / FAMILIES) % 12];
                total += *b;
            }
        }
        if !(total > 0.0 && total.is_finite()) {
            // Nothing fits (a table with no mass somewhere): start again from this note.
            self.at = None;
            return self.hear(tick, pitch, origin, bar);
        }
        let mut chord = [0.0f32; STATES];
        for row in self.belief.iter_mut() {
            for (j, b) in row.iter_mut().enumerate() {
                *b /= total;
                chord[j] += *b;
            }
        }
        let mut best = (0..STATES).fold(0, |b, s| if chord[s] > chord[b] { s } else { b });
        if let Some(n) = self.named.filter(|&n| chord[n] >= chord[best]) {
            best = n;
        }
        self.named = Some(best);
        chord_of(best)
    }

    /// The chord may move at a boundary of `class` (and the key at a bar line).
    fn move_at(&mut self, class: usize) {
        let change = self.change[class];
        if class == 0 {
            let mut chord = [0.0f32; STATES];
            for row in &self.belief {
                for (j, b) in row.iter().enumerate() {
                    chord[j] += b;
                }
            }
            for row in self.belief.iter_mut() {
                for (j, b) in row.iter_mut().enumerate() {
                    *b = (1.0 - KEY_CHANGE) * *b + KEY_CHANGE / 12.0 * chord[j];
                }
            }
        }
        for (key, row) in self.belief.iter_mut().enumerate() {
            let old = *row;
            let mut moved = [0.0f32; STATES];
            for (i, &o) in old.iter().enumerate() {
                if o <= 0.0 {
                    continue;
                }
                let from = &self.progression[relative(i, key)];
                let w = o * change;
                for (j, m) in moved.iter_mut().enumerate() {
                    *m += w * from[relative(j, key)];
                }
            }
            for (j, b) in row.iter_mut().enumerate() {
                *b = old[j] * (1.0 - change) + moved[j];
            }
        }
    }
}

#[cfg(test)]
#[path = "tunes_tests.rs"]
mod tests;
