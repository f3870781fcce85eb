//! The voices of [`super::Synth`]: a two-operator FM electric piano and a round FM bass for pitched
//! notes (the channel's [`Program`]), and one parametric drum model (swept sine body + filtered
//! noise or metallic squares) for every General MIDI drum.
//!
//! Everything here is `Copy` and allocation-free. Every coefficient (frequencies as phase steps,
//! exponential decays as per-sample multipliers, filter coefficients) is computed once at note-on,
//! so rendering a sample is a few multiply-adds and at most three `sin` calls per voice.

use std::f32::consts::{FRAC_PI_4, TAU};

use super::{Noise, Program};

/// Level at which a decaying voice counts as silent (-80 dB) and frees itself.
pub(super) const SILENCE: f32 = 1e-4;

/// Detuning of the tone's second carrier (about +4 cents): a slow chorus, spread left/right.
const TONE_DETUNE: f32 = 1.0023;
/// FM index (radians) that stays while a note is held, after the bright attack has decayed.
const TONE_INDEX_FLOOR: f32 = 0.25;
/// Tone attack, seconds (linear).
const TONE_ATTACK_S: f32 = 0.003;
/// Level the tone decays to while held (fraction of the peak).
const TONE_SUSTAIN: f32 = 0.3;
/// Tone release time constant, seconds (silent after about 9 of them).
const TONE_RELEASE_S: f32 = 0.08;
/// Bass FM index at full velocity, at the pluck (radians, above [`BASS_INDEX_FLOOR`]).
const BASS_INDEX: f32 = 0.8;
/// Bass FM index that stays while a note is held: a little warmth, no buzz.
const BASS_INDEX_FLOOR: f32 = 0.15;
/// How fast the bass pluck's brightness decays, seconds (time constant).
const BASS_INDEX_S: f32 = 0.07;
/// Level of the bass's second harmonic (a sine an octave up), relative to the fundamental.
const BASS_SECOND: f32 = 0.15;
/// Bass attack, seconds (linear): fast enough to pluck, slow enough not to click.
const BASS_ATTACK_S: f32 = 0.002;
/// Level the bass decays to while held (fraction of the peak).
const BASS_SUSTAIN: f32 = 0.3;
/// Bass decay time constant towards the sustain level, seconds.
const BASS_DECAY_S: f32 = 0.3;
/// Bass release time constant, seconds.
const BASS_RELEASE_S: f32 = 0.05;
/// Bass level relative to the electric piano's (low notes sound quieter at the same amplitude).
const BASS_LEVEL: f32 = 1.25;
/// How fast a choked voice dies (an open hi-hat hit by a closed one, or every voice on
/// [`super::Synth::choke_all`]), seconds (time constant): silent within 0.12 s, without a click.
const CHOKE_S: f32 = 0.012;
/// The six square-wave frequencies of the TR-808 cymbal/hi-hat "metal" oscillator, Hz.
const METAL_HZ: [f32; 6] = [205.3, 304.4, 369.6, 522.7, 540.0, 800.0];

/// Per-sample multiplier of an exponential decay with time constant `tau_s`.
fn decay_coef(tau_s: f32, sample_rate: f32) -> f32 {
    (-1.0 / (tau_s * sample_rate).max(1.0)).exp()
}

/// Coefficient of a one-pole low-pass at `hz` (`y += c * (x - y)`).
fn low_pass_coef(hz: f32, sample_rate: f32) -> f32 {
    1.0 - (-TAU * hz.min(0.45 * sample_rate) / sample_rate).exp()
}

/// Coefficient of a one-pole high-pass at `hz` (`y = c * (y + x - x_prev)`).
fn high_pass_coef(hz: f32, sample_rate: f32) -> f32 {
    let rc = 1.0 / (TAU * hz.max(1.0));
    rc / (rc + 1.0 / sample_rate)
}

/// Advances a phase in turns, wrapped to `[0, 1)` (steps are below 0.5).
#[inline]
fn advance(phase: &mut f32, step: f32) {
    *phase += step;
    if *phase >= 1.0 {
        *phase -= 1.0;
    }
}

