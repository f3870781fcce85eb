//! `ai.sideman:DecoderHead`: the final LayerNorm and the output projection of the kernel graph.
//!
//! Inputs: `x` `[1, t, d]` f32; the norm's weight and bias `[d]`; the tied embedding `[vocab, d]`
//! f32 (the initializer the input embedding gathers from); for a model with the relative-pitch
//! head, `feature_ids` `[1, t, f]` int64 and the head's weight `[12, d]` and bias `[12]` f32
//! (optional, all three or none). Output: the logits `[1, t, vocab]`.
//! The kernel quantizes the embedding to 12 bits per vocabulary row when the session is created
//! and runs the projection as the layers run theirs (`kernels::PackedLinear::new_wide`): int8
//! there flipped near-tied top tokens (the drums' top-1 agreement with fp32 97.1 %, against
//! 100 % with it wider).
//!
//! The relative-pitch head (fp32, twelve products a row) adds to each `PITCH` logit the head's value
//! for that pitch's interval above the root of the row's chord (the first feature id;
//! [`crate::tokenizer::features::relative_class`]); rows without a chord are left alone.

use ort::operator::{ComputeContext, Kernel, KernelContext, Operator, OperatorInput, OperatorOutput};
use ort::value::TensorElementType;

use super::kernels::{self, PackedLinear};
use super::{constant, err, raw};
use crate::tokenizer::features::{RELATIVE_INTERVALS, relative_class};

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
        [
            OperatorInput::required(TensorElementType::Float32),
            OperatorInput::required(TensorElementType::Float32),
            OperatorInput::required(TensorElementType::Float32),
            OperatorInput::required(TensorElementType::Float32),
            OperatorInput::optional(TensorElementType::Int64),
            OperatorInput::optional(TensorElementType::Float32),
            OperatorInput::optional(TensorElementType::Float32),
        ]
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
        let relative = match (constant::<f32>(ctx, 5), constant::<f32>(ctx, 6)) {
            (Ok((ws, w)), Ok((_, b))) => {
                if ws[..] != [RELATIVE_INTERVALS as i64, d as i64] || b.len() != RELATIVE_INTERVALS {
                    return Err(err(format!("the relative-pitch head has shape {ws:?}, not [12, {d}]")));
                }
                if vocab < pitch_base() + 128 {
                    return Err(err(format!("a vocabulary of {vocab} has no pitch tokens")));
                }
                Some((w, b))
            }
            _ => None,
        };
        Ok(HeadKernel {
            relative,
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
    /// The relative-pitch head's weight `[12, d]` and bias.
    relative: Option<(Vec<f32>, Vec<f32>)>,
    eps: f32,
    norm: (Vec<f32>, Vec<f32>),
    proj: PackedLinear,
    avx2: bool,
    row: Vec<f32>,
    xq: Vec<i16>,
    acc: Vec<i32>,
}

/// The id of `PITCH:0`.
fn pitch_base() -> usize {
    crate::tokenizer::Vocab::id(crate::tokenizer::Token::Pitch(0)) as usize
}

crate::simd_kernel! {
    /// The norm and the projection of every row of `x` into `y`; with `chords` (one feature id a
    /// row), the relative-pitch head.
    fn head(k: &mut HeadKernel, x: &[f32], y: &mut [f32], chords: Option<(&[i64], usize)>) {
        let (d, v) = (k.proj.inp(), k.proj.out());
        k.row.resize(d, 0.0);
        for (r, (xr, yr)) in x.chunks_exact(d).zip(y.chunks_exact_mut(v)).enumerate() {
            kernels::layer_norm(xr, &k.norm.0, &k.norm.1, k.eps, &mut k.row);
            k.proj.apply(&k.row, yr, &mut k.xq, &mut k.acc, k.avx2);
            if let (Some((w, b)), Some((f, n))) = (&k.relative, chords) {
                let chord = u32::try_from(f[r * n]).unwrap_or(0);
                if relative_class(chord, 0) == RELATIVE_INTERVALS {
                    continue;
                }
                let mut rel = [0f32; RELATIVE_INTERVALS];
                for (o, (wr, &bias)) in rel.iter_mut().zip(w.chunks_exact(d).zip(b)) {
                    *o = bias + wr.iter().zip(&k.row).map(|(a, b)| a * b).sum::<f32>();
                }
                let pb = pitch_base();
                for (p, y) in yr[pb..pb + 128].iter_mut().enumerate() {
                    *y += rel[relative_class(chord, p as u8)];
                }
            }
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
        let chords = match (&self.relative, raw::input_opt(ctx, 4)?) {
            (Some(_), Some(f)) => {
                if f.shape().len() != 3 || f.dims[0] * f.dims[1] != rows as i64 || f.dims[2] < 1 {
                    return Err(err(format!("feature_ids has shape {:?}, not [batch, t, f]", f.shape())));
                }
                let n = f.dims[2] as usize;
                // SAFETY: an int64 tensor (the declared type) of `rows * n` elements.
                Some((unsafe { std::slice::from_raw_parts(f.data as *const i64, rows * n) }, n))
            }
            (Some(_), None) => return Err(err("the relative-pitch head needs feature_ids")),
            _ => None,
        };
        head(self, x, y, chords);
        Ok(())
    }
}
