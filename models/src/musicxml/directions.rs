//! Directions, sounds and barlines of a measure: dynamics, tempo (`<sound tempo>`,
//! `<metronome>`), playback jumps and their text, repeat barlines and voltas.

use roxmltree::Node;

use super::metadata::clean;
use super::score::{Dynamic, Marks, RawMeasure, child, velocity_of_percent};
use super::{MAX_REPEAT_TIMES, ReadReport};

/// Tempo (quarter notes per minute) and dynamics (velocity) of a `<sound>`; its jump
/// attributes go to `marks`.
pub(super) fn read_sound(s: Node, marks: &mut Marks) -> (Option<f64>, Option<u8>) {
    if let Some(v) = s.attribute("segno") {
        marks.segno.push(v.to_string());
    }
    if let Some(v) = s.attribute("coda") {
        marks.coda.push(v.to_string());
    }
    if let Some(v) = s.attribute("dalsegno") {
        marks.dalsegno = Some(v.to_string());
    }
    if let Some(v) = s.attribute("tocoda") {
        marks.tocoda = Some(v.to_string());
    }
    if s.attribute("dacapo") == Some("yes") {
        marks.dacapo = true;
    }
    if s.attribute("fine").is_some() {
        marks.fine = true;
    }
    let tempo = s
        .attribute("tempo")
        .and_then(|t| t.trim().parse::<f64>().ok())
        .filter(|t| t.is_finite() && *t >= 1.0 && *t <= 1000.0);
    let dynamics = s
        .attribute("dynamics")
        .and_then(|d| d.trim().parse::<f64>().ok())
        .and_then(velocity_of_percent);
    (tempo, dynamics)
}

/// (level, accent) of a dynamics mark, by its element name.
fn dynamic_mark(name: &str) -> (Option<u8>, Option<u8>) {
    let level = |v: u8| (Some(v), None);
    match name {
        "pppppp" => level(1),
        "ppppp" => level(5),
        "pppp" => level(10),
        "ppp" => level(16),
        "pp" => level(33),
        "p" => level(49),
        "mp" => level(64),
        "mf" => level(80),
        "f" | "pf" => level(96),
        "ff" => level(112),
        "fff" => level(126),
        "ffff" | "fffff" | "ffffff" => level(127),
        "sf" | "sfz" | "fz" | "rf" | "rfz" | "sfzp" => (None, Some(112)),
        "sffz" => (None, Some(120)),
        "fp" => (Some(49), Some(96)),
        "sfp" => (Some(49), Some(112)),
        "sfpp" => (Some(33), Some(112)),
        _ => (None, None),
    }
}

/// Beats of a `<beat-unit>` note type.
fn note_type_beats(t: &str) -> Option<f64> {
    Some(match t.trim() {
        "maxima" => 32.0,
        "long" => 16.0,
        "breve" => 8.0,
        "whole" => 4.0,
        "half" => 2.0,
        "quarter" => 1.0,
        "eighth" => 0.5,
        "16th" => 0.25,
        "32nd" => 0.125,
        "64th" => 0.0625,
        "128th" => 0.03125,
        _ => return None,
    })
}

/// Quarter notes per minute of a `<metronome>` mark with one beat unit and a number per minute
/// (the first number of "c. 120" or "100-110").
fn metronome(m: Node) -> Option<f64> {
    let mut units = m.children().filter(|c| c.has_tag_name("beat-unit"));
    let unit = note_type_beats(units.next()?.text()?)?;
    if units.next().is_some() {
        return None;
    }
    let dots = m.children().filter(|c| c.has_tag_name("beat-unit-dot")).count().min(4) as i32;
    let unit = unit * (2.0 - 0.5f64.powi(dots));
    let text = child(m, "per-minute")?.text()?;
    let start = text.find(|c: char| c.is_ascii_digit())?;
    let digits: String = text[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let bpm = digits.parse::<f64>().ok()? * unit;
    (bpm.is_finite() && (1.0..=1000.0).contains(&bpm)).then_some(bpm)
}

/// Whether words are a jump instruction (D.C., D.S., To Coda).
fn is_jump_text(words: &str) -> bool {
    let compact: String = words
        .to_lowercase()
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '.')
        .collect();
    compact == "dc"
        || compact == "ds"
        || ["dcal", "dsal", "dacapo", "dalsegno", "tocoda", "alcoda"]
            .iter()
            .any(|k| compact.starts_with(k))
        || compact.contains("tocoda")
        || compact.contains("alcoda")
}

pub(super) fn read_direction(el: Node, at: f64, out: &mut RawMeasure) {
    let mut level = None;
    let mut accent = None;
    let mut metronome_bpm = None;
    let types = el
        .children()
        .filter(|c| c.has_tag_name("direction-type"))
        .flat_map(|d| d.children())
        .filter(Node::is_element);
    for c in types {
        match c.tag_name().name() {
            "dynamics" => {
                for mark in c.children().filter(Node::is_element) {
                    let (l, a) = dynamic_mark(mark.tag_name().name());
                    level = l.or(level);
                    accent = a.or(accent);
                }
            }
            "metronome" => metronome_bpm = metronome(c).or(metronome_bpm),
            "words" => {
                if let Some(text) = c.text().and_then(clean).filter(|t| is_jump_text(t)) {
                    out.marks.text_jumps.push(text);
                }
            }
            _ => {}
        }
    }
    let (sound_tempo, sound_dynamics) = match child(el, "sound") {
        Some(s) => read_sound(s, &mut out.marks),
        None => (None, None),
    };
    if let Some(bpm) = sound_tempo.or(metronome_bpm) {
        out.tempos.push((at, bpm));
    }
    // An accent's own `<sound dynamics>` is the accent, not a new level.
    let level = if accent.is_some() {
        level
    } else {
        sound_dynamics.or(level)
    };
    if level.is_some() || accent.is_some() {
        out.dynamics.push((at, Dynamic { level, accent }));
    }
}

/// The passes an ending plays on: "1", "1, 2", "1 2", or ranges "1-3".
fn ending_numbers(s: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for token in s.split([',', ' ', '.']).map(str::trim).filter(|t| !t.is_empty()) {
        let bounds = match token.split_once('-') {
            Some((a, b)) => a.trim().parse::<u32>().ok().zip(b.trim().parse::<u32>().ok()),
            None => token.parse::<u32>().ok().map(|a| (a, a)),
        };
        if let Some((a, b)) = bounds {
            out.extend(a.min(64)..=b.min(64));
        }
    }
    out
}

pub(super) fn read_barline(b: Node, marks: &mut Marks, report: &mut ReadReport) {
    if let Some(r) = child(b, "repeat") {
        match r.attribute("direction") {
            Some("forward") => marks.forward_repeat = true,
            Some("backward") => {
                let times = r
                    .attribute("times")
                    .and_then(|t| t.trim().parse::<u32>().ok())
                    .unwrap_or(2)
                    .max(1);
                let times = if times > MAX_REPEAT_TIMES {
                    report.clamped_repeats += 1;
                    MAX_REPEAT_TIMES
                } else {
                    times
                };
                marks.backward_repeat = Some(marks.backward_repeat.map_or(times, |t| t.max(times)));
            }
            _ => {}
        }
    }
    if let Some(e) = child(b, "ending") {
        match e.attribute("type") {
            Some("start") => marks.ending_start = Some(ending_numbers(e.attribute("number").unwrap_or(""))),
            Some("stop") | Some("discontinue") => marks.ending_stop = true,
            _ => {}
        }
    }
}
