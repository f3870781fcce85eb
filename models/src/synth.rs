//! A small software synthesizer for audio previews of generated notes, so a producer can listen
//! without a DAW (`trainer generate --render out.wav`).
//!
//! [`Synth`] is realtime-safe, so the plugin can reuse it for a preview on the audio thread: its
//! voices are a fixed array of [`MAX_VOICES`] inside the struct (no heap at all), and
//! [`Synth::note_on`], [`Synth::note_off`], [`Synth::all_notes_off`], [`Synth::reset`] and
//! [`Synth::render`] never allocate, lock or do I/O. Their cost is bounded by the pool size (and
//! the block length for `render`): coefficients are computed once per note, at note-on.
//!
//! **Output is interleaved stereo `f32`** (`[l0, r0, l1, r1, ...]`): [`Synth::render`] overwrites
//! the buffer (it does not mix into it), and soft-clips the sum so that every sample lies in
//! [-1, 1].
//!
//! Sounds (voice DSP in `synth/voice.rs`), chosen per channel by its [`Program`]:
//! - [`Program::EPiano`] (every channel's default): a two-operator FM tone (electric piano), two
//!   carriers a few cents apart spread left/right, an ADSR envelope, a velocity-tracked one-pole
//!   low-pass. Lead, comping and piano parts;
//! - [`Program::Bass`]: a round bass, a sine self-modulated at ratio 1 with a low index that
//!   plucks bright and settles, a little second harmonic, two low-pass stages, centred, with a
//!   shorter decay and release. Bass parts (the e-piano's bright attack and long ring muddy a
//!   bass line);
//!
//! In both, one key sounds once per channel, as in MIDI;
//! - [`DRUM_CHANNEL`] (channel 10), General MIDI keys: kick (pitch-swept sine), snare and clap
//!   (noise + tone), closed, pedal and open hi-hat (808-style metal squares and high-passed noise,
//!   short or long; a closed or pedal hat chokes an open one), toms tuned by key, crash, ride and
//!   bell (long noisy metal), and a short pitched click for every other key. Drums are one-shots:
//!   their note-offs are ignored.
//!
//! When all voices sound, a note-on steals the oldest released voice, else the oldest voice (a
//! hard cut, acceptable for a preview). [`Synth::all_notes_off`] is a key up (tones release, drums
//! ring out, as at the end of a piece); [`Synth::choke_all`] is a stop (everything fades within
//! 0.12 s). Noise is a deterministic xorshift generator, so the same
//! notes always give the same samples. [`offline`] renders whole pieces (beats, tempo map) into a
//! buffer.

pub mod offline;
mod voice;

pub use offline::{render_notes, render_piece, seconds_at};

use voice::Voice;

/// Voices that sound at once; a note-on beyond that steals one.
pub const MAX_VOICES: usize = 32;
/// MIDI channel of General MIDI drums: channel 10, counted from 0.
pub const DRUM_CHANNEL: u8 = 9;
/// Gain applied to the sum of the voices before the soft clipper.
const MASTER_GAIN: f32 = 0.5;
/// Seed of the noise generator (any non-zero value).
const NOISE_SEED: u32 = 0x9E37_79B9;
/// Lowest and highest sample rates accepted, Hz (others are clamped).
const SAMPLE_RATE_RANGE: (f32, f32) = (8_000.0, 768_000.0);

/// The pitched sound of a channel ([`DRUM_CHANNEL`] plays drums whatever its program).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Program {
    /// A mellow two-operator FM electric piano: lead, comping and piano parts.
    #[default]
    EPiano,
    /// A round, plucked bass: bass parts.
    Bass,
}

/// Xorshift32 white noise (Marsaglia 2003): deterministic, one word of state.
#[derive(Debug, Clone, Copy)]
struct Noise(u32);

impl Noise {
    /// Uniform in [-1, 1).
    #[inline]
    fn next_f32(&mut self) -> f32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x as i32 as f32 * (1.0 / 2_147_483_648.0)
    }
}

