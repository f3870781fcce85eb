//! Seeded sampling: temperature, top-k and top-p over logits, restricted to a mask of allowed ids
//! (the grammar plus the musical constraints of [`Constraints`]).
//!
//! The PRNG is this module's own ([`Rng`], SplitMix64) so that a seed gives the same choices on
//! every machine and with every dependency version: bounces are deterministic. Sampling allocates
//! nothing after [`Sampler::new`].

use crate::tokenizer::{Token, VOCAB_SIZE, Vocab};

/// SplitMix64: tiny, fast, and fully specified (Steele, Lea, Flood 2014).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`, 53 bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `[-1, 1)`.
    pub fn next_signed(&mut self) -> f64 {
        self.next_f64() * 2.0 - 1.0
    }

    /// Uniform in `0..n` (`n > 0`), by multiply-shift (no modulo bias worth measuring).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }

    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.next_f64().max(1e-300);
        let u2 = self.next_f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Fisher-Yates shuffle.
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }
}

/// How to pick among the allowed ids.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SamplerConfig {
    /// Temperature of the choice of note (`PITCH`/`DRUM` ids); `<= 0.01` picks the most likely
    /// id of all.
    ///
    /// It re-spreads the notes' probability among themselves and leaves their total mass, and
    /// every other id, as the model gave them: whether to play now, and the timing, duration and
    /// velocity, keep the model's distribution, as with `top_p`. A temperature over every token
    /// took the rhythm with it: on the WJazzD validation solos, temperature 0.7 made the jazz lead
    /// play 11.8 notes a bar instead of 8.6 (human 8.1) and cut its longest note from 2.4 beats
    /// to 0.9 (human 2.0), because the long durations and rests are the tails it sharpens away
    /// (models/README.md, "Temperature").
    pub temperature: f32,
    /// Keep only the `top_k` most likely notes (`PITCH`/`DRUM` ids; 0 = all).
    pub top_k: u32,
    /// Keep the smallest set of most likely notes (`PITCH`/`DRUM` ids) whose mass reaches `top_p`
    /// of the notes' mass (1 = all).
    ///
    /// Truncation applies to the choice of note only: timing (`POS`, `BAR`), duration and
    /// velocity keep their whole distribution. Cutting their tails removed exactly the rare events
    /// that make a line breathe: the long rests and long notes humans play (the jazz lead played
    /// 11 notes a bar instead of 9.5 and its longest note fell from 2.2 to 0.9 beats at top-p
    /// 0.95; see models/README.md).
    pub top_p: f32,
}

impl SamplerConfig {
    /// This (the user's) sampling for a model role tuned to note temperature `tuned`: the user's
    /// temperature is relative to it (1 plays the role as tuned).
    pub fn relative_to(self, tuned: f32) -> SamplerConfig {
        SamplerConfig {
            temperature: self.temperature * tuned,
            ..self
        }
    }
}

impl Default for SamplerConfig {
    fn default() -> Self {
        SamplerConfig {
            temperature: 1.0,
            top_k: 0,
            top_p: 1.0,
        }
    }
}

/// Musical constraints applied to generated note tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Constraints {
    /// Allowed pitch classes, bit `pc` set for C = 0 .. B = 11 (0xFFF = all). Not applied to drums.
    pub pitch_classes: u16,
    /// Lowest allowed pitch (or drum key).
    pub pitch_lo: u8,
    /// Highest allowed pitch (or drum key).
    pub pitch_hi: u8,
    /// Most notes sounding at once (0 = no limit).
    pub max_polyphony: u8,
    /// Note density, 0..1; 0.5 leaves the model as it is, higher favours starting notes over
    /// moving time on.
    pub density: f32,
    /// Harmony: log-probability bonus (nats) for pitches in the chord in force (0 leaves the
    /// model as it is; pitched roles only). A soft pull towards chord tones, never a mask.
    pub chord_tones: f32,
    /// Drums: once an instrument has played a few hits, its velocity stays within two bins (16;
    /// one for the kick) of what it played over the last four bars; the snare may always drop to
    /// ghost notes. The network alone drifts between dynamic levels from bar to bar (a kick at 50
    /// jumping to 124 for the rest of the piece, see models/README.md); a drummer keeps a level.
    pub steady_dynamics: bool,
    /// Log-probability bonus (nats) for resting until the next given event (a chord change, a
    /// note the role hears) at each timing decision before one in the same bar: the `POS` tokens
    /// at or past it, `BAR` and `EOS`. A model's tuned rest calibration
    /// ([`crate::package::Manifest::rest_bias`]), applied by the generation session, which
    /// knows where the next given event is; 0 leaves the model as it is.
    pub rest_bias: f32,
    /// Log-probability bonus (nats) for starting a note (`PITCH`/`DRUM` tokens) at every
    /// decision, added to the Density's: a model's tuned density calibration
    /// ([`crate::package::Manifest::note_bias`]), so that the user's Density 50 % plays as densely
    /// as the model's data; 0 leaves the model as it is. Unlike [`Constraints::rest_bias`] it does
    /// not depend on the given events, so it holds over free play (the piano, alone).
    pub note_bias: f32,
    /// The piece's memory: the weight of the pitches that followed the longest earlier match of
    /// the role's last pitches, by that match's length and distance ([`crate::memory::cell`]),
    /// mixed into the choice of note as `(1 - w) net + w memory` (see [`crate::memory`]). A
    /// model's fitted weights ([`crate::package::Manifest::memory`]) at the user's strength; none
    /// leaves the network as it is.
    pub memory: crate::memory::MemoryWeights,
    /// How many times a fresh session (no prompt) drafts its first bar from the header alone,
    /// keeping the draft the network finds most likely (mean log-probability of its tokens):
    /// the drums, whose first bar sets the groove the rest holds ([`FIRST_BAR_DRAFTS`]). 0 and 1
    /// sample it once, as the network does.
    pub first_bar_drafts: u8,
    /// A model's fast-tempo rest calibration ([`crate::package::Manifest::fast_rest`]): nats per
    /// beat of the gap to the next onset, per doubling of the tempo above [`FAST_TEMPO_BPM`],
    /// added to the Density's tilt of the choice of time ([`fast_tempo_tilt`]); 0 leaves the
    /// network's rhythm at every tempo.
    pub fast_rest: f32,
    /// A model's duration calibration ([`crate::package::Manifest::duration_temperature`]): the
    /// temperature of the choice of a note's length (`DUR`), 1 leaving the network's. Below 1 it
    /// trims the long tail a network puts on the lengths of grooves it has not heard (the band's
    /// comping held a chord note 9.6 beats where the grooves' longest is 4.2; models/README.md,
    /// "The comping's long notes").
    pub duration_temperature: f32,
    /// A model's register hold ([`crate::package::Manifest::register_hold`]): semitones a pitched
    /// role may go beyond the lowest and highest note it has played this take, once it has
    /// played [`HOLD_AFTER`] (0: off). A network that re-primes on a bar of its own playing
    /// strays: one band comping note in a hundred fell far from the register the comping had been
    /// playing, a range of 29 semitones over 48 bars where the grooves keep to 20
    /// (models/README.md, "Validation over progressions the band never heard"). See
    /// [`hold_register`].
    pub register_hold: u8,
    /// A model's length hold ([`crate::package::Manifest::length_hold`]): once a pitched role
    /// has played [`HOLD_AFTER`] notes this take, a note may last at most this many times the
    /// longest it has played (0: off). The band's bass holds a note past a beat in grooves that
    /// never do (models/README.md, "The comping's rests fitted on the training renders"). See
    /// [`hold_length`].
    pub length_hold: f32,
}

