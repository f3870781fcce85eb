//! XML to an intermediate score: the parts, and for each measure its notes, chord symbols,
//! dynamics, tempo marks and repeat and jump marks, timed in beats from the measure's start.
//!
//! The attribute state (divisions, transposition, time signature, staves) follows the written
//! order, so that a measure played again by a repeat keeps the state it was written in.

use std::collections::HashMap;

use roxmltree::{Document, Node, ParsingOptions};

use super::directions::{read_barline, read_direction, read_sound};
use super::harmony::{self, Harmony, step_class};
use super::metadata::{self, ScoreInfo, child_text};
use super::{GRACE_BEATS, MAX_MEASURE_BEATS, MAX_XML_NODES, MusicXmlError, ReadReport};
use crate::chord::Chord;
use crate::midi::MAX_NOTES;

/// A score before its repeats are expanded.
pub(super) struct RawScore {
    /// The parts, in file order.
    pub(super) parts: Vec<RawPart>,
    /// Titles, composer, date.
    pub(super) info: ScoreInfo,
}

/// What `<part-list>` says about a part.
#[derive(Debug, Clone, Default)]
pub(super) struct PartInfo {
    /// `<part-name>`, cleaned (may be empty).
    pub(super) name: String,
    /// The first `<instrument-name>`, cleaned (may be empty).
    pub(super) instrument_name: String,
    /// The first `<instrument-sound>` (`voice.vocals`, `keyboard.piano`...; may be empty).
    pub(super) instrument_sound: String,
    /// MIDI channel 0-15 (`<midi-channel>` minus 1).
    pub(super) channel: Option<u8>,
    /// General MIDI program 0-127 (`<midi-program>` minus 1).
    pub(super) program: Option<u8>,
    /// `<midi-unpitched>` keys 0-127 by instrument id.
    pub(super) unpitched: Vec<(String, u8)>,
}

/// One part: its measures in written order.
pub(super) struct RawPart {
    /// From the part list.
    pub(super) info: PartInfo,
    /// Most staves any `<staves>` gave it (1 without one).
    pub(super) staves: u32,
    /// Whether it has unpitched (percussion) notes.
    pub(super) unpitched_notes: bool,
    /// Its measures, in written order.
    pub(super) measures: Vec<RawMeasure>,
}

/// A time signature: its length in beats and its (first) denominator.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct TimeSig {
    /// Quarter notes per bar.
    pub(super) beats: f64,
    /// The first `<beat-type>`.
    pub(super) denominator: u32,
}

/// A note, timed from its measure's start (grace notes may start before it).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct RawNote {
    /// Onset, in beats from the measure's start.
    pub(super) offset: f64,
    /// Length in beats.
    pub(super) duration: f64,
    /// Sounding MIDI pitch.
    pub(super) pitch: u8,
    /// From the note's `dynamics` attribute.
    pub(super) velocity: Option<u8>,
    /// A tie starts at this note.
    pub(super) tie_start: bool,
    /// A tie ends at this note.
    pub(super) tie_stop: bool,
    /// A grace note (never tied).
    pub(super) grace: bool,
}

/// A dynamic mark: the level from here on, and an accent for the notes starting here.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Dynamic {
    /// Velocity from here on.
    pub(super) level: Option<u8>,
    /// Velocity of the notes that start with the mark.
    pub(super) accent: Option<u8>,
}

/// Repeat, volta and jump marks of a measure.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Marks {
    /// A forward repeat barline.
    pub(super) forward_repeat: bool,
    /// A backward repeat barline: how many times the section plays.
    pub(super) backward_repeat: Option<u32>,
    /// An ending (volta) starts here: the passes it plays on (empty: every pass).
    pub(super) ending_start: Option<Vec<u32>>,
    /// An ending stops (or is discontinued) at this measure's end.
    pub(super) ending_stop: bool,
    /// `<sound segno>` names.
    pub(super) segno: Vec<String>,
    /// `<sound coda>` names.
    pub(super) coda: Vec<String>,
    /// `<sound dacapo="yes">`.
    pub(super) dacapo: bool,
    /// `<sound dalsegno>`: the segno to go to.
    pub(super) dalsegno: Option<String>,
    /// `<sound fine>`.
    pub(super) fine: bool,
    /// `<sound tocoda>`: the coda to go to.
    pub(super) tocoda: Option<String>,
    /// Jump instructions written as words only (`D.S. al Coda`).
    pub(super) text_jumps: Vec<String>,
}

