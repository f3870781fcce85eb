//! What the input follower hears in a MIDI file, as the plugin and `trainer generate --input`
//! hear it (models/README.md, "What the plugin hears as a chord"): the chord in force at each
//! eighth note, a bar of 4/4 a line.
//!
//! ```sh
//! cargo run --release -p sideman-trainer --example followed -- played.mid [bars]
//! ```
use models::generate::{InputFollower, beat_to_tick};

fn main() -> anyhow::Result<()> {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let path = std::path::Path::new(&a[0]);
    let bars: usize = a.get(1).map_or(16, |s| s.parse().unwrap());
    let (notes, _) = sideman_trainer::generate::read_part(path)?;
    let pedal = models::midi::read_file_pedal(path)?;
    let cond = InputFollower::follow_part(&notes, &pedal, false, Some(beat_to_tick(4.0)));
    for bar in 0..bars {
        let at: Vec<String> = (0..8)
            .map(
                |e| match cond.chord_at(beat_to_tick(bar as f64 * 4.0 + e as f64 * 0.5)) {
                    Some(Some(c)) => c.to_string(),
                    _ => "-".into(),
                },
            )
            .collect();
        println!("{}", at.join(" "));
    }
    Ok(())
}
