//! `trainer prepare`: folders of MIDI files, MusicXML scores (`.musicxml`, `.xml`, `.mxl`) and
//! WJazzD CSV pairs -> a tokenized dataset.
//!
//! Every input file becomes one [`Piece`], then one sequence per role it has (with that role's
//! default conditioning, see `models::tokenizer::SequenceSpec`). A file that cannot be read is a
//! skipped file with its reason; a truncated MIDI file, or a MusicXML score read with omissions
//! (jumps left unexpanded...), is used for what it holds and listed as partial with why. The split
//! is decided by a hash of the piece's identity (a WJazzD tune title, a file's stem), so every
//! transposition and every role of a piece, and every take of a tune, land in the same split; a
//! small folder is topped up to a few validation and test pieces
//! ([`crate::dataset::assign_splits`]). Train sequences of pitched roles are transposed to 12 keys
//! with `--transpose all-keys`; drums never are.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use models::musicxml::ScoreInfo;
use models::package::DataSource;
use models::tokenizer::{Sequence, Tokenizer, Vocab, sequences_from_piece};
use models::{Piece, Role};
use rayon::prelude::*;

use crate::dataset::{
    DATASET_FORMAT, Dataset, DatasetManifest, FileRecord, PartialFile, Skipped, Split, SplitData, SplitStats,
    TokenStats, assign_splits,
};

mod kinds;
mod report;
mod styles;

use report::{licence_of, print_report};
use styles::styles_of;
pub use styles::{add_mapped_tags, gmd_tags, layout_tag, layout_tags, score_tags};

/// Where style tags come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StyleFrom {
    /// The tags the folder lists (a `styles.json`, or the Groove MIDI Dataset's `info.csv`: genre,
    /// genre/groove, drummer, beat or fill), else for a WJazzD solo the input folder's name and
    /// the soloist ("Miles Davis"), else the groove family for `family__Groove.mid` names, else a
    /// MusicXML score's composer, else the input folder's name.
    Auto,
    /// The input folder's name (the corpus).
    Source,
    /// The name of the folder holding the file.
    Dir,
    /// The file name: the part before `__` if there is one, else the stem.
    Filename,
    /// The same as `auto` (a `styles.json` in the input folder: `{ "relative/path.mid": ["tag",
    /// ...] }`, files it does not list falling back to the family or folder name).
    Manifest,
    /// The folder layout: the folders from the input folder down to the file, at most
    /// `--layout-depth` of them, underscores read as spaces, joined with " / " (a tree
    /// `Romantic/Chopin,_Frédéric/Keyboard/` gives NotaGen's `Period / Composer / Instrumentation`
    /// tag "Romantic / Chopin, Frédéric / Keyboard").
    Layout,
    /// A MusicXML score's metadata: its composer, work title and date, each a tag (one tag per
    /// title: for a large corpus, mind the 512 style slots). Other files: the input folder's name.
    Score,
    /// The folder layout as `layout`, each folder its own tag: a tree
    /// `Romantic/Chopin,_Frédéric/Keyboard/` gives the three tags "Romantic", "Chopin, Frédéric"
    /// and "Keyboard", so that a period alone or a composer alone can be asked for (with a
    /// `style_dropout` in the training config, which teaches headers with fewer tags).
    Levels,
}

/// Transposition augmentation of the train split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Transpose {
    /// As written.
    None,
    /// All 12 keys (-5..=+6 semitones) for pitched roles; drums as written.
    AllKeys,
}

