//! `trainer generate --render`: an audio preview of the generated MIDI, with the built-in Markov
//! model (no ONNX Runtime needed). The WAV lasts the bars plus the tail, sounds, never clips, and
//! obeys the output rules of `--out` (no silent overwrite, never the MIDI file itself).

use std::path::Path;
use std::process::{Command, Output};

use sideman_trainer::generate::{RENDER_SAMPLE_RATE, RENDER_TAIL_S};

/// Runs `trainer generate builtin:markov` with `args` after the package.
fn generate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trainer"))
        .args(["generate", "builtin:markov"])
        .args(args)
        .output()
        .expect("run trainer")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The samples of a 16-bit WAV file, with its spec.
fn read_wav(path: &Path) -> (hound::WavSpec, Vec<i16>) {
    let mut r = hound::WavReader::open(path).expect("a WAV file");
    let spec = r.spec();
    let samples = r.samples::<i16>().map(|s| s.unwrap()).collect();
    (spec, samples)
}

#[test]
fn render_writes_a_preview_of_the_bars_that_sounds_and_never_clips() {
    let dir = tempfile::tempdir().unwrap();
    let (bars, tempo) = (4u32, 150.0);
    for role in ["lead", "drums"] {
        let mid = dir.path().join(format!("{role}.mid"));
        let wav = dir.path().join(format!("{role}.wav"));
        let out = generate(&[
            "--role",
            role,
            "--chords",
            "Dm7 G7 Cmaj7 A7",
            "--bars",
            &bars.to_string(),
            "--tempo",
            &tempo.to_string(),
            "--seed",
            "3",
            "--out",
            mid.to_str().unwrap(),
            "--render",
            wav.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{role}: {}", text(&out.stderr));
        assert!(mid.exists(), "{role}: the MIDI file is written too");
        assert!(
            text(&out.stdout).contains(wav.to_str().unwrap()),
            "{}",
            text(&out.stdout)
        );

        let (spec, samples) = read_wav(&wav);
        assert_eq!(
            (spec.channels, spec.sample_rate, spec.bits_per_sample),
            (2, RENDER_SAMPLE_RATE, 16)
        );
        let seconds = samples.len() as f64 / 2.0 / spec.sample_rate as f64;
        let want = bars as f64 * 4.0 * 60.0 / tempo + RENDER_TAIL_S;
        assert!((seconds - want).abs() < 0.01, "{role}: {seconds} s, want {want} s");

        let peak = samples.iter().map(|s| s.unsigned_abs()).max().unwrap();
        let rms = (samples.iter().map(|&s| (s as f64).powi(2)).sum::<f64>() / samples.len() as f64).sqrt();
        assert!(
            peak > 1000 && rms > 100.0,
            "{role}: too quiet (peak {peak}, rms {rms:.0})"
        );
        assert!(peak < i16::MAX as u16, "{role}: clips (peak {peak})");
        // The first bar already sounds (lead or drums, and the chords).
        let bar = (4.0 * 60.0 / tempo * spec.sample_rate as f64) as usize * 2;
        assert!(
            samples[..bar].iter().any(|s| s.unsigned_abs() > 500),
            "{role}: silent first bar"
        );
    }
}

#[test]
fn render_never_replaces_a_file_without_force_nor_the_midi() {
    let dir = tempfile::tempdir().unwrap();
    let mid = dir.path().join("take.mid");
    let wav = dir.path().join("take.wav");
    std::fs::write(&wav, b"yesterday's mix").unwrap();
    let args = |out: &Path, render: &Path| {
        vec![
            "--chords".to_string(),
            "Cmaj7".into(),
            "--bars".into(),
            "1".into(),
            "--out".into(),
            out.to_str().unwrap().into(),
            "--render".into(),
            render.to_str().unwrap().into(),
        ]
    };
    let run = |a: Vec<String>| generate(&a.iter().map(String::as_str).collect::<Vec<_>>());

    let out = run(args(&mid, &wav));
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("--force"), "{}", text(&out.stderr));
    assert_eq!(std::fs::read(&wav).unwrap(), b"yesterday's mix");
    assert!(!mid.exists(), "refused before any work: no MIDI either");

    // The WAV may not be the MIDI file, even with --force and another spelling of the path.
    let same = dir.path().join(".").join("take.mid");
    let mut a = args(&mid, &same);
    a.push("--force".into());
    let out = run(a);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("--out"), "{}", text(&out.stderr));
    assert!(!mid.exists());

    // With --force it is replaced by a real WAV.
    let mut a = args(&mid, &wav);
    a.push("--force".into());
    let out = run(a);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (spec, samples) = read_wav(&wav);
    assert_eq!(spec.channels, 2);
    assert!(!samples.is_empty());

    // Previews are limited in length (before any work).
    let long = dir.path().join("long.wav");
    let out = generate(&[
        "--chords",
        "Cmaj7",
        "--bars",
        "2000",
        "--tempo",
        "20",
        "--out",
        dir.path().join("long.mid").to_str().unwrap(),
        "--render",
        long.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("minutes"), "{}", text(&out.stderr));
    assert!(!long.exists() && !dir.path().join("long.mid").exists());

    let help = Command::new(env!("CARGO_BIN_EXE_trainer"))
        .args(["generate", "--help"])
        .output()
        .unwrap();
    assert!(
        text(&help.stdout).contains("--render <OUT.wav>"),
        "{}",
        text(&help.stdout)
    );
}
