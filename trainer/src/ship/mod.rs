//! `trainer ship`: turns an evaluated package into a default model (a Markov package is copied whole) under `models/assets/`: the
//! int8 graph only (the fp32 one stays in the run's package), its manifest, and a model card
//! (`CARD.md`) written from the manifest's facts and metrics, so the card cannot drift from the
//! model it describes.

mod card;
mod values;

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use models::Role;
use models::package::{ModelKind, Package};

pub use card::card;
use card::{DEFAULT_RECIPE, card_section, graph_row, split_label};
pub(crate) use values::role_value;
use values::*;

/// Arguments of `trainer ship`.
#[derive(Debug, Args)]
pub struct ShipArgs {
    /// Evaluated package (from `trainer export`, then `trainer eval --write`), or `builtin:<id>`
    /// to rewrite a default model's asset folder (its card, say) from the built-in copy.
    pub package: String,
    /// Asset folder to write (for example `models/assets/jazz-lead`).
    #[arg(long)]
    pub out: PathBuf,
    /// Name shown in the plugin's model picker.
    #[arg(long)]
    pub name: Option<String>,
    /// How the package was built (the commands), for the card.
    #[arg(long, default_value = DEFAULT_RECIPE)]
    pub recipe: String,
    /// Keep the music report (if it has one) and "How it was built" of the card already in
    /// `--out` (a ship that changes nothing the report measured: a manifest field its pieces do
    /// not reach), instead of a `--report` (and of the default `--recipe`).
    #[arg(long, conflicts_with = "report")]
    pub keep_card: bool,
    /// The package's `trainer eval --json` report (its music report goes into the card).
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// The previous model's `trainer eval --json` report on the same split, shown beside it.
    #[arg(long, requires = "report")]
    pub previous: Option<PathBuf>,
    /// What the previous report's column is called (default: "previous model (<its package>)").
    #[arg(long, requires = "previous")]
    pub previous_name: Option<String>,
    /// A role's tuned temperature of the choice of note, `ROLE=T` (repeat per role; `ROLE=1`
    /// removes one): what the plugin's Temperature 1 plays that role at with this model. Choose it
    /// on the validation split (`trainer eval --split valid --temperature T` on the exported
    /// package), then evaluate the shipped one for its card.
    #[arg(long, value_parser = note_temperature)]
    pub note_temperature: Vec<(Role, f32)>,
    /// A role's tuned top-p of the choice of note, `ROLE=P` (0.5-1; `ROLE=0.95` removes one): what
    /// the plugin's default Top-p (0.95) plays that role at with this model, the user's cut
    /// scaled by it (`SamplerConfig::top_p_relative_to`). Choose it on the validation split
    /// (`trainer eval --split valid --top-p P`), then evaluate the shipped one for its card.
    #[arg(long, value_parser = note_top_p)]
    pub note_top_p: Vec<(Role, f32)>,
    /// A role's tuned Harmony, `ROLE=NATS` (0-4; `ROLE=0.24` removes one): the chord-tone pull the
    /// plugin's default Harmony (6 %, 0.24 nat) plays that role at with this model, the user's
    /// setting mapped through it (`models::sampling::tuned_harmony`: 0 stays the network alone,
    /// 100 % the full pull). Fit it where the network alone already plays its humans' chord tones.
    #[arg(long, value_parser = harmony)]
    pub harmony: Vec<(Role, f32)>,
    /// A role's rest calibration, `ROLE=NATS` (within -4 and 4; `ROLE=0` removes one): added to
    /// resting until the next given event at each timing decision. Fit it on the training pieces,
    /// where a language model sampled at temperature 1 should play as densely as its data
    /// (`cargo run --release -p sideman-trainer --example piece_density`), then evaluate the
    /// shipped package on the test split for its card.
    #[arg(long, value_parser = rest_bias, allow_hyphen_values = true)]
    pub rest_bias: Vec<(Role, f32)>,
    /// A role's density calibration, `ROLE=NATS` (within -4 and 4; `ROLE=0` removes one): added to
    /// starting a note at every decision, so that the plugin's Density 50 % plays as densely as
    /// the data at the tuned note temperature. Choose it on the validation split by shipping each
    /// candidate into a copy and evaluating the copy (`trainer eval --density D` also tilts the
    /// rhythm since 2026-12-02, so a D no longer stands for the note bias 2 ln(D / (1 - D))),
    /// then evaluate the shipped package on the test split for its card.
    #[arg(long, value_parser = note_bias, allow_hyphen_values = true)]
    pub note_bias: Vec<(Role, f32)>,
    /// A role's fast-tempo rest calibration, `ROLE=NATS` (within -2 and 2; `ROLE=0` removes one):
    /// nats per beat of the gap to the next onset, per doubling of the tempo above 150 BPM, added
    /// to resting longer. Fit it on the training pieces by tempo at the plugin's defaults
    /// (`SAMPLING=model` with the `piece_density` example on copies shipped with each value), choose
    /// it on the validation split, then evaluate the shipped package on the test split.
    #[arg(long, value_parser = fast_rest, allow_hyphen_values = true)]
    pub fast_rest: Vec<(Role, f32)>,
    /// A role's entry calibration, `ROLE=NATS` (within -2 and 2; `ROLE=0` removes one): nats per
    /// beat of the gap to the next onset in the first bar of a stream that starts fresh, halving
    /// each bar for four bars, added to resting longer (soloists enter late and build). Fit it on
    /// the training pieces' first bars at the plugin's defaults (`SAMPLING=model BARS=4` with the
    /// `piece_density` example on copies shipped with each value), check it on the validation
    /// split, then evaluate the shipped package on the test split.
    #[arg(long, value_parser = entry_rest, allow_hyphen_values = true)]
    pub entry_rest: Vec<(Role, f32)>,
    /// A role's silence calibration, `ROLE=NATS` (within -2 and 2; `ROLE=0` removes one): nats
    /// its choice of time pays for each beat in which none of its notes sound (negative: it
    /// rests more). Fit it on the training pieces' empty beats at the plugin's defaults
    /// (`SAMPLING=model` with the `piece_density` example on copies shipped with each value),
    /// check it on the validation split, then evaluate the shipped package on the test split.
    #[arg(long, value_parser = silence, allow_hyphen_values = true)]
    pub silence: Vec<(Role, f32)>,
    /// A role's silence calibration by player, `ROLE=FILE`: a JSON object of nats by player (a
    /// tag of the training data naming who played a piece: `{"Miles Davis": -0.9}`, each within
    /// -2 and 2), the silence the role plays when a session names that player (the plugin's
    /// Player, `generate --player`, a piece's soloist in the music report); `ROLE=none` removes
    /// them. `scripts/player-silence.py fit` writes one from `piece_density` tables of the
    /// training pieces at a grid of `--silence` values (models/README.md, "The soloist's
    /// phrasing").
    #[arg(long, value_parser = player_file)]
    pub player_silence: Vec<(Role, Option<PathBuf>)>,
    /// A pitched role's fast-note calibration, `ROLE=NATS` (within -4 and 4; `ROLE=0` removes
    /// one): nats its choice of time pays for starting a note right after its last onset, falling
    /// to nothing at 160 ms, so a line that plays more fast notes than its humans plays fewer.
    /// Fit it with the silence calibration on the training pieces' notes a bar and empty beats.
    #[arg(long, value_parser = fast_notes, allow_hyphen_values = true)]
    pub fast_notes: Vec<(Role, f32)>,
    /// A role's fast-note calibration by player, `ROLE=FILE`: a JSON object of nats by player
    /// (each within -4 and 4), as `--player-silence`'s; `ROLE=none` removes them.
    /// `scripts/player-silence.py fit` writes both from a grid of silence and fast-note values
    /// (models/README.md, "A soloist's fast notes").
    #[arg(long, value_parser = player_file)]
    pub player_fast_notes: Vec<(Role, Option<PathBuf>)>,
    /// A role's duration calibration, `ROLE=T` (within 0.2 and 2; `ROLE=1` removes one): the
    /// temperature of its choice of a note's length, below 1 trimming the long lengths a network
    /// gives grooves it has not heard. Choose it on the validation split (`trainer eval` on copies
    /// shipped with each value), then evaluate the shipped package on the test split for its card.
    #[arg(long, value_parser = duration_temperature)]
    pub duration_temperature: Vec<(Role, f32)>,
    /// A role's velocity calibration, `ROLE=T` (within 0.2 and 2; `ROLE=1` removes one): the
    /// temperature of its choice of a note's velocity, below 1 keeping its dynamics on their
    /// likeliest shading. Choose it on the validation split (`trainer eval` on copies shipped with
    /// each value; the report's velocity spread), then evaluate the shipped package on the test
    /// split for its card.
    #[arg(long, value_parser = velocity_temperature)]
    pub velocity_temperature: Vec<(Role, f32)>,
    /// A role's piece memory, `ROLE=W1,W2,...` or, chord-relative, `ROLE=rel:W1,W2,...` (up to
    /// sixteen weights within 0 and `models::memory::MAX_WEIGHT`, one per match length and period,
    /// `models::memory::cell`; `ROLE=0` removes one), as `trainer memory` prints it.
    #[arg(long, value_parser = memory_weights)]
    pub memory: Vec<(Role, models::package::MemorySpec)>,
    /// A pitched role's memory of the changes, `ROLE=NOTE,TIME[,SHARE]`: its weights in the
    /// choice of note and in the choice of time, each within 0 and `models::memory::MAX_WEIGHT`,
    /// and the share of bars in which it plays, within 0 and 1 (every bar when left out; each
    /// bar drawn once, `models::memory::changes::plays_bar`) (`ROLE=0` removes one;
    /// `models::memory::changes`). Choose them on the validation split (`trainer eval` on copies
    /// shipped with each, and with `--chords-as-input`), then evaluate on the test split.
    #[arg(long, value_parser = changes_weights)]
    pub changes: Vec<(Role, Vec<f32>)>,
    /// A pitched role's memory of its groove's rhythm, `ROLE=WEIGHT[,SHARE]`: its weight in the
    /// choice of time, within 0 and `models::memory::MAX_WEIGHT`, and the share of bars in which
    /// it plays, within 0 and 1 (every bar when left out), in the bars where the memory of the
    /// changes does not (`ROLE=0` removes one; `models::memory::changes::rhythm_lag`). Choose
    /// them on the validation split, as the memory of the changes.
    #[arg(long, value_parser = rhythm_weights)]
    pub rhythm: Vec<(Role, Vec<f32>)>,
    /// A pitched role's memory of a phrase come round, `ROLE=WEIGHT[,SHARE]`: its weight in the
    /// choice of note and of time, within 0 and `models::memory::PHRASE_MAX_WEIGHT`, and the
    /// share of bars in which it plays, within 0 and 1 (every bar when left out), where the bar
    /// before came round with this one's changes, in place of the memory of the changes
    /// (`ROLE=0` removes one; `models::memory::changes::phrase_lag`). Choose them on the
    /// validation split, as the memory of the changes.
    #[arg(long, value_parser = phrase_weights)]
    pub phrase: Vec<(Role, Vec<f32>)>,
    /// A monophonic role's memory of a figure come round, `ROLE=WEIGHT,START,GO_ON`: its weight
    /// in the choice of note, within 0 and `models::memory::MAX_WEIGHT`; the share of the places
    /// where a figure starts (where the last bar of changes came round), within 0 and 1; the
    /// chance that a figure goes on after each note past four, within 0 and 1 (`ROLE=0` removes
    /// one; `models::memory::figure`). Fit the chance on the training pieces' figures, the share
    /// on their bars played again, and check on the validation split.
    #[arg(long, value_parser = figure_weights)]
    pub figure: Vec<(Role, Vec<f32>)>,
    /// A prepared dataset (`trainer prepare --out`), the model's training data: writes the
    /// register of each pitched role, the pitches it played in the training split
    /// (`models::package::Manifest::register`). Models exported since 2026-12-03 carry it already.
    #[arg(long)]
    pub register_from: Option<PathBuf>,
    /// A prepared dataset, the model's training data: writes the bars of each time signature
    /// in its training split (`models::package::Manifest::meters`), so that a session in a meter
    /// the network never learned writes its stream in learned bars (`models::meters`). Models
    /// exported since 2026-12-05 carry it already.
    #[arg(long)]
    pub meters_from: Option<PathBuf>,
    /// A prepared dataset, the model's training data: writes the roles its training split gave
    /// nothing to hear (`models::package::Manifest::no_input`: no `IN` onset in any of their
    /// sequences, as the WJazzD bass), whom a session then gives no input, and the roles it gave
    /// no chord (`models::package::Manifest::no_chords`: the folk tunes, the chorales, the
    /// Lieder's piano), whom a session then writes no chord. Models exported since 2026-12-06
    /// carry them already.
    #[arg(long)]
    pub inputs_from: Option<PathBuf>,
    /// A pitched role's register hold, `ROLE=SEMITONES` (within 0 and 48; `ROLE=0` removes one):
    /// how far it may go beyond the lowest and highest note it has played this take once it has
    /// played 16 (`models::sampling::hold_register`). Choose it on the validation split over long takes
    /// (`trainer eval --sample-bars 48` on copies shipped with each).
    #[arg(long, value_parser = register_hold)]
    pub register_hold: Vec<(Role, f32)>,
    /// A pitched role's length hold, `ROLE=TIMES` (within 1 and 8; `ROLE=0` removes one): once it
    /// has played 16 notes this take, a note may last at most that many times the longest it has
    /// played (`models::sampling::hold_length`). Choose it on the validation split over long takes.
    #[arg(long, value_parser = length_hold)]
    pub length_hold: Vec<(Role, f32)>,
    /// A prepared dataset (`trainer prepare --out`) whose training pieces name their player (the
    /// GMD's `drummer1`..): writes who played which style, so the plugin's Player picks one beside
    /// the Style or draws one (Auto) among those who played it (`models::players`).
    #[arg(long)]
    pub players: Option<PathBuf>,
    /// The prefix of the player tags of `--players` (a tag is a player's when it is the prefix
    /// followed by digits).
    #[arg(long, default_value = "drummer", requires = "players")]
    pub player_prefix: String,
}

