//! Weimar Jazz Database CSV pairs: a solo (`mcsv_melody/X_FINAL.csv`) and its beat track
//! (`mcsv_beat/X_FINAL_beattrack.csv`), read into a [`Piece`] in musical time.
//!
//! # How a pair becomes a piece
//!
//! - **Bars and meter.** Bars come from the beat track's `bar` column; the first bar present
//!   becomes bar 0 (pickup bars are numbered from -1 down in the source). Each bar's time
//!   signature is its first beat's `signature` (`'4/4'`, `"""4/4"""`, `4/4` all read). A beat
//!   (`beat` column, from 1) sits `(beat - 1) * 4 / denominator` quarter notes into its bar, so a
//!   pickup that starts on beat 3 starts two beats into bar 0.
//! - **Time.** A note's onset and offset (onset + duration, in seconds) are placed by linear
//!   interpolation between the onsets of the beats around them. Before the first beat the first
//!   beat interval's rate is used; after the last beat, the last beat's `duration`. Notes that
//!   would start before beat 0 or after [`crate::midi::MAX_PIECE_BEATS`] are dropped (and
//!   counted in [`PairStats::dropped_notes`]). A note is at least [`MIN_NOTE_BEATS`] long.
//! - **Solo.** One [`Role::Lead`] track named `Solo` on channel 0. Velocity comes from the note's
//!   loudness relative to the solo's median, so that recording level does not matter:
//!   `80 + 4 * (loud_median - solo median)` (loud_median is in dB: 4 velocity steps per dB), or,
//!   for files without `loud_median`, `80 + 60 * (loud_max - solo median)`; clamped to 20..=127. A
//!   missing value counts as the median (velocity 80).
//! - **Bass.** The beat track's `bass` column gives one [`Role::Bass`] note per beat that has one
//!   (named `Bass`, channel 1), one beat long, velocity [`BASS_VELOCITY`].
//! - **Chords.** A [`ChordEvent`] on every beat where the parsed chord changes (`NC` is `None`).
//!   An empty cell keeps the chord in force. A symbol [`Chord::parse`] refuses becomes `None` and
//!   is counted in [`PairStats::unparsed_chords`].
//! - **Tempo.** One [`TempoChange`] at beat 0: the median over all beats of quarter notes per
//!   minute.
//!
//! Columns are found by their header names, so files without `bass`, `loud_max` or
//! `loud_median` (a few in the set) read too.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::chord::Chord;
use crate::midi::MAX_PIECE_BEATS;
use crate::music::{ChordEvent, Meter, MeterChange, Note, Piece, Role, TempoChange, Track};

/// Largest CSV file read, in bytes.
pub const MAX_CSV_BYTES: u64 = 16 * 1024 * 1024;
/// Most bars a beat track may span.
pub const MAX_BARS: i64 = 20_000;
/// Shortest note, in beats.
pub const MIN_NOTE_BEATS: f64 = 1.0 / 48.0;
/// Velocity of the bass notes.
pub const BASS_VELOCITY: u8 = 64;
/// Velocity of a solo note at the solo's median loudness.
pub const SOLO_MEDIAN_VELOCITY: f64 = 80.0;
/// Velocity steps per dB of `loud_median` above the solo's median.
pub const VELOCITY_PER_DB: f64 = 4.0;
/// Velocity steps per unit of `loud_max` above the solo's median.
pub const VELOCITY_PER_LOUD_MAX: f64 = 60.0;
/// Quietest solo velocity.
pub const MIN_SOLO_VELOCITY: u8 = 20;

