//! The decoder-only transformer, in candle. This module is the only place that knows the network's
//! layout; `export` mirrors it op for op in ONNX.
//!
//! Pre-LayerNorm blocks, causal self-attention with rotary positions (rotate-half form, applied to
//! queries and keys before they enter the KV cache), GELU (erf) MLP, a final LayerNorm and an
//! output projection tied to the token embedding. Linear weights are candle's `[out, in]`.

use candle_core::{DType, Device, Module, Result, Tensor, Var};
use candle_nn::{Embedding, LayerNorm, Linear, VarBuilder, VarMap};
use models::tokenizer::features::{
    FEATURES_PER_TOKEN, MAX_FEATURES, RELATIVE_INTERVALS, STYLE_FEATURES, TEMPO_FEATURES, feature_ids, feature_rows,
    relative_class,
};
use models::tokenizer::{Token, Vocab};
use serde::{Deserialize, Serialize};

/// Network shape. Written into every run folder and checkpoint, and into the package manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Transformer blocks.
    pub layers: usize,
    /// Model width.
    pub d_model: usize,
    /// Attention heads (`d_model` must divide evenly).
    pub heads: usize,
    /// Hidden width of the MLP.
    pub d_ff: usize,
    /// Training context, in tokens.
    pub context: usize,
    /// Rotary base frequency.
    #[serde(default = "default_rope_base")]
    pub rope_base: f64,
    /// Longest position the exported rotary tables cover, as a multiple of `context`
    /// (rotary positions extrapolate, so a longer context than training still runs).
    #[serde(default = "default_rope_span")]
    pub rope_span: usize,
    /// Vocabulary size; must equal `models::tokenizer::VOCAB_SIZE`.
    #[serde(default = "default_vocab")]
    pub vocab: usize,
    /// Add the embedding of each token's context features (the chord in force and the position in
    /// the bar, [`models::tokenizer::features`]) to its token embedding.
    #[serde(default)]
    pub features: bool,
    /// Add the tempo bucket to the context features (the second feature set; needs `features`).
    #[serde(default)]
    pub tempo_feature: bool,
    /// Add the header's style tags to the context features (the third feature set; needs
    /// `tempo_feature`): a tag otherwise reaches the network as one header token.
    #[serde(default)]
    pub style_feature: bool,
    /// Add the harmonic rhythm to the context features (the fourth feature set; needs
    /// `style_feature`): the chord changes over the last four bars and the bar lines since the
    /// last one, which a chord token read at its change alone does not say at every position.
    #[serde(default)]
    pub harmony_feature: bool,
    /// The relative-pitch head (needs `features`): a Linear from the final hidden state to the
    /// twelve intervals above the root of the chord in force, whose value for each pitch's interval
    /// ([`models::tokenizer::features::relative_class`]) is added to that pitch's logit. The tied
    /// output projection must learn a chord tone in each of the twelve keys separately; this head
    /// learns "the third of the chord" once.
    #[serde(default)]
    pub relative_pitch: bool,
    /// Also train the first token after each `POS` that is a given event's (a chord, a heard
    /// note; [`models::tokenizer::given_kind_mask`]), so the network says whose a position is
    /// and a session can condition on the input it knows (models/README.md, "Whose position").
    /// No weight depends on it; the package's manifest records it (`given_kind`).
    #[serde(default)]
    pub given_kind: bool,
}

fn default_rope_base() -> f64 {
    10_000.0
}
fn default_rope_span() -> usize {
    4
}
fn default_vocab() -> usize {
    models::tokenizer::VOCAB_SIZE as usize
}

/// LayerNorm epsilon, shared with the export.
pub const LN_EPS: f64 = 1e-5;

impl ModelConfig {
    /// Width of one attention head.
    pub fn head_dim(&self) -> usize {
        self.d_model / self.heads
    }

    /// Longest position the rotary tables cover.
    pub fn max_positions(&self) -> usize {
        self.context * self.rope_span.max(1)
    }

