use super::*;
use crate::music::Note;

const BEAT: i64 = TICKS_PER_BEAT as i64;

fn chord(s: &str) -> Option<Chord> {
    Chord::parse(s).unwrap()
}

/// Notes (start beat, length in beats, pitch) as notes.
fn as_notes(notes: &[(f64, f64, u8)]) -> Vec<Note> {
    notes
        .iter()
        .map(|&(start, duration, pitch)| Note {
            start,
            duration,
            pitch,
            velocity: 80,
        })
        .collect()
}

/// Notes (start beat, length in beats, pitch) followed as `trainer generate --input` does, in
/// bars of 4/4.
fn follow(notes: &[(f64, f64, u8)]) -> Conditioning {
    InputFollower::follow_part(&as_notes(notes), &[], false, Some(4 * BEAT))
}

/// The chords in force at each beat of `beats`, as symbols ("-" for none).
fn chords_at(cond: &Conditioning, beats: std::ops::Range<i64>) -> Vec<String> {
    beats
        .map(|b| match cond.chord_at(b * BEAT) {
            Some(Some(c)) => c.to_string(),
            _ => "-".to_string(),
        })
        .collect()
}

/// A bar of each chord broken upwards, one note every `step` beats, each released before the next.
fn broken(chords: &[&[u8]], step: f64) -> Vec<(f64, f64, u8)> {
    let mut out = Vec::new();
    for (bar, tones) in chords.iter().enumerate() {
        let n = (4.0 / step) as usize;
        for i in 0..n {
            let octave = (i / tones.len()) as u8 * 12;
            out.push((
                bar as f64 * 4.0 + i as f64 * step,
                step * 0.9,
                tones[i % tones.len()] + octave,
            ));
        }
    }
    out
}

#[test]
fn block_chords_are_named_where_they_are_struck() {
    let cond = follow(&[
        (0.0, 3.9, 48),
        (0.0, 3.9, 52),
        (0.0, 3.9, 55),
        (4.0, 3.9, 53),
        (4.0, 3.9, 57),
        (4.0, 3.9, 60),
    ]);
    assert_eq!(chords_at(&cond, 0..8), ["C", "C", "C", "C", "F", "F", "F", "F"]);
}

#[test]
fn a_broken_chord_is_named_from_its_second_tone_or_its_bass_on_the_downbeat() {
    // C, Am, F, G broken in quarter notes (root, third, fifth, octave), no two keys held at once.
    let notes = broken(&[&[48, 52, 55], &[45, 48, 52], &[41, 45, 48], &[43, 47, 50]], 1.0);
    let at = chords_at(&follow(&notes), 0..16);
    // Each chord from its second tone on (a third names its triad), Am, F and G from their
    // downbeat: a bass note leaping below the bar before (or below all of it but its own bass,
    // within a sixth of it: G after F's bar), outside its chord, is a new root, and the tones
    // heard before it say which triad (A under C E G: Am).
    assert_eq!(
        at,
        [
            "-", "C", "C", "C", "Am", "Am", "Am", "Am", "F", "F", "F", "F", "G", "G", "G", "G"
        ]
    );
    // In eighth notes, the same.
    let notes = broken(&[&[48, 52, 55], &[45, 48, 52], &[41, 45, 48], &[43, 47, 50]], 0.5);
    let at = chords_at(&follow(&notes), 0..16);
    for (bar, name) in ["C", "Am", "F", "G"].iter().enumerate() {
        assert_eq!(at[bar * 4 + 1..bar * 4 + 4], [*name; 3], "{at:?}");
    }
    // A melody note on the downbeat, below the figure of the bar before but an octave above
    // its bass, is not a bass note.
    let mut notes = vec![(0.0, 3.9, 36)];
    notes.extend([(1.0, 0.9, 64), (2.0, 0.9, 67), (3.0, 0.9, 72), (4.0, 0.9, 62)]);
    assert_eq!(chords_at(&follow(&notes), 4..5), ["C"]);
    // Without a bar grid a bass note alone names nothing: Am from its second tone.
    let played = as_notes(&broken(&[&[48, 52, 55], &[45, 48, 52]], 1.0));
    let at = chords_at(&InputFollower::follow_part(&played, &[], false, None), 0..8);
    assert_eq!(at, ["-", "C", "C", "C", "C", "Am", "Am", "Am"]);
}

