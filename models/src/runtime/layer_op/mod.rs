//! Sideman's decoder layer as one ONNX Runtime operator: `ai.sideman:DecoderLayer`, a whole
//! pre-norm transformer layer (LayerNorm, packed int8 QKV, rotary positions, causal attention over
//! a KV cache updated in place, projection, residual, LayerNorm, int8 MLP with GELU, residual) in
//! hand-written Rust, registered with every session the runtime opens ([`domain`]).
//!
//! ONNX Runtime's fused contrib operators cost about 4 us a node at this model size, mostly fixed
//! cost (models/README.md, "The fused decoder graph"); one node a layer does the same work with
//! one call, and its products are 16-bit integer products of the int8 weights
//! ([`kernels::PackedLinear`]).
//!
//! Inputs (the names are the int8 graph's, `trainer/src/export/kernel.rs`):
//!
//! | # | input | shape |
//! | --- | --- | --- |
//! | 0 | `x`, the residual stream | `[1, t, d]` f32 |
//! | 1, 2 | `past_key_i`, `past_value_i` | `[1, heads, capacity, head_dim]` f16 |
//! | 3 | `seqlens_k`: tokens in the cache after this pass, minus one | `[1]` i32 |
//! | 4 | `total_sequence_length` (checked, not needed) | `[1]` i32 |
//! | 5, 6 | `ln1` weight, bias | `[d]` f32 |
//! | 7-9 | `qkv` int8 weight `[d, 3d]`, column scales, bias | |
//! | 10-12 | `proj` `[d, d]`, scales, bias | |
//! | 13, 14 | `ln2` weight, bias | |
//! | 15-17 | `fc1` `[d, ff]`, scales, bias | |
//! | 18-20 | `fc2` `[ff, d]`, scales, bias | |
//! | 21, 22 | the rotary tables `rope.cos` / `rope.sin` | `[positions, head_dim / 2]` f32 |
//!
//! Inputs 5-22 must be initializers: the kernel packs them once, when the session is created.
//! Attributes: `num_heads` (int), `epsilon` (float). Outputs: the layer's output `[1, t, d]` and
//! `present_key_i` / `present_value_i`. When a caller binds one buffer as both `past_*` and
//! `present_*` (the runtime does, `in_place.rs`), only the new rows are written; otherwise the
//! cached rows are copied first, as GroupQueryAttention does.

mod embed;
mod head;
mod kernels;
mod raw;

pub use embed::EMBED_OP;
pub use head::HEAD_OP;

use ort::operator::{Kernel, KernelContext, Operator, OperatorDomain, OperatorInput, OperatorOutput};
use ort::value::{TensorElementType, TensorValueType};

use kernels::PackedLinear;

/// The operator's domain.
pub const DOMAIN: &str = "ai.sideman";
/// The operator's name.
pub const OP: &str = "DecoderLayer";
/// Number of inputs.
pub const INPUTS: usize = 23;

/// A domain holding [`DecoderLayerOp`], to register with a session.
pub fn domain() -> ort::Result<OperatorDomain> {
    OperatorDomain::new(DOMAIN)?
        .add(DecoderLayerOp)?
        .add(head::DecoderHeadOp)?
        .add(embed::DecoderEmbedOp)
}

/// Whether the CPU runs the AVX2 kernels (with FMA and F16C).
fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
            && std::arch::is_x86_feature_detected!("f16c")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The operator (see the module doc).
pub struct DecoderLayerOp;

fn err(msg: impl std::fmt::Display) -> ort::Error {
    ort::Error::new(format!("{DOMAIN}:{OP}: {msg}"))
}

impl Operator for DecoderLayerOp {
    type Kernel<'attr> = LayerKernel;

    fn name(&self) -> &str {
        OP
    }

    fn inputs(&self) -> impl IntoIterator<Item = OperatorInput> {
        // f32 everywhere but the counts (3, 4: i32) and the int8 weights (7, 10, 15, 18).
        (0..INPUTS).map(|i| {
            OperatorInput::required(match i {
                1 | 2 => TensorElementType::Float16,
                3 | 4 => TensorElementType::Int32,
                7 | 10 | 15 | 18 => TensorElementType::Int8,
                _ => TensorElementType::Float32,
            })
        })
    }

