//! What the onsets a user played name as a chord where fewer than three pitch classes sound:
//! [`InputFollower`]'s broken chords, bass notes and dyads (models/README.md, "What the plugin
//! hears as a chord").

use super::{
    BROKEN_CHORD_CLASSES, BROKEN_CHORD_TICKS, Conditioning, DOWNBEAT_TICKS, InputFollower, TUNE_FLOOR, TUNE_STEPS,
    VOICING_SPREAD_TICKS,
};
use crate::chord::{Chord, ChordQuality};
use crate::generate::voicing::{PitchSet, Voicing, in_context};

/// A chord the follower heard: from which onset, and whether it is a guess the next tones may
/// correct (a bass note alone, two pitch classes of a broken chord).
#[derive(Debug, Clone, Copy)]
pub(super) struct Heard {
    pub(super) chord: Chord,
    pub(super) from: i64,
    pub(super) guess: bool,
    /// The keys struck together that named it (none when onsets, a tune or keys struck at
    /// different times did): the same voicing struck again names it again.
    pub(super) voicing: Option<Voicing>,
}

impl InputFollower {
    /// The bar line at or before `tick` (`tick` itself without a bar grid).
    fn bar_line_before(&self, tick: i64) -> i64 {
        self.bars.map_or(tick, |(origin, bar)| {
            tick.saturating_sub(tick.wrapping_sub(origin).rem_euclid(bar))
        })
    }

    /// Whether `tick` is within [`DOWNBEAT_TICKS`] of a bar line.
    fn on_downbeat(&self, tick: i64) -> bool {
        self.bars.is_some_and(|(origin, bar)| {
            let off = tick.wrapping_sub(origin).rem_euclid(bar);
            off.min(bar - off) <= DOWNBEAT_TICKS
        })
    }

    /// The broken chord ending at `tick` over the notes `sounding`, from onsets at or after
    /// `since` (see [`InputFollower`]).
    fn broken_chord(
        &self,
        tick: i64,
        since: i64,
        sounding: &PitchSet,
        two: bool,
        before: Option<Chord>,
    ) -> Option<Heard> {
        // The keys sounding that were struck since `since`: one still ringing from the chord
        // before (a legato line's last note) is not this chord's.
        let mut set = PitchSet::new();
        for &p in sounding.pitches() {
            if self.struck_when(p, tick).is_some_and(|t| t >= since) {
                set.add(p);
            }
        }
        let mut chord = None;
        let mut from = tick;
        let mut later: Option<u8> = None;
        for (t, pitch) in self.recent_onsets() {
            if t > tick {
                continue; // a loop went back: onsets of the pass before
            }
            // A step of one or two semitones is a line, not a broken chord (a walking bass's
            // approach note, a melody's passing note).
            let step = later.map(|l| l.abs_diff(pitch));
            if t < since || step.is_some_and(|s| (1..=2).contains(&s)) {
                break;
            }
            later = Some(pitch);
            let mut next = set;
            next.add(pitch);
            if next.distinct() < 2 {
                set = next; // one pitch class fits any chord with it
                from = t;
                continue;
            }
            match next.fitting_chord() {
                Some(c) => {
                    set = next;
                    chord = Some(c);
                    from = t;
                }
                None => break,
            }
        }
        let heard = |chord, guess| Heard {
            chord: in_context(chord, &set, before),
            from,
            guess,
            voicing: None,
        };
        match set.distinct() {
            n if n >= BROKEN_CHORD_CLASSES => chord.map(|c| heard(c, false)),
            2 if two => set.dyad_chord().map(|c| heard(c, true)),
            _ => None,
        }
    }

