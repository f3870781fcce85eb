//! The pieces as the plugin hears a user who plays only the chords: each piece's input (the part
//! its role hears: the band's bass hears the comping) replaced by its chords, each one's close
//! voicing struck where it changes (`trainer eval --chords-as-input`). The band's bass trained
//! on the grooves' comping and follows the texture of what it hears, so its report over the
//! grooves' own input says little of what it plays over a user's held triads (models/README.md,
//! "The memory of the changes").

use models::music::{ChordEvent, Onset};
use models::tokenizer::Tokenizer;

use crate::dataset::SplitData;

/// `split` with the input of every sequence that has chords replaced by its chords' voicings at
/// their changes (a chord held over a bar line is not struck again); sequences without a chord
/// are kept as they are. Encoded again with `tok` (the dataset's).
pub fn chords_as_input(split: &SplitData, tok: &Tokenizer) -> anyhow::Result<SplitData> {
    with_inputs(split, tok, |s| {
        s.chords
            .iter()
            .any(|c| c.chord.is_some())
            .then(|| chord_onsets(&s.chords))
    })
}

/// `split` with every sequence's input removed (a role trained with input dropout hears nothing).
/// Encoded again with `tok` (the dataset's).
pub fn without_input(split: &SplitData, tok: &Tokenizer) -> anyhow::Result<SplitData> {
    with_inputs(split, tok, |_| Some(Vec::new()))
}

/// `split` with each sequence's input replaced by what `inputs` gives for it; a sequence it
/// gives none for, or that fails to decode, is kept as it is.
fn with_inputs(
    split: &SplitData,
    tok: &Tokenizer,
    inputs: impl Fn(&models::tokenizer::Sequence) -> Option<Vec<Onset>>,
) -> anyhow::Result<SplitData> {
    let mut out = SplitData::default();
    for (i, r) in split.seqs.iter().enumerate() {
        let ids: Vec<u32> = split.seq(i).iter().map(|&t| t as u32).collect();
        let Ok(mut s) = models::tokenizer::decode(&ids) else {
            out.push(&ids, r.file, r.role, r.transpose);
            continue;
        };
        match inputs(&s) {
            Some(heard) => {
                s.inputs = heard;
                out.push(&tok.encode(&s)?, r.file, r.role, r.transpose);
            }
            None => out.push(&ids, r.file, r.role, r.transpose),
        }
    }
    Ok(out)
}

/// The close voicing of each chord of `chords` struck at its change (no onsets for "no chord").
pub fn chord_onsets(chords: &[ChordEvent]) -> Vec<Onset> {
    chords
        .iter()
        .filter_map(|c| c.chord.map(|ch| (c.start, ch)))
        .flat_map(|(start, ch)| {
            crate::generate::voicing(&ch)
                .into_iter()
                .map(move |pitch| Onset { start, pitch })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use models::chord::{Chord, ChordQuality};
    use models::music::{ChordEvent, Note, Role};
    use models::tokenizer::{Sequence, Vocab};

    #[test]
    fn the_input_becomes_the_chords_struck_where_they_change() {
        let tok = Tokenizer::new(Vocab::new(), false);
        let mut s = Sequence::new(Role::Bass);
        s.bars = 2;
        s.ended = true;
        s.chords = vec![
            ChordEvent {
                start: 0.0,
                chord: Some(Chord::new(0, ChordQuality::Maj)),
            },
            ChordEvent {
                start: 4.0,
                chord: Some(Chord::new(7, ChordQuality::Maj)),
            },
        ];
        // The comping the bass heard: eighths.
        s.inputs = (0..16)
            .map(|k| Onset {
                start: k as f64 * 0.5,
                pitch: 64,
            })
            .collect();
        s.notes = vec![
            Note {
                start: 0.0,
                duration: 1.0,
                pitch: 36,
                velocity: 90,
            },
            Note {
                start: 4.0,
                duration: 1.0,
                pitch: 43,
                velocity: 90,
            },
        ];
        let mut split = SplitData::default();
        split.push(&tok.encode(&s).unwrap(), 0, Role::Bass, 0);
        // A piece with no chord keeps its input.
        let mut bare = s.clone();
        bare.chords.clear();
        split.push(&tok.encode(&bare).unwrap(), 1, Role::Bass, 0);
        let out = chords_as_input(&split, &tok).unwrap();
        let decoded = |i: usize| {
            let ids: Vec<u32> = out.seq(i).iter().map(|&t| t as u32).collect();
            models::tokenizer::decode(&ids).unwrap()
        };
        let t = decoded(0);
        let heard: Vec<(f64, u8)> = t.inputs.iter().map(|o| (o.start, o.pitch)).collect();
        assert_eq!(
            heard,
            vec![(0.0, 48), (0.0, 52), (0.0, 55), (4.0, 55), (4.0, 59), (4.0, 62)]
        );
        let ids: Vec<u32> = split.seq(0).iter().map(|&t| t as u32).collect();
        let before = models::tokenizer::decode(&ids).unwrap();
        assert_eq!(t.notes, before.notes, "the role's notes stay (as the tokens hold them)");
        assert_eq!(t.chords, s.chords);
        assert_eq!(decoded(1).inputs.len(), 16, "no chords: the input stays");
    }
}
