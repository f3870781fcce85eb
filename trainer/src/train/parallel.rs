//! The loss and gradients of a batch, data-parallel over the threads candle is given.
//!
//! A step of the trainer's small model splits poorly inside each op: its matmuls are a few
//! milliseconds each, and the elementwise ops, copies and allocations between them do not split
//! at all, so candle ran a step on two threads at 1.5x its one-thread rate where PyTorch reaches
//! 1.6-1.7x. Splitting the batch instead, each part's forward and backward on its own one-thread
//! rayon pool (so every op inside it stays on that thread) and the parts' gradients summed, keeps
//! both threads busy for the whole step.
//!
//! The parts' losses are each divided by the whole batch's weight, so their sum is the batch's
//! mean loss and the summed gradients are its gradients (to float rounding: the sums are made in
//! a different order than one pass would make them). A run on one thread takes the one-pass path
//! unchanged, and a given number of threads always splits the same way, so a resumed run still
//! repeats an uninterrupted one exactly.

use std::sync::{Arc, Mutex};

use candle_core::backprop::GradStore;
use candle_core::{Result, Tensor};

use crate::model::Transformer;

/// `parts` one-thread rayon pools, one per part of a split batch, built on first use and kept.
fn pools(parts: usize) -> Vec<Arc<rayon::ThreadPool>> {
    static POOLS: Mutex<Vec<Arc<rayon::ThreadPool>>> = Mutex::new(Vec::new());
    let mut pools = POOLS.lock().unwrap_or_else(|e| e.into_inner());
    while pools.len() < parts {
        let i = pools.len();
        match rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .thread_name(move |_| format!("train-part-{i}"))
            // candle's backward walks the graph recursively: the main thread's stack, not rayon's
            // smaller default.
            .stack_size(8 << 20)
            .build()
        {
            Ok(p) => pools.push(Arc::new(p)),
            Err(_) => break,
        }
    }
    pools.iter().take(parts).cloned().collect()
}

/// How many parts a batch of `rows` rows is split into: candle's thread count, at most one part
/// per row.
pub fn parts_for(rows: usize) -> usize {
    candle_core::utils::get_num_threads().min(rows).max(1)
}

/// Sum of the cross-entropy over the positions `weights` marks, divided by `total` (the whole
/// batch's weight), and the gradients of that loss.
fn part_gradients(
    model: &Transformer,
    inputs: &Tensor,
    targets: &Tensor,
    weights: &Tensor,
    total: f64,
) -> Result<(Tensor, GradStore)> {
    let loss = crate::model::masked_loss_over(&model.forward(inputs)?, targets, weights, total)?;
    let grads = loss.backward()?;
    Ok((loss, grads))
}

/// The mean loss of a batch over the positions `weights` (`[b, t]`, 0 or 1) marks, and its
/// gradients: in one pass on one thread, or with the rows split over candle's threads
/// ([`parts_for`]), each part on its own thread.
pub fn batch_gradients(
    model: &Transformer,
    inputs: &Tensor,
    targets: &Tensor,
    weights: &Tensor,
) -> Result<(f64, GradStore)> {
    batch_gradients_in(model, inputs, targets, weights, parts_for(inputs.dim(0)?))
}