/// Loudness of a MIDI velocity: a soft square law, so ghost notes stay quiet.
fn velocity_gain(velocity: u8) -> f32 {
    let x = velocity.min(127) as f32 / 127.0;
    x * (0.35 + 0.65 * x)
}

/// Constant-power left/right gains for `pan` in [-1 (left), 1 (right)], times `level`.
fn pan_gain(pan: f32, level: f32) -> [f32; 2] {
    let angle = (pan.clamp(-1.0, 1.0) + 1.0) * FRAC_PI_4;
    [angle.cos() * level, angle.sin() * level]
}

/// One slot of the voice pool.
#[derive(Debug, Clone, Copy)]
pub(super) struct Voice {
    /// MIDI channel 0-15 of the note.
    pub channel: u8,
    /// MIDI key of the note.
    pub key: u8,
    /// The key is still down (pitched notes only: drums are one-shots and never held).
    pub held: bool,
    /// Note-on counter value when it started: the oldest voice is stolen first.
    pub serial: u64,
    /// Left/right gain: velocity and pan.
    gain: [f32; 2],
    /// What it plays.
    sound: Sound,
}

/// What a voice plays.
#[derive(Debug, Clone, Copy)]
enum Sound {
    /// Free.
    Idle,
    /// A pitched note, electric piano.
    Tone(Tone),
    /// A pitched note, bass.
    Bass(Bass),
    /// A drum hit.
    Drum(Drum),
}

impl Voice {
    /// A free voice.
    pub const IDLE: Voice = Voice {
        channel: 0,
        key: 0,
        held: false,
        serial: 0,
        gain: [0.0; 2],
        sound: Sound::Idle,
    };

    /// A pitched note of `program`, held.
    pub fn pitched(program: Program, channel: u8, key: u8, velocity: u8, serial: u64, sample_rate: f32) -> Voice {
        let (gain, sound) = match program {
            Program::EPiano => {
                // Low notes a little left, high notes a little right, as on a piano seen from the
                // bench.
                let pan = (key as f32 - 64.0) / 64.0 * 0.3;
                (
                    pan_gain(pan, velocity_gain(velocity)),
                    Sound::Tone(Tone::new(key, velocity, sample_rate)),
                )
            }
            // Centred, as a bass is mixed.
            Program::Bass => (
                pan_gain(0.0, BASS_LEVEL * velocity_gain(velocity)),
                Sound::Bass(Bass::new(key, velocity, sample_rate)),
            ),
        };
        Voice {
            channel,
            key,
            held: true,
            serial,
            gain,
            sound,
        }
    }

    /// A drum hit (General MIDI key).
    pub fn drum(channel: u8, key: u8, velocity: u8, serial: u64, sample_rate: f32) -> Voice {
        let kind = DrumKind::of_key(key);
        let spec = kind.spec(key);
        Voice {
            channel,
            key,
            held: false,
            serial,
            gain: pan_gain(spec.pan, velocity_gain(velocity)),
            sound: Sound::Drum(Drum::new(kind, &spec, sample_rate)),
        }
    }

    /// The voice is free.
    pub fn is_idle(&self) -> bool {
        matches!(self.sound, Sound::Idle)
    }

    /// Key up: a pitched note starts its release; a drum rings on.
    pub fn release(&mut self) {
        self.held = false;
        match &mut self.sound {
            Sound::Tone(t) => t.env.release(),
            Sound::Bass(b) => b.env.release(),
            Sound::Idle | Sound::Drum(_) => {}
        }
    }

    /// Fades the voice out within 0.12 s, whatever it plays (a stop, not a key up).
    pub fn choke(&mut self, sample_rate: f32) {
        self.held = false;
        let coef = decay_coef(CHOKE_S, sample_rate);
        match &mut self.sound {
            Sound::Idle => {}
            Sound::Tone(t) => t.env.choke(coef),
            Sound::Bass(b) => b.env.choke(coef),
            Sound::Drum(d) => {
                d.noise_coef = d.noise_coef.min(coef);
                d.body_coef = d.body_coef.min(coef);
            }
        }
    }

