//! Where a line breathes. A soloist plays a phrase, falls silent, and plays the next; the
//! empty-beat rate counts how much of a passage is silent, not how the silence is spent. A line
//! that scatters short rests through its bars and one that plays long phrases with a breath
//! between them can leave as many beats empty; a listener hears the first as fragments.

use super::metrics::Passage;

/// A silence at least this long (beats, from the end of every note sounding to the next onset)
/// ends a phrase.
pub const BREATH: f64 = 1.0;

/// One phrase of a passage: from its first onset to the end of its last sounding note (beats).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Phrase {
    pub start: f64,
    pub end: f64,
    /// Notes started in it.
    pub notes: usize,
}

/// `p`'s phrases in order: the passage cut wherever nothing sounds for [`BREATH`] or longer,
/// each phrase from its first onset to the end of its last sounding note (clipped at the
/// passage's end). The silence before the first note (an entry) and after the last is not part
/// of any phrase.
pub fn phrases(p: &Passage) -> Vec<Phrase> {
    let end = p.total_beats();
    let mut notes: Vec<(f64, f64)> = p
        .in_range()
        .map(|n| (n.start, (n.start + n.duration.max(0.0)).min(end)))
        .collect();
    notes.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut out: Vec<Phrase> = Vec::new();
    for (start, stop) in notes {
        match out.last_mut() {
            Some(ph) if start - ph.end < BREATH - 1e-9 => {
                ph.end = ph.end.max(stop);
                ph.notes += 1;
            }
            _ => out.push(Phrase {
                start,
                end: stop,
                notes: 1,
            }),
        }
    }
    out
}

/// Mean length of `p`'s [`phrases`] in beats; NaN without notes.
pub fn phrase_length(p: &Passage) -> f64 {
    let ph = phrases(p);
    if ph.is_empty() {
        return f64::NAN;
    }
    ph.iter().map(|x| x.end - x.start).sum::<f64>() / ph.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use models::music::Note;

    fn n(start: f64, duration: f64) -> Note {
        Note {
            start,
            duration,
            pitch: 60,
            velocity: 80,
        }
    }

    #[test]
    fn a_beat_of_silence_ends_a_phrase_and_a_shorter_one_does_not() {
        // Eighths over beats 0-2 (the last ends at 2.0), silence to 3.0 (one beat: a breath),
        // then a note at 3.0-3.5, half a beat of silence, and a note at 4.0-6.0.
        let notes = [
            n(0.0, 0.5),
            n(0.5, 0.5),
            n(1.0, 0.5),
            n(1.5, 0.5),
            n(3.0, 0.5),
            n(4.0, 2.0),
        ];
        let p = Passage::four_four(&notes, 2);
        // Phrases: [0, 2] (2 beats, four notes) and [3, 6] (3 beats, two notes).
        let ph = phrases(&p);
        assert_eq!(
            ph.iter().map(|x| (x.start, x.end, x.notes)).collect::<Vec<_>>(),
            [(0.0, 2.0, 4), (3.0, 6.0, 2)]
        );
        assert!((phrase_length(&p) - 2.5).abs() < 1e-9, "{}", phrase_length(&p));
        // The same notes played legato (every silence closed) are one phrase of 6 beats.
        let legato = [n(0.0, 3.0), n(3.0, 1.0), n(4.0, 2.0)];
        assert!((phrase_length(&Passage::four_four(&legato, 2)) - 6.0).abs() < 1e-9);
    }

    #[test]
    fn a_held_note_bridges_the_notes_inside_it_and_the_entry_is_not_counted() {
        // The line enters on beat 2 (the rest before it is no phrase); a long note from 2 to 6
        // sounds under a short one at 2.5; the next onset at 6.5 follows half a beat after it.
        // The last note is clipped at the passage's end (8 beats).
        let notes = [n(2.0, 4.0), n(2.5, 0.25), n(6.5, 4.0)];
        assert!((phrase_length(&Passage::four_four(&notes, 2)) - 6.0).abs() < 1e-9);
        assert!(phrase_length(&Passage::four_four(&[], 2)).is_nan());
    }
}
