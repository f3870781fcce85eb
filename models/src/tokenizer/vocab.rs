//! The vocabulary: every token kind, its id range, and the style table.
//!
//! Ids are laid out in fixed ranges (see `models/TOKENS.md`). The layout is versioned by
//! [`VOCAB_VERSION`] and fingerprinted by [`Vocab::layout_hash`]; the style *names* live in the
//! vocabulary too but are not part of the hash, because fine-tuning adds styles to free slots
//! without changing any id.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::chord::ChordQuality;
use crate::music::Role;

/// Version of the token layout. Bump it for any change to the ranges or their meaning.
pub const VOCAB_VERSION: &str = "sideman-tokens/1";

/// Ticks per quarter-note beat: 16ths (3 ticks) and eighth-note triplets (4 ticks) are exact.
pub const TICKS_PER_BEAT: u32 = 12;
/// Microtiming steps per tick when microtiming is on (1/96 beat, about 5 ms at 120 BPM).
pub const MICRO_STEPS_PER_TICK: i32 = 8;
/// Longest bar the position tokens can address, in quarter-note beats.
pub const MAX_BAR_BEATS: u32 = 12;
/// Number of `POS` tokens: one per tick of the longest bar.
pub const POS_COUNT: u32 = MAX_BAR_BEATS * TICKS_PER_BEAT;
/// Number of style slots. Names are assigned to slots by the dataset (and by fine-tuning).
pub const STYLE_SLOTS: u32 = 512;
/// The style tag of an opening: `trainer train` gives it to the windows that start at a
/// piece's first bar (with `opening = true` in its config) and the generation session to a stream
/// that starts fresh, until its first re-prime. Soloists open sparser than they go on (the first
/// 16 bars of the WJazzD solos hold 15 % fewer notes and 40 % more empty beats than the rest), and
/// a window taken from the middle of a solo looks like one at its start, so without the tag a
/// network plays every opening at the solo's average (models/README.md, "The opening of a solo").
/// Not a user's style: the plugin does not offer it.
pub const OPENING_STYLE: &str = "(opening)";
/// Most style tokens a header may carry.
pub const MAX_STYLES_PER_SEQUENCE: usize = 8;
/// Velocity bins: bin `b` covers velocities `8b+1 ..= 8b+8` and decodes to `8b+4`.
pub const VELOCITY_BINS: u32 = 16;
/// Tempo buckets, log-spaced from [`TEMPO_MIN_BPM`] to [`TEMPO_MAX_BPM`].
pub const TEMPO_BUCKETS: u32 = 16;
/// Slowest tempo bucket centre.
pub const TEMPO_MIN_BPM: f64 = 40.0;
/// Fastest tempo bucket centre.
pub const TEMPO_MAX_BPM: f64 = 240.0;
/// Length given to decoded drum hits (a sixteenth note), which carry no duration token.
pub const DRUM_HIT_TICKS: u32 = 3;

/// The duration bins, in ticks: exact up to two beats, then coarser steps up to 32 beats.
pub const DURATION_TICKS: [u16; 56] = [
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, // 1/12 beat
    27, 30, 33, 36, 39, 42, 45, 48, // 1/4 beat
    54, 60, 66, 72, 78, 84, 90, 96, // 1/2 beat
    108, 120, 132, 144, 156, 168, 180, 192, // 1 beat
    216, 240, 264, 288, 312, 336, 360, 384, // 2 beats
];

/// Supported time signatures as (numerator, denominator); the index is the `TS` token offset.
pub fn time_signatures() -> impl Iterator<Item = (u8, u8)> {
    (1..=6u8)
        .map(|n| (n, 2u8))
        .chain((1..=12u8).map(|n| (n, 4u8)))
        .chain((1..=16u8).map(|n| (n, 8u8)))
        .chain((1..=16u8).map(|n| (n, 16u8)))
}

/// Number of `TS` tokens.
pub const TIME_SIGNATURE_COUNT: u32 = 6 + 12 + 16 + 16;

