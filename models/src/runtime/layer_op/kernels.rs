//! The arithmetic of [`super::DecoderLayerOp`]: an int8 linear layer packed for 16-bit products,
//! LayerNorm, GELU, the rotary rotation and the cached causal attention of one batch item.
//!
//! The linear layers keep each weight column's int8 values and scale (exactly the int8 graph's
//! `weight_q` / `weight_scale`) and quantize the input row to 14 bits (`ACT_RANGE`), where ONNX
//! Runtime's `DynamicQuantizeMatMul` quantizes it to 8. The products and their sums are integers,
//! so the AVX2 path (`vpmaddwd`) and the portable one give the same bits.

use crate::math::erf;

/// The widest input quantization: an input row is scaled to `[-ACT_RANGE, ACT_RANGE]` (14 bits)
/// unless the layer's width needs less to keep its sums inside i32 ([`act_range`]).
pub(super) const ACT_RANGE: f32 = 8191.0;
/// The weights of a wide layer ([`PackedLinear::new_wide`]) are quantized to
/// `[-WIDE_RANGE, WIDE_RANGE]` (12 bits) per column.
pub(super) const WIDE_RANGE: f32 = 2047.0;
/// Outputs are computed in blocks of this many (four AVX2 registers of i32).
const BLOCK: usize = 32;

/// The input range of a layer `inp_pad` wide with weights up to `wmax`: a sum of `inp_pad`
/// products stays inside i32. `None` when that leaves fewer than 10 bits.
fn act_range(inp_pad: usize, wmax: f32) -> Option<f32> {
    let r = (i32::MAX as f64 / (inp_pad as f64 * wmax as f64))
        .floor()
        .min(ACT_RANGE as f64);
    (r >= 1023.0).then_some(r as f32)
}

/// The packed weights: int8, or 12 bits in an i16.
enum Weights {
    W8(Vec<i8>),
    W16(Vec<i16>),
}

/// An integer linear layer `y = x W + b`, `W` `[inp, out]` with a scale per column.
pub(super) struct PackedLinear {
    inp: usize,
    out: usize,
    /// Columns padded to a multiple of [`BLOCK`].
    out_pad: usize,
    /// `[out_pad / BLOCK][inp_pad / 2][BLOCK][2]`: per block of columns, the weights of input
    /// rows `2p` and `2p + 1` side by side per column (as `vpmaddwd` pairs them), so that a block
    /// reads its weights in one sequential stream.
    w: Weights,
    /// The input quantization range ([`act_range`]).
    act: f32,
    scale: Vec<f32>,
    bias: Vec<f32>,
}

/// `q` (`[inp, out]`, row-major) in the packed layout, columns padded to `out_pad`.
fn pack<T: Copy + Default>(q: &[T], inp: usize, out: usize, out_pad: usize) -> Vec<T> {
    let pairs = inp.div_ceil(2);
    let mut w = vec![T::default(); pairs * out_pad * 2];
    for i in 0..inp {
        let (p, half) = (i / 2, i % 2);
        for o in 0..out {
            w[(((o / BLOCK) * pairs + p) * BLOCK + o % BLOCK) * 2 + half] = q[i * out + o];
        }
    }
    w
}

impl PackedLinear {
    /// Packs the int8 `q` (`[inp, out]`, row-major) with its column `scale` and `bias`.
    pub(super) fn new(q: &[i8], inp: usize, out: usize, scale: &[f32], bias: &[f32]) -> Result<Self, String> {
        if q.len() != inp * out || scale.len() != out || bias.len() != out {
            return Err(format!(
                "a linear layer of {inp} x {out} has {} weights, {} scales and {} biases",
                q.len(),
                scale.len(),
                bias.len()
            ));
        }
        let act = act_range(inp.div_ceil(2) * 2, 127.0)
            .filter(|_| inp > 0)
            .ok_or_else(|| format!("a linear layer {inp} wide is too wide for 32-bit sums"))?;
        let out_pad = out.div_ceil(BLOCK) * BLOCK;
        Ok(PackedLinear {
            inp,
            out,
            out_pad,
            w: Weights::W8(pack(q, inp, out, out_pad)),
            act,
            scale: scale.to_vec(),
            bias: bias.to_vec(),
        })
    }

