//! Writing a [`Piece`] as a format 1 Standard MIDI File (see the module documentation of
//! [`crate::midi`] for the rules).

use midly::num::{u4, u7, u15, u24, u28};
use midly::{Format, Header, MetaMessage, MidiMessage, Smf, Timing, TrackEvent, TrackEventKind};

use super::{CHORDS_TRACK_NAME, CONDUCTOR_TRACK_NAME, MAX_PIECE_BEATS, ROLE_TEXT_PREFIX, WRITE_PPQ};
use crate::music::Piece;

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
