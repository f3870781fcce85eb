//! Tests of [`crate::musicxml`] on scores the tests write themselves, by concern, and the
//! helpers they share: MusicXML building blocks, `.mxl` archives, and note comparison.

mod archives;
mod harmony;
mod reading;
mod repeats;
mod robustness;

use std::io::Write;

use super::{ScoreFile, read_musicxml_with_report};
use crate::music::{Note, Piece};

/// A `<note>` of `pitch` ("C4", "F#4", "Bb3") lasting `dur` divisions, with `extra` elements
/// after its duration (ties, voice, staff, notations...).
fn nx(pitch: &str, dur: u32, extra: &str) -> String {
    let (step, rest) = pitch.split_at(1);
    let (alter, octave) = match rest.chars().next() {
        Some('#') => (1, &rest[1..]),
        Some('b') => (-1, &rest[1..]),
        _ => (0, rest),
    };
    let alter = if alter == 0 {
        String::new()
    } else {
        format!("<alter>{alter}</alter>")
    };
    format!(
        "<note><pitch><step>{step}</step>{alter}<octave>{octave}</octave></pitch><duration>{dur}</duration>{extra}</note>"
    )
}

/// A plain note.
fn n(pitch: &str, dur: u32) -> String {
    nx(pitch, dur, "")
}

/// A note sounding with the note before it.
fn chord(pitch: &str, dur: u32) -> String {
    nx(pitch, dur, "").replacen("<note>", "<note><chord/>", 1)
}

/// A grace note (`chord`: with the grace note before it).
fn grace(pitch: &str, chord: bool) -> String {
    let c = if chord { "<chord/>" } else { "" };
    nx(pitch, 0, "").replacen("<duration>0</duration>", "", 1).replacen(
        "<note>",
        &format!("<note><grace slash=\"yes\"/>{c}"),
        1,
    )
}

/// A rest of `dur` divisions.
fn rest(dur: u32) -> String {
    format!("<note><rest/><duration>{dur}</duration></note>")
}

/// `<attributes>` with divisions and a time signature.
fn attrs(divisions: u32, beats: u32, beat_type: u32) -> String {
    format!(
        "<attributes><divisions>{divisions}</divisions><time><beats>{beats}</beats><beat-type>{beat_type}</beat-type></time></attributes>"
    )
}

/// `<backup>` or `<forward>`.
fn mv(kind: &str, dur: u32) -> String {
    format!("<{kind}><duration>{dur}</duration></{kind}>")
}

/// A partwise score: per part, what goes inside its `<score-part>` and the content of its
/// measures (numbered from 1). `head` goes before the part list (work, identification).
fn score_with(head: &str, parts: &[(&str, Vec<String>)]) -> String {
    let mut list = String::new();
    let mut body = String::new();
    for (i, (part, measures)) in parts.iter().enumerate() {
        let id = format!("P{}", i + 1);
        list.push_str(&format!("<score-part id=\"{id}\">{part}</score-part>"));
        body.push_str(&format!("<part id=\"{id}\">"));
        for (j, m) in measures.iter().enumerate() {
            body.push_str(&format!("<measure number=\"{}\">{m}</measure>", j + 1));
        }
        body.push_str("</part>");
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE score-partwise PUBLIC \
         \"-//Recordare//DTD MusicXML 4.0 Partwise//EN\" \"http://www.musicxml.org/dtds/partwise.dtd\">\n\
         <score-partwise version=\"4.0\">{head}<part-list>{list}</part-list>{body}</score-partwise>"
    )
}

/// A score of parts without a head.
fn score(parts: &[(&str, Vec<String>)]) -> String {
    score_with("", parts)
}

/// A one-part score named `Melody`.
fn melody(measures: Vec<String>) -> String {
    score(&[("<part-name>Melody</part-name>", measures)])
}

/// Writes a zip archive of (name, contents) entries, deflated.
fn zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in entries {
        w.start_file(*name, options).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// An `.mxl` archive holding `xml` as `score.musicxml`, named by its container.xml.
fn mxl(xml: &str) -> Vec<u8> {
    let container = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><container><rootfiles>\
                     <rootfile full-path=\"score.musicxml\" media-type=\"application/vnd.recordare.musicxml+xml\"/>\
                     </rootfiles></container>";
    zip(&[
        ("mimetype", b"application/vnd.recordare.musicxml"),
        ("META-INF/container.xml", container.as_bytes()),
        ("score.musicxml", xml.as_bytes()),
    ])
}

fn read_all(xml: &str) -> ScoreFile {
    read_musicxml_with_report(xml.as_bytes()).unwrap_or_else(|e| panic!("{}\n{xml}", crate::error::chain(&e)))
}

fn read(xml: &str) -> Piece {
    read_all(xml).piece
}

/// Asserts notes equal (start, duration, pitch, velocity), times to 1e-9 beats.
#[track_caller]
fn assert_notes(actual: &[Note], expected: &[(f64, f64, u8, u8)]) {
    let got: Vec<(f64, f64, u8, u8)> = actual
        .iter()
        .map(|n| (n.start, n.duration, n.pitch, n.velocity))
        .collect();
    let same = got.len() == expected.len()
        && got
            .iter()
            .zip(expected)
            .all(|(a, b)| (a.0 - b.0).abs() < 1e-9 && (a.1 - b.1).abs() < 1e-9 && a.2 == b.2 && a.3 == b.3);
    assert!(same, "notes differ:\n  got      {got:?}\n  expected {expected:?}");
}

/// (start, duration, pitch) at the default velocity.
fn mf(start: f64, duration: f64, pitch: u8) -> (f64, f64, u8, u8) {
    (start, duration, pitch, super::DEFAULT_VELOCITY)
}
