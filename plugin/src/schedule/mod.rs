//! The audio-thread note scheduler: beat-stamped notes in, sample-accurate NoteOn/NoteOff out.
//!
//! Per block segment (a block, or the part of a block on one side of a loop wrap) the caller gives
//! the segment's first beat, its first sample offset in the block, its length in samples and the
//! samples per beat. An event at beat `b` lands at `offset + round((b - first_beat) * spb)`; with
//! the host's beat position exact, that is the sample `round(b * spb)` of a constant-tempo
//! timeline: 0 samples error (ties round half away from zero). A note is emitted in the segment
//! whose range contains its rounded sample, so splitting the timeline into blocks of any size
//! gives the same samples.
//!
//! Fixed capacity everywhere ([`MAX_PENDING_NOTES`], [`MAX_SOUNDING_NOTES`],
//! [`MAX_BLOCK_EVENTS`]); nothing allocates after [`NoteScheduler::new`]. Every NoteOn goes into
//! the sounding table, and the only ways out of that table emit a NoteOff: the note's end, a
//! retrigger of the same key, [`NoteScheduler::release_all`], or table overflow (the oldest note
//! is released to make room).

use crate::channels::{MAX_BLOCK_EVENTS, MAX_PENDING_NOTES, MAX_SOUNDING_NOTES, ScheduledNote};

/// How late (in beats) a note may still start; later ones are dropped and counted.
pub const LATE_TOLERANCE_BEATS: f64 = 0.125;

/// An output event, in the current block.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OutEvent {
    /// Sample offset in the block.
    pub timing: u32,
    /// NoteOn (true) or NoteOff.
    pub on: bool,
    /// Key.
    pub pitch: u8,
    /// Channel 0-15.
    pub channel: u8,
    /// Velocity 0..=1 (NoteOff: 0).
    pub velocity: f32,
}

#[derive(Debug, Clone, Copy)]
struct Sounding {
    pitch: u8,
    channel: u8,
    end: f64,
}

/// Counters of what the scheduler had to give up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScheduleCounters {
    /// Notes dropped because the pending queue was full.
    pub dropped: u64,
    /// Notes dropped because they came too late.
    pub late: u64,
}

/// The scheduler. Lives on the audio thread.
#[derive(Debug)]
pub struct NoteScheduler {
    /// Waiting notes, sorted by start.
    pending: Vec<ScheduledNote>,
    sounding: Vec<Sounding>,
    events: Vec<OutEvent>,
    /// What was given up.
    pub counters: ScheduleCounters,
}

impl Default for NoteScheduler {
    fn default() -> Self {
        NoteScheduler::new()
    }
}

impl NoteScheduler {
    /// Allocates every table at its capacity.
    pub fn new() -> NoteScheduler {
        NoteScheduler {
            pending: Vec::with_capacity(MAX_PENDING_NOTES),
            sounding: Vec::with_capacity(MAX_SOUNDING_NOTES),
            events: Vec::with_capacity(MAX_BLOCK_EVENTS),
            counters: ScheduleCounters::default(),
        }
    }

    /// Queues a note (sorted insert). Returns false, and counts it, when the queue is full.
    pub fn push(&mut self, note: ScheduledNote) -> bool {
        if self.pending.len() >= MAX_PENDING_NOTES || !note.start.is_finite() || !note.end.is_finite() {
            self.counters.dropped += 1;
            return false;
        }
        let i = self.pending.partition_point(|n| n.start <= note.start);
        self.pending.insert(i, note);
        true
    }

    /// Drops queued notes starting at or after `beat`.
    pub fn replace_from(&mut self, beat: f64) {
        let i = self.pending.partition_point(|n| n.start < beat);
        self.pending.truncate(i);
    }

    /// Drops every queued note.
    pub fn clear_pending(&mut self) {
        self.pending.clear();
    }

    /// Number of queued notes.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Number of sounding notes.
    pub fn sounding_len(&self) -> usize {
        self.sounding.len()
    }

    /// Emits a NoteOff at `timing` for every sounding note.
    pub fn release_all(&mut self, timing: u32) {
        for s in self.sounding.drain(..) {
            if self.events.len() < self.events.capacity() {
                self.events.push(OutEvent {
                    timing,
                    on: false,
                    pitch: s.pitch,
                    channel: s.channel,
                    velocity: 0.0,
                });
            }
        }
    }

