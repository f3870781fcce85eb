//! Standard MIDI File reading and writing.
//!
//! [`read_smf`] turns any byte slice into a [`Piece`] in musical time or a [`MidiError`]; it never
//! panics and its memory is bounded by the input size and the limits below. [`write_smf`] writes a
//! [`Piece`] back as a format 1 file at [`WRITE_PPQ`] ticks per beat.
//!
//! # Reading rules
//!
//! - **Time.** Every time is in beats (quarter notes) from the start of the file: `ticks / ppq`.
//!   Leading silence is kept (bar 0 starts at beat 0, the file's first tick). Tempo only fills
//!   [`Piece::tempo_map`]. A file with SMPTE (timecode) division is read as if it ran at
//!   [`TIMECODE_BPM`]: `fps * subframes * 60 / TIMECODE_BPM` ticks per beat, its tempo events are
//!   ignored and its tempo map is left empty (which means 120 BPM).
//! - **Formats.** Formats 0 and 1 are read as they are. Format 2 (independent sequences) is read
//!   as if it were format 1: every track starts at beat 0. RMID files (SMF wrapped in RIFF) are
//!   unwrapped.
//! - **Tracks.** Each MIDI track is split by channel: every (track, channel) pair with at least one
//!   note becomes one [`Track`], in track order, then channel order. A track's name is its first
//!   track-name meta event (else its first instrument-name event); its program is the first
//!   program change on that channel in that track, else the first one on that channel anywhere in
//!   the file.
//! - **Notes.** A note-on with velocity 0 is a note-off. Overlapping notes of one pitch on one
//!   channel of one track are matched first in, first out: a note-off ends the *oldest* open note
//!   of its pitch. A note still open when its track ends is ended at the track's last event (its
//!   end-of-track), or at the length limit. Notes are sorted by (start, pitch).
//! - **Meter.** Time signatures from any track build the [`Meter`] (4/4 until the first one). A
//!   signature that falls in the middle of a bar takes effect at the next bar line. A signature the
//!   tokenizer does not support is kept as it is (the tokenizer reports it); one with numerator 0
//!   or a denominator above 128 is ignored.
//! - **Chords.** A track named `Chords` (any case) whose text, marker or lyric events read as
//!   chord symbols ([`Chord::parse`]) fills [`Piece::chords`]; events that do not parse are skipped.
//! - **Roles.** A text event `sideman:role=<role>` (which [`write_smf`] writes) sets the role of
//!   every part of its track; otherwise [`infer_role`] decides.
//! - **Truncation.** A file cut short is read as far as it goes (notes still open end at the
//!   track's last event), and [`read_smf_with_report`] says so in its [`ReadReport`]: a track
//!   chunk that declares more bytes than the file holds, a track that stops inside an event or
//!   has no End-of-Track, a file that ends inside a chunk header, or fewer tracks than the header
//!   declares. Anything after a track's End-of-Track does not count: that track is complete.
//! - **Limits.** Files over [`MAX_MIDI_FILE_BYTES`] are refused ([`MidiError::TooLarge`]), as are
//!   files with more than [`MAX_NOTES`] notes ([`MidiError::TooManyNotes`]) and files with a note
//!   that starts after [`MAX_PIECE_BEATS`] ([`MidiError::TooLong`]). Any other event after that
//!   limit is ignored, and notes still sounding there are cut at the limit.
//!
//! # Writing rules
//!
//! Format 1, [`WRITE_PPQ`] ticks per beat. Track 0 is the conductor (name `Sideman`, the tempo map,
//! and a time signature at the start of every meter change). Then one track per [`Track`]: its
//! name, the `sideman:role=` text, a program change if it has a program, and its notes on its
//! channel (drums always on channel 10, index 9). Note-offs come before note-ons at the same tick
//! (a zero-length note's own note-off comes after its note-on). If the piece has chords, a last
//! track named `Chords` holds one text event per [`ChordEvent`] (`NC` for no chord).
//! Times are rounded to the nearest tick and clamped to `0..=MAX_PIECE_BEATS`; velocities to
//! `1..=127`; pitches to `0..=127`. A time signature whose denominator is not a power of two is
//! written with the next power of two.
//!
//! Round trip: `read_smf(&write_smf(&p)) == p` for a piece whose times are multiples of 1/480 beat
//! within the limits, whose tempos are whole microseconds per beat, whose tracks all have notes and
//! names without surrounding spaces, whose drum tracks are on channel 9, whose meter denominators
//! are powers of two, whose overlapping same-pitch notes end in the order they start, and whose
//! notes and chords are sorted.
//!
//! [`Track`]: crate::music::Track
//! [`Meter`]: crate::music::Meter
//! [`Chord::parse`]: crate::chord::Chord::parse
//! [`ChordEvent`]: crate::music::ChordEvent

