//! Decodes a package's model one token at a time for a while, the cache kept between 64 tokens
//! and the context as the decode benchmarks do (for `perf`):
//! `cargo run --release -p sideman-models --example decode_loop -- <package> [steps]`.
use models::model::TokenModel;
use models::package::Package;
use models::runtime::{OnnxModel, Variant};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(pkg) = args.first().and_then(|p| Package::open(p).ok()) else {
        eprintln!("usage: decode_loop <package> [steps]");
        std::process::exit(2);
    };
    let steps: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(20_000);
    let mut m = OnnxModel::load(&pkg, Variant::PreferInt8).expect("the package's model loads");
    let mut logits = vec![0f32; models::tokenizer::VOCAB_SIZE as usize];
    let prefix: Vec<u32> = (0..64).map(|i| 60 + (i * 37 % 600) as u32).collect();
    m.feed(&prefix).expect("prefill");
    let t0 = std::time::Instant::now();
    for i in 0..steps {
        if m.len() + 1 >= m.context_len() {
            m.truncate(64);
        }
        m.feed(&[60 + (i * 53 % 600) as u32]).expect("step");
        m.next_logits(&mut logits).expect("logits");
    }
    let dt = t0.elapsed().as_secs_f64();
    println!(
        "{:.1} us/token ({:.0} tokens/s)",
        dt * 1e6 / steps as f64,
        steps as f64 / dt
    );
}
