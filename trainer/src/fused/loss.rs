//! The cross-entropy of the logits against the next tokens, one pass forward and one backward
//! over the `[tokens, vocabulary]` logits (from candle's ops: a maximum, a difference, `exp`, a
//! sum, a logarithm and a gather, and their backward, each a pass over those five million floats
//! a step of the default model).

use super::{ROWS_PER_TASK, lane_sum, slice};
use candle_core::{CpuStorage, CustomOp2, CustomOp3, D, Layout, Result, Shape, Tensor, bail};
use models::{math, simd_kernel};
use rayon::prelude::*;

/// Negative log-likelihood `[n]` of `targets` `[n]` (u32) under the rows of `logits` `[n, v]`:
/// fused on the CPU, primitive ops elsewhere. Differentiable in `logits`.
pub fn cross_entropy(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
    if logits.device().is_cpu() && logits.dtype() == candle_core::DType::F32 {
        logits.contiguous()?.apply_op2(&targets.contiguous()?, CrossEntropy)
    } else {
        cross_entropy_primitive(logits, targets)
    }
}

/// [`cross_entropy`] from differentiable primitives (any device).
pub fn cross_entropy_primitive(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
    let n = logits.dim(0)?;
    let max = logits.max_keepdim(D::Minus1)?.detach();
    let lse = (logits.broadcast_sub(&max)?.exp()?.sum_keepdim(D::Minus1)?.log()? + &max)?;
    let picked = logits.gather(&targets.reshape((n, 1))?, 1)?;
    (lse - picked)?.reshape(n)
}

/// The targets as indices, each checked against the vocabulary `v`.
fn targets<'a>(s: &'a CpuStorage, l: &Layout, n: usize, v: usize, op: &str) -> Result<&'a [u32]> {
    let CpuStorage::U32(t) = s else {
        bail!("{op}: u32 targets only")
    };
    let Some((a, b)) = l.contiguous_offsets() else {
        bail!("{op}: contiguous targets only")
    };
    let t = &t[a..b];
    if t.len() != n {
        bail!("{op}: {} targets for {n} rows", t.len());
    }
    if let Some(bad) = t.iter().find(|&&t| t as usize >= v) {
        bail!("{op}: target {bad} outside the vocabulary of {v}");
    }
    Ok(t)
}

/// Rows and width of `[n, v]` logits.
fn rows(l: &Layout, op: &str) -> Result<(usize, usize)> {
    match l.dims() {
        [n, v] if *v > 0 => Ok((*n, *v)),
        d => bail!("{op}: [rows, vocabulary] logits expected, got {d:?}"),
    }
}

simd_kernel! {
    /// `exp(x - max)` into `e`, returning `log(sum) + max` (the row's log-sum-exp).
    fn exp_row(e: &mut [f32], x: &[f32], max: f32) -> f32 {
        for (e, &v) in e.iter_mut().zip(x) {
            *e = math::exp(v - max);
        }
        lane_sum(e).ln() + max
    }
}

simd_kernel! {
    /// `o = g * (softmax(x) - onehot(target))` over one row, `lse` its log-sum-exp.
    fn grad_row(o: &mut [f32], x: &[f32], lse: f32, g: f32, target: usize) {
        for (o, &v) in o.iter_mut().zip(x) {
            *o = g * math::exp(v - lse);
        }
        o[target] -= g;
    }
}

fn row_max(x: &[f32]) -> f32 {
    x.iter().copied().fold(f32::NEG_INFINITY, f32::max)
}

struct CrossEntropy;