#[test]
fn a_broken_chord_grows_and_a_new_one_does_not_take_the_old_ones_tones() {
    // Dm7 G7 Cmaj7 A7 broken upwards (root, third, fifth, seventh): the triad from the second
    // tone or the bass note, its seventh when the seventh sounds; never the chord the new bar's
    // first tones make with the bar before (G under D F A C had named Am7). The bass A under
    // C E G B is first heard as Am, then as A once its C# sounds. C leaping down to its bar
    // line, within a sixth above G7's G (though above its B), is a bass note there.
    let notes = broken(
        &[
            &[50, 53, 57, 60],
            &[43, 47, 50, 53],
            &[48, 52, 55, 59],
            &[45, 49, 52, 55],
        ],
        1.0,
    );
    let at = chords_at(&follow(&notes), 0..16);
    assert_eq!(
        at,
        [
            "-", "Dm", "Dm", "Dm7", "G", "G", "G", "G7", "C", "C", "C", "Cmaj7", "Am", "A", "A", "A7"
        ]
    );
    // Power chords struck together: each names its own root (E5 after C5 had named Cmaj7).
    let mut notes = Vec::new();
    for (bar, root) in [48u8, 40, 43, 45].iter().enumerate() {
        for p in [root, &(root + 7), &(root + 12)] {
            notes.push((bar as f64 * 4.0, 3.9, *p));
        }
    }
    let at = chords_at(&follow(&notes), 0..16);
    let bars: Vec<&str> = at.iter().step_by(4).map(String::as_str).collect();
    assert_eq!(bars, ["C", "E", "G", "A"], "{at:?}");
}

#[test]
fn a_scale_names_no_chord_and_a_melody_keeps_the_chord_held_before() {
    // C major scale in eighths from C3, below a tune's register: no three neighbouring notes
    // make a chord.
    let scale: Vec<(f64, f64, u8)> = [48, 50, 52, 53, 55, 57, 59, 60]
        .iter()
        .enumerate()
        .map(|(i, &p)| (i as f64 * 0.5, 0.45, p))
        .collect();
    let cond = follow(&scale);
    assert!(cond.chords.is_empty(), "{:?}", cond.chords);
    // An octave up it is a tune played alone, heard as lead sheets harmonise it: chords of C
    // major, from its second note.
    let up: Vec<(f64, f64, u8)> = scale.iter().map(|&(t, d, p)| (t, d, p + 12)).collect();
    let cond = follow(&up);
    assert_eq!(cond.chords.keys().next(), Some(&(BEAT / 2)), "{:?}", cond.chords);
    let diatonic =
        |c: &Option<Chord>| c.is_some_and(|c| c.pitch_classes().all(|pc| [0, 2, 4, 5, 7, 9, 11].contains(&pc)));
    assert!(cond.chords.values().all(diatonic), "{:?}", cond.chords);
    // G7 held for a bar, then a line through its tones and passing notes: still G7.
    let mut notes = vec![(0.0, 3.9, 43), (0.0, 3.9, 47), (0.0, 3.9, 50), (0.0, 3.9, 53)];
    notes.extend([
        (4.0, 0.45, 71),
        (4.5, 0.45, 72),
        (5.0, 0.45, 74),
        (5.5, 0.45, 72),
        (6.0, 0.9, 71),
    ]);
    let cond = follow(&notes);
    assert_eq!(chords_at(&cond, 0..8), ["G7"; 8]);
}

