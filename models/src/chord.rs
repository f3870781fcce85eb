//! Chord symbols reduced to a fixed quality set, parsing, and recognition from held notes.
//!
//! The tokenizer writes a chord as a root (pitch class) and one of [`ChordQuality::ALL`]. Tensions
//! are reduced: natural 9/11/13 keep the seventh chord they extend; any altered tension of a
//! dominant (b9, #9, b5, b13, `alt`) becomes [`ChordQuality::Dom7Alt`] (a #11 alone keeps the
//! dominant: lydian dominant is not altered); slash basses are dropped
//! (the bass is conditioning of its own).

use serde::{Deserialize, Serialize};

/// The reduced chord qualities. The order is the token order and never changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ChordQuality {
    /// Major triad (C).
    Maj,
    /// Minor triad (Cm, C-).
    Min,
    /// Dominant seventh (C7, C9, C13).
    Dom7,
    /// Major seventh (Cmaj7, Cj7, CΔ).
    Maj7,
    /// Minor seventh (Cm7, C-7).
    Min7,
    /// Half-diminished (Cm7b5, Cø).
    HalfDim7,
    /// Diminished triad (Co, Cdim).
    Dim,
    /// Diminished seventh (Co7, Cdim7).
    Dim7,
    /// Augmented triad (C+).
    Aug,
    /// Major sixth (C6, C69).
    Maj6,
    /// Minor sixth (Cm6, C-6).
    Min6,
    /// Suspended fourth triad (Csus, Csus4, Csus2).
    Sus4,
    /// Dominant seventh, suspended fourth (C7sus4, C9sus).
    Dom7Sus4,
    /// Minor-major seventh (Cm(maj7), C-j7).
    MinMaj7,
    /// Altered dominant (C7b9, C7#9, C7alt, C7b13).
    Dom7Alt,
    /// Augmented seventh (C7#5, C+7).
    Aug7,
}

impl ChordQuality {
    /// Every quality, in token order.
    pub const ALL: [ChordQuality; 16] = [
        ChordQuality::Maj,
        ChordQuality::Min,
        ChordQuality::Dom7,
        ChordQuality::Maj7,
        ChordQuality::Min7,
        ChordQuality::HalfDim7,
        ChordQuality::Dim,
        ChordQuality::Dim7,
        ChordQuality::Aug,
        ChordQuality::Maj6,
        ChordQuality::Min6,
        ChordQuality::Sus4,
        ChordQuality::Dom7Sus4,
        ChordQuality::MinMaj7,
        ChordQuality::Dom7Alt,
        ChordQuality::Aug7,
    ];

    /// Position in [`ChordQuality::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// Intervals above the root, in semitones, of the chord's defining tones.
    pub fn intervals(self) -> &'static [u8] {
        match self {
            ChordQuality::Maj => &[0, 4, 7],
            ChordQuality::Min => &[0, 3, 7],
            ChordQuality::Dom7 => &[0, 4, 7, 10],
            ChordQuality::Maj7 => &[0, 4, 7, 11],
            ChordQuality::Min7 => &[0, 3, 7, 10],
            ChordQuality::HalfDim7 => &[0, 3, 6, 10],
            ChordQuality::Dim => &[0, 3, 6],
            ChordQuality::Dim7 => &[0, 3, 6, 9],
            ChordQuality::Aug => &[0, 4, 8],
            ChordQuality::Maj6 => &[0, 4, 7, 9],
            ChordQuality::Min6 => &[0, 3, 7, 9],
            ChordQuality::Sus4 => &[0, 5, 7],
            ChordQuality::Dom7Sus4 => &[0, 5, 7, 10],
            ChordQuality::MinMaj7 => &[0, 3, 7, 11],
            ChordQuality::Dom7Alt => &[0, 4, 10, 1, 3, 8],
            ChordQuality::Aug7 => &[0, 4, 8, 10],
        }
    }

    /// The triad the quality extends (its third and fifth, without the seventh, sixth or
    /// tensions): what a player who holds the chord's triad names. A dominant's alterations and
    /// the augmented seventh keep their third (major), the altered fifth of the latter too.
    pub fn triad(self) -> ChordQuality {
        match self {
            ChordQuality::Maj
            | ChordQuality::Dom7
            | ChordQuality::Maj7
            | ChordQuality::Maj6
            | ChordQuality::Dom7Alt => ChordQuality::Maj,
            ChordQuality::Min | ChordQuality::Min7 | ChordQuality::Min6 | ChordQuality::MinMaj7 => ChordQuality::Min,
            ChordQuality::Dim | ChordQuality::HalfDim7 | ChordQuality::Dim7 => ChordQuality::Dim,
            ChordQuality::Aug | ChordQuality::Aug7 => ChordQuality::Aug,
            ChordQuality::Sus4 | ChordQuality::Dom7Sus4 => ChordQuality::Sus4,
        }
    }

    /// The suffix written after the root by [`Chord`]'s `Display`.
    pub fn suffix(self) -> &'static str {
        match self {
            ChordQuality::Maj => "",
            ChordQuality::Min => "m",
            ChordQuality::Dom7 => "7",
            ChordQuality::Maj7 => "maj7",
            ChordQuality::Min7 => "m7",
            ChordQuality::HalfDim7 => "m7b5",
            ChordQuality::Dim => "dim",
            ChordQuality::Dim7 => "dim7",
            ChordQuality::Aug => "aug",
            ChordQuality::Maj6 => "6",
            ChordQuality::Min6 => "m6",
            ChordQuality::Sus4 => "sus4",
            ChordQuality::Dom7Sus4 => "7sus4",
            ChordQuality::MinMaj7 => "mmaj7",
            ChordQuality::Dom7Alt => "7alt",
            ChordQuality::Aug7 => "7#5",
        }
    }
}

