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

    /// The pitch classes, bit `pc` for each.
    pub(super) fn class_bits(&self) -> u16 {
        (0..12)
            .filter(|&pc| self.classes[pc])
            .fold(0, |bits, pc| bits | 1 << pc)
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

/// A voicing: the pitch classes of keys struck together, and its lowest key's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Voicing {
    pub(super) classes: u16,
    lowest: u8,
}

impl Voicing {
    pub(super) fn of(set: &PitchSet) -> Option<Voicing> {
        let lowest = set.pitches().iter().min()? % 12;
        Some(Voicing {
            classes: set.class_bits(),
            lowest,
        })
    }

    /// Whether this voicing is `other` with keys added above its lowest.
    pub(super) fn grows(&self, other: &Voicing) -> bool {
        self.lowest == other.lowest && self.classes & other.classes == other.classes && self.classes != other.classes
    }

    /// Whether `set` is this voicing struck again: from the same lowest pitch class, nothing
    /// added, some of its keys perhaps not down yet (a few milliseconds apart, the lowest first).
    pub(super) fn struck_again(&self, set: &PitchSet) -> bool {
        Voicing::of(set).is_some_and(|v| v.lowest == self.lowest && v.classes & !self.classes == 0)
    }
}

/// What a jazz pianist's voicing may mean besides the chord its notes name: a tritone the two
/// dominants whose third and seventh it is (B F: G7, Db7); a fifth the minor seventh and the major
/// seventh whose third and seventh it is (F C: Dm7; E B: Cmaj7); a major seventh the minor ninth a
/// third below without its root (F A C E: Dm9), a minor seventh the major ninth (E G B D: Cmaj9).
fn readings(named: Chord, set: &PitchSet) -> [Option<Chord>; 2] {
    let below = |down: u8, q: ChordQuality| Some(Chord::new((named.root + 12 - down) % 12, q));
    let mut pcs = (0..12u8).filter(|&pc| set.classes[pc as usize]);
    match (pcs.next(), pcs.next(), pcs.next()) {
        (Some(a), Some(b), None) => match (b + 12 - a) % 12 {
            6 => [a, b].map(|third| Some(Chord::new((third + 8) % 12, ChordQuality::Dom7))),
            5 | 7 => {
                // The pair's lower pitch class by a fifth, then the chord whose third it is.
                let third = if (b + 12 - a) % 12 == 7 { a } else { b };
                [
                    Some(Chord::new((third + 9) % 12, ChordQuality::Min7)),
                    Some(Chord::new((third + 8) % 12, ChordQuality::Maj7)),
                ]
            }
            _ => [None, None],
        },
        _ => match named.quality {
            ChordQuality::Maj7 if set.distinct() == 4 => [below(3, ChordQuality::Min7), None],
            ChordQuality::Min7 if set.distinct() == 4 => [below(4, ChordQuality::Maj7), None],
            _ => [None, None],
        },
    }
}

/// Whether `set` holds the third and the seventh of `c` (a minor, major or dominant seventh) and
/// nothing but its tones and the tensions a player adds to it: the ninth and the thirteenth (the
/// eleventh over a minor seventh, the sharp eleventh over a major seventh, any altered tension
/// over a dominant).
fn spells(c: Chord, set: &PitchSet) -> bool {
    let (third, seventh, others): (u8, u8, &[u8]) = match c.quality {
        ChordQuality::Min7 => (3, 10, &[0, 7, 2, 5, 9]),
        ChordQuality::Maj7 => (4, 11, &[0, 7, 2, 9, 6]),
        ChordQuality::Dom7 => (4, 10, &[0, 7, 2, 9, 1, 3, 6, 8]),
        _ => return false,
    };
    let has = |i: u8| set.classes[((c.root + i) % 12) as usize];
    has(third) && has(seventh) && (0..12u8).all(|i| !has(i) || i == third || i == seventh || others.contains(&i))
}

/// The roots `before` may have had as a voicing ([`readings`] of its quality): a triad's as a
/// fifth's, a diminished triad's as a tritone's, a major or minor seventh's as a rootless ninth's.
fn roots_of(before: Chord) -> [Option<u8>; 3] {
    let down = |d: u8| Some((before.root + 12 - d) % 12);
    match before.quality {
        ChordQuality::Maj => [Some(before.root), down(3), down(4)],
        ChordQuality::Dim => [Some(before.root), down(4), Some((before.root + 2) % 12)],
        ChordQuality::Maj7 => [Some(before.root), down(3), None],
        ChordQuality::Min7 => [Some(before.root), down(4), None],
        _ => [Some(before.root), None, None],
    }
}

/// The chord a set of pitch classes names after the chord `before`, as a jazz player hears a
/// shell or a rootless voicing in a progression (models/README.md, "Shells and rootless voicings
/// in context"): `named`, unless a [`readings`] of it is where the harmony goes:
/// - a tritone names a dominant: the one a fourth above `before`, else the one whose root is in
///   `before`'s scale (Cmaj7, then G C#: A7), else the one a fourth above what `before` may have
///   been as a voicing;
/// - a fifth or a rootless seventh names its other reading when `before` is a dominant seventh
///   a fifth above it (G7, then E B: Cmaj7; A7, then F A C E: Dm9) and `named` is not.
///
/// Anywhere else (a power chord, a pop progression's major seventh) `named` stands.
pub(super) fn in_context(named: Chord, set: &PitchSet, before: Option<Chord>) -> Chord {
    let Some(before) = before else { return named };
    let fourth_above = |root: u8, from: u8| root == (from + 5) % 12;
    if named == before || fourth_above(named.root, before.root) {
        return named;
    }
    // Both hands (a rootless voicing and a melody key over it: F A C E and D after A7) spell the
    // seventh chord a fourth above the chord before, with its tensions.
    if set.distinct() >= 5
        && let Some(c) = [ChordQuality::Min7, ChordQuality::Maj7, ChordQuality::Dom7]
            .map(|q| Chord::new(before.root + 5, q))
            .into_iter()
            .find(|&c| spells(c, set))
    {
        return c;
    }
    let readings = readings(named, set);
    let tritone = readings.iter().flatten().any(|c| c.quality == ChordQuality::Dom7);
    if tritone {
        // A fourth above the chord before, else the one in its scale (F C heard as F, then F B:
        // G7), else a fourth above what the chord before may have been as a voicing.
        let dominants = || readings.iter().flatten().copied();
        if let Some(c) = dominants().find(|c| fourth_above(c.root, before.root)) {
            return c;
        }
        let scale: &[u8] = if before.contains_pitch(before.root + 4) {
            &[0, 2, 4, 5, 7, 9, 11]
        } else {
            &[0, 2, 3, 5, 7, 8, 10]
        };
        let mut fits = dominants().filter(|c| scale.contains(&((c.root + 12 - before.root) % 12)));
        if let (Some(c), None) = (fits.next(), fits.next()) {
            return c;
        }
        let roots = roots_of(before);
        return dominants()
            .find(|c| roots.iter().flatten().any(|&from| fourth_above(c.root, from)))
            .unwrap_or(named);
    }
    if before.quality == ChordQuality::Dom7
        && let Some(r) = readings.iter().flatten().find(|c| fourth_above(c.root, before.root))
    {
        return *r;
    }
    named
}
