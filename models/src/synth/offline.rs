//! Offline rendering: notes stamped in beats, through a tempo map, into a buffer of audio, with
//! [`Synth`]. For previews off the audio thread (`trainer generate --render`, a plugin bounce
//! preview); it allocates the output and its event list.
//!
//! The output is interleaved stereo `f32` at the given sample rate, like [`Synth::render`]: it is
//! `seconds_at(end_beat) + tail` long, whatever the notes, so its length is known from the bars
//! and tempo alone. A note still sounding at the end beat is released there (as the plugin
//! releases every note when the transport stops), and the tail lets the releases ring out. Within
//! one channel a key sounds once: a note is cut where the same key starts again.

use super::Synth;
use crate::music::{Note, Piece, TempoChange};

/// Tempo when a tempo map has no usable change, BPM (as in [`Piece::initial_bpm`]).
const DEFAULT_BPM: f64 = 120.0;

/// Seconds from beat 0 to `beat` under `tempo_map` (sorted by beat; the first change holds from
/// beat 0). Changes whose tempo is not a positive finite number are skipped; without any, the
/// tempo is 120 BPM.
pub fn seconds_at(tempo_map: &[TempoChange], beat: f64) -> f64 {
    let valid = || {
        tempo_map
            .iter()
            .filter(|t| t.bpm.is_finite() && t.bpm > 0.0 && t.beat.is_finite())
    };
    let mut bpm = valid().next().map_or(DEFAULT_BPM, |t| t.bpm);
    let (mut at, mut seconds) = (0.0, 0.0);
    for t in valid() {
        if t.beat >= beat {
            break;
        }
        if t.beat > at {
            seconds += (t.beat - at) * 60.0 / bpm;
            at = t.beat;
        }
        bpm = t.bpm;
    }
    seconds + (beat - at) * 60.0 / bpm
}

/// Renders the notes of one part at a constant tempo, up to the end of its last note plus
/// `tail_s` seconds. `channel` is the MIDI channel (0-15; [`super::DRUM_CHANNEL`] for drums).
/// Interleaved stereo at `sample_rate` Hz; empty when `sample_rate` is 0.
pub fn render_notes(notes: &[Note], channel: u8, tempo_bpm: f64, sample_rate: u32, tail_s: f64) -> Vec<f32> {
    let end_beat = notes
        .iter()
        .map(Note::end)
        .filter(|e| e.is_finite())
        .fold(0.0, f64::max);
    let tempo = [TempoChange {
        beat: 0.0,
        bpm: tempo_bpm,
    }];
    render_parts(&[(channel, notes)], &tempo, end_beat, sample_rate, tail_s)
}

/// Renders every track of `piece` (each on its own channel) from beat 0 to `end_beat`, plus
/// `tail_s` seconds: `round(seconds_at(end_beat) * sample_rate) + round(tail_s * sample_rate)`
/// frames of interleaved stereo. Notes from `end_beat` on are not played; notes sounding there
/// are released. Empty when `sample_rate` is 0.
pub fn render_piece(piece: &Piece, end_beat: f64, sample_rate: u32, tail_s: f64) -> Vec<f32> {
    let parts: Vec<(u8, &[Note])> = piece.tracks.iter().map(|t| (t.channel, t.notes.as_slice())).collect();
    render_parts(&parts, &piece.tempo_map, end_beat, sample_rate, tail_s)
}

/// A note event at a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Event {
    /// Frame from the start.
    frame: usize,
    /// False for a note-off: at one frame, note-offs come first.
    on: bool,
    /// MIDI channel.
    channel: u8,
    /// Key.
    key: u8,
    /// Velocity (note-ons).
    velocity: u8,
}

/// The note-on/off events of `parts` in frames, sorted; see [`render_piece`] for the rules.
fn events(parts: &[(u8, &[Note])], tempo_map: &[TempoChange], end_beat: f64, sample_rate: u32) -> Vec<Event> {
    let frame = |beat: f64| (seconds_at(tempo_map, beat.max(0.0)) * sample_rate as f64).round() as usize;
    let mut out = Vec::new();
    for &(channel, notes) in parts {
        let channel = channel & 0x0F;
        let mut sorted: Vec<Note> = notes
            .iter()
            .filter(|n| n.start.is_finite() && n.duration.is_finite() && n.start < end_beat)
            .filter(|n| n.pitch < 128 && n.velocity > 0)
            .copied()
            .collect();
        sorted.sort_by(|a, b| a.start.total_cmp(&b.start));
        // Walking backwards, the frame where the same key starts next.
        let mut next_on = [usize::MAX; 128];
        for n in sorted.iter().rev() {
            let key = n.pitch as usize;
            let on = frame(n.start);
            if next_on[key] <= on {
                // Two onsets of one key at one frame: the later in the list plays.
                continue;
            }
            let off = frame(n.end().min(end_beat)).clamp(on + 1, next_on[key]);
            next_on[key] = on;
            out.push(Event {
                frame: on,
                on: true,
                channel,
                key: n.pitch,
                velocity: n.velocity,
            });
            out.push(Event {
                frame: off,
                on: false,
                channel,
                key: n.pitch,
                velocity: 0,
            });
        }
    }
    out.sort();
    out
}

