//! Causal attention without its masked half. The attention of a training window computes
//! `q k^T` and `p v` over the whole `[t, t]` square of every batch item and head, and the
//! backward four more products of that size, although a query sees only the keys before it.
//! Here the queries go in blocks of [`BLOCK`] rows and each block's products stop at its last
//! key, so the products cover the lower triangle and its diagonal blocks (36 of 64 blocks at 256
//! tokens). Two ops: [`causal_probs`] (the scores, the scale, the mask and the softmax) and
//! [`causal_mix`] (the probabilities times the values), each with its own backward, each batch
//! item and head a gemm per block on one thread, items in parallel.
//!
//! Only for windows without a cached past (training and scoring); a step with a KV cache takes
//! the primitive products ([`super::attention_softmax`]).

use super::slice;
use candle_core::{CpuStorage, CustomOp2, Layout, Result, Shape, Tensor, bail};
use gemm::{Parallelism, gemm};
use rayon::prelude::*;

/// Query rows a block.
const BLOCK: usize = 32;

/// `dst (m x n) = lhs (m x k) rhs (k x n)`, each given by its first element and its row and column
/// strides; `acc` adds to `dst` instead of overwriting it.
///
/// # Safety
/// Every element the strides reach must lie inside the allocations the pointers come from, and
/// `dst` must not overlap `lhs` or `rhs`.
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn mm(
    (m, n, k): (usize, usize, usize),
    dst: *mut f32,
    (dst_rs, dst_cs): (usize, usize),
    lhs: *const f32,
    (lhs_rs, lhs_cs): (usize, usize),
    rhs: *const f32,
    (rhs_rs, rhs_cs): (usize, usize),
) {
    if m == 0 || n == 0 {
        return;
    }
    // SAFETY: the caller's.
    unsafe {
        gemm(
            m,
            n,
            k,
            dst,
            dst_cs as isize,
            dst_rs as isize,
            false,
            lhs,
            lhs_cs as isize,
            lhs_rs as isize,
            rhs,
            rhs_cs as isize,
            rhs_rs as isize,
            0.0f32,
            1.0f32,
            false,
            false,
            false,
            Parallelism::None,
        )
    }
}

/// `[items, t, d]` of a `[b, h, t, d]` contiguous tensor.
fn dims(l: &Layout, op: &str) -> Result<(usize, usize, usize)> {
    match l.dims() {
        [b, h, t, d] => Ok((b * h, *t, *d)),
        d => bail!("{op}: [batch, heads, t, width] expected, got {d:?}"),
    }
}

/// Row blocks `(first row, rows)` of `t` queries.
pub(super) fn blocks(t: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..t).step_by(BLOCK).map(move |r| (r, BLOCK.min(t - r)))
}

/// Rows `r..r + rows` of one head's probabilities `p` `[t, t]`: `softmax(scale * q k^T)` over the
/// keys up to each row's own position, zero after it; `q`, `k` `[t, hd]`.
pub(super) fn probs_block(
    p: &mut [f32],
    q: &[f32],
    k: &[f32],
    (t, hd): (usize, usize),
    (r, rows): (usize, usize),
    scale: f32,
) {
    let keys = r + rows;
    // SAFETY: rows r..keys of p (row stride t) up to column `keys` <= t; the same rows of q and
    // the first `keys` rows of k, all inside their slices.
    unsafe {
        mm(
            (rows, keys, hd),
            p[r * t..].as_mut_ptr(),
            (t, 1),
            q[r * hd..].as_ptr(),
            (hd, 1),
            k.as_ptr(),
            (1, hd),
        )
    };
    for i in r..keys {
        let (seen, hidden) = p[i * t..(i + 1) * t].split_at_mut(i + 1);
        super::softmax_in_place(seen, scale);
        hidden.fill(0.0);
    }
}

/// The attention probabilities `[b, h, t, t]` of queries `q` and keys `k` `[b, h, t, hd]`:
/// `softmax(scale * q k^T)` with query `i` seeing keys `j <= i`, zero above the diagonal.
pub fn causal_probs(q: &Tensor, k: &Tensor, scale: f64) -> Result<Tensor> {
    if q.device().is_cpu() && q.dtype() == candle_core::DType::F32 && scale > 0.0 {
        q.contiguous()?
            .apply_op2(&k.contiguous()?, CausalProbs { scale: scale as f32 })
    } else {
        super::attention_softmax(&q.matmul(&k.t()?)?, scale, 0)
    }
}

