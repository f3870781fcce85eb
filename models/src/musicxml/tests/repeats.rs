//! Repeats, voltas and jumps expanded; what is not expanded is reported.

use super::*;
use crate::musicxml::MAX_REPEAT_TIMES;

fn forward() -> &'static str {
    "<barline location=\"left\"><repeat direction=\"forward\"/></barline>"
}

fn backward(times: Option<u32>) -> String {
    let times = times.map_or(String::new(), |t| format!(" times=\"{t}\""));
    format!("<barline location=\"right\"><repeat direction=\"backward\"{times}/></barline>")
}

fn ending(number: &str, kind: &str, location: &str) -> String {
    format!("<barline location=\"{location}\"><ending number=\"{number}\" type=\"{kind}\"/></barline>")
}

/// Pitches of the notes in time order (one whole note per bar in these tests).
fn pitches(xml: &str) -> Vec<u8> {
    read(xml).tracks[0].notes.iter().map(|n| n.pitch).collect()
}

/// A one-part score of 4/4 bars holding one whole note each, bar `i` playing pitch 60 + `i`,
/// with `marks[i]` inside bar `i`.
fn bars(marks: &[String]) -> String {
    melody(
        marks
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let head = if i == 0 { attrs(1, 4, 4) } else { String::new() };
                format!(
                    "{head}{m}{}",
                    n(&format!("{}4", ["C", "D", "E", "F", "G", "A", "B"][i % 7]), 4)
                )
            })
            .collect(),
    )
}

#[test]
fn repeats_with_voltas_are_expanded() {
    // |: C D |1. E :|2. F | G
    let xml = bars(&[
        forward().to_string(),
        String::new(),
        ending("1", "start", "left") + &ending("1", "stop", "right") + &backward(None),
        ending("2", "start", "left") + &ending("2", "discontinue", "right"),
        String::new(),
    ]);
    assert_eq!(pitches(&xml), vec![60, 62, 64, 60, 62, 65, 67]);
    let p = read(&xml);
    assert_eq!(p.end_beat(), 28.0);
    assert_eq!(p.meter.changes().len(), 1);
}

#[test]
fn repeat_counts_sections_and_shared_voltas() {
    // C :| D (a section from the start, played twice) | |: E | 1,2. F :| 3. G | A :|(x2 again)
    let xml = bars(&[
        backward(None),
        String::new(),
        forward().to_string(),
        ending("1, 2", "start", "left") + &ending("1, 2", "stop", "right") + &backward(Some(3)),
        ending("3", "start", "left") + &ending("3", "stop", "right"),
        backward(None),
    ]);
    // After the volta group, the next repeat goes back to the measure after it.
    assert_eq!(pitches(&xml), vec![60, 60, 62, 64, 65, 64, 65, 64, 67, 69, 69]);
    // More times than the limit are cut and reported.
    let many = bars(&[backward(Some(1000))]);
    let file = read_all(&many);
    assert_eq!(file.piece.tracks[0].notes.len(), MAX_REPEAT_TIMES as usize);
    assert_eq!(file.report.clamped_repeats, 1);
}

#[test]
fn sound_jumps_are_expanded_once() {
    let sound = |attrs: &str| {
        format!("<direction><direction-type><words>x</words></direction-type><sound {attrs}/></direction>")
    };
    // C |: D :| E (Fine) | F (D.C. al Fine): C D D E, stop.
    let dc = bars(&[
        String::new(),
        forward().to_string() + &backward(None),
        sound("fine=\"yes\""),
        sound("dacapo=\"yes\""),
    ]);
    assert_eq!(pitches(&dc), vec![60, 62, 62, 64, 65, 60, 62, 64]);
    // C | D (segno) | E (To Coda) | F (D.S. al Coda) | G (Coda)
    let ds = bars(&[
        String::new(),
        sound("segno=\"s\""),
        sound("tocoda=\"c\""),
        sound("dalsegno=\"s\""),
        sound("coda=\"c\""),
    ]);
    assert_eq!(pitches(&ds), vec![60, 62, 64, 65, 62, 64, 67]);
    // Voltas after a D.C.: only the last one.
    // C |1. D :|2. E (D.C.) | F: C D C E, then C E F.
    let volta = bars(&[
        String::new(),
        ending("1", "start", "left") + &ending("1", "stop", "right") + &backward(None),
        ending("2", "start", "left") + &ending("2", "stop", "right") + &sound("dacapo=\"yes\""),
        String::new(),
    ]);
    assert_eq!(pitches(&volta), vec![60, 62, 60, 64, 60, 64, 65]);
}

#[test]
fn text_only_jumps_and_missing_targets_are_reported_not_expanded() {
    let words = |w: &str| format!("<direction><direction-type><words>{w}</words></direction-type></direction>");
    let xml = bars(&[
        words("dolce"),
        String::new(),
        words("D.S. al Coda"),
        "<direction><direction-type><words>To Coda</words></direction-type><sound dalsegno=\"nowhere\"/></direction>"
            .to_string(),
    ]);
    let file = read_all(&xml);
    assert_eq!(
        file.piece.tracks[0].notes.iter().map(|n| n.pitch).collect::<Vec<_>>(),
        vec![60, 62, 64, 65]
    );
    assert_eq!(
        file.report.unexpanded_jumps,
        vec![("D.S. al Coda".to_string(), "3".to_string())]
    );
    assert_eq!(
        file.report.missing_jump_targets,
        vec![("D.S. \"nowhere\"".to_string(), "4".to_string())]
    );
    let w = file.report.warning().unwrap();
    assert!(
        w.starts_with("MusicXML read with omissions: jump \"D.S. al Coda\" at measure 3 not expanded"),
        "{w}"
    );
}
