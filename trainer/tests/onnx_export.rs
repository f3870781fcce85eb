//! ONNX export: parity with the candle forward through the project's own ONNX Runtime path,
//! KV-cache step decoding, rollback by truncation, int8 drift, and reading weights back; for the
//! three graphs (the primitive one, the fused one with its cache in place, and the kernel graph of
//! Sideman's own operators).

mod common;

use candle_core::{Device, Tensor};
use models::model::TokenModel;
use models::package::OnnxIo;
use models::runtime::{OnnxModel, TransformerSpec};
use models::tokenizer::VOCAB_SIZE;
use sideman_trainer::export::{Graph, Precision, build_graph, build_model, read_onnx_weights, weights_of};
use sideman_trainer::model::ModelConfig;

use common::*;

fn spec() -> TransformerSpec {
    spec_for(&tiny_config())
}

fn spec_for(c: &ModelConfig) -> TransformerSpec {
    TransformerSpec {
        layers: c.layers,
        heads: c.heads,
        head_dim: c.head_dim(),
        context_len: c.max_positions(),
        io: OnnxIo::default(),
    }
}

fn onnx(params: &std::collections::HashMap<String, Tensor>, prec: Precision) -> Vec<u8> {
    sideman_trainer::onnx::encode(&build_model(&tiny_config(), &weights_of(params).unwrap(), prec).unwrap())
}

fn onnx_graph(
    cfg: &ModelConfig,
    params: &std::collections::HashMap<String, Tensor>,
    prec: Precision,
    graph: Graph,
) -> Vec<u8> {
    sideman_trainer::onnx::encode(&build_graph(cfg, &weights_of(params).unwrap(), prec, graph).unwrap())
}

fn tensor_max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
}