    /// Quantizes the float `w` (`[inp, out]`, row-major) to 12 bits per column and packs it
    /// (the output projection, where 8 bits flipped near-tied top tokens).
    pub(super) fn new_wide(w: &[f32], inp: usize, out: usize, bias: &[f32]) -> Result<Self, String> {
        if w.len() != inp * out || bias.len() != out {
            return Err(format!(
                "a linear layer of {inp} x {out} has {} weights and {} biases",
                w.len(),
                bias.len()
            ));
        }
        let act = act_range(inp.div_ceil(2) * 2, WIDE_RANGE)
            .filter(|_| inp > 0)
            .ok_or_else(|| format!("a linear layer {inp} wide is too wide for 32-bit sums"))?;
        let mut scale = vec![0f32; out];
        for row in w.chunks_exact(out) {
            for (s, v) in scale.iter_mut().zip(row) {
                *s = s.max(v.abs());
            }
        }
        for s in &mut scale {
            *s = if *s > 0.0 { *s / WIDE_RANGE } else { 1.0 };
        }
        let q: Vec<i16> = w
            .iter()
            .enumerate()
            .map(|(i, v)| (v / scale[i % out]).round().clamp(-WIDE_RANGE, WIDE_RANGE) as i16)
            .collect();
        let out_pad = out.div_ceil(BLOCK) * BLOCK;
        Ok(PackedLinear {
            inp,
            out,
            out_pad,
            w: Weights::W16(pack(&q, inp, out, out_pad)),
            act,
            scale,
            bias: bias.to_vec(),
        })
    }

    /// Input width.
    pub(super) fn inp(&self) -> usize {
        self.inp
    }

    /// Output width.
    pub(super) fn out(&self) -> usize {
        self.out
    }

    /// `y = x W + b` for one row `x`; `xq` and `acc` are scratch.
    #[inline(always)]
    pub(super) fn apply(&self, x: &[f32], y: &mut [f32], xq: &mut Vec<i16>, acc: &mut Vec<i32>, avx2: bool) {
        debug_assert_eq!(x.len(), self.inp);
        let amax = lane_max_abs(x);
        if amax == 0.0 || !amax.is_finite() {
            // A zero row gives the bias; a row with an inf or a NaN gives NaN, as a float product would.
            let fill = if amax == 0.0 { 0.0 } else { f32::NAN };
            for (o, y) in y.iter_mut().enumerate().take(self.out) {
                *y = self.bias[o] + fill;
            }
            return;
        }
        let step = amax / self.act;
        let inv = self.act / amax;
        xq.clear();
        xq.resize(self.inp.div_ceil(2) * 2, 0);
        for (q, v) in xq.iter_mut().zip(x) {
            *q = (v * inv).round() as i16;
        }
        acc.clear();
        acc.resize(self.out_pad, 0);
        match &self.w {
            Weights::W8(w) => product(xq, w, self.out_pad, acc, avx2),
            Weights::W16(w) => product(xq, w, self.out_pad, acc, avx2),
        }
        for o in 0..self.out {
            y[o] = acc[o] as f32 * (step * self.scale[o]) + self.bias[o];
        }
    }
}

/// A packed weight type: int8 or 16-bit, each with its AVX2 product.
trait PackedWeight: Copy + Into<i32> {
    /// [`gemv`] with AVX2.
    ///
    /// # Safety
    /// As [`gemv8_avx2`].
    #[cfg(target_arch = "x86_64")]
    unsafe fn gemv_avx2(xq: &[i16], w: &[Self], out_pad: usize, acc: &mut [i32]);
}

impl PackedWeight for i8 {
    #[cfg(target_arch = "x86_64")]
    unsafe fn gemv_avx2(xq: &[i16], w: &[i8], out_pad: usize, acc: &mut [i32]) {
        // SAFETY: the caller's contract.
        unsafe { gemv8_avx2(xq, w, out_pad, acc) }
    }
}

impl PackedWeight for i16 {
    #[cfg(target_arch = "x86_64")]
    unsafe fn gemv_avx2(xq: &[i16], w: &[i16], out_pad: usize, acc: &mut [i32]) {
        // SAFETY: the caller's contract.
        unsafe { gemv16_avx2(xq, w, out_pad, acc) }
    }
}

