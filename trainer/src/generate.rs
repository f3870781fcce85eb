//! `trainer generate`: writes a Standard MIDI File from a model package over a chord progression,
//! through the same generation session the plugin uses ([`models::generate::Session`]) and the
//! same runtime ([`models::runtime::OnnxModel`], or the Markov baseline). With `--input`, the
//! conditioning comes from a played part through [`InputFollower`], as in the plugin: the same
//! model, seed, input and tempo give the notes the plugin plays in an offline bounce.
//!
//! With `--render`, the written piece is also rendered to a WAV file by the preview synth of
//! [`models::synth`], so the result can be heard without a DAW.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use models::chord::Chord;
use models::generate::{Conditioning, GeneratedNote, InputFollower, Session, SessionConfig, session_seed};
use models::groove::{Feel, FillPlan, SwingUnit, place_note};
use models::markov::MarkovModel;
use models::model::TokenModel;
use models::music::{ChordEvent, Meter, Note, Piece, Role, TempoChange, Track};
use models::package::{ModelKind, Package};
use models::players::PlayerChoice;
use models::runtime::{OnnxModel, Variant};
use models::sampling::{Constraints, SamplerConfig};
use models::tokenizer::SequenceSpec;
use models::tokenizer::vocab::TICKS_PER_BEAT;