/// One token, decoded from its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Token {
    /// Padding after the end of a sequence (never inside one).
    Pad,
    /// Start of a sequence.
    Bos,
    /// End of a piece.
    Eos,
    /// Header: the role being generated.
    Role(Role),
    /// Header: a style tag (slot number; the name is in [`Vocab::styles`]).
    Style(u16),
    /// Time signature (index into [`time_signatures`]): in the header, or right after `BAR`.
    TimeSig(u8),
    /// Header: tempo bucket.
    Tempo(u8),
    /// Start of the next bar.
    Bar,
    /// Position within the bar, in ticks.
    Pos(u8),
    /// Microtiming of the preceding note, in 1/8 ticks (-4..=3).
    Micro(i8),
    /// Generated pitched note: key number.
    Pitch(u8),
    /// Generated drum hit: General MIDI key number.
    Drum(u8),
    /// Velocity bin of the preceding `PITCH`/`DRUM`.
    Vel(u8),
    /// Duration bin (index into [`DURATION_TICKS`]) of the preceding pitched note.
    Dur(u8),
    /// Chord root pitch class; a `CHORD_QUAL` follows.
    ChordRoot(u8),
    /// No chord (N.C.).
    ChordNone,
    /// Chord quality, after `CHORD_ROOT`.
    ChordQual(ChordQuality),
    /// Conditioning: onset of a note the user (or another track) played.
    InPitch(u8),
}

/// Start of each id range, in layout order.
mod base {
    use super::*;
    pub const PAD: u32 = 0;
    pub const BOS: u32 = 1;
    pub const EOS: u32 = 2;
    pub const ROLE: u32 = 3;
    pub const STYLE: u32 = ROLE + Role::ALL.len() as u32;
    pub const TIME_SIG: u32 = STYLE + STYLE_SLOTS;
    pub const TEMPO: u32 = TIME_SIG + TIME_SIGNATURE_COUNT;
    pub const BAR: u32 = TEMPO + TEMPO_BUCKETS;
    pub const POS: u32 = BAR + 1;
    pub const MICRO: u32 = POS + POS_COUNT;
    pub const PITCH: u32 = MICRO + MICRO_STEPS_PER_TICK as u32;
    pub const DRUM: u32 = PITCH + 128;
    pub const VEL: u32 = DRUM + 128;
    pub const DUR: u32 = VEL + VELOCITY_BINS;
    pub const CHORD_ROOT: u32 = DUR + DURATION_TICKS.len() as u32;
    pub const CHORD_NONE: u32 = CHORD_ROOT + 12;
    pub const CHORD_QUAL: u32 = CHORD_NONE + 1;
    pub const IN_PITCH: u32 = CHORD_QUAL + ChordQuality::ALL.len() as u32;
    pub const END: u32 = IN_PITCH + 128;
}

/// Total number of token ids.
pub const VOCAB_SIZE: u32 = base::END;

/// The vocabulary: the fixed layout plus the names given to style slots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vocab {
    /// Layout version, [`VOCAB_VERSION`] for vocabularies this code writes.
    pub version: String,
    /// Number of ids, [`VOCAB_SIZE`].
    pub size: u32,
    /// [`Vocab::layout_hash`] at the time of writing, checked on load.
    pub layout_hash: String,
    /// Style names by slot; slot `i` is token `STYLE:i`.
    pub styles: Vec<String>,
}

impl Default for Vocab {
    fn default() -> Self {
        Vocab::new()
    }
}

/// Why a vocabulary or a style could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VocabError {
    /// The vocabulary was written by a different token layout.
    #[error(
        "vocabulary layout {found_version} ({found_hash}) does not match this build's {expected_version} ({expected_hash})"
    )]
    LayoutMismatch {
        /// Version found in the file.
        found_version: String,
        /// Hash found in the file.
        found_hash: String,
        /// Version this build writes.
        expected_version: &'static str,
        /// Hash of this build's layout.
        expected_hash: String,
    },
    /// Every style slot is taken.
    #[error("all {STYLE_SLOTS} style slots are taken; cannot add style {0:?}")]
    StylesFull(String),
    /// The vocabulary file is not valid JSON for a vocabulary.
    #[error("vocabulary is not valid: {0}")]
    Invalid(String),
}

impl Vocab {
    /// The current layout with no styles named.
    pub fn new() -> Vocab {
        Vocab {
            version: VOCAB_VERSION.to_string(),
            size: VOCAB_SIZE,
            layout_hash: Vocab::layout_hash(),
            styles: Vec::new(),
        }
    }