/// The notes a role plays before its register hold applies.
pub const HOLD_AFTER: usize = 16;

/// How many notes a role has played this take and the lowest and highest of them: the register
/// its hold keeps it near ([`hold_register`]). A session keeps one per note played, so a rollback
/// finds the span as it was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub notes: usize,
    pub lo: u8,
    pub hi: u8,
    /// The longest note so far, in ticks (0 until a length is known).
    pub longest: u16,
}

impl Span {
    /// No note played yet.
    pub const EMPTY: Span = Span {
        notes: 0,
        lo: u8::MAX,
        hi: 0,
        longest: 0,
    };

    /// The span once `pitch` has been played too.
    pub fn with(self, pitch: u8) -> Span {
        Span {
            notes: self.notes + 1,
            lo: self.lo.min(pitch),
            hi: self.hi.max(pitch),
            longest: self.longest,
        }
    }

    /// The span once its last note is known to last `ticks`.
    pub fn lasting(self, ticks: u16) -> Span {
        Span {
            longest: self.longest.max(ticks),
            ..self
        }
    }
}

/// Narrows `allowed` to the lengths (`DUR`) of at most `hold` times the longest note the role has
/// played this take (`span`), once it has played [`HOLD_AFTER`]; other tokens are untouched. If no
/// allowed length would be left, `allowed` stays as it was.
pub fn hold_length(span: Span, hold: f32, allowed: &mut [bool]) {
    if !hold.is_finite() || hold <= 0.0 || span.notes < HOLD_AFTER || span.longest == 0 {
        return;
    }
    let limit = span.longest as f32 * hold;
    let first = Vocab::id(Token::Dur(0)) as usize;
    let ticks = crate::tokenizer::vocab::DURATION_TICKS;
    let within = |d: usize| ticks[d] as f32 <= limit + 1e-3;
    if !(0..ticks.len()).any(|d| within(d) && allowed.get(first + d).copied().unwrap_or(false)) {
        return;
    }
    for d in (0..ticks.len()).filter(|&d| !within(d)) {
        if let Some(a) = allowed.get_mut(first + d) {
            *a = false;
        }
    }
}

/// Narrows `allowed` to the pitches within `hold` semitones of the lowest and highest note the
/// role has played this take (`span`), once it has played [`HOLD_AFTER`]; other tokens are
/// untouched. If no allowed pitch would be left, `allowed` stays as it was (a mask of pitches
/// only, never of time). The whole take, not its last notes: the band's bass and comping keep
/// the register of any 16 bars but drift from it over a long take (models/README.md, "The
/// register of a whole take").
pub fn hold_register(span: Span, hold: u8, allowed: &mut [bool]) {
    if hold == 0 || span.notes < HOLD_AFTER {
        return;
    }
    let (lo, hi) = (span.lo.saturating_sub(hold), span.hi.saturating_add(hold).min(127));
    let id = |p: u8| Vocab::id(Token::Pitch(p)) as usize;
    if !(lo..=hi).any(|p| allowed.get(id(p)).copied().unwrap_or(false)) {
        return;
    }
    for p in (0..lo).chain(hi + 1..=127) {
        if let Some(a) = allowed.get_mut(id(p)) {
            *a = false;
        }
    }
}

/// The lowest and highest duration calibration a model may set
/// ([`Constraints::duration_temperature`]).
pub const DURATION_TEMPERATURE_RANGE: std::ops::RangeInclusive<f32> = 0.2..=2.0;

/// Applies a duration temperature `t` to the allowed `DUR` logits (divides them by `t`, which
/// is the temperature of a choice among lengths: the grammar allows nothing else beside them);
/// every other id keeps its logit. `t` outside [`DURATION_TEMPERATURE_RANGE`] or not finite
/// leaves the logits as they are.
pub fn temper_durations(logits: &mut [f32], allowed: &[bool], t: f32) {
    if !DURATION_TEMPERATURE_RANGE.contains(&t) || (t - 1.0).abs() < 1e-6 {
        return;
    }
    let first = Vocab::id(Token::Dur(0)) as usize;
    let lengths = first..first + crate::tokenizer::vocab::DURATION_TICKS.len();
    for (l, &a) in logits.iter_mut().zip(allowed).take(lengths.end).skip(lengths.start) {
        if a && l.is_finite() {
            *l /= t;
        }
    }
}

/// The tempo above which a fast-tempo rest calibration acts (BPM): below it the jazz lead plays
/// its training soloists' density, above it more notes a bar than they do, more the faster
/// (models/README.md, "tempo").
pub const FAST_TEMPO_BPM: f64 = 150.0;

/// The tilt (nats per beat of gap, as [`density_time_tilt`]'s) a fast-tempo rest calibration of
/// `nats_per_octave` gives at `bpm`: 0 up to [`FAST_TEMPO_BPM`], then growing with the octaves of
/// tempo above it.
pub fn fast_tempo_tilt(nats_per_octave: f32, bpm: Option<f64>) -> f32 {
    match bpm {
        Some(b) if b.is_finite() && b > FAST_TEMPO_BPM && nats_per_octave.is_finite() => {
            nats_per_octave * (b / FAST_TEMPO_BPM).log2() as f32
        }
        _ => 0.0,
    }
}

/// How strongly Density moves the choice of when the next note starts: nats per beat of the gap
/// to it, per unit of Density's log-odds `ln(d / (1 - d))` ([`density_time_tilt`]).
pub const DENSITY_NATS_PER_BEAT: f32 = 0.5;

/// The tilt Density `d` gives the choice of time (nats added per beat of the gap to the next
/// onset, or to the bar line): positive below 0.5 (longer rests), negative above, 0 at 0.5 (the
/// network's own rhythm). A note can only start where time has moved to, so a bias on note
/// tokens alone (Density's other half, [`apply_constraints`]) acts only where a note may be added
/// or skipped (a chord change's position, a second voice), not on how long a line rests: the lead
/// played 13 % fewer notes at Density 0.1 than at 0.5 before this tilt (models/README.md, "Density").
pub fn density_time_tilt(d: f32) -> f32 {
    if !d.is_finite() || (d - 0.5).abs() < 1e-6 {
        return 0.0;
    }
    let d = d.clamp(0.02, 0.98);
    -DENSITY_NATS_PER_BEAT * (d / (1.0 - d)).ln()
}

/// `ln p(id)` under the softmax of the finite logits of the ids `among` holds, and whether `id`
/// is the most likely of them; `(0, false)` when `id` has no finite logit or nothing is among.
pub fn log_prob_among(logits: &[f32], among: impl Fn(usize) -> bool, id: u32) -> (f64, bool) {
    let finite = |i: usize| among(i) && logits[i].is_finite();
    let max = (0..logits.len())
        .filter(|&i| finite(i))
        .map(|i| logits[i] as f64)
        .fold(f64::NEG_INFINITY, f64::max);
    let z: f64 = (0..logits.len())
        .filter(|&i| finite(i))
        .map(|i| (logits[i] as f64 - max).exp())
        .sum();
    match logits.get(id as usize) {
        Some(&l) if l.is_finite() && max.is_finite() => (l as f64 - max - z.ln(), l as f64 >= max),
        _ => (0.0, false),
    }
}

