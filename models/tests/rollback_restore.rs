//! A rollback to before a re-prime restores the transformer's saved KV cache instead of feeding
//! the context again, and regenerates exactly what a session that knew the future sampled (the
//! plugin's promise: a live session that rolls back plays what an offline render plays).

use models::generate::{Conditioning, Session, SessionConfig, session_seed};
use models::model::TokenModel;
use models::package::Package;
use models::runtime::{OnnxModel, Variant};
use models::sampling::{Constraints, SamplerConfig};
use models::{Chord, Role};

fn ort() -> bool {
    if models::runtime::is_available() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "ONNX Runtime is not installed; CI must run `cargo xtask ort` first"
    );
    eprintln!("SKIPPED: ONNX Runtime library not found (run `cargo xtask ort`)");
    false
}

fn config(keep_bars: u32) -> SessionConfig {
    let mut c = SessionConfig::new(Role::Lead);
    c.tempo_bpm = Some(140.0);
    c.seed = session_seed(3);
    c.keep_bars = keep_bars;
    c.sampler = SamplerConfig {
        temperature: 1.0,
        top_k: 0,
        top_p: 0.95,
    };
    c.constraints = Constraints::for_role(Role::Lead);
    c
}

/// ii-V-I in C for `bars` bars, then (from `change_bar`) the same a tritone away.
fn cond(bars: i64, change_bar: Option<i64>) -> Conditioning {
    let prog = ["Dm7", "G7", "Cmaj7", "Cmaj7"];
    let mut c = Conditioning::default();
    for bar in 0..bars {
        let shift = if change_bar.is_some_and(|b| bar >= b) { 6 } else { 0 };
        let chord = Chord::parse(prog[bar as usize % 4]).unwrap().unwrap().transposed(shift);
        c.set_chord(bar * 48, Some(chord));
        c.add_input(bar * 48, 36 + chord.root);
    }
    c
}

#[test]
fn a_rollback_across_re_primes_restores_the_cache_and_regenerates_exactly() {
    if !ort() {
        return;
    }
    let pkg = Package::open("builtin:jazz-lead").unwrap();
    let keep = pkg.manifest.keep_bars();
    let model = || OnnxModel::load(&pkg, Variant::PreferInt8).unwrap();
    // Long enough for the context to fill and re-prime before the change whatever the lead's
    // density (the sixth jazz lead rests more than the fifth, whose 9 bars filled it).
    let (bars, change) = (32i64, 26i64);
    // A session that knew the tritone change from the start.
    let known = cond(bars, Some(change));
    let mut a = Session::new(model(), config(keep), 0, &known).unwrap();
    a.generate_until(&known, bars * 48).unwrap();
    // One that heard it late: generated on in C past several re-primes, then rolled back.
    let mut b = Session::new(model(), config(keep), 0, &cond(bars, None)).unwrap();
    b.generate_until(&cond(bars, None), (change + 3) * 48).unwrap();
    let reprimes_ahead = b.reprimes();
    let mut late = cond(bars, None);
    for bar in change..bars {
        let c = Chord::parse(["Dm7", "G7", "Cmaj7", "Cmaj7"][bar as usize % 4])
            .unwrap()
            .unwrap()
            .transposed(6);
        late.set_chord(bar * 48, Some(c));
        late.inputs.insert(bar * 48, vec![36 + c.root]);
    }
    let t0 = std::time::Instant::now();
    assert!(b.rollback(change * 48), "the rollback reaches bar {change}");
    b.generate_until(&late, (change + 1) * 48).unwrap();
    let took = t0.elapsed();
    b.generate_until(&late, bars * 48).unwrap();
    assert!(
        reprimes_ahead >= 1,
        "the session re-primed before the rollback ({reprimes_ahead})"
    );
    eprintln!(
        "{} re-primes; rollback to bar {change} and its bar regenerated in {:.2} ms",
        reprimes_ahead,
        took.as_secs_f64() * 1e3
    );
    let notes = |s: &Session<OnnxModel>| s.notes().copied().collect::<Vec<_>>();
    assert_eq!(
        notes(&a),
        notes(&b),
        "regenerated notes differ from the informed session's"
    );
    assert_eq!(a.tokens(), b.tokens());
    assert!(b.model().len() <= b.model().context_len());
}
