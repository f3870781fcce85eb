//! Training is deterministic for a seed, and a run stopped mid-epoch then resumed ends with exactly
//! the parameters of an uninterrupted run.

mod common;

use candle_core::Device;
use models::tokenizer::{Tokenizer, Vocab};
use sideman_trainer::train::{RunData, TrainConfig, TrainParams, Window, train_run, windows_of};

use common::*;

fn data() -> RunData {
    let tok = Tokenizer::default();
    let cfg = tiny_config();
    let mut train = Vec::new();
    let mut valid = Vec::new();
    for seed in 0..24u64 {
        let ids: Vec<u16> = synthetic_ids(seed, 12).iter().map(|&i| i as u16).collect();
        let w: Vec<Window> = windows_of(&ids, &tok, cfg.context, 4, 8, &[]);
        if seed < 20 { train.extend(w) } else { valid.extend(w) }
    }
    RunData {
        train,
        valid,
        vocab: Vocab::new(),
        sources: vec![],
        microtiming: false,
        roles: vec![],
        registers: Default::default(),
        meters: Default::default(),
        no_input: Default::default(),
        no_chords: Default::default(),
    }
}

fn config() -> TrainConfig {
    TrainConfig {
        model: tiny_config(),
        train: TrainParams {
            batch_size: 4,
            lr: 3e-3,
            warmup_steps: 3,
            max_epochs: 2,
            checkpoint_every: 4,
            log_every: 2,
            valid_windows: 16,
            ..TrainParams::default()
        },
    }
}

fn params(dir: &std::path::Path) -> Vec<(String, Vec<f32>)> {
    let name = std::fs::read_to_string(dir.join("checkpoints/latest")).unwrap();
    let p = candle_core::safetensors::load(
        dir.join("checkpoints").join(name.trim()).join("params.safetensors"),
        &Device::Cpu,
    )
    .unwrap();
    let mut v: Vec<(String, Vec<f32>)> = p
        .into_iter()
        .map(|(k, t)| (k, t.flatten_all().unwrap().to_vec1::<f32>().unwrap()))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

#[test]
fn resume_after_a_stop_continues_exactly() {
    let base = std::env::temp_dir().join(format!("sideman-train-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let (a, b) = (base.join("a"), base.join("b"));
    let data = data();
    let cfg = config();
    let steps_per_epoch = (data.train.len() / 4) as u64;
    assert!(steps_per_epoch >= 6, "too little data: {} windows", data.train.len());
    let sa = train_run(&a, &cfg, &data, 5, false, None, None, true).unwrap();
    // Stop mid-epoch (between checkpoints), then resume from the last checkpoint.
    let stop = steps_per_epoch + 3;
    let sb = train_run(&b, &cfg, &data, 5, false, Some(stop), None, true).unwrap();
    assert_eq!(sb.state.step, stop);
    let sb = train_run(&b, &cfg, &data, 5, true, None, None, true).unwrap();
    assert_eq!(sa.state.step, sb.state.step);
    assert_eq!(sa.state.best_valid, sb.state.best_valid);
    assert_eq!(params(&a), params(&b), "resumed run differs from the uninterrupted one");
    // The run folder has what the user looks at.
    for f in [
        "config.toml",
        "metrics.csv",
        "loss.png",
        "best.safetensors",
        "summary.json",
        "vocab.json",
    ] {
        assert!(a.join(f).is_file(), "{f} missing");
    }
    let csv = std::fs::read_to_string(b.join("metrics.csv")).unwrap();
    let steps: Vec<u64> = csv
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').next()?.parse().ok())
        .collect();
    assert!(
        steps.windows(2).all(|w| w[0] <= w[1]),
        "metrics rows out of order after resume: {steps:?}"
    );
    // Learning happened.
    assert!(sa.state.best_valid.unwrap() < (models::tokenizer::VOCAB_SIZE as f64).ln());
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn windows_restate_the_header_and_carry_predicted_tokens() {
    let tok = Tokenizer::default();
    let ids: Vec<u16> = synthetic_ids(4, 16).iter().map(|&i| i as u16).collect();
    let w = windows_of(&ids, &tok, 64, 4, 8, &[]);
    assert!(w.len() >= 3);
    for win in &w {
        assert!(win.ids.len() <= 65);
        assert_eq!(
            win.ids[0] as u32,
            models::tokenizer::Vocab::id(models::tokenizer::Token::Bos)
        );
        let ids32: Vec<u32> = win.ids.iter().map(|&i| i as u32).collect();
        models::tokenizer::decode(&ids32).expect("every window decodes");
    }
}
