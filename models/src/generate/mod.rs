//! The generation session: one token stream being written by a [`TokenModel`], in step with a
//! conditioning timeline, with rollback to any beat. The plugin's generator thread and
//! `trainer generate` both drive generation through this module.
//!
//! # Timeline
//! Times are absolute *ticks* ([`TICKS_PER_BEAT`] per quarter-note beat) on the caller's timeline
//! (the host's beats times 12). A session starts at a bar boundary (`origin`), in one constant
//! time signature; the stream's bar 0 starts there. [`GeneratedNote`]s come out in beats on the
//! caller's timeline.
//!
//! # Given events (the runtime rule)
//! [`Conditioning`] holds what the user really played (chords and input onsets), and, for the
//! part of the future they have not played yet, what is assumed: nothing new, so the last chord
//! holds. Given tokens are never sampled: the sampling mask only admits predicted token kinds
//! (`BAR`, `POS`, notes; `EOS` only when the session may end). When the model samples a
//! time-advancing token that would move past the next given event (a `POS` later than it, or a
//! `BAR`/`EOS` when the event is still in the current bar), the session writes the event's `POS`
//! and its given tokens (chord root and quality or N.C., then the `IN` pitches) instead, and
//! samples again from there. A sampled `POS` equal to the event's position is kept, and the given
//! tokens are written right after it. A chord equal to the chord in force is not written (the
//! encoder writes changes only), and `IN` tokens are written only when the role is conditioned on
//! input ([`SessionConfig::write_inputs`]). So the model is conditioned on exactly the stream the
//! encoder would have written for the same music.
//!
//! # Rollback
//! Each token keeps the grammar state, position, chord in force and PRNG state from before it.
//! [`Session::rollback`] truncates tokens, model context and notes to the first time-advancing
//! token at or after a tick; generation then resumes from there with the current conditioning.
//! Because the PRNG state is restored too, regenerating with unchanged conditioning gives the
//! same tokens again.
//!
//! # Re-priming
//! When, at a bar line, less room is left in the model's context than two of the densest bars seen
//! (or a quarter of the context), the session keeps the last [`SessionConfig::keep_bars`] bars
//! (fewer if they would fill more than half the context) ([`Sequence::slice_bars`] of the decoded stream),
//! re-encodes them and feeds them as one prefill. Rollback cannot reach before the kept bars;
//! [`Session::rollback`] says so and the caller starts a new session.
//!
//! # Prompts and silence
//! A session can start from a **prompt** ([`SessionConfig::prompt`]): notes that are the
//! generated role's own first bars (a sketch to continue, the phrase an answer develops, the
//! replayed bars of a loop). They are encoded with their conditioning and written like re-primed
//! bars, and the model continues from their end. [`SessionConfig::silent_until`] keeps the
//! session from starting a note before a tick. See `generate/prompt.rs`.

mod density;
mod drums;
#[cfg(test)]
mod drums_tests;
mod given;
use given::chord_tokens;
#[cfg(test)]
mod memory_tests;
mod prompt;
mod recall;

use std::collections::BTreeMap;

use crate::chord::Chord;
use crate::model::{ModelState, TokenModel};
use crate::music::{ChordEvent, Meter, Note, Onset};
use crate::sampling::{Constraints, Rng, Sampler, SamplerConfig, apply_constraints, is_sampleable};
use crate::tokenizer::vocab::{
    DRUM_HIT_TICKS, DURATION_TICKS, MICRO_STEPS_PER_TICK, TICKS_PER_BEAT, bin_velocity, time_signature_index,
    velocity_bin,
};
use crate::tokenizer::{GrammarState, Sequence, Token, Tokenizer, VOCAB_SIZE, Vocab, decode};

mod conditioning;
mod config;
mod reprime;
pub mod tunes;
mod voicing;