impl Marks {
    /// Whether a `<sound>` gives a playback jump here.
    pub(super) fn has_sound_jump(&self) -> bool {
        self.dacapo || self.dalsegno.is_some() || self.tocoda.is_some() || self.fine
    }
}

/// One measure of one part.
#[derive(Debug, Clone, Default)]
pub(super) struct RawMeasure {
    /// Its `number` attribute (for reports).
    pub(super) number: String,
    /// The time signature in force.
    pub(super) time: Option<TimeSig>,
    /// How far its cursor reached, in beats.
    pub(super) length: f64,
    /// Its notes, in written order.
    pub(super) notes: Vec<RawNote>,
    /// Chord symbols (`None`: N.C.), in written order.
    pub(super) harmonies: Vec<(f64, Option<Chord>)>,
    /// Dynamics, in written order.
    pub(super) dynamics: Vec<(f64, Dynamic)>,
    /// Tempo marks (quarter notes per minute), in written order.
    pub(super) tempos: Vec<(f64, f64)>,
    /// Repeat and jump marks.
    pub(super) marks: Marks,
}

/// The attribute state of a part, in written order.
struct PartState {
    divisions: f64,
    transpose: i32,
    time: Option<TimeSig>,
    staves: u32,
    unpitched_notes: bool,
}

/// Grace notes waiting for the next note of their voice: groups of (pitch, velocity).
type Pending = Vec<(String, Vec<Vec<(u8, Option<u8>)>>)>;

pub(super) fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children().find(|c| c.has_tag_name(name))
}

fn has(node: Node, name: &str) -> bool {
    child(node, name).is_some()
}

fn number(node: Node, name: &str) -> Option<f64> {
    child(node, name)
        .and_then(|c| c.text())
        .and_then(|t| t.trim().parse::<f64>().ok())
        .filter(|v| v.is_finite())
}

/// A MIDI number written from 1 (channel, program, key) as 0-based, if in range.
fn midi_number(node: Node, name: &str, max: u8) -> Option<u8> {
    number(node, name)
        .map(f64::round)
        .filter(|&v| v >= 1.0 && v <= max as f64 + 1.0)
        .map(|v| v as u8 - 1)
}

/// A velocity from a percentage of forte (forte is MIDI velocity 90).
pub(super) fn velocity_of_percent(percent: f64) -> Option<u8> {
    (percent.is_finite() && percent > 0.0).then(|| (percent * 0.9).round().clamp(1.0, 127.0) as u8)
}

