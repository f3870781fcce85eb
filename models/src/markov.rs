//! The Markov baseline: a variable-order Markov model over token ids with interpolated
//! Witten-Bell smoothing, and its compact, versioned binary file.
//!
//! # Model
//! For a context `h` (the last `k` tokens, `k = 0..=order`) with `c(h)` observations and `T(h)`
//! distinct next tokens, Witten-Bell interpolates each order with the one below:
//!
//! ```text
//! P_k(w | h) = (c(h, w) + T(h) * P_{k-1}(w | h')) / (c(h) + T(h))      h' = h minus its oldest token
//! P_{-1}(w)  = 1 / VOCAB_SIZE
//! ```
//!
//! The recursion stops at the longest context seen in training (a context below the pruning
//! threshold counts as unseen; pruning drops whole contexts, so every kept context's suffixes are
//! kept too). Only *predicted* positions ([`crate::tokenizer::predicted_mask`]) are counted as
//! targets: the runtime never asks the model for a given token, so no probability mass is spent
//! on them. Every id keeps a non-zero probability (the uniform floor), so the NLL is finite.
//!
//! Contexts are stored by a 64-bit hash of their tokens (newest first, chained per order, so
//! contexts of different orders never share a key by construction of the chain). Since format 2
//! the chain starts from the sequence's role (its header's `ROLE` token, see [`root_of`]): every
//! context, the empty one included, is counted per role, so a bass line and a lead line over the
//! same last few tokens continue differently (a format 1 table, role-blind, is still read). Two distinct
//! contexts colliding has probability about `n^2 / 2^65` for `n` contexts (about 1e-7 for 10^6
//! contexts), and would only blend two count tables.
//!
//! # File format (`markov.bin`, little-endian)
//! ```text
//! magic   b"SMMARKOV"
//! format  u32  = MARKOV_FORMAT
//! order   u32
//! vocab   u32  = VOCAB_SIZE of the build that wrote it
//! n_ctx   u64
//! n_ent   u64
//! keys    [u64; n_ctx]      strictly increasing
//! starts  [u32; n_ctx + 1]  entry ranges; starts[0] = 0, non-decreasing, starts[n_ctx] = n_ent
//! denoms  [u32; n_ctx]      c(h) + T(h), over every count seen in training
//! backoff [u32; n_ctx]      T(h) + the counts of pruned entries: the mass passed to order k-1
//! tokens  [u16; n_ent]      next token ids, < vocab, increasing within a context
//! counts  [u32; n_ent]      c(h, w) > 0, for the entries kept
//! ```
//! For every context, `sum(counts) + backoff == denom`, so each order's distribution sums to 1
//! even after entries below the pruning threshold were dropped (their mass goes to the lower
//! order, as in Kneser-Ney-style pruning).
//! ```text
//! ```
//! [`MarkovTable::from_bytes`] checks every one of these facts and the file size
//! ([`MAX_MARKOV_BYTES`]) before using a byte of it.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use crate::model::{ModelError, TokenModel};
use crate::tokenizer::{Token, VOCAB_SIZE, Vocab, predicted_mask};

/// File magic.
pub const MARKOV_MAGIC: [u8; 8] = *b"SMMARKOV";
/// Version of the file format written (2: contexts rooted at the role; 1, role-blind, is read).
pub const MARKOV_FORMAT: u32 = 2;
/// Largest model file read (bytes).
pub const MAX_MARKOV_BYTES: u64 = 1 << 30;
/// Highest order a model may have.
pub const MAX_ORDER: usize = 32;
/// Default order: two notes of context plus their positions (`POS PITCH VEL DUR` per note).
pub const DEFAULT_ORDER: usize = 10;
/// Default context the model reports to the generation session; the session re-primes before it.
pub const DEFAULT_CONTEXT_LEN: usize = 4096;
/// Hash of the empty context (order 0).
const H0: u64 = 0x9E37_79B9_7F4A_7C15;

/// The root of the context chain of a sequence: its role when `ids[1]` is the header's `ROLE`
/// token, else the role-blind [`H0`].
pub fn root_of(ids: &[u32]) -> u64 {
    match ids.get(1).and_then(|&id| Vocab::token(id)) {
        Some(Token::Role(_)) => mix(H0 ^ 0x524F_4C45, ids[1]),
        _ => H0,
    }
}

