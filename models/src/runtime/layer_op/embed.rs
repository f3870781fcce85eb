//! `ai.sideman:DecoderEmbed`: the input embedding of the kernel graph in one node, the token's row
//! plus the rows of its context features (where the fused graph takes a Gather, a Gather of the
//! features, a ReduceSum and an Add).
//!
//! Inputs: `input_ids` `[1, t]` int64; `feature_ids` `[1, t, f]` int64 (optional: empty name
//! for models without features); the token embedding `[vocab, d]` f32; the feature table
//! `[rows, d]` f32 (optional, with the features). Output: `[1, t, d]`.

use ort::operator::{ComputeContext, Kernel, KernelContext, Operator, OperatorInput, OperatorOutput};
use ort::value::TensorElementType;

use super::{constant, err, raw};

/// The operator's name.
pub const EMBED_OP: &str = "DecoderEmbed";

/// The operator (see the module doc).
pub struct DecoderEmbedOp;

impl Operator for DecoderEmbedOp {
    type Kernel<'attr> = EmbedKernel;

    fn name(&self) -> &str {
        EMBED_OP
    }

    fn inputs(&self) -> impl IntoIterator<Item = OperatorInput> {
        [
            OperatorInput::required(TensorElementType::Int64),
            OperatorInput::optional(TensorElementType::Int64),
            OperatorInput::required(TensorElementType::Float32),
            OperatorInput::optional(TensorElementType::Float32),
        ]
    }

    fn outputs(&self) -> impl IntoIterator<Item = OperatorOutput> {
        [OperatorOutput::required(TensorElementType::Float32)]
    }

    fn create_kernel<'attr>(&self, ctx: &KernelContext<'attr>) -> ort::Result<EmbedKernel> {
        let (shape, table) = constant::<f32>(ctx, 2)?;
        let [vocab, d] = shape[..] else {
            return Err(err(format!("the embedding has shape {shape:?}, not [vocab, d]")));
        };
        let features = match constant::<f32>(ctx, 3) {
            Ok((fshape, f)) if fshape.len() == 2 && fshape[1] == d => Some(f),
            Ok((fshape, _)) => return Err(err(format!("the feature table has shape {fshape:?}"))),
            Err(_) => None,
        };
        Ok(EmbedKernel {
            d: d as usize,
            vocab: vocab as usize,
            table,
            features,
        })
    }
}

/// The embedding tables.
pub struct EmbedKernel {
    d: usize,
    vocab: usize,
    table: Vec<f32>,
    features: Option<Vec<f32>>,
}

impl Kernel for EmbedKernel {
    fn compute(&mut self, ctx: &ComputeContext) -> ort::Result<()> {
        let ids = raw::input(ctx, 0)?;
        if ids.shape().len() != 2 || ids.dims[0] != 1 {
            return Err(err(format!("input_ids has shape {:?}, not [1, t]", ids.shape())));
        }
        let t = ids.dims[1].max(0) as usize;
        let d = self.d;
        // SAFETY: an int64 tensor (the declared type) of `t` elements.
        let ids = unsafe { std::slice::from_raw_parts(ids.data as *const i64, t) };
        let feats = match (&self.features, raw::input_opt(ctx, 1)?) {
            (Some(table), Some(f)) => {
                if f.shape().len() != 3 || f.dims[0] != 1 || f.dims[1] as usize != t {
                    return Err(err(format!("feature_ids has shape {:?}, not [1, {t}, f]", f.shape())));
                }
                let n = f.dims[2].max(0) as usize;
                // SAFETY: an int64 tensor (the declared type) of `t * n` elements.
                Some((table, n, unsafe {
                    std::slice::from_raw_parts(f.data as *const i64, t * n)
                }))
            }
            _ => None,
        };
        let y = raw::output(ctx, 0, &[1, t as i64, d as i64])?;
        // SAFETY: ONNX Runtime's output buffer of `t * d` f32, apart from the inputs.
        let y = unsafe { std::slice::from_raw_parts_mut(y.data as *mut f32, t * d) };
        for (r, (&id, row)) in ids.iter().zip(y.chunks_exact_mut(d)).enumerate() {
            let id = usize::try_from(id).ok().filter(|&i| i < self.vocab);
            let id = id.ok_or_else(|| err(format!("token id {} outside the vocabulary", ids[r])))?;
            row.copy_from_slice(&self.table[id * d..(id + 1) * d]);
            if let Some((table, n, f)) = feats {
                let rows = table.len() / d;
                for &fid in &f[r * n..(r + 1) * n] {
                    let fid = usize::try_from(fid).ok().filter(|&i| i < rows);
                    let fid = fid.ok_or_else(|| err("a feature id outside its table"))?;
                    for (y, &e) in row.iter_mut().zip(&table[fid * d..(fid + 1) * d]) {
                        *y += e;
                    }
                }
            }
        }
        Ok(())
    }
}