/// Parses the score text into parts and measures.
pub(super) fn parse(text: &str, report: &mut ReadReport) -> Result<RawScore, MusicXmlError> {
    let options = ParsingOptions {
        allow_dtd: true,
        nodes_limit: MAX_XML_NODES,
        ..Default::default()
    };
    let doc = Document::parse_with_options(text, options).map_err(|source| MusicXmlError::Xml { source })?;
    let root = doc.root_element();
    let timewise = match root.tag_name().name() {
        "score-partwise" => false,
        "score-timewise" => true,
        other => {
            return Err(MusicXmlError::NotMusicXml {
                root: other.to_string(),
            });
        }
    };
    let infos = part_list(root);
    // Each part's measures as (measure element, element holding its content).
    let mut layout: Vec<(String, Vec<(Node, Node)>)> = Vec::new();
    if timewise {
        for m in root.children().filter(|c| c.has_tag_name("measure")) {
            for p in m.children().filter(|c| c.has_tag_name("part")) {
                let id = p.attribute("id").unwrap_or("");
                let i = match layout.iter().position(|(pid, _)| pid == id) {
                    Some(i) => i,
                    None => {
                        layout.push((id.to_string(), Vec::new()));
                        layout.len() - 1
                    }
                };
                layout[i].1.push((m, p));
            }
        }
    } else {
        for p in root.children().filter(|c| c.has_tag_name("part")) {
            let measures = p
                .children()
                .filter(|c| c.has_tag_name("measure"))
                .map(|m| (m, m))
                .collect();
            layout.push((p.attribute("id").unwrap_or("").to_string(), measures));
        }
    }
    if layout.is_empty() {
        return Err(MusicXmlError::NoParts);
    }
    let mut notes = 0usize;
    let mut parts = Vec::with_capacity(layout.len());
    for (id, measures) in layout {
        let info = infos.get(&id).cloned().unwrap_or_default();
        let mut st = PartState {
            divisions: 1.0,
            transpose: 0,
            time: None,
            staves: 1,
            unpitched_notes: false,
        };
        let mut out = Vec::with_capacity(measures.len());
        for (m, content) in measures {
            let number = m.attribute("number").unwrap_or("").to_string();
            out.push(read_measure(&mut st, &info, content, number, &mut notes, report)?);
        }
        parts.push(RawPart {
            info,
            staves: st.staves,
            unpitched_notes: st.unpitched_notes,
            measures: out,
        });
    }
    Ok(RawScore {
        parts,
        info: metadata::read(root),
    })
}

/// The `<score-part>`s of the part list, by id.
fn part_list(root: Node) -> HashMap<String, PartInfo> {
    let mut out = HashMap::new();
    let parts = root
        .children()
        .filter(|c| c.has_tag_name("part-list"))
        .flat_map(|l| l.children())
        .filter(|c| c.has_tag_name("score-part"));
    for sp in parts {
        let instruments = || sp.children().filter(|c| c.has_tag_name("score-instrument"));
        let midi = || sp.children().filter(|c| c.has_tag_name("midi-instrument"));
        let info = PartInfo {
            name: child_text(sp, "part-name").unwrap_or_default(),
            instrument_name: instruments()
                .find_map(|i| child_text(i, "instrument-name"))
                .unwrap_or_default(),
            instrument_sound: instruments()
                .find_map(|i| child_text(i, "instrument-sound"))
                .unwrap_or_default(),
            channel: midi().find_map(|m| midi_number(m, "midi-channel", 15)),
            program: midi().find_map(|m| midi_number(m, "midi-program", 127)),
            unpitched: midi()
                .filter_map(|m| Some((m.attribute("id")?.to_string(), midi_number(m, "midi-unpitched", 127)?)))
                .collect(),
        };
        out.insert(sp.attribute("id").unwrap_or("").to_string(), info);
    }
    out
}

/// Length in beats of an element's `<duration>` (0 when missing or nonsense).
fn duration(el: Node, st: &PartState) -> f64 {
    let d = number(el, "duration").unwrap_or(0.0) / st.divisions;
    if d.is_finite() && d > 0.0 {
        d.min(MAX_MEASURE_BEATS * 2.0)
    } else {
        0.0
    }
}

/// An element's `<offset>` in beats.
fn offset(el: Node, st: &PartState) -> f64 {
    let o = number(el, "offset").unwrap_or(0.0) / st.divisions;
    if o.is_finite() {
        o.clamp(-MAX_MEASURE_BEATS, MAX_MEASURE_BEATS)
    } else {
        0.0
    }
}

fn read_attributes(st: &mut PartState, el: Node) {
    if let Some(d) = number(el, "divisions").filter(|&d| d > 0.0) {
        st.divisions = d;
    }
    if let Some(s) = number(el, "staves").filter(|&s| s >= 1.0) {
        st.staves = st.staves.max(s.min(64.0) as u32);
    }
    if let Some(t) = child(el, "transpose") {
        let chromatic = number(t, "chromatic").unwrap_or(0.0).clamp(-48.0, 48.0).round() as i32;
        let octaves = number(t, "octave-change").unwrap_or(0.0).clamp(-8.0, 8.0).round() as i32;
        st.transpose = chromatic + 12 * octaves;
    }
    if let Some(t) = child(el, "time") {
        st.time = time_signature(t);
    }
}

