//! A training window's whole causal self-attention as one op: from the packed projection
//! `[b, t, 3d]` (queries, keys and values side by side, each `h` heads of `hd`) to the heads'
//! output `[b, t, d]`, the rotary embedding of the queries and keys included.
//!
//! Built from [`super::rope`], [`super::causal_probs`] and [`super::causal_mix`], the attention
//! also made q, k and v contiguous per head (three copies), the output back into rows (a fourth),
//! and in the backward each `narrow` of the packed projection padded its gradient to the packed
//! width with zeros before the three were added. Here each batch item and head reads its columns
//! of the packed rows in place (its queries and keys rotated into a scratch buffer), writes its
//! columns of the output, and its backward writes its columns of the projection's gradient: no
//! copy, no zeros. The products are [`super::attention`]'s, over the lower triangle in blocks; the
//! probabilities are kept from the forward for the backward.
//!
//! Only for windows without a cached past (training and scoring).

use std::sync::Mutex;

use super::attention::{blocks, mm, probs_block};
use super::pointwise::rotate;
use super::{lane_dot, slice, written_later};
use candle_core::{CpuStorage, CustomOp2, CustomOp3, D, Layout, Result, Shape, Tensor, bail};
use models::simd_kernel;
use rayon::prelude::*;

/// The heads' output `[b, t, d]` of causal self-attention over the packed projection `qkv`
/// `[b, t, 3d]` (queries, keys, values), the queries and keys rotated by `cos`/`sin` `[t, hd / 2]`
/// ([`super::rope`]), query `i` seeing keys `j <= i`, the scores scaled by `scale`.
pub fn causal_self_attention(qkv: &Tensor, cos: &Tensor, sin: &Tensor, heads: usize, scale: f64) -> Result<Tensor> {
    if qkv.device().is_cpu() && qkv.dtype() == candle_core::DType::F32 && scale > 0.0 {
        qkv.contiguous()?.apply_op3(
            &cos.contiguous()?,
            &sin.contiguous()?,
            SelfAttention {
                heads,
                scale: scale as f32,
                probs: Mutex::new(Vec::new()),
            },
        )
    } else {
        causal_self_attention_primitive(qkv, cos, sin, heads, scale)
    }
}

/// [`causal_self_attention`] from the primitive ops (any device).
pub fn causal_self_attention_primitive(
    qkv: &Tensor,
    cos: &Tensor,
    sin: &Tensor,
    heads: usize,
    scale: f64,
) -> Result<Tensor> {
    let (b, t, d3) = qkv.dims3()?;
    let d = d3 / 3;
    let split = |i: usize| split_heads(qkv, i, heads);
    let q = super::rope_primitive(&split(0)?, cos, sin)?;
    let k = super::rope_primitive(&split(1)?, cos, sin)?;
    let p = super::attention_softmax(&q.matmul(&k.t()?)?, scale, 0)?;
    p.matmul(&split(2)?)?.transpose(1, 2)?.reshape((b, t, d))
}

/// Part `which` (0 queries, 1 keys, 2 values) of the packed projection `qkv` `[b, t, 3d]`, as
/// contiguous heads `[b, heads, t, d / heads]`.
pub fn split_heads(qkv: &Tensor, which: usize, heads: usize) -> Result<Tensor> {
    let (b, t, d3) = qkv.dims3()?;
    let d = d3 / 3;
    qkv.narrow(D::Minus1, which * d, d)?
        .reshape((b, t, heads, d / heads))?
        .transpose(1, 2)?
        .contiguous()
}

/// The shape of the packed projection: `(b, t, d, hd)`.
fn shape(l: &Layout, heads: usize, op: &str) -> Result<(usize, usize, usize, usize)> {
    match l.dims() {
        [b, t, w]
            if w.is_multiple_of(3)
                && heads > 0
                && (w / 3).is_multiple_of(heads)
                && (w / 3 / heads).is_multiple_of(2) =>
        {
            Ok((*b, *t, w / 3, w / 3 / heads))
        }
        d => bail!("{op}: [batch, t, 3 x heads x even width] expected with {heads} heads, got {d:?}"),
    }
}

simd_kernel! {
    /// One batch item's queries and keys of every head, rotated, into `q` and `k` `[h, t, hd]`
    /// (`dims`: `t`, `d`, `hd`), reading the item's packed rows `x` `[t, 3d]` in order (a head at a
    /// time, the rows 3d apart, was slow).
    fn rotate_item(q: &mut [f32], k: &mut [f32], x: &[f32], dims: (usize, usize, usize), cos: &[f32], sin: &[f32]) {
        let (t, d, hd) = dims;
        let half = hd / 2;
        for i in 0..t {
            let row = &x[i * 3 * d..][..3 * d];
            let (c, s) = (&cos[i * half..][..half], &sin[i * half..][..half]);
            for head in 0..d / hd {
                let at = (head * t + i) * hd;
                rotate(&mut q[at..at + hd], &row[head * hd..][..hd], c, s, 1.0);
                rotate(&mut k[at..at + hd], &row[d + head * hd..][..hd], c, s, 1.0);
            }
        }
    }
}