pub use conditioning::{Conditioning, FollowEffect, InputFollower, beat_to_tick, tick_to_beat};
pub use config::{GenerateError, GeneratedNote, SessionConfig, session_seed};

/// State before one token: what rollback restores.
#[derive(Debug, Clone, Copy)]
struct Mark {
    state: GrammarState,
    bar_start: i64,
    group: Option<i64>,
    chord: Option<Option<Chord>>,
    rng: Rng,
    /// Tick the token moves the stream to (for `BAR`/`POS`), else the current position.
    at: i64,
    /// Bar-length bookkeeping before the token (see [`BarStats`]).
    stats: BarStats,
}

/// Tokens of the current bar and of the densest bar so far, counted as the tokens are sampled or
/// given (not when a re-prime replays them), and restored by a rollback: the re-prime decision is
/// then a function of the stream alone, so a rolled-back session re-primes where a session that
/// knew the future would.
#[derive(Debug, Clone, Copy, Default)]
struct BarStats {
    current: usize,
    densest: usize,
}

/// The stream as it was before a re-prime, so that a rollback to before the bar where the
/// re-prime happened restores the longer context the stream had there (a session that knew the
/// future would not have re-primed yet).
#[derive(Debug, Clone)]
struct Snapshot {
    tokens: Vec<u32>,
    marks: Vec<Mark>,
    header_len: usize,
    origin: i64,
    replayed: usize,
    /// Tick of the bar line where the re-prime happened.
    at: i64,
    /// The model's context then, when it can save one (a KV cache): restored instead of
    /// re-feeding the tokens.
    model: Option<ModelState>,
}

/// Bars of an instrument's playing that set the velocity range of steady dynamics.
const STEADY_BARS: i64 = 4;
/// Velocity bins (8 each) steady dynamics allows beyond the range played.
const STEADY_MARGIN: u8 = 2;
/// The kick's margin: a drummer's foot keeps the steadiest level of the kit (velocity spread 16.0
/// on the GMD test pieces against 23-28 for snare and hi-hat); with the others' two bins its
/// range drifted to a spread of 20.1 over three seeds (models/README.md, "The human drums").
const STEADY_KICK_MARGIN: u8 = 1;
/// Hits an instrument plays before steady dynamics holds it.
const STEADY_MIN_HITS: usize = 4;

/// Room (tokens) below which the session closes the current bar early: enough for the given
/// events of one position (a chord and a handful of input onsets) and the `BAR`.
const CONTEXT_MARGIN: usize = 32;

/// Re-primes a rollback can undo (the look-ahead spans a few bars at most).
const MAX_SNAPSHOTS: usize = 4;

/// The role's latest notes a session reads for what still sounds: one that began before them is
/// taken to have ended.
const RECENT_NOTES: usize = 64;

#[derive(Debug, Clone, Copy)]
struct NoteRec {
    tick: i64,
    note: GeneratedNote,
}

