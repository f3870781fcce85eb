//! Timing of training steps (forward, loss, backward, AdamW with clipping; the trainer's own
//! [`super::parallel::batch_gradients`]) of the default model
//! on random tokens, batch 16 x 256: `examples/step_bench` and the `train_step` benchmark, which
//! sets it beside PyTorch (`benches/torch_reference.py`, the same network and batch).

use std::time::Instant;

use candle_core::{DType, Device, Tensor};

use super::parallel::{batch_gradients, parts_for};
use super::{AdamW, TrainParams, default_config};
use crate::model::{Transformer, seeded_init, sorted_vars};

/// Windows a benchmark step trains on.
pub const BENCH_BATCH: usize = 16;
/// Tokens a benchmark window holds.
pub const BENCH_CONTEXT: usize = 256;

/// One timed step, seconds per phase.
#[derive(Debug, Clone, Copy)]
pub struct StepTime {
    /// The forward pass, the loss and the backward pass (with the batch split over the threads,
    /// each part's forward and backward run together, so they are timed together).
    pub gradients: f64,
    /// The optimizer step (gradient-norm clipping and AdamW).
    pub optimizer: f64,
    /// The parts the batch was split into ([`super::parallel::parts_for`]).
    pub parts: usize,
}

impl StepTime {
    /// The whole step.
    pub fn total(&self) -> f64 {
        self.gradients + self.optimizer
    }

    /// Tokens a second at this step's time.
    pub fn tokens_per_s(&self) -> f64 {
        (BENCH_BATCH * BENCH_CONTEXT) as f64 / self.total()
    }
}

/// Times `steps` training steps of the default model (`layers` overrides its depth), calling
/// `each` after every one. Runs on as many threads as candle is given (`RAYON_NUM_THREADS`).
pub fn time_steps(
    layers: Option<usize>,
    steps: usize,
    mut each: impl FnMut(usize, &StepTime),
) -> candle_core::Result<Vec<StepTime>> {
    let mut cfg = default_config().model;
    if let Some(l) = layers {
        cfg.layers = l;
    }
    let dev = Device::Cpu;
    let (m, vm) = Transformer::init(&cfg, &dev)?;
    seeded_init(&vm, &cfg, 1)?;
    let mut opt = AdamW::new(sorted_vars(&vm), &TrainParams::default())?;
    let (b, t) = (BENCH_BATCH, BENCH_CONTEXT);
    let mut rng = crate::rng::Rng::new(3);
    let ids: Vec<u32> = (0..b * (t + 1)).map(|_| rng.below(cfg.vocab) as u32).collect();
    let all = Tensor::from_vec(ids, (b, t + 1), &dev)?;
    let x = all.narrow(1, 0, t)?.contiguous()?;
    let y = all.narrow(1, 1, t)?.contiguous()?;
    let w = Tensor::ones((b, t), DType::F32, &dev)?;
    let mut out = Vec::with_capacity(steps);
    for s in 0..steps {
        let t0 = Instant::now();
        let (_, grads) = batch_gradients(&m, &x, &y, &w)?;
        let t1 = Instant::now();
        opt.step(&grads, 1e-3)?;
        let t2 = Instant::now();
        let st = StepTime {
            gradients: (t1 - t0).as_secs_f64(),
            optimizer: (t2 - t1).as_secs_f64(),
            parts: parts_for(b),
        };
        each(s, &st);
        out.push(st);
    }
    Ok(out)
}