simd_kernel! {
    /// The inverse of [`rotate_item`]: `dq` and `dk` `[h, t, hd]` rotated back into the query and
    /// key columns of the item's gradient rows `dx` `[t, 3d]`.
    fn unrotate_item(dx: &mut [f32], dq: &[f32], dk: &[f32], dims: (usize, usize, usize), cos: &[f32], sin: &[f32]) {
        let (t, d, hd) = dims;
        let half = hd / 2;
        for i in 0..t {
            let (c, s) = (&cos[i * half..][..half], &sin[i * half..][..half]);
            let row = &mut dx[i * 3 * d..][..3 * d];
            for head in 0..d / hd {
                let at = (head * t + i) * hd;
                rotate(&mut row[head * hd..][..hd], &dq[at..at + hd], c, s, -1.0);
                rotate(&mut row[d + head * hd..][..hd], &dk[at..at + hd], c, s, -1.0);
            }
        }
    }
}

/// One batch item's probabilities `p` `[h, t, t]` (zero above the diagonal) from its packed rows `x`
/// `[t, 3d]`, and with `out` its output rows `[t, d]`.
fn forward_item(
    p: &mut [f32],
    x: &[f32],
    (t, d, hd): (usize, usize, usize),
    tables: (&[f32], &[f32]),
    scale: f32,
    mut out: Option<&mut [f32]>,
) {
    let h = d / hd;
    let (mut q, mut k) = (written_later(h * t * hd), written_later(h * t * hd));
    rotate_item(&mut q, &mut k, x, (t, d, hd), tables.0, tables.1);
    for (head, p) in p.chunks_exact_mut(t * t).enumerate() {
        let (q, k) = (&q[head * t * hd..][..t * hd], &k[head * t * hd..][..t * hd]);
        for (r, rows) in blocks(t) {
            let keys = r + rows;
            probs_block(p, q, k, (t, hd), (r, rows), scale);
            if let Some(out) = out.as_deref_mut() {
                // SAFETY: rows r..keys of the head's columns of out (row stride d); p's rows up
                // to column keys; the first `keys` rows of the head's values (row stride 3d).
                unsafe {
                    mm(
                        (rows, hd, keys),
                        out[r * d + head * hd..].as_mut_ptr(),
                        (d, 1),
                        p[r * t..].as_ptr(),
                        (t, 1),
                        x[2 * d + head * hd..].as_ptr(),
                        (3 * d, 1),
                    )
                };
            }
        }
    }
}

/// The probabilities of every item and head `[b, h, t, t]`, and with `out` the output `[b, t, d]`.
fn forward_all(
    qkv: &[f32],
    (b, t, d, hd): (usize, usize, usize, usize),
    tables: (&[f32], &[f32]),
    scale: f32,
    out: Option<&mut [f32]>,
) -> Vec<f32> {
    let h = d / hd;
    let mut probs = written_later(b * h * t * t);
    let items = probs.par_chunks_mut(h * t * t).zip(qkv.par_chunks(t * 3 * d));
    match out {
        Some(out) => items
            .zip(out.par_chunks_mut(t * d))
            .for_each(|((p, x), o)| forward_item(p, x, (t, d, hd), tables, scale, Some(o))),
        None => items.for_each(|(p, x)| forward_item(p, x, (t, d, hd), tables, scale, None)),
    }
    probs
}

struct SelfAttention {
    heads: usize,
    scale: f32,
    /// The forward's probabilities, taken by the backward.
    probs: Mutex<Vec<f32>>,
}