/// First-bar drafts of the drums ([`Constraints::first_bar_drafts`]). From its header alone the
/// drums network samples a first bar that is seldom a groove (tom and snare hits scattered over
/// the bar, a ride pattern under a rock header), and the bars after it go on from it; the
/// likeliest of a few drafts is the style's groove more often (models/README.md, "The first bar").
pub const FIRST_BAR_DRAFTS: u8 = 8;

impl Default for Constraints {
    fn default() -> Self {
        Constraints {
            pitch_classes: 0xFFF,
            pitch_lo: 0,
            pitch_hi: 127,
            max_polyphony: 0,
            density: 0.5,
            chord_tones: 0.0,
            steady_dynamics: false,
            rest_bias: 0.0,
            note_bias: 0.0,
            memory: crate::memory::MemoryWeights::NONE,
            first_bar_drafts: 1,
            fast_rest: 0.0,
            duration_temperature: 1.0,
            register_hold: 0,
            length_hold: 0.0,
        }
    }
}

impl Constraints {
    /// What a role is generated with unless the user says otherwise (the plugin's parameter
    /// defaults, and `trainer generate`'s): lead and bass one note at a time, pitched roles between
    /// A0 and C8 (a model's register of the role narrows it: [`within_register`]), drums any key.
    pub fn for_role(role: crate::music::Role) -> Constraints {
        let drums = role.is_drums();
        Constraints {
            pitch_classes: 0xFFF,
            pitch_lo: if drums { 0 } else { DEFAULT_PITCH_LO },
            pitch_hi: if drums { 127 } else { DEFAULT_PITCH_HI },
            max_polyphony: if matches!(role, crate::music::Role::Lead | crate::music::Role::Bass) {
                1
            } else {
                0
            },
            density: 0.5,
            chord_tones: if drums { 0.0 } else { DEFAULT_CHORD_TONES },
            steady_dynamics: drums,
            rest_bias: 0.0,
            note_bias: 0.0,
            memory: crate::memory::MemoryWeights::NONE,
            first_bar_drafts: if drums { FIRST_BAR_DRAFTS } else { 1 },
            fast_rest: 0.0,
            duration_temperature: 1.0,
            register_hold: 0,
            length_hold: 0.0,
        }
    }
}

/// Default harmony bonus (nats) for chord tones of pitched roles: 0.24 (6 % on the plugin's
/// Harmony), a seasoning. With the tuned note temperatures the jazz lead alone plays 0.45 chord
/// tones on the WJazzD validation solos (soloists 0.54): 0.25 nat brings it to 0.53, the former
/// 0.5 to 0.62, more inside than the soloists (models/README.md, "Harmony").
pub const DEFAULT_CHORD_TONES: f32 = 0.24;

/// Default lowest pitch of pitched roles (A0, the piano's lowest): the model's register of the
/// role ([`within_register`]) narrows it.
pub const DEFAULT_PITCH_LO: u8 = 21;
/// Default highest pitch of pitched roles (C8, the piano's highest).
pub const DEFAULT_PITCH_HI: u8 = 108;

/// The share of a role's training notes left out at each end of its register
/// ([`register_of`]): one note in a thousand below it, one above.
pub const REGISTER_TAIL: f64 = 0.001;

/// A role's register from how many of its training notes sounded at each pitch: the pitches
/// with [`REGISTER_TAIL`] of the notes below and above. `None` without notes.
pub fn register_of(counts: &[u64; 128]) -> Option<(u8, u8)> {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return None;
    }
    let tail = (total as f64 * REGISTER_TAIL).floor() as u64;
    let mut below = 0;
    let lo = counts.iter().position(|&c| {
        below += c;
        below > tail
    })?;
    let mut above = 0;
    let hi = 127
        - counts.iter().rev().position(|&c| {
            above += c;
            above > tail
        })?;
    Some((lo as u8, hi.max(lo) as u8))
}

/// The range a pitched role plays: the user's `lo..=hi` within the model's `register` of the
/// role (the pitches it played in training, [`crate::package::Manifest::register`]). A network
/// asked for a note outside what its role ever played makes one up from other roles (the band's
/// bass, confused on a strummed test groove, arpeggiated at G5-D6; models/README.md, "The
/// bass's register"). The user's range alone where the model names no register or the two do
/// not meet (the user asked for the range, so it wins).
pub fn within_register(register: Option<(u8, u8)>, lo: u8, hi: u8) -> (u8, u8) {
    match register {
        Some((rlo, rhi)) if lo.max(rlo) <= hi.min(rhi) => (lo.max(rlo), hi.min(rhi)),
        _ => (lo, hi),
    }
}

/// Scales for the key/scale lock, as pitch-class sets relative to the tonic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// All twelve pitch classes.
    Chromatic,
    /// Ionian.
    Major,
    /// Aeolian.
    Minor,
    /// Dorian.
    Dorian,
    /// Mixolydian.
    Mixolydian,
    /// Harmonic minor.
    HarmonicMinor,
    /// Major pentatonic.
    PentatonicMajor,
    /// Minor pentatonic.
    PentatonicMinor,
    /// Minor blues (minor pentatonic plus the flat fifth).
    Blues,
}

impl Scale {
    /// Semitones above the tonic.
    pub fn intervals(self) -> &'static [u8] {
        match self {
            Scale::Chromatic => &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
            Scale::Major => &[0, 2, 4, 5, 7, 9, 11],
            Scale::Minor => &[0, 2, 3, 5, 7, 8, 10],
            Scale::Dorian => &[0, 2, 3, 5, 7, 9, 10],
            Scale::Mixolydian => &[0, 2, 4, 5, 7, 9, 10],
            Scale::HarmonicMinor => &[0, 2, 3, 5, 7, 8, 11],
            Scale::PentatonicMajor => &[0, 2, 4, 7, 9],
            Scale::PentatonicMinor => &[0, 3, 5, 7, 10],
            Scale::Blues => &[0, 3, 5, 6, 7, 10],
        }
    }

    /// The pitch-class mask of this scale on `tonic` (0 = C).
    pub fn mask(self, tonic: u8) -> u16 {
        self.intervals()
            .iter()
            .fold(0u16, |m, &i| m | 1 << ((tonic as u16 + i as u16) % 12))
    }
}

/// Whether an id may be *sampled* at all: given tokens (header, chords, `IN`, `TS`) are written by
/// the runtime, never sampled; `EOS` only when `allow_end`.
pub fn is_sampleable(token: Token, allow_end: bool) -> bool {
    match token {
        Token::Bar
        | Token::Pos(_)
        | Token::Pitch(_)
        | Token::Drum(_)
        | Token::Vel(_)
        | Token::Dur(_)
        | Token::Micro(_) => true,
        Token::Eos => allow_end,
        _ => false,
    }
}