#[test]
fn two_tones_of_the_chord_in_force_leave_it_and_two_others_change_it() {
    let c = [(0.0, 3.9, 48), (0.0, 3.9, 52), (0.0, 3.9, 55)];
    // A legato line of chord tones: E and G overlapping.
    let mut notes = c.to_vec();
    notes.extend([(4.0, 1.2, 64), (5.0, 1.0, 67)]);
    assert_eq!(chords_at(&follow(&notes), 0..8), ["C"; 8]);
    // A shell voicing outside it (B and F, the tritone of G7): a chord change.
    let mut notes = c.to_vec();
    notes.extend([(4.0, 3.9, 53), (4.0, 3.9, 59)]);
    let cond = follow(&notes);
    assert_eq!(chords_at(&cond, 0..4), ["C"; 4]);
    assert_ne!(cond.chord_at(4 * BEAT), Some(chord("C")));
}

#[test]
fn notes_under_the_sustain_pedal_sound_until_it_lifts() {
    let mut f = InputFollower::default();
    let mut cond = Conditioning::default();
    let play = |f: &mut InputFollower, cond: &mut Conditioning, tick: i64, pitch: u8| {
        f.press(pitch);
        let e = f.note_on(cond, tick, pitch, false);
        f.release(pitch);
        e
    };
    // The pedal down, then F, A, C and F struck quickly (a broken chord that sounds as a block)...
    f.set_pedal(true);
    play(&mut f, &mut cond, 0, 41);
    play(&mut f, &mut cond, 1, 57);
    play(&mut f, &mut cond, 2, 60);
    assert_eq!(cond.chord_at(2), Some(chord("F")));
    // ...then a melody D over it: F6 under the pedal (D sounds with F, A and C).
    play(&mut f, &mut cond, 3 * BEAT, 62);
    assert_eq!(cond.chord_at(3 * BEAT), Some(chord("F6")));
    // The pedal lifts: the same D alone names nothing new, so the chord stays.
    f.set_pedal(false);
    assert_eq!(f.sounding().count(), 0);
    let e = play(&mut f, &mut cond, 5 * BEAT, 62);
    assert!(!e.changed);
}

#[test]
fn onsets_are_forgotten_when_the_timeline_jumps() {
    let mut f = InputFollower::default();
    let mut cond = Conditioning::default();
    for (tick, pitch) in [(0, 48), (BEAT, 52)] {
        f.press(pitch);
        f.note_on(&mut cond, tick, pitch, false);
        f.release(pitch);
    }
    assert_eq!(cond.chord_at(BEAT), Some(chord("C")));
    // A, C and E would be Am: forgotten, the A alone names nothing.
    f.forget_onsets();
    f.press(57);
    f.note_on(&mut cond, 2 * BEAT, 57, false);
    assert_eq!(cond.chords.len(), 1, "{:?}", cond.chords);
    // Onsets after the note-on (a loop went back) are not part of its broken chord.
    let mut f = InputFollower::default();
    let mut cond = Conditioning::default();
    for (tick, pitch) in [(8 * BEAT, 48), (9 * BEAT, 52), (BEAT, 55)] {
        f.press(pitch);
        f.note_on(&mut cond, tick, pitch, false);
        f.release(pitch);
    }
    assert_eq!(cond.chord_at(BEAT), None, "{:?}", cond.chords);
}

#[test]
fn a_part_played_with_the_pedal_is_heard_as_it_sounds() {
    use crate::midi::PedalChange;
    // A low root, then a third and a fifth an octave up, each short: C, then G7 (its root, its
    // third and its seventh), the pedal down from the start and changed on the bar line.
    let notes = as_notes(
        &[(0.0, 48), (1.0, 64), (2.0, 67), (4.0, 43), (5.0, 59), (6.0, 65)].map(|(start, pitch)| (start, 0.25, pitch)),
    );
    let pedal = [
        PedalChange { beat: 0.0, down: true },
        PedalChange { beat: 4.0, down: false },
        PedalChange { beat: 4.0, down: true },
    ];
    // Under the pedal, C and E sound together from the second beat, G and B from the sixth
    // (the pedal changed: the bar before is not heard).
    let cond = InputFollower::follow_part(&notes, &pedal, false, Some(4 * BEAT));
    assert_eq!(chords_at(&cond, 0..8), ["-", "C", "C", "C", "C", "G", "G7", "G7"]);
    // Without the pedal: a broken chord, named from its second tone, G's from the bar line.
    let cond = InputFollower::follow_part(&notes, &[], false, Some(4 * BEAT));
    assert_eq!(chords_at(&cond, 0..8), ["-", "C", "C", "C", "C", "G", "G7", "G7"]);
}

