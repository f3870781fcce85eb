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

use std::collections::VecDeque;
use std::io::Read;
use std::path::{Path, PathBuf};

use midly::num::{u4, u7, u15, u24, u28};
use midly::{Format, Header, MetaMessage, MidiMessage, Smf, Timing, TrackEvent, TrackEventKind};

use crate::chord::Chord;
use crate::music::{ChordEvent, Meter, MeterChange, Note, Piece, Role, TempoChange, Track};

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

/// How a file was found cut short (see [`read_smf_with_report`]). Tracks count from 0, in file
/// order; messages count them from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Truncation {
    /// The last chunk, a track without its End-of-Track, declares more bytes than the file holds.
    ChunkCut {
        /// The track.
        track: usize,
        /// Bytes its chunk header declares.
        declared: u32,
        /// Bytes the file holds.
        present: usize,
    },
    /// A track stops in the middle of an event, before its End-of-Track.
    EventCut {
        /// The track.
        track: usize,
    },
    /// A track has no End-of-Track event.
    NoEndOfTrack {
        /// The track.
        track: usize,
    },
    /// The file ends inside a chunk header.
    ChunkHeaderCut,
    /// The file holds fewer tracks than its header declares.
    MissingTracks {
        /// Tracks the header declares.
        declared: u16,
        /// Tracks in the file.
        found: usize,
    },
}

impl std::fmt::Display for Truncation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Truncation::ChunkCut {
                track,
                declared,
                present,
            } => write!(
                f,
                "track {} is cut: its chunk declares {declared} bytes, the file holds {present}",
                track + 1
            ),
            Truncation::EventCut { track } => write!(f, "track {} stops in the middle of an event", track + 1),
            Truncation::NoEndOfTrack { track } => write!(f, "track {} has no end-of-track event", track + 1),
            Truncation::ChunkHeaderCut => write!(f, "the file ends inside a chunk header"),
            Truncation::MissingTracks { declared, found } => {
                write!(f, "the header declares {declared} tracks, the file holds {found}")
            }
        }
    }
}

/// What [`read_smf_with_report`] noticed about a file it could read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadReport {
    /// Why the file looks cut short (the first sign found), or `None` for a complete file.
    pub truncated: Option<Truncation>,
}

impl ReadReport {
    /// Whether only part of the file could be read.
    pub fn is_partial(&self) -> bool {
        self.truncated.is_some()
    }

    /// For a partial read of `piece`: "truncated MIDI (why), read N notes up to bar B", bars
    /// counted from 1 (the bar where the last note read ends).
    pub fn warning(&self, piece: &Piece) -> Option<String> {
        let why = self.truncated?;
        // Where the last note read starts or ends (a note ending on a bar line ends in the bar
        // before it).
        let last = piece
            .tracks
            .iter()
            .flat_map(|t| &t.notes)
            .map(|n| n.start.max(n.end() - 1e-9))
            .fold(0.0, f64::max);
        let (bar, _) = piece.meter.bar_at(last);
        Some(format!(
            "truncated MIDI ({why}), read {} notes up to bar {}",
            piece.note_count(),
            bar as u64 + 1
        ))
    }
}

/// How one track's events ended.
#[derive(Clone, Copy)]
struct TrackEnd {
    /// An End-of-Track event was read.
    end_of_track: bool,
    /// Reading stopped at a malformed or cut-off event before the End-of-Track.
    cut: bool,
}

/// Decodes a meta event's text: UTF-8 when it is, else Latin-1. Surrounding spaces and NULs go.
fn text(bytes: &[u8]) -> String {
    let s = match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => bytes.iter().map(|&b| b as char).collect(),
    };
    s.trim_matches(|c: char| c.is_whitespace() || c == '\0').to_string()
}

/// A note still sounding: start tick and velocity.
#[derive(Clone, Copy)]
struct OpenNote {
    tick: u64,
    velocity: u8,
}

/// The parts of one MIDI track that have notes.
struct RawTrack {
    name: String,
    role: Option<Role>,
    /// Notes by channel, unsorted, in ticks: (start, end, pitch, velocity).
    notes: [Vec<(u64, u64, u8, u8)>; 16],
    /// First program change per channel.
    programs: [Option<u8>; 16],
}

/// Everything read from the file before it is turned into a [`Piece`].
struct Reader<'a> {
    ticks_per_beat: f64,
    max_tick: u64,
    timecode: bool,
    note_count: usize,
    /// (tick, microseconds per beat), in file order.
    tempos: Vec<(u64, u32)>,
    /// (tick, numerator, denominator), in file order.
    signatures: Vec<(u64, u8, u8)>,
    /// Text-like events of each track named [`CHORDS_TRACK_NAME`]: (tick, bytes).
    chord_texts: Vec<Vec<(u64, &'a [u8])>>,
    /// Tracks with notes, in file order.
    tracks: Vec<RawTrack>,
    /// First program change per channel in the whole file.
    any_program: [Option<u8>; 16],
    /// Open notes indexed by `channel * 128 + pitch`; empty between tracks.
    open: Vec<VecDeque<OpenNote>>,
    /// Indices of `open` used by the current track.
    touched: Vec<usize>,
    /// How each track read so far ended, in file order.
    ends: Vec<TrackEnd>,
}

