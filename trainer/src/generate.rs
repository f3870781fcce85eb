//! `trainer generate`: writes a Standard MIDI File from a model package over a chord progression,
//! through the same generation session the plugin uses ([`models::generate::Session`]) and the
//! same runtime ([`models::runtime::OnnxModel`], or the Markov baseline).

use std::path::PathBuf;

use anyhow::{Context, bail};
use models::chord::Chord;
use models::generate::{Conditioning, GeneratedNote, Session, SessionConfig};
use models::markov::MarkovModel;
use models::model::TokenModel;
use models::music::{ChordEvent, Meter, Note, Piece, Role, TempoChange, Track};
use models::package::{ModelKind, Package};
use models::runtime::{OnnxModel, Variant};
use models::sampling::{Constraints, SamplerConfig};
use models::tokenizer::vocab::TICKS_PER_BEAT;

/// `trainer generate` arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct GenerateArgs {
    /// Model package folder (transformer or Markov).
    pub package: PathBuf,
    /// Role to generate.
    #[arg(long, default_value = "lead")]
    pub role: String,
    /// Chord symbols, one per bar, space-separated; two or more in a bar joined by commas
    /// ("Dm7 G7 Cmaj7 A7,D7"). `NC` is no chord. The progression repeats to fill --bars.
    #[arg(long)]
    pub chords: String,
    /// Bars to generate (4/4).
    #[arg(long, default_value_t = 16)]
    pub bars: u32,
    /// Tempo (BPM), written to the file and the model's header.
    #[arg(long, default_value_t = 120.0)]
    pub tempo: f64,
    /// Sampling seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Softmax temperature.
    #[arg(long, default_value_t = 1.0)]
    pub temperature: f32,
    /// Nucleus sampling mass.
    #[arg(long, default_value_t = 0.95)]
    pub top_p: f32,
    /// Keep only the k most likely tokens (0: all).
    #[arg(long, default_value_t = 0)]
    pub top_k: u32,
    /// Style tag for the header (a name from the package's vocabulary).
    #[arg(long)]
    pub style: Option<String>,
    /// Run the fp32 model even when the package has an int8 one.
    #[arg(long)]
    pub fp32: bool,
    /// Output MIDI file.
    #[arg(long)]
    pub out: PathBuf,
}

/// Parses a progression: one entry per bar, chords within a bar split evenly.
pub fn parse_progression(text: &str, bars: u32) -> anyhow::Result<Vec<ChordEvent>> {
    let per_bar: Vec<Vec<Option<Chord>>> = text
        .split(|c: char| c.is_whitespace() || c == '|')
        .filter(|s| !s.is_empty())
        .map(|bar| {
            bar.split(',')
                .filter(|s| !s.is_empty())
                .map(|sym| {
                    if sym.eq_ignore_ascii_case("nc") || sym.eq_ignore_ascii_case("n.c.") {
                        Ok(None)
                    } else {
                        Chord::parse(sym).map_err(|e| anyhow::anyhow!("chord {sym:?}: {e}"))
                    }
                })
                .collect::<anyhow::Result<Vec<_>>>()
        })
        .collect::<anyhow::Result<_>>()?;
    if per_bar.is_empty() {
        bail!("no chords given");
    }
    let mut out = Vec::new();
    for b in 0..bars {
        let chords = &per_bar[b as usize % per_bar.len()];
        let step = 4.0 / chords.len() as f64;
        for (i, c) in chords.iter().enumerate() {
            out.push(ChordEvent {
                start: b as f64 * 4.0 + i as f64 * step,
                chord: *c,
            });
        }
    }
    Ok(out)
}

/// Generates `bars` bars with `model` over `chords` (and optional input onsets).
pub fn generate_notes<M: TokenModel>(
    model: M,
    config: SessionConfig,
    chords: &[ChordEvent],
    inputs: &[models::music::Onset],
    bars: u32,
) -> anyhow::Result<Vec<GeneratedNote>> {
    let mut cond = Conditioning::default();
    let tick = |beat: f64| (beat * TICKS_PER_BEAT as f64).round() as i64;
    for c in chords {
        cond.set_chord(tick(c.start), c.chord);
    }
    for o in inputs {
        cond.add_input(tick(o.start), o.pitch);
    }
    let bar_ticks = config.bar_ticks();
    let mut s = Session::new(model, config, 0, &cond).map_err(|e| anyhow::anyhow!("{e}"))?;
    s.generate_until(&cond, bars as i64 * bar_ticks)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let end_beat = (bars as i64 * bar_ticks) as f64 / TICKS_PER_BEAT as f64;
    Ok(s.notes().copied().filter(|n| n.start < end_beat).collect())
}

/// Bars a session keeps when it re-primes a full context: few enough that they fit in half of a
/// short context (a dense jazz bar with its conditioning is 40-80 tokens).
pub fn keep_bars_for(pkg: &Package) -> u32 {
    match &pkg.manifest.model {
        ModelKind::Transformer { context_len, .. } => (*context_len / 256).clamp(1, 8),
        _ => 8,
    }
}

/// A loaded model of either kind.
pub enum AnyModel {
    /// Transformer in ONNX Runtime.
    Onnx(Box<OnnxModel>),
    /// Markov baseline.
    Markov(MarkovModel),
}

