//! The sustain pedal of a MIDI file (controller 64, down from value 64), which the note reader
//! leaves aside: a part played into `trainer generate --input` sounds as the plugin hears it live,
//! where a key released under the pedal keeps sounding until the pedal lifts
//! ([`crate::generate::InputFollower`]).

use std::path::Path;

use midly::{MidiMessage, TrackEventKind};

use super::container::smf_body;
use super::read::division;
use super::{MAX_MIDI_FILE_BYTES, MAX_PIECE_BEATS, MidiError};

/// The sustain pedal went down or up at `beat` (beats from the file's start, as notes are read).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PedalChange {
    /// When, in beats.
    pub beat: f64,
    /// Down (controller 64 at 64 or above) or up.
    pub down: bool,
}

/// The sustain pedal's changes in a Standard MIDI File, from every track and channel, sorted by
/// beat; a value that leaves the pedal as it was is no change. Events after
/// [`MAX_PIECE_BEATS`] are ignored, as the note reader ignores them.
pub fn sustain_pedal(bytes: &[u8]) -> Result<Vec<PedalChange>, MidiError> {
    if bytes.len() as u64 > MAX_MIDI_FILE_BYTES {
        return Err(MidiError::TooLarge {
            bytes: bytes.len() as u64,
        });
    }
    let (header, tracks) = midly::parse(smf_body(bytes)?).map_err(|e| MidiError::Parse(e.to_string()))?;
    let (ticks_per_beat, _) = division(header.timing)?;
    let max_tick = (MAX_PIECE_BEATS * ticks_per_beat).floor() as u64;
    // (tick, track order, down), then sorted: the file order breaks ties.
    let mut events: Vec<(u64, usize, bool)> = Vec::new();
    for track in tracks {
        let Ok(track) = track else { break };
        let mut tick = 0u64;
        for event in track {
            let Ok(event) = event else { break };
            tick = tick.saturating_add(event.delta.as_int() as u64);
            if tick > max_tick {
                break;
            }
            if let TrackEventKind::Midi {
                message: MidiMessage::Controller { controller, value },
                ..
            } = event.kind
                && controller.as_int() == 64
            {
                events.push((tick, events.len(), value.as_int() >= 64));
            }
        }
    }
    events.sort_by_key(|&(tick, order, _)| (tick, order));
    let mut out: Vec<PedalChange> = Vec::new();
    for (tick, _, down) in events {
        if out.last().map_or(!down, |c| c.down == down) {
            continue;
        }
        out.push(PedalChange {
            beat: tick as f64 / ticks_per_beat,
            down,
        });
    }
    Ok(out)
}

/// [`sustain_pedal`] of a file.
pub fn read_file_pedal(path: &Path) -> Result<Vec<PedalChange>, MidiError> {
    let bytes = std::fs::read(path).map_err(|source| MidiError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    sustain_pedal(&bytes).map_err(|e| MidiError::InFile {
        path: path.to_path_buf(),
        source: Box::new(e),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A format 0 file at 480 ticks per beat with the given (delta, status, data1, data2) events.
    fn smf(events: &[(u32, u8, u8, u8)]) -> Vec<u8> {
        let mut trk = Vec::new();
        for &(delta, status, a, b) in events {
            let mut v = vec![(delta & 0x7f) as u8];
            let mut d = delta >> 7;
            while d > 0 {
                v.insert(0, (d & 0x7f) as u8 | 0x80);
                d >>= 7;
            }
            trk.extend(v);
            trk.extend([status, a, b]);
        }
        trk.extend([0, 0xff, 0x2f, 0]);
        let mut out = b"MThd\0\0\0\x06\0\0\0\x01\x01\xe0MTrk".to_vec();
        out.extend((trk.len() as u32).to_be_bytes());
        out.extend(trk);
        out
    }

    #[test]
    fn the_pedal_goes_down_and_up_in_beats() {
        let bytes = smf(&[
            (0, 0x90, 60, 90),
            (240, 0xb0, 64, 127),
            (0, 0xb0, 64, 100), // still down: no change
            (480, 0x80, 60, 0),
            (480, 0xb0, 64, 0),
            (0, 0xb0, 7, 100), // volume: not the pedal
            (240, 0xb1, 64, 64),
        ]);
        let changes = sustain_pedal(&bytes).unwrap();
        assert_eq!(
            changes,
            [
                PedalChange { beat: 0.5, down: true },
                PedalChange { beat: 2.5, down: false },
                PedalChange { beat: 3.0, down: true },
            ]
        );
        // An up before any down changes nothing; a file without the pedal has none.
        assert!(
            sustain_pedal(&smf(&[(0, 0xb0, 64, 0), (0, 0x90, 60, 90)]))
                .unwrap()
                .is_empty()
        );
        assert!(sustain_pedal(b"not midi").is_err());
    }
}