impl<'a> Reader<'a> {
    fn read_track(&mut self, mut events: midly::EventIter<'a>) -> Result<(), MidiError> {
        let mut raw = RawTrack {
            name: String::new(),
            role: None,
            notes: Default::default(),
            programs: [None; 16],
        };
        let mut instrument = String::new();
        let mut texts: Vec<(u64, &'a [u8])> = Vec::new();
        let mut tick: u64 = 0;
        let mut last_tick: u64 = 0;
        let mut end = TrackEnd {
            end_of_track: false,
            cut: false,
        };
        loop {
            // Lenient parsing: midly ends the iterator at the first malformed event, so bytes left
            // unread before it ended mean the track stops inside an event.
            let rest = events.unread();
            let event = match events.next() {
                Some(Ok(event)) => event,
                Some(Err(_)) | None => {
                    end.cut = !rest.is_empty() && !end.end_of_track;
                    break;
                }
            };
            // midly also reads an End-of-Track cut before its length byte; that one is not whole.
            let bytes = &rest[..rest.len() - events.unread().len()];
            if matches!(event.kind, TrackEventKind::Meta(MetaMessage::EndOfTrack))
                && bytes.ends_with(&[0xFF, 0x2F, 0x00])
            {
                end.end_of_track = true;
            }
            tick = tick.saturating_add(event.delta.as_int() as u64);
            if tick > self.max_tick {
                if let TrackEventKind::Midi {
                    message: MidiMessage::NoteOn { vel, .. },
                    ..
                } = event.kind
                    && vel.as_int() > 0
                {
                    return Err(MidiError::TooLong {
                        beat: tick as f64 / self.ticks_per_beat,
                    });
                }
                last_tick = self.max_tick;
                continue;
            }
            last_tick = tick;
            match event.kind {
                TrackEventKind::Midi { channel, message } => {
                    let ch = channel.as_int() as usize;
                    match message {
                        MidiMessage::NoteOn { key, vel } if vel.as_int() > 0 => {
                            self.note_count += 1;
                            if self.note_count > MAX_NOTES {
                                return Err(MidiError::TooManyNotes);
                            }
                            let i = ch * 128 + key.as_int() as usize;
                            if self.open[i].is_empty() {
                                self.touched.push(i);
                            }
                            self.open[i].push_back(OpenNote {
                                tick,
                                velocity: vel.as_int(),
                            });
                        }
                        MidiMessage::NoteOn { key, .. } | MidiMessage::NoteOff { key, .. } => {
                            let k = key.as_int();
                            if let Some(open) = self.open[ch * 128 + k as usize].pop_front() {
                                raw.notes[ch].push((open.tick, tick, k, open.velocity));
                            }
                        }
                        MidiMessage::ProgramChange { program } => {
                            raw.programs[ch].get_or_insert(program.as_int());
                        }
                        _ => {}
                    }
                }
                TrackEventKind::Meta(meta) => match meta {
                    MetaMessage::TrackName(b) if raw.name.is_empty() => raw.name = text(b),
                    MetaMessage::InstrumentName(b) if instrument.is_empty() => instrument = text(b),
                    MetaMessage::Text(b) => match text(b).strip_prefix(ROLE_TEXT_PREFIX) {
                        Some(r) => raw.role = Role::parse(r).or(raw.role),
                        None => texts.push((tick, b)),
                    },
                    MetaMessage::Marker(b) | MetaMessage::Lyric(b) | MetaMessage::CuePoint(b) => {
                        texts.push((tick, b));
                    }
                    MetaMessage::Tempo(us) => self.tempos.push((tick, us.as_int())),
                    MetaMessage::TimeSignature(n, d, _, _) if n > 0 && d <= 7 => {
                        self.signatures.push((tick, n, 1u8 << d));
                    }
                    _ => {}
                },
                TrackEventKind::SysEx(_) | TrackEventKind::Escape(_) => {}
            }
        }
        // Notes never released end with the track.
        for i in self.touched.drain(..) {
            let (ch, pitch) = (i / 128, (i % 128) as u8);
            for n in self.open[i].drain(..) {
                raw.notes[ch].push((n.tick, last_tick.max(n.tick), pitch, n.velocity));
            }
        }
        if raw.name.is_empty() {
            raw.name = instrument;
        }
        for (any, p) in self.any_program.iter_mut().zip(raw.programs) {
            *any = any.or(p);
        }
        if raw.name.eq_ignore_ascii_case(CHORDS_TRACK_NAME) {
            self.chord_texts.push(texts);
        }
        if raw.notes.iter().any(|n| !n.is_empty()) {
            self.tracks.push(raw);
        }
        self.ends.push(end);
        Ok(())
    }

    fn beats(&self, tick: u64) -> f64 {
        tick as f64 / self.ticks_per_beat
    }

    fn tempo_map(&self) -> Vec<TempoChange> {
        if self.timecode {
            return Vec::new();
        }
        let mut tempos: Vec<(u64, u32)> = self.tempos.iter().copied().filter(|&(_, us)| us > 0).collect();
        tempos.sort_by_key(|&(t, _)| t);
        let mut out: Vec<TempoChange> = Vec::new();
        for (tick, us) in tempos {
            let change = TempoChange {
                beat: self.beats(tick),
                bpm: 60_000_000.0 / us as f64,
            };
            match out.last_mut() {
                Some(last) if last.beat == change.beat => *last = change,
                _ => out.push(change),
            }
        }
        if out.first().is_some_and(|t| t.beat > 0.0) {
            out.insert(0, TempoChange { beat: 0.0, bpm: 120.0 });
        }
        out
    }

    fn meter(&self) -> Meter {
        let mut sigs = self.signatures.clone();
        sigs.sort_by_key(|&(t, _, _)| t);
        // The last change so far and the beat where its bar starts.
        let mut changes = vec![MeterChange {
            bar: 0,
            numerator: 4,
            denominator: 4,
        }];
        let mut start = 0.0;
        for (tick, numerator, denominator) in sigs {
            let beat = self.beats(tick);
            let Some(&last) = changes.last() else { break };
            let len = last.bar_beats();
            // Bars elapsed since the last change, rounding a mid-bar change up to the next bar.
            let bars = ((beat - start) / len - 1e-9).ceil().max(0.0);
            let bar = last.bar as f64 + bars;
            if bar > u32::MAX as f64 / 2.0 {
                break;
            }
            let change = MeterChange {
                bar: bar as u32,
                numerator,
                denominator,
            };
            if change.bar == last.bar {
                if let Some(l) = changes.last_mut() {
                    *l = change;
                }
            } else {
                start += bars * len;
                changes.push(change);
            }
        }
        Meter::from_changes(changes)
    }

    fn chords(&self) -> Vec<ChordEvent> {
        for texts in &self.chord_texts {
            let mut chords: Vec<ChordEvent> = texts
                .iter()
                .filter_map(|&(tick, b)| {
                    let chord = Chord::parse(&text(b)).ok()?;
                    Some(ChordEvent {
                        start: self.beats(tick),
                        chord,
                    })
                })
                .collect();
            if !chords.is_empty() {
                chords.sort_by(|a, b| a.start.total_cmp(&b.start));
                return chords;
            }
        }
        Vec::new()
    }
}

/// The SMF inside `bytes` (unwrapped from an RMID container), cut before any header chunk that
/// would make midly panic.
///
/// midly 0.5.3 reads an SMPTE division by negating its first byte as an `i8`
/// (`primitive.rs:495`), which overflows for 0x80 and panics wherever overflow checks are on
/// (debug builds, tests). Found by the `midi_parse` fuzz target. Such a first header is refused;
/// a later, duplicate one is where midly would stop reading in a release build, so the input is
/// cut there.
fn smf_body(bytes: &[u8]) -> Result<&[u8], MidiError> {
    let body = if bytes.starts_with(b"RIFF") {
        rmid_data(bytes)?
    } else {
        bytes
    };
    if !body.starts_with(b"MThd") {
        return Err(MidiError::Parse("not a midi file".into()));
    }
    // Walk the chunks as midly does: 4-byte id, big-endian length, data cut short at the end.
    let mut pos = 0usize;
    while body.len() - pos >= 8 {
        let id = &body[pos..pos + 4];
        let len = u32::from_be_bytes([body[pos + 4], body[pos + 5], body[pos + 6], body[pos + 7]]) as usize;
        let data = &body[pos + 8..body.len().min((pos + 8).saturating_add(len))];
        if id == b"MThd" && data.len() >= 6 && data[4] == 0x80 {
            if pos == 0 {
                return Err(MidiError::Parse("invalid SMPTE frame rate in the header".into()));
            }
            return Ok(&body[..pos]);
        }
        pos += 8 + data.len();
    }
    Ok(body)
}

/// What the chunk layout of an SMF body says about truncation.
struct ChunkLayout {
    /// `MTrk` chunks in the file.
    tracks: usize,
    /// The last chunk when it is a track cut short: (track index, declared length, bytes held).
    cut_track: Option<(usize, u32, usize)>,
    /// The file ends inside a chunk header (1 to 7 bytes that are not all zero padding).
    header_cut: bool,
}

/// Walks the chunks of `body` (as [`smf_body`] and midly do) to find where the file is cut.
fn chunk_layout(body: &[u8]) -> ChunkLayout {
    let mut layout = ChunkLayout {
        tracks: 0,
        cut_track: None,
        header_cut: false,
    };
    let mut pos = 0usize;
    while body.len() - pos >= 8 {
        let id = &body[pos..pos + 4];
        let declared = u32::from_be_bytes([body[pos + 4], body[pos + 5], body[pos + 6], body[pos + 7]]);
        let present = (body.len() - pos - 8).min(declared as usize);
        if id == b"MTrk" {
            if present < declared as usize {
                layout.cut_track = Some((layout.tracks, declared, present));
            }
            layout.tracks += 1;
        }
        pos += 8 + present;
    }
    layout.header_cut = body[pos..].iter().any(|&b| b != 0);
    layout
}

/// RIFF chunks as (id, data): 4-byte id, little-endian length, data cut short at the end,
/// padded to an even length.
fn riff_chunks(mut raw: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    std::iter::from_fn(move || {
        if raw.len() < 8 {
            return None;
        }
        let (head, rest) = raw.split_at(8);
        let len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
        let (data, rest) = rest.split_at(rest.len().min(len));
        raw = if len % 2 == 1 && !rest.is_empty() {
            &rest[1..]
        } else {
            rest
        };
        Some((&head[..4], data))
    })
}

/// The `data` chunk of an RMID (RIFF-wrapped MIDI) file, found as midly finds it.
fn rmid_data(bytes: &[u8]) -> Result<&[u8], MidiError> {
    let bad = |why: &str| MidiError::Parse(format!("not an RMID file: {why}"));
    let (id, riff) = riff_chunks(bytes).next().ok_or_else(|| bad("no RIFF chunk"))?;
    if id != b"RIFF" || riff.get(..4) != Some(b"RMID") {
        return Err(bad("no RMID form"));
    }
    riff_chunks(&riff[4..])
        .find(|(id, _)| *id == b"data")
        .map(|(_, d)| d)
        .ok_or_else(|| bad("no data chunk"))
}

/// Reads a Standard MIDI File from memory (see the module documentation for the rules).
pub fn read_smf(bytes: &[u8]) -> Result<Piece, MidiError> {
    read_smf_with_report(bytes).map(|(piece, _)| piece)
}

/// Reads a Standard MIDI File like [`read_smf`], and reports whether it was cut short: a
/// truncated file gives what it holds and a [`ReadReport`] that says why it is partial.
pub fn read_smf_with_report(bytes: &[u8]) -> Result<(Piece, ReadReport), MidiError> {
    if bytes.len() as u64 > MAX_MIDI_FILE_BYTES {
        return Err(MidiError::TooLarge {
            bytes: bytes.len() as u64,
        });
    }
    let bytes = smf_body(bytes)?;
    let (header, tracks) = midly::parse(bytes).map_err(|e| MidiError::Parse(e.to_string()))?;
    // midly's track iterator starts with the header's track count as its size hint.
    let declared_tracks = tracks.size_hint().0;
    let (ticks_per_beat, timecode) = match header.timing {
        Timing::Metrical(t) if t.as_int() == 0 => return Err(MidiError::Parse("division of 0 ticks per beat".into())),
        Timing::Metrical(t) => (t.as_int() as f64, false),
        Timing::Timecode(_, 0) => return Err(MidiError::Parse("timecode division of 0 subframes".into())),
        Timing::Timecode(fps, sub) => (fps.as_f32() as f64 * sub as f64 * 60.0 / TIMECODE_BPM, true),
    };
    let mut reader = Reader {
        ticks_per_beat,
        max_tick: (MAX_PIECE_BEATS * ticks_per_beat).floor() as u64,
        timecode,
        note_count: 0,
        tempos: Vec::new(),
        signatures: Vec::new(),
        chord_texts: Vec::new(),
        tracks: Vec::new(),
        any_program: [None; 16],
        open: vec![VecDeque::new(); 16 * 128],
        touched: Vec::new(),
        ends: Vec::new(),
    };
    let mut track_count = 0usize;
    for track in tracks {
        // midly's lenient track iterator skips bad chunks itself; an error here is fatal.
        let events = track.map_err(|e| MidiError::Parse(e.to_string()))?;
        reader.read_track(events)?;
        track_count += 1;
    }
    if track_count == 0 {
        return Err(MidiError::NoTracks);
    }
    let mut tracks = Vec::new();
    for raw in &mut reader.tracks {
        for ch in 0..16 {
            let mut ticks = std::mem::take(&mut raw.notes[ch]);
            if ticks.is_empty() {
                continue;
            }
            ticks.sort_by_key(|&(start, _, pitch, _)| (start, pitch));
            let notes: Vec<Note> = ticks
                .into_iter()
                .map(|(start, end, pitch, velocity)| Note {
                    start: start as f64 / ticks_per_beat,
                    duration: (end - start) as f64 / ticks_per_beat,
                    pitch,
                    velocity,
                })
                .collect();
            let program = raw.programs[ch].or(reader.any_program[ch]);
            let role = raw
                .role
                .unwrap_or_else(|| infer_role(&raw.name, ch as u8, program, &notes));
            tracks.push(Track {
                name: raw.name.clone(),
                channel: ch as u8,
                program,
                role,
                notes,
            });
        }
    }
    if tracks.is_empty() {
        return Err(MidiError::NoNotes);
    }
    let report = ReadReport {
        truncated: truncation(&chunk_layout(bytes), &reader.ends, declared_tracks),
    };
    let piece = Piece {
        meter: reader.meter(),
        tempo_map: reader.tempo_map(),
        chords: reader.chords(),
        tracks,
    };
    Ok((piece, report))
}

/// The first sign that a file is cut short, from its chunk layout, how its tracks ended and the
/// track count its header declares.
fn truncation(layout: &ChunkLayout, ends: &[TrackEnd], declared_tracks: usize) -> Option<Truncation> {
    let complete = |track: usize| ends.get(track).is_some_and(|e| e.end_of_track);
    if let Some((track, declared, present)) = layout.cut_track
        && !complete(track)
    {
        return Some(Truncation::ChunkCut {
            track,
            declared,
            present,
        });
    }
    if let Some(track) = ends.iter().position(|e| e.cut) {
        return Some(Truncation::EventCut { track });
    }
    if let Some(track) = ends.iter().position(|e| !e.end_of_track) {
        return Some(Truncation::NoEndOfTrack { track });
    }
    if layout.header_cut {
        return Some(Truncation::ChunkHeaderCut);
    }
    if declared_tracks > ends.len() {
        return Some(Truncation::MissingTracks {
            declared: declared_tracks.min(u16::MAX as usize) as u16,
            found: ends.len(),
        });
    }
    None
}

/// Name words, by role, tried in this order against the words of a lower-cased track name
/// (split at anything not a letter; a word also matches with a trailing `s`). Words that say what
/// a part *does* come before instrument names, so "Lead Guitar" is a lead and "Rhythm Guitar"
/// comping; drums come first so "Bass Drum" is drums. Whole words only, and none that are common
/// in tune titles ("kit", "kick"): many files name their melody track after the tune, and
/// "Paddy's Jig" is no pad.
const NAME_WORDS: [(Role, &[&str]); 6] = [
    (
        Role::Drums,
        &[
            "drum",
            "drumkit",
            "drumset",
            "perc",
            "percussion",
            "snare",
            "hihat",
            "cymbal",
        ],
    ),
    (
        Role::Bass,
        &["bass", "bassline", "walk", "walking", "continuo", "contrabass"],
    ),
    (
        Role::Comping,
        &[
            "chord",
            "arp",
            "arpeggio",
            "plectrum",
            "comp",
            "comping",
            "rhythm",
            "accomp",
            "accompaniment",
            "backing",
        ],
    ),
    (
        Role::Lead,
        &["solo", "melody", "lead", "vocal", "voice", "vox", "soprano"],
    ),
    (Role::Comping, &["guitar", "gtr", "string", "pad"]),
    (
        Role::Lead,
        &[
            "sax",
            "saxophone",
            "trumpet",
            "flute",
            "clarinet",
            "violin",
            "fiddle",
            "trombone",
        ],
    ),
];

/// A part named as a bass whose median pitch is at or above this (A3) is not a bass line (MMA
/// grooves use `Bass-N` tracks for high riffs and stabs); it is taken as comping. Bach chorale
/// bass voices reach a median of G#3 (56).
const BASS_MAX_MEDIAN_PITCH: u8 = 57;
/// A monophonic part below this median pitch (C3) is a bass line.
const LOW_MEDIAN_PITCH: u8 = 48;
/// Longest overlap, in beats, of two notes that still counts as legato rather than polyphony.
const LEGATO_OVERLAP_BEATS: f64 = 0.125;
/// Largest share of notes that may sound together with another for a part to count as
/// monophonic.
const MONOPHONIC_MAX_SHARE: f64 = 0.1;

/// Share of `notes` (sorted by start) whose onset falls while another note sounds, or together
/// with another onset. Overlaps up to an eighth of a beat (legato) are ignored.
pub fn polyphony(notes: &[Note]) -> f64 {
    if notes.is_empty() {
        return 0.0;
    }
    let mut poly = 0usize;
    let mut max_end = f64::NEG_INFINITY;
    for (i, n) in notes.iter().enumerate() {
        let together = |o: Option<&Note>| o.is_some_and(|o| (o.start - n.start).abs() < 1e-6);
        let overlapped = max_end > n.start + LEGATO_OVERLAP_BEATS;
        if overlapped || together(i.checked_sub(1).and_then(|j| notes.get(j))) || together(notes.get(i + 1)) {
            poly += 1;
        }
        max_end = max_end.max(n.end());
    }
    poly as f64 / notes.len() as f64
}

/// The role a track name announces, if any of its words is in `NAME_WORDS`.
fn role_from_name(name: &str) -> Option<Role> {
    let lower = name.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphabetic())
        .filter(|w| !w.is_empty())
        .collect();
    let matches = |w: &str, k: &str| w == k || w.strip_suffix('s') == Some(k);
    NAME_WORDS
        .iter()
        .find(|(_, keys)| words.iter().any(|w| keys.iter().any(|k| matches(w, k))))
        .map(|&(role, _)| role)
}