    /// SHA-256 (hex) of a description of every id range: equal hashes mean equal ids.
    pub fn layout_hash() -> String {
        let desc = format!(
            "{VOCAB_VERSION};pad{};bos{};eos{};role{}x{};style{}x{STYLE_SLOTS};ts{}:{:?};tempo{}x{TEMPO_BUCKETS}@{TEMPO_MIN_BPM}-{TEMPO_MAX_BPM};bar{};pos{}x{POS_COUNT}@{TICKS_PER_BEAT};micro{}x{MICRO_STEPS_PER_TICK};pitch{};drum{};vel{}x{VELOCITY_BINS};dur{}:{:?};root{};nc{};qual{}:{:?};in{};end{}",
            base::PAD,
            base::BOS,
            base::EOS,
            base::ROLE,
            Role::ALL.len(),
            base::STYLE,
            base::TIME_SIG,
            time_signatures().collect::<Vec<_>>(),
            base::TEMPO,
            base::BAR,
            base::POS,
            base::MICRO,
            base::PITCH,
            base::DRUM,
            base::VEL,
            base::DUR,
            DURATION_TICKS,
            base::CHORD_ROOT,
            base::CHORD_NONE,
            base::CHORD_QUAL,
            ChordQuality::ALL,
            base::IN_PITCH,
            base::END,
        );
        let digest = Sha256::digest(desc.as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Reads a vocabulary from JSON and checks that its layout is this build's.
    pub fn from_json(json: &str) -> Result<Vocab, VocabError> {
        let v: Vocab = serde_json::from_str(json).map_err(|e| VocabError::Invalid(e.to_string()))?;
        v.check()?;
        Ok(v)
    }

    /// Writes the vocabulary as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Checks that this vocabulary's layout is the one this build encodes and decodes.
    pub fn check(&self) -> Result<(), VocabError> {
        let expected = Vocab::layout_hash();
        if self.version != VOCAB_VERSION || self.layout_hash != expected || self.size != VOCAB_SIZE {
            return Err(VocabError::LayoutMismatch {
                found_version: self.version.clone(),
                found_hash: self.layout_hash.clone(),
                expected_version: VOCAB_VERSION,
                expected_hash: expected,
            });
        }
        if self.styles.len() > STYLE_SLOTS as usize {
            return Err(VocabError::Invalid(format!(
                "{} styles for {STYLE_SLOTS} slots",
                self.styles.len()
            )));
        }
        Ok(())
    }

    /// Number of ids.
    pub fn size(&self) -> u32 {
        VOCAB_SIZE
    }

    /// The slot of a style name, if it has one.
    pub fn style_slot(&self, name: &str) -> Option<u16> {
        self.styles.iter().position(|s| s == name).map(|i| i as u16)
    }

    /// The slot of a style name, giving it the next free slot if it has none.
    pub fn add_style(&mut self, name: &str) -> Result<u16, VocabError> {
        if let Some(slot) = self.style_slot(name) {
            return Ok(slot);
        }
        if self.styles.len() >= STYLE_SLOTS as usize {
            return Err(VocabError::StylesFull(name.to_string()));
        }
        self.styles.push(name.to_string());
        Ok((self.styles.len() - 1) as u16)
    }

    /// The name of a style slot.
    pub fn style_name(&self, slot: u16) -> Option<&str> {
        self.styles.get(slot as usize).map(String::as_str)
    }

    /// The id of a token. Out-of-range payloads are clamped to their range, so every id returned
    /// is `< VOCAB_SIZE`.
    pub fn id(token: Token) -> u32 {
        fn clamp(v: u32, n: u32) -> u32 {
            v.min(n - 1)
        }
        match token {
            Token::Pad => base::PAD,
            Token::Bos => base::BOS,
            Token::Eos => base::EOS,
            Token::Role(r) => base::ROLE + r.index() as u32,
            Token::Style(s) => base::STYLE + clamp(s as u32, STYLE_SLOTS),
            Token::TimeSig(i) => base::TIME_SIG + clamp(i as u32, TIME_SIGNATURE_COUNT),
            Token::Tempo(b) => base::TEMPO + clamp(b as u32, TEMPO_BUCKETS),
            Token::Bar => base::BAR,
            Token::Pos(p) => base::POS + clamp(p as u32, POS_COUNT),
            Token::Micro(m) => {
                let half = MICRO_STEPS_PER_TICK / 2;
                base::MICRO + (m as i32).clamp(-half, half - 1).wrapping_add(half) as u32
            }
            Token::Pitch(p) => base::PITCH + clamp(p as u32, 128),
            Token::Drum(k) => base::DRUM + clamp(k as u32, 128),
            Token::Vel(v) => base::VEL + clamp(v as u32, VELOCITY_BINS),
            Token::Dur(d) => base::DUR + clamp(d as u32, DURATION_TICKS.len() as u32),
            Token::ChordRoot(r) => base::CHORD_ROOT + (r % 12) as u32,
            Token::ChordNone => base::CHORD_NONE,
            Token::ChordQual(q) => base::CHORD_QUAL + q.index() as u32,
            Token::InPitch(p) => base::IN_PITCH + clamp(p as u32, 128),
        }
    }

    /// The token of an id, or `None` for ids `>= VOCAB_SIZE`.
    pub fn token(id: u32) -> Option<Token> {
        use base::*;
        Some(match id {
            PAD => Token::Pad,
            BOS => Token::Bos,
            EOS => Token::Eos,
            i if i < STYLE => Token::Role(Role::ALL[(i - ROLE) as usize]),
            i if i < TIME_SIG => Token::Style((i - STYLE) as u16),
            i if i < TEMPO => Token::TimeSig((i - TIME_SIG) as u8),
            i if i < BAR => Token::Tempo((i - TEMPO) as u8),
            BAR => Token::Bar,
            i if i < MICRO => Token::Pos((i - POS) as u8),
            i if i < PITCH => Token::Micro((i - MICRO) as i8 - (MICRO_STEPS_PER_TICK / 2) as i8),
            i if i < DRUM => Token::Pitch((i - PITCH) as u8),
            i if i < VEL => Token::Drum((i - DRUM) as u8),
            i if i < DUR => Token::Vel((i - VEL) as u8),
            i if i < CHORD_ROOT => Token::Dur((i - DUR) as u8),
            i if i < CHORD_NONE => Token::ChordRoot((i - CHORD_ROOT) as u8),
            CHORD_NONE => Token::ChordNone,
            i if i < IN_PITCH => Token::ChordQual(ChordQuality::ALL[(i - CHORD_QUAL) as usize]),
            i if i < END => Token::InPitch((i - IN_PITCH) as u8),
            _ => return None,
        })
    }

    /// A readable name for an id, as used in TOKENS.md and debugging output (`POS:6`, `PITCH:62`).
    pub fn describe(&self, id: u32) -> String {
        match Vocab::token(id) {
            None => format!("<invalid {id}>"),
            Some(t) => match t {
                Token::Pad => "PAD".into(),
                Token::Bos => "BOS".into(),
                Token::Eos => "EOS".into(),
                Token::Role(r) => format!("ROLE:{r}"),
                Token::Style(s) => match self.style_name(s) {
                    Some(n) => format!("STYLE:{n}"),
                    None => format!("STYLE:#{s}"),
                },
                Token::TimeSig(i) => {
                    let (n, d) = time_signature(i).unwrap_or((4, 4));
                    format!("TS:{n}/{d}")
                }
                Token::Tempo(b) => format!("TEMPO:{:.0}", tempo_bucket_bpm(b)),
                Token::Bar => "BAR".into(),
                Token::Pos(p) => format!("POS:{p}"),
                Token::Micro(m) => format!("MICRO:{m}"),
                Token::Pitch(p) => format!("PITCH:{p}"),
                Token::Drum(k) => format!("DRUM:{k}"),
                Token::Vel(v) => format!("VEL:{v}"),
                Token::Dur(d) => format!("DUR:{}", DURATION_TICKS[d as usize]),
                Token::ChordRoot(r) => format!("ROOT:{}", crate::chord::Chord::new(r, ChordQuality::Maj)),
                Token::ChordNone => "CHORD:NC".into(),
                Token::ChordQual(q) => format!("QUAL:{q:?}"),
                Token::InPitch(p) => format!("IN:{p}"),
            },
        }
    }
}

/// Time signature of a `TS` token offset.
pub fn time_signature(index: u8) -> Option<(u8, u8)> {
    time_signatures().nth(index as usize)
}

/// `TS` token offset of a time signature, if it is supported.
pub fn time_signature_index(numerator: u8, denominator: u8) -> Option<u8> {
    time_signatures()
        .position(|ts| ts == (numerator, denominator))
        .map(|i| i as u8)
}

/// Tempo bucket of a tempo (clamped to the bucket range).
pub fn tempo_bucket(bpm: f64) -> u8 {
    if !bpm.is_finite() || bpm <= 0.0 {
        return tempo_bucket(120.0);
    }
    let x = (bpm / TEMPO_MIN_BPM).ln() / (TEMPO_MAX_BPM / TEMPO_MIN_BPM).ln() * (TEMPO_BUCKETS - 1) as f64;
    x.round().clamp(0.0, (TEMPO_BUCKETS - 1) as f64) as u8
}

/// Centre tempo of a bucket.
pub fn tempo_bucket_bpm(bucket: u8) -> f64 {
    let t = bucket.min(TEMPO_BUCKETS as u8 - 1) as f64 / (TEMPO_BUCKETS - 1) as f64;
    TEMPO_MIN_BPM * (TEMPO_MAX_BPM / TEMPO_MIN_BPM).powf(t)
}

/// Velocity bin of a MIDI velocity.
pub fn velocity_bin(velocity: u8) -> u8 {
    (velocity.clamp(1, 127) - 1) / 8
}

/// MIDI velocity a bin decodes to.
pub fn bin_velocity(bin: u8) -> u8 {
    (bin.min(VELOCITY_BINS as u8 - 1)) * 8 + 4
}

/// Duration bin nearest to a length in ticks (ties go to the shorter bin).
pub fn duration_bin(ticks: u32) -> u8 {
    let t = ticks.max(1);
    let i = DURATION_TICKS.partition_point(|&d| (d as u32) < t);
    if i == 0 {
        return 0;
    }
    if i == DURATION_TICKS.len() {
        return (DURATION_TICKS.len() - 1) as u8;
    }
    let (lo, hi) = (DURATION_TICKS[i - 1] as u32, DURATION_TICKS[i] as u32);
    if t - lo <= hi - t { (i - 1) as u8 } else { i as u8 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_id_maps_to_a_token_and_back() {
        for id in 0..VOCAB_SIZE {
            let t = Vocab::token(id).expect("id in range");
            assert_eq!(Vocab::id(t), id, "{t:?}");
        }
        assert_eq!(Vocab::token(VOCAB_SIZE), None);
        assert_eq!(TIME_SIGNATURE_COUNT as usize, time_signatures().count());
    }

    #[test]
    fn every_time_signature_fits_the_position_range() {
        for (n, d) in time_signatures() {
            let ticks = n as u32 * 4 * TICKS_PER_BEAT / d as u32;
            assert!(
                ticks <= POS_COUNT && (n as u32 * 4 * TICKS_PER_BEAT).is_multiple_of(d as u32),
                "{n}/{d}"
            );
        }
    }

    #[test]
    fn bins_round_trip_their_centres() {
        for b in 0..VELOCITY_BINS as u8 {
            assert_eq!(velocity_bin(bin_velocity(b)), b);
        }
        for (i, &d) in DURATION_TICKS.iter().enumerate() {
            assert_eq!(duration_bin(d as u32) as usize, i);
        }
        for b in 0..TEMPO_BUCKETS as u8 {
            assert_eq!(tempo_bucket(tempo_bucket_bpm(b)), b);
        }
        assert_eq!(duration_bin(0), 0);
        assert_eq!(duration_bin(100_000) as usize, DURATION_TICKS.len() - 1);
    }

    #[test]
    fn json_round_trip_and_layout_check() {
        let mut v = Vocab::new();
        v.add_style("swing").unwrap();
        let back = Vocab::from_json(&v.to_json()).unwrap();
        assert_eq!(back, v);
        let mut bad = v.clone();
        bad.layout_hash = "0".repeat(64);
        assert!(matches!(
            Vocab::from_json(&bad.to_json()),
            Err(VocabError::LayoutMismatch { .. })
        ));
    }
}

#[cfg(test)]
mod layout_tests {
    use super::*;

    /// The ranges documented in models/TOKENS.md.
    #[test]
    fn documented_layout() {
        assert_eq!(base::STYLE, 8);
        assert_eq!(base::TIME_SIG, 520);
        assert_eq!(base::TEMPO, 570);
        assert_eq!(base::BAR, 586);
        assert_eq!(base::POS, 587);
        assert_eq!(base::MICRO, 731);
        assert_eq!(base::PITCH, 739);
        assert_eq!(base::DRUM, 867);
        assert_eq!(base::VEL, 995);
        assert_eq!(base::DUR, 1011);
        assert_eq!(base::CHORD_ROOT, 1067);
        assert_eq!(base::CHORD_NONE, 1079);
        assert_eq!(base::CHORD_QUAL, 1080);
        assert_eq!(base::IN_PITCH, 1096);
        assert_eq!(VOCAB_SIZE, 1224);
    }
}
