//! Does a model's density follow the tempo? Generates over a split's fastest lead solos (tempo
//! bucket 240, 226 BPM and up) at calibration sampling (temperature 1, nothing cut), once at
//! their own tempo and once at each tempo given, and prints notes per bar beside the soloists'.
//!
//! ```sh
//! cargo run --release -p sideman-trainer --example tempo_density -- data/wjazzd test builtin:jazz-lead 240,215,180,150
//! ```
//! (models/README.md, "Why the lead plays too many notes on the test solos: tempo").

use anyhow::{Context, bail};
use models::Role;
use sideman_trainer::eval::SplitAndModel;
use sideman_trainer::generate::load_model;
use sideman_trainer::report::{Sampling, sample};

/// Solos measured at most.
const PIECES: usize = 12;
/// Bars measured from each solo's start (the music report's).
const BARS: u32 = 16;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [data, split, model, tempos] = args.as_slice() else {
        bail!("usage: tempo_density <prepared data> <train|valid|test> <model> <bpm,bpm,...>");
    };
    let SplitAndModel { data: d, pkg, .. } = SplitAndModel::open(data, split, model)?;
    let tempos: Vec<f64> = tempos
        .split(',')
        .map(|t| t.trim().parse().with_context(|| format!("{t:?} is not a tempo")))
        .collect::<anyhow::Result<_>>()?;
    let fastest = models::tokenizer::vocab::tempo_bucket_bpm(u8::MAX);
    let below = models::tokenizer::vocab::tempo_bucket_bpm(models::tokenizer::vocab::TEMPO_BUCKETS as u8 - 2);
    let lowest = (fastest * below).sqrt();
    let (mut human, mut own, mut at) = (0.0, 0.0, vec![0.0; tempos.len()]);
    let mut n = 0;
    for i in 0..d.seqs.len() {
        let ids: Vec<u32> = d.seq(i).iter().map(|&t| t as u32).collect();
        let Ok(s) = models::tokenizer::decode(&ids) else {
            continue;
        };
        // Decoded tempos are bucket centres: the top bucket decodes to its own.
        if s.role != Role::Lead || s.tempo_bpm != Some(fastest) || s.bars < 4 {
            continue;
        }
        let bars = s.bars.min(BARS);
        let mut w = s.slice_bars(0, bars);
        w.ended = false;
        let seed = 1 + i as u64;
        // Notes per bar the model plays over `w` at calibration sampling.
        let played = |w: &models::tokenizer::Sequence| -> anyhow::Result<f64> {
            let model = load_model(&pkg, false)?;
            let notes = sample(model, &pkg, w, Sampling::Calibration, Default::default(), seed)?;
            Ok(notes.len() as f64 / bars as f64)
        };
        human += w.notes.len() as f64 / bars as f64;
        own += played(&w)?;
        for (k, &t) in tempos.iter().enumerate() {
            w.tempo_bpm = Some(t);
            at[k] += played(&w)?;
        }
        n += 1;
        if n == PIECES {
            break;
        }
    }
    if n == 0 {
        bail!("no lead solo in the top tempo bucket in this split");
    }
    let mean = |x: f64| x / n as f64;
    println!(
        "{n} solos at {lowest:.0} BPM and up: the soloists play {:.2} notes a bar",
        mean(human)
    );
    println!("the model at their tempo: {:.2}", mean(own));
    for (t, x) in tempos.iter().zip(&at) {
        println!("the model with the tempo set to {t} BPM: {:.2}", mean(*x));
    }
    Ok(())
}