/// The packed product into `acc`, with AVX2 when `avx2` says the CPU has it.
#[inline(always)]
fn product<T: PackedWeight>(xq: &[i16], w: &[T], out_pad: usize, acc: &mut [i32], avx2: bool) {
    #[cfg(target_arch = "x86_64")]
    if avx2 {
        // SAFETY: `avx2` is only true where the CPU has AVX2 (`super::has_avx2`); the packed
        // sizes are the ones the AVX2 products read (`xq` even, `w` `[xq / 2][out_pad][2]`).
        unsafe { T::gemv_avx2(xq, w, out_pad, acc) };
        return;
    }
    let _ = avx2;
    gemv(xq, w, out_pad, acc);
}

/// `acc[o] += sum_p xq[2p] w[p][o][0] + xq[2p + 1] w[p][o][1]` (in the packed layout), the
/// portable way.
#[inline(always)]
fn gemv<T: Copy + Into<i32>>(xq: &[i16], w: &[T], out_pad: usize, acc: &mut [i32]) {
    let pairs = xq.len() / 2;
    for (b, acc) in acc[..out_pad].chunks_exact_mut(BLOCK).enumerate() {
        let wb = &w[b * pairs * BLOCK * 2..(b + 1) * pairs * BLOCK * 2];
        for (pair, row) in xq.chunks_exact(2).zip(wb.chunks_exact(BLOCK * 2)) {
            let (x0, x1) = (pair[0] as i32, pair[1] as i32);
            for (a, wp) in acc.iter_mut().zip(row.chunks_exact(2)) {
                *a += x0 * wp[0].into() + x1 * wp[1].into();
            }
        }
    }
}

/// Defines an AVX2 [`gemv`] of packed weights of type `$t`, `$load` widening the 16 weights at a
/// pointer to 16-bit lanes: each 32-bit lane multiplies a pair of inputs by a column's pair of
/// weights (`vpmaddwd`) and adds the two products, exactly as the portable loop does. Two pairs of
/// inputs a round, their products added before the running sums.
macro_rules! gemv_avx2 {
    ($(#[$m:meta])* $name:ident, $t:ty, $load:expr) => {
        $(#[$m])*
        ///
        /// # Safety
        /// The CPU must have AVX2; `xq.len()` must be even, `w.len() == xq.len() / 2 * out_pad * 2`,
        /// `out_pad` a multiple of 32 and `acc.len() >= out_pad`.
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2")]
        unsafe fn $name(xq: &[i16], w: &[$t], out_pad: usize, acc: &mut [i32]) {
            use std::arch::x86_64::*;
            debug_assert!(xq.len().is_multiple_of(2) && w.len() == xq.len() / 2 * out_pad * 2);
            debug_assert!(out_pad.is_multiple_of(BLOCK) && acc.len() >= out_pad);
            let load: unsafe fn(*const $t) -> __m256i = $load;
            let pairs = xq.len() / 2;
            let mut row = w.as_ptr();
            // SAFETY (all pointer reads below): the pairs read are inside `xq`, and `row` walks the
            // 64 weights of each (block of 32 columns, pair) in order, `pairs * out_pad / 32` of
            // them: all of `w` (the function's contract).
            let pair = |p: usize| unsafe { _mm256_set1_epi32((xq.as_ptr().add(2 * p) as *const i32).read_unaligned()) };
            for o in (0..out_pad).step_by(BLOCK) {
                let mut a = [_mm256_setzero_si256(); 4];
                let mut p = 0;
                while p + 2 <= pairs {
                    let (x0, x1) = (pair(p), pair(p + 1));
                    for (k, ak) in a.iter_mut().enumerate() {
                        let m0 = _mm256_madd_epi16(x0, unsafe { load(row.add(16 * k)) });
                        let m1 = _mm256_madd_epi16(x1, unsafe { load(row.add(BLOCK * 2 + 16 * k)) });
                        *ak = _mm256_add_epi32(*ak, _mm256_add_epi32(m0, m1));
                    }
                    row = unsafe { row.add(BLOCK * 4) };
                    p += 2;
                }
                if p < pairs {
                    let xp = pair(p);
                    for (k, ak) in a.iter_mut().enumerate() {
                        *ak = _mm256_add_epi32(*ak, _mm256_madd_epi16(xp, unsafe { load(row.add(16 * k)) }));
                    }
                    row = unsafe { row.add(BLOCK * 2) };
                }
                for (k, ak) in a.iter().enumerate() {
                    // SAFETY: o + 8k + 8 <= out_pad <= acc.len().
                    unsafe { _mm256_storeu_si256(acc.as_mut_ptr().add(o + 8 * k) as *mut __m256i, *ak) };
                }
            }
        }
    };
}

/// 16 int8 weights widened to 16 bits.
///
/// # Safety
/// AVX2, and 16 readable bytes at `p`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn load_i8x16(p: *const i8) -> std::arch::x86_64::__m256i {
    use std::arch::x86_64::*;
    // SAFETY: the caller's contract.
    unsafe { _mm256_cvtepi8_epi16(_mm_loadu_si128(p as *const __m128i)) }
}

/// 16 16-bit weights.
///
/// # Safety
/// AVX2, and 32 readable bytes at `p`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn load_i16x16(p: *const i16) -> std::arch::x86_64::__m256i {
    use std::arch::x86_64::*;
    // SAFETY: the caller's contract.
    unsafe { _mm256_loadu_si256(p as *const __m256i) }
}

