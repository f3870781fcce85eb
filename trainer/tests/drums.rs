//! The human drums model through `trainer generate` (the plugin's code path): Feel 0 puts every
//! onset on the grid, Feel 100 keeps the model's own timing, Feel 50 halves it, and Fills put
//! the fills in the last bar of each phrase. Needs ONNX Runtime (`cargo xtask ort`).

use std::path::{Path, PathBuf};

use models::music::Note;
use sideman_trainer::generate::{GenerateArgs, run};
use sideman_trainer::report::metrics::Passage;

const TEMPO: f64 = 100.0;
const BARS: u32 = 16;

fn args(out: PathBuf, style: &str, feel: f64, fills: u32, seed: u64) -> GenerateArgs {
    GenerateArgs {
        bars: BARS,
        tempo: Some(TEMPO),
        seed,
        style: vec![style.into()],
        feel,
        fills,
        harmony: 0.0,
        force: true,
        ..GenerateArgs::with_defaults("builtin:drums", "drums", &out)
    }
}

fn hits(path: &Path) -> Vec<Note> {
    let piece = models::midi::read_file(path).unwrap();
    let drums: Vec<_> = piece.tracks.iter().filter(|t| t.channel == 9).collect();
    assert_eq!(drums.len(), 1, "one GM drum track on channel 10");
    assert_eq!(piece.tracks.len(), 1, "no chord track when none was given");
    drums[0].notes.clone()
}

/// Milliseconds from the nearest 16th or eighth-note triplet.
fn off_grid_ms(n: &Note) -> f64 {
    (n.start - models::groove::grid_point(n.start)) * 60_000.0 / TEMPO
}

fn dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sideman-drums-test-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn feel_zero_is_on_the_grid_and_feel_scales_the_drummers_timing() {
    let d = dir("feel");
    let gen_feel = |feel: f64| {
        let out = d.join(format!("funk-{feel}.mid"));
        run(&args(out.clone(), "funk", feel, 0, 3)).unwrap();
        hits(&out)
    };
    let (zero, half, full) = (gen_feel(0.0), gen_feel(50.0), gen_feel(100.0));
    assert!(full.len() as u32 >= BARS * 8, "{} hits in {BARS} bars", full.len());
    assert_eq!(
        zero.len(),
        full.len(),
        "Feel moves notes, it neither adds nor drops them"
    );
    // A MIDI file holds 480 ticks per beat: on the grid means within one tick (1.25 ms here).
    let worst = zero.iter().map(|n| off_grid_ms(n).abs()).fold(0.0, f64::max);
    assert!(worst <= 1.3, "Feel 0 left a hit {worst:.2} ms off the grid");
    let mean = |v: &[Note]| v.iter().map(|n| off_grid_ms(n).abs()).sum::<f64>() / v.len() as f64;
    let (m1, m2) = (mean(&half), mean(&full));
    eprintln!(
        "mean |offset| from the grid: Feel 0 {:.2} ms, 50 {m1:.2} ms, 100 {m2:.2} ms",
        mean(&zero)
    );
    assert!(m2 >= 5.0, "the human drums play like a machine at Feel 100: {m2:.2} ms");
    // Halving keeps every hit nearest its own grid point, so the measured offsets halve too
    // (doubling would push some past the midpoint to the next grid point).
    assert!(
        (m1 / m2 - 0.5).abs() < 0.05,
        "Feel 50 should halve the offsets: {m2:.2} -> {m1:.2} ms"
    );
    let _ = std::fs::remove_dir_all(&d);
}

/// Fill bars of a file (the music report's definition: toms, or a snare roll without time-keeping).
fn fills(path: &Path) -> Vec<bool> {
    let notes = hits(path);
    sideman_trainer::report::metrics::fill_bars(&Passage {
        notes: &notes,
        chords: &[],
        numerator: 4,
        denominator: 4,
        bars: BARS,
        tempo_bpm: TEMPO,
    })
}

/// Grooves generated with and without fills: 36 seeds, as 12 were too few to hold the bars
/// below (seeds 1-12 gave 0.60, 0.42 and 0.40 when the drafts' seeding changed, 2026-12-03;
/// seeds 1-36 gave 0.56, 0.25 and 0.23).
const SEEDS: u64 = 36;

#[test]
fn fills_land_in_the_last_bar_of_each_phrase() {
    let d = dir("fills");
    let (mut at_end, mut elsewhere, mut plain_end) = (0usize, 0usize, 0usize);
    for seed in 1..=SEEDS {
        let out = d.join(format!("rock-{seed}.mid"));
        run(&args(out.clone(), "rock", 100.0, 4, seed)).unwrap();
        let plain = d.join(format!("rock-plain-{seed}.mid"));
        run(&args(plain.clone(), "rock", 100.0, 0, seed)).unwrap();
        for (b, f) in fills(&out).iter().enumerate() {
            if b % 4 == 3 {
                at_end += *f as usize;
            } else {
                elsewhere += *f as usize;
            }
        }
        plain_end += fills(&plain)
            .iter()
            .enumerate()
            .filter(|(b, f)| b % 4 == 3 && **f)
            .count();
    }
    // SEEDS x 4 phrase-end bars, against SEEDS x 12 other bars.
    let n = SEEDS as f64;
    let (end_rate, other_rate, plain_rate) = (
        at_end as f64 / (4.0 * n),
        elsewhere as f64 / (12.0 * n),
        plain_end as f64 / (4.0 * n),
    );
    eprintln!(
        "fill bars: phrase ends {end_rate:.2}, elsewhere {other_rate:.2}, phrase ends without --fills {plain_rate:.2}"
    );
    // Measured with the shipped model (512 tokens, 2026-12-01): 0.54, 0.10 and 0.21 under a
    // `rock` header alone; the 256-token one gave 0.56, 0.27 and 0.12 over 4 seeds. With the
    // Player on Auto (a rock drummer drawn per seed, 2026-12-02): 0.65, 0.30 and 0.33. The
    // drummers' own rock beats have a fill-like bar (two toms, or a snare roll without the
    // hi-hat) 0.29 of the time (`bash scripts/drum-genres.sh`), so the bars elsewhere are theirs;
    // what --fills must add is a fill at the phrase end, well above both.
    assert!(end_rate >= 0.45, "too few fills at the phrase ends: {end_rate:.2}");
    assert!(
        end_rate >= other_rate + 0.2,
        "fills everywhere: {end_rate:.2} vs {other_rate:.2}"
    );
    assert!(
        end_rate >= plain_rate + 0.2,
        "the fills do not come from --fills: {end_rate:.2} vs {plain_rate:.2} without"
    );
    let _ = std::fs::remove_dir_all(d);
}
