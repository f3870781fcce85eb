//! What the session is conditioned on: the chords and input onsets on the caller's timeline
//! ([`Conditioning`]), the input a held chord or a played part writes into it ([`InputFollower`]),
//! and the beats-to-ticks conversions.

use std::collections::BTreeMap;

use super::tunes::{TuneState, TuneTable};
use super::voicing::{PitchSet, Voicing, in_context};
use crate::chord::Chord;
use crate::tokenizer::vocab::TICKS_PER_BEAT;

/// Converts beats to the nearest tick.
pub fn beat_to_tick(beat: f64) -> i64 {
    (beat * TICKS_PER_BEAT as f64).round() as i64
}

/// Converts ticks to beats.
pub fn tick_to_beat(tick: i64) -> f64 {
    tick as f64 / TICKS_PER_BEAT as f64
}

/// What the user played (and what is assumed of the future), by absolute tick.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Conditioning {
    /// Chord changes; `None` is N.C. The chord at the greatest tick `<= t` is in force at `t`.
    pub chords: BTreeMap<i64, Option<Chord>>,
    /// Input onsets per tick, sorted and without duplicates.
    pub inputs: BTreeMap<i64, Vec<u8>>,
}

impl Conditioning {
    /// Adds an input onset; returns whether it was new (a looped input repeats what the
    /// conditioning already holds).
    pub fn add_input(&mut self, tick: i64, pitch: u8) -> bool {
        let v = self.inputs.entry(tick).or_default();
        let pitch = pitch.min(127);
        match v.binary_search(&pitch) {
            Ok(_) => false,
            Err(i) => {
                v.insert(i, pitch);
                true
            }
        }
    }

    /// Removes an input onset; returns whether it was there.
    pub fn remove_input(&mut self, tick: i64, pitch: u8) -> bool {
        let Some(v) = self.inputs.get_mut(&tick) else {
            return false;
        };
        let Ok(i) = v.binary_search(&pitch) else { return false };
        v.remove(i);
        if v.is_empty() {
            self.inputs.remove(&tick);
        }
        true
    }

    /// Sets the chord from `tick` on.
    pub fn set_chord(&mut self, tick: i64, chord: Option<Chord>) {
        self.chords.insert(tick, chord);
    }

    /// The chord in force at `tick`, if any chord was set at or before it.
    pub fn chord_at(&self, tick: i64) -> Option<Option<Chord>> {
        self.chords.range(..=tick).next_back().map(|(_, c)| *c)
    }

    /// Forgets everything before `tick` except the chord in force there.
    pub fn forget_before(&mut self, tick: i64) {
        let keep = self.chord_at(tick);
        self.chords = self.chords.split_off(&tick);
        if let Some(c) = keep {
            self.chords.entry(tick).or_insert(c);
        }
        self.inputs = self.inputs.split_off(&tick);
    }

    /// Removes everything.
    pub fn clear(&mut self) {
        self.chords.clear();
        self.inputs.clear();
    }
}

/// How far apart a voicing's keys may be struck and still be one onset: a tick (a 48th note, 42
/// ms at 120 BPM), as a hand strikes a chord a few milliseconds from its lowest key to its top.
/// Its input onsets are written, and the chord it names set, where its first key was struck.
pub const VOICING_SPREAD_TICKS: i64 = 1;
/// Chords an [`InputFollower`] remembers having named before the latest.
const NAMED_EARLIER: usize = 3;
/// Onsets an [`InputFollower`] remembers for broken chords.
pub const RECENT_ONSETS: usize = 16;
/// How far back a broken chord reaches: a bar of 4/4, in ticks.
pub const BROKEN_CHORD_TICKS: i64 = 4 * TICKS_PER_BEAT as i64;
/// Distinct pitch classes a broken chord needs before it names a chord.
pub const BROKEN_CHORD_CLASSES: usize = 3;
/// How near a bar line a new bass note names its chord: a sixteenth note either side (a player
/// early or late on the downbeat).
pub const DOWNBEAT_TICKS: i64 = TICKS_PER_BEAT as i64 / 4;
/// The lowest key of a tune played alone (G3): a single line that goes lower is heard as a bass
/// line or a broken chord, by its onsets.
pub const TUNE_FLOOR: u8 = 55;
/// The share of a tune's moves from note to note that are steps (one or two semitones), at least:
/// an arpeggio leaps, but for a step where one chord's figure meets the next (lead sheets'
/// melodies move by step about half the time).
pub const TUNE_STEPS: f64 = 0.15;