/// Loads the model of a package.
pub fn load_model(pkg: &Package, fp32: bool) -> anyhow::Result<AnyModel> {
    Ok(match &pkg.manifest.model {
        ModelKind::Transformer { .. } => {
            let mut m = OnnxModel::load(pkg, if fp32 { Variant::PreferFp32 } else { Variant::PreferInt8 })?;
            m.warm_up().map_err(|e| anyhow::anyhow!("{e}"))?;
            AnyModel::Onnx(Box::new(m))
        }
        ModelKind::Markov { .. } => AnyModel::Markov(MarkovModel::new(crate::markov::load_table(pkg)?)),
    })
}

/// Generates with whichever model the package holds.
pub fn generate_any(
    model: AnyModel,
    config: SessionConfig,
    chords: &[ChordEvent],
    inputs: &[models::music::Onset],
    bars: u32,
) -> anyhow::Result<Vec<GeneratedNote>> {
    match model {
        AnyModel::Onnx(m) => generate_notes(*m, config, chords, inputs, bars),
        AnyModel::Markov(m) => generate_notes(m, config, chords, inputs, bars),
    }
}

/// A simple close voicing of a chord around middle C, for the chord track.
fn voicing(c: &Chord) -> Vec<u8> {
    let mut v: Vec<u8> = c
        .pitch_classes()
        .map(|pc| 48 + ((pc + 12 - c.root % 12) % 12) + c.root % 12)
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// The root of the chord in force on every beat, in the bass register.
pub fn root_onsets(chords: &[ChordEvent], bars: u32) -> Vec<models::music::Onset> {
    (0..bars * 4)
        .filter_map(|beat| {
            let b = beat as f64;
            let c = chords.iter().rev().find(|c| c.start <= b + 1e-9)?.chord?;
            Some(models::music::Onset {
                start: b,
                pitch: 36 + c.root % 12,
            })
        })
        .collect()
}

/// `trainer generate`.
pub fn run(args: &GenerateArgs) -> anyhow::Result<()> {
    let t0 = std::time::Instant::now();
    let pkg = Package::load(&args.package).with_context(|| format!("loading {}", args.package.display()))?;
    let role = Role::parse(&args.role).with_context(|| format!("unknown role {:?}", args.role))?;
    if !pkg.manifest.roles.contains(&role) {
        eprintln!("warning: {} was not trained for role {role}", pkg.manifest.name);
    }
    let chords = parse_progression(&args.chords, args.bars)?;
    let mut config = SessionConfig::new(role);
    config.tempo_bpm = Some(args.tempo);
    config.seed = args.seed;
    config.microtiming = pkg.manifest.microtiming;
    config.sampler = SamplerConfig {
        temperature: args.temperature,
        top_k: args.top_k,
        top_p: args.top_p,
    };
    config.constraints = Constraints::default();
    config.keep_bars = keep_bars_for(&pkg);
    // Roles trained with input conditioning (a lead hears the bass) get the chord roots on every
    // beat as a stand-in bass line.
    let inputs = if config.write_inputs {
        root_onsets(&chords, args.bars)
    } else {
        Vec::new()
    };
    if let Some(style) = &args.style {
        let slot = pkg.manifest.vocab.style_slot(style).with_context(|| {
            format!(
                "style {style:?} is not in the package (it has: {})",
                pkg.manifest.vocab.styles.join(", ")
            )
        })?;
        config.styles = vec![slot];
    }
    let model = load_model(&pkg, args.fp32)?;
    let notes = generate_any(model, config, &chords, &inputs, args.bars)?;
    let lead = Track {
        name: format!("Sideman {role}"),
        channel: if role.is_drums() { 9 } else { 0 },
        program: if role.is_drums() {
            None
        } else {
            Some(if role == Role::Bass { 32 } else { 65 })
        },
        role,
        notes: notes.iter().map(|&n| Note::from(n)).collect(),
    };
    let mut chord_notes = Vec::new();
    for (i, c) in chords.iter().enumerate() {
        let end = chords.get(i + 1).map_or(args.bars as f64 * 4.0, |n| n.start);
        if let Some(ch) = c.chord {
            for p in voicing(&ch) {
                chord_notes.push(Note {
                    start: c.start,
                    duration: (end - c.start).max(0.25),
                    pitch: p,
                    velocity: 60,
                });
            }
        }
    }
    chord_notes.sort_by(|a, b| a.start.total_cmp(&b.start).then(a.pitch.cmp(&b.pitch)));
    let chord_track = Track {
        name: "Chords".into(),
        channel: 1,
        program: Some(0),
        role: Role::Comping,
        notes: chord_notes,
    };
    let piece = Piece {
        meter: Meter::default(),
        tempo_map: vec![TempoChange {
            beat: 0.0,
            bpm: args.tempo,
        }],
        chords: chords.clone(),
        tracks: vec![lead, chord_track],
    };
    models::midi::write_file(&piece, &args.out).map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "{} notes over {} bars -> {} ({:.2} s)",
        notes.len(),
        args.bars,
        args.out.display(),
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progressions_repeat_and_split_bars() {
        let p = parse_progression("Dm7 G7,C7 | Cmaj7", 4).unwrap();
        assert_eq!(p.len(), 5);
        assert_eq!(p[1].start, 4.0);
        assert_eq!(p[2].start, 6.0);
        assert_eq!(p[4].start, 12.0);
        assert!(parse_progression("", 4).is_err());
        assert!(parse_progression("Xq7", 4).is_err());
    }
}