    fn outputs(&self) -> impl IntoIterator<Item = OperatorOutput> {
        (0..3).map(|i| {
            OperatorOutput::required(if i == 0 {
                TensorElementType::Float32
            } else {
                TensorElementType::Float16
            })
        })
    }

    fn create_kernel<'attr>(&self, ctx: &KernelContext<'attr>) -> ort::Result<LayerKernel> {
        LayerKernel::new(ctx)
    }
}

/// A constant input's shape and values.
fn constant<T: ort::value::PrimitiveTensorElementType + std::fmt::Debug + Clone>(
    ctx: &KernelContext<'_>,
    idx: usize,
) -> ort::Result<(Vec<i64>, Vec<T>)> {
    let v = ctx
        .constant_input::<TensorValueType<T>>(idx)
        .map_err(|e| err(format!("input {idx} must be an initializer ({e})")))?;
    let (shape, data) = v.try_extract_tensor::<T>()?;
    Ok((shape.to_vec(), data.to_vec()))
}

/// A linear layer from inputs `idx` (int8 weight `[in, out]`), `idx + 1` (scales), `idx + 2` (bias).
fn linear(ctx: &KernelContext<'_>, idx: usize) -> ort::Result<PackedLinear> {
    let (shape, q) = constant::<i8>(ctx, idx)?;
    let (_, scale) = constant::<f32>(ctx, idx + 1)?;
    let (_, bias) = constant::<f32>(ctx, idx + 2)?;
    let [inp, out] = shape[..] else {
        return Err(err(format!("input {idx} has shape {shape:?}, not [in, out]")));
    };
    PackedLinear::new(&q, inp as usize, out as usize, &scale, &bias).map_err(err)
}

/// One layer's packed weights and its scratch rows.
pub struct LayerKernel {
    p: Params,
    scratch: Scratch,
}

/// One layer's shape and packed weights.
struct Params {
    d: usize,
    heads: usize,
    head_dim: usize,
    eps: f32,
    avx2: bool,
    ln1: (Vec<f32>, Vec<f32>),
    ln2: (Vec<f32>, Vec<f32>),
    qkv: PackedLinear,
    proj: PackedLinear,
    fc1: PackedLinear,
    fc2: PackedLinear,
    /// `[positions, head_dim / 2]`.
    cos: Vec<f32>,
    sin: Vec<f32>,
    positions: usize,
}

/// Buffers reused across passes (they grow to the longest pass and stay).
#[derive(Default)]
struct Scratch {
    qkv: Vec<f32>,
    attn: Vec<f32>,
    row: Vec<f32>,
    wide: Vec<f32>,
    x1: Vec<f32>,
    xq: Vec<i16>,
    acc: Vec<i32>,
    probs: Vec<f32>,
}

