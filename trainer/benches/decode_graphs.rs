//! Decode speed of the kernel and fused graphs against the primitive one, same weights, same run
//! (`cargo bench -p sideman-trainer --bench decode_graphs`).
//!
//! For each built-in transformer (or the packages in `SIDEMAN_BENCH_PACKAGES=dir,dir`), the int8
//! weights are read back and exported three times: the primitive graph that packages had before
//! (`Graph::Legacy`, the in-run baseline), ONNX Runtime's fused operators (`Graph::Fused`) and
//! Sideman's own (`Graph::Kernel`). All run through `models::runtime::OnnxModel`, batch 1, one
//! thread:
//!
//! 1. tokens/s of single-token decoding after a 64-token prefill (the cache kept between 64 tokens
//!    and the context, as a live session does), best of 3;
//! 2. the time to regenerate one bar after a rollback, as the plugin does when the user plays a new
//!    chord (a session over a ii-V-I at 140 BPM rolled back to a bar line and regenerated to the
//!    next, 60 times): median and max;
//! 3. Python onnxruntime on the fused and kernel graphs (`trainer/benches/ort_latency.py`; for the
//!    kernel graph with Sideman's operators as a custom-op library, `sideman-ortops`, which the
//!    benchmark builds), when `python3` with `onnxruntime` is installed (`SIDEMAN_BENCH_PYTHON=0`
//!    skips it).
//!
//! It prints the load average first: the ratios are in-run, the absolute rates depend on the load.

#[path = "../../models/benches/common/mod.rs"]
mod common;

use common::{decode_rate, regen_ms};
use models::package::{ModelKind, Package};
use models::runtime::OnnxModel;
use sideman_trainer::export::{Graph, Precision, build_graph, read_package_weights, spec_of, weights_of};

/// Sideman's custom-op library for Python (`sideman-ortops`), built in release into the
/// workspace's target folder.
fn ortops_library() -> Result<std::path::PathBuf, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = std::process::Command::new(cargo)
        .args(["build", "--release", "--quiet", "-p", "sideman-ortops"])
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err("`cargo build --release -p sideman-ortops` failed".into());
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let name = format!(
        "{}sideman_ortops{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    let lib = target.join("release").join(name);
    lib.exists()
        .then_some(lib.clone())
        .ok_or_else(|| format!("{} not found", lib.display()))
}

/// Python onnxruntime's ms per token on a graph file (with Sideman's operators registered for
/// the kernel graph), when Python has onnxruntime.
fn python_ms(file: &std::path::Path, custom_ops: bool) -> Option<(f64, String)> {
    if std::env::var("SIDEMAN_BENCH_PYTHON").is_ok_and(|v| v == "0") {
        return None;
    }
    let mut args: Vec<std::ffi::OsString> = Vec::new();
    if custom_ops {
        match ortops_library() {
            Ok(lib) => args.extend(["--custom-ops".into(), lib.into_os_string()]),
            Err(e) => {
                println!("  (Python onnxruntime not measured on the kernel graph: {e})");
                return None;
            }
        }
    }
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/ort_latency.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg(file)
        .args(["--prefill", "64", "--tokens", "1000"])
        .args(&args)
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
        if Graph::best_for(&cfg) == Graph::Legacy {
            println!("{r}: heads {} wide, no fused graph", cfg.head_dim());
            continue;
        }
        let w = weights_of(&params).unwrap();
        let spec = spec_of(&cfg, *context_len as usize);
        let role = pkg.manifest.roles[0];
        let keep = pkg.manifest.keep_bars();
        println!("{r} ({}, {} parameters, int8):", pkg.manifest.name, cfg.parameters());
        let mut base = (0.0, 0.0, 0.0);
        for graph in [Graph::Legacy, Graph::Fused, Graph::Kernel] {
            let proto = build_graph(&cfg, &w, Precision::Int8, graph).unwrap();
            let nodes = proto.graph.as_ref().map_or(0, |g| g.node.len());
            let bytes = sideman_trainer::onnx::encode(&proto);
            let mut m = OnnxModel::from_bytes(&bytes, spec.clone()).unwrap();
            let rate = decode_rate(&mut m, steps);
            let (med, max) = regen_ms(OnnxModel::from_bytes(&bytes, spec.clone()).unwrap(), role, keep, 60);
            let name = match graph {
                Graph::Legacy => "primitive",
                Graph::Fused => "fused",
                Graph::Kernel => "kernel",
            };
            if graph == Graph::Legacy {
                base = (rate, med, max);
                println!(
                    "  {name:<9} {nodes:>4} nodes  {rate:>8.0} tokens/s ({:.1} us/token)  one-bar regeneration median {med:>6.2} ms, max {max:>6.2} ms  (baseline)",
                    1e6 / rate
                );
                continue;
            }
            println!(
                "  {name:<9} {nodes:>4} nodes  {rate:>8.0} tokens/s ({:.1} us/token)  one-bar regeneration median {med:>6.2} ms, max {max:>6.2} ms  ({:.2}x tokens/s; regeneration {:.2}x faster)",
                1e6 / rate,
                rate / base.0,
                base.1 / med
            );
            let file = tmp.join(format!("{}.{name}.int8.onnx", r.replace([':', '/'], "_")));
            std::fs::write(&file, &bytes).unwrap();
            if let Some((ms, version)) = python_ms(&file, graph == Graph::Kernel) {
                println!(
                    "  Python onnxruntime {version}, {name} graph: {:.1} us/token; Rust takes {:.2}x Python's time",
                    ms * 1e3,
                    (1e3 / rate) / ms
                );
            }
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
}