impl CustomOp3 for SelfAttention {
    fn name(&self) -> &'static str {
        "sideman-causal-self-attention"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (qkv, cos, sin) = (
            slice(s1, l1, self.name())?,
            slice(s2, l2, self.name())?,
            slice(s3, l3, self.name())?,
        );
        let (b, t, d, hd) = shape(l1, self.heads, self.name())?;
        if l2.dims() != [t, hd / 2] || l3.dims() != [t, hd / 2] {
            bail!(
                "{}: rotary tables {:?} / {:?} for {t} positions of width {hd}",
                self.name(),
                l2.dims(),
                l3.dims()
            );
        }
        let mut out = written_later(b * t * d);
        let probs = forward_all(qkv, (b, t, d, hd), (cos, sin), self.scale, Some(&mut out));
        *self.probs.lock().unwrap_or_else(|e| e.into_inner()) = probs;
        Ok((CpuStorage::F32(out), Shape::from((b, t, d))))
    }

    fn bwd(
        &self,
        qkv: &Tensor,
        cos: &Tensor,
        sin: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let probs = std::mem::take(&mut *self.probs.lock().unwrap_or_else(|e| e.into_inner()));
        let vec = |x: &Tensor| x.flatten_all()?.to_vec1::<f32>();
        let op = SelfAttentionBwd {
            heads: self.heads,
            scale: self.scale,
            probs: Mutex::new(probs),
            cos: vec(cos)?,
            sin: vec(sin)?,
        };
        let g = qkv.apply_op2_no_bwd(&grad_res.contiguous()?, &op)?;
        Ok((Some(g), None, None))
    }
}

simd_kernel! {
    /// `g = scale * y * (g - sum(g * y))` in place over one row: the softmax backward.
    fn softmax_bwd_in_place(g: &mut [f32], y: &[f32], scale: f32) {
        let dot = lane_dot(y, g);
        for (g, &y) in g.iter_mut().zip(y) {
            *g = scale * y * (*g - dot);
        }
    }
}

/// The gradient of the packed projection from the output's gradient.
struct SelfAttentionBwd {
    heads: usize,
    scale: f32,
    /// The forward's probabilities (recomputed when empty).
    probs: Mutex<Vec<f32>>,
    cos: Vec<f32>,
    sin: Vec<f32>,
}

impl SelfAttentionBwd {
    /// One batch item: `x` its packed rows `[t, 3d]`, `p` its probabilities `[h, t, t]`, `g` its
    /// output's gradient `[t, d]`, into `dx` its rows of the projection's gradient `[t, 3d]`.
    fn item(&self, dx: &mut [f32], x: &[f32], p: &[f32], g: &[f32], (t, d, hd): (usize, usize, usize)) {
        let (w, h) = (3 * d, d / hd);
        let (mut q, mut k) = (written_later(h * t * hd), written_later(h * t * hd));
        rotate_item(&mut q, &mut k, x, (t, d, hd), &self.cos, &self.sin);
        let (mut dq, mut dk) = (written_later(h * t * hd), written_later(h * t * hd));
        // dP, then in place dS: every element a product below reads is written.
        let mut ds = written_later(t * t);
        for head in 0..h {
            let p = &p[head * t * t..][..t * t];
            let (q, k) = (&q[head * t * hd..][..t * hd], &k[head * t * hd..][..t * hd]);
            let v = x[2 * d + head * hd..].as_ptr();
            let g = g[head * hd..].as_ptr();
            for (r, rows) in blocks(t) {
                let keys = r + rows;
                // SAFETY: every range inside its slice: rows r.. of the head's value columns of dx
                // (row stride w), p's columns r..keys of rows r.., g's and v's rows.
                unsafe {
                    // dv rows r.. = p[r.., r..keys]^T g[r..]
                    mm(
                        (rows, hd, t - r),
                        dx[r * w + 2 * d + head * hd..].as_mut_ptr(),
                        (w, 1),
                        p[r * t + r..].as_ptr(),
                        (1, t),
                        g.add(r * d),
                        (d, 1),
                    );
                    // dp rows r..keys, columns ..keys = g v^T
                    mm(
                        (rows, keys, hd),
                        ds[r * t..].as_mut_ptr(),
                        (t, 1),
                        g.add(r * d),
                        (d, 1),
                        v,
                        (1, w),
                    );
                }
                for i in r..keys {
                    let row = &mut ds[i * t..(i + 1) * t];
                    softmax_bwd_in_place(&mut row[..=i], &p[i * t..=i * t + i], self.scale);
                    row[i + 1..keys].fill(0.0);
                }
            }
            let (dq, dk) = (&mut dq[head * t * hd..][..t * hd], &mut dk[head * t * hd..][..t * hd]);
            for (r, rows) in blocks(t) {
                // SAFETY: as above.
                unsafe {
                    // dq rows r.. = ds[r.., ..keys] k[..keys]
                    mm(
                        (rows, hd, r + rows),
                        dq[r * hd..].as_mut_ptr(),
                        (hd, 1),
                        ds[r * t..].as_ptr(),
                        (t, 1),
                        k.as_ptr(),
                        (hd, 1),
                    );
                    // dk rows r.. = ds[r.., r..keys]^T q[r..]
                    mm(
                        (rows, hd, t - r),
                        dk[r * hd..].as_mut_ptr(),
                        (hd, 1),
                        ds[r * t + r..].as_ptr(),
                        (1, t),
                        q[r * hd..].as_ptr(),
                        (hd, 1),
                    );
                }
            }
        }
        unrotate_item(dx, &dq, &dk, (t, d, hd), &self.cos, &self.sin);
    }
}

