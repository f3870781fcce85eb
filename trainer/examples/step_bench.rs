//! Times one training step of the default model (forward, backward, optimizer) on random tokens.
//! `cargo run --release -p sideman-trainer --example step_bench -- [steps]`

use std::time::Instant;

use candle_core::{Device, Tensor};
use sideman_trainer::model::{Transformer, masked_loss, seeded_init, sorted_vars};
use sideman_trainer::train::{AdamW, TrainParams, default_config};

fn main() -> anyhow::Result<()> {
    let steps: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(5);
    // As the trainer binary does (SIDEMAN_DEFAULT_MALLOC=1 measures without it).
    if std::env::var_os("SIDEMAN_DEFAULT_MALLOC").is_none() {
        sideman_trainer::train::keep_freed_memory();
    }
    let mut cfg = default_config().model;
    if let Some(l) = std::env::var("LAYERS").ok().and_then(|s| s.parse().ok()) {
        cfg.layers = l;
    }
    let dev = Device::Cpu;
    let (m, vm) = Transformer::init(&cfg, &dev)?;
    seeded_init(&vm, &cfg, 1)?;
    let mut opt = AdamW::new(sorted_vars(&vm), &TrainParams::default())?;
    let (b, t) = (16usize, 256usize);
    let mut rng = sideman_trainer::rng::Rng::new(3);
    let ids: Vec<u32> = (0..b * (t + 1)).map(|_| rng.below(cfg.vocab) as u32).collect();
    let all = Tensor::from_vec(ids, (b, t + 1), &dev)?;
    let x = all.narrow(1, 0, t)?.contiguous()?;
    let y = all.narrow(1, 1, t)?.contiguous()?;
    let w = Tensor::ones((b, t), candle_core::DType::F32, &dev)?;
    for s in 0..steps {
        let t0 = Instant::now();
        let logits = m.forward(&x)?;
        let (loss, _) = masked_loss(&logits, &y, &w)?;
        let _ = loss.to_scalar::<f32>()?;
        let t1 = Instant::now();
        let grads = loss.backward()?;
        let t2 = Instant::now();
        opt.step(&grads, 1e-3)?;
        let t3 = Instant::now();
        let total = (t3 - t0).as_secs_f64();
        println!(
            "step {s}: forward {:.0} ms, backward {:.0} ms, optimizer {:.0} ms; {:.0} tokens/s",
            (t1 - t0).as_secs_f64() * 1e3,
            (t2 - t1).as_secs_f64() * 1e3,
            (t3 - t2).as_secs_f64() * 1e3,
            (b * t) as f64 / total
        );
    }
    Ok(())
}