/// Turns the notes a user plays into [`Conditioning`], exactly as the plugin hears them: every
/// note-on may change the chord and, for roles conditioned on input, adds an input onset. The
/// plugin's generator thread and `trainer generate --input` both go through this type, so the
/// same input gives the same conditioning.
///
/// The chord is what sounds, as a player beside the user hears it:
/// - three or more pitch classes sounding (keys held, or released under the sustain pedal) name
///   the chord they make ([`Chord::recognize`]), or the dominant a rootless voicing means when
///   that chord leaves a note out (`voicing.rs`);
/// - otherwise the onsets (`onsets.rs`), latest first, back to the first that no longer fits one
///   chord with the later ones or that moves by a step to the next, and no further back than
///   [`BROKEN_CHORD_TICKS`] or the sustain pedal's last lift:
///   - the chord in force grows when they add a tone on its root (G B D, then F: G7);
///   - else a new chord is heard from the first onset that left the chord in force (or the bar
///     line before it, when that chord was heard in an earlier bar): three pitch classes name
///     their chord, two the triad they suggest (a third, a fifth), as a guess the next tones may
///     correct. What was played before belongs to the old chord: A under C E G is not Am7;
///   - else two pitch classes struck together (a shell voicing, a power chord) name their chord,
///     unless both are tones of the chord in force; a line's notes overlapping do not;
///   - else a key struck alone on a downbeat ([`InputFollower::set_bars`]), below everything
///     played in the bar before (or near its bass, `onsets.rs`), leaping there and outside the
///     chord in force, is a new bass note: the major or minor triad on it that the tones before
///     fit best, a guess.
/// - a tune played alone (every key of the last two bars struck alone, none below
///   [`TUNE_FLOOR`], some moving by step, [`TUNE_STEPS`]; with a bar grid) names the chord its
///   notes imply as lead sheets harmonise such notes (`tunes.rs`): passing notes and suspensions
///   do not move it, the beats where lead sheets change chord may.
///
/// Below a tune's register, a scale run or a walking bass's approach notes change nothing. A jazz pianist's shell (two
/// guide tones) or rootless voicing is heard after the chord before it, as the progression goes
/// (`voicing::in_context`: after G7, E and B are Cmaj7). Struck again (comping in rhythm), a
/// voicing names again the chord it named, and a key of that chord over it changes nothing. Its
/// keys a tick apart ([`VOICING_SPREAD_TICKS`], a hand's few milliseconds) are one onset at its
/// first key, where its chord is set, and when it leaves out the root of the chord it names,
/// that root is added to the input below it (the comping the band learned from plays roots).
#[derive(Debug, Clone)]
pub struct InputFollower {
    held: [bool; 128],
    /// Released while the sustain pedal was down, still sounding.
    sustained: [bool; 128],
    pedal: bool,
    /// The latest onsets (tick, pitch), a ring of [`RECENT_ONSETS`].
    recent: [(i64, u8); RECENT_ONSETS],
    recent_len: usize,
    recent_next: usize,
    /// The chord this follower set last and where: a broken chord goes on growing from its
    /// first onset (G B D, then F: G7), a guess may be corrected.
    named: Option<(i64, Heard)>,
    /// The ones before it, latest first: what was in force before the instant being followed,
    /// or before the first key of a voicing struck across a few ticks.
    named_earlier: [Option<(i64, Heard)>; NAMED_EARLIER],
    /// The pedal was lifted since the last onset; the tick of the first onset after it was.
    lift_pending: bool,
    lifted_at: Option<i64>,
    /// The bar grid (a bar line's tick, ticks a bar), where the caller knows it.
    bars: Option<(i64, i64)>,
    /// The chord a tune played alone implies, heard from every note (none: tunes are followed by
    /// their onsets as any line).
    tune: Option<TuneState>,
    /// The root this follower added to the input under a voicing that leaves it out, and where.
    implied: Option<(i64, u8)>,
}

