//! Role inference and merging parts into one role.

use super::{example_piece, note};
use crate::midi::{infer_role, merge_into_role, polyphony};
use crate::music::{Note, Role};

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
