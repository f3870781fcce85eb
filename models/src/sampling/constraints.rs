//! The musical constraints on a sampled token: the pitch classes, register and holds, the
//! density and rest calibrations, the scale, and the mask and logit biases they make
//! ([`apply_constraints`]).

use crate::tokenizer::{Token, VOCAB_SIZE, Vocab};

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
    /// model as it is; pitched roles only). A soft pull towards chord tones, never a mask, shared
    /// out within the notes' mass: it chooses which note, never whether to play one.
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
    /// A model's entry calibration ([`crate::package::Manifest::entry_rest`]): nats per beat of
    /// the gap to the next onset, added to the Density's tilt of the choice of time in the first
    /// bars of a stream that starts fresh (no prompt), halving each bar ([`entry_tilt`]). Soloists
    /// enter late and build; a network that learned from windows of a solo's middle starts at
    /// full density (models/README.md, "The solo's entry"). 0 leaves the opening to the network.
    pub entry_rest: f32,
    /// A model's duration calibration ([`crate::package::Manifest::duration_temperature`]): the
    /// temperature of the choice of a note's length (`DUR`), 1 leaving the network's. Below 1 it
    /// trims the long tail a network puts on the lengths of grooves it has not heard (the band's
    /// comping held a chord note 9.6 beats where the grooves' longest is 4.2; models/README.md,
    /// "The comping's long notes").
    pub duration_temperature: f32,
    /// A model's velocity calibration ([`crate::package::Manifest::velocity_temperature`]): the
    /// temperature of the choice of a note's velocity (`VEL`), 1 leaving the network's. Below 1
    /// it keeps a role's dynamics on its likeliest shading: at temperature 1 the band's bass
    /// spread its velocities a third wider than the grooves do, jumping now and then to a far
    /// level (models/README.md, "The touch of a line").
    pub velocity_temperature: f32,
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
    /// A model's silence calibration ([`crate::package::Manifest::silence`]): nats the choice of
    /// time pays for each beat of a move in which none of the role's notes sound (the part of the
    /// gap to the next onset after its notes have ended), so a role that falls silent where its
    /// humans hold on does so less; negative values rest more. Unlike the rest calibration it
    /// needs no given event, and unlike the density calibration it leaves a held note's
    /// continuation alone (models/README.md, "Silences"). It is fitted at the neutral Density
    /// and fades with a lower one, where the user asks for rests ([`NEUTRAL_DENSITY`]). 0 leaves
    /// the network's silences.
    pub silence: f32,
    /// A model's fast-note calibration ([`crate::package::Manifest::fast_notes`]): nats the
    /// choice of time pays for starting the role's next note less than [`FAST_NOTE_MS`] after its
    /// last onset, the more the sooner ([`fast_note_cost`]; a second note at the same onset, a
    /// chord, pays nothing), the mass it takes going to the choices a little later
    /// ([`FAST_NOTE_REACH`]). A soloist's network plays more notes 40-140 ms apart than its
    /// soloists do, and a silence calibration cannot thin them: it fills or empties whole beats
    /// (models/README.md, "A soloist's fast notes"). It is fitted at the neutral Density and fades
    /// with a higher one, where the user asks for notes ([`fast_note_tilt`]). 0 leaves the
    /// network's. Pitched roles only.
    pub fast_notes: f32,
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
    let first = Vocab::id(Token::Dur(0)) as usize;
    temper_ids(
        logits,
        allowed,
        t,
        first..first + crate::tokenizer::vocab::DURATION_TICKS.len(),
    );
}

/// The lowest and highest velocity calibration a model may set
/// ([`Constraints::velocity_temperature`]).
pub const VELOCITY_TEMPERATURE_RANGE: std::ops::RangeInclusive<f32> = DURATION_TEMPERATURE_RANGE;

/// Applies a velocity temperature `t` to the allowed `VEL` logits, as [`temper_durations`] does
/// to the lengths (after a note the grammar allows only velocities).
pub fn temper_velocities(logits: &mut [f32], allowed: &[bool], t: f32) {
    let first = Vocab::id(Token::Vel(0)) as usize;
    temper_ids(
        logits,
        allowed,
        t,
        first..first + crate::tokenizer::vocab::VELOCITY_BINS as usize,
    );
}

