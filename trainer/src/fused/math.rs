//! The vectorizing `erf` and `exp` and the AVX2 kernel macro live in [`models::math`], which the
//! runtime's decoder-layer operator shares with the trainer's fused ops.

pub use models::math::{erf, exp};
pub(crate) use models::simd_kernel;