    /// The chord fewer than three pitch classes sounding name with the onsets before them (see
    /// [`InputFollower`]).
    pub(super) fn named_by_onsets(
        &self,
        cond: &Conditioning,
        tick: i64,
        pitch: u8,
        sounding: &PitchSet,
        n: usize,
    ) -> Option<Heard> {
        let b = self.before(cond, tick);
        // A broken chord reaches back a bar, and not past the pedal's last lift; a new bass note
        // is heard against the bar before either way.
        let reach = tick.saturating_sub(BROKEN_CHORD_TICKS);
        let floor = self.lifted_at.filter(|&t| t <= tick).map_or(reach, |t| t.max(reach));
        // Keys struck together that leave the chord in force are a new chord, not a tone added
        // to it (a power chord E5 after C5 is not Cmaj7).
        let struck = self.struck_at(tick);
        let block = struck.distinct() >= 2 && !b.in_force.is_some_and(|f| struck.within(f));
        let bass = (struck.distinct() == 1)
            .then(|| self.bass_note(tick, pitch, b.in_force, reach))
            .flatten();
        // The first keys of the voicing that named the chord in force, struck again (not a new
        // bass note): the chord stands, and the voicing's keys are not a broken chord.
        let voiced = self.named_before(tick).filter(|(_, h)| Some(h.chord) == b.in_force);
        let together = self.struck_together(tick, sounding);
        if bass.is_none()
            && together
            && voiced
                .and_then(|(_, h)| h.voicing)
                .is_some_and(|v| v.struck_again(sounding))
        {
            return None;
        }
        // The chord in force growing: its broken chord, from the onset it was first heard at
        // (when this follower named it), with a tone added on its root (G B D, then F: G7).
        let grown = b.in_force.filter(|_| !block && bass.is_none()).and_then(|f| {
            let since = b.evidence.unwrap_or(i64::MIN).max(floor);
            self.broken_chord(tick, since, sounding, false, b.in_force)
                .filter(|h| h.chord.root == f.root && f.pitch_classes().all(|pc| h.chord.contains_pitch(pc)))
        });
        let fresh = || {
            let start = self.new_chord_start(tick, &b)?;
            self.broken_chord(tick, start.max(floor), sounding, true, b.in_force)
        };
        // Two pitch classes struck together (a shell voicing, a power chord) name their chord,
        // unless both are tones of the chord in force; a line's notes overlapping do not.
        let dyad = || {
            let leaves = !b.in_force.is_some_and(|c| sounding.within(c));
            let chord = (n == 2 && leaves && together)
                .then(|| sounding.dyad_chord())
                .flatten()?;
            Some(Heard {
                chord: in_context(chord, sounding, b.in_force),
                from: tick,
                guess: false,
                voicing: None,
            })
        };
        let guessed = bass.map(|chord| Heard {
            chord,
            from: tick,
            guess: true,
            voicing: None,
        });
        grown.or_else(fresh).or_else(dyad).or(guessed)
    }

    /// What this follower knows of the chord before `tick`. Keys struck together are followed
    /// one by one: each is heard against the chord in force before their instant, with the keys
    /// of the instant so far (the last key's chord stands).
    fn before(&self, cond: &Conditioning, tick: i64) -> Before {
        let in_force = cond.chord_at(tick.saturating_sub(1)).flatten();
        let last_change = cond.chords.range(..tick).next_back().map(|(&t, _)| t);
        let (evidence, guess) = match (last_change, self.named_before(tick)) {
            (Some(at), Some((named, h))) if at == named => (Some(h.from), h.guess),
            _ => (last_change, false),
        };
        Before {
            in_force,
            last_change,
            evidence,
            guess,
        }
    }

    /// The keys struck at `tick`.
    fn struck_at(&self, tick: i64) -> PitchSet {
        let mut struck = PitchSet::new();
        for (_, p) in self.recent_onsets().filter(|&(t, _)| t == tick) {
            struck.add(p);
        }
        struck
    }

    /// The triad a key struck alone names as a new bass note: on a downbeat, below everything
    /// played in the bar before (from `reach`) or near that bar's bass (see below), leaping there
    /// from the key before, and outside the chord in force (a walking bass's approach notes step
    /// into theirs).
    fn bass_note(&self, tick: i64, pitch: u8, in_force: Option<Chord>, reach: i64) -> Option<Chord> {
        let window = || self.recent_onsets().filter(move |&(t, _)| t < tick && t >= reach);
        let bass = self.on_downbeat(tick)
            && window().nth(1).is_some()
            && window().next().is_some_and(|(_, p)| p.abs_diff(pitch) > 2)
            && {
                // Below everything but the bar before's own bass note, whose pitch class it is
                // not and which it is within a major sixth of (G after a bar of F from its bass);
                // or, within that sixth, leaping down to the bar line (C after a bar of G B D
                // broken upwards from G, whose B is below the C).
                let lowest = window().map(|(_, p)| p).min().unwrap_or(u8::MAX);
                let near = pitch <= lowest.saturating_add(9) && lowest % 12 != pitch % 12;
                let leapt_down = window().next().is_some_and(|(_, p)| p > pitch.saturating_add(2));
                (near && leapt_down) || window().all(|(_, p)| p > pitch || (p == lowest && near))
            }
            && !in_force.is_some_and(|f| f.contains_pitch(pitch));
        bass.then(|| triad_heard(pitch, window()))
    }

