//! MusicXML reading: `.musicxml` and `.xml` scores and compressed `.mxl` archives, into the same
//! [`Piece`] in musical time as a MIDI file, with the score's metadata ([`ScoreInfo`]) and what was
//! not expanded or understood ([`ReadReport`]).
//!
//! [`read_musicxml`] turns any byte slice into a piece or a [`MusicXmlError`]; it never panics, and
//! its memory is bounded by the input size and the limits below. The XML is parsed by `roxmltree`
//! (a read-only tree with a node limit and entity-expansion checks); archives by `zip`.
//!
//! # Reading rules
//!
//! - **Container.** Bytes that start like a zip archive are an `.mxl` file: the score is the first
//!   `rootfile` of `META-INF/container.xml` with the MusicXML media type (or none). When
//!   container.xml is missing, is not well-formed XML, or names an entry the archive lacks, the
//!   first `.musicxml` or `.xml` entry outside `META-INF/` is read instead and the report says why.
//!   Any other bytes are the score itself: UTF-8 (with or without a BOM), UTF-16 (with a BOM, or
//!   starting with `<`), or ISO-8859-1/Windows-1252 when the XML declaration says so.
//! - **Layout.** `score-partwise` and `score-timewise` are read alike. Measures are matched across
//!   parts by position, not by their `number`.
//! - **Time.** A beat is a quarter note: durations are `<duration>` / `<divisions>`. `<backup>` and
//!   `<forward>` move the part's cursor; a `<chord/>` note starts with the note before it; tuplets
//!   need nothing more, since durations already hold them. A measure lasts as far as the furthest
//!   cursor of any part reaches in it; a measure with no content lasts its time signature.
//! - **Meter.** A measure whose length matches its `<time>` has that signature (compound `3+2`
//!   beats add up; `<senza-misura>` has none). A measure of another length (a pickup, a short
//!   last bar) gets a signature of its own length that the tokenizer has, with its time
//!   signature's denominator when it can, else /4, /8, /16 or /2. A longer one that none fits (a
//!   cadenza, an overfull bar) becomes bars of its time signature (or 4/4) and a bar for the
//!   rest; a rest that is not a whole number of sixteenths is padded at its end to the next one
//!   and counted in the report. So bar lines stay where the score has them.
//! - **Repeats.** `<repeat>` barlines (with `times`, at most [`MAX_REPEAT_TIMES`]) and `<ending>`
//!   voltas are expanded: an ending is played on the passes its `number` lists. The playback jumps
//!   of `<sound>` (`dacapo`, `dalsegno` to its `segno`, `tocoda` to its `coda`, `fine`) are
//!   expanded too, once, without repeats after the jump (and with only the last volta). Jumps
//!   that are only text (`<words>D.S. al Coda</words>` with no `<sound>`) are not: they are
//!   listed in [`ReadReport::unexpanded_jumps`].
//! - **Notes.** Sounding pitch: step, `<alter>` (rounded) and octave, plus the part's
//!   `<transpose>` (chromatic + 12 x octave-change), so transposing instruments sound at concert
//!   pitch. Unpitched notes play their instrument's `<midi-unpitched>` key. Ties (`<tie>`, else
//!   `<tied>`) join a note to the note of the same pitch in the same part that ends where it
//!   starts. Rests only move time; cue notes are skipped. Grace notes last [`GRACE_BEATS`] each
//!   and end where the next note or rest of their voice starts (before the beat; a group of graces
//!   before a note is played in order); graces before the piece's first beat are played on it.
//!   Notes whose pitch falls outside 0-127 are dropped and counted in the report.
//! - **Velocity.** A note's `dynamics` attribute (a percentage of forte, 90) decides, else the
//!   part's dynamic in force: `<sound dynamics>`, else the mark (`ppp` 16, `pp` 33, `p` 49, `mp`
//!   64, `mf` 80, `f` 96, `ff` 112, `fff` 126; more `p`s or `f`s go further). Accents (`sf`,
//!   `sfz`, `fz`, `rf`...) raise only the notes that start with them; `fp`, `sfp` and `sfpp`
//!   accent those notes, then fall. Before any dynamic: [`DEFAULT_VELOCITY`].
//! - **Tempo.** `<sound tempo>` (quarter notes per minute), else a `<metronome>` mark (its beat
//!   unit, dots included, times `per-minute`). A first tempo inside the first bar counts from beat
//!   0; with none there, the piece starts at 120 BPM.
//! - **Chords.** The `<harmony>` symbols of the first part that has any, at their place (with
//!   `<offset>`): root (or a `<numeral>` in its key) and kind with `<degree>`s, reduced to
//!   [`ChordQuality`] as [`crate::chord`] reduces symbols (a seventh added to a triad makes a
//!   seventh chord; b9, #9, b13 or b5 on a dominant make it altered; #5 makes 7#5; ninths,
//!   elevenths and thirteenths keep their seventh chord; a suspended second is sus4). `<bass>` and
//!   `<inversion>` are read past: the chord set has no slash chords. Kind `none` is N.C.; a kind
//!   with no quality (`pedal`, an `other` whose text does not parse) is N.C. and counted in
//!   [`ReadReport::unknown_harmony`]. Chords of transposing parts are moved to concert pitch.
//! - **Roles.** One track per part, all its staves and voices together (a piano's two staves
//!   stay one piano part). Unpitched notes, a percussion sound or MIDI channel 10 make drums; a
//!   voice (a `voice.*` instrument sound, or a part named Voice, Singstimme, Soprano...) is a
//!   lead; a part of two or more staves is piano; any other part is what
//!   [`crate::midi::infer_role`] says from its name, program and notes.
//! - **Metadata.** [`ScoreInfo`]: work title and number, movement title, composer(s) (the
//!   `<creator type="composer">`s, else a composer credit), lyricist(s), and a date from a
//!   `<miscellaneous-field>` named `date`, `year` or `composition-date`. The encoding date is
//!   not the work's and is not read.
//! - **Limits.** Files over [`MAX_MUSICXML_FILE_BYTES`] and scores over [`MAX_SCORE_BYTES`] (after
//!   decompression) or [`MAX_XML_NODES`] elements are refused, as are pieces with more than
//!   [`crate::midi::MAX_NOTES`] notes, longer than [`crate::midi::MAX_PIECE_BEATS`], played over
//!   more than [`MAX_PLAYED_MEASURES`] measures, or with a measure longer than
//!   [`MAX_MEASURE_BEATS`].
//!
//! [`ChordQuality`]: crate::chord::ChordQuality

