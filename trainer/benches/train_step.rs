//! Training speed of candle against PyTorch on the same network, batch and thread count, in the
//! same run (`cargo bench -p sideman-trainer --bench train_step`; `RAYON_NUM_THREADS=1` or `2`).
//!
//! The default model (4 layers, width 256, 3.5 M parameters, vocabulary 1,224), batch 16 x 256,
//! AdamW with gradient-norm clipping, random tokens. Rounds alternate: candle's steps
//! (`sideman_trainer::train::time_steps`, the trainer's own forward, loss, backward and optimizer)
//! and `trainer/benches/torch_reference.py` (PyTorch, the same network) run by the Python in
//! `SIDEMAN_TORCH_PYTHON` (default `python3`; `0` skips it). It prints tokens/s of each and the
//! ratio candle / PyTorch; without PyTorch it prints candle's rate alone.
//!
//! The load average comes first: the ratio is in-run, the absolute rates depend on the load.

use sideman_trainer::train::{BENCH_BATCH, BENCH_CONTEXT, time_steps};

/// Rounds of each (`BENCH_ROUNDS=n` for more: on a shared machine one round of either moves by
/// 10-20 %).
const ROUNDS: usize = 2;
/// Steps timed a round (after the warm-up steps).
const STEPS: usize = 6;
/// Steps run first and not timed.
const WARMUP: usize = 2;

/// PyTorch's tokens/s and version, when the Python given has torch.
fn torch_rate(python: &str, threads: usize) -> Result<(f64, String), String> {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/torch_reference.py");
    let out = std::process::Command::new(python)
        .arg(script)
        .args(["--steps", &STEPS.to_string(), "--threads", &threads.to_string()])
        .args(["--batch", &BENCH_BATCH.to_string(), "--ctx", &BENCH_CONTEXT.to_string()])
        .output()
        .map_err(|e| format!("cannot run {python}: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(err.lines().last().unwrap_or("failed").to_string());
    }
    // "pytorch 2.x sdpa=False threads=1: 3277 tokens/s (...)"
    let version = text.split_whitespace().nth(1).unwrap_or("?").to_string();
    let rate = text
        .split(": ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|r| r.parse().ok())
        .ok_or_else(|| format!("unexpected output {text:?}"))?;
    Ok((rate, version))
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

fn main() {
    sideman_trainer::train::keep_freed_memory();
    let threads = std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|&n: &usize| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "load average: {}; {threads} thread(s); batch {BENCH_BATCH} x {BENCH_CONTEXT}",
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    );
    let python = std::env::var("SIDEMAN_TORCH_PYTHON").unwrap_or_else(|_| "python3".into());
    let mut torch_on = python != "0";
    let (mut candle, mut torch, mut version) = (Vec::new(), Vec::new(), String::new());
    let rounds = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|&n: &usize| n > 0)
        .unwrap_or(ROUNDS);
    for round in 0..rounds {
        let steps = match time_steps(None, WARMUP + STEPS, |_, _| {}) {
            Ok(s) => s,
            Err(e) => {
                println!("candle failed: {e}");
                return;
            }
        };
        let timed = &steps[WARMUP..];
        let rate = mean(&timed.iter().map(|s| s.tokens_per_s()).collect::<Vec<_>>());
        let ms = |f: fn(&sideman_trainer::train::StepTime) -> f64| mean(&timed.iter().map(f).collect::<Vec<_>>()) * 1e3;
        println!(
            "round {round}: candle {rate:.0} tokens/s (forward and backward {:.0} ms, optimizer {:.0} ms; the batch in {} part(s))",
            ms(|s| s.gradients),
            ms(|s| s.optimizer),
            timed[0].parts
        );
        candle.push(rate);
        if torch_on {
            match torch_rate(&python, threads) {
                Ok((r, v)) => {
                    println!("round {round}: pytorch {v} {r:.0} tokens/s");
                    torch.push(r);
                    version = v;
                }
                Err(e) => {
                    println!("PyTorch not measured ({e}); set SIDEMAN_TORCH_PYTHON to a Python with torch");
                    torch_on = false;
                }
            }
        }
    }
    let c = mean(&candle);
    if torch.is_empty() {
        println!("candle: {c:.0} tokens/s");
    } else {
        let t = mean(&torch);
        println!(
            "candle {c:.0} tokens/s, pytorch {version} {t:.0} tokens/s: candle / pytorch = {:.2}x ({threads} thread(s))",
            c / t
        );
    }
}