#[test]
fn a_power_chord_names_its_root() {
    // D5 either way up, alone: D. Over D minor held before: still D minor.
    for pair in [[38u8, 45], [45, 50]] {
        let notes: Vec<(f64, f64, u8)> = pair.iter().map(|&p| (0.0, 4.0, p)).collect();
        assert_eq!(chords_at(&follow(&notes), 0..1), ["D"], "{pair:?}");
    }
    let notes = [
        (0.0, 3.9, 50),
        (0.0, 3.9, 53),
        (0.0, 3.9, 57),
        (4.0, 3.9, 38),
        (4.0, 3.9, 45),
    ];
    assert_eq!(chords_at(&follow(&notes), 0..8), ["Dm"; 8]);
}

#[test]
fn a_walking_bass_names_its_chords_where_it_leaps_through_them() {
    // Root, third, fifth and a chromatic step into the next root, in quarter notes: C, Am, F, G.
    let line = [36u8, 40, 43, 44, 45, 48, 52, 42, 41, 45, 48, 44, 43, 47, 50, 37];
    let notes: Vec<(f64, f64, u8)> = line.iter().enumerate().map(|(i, &p)| (i as f64, 0.9, p)).collect();
    let cond = follow(&notes);
    let at = chords_at(&cond, 0..16);
    for (bar, name) in ["C", "Am", "F", "G"].iter().enumerate() {
        assert_eq!(at[bar * 4 + 2..bar * 4 + 4], [*name; 2], "{at:?}");
    }
    // The approach notes name nothing (they had named Am(maj7), F#m7b5 and Abmaj7).
    let named: Vec<String> = cond.chords.values().map(|c| c.unwrap().to_string()).collect();
    assert_eq!(named, ["C", "Am", "F", "G"]);
}

#[test]
fn a_rootless_dominant_voicing_names_the_dominant() {
    // G13 without its root, both ways up (F A B E, B E F A): G7, where the chord the notes make
    // alone was Fmaj7 with a foreign B, or B7sus4.
    for voicing in [[53u8, 57, 59, 64], [47, 52, 53, 57]] {
        let notes: Vec<(f64, f64, u8)> = voicing.iter().map(|&p| (0.0, 3.9, p)).collect();
        assert_eq!(chords_at(&follow(&notes), 0..1), ["G7"], "{voicing:?}");
    }
    // With a flat ninth (B F Ab E): as G7 or as Db7 it has one altered tension; the one whose
    // third is the lowest note, G7.
    let notes = [(0.0, 3.9, 47), (0.0, 3.9, 53), (0.0, 3.9, 56), (0.0, 3.9, 64)];
    assert_eq!(chords_at(&follow(&notes), 0..1), ["G7"]);
    // A rootless voicing that is another chord's notes whole keeps that chord's name (Dm9's
    // F A C E is Fmaj7), and a triad with a foreign melody note stays the triad.
    let notes = [(0.0, 3.9, 53), (0.0, 3.9, 57), (0.0, 3.9, 60), (0.0, 3.9, 64)];
    assert_eq!(chords_at(&follow(&notes), 0..1), ["Fmaj7"]);
    let notes = [(0.0, 3.9, 48), (0.0, 3.9, 52), (0.0, 3.9, 55), (1.0, 0.9, 66)];
    assert_eq!(chords_at(&follow(&notes), 0..2), ["C", "C"]);
    // The guide tones alone (B and F) name the diminished triad both their dominants hold.
    let notes = [(0.0, 3.9, 47), (0.0, 3.9, 53)];
    assert_eq!(chords_at(&follow(&notes), 0..1), ["Bdim"]);
}

