//! What a set of sounding pitches names as a chord, for the input follower
//! ([`super::InputFollower`]): [`Chord::recognize`], with what a player beside the user hears
//! beyond it (a power chord, a rootless dominant voicing, the chords a broken chord may name).

use crate::chord::{Chord, ChordQuality};

/// Pitches (at most 128) and their pitch classes, gathered for recognition.
#[derive(Clone, Copy)]
pub(super) struct PitchSet {
    pitches: [u8; 128],
    len: usize,
    classes: [bool; 12],
}

impl PitchSet {
    pub(super) fn new() -> PitchSet {
        PitchSet {
            pitches: [0; 128],
            len: 0,
            classes: [false; 12],
        }
    }

    pub(super) fn add(&mut self, pitch: u8) {
        if self.len < self.pitches.len() {
            self.pitches[self.len] = pitch;
            self.len += 1;
        }
        self.classes[(pitch % 12) as usize] = true;
    }

    pub(super) fn distinct(&self) -> usize {
        self.classes.iter().filter(|&&c| c).count()
    }

    pub(super) fn pitches(&self) -> &[u8] {
        &self.pitches[..self.len]
    }

    /// Whether every pitch class of the set is a tone of `c`.
    pub(super) fn within(&self, c: Chord) -> bool {
        (0..12u8).all(|pc| !self.classes[pc as usize] || c.contains_pitch(pc))
    }

    /// The chord two pitch classes suggest: a fifth (a power chord, either way up) the major
    /// triad on its root, as a player names "D5" (where [`Chord::recognize`] would prefer the
    /// suspended chord a fourth above, whose missing fifth costs least, and the rock bass played
    /// that chord's root: 0.07 of its notes on the power chords' roots, now 0.62);
    /// any other pair the chord recognised from it. A jazz pianist's guide tones (a seventh
    /// chord's third and seventh) are named as their notes are: a tritone the diminished triad
    /// both its dominants hold; the fifth of a minor seventh's (F and C for Dm7) a major triad
    /// that belongs to it, of a major seventh's (E and B for Cmaj7) one that does not
    /// (models/README.md, "What the plugin hears as a chord").
    pub(super) fn dyad_chord(&self) -> Option<Chord> {
        let mut pcs = (0..12u8).filter(|&pc| self.classes[pc as usize]);
        if let (Some(a), Some(b), None) = (pcs.next(), pcs.next(), pcs.next()) {
            for (root, fifth) in [(a, b), (b, a)] {
                if (root + 7) % 12 == fifth {
                    return Some(Chord::new(root, ChordQuality::Maj));
                }
            }
        }
        Chord::recognize(self.pitches())
    }

    /// The chord three or more pitch classes name: the chord recognised from them when its tones
    /// hold every one; else the dominant seventh that a jazz pianist's voicing means, when one has
    /// its third and seventh sounding and every other note among its root, fifth and tensions
    /// (ninths, thirteenths, the sharp eleventh): `recognize` names the rootless G13 (F A B E)
    /// "Fmaj7", whose B is foreign to it. Of two such dominants (a tritone's two roots), the one
    /// with fewer altered tensions, then with its root sounding, then with its third lowest.
    pub(super) fn chord(&self) -> Option<Chord> {
        let exact = Chord::recognize(self.pitches())?;
        if self.within(exact) {
            return Some(exact);
        }
        // Intervals above a dominant's root: 0 root, 7 fifth, 2 and 9 natural tensions; 1, 3, 6
        // and 8 altered (b9, #9, #11, b13). Never 5 (the eleventh) or 11 (the major seventh).
        const NATURAL: [u8; 4] = [0, 7, 2, 9];
        const ALTERED: [u8; 4] = [1, 3, 6, 8];
        let lowest = self.pitches().iter().min().map_or(0, |p| p % 12);
        let mut best: Option<((usize, bool, bool), u8)> = None;
        for root in 0..12u8 {
            let has = |i: u8| self.classes[((root + i) % 12) as usize];
            if !has(4) || !has(10) {
                continue;
            }
            let others = (0..12u8).filter(|&i| i != 4 && i != 10 && has(i));
            if others.clone().any(|i| !NATURAL.contains(&i) && !ALTERED.contains(&i)) {
                continue;
            }
            let altered = others.filter(|i| ALTERED.contains(i)).count();
            let key = (altered, !has(0), (root + 4) % 12 != lowest);
            if best.is_none_or(|(k, _)| key < k) {
                best = Some((key, root));
            }
        }
        Some(best.map_or(exact, |(_, root)| Chord::new(root, ChordQuality::Dom7)))
    }

    /// The chord recognised from the set when every pitch class is one of its tones, of a
    /// quality a broken chord names: not the augmented triad or seventh nor the minor-major
    /// seventh, which notes a third apart in a line fit more often than a player breaks them.
    pub(super) fn fitting_chord(&self) -> Option<Chord> {
        let rare = [ChordQuality::Aug, ChordQuality::Aug7, ChordQuality::MinMaj7];
        Chord::recognize(self.pitches()).filter(|&c| !rare.contains(&c.quality) && self.within(c))
    }
}