/// Divides the allowed logits of `ids` by `t` (a calibration temperature within
/// [`DURATION_TEMPERATURE_RANGE`]; 1, or one outside it, leaves them).
fn temper_ids(logits: &mut [f32], allowed: &[bool], t: f32, ids: std::ops::Range<usize>) {
    if !DURATION_TEMPERATURE_RANGE.contains(&t) || (t - 1.0).abs() < 1e-6 {
        return;
    }
    for (l, &a) in logits.iter_mut().zip(allowed).take(ids.end).skip(ids.start) {
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

/// Bars of a fresh stream the entry calibration reaches ([`entry_tilt`]).
pub const ENTRY_BARS: i32 = 4;

/// The entry calibration's tilt (nats per beat of the gap to the next onset) in bar `bar` of a
/// stream that started fresh (0 = its first bar): the whole value in the first bar, halving each
/// bar after it, nothing from bar [`ENTRY_BARS`] on (or before the first).
pub fn entry_tilt(nats_per_beat: f32, bar: i32) -> f32 {
    if (0..ENTRY_BARS).contains(&bar) && nats_per_beat.is_finite() {
        nats_per_beat / (1 << bar) as f32
    } else {
        0.0
    }
}

/// How strongly Density moves the choice of when the next note starts: nats per beat of the gap
/// to it, per unit of Density's log-odds `ln(d / (1 - d))` ([`density_time_tilt`]).
pub const DENSITY_NATS_PER_BEAT: f32 = 0.5;

/// The Density at which it acts on nothing (the plugin's default, and `trainer generate`'s):
/// the network's own density, with the model's calibrations.
pub const NEUTRAL_DENSITY: f32 = 0.5;

/// The nats a silent beat costs with a silence calibration of `silence` at Density `density`
/// ([`Constraints::silence`]): the whole calibration at the neutral Density and above, fading in
/// proportion below it to none at 0 (the user asks for rests there); 0 for a value not finite.
pub fn silence_tilt(silence: f32, density: f32) -> f32 {
    if silence.is_finite() && density.is_finite() {
        silence * (density / NEUTRAL_DENSITY).clamp(0.0, 1.0)
    } else {
        0.0
    }
}

/// The window of the fast-note calibration ([`Constraints::fast_notes`]), milliseconds: a note
/// starting this long after the role's last onset or later pays nothing. 16th notes up to 180 BPM
/// and 8th notes above it lie within it: where the jazz lead's gaps outnumber its soloists'
/// (models/README.md, "The lead's fast notes, in milliseconds").
pub const FAST_NOTE_MS: f64 = 160.0;

/// The nats a fast-note calibration of `nats` costs at Density `density`
/// ([`Constraints::fast_notes`]): the whole calibration at the neutral Density and below, fading
/// in proportion above it to none at 1 (the user asks for notes there); 0 for a value not finite.
pub fn fast_note_tilt(nats: f32, density: f32) -> f32 {
    if nats.is_finite() && density.is_finite() {
        nats * ((1.0 - density) / (1.0 - NEUTRAL_DENSITY)).clamp(0.0, 1.0)
    } else {
        0.0
    }
}

/// How far past the last onset the fast-note calibration moves what it takes from the fast
/// notes: to the choices that start the next note [`FAST_NOTE_MS`] to this many times
/// [`FAST_NOTE_MS`] after it (160 to 400 ms: 8th notes up to 180 BPM, quarters above), in
/// proportion to their own probability. The jazz lead plays a fifth fewer notes 250-400 ms after
/// the last than its soloists, and a quarter to a half more 40-140 ms after (models/README.md,
/// "The lead's fast notes, in milliseconds").
pub const FAST_NOTE_REACH: f64 = 2.5;

/// Milliseconds `gap_ticks` last at `bpm` (120 when the tempo is unknown).
fn gap_ms(gap_ticks: i64, bpm: Option<f64>) -> f64 {
    let bpm = bpm.filter(|b| b.is_finite() && *b > 0.0).unwrap_or(120.0);
    gap_ticks as f64 * 60_000.0 / (bpm * crate::tokenizer::vocab::TICKS_PER_BEAT as f64)
}

/// Whether a note starting `gap_ticks` after the role's last onset, at `bpm`, lies where the
/// fast-note calibration moves the fast notes' mass ([`FAST_NOTE_REACH`]).
pub fn in_fast_note_reach(gap_ticks: i64, bpm: Option<f64>) -> bool {
    let ms = gap_ms(gap_ticks, bpm);
    (FAST_NOTE_MS..FAST_NOTE_MS * FAST_NOTE_REACH).contains(&ms)
}

/// What a note starting `gap_ticks` after the role's last onset pays, at `bpm` (120 when the
/// tempo is unknown), with a fast-note tilt of `nats` ([`fast_note_tilt`]): `nats * (1 - ms /
/// FAST_NOTE_MS)` for a gap shorter than [`FAST_NOTE_MS`], 0 for a longer one or for none (a
/// chord).
pub fn fast_note_cost(nats: f32, gap_ticks: i64, bpm: Option<f64>) -> f32 {
    if gap_ticks <= 0 || nats == 0.0 || !nats.is_finite() {
        return 0.0;
    }
    let ms = gap_ms(gap_ticks, bpm);
    if ms >= FAST_NOTE_MS {
        0.0
    } else {
        nats * (1.0 - ms / FAST_NOTE_MS) as f32
    }
}

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
            density: NEUTRAL_DENSITY,
            chord_tones: 0.0,
            steady_dynamics: false,
            rest_bias: 0.0,
            note_bias: 0.0,
            memory: crate::memory::MemoryWeights::NONE,
            first_bar_drafts: 1,
            fast_rest: 0.0,
            entry_rest: 0.0,
            duration_temperature: 1.0,
            velocity_temperature: 1.0,
            register_hold: 0,
            length_hold: 0.0,
            silence: 0.0,
            fast_notes: 0.0,
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
            density: NEUTRAL_DENSITY,
            chord_tones: if drums { 0.0 } else { DEFAULT_CHORD_TONES },
            steady_dynamics: drums,
            rest_bias: 0.0,
            note_bias: 0.0,
            memory: crate::memory::MemoryWeights::NONE,
            first_bar_drafts: if drums { FIRST_BAR_DRAFTS } else { 1 },
            fast_rest: 0.0,
            entry_rest: 0.0,
            duration_temperature: 1.0,
            velocity_temperature: 1.0,
            register_hold: 0,
            length_hold: 0.0,
            silence: 0.0,
            fast_notes: 0.0,
        }
    }
}

