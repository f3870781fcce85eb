//! The attention of a training step, forward and backward: [`sideman_trainer::fused::causal_probs`]
//! and [`sideman_trainer::fused::causal_mix`] (the
//! scale, the causal mask and the softmax in one op, the products over the lower triangle) against
//! the primitive ops it replaced (`q k^T`, scale, mask, softmax, `p v`, the full square), in the
//! same run, on the default model's attention shape (batch 16, 4 heads, 256 tokens, head width 64).
//! Also the op the trainer runs, [`sideman_trainer::fused::causal_self_attention`] (from the packed
//! projection, the rotary embedding included). Prints each median and the ratio.
//!
//! ```sh
//! RAYON_NUM_THREADS=1 cargo bench -p sideman-trainer --bench attention
//! ```

use std::time::Instant;

use candle_core::{Device, Tensor, Var};
use sideman_trainer::fused::{causal_mix, causal_probs, causal_self_attention, softmax_primitive};

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
    // As the trainer runs (freed memory kept in the heap, not returned and faulted in again).
    sideman_trainer::train::keep_freed_memory();
    let dev = Device::Cpu;
    let (b, h, n, hd) = (16, 4, 256, 64);
    let scale = 1.0 / (hd as f64).sqrt();
    let var = || -> candle_core::Result<Var> { Var::from_tensor(&Tensor::randn(0f32, 1.0, (b, h, n, hd), &dev)?) };
    let (q, k, v) = (var()?, var()?, var()?);
    let mask: Vec<f32> = (0..n * n)
        .map(|i| if i % n > i / n { f32::NEG_INFINITY } else { 0.0 })
        .collect();
    let mask = Tensor::from_vec(mask, (n, n), &dev)?;
    let w = Tensor::randn(0f32, 1.0, (b, h, n, hd), &dev)?;
    let step = |fused: bool| {
        let (q, k, v, mask, w) = (&q, &k, &v, &mask, &w);
        move || -> candle_core::Result<()> {
            let (q, k, v) = (q.as_tensor(), k.as_tensor(), v.as_tensor());
            let o = if fused {
                causal_mix(&causal_probs(q, k, scale)?, v)?
            } else {
                let s = (q.matmul(&k.t()?)? * scale)?.broadcast_add(mask)?;
                softmax_primitive(&s)?.matmul(v)?
            };
            let grads = (o * w)?.sum_all()?.backward()?;
            assert!(grads.get(q).is_some() && grads.get(k).is_some() && grads.get(v).is_some());
            Ok(())
        }
    };
    // The op the trainer runs: from the packed projection [b, n, 3d], the rotary embedding of
    // queries and keys included, to the heads' output [b, n, d].
    let d = h * hd;
    let qkv = Var::from_tensor(&Tensor::randn(0f32, 1.0, (b, n, 3 * d), &dev)?)?;
    let half: Vec<f32> = (0..n * hd / 2).map(|i| (i as f32 * 0.01).cos()).collect();
    let cos = Tensor::from_vec(half.clone(), (n, hd / 2), &dev)?;
    let sin = Tensor::from_vec(
        half.iter().map(|c| (1.0 - c * c).max(0.0).sqrt()).collect(),
        (n, hd / 2),
        &dev,
    )?;
    let wp = Tensor::randn(0f32, 1.0, (b, n, d), &dev)?;
    let packed = || -> candle_core::Result<()> {
        let o = causal_self_attention(qkv.as_tensor(), &cos, &sin, h, scale)?;
        let grads = (o * &wp)?.sum_all()?.backward()?;
        assert!(grads.get(qkv.as_tensor()).is_some());
        Ok(())
    };
    let threads = rayon::current_num_threads();
    let primitive = median_ms(step(false));
    let fused = median_ms(step(true));
    let whole = median_ms(packed);
    println!("causal attention, forward + backward, [{b}, {h}, {n}, {hd}], {threads} thread(s), median of {REPS}:");
    println!("  primitive ops (baseline) {primitive:8.2} ms");
    println!(
        "  fused                    {fused:8.2} ms   {:.2}x faster",
        primitive / fused
    );
    println!(
        "  one op from the packed projection, rotary included (what the trainer runs) {whole:8.2} ms   {:.2}x faster",
        primitive / whole
    );
    Ok(())
}
