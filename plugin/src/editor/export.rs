//! "Export MIDI" and "Keep / Discard", free of egui: the last bars of the roll as a Standard MIDI
//! File at the host tempo, and a phrase verdict as one JSON line in a feedback file next to the
//! model (for later preference fine-tuning).

use std::io::Write;
use std::path::{Path, PathBuf};

use models::music::TempoChange;
use models::{ChordEvent, Meter, Note, Piece, Role, Track};
use serde::Serialize;

use super::roll::RollModel;

/// Times written to files are rounded to this fraction of a beat (the MIDI writer's resolution),
/// so what is read back equals what was written.
pub const EXPORT_TICKS_PER_BEAT: f64 = models::midi::WRITE_PPQ as f64;
/// Bars of the phrase that "Keep" and "Discard" judge.
pub const PHRASE_BARS: u32 = 4;
/// Version of the feedback line format.
pub const FEEDBACK_FORMAT: u32 = 1;
/// Name of the feedback file inside a model package folder.
pub const FEEDBACK_FILE: &str = "feedback.jsonl";

/// A stretch of the roll cut out for export or feedback, with times from its first bar line.
#[derive(Debug, Clone, PartialEq)]
pub struct Excerpt {
    /// Beat (on the host timeline) where the excerpt starts: a bar line.
    pub start_beat: f64,
    /// Bars.
    pub bars: u32,
    /// Generated notes, from beat 0.
    pub generated: Vec<Note>,
    /// The user's notes, from beat 0.
    pub input: Vec<Note>,
    /// Chords, from beat 0 (the chord in force at the start comes first, at 0).
    pub chords: Vec<ChordEvent>,
}

fn quantise(beat: f64) -> f64 {
    (beat * EXPORT_TICKS_PER_BEAT).round() / EXPORT_TICKS_PER_BEAT
}

/// The last `bars` bars up to `playhead`: from `bars` bar lines before the end of the bar that
/// holds the playhead (or ends at it), notes that started before the playhead (what was heard),
/// cut at the excerpt's end. Notes starting before the excerpt are left out; held keys end at
/// the playhead.
pub fn excerpt(roll: &RollModel, playhead: f64, bars: u32) -> Excerpt {
    let bar = roll.bar_beats();
    let mut end = roll.bar_at_or_before(playhead);
    if end < playhead - 1e-9 {
        end += bar;
    }
    let start = end - bars.max(1) as f64 * bar;
    let cut = |notes: &[super::roll::RollNote]| -> Vec<Note> {
        let mut out: Vec<Note> = notes
            .iter()
            .filter(|n| n.start >= start - 1e-9 && n.start < playhead.min(end) - 1e-9)
            .map(|n| {
                let s = quantise(n.start - start).max(0.0);
                let e = quantise(n.end.min(playhead).min(end) - start).max(s);
                Note {
                    start: s,
                    duration: quantise(e - s),
                    pitch: n.pitch.min(127),
                    velocity: n.velocity.clamp(1, 127),
                }
            })
            .collect();
        out.sort_by(|a, b| a.start.total_cmp(&b.start).then(a.pitch.cmp(&b.pitch)));
        out
    };
    let mut chords = Vec::new();
    if let Some(c) = roll.chord_at(start) {
        chords.push(ChordEvent {
            start: 0.0,
            chord: Some(c),
        });
    }
    for &(beat, chord) in &roll.chords {
        if beat > start + 1e-9 && beat < playhead.min(end) - 1e-9 {
            chords.push(ChordEvent {
                start: quantise(beat - start),
                chord: Some(chord),
            });
        }
    }
    chords.dedup_by(|b, a| a.chord == b.chord);
    Excerpt {
        start_beat: start,
        bars: bars.max(1),
        generated: cut(&roll.generated),
        input: cut(&roll.input),
        chords,
    }
}

/// What goes into an exported file besides the notes.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportOptions {
    /// Tempo written to the file (the host's).
    pub tempo_bpm: f64,
    /// Time signature.
    pub numerator: u8,
    /// Time signature denominator.
    pub denominator: u8,
    /// The generated part's role.
    pub role: Role,
    /// MIDI channel of the generated part, 0-15 (drums are written on 9 whatever this says).
    pub channel: u8,
    /// Whether the user's input goes in as a second track.
    pub include_input: bool,
}