gemv_avx2!(
    /// [`gemv`] of int8 weights with AVX2.
    gemv8_avx2, i8, load_i8x16
);
gemv_avx2!(
    /// [`gemv`] of 16-bit weights with AVX2.
    gemv16_avx2, i16, load_i16x16
);

/// LayerNorm of one row into `y`.
#[inline(always)]
pub(super) fn layer_norm(x: &[f32], w: &[f32], b: &[f32], eps: f32, y: &mut [f32]) {
    let n = x.len() as f32;
    let mean = lane_sum(x) / n;
    // The squared deviations summed in eight lanes, so the loop vectorizes.
    let mut sq = [0f32; 8];
    let chunks = x.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for k in 0..8 {
            sq[k] += (c[k] - mean) * (c[k] - mean);
        }
    }
    let var = (sq.iter().sum::<f32>() + rest.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>()) / n;
    let inv = 1.0 / (var + eps).sqrt();
    for (((y, &v), &g), &b) in y.iter_mut().zip(x).zip(w).zip(b) {
        *y = (v - mean) * inv * g + b;
    }
}

/// The exact (erf) GELU, in place.
#[inline(always)]
pub(super) fn gelu(x: &mut [f32]) {
    for v in x.iter_mut() {
        *v = 0.5 * *v * (1.0 + erf(*v * std::f32::consts::FRAC_1_SQRT_2));
    }
}

/// Rotates each `head_dim`-wide head of `row` by the angles of one position (`cos` and `sin`, half a
/// head wide each): the halves `(a, b)` of a head become `(a cos - b sin, b cos + a sin)`.
#[inline(always)]
pub(super) fn rotate(row: &mut [f32], head_dim: usize, cos: &[f32], sin: &[f32]) {
    let half = head_dim / 2;
    for head in row.chunks_exact_mut(head_dim) {
        let (a, b) = head.split_at_mut(half);
        for i in 0..half {
            let (x, y) = (a[i], b[i]);
            a[i] = x * cos[i] - y * sin[i];
            b[i] = y * cos[i] + x * sin[i];
        }
    }
}

/// An f16 (its bits) as f32.
#[inline(always)]
pub(super) fn f16_to_f32(bits: u16) -> f32 {
    half::f16::from_bits(bits).to_f32()
}

/// An f32 rounded to f16 (its bits).
#[inline(always)]
pub(super) fn f32_to_f16(x: f32) -> u16 {
    half::f16::from_f32(x).to_bits()
}

/// The largest of `x` (eight running maxima, so the loop vectorizes; -inf when empty).
#[inline(always)]
fn lane_max(x: &[f32]) -> f32 {
    let mut m = [f32::NEG_INFINITY; 8];
    let chunks = x.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for k in 0..8 {
            m[k] = if c[k] > m[k] { c[k] } else { m[k] };
        }
    }
    rest.iter()
        .chain(&m)
        .fold(f32::NEG_INFINITY, |a, &b| if b > a { b } else { a })
}

