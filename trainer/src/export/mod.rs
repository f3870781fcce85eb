//! `trainer export`: a trained run to a model package, writing ONNX ourselves (see [`crate::onnx`]).
//!
//! Two graphs of the same network ([`Graph`]): the fused one ([`fused`], the default wherever the
//! head width allows), and the primitive one below, which mirrors
//! [`crate::model::Transformer::forward_cached`] op for op (opset 21, plus
//! `com.microsoft.DynamicQuantizeMatMul` in the int8 variant):
//!
//! ```text
//! inputs:  input_ids int64 [batch, seq]; past_key_i / past_value_i float [batch, heads, past, head_dim]
//! outputs: logits float [batch, seq, vocab]; present_key_i / present_value_i [batch, heads, past + seq, head_dim]
//! ```
//!
//! Positions are `past .. past + seq` (read from the shape of `past_key_0`), so the runtime rolls back
//! by truncating the cache. int8 quantizes every Linear weight per output column, symmetric, with
//! activations quantized on the fly by ONNX Runtime; the tied output projection stays fp32 (see
//! [`lm_head`]). Both graphs
//! name their weights alike, so [`read_onnx_weights`] reads either.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::Context;
use candle_core::{Device, Tensor};
use models::Role;
use models::package::{Manifest, ModelKind, OnnxIo, Package};
use models::tokenizer::features::{
    CHORD_ROWS, FEATURE_INPUT, RELATIVE_CLASSES, RELATIVE_INTERVALS, STYLE_FEATURES, chord_root, relative_class,
};
use models::tokenizer::{Token, Vocab};

use crate::model::{LN_EPS, ModelConfig, rope_tables};
use crate::onnx::{Attr, Dim, GraphBuilder, ModelProto, OperatorSetIdProto, StringStringEntryProto, dtype, value_info};

pub mod fused;
pub mod kernel;

/// ONNX opset of the default domain.
pub const OPSET: i64 = 21;
/// ONNX IR version written.
pub const IR_VERSION: i64 = 10;
/// Metadata key holding the [`ModelConfig`] as JSON.
pub const CONFIG_KEY: &str = "sideman.model_config";
/// File names inside a package.
pub const FP32_FILE: &str = "model.onnx";
/// int8 variant.
pub const INT8_FILE: &str = "model.int8.onnx";

/// Weight precision of an exported graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// float32 everywhere.
    Fp32,
    /// int8 weights for every Linear layer's MatMul (DynamicQuantizeMatMul); the output
    /// projection stays fp32.
    Int8,
}

/// Parameters by name as flat f32 with their shapes.
pub type Weights = HashMap<String, (Vec<usize>, Vec<f32>)>;

/// Flattens candle tensors into [`Weights`].
pub fn weights_of(params: &HashMap<String, Tensor>) -> anyhow::Result<Weights> {
    let mut w = HashMap::new();
    for (n, t) in params {
        let t = t.to_dtype(candle_core::DType::F32)?;
        w.insert(n.clone(), (t.dims().to_vec(), t.flatten_all()?.to_vec1::<f32>()?));
    }
    Ok(w)
}

fn get<'a>(w: &'a Weights, name: &str) -> anyhow::Result<&'a (Vec<usize>, Vec<f32>)> {
    w.get(name).with_context(|| format!("weights lack {name}"))
}

/// Transposes a row-major `[r, c]` matrix.
fn transpose(data: &[f32], r: usize, c: usize) -> Vec<f32> {
    let mut out = vec![0f32; r * c];
    for i in 0..r {
        for j in 0..c {
            out[j * r + i] = data[i * c + j];
        }
    }
    out
}

/// Symmetric per-column int8 quantization of a row-major `[k, n]` matrix: (values, scales).
pub fn quantize_columns(data: &[f32], k: usize, n: usize) -> (Vec<i8>, Vec<f32>) {
    let mut scales = vec![0f32; n];
    for i in 0..k {
        for j in 0..n {
            scales[j] = scales[j].max(data[i * n + j].abs());
        }
    }
    for s in &mut scales {
        *s = if *s > 0.0 { *s / 127.0 } else { 1.0 };
    }
    let q = (0..k * n)
        .map(|idx| (data[idx] / scales[idx % n]).round().clamp(-127.0, 127.0) as i8)
        .collect();
    (q, scales)
}

