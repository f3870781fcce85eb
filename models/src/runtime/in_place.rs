//! The KV cache of a fused graph (one with [`SEQLENS_INPUT`]), kept in place between passes.
//!
//! Each layer's keys and values live in one pre-allocated `[1, heads, capacity, head_dim]` buffer
//! bound (with ort's `IoBinding`) both as the graph's `past_*` input and its `present_*` output.
//! ONNX Runtime's GroupQueryAttention sees the two share memory and writes only the new rows, so a
//! step copies nothing; the tokens the cache holds are told by `seqlens_k` / `total_sequence_length`,
//! so a rollback is lowering a count. The ids, features, counts and logits of a one-token pass
//! are bound once too and rewritten in place, so a step allocates no tensor.

use ort::memory::Allocator;
use ort::session::{IoBinding, Session};
use ort::value::Tensor;

use super::{SEQLENS_INPUT, TOTAL_LEN_INPUT, TransformerSpec};
use crate::model::ModelError;
use crate::tokenizer::VOCAB_SIZE;
use crate::tokenizer::features::FEATURE_INPUT;

fn backend<E: std::fmt::Display>(e: E) -> ModelError {
    ModelError::Backend(e.to_string())
}

/// One layer's saved cache: shape `[1, heads, len, head_dim]`, keys, values.
pub(super) type SavedLayer = ([usize; 4], Vec<f32>, Vec<f32>);

/// Binds the counts and the cache buffers (each as both past and present) to `b`.
fn bind_shared(
    b: &mut IoBinding,
    seqlens: &Tensor<i32>,
    total: &Tensor<i32>,
    kv: &mut [(Tensor<f32>, Tensor<f32>)],
    spec: &TransformerSpec,
) -> Result<(), ModelError> {
    b.bind_input(SEQLENS_INPUT, seqlens).map_err(backend)?;
    b.bind_input(TOTAL_LEN_INPUT, total).map_err(backend)?;
    for (i, (k, v)) in kv.iter_mut().enumerate() {
        b.bind_input(format!("{}{i}", spec.io.past_key), &*k).map_err(backend)?;
        b.bind_input(format!("{}{i}", spec.io.past_value), &*v)
            .map_err(backend)?;
        b.bind_output(format!("{}{i}", spec.io.present_key), &mut *k)
            .map_err(backend)?;
        b.bind_output(format!("{}{i}", spec.io.present_value), &mut *v)
            .map_err(backend)?;
    }
    Ok(())
}

/// The bound buffers of a fused graph.
pub(super) struct InPlaceCache {
    /// Binding of a one-token pass (the common case: every decoding step).
    step: IoBinding,
    ids: Tensor<i64>,
    feats: Option<Tensor<i64>>,
    seqlens: Tensor<i32>,
    total: Tensor<i32>,
    logits: Tensor<f32>,
    /// Per layer: keys, values.
    kv: Vec<(Tensor<f32>, Tensor<f32>)>,
    heads: usize,
    head_dim: usize,
    capacity: usize,
    features: usize,
}

impl InPlaceCache {
    /// Allocates and binds the buffers for `spec.context_len` tokens.
    pub(super) fn new(session: &Session, spec: &TransformerSpec, features: usize) -> Result<Self, ModelError> {
        let alloc = Allocator::default();
        let (h, hd, cap) = (spec.heads, spec.head_dim, spec.context_len.max(1));
        let mut kv = Vec::with_capacity(spec.layers);
        for _ in 0..spec.layers {
            let mut k = Tensor::<f32>::new(&alloc, [1usize, h, cap, hd]).map_err(backend)?;
            let mut v = Tensor::<f32>::new(&alloc, [1usize, h, cap, hd]).map_err(backend)?;
            k.extract_tensor_mut().1.fill(0.0);
            v.extract_tensor_mut().1.fill(0.0);
            kv.push((k, v));
        }
        let mut c = InPlaceCache {
            step: session.create_binding().map_err(backend)?,
            ids: Tensor::<i64>::new(&alloc, [1usize, 1]).map_err(backend)?,
            feats: match features {
                0 => None,
                f => Some(Tensor::<i64>::new(&alloc, [1usize, 1, f]).map_err(backend)?),
            },
            seqlens: Tensor::<i32>::new(&alloc, [1usize]).map_err(backend)?,
            total: Tensor::<i32>::new(&alloc, [1usize]).map_err(backend)?,
            logits: Tensor::<f32>::new(&alloc, [1usize, 1, VOCAB_SIZE as usize]).map_err(backend)?,
            kv,
            heads: h,
            head_dim: hd,
            capacity: cap,
            features,
        };
        c.step.bind_input(&spec.io.input_ids, &c.ids).map_err(backend)?;
        if let Some(f) = &c.feats {
            c.step.bind_input(FEATURE_INPUT, f).map_err(backend)?;
        }
        c.step.bind_output(&spec.io.logits, &mut c.logits).map_err(backend)?;
        bind_shared(&mut c.step, &c.seqlens, &c.total, &mut c.kv, spec)?;
        Ok(c)
    }