/// The largest |x| (eight running maxima, so the loop vectorizes); NaN when `x` holds a NaN, as
/// the caller needs to know.
#[inline(always)]
fn lane_max_abs(x: &[f32]) -> f32 {
    let mut m = [0f32; 8];
    let mut nan = false;
    let chunks = x.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for k in 0..8 {
            let a = c[k].abs();
            nan |= a.is_nan();
            m[k] = if a > m[k] { a } else { m[k] };
        }
    }
    for &v in rest {
        nan |= v.is_nan();
        m[0] = if v.abs() > m[0] { v.abs() } else { m[0] };
    }
    if nan {
        return f32::NAN;
    }
    m.iter().fold(0f32, |a, &b| if b > a { b } else { a })
}

/// The sum of `x` (eight running sums, so the loop vectorizes).
#[inline(always)]
fn lane_sum(x: &[f32]) -> f32 {
    let mut s = [0f32; 8];
    let chunks = x.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for k in 0..8 {
            s[k] += c[k];
        }
    }
    s.iter().chain(rest).sum()
}

/// Dot product with eight independent sums (so the loop vectorizes).
#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut s = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            s[k] += x[k] * y[k];
        }
    }
    let mut t = s.iter().sum::<f32>();
    for (x, y) in ra.iter().zip(rb) {
        t += x * y;
    }
    t
}

/// One head's attention of a query over the cached keys and values `0..=last` (`[cap, head_dim]`
/// rows of that head), scaled by `scale`, into `out`; `probs` is scratch. Each loop is one that
/// vectorizes: the scores, their exponentials, the weighted sum of the values.
#[inline(always)]
pub(super) fn attend(
    q: &[f32],
    keys: &[u16],
    values: &[u16],
    last: usize,
    scale: f32,
    out: &mut [f32],
    probs: &mut Vec<f32>,
) {
    let hd = q.len();
    let n = last + 1;
    // Written by index, not pushed, so the keys' dot products do not wait on one another.
    probs.resize(n, 0.0);
    let mut row = [0f32; 8];
    for (p, k) in probs.iter_mut().zip(keys[..n * hd].chunks_exact(hd)) {
        let mut s = 0.0;
        for (qc, kc) in q.chunks(8).zip(k.chunks(8)) {
            for (r, &b) in row.iter_mut().zip(kc) {
                *r = f16_to_f32(b);
            }
            s += dot(qc, &row[..kc.len()]);
        }
        *p = s * scale;
    }
    let max = lane_max(probs);
    for p in probs.iter_mut() {
        *p = crate::math::exp(*p - max);
    }
    let inv = 1.0 / lane_sum(probs);
    // 32 output lanes at a time, summed over the keys in registers: two sets of four 8-lane
    // sums (even and odd keys), so that eight additions are in flight.
    let lanes = hd / 32 * 32;
    for c in (0..lanes).step_by(32) {
        let mut acc = [[0f32; 32]; 2];
        let mut rows = probs.iter().zip(values.chunks_exact(hd));
        let lanes32 = |v: &[u16]| -> [f32; 32] { std::array::from_fn(|l| f16_to_f32(v[c + l])) };
        while let Some((&p0, v0)) = rows.next() {
            let v0 = lanes32(v0);
            for l in 0..32 {
                acc[0][l] += p0 * v0[l];
            }
            let Some((&p1, v1)) = rows.next() else { break };
            let v1 = lanes32(v1);
            for l in 0..32 {
                acc[1][l] += p1 * v1[l];
            }
        }
        for l in 0..32 {
            out[c + l] = (acc[0][l] + acc[1][l]) * inv;
        }
    }
    for (i, o) in out.iter_mut().enumerate().skip(lanes) {
        *o = probs
            .iter()
            .zip(values.chunks_exact(hd))
            .map(|(&p, v)| p * f16_to_f32(v[i]))
            .sum::<f32>()
            * inv;
    }
}

