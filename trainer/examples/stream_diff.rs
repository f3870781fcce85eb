//! What the network reads in training against what a generation session feeds it: the first
//! tokens of one of a split's sequences, beside the tokens a calibration session writes over the
//! same piece's conditioning (its header, chords and input).
//!
//! ```sh
//! cargo run --release -p sideman-trainer --example stream_diff -- data/band-v train builtin:band 17 [tokens]
//! ```
//! `PROB=1` prints each token with the probability the network gives it there, teacher-forced on
//! that stream (models/README.md, "Whose position").
use models::generate::{Session, SessionConfig};
use models::model::TokenModel;
use models::tokenizer::Vocab;
use sideman_trainer::eval::SplitAndModel;
use sideman_trainer::generate::{AnyModel, conditioning, load_model};

fn main() -> anyhow::Result<()> {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let SplitAndModel {
        data: d,
        pkg,
        style_map,
        ..
    } = SplitAndModel::open(&a[0], &a[1], &a[2])?;
    let i: usize = a.get(3).map_or(0, |s| s.parse().unwrap());
    let n: usize = a.get(4).map_or(80, |s| s.parse().unwrap());
    // PRIME=k: the session continues the piece's own first k bars (a prompt); both streams are
    // printed from the k-th bar line on.
    let prime: usize = std::env::var("PRIME").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
    let ids: Vec<u32> = d.seq(i).iter().map(|&t| t as u32).collect();
    let mut w = models::tokenizer::decode(&ids)?;
    w = w.slice_bars(0, w.bars.min(prime as u32 + 4));
    w.ended = false;
    sideman_trainer::eval::map_styles(&mut w.styles, &style_map);
    let name = |id: u32| Vocab::token(id).map_or(format!("?{id}"), |t| format!("{t:?}"));
    let ts = w.meter.at_bar(0);
    let mut config = SessionConfig::for_model(w.role, &pkg.manifest);
    config.numerator = ts.numerator;
    config.denominator = ts.denominator;
    config.tempo_bpm = w.tempo_bpm;
    config.styles = w.styles.clone();
    config.seed = std::env::var("SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(1);
    let bb = ts.numerator as f64 * 4.0 / ts.denominator as f64;
    config.prompt = w
        .notes
        .iter()
        .filter(|n| n.start < prime as f64 * bb)
        .copied()
        .collect();
    let cond = conditioning(&w.chords, &w.inputs);
    let AnyModel::Onnx(m) = load_model(&pkg, false)? else {
        anyhow::bail!("a transformer package");
    };
    let bar = config.bar_ticks();
    let mut s = Session::new(*m, config, 0, &cond).map_err(|e| anyhow::anyhow!("{e}"))?;
    s.generate_until(&cond, (prime as i64 + 2) * bar)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let bar_id = Vocab::id(models::tokenizer::Token::Bar);
    let from = |t: &[u32], k: usize| {
        t.iter()
            .enumerate()
            .filter(|&(_, &id)| id == bar_id)
            .nth(k)
            .map_or(0, |(j, _)| j)
    };
    // PROB=1: each token with the probability the network gives it there, teacher-forced on
    // that stream (what the network expected at each of the data's and the session's tokens).
    let probs = |t: &[u32]| -> anyhow::Result<Vec<f32>> {
        if std::env::var("PROB").is_err() {
            return Ok(vec![f32::NAN; t.len()]);
        }
        let AnyModel::Onnx(mut m) = load_model(&pkg, false)? else {
            anyhow::bail!("a transformer package");
        };
        let mut out = vec![0f32; models::tokenizer::VOCAB_SIZE as usize];
        let mut p = vec![f32::NAN; t.len()];
        m.feed(&t[..1])?;
        for k in 1..t.len().min(256) {
            m.next_logits(&mut out)?;
            let mx = out.iter().copied().fold(f32::MIN, f32::max);
            let z: f32 = out.iter().map(|x| (x - mx).exp()).sum();
            p[k] = (out[t[k] as usize] - mx).exp() / z;
            m.feed(&t[k..k + 1])?;
        }
        Ok(p)
    };
    let show = |t: &[u32], p: &[f32], from: usize| {
        (from..t.len())
            .take(n)
            .map(|k| {
                if p[k].is_nan() {
                    name(t[k])
                } else {
                    format!("{}({:.2})", name(t[k]), p[k])
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    println!("data:    {}", show(&ids, &probs(&ids)?, from(&ids, prime)));
    // The session's stream holds the prompt's bars as it wrote them (its first bar line is the
    // prompt's first bar).
    let st = s.tokens();
    println!("session re-primed {} times", s.reprimes());
    println!("session: {}", show(st, &probs(st)?, from(st, prime)));
    Ok(())
}