    /// Silences an open hi-hat quickly (a closed or pedal hi-hat was hit).
    pub fn choke_open_hat(&mut self, sample_rate: f32) {
        if let Sound::Drum(d) = &mut self.sound
            && d.kind == DrumKind::OpenHat
        {
            d.noise_coef = decay_coef(CHOKE_S, sample_rate);
            d.body_coef = d.noise_coef;
        }
    }

    /// Adds the voice into interleaved stereo `out`; frees the voice when it has decayed.
    pub fn render_add(&mut self, out: &mut [f32], noise: &mut Noise) {
        let alive = match &mut self.sound {
            Sound::Idle => return,
            Sound::Tone(t) => t.render_add(out, self.gain),
            Sound::Bass(b) => b.render_add(out, self.gain),
            Sound::Drum(d) => d.render_add(out, self.gain, noise),
        };
        if !alive {
            *self = Voice::IDLE;
        }
    }
}

/// Envelope stage of a pitched note.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Rising linearly to 1.
    Attack,
    /// Falling exponentially towards the sustain level while held.
    Decay,
    /// Falling exponentially towards 0 after key up.
    Release,
}

/// The amplitude envelope of a pitched note: a linear attack to 1, an exponential decay towards
/// the sustain level while held, an exponential release after key up.
#[derive(Debug, Clone, Copy)]
struct Envelope {
    /// Level.
    level: f32,
    /// Stage.
    stage: Stage,
    /// Attack increment per sample.
    attack_step: f32,
    /// Level the decay tends to.
    sustain: f32,
    /// Decay multiplier per sample (of the distance to the sustain level).
    decay_coef: f32,
    /// Release multiplier per sample.
    release_coef: f32,
}

impl Envelope {
    /// An envelope at 0, attacking; times in seconds (the decay and release are time constants).
    fn new(attack_s: f32, decay_s: f32, sustain: f32, release_s: f32, sample_rate: f32) -> Envelope {
        Envelope {
            level: 0.0,
            stage: Stage::Attack,
            attack_step: 1.0 / (attack_s * sample_rate).max(1.0),
            sustain,
            decay_coef: decay_coef(decay_s, sample_rate),
            release_coef: decay_coef(release_s, sample_rate),
        }
    }

    /// Key up.
    fn release(&mut self) {
        self.stage = Stage::Release;
    }

    /// Key up with a faster release (`coef`: multiplier per sample), never a slower one.
    fn choke(&mut self, coef: f32) {
        self.stage = Stage::Release;
        self.release_coef = self.release_coef.min(coef);
    }

    /// Advances one sample: the level, or `None` once released to silence.
    #[inline]
    fn next(&mut self) -> Option<f32> {
        match self.stage {
            Stage::Attack => {
                self.level += self.attack_step;
                if self.level >= 1.0 {
                    self.level = 1.0;
                    self.stage = Stage::Decay;
                }
            }
            Stage::Decay => self.level = self.sustain + (self.level - self.sustain) * self.decay_coef,
            Stage::Release => {
                self.level *= self.release_coef;
                if self.level < SILENCE {
                    return None;
                }
            }
        }
        Some(self.level)
    }
}

/// A two-operator FM electric-piano-ish tone: one sine modulator whose index decays from a bright
/// attack to a mellow floor, driving two carriers detuned by a few cents (mixed mostly left and
/// mostly right), an ADSR envelope, and a one-pole low-pass that opens with velocity.
#[derive(Debug, Clone, Copy)]
struct Tone {
    /// Carrier phases, turns.
    phase: [f32; 2],
    /// Carrier phase steps per sample.
    step: [f32; 2],
    /// Modulator phase, turns (ratio 1:1 with the first carrier).
    mod_phase: f32,
    /// FM index above [`TONE_INDEX_FLOOR`], radians; decays.
    index: f32,
    /// Per-sample multiplier of `index`.
    index_coef: f32,
    /// Amplitude envelope.
    env: Envelope,
    /// Low-pass states, left and right.
    lp: [f32; 2],
    /// Low-pass coefficient.
    lp_coef: f32,
}