/// `x @ W^T + b` for the candle Linear `name` (weight `[out, in]`).
fn linear(g: &mut GraphBuilder, w: &Weights, x: &str, name: &str, prec: Precision) -> anyhow::Result<String> {
    let (shape, data) = get(w, &format!("{name}.weight"))?;
    let (out, inp) = (shape[0], shape[1]);
    let wt = transpose(data, out, inp); // [in, out]
    let (_, bias) = get(w, &format!("{name}.bias"))?;
    let b = g.init_f32(&format!("{name}.bias"), &[out], bias);
    Ok(match prec {
        Precision::Fp32 => {
            let wn = g.init_f32(&format!("{name}.weight_t"), &[inp, out], &wt);
            let m = g.op("MatMul", &[x, &wn], vec![]);
            g.op("Add", &[&m, &b], vec![])
        }
        Precision::Int8 => {
            let (q, s) = quantize_columns(&wt, inp, out);
            let qn = g.init_i8(&format!("{name}.weight_q"), &[inp, out], &q);
            let sn = g.init_f32(&format!("{name}.weight_scale"), &[out], &s);
            let zn = g.init_i8(&format!("{name}.weight_zp"), &[out], &vec![0i8; out]);
            g.op_in(
                "com.microsoft",
                "DynamicQuantizeMatMul",
                &[x, &qn, &sn, &zn, &b],
                vec![],
            )
        }
    })
}

fn layer_norm(g: &mut GraphBuilder, w: &Weights, x: &str, name: &str) -> anyhow::Result<String> {
    let (_, gw) = get(w, &format!("{name}.weight"))?;
    let (_, gb) = get(w, &format!("{name}.bias"))?;
    let d = gw.len();
    let wn = g.init_f32(&format!("{name}.weight"), &[d], gw);
    let bn = g.init_f32(&format!("{name}.bias"), &[d], gb);
    Ok(g.op(
        "LayerNormalization",
        &[x, &wn, &bn],
        vec![("axis", Attr::I(-1)), ("epsilon", Attr::F(LN_EPS as f32))],
    ))
}

fn rope(g: &mut GraphBuilder, x: &str, cos: &str, sin: &str, c: &Consts) -> String {
    let x1 = g.op("Slice", &[x, &c.zero1, &c.half1, &c.axis3], vec![]);
    let x2 = g.op("Slice", &[x, &c.half1, &c.hd1, &c.axis3], vec![]);
    let a = g.op("Mul", &[&x1, cos], vec![]);
    let b = g.op("Mul", &[&x2, sin], vec![]);
    let r1 = g.op("Sub", &[&a, &b], vec![]);
    let a = g.op("Mul", &[&x2, cos], vec![]);
    let b = g.op("Mul", &[&x1, sin], vec![]);
    let r2 = g.op("Add", &[&a, &b], vec![]);
    g.op("Concat", &[&r1, &r2], vec![("axis", Attr::I(3))])
}

struct Consts {
    zero1: String,
    half1: String,
    hd1: String,
    axis3: String,
}

/// What the runtime needs to know of a graph of this model, with a cache of `context_len` tokens.
pub fn spec_of(cfg: &ModelConfig, context_len: usize) -> models::runtime::TransformerSpec {
    models::runtime::TransformerSpec {
        layers: cfg.layers,
        heads: cfg.heads,
        head_dim: cfg.head_dim(),
        context_len,
        io: OnnxIo::default(),
    }
}

/// Which ONNX graph an export writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Graph {
    /// Primitive ONNX operators, the KV cache concatenated into new `present_*` tensors each pass
    /// (every model shape; the graph of packages exported before the fused one).
    Legacy,
    /// ONNX Runtime's fused decoder operators with the cache updated in place (`export/fused.rs`).
    Fused,
    /// Sideman's own decoder-layer operator, one node a layer, in the int8 file; the fp32 file is
    /// the fused graph (`export/kernel.rs`).
    Kernel,
}

impl Graph {
    /// The fastest graph this model shape can use.
    pub fn best_for(cfg: &ModelConfig) -> Graph {
        if kernel::supports(cfg) {
            Graph::Kernel
        } else {
            Graph::Legacy
        }
    }
}

/// Builds the ONNX model of a transformer with weights `w`, in the fastest graph its shape allows.
pub fn build_model(cfg: &ModelConfig, w: &Weights, prec: Precision) -> anyhow::Result<ModelProto> {
    build_graph(cfg, w, prec, Graph::best_for(cfg))
}