fn median_pitch(notes: &[Note]) -> Option<u8> {
    let mut pitches: Vec<u8> = notes.iter().map(|n| n.pitch).collect();
    pitches.sort_unstable();
    pitches.get(pitches.len() / 2).copied()
}

/// Guesses the role of a part from its channel, name, program and notes (sorted by start).
///
/// In order:
/// 1. channel 9 (MIDI channel 10) is drums;
/// 2. a name word (whole words: drum/perc/snare, bass/walk/continuo, chord/arpeggio/plectrum/comp/
///    rhythm, solo/melody/lead/vocal/voice/soprano, guitar/string/pad, sax/trumpet/flute/...; see
///    `NAME_WORDS` in the source) decides, except that a "bass" with a median pitch of A3 or above
///    is comping;
/// 3. General MIDI programs 32-39 (basses) are bass when the median pitch is below A3;
/// 4. a part where at most one note in ten sounds with another is a lead, or a bass when its
///    median pitch is below C3; any other part is piano.
pub fn infer_role(name: &str, channel: u8, program: Option<u8>, notes: &[Note]) -> Role {
    if channel == 9 {
        return Role::Drums;
    }
    let median = median_pitch(notes).unwrap_or(0);
    match role_from_name(name) {
        Some(Role::Bass) if median >= BASS_MAX_MEDIAN_PITCH => return Role::Comping,
        Some(role) => return role,
        None => {}
    }
    if program.is_some_and(|p| (32..=39).contains(&p)) && median < BASS_MAX_MEDIAN_PITCH {
        return Role::Bass;
    }
    if polyphony(notes) <= MONOPHONIC_MAX_SHARE {
        return if median < LOW_MEDIAN_PITCH {
            Role::Bass
        } else {
            Role::Lead
        };
    }
    Role::Piano
}