/// A generation session over a model `M`.
#[derive(Debug)]
pub struct Session<M: TokenModel> {
    model: M,
    config: SessionConfig,
    bar_ticks: i64,
    origin: i64,
    tokens: Vec<u32>,
    marks: Vec<Mark>,
    header_len: usize,
    snapshots: Vec<Snapshot>,
    /// Tokens `..replayed` were rebuilt by the last re-prime (their marks hold no sampler state
    /// to regenerate from); a rollback into them needs the snapshot of the stream they replace.
    replayed: usize,
    state: GrammarState,
    bar_start: i64,
    group: Option<i64>,
    chord: Option<Option<Chord>>,
    pending_root: Option<u8>,
    /// (pitch, velocity bin) of a pitched note waiting for its `DUR`.
    pending_note: Option<(u8, u8)>,
    notes: Vec<NoteRec>,
    emitted: usize,
    ended: bool,
    replaying: bool,
    sampler: Sampler,
    logits: Vec<f32>,
    /// Logits of a look-ahead ([`Session::own_position`]).
    scratch: Vec<f32>,
    allowed: Vec<bool>,
    given_buf: Vec<u32>,
    reprimes: u64,
    /// Most tokens one bar has taken so far (sets how early to re-prime).
    stats: BarStats,
    /// PRNG state before the current step's draw (what a rollback to its tokens restores).
    rng_before: Rng,
    /// The role's notes in the order played, as the memory keeps them ([`crate::memory::key`];
    /// the drums' hits as [`crate::memory::groove::hit_key`]), the prompt's first: the first
    /// `prompt_pitches` from the prompt, then one per note of `notes`.
    history: Vec<crate::memory::Key>,
    /// The bar of each entry of `history` ([`Session::bar_index`]).
    history_bars: Vec<i32>,
    /// The onset (tick) and pitch of each entry of `history`: what the memory of the changes
    /// recalls ([`crate::memory::changes`]).
    history_tick: Vec<i64>,
    history_pitch: Vec<u8>,
    /// The role's span after each entry of `history` ([`crate::sampling::Span`]: what the register
    /// hold holds near).
    history_span: Vec<crate::sampling::Span>,
    /// The origin the session started at, which bars are counted from (a re-prime moves
    /// `origin`).
    first_origin: i64,
    prompt_pitches: usize,
    /// The memory's distribution over keys, then over pitches, or the groove's over token ids
    /// (scratch).
    recalled: Box<[f32; crate::memory::KEYS]>,
    recalled_pitches: [f32; 128],
    recalled_tokens: Vec<f32>,
    /// Log-probability sum and count of the first bar's sampled tokens since it was last
    /// cleared (the first-bar drafts' score; kept for every session, one softmax a token of its
    /// first bar, so an undrafted first bar can be compared).
    draft_score: (f64, usize),
}

