//! `ai.sideman:DecoderHead`: the final LayerNorm and the output projection of the kernel graph.
//!
//! Inputs: `x` `[1, t, d]` f32; the norm's weight and bias `[d]`; the tied embedding `[vocab, d]`
//! f32 (the initializer the input embedding gathers from). Output: the logits `[1, t, vocab]`.
//! The kernel quantizes the embedding to 12 bits per vocabulary row when the session is created
//! and runs the projection as the layers run theirs (`kernels::PackedLinear::new_wide`): int8
//! there flipped near-tied top tokens (the drums' top-1 agreement with fp32 97.1 %, against
//! 100 % with it wider).

use ort::operator::{ComputeContext, Kernel, KernelContext, Operator, OperatorInput, OperatorOutput};
use ort::value::TensorElementType;

use super::kernels::{self, PackedLinear};
use super::{constant, err, raw};

/// The operator's name.
pub const HEAD_OP: &str = "DecoderHead";

/// The operator (see the module doc).
pub struct DecoderHeadOp;

impl Operator for DecoderHeadOp {
    type Kernel<'attr> = HeadKernel;

    fn name(&self) -> &str {
        HEAD_OP
    }

    fn inputs(&self) -> impl IntoIterator<Item = OperatorInput> {
        (0..4).map(|i| {
            let _ = i;
            OperatorInput::required(TensorElementType::Float32)
        })
    }

    fn outputs(&self) -> impl IntoIterator<Item = OperatorOutput> {
        [OperatorOutput::required(TensorElementType::Float32)]
    }

    fn create_kernel<'attr>(&self, ctx: &KernelContext<'attr>) -> ort::Result<HeadKernel> {
        let eps = ctx.get::<f32>("epsilon").unwrap_or(1e-5);
        let (_, w) = constant::<f32>(ctx, 1)?;
        let (_, b) = constant::<f32>(ctx, 2)?;
        let (shape, emb) = constant::<f32>(ctx, 3)?;
        let [vocab, d] = shape[..] else {
            return Err(err(format!("the embedding has shape {shape:?}, not [vocab, d]")));
        };
        let (d, vocab) = (d as usize, vocab as usize);
        if w.len() != d || b.len() != d {
            return Err(err(format!("a norm of {} for a width of {d}", w.len())));
        }
        // [vocab, d] to [d, vocab].
        let mut wt = vec![0f32; d * vocab];
        for (v, row) in emb.chunks_exact(d).enumerate() {
            for (i, &x) in row.iter().enumerate() {
                wt[i * vocab + v] = x;
            }
        }
        let proj = PackedLinear::new_wide(&wt, d, vocab, &vec![0.0; vocab]).map_err(err)?;
        Ok(HeadKernel {
            eps,
            norm: (w, b),
            proj,
            avx2: super::has_avx2(),
            row: Vec::new(),
            xq: Vec::new(),
            acc: Vec::new(),
        })
    }
}

/// The head's packed weights and scratch.
pub struct HeadKernel {
    eps: f32,
    norm: (Vec<f32>, Vec<f32>),
    proj: PackedLinear,
    avx2: bool,
    row: Vec<f32>,
    xq: Vec<i16>,
    acc: Vec<i32>,
}

crate::simd_kernel! {
    /// The norm and the projection of every row of `x` into `y`.
    fn head(k: &mut HeadKernel, x: &[f32], y: &mut [f32]) {
        let (d, v) = (k.proj.inp(), k.proj.out());
        k.row.resize(d, 0.0);
        for (xr, yr) in x.chunks_exact(d).zip(y.chunks_exact_mut(v)) {
            kernels::layer_norm(xr, &k.norm.0, &k.norm.1, k.eps, &mut k.row);
            k.proj.apply(&k.row, yr, &mut k.xq, &mut k.acc, k.avx2);
        }
    }
}

impl Kernel for HeadKernel {
    fn compute(&mut self, ctx: &ComputeContext) -> ort::Result<()> {
        let x = raw::input(ctx, 0)?;
        let d = self.proj.inp();
        if x.shape().len() != 3 || x.dims[2] as usize != d {
            return Err(err(format!("x has shape {:?}, not [batch, t, {d}]", x.shape())));
        }
        let rows = (x.dims[0] * x.dims[1]).max(0) as usize;
        let y = raw::output(ctx, 0, &[x.dims[0], x.dims[1], self.proj.out() as i64])?;
        // SAFETY: distinct live f32 buffers of ONNX Runtime's, of the lengths their shapes give.
        let (x, y) = unsafe {
            (
                std::slice::from_raw_parts(x.data as *const f32, rows * d),
                std::slice::from_raw_parts_mut(y.data as *mut f32, rows * self.proj.out()),
            )
        };
        head(self, x, y);
        Ok(())
    }
}