/// Who played which style in `data`'s training beats (a piece tagged `beat`, or any piece where no
/// piece is), counting only tags the model's vocabulary has.
pub fn count_players(
    data: &std::path::Path,
    prefix: &str,
    vocab: &models::tokenizer::vocab::Vocab,
) -> anyhow::Result<models::players::Players> {
    let ds = crate::dataset::Dataset::open(data)?;
    let is_player = |t: &str| {
        t.strip_prefix(prefix)
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    };
    let files = &ds.manifest.files;
    let any_beat = files.iter().any(|f| f.styles.iter().any(|t| t == "beat"));
    let beats = files
        .iter()
        .filter(|f| f.split == crate::dataset::Split::Train)
        .filter(|f| !any_beat || f.styles.iter().any(|t| t == "beat"))
        .map(|f| f.styles.as_slice());
    let mut p = models::players::Players::count(beats, is_player, |t| {
        t == "beat" || t == "fill" || t == models::tokenizer::vocab::OPENING_STYLE
    });
    p.all.retain(|t, _| vocab.style_slot(t).is_some());
    p.by_style.retain(|t, _| vocab.style_slot(t).is_some());
    for c in p.by_style.values_mut() {
        c.retain(|t, _| vocab.style_slot(t).is_some());
    }
    if p.all.is_empty() {
        bail!(
            "{}: no training piece names a player (a style tag {prefix}N) the model knows",
            data.display()
        );
    }
    Ok(p)
}

