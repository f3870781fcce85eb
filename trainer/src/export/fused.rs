//! The fused decoder graph: the same network as [`super::build_legacy_model`] in a few ONNX Runtime
//! contrib operators, with the KV cache kept in place between steps.
//!
//! Per layer it is eight nodes where the primitive graph takes about 45:
//!
//! ```text
//! a        = SkipLayerNormalization(x, previous MLP output)   (LayerNormalization in layer 0)
//! qkv      = DynamicQuantizeMatMul / MatMul+Add               (one packed projection)
//! ctx, k,v = GroupQueryAttention(qkv, past_k, past_v, seqlens_k, total_sequence_length, cos, sin)
//!            rotary positions inside, causal, scale 1/sqrt(head_dim), heads = kv heads
//! o        = projection;  m, x = SkipLayerNormalization(x, o)
//! m        = fc1 -> Gelu -> fc2
//! ```
//!
//! Inputs beside the ids and features: `past_key_i` / `past_value_i` `[batch, heads, capacity,
//! head_dim]`, `seqlens_k` int32 `[batch]` (tokens in the cache after this pass, minus one) and
//! `total_sequence_length` int32 `[1]`. When a caller binds the same buffer to `past_*` and
//! `present_*` (as [`models::runtime::OnnxModel`] does), GroupQueryAttention writes only the new
//! rows, so a step never copies the cache; rolling back is lowering `seqlens_k`.
//!
//! GroupQueryAttention's rotary needs a head width that is a multiple of 16; other shapes export the
//! primitive graph ([`supports`]).

use models::package::OnnxIo;
use models::runtime::{SEQLENS_INPUT, TOTAL_LEN_INPUT};

use super::{
    Precision, Weights, declare_counts, declare_io, embed_input, get, layer_norm, linear, lm_head, model_proto,
    rope_initializers,
};
use crate::model::{LN_EPS, ModelConfig};
use crate::onnx::{Attr, GraphBuilder, ModelProto};

/// Whether ONNX Runtime's fused attention can run a model of this shape.
pub fn supports(cfg: &ModelConfig) -> bool {
    cfg.head_dim().is_multiple_of(16)
}

/// `x + skip`, then LayerNorm `name`: returns (normalized, sum).
fn skip_layer_norm(
    g: &mut GraphBuilder,
    w: &Weights,
    x: &str,
    skip: &str,
    name: &str,
) -> anyhow::Result<(String, String)> {
    let (_, gw) = get(w, &format!("{name}.weight"))?;
    let (_, gb) = get(w, &format!("{name}.bias"))?;
    let d = gw.len();
    let wn = g.init_f32(&format!("{name}.weight"), &[d], gw);
    let bn = g.init_f32(&format!("{name}.bias"), &[d], gb);
    let (out, sum) = (g.fresh("skipln"), g.fresh("residual"));
    g.op_outs(
        "com.microsoft",
        "SkipLayerNormalization",
        &[x, skip, &wn, &bn],
        &[&out, "", "", &sum],
        vec![("epsilon", Attr::F(LN_EPS as f32))],
    );
    Ok((out, sum))
}

/// Builds the fused ONNX model of a transformer with weights `w` (see the module doc).
pub fn build_fused_model(cfg: &ModelConfig, w: &Weights, prec: Precision) -> anyhow::Result<ModelProto> {
    cfg.validate()?;
    anyhow::ensure!(
        supports(cfg),
        "the fused graph needs a head width that is a multiple of 16 (this model's is {})",
        cfg.head_dim()
    );
    let io = OnnxIo::default();
    let (h, hd) = (cfg.heads, cfg.head_dim());
    let mut g = GraphBuilder::default();
    g.graph.name = "sideman_transformer_fused".into();
    declare_io(&mut g, cfg, ("capacity", "capacity"));
    declare_counts(&mut g);
    let (cos, sin) = rope_initializers(&mut g, cfg)?;

    let (emb, mut x) = embed_input(&mut g, w, cfg)?;
    // The MLP output not yet added to the residual stream (it joins it in the next norm).
    let mut pending: Option<String> = None;
    for i in 0..cfg.layers {
        let p = format!("blocks.{i}");
        let a = match pending.take() {
            None => layer_norm(&mut g, w, &x, &format!("{p}.ln1"))?,
            Some(m) => {
                let (a, sum) = skip_layer_norm(&mut g, w, &x, &m, &format!("{p}.ln1"))?;
                x = sum;
                a
            }
        };
        let qkv = linear(&mut g, w, &a, &format!("{p}.qkv"), prec)?;
        let ctx = g.fresh("attn");
        g.op_outs(
            "com.microsoft",
            "GroupQueryAttention",
            &[
                &qkv,
                "",
                "",
                &format!("{}{i}", io.past_key),
                &format!("{}{i}", io.past_value),
                SEQLENS_INPUT,
                TOTAL_LEN_INPUT,
                &cos,
                &sin,
            ],
            &[
                &ctx,
                &format!("{}{i}", io.present_key),
                &format!("{}{i}", io.present_value),
            ],
            vec![
                ("num_heads", Attr::I(h as i64)),
                ("kv_num_heads", Attr::I(h as i64)),
                ("do_rotary", Attr::I(1)),
                ("rotary_interleaved", Attr::I(0)),
                ("scale", Attr::F((1.0 / (hd as f64).sqrt()) as f32)),
            ],
        );
        let o = linear(&mut g, w, &ctx, &format!("{p}.proj"), prec)?;
        let (m, sum) = skip_layer_norm(&mut g, w, &x, &o, &format!("{p}.ln2"))?;
        x = sum;
        let m = linear(&mut g, w, &m, &format!("{p}.fc1"), prec)?;
        let m = g.op("Gelu", &[&m], vec![]);
        pending = Some(linear(&mut g, w, &m, &format!("{p}.fc2"), prec)?);
    }
    let xf = match pending {
        Some(m) => skip_layer_norm(&mut g, w, &x, &m, "ln_f")?.0,
        None => layer_norm(&mut g, w, &x, "ln_f")?,
    };
    lm_head(&mut g, w, cfg, &xf, &emb)?;
    model_proto(g, cfg, true)
}
