//! Repeats, voltas and playback jumps expanded into the order the measures are played.

use super::score::{Marks, RawScore};
use super::{MAX_PLAYED_MEASURES, MusicXmlError, ReadReport};

/// The marks of measure `i` of every part together (parts usually repeat them).
fn merged(score: &RawScore, i: usize) -> Marks {
    let mut m = Marks::default();
    for x in score.parts.iter().filter_map(|p| p.measures.get(i)).map(|x| &x.marks) {
        m.forward_repeat |= x.forward_repeat;
        m.backward_repeat = m.backward_repeat.max(x.backward_repeat);
        if m.ending_start.is_none() {
            m.ending_start.clone_from(&x.ending_start);
        }
        m.ending_stop |= x.ending_stop;
        m.segno.extend(x.segno.iter().cloned());
        m.coda.extend(x.coda.iter().cloned());
        m.dacapo |= x.dacapo;
        m.fine |= x.fine;
        if m.dalsegno.is_none() {
            m.dalsegno.clone_from(&x.dalsegno);
        }
        if m.tocoda.is_none() {
            m.tocoda.clone_from(&x.tocoda);
        }
        for t in &x.text_jumps {
            if !m.text_jumps.contains(t) {
                m.text_jumps.push(t.clone());
            }
        }
    }
    m
}

/// The last measure of the ending that starts at `start`: the first that stops (or
/// discontinues) an ending, else the one before the next ending, else `start` itself.
fn ending_end(marks: &[Marks], start: usize) -> usize {
    for (k, m) in marks.iter().enumerate().skip(start) {
        if m.ending_stop {
            return k;
        }
        if k > start && m.ending_start.is_some() {
            return k - 1;
        }
    }
    start
}

/// The measure holding a segno or coda called `name` (else the first one of any name), looking
/// from `from` on first.
fn target(marks: &[Marks], name: &str, from: usize, names: fn(&Marks) -> &Vec<String>) -> Option<usize> {
    let order = (from..marks.len()).chain(0..from.min(marks.len()));
    let named = order.clone().find(|&k| names(&marks[k]).iter().any(|n| n == name));
    named.or_else(|| order.clone().find(|&k| !names(&marks[k]).is_empty()))
}

/// Measure indices (written order) in the order they are played: repeats (with `times`),
/// voltas by pass number, then one `<sound>` jump (D.C., D.S., To Coda, Fine), after which no
/// repeat is taken and only the last volta (the one that does not repeat) is played.
pub(super) fn play_order(score: &RawScore, report: &mut ReadReport) -> Result<Vec<usize>, MusicXmlError> {
    let n = score.parts.iter().map(|p| p.measures.len()).max().unwrap_or(0);
    let marks: Vec<Marks> = (0..n).map(|i| merged(score, i)).collect();
    let number = |i: usize| {
        score
            .parts
            .iter()
            .find_map(|p| p.measures.get(i))
            .map_or_else(|| (i + 1).to_string(), |m| m.number.clone())
    };
    for (i, m) in marks.iter().enumerate() {
        if !m.has_sound_jump() {
            for text in &m.text_jumps {
                report.unexpanded_jumps.push((text.clone(), number(i)));
            }
        }
    }

    // Whether a measure is the last of an ending.
    let mut ends_an_ending = vec![false; n];
    for (s, m) in marks.iter().enumerate() {
        if m.ending_start.is_some() {
            ends_an_ending[ending_end(&marks, s)] = true;
        }
    }

    let mut out = Vec::with_capacity(n);
    let mut i = 0usize;
    let mut section_start = 0usize;
    let mut pass = 1u32;
    // After a section's last pass: the next measure outside an ending starts pass 1 again.
    let mut pending_reset = false;
    let mut taken = vec![0u32; n];
    let mut jumped = false;
    let mut coda_taken = false;
    while i < n {
        let mk = &marks[i];
        if mk.forward_repeat && i != section_start {
            section_start = i;
            pass = 1;
            pending_reset = false;
        } else if pending_reset && mk.ending_start.is_none() {
            pass = 1;
            pending_reset = false;
        }
        if let Some(numbers) = &mk.ending_start {
            let end = ending_end(&marks, i);
            let play = if jumped {
                marks[end].backward_repeat.is_none()
            } else {
                numbers.is_empty() || numbers.contains(&pass)
            };
            if !play {
                i = end + 1;
                continue;
            }
        }
        out.push(i);
        if out.len() > MAX_PLAYED_MEASURES {
            return Err(MusicXmlError::TooManyMeasures);
        }
        if jumped && mk.fine {
            break;
        }
        if jumped
            && !coda_taken
            && let Some(name) = &mk.tocoda
        {
            match target(&marks, name, i + 1, |m| &m.coda) {
                Some(c) if c != i => {
                    coda_taken = true;
                    i = c;
                    continue;
                }
                _ => report
                    .missing_jump_targets
                    .push((format!("To Coda {name:?}"), number(i))),
            }
        }
        match mk.backward_repeat {
            Some(times) if !jumped => {
                if taken[i] + 1 < times {
                    taken[i] += 1;
                    pass += 1;
                    i = section_start;
                    continue;
                }
                taken[i] = 0;
                pass += 1;
                section_start = i + 1;
                pending_reset = true;
            }
            None if ends_an_ending[i] => {
                section_start = i + 1;
                pending_reset = true;
            }
            _ => {}
        }
        if !jumped && mk.dacapo {
            jumped = true;
            section_start = 0;
            pass = 1;
            i = 0;
            continue;
        }
        if !jumped && let Some(name) = &mk.dalsegno {
            match target(&marks, name, 0, |m| &m.segno) {
                Some(s) => {
                    jumped = true;
                    section_start = s;
                    pass = 1;
                    i = s;
                    continue;
                }
                None => report.missing_jump_targets.push((format!("D.S. {name:?}"), number(i))),
            }
        }
        i += 1;
    }
    Ok(out)
}