/// Why a pair could not be read.
#[derive(Debug, thiserror::Error)]
pub enum WjazzdError {
    /// A file could not be read.
    #[error("cannot read {}", file.display())]
    Io {
        /// The file.
        file: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// A file is larger than [`MAX_CSV_BYTES`].
    #[error("{}: file is {bytes} bytes, over the limit of {MAX_CSV_BYTES}", file.display())]
    TooLarge {
        /// The file.
        file: PathBuf,
        /// Its size.
        bytes: u64,
    },
    /// The header lacks a column this reader needs.
    #[error("{}: no column {column:?} in the header", file.display())]
    MissingColumn {
        /// The file.
        file: PathBuf,
        /// The column.
        column: &'static str,
    },
    /// A row could not be read.
    #[error("{}:{line}: {reason}", file.display())]
    Row {
        /// The file.
        file: PathBuf,
        /// Line number, from 1 (the header is line 1).
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// A file has a header but no rows.
    #[error("{}: no rows", file.display())]
    Empty {
        /// The file.
        file: PathBuf,
    },
    /// The beat track spans more than [`MAX_BARS`] bars.
    #[error("{}: the beat track spans {bars} bars, over the limit of {MAX_BARS}", file.display())]
    TooLong {
        /// The file.
        file: PathBuf,
        /// Bars spanned.
        bars: i64,
    },
}

/// What reading a pair found, beyond the piece itself.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PairStats {
    /// Rows of the beat track.
    pub beats: usize,
    /// Bars spanned by the beat track.
    pub bars: u32,
    /// Solo notes read.
    pub notes: usize,
    /// Solo notes dropped for falling outside the piece.
    pub dropped_notes: usize,
    /// Bass notes (beats with a bass pitch).
    pub bass_notes: usize,
    /// Chord events written.
    pub chord_changes: usize,
    /// Chord symbols [`Chord::parse`] refused, with the number of beats each was on.
    pub unparsed_chords: BTreeMap<String, usize>,
}

/// Reads a solo and its beat track from their files.
pub fn read_pair(melody_csv: &Path, beat_csv: &Path) -> Result<Piece, WjazzdError> {
    read_pair_with_stats(melody_csv, beat_csv).map(|(piece, _)| piece)
}

/// Reads a solo and its beat track from their files, with what was found on the way.
pub fn read_pair_with_stats(melody_csv: &Path, beat_csv: &Path) -> Result<(Piece, PairStats), WjazzdError> {
    let melody = read_text(melody_csv)?;
    let beat = read_text(beat_csv)?;
    parse_pair(&melody, melody_csv, &beat, beat_csv)
}

/// Reads a solo and its beat track from CSV text. Errors name the files `<melody>` and `<beat>`.
pub fn read_pair_str(melody: &str, beat: &str) -> Result<Piece, WjazzdError> {
    read_pair_str_with_stats(melody, beat).map(|(piece, _)| piece)
}

/// Reads a solo and its beat track from CSV text, with what was found on the way.
pub fn read_pair_str_with_stats(melody: &str, beat: &str) -> Result<(Piece, PairStats), WjazzdError> {
    parse_pair(melody, Path::new("<melody>"), beat, Path::new("<beat>"))
}

/// The pairs in a WJazzD folder: every `mcsv_melody/X_FINAL.csv` that has a
/// `mcsv_beat/X_FINAL_beattrack.csv`, as (melody, beat track), sorted by name. A melody without a
/// beat track is left out.
pub fn find_pairs(dir: &Path) -> Result<Vec<(PathBuf, PathBuf)>, WjazzdError> {
    let melody_dir = dir.join("mcsv_melody");
    let io = |source| WjazzdError::Io {
        file: melody_dir.clone(),
        source,
    };
    let mut pairs = Vec::new();
    for entry in std::fs::read_dir(&melody_dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some(stem) = name.strip_suffix("_FINAL.csv") else {
            continue;
        };
        let beat = dir.join("mcsv_beat").join(format!("{stem}_FINAL_beattrack.csv"));
        if beat.is_file() {
            pairs.push((path, beat));
        }
    }
    pairs.sort();
    Ok(pairs)
}

fn read_text(path: &Path) -> Result<String, WjazzdError> {
    let io = |source| WjazzdError::Io {
        file: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    if len > MAX_CSV_BYTES {
        return Err(WjazzdError::TooLarge {
            file: path.to_path_buf(),
            bytes: len,
        });
    }
    let mut text = String::new();
    file.take(MAX_CSV_BYTES + 1).read_to_string(&mut text).map_err(io)?;
    if text.len() as u64 > MAX_CSV_BYTES {
        return Err(WjazzdError::TooLarge {
            file: path.to_path_buf(),
            bytes: text.len() as u64,
        });
    }
    Ok(text)
}

/// Splits one CSV line into fields: commas separate, double quotes quote, `""` inside quotes is
/// a quote. `None` when a quote is left open.
fn split_csv_line(line: &str) -> Option<Vec<String>> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', true) => quoted = false,
            ('"', false) if field.is_empty() => quoted = true,
            (',', false) => fields.push(std::mem::take(&mut field)),
            (c, _) => field.push(c),
        }
    }
    if quoted {
        return None;
    }
    fields.push(field);
    Some(fields)
}

/// A CSV file: its header and its rows with their line numbers.
struct Table<'a> {
    file: &'a Path,
    header: Vec<String>,
    rows: Vec<(usize, Vec<String>)>,
}

