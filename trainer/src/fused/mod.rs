//! Fused CPU kernels with their own backward pass for the training forward (issue 16): candle's
//! fused softmax has no backward, so the attention softmax was built from five primitive ops
//! (max, subtract, exp, sum, divide), each a pass over the `[batch, heads, t, t]` scores with its
//! own allocation, and twice as many again in the backward. Here the forward is one pass per row
//! and the backward one more (`dx = y * (dy - sum(dy * y))`), with the attention's scale and
//! causal mask folded in ([`attention_softmax`], for steps with a cached past; a window without
//! one takes [`causal_self_attention`], which also skips the masked products and reads the heads
//! straight from the packed projection). The same for LayerNorm
//! ([`layer_norm`]), GELU and the rotary embedding (`pointwise`) and the loss (`loss`), whose
//! transcendentals are vectorizable ([`models::math`]).
//!
//! CPU only: on another device each falls back to the primitive ops, which every backend
//! differentiates.

use candle_core::{CpuStorage, CustomOp1, CustomOp2, D, Layout, Result, Shape, Tensor, bail};
use rayon::prelude::*;

mod attention;
mod linear;
mod loss;
mod norm;
mod pointwise;
mod self_attention;

pub use attention::{causal_mix, causal_probs};
pub use linear::{linear, linear_primitive};
pub use loss::{cross_entropy, cross_entropy_primitive};
pub use norm::{layer_norm, layer_norm_primitive};
pub use pointwise::{gelu, gelu_primitive, rope, rope_primitive};
pub use self_attention::{causal_self_attention, causal_self_attention_primitive, split_heads};

/// Rows shorter than this are not worth a rayon task each.
const ROWS_PER_TASK: usize = 16;

/// Softmax over the last axis from differentiable primitives (any device).
pub fn softmax_primitive(x: &Tensor) -> Result<Tensor> {
    let max = x.max_keepdim(D::Minus1)?.detach();
    let e = x.broadcast_sub(&max)?.exp()?;
    e.broadcast_div(&e.sum_keepdim(D::Minus1)?)
}

/// The contiguous f32 slice of a storage, or an error naming `op`.
fn slice<'a>(s: &'a CpuStorage, l: &Layout, op: &str) -> Result<&'a [f32]> {
    let CpuStorage::F32(v) = s else { bail!("{op}: f32 only") };
    match l.contiguous_offsets() {
        Some((a, b)) => Ok(&v[a..b]),
        None => bail!("{op}: contiguous input only"),
    }
}

/// A vector of `n` floats for an output whose every element the caller writes before anything
/// reads it: a zero-filled one cost a memset of every activation-sized output.
#[allow(clippy::uninit_vec)]
pub(crate) fn written_later(n: usize) -> Vec<f32> {
    let mut v = Vec::with_capacity(n);
    // SAFETY: f32 has no invalid bit patterns, and every caller writes each element before
    // anything reads it.
    unsafe { v.set_len(n) };
    v
}

/// An error naming `op` unless the two operands have one shape.
fn same_shape(op: &str, l1: &Layout, l2: &Layout) -> Result<()> {
    if l1.shape() != l2.shape() {
        bail!("{op}: shapes differ ({:?}, {:?})", l1.shape(), l2.shape());
    }
    Ok(())
}

/// Applies `f(row, out_row, x_row)` to every row (the last axis) of `x`, rows in parallel; `row`
/// counts rows from the tensor's first.
fn map_rows(
    op: &str,
    s: &CpuStorage,
    l: &Layout,
    f: impl Fn(usize, &mut [f32], &[f32]) + Sync,
) -> Result<(CpuStorage, Shape)> {
    let x = slice(s, l, op)?;
    let n = l.dims().last().copied().unwrap_or(1).max(1);
    let mut out = vec![0f32; x.len()];
    out.par_chunks_mut(n * ROWS_PER_TASK)
        .zip(x.par_chunks(n * ROWS_PER_TASK))
        .enumerate()
        .for_each(|(task, (o, x))| {
            for (r, (o, x)) in o.chunks_mut(n).zip(x.chunks(n)).enumerate() {
                f(task * ROWS_PER_TASK + r, o, x);
            }
        });
    Ok((CpuStorage::F32(out), l.shape().clone()))
}

