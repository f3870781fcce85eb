//! `trainer measure`: the music report's metrics of MIDI files, one column per argument, so what
//! a model generated can be set beside human performances (a folder of GMD grooves of one genre,
//! say) with the same definitions the report uses.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use models::Role;
use models::music::Note;

use crate::report::metric_label;
use crate::report::metrics::{self, Passage};

/// `trainer measure` arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct MeasureArgs {
    /// Columns: `LABEL=PATH[,PATH...]` or `PATH`; a folder stands for every MIDI file under it, and
    /// a column with several files shows their mean.
    #[arg(required = true)]
    pub columns: Vec<String>,
    /// Which metrics: drums (backbeat, feel, fills) or a pitched role's.
    #[arg(long, default_value = "drums", value_parser = crate::args::roles())]
    pub role: String,
    /// Measure each file's first N bars at most (0: whole files).
    #[arg(long, default_value_t = 0)]
    pub bars: u32,
    /// Write the table as JSON here too.
    #[arg(long)]
    pub json: Option<PathBuf>,
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
        bail!("column {label:?} holds no MIDI file");
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
            .is_some_and(|e| e.eq_ignore_ascii_case("mid") || e.eq_ignore_ascii_case("midi"))
        {
            out.push(path);
        }
    }
    Ok(())
}

/// The metrics of one file: its drum tracks (channel 10) for drums, else its other tracks.
pub fn measure_file(path: &Path, drums: bool, max_bars: u32) -> anyhow::Result<Vec<f64>> {
    let piece = models::midi::read_file(path).with_context(|| format!("cannot read {}", path.display()))?;
    let ts = piece.meter.at_bar(0);
    let mut notes: Vec<Note> = piece
        .tracks
        .iter()
        .filter(|t| (t.channel == 9) == drums)
        .flat_map(|t| t.notes.iter().copied())
        .collect();
    notes.sort_by(|a, b| a.start.total_cmp(&b.start).then(a.pitch.cmp(&b.pitch)));
    let bar_beats = ts.numerator as f64 * 4.0 / ts.denominator.max(1) as f64;
    let last = notes.iter().map(|n| n.start).fold(0.0, f64::max);
    let mut bars = ((last + 1e-6) / bar_beats).floor() as u32 + 1;
    if max_bars > 0 {
        bars = bars.min(max_bars);
    }
    let p = Passage {
        notes: &notes,
        chords: &piece.chords,
        numerator: ts.numerator,
        denominator: ts.denominator,
        bars,
        tempo_bpm: piece.tempo_map.first().map_or(120.0, |t| t.bpm),
    };
    Ok(metrics::measure(&p, drums))
}

/// `trainer measure`.
pub fn run(args: &MeasureArgs) -> anyhow::Result<()> {
    let role = Role::parse(&args.role).with_context(|| format!("unknown role {:?}", args.role))?;
    let drums = role.is_drums();
    let keys: Vec<&str> = if drums {
        metrics::drum_metrics().map(|(k, _)| k).collect()
    } else {
        metrics::PITCHED.iter().map(|(k, _)| *k).collect()
    };
    let mut cols = Vec::new();
    for spec in &args.columns {
        let (label, files) = column(spec)?;
        let rows = files
            .iter()
            .map(|f| measure_file(f, drums, args.bars))
            .collect::<anyhow::Result<Vec<_>>>()?;
        cols.push((label, files.len(), metrics::mean(&rows)));
    }
    let mut header = format!("{:<32}", "metric");
    for (label, n, _) in &cols {
        header += &format!(" {:>14}", format!("{label} ({n})"));
    }
    println!("{header}");
    for (k, key) in keys.iter().enumerate() {
        let mut line = format!("{:<32}", metric_label(key));
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
