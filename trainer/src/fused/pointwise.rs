//! GELU and the rotary embedding, each one pass forward and one backward on the CPU. candle's
//! `gelu_erf` calls libm's scalar `erff` and differentiates through ten primitive ops (each a
//! pass and an allocation over the MLP's `[tokens, d_ff]` activations); the rotary embedding was
//! two slices, four broadcast products, a sum, a difference and a concatenation of the queries
//! and keys, as many again backward.

use super::slice;
use candle_core::{CpuStorage, CustomOp1, CustomOp2, CustomOp3, D, Layout, Result, Shape, Tensor, bail};
use models::{math, simd_kernel};
use rayon::prelude::*;

/// Elements a rayon task takes in the elementwise kernels.
const CHUNK: usize = 1 << 14;

/// `GELU(x) = x Φ(x)` with the exact (erf) Φ, as ONNX's `Gelu` and candle's `gelu_erf`: fused on
/// the CPU, candle's op elsewhere.
pub fn gelu(x: &Tensor) -> Result<Tensor> {
    if x.device().is_cpu() && x.dtype() == candle_core::DType::F32 {
        x.contiguous()?.apply_op1(Gelu)
    } else {
        gelu_primitive(x)
    }
}

/// candle's own `gelu_erf` (any device).
pub fn gelu_primitive(x: &Tensor) -> Result<Tensor> {
    x.gelu_erf()
}

simd_kernel! {
    fn gelu_fwd(o: &mut [f32], x: &[f32]) {
        for (o, &v) in o.iter_mut().zip(x) {
            *o = 0.5 * v * (1.0 + math::erf(v * std::f32::consts::FRAC_1_SQRT_2));
        }
    }
}

simd_kernel! {
    /// `o = g * GELU'(x)`, `GELU'(x) = Φ(x) + x φ(x)`.
    fn gelu_bwd(o: &mut [f32], x: &[f32], g: &[f32]) {
        // 1 / sqrt(2 pi)
        const INV_SQRT_2PI: f32 = 0.398_942_3;
        for ((o, &v), &g) in o.iter_mut().zip(x).zip(g) {
            let cdf = 0.5 * (1.0 + math::erf(v * std::f32::consts::FRAC_1_SQRT_2));
            *o = g * (cdf + v * INV_SQRT_2PI * math::exp(-0.5 * v * v));
        }
    }
}

struct Gelu;

impl CustomOp1 for Gelu {
    fn name(&self) -> &'static str {
        "sideman-gelu"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = slice(s, l, self.name())?;
        let mut out = super::written_later(x.len());
        out.par_chunks_mut(CHUNK)
            .zip(x.par_chunks(CHUNK))
            .for_each(|(o, x)| gelu_fwd(o, x));
        Ok((CpuStorage::F32(out), l.shape().clone()))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad_res: &Tensor) -> Result<Option<Tensor>> {
        let g = grad_res.contiguous()?;
        Ok(Some(arg.contiguous()?.apply_op2_no_bwd(&g, &GeluBwd)?))
    }
}

struct GeluBwd;

impl CustomOp2 for GeluBwd {
    fn name(&self) -> &'static str {
        "sideman-gelu-bwd"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = slice(s1, l1, self.name())?;
        let g = slice(s2, l2, self.name())?;
        super::same_shape(self.name(), l1, l2)?;
        let mut out = super::written_later(x.len());
        out.par_chunks_mut(CHUNK)
            .zip(x.par_chunks(CHUNK).zip(g.par_chunks(CHUNK)))
            .for_each(|(o, (x, g))| gelu_bwd(o, x, g));
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
}

/// Rotate-half rotary embedding of `x` `[b, h, t, hd]` with `cos`/`sin` `[t, hd / 2]`: the first
/// half becomes `x1 cos - x2 sin`, the second `x2 cos + x1 sin`. Fused on the CPU (its backward
/// is the rotation the other way), primitive ops elsewhere.
pub fn rope(x: &Tensor, cos: &Tensor, sin: &Tensor) -> Result<Tensor> {
    if x.device().is_cpu() && x.dtype() == candle_core::DType::F32 {
        x.contiguous()?
            .apply_op3(&cos.contiguous()?, &sin.contiguous()?, Rope { inverse: false })
    } else {
        rope_primitive(x, cos, sin)
    }
}

/// [`rope`] from differentiable primitives (any device).
pub fn rope_primitive(x: &Tensor, cos: &Tensor, sin: &Tensor) -> Result<Tensor> {
    let hd = x.dim(D::Minus1)?;
    let half = hd / 2;
    let x1 = x.narrow(D::Minus1, 0, half)?;
    let x2 = x.narrow(D::Minus1, half, half)?;
    let r1 = (x1.broadcast_mul(cos)? - x2.broadcast_mul(sin)?)?;
    let r2 = (x2.broadcast_mul(cos)? + x1.broadcast_mul(sin)?)?;
    Tensor::cat(&[r1, r2], D::Minus1)
}