    /// Checks that the shape is usable.
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.layers > 0 && self.d_model > 0 && self.heads > 0 && self.d_ff > 0,
            "sizes must be > 0"
        );
        anyhow::ensure!(
            self.d_model.is_multiple_of(self.heads),
            "d_model {} is not a multiple of heads {}",
            self.d_model,
            self.heads
        );
        anyhow::ensure!(
            self.head_dim().is_multiple_of(2),
            "head width {} must be even (rotary positions)",
            self.head_dim()
        );
        anyhow::ensure!(self.context >= 8, "context must be at least 8 tokens");
        anyhow::ensure!(
            self.features || !self.tempo_feature,
            "tempo_feature needs features = true"
        );
        anyhow::ensure!(
            self.tempo_feature || !self.style_feature,
            "style_feature needs tempo_feature = true"
        );
        anyhow::ensure!(
            self.style_feature || !self.harmony_feature,
            "harmony_feature needs style_feature = true"
        );
        anyhow::ensure!(
            self.features || !self.relative_pitch,
            "relative_pitch needs features = true (it reads the chord in force)"
        );
        anyhow::ensure!(
            self.vocab == models::tokenizer::VOCAB_SIZE as usize,
            "vocab {} does not match the tokenizer's {}",
            self.vocab,
            models::tokenizer::VOCAB_SIZE
        );
        Ok(())
    }

    /// Context feature ids per token: 0 without features, 2 (chord, position), 3 (and tempo),
    /// [`STYLE_FEATURES`] (and the header's style tags), [`MAX_FEATURES`] (and the harmonic
    /// rhythm).
    pub fn feature_count(&self) -> usize {
        match (
            self.features,
            self.tempo_feature,
            self.style_feature,
            self.harmony_feature,
        ) {
            (false, ..) => 0,
            (true, false, ..) => FEATURES_PER_TOKEN,
            (true, true, false, _) => TEMPO_FEATURES,
            (true, true, true, false) => STYLE_FEATURES,
            (true, true, true, true) => MAX_FEATURES,
        }
    }

    /// Parameter count.
    pub fn parameters(&self) -> usize {
        let d = self.d_model;
        let per_layer =
            2 * 2 * d + (d * 3 * d + 3 * d) + (d * d + d) + (d * self.d_ff + self.d_ff) + (self.d_ff * d + d);
        let features = if self.features {
            feature_rows(self.feature_count()) * d
        } else {
            0
        };
        let relative = if self.relative_pitch {
            RELATIVE_INTERVALS * d + RELATIVE_INTERVALS
        } else {
            0
        };
        self.vocab * d + features + self.layers * per_layer + 2 * d + relative
    }
}

/// One block's weights.
pub struct Block {
    /// Pre-attention norm.
    pub ln1: LayerNorm,
    /// Fused query/key/value projection, `[3 d, d]`.
    pub qkv: Linear,
    /// Attention output projection.
    pub proj: Linear,
    /// Pre-MLP norm.
    pub ln2: LayerNorm,
    /// MLP up.
    pub fc1: Linear,
    /// MLP down.
    pub fc2: Linear,
}

/// The transformer. Its variables live in the [`VarMap`] it was built from.
pub struct Transformer {
    /// Shape.
    pub cfg: ModelConfig,
    /// Token embedding `[vocab, d]`, also the output projection.
    pub embed: Embedding,
    /// Context-feature embedding `[FEATURE_ROWS, d]`, when the config asks for it.
    pub feat: Option<Embedding>,
    /// Blocks, bottom first.
    pub blocks: Vec<Block>,
    /// Final norm.
    pub ln_f: LayerNorm,
    /// The relative-pitch head `[12, d]`, when the config asks for it.
    pub rel: Option<Linear>,
    /// Rotary cos table `[max_positions, head_dim / 2]`.
    pub cos: Tensor,
    /// Rotary sin table.
    pub sin: Tensor,
}

/// Per-layer (key, value) cache, each `[batch, heads, past, head_dim]`, keys already rotated.
pub type KvCache = Vec<(Tensor, Tensor)>;

fn layer_norm(d: usize, vb: VarBuilder) -> Result<LayerNorm> {
    let w = vb.get_with_hints(d, "weight", candle_nn::Init::Const(1.0))?;
    let b = vb.get_with_hints(d, "bias", candle_nn::Init::Const(0.0))?;
    Ok(LayerNorm::new(w, b, LN_EPS))
}

fn linear(i: usize, o: usize, std: f64, vb: VarBuilder) -> Result<Linear> {
    let w = vb.get_with_hints((o, i), "weight", candle_nn::Init::Randn { mean: 0.0, stdev: std })?;
    let b = vb.get_with_hints(o, "bias", candle_nn::Init::Const(0.0))?;
    Ok(Linear::new(w, Some(b)))
}