/// The excerpt as a [`Piece`]: a track of generated notes, optionally the input, the chords, and
/// the tempo. Tracks without notes are left out.
pub fn piece(ex: &Excerpt, opts: &ExportOptions) -> Piece {
    let mut tracks = Vec::new();
    if !ex.generated.is_empty() {
        tracks.push(Track {
            name: format!("Sideman {}", opts.role.name()),
            channel: if opts.role.is_drums() { 9 } else { opts.channel.min(15) },
            program: None,
            role: opts.role,
            notes: ex.generated.clone(),
        });
    }
    if opts.include_input && !ex.input.is_empty() {
        tracks.push(Track {
            name: "Input".into(),
            channel: if opts.role.is_drums() || opts.channel == 0 {
                1
            } else {
                0
            },
            program: None,
            role: Role::Piano,
            notes: ex.input.clone(),
        });
    }
    let bpm = if opts.tempo_bpm.is_finite() && opts.tempo_bpm > 0.0 {
        opts.tempo_bpm
    } else {
        120.0
    };
    // A MIDI file holds whole microseconds per beat: write the tempo it will read back.
    let bpm = 60_000_000.0 / (60_000_000.0 / bpm).round().clamp(1.0, 0xFF_FFFF as f64);
    Piece {
        meter: Meter::constant(opts.numerator.max(1), opts.denominator.max(1)),
        tempo_map: vec![TempoChange { beat: 0.0, bpm }],
        chords: ex.chords.clone(),
        tracks,
    }
}

/// Why an export or a feedback line could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Nothing was generated in the bars asked for.
    #[error("no notes from Sideman in the last {bars} bars yet: press play and let it play first")]
    Empty {
        /// Bars asked for.
        bars: u32,
    },
    /// The folder or file could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// Where.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The MIDI writer failed.
    #[error(transparent)]
    Midi(#[from] models::midi::MidiError),
}

/// Writes the excerpt as a Standard MIDI File into `dir` (created if missing), named after the
/// role and the time, and returns the file's path.
pub fn write_export(ex: &Excerpt, opts: &ExportOptions, dir: &Path, unix_secs: u64) -> Result<PathBuf, ExportError> {
    if ex.generated.is_empty() {
        return Err(ExportError::Empty { bars: ex.bars });
    }
    std::fs::create_dir_all(dir).map_err(|source| ExportError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let stamp = timestamp(unix_secs);
    let mut path = dir.join(format!("Sideman {} {stamp}.mid", opts.role.name()));
    let mut n = 2;
    while path.exists() {
        path = dir.join(format!("Sideman {} {stamp} ({n}).mid", opts.role.name()));
        n += 1;
    }
    models::midi::write_file(&piece(ex, opts), &path)?;
    Ok(path)
}

/// `YYYY-MM-DD HH.MM.SS` (UTC) of a Unix time, for file names.
pub fn timestamp(unix_secs: u64) -> String {
    let days = (unix_secs / 86_400) as i64;
    let secs = unix_secs % 86_400;
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}.{:02}.{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// The user's home folder.
fn home() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .or_else(|| std::env::var_os("USERPROFILE"))
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
}

/// Where "Export MIDI" writes unless the user chose a folder.
pub const DEFAULT_EXPORT_DIR: &str = "~/Music/Sideman";

/// A folder as the user typed it: a leading `~` is the home folder; empty is
/// [`DEFAULT_EXPORT_DIR`].
pub fn expand_home(dir: &str) -> PathBuf {
    let dir = dir.trim();
    let dir = if dir.is_empty() { DEFAULT_EXPORT_DIR } else { dir };
    let rest = match dir.strip_prefix('~') {
        Some(r) if r.is_empty() || r.starts_with('/') || r.starts_with('\\') => r.trim_start_matches(['/', '\\']),
        _ => return PathBuf::from(dir),
    };
    let home = home().unwrap_or_else(std::env::temp_dir);
    if rest.is_empty() { home } else { home.join(rest) }
}

/// The per-user data folder for Sideman: `$XDG_DATA_HOME/sideman` (else `~/.local/share/sideman`;
/// `~/Library/Application Support/Sideman` on macOS, `%APPDATA%\Sideman` on Windows).
pub fn data_dir() -> PathBuf {
    if cfg!(target_os = "macos") {
        return home()
            .unwrap_or_else(std::env::temp_dir)
            .join("Library/Application Support/Sideman");
    }
    if cfg!(windows)
        && let Some(a) = std::env::var_os("APPDATA").filter(|a| !a.is_empty())
    {
        return PathBuf::from(a).join("Sideman");
    }
    match std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        Some(d) => PathBuf::from(d).join("sideman"),
        None => home().unwrap_or_else(std::env::temp_dir).join(".local/share/sideman"),
    }
}