/// Whether `h` is a chain root (the empty context of some role, or the role-blind one): roots
/// are always kept, so every distribution ends in them.
fn is_root(h: u64) -> bool {
    h == H0
        || crate::Role::ALL
            .iter()
            .any(|&r| h == mix(H0 ^ 0x524F_4C45, Vocab::id(Token::Role(r))))
}

/// Mixes one more (older) token into a context hash.
#[inline]
fn mix(h: u64, token: u32) -> u64 {
    crate::math::splitmix64(h.wrapping_add(token as u64))
}

/// Why a Markov model file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum MarkovError {
    /// The file could not be read.
    #[error("cannot read Markov model {}", path.display())]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file could not be written.
    #[error("cannot write Markov model {}", path.display())]
    Write {
        /// The file.
        path: std::path::PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The bytes are not a valid model.
    #[error("invalid Markov model: {0}")]
    Invalid(String),
}

/// Counts gathered from training sequences; [`MarkovBuilder::build`] turns them into a table.
///
/// Counts are kept per (context hash, next token) pair, about 20 bytes each, so that counting
/// tens of millions of tokens fits in a few GB.
#[derive(Debug, Clone)]
pub struct MarkovBuilder {
    order: usize,
    counts: HashMap<(u64, u16), u32>,
}

impl MarkovBuilder {
    /// An empty builder for contexts of up to `order` tokens (clamped to [`MAX_ORDER`]).
    pub fn new(order: usize) -> MarkovBuilder {
        MarkovBuilder {
            order: order.min(MAX_ORDER),
            counts: HashMap::new(),
        }
    }

    /// The order.
    pub fn order(&self) -> usize {
        self.order
    }

    /// Counts the predicted positions of a well-formed token sequence.
    pub fn add_sequence(&mut self, ids: &[u32]) {
        let mask = predicted_mask(ids);
        self.add_masked(ids, &mask);
    }

    /// Counts the positions of `ids` where `targets` is true.
    pub fn add_masked(&mut self, ids: &[u32], targets: &[bool]) {
        let root = root_of(ids);
        for (i, (&w, &t)) in ids.iter().zip(targets).enumerate() {
            if !t || w >= VOCAB_SIZE {
                continue;
            }
            let mut h = root;
            self.bump(h, w as u16, 1);
            for k in 1..=self.order.min(i) {
                h = mix(h, ids[i - k]);
                self.bump(h, w as u16, 1);
            }
        }
    }

    fn bump(&mut self, h: u64, w: u16, n: u32) {
        let c = self.counts.entry((h, w)).or_insert(0);
        *c = c.saturating_add(n);
    }

    /// Adds another builder's counts (for counting in parallel). Orders must match.
    pub fn merge(&mut self, other: MarkovBuilder) {
        for ((h, w), n) in other.counts {
            self.bump(h, w, n);
        }
    }

    /// Number of distinct (context, next token) pairs counted.
    pub fn entries(&self) -> usize {
        self.counts.len()
    }

    /// The table, keeping contexts seen at least `min_count` times (the empty context is always
    /// kept) and, in them, next tokens seen at least `min_entry_count` times (all of them in the
    /// empty context); pruned mass backs off to the lower order.
    pub fn build(self, min_count: u32, min_entry_count: u32) -> MarkovTable {
        let mut pairs: Vec<(u64, u16, u32)> = self.counts.into_iter().map(|((h, w), n)| (h, w, n)).collect();
        pairs.sort_unstable_by_key(|p| (p.0, p.1));
        let mut t = MarkovTable {
            order: self.order,
            role_rooted: true,
            keys: Vec::new(),
            starts: vec![0],
            denoms: Vec::new(),
            backoffs: Vec::new(),
            tokens: Vec::new(),
            counts: Vec::new(),
        };
        let mut i = 0;
        while i < pairs.len() {
            let h = pairs[i].0;
            let j = i + pairs[i..].partition_point(|p| p.0 == h);
            let total = pairs[i..j].iter().fold(0u32, |a, p| a.saturating_add(p.2));
            let root = is_root(h);
            if root || total >= min_count.max(1) {
                let types = (j - i) as u32;
                let mut pruned = 0u32;
                t.keys.push(h);
                for p in &pairs[i..j] {
                    if root || p.2 >= min_entry_count {
                        t.tokens.push(p.1);
                        t.counts.push(p.2);
                    } else {
                        pruned = pruned.saturating_add(p.2);
                    }
                }
                t.denoms.push(total.saturating_add(types));
                t.backoffs.push(types.saturating_add(pruned));
                t.starts.push(t.tokens.len() as u32);
            }
            i = j;
        }
        t
    }
}

