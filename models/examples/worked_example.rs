//! Prints the worked example of models/TOKENS.md: `cargo run -p sideman-models --example worked_example`.

use models::chord::Chord;
use models::music::{ChordEvent, Note, Onset, Role};
use models::tokenizer::{Sequence, Tokenizer, predicted_mask};

fn main() {
    let mut t = Tokenizer::default();
    let swing = t.vocab.add_style("swing").expect("a free style slot");
    let chord = |s: &str| Chord::parse(s).expect("valid symbol");
    let mut seq = Sequence::new(Role::Lead);
    seq.styles = vec![swing];
    seq.tempo_bpm = Some(140.0);
    seq.chords = vec![
        ChordEvent {
            start: 0.0,
            chord: chord("Dm7"),
        },
        ChordEvent {
            start: 4.0,
            chord: chord("G7"),
        },
    ];
    // What the user plays: a D in the bass on beat 1, a G on the next downbeat.
    seq.inputs = vec![Onset { start: 0.0, pitch: 38 }, Onset { start: 4.0, pitch: 43 }];
    // The lead: an eighth-note pickup figure, then a triplet into bar 2.
    seq.notes = vec![
        Note {
            start: 0.0,
            duration: 0.5,
            pitch: 62,
            velocity: 90,
        },
        Note {
            start: 0.5,
            duration: 0.5,
            pitch: 65,
            velocity: 70,
        },
        Note {
            start: 1.0,
            duration: 1.0,
            pitch: 69,
            velocity: 80,
        },
        Note {
            start: 3.0,
            duration: 1.0 / 3.0,
            pitch: 72,
            velocity: 80,
        },
        Note {
            start: 3.0 + 1.0 / 3.0,
            duration: 1.0 / 3.0,
            pitch: 71,
            velocity: 80,
        },
        Note {
            start: 3.0 + 2.0 / 3.0,
            duration: 1.0 / 3.0,
            pitch: 69,
            velocity: 80,
        },
        Note {
            start: 4.0,
            duration: 2.0,
            pitch: 67,
            velocity: 100,
        },
    ];
    seq.bars = 2;
    let ids = t.encode(&seq).expect("encodable");
    let mask = predicted_mask(&ids);
    let mut line = String::new();
    for (id, predicted) in ids.iter().zip(mask) {
        let name = t.vocab.describe(*id);
        if name == "BAR" && !line.is_empty() {
            println!("{line}");
            line.clear();
        }
        line.push_str(&if predicted { name } else { format!("[{name}]") });
        line.push(' ');
    }
    println!("{line}");
    println!("{} tokens for {} notes", ids.len(), seq.notes.len());
}