/// A smooth saturator, linear near 0 and ±1 from ±3 on (a rational tanh approximation), never
/// beyond ±1.
#[inline]
fn soft_clip(x: f32) -> f32 {
    if x.is_nan() {
        return 0.0;
    }
    let x = x.clamp(-3.0, 3.0);
    // Rounding can land a hair past ±1 near ±3.
    (x * (27.0 + x * x) / (27.0 + 9.0 * x * x)).clamp(-1.0, 1.0)
}

/// The preview synthesizer: a fixed pool of [`MAX_VOICES`] voices. See the module docs.
#[derive(Debug, Clone)]
pub struct Synth {
    /// Sample rate, Hz; set at construction (or [`Synth::set_sample_rate`]).
    sample_rate: f32,
    /// The voice pool; written by note events and `render`, on the thread that owns the synth.
    voices: [Voice; MAX_VOICES],
    /// Note-ons so far: the serial of the next voice.
    serial: u64,
    /// Noise shared by the drum voices, advanced in voice order.
    noise: Noise,
    /// Program of each MIDI channel; set by [`Synth::set_program`], kept by [`Synth::reset`].
    programs: [Program; 16],
}

impl Synth {
    /// A silent synth at `sample_rate` Hz (clamped to 8-768 kHz; 44.1 kHz if not finite).
    pub fn new(sample_rate: f32) -> Synth {
        let mut s = Synth {
            sample_rate: 44_100.0,
            voices: [Voice::IDLE; MAX_VOICES],
            serial: 0,
            noise: Noise(NOISE_SEED),
            programs: [Program::EPiano; 16],
        };
        s.set_sample_rate(sample_rate);
        s
    }

    /// The sample rate in use, Hz.
    pub fn sample_rate(&self) -> f32 {
        self.sample_rate
    }

    /// Changes the sample rate; silences every voice ([`Synth::reset`]).
    pub fn set_sample_rate(&mut self, sample_rate: f32) {
        let (lo, hi) = SAMPLE_RATE_RANGE;
        self.sample_rate = if sample_rate.is_finite() {
            sample_rate.clamp(lo, hi)
        } else {
            44_100.0
        };
        self.reset();
    }

    /// Sets the sound of `channel` (0-15; higher bits are ignored) for its next notes; notes
    /// already sounding keep theirs. Never allocates.
    pub fn set_program(&mut self, channel: u8, program: Program) {
        self.programs[(channel & 0x0F) as usize] = program;
    }

    /// The sound of `channel` (0-15; higher bits are ignored).
    pub fn program(&self, channel: u8) -> Program {
        self.programs[(channel & 0x0F) as usize]
    }

    /// Starts a note: `channel` 0-15 ([`DRUM_CHANNEL`] plays General MIDI drums), `key` 0-127,
    /// `velocity` 1-127 (0 is a note-off, as in MIDI). A key above 127 is ignored. Never allocates.
    pub fn note_on(&mut self, channel: u8, key: u8, velocity: u8) {
        let channel = channel & 0x0F;
        if key > 127 {
            return;
        }
        if velocity == 0 {
            self.note_off(channel, key);
            return;
        }
        let drums = channel == DRUM_CHANNEL;
        if drums && matches!(key, 42 | 44) {
            for v in self.voices.iter_mut().filter(|v| v.channel == DRUM_CHANNEL) {
                v.choke_open_hat(self.sample_rate);
            }
        }
        if !drums {
            // One key sounds once per channel: a repeated key releases the one still held.
            for v in self.voices.iter_mut() {
                if v.held && v.channel == channel && v.key == key {
                    v.release();
                }
            }
        }
        let i = self.free_voice();
        self.serial += 1;
        self.voices[i] = if drums {
            Voice::drum(channel, key, velocity.min(127), self.serial, self.sample_rate)
        } else {
            let program = self.programs[channel as usize];
            Voice::pitched(program, channel, key, velocity.min(127), self.serial, self.sample_rate)
        };
    }

