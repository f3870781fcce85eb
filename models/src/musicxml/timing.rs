//! The measures in play order laid out in beats: the meter, notes with their ties and
//! velocities, the tempo map and the chord symbols, as a [`Piece`].

use super::role::role_of;
use super::score::{RawMeasure, RawNote, RawPart, RawScore, TimeSig};
use super::{DEFAULT_VELOCITY, MusicXmlError, ReadReport};
use crate::midi::{MAX_NOTES, MAX_PIECE_BEATS};
use crate::music::{ChordEvent, Meter, MeterChange, Note, Piece, Role, TempoChange, Track};
use crate::tokenizer::vocab::time_signature_index;

/// Times closer than this (in beats) are the same time.
const EPS: f64 = 1e-6;

/// The numerator that gives `beats` quarter notes over `denominator`, if a whole one does.
fn numerator(beats: f64, denominator: u32) -> Option<u8> {
    let n = beats * denominator as f64 / 4.0;
    let r = n.round();
    ((n - r).abs() < EPS && (1.0..=255.0).contains(&r)).then_some(r as u8)
}

/// A bar: its signature and its length in beats.
type Bar = ((u8, u8), f64);

/// The signature of a bar of `beats` beats, if one the tokenizer has fits it exactly (with the
/// denominator `preferred` first, then 4, 8, 16, 2).
fn supported(beats: f64, preferred: Option<u32>) -> Option<(u8, u8)> {
    let mut dens: Vec<u32> = Vec::with_capacity(5);
    dens.extend(preferred.filter(|d| [2, 4, 8, 16].contains(d)));
    dens.extend([4, 8, 16, 2].into_iter().filter(|d| Some(*d) != preferred));
    dens.into_iter().find_map(|d| {
        let n = numerator(beats, d)?;
        time_signature_index(n, d as u8).map(|_| (n, d as u8))
    })
}

/// The bars of a measure of `beats` beats under the time signature `nominal`, and whether its
/// end was padded (to the next sixteenth, when no signature fits its length).
///
/// A measure of its signature's length is one bar of that signature. A measure of another
/// length is one bar of a signature the tokenizer has if one fits; a longer one (a cadenza, an
/// overfull bar) is bars of its signature (or 4/4) and then a bar for what remains.
pub(super) fn measure_bars(beats: f64, nominal: Option<TimeSig>) -> (Vec<Bar>, bool) {
    if let Some(t) = nominal
        && (t.beats - beats).abs() < EPS
        && t.denominator <= 255
        && let Some(n) = numerator(beats, t.denominator)
    {
        return (vec![((n, t.denominator as u8), beats)], false);
    }
    let preferred = nominal.map(|t| t.denominator);
    if let Some(sig) = supported(beats, preferred) {
        return (vec![(sig, beats)], false);
    }
    let whole = nominal
        .and_then(|t| Some((supported(t.beats, Some(t.denominator))?, t.beats)))
        .unwrap_or(((4, 4), 4.0));
    let mut bars = Vec::new();
    let mut left = beats;
    while left > whole.1 + EPS {
        bars.push(whole);
        left -= whole.1;
    }
    if let Some(sig) = supported(left, preferred) {
        bars.push((sig, left));
        return (bars, false);
    }
    while left > 4.0 + EPS {
        bars.push(((4, 4), 4.0));
        left -= 4.0;
    }
    // At most four beats: a whole number of sixteenths is n/16 with n <= 16.
    let sixteenths = (left * 4.0 - EPS).ceil().clamp(1.0, 16.0);
    let padded = (sixteenths / 4.0 - left).abs() > EPS;
    let sig = supported(sixteenths / 4.0, preferred).unwrap_or((sixteenths as u8, 16));
    bars.push((sig, sixteenths / 4.0));
    (bars, padded)
}