/// Builds the ONNX model of a transformer with weights `w` in the given graph.
pub fn build_graph(cfg: &ModelConfig, w: &Weights, prec: Precision, graph: Graph) -> anyhow::Result<ModelProto> {
    match graph {
        Graph::Legacy => build_legacy_model(cfg, w, prec),
        Graph::Fused => fused::build_fused_model(cfg, w, prec),
        Graph::Kernel => kernel::build_kernel_model(cfg, w, prec),
    }
}

/// The rotary tables `rope.cos` / `rope.sin`, `[positions, head_dim / 2]`, as initializers: their
/// names.
fn rope_initializers(g: &mut GraphBuilder, cfg: &ModelConfig) -> anyhow::Result<(String, String)> {
    let (cos, sin) = rope_tables(cfg, cfg.max_positions(), &Device::Cpu)?;
    let dims = [cfg.max_positions(), cfg.head_dim() / 2];
    Ok((
        g.init_f32("rope.cos", &dims, &cos.flatten_all()?.to_vec1::<f32>()?),
        g.init_f32("rope.sin", &dims, &sin.flatten_all()?.to_vec1::<f32>()?),
    ))
}

/// The input embedding: the token rows plus, when the model takes context features, the sum of
/// their rows (Gather -> `[b, n, f, d]`, ReduceSum over axis 2). Returns (the embedding
/// initializer's name, for the tied output projection; the embedded input).
fn embed_input(g: &mut GraphBuilder, w: &Weights, cfg: &ModelConfig) -> anyhow::Result<(String, String)> {
    let io = OnnxIo::default();
    let (eshape, edata) = get(w, "embed.weight")?;
    let emb = g.init_f32("embed.weight", eshape, edata);
    let mut x = g.op("Gather", &[&emb, &io.input_ids], vec![("axis", Attr::I(0))]);
    if cfg.features {
        let (fshape, fdata) = get(w, "feat.weight")?;
        let ft = g.init_f32("feat.weight", fshape, fdata);
        let fe = g.op("Gather", &[&ft, FEATURE_INPUT], vec![("axis", Attr::I(0))]);
        let ax2 = g.init_i64("c.ax2", &[1], &[2]);
        let fs = g.op("ReduceSum", &[&fe, &ax2], vec![("keepdims", Attr::I(0))]);
        x = g.op("Add", &[&x, &fs], vec![]);
    }
    Ok((emb, x))
}

/// Declares a transformer graph's inputs (ids, features when the model takes them, each layer's
/// `past_*`) and outputs (logits, each layer's `present_*`). `cache` names the sequence axis of the
/// past and present caches: `(past, total)` for the primitive graph, which grows them, one name for
/// both where they are one buffer.
fn declare_io(g: &mut GraphBuilder, cfg: &ModelConfig, cache: (&'static str, &'static str)) {
    let io = OnnxIo::default();
    let (h, hd) = (cfg.heads as i64, cfg.head_dim() as i64);
    g.graph.input.push(value_info(
        &io.input_ids,
        dtype::INT64,
        &[Dim::Sym("batch"), Dim::Sym("seq")],
    ));
    if cfg.features {
        g.graph.input.push(value_info(
            FEATURE_INPUT,
            dtype::INT64,
            &[
                Dim::Sym("batch"),
                Dim::Sym("seq"),
                Dim::Fixed(cfg.feature_count() as i64),
            ],
        ));
    }
    let cache_dims = |len| [Dim::Sym("batch"), Dim::Fixed(h), Dim::Sym(len), Dim::Fixed(hd)];
    for i in 0..cfg.layers {
        for p in [&io.past_key, &io.past_value] {
            g.graph
                .input
                .push(value_info(&format!("{p}{i}"), dtype::FLOAT, &cache_dims(cache.0)));
        }
    }
    g.graph.output.push(value_info(
        &io.logits,
        dtype::FLOAT,
        &[Dim::Sym("batch"), Dim::Sym("seq"), Dim::Fixed(cfg.vocab as i64)],
    ));
    for i in 0..cfg.layers {
        for p in [&io.present_key, &io.present_value] {
            g.graph
                .output
                .push(value_info(&format!("{p}{i}"), dtype::FLOAT, &cache_dims(cache.1)));
        }
    }
}