/// A trained model: immutable, shared between sessions with an [`Arc`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkovTable {
    order: usize,
    /// Contexts rooted at the role (format 2), or role-blind (format 1).
    role_rooted: bool,
    keys: Vec<u64>,
    starts: Vec<u32>,
    denoms: Vec<u32>,
    backoffs: Vec<u32>,
    tokens: Vec<u16>,
    counts: Vec<u32>,
}

impl MarkovTable {
    /// Longest context, in tokens.
    pub fn order(&self) -> usize {
        self.order
    }

    /// Number of stored contexts.
    pub fn contexts(&self) -> usize {
        self.keys.len()
    }

    /// Number of stored (context, next token) counts.
    pub fn entries(&self) -> usize {
        self.tokens.len()
    }

    fn find(&self, h: u64) -> Option<usize> {
        self.keys.binary_search(&h).ok()
    }

    /// Writes the next-token probabilities after `history` into `out` (`VOCAB_SIZE` entries).
    pub fn probabilities(&self, history: &[u32], out: &mut [f32]) {
        let v = VOCAB_SIZE as usize;
        let out = &mut out[..v];
        out.fill(1.0 / v as f32);
        let mut h = if self.role_rooted { root_of(history) } else { H0 };
        for k in 0..=self.order.min(history.len()) {
            if k > 0 {
                h = mix(h, history[history.len() - k]);
            }
            let Some(c) = self.find(h) else { break };
            let (s, e) = (self.starts[c] as usize, self.starts[c + 1] as usize);
            let denom = self.denoms[c] as f32;
            if denom <= 0.0 {
                break;
            }
            let keep = self.backoffs[c] as f32 / denom;
            for p in out.iter_mut() {
                *p *= keep;
            }
            for j in s..e {
                out[self.tokens[j] as usize] += self.counts[j] as f32 / denom;
            }
        }
    }

    /// The file bytes (see the module doc).
    pub fn to_bytes(&self) -> Vec<u8> {
        let n = self.keys.len();
        let m = self.tokens.len();
        let mut b = Vec::with_capacity(40 + n * 20 + m * 6);
        b.extend_from_slice(&MARKOV_MAGIC);
        let format: u32 = if self.role_rooted { MARKOV_FORMAT } else { 1 };
        b.extend_from_slice(&format.to_le_bytes());
        b.extend_from_slice(&(self.order as u32).to_le_bytes());
        b.extend_from_slice(&VOCAB_SIZE.to_le_bytes());
        b.extend_from_slice(&(n as u64).to_le_bytes());
        b.extend_from_slice(&(m as u64).to_le_bytes());
        self.keys.iter().for_each(|x| b.extend_from_slice(&x.to_le_bytes()));
        self.starts.iter().for_each(|x| b.extend_from_slice(&x.to_le_bytes()));
        self.denoms.iter().for_each(|x| b.extend_from_slice(&x.to_le_bytes()));
        self.backoffs.iter().for_each(|x| b.extend_from_slice(&x.to_le_bytes()));
        self.tokens.iter().for_each(|x| b.extend_from_slice(&x.to_le_bytes()));
        self.counts.iter().for_each(|x| b.extend_from_slice(&x.to_le_bytes()));
        b
    }