/// Where each played measure starts (and, last, where the piece ends), and the meter.
fn layout(score: &RawScore, order: &[usize], report: &mut ReadReport) -> Result<(Vec<f64>, Meter), MusicXmlError> {
    let n = score.parts.iter().map(|p| p.measures.len()).max().unwrap_or(0);
    let mut measures_bars: Vec<Vec<Bar>> = Vec::with_capacity(n);
    for m in 0..n {
        let measures = || score.parts.iter().filter_map(|p| p.measures.get(m));
        let content = measures().map(|x| x.length).fold(0.0, f64::max);
        let nominal = measures().find_map(|x| x.time);
        let beats = if content > EPS {
            content
        } else {
            nominal.map_or(4.0, |t| t.beats)
        };
        let (bars, padded) = measure_bars(beats, nominal);
        if padded {
            report.padded_measures += 1;
        }
        measures_bars.push(bars);
    }
    let mut starts = Vec::with_capacity(order.len() + 1);
    let mut changes: Vec<MeterChange> = Vec::new();
    let mut beat = 0.0;
    let mut bar = 0u32;
    for &m in order {
        starts.push(beat);
        for &((numerator, denominator), len) in &measures_bars[m] {
            if changes
                .last()
                .is_none_or(|c| (c.numerator, c.denominator) != (numerator, denominator))
            {
                changes.push(MeterChange {
                    bar,
                    numerator,
                    denominator,
                });
            }
            bar += 1;
            beat += len;
        }
        if beat > MAX_PIECE_BEATS {
            return Err(MusicXmlError::TooLong { beat });
        }
    }
    starts.push(beat);
    Ok((starts, Meter::from_changes(changes)))
}

/// A part's notes over the played measures: ties joined, velocities from its dynamics.
fn part_notes(part: &RawPart, order: &[usize], starts: &[f64]) -> Vec<Note> {
    let mut notes: Vec<Note> = Vec::new();
    // Per pitch, the note a tie from it is waiting to continue.
    let mut open: [Option<usize>; 128] = [None; 128];
    let mut level = DEFAULT_VELOCITY;
    let mut sorted: Vec<&RawNote> = Vec::new();
    let mut dynamics = Vec::new();
    for (b, &m) in order.iter().enumerate() {
        let Some(measure) = part.measures.get(m) else {
            continue;
        };
        let bar = starts[b];
        sorted.clear();
        sorted.extend(&measure.notes);
        sorted.sort_by(|x, y| x.offset.total_cmp(&y.offset));
        dynamics.clear();
        dynamics.extend(measure.dynamics.iter().copied());
        dynamics.sort_by(|x, y| x.0.total_cmp(&y.0));
        let mut d = 0;
        for n in sorted.iter() {
            while let Some(&(_, dynamic)) = dynamics.get(d).filter(|(at, _)| *at <= n.offset + EPS) {
                level = dynamic.level.unwrap_or(level);
                d += 1;
            }
            let accent = dynamics
                .iter()
                .filter(|(at, _)| (at - n.offset).abs() < EPS)
                .find_map(|(_, x)| x.accent);
            let velocity = n.velocity.or(accent).unwrap_or(level);
            // Graces before beat 0 are played on it.
            let start = (bar + n.offset).max(0.0);
            let end = start + n.duration;
            let p = n.pitch as usize;
            if n.tie_stop
                && let Some(i) = open[p]
                && (notes[i].end() - start).abs() < EPS
            {
                notes[i].duration = end - notes[i].start;
                if !n.tie_start {
                    open[p] = None;
                }
                continue;
            }
            notes.push(Note {
                start,
                duration: n.duration,
                pitch: n.pitch,
                velocity,
            });
            open[p] = (n.tie_start && !n.grace).then_some(notes.len() - 1);
        }
        for (_, dynamic) in &dynamics[d..] {
            level = dynamic.level.unwrap_or(level);
        }
    }
    notes.sort_by(|a, b| a.start.total_cmp(&b.start).then(a.pitch.cmp(&b.pitch)));
    notes
}

