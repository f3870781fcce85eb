//! Time, ties, tuplets, voices, staves, grace notes, transposition, meter, dynamics, tempo,
//! roles and metadata.

use super::*;
use crate::music::{Meter, MeterChange, Role, TempoChange};
use crate::musicxml::{DEFAULT_VELOCITY, GRACE_BEATS, ScoreInfo};

#[test]
fn notes_rests_chords_and_divisions() {
    // Divisions 2: a quarter, an eighth rest, an eighth, a half-note chord.
    let xml = melody(vec![format!(
        "{}{}{}{}{}{}",
        attrs(2, 4, 4),
        n("C4", 2),
        rest(1),
        n("D4", 1),
        n("E4", 4),
        chord("G4", 4)
    )]);
    let p = read(&xml);
    assert_eq!(p.tracks.len(), 1);
    assert_notes(
        &p.tracks[0].notes,
        &[mf(0.0, 1.0, 60), mf(1.5, 0.5, 62), mf(2.0, 2.0, 64), mf(2.0, 2.0, 67)],
    );
    assert_eq!(p.meter, Meter::constant(4, 4));
    assert!(p.tempo_map.is_empty());
    assert!(p.chords.is_empty());
}

#[test]
fn ties_join_notes_across_and_within_bars() {
    let xml = melody(vec![
        format!(
            "{}{}{}{}",
            attrs(1, 4, 4),
            n("C4", 1),
            nx("E4", 1, "<tie type=\"start\"/>"),
            nx("E4", 2, "<tie type=\"stop\"/><tie type=\"start\"/>")
        ),
        // Only the notation (`<tied>`), as some exporters write it.
        format!(
            "{}{}{}",
            nx("E4", 1, "<notations><tied type=\"stop\"/></notations>"),
            nx("E4", 1, ""),
            nx("G4", 2, "<tie type=\"stop\"/>")
        ),
    ]);
    let p = read(&xml);
    // The tie-stop G4 has no tie to end: it is a note of its own.
    assert_notes(
        &p.tracks[0].notes,
        &[mf(0.0, 1.0, 60), mf(1.0, 4.0, 64), mf(5.0, 1.0, 64), mf(6.0, 2.0, 67)],
    );
}

#[test]
fn tuplets_take_their_durations() {
    let tm = "<time-modification><actual-notes>3</actual-notes><normal-notes>2</normal-notes></time-modification>";
    let xml = melody(vec![format!(
        "{}{}{}{}{}",
        attrs(3, 2, 4),
        nx("C4", 1, tm),
        nx("D4", 1, tm),
        nx("E4", 1, tm),
        n("F4", 3)
    )]);
    let p = read(&xml);
    let third = 1.0 / 3.0;
    assert_notes(
        &p.tracks[0].notes,
        &[
            mf(0.0, third, 60),
            mf(third, third, 62),
            mf(2.0 * third, third, 64),
            mf(1.0, 1.0, 65),
        ],
    );
    assert_eq!(p.meter, Meter::constant(2, 4));
}

#[test]
fn backup_and_forward_with_two_voices() {
    // Voice 1: two halves. Voice 2: a quarter's gap (forward), then a quarter and a half.
    let xml = melody(vec![format!(
        "{}{}{}{}{}{}{}",
        attrs(1, 4, 4),
        nx("E5", 2, "<voice>1</voice>"),
        nx("D5", 2, "<voice>1</voice>"),
        mv("backup", 4),
        mv("forward", 1),
        nx("C4", 1, "<voice>2</voice>"),
        nx("G3", 2, "<voice>2</voice>")
    )]);
    let p = read(&xml);
    assert_notes(
        &p.tracks[0].notes,
        &[mf(0.0, 2.0, 76), mf(1.0, 1.0, 60), mf(2.0, 2.0, 55), mf(2.0, 2.0, 74)],
    );
    assert_eq!(p.end_beat(), 4.0);
}