impl Default for InputFollower {
    fn default() -> Self {
        InputFollower {
            held: [false; 128],
            sustained: [false; 128],
            pedal: false,
            recent: [(0, 0); RECENT_ONSETS],
            recent_len: 0,
            recent_next: 0,
            named: None,
            named_earlier: [None; NAMED_EARLIER],
            lift_pending: false,
            lifted_at: None,
            bars: None,
            tune: Some(TuneState::new(TuneTable::builtin())),
            implied: None,
        }
    }
}

/// What one note-on changed in the conditioning.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FollowEffect {
    /// The chord recognised from this note on, if it changed.
    pub chord: Option<Chord>,
    /// Whether the conditioning changed (a new chord, or an input onset was added).
    pub changed: bool,
    /// Where it changed: the note's tick, or the first key's of the voicing it completes
    /// ([`VOICING_SPREAD_TICKS`]).
    pub at: i64,
}

impl InputFollower {
    /// A key went down (always call, even when not following, so the held set stays true).
    pub fn press(&mut self, pitch: u8) {
        let k = pitch.min(127) as usize;
        self.held[k] = true;
        self.sustained[k] = false;
    }

    /// A key went up: it keeps sounding while the sustain pedal is down.
    pub fn release(&mut self, pitch: u8) {
        let k = pitch.min(127) as usize;
        self.held[k] = false;
        self.sustained[k] = self.pedal;
    }

    /// The sustain pedal (MIDI CC 64) went down or up. Lifting it silences the keys it held and
    /// ends the broken chord (a pianist changes the pedal with the harmony): a broken chord starts
    /// again from the next onset, though a new bass note is still heard against the keys before.
    pub fn set_pedal(&mut self, down: bool) {
        if self.pedal && !down {
            self.sustained = [false; 128];
            self.lift_pending = true;
        }
        self.pedal = down;
    }

    /// The bar grid: a bar line at `origin` and one every `bar_ticks` (the host's bars in the
    /// plugin, the meter's in `trainer generate`). A new bass note names its chord only near a bar
    /// line (within [`DOWNBEAT_TICKS`]).
    pub fn set_bars(&mut self, origin: i64, bar_ticks: i64) {
        self.bars = (bar_ticks > 0).then_some((origin, bar_ticks));
    }

    /// How a tune played alone is heard: as `table` harmonises it (the built-in table by
    /// default), or, with `None`, by its onsets as any other line.
    pub fn set_tune_table(&mut self, table: Option<&TuneTable>) {
        self.tune = table.map(TuneState::new);
    }

    /// Forgets the onsets remembered for broken chords (the timeline jumped or stopped).
    pub fn forget_onsets(&mut self) {
        if let Some(t) = &mut self.tune {
            t.reset();
        }
        self.recent_len = 0;
        self.named = None;
        self.named_earlier = [None; NAMED_EARLIER];
        self.lifted_at = None;
        self.lift_pending = false;
        self.implied = None;
    }