impl LayerKernel {
    fn new(ctx: &KernelContext<'_>) -> ort::Result<LayerKernel> {
        let heads = ctx
            .get::<i64>("num_heads")
            .ok_or_else(|| err("no num_heads attribute"))?;
        let eps = ctx.get::<f32>("epsilon").unwrap_or(1e-5);
        let (_, ln1w) = constant::<f32>(ctx, 5)?;
        let (_, ln1b) = constant::<f32>(ctx, 6)?;
        let qkv = linear(ctx, 7)?;
        let proj = linear(ctx, 10)?;
        let (_, ln2w) = constant::<f32>(ctx, 13)?;
        let (_, ln2b) = constant::<f32>(ctx, 14)?;
        let fc1 = linear(ctx, 15)?;
        let fc2 = linear(ctx, 18)?;
        let (cshape, cos) = constant::<f32>(ctx, 21)?;
        let (_, sin) = constant::<f32>(ctx, 22)?;
        let d = ln1w.len();
        let heads = heads.max(1) as usize;
        let head_dim = d / heads;
        let shapes_ok = heads * head_dim == d
            && head_dim.is_multiple_of(2)
            && [ln1b.len(), ln2w.len(), ln2b.len()].iter().all(|&n| n == d)
            && qkv.inp() == d
            && qkv.out() == 3 * d
            && proj.inp() == d
            && proj.out() == d
            && fc1.inp() == d
            && fc2.inp() == fc1.out()
            && fc2.out() == d
            && cshape.len() == 2
            && cshape[1] as usize == head_dim / 2
            && sin.len() == cos.len();
        if !shapes_ok {
            return Err(err(format!(
                "inconsistent shapes: width {d}, {heads} heads, qkv {}x{}, proj {}x{}, fc1 {}x{}, fc2 {}x{}, rotary {cshape:?}",
                qkv.inp(),
                qkv.out(),
                proj.inp(),
                proj.out(),
                fc1.inp(),
                fc1.out(),
                fc2.inp(),
                fc2.out()
            )));
        }
        let avx2 = has_avx2();
        Ok(LayerKernel {
            scratch: Scratch::default(),
            p: Params {
                d,
                heads,
                head_dim,
                eps,
                avx2,
                ln1: (ln1w, ln1b),
                ln2: (ln2w, ln2b),
                qkv,
                proj,
                fc1,
                fc2,
                positions: cshape[0] as usize,
                cos,
                sin,
            },
        })
    }
}

/// A layer's cache during a pass: keys and values (f16, `[heads, cap, head_dim]`) holding `past`
/// tokens before it.
struct Cache<'a> {
    keys: &'a mut [u16],
    values: &'a mut [u16],
    cap: usize,
    past: usize,
}

crate::simd_kernel! {
    /// The layer over `t` rows of `x` into `y`, the cache (`[heads, cap, head_dim]` keys and
    /// values) holding `past` tokens before the pass; compiled for AVX2 and FMA where the CPU has
    /// them (the kernels it calls are inlined into it).
    fn layer(p: &Params, s: &mut Scratch, x: &[f32], y: &mut [f32], c: Cache<'_>) {
        let Cache { keys, values, cap, past } = c;
        let (d, hd, t) = (p.d, p.head_dim, x.len() / p.d);
        let half = hd / 2;
        s.qkv.resize(t * 3 * d, 0.0);
        s.attn.resize(t * d, 0.0);
        s.row.resize(d, 0.0);
        s.x1.resize(d, 0.0);
        s.wide.resize(p.fc1.out(), 0.0);
        for r in 0..t {
            let pos = past + r;
            kernels::layer_norm(&x[r * d..(r + 1) * d], &p.ln1.0, &p.ln1.1, p.eps, &mut s.row);
            let qkv = &mut s.qkv[r * 3 * d..(r + 1) * 3 * d];
            p.qkv.apply(&s.row, qkv, &mut s.xq, &mut s.acc, p.avx2);
            let (cos, sin) = (&p.cos[pos * half..(pos + 1) * half], &p.sin[pos * half..(pos + 1) * half]);
            kernels::rotate(&mut qkv[..2 * d], hd, cos, sin);
            for h in 0..p.heads {
                let at = (h * cap + pos) * hd;
                for (c, &x) in keys[at..at + hd].iter_mut().zip(&qkv[d + h * hd..d + (h + 1) * hd]) {
                    *c = kernels::f32_to_f16(x);
                }
                for (c, &x) in values[at..at + hd].iter_mut().zip(&qkv[2 * d + h * hd..2 * d + (h + 1) * hd]) {
                    *c = kernels::f32_to_f16(x);
                }
            }
        }
        let scale = 1.0 / (hd as f32).sqrt();
        for r in 0..t {
            for h in 0..p.heads {
                let q = &s.qkv[r * 3 * d + h * hd..r * 3 * d + (h + 1) * hd];
                let (k, v) = (&keys[h * cap * hd..(h + 1) * cap * hd], &values[h * cap * hd..(h + 1) * cap * hd]);
                let out = &mut s.attn[r * d + h * hd..r * d + (h + 1) * hd];
                #[cfg(target_arch = "x86_64")]
                if p.avx2 && hd.is_multiple_of(8) {
                    // SAFETY: `p.avx2` is only set where the CPU has AVX2, FMA and F16C (`has_avx2`);
                    // the head is a multiple of 8 wide and the cache rows up to `past + r` exist.
                    unsafe { kernels::attend_avx2(q, k, v, past + r, scale, out, &mut s.probs) };
                    continue;
                }
                kernels::attend(q, k, v, past + r, scale, out, &mut s.probs);
            }
        }
        for r in 0..t {
            let (xr, yr) = (&x[r * d..(r + 1) * d], &mut y[r * d..(r + 1) * d]);
            p.proj.apply(&s.attn[r * d..(r + 1) * d], &mut s.x1, &mut s.xq, &mut s.acc, p.avx2);
            for (a, &b) in s.x1.iter_mut().zip(xr) {
                *a += b;
            }
            kernels::layer_norm(&s.x1, &p.ln2.0, &p.ln2.1, p.eps, &mut s.row);
            p.fc1.apply(&s.row, &mut s.wide, &mut s.xq, &mut s.acc, p.avx2);
            kernels::gelu(&mut s.wide);
            p.fc2.apply(&s.wide, yr, &mut s.xq, &mut s.acc, p.avx2);
            for (a, &b) in yr.iter_mut().zip(&s.x1) {
                *a += b;
            }
        }
    }
}