/// Narrows `allowed` (one entry per id) by `c`; `sounding` is how many generated notes sound at
/// the current position. Density is applied to `logits` as a bias on note starts.
///
/// Where the grammar asks for a note (after a position) and the polyphony cap allows none (a
/// monophonic role's last note still sounds), the cap yields and the new note overlaps it; the
/// range, the scale, the Density and the Harmony still hold. (Until 2026-12-03 the whole set
/// yielded there, so a bass line that moved before its note ended could leave its register: the
/// band's bass played G5-D6 arpeggios on a test groove, models/README.md, "The bass's register".)
/// If the other constraints would leave nothing allowed either, `allowed` is left as it was (the
/// grammar always wins over taste).
pub fn apply_constraints(
    c: &Constraints,
    sounding: usize,
    chord: Option<crate::chord::Chord>,
    logits: &mut [f32],
    allowed: &mut [bool],
    drums: bool,
) {
    let harmony = if drums {
        None
    } else {
        chord.filter(|_| c.chord_tones != 0.0)
    };
    let d = c.density.clamp(0.02, 0.98);
    let bias = 2.0 * (d / (1.0 - d)).ln() + if c.note_bias.is_finite() { c.note_bias } else { 0.0 };
    // Whether token `id` passes the constraints (other tokens than notes always do), with the
    // polyphony cap full or not.
    let passes = |id: u32, poly_full: bool| match Vocab::token(id) {
        Some(Token::Pitch(p)) => {
            !poly_full && p >= c.pitch_lo && p <= c.pitch_hi && (drums || c.pitch_classes & (1 << (p % 12)) != 0)
        }
        Some(Token::Drum(k)) => !poly_full && k >= c.pitch_lo && k <= c.pitch_hi,
        _ => true,
    };
    let any_passes = |allowed: &[bool], poly_full: bool| {
        allowed
            .iter()
            .enumerate()
            .take(VOCAB_SIZE as usize)
            .any(|(id, &a)| a && passes(id as u32, poly_full))
    };
    if !allowed.iter().take(VOCAB_SIZE as usize).any(|&a| a) {
        return;
    }
    let mut poly_full = c.max_polyphony > 0 && sounding >= c.max_polyphony as usize;
    if poly_full && !any_passes(allowed, true) {
        poly_full = false;
    }
    if !any_passes(allowed, poly_full) {
        return;
    }
    for (id, a) in allowed.iter_mut().enumerate().take(VOCAB_SIZE as usize) {
        if !*a {
            continue;
        }
        *a = passes(id as u32, poly_full);
        match Vocab::token(id as u32) {
            Some(Token::Pitch(p)) => {
                logits[id] += bias;
                if let Some(ch) = harmony
                    && ch.contains_pitch(p)
                {
                    logits[id] += c.chord_tones;
                }
            }
            Some(Token::Drum(_)) => logits[id] += bias,
            _ => {}
        }
    }
}

/// A seeded sampler with its scratch buffers.
#[derive(Debug, Clone)]
pub struct Sampler {
    /// The settings.
    pub config: SamplerConfig,
    rng: Rng,
    probs: Vec<f32>,
    order: Vec<u32>,
    notes: Vec<u32>,
    /// The piece's memories for the next draw: the weight of each scope's (by
    /// [`MemoryScope::index`]) and their distributions over token ids, each within its scope's
    /// ids ([`Sampler::set_memory`], [`Sampler::set_token_memory`]).
    memory_weight: [f32; 2],
    memory: Vec<f32>,
    /// A pitched role's timing memory's share for a note at the current position, where the
    /// role has not played there yet ([`Sampler::set_rhythm_memory`]).
    memory_now: Option<f32>,
}

/// The tokens a memory's distribution is mixed into, within their total mass: the rest of the
/// choice keeps its probability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemoryScope {
    /// The choice of note (`PITCH`, `DRUM`): a pitched role's memory.
    Notes,
    /// The choice of what comes next in time (`POS`, `DRUM`, `BAR`): the drums' memory of their
    /// groove ([`crate::memory::groove`]; microtiming and velocity stay the network's), and a
    /// pitched role's memory of when it played over the same changes
    /// ([`crate::memory::changes`]: its `POS` and `BAR`, beside its choice of note in the same
    /// draw).
    Rhythm,
}

impl MemoryScope {
    /// The scope's slot among a draw's memories.
    pub fn index(self) -> usize {
        match self {
            MemoryScope::Notes => 0,
            MemoryScope::Rhythm => 1,
        }
    }

    /// Whether token `id` is one of this scope's.
    pub fn holds(self, id: u32) -> bool {
        match self {
            MemoryScope::Notes => matches!(Vocab::token(id), Some(Token::Pitch(_) | Token::Drum(_))),
            MemoryScope::Rhythm => matches!(Vocab::token(id), Some(Token::Pos(_) | Token::Drum(_) | Token::Bar)),
        }
    }
}

impl Sampler {
    /// A sampler seeded with `seed`.
    pub fn new(config: SamplerConfig, seed: u64) -> Sampler {
        Sampler {
            config,
            rng: Rng::new(seed),
            probs: vec![0.0; VOCAB_SIZE as usize],
            order: Vec::with_capacity(VOCAB_SIZE as usize),
            notes: Vec::with_capacity(VOCAB_SIZE as usize),
            memory_weight: [0.0; 2],
            memory: vec![0.0; VOCAB_SIZE as usize],
            memory_now: None,
        }
    }

    /// Mixes `dist` (a distribution over pitches, any scale) into the choice of note of the
    /// next draw only, with weight `weight`: the notes' probabilities become `(1 - weight)` of
    /// the network's (after the temperature) plus `weight` of `dist`'s among the allowed
    /// pitches, within the notes' total mass. Nothing when no allowed pitch has mass in `dist`; a
    /// greedy draw (temperature 0.01 or below) takes the network's most likely id.
    pub fn set_memory(&mut self, weight: f32, dist: &[f32; 128]) {
        self.clear_memory(MemoryScope::Notes);
        for (p, &w) in dist.iter().enumerate() {
            self.memory[Vocab::id(Token::Pitch(p as u8)) as usize] = w;
        }
        self.set_weight(weight, MemoryScope::Notes);
    }

    /// Mixes `dist` (a distribution over token ids, any scale; ids outside `scope` ignored)
    /// into the next draw only, as [`Sampler::set_memory`] does with pitches: the tokens of
    /// `scope` become `(1 - weight)` of the network's plus `weight` of `dist`'s among the
    /// allowed ones, within their total mass.
    pub fn set_token_memory(&mut self, weight: f32, dist: &[f32], scope: MemoryScope) {
        self.clear_memory(scope);
        for (id, (m, &d)) in self.memory.iter_mut().zip(dist).enumerate() {
            if scope.holds(id as u32) {
                *m = d;
            }
        }
        self.set_weight(weight, scope);
    }

    /// A pitched role's memory of its timing over the same changes ([`crate::memory::changes`])
    /// for the next draw only:
    /// `dist` over its `POS` and `BAR` ids (any scale), and where the role has not played at the
    /// current position yet, `now`, the weight (on `dist`'s scale) of playing a note there. The
    /// time tokens become `(1 - weight)` of the network's plus `weight` of the memory's among the
    /// allowed ones, within their mass; with `now`, that mass includes the notes', which are
    /// scaled together to the memory's share of them (the choice among them is the network's and
    /// the note memory's).
    pub fn set_rhythm_memory(&mut self, weight: f32, dist: &[f32], now: Option<f32>) {
        self.set_token_memory(weight, dist, MemoryScope::Rhythm);
        self.memory_now = now.filter(|n| n.is_finite()).map(|n| n.max(0.0));
    }

    fn set_weight(&mut self, weight: f32, scope: MemoryScope) {
        self.memory_weight[scope.index()] = if weight.is_finite() {
            weight.clamp(0.0, 1.0)
        } else {
            0.0
        };
    }

