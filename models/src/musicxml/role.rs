//! The role of a part, from its instrument, staves and notes.

use super::score::RawPart;
use crate::midi::infer_role;
use crate::music::{Note, Role};

/// Words that make a part a voice wherever they appear in its name.
const VOICE_WORDS: [&str; 12] = [
    "voice",
    "vocal",
    "vocals",
    "vox",
    "singstimme",
    "stimme",
    "gesang",
    "chant",
    "canto",
    "voix",
    "voce",
    "singer",
];
/// Voice ranges: a voice when the name holds nothing else (besides numbering), so that "Alto"
/// is a voice and "Alto Sax" is not. "Bass" is not among them: without an instrument sound a
/// part named so is more often a bass instrument than a singer.
const RANGE_WORDS: [&str; 6] = ["soprano", "mezzo", "alto", "contralto", "tenor", "baritone"];
/// Numbering that may follow a voice range ("Soprano II").
const NUMBERING: [&str; 4] = ["i", "ii", "iii", "iv"];

/// Whether a part name names a voice.
fn names_a_voice(name: &str) -> bool {
    let lower = name.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    if words.iter().any(|w| VOICE_WORDS.contains(w)) {
        return true;
    }
    words.iter().any(|w| RANGE_WORDS.contains(w))
        && words
            .iter()
            .all(|w| RANGE_WORDS.contains(w) || NUMBERING.contains(w) || w.chars().all(|c| c.is_ascii_digit()))
}

/// The role of a part (see the module documentation of [`crate::musicxml`]).
pub(super) fn role_of(part: &RawPart, notes: &[Note]) -> Role {
    let info = &part.info;
    let sound = info.instrument_sound.to_ascii_lowercase();
    if part.unpitched_notes || sound.starts_with("drum.") || info.channel == Some(9) {
        return Role::Drums;
    }
    let named_voice = sound.is_empty() && (names_a_voice(&info.name) || names_a_voice(&info.instrument_name));
    if sound.starts_with("voice.") || named_voice {
        return Role::Lead;
    }
    if part.staves >= 2 {
        return Role::Piano;
    }
    let name = if info.name.is_empty() {
        &info.instrument_name
    } else {
        &info.name
    };
    infer_role(name, info.channel.unwrap_or(0), info.program, notes)
}

#[cfg(test)]
mod tests {
    use super::names_a_voice;

    #[test]
    fn voice_names() {
        for name in [
            "Voice",
            "Singstimme Voice",
            "Soprano II",
            "Alto 2",
            "Mezzo-soprano",
            "Chant.",
        ] {
            assert!(names_a_voice(name), "{name}");
        }
        for name in [
            "Piano",
            "Alto Sax",
            "Tenor Saxophone",
            "Bass Guitar",
            "Electric Piano",
            "",
        ] {
            assert!(!names_a_voice(name), "{name}");
        }
    }
}