impl Kernel for LayerKernel {
    fn compute(&mut self, ctx: &ort::operator::ComputeContext) -> ort::Result<()> {
        let d = self.p.d;
        let x = raw::input(ctx, 0)?;
        if x.shape().len() != 3 || x.dims[0] != 1 || x.dims[2] as usize != d {
            return Err(err(format!("x has shape {:?}, not [1, t, {d}]", x.shape())));
        }
        let t = x.dims[1] as usize;
        let seqlens = raw::input(ctx, 3)?;
        if seqlens.len() == 0 {
            return Err(err("seqlens_k is empty"));
        }
        // SAFETY: an int32 tensor (the operator's declared type) of at least one element.
        let total = unsafe { *(seqlens.data as *const i32) } as i64 + 1;
        let past = total - t as i64;
        if past < 0 || total as usize > self.p.positions {
            return Err(err(format!(
                "{t} new tokens with seqlens_k {} (a context of {total}; the rotary tables hold {})",
                total - 1,
                self.p.positions
            )));
        }
        let (past, total) = (past as usize, total as usize);
        let y = raw::output(ctx, 0, x.shape())?;
        let (h, hd) = (self.p.heads, self.p.head_dim);
        // Each cache: the present buffer, the past one's rows copied in unless the caller bound
        // one buffer as both (then only the new rows are written).
        let mut caches = [(std::ptr::null_mut::<u16>(), 0usize); 2];
        let mut cap = 0;
        for (k, i) in [1usize, 2].into_iter().enumerate() {
            let pv = raw::input(ctx, i)?;
            let ps = pv.shape();
            if ps.len() != 4 || ps[0] != 1 || ps[1] as usize != h || ps[3] as usize != hd {
                return Err(err(format!("input {i} has shape {ps:?}, not [1, {h}, capacity, {hd}]")));
            }
            let past_cap = ps[2] as usize;
            cap = past_cap.max(total);
            let present = raw::output(ctx, i, &[1, h as i64, cap as i64, hd as i64])?;
            if present.data != pv.data {
                if past > past_cap {
                    return Err(err(format!("{past} cached tokens in a cache of {past_cap}")));
                }
                // SAFETY: two distinct live f16 buffers of the lengths their shapes give.
                let (src, dst) = unsafe {
                    (
                        std::slice::from_raw_parts(pv.data as *const u16, pv.len()),
                        std::slice::from_raw_parts_mut(present.data as *mut u16, present.len()),
                    )
                };
                for head in 0..h {
                    let from = &src[head * past_cap * hd..(head * past_cap + past) * hd];
                    dst[head * cap * hd..(head * cap + past) * hd].copy_from_slice(from);
                }
            }
            caches[k] = (present.data as *mut u16, present.len());
        }
        // SAFETY: x, y (f32) and the two caches (f16) are distinct live buffers of ONNX Runtime's (the
        // operator declares no in-place outputs), of the lengths their shapes give; nothing else
        // touches them while the kernel runs.
        let (x, y, keys, values) = unsafe {
            (
                std::slice::from_raw_parts(x.data as *const f32, t * d),
                std::slice::from_raw_parts_mut(y.data as *mut f32, t * d),
                std::slice::from_raw_parts_mut(caches[0].0, caches[0].1),
                std::slice::from_raw_parts_mut(caches[1].0, caches[1].1),
            )
        };
        layer(
            &self.p,
            &mut self.scratch,
            x,
            y,
            Cache {
                keys,
                values,
                cap,
                past,
            },
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lin(inp: usize, out: usize, seed: &mut u32) -> PackedLinear {
        let mut r = || {
            *seed = seed.wrapping_mul(1664525).wrapping_add(1013904223);
            (*seed >> 24) as i8
        };
        let q: Vec<i8> = (0..inp * out).map(|_| r()).collect();
        PackedLinear::new(&q, inp, out, &vec![0.001; out], &vec![0.0; out]).unwrap()
    }

    #[test]
    #[ignore]
    fn layer_speed() {
        let (d, h, ff, cap) = (128, 4, 512, 512);
        let mut seed = 1;
        let p = Params {
            d,
            heads: h,
            head_dim: d / h,
            eps: 1e-5,
            avx2: std::is_x86_feature_detected!("avx2"),
            ln1: (vec![1.0; d], vec![0.0; d]),
            ln2: (vec![1.0; d], vec![0.0; d]),
            qkv: lin(d, 3 * d, &mut seed),
            proj: lin(d, d, &mut seed),
            fc1: lin(d, ff, &mut seed),
            fc2: lin(ff, d, &mut seed),
            cos: vec![1.0; cap * d / h / 2],
            sin: vec![0.0; cap * d / h / 2],
            positions: cap,
        };
        let mut s = Scratch::default();
        let x: Vec<f32> = (0..d).map(|i| (i as f32 * 0.37).sin()).collect();
        let mut y = vec![0f32; d];
        let mut k = vec![kernels::f32_to_f16(0.1); h * cap * d / h];
        let mut v = vec![kernels::f32_to_f16(0.2); h * cap * d / h];
        let n = 40_000;
        // Microseconds a layer, the cache holding `past(i)` tokens at call i.
        let mut time = |past: &dyn Fn(usize) -> usize| {
            let t0 = std::time::Instant::now();
            for i in 0..n {
                let cache = Cache {
                    keys: &mut k,
                    values: &mut v,
                    cap,
                    past: past(i),
                };
                layer(&p, &mut s, &x, &mut y, cache);
            }
            t0.elapsed().as_secs_f64() * 1e6 / n as f64
        };
        let all = time(&|i| i % 192);
        let none = time(&|_| 0);
        println!("one layer with nothing cached: {none:.2} us");
        let t0 = std::time::Instant::now();
        let mut out = vec![0f32; ff];
        for _ in 0..n {
            p.qkv.apply(&x, &mut out, &mut s.xq, &mut s.acc, p.avx2);
            p.proj.apply(&x, &mut out, &mut s.xq, &mut s.acc, p.avx2);
            p.fc1.apply(&x, &mut out, &mut s.xq, &mut s.acc, p.avx2);
            p.fc2.apply(&s.wide.clone(), &mut out, &mut s.xq, &mut s.acc, p.avx2);
        }
        let lin = t0.elapsed().as_secs_f64() * 1e6 / n as f64;
        println!("one layer at 0-191 cached tokens: {all:.2} us; its four products alone {lin:.2} us");
    }
}
