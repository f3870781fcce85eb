//! `<harmony>` chord symbols reduced to the tokenizer's chord set ([`ChordQuality`]).

use roxmltree::Node;

use crate::chord::{Chord, ChordQuality};

/// What a `<harmony>` element says.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Harmony {
    /// A chord, or `None` for N.C. (kind `none`).
    Chord(Option<Chord>),
    /// A symbol the chord set cannot hold (its kind, as written): read as N.C. and reported.
    Unknown(String),
}

/// Pitch class of a step letter.
pub(super) fn step_class(step: &str) -> Option<i32> {
    Some(match step.trim() {
        "C" => 0,
        "D" => 2,
        "E" => 4,
        "F" => 5,
        "G" => 7,
        "A" => 9,
        "B" => 11,
        _ => return None,
    })
}

fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children().find(|c| c.has_tag_name(name))
}

fn number(node: Node, name: &str) -> Option<f64> {
    child(node, name)
        .and_then(|c| c.text())
        .and_then(|t| t.trim().parse::<f64>().ok())
        .filter(|v| v.is_finite())
}

/// Rounds an alteration to whole semitones (quarter tones to the nearest).
fn alter(node: Node, name: &str) -> i32 {
    number(node, name).map_or(0, |a| a.clamp(-12.0, 12.0).round() as i32)
}

/// Root pitch class: `<root>` (step and alter), else a `<numeral>` in its key.
fn root_class(harmony: Node) -> Option<i32> {
    if let Some(root) = child(harmony, "root") {
        let step = child(root, "root-step")?.text()?;
        return Some(step_class(step)? + alter(root, "root-alter"));
    }
    let numeral = child(harmony, "numeral")?;
    let degree = number(numeral, "numeral-root")?;
    if !(1.0..=7.0).contains(&degree) {
        return None;
    }
    let key = child(numeral, "numeral-key");
    let fifths = key.map_or(0, |k| alter(k, "numeral-fifths"));
    let minor = key
        .and_then(|k| child(k, "numeral-mode"))
        .and_then(|m| m.text())
        .is_some_and(|m| m.trim() == "minor");
    const MAJOR: [i32; 7] = [0, 2, 4, 5, 7, 9, 11];
    const MINOR: [i32; 7] = [0, 2, 3, 5, 7, 8, 10];
    let tonic = (fifths * 7).rem_euclid(12) + if minor { 9 } else { 0 };
    let scale = if minor { MINOR } else { MAJOR };
    Some(tonic + scale[degree as usize - 1] + alter(numeral, "numeral-alter"))
}

/// The quality of a `<kind>` value, before its degrees.
fn kind_quality(kind: &str) -> Option<ChordQuality> {
    use ChordQuality::*;
    Some(match kind {
        "major" => Maj,
        "minor" => Min,
        "augmented" => Aug,
        "diminished" => Dim,
        "dominant" | "dominant-seventh" | "dominant-ninth" | "dominant-11th" | "dominant-13th" => Dom7,
        "major-seventh" | "major-ninth" | "major-11th" | "major-13th" => Maj7,
        "minor-seventh" | "minor-ninth" | "minor-11th" | "minor-13th" => Min7,
        "diminished-seventh" => Dim7,
        "augmented-seventh" | "augmented-ninth" => Aug7,
        "half-diminished" => HalfDim7,
        "major-minor" => MinMaj7,
        "major-sixth" => Maj6,
        "minor-sixth" => Min6,
        "suspended-second" | "suspended-fourth" => Sus4,
        // A fifth alone, and the Neapolitan sixth (a major triad on its root), read as major.
        "power" | "Neapolitan" => Maj,
        // The augmented sixths, spelled from their root: the German and Italian sound as a
        // dominant seventh (the Italian without its fifth), the French as a dominant with a
        // flat fifth. The Tristan chord sounds as a half-diminished seventh.
        "German" | "Italian" => Dom7,
        "French" => Dom7Alt,
        "Tristan" => HalfDim7,
        _ => return None,
    })
}