/// A chord: root pitch class (0 = C) and reduced quality.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Chord {
    /// Pitch class of the root, 0-11 (0 = C).
    pub root: u8,
    /// Reduced quality.
    pub quality: ChordQuality,
}

const ROOT_NAMES: [&str; 12] = ["C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B"];

impl std::fmt::Display for Chord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}", ROOT_NAMES[(self.root % 12) as usize], self.quality.suffix())
    }
}

/// Why a chord symbol could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot read chord symbol {symbol:?}: {reason}")]
pub struct ChordParseError {
    /// The symbol as given.
    pub symbol: String,
    /// What was wrong with it.
    pub reason: &'static str,
}

impl Chord {
    /// Builds a chord, reducing the root to a pitch class.
    pub fn new(root: u8, quality: ChordQuality) -> Chord {
        Chord {
            root: root % 12,
            quality,
        }
    }

    /// Pitch classes of the chord tones.
    pub fn pitch_classes(&self) -> impl Iterator<Item = u8> + '_ {
        self.quality.intervals().iter().map(move |i| (self.root + i) % 12)
    }

    /// True when `pitch` (any octave) is a chord tone.
    pub fn contains_pitch(&self, pitch: u8) -> bool {
        let pc = pitch % 12;
        self.pitch_classes().any(|c| c == pc)
    }

    /// The chord moved by `semitones` (any sign).
    pub fn transposed(&self, semitones: i32) -> Chord {
        Chord {
            root: (self.root as i32 + semitones).rem_euclid(12) as u8,
            quality: self.quality,
        }
    }

    /// Parses a chord symbol. Returns `Ok(None)` for "no chord" (`NC`, `N.C.`, empty).
    ///
    /// Accepts common lead-sheet spellings (`Dm7`, `G7b9`, `Cmaj7`, `F#m7b5`, `Bbdim7`, `Eb6/9`,
    /// `C7sus4`, `Am(maj7)`) and the Jazzomat syntax of the Weimar Jazz Database (`D-7`, `Cj7`,
    /// `Bbo`, `F+`, `G79b`, `Ebj7911#`, `C-j7`, `Gsus7`, slash basses `C7/E`).
    pub fn parse(symbol: &str) -> Result<Option<Chord>, ChordParseError> {
        let s = symbol.trim();
        let err = |reason| ChordParseError {
            symbol: symbol.to_string(),
            reason,
        };
        if s.is_empty() || s.eq_ignore_ascii_case("nc") || s.eq_ignore_ascii_case("n.c.") {
            return Ok(None);
        }
        let bytes = s.as_bytes();
        let letter = match bytes[0].to_ascii_uppercase() {
            b'C' => 0,
            b'D' => 2,
            b'E' => 4,
            b'F' => 5,
            b'G' => 7,
            b'A' => 9,
            b'B' => 11,
            _ => return Err(err("the root must be a letter A-G")),
        };
        let mut i = 1;
        let mut root: i32 = letter;
        while i < bytes.len() && (bytes[i] == b'b' || bytes[i] == b'#') {
            // "b" directly after the root is a flat; "Bb" etc.
            root += if bytes[i] == b'#' { 1 } else { -1 };
            i += 1;
        }
        let rest = &s[i..];
        // Drop a slash bass ("C7/E"), but not the "/9" of "6/9".
        let rest = match rest.rfind('/') {
            Some(p) if rest[p + 1..].chars().next().is_some_and(|c| c.is_ascii_alphabetic()) => &rest[..p],
            _ => rest,
        };
        let quality = parse_quality(rest).ok_or_else(|| err("unknown chord quality"))?;
        Ok(Some(Chord {
            root: root.rem_euclid(12) as u8,
            quality,
        }))
    }

    /// Finds the chord that best explains a set of sounding pitches (any octaves), as the plugin
    /// does with the notes a user holds and the dataset preparation does with comping tracks.
    ///
    /// Scores every root and quality: chord tones present count for, notes outside the chord count
    /// against, missing chord tones count a little against; the lowest note breaks ties towards
    /// root position. Returns `None` for fewer than two distinct pitch classes.
    pub fn recognize(pitches: &[u8]) -> Option<Chord> {
        let mut present = [false; 12];
        let mut lowest: Option<u8> = None;
        for &p in pitches {
            present[(p % 12) as usize] = true;
            lowest = Some(lowest.map_or(p, |l| l.min(p)));
        }
        let distinct = present.iter().filter(|&&b| b).count();
        if distinct < 2 {
            return None;
        }
        let bass_pc = lowest.map(|l| l % 12);
        let mut best: Option<(i32, Chord)> = None;
        for root in 0..12u8 {
            for &quality in &ChordQuality::ALL {
                // Dom7Alt is a reduction target for symbols, never a recognition result.
                if quality == ChordQuality::Dom7Alt {
                    continue;
                }
                let chord = Chord { root, quality };
                let mut tones = [false; 12];
                for pc in chord.pitch_classes() {
                    tones[pc as usize] = true;
                }
                let mut score = 0;
                for pc in 0..12 {
                    score += match (present[pc], tones[pc]) {
                        (true, true) => 10,
                        (true, false) => -8,
                        (false, true) => {
                            if pc as u8 == (root + 7) % 12 {
                                -2
                            } else {
                                -6
                            }
                        }
                        (false, false) => 0,
                    };
                }
                if !present[root as usize] {
                    score -= 4;
                }
                if bass_pc == Some(root) {
                    score += 3;
                }
                // Prefer simpler chords on ties.
                score = score * 4 - (quality.intervals().len() as i32 - 3);
                if best.is_none_or(|(s, _)| score > s) {
                    best = Some((score, chord));
                }
            }
        }
        best.map(|(_, c)| c)
    }
}