/// Arguments of `trainer prepare`.
#[derive(Debug, Clone, clap::Args)]
pub struct PrepareArgs {
    /// Input folders, searched recursively for .mid/.midi files, MusicXML scores
    /// (.musicxml/.xml/.mxl) and WJazzD CSV pairs. Append
    /// `=ROLE` to merge every pitched track of that corpus into one part of ROLE (for example
    /// `bach-chorales=piano` turns four voices into one piano part).
    #[arg(long = "input", required = true, num_args = 1..)]
    pub inputs: Vec<String>,
    /// Output dataset folder.
    #[arg(long)]
    pub out: PathBuf,
    /// Only build sequences for these roles (default: every role a piece has).
    #[arg(long, value_delimiter = ',', value_parser = crate::args::roles())]
    pub role: Vec<String>,
    /// Where style tags come from.
    #[arg(long, value_enum, default_value_t = StyleFrom::Auto)]
    pub style_from: StyleFrom,
    /// How many folders below the input folder `--style-from layout` joins into a tag.
    #[arg(long, default_value_t = 3)]
    pub layout_depth: usize,
    /// Tag every piece with this one style (for example "Modern / Satie, Erik / Piano") instead
    /// of deriving tags with --style-from.
    #[arg(long)]
    pub style: Option<String>,
    /// A JSON map of tag to further tags (`{ "Satie, Erik": ["Modern"] }`): a file tagged with a
    /// key also gets its tags, for example the period of each composer of a corpus tagged by
    /// composer (`trainer/configs/lieder-periods.json`).
    #[arg(long)]
    pub tag_map: Option<PathBuf>,
    /// Also tag each MIDI tune with its kind (reel, jig, slip jig, hornpipe, strathspey, march,
    /// air...), read from its title ("7th Regiment -- Reel") or, for O'Neill's *Music of Ireland*,
    /// from the tune's number in the book (`B:"O'Neill's 1163"`), whose sections are kinds. A tune
    /// that names none keeps only its other tags.
    #[arg(long)]
    pub tune_kinds: bool,
    /// Transposition augmentation (train split only).
    #[arg(long, value_enum, default_value_t = Transpose::None)]
    pub transpose: Transpose,
    /// Write MICRO tokens so that off-grid timing survives.
    #[arg(long)]
    pub microtiming: bool,
    /// Start from this vocabulary (its style slots are kept, new styles get free slots): the model
    /// package you will fine-tune (`builtin:<id>`, its folder or manifest), or a `vocab.json`.
    #[arg(long)]
    pub vocab: Option<PathBuf>,
    /// Reduce drum keys before tokenizing: `gmd` maps the Roland TD-11 keys of the Groove MIDI
    /// Dataset (rims, edges, bows) to its paper's 9 classes (kick 36, snare 38, high tom 50,
    /// low-mid tom 47, floor tom 43, open hi-hat 46, closed hi-hat 42, crash 49, ride 51).
    #[arg(long, value_enum, default_value_t = DrumMap::None)]
    pub drum_map: DrumMap,
    /// The chord progression the pieces were played over, for pieces without chord symbols of
    /// their own: one bar each, space-separated, two or more in a bar joined by commas, repeated
    /// to the end of each piece (every MMA groove in `../shared/data/midi/mma-grooves` is
    /// rendered over "Dm7 G7 Cmaj7 Cmaj7 Dm7 G7 Cmaj7 A7"). Without it, a piece without chord
    /// symbols gets the chords recognised from its harmonic parts, where it has any besides the
    /// role (`models::tokenizer::role_chords`); with it, every role of those pieces hears the
    /// chords, as every role does in the plugin.
    #[arg(long)]
    pub chords: Option<String>,
    /// For pieces without chord symbols: name their chords beat by beat from the parts of these
    /// roles and their other harmonic parts, the role's own included (`models::tokenizer::
    /// named_chords`), so that a chorale or a song's piano trains over the chords it sounds and
    /// then follows the chords a user plays. For parts that sound chords (`piano`, `comping`): a
    /// piece without a part of these roles (a folk tune alone) keeps none, and a single line
    /// named would give the two notes of each beat as a chord.
    #[arg(long, value_delimiter = ',', value_parser = crate::args::roles())]
    pub name_chords: Vec<String>,
}

/// Drum key reductions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DrumMap {
    /// Keys as written.
    None,
    /// The Groove MIDI Dataset's 9 classes.
    Gmd,
}