/// Rotary tables for `positions` positions.
pub fn rope_tables(cfg: &ModelConfig, positions: usize, dev: &Device) -> Result<(Tensor, Tensor)> {
    let half = cfg.head_dim() / 2;
    let mut cos = Vec::with_capacity(positions * half);
    let mut sin = Vec::with_capacity(positions * half);
    for p in 0..positions {
        for i in 0..half {
            let inv = 1.0 / cfg.rope_base.powf(2.0 * i as f64 / cfg.head_dim() as f64);
            let a = p as f64 * inv;
            cos.push(a.cos() as f32);
            sin.push(a.sin() as f32);
        }
    }
    Ok((
        Tensor::from_vec(cos, (positions, half), dev)?,
        Tensor::from_vec(sin, (positions, half), dev)?,
    ))
}

/// LayerNorm, fused with its own backward on the CPU ([`crate::fused`]; candle's fused kernel has
/// no backward pass).
fn ln(x: &Tensor, n: &LayerNorm) -> Result<Tensor> {
    crate::fused::layer_norm(x, n.weight(), n.bias().expect("layer norms have a bias"), LN_EPS)
}

/// `x @ W^T + b` over the last axis, as one 2-D product written over the bias
/// ([`crate::fused::linear`]; candle's batched Linear broadcasts the weight per batch item, which
/// makes its backward pass several times slower).
fn lin(x: &Tensor, l: &Linear) -> Result<Tensor> {
    crate::fused::linear(x, l.weight(), l.bias())
}

impl Transformer {
    /// Builds the network, creating (random-init, seeded by the caller's device seed) or reading its
    /// variables through `vb`.
    pub fn new(cfg: &ModelConfig, vb: VarBuilder) -> Result<Transformer> {
        let d = cfg.d_model;
        let std = 0.02;
        let out_std = 0.02 / (2.0 * cfg.layers as f64).sqrt();
        let embed_w = vb.get_with_hints(
            (cfg.vocab, d),
            "embed.weight",
            candle_nn::Init::Randn { mean: 0.0, stdev: std },
        )?;
        let embed = Embedding::new(embed_w, d);
        let feat = if cfg.features {
            let w = vb.get_with_hints(
                (feature_rows(cfg.feature_count()), d),
                "feat.weight",
                candle_nn::Init::Randn { mean: 0.0, stdev: std },
            )?;
            Some(Embedding::new(w, d))
        } else {
            None
        };
        let mut blocks = Vec::with_capacity(cfg.layers);
        for i in 0..cfg.layers {
            let vb = vb.pp(format!("blocks.{i}"));
            blocks.push(Block {
                ln1: layer_norm(d, vb.pp("ln1"))?,
                qkv: linear(d, 3 * d, std, vb.pp("qkv"))?,
                proj: linear(d, d, out_std, vb.pp("proj"))?,
                ln2: layer_norm(d, vb.pp("ln2"))?,
                fc1: linear(d, cfg.d_ff, std, vb.pp("fc1"))?,
                fc2: linear(cfg.d_ff, d, out_std, vb.pp("fc2"))?,
            });
        }
        let ln_f = layer_norm(d, vb.pp("ln_f"))?;
        let rel = if cfg.relative_pitch {
            Some(linear(d, RELATIVE_INTERVALS, std, vb.pp("rel"))?)
        } else {
            None
        };
        let (cos, sin) = rope_tables(cfg, cfg.max_positions(), vb.device())?;
        Ok(Transformer {
            cfg: cfg.clone(),
            embed,
            feat,
            blocks,
            ln_f,
            rel,
            cos,
            sin,
        })
    }

    /// A fresh model with its variables in a new [`VarMap`].
    pub fn init(cfg: &ModelConfig, dev: &Device) -> Result<(Transformer, VarMap)> {
        let vm = VarMap::new();
        let vb = VarBuilder::from_varmap(&vm, DType::F32, dev);
        let m = Transformer::new(cfg, vb)?;
        Ok((m, vm))
    }

    /// Full-sequence forward for training: `ids` `[b, t]` (each row a stream from its `BOS`) ->
    /// logits `[b, t, vocab]`.
    pub fn forward(&self, ids: &Tensor) -> Result<Tensor> {
        let feats = if self.feat.is_some() {
            Some(features_of(ids, self.cfg.feature_count())?)
        } else {
            None
        };
        let (logits, _) = self.forward_with(ids, feats.as_ref(), None, false)?;
        Ok(logits)
    }