fn parse_quality(q: &str) -> Option<ChordQuality> {
    use ChordQuality::*;
    // Normalise spellings to one ASCII vocabulary.
    let q = q
        .replace(['(', ')', ',', ' '], "")
        .replace("Δ", "j")
        .replace("ø", "m7b5")
        .replace("°", "o")
        .replace("maj", "j")
        .replace("Maj", "j")
        .replace("MA", "j")
        .replace("min", "-")
        .replace("mi", "-")
        .replace("dim", "o")
        .replace("aug", "+");
    let mut s = q.as_str();
    // Triad part.
    let minor = if let Some(r) = s.strip_prefix('-').or_else(|| s.strip_prefix('m')) {
        s = r;
        true
    } else {
        false
    };
    if !minor && s.starts_with('M') && !s.starts_with("M7") {
        s = &s[1..];
    }
    if let Some(r) = s.strip_prefix("M7") {
        s = r;
        return Some(finish_seventh(if minor { MinMaj7 } else { Maj7 }, s));
    }
    if let Some(r) = s.strip_prefix('o') {
        return Some(if r.starts_with('7') { Dim7 } else { Dim });
    }
    if let Some(r) = s.strip_prefix('+') {
        // An augmented major seventh (`+j7`) has no quality of its own: its triad is the nearest
        // (Aug7 would add a minor seventh). An augmented dominant with an altered ninth is altered.
        if r.starts_with('j') {
            return Some(Aug);
        }
        if r.contains('7') {
            let altered = ["b9", "9b", "#9", "9#", "alt"].iter().any(|t| r.contains(t));
            return Some(if altered { Dom7Alt } else { Aug7 });
        }
        return Some(Aug);
    }
    if minor {
        if s.starts_with("7b5") || s.starts_with("7-5") {
            return Some(HalfDim7);
        }
        if let Some(r) = s.strip_prefix('j') {
            return if r.is_empty() || r.starts_with('7') || r.starts_with('9') {
                Some(MinMaj7)
            } else {
                None
            };
        }
        if s.starts_with('6') {
            return Some(Min6);
        }
        if s.starts_with('7') || s.starts_with('9') || s.starts_with("11") || s.starts_with("13") {
            return Some(Min7);
        }
        return if s.is_empty() || s.starts_with("add") || s.starts_with('b') || s.starts_with('#') {
            Some(Min)
        } else {
            None
        };
    }
    if let Some(r) = s.strip_prefix('j') {
        return if r.is_empty()
            || r.chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit() || c == '#' || c == 'b')
        {
            Some(Maj7)
        } else {
            None
        };
    }
    if s.starts_with('6') {
        return Some(Maj6);
    }
    if let Some(r) = s.strip_prefix("sus") {
        return Some(if r.contains('7') || r.contains('9') || r.contains("13") {
            Dom7Sus4
        } else {
            Sus4
        });
    }
    if s.starts_with('7') || s.starts_with('9') || s.starts_with("11") || s.starts_with("13") || s.starts_with("alt") {
        let digits_end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let tail = &s[digits_end..];
        if tail.starts_with("sus") {
            return Some(Dom7Sus4);
        }
        if s.starts_with("alt") {
            return Some(Dom7Alt);
        }
        return Some(finish_seventh(Dom7, s));
    }
    if s.is_empty() || s.starts_with("add") || s.starts_with('5') || s.starts_with('2') {
        return Some(Maj);
    }
    None
}