impl<M: TokenModel> Session<M> {
    /// Starts a session at `origin` (a bar line, in ticks): writes the header and the first bar,
    /// and the chord in force at `origin` if `cond` has one; with a [`SessionConfig::prompt`],
    /// writes the prompt's bars instead (see `generate/prompt.rs`).
    pub fn new(
        mut model: M,
        mut config: SessionConfig,
        origin: i64,
        cond: &Conditioning,
    ) -> Result<Session<M>, GenerateError> {
        // A meter the network never learned is written in learned bars that divide it; the
        // fills stay in the last of the host's bar's parts.
        let ((numerator, denominator), parts) =
            crate::meters::stream_meter((config.numerator, config.denominator), &config.learned_meters);
        (config.numerator, config.denominator) = (numerator, denominator);
        if let Some(plan) = config.fills.as_mut() {
            plan.parts = parts;
        }
        let ts = time_signature_index(config.numerator, config.denominator)
            .ok_or(GenerateError::UnsupportedMeter(config.numerator, config.denominator))?;
        model.truncate(0);
        let bar_ticks = config.bar_ticks();
        let mut s = Session {
            model,
            bar_ticks,
            origin,
            tokens: Vec::with_capacity(4096),
            marks: Vec::with_capacity(4096),
            header_len: 0,
            snapshots: Vec::with_capacity(MAX_SNAPSHOTS + 1),
            replayed: 0,
            state: GrammarState::new(),
            bar_start: origin - bar_ticks,
            group: None,
            chord: None,
            pending_root: None,
            pending_note: None,
            notes: Vec::with_capacity(1024),
            emitted: 0,
            ended: false,
            replaying: false,
            sampler: Sampler::new(config.sampler, config.seed),
            logits: vec![0.0; VOCAB_SIZE as usize],
            scratch: vec![0.0; VOCAB_SIZE as usize],
            allowed: vec![false; VOCAB_SIZE as usize],
            given_buf: Vec::with_capacity(160),
            reprimes: 0,
            stats: BarStats::default(),
            rng_before: Rng::new(config.seed),
            history: Vec::with_capacity(1024),
            history_bars: Vec::with_capacity(1024),
            history_tick: Vec::with_capacity(1024),
            history_pitch: Vec::with_capacity(1024),
            history_span: Vec::with_capacity(1024),
            first_origin: origin,
            prompt_pitches: 0,
            recalled: Box::new([0.0; crate::memory::KEYS]),
            recalled_pitches: [0.0; 128],
            recalled_tokens: vec![0.0; VOCAB_SIZE as usize],
            draft_score: (0.0, 0),
            config,
        };
        // The prompt's notes in the order the tokenizer writes them (by onset, then pitch), each
        // over the chord in force at its onset; the drums' hits at their place in the bar.
        let relative = s.config.constraints.memory.relative;
        let mut prompt: Vec<(i64, u8, f64)> = s
            .config
            .prompt
            .iter()
            .map(|n| ((n.start * TICKS_PER_BEAT as f64).round() as i64, n.pitch, n.duration))
            .collect();
        prompt.sort_unstable_by_key(|&(t, p, _)| (t, p));
        for &(t, p, d) in &prompt {
            s.history_tick.push(t);
            s.push_pitch(p, d);
            let key = if s.config.role.is_drums() {
                let pos = (t - origin).rem_euclid(bar_ticks).min(u8::MAX as i64) as u8;
                crate::memory::groove::hit_key(pos, p)
            } else {
                let root = cond.chord_at(t).flatten().map(|c| c.root);
                crate::memory::key(p, root, relative)
            };
            s.history.push(key);
            s.history_bars.push((t - origin).div_euclid(bar_ticks) as i32);
        }
        s.prompt_pitches = s.history.len();
        if !s.config.prompt.is_empty() {
            s.write_prompt(cond)?;
            return Ok(s);
        }
        let mut header = vec![Vocab::id(Token::Bos), Vocab::id(Token::Role(s.config.role))];
        let mut styles = s.header_styles(origin.div_euclid(bar_ticks));
        if let Some(slot) = s.config.opening
            && styles.len() < crate::tokenizer::vocab::MAX_STYLES_PER_SEQUENCE
        {
            styles.push(slot);
            styles.sort_unstable();
            styles.dedup();
        }
        header.extend(styles.iter().map(|&st| Vocab::id(Token::Style(st))));
        header.push(Vocab::id(Token::TimeSig(ts)));
        if let Some(bpm) = s.config.tempo_bpm {
            header.push(Vocab::id(Token::Tempo(crate::tokenizer::vocab::tempo_bucket(bpm))));
        }
        for id in header {
            s.push(id)?;
        }
        s.header_len = s.tokens.len();
        s.push(Vocab::id(Token::Bar))?;
        // Restate the chord in force at the start (as `Sequence::slice_bars` does).
        if let Some(c) = cond.chord_at(origin)
            && !cond.chords.contains_key(&origin)
            && s.config.write_chords
        {
            s.given_buf.clear();
            s.given_buf.push(Vocab::id(Token::Pos(0)));
            chord_tokens(c, &mut s.given_buf);
            if s.config.write_inputs
                && let Some(ins) = cond.inputs.get(&origin)
            {
                s.given_buf.extend(ins.iter().map(|&p| Vocab::id(Token::InPitch(p))));
            }
            let buf = std::mem::take(&mut s.given_buf);
            for &id in &buf {
                s.push(id)?;
            }
            s.given_buf = buf;
        }
        if s.config.constraints.first_bar_drafts > 1 {
            s.draft_first_bar(cond)?;
        }
        Ok(s)
    }

    /// The settings.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// Changes sampling settings and constraints from the next token on (no rollback).
    pub fn set_sampling(&mut self, sampler: SamplerConfig, constraints: Constraints) {
        self.config.sampler = sampler;
        self.config.constraints = constraints;
        self.sampler.config = sampler;
    }

