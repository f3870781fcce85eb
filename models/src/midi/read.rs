//! Reading a Standard MIDI File into a [`Piece`] (see the module documentation of
//! [`crate::midi`] for the rules).

use std::collections::VecDeque;

use midly::{MetaMessage, MidiMessage, Timing, TrackEventKind};

use super::container::smf_body;
use super::report::{ReadReport, TrackEnd, chunk_layout, truncation};
use super::role::infer_role;
use super::{
    CHORDS_TRACK_NAME, MAX_MIDI_FILE_BYTES, MAX_NOTES, MAX_PIECE_BEATS, MidiError, ROLE_TEXT_PREFIX, TIMECODE_BPM,
};
use crate::chord::Chord;
use crate::music::{ChordEvent, Meter, MeterChange, Note, Piece, Role, TempoChange, Track};

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

/// Ticks per beat of a file's division, and whether it is timecode (see the reading rules).
pub(super) fn division(timing: Timing) -> Result<(f64, bool), MidiError> {
    match timing {
        Timing::Metrical(t) if t.as_int() == 0 => Err(MidiError::Parse("division of 0 ticks per beat".into())),
        Timing::Metrical(t) => Ok((t.as_int() as f64, false)),
        Timing::Timecode(_, 0) => Err(MidiError::Parse("timecode division of 0 subframes".into())),
        Timing::Timecode(fps, sub) => Ok((fps.as_f32() as f64 * sub as f64 * 60.0 / TIMECODE_BPM, true)),
    }
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
    let (ticks_per_beat, timecode) = division(header.timing)?;
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