/// Declares the in-place graphs' count inputs: `seqlens_k` (tokens in the cache after the pass,
/// minus one) and `total_sequence_length`.
fn declare_counts(g: &mut GraphBuilder) {
    g.graph.input.push(value_info(
        models::runtime::SEQLENS_INPUT,
        dtype::INT32,
        &[Dim::Sym("batch")],
    ));
    g.graph.input.push(value_info(
        models::runtime::TOTAL_LEN_INPUT,
        dtype::INT32,
        &[Dim::Fixed(1)],
    ));
}

/// Builds the primitive-operator ONNX model of a transformer with weights `w` (module doc).
pub fn build_legacy_model(cfg: &ModelConfig, w: &Weights, prec: Precision) -> anyhow::Result<ModelProto> {
    cfg.validate()?;
    let io = OnnxIo::default();
    let (h, hd, d) = (cfg.heads, cfg.head_dim(), cfg.d_model);
    let mut g = GraphBuilder::default();
    g.graph.name = "sideman_transformer".into();
    declare_io(&mut g, cfg, ("past", "total"));
    // Constants.
    let i0 = g.init_i64("c.i0", &[], &[0]);
    let i1 = g.init_i64("c.i1", &[], &[1]);
    let i2 = g.init_i64("c.i2", &[], &[2]);
    let c = Consts {
        zero1: g.init_i64("c.zero1", &[1], &[0]),
        half1: g.init_i64("c.half1", &[1], &[(hd / 2) as i64]),
        hd1: g.init_i64("c.hd1", &[1], &[hd as i64]),
        axis3: g.init_i64("c.axis3", &[1], &[3]),
    };
    let ax0 = g.init_i64("c.ax0", &[1], &[0]);
    let ax1 = g.init_i64("c.ax1", &[1], &[1]);
    let bnhd = g.init_i64("c.bnhd", &[4], &[0, 0, h as i64, hd as i64]);
    let bnd = g.init_i64("c.bnd", &[3], &[0, 0, d as i64]);
    let f0 = g.init_f32("c.f0", &[], &[0.0]);
    let fneg = g.init_f32("c.fneginf", &[], &[f32::NEG_INFINITY]);
    let scale = g.init_f32("c.scale", &[], &[(1.0 / (hd as f64).sqrt()) as f32]);
    let (cos_t, sin_t) = rope_initializers(&mut g, cfg)?;

    // Positions and the causal mask.
    let ids_shape = g.op("Shape", &[&io.input_ids], vec![]);
    let n = g.op("Gather", &[&ids_shape, &i1], vec![("axis", Attr::I(0))]);
    let pk_shape = g.op("Shape", &[&format!("{}0", io.past_key)], vec![]);
    let past = g.op("Gather", &[&pk_shape, &i2], vec![("axis", Attr::I(0))]);
    let total = g.op("Add", &[&past, &n], vec![]);
    let positions = g.op("Range", &[&past, &total, &i1], vec![]);
    let keypos = g.op("Range", &[&i0, &total, &i1], vec![]);
    let cos = g.op("Gather", &[&cos_t, &positions], vec![("axis", Attr::I(0))]);
    let sin = g.op("Gather", &[&sin_t, &positions], vec![("axis", Attr::I(0))]);
    let qcol = g.op("Unsqueeze", &[&positions, &ax1], vec![]);
    let krow = g.op("Unsqueeze", &[&keypos, &ax0], vec![]);
    let allowed = g.op("LessOrEqual", &[&krow, &qcol], vec![]);
    let mask = g.op("Where", &[&allowed, &f0, &fneg], vec![]);

    let (emb, mut x) = embed_input(&mut g, w, cfg)?;
    for i in 0..cfg.layers {
        let p = format!("blocks.{i}");
        let a = layer_norm(&mut g, w, &x, &format!("{p}.ln1"))?;
        let qkv = linear(&mut g, w, &a, &format!("{p}.qkv"), prec)?;
        let (q, k, vv) = (g.fresh("q"), g.fresh("k"), g.fresh("v"));
        g.op_outs(
            "",
            "Split",
            &[&qkv],
            &[&q, &k, &vv],
            vec![("axis", Attr::I(2)), ("num_outputs", Attr::I(3))],
        );
        let heads = |g: &mut GraphBuilder, t: &str| {
            let r = g.op("Reshape", &[t, &bnhd], vec![]);
            g.op("Transpose", &[&r], vec![("perm", Attr::Is(vec![0, 2, 1, 3]))])
        };
        let q = heads(&mut g, &q);
        let k = heads(&mut g, &k);
        let vv = heads(&mut g, &vv);
        let q = rope(&mut g, &q, &cos, &sin, &c);
        let k = rope(&mut g, &k, &cos, &sin, &c);
        let pk = format!("{}{i}", io.present_key);
        let pv = format!("{}{i}", io.present_value);
        g.op_outs(
            "",
            "Concat",
            &[&format!("{}{i}", io.past_key), &k],
            &[&pk],
            vec![("axis", Attr::I(2))],
        );
        g.op_outs(
            "",
            "Concat",
            &[&format!("{}{i}", io.past_value), &vv],
            &[&pv],
            vec![("axis", Attr::I(2))],
        );
        let kt = g.op("Transpose", &[&pk], vec![("perm", Attr::Is(vec![0, 1, 3, 2]))]);
        let s = g.op("MatMul", &[&q, &kt], vec![]);
        let s = g.op("Mul", &[&s, &scale], vec![]);
        let s = g.op("Add", &[&s, &mask], vec![]);
        let pr = g.op("Softmax", &[&s], vec![("axis", Attr::I(-1))]);
        let ctx = g.op("MatMul", &[&pr, &pv], vec![]);
        let ctx = g.op("Transpose", &[&ctx], vec![("perm", Attr::Is(vec![0, 2, 1, 3]))]);
        let ctx = g.op("Reshape", &[&ctx, &bnd], vec![]);
        let o = linear(&mut g, w, &ctx, &format!("{p}.proj"), prec)?;
        x = g.op("Add", &[&x, &o], vec![]);
        let m = layer_norm(&mut g, w, &x, &format!("{p}.ln2"))?;
        let m = linear(&mut g, w, &m, &format!("{p}.fc1"), prec)?;
        let m = g.op("Gelu", &[&m], vec![]);
        let m = linear(&mut g, w, &m, &format!("{p}.fc2"), prec)?;
        x = g.op("Add", &[&x, &m], vec![]);
    }
    let x = layer_norm(&mut g, w, &x, "ln_f")?;
    lm_head(&mut g, w, cfg, &x, &emb)?;
    model_proto(g, cfg, prec == Precision::Int8)
}