/// The feedback file for a model reference: `feedback.jsonl` in a package's folder; for a
/// built-in model (or a package in a folder that cannot be written)
/// `<data dir>/feedback/<id>.jsonl`.
pub fn feedback_path(model_ref: &str) -> PathBuf {
    let fallback = |id: &str| {
        let id: String = id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        data_dir().join("feedback").join(format!("{id}.jsonl"))
    };
    let reference = model_ref.trim();
    if let Some(id) = reference.strip_prefix(models::package::BUILTIN_PREFIX) {
        return fallback(id);
    }
    let p = Path::new(reference);
    let dir = if p.is_file() { p.parent().unwrap_or(p) } else { p };
    let writable =
        dir.is_dir() && std::fs::metadata(dir).is_ok_and(|m| !m.permissions().readonly()) && probe_writable(dir);
    if writable {
        dir.join(FEEDBACK_FILE)
    } else {
        fallback(dir.file_name().and_then(|n| n.to_str()).unwrap_or("model"))
    }
}

/// Whether a file can be created in `dir` (the feedback file itself, opened for append).
fn probe_writable(dir: &Path) -> bool {
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(dir.join(FEEDBACK_FILE))
        .is_ok()
}

/// Keep or discard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The user liked the phrase.
    Keep,
    /// The user did not.
    Discard,
}

/// A note in a feedback line (beats from the phrase's first bar line).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FeedbackNote {
    /// Onset.
    pub start: f64,
    /// Length.
    pub duration: f64,
    /// Key.
    pub pitch: u8,
    /// Velocity.
    pub velocity: u8,
}

impl From<&Note> for FeedbackNote {
    fn from(n: &Note) -> Self {
        FeedbackNote {
            start: n.start,
            duration: n.duration,
            pitch: n.pitch,
            velocity: n.velocity,
        }
    }
}

/// A chord in a feedback line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeedbackChord {
    /// Beat from the phrase's first bar line.
    pub start: f64,
    /// Chord symbol ("Dm7"), "NC" for none.
    pub chord: String,
}

/// The settings that made a phrase.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeedbackSettings {
    /// Role.
    pub role: Role,
    /// Style parameter (0 none, n = style slot n - 1).
    pub style: i32,
    /// Style name, when the model has one for the slot.
    pub style_name: Option<String>,
    /// Seed.
    pub seed: i32,
    /// Temperature (the parameter: relative to the model's tuned one for the role).
    pub temperature: f32,
    /// Top-k.
    pub top_k: i32,
    /// Top-p.
    pub top_p: f32,
    /// Density.
    pub density: f32,
    /// Harmony, percent.
    pub harmony_pct: f32,
    /// Memory, percent.
    pub memory_pct: f32,
}

/// One line of the feedback file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeedbackRecord {
    /// [`FEEDBACK_FORMAT`].
    pub format: u32,
    /// Unix time of the verdict, seconds.
    pub time: u64,
    /// Keep or discard.
    pub verdict: Verdict,
    /// Model name as shown ("Jazz lead (WJazzD) (int8)").
    pub model: String,
    /// Model reference (`builtin:<id>` or a package path).
    pub model_ref: String,
    /// Settings.
    pub settings: FeedbackSettings,
    /// Tempo.
    pub tempo_bpm: f64,
    /// Time signature numerator.
    pub numerator: u8,
    /// Time signature denominator.
    pub denominator: u8,
    /// Beat of the phrase's first bar line on the host timeline.
    pub start_beat: f64,
    /// Bars.
    pub bars: u32,
    /// Generated notes.
    pub notes: Vec<FeedbackNote>,
    /// The user's notes.
    pub input: Vec<FeedbackNote>,
    /// Chords.
    pub chords: Vec<FeedbackChord>,
}

impl FeedbackRecord {
    /// A record for the phrase `ex`.
    pub fn new(
        ex: &Excerpt,
        verdict: Verdict,
        time: u64,
        model: (String, String),
        settings: FeedbackSettings,
        meter: (f64, u8, u8),
    ) -> Self {
        FeedbackRecord {
            format: FEEDBACK_FORMAT,
            time,
            verdict,
            model: model.0,
            model_ref: model.1,
            settings,
            tempo_bpm: meter.0,
            numerator: meter.1,
            denominator: meter.2,
            start_beat: ex.start_beat,
            bars: ex.bars,
            notes: ex.generated.iter().map(FeedbackNote::from).collect(),
            input: ex.input.iter().map(FeedbackNote::from).collect(),
            chords: ex
                .chords
                .iter()
                .map(|c| FeedbackChord {
                    start: c.start,
                    chord: c.chord.map_or_else(|| "NC".to_string(), |c| c.to_string()),
                })
                .collect(),
        }
    }
}

