//! The KV cache of a fused graph (one with [`SEQLENS_INPUT`]), kept in place between passes.
//!
//! Each layer's keys and values live in one pre-allocated `[1, heads, capacity, head_dim]` buffer
//! (f32, or f16 where the graph's cache is f16: the kernel graph) bound (with ort's `IoBinding`)
//! both as the graph's `past_*` input and its `present_*` output. ONNX Runtime's
//! GroupQueryAttention and Sideman's `DecoderLayer` see the two share memory and write only the
//! new rows, so a step copies nothing; the tokens the cache holds are told by `seqlens_k` / `total_sequence_length`,
//! so a rollback is lowering a count. The ids, features, counts and logits of a one-token pass
//! are bound once too and rewritten in place, so a step allocates no tensor.

use half::f16;
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

/// One layer's cache buffers, keys and values, in the graph's element type.
enum LayerCache {
    F32(Tensor<f32>, Tensor<f32>),
    F16(Tensor<f16>, Tensor<f16>),
}

impl LayerCache {
    fn new(alloc: &Allocator, f16: bool, shape: [usize; 4]) -> Result<Self, ModelError> {
        Ok(if f16 {
            let mut k = Tensor::<f16>::new(alloc, shape).map_err(backend)?;
            let mut v = Tensor::<f16>::new(alloc, shape).map_err(backend)?;
            k.extract_tensor_mut().1.fill(f16::ZERO);
            v.extract_tensor_mut().1.fill(f16::ZERO);
            LayerCache::F16(k, v)
        } else {
            let mut k = Tensor::<f32>::new(alloc, shape).map_err(backend)?;
            let mut v = Tensor::<f32>::new(alloc, shape).map_err(backend)?;
            k.extract_tensor_mut().1.fill(0.0);
            v.extract_tensor_mut().1.fill(0.0);
            LayerCache::F32(k, v)
        })
    }

    /// Binds both buffers as layer `i`'s past and present.
    fn bind(&mut self, b: &mut IoBinding, i: usize, spec: &TransformerSpec) -> Result<(), ModelError> {
        let io = &spec.io;
        let (pk, pv) = (format!("{}{i}", io.past_key), format!("{}{i}", io.past_value));
        let (ok, ov) = (format!("{}{i}", io.present_key), format!("{}{i}", io.present_value));
        match self {
            LayerCache::F32(k, v) => {
                b.bind_input(pk, &*k).map_err(backend)?;
                b.bind_input(pv, &*v).map_err(backend)?;
                b.bind_output(ok, &mut *k).map_err(backend)?;
                b.bind_output(ov, &mut *v).map_err(backend)?;
            }
            LayerCache::F16(k, v) => {
                b.bind_input(pk, &*k).map_err(backend)?;
                b.bind_input(pv, &*v).map_err(backend)?;
                b.bind_output(ok, &mut *k).map_err(backend)?;
                b.bind_output(ov, &mut *v).map_err(backend)?;
            }
        }
        Ok(())
    }

    /// The first `len` rows of each head, keys then values, as f32 (f16 widens exactly).
    fn cut(&self, h: usize, cap: usize, hd: usize, len: usize) -> (Vec<f32>, Vec<f32>) {
        fn rows<T: Copy>(data: &[T], h: usize, cap: usize, hd: usize, len: usize, f: impl Fn(T) -> f32) -> Vec<f32> {
            let mut out = Vec::with_capacity(h * len * hd);
            for head in 0..h {
                let start = head * cap * hd;
                out.extend(data[start..start + len * hd].iter().map(|&x| f(x)));
            }
            out
        }
        match self {
            LayerCache::F32(k, v) => (
                rows(k.extract_tensor().1, h, cap, hd, len, |x| x),
                rows(v.extract_tensor().1, h, cap, hd, len, |x| x),
            ),
            LayerCache::F16(k, v) => (
                rows(k.extract_tensor().1, h, cap, hd, len, f16::to_f32),
                rows(v.extract_tensor().1, h, cap, hd, len, f16::to_f32),
            ),
        }
    }

    /// Writes `len` saved rows of each head back (the inverse of [`LayerCache::cut`]).
    fn put(&mut self, h: usize, cap: usize, hd: usize, len: usize, sk: &[f32], sv: &[f32]) {
        fn rows<T>(data: &mut [T], src: &[f32], h: usize, cap: usize, hd: usize, len: usize, f: impl Fn(f32) -> T) {
            for head in 0..h {
                let start = head * cap * hd;
                for (d, &s) in data[start..start + len * hd]
                    .iter_mut()
                    .zip(&src[head * len * hd..(head + 1) * len * hd])
                {
                    *d = f(s);
                }
            }
        }
        match self {
            LayerCache::F32(k, v) => {
                rows(k.extract_tensor_mut().1, sk, h, cap, hd, len, |x| x);
                rows(v.extract_tensor_mut().1, sv, h, cap, hd, len, |x| x);
            }
            LayerCache::F16(k, v) => {
                rows(k.extract_tensor_mut().1, sk, h, cap, hd, len, f16::from_f32);
                rows(v.extract_tensor_mut().1, sv, h, cap, hd, len, f16::from_f32);
            }
        }
    }
}

/// Binds the counts and the cache buffers (each as both past and present) to `b`.
fn bind_shared(
    b: &mut IoBinding,
    seqlens: &Tensor<i32>,
    total: &Tensor<i32>,
    kv: &mut [LayerCache],
    spec: &TransformerSpec,
) -> Result<(), ModelError> {
    b.bind_input(SEQLENS_INPUT, seqlens).map_err(backend)?;
    b.bind_input(TOTAL_LEN_INPUT, total).map_err(backend)?;
    for (i, c) in kv.iter_mut().enumerate() {
        c.bind(b, i, spec)?;
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
    kv: Vec<LayerCache>,
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
        // The cache's element type is the graph's (`past_key_0`).
        let past0 = format!("{}0", spec.io.past_key);
        let f16 = session.inputs().iter().any(|i| {
            i.name() == past0
                && matches!(
                    i.dtype(),
                    ort::value::ValueType::Tensor {
                        ty: ort::value::TensorElementType::Float16,
                        ..
                    }
                )
        });
        let mut kv = Vec::with_capacity(spec.layers);
        for _ in 0..spec.layers {
            kv.push(LayerCache::new(&alloc, f16, [1usize, h, cap, hd])?);
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
        self.kv
            .iter()
            .map(|c| {
                let (k, v) = c.cut(h, cap, hd, len);
                ([1, h, len, hd], k, v)
            })
            .collect()
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
        for (c, (dims, sk, sv)) in self.kv.iter_mut().zip(saved) {
            c.put(h, cap, hd, dims[2], sk, sv);
        }
        true
    }
}