mod container;
mod pedal;
mod read;
mod report;
mod role;
#[cfg(test)]
mod tests;
mod write;

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::music::Piece;

pub use pedal::{PedalChange, read_file_pedal, sustain_pedal};
pub use read::{read_smf, read_smf_with_report};
pub use report::{ReadReport, Truncation};
pub use role::{infer_role, merge_into_role, polyphony};
pub use write::write_smf;

/// Largest file [`read_file`] and [`read_smf`] accept, in bytes (8 MiB).
pub const MAX_MIDI_FILE_BYTES: u64 = 8 * 1024 * 1024;
/// Most notes a file may hold.
pub const MAX_NOTES: usize = 2_000_000;
/// Longest piece read or written, in beats: 20,000 bars of 4/4.
pub const MAX_PIECE_BEATS: f64 = 80_000.0;
/// Ticks per beat of the files [`write_smf`] writes.
pub const WRITE_PPQ: u16 = 480;
/// Tempo assumed for files with SMPTE (timecode) division.
pub const TIMECODE_BPM: f64 = 120.0;
/// Name of the track that carries chord symbols.
pub const CHORDS_TRACK_NAME: &str = "Chords";
/// Name of the conductor track [`write_smf`] writes.
pub const CONDUCTOR_TRACK_NAME: &str = "Sideman";
/// Prefix of the text event that records a track's role.
pub const ROLE_TEXT_PREFIX: &str = "sideman:role=";

/// Why a MIDI file could not be read or written.
///
/// Messages leave out their cause: it is the error's [`source`](std::error::Error::source), so
/// that a caller printing the chain (`anyhow`'s `{:#}`, [`crate::error::chain`]) shows it once.
#[derive(Debug, thiserror::Error)]
pub enum MidiError {
    /// The file could not be opened or read.
    #[error("cannot read {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The file could not be written.
    #[error("cannot write {}", path.display())]
    Write {
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
        source: Box<MidiError>,
    },
    /// The file is larger than [`MAX_MIDI_FILE_BYTES`].
    #[error("file is {bytes} bytes, over the limit of {MAX_MIDI_FILE_BYTES}")]
    TooLarge {
        /// Its size (at least this many bytes).
        bytes: u64,
    },
    /// The bytes are not a Standard MIDI File.
    #[error("not a valid MIDI file: {0}")]
    Parse(String),
    /// The file has no tracks.
    #[error("the file has no tracks")]
    NoTracks,
    /// The file has no notes.
    #[error("the file has no notes")]
    NoNotes,
    /// The file has more than [`MAX_NOTES`] notes.
    #[error("the file has more than {MAX_NOTES} notes")]
    TooManyNotes,
    /// A note starts after [`MAX_PIECE_BEATS`].
    #[error("a note starts at beat {beat:.0}, past the limit of {MAX_PIECE_BEATS} beats")]
    TooLong {
        /// Where the note starts.
        beat: f64,
    },
}

impl MidiError {
    /// The reason, without the file it happened in.
    pub fn reason(&self) -> &MidiError {
        match self {
            MidiError::InFile { source, .. } => source.reason(),
            e => e,
        }
    }
}

/// Reads a MIDI file (see the module documentation for the rules). Errors name the file.
pub fn read_file(path: &Path) -> Result<Piece, MidiError> {
    read_file_with_report(path).map(|(piece, _)| piece)
}

/// Reads a MIDI file like [`read_file`], and reports whether it was cut short.
pub fn read_file_with_report(path: &Path) -> Result<(Piece, ReadReport), MidiError> {
    let io = |source| MidiError::Io {
        path: path.to_path_buf(),
        source,
    };
    let in_file = |e: MidiError| MidiError::InFile {
        path: path.to_path_buf(),
        source: Box::new(e),
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    if len > MAX_MIDI_FILE_BYTES {
        return Err(in_file(MidiError::TooLarge { bytes: len }));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(MAX_MIDI_FILE_BYTES + 1).read_to_end(&mut bytes).map_err(io)?;
    read_smf_with_report(&bytes).map_err(in_file)
}

/// Writes `piece` to a MIDI file (see [`write_smf`]).
pub fn write_file(piece: &Piece, path: &Path) -> Result<(), MidiError> {
    std::fs::write(path, write_smf(piece)).map_err(|source| MidiError::Write {
        path: path.to_path_buf(),
        source,
    })
}
