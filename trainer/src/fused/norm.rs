//! LayerNorm over the last axis, weight and bias included, with its own backward: one pass
//! forward and one backward (the input's gradient and the parameters' together). From candle's
//! ops it was four passes for the normalization, two for the affine part, and about twice as
//! many backward, each with its own allocation.

use super::{ROWS_PER_TASK, slice};
use candle_core::{CpuStorage, CustomOp3, D, Layout, Result, Shape, Tensor, bail};
use models::simd_kernel;
use rayon::prelude::*;

/// `(x - mean) / sqrt(var + eps) * weight + bias` over the last axis of `x`: fused on the CPU,
/// primitive ops elsewhere.
pub fn layer_norm(x: &Tensor, weight: &Tensor, bias: &Tensor, eps: f64) -> Result<Tensor> {
    if x.device().is_cpu() && x.dtype() == candle_core::DType::F32 {
        x.contiguous()?.apply_op3(
            &weight.contiguous()?,
            &bias.contiguous()?,
            LayerNorm { eps: eps as f32 },
        )
    } else {
        layer_norm_primitive(x, weight, bias, eps)
    }
}

/// [`layer_norm`] from differentiable primitives (any device).
pub fn layer_norm_primitive(x: &Tensor, weight: &Tensor, bias: &Tensor, eps: f64) -> Result<Tensor> {
    let d = x.dim(D::Minus1)? as f64;
    let mean = (x.sum_keepdim(D::Minus1)? / d)?;
    let xc = x.broadcast_sub(&mean)?;
    let var = (xc.sqr()?.sum_keepdim(D::Minus1)? / d)?;
    xc.broadcast_div(&(var + eps)?.sqrt()?)?
        .broadcast_mul(weight)?
        .broadcast_add(bias)
}

/// Mean and `1 / sqrt(var + eps)` of a row.
#[inline(always)]
fn moments(x: &[f32], eps: f32) -> (f32, f32) {
    let n = x.len() as f32;
    let mean = super::lane_sum(x) / n;
    let mut acc = [0f32; 8];
    let chunks = x.chunks_exact(8);
    let rest: f32 = chunks.remainder().iter().map(|v| (v - mean) * (v - mean)).sum();
    for c in chunks {
        for (a, v) in acc.iter_mut().zip(c) {
            *a += (v - mean) * (v - mean);
        }
    }
    let var = (acc.iter().sum::<f32>() + rest) / n;
    (mean, 1.0 / (var + eps).sqrt())
}

simd_kernel! {
    fn forward_row(o: &mut [f32], x: &[f32], w: &[f32], b: &[f32], eps: f32) {
        let (mean, inv) = moments(x, eps);
        for (((o, &v), &w), &b) in o.iter_mut().zip(x).zip(w).zip(b) {
            *o = (v - mean) * inv * w + b;
        }
    }
}

simd_kernel! {
    /// One row of the backward: `dx` into `o`, and the row's `dy * xhat` and `dy` added to
    /// `dw` and `db`.
    fn backward_row(o: &mut [f32], x: &[f32], g: &[f32], w: &[f32], dw: &mut [f32], db: &mut [f32], eps: f32) {
        let (mean, inv) = moments(x, eps);
        // dxhat = g * w; dx = inv * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)).
        let (mut s1, mut s2) = ([0f32; 8], [0f32; 8]);
        for (k, ((&v, &g), &w)) in x.iter().zip(g).zip(w).enumerate() {
            let xhat = (v - mean) * inv;
            s1[k % 8] += g * w;
            s2[k % 8] += g * w * xhat;
        }
        let n = x.len() as f32;
        let (m1, m2) = (s1.iter().sum::<f32>() / n, s2.iter().sum::<f32>() / n);
        for (((((o, &v), &g), &w), dw), db) in o.iter_mut().zip(x).zip(g).zip(w).zip(dw.iter_mut()).zip(db.iter_mut()) {
            let xhat = (v - mean) * inv;
            *o = inv * (g * w - m1 - xhat * m2);
            *dw += g * xhat;
            *db += g;
        }
    }
}

/// [`layer_norm`] on the CPU.
struct LayerNorm {
    eps: f32,
}

