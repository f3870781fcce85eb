//! What both decode benchmarks measure (`models/benches/decode.rs`, and
//! `trainer/benches/decode_graphs.rs` through a `#[path]` module): tokens/s of single-token
//! decoding, and the time to regenerate one bar after a rollback.

use std::time::Instant;

use models::generate::{Conditioning, Session, SessionConfig, session_seed};
use models::model::TokenModel;
use models::sampling::{Constraints, Rng, SamplerConfig};
use models::{Chord, ChordQuality, Role};

/// Tokens/s of single-token decoding after a 64-token prefill (cache kept between 64 tokens and
/// the context), best of 3 runs of `steps` steps.
pub fn decode_rate<M: TokenModel>(m: &mut M, steps: usize) -> f64 {
    let mut rng = Rng::new(3);
    let mut logits = vec![0f32; models::tokenizer::VOCAB_SIZE as usize];
    let prefix: Vec<u32> = (0..64).map(|_| 60 + rng.below(600) as u32).collect();
    let mut best = 0f64;
    for _ in 0..3 {
        m.truncate(0);
        m.feed(&prefix).unwrap();
        m.next_logits(&mut logits).unwrap();
        let t0 = Instant::now();
        for _ in 0..steps {
            if m.len() + 1 >= m.context_len() {
                // Keep the cache between 64 tokens and the context, as a live session does.
                m.truncate(64);
            }
            m.feed(&[60 + rng.below(600) as u32]).unwrap();
            m.next_logits(&mut logits).unwrap();
        }
        best = best.max(steps as f64 / t0.elapsed().as_secs_f64());
    }
    best
}

pub fn ii_v_i() -> Conditioning {
    let prog = [
        Chord::new(2, ChordQuality::Min7),
        Chord::new(7, ChordQuality::Dom7),
        Chord::new(0, ChordQuality::Maj7),
        Chord::new(0, ChordQuality::Maj7),
    ];
    let mut cond = Conditioning::default();
    for bar in 0..128i64 {
        let c = prog[bar as usize % 4];
        cond.set_chord(bar * 48, Some(c));
        for beat in 0..4 {
            cond.add_input(bar * 48 + beat * 12, 36 + c.root);
        }
    }
    cond
}

/// Milliseconds to regenerate one bar after rolling back to a bar line (median, max over `n`).
pub fn regen_ms<M: TokenModel>(m: M, role: Role, keep_bars: u32, n: usize) -> (f64, f64) {
    let cond = ii_v_i();
    let mut c = SessionConfig::new(role);
    c.tempo_bpm = Some(140.0);
    c.seed = session_seed(1);
    c.keep_bars = keep_bars;
    c.sampler = SamplerConfig {
        temperature: 1.0,
        top_k: 0,
        top_p: 0.95,
    };
    c.constraints = Constraints::for_role(role);
    let mut s = Session::new(m, c, 0, &cond).unwrap();
    let mut times = Vec::with_capacity(n);
    for i in 0..n {
        // Walk forward so the rollbacks meet every state (and re-primes) of a long session.
        let bar = 4 + i as i64;
        s.generate_until(&cond, (bar + 2) * 48).unwrap();
        let t0 = Instant::now();
        assert!(s.rollback(bar * 48));
        s.generate_until(&cond, (bar + 1) * 48).unwrap();
        times.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(|a, b| a.total_cmp(b));
    (times[times.len() / 2], times[times.len() - 1])
}