mod container;
mod directions;
mod harmony;
mod metadata;
mod repeats;
mod role;
mod score;
#[cfg(test)]
mod tests;
mod timing;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::music::Piece;

pub use metadata::ScoreInfo;

/// File name extensions read as MusicXML (compared without regard to case).
pub const EXTENSIONS: [&str; 3] = ["musicxml", "xml", "mxl"];
/// Largest file [`read_file`] and [`read_musicxml`] accept, in bytes (32 MiB).
pub const MAX_MUSICXML_FILE_BYTES: u64 = 32 * 1024 * 1024;
/// Largest score text, in bytes, after decompression (64 MiB).
pub const MAX_SCORE_BYTES: u64 = 64 * 1024 * 1024;
/// Most XML nodes a score may have.
pub const MAX_XML_NODES: u32 = 4_000_000;
/// Most measures a score may play once its repeats are expanded.
pub const MAX_PLAYED_MEASURES: usize = 20_000;
/// Most times a `<repeat times>` plays its section.
pub const MAX_REPEAT_TIMES: u32 = 16;
/// Longest measure, in beats.
pub const MAX_MEASURE_BEATS: f64 = 255.0;
/// Length of a grace note, in beats (a 24th note's worth: two ticks of the token grid).
pub const GRACE_BEATS: f64 = 1.0 / 6.0;
/// Velocity of notes before any dynamic mark (mezzo-forte).
pub const DEFAULT_VELOCITY: u8 = 80;

