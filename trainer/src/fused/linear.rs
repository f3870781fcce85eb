//! `x W^T + b` as one op: the product is written over the bias, where a matmul and a broadcast
//! add made a second activation-sized tensor and a pass over both (the adds of the four linear
//! layers were about 1 % of a training step). The backward is the two matmuls and the bias's sum
//! over the rows, the weight's gradient computed in its own `[out, in]` layout.

use super::slice;
use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, Tensor, bail};
use gemm::{Parallelism, gemm};

/// `x W^T + b` over the last axis of `x` (`W` `[out, in]`, `b` `[out]`): fused on the CPU, from
/// the primitive ops elsewhere or without a bias.
pub fn linear(x: &Tensor, w: &Tensor, b: Option<&Tensor>) -> Result<Tensor> {
    let dims = x.dims().to_vec();
    let last = dims[dims.len() - 1];
    let rows = x.elem_count() / last.max(1);
    let x2 = x.reshape((rows, last))?;
    let y = match b {
        Some(b) if x.device().is_cpu() && x.dtype() == candle_core::DType::F32 => {
            x2.contiguous()?.apply_op3(&w.contiguous()?, &b.contiguous()?, Linear)?
        }
        _ => linear_primitive(&x2, w, b)?,
    };
    let mut out = dims;
    let n = out.len();
    out[n - 1] = y.dim(1)?;
    y.reshape(out)
}

/// [`linear`] of a `[rows, in]` matrix from the primitive ops.
pub fn linear_primitive(x: &Tensor, w: &Tensor, b: Option<&Tensor>) -> Result<Tensor> {
    let y = x.matmul(&w.t()?)?;
    match b {
        Some(b) => y.broadcast_add(b),
        None => Ok(y),
    }
}

struct Linear;

impl CustomOp3 for Linear {
    fn name(&self) -> &'static str {
        "sideman-linear"
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
        let (x, w, b) = (
            slice(s1, l1, self.name())?,
            slice(s2, l2, self.name())?,
            slice(s3, l3, self.name())?,
        );
        let (rows, k, n) = match (l1.dims(), l2.dims(), l3.dims()) {
            ([rows, k], [n, k2], [n2]) if k == k2 && n == n2 => (*rows, *k, *n),
            (a, b, c) => bail!("{}: x {a:?}, weight {b:?}, bias {c:?}", self.name()),
        };
        let mut out = super::written_later(rows * n);
        for row in out.chunks_exact_mut(n.max(1)) {
            row.copy_from_slice(b);
        }
        if rows > 0 && n > 0 {
            let threads = candle_core::utils::get_num_threads();
            let parallelism = if threads > 1 {
                Parallelism::Rayon(threads)
            } else {
                Parallelism::None
            };
            // SAFETY: out is [rows, n] (row stride n), x [rows, k] (row stride k), and W^T's
            // element (kk, j) is w[j * k + kk]: every index stays inside its slice, and out
            // overlaps neither input.
            unsafe {
                gemm(
                    rows,
                    n,
                    k,
                    out.as_mut_ptr(),
                    1,
                    n as isize,
                    true,
                    x.as_ptr(),
                    1,
                    k as isize,
                    w.as_ptr(),
                    k as isize,
                    1,
                    1.0f32,
                    1.0f32,
                    false,
                    false,
                    false,
                    parallelism,
                )
            };
        }
        Ok((CpuStorage::F32(out), Shape::from((rows, n))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _b: &Tensor,
        _res: &Tensor,
        g: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let g = g.contiguous()?;
        let dx = g.matmul(w)?;
        let dw = g.t()?.matmul(x)?;
        let db = g.sum(0)?;
        Ok((Some(dx), Some(dw), Some(db)))
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::worst;
    use super::*;
    use candle_core::{Device, Var};

    /// The fused linear layer and the gradients of its input, weight and bias agree with the
    /// primitive ops', over a batched input.
    #[test]
    fn fused_linear_matches_the_primitive_ops_and_their_gradients() {
        let dev = Device::Cpu;
        let (x0, w0, b0) = (
            Tensor::randn(0f32, 1.0, (3, 37, 24), &dev).unwrap(),
            Tensor::randn(0f32, 1.0, (40, 24), &dev).unwrap(),
            Tensor::randn(0f32, 1.0, 40, &dev).unwrap(),
        );
        let m = Tensor::randn(0f32, 1.0, (3, 37, 40), &dev).unwrap();
        let run = |fused: bool| {
            let (x, w, b) = (
                Var::from_tensor(&x0).unwrap(),
                Var::from_tensor(&w0).unwrap(),
                Var::from_tensor(&b0).unwrap(),
            );
            let y = if fused {
                linear(x.as_tensor(), w.as_tensor(), Some(b.as_tensor())).unwrap()
            } else {
                linear_primitive(&x.flatten_to(1).unwrap(), w.as_tensor(), Some(b.as_tensor()))
                    .unwrap()
                    .reshape((3, 37, 40))
                    .unwrap()
            };
            assert_eq!(y.dims(), [3, 37, 40]);
            let grads = (&y * &m).unwrap().sqr().unwrap().sum_all().unwrap().backward().unwrap();
            let flat = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            [
                flat(&y),
                flat(grads.get(&x).unwrap()),
                flat(grads.get(&w).unwrap()),
                flat(grads.get(&b).unwrap()),
            ]
        };
        let (fused, primitive) = (run(true), run(false));
        for (what, (f, p)) in ["output", "dx", "dw", "db"].iter().zip(fused.iter().zip(&primitive)) {
            let scale = p.iter().fold(1f32, |m, v| m.max(v.abs()));
            assert!(worst(f, p) < 1e-5 * scale, "{what} differs by {}", worst(f, p));
            assert!(f.iter().any(|&v| v.abs() > 1e-2), "{what}: all zero proves nothing");
        }
    }
}
