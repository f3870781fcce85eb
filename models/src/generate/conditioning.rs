//! What the session is conditioned on: the chords and input onsets on the caller's timeline
//! ([`Conditioning`]), the input a held chord or a played part writes into it ([`InputFollower`]),
//! and the beats-to-ticks conversions.

use std::collections::BTreeMap;

use super::voicing::PitchSet;
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

/// Onsets an [`InputFollower`] remembers for broken chords.
pub const RECENT_ONSETS: usize = 16;
/// How far back a broken chord reaches: a bar of 4/4, in ticks.
pub const BROKEN_CHORD_TICKS: i64 = 4 * TICKS_PER_BEAT as i64;
/// Distinct pitch classes a broken chord needs before it names a chord.
pub const BROKEN_CHORD_CLASSES: usize = 3;

/// Turns the notes a user plays into [`Conditioning`], exactly as the plugin hears them: every
/// note-on may change the chord and, for roles conditioned on input, adds an input onset. The
/// plugin's generator thread and `trainer generate --input` both go through this type, so the
/// same input gives the same conditioning.
///
/// The chord is what sounds, as a player beside the user hears it:
/// - three or more pitch classes sounding (keys held, or released under the sustain pedal) name
///   the chord they make ([`Chord::recognize`]), or the dominant a rootless voicing means when
///   that chord leaves a note out (`voicing.rs`);
/// - otherwise a broken chord: the latest onsets, back to the first that no longer fits one
///   chord with the later ones and the notes sounding or that moves by a step to the next, and
///   no further back than the last chord change or [`BROKEN_CHORD_TICKS`], name their chord
///   once they hold [`BROKEN_CHORD_CLASSES`] pitch classes (an arpeggio, or a melody or a
///   walking bass where it leaps through its harmony; a scale run changes nothing);
/// - otherwise two pitch classes sounding name the chord they suggest (a shell voicing, a
///   dyad; a power chord its major triad), unless both are tones of the chord in force.
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
    /// ends the broken chord (a pianist changes the pedal with the harmony).
    pub fn set_pedal(&mut self, down: bool) {
        if self.pedal && !down {
            self.sustained = [false; 128];
            self.forget_onsets();
        }
        self.pedal = down;
    }

    /// Forgets the onsets remembered for broken chords (the timeline jumped or stopped).
    pub fn forget_onsets(&mut self) {
        self.recent_len = 0;
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

    /// The broken chord ending at `tick` over the notes `sounding`, from onsets at or after
    /// `since` (see [`InputFollower`]).
    fn broken_chord(&self, tick: i64, since: i64, sounding: &PitchSet) -> Option<Chord> {
        let mut set = *sounding;
        let mut chord = None;
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
                continue;
            }
            match next.fitting_chord() {
                Some(c) => {
                    set = next;
                    chord = Some(c);
                }
                None => break,
            }
        }
        chord.filter(|_| set.distinct() >= BROKEN_CHORD_CLASSES)
    }

    /// Applies the note-on of `pitch` at `tick` (after [`InputFollower::press`]) to `cond`.
    pub fn note_on(&mut self, cond: &mut Conditioning, tick: i64, pitch: u8, write_inputs: bool) -> FollowEffect {
        self.recent[self.recent_next] = (tick, pitch.min(127));
        self.recent_next = (self.recent_next + 1) % RECENT_ONSETS;
        self.recent_len = (self.recent_len + 1).min(RECENT_ONSETS);
        let mut effect = FollowEffect::default();
        let mut sounding = PitchSet::new();
        for k in self.sounding() {
            sounding.add(k);
        }
        let recognised = match sounding.distinct() {
            n if n >= BROKEN_CHORD_CLASSES => sounding.chord(),
            n => {
                let last_change = cond.chords.range(..=tick).next_back().map(|(&t, _)| t);
                let since = last_change.unwrap_or(i64::MIN).max(tick - BROKEN_CHORD_TICKS);
                // Two pitch classes of the chord in force leave it (a legato line through it).
                let in_force = cond.chord_at(tick).flatten();
                self.broken_chord(tick, since, &sounding).or_else(|| {
                    (n == 2 && !in_force.is_some_and(|c| sounding.within(c)))
                        .then(|| sounding.dyad_chord())
                        .flatten()
                })
            }
        };
        if let Some(c) = recognised
            && cond.chord_at(tick) != Some(Some(c))
        {
            cond.set_chord(tick, Some(c));
            effect.chord = Some(c);
            effect.changed = true;
        }
        if write_inputs && cond.add_input(tick, pitch) {
            effect.changed = true;
        }
        effect
    }

    /// Conditioning for a whole part played in advance (`trainer generate --input`), with its
    /// sustain pedal: at one tick, note-offs, then the pedal, then note-ons by pitch, as a host
    /// delivers a block.
    pub fn follow_part(
        notes: &[crate::music::Note],
        pedal: &[crate::midi::PedalChange],
        write_inputs: bool,
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
        let mut f = InputFollower::default();
        let mut cond = Conditioning::default();
        for (tick, event) in events {
            match event {
                Event::Release(pitch) => f.release(pitch),
                Event::Pedal(down) => f.set_pedal(down),
                Event::Press(pitch) => {
                    f.press(pitch);
                    f.note_on(&mut cond, tick, pitch, write_inputs);
                }
            }
        }
        cond
    }
}

#[cfg(test)]
#[path = "conditioning_tests.rs"]
mod tests;
