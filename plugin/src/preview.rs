//! The built-in preview sound: Sideman's own notes, played by [`models::synth::Synth`] on the
//! plugin's audio output.
//!
//! Sideman is a MIDI generator, so a new user who puts it on a track and presses play would hear
//! nothing until its MIDI reached an instrument. The preview makes it audible at once, on every
//! host; "Preview sound" turns it off once the MIDI is routed (the parameter stays on by default).
//!
//! - **Same notes, same samples.** `process()` hands [`Preview::process`] the block's scheduler
//!   events (the ones it then sends to the host) before they are cleared. The block is rendered in
//!   segments split at each event's `timing`, so a note starts on the very sample of its NoteOn.
//! - **The role picks the sound, not the MIDI channel.** Drums play the synth's General MIDI kit on
//!   [`DRUM_CHANNEL`], bass the round [`Program::Bass`], lead, comping and piano the electric
//!   piano, whatever MIDI channel the notes go out on (a user's "drums on channel 1" still sounds
//!   like drums).
//! - **Stops are prompt.** A transport stop, bypass or role change chokes every voice (silent
//!   within 0.12 s, drums included, see [`Synth::choke_all`]); deactivate and reset silence it at
//!   once. The scheduler's own NoteOffs end notes within a performance (a loop wrap, a seek).
//! - **Off is silent.** With the parameter off nothing is rendered: the output keeps the zeros
//!   `process()` wrote, and the synth is reset, so no stale voice sounds when it is turned back on.
//!   A level change is ramped over the block (no zipper noise).
//! - **Realtime-safe.** The synth's voices are a fixed array; rendering goes through a scratch
//!   buffer on the stack ([`SCRATCH_FRAMES`] frames). Nothing here allocates, locks, logs or
//!   panics after [`Preview::new`]; the audio thread owns the struct.

use models::synth::{DRUM_CHANNEL, Program, Synth};

use crate::params::RoleParam;
use crate::schedule::OutEvent;

/// Frames rendered at a time into the stack scratch buffer.
pub const SCRATCH_FRAMES: usize = 128;
/// Synth channel of the electric piano (lead, comping, piano).
const EPIANO_CHANNEL: u8 = 0;
/// Synth channel of the bass.
const BASS_CHANNEL: u8 = 1;
/// Sample rate until [`Preview::set_sample_rate`], Hz.
const DEFAULT_SAMPLE_RATE: f32 = 44_100.0;

/// What one block of the preview depends on besides its events: parameters and transport, read
/// by the audio thread at the start of the block.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PreviewBlock {
    /// "Preview sound" is on.
    pub enabled: bool,
    /// "Preview level", dB.
    pub level_db: f32,
    /// The role whose notes these are.
    pub role: RoleParam,
    /// The transport plays and the plugin is not bypassed (the block's notes are music).
    pub playing: bool,
}

/// The preview synth and what it remembers between blocks. Lives on the audio thread.
#[derive(Debug, Clone)]
pub struct Preview {
    /// The synth: written by [`Preview::process`] (audio thread), and by
    /// [`Preview::set_sample_rate`] (in `activate()`).
    synth: Synth,
    /// Linear gain at the end of the last block (the start of the next one's ramp); 0 while off.
    gain: f32,
    /// The last block was on.
    was_enabled: bool,
    /// The last block's role.
    role: RoleParam,
    /// The last block played.
    was_playing: bool,
}

impl Default for Preview {
    fn default() -> Self {
        Preview::new(DEFAULT_SAMPLE_RATE)
    }
}

impl Preview {
    /// A silent preview at `sample_rate` Hz.
    pub fn new(sample_rate: f32) -> Preview {
        let mut synth = Synth::new(sample_rate);
        synth.set_program(EPIANO_CHANNEL, Program::EPiano);
        synth.set_program(BASS_CHANNEL, Program::Bass);
        Preview {
            synth,
            gain: 0.0,
            was_enabled: false,
            role: RoleParam::Lead,
            was_playing: false,
        }
    }

    /// Sets the sample rate (in `activate()`); silences everything.
    pub fn set_sample_rate(&mut self, sample_rate: f32) {
        self.synth.set_sample_rate(sample_rate);
        self.reset();
    }

    /// Silences everything at once (deactivate, reset). Never allocates.
    pub fn reset(&mut self) {
        self.synth.reset();
        self.was_playing = false;
    }

    /// Voices still sounding (for tests and meters).
    pub fn active_voices(&self) -> usize {
        self.synth.active_voices()
    }