    /// Clears the distribution of `scope`'s memory (its weight stays).
    fn clear_memory(&mut self, scope: MemoryScope) {
        for (id, m) in self.memory.iter_mut().enumerate() {
            if scope.holds(id as u32) {
                *m = 0.0;
            }
        }
    }

    /// Reseeds the generator.
    pub fn reseed(&mut self, seed: u64) {
        self.rng = Rng::new(seed);
    }

    /// The generator (for humanising with the same seed).
    pub fn rng(&mut self) -> &mut Rng {
        &mut self.rng
    }

    /// Picks an id among those with `allowed[id]`, or `None` if none is allowed.
    pub fn sample(&mut self, logits: &[f32], allowed: &[bool]) -> Option<u32> {
        // The memory is for this draw only.
        let memory = std::mem::take(&mut self.memory_weight);
        let now = self.memory_now.take();
        let n = logits.len().min(allowed.len()).min(self.probs.len());
        self.order.clear();
        let mut max = f32::NEG_INFINITY;
        for id in 0..n {
            if allowed[id] && logits[id].is_finite() {
                self.order.push(id as u32);
                max = max.max(logits[id]);
            } else if allowed[id] {
                self.order.push(id as u32);
            }
        }
        if self.order.is_empty() {
            return None;
        }
        if !max.is_finite() {
            // Every allowed logit is -inf or NaN: pick uniformly.
            let i = (self.rng.next_f64() * self.order.len() as f64) as usize;
            return Some(self.order[i.min(self.order.len() - 1)]);
        }
        let t = self.config.temperature;
        if t <= 0.01 {
            let best = self
                .order
                .iter()
                .copied()
                .filter(|&i| logits[i as usize].is_finite())
                .fold(None, |b: Option<u32>, i| match b {
                    Some(j) if logits[j as usize] >= logits[i as usize] => Some(j),
                    _ => Some(i),
                });
            return best;
        }
        let is_note = |i: u32| matches!(Vocab::token(i), Some(Token::Pitch(_) | Token::Drum(_)));
        let mut note_mass = 0.0f32;
        let mut note_max = f32::NEG_INFINITY;
        for &i in &self.order {
            let l = logits[i as usize];
            self.probs[i as usize] = if l.is_finite() { (l - max).exp() } else { 0.0 };
            if l.is_finite() && is_note(i) {
                note_mass += self.probs[i as usize];
                note_max = note_max.max(l);
            }
        }
        if (t - 1.0).abs() > 1e-6 && note_mass > 0.0 {
            // The temperature re-spreads the notes within their own total mass.
            let mut spread = 0.0f32;
            for &i in &self.order {
                let l = logits[i as usize];
                if l.is_finite() && is_note(i) {
                    let q = ((l - note_max) / t).exp();
                    self.probs[i as usize] = q;
                    spread += q;
                }
            }
            let scale = note_mass / spread;
            for &i in &self.order {
                if logits[i as usize].is_finite() && is_note(i) {
                    self.probs[i as usize] *= scale;
                }
            }
        }
        // The choice of time first: a note now is all the notes' mass, which the note memory
        // then shares out.
        if memory[MemoryScope::Rhythm.index()] > 0.0 {
            self.mix_memory(memory[MemoryScope::Rhythm.index()], MemoryScope::Rhythm, now);
        }
        if memory[MemoryScope::Notes.index()] > 0.0 {
            self.mix_memory(memory[MemoryScope::Notes.index()], MemoryScope::Notes, None);
        }
        let probs = &self.probs;
        let by_prob = |a: &u32, b: &u32| probs[*b as usize].total_cmp(&probs[*a as usize]).then(a.cmp(b));
        let k = self.config.top_k as usize;
        let top_p = self.config.top_p;
        if k > 0 || top_p < 1.0 {
            // Truncate the note choices only; every other id keeps its probability.
            let notes = &mut self.notes;
            notes.clear();
            self.order.retain(|&i| {
                let note = is_note(i);
                if note {
                    notes.push(i);
                }
                !note
            });
            if k > 0 && k < notes.len() {
                notes.select_nth_unstable_by(k - 1, by_prob);
                notes.truncate(k);
            }
            if top_p < 1.0 && !notes.is_empty() {
                notes.sort_unstable_by(by_prob);
                let total: f32 = notes.iter().map(|&i| probs[i as usize]).sum();
                let mut acc = 0.0;
                let mut keep = notes.len();
                for (j, &i) in notes.iter().enumerate() {
                    acc += probs[i as usize];
                    if acc >= top_p.max(0.0) * total {
                        keep = j + 1;
                        break;
                    }
                }
                notes.truncate(keep.max(1));
            }
            self.order.extend_from_slice(notes);
        }
        // A canonical order so the draw does not depend on how selection permuted the ids.
        self.order.sort_unstable();
        let total: f32 = self.order.iter().map(|&i| probs[i as usize]).sum();
        if total.is_nan() || total <= 0.0 {
            return self.order.first().copied();
        }
        let mut r = self.rng.next_f64() as f32 * total;
        for &i in &self.order {
            r -= probs[i as usize];
            if r < 0.0 {
                return Some(i);
            }
        }
        self.order.last().copied()
    }