/// `p v` for causal probabilities `p` `[b, h, t, t]` (zero above the diagonal, as
/// [`causal_probs`] gives them) and values `v` `[b, h, t, hd]`.
pub fn causal_mix(p: &Tensor, v: &Tensor) -> Result<Tensor> {
    if p.device().is_cpu() && p.dtype() == candle_core::DType::F32 {
        p.contiguous()?.apply_op2(&v.contiguous()?, CausalMix)
    } else {
        p.matmul(v)
    }
}

struct CausalProbs {
    scale: f32,
}

impl CustomOp2 for CausalProbs {
    fn name(&self) -> &'static str {
        "sideman-causal-probs"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        let (q, k) = (slice(s1, l1, self.name())?, slice(s2, l2, self.name())?);
        let (items, t, hd) = dims(l1, self.name())?;
        super::same_shape(self.name(), l1, l2)?;
        let mut out = vec![0f32; items * t * t];
        out.par_chunks_mut(t * t).enumerate().for_each(|(item, p)| {
            let (q, k) = (&q[item * t * hd..][..t * hd], &k[item * t * hd..][..t * hd]);
            for block in blocks(t) {
                probs_block(p, q, k, (t, hd), block, self.scale);
            }
        });
        Ok((CpuStorage::F32(out), Shape::from((l1.dims()[0], l1.dims()[1], t, t))))
    }

    fn bwd(&self, q: &Tensor, k: &Tensor, res: &Tensor, grad_res: &Tensor) -> Result<(Option<Tensor>, Option<Tensor>)> {
        // dS = scale * p (dp - rowsum(dp p)), zero above the diagonal with p; then
        // dq = dS k and dk = dS^T q over the triangle.
        let ds = super::softmax_backward(res, grad_res, self.scale)?;
        let dq = ds.apply_op2_no_bwd(k, &TriangleProduct { transpose: false })?;
        let dk = ds.apply_op2_no_bwd(q, &TriangleProduct { transpose: true })?;
        Ok((Some(dq), Some(dk)))
    }
}

/// `a x` (or `a^T x`) for `a` `[b, h, t, t]` zero above the diagonal and `x` `[b, h, t, d]`,
/// over the lower triangle only.
struct TriangleProduct {
    transpose: bool,
}

impl CustomOp2 for TriangleProduct {
    fn name(&self) -> &'static str {
        "sideman-triangle-product"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        let (a, x) = (slice(s1, l1, self.name())?, slice(s2, l2, self.name())?);
        let (items, t, d) = dims(l2, self.name())?;
        if l1.dims() != [l2.dims()[0], l2.dims()[1], t, t] {
            bail!("{}: {:?} against {:?}", self.name(), l1.dims(), l2.dims());
        }
        let mut out = vec![0f32; items * t * d];
        out.par_chunks_mut(t * d).enumerate().for_each(|(item, o)| {
            let (a, x) = (&a[item * t * t..][..t * t], &x[item * t * d..][..t * d]);
            for (r, rows) in blocks(t) {
                // SAFETY: every range below stays inside the item's `[t, t]` and `[t, d]` slices.
                unsafe {
                    if self.transpose {
                        // Rows r.. of a^T x: columns r..r + rows of a, over the rows i >= r
                        // where they are non-zero.
                        mm(
                            (rows, d, t - r),
                            o[r * d..].as_mut_ptr(),
                            (d, 1),
                            a[r * t + r..].as_ptr(),
                            (1, t),
                            x[r * d..].as_ptr(),
                            (d, 1),
                        )
                    } else {
                        // Rows r.. of a x: a's columns up to the block's last row.
                        mm(
                            (rows, d, r + rows),
                            o[r * d..].as_mut_ptr(),
                            (d, 1),
                            a[r * t..].as_ptr(),
                            (t, 1),
                            x.as_ptr(),
                            (d, 1),
                        )
                    }
                }
            }
        });
        Ok((CpuStorage::F32(out), l2.shape().clone()))
    }
}