    /// Forward over new tokens `ids` `[b, n]` after a cache of `past` tokens, with their context
    /// features `[b, n, f]` (u32, `f` the config's feature count, required when it has `features`); returns logits
    /// `[b, n, vocab]` and the cache extended by the new tokens.
    pub fn forward_cached(
        &self,
        ids: &Tensor,
        feats: Option<&Tensor>,
        cache: Option<&KvCache>,
    ) -> Result<(Tensor, KvCache)> {
        self.forward_with(ids, feats, cache, true)
    }

    /// [`Self::forward_cached`]; without `keep_cache` the returned cache is empty, and a window
    /// without a cached past takes the attention as one op from the packed projection
    /// ([`crate::fused::causal_self_attention`]).
    fn forward_with(
        &self,
        ids: &Tensor,
        feats: Option<&Tensor>,
        cache: Option<&KvCache>,
        keep_cache: bool,
    ) -> Result<(Tensor, KvCache)> {
        let (b, n) = ids.dims2()?;
        let past = cache.and_then(|c| c.first()).map_or(Ok(0), |(k, _)| k.dim(2))?;
        let total = past + n;
        if total > self.cos.dim(0)? {
            candle_core::bail!("position {total} beyond the rotary table ({})", self.cos.dim(0)?);
        }
        let cos = self.cos.narrow(0, past, n)?;
        let sin = self.sin.narrow(0, past, n)?;
        let h = self.cfg.heads;
        let hd = self.cfg.head_dim();
        let d = self.cfg.d_model;
        let scale = 1.0 / (hd as f64).sqrt();
        let mut x = self.embed.forward(ids)?;
        if let Some(fe) = &self.feat {
            let f = feats.ok_or_else(|| candle_core::Error::Msg("this model needs context features".into()))?;
            let e = fe
                .forward(&f.flatten_all()?)?
                .reshape((b, n, self.cfg.feature_count(), d))?;
            x = (x + e.sum(2)?)?;
        }
        let mut present = Vec::with_capacity(self.blocks.len());
        for (li, blk) in self.blocks.iter().enumerate() {
            let a = ln(&x, &blk.ln1)?;
            let qkv = lin(&a, &blk.qkv)?;
            let ctx = if past == 0 && !keep_cache {
                // The whole attention from the packed projection, over the causal triangle.
                crate::fused::causal_self_attention(&qkv, &cos, &sin, h, scale)?
            } else {
                let split = |i: usize| crate::fused::split_heads(&qkv, i, h);
                let q = crate::fused::rope(&split(0)?, &cos, &sin)?;
                let k = crate::fused::rope(&split(1)?, &cos, &sin)?;
                let v = split(2)?;
                let (k, v) = match cache.and_then(|c| c.get(li)) {
                    Some((pk, pv)) if past > 0 => (Tensor::cat(&[pk, &k], 2)?, Tensor::cat(&[pv, &v], 2)?),
                    _ => (k, v),
                };
                // Query i (absolute past + i) sees keys j <= past + i. Without a cached past, the
                // products skip the masked triangle ([`crate::fused`]).
                let mixed = if past == 0 {
                    crate::fused::causal_mix(&crate::fused::causal_probs(&q, &k, scale)?, &v)?
                } else {
                    let p = crate::fused::attention_softmax(&q.matmul(&k.transpose(2, 3)?)?, scale, past)?;
                    p.matmul(&v)?
                };
                present.push((k, v));
                mixed.transpose(1, 2)?.reshape((b, n, d))?
            };
            x = (x + lin(&ctx, &blk.proj)?)?;
            let m = ln(&x, &blk.ln2)?;
            let m = lin(&crate::fused::gelu(&lin(&m, &blk.fc1)?)?, &blk.fc2)?;
            x = (x + m)?;
        }
        let x = ln(&x, &self.ln_f)?;
        let (b, n, d) = x.dims3()?;
        let x = x.reshape((b * n, d))?;
        let mut logits = x.matmul(&self.embed.embeddings().t()?)?;
        if let Some(rel) = &self.rel {
            let f = feats.ok_or_else(|| candle_core::Error::Msg("this model needs context features".into()))?;
            logits = add_relative_pitch(&logits, &lin(&x, rel)?, f)?;
        }
        Ok((logits.reshape((b, n, self.cfg.vocab))?, present))
    }
}