    /// Schedules one segment: `samples` samples from `offset`, starting at `first_beat`, with
    /// `spb` samples per beat.
    pub fn render(&mut self, first_beat: f64, offset: u32, samples: u32, spb: f64) {
        if samples == 0 || spb.is_nan() || spb <= 0.0 {
            return;
        }
        let at = |beat: f64| ((beat - first_beat) * spb).round();
        let len = samples as f64;
        // Starts.
        let mut taken = 0;
        while taken < self.pending.len() {
            let n = self.pending[taken];
            let t = at(n.start);
            if t >= len {
                break;
            }
            taken += 1;
            if n.start < first_beat - LATE_TOLERANCE_BEATS {
                self.counters.late += 1;
                continue;
            }
            let timing = offset + t.max(0.0) as u32;
            if let Some(i) = self
                .sounding
                .iter()
                .position(|s| s.pitch == n.pitch && s.channel == n.channel)
            {
                // A second hit of a key that started on this very sample (a flam quantized by
                // Feel 0, a swung 8th on a triplet) is one hit: a NoteOff there would sort before
                // its own NoteOn. Keep the longer end.
                if self
                    .events
                    .iter()
                    .any(|e| e.on && e.timing == timing && e.pitch == n.pitch && e.channel == n.channel)
                {
                    self.sounding[i].end = self.sounding[i].end.max(n.end);
                    continue;
                }
                let s = self.sounding.swap_remove(i);
                self.emit(OutEvent {
                    timing,
                    on: false,
                    pitch: s.pitch,
                    channel: s.channel,
                    velocity: 0.0,
                });
            }
            if self.sounding.len() >= MAX_SOUNDING_NOTES {
                let s = self.sounding.remove(0);
                self.emit(OutEvent {
                    timing,
                    on: false,
                    pitch: s.pitch,
                    channel: s.channel,
                    velocity: 0.0,
                });
            }
            self.emit(OutEvent {
                timing,
                on: true,
                pitch: n.pitch,
                channel: n.channel,
                velocity: n.velocity.clamp(0.0, 1.0),
            });
            // At least one sample long, so the NoteOff always follows its NoteOn.
            let min_end = n.start.max(first_beat) + 1.0 / spb;
            self.sounding.push(Sounding {
                pitch: n.pitch,
                channel: n.channel,
                end: n.end.max(min_end),
            });
        }
        self.pending.drain(..taken);
        // Ends.
        let mut i = 0;
        while i < self.sounding.len() {
            let t = at(self.sounding[i].end);
            if t < len {
                let s = self.sounding.swap_remove(i);
                self.emit(OutEvent {
                    timing: offset + t.max(0.0) as u32,
                    on: false,
                    pitch: s.pitch,
                    channel: s.channel,
                    velocity: 0.0,
                });
            } else {
                i += 1;
            }
        }
    }

    fn emit(&mut self, e: OutEvent) {
        if self.events.len() < self.events.capacity() {
            self.events.push(e);
        }
    }

    /// The block's events sorted by time (NoteOffs before NoteOns at the same sample), then
    /// cleared by the next [`NoteScheduler::clear_events`].
    pub fn events(&mut self) -> &[OutEvent] {
        self.events
            .sort_unstable_by(|a, b| a.timing.cmp(&b.timing).then((a.on as u8).cmp(&(b.on as u8))));
        &self.events
    }

    /// Forgets the block's events (after sending them).
    pub fn clear_events(&mut self) {
        self.events.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(start: f64, end: f64, pitch: u8) -> ScheduledNote {
        ScheduledNote {
            start,
            end,
            pitch,
            channel: 0,
            velocity: 0.8,
        }
    }

    /// Runs blocks of `block` samples over `total` samples at `spb` and returns (abs sample, on, pitch).
    fn run(notes: &[ScheduledNote], block: u32, total: u32, spb: f64) -> Vec<(u64, bool, u8)> {
        let mut s = NoteScheduler::new();
        for &n in notes {
            s.push(n);
        }
        let mut out = Vec::new();
        let mut pos = 0u32;
        while pos < total {
            let len = block.min(total - pos);
            s.render(pos as f64 / spb, 0, len, spb);
            for e in s.events() {
                out.push((pos as u64 + e.timing as u64, e.on, e.pitch));
            }
            s.clear_events();
            pos += len;
        }
        out
    }

    #[test]
    fn block_size_does_not_move_events() {
        let spb = 44100.0 * 60.0 / 173.0;
        let notes: Vec<_> = (0..40)
            .map(|i| note(i as f64 / 3.0, i as f64 / 3.0 + 0.25, 40 + (i % 20) as u8))
            .collect();
        let reference = run(&notes, 4096, 44100 * 8, spb);
        for b in [1, 63, 64, 512] {
            assert_eq!(run(&notes, b, 44100 * 8, spb), reference, "block {b}");
        }
        for (i, n) in notes.iter().enumerate() {
            let want = (n.start * spb).round() as u64;
            assert!(reference.contains(&(want, true, n.pitch)), "note {i}");
        }
    }

    #[test]
    fn two_hits_of_a_key_on_one_sample_are_one_note() {
        let mut s = NoteScheduler::new();
        s.push(note(1.0, 1.25, 51));
        s.push(note(1.0, 1.5, 51));
        s.push(note(1.0, 1.25, 42));
        s.render(0.0, 0, 48000, 24000.0);
        let ev: Vec<_> = s.events().to_vec();
        let of = |k: u8| {
            ev.iter()
                .filter(|e| e.pitch == k)
                .map(|e| (e.timing, e.on))
                .collect::<Vec<_>>()
        };
        assert_eq!(of(51), vec![(24000, true), (36000, false)], "one hit, the longer end");
        assert_eq!(of(42), vec![(24000, true), (30000, false)]);
    }

    #[test]
    fn retrigger_and_release_all_keep_pairs() {
        let mut s = NoteScheduler::new();
        s.push(note(0.0, 4.0, 60));
        s.push(note(1.0, 2.0, 60));
        s.render(0.0, 0, 48000, 24000.0);
        let ev: Vec<_> = s.events().to_vec();
        s.clear_events();
        assert_eq!(ev.iter().filter(|e| e.on).count(), 2);
        assert_eq!(ev.iter().filter(|e| !e.on).count(), 1);
        s.release_all(0);
        assert_eq!(s.events().len(), 1);
        assert_eq!(s.sounding_len(), 0);
    }
}