/// [`batch_gradients`] with the rows split into `parts` parts (one pass when `parts` < 2).
pub fn batch_gradients_in(
    model: &Transformer,
    inputs: &Tensor,
    targets: &Tensor,
    weights: &Tensor,
    parts: usize,
) -> Result<(f64, GradStore)> {
    let rows = inputs.dim(0)?;
    let total = weights.sum_all()?.to_scalar::<f32>()? as f64;
    let pools = if parts.min(rows) < 2 {
        Vec::new()
    } else {
        pools(parts.min(rows))
    };
    if pools.len() < 2 {
        let (loss, grads) = part_gradients(model, inputs, targets, weights, total)?;
        return Ok((loss.to_scalar::<f32>()? as f64, grads));
    }
    let n = pools.len();
    let results: Vec<Result<(Tensor, GradStore)>> = std::thread::scope(|s| {
        let handles: Vec<_> = pools
            .iter()
            .enumerate()
            .map(|(i, pool)| {
                let (start, end) = (rows * i / n, rows * (i + 1) / n);
                s.spawn(move || {
                    pool.install(|| {
                        let part = |x: &Tensor| x.narrow(0, start, end - start)?.contiguous();
                        part_gradients(model, &part(inputs)?, &part(targets)?, &part(weights)?, total)
                    })
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(candle_core::Error::Msg("a training thread panicked".into())))
            })
            .collect()
    });
    // The backward pass leaves only the leaves' gradients (the variables'), which `extend` adds.
    let mut loss = 0f64;
    let mut sum: Option<GradStore> = None;
    for r in results {
        let (l, grads) = r?;
        loss += l.to_scalar::<f32>()? as f64;
        match &mut sum {
            None => sum = Some(grads),
            Some(acc) => acc.extend(grads)?,
        }
    }
    Ok((loss, sum.expect("at least two parts")))
}

#[cfg(test)]
mod tests {
    use candle_core::{DType, Device, Tensor};

    use super::*;
    use crate::model::{seeded_init, sorted_vars};

    /// A batch split into two or three parts gives the one-pass loss and gradients, with padding
    /// (weight 0) unevenly spread over the parts.
    #[test]
    fn split_batches_give_the_whole_batchs_loss_and_gradients() {
        let cfg = crate::model::tests::tiny();
        let dev = Device::Cpu;
        let (m, vm) = Transformer::init(&cfg, &dev).unwrap();
        seeded_init(&vm, &cfg, 5).unwrap();
        let (b, t) = (5, 24);
        let mut rng = crate::rng::Rng::new(9);
        let ids: Vec<u32> = (0..b * (t + 1)).map(|_| rng.below(cfg.vocab) as u32).collect();
        let all = Tensor::from_vec(ids, (b, t + 1), &dev).unwrap();
        let x = all.narrow(1, 0, t).unwrap().contiguous().unwrap();
        let y = all.narrow(1, 1, t).unwrap().contiguous().unwrap();
        // Row r is weighted on its first 24 - 4r positions: the parts weigh differently.
        let w: Vec<f32> = (0..b * t)
            .map(|i| if i % t < t - 4 * (i / t) { 1.0 } else { 0.0 })
            .collect();
        let w = Tensor::from_vec(w, (b, t), &dev).unwrap();
        let (loss1, g1) = batch_gradients_in(&m, &x, &y, &w, 1).unwrap();
        let (expected, _) = crate::model::masked_loss(&m.forward(&x).unwrap(), &y, &w).unwrap();
        assert!((loss1 - expected.to_scalar::<f32>().unwrap() as f64).abs() < 1e-6);
        for parts in [2, 3] {
            let (loss, g) = batch_gradients_in(&m, &x, &y, &w, parts).unwrap();
            assert!(
                (loss - loss1).abs() < 1e-5 * loss1.abs(),
                "{parts} parts: loss {loss} against {loss1}"
            );
            for (name, v) in sorted_vars(&vm) {
                let a = g1.get(v.as_tensor()).unwrap();
                let c = g
                    .get(v.as_tensor())
                    .unwrap_or_else(|| panic!("{name}: no gradient with {parts} parts"));
                let scale = a
                    .abs()
                    .unwrap()
                    .max_all()
                    .unwrap()
                    .to_scalar::<f32>()
                    .unwrap()
                    .max(1e-6);
                let diff = (a - c)
                    .unwrap()
                    .abs()
                    .unwrap()
                    .max_all()
                    .unwrap()
                    .to_scalar::<f32>()
                    .unwrap();
                assert!(
                    diff <= 1e-4 * scale,
                    "{name}, {parts} parts: max difference {diff} against {scale}"
                );
                assert_eq!(a.dtype(), DType::F32);
            }
        }
    }
}