/// What the `gmd` drum map does, as a model card states it.
pub const GMD_MAP_NOTE: &str = "drum keys reduced to the Groove MIDI Dataset paper's 9 classes \
     (kick 36 <- 35, 36; snare 38 <- 37, 38, 40; high tom 50 <- 48, 50; low-mid tom 47 <- 45, 47; \
     high floor tom 43 <- 41, 43, 58; open hi-hat 46 <- 26, 46; closed hi-hat 42 <- 22, 42, 44; \
     crash 49 <- 49, 52, 55, 57; ride 51 <- 51, 53, 59)";

impl DrumMap {
    /// The key `key` is played as.
    pub fn map(self, key: u8) -> u8 {
        match self {
            DrumMap::None => key,
            DrumMap::Gmd => match key {
                35 | 36 => 36,
                37 | 38 | 40 => 38,
                48 | 50 => 50,
                45 | 47 => 47,
                41 | 43 | 58 => 43,
                26 | 46 => 46,
                22 | 42 | 44 => 42,
                49 | 52 | 55 | 57 => 49,
                51 | 53 | 59 => 51,
                k => k,
            },
        }
    }
}

/// One file to read.
#[derive(Debug, Clone)]
enum Job {
    Midi { path: PathBuf },
    MusicXml { path: PathBuf },
    Wjazzd { melody: PathBuf, beats: PathBuf },
}

impl Job {
    fn path(&self) -> &Path {
        match self {
            Job::Midi { path } | Job::MusicXml { path } => path,
            Job::Wjazzd { melody, .. } => melody,
        }
    }
}

/// One input folder.
struct Input {
    root: PathBuf,
    name: String,
    merge: Option<Role>,
    styles: BTreeMap<String, Vec<String>>,
}

/// What one file gave.
struct FileOut {
    record: FileRecord,
    /// (split, role, transposition, ids)
    seqs: Vec<(Role, i8, Vec<u32>)>,
    untransposed_tokens: u64,
    untransposed_notes: u64,
    solo_tokens: u64,
}

fn parse_input(spec: &str) -> anyhow::Result<Input> {
    let (dir, merge) = match spec.rsplit_once('=') {
        Some((d, r)) => (
            d,
            Some(Role::parse(r).with_context(|| format!("{spec:?}: unknown role {r:?}"))?),
        ),
        None => (spec, None),
    };
    let root = PathBuf::from(dir);
    if !root.is_dir() {
        bail!("input {} is not a folder", root.display());
    }
    let name = root
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| dir.to_string());
    let styles_path = root.join("styles.json");
    let gmd_path = root.join("info.csv");
    let styles = if styles_path.is_file() {
        let json = std::fs::read_to_string(&styles_path)?;
        serde_json::from_str(&json)
            .with_context(|| format!("{} is not a map of path to tags", styles_path.display()))?
    } else if gmd_path.is_file() {
        gmd_tags(&std::fs::read_to_string(&gmd_path).with_context(|| format!("cannot read {}", gmd_path.display()))?)
    } else {
        BTreeMap::new()
    };
    Ok(Input {
        root,
        name,
        merge,
        styles,
    })
}

