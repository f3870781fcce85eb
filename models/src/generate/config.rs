//! A session's settings ([`SessionConfig`]), the notes it writes ([`GeneratedNote`]) and why it
//! stops ([`GenerateError`]).

use crate::model::ModelError;
use crate::music::Role;
use crate::sampling::{Constraints, SamplerConfig};
use crate::tokenizer::vocab::TICKS_PER_BEAT;
use crate::tokenizer::{EncodeError, GrammarError};

/// The session seed for a user-facing seed (the plugin's Seed parameter, `trainer generate
/// --seed`): one mapping, so both give the same notes for the same number.
pub fn session_seed(user_seed: u64) -> u64 {
    user_seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5EED
}

/// A generated note on the caller's timeline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeneratedNote {
    /// Onset in beats.
    pub start: f64,
    /// Length in beats.
    pub duration: f64,
    /// Key number.
    pub pitch: u8,
    /// MIDI velocity 1-127.
    pub velocity: u8,
}

impl From<GeneratedNote> for crate::music::Note {
    fn from(n: GeneratedNote) -> crate::music::Note {
        crate::music::Note {
            start: n.start,
            duration: n.duration,
            pitch: n.pitch,
            velocity: n.velocity,
        }
    }
}

/// How a session generates.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionConfig {
    /// The generated role.
    pub role: Role,
    /// Style slots for the header.
    pub styles: Vec<u16>,
    /// Time signature numerator.
    pub numerator: u8,
    /// Time signature denominator.
    pub denominator: u8,
    /// Tempo for the header's bucket.
    pub tempo_bpm: Option<f64>,
    /// Whether the model was trained with `MICRO` tokens.
    pub microtiming: bool,
    /// Whether input onsets are written as `IN` tokens (the role is conditioned on input).
    pub write_inputs: bool,
    /// Whether the chords in force are written as chord tokens (the role learned chords,
    /// [`crate::package::Manifest::hears_chords`]). Without them the Harmony pull still reads the
    /// conditioning's chord.
    pub write_chords: bool,
    /// Sampling settings.
    pub sampler: SamplerConfig,
    /// Musical constraints.
    pub constraints: Constraints,
    /// Seed of the session's PRNG.
    pub seed: u64,
    /// Whether the model may end the piece (`EOS`); live sessions never end.
    pub allow_end: bool,
    /// Bars kept when re-priming a full context.
    pub keep_bars: u32,
    /// Fills at the end of each phrase (drums): the header's style tags switch at those bar lines.
    pub fills: Option<crate::groove::FillPlan>,
    /// Notes (absolute beats) that are the start of the generated role's own stream: a sketch to
    /// continue, or the phrase a call-and-response answer develops. Those starting from the
    /// session's origin and before [`SessionConfig::silent_until`] (or all, without it) are
    /// written as given bars, with the conditioning of those bars; generation continues from
    /// their end. Bars that would take more than half the context are dropped from the front.
    pub prompt: Vec<crate::music::Note>,
    /// Tick before which the session plays nothing: time moves on, no note starts (the rest
    /// between a prompt and its answer, or the listening part of a phrase).
    pub silent_until: Option<i64>,
    /// The style slot of the model's opening tag
    /// ([`crate::tokenizer::vocab::OPENING_STYLE`], [`crate::package::Manifest::opening_slot`]),
    /// when it has one: a stream that starts fresh (no prompt) carries it in its header until
    /// its first re-prime, as the windows that start at a piece's first bar did in training.
    pub opening: Option<u16>,
    /// Whether the network says whose a position is ([`crate::package::Manifest::given_kind`]):
    /// a position sampled before the next given event is then kept with the network's
    /// probability of it being its own (`generate/given.rs`).
    pub given_kind: bool,
    /// The meters the role learned, the most played first ([`Manifest::learned_meters`]);
    /// in another meter the session writes its stream in learned bars that divide the host's
    /// ([`crate::meters::stream_meter`]). Empty: every meter is written as it is.
    ///
    /// [`Manifest::learned_meters`]: crate::package::Manifest::learned_meters
    pub learned_meters: Vec<(u8, u8)>,
}

impl SessionConfig {
    /// A 4/4 session for `role` with default sampling and the role's default conditioning.
    pub fn new(role: Role) -> SessionConfig {
        SessionConfig {
            role,
            styles: Vec::new(),
            numerator: 4,
            denominator: 4,
            tempo_bpm: Some(120.0),
            microtiming: false,
            write_inputs: crate::tokenizer::SequenceSpec::hears_a_part(role),
            write_chords: true,
            sampler: SamplerConfig::default(),
            constraints: Constraints::default(),
            seed: 0,
            allow_end: false,
            keep_bars: 8,
            fills: None,
            prompt: Vec::new(),
            silent_until: None,
            opening: None,
            given_kind: false,
            learned_meters: Vec::new(),
        }
    }

    /// A 4/4 session for `role` fed as the model of `manifest` was trained: its microtiming, its
    /// given-kind look-ahead, the bars it keeps when it re-primes, the meters it learned, whether
    /// it heard an input ([`crate::package::Manifest::hears_input`]) and whether it learned chords
    /// ([`crate::package::Manifest::hears_chords`]). `trainer generate`, the music report and the
    /// diagnostics start from it (the plugin keeps the same six fields of the model it loaded).
    pub fn for_model(role: Role, manifest: &crate::package::Manifest) -> SessionConfig {
        SessionConfig {
            write_inputs: manifest.hears_input(role),
            write_chords: manifest.hears_chords(role),
            microtiming: manifest.microtiming,
            given_kind: manifest.given_kind,
            keep_bars: manifest.keep_bars(),
            learned_meters: manifest.learned_meters(role),
            ..SessionConfig::new(role)
        }
    }

    /// Bar length in ticks.
    pub fn bar_ticks(&self) -> i64 {
        (self.numerator as i64 * 4 * TICKS_PER_BEAT as i64 / self.denominator.max(1) as i64).max(1)
    }
}

/// Why generation stopped.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GenerateError {
    /// The model failed.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// A token the grammar refused (a bug in the session or the header).
    #[error(transparent)]
    Grammar(#[from] GrammarError),
    /// Re-priming could not encode the kept bars.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// The time signature has no `TS` token.
    #[error("time signature {0}/{1} is not supported")]
    UnsupportedMeter(u8, u8),
    /// No token could be sampled (cannot happen with a well-formed grammar state).
    #[error("no token may follow here")]
    Stuck,
}
