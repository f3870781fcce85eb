//! Decode benchmarks of the built-in models (`cargo bench -p sideman-models --bench decode`):
//!
//! 1) Tokens per second, batch 1, one thread, KV cache: every built-in transformer (int8, as
//!    shipped; and fp32 for packages named in `SIDEMAN_BENCH_PACKAGES=dir,dir`, e.g. the trainer's
//!    run packages), against the Markov fallback measured in the same run.
//! 2) Time to regenerate one bar after a rollback, as the plugin's generator does when the user
//!    plays a new chord: a session over a ii-V-I at 140 BPM is rolled back to a bar line and
//!    regenerated to the next one, many times; against one beat at 140 BPM (the time the plugin
//!    has before the next beat must sound).

mod common;

use common::{decode_rate, regen_ms};
use models::Role;
use models::markov::{MarkovModel, MarkovTable};
use models::package::{ModelKind, Package};
use models::runtime::{OnnxModel, Variant};

/// A token model of either kind.
enum Any {
    Onnx(Box<OnnxModel>),
    Markov(MarkovModel),
}

fn load(pkg: &Package, variant: Variant) -> Option<Any> {
    match &pkg.manifest.model {
        ModelKind::Transformer { .. } => match OnnxModel::load(pkg, variant) {
            Ok(m) => Some(Any::Onnx(Box::new(m))),
            Err(e) => {
                println!("  {}: {e}", pkg.manifest.name);
                None
            }
        },
        ModelKind::Markov { file, .. } => {
            let t = MarkovTable::from_bytes(&pkg.read(file).ok()?).ok()?;
            Some(Any::Markov(MarkovModel::new(std::sync::Arc::new(t))))
        }
    }
}

fn main() {
    if let Err(e) = models::runtime::init(None) {
        println!("ONNX Runtime unavailable ({e}); only the Markov model is measured");
    }
    let steps = 2000;
    let mut packages: Vec<(String, Package, Variant)> = models::assets::BUILT_INS
        .iter()
        .filter_map(|b| Package::open(&format!("builtin:{}", b.id)).ok())
        .map(|p| {
            (
                format!("builtin:{}", p.dir.display().to_string().trim_start_matches("builtin:")),
                p,
                Variant::PreferInt8,
            )
        })
        .collect();
    for dir in std::env::var("SIDEMAN_BENCH_PACKAGES")
        .unwrap_or_default()
        .split(',')
        .filter(|s| !s.is_empty())
    {
        match Package::open(dir) {
            Ok(p) => {
                packages.push((format!("{dir} (int8)"), p.clone(), Variant::PreferInt8));
                packages.push((format!("{dir} (fp32)"), p, Variant::PreferFp32));
            }
            Err(e) => println!("{dir}: {e}"),
        }
    }
    let fallback = Package::open(&models::assets::fallback()).unwrap();
    let Some(Any::Markov(mut markov)) = load(&fallback, Variant::PreferInt8) else {
        panic!("the Markov fallback does not load")
    };
    let base = decode_rate(&mut markov, steps * 5);
    println!("decode, batch 1, one thread, KV cache ({steps} steps after a 64-token prefill, best of 3):");
    println!(
        "  {:<44} {:>9.0} tokens/s  (baseline)",
        "builtin:markov (Markov fallback)", base
    );
    for (label, pkg, variant) in &packages {
        if matches!(pkg.manifest.model, ModelKind::Markov { .. }) {
            continue;
        }
        let Some(Any::Onnx(mut m)) = load(pkg, *variant) else {
            continue;
        };
        let rate = decode_rate(m.as_mut(), steps);
        println!(
            "  {:<44} {:>9.0} tokens/s  ({:.3}x baseline, {:.2}x the 5,000 tokens/s target)",
            format!("{label} {}", pkg.manifest.name),
            rate,
            rate / base,
            rate / 5000.0
        );
    }
    println!("regenerate one bar after a rollback (ii-V-I, 140 BPM; one beat is 428.6 ms):");
    let n = 60;
    let keep = fallback.manifest.keep_bars();
    let (mm, mx) = regen_ms(
        MarkovModel::new(std::sync::Arc::new(
            MarkovTable::from_bytes(&fallback.read("markov.bin").unwrap()).unwrap(),
        )),
        Role::Lead,
        keep,
        n,
    );
    println!(
        "  {:<44} median {mm:>7.2} ms, max {mx:>7.2} ms  (baseline)",
        "builtin:markov lead"
    );
    for (label, pkg, variant) in &packages {
        if matches!(pkg.manifest.model, ModelKind::Markov { .. }) {
            continue;
        }
        let Some(Any::Onnx(m)) = load(pkg, *variant) else {
            continue;
        };
        let role = pkg.manifest.roles[0];
        let (med, max) = regen_ms(*m, role, pkg.manifest.keep_bars(), n);
        println!(
            "  {:<44} median {med:>7.2} ms, max {max:>7.2} ms  ({:.1}x baseline; max is {:.1}% of a beat)",
            format!("{label} {role}"),
            med / mm,
            max / 428.6 * 100.0
        );
    }
}
