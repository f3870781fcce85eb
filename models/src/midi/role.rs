//! Roles of parts: [`infer_role`] guesses one from a track's channel, name, program and notes,
//! and [`merge_into_role`] merges parts into one track of a role.

use crate::music::{Note, Piece, Role, Track};

/// Name words, by role, tried in this order against the words of a lower-cased track name
/// (split at anything not a letter; a word also matches with a trailing `s`). Words that say what
/// a part *does* come before instrument names, so "Lead Guitar" is a lead and "Rhythm Guitar"
/// comping; drums come first so "Bass Drum" is drums. Whole words only, and none that are common
/// in tune titles ("kit", "kick"): many files name their melody track after the tune, and
/// "Paddy's Jig" is no pad.
const NAME_WORDS: [(Role, &[&str]); 6] = [
    (
        Role::Drums,
        &[
            "drum",
            "drumkit",
            "drumset",
            "perc",
            "percussion",
            "snare",
            "hihat",
            "cymbal",
        ],
    ),
    (
        Role::Bass,
        &["bass", "bassline", "walk", "walking", "continuo", "contrabass"],
    ),
    (
        Role::Comping,
        &[
            "chord",
            "arp",
            "arpeggio",
            "plectrum",
            "comp",
            "comping",
            "rhythm",
            "accomp",
            "accompaniment",
            "backing",
        ],
    ),
    (
        Role::Lead,
        &["solo", "melody", "lead", "vocal", "voice", "vox", "soprano"],
    ),
    (Role::Comping, &["guitar", "gtr", "string", "pad"]),
    (
        Role::Lead,
        &[
            "sax",
            "saxophone",
            "trumpet",
            "flute",
            "clarinet",
            "violin",
            "fiddle",
            "trombone",
        ],
    ),
];

/// A part named as a bass whose median pitch is at or above this (A3) is not a bass line (MMA
/// grooves use `Bass-N` tracks for high riffs and stabs); it is taken as comping. Bach chorale
/// bass voices reach a median of G#3 (56).
const BASS_MAX_MEDIAN_PITCH: u8 = 57;
/// A monophonic part below this median pitch (C3) is a bass line.
const LOW_MEDIAN_PITCH: u8 = 48;
/// Longest overlap, in beats, of two notes that still counts as legato rather than polyphony.
const LEGATO_OVERLAP_BEATS: f64 = 0.125;
/// Largest share of notes that may sound together with another for a part to count as
/// monophonic.
const MONOPHONIC_MAX_SHARE: f64 = 0.1;

/// Share of `notes` (sorted by start) whose onset falls while another note sounds, or together
/// with another onset. Overlaps up to an eighth of a beat (legato) are ignored.
pub fn polyphony(notes: &[Note]) -> f64 {
    if notes.is_empty() {
        return 0.0;
    }
    let mut poly = 0usize;
    let mut max_end = f64::NEG_INFINITY;
    for (i, n) in notes.iter().enumerate() {
        let together = |o: Option<&Note>| o.is_some_and(|o| (o.start - n.start).abs() < 1e-6);
        let overlapped = max_end > n.start + LEGATO_OVERLAP_BEATS;
        if overlapped || together(i.checked_sub(1).and_then(|j| notes.get(j))) || together(notes.get(i + 1)) {
            poly += 1;
        }
        max_end = max_end.max(n.end());
    }
    poly as f64 / notes.len() as f64
}

/// The role a track name announces, if any of its words is in `NAME_WORDS`.
fn role_from_name(name: &str) -> Option<Role> {
    let lower = name.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphabetic())
        .filter(|w| !w.is_empty())
        .collect();
    let matches = |w: &str, k: &str| w == k || w.strip_suffix('s') == Some(k);
    NAME_WORDS
        .iter()
        .find(|(_, keys)| words.iter().any(|w| keys.iter().any(|k| matches(w, k))))
        .map(|&(role, _)| role)
}

fn median_pitch(notes: &[Note]) -> Option<u8> {
    let mut pitches: Vec<u8> = notes.iter().map(|n| n.pitch).collect();
    pitches.sort_unstable();
    pitches.get(pitches.len() / 2).copied()
}

/// Guesses the role of a part from its channel, name, program and notes (sorted by start).
///
/// In order:
/// 1. channel 9 (MIDI channel 10) is drums;
/// 2. a name word (whole words: drum/perc/snare, bass/walk/continuo, chord/arpeggio/plectrum/comp/
///    rhythm, solo/melody/lead/vocal/voice/soprano, guitar/string/pad, sax/trumpet/flute/...; see
///    `NAME_WORDS` in the source) decides, except that a "bass" with a median pitch of A3 or above
///    is comping;
/// 3. General MIDI programs 32-39 (basses) are bass when the median pitch is below A3;
/// 4. a part where at most one note in ten sounds with another is a lead, or a bass when its
///    median pitch is below C3; any other part is piano.
pub fn infer_role(name: &str, channel: u8, program: Option<u8>, notes: &[Note]) -> Role {
    if channel == 9 {
        return Role::Drums;
    }
    let median = median_pitch(notes).unwrap_or(0);
    match role_from_name(name) {
        Some(Role::Bass) if median >= BASS_MAX_MEDIAN_PITCH => return Role::Comping,
        Some(role) => return role,
        None => {}
    }
    if program.is_some_and(|p| (32..=39).contains(&p)) && median < BASS_MAX_MEDIAN_PITCH {
        return Role::Bass;
    }
    if polyphony(notes) <= MONOPHONIC_MAX_SHARE {
        return if median < LOW_MEDIAN_PITCH {
            Role::Bass
        } else {
            Role::Lead
        };
    }
    Role::Piano
}

/// Merges every pitched track (or, for [`Role::Drums`], every drum track) into one track of
/// `role`, at the place of the first of them. Its name joins theirs with ` + `; its channel is
/// the first one's; its program the first one's when they all agree, else `None`. Notes are
/// sorted by (start, pitch). Used to turn a four-voice chorale into one piano part.
pub fn merge_into_role(piece: &mut Piece, role: Role) {
    let take = |t: &Track| t.role.is_drums() == role.is_drums();
    let Some(first) = piece.tracks.iter().position(take) else {
        return;
    };
    let tracks = std::mem::take(&mut piece.tracks);
    let mut merged = Track {
        name: String::new(),
        channel: tracks[first].channel,
        program: tracks[first].program,
        role,
        notes: Vec::new(),
    };
    let mut names: Vec<String> = Vec::new();
    let mut kept = Vec::with_capacity(tracks.len());
    let mut at = 0;
    for (i, t) in tracks.into_iter().enumerate() {
        if !take(&t) {
            kept.push(t);
            continue;
        }
        if i == first {
            at = kept.len();
        }
        if merged.program != t.program {
            merged.program = None;
        }
        if !t.name.is_empty() {
            names.push(t.name);
        }
        merged.notes.extend(t.notes);
    }
    merged.name = names.join(" + ");
    merged
        .notes
        .sort_by(|a, b| a.start.total_cmp(&b.start).then(a.pitch.cmp(&b.pitch)));
    kept.insert(at, merged);
    piece.tracks = kept;
}