/// Why a MusicXML file could not be read.
///
/// Messages leave out their cause: it is the error's [`source`](std::error::Error::source), so
/// that a caller printing the chain (`anyhow`'s `{:#}`, [`crate::error::chain`]) shows it once.
#[derive(Debug, thiserror::Error)]
pub enum MusicXmlError {
    /// The file could not be opened or read.
    #[error("cannot read {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// Reading a file failed for the reason inside.
    #[error("{}", path.display())]
    InFile {
        /// The file.
        path: PathBuf,
        /// Why it could not be read.
        source: Box<MusicXmlError>,
    },
    /// The file, or the score inside an archive, is larger than its limit.
    #[error("{what} is {bytes} bytes, over the limit of {limit}")]
    TooLarge {
        /// "file" or "the score".
        what: &'static str,
        /// Its size (at least this many bytes).
        bytes: u64,
        /// The limit.
        limit: u64,
    },
    /// The bytes look like a zip archive (`.mxl`) but it cannot be read (cut short, damaged).
    #[error("the .mxl archive cannot be read")]
    Archive {
        /// What the zip reader said.
        source: zip::result::ZipError,
    },
    /// An entry of the archive cannot be decompressed.
    #[error("the .mxl archive's entry {name:?} cannot be read")]
    ArchiveEntry {
        /// The entry.
        name: String,
        /// What the zip reader said.
        source: std::io::Error,
    },
    /// The archive holds no score.
    #[error("the .mxl archive holds no MusicXML score ({why}, and no .musicxml or .xml entry)")]
    NoScoreInArchive {
        /// Why container.xml did not name one.
        why: String,
    },
    /// The score is neither UTF-8 nor UTF-16 text (nor declared as ISO-8859-1).
    #[error("the score is not UTF-8 or UTF-16 text")]
    NotText,
    /// The score is not well-formed XML (or has more than [`MAX_XML_NODES`] nodes).
    #[error("the score is not well-formed XML")]
    Xml {
        /// What the XML parser said, with the line and column.
        source: roxmltree::Error,
    },
    /// The XML is not a MusicXML score.
    #[error("not a MusicXML score: the root element is <{root}>")]
    NotMusicXml {
        /// The root element's name.
        root: String,
    },
    /// The score has no `<part>`.
    #[error("the score has no parts")]
    NoParts,
    /// The score has no notes.
    #[error("the score has no notes")]
    NoNotes,
    /// The score has more than [`crate::midi::MAX_NOTES`] notes (repeats expanded).
    #[error("the score has more than {} notes", crate::midi::MAX_NOTES)]
    TooManyNotes,
    /// The piece runs past [`crate::midi::MAX_PIECE_BEATS`].
    #[error(
        "the piece runs to beat {beat:.0}, past the limit of {} beats",
        crate::midi::MAX_PIECE_BEATS
    )]
    TooLong {
        /// Where it got to.
        beat: f64,
    },
    /// Repeats expanded, the score plays more than [`MAX_PLAYED_MEASURES`] measures.
    #[error("with its repeats the score plays more than {MAX_PLAYED_MEASURES} measures")]
    TooManyMeasures,
    /// A measure is longer than [`MAX_MEASURE_BEATS`].
    #[error("measure {measure} lasts {beats:.0} beats, over the limit of {MAX_MEASURE_BEATS}")]
    MeasureTooLong {
        /// The measure's number.
        measure: String,
        /// Its length.
        beats: f64,
    },
}

impl MusicXmlError {
    /// The reason, without the file it happened in.
    pub fn reason(&self) -> &MusicXmlError {
        match self {
            MusicXmlError::InFile { source, .. } => source.reason(),
            e => e,
        }
    }
}

/// What [`read_musicxml_with_report`] read past: jumps it did not expand, symbols it did not
/// understand, measures it had to pad. A default report means nothing was left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadReport {
    /// Why `META-INF/container.xml` could not be used, when the score was found by its name.
    pub container_fallback: Option<String>,
    /// Text-only jumps (no `<sound>`), as (what the score says, measure number).
    pub unexpanded_jumps: Vec<(String, String)>,
    /// Harmony kinds read as N.C. because the chord set has no quality for them, with counts.
    pub unknown_harmony: BTreeMap<String, usize>,
    /// Measures padded at their end because no time signature expresses their length.
    pub padded_measures: usize,
    /// Notes dropped because their sounding pitch is outside 0-127.
    pub out_of_range_notes: usize,
    /// `<repeat times>` values cut to [`MAX_REPEAT_TIMES`].
    pub clamped_repeats: usize,
    /// Playback jumps (`<sound dalsegno>`, `tocoda`) whose target the score lacks, as (jump,
    /// measure number): played on as if there were no jump.
    pub missing_jump_targets: Vec<(String, String)>,
}