    /// Releases the held note `key` on `channel` (drums ring on). Never allocates.
    pub fn note_off(&mut self, channel: u8, key: u8) {
        let channel = channel & 0x0F;
        for v in self.voices.iter_mut() {
            if v.held && v.channel == channel && v.key == key {
                v.release();
            }
        }
    }

    /// Releases every held note; they fade out with their release, and drums ring out (the
    /// longest, a crash, in a few seconds). Never allocates.
    pub fn all_notes_off(&mut self) {
        for v in self.voices.iter_mut() {
            v.release();
        }
    }

    /// Fades every voice out, pitched or drum, within 0.12 s (a time constant of 12 ms, so no
    /// click): what a transport stop or a change of part should do. Never allocates.
    pub fn choke_all(&mut self) {
        for v in self.voices.iter_mut() {
            v.choke(self.sample_rate);
        }
    }

    /// Silences every voice at once and restarts the noise, as after construction (the
    /// channels keep their programs).
    pub fn reset(&mut self) {
        self.voices = [Voice::IDLE; MAX_VOICES];
        self.serial = 0;
        self.noise = Noise(NOISE_SEED);
    }

    /// Voices sounding (held, releasing or ringing).
    pub fn active_voices(&self) -> usize {
        self.voices.iter().filter(|v| !v.is_idle()).count()
    }

    /// `key` on `channel` still sounds (held, releasing or ringing).
    pub fn is_sounding(&self, channel: u8, key: u8) -> bool {
        let channel = channel & 0x0F;
        self.voices
            .iter()
            .any(|v| !v.is_idle() && v.channel == channel && v.key == key)
    }

    /// Renders `out.len() / 2` frames of interleaved stereo into `out`, overwriting it (an odd
    /// last sample is set to 0). Every sample is finite and within [-1, 1]. Never allocates.
    pub fn render(&mut self, out: &mut [f32]) {
        out.fill(0.0);
        let frames = out.len() / 2 * 2;
        let out = &mut out[..frames];
        for v in self.voices.iter_mut() {
            v.render_add(out, &mut self.noise);
        }
        for x in out.iter_mut() {
            *x = soft_clip(*x * MASTER_GAIN);
        }
    }

