//! Fused CPU kernels with their own backward pass for the training forward (issue 16): candle's
//! fused softmax has no backward, so the attention softmax was built from five primitive ops
//! (max, subtract, exp, sum, divide), each a pass over the `[batch, heads, t, t]` scores with its
//! own allocation, and twice as many again in the backward. Here the forward is one pass per row
//! and the backward one more (`dx = y * (dy - sum(dy * y))`). The same for the normalization of
//! LayerNorm (mean, centre, variance, divide: [`normalize_last`]); its affine part stays in
//! candle's ops, which differentiate the weight and bias.
//!
//! CPU only: on another device both fall back to the primitive ops, which every backend
//! differentiates.

use candle_core::{CpuStorage, CustomOp1, CustomOp2, D, Layout, Result, Shape, Tensor, bail};
use rayon::prelude::*;

/// Rows shorter than this are not worth a rayon task each.
const ROWS_PER_TASK: usize = 16;

/// Softmax over the last axis: fused on the CPU, primitive ops elsewhere.
pub fn softmax_last(x: &Tensor) -> Result<Tensor> {
    if x.device().is_cpu() && x.dtype() == candle_core::DType::F32 {
        x.contiguous()?.apply_op1(Softmax)
    } else {
        softmax_primitive(x)
    }
}

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

/// Applies `f(out_row, x_row)` to every row (the last axis) of `x`, rows in parallel.
fn map_rows(
    op: &str,
    s: &CpuStorage,
    l: &Layout,
    f: impl Fn(&mut [f32], &[f32]) + Sync,
) -> Result<(CpuStorage, Shape)> {
    let x = slice(s, l, op)?;
    let n = l.dims().last().copied().unwrap_or(1).max(1);
    let mut out = vec![0f32; x.len()];
    out.par_chunks_mut(n * ROWS_PER_TASK)
        .zip(x.par_chunks(n * ROWS_PER_TASK))
        .for_each(|(o, x)| o.chunks_mut(n).zip(x.chunks(n)).for_each(|(o, x)| f(o, x)));
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
    if l1.shape() != l2.shape() {
        bail!("{op}: shapes differ ({:?}, {:?})", l1.shape(), l2.shape());
    }
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

struct Softmax;

impl CustomOp1 for Softmax {
    fn name(&self) -> &'static str {
        "sideman-softmax-last"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        map_rows(self.name(), s, l, |o, x| {
            let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            if max == f32::NEG_INFINITY {
                // A fully masked row: what the primitive ops give (NaN), not a guess.
                o.fill(f32::NAN);
                return;
            }
            let mut sum = 0f32;
            for (o, &v) in o.iter_mut().zip(x) {
                *o = (v - max).exp();
                sum += *o;
            }
            let inv = 1.0 / sum;
            o.iter_mut().for_each(|v| *v *= inv);
        })
    }

    fn bwd(&self, _arg: &Tensor, res: &Tensor, grad_res: &Tensor) -> Result<Option<Tensor>> {
        let g = grad_res.contiguous()?;
        Ok(Some(res.contiguous()?.apply_op2_no_bwd(&g, &SoftmaxBwd)?))
    }
}

/// `dx = y * (dy - sum(dy * y))` row by row, from the softmax output `y` and its gradient `dy`.
struct SoftmaxBwd;

impl CustomOp2 for SoftmaxBwd {
    fn name(&self) -> &'static str {
        "sideman-softmax-last-bwd"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        map_rows2(self.name(), (s1, l1), (s2, l2), |o, y, g| {
            let dot: f32 = y.iter().zip(g).map(|(a, b)| a * b).sum();
            for ((o, &y), &g) in o.iter_mut().zip(y).zip(g) {
                *o = y * (g - dot);
            }
        })
    }
}

/// `(x - mean) / sqrt(var + eps)` over the last axis: fused on the CPU, primitive ops elsewhere.
pub fn normalize_last(x: &Tensor, eps: f64) -> Result<Tensor> {
    if x.device().is_cpu() && x.dtype() == candle_core::DType::F32 {
        x.contiguous()?.apply_op1(Normalize { eps: eps as f32 })
    } else {
        normalize_primitive(x, eps)
    }
}

/// `(x - mean) / sqrt(var + eps)` over the last axis from differentiable primitives.
pub fn normalize_primitive(x: &Tensor, eps: f64) -> Result<Tensor> {
    let d = x.dim(D::Minus1)? as f64;
    let mean = (x.sum_keepdim(D::Minus1)? / d)?;
    let xc = x.broadcast_sub(&mean)?;
    let var = (xc.sqr()?.sum_keepdim(D::Minus1)? / d)?;
    xc.broadcast_div(&(var + eps)?.sqrt()?)
}

