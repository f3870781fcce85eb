//! `trainer measure`: the music report's metrics of MIDI and MusicXML files, one column per
//! argument, so what a model generated can be set beside human performances (a folder of GMD
//! grooves of one genre, say, or the songs a continuation started from) with the same definitions
//! the report uses. `--from-bar` measures a continuation: the bars after a prompt, and how much of
//! the prompt's pitch-class distribution they keep.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use models::Role;
use models::music::Note;

use crate::report::metric_label;
use crate::report::metrics::{self, Passage};

/// `trainer measure` arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct MeasureArgs {
    /// Columns: `LABEL=PATH[,PATH...]` or `PATH`; a folder stands for every MIDI and MusicXML file
    /// under it (`.mid`, `.midi`, `.mxl`, `.musicxml`, `.xml`), and a column with several files
    /// shows their mean.
    #[arg(required = true)]
    pub columns: Vec<String>,
    /// Which metrics: drums (backbeat, feel, fills) or a pitched role's.
    #[arg(long, default_value = "drums", value_parser = crate::args::roles())]
    pub role: String,
    /// Measure each file's first N bars at most (0: whole files), counted from --from-bar.
    #[arg(long, default_value_t = 0)]
    pub bars: u32,
    /// Skip the first N bars (a prompt): measure the bars after them, and add the pitch-class
    /// overlap of the measured bars with the skipped ones (1: the same distribution).
    #[arg(long, default_value_t = 0)]
    pub from_bar: u32,
    /// Write the table as JSON here too.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Reduce drum keys first, as `prepare --drum-map` does (`gmd`: the Groove MIDI Dataset's
    /// raw TD-11 keys to the 9 classes its drums model plays, so "instruments per bar" counts
    /// the same instruments in a human file as in a generated one).
    #[arg(long, value_enum, default_value_t = crate::prepare::DrumMap::None)]
    pub drum_map: crate::prepare::DrumMap,
}

/// One column: its label and the files in it.
fn column(spec: &str) -> anyhow::Result<(String, Vec<PathBuf>)> {
    let (label, paths) = match spec.split_once('=') {
        Some((l, p)) if !l.is_empty() => (l.to_string(), p),
        _ => (spec.to_string(), spec),
    };
    let mut files = Vec::new();
    for p in paths.split(',').filter(|p| !p.is_empty()) {
        let path = Path::new(p);
        if path.is_dir() {
            let mut found = Vec::new();
            midi_files(path, &mut found)?;
            found.sort();
            files.extend(found);
        } else if path.is_file() {
            files.push(path.to_path_buf());
        } else {
            bail!("{p}: no such file or folder (column {label:?})");
        }
    }
    if files.is_empty() {
        bail!("column {label:?} holds no MIDI or MusicXML file");
    }
    Ok((label, files))
}

fn midi_files(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            midi_files(&path, out)?;
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| MEASURED.iter().any(|m| e.eq_ignore_ascii_case(m)))
        {
            out.push(path);
        }
    }
    Ok(())
}

/// File extensions a column's folder is searched for.
const MEASURED: [&str; 5] = ["mid", "midi", "mxl", "musicxml", "xml"];

/// A MIDI or MusicXML file, by its extension.
fn read_piece(path: &Path) -> anyhow::Result<models::music::Piece> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let piece = if matches!(ext.as_str(), "mxl" | "musicxml" | "xml") {
        models::musicxml::read_file(path).map_err(anyhow::Error::from)
    } else {
        models::midi::read_file(path).map_err(anyhow::Error::from)
    };
    piece.with_context(|| format!("cannot read {}", path.display()))
}