    /// Runs `ids` (with `feats`, `features` per token) at positions `past..past + ids.len()` and
    /// writes their logits, row-major `[ids.len(), vocab]`, to `out`.
    pub(super) fn run(
        &mut self,
        session: &mut Session,
        spec: &TransformerSpec,
        past: usize,
        ids: &[i64],
        feats: &[i64],
        out: &mut Vec<f32>,
    ) -> Result<(), ModelError> {
        let n = ids.len();
        if n == 0 {
            out.clear();
            return Ok(());
        }
        if past + n > self.capacity {
            return Err(ModelError::ContextFull(self.capacity));
        }
        let total = (past + n) as i32;
        self.seqlens.extract_tensor_mut().1[0] = total - 1;
        self.total.extract_tensor_mut().1[0] = total;
        let v = VOCAB_SIZE as usize;
        if n == 1 {
            self.ids.extract_tensor_mut().1[0] = ids[0];
            if let Some(f) = &mut self.feats {
                f.extract_tensor_mut().1.copy_from_slice(&feats[..self.features]);
            }
            drop(session.run_binding(&self.step).map_err(backend)?);
            out.clear();
            out.extend_from_slice(self.logits.extract_tensor().1);
            return Ok(());
        }
        // A pass over several tokens (a prefill or an evaluation): tensors of its own length.
        let alloc = Allocator::default();
        let mut b = session.create_binding().map_err(backend)?;
        let ids_t = Tensor::from_array(([1usize, n], ids.to_vec())).map_err(backend)?;
        b.bind_input(&spec.io.input_ids, &ids_t).map_err(backend)?;
        let feats_t;
        if self.features > 0 {
            feats_t = Tensor::from_array(([1usize, n, self.features], feats.to_vec())).map_err(backend)?;
            b.bind_input(FEATURE_INPUT, &feats_t).map_err(backend)?;
        }
        let mut logits = Tensor::<f32>::new(&alloc, [1usize, n, v]).map_err(backend)?;
        b.bind_output(&spec.io.logits, &mut logits).map_err(backend)?;
        bind_shared(&mut b, &self.seqlens, &self.total, &mut self.kv, spec)?;
        drop(session.run_binding(&b).map_err(backend)?);
        drop(b);
        out.clear();
        out.extend_from_slice(logits.extract_tensor().1);
        Ok(())
    }

    /// A copy of the first `len` cached tokens of every layer.
    pub(super) fn save(&self, len: usize) -> Vec<SavedLayer> {
        let (h, hd, cap) = (self.heads, self.head_dim, self.capacity);
        let len = len.min(cap);
        let cut = |t: &Tensor<f32>| {
            let data = t.extract_tensor().1;
            let mut out = Vec::with_capacity(h * len * hd);
            for head in 0..h {
                let start = head * cap * hd;
                out.extend_from_slice(&data[start..start + len * hd]);
            }
            out
        };
        self.kv.iter().map(|(k, v)| ([1, h, len, hd], cut(k), cut(v))).collect()
    }

    /// Writes a saved cache back; false (nothing written) when its shape does not fit.
    pub(super) fn restore(&mut self, saved: &[SavedLayer]) -> bool {
        let (h, hd, cap) = (self.heads, self.head_dim, self.capacity);
        let fits = saved.len() == self.kv.len()
            && saved.iter().all(|(dims, k, v)| {
                dims[0] == 1
                    && dims[1] == h
                    && dims[2] <= cap
                    && dims[3] == hd
                    && k.len() == h * dims[2] * hd
                    && v.len() == k.len()
            });
        if !fits {
            return false;
        }
        let put = |t: &mut Tensor<f32>, src: &[f32], len: usize| {
            let data = t.extract_tensor_mut().1;
            for head in 0..h {
                let start = head * cap * hd;
                data[start..start + len * hd].copy_from_slice(&src[head * len * hd..(head + 1) * len * hd]);
            }
        };
        for ((k, v), (dims, sk, sv)) in self.kv.iter_mut().zip(saved) {
            put(k, sk, dims[2]);
            put(v, sv, dims[2]);
        }
        true
    }
}