    /// Reads and checks a model from its file bytes.
    pub fn from_bytes(b: &[u8]) -> Result<MarkovTable, MarkovError> {
        let bad = |s: &str| MarkovError::Invalid(s.to_string());
        if b.len() as u64 > MAX_MARKOV_BYTES {
            return Err(bad("file too large"));
        }
        if b.len() < 40 || b[..8] != MARKOV_MAGIC {
            return Err(bad("not a Sideman Markov model (bad magic)"));
        }
        let u32_at = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap_or([0; 4]));
        let u64_at = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap_or([0; 8]));
        let format = u32_at(8);
        if format != MARKOV_FORMAT && format != 1 {
            return Err(MarkovError::Invalid(format!(
                "format {format}, this build reads 1 to {MARKOV_FORMAT}"
            )));
        }
        let order = u32_at(12) as usize;
        if order > MAX_ORDER {
            return Err(bad("order too high"));
        }
        if u32_at(16) != VOCAB_SIZE {
            return Err(bad("written for another vocabulary size"));
        }
        let (n, m) = (u64_at(20), u64_at(28));
        let need = (n as u128) * 8 + (n as u128 + 1) * 4 + (n as u128) * 8 + (m as u128) * 2 + (m as u128) * 4 + 36;
        if need != b.len() as u128 {
            return Err(bad("file length does not match its header"));
        }
        let (n, m) = (n as usize, m as usize);
        let mut o = 36;
        let mut take = |len: usize| {
            let s = &b[o..o + len];
            o += len;
            s
        };
        let keys: Vec<u64> = take(n * 8)
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
            .collect();
        let starts: Vec<u32> = take((n + 1) * 4)
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().unwrap_or([0; 4])))
            .collect();
        let denoms: Vec<u32> = take(n * 4)
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().unwrap_or([0; 4])))
            .collect();
        let backoffs: Vec<u32> = take(n * 4)
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().unwrap_or([0; 4])))
            .collect();
        let tokens: Vec<u16> = take(m * 2)
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes(c.try_into().unwrap_or([0; 2])))
            .collect();
        let counts: Vec<u32> = take(m * 4)
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().unwrap_or([0; 4])))
            .collect();
        if keys.windows(2).any(|w| w[0] >= w[1]) {
            return Err(bad("context keys are not strictly increasing"));
        }
        if starts.first() != Some(&0)
            || starts.last().map(|&x| x as usize) != Some(m)
            || starts.windows(2).any(|w| w[0] > w[1])
        {
            return Err(bad("entry ranges are inconsistent"));
        }
        for c in 0..n {
            let (s, e) = (starts[c] as usize, starts[c + 1] as usize);
            if tokens[s..e].windows(2).any(|w| w[0] >= w[1]) || tokens[s..e].iter().any(|&t| t as u32 >= VOCAB_SIZE) {
                return Err(bad("next-token ids out of range or unsorted"));
            }
            if counts[s..e].contains(&0) {
                return Err(bad("zero count"));
            }
            let sum = counts[s..e].iter().fold(0u64, |a, &x| a + x as u64);
            if sum + backoffs[c] as u64 != denoms[c] as u64 || backoffs[c] == 0 {
                return Err(bad("context counts do not add up"));
            }
        }
        Ok(MarkovTable {
            order,
            role_rooted: format >= 2,
            keys,
            starts,
            denoms,
            backoffs,
            tokens,
            counts,
        })
    }

    /// Reads a model file.
    pub fn load(path: &Path) -> Result<MarkovTable, MarkovError> {
        let io = |source| MarkovError::Io {
            path: path.to_path_buf(),
            source,
        };
        let len = std::fs::metadata(path).map_err(io)?.len();
        if len > MAX_MARKOV_BYTES {
            return Err(MarkovError::Invalid(format!(
                "{len} bytes is larger than the {MAX_MARKOV_BYTES}-byte limit"
            )));
        }
        MarkovTable::from_bytes(&std::fs::read(path).map_err(io)?)
    }

    /// Writes a model file.
    pub fn save(&self, path: &Path) -> Result<(), MarkovError> {
        std::fs::write(path, self.to_bytes()).map_err(|source| MarkovError::Write {
            path: path.to_path_buf(),
            source,
        })
    }
}