/// Which of a pitched role's memories a `ship` option sets.
#[derive(Debug, Clone, Copy)]
enum Which {
    Changes,
    Rhythm,
    Phrase,
    Figure,
}

/// Sets each role's value in `map` (by role name), or removes it where it is `neutral`; every role
/// must be one the model plays.
fn set_per_role(
    map: &mut std::collections::BTreeMap<String, f32>,
    values: &[(Role, f32)],
    neutral: f32,
    manifest_roles: &[Role],
    name: &str,
) -> anyhow::Result<()> {
    for &(role, v) in values {
        if !manifest_roles.contains(&role) {
            bail!("{name} does not play the {role} role");
        }
        if v == neutral {
            map.remove(role.name());
        } else {
            map.insert(role.name().to_string(), v);
        }
    }
    Ok(())
}

fn read_report(p: &std::path::Path) -> anyhow::Result<crate::eval::Report> {
    let text = std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not a `trainer eval --json` report", p.display()))
}

/// `trainer ship`.
pub fn run(args: &ShipArgs) -> anyhow::Result<()> {
    let pkg = Package::open(&args.package).with_context(|| format!("cannot open the model {}", args.package))?;
    let mut manifest = pkg.manifest.clone();
    // A fine-tuned model lists the data of its starting package and its own: once each.
    let mut seen = std::collections::BTreeSet::new();
    manifest.data.retain(|d| seen.insert(d.name.clone()));
    if let Some(name) = &args.name {
        manifest.name = name.clone();
    }
    let roles = manifest.roles.clone();
    set_per_role(
        &mut manifest.note_temperature,
        &args.note_temperature,
        1.0,
        &roles,
        &manifest.name,
    )?;
    set_per_role(
        &mut manifest.note_top_p,
        &args.note_top_p,
        models::sampling::DEFAULT_TOP_P,
        &roles,
        &manifest.name,
    )?;
    set_per_role(
        &mut manifest.harmony,
        &args.harmony,
        models::sampling::DEFAULT_CHORD_TONES,
        &roles,
        &manifest.name,
    )?;
    set_per_role(&mut manifest.rest_bias, &args.rest_bias, 0.0, &roles, &manifest.name)?;
    set_per_role(&mut manifest.note_bias, &args.note_bias, 0.0, &roles, &manifest.name)?;
    set_per_role(
        &mut manifest.register_hold,
        &args.register_hold,
        0.0,
        &roles,
        &manifest.name,
    )?;
    set_per_role(
        &mut manifest.length_hold,
        &args.length_hold,
        0.0,
        &roles,
        &manifest.name,
    )?;
    set_per_role(&mut manifest.fast_rest, &args.fast_rest, 0.0, &roles, &manifest.name)?;
    set_per_role(&mut manifest.entry_rest, &args.entry_rest, 0.0, &roles, &manifest.name)?;
    set_per_role(&mut manifest.silence, &args.silence, 0.0, &roles, &manifest.name)?;
    set_per_role(&mut manifest.fast_notes, &args.fast_notes, 0.0, &roles, &manifest.name)?;
    let by_player = [
        (&mut manifest.player_silence, &args.player_silence, "silence", 2.0),
        (
            &mut manifest.player_fast_notes,
            &args.player_fast_notes,
            "fast-note calibration",
            4.0,
        ),
    ];
    for (map, files, what, bound) in by_player {
        for (role, file) in files {
            if !roles.contains(role) {
                bail!("{} does not play the {role} role", manifest.name);
            }
            match file {
                Some(f) => map.insert(role.name().to_string(), read_player_values(f, what, bound)?),
                None => map.remove(role.name()),
            };
        }
    }
    set_per_role(
        &mut manifest.duration_temperature,
        &args.duration_temperature,
        1.0,
        &roles,
        &manifest.name,
    )?;
    set_per_role(
        &mut manifest.velocity_temperature,
        &args.velocity_temperature,
        1.0,
        &roles,
        &manifest.name,
    )?;
    for (role, w) in &args.memory {
        if !roles.contains(role) {
            bail!("{} does not play the {role} role", manifest.name);
        }
        // The role's other memories (of the changes, the groove's rhythm, a phrase or a figure
        // come round) stay as they were.
        let mut m = manifest.memory.remove(role.name()).unwrap_or_default();
        m.relative = w.relative;
        m.weights = w.weights.clone();
        if speaks(&m) {
            manifest.memory.insert(role.name().to_string(), m);
        }
    }
    for (role, w, which) in args
        .changes
        .iter()
        .map(|(r, w)| (r, w, Which::Changes))
        .chain(args.rhythm.iter().map(|(r, w)| (r, w, Which::Rhythm)))
        .chain(args.phrase.iter().map(|(r, w)| (r, w, Which::Phrase)))
        .chain(args.figure.iter().map(|(r, w)| (r, w, Which::Figure)))
    {
        if !roles.contains(role) {
            bail!("{} does not play the {role} role", manifest.name);
        }
        let mut m = manifest.memory.remove(role.name()).unwrap_or_default();
        let values = if w.iter().all(|&x| x == 0.0) {
            Vec::new()
        } else {
            w.clone()
        };
        match which {
            Which::Changes => m.changes = values,
            Which::Rhythm => m.rhythm = values,
            Which::Phrase => m.phrase = values,
            Which::Figure => m.figure = values,
        }
        if speaks(&m) {
            manifest.memory.insert(role.name().to_string(), m);
        }
    }
    if let Some(data) = &args.register_from {
        let ds = crate::dataset::Dataset::open(data)?;
        manifest.register = ds.load_split(crate::dataset::Split::Train)?.registers();
        manifest.register.retain(|r, _| roles.iter().any(|m| m.name() == r));
    }
    if let Some(data) = &args.inputs_from {
        let split = crate::dataset::Dataset::open(data)?.load_split(crate::dataset::Split::Train)?;
        manifest.no_input = split.roles_without_input();
        manifest.no_input.retain(|r| roles.iter().any(|m| m.name() == r));
        manifest.no_chords = split.roles_without_chords();
        manifest.no_chords.retain(|r| roles.iter().any(|m| m.name() == r));
    }
    if let Some(data) = &args.meters_from {
        manifest.meters = crate::dataset::Dataset::open(data)?
            .load_split(crate::dataset::Split::Train)?
            .meters();
    }
    if let Some(data) = &args.players {
        manifest.players = Some(count_players(data, &args.player_prefix, &manifest.vocab)?);
    }
    let cannot_write = |p: &std::path::Path| format!("cannot write {}", p.display());
    std::fs::create_dir_all(&args.out).with_context(|| cannot_write(&args.out))?;
    let (file, fp32_size) = match &mut manifest.model {
        ModelKind::Transformer { fp32, int8, .. } => {
            let Some(int8_file) = int8.clone() else {
                bail!("{} has no int8 variant (export without --no-int8)", args.package);
            };
            let fp32_size = fp32
                .take()
                .and_then(|f| std::fs::metadata(pkg.file(&f)).map(|m| m.len()).ok());
            (int8_file, fp32_size)
        }
        ModelKind::Markov { file, .. } => (file.clone(), None),
    };
    // The fp32 graph stays behind: its size is kept in the manifest, so a card rewritten from
    // the shipped copy (`ship builtin:<id>`) still shows it.
    let fp32_size = match fp32_size {
        Some(b) => {
            manifest.metrics.insert("fp32_bytes".into(), b as f64);
            Some(b)
        }
        None => manifest.metrics.get("fp32_bytes").map(|&b| b as u64),
    };
    let bytes = pkg.read(&file)?;
    // The report and recipe to keep, read before the card is written over.
    let (kept_report, recipe) = if args.keep_card {
        let path = args.out.join("CARD.md");
        let text =
            std::fs::read_to_string(&path).with_context(|| format!("--keep-card: cannot read {}", path.display()))?;
        let section = card_section(&text, "\n## Music report");
        let built = card_section(&text, "\n## How it was built\n\n");
        let recipe = match built.strip_prefix("\n## How it was built\n\n") {
            Some(r) if args.recipe == DEFAULT_RECIPE => r.trim_end().to_string(),
            _ => args.recipe.clone(),
        };
        (Some(section.to_string()).filter(|s| !s.is_empty()), recipe)
    } else {
        (None, args.recipe.clone())
    };
    if pkg.is_builtin() || args.out.canonicalize().ok() != pkg.dir.canonicalize().ok() {
        let to = args.out.join(&file);
        std::fs::write(&to, &bytes).with_context(|| cannot_write(&to))?;
    }
    Package::write(&args.out, &mut manifest)?;
    let mut card = card(&manifest, bytes.len() as u64, fp32_size, &recipe);
    if let Some(row) = graph_row(&bytes) {
        // After the decode speeds, as `trainer regraph` places it.
        let at = card
            .rfind("\n| decode speed ")
            .and_then(|i| card[i + 1..].find('\n').map(|j| i + 1 + j + 1));
        match at {
            Some(i) => card.insert_str(i, &format!("{row}\n")),
            None => card.push_str(&format!("\n{row}\n")),
        }
    }
    if let Some(r) = &args.report {
        let report = read_report(r)?;
        let previous = args.previous.as_deref().map(read_report).transpose()?;
        let prev_name = match (&previous, &args.previous_name) {
            (Some(_), Some(name)) => name.clone(),
            (Some(p), None) => format!("previous model ({})", p.package),
            (None, _) => String::new(),
        };
        let section = format!(
            "\n## Music report ({}, pieces no model trained on)\n\nGenerated over each piece's own chords, input, tempo and meter (its first {} bars), beside what the human played over the same bars; `*` marks a value more than 10 % off the human one. *Harmony 0* is the model at the plugin's defaults without Harmony (top-p 0.95 or the role's tuned top-p, the tuned note temperature, its piece memory where it has one), *default Harmony* the same at the plugin's default Harmony (the role's tuned Harmony where the model names one); *calibration* samples the network alone at temperature 1, top-p 1, without constraints. Chord sensitivity is teacher-forced on the same bars.\n{}",
            split_label(&report.split),
            report.sample_bars,
            crate::report::markdown(&report.music, previous.as_ref().map(|p| &p.music), &prev_name)
        );
        // Before "How it was built".
        match card.find("\n## How it was built") {
            Some(i) => card.insert_str(i, &section),
            None => card.push_str(&section),
        }
    }
    if let Some(section) = kept_report {
        match card.find("\n## How it was built") {
            Some(i) => card.insert_str(i, &section),
            None => card.push_str(&section),
        }
    }
    let to = args.out.join("CARD.md");
    std::fs::write(&to, card).with_context(|| cannot_write(&to))?;
    println!(
        "shipped {} -> {} ({:.2} MB model file)",
        manifest.name,
        args.out.display(),
        bytes.len() as f64 / 1e6
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_changes_take_two_weights_and_a_share_of_bars() {
        assert_eq!(changes_weights("bass=0.95,0.9").unwrap(), (Role::Bass, vec![0.95, 0.9]));
        assert_eq!(
            changes_weights("bass=0.95,0.9,0.5").unwrap(),
            (Role::Bass, vec![0.95, 0.9, 0.5])
        );
        assert_eq!(changes_weights("bass=0").unwrap(), (Role::Bass, vec![0.0]));
        // A share may be 1 (every bar) where a weight may not; nothing past it, no drums.
        assert!(changes_weights("bass=0.5,0.5,1").is_ok());
        assert!(changes_weights("bass=1,0.5").is_err());
        assert!(changes_weights("bass=0.5,0.5,1.5").is_err());
        assert!(changes_weights("bass=0.5,0.5,0.5,0.5").is_err());
        assert!(changes_weights("drums=0.5,0.5").is_err());
    }

    #[test]
    fn a_figure_come_round_names_its_weight_where_it_starts_and_how_it_goes_on() {
        assert_eq!(
            figure_weights("bass=0.95,0.2,0.57").unwrap(),
            (Role::Bass, vec![0.95, 0.2, 0.57])
        );
        assert_eq!(
            figure_weights("bass=0").unwrap(),
            (Role::Bass, vec![0.0]),
            "removes one"
        );
        assert!(figure_weights("bass=0.95,0.2").is_err(), "all three");
        assert!(
            figure_weights("bass=0.99,0.2,0.5").is_err(),
            "the weight within MAX_WEIGHT"
        );
        assert!(figure_weights("bass=0.9,1.2,0.5").is_err());
        assert!(figure_weights("drums=0.9,0.2,0.5").is_err());
    }

    #[test]
    fn a_phrase_come_round_may_weigh_more_than_the_other_memories() {
        assert_eq!(
            phrase_weights("piano=0.995,1").unwrap(),
            (Role::Piano, vec![0.995, 1.0])
        );
        assert_eq!(phrase_weights("piano=0.9").unwrap(), (Role::Piano, vec![0.9]));
        assert!(
            rhythm_weights("piano=0.995").is_err(),
            "the rhythm keeps the common cap"
        );
        assert!(phrase_weights("piano=1").is_err());
        assert!(phrase_weights("piano=0.9,1.5").is_err());
        assert!(phrase_weights("drums=0.9").is_err());
    }

    #[test]
    fn the_rhythm_takes_a_weight_and_a_share_of_bars() {
        assert_eq!(
            rhythm_weights("comping=0.95,0.7").unwrap(),
            (Role::Comping, vec![0.95, 0.7])
        );
        assert_eq!(rhythm_weights("piano=0.9").unwrap(), (Role::Piano, vec![0.9]));
        assert!(rhythm_weights("bass=0.95,1").is_ok());
        assert!(rhythm_weights("bass=1").is_err());
        assert!(rhythm_weights("bass=0.5,0.5,0.5").is_err());
        assert!(rhythm_weights("drums=0.5").is_err());
        assert!(rhythm_weights("bass=").is_err());
    }
}