impl<'a> Table<'a> {
    fn parse(text: &str, file: &'a Path) -> Result<Table<'a>, WjazzdError> {
        let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l.trim_end_matches('\r')));
        let row_err = |line, reason: &str| WjazzdError::Row {
            file: file.to_path_buf(),
            line,
            reason: reason.into(),
        };
        let (_, head) = lines.find(|(_, l)| !l.trim().is_empty()).ok_or(WjazzdError::Empty {
            file: file.to_path_buf(),
        })?;
        let header: Vec<String> = split_csv_line(head)
            .ok_or_else(|| row_err(1, "unclosed quote in the header"))?
            .into_iter()
            .map(|h| h.trim().to_ascii_lowercase())
            .collect();
        let mut rows = Vec::new();
        for (n, line) in lines {
            if line.trim().is_empty() {
                continue;
            }
            let fields = split_csv_line(line).ok_or_else(|| row_err(n, "unclosed quote"))?;
            if fields.len() != header.len() {
                return Err(row_err(
                    n,
                    &format!("{} fields for {} columns", fields.len(), header.len()),
                ));
            }
            rows.push((n, fields));
        }
        if rows.is_empty() {
            return Err(WjazzdError::Empty {
                file: file.to_path_buf(),
            });
        }
        Ok(Table { file, header, rows })
    }

    fn column(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }

    fn require(&self, name: &'static str) -> Result<usize, WjazzdError> {
        self.column(name).ok_or(WjazzdError::MissingColumn {
            file: self.file.to_path_buf(),
            column: name,
        })
    }

    fn err(&self, line: usize, reason: String) -> WjazzdError {
        WjazzdError::Row {
            file: self.file.to_path_buf(),
            line,
            reason,
        }
    }

    /// A finite number in a cell; `None` for an empty cell.
    fn number(&self, line: usize, fields: &[String], col: usize, what: &str) -> Result<Option<f64>, WjazzdError> {
        let cell = clean(&fields[col]);
        if cell.is_empty() {
            return Ok(None);
        }
        match cell.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(Some(v)),
            _ => Err(self.err(line, format!("{what} {cell:?} is not a number"))),
        }
    }

    /// A finite number in a cell that must not be empty.
    fn required(&self, line: usize, fields: &[String], col: usize, what: &str) -> Result<f64, WjazzdError> {
        self.number(line, fields, col, what)?
            .ok_or_else(|| self.err(line, format!("{what} is empty")))
    }

    /// A whole number in a cell that must not be empty.
    fn integer(&self, line: usize, fields: &[String], col: usize, what: &str) -> Result<i64, WjazzdError> {
        let v = self.required(line, fields, col, what)?;
        if v.fract() != 0.0 || v.abs() > 1e12 {
            return Err(self.err(line, format!("{what} {v} is not a whole number")));
        }
        Ok(v as i64)
    }

    /// A MIDI pitch, or `None` for an empty cell.
    fn pitch(&self, line: usize, fields: &[String], col: usize, what: &str) -> Result<Option<u8>, WjazzdError> {
        match self.number(line, fields, col, what)? {
            None => Ok(None),
            Some(p) if (0.0..=127.0).contains(&p.round()) => Ok(Some(p.round() as u8)),
            Some(p) => Err(self.err(line, format!("{what} {p} is not a MIDI pitch"))),
        }
    }
}

/// A cell without surrounding spaces and the quotes the exports leave around some values.
fn clean(cell: &str) -> &str {
    cell.trim_matches(|c: char| c.is_whitespace() || c == '"' || c == '\'')
}

/// A time signature such as `4/4`, `'3/4'` or `"""6/8"""`.
fn signature(cell: &str) -> Option<(u8, u8)> {
    let (n, d) = clean(cell).split_once('/')?;
    let (n, d): (u8, u8) = (n.trim().parse().ok()?, d.trim().parse().ok()?);
    ((1..=64).contains(&n) && d.is_power_of_two() && d <= 32).then_some((n, d))
}

/// One row of the beat track, placed in the piece.
struct Beat {
    line: usize,
    /// Onset, seconds.
    onset: f64,
    /// Duration from the file, seconds (used only after the last beat).
    seconds: f64,
    /// Position, beats from bar 0.
    position: f64,
    /// Length, in quarter-note beats.
    length: f64,
}

/// Seconds to beats, by interpolation between beat onsets.
struct TimeMap<'b> {
    beats: &'b [Beat],
}