/// The tied output projection: `x` times the embedding's transpose, fp32 in both variants. In the
/// int8 graph the quantized projection was most of the graph's drift from its fp32 network: for
/// the drums (width 128) top-1 agreement 89.7 % and mean KL 0.0079 with it quantized, 96.6 % and
/// 0.0015 with it in fp32 (models/README.md, "The int8 graph plays louder than its network"),
/// and at this size an fp32 MatMul runs as fast as the int8 one.
///
/// With the relative-pitch head ([`ModelConfig::relative_pitch`]) the projection's logits get the
/// head's values, in primitive operators: `r = x rel^T + b` `[b, n, 12]`, padded with a zero for
/// "no chord"; each row's class table (the root of the chord feature, then `(p - root) mod 12`
/// per pitch, [`models::tokenizer::features::relative_class`]) picks `r` for each of the 128
/// pitches (GatherElements), which pad to the vocabulary's width at the `PITCH` ids and add.
fn lm_head(g: &mut GraphBuilder, w: &Weights, cfg: &ModelConfig, x: &str, emb: &str) -> anyhow::Result<()> {
    let io = OnnxIo::default();
    let et = g.op("Transpose", &[emb], vec![("perm", Attr::Is(vec![1, 0]))]);
    if !cfg.relative_pitch {
        g.op_outs("", "MatMul", &[x, &et], &[&io.logits], vec![]);
        return Ok(());
    }
    let base = g.op("MatMul", &[x, &et], vec![]);
    let [rw, rb] = relative_initializers(g, w)?;
    let rt = g.op("Transpose", &[&rw], vec![("perm", Attr::Is(vec![1, 0]))]);
    let r = g.op("MatMul", &[x, &rt], vec![]);
    let r = g.op("Add", &[&r, &rb], vec![]);
    let pad13 = g.init_i64("c.rel_pad", &[6], &[0, 0, 0, 0, 0, 1]);
    let r = g.op("Pad", &[&r, &pad13], vec![]);
    let i0 = g.init_i64("c.rel_i0", &[], &[0]);
    let chord = g.op("Gather", &[FEATURE_INPUT, &i0], vec![("axis", Attr::I(2))]);
    // Each chord feature id's root, or the no-chord row (the last).
    let none = RELATIVE_INTERVALS as u8;
    let roots: Vec<i64> = (0..CHORD_ROWS as u32)
        .map(|c| chord_root(c).unwrap_or(none) as i64)
        .collect();
    let roots = g.init_i64("c.rel_roots", &[CHORD_ROWS], &roots);
    let root = g.op("Gather", &[&roots, &chord], vec![("axis", Attr::I(0))]);
    // Row `root` (the last: no chord) of the class table, one class per pitch.
    let classes: Vec<i64> = (0..=none)
        .flat_map(|root| {
            // A chord id with this root (any quality), or none.
            let chord = if root == none { 0 } else { 1 + root as u32 * 16 };
            (0..128u8).map(move |p| relative_class(chord, p) as i64)
        })
        .collect();
    let classes = g.init_i64("c.rel_classes", &[RELATIVE_CLASSES, 128], &classes);
    let idx = g.op("Gather", &[&classes, &root], vec![("axis", Attr::I(0))]);
    let add = g.op("GatherElements", &[&r, &idx], vec![("axis", Attr::I(2))]);
    let pb = Vocab::id(Token::Pitch(0)) as i64;
    let after = cfg.vocab as i64 - pb - 128;
    let padv = g.init_i64("c.rel_padv", &[6], &[0, 0, pb, 0, 0, after]);
    let add = g.op("Pad", &[&add, &padv], vec![]);
    g.op_outs("", "Add", &[&base, &add], &[&io.logits], vec![]);
    Ok(())
}