/// [`crate::math::exp`] of eight values with fused multiply-adds (the same polynomial; the
/// results can differ from it in the last bit).
///
/// # Safety
/// The CPU must have AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn exp8(x: std::arch::x86_64::__m256) -> std::arch::x86_64::__m256 {
    use std::arch::x86_64::*;
    let under = _mm256_cmp_ps::<_CMP_LT_OQ>(x, _mm256_set1_ps(-87.3));
    let x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3)), _mm256_set1_ps(88.7));
    let n = _mm256_floor_ps(_mm256_fmadd_ps(
        x,
        _mm256_set1_ps(std::f32::consts::LOG2_E),
        _mm256_set1_ps(0.5),
    ));
    let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693_359_4), x);
    let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.121_944_4e-4), r);
    let mut y = _mm256_fmadd_ps(r, _mm256_set1_ps(1.987_569_1e-4), _mm256_set1_ps(1.398_199_9e-3));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(8.333_452e-3));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(4.166_579_6e-2));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.666_666_5e-1));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(0.5));
    y = _mm256_fmadd_ps(_mm256_mul_ps(y, r), r, _mm256_add_ps(r, _mm256_set1_ps(1.0)));
    let scale = _mm256_castsi256_ps(_mm256_slli_epi32::<23>(_mm256_add_epi32(
        _mm256_cvtps_epi32(n),
        _mm256_set1_epi32(127),
    )));
    _mm256_andnot_ps(under, _mm256_mul_ps(y, scale))
}

