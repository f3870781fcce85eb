//! Truncation detection: [`Truncation`] and [`ReadReport`], and how a file's chunk layout and the
//! way its tracks ended show that it was cut short.

use crate::music::Piece;

/// How a file was found cut short (see [`read_smf_with_report`]). Tracks count from 0, in file
/// order; messages count them from 1.
///
/// [`read_smf_with_report`]: super::read_smf_with_report
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
///
/// [`read_smf_with_report`]: super::read_smf_with_report
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
pub(super) struct TrackEnd {
    /// An End-of-Track event was read.
    pub(super) end_of_track: bool,
    /// Reading stopped at a malformed or cut-off event before the End-of-Track.
    pub(super) cut: bool,
}

/// What the chunk layout of an SMF body says about truncation.
pub(super) struct ChunkLayout {
    /// `MTrk` chunks in the file.
    tracks: usize,
    /// The last chunk when it is a track cut short: (track index, declared length, bytes held).
    cut_track: Option<(usize, u32, usize)>,
    /// The file ends inside a chunk header (1 to 7 bytes that are not all zero padding).
    header_cut: bool,
}

/// Walks the chunks of `body` (as [`smf_body`] and midly do) to find where the file is cut.
///
/// [`smf_body`]: super::container::smf_body
pub(super) fn chunk_layout(body: &[u8]) -> ChunkLayout {
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

/// The first sign that a file is cut short, from its chunk layout, how its tracks ended and the
/// track count its header declares.
pub(super) fn truncation(layout: &ChunkLayout, ends: &[TrackEnd], declared_tracks: usize) -> Option<Truncation> {
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