impl Tone {
    fn new(key: u8, velocity: u8, sample_rate: f32) -> Tone {
        let hz = 440.0 * ((key as f32 - 69.0) / 12.0).exp2();
        let v = velocity.min(127) as f32 / 127.0;
        // Key tracking: -1 three octaves below middle C, +1 three octaves above.
        let kt = ((key as f32 - 60.0) / 36.0).clamp(-1.0, 1.0);
        let step = (hz / sample_rate).min(0.45);
        Tone {
            phase: [0.0; 2],
            step: [step, (step * TONE_DETUNE).min(0.45)],
            mod_phase: 0.0,
            index: (0.8 + 2.6 * v) * (1.0 - 0.45 * kt.max(0.0)),
            index_coef: decay_coef(0.3 * (1.0 - 0.4 * kt), sample_rate),
            env: Envelope::new(
                TONE_ATTACK_S,
                (1.3 * (1.0 - 0.5 * kt)).clamp(0.4, 2.0),
                TONE_SUSTAIN,
                TONE_RELEASE_S,
                sample_rate,
            ),
            lp: [0.0; 2],
            lp_coef: low_pass_coef(1000.0 + 5000.0 * v + 2.0 * hz, sample_rate),
        }
    }

    /// Adds into `out`; false once released to silence.
    fn render_add(&mut self, out: &mut [f32], gain: [f32; 2]) -> bool {
        for frame in out.chunks_exact_mut(2) {
            let Some(env) = self.env.next() else {
                return false;
            };
            let m = (TAU * self.mod_phase).sin() * (TONE_INDEX_FLOOR + self.index);
            let a = (TAU * self.phase[0] + m).sin();
            let b = (TAU * self.phase[1] + m).sin();
            advance(&mut self.mod_phase, self.step[0]);
            advance(&mut self.phase[0], self.step[0]);
            advance(&mut self.phase[1], self.step[1]);
            // No denormals in a long held note.
            self.index = if self.index > 1e-6 {
                self.index * self.index_coef
            } else {
                0.0
            };
            self.lp[0] += self.lp_coef * (0.62 * a + 0.38 * b - self.lp[0]);
            self.lp[1] += self.lp_coef * (0.38 * a + 0.62 * b - self.lp[1]);
            frame[0] += self.lp[0] * env * gain[0];
            frame[1] += self.lp[1] * env * gain[1];
        }
        true
    }
}

/// A round bass: a sine carrier phase-modulated by itself at ratio 1 (an index that plucks bright
/// and settles near a sine), a little second harmonic, and two one-pole low-passes that keep it
/// below the electric piano's brightness; mono (the same signal left and right), a short decay to
/// a held level and a quick release.
#[derive(Debug, Clone, Copy)]
struct Bass {
    /// Carrier (and modulator) phase, turns.
    phase: f32,
    /// Phase step per sample.
    step: f32,
    /// FM index above [`BASS_INDEX_FLOOR`], radians; decays.
    index: f32,
    /// Per-sample multiplier of `index`.
    index_coef: f32,
    /// Amplitude envelope.
    env: Envelope,
    /// States of the two low-pass stages.
    lp: [f32; 2],
    /// Low-pass coefficient (both stages).
    lp_coef: f32,
}