/// The relative-pitch head's values `rel` `[rows, 12]` added to the pitch logits of `logits`
/// `[rows, vocab]`, each by its interval above the root of the row's chord (`feats` `[b, n, f]`,
/// the chord first); rows without a chord are unchanged.
fn add_relative_pitch(logits: &Tensor, rel: &Tensor, feats: &Tensor) -> Result<Tensor> {
    let (rows, v) = logits.dims2()?;
    let dev = logits.device();
    let chords = feats
        .narrow(2, 0, 1)?
        .flatten_all()?
        .to_dtype(DType::U32)?
        .to_vec1::<u32>()?;
    let idx: Vec<u32> = chords
        .iter()
        .flat_map(|&c| (0..128u8).map(move |p| relative_class(c, p) as u32))
        .collect();
    let idx = Tensor::from_vec(idx, (rows, 128), dev)?;
    let padded = Tensor::cat(&[rel, &Tensor::zeros((rows, 1), rel.dtype(), dev)?], 1)?;
    let add = padded.gather(&idx, 1)?;
    let pb = Vocab::id(Token::Pitch(0)) as usize;
    let add = add.pad_with_zeros(1, pb, v - pb - 128)?;
    logits + add
}

/// Context features `[b, t, count]` (u32) of every row of `ids` `[b, t]`, each row read from a
/// fresh state ([`models::tokenizer::features`]).
pub fn features_of(ids: &Tensor, count: usize) -> Result<Tensor> {
    let rows = ids.to_vec2::<u32>()?;
    let (b, t) = ids.dims2()?;
    let flat: Vec<u32> = rows.iter().flat_map(|r| feature_ids(r, count)).collect();
    Tensor::from_vec(flat, (b, t, count), ids.device())
}

/// Cross-entropy of `logits` `[b, t, v]` against `targets` `[b, t]` (u32), averaged over the
/// positions where `weights` `[b, t]` (f32, 0 or 1) is 1. Returns (mean loss, number of positions).
pub fn masked_loss(logits: &Tensor, targets: &Tensor, weights: &Tensor) -> Result<(Tensor, f64)> {
    let w_sum = weights.sum_all()?.to_scalar::<f32>()? as f64;
    Ok((masked_loss_over(logits, targets, weights, w_sum)?, w_sum))
}

/// The cross-entropy summed over the positions `weights` marks, divided by `total` (at least 1):
/// [`masked_loss`] of a part of a batch, `total` the whole batch's weight.
pub fn masked_loss_over(logits: &Tensor, targets: &Tensor, weights: &Tensor, total: f64) -> Result<Tensor> {
    (nll_per_position(logits, targets)? * weights)?.sum_all()? / total.max(1.0)
}

/// Per-position negative log-likelihood `[b, t]` (no reduction), for evaluation.
pub fn nll_per_position(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
    let (b, t, v) = logits.dims3()?;
    let logits = logits.reshape((b * t, v))?;
    crate::fused::cross_entropy(&logits, &targets.flatten_all()?)?.reshape((b, t))
}

/// Re-initialises every variable of `vm` from `seed` (candle's CPU generator cannot be seeded):
/// matrices normal with std 0.02 (residual outputs scaled by `1/sqrt(2 layers)`), LayerNorm gains 1,
/// biases 0.
pub fn seeded_init(vm: &VarMap, cfg: &ModelConfig, seed: u64) -> Result<()> {
    let mut rng = crate::rng::Rng::new(seed);
    let out_std = 0.02 / (2.0 * cfg.layers as f64).sqrt();
    for (name, var) in sorted_vars(vm) {
        let t = var.as_tensor();
        let n = t.elem_count();
        let data: Vec<f32> = if name.ends_with(".bias") {
            vec![0.0; n]
        } else if name.contains("ln") {
            vec![1.0; n]
        } else {
            let std = if name.contains("proj.") || name.contains("fc2.") {
                out_std
            } else {
                0.02
            };
            (0..n).map(|_| (rng.normal() * std) as f32).collect()
        };
        var.set(&Tensor::from_vec(data, t.shape(), t.device())?)?;
    }
    Ok(())
}