/// Each voicing (pitches) held a bar, the chords named on each bar's first beat.
fn bars_of(voicings: &[&[u8]]) -> Vec<String> {
    let notes: Vec<(f64, f64, u8)> = voicings
        .iter()
        .enumerate()
        .flat_map(|(bar, v)| v.iter().map(move |&p| (bar as f64 * 4.0, 3.9, p)))
        .collect();
    let at = chords_at(&follow(&notes), 0..voicings.len() as i64 * 4);
    at.into_iter().step_by(4).collect()
}

#[test]
fn shells_and_rootless_voicings_are_heard_in_the_progression() {
    // Dm7 G7 Cmaj7 A7 Dm7 as guide tones (the third and the seventh): the first as its notes name
    // it (F C: F), then each where the progression goes (a fourth up from the chord before or from
    // what it may have been, else in its scale).
    let guide: [&[u8]; 5] = [&[53, 60], &[53, 59], &[52, 59], &[55, 61], &[53, 60]];
    assert_eq!(bars_of(&guide), ["F", "G7", "Cmaj7", "A7", "Dm7"]);
    // Rootless (F A C E, F A B E, E G B D, G B C# F#, F A C E): Dm9 and Cmaj9 after their
    // dominants (the first Dm9 has none: Fmaj7).
    let rootless: [&[u8]; 5] = [
        &[53, 57, 60, 64],
        &[53, 57, 59, 64],
        &[52, 55, 59, 62],
        &[55, 59, 61, 66],
        &[53, 57, 60, 64],
    ];
    assert_eq!(bars_of(&rootless), ["Fmaj7", "G7", "Cmaj7", "A7", "Dm7"]);
    // Power chords and a pop progression keep the chords their notes name: E5 G5 A5 C5, E5 A5 D5
    // G5, and Am then Fmaj7; a fifth after a dominant a fifth above it is its triad (G7, C5: C).
    let power = |roots: &[u8]| -> Vec<Vec<u8>> { roots.iter().map(|&r| vec![r, r + 7, r + 12]).collect() };
    for (roots, names) in [
        ([40u8, 43, 45, 48], ["E", "G", "A", "C"]),
        ([40, 45, 38, 43], ["E", "A", "D", "G"]),
    ] {
        let v = power(&roots);
        let v: Vec<&[u8]> = v.iter().map(Vec::as_slice).collect();
        assert_eq!(bars_of(&v), names);
    }
    assert_eq!(bars_of(&[&[45, 48, 52], &[53, 57, 60, 64]]), ["Am", "Fmaj7"]);
    assert_eq!(bars_of(&[&[43, 47, 50, 53], &[48, 55, 60]]), ["G7", "C"]);
}

#[test]
fn a_new_bass_note_is_heard_across_the_pedals_change() {
    use crate::midi::PedalChange;
    // C then Am broken upwards in eighths (root, third, fifth and their octaves), the pedal
    // changed on the bar line: the low A on the downbeat is a new bass note against the C before,
    // though lifting the pedal ended C's broken chord.
    let notes = as_notes(&broken(&[&[48, 52, 55], &[45, 48, 52]], 0.5));
    let pedal = [
        PedalChange { beat: 0.0, down: true },
        PedalChange { beat: 4.0, down: false },
        PedalChange { beat: 4.01, down: true },
    ];
    let cond = InputFollower::follow_part(&notes, &pedal, false, Some(4 * BEAT));
    assert_eq!(chords_at(&cond, 4..8), ["Am"; 4]);
    // Without a bar grid the A alone names nothing: C until its second tone.
    let cond = InputFollower::follow_part(&notes, &pedal, false, None);
    assert_eq!(cond.chord_at(4 * BEAT), Some(chord("C")));
}

