//! `trainer generate --meter`: a meter a role never learned (the chorale piano in 3/2) is played
//! in learned bars that divide it, so every beat of the host's bar is played; the same network
//! without the meters in its manifest closes each six-beat bar after four beats and leaves the
//! rest silent (models/README.md, "Meters a role never learned"). Needs ONNX Runtime (`cargo
//! xtask ort`).

use std::path::{Path, PathBuf};

use models::package::Package;
use sideman_trainer::generate::{GenerateArgs, run};

fn args(package: String, out: PathBuf, meter: Option<(u8, u8)>, seed: u64) -> GenerateArgs {
    GenerateArgs {
        bars: 8,
        meter,
        tempo: Some(90.0),
        seed,
        harmony: 0.0,
        force: true,
        ..GenerateArgs::with_defaults(&package, "piano", &out)
    }
}

/// The file's meter, and how many of its 3/2 bars have no onset in their last two beats.
fn silent_ends(path: &Path) -> ((u8, u8), usize) {
    let piece = models::midi::read_file(path).unwrap();
    let m = piece.meter.at_bar(0);
    let onsets: Vec<f64> = piece
        .tracks
        .iter()
        .flat_map(|t| t.notes.iter().map(|n| n.start))
        .collect();
    let silent = (0..8)
        .filter(|&b| {
            !onsets
                .iter()
                .any(|&o| o >= b as f64 * 6.0 + 4.0 && o < b as f64 * 6.0 + 6.0)
        })
        .count();
    ((m.numerator, m.denominator), silent)
}

#[test]
fn an_unlearned_meter_is_played_to_the_end_of_each_bar() {
    let dir = std::env::temp_dir().join(format!("sideman-meters-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let shipped = Package::open("builtin:melody").unwrap();
    assert_eq!(
        shipped.manifest.learned_meters(models::Role::Piano),
        vec![(4, 4), (3, 4)],
        "the chorales' meters"
    );
    // The same network with no meters named: every meter is written as it is.
    let blind = dir.join("blind");
    let mut m = shipped.manifest.clone();
    m.meters.clear();
    for file in m.files.keys() {
        std::fs::create_dir_all(&blind).unwrap();
        std::fs::write(blind.join(file), shipped.read(file).unwrap()).unwrap();
    }
    Package::write(&blind, &mut m).unwrap();
    let (mut with, mut without) = (0, 0);
    for seed in 1..=3 {
        let out = dir.join(format!("learned-{seed}.mid"));
        run(&args("builtin:melody".into(), out.clone(), Some((3, 2)), seed)).unwrap();
        let (meter, silent) = silent_ends(&out);
        assert_eq!(meter, (3, 2), "the file is in the host's meter");
        with += silent;
        let out = dir.join(format!("blind-{seed}.mid"));
        run(&args(blind.to_string_lossy().into(), out.clone(), Some((3, 2)), seed)).unwrap();
        without += silent_ends(&out).1;
    }
    assert!(with <= 2, "{with} of 24 bars of 3/2 end with two silent beats");
    assert!(
        without >= 12,
        "the network alone in 3/2 leaves them silent: {without} of 24"
    );
    // A meter the piano learned is written as it is, and --meter refuses what the tokenizer lacks.
    let out = dir.join("waltz.mid");
    run(&args("builtin:melody".into(), out.clone(), Some((3, 4)), 1)).unwrap();
    assert_eq!(silent_ends(&out).0, (3, 4));
    assert!(sideman_trainer::args::meter("13/4").is_err());
    assert_eq!(sideman_trainer::args::meter("6/8"), Ok((6, 8)));
    let _ = std::fs::remove_dir_all(&dir);
}