/// The metrics of one file: its drum tracks (channel 10) for drums; for a pitched role the tracks
/// of that role when the file has any (a song's piano, not its voice), else every other track.
/// `from_bar` bars are skipped (their notes are the prompt the overlap row compares with); drum
/// keys are reduced by `map` first.
pub fn measure_file(
    path: &Path,
    role: Role,
    from_bar: u32,
    max_bars: u32,
    map: crate::prepare::DrumMap,
) -> anyhow::Result<Vec<f64>> {
    let mut piece = read_piece(path)?;
    for t in piece.tracks.iter_mut().filter(|t| t.channel == 9) {
        for n in &mut t.notes {
            n.pitch = map.map(n.pitch);
        }
    }
    let drums = role.is_drums();
    let ts = piece.meter.at_bar(0);
    let of_role = !drums && piece.tracks.iter().any(|t| t.role == role && !t.notes.is_empty());
    let mut notes: Vec<Note> = piece
        .tracks
        .iter()
        .filter(|t| (t.channel == 9) == drums && (!of_role || t.role == role))
        .flat_map(|t| t.notes.iter().copied())
        .collect();
    notes.sort_by(|a, b| a.start.total_cmp(&b.start).then(a.pitch.cmp(&b.pitch)));
    let bar_beats = ts.numerator as f64 * 4.0 / ts.denominator.max(1) as f64;
    let skip = from_bar as f64 * bar_beats;
    let (before, mut after): (Vec<Note>, Vec<Note>) = notes.into_iter().partition(|n| n.start < skip - 1e-6);
    for n in &mut after {
        n.start -= skip;
    }
    // The chords from the one in force at the first measured bar.
    let first = piece.chords.iter().rposition(|c| c.start <= skip + 1e-6).unwrap_or(0);
    let chords: Vec<_> = piece.chords[first.min(piece.chords.len())..]
        .iter()
        .map(|c| {
            let mut c = *c;
            c.start = (c.start - skip).max(0.0);
            c
        })
        .collect();
    let last = after.iter().map(|n| n.start).fold(0.0, f64::max);
    let mut bars = ((last + 1e-6) / bar_beats).floor() as u32 + 1;
    if max_bars > 0 {
        bars = bars.min(max_bars);
        after.retain(|n| n.start < bars as f64 * bar_beats - 1e-6);
    }
    let p = Passage {
        notes: &after,
        chords: &chords,
        numerator: ts.numerator,
        denominator: ts.denominator,
        bars,
        tempo_bpm: piece.tempo_map.first().map_or(120.0, |t| t.bpm),
    };
    let mut m = metrics::measure(&p, role);
    if from_bar > 0 {
        m.push(crate::prompt::pitch_class_overlap(&before, &after));
    }
    Ok(m)
}

/// The key of the `--from-bar` row: the pitch-class overlap of the measured bars with the bars
/// before them.
const PROMPT_OVERLAP: &str = "prompt_overlap";

/// `trainer measure`.
pub fn run(args: &MeasureArgs) -> anyhow::Result<()> {
    let role = Role::parse(&args.role).with_context(|| format!("unknown role {:?}", args.role))?;
    let drums = role.is_drums();
    let mut keys: Vec<&str> = if drums {
        metrics::drum_metrics().map(|(k, _)| k).collect()
    } else {
        metrics::PITCHED.iter().map(|(k, _)| *k).collect()
    };
    if args.from_bar > 0 {
        keys.push(PROMPT_OVERLAP);
    }
    let mut cols = Vec::new();
    for spec in &args.columns {
        let (label, files) = column(spec)?;
        let rows = files
            .iter()
            .map(|f| measure_file(f, role, args.from_bar, args.bars, args.drum_map))
            .collect::<anyhow::Result<Vec<_>>>()?;
        cols.push((label, files.len(), metrics::mean(&rows)));
    }
    let mut header = format!("{:<32}", "metric");
    for (label, n, _) in &cols {
        header += &format!(" {:>14}", format!("{label} ({n})"));
    }
    println!("{header}");
    for (k, key) in keys.iter().enumerate() {
        let label = if *key == PROMPT_OVERLAP {
            "pitch-class overlap, bars before"
        } else {
            metric_label(key)
        };
        let mut line = format!("{label:<32}");
        for (_, _, m) in &cols {
            line += &format!(" {:>14.3}", m.get(k).copied().unwrap_or(f64::NAN));
        }
        println!("{line}");
    }
    if let Some(path) = &args.json {
        let table: serde_json::Map<String, serde_json::Value> = cols
            .iter()
            .map(|(label, n, m)| {
                let values: serde_json::Map<String, serde_json::Value> = keys
                    .iter()
                    .zip(m)
                    .map(|(k, v)| {
                        (
                            k.to_string(),
                            serde_json::json!(if v.is_finite() { Some(*v) } else { None }),
                        )
                    })
                    .collect();
                (label.clone(), serde_json::json!({ "files": n, "metrics": values }))
            })
            .collect();
        crate::args::write_file_atomic(path, serde_json::to_string_pretty(&table)?.as_bytes())?;
    }
    Ok(())
}