    /// The voice a new note takes: a free one, else the oldest released one, else the oldest.
    fn free_voice(&self) -> usize {
        let mut best = 0;
        let mut best_rank = (true, u64::MAX);
        for (i, v) in self.voices.iter().enumerate() {
            if v.is_idle() {
                return i;
            }
            let rank = (v.held, v.serial);
            if rank < best_rank {
                best = i;
                best_rank = rank;
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SR: f32 = 44_100.0;

    /// Renders `seconds` of audio.
    fn run(s: &mut Synth, seconds: f32) -> Vec<f32> {
        let mut out = vec![0.0; 2 * (seconds * s.sample_rate()) as usize];
        s.render(&mut out);
        out
    }

    fn peak(x: &[f32]) -> f32 {
        x.iter().fold(0.0, |m, v| m.max(v.abs()))
    }

    fn rms(x: &[f32]) -> f32 {
        (x.iter().map(|v| v * v).sum::<f32>() / x.len().max(1) as f32).sqrt()
    }

    /// Sign changes per sample of the left channel: a rough brightness measure.
    fn crossing_rate(x: &[f32]) -> f32 {
        let left: Vec<f32> = x.iter().step_by(2).copied().collect();
        let n = left.windows(2).filter(|w| (w[0] < 0.0) != (w[1] < 0.0)).count();
        n as f32 / left.len() as f32
    }

    fn assert_clean(x: &[f32]) {
        for (i, v) in x.iter().enumerate() {
            assert!(v.is_finite() && v.abs() <= 1.0, "sample {i} is {v}");
        }
    }

    #[test]
    fn a_note_is_audible_finite_and_bounded() {
        let mut s = Synth::new(SR);
        s.note_on(0, 60, 100);
        let out = run(&mut s, 0.5);
        assert_clean(&out);
        assert!(peak(&out) > 0.05, "peak {}", peak(&out));
        assert!(rms(&out) > 0.01, "rms {}", rms(&out));
        // Both channels sound.
        assert!(out.iter().step_by(2).any(|v| v.abs() > 0.01));
        assert!(out.iter().skip(1).step_by(2).any(|v| v.abs() > 0.01));
    }

    #[test]
    fn note_off_fades_to_silence_after_the_release() {
        let mut s = Synth::new(SR);
        s.note_on(0, 48, 90);
        run(&mut s, 0.3);
        s.note_off(0, 48);
        assert!(s.is_sounding(0, 48), "the release is still sounding");
        run(&mut s, 1.0);
        assert_eq!(s.active_voices(), 0);
        assert!(run(&mut s, 0.1).iter().all(|&v| v == 0.0));
    }

    #[test]
    fn a_held_note_keeps_sounding() {
        let mut s = Synth::new(SR);
        s.note_on(3, 72, 60);
        run(&mut s, 4.0);
        let late = run(&mut s, 0.2);
        assert!(rms(&late) > 0.005, "rms {}", rms(&late));
        assert_clean(&late);
    }

    #[test]
    fn the_kick_has_low_energy_and_the_hat_is_bright() {
        let mut s = Synth::new(SR);
        s.note_on(DRUM_CHANNEL, 36, 110);
        let kick = run(&mut s, 0.2);
        assert_clean(&kick);
        assert!(rms(&kick) > 0.05, "kick rms {}", rms(&kick));
        // The kick's note-off changes nothing: drums ring out.
        s.note_off(DRUM_CHANNEL, 36);
        assert!(s.is_sounding(DRUM_CHANNEL, 36));
        let mut s = Synth::new(SR);
        s.note_on(DRUM_CHANNEL, 42, 110);
        let hat = run(&mut s, 0.05);
        assert!(rms(&hat) > 0.005, "hat rms {}", rms(&hat));
        let (k, h) = (crossing_rate(&kick[..2 * 4410]), crossing_rate(&hat));
        assert!(h > 10.0 * k, "hat crossings {h} vs kick {k}");
    }

    #[test]
    fn every_drum_key_sounds_and_ends() {
        for key in 0..=127u8 {
            let mut s = Synth::new(22_050.0);
            s.note_on(DRUM_CHANNEL, key, 127);
            let hit = run(&mut s, 0.1);
            assert_clean(&hit);
            assert!(peak(&hit) > 0.01, "key {key}: peak {}", peak(&hit));
            let mut seconds = 0.0;
            while s.active_voices() > 0 && seconds < 8.0 {
                run(&mut s, 0.25);
                seconds += 0.25;
            }
            assert_eq!(s.active_voices(), 0, "key {key} rings on");
        }
    }

    #[test]
    fn a_closed_hat_chokes_the_open_one() {
        let mut s = Synth::new(SR);
        s.note_on(DRUM_CHANNEL, 46, 100);
        run(&mut s, 0.05);
        s.note_on(DRUM_CHANNEL, 42, 100);
        run(&mut s, 0.3);
        assert!(!s.is_sounding(DRUM_CHANNEL, 46));
    }

    #[test]
    fn all_notes_off_leaks_no_voice() {
        let mut s = Synth::new(SR);
        for k in 0..20 {
            s.note_on(k % 4, 40 + k, 100);
        }
        for k in [36, 38, 42, 46, 49, 51] {
            s.note_on(DRUM_CHANNEL, k, 100);
        }
        let loud = run(&mut s, 0.1);
        assert_clean(&loud);
        assert_eq!(s.active_voices(), 26);
        s.all_notes_off();
        run(&mut s, 8.0);
        assert_eq!(s.active_voices(), 0);
        assert!(run(&mut s, 0.05).iter().all(|&v| v == 0.0));
    }

    #[test]
    fn a_full_pool_steals_the_oldest_voice() {
        let mut s = Synth::new(SR);
        let extra = 8;
        for k in 0..(MAX_VOICES + extra) as u8 {
            s.note_on(0, 30 + k, 100);
        }
        assert_eq!(s.active_voices(), MAX_VOICES);
        for k in 0..(MAX_VOICES + extra) as u8 {
            assert_eq!(s.is_sounding(0, 30 + k), k as usize >= extra, "key {}", 30 + k);
        }
        // A released voice goes before any held one, however young.
        let young = 30 + (MAX_VOICES + extra) as u8 - 1;
        s.note_off(0, young);
        s.note_on(1, 100, 100);
        assert!(!s.is_sounding(0, young));
        assert!(s.is_sounding(0, 30 + extra as u8) && s.is_sounding(1, 100));
        // Loud and many, still within [-1, 1].
        assert_clean(&run(&mut s, 0.3));
    }

    #[test]
    fn a_repeated_key_releases_the_held_one() {
        let mut s = Synth::new(SR);
        s.note_on(0, 60, 100);
        s.note_on(0, 60, 100);
        assert_eq!(s.active_voices(), 2);
        s.note_off(0, 60);
        run(&mut s, 1.0);
        assert_eq!(s.active_voices(), 0);
    }

    #[test]
    fn rendering_is_deterministic_and_reset_restarts_it() {
        let play = |s: &mut Synth| {
            s.note_on(DRUM_CHANNEL, 38, 100);
            s.note_on(0, 64, 80);
            run(s, 0.2)
        };
        let mut a = Synth::new(SR);
        let first = play(&mut a);
        assert_eq!(first, play(&mut Synth::new(SR)));
        a.reset();
        assert_eq!(a.active_voices(), 0);
        assert_eq!(first, play(&mut a));
    }

    /// Amplitude-weighted mean harmonic number of the left channel of `x` for a note at `hz`
    /// (harmonics 1-24 measured one by one through a Hann window).
    fn harmonic_centroid(x: &[f32], hz: f32, sample_rate: f32) -> f32 {
        let left: Vec<f32> = x.iter().step_by(2).copied().collect();
        let n = left.len() as f32;
        let (mut weighted, mut total) = (0.0, 0.0);
        for h in 1..=24 {
            let w = std::f32::consts::TAU * h as f32 * hz / sample_rate;
            let (mut re, mut im) = (0.0f32, 0.0f32);
            for (i, v) in left.iter().enumerate() {
                let hann = 0.5 - 0.5 * (std::f32::consts::TAU * i as f32 / n).cos();
                re += v * hann * (w * i as f32).cos();
                im += v * hann * (w * i as f32).sin();
            }
            let a = (re * re + im * im).sqrt();
            weighted += h as f32 * a;
            total += a;
        }
        weighted / total
    }

    #[test]
    fn the_bass_is_rounder_than_the_epiano() {
        for key in [33u8, 40, 48] {
            let hz = 440.0 * ((key as f32 - 69.0) / 12.0).exp2();
            let mut centroids = [0.0; 2];
            for (c, program) in centroids.iter_mut().zip([Program::EPiano, Program::Bass]) {
                let mut s = Synth::new(SR);
                s.set_program(2, program);
                s.note_on(2, key, 100);
                // The pluck, where an e-piano is brightest.
                let out = run(&mut s, 0.15);
                assert_clean(&out);
                assert!(rms(&out) > 0.02, "{program:?} key {key}: rms {}", rms(&out));
                *c = harmonic_centroid(&out, hz, SR);
            }
            let [epiano, bass] = centroids;
            eprintln!("key {key}: harmonic centroid e-piano {epiano:.2}, bass {bass:.2}");
            // 1 is a pure sine: the bass has less than half the e-piano's overtones above it.
            assert!(bass < 1.5, "key {key}: the bass is not round ({bass:.2})");
            assert!(
                bass - 1.0 < 0.4 * (epiano - 1.0),
                "key {key}: bass {bass:.2} vs e-piano {epiano:.2}"
            );
        }
    }

    #[test]
    fn the_bass_is_centred_decays_sooner_and_releases_faster() {
        let shape = |program: Program| {
            let mut s = Synth::new(SR);
            s.set_program(0, program);
            s.note_on(0, 40, 100);
            let early = run(&mut s, 0.1);
            run(&mut s, 0.5);
            let late = run(&mut s, 0.1);
            s.note_off(0, 40);
            run(&mut s, 0.5);
            let decay = rms(&late) / rms(&early);
            (early, decay, s.active_voices())
        };
        let (bass, bass_decay, bass_left) = shape(Program::Bass);
        let (_, epiano_decay, epiano_left) = shape(Program::EPiano);
        assert!(bass.chunks_exact(2).all(|f| f[0] == f[1]), "the bass is not centred");
        assert!(
            bass_decay < 0.8 * epiano_decay,
            "bass keeps {bass_decay:.2} of its level after 0.6 s, the e-piano {epiano_decay:.2}"
        );
        assert_eq!(
            (bass_left, epiano_left),
            (0, 1),
            "0.5 s after key up: bass gone, e-piano still ringing"
        );
    }

    #[test]
    fn programs_are_per_channel_and_survive_reset() {
        let mut s = Synth::new(SR);
        assert_eq!(s.program(5), Program::EPiano);
        s.set_program(1, Program::Bass);
        s.set_program(DRUM_CHANNEL, Program::Bass);
        s.reset();
        assert_eq!(s.program(1), Program::Bass);
        assert_eq!(s.program(1 + 16), Program::Bass, "channels wrap as in note_on");
        // Channel 0 and the drums sound as in a synth that never heard of programs.
        let play = |s: &mut Synth| {
            s.note_on(0, 60, 90);
            s.note_on(DRUM_CHANNEL, 38, 100);
            run(s, 0.2)
        };
        assert_eq!(play(&mut s), play(&mut Synth::new(SR)));
        // A program change leaves a sounding note as it is.
        let mut a = Synth::new(SR);
        let mut b = Synth::new(SR);
        a.note_on(1, 40, 90);
        b.note_on(1, 40, 90);
        b.set_program(1, Program::Bass);
        assert_eq!(run(&mut a, 0.1), run(&mut b, 0.1));
    }

    #[test]
    fn choke_all_silences_everything_within_a_tenth_of_a_second() {
        let mut s = Synth::new(SR);
        s.set_program(1, Program::Bass);
        s.note_on(0, 60, 100);
        s.note_on(1, 36, 100);
        for k in [46, 49, 51, 53] {
            s.note_on(DRUM_CHANNEL, k, 120);
        }
        let before = run(&mut s, 0.05);
        s.choke_all();
        let fade = run(&mut s, 0.12);
        assert_clean(&fade);
        assert_eq!(s.active_voices(), 0);
        assert!(run(&mut s, 0.05).iter().all(|&v| v == 0.0));
        // A fade, not a cut: the first sample after the choke follows on from the last before.
        let (last, first) = (before[before.len() - 2], fade[0]);
        assert!((last - first).abs() < 0.1, "jump {last} -> {first}");
    }

    #[test]
    fn odd_buffers_and_odd_arguments_are_harmless() {
        let mut s = Synth::new(f32::NAN);
        assert_eq!(s.sample_rate(), 44_100.0);
        s.note_on(200, 255, 255);
        s.note_on(0, 60, 0);
        assert_eq!(s.active_voices(), 0);
        s.note_on(0, 127, 127);
        let mut out = vec![1.0; 7];
        s.render(&mut out);
        assert_eq!(out[6], 0.0);
        assert_clean(&out);
        assert_eq!(soft_clip(3.0), 1.0);
        assert_eq!(soft_clip(-1e9), -1.0);
        assert!((soft_clip(0.1) - 0.1).abs() < 1e-3);
    }
}
