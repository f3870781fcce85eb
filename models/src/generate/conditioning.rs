//! What the session is conditioned on: the chords and input onsets on the caller's timeline
//! ([`Conditioning`]), the input a held chord or a played part writes into it ([`InputFollower`]),
//! and the beats-to-ticks conversions.

use std::collections::BTreeMap;

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

/// Turns the notes a user plays into [`Conditioning`], exactly as the plugin hears them: every
/// note-on may change the chord (recognised over the keys held at that moment, see
/// [`Chord::recognize`]) and, for roles conditioned on input, adds an input onset. The plugin's
/// generator thread and `trainer generate --input` both go through this type, so the same input
/// gives the same conditioning.
#[derive(Debug, Clone)]
pub struct InputFollower {
    held: [bool; 128],
}

impl Default for InputFollower {
    fn default() -> Self {
        InputFollower { held: [false; 128] }
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
        self.held[pitch.min(127) as usize] = true;
    }

    /// A key went up.
    pub fn release(&mut self, pitch: u8) {
        self.held[pitch.min(127) as usize] = false;
    }

    /// Keys held now.
    pub fn held(&self) -> impl Iterator<Item = u8> + '_ {
        (0..128u8).filter(|&k| self.held[k as usize])
    }

    /// Applies the note-on of `pitch` at `tick` (after [`InputFollower::press`]) to `cond`.
    pub fn note_on(&self, cond: &mut Conditioning, tick: i64, pitch: u8, write_inputs: bool) -> FollowEffect {
        let mut effect = FollowEffect::default();
        let mut held = [0u8; 128];
        let mut n = 0;
        for k in self.held() {
            held[n] = k;
            n += 1;
        }
        if let Some(c) = Chord::recognize(&held[..n])
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

    /// Conditioning for a whole part played in advance (`trainer generate --input`): note-offs
    /// before note-ons at the same tick, then by pitch, as a host delivers a block.
    pub fn follow_part(notes: &[crate::music::Note], write_inputs: bool) -> Conditioning {
        let mut events: Vec<(i64, bool, u8)> = Vec::with_capacity(notes.len() * 2);
        for n in notes {
            events.push((beat_to_tick(n.start), true, n.pitch));
            events.push((beat_to_tick(n.start + n.duration.max(0.0)), false, n.pitch));
        }
        events.sort_by_key(|&(t, on, p)| (t, on, p));
        let mut f = InputFollower::default();
        let mut cond = Conditioning::default();
        for (tick, on, pitch) in events {
            if on {
                f.press(pitch);
                f.note_on(&mut cond, tick, pitch, write_inputs);
            } else {
                f.release(pitch);
            }
        }
        cond
    }
}