/// Finds the MIDI files and WJazzD pairs under `dir` (sorted, so the order is stable): symbolic
/// links are followed, but a link that loops back is reported once and not followed; only regular
/// files are read (a FIFO named `x.mid` would block); an unreadable folder or file is a skipped
/// entry with its reason, never the end of the run.
fn walk(dir: &Path, out: &mut Vec<Job>, skipped: &mut Vec<Skipped>) -> anyhow::Result<()> {
    let mut seen_wjazzd = BTreeSet::new();
    let walker = walkdir::WalkDir::new(dir)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            !(e.file_type().is_dir()
                && e.file_name()
                    .to_str()
                    .is_some_and(|n| n == "mcsv_melody" || n == "mcsv_beat"))
        });
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let path = e
                    .path()
                    .map_or_else(|| dir.display().to_string(), |p| p.display().to_string());
                let reason = if e.loop_ancestor().is_some() {
                    "a symbolic link that loops back to a folder above it (not followed)".to_string()
                } else {
                    match e.io_error() {
                        Some(io) => format!("cannot read: {io}"),
                        None => e.to_string(),
                    }
                };
                skipped.push(Skipped { path, reason });
                continue;
            }
        };
        let p = entry.path();
        if entry.file_type().is_dir() {
            if p.join("mcsv_melody").is_dir() && p.join("mcsv_beat").is_dir() && seen_wjazzd.insert(p.to_path_buf()) {
                match models::wjazzd::find_pairs(p) {
                    Ok(pairs) => out.extend(pairs.into_iter().map(|(melody, beats)| Job::Wjazzd { melody, beats })),
                    Err(e) => skipped.push(Skipped {
                        path: p.display().to_string(),
                        reason: format!("cannot list the WJazzD pairs: {}", models::error::chain(&e)),
                    }),
                }
            }
            continue;
        }
        let is_midi = is_midi(p);
        let is_musicxml = models::musicxml::is_musicxml_path(p);
        if !is_midi && !is_musicxml {
            continue;
        }
        if !entry.file_type().is_file() {
            skipped.push(Skipped {
                path: p.display().to_string(),
                reason: "not a regular file".into(),
            });
            continue;
        }
        let path = p.to_path_buf();
        out.push(if is_midi {
            Job::Midi { path }
        } else {
            Job::MusicXml { path }
        });
    }
    Ok(())
}

/// Identity of a piece for the split: a WJazzD tune title (all takes and players of a tune
/// together), else the file stem.
fn piece_identity(job: &Job, source: &str) -> String {
    let stem = job
        .path()
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    match job {
        Job::Wjazzd { .. } => {
            let s = stem.trim_end_matches("_FINAL");
            let title = s.split_once('_').map_or(s, |(_, t)| t);
            // "Title-1", "Title-2" are takes of one tune.
            let title = match title.rsplit_once('-') {
                Some((t, take)) if !take.is_empty() && take.chars().all(|c| c.is_ascii_digit()) => t,
                _ => title,
            };
            format!("wjazzd/{}", title.to_ascii_lowercase())
        }
        Job::Midi { .. } | Job::MusicXml { .. } => format!("{source}/{}", stem.to_ascii_lowercase()),
    }
}

/// A piece read, and for a MusicXML score its metadata.
struct ReadFile {
    piece: Piece,
    score: Option<ScoreInfo>,
}

/// Reads one input: its piece, and the warning for a file read in part or with omissions (a
/// truncated MIDI file: "truncated MIDI (...), read N notes up to bar B"; a MusicXML score with
/// jumps it did not expand: "MusicXML read with omissions: ...").
fn read_piece(
    job: &Job,
    merge: Option<Role>,
    drum_map: DrumMap,
    progression: Option<&[Vec<Option<models::chord::Chord>>]>,
    name_chords: &[Role],
) -> Result<(ReadFile, Option<String>), String> {
    let chain = |e: &dyn std::error::Error| models::error::chain(e);
    let (mut piece, warning, score) = match job {
        Job::Midi { path } => {
            let (piece, report) = models::midi::read_file_with_report(path).map_err(|e| chain(&e))?;
            let warning = report.warning(&piece);
            (piece, warning, None)
        }
        Job::MusicXml { path } => {
            let file = models::musicxml::read_file_with_report(path).map_err(|e| chain(&e))?;
            (file.piece, file.report.warning(), Some(file.info))
        }
        Job::Wjazzd { melody, beats } => (
            models::wjazzd::read_pair(melody, beats).map_err(|e| chain(&e))?,
            None,
            None,
        ),
    };
    if let Some(role) = merge {
        models::midi::merge_into_role(&mut piece, role);
    }
    if drum_map != DrumMap::None {
        for t in piece.tracks.iter_mut().filter(|t| t.role.is_drums()) {
            for n in &mut t.notes {
                n.pitch = drum_map.map(n.pitch);
            }
        }
    }
    if let Some(per_bar) = progression
        && piece.chords.is_empty()
    {
        piece.chords = crate::generate::progression_over(per_bar, &piece.meter, models::tokenizer::bars_of(&piece));
    }
    if !name_chords.is_empty() && piece.chords.is_empty() {
        piece.chords = models::tokenizer::named_chords(&piece, name_chords);
    }
    Ok((ReadFile { piece, score }, warning))
}