/// The relative-pitch head's weight `[12, d]` and bias `[12]` as fp32 initializers (every
/// precision: twelve products a row).
fn relative_initializers(g: &mut GraphBuilder, w: &Weights) -> anyhow::Result<[String; 2]> {
    let (ws, wd) = get(w, "rel.weight")?;
    let (_, bd) = get(w, "rel.bias")?;
    Ok([
        g.init_f32("rel.weight", ws, wd),
        g.init_f32("rel.bias", &[bd.len()], bd),
    ])
}

/// Wraps a built graph in a model: opsets (`com.microsoft` when `contrib`) and the config.
fn model_proto(g: GraphBuilder, cfg: &ModelConfig, contrib: bool) -> anyhow::Result<ModelProto> {
    let mut opset_import = vec![OperatorSetIdProto {
        domain: String::new(),
        version: OPSET,
    }];
    if contrib {
        opset_import.push(OperatorSetIdProto {
            domain: "com.microsoft".into(),
            version: 1,
        });
    }
    Ok(ModelProto {
        ir_version: IR_VERSION,
        producer_name: "sideman-trainer".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        domain: "org.sideman".into(),
        model_version: 1,
        doc_string: "Sideman decoder-only transformer with KV cache".into(),
        graph: Some(g.graph),
        opset_import,
        metadata_props: vec![StringStringEntryProto {
            key: CONFIG_KEY.into(),
            value: serde_json::to_string(cfg)?,
        }],
    })
}

/// Reads the model shape and parameters back from a package (a folder or `builtin:<id>`) for
/// fine-tuning, with the package's vocabulary: from its fp32 graph when it has one, else from the
/// int8 graph, dequantized (the shipped defaults hold only int8 graphs; their per-column scales
/// are in the graph, so the weights come back within half a quantization step).
pub fn read_package_weights(reference: &str) -> anyhow::Result<(ModelConfig, HashMap<String, Tensor>, Vocab)> {
    let pkg = Package::open(reference).with_context(|| format!("cannot open the model {reference}"))?;
    let file = match &pkg.manifest.model {
        ModelKind::Transformer { fp32: Some(f), .. } => f.clone(),
        ModelKind::Transformer { int8: Some(f), .. } => f.clone(),
        _ => anyhow::bail!("{reference}: fine-tuning needs a transformer package (this one is a Markov model)"),
    };
    let bytes = pkg.read(&file)?.into_owned();
    let (cfg, params) = read_onnx_weights(&bytes).with_context(|| format!("{reference}: reading {file}"))?;
    Ok((cfg, params, pkg.manifest.vocab.clone()))
}