    /// Renders one block into `out` (one slice per output channel, all as long as the block, all
    /// zeros on entry): the notes of `events` (sorted by `timing`, as the scheduler gives them)
    /// start and end on their samples. One channel gets the mean of left and right, two get them,
    /// further channels stay silent; with none, or with the preview off, nothing is written.
    /// Never allocates.
    pub fn process(&mut self, out: &mut [&mut [f32]], events: &[OutEvent], block: PreviewBlock) {
        if !block.enabled {
            if self.was_enabled {
                self.synth.reset();
            }
            self.was_enabled = false;
            self.gain = 0.0;
            self.role = block.role;
            self.was_playing = block.playing;
            return;
        }
        let target = db_to_gain(block.level_db);
        if !self.was_enabled {
            // Nothing sounds yet (the synth was reset): no ramp needed.
            self.gain = target;
        }
        self.was_enabled = true;
        if block.role != self.role || (self.was_playing && !block.playing) {
            // A new part, or the music stopped: fade out what sounds (drums included); the
            // scheduler's NoteOffs would leave the drums ringing, and after a role change they
            // would go to the new role's channel.
            self.synth.choke_all();
        }
        self.role = block.role;
        self.was_playing = block.playing;

        let len = out.iter().map(|c| c.len()).min().unwrap_or(0);
        if len == 0 || (events.is_empty() && self.synth.active_voices() == 0) {
            self.gain = target;
            return;
        }
        let channel = synth_channel(block.role);
        let ramp = Ramp {
            from: self.gain,
            step: (target - self.gain) / len as f32,
        };
        let mut at = 0;
        for e in events {
            let t = (e.timing as usize).min(len);
            if t > at {
                self.render(out, at, t, ramp);
                at = t;
            }
            if e.on {
                let velocity = (e.velocity.clamp(0.0, 1.0) * 127.0).round().max(1.0) as u8;
                self.synth.note_on(channel, e.pitch.min(127), velocity);
            } else {
                self.synth.note_off(channel, e.pitch.min(127));
            }
        }
        if at < len {
            self.render(out, at, len, ramp);
        }
        self.gain = target;
    }

    /// Renders frames `from..to` of the block into `out`, through the stack scratch buffer.
    fn render(&mut self, out: &mut [&mut [f32]], from: usize, to: usize, ramp: Ramp) {
        let mut scratch = [0.0f32; 2 * SCRATCH_FRAMES];
        let mut start = from;
        while start < to {
            let n = (to - start).min(SCRATCH_FRAMES);
            let frames = &mut scratch[..2 * n];
            self.synth.render(frames);
            match out {
                [] => {}
                [mono] => {
                    for (i, f) in frames.chunks_exact(2).enumerate() {
                        mono[start + i] = 0.5 * (f[0] + f[1]) * ramp.at(start + i);
                    }
                }
                [left, right, ..] => {
                    for (i, f) in frames.chunks_exact(2).enumerate() {
                        let g = ramp.at(start + i);
                        left[start + i] = f[0] * g;
                        right[start + i] = f[1] * g;
                    }
                }
            }
            start += n;
        }
    }
}

/// A linear gain ramp over a block.
#[derive(Debug, Clone, Copy)]
struct Ramp {
    /// Gain at frame 0.
    from: f32,
    /// Change per frame.
    step: f32,
}

impl Ramp {
    /// Gain at `frame`.
    #[inline]
    fn at(self, frame: usize) -> f32 {
        self.from + self.step * frame as f32
    }
}

/// The synth channel a role's notes play on.
fn synth_channel(role: RoleParam) -> u8 {
    match role {
        RoleParam::Drums => DRUM_CHANNEL,
        RoleParam::Bass => BASS_CHANNEL,
        RoleParam::Lead | RoleParam::Comping | RoleParam::Piano => EPIANO_CHANNEL,
    }
}