/// A `<time>`: compound numerators (`3+2`) and several signatures (`3/4 + 2/8`) add up;
/// `<senza-misura>` and nonsense give none.
fn time_signature(t: Node) -> Option<TimeSig> {
    if has(t, "senza-misura") {
        return None;
    }
    let beats = t.children().filter(|c| c.has_tag_name("beats"));
    let types = t.children().filter(|c| c.has_tag_name("beat-type"));
    let mut total = 0.0;
    let mut denominator = None;
    for (b, ty) in beats.zip(types) {
        let n: f64 = b
            .text()?
            .split('+')
            .map(|x| x.trim().parse::<f64>().ok())
            .sum::<Option<f64>>()?;
        let d: f64 = ty.text()?.trim().parse().ok()?;
        if !(n > 0.0 && d >= 1.0 && n.is_finite() && d <= 1024.0) {
            return None;
        }
        total += n * 4.0 / d;
        denominator.get_or_insert(d as u32);
    }
    let denominator = denominator?;
    (total > 0.0 && total <= MAX_MEASURE_BEATS).then_some(TimeSig {
        beats: total,
        denominator,
    })
}

/// Sounding pitch of a note (before range checks), or `None` for a rest or a note without one.
fn pitch(note: Node, st: &mut PartState, info: &PartInfo) -> Option<i32> {
    if let Some(p) = child(note, "pitch") {
        let step = step_class(child(p, "step")?.text()?)?;
        let octave = number(p, "octave")?.clamp(-10.0, 20.0).round() as i32;
        let alter = number(p, "alter").unwrap_or(0.0).clamp(-12.0, 12.0).round() as i32;
        return Some((octave + 1) * 12 + step + alter + st.transpose);
    }
    let u = child(note, "unpitched")?;
    st.unpitched_notes = true;
    let instrument = child(note, "instrument").and_then(|i| i.attribute("id"));
    let key = instrument
        .and_then(|id| info.unpitched.iter().find(|(i, _)| i == id))
        .or(if info.unpitched.len() == 1 {
            info.unpitched.first()
        } else {
            None
        })
        .map(|&(_, k)| k as i32);
    key.or_else(|| {
        let step = step_class(child(u, "display-step")?.text()?)?;
        let octave = number(u, "display-octave")?.clamp(-10.0, 20.0).round() as i32;
        Some((octave + 1) * 12 + step)
    })
}

/// (tie start, tie stop) from `<tie>`, else from `<notations><tied>`.
fn ties(note: Node) -> (bool, bool) {
    let mut types: Vec<&str> = note
        .children()
        .filter(|c| c.has_tag_name("tie"))
        .filter_map(|t| t.attribute("type"))
        .collect();
    if types.is_empty() {
        types = note
            .children()
            .filter(|c| c.has_tag_name("notations"))
            .flat_map(|n| n.children())
            .filter(|c| c.has_tag_name("tied"))
            .filter_map(|t| t.attribute("type"))
            .collect();
    }
    let start = types.iter().any(|t| matches!(*t, "start" | "continue"));
    let stop = types.iter().any(|t| matches!(*t, "stop" | "continue"));
    (start, stop)
}

/// Places the grace notes waiting in `voice` (every voice for `None`) so that they end at `at`,
/// one after another.
fn flush_graces(pending: &mut Pending, voice: Option<&str>, at: f64, out: &mut Vec<RawNote>) {
    pending.retain_mut(|(v, groups)| {
        if voice.is_some_and(|x| x != v) {
            return true;
        }
        let k = groups.len();
        for (j, group) in groups.drain(..).enumerate() {
            let offset = at - (k - j) as f64 * GRACE_BEATS;
            out.extend(group.into_iter().map(|(pitch, velocity)| RawNote {
                offset,
                duration: GRACE_BEATS,
                pitch,
                velocity,
                tie_start: false,
                tie_stop: false,
                grace: true,
            }));
        }
        false
    });
}