/// `trainer generate` arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct GenerateArgs {
    /// Model package: a folder (transformer or Markov), or `builtin:<id>` for a default model
    /// (`builtin:jazz-lead`, `builtin:band`, `builtin:melody`, `builtin:markov`).
    pub package: String,
    /// Role to generate.
    #[arg(long, default_value = "lead", value_parser = crate::args::roles())]
    pub role: String,
    /// Chord symbols, one per bar, space-separated; two or more in a bar joined by commas
    /// ("Dm7 G7 Cmaj7 A7,D7"). `NC` is no chord. The progression repeats to fill --bars.
    /// A role that hears other parts hears what a player holding these chords gives it: the
    /// band's bass the chords struck where they change, the lead and the comping a bass of roots
    /// on every beat; a role whose training data gave it nothing to hear (`trainer info`'s card:
    /// the jazz bass, the folk lead) the chord symbols alone. Drums and piano need neither
    /// --chords nor --input.
    #[arg(long, conflicts_with = "input")]
    pub chords: Option<String>,
    /// A MIDI file of what the user plays (chords, a bass line...): the chords are recognised from
    /// what sounds (the notes held, or under its sustain pedal) and from broken chords, and the
    /// onsets heard, exactly as the plugin follows its MIDI input.
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Bars to generate (in --meter), 1-2000.
    #[arg(long, default_value_t = 16, value_parser = crate::args::bars, allow_negative_numbers = true)]
    pub bars: u32,
    /// Time signature, `N/D` (`3/4`, `6/8`, `12/8`). Default: the prompt's with --prompt, else
    /// 4/4. The header names it; a meter the model never learned is played in learned bars that
    /// divide it (3/2 as two bars of 3/4: `trainer info` lists the meters each role learned).
    #[arg(long, value_parser = crate::args::meter)]
    pub meter: Option<(u8, u8)>,
    /// Tempo (BPM, 20-400), written to the file and the model's header. Default: the prompt's
    /// tempo with --prompt, else 120.
    #[arg(long, value_parser = crate::args::tempo, allow_negative_numbers = true)]
    pub tempo: Option<f64>,
    /// Seed (the plugin's Seed parameter: the same number gives the same notes).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Temperature of the choice of note (above 0, at most 10), relative to the model's tuned one
    /// for the role (1 plays it as shipped; `trainer info` lists them); timing, duration and
    /// velocity keep the model's distribution.
    #[arg(long, default_value_t = 1.0, value_parser = crate::args::temperature, allow_negative_numbers = true)]
    pub temperature: f32,
    /// Nucleus sampling mass of the choice of note, in (0, 1], relative to the model's tuned one
    /// for the role as the plugin's Top-p is (the default 0.95 plays it as shipped).
    #[arg(long, default_value_t = models::sampling::DEFAULT_TOP_P, value_parser = crate::args::top_p, allow_negative_numbers = true)]
    pub top_p: f32,
    /// Keep only the k most likely tokens (0: all).
    #[arg(long, default_value_t = 0)]
    pub top_k: u32,
    /// Style tag for the header (a name from the package's vocabulary); give it again for more
    /// tags (`--style funk --style drummer3`). `trainer info <package>` lists them.
    #[arg(long)]
    pub style: Vec<String>,
    /// The player, for a model whose data names its players (`trainer info` lists them): for the
    /// GMD drums (`drummer1`..`drummer10`) the one named in the header beside the style, `auto`
    /// (one drawn from the seed among those who played the style, as the plugin's Player does)
    /// or `none` (the style alone, a header the drums never saw in training), and a `--style`
    /// that is a player already names one; for the jazz lead the soloist whose phrasing it takes
    /// (how often it rests: "Miles Davis"), `auto` or `none` the role's.
    #[arg(long, default_value = "auto")]
    pub player: String,
    /// Feel, percent: how much of the model's own timing off the grid is kept (0: quantized,
    /// 100: as the model plays it, up to 200: exaggerated). Models trained on human playing with
    /// microtiming (the drums) have a feel; others play on the grid.
    #[arg(long, default_value_t = 100.0, value_parser = crate::args::feel)]
    pub feel: f64,
    /// Swing, percent: where the off-beat of each pair lands (50 straight, 67 triplet).
    #[arg(long, default_value_t = 50.0, value_parser = crate::args::swing)]
    pub swing: f64,
    /// Swing the sixteenths instead of the eighths.
    #[arg(long)]
    pub swing_16ths: bool,
    /// Drums: a fill in the last bar of every N bars (0: off; 2, 4, 8 or 16), asked of models that
    /// know the `fill` tag (the GMD drums).
    #[arg(long, default_value_t = 0, value_parser = crate::args::fills)]
    pub fills: u32,
    /// Note density 0-1 (0.5: as the model plays).
    #[arg(long, default_value_t = models::sampling::NEUTRAL_DENSITY, value_parser = crate::args::unit, allow_negative_numbers = true)]
    pub density: f32,
    /// Harmony: logit bonus (nats) for tones of the chord in force; the plugin's Harmony
    /// parameter at 25 % is 1.0 (0: the model as it is). Mapped through the role's tuned Harmony
    /// as the plugin's is (the default plays the role as shipped).
    #[arg(long, default_value_t = models::sampling::DEFAULT_CHORD_TONES, value_parser = crate::args::harmony, allow_negative_numbers = true)]
    pub harmony: f32,
    /// Memory, percent of the model's piece memory (the plugin's Memory: 100 as fitted on its
    /// data, 0 the network alone, up to 200).
    #[arg(long, default_value_t = 100.0, value_parser = crate::args::memory_pct)]
    pub memory: f32,
    /// Run the fp32 model even when the package has an int8 one.
    #[arg(long)]
    pub fp32: bool,
    /// Output MIDI file (never one of the inputs).
    #[arg(long)]
    pub out: PathBuf,
    /// Also render an audio preview of the written MIDI (the generated part with its chords or
    /// input) to this WAV file: 44.1 kHz 16-bit stereo, General MIDI drums and an electric-piano
    /// tone, with a short tail for the releases. Must differ from --out and the inputs.
    #[arg(long, value_name = "OUT.wav")]
    pub render: Option<PathBuf>,
    /// Replace --out (and --render) if they exist.
    #[arg(long)]
    pub force: bool,
    /// A sketch to continue (MIDI, or MusicXML `.musicxml`/`.xml`/`.mxl`): its notes for the role (and its chords, given or
    /// recognised) start the stream and the model continues from their end for --bars bars, in
    /// the prompt's meter. The output holds the prompt, then the continuation.
    #[arg(long, conflicts_with = "input")]
    pub prompt: Option<PathBuf>,
    /// Use only the first N bars of the prompt (default: every bar up to its last note).
    #[arg(long, requires = "prompt", value_parser = crate::args::bars)]
    pub prompt_bars: Option<u32>,
    /// Write only the continuation (moved to start at bar 1), not the prompt before it.
    #[arg(long, requires = "prompt")]
    pub continuation_only: bool,
}

