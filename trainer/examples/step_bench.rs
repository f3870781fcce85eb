//! Times one training step of the default model (forward, backward, optimizer) on random tokens.
//! `cargo run --release -p sideman-trainer --example step_bench -- [steps]` (`LAYERS=n` changes
//! the depth). Beside PyTorch: `cargo bench -p sideman-trainer --bench train_step`.

fn main() -> anyhow::Result<()> {
    let steps: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(5);
    // As the trainer binary does (SIDEMAN_DEFAULT_MALLOC=1 measures without it).
    if std::env::var_os("SIDEMAN_DEFAULT_MALLOC").is_none() {
        sideman_trainer::train::keep_freed_memory();
    }
    let layers = std::env::var("LAYERS").ok().and_then(|s| s.parse().ok());
    sideman_trainer::train::time_steps(layers, steps, |s, t| {
        println!(
            "step {s}: forward and backward {:.0} ms ({} part(s)), optimizer {:.0} ms; {:.0} tokens/s",
            t.gradients * 1e3,
            t.parts,
            t.optimizer * 1e3,
            t.tokens_per_s()
        );
    })?;
    Ok(())
}