/// Reduces the tensions after a seventh chord's name: altered tensions on a dominant make it
/// [`ChordQuality::Dom7Alt`], a raised fifth [`ChordQuality::Aug7`].
fn finish_seventh(base: ChordQuality, tensions: &str) -> ChordQuality {
    if base != ChordQuality::Dom7 {
        return base;
    }
    let t = tensions;
    // Jazzomat writes the alteration after the number ("79b", "713b"), lead sheets before ("7b9").
    let sharp5 = t.contains("#5") || t.contains("5#") || t.contains("+5");
    let flat5 = t.contains("b5") || t.contains("5b");
    let altered = t.contains("alt")
        || t.contains("b9")
        || t.contains("9b")
        || t.contains("#9")
        || t.contains("9#")
        || t.contains("b13")
        || t.contains("13b")
        || flat5;
    if altered {
        ChordQuality::Dom7Alt
    } else if sharp5 {
        ChordQuality::Aug7
    } else {
        ChordQuality::Dom7
    }
}

#[cfg(test)]
mod tests {
    use super::ChordQuality::*;
    use super::*;

    fn p(s: &str) -> Chord {
        Chord::parse(s).unwrap().unwrap_or_else(|| panic!("{s} parsed as NC"))
    }

    #[test]
    fn parses_lead_sheet_symbols() {
        assert_eq!(p("Dm7"), Chord::new(2, Min7));
        assert_eq!(p("G7"), Chord::new(7, Dom7));
        assert_eq!(p("Cmaj7"), Chord::new(0, Maj7));
        assert_eq!(p("F#m7b5"), Chord::new(6, HalfDim7));
        assert_eq!(p("Bbdim7"), Chord::new(10, Dim7));
        assert_eq!(p("Eb6/9"), Chord::new(3, Maj6));
        assert_eq!(p("C7sus4"), Chord::new(0, Dom7Sus4));
        assert_eq!(p("Am(maj7)"), Chord::new(9, MinMaj7));
        assert_eq!(p("G7b9"), Chord::new(7, Dom7Alt));
        assert_eq!(p("G13"), Chord::new(7, Dom7));
        assert_eq!(p("C7/E"), Chord::new(0, Dom7));
        assert_eq!(p("A"), Chord::new(9, Maj));
        assert_eq!(p("Cm"), Chord::new(0, Min));
        assert_eq!(Chord::parse("NC").unwrap(), None);
    }