/// Linear gain of `db` decibels (0 for anything that is not a finite number).
fn db_to_gain(db: f32) -> f32 {
    if db.is_finite() {
        10f32.powf(db.min(24.0) / 20.0)
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SR: f32 = 48_000.0;

    fn on(timing: u32, pitch: u8) -> OutEvent {
        OutEvent {
            timing,
            on: true,
            pitch,
            channel: 4,
            velocity: 0.8,
        }
    }

    fn off(timing: u32, pitch: u8) -> OutEvent {
        OutEvent {
            timing,
            on: false,
            pitch,
            channel: 4,
            velocity: 0.0,
        }
    }

    fn block(role: RoleParam) -> PreviewBlock {
        PreviewBlock {
            enabled: true,
            level_db: -6.0,
            role,
            playing: true,
        }
    }

    /// Runs `blocks` blocks of `len` stereo frames; `events(i)` gives block i's events.
    fn run(
        p: &mut Preview,
        blocks: usize,
        len: usize,
        b: PreviewBlock,
        events: impl Fn(usize) -> Vec<OutEvent>,
    ) -> [Vec<f32>; 2] {
        let mut all = [Vec::new(), Vec::new()];
        for i in 0..blocks {
            let (mut l, mut r) = (vec![0.0; len], vec![0.0; len]);
            p.process(&mut [&mut l[..], &mut r[..]], &events(i), b);
            all[0].extend(l);
            all[1].extend(r);
        }
        all
    }

    #[test]
    fn notes_start_and_end_on_their_samples_as_the_synth_plays_them() {
        // The reference: the synth itself, notes played between renders of the same lengths.
        let gain = db_to_gain(-6.0);
        let mut synth = Synth::new(SR);
        let mut want = vec![0.0; 2 * 1000];
        synth.render(&mut want[..2 * 300]);
        synth.note_on(EPIANO_CHANNEL, 60, 102);
        synth.note_on(EPIANO_CHANNEL, 64, 102);
        synth.render(&mut want[2 * 300..2 * 701]);
        synth.note_off(EPIANO_CHANNEL, 60);
        synth.render(&mut want[2 * 701..]);

        let mut p = Preview::new(SR);
        let [l, r] = run(&mut p, 1, 1000, block(RoleParam::Comping), |_| {
            vec![on(300, 60), on(300, 64), off(701, 60)]
        });
        assert!(
            l[..300].iter().chain(&r[..300]).all(|&x| x == 0.0),
            "sound before the NoteOn"
        );
        assert!(l[300..305].iter().any(|&x| x != 0.0), "the note starts late");
        for i in 0..1000 {
            assert_eq!(l[i], want[2 * i] * gain, "left {i}");
            assert_eq!(r[i], want[2 * i + 1] * gain, "right {i}");
        }
    }

    #[test]
    fn block_size_does_not_change_the_sound() {
        let events = [on(10, 48), on(700, 55), off(1500, 48), on(3000, 60), off(3900, 55)];
        let at = |len: usize| {
            move |i: usize| -> Vec<OutEvent> {
                let (start, end) = ((i * len) as u32, ((i + 1) * len) as u32);
                events
                    .iter()
                    .filter(|e| e.timing >= start && e.timing < end)
                    .map(|e| OutEvent {
                        timing: e.timing - start,
                        ..*e
                    })
                    .collect()
            }
        };
        let reference = run(&mut Preview::new(SR), 1, 4096, block(RoleParam::Lead), at(4096));
        for len in [1usize, 63, 64, 128, 129, 512] {
            let got = run(&mut Preview::new(SR), 4096 / len, len, block(RoleParam::Lead), at(len));
            let n = got[0].len();
            assert_eq!(got[0][..], reference[0][..n], "block {len}");
            assert_eq!(got[1][..], reference[1][..n], "block {len}");
        }
    }

    #[test]
    fn the_role_picks_the_sound() {
        for (role, channel, program) in [
            (RoleParam::Lead, EPIANO_CHANNEL, Program::EPiano),
            (RoleParam::Comping, EPIANO_CHANNEL, Program::EPiano),
            (RoleParam::Piano, EPIANO_CHANNEL, Program::EPiano),
            (RoleParam::Bass, BASS_CHANNEL, Program::Bass),
            (RoleParam::Drums, DRUM_CHANNEL, Program::EPiano),
        ] {
            let mut p = Preview::new(SR);
            let [l, _] = run(&mut p, 1, 2048, block(role), |_| vec![on(0, 38)]);
            assert!(p.synth.is_sounding(channel, 38), "{role:?}");
            assert_eq!(p.synth.program(channel), program, "{role:?}");
            let rms = (l.iter().map(|x| x * x).sum::<f32>() / l.len() as f32).sqrt();
            assert!(rms > 1e-3, "{role:?}: rms {rms}");
        }
    }

    #[test]
    fn off_is_exact_silence_and_forgets_what_sounded() {
        let mut p = Preview::new(SR);
        run(&mut p, 1, 512, block(RoleParam::Lead), |_| vec![on(0, 60)]);
        assert_eq!(p.active_voices(), 1);
        let quiet = PreviewBlock {
            enabled: false,
            ..block(RoleParam::Lead)
        };
        let [l, r] = run(&mut p, 4, 512, quiet, |_| vec![on(5, 62), off(9, 60)]);
        assert!(l.iter().chain(&r).all(|&x| x == 0.0));
        assert_eq!(p.active_voices(), 0, "the synth is reset");
        // Back on: silent until a new note.
        let [l, _] = run(&mut p, 1, 512, block(RoleParam::Lead), |_| vec![on(100, 64)]);
        assert!(l[..100].iter().all(|&x| x == 0.0));
        assert!(l[100..].iter().any(|&x| x != 0.0));
    }

    #[test]
    fn a_stop_or_a_role_change_fades_everything_out_promptly() {
        let tail = |change: PreviewBlock| {
            let mut p = Preview::new(SR);
            // A held chord, a long crash.
            run(&mut p, 4, 512, block(RoleParam::Drums), |i| {
                if i == 0 { vec![on(0, 49), on(0, 36)] } else { vec![] }
            });
            let [l, _] = run(&mut p, 20, 512, change, |_| vec![]);
            let last = l.iter().rposition(|&x| x != 0.0).unwrap_or(0);
            (last as f32 / SR, p.active_voices())
        };
        let stopped = PreviewBlock {
            playing: false,
            ..block(RoleParam::Drums)
        };
        for (what, b) in [("stop", stopped), ("role change", block(RoleParam::Bass))] {
            let (seconds, voices) = tail(b);
            assert!(seconds < 0.13, "{what}: sound {seconds} s after it");
            assert_eq!(voices, 0, "{what}");
        }
    }

    #[test]
    fn level_scales_and_channel_layouts_are_handled() {
        let events = |_| vec![on(0, 57)];
        let loud = run(&mut Preview::new(SR), 1, 512, block(RoleParam::Lead), events);
        let soft = PreviewBlock {
            level_db: -26.0,
            ..block(RoleParam::Lead)
        };
        let quiet = run(&mut Preview::new(SR), 1, 512, soft, events);
        for (a, b) in loud[0].iter().zip(&quiet[0]) {
            assert!((a * 0.1 - b).abs() < 1e-6, "{a} {b}");
        }
        // Mono: the mean of left and right.
        let mut mono = vec![0.0; 512];
        Preview::new(SR).process(&mut [&mut mono[..]], &events(0), block(RoleParam::Lead));
        for i in 0..512 {
            assert!((mono[i] - 0.5 * (loud[0][i] + loud[1][i])).abs() < 1e-7);
        }
        // No channels, an empty block, odd timings: nothing happens, nothing panics.
        let mut p = Preview::new(SR);
        p.process(&mut [], &events(0), block(RoleParam::Lead));
        p.process(
            &mut [&mut [][..], &mut [][..]],
            &[on(u32::MAX, 60)],
            block(RoleParam::Lead),
        );
        let mut l = [0.0; 8];
        let mut r = [0.0; 8];
        let mut third = [0.0; 8];
        p.process(
            &mut [&mut l[..], &mut r[..], &mut third[..]],
            &[on(99, 60)],
            block(RoleParam::Lead),
        );
        assert!(third.iter().all(|&x| x == 0.0));
        assert_eq!(db_to_gain(f32::NAN), 0.0);
    }

    #[test]
    fn a_level_change_is_ramped_over_the_block() {
        let mut p = Preview::new(SR);
        run(&mut p, 4, 512, block(RoleParam::Lead), |i| {
            if i == 0 { vec![on(0, 60)] } else { vec![] }
        });
        let mut same = p.clone();
        let softer = PreviewBlock {
            level_db: -46.0,
            ..block(RoleParam::Lead)
        };
        let [l, _] = run(&mut p, 1, 512, softer, |_| vec![]);
        let [c, _] = run(&mut same, 1, 512, block(RoleParam::Lead), |_| vec![]);
        // From the old gain at the first sample (a jump to 1 % would click) to the new one.
        let (from, to) = (db_to_gain(-6.0), db_to_gain(-46.0));
        for i in [0, 100, 256, 511] {
            let want = c[i] * (from + (to - from) * i as f32 / 512.0) / from;
            assert!((l[i] - want).abs() < 1e-6, "frame {i}: {} vs {want}", l[i]);
        }
        assert!(c[511].abs() > 1e-3, "the note still sounds");
    }
}
