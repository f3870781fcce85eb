//! Shared helpers: a tiny model and synthetic token streams.
#![allow(dead_code)]

use std::collections::HashMap;

use candle_core::{Device, Tensor};
use models::chord::{Chord, ChordQuality};
use models::music::{ChordEvent, Meter, Note, Onset, Piece, Role, TempoChange, Track};
use models::tokenizer::{Sequence, Tokenizer, VOCAB_SIZE};
use sideman_trainer::model::{ModelConfig, Transformer, seeded_init};
use sideman_trainer::rng::Rng;
use sideman_trainer::train::param_tensors;

pub fn tiny_config() -> ModelConfig {
    ModelConfig {
        layers: 2,
        d_model: 32,
        heads: 4,
        d_ff: 64,
        context: 64,
        rope_base: 10_000.0,
        rope_span: 4,
        vocab: VOCAB_SIZE as usize,
        features: true,
        tempo_feature: true,
        style_feature: true,
        harmony_feature: true,
        relative_pitch: true,
        given_kind: false,
    }
}

/// A seeded tiny model whose embedding is scaled up so its next-token distributions are peaked
/// (a plain random init is nearly uniform, which makes top-1 comparisons meaningless).
pub fn tiny_model(seed: u64) -> (Transformer, HashMap<String, Tensor>) {
    tiny_model_with(&tiny_config(), seed)
}

/// [`tiny_config`] with heads 16 wide, the narrowest ONNX Runtime's fused attention runs.
pub fn tiny_fused_config() -> ModelConfig {
    ModelConfig {
        heads: 2,
        ..tiny_config()
    }
}

/// [`tiny_model`] of any shape.
pub fn tiny_model_with(cfg: &ModelConfig, seed: u64) -> (Transformer, HashMap<String, Tensor>) {
    let cfg = cfg.clone();
    let (m, vm) = Transformer::init(&cfg, &Device::Cpu).unwrap();
    seeded_init(&vm, &cfg, seed).unwrap();
    for (name, var) in sideman_trainer::model::sorted_vars(&vm) {
        if name == "embed.weight" {
            var.set(&(var.as_tensor() * 20.0).unwrap()).unwrap();
        }
        // The relative-pitch head as strong as the embedding's logits, so the graphs' parity
        // tests see it.
        if name == "rel.weight" {
            var.set(&(var.as_tensor() * 50.0).unwrap()).unwrap();
        }
    }
    let p = param_tensors(&vm);
    (m, p)
}

/// A synthetic lead sequence over ii-V-I changes with input onsets, `bars` long.
pub fn synthetic_sequence(seed: u64, bars: u32) -> Sequence {
    let mut rng = Rng::new(seed);
    let mut s = Sequence::new(if seed.is_multiple_of(3) { Role::Bass } else { Role::Lead });
    s.tempo_bpm = Some(140.0);
    let changes = [
        (2, ChordQuality::Min7),
        (7, ChordQuality::Dom7),
        (0, ChordQuality::Maj7),
    ];
    for b in 0..bars {
        let (root, q) = changes[b as usize % 3];
        s.chords.push(ChordEvent {
            start: b as f64 * 4.0,
            chord: Some(Chord::new(root, q)),
        });
        s.inputs.push(Onset {
            start: b as f64 * 4.0,
            pitch: 36 + root,
        });
        for e in 0..8 {
            if rng.below(4) == 0 {
                continue;
            }
            let pitch = 60 + [0u8, 2, 3, 5, 7, 9, 10][rng.below(7)] + root;
            s.notes.push(Note {
                start: b as f64 * 4.0 + e as f64 * 0.5,
                duration: 0.5,
                pitch,
                velocity: 70 + rng.below(40) as u8,
            });
        }
    }
    s.bars = bars;
    s
}

/// Token ids of a synthetic sequence.
pub fn synthetic_ids(seed: u64, bars: u32) -> Vec<u32> {
    Tokenizer::default().encode(&synthetic_sequence(seed, bars)).unwrap()
}

/// Skips (returns true) when no ONNX Runtime library is installed, except under CI, which
/// installs it and must run these tests.
pub fn skip_without_ort() -> bool {
    if models::runtime::is_available() {
        return false;
    }
    if std::env::var_os("CI").is_some() {
        panic!("ONNX Runtime is not installed; CI must run `cargo xtask ort` first");
    }
    eprintln!("SKIPPED: ONNX Runtime library not found (run `cargo xtask ort` or set SIDEMAN_ORT_LIB)");
    true
}

pub fn softmax(x: &[f32]) -> Vec<f64> {
    let m = x.iter().cloned().fold(f32::MIN, f32::max) as f64;
    let e: Vec<f64> = x.iter().map(|&v| (v as f64 - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.into_iter().map(|v| v / s).collect()
}

/// A note at velocity 80.
pub fn note(start: f64, duration: f64, pitch: u8) -> Note {
    Note {
        start,
        duration,
        pitch,
        velocity: 80,
    }
}

/// A four-bar groove (`bars` repeats of it): lead, bass, comping and drums, varied by `seed`.
pub fn groove_piece(seed: u8, repeats: u32) -> Piece {
    let mut lead = Vec::new();
    let mut bass = Vec::new();
    let mut comp = Vec::new();
    let mut drums = Vec::new();
    let roots = [50u8, 55, 48, 48];
    for r in 0..repeats.max(1) {
        for (bar, &root) in roots.iter().enumerate() {
            let b = (r as usize * roots.len() + bar) as f64 * 4.0;
            for beat in 0..4 {
                bass.push(note(b + beat as f64, 1.0, root - 12 + [0, 3, 7, 10][beat]));
                drums.push(note(b + beat as f64, 0.25, if beat % 2 == 0 { 36 } else { 38 }));
                drums.push(note(b + beat as f64 + 0.5, 0.25, 42));
            }
            for p in [root, root + 3, root + 7, root + 10] {
                comp.push(note(b, 2.0, p));
            }
            for k in 0..6 {
                lead.push(note(b + k as f64 * 0.5 + 1.0, 0.5, 62 + (seed + k) % 12));
            }
        }
    }
    Piece {
        meter: Meter::default(),
        tempo_map: vec![TempoChange {
            beat: 0.0,
            bpm: 100.0 + seed as f64,
        }],
        chords: vec![],
        tracks: vec![
            track("Solo", 0, Role::Lead, lead),
            track("Bass", 1, Role::Bass, bass),
            track("Chord", 2, Role::Comping, comp),
            track("Drum", 9, Role::Drums, drums),
        ],
    }
}

/// A track without a program.
pub fn track(name: &str, channel: u8, role: Role, notes: Vec<Note>) -> Track {
    Track {
        name: name.into(),
        channel,
        program: None,
        role,
        notes,
    }
}

/// Writes `n` groove pieces as MIDI files into `dir`.
pub fn write_grooves(dir: &std::path::Path, n: u8, repeats: u32) {
    std::fs::create_dir_all(dir).unwrap();
    for i in 0..n {
        std::fs::write(
            dir.join(format!("take{i:02}.mid")),
            models::midi::write_smf(&groove_piece(i, repeats)),
        )
        .unwrap();
    }
}

/// What a user plays, as a MIDI part at `bpm`: one track of `notes` (chords held, a bass line),
/// as `trainer generate --input` and the plugin's input follower take it.
pub fn played_part(notes: Vec<Note>, bpm: f64) -> Piece {
    Piece {
        meter: Default::default(),
        tempo_map: vec![TempoChange { beat: 0.0, bpm }],
        chords: vec![],
        tracks: vec![track("Chords", 0, Role::Comping, notes)],
    }
}
