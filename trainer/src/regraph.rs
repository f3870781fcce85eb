//! `trainer regraph`: a package's network written again in another ONNX graph, weights unchanged.
//!
//! Packages exported before the fused graph ([`crate::export::fused`]) hold the primitive one.
//! Their int8 weights are read back (symmetric per-column int8 re-quantizes to the same integers
//! and scales, so nothing is lost; `onnx_export.rs` tests it), exported in the chosen graph, and
//! the package's manifest (hashes, decode speed) and card (its speed rows) are updated in place:
//! everything else the card says (the music report, the data, the recipe) is kept.

use std::path::PathBuf;

use anyhow::Context;
use models::package::{ModelKind, Package};
use models::runtime::{OnnxModel, Variant};

use crate::eval::{decode_latency_ms, model_latency_ms};
use crate::export::{Graph, Precision, build_graph, read_package_weights, spec_of, weights_of};

/// `trainer regraph` arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct RegraphArgs {
    /// Package folder, or `builtin:<id>` (then `--out` names its asset folder, e.g.
    /// `models/assets/<id>`).
    pub package: String,
    /// Folder to write; default: the package's own folder.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Graph to write (default: the fused one where the model's shape allows it).
    #[arg(long, value_enum)]
    pub graph: Option<Graph>,
}

/// Decode speed rows of a model card (`ship::card` writes the same rows).
pub fn speed_rows(metrics: &std::collections::BTreeMap<String, f64>) -> Vec<String> {
    let mut rows = Vec::new();
    for (k, label) in [
        ("decode_ms_per_token_int8", "int8"),
        ("decode_ms_per_token_fp32", "fp32"),
    ] {
        if let Some(ms) = metrics.get(k).copied().filter(|ms| *ms > 0.0) {
            rows.push(format!(
                "| decode speed {label} | {:.0} tokens/s ({ms:.3} ms/token, batch 1, KV cache, 1 thread) |",
                1000.0 / ms
            ));
        }
    }
    rows
}

/// `trainer regraph`.
pub fn run(args: &RegraphArgs) -> anyhow::Result<()> {
    let pkg = Package::open(&args.package).with_context(|| format!("cannot open the model {}", args.package))?;
    let out = match (&args.out, pkg.is_builtin()) {
        (Some(o), _) => o.clone(),
        (None, false) => pkg.dir.clone(),
        (None, true) => anyhow::bail!("{} is built in: name its asset folder with --out", args.package),
    };
    let ModelKind::Transformer {
        fp32,
        int8,
        context_len,
        ..
    } = &pkg.manifest.model
    else {
        anyhow::bail!("{} is a Markov model: it has no ONNX graph", args.package);
    };
    let (cfg, params, _) = read_package_weights(&args.package)?;
    let graph = args.graph.unwrap_or_else(|| Graph::best_for(&cfg));
    let w = weights_of(&params)?;
    let before = pkg.manifest.metrics.clone();
    std::fs::create_dir_all(&out).with_context(|| format!("cannot write {}", out.display()))?;
    for (file, prec) in [(fp32, Precision::Fp32), (int8, Precision::Int8)] {
        if let Some(f) = file {
            let bytes = crate::onnx::encode(&build_graph(&cfg, &w, prec, graph)?);
            crate::dataset::write_atomic(&out.join(f), &bytes)?;
        }
    }
    let card = match args.package.trim().strip_prefix(models::package::BUILTIN_PREFIX) {
        Some(id) => models::assets::builtin(id).map(|b| b.card.to_string()),
        None => std::fs::read_to_string(pkg.file("CARD.md")).ok(),
    };
    let mut manifest = pkg.manifest.clone();
    Package::write(&out, &mut manifest)?;
    let written = Package::load(&out)?;
    // The speed of what was written; an fp32 graph that stays behind (the shipped defaults hold
    // int8 only) is measured from the same weights, built in memory.
    if int8.is_some() {
        let ms = decode_latency_ms(&written, Variant::PreferInt8, 64, 192, 3)?;
        manifest.metrics.insert("decode_ms_per_token_int8".into(), ms);
    }
    let fp32_ms = if fp32.is_some() {
        decode_latency_ms(&written, Variant::PreferFp32, 64, 192, 3)?
    } else {
        let spec = spec_of(&cfg, *context_len as usize);
        let bytes = crate::onnx::encode(&build_graph(&cfg, &w, Precision::Fp32, graph)?);
        model_latency_ms(&mut OnnxModel::from_bytes(&bytes, spec)?, 64, 192, 3)?
    };
    manifest.metrics.insert("decode_ms_per_token_fp32".into(), fp32_ms);
    Package::write(&out, &mut manifest)?;
    if let Some(card) = card {
        let rows = speed_rows(&manifest.metrics);
        let mut lines: Vec<String> = Vec::new();
        let mut placed = false;
        let graph_row = match graph {
            Graph::Fused => format!(
                "| ONNX graph | fused (GroupQueryAttention, KV cache in place), written by `trainer regraph` from the same weights{} |",
                if card.contains("## Music report") {
                    "; the music report below was measured on the primitive graph before it (the fused one samples other notes from the first numeric difference, as another seed would)"
                } else {
                    ""
                }
            ),
            Graph::Kernel => format!(
                "| ONNX graph | kernel: Sideman's own operators, one node a layer (`ai.sideman:DecoderLayer`, int8 weights with 14-bit inputs, f16 KV cache in place), written by `trainer regraph` from the same weights{} |",
                if card.contains("## Music report") {
                    "; the music report below was measured on an earlier graph (ONNX Runtime's int8 matmuls, whose 8-bit inputs this graph replaces: it is closer to the fp32 network, and samples other notes from the first numeric difference, as another seed would)"
                } else {
                    ""
                }
            ),
            Graph::Legacy => {
                "| ONNX graph | primitive operators, written by `trainer regraph` from the same weights |".to_string()
            }
        };
        for line in card.lines() {
            if line.starts_with("| ONNX graph |") {
                continue;
            }
            if line.starts_with("| decode speed ") {
                if !placed {
                    lines.extend(rows.iter().cloned());
                    lines.push(graph_row.clone());
                    placed = true;
                }
                continue;
            }
            lines.push(line.to_string());
        }
        let mut text = lines.join("\n");
        text.push('\n');
        crate::dataset::write_atomic(&out.join("CARD.md"), text.as_bytes())?;
    }
    let speed = |m: &std::collections::BTreeMap<String, f64>, k: &str| {
        m.get(k)
            .map_or("-".to_string(), |ms| format!("{:.0} tokens/s", 1000.0 / ms))
    };
    println!(
        "{} -> {} ({graph:?} graph{})",
        args.package,
        out.display(),
        if fp32.is_some() { ", fp32 and int8" } else { ", int8" }
    );
    for (k, label) in [
        ("decode_ms_per_token_int8", "int8"),
        ("decode_ms_per_token_fp32", "fp32"),
    ] {
        println!(
            "  decode {label}: {} before (its card), {} now",
            speed(&before, k),
            speed(&manifest.metrics, k)
        );
    }
    Ok(())
}
