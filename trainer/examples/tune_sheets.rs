//! The melodies of a split of prepared lead sheets, each as a MIDI file a user could play into
//! the plugin, with its written chords beside it (models/README.md, "A tune played alone"):
//! `<out>/<n>.mid` (the melody from bar 0, its first BARS bars) and `<out>/<n>.txt` (a first line
//! "numerator denominator bpm bars", then a line "beat pitch-classes..." per written chord, root
//! first; "beat -" for N.C.). Only tunes in one meter of two, three or four quarter notes.
//! `scripts/band-over-tunes.py` plays the band over them.
//!
//! ```sh
//! cargo run --release -p sideman-trainer --example tune_sheets -- data/openewld test out-dir [BARS]
//! ```
use models::Role;
use models::music::{Piece, TempoChange, Track};

fn main() -> anyhow::Result<()> {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let (data, split, out) = (&a[0], &a[1], std::path::Path::new(&a[2]));
    let bars: u32 = a.get(3).map_or(16, |s| s.parse().unwrap());
    std::fs::create_dir_all(out)?;
    let ds = sideman_trainer::dataset::Dataset::open(std::path::Path::new(data))?;
    let split =
        <sideman_trainer::eval::EvalSplit as clap::ValueEnum>::from_str(split, true).map_err(anyhow::Error::msg)?;
    let d = sideman_trainer::eval::load_eval_split(&ds, split)?;
    let mut written = 0;
    for i in 0..d.seqs.len() {
        let ids: Vec<u32> = d.seq(i).iter().map(|&t| t as u32).collect();
        let Ok(s) = models::tokenizer::decode(&ids) else {
            continue;
        };
        let ts = s.meter.at_bar(0);
        if s.role != Role::Lead || s.meter.changes().len() > 1 || ts.denominator != 4 || ts.numerator > 4 {
            continue;
        }
        if s.bars < bars || !s.chords.iter().any(|c| c.chord.is_some()) {
            continue;
        }
        let end = ts.bar_beats() * bars as f64;
        let notes: Vec<_> = s.notes.iter().copied().filter(|n| n.start < end).collect();
        let bpm = s.tempo_bpm.unwrap_or(120.0);
        let piece = Piece {
            meter: s.meter.clone(),
            tempo_map: vec![TempoChange { beat: 0.0, bpm }],
            chords: Vec::new(),
            tracks: vec![Track {
                name: "tune".into(),
                channel: 0,
                program: None,
                role: Role::Lead,
                notes,
            }],
        };
        std::fs::write(out.join(format!("{written}.mid")), models::midi::write_smf(&piece))?;
        let mut text = format!("{} {} {bpm} {bars}\n", ts.numerator, ts.denominator);
        for c in s.chords.iter().filter(|c| c.start < end) {
            match c.chord {
                Some(chord) => {
                    let pcs: Vec<String> = chord.pitch_classes().map(|p| p.to_string()).collect();
                    text += &format!("{} {}\n", c.start, pcs.join(" "));
                }
                None => text += &format!("{} -\n", c.start),
            }
        }
        std::fs::write(out.join(format!("{written}.txt")), text)?;
        written += 1;
    }
    println!("{written} tunes in {}", out.display());
    Ok(())
}
