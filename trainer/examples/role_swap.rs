//! Does a multi-role network know which role it plays? Teacher-forced over one role's pieces of a
//! split (first 16 bars, as the music report), prints the NLL per predicted token with the
//! header's own role and with each other role written in its place, and the probability the
//! network gives a second note at the position of the note it just played (a `PITCH` right
//! after a `DUR`), beside how often the data does it.
//!
//! ```sh
//! cargo run --release -p sideman-trainer --example role_swap -- data/band-v train builtin:band bass
//! ```
//! (models/README.md, "The band bass at calibration").

use anyhow::bail;
use models::Role;
use models::model::TokenModel;
use models::tokenizer::{Token, Tokenizer, VOCAB_SIZE, Vocab, predicted_mask};
use sideman_trainer::eval::SplitAndModel;
use sideman_trainer::generate::{AnyModel, load_model};

const BARS: u32 = 16;

fn log_softmax_at(row: &[f32], target: usize) -> f64 {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let lse = max + row.iter().map(|&l| (l as f64 - max).exp()).sum::<f64>().ln();
    row[target] as f64 - lse
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [data, split, model, role] = args.as_slice() else {
        bail!("usage: role_swap <prepared data> <train|valid|test> <model> <role>");
    };
    let limit: usize = std::env::var("PIECES").ok().and_then(|v| v.parse().ok()).unwrap_or(24);
    let Some(role) = Role::parse(role) else {
        bail!("unknown role {role}");
    };
    let SplitAndModel {
        data: d,
        pkg,
        style_map,
        ..
    } = SplitAndModel::open(data, split, model)?;
    let context = match &pkg.manifest.model {
        models::package::ModelKind::Transformer { context_len, .. } => *context_len as usize,
        _ => bail!("a transformer package"),
    };
    let tok = Tokenizer::new(Vocab::new(), pkg.manifest.microtiming);
    let AnyModel::Onnx(mut m) = load_model(&pkg, false)? else {
        bail!("a transformer package");
    };
    let v = VOCAB_SIZE as usize;
    let others: Vec<Role> = Role::ALL.iter().copied().filter(|&r| r != role).collect();
    let mut own = (0.0, 0usize);
    let mut swapped = vec![0.0; others.len()];
    // (decisions after a DUR, data second notes, network mass on a PITCH there)
    let mut stack = (0usize, 0usize, 0.0f64);
    // The first 16 bars of the role's pieces, their styles as the package numbers them (the
    // music report's passages).
    let seqs: Vec<models::tokenizer::Sequence> = (0..d.seqs.len())
        .filter_map(|i| {
            let ids: Vec<u32> = d.seq(i).iter().map(|&t| t as u32).collect();
            models::tokenizer::decode(&ids).ok()
        })
        .filter(|s| s.role == role)
        .collect();
    let settings = sideman_trainer::report::ReportSettings {
        pieces: limit,
        bars: BARS,
        seed: 1,
        draws: 1,
        fp32: false,
        knobs: Default::default(),
    };
    let passages = sideman_trainer::report::passages(&seqs, &style_map, &settings);
    let list = passages.get(&role).map(Vec::as_slice).unwrap_or_default();
    let measured = list.len();
    for (w, _) in list {
        let nll = |m: &mut models::runtime::OnnxModel,
                   w: &models::tokenizer::Sequence|
         -> anyhow::Result<(f64, usize, Vec<f32>, Vec<u32>)> {
            let mut ids = tok.encode(w)?;
            ids.truncate(context);
            m.truncate(0);
            let rows = m.forward(&ids).map_err(|e| anyhow::anyhow!("{e}"))?;
            let mask = predicted_mask(&ids);
            let (mut a, mut n) = (0.0, 0);
            for j in 1..ids.len() {
                if mask[j] {
                    a -= log_softmax_at(&rows[(j - 1) * v..j * v], ids[j] as usize);
                    n += 1;
                }
            }
            Ok((a, n, rows, ids))
        };
        let (a, n, rows, ids) = nll(&mut m, w)?;
        own.0 += a;
        own.1 += n;
        for j in 1..ids.len() {
            if !matches!(Vocab::token(ids[j - 1]), Some(Token::Dur(_))) {
                continue;
            }
            let row = &rows[(j - 1) * v..j * v];
            let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
            let (mut total, mut pitch) = (0.0, 0.0);
            for (id, &l) in row.iter().enumerate() {
                let p = (l as f64 - max).exp();
                total += p;
                if matches!(Vocab::token(id as u32), Some(Token::Pitch(_))) {
                    pitch += p;
                }
            }
            stack.0 += 1;
            stack.1 += matches!(Vocab::token(ids[j]), Some(Token::Pitch(_))) as usize;
            stack.2 += pitch / total;
        }
        for (k, &r) in others.iter().enumerate() {
            let mut x = w.clone();
            x.role = r;
            let (b, _, _, _) = nll(&mut m, &x)?;
            swapped[k] += b;
        }
    }
    let n = own.1.max(1) as f64;
    println!("{measured} {role} pieces, {} predicted tokens", own.1);
    println!("NLL per predicted token as {role}: {:.4}", own.0 / n);
    for (k, r) in others.iter().enumerate() {
        println!(
            "  written as {r}: {:.4} ({:+.4})",
            swapped[k] / n,
            (swapped[k] - own.0) / n
        );
    }
    let p = stack.0.max(1) as f64;
    println!(
        "after a note's DUR ({} decisions): the data plays a second note at that position {:.3}, the network gives it {:.3}",
        stack.0,
        stack.1 as f64 / p,
        stack.2 / p
    );
    Ok(())
}