impl ReadReport {
    /// Whether nothing was left out.
    pub fn is_clean(&self) -> bool {
        *self == ReadReport::default()
    }

    /// One line for a person, or `None` when nothing was left out: "MusicXML read with
    /// omissions: jump "D.S. al Coda" at measure 32 not expanded; ...".
    pub fn warning(&self) -> Option<String> {
        let mut parts: Vec<String> = Vec::new();
        if let Some(why) = &self.container_fallback {
            parts.push(format!("container.xml not used ({why}), the score found by its name"));
        }
        for (what, measure) in &self.unexpanded_jumps {
            parts.push(format!("jump {what:?} at measure {measure} not expanded"));
        }
        for (what, measure) in &self.missing_jump_targets {
            parts.push(format!("{what} at measure {measure} has no target, not taken"));
        }
        if !self.unknown_harmony.is_empty() {
            let kinds: Vec<String> = self
                .unknown_harmony
                .iter()
                .map(|(k, n)| format!("{k:?} x{n}"))
                .collect();
            parts.push(format!("harmony kinds read as N.C. ({})", kinds.join(", ")));
        }
        if self.padded_measures > 0 {
            parts.push(format!(
                "{} measures padded to the next sixteenth",
                self.padded_measures
            ));
        }
        if self.out_of_range_notes > 0 {
            parts.push(format!(
                "{} notes outside MIDI pitch range dropped",
                self.out_of_range_notes
            ));
        }
        if self.clamped_repeats > 0 {
            parts.push(format!(
                "{} repeats played {MAX_REPEAT_TIMES} times, not as marked",
                self.clamped_repeats
            ));
        }
        (!parts.is_empty()).then(|| format!("MusicXML read with omissions: {}", parts.join("; ")))
    }
}

/// A score read: the piece, the score's metadata, and what was left out.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreFile {
    /// The music.
    pub piece: Piece,
    /// Titles, composer, date.
    pub info: ScoreInfo,
    /// What was not expanded or understood.
    pub report: ReadReport,
}

/// Whether `path` has a MusicXML extension (see [`EXTENSIONS`]).
pub fn is_musicxml_path(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)))
}

/// Reads a MusicXML score or `.mxl` archive from memory (see the module documentation).
pub fn read_musicxml(bytes: &[u8]) -> Result<Piece, MusicXmlError> {
    read_musicxml_with_report(bytes).map(|s| s.piece)
}

/// Reads a MusicXML score or `.mxl` archive like [`read_musicxml`], with its metadata and a
/// report of what was left out.
pub fn read_musicxml_with_report(bytes: &[u8]) -> Result<ScoreFile, MusicXmlError> {
    if bytes.len() as u64 > MAX_MUSICXML_FILE_BYTES {
        return Err(MusicXmlError::TooLarge {
            what: "file",
            bytes: bytes.len() as u64,
            limit: MAX_MUSICXML_FILE_BYTES,
        });
    }
    let mut report = ReadReport::default();
    let text = container::score_text(bytes, &mut report)?;
    let raw = score::parse(&text, &mut report)?;
    let order = repeats::play_order(&raw, &mut report)?;
    let piece = timing::build(&raw, &order, &mut report)?;
    Ok(ScoreFile {
        piece,
        info: raw.info,
        report,
    })
}

/// Reads a MusicXML file (see the module documentation). Errors name the file.
pub fn read_file(path: &Path) -> Result<Piece, MusicXmlError> {
    read_file_with_report(path).map(|s| s.piece)
}

/// Reads a MusicXML file like [`read_file`], with its metadata and a report of what was left out.
pub fn read_file_with_report(path: &Path) -> Result<ScoreFile, MusicXmlError> {
    let io = |source| MusicXmlError::Io {
        path: path.to_path_buf(),
        source,
    };
    let in_file = |e: MusicXmlError| MusicXmlError::InFile {
        path: path.to_path_buf(),
        source: Box::new(e),
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    if len > MAX_MUSICXML_FILE_BYTES {
        return Err(in_file(MusicXmlError::TooLarge {
            what: "file",
            bytes: len,
            limit: MAX_MUSICXML_FILE_BYTES,
        }));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(MAX_MUSICXML_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    read_musicxml_with_report(&bytes).map_err(in_file)
}