impl Bass {
    fn new(key: u8, velocity: u8, sample_rate: f32) -> Bass {
        let hz = 440.0 * ((key as f32 - 69.0) / 12.0).exp2();
        let v = velocity.min(127) as f32 / 127.0;
        Bass {
            phase: 0.0,
            step: (hz / sample_rate).min(0.45),
            index: BASS_INDEX * (0.4 + 0.6 * v),
            index_coef: decay_coef(BASS_INDEX_S, sample_rate),
            env: Envelope::new(BASS_ATTACK_S, BASS_DECAY_S, BASS_SUSTAIN, BASS_RELEASE_S, sample_rate),
            lp: [0.0; 2],
            // Follows the key (the lowest harmonics pass) and opens a little with velocity.
            lp_coef: low_pass_coef(250.0 + 500.0 * v + 3.0 * hz, sample_rate),
        }
    }

    /// Adds into `out`; false once released to silence.
    fn render_add(&mut self, out: &mut [f32], gain: [f32; 2]) -> bool {
        for frame in out.chunks_exact_mut(2) {
            let Some(env) = self.env.next() else {
                return false;
            };
            let p = TAU * self.phase;
            let x = (p + p.sin() * (BASS_INDEX_FLOOR + self.index)).sin() + BASS_SECOND * (2.0 * p).sin();
            advance(&mut self.phase, self.step);
            self.index = if self.index > 1e-6 {
                self.index * self.index_coef
            } else {
                0.0
            };
            self.lp[0] += self.lp_coef * (x - self.lp[0]);
            self.lp[1] += self.lp_coef * (self.lp[0] - self.lp[1]);
            let y = self.lp[1] * env;
            frame[0] += y * gain[0];
            frame[1] += y * gain[1];
        }
        true
    }
}

/// The drum sounds, by General MIDI key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DrumKind {
    /// 35, 36: pitch-swept sine and a click.
    Kick,
    /// 38, 40: short tone and band-passed noise.
    Snare,
    /// 39: mid-band noise burst.
    Clap,
    /// 42: metal and noise, high-passed, very short.
    ClosedHat,
    /// 44: like the closed hi-hat, shorter and softer.
    PedalHat,
    /// 46: like the closed hi-hat, long (choked by 42 and 44).
    OpenHat,
    /// 41, 43, 45, 47, 48, 50: swept sines tuned by key.
    Tom,
    /// 49, 52, 55, 57: long noisy metal.
    Crash,
    /// 51, 59: metal with less noise, medium decay.
    Ride,
    /// 53: ride bell, mostly metal.
    Bell,
    /// Any other key: a short pitched click.
    Click,
}

/// The parameters of a drum sound.
#[derive(Debug, Clone, Copy)]
struct DrumSpec {
    /// Body sine frequency at the end of the sweep, Hz (0: no body).
    body_hz: f32,
    /// Extra body frequency at the hit, Hz, decaying with `sweep_s`.
    sweep_hz: f32,
    /// Time constant of the pitch sweep, seconds.
    sweep_s: f32,
    /// Body level.
    body_level: f32,
    /// Body decay time constant, seconds.
    body_s: f32,
    /// Noise level.
    noise_level: f32,
    /// Noise decay time constant, seconds.
    noise_s: f32,
    /// Share of the 808 metal squares in the noise path, 0-1.
    metal: f32,
    /// High-pass of the noise path (two one-pole stages), Hz.
    hp_hz: f32,
    /// Low-pass of the noise path, Hz.
    lp_hz: f32,
    /// Stereo position, -1 (left) to 1 (right).
    pan: f32,
}

impl DrumKind {
    /// The sound of a General MIDI drum key.
    pub fn of_key(key: u8) -> DrumKind {
        match key {
            35 | 36 => DrumKind::Kick,
            38 | 40 => DrumKind::Snare,
            39 => DrumKind::Clap,
            42 => DrumKind::ClosedHat,
            44 => DrumKind::PedalHat,
            46 => DrumKind::OpenHat,
            41 | 43 | 45 | 47 | 48 | 50 => DrumKind::Tom,
            49 | 52 | 55 | 57 => DrumKind::Crash,
            51 | 59 => DrumKind::Ride,
            53 => DrumKind::Bell,
            _ => DrumKind::Click,
        }
    }