/// Whatever a host sends (ticks far apart, backwards, at the ends of the range, a bar grid of any
/// size, the pedal at any time), following never panics.
#[test]
fn following_anything_never_panics() {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let ticks = [
        i64::MIN,
        i64::MIN + 1,
        -1_000_000,
        -1,
        0,
        1,
        479,
        480,
        1920,
        1_000_000,
        i64::MAX - 1,
        i64::MAX,
    ];
    for round in 0..20 {
        let mut f = InputFollower::default();
        let mut cond = Conditioning::default();
        if round % 2 == 0 {
            f.set_bars(ticks[round % ticks.len()], [0, 1, 1920, i64::MAX][round % 4]);
        }
        let mut tick = 0i64;
        for _ in 0..400 {
            let r = next();
            tick = match r % 5 {
                0 => ticks[(r >> 8) as usize % ticks.len()],
                1 => tick.saturating_sub((r >> 8) as i64 % 3000),
                _ => tick.saturating_add((r >> 8) as i64 % 1000),
            };
            let pitch = (r >> 20) as u8;
            match (r >> 32) % 4 {
                0 => f.release(pitch),
                1 => f.set_pedal((r >> 40) % 2 == 0),
                _ => {
                    f.press(pitch);
                    f.note_on(&mut cond, tick, pitch, true);
                }
            }
        }
    }
}

/// The melody of scripts/played-chords.py over C Am F G C Am Dm7 G7 (its first eight bars):
/// (start beat, length, pitch).
fn a_tune() -> Vec<(f64, f64, u8)> {
    let bars: [&[(u8, f64)]; 8] = [
        &[(64, 1.0), (67, 1.0), (72, 1.5), (71, 0.5)],
        &[(69, 2.0), (72, 1.0), (0, 1.0)],
        &[(65, 1.0), (69, 1.0), (72, 1.0), (69, 1.0)],
        &[(67, 3.0), (0, 1.0)],
        &[(64, 0.5), (65, 0.5), (67, 1.0), (72, 1.0), (67, 1.0)],
        &[(69, 1.0), (64, 1.0), (60, 2.0)],
        &[(62, 1.0), (65, 1.0), (69, 1.0), (67, 1.0)],
        &[(67, 2.0), (65, 1.0), (62, 1.0)],
    ];
    let mut notes = Vec::new();
    let mut t = 0.0;
    for bar in bars {
        for &(p, len) in bar {
            if p > 0 {
                notes.push((t, len - 0.05, p));
            }
            t += len;
        }
    }
    notes
}

#[test]
fn a_tune_played_alone_is_harmonised_as_lead_sheets_harmonise_it() {
    let played = as_notes(&a_tune());
    let cond = InputFollower::follow_part(&played, &[], false, Some(4 * BEAT));
    // Each bar's chord, on its third beat.
    let named: Vec<String> = (0..8)
        .map(|bar| chords_at(&cond, bar * 4 + 2..bar * 4 + 3)[0].clone())
        .collect();
    // Written C Am F G C Am Dm7 G7: the tune's notes say F over bar 2 (A and C), and C over the
    // held G of bar 4, as a player may harmonise them; the rest as written.
    assert_eq!(named, ["C", "F", "F", "C", "C", "C", "Dm", "G7"], "{:?}", cond.chords);
    // By its onsets, as any line, the same tune had named fewer of the written roots.
    let mut f = InputFollower::default();
    f.set_tune_table(None);
    let by_onsets = f.follow(&played, &[], false, Some(4 * BEAT));
    let written = ["C", "A", "F", "G", "C", "A", "D", "G"];
    let right = |c: &Conditioning| {
        (0..8 * 8)
            .filter(|e| {
                let at = c.chord_at(e * BEAT / 2).flatten();
                at.is_some_and(|a| Chord::parse(written[(e / 8) as usize]).unwrap().unwrap().root == a.root)
            })
            .count()
    };
    assert!(
        right(&cond) >= right(&by_onsets) + 4,
        "{} against {}",
        right(&cond),
        right(&by_onsets)
    );
    // Without a bar grid a tune is followed by its onsets.
    let no_grid = InputFollower::follow_part(&played, &[], false, None);
    let mut f = InputFollower::default();
    f.set_tune_table(None);
    assert_eq!(no_grid, f.follow(&played, &[], false, None));
}