/// One position's rotation of `x` `[hd]` into `o` by `c`/`s` `[hd / 2]` (`sign` -1 rotates back,
/// the backward). Inlined into the vectorized kernels that call it.
#[inline(always)]
pub(super) fn rotate(o: &mut [f32], x: &[f32], c: &[f32], s: &[f32], sign: f32) {
    let half = c.len();
    let (x1, x2) = x.split_at(half);
    let (o1, o2) = o.split_at_mut(half);
    for i in 0..half {
        let s = sign * s[i];
        o1[i] = x1[i] * c[i] - x2[i] * s;
        o2[i] = x2[i] * c[i] + x1[i] * s;
    }
}

simd_kernel! {
    /// One position's rotation: `x` and `o` are `[hd]`, `c` and `s` `[hd / 2]`; `inverse`
    /// rotates the other way (the backward).
    fn rope_row(o: &mut [f32], x: &[f32], c: &[f32], s: &[f32], inverse: bool) {
        rotate(o, x, c, s, if inverse { -1.0 } else { 1.0 });
    }
}

/// [`rope`] on the CPU, its backward the same op with `inverse`.
struct Rope {
    inverse: bool,
}

impl CustomOp3 for Rope {
    fn name(&self) -> &'static str {
        "sideman-rope"
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
        let cos = slice(s2, l2, self.name())?;
        let sin = slice(s3, l3, self.name())?;
        let dims = l1.dims();
        let (hd, t) = match dims {
            [.., t, hd] if hd % 2 == 0 => (*hd, *t),
            _ => bail!("{}: [.., t, even head width] expected, got {dims:?}", self.name()),
        };
        let half = hd / 2;
        if l2.dims() != [t, half] || l3.dims() != [t, half] {
            bail!(
                "{}: tables {:?}, {:?} for [{t}, {half}]",
                self.name(),
                l2.dims(),
                l3.dims()
            );
        }
        let mut out = super::written_later(x.len());
        // One task per (batch, head) slab of `t` positions.
        out.par_chunks_mut(t * hd).zip(x.par_chunks(t * hd)).for_each(|(o, x)| {
            for (p, (o, x)) in o.chunks_mut(hd).zip(x.chunks(hd)).enumerate() {
                let r = p * half..(p + 1) * half;
                rope_row(o, x, &cos[r.clone()], &sin[r], self.inverse);
            }
        });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(
        &self,
        _x: &Tensor,
        cos: &Tensor,
        sin: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        // A rotation's transpose is the rotation back; the tables are constants.
        let g = grad_res
            .contiguous()?
            .apply_op3_no_bwd(cos, sin, &Rope { inverse: !self.inverse })?;
        Ok((Some(g), None, None))
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{output_and_gradient, worst};
    use super::*;
    use candle_core::Device;

    #[test]
    fn fused_gelu_matches_candles_and_its_gradient() {
        let dev = Device::Cpu;
        let x0 = Tensor::randn(0f32, 2.5, (3, 5, 1000), &dev).unwrap();
        let w = Tensor::randn(0f32, 1.0, (3, 5, 1000), &dev).unwrap();
        let loss = |y: &Tensor| (y * &w)?.sum_all();
        let (yf, gf) = output_and_gradient(&x0, gelu, loss);
        let (yp, gp) = output_and_gradient(&x0, gelu_primitive, loss);
        assert!(worst(&yf, &yp) < 2e-6, "forward differs by {}", worst(&yf, &yp));
        assert!(worst(&gf, &gp) < 2e-6, "gradient differs by {}", worst(&gf, &gp));
        assert!(gf.iter().any(|&g| g.abs() > 0.5), "an all-zero gradient proves nothing");
    }

    #[test]
    fn fused_rope_matches_the_primitive_ops_and_their_gradient() {
        let dev = Device::Cpu;
        let (t, hd) = (7, 16);
        let x0 = Tensor::randn(0f32, 1.0, (2, 3, t, hd), &dev).unwrap();
        let angles = Tensor::randn(0f32, 2.0, (t, hd / 2), &dev).unwrap();
        let (cos, sin) = (angles.cos().unwrap(), angles.sin().unwrap());
        let w = Tensor::randn(0f32, 1.0, (2, 3, t, hd), &dev).unwrap();
        let loss = |y: &Tensor| (y * &w)?.sqr()?.sum_all();
        let (yf, gf) = output_and_gradient(&x0, |x| rope(x, &cos, &sin), loss);
        let (yp, gp) = output_and_gradient(&x0, |x| rope_primitive(x, &cos, &sin), loss);
        assert!(worst(&yf, &yp) < 1e-6, "forward differs by {}", worst(&yf, &yp));
        assert!(worst(&gf, &gp) < 1e-5, "gradient differs by {}", worst(&gf, &gp));
        assert!(gf.iter().any(|&g| g.abs() > 0.1), "an all-zero gradient proves nothing");
        // Tables narrowed from longer ones (as the model's are) work the same.
        let long = Tensor::randn(0f32, 2.0, (t + 5, hd / 2), &dev).unwrap();
        let a = long.narrow(0, 5, t).unwrap();
        let (c, s) = (a.cos().unwrap(), a.sin().unwrap());
        let y1 = rope(&x0, &c, &s)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        let y2 = rope_primitive(&x0, &c, &s)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert!(worst(&y1, &y2) < 1e-6);
    }
}