fn read_measure(
    st: &mut PartState,
    info: &PartInfo,
    content: Node,
    number: String,
    notes: &mut usize,
    report: &mut ReadReport,
) -> Result<RawMeasure, MusicXmlError> {
    let mut out = RawMeasure {
        number,
        time: st.time,
        ..RawMeasure::default()
    };
    let mut cursor = 0.0f64;
    let mut max_pos = 0.0f64;
    let mut last_start = 0.0f64;
    let mut pending: Pending = Vec::new();
    for el in content.children().filter(Node::is_element) {
        match el.tag_name().name() {
            "attributes" => {
                read_attributes(st, el);
                out.time = st.time;
            }
            "backup" => cursor = (cursor - duration(el, st)).max(0.0),
            "forward" => {
                cursor += duration(el, st);
                max_pos = max_pos.max(cursor);
            }
            "note" => {
                let grace = has(el, "grace");
                let chord = has(el, "chord");
                let cue = has(el, "cue");
                let voice = child_text(el, "voice").unwrap_or_default();
                let rest = child(el, "rest");
                let mut dur = if grace { 0.0 } else { duration(el, st) };
                if rest.is_some_and(|r| r.attribute("measure") == Some("yes")) && !has(el, "duration") {
                    dur = st.time.map_or(0.0, |t| t.beats);
                }
                let start = if chord { last_start } else { cursor };
                if !grace && !chord {
                    flush_graces(&mut pending, Some(&voice), start, &mut out.notes);
                    last_start = cursor;
                    cursor += dur;
                    max_pos = max_pos.max(cursor);
                }
                if rest.is_some() || cue {
                    continue;
                }
                let Some(p) = pitch(el, st, info) else { continue };
                let Some(p) = u8::try_from(p).ok().filter(|&p| p < 128) else {
                    report.out_of_range_notes += 1;
                    continue;
                };
                *notes += 1;
                if *notes > MAX_NOTES {
                    return Err(MusicXmlError::TooManyNotes);
                }
                let velocity = el
                    .attribute("dynamics")
                    .and_then(|d| d.trim().parse::<f64>().ok())
                    .and_then(velocity_of_percent);
                if grace {
                    let groups = match pending.iter_mut().find(|(v, _)| *v == voice) {
                        Some((_, groups)) => groups,
                        None => {
                            pending.push((voice, Vec::new()));
                            &mut pending.last_mut().expect("just pushed").1
                        }
                    };
                    match groups.last_mut() {
                        Some(group) if chord => group.push((p, velocity)),
                        _ => groups.push(vec![(p, velocity)]),
                    }
                    continue;
                }
                let (tie_start, tie_stop) = ties(el);
                out.notes.push(RawNote {
                    offset: start,
                    duration: dur,
                    pitch: p,
                    velocity,
                    tie_start,
                    tie_stop,
                    grace: false,
                });
            }
            "direction" => read_direction(el, (cursor + offset(el, st)).max(0.0), &mut out),
            "harmony" => {
                let at = (cursor + offset(el, st)).max(0.0);
                let chord = match harmony::read(el, st.transpose) {
                    Harmony::Chord(c) => c,
                    Harmony::Unknown(kind) => {
                        *report.unknown_harmony.entry(kind).or_default() += 1;
                        None
                    }
                };
                out.harmonies.push((at, chord));
            }
            "sound" => {
                let (tempo, dynamics) = read_sound(el, &mut out.marks);
                if let Some(bpm) = tempo {
                    out.tempos.push((cursor, bpm));
                }
                if let Some(level) = dynamics {
                    out.dynamics.push((
                        cursor,
                        Dynamic {
                            level: Some(level),
                            accent: None,
                        },
                    ));
                }
            }
            "barline" => read_barline(el, &mut out.marks, report),
            _ => {}
        }
        if cursor > MAX_MEASURE_BEATS || max_pos > MAX_MEASURE_BEATS {
            return Err(MusicXmlError::MeasureTooLong {
                measure: out.number,
                beats: cursor.max(max_pos),
            });
        }
    }
    flush_graces(&mut pending, None, max_pos, &mut out.notes);
    out.length = max_pos;
    Ok(out)
}