    /// The model.
    pub fn model(&self) -> &M {
        &self.model
    }

    /// Ends the session and gives its model back (to start another session without loading the
    /// model again).
    pub fn into_model(self) -> M {
        self.model
    }

    /// The token stream so far.
    pub fn tokens(&self) -> &[u32] {
        &self.tokens
    }

    /// Tick where the stream starts (bar 0 of the current stream).
    pub fn origin(&self) -> i64 {
        self.origin
    }

    /// How many times the context was re-primed.
    pub fn reprimes(&self) -> u64 {
        self.reprimes
    }

    /// Whether the model ended the piece.
    pub fn ended(&self) -> bool {
        self.ended
    }

    /// Tick up to which the stream is final: every note starting before it has been generated.
    pub fn frontier(&self) -> i64 {
        self.group.unwrap_or(self.bar_start)
    }

    /// Tick of the last written group (or bar line): a given event at or before it is in the
    /// past of the stream and needs a [`Session::rollback`] to take effect.
    pub fn written_through(&self) -> i64 {
        self.frontier()
    }

    /// Generates until every note starting before `target` (ticks) exists.
    pub fn generate_until(&mut self, cond: &Conditioning, target: i64) -> Result<(), GenerateError> {
        // Bound the work of one call: a bar holds at most a few hundred tokens.
        let mut budget = ((target - self.frontier()).max(0) / self.bar_ticks + 2) as usize * 2048;
        while self.frontier() < target && !self.ended {
            self.step(cond)?;
            budget = budget.saturating_sub(1);
            if budget == 0 {
                return Err(GenerateError::Stuck);
            }
        }
        Ok(())
    }

    /// Moves the notes that are final (start before the frontier) and not yet taken into `out`.
    pub fn drain_notes(&mut self, out: &mut Vec<GeneratedNote>) {
        let f = self.frontier();
        while let Some(n) = self.notes.get(self.emitted) {
            if n.tick >= f && !self.ended {
                break;
            }
            out.push(n.note);
            self.emitted += 1;
        }
    }

    /// All notes generated so far (final or not).
    pub fn notes(&self) -> impl Iterator<Item = &GeneratedNote> {
        self.notes.iter().map(|n| &n.note)
    }

    /// Discards the stream from the first time-advancing token at or after `tick` on. Returns
    /// `false` when `tick` is before what the stream can still reach (before its first bar);
    /// then start a new session.
    pub fn rollback(&mut self, tick: i64) -> bool {
        // Undo the re-primes at bar lines at or after `tick` (the `BAR` that triggered one is
        // sampled again, and was sampled from the longer context): regenerating re-primes again
        // at the same bar line if it still must.
        let mut restored = false;
        let mut saved = None;
        while self.snapshots.last().is_some_and(|s| tick <= s.at) {
            if let Some(s) = self.snapshots.pop() {
                self.tokens = s.tokens;
                self.marks = s.marks;
                self.header_len = s.header_len;
                self.origin = s.origin;
                self.replayed = s.replayed;
                saved = s.model;
                restored = true;
            }
        }
        if tick < self.origin {
            return false;
        }
        // The first `BAR` is written by `new`, not sampled: the stream restarts after it, so a
        // rollback to the origin replays exactly what a session knowing the event would sample.
        let from = (self.header_len + 1..self.tokens.len()).find(|&i| {
            matches!(
                Vocab::token(self.tokens[i]),
                Some(Token::Bar | Token::Pos(_) | Token::Eos)
            ) && self.marks[i].at >= tick
        });
        let Some(i) = from else {
            // A restored stream always holds the bar line of its re-prime, which is after `tick`.
            return !restored;
        };
        if i < self.replayed {
            // Bars a re-prime rebuilt, whose original stream (with the sampler's state at each
            // token) is no longer kept: they cannot be regenerated exactly.
            return false;
        }
        if restored && !saved.as_ref().is_some_and(|st| self.model.restore(st)) {
            self.model.truncate(0);
            if self.model.feed(&self.tokens[..i]).is_err() {
                return false;
            }
        }
        let m = self.marks[i];
        self.tokens.truncate(i);
        self.marks.truncate(i);
        self.model.truncate(i);
        self.state = m.state;
        self.bar_start = m.bar_start;
        self.group = m.group;
        self.chord = m.chord;
        *self.sampler.rng() = m.rng;
        self.rng_before = m.rng;
        self.stats = m.stats;
        self.pending_root = None;
        self.pending_note = None;
        self.ended = false;
        let keep = self.notes.partition_point(|n| n.tick < m.at);
        self.notes.truncate(keep);
        self.history.truncate(self.prompt_pitches + keep);
        self.history_bars.truncate(self.prompt_pitches + keep);
        self.history_tick.truncate(self.prompt_pitches + keep);
        self.history_pitch.truncate(self.prompt_pitches + keep);
        self.history_span.truncate(self.prompt_pitches + keep);
        self.emitted = self.emitted.min(keep);
        true
    }

