//! The attention softmax of a training step, forward and backward, fused ([`sideman_trainer::fused`])
//! against the primitive ops it replaced, in the same run, on the default model's attention shape
//! (batch 16, 4 heads, 256 x 256 causal scores). Prints each median and the ratio.
//!
//! ```sh
//! RAYON_NUM_THREADS=1 cargo bench -p sideman-trainer --bench softmax
//! ```

use std::time::Instant;

use candle_core::{Device, Tensor, Var};
use sideman_trainer::fused::{softmax_last, softmax_primitive};

const REPS: usize = 15;

fn median_ms(f: impl Fn() -> candle_core::Result<()>) -> f64 {
    f().expect("warm-up");
    let mut t: Vec<f64> = (0..REPS)
        .map(|_| {
            let t0 = Instant::now();
            f().expect("run");
            t0.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[REPS / 2]
}

fn main() -> candle_core::Result<()> {
    let dev = Device::Cpu;
    let (b, h, n) = (16, 4, 256);
    let x = Var::from_tensor(&Tensor::randn(0f32, 2.0, (b, h, n, n), &dev)?)?;
    let mask: Vec<f32> = (0..n * n)
        .map(|i| if i % n > i / n { f32::NEG_INFINITY } else { 0.0 })
        .collect();
    let mask = Tensor::from_vec(mask, (n, n), &dev)?;
    let w = Tensor::randn(0f32, 1.0, (b, h, n, n), &dev)?;
    let step = |fused: bool| {
        let x = &x;
        let (mask, w) = (&mask, &w);
        move || -> candle_core::Result<()> {
            let s = x.as_tensor().broadcast_add(mask)?;
            let y = if fused {
                softmax_last(&s)?
            } else {
                softmax_primitive(&s)?
            };
            let grads = (y * w)?.sum_all()?.backward()?;
            assert!(grads.get(x.as_tensor()).is_some());
            Ok(())
        }
    };
    let threads = rayon::current_num_threads();
    let primitive = median_ms(step(false));
    let fused = median_ms(step(true));
    println!("attention softmax, forward + backward, [{b}, {h}, {n}, {n}], {threads} thread(s), median of {REPS}:");
    println!("  primitive ops (baseline) {primitive:8.2} ms");
    println!(
        "  fused                    {fused:8.2} ms   {:.2}x faster",
        primitive / fused
    );
    Ok(())
}