    fn spec(self, key: u8) -> DrumSpec {
        let quiet = DrumSpec {
            body_hz: 0.0,
            sweep_hz: 0.0,
            sweep_s: 0.01,
            body_level: 0.0,
            body_s: 0.01,
            noise_level: 0.0,
            noise_s: 0.01,
            metal: 0.0,
            hp_hz: 20.0,
            lp_hz: 20_000.0,
            pan: 0.0,
        };
        let hat = |noise_level: f32, noise_s: f32| DrumSpec {
            noise_level,
            noise_s,
            metal: 0.5,
            hp_hz: 7000.0,
            lp_hz: 16_000.0,
            pan: 0.3,
            ..quiet
        };
        match self {
            DrumKind::Kick => DrumSpec {
                body_hz: 48.0,
                sweep_hz: 150.0,
                sweep_s: 0.03,
                body_level: 1.0,
                body_s: 0.3,
                noise_level: 0.4,
                noise_s: 0.003,
                hp_hz: 1500.0,
                lp_hz: 8000.0,
                ..quiet
            },
            DrumKind::Snare => DrumSpec {
                body_hz: 185.0,
                sweep_hz: 60.0,
                sweep_s: 0.02,
                body_level: 0.5,
                body_s: 0.07,
                noise_level: 0.9,
                noise_s: 0.12,
                hp_hz: 1200.0,
                lp_hz: 9000.0,
                pan: -0.05,
                ..quiet
            },
            DrumKind::Clap => DrumSpec {
                noise_level: 0.9,
                noise_s: 0.09,
                hp_hz: 900.0,
                lp_hz: 3500.0,
                pan: -0.1,
                ..quiet
            },
            DrumKind::ClosedHat => hat(0.6, 0.028),
            DrumKind::PedalHat => hat(0.4, 0.02),
            DrumKind::OpenHat => hat(0.5, 0.22),
            DrumKind::Tom => {
                let body_hz = 80.0 * ((key as f32 - 41.0) / 8.0).exp2();
                DrumSpec {
                    body_hz,
                    sweep_hz: 0.5 * body_hz,
                    sweep_s: 0.05,
                    body_level: 0.8,
                    body_s: 0.28,
                    noise_level: 0.2,
                    noise_s: 0.03,
                    hp_hz: 500.0,
                    lp_hz: 5000.0,
                    pan: ((key as f32 - 45.5) / 4.5 * 0.5).clamp(-0.5, 0.5),
                    ..quiet
                }
            }
            DrumKind::Crash => DrumSpec {
                noise_level: 0.45,
                noise_s: 0.55,
                metal: 0.6,
                hp_hz: 4500.0,
                lp_hz: 16_000.0,
                pan: -0.35,
                ..quiet
            },
            DrumKind::Ride => DrumSpec {
                noise_level: 0.35,
                noise_s: 0.4,
                metal: 0.8,
                hp_hz: 5000.0,
                lp_hz: 14_000.0,
                pan: 0.35,
                ..quiet
            },
            DrumKind::Bell => DrumSpec {
                noise_level: 0.45,
                noise_s: 0.45,
                metal: 1.0,
                hp_hz: 2500.0,
                lp_hz: 12_000.0,
                pan: 0.35,
                ..quiet
            },
            DrumKind::Click => DrumSpec {
                body_hz: 800.0 * ((key as f32 - 60.0) / 24.0).exp2(),
                body_level: 0.4,
                body_s: 0.025,
                noise_level: 0.3,
                noise_s: 0.006,
                hp_hz: 2000.0,
                lp_hz: 12_000.0,
                pan: 0.15,
                ..quiet
            },
        }
    }
}

