//! Writes a model package with random weights for a training config (latency benchmarks):
//! `cargo run --release -p sideman-trainer --example random_package -- trainer/configs/small.toml out/`

use candle_core::Device;
use sideman_trainer::model::{Transformer, seeded_init};
use sideman_trainer::train::{RunInfo, TrainConfig, param_tensors};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    anyhow::ensure!(args.len() == 2, "usage: random_package <config.toml> <out dir>");
    let cfg = TrainConfig::load(std::path::Path::new(&args[0]))?;
    let (_m, vm) = Transformer::init(&cfg.model, &Device::Cpu)?;
    seeded_init(&vm, &cfg.model, 1)?;
    let info = RunInfo {
        seed: 1,
        data: "none".into(),
        init: None,
        sources: vec![],
        microtiming: false,
        roles: vec![],
        registers: Default::default(),
        meters: Default::default(),
        no_input: Default::default(),
        no_chords: Default::default(),
    };
    sideman_trainer::export::write_package(
        std::path::Path::new(&args[1]),
        "random",
        &cfg.model,
        &param_tensors(&vm),
        &models::tokenizer::Vocab::new(),
        &info,
        Default::default(),
        true,
    )?;
    println!("{} parameters -> {}", cfg.model.parameters(), args[1]);
    Ok(())
}
