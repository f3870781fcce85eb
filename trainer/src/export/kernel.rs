//! The kernel graph: the int8 network in Sideman's own operators (`models::runtime::layer_op`),
//! which every session of the runtime registers:
//!
//! ```text
//! x       = DecoderEmbed(input_ids, feature_ids, embed, feat)     the token's row + its features'
//! x, k, v = DecoderLayer(x, past_k, past_v, seqlens_k, total_sequence_length, weights, rope)   per layer
//! logits  = DecoderHead(x, ln_f, embed)                            final norm, tied projection
//! ```
//!
//! 6 nodes for a 4-layer model, where the fused graph has 39. The inputs and outputs are the
//! fused graph's but for the cache, which is f16 `[batch, heads, capacity, head_dim]`; the
//! runtime binds it in place the same way. The int8 weights are the fused graph's initializers
//! under the same names, so [`super::read_onnx_weights`] reads either. Only int8 has this graph:
//! an fp32 export writes the fused graph.

use models::package::OnnxIo;
use models::runtime::layer_op;
use models::runtime::{SEQLENS_INPUT, TOTAL_LEN_INPUT};
use models::tokenizer::features::FEATURE_INPUT;

use super::{
    Precision, Weights, declare_counts, declare_io, fused, get, model_proto, quantize_columns, relative_initializers,
    rope_initializers, transpose,
};
use crate::model::{LN_EPS, ModelConfig};
use crate::onnx::{Attr, GraphBuilder, ModelProto, OperatorSetIdProto, dtype};

/// Whether the operator runs a model of this shape (the fused graph's condition: the rotary tables
/// and cache layout are the same).
pub fn supports(cfg: &ModelConfig) -> bool {
    fused::supports(cfg)
}

/// The int8 weight, scales and bias of the Linear `name`, as initializers: their names.
fn int8_linear(g: &mut GraphBuilder, w: &Weights, name: &str) -> anyhow::Result<[String; 3]> {
    let (shape, data) = get(w, &format!("{name}.weight"))?;
    let (out, inp) = (shape[0], shape[1]);
    let (q, s) = quantize_columns(&transpose(data, out, inp), inp, out);
    let (_, bias) = get(w, &format!("{name}.bias"))?;
    Ok([
        g.init_i8(&format!("{name}.weight_q"), &[inp, out], &q),
        g.init_f32(&format!("{name}.weight_scale"), &[out], &s),
        g.init_f32(&format!("{name}.bias"), &[out], bias),
    ])
}

/// A LayerNorm's weight and bias as initializers.
fn norm(g: &mut GraphBuilder, w: &Weights, name: &str) -> anyhow::Result<[String; 2]> {
    let (_, gw) = get(w, &format!("{name}.weight"))?;
    let (_, gb) = get(w, &format!("{name}.bias"))?;
    let d = gw.len();
    Ok([
        g.init_f32(&format!("{name}.weight"), &[d], gw),
        g.init_f32(&format!("{name}.bias"), &[d], gb),
    ])
}