/// The variables of a [`VarMap`] sorted by name (a stable order for the optimizer and checkpoints).
pub fn sorted_vars(vm: &VarMap) -> Vec<(String, Var)> {
    let data = vm.data().lock().expect("var map lock");
    let mut v: Vec<(String, Var)> = data.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::HashMap;

    pub(crate) fn tiny() -> ModelConfig {
        ModelConfig {
            layers: 2,
            d_model: 32,
            heads: 4,
            d_ff: 64,
            context: 32,
            rope_base: 10_000.0,
            rope_span: 4,
            vocab: default_vocab(),
            features: true,
            tempo_feature: true,
            style_feature: false,
            harmony_feature: false,
            relative_pitch: true,
            given_kind: false,
        }
    }

    #[test]
    fn cached_decoding_matches_a_full_pass() {
        let dev = Device::Cpu;
        let (m, _vm) = Transformer::init(&tiny(), &dev).unwrap();
        // Chord and position tokens among them, so the features change along the way.
        let ids: Vec<u32> = (0..20).map(|i| (587 + i * 37 % 500) as u32).collect();
        let all = Tensor::new(ids.as_slice(), &dev).unwrap().unsqueeze(0).unwrap();
        let feats = features_of(&all, tiny().feature_count()).unwrap();
        let full = m.forward(&all).unwrap();
        let (first, mut cache) = m
            .forward_cached(
                &Tensor::new(&ids[..7], &dev).unwrap().unsqueeze(0).unwrap(),
                Some(&feats.narrow(1, 0, 7).unwrap()),
                None,
            )
            .unwrap();
        let mut rows = vec![first];
        for (i, &id) in ids.iter().enumerate().skip(7) {
            let (l, c) = m
                .forward_cached(
                    &Tensor::new(&[id], &dev).unwrap().unsqueeze(0).unwrap(),
                    Some(&feats.narrow(1, i, 1).unwrap()),
                    Some(&cache),
                )
                .unwrap();
            cache = c;
            rows.push(l);
        }
        let step = Tensor::cat(&rows, 1).unwrap();
        let diff = (full - step)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(diff < 1e-4, "{diff}");
    }

    #[test]
    fn the_relative_head_adds_by_the_interval_above_the_chord_root() {
        let dev = Device::Cpu;
        let (m, vm) = Transformer::init(&tiny(), &dev).unwrap();
        seeded_init(&vm, &tiny(), 3).unwrap();
        let vars: HashMap<String, Var> = sorted_vars(&vm).into_iter().collect();
        let bias: Vec<f32> = (0..RELATIVE_INTERVALS).map(|i| i as f32 + 1.0).collect();
        vars["rel.weight"]
            .set(&vars["rel.weight"].as_tensor().zeros_like().unwrap())
            .unwrap();
        // BAR POS:0, then D7 (ROOT:D QUAL:Dom7), then POS:12.
        let d7 = [
            Vocab::id(Token::Bar),
            Vocab::id(Token::Pos(0)),
            Vocab::id(Token::ChordRoot(2)),
            Vocab::id(Token::ChordQual(models::chord::ChordQuality::Dom7)),
            Vocab::id(Token::Pos(12)),
        ];
        let ids = Tensor::new(&d7[..], &dev).unwrap().unsqueeze(0).unwrap();
        let logits = |b: &[f32]| {
            vars["rel.bias"].set(&Tensor::new(b, &dev).unwrap()).unwrap();
            m.forward(&ids).unwrap().squeeze(0).unwrap().to_vec2::<f32>().unwrap()
        };
        let (with, without) = (logits(&bias), logits(&[0.0; RELATIVE_INTERVALS]));
        let pb = Vocab::id(Token::Pitch(0)) as usize;
        for (row, (a, b)) in with.iter().zip(&without).enumerate() {
            for (v, (x, y)) in a.iter().zip(b).enumerate() {
                // No chord before the QUAL (rows 0-2); D7 from it on: pitch p gets bias[(p - 2) % 12].
                let want = if row >= 3 && (pb..pb + 128).contains(&v) {
                    bias[(v - pb + 10) % 12]
                } else {
                    0.0
                };
                assert!(
                    (x - y - want).abs() < 1e-4,
                    "row {row} id {v}: {} against {want}",
                    x - y
                );
            }
        }
    }

    #[test]
    fn parameter_count_matches_the_var_map() {
        let (_m, vm) = Transformer::init(&tiny(), &Device::Cpu).unwrap();
        let n: usize = vm.all_vars().iter().map(|v| v.elem_count()).sum();
        assert_eq!(n, tiny().parameters());
    }
}