    /// The probabilities (`probs` over `order`) of `scope` mixed with its memory's distribution
    /// over the allowed ids of that scope, with weight `w`, within the scope's mass.
    /// With `now` (a pitched role's rhythm, [`Sampler::set_rhythm_memory`]), the notes join the
    /// scope as one choice, recalled with weight `now`.
    fn mix_memory(&mut self, w: f32, scope: MemoryScope, now: Option<f32>) {
        let is_pitch = |i: u32| matches!(Vocab::token(i), Some(Token::Pitch(_)));
        let (mut mass, mut recalled, mut notes) = (0.0f32, 0.0f32, 0.0f32);
        for &i in &self.order {
            if scope.holds(i) {
                mass += self.probs[i as usize];
                recalled += self.memory[i as usize].max(0.0);
            } else if now.is_some() && is_pitch(i) {
                notes += self.probs[i as usize];
            }
        }
        let now = match now {
            Some(n) if notes > 0.0 && notes.is_finite() => {
                mass += notes;
                recalled += n;
                n
            }
            _ => 0.0,
        };
        if !recalled.is_finite() || recalled <= 0.0 || mass.is_nan() || mass <= 0.0 {
            return;
        }
        let note_scale = (1.0 - w) + w * mass * (now / recalled) / notes.max(f32::MIN_POSITIVE);
        for &i in &self.order {
            if scope.holds(i) {
                let from_memory = self.memory[i as usize].max(0.0) / recalled;
                self.probs[i as usize] = (1.0 - w) * self.probs[i as usize] + w * mass * from_memory;
            } else if notes > 0.0 && is_pitch(i) {
                self.probs[i as usize] *= note_scale;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_is_fixed() {
        let mut r = Rng::new(0);
        // Reference values of SplitMix64 seeded with 0.
        assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(r.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn sampling_respects_mask_top_k_and_is_seeded() {
        let pitch = |p: u8| Vocab::id(Token::Pitch(p)) as usize;
        let (a, b, c, d) = (pitch(60), pitch(62), pitch(64), pitch(65));
        let mut logits = vec![0.0f32; VOCAB_SIZE as usize];
        logits[a] = 3.0;
        logits[b] = 2.0;
        logits[c] = 1.0;
        let mut allowed = vec![false; VOCAB_SIZE as usize];
        allowed[a] = true;
        allowed[b] = true;
        allowed[c] = true;
        allowed[d] = true;
        let mut s = Sampler::new(
            SamplerConfig {
                temperature: 1.0,
                top_k: 2,
                top_p: 1.0,
            },
            42,
        );
        let draws: Vec<u32> = (0..200).map(|_| s.sample(&logits, &allowed).unwrap()).collect();
        assert!(draws.iter().all(|&x| x as usize == a || x as usize == b));
        assert!(draws.contains(&(b as u32)));
        let mut s2 = Sampler::new(s.config, 42);
        let again: Vec<u32> = (0..200).map(|_| s2.sample(&logits, &allowed).unwrap()).collect();
        assert_eq!(draws, again);
        let mut g = Sampler::new(
            SamplerConfig {
                temperature: 0.0,
                top_k: 0,
                top_p: 1.0,
            },
            1,
        );
        assert_eq!(g.sample(&logits, &allowed), Some(a as u32));
        let mut p = Sampler::new(
            SamplerConfig {
                temperature: 1.0,
                top_k: 0,
                top_p: 0.5,
            },
            1,
        );
        assert!((0..50).all(|_| p.sample(&logits, &allowed) == Some(a as u32)));
        assert_eq!(s.sample(&logits, &[false; 10]), None);
        // Timing keeps its tail: a rare long rest survives top-p 0.5 beside the notes.
        let rest = Vocab::id(Token::Pos(36)) as usize;
        allowed[rest] = true;
        logits[rest] = -1.0;
        let mut p = Sampler::new(p.config, 3);
        let draws: Vec<u32> = (0..2000).map(|_| p.sample(&logits, &allowed).unwrap()).collect();
        assert!(draws.contains(&(rest as u32)));
        assert!(draws.iter().all(|&x| x as usize == a || x as usize == rest));
    }

    #[test]
    fn the_memory_mixes_into_the_notes_within_their_mass() {
        let pitch = |p: u8| Vocab::id(Token::Pitch(p)) as usize;
        let rest = Vocab::id(Token::Pos(36)) as usize;
        let logits = vec![0.0f32; VOCAB_SIZE as usize];
        let mut allowed = vec![false; VOCAB_SIZE as usize];
        for i in [pitch(60), pitch(62), pitch(64), pitch(65), rest] {
            allowed[i] = true;
        }
        // The memory recalls 64, and 70, which is not allowed here.
        let mut dist = [0.0f32; 128];
        dist[64] = 1.0;
        dist[70] = 3.0;
        let mut s = Sampler::new(SamplerConfig::default(), 5);
        let n = 20_000;
        let (mut recalled, mut rests) = (0, 0);
        for _ in 0..n {
            s.set_memory(0.5, &dist);
            let id = s.sample(&logits, &allowed).unwrap() as usize;
            recalled += (id == pitch(64)) as usize;
            rests += (id == rest) as usize;
        }
        // Notes keep their 4/5; 64 gets half of the network's 1/4 of them and all the memory's
        // half: 0.8 * (0.125 + 0.5) = 0.5.
        let share = |k: usize| k as f64 / n as f64;
        assert!((share(recalled) - 0.5).abs() < 0.02, "{}", share(recalled));
        assert!((share(rests) - 0.2).abs() < 0.02, "{}", share(rests));
        // The memory is for one draw: the next plays the network alone.
        let alone = (0..n)
            .filter(|_| s.sample(&logits, &allowed) == Some(pitch(64) as u32))
            .count();
        assert!((share(alone) - 0.2).abs() < 0.02, "{}", share(alone));
    }

    #[test]
    fn the_rhythm_memory_mixes_into_the_time_choices_and_keeps_the_microtiming() {
        let id = |t: Token| Vocab::id(t) as usize;
        let (drum, pos, bar, micro) = (
            id(Token::Drum(42)),
            id(Token::Pos(6)),
            id(Token::Bar),
            id(Token::Micro(1)),
        );
        let logits = vec![0.0f32; VOCAB_SIZE as usize];
        let mut allowed = vec![false; VOCAB_SIZE as usize];
        for i in [drum, pos, bar, micro] {
            allowed[i] = true;
        }
        // The memory recalls the next position (and a velocity, which is not its to choose).
        let mut dist = vec![0.0f32; VOCAB_SIZE as usize];
        dist[pos] = 2.0;
        dist[id(Token::Vel(3))] = 5.0;
        let mut s = Sampler::new(SamplerConfig::default(), 9);
        let n = 20_000;
        let (mut at_pos, mut micros) = (0, 0);
        for _ in 0..n {
            s.set_token_memory(0.6, &dist, MemoryScope::Rhythm);
            let x = s.sample(&logits, &allowed).unwrap() as usize;
            at_pos += (x == pos) as usize;
            micros += (x == micro) as usize;
        }
        let share = |k: usize| k as f64 / n as f64;
        // The time choices keep their 3/4; the position gets 0.4 of the network's third of it
        // and all the memory's 0.6: 0.75 * (0.4 / 3 + 0.6) = 0.55.
        assert!((share(at_pos) - 0.55).abs() < 0.02, "{}", share(at_pos));
        assert!((share(micros) - 0.25).abs() < 0.02, "{}", share(micros));
    }

    #[test]
    fn a_pitched_roles_rhythm_memory_plays_now_and_leaves_the_pitch_to_the_note_memory() {
        let id = |t: Token| Vocab::id(t) as usize;
        let (c, e, pos, bar, vel) = (
            id(Token::Pitch(48)),
            id(Token::Pitch(52)),
            id(Token::Pos(12)),
            id(Token::Bar),
            id(Token::Vel(3)),
        );
        let logits = vec![0.0f32; VOCAB_SIZE as usize];
        let mut allowed = vec![false; VOCAB_SIZE as usize];
        for i in [c, e, pos, bar, vel] {
            allowed[i] = true;
        }
        let mut s = Sampler::new(SamplerConfig::default(), 5);
        let mut pitches = [0.0f32; 128];
        pitches[52] = 1.0;
        let none = vec![0.0f32; VOCAB_SIZE as usize];
        let mut to_bar = vec![0.0f32; VOCAB_SIZE as usize];
        to_bar[bar] = 1.0;
        let n = 20_000;
        let (mut at_e, mut at_c, mut at_bar, mut at_vel) = (0, 0, 0, 0);
        let (mut rest_notes, mut rest_vel) = (0, 0);
        for _ in 0..n {
            // Where the role has not played yet: the memory says play now (weight 0.8), and
            // the note memory says which pitch (0.5).
            s.set_rhythm_memory(0.8, &none, Some(1.0));
            s.set_memory(0.5, &pitches);
            let x = s.sample(&logits, &allowed).unwrap() as usize;
            at_e += (x == e) as usize;
            at_c += (x == c) as usize;
            at_vel += (x == vel) as usize;
            // It says rest to the bar line.
            s.set_rhythm_memory(0.8, &to_bar, Some(0.0));
            let y = s.sample(&logits, &allowed).unwrap() as usize;
            at_bar += (y == bar) as usize;
            rest_notes += (y == c || y == e) as usize;
            rest_vel += (y == vel) as usize;
        }
        let share = |k: usize| k as f64 / n as f64;
        // Notes and time hold 4/5 of the mass (1/5 each id): the notes get 0.2 * 0.4 + 0.8 * 0.8
        // = 0.72 of it, shared 3:1 by the note memory; the velocity keeps its 0.2.
        assert!((share(at_e) - 0.54).abs() < 0.02, "{}", share(at_e));
        assert!((share(at_c) - 0.18).abs() < 0.02, "{}", share(at_c));
        assert!((share(at_vel) - 0.2).abs() < 0.02, "{}", share(at_vel));
        // Resting: the notes keep 0.2 of their 0.4; the bar line 0.2 * 0.2 + 0.8 * 0.8.
        assert!((share(rest_notes) - 0.08).abs() < 0.02, "{}", share(rest_notes));
        assert!((share(at_bar) - 0.68).abs() < 0.02, "{}", share(at_bar));
        assert!((share(rest_vel) - 0.2).abs() < 0.02, "{}", share(rest_vel));
    }

    #[test]
    fn temperature_sharpens_the_notes_and_keeps_the_rests_mass() {
        let (a, b) = (
            Vocab::id(Token::Pitch(60)) as usize,
            Vocab::id(Token::Pitch(61)) as usize,
        );
        let rest = Vocab::id(Token::Pos(36)) as usize;
        let mut logits = vec![0.0f32; VOCAB_SIZE as usize];
        let mut allowed = vec![false; VOCAB_SIZE as usize];
        for i in [a, b, rest] {
            allowed[i] = true;
        }
        // At temperature 1: a 0.5, b 0.25, the rest 0.25.
        logits[a] = 2f32.ln();
        let share = |t: f32| {
            let mut s = Sampler::new(
                SamplerConfig {
                    temperature: t,
                    top_k: 0,
                    top_p: 1.0,
                },
                7,
            );
            let n = 40_000;
            let mut c = [0usize; 3];
            for _ in 0..n {
                let x = s.sample(&logits, &allowed).unwrap() as usize;
                c[[a, b, rest].iter().position(|&i| i == x).unwrap()] += 1;
            }
            c.map(|k| k as f64 / n as f64)
        };
        let one = share(1.0);
        assert!((one[0] - 0.5).abs() < 0.015 && (one[2] - 0.25).abs() < 0.015, "{one:?}");
        // At 0.5 the notes' 0.75 splits 4:1 (0.6, 0.15); the rest keeps 0.25.
        let half = share(0.5);
        assert!(
            (half[0] - 0.6).abs() < 0.015 && (half[1] - 0.15).abs() < 0.015,
            "{half:?}"
        );
        assert!((half[2] - 0.25).abs() < 0.015, "{half:?}");
        // At 2 they split 1.41:1; the rest still keeps 0.25.
        let two = share(2.0);
        assert!(
            (two[0] - 0.75 * 2f64.sqrt() / (1.0 + 2f64.sqrt())).abs() < 0.015,
            "{two:?}"
        );
        assert!((two[2] - 0.25).abs() < 0.015, "{two:?}");
    }

    #[test]
    fn constraints_lock_the_scale_but_never_empty_the_mask() {
        let mut logits = vec![0.0f32; VOCAB_SIZE as usize];
        let mut allowed = vec![false; VOCAB_SIZE as usize];
        for p in 60..72 {
            allowed[Vocab::id(Token::Pitch(p)) as usize] = true;
        }
        let c = Constraints {
            pitch_classes: Scale::Major.mask(0),
            ..Constraints::default()
        };
        apply_constraints(&c, 0, None, &mut logits, &mut allowed, false);
        let kept: Vec<u8> = (60..72)
            .filter(|&p| allowed[Vocab::id(Token::Pitch(p)) as usize])
            .collect();
        assert_eq!(kept, vec![60, 62, 64, 65, 67, 69, 71]);
        let c = Constraints {
            pitch_lo: 100,
            ..Constraints::default()
        };
        apply_constraints(&c, 0, None, &mut logits, &mut allowed, false);
        assert!(allowed[Vocab::id(Token::Pitch(60)) as usize]);
    }

    /// A register leaves a note in a thousand out at each end; the user's range plays within it,
    /// or alone where the two do not meet.
    #[test]
    fn the_register_leaves_the_stray_notes_out_and_holds_the_users_range() {
        let mut counts = [0u64; 128];
        counts[20] = 1; // a stray low note
        (40..=60).for_each(|p| counts[p] = 100);
        counts[100] = 2; // two stray high notes
        assert_eq!(register_of(&counts), Some((40, 60)));
        counts[100] = 3; // 3 of 2,104 notes is more than one in a thousand
        assert_eq!(register_of(&counts), Some((40, 100)));
        assert_eq!(register_of(&[0; 128]), None);
        let bass = Some((28, 67));
        assert_eq!(within_register(bass, DEFAULT_PITCH_LO, DEFAULT_PITCH_HI), (28, 67));
        assert_eq!(within_register(bass, 36, 96), (36, 67));
        assert_eq!(within_register(bass, 72, 84), (72, 84), "they do not meet: the user's");
        assert_eq!(within_register(None, 36, 96), (36, 96));
    }

    /// A monophonic role whose last note still sounds, where the grammar asks for a note: the
    /// polyphony cap yields and nothing else does (the range and scale hold, the Harmony still
    /// pulls). Where a position may come instead, the cap holds.
    #[test]
    fn a_sounding_note_lifts_the_polyphony_cap_only() {
        let v = VOCAB_SIZE as usize;
        let pitch = |p: u8| Vocab::id(Token::Pitch(p)) as usize;
        let c = Constraints {
            pitch_lo: 28,
            pitch_hi: 67,
            pitch_classes: Scale::Major.mask(0),
            chord_tones: 1.0,
            ..Constraints::for_role(crate::music::Role::Bass)
        };
        assert_eq!(c.max_polyphony, 1);
        let c7 = crate::chord::Chord::parse("C7").unwrap();
        let mut logits = vec![0.0f32; v];
        let mut allowed = vec![false; v];
        (20..100).for_each(|p| allowed[pitch(p)] = true);
        apply_constraints(&c, 1, c7, &mut logits, &mut allowed, false);
        let kept: Vec<u8> = (20..100).filter(|&p| allowed[pitch(p)]).collect();
        assert_eq!(kept.first(), Some(&28));
        assert_eq!(kept.last(), Some(&67));
        assert!(!allowed[pitch(61)], "C# is outside C major");
        assert!(logits[pitch(48)] > logits[pitch(50)], "C is in C7, D is not");
        // A position may come instead: the sounding note keeps the new one out.
        let mut allowed = vec![false; v];
        (20..100).for_each(|p| allowed[pitch(p)] = true);
        allowed[Vocab::id(Token::Pos(4)) as usize] = true;
        apply_constraints(&c, 1, c7, &mut vec![0.0f32; v], &mut allowed, false);
        assert!((20..100).all(|p| !allowed[pitch(p)]));
        assert!(allowed[Vocab::id(Token::Pos(4)) as usize]);
    }

    /// The length hold masks the lengths past its multiple of the take's longest note, and nothing
    /// else; it waits for enough notes and never masks every length.
    #[test]
    fn the_length_hold_keeps_a_role_to_the_lengths_of_its_take() {
        let v = VOCAB_SIZE as usize;
        let dur = |d: usize| Vocab::id(Token::Dur(d as u8)) as usize;
        let ticks = crate::tokenizer::vocab::DURATION_TICKS;
        let fresh = || {
            let mut a = vec![false; v];
            (0..ticks.len()).for_each(|d| a[dur(d)] = true);
            a[Vocab::id(Token::Bar) as usize] = true;
            a
        };
        // Sixteen notes of a beat at most (12 ticks), the last one a beat long.
        let played = (0..HOLD_AFTER).fold(Span::EMPTY, |s, i| s.with(40).lasting(if i == 9 { 12 } else { 6 }));
        assert_eq!(played.longest, 12);
        let mut a = fresh();
        let early = (0..HOLD_AFTER - 1).fold(Span::EMPTY, |s, _| s.with(40).lasting(12));
        hold_length(early, 1.0, &mut a);
        assert_eq!(a, fresh(), "too few notes yet");
        hold_length(played, 0.0, &mut a);
        assert_eq!(a, fresh(), "off");
        hold_length(played, 1.0, &mut a);
        let kept: Vec<u16> = (0..ticks.len()).filter(|&d| a[dur(d)]).map(|d| ticks[d]).collect();
        assert_eq!(kept, (1..=12).collect::<Vec<u16>>(), "a beat at most");
        assert!(a[Vocab::id(Token::Bar) as usize], "time is never masked");
        let mut a = fresh();
        hold_length(played, 1.5, &mut a);
        assert_eq!(
            ticks
                .iter()
                .enumerate()
                .filter(|&(d, _)| a[dur(d)])
                .map(|(_, &t)| t)
                .max(),
            Some(18)
        );
        // Only lengths past the hold allowed: left as they were.
        let mut a = vec![false; v];
        a[dur(ticks.len() - 1)] = true;
        hold_length(played, 1.0, &mut a);
        assert!(a[dur(ticks.len() - 1)]);
    }

    /// The register hold masks the pitches beyond its margin around the role's take so far, and
    /// nothing else; it waits for enough notes, remembers the whole take, and never masks every
    /// pitch.
    #[test]
    fn the_register_hold_keeps_a_role_near_its_take() {
        let v = VOCAB_SIZE as usize;
        let pitch = |p: u8| Vocab::id(Token::Pitch(p)) as usize;
        let bar = Vocab::id(Token::Bar) as usize;
        let fresh = || {
            let mut a = vec![false; v];
            for p in 30..=100 {
                a[pitch(p)] = true;
            }
            a[bar] = true;
            a
        };
        let span = |pitches: &[u8]| pitches.iter().fold(Span::EMPTY, |s, &p| s.with(p));
        let played: Vec<u8> = (0..HOLD_AFTER).map(|i| 60 + (i % 8) as u8).collect(); // 60..=67
        assert_eq!(
            span(&played),
            Span {
                notes: HOLD_AFTER,
                lo: 60,
                hi: 67,
                longest: 0
            }
        );
        let mut a = fresh();
        hold_register(span(&played[..HOLD_AFTER - 1]), 4, &mut a);
        assert_eq!(a, fresh(), "too few notes yet");
        hold_register(span(&played), 0, &mut a);
        assert_eq!(a, fresh(), "off");
        hold_register(span(&played), 4, &mut a);
        let kept: Vec<u8> = (30..=100).filter(|&p| a[pitch(p)]).collect();
        assert_eq!(kept, (56..=71).collect::<Vec<u8>>(), "4 semitones beyond 60-67");
        assert!(a[bar], "time is never masked");
        // The whole take counts: a low note long ago still opens the register down to it.
        let mut long = vec![40u8];
        long.extend(std::iter::repeat_n(72u8, 500));
        let mut a = fresh();
        hold_register(span(&long), 2, &mut a);
        assert!(!a[pitch(37)] && a[pitch(38)] && a[pitch(74)] && !a[pitch(75)]);
        // Only pitches far away allowed: left as they were.
        let mut a = vec![false; v];
        a[pitch(100)] = true;
        a[bar] = true;
        let before = a.clone();
        hold_register(span(&played), 4, &mut a);
        assert_eq!(a, before, "never masks every allowed pitch");
    }

    /// The duration temperature sharpens the choice among lengths (the likeliest gains, the long
    /// tail loses) and touches no other id.
    #[test]
    fn the_duration_temperature_sharpens_the_lengths_only() {
        let v = VOCAB_SIZE as usize;
        let mut logits = vec![0.0f32; v];
        let mut allowed = vec![false; v];
        let lengths = [(3u8, 2.0f32), (6, 1.0), (40, 0.0)];
        for &(d, l) in &lengths {
            logits[Vocab::id(Token::Dur(d)) as usize] = l;
            allowed[Vocab::id(Token::Dur(d)) as usize] = true;
        }
        let pitch = Vocab::id(Token::Pitch(60)) as usize;
        logits[pitch] = 1.5;
        allowed[pitch] = true;
        let probs = |logits: &[f32]| -> Vec<f64> {
            let z: f64 = lengths
                .iter()
                .map(|&(d, _)| (logits[Vocab::id(Token::Dur(d)) as usize] as f64).exp())
                .sum();
            lengths
                .iter()
                .map(|&(d, _)| (logits[Vocab::id(Token::Dur(d)) as usize] as f64).exp() / z)
                .collect()
        };
        let before = probs(&logits);
        let mut sharp = logits.clone();
        temper_durations(&mut sharp, &allowed, 0.5);
        let after = probs(&sharp);
        assert!(after[0] > before[0] + 0.1, "{before:?} -> {after:?}");
        assert!(after[2] < before[2] / 2.0, "the long tail: {before:?} -> {after:?}");
        assert_eq!(sharp[pitch], 1.5, "a pitch keeps its logit");
        let mut same = logits.clone();
        temper_durations(&mut same, &allowed, 1.0);
        temper_durations(&mut same, &allowed, 0.0);
        temper_durations(&mut same, &allowed, f32::NAN);
        assert_eq!(same, logits, "1, or a value out of range, changes nothing");
    }

    #[test]
    fn the_density_calibration_adds_to_the_density_on_note_starts_only() {
        let pitch = Vocab::id(Token::Pitch(60)) as usize;
        let drum = Vocab::id(Token::Drum(38)) as usize;
        let time = Vocab::id(Token::Bar) as usize;
        let run = |c: Constraints, drums: bool| {
            let mut logits = vec![0.0f32; VOCAB_SIZE as usize];
            let mut allowed = vec![false; VOCAB_SIZE as usize];
            for id in [pitch, drum, time] {
                allowed[id] = true;
            }
            apply_constraints(&c, 0, None, &mut logits, &mut allowed, drums);
            (logits[pitch], logits[drum], logits[time])
        };
        let calibrated = run(
            Constraints {
                note_bias: -0.4,
                ..Constraints::default()
            },
            false,
        );
        assert_eq!(calibrated, (-0.4, -0.4, 0.0));
        // The user's Density comes on top of the model's calibration.
        let both = run(
            Constraints {
                note_bias: -0.4,
                density: 0.45,
                ..Constraints::default()
            },
            true,
        );
        let d = 2.0 * (0.45f32 / 0.55).ln();
        assert!(
            (both.0 - (d - 0.4)).abs() < 1e-6 && (both.1 - (d - 0.4)).abs() < 1e-6,
            "{both:?}"
        );
        assert_eq!(both.2, 0.0, "time is never biased");
        let broken = run(
            Constraints {
                note_bias: f32::NAN,
                ..Constraints::default()
            },
            false,
        );
        assert_eq!(broken, (0.0, 0.0, 0.0), "a damaged value leaves the model as it is");
    }
}
