//! Does a package give the same logits one token at a time (the plugin's way, with its KV cache)
//! as in one pass over the same tokens (how `trainer eval` scores them)? Over the first 240 tokens
//! of one of a split's sequences (models/README.md, "A wider band"):
//!
//! ```sh
//! cargo run --release -p sideman-trainer --example step_check -- data/band-v valid builtin:band [sequence]
//! ```
//! (`FP32=1` for the package's fp32 graph.)

use models::model::TokenModel;
use sideman_trainer::eval::SplitAndModel;
use sideman_trainer::generate::{AnyModel, load_model};

fn onnx(m: AnyModel) -> Box<models::runtime::OnnxModel> {
    match m {
        AnyModel::Onnx(m) => m,
        AnyModel::Markov(_) => panic!("a Markov package has no graph to check"),
    }
}

fn main() -> anyhow::Result<()> {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let SplitAndModel { data: d, pkg, .. } = SplitAndModel::open(&a[0], &a[1], &a[2])?;
    let seq: usize = a.get(3).map_or(0, |s| s.parse().unwrap());
    let ids: Vec<u32> = d.seq(seq).iter().map(|&t| t as u32).take(240).collect();
    let v = models::tokenizer::VOCAB_SIZE as usize;
    let mut step = onnx(load_model(&pkg, std::env::var("FP32").is_ok())?);
    let mut full = onnx(load_model(&pkg, std::env::var("FP32").is_ok())?);
    let (mut a_out, mut b_out) = (vec![0f32; v], vec![0f32; v]);
    step.feed(&ids[..8])?;
    let mut worst: f32 = 0.0;
    let mut disagree = 0;
    for k in 8..ids.len() {
        step.next_logits(&mut a_out)?;
        full.truncate(0);
        full.feed(&ids[..k])?;
        full.next_logits(&mut b_out)?;
        let diff = a_out
            .iter()
            .zip(&b_out)
            .map(|(x, y)| (x - y).abs())
            .fold(0f32, f32::max);
        let am = |o: &[f32]| o.iter().enumerate().max_by(|x, y| x.1.total_cmp(y.1)).unwrap().0;
        if am(&a_out) != am(&b_out) {
            disagree += 1;
        }
        worst = worst.max(diff);
        step.feed(&ids[k..k + 1])?;
    }
    println!(
        "{} positions: max |step - prefill| logit {worst}, argmax disagreements {disagree}",
        ids.len() - 8
    );
    Ok(())
}