#[test]
fn an_arpeggio_in_the_treble_is_a_broken_chord_not_a_tune() {
    // C Am F G C Am Dm7 G7 broken upwards in eighths, then the same two octaves up: it leaps,
    // but for a step where one figure meets the next, and is heard exactly as in the bass.
    let voicings: [&[u8]; 8] = [
        &[48, 52, 55],
        &[45, 48, 52],
        &[41, 45, 48],
        &[43, 47, 50],
        &[48, 52, 55],
        &[45, 48, 52],
        &[50, 53, 57, 60],
        &[43, 47, 50, 53],
    ];
    let figure =
        |shift: u8| -> Vec<Vec<u8>> { voicings.iter().map(|v| v.iter().map(|p| p + shift).collect()).collect() };
    let named = |shift: u8| {
        let f = figure(shift);
        let bars: Vec<&[u8]> = f.iter().map(Vec::as_slice).collect();
        chords_at(&follow(&broken(&bars, 0.5)), 0..32)
    };
    let low = named(0);
    assert_eq!(named(24), low);
    assert_eq!(low[28..], ["G", "G", "G7", "G7"]);
}

/// Each voicing struck on beat 1 and the "and" of 2 of its bar, as a pianist comps (the
/// Charleston), the progression played twice; each key `spread` beats after the one below it.
fn comped(voicings: &[&[u8]], spread: f64) -> Vec<(f64, f64, u8)> {
    let mut notes = Vec::new();
    for pass in 0..2 {
        for (i, v) in voicings.iter().enumerate() {
            let bar = (pass * voicings.len() + i) as f64 * 4.0;
            for (start, length) in [(0.0, 1.4), (1.5, 2.4)] {
                let keys = v
                    .iter()
                    .enumerate()
                    .map(|(k, &p)| (bar + start + k as f64 * spread, length, p));
                notes.extend(keys);
            }
        }
    }
    notes
}

#[test]
fn a_rootless_voicing_struck_again_keeps_its_chord() {
    // Dm9 G13 Cmaj9 A13 rootless (F A C E, F A B E, E G B D, G B C# F#), comped twice: after the
    // first bar (nothing before it: Fmaj7) every half beat hears the progression, where E G B D
    // struck again on the "and" of 2 had been Em7 and F A C E Fmaj7.
    let rootless: [&[u8]; 4] = [
        &[53, 57, 60, 64],
        &[53, 57, 59, 64],
        &[52, 55, 59, 62],
        &[55, 59, 61, 66],
    ];
    let progression = ["Dm7", "G7", "Cmaj7", "A7"];
    let cond = follow(&comped(&rootless, 0.0));
    for half in 8..64 {
        let bar = (half / 8) as usize;
        assert_eq!(
            cond.chord_at(half * BEAT / 2),
            Some(chord(progression[bar % 4])),
            "half beat {half}"
        );
    }
    // Struck as a hand strikes them, each key 0.025 beats (12 ms at 120 BPM) after the one below,
    // across two ticks: the chord changes only on the bar lines, where each voicing's first key
    // is, never where it is struck again, and each strike is one input onset.
    let notes = comped(&rootless, 0.025);
    let cond = InputFollower::follow_part(&as_notes(&notes), &[], true, Some(4 * BEAT));
    for &t in cond.chords.keys() {
        assert_eq!(t.rem_euclid(4 * BEAT), 0, "a change at tick {t}: {:?}", cond.chords);
    }
    for half in 8..64 {
        let bar = (half / 8) as usize;
        assert_eq!(
            cond.chord_at(half * BEAT / 2),
            Some(chord(progression[bar % 4])),
            "half beat {half}, spread"
        );
    }
    let strikes: Vec<i64> = (0..16).map(|s| s / 2 * 4 * BEAT + s % 2 * 3 * BEAT / 2).collect();
    assert_eq!(cond.inputs.keys().copied().collect::<Vec<_>>(), strikes);
    // Another chord's voicing is not the same one struck again: Cmaj7 then Em7 (E G B D) is I
    // then iii, whose notes are Cmaj9's without its root.
    let cond = follow(&comped(&[&[48, 52, 55, 59], &[52, 55, 59, 62]], 0.0));
    assert_eq!(chords_at(&cond, 4..8), ["Em7"; 4]);
}