/// A [`TokenModel`] over a shared [`MarkovTable`]: the table plus this session's context.
#[derive(Debug, Clone)]
pub struct MarkovModel {
    table: Arc<MarkovTable>,
    history: Vec<u32>,
    context_len: usize,
    probs: Vec<f32>,
}

impl MarkovModel {
    /// A model with an empty context reporting [`DEFAULT_CONTEXT_LEN`].
    pub fn new(table: Arc<MarkovTable>) -> MarkovModel {
        MarkovModel::with_context_len(table, DEFAULT_CONTEXT_LEN)
    }

    /// A model with an empty context that reports `context_len` (at least 64) as its limit.
    pub fn with_context_len(table: Arc<MarkovTable>, context_len: usize) -> MarkovModel {
        let context_len = context_len.max(64);
        MarkovModel {
            table,
            history: Vec::with_capacity(context_len),
            context_len,
            probs: vec![0.0; VOCAB_SIZE as usize],
        }
    }

    /// The shared table.
    pub fn table(&self) -> &Arc<MarkovTable> {
        &self.table
    }
}

impl TokenModel for MarkovModel {
    fn feed(&mut self, ids: &[u32]) -> Result<(), ModelError> {
        if let Some(&bad) = ids.iter().find(|&&i| i >= VOCAB_SIZE) {
            return Err(ModelError::BadToken(bad));
        }
        if self.history.len() + ids.len() > self.context_len {
            return Err(ModelError::ContextFull(self.context_len));
        }
        self.history.extend_from_slice(ids);
        Ok(())
    }

    fn truncate(&mut self, len: usize) {
        self.history.truncate(len);
    }

    fn len(&self) -> usize {
        self.history.len()
    }

    fn next_logits(&mut self, out: &mut [f32]) -> Result<(), ModelError> {
        if self.history.is_empty() {
            return Err(ModelError::Empty);
        }
        let v = VOCAB_SIZE as usize;
        if out.len() < v {
            return Err(ModelError::Backend(format!(
                "logits buffer holds {} of {v} entries",
                out.len()
            )));
        }
        self.table.probabilities(&self.history, &mut self.probs);
        for (o, p) in out.iter_mut().zip(&self.probs) {
            *o = p.max(f32::MIN_POSITIVE).ln();
        }
        Ok(())
    }

    fn context_len(&self) -> usize {
        self.context_len
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Note, Role};

    fn toy() -> Vec<u32> {
        let mut ids = vec![
            Vocab::id(Token::Bos),
            Vocab::id(Token::Role(crate::Role::Lead)),
            Vocab::id(Token::TimeSig(20)),
            Vocab::id(Token::Bar),
        ];
        for bar in 0..8 {
            if bar > 0 {
                ids.push(Vocab::id(Token::Bar));
            }
            for (p, pitch) in [(0u8, 60u8), (12, 64), (24, 67), (36, 72)] {
                ids.extend([
                    Vocab::id(Token::Pos(p)),
                    Vocab::id(Token::Pitch(pitch)),
                    Vocab::id(Token::Vel(8)),
                    Vocab::id(Token::Dur(11)),
                ]);
            }
        }
        ids
    }

    #[test]
    fn probabilities_sum_to_one_and_learn_the_pattern() {
        // Order 2: the context of a pitch is `DUR POS`, the same in both lines.
        let mut b = MarkovBuilder::new(2);
        b.add_sequence(&toy());
        let t = b.build(1, 1);
        let ids = toy();
        let mut p = vec![0.0f32; VOCAB_SIZE as usize];
        // After "POS:12" the model should strongly expect PITCH:64.
        let cut = ids.iter().rposition(|&i| i == Vocab::id(Token::Pos(12))).unwrap() + 1;
        t.probabilities(&ids[..cut], &mut p);
        let sum: f32 = p.iter().sum();
        assert!((sum - 1.0).abs() < 1e-4, "sum {sum}");
        assert!(p[Vocab::id(Token::Pitch(64)) as usize] > 0.8);
        assert!(p.iter().all(|&x| x > 0.0));
    }