/// Parameters of a graph written by [`build_model`] (fp32, or int8 dequantized), as candle
/// tensors by variable name.
pub fn read_onnx_weights(bytes: &[u8]) -> anyhow::Result<(ModelConfig, HashMap<String, Tensor>)> {
    let m = crate::onnx::decode(bytes)?;
    let cfg: ModelConfig = serde_json::from_str(
        &m.metadata_props
            .iter()
            .find(|p| p.key == CONFIG_KEY)
            .context("not a Sideman model (no config)")?
            .value,
    )?;
    let graph = m.graph.context("no graph")?;
    let mut out = HashMap::new();
    let by_name: HashMap<&str, &crate::onnx::TensorProto> =
        graph.initializer.iter().map(|t| (t.name.as_str(), t)).collect();
    for t in &graph.initializer {
        let keep = t.name.starts_with("blocks.")
            || t.name.starts_with("embed.")
            || t.name.starts_with("feat.")
            || t.name.starts_with("rel.")
            || t.name.starts_with("ln_f.");
        if !keep {
            continue;
        }
        let dims: Vec<usize> = t.dims.iter().map(|&d| d as usize).collect();
        if let Some(base) = t.name.strip_suffix(".weight_q") {
            // int8 [in, out] with one scale per output column, symmetric (zero point 0).
            let scale_name = format!("{base}.weight_scale");
            let scales = by_name
                .get(scale_name.as_str())
                .and_then(|s| crate::onnx::tensor_f32(s))
                .with_context(|| format!("{} has no float {scale_name}", t.name))?;
            anyhow::ensure!(
                dims.len() == 2 && scales.len() == dims[1] && t.raw_data.len() == dims[0] * dims[1],
                "{}: shape {:?} does not match its scales",
                t.name,
                dims
            );
            let wt: Vec<f32> = t
                .raw_data
                .iter()
                .enumerate()
                .map(|(i, &b)| b as i8 as f32 * scales[i % dims[1]])
                .collect();
            let back = transpose(&wt, dims[0], dims[1]);
            out.insert(
                format!("{base}.weight"),
                Tensor::from_vec(back, (dims[1], dims[0]), &Device::Cpu)?,
            );
            continue;
        }
        if t.name.ends_with(".weight_scale") || t.name.ends_with(".weight_zp") {
            continue;
        }
        let data = crate::onnx::tensor_f32(t).with_context(|| format!("{} is not float", t.name))?;
        if let Some(base) = t.name.strip_suffix(".weight_t") {
            let back = transpose(&data, dims[0], dims[1]);
            out.insert(
                format!("{base}.weight"),
                Tensor::from_vec(back, (dims[1], dims[0]), &Device::Cpu)?,
            );
        } else {
            out.insert(t.name.clone(), Tensor::from_vec(data, dims, &Device::Cpu)?);
        }
    }
    Ok((cfg, out))
}

/// `trainer export` arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct ExportArgs {
    /// Run folder written by `trainer train`.
    pub run: PathBuf,
    /// Package folder to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Package name shown to the user.
    #[arg(long, default_value = "Sideman transformer")]
    pub name: String,
    /// Export the latest checkpoint instead of the best validation parameters.
    #[arg(long)]
    pub latest: bool,
    /// Skip the int8 variant.
    #[arg(long)]
    pub no_int8: bool,
}

/// The trainer's git revision (or the crate version when git is unavailable).
pub fn git_revision() -> String {
    std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| format!("v{}", env!("CARGO_PKG_VERSION")))
}