#[allow(clippy::too_many_arguments)]
fn process(
    job: &Job,
    read: &ReadFile,
    input: &Input,
    tokenizer: &Tokenizer,
    styles: &[String],
    roles: Option<&[Role]>,
    transpose: Transpose,
    split: Split,
) -> Result<FileOut, String> {
    let piece = &read.piece;
    let score = read.score.as_ref();
    let source = input.name.clone();
    let piece_id = piece_identity(job, &source);
    let slots: Vec<u16> = styles.iter().filter_map(|s| tokenizer.vocab.style_slot(s)).collect();
    let seqs = sequences_from_piece(piece, &slots, roles);
    if seqs.is_empty() {
        return Err("no notes in the requested roles".into());
    }
    let mut out = FileOut {
        record: FileRecord {
            path: job
                .path()
                .strip_prefix(&input.root)
                .unwrap_or(job.path())
                .display()
                .to_string(),
            source,
            piece: piece_id,
            split,
            styles: styles.to_vec(),
            roles: seqs.iter().map(|s| s.role).collect(),
            notes: piece.note_count() as u64,
            title: score.and_then(|s| s.title()).map(str::to_string),
            composer: score.and_then(|s| s.composer.clone()),
            date: score.and_then(|s| s.date.clone()),
        },
        seqs: Vec::new(),
        untransposed_tokens: 0,
        untransposed_notes: 0,
        solo_tokens: 0,
    };
    for seq in &seqs {
        let ids = tokenizer.encode(seq).map_err(|e| e.to_string())?;
        out.untransposed_tokens += ids.len() as u64;
        out.untransposed_notes += seq.notes.len() as u64;
        let solo = Sequence {
            chords: Vec::new(),
            inputs: Vec::new(),
            ..seq.clone()
        };
        out.solo_tokens += tokenizer.encode(&solo).map_err(|e| e.to_string())?.len() as u64;
        out.seqs.push((seq.role, 0, ids));
        if split == Split::Train && transpose == Transpose::AllKeys && !seq.role.is_drums() {
            for t in (-5..=6).filter(|&t| t != 0) {
                if let Some(moved) = seq.transposed(t) {
                    let ids = tokenizer.encode(&moved).map_err(|e| e.to_string())?;
                    out.seqs.push((seq.role, t as i8, ids));
                }
            }
        }
    }
    Ok(out)
}