struct CausalMix;

impl CustomOp2 for CausalMix {
    fn name(&self) -> &'static str {
        "sideman-causal-mix"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        TriangleProduct { transpose: false }.cpu_fwd(s1, l1, s2, l2)
    }

    fn bwd(
        &self,
        p: &Tensor,
        v: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let g = grad_res.contiguous()?;
        // dp = g v^T over the triangle (the rest stays zero: p is zero there and so is its
        // gradient's use); dv = p^T g.
        let dp = g.apply_op2_no_bwd(v, &LowerOuter)?;
        let dv = p.apply_op2_no_bwd(&g, &TriangleProduct { transpose: true })?;
        Ok((Some(dp), Some(dv)))
    }
}

/// `g v^T` `[b, h, t, t]` for `g`, `v` `[b, h, t, d]`, computed over the lower triangle's blocks
/// and zero elsewhere.
struct LowerOuter;

impl CustomOp2 for LowerOuter {
    fn name(&self) -> &'static str {
        "sideman-lower-outer"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        let (g, v) = (slice(s1, l1, self.name())?, slice(s2, l2, self.name())?);
        let (items, t, d) = dims(l1, self.name())?;
        super::same_shape(self.name(), l1, l2)?;
        let mut out = vec![0f32; items * t * t];
        out.par_chunks_mut(t * t).enumerate().for_each(|(item, o)| {
            let (g, v) = (&g[item * t * d..][..t * d], &v[item * t * d..][..t * d]);
            for (r, rows) in blocks(t) {
                // SAFETY: rows r..r + rows of o up to column r + rows <= t; rows of g and the
                // first r + rows rows of v.
                unsafe {
                    mm(
                        (rows, r + rows, d),
                        o[r * t..].as_mut_ptr(),
                        (t, 1),
                        g[r * d..].as_ptr(),
                        (d, 1),
                        v.as_ptr(),
                        (1, d),
                    )
                };
            }
        });
        Ok((CpuStorage::F32(out), Shape::from((l1.dims()[0], l1.dims()[1], t, t))))
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::worst;
    use super::*;
    use candle_core::{Device, Var};

    /// The two ops and the gradients of q, k and v agree with the primitive products, at a
    /// length that is not a multiple of the block.
    #[test]
    fn causal_attention_matches_the_full_products_and_their_gradients() {
        let dev = Device::Cpu;
        for t in [BLOCK, 2 * BLOCK + 7] {
            let (b, h, hd) = (2, 3, 16);
            let init = |s: f32| Tensor::randn(0f32, s, (b, h, t, hd), &dev).unwrap();
            let (q0, k0, v0) = (init(1.0), init(1.0), init(1.0));
            let w = init(1.0);
            let scale = 0.25;
            let run = |fused: bool| {
                let (q, k, v) = (
                    Var::from_tensor(&q0).unwrap(),
                    Var::from_tensor(&k0).unwrap(),
                    Var::from_tensor(&v0).unwrap(),
                );
                let o = if fused {
                    let p = causal_probs(q.as_tensor(), k.as_tensor(), scale).unwrap();
                    causal_mix(&p, v.as_tensor()).unwrap()
                } else {
                    let s = q.matmul(&k.t().unwrap()).unwrap();
                    let p = crate::fused::attention_softmax(&s, scale, 0).unwrap();
                    p.matmul(v.as_tensor()).unwrap()
                };
                let grads = (&o * &w).unwrap().sqr().unwrap().sum_all().unwrap().backward().unwrap();
                let flat = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
                let g = |x: &Var| flat(grads.get(x.as_tensor()).unwrap());
                [flat(&o), g(&q), g(&k), g(&v)]
            };
            let (fused, primitive) = (run(true), run(false));
            for (what, (f, p)) in ["output", "dq", "dk", "dv"].iter().zip(fused.iter().zip(&primitive)) {
                let scale = p.iter().fold(1f32, |m, v| m.max(v.abs()));
                assert!(worst(f, p) < 1e-5 * scale, "t {t}: {what} differs by {}", worst(f, p));
                assert!(f.iter().any(|&v| v.abs() > 1e-2), "{what}: all zero proves nothing");
            }
        }
    }
}