/// Appends `record` as one JSON line to `path` (folders created as needed).
pub fn append_feedback(path: &Path, record: &FeedbackRecord) -> Result<(), ExportError> {
    if record.notes.is_empty() {
        return Err(ExportError::Empty { bars: record.bars });
    }
    let io = |source| ExportError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let mut line = serde_json::to_string(record).map_err(|e| io(std::io::Error::other(e)))?;
    line.push('\n');
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .map_err(io)?;
    f.write_all(line.as_bytes()).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::{RollEvent, ScheduledNote};
    use models::{Chord, ChordQuality};

    fn temp_dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("sideman-export-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    /// A ii-V-I-I played for `bars` bars with a generated line in eighths (and a swung, humanized
    /// note off the tick grid).
    fn played(bars: usize) -> RollModel {
        let mut m = RollModel::default();
        m.apply(&RollEvent::Reset {
            beat: 0.0,
            numerator: 4,
            denominator: 4,
            bar_start_beat: 0.0,
            tempo_bpm: 140.0,
        });
        let prog = [
            Chord::new(2, ChordQuality::Min7),
            Chord::new(7, ChordQuality::Dom7),
            Chord::new(0, ChordQuality::Maj7),
            Chord::new(0, ChordQuality::Maj7),
        ];
        for bar in 0..bars {
            let b = bar as f64 * 4.0;
            let c = prog[bar % 4];
            for pc in c.pitch_classes() {
                m.apply(&RollEvent::InputOn {
                    beat: b,
                    pitch: 48 + pc,
                    velocity: 80,
                });
            }
            m.apply(&RollEvent::Chord { beat: b, chord: c });
            for k in 0..8 {
                let s = b + k as f64 * 0.5 + if k == 3 { 0.0123 } else { 0.0 };
                m.apply(&RollEvent::Generated(ScheduledNote {
                    start: s,
                    end: s + 0.45,
                    pitch: 60 + c.root + (k % 3) as u8 * 4,
                    channel: 0,
                    velocity: 0.75,
                }));
            }
            for pc in c.pitch_classes() {
                m.apply(&RollEvent::InputOff {
                    beat: b + 3.75,
                    pitch: 48 + pc,
                });
            }
        }
        m
    }

    fn options(include_input: bool) -> ExportOptions {
        ExportOptions {
            tempo_bpm: 140.0,
            numerator: 4,
            denominator: 4,
            role: Role::Lead,
            channel: 0,
            include_input,
        }
    }

    #[test]
    fn the_excerpt_is_the_last_bars_that_were_heard() {
        let m = played(12);
        // Playhead in the middle of bar 9 (beat 38): bars 6, 7, 8 and the heard half of 9.
        let ex = excerpt(&m, 38.0, 4);
        assert_eq!(ex.start_beat, 24.0);
        assert_eq!(ex.bars, 4);
        assert!(ex.generated.iter().all(|n| n.start >= 0.0 && n.start < 14.0));
        assert_eq!(
            ex.generated.len(),
            3 * 8 + 4,
            "three whole bars and the first half of the fourth"
        );
        assert!(ex.generated.iter().all(|n| n.end() <= 14.0 + 1e-9));
        assert_eq!(ex.chords[0].start, 0.0);
        assert_eq!(
            ex.chords[0].chord,
            Some(Chord::new(0, ChordQuality::Maj7)),
            "bar 6 is the I"
        );
        assert_eq!(ex.chords.len(), 3, "I (bars 6 and 7 merged), ii, V: {:?}", ex.chords);
        // At a bar line the excerpt ends there.
        let ex = excerpt(&m, 40.0, 2);
        assert_eq!(ex.start_beat, 32.0);
        assert_eq!(ex.generated.len(), 16);
    }

    #[test]
    fn export_round_trips_through_the_shared_midi_reader() {
        let m = played(8);
        let ex = excerpt(&m, 32.0, 8);
        for include_input in [false, true] {
            let dir = temp_dir(&format!("rt-{include_input}"));
            let opts = options(include_input);
            let path = write_export(&ex, &opts, &dir, 1_700_000_000).unwrap();
            assert!(path.starts_with(&dir));
            assert!(
                path.to_string_lossy().ends_with("Sideman lead 2023-11-14 22.13.20.mid"),
                "{path:?}"
            );
            let back = models::midi::read_file(&path).unwrap();
            assert_eq!(back, piece(&ex, &opts), "what is read back is what was written");
            assert!((back.initial_bpm() - 140.0).abs() < 1e-3);
            assert_eq!(back.tracks.len(), if include_input { 2 } else { 1 });
            assert_eq!(back.tracks[0].notes.len(), 64);
            assert_eq!(back.tracks[0].role, Role::Lead);
            // The note off the grid is rounded to the writer's resolution, not lost.
            assert!(
                back.tracks[0]
                    .notes
                    .iter()
                    .any(|n| (n.start - (1.5 + 0.0123)).abs() < 1.0 / 480.0)
            );
            assert_eq!(back.chords.len(), 6, "ii V I twice (the I of two bars once)");
            assert_eq!(back.chords[1].chord, Some(Chord::new(7, ChordQuality::Dom7)));
            // A second export in the same second gets its own name.
            let again = write_export(&ex, &opts, &dir, 1_700_000_000).unwrap();
            assert_ne!(again, path);
            let _ = std::fs::remove_dir_all(&dir);
        }
    }

    #[test]
    fn drums_are_written_on_channel_ten() {
        let m = played(2);
        let ex = excerpt(&m, 8.0, 2);
        let mut opts = options(false);
        opts.role = Role::Drums;
        opts.channel = 3;
        let p = piece(&ex, &opts);
        assert_eq!(p.tracks[0].channel, 9);
        let back = models::midi::read_smf(&models::midi::write_smf(&p)).unwrap();
        assert_eq!(back, p);
    }

    #[test]
    fn an_empty_excerpt_says_what_to_do() {
        let m = RollModel::default();
        let ex = excerpt(&m, 16.0, 4);
        let dir = temp_dir("empty");
        let e = write_export(&ex, &options(true), &dir, 0).unwrap_err();
        assert!(e.to_string().contains("press play"), "{e}");
        assert!(!dir.exists());
    }

    #[test]
    fn the_export_folder_may_start_at_home() {
        let home = home().unwrap();
        assert_eq!(expand_home(""), home.join("Music/Sideman"));
        assert_eq!(expand_home("~/Music/Sideman"), home.join("Music/Sideman"));
        assert_eq!(expand_home("~"), home);
        assert_eq!(expand_home("/tmp/x"), PathBuf::from("/tmp/x"));
        assert_eq!(expand_home("~other/x"), PathBuf::from("~other/x"));
    }

    #[test]
    fn timestamps_are_civil_dates() {
        assert_eq!(timestamp(0), "1970-01-01 00.00.00");
        assert_eq!(timestamp(951_782_400), "2000-02-29 00.00.00");
        assert_eq!(timestamp(1_700_000_000), "2023-11-14 22.13.20");
    }

    #[test]
    fn feedback_lines_go_next_to_the_package_or_into_the_data_dir() {
        let pkg = temp_dir("pkg");
        std::fs::create_dir_all(&pkg).unwrap();
        assert_eq!(feedback_path(pkg.to_str().unwrap()), pkg.join(FEEDBACK_FILE));
        let manifest = pkg.join("manifest.json");
        std::fs::write(&manifest, "{}").unwrap();
        assert_eq!(feedback_path(manifest.to_str().unwrap()), pkg.join(FEEDBACK_FILE));
        let b = feedback_path("builtin:jazz-lead");
        assert!(b.ends_with("feedback/jazz-lead.jsonl"), "{b:?}");
        assert!(b.starts_with(data_dir()));

        let m = played(4);
        let ex = excerpt(&m, 16.0, PHRASE_BARS);
        let settings = FeedbackSettings {
            role: Role::Lead,
            style: 0,
            style_name: None,
            seed: 7,
            temperature: 1.0,
            top_k: 0,
            top_p: 0.95,
            density: 0.5,
            harmony_pct: 25.0,
            memory_pct: 100.0,
        };
        let path = pkg.join(FEEDBACK_FILE);
        for verdict in [Verdict::Keep, Verdict::Discard] {
            let r = FeedbackRecord::new(
                &ex,
                verdict,
                1_700_000_000,
                ("Test".into(), pkg.display().to_string()),
                settings.clone(),
                (140.0, 4, 4),
            );
            append_feedback(&path, &r).unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["verdict"], "keep");
        assert_eq!(lines[1]["verdict"], "discard");
        assert_eq!(lines[0]["notes"].as_array().unwrap().len(), 32);
        assert_eq!(lines[0]["chords"][0]["chord"], "Dm7");
        assert_eq!(lines[0]["settings"]["seed"], 7);
        assert_eq!(lines[0]["settings"]["role"], "lead");
        let _ = std::fs::remove_dir_all(&pkg);
    }
}