impl CustomOp2 for CrossEntropy {
    fn name(&self) -> &'static str {
        "sideman-cross-entropy"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        let (n, v) = rows(l1, self.name())?;
        let x = slice(s1, l1, self.name())?;
        let t = targets(s2, l2, n, v, self.name())?;
        let mut out = vec![0f32; n];
        out.par_chunks_mut(ROWS_PER_TASK)
            .zip(x.par_chunks(v * ROWS_PER_TASK).zip(t.par_chunks(ROWS_PER_TASK)))
            .for_each(|(o, (x, t))| {
                let mut e = vec![0f32; v];
                for ((o, x), &t) in o.iter_mut().zip(x.chunks(v)).zip(t) {
                    *o = exp_row(&mut e, x, row_max(x)) - x[t as usize];
                }
            });
        Ok((CpuStorage::F32(out), Shape::from(n)))
    }

    fn bwd(
        &self,
        logits: &Tensor,
        targets: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let g = grad_res.contiguous()?;
        let d = logits.contiguous()?.apply_op3_no_bwd(targets, &g, &CrossEntropyBwd)?;
        Ok((Some(d), None))
    }
}

/// The gradient of [`CrossEntropy`] from the logits, the targets and the loss's gradient `[n]`.
struct CrossEntropyBwd;

impl CustomOp3 for CrossEntropyBwd {
    fn name(&self) -> &'static str {
        "sideman-cross-entropy-bwd"
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
        let (n, v) = rows(l1, self.name())?;
        let x = slice(s1, l1, self.name())?;
        let t = targets(s2, l2, n, v, self.name())?;
        let g = slice(s3, l3, self.name())?;
        if g.len() != n {
            bail!("{}: {} gradients for {n} rows", self.name(), g.len());
        }
        let mut out = vec![0f32; n * v];
        out.par_chunks_mut(v * ROWS_PER_TASK)
            .zip(x.par_chunks(v * ROWS_PER_TASK))
            .zip(t.par_chunks(ROWS_PER_TASK).zip(g.par_chunks(ROWS_PER_TASK)))
            .for_each(|((o, x), (t, g))| {
                for (((o, x), &t), &g) in o.chunks_mut(v).zip(x.chunks(v)).zip(t).zip(g) {
                    if g == 0.0 {
                        // A position outside the loss (its weight 0): nothing flows back.
                        continue;
                    }
                    let lse = exp_row(o, x, row_max(x));
                    grad_row(o, x, lse, g, t as usize);
                }
            });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::worst;
    use super::*;
    use candle_core::{Device, Var};

    /// The fused cross-entropy and its gradient agree with the primitive ops', positions with
    /// weight 0 included.
    #[test]
    fn fused_cross_entropy_matches_the_primitive_ops_and_their_gradient() {
        let dev = Device::Cpu;
        let (n, v) = (37, 301);
        let x0 = Tensor::randn(0f32, 4.0, (n, v), &dev).unwrap();
        let t: Vec<u32> = (0..n as u32).map(|i| (i * 97) % v as u32).collect();
        let t = Tensor::from_vec(t, n, &dev).unwrap();
        let w: Vec<f32> = (0..n)
            .map(|i| (i % 3 != 0) as u8 as f32 * (1.0 + i as f32 / 10.0))
            .collect();
        let w = Tensor::from_vec(w, n, &dev).unwrap();
        let run = |f: &dyn Fn(&Tensor) -> Result<Tensor>| {
            let x = Var::from_tensor(&x0).unwrap();
            let nll = f(x.as_tensor()).unwrap();
            let grads = (&nll * &w).unwrap().sum_all().unwrap().backward().unwrap();
            let flat = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            (flat(&nll), flat(grads.get(x.as_tensor()).unwrap()))
        };
        let (yf, gf) = run(&|x| cross_entropy(x, &t));
        let (yp, gp) = run(&|x| cross_entropy_primitive(x, &t));
        assert!(worst(&yf, &yp) < 1e-5, "loss differs by {}", worst(&yf, &yp));
        // Gradients up to about 4.6 (the weights): a few float ulps.
        assert!(worst(&gf, &gp) < 1e-5, "gradient differs by {}", worst(&gf, &gp));
        assert!(gf.iter().any(|&g| g.abs() > 0.1), "an all-zero gradient proves nothing");
        let bad = Tensor::from_vec(vec![v as u32; n], n, &dev).unwrap();
        assert!(
            cross_entropy(&x0, &bad).is_err(),
            "a target outside the vocabulary is an error"
        );
    }
}