/// The row width of `x` and the parameters' slices, checked.
fn params<'a>(
    op: &str,
    l1: &Layout,
    (s2, l2): (&'a CpuStorage, &Layout),
    (s3, l3): (&'a CpuStorage, &Layout),
) -> Result<(usize, &'a [f32], &'a [f32])> {
    let d = l1.dims().last().copied().unwrap_or(0);
    let (w, b) = (slice(s2, l2, op)?, slice(s3, l3, op)?);
    if d == 0 || w.len() != d || b.len() != d {
        bail!("{op}: rows of {d} with parameters of {} and {}", w.len(), b.len());
    }
    Ok((d, w, b))
}

impl CustomOp3 for LayerNorm {
    fn name(&self) -> &'static str {
        "sideman-layer-norm"
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
        let x = slice(s1, l1, self.name())?;
        let (d, w, b) = params(self.name(), l1, (s2, l2), (s3, l3))?;
        let mut out = super::written_later(x.len());
        out.par_chunks_mut(d * ROWS_PER_TASK)
            .zip(x.par_chunks(d * ROWS_PER_TASK))
            .for_each(|(o, x)| {
                for (o, x) in o.chunks_mut(d).zip(x.chunks(d)) {
                    forward_row(o, x, w, b, self.eps);
                }
            });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _b: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        // One pass gives `[rows + 2, d]`: the input's gradient, then the weight's and the bias's.
        let g = grad_res.contiguous()?;
        let all = x
            .contiguous()?
            .apply_op3_no_bwd(&g, w, &LayerNormBwd { eps: self.eps })?;
        let rows = all.dim(0)? - 2;
        let dx = all.narrow(0, 0, rows)?.reshape(x.shape())?;
        Ok((Some(dx), Some(all.get(rows)?), Some(all.get(rows + 1)?)))
    }
}

/// The backward of [`LayerNorm`] from `x`, the output's gradient and the weight.
struct LayerNormBwd {
    eps: f32,
}

impl CustomOp3 for LayerNormBwd {
    fn name(&self) -> &'static str {
        "sideman-layer-norm-bwd"
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
        let x = slice(s1, l1, self.name())?;
        let g = slice(s2, l2, self.name())?;
        super::same_shape(self.name(), l1, l2)?;
        let d = l1.dims().last().copied().unwrap_or(0);
        let w = slice(s3, l3, self.name())?;
        if d == 0 || w.len() != d {
            bail!("{}: rows of {d} with a weight of {}", self.name(), w.len());
        }
        let rows = x.len() / d;
        let mut out = super::written_later((rows + 2) * d);
        let (dx, dwb) = out.split_at_mut(rows * d);
        // Each task sums its rows' parameter gradients; the sums are added at the end.
        let partial = dx
            .par_chunks_mut(d * ROWS_PER_TASK)
            .zip(x.par_chunks(d * ROWS_PER_TASK).zip(g.par_chunks(d * ROWS_PER_TASK)))
            .map(|(o, (x, g))| {
                let mut p = vec![0f32; 2 * d];
                let (dw, db) = p.split_at_mut(d);
                for ((o, x), g) in o.chunks_mut(d).zip(x.chunks(d)).zip(g.chunks(d)) {
                    backward_row(o, x, g, w, dw, db, self.eps);
                }
                p
            })
            .reduce(
                || vec![0f32; 2 * d],
                |mut a, b| {
                    a.iter_mut().zip(&b).for_each(|(a, b)| *a += b);
                    a
                },
            );
        dwb.copy_from_slice(&partial);
        Ok((CpuStorage::F32(out), Shape::from((rows + 2, d))))
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::worst;
    use super::*;
    use candle_core::{Device, Var};

    /// The fused LayerNorm and the gradients of its input, weight and bias agree with the
    /// primitive ops'.
    #[test]
    fn fused_layer_norm_matches_the_primitive_ops_and_their_gradients() {
        let dev = Device::Cpu;
        let x0 = (Tensor::randn(0f32, 2.0, (3, 37, 64), &dev).unwrap() + 0.7).unwrap();
        let w0 = Tensor::randn(1f32, 0.5, 64, &dev).unwrap();
        let b0 = Tensor::randn(0f32, 0.5, 64, &dev).unwrap();
        let r = Tensor::randn(0f32, 1.0, (3, 37, 64), &dev).unwrap();
        let run = |f: &dyn Fn(&Tensor, &Tensor, &Tensor) -> Result<Tensor>| {
            let (x, w, b) = (
                Var::from_tensor(&x0).unwrap(),
                Var::from_tensor(&w0).unwrap(),
                Var::from_tensor(&b0).unwrap(),
            );
            let y = f(x.as_tensor(), w.as_tensor(), b.as_tensor()).unwrap();
            // A loss that is not invariant to the normalization, so the gradients are not ~0.
            let grads = (&y * &r).unwrap().sqr().unwrap().sum_all().unwrap().backward().unwrap();
            let flat = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            let g = |v: &Var| flat(grads.get(v.as_tensor()).unwrap());
            [flat(&y), g(&x), g(&w), g(&b)]
        };
        let fused = run(&|x, w, b| layer_norm(x, w, b, 1e-5));
        let primitive = run(&|x, w, b| layer_norm_primitive(x, w, b, 1e-5));
        for (what, (f, p)) in ["output", "input gradient", "weight gradient", "bias gradient"]
            .iter()
            .zip(fused.iter().zip(&primitive))
        {
            let scale = p.iter().fold(1f32, |m, v| m.max(v.abs()));
            assert!(
                worst(f, p) < 2e-5 * scale,
                "{what} differs by {} (scale {scale})",
                worst(f, p)
            );
            assert!(f.iter().any(|&v| v.abs() > 1e-2), "{what}: all zero proves nothing");
        }
    }
}
