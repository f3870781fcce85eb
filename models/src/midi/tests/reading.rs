//! Reading: events, tracks, time, tempo, meter, names, roles and chords; broken input.

use super::raw::{self, EOT, smf, track};
use super::{example_piece, note, read};
use crate::chord::{Chord, ChordQuality};
use crate::midi::{MAX_MIDI_FILE_BYTES, MAX_PIECE_BEATS, MidiError, read_smf, write_smf};
use crate::music::{ChordEvent, Meter, Role};

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