impl CustomOp2 for SelfAttentionBwd {
    fn name(&self) -> &'static str {
        "sideman-causal-self-attention-bwd"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        let (qkv, g) = (slice(s1, l1, self.name())?, slice(s2, l2, self.name())?);
        let (b, t, d, hd) = shape(l1, self.heads, self.name())?;
        if l2.dims() != [b, t, d] || self.cos.len() != t * hd / 2 || self.sin.len() != t * hd / 2 {
            bail!(
                "{}: gradient {:?} for a projection {:?}",
                self.name(),
                l2.dims(),
                l1.dims()
            );
        }
        let h = self.heads;
        let mut probs = std::mem::take(&mut *self.probs.lock().unwrap_or_else(|e| e.into_inner()));
        if probs.len() != b * h * t * t {
            probs = forward_all(qkv, (b, t, d, hd), (&self.cos, &self.sin), self.scale, None);
        }
        let mut dx = written_later(b * t * 3 * d);
        dx.par_chunks_mut(t * 3 * d)
            .zip(qkv.par_chunks(t * 3 * d))
            .zip(probs.par_chunks(h * t * t).zip(g.par_chunks(t * d)))
            .for_each(|((dx, x), (p, g))| self.item(dx, x, p, g, (t, d, hd)));
        Ok((CpuStorage::F32(dx), l1.shape().clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::worst;
    use super::*;
    use candle_core::{Device, Var};

    /// The fused op and the projection's gradient agree with the primitive ops, at lengths that
    /// are and are not a multiple of the block, and its backward without the kept probabilities
    /// (recomputed) gives the same.
    #[test]
    fn self_attention_matches_the_primitive_ops_and_their_gradient() {
        let dev = Device::Cpu;
        for t in [32, 2 * 32 + 7] {
            let (b, h, hd) = (2, 3, 16);
            let d = h * hd;
            let qkv0 = Tensor::randn(0f32, 1.0, (b, t, 3 * d), &dev).unwrap();
            let w = Tensor::randn(0f32, 1.0, (b, t, d), &dev).unwrap();
            let (cos, sin) = crate::model::rope_tables(
                &crate::model::ModelConfig {
                    d_model: d,
                    heads: h,
                    ..crate::model::tests::tiny()
                },
                t,
                &dev,
            )
            .unwrap();
            let scale = 0.25;
            let run = |fused: bool| {
                let x = Var::from_tensor(&qkv0).unwrap();
                let o = if fused {
                    causal_self_attention(x.as_tensor(), &cos, &sin, h, scale).unwrap()
                } else {
                    causal_self_attention_primitive(x.as_tensor(), &cos, &sin, h, scale).unwrap()
                };
                let grads = (&o * &w).unwrap().sqr().unwrap().sum_all().unwrap().backward().unwrap();
                let flat = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
                [flat(&o), flat(grads.get(x.as_tensor()).unwrap())]
            };
            let (fused, primitive) = (run(true), run(false));
            for (what, (f, p)) in ["output", "dqkv"].iter().zip(fused.iter().zip(&primitive)) {
                let scale = p.iter().fold(1f32, |m, v| m.max(v.abs()));
                assert!(worst(f, p) < 1e-5 * scale, "t {t}: {what} differs by {}", worst(f, p));
                assert!(
                    f.iter().filter(|v| v.abs() > 1e-2).count() > f.len() / 2,
                    "{what}: mostly zero"
                );
            }
            // The backward with the probabilities recomputed.
            let g = Tensor::randn(0f32, 1.0, (b, t, d), &dev).unwrap();
            let op = |probs: Vec<f32>| SelfAttentionBwd {
                heads: h,
                scale: scale as f32,
                probs: Mutex::new(probs),
                cos: cos.flatten_all().unwrap().to_vec1().unwrap(),
                sin: sin.flatten_all().unwrap().to_vec1().unwrap(),
            };
            let kept = {
                let q = qkv0.to_vec3::<f32>().unwrap().concat().concat();
                forward_all(
                    &q,
                    (b, t, d, hd),
                    (&op(vec![]).cos, &op(vec![]).sin),
                    scale as f32,
                    None,
                )
            };
            let a = qkv0
                .apply_op2_no_bwd(&g, &op(kept))
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            let r = qkv0
                .apply_op2_no_bwd(&g, &op(vec![]))
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            assert_eq!(a, r);
        }
    }
}