/// Merges every pitched track (or, for [`Role::Drums`], every drum track) into one track of
/// `role`, at the place of the first of them. Its name joins theirs with ` + `; its channel is
/// the first one's; its program the first one's when they all agree, else `None`. Notes are
/// sorted by (start, pitch). Used to turn a four-voice chorale into one piano part.
pub fn merge_into_role(piece: &mut Piece, role: Role) {
    let take = |t: &Track| t.role.is_drums() == role.is_drums();
    let Some(first) = piece.tracks.iter().position(take) else {
        return;
    };
    let tracks = std::mem::take(&mut piece.tracks);
    let mut merged = Track {
        name: String::new(),
        channel: tracks[first].channel,
        program: tracks[first].program,
        role,
        notes: Vec::new(),
    };
    let mut names: Vec<String> = Vec::new();
    let mut kept = Vec::with_capacity(tracks.len());
    let mut at = 0;
    for (i, t) in tracks.into_iter().enumerate() {
        if !take(&t) {
            kept.push(t);
            continue;
        }
        if i == first {
            at = kept.len();
        }
        if merged.program != t.program {
            merged.program = None;
        }
        if !t.name.is_empty() {
            names.push(t.name);
        }
        merged.notes.extend(t.notes);
    }
    merged.name = names.join(" + ");
    merged
        .notes
        .sort_by(|a, b| a.start.total_cmp(&b.start).then(a.pitch.cmp(&b.pitch)));
    kept.insert(at, merged);
    piece.tracks = kept;
}

/// Tick of a beat in a written file: rounded, clamped to `0..=MAX_PIECE_BEATS`.
fn write_tick(beat: f64) -> u64 {
    let max = MAX_PIECE_BEATS * WRITE_PPQ as f64;
    if beat.is_nan() {
        0
    } else {
        (beat * WRITE_PPQ as f64).round().clamp(0.0, max) as u64
    }
}

/// Orders events that share a tick.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Slot {
    Header,
    Program,
    NoteOff,
    NoteOn,
    LateNoteOff,
}

/// Turns (tick, slot, event) triples into a track with deltas and an end-of-track.
fn finish_track<'a>(mut events: Vec<(u64, Slot, TrackEventKind<'a>)>, end: u64) -> Vec<TrackEvent<'a>> {
    events.sort_by_key(|&(tick, slot, _)| (tick, slot));
    let mut out = Vec::with_capacity(events.len() + 1);
    let mut now = 0u64;
    let end = events.last().map_or(end, |e| e.0.max(end));
    for (tick, _, kind) in events {
        out.push(TrackEvent {
            delta: u28::new((tick - now) as u32),
            kind,
        });
        now = tick;
    }
    out.push(TrackEvent {
        delta: u28::new((end - now) as u32),
        kind: TrackEventKind::Meta(MetaMessage::EndOfTrack),
    });
    out
}