    /// Samples one token (or writes a given event) and advances.
    fn step(&mut self, cond: &Conditioning) -> Result<(), GenerateError> {
        self.rng_before = *self.sampler.rng();
        self.model.next_logits(&mut self.logits)?;
        self.state.allowed_mask(&mut self.allowed);
        let allow_end = self.config.allow_end;
        for (id, a) in self.allowed.iter_mut().enumerate() {
            if *a {
                *a = Vocab::token(id as u32).is_some_and(|t| is_sampleable(t, allow_end));
            }
        }
        // A bar denser than the room left: close it (a `BAR` as soon as the grammar allows one)
        // so the re-prime at the bar line makes room, rather than overflowing the context. The
        // given events left in that bar are not written (there is no room for them).
        let mut forced_bar = false;
        if self.tokens.len() + CONTEXT_MARGIN >= self.model.context_len() {
            let bar = Vocab::id(Token::Bar) as usize;
            if self.allowed[bar] {
                self.allowed.iter_mut().for_each(|a| *a = false);
                self.allowed[bar] = true;
                forced_bar = true;
            }
        }
        let sounding = self.sounding();
        // The chord the Harmony pull reads: the stream's, or the conditioning's for a role that
        // is written no chord.
        let chord = if self.config.write_chords {
            self.chord.flatten()
        } else {
            cond.chord_at(self.frontier()).flatten()
        };
        apply_constraints(
            &self.config.constraints,
            sounding,
            chord,
            &mut self.logits,
            &mut self.allowed,
            self.config.role.is_drums(),
        );
        if !self.config.role.is_drums() && !forced_bar {
            crate::sampling::hold_register(self.span(), self.config.constraints.register_hold, &mut self.allowed);
            crate::sampling::hold_length(self.span(), self.config.constraints.length_hold, &mut self.allowed);
        }
        self.mask_silence();
        if self.config.constraints.rest_bias != 0.0 && !forced_bar {
            self.bias_rests(cond);
        }
        if !forced_bar {
            self.tilt_time();
            self.tilt_fast_notes(cond);
        }
        let k = &self.config.constraints;
        crate::sampling::temper_durations(&mut self.logits, &self.allowed, k.duration_temperature);
        crate::sampling::temper_velocities(&mut self.logits, &self.allowed, k.velocity_temperature);
        if self.config.constraints.steady_dynamics
            && self.config.role.is_drums()
            && let Some((key, _)) = self.pending_note
        {
            self.steady_velocity(key);
        }
        self.recall(cond);
        let mut id = self
            .sampler
            .sample(&self.logits, &self.allowed)
            .ok_or(GenerateError::Stuck)?;
        if self.config.given_kind && !forced_bar && self.state.bars > 0 {
            id = self.own_position(cond, id)?;
        }
        if self.state.bars <= 1 {
            let allowed = &self.allowed;
            let among = |i: usize| allowed.get(i).copied().unwrap_or(false);
            self.draft_score.0 += crate::sampling::log_prob_among(&self.logits, among, id).0;
            self.draft_score.1 += 1;
        }
        let bar_end = self.bar_start + self.bar_ticks;
        let moves_to = match Vocab::token(id) {
            Some(Token::Pos(p)) => Some(self.bar_start + p as i64),
            Some(Token::Bar) => Some(bar_end),
            Some(Token::Eos) => Some(i64::MAX),
            _ => None,
        };
        if let Some(t) = moves_to
            && !forced_bar
            && self.state.bars > 0
            && let Some(g) = self.next_given(cond)
            && (g < t || (g == t && matches!(Vocab::token(id), Some(Token::Pos(_)))))
        {
            return self.write_given(cond, g);
        }
        self.push(id)?;
        if matches!(Vocab::token(id), Some(Token::Bar)) {
            // A fill plan switches the header's style tags at phrase ends (a re-prime with the
            // new header, keeping the last bars).
            let switch = self.config.fills.and_then(|_| {
                let want = self.header_styles(self.bar_start.div_euclid(self.bar_ticks));
                (want != self.current_styles()).then_some(want)
            });
            // Re-prime while there is still room for two of the densest bars seen so far (and
            // at least a quarter of the context), so a dense bar never fills the context.
            let ctx = self.model.context_len();
            if switch.is_some() || self.tokens.len() + (ctx / 4).max(2 * self.stats.densest) >= ctx {
                self.reprime(switch)?;
            }
        }
        Ok(())
    }