#[test]
fn two_staves_of_one_piano_part_are_one_piano_track_and_a_voice_part_is_a_lead() {
    let voice = "<part-name>Singstimme</part-name><score-instrument id=\"P1-I1\"><instrument-name>Voice</instrument-name>\
                 <instrument-sound>voice.vocals</instrument-sound></score-instrument>";
    let piano = "<part-name>Piano</part-name><midi-instrument id=\"P2-I1\"><midi-channel>2</midi-channel>\
                 <midi-program>1</midi-program></midi-instrument>";
    let staves = "<attributes><divisions>1</divisions><time><beats>2</beats><beat-type>4</beat-type></time>\
                  <staves>2</staves></attributes>";
    let xml = score(&[
        ("", vec![]),
        (voice, vec![format!("{}{}", attrs(1, 2, 4), n("G4", 2))]),
        (
            piano,
            vec![format!(
                "{staves}{}{}{}{}{}",
                nx("E4", 1, "<staff>1</staff>"),
                nx("G4", 1, "<staff>1</staff>"),
                mv("backup", 2),
                nx("C3", 2, "<staff>2</staff>"),
                chord("G3", 2)
            )],
        ),
    ]);
    let p = read(&xml);
    // The first part has no measures and so no track.
    assert_eq!(p.tracks.len(), 2);
    let (v, pf) = (&p.tracks[0], &p.tracks[1]);
    assert_eq!((v.role, v.name.as_str()), (Role::Lead, "Singstimme"));
    assert_eq!(
        (pf.role, pf.name.as_str(), pf.channel, pf.program),
        (Role::Piano, "Piano", 1, Some(0))
    );
    assert_notes(
        &pf.notes,
        &[mf(0.0, 2.0, 48), mf(0.0, 2.0, 55), mf(0.0, 1.0, 64), mf(1.0, 1.0, 67)],
    );
}

#[test]
fn grace_notes_are_short_and_before_the_beat() {
    let xml = melody(vec![
        format!(
            "{}{}{}{}{}{}",
            attrs(1, 2, 4),
            // A grace note before the first beat of the piece is played on it.
            grace("B4", false),
            n("C5", 1),
            grace("D5", false),
            grace("F5", false),
            grace("A5", true)
        ) + &n("E5", 1),
        // A grace note at the end of a bar ends on the next bar line.
        format!("{}{}", n("C5", 2), grace("D5", false)),
    ]);
    let p = read(&xml);
    let g = GRACE_BEATS;
    assert_notes(
        &p.tracks[0].notes,
        &[
            mf(0.0, g, 71),
            mf(0.0, 1.0, 72),
            mf(1.0 - 2.0 * g, g, 74),
            mf(1.0 - g, g, 77),
            mf(1.0 - g, g, 81),
            mf(1.0, 1.0, 76),
            mf(2.0, 2.0, 72),
            mf(4.0 - g, g, 74),
        ],
    );
}

#[test]
fn transposing_instruments_sound_at_concert_pitch() {
    // A B-flat clarinet (a major second down) and a tenor saxophone (a major ninth down).
    let clarinet = "<part-name>Clarinet in Bb</part-name>";
    let sax = "<part-name>Tenor Saxophone</part-name>";
    let transpose = |chromatic: i32, octave: i32| {
        format!(
            "<attributes><divisions>1</divisions><time><beats>4</beats><beat-type>4</beat-type></time>\
             <transpose><diatonic>-1</diatonic><chromatic>{chromatic}</chromatic><octave-change>{octave}</octave-change></transpose></attributes>"
        )
    };
    let harmony = "<harmony><root><root-step>D</root-step></root><kind>dominant</kind></harmony>";
    let xml = score(&[
        (clarinet, vec![format!("{}{harmony}{}", transpose(-2, 0), n("D5", 4))]),
        (sax, vec![format!("{}{}", transpose(-2, -1), n("D5", 4))]),
    ]);
    let p = read(&xml);
    assert_notes(&p.tracks[0].notes, &[mf(0.0, 4.0, 72)]);
    assert_notes(&p.tracks[1].notes, &[mf(0.0, 4.0, 60)]);
    // The written D7 of the clarinet part sounds as C7.
    assert_eq!(p.chords.len(), 1);
    assert_eq!(p.chords[0].chord.unwrap().to_string(), "C7");
}

#[test]
fn key_and_meter_changes() {
    let key = |fifths: i32| format!("<attributes><key><fifths>{fifths}</fifths></key></attributes>");
    let xml = melody(vec![
        format!("{}{}{}", attrs(2, 4, 4), key(0), n("C4", 8)),
        // D major and 3/4: the key signature does not change written pitches; `<alter>` does.
        format!(
            "<attributes><key><fifths>2</fifths></key><time><beats>3</beats><beat-type>4</beat-type></time></attributes>{}{}",
            n("F#4", 4),
            n("C#5", 2)
        ),
        format!("{}{}", attrs(2, 6, 8), n("Bb3", 6)),
    ]);
    let p = read(&xml);
    assert_notes(
        &p.tracks[0].notes,
        &[mf(0.0, 4.0, 60), mf(4.0, 2.0, 66), mf(6.0, 1.0, 73), mf(7.0, 3.0, 58)],
    );
    let mc = |bar, numerator, denominator| MeterChange {
        bar,
        numerator,
        denominator,
    };
    assert_eq!(p.meter.changes(), &[mc(0, 4, 4), mc(1, 3, 4), mc(2, 6, 8)]);
}