/// Runs `trainer prepare`.
pub fn run(args: &PrepareArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let roles: Option<Vec<Role>> = if args.role.is_empty() {
        None
    } else {
        Some(crate::args::parse_roles(&args.role)?)
    };
    let name_chords = crate::args::parse_roles(&args.name_chords)?;
    let inputs: Vec<Input> = args.inputs.iter().map(|s| parse_input(s)).collect::<Result<_, _>>()?;
    let progression = args
        .chords
        .as_deref()
        .map(crate::generate::progression_bars)
        .transpose()
        .context("--chords")?;
    let mut jobs: Vec<(usize, Job)> = Vec::new();
    let mut skipped = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        let mut found = Vec::new();
        walk(&input.root, &mut found, &mut skipped)?;
        jobs.extend(found.into_iter().map(|j| (i, j)));
    }
    for s in &skipped {
        eprintln!("skipped {}: {}", s.path, s.reason);
    }
    if jobs.is_empty() {
        bail!("no MIDI files or WJazzD pairs found in {}", args.inputs.join(", "));
    }

    let bar = ProgressBar::new(jobs.len() as u64 * 2);
    bar.set_style(
        ProgressStyle::with_template("{spinner} prepare [{bar:40}] {pos}/{len} steps  {per_sec}  eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    // Read every file first, so that only files that parse give their styles a slot.
    let (pieces, partial): (Vec<Result<ReadFile, String>>, Vec<Option<String>>) = jobs
        .par_iter()
        .map(|(i, job)| {
            let r = read_piece(
                job,
                inputs[*i].merge,
                args.drum_map,
                progression.as_deref(),
                &name_chords,
            );
            bar.inc(1);
            match r {
                Ok((piece, warning)) => (Ok(piece), warning),
                Err(e) => (Err(e), None),
            }
        })
        .unzip();
    // A truncated file (or a score read with omissions) is used for what it holds, with one
    // warning naming it.
    bar.suspend(|| {
        for ((_, job), warning) in jobs.iter().zip(&partial) {
            if let Some(w) = warning {
                eprintln!("warning: {}: {w}", job.path().display());
            }
        }
    });

    // Styles get slots in sorted order, after those of a given vocabulary.
    let mut vocab = match &args.vocab {
        Some(p) => match models::package::Package::open(&p.to_string_lossy()) {
            Ok(pkg) => pkg.manifest.vocab,
            Err(_) => {
                Vocab::from_json(&std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?)?
            }
        },
        None => Vocab::new(),
    };
    let tag_map: BTreeMap<String, Vec<String>> = match &args.tag_map {
        Some(p) => {
            serde_json::from_str(&std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?)
                .with_context(|| format!("{} is not a map of tag to tags", p.display()))?
        }
        None => BTreeMap::new(),
    };
    let file_styles: Vec<Vec<String>> = jobs
        .iter()
        .zip(&pieces)
        .map(|((i, j), read)| {
            let tags = match &args.style {
                Some(style) => vec![style.clone()],
                None => {
                    let score = read.as_ref().ok().and_then(|r| r.score.as_ref());
                    styles_of(j.path(), &inputs[*i], args.style_from, args.layout_depth, score)
                }
            };
            let mut tags = add_mapped_tags(tags, &tag_map);
            if args.tune_kinds && is_midi(j.path()) {
                let (names, texts) = std::fs::read(j.path())
                    .map(|b| kinds::midi_texts(&b))
                    .unwrap_or_default();
                if let Some(kind) = kinds::tune_kind(&names, &texts).filter(|k| !tags.iter().any(|t| t == k)) {
                    tags.push(kind.to_string());
                }
            }
            tags
        })
        .collect();
    let all_styles: BTreeSet<&String> = file_styles
        .iter()
        .zip(&pieces)
        .filter(|(_, p)| p.is_ok())
        .flat_map(|(s, _)| s)
        .collect();
    for s in all_styles {
        vocab.add_style(s)?;
    }
    let tokenizer = Tokenizer::new(vocab, args.microtiming);
    // Splits by piece, with held-out pieces guaranteed for every source (see `assign_splits`).
    let ids: Vec<String> = jobs
        .iter()
        .zip(&pieces)
        .map(|((i, job), p)| {
            if p.is_ok() {
                piece_identity(job, &inputs[*i].name)
            } else {
                String::new()
            }
        })
        .collect();
    let split_of = assign_splits(ids.iter().filter(|s| !s.is_empty()).map(String::as_str));

    let results: Vec<Result<FileOut, String>> = jobs
        .par_iter()
        .zip(pieces.par_iter())
        .zip(file_styles.par_iter())
        .zip(ids.par_iter())
        .map(|((((i, job), piece), styles), id)| {
            let r = piece.as_ref().map_err(Clone::clone).and_then(|piece| {
                process(
                    job,
                    piece,
                    &inputs[*i],
                    &tokenizer,
                    styles,
                    roles.as_deref(),
                    args.transpose,
                    split_of.get(id).copied().unwrap_or(Split::Train),
                )
            });
            bar.inc(1);
            r
        })
        .collect();
    bar.finish_and_clear();
    drop(pieces);

    let mut splits: BTreeMap<Split, SplitData> = BTreeMap::new();
    let mut stats: BTreeMap<Split, SplitStats> = Split::ALL.iter().map(|&s| (s, SplitStats::default())).collect();
    let mut pieces: BTreeMap<Split, BTreeSet<String>> = BTreeMap::new();
    let mut files = Vec::new();
    let mut sources: BTreeMap<String, u64> = BTreeMap::new();
    // The sources with a part whose chords `--name-chords` named.
    let mut named_sources: BTreeSet<String> = BTreeSet::new();
    let (mut tokens0, mut notes0, mut solo0) = (0u64, 0u64, 0u64);
    let mut roles_seen = BTreeSet::new();
    let mut partial_files = Vec::new();
    for (((_, job), res), warning) in jobs.iter().zip(results).zip(partial) {
        match res {
            Err(reason) => skipped.push(Skipped {
                path: job.path().display().to_string(),
                reason,
            }),
            Ok(out) => {
                let file = files.len() as u32;
                let split = out.record.split;
                let st = stats.get_mut(&split).expect("all splits present");
                for (role, t, ids) in &out.seqs {
                    splits.entry(split).or_default().push(ids, file, *role, *t);
                    st.sequences += 1;
                    st.tokens += ids.len() as u64;
                    *st.by_role.entry(*role).or_default() += 1;
                    roles_seen.insert(*role);
                }
                st.notes += out.untransposed_notes;
                pieces.entry(split).or_default().insert(out.record.piece.clone());
                *sources.entry(out.record.source.clone()).or_default() += 1;
                if out.record.roles.iter().any(|r| name_chords.contains(r)) {
                    named_sources.insert(out.record.source.clone());
                }
                tokens0 += out.untransposed_tokens;
                notes0 += out.untransposed_notes;
                solo0 += out.solo_tokens;
                files.push(out.record);
                if let Some(reason) = warning {
                    partial_files.push(PartialFile {
                        path: job.path().display().to_string(),
                        reason,
                    });
                }
            }
        }
    }
    for (split, set) in pieces {
        stats.get_mut(&split).expect("all splits present").pieces = set.len() as u64;
    }
    let token_stats = TokenStats {
        tokens_per_note: tokens0 as f64 / notes0.max(1) as f64,
        solo_tokens_per_note: solo0 as f64 / notes0.max(1) as f64,
        seconds: 0.0,
    };
    let manifest_sources = sources
        .iter()
        .map(|(name, n)| {
            let (licence, provenance) = licence_of(name);
            let mut provenance = match args.drum_map {
                DrumMap::None => provenance.to_string(),
                DrumMap::Gmd => format!("{provenance}; {GMD_MAP_NOTE}"),
            };
            if let Some(text) = &args.chords {
                provenance.push_str(&format!(
                    "; pieces without chord symbols heard as played over \"{text}\""
                ));
            }
            if named_sources.contains(name) {
                provenance.push_str(&format!(
                    "; chords named beat by beat from the {} parts",
                    args.name_chords.join(", ")
                ));
            }
            DataSource {
                name: name.clone(),
                licence: licence.into(),
                pieces: *n,
                provenance,
            }
        })
        .collect();
    let mut manifest = DatasetManifest {
        format: DATASET_FORMAT,
        vocab: tokenizer.vocab.clone(),
        microtiming: args.microtiming,
        transpose: match args.transpose {
            Transpose::None => "none".into(),
            Transpose::AllKeys => "all-keys".into(),
        },
        roles: roles_seen.into_iter().collect(),
        splits: stats,
        sources: manifest_sources,
        files,
        skipped,
        partial: partial_files,
        stats: token_stats,
    };
    manifest.stats.seconds = started.elapsed().as_secs_f64();
    if manifest.files.is_empty() {
        for s in &manifest.skipped {
            eprintln!("skipped {}: {}", s.path, s.reason);
        }
        bail!(
            "no file could be read ({} skipped, reasons above): nothing was written to {}",
            manifest.skipped.len(),
            args.out.display()
        );
    }
    Dataset::write(&args.out, &manifest, &splits)?;
    print_report(&args.out, &manifest, notes0, started.elapsed().as_secs_f64());
    Ok(())
}

/// Whether `path` names a Standard MIDI File (`.mid`, `.midi`).
fn is_midi(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("mid") || e.eq_ignore_ascii_case("midi"))
}