/// Tempo of `trainer generate` without --tempo or a prompt's tempo, BPM.
pub const DEFAULT_TEMPO: f64 = 120.0;

impl GenerateArgs {
    /// `trainer generate PACKAGE --role ROLE --out OUT` with every other flag at its command-line
    /// default (read from the flags' own definitions, so the two cannot differ).
    pub fn with_defaults(package: &str, role: &str, out: &Path) -> GenerateArgs {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            args: GenerateArgs,
        }
        let out = out.to_string_lossy();
        <Cli as clap::Parser>::try_parse_from(["generate", package, "--role", role, "--out", &out])
            .expect("the defaults parse")
            .args
    }

    /// The tempo asked for, else the default.
    pub fn tempo(&self) -> f64 {
        self.tempo.unwrap_or(DEFAULT_TEMPO)
    }
}

/// Sample rate of `--render`, Hz.
pub const RENDER_SAMPLE_RATE: u32 = 44_100;
/// Audio `--render` adds after the last bar, so the releases and cymbals ring out, seconds.
pub const RENDER_TAIL_S: f64 = 1.5;
/// Longest `--render`, seconds without the tail (30 minutes: 320 MB of WAV, twice that in memory).
pub const MAX_RENDER_S: f64 = 30.0 * 60.0;

/// The path a file would be written at: its folder resolved (links, `..`), then its name. Falls
/// back to the path as given when the folder does not exist.
fn resolved(path: &Path) -> PathBuf {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    match (dir.canonicalize(), path.file_name()) {
        (Ok(d), Some(name)) => d.join(name),
        _ => path.to_path_buf(),
    }
}

/// A 16-bit stereo WAV file of interleaved samples in [-1, 1] (clamped), in memory.
pub fn wav_bytes(samples: &[f32], sample_rate: u32) -> anyhow::Result<Vec<u8>> {
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut bytes = std::io::Cursor::new(Vec::with_capacity(44 + samples.len() * 2));
    {
        let mut w = hound::WavWriter::new(&mut bytes, spec)?;
        let mut w16 = w.get_i16_writer(samples.len() as u32 / 2 * 2);
        for &x in &samples[..samples.len() / 2 * 2] {
            w16.write_sample((x.clamp(-1.0, 1.0) * i16::MAX as f32).round() as i16);
        }
        w16.flush()?;
        w.finalize()?;
    }
    Ok(bytes.into_inner())
}

/// Renders `piece` from beat 0 to `end_beat` (plus [`RENDER_TAIL_S`]) into the WAV file `path`,
/// atomically; returns the length in seconds.
pub fn render_wav(piece: &Piece, end_beat: f64, path: &Path) -> anyhow::Result<f64> {
    let audio = models::synth::render_piece(piece, end_beat, RENDER_SAMPLE_RATE, RENDER_TAIL_S);
    crate::args::write_file_atomic(path, &wav_bytes(&audio, RENDER_SAMPLE_RATE)?)?;
    Ok(audio.len() as f64 / 2.0 / RENDER_SAMPLE_RATE as f64)
}

/// Parses a progression: one entry per bar (4/4), chords within a bar split evenly.
pub fn parse_progression(text: &str, bars: u32) -> anyhow::Result<Vec<ChordEvent>> {
    parse_progression_in(text, bars, 4.0)
}