#[test]
fn pickups_odd_lengths_and_cadenzas_get_bars_of_their_own() {
    let xml = melody(vec![
        format!("{}{}", attrs(2, 3, 4), n("G4", 2)),
        format!("{}{}", n("C5", 4), n("E5", 2)),
        // An empty measure lasts its time signature.
        String::new(),
        n("D5", 4),
        // An odd length no signature expresses is padded to the next sixteenth.
        format!("<attributes><divisions>6</divisions></attributes>{}", n("C5", 7)),
        // A cadenza of eight and a half beats: two bars of 3/4 and one of 5/8.
        n("C5", 51),
    ]);
    let file = read_all(&xml);
    let p = file.piece;
    assert_notes(
        &p.tracks[0].notes,
        &[
            mf(0.0, 1.0, 67),
            mf(1.0, 2.0, 72),
            mf(3.0, 1.0, 76),
            mf(7.0, 2.0, 74),
            mf(9.0, 7.0 / 6.0, 72),
            mf(10.25, 8.5, 72),
        ],
    );
    let changes: Vec<(u32, u8, u8)> = p
        .meter
        .changes()
        .iter()
        .map(|c| (c.bar, c.numerator, c.denominator))
        .collect();
    assert_eq!(
        changes,
        vec![(0, 1, 4), (1, 3, 4), (3, 2, 4), (4, 5, 16), (5, 3, 4), (7, 5, 8)]
    );
    assert_eq!(file.report.padded_measures, 1);
    assert!(file.report.warning().unwrap().contains("1 measures padded"));
}

#[test]
fn dynamics_set_velocity() {
    let dir = |marks: &str, sound: &str| {
        format!("<direction><direction-type><dynamics>{marks}</dynamics></direction-type>{sound}</direction>")
    };
    let xml = melody(vec![
        format!(
            "{}{}{}{}{}",
            attrs(1, 4, 4),
            n("C4", 1),
            dir("<p/>", ""),
            n("D4", 1),
            dir("<sfz/>", "<sound dynamics=\"120\"/>")
        ) + &n("E4", 1)
            + &nx("F4", 1, "").replacen("<note>", "<note dynamics=\"50\">", 1),
        format!(
            "{}{}{}{}",
            dir("<f/>", "<sound dynamics=\"100\"/>"),
            n("G4", 1),
            dir("<fp/>", ""),
            n("A4", 1)
        ) + &n("B4", 2),
    ]);
    let p = read(&xml);
    assert_notes(
        &p.tracks[0].notes,
        &[
            (0.0, 1.0, 60, DEFAULT_VELOCITY),
            (1.0, 1.0, 62, 49),
            // sfz accents its note only; the level stays p.
            (2.0, 1.0, 64, 112),
            // The note's own dynamics attribute: 50 % of forte (90).
            (3.0, 1.0, 65, 45),
            // <sound dynamics="100"> is forte, 90.
            (4.0, 1.0, 67, 90),
            // fp: forte on its note, piano after.
            (5.0, 1.0, 69, 96),
            (6.0, 2.0, 71, 49),
        ],
    );
}

#[test]
fn tempo_from_sound_and_metronome_marks() {
    let metronome = "<direction><direction-type><metronome><beat-unit>quarter</beat-unit><beat-unit-dot/>\
                     <per-minute>c. 80</per-minute></metronome></direction-type></direction>";
    let xml = melody(vec![
        format!(
            "{}{}<direction><direction-type><words>Andante</words></direction-type><sound tempo=\"72\"/></direction>{}",
            attrs(1, 2, 4),
            n("C4", 1),
            n("D4", 1)
        ),
        format!("{metronome}{}", n("E4", 2)),
        // The same tempo again is no change.
        format!("<sound tempo=\"120\"/>{}", n("F4", 2)),
    ]);
    let p = read(&xml);
    // The first tempo, inside the first bar, counts from beat 0.
    assert_eq!(
        p.tempo_map,
        vec![
            TempoChange { beat: 0.0, bpm: 72.0 },
            TempoChange { beat: 2.0, bpm: 120.0 }
        ]
    );
    // Without any tempo mark: no tempo map (120 BPM).
    assert!(read(&melody(vec![n("C4", 4)])).tempo_map.is_empty());
}