    /// Adds [`Constraints::rest_bias`] to the allowed tokens that rest until the next given event
    /// in this bar (the `POS` tokens at or past it, `BAR`, `EOS`); where every allowed token
    /// rests, that changes nothing. Nothing without a given event ahead in the bar, as the rest
    /// calibration of the music report measures it.
    fn bias_rests(&mut self, cond: &Conditioning) {
        if self.state.bars == 0 {
            return;
        }
        let Some(g) = self.next_given(cond) else {
            return;
        };
        let bias = self.config.constraints.rest_bias;
        let (bar, eos) = (Vocab::id(Token::Bar) as usize, Vocab::id(Token::Eos) as usize);
        let rest = |id: usize, start: i64| match Vocab::token(id as u32) {
            Some(Token::Pos(p)) => start + p as i64 >= g,
            _ => id == bar || id == eos,
        };
        let start = self.bar_start;
        for id in 0..self.allowed.len() {
            if self.allowed[id] && rest(id, start) {
                self.logits[id] += bias;
            }
        }
    }

    /// Generated notes sounding at the frontier (of the last [`RECENT_NOTES`]).
    fn sounding(&self) -> usize {
        let f = tick_to_beat(self.frontier()) + 1e-9;
        self.notes
            .iter()
            .rev()
            .take(RECENT_NOTES)
            .filter(|n| n.note.start <= f && n.note.start + n.note.duration > f)
            .count()
    }

    /// The tick at which the last of the role's notes so far stops sounding, of the last
    /// [`RECENT_NOTES`]; `i64::MIN` before any.
    fn sounding_until(&self) -> i64 {
        self.notes
            .iter()
            .rev()
            .take(RECENT_NOTES)
            .map(|n| n.tick + (n.note.duration * TICKS_PER_BEAT as f64).round() as i64)
            .max()
            .unwrap_or(i64::MIN)
    }