/// Writes `piece` as a format 1 Standard MIDI File (see the module documentation for the rules).
pub fn write_smf(piece: &Piece) -> Vec<u8> {
    // Room for the conductor and chord tracks within the format's 65535.
    let parts = &piece.tracks[..piece.tracks.len().min(u16::MAX as usize - 2)];
    let role_texts: Vec<String> = parts
        .iter()
        .map(|t| format!("{ROLE_TEXT_PREFIX}{}", t.role.name()))
        .collect();
    let chord_texts: Vec<String> = piece
        .chords
        .iter()
        .map(|c| c.chord.map_or_else(|| "NC".to_string(), |c| c.to_string()))
        .collect();
    let end = write_tick(piece.end_beat()).max(piece.chords.iter().map(|c| write_tick(c.start)).max().unwrap_or(0));

    let mut tracks: Vec<Vec<TrackEvent>> = Vec::with_capacity(parts.len() + 2);
    let mut conductor = vec![(
        0,
        Slot::Header,
        TrackEventKind::Meta(MetaMessage::TrackName(CONDUCTOR_TRACK_NAME.as_bytes())),
    )];
    for t in &piece.tempo_map {
        if t.bpm.is_finite() && t.bpm > 0.0 {
            let us = (60_000_000.0 / t.bpm).round().clamp(1.0, 0xFF_FFFF as f64) as u32;
            conductor.push((
                write_tick(t.beat),
                Slot::Program,
                TrackEventKind::Meta(MetaMessage::Tempo(u24::new(us))),
            ));
        }
    }
    for c in piece.meter.changes() {
        if c.numerator == 0 || c.denominator == 0 {
            continue;
        }
        let pow = c.denominator.next_power_of_two().trailing_zeros() as u8;
        let ts = MetaMessage::TimeSignature(c.numerator, pow, 24, 8);
        conductor.push((
            write_tick(piece.meter.bar_start(c.bar)),
            Slot::Program,
            TrackEventKind::Meta(ts),
        ));
    }
    tracks.push(finish_track(conductor, end));

    for (t, role_text) in parts.iter().zip(&role_texts) {
        let channel = u4::new(if t.role.is_drums() { 9 } else { t.channel.min(15) });
        let mut events = Vec::with_capacity(t.notes.len() * 2 + 3);
        if !t.name.is_empty() {
            events.push((
                0,
                Slot::Header,
                TrackEventKind::Meta(MetaMessage::TrackName(t.name.as_bytes())),
            ));
        }
        events.push((
            0,
            Slot::Header,
            TrackEventKind::Meta(MetaMessage::Text(role_text.as_bytes())),
        ));
        if let Some(p) = t.program {
            let message = MidiMessage::ProgramChange {
                program: u7::new(p.min(127)),
            };
            events.push((0, Slot::Program, TrackEventKind::Midi { channel, message }));
        }
        for n in &t.notes {
            let (on, off) = (write_tick(n.start), write_tick(n.end()));
            let key = u7::new(n.pitch.min(127));
            let vel = u7::new(n.velocity.clamp(1, 127));
            events.push((
                on,
                Slot::NoteOn,
                TrackEventKind::Midi {
                    channel,
                    message: MidiMessage::NoteOn { key, vel },
                },
            ));
            let off_slot = if off > on { Slot::NoteOff } else { Slot::LateNoteOff };
            let message = MidiMessage::NoteOff { key, vel: u7::new(0) };
            events.push((off.max(on), off_slot, TrackEventKind::Midi { channel, message }));
        }
        tracks.push(finish_track(events, 0));
    }

    if !piece.chords.is_empty() {
        let mut events = vec![(
            0,
            Slot::Header,
            TrackEventKind::Meta(MetaMessage::TrackName(CHORDS_TRACK_NAME.as_bytes())),
        )];
        for (c, s) in piece.chords.iter().zip(&chord_texts) {
            events.push((
                write_tick(c.start),
                Slot::NoteOn,
                TrackEventKind::Meta(MetaMessage::Text(s.as_bytes())),
            ));
        }
        tracks.push(finish_track(events, 0));
    }

    let smf = Smf {
        header: Header::new(Format::Parallel, Timing::Metrical(u15::new(WRITE_PPQ))),
        tracks,
    };
    let mut out = Vec::new();
    // Vec<u8> writes cannot fail, and the track count is within the limit.
    if smf.write(&mut out).is_err() {
        out.clear();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chord::ChordQuality;

    /// Raw SMF building blocks, so tests control every byte.
    mod raw {
        /// A variable-length quantity.
        pub fn vlq(v: u32) -> Vec<u8> {
            let mut out = vec![(v & 0x7F) as u8];
            let mut v = v >> 7;
            while v > 0 {
                out.insert(0, 0x80 | (v & 0x7F) as u8);
                v >>= 7;
            }
            out
        }

        /// An `MTrk` chunk from (delta, event bytes) pairs; the end-of-track is not added.
        pub fn track(events: &[(u32, &[u8])]) -> Vec<u8> {
            let mut data = Vec::new();
            for (delta, bytes) in events {
                data.extend(vlq(*delta));
                data.extend_from_slice(bytes);
            }
            let mut out = b"MTrk".to_vec();
            out.extend((data.len() as u32).to_be_bytes());
            out.extend(data);
            out
        }

        /// A whole file.
        pub fn smf(format: u16, division: u16, tracks: &[Vec<u8>]) -> Vec<u8> {
            let mut out = b"MThd".to_vec();
            out.extend(6u32.to_be_bytes());
            out.extend(format.to_be_bytes());
            out.extend((tracks.len() as u16).to_be_bytes());
            out.extend(division.to_be_bytes());
            for t in tracks {
                out.extend_from_slice(t);
            }
            out
        }

        pub const EOT: &[u8] = &[0xFF, 0x2F, 0x00];

        /// A track-name meta event.
        pub fn name(s: &str) -> Vec<u8> {
            let mut out = vec![0xFF, 0x03, s.len() as u8];
            out.extend_from_slice(s.as_bytes());
            out
        }
    }
    use raw::{EOT, smf, track};

    fn note(start: f64, duration: f64, pitch: u8, velocity: u8) -> Note {
        Note {
            start,
            duration,
            pitch,
            velocity,
        }
    }

    fn read(bytes: &[u8]) -> Piece {
        read_smf(bytes).unwrap_or_else(|e| panic!("read failed: {e}"))
    }

    #[test]
    fn running_status_and_velocity_zero_note_offs() {
        // Note-on C4, then running status: note-on velocity 0 (off), note-on E4, off E4.
        let t = track(&[
            (0, &[0x90, 60, 100]),
            (96, &[60, 0]),
            (0, &[64, 90]),
            (48, &[64, 0]),
            (0, &[0x80, 67, 0]), // a note-off with nothing open is ignored
            (0, EOT),
        ]);
        let p = read(&smf(0, 96, &[t]));
        assert_eq!(p.tracks.len(), 1);
        assert_eq!(p.tracks[0].notes, vec![note(0.0, 1.0, 60, 100), note(1.0, 0.5, 64, 90)]);
    }

    #[test]
    fn overlapping_same_pitch_notes_are_first_in_first_out() {
        let t = track(&[
            (0, &[0x90, 60, 100]),
            (96, &[0x90, 60, 80]), // second C4 while the first sounds
            (96, &[0x80, 60, 0]),  // ends the first (oldest)
            (96, &[0x80, 60, 0]),  // ends the second
            (0, EOT),
        ]);
        let p = read(&smf(0, 96, &[t]));
        assert_eq!(p.tracks[0].notes, vec![note(0.0, 2.0, 60, 100), note(1.0, 2.0, 60, 80)]);
    }

    #[test]
    fn notes_never_released_end_with_their_track() {
        let t = track(&[
            (0, &[0x90, 60, 100]),
            (48, &[0x90, 62, 100]),
            (48, &[0x80, 62, 0]),
            (192, EOT),
        ]);
        let p = read(&smf(0, 96, &[t]));
        assert_eq!(
            p.tracks[0].notes,
            vec![note(0.0, 3.0, 60, 100), note(0.5, 0.5, 62, 100)]
        );
    }

    #[test]
    fn format_0_is_split_by_channel_with_drums_on_channel_10() {
        let name = raw::name("My Tune");
        let t = track(&[
            (0, &name),
            (0, &[0xC0, 33]),      // program: fingered bass on channel 1
            (0, &[0x99, 36, 100]), // kick on channel 10
            (0, &[0x90, 40, 90]),
            (0, &[0x91, 64, 70]), // channel 2
            (0, &[0x91, 67, 70]),
            (48, &[0x89, 36, 0]),
            (48, &[0x80, 40, 0]),
            (0, &[0x81, 64, 0]),
            (0, &[0x81, 67, 0]),
            (0, EOT),
        ]);
        let p = read(&smf(0, 96, &[t]));
        let summary: Vec<(u8, Option<u8>, Role, usize)> = p
            .tracks
            .iter()
            .map(|t| (t.channel, t.program, t.role, t.notes.len()))
            .collect();
        assert_eq!(
            summary,
            vec![
                (0, Some(33), Role::Bass, 1),
                (1, None, Role::Piano, 2),
                (9, None, Role::Drums, 1)
            ]
        );
        assert!(p.tracks.iter().all(|t| t.name == "My Tune"));
        assert_eq!(p.tracks[2].notes, vec![note(0.0, 0.5, 36, 100)]);
    }

    #[test]
    fn format_2_is_read_as_parallel_tracks() {
        let a = track(&[(96, &[0x90, 60, 100]), (96, &[0x80, 60, 0]), (0, EOT)]);
        let b = track(&[(0, &[0x91, 48, 100]), (96, &[0x81, 48, 0]), (0, EOT)]);
        let p = read(&smf(2, 96, &[a, b]));
        let starts: Vec<f64> = p.tracks.iter().map(|t| t.notes[0].start).collect();
        assert_eq!(starts, vec![1.0, 0.0]);
    }

    #[test]
    fn any_resolution_gives_the_same_beats() {
        for ppq in [96u16, 960, 7] {
            let q = ppq as u32;
            let t = track(&[(q / 2, &[0x90, 60, 100]), (q * 3 / 2, &[0x80, 60, 0]), (0, EOT)]);
            let p = read(&smf(1, ppq, &[t]));
            let n = p.tracks[0].notes[0];
            let (start, dur) = ((q / 2) as f64 / q as f64, (q * 3 / 2) as f64 / q as f64);
            assert_eq!((n.start, n.duration), (start, dur), "ppq {ppq}");
        }
    }

    #[test]
    fn timecode_division_is_read_at_120_bpm() {
        // 25 fps x 40 subframes = 1000 ticks per second = 500 ticks per beat at 120 BPM.
        let division = ((-25i8 as u8 as u16) << 8) | 40;
        let tempo: &[u8] = &[0xFF, 0x51, 0x03, 0x07, 0xA1, 0x20];
        let t = track(&[(0, tempo), (500, &[0x90, 60, 100]), (1000, &[0x80, 60, 0]), (0, EOT)]);
        let p = read(&smf(0, division, &[t]));
        assert_eq!(p.tracks[0].notes, vec![note(1.0, 2.0, 60, 100)]);
        assert!(p.tempo_map.is_empty());
        let zero = (-25i8 as u8 as u16) << 8;
        assert!(matches!(
            read_smf(&smf(0, zero, &[track(&[(0, EOT)])])),
            Err(MidiError::Parse(_))
        ));
    }

    #[test]
    fn tempo_changes_fill_the_tempo_map() {
        let conductor = track(&[
            (96, &[0xFF, 0x51, 0x03, 0x07, 0xA1, 0x20]), // 500000 us = 120 BPM at beat 1
            (96, &[0xFF, 0x51, 0x03, 0x09, 0x27, 0xC0]), // 600000 us = 100 BPM at beat 2
            (0, &[0xFF, 0x51, 0x03, 0x0F, 0x42, 0x40]),  // 1000000 us = 60 BPM at beat 2: wins
            (0, EOT),
        ]);
        let notes = track(&[(0, &[0x90, 60, 100]), (96, &[0x80, 60, 0]), (0, EOT)]);
        let p = read(&smf(1, 96, &[conductor, notes]));
        let map: Vec<(f64, f64)> = p.tempo_map.iter().map(|t| (t.beat, t.bpm)).collect();
        assert_eq!(map, vec![(0.0, 120.0), (1.0, 120.0), (2.0, 60.0)]);
    }

    #[test]
    fn time_signature_changes_take_effect_at_the_next_bar_line() {
        let ts = |n: u8, d: u8| -> Vec<u8> { vec![0xFF, 0x58, 0x04, n, d, 24, 8] };
        let (three_four, six_eight, five_four) = (ts(3, 2), ts(6, 3), ts(5, 2));
        let conductor = track(&[
            (0, &three_four),    // bar 0: 3/4
            (6 * 4, &six_eight), // beat 6 = bar 2 exactly
            (4 * 4, &five_four), // beat 10 = 1 beat into bar 3 (6/8 = 3 beats): bar 4
            (0, EOT),
        ]);
        let notes = track(&[(0, &[0x90, 60, 100]), (4, &[0x80, 60, 0]), (0, EOT)]);
        let p = read(&smf(1, 4, &[conductor, notes]));
        let m: Vec<(u32, u8, u8)> = p
            .meter
            .changes()
            .iter()
            .map(|c| (c.bar, c.numerator, c.denominator))
            .collect();
        assert_eq!(m, vec![(0, 3, 4), (2, 6, 8), (4, 5, 4)]);
        assert_eq!(p.meter.bar_start(4), 12.0);
        // No signature at the start: 4/4 until the first one (at beat 6 = 2 beats into bar 1).
        let late = track(&[(6 * 4, &three_four), (0, EOT)]);
        let notes = track(&[(0, &[0x90, 60, 100]), (4, &[0x80, 60, 0]), (0, EOT)]);
        let p = read(&smf(1, 4, &[late, notes]));
        let m: Vec<(u32, u8, u8)> = p
            .meter
            .changes()
            .iter()
            .map(|c| (c.bar, c.numerator, c.denominator))
            .collect();
        assert_eq!(m, vec![(0, 4, 4), (2, 3, 4)]);
        // Unsupported signatures are kept; impossible ones (0/4, x/2^9) are ignored.
        let odd = track(&[(0, &ts(13, 2)), (0, &ts(0, 2)), (0, &ts(4, 9)), (0, EOT)]);
        let notes = track(&[(0, &[0x90, 60, 100]), (4, &[0x80, 60, 0]), (0, EOT)]);
        let p = read(&smf(1, 4, &[odd, notes]));
        assert_eq!(p.meter, Meter::constant(13, 4));
    }

    #[test]
    fn broken_input_is_an_error_never_a_panic() {
        let good = smf(
            0,
            96,
            &[track(&[(0, &[0x90, 60, 100]), (96, &[0x80, 60, 0]), (0, EOT)])],
        );
        // Garbage, empty, a truncated header.
        for bytes in [&b"not a midi file at all"[..], &[], &good[..10], &[0xFF; 64]] {
            assert!(matches!(read_smf(bytes), Err(MidiError::Parse(_))), "{bytes:?}");
        }
        // Truncated inside the track: what was read survives, the open note ends with the track.
        let cut = &good[..good.len() - 5];
        assert_eq!(read(cut).tracks[0].notes, vec![note(0.0, 0.0, 60, 100)]);
        // Every prefix is handled.
        for n in 0..good.len() {
            let _ = read_smf(&good[..n]);
        }
        // Zero tracks; tracks without notes; zero division.
        assert!(matches!(read_smf(&smf(1, 96, &[])), Err(MidiError::NoTracks)));
        assert!(matches!(
            read_smf(&smf(1, 96, &[track(&[(0, EOT)])])),
            Err(MidiError::NoNotes)
        ));
        assert!(matches!(
            read_smf(&smf(1, 0, &[track(&[(0, EOT)])])),
            Err(MidiError::Parse(_))
        ));
        // Too large, before parsing anything.
        let big = vec![0u8; MAX_MIDI_FILE_BYTES as usize + 1];
        assert!(matches!(read_smf(&big), Err(MidiError::TooLarge { .. })));
    }

    /// Fuzz finding (`midi_parse`): an SMPTE division whose frame byte is 0x80 made midly 0.5.3
    /// panic on a negation overflow in builds with overflow checks.
    #[test]
    fn smpte_division_with_frame_byte_0x80_is_an_error_not_a_panic() {
        let notes = track(&[(0, &[0x90, 60, 100]), (96, &[0x80, 60, 0]), (0, EOT)]);
        let bad = smf(1, 0x8000 | 40, std::slice::from_ref(&notes));
        assert!(matches!(read_smf(&bad), Err(MidiError::Parse(_))));
        // A duplicate header like it after the first track ends the file there.
        let mut file = smf(1, 96, std::slice::from_ref(&notes));
        let dup = bad[..14].to_vec();
        file.extend(&dup);
        file.extend(&notes);
        assert_eq!(read(&file).tracks.len(), 1);
        // The same file wrapped in RIFF/RMID.
        let riff = |smf: &[u8]| {
            let mut data = b"data".to_vec();
            data.extend((smf.len() as u32).to_le_bytes());
            data.extend(smf);
            let mut out = b"RIFF".to_vec();
            out.extend((data.len() as u32 + 4).to_le_bytes());
            out.extend(b"RMID");
            out.extend(data);
            out
        };
        assert!(matches!(read_smf(&riff(&bad)), Err(MidiError::Parse(_))));
        let good = smf(1, 96, &[notes]);
        assert_eq!(read(&riff(&good)), read(&good));
        assert!(matches!(read_smf(&riff(&riff(&good))), Err(MidiError::Parse(_))));
    }

    #[test]
    fn huge_delta_times_are_cut_at_the_length_limit() {
        let max_delta = 0x0FFF_FFFF;
        // A note-off 2^28 ticks (2.8 million beats) later: the note is cut at the limit.
        let t = track(&[(0, &[0x90, 60, 100]), (max_delta, &[0x80, 60, 0]), (max_delta, EOT)]);
        let p = read(&smf(0, 96, &[t]));
        assert_eq!(p.tracks[0].notes, vec![note(0.0, MAX_PIECE_BEATS, 60, 100)]);
        // A note that starts past the limit makes the file too long.
        let t = track(&[(max_delta, &[0x90, 60, 100]), (1, &[0x80, 60, 0]), (0, EOT)]);
        assert!(matches!(read_smf(&smf(0, 96, &[t])), Err(MidiError::TooLong { .. })));
        // Many huge deltas do not overflow.
        let events: Vec<(u32, &[u8])> = (0..100).map(|_| (max_delta, &[0xFF, 0x01, 0x00][..])).collect();
        let mut events = events;
        events.insert(0, (0, &[0x90, 60, 100]));
        let p = read(&smf(0, 1, &[track(&events)]));
        assert_eq!(p.tracks[0].notes[0].duration, MAX_PIECE_BEATS);
    }

    #[test]
    fn names_programs_and_roles() {
        let conductor = track(&[(0, &raw::name("Song")), (0, &[0xC1, 0x21]), (0, EOT)]);
        let bass = track(&[
            (0, &raw::name("Walking")),
            (0, &[0x91, 40, 100]),
            (96, &[0x81, 40, 0]),
            (0, EOT),
        ]);
        let tagged = {
            let mut tag = vec![0xFF, 0x01, 20];
            tag.extend_from_slice(b"sideman:role=comping");
            track(&[(0, &tag), (0, &[0x92, 72, 100]), (96, &[0x82, 72, 0]), (0, EOT)])
        };
        let p = read(&smf(1, 96, &[conductor, bass, tagged]));
        assert_eq!(p.tracks[0].name, "Walking");
        assert_eq!(
            p.tracks[0].program,
            Some(0x21),
            "program from another track of the channel"
        );
        assert_eq!(p.tracks[0].role, Role::Bass);
        assert_eq!(p.tracks[1].role, Role::Comping, "role text wins over inference");
    }

    #[test]
    fn role_inference() {
        let mono: Vec<Note> = (0..16)
            .map(|i| note(i as f64 * 0.5, 0.5, 60 + (i % 5) as u8, 90))
            .collect();
        let low: Vec<Note> = mono
            .iter()
            .map(|n| Note {
                pitch: n.pitch - 24,
                ..*n
            })
            .collect();
        let chords: Vec<Note> = (0..8)
            .flat_map(|i| [60, 64, 67].map(|p| note(i as f64, 1.0, p, 70)))
            .collect();
        let cases = [
            ("Drum", 9, None, &mono, Role::Drums),
            ("anything", 9, None, &chords, Role::Drums),
            ("Bass Drum", 3, None, &mono, Role::Drums),
            ("Bass", 1, None, &low, Role::Bass),
            ("Bass-8", 1, None, &chords, Role::Comping), // a high "bass" is a riff or stab
            ("Walk", 1, None, &low, Role::Bass),
            ("Chord-Piano", 2, None, &chords, Role::Comping),
            ("Arpeggio", 2, None, &mono, Role::Comping),
            ("Plectrum", 2, None, &chords, Role::Comping),
            ("Lead Guitar", 3, None, &mono, Role::Lead),
            ("Rhythm Guitar", 3, None, &chords, Role::Comping),
            ("Tenor Sax", 3, None, &mono, Role::Lead),
            ("Soprano", 0, None, &mono, Role::Lead),
            ("", 4, Some(33), &low, Role::Bass),
            ("", 4, Some(33), &mono, Role::Lead),
            ("Paddy's Jig", 0, None, &mono, Role::Lead),
            ("Kitty O'Neill", 0, None, &mono, Role::Lead),
            ("Tenor", 0, None, &low, Role::Bass),
            ("Piano", 0, None, &chords, Role::Piano),
        ];
        for (name, channel, program, notes, role) in cases {
            assert_eq!(infer_role(name, channel, program, notes), role, "{name:?}");
        }
        assert_eq!(polyphony(&mono), 0.0);
        assert_eq!(polyphony(&chords), 1.0);
        assert_eq!(polyphony(&[]), 0.0);
    }

    fn example_piece() -> Piece {
        let lead = Track {
            name: "Solo".into(),
            channel: 0,
            program: Some(65),
            role: Role::Lead,
            notes: vec![
                note(0.0, 0.5, 62, 84),
                note(0.5, 1.0 / 3.0, 65, 70),
                note(1.0, 0.0, 67, 60), // zero length
                note(5.0, 2.0, 69, 127),
                note(5.5, 2.0, 69, 20), // same pitch, overlapping, ends later: first in first out
            ],
        };
        let bass = Track {
            name: "Bass".into(),
            channel: 1,
            program: None,
            role: Role::Bass,
            notes: vec![note(0.0, 1.0, 38, 90), note(1.0, 1.0, 38, 90), note(2.0, 1.0, 43, 90)],
        };
        let drums = Track {
            name: "Kit".into(),
            channel: 9,
            program: None,
            role: Role::Drums,
            notes: vec![
                note(0.0, 0.25, 36, 100),
                note(0.0, 0.25, 42, 80),
                note(1.5, 0.25, 38, 100),
            ],
        };
        let comp = Track {
            name: "Keys".into(),
            channel: 2,
            program: Some(0),
            role: Role::Comping,
            notes: vec![note(2.0, 1.5, 60, 64), note(2.0, 1.5, 64, 64)],
        };
        Piece {
            meter: Meter::from_changes(vec![
                MeterChange {
                    bar: 0,
                    numerator: 4,
                    denominator: 4,
                },
                MeterChange {
                    bar: 1,
                    numerator: 6,
                    denominator: 8,
                },
                MeterChange {
                    bar: 3,
                    numerator: 7,
                    denominator: 16,
                },
            ]),
            tempo_map: vec![
                TempoChange { beat: 0.0, bpm: 120.0 },
                TempoChange { beat: 4.5, bpm: 100.0 },
            ],
            chords: vec![
                ChordEvent {
                    start: 0.0,
                    chord: Some(Chord::new(2, ChordQuality::Min7)),
                },
                ChordEvent {
                    start: 2.0,
                    chord: Some(Chord::new(7, ChordQuality::Dom7Alt)),
                },
                ChordEvent {
                    start: 4.0,
                    chord: None,
                },
            ],
            tracks: vec![lead, bass, drums, comp],
        }
    }

    #[test]
    fn write_then_read_is_the_identity() {
        let p = example_piece();
        let bytes = write_smf(&p);
        assert_eq!(read(&bytes), p);
        // Same bytes from the same piece.
        assert_eq!(write_smf(&read(&bytes)), bytes);
    }

    #[test]
    fn written_files_are_format_1_at_480_with_a_conductor() {
        let bytes = write_smf(&example_piece());
        let smf = Smf::parse(&bytes).unwrap();
        assert_eq!(smf.header.format, Format::Parallel);
        assert_eq!(smf.header.timing, Timing::Metrical(u15::new(WRITE_PPQ)));
        assert_eq!(smf.tracks.len(), 6); // conductor, four parts, chords
        let has = |t: usize, f: &dyn Fn(&TrackEventKind) -> bool| smf.tracks[t].iter().any(|e| f(&e.kind));
        assert!(has(0, &|k| matches!(k, TrackEventKind::Meta(MetaMessage::Tempo(_)))));
        assert!(has(0, &|k| matches!(
            k,
            TrackEventKind::Meta(MetaMessage::TimeSignature(6, 3, _, _))
        )));
        assert!(has(
            3,
            &|k| matches!(k, TrackEventKind::Midi { channel, .. } if channel.as_int() == 9)
        ));
        assert!(has(5, &|k| matches!(
            k,
            TrackEventKind::Meta(MetaMessage::Text(b"G7alt"))
        )));
        // Note-offs come before note-ons at one tick (the bass repeats D at beat 1).
        let bass: Vec<_> = smf.tracks[2]
            .iter()
            .filter_map(|e| match e.kind {
                TrackEventKind::Midi { message, .. } => Some((e.delta.as_int(), message)),
                _ => None,
            })
            .collect();
        assert!(matches!(bass[1], (480, MidiMessage::NoteOff { .. })));
        assert!(matches!(bass[2], (0, MidiMessage::NoteOn { .. })));
    }

    #[test]
    fn writing_clamps_what_a_file_cannot_hold() {
        let mut p = example_piece();
        p.tracks[0].notes.push(note(-3.0, f64::NAN, 200, 0));
        p.tracks[0].notes.push(note(f64::INFINITY, 1e300, 60, 255));
        p.tempo_map.push(TempoChange { beat: 1.0, bpm: 0.0 });
        p.meter = Meter::constant(3, 3);
        let back = read(&write_smf(&p));
        assert_eq!(back.meter, Meter::constant(3, 4));
        assert!(
            back.tracks[0]
                .notes
                .iter()
                .all(|n| n.pitch <= 127 && (1..=127).contains(&n.velocity))
        );
        assert!(back.end_beat() <= MAX_PIECE_BEATS);
        // An empty piece still writes a valid file (which reads back as having no notes).
        let empty = Piece {
            meter: Meter::default(),
            tempo_map: vec![],
            chords: vec![],
            tracks: vec![],
        };
        assert!(matches!(read_smf(&write_smf(&empty)), Err(MidiError::NoNotes)));
    }

    #[test]
    fn merge_turns_voices_into_one_part() {
        let mut p = example_piece();
        merge_into_role(&mut p, Role::Piano);
        let roles: Vec<Role> = p.tracks.iter().map(|t| t.role).collect();
        assert_eq!(roles, vec![Role::Piano, Role::Drums]);
        assert_eq!(p.tracks[0].name, "Solo + Bass + Keys");
        assert_eq!(p.tracks[0].notes.len(), 10);
        assert_eq!(p.tracks[0].program, None);
        assert!(
            p.tracks[0]
                .notes
                .windows(2)
                .all(|w| (w[0].start, w[0].pitch) <= (w[1].start, w[1].pitch))
        );
        // Nothing to merge: unchanged.
        let mut q = p.clone();
        q.tracks.retain(|t| t.role.is_drums());
        let before = q.clone();
        merge_into_role(&mut q, Role::Lead);
        assert_eq!(q, before);
    }

    #[test]
    fn chord_track_is_read_back() {
        let mut p = example_piece();
        p.tracks.truncate(1);
        let back = read(&write_smf(&p));
        assert_eq!(back.chords, p.chords);
        // A "Chords" track with unreadable text keeps what it can.
        let mut text = vec![0xFF, 0x01, 3];
        text.extend_from_slice(b"H7x");
        let mut marker = vec![0xFF, 0x06, 3];
        marker.extend_from_slice(b"Dm7");
        let chords = track(&[(0, &raw::name("chords")), (0, &text), (96, &marker), (0, EOT)]);
        let notes = track(&[(0, &[0x90, 60, 100]), (96, &[0x80, 60, 0]), (0, EOT)]);
        let back = read(&smf(1, 96, &[chords, notes]));
        assert_eq!(
            back.chords,
            vec![ChordEvent {
                start: 1.0,
                chord: Some(Chord::new(2, ChordQuality::Min7))
            }]
        );
    }

    /// Two tracks (notes up to bar 2, then a note in bar 3) at 96 ticks per beat, and where each
    /// track chunk starts.
    fn two_tracks() -> (Vec<u8>, usize, usize) {
        let first = track(&[
            (0, &[0x90, 60, 100]),
            (96, &[0x80, 60, 0]),
            (288, &[0x90, 62, 100]),
            (96, &[0x80, 62, 0]),
            (0, EOT),
        ]);
        let second = track(&[(768, &[0x90, 67, 100]), (96, &[0x80, 67, 0]), (0, EOT)]);
        let at = 14 + first.len();
        (smf(1, 96, &[first, second]), 14, at)
    }

    fn truncation_of(bytes: &[u8]) -> Option<Truncation> {
        read_smf_with_report(bytes).unwrap().1.truncated
    }

    #[test]
    fn complete_files_read_without_a_warning() {
        let (file, _, _) = two_tracks();
        let (p, r) = read_smf_with_report(&file).unwrap();
        assert_eq!(r, ReadReport::default());
        assert!(!r.is_partial());
        assert_eq!(r.warning(&p), None);
        let written = write_smf(&example_piece());
        assert_eq!(read_smf_with_report(&written).unwrap().1, ReadReport::default());
        // Zero padding after the last chunk, or after an End-of-Track inside its chunk, is not a cut.
        let mut padded = file.clone();
        padded.extend([0, 0, 0]);
        assert_eq!(truncation_of(&padded), None);
        let t = track(&[(0, &[0x90, 60, 100]), (96, &[0x80, 60, 0]), (0, EOT), (0, &[0, 0])]);
        assert_eq!(truncation_of(&smf(0, 96, &[t])), None);
        // A last chunk that declares more than the file holds, but whose End-of-Track was read,
        // lost nothing.
        let mut t = track(&[(0, &[0x90, 60, 100]), (96, &[0x80, 60, 0]), (0, EOT)]);
        t[7] += 10;
        assert_eq!(truncation_of(&smf(0, 96, &[t])), None);
    }

    #[test]
    fn truncated_files_are_read_in_part_and_reported() {
        let (file, first, second) = two_tracks();
        // Cut between the tracks: the first track is whole, the second is missing.
        let (p, r) = read_smf_with_report(&file[..second]).unwrap();
        assert_eq!(r.truncated, Some(Truncation::MissingTracks { declared: 2, found: 1 }));
        assert_eq!(
            r.warning(&p).unwrap(),
            "truncated MIDI (the header declares 2 tracks, the file holds 1), read 2 notes up to bar 2"
        );
        // Cut inside the second chunk's header.
        assert_eq!(truncation_of(&file[..second + 3]), Some(Truncation::ChunkHeaderCut));
        // Cut inside the second track, after its note-on: the open note ends where the track does.
        let cut = &file[..second + 8 + 5];
        let (p, r) = read_smf_with_report(cut).unwrap();
        assert_eq!(
            r.truncated,
            Some(Truncation::ChunkCut {
                track: 1,
                declared: 13,
                present: 5
            })
        );
        assert_eq!(p.note_count(), 3);
        let w = r.warning(&p).unwrap();
        assert!(w.ends_with("read 3 notes up to bar 3"), "{w}");
        assert!(
            w.contains("track 2 is cut: its chunk declares 13 bytes, the file holds 5"),
            "{w}"
        );
        // Cut inside an event (the note-off lacks its velocity).
        assert!(matches!(
            truncation_of(&file[..file.len() - 5]),
            Some(Truncation::ChunkCut { track: 1, .. })
        ));
        // A chunk whose length is right but whose last event is cut off; a track with no
        // End-of-Track.
        let t = track(&[(0, &[0x90, 60, 100]), (96, &[0x80, 60, 0]), (0, &[0x90, 62])]);
        assert_eq!(
            truncation_of(&smf(0, 96, &[t])),
            Some(Truncation::EventCut { track: 0 })
        );
        let t = track(&[(0, &[0x90, 60, 100]), (96, &[0x80, 60, 0])]);
        let (p, r) = read_smf_with_report(&smf(0, 96, &[t])).unwrap();
        assert_eq!(r.truncated, Some(Truncation::NoEndOfTrack { track: 0 }));
        assert_eq!(p.note_count(), 1);
        // Every cut of a written file after its header is either reported or has nothing to read.
        for bytes in [file.clone(), write_smf(&example_piece())] {
            let total = read(&bytes).note_count();
            let mut partial = 0;
            for n in first..bytes.len() {
                match read_smf_with_report(&bytes[..n]) {
                    Ok((p, r)) => {
                        let w = r
                            .warning(&p)
                            .unwrap_or_else(|| panic!("cut at {n} of {} not reported", bytes.len()));
                        assert!(w.starts_with("truncated MIDI ("), "{w}");
                        assert!(w.contains(&format!("read {} notes up to bar ", p.note_count())), "{w}");
                        assert!(p.note_count() <= total, "cut at {n}");
                        partial += 1;
                    }
                    Err(e) => assert!(matches!(e, MidiError::NoNotes | MidiError::NoTracks), "cut at {n}: {e}"),
                }
            }
            assert!(partial > (bytes.len() - first) / 3, "{partial} partial reads");
        }
    }

    #[test]
    fn truncated_files_on_disk_are_reported_and_errors_keep_their_cause_out_of_the_message() {
        let dir = std::env::temp_dir().join(format!("sideman-midi-cut-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (file, _, second) = two_tracks();
        let cut = dir.join("cut.mid");
        std::fs::write(&cut, &file[..second + 13]).unwrap();
        let (p, r) = read_file_with_report(&cut).unwrap();
        assert!(r.is_partial() && p.note_count() == 3);
        assert_eq!(read_file(&cut).unwrap(), p);
        // The OS error is the source, not part of the message.
        let e = read_file(&dir.join("missing.mid")).unwrap_err();
        assert!(e.to_string().starts_with("cannot read ") && std::error::Error::source(&e).is_some());
        let e = write_file(&p, &cut.join("out.mid")).unwrap_err();
        assert!(
            e.to_string().starts_with("cannot write ") && e.to_string().ends_with("out.mid"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn file_errors_name_the_file() {
        let dir = std::env::temp_dir().join(format!("sideman-midi-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("missing.mid");
        let e = read_file(&missing).unwrap_err();
        assert!(e.to_string().contains("missing.mid"), "{e}");
        let bad = dir.join("bad.mid");
        std::fs::write(&bad, b"garbage").unwrap();
        let e = read_file(&bad).unwrap_err();
        assert!(
            e.to_string().contains("bad.mid") && matches!(e.reason(), MidiError::Parse(_)),
            "{e}"
        );
        let good = dir.join("good.mid");
        write_file(&example_piece(), &good).unwrap();
        assert_eq!(read_file(&good).unwrap(), example_piece());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