#[test]
fn metadata_is_read() {
    let head = "<work><work-number>Op. 9</work-number><work-title>Six   Songs</work-title></work>\
                <movement-title>The\n  Lark</movement-title><identification>\
                <creator type=\"composer\">Clara Schumann</creator><creator type=\"lyricist\">Anon.</creator>\
                <encoding><encoding-date>2020-01-01</encoding-date></encoding>\
                <miscellaneous><miscellaneous-field name=\"date\">1853</miscellaneous-field></miscellaneous>\
                </identification>";
    let file = read_all(&score_with(head, &[("<part-name>Voice</part-name>", vec![n("C4", 4)])]));
    assert_eq!(
        file.info,
        ScoreInfo {
            work_title: Some("Six Songs".into()),
            work_number: Some("Op. 9".into()),
            movement_title: Some("The Lark".into()),
            composer: Some("Clara Schumann".into()),
            lyricist: Some("Anon.".into()),
            date: Some("1853".into()),
        }
    );
    assert_eq!(file.info.title(), Some("The Lark"));
    // A composer credit when there is no creator.
    let credit = "<credit page=\"1\"><credit-type>composer</credit-type><credit-words>E. Satie</credit-words></credit>";
    let file = read_all(&score_with(credit, &[("", vec![n("C4", 4)])]));
    assert_eq!(file.info.composer.as_deref(), Some("E. Satie"));
    assert_eq!(file.info.title(), None);
}

#[test]
fn timewise_scores_read_like_partwise() {
    let partwise = score(&[
        (
            "<part-name>Flute</part-name>",
            vec![format!("{}{}", attrs(1, 2, 4), n("C5", 2)), n("D5", 2)],
        ),
        (
            "<part-name>Cello</part-name>",
            vec![format!("{}{}", attrs(1, 2, 4), n("C2", 2)), n("G2", 2)],
        ),
    ]);
    let timewise = format!(
        "<score-timewise><part-list><score-part id=\"P1\"><part-name>Flute</part-name></score-part>\
         <score-part id=\"P2\"><part-name>Cello</part-name></score-part></part-list>\
         <measure number=\"1\"><part id=\"P1\">{}{}</part><part id=\"P2\">{}{}</part></measure>\
         <measure number=\"2\"><part id=\"P1\">{}</part><part id=\"P2\">{}</part></measure></score-timewise>",
        attrs(1, 2, 4),
        n("C5", 2),
        attrs(1, 2, 4),
        n("C2", 2),
        n("D5", 2),
        n("G2", 2)
    );
    assert_eq!(read(&timewise), read(&partwise));
    let p = read(&timewise);
    assert_eq!(p.tracks[0].role, Role::Lead);
    assert_eq!(p.tracks[1].role, Role::Bass);
}

#[test]
fn unpitched_percussion_is_drums_on_its_midi_keys() {
    let part = "<part-name>Drum Set</part-name>\
                <score-instrument id=\"P1-I36\"><instrument-name>Kick</instrument-name></score-instrument>\
                <score-instrument id=\"P1-I39\"><instrument-name>Snare</instrument-name></score-instrument>\
                <midi-instrument id=\"P1-I36\"><midi-channel>10</midi-channel><midi-unpitched>37</midi-unpitched></midi-instrument>\
                <midi-instrument id=\"P1-I39\"><midi-channel>10</midi-channel><midi-unpitched>39</midi-unpitched></midi-instrument>";
    let hit = |step: &str, instrument: &str| {
        format!(
            "<note><unpitched><display-step>{step}</display-step><display-octave>4</display-octave></unpitched>\
             <duration>1</duration><instrument id=\"{instrument}\"/></note>"
        )
    };
    let xml = score(&[(
        part,
        vec![format!(
            "{}{}{}",
            attrs(1, 2, 4),
            hit("F", "P1-I36"),
            hit("C", "P1-I39")
        )],
    )]);
    let p = read(&xml);
    assert_eq!((p.tracks[0].role, p.tracks[0].channel), (Role::Drums, 9));
    assert_notes(&p.tracks[0].notes, &[mf(0.0, 1.0, 36), mf(1.0, 1.0, 38)]);
}

#[test]
fn cue_notes_are_not_played_and_out_of_range_notes_are_dropped() {
    let cue = nx("A4", 1, "").replacen("<note>", "<note><cue/>", 1);
    let xml = melody(vec![format!("{}{cue}{}{}", attrs(1, 3, 4), n("C10", 1), n("C4", 1))]);
    let file = read_all(&xml);
    assert_notes(&file.piece.tracks[0].notes, &[mf(2.0, 1.0, 60)]);
    assert_eq!(file.report.out_of_range_notes, 1);
}
