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

/// The plugin's default Top-p, which plays each role at its tuned top-p
/// ([`SamplerConfig::top_p_relative_to`]).
pub const DEFAULT_TOP_P: f32 = 0.95;

/// The tuned top-p a model may name for a role ([`crate::package::Manifest::note_top_p`]).
pub const TUNED_TOP_P_RANGE: std::ops::RangeInclusive<f32> = 0.5..=1.0;

impl SamplerConfig {
    /// This (the user's) sampling for a model role tuned to note temperature `tuned`: the user's
    /// temperature is relative to it (1 plays the role as tuned).
    pub fn relative_to(self, tuned: f32) -> SamplerConfig {
        SamplerConfig {
            temperature: self.temperature * tuned,
            ..self
        }
    }

    /// This (the user's) sampling for a model role tuned to top-p `tuned`: the share of the
    /// notes' mass the user's Top-p cuts away is scaled by the role's, so the default
    /// [`DEFAULT_TOP_P`] plays the role at `tuned`, 1 cuts nothing and a lower Top-p cuts
    /// proportionally more (tuned 0.99: the user's 0.95 plays 0.99, 0.9 plays 0.98). A role
    /// tuned to the default, or a `tuned` outside [`TUNED_TOP_P_RANGE`], keeps the user's.
    pub fn top_p_relative_to(self, tuned: f32) -> SamplerConfig {
        if !TUNED_TOP_P_RANGE.contains(&tuned) || tuned == DEFAULT_TOP_P {
            return self;
        }
        let cut = (1.0 - self.top_p).max(0.0) * (1.0 - tuned) / (1.0 - DEFAULT_TOP_P);
        SamplerConfig {
            top_p: (1.0 - cut).clamp(0.05, 1.0),
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

mod constraints;
pub use constraints::*;

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
mod tests;
