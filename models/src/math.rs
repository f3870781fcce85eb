//! `erf` and `exp` for f32 written so that a loop over them vectorizes (libm's are scalar calls
//! that stop it: `perf` put `erff` at 5 % and `expf` at 4 % of a training step), and a way to run
//! a kernel compiled for AVX2 and FMA where the CPU has them (the crate is built for baseline
//! x86-64).
//!
//! Both are accurate to a few float ulps ([`tests`] hold erf to 5e-7 absolute and exp to 2e-7
//! relative against f64), well inside the 1e-4 parity between training and the ONNX
//! graph, whose `Erf` and `Exp` are ONNX Runtime's own approximations.

/// The splitmix64 step: `z` plus the golden-ratio increment, then its finaliser. A 64-bit hash of
/// its input, every bit of which moves every bit of the output: the Markov model's context hashes
/// and the memory of the changes' draw of a bar ([`crate::memory::changes::plays_bar`]) mix with
/// it.
#[inline]
pub fn splitmix64(z: u64) -> u64 {
    let mut z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `erf(x)`: the rational approximation of Eigen's `generic_fast_erf_float` (odd degree-13
/// numerator over even degree-8 denominator), within [-1, 1], and constant beyond |x| = 4 (where f32's erf is 1 within an ulp).
#[inline(always)]
pub fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = x2 * -2.726_142_3e-10 + 2.770_681_4e-8;
    p = x2 * p + -2.101_024e-6;
    p = x2 * p + -5.692_506_4e-5;
    p = x2 * p + -7.349_906_3e-4;
    p = x2 * p + -2.954_6e-3;
    p = x2 * p + -1.609_603_3e-2;
    let mut q = x2 * -1.456_607_2e-5 + -2.133_740_6e-4;
    q = x2 * q + -1.682_827e-3;
    q = x2 * q + -7.373_329e-3;
    q = x2 * q + -1.426_474e-2;
    // The rational function overshoots 1 by 4e-8 at |x| = 4.
    (x * p / q).clamp(-1.0, 1.0)
}

/// `exp(x)` (Cephes `expf`: `2^n * e^r` with |r| <= ln 2 / 2 and a degree-6 polynomial), 0 below
/// -87.3 (where f32 goes subnormal) and for -inf, saturating at `f32::MAX` above 88.7.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    // ln 2 in two parts, so `x - n ln 2` keeps its low bits.
    const C1: f32 = 0.693_359_4;
    const C2: f32 = -2.121_944_4e-4;
    let under = x < -87.3;
    let xc = x.clamp(-87.3, 88.7);
    let n = (xc * LOG2E + 0.5).floor();
    let r = xc - n * C1 - n * C2;
    let mut y = r * 1.987_569_1e-4 + 1.398_199_9e-3;
    y = y * r + 8.333_452e-3;
    y = y * r + 4.166_579_6e-2;
    y = y * r + 1.666_666_5e-1;
    y = y * r + 0.5;
    y = y * r * r + r + 1.0;
    // 2^n from its bits: n is in [-126, 128] here.
    let scale = f32::from_bits((((n as i32) + 127) as u32) << 23);
    if under { 0.0 } else { y * scale }
}

/// Defines `$name` running `$body` (a block over the given arguments) compiled for AVX2 and FMA
/// when the CPU has them, and for the baseline otherwise: the same code, so the same results
/// up to the float contractions LLVM is allowed (none: Rust does not fuse `a * b + c`).
#[macro_export]
macro_rules! simd_kernel {
    ($(#[$m:meta])* $vis:vis fn $name:ident($($a:ident: $t:ty),* $(,)?) $(-> $r:ty)? $body:block) => {
        $(#[$m])*
        $vis fn $name($($a: $t),*) $(-> $r)? {
            #[inline(always)]
            fn body($($a: $t),*) $(-> $r)? $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                unsafe fn wide($($a: $t),*) $(-> $r)? {
                    body($($a),*)
                }
                if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
                    // SAFETY: the CPU has the features `wide` was compiled for.
                    return unsafe { wide($($a),*) };
                }
            }
            body($($a),*)
        }
    };
}
pub use simd_kernel;

#[cfg(test)]
mod tests {
    use super::*;

    /// `f` against `reference` at `n` points over `[lo, hi]`: the worst absolute error.
    fn worst(f: impl Fn(f32) -> f32, reference: impl Fn(f64) -> f64, lo: f32, hi: f32, n: usize) -> f64 {
        (0..=n)
            .map(|i| {
                let x = lo + (hi - lo) * i as f32 / n as f32;
                (f(x) as f64 - reference(x as f64)).abs()
            })
            .fold(0.0, f64::max)
    }

    #[test]
    fn erf_is_within_5e7_of_the_f64_erf() {
        let e = worst(erf, libm::erf, -6.0, 6.0, 200_000);
        assert!(e < 5e-7, "erf off by {e}");
        assert_eq!(erf(0.0), 0.0);
        assert!((erf(9.0) - 1.0).abs() < 2e-7 && erf(9.0) <= 1.0);
        assert_eq!(erf(-9.0), -erf(9.0));
    }

    #[test]
    fn exp_is_within_2e7_relative_of_the_f64_exp() {
        let rel = |f: f32| ((exp(f) as f64 - (f as f64).exp()) / (f as f64).exp()).abs();
        let e = (0..=200_000)
            .map(|i| rel(-87.0 + 175.0 * i as f32 / 200_000.0))
            .fold(0.0, f64::max);
        assert!(e < 2e-7, "exp off by {e} relative");
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp(-100.0), 0.0);
        assert!(worst(exp, f64::exp, -20.0, 0.0, 10_000) < 2e-7);
    }

    crate::simd_kernel! {
        fn square_all(x: &mut [f32]) {
            for v in x.iter_mut() {
                *v *= *v;
            }
        }
    }

    #[test]
    fn a_simd_kernel_runs_its_body() {
        let mut x = [1.0, 2.0, -3.0];
        square_all(&mut x);
        assert_eq!(x, [1.0, 4.0, 9.0]);
    }
}