/// Builds the kernel graph of a transformer with weights `w` (module doc); fp32 gets the fused
/// graph.
pub fn build_kernel_model(cfg: &ModelConfig, w: &Weights, prec: Precision) -> anyhow::Result<ModelProto> {
    if prec == Precision::Fp32 {
        return fused::build_fused_model(cfg, w, prec);
    }
    cfg.validate()?;
    anyhow::ensure!(
        supports(cfg),
        "the kernel graph needs a head width that is a multiple of 16 (this model's is {})",
        cfg.head_dim()
    );
    let io = OnnxIo::default();
    let mut g = GraphBuilder::default();
    g.graph.name = "sideman_transformer_kernel".into();
    declare_io(&mut g, cfg, ("capacity", "capacity"));
    // The cache is f16: half the memory a step reads, where the attention over a long context is
    // bound by it.
    for v in g.graph.input.iter_mut().chain(g.graph.output.iter_mut()) {
        let cache = [&io.past_key, &io.past_value, &io.present_key, &io.present_value]
            .iter()
            .any(|p| v.name.starts_with(p.as_str()));
        if let Some(t) = v.r#type.as_mut().and_then(|t| t.tensor_type.as_mut())
            && cache
        {
            t.elem_type = dtype::FLOAT16;
        }
    }
    declare_counts(&mut g);
    let (cos, sin) = rope_initializers(&mut g, cfg)?;
    // The input embedding: one node, the token's row plus its features' rows.
    let (eshape, edata) = get(w, "embed.weight")?;
    let emb = g.init_f32("embed.weight", eshape, edata);
    let feat = if cfg.features {
        let (fshape, fdata) = get(w, "feat.weight")?;
        g.init_f32("feat.weight", fshape, fdata)
    } else {
        String::new()
    };
    let feat_in = if cfg.features { FEATURE_INPUT } else { "" };
    let mut x = g.fresh("embedded");
    g.op_outs(
        layer_op::DOMAIN,
        layer_op::EMBED_OP,
        &[&io.input_ids, feat_in, &emb, &feat],
        &[&x],
        vec![],
    );
    for i in 0..cfg.layers {
        let p = format!("blocks.{i}");
        let past_k = format!("{}{i}", io.past_key);
        let past_v = format!("{}{i}", io.past_value);
        let [ln1w, ln1b] = norm(&mut g, w, &format!("{p}.ln1"))?;
        let qkv = int8_linear(&mut g, w, &format!("{p}.qkv"))?;
        let proj = int8_linear(&mut g, w, &format!("{p}.proj"))?;
        let [ln2w, ln2b] = norm(&mut g, w, &format!("{p}.ln2"))?;
        let fc1 = int8_linear(&mut g, w, &format!("{p}.fc1"))?;
        let fc2 = int8_linear(&mut g, w, &format!("{p}.fc2"))?;
        let mut inputs: Vec<&str> = vec![&x, &past_k, &past_v, SEQLENS_INPUT, TOTAL_LEN_INPUT, &ln1w, &ln1b];
        inputs.extend(qkv.iter().map(String::as_str));
        inputs.extend(proj.iter().map(String::as_str));
        inputs.extend([ln2w.as_str(), ln2b.as_str()]);
        inputs.extend(fc1.iter().map(String::as_str));
        inputs.extend(fc2.iter().map(String::as_str));
        inputs.extend([cos.as_str(), sin.as_str()]);
        debug_assert_eq!(inputs.len(), layer_op::INPUTS);
        let out = g.fresh("layer");
        g.op_outs(
            layer_op::DOMAIN,
            layer_op::OP,
            &inputs,
            &[
                &out,
                &format!("{}{i}", io.present_key),
                &format!("{}{i}", io.present_value),
            ],
            vec![
                ("num_heads", Attr::I(cfg.heads as i64)),
                ("epsilon", Attr::F(LN_EPS as f32)),
            ],
        );
        x = out;
    }
    // The head: the final norm and the tied projection (the kernel quantizes the embedding).
    let [lnw, lnb] = norm(&mut g, w, "ln_f")?;
    let [rw, rb] = if cfg.relative_pitch {
        relative_initializers(&mut g, w)?
    } else {
        [String::new(), String::new()]
    };
    let rel_feats = if cfg.relative_pitch { FEATURE_INPUT } else { "" };
    g.op_outs(
        layer_op::DOMAIN,
        layer_op::HEAD_OP,
        &[&x, &lnw, &lnb, &emb, rel_feats, &rw, &rb],
        &[&io.logits],
        vec![("epsilon", Attr::F(LN_EPS as f32))],
    );
    let mut m = model_proto(g, cfg, false)?;
    m.opset_import.push(OperatorSetIdProto {
        domain: layer_op::DOMAIN.into(),
        version: 1,
    });
    Ok(m)
}