/// Renders `parts` (channel, notes) under `tempo_map` up to `end_beat`, plus the tail.
fn render_parts(
    parts: &[(u8, &[Note])],
    tempo_map: &[TempoChange],
    end_beat: f64,
    sample_rate: u32,
    tail_s: f64,
) -> Vec<f32> {
    if sample_rate == 0 {
        return Vec::new();
    }
    let end_beat = if end_beat.is_finite() { end_beat.max(0.0) } else { 0.0 };
    let tail_s = if tail_s.is_finite() { tail_s.max(0.0) } else { 0.0 };
    let frames = (seconds_at(tempo_map, end_beat) * sample_rate as f64).round() as usize
        + (tail_s * sample_rate as f64).round() as usize;
    let mut out = vec![0.0f32; 2 * frames];
    let mut synth = Synth::new(sample_rate as f32);
    let mut pos = 0;
    for e in events(parts, tempo_map, end_beat, sample_rate) {
        let at = e.frame.min(frames);
        if at > pos {
            synth.render(&mut out[2 * pos..2 * at]);
            pos = at;
        }
        if e.on {
            synth.note_on(e.channel, e.key, e.velocity);
        } else {
            synth.note_off(e.channel, e.key);
        }
    }
    synth.render(&mut out[2 * pos..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::music::{Meter, Role, Track};
    use crate::synth::DRUM_CHANNEL;

    const SR: u32 = 22_050;

    fn note(start: f64, duration: f64, pitch: u8) -> Note {
        Note {
            start,
            duration,
            pitch,
            velocity: 100,
        }
    }

    fn rms(x: &[f32]) -> f32 {
        (x.iter().map(|v| v * v).sum::<f32>() / x.len().max(1) as f32).sqrt()
    }

    fn piece(tracks: Vec<(u8, Vec<Note>)>, bpm: f64) -> Piece {
        Piece {
            meter: Meter::default(),
            tempo_map: vec![TempoChange { beat: 0.0, bpm }],
            chords: vec![],
            tracks: tracks
                .into_iter()
                .map(|(channel, notes)| Track {
                    name: String::new(),
                    channel,
                    program: None,
                    role: if channel == DRUM_CHANNEL {
                        Role::Drums
                    } else {
                        Role::Lead
                    },
                    notes,
                })
                .collect(),
        }
    }

    #[test]
    fn seconds_follow_the_tempo_map() {
        let map = [
            TempoChange { beat: 0.0, bpm: 120.0 },
            TempoChange { beat: 4.0, bpm: 60.0 },
            TempoChange { beat: 6.0, bpm: 0.0 },
        ];
        assert_eq!(seconds_at(&map, 2.0), 1.0);
        assert_eq!(seconds_at(&map, 4.0), 2.0);
        assert_eq!(seconds_at(&map, 8.0), 6.0);
        assert_eq!(seconds_at(&[], 8.0), 4.0);
        assert_eq!(seconds_at(&map[1..], 1.0), 1.0);
    }

    #[test]
    fn the_length_is_the_bars_plus_the_tail_and_the_tail_ends_silent() {
        // A note that runs far past the end is released at the end beat.
        let p = piece(
            vec![
                (0, vec![note(1.0, 100.0, 60)]),
                (DRUM_CHANNEL, vec![note(2.0, 0.1, 36)]),
            ],
            120.0,
        );
        let out = render_piece(&p, 8.0, SR, 1.5);
        assert_eq!(out.len(), 2 * (4.0 * SR as f64 + 1.5 * SR as f64) as usize);
        assert!(out.iter().all(|v| v.is_finite() && v.abs() <= 1.0));
        let sr = SR as usize;
        // Silent before the first note (beat 1 = 0.5 s), sounding after, silent at the very end.
        assert!(out[..2 * sr / 2].iter().all(|&v| v == 0.0));
        assert!(rms(&out[2 * sr..2 * 3 * sr]) > 0.01);
        assert!(out[out.len() - 2 * sr / 5..].iter().all(|&v| v == 0.0));
        // Nothing of a note at or past the end beat.
        let late = piece(vec![(0, vec![note(8.0, 1.0, 60)])], 120.0);
        assert!(render_piece(&late, 8.0, SR, 1.0).iter().all(|&v| v == 0.0));
    }

    #[test]
    fn a_repeated_key_is_cut_where_it_starts_again() {
        let notes = [
            note(0.0, 4.0, 60),
            note(1.0, 1.0, 60),
            note(1.0, 0.5, 62),
            note(1.0, 2.0, 62),
        ];
        let ev = events(&[(0, &notes)], &[], 8.0, 100);
        let k60: Vec<(usize, bool)> = ev.iter().filter(|e| e.key == 60).map(|e| (e.frame, e.on)).collect();
        assert_eq!(k60, [(0, true), (50, false), (50, true), (100, false)]);
        // Of two onsets at once the later in the list plays.
        let k62: Vec<(usize, bool)> = ev.iter().filter(|e| e.key == 62).map(|e| (e.frame, e.on)).collect();
        assert_eq!(k62, [(50, true), (150, false)]);
    }

    #[test]
    fn render_notes_plays_one_part() {
        let out = render_notes(&[note(0.0, 1.0, 40), note(1.0, 1.0, 43)], 1, 90.0, SR, 0.5);
        assert_eq!(out.len(), 2 * ((2.0 * 60.0 / 90.0 + 0.5) * SR as f64).round() as usize);
        assert!(rms(&out) > 0.01);
        assert!(render_notes(&[], 0, 120.0, 0, 1.0).is_empty());
        assert!(render_notes(&[], 0, 120.0, SR, 1.0).iter().all(|&v| v == 0.0));
    }
}
