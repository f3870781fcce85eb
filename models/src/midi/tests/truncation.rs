//! Truncation: complete files read without a warning, cut ones in part with a [`ReadReport`].

use super::raw::{EOT, smf, track};
use super::{example_piece, read, two_tracks};
use crate::midi::{MidiError, ReadReport, Truncation, read_smf_with_report, write_smf};

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
