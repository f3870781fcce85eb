//! Call and response, and Continue: the user's notes are a phrase, not conditioning.
//!
//! While the user plays, Sideman listens and stays silent: the generator is stopped and the
//! user's notes (with their lengths) are kept as the phrase. When the user rests, an **answer**
//! starts:
//!
//! - *after a rest* (Trade "After a rest", and always in Continue): no key held and no key
//!   pressed or released for the Rest length. The answer starts on the next beat from there (or
//!   the commit boundary, if that is later) and, in Call and response, lasts as long as the
//!   phrase did (whole beats, at least one); in Continue it lasts until the user plays again;
//! - *on the bar grid* (Trade 2/4/8 bars): the phrase's last onset lies in a slot of N bars
//!   (counted from the song's start); one beat before that slot ends, if no key is held, the
//!   answer is prepared for the next slot, N bars long.
//!
//! The answer is a session whose [`SessionConfig::prompt`](models::generate::SessionConfig) is the
//! phrase (its last [`PROMPT_BARS`] bars, from a bar line) and whose silence lasts until the
//! answer's start, so the model develops the user's rhythm and contour over the chords in force
//! (the chord follower still reads the chords the user plays). Only notes starting inside the
//! answer's window are sent, and they end at its end. As soon as the user plays again, the
//! answer stops at the commit boundary (notes already promised to the host finish) and a new
//! phrase begins. Everything is a function of the input's beats, the parameters and the seed, so
//! an offline render gives the same answer for any block size.

use models::Note;
use models::generate::beat_to_tick;

use super::Worker;
use crate::params::ModeParam;

/// Bars of the user's phrase (before the answer) that are the answer's prompt.
pub const PROMPT_BARS: f64 = 4.0;
/// On the bar grid, how long before the slot's end the answer is prepared, in beats.
pub const PREPARE_BEATS: f64 = 1.0;
/// Longest phrase kept, in notes (the oldest give way).
pub const MAX_PHRASE_NOTES: usize = 1024;

/// What the user played since the last answer.
#[derive(Debug, Default)]
pub(super) struct Phrase {
    /// The notes, in beats; a held note's duration grows until its release.
    pub notes: Vec<Note>,
    /// Index in `notes` of each held key's note.
    held: Vec<(u8, usize)>,
    /// Beat of the last key press or release.
    pub last_event: f64,
    /// Beat of the last key press.
    pub last_onset: f64,
}

impl Phrase {
    pub fn clear(&mut self) {
        self.notes.clear();
        self.held.clear();
    }

    fn press(&mut self, beat: f64, pitch: u8, velocity: u8) {
        if self.notes.len() >= MAX_PHRASE_NOTES {
            self.notes.remove(0);
            self.held.retain_mut(|(_, i)| {
                *i = i.wrapping_sub(1);
                *i < MAX_PHRASE_NOTES
            });
        }
        self.release(beat, pitch);
        self.held.push((pitch, self.notes.len()));
        self.notes.push(Note {
            start: beat,
            duration: 0.0,
            pitch,
            velocity,
        });
        self.last_event = beat;
        self.last_onset = beat;
    }

    fn release(&mut self, beat: f64, pitch: u8) {
        if let Some(k) = self.held.iter().position(|&(p, _)| p == pitch) {
            let (_, i) = self.held.swap_remove(k);
            if let Some(n) = self.notes.get_mut(i) {
                n.duration = (beat - n.start).max(1.0 / 48.0);
            }
            self.last_event = beat;
        }
    }

    fn first(&self) -> f64 {
        self.notes.first().map_or(self.last_event, |n| n.start)
    }
}

/// Sideman's answer: where it plays and what it develops.
#[derive(Debug, Clone)]
pub(super) struct Answer {
    /// First beat of the answer.
    pub start: f64,
    /// Beat where it ends (infinite in Continue).
    pub end: f64,
    /// Bar line (ticks) where the prompt starts.
    pub origin: i64,
    /// The phrase from `origin` on.
    pub prompt: Vec<Note>,
}

impl Worker {
    /// A key pressed in an answering mode: part of the phrase; an answer in progress (or about
    /// to start) stops.
    pub(super) fn phrase_note_on(&mut self, beat: f64, pitch: u8, velocity: u8) {
        if let Some(a) = self.answer.take() {
            let commit = self.commit_beat();
            self.log(|| {
                format!(
                    "the user plays at {beat:.3}: the answer from {:.3} stops at {commit:.3}",
                    a.start
                )
            });
            self.replace_from(commit);
            if let Some(g) = self.generator.as_mut() {
                g.stop();
            }
            if beat >= a.start - 1e-9 {
                // The answer was under way: what the user plays now is a new phrase.
                self.phrase.clear();
            }
        }
        self.phrase.press(beat, pitch, velocity);
    }

    /// A key released in an answering mode.
    pub(super) fn phrase_note_off(&mut self, beat: f64, pitch: u8) {
        self.phrase.release(beat, pitch);
    }

    /// Ends a finished answer; starts one when the user rests (see the module docs).
    pub(super) fn check_answer(&mut self) {
        let mode = self.params.mode.value();
        if !mode.answers() {
            return;
        }
        let playhead = self.status.playhead().max(self.transport.beat);
        if let Some(a) = &self.answer {
            if playhead >= a.end {
                self.log(|| format!("answer {:.3}..{:.3} done", a.start, a.end));
                self.answer = None;
                self.phrase.clear();
                if let Some(g) = self.generator.as_mut() {
                    g.stop();
                }
            }
            return;
        }
        if self.phrase.notes.is_empty() || self.follower.held().next().is_some() || self.generator.is_none() {
            return;
        }
        let bar_beats = self.bar_beats();
        let trade = self.params.trade.value().bars();
        let (start, end) = if mode == ModeParam::Continue || trade == 0 {
            let at = self.phrase.last_event + self.params.rest_beats.value() as f64;
            if playhead < at - 1e-9 {
                return;
            }
            let start = (at - 1e-9).ceil().max(self.commit_beat());
            let len = (self.phrase.last_event - self.phrase.first() - 1e-9).ceil().max(1.0);
            let end = if mode == ModeParam::Continue {
                f64::INFINITY
            } else {
                start + len
            };
            (start, end)
        } else {
            let slot = trade as f64 * bar_beats;
            let slot_end = ((self.phrase.last_onset / slot).floor() + 1.0) * slot;
            if playhead < slot_end - PREPARE_BEATS {
                return;
            }
            (slot_end.max(self.commit_beat()), slot_end + slot)
        };
        if start >= end {
            self.phrase.clear();
            return;
        }
        let from = self.phrase.first().max(start - PROMPT_BARS * bar_beats);
        let origin_beat = self.bar_line_before(from);
        let prompt: Vec<Note> = self
            .phrase
            .notes
            .iter()
            .filter(|n| n.start >= origin_beat - 1e-9)
            .copied()
            .collect();
        self.log(|| {
            format!(
                "answer {start:.3}..{end:.3} to a phrase of {} notes from bar line {origin_beat:.3}",
                prompt.len()
            )
        });
        self.answer = Some(Answer {
            start,
            end,
            origin: beat_to_tick(origin_beat),
            prompt,
        });
        self.replace_from(start);
        self.start_session(beat_to_tick(origin_beat));
    }

    /// Whether a generated note may be sent in an answering mode, and where it must end.
    pub(super) fn answer_window(&self) -> Option<(f64, f64)> {
        self.answer.as_ref().map(|a| (a.start, a.end))
    }
}