/// [`attend`] with AVX2, FMA and F16C for heads a multiple of 8 wide: the scores of eight keys at
/// a time (eight dot products summed into one register by a transposing add), the values summed
/// with fused multiply-adds.
///
/// # Safety
/// The CPU must have AVX2, FMA and F16C; `q.len()` (the head width) a multiple of 8, equal to
/// `out.len()`; `keys` and `values` at least `(last + 1) * q.len()` long.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn attend_avx2(
    q: &[f32],
    keys: &[u16],
    values: &[u16],
    last: usize,
    scale: f32,
    out: &mut [f32],
    probs: &mut Vec<f32>,
) {
    use std::arch::x86_64::*;
    let hd = q.len();
    let n = last + 1;
    debug_assert!(hd.is_multiple_of(8) && out.len() == hd && keys.len() >= n * hd && values.len() >= n * hd);
    probs.resize(n.div_ceil(8) * 8, 0.0);
    let (qp, kp, vp) = (q.as_ptr(), keys.as_ptr(), values.as_ptr());
    let chunks = hd / 8;
    // Eight f16 values as f32.
    #[inline(always)]
    unsafe fn load8(p: *const u16) -> __m256 {
        // SAFETY: the caller reads inside the cache (the enclosing function's contract).
        unsafe { _mm256_cvtph_ps(_mm_loadu_si128(p as *const __m128i)) }
    }
    // SAFETY (the pointer reads and writes below): key rows j < n and chunks c < hd / 8 lie inside
    // `keys` / `values` (the contract), and `probs` holds n rounded up to 8.
    unsafe {
        let sc = _mm256_set1_ps(scale);
        let mut j = 0;
        while j + 8 <= n {
            let mut acc = [_mm256_setzero_ps(); 8];
            for c in 0..chunks {
                let qc = _mm256_loadu_ps(qp.add(8 * c));
                for (r, a) in acc.iter_mut().enumerate() {
                    *a = _mm256_fmadd_ps(qc, load8(kp.add((j + r) * hd + 8 * c)), *a);
                }
            }
            let t0 = _mm256_hadd_ps(acc[0], acc[1]);
            let t1 = _mm256_hadd_ps(acc[2], acc[3]);
            let t2 = _mm256_hadd_ps(acc[4], acc[5]);
            let t3 = _mm256_hadd_ps(acc[6], acc[7]);
            let u0 = _mm256_hadd_ps(t0, t1);
            let u1 = _mm256_hadd_ps(t2, t3);
            let lo = _mm256_permute2f128_ps(u0, u1, 0x20);
            let hi = _mm256_permute2f128_ps(u0, u1, 0x31);
            _mm256_storeu_ps(probs.as_mut_ptr().add(j), _mm256_mul_ps(_mm256_add_ps(lo, hi), sc));
            j += 8;
        }
        for (jj, p) in probs[..n].iter_mut().enumerate().skip(j) {
            let mut a = _mm256_setzero_ps();
            for c in 0..chunks {
                a = _mm256_fmadd_ps(_mm256_loadu_ps(qp.add(8 * c)), load8(kp.add(jj * hd + 8 * c)), a);
            }
            let mut lanes = [0f32; 8];
            _mm256_storeu_ps(lanes.as_mut_ptr(), a);
            *p = lanes.iter().sum::<f32>() * scale;
        }
    }
    probs.truncate(n);
    let max = lane_max(probs);
    // SAFETY: `exp8` needs AVX2 and FMA, which this function's caller guarantees.
    unsafe {
        let m = _mm256_set1_ps(max);
        let mut chunks = probs.chunks_exact_mut(8);
        for c in &mut chunks {
            let x = _mm256_sub_ps(_mm256_loadu_ps(c.as_ptr()), m);
            _mm256_storeu_ps(c.as_mut_ptr(), exp8(x));
        }
        for p in chunks.into_remainder() {
            *p = crate::math::exp(*p - max);
        }
    }
    let inv = 1.0 / lane_sum(probs);
    // SAFETY: as above; `out` is `hd` long.
    unsafe {
        let op = out.as_mut_ptr();
        let mut c = 0;
        // Four 8-lane chunks at a time, two sets of sums (even and odd keys).
        while c + 4 <= chunks {
            let mut a = [_mm256_setzero_ps(); 8];
            let mut jj = 0;
            while jj + 2 <= n {
                let (p0, p1) = (_mm256_set1_ps(probs[jj]), _mm256_set1_ps(probs[jj + 1]));
                let (r0, r1) = (vp.add(jj * hd + 8 * c), vp.add((jj + 1) * hd + 8 * c));
                for k in 0..4 {
                    a[k] = _mm256_fmadd_ps(p0, load8(r0.add(8 * k)), a[k]);
                    a[4 + k] = _mm256_fmadd_ps(p1, load8(r1.add(8 * k)), a[4 + k]);
                }
                jj += 2;
            }
            if jj < n {
                let p0 = _mm256_set1_ps(probs[jj]);
                let r0 = vp.add(jj * hd + 8 * c);
                for (k, ak) in a.iter_mut().take(4).enumerate() {
                    *ak = _mm256_fmadd_ps(p0, load8(r0.add(8 * k)), *ak);
                }
            }
            let vi = _mm256_set1_ps(inv);
            for k in 0..4 {
                _mm256_storeu_ps(op.add(8 * (c + k)), _mm256_mul_ps(_mm256_add_ps(a[k], a[4 + k]), vi));
            }
            c += 4;
        }
        while c < chunks {
            let mut a = _mm256_setzero_ps();
            for (jj, &p) in probs.iter().enumerate() {
                a = _mm256_fmadd_ps(_mm256_set1_ps(p), load8(vp.add(jj * hd + 8 * c)), a);
            }
            _mm256_storeu_ps(op.add(8 * c), _mm256_mul_ps(a, _mm256_set1_ps(inv)));
            c += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(seed: &mut u64) -> f32 {
        *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((*seed >> 33) as f32 / (1u64 << 31) as f32) * 2.0 - 1.0
    }

    #[test]
    fn the_packed_product_matches_the_float_product_of_its_int8_weights() {
        let mut seed = 7;
        for (inp, out) in [(128, 384), (7, 5), (512, 128), (33, 64)] {
            let q: Vec<i8> = (0..inp * out).map(|_| (lcg(&mut seed) * 127.0) as i8).collect();
            let scale: Vec<f32> = (0..out).map(|_| 0.01 + 0.01 * lcg(&mut seed).abs()).collect();
            let bias: Vec<f32> = (0..out).map(|_| lcg(&mut seed)).collect();
            let x: Vec<f32> = (0..inp).map(|_| 3.0 * lcg(&mut seed)).collect();
            let lin = PackedLinear::new(&q, inp, out, &scale, &bias).unwrap();
            let (mut xq, mut acc) = (Vec::new(), Vec::new());
            let mut y = vec![0f32; out];
            lin.apply(&x, &mut y, &mut xq, &mut acc, false);
            let mut y2 = vec![0f32; out];
            let avx2 = cfg!(target_arch = "x86_64") && std::is_x86_feature_detected!("avx2");
            lin.apply(&x, &mut y2, &mut xq, &mut acc, avx2);
            assert_eq!(y, y2, "the AVX2 and portable products differ");
            let amax = lane_max_abs(&x);
            for o in 0..out {
                let exact: f64 = (0..inp)
                    .map(|i| x[i] as f64 * q[i * out + o] as f64 * scale[o] as f64)
                    .sum::<f64>()
                    + bias[o] as f64;
                let bound = (amax as f64 / ACT_RANGE as f64) * 0.5 * 127.0 * scale[o] as f64 * inp as f64;
                assert!(
                    (y[o] as f64 - exact).abs() <= bound + 1e-4,
                    "{inp}x{out} column {o}: {} vs {exact}",
                    y[o]
                );
            }
        }
    }

    #[test]
    fn the_avx2_attention_matches_the_portable_one() {
        #[cfg(target_arch = "x86_64")]
        if super::super::has_avx2() {
            let mut seed = 3;
            for (hd, n) in [(32, 1), (32, 7), (32, 8), (32, 61), (16, 19), (64, 33), (8, 5)] {
                let q: Vec<f32> = (0..hd).map(|_| lcg(&mut seed)).collect();
                let k: Vec<u16> = (0..n * hd).map(|_| f32_to_f16(2.0 * lcg(&mut seed))).collect();
                let v: Vec<u16> = (0..n * hd).map(|_| f32_to_f16(lcg(&mut seed))).collect();
                let (mut a, mut b) = (vec![0f32; hd], vec![0f32; hd]);
                attend(&q, &k, &v, n - 1, 0.3, &mut a, &mut Vec::new());
                // SAFETY: the CPU has AVX2 and FMA; the sizes are the contract's.
                unsafe { attend_avx2(&q, &k, &v, n - 1, 0.3, &mut b, &mut Vec::new()) };
                for (x, y) in a.iter().zip(&b) {
                    assert!((x - y).abs() < 1e-5, "head {hd}, {n} keys: {x} vs {y}");
                }
            }
        }
    }

    #[test]
    fn exp8_matches_the_scalar_exp() {
        #[cfg(target_arch = "x86_64")]
        if super::super::has_avx2() {
            use std::arch::x86_64::*;
            let mut worst = 0f32;
            for i in 0..20_000 {
                let x0 = -100.0 + 200.0 * i as f32 / 20_000.0;
                let xs: [f32; 8] = std::array::from_fn(|k| x0 + k as f32 * 0.001);
                let mut out = [0f32; 8];
                // SAFETY: the CPU has AVX2 and FMA (checked above).
                unsafe { _mm256_storeu_ps(out.as_mut_ptr(), exp8(_mm256_loadu_ps(xs.as_ptr()))) };
                for (x, y) in xs.iter().zip(out) {
                    let e = crate::math::exp(*x);
                    let rel = if e == 0.0 { y.abs() } else { ((y - e) / e).abs() };
                    worst = worst.max(rel);
                }
            }
            assert!(worst < 1e-6, "exp8 off by {worst} relative");
        }
    }

    #[test]
    fn attention_over_one_key_returns_its_value() {
        let q = [1.0, 2.0];
        let h = |x: &[f32]| -> Vec<u16> { x.iter().map(|&v| f32_to_f16(v)).collect() };
        let (k, v) = (h(&[0.5, -1.0, 3.0, 0.0]), h(&[4.0, 5.0, 6.0, 7.0]));
        let mut out = [0.0; 2];
        attend(&q, &k, &v, 0, 1.0, &mut out, &mut Vec::new());
        assert_eq!(out, [4.0, 5.0]);
        // Two keys with scores 3 * 0.5 and -1.5 * 0.5.
        let mut out = [0.0; 2];
        attend(&q, &h(&[1.0, 1.0, -0.5, -0.5]), &v, 1, 0.5, &mut out, &mut Vec::new());
        let (a, b) = ((1.5f32).exp(), (-0.75f32).exp());
        let p = a / (a + b);
        assert!((out[0] - (4.0 * p + 6.0 * (1.0 - p))).abs() < 1e-5);
    }
}