/// Mean and `1 / sqrt(var + eps)` of a row, as [`normalize_primitive`] computes them.
fn moments(x: &[f32], eps: f32) -> (f32, f32) {
    let n = x.len() as f32;
    let mean = x.iter().sum::<f32>() / n;
    let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
    (mean, 1.0 / (var + eps).sqrt())
}

struct Normalize {
    eps: f32,
}

impl CustomOp1 for Normalize {
    fn name(&self) -> &'static str {
        "sideman-normalize-last"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        map_rows(self.name(), s, l, |o, x| {
            let (mean, inv) = moments(x, self.eps);
            for (o, &v) in o.iter_mut().zip(x) {
                *o = (v - mean) * inv;
            }
        })
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad_res: &Tensor) -> Result<Option<Tensor>> {
        let g = grad_res.contiguous()?;
        Ok(Some(
            arg.contiguous()?
                .apply_op2_no_bwd(&g, &NormalizeBwd { eps: self.eps })?,
        ))
    }
}

/// `dx = inv * (dy - mean(dy) - xhat * mean(dy * xhat))` row by row, from the input `x` (its
/// moments recomputed) and the output's gradient `dy`.
struct NormalizeBwd {
    eps: f32,
}

impl CustomOp2 for NormalizeBwd {
    fn name(&self) -> &'static str {
        "sideman-normalize-last-bwd"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        map_rows2(self.name(), (s1, l1), (s2, l2), |o, x, g| {
            let (mean, inv) = moments(x, self.eps);
            let (mut g_mean, mut gx_mean) = (0f32, 0f32);
            for (&v, &d) in x.iter().zip(g) {
                g_mean += d;
                gx_mean += d * (v - mean) * inv;
            }
            let nf = x.len() as f32;
            let (g_mean, gx_mean) = (g_mean / nf, gx_mean / nf);
            for ((o, &v), &d) in o.iter_mut().zip(x).zip(g) {
                *o = inv * (d - g_mean - (v - mean) * inv * gx_mean);
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    /// Runs `op` (fused or primitive) on `x0` and returns its output and the gradient of
    /// `loss(output)` with respect to `x0`, both flattened.
    fn output_and_gradient(
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

    fn worst(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max)
    }

    /// The fused softmax and its gradient agree with the primitive ops', masked entries included.
    #[test]
    fn fused_softmax_matches_the_primitive_ops_and_their_gradient() {
        let dev = Device::Cpu;
        let x0 = Tensor::randn(0f32, 3.0, (2, 3, 5, 37), &dev).unwrap();
        // A causal mask like the attention's, so -inf entries are in every row but the last.
        let mask: Vec<f32> = (0..5 * 37)
            .map(|i| if i % 37 > 32 + i / 37 { f32::NEG_INFINITY } else { 0.0 })
            .collect();
        let mask = Tensor::from_vec(mask, (5, 37), &dev).unwrap();
        let w = Tensor::randn(0f32, 1.0, (2, 3, 5, 37), &dev).unwrap();
        let loss = |y: &Tensor| (y * &w)?.sum_all();
        let (yf, gf) = output_and_gradient(&x0, |x| softmax_last(&x.broadcast_add(&mask)?), loss);
        let (yp, gp) = output_and_gradient(&x0, |x| softmax_primitive(&x.broadcast_add(&mask)?), loss);
        assert!(worst(&yf, &yp) < 1e-6, "forward differs by {}", worst(&yf, &yp));
        assert!(worst(&gf, &gp) < 1e-5, "gradient differs by {}", worst(&gf, &gp));
        assert!(
            gf.iter().any(|&g| g.abs() > 1e-3),
            "an all-zero gradient proves nothing"
        );
    }

    /// The fused normalization and its gradient agree with the primitive ops'.
    #[test]
    fn fused_layer_norm_matches_the_primitive_ops_and_their_gradient() {
        let dev = Device::Cpu;
        let x0 = (Tensor::randn(0f32, 2.0, (3, 7, 64), &dev).unwrap() + 0.7).unwrap();
        let w = Tensor::randn(0f32, 1.0, (3, 7, 64), &dev).unwrap();
        // A loss that is not invariant to the normalization, so the gradient is not ~0.
        let loss = |y: &Tensor| (y * &w)?.sqr()?.sum_all();
        let (yf, gf) = output_and_gradient(&x0, |x| normalize_last(x, 1e-5), loss);
        let (yp, gp) = output_and_gradient(&x0, |x| normalize_primitive(x, 1e-5), loss);
        assert!(worst(&yf, &yp) < 1e-5, "forward differs by {}", worst(&yf, &yp));
        assert!(worst(&gf, &gp) < 1e-4, "gradient differs by {}", worst(&gf, &gp));
        assert!(
            gf.iter().any(|&g| g.abs() > 1e-2),
            "an all-zero gradient proves nothing"
        );
    }
}