    /// Keys held now.
    pub fn held(&self) -> impl Iterator<Item = u8> + '_ {
        (0..128u8).filter(|&k| self.held[k as usize])
    }

    /// Keys sounding now: held, or released under the sustain pedal.
    pub fn sounding(&self) -> impl Iterator<Item = u8> + '_ {
        (0..128u8).filter(|&k| self.held[k as usize] || self.sustained[k as usize])
    }

    /// The remembered onsets, latest first.
    fn recent_onsets(&self) -> impl Iterator<Item = (i64, u8)> + '_ {
        (1..=self.recent_len).map(|i| self.recent[(self.recent_next + RECENT_ONSETS - i) % RECENT_ONSETS])
    }

    /// The chord this follower named last before `tick`, and where.
    fn named_before(&self, tick: i64) -> Option<(i64, Heard)> {
        std::iter::once(self.named)
            .chain(self.named_earlier)
            .flatten()
            .find(|&(at, _)| at < tick)
    }

    /// Applies the note-on of `pitch` at `tick` (after [`InputFollower::press`]) to `cond`.
    pub fn note_on(&mut self, cond: &mut Conditioning, tick: i64, pitch: u8, write_inputs: bool) -> FollowEffect {
        if self.lift_pending {
            self.lifted_at = Some(tick);
            self.lift_pending = false;
        }
        self.recent[self.recent_next] = (tick, pitch.min(127));
        self.recent_next = (self.recent_next + 1) % RECENT_ONSETS;
        self.recent_len = (self.recent_len + 1).min(RECENT_ONSETS);
        let mut sounding = PitchSet::new();
        for k in self.sounding() {
            sounding.add(k);
        }
        // Keys sounding that were struck together, from the first; a voicing's keys a tick apart
        // are one onset, at its first key.
        let together = self.struck_from(tick, &sounding);
        let at = together
            .filter(|&first| tick.saturating_sub(first) <= VOICING_SPREAD_TICKS)
            .unwrap_or(tick);
        let mut effect = FollowEffect {
            at,
            ..FollowEffect::default()
        };
        let tune = match (&mut self.tune, self.bars) {
            (Some(t), Some((origin, bar))) => Some(t.hear(tick, pitch, origin, bar)),
            _ => None,
        };
        let recognised = match sounding.distinct() {
            n if n >= BROKEN_CHORD_CLASSES => sounding.chord().map(|chord| {
                // What came before the voicing's first key: its keys a tick apart still hear the
                // chord before it, not the guess its first keys made.
                let from = together.unwrap_or(tick);
                let before = cond.chord_at(from.saturating_sub(1)).flatten();
                let key = pitch.min(127) % 12;
                let doubled = sounding.pitches().iter().filter(|&&k| k % 12 == key).count() > 1;
                let others = if doubled {
                    sounding.class_bits()
                } else {
                    sounding.class_bits() & !(1 << key)
                };
                // The voicing that named the chord in force struck again (a pianist comping in
                // rhythm: E G B D after G7 is Cmaj9 each time, not Em7 from the second), its
                // lowest key and some of the others down so far, or held under a key of that chord
                // (D over F A C E, Dm9's root in the melody).
                let again = self.named_before(from).filter(|(_, h)| {
                    Some(h.chord) == before
                        && h.voicing.is_some_and(|v| {
                            v.struck_again(&sounding) || v.classes == others && h.chord.contains_pitch(key)
                        })
                });
                Heard {
                    chord: again.map_or_else(|| in_context(chord, &sounding, before), |(_, h)| h.chord),
                    from: tick,
                    guess: false,
                    voicing: together.and_then(|_| Voicing::of(&sounding)),
                }
            }),
            _ if tune.is_some() && self.in_a_tune(tick) => tune.map(|chord| Heard {
                chord,
                from: tick,
                guess: false,
                voicing: None,
            }),
            n => self.named_by_onsets(cond, tick, pitch, &sounding, n),
        };
        match recognised {
            Some(heard) if cond.chord_at(tick) != Some(Some(heard.chord)) => {
                if self.named.is_none_or(|(at, _)| at != tick) {
                    self.named_earlier.rotate_right(1);
                    self.named_earlier[0] = self.named;
                }
                self.named = Some((tick, heard));
                // What its first keys named on their own goes (F A, then C E: Dm9, not F).
                while let Some((&t, _)) = cond.chords.range(at..=tick).next_back().filter(|&(&t, _)| t > at) {
                    cond.chords.remove(&t);
                }
                cond.set_chord(at, Some(heard.chord));
                effect.chord = Some(heard.chord);
                effect.changed = true;
            }
            // Heard again: a guess confirmed (A and C, then E: Am), no longer corrected.
            Some(heard) => {
                let last_change = cond.chords.range(..=tick).next_back().map(|(&t, _)| t);
                if let Some((at, named)) = &mut self.named
                    && Some(*at) == last_change
                {
                    named.guess &= heard.guess;
                    // Its voicing grown by a key struck with it (F A C E, then D on top).
                    if let (Some(v), Some(w)) = (heard.voicing, named.voicing)
                        && v.grows(&w)
                    {
                        named.voicing = Some(v);
                    }
                }
            }
            None => {}
        }
        if write_inputs {
            if self.implied == Some((at, pitch.min(127))) {
                self.implied = None; // the user played the root this follower had added
            }
            effect.changed |= cond.add_input(at, pitch);
            effect.changed |= self.imply_root(cond, tick, at, &sounding, together.is_some());
        }
        effect
    }

    /// Under a voicing struck together that leaves out the root of the chord it names (a shell,
    /// a rootless voicing: F A C E after A7 is Dm9), adds that root to the input, below the
    /// voicing, as the comping the band learned from plays it, where the voicing's onset is
    /// written (`at`). A root added for an earlier guess at the same voicing goes. Returns whether
    /// the input changed.
    fn imply_root(&mut self, cond: &mut Conditioning, tick: i64, at: i64, sounding: &PitchSet, together: bool) -> bool {
        let lowest = sounding.pitches().iter().copied().min();
        let want = match (cond.chord_at(tick), lowest) {
            (Some(Some(c)), Some(low))
                if sounding.distinct() >= 2 && sounding.class_bits() & 1 << c.root == 0 && together =>
            {
                let down = (low % 12 + 12 - c.root) % 12;
                low.checked_sub(if down == 0 { 12 } else { down })
            }
            _ => None,
        };
        let mut changed = false;
        if let Some((was_at, p)) = self.implied
            && Some((was_at, p)) != want.map(|w| (at, w))
            && was_at >= tick.saturating_sub(DOWNBEAT_TICKS)
        {
            changed |= cond.remove_input(was_at, p);
            self.implied = None;
        }
        if let Some(p) = want
            && cond.add_input(at, p)
        {
            self.implied = Some((at, p));
            changed = true;
        }
        changed
    }

    /// Conditioning for a whole part played in advance (`trainer generate --input`), with its
    /// sustain pedal: at one tick, note-offs, then the pedal, then note-ons by pitch, as a host
    /// delivers a block. `bar_ticks`: the bars' length, from a bar line at tick 0.
    pub fn follow_part(
        notes: &[crate::music::Note],
        pedal: &[crate::midi::PedalChange],
        write_inputs: bool,
        bar_ticks: Option<i64>,
    ) -> Conditioning {
        InputFollower::default().follow(notes, pedal, write_inputs, bar_ticks)
    }

    /// [`InputFollower::follow_part`] by this follower (one set up otherwise than the default:
    /// [`InputFollower::set_tune_table`]).
    pub fn follow(
        mut self,
        notes: &[crate::music::Note],
        pedal: &[crate::midi::PedalChange],
        write_inputs: bool,
        bar_ticks: Option<i64>,
    ) -> Conditioning {
        // At one tick, in this order (the derived `Ord`): releases, the pedal, presses by pitch.
        #[derive(PartialEq, Eq, PartialOrd, Ord)]
        enum Event {
            Release(u8),
            Pedal(bool),
            Press(u8),
        }
        let mut events: Vec<(i64, Event)> = Vec::with_capacity(notes.len() * 2 + pedal.len());
        for n in notes {
            events.push((beat_to_tick(n.start), Event::Press(n.pitch)));
            events.push((beat_to_tick(n.start + n.duration.max(0.0)), Event::Release(n.pitch)));
        }
        events.extend(pedal.iter().map(|p| (beat_to_tick(p.beat), Event::Pedal(p.down))));
        events.sort_unstable();
        if let Some(bar) = bar_ticks {
            self.set_bars(0, bar);
        }
        let mut cond = Conditioning::default();
        for (tick, event) in events {
            match event {
                Event::Release(pitch) => self.release(pitch),
                Event::Pedal(down) => self.set_pedal(down),
                Event::Press(pitch) => {
                    self.press(pitch);
                    self.note_on(&mut cond, tick, pitch, write_inputs);
                }
            }
        }
        cond
    }
}

#[path = "onsets.rs"]
mod onsets;
use onsets::Heard;

#[cfg(test)]
#[path = "conditioning_tests.rs"]
mod tests;
