//! Any bytes never panic; a score that reads survives a MIDI round trip and tokenizes.

use proptest::prelude::*;

use super::*;
use crate::midi::{read_smf, write_smf};
use crate::musicxml::read_musicxml;
use crate::tokenizer::{Tokenizer, sequences_from_piece};

/// A score with a bit of everything: two parts, staves, voices, ties, tuplets, graces,
/// harmony, dynamics, tempo, repeats and voltas, a transposing part.
fn rich() -> String {
    let tm = "<time-modification><actual-notes>3</actual-notes><normal-notes>2</normal-notes></time-modification>";
    let piano = "<part-name>Piano</part-name>";
    let clarinet = "<part-name>Clarinet</part-name>";
    let staves = "<attributes><divisions>6</divisions><key><fifths>-2</fifths></key>\
                  <time><beats>3</beats><beat-type>4</beat-type></time><staves>2</staves></attributes>";
    let transpose = "<attributes><divisions>6</divisions><time><beats>3</beats><beat-type>4</beat-type></time>\
                     <transpose><diatonic>-1</diatonic><chromatic>-2</chromatic></transpose></attributes>";
    let harmony =
        "<harmony><root><root-step>B</root-step><root-alter>-1</root-alter></root><kind>major</kind></harmony>";
    let piano_bars = vec![
        format!(
            "{staves}<barline location=\"left\"><repeat direction=\"forward\"/></barline>{harmony}\
             <direction><direction-type><dynamics><p/></dynamics></direction-type><sound tempo=\"96\"/></direction>{}{}{}{}{}",
            nx("F5", 12, "<voice>1</voice><staff>1</staff>"),
            nx("D5", 6, "<voice>1</voice><staff>1</staff><tie type=\"start\"/>"),
            mv("backup", 18),
            nx("Bb2", 18, "<voice>5</voice><staff>2</staff>"),
            chord("F3", 18),
        ),
        format!(
            "<barline location=\"left\"><ending number=\"1\" type=\"start\"/></barline>{}{}{}{}\
             <barline location=\"right\"><ending number=\"1\" type=\"stop\"/><repeat direction=\"backward\"/></barline>",
            nx("D5", 2, &format!("<voice>1</voice>{tm}<tie type=\"stop\"/>")),
            nx("Eb5", 2, &format!("<voice>1</voice>{tm}")),
            nx("F5", 2, &format!("<voice>1</voice>{tm}")),
            grace("A5", false) + &n("Bb5", 12)
        ),
        format!(
            "<barline location=\"left\"><ending number=\"2\" type=\"start\"/></barline>\
             <direction><direction-type><dynamics><f/></dynamics></direction-type></direction>{}\
             <barline location=\"right\"><ending number=\"2\" type=\"stop\"/></barline>",
            n("Bb4", 18)
        ),
    ];
    let clarinet_bars = vec![
        format!("{transpose}{}{}", n("C5", 12), rest(6)),
        format!("{}{}", n("D5", 6), mv("forward", 12)),
        n("C5", 18),
    ];
    score(&[(piano, piano_bars), (clarinet, clarinet_bars)])
}

#[test]
fn a_rich_score_reads_and_survives_a_midi_round_trip() {
    let xml = rich();
    let file = read_all(&xml);
    let p = &file.piece;
    assert!(file.report.is_clean(), "{:?}", file.report);
    assert_eq!(p.tracks.len(), 2);
    // Bars 1, 2 (volta 1), 1, 3 (volta 2): 4 bars of 3/4.
    assert_eq!(p.end_beat(), 12.0);
    assert_eq!(p.tempo_map.len(), 1);
    assert_eq!(p.chords.len(), 1);
    let piano = &p.tracks[0];
    // The tied D5 lasts a beat and a triplet eighth into volta 1; before volta 2 (no D5 to
    // continue it) it lasts its beat.
    let d5: Vec<(f64, f64, u8)> = piano
        .notes
        .iter()
        .filter(|n| n.pitch == 74)
        .map(|n| (n.start, n.duration, n.velocity))
        .collect();
    assert_eq!(d5.len(), 2);
    assert!(
        (d5[0].0 - 2.0).abs() < 1e-9 && (d5[0].1 - 4.0 / 3.0).abs() < 1e-9,
        "{d5:?}"
    );
    assert!((d5[1].0 - 8.0).abs() < 1e-9 && (d5[1].1 - 1.0).abs() < 1e-9, "{d5:?}");
    assert!(d5.iter().all(|n| n.2 == 49));
    // The clarinet sounds a tone lower than written.
    assert_eq!(p.tracks[1].notes[0].pitch, 70);

    // Through a MIDI file: the same notes, on the 480-per-beat grid.
    let back = read_smf(&write_smf(p)).unwrap();
    assert_eq!(back.note_count(), p.note_count());
    for (a, b) in back.tracks.iter().zip(&p.tracks) {
        assert_eq!(a.role, b.role);
        for (x, y) in a.notes.iter().zip(&b.notes) {
            assert!(
                (x.start - y.start).abs() <= 1.0 / 960.0 && x.pitch == y.pitch,
                "{x:?} {y:?}"
            );
        }
    }
    assert_eq!(back.meter, p.meter);
    // And it tokenizes.
    let tokenizer = Tokenizer::default();
    for seq in sequences_from_piece(p, &[], None) {
        tokenizer.encode(&seq).unwrap();
    }
    // The archive reads the same.
    assert_eq!(read_musicxml(&mxl(&xml)).unwrap(), *p);
}