/// Writes a package from parameters.
#[allow(clippy::too_many_arguments)]
pub fn write_package(
    out: &Path,
    name: &str,
    cfg: &ModelConfig,
    params: &HashMap<String, Tensor>,
    vocab: &Vocab,
    info: &crate::train::RunInfo,
    metrics: BTreeMap<String, f64>,
    int8: bool,
) -> anyhow::Result<Manifest> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot write {}", out.display()))?;
    let w = weights_of(params)?;
    let fp32 = crate::onnx::encode(&build_model(cfg, &w, Precision::Fp32)?);
    crate::dataset::write_atomic(&out.join(FP32_FILE), &fp32)?;
    if int8 {
        let q = crate::onnx::encode(&build_model(cfg, &w, Precision::Int8)?);
        crate::dataset::write_atomic(&out.join(INT8_FILE), &q)?;
    }
    let mut manifest = Manifest {
        microtiming: info.microtiming,
        data: info.sources.clone(),
        metrics,
        trainer_revision: git_revision(),
        register: info.registers.clone(),
        meters: info.meters.clone(),
        no_input: info.no_input.clone(),
        no_chords: info.no_chords.clone(),
        given_kind: cfg.given_kind,
        ..Manifest::new(
            name,
            format!(
                "{} layers, width {}, {} heads, context {}{} ({} parameters)",
                cfg.layers,
                cfg.d_model,
                cfg.heads,
                cfg.context,
                match cfg.feature_count() {
                    0 => "",
                    2 => ", chord and bar position at every token",
                    3 => ", chord, bar position and tempo at every token",
                    STYLE_FEATURES => ", chord, bar position, tempo and style tags at every token",
                    _ => ", chord, bar position, tempo, style tags and harmonic rhythm at every token",
                },
                cfg.parameters()
            ),
            ModelKind::Transformer {
                fp32: Some(FP32_FILE.into()),
                int8: int8.then(|| INT8_FILE.into()),
                layers: cfg.layers as u32,
                heads: cfg.heads as u32,
                d_model: cfg.d_model as u32,
                context_len: cfg.context as u32,
                io: OnnxIo::default(),
            },
            vocab.clone(),
            if info.roles.is_empty() {
                Role::ALL.to_vec()
            } else {
                info.roles.clone()
            },
        )
    };
    Package::write(out, &mut manifest)?;
    Ok(manifest)
}

/// `trainer export`.
pub fn run(args: &ExportArgs) -> anyhow::Result<()> {
    let cfg = crate::train::TrainConfig::load(&args.run.join("config.toml"))?;
    let vocab = Vocab::from_json(&std::fs::read_to_string(args.run.join("vocab.json"))?)?;
    let info: crate::train::RunInfo = serde_json::from_str(&std::fs::read_to_string(args.run.join("run.json"))?)
        .with_context(|| format!("{}: run.json missing or invalid", args.run.display()))?;
    let params_path = if args.latest {
        let name = std::fs::read_to_string(args.run.join("checkpoints/latest"))?;
        args.run
            .join("checkpoints")
            .join(name.trim())
            .join("params.safetensors")
    } else {
        args.run.join("best.safetensors")
    };
    let params = candle_core::safetensors::load(&params_path, &Device::Cpu)
        .with_context(|| format!("reading {}", params_path.display()))?;
    let mut metrics = BTreeMap::new();
    if let Ok(s) = std::fs::read_to_string(args.run.join("summary.json"))
        && let Ok(s) = serde_json::from_str::<crate::train::Summary>(&s)
    {
        if let Some(v) = s.state.best_valid {
            metrics.insert("valid_loss".into(), v);
        }
        // The step whose parameters are exported (the best validation), and the run's length.
        let exported = if args.latest || s.state.best_step == 0 {
            s.state.step
        } else {
            s.state.best_step
        };
        metrics.insert("train_steps".into(), exported as f64);
        metrics.insert("run_steps".into(), s.state.step as f64);
        metrics.insert("train_tokens".into(), s.state.tokens as f64);
        metrics.insert("parameters".into(), s.parameters as f64);
    }
    let m = write_package(
        &args.out,
        &args.name,
        &cfg.model,
        &params,
        &vocab,
        &info,
        metrics,
        !args.no_int8,
    )?;
    let len = |f: &str| std::fs::metadata(args.out.join(f)).map(|m| m.len()).unwrap_or(0);
    for (f, sum) in &m.files {
        println!("{f}: {:.2} MB, sha256 {}", len(f) as f64 / 1e6, &sum[..16]);
    }
    let recipe = format!(
        "Exported by `trainer export` from the run `{}` ({} parameters); `trainer eval` adds the likelihood and the music report, `trainer ship --report` writes them here.",
        args.run.display(),
        if args.latest {
            "its latest"
        } else {
            "its best validation"
        }
    );
    let card = crate::ship::card(&m, len(INT8_FILE), Some(len(FP32_FILE)), &recipe);
    crate::dataset::write_atomic(&args.out.join("CARD.md"), card.as_bytes())?;
    println!("package written to {}", args.out.display());
    Ok(())
}