    /// The same recent tokens continue as the role plays them: a bass and a lead line sharing
    /// their last notes' positions get each its own next pitch (format 1 tables were role-blind).
    #[test]
    fn contexts_are_counted_per_role() {
        use crate::tokenizer::{Sequence, Tokenizer};
        let tok = Tokenizer::default();
        let line = |role: Role, pitch: u8| {
            let notes = (0..16)
                .map(|k| Note {
                    start: k as f64,
                    duration: 1.0,
                    pitch,
                    velocity: 80,
                })
                .collect();
            let seq = Sequence {
                notes,
                bars: 4,
                ..Sequence::new(role)
            };
            tok.encode(&seq).unwrap()
        };
        let (bass, lead) = (line(Role::Bass, 40), line(Role::Lead, 76));
        let mut b = MarkovBuilder::new(6);
        for _ in 0..4 {
            b.add_sequence(&bass);
            b.add_sequence(&lead);
        }
        let table = MarkovTable::from_bytes(&b.build(1, 1).to_bytes()).unwrap();
        let mut out = vec![0f32; VOCAB_SIZE as usize];
        let pitch = |p: u8| Vocab::id(Token::Pitch(p)) as usize;
        // The same last two tokens (`DUR POS`) after each role's header: each role's own pitch.
        let at = (1..bass.len())
            .filter(|&i| {
                matches!(Vocab::token(bass[i]), Some(Token::Pos(_)))
                    && matches!(Vocab::token(bass[i - 1]), Some(Token::Dur(_)))
            })
            .nth(7)
            .unwrap();
        let dur_pos = [bass[at - 1], bass[at]];
        for (ids, own, other) in [(&bass, 40u8, 76u8), (&lead, 76, 40)] {
            let history = [ids[0], ids[1], dur_pos[0], dur_pos[1]];
            table.probabilities(&history, &mut out);
            assert!(out[pitch(own)] > 0.9, "{own}: {}", out[pitch(own)]);
            assert!(out[pitch(other)] < 0.01, "{other}: {}", out[pitch(other)]);
        }
    }

    #[test]
    fn pruned_tables_still_sum_to_one() {
        let mut b = MarkovBuilder::new(6);
        b.add_sequence(&toy());
        let full = b.clone().build(1, 1);
        let pruned = b.build(3, 4);
        assert!(pruned.entries() < full.entries());
        let ids = toy();
        let mut p = vec![0.0f32; VOCAB_SIZE as usize];
        for cut in [5, 17, 40, ids.len()] {
            pruned.probabilities(&ids[..cut], &mut p);
            let sum: f32 = p.iter().sum();
            assert!((sum - 1.0).abs() < 1e-4, "sum {sum} at {cut}");
        }
        let back = MarkovTable::from_bytes(&pruned.to_bytes()).unwrap();
        assert_eq!(back, pruned);
    }

    #[test]
    fn file_round_trips_and_damage_is_refused() {
        let mut b = MarkovBuilder::new(4);
        b.add_sequence(&toy());
        let t = b.build(1, 1);
        let bytes = t.to_bytes();
        assert_eq!(MarkovTable::from_bytes(&bytes).unwrap(), t);
        for cut in [0, 7, 39, bytes.len() - 1] {
            assert!(MarkovTable::from_bytes(&bytes[..cut]).is_err());
        }
        let mut bad = bytes.clone();
        let last = bad.len() - 1;
        bad[last] ^= 0xff;
        assert!(MarkovTable::from_bytes(&bad).is_err() || MarkovTable::from_bytes(&bad).unwrap() != t);
        let mut bad = bytes;
        bad[12] = 99;
        assert!(MarkovTable::from_bytes(&bad).is_err());
    }

    #[test]
    fn model_feeds_truncates_and_scores() {
        let mut b = MarkovBuilder::new(4);
        b.add_sequence(&toy());
        let mut m = MarkovModel::new(Arc::new(b.build(1, 1)));
        let mut out = vec![0.0; VOCAB_SIZE as usize];
        assert!(matches!(m.next_logits(&mut out), Err(ModelError::Empty)));
        m.feed(&toy()[..10]).unwrap();
        m.next_logits(&mut out).unwrap();
        m.truncate(3);
        assert_eq!(m.len(), 3);
        assert!(m.feed(&[VOCAB_SIZE]).is_err());
    }
}