/// [`parse_progression`] with bars of `bar_beats` beats.
pub fn parse_progression_in(text: &str, bars: u32, bar_beats: f64) -> anyhow::Result<Vec<ChordEvent>> {
    let per_bar = progression_bars(text)?;
    Ok(lay_out(&per_bar, bars, |b| (b as f64 * bar_beats, bar_beats)))
}

/// The chord events of a progression's bars ([`progression_bars`]) over `bars` bars of `meter`,
/// each bar as long as the meter makes it (a 3/4 bar three beats): the progression a folder of
/// pieces without chord symbols was played over (`trainer prepare --chords`).
pub fn progression_over(per_bar: &[Vec<Option<Chord>>], meter: &models::music::Meter, bars: u32) -> Vec<ChordEvent> {
    lay_out(per_bar, bars, |b| {
        let start = meter.bar_start(b);
        (start, meter.bar_start(b + 1) - start)
    })
}

/// The chords of each bar of a progression's text (bars split by spaces or `|`, chords in a bar by
/// commas; `NC` no chord).
pub fn progression_bars(text: &str) -> anyhow::Result<Vec<Vec<Option<Chord>>>> {
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
    Ok(per_bar)
}

/// The chord events of `bars` bars, the bars of `per_bar` repeating, each bar's chords splitting
/// it evenly; `bar(b)` is bar `b`'s start and length in beats.
fn lay_out(per_bar: &[Vec<Option<Chord>>], bars: u32, bar: impl Fn(u32) -> (f64, f64)) -> Vec<ChordEvent> {
    let mut out = Vec::new();
    for b in 0..bars {
        let chords = &per_bar[b as usize % per_bar.len()];
        let (start, beats) = bar(b);
        let step = beats / chords.len() as f64;
        for (i, c) in chords.iter().enumerate() {
            out.push(ChordEvent {
                start: start + i as f64 * step,
                chord: *c,
            });
        }
    }
    out
}

/// Conditioning from chord events and input onsets (in beats).
pub fn conditioning(chords: &[ChordEvent], inputs: &[models::music::Onset]) -> Conditioning {
    let mut cond = Conditioning::default();
    let tick = |beat: f64| (beat * TICKS_PER_BEAT as f64).round() as i64;
    for c in chords {
        cond.set_chord(tick(c.start), c.chord);
    }
    for o in inputs {
        cond.add_input(tick(o.start), o.pitch);
    }
    cond
}

/// Generates `bars` bars with `model` under `cond`.
pub fn generate_notes<M: TokenModel>(
    model: M,
    config: SessionConfig,
    cond: &Conditioning,
    bars: u32,
) -> anyhow::Result<Vec<GeneratedNote>> {
    let bar_ticks = config.bar_ticks();
    let mut s = Session::new(model, config, 0, cond).map_err(|e| anyhow::anyhow!("{e}"))?;
    s.generate_until(cond, bars as i64 * bar_ticks)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let end_beat = (bars as i64 * bar_ticks) as f64 / TICKS_PER_BEAT as f64;
    Ok(s.notes().copied().filter(|n| n.start < end_beat).collect())
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
    cond: &Conditioning,
    bars: u32,
) -> anyhow::Result<Vec<GeneratedNote>> {
    match model {
        AnyModel::Onnx(m) => generate_notes(*m, config, cond, bars),
        AnyModel::Markov(m) => generate_notes(m, config, cond, bars),
    }
}