    /// Appends one token: grammar, model, bookkeeping.
    fn push(&mut self, id: u32) -> Result<(), GenerateError> {
        let before = self.state;
        let token = self.state.step(id)?;
        let at = match token {
            Token::Bar => self.bar_start + self.bar_ticks,
            Token::Pos(p) => self.bar_start + p as i64,
            _ => self.frontier(),
        };
        if !self.replaying
            && let Err(e) = self.model.feed(&[id])
        {
            self.state = before;
            return Err(e.into());
        }
        self.marks.push(Mark {
            state: before,
            bar_start: self.bar_start,
            group: self.group,
            chord: self.chord,
            rng: self.rng_before,
            at,
            stats: self.stats,
        });
        if !self.replaying {
            if matches!(token, Token::Bar) {
                self.stats.densest = self.stats.densest.max(self.stats.current);
                self.stats.current = 0;
            }
            self.stats.current += 1;
        }
        self.tokens.push(id);
        let tick_beats = |tick: i64, micro: i32| {
            (tick * MICRO_STEPS_PER_TICK as i64 + micro as i64) as f64
                / (TICKS_PER_BEAT as i64 * MICRO_STEPS_PER_TICK as i64) as f64
        };
        match token {
            Token::Bar => {
                self.bar_start += self.bar_ticks;
                self.group = None;
            }
            Token::Pos(p) => self.group = Some(self.bar_start + p as i64),
            Token::Eos => self.ended = true,
            Token::ChordRoot(r) => self.pending_root = Some(r),
            Token::ChordQual(q) => self.chord = Some(Some(Chord::new(self.pending_root.take().unwrap_or(0), q))),
            Token::ChordNone => self.chord = Some(None),
            Token::Pitch(p) | Token::Drum(p) => self.pending_note = Some((p, 0)),
            Token::Vel(v) => {
                if self.config.role.is_drums() {
                    if let Some((p, _)) = self.pending_note.take() {
                        self.add_note(p, v, DRUM_HIT_TICKS as f64 / TICKS_PER_BEAT as f64);
                    }
                } else if let Some(n) = self.pending_note.as_mut() {
                    n.1 = v;
                }
            }
            Token::Dur(d) => {
                if let Some((p, v)) = self.pending_note.take() {
                    self.add_note(p, v, DURATION_TICKS[d as usize] as f64 / TICKS_PER_BEAT as f64);
                }
            }
            Token::Micro(m) => {
                let g = self.frontier();
                if let Some(n) = self.notes.last_mut()
                    && n.tick == g
                    && !self.replaying
                {
                    n.note.start = tick_beats(g, m as i32);
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The span of the role's take so far (the prompt's notes first).
    fn span(&self) -> crate::sampling::Span {
        self.history_span
            .last()
            .copied()
            .unwrap_or(crate::sampling::Span::EMPTY)
    }

    /// Records a pitch the role played (or its prompt holds) and its length in beats, with the
    /// span of its take so far.
    fn push_pitch(&mut self, pitch: u8, duration: f64) {
        let ticks = (duration * TICKS_PER_BEAT as f64).round().clamp(0.0, u16::MAX as f64) as u16;
        let span = self.span().with(pitch).lasting(ticks);
        self.history_pitch.push(pitch);
        self.history_span.push(span);
    }

    fn add_note(&mut self, pitch: u8, vel_bin: u8, duration: f64) {
        if self.replaying {
            return;
        }
        let tick = self.frontier();
        self.history_tick.push(tick);
        self.push_pitch(pitch, duration);
        let key = if self.config.role.is_drums() {
            let pos = (tick - self.bar_start).clamp(0, u8::MAX as i64) as u8;
            crate::memory::groove::hit_key(pos, pitch)
        } else {
            let root = self.chord.flatten().map(|c| c.root);
            crate::memory::key(pitch, root, self.config.constraints.memory.relative)
        };
        self.history.push(key);
        self.history_bars.push(self.bar_index());
        self.notes.push(NoteRec {
            tick,
            note: GeneratedNote {
                start: tick_to_beat(tick),
                duration,
                pitch,
                velocity: bin_velocity(vel_bin),
            },
        });
    }
}

#[cfg(test)]
mod tests;