    /// Where a new chord's onsets start: at the first onset since the change that left the chord
    /// in force (what came before belongs to that chord); at the bar line before that onset when
    /// the chord in force was heard before the bar line (a new chord's root on the downbeat may
    /// be a tone of the old one, as G is of C); else, after a guess (a bass note, two pitch
    /// classes), where the guess was heard (the tones after it may name another chord that
    /// holds it: A, then C#, is A; E and G, then C, is C).
    fn new_chord_start(&self, tick: i64, b: &Before) -> Option<i64> {
        let left = self
            .recent_onsets()
            .filter(|&(t, p)| {
                t <= tick && b.last_change.is_none_or(|at| t >= at) && !b.in_force.is_some_and(|f| f.contains_pitch(p))
            })
            .map(|(t, _)| t)
            .min()?;
        let line = self.bar_line_before(left);
        let after = |at: Option<i64>| at.is_none_or(|at| line > at);
        Some(match b.evidence {
            _ if after(b.evidence) && after(b.last_change.map(|at| at.saturating_sub(1))) => line,
            Some(from) if b.guess => from,
            _ => left,
        })
    }

    /// Whether the keys of the last two bars up to `tick` (of those remembered) are a tune played
    /// alone: two or more, each struck alone (no other key within a tick of it), none below
    /// [`TUNE_FLOOR`], and moving by step at least [`TUNE_STEPS`] of the time (an arpeggio, which
    /// leaps, is a broken chord). A chord the user played holds over the line that follows it
    /// until then.
    pub(super) fn in_a_tune(&self, tick: i64) -> bool {
        let Some((_, bar)) = self.bars else {
            return false;
        };
        let reach = tick.saturating_sub(bar.saturating_mul(2));
        let mut count = 0;
        let mut steps = 0;
        let mut later: Option<(i64, u8)> = None;
        for (t, p) in self.recent_onsets().filter(|&(t, _)| t <= tick && t >= reach) {
            if p < TUNE_FLOOR || later.is_some_and(|(lt, lp)| lt.abs_diff(t) <= VOICING_SPREAD_TICKS as u64 && lp != p)
            {
                return false;
            }
            steps += later.is_some_and(|(_, lp)| (1..=2).contains(&lp.abs_diff(p))) as usize;
            later = Some((t, p));
            count += 1;
        }
        count >= 2 && steps >= 1 && steps as f64 >= TUNE_STEPS * (count - 1) as f64
    }

    /// When `pitch` was last struck, at or before `tick`, among the onsets remembered.
    fn struck_when(&self, pitch: u8, tick: i64) -> Option<i64> {
        self.recent_onsets()
            .find(|&(t, q)| q == pitch && t <= tick)
            .map(|(t, _)| t)
    }

    /// Whether the keys `sounding` were all struck within [`DOWNBEAT_TICKS`] of each other.
    fn struck_together(&self, tick: i64, sounding: &PitchSet) -> bool {
        self.struck_from(tick, sounding).is_some()
    }

    /// When the first of the keys `sounding` was struck, if all were within [`DOWNBEAT_TICKS`] of
    /// each other (a voicing, its keys a few milliseconds apart).
    pub(super) fn struck_from(&self, tick: i64, sounding: &PitchSet) -> Option<i64> {
        let (mut first, mut last) = (i64::MAX, i64::MIN);
        for &p in sounding.pitches() {
            let t = self.struck_when(p, tick)?;
            first = first.min(t);
            last = last.max(t);
        }
        (last.saturating_sub(first) <= DOWNBEAT_TICKS).then_some(first)
    }
}

/// The chord in force before an instant, as [`InputFollower::before`] knows it: the chord, the
/// tick it was set at, the onset it was first heard from (when this follower named it) and
/// whether it was a guess.
struct Before {
    in_force: Option<Chord>,
    last_change: Option<i64>,
    evidence: Option<i64>,
    guess: bool,
}

/// The triad on `root` that the keys `heard` before it fit best: minor when more of them are tones
/// of the minor triad than of the major (an A under C E G is Am, an F under A C E is F).
fn triad_heard(root: u8, heard: impl Iterator<Item = (i64, u8)>) -> Chord {
    let (minor, major) = (
        Chord::new(root % 12, ChordQuality::Min),
        Chord::new(root % 12, ChordQuality::Maj),
    );
    let (mut in_minor, mut in_major) = (0, 0);
    for (_, p) in heard {
        in_minor += minor.contains_pitch(p) as usize;
        in_major += major.contains_pitch(p) as usize;
    }
    if in_minor > in_major { minor } else { major }
}
