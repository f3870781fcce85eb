//! Decode speed of the fused graph against the primitive one, same weights, same run
//! (`cargo bench -p sideman-trainer --bench decode_graphs`).
//!
//! For each built-in transformer (or the packages in `SIDEMAN_BENCH_PACKAGES=dir,dir`), the int8
//! weights are read back and exported twice: the primitive graph that packages had before
//! (`Graph::Legacy`, the in-run baseline) and the fused graph (`Graph::Fused`). Both run through
//! `models::runtime::OnnxModel`, batch 1, one thread:
//!
//! 1. tokens/s of single-token decoding after a 64-token prefill (the cache kept between 64 tokens
//!    and the context, as a live session does), best of 3;
//! 2. the time to regenerate one bar after a rollback, as the plugin does when the user plays a new
//!    chord (a session over a ii-V-I at 140 BPM rolled back to a bar line and regenerated to the
//!    next, 60 times): median and max;
//! 3. Python onnxruntime on the fused graph (`trainer/benches/ort_latency.py`), when `python3` with
//!    `onnxruntime` is installed (`SIDEMAN_BENCH_PYTHON=0` skips it).
//!
//! It prints the load average first: the ratios are in-run, the absolute rates depend on the load.

#[path = "../../models/benches/common/mod.rs"]
mod common;

use common::{decode_rate, regen_ms};
use models::package::{ModelKind, Package};
use models::runtime::OnnxModel;
use sideman_trainer::export::{Graph, Precision, build_graph, read_package_weights, spec_of, weights_of};

/// Python onnxruntime's ms per token on a graph file, when Python has onnxruntime.
fn python_ms(file: &std::path::Path) -> Option<(f64, String)> {
    if std::env::var("SIDEMAN_BENCH_PYTHON").is_ok_and(|v| v == "0") {
        return None;
    }
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/ort_latency.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg(file)
        .args(["--prefill", "64", "--tokens", "1000"])
        .output()
        .ok()?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        println!(
            "  (Python onnxruntime not measured: {})",
            err.lines().last().unwrap_or("failed")
        );
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    Some((v["ms_per_token"].as_f64()?, v["onnxruntime"].as_str()?.to_string()))
}

fn main() {
    if let Err(e) = models::runtime::init(None) {
        println!("ONNX Runtime unavailable ({e}): nothing to measure");
        return;
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "load average: {}",
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    );
    let mut refs: Vec<String> = std::env::var("SIDEMAN_BENCH_PACKAGES")
        .unwrap_or_default()
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if refs.is_empty() {
        refs = models::assets::BUILT_INS
            .iter()
            .map(|b| format!("builtin:{}", b.id))
            .collect();
    }
    let steps = 2000;
    let tmp = std::env::temp_dir().join(format!("sideman-bench-graphs-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    for r in &refs {
        let Ok(pkg) = Package::open(r) else {
            println!("{r}: cannot open");
            continue;
        };
        let ModelKind::Transformer { context_len, .. } = &pkg.manifest.model else {
            continue;
        };
        let (cfg, params, _) = read_package_weights(r).unwrap();
        if Graph::best_for(&cfg) != Graph::Fused {
            println!("{r}: heads {} wide, no fused graph", cfg.head_dim());
            continue;
        }
        let w = weights_of(&params).unwrap();
        let spec = spec_of(&cfg, *context_len as usize);
        let role = pkg.manifest.roles[0];
        let keep = pkg.manifest.keep_bars();
        println!("{r} ({}, {} parameters, int8):", pkg.manifest.name, cfg.parameters());
        let mut base = (0.0, 0.0, 0.0);
        for graph in [Graph::Legacy, Graph::Fused] {
            let proto = build_graph(&cfg, &w, Precision::Int8, graph).unwrap();
            let nodes = proto.graph.as_ref().map_or(0, |g| g.node.len());
            let bytes = sideman_trainer::onnx::encode(&proto);
            let mut m = OnnxModel::from_bytes(&bytes, spec.clone()).unwrap();
            let rate = decode_rate(&mut m, steps);
            let (med, max) = regen_ms(OnnxModel::from_bytes(&bytes, spec.clone()).unwrap(), role, keep, 60);
            if graph == Graph::Legacy {
                base = (rate, med, max);
                println!(
                    "  {:<8} {nodes:>4} nodes  {rate:>8.0} tokens/s ({:.1} us/token)  one-bar regeneration median {med:>6.2} ms, max {max:>6.2} ms  (baseline)",
                    "primitive",
                    1e6 / rate
                );
            } else {
                println!(
                    "  {:<8} {nodes:>4} nodes  {rate:>8.0} tokens/s ({:.1} us/token)  one-bar regeneration median {med:>6.2} ms, max {max:>6.2} ms  ({:.2}x tokens/s; regeneration {:.2}x faster)",
                    "fused",
                    1e6 / rate,
                    rate / base.0,
                    base.1 / med
                );
                let file = tmp.join(format!("{}.int8.onnx", r.replace([':', '/'], "_")));
                std::fs::write(&file, &bytes).unwrap();
                if let Some((ms, version)) = python_ms(&file) {
                    println!(
                        "  Python onnxruntime {version}, fused graph: {:.1} us/token; Rust takes {:.2}x Python's time",
                        ms * 1e3,
                        (1e3 / rate) / ms
                    );
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
}