impl TimeMap<'_> {
    fn beat_at(&self, seconds: f64) -> f64 {
        let b = self.beats;
        let i = b.partition_point(|x| x.onset <= seconds);
        let rate = |a: &Beat, c: &Beat| (c.position - a.position) / (c.onset - a.onset);
        if i == 0 {
            // Before the first beat: the first interval's rate (or the first beat's own length).
            let r = match b.get(1) {
                Some(next) => rate(&b[0], next),
                None => b[0].length / b[0].seconds,
            };
            b[0].position - (b[0].onset - seconds) * r
        } else if i == b.len() {
            let last = &b[i - 1];
            let r = if last.seconds > 0.0 {
                last.length / last.seconds
            } else if i >= 2 {
                rate(&b[i - 2], last)
            } else {
                // One beat of no length: assume 120 BPM.
                2.0
            };
            last.position + (seconds - last.onset) * r
        } else {
            let (a, c) = (&b[i - 1], &b[i]);
            a.position + (seconds - a.onset) * rate(a, c)
        }
    }
}

fn median(values: &mut [f64]) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied()
}

fn parse_pair(
    melody: &str,
    melody_file: &Path,
    beat: &str,
    beat_file: &Path,
) -> Result<(Piece, PairStats), WjazzdError> {
    let mut stats = PairStats::default();

    // The beat track: bars, meter, positions, chords, bass.
    let bt = Table::parse(beat, beat_file)?;
    let (c_onset, c_dur, c_bar, c_beat, c_sig, c_chord) = (
        bt.require("onset")?,
        bt.require("duration")?,
        bt.require("bar")?,
        bt.require("beat")?,
        bt.require("signature")?,
        bt.require("chord")?,
    );
    let c_bass = bt.column("bass");
    struct RawBeat {
        line: usize,
        onset: f64,
        seconds: f64,
        bar: i64,
        beat: i64,
        sig: (u8, u8),
    }
    let mut raw: Vec<RawBeat> = Vec::with_capacity(bt.rows.len());
    for (line, f) in &bt.rows {
        let line = *line;
        let onset = bt.required(line, f, c_onset, "onset")?;
        let seconds = bt.number(line, f, c_dur, "duration")?.unwrap_or(0.0);
        let bar = bt.integer(line, f, c_bar, "bar")?;
        let beat = bt.integer(line, f, c_beat, "beat")?;
        let sig = match (signature(&f[c_sig]), raw.last()) {
            (Some(s), _) => s,
            (None, Some(prev)) if clean(&f[c_sig]).is_empty() => prev.sig,
            _ => return Err(bt.err(line, format!("time signature {:?} cannot be read", f[c_sig]))),
        };
        if let Some(prev) = raw.last() {
            if onset <= prev.onset {
                return Err(bt.err(
                    line,
                    format!("beat onset {onset} is not after the previous one ({})", prev.onset),
                ));
            }
            if (bar, beat) <= (prev.bar, prev.beat) {
                return Err(bt.err(
                    line,
                    format!(
                        "bar {bar} beat {beat} does not come after bar {} beat {}",
                        prev.bar, prev.beat
                    ),
                ));
            }
        }
        if beat < 1 || beat > sig.0 as i64 {
            return Err(bt.err(line, format!("beat {beat} is outside a bar of {}/{}", sig.0, sig.1)));
        }
        raw.push(RawBeat {
            line,
            onset,
            seconds,
            bar,
            beat,
            sig,
        });
    }
    let first_bar = raw[0].bar;
    let bars = raw[raw.len() - 1].bar - first_bar + 1;
    if bars > MAX_BARS {
        return Err(WjazzdError::TooLong {
            file: beat_file.to_path_buf(),
            bars,
        });
    }
    stats.bars = bars as u32;
    stats.beats = raw.len();
    let mut changes: Vec<MeterChange> = Vec::new();
    for b in &raw {
        let bar = (b.bar - first_bar) as u32;
        if changes.last().is_none_or(|c| c.bar != bar) {
            changes.push(MeterChange {
                bar,
                numerator: b.sig.0,
                denominator: b.sig.1,
            });
        }
    }
    let meter = Meter::from_changes(changes);
    let beats: Vec<Beat> = raw
        .iter()
        .map(|b| {
            let length = 4.0 / b.sig.1 as f64;
            let position = meter.bar_start((b.bar - first_bar) as u32) + (b.beat - 1) as f64 * length;
            Beat {
                line: b.line,
                onset: b.onset,
                seconds: b.seconds,
                position,
                length,
            }
        })
        .collect();

    let mut chords: Vec<ChordEvent> = Vec::new();
    let mut bass = Vec::new();
    for (b, (_, f)) in beats.iter().zip(&bt.rows) {
        let symbol = clean(&f[c_chord]);
        if !symbol.is_empty() {
            let chord = Chord::parse(symbol).unwrap_or_else(|_| {
                *stats.unparsed_chords.entry(symbol.to_string()).or_default() += 1;
                None
            });
            if chords.last().is_none_or(|c| c.chord != chord) {
                chords.push(ChordEvent {
                    start: b.position,
                    chord,
                });
            }
        }
        if let Some(col) = c_bass
            && let Some(pitch) = bt.pitch(b.line, f, col, "bass pitch")?
        {
            bass.push(Note {
                start: b.position,
                duration: b.length,
                pitch,
                velocity: BASS_VELOCITY,
            });
        }
    }
    stats.chord_changes = chords.len();
    stats.bass_notes = bass.len();

    let mut rates: Vec<f64> = beats
        .windows(2)
        .map(|w| 60.0 * (w[1].position - w[0].position) / (w[1].onset - w[0].onset))
        .collect();
    if let Some(last) = beats.last().filter(|b| b.seconds > 0.0) {
        rates.push(60.0 * last.length / last.seconds);
    }
    let tempo_map = median(&mut rates)
        .filter(|bpm| bpm.is_finite() && *bpm > 0.0)
        .map(|bpm| vec![TempoChange { beat: 0.0, bpm }])
        .unwrap_or_default();

    // The solo.
    let mt = Table::parse(melody, melody_file)?;
    let (c_onset, c_dur, c_pitch) = (mt.require("onset")?, mt.require("duration")?, mt.require("pitch")?);
    let loudness = mt
        .column("loud_median")
        .map(|c| (c, VELOCITY_PER_DB))
        .or_else(|| mt.column("loud_max").map(|c| (c, VELOCITY_PER_LOUD_MAX)));
    struct RawNote {
        onset: f64,
        seconds: f64,
        pitch: u8,
        loud: Option<f64>,
    }
    let mut raw_notes = Vec::with_capacity(mt.rows.len());
    for (line, f) in &mt.rows {
        let line = *line;
        let onset = mt.required(line, f, c_onset, "onset")?;
        let seconds = mt.required(line, f, c_dur, "duration")?;
        if seconds < 0.0 {
            return Err(mt.err(line, format!("duration {seconds} is negative")));
        }
        let pitch = mt
            .pitch(line, f, c_pitch, "pitch")?
            .ok_or_else(|| mt.err(line, "pitch is empty".into()))?;
        let loud = match loudness {
            Some((c, _)) => mt.number(line, f, c, "loudness")?,
            None => None,
        };
        raw_notes.push(RawNote {
            onset,
            seconds,
            pitch,
            loud,
        });
    }
    let mut louds: Vec<f64> = raw_notes.iter().filter_map(|n| n.loud).collect();
    let loud_median = median(&mut louds);
    let map = TimeMap { beats: &beats };
    let mut notes = Vec::with_capacity(raw_notes.len());
    for n in &raw_notes {
        let start = map.beat_at(n.onset);
        let end = map.beat_at(n.onset + n.seconds);
        if !(0.0..=MAX_PIECE_BEATS).contains(&start) {
            stats.dropped_notes += 1;
            continue;
        }
        let velocity = match (n.loud, loud_median, loudness) {
            (Some(l), Some(m), Some((_, scale))) => SOLO_MEDIAN_VELOCITY + scale * (l - m),
            _ => SOLO_MEDIAN_VELOCITY,
        };
        let velocity = velocity.round().clamp(MIN_SOLO_VELOCITY as f64, 127.0) as u8;
        notes.push(Note {
            start,
            duration: (end - start).max(MIN_NOTE_BEATS),
            pitch: n.pitch,
            velocity,
        });
    }
    notes.sort_by(|a, b| a.start.total_cmp(&b.start).then(a.pitch.cmp(&b.pitch)));
    stats.notes = notes.len();

    let mut tracks = vec![Track {
        name: "Solo".into(),
        channel: 0,
        program: None,
        role: Role::Lead,
        notes,
    }];
    if !bass.is_empty() {
        tracks.push(Track {
            name: "Bass".into(),
            channel: 1,
            program: None,
            role: Role::Bass,
            notes: bass,
        });
    }
    Ok((
        Piece {
            meter,
            tempo_map,
            chords,
            tracks,
        },
        stats,
    ))
}

#[cfg(test)]
mod tests;