/// Applies `f(out_row, a_row, b_row)` to every row of two tensors of one shape, rows in parallel.
fn map_rows2(
    op: &str,
    (s1, l1): (&CpuStorage, &Layout),
    (s2, l2): (&CpuStorage, &Layout),
    f: impl Fn(&mut [f32], &[f32], &[f32]) + Sync,
) -> Result<(CpuStorage, Shape)> {
    let a = slice(s1, l1, op)?;
    let b = slice(s2, l2, op)?;
    same_shape(op, l1, l2)?;
    let n = l1.dims().last().copied().unwrap_or(1).max(1);
    let mut out = vec![0f32; a.len()];
    out.par_chunks_mut(n * ROWS_PER_TASK)
        .zip(a.par_chunks(n * ROWS_PER_TASK).zip(b.par_chunks(n * ROWS_PER_TASK)))
        .for_each(|(o, (a, b))| {
            for (o, (a, b)) in o.chunks_mut(n).zip(a.chunks(n).zip(b.chunks(n))) {
                f(o, a, b);
            }
        });
    Ok((CpuStorage::F32(out), l1.shape().clone()))
}

/// Sum of `x` in eight lanes (so it vectorizes; the order differs from a running sum by
/// rounding only).
#[inline(always)]
fn lane_sum(x: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let chunks = x.chunks_exact(8);
    let rest: f32 = chunks.remainder().iter().sum();
    for c in chunks {
        for (a, v) in acc.iter_mut().zip(c) {
            *a += v;
        }
    }
    acc.iter().sum::<f32>() + rest
}

/// Dot product of `a` and `b` in eight lanes, as [`lane_sum`].
#[inline(always)]
fn lane_dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let rest: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for ((a, x), y) in acc.iter_mut().zip(x).zip(y) {
            *a += x * y;
        }
    }
    acc.iter().sum::<f32>() + rest
}

models::simd_kernel! {
    /// `o = softmax(scale * o)` in place over one row (`scale` positive).
    fn softmax_in_place(o: &mut [f32], scale: f32) {
        let max = o.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        for v in o.iter_mut() {
            *v = models::math::exp(scale * (*v - max));
        }
        let inv = 1.0 / lane_sum(o);
        o.iter_mut().for_each(|v| *v *= inv);
    }
}

/// The gradient `scale * y * (dy - sum(dy * y))` of `softmax(scale * x)` over the last axis, from
/// its output `y` and the output's gradient `dy` (zero wherever `y` is).
fn softmax_backward(y: &Tensor, dy: &Tensor, scale: f32) -> Result<Tensor> {
    y.contiguous()?
        .apply_op2_no_bwd(&dy.contiguous()?, &SoftmaxBwd { scale })
}

models::simd_kernel! {
    /// `o = scale * y * (g - sum(g * y))` over one row: the softmax backward.
    fn softmax_bwd_row(o: &mut [f32], y: &[f32], g: &[f32], scale: f32) {
        let dot = lane_dot(y, g);
        for ((o, &y), &g) in o.iter_mut().zip(y).zip(g) {
            *o = scale * y * (g - dot);
        }
    }
}

/// `dx = scale * y * (dy - sum(dy * y))` row by row, from the softmax output `y` and its
/// gradient `dy`.
struct SoftmaxBwd {
    scale: f32,
}

impl CustomOp2 for SoftmaxBwd {
    fn name(&self) -> &'static str {
        "sideman-softmax-last-bwd"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        map_rows2(self.name(), (s1, l1), (s2, l2), |o, y, g| {
            softmax_bwd_row(o, y, g, self.scale)
        })
    }
}