/// One `<degree>`: value, alteration, and whether it adds, alters or subtracts.
struct Degree {
    value: i32,
    alter: i32,
    kind: DegreeKind,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum DegreeKind {
    Add,
    Alter,
    Subtract,
}

fn degrees(harmony: Node) -> Vec<Degree> {
    harmony
        .children()
        .filter(|c| c.has_tag_name("degree"))
        .filter_map(|d| {
            let value = number(d, "degree-value")?.round() as i32;
            let kind = match child(d, "degree-type")?.text()?.trim() {
                "add" => DegreeKind::Add,
                "alter" => DegreeKind::Alter,
                "subtract" => DegreeKind::Subtract,
                _ => return None,
            };
            Some(Degree {
                value,
                alter: alter(d, "degree-alter"),
                kind,
            })
        })
        .collect()
}

/// Applies `<degree>`s to a quality as [`crate::chord`] reduces written tensions.
fn with_degrees(mut q: ChordQuality, degrees: &[Degree]) -> ChordQuality {
    use ChordQuality::*;
    let has = |kind: DegreeKind, value: i32, alter: i32| {
        degrees
            .iter()
            .any(|d| d.kind == kind && d.value == value && d.alter == alter)
    };
    let add = |value, alter| has(DegreeKind::Add, value, alter);
    let add_or_alter = |value, alter| add(value, alter) || has(DegreeKind::Alter, value, alter);
    // Sevenths and sixths added to a triad (an added degree is relative to a dominant chord: a
    // natural 7 is the minor seventh).
    if add(7, 0) {
        q = match q {
            Maj => Dom7,
            Min => Min7,
            Dim => HalfDim7,
            Aug => Aug7,
            Sus4 => Dom7Sus4,
            q => q,
        };
    } else if add(7, 1) {
        q = match q {
            Maj => Maj7,
            Min => MinMaj7,
            q => q,
        };
    } else if add(6, 0) || (add(13, 0) && matches!(q, Maj | Min)) {
        q = match q {
            Maj => Maj6,
            Min => Min6,
            q => q,
        };
    }
    let no_third = degrees.iter().any(|d| d.kind == DegreeKind::Subtract && d.value == 3);
    if no_third && (add(4, 0) || add(11, 0)) {
        q = match q {
            Maj => Sus4,
            Dom7 => Dom7Sus4,
            q => q,
        };
    }
    let flat5 = add_or_alter(5, -1);
    let sharp5 = add_or_alter(5, 1);
    let altered = add_or_alter(9, -1) || add_or_alter(9, 1) || add_or_alter(13, -1);
    match q {
        Dom7 | Aug7 if altered || flat5 => Dom7Alt,
        Dom7 if sharp5 => Aug7,
        Min7 if flat5 => HalfDim7,
        Min if flat5 => Dim,
        Maj | Maj7 if sharp5 => Aug,
        q => q,
    }
}

/// Reads a `<harmony>`, moving its root by `transpose` semitones (to concert pitch).
pub(super) fn read(harmony: Node, transpose: i32) -> Harmony {
    let Some(kind_node) = child(harmony, "kind") else {
        return Harmony::Unknown("(no kind)".into());
    };
    let kind = kind_node.text().unwrap_or("").trim();
    if kind == "none" {
        return Harmony::Chord(None);
    }
    let Some(root) = root_class(harmony) else {
        let what = if child(harmony, "function").is_some() {
            "function (no root)"
        } else {
            "(no root)"
        };
        return Harmony::Unknown(what.into());
    };
    let quality = kind_quality(kind).or_else(|| {
        // `other`, a kind this reader does not know, or an empty one: the displayed text, read
        // as a lead-sheet suffix ("maj69", "7b9").
        let text = kind_node.attribute("text")?;
        Chord::parse(&format!("C{}", text.trim()))
            .ok()
            .flatten()
            .map(|c| c.quality)
    });
    let Some(quality) = quality else {
        let shown = if kind.is_empty() { "(empty)" } else { kind };
        return Harmony::Unknown(shown.to_string());
    };
    let quality = with_degrees(quality, &degrees(harmony));
    Harmony::Chord(Some(Chord::new((root + transpose).rem_euclid(12) as u8, quality)))
}