/// A simple close voicing of a chord around middle C, for the chord track.
pub(crate) fn voicing(c: &Chord) -> Vec<u8> {
    let mut v: Vec<u8> = c
        .pitch_classes()
        .map(|pc| 48 + ((pc + 12 - c.root % 12) % 12) + c.root % 12)
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// The root of the chord in force on every beat of `bars` 4/4 bars, in the bass register.
pub fn root_onsets(chords: &[ChordEvent], bars: u32) -> Vec<models::music::Onset> {
    root_onsets_for(chords, bars * 4)
}

/// [`root_onsets`] over `beats` beats.
pub fn root_onsets_for(chords: &[ChordEvent], beats: u32) -> Vec<models::music::Onset> {
    (0..beats)
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

/// The notes of every track of a MIDI file, as one part in beats.
pub fn read_part(path: &std::path::Path) -> anyhow::Result<(Vec<Note>, Option<f64>)> {
    let (piece, report) = models::midi::read_file_with_report(path)?;
    if let Some(w) = report.warning(&piece) {
        eprintln!("warning: {}: {w}", path.display());
    }
    let mut notes: Vec<Note> = piece.tracks.iter().flat_map(|t| t.notes.iter().copied()).collect();
    notes.sort_by(|a, b| a.start.total_cmp(&b.start).then(a.pitch.cmp(&b.pitch)));
    Ok((notes, piece.tempo_map.first().map(|t| t.bpm)))
}

/// The chord events of a conditioning timeline, in beats.
fn chord_events(cond: &Conditioning) -> Vec<ChordEvent> {
    cond.chords
        .iter()
        .map(|(&t, &c)| ChordEvent {
            start: t as f64 / TICKS_PER_BEAT as f64,
            chord: c,
        })
        .collect()
}

/// The session settings of `trainer generate` for a package: the plugin's defaults for the role.
pub fn session_config(pkg: &Package, role: Role, args: &GenerateArgs) -> anyhow::Result<SessionConfig> {
    let mut config = SessionConfig::for_model(role, &pkg.manifest);
    config.tempo_bpm = Some(args.tempo());
    config.seed = session_seed(args.seed);
    config.sampler = pkg.manifest.sampler_for(
        role,
        SamplerConfig {
            temperature: args.temperature,
            top_k: args.top_k,
            top_p: args.top_p,
        },
    );
    config.constraints = pkg.manifest.constraints_for(
        role,
        Constraints {
            density: args.density,
            // Through the role's tuned pull (none for drums): `Manifest::constraints_for`.
            chord_tones: args.harmony,
            ..Constraints::for_role(role)
        },
    );
    config.constraints.memory = config.constraints.memory.scaled(args.memory / 100.0);
    config.opening = pkg.manifest.opening_slot();
    for style in &args.style {
        let slot = pkg.manifest.vocab.style_slot(style).with_context(|| {
            format!(
                "style {style:?} is not in the package (it has: {})",
                pkg.manifest.vocab.styles.join(", ")
            )
        })?;
        config.styles.push(slot);
    }
    if let Some(players) = &pkg.manifest.players {
        let choice = match args.player.as_str() {
            "auto" => Some(PlayerChoice::Auto),
            "none" => None,
            name if players.is_player(name) => pkg.manifest.vocab.style_slot(name).map(PlayerChoice::Slot),
            name => bail!(
                "{name:?} is not a player of {} (it has: auto, none, {})",
                pkg.manifest.name,
                players.names().join(", ")
            ),
        };
        if let Some(c) = choice {
            players.complete(&pkg.manifest.vocab, &mut config.styles, c, config.seed);
        }
    } else if !matches!(args.player.as_str(), "auto" | "none") {
        let names = pkg.manifest.phrasing_players(role);
        if !names.contains(&args.player.as_str()) {
            bail!(
                "{:?} is not a player of {} for {role} (it has: auto, none{}{})",
                args.player,
                pkg.manifest.name,
                if names.is_empty() { "" } else { ", " },
                names.join(", ")
            );
        }
        pkg.manifest
            .phrasing_of(role, Some(&args.player))
            .apply(&mut config.constraints);
    }
    if args.fills > 0 && !role.is_drums() {
        bail!("--fills is for the drums role (got --role {role})");
    }
    if role.is_drums() {
        // A model trained on beats and fills plays beats, and a fill where asked.
        config.fills = FillPlan::new(&pkg.manifest.vocab, args.fills);
        if args.fills > 0 && config.fills.is_none() {
            bail!(
                "--fills needs a model that learned fills (a `fill` style tag); {} has none",
                pkg.manifest.name
            );
        }
    }
    Ok(config)
}

/// `trainer generate`.
pub fn run(args: &GenerateArgs) -> anyhow::Result<()> {
    let t0 = std::time::Instant::now();
    let inputs: Vec<&std::path::Path> = args.input.iter().chain(&args.prompt).map(|p| p.as_path()).collect();
    crate::args::check_output(&args.out, &inputs, args.force)?;
    let pkg = Package::open(&args.package).with_context(|| format!("cannot open the model {}", args.package))?;
    let role = Role::parse(&args.role).with_context(|| format!("unknown role {:?}", args.role))?;
    let prompt = match &args.prompt {
        Some(path) => Some(crate::prompt::load(path, role, args.prompt_bars)?),
        None => None,
    };
    let tempo = args
        .tempo
        .or_else(|| prompt.as_ref().and_then(|p| p.tempo_bpm))
        .unwrap_or(DEFAULT_TEMPO);
    let (numerator, denominator) = match (&prompt, args.meter) {
        (Some(p), Some(m)) if m != (p.numerator, p.denominator) => bail!(
            "--meter {}/{} is not the prompt's {}/{}: a prompt is continued in its own meter (nothing was written)",
            m.0,
            m.1,
            p.numerator,
            p.denominator
        ),
        (Some(p), _) => (p.numerator, p.denominator),
        (None, m) => m.unwrap_or((4, 4)),
    };
    let meter = Meter::constant(numerator, denominator);
    let prompt_bars = prompt.as_ref().map_or(0, |p| p.bars);
    let prompt_beats = meter.bar_start(prompt_bars);
    let end = meter.bar_start(prompt_bars + args.bars);
    if let Some(wav) = &args.render {
        if resolved(wav) == resolved(&args.out) {
            bail!(
                "--render {} is the --out file: choose another name for the WAV (nothing was written)",
                wav.display()
            );
        }
        crate::args::check_output(wav, &inputs, args.force)?;
        let seconds = end * 60.0 / tempo;
        if seconds > MAX_RENDER_S {
            bail!(
                "--render makes at most {} minutes of audio, and {} bars at {} BPM last {:.0} minutes: \
                 give fewer --bars or a faster --tempo (nothing was written)",
                MAX_RENDER_S / 60.0,
                prompt_bars + args.bars,
                tempo,
                seconds / 60.0
            );
        }
    }
    if !pkg.manifest.roles.contains(&role) {
        eprintln!("warning: {} was not trained for role {role}", pkg.manifest.name);
    }
    let mut config = session_config(&pkg, role, args)?;
    config.tempo_bpm = Some(tempo);
    (config.numerator, config.denominator) = (numerator, denominator);
    if let Some(players) = &pkg.manifest.players
        && args.player == "auto"
    {
        let vocab = &pkg.manifest.vocab;
        let mut named = config.styles.iter().filter_map(|&s| vocab.styles.get(s as usize));
        if let Some(p) = named.rfind(|t| players.is_player(t)) {
            eprintln!("player: {p} (--player auto; --player NAME picks one)");
        }
    }
    if let Some(p) = &prompt {
        p.configure(&mut config);
    }
    let bar_beats = meter.bar_start(1);
    let (cond, input_notes) = match (&args.input, &args.chords) {
        (Some(path), _) => {
            let (notes, _) = read_part(path)?;
            let pedal = models::midi::read_file_pedal(path)?;
            (
                InputFollower::follow_part(
                    &notes,
                    &pedal,
                    config.write_inputs,
                    Some(models::generate::beat_to_tick(bar_beats)),
                ),
                notes,
            )
        }
        (None, Some(text)) => {
            // The progression starts after the prompt; the prompt keeps its own chords.
            let mut chords: Vec<ChordEvent> = prompt.as_ref().map_or_else(Vec::new, |p| p.chords.clone());
            chords.extend(
                parse_progression_in(text, args.bars, bar_beats)?
                    .into_iter()
                    .map(|c| ChordEvent {
                        start: c.start + prompt_beats,
                        ..c
                    }),
            );
            let voiced = voiced_chords(&chords, prompt_beats, end);
            (conditioning_for(&chords, &config, end), voiced)
        }
        (None, None) if prompt.is_some() => {
            let chords = prompt.as_ref().map_or_else(Vec::new, |p| p.chords.clone());
            (conditioning_for(&chords, &config, end), Vec::new())
        }
        // Drums, and the piano (a piano part is learned alone when it is the only harmonic part, as
        // in the Lieder: `models::tokenizer::role_chords`), play without chords.
        (None, None) if role.is_drums() || role == Role::Piano => (Conditioning::default(), Vec::new()),
        (None, None) => bail!("give --chords, --input or --prompt (only drums and piano play without them)"),
    };
    let model = load_model(&pkg, args.fp32)?;
    let feel = Feel {
        amount: args.feel / 100.0,
        swing: args.swing / 100.0,
        unit: if args.swing_16ths {
            SwingUnit::Sixteenths
        } else {
            SwingUnit::Eighths
        },
    };
    let total_bars = prompt_bars + args.bars;
    let notes: Vec<GeneratedNote> = generate_any(model, config, &cond, total_bars)?
        .into_iter()
        .map(|n| {
            let (start, duration) = place_note(n.start, n.duration, &feel);
            GeneratedNote { start, duration, ..n }
        })
        .collect();
    let generated: Vec<Note> = notes.iter().map(|&n| Note::from(n)).collect();
    let shift = if args.continuation_only { prompt_beats } else { 0.0 };
    let mut part: Vec<Note> = match (&prompt, args.continuation_only) {
        (Some(p), false) => p.notes.clone(),
        _ => Vec::new(),
    };
    part.extend(generated.iter().map(|n| Note {
        start: n.start - shift,
        ..*n
    }));
    // The notes as the plugin plays them: a retriggered key ends the note that sounds.
    models::music::end_at_retrigger(&mut part);
    let lead = Track {
        name: format!("Sideman {role}"),
        channel: if role.is_drums() { 9 } else { 0 },
        program: if role.is_drums() {
            None
        } else {
            Some(if role == Role::Bass { 32 } else { 65 })
        },
        role,
        notes: part,
    };
    let chord_track = Track {
        name: if args.input.is_some() { "Input" } else { "Chords" }.into(),
        channel: 1,
        program: Some(0),
        role: Role::Comping,
        notes: input_notes
            .into_iter()
            .filter(|n| n.start >= shift - 1e-9)
            .map(|n| Note {
                start: n.start - shift,
                ..n
            })
            .collect(),
    };
    let piece = Piece {
        meter: meter.clone(),
        tempo_map: vec![TempoChange { beat: 0.0, bpm: tempo }],
        chords: chord_events(&cond)
            .into_iter()
            .filter(|c| c.start < end && c.start >= shift - 1e-9)
            .map(|c| ChordEvent {
                start: c.start - shift,
                ..c
            })
            .collect(),
        tracks: if chord_track.notes.is_empty() {
            vec![lead]
        } else {
            vec![lead, chord_track]
        },
    };
    crate::args::write_file_atomic(&args.out, &models::midi::write_smf(&piece))?;
    println!(
        "{} notes over {} bars -> {} ({:.2} s)",
        notes.len(),
        args.bars,
        args.out.display(),
        t0.elapsed().as_secs_f64()
    );
    if let Some(p) = &prompt {
        println!(
            "continued a {}-bar prompt in {}/{} ({} notes): pitch-class overlap with the prompt {:.2}",
            p.bars,
            p.numerator,
            p.denominator,
            p.notes.len(),
            crate::prompt::pitch_class_overlap(&p.notes, &generated)
        );
    }
    if let Some(wav) = &args.render {
        let t1 = std::time::Instant::now();
        let seconds = render_wav(&piece, end - shift, wav)?;
        println!(
            "{seconds:.1} s of audio -> {} ({:.2} s)",
            wav.display(),
            t1.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// Conditioning for `chords` up to beat `end`, with what a user who only has these chords would
/// give a role trained with input: a role that hears a bass (the lead, the comping) gets the
/// chord roots on every beat as a stand-in bass line; a role that hears the harmony (the band's
/// bass hears the comping) gets the chords struck where they change, as the plugin hears a user
/// who holds them ([`crate::eval::chord_onsets`], what `trainer eval --chords-as-input` and the
/// training setting `input_as_chords` give it). A role whose model heard no input in training
/// (`config.write_inputs` false: `models::package::Manifest::no_input`) gets none.
fn conditioning_for(chords: &[ChordEvent], config: &SessionConfig, end: f64) -> Conditioning {
    let hears = SequenceSpec::default_for(config.role).conditioning;
    let inputs = if !config.write_inputs || hears.is_empty() {
        Vec::new()
    } else if hears.contains(&Role::Bass) {
        root_onsets_for(chords, end.ceil() as u32)
    } else {
        crate::eval::chord_onsets(chords)
    };
    conditioning(chords, &inputs)
}

/// A chord track: each chord of `chords` from `from` on, voiced, held until the next one.
fn voiced_chords(chords: &[ChordEvent], from: f64, end: f64) -> Vec<Note> {
    let mut voiced = Vec::new();
    for (i, c) in chords.iter().enumerate() {
        let until = chords.get(i + 1).map_or(end, |n| n.start);
        if c.start < from - 1e-9 {
            continue;
        }
        if let Some(ch) = c.chord {
            for p in voicing(&ch) {
                voiced.push(Note {
                    start: c.start,
                    duration: (until - c.start).max(0.25),
                    pitch: p,
                    velocity: 60,
                });
            }
        }
    }
    voiced.sort_by(|a, b| a.start.total_cmp(&b.start).then(a.pitch.cmp(&b.pitch)));
    voiced
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--chords` gives a role trained with input what a user with those chords gives it: the
    /// band's bass (which hears the comping) the chords struck where they change, the lead and the
    /// comping (which hear a bass) the roots on every beat, the drums nothing.
    #[test]
    fn chords_alone_give_each_role_the_input_it_was_trained_to_hear() {
        let chords = parse_progression("Dm7 G7", 2).unwrap();
        let tick = |beat: i64| beat * TICKS_PER_BEAT as i64;
        let bass = conditioning_for(&chords, &SessionConfig::new(Role::Bass), 8.0);
        let struck: Vec<(i64, Vec<u8>)> = bass.inputs.into_iter().collect();
        let dm7 = Chord::parse("Dm7").unwrap().unwrap();
        let g7 = Chord::parse("G7").unwrap().unwrap();
        let voiced = |c: &Chord| {
            let mut v = voicing(c);
            v.sort_unstable();
            v
        };
        assert_eq!(struck, vec![(tick(0), voiced(&dm7)), (tick(4), voiced(&g7))]);
        for role in [Role::Lead, Role::Comping] {
            let c = conditioning_for(&chords, &SessionConfig::new(role), 8.0);
            let roots: Vec<(i64, Vec<u8>)> = c.inputs.into_iter().collect();
            let expect: Vec<(i64, Vec<u8>)> = (0..8).map(|b| (tick(b), vec![if b < 4 { 38 } else { 43 }])).collect();
            assert_eq!(roots, expect, "{role:?}");
            assert_eq!(c.chords.len(), 2);
        }
        assert!(
            conditioning_for(&chords, &SessionConfig::new(Role::Drums), 8.0)
                .inputs
                .is_empty()
        );
    }

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
