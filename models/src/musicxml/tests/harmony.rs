//! `<harmony>` chord symbols: roots, kinds, bass notes and degrees reduced to the chord set.

use super::*;
use crate::chord::{Chord, ChordQuality::*};

/// A `<harmony>`: root, kind (with its `text`), and raw extra elements (bass, degrees).
fn harmony(root: &str, kind: &str, extra: &str) -> String {
    let (step, alter) = match root.len() {
        1 => (root, String::new()),
        _ => (
            &root[..1],
            format!("<root-alter>{}</root-alter>", if &root[1..] == "#" { 1 } else { -1 }),
        ),
    };
    format!("<harmony><root><root-step>{step}</root-step>{alter}</root>{kind}{extra}</harmony>")
}

fn kind(k: &str) -> String {
    format!("<kind>{k}</kind>")
}

fn degree(value: i32, alter: i32, kind: &str) -> String {
    format!(
        "<degree><degree-value>{value}</degree-value><degree-alter>{alter}</degree-alter><degree-type>{kind}</degree-type></degree>"
    )
}

/// The chords of a score of 1/4 bars, one symbol per bar (each before a quarter note).
fn chords_of(symbols: &[String]) -> (Vec<Option<Chord>>, crate::musicxml::ReadReport) {
    let measures: Vec<String> = symbols
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let head = if i == 0 { attrs(1, 1, 4) } else { String::new() };
            format!("{head}{s}{}", n("C4", 1))
        })
        .collect();
    let file = read_all(&melody(measures));
    (file.piece.chords.iter().map(|c| c.chord).collect(), file.report)
}

#[test]
fn kinds_bass_and_degrees_reduce_to_the_chord_set() {
    let c = |root, q| Some(Chord::new(root, q));
    let symbols = vec![
        harmony("C", &kind("major"), ""),
        // A slash bass is read past.
        harmony("D", &kind("minor-seventh"), "<bass><bass-step>C</bass-step></bass>"),
        // A b9 on a dominant makes it altered (as "G7b9" parses).
        harmony("G", "<kind text=\"7b9\">dominant</kind>", &degree(9, -1, "add")),
        harmony("Bb", &kind("dominant-13th"), ""),
        // An added (minor) seventh makes a triad a seventh chord; a raised one a major seventh.
        harmony("F", &kind("major"), &degree(7, 0, "add")),
        harmony("F", &kind("minor"), &degree(7, 1, "add")),
        // A raised fifth: 7#5, or an augmented triad.
        harmony("E", &kind("dominant"), &degree(5, 1, "alter")),
        harmony("A", &kind("major"), &degree(5, 1, "alter")),
        // A lowered fifth on a minor seventh is half-diminished; on a dominant, altered.
        harmony("B", &kind("minor-seventh"), &degree(5, -1, "alter")),
        harmony("C#", &kind("dominant"), &degree(5, -1, "alter")),
        // A #11 alone keeps the dominant (lydian dominant is not altered).
        harmony("D", &kind("dominant-ninth"), &degree(11, 1, "add")),
        harmony("Eb", &kind("suspended-second"), ""),
        harmony("E", &kind("half-diminished"), ""),
        harmony("F#", &kind("major-minor"), ""),
        // `other` (and unknown kinds) read the displayed text.
        harmony("G", "<kind text=\"6/9\">other</kind>", ""),
        harmony("Ab", &kind("augmented-ninth"), ""),
        // No third and an added fourth: suspended.
        harmony(
            "A",
            &kind("dominant"),
            &(degree(3, 0, "subtract") + &degree(4, 0, "add")),
        ),
    ];
    let (chords, report) = chords_of(&symbols);
    assert_eq!(
        chords,
        vec![
            c(0, Maj),
            c(2, Min7),
            c(7, Dom7Alt),
            c(10, Dom7),
            c(5, Dom7),
            c(5, MinMaj7),
            c(4, Aug7),
            c(9, Aug),
            c(11, HalfDim7),
            c(1, Dom7Alt),
            c(2, Dom7),
            c(3, Sus4),
            c(4, HalfDim7),
            c(6, MinMaj7),
            c(7, Maj6),
            c(8, Aug7),
            c(9, Dom7Sus4),
        ]
    );
    assert!(report.is_clean(), "{report:?}");
}

#[test]
fn no_chord_unknown_kinds_offsets_and_numerals() {
    let numeral = "<harmony><numeral><numeral-root text=\"V\">5</numeral-root>\
                   <numeral-key><numeral-fifths>-1</numeral-fifths><numeral-mode>minor</numeral-mode></numeral-key>\
                   </numeral><kind>dominant</kind></harmony>";
    let symbols = vec![
        harmony("C", &kind("major"), ""),
        "<harmony><kind>none</kind></harmony>".to_string(),
        harmony("G", &kind("pedal"), ""),
        // V in D minor: A7.
        numeral.to_string(),
    ];
    let (chords, report) = chords_of(&symbols);
    // Two N.C.s in a row are one change.
    assert_eq!(chords, vec![Some(Chord::new(0, Maj)), None, Some(Chord::new(9, Dom7))]);
    assert_eq!(report.unknown_harmony.get("pedal"), Some(&1));
    assert!(
        report
            .warning()
            .unwrap()
            .contains("harmony kinds read as N.C. (\"pedal\" x1)")
    );

    // `<offset>` places a symbol inside the note before it; symbols follow repeats.
    let xml = melody(vec![format!(
        "{}<barline location=\"left\"><repeat direction=\"forward\"/></barline>{}{}{}\
         <barline location=\"right\"><repeat direction=\"backward\"/></barline>",
        attrs(2, 2, 4),
        harmony("D", &kind("minor"), ""),
        n("D4", 4),
        harmony("G", &kind("dominant"), "<offset>-2</offset>"),
    )]);
    let p = read(&xml);
    let got: Vec<(f64, String)> = p
        .chords
        .iter()
        .map(|c| (c.start, c.chord.map_or("NC".into(), |c| c.to_string())))
        .collect();
    assert_eq!(
        got,
        vec![
            (0.0, "Dm".into()),
            (1.0, "G7".into()),
            (2.0, "Dm".into()),
            (3.0, "G7".into())
        ]
    );
}