#[test]
fn the_root_a_voicing_leaves_out_is_added_to_the_input() {
    // The root position A7, then rootless Dm9 (F A C E) and G7's guide tones (F B), comped: each
    // strike of F A C E gets a D below it, each of F B a G, and nothing else is added.
    let voicings: [&[u8]; 3] = [&[45, 49, 52, 55], &[53, 57, 60, 64], &[53, 59]];
    let notes = comped(&voicings, 0.0);
    let cond = InputFollower::follow_part(&as_notes(&notes), &[], true, Some(4 * BEAT));
    for (i, v) in voicings.iter().enumerate() {
        for start in [0, 3 * BEAT / 2] {
            let tick = (i as i64 + 3) * 4 * BEAT + start;
            let mut want = v.to_vec();
            want.extend([None, Some(50), Some(43)][i]);
            want.sort();
            assert_eq!(cond.inputs[&tick], want, "voicing {i}, tick {tick}");
        }
    }
    // A voicing struck key by key across two ticks is one onset with its root, at its first key;
    // a melody key over it and a follower told not to write the input add nothing else.
    let mut notes = vec![(0.0, 4.0, 45), (0.0, 4.0, 49), (0.0, 4.0, 52), (0.0, 4.0, 55)];
    notes.extend([
        (4.0, 4.0, 53),
        (4.02, 4.0, 57),
        (4.04, 4.0, 60),
        (4.06, 4.0, 64),
        (6.0, 0.5, 74),
    ]);
    let cond = InputFollower::follow_part(&as_notes(&notes), &[], true, Some(4 * BEAT));
    let added: Vec<u8> = cond
        .inputs
        .values()
        .flatten()
        .copied()
        .filter(|p| !notes.iter().any(|n| n.2 == *p))
        .collect();
    assert_eq!(added, [50]);
    assert_eq!(cond.inputs[&(4 * BEAT)], [50, 53, 57, 60, 64]);
    assert_eq!(cond.chord_at(7 * BEAT), Some(chord("Dm7")));
    let cond = InputFollower::follow_part(&as_notes(&notes), &[], false, Some(4 * BEAT));
    assert!(cond.inputs.is_empty());
}

#[test]
fn both_hands_spell_the_chord_a_fourth_above() {
    // Dm9 G13 Cmaj9 A13 rootless with a key of each chord on top (D, B, C, C#), comped and spread:
    // five pitch classes (F A C E D; E G B D C) named Fmaj7 and Em7 by their lowest keys; after
    // A7 and G7 they are Dm7 and Cmaj7. The first chord has nothing before it (Fmaj7).
    let hands: [&[u8]; 4] = [
        &[53, 57, 60, 64, 74],
        &[53, 57, 59, 64, 71],
        &[52, 55, 59, 62, 72],
        &[55, 59, 61, 66, 73],
    ];
    for spread in [0.0, 0.025] {
        let cond = follow(&comped(&hands, spread));
        let bars = ["Fmaj7", "G7", "Cmaj7", "A7", "Dm7", "G7", "Cmaj7", "A7"];
        let want: Vec<&str> = bars.iter().flat_map(|&c| [c; 4]).collect();
        assert_eq!(chords_at(&cond, 0..32), want, "spread {spread}");
    }
    // A pop progression's fuller voicing a fourth up keeps its own name: C, then F A C E G (Fmaj9).
    assert_eq!(bars_of(&[&[48, 52, 55], &[53, 57, 60, 64, 67]]), ["C", "Fmaj7"]);
}