/// A drum hit: a sine body with an exponential pitch sweep, plus white noise (mixed with the six
/// metal squares for hi-hats and cymbals) through two one-pole high-passes and a one-pole
/// low-pass; both parts decay exponentially.
#[derive(Debug, Clone, Copy)]
struct Drum {
    /// Which sound (for the hi-hat choke).
    kind: DrumKind,
    /// Body phase, turns.
    body_phase: f32,
    /// Body phase step at the end of the sweep.
    body_step: f32,
    /// Extra phase step at the hit.
    sweep_step: f32,
    /// Sweep envelope, 1 at the hit.
    sweep: f32,
    /// Per-sample multiplier of `sweep`.
    sweep_coef: f32,
    /// Body amplitude.
    body_amp: f32,
    /// Per-sample multiplier of `body_amp`.
    body_coef: f32,
    /// Noise amplitude.
    noise_amp: f32,
    /// Per-sample multiplier of `noise_amp`.
    noise_coef: f32,
    /// Share of metal squares in the noise path.
    metal: f32,
    /// Metal square phases, turns.
    metal_phase: [f32; 6],
    /// Metal square phase steps.
    metal_step: [f32; 6],
    /// High-pass coefficient.
    hp_coef: f32,
    /// High-pass stage outputs.
    hp: [f32; 2],
    /// High-pass stage previous inputs.
    hp_in: [f32; 2],
    /// Low-pass state.
    lp: f32,
    /// Low-pass coefficient.
    lp_coef: f32,
}

impl Drum {
    fn new(kind: DrumKind, spec: &DrumSpec, sample_rate: f32) -> Drum {
        let step = |hz: f32| (hz / sample_rate).min(0.45);
        Drum {
            kind,
            body_phase: 0.0,
            body_step: step(spec.body_hz),
            sweep_step: step(spec.sweep_hz),
            sweep: 1.0,
            sweep_coef: decay_coef(spec.sweep_s, sample_rate),
            body_amp: spec.body_level,
            body_coef: decay_coef(spec.body_s, sample_rate),
            noise_amp: spec.noise_level,
            noise_coef: decay_coef(spec.noise_s, sample_rate),
            metal: spec.metal,
            // Staggered starting phases, so the squares do not all flip together at the hit.
            metal_phase: [0.0, 0.17, 0.33, 0.5, 0.67, 0.83],
            metal_step: METAL_HZ.map(step),
            hp_coef: high_pass_coef(spec.hp_hz, sample_rate),
            hp: [0.0; 2],
            hp_in: [0.0; 2],
            lp: 0.0,
            lp_coef: low_pass_coef(spec.lp_hz, sample_rate),
        }
    }

    /// Adds into `out`; false once decayed to silence.
    fn render_add(&mut self, out: &mut [f32], gain: [f32; 2], noise: &mut Noise) -> bool {
        for frame in out.chunks_exact_mut(2) {
            if self.body_amp < SILENCE && self.noise_amp < SILENCE {
                return false;
            }
            let mut s = 0.0;
            if self.body_amp >= SILENCE {
                s += (TAU * self.body_phase).sin() * self.body_amp;
                advance(
                    &mut self.body_phase,
                    (self.body_step + self.sweep_step * self.sweep).min(0.45),
                );
                self.sweep *= self.sweep_coef;
                self.body_amp *= self.body_coef;
            }
            if self.noise_amp >= SILENCE {
                let mut x = noise.next_f32();
                if self.metal > 0.0 {
                    let mut squares = 0.0;
                    for (p, &st) in self.metal_phase.iter_mut().zip(&self.metal_step) {
                        advance(p, st);
                        squares += if *p < 0.5 { 1.0 } else { -1.0 };
                    }
                    x = (1.0 - self.metal) * x + self.metal * squares / 6.0;
                }
                let h0 = self.hp_coef * (self.hp[0] + x - self.hp_in[0]);
                self.hp_in[0] = x;
                self.hp[0] = h0;
                let h1 = self.hp_coef * (self.hp[1] + h0 - self.hp_in[1]);
                self.hp_in[1] = h0;
                self.hp[1] = h1;
                self.lp += self.lp_coef * (h1 - self.lp);
                s += self.lp * self.noise_amp;
                self.noise_amp *= self.noise_coef;
            }
            frame[0] += s * gain[0];
            frame[1] += s * gain[1];
        }
        true
    }
}