/// A small deterministic generator (xorshift), for the mutation loop.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Fragments that make mutations reach deep into the reader.
const FRAGMENTS: [&str; 12] = [
    "<backup><duration>99999</duration></backup>",
    "<forward><duration>7</duration></forward>",
    "<chord/>",
    "<grace/>",
    "<tie type=\"start\"/>",
    "<barline><repeat direction=\"backward\" times=\"9\"/></barline>",
    "<barline><ending number=\"1-3\" type=\"start\"/></barline>",
    "<sound dacapo=\"yes\" tocoda=\"x\" segno=\"x\" dalsegno=\"x\" coda=\"x\" fine=\"1\"/>",
    "<attributes><divisions>0.0001</divisions><time><beats>3+2</beats><beat-type>8</beat-type></time></attributes>",
    "<harmony><root><root-step>C</root-step></root><kind text=\"7b9\">other</kind></harmony>",
    "<transpose><chromatic>-120</chromatic><octave-change>9</octave-change></transpose>",
    "<note><pitch><step>B</step><alter>1e308</alter><octave>-999</octave></pitch><duration>NaN</duration></note>",
];

/// `bytes` changed at random: bytes flipped, cut, spliced, fragments inserted.
fn mutate(rng: &mut Rng, bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(out.len() + 1);
        match rng.below(5) {
            0 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] ^= 1 << rng.below(8);
            }
            1 => out.truncate(at),
            2 => {
                let f = FRAGMENTS[rng.below(FRAGMENTS.len())];
                out.splice(at..at, f.bytes());
            }
            3 => {
                let from = rng.below(out.len() + 1);
                let len = rng.below(200).min(out.len() - from);
                let piece: Vec<u8> = out[from..from + len].to_vec();
                out.splice(at..at, piece);
            }
            _ => {
                let end = (at + rng.below(50)).min(out.len());
                out.drain(at..end);
            }
        }
    }
    out
}

#[test]
fn mutated_scores_and_archives_never_panic() {
    // SIDEMAN_MUSICXML_MUTATIONS raises the count for a long run (the default keeps `cargo test`
    // quick).
    let rounds: usize = std::env::var("SIDEMAN_MUSICXML_MUTATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    let xml = rich();
    let seeds = [xml.clone().into_bytes(), mxl(&xml)];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut read = 0usize;
    for round in 0..rounds {
        let seed = &seeds[round % seeds.len()];
        let bytes = mutate(&mut rng, seed);
        if let Ok(p) = read_musicxml(&bytes) {
            read += 1;
            // What reads is a piece the rest of the crate can take.
            assert!(p.note_count() > 0);
            assert!(
                p.tracks
                    .iter()
                    .flat_map(|t| &t.notes)
                    .all(|n| n.start >= 0.0 && n.duration >= 0.0 && n.start.is_finite() && n.pitch < 128)
            );
            let _ = read_smf(&write_smf(&p));
        }
    }
    assert!(read > 0, "no mutation read at all");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = read_musicxml(&bytes);
    }

    #[test]
    fn any_text_in_a_score_never_panics(text in "[<>/a-z0-9\"= &;#.+-]{0,400}", at in 0usize..2000) {
        let xml = rich();
        let at = xml.char_indices().map(|(i, _)| i).nth(at).unwrap_or(xml.len());
        let mut bytes = xml.into_bytes();
        bytes.splice(at..at, text.bytes());
        let _ = read_musicxml(&bytes);
    }
}