    #[test]
    fn parses_jazzomat_symbols() {
        assert_eq!(p("D-7"), Chord::new(2, Min7));
        assert_eq!(p("Cj7"), Chord::new(0, Maj7));
        assert_eq!(p("Bbo"), Chord::new(10, Dim));
        assert_eq!(p("F+"), Chord::new(5, Aug));
        assert_eq!(p("G79b"), Chord::new(7, Dom7Alt));
        assert_eq!(p("G79#"), Chord::new(7, Dom7Alt));
        assert_eq!(p("Ebj7911#"), Chord::new(3, Maj7));
        assert_eq!(p("C-j7"), Chord::new(0, MinMaj7));
        assert_eq!(p("Gsus7"), Chord::new(7, Dom7Sus4));
        assert_eq!(p("Bb6"), Chord::new(10, Maj6));
        assert_eq!(p("Cm7b5"), Chord::new(0, HalfDim7));
        assert_eq!(p("E-"), Chord::new(4, Min));
        assert_eq!(p("Galt"), Chord::new(7, Dom7Alt));
        assert_eq!(p("Do7"), Chord::new(2, Dim7));
    }

    #[test]
    fn augmented_major_seventh_and_altered_augmented_dominants() {
        // Found in the WJazzD beat tracks: `F+j7` was read as a dominant 7#5, and `B+79#` (7#5#9)
        // as an unaltered 7#5, against the documented reduction.
        assert_eq!(p("F+j7"), Chord::new(5, Aug));
        assert_eq!(p("Ab+j7/C"), Chord::new(8, Aug));
        assert_eq!(p("Caug(maj7)"), Chord::new(0, Aug));
        assert_eq!(p("B+79#"), Chord::new(11, Dom7Alt));
        assert_eq!(p("Ab+79b"), Chord::new(8, Dom7Alt));
        assert_eq!(p("C+7b9"), Chord::new(0, Dom7Alt));
        assert_eq!(p("G+7"), Chord::new(7, Aug7));
        assert_eq!(p("F+7911#"), Chord::new(5, Aug7));
        assert_eq!(p("Bb+79"), Chord::new(10, Aug7));
        assert_eq!(p("F+/Ab"), Chord::new(5, Aug));
    }

    /// Every quality's triad is a triad whose tones the quality holds (its root, third and fifth).
    #[test]
    fn each_quality_names_the_triad_it_extends() {
        let triads = [
            ChordQuality::Maj,
            ChordQuality::Min,
            ChordQuality::Dim,
            ChordQuality::Aug,
            ChordQuality::Sus4,
        ];
        for q in ChordQuality::ALL {
            let t = q.triad();
            assert!(triads.contains(&t), "{q:?} -> {t:?}");
            // An altered dominant's fifth may be altered: its root and third, at least.
            let kept = if q == ChordQuality::Dom7Alt { 2 } else { 3 };
            assert!(
                t.intervals()[..kept].iter().all(|i| q.intervals().contains(i)),
                "{q:?} -> {t:?}"
            );
            assert_eq!(t.triad(), t);
        }
        assert_eq!(ChordQuality::Maj7.triad(), ChordQuality::Maj);
        assert_eq!(ChordQuality::Min7.triad(), ChordQuality::Min);
        assert_eq!(ChordQuality::Dom7.triad(), ChordQuality::Maj);
    }

    #[test]
    fn rejects_garbage() {
        assert!(Chord::parse("H7").is_err());
        assert!(Chord::parse("Cxyz").is_err());
    }

    #[test]
    fn display_round_trips_through_parse() {
        for root in 0..12 {
            for q in ChordQuality::ALL {
                let c = Chord::new(root, q);
                assert_eq!(p(&c.to_string()), c, "{c}");
            }
        }
    }

    #[test]
    fn recognizes_voicings() {
        assert_eq!(Chord::recognize(&[50, 53, 57, 60]), Some(Chord::new(2, Min7)));
        assert_eq!(Chord::recognize(&[43, 59, 65, 62]), Some(Chord::new(7, Dom7)));
        assert_eq!(Chord::recognize(&[48, 64, 67, 71]), Some(Chord::new(0, Maj7)));
        // Rootless G7 (B F) with G in the bass.
        assert_eq!(Chord::recognize(&[43, 59, 65]), Some(Chord::new(7, Dom7)));
        assert_eq!(Chord::recognize(&[60, 64, 67]), Some(Chord::new(0, Maj)));
        assert_eq!(Chord::recognize(&[57, 60, 64]), Some(Chord::new(9, Min)));
        assert_eq!(Chord::recognize(&[60]), None);
    }
}