/// Default harmony bonus (nats) for chord tones of pitched roles: 0.24 (6 % on the plugin's
/// Harmony), a seasoning. With the tuned note temperatures the jazz lead alone plays 0.45 chord
/// tones on the WJazzD validation solos (soloists 0.54): 0.25 nat brings it to 0.53, the former
/// 0.5 to 0.62, more inside than the soloists (models/README.md, "Harmony").
pub const DEFAULT_CHORD_TONES: f32 = 0.24;

/// The chord-tone bonus (nats) at 100 % of the plugin's Harmony.
pub const FULL_CHORD_TONES: f32 = 4.0;

/// The user's Harmony `user` (nats) for a role whose model was tuned to play `tuned` nats at the
/// default [`DEFAULT_CHORD_TONES`] ([`crate::package::Manifest::harmony`]): piecewise linear
/// through 0 -> 0 (the network alone), the default -> `tuned` and [`FULL_CHORD_TONES`] -> itself,
/// so every setting of the knob still pulls, more as it rises. A `tuned` outside
/// `0..=FULL_CHORD_TONES`, or a role at the default, keeps the user's.
pub fn tuned_harmony(user: f32, tuned: f32) -> f32 {
    let d = DEFAULT_CHORD_TONES;
    if !(0.0..=FULL_CHORD_TONES).contains(&tuned) || tuned == d || !user.is_finite() || user <= 0.0 {
        return user.max(0.0);
    }
    if user <= d {
        tuned * user / d
    } else {
        tuned + (FULL_CHORD_TONES - tuned) * (user - d) / (FULL_CHORD_TONES - d)
    }
}

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
            Some(Token::Pitch(_)) => logits[id] += bias,
            Some(Token::Drum(_)) => logits[id] += bias,
            _ => {}
        }
    }
    if let Some(ch) = harmony {
        pull_to_chord_tones(c.chord_tones, ch, logits, allowed);
    }
}

/// The Harmony: `nats` more log-probability for the allowed pitches in `chord`, shared out within
/// the notes' mass. The allowed pitches keep their total probability against every other token,
/// so the pull chooses which note, never whether to play one: a bonus on the chord tones alone
/// had made the band's comping play 7 % more notes at the default 0.24 nat (more notes stacked
/// into each chord; models/README.md, "The Harmony default, per role"). The time, Density and
/// rest decisions stay the network's and the calibrations'. Allocates nothing.
fn pull_to_chord_tones(nats: f32, chord: crate::chord::Chord, logits: &mut [f32], allowed: &[bool]) {
    // The allowed pitches, with whether each is a chord tone.
    let pitches = || {
        (0..=127u8).filter_map(|p| {
            let id = Vocab::id(Token::Pitch(p)) as usize;
            (allowed[id] && logits[id].is_finite()).then(|| (id, chord.contains_pitch(p)))
        })
    };
    let Some(max) = pitches().map(|(id, _)| logits[id]).reduce(f32::max) else {
        return;
    };
    // The pitches' mass before and after the pull, relative to the largest logit.
    let (mut before, mut after) = (0.0f64, 0.0f64);
    for (id, tone) in pitches() {
        let e = ((logits[id] - max) as f64).exp();
        before += e;
        after += if tone { e * (nats as f64).exp() } else { e };
    }
    if !(before > 0.0 && after > 0.0) {
        return;
    }
    let shift = (after / before).ln() as f32;
    for p in 0..=127u8 {
        let id = Vocab::id(Token::Pitch(p)) as usize;
        if allowed[id] && logits[id].is_finite() {
            logits[id] += if chord.contains_pitch(p) { nats } else { 0.0 } - shift;
        }
    }
}