/// Events of every part (for tempo) or of one part (for chords) over the played measures, in
/// beats, sorted stably by time.
fn events<T: Copy>(
    parts: &[&RawPart],
    order: &[usize],
    starts: &[f64],
    of: fn(&RawMeasure) -> &[(f64, T)],
) -> Vec<(f64, T)> {
    let mut out = Vec::new();
    for part in parts {
        for (b, &m) in order.iter().enumerate() {
            if let Some(measure) = part.measures.get(m) {
                let mut these: Vec<(f64, T)> = of(measure).iter().map(|&(at, x)| (starts[b] + at, x)).collect();
                these.sort_by(|x, y| x.0.total_cmp(&y.0));
                out.extend(these);
            }
        }
    }
    out.sort_by(|x, y| x.0.total_cmp(&y.0));
    out
}

/// The tempo map: one change per beat (the first part's), a first tempo in the first bar moved
/// to beat 0, repeats of the tempo in force dropped; 120 BPM before a later first tempo.
fn tempo_map(score: &RawScore, order: &[usize], starts: &[f64]) -> Vec<TempoChange> {
    let parts: Vec<&RawPart> = score.parts.iter().collect();
    let mut out: Vec<TempoChange> = Vec::new();
    let first_bar_end = starts.get(1).copied().unwrap_or(0.0);
    for (beat, bpm) in events(&parts, order, starts, |m| &m.tempos) {
        let beat = if out.is_empty() && beat < first_bar_end - EPS {
            0.0
        } else {
            beat
        };
        if out.last().is_some_and(|l| (l.beat - beat).abs() < EPS || l.bpm == bpm) {
            continue;
        }
        out.push(TempoChange { beat, bpm });
    }
    if out.first().is_some_and(|t| t.beat > 0.0) {
        out.insert(0, TempoChange { beat: 0.0, bpm: 120.0 });
    }
    out
}

/// The chord symbols of the first part that has any, repeats of the chord in force dropped.
fn chords(score: &RawScore, order: &[usize], starts: &[f64]) -> Vec<ChordEvent> {
    let Some(part) = score
        .parts
        .iter()
        .find(|p| p.measures.iter().any(|m| !m.harmonies.is_empty()))
    else {
        return Vec::new();
    };
    let mut out: Vec<ChordEvent> = Vec::new();
    for (start, chord) in events(&[part], order, starts, |m| &m.harmonies) {
        if out.last().is_some_and(|l| l.chord == chord) {
            continue;
        }
        match out.last_mut() {
            // Two symbols at one time: the later one wins.
            Some(l) if (l.start - start).abs() < EPS => l.chord = chord,
            _ => out.push(ChordEvent { start, chord }),
        }
    }
    out
}

/// Builds the piece from the parsed score and the play order.
pub(super) fn build(score: &RawScore, order: &[usize], report: &mut ReadReport) -> Result<Piece, MusicXmlError> {
    let (starts, meter) = layout(score, order, report)?;
    let mut tracks = Vec::new();
    let mut total = 0usize;
    let mut next_channel = 0u8;
    for part in &score.parts {
        let notes = part_notes(part, order, &starts);
        total += notes.len();
        if total > MAX_NOTES {
            return Err(MusicXmlError::TooManyNotes);
        }
        if notes.is_empty() {
            continue;
        }
        let role = role_of(part, &notes);
        let channel = if role == Role::Drums {
            9
        } else {
            part.info.channel.filter(|&c| c != 9).unwrap_or_else(|| {
                let c = next_channel % 15;
                next_channel = next_channel.wrapping_add(1);
                if c >= 9 { c + 1 } else { c }
            })
        };
        let name = if part.info.name.is_empty() {
            part.info.instrument_name.clone()
        } else {
            part.info.name.clone()
        };
        tracks.push(Track {
            name,
            channel,
            program: part.info.program,
            role,
            notes,
        });
    }
    if tracks.is_empty() {
        return Err(MusicXmlError::NoNotes);
    }
    Ok(Piece {
        meter,
        tempo_map: tempo_map(score, order, &starts),
        chords: chords(score, order, &starts),
        tracks,
    })
}
