//! Sideman's trainer as a library: datasets, the candle transformer, the training loop, ONNX export,
//! evaluation and offline generation. The `trainer` binary (`main.rs`) is a thin CLI over it; the
//! ML framework (candle) stays inside this crate.

pub mod args;
pub mod cli;
pub mod dataset;
pub mod eval;
pub mod export;
pub mod finetune;
pub mod fused;
pub mod generate;
pub mod info;
pub mod markov;
pub mod measure;
pub mod memory;
pub mod model;
pub mod onnx;
pub mod plot;
pub mod prepare;
pub mod prompt;
pub mod regraph;
pub mod report;
pub mod rng;
pub mod ship;
pub mod train;
pub mod tunes;