/// The attention's probabilities from its raw scores `q k^T` `[batch, heads, n, past + n]`:
/// `softmax(scale * scores)` with query `i` seeing keys `j <= past + i` (the causal mask), in one
/// pass on the CPU (the scale, the mask and the softmax were three passes over the scores and
/// three more in the backward) and from primitive ops elsewhere.
pub fn attention_softmax(scores: &Tensor, scale: f64, past: usize) -> Result<Tensor> {
    let n = scores.dim(D::Minus2)?;
    if scores.device().is_cpu() && scores.dtype() == candle_core::DType::F32 {
        scores.contiguous()?.apply_op1(CausalSoftmax {
            scale: scale as f32,
            past,
            n,
        })
    } else {
        let total = scores.dim(D::Minus1)?;
        let mask: Vec<f32> = (0..n)
            .flat_map(|i| (0..total).map(move |j| if j <= past + i { 0.0 } else { f32::NEG_INFINITY }))
            .collect();
        let mask = Tensor::from_vec(mask, (n, total), scores.device())?;
        softmax_primitive(&(scores * scale)?.broadcast_add(&mask)?)
    }
}

/// [`attention_softmax`] on the CPU: row `r` is query `r % n`.
struct CausalSoftmax {
    scale: f32,
    past: usize,
    n: usize,
}

impl CustomOp1 for CausalSoftmax {
    fn name(&self) -> &'static str {
        "sideman-causal-softmax"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        if self.scale <= 0.0 {
            bail!("{}: the scale must be positive", self.name());
        }
        map_rows(self.name(), s, l, |r, o, x| {
            let seen = (self.past + r % self.n + 1).min(x.len());
            let (o, hidden) = o.split_at_mut(seen);
            o.copy_from_slice(&x[..seen]);
            softmax_in_place(o, self.scale);
            hidden.fill(0.0);
        })
    }

    fn bwd(&self, _arg: &Tensor, res: &Tensor, grad_res: &Tensor) -> Result<Option<Tensor>> {
        // The masked entries' probabilities are 0, so their gradient is too.
        Ok(Some(softmax_backward(res, grad_res, self.scale)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    /// Runs `op` (fused or primitive) on `x0` and returns its output and the gradient of
    /// `loss(output)` with respect to `x0`, both flattened.
    pub(super) fn output_and_gradient(
        x0: &Tensor,
        op: impl Fn(&Tensor) -> Result<Tensor>,
        loss: impl Fn(&Tensor) -> Result<Tensor>,
    ) -> (Vec<f32>, Vec<f32>) {
        let x = Var::from_tensor(x0).unwrap();
        let y = op(x.as_tensor()).unwrap();
        let grads = loss(&y).unwrap().backward().unwrap();
        let g = grads.get(x.as_tensor()).unwrap().flatten_all().unwrap();
        (
            y.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            g.to_vec1::<f32>().unwrap(),
        )
    }

    pub(super) fn worst(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max)
    }

    /// The causal softmax of raw scores agrees with scaling, masking and the primitive softmax,
    /// with and without a cached past, and gives the masked keys nothing.
    #[test]
    fn attention_softmax_matches_scale_mask_and_softmax_and_their_gradient() {
        let dev = Device::Cpu;
        for (n, past) in [(37, 0), (5, 32)] {
            let total = n + past;
            let x0 = Tensor::randn(0f32, 3.0, (2, 3, n, total), &dev).unwrap();
            let mask: Vec<f32> = (0..n * total)
                .map(|k| {
                    if k % total > past + k / total {
                        f32::NEG_INFINITY
                    } else {
                        0.0
                    }
                })
                .collect();
            let mask = Tensor::from_vec(mask, (n, total), &dev).unwrap();
            let w = Tensor::randn(0f32, 1.0, (2, 3, n, total), &dev).unwrap();
            let loss = |y: &Tensor| (y * &w)?.sum_all();
            let scale = 0.125;
            let (yf, gf) = output_and_gradient(&x0, |x| attention_softmax(x, scale, past), loss);
            let (yp, gp) = output_and_gradient(&x0, |x| softmax_primitive(&(x * scale)?.broadcast_add(&mask)?), loss);
            assert!(worst(&yf, &yp) < 1e-6, "forward differs by {}", worst(&yf, &yp));
            assert!(worst(&gf, &gp) < 1e-6, "gradient differs by {}", worst(&gf, &gp));
            assert!(
                gf.iter().any(|&g| g.abs() > 1e-3),
                "an all-zero gradient proves nothing"
            );
            // Query 0 sees keys 0..=past only.
            assert!(yf[past + 1..total].iter().all(|&p| p == 0.0));
            assert!(yf[..=past].iter().all(|&p| p > 0.0));
        }
    }
}