fn max_abs(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

#[test]
fn fp32_matches_candle_and_kv_steps_match_a_full_pass() {
    fp32_parity(&tiny_config(), Graph::Legacy);
}

#[test]
fn the_fused_graph_matches_candle_and_its_cache_steps_and_rolls_back() {
    fp32_parity(&tiny_fused_config(), Graph::Fused);
}

#[test]
fn the_fused_graph_is_exported_where_the_shape_allows() {
    assert_eq!(Graph::best_for(&tiny_config()), Graph::Legacy);
    assert_eq!(Graph::best_for(&tiny_fused_config()), Graph::Kernel);
    let (_, params) = tiny_model_with(&tiny_fused_config(), 2);
    let w = weights_of(&params).unwrap();
    // The kernel graph: an embedding node, one node a layer and the head; its fp32 file is the
    // fused graph.
    let k = build_model(&tiny_fused_config(), &w, Precision::Int8).unwrap();
    let ops: Vec<&str> = k
        .graph
        .as_ref()
        .unwrap()
        .node
        .iter()
        .map(|n| n.op_type.as_str())
        .collect();
    let layers = tiny_fused_config().layers;
    assert_eq!(ops.len(), layers + 2, "{ops:?}");
    assert_eq!(ops[0], models::runtime::layer_op::EMBED_OP);
    assert!(ops[1..=layers].iter().all(|&o| o == models::runtime::layer_op::OP));
    assert_eq!(ops[layers + 1], models::runtime::layer_op::HEAD_OP);
    assert_eq!(
        build_model(&tiny_fused_config(), &w, Precision::Fp32).unwrap(),
        build_graph(&tiny_fused_config(), &w, Precision::Fp32, Graph::Fused).unwrap()
    );
    let m = build_graph(&tiny_fused_config(), &w, Precision::Int8, Graph::Fused).unwrap();
    let nodes = &m.graph.as_ref().unwrap().node;
    assert!(nodes.iter().any(|n| n.op_type == "GroupQueryAttention"));
    // No cache copies: no Concat, and the only Transposes are the output projections' (the tied
    // embedding's and the relative-pitch head's), of initializers (folded into constants when the
    // session loads).
    let inits: Vec<&str> = m
        .graph
        .as_ref()
        .unwrap()
        .initializer
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    assert!(!nodes.iter().any(|n| n.op_type == "Concat"));
    let transposes: Vec<_> = nodes.iter().filter(|n| n.op_type == "Transpose").collect();
    assert!(transposes.len() <= 2 && transposes.iter().all(|n| inits.contains(&n.input[0].as_str())));
    if skip_without_ort() {
        return;
    }
    for graph in [&m, &k] {
        let bytes = sideman_trainer::onnx::encode(graph);
        assert!(
            OnnxModel::from_bytes(&bytes, spec_for(&tiny_fused_config()))
                .unwrap()
                .is_fused()
        );
    }
    assert!(
        !OnnxModel::from_bytes(&onnx(&params_of_tiny(), Precision::Int8), spec())
            .unwrap()
            .is_fused()
    );
}

fn params_of_tiny() -> std::collections::HashMap<String, Tensor> {
    tiny_model(2).1
}

/// The graph's fp32 logits against candle's forward, step decoding against one pass, truncation
/// and re-feeding, and starting over from nothing.
fn fp32_parity(cfg: &ModelConfig, graph: Graph) {
    if skip_without_ort() {
        return;
    }
    let (model, params) = tiny_model_with(cfg, 7);
    let ids = synthetic_ids(1, 4);
    let ids = &ids[..ids.len().min(60)];
    let v = VOCAB_SIZE as usize;
    // candle reference
    let x = Tensor::new(ids, &Device::Cpu).unwrap().unsqueeze(0).unwrap();
    let reference = model
        .forward(&x)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();

    let bytes = onnx_graph(cfg, &params, Precision::Fp32, graph);
    let mut full = OnnxModel::from_bytes(&bytes, spec_for(cfg)).unwrap();
    assert_eq!(full.is_fused(), graph != Graph::Legacy);
    let all = full.forward(ids).unwrap();
    let d = max_abs(&all, &reference);
    assert!(d <= 1e-4, "fp32 ONNX ({graph:?}) vs candle: max abs diff {d}");

    // Prefill 5 tokens, then one token at a time.
    let mut step = OnnxModel::from_bytes(&bytes, spec_for(cfg)).unwrap();
    let mut rows = step.forward(&ids[..5]).unwrap();
    for &id in &ids[5..] {
        rows.extend(step.forward(&[id]).unwrap());
    }
    let d = max_abs(&rows, &all);
    assert!(d <= 1e-5, "KV-cache steps vs full pass: max abs diff {d}");

    // Roll back to 20 tokens, then feed the rest again: same logits.
    step.truncate(20);
    let mut out = vec![0f32; v];
    step.next_logits(&mut out).unwrap();
    let d = max_abs(&out, &all[19 * v..20 * v]);
    assert!(d <= 1e-5, "after truncation: {d}");
    let again = step.forward(&ids[20..]).unwrap();
    let d = max_abs(&again, &all[20 * v..]);
    assert!(d <= 1e-5, "after re-feeding: {d}");
    // Truncating to nothing and starting over works too.
    step.truncate(0);
    assert!(step.is_empty());
    assert!(step.next_logits(&mut out).is_err());
    let d = max_abs(&step.forward(&ids[..3]).unwrap(), &all[..3 * v]);
    assert!(d <= 1e-5, "from empty: {d}");
}

#[test]
fn int8_stays_close_to_fp32() {
    int8_drift(&tiny_config(), Graph::Legacy);
}

#[test]
fn fused_int8_stays_close_to_fp32() {
    int8_drift(&tiny_fused_config(), Graph::Fused);
}

#[test]
fn kernel_int8_stays_close_to_fp32() {
    int8_drift(&tiny_fused_config(), Graph::Kernel);
}

/// Sessions of the kernel graph made at the same moment on many threads (two plugin instances
/// loading at once) all load: ONNX Runtime's registration of the operators' domain is not safe
/// to race.
#[test]
fn kernel_sessions_load_on_many_threads_at_once() {
    if skip_without_ort() {
        return;
    }
    let cfg = tiny_fused_config();
    let (_, params) = tiny_model_with(&cfg, 23);
    let bytes = std::sync::Arc::new(onnx_graph(&cfg, &params, Precision::Int8, Graph::Kernel));
    let start = std::sync::Arc::new(std::sync::Barrier::new(8));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (bytes, start, spec) = (bytes.clone(), start.clone(), spec_for(&cfg));
            std::thread::spawn(move || {
                start.wait();
                OnnxModel::from_bytes(&bytes, spec)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap().unwrap();
    }
}

/// The kernel graph's int8 network gives the same logits one token at a time as in one pass (its
/// products quantize each row on its own), after a rollback, and from a saved state: a prefill
/// can replace stepping exactly.
#[test]
fn the_kernel_graph_steps_as_it_prefills() {
    if skip_without_ort() {
        return;
    }
    let cfg = tiny_fused_config();
    let (_, params) = tiny_model_with(&cfg, 19);
    let bytes = onnx_graph(&cfg, &params, Precision::Int8, Graph::Kernel);
    let v = VOCAB_SIZE as usize;
    let ids = synthetic_ids(7, 4);
    let ids = &ids[..ids.len().min(60)];
    let mut full = OnnxModel::from_bytes(&bytes, spec_for(&cfg)).unwrap();
    let all = full.forward(ids).unwrap();
    let mut step = OnnxModel::from_bytes(&bytes, spec_for(&cfg)).unwrap();
    let mut rows = step.forward(&ids[..9]).unwrap();
    for &id in &ids[9..] {
        rows.extend(step.forward(&[id]).unwrap());
    }
    assert_eq!(max_abs(&rows, &all), 0.0, "steps vs one pass");
    step.truncate(25);
    let again = step.forward(&ids[25..]).unwrap();
    assert_eq!(max_abs(&again, &all[25 * v..]), 0.0, "after a rollback");
}

/// Both graphs of one network give the same fp32 logits, one token at a time as the plugin runs
/// them.
#[test]
fn the_fused_and_primitive_graphs_agree() {
    if skip_without_ort() {
        return;
    }
    let cfg = tiny_fused_config();
    let (_, params) = tiny_model_with(&cfg, 13);
    let v = VOCAB_SIZE as usize;
    let mut a = OnnxModel::from_bytes(
        &onnx_graph(&cfg, &params, Precision::Fp32, Graph::Legacy),
        spec_for(&cfg),
    )
    .unwrap();
    let mut b = OnnxModel::from_bytes(
        &onnx_graph(&cfg, &params, Precision::Fp32, Graph::Fused),
        spec_for(&cfg),
    )
    .unwrap();
    let ids = synthetic_ids(3, 4);
    let (mut la, mut lb) = (vec![0f32; v], vec![0f32; v]);
    let mut worst = 0f32;
    for &id in ids.iter().take(cfg.context) {
        a.feed(&[id]).unwrap();
        b.feed(&[id]).unwrap();
        a.next_logits(&mut la).unwrap();
        b.next_logits(&mut lb).unwrap();
        worst = worst.max(max_abs(&la, &lb));
    }
    assert!(worst <= 1e-4, "fused vs primitive graph: max abs diff {worst}");
}

/// A saved fused cache restores exactly, after the context moved on and was rolled back.
#[test]
fn the_fused_cache_saves_and_restores() {
    cache_saves_and_restores(Graph::Fused);
}

#[test]
fn the_kernel_cache_saves_and_restores() {
    cache_saves_and_restores(Graph::Kernel);
}

fn cache_saves_and_restores(graph: Graph) {
    if skip_without_ort() {
        return;
    }
    let cfg = tiny_fused_config();
    let (_, params) = tiny_model_with(&cfg, 17);
    let v = VOCAB_SIZE as usize;
    let mut m = OnnxModel::from_bytes(&onnx_graph(&cfg, &params, Precision::Int8, graph), spec_for(&cfg)).unwrap();
    let ids = synthetic_ids(5, 4);
    let ids = &ids[..ids.len().min(60)];
    let mut want = vec![0f32; v];
    for &id in &ids[..30] {
        m.feed(&[id]).unwrap();
        m.next_logits(&mut want).unwrap();
    }
    let saved = m.save().unwrap();
    let mut after = Vec::new();
    let mut row = vec![0f32; v];
    for &id in &ids[30..] {
        m.feed(&[id]).unwrap();
        m.next_logits(&mut row).unwrap();
        after.extend_from_slice(&row);
    }
    // Overwrite the cache rows past 20 with other tokens, then restore the 30-token state.
    m.truncate(20);
    for &id in ids[40..].iter().rev() {
        m.feed(&[id]).unwrap();
        m.next_logits(&mut row).unwrap();
    }
    assert!(m.restore(&saved));
    assert_eq!(m.len(), 30);
    m.next_logits(&mut row).unwrap();
    assert_eq!(row, want, "the restored state's logits");
    let mut again = Vec::new();
    for &id in &ids[30..] {
        m.feed(&[id]).unwrap();
        m.next_logits(&mut row).unwrap();
        again.extend_from_slice(&row);
    }
    assert_eq!(again, after, "decoding on from the restored state");
}

/// int8 against fp32 of the same graph: top-1 agreement and mean KL over 1,000 positions.
fn int8_drift(cfg: &ModelConfig, graph: Graph) {
    if skip_without_ort() {
        return;
    }
    let (_, params) = tiny_model_with(cfg, 11);
    let mut fp = OnnxModel::from_bytes(&onnx_graph(cfg, &params, Precision::Fp32, graph), spec_for(cfg)).unwrap();
    let mut q = OnnxModel::from_bytes(&onnx_graph(cfg, &params, Precision::Int8, graph), spec_for(cfg)).unwrap();
    let v = VOCAB_SIZE as usize;
    let (mut positions, mut agree, mut kl_sum) = (0usize, 0usize, 0f64);
    let mut seed = 100;
    while positions < 1000 {
        let ids = synthetic_ids(seed, 4);
        let ids = &ids[..ids.len().min(60)];
        seed += 1;
        fp.truncate(0);
        q.truncate(0);
        let a = fp.forward(ids).unwrap();
        let b = q.forward(ids).unwrap();
        for i in 0..ids.len() {
            let (ra, rb) = (&a[i * v..(i + 1) * v], &b[i * v..(i + 1) * v]);
            let argmax = |r: &[f32]| r.iter().enumerate().max_by(|x, y| x.1.total_cmp(y.1)).map(|x| x.0);
            agree += (argmax(ra) == argmax(rb)) as usize;
            let (pa, pb) = (softmax(ra), softmax(rb));
            kl_sum += pa
                .iter()
                .zip(&pb)
                .map(|(p, q)| if *p > 0.0 { p * (p / q.max(1e-30)).ln() } else { 0.0 })
                .sum::<f64>();
            positions += 1;
        }
    }
    let top1 = agree as f64 / positions as f64;
    let kl = kl_sum / positions as f64;
    eprintln!("{graph:?} int8 vs fp32 over {positions} positions: top-1 agreement {top1:.4}, mean KL {kl:.5}");
    assert!(top1 >= 0.98, "top-1 agreement {top1}");
    assert!(kl <= 0.02, "mean KL {kl}");
}

/// The relative-pitch head in each graph: with its weight zero and a distinct bias per interval,
/// the logits with the head minus those without are that bias at every pitch, by the pitch's
/// interval above the root of the chord the features say is in force, and nothing elsewhere.
#[test]
fn every_graph_adds_the_relative_head_by_the_interval_above_the_root() {
    if skip_without_ort() {
        return;
    }
    let cfg = tiny_fused_config();
    let (_, mut params) = tiny_model_with(&cfg, 13);
    let bias: Vec<f32> = (0..12).map(|i| 0.5 + i as f32).collect();
    params.insert("rel.weight".into(), params["rel.weight"].zeros_like().unwrap());
    let without = {
        let mut p = params.clone();
        p.insert(
            "rel.bias".into(),
            Tensor::zeros(12, candle_core::DType::F32, &Device::Cpu).unwrap(),
        );
        p
    };
    params.insert("rel.bias".into(), Tensor::new(bias.as_slice(), &Device::Cpu).unwrap());
    let ids = synthetic_ids(3, 4);
    let ids = &ids[..ids.len().min(60)];
    let chords: Vec<u32> = models::tokenizer::features::feature_ids(ids, 1);
    assert!(
        chords.iter().any(|&c| c > 0) && chords[0] == 0,
        "the stream must start without a chord and reach one"
    );
    let v = VOCAB_SIZE as usize;
    let pb = models::tokenizer::Vocab::id(models::tokenizer::Token::Pitch(0)) as usize;
    for (graph, prec) in [
        (Graph::Legacy, Precision::Fp32),
        (Graph::Fused, Precision::Fp32),
        (Graph::Kernel, Precision::Int8),
    ] {
        let logits = |p: &std::collections::HashMap<String, Tensor>| {
            OnnxModel::from_bytes(&onnx_graph(&cfg, p, prec, graph), spec_for(&cfg))
                .unwrap()
                .forward(ids)
                .unwrap()
        };
        let (a, b) = (logits(&params), logits(&without));
        for (row, &chord) in chords.iter().enumerate() {
            for id in 0..v {
                let want = if (pb..pb + 128).contains(&id) && chord > 0 {
                    bias[models::tokenizer::features::relative_class(chord, (id - pb) as u8)]
                } else {
                    0.0
                };
                let got = a[row * v + id] - b[row * v + id];
                assert!(
                    (got - want).abs() < 1e-3,
                    "{graph:?} row {row} id {id}: {got} against {want}"
                );
            }
        }
    }
}

#[test]
fn weights_read_back_from_the_fp32_graph() {
    let (_, params) = tiny_model(3);
    let (cfg, back) = read_onnx_weights(&onnx(&params, Precision::Fp32)).unwrap();
    assert_eq!(cfg, tiny_config());
    assert_eq!(back.len(), params.len());
    for (n, t) in &params {
        let b = &back[n];
        assert_eq!(b.dims(), t.dims(), "{n}");
        let d = tensor_max_abs_diff(b, t);
        assert_eq!(d, 0.0, "{n}");
    }
}

#[test]
fn weights_read_back_from_the_fused_graphs() {
    let cfg = tiny_fused_config();
    let (_, params) = tiny_model_with(&cfg, 3);
    for graph in [Graph::Fused, Graph::Kernel] {
        for prec in [Precision::Fp32, Precision::Int8] {
            let (c, back) = read_onnx_weights(&onnx_graph(&cfg, &params, prec, graph)).unwrap();
            assert_eq!(c, cfg);
            assert_eq!(back.len(), params.len());
            // Re-exporting what was read gives the same graph: a shipped int8 package re-exported
            // in another graph keeps its weights exactly.
            let w = weights_of(&back).unwrap();
            let again = sideman_trainer::onnx::encode(&build_graph(&cfg, &w, prec, graph).unwrap());
            assert_eq!(again, onnx_graph(&cfg, &params, prec, graph), "{graph:?} {prec:?}");
        }
    }
}

#[test]
fn weights_read_back_from_the_int8_graph_within_half_a_step() {
    // The shipped defaults hold only int8 graphs: fine-tuning dequantizes them.
    let (_, params) = tiny_model(5);
    let (cfg, back) = read_onnx_weights(&onnx(&params, Precision::Int8)).unwrap();
    assert_eq!(cfg, tiny_config());
    assert_eq!(back.len(), params.len());
    for (n, t) in &params {
        let b = &back[n];
        assert_eq!(b.dims(), t.dims(), "{n}");
        let d = tensor_max_abs_diff(b, t);
        if n.ends_with(".weight")
            && t.dims().len() == 2
            && !["embed.", "feat.", "rel."].iter().any(|p| n.starts_with(p))
        {
            // Per output row of the candle weight: half a step of that row's scale.
            let max = t.abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
            assert!(d > 0.0 && d <= max / 127.0 * 0.5 + 1e-6, "{n}: {d}");
        } else {
            assert_eq!(d, 0.0, "{n}");
        }
    }
}

#[test]
fn missing_library_is_a_clean_error() {
    let e = models::runtime::find_library(Some(std::path::Path::new("/nonexistent/libonnxruntime.so"))).unwrap_err();
    assert!(e.to_string().contains("not found"), "{e}");
}

#[test]
fn a_package_round_trips_for_fine_tuning() {
    let (_, params) = tiny_model(5);
    let dir = std::env::temp_dir().join(format!("sideman-pkg-ft-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut vocab = models::tokenizer::Vocab::new();
    vocab.add_style("swing").unwrap();
    let info = sideman_trainer::train::RunInfo {
        seed: 1,
        data: "synthetic".into(),
        init: None,
        sources: vec![],
        microtiming: false,
        roles: vec![models::Role::Lead],
        registers: Default::default(),
        meters: Default::default(),
        no_input: Default::default(),
        no_chords: Default::default(),
    };
    let m = sideman_trainer::export::write_package(
        &dir,
        "tiny",
        &tiny_config(),
        &params,
        &vocab,
        &info,
        Default::default(),
        true,
    )
    .unwrap();
    assert_eq!(m.files.len(), 2);
    let pkg = models::package::Package::load(&dir).unwrap();
    assert_eq!(pkg.manifest.vocab.styles, vec!["swing".to_string()]);
    let (cfg, back, v) = sideman_trainer::export::read_package_weights(&dir.to_string_lossy()).unwrap();
    assert_eq!(cfg, tiny_config());
    assert_eq!(v, vocab);
    assert_eq!(back.len(), params.len());
    if !skip_without_ort() {
        // The runtime loads the package (int8 preferred) and refuses nothing.
        let mut model = models::runtime::OnnxModel::load(&pkg, models::runtime::Variant::PreferInt8).unwrap();
        model.warm_up().unwrap();
        assert_eq!(model.len(), 0);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
